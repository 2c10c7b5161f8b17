/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tour — symmetric TSP: neighbour lists, nearest neighbour, 2-opt + Or-opt
 * + sequential 3-opt with don't-look bits, iterated local search with double-bridge kicks;
 * Held-Karp DP for small n and the 1-tree lower bound. See tour.h.
 *
 * DESIGN
 * Representation: order[] (position -> point) and pos[] (point -> position).
 * Every change of the tour is a 2-opt move, i.e. the reversal of one run of
 * positions, and reverse_path() always reverses the shorter of the two runs
 * that give the same cycle (the tour is undirected, so which way round the
 * array reads does not matter). An Or-opt move is two or three such moves
 * and a double-bridge kick four, so one primitive does all the surgery,
 * and undoing a rejected kick is replaying the journal of reversed runs
 * backwards (each reversal is its own inverse).
 *
 * Search: a FIFO of "active" points (the don't-look bits are the points not
 * in it). For an active point a we try, in this order, the first improving
 * 2-opt move that gives a a cheaper neighbour c from its list, in both
 * directions round the tour, then the first improving Or-opt move that
 * carries the run of 1..3 points starting at a (either direction) next to a
 * neighbour c, inserted either way round. The usual neighbour-list pruning
 * applies: c is only tried while cost(a, c) is below the cost of the edge
 * it would replace (2-opt) or the gain of cutting the run out (Or-opt), and
 * the lists are sorted, so the scan stops at the first c that fails. Then
 * (three_opt) sequential 3-opt: try_3opt(). An applied move re-activates
 * the end points of every edge it touched.
 *
 * Why 3-opt: on a library of 100 000 albums (bench/library-scale.sh) the
 * kicks the budget allows past the first local search are a few thousand,
 * too few to matter, so the first local optimum is the tour; with 3-opt
 * it came out 0.3 % above a 60 s solve, against 2.1 % without. At
 * n = 1000 brain tracks from index lists (bench/tour_bench) 0.28 % above
 * Held-Karp against 0.51 %; on uniform points in the plane it ties (each
 * kick costs twice as much).
 *
 * Kicks are local: three consecutive runs B C D of 1..100 points each
 * become D C B (four edges change, no run is reversed). A global double
 * bridge would damage a good tour in four far-apart places; a local one
 * is repaired by a few moves, so many more kicks fit in the budget
 * (Johnson & McGeoch's segment double bridge). Measured on uniform random
 * instances (n = 400 .. 2000, equal CPU time; bench/tour.sh): runs of up
 * to 100 beat 30 and 50 by 0.1-0.3 points of excess over the Held-Karp
 * bound and tie with 150-200; the four-edge D C B beats swapping two runs
 * (C B, three edges) by about 0.2 points; cut points taken from neighbour
 * lists instead of consecutive runs were much worse (2.0% against 1.15%
 * above the bound at n = 1000), as local search mostly undid them.
 *
 * Costs are compared with a tolerance (1e-9 of the mean edge of the first
 * tour) so that rounding can never make a move and its inverse both look
 * improving, which would loop forever.
 */
#include "autoconfig.h"

#include "tour.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONE UINT32_MAX
#define KICK_WINDOW 100 /* longest run a kick moves */
#define OR_OPT_MAX 3    /* longest run an Or-opt move carries */
#define KICK_SPAN 1000  /* while kicking, the farthest a move reaches */

struct tour {
	size_t max_points;
	size_t n_src;           /* points the cost source knows */
	const float *matrix;
	double (*fn)(size_t i, size_t j, void *ctx);
	void *ctx;
	struct cost_memo *memo; /* recent callback costs; NULL = none */
	uint32_t memo_mask;     /* slots - 1 */

	uint32_t n;             /* points in the order */
	uint32_t *order;
	uint32_t *pos;          /* NONE for points not in the order */

	unsigned k;             /* neighbours per point in nb (0 = not built) */
	bool from_candidates;   /* nb came from tour_set_candidates() */
	uint32_t *nb;           /* max_points * TOUR_NEIGHBOURS_MAX */
	double *nb_cost;

	uint32_t *queue;        /* active points, circular */
	size_t q_head, q_len;
	uint8_t *queued;
	uint8_t *mark;          /* scratch flags */
	uint32_t *scratch;      /* scratch points */

	uint32_t *jour_start;   /* journal of reversed runs */
	uint32_t *jour_len;
	size_t jour_n, jour_cap;
	bool jour_on, jour_overflow;

	bool three_opt;         /* local search tries try_3opt() too */
	uint32_t span_max;      /* while kicking: farthest (in positions)
				 * a move may reach from its point; 0 = any */
	double cur;             /* cost of the order while solving */
	double eps;
	uint64_t rng;
};

/* A callback cost remembered: the pair I < J (I = NONE: empty). */
struct cost_memo {
	uint32_t i, j;
	double c;
};

#define MEMO_SLOTS_MAX (1u << 20) /* 16 MB */

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)((rng_next(s) >> 32) * (uint64_t)n >> 32);
}

static uint64_t rng_seed(uint64_t seed)
{
	/* splitmix64, so that nearby seeds give unrelated streams and 0 works */
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 0x9E3779B97F4A7C15ULL;
}

static double now_s(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Only cost(i, j) with i < j is ever asked for, so that a source that is
 * not quite symmetric (a rounding difference, a caller's bug) still looks
 * symmetric to the search: a move and its inverse always see the same
 * numbers, so no sequence of "improving" moves can go round in circles. */
static inline double cost(const struct tour *t, uint32_t i, uint32_t j)
{
	if (i > j) {
		uint32_t tmp = i;
		i = j;
		j = tmp;
	}
	if (t->matrix)
		return t->matrix[(size_t)i * t->n_src + j];
	if (!t->memo)
		return t->fn(i, j, t->ctx);
	/* The search asks for the same few pairs again and again (the
	 * tour's own edges above all): a direct-mapped memo answers them
	 * for a fraction of a brain_distance() call, with the same value. */
	struct cost_memo *m = &t->memo[((i * 0x9E3779B1u) ^ (j * 0x85EBCA77u)) &
				       t->memo_mask];
	if (m->i != i || m->j != j) {
		m->c = t->fn(i, j, t->ctx);
		m->i = i;
		m->j = j;
	}
	return m->c;
}

static inline uint32_t next_of(const struct tour *t, uint32_t a)
{
	uint32_t p = t->pos[a] + 1;
	return t->order[p == t->n ? 0 : p];
}

static inline uint32_t prev_of(const struct tour *t, uint32_t a)
{
	uint32_t p = t->pos[a];
	return t->order[p == 0 ? t->n - 1 : p - 1];
}

static inline uint32_t step_of(const struct tour *t, uint32_t a, bool back)
{
	return back ? prev_of(t, a) : next_of(t, a);
}

/* Whether C lies more than span_max positions from A either way round:
 * a move joining them would reverse a run about that long. */
static inline bool too_far(const struct tour *t, uint32_t a, uint32_t c)
{
	if (t->span_max == 0)
		return false;
	uint32_t pa = t->pos[a], pc = t->pos[c];
	uint32_t d = pa > pc ? pa - pc : pc - pa;
	return d > t->span_max && t->n - d > t->span_max;
}

/* ---- lifetime and cost source ----------------------------------------- */

void tour_options_default(struct tour_options *opt)
{
	opt->seed = 1;
	opt->neighbours = 10;
	opt->max_kicks = 0;
	opt->time_budget_s = 1.0;
	opt->warm_start = false;
	opt->budget_clock = CLOCK_MONOTONIC;
	opt->budget_for_kicks = false;
	opt->three_opt = true;
}

struct tour *tour_create(size_t max_points)
{
	if (max_points == 0 || max_points > TOUR_POINTS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct tour *t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	t->max_points = max_points;
	t->jour_cap = 4 * max_points + 256;
	t->order = calloc(max_points, sizeof(*t->order));
	t->pos = calloc(max_points, sizeof(*t->pos));
	t->nb = calloc(max_points * TOUR_NEIGHBOURS_MAX, sizeof(*t->nb));
	t->nb_cost = calloc(max_points * TOUR_NEIGHBOURS_MAX, sizeof(*t->nb_cost));
	t->queue = calloc(max_points, sizeof(*t->queue));
	t->queued = calloc(max_points, sizeof(*t->queued));
	t->mark = calloc(max_points, sizeof(*t->mark));
	t->scratch = calloc(max_points, sizeof(*t->scratch));
	t->jour_start = calloc(t->jour_cap, sizeof(*t->jour_start));
	t->jour_len = calloc(t->jour_cap, sizeof(*t->jour_len));
	if (!t->order || !t->pos || !t->nb || !t->nb_cost || !t->queue ||
	    !t->queued || !t->mark || !t->scratch ||
	    !t->jour_start || !t->jour_len)
		goto fail;
	for (size_t i = 0; i < max_points; i++)
		t->pos[i] = NONE;
	return t;
fail:
	tour_destroy(t);
	errno = ENOMEM;
	return NULL;
}

void tour_destroy(struct tour *t)
{
	if (!t)
		return;
	free(t->order);
	free(t->pos);
	free(t->nb);
	free(t->nb_cost);
	free(t->queue);
	free(t->queued);
	free(t->mark);
	free(t->scratch);
	free(t->jour_start);
	free(t->jour_len);
	free(t->memo);
	free(t);
}

/* Keeps the order if all its points exist in a source of N points. */
static void source_changed(struct tour *t, size_t n)
{
	bool keep = true;
	for (uint32_t i = 0; i < t->n && keep; i++)
		keep = t->order[i] < n;
	if (!keep) {
		for (uint32_t i = 0; i < t->n; i++)
			t->pos[t->order[i]] = NONE;
		t->n = 0;
	}
	t->n_src = n;
	t->k = 0;
	t->from_candidates = false;
}

int tour_set_matrix(struct tour *t, const float *matrix, size_t n)
{
	if (!t || !matrix || n > t->max_points)
		return -EINVAL;
	t->matrix = matrix;
	t->fn = NULL;
	t->ctx = NULL;
	source_changed(t, n);
	return 0;
}

int tour_set_cost_fn(struct tour *t, size_t n,
		     double (*fn)(size_t i, size_t j, void *ctx), void *ctx)
{
	if (!t || !fn || n > t->max_points)
		return -EINVAL;
	t->matrix = NULL;
	t->fn = fn;
	t->ctx = ctx;
	/* Two slots a point, a power of two: without them (out of memory)
	 * every cost is a call. */
	size_t slots = 1024;
	while (slots < 2 * n && slots < MEMO_SLOTS_MAX)
		slots *= 2;
	if (!t->memo || t->memo_mask + 1 != slots) {
		free(t->memo);
		t->memo = malloc(slots * sizeof(*t->memo));
	}
	if (t->memo) {
		t->memo_mask = (uint32_t)(slots - 1);
		for (size_t x = 0; x < slots; x++)
			t->memo[x].i = t->memo[x].j = NONE;
	}
	source_changed(t, n);
	return 0;
}

static bool has_source(const struct tour *t)
{
	return t && (t->matrix || t->fn);
}

/* ---- the order -------------------------------------------------------- */

size_t tour_size(const struct tour *t)
{
	return t ? t->n : 0;
}

const uint32_t *tour_order(const struct tour *t)
{
	return t ? t->order : NULL;
}

double tour_cost(const struct tour *t)
{
	if (!t || t->n < 2 || !has_source(t))
		return 0.0;
	double sum = 0.0;
	for (uint32_t i = 0; i + 1 < t->n; i++)
		sum += cost(t, t->order[i], t->order[i + 1]);
	return sum + cost(t, t->order[t->n - 1], t->order[0]);
}

static void order_install(struct tour *t, const uint32_t *order, uint32_t n)
{
	for (uint32_t i = 0; i < t->n; i++)
		t->pos[t->order[i]] = NONE;
	if (n > 0 && order != t->order)
		memmove(t->order, order, (size_t)n * sizeof(*order));
	t->n = n;
	for (uint32_t i = 0; i < n; i++)
		t->pos[t->order[i]] = i;
}

int tour_set_order(struct tour *t, const uint32_t *order, size_t n)
{
	if (!has_source(t) || (!order && n > 0) || n > t->n_src)
		return -EINVAL;
	memset(t->mark, 0, t->n_src);
	for (size_t i = 0; i < n; i++) {
		if (order[i] >= t->n_src || t->mark[order[i]])
			return -EINVAL;
		t->mark[order[i]] = 1;
	}
	order_install(t, order, (uint32_t)n);
	return 0;
}

int tour_insert_cheapest(struct tour *t, uint32_t point, size_t *position)
{
	if (!has_source(t) || point >= t->n_src)
		return -EINVAL;
	if (t->pos[point] != NONE)
		return -EEXIST;
	uint32_t at = t->n; /* insert before index `at` (n = append) */
	if (t->n >= 2) {
		double best = INFINITY;
		for (uint32_t i = 0; i < t->n; i++) {
			uint32_t u = t->order[i];
			uint32_t v = t->order[i + 1 == t->n ? 0 : i + 1];
			double add = cost(t, u, point) + cost(t, point, v) - cost(t, u, v);
			if (add < best) {
				best = add;
				at = i + 1;
			}
		}
	}
	memmove(t->order + at + 1, t->order + at,
		(size_t)(t->n - at) * sizeof(*t->order));
	t->order[at] = point;
	t->n++;
	for (uint32_t i = at; i < t->n; i++)
		t->pos[t->order[i]] = i;
	if (position)
		*position = at;
	return 0;
}

int tour_remove(struct tour *t, uint32_t point)
{
	if (!t || point >= t->max_points || t->pos[point] == NONE)
		return -ENOENT;
	uint32_t at = t->pos[point];
	memmove(t->order + at, t->order + at + 1,
		(size_t)(t->n - at - 1) * sizeof(*t->order));
	t->n--;
	t->pos[point] = NONE;
	for (uint32_t i = at; i < t->n; i++)
		t->pos[t->order[i]] = i;
	return 0;
}

/* ---- reversals: the one primitive ------------------------------------- */

static void reverse_positions(struct tour *t, uint32_t i, uint32_t len)
{
	uint32_t n = t->n;
	uint32_t j = i + len - 1;
	if (j >= n)
		j -= n;
	for (uint32_t s = len / 2; s > 0; s--) {
		uint32_t a = t->order[i], b = t->order[j];
		t->order[i] = b;
		t->pos[b] = i;
		t->order[j] = a;
		t->pos[a] = j;
		if (++i == n)
			i = 0;
		j = j == 0 ? n - 1 : j - 1;
	}
}

/* Doubles the journal; on failure it stays full and the kick being
 * journalled cannot be undone (ils() then keeps it). */
static void journal_grow(struct tour *t)
{
	size_t cap = 2 * t->jour_cap;
	uint32_t *s = realloc(t->jour_start, cap * sizeof(*s));
	if (!s)
		return;
	t->jour_start = s;
	uint32_t *l = realloc(t->jour_len, cap * sizeof(*l));
	if (!l)
		return; /* the larger start array is harmless */
	t->jour_len = l;
	t->jour_cap = cap;
}

/* Reverses the run that goes forward from FROM to TO, or the rest of the
 * cycle, whichever is shorter: the same cycle either way. */
static void reverse_path(struct tour *t, uint32_t from, uint32_t to)
{
	uint32_t n = t->n;
	uint32_t i = t->pos[from], j = t->pos[to];
	uint32_t len = (j >= i ? j - i : j + n - i) + 1;
	if (2 * len > n) {
		i = j + 1 == n ? 0 : j + 1;
		len = n - len;
	}
	if (len < 2)
		return;
	if (t->jour_on) {
		if (t->jour_n == t->jour_cap)
			journal_grow(t);
		if (t->jour_n < t->jour_cap) {
			t->jour_start[t->jour_n] = i;
			t->jour_len[t->jour_n] = len;
			t->jour_n++;
		} else {
			t->jour_overflow = true;
		}
	}
	reverse_positions(t, i, len);
}

/* Replaces edges (x1, x2) and (y1, y2), where x2 follows x1 and y2 follows
 * y1 in the same direction round the tour, with (x1, y1) and (x2, y2). */
static void two_opt_move(struct tour *t, uint32_t x1, uint32_t x2,
			 uint32_t y1, uint32_t y2)
{
	(void)y2;
	if (next_of(t, x1) == x2)
		reverse_path(t, x2, y1);
	else
		reverse_path(t, y1, x2);
}

/* Moves the run s .. e (p before s, q after e, in some direction) between
 * c and d, where d follows c in that same direction and neither lies in the
 * run: c e .. s d when REVERSED, else c s .. e d. */
static void move_segment(struct tour *t, uint32_t s, uint32_t e, uint32_t p,
			 uint32_t q, uint32_t c, uint32_t d, bool reversed)
{
	uint32_t tmp;
	if (d == p) {
		/* The first 2-opt move below would cut two adjacent edges;
		 * the same move read in the other direction does not. */
		tmp = s; s = e; e = tmp;
		tmp = p; p = q; q = tmp;
		tmp = c; c = d; d = tmp;
	}
	two_opt_move(t, p, s, c, d);     /* p c .. q e .. s d */
	if (c != q)
		two_opt_move(t, p, c, q, e); /* p q .. c e .. s d */
	if (!reversed && s != e)
		two_opt_move(t, c, e, s, d); /* c s .. e d */
}

/* ---- local search ----------------------------------------------------- */

static void push(struct tour *t, uint32_t a)
{
	if (t->queued[a])
		return;
	t->queued[a] = 1;
	size_t at = t->q_head + t->q_len;
	if (at >= t->max_points)
		at -= t->max_points;
	t->queue[at] = a;
	t->q_len++;
}

static uint32_t pop(struct tour *t)
{
	uint32_t a = t->queue[t->q_head];
	if (++t->q_head == t->max_points)
		t->q_head = 0;
	t->q_len--;
	t->queued[a] = 0;
	return a;
}

static bool try_2opt(struct tour *t, uint32_t a)
{
	const uint32_t *nb = t->nb + (size_t)a * TOUR_NEIGHBOURS_MAX;
	const double *nbc = t->nb_cost + (size_t)a * TOUR_NEIGHBOURS_MAX;
	for (int back = 0; back < 2; back++) {
		uint32_t b = step_of(t, a, back);
		double d_ab = cost(t, a, b);
		for (unsigned i = 0; i < t->k; i++) {
			uint32_t c = nb[i];
			double d_ac = nbc[i];
			if (d_ab - d_ac <= t->eps)
				break;
			uint32_t d = step_of(t, c, back);
			if (c == b || d == a || too_far(t, a, c))
				continue;
			double delta = d_ac + cost(t, b, d) - d_ab - cost(t, c, d);
			if (delta < -t->eps) {
				two_opt_move(t, a, b, c, d);
				t->cur += delta;
				push(t, a);
				push(t, b);
				push(t, c);
				push(t, d);
				return true;
			}
		}
	}
	return false;
}

static bool try_or_opt(struct tour *t, uint32_t a)
{
	const uint32_t *nb = t->nb + (size_t)a * TOUR_NEIGHBOURS_MAX;
	const double *nbc = t->nb_cost + (size_t)a * TOUR_NEIGHBOURS_MAX;
	uint32_t n = t->n;
	for (int back = 0; back < 2; back++) {
		uint32_t e = a;
		uint32_t p = step_of(t, a, !back);
		for (uint32_t len = 1; len <= OR_OPT_MAX && len + 3 <= n; len++) {
			if (len > 1)
				e = step_of(t, e, back);
			uint32_t q = step_of(t, e, back);
			double g = cost(t, p, a) + cost(t, e, q) - cost(t, p, q);
			if (g <= t->eps)
				continue;
			uint32_t sp = t->pos[a];
			for (unsigned i = 0; i < t->k; i++) {
				uint32_t c = nb[i];
				double d_ac = nbc[i];
				if (d_ac >= g - t->eps)
					break;
				if (too_far(t, a, c))
					continue;
				uint32_t off = back ? sp + n - t->pos[c] : t->pos[c] + n - sp;
				if (off % n < len)
					continue; /* c is in the run */
				for (int side = 0; side < 2; side++) {
					/* side 0: d after c (same direction as
					 * the run), 1: d before c */
					uint32_t d = step_of(t, c, side ? !back : back);
					off = back ? sp + n - t->pos[d] : t->pos[d] + n - sp;
					if (off % n < len)
						continue;
					double delta = d_ac + cost(t, e, d) - cost(t, c, d) - g;
					if (delta >= -t->eps)
						continue;
					if (side == 0)
						move_segment(t, a, e, p, q, c, d, false);
					else
						move_segment(t, a, e, p, q, d, c, true);
					t->cur += delta;
					push(t, a);
					push(t, e);
					push(t, p);
					push(t, q);
					push(t, c);
					push(t, d);
					return true;
				}
			}
		}
	}
	return false;
}

/* The distance from A to X going round the tour in direction BACK (0:
 * along the array): 0 for A itself, 1 for the point after it. */
static inline uint32_t offset_of(const struct tour *t, uint32_t a, uint32_t x,
				 bool back)
{
	uint32_t n = t->n, pa = t->pos[a], px = t->pos[x];
	uint32_t d = back ? pa + n - px : px + n - pa;
	return d >= n ? d - n : d;
}

/* Sequential 3-opt (Lin-Kernighan to depth three) from T1: remove
 * (t1, t2) with t2 after t1 in the direction tried, add (t2, t3) for a
 * neighbour t3 of t2, remove (t3, t4) with t4 either side of t3, add
 * (t4, t5) for a neighbour t5 of t4, remove (t5, t6) and close with
 * (t6, t1), where t6 is the side of t5 that makes a cycle. Each partial
 * gain must stay positive (the neighbour lists are sorted, so the scans
 * stop at the first that fails). The pure 2-opt closings are
 * try_2opt's; this finds what needs a third edge: two runs swapped
 * (t4 after t3, t6 after t5), two runs reversed in place (t4 after
 * t3, t6 before t5), and a 2-opt move followed by a second one from
 * its new end (t4 before t3). Applied as two or three 2-opt moves. */
static bool try_3opt(struct tour *t, uint32_t t1)
{
	if (t->n < 8)
		return false;
	for (int back = 0; back < 2; back++) {
		uint32_t t2 = step_of(t, t1, back);
		double d12 = cost(t, t1, t2);
		const uint32_t *nb2 = t->nb + (size_t)t2 * TOUR_NEIGHBOURS_MAX;
		const double *nbc2 = t->nb_cost + (size_t)t2 * TOUR_NEIGHBOURS_MAX;
		for (unsigned i = 0; i < t->k; i++) {
			uint32_t t3 = nb2[i];
			double g1 = d12 - nbc2[i];
			if (g1 <= t->eps)
				break;
			if (t3 == t1 || t3 == step_of(t, t2, back) ||
			    too_far(t, t1, t3))
				continue;
			uint32_t o3 = offset_of(t, t1, t3, back);
			for (int x4 = 0; x4 < 2; x4++) {
				/* x4 0: t4 after t3, the runs t2 .. t3 and
				 * t4 .. t1; 1: t4 before t3, t2 .. t4 and
				 * t3 .. t1. */
				uint32_t t4 = step_of(t, t3, x4 ? !back : back);
				if (t4 == t1 || t4 == t2)
					continue;
				double g2p = g1 + cost(t, t3, t4);
				const uint32_t *nb4 = t->nb + (size_t)t4 * TOUR_NEIGHBOURS_MAX;
				const double *nbc4 = t->nb_cost + (size_t)t4 * TOUR_NEIGHBOURS_MAX;
				for (unsigned j = 0; j < t->k; j++) {
					uint32_t t5 = nb4[j];
					double g2 = g2p - nbc4[j];
					if (g2 <= t->eps)
						break;
					if (t5 == t1 || t5 == t3 || too_far(t, t1, t5))
						continue;
					uint32_t o5 = offset_of(t, t1, t5, back);
					bool in_a = o5 >= 1 && o5 < o3;
					for (int x6 = 0; x6 < 2; x6++) {
						uint32_t t6;
						if (x4 == 0) {
							/* t5 and t6 in t2 .. t3 */
							if (!(o5 >= 1 && o5 <= o3))
								break;
							if (x6 == 0 && o5 == o3)
								continue;
							if (x6 == 1 && o5 == 1)
								continue;
							t6 = step_of(t, t5, x6 ? !back : back);
						} else {
							if (x6 == 1)
								break;
							t6 = in_a ? step_of(t, t5, back)
								  : step_of(t, t5, !back);
						}
						double gain = g2 + cost(t, t5, t6) -
							      cost(t, t6, t1);
						if (gain <= t->eps)
							continue;
						if (x4 == 1) {
							two_opt_move(t, t2, t1, t3, t4);
							two_opt_move(t, t1, t4, t6, t5);
						} else if (x6 == 1) {
							two_opt_move(t, t1, t2, t6, t5);
							two_opt_move(t, t2, t5, t3, t4);
						} else {
							two_opt_move(t, t1, t2, t5, t6);
							two_opt_move(t, t1, t5, t3, t4);
							two_opt_move(t, t1, t3, t6, t2);
						}
						t->cur -= gain;
						const uint32_t touched[6] = {
							t1, t2, t3, t4, t5, t6 };
						for (int z = 0; z < 6; z++)
							push(t, touched[z]);
						return true;
					}
				}
			}
		}
	}
	return false;
}

static void local_search(struct tour *t)
{
	while (t->q_len > 0) {
		uint32_t a = pop(t);
		if (!try_2opt(t, a) && !try_or_opt(t, a) && t->three_opt)
			try_3opt(t, a);
	}
}

/* ---- construction ----------------------------------------------------- */

/* Offers V at cost C to the neighbour list of U (LEN[u] entries so far,
 * at most K, sorted cheapest first). With DEDUP a V already listed is not
 * offered again (candidate pairs may come from both ends). */
static void nb_offer(struct tour *t, uint32_t *len, unsigned k, uint32_t u,
		     uint32_t v, double c, bool dedup)
{
	uint32_t *nb = t->nb + (size_t)u * TOUR_NEIGHBOURS_MAX;
	double *nbc = t->nb_cost + (size_t)u * TOUR_NEIGHBOURS_MAX;
	unsigned m = len[u];
	if (m == k && c >= nbc[k - 1])
		return;
	if (dedup)
		for (unsigned i = 0; i < m; i++)
			if (nb[i] == v)
				return;
	unsigned at = m < k ? m : k - 1;
	while (at > 0 && nbc[at - 1] > c) {
		nb[at] = nb[at - 1];
		nbc[at] = nbc[at - 1];
		at--;
	}
	nb[at] = v;
	nbc[at] = c;
	if (m < k)
		len[u] = m + 1;
}

/* Returns 0, or -EINVAL when a cost is not finite. */
static int neighbours_build(struct tour *t, unsigned k_want)
{
	uint32_t n = (uint32_t)t->n_src;
	unsigned k = k_want < n - 1 ? k_want : n - 1;
	uint32_t *len = t->scratch; /* list lengths so far */
	memset(len, 0, (size_t)n * sizeof(*len));
	/* Every pair once, offered to both lists: n (n - 1) / 2 cost calls. */
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = i + 1; j < n; j++) {
			double c = cost(t, i, j);
			if (!isfinite(c))
				return -EINVAL;
			nb_offer(t, len, k, i, j, c, false);
			nb_offer(t, len, k, j, i, c, false);
		}
	}
	t->k = k;
	t->from_candidates = false;
	return 0;
}

int tour_set_candidates(struct tour *t, const uint32_t *cand, size_t m,
			unsigned k_want)
{
	if (!has_source(t) || !cand || m == 0 || k_want == 0 ||
	    k_want > TOUR_NEIGHBOURS_MAX || t->n_src < 2)
		return -EINVAL;
	uint32_t n = (uint32_t)t->n_src;
	unsigned k = k_want < n - 1 ? k_want : n - 1;
	uint32_t *len = t->scratch;
	memset(len, 0, (size_t)n * sizeof(*len));
	for (uint32_t i = 0; i < n; i++) {
		for (size_t r = 0; r < m; r++) {
			uint32_t j = cand[(size_t)i * m + r];
			if (j >= n || j == i)
				continue;
			double c = cost(t, i, j);
			if (!isfinite(c)) {
				t->k = 0;
				return -EINVAL;
			}
			nb_offer(t, len, k, i, j, c, true);
			nb_offer(t, len, k, j, i, c, true);
		}
	}
	/* A point no candidate reached has a short list: fill it with the
	 * points next to it by number, so that every list is full (the
	 * search assumes K entries). Only a degenerate candidate set
	 * leaves one short. */
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t d = 1; len[i] < k && d < n; d++) {
			uint32_t j = (i + d) % n;
			nb_offer(t, len, k, i, j, cost(t, i, j), true);
		}
	t->k = k;
	t->from_candidates = true;
	return 0;
}

const uint32_t *tour_neighbours(const struct tour *t, uint32_t point,
				unsigned *k)
{
	*k = 0;
	if (!t || t->k == 0 || point >= t->n_src)
		return NULL;
	*k = t->k;
	return t->nb + (size_t)point * TOUR_NEIGHBOURS_MAX;
}

/* ---- greedy matching: the first tour from candidate lists ------------- */

struct edge {
	double c;
	uint32_t a, b;
};

static int cmp_edge(const void *x, const void *y)
{
	const struct edge *p = x, *q = y;
	if (p->c != q->c)
		return p->c < q->c ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return (p->b > q->b) - (p->b < q->b);
}

/* The point after CUR on its path, coming from PREV (NONE at an end):
 * ADJ holds two neighbours a point, NONE where it has fewer. */
static uint32_t path_next(const uint32_t *adj, uint32_t cur, uint32_t prev)
{
	return adj[2 * cur] != prev ? adj[2 * cur] : adj[2 * cur + 1];
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* The greedy tour: the edges of the neighbour lists, cheapest first,
 * each taken when both ends have fewer than two edges and it closes no
 * cycle (Christofides' "greedy", which Johnson and McGeoch found the
 * best start for 2-opt and Or-opt: about 15-20 % above optimal in the
 * plane against 25 % for nearest neighbour, and local rather than
 * random in its faults). The paths it leaves are joined end to end,
 * each to the nearest free end found in the last end's list or else
 * among a few of the remaining paths; local search mends those joins.
 * O(n k log(n k)) time and n k edges of memory; no full scans.
 * Returns 0 or -ENOMEM (the order is then unchanged). */
static int greedy_tour(struct tour *t)
{
	uint32_t n = (uint32_t)t->n_src;
	size_t ne = 0;
	struct edge *e = malloc((size_t)n * t->k * sizeof(*e));
	uint32_t *adj = malloc((size_t)n * 2 * sizeof(*adj));
	uint32_t *parent = malloc((size_t)n * sizeof(*parent));
	uint32_t *end_b = malloc((size_t)n * sizeof(*end_b));
	if (!e || !adj || !parent || !end_b) {
		free(e);
		free(adj);
		free(parent);
		free(end_b);
		return -ENOMEM;
	}
	/* Each listed pair once or twice; the second copy is refused by the
	 * degree or cycle test like any other. */
	for (uint32_t i = 0; i < n; i++)
		for (unsigned r = 0; r < t->k; r++) {
			size_t x = (size_t)i * TOUR_NEIGHBOURS_MAX + r;
			uint32_t j = t->nb[x];
			e[ne++] = (struct edge){ t->nb_cost[x], i < j ? i : j,
						 i < j ? j : i };
		}
	qsort(e, ne, sizeof(*e), cmp_edge);
	for (uint32_t i = 0; i < n; i++) {
		adj[2 * i] = adj[2 * i + 1] = NONE;
		parent[i] = i;
	}
	for (size_t x = 0; x < ne; x++) {
		uint32_t a = e[x].a, b = e[x].b;
		if (adj[2 * a + 1] != NONE || adj[2 * b + 1] != NONE)
			continue;
		uint32_t ra = uf_find(parent, a), rb = uf_find(parent, b);
		if (ra == rb)
			continue;
		parent[ra] = rb;
		adj[2 * a + (adj[2 * a] != NONE)] = b;
		adj[2 * b + (adj[2 * b] != NONE)] = a;
	}
	free(e);

	/* The paths, by their two free ends (a lone point is both). */
	uint32_t *end_a = t->queue;  /* idle while no search runs */
	uint32_t *path_of = parent;  /* free end -> its path */
	uint32_t n_paths = 0;
	memset(t->mark, 0, n);
	for (uint32_t i = 0; i < n; i++) {
		if (adj[2 * i + 1] != NONE || t->mark[i])
			continue;
		uint32_t prev = NONE, cur = i;
		for (;;) {
			uint32_t nx = path_next(adj, cur, prev);
			if (nx == NONE)
				break;
			prev = cur;
			cur = nx;
		}
		t->mark[i] = t->mark[cur] = 1; /* a free end */
		path_of[i] = path_of[cur] = n_paths;
		end_a[n_paths] = i;
		end_b[n_paths] = cur;
		n_paths++;
	}

	/* Join them: walk a path from one end, then on to the cheapest free
	 * end in the last point's list, else among up to 64 paths left. */
	uint64_t rng = t->rng;
	uint32_t at = 0, left = n_paths;
	uint32_t p = end_a[rng_below(&rng, n_paths)];
	for (;;) {
		uint32_t w = path_of[p];
		left--;
		end_a[w] = end_a[left];
		end_b[w] = end_b[left];
		path_of[end_a[w]] = path_of[end_b[w]] = w;
		uint32_t prev = NONE, cur = p;
		for (;;) {
			t->order[at] = cur;
			t->pos[cur] = at++;
			t->mark[cur] = 2; /* placed */
			uint32_t nx = path_next(adj, cur, prev);
			if (nx == NONE)
				break;
			prev = cur;
			cur = nx;
		}
		if (left == 0)
			break;
		uint32_t next = NONE;
		const uint32_t *nb = t->nb + (size_t)cur * TOUR_NEIGHBOURS_MAX;
		for (unsigned r = 0; r < t->k && next == NONE; r++)
			if (t->mark[nb[r]] == 1)
				next = nb[r];
		if (next == NONE) {
			double best = INFINITY;
			uint32_t from = rng_below(&rng, left);
			uint32_t look = left < 64 ? left : 64;
			for (uint32_t s = 0; s < look; s++) {
				uint32_t q = (from + s) % left;
				for (int z = 0; z < 2; z++) {
					uint32_t c = z ? end_b[q] : end_a[q];
					double cc = cost(t, cur, c);
					if (next == NONE || cc < best) {
						best = cc;
						next = c;
					}
				}
			}
		}
		p = next;
	}
	t->n = at;
	t->rng = rng;
	free(adj);
	free(parent);
	free(end_b);
	return 0;
}

/* Nearest neighbour from a random start; the rest list keeps the
 * unvisited points for the rare full scans when a whole neighbour list has
 * been visited. */
static void nearest_neighbour(struct tour *t, uint32_t start)
{
	uint32_t n = (uint32_t)t->n_src;
	uint32_t *rest = t->scratch;  /* unvisited points */
	uint32_t *where = t->queue;   /* index of a point in rest (queue is idle) */
	for (uint32_t i = 0; i < n; i++) {
		rest[i] = i;
		where[i] = i;
		t->pos[i] = NONE;
	}
	uint32_t n_rest = n;
	uint32_t cur = start;
	for (uint32_t step = 0; step < n; step++) {
		t->order[step] = cur;
		t->pos[cur] = step;
		uint32_t w = where[cur];
		rest[w] = rest[--n_rest];
		where[rest[w]] = w;
		if (n_rest == 0)
			break;
		uint32_t next = NONE;
		const uint32_t *nb = t->nb + (size_t)cur * TOUR_NEIGHBOURS_MAX;
		for (unsigned i = 0; i < t->k && next == NONE; i++)
			if (t->pos[nb[i]] == NONE)
				next = nb[i];
		if (next == NONE) {
			double best = INFINITY;
			for (uint32_t i = 0; i < n_rest; i++) {
				double c = cost(t, cur, rest[i]);
				if (c < best || next == NONE) {
					best = c;
					next = rest[i];
				}
			}
		}
		cur = next;
	}
	t->n = n;
}

/* ---- iterated local search -------------------------------------------- */

/* A double bridge inside a window: A B C D -> A C B D with B and C runs of
 * 1 .. w points each. Returns the change in cost. */
/* A double bridge inside a window: x0 B C D e1 -> x0 D C B e1, where B, C
 * and D are consecutive runs of 1 .. KICK_WINDOW points each: four edges
 * change and no run is reversed, a move that 2-opt and Or-opt cannot undo
 * in one step. Returns the change in cost. */
static double kick(struct tour *t)
{
	uint32_t n = t->n;
	uint32_t w = (n - 2) / 3;
	if (w > KICK_WINDOW)
		w = KICK_WINDOW;
	uint32_t l1 = 1 + rng_below(&t->rng, w);
	uint32_t l2 = 1 + rng_below(&t->rng, w);
	uint32_t l3 = 1 + rng_below(&t->rng, w);
	uint32_t i0 = rng_below(&t->rng, n);
	uint32_t x0 = t->order[i0];
	uint32_t b1 = t->order[(i0 + 1) % n];
	uint32_t b2 = t->order[(i0 + l1) % n];
	uint32_t c1 = t->order[(i0 + l1 + 1) % n];
	uint32_t c2 = t->order[(i0 + l1 + l2) % n];
	uint32_t d1 = t->order[(i0 + l1 + l2 + 1) % n];
	uint32_t d2 = t->order[(i0 + l1 + l2 + l3) % n];
	uint32_t e1 = t->order[(i0 + l1 + l2 + l3 + 1) % n];
	double delta = cost(t, x0, d1) + cost(t, d2, c1) + cost(t, c2, b1) +
		       cost(t, b2, e1) - cost(t, x0, b1) - cost(t, b2, c1) -
		       cost(t, c2, d1) - cost(t, d2, e1);
	two_opt_move(t, x0, b1, d2, e1); /* x0 d2 .. d1 c2 .. c1 b2 .. b1 e1 */
	two_opt_move(t, x0, d2, d1, c2); /* x0 d1 .. d2 c2 .. c1 b2 .. b1 e1 */
	two_opt_move(t, d2, c2, c1, b2); /* x0 d1 .. d2 c1 .. c2 b2 .. b1 e1 */
	two_opt_move(t, c2, b2, b1, e1); /* x0 d1 .. d2 c1 .. c2 b1 .. b2 e1 */
	const uint32_t touched[8] = { x0, b1, b2, c1, c2, d1, d2, e1 };
	for (int i = 0; i < 8; i++)
		push(t, touched[i]);
	return delta;
}

static void journal_undo(struct tour *t)
{
	for (size_t i = t->jour_n; i-- > 0;)
		reverse_positions(t, t->jour_start[i], t->jour_len[i]);
	t->jour_n = 0;
}

static void ils(struct tour *t, const struct tour_options *opt,
		double t_start, struct tour_stats *st)
{
	/* Past a few thousand points a move between far parts of the array
	 * reverses tens of thousands of positions (and the undo of a
	 * rejected kick as many again): while kicking, moves stay within
	 * KICK_SPAN positions of their point, which a kick's repair needs
	 * anyway (the kick spans at most 3 KICK_WINDOW). 3.5 times more
	 * kicks a second at 100 000 points. */
	t->span_max = KICK_SPAN;
	for (uint64_t it = 0;; it++) {
		if (opt->max_kicks && it >= opt->max_kicks)
			break;
		/* The thread CPU clock is a system call: look every 8 kicks
		 * (tens of microseconds). */
		if (opt->time_budget_s > 0.0 && it % 8 == 0 &&
		    now_s(opt->budget_clock) - t_start >= opt->time_budget_s)
			break;
		double before = t->cur;
		t->jour_n = 0;
		t->jour_overflow = false;
		t->jour_on = true;
		t->cur += kick(t);
		local_search(t);
		t->jour_on = false;
		st->kicks++;
		if (t->cur < before - t->eps)
			st->improvements++;
		/* The current order is the best seen: a kick is kept only
		 * when it costs no more. (Only when the journal could not
		 * grow, out of memory, is a worse one kept.) */
		if (t->cur > before && !t->jour_overflow) {
			journal_undo(t);
			t->cur = before;
		}
	}
	t->span_max = 0;
}

int tour_solve(struct tour *t, const struct tour_options *opt_in,
	       struct tour_stats *stats)
{
	struct tour_options opt;
	struct tour_stats st = { 0 };
	if (opt_in)
		opt = *opt_in;
	else
		tour_options_default(&opt);
	if (!has_source(t) || opt.neighbours == 0 ||
	    opt.neighbours > TOUR_NEIGHBOURS_MAX || !(opt.time_budget_s >= 0.0))
		return -EINVAL;
	struct timespec probe;
	if (clock_gettime(opt.budget_clock, &probe) != 0)
		return -EINVAL;
	double t0 = now_s(CLOCK_MONOTONIC);
	double budget_t0 = now_s(opt.budget_clock);
	uint32_t n = (uint32_t)t->n_src;
	t->rng = rng_seed(opt.seed);
	t->three_opt = opt.three_opt;
	t->q_head = 0;
	t->q_len = 0;
	memset(t->queued, 0, t->max_points);

	if (n <= 4) {
		/* At most three tours: enumerate them. */
		int rc = tour_solve_exact(t);
		if (rc < 0)
			return rc;
		st.initial_cost = st.local_cost = st.cost = tour_cost(t);
		goto out;
	}
	if (t->k != (opt.neighbours < n - 1 ? opt.neighbours : n - 1) &&
	    !t->from_candidates) {
		int rc = neighbours_build(t, opt.neighbours);
		if (rc < 0)
			return rc;
	}
	if (!(opt.warm_start && t->n == n)) {
		if (t->from_candidates) {
			int rc = greedy_tour(t);
			if (rc < 0)
				return rc;
		} else {
			nearest_neighbour(t, rng_below(&t->rng, n));
		}
	}
	t->cur = tour_cost(t);
	st.initial_cost = t->cur;
	t->eps = 1e-9 * fabs(t->cur) / n;
	/* Active points in a random order, so the first pass does not sweep
	 * the tour from one end (which biases nothing but wastes moves). */
	for (uint32_t i = 0; i < n; i++)
		t->scratch[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = rng_below(&t->rng, i + 1);
		uint32_t tmp = t->scratch[i];
		t->scratch[i] = t->scratch[j];
		t->scratch[j] = tmp;
	}
	for (uint32_t i = 0; i < n; i++)
		push(t, t->scratch[i]);
	local_search(t);
	st.local_cost = t->cur;
	if (opt.budget_for_kicks)
		budget_t0 = now_s(opt.budget_clock);
	if (opt.max_kicks > 0 || opt.time_budget_s > 0.0)
		ils(t, &opt, budget_t0, &st);
	st.cost = tour_cost(t);
out:
	st.seconds = now_s(CLOCK_MONOTONIC) - t0;
	if (stats)
		*stats = st;
	return 0;
}

/* ---- repair of one edge by full scan ---------------------------------- */

int tour_repair_edge(struct tour *t, uint32_t a, double *gain)
{
	if (gain)
		*gain = 0.0;
	if (!has_source(t) || t->n != t->n_src || a >= t->n_src ||
	    t->pos[a] == NONE)
		return -EINVAL;
	uint32_t n = t->n;
	if (n < 5)
		return 0;
	double before = tour_cost(t);
	t->cur = before;
	if (!(t->eps > 0.0))
		t->eps = 1e-9 * fabs(before) / n;
	/* The best 2-opt move that takes out (a, b), b either side of a:
	 * every point c in turn as a's new partner. */
	double best = -t->eps;
	uint32_t bb = NONE, bc = NONE, bd = NONE;
	for (int back = 0; back < 2; back++) {
		uint32_t b = step_of(t, a, back);
		double d_ab = cost(t, a, b);
		for (uint32_t p = 0; p < n; p++) {
			uint32_t c = t->order[p];
			uint32_t d = step_of(t, c, back);
			if (c == a || c == b || d == a)
				continue;
			double delta = cost(t, a, c) + cost(t, b, d) - d_ab -
				       cost(t, c, d);
			if (delta < best) {
				best = delta;
				bb = b;
				bc = c;
				bd = d;
			}
		}
	}
	if (bb == NONE)
		return 0;
	t->span_max = 0;
	t->jour_on = false;
	two_opt_move(t, a, bb, bc, bd);
	t->cur += best;
	t->q_head = 0;
	t->q_len = 0;
	memset(t->queued, 0, t->max_points);
	push(t, a);
	push(t, bb);
	push(t, bc);
	push(t, bd);
	local_search(t);
	if (gain)
		*gain = before - tour_cost(t);
	return 1;
}

/* ---- exact: Held-Karp dynamic programming ----------------------------- */

int tour_solve_exact(struct tour *t)
{
	if (!has_source(t))
		return -EINVAL;
	size_t n = t->n_src;
	if (n > TOUR_EXACT_MAX)
		return -E2BIG;
	uint32_t order[TOUR_EXACT_MAX];
	if (n <= 3) {
		for (uint32_t i = 0; i < n; i++)
			order[i] = i;
		order_install(t, order, (uint32_t)n);
		return 0;
	}
	double c[TOUR_EXACT_MAX][TOUR_EXACT_MAX];
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			c[i][j] = i == j ? 0.0 : cost(t, i, j);
			if (!isfinite(c[i][j]))
				return -EINVAL;
		}
	/* dp[mask][j]: cheapest path from point 0 through the points of MASK
	 * (bit b = point b + 1) ending at point j + 1. */
	size_t m = n - 1;
	size_t states = (size_t)1 << m;
	double *dp = malloc(states * m * sizeof(*dp));
	uint8_t *from = malloc(states * m);
	if (!dp || !from) {
		free(dp);
		free(from);
		return -ENOMEM;
	}
	for (size_t i = 0; i < states * m; i++)
		dp[i] = INFINITY;
	for (size_t j = 0; j < m; j++) {
		dp[((size_t)1 << j) * m + j] = c[0][j + 1];
		from[((size_t)1 << j) * m + j] = (uint8_t)m; /* from point 0 */
	}
	for (size_t mask = 1; mask < states; mask++) {
		for (size_t j = 0; j < m; j++) {
			double v = dp[mask * m + j];
			if (!(mask & ((size_t)1 << j)) || v == INFINITY)
				continue;
			for (size_t k = 0; k < m; k++) {
				if (mask & ((size_t)1 << k))
					continue;
				size_t nm = mask | ((size_t)1 << k);
				double w = v + c[j + 1][k + 1];
				if (w < dp[nm * m + k]) {
					dp[nm * m + k] = w;
					from[nm * m + k] = (uint8_t)j;
				}
			}
		}
	}
	size_t full = states - 1, last = 0;
	double best = INFINITY;
	for (size_t j = 0; j < m; j++) {
		double w = dp[full * m + j] + c[j + 1][0];
		if (w < best) {
			best = w;
			last = j;
		}
	}
	order[0] = 0;
	size_t mask = full;
	for (size_t i = n - 1; i >= 1; i--) {
		order[i] = (uint32_t)(last + 1);
		size_t prev = from[mask * m + last];
		mask &= ~((size_t)1 << last);
		last = prev;
	}
	free(dp);
	free(from);
	order_install(t, order, (uint32_t)n);
	return 0;
}

/* ---- Held-Karp lower bound: 1-trees and subgradients ------------------ */

/* The minimum 1-tree under costs c(i, j) + pi[i] + pi[j]: a spanning tree
 * of points 1 .. n-1 (dense Prim) plus the two cheapest edges of point 0.
 * Returns its cost minus 2 sum(pi) and fills the degrees. */
static double one_tree(const struct tour *t, const double *pi, int *deg,
		       double *key, uint32_t *parent, uint8_t *in)
{
	uint32_t n = (uint32_t)t->n_src;
	double total = 0.0;
	for (uint32_t i = 0; i < n; i++) {
		deg[i] = 0;
		in[i] = 0;
		key[i] = INFINITY;
		parent[i] = NONE;
	}
	uint32_t u = 1;
	in[u] = 1;
	for (uint32_t added = 1; added < n - 1; added++) {
		double pu = pi[u];
		const float *row = t->matrix ? t->matrix + (size_t)u * n : NULL;
		uint32_t best = NONE;
		double best_key = INFINITY;
		for (uint32_t v = 1; v < n; v++) {
			if (in[v])
				continue;
			double w = (row ? (double)row[v] : t->fn(u, v, t->ctx)) + pu + pi[v];
			if (w < key[v]) {
				key[v] = w;
				parent[v] = u;
			}
			if (key[v] < best_key || best == NONE) {
				best_key = key[v];
				best = v;
			}
		}
		in[best] = 1;
		total += best_key;
		deg[best]++;
		deg[parent[best]]++;
		u = best;
	}
	double e1 = INFINITY, e2 = INFINITY;
	uint32_t v1 = NONE, v2 = NONE;
	for (uint32_t v = 1; v < n; v++) {
		double w = cost(t, 0, v) + pi[0] + pi[v];
		if (w < e1) {
			e2 = e1;
			v2 = v1;
			e1 = w;
			v1 = v;
		} else if (w < e2) {
			e2 = w;
			v2 = v;
		}
	}
	total += e1 + e2;
	deg[0] = 2;
	deg[v1]++;
	deg[v2]++;
	double sum_pi = 0.0;
	for (uint32_t i = 0; i < n; i++)
		sum_pi += pi[i];
	return total - 2.0 * sum_pi;
}

int tour_lower_bound(struct tour *t, unsigned max_iterations,
		     double upper_bound, double *bound)
{
	if (!has_source(t) || !bound)
		return -EINVAL;
	uint32_t n = (uint32_t)t->n_src;
	if (n < 2) {
		*bound = 0.0;
		return 0;
	}
	if (n <= 3) {
		*bound = n == 2 ? 2.0 * cost(t, 0, 1)
				: cost(t, 0, 1) + cost(t, 1, 2) + cost(t, 2, 0);
		return 0;
	}
	int rc = 0;
	double *pi = calloc(n, sizeof(*pi));
	double *key = calloc(n, sizeof(*key));
	int *deg = calloc(n, sizeof(*deg));
	uint32_t *parent = calloc(n, sizeof(*parent));
	uint8_t *in = calloc(n, 1);
	if (!pi || !key || !deg || !parent || !in) {
		rc = -ENOMEM;
		goto out;
	}
	if (!(upper_bound > 0.0) || !isfinite(upper_bound)) {
		/* Any tour will do as the target of the steps: nearest
		 * neighbour by full scans, O(n^2) like one iteration. */
		uint8_t *seen = in;
		uint32_t cur = 0;
		upper_bound = 0.0;
		seen[0] = 1;
		for (uint32_t step = 1; step < n; step++) {
			uint32_t next = NONE;
			double best = INFINITY;
			for (uint32_t v = 0; v < n; v++) {
				if (seen[v])
					continue;
				double c = cost(t, cur, v);
				if (next == NONE || c < best) {
					best = c;
					next = v;
				}
			}
			seen[next] = 1;
			upper_bound += best;
			cur = next;
		}
		upper_bound += cost(t, cur, 0);
	}
	/* Held-Wolfe-Crowder: Polyak steps lambda (UB - L) / |g|^2 along the
	 * degree excess g, lambda halved after a stretch without progress. */
	double best = -INFINITY;
	double lambda = 2.0;
	unsigned patience = n / 20 < 10 ? 10 : n / 20 > 50 ? 50 : n / 20;
	unsigned stale = 0;
	for (unsigned it = 0; it < max_iterations; it++) {
		double l = one_tree(t, pi, deg, key, parent, in);
		if (l > best) {
			if (l > best + 1e-9 * fabs(l))
				stale = 0;
			best = l;
		} else {
			stale++;
		}
		double norm = 0.0;
		for (uint32_t i = 0; i < n; i++)
			norm += (double)(deg[i] - 2) * (deg[i] - 2);
		if (norm == 0.0)
			break; /* the 1-tree is a tour: the bound is the optimum */
		if (stale >= patience) {
			lambda *= 0.5;
			stale = 0;
			if (lambda < 1e-6)
				break;
		}
		double gap = upper_bound - l;
		if (gap <= 1e-12 * fabs(upper_bound))
			break;
		double step = lambda * gap / norm;
		for (uint32_t i = 0; i < n; i++)
			pi[i] += step * (deg[i] - 2);
	}
	*bound = best;
out:
	free(pi);
	free(key);
	free(deg);
	free(parent);
	free(in);
	return rc;
}
