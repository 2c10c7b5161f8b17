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
 *                       downloaded, the feeds in turn (render, analyze,
 *                       plan).
 *   source_http_start() a thread of its own (the station): each feed read
 *                       at start and every refresh_minutes, new tracks
 *                       downloaded one at a time, those the play order
 *                       needs soonest first (source_http_set_planner),
 *                       then the feeds in turn (the first track of each,
 *                       then the second...), each in its own order;
 *                       CHANGED is
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
#include <stdint.h>
#include <stdio.h>

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

/* A track a feed lists that is not downloaded yet, as the play order
 * sees it (setlist.h's candidates). Strings are borrowed for the call. */
struct source_http_pending {
	uint64_t key;           /* opaque; given back by order() */
	const char *artist, *title, *genre; /* "" when the feed says none */
	double bpm;             /* the API's, 0 when not given: a hint */
	double duration_s;      /* 0 when not given */
};

/* Downloads ahead of the play order: PENDING(CTX, list, n) is called on
 * the feeds' thread with every listed track not in the cache (at most
 * SOURCE_HTTP_PENDING_MAX, the feeds in turn) after a read of a feed and
 * after each download; ORDER(CTX, keys, max, &n) gives their keys, the
 * soonest needed first (n = 0: not known, the feeds' order then). Before
 * each download the thread takes the first of ORDER's keys that is not
 * cached, not failing and not waiting for room, and only then the feeds'
 * own order. */
#define SOURCE_HTTP_PENDING_MAX 4096
struct source_http_planner {
	void (*pending)(void *ctx, const struct source_http_pending *p,
			size_t n);
	int (*order)(void *ctx, uint64_t *keys, size_t max, size_t *n);
	void *ctx;
};

/* Sets the planner (copied); before source_http_start() or sync. */
void source_http_set_planner(struct source_http *s,
			     const struct source_http_planner *p);

/* Starts the thread. CHANGED(CTX) is called from it after tracks were
 * added to or removed from the cache. Returns 0 or a negative errno. */
int source_http_start(struct source_http *s, void (*changed)(void *ctx),
		      void *ctx);

void source_http_get_stats(struct source_http *s,
			   struct source_http_stats *st);

/* check --online: reads every feed of CFG once, in the caller's thread,
 * downloads nothing and opens no cache, and prints one line per feed to
 * OUT: what it found ("12 items, 10 with an audio enclosure", "200
 * tracks") or why it failed ("FAILED: " and the same one-line reason the
 * station logs). URLs are printed without their query (no secret).
 * Returns the number of feeds that failed, or a negative errno when the
 * check could not run at all. */
int source_http_check(const struct config *cfg, FILE *out);

/* Appends the cache root of CFG's feeds to CFG's library paths (when CFG
 * has feeds and the root is not there yet). Returns 0 or a negative
 * errno. */
int source_http_add_root(struct config *cfg);

#endif
