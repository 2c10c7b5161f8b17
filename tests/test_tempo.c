/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_tempo — the pair rule (ratios, limits, symmetry, the tolerance at
 * the limits) and the tempo circle: the counts of hand-computed tempo
 * sets, and against brute force over every cycle of random small sets
 * (with tracks off the circle too) that the count is the minimum and the
 * order built reaches it.
 */
#include "autoconfig.h"

#include "tempo.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 9

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double rnd(void)
{
	return test_rand(&rng);
}

static void test_match(void)
{
	struct tempo_match m;
	CHECK_INT(tempo_match(120, 120, 0.08, &m), ==, 0);
	CHECK(m.ratio == 1 && m.log_speed == 0 && m.reach == TEMPO_DIRECT);
	/* Exactly at the direct limit, and at the bridge limit: within. */
	CHECK_INT(tempo_match(120, 120 * 1.08, 0.08, &m), ==, 0);
	CHECK(m.reach == TEMPO_DIRECT);
	CHECK_INT(tempo_match(120, 120 * 1.08 * 1.08, 0.08, &m), ==, 0);
	CHECK(m.reach == TEMPO_BRIDGED);
	CHECK_INT(tempo_match(120 * 1.08 * 1.08, 120, 0.08, &m), ==, 0);
	CHECK(m.reach == TEMPO_BRIDGED);
	CHECK_INT(tempo_match(120, 120 * 1.08 * 1.0801, 0.08, &m), ==, 0);
	CHECK(m.reach == TEMPO_BEYOND);
	CHECK(!tempo_bridgeable(120, 141, 0.08));
	CHECK(tempo_bridgeable(120, 139, 0.08));
	/* Double and half time. */
	CHECK_INT(tempo_match(70, 140, 0.08, &m), ==, 0);
	CHECK(m.ratio == 2 && m.reach == TEMPO_DIRECT);
	CHECK_INT(tempo_match(140, 72, 0.08, &m), ==, 0);
	CHECK(m.ratio == 0.5 && m.reach == TEMPO_DIRECT);
	CHECK(tempo_bridgeable(90, 160, 0.08));  /* 180 / 160 = 1.125 */
	CHECK(!tempo_bridgeable(90, 120, 0.08)); /* 1.333, 1.5 */
	/* Symmetric to the bit, over many pairs. */
	for (int i = 0; i < 10000; i++) {
		double a = 60 + 140 * rnd(), b = 60 + 140 * rnd();
		double s = 0.2 * rnd();
		struct tempo_match x, y;
		CHECK_INT(tempo_match(a, b, s, &x), ==, 0);
		CHECK_INT(tempo_match(b, a, s, &y), ==, 0);
		CHECK(x.reach == y.reach && x.log_speed == -y.log_speed &&
		      x.ratio == 1 / y.ratio);
	}
	/* Errors. */
	CHECK_INT(tempo_match(0, 120, 0.08, &m), ==, -EINVAL);
	CHECK_INT(tempo_match(120, NAN, 0.08, &m), ==, -EINVAL);
	CHECK_INT(tempo_match(120, 120, 1.0, &m), ==, -EINVAL);
	CHECK_INT(tempo_match(120, 120, -0.1, &m), ==, -EINVAL);
	CHECK_INT(tempo_match(120, 120, 0.08, NULL), ==, -EINVAL);
	CHECK(!tempo_bridgeable(120, 0, 0.08));
	CHECK_NEAR(tempo_bridge_limit_octaves(0.08), 0.2220, 1e-4);
}

/* The fewest unbridgeable steps over every cycle (brute force: every
 * order with index 0 first). */
static double perm_bpm[MAXN];
static size_t best_count;

static void permute(double *v, size_t n, size_t k, double ms)
{
	if (k == n) {
		size_t c = tempo_cycle_unbridgeable(v, n, ms);
		if (c < best_count)
			best_count = c;
		return;
	}
	for (size_t i = k; i < n; i++) {
		double t = v[k];
		v[k] = v[i];
		v[i] = t;
		permute(v, n, k + 1, ms);
		v[i] = v[k];
		v[k] = t;
	}
}

static size_t brute_min(const double *bpm, size_t n, double ms)
{
	if (n == 0)
		return 0;
	memcpy(perm_bpm, bpm, n * sizeof(*bpm));
	best_count = SIZE_MAX;
	permute(perm_bpm, n, 1, ms);
	return best_count;
}

/* The count of BPM, checked against brute force and the order built. */
static size_t count_of(const double *bpm, size_t n, double ms,
		       size_t *wide_gaps)
{
	struct tempo_circle c, c2;
	uint32_t order[MAXN];
	double seq[MAXN];
	CHECK_INT(tempo_circle_count(bpm, n, ms, &c), ==, 0);
	CHECK_INT(tempo_circle_order(bpm, n, ms, order, &c2), ==, 0);
	CHECK(c.tracks == c2.tracks && c.wide_gaps == c2.wide_gaps &&
	      c.unavoidable == c2.unavoidable);
	uint8_t seen[MAXN] = { 0 };
	for (size_t i = 0; i < n; i++) {
		CHECK(order[i] < n && !seen[order[i]]);
		seen[order[i]] = 1;
		seq[i] = bpm[order[i]];
	}
	/* The order reaches the count... */
	CHECK_INT(tempo_cycle_unbridgeable(seq, n, ms), <=, c.unavoidable);
	/* ...which no order beats. */
	CHECK_INT(brute_min(bpm, n, ms), ==, c.unavoidable);
	if (wide_gaps)
		*wide_gaps = c.wide_gaps;
	return c.unavoidable;
}

static void test_sets(void)
{
	size_t k;
	const double a[] = { 120, 124, 128 };
	CHECK_INT(count_of(a, 3, 0.08, &k), ==, 0);
	CHECK_INT(k, ==, 0);
	/* log2(120 / 90) = 0.415 and 0.585 the other way round: both
	 * beyond the bridge limit 0.222, two clusters. */
	const double b[] = { 90, 120 };
	CHECK_INT(count_of(b, 2, 0.08, &k), ==, 2);
	CHECK_INT(k, ==, 2);
	/* An octave is the same point. */
	const double c[] = { 100, 200 };
	CHECK_INT(count_of(c, 2, 0.08, &k), ==, 0);
	/* Round the octave in steps of at most 2^0.2 = 1.149 < 1.08^2 =
	 * 1.166, 160 = 2 x 80 closing the circle: no wide gap. */
	const double d[] = { 80, 92, 106, 122, 140, 160 };
	CHECK_INT(count_of(d, 6, 0.08, &k), ==, 0);
	CHECK_INT(k, ==, 0);
	/* 80 95 113 135 160 looks as smooth, but on the circle (x = log2
	 * mod 1) it is 135 .077, 80 .322, 160 .322, 95 .570, 113 .820:
	 * gaps .245 0 .248 .250 .257, four of them beyond 0.222. */
	const double e[] = { 80, 95, 113, 135, 160 };
	CHECK_INT(count_of(e, 5, 0.08, &k), ==, 4);
	CHECK_INT(k, ==, 4);
	/* With max_stretch 10% (limit 0.275) all are bridgeable. */
	CHECK_INT(count_of(e, 5, 0.10, &k), ==, 0);
	/* One wide gap: an arc 100 .. 125 (0.32 octave). Every pair two
	 * apart within 1.166: the zigzag 100 116 125 108 makes none. */
	const double f[] = { 100, 108, 116, 125 };
	CHECK_INT(count_of(f, 4, 0.08, &k), ==, 0);
	CHECK_INT(k, ==, 1);
	/* 100 115 132: 132 / 100 = 1.32, so 115 is the only way between
	 * them: one jump. */
	const double g[] = { 100, 115, 132 };
	CHECK_INT(count_of(g, 3, 0.08, &k), ==, 1);
	CHECK_INT(k, ==, 1);
	/* Tracks off the circle do not count; one between two clusters
	 * takes a jump's place. */
	const double h[] = { 90, 0, 120, -1 };
	CHECK_INT(count_of(h, 4, 0.08, &k), ==, 0);
	CHECK_INT(k, ==, 2);
	const double h2[] = { 90, 0, 120, 150 };
	CHECK_INT(count_of(h2, 4, 0.08, &k), ==, 2);
	CHECK_INT(k, ==, 3);
	const double h3[] = { 100, 115, 0, 132 };
	CHECK_INT(count_of(h3, 4, 0.08, &k), ==, 0);
	const double one[] = { 128 };
	CHECK_INT(count_of(one, 1, 0.08, &k), ==, 0);
	CHECK_INT(count_of(NULL, 0, 0.08, &k), ==, 0);
	struct tempo_circle cc;
	CHECK_INT(tempo_circle_count(NULL, 3, 0.08, &cc), ==, -EINVAL);
	CHECK_INT(tempo_circle_count(a, 3, 1.5, &cc), ==, -EINVAL);
	CHECK_INT(tempo_circle_count(a, 3, 0.08, NULL), ==, -EINVAL);
	/* A cycle of two has two steps. */
	CHECK_INT(tempo_cycle_unbridgeable(b, 2, 0.08), ==, 2);
	CHECK_INT(tempo_cycle_unbridgeable(b, 1, 0.08), ==, 0);
}

/* Random sets in the analysis's tempo range (70 .. 180 BPM: within 1.5
 * octaves, where the circle is exact), often in a few tight clusters so
 * that every k occurs. */
static void test_brute_force(void)
{
	size_t seen_k[5] = { 0 };
	for (int it = 0; it < 3000; it++) {
		size_t n = 1 + (size_t)(rnd() * 8);
		double ms = (const double[]){ 0.02, 0.05, 0.08, 0.12 }[it % 4];
		double bpm[MAXN];
		size_t centres = 1 + (size_t)(rnd() * 4);
		double centre[4];
		for (size_t c = 0; c < centres; c++)
			centre[c] = 70 * pow(180.0 / 70.0, rnd());
		for (size_t i = 0; i < n; i++) {
			double b = centre[(size_t)(rnd() * centres)] *
				   (1 + 0.2 * (rnd() - 0.5));
			b = b < 70 ? 70 : b > 180 ? 180 : b;
			bpm[i] = b;
		}
		size_t k;
		count_of(bpm, n, ms, &k);
		seen_k[k < 4 ? k : 4]++;
		/* The same set, some tracks off the circle. */
		for (size_t i = 0; i < n; i++)
			if (rnd() < 0.25)
				bpm[i] = 0;
		count_of(bpm, n, ms, NULL);
	}
	for (int k = 0; k < 5; k++)
		CHECK(seen_k[k] > 20);
}

int main(void)
{
	test_match();
	test_sets();
	test_brute_force();
	return 0;
}
