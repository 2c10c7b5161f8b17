/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * playlist — the play order: a shuffle bag over the playable tracks.
 *
 * Every playable track is played once per round, in a fresh random order each
 * round; a round never starts with the track that ended the previous one, so
 * no track is heard twice in a row unless it is the only one. When the
 * library changes (playlist_refresh), tracks that vanished are dropped from
 * the current round and new ones are placed at random positions in what is
 * left of it, so a rescan never restarts the round.
 *
 * This is the seam where the brain (the tour) will plug in; the mixer only
 * calls playlist_next().
 *
 * The random generator is a seeded xorshift, so tests are deterministic.
 * Capacity is bounded by the constructor argument; more tracks than that are
 * an error (-E2BIG) rather than a silent truncation.
 * Thread rules: one thread.
 */
#ifndef FOREVERFM_PLAYLIST_H
#define FOREVERFM_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

struct playlist;

struct playlist *playlist_create(size_t max_tracks, uint64_t seed);
void playlist_destroy(struct playlist *pl);

/* Replaces the set of playable ids (copied). Returns 0 or -E2BIG. */
int playlist_refresh(struct playlist *pl, const int64_t *ids, size_t n);

/* The next track id, or -ENOENT when the playlist is empty. */
int playlist_next(struct playlist *pl, int64_t *id);

size_t playlist_size(const struct playlist *pl);

/* Copies up to MAX of the ids playlist_next() will hand out next, in that
 * order, without consuming them; *n receives how many were copied. Only the
 * rest of the current round is known (the next round is shuffled when it
 * starts), so near a round's end fewer than MAX come back, and a refresh
 * or the no-repeat rule may still change the order. For look-ahead work
 * such as analysing the upcoming tracks first. Returns 0. */
int playlist_peek(const struct playlist *pl, int64_t *ids, size_t max,
		  size_t *n);

#endif
