/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * playlist — the play order. See playlist.h.
 *
 * Shuffle state: the set of playable ids (sorted, so membership is a binary search)
 * and the current round: order[pos..len) are the ids still to play. A new
 * round is a Fisher–Yates shuffle of the set. A refresh keeps the remaining
 * ids in their order, drops those that left the set, and interleaves the new
 * ones at uniformly random positions (a random merge, linear time, so a
 * first refresh of a large library costs no more than a shuffle). The one
 * rule about repeats — never the same id twice in a row when there are two
 * or more — is enforced where an id is handed out, so it holds whatever
 * sequence of refreshes came before.
 *
 * Order state: the cyclic order, an index of it sorted by id (membership
 * and position by binary search), the cursor (the position of the last id
 * handed out from the order), an optional pinned id that comes next
 * whatever the order says (the "next track stays fixed" rule of
 * playlist_set_order), and n_live, the number of the order's ids that are
 * in the playable set, recounted whenever either changes. The shuffle state
 * is kept up to date in order mode too, so the shuffle can take over at
 * any moment.
 *
 * All arrays are allocated by playlist_create (max_tracks each); nothing is
 * allocated later.
 */
#include "autoconfig.h"

#include "playlist.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Any odd constant would do; this one is the golden ratio's fraction. */
#define PLAYLIST_SEED_DEFAULT 0x9e3779b97f4a7c15ULL

/* An id of the order and its position in it. */
struct playlist_pos {
	int64_t id;
	size_t pos;
};

#define PLAYLIST_NO_CURSOR SIZE_MAX

struct playlist {
	pthread_mutex_t lock;
	size_t max;
	uint64_t rng;

	int64_t *set;     /* sorted, distinct: the playable ids */
	size_t n;
	int64_t *order;   /* the current round; order[pos..len) still to play */
	size_t pos;
	size_t len;
	int64_t last;     /* the id handed out last */
	bool has_last;

	int64_t *spare_set;   /* refresh scratch, swapped with set */
	int64_t *spare_order; /* refresh scratch, swapped with order */

	/* Order mode: active while n_ord > 0 and n_live > 0. */
	int64_t *ord;                  /* the cycle */
	size_t n_ord;
	struct playlist_pos *ord_index; /* sorted by id */
	size_t cursor;                 /* position of the last id handed out
					* from the order, or PLAYLIST_NO_CURSOR */
	int64_t pinned;                /* comes next, if has_pinned */
	bool has_pinned;
	size_t n_live;                 /* ids of ord that are in set */
	bool lock_failed;              /* create: the mutex was not made */
};

/* xorshift64* (Vigna): tiny, fast, good enough for a shuffle. */
static uint64_t playlist_rand(struct playlist *pl)
{
	uint64_t x = pl->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	pl->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform-enough integer in [0, k), k > 0 (bias < k / 2^64). */
static size_t playlist_below(struct playlist *pl, size_t k)
{
	return (size_t)(playlist_rand(pl) % k);
}

static void playlist_shuffle(struct playlist *pl, int64_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = playlist_below(pl, i);
		int64_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static int playlist_cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static bool playlist_contains(const int64_t *set, size_t n, int64_t id)
{
	return bsearch(&id, set, n, sizeof(*set), playlist_cmp_id) != NULL;
}

static int playlist_cmp_pos(const void *a, const void *b)
{
	int64_t x = ((const struct playlist_pos *)a)->id;
	int64_t y = ((const struct playlist_pos *)b)->id;
	return (x > y) - (x < y);
}

/* The position of ID in the order, or PLAYLIST_NO_CURSOR. */
static size_t playlist_ord_pos(const struct playlist *pl, int64_t id)
{
	struct playlist_pos key = { .id = id, .pos = 0 };
	const struct playlist_pos *p = bsearch(&key, pl->ord_index, pl->n_ord,
					       sizeof(key), playlist_cmp_pos);
	return p ? p->pos : PLAYLIST_NO_CURSOR;
}

static bool playlist_live(const struct playlist *pl, int64_t id)
{
	return playlist_contains(pl->set, pl->n, id);
}

static void playlist_count_live(struct playlist *pl)
{
	pl->n_live = 0;
	for (size_t i = 0; i < pl->n_ord; i++)
		pl->n_live += playlist_live(pl, pl->ord[i]);
}

static bool playlist_ordered(const struct playlist *pl)
{
	return pl->n_ord > 0 && pl->n_live > 0;
}

static void playlist_lock(const struct playlist *pl)
{
	/* The mutex is not part of the value: locking is no mutation. */
	pthread_mutex_lock((pthread_mutex_t *)&pl->lock);
}

static void playlist_unlock(const struct playlist *pl)
{
	pthread_mutex_unlock((pthread_mutex_t *)&pl->lock);
}

struct playlist *playlist_create(size_t max_tracks, uint64_t seed)
{
	struct playlist *pl;

	if (max_tracks == 0 || max_tracks > SIZE_MAX / sizeof(int64_t) / 4) {
		errno = EINVAL;
		return NULL;
	}
	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		errno = ENOMEM;
		return NULL;
	}
	pl->max = max_tracks;
	pl->rng = seed != 0 ? seed : PLAYLIST_SEED_DEFAULT;
	pl->set = calloc(max_tracks, sizeof(int64_t));
	pl->order = calloc(max_tracks, sizeof(int64_t));
	pl->spare_set = calloc(max_tracks, sizeof(int64_t));
	pl->spare_order = calloc(max_tracks, sizeof(int64_t));
	pl->ord = calloc(max_tracks, sizeof(int64_t));
	pl->ord_index = calloc(max_tracks, sizeof(struct playlist_pos));
	pl->cursor = PLAYLIST_NO_CURSOR;
	if (!pl->set || !pl->order || !pl->spare_set || !pl->spare_order ||
	    !pl->ord || !pl->ord_index) {
		pl->lock_failed = true; /* not initialised yet */
		playlist_destroy(pl);
		errno = ENOMEM;
		return NULL;
	}
	int err = pthread_mutex_init(&pl->lock, NULL);
	if (err != 0) {
		pl->lock_failed = true;
		playlist_destroy(pl);
		errno = err;
		return NULL;
	}
	return pl;
}

void playlist_destroy(struct playlist *pl)
{
	if (!pl)
		return;
	if (!pl->lock_failed)
		pthread_mutex_destroy(&pl->lock);
	free(pl->ord_index);
	free(pl->ord);
	free(pl->spare_order);
	free(pl->spare_set);
	free(pl->order);
	free(pl->set);
	free(pl);
}

static int playlist_refresh_locked(struct playlist *pl, const int64_t *ids,
				   size_t n)
{
	if (n > pl->max)
		return -E2BIG;
	if (n > 0 && !ids)
		return -EINVAL;

	/* The new set, sorted and without duplicates. */
	int64_t *nset = pl->spare_set;
	size_t nn = 0;
	if (n > 0)
		memcpy(nset, ids, n * sizeof(*nset));
	qsort(nset, n, sizeof(*nset), playlist_cmp_id);
	for (size_t i = 0; i < n; i++)
		if (nn == 0 || nset[nn - 1] != nset[i])
			nset[nn++] = nset[i];

	/* What is left of the round, minus the ids that vanished... */
	size_t kept = 0;
	for (size_t i = pl->pos; i < pl->len; i++)
		if (playlist_contains(nset, nn, pl->order[i]))
			pl->order[kept++] = pl->order[i];

	/* ...and the ids that are new, in random order... */
	int64_t *added = pl->order + kept; /* room: kept + added <= nn <= max */
	size_t n_added = 0;
	for (size_t i = 0; i < nn; i++)
		if (!playlist_contains(pl->set, pl->n, nset[i]))
			added[n_added++] = nset[i];
	playlist_shuffle(pl, added, n_added);

	/* ...merged at uniformly random positions: each slot takes from a
	 * list with probability proportional to what that list has left. */
	int64_t *merged = pl->spare_order;
	size_t i = 0, j = 0, k = 0;
	while (i < kept || j < n_added) {
		size_t left_kept = kept - i, left_added = n_added - j;
		if (playlist_below(pl, left_kept + left_added) < left_added)
			merged[k++] = added[j++];
		else
			merged[k++] = pl->order[i++];
	}

	pl->spare_order = pl->order;
	pl->order = merged;
	pl->pos = 0;
	pl->len = k;
	pl->spare_set = pl->set;
	pl->set = nset;
	pl->n = nn;
	playlist_count_live(pl);
	return 0;
}

int playlist_refresh(struct playlist *pl, const int64_t *ids, size_t n)
{
	playlist_lock(pl);
	int rc = playlist_refresh_locked(pl, ids, n);
	playlist_unlock(pl);
	return rc;
}

/* Starts a round: every id once, in a fresh order. */
static void playlist_new_round(struct playlist *pl)
{
	memcpy(pl->order, pl->set, pl->n * sizeof(*pl->order));
	playlist_shuffle(pl, pl->order, pl->n);
	pl->pos = 0;
	pl->len = pl->n;
}

static void playlist_shuffle_next(struct playlist *pl, int64_t *id)
{
	for (;;) {
		if (pl->pos >= pl->len)
			playlist_new_round(pl);
		if (pl->n > 1 && pl->has_last && pl->order[pl->pos] == pl->last) {
			size_t rest = pl->len - pl->pos;
			if (rest <= 1) {
				/* Only the previous id is left in this round
				 * (it was re-added by a refresh): it waits for
				 * the next one. */
				pl->pos = pl->len;
				continue;
			}
			size_t other = pl->pos + 1 + playlist_below(pl, rest - 1);
			pl->order[pl->pos] = pl->order[other];
			pl->order[other] = pl->last;
		}
		break;
	}
	*id = pl->order[pl->pos++];
}

/* May ID be handed out next in order mode? Playable, and not the previous
 * id unless it is the only one. */
static bool playlist_eligible(const struct playlist *pl, int64_t id)
{
	return playlist_live(pl, id) &&
	       (pl->n_live == 1 || !pl->has_last || id != pl->last);
}

/* The position of the order's next id after position FROM
 * (PLAYLIST_NO_CURSOR: from the start); n_live > 0 guarantees one. */
static size_t playlist_ord_next(const struct playlist *pl, size_t from)
{
	for (size_t k = 0; k < pl->n_ord; k++) {
		size_t i = from == PLAYLIST_NO_CURSOR ? k
			   : (from + 1 + k) % pl->n_ord;
		if (playlist_eligible(pl, pl->ord[i]))
			return i;
	}
	return PLAYLIST_NO_CURSOR;
}

int playlist_next(struct playlist *pl, int64_t *id)
{
	int rc = 0;

	playlist_lock(pl);
	if (pl->n == 0) {
		rc = -ENOENT;
		goto out;
	}
	if (!playlist_ordered(pl)) {
		pl->has_pinned = false;
		playlist_shuffle_next(pl, id);
	} else if (pl->has_pinned && playlist_eligible(pl, pl->pinned)) {
		pl->has_pinned = false;
		*id = pl->pinned;
		pl->cursor = playlist_ord_pos(pl, *id);
	} else {
		pl->has_pinned = false;
		pl->cursor = playlist_ord_next(pl, pl->cursor);
		*id = pl->ord[pl->cursor];
	}
	pl->last = *id;
	pl->has_last = true;
out:
	playlist_unlock(pl);
	return rc;
}

/* What playlist_next() would hand out now, if that is known without
 * drawing a random number; false otherwise. */
static bool playlist_next_known(const struct playlist *pl, int64_t *id)
{
	if (pl->n == 0)
		return false;
	if (playlist_ordered(pl)) {
		if (pl->has_pinned && playlist_eligible(pl, pl->pinned)) {
			*id = pl->pinned;
			return true;
		}
		*id = pl->ord[playlist_ord_next(pl, pl->cursor)];
		return true;
	}
	/* The shuffle's head, unless it is the previous id, which
	 * playlist_next() swaps with a random later one. */
	if (pl->pos >= pl->len ||
	    (pl->n > 1 && pl->has_last && pl->order[pl->pos] == pl->last))
		return false;
	*id = pl->order[pl->pos];
	return true;
}

int playlist_set_order(struct playlist *pl, const int64_t *ids, size_t n,
		       int64_t start_after_id)
{
	int rc = 0;

	if (n > 0 && !ids)
		return -EINVAL;
	playlist_lock(pl);
	if (n > pl->max) {
		rc = -E2BIG;
		goto out;
	}
	/* Distinct ids, checked on a scratch copy before anything changes. */
	if (n > 0)
		memcpy(pl->spare_set, ids, n * sizeof(*ids));
	qsort(pl->spare_set, n, sizeof(*pl->spare_set), playlist_cmp_id);
	for (size_t i = 1; i < n; i++)
		if (pl->spare_set[i] == pl->spare_set[i - 1]) {
			rc = -EINVAL;
			goto out;
		}

	int64_t next = 0;
	bool had_next = playlist_next_known(pl, &next);

	if (n > 0)
		memcpy(pl->ord, ids, n * sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		pl->ord_index[i].id = ids[i];
		pl->ord_index[i].pos = i;
	}
	qsort(pl->ord_index, n, sizeof(*pl->ord_index), playlist_cmp_pos);
	pl->n_ord = n;
	playlist_count_live(pl);
	pl->has_pinned = false;
	pl->cursor = PLAYLIST_NO_CURSOR;
	if (n == 0)
		goto out;

	/* Continue after the track just handed out, else after START. */
	if (pl->has_last)
		pl->cursor = playlist_ord_pos(pl, pl->last);
	if (pl->cursor == PLAYLIST_NO_CURSOR)
		pl->cursor = playlist_ord_pos(pl, start_after_id);
	/* The next track stays what it was, if the new order has it; before
	 * the first pick nobody has seen it, and START decides. */
	if (had_next && pl->has_last && playlist_ordered(pl) &&
	    playlist_ord_pos(pl, next) != PLAYLIST_NO_CURSOR &&
	    playlist_eligible(pl, next)) {
		pl->pinned = next;
		pl->has_pinned = true;
	}
out:
	playlist_unlock(pl);
	return rc;
}

size_t playlist_size(const struct playlist *pl)
{
	playlist_lock(pl);
	size_t n = playlist_ordered(pl) ? pl->n_live : pl->n;
	playlist_unlock(pl);
	return n;
}

int playlist_peek(const struct playlist *pl, int64_t *ids, size_t max,
		  size_t *n)
{
	size_t k = 0;

	playlist_lock(pl);
	if (playlist_ordered(pl)) {
		size_t from = pl->cursor;
		bool pinned = pl->has_pinned && playlist_eligible(pl, pl->pinned);
		if (pinned && k < max) {
			ids[k++] = pl->pinned;
			from = playlist_ord_pos(pl, pl->pinned);
		}
		/* One cycle at most: each playable id of the order once. */
		for (size_t j = 0; j < pl->n_ord && k < max && k < pl->n_live;
		     j++) {
			size_t i = from == PLAYLIST_NO_CURSOR ? j
				   : (from + 1 + j) % pl->n_ord;
			int64_t id = pl->ord[i];
			if (!playlist_live(pl, id) || (pinned && id == pl->pinned))
				continue;
			if (k == 0 && !playlist_eligible(pl, id))
				continue;
			ids[k++] = id;
		}
		goto out;
	}
	for (size_t i = pl->pos; i < pl->len && k < max; i++) {
		/* The previous id at the head is moved away by
		 * playlist_next(); where to is random, so it is left out. */
		if (i == pl->pos && pl->n > 1 && pl->has_last &&
		    pl->order[i] == pl->last)
			continue;
		ids[k++] = pl->order[i];
	}
out:
	playlist_unlock(pl);
	*n = k;
	return 0;
}
