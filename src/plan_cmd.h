/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan_cmd — the `plan` command: scan the library paths of CFG into its
 * catalog, build the play order the station would play (setlist.h: culled,
 * solved, continuing after the last track played in that catalog), and
 * print it with the cost of every step and its breakdown by term.
 *
 * It analyses nothing: tracks without an analysis in the catalog's cache
 * are placed by their tags only, and a hint on stderr says how many there
 * are and to run `foreverfm analyze` first. Only tracks under the library
 * paths are planned (the catalog may hold others).
 *
 * Text (default): a header line, then one line per track in play order:
 * position, BPM, Camelot key, energy, the cost of the step to the next
 * track and its terms (tempo, key, energy, timbre, loudness, genre,
 * artist; "-" where a term dropped out), and "Artist - Title". With json:
 * a JSON array in play order, one object per track with the keys position,
 * id, path, artist, title, duration, analysed, bpm, camelot, key, energy,
 * loudness_lufs, cost_to_next, terms (an object: tempo, key, energy,
 * timbre, loudness, genre, same_artist; null where a term dropped out)
 * and stretch_to_next; analysis fields are null without an analysis. The
 * last element's cost_to_next is the step back to the first: it is a
 * cycle. Non-UTF-8 bytes in strings become U+FFFD.
 *
 * SEED: with HAVE_SEED the solve is deterministic (an iteration cap
 * instead of the time budget of [brain] time_budget_seconds), so the same
 * library and seed print the same plan. Returns 0 or a negative errno
 * (catalog, scan, output; logged).
 */
#ifndef FOREVERFM_PLAN_CMD_H
#define FOREVERFM_PLAN_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* The iteration cap of a --seed plan for N tracks. */
uint64_t plan_cmd_kicks(size_t n);

int plan_cmd_run(const struct config *cfg, bool json, bool have_seed,
		 uint64_t seed, FILE *out);

#endif
