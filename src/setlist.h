/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * setlist — the station's play order: the playable tracks of the catalog,
 * culled, ordered into a smooth endless tour (brain.h, tour.h), and kept
 * fresh as the library changes; plus the service that runs it beside the
 * mixer and hands it the order (mixer_set_order).
 *
 * DESIGN
 * Culling. A playable track is left out of the order when it is shorter
 * than min_duration or longer than max_duration (a track whose duration is
 * unknown stays), or when it duplicates a better copy: the same content
 * (equal content hash, recorded by the analyzer) or the same normalised
 * artist and title (brain_normalise_artist / brain_normalise_title, both
 * non-empty) with durations within SETLIST_DUPLICATE_S. The better copy has
 * the higher bitrate, then the longer duration, then the lower id. Each
 * culled track is logged once at debug level, and a summary at info level
 * whenever the counts change. When nothing is left, no order is given and
 * the mixer shuffles every playable track (a station of 60-second jingles
 * plays something rather than silence), with a warning.
 *
 * Unanalysed tracks are in the order. Their tempo, key, energy, timbre and
 * loudness are unknown, so those terms drop out of their distances
 * (brain.h) and they are placed by what their tags say (artist, genre); a
 * fresh station plays its whole library at once, in an order that keeps
 * artists apart, and each track moves to its cheapest place as soon as its
 * analysis arrives (the analyzer does the upcoming tracks first).
 *
 * The order is a cycle (it repeats). It changes in three ways:
 *  - insertion: a new track (or one whose analysis or tags changed) goes
 *    where it adds the least cost and keeps artist_separation, every other
 *    track keeping its place; a track that left is simply cut out. Both at
 *    once, whenever the library changes.
 *  - a full solve (tour_solve: neighbour lists, 2-opt, Or-opt, iterated
 *    local search; the exact optimum up to SETLIST_EXACT_MAX tracks) over a
 *    float matrix of the distances up to matrix_max tracks, through the
 *    distance function beyond, with neighbour lists from a spatial index
 *    over the tracks' embeddings (brain_embed, knn.h): nothing past
 *    matrix_max costs n^2. The index is kept until the next solve, and
 *    placements past matrix_max (insertion, the artist and no-repeat
 *    moves) try only the places beside a track's nearest in it, scanning
 *    the whole cycle only when none of those qualifies. The service runs
 *    one at start, and again
 *    when the library has settled (no change for settle_s, or settle_max_s
 *    after the first of a stream of changes), warm-started from the current
 *    order. After a solve, tracks that break artist_separation are moved to
 *    their cheapest place that keeps it, as far as the library allows.
 *  - the sequence (setlist_sequence): the cycle as it will be played, the
 *    first entry the track after the last one played, the last entry that
 *    track itself. Its direction is chosen so that recently played tracks
 *    come late (a cycle costs the same both ways), and a track that would
 *    still come within no_repeat_s of its last play, or an artist within
 *    artist_separation of the tracks just played, is moved to its cheapest
 *    place where it does not, as far as the library allows. These moves
 *    are kept: the cycle stays a cycle that holds every track once.
 * Tempo cuts. A step between two tracks with a tempo the mixer can use
 * (a beat and a trusted grid) that it cannot beatmatch even over a tempo
 * bridge (tempo.h) is a cut. The tempo circle says how many the tempi
 * force (tempo_cuts_unavoidable), and the cycle makes no more, whatever
 * the other terms: the solver sees every cut at a cost above a whole
 * cycle of distances, so it never trades one in; when its search still
 * ends with more cuts than the circle's count, the cycle is solved again
 * from the circle's own order, which makes exactly that many, and the
 * penalty holds them there. Past matrix_max that second solve would take
 * minutes: each cut above the count gets the best 2-opt move that takes
 * it out instead (tour_repair_edge), so there the count is a target
 * that the library-scale benchmark meets, not a guarantee. Placements (insertion, the artist and
 * no-repeat moves) prefer places that add no cut; the artist repair
 * never makes a move that adds one, and an insertion keeps the artists
 * apart only where that adds no more cuts than the best place: the
 * artist rule gives way to the tempo. An insertion may still add a cut
 * (a track next to one it bridges to may split a bridgeable step; a
 * full solve takes it back); the no-repeat and anchor moves of
 * setlist_sequence are not held to the count.
 * Feed tracks not downloaded yet (candidates) are not in the cycle: the
 * mixer cannot play them and the analysis has not seen them. The service
 * places each one where a cheapest insertion would put it in the order
 * it last published, by what its feed says (artist, genre, the API's
 * BPM as a hint), and ranks them by how soon that place comes after the
 * last play: the feeds' thread downloads them in that order, so the
 * tracks the order is about to need are fetched (and then analysed)
 * first. A downloaded track joins the cycle by insertion like any new
 * file, and moves to its cheapest place when its analysis arrives.
 * Play history lives in the catalog: catalog_play_last() names the anchor
 * after a restart; the service polls it to remember what played in this
 * run (the catalog has no query for older plays, so after a restart only
 * the last play is known: the tracks before it are protected by the
 * direction rule only).
 *
 * Thread rules: a struct setlist belongs to one thread. The service owns
 * one in its own thread; its functions are called from one controlling
 * thread, except setlist_service_library_changed/track_changed/get_stats
 * and setlist_service_set_candidates/candidate_order, which any thread
 * may call. The publish callback runs on the service's thread.
 */
#ifndef FOREVERFM_SETLIST_H
#define FOREVERFM_SETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "brain.h"
#include "catalog.h"
#include "config.h"

#define SETLIST_MATRIX_MAX 2000     /* tracks; 16 MB of floats */
#define SETLIST_EXACT_MAX 12        /* solved exactly up to this many */
#define SETLIST_DUPLICATE_S 2.0     /* duplicates by tags: durations within */
#define SETLIST_UNKNOWN_DURATION_S 240.0 /* assumed for the no-repeat rule */
#define SETLIST_CANDIDATES_MAX 4096 /* feed tracks not downloaded yet */

struct setlist_params {
	struct brain_weights weights;
	double min_duration_s;       /* shorter tracks are left out (90) */
	double max_duration_s;       /* longer tracks are left out (600) */
	double no_repeat_s;          /* no track again within (4 h); 0 = off */
	unsigned artist_separation;  /* no artist again within this many
				      * tracks (3); 0 = off */
	double time_budget_s;        /* of a full solve (1 s); 0 = none */
	uint64_t max_kicks;          /* of a full solve; 0 = 2000 per track.
				      * With time_budget_s 0 the order depends
				      * only on the library and the seed. */
	uint64_t seed;               /* 1 */
	size_t matrix_max;           /* SETLIST_MATRIX_MAX */
	double settle_s;             /* service: quiet time before a re-solve
				      * (30 s) */
	double settle_max_s;         /* service: at the latest (600 s) */
};

/* Every default above, weights from brain_weights_default(). */
void setlist_params_default(struct setlist_params *p);

/* The defaults, then [library] min/max_duration and [brain] of CFG. */
void setlist_params_from_config(struct setlist_params *p,
				const struct config *cfg);

/* 0 or -EINVAL (bad weights, durations, negative times...). */
int setlist_params_check(const struct setlist_params *p);

enum setlist_cull {
	SETLIST_KEPT = 0,
	SETLIST_TOO_SHORT,
	SETLIST_TOO_LONG,
	SETLIST_DUPLICATE,
};

/* "kept", "too short", "too long", "duplicate". */
const char *setlist_cull_name(enum setlist_cull cull);

struct setlist_stats {
	size_t playable;        /* tracks the catalog offers */
	size_t in_order;        /* tracks in the cycle */
	size_t unanalysed;      /* of those, without an analysis */
	size_t too_short, too_long, duplicates;
	size_t artist_conflicts; /* neighbours within artist_separation that
				  * could not be avoided */
	size_t repeat_conflicts; /* tracks of the last sequence that come again
				  * within no_repeat_s, unavoidably */
	/* The tempo circle (tempo.h) of the tracks in the cycle. */
	size_t tempo_tracks;    /* with a tempo the mixer can use */
	size_t tempo_wide_gaps; /* gaps on the circle beyond the bridge */
	size_t tempo_cuts_unavoidable; /* the fewest tempo cuts any cycle
				  * of the tracks makes (tracks without a
				  * tempo standing in gaps) */
	size_t tempo_cuts;      /* steps of the cycle the mixer cannot
				  * beatmatch for the tempo */
	double cost;            /* of the cycle, after the last change */
	double solve_s;         /* wall time of the last full solve */
	uint64_t kicks;         /* of the last full solve */
	uint64_t solves;
	uint64_t insertions;    /* tracks placed by cheapest insertion */
	uint64_t removals;
};

/* One play: TRACK_ID became audible at WHEN (catalog_play_add). */
struct setlist_play {
	int64_t id;
	time_t when;
};

struct setlist;

/* Borrows CAT (it must outlive the setlist); copies P (NULL = defaults).
 * Empty until setlist_reload(). Returns NULL with errno EINVAL or ENOMEM. */
struct setlist *setlist_create(struct catalog *cat,
			       const struct setlist_params *p);

/* Accepts NULL. */
void setlist_destroy(struct setlist *sl);

/* Only tracks for which KEEP returns true are considered at all (the
 * others are treated as not playable): e.g. those under the library paths
 * of a command. KEEP NULL = every playable track (the default). Takes
 * effect at the next reload. */
void setlist_set_filter(struct setlist *sl,
			bool (*keep)(void *ctx, const struct catalog_track *t),
			void *ctx);

/* New parameters (checked: -EINVAL). Culling and distances follow at the
 * next reload and solve. */
int setlist_set_params(struct setlist *sl, const struct setlist_params *p);

/* Re-reads every playable track (catalog_track_get, catalog_analysis_get),
 * culls, and brings the cycle up to date: tracks that left are cut out,
 * new or changed ones inserted at their cheapest place. When the cycle was
 * empty, or more than a quarter of it is new, the new tracks are appended
 * instead and setlist_needs_solve() becomes true. *CHANGED (may be NULL)
 * says whether the cycle changed. Returns 0 or a negative errno from the
 * catalog (-EIO) or -ENOMEM; the setlist is unchanged on error. */
int setlist_reload(struct setlist *sl, bool *changed);

/* The same for the tracks IDS only (an analysis arrived; a track turned
 * bad: it leaves). Unknown ids are read and added. Past matrix_max the
 * new tracks' places come from the index (see DESIGN), only the
 * duplicate groups they share a key with are culled again, and the
 * cycle's figures in the stats (cost, artist conflicts, tempo cuts) are
 * left as they were until the next setlist_sequence() or solve: each is
 * O(n) distances or a sort, and together they were most of an update at
 * 100 000 tracks. */
int setlist_update(struct setlist *sl, const int64_t *ids, size_t n,
		   bool *changed);

/* True when the cycle was built without a solve (see setlist_reload). */
bool setlist_needs_solve(const struct setlist *sl);

/* A full solve of the current tracks (see DESIGN), warm-started from the
 * cycle unless setlist_needs_solve(). Standardises the timbre over the
 * library first. Returns 0, -ENOMEM or -EINVAL (a distance not finite). */
int setlist_solve(struct setlist *sl);

/* The cycle as it will be played (see DESIGN), into IDS (capacity MAX;
 * -E2BIG when the cycle is longer): after the most recent play of HISTORY
 * (N_HISTORY plays, any order; may be empty), which then is the last entry,
 * or, when it is not in the cycle, from the track with the lowest id.
 * NOW is the wall clock for the no-repeat rule. *N receives the length,
 * *ANCHOR (may be NULL) the id it continues after, or 0. */
int setlist_sequence(struct setlist *sl, const struct setlist_play *history,
		     size_t n_history, time_t now, int64_t *ids, size_t max,
		     size_t *n, int64_t *anchor);

/* Number of tracks in the cycle. */
size_t setlist_size(const struct setlist *sl);

/* The distance from track A to track B with its terms (TERMS may be NULL),
 * as the solver saw it (timbre standardised); -ENOENT when either is not a
 * known playable track. */
int setlist_step_cost(const struct setlist *sl, int64_t a, int64_t b,
		      struct brain_cost *terms, double *cost);

/* Whether the step from track A to track B is a tempo step (both have a
 * tempo the mixer can use: a beat and a trusted grid) and, if so, a tempo
 * cut (the mixer cannot beatmatch it even over a bridge: tempo.h), as the
 * stats count them. Returns 0 or -ENOENT (either is not a known playable
 * track). */
int setlist_step_tempo(const struct setlist *sl, int64_t a, int64_t b,
		       bool *tempo_step, bool *cut);

/* What the setlist knows of track ID: -ENOENT when it is not playable. */
struct setlist_track_info {
	bool analysed;
	double duration_s;       /* 0 = unknown */
	enum setlist_cull cull;
	int64_t duplicate_of;    /* the copy kept, for SETLIST_DUPLICATE */
};
int setlist_track_info(const struct setlist *sl, int64_t id,
		       struct setlist_track_info *info);

/* The ids of the culled tracks, in id order, into IDS (capacity MAX); *N
 * receives their number (which may exceed MAX). Returns 0. */
int setlist_culled_ids(const struct setlist *sl, int64_t *ids, size_t max,
		       size_t *n);

void setlist_get_stats(const struct setlist *sl, struct setlist_stats *st);

/* A track a feed lists that is not downloaded yet (source_http.h): KEY
 * is the caller's, opaque here; BT what the feed says of it (artist,
 * genre, and the API's BPM as a hint: setlist_candidate_init()). */
struct setlist_candidate {
	uint64_t key;
	struct brain_track bt;
};

/* Fills *C with KEY and what a feed says: ARTIST (normalised here),
 * GENRE, BPM_HINT (0: none; taken as a tempo with
 * SETLIST_BPM_HINT_CONFIDENCE: it places the candidate, and reaches
 * neither the cycle nor the mixer, which wait for the analysis). */
#define SETLIST_BPM_HINT_CONFIDENCE 0.5
void setlist_candidate_init(struct setlist_candidate *c, uint64_t key,
			    const char *artist, const char *genre,
			    double bpm_hint);

/* Where candidates would play: for each of C[0 .. N_C-1], its cheapest
 * place in SEQ (N ids, a sequence as setlist_sequence gives it: SEQ[N-1]
 * the track last played), as the index of the track of SEQ it would come
 * before (0: next), into PLACE. The cost is the distance (brain.h) the
 * candidate adds between its neighbours, as a cheapest insertion counts
 * it but without the tempo cut penalty (where it fits once analysed, its
 * BPM hint standing for its tempo); the artist rule is not applied; ties
 * go to the earliest place.
 * Ids of SEQ not in the setlist are skipped. Returns 0, -ENOMEM or
 * -ECANCELED (the service stops). */
int setlist_place_candidates(const struct setlist *sl, const int64_t *seq,
			     size_t n, const struct setlist_candidate *c,
			     size_t n_c, size_t *place);

/* ---- the service ---------------------------------------------------- */

/* Receives every new sequence (borrowed for the call): IDS[0 .. N-1], to
 * continue after START_AFTER_ID (0: none). N = 0: no order (shuffle). */
typedef void (*setlist_publish_fn)(void *ctx, const int64_t *ids, size_t n,
				   int64_t start_after_id);

struct setlist_service;

/* Borrows CAT; copies P. Returns NULL with errno EINVAL or ENOMEM. */
struct setlist_service *setlist_service_create(struct catalog *cat,
					       const struct setlist_params *p,
					       setlist_publish_fn publish,
					       void *ctx);

/* Starts the thread: it reads the library, solves, publishes, and then
 * follows the changes. Returns 0 or a negative errno. */
int setlist_service_start(struct setlist_service *s);

/* Waits until the first order was published (or the first attempt
 * failed), at most TIMEOUT_S. Returns 0 or -ETIMEDOUT. */
int setlist_service_wait_ready(struct setlist_service *s, double timeout_s);

/* The library was rescanned: re-read everything. */
void setlist_service_library_changed(struct setlist_service *s);

/* Track ID changed (analysed, turned bad): re-read it. */
void setlist_service_track_changed(struct setlist_service *s, int64_t id);

/* New parameters (a reload): culled and solved again at once if they
 * differ. Returns 0 or -EINVAL. */
int setlist_service_set_params(struct setlist_service *s,
			       const struct setlist_params *p);

void setlist_service_get_stats(struct setlist_service *s,
			       struct setlist_stats *st);

/* The tracks the feeds list but have not downloaded (copied; at most
 * SETLIST_CANDIDATES_MAX: -E2BIG). The service places them in the play
 * order it last published (setlist_place_candidates) whenever they or
 * the order change, and ranks them by how many tracks will play before
 * each, counted from the last play (the catalog's, polled every few
 * seconds). They stay out of the order the mixer gets: there is nothing
 * to play yet. Any thread. Returns 0, -E2BIG or -ENOMEM. */
int setlist_service_set_candidates(struct setlist_service *s,
				   const struct setlist_candidate *c,
				   size_t n);

/* The keys of the candidates, soonest first, as last ranked (none before
 * the first ranking: the caller keeps its own order), at most MAX into
 * KEYS; *N receives how many. Any thread. Returns 0. */
int setlist_service_candidate_order(struct setlist_service *s,
				    uint64_t *keys, size_t max, size_t *n);

/* Ends and joins the thread (a solve in progress finishes first, within
 * its time budget). Idempotent. */
void setlist_service_stop(struct setlist_service *s);

/* Stops if needed and frees; accepts NULL. */
void setlist_service_destroy(struct setlist_service *s);

#endif
