/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_knn — the k-d tree answers exactly what a brute-force sort of all
 * points answers (same points, same order, ties by the lower index), in
 * 1 to 10 dimensions, with clusters and many equal points; the
 * approximate search keeps its (1 + e) promise; bad arguments are
 * refused.
 */
#include "autoconfig.h"

#include "knn.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static double rnd(void)
{
	return test_rand(&rng);
}

struct cand {
	float d2;
	uint32_t id;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->d2 != y->d2)
		return x->d2 < y->d2 ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Squared distance, summed in the order the tree sums it. */
static float dist2(const float *a, const float *b, unsigned dim)
{
	float s = 0;
	for (unsigned d = 0; d < dim; d++) {
		float diff = b[d] - a[d];
		s += diff * diff;
	}
	return s;
}

/* N points of DIM coordinates: clusters (KIND 0), uniform (1), or a
 * coarse grid with many equal points and ties (2). */
static float *make_points(size_t n, unsigned dim, int kind)
{
	float *p = malloc(n * dim * sizeof(*p));
	CHECK(p);
	float centre[8][16];
	for (int c = 0; c < 8; c++)
		for (unsigned d = 0; d < dim; d++)
			centre[c][d] = (float)rnd();
	for (size_t i = 0; i < n; i++) {
		int c = (int)(rnd() * 8) % 8;
		for (unsigned d = 0; d < dim; d++) {
			double v = kind == 0 ? centre[c][d] + 0.05 * (rnd() - 0.5)
				 : kind == 1 ? rnd() : floor(rnd() * 3);
			p[i * dim + d] = (float)v;
		}
	}
	return p;
}

static void check_exact(size_t n, unsigned dim, int kind, size_t k)
{
	float *p = make_points(n, dim, kind);
	struct knn *idx = knn_create(p, n, dim);
	CHECK(idx);
	CHECK_INT(knn_size(idx), ==, n);
	struct cand *all = malloc(n * sizeof(*all));
	uint32_t out[KNN_K_MAX];
	float d2[KNN_K_MAX];
	CHECK(all);
	for (size_t q = 0; q < n; q += n > 400 ? 7 : 1) {
		/* Half the queries skip their own point, half do not. */
		uint32_t skip = q % 2 ? (uint32_t)q : KNN_NONE;
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (i != skip)
				all[m++] = (struct cand){
					dist2(p + q * dim, p + i * dim, dim),
					(uint32_t)i };
		qsort(all, m, sizeof(*all), cmp_cand);
		size_t got = knn_query(idx, p + q * dim, k, skip, 0, out, d2);
		CHECK_INT(got, ==, k < m ? k : m);
		for (size_t r = 0; r < got; r++) {
			if (out[r] != all[r].id)
				fprintf(stderr, "n %zu dim %u kind %d query %zu "
					"rank %zu: %u (%g) against %u (%g)\n",
					n, dim, kind, q, r, out[r], d2[r],
					all[r].id, all[r].d2);
			CHECK_INT(out[r], ==, all[r].id);
			CHECK(d2[r] == all[r].d2);
		}
	}
	/* A query point that is not in the tree. */
	float qp[16];
	for (unsigned d = 0; d < dim; d++)
		qp[d] = (float)(rnd() * 1.2 - 0.1);
	for (size_t i = 0; i < n; i++)
		all[i] = (struct cand){ dist2(qp, p + i * dim, dim), (uint32_t)i };
	qsort(all, n, sizeof(*all), cmp_cand);
	size_t got = knn_query(idx, qp, k, KNN_NONE, 0, out, NULL);
	for (size_t r = 0; r < got; r++)
		CHECK_INT(out[r], ==, all[r].id);
	free(all);
	free(p);
	knn_destroy(idx);
}

/* With slack e, the r-th point returned is no further than (1 + e) times
 * the true r-th nearest. */
static void check_slack(void)
{
	const size_t n = 3000, k = 40;
	const unsigned dim = 10;
	const double e = 1.0;
	float *p = make_points(n, dim, 1);
	struct knn *idx = knn_create(p, n, dim);
	CHECK(idx);
	struct cand *all = malloc(n * sizeof(*all));
	uint32_t out[KNN_K_MAX];
	float d2[KNN_K_MAX];
	CHECK(all);
	for (size_t q = 0; q < n; q += 31) {
		for (size_t i = 0; i < n; i++)
			all[i] = (struct cand){ dist2(p + q * dim, p + i * dim, dim),
						(uint32_t)i };
		qsort(all, n, sizeof(*all), cmp_cand);
		size_t got = knn_query(idx, p + q * dim, k, KNN_NONE, e, out, d2);
		CHECK_INT(got, ==, k);
		for (size_t r = 0; r < got; r++) {
			CHECK(d2[r] == dist2(p + q * dim, p + out[r] * dim, dim));
			CHECK(sqrt(d2[r]) <= (1 + e) * sqrt(all[r].d2) * 1.0001 + 1e-6);
			if (r > 0)
				CHECK(d2[r] >= d2[r - 1]);
		}
	}
	free(all);
	free(p);
	knn_destroy(idx);
}

int main(void)
{
	float pts[4] = { 0, 1, 2, NAN };
	uint32_t out[4];
	errno = 0;
	CHECK(knn_create(pts, 4, 1) == NULL && errno == EINVAL);
	CHECK(knn_create(pts, 0, 1) == NULL && errno == EINVAL);
	CHECK(knn_create(pts, 3, 0) == NULL && errno == EINVAL);
	CHECK(knn_create(pts, 1, KNN_DIM_MAX + 1) == NULL && errno == EINVAL);
	knn_destroy(NULL);

	/* One point, asked for more than there are, or only itself. */
	struct knn *one = knn_create(pts, 1, 1);
	CHECK(one);
	CHECK_INT(knn_query(one, pts, 3, KNN_NONE, 0, out, NULL), ==, 1);
	CHECK_INT(out[0], ==, 0);
	CHECK_INT(knn_query(one, pts, 3, 0, 0, out, NULL), ==, 0);
	knn_destroy(one);

	/* All points equal: one leaf of many, ties by index. */
	float same[200];
	for (int i = 0; i < 200; i++)
		same[i] = 1.5f;
	struct knn *flat = knn_create(same, 100, 2);
	CHECK(flat);
	uint32_t five[5];
	CHECK_INT(knn_query(flat, same, 5, 0, 0, five, NULL), ==, 5);
	for (uint32_t r = 0; r < 5; r++)
		CHECK_INT(five[r], ==, r + 1);
	knn_destroy(flat);

	static const unsigned dims[] = { 1, 2, 3, 5, 10 };
	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
		for (int kind = 0; kind < 3; kind++) {
			check_exact(300, dims[d], kind, 1);
			check_exact(300, dims[d], kind, 10);
			check_exact(2000, dims[d], kind, 40);
		}
	check_exact(50, 3, 0, KNN_K_MAX);
	check_slack();
	return 0;
}
