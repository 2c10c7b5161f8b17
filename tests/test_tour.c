/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_tour — the TSP solver: the exact solver agrees with brute force, the
 * heuristic finds the exact optimum on every small instance, every tour
 * visits each point once, tempo-only libraries give the smooth up-then-down
 * cycle (also through brain_distance), cheapest insertion keeps the order
 * of the others, a seed makes the result repeatable, and the Held-Karp
 * bound is a bound and a close one.
 */
#include "autoconfig.h"

#include "brain.h"
#include "knn.h"
#include "testutil.h"
#include "tour.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 400

static uint64_t rng = 0x853c49e6748fea9bULL;

static double rnd(void)
{
	return test_rand(&rng);
}

static float matrix[MAXN * MAXN];

/* n points uniform in the unit square, or (metric false) a symmetric
 * matrix of independent random costs, which obeys no triangle inequality
 * and is much harder for local search. */
static void make_instance(size_t n, bool metric)
{
	static double x[MAXN], y[MAXN];
	for (size_t i = 0; i < n; i++) {
		x[i] = rnd();
		y[i] = rnd();
	}
	for (size_t i = 0; i < n; i++) {
		matrix[i * n + i] = 0.0f;
		for (size_t j = i + 1; j < n; j++) {
			float c = metric ? (float)hypot(x[i] - x[j], y[i] - y[j])
					 : (float)rnd();
			matrix[i * n + j] = matrix[j * n + i] = c;
		}
	}
}

static double order_cost(const uint32_t *o, size_t n)
{
	if (n < 2)
		return 0.0;
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		sum += matrix[(size_t)o[i] * n + o[(i + 1) % n]];
	return sum;
}

/* Every point of 0 .. n-1 exactly once. */
static void check_permutation(const struct tour *t, size_t n)
{
	uint8_t *seen = calloc(n ? n : 1, 1);
	CHECK(seen);
	CHECK_INT(tour_size(t), ==, n);
	const uint32_t *o = tour_order(t);
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(o[i], <, n);
		CHECK_INT(seen[o[i]], ==, 0);
		seen[o[i]] = 1;
	}
	free(seen);
}

/* The cheapest tour by trying every permutation that starts with 0. */
static double brute_force(size_t n)
{
	uint32_t p[12];
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	if (n < 2)
		return 0.0;
	double best = INFINITY;
	/* Heap's algorithm over p[1 .. n-1]. */
	size_t c[12] = { 0 };
	size_t m = n - 1;
	uint32_t *q = p + 1;
	double v = order_cost(p, n);
	if (v < best)
		best = v;
	for (size_t i = 1; i < m;) {
		if (c[i] < i) {
			size_t k = i % 2 ? c[i] : 0;
			uint32_t tmp = q[k];
			q[k] = q[i];
			q[i] = tmp;
			v = order_cost(p, n);
			if (v < best)
				best = v;
			c[i]++;
			i = 1;
		} else {
			c[i] = 0;
			i++;
		}
	}
	return best;
}

static void test_exact_vs_brute_force(void)
{
	struct tour *t = tour_create(16);
	CHECK(t);
	for (size_t n = 1; n <= 9; n++)
		for (int k = 0; k < 10; k++) {
			make_instance(n, k % 2 == 0);
			CHECK_INT(tour_set_matrix(t, matrix, n), ==, 0);
			CHECK_INT(tour_solve_exact(t), ==, 0);
			check_permutation(t, n);
			CHECK_NEAR(tour_cost(t), brute_force(n), 1e-6);
		}
	make_instance(16, true);
	CHECK_INT(tour_set_matrix(t, matrix, 16), ==, 0);
	CHECK_INT(tour_solve_exact(t), ==, 0); /* the largest it takes */
	check_permutation(t, 16);
	tour_destroy(t);
	t = tour_create(17);
	make_instance(17, true);
	CHECK_INT(tour_set_matrix(t, matrix, 17), ==, 0);
	CHECK_INT(tour_solve_exact(t), ==, -E2BIG);
	tour_destroy(t);
}

/* The heuristic must find the optimum on every small instance. */
static void test_small_optimum(void)
{
	struct tour *t = tour_create(16);
	struct tour *exact = tour_create(16);
	CHECK(t && exact);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 300;
	for (size_t n = 1; n <= 10; n++)
		for (int k = 0; k < 50; k++) {
			make_instance(n, k % 2 == 0);
			CHECK_INT(tour_set_matrix(t, matrix, n), ==, 0);
			CHECK_INT(tour_set_matrix(exact, matrix, n), ==, 0);
			opt.seed = (uint64_t)k;
			struct tour_stats st;
			CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
			CHECK_INT(tour_solve_exact(exact), ==, 0);
			check_permutation(t, n);
			double want = tour_cost(exact);
			if (fabs(tour_cost(t) - want) > 1e-6) {
				fprintf(stderr, "n %zu instance %d: %g, optimum %g\n",
					n, k, tour_cost(t), want);
				exit(1);
			}
			CHECK_NEAR(st.cost, tour_cost(t), 1e-9);
			CHECK(st.local_cost <= st.initial_cost + 1e-9);
			CHECK(st.cost <= st.local_cost + 1e-9);
		}
	tour_destroy(t);
	tour_destroy(exact);
}

struct line {
	const double *x;
};

static double line_cost(size_t i, size_t j, void *ctx)
{
	const struct line *l = ctx;
	return fabs(l->x[i] - l->x[j]);
}

/* Starting from the lowest point, the order rises to the highest and falls
 * back (ties in any order). */
static void check_up_then_down(const struct tour *t, const double *x, size_t n)
{
	const uint32_t *o = tour_order(t);
	size_t lo = 0;
	for (size_t i = 1; i < n; i++)
		if (x[o[i]] < x[o[lo]])
			lo = i;
	size_t i = 0;
	while (i + 1 < n && x[o[(lo + i + 1) % n]] >= x[o[(lo + i) % n]])
		i++;
	while (i + 1 < n && x[o[(lo + i + 1) % n]] <= x[o[(lo + i) % n]])
		i++;
	CHECK_INT(i, ==, n - 1);
}

static void test_tempo_line(void)
{
	static double bpm[MAXN];
	struct tour *t = tour_create(MAXN);
	CHECK(t);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 200;
	for (size_t n = 2; n <= 300; n = n * 2 + 1) {
		double lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < n; i++) {
			bpm[i] = 90.0 + 40.0 * rnd();
			lo = fmin(lo, bpm[i]);
			hi = fmax(hi, bpm[i]);
		}
		struct line l = { bpm };
		CHECK_INT(tour_set_cost_fn(t, n, line_cost, &l), ==, 0);
		CHECK_INT(tour_solve(t, &opt, NULL), ==, 0);
		check_permutation(t, n);
		CHECK_NEAR(tour_cost(t), 2.0 * (hi - lo), 1e-9);
		check_up_then_down(t, bpm, n);
	}
	tour_destroy(t);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct library {
	const struct brain_track *tracks;
	struct brain_weights w;
};

static double library_cost(size_t i, size_t j, void *ctx)
{
	const struct library *lib = ctx;
	return brain_distance(&lib->tracks[i], &lib->tracks[j], &lib->w, NULL);
}

/* Tracks that differ only in tempo, all within max_stretch of each other:
 * the tour climbs through the tempos and comes back down. */
static void test_tempo_library(void)
{
	enum { N = 60 };
	static struct brain_track tracks[N];
	static double bpm[N];
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < N; i++) {
		brain_track_init(&tracks[i]);
		tracks[i].bpm = bpm[i] = 120.0 + 8.0 * rnd();
		tracks[i].energy = 0.5;
		tracks[i].camelot = 8;
		tracks[i].mode = BRAIN_MODE_MINOR;
		lo = fmin(lo, bpm[i]);
		hi = fmax(hi, bpm[i]);
	}
	struct library lib = { .tracks = tracks };
	brain_weights_default(&lib.w);
	struct tour *t = tour_create(N);
	CHECK(t);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 500;
	CHECK_INT(tour_set_cost_fn(t, N, library_cost, &lib), ==, 0);
	CHECK_INT(tour_solve(t, &opt, NULL), ==, 0);
	check_permutation(t, N);
	/* Every step costs w_tempo (|ln ratio| / ln 1.08)^2 / (sum of weights
	 * of the terms present: tempo, key, energy): a convex function of the
	 * distance on the line of ln bpm, so the costs form a Supnick matrix
	 * and the optimum is the tour that climbs through every other tempo
	 * and comes down through the rest (Supnick 1957). */
	double scale = lib.w.tempo / (lib.w.tempo + lib.w.key + lib.w.energy);
	double sorted[N];
	memcpy(sorted, bpm, sizeof(sorted));
	qsort(sorted, N, sizeof(sorted[0]), cmp_double);
	double opt_cost = 0;
	for (size_t i = 0; i + 2 < N; i++)
		opt_cost += pow((log(sorted[i + 2]) - log(sorted[i])) /
				log1p(lib.w.max_stretch), 2);
	opt_cost += pow((log(sorted[1]) - log(sorted[0])) /
			log1p(lib.w.max_stretch), 2);
	opt_cost += pow((log(sorted[N - 1]) - log(sorted[N - 2])) /
			log1p(lib.w.max_stretch), 2);
	CHECK(hi / lo < 1.08);
	CHECK_NEAR(tour_cost(t), opt_cost * scale, 1e-9);
	check_up_then_down(t, bpm, N);
	tour_destroy(t);
}

/* A library of albums: ten tracks around each of N / 10 random bases
 * (tempo within a few percent, mostly the same key, near energies and
 * timbres), as clustered as a real one. */
static struct brain_track *album_library(size_t n)
{
	struct brain_track *t = calloc(n, sizeof(*t));
	CHECK(t);
	struct brain_track base;
	for (size_t i = 0; i < n; i++) {
		if (i % 10 == 0) {
			brain_track_init(&base);
			base.bpm = 80 + 100 * rnd();
			base.camelot = 1 + (int)(12 * rnd()) % 12;
			base.mode = rnd() < 0.5 ? BRAIN_MODE_MINOR : BRAIN_MODE_MAJOR;
			base.energy = rnd();
			base.loudness_lufs = -14 + 6 * rnd();
			base.n_timbre = BRAIN_TIMBRE_MAX;
			for (int k = 0; k < BRAIN_TIMBRE_MAX; k++)
				base.timbre[k] = (float)(4 * rnd() - 2);
		}
		t[i] = base;
		t[i].bpm = base.bpm * (1 + 0.04 * (rnd() - 0.5));
		if (rnd() < 0.3)
			t[i].camelot = 1 + (base.camelot + (rnd() < 0.5 ? 0 : 10)) % 12;
		t[i].energy = fmin(1, fmax(0, base.energy + 0.1 * (rnd() - 0.5)));
		for (int k = 0; k < BRAIN_TIMBRE_MAX; k++)
			t[i].timbre[k] += (float)(rnd() - 0.5);
		snprintf(t[i].artist, sizeof(t[i].artist), "artist %zu", i / 10);
	}
	brain_timbre_standardise(t, n);
	return t;
}

/* The M nearest of every track in the embedding (brain_embed, knn). */
static uint32_t *embedding_candidates(const struct brain_track *tracks,
				      size_t n, const struct brain_weights *w,
				      size_t m)
{
	struct brain_embedding e;
	float *pts = malloc(n * BRAIN_EMBED_DIM * sizeof(*pts));
	uint32_t *cand = malloc(n * m * sizeof(*cand));
	CHECK(pts && cand);
	CHECK_INT(brain_embed_fit(tracks, n, &e), ==, 0);
	for (size_t i = 0; i < n; i++)
		brain_embed(&e, w, &tracks[i], pts + i * BRAIN_EMBED_DIM);
	struct knn *idx = knn_create(pts, n, BRAIN_EMBED_DIM);
	CHECK(idx);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(knn_query(idx, pts + i * BRAIN_EMBED_DIM, m,
				    (uint32_t)i, 0, cand + i * m, NULL), ==, m);
	knn_destroy(idx);
	free(pts);
	return cand;
}

/* Neighbour lists from the index's candidates against the all-pairs
 * lists: the share of all-pairs neighbours the index finds is at least
 * the one doc/brain.md gives (90 % for the setlist's 24 candidates on a
 * library of albums); and a solve from them is as good as one from all
 * pairs, within 2 %. */
static void test_candidates(void)
{
	const size_t n = 1000, m = 24;
	struct brain_track *tracks = album_library(n);
	struct library lib = { .tracks = tracks };
	brain_weights_default(&lib.w);
	struct tour *all = tour_create(n), *ix = tour_create(n);
	CHECK(all && ix);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0;
	opt.max_kicks = 3000;
	CHECK_INT(tour_set_cost_fn(all, n, library_cost, &lib), ==, 0);
	CHECK_INT(tour_solve(all, &opt, NULL), ==, 0);
	uint32_t *cand = embedding_candidates(tracks, n, &lib.w, m);
	CHECK_INT(tour_set_cost_fn(ix, n, library_cost, &lib), ==, 0);
	CHECK_INT(tour_set_candidates(ix, cand, m, opt.neighbours), ==, 0);
	size_t found = 0, total = 0;
	for (uint32_t i = 0; i < n; i++) {
		unsigned ka, kb;
		const uint32_t *a = tour_neighbours(all, i, &ka);
		const uint32_t *b = tour_neighbours(ix, i, &kb);
		CHECK(a && b);
		CHECK_INT(ka, ==, opt.neighbours);
		CHECK_INT(kb, ==, opt.neighbours);
		double worst = brain_distance(&tracks[i], &tracks[a[ka - 1]],
					      &lib.w, NULL);
		for (unsigned r = 0; r < kb; r++) {
			/* Sorted, and never cheaper than the true list says. */
			double c = brain_distance(&tracks[i], &tracks[b[r]], &lib.w, NULL);
			if (r > 0)
				CHECK(c >= brain_distance(&tracks[i], &tracks[b[r - 1]],
							  &lib.w, NULL));
			/* A tie with the k-th true one counts as found. */
			found += c <= worst;
		}
		total += ka;
	}
	double share = (double)found / (double)total;
	fprintf(stderr, "tour: index lists hold %.1f %% of the all-pairs "
		"neighbours (n %zu, %zu candidates)\n", 100 * share, n, m);
	CHECK(share >= 0.90);
	CHECK_INT(tour_solve(ix, &opt, NULL), ==, 0);
	check_permutation(ix, n);
	fprintf(stderr, "tour: cost from the index %.4f, from all pairs %.4f\n",
		tour_cost(ix), tour_cost(all));
	CHECK(tour_cost(ix) <= 1.02 * tour_cost(all));
	free(cand);
	free(tracks);
	tour_destroy(all);
	tour_destroy(ix);
}

static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* A solve of 5000 points from candidates allocates O(n): the peak RSS
 * grows by far less than an n^2 matrix of floats (100 MB) would take. */
static void test_linear_memory(void)
{
	const size_t n = 5000, m = 24;
	struct brain_track *tracks = album_library(n);
	struct library lib = { .tracks = tracks };
	brain_weights_default(&lib.w);
	uint32_t *cand = embedding_candidates(tracks, n, &lib.w, m);
	long before = peak_rss_kb();
	struct tour *t = tour_create(n);
	CHECK(t);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0;
	opt.max_kicks = 2000;
	CHECK_INT(tour_set_cost_fn(t, n, library_cost, &lib), ==, 0);
	CHECK_INT(tour_set_candidates(t, cand, m, opt.neighbours), ==, 0);
	CHECK_INT(tour_solve(t, &opt, NULL), ==, 0);
	check_permutation(t, n);
	long grew = peak_rss_kb() - before;
	fprintf(stderr, "tour: n %zu from candidates: peak RSS grew by %ld kB\n",
		n, grew);
	if (before > 0)
		CHECK(grew < 16 * 1024);
	tour_destroy(t);
	free(cand);
	free(tracks);
}

static void test_permutations(void)
{
	struct tour *t = tour_create(MAXN);
	CHECK(t);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 20,
					33, 64, 100, 257, 400 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		for (int k = 0; k < 4; k++) {
			make_instance(n, k % 2 == 0);
			CHECK_INT(tour_set_matrix(t, matrix, n), ==, 0);
			opt.seed = (uint64_t)(k + 7 * s);
			opt.max_kicks = (uint64_t)(k * 50);
			opt.neighbours = 1 + (unsigned)(k * 7) % TOUR_NEIGHBOURS_MAX;
			struct tour_stats st;
			CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
			check_permutation(t, n);
			CHECK_NEAR(tour_cost(t), order_cost(tour_order(t), n), 1e-6);
			CHECK_NEAR(st.cost, tour_cost(t), 1e-6);
			CHECK(st.cost <= st.local_cost + 1e-9);
			/* Without kicks the cost the search kept track of, move
			 * by move, is the cost of the tour it made. */
			if (opt.max_kicks == 0)
				CHECK_NEAR(st.local_cost, st.cost, 1e-6);
			CHECK_INT(st.kicks, ==, n <= 4 ? 0 : opt.max_kicks);
		}
	}
	/* A time budget alone ends the search too. */
	make_instance(200, true);
	CHECK_INT(tour_set_matrix(t, matrix, 200), ==, 0);
	opt.max_kicks = 0;
	opt.time_budget_s = 0.05;
	struct tour_stats st;
	CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
	check_permutation(t, 200);
	CHECK(st.kicks > 0);
	CHECK(st.seconds < 5.0);
	/* A warm start from a local optimum without kicks changes nothing. */
	double before = tour_cost(t);
	opt.time_budget_s = 0.0;
	opt.warm_start = true;
	CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
	CHECK_NEAR(tour_cost(t), before, 1e-9);
	CHECK_NEAR(st.initial_cost, before, 1e-9);
	tour_destroy(t);
}

struct plane {
	const double *x, *y;
};

static double plane_cost(size_t i, size_t j, void *ctx)
{
	const struct plane *p = ctx;
	return hypot(p->x[i] - p->x[j], p->y[i] - p->y[j]);
}

/* Sequential 3-opt in the local search: on ten random instances its
 * local optima cost less in all than those of 2-opt and Or-opt alone,
 * and the cost the search keeps move by move is the cost of the tour it
 * makes. Then a 6000-point callback instance with kicks (moves kept
 * within KICK_SPAN positions while kicking, callback costs memoised):
 * the cost kept is still the tour's. */
static void test_three_opt(void)
{
	struct tour *t = tour_create(MAXN);
	CHECK(t);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	double sum[2] = { 0, 0 };
	for (int k = 0; k < 10; k++) {
		make_instance(MAXN, true);
		CHECK_INT(tour_set_matrix(t, matrix, MAXN), ==, 0);
		for (int three = 0; three < 2; three++) {
			struct tour_stats st;
			opt.three_opt = three;
			opt.seed = (uint64_t)k;
			CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
			check_permutation(t, MAXN);
			CHECK_NEAR(st.local_cost, order_cost(tour_order(t), MAXN), 1e-6);
			sum[three] += st.local_cost;
		}
	}
	fprintf(stderr, "tour: 10 x %d points, local optima: 2-opt and Or-opt "
		"%.4f, with 3-opt %.4f\n", MAXN, sum[0], sum[1]);
	CHECK(sum[1] < sum[0]);
	tour_destroy(t);

	const size_t n = 6000;
	double *x = malloc(n * sizeof(*x)), *y = malloc(n * sizeof(*y));
	CHECK(x && y);
	for (size_t i = 0; i < n; i++) {
		x[i] = rnd();
		y[i] = rnd();
	}
	struct plane pl = { x, y };
	t = tour_create(n);
	CHECK(t);
	CHECK_INT(tour_set_cost_fn(t, n, plane_cost, &pl), ==, 0);
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 3000;
	struct tour_stats st;
	CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
	check_permutation(t, n);
	const uint32_t *o = tour_order(t);
	double c = 0;
	for (size_t i = 0; i < n; i++)
		c += plane_cost(o[i], o[(i + 1) % n], &pl);
	CHECK_NEAR(st.cost, c, 1e-6);
	CHECK(st.cost < st.local_cost);
	tour_destroy(t);
	free(x);
	free(y);
}

/* tour_repair_edge: from a random order, a repair of one point's edge
 * lowers the cost by what it says, keeps a permutation, and ends with
 * a local optimum from the points it touched; a second one on a solved
 * tour's edges finds nothing the full solve missed among neighbours
 * that 2-opt would take. */
static void test_repair_edge(void)
{
	const size_t n = 300;
	struct tour *t = tour_create(MAXN);
	CHECK(t);
	double gain = -1;
	CHECK_INT(tour_repair_edge(t, 0, &gain), ==, -EINVAL);
	make_instance(n, true);
	CHECK_INT(tour_set_matrix(t, matrix, n), ==, 0);
	uint32_t order[MAXN];
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd() * (i + 1)) % (i + 1);
		uint32_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	CHECK_INT(tour_set_order(t, order, n), ==, 0);
	CHECK_INT(tour_repair_edge(t, (uint32_t)n, &gain), ==, -EINVAL);
	/* The neighbour lists come with a solve; without them only the
	 * move itself. */
	double before = tour_cost(t);
	CHECK_INT(tour_repair_edge(t, order[0], &gain), ==, 1);
	check_permutation(t, n);
	CHECK(gain > 0);
	CHECK_NEAR(before - tour_cost(t), gain, 1e-6);
	/* On a tour that 2-opt left, no 2-opt move is left for an edge. */
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0;
	opt.neighbours = TOUR_NEIGHBOURS_MAX;
	CHECK_INT(tour_solve(t, &opt, NULL), ==, 0);
	before = tour_cost(t);
	int rc = tour_repair_edge(t, tour_order(t)[0], &gain);
	CHECK(rc == 0 || rc == 1);
	CHECK(tour_cost(t) <= before + 1e-9);
	check_permutation(t, n);
	tour_destroy(t);
}

static void test_insert(void)
{
	enum { N0 = 40, N = 60 };
	static uint32_t before[N];
	make_instance(N, true);
	struct tour *t = tour_create(N);
	CHECK(t);
	/* Solve the first N0 points: the top-left block of the matrix is not
	 * an N0 x N0 matrix, so copy it. */
	static float sub[N0 * N0];
	for (size_t i = 0; i < N0; i++)
		for (size_t j = 0; j < N0; j++)
			sub[i * N0 + j] = matrix[i * N + j];
	CHECK_INT(tour_set_matrix(t, sub, N0), ==, 0);
	CHECK_INT(tour_solve(t, NULL, NULL), ==, 0);
	/* The library grows: same points, new source, order kept. */
	CHECK_INT(tour_set_matrix(t, matrix, N), ==, 0);
	CHECK_INT(tour_size(t), ==, N0);
	for (uint32_t p = N0; p < N; p++) {
		size_t n = tour_size(t);
		memcpy(before, tour_order(t), n * sizeof(*before));
		/* The cheapest place, by trying them all. */
		double best = INFINITY;
		for (size_t i = 0; i < n; i++) {
			uint32_t u = before[i], v = before[(i + 1) % n];
			double add = matrix[u * N + p] + matrix[p * N + v] - matrix[u * N + v];
			best = fmin(best, add);
		}
		double cost0 = tour_cost(t);
		size_t at;
		CHECK_INT(tour_insert_cheapest(t, p, &at), ==, 0);
		CHECK_INT(tour_size(t), ==, n + 1);
		const uint32_t *o = tour_order(t);
		CHECK_INT(o[at], ==, p);
		/* The others keep their order, not even rotated. */
		for (size_t i = 0, j = 0; i < n + 1; i++)
			if (i != at)
				CHECK_INT(o[i], ==, before[j++]);
		CHECK_NEAR(tour_cost(t) - cost0, best, 1e-5);
	}
	CHECK_INT(tour_insert_cheapest(t, 3, NULL), ==, -EEXIST);
	CHECK_INT(tour_insert_cheapest(t, N, NULL), ==, -EINVAL);
	/* Removal keeps the order too. */
	size_t n = tour_size(t);
	memcpy(before, tour_order(t), n * sizeof(*before));
	uint32_t gone = before[n / 2];
	CHECK_INT(tour_remove(t, gone), ==, 0);
	CHECK_INT(tour_remove(t, gone), ==, -ENOENT);
	for (size_t i = 0, j = 0; i < n; i++)
		if (before[i] != gone)
			CHECK_INT(tour_order(t)[j++], ==, before[i]);
	CHECK_INT(tour_insert_cheapest(t, gone, NULL), ==, 0);
	check_permutation(t, N);
	/* Into an empty and a one-point tour. */
	CHECK_INT(tour_set_order(t, NULL, 0), ==, 0);
	CHECK_INT(tour_insert_cheapest(t, 5, NULL), ==, 0);
	CHECK_INT(tour_insert_cheapest(t, 9, NULL), ==, 0);
	CHECK_INT(tour_size(t), ==, 2);
	CHECK_INT(tour_order(t)[0], ==, 5);
	CHECK_INT(tour_order(t)[1], ==, 9);
	tour_destroy(t);
}

static void test_determinism(void)
{
	enum { N = 300 };
	static uint32_t first[N];
	make_instance(N, true);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 3000;
	opt.seed = 42;
	struct tour *a = tour_create(N), *b = tour_create(N);
	CHECK(a && b);
	CHECK_INT(tour_set_matrix(a, matrix, N), ==, 0);
	CHECK_INT(tour_solve(a, &opt, NULL), ==, 0);
	memcpy(first, tour_order(a), sizeof(first));
	/* Again on a fresh solver, and again on the used one. */
	CHECK_INT(tour_set_matrix(b, matrix, N), ==, 0);
	CHECK_INT(tour_solve(b, &opt, NULL), ==, 0);
	CHECK(memcmp(first, tour_order(b), sizeof(first)) == 0);
	CHECK_INT(tour_solve(a, &opt, NULL), ==, 0);
	CHECK(memcmp(first, tour_order(a), sizeof(first)) == 0);
	tour_destroy(a);
	tour_destroy(b);
}

static void test_lower_bound(void)
{
	struct tour *t = tour_create(MAXN);
	CHECK(t);
	double gap_sum = 0.0;
	int count = 0;
	for (size_t n = 2; n <= 12; n++)
		for (int k = 0; k < 10; k++) {
			make_instance(n, true);
			CHECK_INT(tour_set_matrix(t, matrix, n), ==, 0);
			CHECK_INT(tour_solve_exact(t), ==, 0);
			double opt = tour_cost(t), bound;
			CHECK_INT(tour_lower_bound(t, 1000, opt, &bound), ==, 0);
			CHECK(bound <= opt + 1e-6);
			CHECK(bound >= 0.85 * opt);
			double nn_bound;
			CHECK_INT(tour_lower_bound(t, 1000, 0.0, &nn_bound), ==, 0);
			CHECK(nn_bound <= opt + 1e-6);
			gap_sum += 1.0 - bound / opt;
			count++;
		}
	/* Within a few percent of the optimum on average. */
	CHECK(gap_sum / count < 0.03);
	/* On 400 points it lies below the heuristic's tour and close to it. */
	make_instance(MAXN, true);
	CHECK_INT(tour_set_matrix(t, matrix, MAXN), ==, 0);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 20000;
	CHECK_INT(tour_solve(t, &opt, NULL), ==, 0);
	double bound;
	CHECK_INT(tour_lower_bound(t, 300, tour_cost(t), &bound), ==, 0);
	CHECK(bound <= tour_cost(t));
	CHECK(tour_cost(t) <= 1.04 * bound);
	tour_destroy(t);
}

static void test_errors(void)
{
	errno = 0;
	CHECK(tour_create(0) == NULL);
	CHECK_INT(errno, ==, EINVAL);
	CHECK(tour_create((size_t)TOUR_POINTS_MAX + 1) == NULL);
	tour_destroy(NULL);
	struct tour *t = tour_create(8);
	CHECK(t);
	double bound;
	CHECK_INT(tour_solve(t, NULL, NULL), ==, -EINVAL); /* no source */
	CHECK_INT(tour_solve_exact(t), ==, -EINVAL);
	CHECK_INT(tour_lower_bound(t, 10, 0.0, &bound), ==, -EINVAL);
	CHECK_INT(tour_insert_cheapest(t, 0, NULL), ==, -EINVAL);
	CHECK_INT(tour_set_matrix(t, matrix, 9), ==, -EINVAL);
	CHECK_INT(tour_set_matrix(t, NULL, 4), ==, -EINVAL);
	make_instance(8, true);
	CHECK_INT(tour_set_matrix(t, matrix, 8), ==, 0);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.neighbours = 0;
	CHECK_INT(tour_solve(t, &opt, NULL), ==, -EINVAL);
	opt.neighbours = TOUR_NEIGHBOURS_MAX + 1;
	CHECK_INT(tour_solve(t, &opt, NULL), ==, -EINVAL);
	tour_options_default(&opt);
	opt.time_budget_s = NAN;
	CHECK_INT(tour_solve(t, &opt, NULL), ==, -EINVAL);
	const uint32_t dup[3] = { 1, 2, 1 }, bad[2] = { 0, 8 }, ok[3] = { 4, 0, 6 };
	CHECK_INT(tour_set_order(t, dup, 3), ==, -EINVAL);
	CHECK_INT(tour_set_order(t, bad, 2), ==, -EINVAL);
	CHECK_INT(tour_set_order(t, ok, 3), ==, 0);
	CHECK_INT(tour_size(t), ==, 3);
	CHECK_INT(tour_remove(t, 5), ==, -ENOENT);
	CHECK_INT(tour_remove(t, 1000), ==, -ENOENT);
	/* Costs that are not numbers are refused, not searched. */
	make_instance(8, true);
	CHECK_INT(tour_set_matrix(t, matrix, 8), ==, 0);
	CHECK_INT(tour_set_order(t, ok, 3), ==, 0);
	matrix[2 * 8 + 5] = NAN;
	CHECK_INT(tour_solve(t, NULL, NULL), ==, -EINVAL);
	CHECK_INT(tour_size(t), ==, 3); /* untouched */
	CHECK_INT(tour_solve_exact(t), ==, -EINVAL);
	matrix[2 * 8 + 5] = INFINITY;
	CHECK_INT(tour_solve(t, NULL, NULL), ==, -EINVAL);
	/* A smaller source drops an order that no longer fits. */
	CHECK_INT(tour_set_matrix(t, matrix, 5), ==, 0);
	CHECK_INT(tour_size(t), ==, 0);
	tour_destroy(t);
}

/* A caller's asymmetric costs must not make the search loop: it reads one
 * triangle only, so it ends with a valid tour. */
static void test_asymmetric(void)
{
	enum { N = 200 };
	for (size_t i = 0; i < N * N; i++)
		matrix[i] = (float)rnd();
	struct tour *t = tour_create(N);
	CHECK(t);
	CHECK_INT(tour_set_matrix(t, matrix, N), ==, 0);
	struct tour_options opt;
	tour_options_default(&opt);
	opt.time_budget_s = 0.0;
	opt.max_kicks = 2000;
	struct tour_stats st;
	CHECK_INT(tour_solve(t, &opt, &st), ==, 0);
	check_permutation(t, N);
	CHECK(st.cost <= st.local_cost + 1e-9);
	tour_destroy(t);
}

int main(void)
{
	test_errors();
	test_exact_vs_brute_force();
	test_small_optimum();
	test_tempo_line();
	test_tempo_library();
	test_permutations();
	test_three_opt();
	test_repair_edge();
	test_insert();
	test_determinism();
	test_lower_bound();
	test_asymmetric();
	test_candidates();
	test_linear_memory();
	return 0;
}
