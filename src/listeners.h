/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * listeners — the listener count of the station's mounts, read from
 * Icecast's /status-json.xsl by a thread of its own every
 * LISTENERS_PERIOD_S, and handed to nowplaying_set_listeners() (-1 while
 * no server answers). A slow or absent Icecast holds up only this thread:
 * each GET has a 2 s connect and 5 s total timeout and a 1 MiB cap
 * (fetch.h), never the mixer's or an output's time.
 *
 * Icecast's quirk: "icestats.source" is missing when no source is
 * connected, an object when one is, and an array when there are several.
 * listeners_parse() takes all three.
 *
 * Thread rules: create/start/destroy from the controlling thread.
 */
#ifndef FOREVERFM_LISTENERS_H
#define FOREVERFM_LISTENERS_H

#include <stddef.h>

#include "config.h"
#include "nowplaying.h"

#define LISTENERS_PERIOD_S 10
#define LISTENERS_BODY_MAX (1024 * 1024)

/* The listeners of the sources of JSON (a status-json.xsl body, LEN
 * bytes) whose listenurl's path is one of MOUNTS, summed. Returns the
 * count (0 when no source is there), or -EINVAL when JSON is not a status
 * document. Pure. */
long listeners_parse(const char *json, size_t len,
		     const char *const *mounts, size_t n_mounts);

struct listeners;

/* Copies the servers and mounts of cfg's outputs; borrows np. Returns NULL
 * with errno set. */
struct listeners *listeners_create(const struct config *cfg,
				   struct nowplaying *np);

/* Starts the thread (first poll at once). 0 or a negative errno. */
int listeners_start(struct listeners *l);

/* Stops (within a second: the GET in flight is cancelled), joins, frees;
 * accepts NULL. */
void listeners_destroy(struct listeners *l);

#endif
