/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * source_http — the [feed.NAME] sections: reading each feed, downloading
 * its tracks into the download cache (dlcache.h), and telling the station
 * when the cache's tracks changed.
 *
 * The cache's tracks/ directory is one more library root: the scan
 * (source_dir) finds the downloaded files there, probes them and records
 * them in the catalog like local files, and the analyzer analyses them by
 * content, so a feed's tracks are part of the library for run, render,
 * analyze and plan alike. A track joins the library once it is downloaded
 * and leaves it (its file is removed) after it has played once since its
 * feed stopped listing it, or when the cache needs room.
 *
 * Two ways to run:
 *   source_http_sync()  one pass in the caller's thread: every feed read
 *                       once, every track it lists that is not cached yet
 *                       downloaded, in feed order (render, analyze, plan).
 *   source_http_start() a thread of its own (the station): each feed read
 *                       at start and every refresh_minutes, new tracks
 *                       downloaded one at a time in feed order; CHANGED is
 *                       called (on that thread) after each track added or
 *                       removed, and the station rescans the cache root.
 *                       Never in the mixer's or an output's thread.
 *
 * Faults: a feed that cannot be read (unreachable, an HTTP error, not a
 * feed, a wrong password) is logged once when it starts failing and once
 * when it works again, never per retry; it is retried with a backoff from
 * 30 s doubling to its refresh_minutes. A track that cannot be downloaded
 * (404, too large, not audio, too slow) is logged once and tried again
 * after a backoff (from 5 minutes, doubling to a day). Nothing here stops
 * the stream: the tracks already cached keep playing.
 *
 * Secrets: the Subsonic password and the Jamendo client id never appear
 * in a log line: URLs are logged without their query string.
 * Thread rules: create, sync and destroy from one thread; after start, the
 * service's own thread does the work until destroy (which stops and joins
 * it).
 */
#ifndef FOREVERFM_SOURCE_HTTP_H
#define FOREVERFM_SOURCE_HTTP_H

#include <stddef.h>

#include "catalog.h"
#include "config.h"

struct source_http;

struct source_http_stats {
	size_t feeds_ok;        /* feeds whose last read worked */
	size_t listed;          /* tracks the feeds list now */
	size_t cached;          /* tracks in the cache */
	size_t downloaded;      /* downloads finished since start */
	size_t failed;          /* downloads failed since start */
};

/* Opens the cache of CFG ([library] cache, cache_max_mb) for CFG's feeds.
 * CAT (may be NULL) tells when a cached track last played, for eviction
 * and for removing tracks that left their feed; it must outlive the
 * service. Copies what it needs of CFG. Returns NULL with errno set, and
 * logs why. */
struct source_http *source_http_create(const struct config *cfg,
				       struct catalog *cat);

/* Stops and joins the thread if started, closes the cache; accepts NULL. */
void source_http_destroy(struct source_http *s);

/* The library root of the downloaded tracks. Borrowed. */
const char *source_http_root(const struct source_http *s);

/* One pass in the caller's thread (see above). Returns the number of
 * tracks added or removed, or a negative errno when the cache's index
 * could not be written. Feed and download failures are logged, not
 * returned. */
int source_http_sync(struct source_http *s);

/* Starts the thread. CHANGED(CTX) is called from it after tracks were
 * added to or removed from the cache. Returns 0 or a negative errno. */
int source_http_start(struct source_http *s, void (*changed)(void *ctx),
		      void *ctx);

void source_http_get_stats(struct source_http *s,
			   struct source_http_stats *st);

/* Appends the cache root of CFG's feeds to CFG's library paths (when CFG
 * has feeds and the root is not there yet). Returns 0 or a negative
 * errno. */
int source_http_add_root(struct config *cfg);

#endif
