/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tour_bench — how good and how fast the tour solver is, against the
 * Held-Karp lower bound and against forever.fm's method (random 2-opt hill
 * climbing with 100 n evaluations). Run by bench/tour.sh, which prints the
 * table header; this program prints one row: the medians over the seeds.
 *
 *   tour_bench --n N [--seeds S] [--kind euclid|brain] [--dim D]
 *              [--budget SECONDS] [--kicks K] [--hk-iterations I]
 *              [--source matrix|callback|index] [--neighbours K] [--wall]
 *              [--candidates M] [--reference SECONDS] [--header]
 *
 * euclid: points uniform in the unit cube of D dimensions (default 2),
 * Euclidean costs in a dense float matrix. brain: random tracks (tempo
 * 85..175 BPM, random Camelot keys, energy, 26 standardised timbre values,
 * loudness, one artist per 8 tracks, 8 genres) under brain_distance() with
 * the default weights, as a float matrix or through the callback.
 *
 * index (brain only): the callback, with neighbour lists from the M
 * (--candidates, default 16) nearest points of a k-d tree over
 * brain_embed() (knn.h) instead of all pairs; the CPU time includes the
 * index and the candidates' costs. No n^2 matrix is made past n = 4000:
 * there the row compares with --reference SECONDS, a second solve of the
 * same instance with that budget (and 16 neighbours), instead of the
 * Held-Karp bound, and says so ("ref" for "HK"). At n <= 4000 it also
 * prints on stderr how many of each point's true K nearest (by
 * brain_distance, all pairs) the index's K cheapest candidates miss.
 *
 * Times are CPU seconds of this thread, and the solver's budget (--budget,
 * default 1 s) counts this thread's CPU time too, so that a busy machine
 * does not rob the solver; --wall makes it wall clock, as in production.
 * "--budget 0 --kicks K" gives a fixed, machine-independent amount of
 * work instead. TOUR_BENCH_VERBOSE=1 in the environment prints every
 * instance on stderr.
 */
#include "autoconfig.h"

#include "brain.h"
#include "knn.h"
#include "tour.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

static double rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

static double gauss(void)
{
	double u = rnd(), v = rnd();
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct brain_ctx {
	const struct brain_track *tracks;
	struct brain_weights w;
};

static double brain_cost_fn(size_t i, size_t j, void *ctx)
{
	const struct brain_ctx *bc = ctx;
	return brain_distance(&bc->tracks[i], &bc->tracks[j], &bc->w, NULL);
}

static struct brain_track *brain_instance(size_t n)
{
	static const char *genres[] = { "house", "techno", "disco", "funk",
					"soul", "hip hop", "ambient", "drum and bass" };
	struct brain_track *t = calloc(n, sizeof(*t));
	if (!t)
		return NULL;
	size_t n_artists = n / 8 + 1;
	for (size_t i = 0; i < n; i++) {
		brain_track_init(&t[i]);
		t[i].bpm = 85.0 + 90.0 * rnd();
		t[i].camelot = 1 + (int)(12.0 * rnd());
		t[i].mode = rnd() < 0.5 ? BRAIN_MODE_MINOR : BRAIN_MODE_MAJOR;
		t[i].energy = rnd();
		t[i].n_timbre = BRAIN_TIMBRE_MAX;
		for (int k = 0; k < BRAIN_TIMBRE_MAX; k++)
			t[i].timbre[k] = (float)(gauss() * (1.0 + k));
		t[i].loudness_lufs = -10.0 + 3.0 * gauss();
		snprintf(t[i].artist, sizeof(t[i].artist), "artist %zu",
			 (size_t)(rnd() * (double)n_artists));
		snprintf(t[i].genre, sizeof(t[i].genre), "%s",
			 genres[(size_t)(rnd() * 8.0) % 8]);
	}
	brain_timbre_standardise(t, n);
	return t;
}

/* The index's candidates: the M nearest in the embedding. */
static uint32_t *index_candidates(const struct brain_track *tracks, size_t n,
				  const struct brain_weights *w, size_t m)
{
	struct brain_embedding e;
	float *pts = malloc(n * BRAIN_EMBED_DIM * sizeof(*pts));
	uint32_t *cand = malloc(n * m * sizeof(*cand));
	if (!pts || !cand)
		goto fail;
	brain_embed_fit(tracks, n, &e);
	for (size_t i = 0; i < n; i++)
		brain_embed(&e, w, &tracks[i], pts + i * BRAIN_EMBED_DIM);
	double c0 = cpu_s();
	struct knn *idx = knn_create(pts, n, BRAIN_EMBED_DIM);
	if (!idx)
		goto fail;
	double c1 = cpu_s();
	for (size_t z = 0; z < n; z++) {
		size_t i = knn_order(idx)[z];
		size_t got = knn_query(idx, pts + i * BRAIN_EMBED_DIM, m, (uint32_t)i, 0, cand + i * m, NULL);
		for (size_t r = got; r < m; r++)
			cand[i * m + r] = UINT32_MAX;
	}
	if (getenv("TOUR_BENCH_VERBOSE"))
		fprintf(stderr, "index: build %.3f s, %zu queries of %zu %.3f s\n",
			c1 - c0, n, m, cpu_s() - c1);
	knn_destroy(idx);
	free(pts);
	return cand;
fail:
	free(pts);
	free(cand);
	return NULL;
}

/* How many of each point's true K nearest (all pairs) are missing from
 * the K cheapest of its M candidates: printed on stderr. */
static void index_recall(const struct brain_track *tracks, size_t n,
			 const struct brain_weights *w, const uint32_t *cand,
			 size_t m, unsigned k)
{
	double *all = malloc(n * sizeof(*all));
	double *mine = malloc(m * sizeof(*mine));
	size_t missed = 0, total = 0, missed1 = 0;
	for (size_t i = 0; i < n && all && mine; i++) {
		for (size_t j = 0; j < n; j++)
			all[j] = j == i ? INFINITY
				 : brain_distance(&tracks[i], &tracks[j], w, NULL);
		/* The K-th smallest true distance. */
		double *sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			break;
		memcpy(sorted, all, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_double);
		double kth = sorted[k - 1], first = sorted[0];
		free(sorted);
		size_t got = 0;
		for (size_t r = 0; r < m; r++)
			if (cand[i * m + r] < n)
				mine[got++] = all[cand[i * m + r]];
		qsort(mine, got, sizeof(*mine), cmp_double);
		/* A true neighbour is missed when fewer than K candidates
		 * are within the K-th true distance (ties count as found). */
		size_t within = 0;
		for (size_t r = 0; r < got && r < k; r++)
			within += mine[r] <= kth;
		missed += k - within;
		total += k;
		missed1 += !(got > 0 && mine[0] <= first);
	}
	fprintf(stderr, "index recall, n = %zu, %zu candidates: %.2f%% of the "
		"true %u nearest missed; the nearest itself missed for %.2f%% "
		"of points\n", n, m, 100.0 * (double)missed / (double)(total ? total : 1),
		k, 100.0 * (double)missed1 / (double)n);
	free(all);
	free(mine);
}

/* forever.fm: start from a random order, then 100 n times pick two edges
 * at random and apply the 2-opt move if it lowers the cost. */
static double baseline(const float *m, size_t n, uint64_t seed)
{
	uint32_t *o = malloc(n * sizeof(*o));
	if (!o)
		return NAN;
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (size_t i = 0; i < n; i++)
		o[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() * (double)(i + 1));
		uint32_t tmp = o[i];
		o[i] = o[j];
		o[j] = tmp;
	}
#define C(a, b) ((double)m[(size_t)(a) * n + (b)])
	for (size_t ev = 0; ev < 100 * n; ev++) {
		size_t i = (size_t)(rnd() * (double)n);
		size_t j = (size_t)(rnd() * (double)n);
		if (i > j) {
			size_t tmp = i;
			i = j;
			j = tmp;
		}
		if (j - i < 2 || (i == 0 && j == n - 1))
			continue;
		size_t i1 = i + 1, j1 = (j + 1) % n;
		double delta = C(o[i], o[j]) + C(o[i1], o[j1]) -
			       C(o[i], o[i1]) - C(o[j], o[j1]);
		if (delta < 0.0)
			for (size_t a = i1, b = j; a < b; a++, b--) {
				uint32_t tmp = o[a];
				o[a] = o[b];
				o[b] = tmp;
			}
	}
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		sum += C(o[i], o[(i + 1) % n]);
#undef C
	free(o);
	return sum;
}

static void usage(void)
{
	fprintf(stderr, "usage: tour_bench --n N [--seeds S] [--kind euclid|brain] "
		"[--dim D] [--budget SECONDS] [--kicks K] [--hk-iterations I] "
		"[--source matrix|callback] [--neighbours K] [--wall] [--header]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t n = 0, seeds = 5, dim = 2;
	unsigned hk_iterations = 1000;
	double budget = 1.0;
	uint64_t kicks = 0;
	unsigned neighbours = 0;
	size_t n_cand = 16;
	double reference = 0;
	bool wall = false;
	const char *kind = "euclid", *source = "matrix";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--wall")) {
			wall = true;
			continue;
		}
		if (!strcmp(a, "--header")) {
			printf("%-7s %5s %4s | %10s | %-26s | %s\n", "", "", "", "",
			       "this solver", "2-opt, 100 n (forever.fm)");
			printf("%-7s %5s %4s | %10s | %8s %7s %9s | %8s %7s\n",
			       "kind", "n", "runs", "HK bound", "above", "cpu s",
			       "kicks", "above", "cpu s");
			return 0;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--n"))
			n = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seeds"))
			seeds = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--dim"))
			dim = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--budget"))
			budget = strtod(v, NULL);
		else if (!strcmp(a, "--kicks"))
			kicks = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--hk-iterations"))
			hk_iterations = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--neighbours"))
			neighbours = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--candidates"))
			n_cand = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--reference"))
			reference = strtod(v, NULL);
		else if (!strcmp(a, "--kind"))
			kind = v;
		else if (!strcmp(a, "--source"))
			source = v;
		else
			usage();
		i++;
	}
	bool brain = !strcmp(kind, "brain");
	bool use_index = !strcmp(source, "index");
	bool callback = !strcmp(source, "callback") || use_index;
	bool with_matrix = !use_index || n <= 4000;
	if (n < 5 || seeds == 0 || dim == 0 || (!brain && strcmp(kind, "euclid")) ||
	    (callback && !brain) || n_cand == 0 || n_cand > KNN_K_MAX)
		usage();

	double *bound = calloc(seeds, sizeof(double));
	double *ours = calloc(seeds, sizeof(double));
	double *ours_s = calloc(seeds, sizeof(double));
	double *base = calloc(seeds, sizeof(double));
	double *base_s = calloc(seeds, sizeof(double));
	double *kicks_done = calloc(seeds, sizeof(double));
	float *m = with_matrix ? malloc(n * n * sizeof(float)) : NULL;
	double *pt = malloc(n * dim * sizeof(double));
	struct tour *t = tour_create(n);
	if (!bound || !ours || !ours_s || !base || !base_s || !kicks_done ||
	    (with_matrix && !m) || !pt || !t) {
		fprintf(stderr, "tour_bench: out of memory\n");
		return 1;
	}
	for (size_t s = 0; s < seeds; s++) {
		rng_state = 0x1234567ULL + 7919ULL * s;
		struct brain_track *tracks = NULL;
		struct brain_ctx bc;
		double matrix_s = 0.0;
		if (brain) {
			tracks = brain_instance(n);
			if (!tracks)
				return 1;
			bc.tracks = tracks;
			brain_weights_default(&bc.w);
			double c0 = cpu_s();
			for (size_t i = 0; i < n && with_matrix; i++) {
				m[i * n + i] = 0.0f;
				for (size_t j = i + 1; j < n; j++)
					m[i * n + j] = m[j * n + i] =
						(float)brain_cost_fn(i, j, &bc);
			}
			matrix_s = cpu_s() - c0;
		} else {
			for (size_t i = 0; i < n * dim; i++)
				pt[i] = rnd();
			for (size_t i = 0; i < n; i++)
				for (size_t j = 0; j < n; j++) {
					double sum = 0.0;
					for (size_t k = 0; k < dim; k++) {
						double d = pt[i * dim + k] - pt[j * dim + k];
						sum += d * d;
					}
					m[i * n + j] = (float)sqrt(sum);
				}
		}
		struct tour_options opt;
		struct tour_stats st;
		tour_options_default(&opt);
		opt.seed = s + 1;
		opt.time_budget_s = budget;
		opt.max_kicks = kicks;
		if (neighbours)
			opt.neighbours = neighbours;
		if (!wall)
			opt.budget_clock = CLOCK_THREAD_CPUTIME_ID;
		double c0 = cpu_s();
		if (callback)
			tour_set_cost_fn(t, n, brain_cost_fn, &bc);
		else
			tour_set_matrix(t, m, n);
		uint32_t *cand = NULL;
		if (use_index) {
			cand = index_candidates(tracks, n, &bc.w, n_cand);
			if (!cand || tour_set_candidates(t, cand, n_cand,
					opt.neighbours) < 0) {
				fprintf(stderr, "tour_bench: index failed\n");
				return 1;
			}
		}
		double index_s = cpu_s() - c0;
		int rc = tour_solve(t, &opt, &st);
		ours_s[s] = cpu_s() - c0 + (callback ? 0.0 : matrix_s);
		if (rc < 0) {
			fprintf(stderr, "tour_solve: %s\n", strerror(-rc));
			return 1;
		}
		if (use_index && s == 0 && n <= 4000)
			index_recall(tracks, n, &bc.w, cand, n_cand, opt.neighbours);
		if (with_matrix)
			tour_set_matrix(t, m, n); /* same costs, as floats, for fairness */
		ours[s] = tour_cost(t);
		kicks_done[s] = (double)st.kicks;
		if (getenv("TOUR_BENCH_VERBOSE"))
			fprintf(stderr, "seed %zu: index and candidates %.3f s, "
				"greedy %.4f, local search %.4f, final %.4f, "
				"%.3f s cpu\n", s, index_s, st.initial_cost,
				st.local_cost, ours[s], ours_s[s]);
		if (with_matrix) {
			rc = tour_lower_bound(t, hk_iterations, ours[s], &bound[s]);
			if (rc < 0) {
				fprintf(stderr, "tour_lower_bound: %s\n", strerror(-rc));
				return 1;
			}
			c0 = cpu_s();
			base[s] = baseline(m, n, s + 1);
			base_s[s] = cpu_s() - c0;
		} else {
			/* The reference: the same instance, 16 neighbours
			 * and REFERENCE seconds. */
			struct tour_options ro = opt;
			ro.seed = opt.seed + 1000;
			ro.time_budget_s = reference > 0 ? reference : 10 * budget;
			ro.max_kicks = 0;
			ro.neighbours = 16;
			tour_set_cost_fn(t, n, brain_cost_fn, &bc);
			size_t m2 = n_cand > 24 ? n_cand : 24;
			uint32_t *cand2 = index_candidates(tracks, n, &bc.w, m2);
			if (!cand2 || tour_set_candidates(t, cand2, m2, 16) < 0 ||
			    tour_solve(t, &ro, NULL) < 0) {
				fprintf(stderr, "tour_bench: reference failed\n");
				return 1;
			}
			free(cand2);
			bound[s] = tour_cost(t);
			base[s] = NAN;
			base_s[s] = NAN;
		}
		free(cand);
		ours[s] = 100.0 * (ours[s] / bound[s] - 1.0);
		base[s] = 100.0 * (base[s] / bound[s] - 1.0);
		if (getenv("TOUR_BENCH_VERBOSE"))
			fprintf(stderr, "seed %zu: bound %.4f ours %+.2f%% (local %.4f initial %.4f) %.3f s base %+.2f%%\n",
				s, bound[s], ours[s], st.local_cost, st.initial_cost, ours_s[s], base[s]);
		free(tracks);
	}
	char label[32];
	if (brain)
		snprintf(label, sizeof(label), "brain%s",
			 use_index ? (with_matrix ? "-ix" : "-ixr")
				   : callback ? "-cb" : "");
	else
		snprintf(label, sizeof(label), "euc%zud", dim);
	double hk = median(bound, seeds);
	double k_med = median(kicks_done, seeds);
	double o = median(ours, seeds), os = median(ours_s, seeds);
	double b = median(base, seeds), bs = median(base_s, seeds);
	printf("%-7s %5zu %4zu | %10.4f | %7.2f%% %7.3f %8.0fk | %7.2f%% %7.3f\n",
	       label, n, seeds, hk, o, os, k_med / 1000.0, b, bs);
	free(bound);
	free(ours);
	free(ours_s);
	free(base);
	free(base_s);
	free(kicks_done);
	free(m);
	free(pt);
	tour_destroy(t);
	return 0;
}
