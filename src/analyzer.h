/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyzer — the library's analysis, in the background while the station
 * plays (analyzer_create/start) or in one go (analyzer_run, used by
 * `foreverfm analyze`), cached in the catalog by file content.
 *
 * DESIGN
 * A pass takes the catalog's unanalysed tracks and those without visuals
 * (catalog_analyzer_todo_ids), and chooses them one at a time, whenever an analysis child is free: first
 * any of the tracks about to play (params.upcoming, the mixer's
 * mixer_upcoming), then the rest in id order. A chosen track's file is
 * hashed (analyzer_content_hash, about 10 GB/s) and the hash recorded
 * (catalog_track_set_hash); if the catalog already holds an analysis of
 * that content (the same file at another path, a file only touched, or
 * changed back) the track is done without a child. Otherwise the file goes
 * to analyze_worker: a fork()ed child per file, niced, at most
 * params.workers at a time, each under params.timeout_s plus a tenth of
 * the file's duration (catalog estimate); the child decodes
 * the file once and computes every feature. A result is stored with
 * catalog_analysis_put; a child that crashed, hung twice in the pass (a
 * first timeout is tried once more: it may not be the file's fault) or
 * could not decode the file gets the track marked bad (catalog_track_bad,
 * reason "analysis: crashed: signal 11 (Segmentation fault)") and it is
 * never played. A
 * child killed from outside (SIGTERM, SIGINT, SIGHUP, SIGKILL: a shutdown,
 * Ctrl-C, the OOM killer), out of memory, or a file that vanished leaves
 * the track unanalysed, to be tried at the next pass.
 *
 * The background thread runs a pass at start, then sleeps until
 * analyzer_wake() (a rescan) or ANALYZER_RECHECK_S, and runs another; a
 * wake during a pass re-reads the unanalysed tracks at the next choice.
 * It shares nothing with the mixer but the catalog (short calls under the
 * catalog's mutex) and the upcoming callback (a copy under the mixer's
 * small lock), so analysis never blocks the mixer, and the children run at
 * nice +10 so the mixer and the encoders keep their CPU.
 * analyzer_stop() kills running children at once (their tracks stay
 * unanalysed) and joins the thread within about 100 ms.
 *
 * The content hash is XXH64 (seed 0) of the file's bytes plus the file
 * size: doc/catalog.md says why.
 *
 * Thread rules: analyzer_run() runs in the calling thread. The service's
 * functions are called from one controlling thread, except analyzer_wake()
 * and analyzer_get_stats(), which any thread may call. The callbacks run
 * on the thread doing the analysis (the service's, or analyzer_run's
 * caller) and must not call back into the analyzer. The process must not
 * ignore SIGCHLD (analyze_worker.h).
 */
#ifndef FOREVERFM_ANALYZER_H
#define FOREVERFM_ANALYZER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "catalog.h"

/* A sleeping service looks for new unanalysed tracks this often even
 * without analyzer_wake() (another process may have changed the catalog). */
#define ANALYZER_RECHECK_S 60.0
#define ANALYZER_TIMEOUT_DEFAULT_S 120.0
/* A file's timeout is timeout_s plus its duration divided by this: the
 * slowest analysis (in x real time) that is still not a hang. */
#define ANALYZER_MIN_SPEED 10.0
/* How many upcoming ids are asked for before each choice. */
#define ANALYZER_UPCOMING_MAX 8

enum analyzer_outcome {
	ANALYZER_ANALYSED, /* analysed in a child and stored */
	ANALYZER_CACHED,   /* found in the cache by content hash */
	ANALYZER_BAD,      /* marked bad with the reason */
};

/* One finished track. Everything is borrowed for the callback. */
struct analyzer_event {
	enum analyzer_outcome outcome;
	const struct catalog_track *track;
	const struct analysis *analysis; /* NULL when bad */
	const char *reason;              /* "" unless bad */
	size_t done;    /* tracks finished in this pass, this one included */
	size_t total;   /* done + still to do (grows when tracks are added) */
};

struct analyzer_params {
	unsigned workers;   /* children at a time; 0 = online CPUs (max 64) */
	double timeout_s;   /* per file, plus ANALYZER_MIN_SPEED's share of its
			     * duration; 0 = ANALYZER_TIMEOUT_DEFAULT_S */
	const struct analysis_params *analysis; /* NULL = defaults; copied */
	/* Optional: the ids about to play, most urgent first (at most max,
	 * *n their number); returns 0 or a negative errno (then ignored). */
	int (*upcoming)(void *ctx, int64_t *ids, size_t max, size_t *n);
	void *upcoming_ctx;
	/* Optional: called for every finished track. The station uses a bad
	 * outcome to have the mixer re-read the playable tracks. */
	void (*event)(void *ctx, const struct analyzer_event *ev);
	void *event_ctx;
};

struct analyzer_stats {
	uint64_t analysed;  /* in children, since start */
	uint64_t cached;    /* found in the cache */
	uint64_t bad;       /* marked bad */
	uint64_t passes;    /* passes completed */
	size_t pending;     /* still to do in the current pass */
	bool busy;          /* a pass is running */
};

/* Analyses every unanalysed track of CAT in the calling thread until none
 * is left (tracks added meanwhile included), or until *cancel (may be NULL)
 * becomes true (then -ECANCELED; running children are killed, their
 * tracks stay unanalysed). Returns 0 or a negative errno (-EIO: catalog
 * failure; -EINVAL: bad params). Counts are added to stats (may be NULL). */
int analyzer_run(struct catalog *cat, const struct analyzer_params *params,
		 const atomic_bool *cancel, struct analyzer_stats *stats);

/* The background service. Borrows cat (it must outlive the service);
 * copies params. Returns NULL with errno set (EINVAL, ENOMEM). */
struct analyzer_service *analyzer_create(struct catalog *cat,
					 const struct analyzer_params *params);

/* Starts the thread, which runs a pass at once. 0 or a negative errno. */
int analyzer_start(struct analyzer_service *az);

/* The library changed: look for unanalysed tracks now. */
void analyzer_wake(struct analyzer_service *az);

void analyzer_get_stats(struct analyzer_service *az,
			struct analyzer_stats *stats);

/* Kills running children, ends and joins the thread. Idempotent. */
void analyzer_stop(struct analyzer_service *az);

/* Stops if needed and frees; accepts NULL. */
void analyzer_destroy(struct analyzer_service *az);

/* XXH64, streaming: init, update with any number of byte runs, final. */
struct analyzer_hash {
	uint64_t v[4];
	uint64_t total_len;
	unsigned char mem[32];
	size_t mem_len;
};
void analyzer_hash_init(struct analyzer_hash *h);
void analyzer_hash_update(struct analyzer_hash *h, const void *data,
			  size_t len);
uint64_t analyzer_hash_final(const struct analyzer_hash *h);

/* The content hash of the file at PATH into out (CATALOG_HASH_MAX bytes):
 * 16 hex digits of XXH64 of the bytes, then 16 of the size in bytes.
 * Returns 0 or a negative errno from open/read. */
int analyzer_content_hash(const char *path, char *out);

#endif
