/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_playlist — the shuffle bag's promises: every id exactly once per
 * round, never the same id twice in a row (unless it is the only one), a
 * refresh keeps the rest of the round and never hands out a removed id,
 * the same seed gives the same order, and the capacity is a hard bound.
 * Order mode: the given cycle repeats; only its playable ids come out; a
 * new order continues after the last id handed out and keeps the next one;
 * the start_after id applies before the first pick; no usable order means
 * the shuffle; and set_order from another thread is safe.
 */
#include "autoconfig.h"

#include "playlist.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MAXN 64

static int64_t next_id(struct playlist *pl)
{
	int64_t id = -1;
	CHECK_INT(playlist_next(pl, &id), ==, 0);
	return id;
}

/* Ids 100, 101, ... so that ids are not indices. */
static void make_ids(int64_t *ids, size_t n, int64_t base)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = base + (int64_t)i;
}

static void test_empty_and_invalid(void)
{
	errno = 0;
	CHECK(playlist_create(0, 1) == NULL && errno == EINVAL);
	playlist_destroy(NULL);

	struct playlist *pl = playlist_create(4, 1);
	CHECK(pl);
	int64_t id;
	CHECK_INT(playlist_size(pl), ==, 0);
	CHECK_INT(playlist_next(pl, &id), ==, -ENOENT);
	CHECK_INT(playlist_refresh(pl, NULL, 0), ==, 0);
	CHECK_INT(playlist_next(pl, &id), ==, -ENOENT);

	/* Capacity is a bound, not a truncation; the old set survives. */
	int64_t ids[5];
	make_ids(ids, 5, 100);
	CHECK_INT(playlist_refresh(pl, ids, 3), ==, 0);
	CHECK_INT(playlist_refresh(pl, ids, 5), ==, -E2BIG);
	CHECK_INT(playlist_size(pl), ==, 3);
	for (int i = 0; i < 6; i++) {
		id = next_id(pl);
		CHECK(id >= 100 && id < 103);
	}

	/* Duplicates in the input count once. */
	int64_t dup[4] = { 7, 7, 8, 7 };
	CHECK_INT(playlist_refresh(pl, dup, 4), ==, 0);
	CHECK_INT(playlist_size(pl), ==, 2);
	playlist_destroy(pl);
}

static void test_single(void)
{
	struct playlist *pl = playlist_create(8, 5);
	CHECK(pl);
	int64_t one = 42;
	CHECK_INT(playlist_refresh(pl, &one, 1), ==, 0);
	for (int i = 0; i < 10; i++)
		CHECK_INT(next_id(pl), ==, 42);
	playlist_destroy(pl);
}

/* Rounds of n: each a permutation of the set; never a repeat at a seam. */
static void test_rounds(void)
{
	for (size_t n = 2; n <= 10; n++) {
		struct playlist *pl = playlist_create(MAXN, 1000 + n);
		CHECK(pl);
		int64_t ids[MAXN];
		make_ids(ids, n, 100);
		CHECK_INT(playlist_refresh(pl, ids, n), ==, 0);
		int64_t prev = -1;
		size_t first_counts[MAXN] = { 0 };
		for (int round = 0; round < 1000; round++) {
			int seen[MAXN] = { 0 };
			for (size_t k = 0; k < n; k++) {
				int64_t id = next_id(pl);
				CHECK(id >= 100 && id < 100 + (int64_t)n);
				CHECK(id != prev);
				seen[id - 100]++;
				if (k == 0)
					first_counts[id - 100]++;
				prev = id;
			}
			for (size_t k = 0; k < n; k++)
				CHECK_INT(seen[k], ==, 1);
		}
		/* Shuffled, not rotated: with 1000 rounds every id opens a
		 * round many times (about 1000/n; 1000/n/3 is far below any
		 * plausible fluctuation). With two ids the no-repeat rule
		 * forces a b a b ..., so the round opener never changes. */
		for (size_t k = 0; k < n && n > 2; k++)
			CHECK_INT(first_counts[k], >, 1000 / n / 3);
		playlist_destroy(pl);
	}
}

static void test_seed(void)
{
	int64_t ids[20], a[100], b[100], c[100];
	make_ids(ids, 20, 1);
	struct playlist *p1 = playlist_create(32, 77);
	struct playlist *p2 = playlist_create(32, 77);
	struct playlist *p3 = playlist_create(32, 78);
	struct playlist *z1 = playlist_create(32, 0);
	struct playlist *z2 = playlist_create(32, 0);
	CHECK(p1 && p2 && p3 && z1 && z2);
	CHECK_INT(playlist_refresh(p1, ids, 20), ==, 0);
	CHECK_INT(playlist_refresh(p2, ids, 20), ==, 0);
	CHECK_INT(playlist_refresh(p3, ids, 20), ==, 0);
	CHECK_INT(playlist_refresh(z1, ids, 20), ==, 0);
	CHECK_INT(playlist_refresh(z2, ids, 20), ==, 0);
	bool differs = false;
	for (int i = 0; i < 100; i++) {
		a[i] = next_id(p1);
		b[i] = next_id(p2);
		c[i] = next_id(p3);
		CHECK_INT(a[i], ==, b[i]);
		differs |= a[i] != c[i];
		/* Seed 0 works (a fixed nonzero state), deterministically. */
		CHECK_INT(next_id(z1), ==, next_id(z2));
	}
	CHECK(differs);
	playlist_destroy(p1);
	playlist_destroy(p2);
	playlist_destroy(p3);
	playlist_destroy(z1);
	playlist_destroy(z2);
}

/* Mid-round refresh: the ids still to come keep their order, removed ones
 * never come, added ones come in this round, played ones do not. */
static void test_refresh(void)
{
	struct playlist *pl = playlist_create(MAXN, 9);
	CHECK(pl);
	int64_t ids[MAXN];
	make_ids(ids, 10, 100);
	CHECK_INT(playlist_refresh(pl, ids, 10), ==, 0);

	/* A twin with the same seed and set tells us the round's order. */
	struct playlist *twin = playlist_create(MAXN, 9);
	CHECK(twin);
	CHECK_INT(playlist_refresh(twin, ids, 10), ==, 0);
	int64_t order[10];
	for (int i = 0; i < 10; i++)
		order[i] = next_id(twin);
	playlist_destroy(twin);

	for (int i = 0; i < 4; i++)
		CHECK_INT(next_id(pl), ==, order[i]);

	/* Remove one played id (order[0]) and two still to come (order[5],
	 * order[8]); add 200 and 201. */
	int64_t removed[3] = { order[0], order[5], order[8] };
	int64_t set[MAXN];
	size_t n = 0;
	for (int i = 0; i < 10; i++)
		if (ids[i] != removed[0] && ids[i] != removed[1] &&
		    ids[i] != removed[2])
			set[n++] = ids[i];
	set[n++] = 200;
	set[n++] = 201;
	CHECK_INT(playlist_refresh(pl, set, n), ==, 0);
	CHECK_INT(playlist_size(pl), ==, 9);

	/* The rest of this round: order[4], [6], [7], [9] in that order with
	 * 200 and 201 somewhere among them; nothing else. */
	int64_t expect_rest[4] = { order[4], order[6], order[7], order[9] };
	size_t k = 0;
	bool got200 = false, got201 = false;
	for (int i = 0; i < 6; i++) {
		int64_t id = next_id(pl);
		if (id == 200) {
			CHECK(!got200);
			got200 = true;
		} else if (id == 201) {
			CHECK(!got201);
			got201 = true;
		} else {
			CHECK(k < 4);
			CHECK_INT(id, ==, expect_rest[k]);
			k++;
		}
	}
	CHECK(got200 && got201);
	CHECK_INT(k, ==, 4);

	/* Later rounds: the new set exactly, never a removed id. */
	int64_t prev = -1;
	for (int round = 0; round < 50; round++) {
		int seen200 = 0;
		for (size_t j = 0; j < n; j++) {
			int64_t id = next_id(pl);
			CHECK(id != removed[0] && id != removed[1] &&
			      id != removed[2]);
			CHECK(id != prev);
			seen200 += id == 200;
			prev = id;
		}
		CHECK_INT(seen200, ==, 1);
	}

	/* Removing everything: empty; adding back: plays again. */
	CHECK_INT(playlist_refresh(pl, NULL, 0), ==, 0);
	int64_t id;
	CHECK_INT(playlist_next(pl, &id), ==, -ENOENT);
	CHECK_INT(playlist_refresh(pl, ids, 3), ==, 0);
	for (int i = 0; i < 9; i++) {
		id = next_id(pl);
		CHECK(id >= 100 && id < 103);
	}
	playlist_destroy(pl);
}

/* Refreshes at random moments with random changes, many times: no removed
 * id ever comes out and no id comes twice in a row. */
static void test_refresh_random(void)
{
	struct playlist *pl = playlist_create(MAXN, 4242);
	CHECK(pl);
	uint64_t x = 88172645463325252ULL;
	bool in[MAXN] = { false };
	int64_t prev = -1;
	for (int step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (x % 7 == 0) {
			/* Toggle a few ids (0..15), keep at least two. */
			for (int t = 0; t < 3; t++)
				in[(x >> (8 * t)) % 16] ^= true;
			int64_t set[MAXN];
			size_t n = 0;
			for (int i = 0; i < 16; i++)
				if (in[i])
					set[n++] = i;
			if (n < 2) {
				in[0] = in[1] = true;
				n = 0;
				for (int i = 0; i < 16; i++)
					if (in[i])
						set[n++] = i;
			}
			CHECK_INT(playlist_refresh(pl, set, n), ==, 0);
			CHECK_INT(playlist_size(pl), ==, n);
		}
		if (playlist_size(pl) == 0)
			continue;
		int64_t id = next_id(pl);
		CHECK(id >= 0 && id < 16 && in[id]);
		CHECK(id != prev);
		prev = id;
	}
	playlist_destroy(pl);
}

/* A removed id re-added while it was the last one played must not come
 * straight back. */
static void test_readd_last(void)
{
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct playlist *pl = playlist_create(8, seed);
		CHECK(pl);
		int64_t ids[3] = { 1, 2, 3 };
		CHECK_INT(playlist_refresh(pl, ids, 3), ==, 0);
		int64_t last = next_id(pl);
		int64_t others[2];
		size_t n = 0;
		for (int i = 0; i < 3; i++)
			if (ids[i] != last)
				others[n++] = ids[i];
		CHECK_INT(playlist_refresh(pl, others, 2), ==, 0);
		CHECK_INT(playlist_refresh(pl, ids, 3), ==, 0);
		CHECK(next_id(pl) != last);
		playlist_destroy(pl);
	}
}

static void check_next_seq(struct playlist *pl, const int64_t *want,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK_INT(next_id(pl), ==, want[i]);
}

static void test_order_basic(void)
{
	struct playlist *pl = playlist_create(16, 1);
	CHECK(pl);
	int64_t set[5] = { 1, 3, 5, 7, 9 };
	int64_t order[4] = { 5, 3, 9, 1 };
	CHECK_INT(playlist_refresh(pl, set, 5), ==, 0);
	CHECK_INT(playlist_size(pl), ==, 5);
	CHECK_INT(playlist_set_order(pl, order, 4, 0), ==, 0);
	/* 7 is playable but not in the order (the brain left it out). */
	CHECK_INT(playlist_size(pl), ==, 4);
	int64_t peek[8];
	size_t n;
	CHECK_INT(playlist_peek(pl, peek, 8, &n), ==, 0);
	CHECK_INT(n, ==, 4);
	check_next_seq(pl, peek, 4); /* what peek said, in order */
	const int64_t twice[8] = { 5, 3, 9, 1, 5, 3, 9, 1 };
	CHECK_INT(peek[0], ==, 5);
	check_next_seq(pl, twice, 8);

	/* An id leaves the set: skipped; it comes back: played again. */
	int64_t less[4] = { 1, 5, 7, 9 };
	CHECK_INT(playlist_refresh(pl, less, 4), ==, 0);
	CHECK_INT(playlist_size(pl), ==, 3);
	const int64_t skip[6] = { 5, 9, 1, 5, 9, 1 };
	check_next_seq(pl, skip, 6);
	CHECK_INT(playlist_refresh(pl, set, 5), ==, 0);
	const int64_t back[4] = { 5, 3, 9, 1 };
	check_next_seq(pl, back, 4);

	/* Errors keep the order. */
	int64_t dup[3] = { 1, 3, 1 };
	CHECK_INT(playlist_set_order(pl, dup, 3, 0), ==, -EINVAL);
	CHECK_INT(playlist_set_order(pl, NULL, 3, 0), ==, -EINVAL);
	int64_t big[17];
	make_ids(big, 17, 1);
	CHECK_INT(playlist_set_order(pl, big, 17, 0), ==, -E2BIG);
	check_next_seq(pl, back, 4);

	/* No order: the shuffle over the whole set again. */
	CHECK_INT(playlist_set_order(pl, NULL, 0, 0), ==, 0);
	CHECK_INT(playlist_size(pl), ==, 5);
	bool seen7 = false;
	for (int i = 0; i < 50; i++)
		seen7 |= next_id(pl) == 7;
	CHECK(seen7);

	/* An order none of whose ids is playable: the shuffle too. */
	int64_t gone[2] = { 100, 101 };
	CHECK_INT(playlist_set_order(pl, gone, 2, 0), ==, 0);
	CHECK_INT(playlist_size(pl), ==, 5);
	for (int i = 0; i < 20; i++) {
		int64_t id = next_id(pl);
		CHECK(id >= 1 && id <= 9 && id % 2 == 1);
	}
	playlist_destroy(pl);
}

static void test_order_start_and_switch(void)
{
	int64_t set[6] = { 10, 20, 30, 40, 50, 60 };
	int64_t order[6] = { 30, 10, 60, 20, 50, 40 };

	/* Before the first pick: after START_AFTER (a restart), even when
	 * the shuffle had drawn its round already. */
	struct playlist *pl = playlist_create(8, 2);
	CHECK(pl);
	CHECK_INT(playlist_refresh(pl, set, 6), ==, 0);
	CHECK_INT(playlist_set_order(pl, order, 6, 20), ==, 0);
	const int64_t from20[7] = { 50, 40, 30, 10, 60, 20, 50 };
	check_next_seq(pl, from20, 7);
	playlist_destroy(pl);

	/* START_AFTER not in the order: from the first. */
	pl = playlist_create(8, 2);
	CHECK_INT(playlist_set_order(pl, order, 6, 999), ==, 0);
	CHECK_INT(playlist_refresh(pl, set, 6), ==, 0);
	const int64_t from0[2] = { 30, 10 };
	check_next_seq(pl, from0, 2);

	/* A new order: the next track stays (60, what peek showed), then
	 * the new order goes on after it. */
	int64_t peek[4];
	size_t n;
	CHECK_INT(playlist_peek(pl, peek, 4, &n), ==, 0);
	CHECK_INT(peek[0], ==, 60);
	int64_t order2[6] = { 10, 20, 30, 40, 50, 60 };
	CHECK_INT(playlist_set_order(pl, order2, 6, 0), ==, 0);
	CHECK_INT(playlist_peek(pl, peek, 4, &n), ==, 0);
	CHECK_INT(n, ==, 4);
	CHECK_INT(peek[0], ==, 60);
	CHECK_INT(peek[1], ==, 10);
	const int64_t then[4] = { 60, 10, 20, 30 };
	check_next_seq(pl, then, 4);

	/* When the next track is not in the new order: after the last one
	 * handed out (30), in the new order. */
	int64_t order3[5] = { 60, 30, 50, 20, 10 };
	CHECK_INT(playlist_set_order(pl, order3, 5, 0), ==, 0);
	const int64_t then3[6] = { 50, 20, 10, 60, 30, 50 };
	check_next_seq(pl, then3, 6);

	/* The last one handed out is not in the new order: START_AFTER
	 * decides. */
	int64_t order4[3] = { 10, 20, 30 };
	CHECK_INT(playlist_set_order(pl, order4, 3, 10), ==, 0);
	const int64_t then4[4] = { 20, 30, 10, 20 };
	check_next_seq(pl, then4, 4);

	/* From shuffle to an order in the middle of play: the shuffle's
	 * next id stays next. */
	CHECK_INT(playlist_set_order(pl, NULL, 0, 0), ==, 0);
	(void)next_id(pl);
	CHECK_INT(playlist_peek(pl, peek, 1, &n), ==, 0);
	if (n == 1) {
		int64_t keep = peek[0];
		CHECK_INT(playlist_set_order(pl, order, 6, 0), ==, 0);
		CHECK_INT(next_id(pl), ==, keep);
	}
	playlist_destroy(pl);

	/* One track only: it repeats. */
	pl = playlist_create(4, 3);
	int64_t one = 7;
	CHECK_INT(playlist_refresh(pl, &one, 1), ==, 0);
	CHECK_INT(playlist_set_order(pl, &one, 1, 7), ==, 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(next_id(pl), ==, 7);
	playlist_destroy(pl);
}

struct setter {
	struct playlist *pl;
	atomic_bool stop;
	atomic_uint orders;
};

static void *setter_main(void *arg)
{
	struct setter *s = arg;
	int64_t order[20];
	for (unsigned r = 0; !atomic_load(&s->stop); r++) {
		/* Rotations and reversals of 0..19, sometimes none. */
		for (int i = 0; i < 20; i++)
			order[i] = r % 2 ? (int64_t)((i + r) % 20)
					 : (int64_t)((19 - i + r) % 20);
		size_t n = r % 7 == 0 ? 0 : 20;
		CHECK_INT(playlist_set_order(s->pl, order, n, 0), ==, 0);
		atomic_fetch_add(&s->orders, 1);
	}
	return NULL;
}

/* The brain's thread sets orders while the mixer's takes ids. */
static void test_order_threads(void)
{
	struct setter s;
	s.pl = playlist_create(32, 5);
	atomic_init(&s.stop, false);
	atomic_init(&s.orders, 0);
	CHECK(s.pl);
	int64_t set[20];
	make_ids(set, 20, 0);
	CHECK_INT(playlist_refresh(s.pl, set, 20), ==, 0);
	pthread_t th;
	CHECK_INT(pthread_create(&th, NULL, setter_main, &s), ==, 0);
	int64_t prev = -1;
	/* Until the other thread has set many orders meanwhile (it may
	 * start late). */
	for (long i = 0; i < 20000 || atomic_load(&s.orders) < 200; i++) {
		int64_t id = next_id(s.pl);
		CHECK(id >= 0 && id < 20);
		CHECK(id != prev);
		prev = id;
		if (i % 1000 == 0)
			CHECK_INT(playlist_refresh(s.pl, set, 20), ==, 0);
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	CHECK_INT(atomic_load(&s.orders), >=, 200);
	playlist_destroy(s.pl);
}

int main(void)
{
	test_empty_and_invalid();
	test_single();
	test_rounds();
	test_seed();
	test_refresh();
	test_refresh_random();
	test_readd_last();
	test_order_basic();
	test_order_start_and_switch();
	test_order_threads();
	return 0;
}
