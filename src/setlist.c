/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * setlist — the play order and its service. See setlist.h for the DESIGN.
 *
 * State: tracks[], every playable track the catalog offers, sorted by id
 * (culled ones included, so that a duplicate's better copy is known and
 * every culled track is logged only once), and the cycle seq[] of ids with
 * seq_ix[], their indices in tracks[] (shifted by arithmetic when one
 * track comes or goes, looked up again after a reload). Insertions and
 * moves are array surgery on seq[] (O(n) memmove each), and every cost is
 * brain_distance() on the spot (about 100 ns): an insertion costs 3 n
 * distance calls up to matrix_max, and 6 SETLIST_CANDIDATES past it
 * (the places beside its nearest in the index). Only a full solve builds
 * a struct tour (and a float matrix while n <= matrix_max), and drops
 * both when done; past matrix_max it leaves the index behind.
 *
 * Sequence frame: setlist_sequence() rotates the cycle so that position 0
 * is the next track to play and position n - 1 the anchor (the last
 * played). The start time of position q is now + the durations of
 * positions 0 .. q - 1 (SETLIST_UNKNOWN_DURATION_S when unknown), which
 * is what the no-repeat rule compares with the last play of a track.
 *
 * The service is one thread that owns a struct setlist and sleeps on a
 * condition variable until a change is reported, the settle deadline
 * passes, or SETLIST_POLL_S elapses (then it reads catalog_play_last to
 * follow what plays). Changed track ids are queued (at most
 * SETLIST_CHANGES_MAX; beyond that a full reload is done instead).
 */
#include "autoconfig.h"

#include "setlist.h"
#include "transition.h"

#include "knn.h"
#include "log.h"
#include "tempo.h"
#include "tour.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_INDEX UINT32_MAX
#define SETLIST_POLL_S 2.0
#define SETLIST_CHANGES_MAX 256
#define SETLIST_HISTORY_MAX 1024
#define SETLIST_KICKS_PER_TRACK 2000
#define SETLIST_REPAIR_PASSES 4
/* Past matrix_max: candidates a track takes from the index (knn.h) for
 * its neighbour lists and its places; every one is costed exactly. 24
 * hold 94.5 % of the true ten nearest on a library of albums, 40 hold
 * 99.6 % but cost the 100 000-track solve two more seconds for a tour
 * no better (doc/brain.md). */
#define SETLIST_CANDIDATES 24
/* Past matrix_max and this many tracks the kicks after the first local
 * search get time_budget_s scaled by this / n: at 100 000 tracks one
 * second of them made 2000 kicks, 0.02 a track, for 0.02 % of the cost
 * (doc/brain.md). */
#define SETLIST_KICK_TRACKS 20000
/* An update of more tracks than half this culls everything again. */
#define SETLIST_CULL_KEYS_MAX 16

struct sl_track {
	int64_t id;
	struct brain_track bt;          /* timbre standardised with sl->norm */
	float timbre_raw[BRAIN_TIMBRE_MAX];
	int n_timbre_raw;
	double duration_s;              /* 0 = unknown */
	int bitrate_kbps;
	bool analysed;
	char hash[CATALOG_HASH_MAX];
	uint64_t title;                 /* hash of the normalised title; 0 =
					 * none (a string would double the
					 * memory of a large library) */
	uint64_t hash_key;              /* of the content hash; 0 = none */
	uint64_t name_key;              /* of artist and title; 0 = either
					 * unknown (cull_all's groups) */
	enum setlist_cull cull;
	int64_t duplicate_of;
	enum setlist_cull logged;       /* the cull last logged */
	bool changed;                   /* features changed: place it again */
	bool in_seq;                    /* reconcile scratch */
	bool stuck;                     /* repair scratch: cannot be helped */
	uint32_t moved;                 /* sequence scratch: == sl->moved_gen
					 * when moved (or judged) already */
	uint64_t artist_key;            /* of the artist; 0 = none */
};

struct setlist {
	struct catalog *cat;
	struct setlist_params p;

	struct sl_track *tracks;        /* sorted by id */
	size_t n_tracks, cap_tracks;

	int64_t *seq;                   /* the cycle */
	uint32_t *seq_ix;               /* tracks[] index of each seq entry */
	/* The steps of the cycle, beside it: the distance and the tempo cut
	 * from each position to the next, and the artist key at each. The
	 * cycle's figures are sums over these, so a change costs the steps
	 * it makes (a few distances) instead of n distances with a cache
	 * miss into tracks[] each. Valid while steps_ok; the artist keys
	 * always are. */
	double *seq_step;
	uint8_t *seq_cut;
	uint64_t *seq_artist;
	bool steps_ok;
	bool circle_ok;                 /* st's circle figures are current */
	uint32_t moved_gen;             /* sl_track.moved of this sequence */
	size_t n_seq, cap_seq;
	bool needs_solve;

	struct brain_timbre_norm norm;
	struct catalog_track *ct;       /* scratch: too big for the stack */
	char norm_title[BRAIN_ARTIST_MAX]; /* scratch */
	int64_t *ids;                   /* scratch: catalog ids */
	size_t cap_ids;
	double *scratch;                /* scratch: n_seq + 1 doubles */
	size_t cap_scratch;

	/* The spatial index of the last solve past matrix_max: the tracks'
	 * embeddings (brain_embed), by the ids they had. Insertions and
	 * moves take their candidate places from it; it ages (tracks added
	 * since are not in it, tracks gone are skipped) until the next
	 * solve rebuilds it. */
	struct knn *index;
	int64_t *index_ids;
	struct brain_embedding emb;
	uint32_t *where;                /* scratch: track -> frame position */
	size_t cap_where;

	const atomic_bool *cancel;      /* the service's stop flag, or NULL */
	bool (*keep)(void *ctx, const struct catalog_track *t);
	void *keep_ctx;
	struct setlist_stats st;
	struct setlist_stats logged_st; /* the counts of the last summary */
	bool summary_logged;
};

/* ------------------------------------------------------------------ */
/* Parameters.                                                         */

void setlist_params_default(struct setlist_params *p)
{
	memset(p, 0, sizeof(*p));
	brain_weights_default(&p->weights);
	p->min_duration_s = 90;
	p->max_duration_s = 600;
	p->no_repeat_s = 4 * 3600.0;
	p->artist_separation = 3;
	p->time_budget_s = 1.0;
	p->max_kicks = 0;
	p->seed = 1;
	p->matrix_max = SETLIST_MATRIX_MAX;
	p->settle_s = 30;
	p->settle_max_s = 600;
}

void setlist_params_from_config(struct setlist_params *p,
				const struct config *cfg)
{
	setlist_params_default(p);
	p->weights.tempo = cfg->brain_weight_tempo;
	p->weights.key = cfg->brain_weight_key;
	p->weights.energy = cfg->brain_weight_energy;
	p->weights.timbre = cfg->brain_weight_timbre;
	p->weights.loudness = cfg->brain_weight_loudness;
	p->weights.genre = cfg->brain_weight_genre;
	p->weights.same_artist = cfg->brain_weight_artist;
	p->weights.max_stretch = cfg->max_stretch;
	p->min_duration_s = cfg->min_duration_s;
	p->max_duration_s = cfg->max_duration_s;
	p->no_repeat_s = cfg->brain_no_repeat_hours * 3600.0;
	p->artist_separation = cfg->brain_artist_separation > 0
			       ? (unsigned)cfg->brain_artist_separation : 0;
	p->time_budget_s = cfg->brain_time_budget_s;
}

int setlist_params_check(const struct setlist_params *p)
{
	if (!p || brain_weights_check(&p->weights) < 0)
		return -EINVAL;
	if (!(p->min_duration_s >= 0) || !(p->max_duration_s > p->min_duration_s)
	    || !isfinite(p->max_duration_s))
		return -EINVAL;
	if (!(p->no_repeat_s >= 0) || !isfinite(p->no_repeat_s) ||
	    !(p->time_budget_s >= 0) || !isfinite(p->time_budget_s) ||
	    !(p->settle_s >= 0) || !(p->settle_max_s >= 0) ||
	    !isfinite(p->settle_s) || !isfinite(p->settle_max_s))
		return -EINVAL;
	if (p->artist_separation > 1000)
		return -EINVAL;
	return 0;
}

const char *setlist_cull_name(enum setlist_cull cull)
{
	switch (cull) {
	case SETLIST_KEPT:
		return "kept";
	case SETLIST_TOO_SHORT:
		return "too short";
	case SETLIST_TOO_LONG:
		return "too long";
	case SETLIST_DUPLICATE:
		return "duplicate";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	void *p = realloc(*buf, n * elem);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

static int cmp_track_id(const void *key, const void *elem)
{
	int64_t a = *(const int64_t *)key;
	int64_t b = ((const struct sl_track *)elem)->id;
	return (a > b) - (a < b);
}

static uint32_t find_track(const struct setlist *sl, int64_t id)
{
	const struct sl_track *t = bsearch(&id, sl->tracks, sl->n_tracks,
					   sizeof(*t), cmp_track_id);
	return t ? (uint32_t)(t - sl->tracks) : NO_INDEX;
}

static double dist(const struct setlist *sl, uint32_t i, uint32_t j)
{
	return brain_distance(&sl->tracks[i].bt, &sl->tracks[j].bt,
			      &sl->p.weights, NULL);
}

/* On the tempo circle (tempo.h): a tempo the mixer can use, i.e. a beat
 * and a grid it trusts. Others cross over whatever the tempo. */
static bool on_circle(const struct sl_track *t)
{
	return t->bt.bpm > 0 && !t->bt.grid_untrusted;
}

/* A step the mixer cannot beatmatch for the tempo alone: a tempo cut. */
static bool tempo_cut(const struct setlist *sl, uint32_t i, uint32_t j)
{
	const struct sl_track *a = &sl->tracks[i], *b = &sl->tracks[j];
	return on_circle(a) && on_circle(b) &&
	       !tempo_bridgeable(a->bt.bpm, b->bt.bpm,
				 sl->p.weights.max_stretch);
}

/* What a tempo cut costs the solver and the placements on top of the
 * distance: more than a whole cycle of the largest distances (1 +
 * BRAIN_UNMATCHED_COST a step), so that no change the solver accepts (a
 * move or a kick is kept only if the cycle costs no more) can add a cut,
 * whatever it saves elsewhere, and a placement that adds none always
 * beats one that does. */
static double cut_penalty(const struct setlist *sl)
{
	return (1.0 + BRAIN_UNMATCHED_COST) * (double)(sl->n_seq + 1) + 1.0;
}

/* The solver's cost: the distance, lexicographically after the cuts. */
static double sdist(const struct setlist *sl, uint32_t i, uint32_t j)
{
	double d = dist(sl, i, j);
	return tempo_cut(sl, i, j) ? d + cut_penalty(sl) : d;
}


static double duration_of(const struct setlist *sl, uint32_t i)
{
	double d = sl->tracks[i].duration_s;
	return d > 0 ? d : SETLIST_UNKNOWN_DURATION_S;
}

static bool same_artist(const struct setlist *sl, uint32_t i, uint32_t j)
{
	const char *a = sl->tracks[i].bt.artist, *b = sl->tracks[j].bt.artist;
	return a[0] && strcmp(a, b) == 0;
}

static bool cancelled(const struct setlist *sl)
{
	return sl->cancel && atomic_load(sl->cancel);
}

/* Rebuilds seq_ix from seq (after tracks[] changed). Entries whose track
 * is gone get NO_INDEX. */
static void seq_reindex(struct setlist *sl)
{
	for (size_t k = 0; k < sl->n_seq; k++)
		sl->seq_ix[k] = find_track(sl, sl->seq[k]);
	sl->steps_ok = false;
	sl->circle_ok = false;
}

/* tracks[] lost its entry AT (DIR -1) or gained one at AT (DIR +1): the
 * indices in seq_ix follow by arithmetic, O(n) in order, where
 * seq_reindex() would look up every id (n log n cache misses into
 * tracks[], most of an update at 100 000 tracks). */
static void seq_shift(struct setlist *sl, uint32_t at, int dir)
{
	for (size_t k = 0; k < sl->n_seq; k++) {
		uint32_t ix = sl->seq_ix[k];
		if (ix == NO_INDEX)
			continue;
		if (dir < 0 && ix == at)
			sl->seq_ix[k] = NO_INDEX;
		else if (dir < 0 && ix > at)
			sl->seq_ix[k] = ix - 1;
		else if (dir > 0 && ix >= at)
			sl->seq_ix[k] = ix + 1;
	}
}

static int seq_reserve(struct setlist *sl, size_t n)
{
	size_t cap[5] = { sl->cap_seq, sl->cap_seq, sl->cap_seq, sl->cap_seq,
			  sl->cap_seq };
	int rc = grow((void **)&sl->seq, &cap[0], n, sizeof(*sl->seq));
	if (rc == 0)
		rc = grow((void **)&sl->seq_ix, &cap[1], n, sizeof(*sl->seq_ix));
	if (rc == 0)
		rc = grow((void **)&sl->seq_step, &cap[2], n,
			  sizeof(*sl->seq_step));
	if (rc == 0)
		rc = grow((void **)&sl->seq_cut, &cap[3], n, sizeof(*sl->seq_cut));
	if (rc == 0)
		rc = grow((void **)&sl->seq_artist, &cap[4], n,
			  sizeof(*sl->seq_artist));
	if (rc == 0) {
		size_t c = cap[0];
		for (int i = 1; i < 5; i++)
			c = cap[i] < c ? cap[i] : c;
		sl->cap_seq = c;
	}
	return rc;
}

/* The step from position K to the next, round the cycle. */
static void step_set(struct setlist *sl, size_t k)
{
	size_t n = sl->n_seq;
	if (n < 2) {
		sl->seq_step[k] = 0;
		sl->seq_cut[k] = 0;
		return;
	}
	uint32_t a = sl->seq_ix[k], b = sl->seq_ix[k + 1 == n ? 0 : k + 1];
	sl->seq_step[k] = dist(sl, a, b);
	sl->seq_cut[k] = tempo_cut(sl, a, b);
}

/* Every step and artist key again: n distances. */
static void steps_rebuild(struct setlist *sl)
{
	for (size_t k = 0; k < sl->n_seq; k++) {
		sl->seq_artist[k] = sl->tracks[sl->seq_ix[k]].artist_key;
		step_set(sl, k);
	}
	sl->steps_ok = true;
}

/* Position K's track has new features (a step to or from it may cost
 * something else now). */
static void steps_touch(struct setlist *sl, size_t k)
{
	size_t n = sl->n_seq;
	sl->seq_artist[k] = sl->tracks[sl->seq_ix[k]].artist_key;
	if (!sl->steps_ok || n == 0)
		return;
	step_set(sl, k);
	step_set(sl, (k + n - 1) % n);
}

/* Inserts track IX before position Q (Q = n_seq: at the end). Room must
 * have been reserved. */
static void seq_insert_at(struct setlist *sl, size_t q, uint32_t ix)
{
	size_t tail = sl->n_seq - q;
	memmove(sl->seq + q + 1, sl->seq + q, tail * sizeof(*sl->seq));
	memmove(sl->seq_ix + q + 1, sl->seq_ix + q, tail * sizeof(*sl->seq_ix));
	memmove(sl->seq_step + q + 1, sl->seq_step + q,
		tail * sizeof(*sl->seq_step));
	memmove(sl->seq_cut + q + 1, sl->seq_cut + q, tail);
	memmove(sl->seq_artist + q + 1, sl->seq_artist + q,
		tail * sizeof(*sl->seq_artist));
	sl->seq[q] = sl->tracks[ix].id;
	sl->seq_ix[q] = ix;
	sl->n_seq++;
	steps_touch(sl, q);
}

static void seq_remove_at(struct setlist *sl, size_t q)
{
	size_t tail = sl->n_seq - q - 1;
	memmove(sl->seq + q, sl->seq + q + 1, tail * sizeof(*sl->seq));
	memmove(sl->seq_ix + q, sl->seq_ix + q + 1, tail * sizeof(*sl->seq_ix));
	memmove(sl->seq_step + q, sl->seq_step + q + 1,
		tail * sizeof(*sl->seq_step));
	memmove(sl->seq_cut + q, sl->seq_cut + q + 1, tail);
	memmove(sl->seq_artist + q, sl->seq_artist + q + 1,
		tail * sizeof(*sl->seq_artist));
	sl->n_seq--;
	if (sl->steps_ok && sl->n_seq > 0)
		step_set(sl, (q + sl->n_seq - 1) % sl->n_seq);
}

static size_t count_tempo_cuts(struct setlist *sl)
{
	size_t c = 0, n = sl->n_seq;
	if (!sl->steps_ok)
		steps_rebuild(sl);
	for (size_t k = 0; k < n && n > 1; k++)
		c += sl->seq_cut[k];
	return c;
}

/* The sum of the cycle's distances, in order, as the steps hold them. */
static double seq_cost(struct setlist *sl)
{
	if (!sl->steps_ok)
		steps_rebuild(sl);
	double c = 0;
	for (size_t k = 0; k < sl->n_seq && sl->n_seq > 1; k++)
		c += sl->seq_step[k];
	return c;
}

/* ------------------------------------------------------------------ */
/* Reading tracks.                                                     */

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* FNV-1a of the normalised title, never 0 for a non-empty one; 0 for
 * none. */
static uint64_t title_hash(struct setlist *sl, const char *title)
{
	char *norm = sl->norm_title;
	(void)brain_normalise_title(title, norm, BRAIN_ARTIST_MAX);
	if (!norm[0])
		return 0;
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, norm);
	return h ? h : 1;
}

/* Fills E from the catalog. Returns 0, 1 when the track is not playable
 * (bad, or unknown to the catalog), or a negative errno. */
static int read_track(struct setlist *sl, int64_t id, struct sl_track *e)
{
	struct catalog_track *ct = sl->ct;
	struct analysis a;
	int rc = catalog_track_get(sl->cat, id, ct);
	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return rc;
	if (ct->bad_reason[0] || (sl->keep && !sl->keep(sl->keep_ctx, ct)))
		return 1;
	rc = catalog_analysis_get(sl->cat, id, &a);
	if (rc < 0 && rc != -ENOENT)
		return rc;

	memset(e, 0, sizeof(*e));
	e->id = id;
	brain_track_init(&e->bt);
	/* A name too long for the buffer is cut, which is fine for
	 * comparing. */
	(void)brain_normalise_artist(ct->artist, e->bt.artist,
				     sizeof(e->bt.artist));
	e->title = title_hash(sl, ct->title);
	e->artist_key = e->bt.artist[0]
		? fnv1a(0xcbf29ce484222325ULL, e->bt.artist) | 1 : 0;
	/* A feed's genre (the files' genre tags are not read yet). */
	snprintf(e->bt.genre, sizeof(e->bt.genre), "%s", ct->genre);
	e->bitrate_kbps = ct->bitrate_kbps;
	e->duration_s = ct->duration_s > 0 ? ct->duration_s : 0;
	snprintf(e->hash, sizeof(e->hash), "%s", ct->content_hash);
	e->hash_key = e->hash[0] ? fnv1a(0xcbf29ce484222325ULL, e->hash) | 1 : 0;
	e->name_key = e->bt.artist[0] && e->title
		? (fnv1a(0xcbf29ce484222325ULL, e->bt.artist) ^
		   (e->title * 0x9E3779B97F4A7C15ULL)) | 1 : 0;
	e->analysed = rc == 0;
	if (!e->analysed)
		return 0;
	if (a.duration_s > 0 && isfinite(a.duration_s))
		e->duration_s = a.duration_s;
	if (a.bpm > 0 && isfinite(a.bpm)) {
		e->bt.bpm = a.bpm;
		e->bt.bpm_confidence = a.bpm_confidence;
		e->bt.grid_untrusted = !transition_grid_trusted(
			&a, TRANSITION_MIN_GRID_CONFIDENCE);
	}
	if (a.key >= 0 && a.key < 24) {
		enum brain_mode mode = a.key < 12 ? BRAIN_MODE_MAJOR
						  : BRAIN_MODE_MINOR;
		if (brain_camelot_from_pitch(a.key % 12, mode,
					     &e->bt.camelot) == 0) {
			e->bt.mode = mode;
			e->bt.key_confidence = a.key_confidence;
		}
	}
	if (a.energy >= 0 && a.energy <= 1)
		e->bt.energy = a.energy;
	if (isfinite(a.loudness_lufs))
		e->bt.loudness_lufs = a.loudness_lufs;
	bool finite = true;
	for (int k = 0; k < ANALYSIS_MFCC; k++) {
		e->timbre_raw[k] = a.mfcc_mean[k];
		e->timbre_raw[ANALYSIS_MFCC + k] = a.mfcc_std[k];
		finite = finite && isfinite(a.mfcc_mean[k]) &&
			 isfinite(a.mfcc_std[k]);
	}
	if (finite && 2 * ANALYSIS_MFCC <= BRAIN_TIMBRE_MAX) {
		e->n_timbre_raw = 2 * ANALYSIS_MFCC;
		e->bt.n_timbre = e->n_timbre_raw;
		memcpy(e->bt.timbre, e->timbre_raw, sizeof(e->bt.timbre));
		brain_timbre_norm_apply(&sl->norm, &e->bt);
	}
	return 0;
}

/* Did anything the order depends on change? */
static bool features_differ(const struct sl_track *a, const struct sl_track *b)
{
	const struct brain_track *x = &a->bt, *y = &b->bt;
	return a->analysed != b->analysed || a->duration_s != b->duration_s ||
	       a->bitrate_kbps != b->bitrate_kbps ||
	       strcmp(a->hash, b->hash) != 0 || a->title != b->title ||
	       a->n_timbre_raw != b->n_timbre_raw ||
	       memcmp(a->timbre_raw, b->timbre_raw,
		      sizeof(float) * (size_t)a->n_timbre_raw) != 0 ||
	       x->bpm != y->bpm || x->bpm_confidence != y->bpm_confidence ||
	       x->grid_untrusted != y->grid_untrusted ||
	       x->camelot != y->camelot || x->mode != y->mode ||
	       x->key_confidence != y->key_confidence ||
	       x->energy != y->energy ||
	       !(x->loudness_lufs == y->loudness_lufs ||
		 (isnan(x->loudness_lufs) && isnan(y->loudness_lufs))) ||
	       strcmp(x->artist, y->artist) != 0 ||
	       strcmp(x->genre, y->genre) != 0;
}

/* E replaces what was known of its track (OLD, may be NULL): keeps the
 * logging state, and marks it for placing again if it changed. */
static void carry_over(struct sl_track *e, const struct sl_track *old)
{
	if (!old) {
		e->changed = true;
		return;
	}
	e->logged = old->logged;
	e->cull = old->cull;
	e->duplicate_of = old->duplicate_of;
	e->changed = old->changed || features_differ(e, old);
}

/* ------------------------------------------------------------------ */
/* Culling.                                                            */

/* Is track i a better copy than track j? Higher bitrate, longer, older. */
static bool better_copy(const struct sl_track *i, const struct sl_track *j)
{
	if (i->bitrate_kbps != j->bitrate_kbps)
		return i->bitrate_kbps > j->bitrate_kbps;
	if (i->duration_s != j->duration_s)
		return i->duration_s > j->duration_s;
	return i->id < j->id;
}

/* A track in a sort for duplicates: KEY (a 64-bit hash of what makes a
 * group) first, so that the sort compares integers and reads a track
 * only for equal keys, i.e. in the groups themselves: at 100 000 tracks
 * comparing the strings themselves cost most of an update, a cache
 * miss into a large struct at every step. */
struct cull_key {
	uint64_t key;
	uint32_t ix;
};

static int cmp_by_hash(const void *a, const void *b, void *base)
{
	const struct cull_key *ka = a, *kb = b;
	if (ka->key != kb->key)
		return ka->key < kb->key ? -1 : 1;
	const struct sl_track *x = (const struct sl_track *)base + ka->ix;
	const struct sl_track *y = (const struct sl_track *)base + kb->ix;
	int c = strcmp(x->hash, y->hash);
	if (c)
		return c;
	return better_copy(x, y) ? -1 : better_copy(y, x) ? 1 : 0;
}

static int cmp_by_name(const void *a, const void *b, void *base)
{
	const struct cull_key *ka = a, *kb = b;
	if (ka->key != kb->key)
		return ka->key < kb->key ? -1 : 1;
	const struct sl_track *x = (const struct sl_track *)base + ka->ix;
	const struct sl_track *y = (const struct sl_track *)base + kb->ix;
	int c = strcmp(x->bt.artist, y->bt.artist);
	if (c)
		return c;
	if (x->title != y->title)
		return x->title < y->title ? -1 : 1;
	return better_copy(x, y) ? -1 : better_copy(y, x) ? 1 : 0;
}

static void log_cull(struct setlist *sl, struct sl_track *t)
{
	if (t->cull == t->logged)
		return;
	t->logged = t->cull;
	if (t->cull == SETLIST_KEPT || log_get_level() < LOG_LEVEL_DEBUG)
		return;
	const char *path = "?";
	if (catalog_track_get(sl->cat, t->id, sl->ct) == 0)
		path = sl->ct->path;
	switch (t->cull) {
	case SETLIST_TOO_SHORT:
		log_debug("brain: leaving out %s: %.1f s is shorter than "
			  "min_duration (%g s)", path, t->duration_s,
			  sl->p.min_duration_s);
		break;
	case SETLIST_TOO_LONG:
		log_debug("brain: leaving out %s: %.1f s is longer than "
			  "max_duration (%g s)", path, t->duration_s,
			  sl->p.max_duration_s);
		break;
	case SETLIST_DUPLICATE:
		log_debug("brain: leaving out %s: a duplicate of track %lld "
			  "(%s)", path, (long long)t->duplicate_of,
			  strcmp(t->hash, "") != 0 &&
			  strcmp(t->hash, sl->tracks[find_track(
				  sl, t->duplicate_of)].hash) == 0
			  ? "same content" : "same artist and title");
		break;
	case SETLIST_KEPT:
		break;
	}
}

/* The cull by duration alone. */
static enum setlist_cull cull_by_duration(const struct setlist *sl,
					  const struct sl_track *t)
{
	if (t->duration_s > 0 && t->duration_s < sl->p.min_duration_s)
		return SETLIST_TOO_SHORT;
	if (t->duration_s > sl->p.max_duration_s)
		return SETLIST_TOO_LONG;
	return SETLIST_KEPT;
}

/* Does any track other than IDS have one of KEYS (0s are no key)? Then
 * a duplicate group changes and cull_all() must decide. One pass. */
static bool shares_key(const struct setlist *sl, const int64_t *ids, size_t n,
		       const uint64_t *keys, size_t n_keys)
{
	for (size_t i = 0; i < sl->n_tracks; i++) {
		const struct sl_track *t = &sl->tracks[i];
		for (size_t k = 0; k < n_keys; k++) {
			if (!keys[k] || (t->hash_key != keys[k] &&
					 t->name_key != keys[k]))
				continue;
			bool mine = false;
			for (size_t j = 0; j < n && !mine; j++)
				mine = ids[j] == t->id;
			if (!mine)
				return true;
		}
	}
	return false;
}

/* The tracks IDS share no duplicate group with any other: their cull is
 * their duration's, and nobody else's changes. */
static void cull_alone(struct setlist *sl, const int64_t *ids, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		uint32_t i = find_track(sl, ids[j]);
		if (i == NO_INDEX)
			continue;
		sl->tracks[i].cull = cull_by_duration(sl, &sl->tracks[i]);
		sl->tracks[i].duplicate_of = 0;
		log_cull(sl, &sl->tracks[i]);
	}
}

/* Decides the cull of every track. Returns 0 or -ENOMEM. */
static int cull_all(struct setlist *sl)
{
	size_t n = sl->n_tracks;
	struct cull_key *ix = malloc((n ? n : 1) * sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		struct sl_track *t = &sl->tracks[i];
		t->duplicate_of = 0;
		t->cull = cull_by_duration(sl, t);
	}

	/* The same content: the best copy of each hash stays. */
	for (size_t i = 0; i < n; i++)
		if (sl->tracks[i].cull == SETLIST_KEPT && sl->tracks[i].hash[0])
			ix[m++] = (struct cull_key){ sl->tracks[i].hash_key,
						     (uint32_t)i };
	qsort_r(ix, m, sizeof(*ix), cmp_by_hash, sl->tracks);
	for (size_t k = 0; k < m;) {
		const struct sl_track *best = &sl->tracks[ix[k].ix];
		size_t end = k + 1;
		for (; end < m && ix[end].key == ix[k].key &&
		       strcmp(sl->tracks[ix[end].ix].hash,
					  best->hash) == 0; end++) {
			sl->tracks[ix[end].ix].cull = SETLIST_DUPLICATE;
			sl->tracks[ix[end].ix].duplicate_of = best->id;
		}
		k = end;
	}

	/* The same artist and title, durations within SETLIST_DUPLICATE_S of
	 * a copy kept (best first). */
	m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sl_track *t = &sl->tracks[i];
		if (t->cull == SETLIST_KEPT && t->bt.artist[0] && t->title)
			ix[m++] = (struct cull_key){ t->name_key, (uint32_t)i };
	}
	qsort_r(ix, m, sizeof(*ix), cmp_by_name, sl->tracks);
	for (size_t k = 0; k < m;) {
		size_t end = k + 1;
		const struct sl_track *a = &sl->tracks[ix[k].ix];
		while (end < m && ix[end].key == ix[k].key &&
		       strcmp(sl->tracks[ix[end].ix].bt.artist, a->bt.artist) == 0 &&
		       sl->tracks[ix[end].ix].title == a->title)
			end++;
		for (size_t j = k + 1; j < end; j++) {
			struct sl_track *t = &sl->tracks[ix[j].ix];
			for (size_t i = k; i < j; i++) {
				const struct sl_track *kept = &sl->tracks[ix[i].ix];
				if (kept->cull != SETLIST_KEPT)
					continue;
				if (t->duration_s > 0 && kept->duration_s > 0 &&
				    fabs(t->duration_s - kept->duration_s) <=
				    SETLIST_DUPLICATE_S) {
					t->cull = SETLIST_DUPLICATE;
					t->duplicate_of = kept->id;
					break;
				}
			}
		}
		k = end;
	}
	free(ix);
	for (size_t i = 0; i < n; i++)
		log_cull(sl, &sl->tracks[i]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Placing tracks.                                                     */

/* An order being worked on: S[0 .. N-1], tracks[] indices, a cycle. In
 * the sequence frame HIST holds the plays before the anchor (S[N-1]), most
 * recent first; elsewhere it is NULL. */
struct frame {
	const uint32_t *s;
	size_t n;
	const uint32_t *hist;   /* may be NULL */
	size_t n_hist;
	size_t n_start;         /* positions with a start time (the rest
				 * start after every due time) */
};

/* Would track X at position Q of frame F (before F.s[Q], F not holding X)
 * have the same artist as a track within artist_separation of it? The
 * cycle is checked both ways round; for the first places of a sequence
 * also the plays before the anchor. */
static bool artist_conflict(const struct setlist *sl, uint32_t x,
			    const struct frame *f, size_t q)
{
	size_t sep = sl->p.artist_separation;
	if (sep == 0 || !sl->tracks[x].bt.artist[0] || f->n == 0)
		return false;
	for (size_t d = 1; d <= sep; d++) {
		/* Before: positions q-1, q-2, ...; after: q, q+1, ... */
		if (d <= f->n) {
			uint32_t b = f->s[(q + f->n * sep - d) % f->n];
			uint32_t a = f->s[(q + d - 1) % f->n];
			if (same_artist(sl, x, b) || same_artist(sl, x, a))
				return true;
		}
		/* The anchor is f->s[n - 1]; the plays before it come
		 * before position 0 in the first pass. */
		if (d > q + 1 && d - q - 2 < f->n_hist &&
		    same_artist(sl, x, f->hist[d - q - 2]))
			return true;
	}
	return false;
}

/* The cheapest position (before S[q]) for track X in frame F, in
 * [Q_MIN, Q_MAX] (at most F.n - 1: in a cycle, after the last is before
 * the first); only positions that keep the artists apart when ARTISTS, and
 * start no earlier than NOT_BEFORE (when START, the start times of the
 * positions, is given). Ties go to the earliest. Returns the position or
 * SIZE_MAX when none qualifies; *DELTA the cost added, a tempo cut
 * counting cut_penalty(). */
/* Whether position Q qualifies (see cheapest_place) and, if so, the cost
 * of X there into *D. */
static bool place_cost(const struct setlist *sl, uint32_t x,
		       const struct frame *f, size_t q, bool artists,
		       const double *start, double not_before, double *d)
{
	if (start && q < f->n_start && start[q] < not_before)
		return false;
	if (artists && artist_conflict(sl, x, f, q))
		return false;
	uint32_t a = f->s[(q + f->n - 1) % f->n];
	uint32_t b = f->s[q % f->n];
	/* Places that add a tempo cut lose to any that do not. */
	*d = f->n == 1 ? 2 * sdist(sl, a, x)
	     : sdist(sl, a, x) + sdist(sl, x, b) - sdist(sl, a, b);
	return true;
}

/* Every position of [q_min, q_max]: 3 n distances. */
static size_t cheapest_place_scan(const struct setlist *sl, uint32_t x,
				  const struct frame *f, size_t q_min,
				  size_t q_max, bool artists,
				  const double *start, double not_before,
				  double *delta)
{
	size_t best = SIZE_MAX;
	double best_d = INFINITY, d;
	for (size_t q = q_min; q <= q_max; q++)
		if (place_cost(sl, x, f, q, artists, start, not_before, &d) &&
		    d < best_d) {
			best_d = d;
			best = q;
		}
	*delta = best_d;
	return best;
}

/* Only the places beside X's SETLIST_CANDIDATES nearest tracks in the
 * index: 6 SETLIST_CANDIDATES distances and O(n) plain scans of the
 * frame (its positions), where a scan costs 3 n distances. SIZE_MAX when
 * none qualifies. */
static size_t cheapest_place_near(const struct setlist *sl, uint32_t x,
				  const struct frame *f, size_t q_min,
				  size_t q_max, bool artists,
				  const double *start, double not_before,
				  double *delta)
{
	float pt[BRAIN_EMBED_DIM];
	uint32_t near[SETLIST_CANDIDATES];
	uint32_t *where = sl->where; /* room for n_tracks (setlist_solve) */
	for (size_t k = 0; k < f->n; k++)
		where[f->s[k]] = (uint32_t)k;
	brain_embed(&sl->emb, &sl->p.weights, &sl->tracks[x].bt, pt);
	size_t m = knn_query(sl->index, pt, SETLIST_CANDIDATES, KNN_NONE, 0,
			     near, NULL);
	size_t best = SIZE_MAX;
	double best_d = INFINITY, d;
	for (size_t r = 0; r < m; r++) {
		uint32_t j = find_track(sl, sl->index_ids[near[r]]);
		if (j == NO_INDEX || j == x || where[j] >= f->n ||
		    f->s[where[j]] != j)
			continue; /* gone, or not in this frame */
		/* Before it and after it. */
		for (size_t side = 0; side < 2; side++) {
			size_t q = (where[j] + side) % f->n;
			if (q < q_min || q > q_max)
				continue;
			if (place_cost(sl, x, f, q, artists, start, not_before,
				       &d) &&
			    (d < best_d || (d == best_d && q < best))) {
				best_d = d;
				best = q;
			}
		}
	}
	*delta = best_d;
	return best;
}

static size_t cheapest_place(const struct setlist *sl, uint32_t x,
			     const struct frame *f, size_t q_min, size_t q_max,
			     bool artists, const double *start,
			     double not_before, double *delta)
{
	if (f->n == 0) {
		*delta = 0;
		return 0;
	}
	if (q_max > f->n - 1)
		q_max = f->n - 1;
	if (sl->index && f->n > sl->p.matrix_max &&
	    sl->cap_where >= sl->n_tracks) {
		size_t q = cheapest_place_near(sl, x, f, q_min, q_max, artists,
					       start, not_before, delta);
		if (q != SIZE_MAX)
			return q;
	}
	return cheapest_place_scan(sl, x, f, q_min, q_max, artists, start,
				   not_before, delta);
}

/* The tempo cuts that track X before position Q of frame F adds. */
static long place_cuts(const struct setlist *sl, uint32_t x,
		       const struct frame *f, size_t q)
{
	if (f->n == 0)
		return 0;
	uint32_t a = f->s[(q + f->n - 1) % f->n], b = f->s[q % f->n];
	if (f->n == 1)
		return 2 * (long)tempo_cut(sl, a, x);
	return (long)tempo_cut(sl, a, x) + (long)tempo_cut(sl, x, b) -
	       (long)tempo_cut(sl, a, b);
}

/* Inserts track IX into the cycle where it adds the least cost while
 * keeping the artists apart, or, when no place does or the best such
 * place adds more tempo cuts than the best place without the rule, where
 * it adds the least: the tempo comes first, as in repair_artists. A
 * place next to a track it bridges to adds at most one cut, and a track
 * without a usable tempo goes into a jump if there is one. Room must
 * have been reserved. */
static void insert_cheapest(struct setlist *sl, uint32_t ix)
{
	struct frame f = { .s = sl->seq_ix, .n = sl->n_seq };
	double delta;
	size_t q = cheapest_place(sl, ix, &f, 0, SIZE_MAX, true, NULL, 0,
				  &delta);
	if (q == SIZE_MAX || place_cuts(sl, ix, &f, q) > 0) {
		size_t any = cheapest_place(sl, ix, &f, 0, SIZE_MAX, false,
					    NULL, 0, &delta);
		if (q == SIZE_MAX ||
		    place_cuts(sl, ix, &f, q) > place_cuts(sl, ix, &f, any))
			q = any;
	}
	seq_insert_at(sl, q, ix);
	sl->st.insertions++;
}

/* Same-artist pairs within artist_separation around the cycle. */
static size_t count_artist_conflicts(const struct setlist *sl)
{
	size_t sep = sl->p.artist_separation, c = 0, n = sl->n_seq;
	const uint64_t *key = sl->seq_artist;
	/* By the keys beside the cycle; the names only where two agree. */
	for (size_t k = 0; k < n && sep > 0; k++)
		for (size_t d = 1; d <= sep && d < n; d++) {
			size_t j = k + d < n ? k + d : k + d - n;
			if (key[k] && key[k] == key[j] &&
			    same_artist(sl, sl->seq_ix[k], sl->seq_ix[j]))
				c++;
		}
	return c;
}

/* The tempo cuts that taking the track at position K out of the cycle
 * and putting it before position Q of what is left would add (negative:
 * remove). */
static long move_cuts(const struct setlist *sl, size_t k, size_t q)
{
	size_t n = sl->n_seq;
	const uint32_t *s = sl->seq_ix;
	uint32_t x = s[k], a = s[(k + n - 1) % n], b = s[(k + 1) % n];
	long d = (long)tempo_cut(sl, a, b) - (long)tempo_cut(sl, a, x) -
		 (long)tempo_cut(sl, x, b);
	/* Q counts positions without X: before it, position q of the whole
	 * cycle is q, after it q + 1. */
	size_t m = n - 1;
	size_t qc = q % m, qp = (q + m - 1) % m;
	uint32_t c = s[qp < k ? qp : qp + 1], e = s[qc < k ? qc : qc + 1];
	d += (long)tempo_cut(sl, c, x) + (long)tempo_cut(sl, x, e) -
	     (long)tempo_cut(sl, c, e);
	return d;
}

/* Moves tracks that break artist_separation to their cheapest place that
 * keeps it, as far as the library allows, but never where the move adds
 * a tempo cut: the tempo circle (tempo.h) says how many cuts the tempi
 * force, and a cut is worse than an artist twice in a row. */
static int repair_artists(struct setlist *sl)
{
	size_t n = sl->n_seq, sep = sl->p.artist_separation;
	if (sep == 0 || n < 3)
		return 0;
	for (size_t k = 0; k < n; k++)
		sl->tracks[sl->seq_ix[k]].stuck = false;
	for (int pass = 0; pass < SETLIST_REPAIR_PASSES; pass++) {
		bool moved = false;
		for (size_t k = 0; k < sl->n_seq && !cancelled(sl); k++) {
			uint32_t x = sl->seq_ix[k];
			if (sl->tracks[x].stuck)
				continue;
			bool conflict = false;
			for (size_t d = 1; d <= sep && d < n && !conflict; d++)
				conflict = same_artist(sl, x,
						       sl->seq_ix[(k + n - d) % n]);
			if (!conflict)
				continue;
			seq_remove_at(sl, k);
			struct frame f = { .s = sl->seq_ix, .n = sl->n_seq };
			double delta;
			size_t q = cheapest_place(sl, x, &f, 0, SIZE_MAX, true,
						  NULL, 0, &delta);
			if (q != SIZE_MAX) {
				/* Back in its place to count the move. */
				seq_insert_at(sl, k, x);
				if (move_cuts(sl, k, q) > 0)
					q = SIZE_MAX;
				seq_remove_at(sl, k);
			}
			if (q == SIZE_MAX) {
				q = k;
				sl->tracks[x].stuck = true;
			} else {
				moved = true;
			}
			seq_insert_at(sl, q, x);
		}
		if (!moved)
			break;
	}
	return 0;
}

/* Room in sl->where for every track, for cheapest_place_near(); without
 * it (out of memory) places are found by full scans. */
static void where_reserve(struct setlist *sl)
{
	size_t was = sl->cap_where;
	if (grow((void **)&sl->where, &sl->cap_where, sl->n_tracks + 1,
		 sizeof(*sl->where)) == 0 && sl->cap_where > was)
		/* Stale entries are caught by checking the frame; new ones
		 * must not be read uninitialised. */
		memset(sl->where + was, 0xff,
		       (sl->cap_where - was) * sizeof(*sl->where));
}

/* Brings the cycle in line with tracks[]: cuts out what left or changed,
 * places what is new. */
static void reconcile(struct setlist *sl, bool *changed)
{
	where_reserve(sl);
	size_t kept = 0, before = sl->n_seq, removed = 0;
	/* The steps before the gaps the removals leave (SIZE_MAX: the last
	 * one, round the cycle), mended after. */
	size_t gap[16], n_gap = 0;
	bool gap_before_first = false;
	for (size_t i = 0; i < sl->n_tracks; i++)
		sl->tracks[i].in_seq = false;
	/* seq_ix is fresh: both callers reindex first. */
	for (size_t k = 0; k < sl->n_seq; k++) {
		uint32_t ix = sl->seq_ix[k];
		if (ix == NO_INDEX || sl->tracks[ix].cull != SETLIST_KEPT ||
		    sl->tracks[ix].changed || sl->tracks[ix].in_seq) {
			removed++;
			if (kept == 0)
				gap_before_first = true;
			else if (n_gap < 16)
				gap[n_gap++] = kept - 1;
			else
				sl->steps_ok = false;
			continue;
		}
		sl->tracks[ix].in_seq = true;
		sl->seq[kept] = sl->seq[k];
		sl->seq_ix[kept] = ix;
		sl->seq_step[kept] = sl->seq_step[k];
		sl->seq_cut[kept] = sl->seq_cut[k];
		sl->seq_artist[kept] = sl->seq_artist[k];
		kept++;
	}
	sl->n_seq = kept;
	sl->st.removals += removed;
	if (removed > 0)
		sl->circle_ok = false;
	for (size_t g = 0; g < n_gap && sl->steps_ok; g++)
		step_set(sl, gap[g]);
	if (gap_before_first && sl->steps_ok && kept > 0)
		step_set(sl, kept - 1);

	size_t n_new = 0, n_kept = 0;
	for (size_t i = 0; i < sl->n_tracks; i++) {
		const struct sl_track *t = &sl->tracks[i];
		n_kept += t->cull == SETLIST_KEPT;
		n_new += t->cull == SETLIST_KEPT && !t->in_seq;
	}
	/* Appending is free; cheapest insertion of a whole library would
	 * cost n^2 distances and be undone by the solve anyway. */
	bool append = kept == 0 || n_new > 64 + n_kept / 4;
	for (size_t i = 0; i < sl->n_tracks; i++) {
		struct sl_track *t = &sl->tracks[i];
		bool place = t->cull == SETLIST_KEPT && !t->in_seq;
		t->changed = false;
		if (!place)
			continue;
		if (append)
			seq_insert_at(sl, sl->n_seq, (uint32_t)i);
		else
			insert_cheapest(sl, (uint32_t)i);
		t->in_seq = true;
		sl->circle_ok = false;
	}
	if (append && n_new > 0)
		sl->needs_solve = true;
	if (sl->n_seq == 0)
		sl->needs_solve = false;
	if (changed)
		*changed = removed > 0 || n_new > 0 || before != sl->n_seq;
}

/* The circle's figures of the cycle into the stats (unchanged when
 * memory runs out: they are only reported). */
static void tempo_stats(struct setlist *sl)
{
	sl->st.tempo_cuts = count_tempo_cuts(sl);
	/* The circle's figures depend on the tracks of the cycle, not on
	 * their order: only a change of who is in it costs the sort. */
	if (sl->circle_ok)
		return;
	size_t n = 0;
	double *bpm = malloc((sl->n_seq ? sl->n_seq : 1) * sizeof(*bpm));
	struct tempo_circle c;
	if (!bpm)
		return;
	/* The tracks of the cycle in id order (in_seq, as reconcile left
	 * it): tracks[] in one sweep instead of a cache miss a track. */
	for (size_t i = 0; i < sl->n_tracks && n < sl->n_seq; i++) {
		const struct sl_track *e = &sl->tracks[i];
		if (e->in_seq && e->cull == SETLIST_KEPT)
			bpm[n++] = on_circle(e) ? e->bt.bpm : 0;
	}
	if (n == sl->n_seq &&
	    tempo_circle_count(bpm, n, sl->p.weights.max_stretch, &c) == 0) {
		sl->st.tempo_tracks = c.tracks;
		sl->st.tempo_wide_gaps = c.wide_gaps;
		sl->st.tempo_cuts_unavoidable = c.unavoidable;
		sl->circle_ok = true;
	}
	free(bpm);
}

/* The counts, and with ORDER the figures of the cycle (cost, artist
 * conflicts, tempo cuts: O(n) distances and a sort). */
static void update_stats(struct setlist *sl, bool order)
{
	struct setlist_stats *st = &sl->st;
	st->playable = sl->n_tracks;
	st->in_order = sl->n_seq;
	st->unanalysed = st->too_short = st->too_long = st->duplicates = 0;
	for (size_t i = 0; i < sl->n_tracks; i++) {
		const struct sl_track *t = &sl->tracks[i];
		st->too_short += t->cull == SETLIST_TOO_SHORT;
		st->too_long += t->cull == SETLIST_TOO_LONG;
		st->duplicates += t->cull == SETLIST_DUPLICATE;
		st->unanalysed += t->cull == SETLIST_KEPT && !t->analysed;
	}
	if (order) {
		st->cost = seq_cost(sl);
		st->artist_conflicts = count_artist_conflicts(sl);
		tempo_stats(sl);
	}

	const struct setlist_stats *o = &sl->logged_st;
	if (sl->summary_logged && o->playable == st->playable &&
	    o->in_order == st->in_order && o->too_short == st->too_short &&
	    o->too_long == st->too_long && o->duplicates == st->duplicates)
		return;
	sl->summary_logged = true;
	sl->logged_st = *st;
	if (st->playable > 0 && st->in_order == 0)
		log_warning("brain: %s %zu playable track%s left out (%zu "
			    "shorter than %g s, %zu longer than %g s, %zu "
			    "duplicates): no play order, the mixer shuffles "
			    "what is playable; see [library] min_duration and "
			    "max_duration", st->playable == 1 ? "the" : "all",
			    st->playable, st->playable == 1 ? " is" : "s are",
			    st->too_short,
			    sl->p.min_duration_s, st->too_long,
			    sl->p.max_duration_s, st->duplicates);
	else
		log_info("brain: %zu playable tracks: %zu in the play order "
			 "(%zu not analysed yet); left out: %zu shorter than "
			 "%g s, %zu longer than %g s, %zu duplicates",
			 st->playable, st->in_order, st->unanalysed,
			 st->too_short, sl->p.min_duration_s, st->too_long,
			 sl->p.max_duration_s, st->duplicates);
}

/* ------------------------------------------------------------------ */
/* The setlist.                                                        */

struct setlist *setlist_create(struct catalog *cat,
			       const struct setlist_params *p)
{
	struct setlist *sl;

	if (!cat || (p && setlist_params_check(p) < 0)) {
		errno = EINVAL;
		return NULL;
	}
	sl = calloc(1, sizeof(*sl));
	if (!sl || !(sl->ct = malloc(sizeof(*sl->ct)))) {
		free(sl);
		errno = ENOMEM;
		return NULL;
	}
	sl->cat = cat;
	if (p)
		sl->p = *p;
	else
		setlist_params_default(&sl->p);
	return sl;
}

void setlist_destroy(struct setlist *sl)
{
	if (!sl)
		return;
	knn_destroy(sl->index);
	free(sl->index_ids);
	free(sl->where);
	free(sl->scratch);
	free(sl->ids);
	free(sl->seq_ix);
	free(sl->seq);
	free(sl->seq_step);
	free(sl->seq_cut);
	free(sl->seq_artist);
	free(sl->tracks);
	free(sl->ct);
	free(sl);
}

void setlist_set_filter(struct setlist *sl,
			bool (*keep)(void *ctx, const struct catalog_track *t),
			void *ctx)
{
	sl->keep = keep;
	sl->keep_ctx = ctx;
}

int setlist_set_params(struct setlist *sl, const struct setlist_params *p)
{
	if (setlist_params_check(p) < 0)
		return -EINVAL;
	sl->p = *p;
	sl->steps_ok = false; /* the weights, max_stretch */
	sl->circle_ok = false;
	return 0;
}

bool setlist_needs_solve(const struct setlist *sl)
{
	return sl->needs_solve;
}

size_t setlist_size(const struct setlist *sl)
{
	return sl->n_seq;
}

void setlist_get_stats(const struct setlist *sl, struct setlist_stats *st)
{
	*st = sl->st;
}

/* The catalog's playable ids into sl->ids; *N their number. */
static int read_ids(struct setlist *sl, size_t *n)
{
	for (;;) {
		int rc = catalog_playable_ids(sl->cat, sl->ids, sl->cap_ids, n);
		if (rc < 0)
			return rc;
		if (*n <= sl->cap_ids)
			return 0;
		rc = grow((void **)&sl->ids, &sl->cap_ids, *n + 64,
			  sizeof(*sl->ids));
		if (rc < 0)
			return rc;
	}
}

int setlist_reload(struct setlist *sl, bool *changed)
{
	struct sl_track *fresh = NULL;
	size_t n = 0, m = 0;
	int rc;

	if (changed)
		*changed = false;
	if ((rc = read_ids(sl, &n)) < 0)
		return rc;
	fresh = malloc((n ? n : 1) * sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	/* Both lists are in id order: walk them together. */
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t id = sl->ids[i];
		while (o < sl->n_tracks && sl->tracks[o].id < id)
			o++;
		const struct sl_track *old = o < sl->n_tracks &&
					     sl->tracks[o].id == id
					     ? &sl->tracks[o] : NULL;
		rc = read_track(sl, id, &fresh[m]);
		if (rc < 0)
			goto out;
		if (rc > 0)
			continue;
		carry_over(&fresh[m], old);
		m++;
	}
	if ((rc = seq_reserve(sl, m)) < 0)
		goto out;
	free(sl->tracks);
	sl->tracks = fresh;
	sl->n_tracks = m;
	sl->cap_tracks = n ? n : 1;
	fresh = NULL;
	seq_reindex(sl);
	if ((rc = cull_all(sl)) < 0)
		goto out;
	reconcile(sl, changed);
	update_stats(sl, true);
out:
	free(fresh);
	return rc;
}

int setlist_update(struct setlist *sl, const int64_t *ids, size_t n,
		   bool *changed)
{
	struct sl_track *e = NULL;
	int rc = 0;

	if (changed)
		*changed = false;
	if (n == 0)
		return 0;
	if (!ids)
		return -EINVAL;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* The duplicate groups the change can touch: those of the keys the
	 * tracks had and have. */
	uint64_t keys[2 * SETLIST_CULL_KEYS_MAX];
	size_t n_keys = 0;
	bool full_cull = n > SETLIST_CULL_KEYS_MAX / 2;
	for (size_t i = 0; i < n; i++) {
		uint32_t at = find_track(sl, ids[i]);
		if (at != NO_INDEX && !full_cull) {
			keys[n_keys++] = sl->tracks[at].hash_key;
			keys[n_keys++] = sl->tracks[at].name_key;
		}
		rc = read_track(sl, ids[i], e);
		if (rc < 0)
			goto out;
		if (rc == 0 && !full_cull) {
			keys[n_keys++] = e->hash_key;
			keys[n_keys++] = e->name_key;
		}
		if (rc > 0) {
			/* Not playable (any more): it leaves. */
			if (at != NO_INDEX) {
				memmove(sl->tracks + at, sl->tracks + at + 1,
					(sl->n_tracks - at - 1) *
					sizeof(*sl->tracks));
				sl->n_tracks--;
				seq_shift(sl, at, -1);
			}
			rc = 0;
			continue;
		}
		if (at != NO_INDEX) {
			carry_over(e, &sl->tracks[at]);
			sl->tracks[at] = *e;
			continue;
		}
		carry_over(e, NULL);
		if ((rc = grow((void **)&sl->tracks, &sl->cap_tracks,
			       sl->n_tracks + 1, sizeof(*sl->tracks))) < 0 ||
		    (rc = seq_reserve(sl, sl->n_tracks + 1)) < 0)
			goto out;
		size_t pos = 0, hi = sl->n_tracks; /* the first id above */
		while (pos < hi) {
			size_t mid = pos + (hi - pos) / 2;
			if (sl->tracks[mid].id < e->id)
				pos = mid + 1;
			else
				hi = mid;
		}
		memmove(sl->tracks + pos + 1, sl->tracks + pos,
			(sl->n_tracks - pos) * sizeof(*sl->tracks));
		sl->tracks[pos] = *e;
		sl->n_tracks++;
		seq_shift(sl, pos, +1);
	}
	if (full_cull || shares_key(sl, ids, n, keys, n_keys)) {
		if ((rc = cull_all(sl)) < 0)
			goto out;
	} else {
		cull_alone(sl, ids, n);
	}
	reconcile(sl, changed);
	/* A track updated in place may have another artist, genre or
	 * tempo: its steps again (a scan of the ids per track). */
	for (size_t i = 0; i < n && sl->steps_ok; i++) {
		if (n > SETLIST_CULL_KEYS_MAX / 2) {
			sl->steps_ok = false;
			break;
		}
		for (size_t k = 0; k < sl->n_seq; k++)
			if (sl->seq[k] == ids[i]) {
				steps_touch(sl, k);
				break;
			}
	}
	if (n > 0)
		sl->circle_ok = false;
	/* Past matrix_max the cycle's figures wait for setlist_sequence(),
	 * which the service calls at once: O(n) distances and a sort, most of
	 * an update at 100 000 tracks. */
	update_stats(sl, sl->n_seq <= sl->p.matrix_max);
out:
	if (rc < 0) {
		/* tracks[] may have changed: keep seq_ix consistent. */
		seq_reindex(sl);
	}
	free(e);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Solving.                                                            */

struct solve_ctx {
	const struct setlist *sl;
	const uint32_t *pt; /* point -> tracks[] index */
};

static double solve_cost(size_t i, size_t j, void *ctx)
{
	const struct solve_ctx *c = ctx;
	if (cancelled(c->sl))
		return 0.0; /* the result is thrown away */
	return sdist(c->sl, c->pt[i], c->pt[j]);
}

/* The guarantee of the tempo circle (tempo.h). The cut penalty keeps
 * the solver from adding cuts, but its local search need not find the
 * fewest: when the tour makes more than the circle's count, solve again
 * from the circle's own order (the count exactly, tracks off the circle
 * at its end, where they only ever remove cuts), warm, with the same
 * options. The penalty then holds the cuts at the count while the
 * search improves the rest, so the result never makes more than the
 * count; it is kept when it costs less (it does whenever it has fewer
 * cuts: a cut outweighs a whole cycle). PT maps points to tracks; ORDER
 * is scratch of n points. Returns 0, -ENOMEM or -EINVAL. */
static int solve_tempo(struct setlist *sl, struct tour *t, const uint32_t *pt,
		       uint32_t *order, const struct tour_options *opt,
		       struct tour_stats *ts)
{
	size_t n = tour_size(t);
	const uint32_t *o = tour_order(t);
	double *bpm = malloc(n * sizeof(*bpm));
	uint32_t *first = malloc(n * sizeof(*first));
	int rc = 0;
	if (!bpm || !first) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct sl_track *e = &sl->tracks[pt[k]];
		bpm[k] = on_circle(e) ? e->bt.bpm : 0;
	}
	size_t cuts = 0;
	for (size_t k = 0; k < n; k++)
		cuts += tempo_cut(sl, pt[o[k]], pt[o[(k + 1) % n]]);
	struct tempo_circle c;
	if ((rc = tempo_circle_order(bpm, n, sl->p.weights.max_stretch,
				     order, &c)) < 0)
		goto out;
	if (cuts <= c.unavoidable)
		goto out;
	memcpy(first, o, n * sizeof(*first));
	double first_cost = tour_cost(t);
	struct tour_options warm = *opt;
	warm.warm_start = true;
	struct tour_stats ts2;
	if ((rc = tour_set_order(t, order, n)) < 0 ||
	    (rc = tour_solve(t, &warm, &ts2)) < 0)
		goto out;
	log_info("brain: the tour made %zu tempo cuts where the tempo circle "
		 "needs %zu; solved again from the circle's order: %.4f "
		 "against %.4f (cut penalty %g)", cuts, c.unavoidable,
		 tour_cost(t), first_cost, cut_penalty(sl));
	if (tour_cost(t) > first_cost) {
		rc = tour_set_order(t, first, n);
		goto out;
	}
	ts->kicks += ts2.kicks;
	ts->seconds += ts2.seconds;
out:
	free(first);
	free(bpm);
	return rc;
}

/* Past matrix_max the second solve from the circle's order is too slow
 * (solve_tempo), and the tour may end a cut or two above the circle's
 * count where its local search, which looks only at neighbour lists,
 * misses the long way round. Each cut step gets a full-scan repair
 * instead (tour_repair_edge: the best 2-opt move that takes it out,
 * over every point, 4 n distances): with the penalty on a cut, any
 * move that takes one out without making another is an improvement.
 * PT maps points to tracks. Returns 0 or -ENOMEM. */
static int repair_cuts(struct setlist *sl, struct tour *t, const uint32_t *pt)
{
	enum { AT_ONCE = 8, ROUNDS = 4 };
	size_t n = tour_size(t);
	double *bpm = malloc(n * sizeof(*bpm));
	struct tempo_circle c;
	if (!bpm)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const struct sl_track *e = &sl->tracks[pt[k]];
		bpm[k] = on_circle(e) ? e->bt.bpm : 0;
	}
	int rc = tempo_circle_count(bpm, n, sl->p.weights.max_stretch, &c);
	free(bpm);
	if (rc < 0)
		return rc;
	size_t cuts = 0, first = 0;
	for (int round = 0; round < ROUNDS; round++) {
		const uint32_t *o = tour_order(t);
		uint32_t at[AT_ONCE];
		size_t n_at = 0;
		cuts = 0;
		for (size_t k = 0; k < n; k++)
			if (tempo_cut(sl, pt[o[k]], pt[o[(k + 1) % n]])) {
				if (n_at < AT_ONCE)
					at[n_at++] = o[k];
				cuts++;
			}
		if (round == 0)
			first = cuts;
		if (cuts <= c.unavoidable || cancelled(sl))
			break;
		bool better = false;
		for (size_t i = 0; i < n_at; i++) {
			double gain;
			rc = tour_repair_edge(t, at[i], &gain);
			if (rc < 0)
				return rc;
			better = better || gain > 0;
		}
		if (!better)
			break;
	}
	if (first > c.unavoidable) {
		const uint32_t *o = tour_order(t);
		cuts = 0;
		for (size_t k = 0; k < n; k++)
			cuts += tempo_cut(sl, pt[o[k]], pt[o[(k + 1) % n]]);
		log_info("brain: the tour made %zu tempo cuts where the tempo "
			 "circle needs %zu; %zu after repairing them one by one",
			 first, c.unavoidable, cuts);
	}
	return 0;
}

/* Fits the timbre standardisation over the tracks of the cycle and
 * applies it to every track. */
static int standardise(struct setlist *sl)
{
	struct brain_track *raw = malloc((sl->n_seq ? sl->n_seq : 1) *
					 sizeof(*raw));
	if (!raw)
		return -ENOMEM;
	for (size_t k = 0; k < sl->n_seq; k++) {
		const struct sl_track *t = &sl->tracks[sl->seq_ix[k]];
		brain_track_init(&raw[k]);
		raw[k].n_timbre = t->n_timbre_raw;
		memcpy(raw[k].timbre, t->timbre_raw, sizeof(raw[k].timbre));
	}
	brain_timbre_norm_fit(raw, sl->n_seq, &sl->norm);
	free(raw);
	sl->steps_ok = false; /* every timbre term moves */
	for (size_t i = 0; i < sl->n_tracks; i++) {
		struct sl_track *t = &sl->tracks[i];
		t->bt.n_timbre = t->n_timbre_raw;
		memcpy(t->bt.timbre, t->timbre_raw, sizeof(t->bt.timbre));
		brain_timbre_norm_apply(&sl->norm, &t->bt);
	}
	return 0;
}

/* Past matrix_max: the index over the embeddings of the N tracks PT
 * (points of T, whose cost source is set), kept in sl for the places
 * of later insertions, and T's neighbour lists from its
 * SETLIST_CANDIDATES nearest, costed exactly: O(n log n) and n
 * SETLIST_CANDIDATES distances instead of n^2 / 2. Returns 0, -ENOMEM
 * or -EINVAL. */
static int index_build(struct setlist *sl, struct tour *t, const uint32_t *pt,
		       size_t n)
{
	int rc = 0;
	const size_t m = SETLIST_CANDIDATES;
	struct brain_track *bt = malloc(n * sizeof(*bt));
	float *emb = malloc(n * BRAIN_EMBED_DIM * sizeof(*emb));
	uint32_t *cand = malloc(n * m * sizeof(*cand));
	int64_t *ids = malloc(n * sizeof(*ids));
	if (!bt || !emb || !cand || !ids) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		bt[k] = sl->tracks[pt[k]].bt;
		ids[k] = sl->tracks[pt[k]].id;
	}
	brain_embed_fit(bt, n, &sl->emb);
	free(bt);
	bt = NULL;
	for (size_t k = 0; k < n; k++)
		brain_embed(&sl->emb, &sl->p.weights, &sl->tracks[pt[k]].bt,
			    emb + k * BRAIN_EMBED_DIM);
	sl->index = knn_create(emb, n, BRAIN_EMBED_DIM);
	if (!sl->index) {
		rc = -errno;
		goto out;
	}
	free(sl->index_ids);
	sl->index_ids = ids;
	ids = NULL;
	/* In the tree's leaf order: near points one after another, so
	 * each query walks the cells the last one left in the cache. */
	const uint32_t *leaf_order = knn_order(sl->index);
	for (size_t w = 0; w < n && !cancelled(sl); w++) {
		size_t k = leaf_order[w];
		size_t got = knn_query(sl->index, emb + k * BRAIN_EMBED_DIM, m,
				       (uint32_t)k, 0, cand + k * m, NULL);
		for (size_t r = got; r < m; r++)
			cand[k * m + r] = KNN_NONE;
	}
	if (!cancelled(sl)) {
		struct tour_options opt;
		tour_options_default(&opt);
		rc = tour_set_candidates(t, cand, m, opt.neighbours);
	}
out:
	if (rc < 0) {
		knn_destroy(sl->index);
		sl->index = NULL;
	}
	free(ids);
	free(cand);
	free(emb);
	free(bt);
	return rc;
}

int setlist_solve(struct setlist *sl)
{
	size_t n = sl->n_seq;
	struct tour *t = NULL;
	float *matrix = NULL;
	uint32_t *pt = NULL, *order = NULL;
	struct tour_stats ts = { 0 };
	int rc;

	if ((rc = standardise(sl)) < 0)
		return rc;
	if (n < 2) {
		sl->needs_solve = false;
		sl->st.solves++;
		update_stats(sl, true);
		return 0;
	}
	pt = malloc(n * sizeof(*pt));
	order = malloc(n * sizeof(*order));
	t = tour_create(n);
	if (!pt || !order || !t) {
		rc = -ENOMEM;
		goto out;
	}
	/* Points in cycle order, so that the cycle is the identity. */
	for (size_t k = 0; k < n; k++) {
		pt[k] = sl->seq_ix[k];
		order[k] = (uint32_t)k;
	}
	struct solve_ctx ctx = { .sl = sl, .pt = pt };
	knn_destroy(sl->index);
	sl->index = NULL;
	if (n > sl->p.matrix_max) {
		struct timespec i0, i1;
		clock_gettime(CLOCK_MONOTONIC, &i0);
		rc = tour_set_cost_fn(t, n, solve_cost, &ctx);
		if (rc == 0)
			rc = index_build(sl, t, pt, n);
		clock_gettime(CLOCK_MONOTONIC, &i1);
		log_debug("brain: index and neighbour lists of %zu tracks in "
			  "%.2f s", n, (double)(i1.tv_sec - i0.tv_sec) +
			  (double)(i1.tv_nsec - i0.tv_nsec) / 1e9);
	} else if ((matrix = malloc(n * n * sizeof(*matrix)))) {
		for (size_t i = 0; i < n && !cancelled(sl); i++) {
			matrix[i * n + i] = 0;
			for (size_t j = i + 1; j < n; j++) {
				float d = (float)sdist(sl, pt[i], pt[j]);
				matrix[i * n + j] = d;
				matrix[j * n + i] = d;
			}
		}
		rc = tour_set_matrix(t, matrix, n);
	} else {
		rc = -ENOMEM;
	}
	if (rc < 0)
		goto out;
	if (cancelled(sl)) {
		rc = -ECANCELED;
		goto out;
	}
	if (n <= SETLIST_EXACT_MAX) {
		rc = tour_solve_exact(t);
		ts.cost = tour_cost(t);
	} else {
		struct tour_options opt;
		tour_options_default(&opt);
		opt.seed = sl->p.seed;
		opt.time_budget_s = sl->p.time_budget_s;
		opt.max_kicks = sl->p.max_kicks ? sl->p.max_kicks
			: (uint64_t)n * SETLIST_KICKS_PER_TRACK;
		opt.warm_start = !sl->needs_solve;
		/* Past matrix_max the lists and the first local search take
		 * seconds: the kicks get the budget after them, but less of
		 * it past SETLIST_KICK_TRACKS, where they are too few a
		 * track to pay (doc/brain.md). */
		opt.budget_for_kicks = n > sl->p.matrix_max;
		if (opt.budget_for_kicks && n > SETLIST_KICK_TRACKS)
			opt.time_budget_s *= (double)SETLIST_KICK_TRACKS /
					     (double)n;
		if (opt.warm_start && (rc = tour_set_order(t, order, n)) < 0)
			goto out;
		rc = tour_solve(t, &opt, &ts);
		log_debug("brain: tour of %zu tracks: %.4f first, %.4f after "
			  "local search, %.4f after %llu kicks (%llu "
			  "improving) in %.2f s", n, ts.initial_cost,
			  ts.local_cost, ts.cost, (unsigned long long)ts.kicks,
			  (unsigned long long)ts.improvements, ts.seconds);
		/* Past matrix_max a second solve from the circle's order
		 * would start from a tour that local search must take
		 * apart with reversals of O(n) each: 100 s at 100 000
		 * tracks, for a cut or two in a cycle of 100 000 steps.
		 * There each cut above the count is repaired on its own,
		 * and the count is a target, not a guarantee
		 * (doc/brain.md). */
		if (rc == 0 && n <= sl->p.matrix_max)
			rc = solve_tempo(sl, t, pt, order, &opt, &ts);
		else if (rc == 0)
			rc = repair_cuts(sl, t, pt);
	}
	if (rc < 0)
		goto out;
	if (cancelled(sl)) {
		rc = -ECANCELED;
		goto out;
	}
	const uint32_t *o = tour_order(t);
	for (size_t k = 0; k < n; k++) {
		sl->seq_ix[k] = pt[o[k]];
		sl->seq[k] = sl->tracks[pt[o[k]]].id;
	}
	steps_rebuild(sl);
	sl->needs_solve = false;
	repair_artists(sl);
	sl->st.solves++;
	sl->st.kicks = ts.kicks;
	sl->st.solve_s = ts.seconds;
	update_stats(sl, true);
out:
	tour_destroy(t);
	free(matrix);
	free(order);
	free(pt);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The sequence.                                                       */

static int cmp_play_desc(const void *a, const void *b)
{
	const struct setlist_play *x = a, *y = b;
	if (x->when != y->when)
		return x->when < y->when ? 1 : -1;
	return 0;
}

/* The positions of the cycle: WHERE[ix] for every track IX in it. */
static void where_fill(struct setlist *sl)
{
	for (size_t k = 0; k < sl->n_seq; k++)
		sl->where[sl->seq_ix[k]] = (uint32_t)k;
}

/* The position of track IX in the cycle as where_fill() left it, or
 * SIZE_MAX. */
static size_t where_of(const struct setlist *sl, uint32_t ix)
{
	if (ix == NO_INDEX)
		return SIZE_MAX;
	size_t q = sl->where[ix];
	return q < sl->n_seq && sl->seq_ix[q] == ix ? q : SIZE_MAX;
}

/* Start times of the frame's positions from NOW into START, the frame
 * being position FIRST of the cycle and on (BACK: backwards), up to the
 * first position that starts at HORIZON or later, since the no-repeat
 * rule asks about none later: returns how many positions have their
 * time; every later one starts at HORIZON or later. O(positions
 * within the horizon), where the whole frame would cost a cache miss
 * into tracks[] a track. */
static size_t start_times(const struct setlist *sl, size_t first, bool back,
			  double now, double horizon, double *start)
{
	size_t n = sl->n_seq, q = 0;
	start[0] = now;
	while (q < n && start[q] < horizon) {
		size_t k = back ? (first + n - q % n) % n : (first + q) % n;
		start[q + 1] = start[q] + duration_of(sl, sl->seq_ix[k]);
		q++;
	}
	return q + 1;
}

/* Moves the elements of ARR (N of ES bytes) so that the one at FIRST
 * comes first, followed by the one after it (BACK: before it) and so
 * on round the cycle. TMP holds N elements. */
static void rotate_array(void *arr, void *tmp, size_t n, size_t es,
			 size_t first, bool back)
{
	unsigned char *a = arr, *b = tmp;
	if (!back) {
		memcpy(b, a + first * es, (n - first) * es);
		memcpy(b + (n - first) * es, a, first * es);
	} else {
		for (size_t k = 0; k < n; k++)
			memcpy(b + k * es, a + ((first + n - k) % n) * es, es);
	}
	memcpy(a, b, n * es);
}

/* The cycle from position FIRST on, forwards or (BACK) backwards: the
 * steps go with it (backwards, the step into a track is the one that
 * led out of it). */
static void rotate_cycle(struct setlist *sl, void *tmp, size_t first,
			 bool back)
{
	size_t n = sl->n_seq;
	size_t step_first = back ? (first + n - 1) % n : first;
	rotate_array(sl->seq, tmp, n, sizeof(*sl->seq), first, back);
	rotate_array(sl->seq_ix, tmp, n, sizeof(*sl->seq_ix), first, back);
	rotate_array(sl->seq_artist, tmp, n, sizeof(*sl->seq_artist), first,
		     back);
	rotate_array(sl->seq_step, tmp, n, sizeof(*sl->seq_step), step_first,
		     back);
	rotate_array(sl->seq_cut, tmp, n, sizeof(*sl->seq_cut), step_first,
		     back);
}

/* A fresh generation of sl_track.moved: every track unmarked. */
static uint32_t moved_next(struct setlist *sl)
{
	if (++sl->moved_gen == 0) {
		for (size_t i = 0; i < sl->n_tracks; i++)
			sl->tracks[i].moved = 0;
		sl->moved_gen = 1;
	}
	return sl->moved_gen;
}

/* DESIGN (cost): a change at 100 000 tracks is followed by this, so it
 * works on the cycle in place (rotated into the frame, then tracks
 * moved with seq_remove_at/seq_insert_at, which keep the steps), reads
 * tracks[] only for the positions within the no-repeat horizon and the
 * tracks it moves, and sums the figures from the steps. What is left
 * O(n) is sequential: the rotation, a pass to find each track's
 * position, the sums. */
int setlist_sequence(struct setlist *sl, const struct setlist_play *history,
		     size_t n_history, time_t now, int64_t *ids, size_t max,
		     size_t *n_out, int64_t *anchor_out)
{
	struct setlist_play *h = NULL;
	uint32_t *hist = NULL;
	void *tmp = NULL;
	size_t n = sl->n_seq, nh = 0;
	int rc = 0;

	*n_out = 0;
	if (anchor_out)
		*anchor_out = 0;
	if (n > max)
		return -E2BIG;
	if (n == 0)
		return 0;
	if ((rc = grow((void **)&sl->scratch, &sl->cap_scratch, 2 * n + 2,
		       sizeof(double))) < 0)
		return rc;
	where_reserve(sl);
	h = malloc((n_history ? n_history : 1) * sizeof(*h));
	hist = malloc((n_history ? n_history : 1) * sizeof(*hist));
	tmp = malloc(n * sizeof(uint64_t));
	if (!h || !hist || !tmp || sl->cap_where < sl->n_tracks) {
		rc = -ENOMEM;
		goto out;
	}
	if (n_history)
		memcpy(h, history, n_history * sizeof(*h));
	qsort(h, n_history, sizeof(*h), cmp_play_desc);

	/* The anchor: the most recent play, if it is in the cycle. */
	size_t a = SIZE_MAX;
	if (n_history > 0)
		for (size_t k = 0; k < n && a == SIZE_MAX; k++)
			if (sl->seq[k] == h[0].id)
				a = k;
	if (a == SIZE_MAX) {
		/* No anchor: from the lowest id, forwards. */
		size_t lo = 0;
		for (size_t k = 1; k < n; k++)
			if (sl->seq[k] < sl->seq[lo])
				lo = k;
		rotate_cycle(sl, tmp, lo, false);
		goto done;
	}
	/* The plays before the anchor (most recent first), as tracks. */
	for (size_t i = 1; i < n_history; i++) {
		uint32_t ix = find_track(sl, h[i].id);
		if (ix != NO_INDEX)
			hist[nh++] = ix;
		else
			break; /* the artist rule needs them in a row */
	}
	/* No play is due later than this. */
	double horizon = (double)now;
	for (size_t i = 1; i < n_history; i++)
		if ((double)h[i].when + sl->p.no_repeat_s > horizon)
			horizon = (double)h[i].when + sl->p.no_repeat_s;

	/* Direction: fewer tracks due again too early, then the play before
	 * the anchor as late as possible. Frame position q is cycle position
	 * a + 1 + q forwards, a - 1 - q backwards; the anchor is the last. */
	double *start = sl->scratch;
	size_t best_v = SIZE_MAX, best_pos = 0;
	bool backwards = false;
	where_fill(sl);
	for (int dir = 0; dir < 2; dir++) {
		size_t first = dir == 0 ? (a + 1) % n : (a + n - 1) % n;
		size_t n_start = start_times(sl, first, dir == 1, (double)now,
					     horizon, start);
		size_t v = 0, prev_pos = 0;
		for (size_t i = 1; i < n_history; i++) {
			size_t p = where_of(sl, find_track(sl, h[i].id));
			if (p == SIZE_MAX || p == a)
				continue;
			size_t q = dir == 0 ? (p + n - a - 1) % n
					    : (a + n - 1 - p) % n;
			if (i == 1)
				prev_pos = q;
			if (q < n_start &&
			    start[q] < (double)h[i].when + sl->p.no_repeat_s &&
			    sl->p.no_repeat_s > 0)
				v++;
		}
		if (v < best_v || (v == best_v && prev_pos > best_pos)) {
			best_v = v;
			best_pos = prev_pos;
			backwards = dir == 1;
		}
	}
	rotate_cycle(sl, tmp, backwards ? (a + n - 1) % n : (a + 1) % n,
		     backwards);

	/* Tracks due again within no_repeat_s of their last play (most
	 * recent play first: each counts once), and artists too close to
	 * the plays before the anchor: moved to their cheapest place that
	 * keeps both rules, as far as the library allows. */
	sl->st.repeat_conflicts = 0;
	uint32_t gen = moved_next(sl);
	bool where_fresh = false;
	for (size_t i = 1; i < n_history && sl->p.no_repeat_s > 0; i++) {
		uint32_t ix = find_track(sl, h[i].id);
		if (ix == NO_INDEX || sl->tracks[ix].moved == gen)
			continue;
		sl->tracks[ix].moved = gen; /* its latest play only */
		if (!where_fresh)
			where_fill(sl);
		where_fresh = true;
		size_t q = where_of(sl, ix);
		if (q == SIZE_MAX || q == n - 1)
			continue;
		size_t n_start = start_times(sl, 0, false, (double)now,
					     horizon, start);
		double due = (double)h[i].when + sl->p.no_repeat_s;
		if (q >= n_start || start[q] >= due)
			continue;
		seq_remove_at(sl, q);
		where_fresh = false;
		struct frame f = { .s = sl->seq_ix, .n = n - 1, .hist = hist,
				   .n_hist = nh };
		f.n_start = start_times(sl, 0, false, (double)now, horizon,
					start);
		double delta;
		/* Never after the anchor, which ends the frame. */
		size_t to = cheapest_place(sl, ix, &f, 0, n - 2, true, start,
					   due, &delta);
		if (to == SIZE_MAX)
			to = cheapest_place(sl, ix, &f, 0, n - 2, false, start,
					    due, &delta);
		if (to == SIZE_MAX) {
			to = q;
			sl->st.repeat_conflicts++;
		}
		seq_insert_at(sl, to, ix);
	}
	size_t sep = sl->p.artist_separation;
	gen = moved_next(sl);
	for (size_t q = 0; q < sep && q + 1 < n && nh > 0; q++) {
		uint32_t x = sl->seq_ix[q];
		bool conflict = false;
		if (sl->tracks[x].moved == gen)
			continue; /* moved once: no ping-pong */
		for (size_t j = 0; j < nh && q + 2 + j <= sep && !conflict; j++)
			conflict = same_artist(sl, x, hist[j]);
		if (!conflict)
			continue;
		seq_remove_at(sl, q);
		struct frame f = { .s = sl->seq_ix, .n = n - 1, .hist = hist,
				   .n_hist = nh };
		double delta;
		size_t to = cheapest_place(sl, x, &f, q + 1, n - 2, true, NULL,
					   0, &delta);
		if (to == SIZE_MAX)
			to = q; /* nowhere better */
		seq_insert_at(sl, to, x);
		sl->tracks[x].moved = gen;
		if (to != q)
			q--; /* another track is at q now */
	}
	if (anchor_out)
		*anchor_out = sl->seq[n - 1];
done:
	/* The frame is the cycle from now on. */
	memcpy(ids, sl->seq, n * sizeof(*ids));
	*n_out = n;
	sl->st.cost = seq_cost(sl);
	sl->st.artist_conflicts = count_artist_conflicts(sl);
	tempo_stats(sl);
out:
	free(tmp);
	free(hist);
	free(h);
	return rc;
}

int setlist_step_cost(const struct setlist *sl, int64_t a, int64_t b,
		      struct brain_cost *terms, double *cost)
{
	uint32_t i = find_track(sl, a), j = find_track(sl, b);
	if (i == NO_INDEX || j == NO_INDEX)
		return -ENOENT;
	*cost = brain_distance(&sl->tracks[i].bt, &sl->tracks[j].bt,
			       &sl->p.weights, terms);
	return 0;
}

int setlist_step_tempo(const struct setlist *sl, int64_t a, int64_t b,
		       bool *tempo_step, bool *cut)
{
	uint32_t i = find_track(sl, a), j = find_track(sl, b);
	if (i == NO_INDEX || j == NO_INDEX)
		return -ENOENT;
	*tempo_step = on_circle(&sl->tracks[i]) && on_circle(&sl->tracks[j]);
	*cut = tempo_cut(sl, i, j);
	return 0;
}

int setlist_track_info(const struct setlist *sl, int64_t id,
		       struct setlist_track_info *info)
{
	uint32_t i = find_track(sl, id);
	if (i == NO_INDEX)
		return -ENOENT;
	const struct sl_track *t = &sl->tracks[i];
	info->analysed = t->analysed;
	info->duration_s = t->duration_s;
	info->cull = t->cull;
	info->duplicate_of = t->duplicate_of;
	return 0;
}

int setlist_culled_ids(const struct setlist *sl, int64_t *ids, size_t max,
		       size_t *n)
{
	size_t k = 0;
	for (size_t i = 0; i < sl->n_tracks; i++) {
		if (sl->tracks[i].cull == SETLIST_KEPT)
			continue;
		if (k < max)
			ids[k] = sl->tracks[i].id;
		k++;
	}
	*n = k;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Candidates: tracks a feed lists that are not downloaded yet.        */

/* The distance candidate C adds between tracks A and B (indices into
 * tracks[]) of a frame of N tracks. Plain distances, without the tempo
 * cut penalty: the place predicted is where the track fits by what its
 * feed says (its BPM hint standing for the tempo its analysis will
 * find), not the jump that insert_cheapest() would park it in while it
 * has no tempo of its own. */
static double candidate_delta(const struct setlist *sl,
			      const struct brain_track *c, uint32_t a,
			      uint32_t b, size_t n)
{
	double da = brain_distance(&sl->tracks[a].bt, c, &sl->p.weights, NULL);
	if (n == 1)
		return 2 * da;
	double db = brain_distance(c, &sl->tracks[b].bt, &sl->p.weights, NULL);
	return da + db - dist(sl, a, b);
}

void setlist_candidate_init(struct setlist_candidate *c, uint64_t key,
			    const char *artist, const char *genre,
			    double bpm_hint)
{
	memset(c, 0, sizeof(*c));
	c->key = key;
	brain_track_init(&c->bt);
	(void)brain_normalise_artist(artist ? artist : "", c->bt.artist,
				     sizeof(c->bt.artist));
	snprintf(c->bt.genre, sizeof(c->bt.genre), "%s", genre ? genre : "");
	if (bpm_hint > 0 && isfinite(bpm_hint)) {
		c->bt.bpm = bpm_hint;
		/* Trusted: an untrusted grid costs every step of the
		 * track one BRAIN_UNMATCHED_COST, which would make the
		 * places between two tracks look dearer than one in a
		 * jump. The hint never reaches the cycle or the mixer. */
		c->bt.bpm_confidence = SETLIST_BPM_HINT_CONFIDENCE;
	}
}

int setlist_place_candidates(const struct setlist *sl, const int64_t *seq,
			     size_t n, const struct setlist_candidate *c,
			     size_t n_c, size_t *place)
{
	uint32_t *ix = malloc((n ? n : 1) * sizeof(*ix));
	size_t *pos = malloc((n ? n : 1) * sizeof(*pos));
	size_t m = 0;
	int rc = 0;

	if (!ix || !pos) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		uint32_t i = find_track(sl, seq[k]);
		if (i == NO_INDEX)
			continue;
		ix[m] = i;
		pos[m++] = k;
	}
	for (size_t j = 0; j < n_c; j++) {
		double best = INFINITY;
		size_t bq = 0;
		if (cancelled(sl)) {
			rc = -ECANCELED;
			break;
		}
		for (size_t q = 0; q < m; q++) {
			double d = candidate_delta(sl, &c[j].bt,
						   ix[(q + m - 1) % m], ix[q],
						   m);
			if (d < best) {
				best = d;
				bq = q;
			}
		}
		place[j] = m ? pos[bq] : 0;
	}
out:
	free(ix);
	free(pos);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The service.                                                        */

struct setlist_service {
	struct catalog *cat;
	setlist_publish_fn publish;
	void *ctx;
	struct setlist *sl;             /* the thread's */

	pthread_t thread;
	bool started;
	bool joined;
	atomic_bool stop;

	pthread_mutex_t lock;
	pthread_cond_t wake;            /* the thread waits on it */
	pthread_cond_t ready_cond;
	bool ready;
	bool full;                      /* re-read everything */
	int64_t changes[SETLIST_CHANGES_MAX];
	size_t n_changes;
	bool params_changed;
	struct setlist_params params;   /* the latest given */
	struct setlist_stats stats;     /* snapshot for get_stats */
	/* Candidates (setlist_service_set_candidates): the latest given,
	 * swapped with work by the thread; and their keys, soonest first,
	 * as the thread last ranked them. */
	struct setlist_candidate *cands;
	size_t n_cands, cap_cands;
	bool cands_changed;
	uint64_t *ranked;
	size_t n_ranked, cap_ranked;
	bool inited;                    /* lock and conds exist */

	/* The thread only. */
	struct setlist_play history[SETLIST_HISTORY_MAX]; /* oldest first */
	size_t n_history;
	int64_t *buf;                   /* the sequence last published */
	size_t cap_buf, n_buf;
	bool seq_changed;               /* published since the last ranking */
	struct setlist_candidate *work; /* the candidates being ranked */
	size_t n_work, cap_work;
	size_t *place;                  /* each one's place in buf */
	size_t *rank;                   /* scratch: indices into work */
	size_t *soon;                   /* scratch: tracks before each */
	size_t cap_place;               /* of place, rank and soon */
	bool warned_artists;
	bool warned_repeats;
	bool failure_logged;
};

static double service_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec service_deadline(double at_s)
{
	struct timespec ts;
	if (at_s < 0)
		at_s = 0;
	ts.tv_sec = (time_t)at_s;
	ts.tv_nsec = (long)((at_s - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static bool params_equal(const struct setlist_params *a,
			 const struct setlist_params *b)
{
	const struct brain_weights *x = &a->weights, *y = &b->weights;
	return x->tempo == y->tempo && x->key == y->key &&
	       x->energy == y->energy && x->timbre == y->timbre &&
	       x->loudness == y->loudness && x->genre == y->genre &&
	       x->same_artist == y->same_artist &&
	       x->max_stretch == y->max_stretch &&
	       x->stretch_shifts_pitch == y->stretch_shifts_pitch &&
	       x->timbre_scale == y->timbre_scale &&
	       a->min_duration_s == b->min_duration_s &&
	       a->max_duration_s == b->max_duration_s &&
	       a->no_repeat_s == b->no_repeat_s &&
	       a->artist_separation == b->artist_separation &&
	       a->time_budget_s == b->time_budget_s &&
	       a->max_kicks == b->max_kicks && a->seed == b->seed &&
	       a->matrix_max == b->matrix_max && a->settle_s == b->settle_s &&
	       a->settle_max_s == b->settle_max_s;
}

/* Follows what plays: the catalog's last play, when it is new. */
static void service_poll_history(struct setlist_service *s)
{
	int64_t id;
	time_t when;
	if (catalog_play_last(s->cat, &id, &when) < 0)
		return;
	if (s->n_history > 0 && s->history[s->n_history - 1].id == id &&
	    s->history[s->n_history - 1].when == when)
		return;
	/* Only what the no-repeat rule can still see, and the few plays
	 * the artist rule needs. */
	time_t horizon = when - (time_t)s->sl->p.no_repeat_s;
	size_t drop = 0;
	while (drop < s->n_history && s->n_history - drop > 64 &&
	       s->history[drop].when < horizon)
		drop++;
	if (s->n_history - drop >= SETLIST_HISTORY_MAX)
		drop = s->n_history - SETLIST_HISTORY_MAX + 1;
	memmove(s->history, s->history + drop,
		(s->n_history - drop) * sizeof(*s->history));
	s->n_history -= drop;
	s->history[s->n_history].id = id;
	s->history[s->n_history].when = when;
	s->n_history++;
}

static int service_publish(struct setlist_service *s)
{
	size_t n = 0;
	int64_t anchor = 0;
	int rc = grow((void **)&s->buf, &s->cap_buf, setlist_size(s->sl) + 1,
		      sizeof(*s->buf));
	if (rc < 0)
		return rc;
	rc = setlist_sequence(s->sl, s->history, s->n_history, time(NULL),
			      s->buf, s->cap_buf, &n, &anchor);
	if (rc < 0)
		return rc;
	s->publish(s->ctx, s->buf, n, anchor);
	s->n_buf = n;
	s->seq_changed = true;

	struct setlist_stats st;
	setlist_get_stats(s->sl, &st);
	if (st.artist_conflicts > 0 && !s->warned_artists) {
		log_warning("brain: the library cannot keep every artist %u "
			    "tracks apart (%zu places where one comes again "
			    "sooner; no move that would add a tempo cut is "
			    "made)", s->sl->p.artist_separation,
			    st.artist_conflicts);
		s->warned_artists = true;
	}
	if (st.repeat_conflicts > 0 && !s->warned_repeats) {
		log_warning("brain: the library is too small to keep every "
			    "track from coming again within %g hours (%zu "
			    "tracks come sooner)", s->sl->p.no_repeat_s / 3600,
			    st.repeat_conflicts);
		s->warned_repeats = true;
	}
	return 0;
}

static void service_store_stats(struct setlist_service *s)
{
	struct setlist_stats st;
	setlist_get_stats(s->sl, &st);
	pthread_mutex_lock(&s->lock);
	s->stats = st;
	pthread_mutex_unlock(&s->lock);
}

static void service_set_ready(struct setlist_service *s)
{
	pthread_mutex_lock(&s->lock);
	s->ready = true;
	pthread_mutex_unlock(&s->lock);
	pthread_cond_broadcast(&s->ready_cond);
}

static void service_failed(struct setlist_service *s, const char *what,
			   int rc)
{
	if (rc == -ECANCELED || s->failure_logged)
		return;
	log_error("brain: %s failed: %s (the play order stays as it is; "
		  "trying again)", what, strerror(-rc));
	s->failure_logged = true;
}

/* Reads everything, solves and publishes. */
static int service_rebuild(struct setlist_service *s)
{
	int rc = setlist_reload(s->sl, NULL);
	if (rc < 0) {
		service_failed(s, "reading the library", rc);
		return rc;
	}
	double t0 = service_now_s();
	if ((rc = setlist_solve(s->sl)) < 0) {
		service_failed(s, "solving the tour", rc);
		return rc;
	}
	struct setlist_stats st;
	setlist_get_stats(s->sl, &st);
	if (st.in_order >= 2)
		log_info("brain: play order of %zu tracks in %.2f s, %.3f per "
			 "step", st.in_order, service_now_s() - t0,
			 st.cost / (double)st.in_order);
	if ((rc = service_publish(s)) < 0)
		service_failed(s, "handing over the order", rc);
	return rc;
}

/* By how many tracks play before each (CTX), then by the feeds' order. */
static int cmp_soonest(const void *a, const void *b, void *ctx)
{
	const size_t *soon = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (soon[x] != soon[y])
		return soon[x] < soon[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Room for NEED candidates in place, rank and soon. */
static int grow_ranking(struct setlist_service *s, size_t need)
{
	size_t c1 = s->cap_place, c2 = c1, c3 = c1;
	if (grow((void **)&s->place, &c1, need, sizeof(*s->place)) < 0 ||
	    grow((void **)&s->rank, &c2, need, sizeof(*s->rank)) < 0 ||
	    grow((void **)&s->soon, &c3, need, sizeof(*s->soon)) < 0)
		return -ENOMEM;
	s->cap_place = c1;
	return 0;
}

/* Takes the latest candidates when there are new ones, places them in
 * the sequence last published (when either changed), and ranks them by
 * how many tracks will play before each, counted from the last play. */
static void service_rank(struct setlist_service *s)
{
	bool cands_new = false;

	pthread_mutex_lock(&s->lock);
	if (s->cands_changed) {
		struct setlist_candidate *c = s->work;
		size_t cap = s->cap_work;
		s->work = s->cands;
		s->n_work = s->n_cands;
		s->cap_work = s->cap_cands;
		s->cands = c;
		s->cap_cands = cap;
		s->n_cands = 0;
		s->cands_changed = false;
		cands_new = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (cands_new && grow_ranking(s, s->n_work + 1) < 0)
		s->n_work = 0;          /* no ranking: the feeds' own order */
	if ((cands_new || s->seq_changed) && s->n_work > 0 &&
	    setlist_place_candidates(s->sl, s->buf, s->n_buf, s->work,
				     s->n_work, s->place) < 0)
		return;
	s->seq_changed = false;
	if (s->n_work == 0) {
		pthread_mutex_lock(&s->lock);
		s->n_ranked = 0;
		pthread_mutex_unlock(&s->lock);
		return;
	}

	/* The next to play follows the last play in the sequence. */
	size_t start = 0, n = s->n_buf;
	if (s->n_history > 0 && n > 0) {
		int64_t last = s->history[s->n_history - 1].id;
		for (size_t k = 0; k < n; k++)
			if (s->buf[k] == last) {
				start = (k + 1) % n;
				break;
			}
	}
	for (size_t j = 0; j < s->n_work; j++) {
		s->rank[j] = j;
		s->soon[j] = n ? (s->place[j] + n - start) % n : 0;
	}
	qsort_r(s->rank, s->n_work, sizeof(*s->rank), cmp_soonest, s->soon);
	pthread_mutex_lock(&s->lock);
	if (grow((void **)&s->ranked, &s->cap_ranked, s->n_work + 1,
		 sizeof(*s->ranked)) == 0) {
		for (size_t j = 0; j < s->n_work; j++)
			s->ranked[j] = s->work[s->rank[j]].key;
		s->n_ranked = s->n_work;
	} else {
		s->n_ranked = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *service_main(void *arg)
{
	struct setlist_service *s = arg;
	int64_t ids[SETLIST_CHANGES_MAX];
	bool rebuild = true, retry = false, dirty = false, failed = false;
	double first_change = 0, last_change = 0;

	service_poll_history(s);
	for (;;) {
		bool full, params_changed;
		size_t n;
		struct setlist_params params;

		pthread_mutex_lock(&s->lock);
		double wait_from = service_now_s();
		/* A rebuild waits only after a failure (then SETLIST_POLL_S
		 * before trying again). */
		while ((!rebuild || failed) && !atomic_load(&s->stop) &&
		       !s->full && s->n_changes == 0 && !s->params_changed &&
		       !s->cands_changed) {
			double now = service_now_s();
			double until = wait_from + SETLIST_POLL_S;
			if (dirty) {
				double settle = last_change + s->sl->p.settle_s;
				double at_most = first_change +
						 s->sl->p.settle_max_s;
				if (settle > at_most)
					settle = at_most;
				if (settle < until)
					until = settle;
			}
			if (now >= until)
				break;
			struct timespec ts = service_deadline(until);
			pthread_cond_timedwait(&s->wake, &s->lock, &ts);
		}
		full = s->full || retry;
		n = s->n_changes;
		memcpy(ids, s->changes, n * sizeof(*ids));
		params_changed = s->params_changed;
		params = s->params;
		s->full = false;
		s->n_changes = 0;
		s->params_changed = false;
		pthread_mutex_unlock(&s->lock);
		if (atomic_load(&s->stop))
			break;

		service_poll_history(s);
		if (params_changed) {
			setlist_set_params(s->sl, &params);
			rebuild = true;
		}
		int rc = 0;
		bool changed = false;
		if (rebuild) {
			rc = service_rebuild(s);
			if (!s->ready)
				service_set_ready(s);
			rebuild = rc < 0 && rc != -ECANCELED;
			failed = rebuild;
			retry = false;
			dirty = false;
		} else if (full || n > 0) {
			rc = full ? setlist_reload(s->sl, &changed)
				  : setlist_update(s->sl, ids, n, &changed);
			retry = rc < 0;
			if (rc < 0) {
				service_failed(s, "reading the library", rc);
			} else if (changed) {
				double now = service_now_s();
				if (!dirty)
					first_change = now;
				last_change = now;
				dirty = true;
				if ((rc = service_publish(s)) < 0)
					service_failed(s, "handing over the "
						       "order", rc);
			}
		}
		double now = service_now_s();
		if (!rebuild && rc == 0 &&
		    (setlist_needs_solve(s->sl) ||
		     (dirty && (now - last_change >= s->sl->p.settle_s ||
				now - first_change >= s->sl->p.settle_max_s)))) {
			double t0 = now;
			rc = setlist_solve(s->sl);
			if (rc == 0) {
				log_debug("brain: the library settled: solved "
					  "again in %.2f s",
					  service_now_s() - t0);
				rc = service_publish(s);
			}
			if (rc < 0)
				service_failed(s, "solving the tour", rc);
			else
				dirty = false;
		}
		if (rc == 0 && !rebuild && !retry)
			s->failure_logged = false;
		service_rank(s);
		service_store_stats(s);
	}
	if (!s->ready)
		service_set_ready(s);
	return NULL;
}

struct setlist_service *setlist_service_create(struct catalog *cat,
					       const struct setlist_params *p,
					       setlist_publish_fn publish,
					       void *ctx)
{
	struct setlist_service *s = NULL;
	pthread_condattr_t ca;
	int err = 0;

	if (!cat || !publish || (p && setlist_params_check(p) < 0)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->cat = cat;
	s->publish = publish;
	s->ctx = ctx;
	atomic_init(&s->stop, false);
	s->sl = setlist_create(cat, p);
	if (!s->sl) {
		err = errno;
		goto out;
	}
	s->sl->cancel = &s->stop;
	s->params = s->sl->p;
	if ((err = pthread_condattr_init(&ca)) != 0)
		goto out;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if ((err = pthread_mutex_init(&s->lock, NULL)) != 0) {
		pthread_condattr_destroy(&ca);
		goto out;
	}
	if ((err = pthread_cond_init(&s->wake, &ca)) != 0) {
		pthread_mutex_destroy(&s->lock);
		pthread_condattr_destroy(&ca);
		goto out;
	}
	if ((err = pthread_cond_init(&s->ready_cond, &ca)) != 0) {
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		pthread_condattr_destroy(&ca);
		goto out;
	}
	pthread_condattr_destroy(&ca);
	s->inited = true;
out:
	if (err != 0) {
		setlist_destroy(s->sl);
		free(s);
		errno = err;
		return NULL;
	}
	return s;
}

int setlist_service_start(struct setlist_service *s)
{
	if (s->started)
		return -EALREADY;
	int rc = pthread_create(&s->thread, NULL, service_main, s);
	if (rc != 0)
		return -rc;
	s->started = true;
	return 0;
}

int setlist_service_wait_ready(struct setlist_service *s, double timeout_s)
{
	struct timespec ts = service_deadline(service_now_s() + timeout_s);
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	while (!s->ready && rc == 0)
		rc = pthread_cond_timedwait(&s->ready_cond, &s->lock, &ts);
	bool ready = s->ready;
	pthread_mutex_unlock(&s->lock);
	return ready ? 0 : -ETIMEDOUT;
}

static void service_signal(struct setlist_service *s)
{
	pthread_cond_signal(&s->wake);
}

void setlist_service_library_changed(struct setlist_service *s)
{
	pthread_mutex_lock(&s->lock);
	s->full = true;
	pthread_mutex_unlock(&s->lock);
	service_signal(s);
}

void setlist_service_track_changed(struct setlist_service *s, int64_t id)
{
	pthread_mutex_lock(&s->lock);
	if (s->n_changes < SETLIST_CHANGES_MAX)
		s->changes[s->n_changes++] = id;
	else
		s->full = true;
	pthread_mutex_unlock(&s->lock);
	service_signal(s);
}

int setlist_service_set_params(struct setlist_service *s,
			       const struct setlist_params *p)
{
	if (setlist_params_check(p) < 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	bool differ = !params_equal(&s->params, p);
	if (differ) {
		s->params = *p;
		s->params_changed = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (differ)
		service_signal(s);
	return 0;
}

void setlist_service_get_stats(struct setlist_service *s,
			       struct setlist_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}

void setlist_service_stop(struct setlist_service *s)
{
	if (!s || !s->started || s->joined)
		return;
	atomic_store(&s->stop, true);
	pthread_mutex_lock(&s->lock);
	pthread_mutex_unlock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_join(s->thread, NULL);
	s->joined = true;
}

void setlist_service_destroy(struct setlist_service *s)
{
	if (!s)
		return;
	setlist_service_stop(s);
	if (s->inited) {
		pthread_cond_destroy(&s->ready_cond);
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
	}
	free(s->buf);
	free(s->cands);
	free(s->ranked);
	free(s->work);
	free(s->place);
	free(s->rank);
	free(s->soon);
	setlist_destroy(s->sl);
	free(s);
}

int setlist_service_set_candidates(struct setlist_service *s,
				   const struct setlist_candidate *c,
				   size_t n)
{
	int rc = 0;

	if (n > SETLIST_CANDIDATES_MAX)
		return -E2BIG;
	pthread_mutex_lock(&s->lock);
	rc = grow((void **)&s->cands, &s->cap_cands, n + 1, sizeof(*c));
	if (rc == 0) {
		if (n > 0)
			memcpy(s->cands, c, n * sizeof(*c));
		s->n_cands = n;
		s->cands_changed = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		service_signal(s);
	return rc;
}

int setlist_service_candidate_order(struct setlist_service *s,
				    uint64_t *keys, size_t max, size_t *n)
{
	pthread_mutex_lock(&s->lock);
	*n = s->n_ranked < max ? s->n_ranked : max;
	if (*n > 0)
		memcpy(keys, s->ranked, *n * sizeof(*keys));
	pthread_mutex_unlock(&s->lock);
	return 0;
}
