/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tempo — the pair rule and the tempo circle. See tempo.h for the rule
 * and the proof of the count.
 *
 * The circle's gaps are judged by the pair rule itself (are the two
 * neighbours bridgeable?), not by comparing the arc with L: the two agree
 * wherever DESIGN's proof holds, and judging by the pair rule makes the
 * order built here reach the count to the bit, since every step it takes
 * inside a cluster is a pair the rule has already accepted.
 */
#include "autoconfig.h"

#include "tempo.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static bool bpm_ok(double bpm)
{
	return bpm > 0.0 && isfinite(bpm);
}

static bool stretch_ok(double max_stretch)
{
	return max_stretch >= 0.0 && max_stretch < 1.0;
}

int tempo_match(double bpm_a, double bpm_b, double max_stretch,
		struct tempo_match *m)
{
	if (!m || !bpm_ok(bpm_a) || !bpm_ok(bpm_b) || !stretch_ok(max_stretch))
		return -EINVAL;
	/* ln b - ln a, never ln(b / a): swapping the tracks negates it
	 * exactly, and so every candidate; the fixed order with strict <
	 * then picks the negated winner (a tie between x2 and x1/2 needs
	 * d = 0, where x1 wins both ways). */
	double d = log(bpm_b) - log(bpm_a);
	const double cand[3] = { d, d - M_LN2, d + M_LN2 };
	const double ratio[3] = { 1.0, 2.0, 0.5 };
	int best = 0;
	for (int i = 1; i < 3; i++)
		if (fabs(cand[i]) < fabs(cand[best]))
			best = i;
	double s = fabs(cand[best]);
	double limit = log1p(max_stretch);
	m->ratio = ratio[best];
	m->log_speed = cand[best];
	m->reach = s <= limit + TEMPO_TOLERANCE ? TEMPO_DIRECT
		   : s <= 2.0 * limit + TEMPO_TOLERANCE ? TEMPO_BRIDGED
		   : TEMPO_BEYOND;
	return 0;
}

bool tempo_bridgeable(double bpm_a, double bpm_b, double max_stretch)
{
	struct tempo_match m;
	return tempo_match(bpm_a, bpm_b, max_stretch, &m) == 0 &&
	       m.reach != TEMPO_BEYOND;
}

double tempo_bridge_limit_octaves(double max_stretch)
{
	return 2.0 * log1p(max_stretch) / M_LN2;
}

size_t tempo_cycle_unbridgeable(const double *bpm, size_t n,
				double max_stretch)
{
	size_t c = 0;
	if (!bpm || n < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		double a = bpm[i], b = bpm[(i + 1) % n];
		if (bpm_ok(a) && bpm_ok(b) && !tempo_bridgeable(a, b, max_stretch))
			c++;
	}
	return c;
}

/* ---- the circle ------------------------------------------------------ */

struct point {
	double x;   /* log2(bpm) mod 1 */
	double bpm;
	uint32_t ix;
};

static int cmp_point(const void *a, const void *b)
{
	const struct point *p = a, *q = b;
	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	if (p->bpm != q->bpm) /* octaves of one point: a fixed order */
		return p->bpm < q->bpm ? -1 : 1;
	return (p->ix > q->ix) - (p->ix < q->ix);
}

int tempo_circle_order(const double *bpm, size_t n, double max_stretch,
		       uint32_t *order, struct tempo_circle *out)
{
	if ((!bpm && n > 0) || !stretch_ok(max_stretch) || n > UINT32_MAX)
		return -EINVAL;
	struct tempo_circle c = { 0, 0, 0 };
	struct point *p = malloc((n ? n : 1) * sizeof(*p));
	uint32_t *circle = malloc((n ? n : 1) * sizeof(*circle));
	if (!p || !circle) {
		free(p);
		free(circle);
		return -ENOMEM;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!bpm_ok(bpm[i]))
			continue;
		double l = log2(bpm[i]);
		p[m].x = l - floor(l);
		p[m].bpm = bpm[i];
		p[m].ix = (uint32_t)i;
		m++;
	}
	qsort(p, m, sizeof(*p), cmp_point);
	c.tracks = m;
	/* k: neighbours round the circle that the pair rule cannot bridge.
	 * One point is its own neighbour (bridgeable); two are each
	 * other's, twice. */
	size_t wide_at = 0;
	for (size_t i = 0; i < m; i++)
		if (!tempo_bridgeable(p[i].bpm, p[(i + 1) % m].bpm, max_stretch)) {
			c.wide_gaps++;
			wide_at = i;
		}
	c.unavoidable = c.wide_gaps;
	size_t first = 0;
	bool zigzag = false;
	if (c.wide_gaps == 1) {
		/* The arc starts after the wide gap: p[first] .. p[first + m - 1]
		 * (mod m) ascending along it. Zigzag iff every pair two apart
		 * is bridgeable (m >= 3 here: see tempo.h). */
		first = (wide_at + 1) % m;
		zigzag = m >= 3;
		for (size_t i = 0; i + 2 < m && zigzag; i++)
			zigzag = tempo_bridgeable(p[(first + i) % m].bpm,
						  p[(first + i + 2) % m].bpm,
						  max_stretch);
		c.unavoidable = zigzag ? 0 : 1;
	}
	/* A track off the circle between two clusters takes a jump's
	 * place: one each, as far as they go. */
	size_t off = n - m;
	c.unavoidable = c.unavoidable > off ? c.unavoidable - off : 0;
	if (order) {
		size_t k = 0;
		if (zigzag) {
			for (size_t i = 0; i < m; i += 2)
				order[k++] = p[(first + i) % m].ix;
			for (size_t i = (m % 2 ? m - 2 : m - 1); i < m; i -= 2)
				order[k++] = p[(first + i) % m].ix;
		} else {
			for (size_t i = 0; i < m; i++)
				order[k++] = p[(first + i) % m].ix;
		}
		/* The tracks off the circle: one into each jump (after the
		 * track it leaves), the rest at the end. */
		size_t next_off = 0, placed = k;
		for (size_t i = 0; i < placed; i++)
			circle[i] = order[i];
		k = 0;
		for (size_t i = 0; i < placed; i++) {
			order[k++] = circle[i];
			if (placed < 2 || tempo_bridgeable(bpm[circle[i]],
					bpm[circle[(i + 1) % placed]], max_stretch))
				continue;
			while (next_off < n && bpm_ok(bpm[next_off]))
				next_off++;
			if (next_off < n)
				order[k++] = (uint32_t)next_off++;
		}
		for (; next_off < n; next_off++)
			if (!bpm_ok(bpm[next_off]))
				order[k++] = (uint32_t)next_off;
	}
	free(circle);
	free(p);
	if (out)
		*out = c;
	return 0;
}

int tempo_circle_count(const double *bpm, size_t n, double max_stretch,
		       struct tempo_circle *c)
{
	if (!c)
		return -EINVAL;
	return tempo_circle_order(bpm, n, max_stretch, NULL, c);
}
