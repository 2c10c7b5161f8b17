/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tempo — which tempi the mixer can beatmatch, and how few tempo cuts an
 * endless order of a library must make. One rule for the transition
 * planner (transition.c), the brain's distance (brain.c), the play order
 * (setlist.c) and `foreverfm plan`, so that what the brain avoids, what
 * plan counts and what the mixer does are the same pairs.
 *
 * DESIGN
 * The pair rule. B is matched at its own tempo, at double or at half
 * time (ratio 1, 2 or 1/2 of B's beats per A beat), whichever leaves the
 * smallest |ln speed|, speed = bpm_b / (ratio bpm_a). Within
 * ln(1 + max_stretch) the stretched deck plays B at A's tempo (DIRECT);
 * within twice that the tempo bridge lets each deck ride half the way,
 * to the meeting tempo sqrt(T0 T1) (BRIDGED: no deck beyond max_stretch,
 * transition.h); beyond, the mixer cannot beatmatch: the transition is a
 * cut (BEYOND). A pair exactly at a limit (as a test or a configuration
 * writes it) counts as within: TEMPO_TOLERANCE in ln units. The rule is
 * symmetric to the bit: it works on ln b - ln a, whose sign is all that
 * swapping the tracks changes, with the candidates in a fixed order.
 *
 * The tempo circle. Double and half time make a tempo equivalent to its
 * octaves, so put each tempo at x = log2(bpm) mod 1 on a circle of one
 * octave; the bridge limit is L = 2 log2(1 + max_stretch) octaves (0.222
 * for 8%). While the tempi span at most 1.5 octaves (the analysis's
 * default tempo range, 70..180 BPM within 2%, spans 1.42), the distance
 * the pair rule measures (the smallest |log2 speed| over the three
 * ratios) is exactly the circular distance of the two points, so a pair
 * is bridgeable iff its points are within L on the circle. Beyond 1.5
 * octaves two tempi the circle puts close may be two octaves apart,
 * which the mixer does not match (it tries x1, x2 and x1/2 only): the
 * count below is then what the order built here reaches, no longer a
 * proven minimum.
 *
 * Sort the points round the circle. A gap is the arc between two
 * neighbours on it; it is wide when its two end points are not
 * bridgeable (then the gap itself is longer than L: the circular distance
 * of its ends is at most its length). Let k be the number of wide gaps.
 * The fewest unbridgeable steps of a cycle through all the points is:
 *
 *   k = 0: 0. Walking round the circle in order, every step is a narrow
 *          gap.
 *   k >= 2: k. The wide gaps cut the circle into k clusters (runs of
 *          points joined by narrow gaps). Two points of different
 *          clusters are not bridgeable: both arcs between them hold a
 *          wide gap, so each is longer than L. A cycle through all points
 *          enters every cluster at least once from another cluster (there
 *          are k >= 2 and it visits all), each entry is an unbridgeable
 *          step and entries into different clusters are different steps:
 *          at least k. Walking round the circle in order makes exactly k
 *          (each wide gap once), so k is the minimum.
 *   k = 1: 0 or 1. The one wide gap leaves one cluster on an arc
 *          p1 <= p2 <= ... <= pm that does not wrap (pairs across the wide
 *          gap are further apart than it), so bridgeable means within L
 *          along the line. Walking it up and jumping back makes 1. It
 *          makes 0 iff m >= 3 and every p(i+1) - p(i-1) <= L (each pair
 *          two apart is bridgeable): then the zigzag p1 p3 p5 ... pm ...
 *          p4 p2 (up through every other point, down through the rest)
 *          uses only such pairs and neighbours. If some p(i+1) - p(i-1) >
 *          L, every step from a point below p(i) to one above it is
 *          unbridgeable; a cycle with only bridgeable steps would have to
 *          enter and leave both {p1 .. p(i-1)} and {p(i+1) .. pm} through
 *          p(i), four steps at a point that has two: so at least 1.
 *          (m = 2 cannot give k = 1: both gaps join the same pair.)
 *
 * A cycle of two tracks has two steps (there and back), as tour_cost()
 * counts them, so two unbridgeable tempi make 2, in line with k = 2.
 *
 * Tracks off the circle. A track without a tempo the mixer can use (no
 * beat, or a grid it does not trust: bpm <= 0 here) is not on the
 * circle: its transitions crossfade, or cut for the grid's sake,
 * whatever the tempo, so a step is a tempo step only between two tracks
 * on it. Such a track between two clusters takes the place of a jump.
 * With u of them the fewest is max(0, m - u), m the count above: take
 * them out of any cycle and the cycle of the rest has at least m
 * unbridgeable steps (k >= 2: its cluster changes; k = 1: m <= 1 anyway);
 * each is a step of the whole cycle unless a track off the circle stood
 * between, and different steps had different tracks between. Putting
 * one into each jump of the order above reaches it.
 *
 * Thread rules: pure functions; any thread.
 */
#ifndef FOREVERFM_TEMPO_H
#define FOREVERFM_TEMPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ln units: a pair this close to a limit counts as within it. */
#define TEMPO_TOLERANCE 1e-12

enum tempo_reach {
	TEMPO_DIRECT = 0, /* one deck stretched within max_stretch */
	TEMPO_BRIDGED,    /* a tempo bridge: each deck half the way */
	TEMPO_BEYOND,     /* not beatmatched: a cut */
};

struct tempo_match {
	double ratio;        /* B beats per A beat: 1, 2 or 0.5 */
	double log_speed;    /* ln(bpm_b / (ratio bpm_a)); negated when the
			      * tracks are swapped */
	enum tempo_reach reach;
};

/* How the mixer matches tempo BPM_B to BPM_A (see DESIGN). Returns 0, or
 * -EINVAL when a tempo is not > 0 and finite, max_stretch is not in
 * [0, 1) or M is NULL. */
int tempo_match(double bpm_a, double bpm_b, double max_stretch,
		struct tempo_match *m);

/* True when both tempi are > 0 and the mixer can beatmatch them, directly
 * or over a tempo bridge. False for an invalid max_stretch. */
bool tempo_bridgeable(double bpm_a, double bpm_b, double max_stretch);

/* The bridge limit on the circle: 2 log2(1 + max_stretch) octaves. */
double tempo_bridge_limit_octaves(double max_stretch);

/* What the circle says of a library. */
struct tempo_circle {
	size_t tracks;      /* on the circle (bpm > 0) */
	size_t wide_gaps;   /* k of DESIGN */
	size_t unavoidable; /* the fewest unbridgeable steps of any cycle,
			     * tracks off the circle standing in jumps */
};

/* The circle of BPM[0 .. N-1] (entries <= 0 or not finite are off it).
 * Returns 0, -EINVAL (BPM NULL with N > 0, max_stretch not in [0, 1), C
 * NULL) or -ENOMEM. */
int tempo_circle_count(const double *bpm, size_t n, double max_stretch,
		       struct tempo_circle *c);

/* A cycle that reaches the count: ORDER[0 .. N-1] receives the indices
 * 0 .. N-1 of BPM, the tracks on the circle in the order of DESIGN (round
 * the circle, or the zigzag), with the tracks off it one in each jump and
 * the rest at the end. Its unbridgeable
 * steps (tempo_cycle_unbridgeable) are at most C.unavoidable of
 * tempo_circle_count. C may be NULL. Same returns. */
int tempo_circle_order(const double *bpm, size_t n, double max_stretch,
		       uint32_t *order, struct tempo_circle *c);

/* The unbridgeable steps of the cycle BPM[0] -> BPM[1] -> ... ->
 * BPM[N-1] -> BPM[0]: steps between two tempi > 0 that the mixer cannot
 * beatmatch. A cycle of 2 has two steps, of 1 none. */
size_t tempo_cycle_unbridgeable(const double *bpm, size_t n,
				double max_stretch);

#endif
