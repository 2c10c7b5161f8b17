/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * knn — exact k nearest neighbours of points in a few dimensions, from a
 * k-d tree: the spatial index from which the tour takes its candidate
 * neighbours past the matrix limit, in O(n log n) instead of all pairs.
 *
 * DESIGN
 * A static k-d tree over N points of DIM float coordinates (1 ..
 * KNN_DIM_MAX), built once: each node splits its points at the median of
 * the coordinate with the widest spread, down to leaves of at most
 * KNN_LEAF points; the points are copied in leaf order, so a leaf is one
 * contiguous run of memory. A query walks down to the leaf of the query
 * point, then visits the other side of a split only while the plane is
 * nearer than the k-th best distance found so far. The answer is exact
 * under the Euclidean distance of the coordinates (not approximate, as a
 * VP-tree with early stopping or a grid would be): the k nearest, nearest
 * first, ties broken by the lower index. What the coordinates mean, and
 * how close their distance comes to the cost that matters, is the
 * caller's business (brain_embed: the tracks' features).
 *
 * Build: O(n log n) time (median by quickselect at each level), memory
 * (DIM + 2) * 4 bytes a point plus about 16 bytes a leaf. Query: about
 * O(log n + k) for clustered data in few dimensions, degrading towards a
 * scan of every point as DIM grows past ~12.
 *
 * Thread rules: knn_create and knn_destroy belong to one thread; queries
 * only read the tree, so any number of threads may query at once.
 */
#ifndef FOREVERFM_KNN_H
#define FOREVERFM_KNN_H

#include <stddef.h>
#include <stdint.h>

#define KNN_DIM_MAX 16
#define KNN_LEAF 8        /* points per leaf, at most */
#define KNN_K_MAX 256     /* largest k a query takes */
#define KNN_NONE UINT32_MAX

struct knn;

/* Copies the N points POINTS[i * DIM .. i * DIM + DIM - 1] (finite
 * values) and builds the tree. Returns NULL with errno EINVAL (N 0 or
 * past UINT32_MAX - 1, DIM out of range, a value not finite) or ENOMEM. */
struct knn *knn_create(const float *points, size_t n, unsigned dim);

/* Accepts NULL. */
void knn_destroy(struct knn *idx);

size_t knn_size(const struct knn *idx);

/* The points in the tree's leaf order (a borrowed array of knn_size()
 * indices, valid until knn_destroy): near points come close together,
 * so querying every point in this order reuses the cache. */
const uint32_t *knn_order(const struct knn *idx);

/* The K (1 .. KNN_K_MAX) points nearest to Q (DIM coordinates), nearest
 * first, into OUT (their indices in the points given to knn_create) and,
 * if not NULL, D2 (their squared distances); point SKIP (KNN_NONE: none)
 * is left out, so that a point of the index can ask for its neighbours
 * other than itself. SLACK 0 gives the exact answer; SLACK e > 0 visits a
 * cell only while it is nearer than the k-th best found / (1 + e), so
 * that each point returned is within (1 + e) times the distance of the
 * true one of its rank (Arya and Mount's approximate search), at a
 * fraction of the visits in many dimensions. Returns how many were
 * found: min(K, the points not skipped). */
size_t knn_query(const struct knn *idx, const float *q, size_t k,
		 uint32_t skip, double slack, uint32_t *out, float *d2);

#endif
