/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tour — the cheapest cycle through n points: a symmetric travelling
 * salesman solver for the play order, plus the tools to judge it (an exact
 * solver for small n and the Held-Karp lower bound).
 *
 * DESIGN
 * Points are 0 .. n-1; the cost of going from i to j comes from a dense
 * float matrix (borrowed) or from a callback. Prefer the matrix while it
 * fits: with brain_distance() as the callback the solver made 10-15 times
 * fewer kicks in the same time than on a matrix of the same costs, which
 * takes n^2 / 2 calls (0.2 s for 2000 tracks) and 4 n^2 bytes to fill
 * (doc/brain.md). Costs must be finite and deterministic, and are taken
 * as symmetric: the search only ever reads cost(i, j) with i < j (so an
 * asymmetric source cannot make it loop; the bound reads whole matrix
 * rows). They need not obey the triangle inequality. The tour is a cycle: after the last point comes
 * the first again. The solver:
 *
 *  1. neighbour lists: the K cheapest partners of every point (all pairs
 *     are evaluated once, n (n - 1) / 2 cost calls), or the K cheapest
 *     among candidates a spatial index proposed (tour_set_candidates);
 *  2. a nearest-neighbour tour, a greedy one from candidate lists (or
 *     the current order, with warm_start);
 *     up to 4 points, all (at most three) tours are simply compared;
 *  3. local search to a local optimum of 2-opt, Or-opt (moving a run of
 *     1..3 consecutive points elsewhere, either way round) and, with
 *     three_opt, sequential 3-opt (Lin-Kernighan to depth three) over
 *     the neighbour lists, driven by a queue of points whose
 *     surroundings changed ("don't-look bits");
 *  4. iterated local search: a random double-bridge kick inside a window of
 *     the tour (three adjacent runs of 1..100 points B C D become D C B),
 *     local search from the eight points it touched, and the result is
 *     kept if it costs no more than before, otherwise undone from a
 *     journal of the reversals made. While kicking, moves reach at most
 *     1000 positions from their point (past a few thousand points a far
 *     one reverses tens of thousands). This repeats until the iteration cap
 *     (max_kicks) or the time budget (CLOCK_MONOTONIC by default),
 *     whichever comes first.
 *
 * The tour is an array with a position index; every change is a reversal
 * of a run, made on the shorter side of the cycle, so O(n) at worst.
 * Deterministic: the same costs, options and seed give the same tour when
 * the iteration cap ends the search (max_kicks > 0, time_budget_s = 0); a
 * time budget makes the result depend on the machine's speed.
 *
 * With a callback, costs are memoised in a direct-mapped table of two
 * slots a point (at most 2^20 slots, 16 MB): the search asks for the
 * same pairs again and again.
 *
 * Memory: O(max_points * TOUR_NEIGHBOURS_MAX), fixed by tour_create();
 * the greedy tour 16 n k bytes while it is built (16 MB at 100 000
 * points), the kick journal grows past 8 (4 n + 256) bytes only when one
 * kick needs more; tour_solve_exact() allocates up to 4.5 MB while it
 * runs, tour_lower_bound() O(n). Nothing is O(n^2) but the time of the
 * all-pairs neighbour lists and of tour_lower_bound()'s iterations.
 *
 * Thread rules: one struct tour belongs to one thread at a time; the cost
 * callback is called from the thread calling into the tour.
 */
#ifndef FOREVERFM_TOUR_H
#define FOREVERFM_TOUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOUR_POINTS_MAX (1u << 20) /* largest max_points tour_create accepts */
#define TOUR_NEIGHBOURS_MAX 32
#define TOUR_EXACT_MAX 16          /* largest n for tour_solve_exact */

struct tour;

struct tour_options {
	uint64_t seed;          /* random kicks and the start point */
	unsigned neighbours;    /* K: 1 .. TOUR_NEIGHBOURS_MAX */
	uint64_t max_kicks;     /* iteration cap of step 4; 0 = none */
	double time_budget_s;   /* wall-clock cap of step 4; 0 = none */
	bool warm_start;        /* start from the current order if it holds every point */
	clockid_t budget_clock; /* measures time_budget_s: CLOCK_MONOTONIC, or
				 * CLOCK_THREAD_CPUTIME_ID to count only this
				 * thread's CPU time (benchmarks on a busy machine) */
	bool budget_for_kicks;  /* time_budget_s counts from the end of step 3,
				 * not from the start: the kicks get it whole
				 * however long the neighbour lists and the
				 * first local search took (100 000 points:
				 * several seconds) */
	bool three_opt;         /* step 3 makes sequential 3-opt moves too:
				 * slower a point, a better local optimum */
};

struct tour_stats {
	double initial_cost;    /* after step 2 */
	double local_cost;      /* after step 3 */
	double cost;            /* final */
	uint64_t kicks;         /* step 4 iterations made */
	uint64_t improvements;  /* kicks that lowered the cost */
	double seconds;         /* wall clock of the whole solve */
};

/* Defaults: seed 1, 10 neighbours, max_kicks 0, time budget 1 s of
 * CLOCK_MONOTONIC counted from the start of tour_solve(), no warm start,
 * budget_for_kicks false, three_opt true.
 * With both caps 0 step 4 is skipped. */
void tour_options_default(struct tour_options *opt);

/* A solver for up to MAX_POINTS points (1 .. TOUR_POINTS_MAX). Returns NULL
 * with errno EINVAL or ENOMEM. */
struct tour *tour_create(size_t max_points);

/* Accepts NULL. */
void tour_destroy(struct tour *t);

/* The cost source: an N x N row-major matrix, borrowed (it must stay valid
 * and unchanged until the next tour_set_* or tour_destroy), or a callback
 * with its context. Either replaces the previous source. The current order
 * is kept if every point in it is < N, otherwise emptied. Returns 0 or
 * -EINVAL (NULL source, N > max_points). */
int tour_set_matrix(struct tour *t, const float *matrix, size_t n);
int tour_set_cost_fn(struct tour *t, size_t n,
		     double (*cost)(size_t i, size_t j, void *ctx), void *ctx);

/* Neighbour lists from candidates instead of all pairs (the way past
 * the matrix limit: a spatial index proposes, knn.h, the cost decides).
 * CAND holds M candidate partners per point, CAND[i * M .. i * M + M - 1]
 * for point i (entries out of range or equal to i are skipped). Every
 * candidate pair is costed, n M cost calls, and offered to the lists of
 * both its points; each list keeps the K (1 .. TOUR_NEIGHBOURS_MAX)
 * cheapest. A later tour_solve() uses these lists whatever its
 * neighbours option says, and builds its first tour by greedy matching
 * over them (edges cheapest first) instead of nearest neighbour, whose
 * fallback scans are O(n) each; nothing in the solve then costs n^2. The
 * lists last until the cost source is set again. Returns 0 or -EINVAL
 * (no source, bad arguments, a cost not finite). */
int tour_set_candidates(struct tour *t, const uint32_t *cand, size_t m,
			unsigned k);

/* The neighbour list of POINT as the last tour_solve() or
 * tour_set_candidates() left it: a borrowed array of *K points, cheapest
 * first, valid until the source changes; NULL (and *K 0) when none was
 * built. */
const uint32_t *tour_neighbours(const struct tour *t, uint32_t point,
				unsigned *k);

/* Orders all N points of the cost source as described above. OPT NULL =
 * defaults; STATS may be NULL. Returns 0, -EINVAL (no cost source, bad
 * options, a cost that is NaN or infinite; the order is then unchanged)
 * or -ENOMEM. */
int tour_solve(struct tour *t, const struct tour_options *opt,
	       struct tour_stats *stats);

/* The optimal tour by Held-Karp dynamic programming, O(2^n n^2), for
 * n <= TOUR_EXACT_MAX. Returns 0, -EINVAL (no source, a cost not
 * finite), -E2BIG (n too large) or -ENOMEM. */
int tour_solve_exact(struct tour *t);

/* A repair of one costly edge that the neighbour lists cannot reach:
 * the best 2-opt move that takes out the edge from POINT to the point
 * after or before it, over every other point as its new partner (4 n
 * cost calls), made if it lowers the cost, then the local search of
 * step 3 from the points it touched. *GAIN (may be NULL) receives how
 * much the tour cost fell. For an edge whose cost outweighs the rest
 * (the setlist's tempo cuts) after tour_solve(). Returns 1 when a move
 * was made, 0 when none improves, -EINVAL (no source, the order not
 * all points of it, POINT not in it). */
int tour_repair_edge(struct tour *t, uint32_t point, double *gain);

/* The Held-Karp lower bound on the optimal tour cost of all points of the
 * source: the best 1-tree bound found by subgradient optimisation
 * (Polyak steps towards UPPER_BOUND, the cost of some tour, e.g. from
 * tour_solve; <= 0 = build a nearest-neighbour tour for it) in at most
 * MAX_ITERATIONS O(n^2) iterations. Any value it returns is a valid lower
 * bound; more iterations make it tighter. Returns 0, -EINVAL or -ENOMEM. */
int tour_lower_bound(struct tour *t, unsigned max_iterations,
		     double upper_bound, double *bound);

/* Replaces the order with ORDER[0 .. N-1] (copied): distinct points of the
 * source. Returns 0 or -EINVAL. */
int tour_set_order(struct tour *t, const uint32_t *order, size_t n);

/* The order: a borrowed array of tour_size() points, valid until the next
 * call that changes the tour. */
size_t tour_size(const struct tour *t);
const uint32_t *tour_order(const struct tour *t);

/* The cost of the cycle in the current order (0 for fewer than 2 points;
 * for 2 points, both ways: 2 cost(a, b)). */
double tour_cost(const struct tour *t);

/* Inserts POINT (of the source, not in the tour) where it adds the least
 * cost, keeping the order of all others; *POSITION (may be NULL) receives
 * its index in tour_order(). Ties go to the earliest position. Returns 0,
 * -EINVAL (no source, POINT out of range) or -EEXIST. */
int tour_insert_cheapest(struct tour *t, uint32_t point, size_t *position);

/* Removes POINT from the order, keeping the others in order. Returns 0 or
 * -ENOENT. */
int tour_remove(struct tour *t, uint32_t point);

#endif
