/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * knn — a static k-d tree with exact k-nearest-neighbour queries. See
 * knn.h for the DESIGN.
 *
 * The median of a node is found by quickselect with a three-way
 * partition, so that many equal coordinates (a library where half the
 * tracks share an unknown feature's default) cost no more than distinct
 * ones. A query keeps its k best in a max-heap ordered by (distance,
 * index), so that ties come out by the lower index whatever order the
 * tree visits them in: the answer equals a brute-force sort.
 */
#include "autoconfig.h"

#include "knn.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct knn_node {
	uint32_t lo, hi;          /* points[lo .. hi) in leaf order */
	uint32_t left, right;     /* children; KNN_NONE for a leaf */
	float split;
	uint32_t dim;
};

struct knn {
	size_t n;
	unsigned dim;
	float *pts;               /* n * dim, in leaf order */
	uint32_t *id;             /* leaf order -> caller's index */
	struct knn_node *nodes;
	size_t n_nodes, cap_nodes;
};

static float coord(const struct knn *t, const float *src, uint32_t i,
		   unsigned d)
{
	return src[(size_t)i * t->dim + d];
}

/* Rearranges ID[lo .. hi) so that ID[mid] holds the point whose
 * coordinate D would be there in sorted order, none greater before it and
 * none smaller after it. */
static void select_median(const struct knn *t, const float *src, uint32_t *id,
			  uint32_t lo, uint32_t hi, uint32_t mid, unsigned d)
{
	uint64_t rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)lo << 20) ^ hi;
	while (hi - lo > 1) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		float pivot = coord(t, src, id[lo + (uint32_t)(rng % (hi - lo))], d);
		/* [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot */
		uint32_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			float v = coord(t, src, id[i], d);
			uint32_t tmp;
			if (v < pivot) {
				tmp = id[lt]; id[lt] = id[i]; id[i] = tmp;
				lt++;
				i++;
			} else if (v > pivot) {
				gt--;
				tmp = id[gt]; id[gt] = id[i]; id[i] = tmp;
			} else {
				i++;
			}
		}
		if (mid < lt)
			hi = lt;
		else if (mid >= gt)
			lo = gt;
		else
			return;
	}
}

/* Builds the subtree of ID[lo .. hi); returns its node or KNN_NONE when
 * out of memory. */
static uint32_t build(struct knn *t, const float *src, uint32_t *id,
		      uint32_t lo, uint32_t hi)
{
	if (t->n_nodes == t->cap_nodes) {
		size_t cap = t->cap_nodes ? 2 * t->cap_nodes : 64;
		struct knn_node *p = realloc(t->nodes, cap * sizeof(*p));
		if (!p)
			return KNN_NONE;
		t->nodes = p;
		t->cap_nodes = cap;
	}
	uint32_t me = (uint32_t)t->n_nodes++;
	struct knn_node nd = { .lo = lo, .hi = hi, .left = KNN_NONE,
			       .right = KNN_NONE, .split = 0, .dim = 0 };
	float best_spread = 0;
	if (hi - lo > KNN_LEAF) {
		for (unsigned d = 0; d < t->dim; d++) {
			float mn = INFINITY, mx = -INFINITY;
			for (uint32_t i = lo; i < hi; i++) {
				float v = coord(t, src, id[i], d);
				mn = v < mn ? v : mn;
				mx = v > mx ? v : mx;
			}
			if (mx - mn > best_spread) {
				best_spread = mx - mn;
				nd.dim = d;
			}
		}
	}
	if (best_spread > 0) {
		/* All points equal: a leaf, however many. */
		uint32_t mid = lo + (hi - lo) / 2;
		select_median(t, src, id, lo, hi, mid, nd.dim);
		nd.split = coord(t, src, id[mid], nd.dim);
		uint32_t l = build(t, src, id, lo, mid);
		uint32_t r = l == KNN_NONE ? KNN_NONE : build(t, src, id, mid, hi);
		if (r == KNN_NONE)
			return KNN_NONE;
		nd.left = l;
		nd.right = r;
	}
	t->nodes[me] = nd;
	return me;
}

struct knn *knn_create(const float *points, size_t n, unsigned dim)
{
	if (!points || n == 0 || n >= UINT32_MAX || dim == 0 ||
	    dim > KNN_DIM_MAX) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < n * dim; i++)
		if (!isfinite(points[i])) {
			errno = EINVAL;
			return NULL;
		}
	struct knn *t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->n = n;
	t->dim = dim;
	t->pts = malloc(n * dim * sizeof(*t->pts));
	t->id = malloc(n * sizeof(*t->id));
	if (!t->pts || !t->id)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		t->id[i] = (uint32_t)i;
	if (build(t, points, t->id, 0, (uint32_t)n) == KNN_NONE)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		memcpy(t->pts + i * dim, points + (size_t)t->id[i] * dim,
		       dim * sizeof(*t->pts));
	return t;
nomem:
	knn_destroy(t);
	errno = ENOMEM;
	return NULL;
}

void knn_destroy(struct knn *t)
{
	if (!t)
		return;
	free(t->pts);
	free(t->id);
	free(t->nodes);
	free(t);
}

size_t knn_size(const struct knn *t)
{
	return t->n;
}

const uint32_t *knn_order(const struct knn *t)
{
	return t->id;
}

/* ---- queries ------------------------------------------------------- */

struct heap {
	float *d2;
	uint32_t *id;
	size_t n, k;
};

/* Is (da, ia) further than (db, ib)? */
static bool further(float da, uint32_t ia, float db, uint32_t ib)
{
	return da > db || (da == db && ia > ib);
}

static void heap_offer(struct heap *h, float d2, uint32_t id)
{
	size_t i;
	if (h->n < h->k) {
		i = h->n++;
		while (i > 0) {
			size_t p = (i - 1) / 2;
			if (!further(d2, id, h->d2[p], h->id[p]))
				break;
			h->d2[i] = h->d2[p];
			h->id[i] = h->id[p];
			i = p;
		}
		h->d2[i] = d2;
		h->id[i] = id;
		return;
	}
	if (!further(h->d2[0], h->id[0], d2, id))
		return;
	/* Replace the root and sift down. */
	i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n &&
		    further(h->d2[c + 1], h->id[c + 1], h->d2[c], h->id[c]))
			c++;
		if (!further(h->d2[c], h->id[c], d2, id))
			break;
		h->d2[i] = h->d2[c];
		h->id[i] = h->id[c];
		i = c;
	}
	h->d2[i] = d2;
	h->id[i] = id;
}

/* RD is the squared distance from Q to the cell of NODE, OFF[d] its
 * part along each coordinate (Arya and Mount's incremental distance: a
 * far cell is visited only while the whole cell, not just the plane, is
 * nearer than the k-th best). */
static void search(const struct knn *t, uint32_t node, const float *q,
		   uint32_t skip, struct heap *h, float rd, float *off,
		   float shrink)
{
	const struct knn_node *nd = &t->nodes[node];
	if (nd->left == KNN_NONE) {
		unsigned dim = t->dim;
		for (uint32_t i = nd->lo; i < nd->hi; i++) {
			if (t->id[i] == skip)
				continue;
			const float *p = t->pts + (size_t)i * dim;
			float s = 0;
			for (unsigned d = 0; d < dim; d++) {
				float diff = p[d] - q[d];
				s += diff * diff;
			}
			heap_offer(h, s, t->id[i]);
		}
		return;
	}
	float diff = q[nd->dim] - nd->split;
	uint32_t near = diff < 0 ? nd->left : nd->right;
	uint32_t far = diff < 0 ? nd->right : nd->left;
	search(t, near, q, skip, h, rd, off, shrink);
	float old = off[nd->dim];
	float far_rd = rd - old * old + diff * diff;
	/* <=, not <: a point on the boundary may tie with the k-th best
	 * and win by its index. */
	if (h->n < h->k || far_rd * shrink <= h->d2[0]) {
		off[nd->dim] = diff;
		search(t, far, q, skip, h, far_rd, off, shrink);
		off[nd->dim] = old;
	}
}

size_t knn_query(const struct knn *t, const float *q, size_t k,
		 uint32_t skip, double slack, uint32_t *out, float *d2)
{
	float hd[KNN_K_MAX];
	uint32_t hi[KNN_K_MAX];
	if (!t || !q || !out || k == 0)
		return 0;
	if (k > KNN_K_MAX)
		k = KNN_K_MAX;
	struct heap h = { .d2 = hd, .id = hi, .n = 0, .k = k };
	float off[KNN_DIM_MAX] = { 0 };
	/* The margin covers the rounding of the cell distances, which must
	 * never exceed the true ones when the answer is to be exact. */
	float shrink = (float)((1.0 + (slack > 0 ? slack : 0)) *
			       (1.0 + (slack > 0 ? slack : 0)) * 0.99999);
	search(t, 0, q, skip, &h, 0.0f, off, shrink);
	/* Heap sort: the furthest comes off first, into the last slot. */
	size_t n = h.n;
	for (size_t m = n; m > 0; m--) {
		float top_d = h.d2[0];
		uint32_t top_i = h.id[0];
		float last_d = h.d2[m - 1];
		uint32_t last_i = h.id[m - 1];
		h.n = m - 1;
		if (h.n > 0) {
			/* Sift the last element down from the root. */
			size_t i = 0;
			for (;;) {
				size_t c = 2 * i + 1;
				if (c >= h.n)
					break;
				if (c + 1 < h.n &&
				    further(h.d2[c + 1], h.id[c + 1], h.d2[c], h.id[c]))
					c++;
				if (!further(h.d2[c], h.id[c], last_d, last_i))
					break;
				h.d2[i] = h.d2[c];
				h.id[i] = h.id[c];
				i = c;
			}
			h.d2[i] = last_d;
			h.id[i] = last_i;
		}
		out[m - 1] = top_i;
		if (d2)
			d2[m - 1] = top_d;
	}
	return n;
}
