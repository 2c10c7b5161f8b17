/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dlcache — the download cache of the feeds: tracks fetched over HTTP and
 * kept on disk, across restarts, within a size bound.
 *
 * Layout of the cache directory:
 *   tracks/HASH.EXT    finished tracks, named by content (the catalog's
 *                      content hash, analyzer_content_hash), so the same
 *                      track from two feeds or two URLs is one file and
 *                      one catalog track. This directory is a library root
 *                      like any folder: the scan finds, probes and the
 *                      analyzer analyses its files.
 *   partial/KEY.part   downloads in progress (KEY: a hash of the URL),
 *                      never scanned; resumed by the next attempt; removed
 *                      when the download fails for good.
 *   index              one line per URL: its track file, size, when it was
 *                      added, whether the feeds still list it; written to
 *                      index.tmp and renamed, so a crash leaves the old or
 *                      the new index, never half of one.
 * A download is renamed into tracks/ only when it is complete and decodes
 * (decode_probe), so a crash mid-download leaves nothing in tracks/. At
 * open, tracks/ files no index line names (a crash between the rename and
 * the index) are removed, and index lines whose file is gone are dropped.
 *
 * Size: the files in tracks/ are kept within max_bytes. Beyond it, tracks
 * are removed least recently played first (the caller says when a file
 * last played: the catalog's play history); tracks never played go last,
 * oldest download first; the track just downloaded is never the one
 * removed. When the tracks not yet played fill the cache, a new download
 * is refused with -ENOSPC before a byte is fetched. An evicted URL is
 * remembered, and fetched again only in place of a track that played
 * longer ago than it did (or when there is room).
 *
 * Thread rules: a struct dlcache belongs to one thread at a time (the
 * feeds' thread in the station, the main thread in the one-shot commands).
 * Errors: negative errno values, with a one-line reason in err where there
 * is one.
 */
#ifndef FOREVERFM_DLCACHE_H
#define FOREVERFM_DLCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fetch.h"

/* The finished tracks' directory under the cache directory. */
#define DLCACHE_TRACKS_SUBDIR "tracks"

struct dlcache;

/* When the track at PATH last played: 0 and *when, or -ENOENT (never). */
typedef int dlcache_last_played_fn(void *ctx, const char *path, time_t *when);

struct dlcache_stats {
	size_t tracks;        /* distinct files in tracks/ */
	size_t urls;          /* index lines */
	int64_t bytes;        /* bytes in tracks/ */
	size_t evicted;       /* files removed for room, since open */
	size_t removed_gone;  /* files removed after leaving the feeds */
};

/* Opens the cache in DIR (creating DIR, tracks/ and partial/), bounded to
 * MAX_BYTES. LAST_PLAYED (may be NULL: nothing ever played) orders
 * eviction. Returns NULL with errno set, and logs why. */
struct dlcache *dlcache_open(const char *dir, int64_t max_bytes,
			     dlcache_last_played_fn *last_played, void *ctx);

/* Closes; accepts NULL. Downloads in partial/ stay for the next run. */
void dlcache_close(struct dlcache *c);

/* The directory of finished tracks: a library root. Borrowed, valid
 * until dlcache_close(). */
const char *dlcache_tracks_dir(const struct dlcache *c);

/* True when URL's track is in the cache; its path into path (may be
 * NULL). */
bool dlcache_has(const struct dlcache *c, const char *url, char *path,
		 size_t size);

/* Downloads the track known as URL from FETCH_URL (NULL: from URL; a
 * Subsonic stream URL carries a fresh token each time, which the cache
 * must not keep) (fetch_file with L, resumed from partial/ when an earlier
 * attempt left part of it), checks that it decodes, names it by content
 * and records it. Then removes tracks for room (see Size). Its track's
 * path goes into path (may be NULL). -EEXIST is never returned: a URL
 * already cached returns 0 at once. Errors are fetch_file's, -ENOSPC (the
 * cache is full of tracks not played yet), -EAGAIN (the URL's track was
 * evicted for room and would only take the place of a track that played
 * more recently: it waits, nothing was fetched), -EMEDIUMTYPE (the file does not
 * decode: not audio, or truncated), -EIO for disk trouble. On error the
 * partial file is kept only for errors worth resuming (timeouts, the
 * connection lost, a stop). */
int dlcache_download(struct dlcache *c, const char *url,
		     const char *fetch_url, const struct fetch_limits *l, atomic_bool *stop,
		     char *path, size_t size, char *err, size_t err_size);

/* Tells the cache which URLs the feeds list now (all feeds together);
 * every other URL is "gone". A gone URL's track is removed once it has
 * played (LAST_PLAYED says so); one listed again is kept. Returns the
 * number of track files removed, or a negative errno when the index could
 * not be written. */
int dlcache_set_listed(struct dlcache *c, char *const *urls, size_t n);

void dlcache_get_stats(const struct dlcache *c, struct dlcache_stats *st);

#endif
