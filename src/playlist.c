/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * playlist — the shuffle bag. See playlist.h.
 *
 * State: the set of playable ids (sorted, so membership is a binary search)
 * and the current round: order[pos..len) are the ids still to play. A new
 * round is a Fisher–Yates shuffle of the set. A refresh keeps the remaining
 * ids in their order, drops those that left the set, and interleaves the new
 * ones at uniformly random positions (a random merge, linear time, so a
 * first refresh of a large library costs no more than a shuffle). The one
 * rule about repeats — never the same id twice in a row when there are two
 * or more — is enforced where an id is handed out, so it holds whatever
 * sequence of refreshes came before.
 *
 * All arrays are allocated by playlist_create (max_tracks each); nothing is
 * allocated later.
 */
#include "autoconfig.h"

#include "playlist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Any odd constant would do; this one is the golden ratio's fraction. */
#define PLAYLIST_SEED_DEFAULT 0x9e3779b97f4a7c15ULL

struct playlist {
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
	if (!pl->set || !pl->order || !pl->spare_set || !pl->spare_order) {
		playlist_destroy(pl);
		errno = ENOMEM;
		return NULL;
	}
	return pl;
}

void playlist_destroy(struct playlist *pl)
{
	if (!pl)
		return;
	free(pl->spare_order);
	free(pl->spare_set);
	free(pl->order);
	free(pl->set);
	free(pl);
}

int playlist_refresh(struct playlist *pl, const int64_t *ids, size_t n)
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
	return 0;
}

/* Starts a round: every id once, in a fresh order. */
static void playlist_new_round(struct playlist *pl)
{
	memcpy(pl->order, pl->set, pl->n * sizeof(*pl->order));
	playlist_shuffle(pl, pl->order, pl->n);
	pl->pos = 0;
	pl->len = pl->n;
}

int playlist_next(struct playlist *pl, int64_t *id)
{
	if (pl->n == 0)
		return -ENOENT;
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
	pl->last = *id;
	pl->has_last = true;
	return 0;
}

size_t playlist_size(const struct playlist *pl)
{
	return pl->n;
}

int playlist_peek(const struct playlist *pl, int64_t *ids, size_t max,
		  size_t *n)
{
	size_t k = 0;
	for (size_t i = pl->pos; i < pl->len && k < max; i++) {
		/* The previous id at the head is moved away by
		 * playlist_next(); where to is random, so it is left out. */
		if (i == pl->pos && pl->n > 1 && pl->has_last &&
		    pl->order[i] == pl->last)
			continue;
		ids[k++] = pl->order[i];
	}
	*n = k;
	return 0;
}
