/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * playlist — the play order: a cyclic order given by the brain, or a
 * shuffle bag over the playable tracks while there is none.
 *
 * The mixer calls playlist_next() and nothing else decides what plays; the
 * set of playable ids comes from the catalog (playlist_refresh), the order
 * from the brain (playlist_set_order, setlist.h).
 *
 * Order mode. Given a cyclic order, the playlist hands out its ids one
 * after the other and starts again at the first after the last: the tour
 * repeats. Only ids that are also in the playable set are handed out (a
 * track that turned bad is skipped; a playable track the order leaves out,
 * culled by the brain, is not played). A new order never changes the track
 * just handed out nor the one that comes next: the playlist continues after
 * the last id it handed out (found in the new order), and the id that
 * playlist_peek() showed first before the change comes next if the new
 * order still holds it. Before any id was handed out, it continues after
 * the start_after_id of playlist_set_order() (after a restart: the last
 * track played), whatever the shuffle had drawn. When none of the order's ids is playable, or the order is
 * empty, the shuffle below takes over.
 *
 * Shuffle mode. Every playable track is played once per round, in a fresh
 * random order each round; a round never starts with the track that ended
 * the previous one, so no track is heard twice in a row unless it is the
 * only one. When the library changes (playlist_refresh), tracks that
 * vanished are dropped from the current round and new ones are placed at
 * random positions in what is left of it, so a rescan never restarts the
 * round.
 *
 * The random generator is a seeded xorshift, so tests are deterministic.
 * Capacity is bounded by the constructor argument; more tracks than that are
 * an error (-E2BIG) rather than a silent truncation. Nothing is allocated
 * after playlist_create().
 * Thread rules: every function takes the playlist's mutex, so any thread
 * may call any function (the mixer thread calls playlist_next, the brain's
 * thread playlist_set_order); the calls are short (O(n log n) at worst).
 */
#ifndef FOREVERFM_PLAYLIST_H
#define FOREVERFM_PLAYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct playlist;

struct playlist *playlist_create(size_t max_tracks, uint64_t seed);
void playlist_destroy(struct playlist *pl);

/* Replaces the set of playable ids (copied). Returns 0 or -E2BIG. */
int playlist_refresh(struct playlist *pl, const int64_t *ids, size_t n);

/* The next track id, or -ENOENT when the playlist is empty. */
int playlist_next(struct playlist *pl, int64_t *id);

/* How many ids playlist_next() chooses from: in order mode the playable
 * ids of the order, else every playable id. */
size_t playlist_size(const struct playlist *pl);

/* Follow the cyclic order IDS[0 .. N-1] (copied; distinct ids) from now on,
 * as described above; N = 0 returns to the shuffle. START_AFTER_ID: where
 * to continue while the playlist has not handed out any id yet, or when
 * the last id it handed out is not in IDS (0, or an id not in IDS, = from
 * IDS[0]). Returns 0, -E2BIG (N beyond the capacity) or -EINVAL (NULL ids
 * with N > 0, an id given twice); the previous order is kept on error. */
int playlist_set_order(struct playlist *pl, const int64_t *ids, size_t n,
		       int64_t start_after_id);

/* Copies up to MAX of the ids playlist_next() will hand out next, in that
 * order, without consuming them; *n receives how many were copied. Only the
 * rest of the current round is known (the next round is shuffled when it
 * starts), so near a round's end fewer than MAX come back, and a refresh
 * or the no-repeat rule may still change the order. In order mode: the
 * next ids of the order, at most one cycle. For look-ahead work such as
 * analysing the upcoming tracks first. Returns 0. */
int playlist_peek(const struct playlist *pl, int64_t *ids, size_t max,
		  size_t *n);

#endif
