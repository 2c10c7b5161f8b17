/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_setlist — the brain's play order through the real catalog (SQLite
 * files, analyses stored with catalog_analysis_put): a library where only
 * the tempo differs is ordered up then down; duplicates (same content, same
 * artist and title) and tracks of the wrong length are left out, the better
 * copy kept; play continues after the last track played when the catalog is
 * reopened; a new track is inserted without moving the others; random
 * libraries and changes always give a cycle with every kept track once;
 * artists are kept apart and recent tracks kept back as far as the library
 * allows; the service thread hands its orders to a real playlist.
 */
#include "autoconfig.h"

#include "catalog.h"
#include "log.h"
#include "playlist.h"
#include "setlist.h"
#include "tempo.h"
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MAXT 1200

static char dir[4096];
static int n_paths;

static struct catalog *open_catalog(const char *name)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	return cat;
}

/* A playable track with these tags; returns its id. */
static int64_t add_track(struct catalog *cat, const char *artist,
			 const char *title, double duration_s, int kbps)
{
	struct decode_info info;
	memset(&info, 0, sizeof(info));
	info.format = DECODE_FORMAT_MP3;
	snprintf(info.artist, sizeof(info.artist), "%s", artist);
	snprintf(info.title, sizeof(info.title), "%s", title);
	info.duration_s = duration_s;
	info.source_rate_hz = 44100;
	info.source_channels = 2;
	info.bitrate_kbps = kbps;
	char path[64];
	snprintf(path, sizeof(path), "/music/track-%04d.mp3", n_paths++);
	int64_t id = 0;
	CHECK_INT(catalog_track_put(cat, path, 1000 + n_paths, 1, &info, &id),
		  ==, 0);
	return id;
}

/* A synthetic analysis: only what is given differs between tracks. KEY
 * -1 = none; the timbre is the same for all. */
static void put_analysis(struct catalog *cat, int64_t id, const char *hash,
			 double duration_s, double bpm, int key, double energy,
			 double lufs)
{
	struct analysis a;
	memset(&a, 0, sizeof(a));
	a.version = ANALYSIS_VERSION;
	a.duration_s = duration_s;
	a.audio_end_s = duration_s;
	a.bpm = bpm;
	a.bpm_confidence = 1;
	a.grid_confidence = 1;
	a.beats_per_bar = 4;
	a.loudness_lufs = lufs;
	a.true_peak_db = -1;
	/* The brain reads the key number; the names are for listings. */
	a.key = key;
	a.key_confidence = key >= 0 ? 1 : 0;
	a.energy = energy;
	for (int i = 0; i < 12; i++)
		a.chroma[i] = 1.0f / 12;
	for (int i = 0; i < ANALYSIS_MFCC; i++) {
		a.mfcc_mean[i] = (float)(i == 0 ? -200 : 10.0 / (i + 1));
		a.mfcc_std[i] = 5;
	}
	char h[40];
	if (!hash) {
		snprintf(h, sizeof(h), "%016" PRIx64 "0000000000000001",
			 (uint64_t)id * (uint64_t)0x9e3779b97f4a7c15ULL);
		hash = h;
	}
	CHECK_INT(catalog_analysis_put(cat, id, hash, &a), ==, 0);
}

static void params_for_test(struct setlist_params *p)
{
	setlist_params_default(p);
	p->time_budget_s = 0;
	p->max_kicks = 20000;
	p->seed = 7;
}

static size_t sequence(struct setlist *sl, const struct setlist_play *h,
		       size_t nh, time_t now, int64_t *ids, int64_t *anchor)
{
	size_t n = 0;
	CHECK_INT(setlist_sequence(sl, h, nh, now, ids, MAXT, &n, anchor), ==,
		  0);
	CHECK_INT(n, ==, setlist_size(sl));
	return n;
}

static size_t index_of(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return i;
	return SIZE_MAX;
}

/* Every id of WANT (N_WANT) exactly once in IDS (N), nothing else. */
static void check_permutation(const int64_t *ids, size_t n,
			      const int64_t *want, size_t n_want)
{
	CHECK_INT(n, ==, n_want);
	for (size_t i = 0; i < n_want; i++) {
		size_t count = 0;
		for (size_t k = 0; k < n; k++)
			count += ids[k] == want[i];
		CHECK_INT(count, ==, 1);
	}
}

/* The cycle rises from its minimum to its maximum and falls back: the
 * optimal tour of points on a line. */
static void check_bitonic(const double *v, size_t n)
{
	size_t lo = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] < v[lo])
			lo = i;
	size_t k = 1;
	while (k < n && v[(lo + k) % n] > v[(lo + k - 1) % n])
		k++;
	while (k < n && v[(lo + k) % n] < v[(lo + k - 1) % n])
		k++;
	if (k != n) {
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%.2f ", v[i]);
		fprintf(stderr, "\n");
	}
	CHECK_INT(k, ==, n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double tempo_cost(double a, double b)
{
	double t = fabs(log(b) - log(a)) / log1p(0.08);
	return 2 * fmin(1, t * t) / 5.5;
}

/* Only the tempo differs: the cycle goes up then down, for the exact
 * solver (n <= SETLIST_EXACT_MAX) and the heuristic one. */
static void test_tempo_only(void)
{
	const size_t sizes[] = { 11, 40 };
	for (size_t si = 0; si < 2; si++) {
		size_t n = sizes[si];
		struct catalog *cat = open_catalog(si ? "tempo40.db" :
						   "tempo11.db");
		int64_t ids[MAXT];
		double bpm_of[MAXT];
		for (size_t i = 0; i < n; i++) {
			/* Ids not in tempo order: a stride through 0..n-1. */
			size_t k = (i * 7 + 3) % n;
			/* 11 within max_stretch (7%); 40 over 22%. */
			double bpm = 100 * pow(si ? 1.005 : 1.007, (double)k);
			char artist[32], title[32];
			snprintf(artist, sizeof(artist), "Artist %zu", i);
			snprintf(title, sizeof(title), "Title %zu", i);
			ids[i] = add_track(cat, artist, title, 200, 192);
			put_analysis(cat, ids[i], NULL, 200, bpm, -1, 0.5, -10);
			bpm_of[i] = bpm;
		}
		struct setlist_params p;
		params_for_test(&p);
		struct setlist *sl = setlist_create(cat, &p);
		CHECK(sl);
		bool changed = false;
		CHECK_INT(setlist_reload(sl, &changed), ==, 0);
		CHECK(changed);
		CHECK(setlist_needs_solve(sl));
		CHECK_INT(setlist_solve(sl), ==, 0);
		CHECK(!setlist_needs_solve(sl));
		int64_t seq[MAXT];
		size_t m = sequence(sl, NULL, 0, 0, seq, NULL);
		check_permutation(seq, m, ids, n);
		double v[MAXT];
		for (size_t k = 0; k < m; k++)
			v[k] = bpm_of[index_of(ids, n, seq[k])];
		check_bitonic(v, m);

		/* Its cost is that of the optimum: with a convex cost of the
		 * distance on a line the costs form a Supnick matrix, whose
		 * optimal tour climbs through every other tempo and comes back
		 * down through the rest. Each step costs 2 t / (2 + 1 + 1 +
		 * 0.5 + 1): tempo, energy, timbre, loudness, artist. */
		double sorted[MAXT];
		memcpy(sorted, v, m * sizeof(*v));
		qsort(sorted, m, sizeof(*sorted), cmp_double);
		double want = tempo_cost(sorted[0], sorted[1]) +
			      tempo_cost(sorted[m - 2], sorted[m - 1]);
		for (size_t k = 0; k + 2 < m; k++)
			want += tempo_cost(sorted[k], sorted[k + 2]);
		struct setlist_stats st;
		setlist_get_stats(sl, &st);
		CHECK_NEAR(st.cost, want, 1e-6);
		CHECK_INT(st.in_order, ==, n);
		CHECK_INT(st.unanalysed, ==, 0);
		CHECK_INT(st.solves, ==, 1);

		/* Each step's breakdown: only tempo is non-zero. */
		struct brain_cost c;
		double cost;
		CHECK_INT(setlist_step_cost(sl, seq[0], seq[1], &c, &cost), ==,
			  0);
		CHECK(c.tempo > 0 && c.energy == 0 && c.loudness == 0 &&
		      c.timbre == 0 && c.same_artist == 0 && isnan(c.key) &&
		      isnan(c.genre));
		CHECK_INT(setlist_step_cost(sl, seq[0], 999999, &c, &cost), ==,
			  -ENOENT);
		setlist_destroy(sl);
		catalog_close(cat);
	}
}

static enum setlist_cull cull_of(struct setlist *sl, int64_t id,
				 int64_t *dup_of)
{
	struct setlist_track_info info;
	CHECK_INT(setlist_track_info(sl, id, &info), ==, 0);
	if (dup_of)
		*dup_of = info.duplicate_of;
	return info.cull;
}

static void test_culling(void)
{
	struct catalog *cat = open_catalog("cull.db");
	/* Same artist and title once normalised, 1.5 s apart: the higher
	 * bitrate stays. */
	int64_t a = add_track(cat, "The Beatles", "Hey Jude", 200, 128);
	int64_t b = add_track(cat, "beatles", "hey  jude", 201.5, 320);
	/* 5 s from a, 3.5 s from b: another recording. */
	int64_t c = add_track(cat, "Beatles, The", "Hey Jude", 205, 320);
	/* Equal bitrates: the longer stays. */
	int64_t d = add_track(cat, "Nico", "These Days (feat. Jackson)", 300,
			      192);
	int64_t e = add_track(cat, "NICO", "These Days", 301, 192);
	/* The same content (hash), different tags: the better copy stays. */
	int64_t f = add_track(cat, "X", "One", 250, 128);
	int64_t g = add_track(cat, "Y", "Two", 250, 256);
	int64_t g2 = add_track(cat, "Z", "Three", 250, 256);
	const char *same = "00112233445566778899aabbccddeeff";
	put_analysis(cat, f, same, 250, 120, 0, 0.5, -10);
	put_analysis(cat, g, same, 250, 120, 0, 0.5, -10);
	put_analysis(cat, g2, same, 250, 120, 0, 0.5, -10);
	/* Too short, too long, unknown (kept), untagged pairs (kept). */
	int64_t h = add_track(cat, "Short", "Jingle", 60, 128);
	int64_t i = add_track(cat, "Long", "Mix", 700, 128);
	int64_t j = add_track(cat, "Who", "Knows", 0, 0);
	int64_t k = add_track(cat, "", "", 200, 128);
	int64_t l = add_track(cat, "", "", 200, 128);
	/* The analysis' duration wins over the header's. */
	int64_t m = add_track(cat, "Header", "Lies", 200, 128);
	put_analysis(cat, m, NULL, 30, 120, 0, 0.5, -10);

	struct setlist *sl = setlist_create(cat, NULL);
	CHECK(sl);
	CHECK_INT(setlist_reload(sl, NULL), ==, 0);
	int64_t dup;
	CHECK_INT(cull_of(sl, a, &dup), ==, SETLIST_DUPLICATE);
	CHECK_INT(dup, ==, b);
	CHECK_INT(cull_of(sl, b, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, c, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, d, &dup), ==, SETLIST_DUPLICATE);
	CHECK_INT(dup, ==, e);
	CHECK_INT(cull_of(sl, e, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, f, &dup), ==, SETLIST_DUPLICATE);
	CHECK_INT(dup, ==, g);
	CHECK_INT(cull_of(sl, g, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, g2, &dup), ==, SETLIST_DUPLICATE);
	CHECK_INT(dup, ==, g); /* equal copies: the older stays */
	CHECK_INT(cull_of(sl, h, NULL), ==, SETLIST_TOO_SHORT);
	CHECK_INT(cull_of(sl, i, NULL), ==, SETLIST_TOO_LONG);
	CHECK_INT(cull_of(sl, j, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, k, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, l, NULL), ==, SETLIST_KEPT);
	CHECK_INT(cull_of(sl, m, NULL), ==, SETLIST_TOO_SHORT);

	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	CHECK_INT(st.playable, ==, 14);
	CHECK_INT(st.duplicates, ==, 4);
	CHECK_INT(st.too_short, ==, 2);
	CHECK_INT(st.too_long, ==, 1);
	CHECK_INT(st.in_order, ==, 7);
	CHECK_INT(st.unanalysed, ==, 6);
	int64_t culled[16];
	size_t nc;
	CHECK_INT(setlist_culled_ids(sl, culled, 16, &nc), ==, 0);
	int64_t want_culled[] = { a, d, f, g2, h, i, m };
	check_permutation(culled, nc, want_culled, 7);

	CHECK_INT(setlist_solve(sl), ==, 0);
	int64_t seq[MAXT];
	size_t n = sequence(sl, NULL, 0, 0, seq, NULL);
	int64_t kept[] = { b, c, e, g, j, k, l };
	check_permutation(seq, n, kept, 7);

	/* The better copy turns bad: the other one comes back. */
	CHECK_INT(catalog_track_bad(cat, b, "gone bad"), ==, 0);
	bool changed = false;
	CHECK_INT(setlist_update(sl, &b, 1, &changed), ==, 0);
	CHECK(changed);
	CHECK_INT(cull_of(sl, a, NULL), ==, SETLIST_KEPT);
	n = sequence(sl, NULL, 0, 0, seq, NULL);
	int64_t kept2[] = { a, c, e, g, j, k, l };
	check_permutation(seq, n, kept2, 7);
	setlist_destroy(sl);

	/* Everything too short but the one of unknown length. */
	struct setlist_params p;
	setlist_params_default(&p);
	p.min_duration_s = 1000;
	p.max_duration_s = 2000;
	sl = setlist_create(cat, &p);
	CHECK(sl);
	CHECK_INT(setlist_reload(sl, NULL), ==, 0);
	CHECK_INT(setlist_solve(sl), ==, 0);
	CHECK_INT(setlist_size(sl), ==, 1);
	n = 99;
	CHECK_INT(setlist_sequence(sl, NULL, 0, 0, seq, MAXT, &n, NULL), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_INT(seq[0], ==, j);
	CHECK_INT(setlist_sequence(sl, NULL, 0, 0, seq, 0, &n, NULL), ==,
		  -E2BIG);
	setlist_destroy(sl);
	catalog_close(cat);
}

/* A library of N tracks with tempi spread over 100..140 and distinct
 * artists; IDS receives the ids. */
static void make_library(struct catalog *cat, size_t n, int64_t *ids,
			 uint64_t seed)
{
	uint64_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		char artist[32], title[32];
		snprintf(artist, sizeof(artist), "Artist %zu", i);
		snprintf(title, sizeof(title), "Song %" PRIu64, x % 100000);
		ids[i] = add_track(cat, artist, title, 180 + (double)(x % 120),
				   192);
		put_analysis(cat, ids[i], NULL, 180 + (double)(x % 120),
			     100 + (double)(x % 4000) / 100, (int)((x >> 20) % 24),
			     (double)((x >> 32) % 100) / 100,
			     -6 - (double)((x >> 40) % 12));
	}
}

/* Play continues after the last play when the catalog is reopened (a
 * restart), not from the start of the order. */
static void test_restart(void)
{
	struct setlist_params p;
	params_for_test(&p);
	int64_t ids[30], first[MAXT], played[5];
	size_t n;
	time_t t0 = 1700000000;

	struct catalog *cat = open_catalog("restart.db");
	make_library(cat, 30, ids, 3);
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	n = sequence(sl, NULL, 0, t0, first, NULL);
	CHECK_INT(n, ==, 30);

	/* The station plays five tracks through a real playlist. */
	struct playlist *pl = playlist_create(64, 1);
	CHECK(pl);
	CHECK_INT(playlist_refresh(pl, ids, 30), ==, 0);
	CHECK_INT(playlist_set_order(pl, first, n, 0), ==, 0);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(playlist_next(pl, &played[i]), ==, 0);
		CHECK_INT(played[i], ==, first[i]);
		CHECK_INT(catalog_play_add(cat, played[i], t0 + 200 * i), ==, 0);
	}
	playlist_destroy(pl);
	setlist_destroy(sl);
	catalog_close(cat);

	/* Restart: a new process would read the last play back. */
	cat = open_catalog("restart.db");
	struct setlist_play last;
	CHECK_INT(catalog_play_last(cat, &last.id, &last.when), ==, 0);
	CHECK_INT(last.id, ==, played[4]);
	sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	int64_t again[MAXT], anchor;
	n = sequence(sl, &last, 1, t0 + 1000, again, &anchor);
	CHECK_INT(anchor, ==, played[4]);
	CHECK_INT(again[n - 1], ==, played[4]);
	/* The same library and seed give the same cycle: the next track is
	 * the sixth of the first run. */
	CHECK_INT(again[0], ==, first[5]);
	pl = playlist_create(64, 99);
	CHECK(pl);
	CHECK_INT(playlist_refresh(pl, ids, 30), ==, 0);
	CHECK_INT(playlist_set_order(pl, again, n, anchor), ==, 0);
	int64_t id;
	CHECK_INT(playlist_next(pl, &id), ==, 0);
	CHECK_INT(id, ==, first[5]);
	playlist_destroy(pl);
	setlist_destroy(sl);
	catalog_close(cat);
}

/* A new track goes to its cheapest place; every other track keeps its
 * place in the cycle. */
static void test_insertion(void)
{
	struct setlist_params p;
	params_for_test(&p);
	int64_t ids[40], before[MAXT], after[MAXT];
	struct catalog *cat = open_catalog("insert.db");
	make_library(cat, 40, ids, 11);
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	size_t n = sequence(sl, NULL, 0, 0, before, NULL);
	struct setlist_stats st0;
	setlist_get_stats(sl, &st0);

	for (int round = 0; round < 2; round++) {
		int64_t id = add_track(cat, round ? "Newer" : "Newcomer",
				       "Fresh", 240, 192);
		put_analysis(cat, id, NULL, 240, 117.3 + round, 5, 0.4, -9);
		bool changed = false;
		/* Once through an update (an analysis arrived), once through
		 * a reload (a rescan). */
		if (round == 0)
			CHECK_INT(setlist_update(sl, &id, 1, &changed), ==, 0);
		else
			CHECK_INT(setlist_reload(sl, &changed), ==, 0);
		CHECK(changed);
		CHECK(!setlist_needs_solve(sl));
		size_t m = sequence(sl, NULL, 0, 0, after, NULL);
		CHECK_INT(m, ==, n + 1);
		/* Without the new track, the same cycle, the same way round. */
		size_t at = index_of(after, m, id);
		CHECK(at != SIZE_MAX);
		int64_t rest[MAXT];
		for (size_t k = 0; k < n; k++)
			rest[k] = after[(at + 1 + k) % m];
		size_t start = index_of(before, n, rest[0]);
		for (size_t k = 0; k < n; k++)
			CHECK_INT(rest[k], ==, before[(start + k) % n]);

		/* And its place is the cheapest one. */
		struct setlist_stats st;
		setlist_get_stats(sl, &st);
		double added = st.cost - st0.cost, best = INFINITY;
		for (size_t k = 0; k < n; k++) {
			double ca, cb, cab;
			CHECK_INT(setlist_step_cost(sl, before[k], id, NULL, &ca),
				  ==, 0);
			CHECK_INT(setlist_step_cost(sl, id, before[(k + 1) % n],
						    NULL, &cb), ==, 0);
			CHECK_INT(setlist_step_cost(sl, before[k],
						    before[(k + 1) % n], NULL,
						    &cab), ==, 0);
			best = fmin(best, ca + cb - cab);
		}
		CHECK_NEAR(added, best, 1e-9);
		CHECK_INT(st.insertions, ==, st0.insertions + 1);
		memcpy(before, after, m * sizeof(*after));
		n = m;
		st0 = st;
	}
	setlist_destroy(sl);
	catalog_close(cat);
}

/* Random libraries and random changes: the sequence always holds every
 * kept track exactly once. */
static void test_random_property(void)
{
	uint64_t x = 0x5eed;
	for (int inst = 0; inst < 12; inst++) {
		char name[32];
		snprintf(name, sizeof(name), "random%d.db", inst);
		struct catalog *cat = open_catalog(name);
		struct setlist_params p;
		params_for_test(&p);
		p.max_kicks = 2000;
		p.artist_separation = (unsigned)(inst % 4);
		struct setlist *sl = setlist_create(cat, &p);
		CHECK(sl);
		int64_t all[MAXT], seq[MAXT], want[MAXT];
		size_t n_all = 0;
		bool live[MAXT] = { false };
		for (int step = 0; step < 25; step++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			int op = (int)(x % 5);
			if (op <= 1 || n_all < 3) {
				/* A few new tracks, some analysed, some
				 * duplicates by tags, some too short. */
				for (uint64_t k = 0; k < 1 + (x >> 8) % 6; k++) {
					uint64_t r = x >> (k + 12);
					char artist[16], title[16];
					snprintf(artist, sizeof(artist), "A%u",
						 (unsigned)(r % 5));
					snprintf(title, sizeof(title), "T%u",
						 (unsigned)((r >> 3) % 40));
					double dur = 60 + (double)((r >> 9) % 300);
					int64_t id = add_track(cat, artist, title,
							       dur, 128);
					if (r & 0x10000)
						put_analysis(cat, id, NULL, dur,
							     90 + (double)(r % 60),
							     (int)((r >> 20) % 24),
							     0.5, -9);
					all[n_all] = id;
					live[n_all++] = true;
				}
			} else if (op == 2) {
				size_t v = (x >> 16) % n_all;
				if (live[v]) {
					CHECK_INT(catalog_track_bad(cat, all[v],
								    "x"), ==, 0);
					live[v] = false;
				}
			}
			bool changed;
			if (op == 3 || step == 0 || (x >> 30) % 2)
				CHECK_INT(setlist_reload(sl, &changed), ==, 0);
			else
				CHECK_INT(setlist_update(sl, all, n_all,
							 &changed), ==, 0);
			if (op == 4 || setlist_needs_solve(sl))
				CHECK_INT(setlist_solve(sl), ==, 0);
			struct setlist_play h[3];
			size_t nh = 0;
			for (size_t k = 0; k < n_all && nh < 3; k++)
				if (live[(k * 7) % n_all]) {
					h[nh].id = all[(k * 7) % n_all];
					h[nh].when = 1000 - (time_t)nh * 100;
					nh++;
				}
			size_t n = sequence(sl, h, nh, 1000, seq, NULL);
			size_t n_want = 0;
			for (size_t k = 0; k < n_all; k++) {
				if (!live[k])
					continue;
				struct setlist_track_info info;
				CHECK_INT(setlist_track_info(sl, all[k], &info),
					  ==, 0);
				if (info.cull == SETLIST_KEPT)
					want[n_want++] = all[k];
			}
			check_permutation(seq, n, want, n_want);
		}
		setlist_destroy(sl);
		catalog_close(cat);
	}
}

static const char *artist_of(struct catalog *cat, int64_t id, char *buf)
{
	struct catalog_track *t = malloc(sizeof(*t));
	CHECK(t);
	CHECK_INT(catalog_track_get(cat, id, t), ==, 0);
	CHECK(strlen(t->artist) < 64);
	memcpy(buf, t->artist, strlen(t->artist) + 1);
	free(t);
	return buf;
}

/* Same-artist tracks within D places of each other around the cycle. */
static size_t artist_clashes(struct catalog *cat, const int64_t *seq,
			     size_t n, size_t d)
{
	size_t c = 0;
	char a[64], b[64];
	for (size_t i = 0; i < n; i++)
		for (size_t k = 1; k <= d && k < n; k++)
			c += strcmp(artist_of(cat, seq[i], a),
				    artist_of(cat, seq[(i + k) % n], b)) == 0;
	return c;
}

/* Artists grouped by tempo would play in a row; the rule keeps them
 * apart as far as the library allows. */
static void test_artist_separation(void)
{
	struct catalog *cat = open_catalog("artists.db");
	int64_t ids[12], seq[MAXT];
	for (int i = 0; i < 12; i++) {
		char artist[8], title[8];
		snprintf(artist, sizeof(artist), "%c", 'A' + i / 3);
		snprintf(title, sizeof(title), "%d", i);
		ids[i] = add_track(cat, artist, title, 200, 192);
		/* Tempo by artist, so that the solver groups them, but
		 * all within one stretch (100 .. 107): parting them costs
		 * no tempo cut (test_tempo_cuts: when it would, the tempo
		 * wins). */
		put_analysis(cat, ids[i], NULL, 200,
			     100 + 2 * (i / 3) + 0.5 * (i % 3), -1, 0.5, -10);
	}
	struct setlist_params p;
	params_for_test(&p);
	p.weights.same_artist = 0; /* nothing but the rule keeps them apart */
	p.artist_separation = 0;
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	size_t n = sequence(sl, NULL, 0, 0, seq, NULL);
	CHECK_INT(artist_clashes(cat, seq, n, 1), >, 0);
	setlist_destroy(sl);

	/* 4 artists x 3 tracks: 2 apart is possible. */
	p.artist_separation = 2;
	sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	n = sequence(sl, NULL, 0, 0, seq, NULL);
	check_permutation(seq, n, ids, 12);
	CHECK_INT(artist_clashes(cat, seq, n, 2), ==, 0);
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	CHECK_INT(st.artist_conflicts, ==, 0);

	/* A new track of artist A goes where no A is near (4 A in 13). */
	int64_t extra = add_track(cat, "A", "extra", 200, 192);
	put_analysis(cat, extra, NULL, 200, 100.75, -1, 0.5, -10);
	CHECK_INT(setlist_update(sl, &extra, 1, NULL), ==, 0);
	n = sequence(sl, NULL, 0, 0, seq, NULL);
	CHECK_INT(n, ==, 13);
	size_t at = index_of(seq, n, extra);
	char a[64];
	for (size_t k = 1; k <= 2; k++) {
		CHECK(strcmp(artist_of(cat, seq[(at + k) % n], a), "A") != 0);
		CHECK(strcmp(artist_of(cat, seq[(at + n - k) % n], a), "A") != 0);
	}
	setlist_destroy(sl);

	/* 3 apart needs 4 x 4 = 16 > 13 places for the A: not possible;
	 * every track still plays once, and the conflicts are counted. */
	p.artist_separation = 3;
	sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	n = sequence(sl, NULL, 0, 0, seq, NULL);
	CHECK_INT(n, ==, 13);
	setlist_get_stats(sl, &st);
	CHECK_INT(st.artist_conflicts, >, 0);
	CHECK_INT(st.artist_conflicts, ==, artist_clashes(cat, seq, n, 3));
	setlist_destroy(sl);
	catalog_close(cat);
}

/* The tempo cuts of a setlist's cycle, counted from its sequence. */
static size_t cuts_of(struct catalog *cat, const int64_t *seq, size_t n,
		      double max_stretch)
{
	double bpm[MAXT];
	for (size_t k = 0; k < n; k++) {
		struct analysis a;
		CHECK_INT(catalog_analysis_get(cat, seq[k], &a), ==, 0);
		bpm[k] = a.bpm;
	}
	return tempo_cycle_unbridgeable(bpm, n, max_stretch);
}

/* Tempo cuts only where the tempo circle forces them (tempo.h): three
 * clusters (around 90, 120 and 150 BPM: 1.33, 1.25 and 1.2 apart, even
 * at double or half time, all beyond a bridge) whose energies interleave,
 * so that an order by the other features alone (by energy) would cut at
 * every step; random libraries of random clusters; and the artist rule
 * giving way where parting the artists would need cuts. */
static void test_tempo_cuts(void)
{
	struct setlist_params p;
	params_for_test(&p);
	double ms = p.weights.max_stretch;
	struct catalog *cat = open_catalog("tempocuts.db");
	int64_t ids[MAXT], seq[MAXT];
	const double centre[3] = { 90, 120, 150 };
	for (size_t i = 0; i < 24; i++) {
		char artist[32], title[32];
		snprintf(artist, sizeof(artist), "Artist %zu", i);
		snprintf(title, sizeof(title), "Title %zu", i);
		ids[i] = add_track(cat, artist, title, 200, 192);
		/* Cluster i % 3, energy i / 24: by energy, the clusters take
		 * turns. */
		put_analysis(cat, ids[i], NULL, 200,
			     centre[i % 3] + (double)(i / 3) * 0.4,
			     (int)(i % 24), (double)i / 24, -10);
	}
	/* The naive order. */
	CHECK_INT(cuts_of(cat, ids, 24, ms), ==, 24);
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	size_t n = sequence(sl, NULL, 0, 0, seq, NULL);
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	CHECK_INT(st.tempo_tracks, ==, 24);
	CHECK_INT(st.tempo_wide_gaps, ==, 3);
	CHECK_INT(st.tempo_cuts_unavoidable, ==, 3);
	CHECK_INT(st.tempo_cuts, ==, cuts_of(cat, seq, n, ms));
	CHECK_INT(st.tempo_cuts, ==, 3);
	setlist_destroy(sl);
	catalog_close(cat);

	/* Random libraries: 1 to 5 clusters anywhere in 70 .. 180 BPM (the
	 * analysis's range, where the circle is exact), random keys,
	 * energies and loudness, one kick: the local search alone often
	 * leaves a cut more than needed (one arc that only a zigzag crosses
	 * without one), so the solve from the circle's order must step in.
	 * The cycle makes exactly the circle's count (every track has a
	 * tempo: it is a minimum), also after a warm re-solve, and at most
	 * one more after an insertion. */
	uint64_t x = 12345;
	for (int lib = 0; lib < 30; lib++) {
		char name[32];
		snprintf(name, sizeof(name), "tempocuts%d.db", lib);
		cat = open_catalog(name);
		size_t m = 20 + (size_t)lib * 5, n_c = 1 + (size_t)lib % 5;
		double c[5];
		for (size_t k = 0; k < n_c; k++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			c[k] = 70 * pow(180.0 / 70, (double)(x % 1000) / 1000);
		}
		for (size_t i = 0; i < m; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			char artist[32], title[32];
			snprintf(artist, sizeof(artist), "Artist %zu", i);
			snprintf(title, sizeof(title), "Title %zu", i);
			ids[i] = add_track(cat, artist, title, 200, 192);
			double bpm = c[x % n_c] *
				     (0.9 + 0.2 * (double)((x >> 8) % 1000) / 1000);
			put_analysis(cat, ids[i], NULL, 200,
				     fmin(180, fmax(70, bpm)),
				     (int)((x >> 20) % 24),
				     (double)((x >> 32) % 100) / 100,
				     -6 - (double)((x >> 40) % 12));
		}
		struct setlist_params q;
		params_for_test(&q);
		q.max_kicks = 1;
		q.seed = (uint64_t)lib;
		sl = setlist_create(cat, &q);
		CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
		n = sequence(sl, NULL, 0, 0, seq, NULL);
		setlist_get_stats(sl, &st);
		CHECK_INT(st.tempo_cuts, ==, cuts_of(cat, seq, n, ms));
		CHECK_INT(st.tempo_cuts, ==, st.tempo_cuts_unavoidable);
		int64_t id = add_track(cat, "Late", "Comer", 200, 192);
		put_analysis(cat, id, NULL, 200, 70 + lib * 3.7, 3, 0.5, -9);
		CHECK_INT(setlist_update(sl, &id, 1, NULL), ==, 0);
		n = sequence(sl, NULL, 0, 0, seq, NULL);
		setlist_get_stats(sl, &st);
		CHECK_INT(st.tempo_cuts, ==, cuts_of(cat, seq, n, ms));
		CHECK_INT(st.tempo_cuts, <=, st.tempo_cuts_unavoidable + 1);
		CHECK_INT(setlist_solve(sl), ==, 0);
		n = sequence(sl, NULL, 0, 0, seq, NULL);
		setlist_get_stats(sl, &st);
		CHECK_INT(st.tempo_cuts, ==, st.tempo_cuts_unavoidable);
		setlist_destroy(sl);
		catalog_close(cat);
	}

	/* Four artists at 100, 110, 120 and 130 BPM, three tracks each:
	 * keeping them two apart would put 100 next to 120 or 130 (beyond a
	 * bridge); the circle needs no cut (one arc, zigzag), so none is
	 * made and the artist rule gives way. */
	cat = open_catalog("tempoartists.db");
	for (int i = 0; i < 12; i++) {
		char artist[8], title[8];
		snprintf(artist, sizeof(artist), "%c", 'A' + i / 3);
		snprintf(title, sizeof(title), "%d", i);
		ids[i] = add_track(cat, artist, title, 200, 192);
		put_analysis(cat, ids[i], NULL, 200, 100 + 10 * (i / 3) + i % 3,
			     -1, 0.5, -10);
	}
	params_for_test(&p);
	p.weights.same_artist = 0;
	p.artist_separation = 2;
	sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	n = sequence(sl, NULL, 0, 0, seq, NULL);
	check_permutation(seq, n, ids, 12);
	setlist_get_stats(sl, &st);
	CHECK_INT(st.tempo_cuts_unavoidable, ==, 0);
	CHECK_INT(st.tempo_cuts, ==, 0);
	CHECK_INT(cuts_of(cat, seq, n, p.weights.max_stretch), ==, 0);
	CHECK_INT(st.artist_conflicts, >, 0);
	/* A newcomer by D at 145 BPM bridges to the Ds only (122 / 145 is
	 * 1.19): every place two from a D would cost two cuts, so it goes
	 * beside a D, at most one. */
	int64_t extra = add_track(cat, "D", "extra", 200, 192);
	put_analysis(cat, extra, NULL, 200, 145, -1, 0.5, -10);
	CHECK_INT(setlist_update(sl, &extra, 1, NULL), ==, 0);
	n = sequence(sl, NULL, 0, 0, seq, NULL);
	CHECK_INT(n, ==, 13);
	setlist_get_stats(sl, &st);
	CHECK_INT(st.tempo_cuts_unavoidable, ==, 0);
	CHECK_INT(st.tempo_cuts, <=, 1);
	CHECK_INT(cuts_of(cat, seq, n, p.weights.max_stretch), ==,
		  st.tempo_cuts);
	setlist_destroy(sl);
	catalog_close(cat);
}

/* Tracks played within no_repeat_s come back only after it, wherever
 * the new cycle would have put them. */
static void test_no_repeat(void)
{
	struct catalog *cat = open_catalog("repeat.db");
	int64_t ids[10], seq[MAXT];
	for (int i = 0; i < 10; i++) {
		char artist[16], title[8];
		snprintf(artist, sizeof(artist), "Artist %d", i);
		snprintf(title, sizeof(title), "%d", i);
		ids[i] = add_track(cat, artist, title, 60, 192);
		put_analysis(cat, ids[i], NULL, 60, 100 + 2 * i, -1, 0.5, -10);
	}
	struct setlist_params p;
	params_for_test(&p);
	p.min_duration_s = 30;
	p.no_repeat_s = 300;   /* 5 of the 10 minutes of the cycle */
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	int64_t cyc[MAXT];
	size_t n = sequence(sl, NULL, 0, 0, cyc, NULL);

	/* What a different order played last: the anchor, then the two
	 * tracks either side of it in this cycle, which either way round
	 * would come at once. */
	time_t now = 1700000000;
	struct setlist_play h[5] = {
		{ cyc[4], now },
		{ cyc[5], now - 60 },
		{ cyc[3], now - 120 },
		{ cyc[6], now - 180 },
		{ cyc[2], now - 240 },
	};
	int64_t anchor;
	n = sequence(sl, h, 5, now, seq, &anchor);
	CHECK_INT(anchor, ==, cyc[4]);
	CHECK_INT(seq[n - 1], ==, cyc[4]);
	check_permutation(seq, n, ids, 10);
	for (int i = 1; i < 5; i++) {
		size_t q = index_of(seq, n, h[i].id);
		/* Every track lasts 60 s. */
		CHECK((double)now + 60.0 * (double)q >= (double)h[i].when + 300);
	}
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	CHECK_INT(st.repeat_conflicts, ==, 0);

	/* The next sequence (the cycle played on) keeps them back. */
	struct setlist_play h2[6];
	memcpy(h2 + 1, h, sizeof(h));
	h2[0].id = seq[0];
	h2[0].when = now + 60;
	int64_t seq2[MAXT];
	n = sequence(sl, h2, 6, now + 60, seq2, &anchor);
	CHECK_INT(anchor, ==, seq[0]);
	for (size_t k = 0; k + 1 < n; k++)
		CHECK_INT(seq2[k], ==, seq[k + 1]);

	/* An hour is more than the library lasts: counted, every track
	 * still once. */
	p.no_repeat_s = 3600;
	CHECK_INT(setlist_set_params(sl, &p), ==, 0);
	n = sequence(sl, h, 5, now, seq, &anchor);
	check_permutation(seq, n, ids, 10);
	setlist_get_stats(sl, &st);
	CHECK_INT(st.repeat_conflicts, >, 0);
	setlist_destroy(sl);
	catalog_close(cat);
}

/* ---- the service ---------------------------------------------------- */

struct sink {
	pthread_mutex_t lock;
	struct playlist *pl;
	int64_t ids[MAXT];
	size_t n;
	int64_t start_after;
	unsigned published;
};

static void sink_publish(void *ctx, const int64_t *ids, size_t n,
			 int64_t start_after)
{
	struct sink *s = ctx;
	pthread_mutex_lock(&s->lock);
	memcpy(s->ids, ids, n * sizeof(*ids));
	s->n = n;
	s->start_after = start_after;
	s->published++;
	pthread_mutex_unlock(&s->lock);
	CHECK_INT(playlist_set_order(s->pl, ids, n, start_after), ==, 0);
}

static size_t sink_get(struct sink *s, int64_t *ids, unsigned *published,
		       int64_t *start_after)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	memcpy(ids, s->ids, n * sizeof(*ids));
	*published = s->published;
	if (start_after)
		*start_after = s->start_after;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_service(void)
{
	struct catalog *cat = open_catalog("service.db");
	int64_t ids[20], got[MAXT];
	make_library(cat, 20, ids, 5);
	CHECK_INT(catalog_play_add(cat, ids[7], time(NULL) - 10), ==, 0);

	struct sink sink = { .n = 0 };
	CHECK_INT(pthread_mutex_init(&sink.lock, NULL), ==, 0);
	sink.pl = playlist_create(MAXT, 3);
	CHECK(sink.pl);
	CHECK_INT(playlist_refresh(sink.pl, ids, 20), ==, 0);

	struct setlist_params p;
	params_for_test(&p);
	p.settle_s = 0.3;
	struct setlist_service *s = setlist_service_create(cat, &p,
							   sink_publish, &sink);
	CHECK(s);
	CHECK_INT(setlist_service_start(s), ==, 0);
	CHECK_INT(setlist_service_wait_ready(s, 30), ==, 0);
	unsigned published;
	int64_t start_after;
	size_t n = sink_get(&sink, got, &published, &start_after);
	CHECK_INT(published, >=, 1);
	check_permutation(got, n, ids, 20);
	/* It continues after the last play. */
	CHECK_INT(got[n - 1], ==, ids[7]);
	CHECK_INT(start_after, ==, ids[7]);
	int64_t id;
	CHECK_INT(playlist_next(sink.pl, &id), ==, 0);
	CHECK_INT(id, ==, got[0]);

	/* A new analysed track: in the order within seconds, the others in
	 * their places; then, settled, solved again. */
	int64_t extra = add_track(cat, "Late", "Arrival", 222, 192);
	put_analysis(cat, extra, NULL, 222, 120, 3, 0.5, -9);
	int64_t all[21];
	memcpy(all, ids, sizeof(ids));
	all[20] = extra;
	CHECK_INT(playlist_refresh(sink.pl, all, 21), ==, 0);
	setlist_service_track_changed(s, extra);
	double waited = 0;
	while ((n = sink_get(&sink, got, &published, NULL)) != 21 && waited < 20) {
		sleep_ms(20);
		waited += 0.02;
	}
	check_permutation(got, n, all, 21);
	struct setlist_stats st;
	waited = 0;
	do {
		sleep_ms(50);
		waited += 0.05;
		setlist_service_get_stats(s, &st);
	} while (st.solves < 2 && waited < 30);
	CHECK_INT(st.solves, >=, 2);
	CHECK_INT(st.in_order, ==, 21);

	/* A track turns bad: it leaves the order. */
	CHECK_INT(catalog_track_bad(cat, ids[3], "broken"), ==, 0);
	setlist_service_track_changed(s, ids[3]);
	waited = 0;
	while ((n = sink_get(&sink, got, &published, NULL)) != 20 && waited < 20) {
		sleep_ms(20);
		waited += 0.02;
	}
	CHECK_INT(n, ==, 20);
	CHECK(index_of(got, n, ids[3]) == SIZE_MAX);

	/* New parameters: everything culled, no order (the shuffle). */
	p.min_duration_s = 1000;
	p.max_duration_s = 2000;
	CHECK_INT(setlist_service_set_params(s, &p), ==, 0);
	waited = 0;
	while ((n = sink_get(&sink, got, &published, NULL)) != 0 && waited < 20) {
		sleep_ms(20);
		waited += 0.02;
	}
	CHECK_INT(n, ==, 0);
	CHECK_INT(playlist_size(sink.pl), ==, 21);
	p.max_duration_s = -1;
	CHECK_INT(setlist_service_set_params(s, &p), ==, -EINVAL);

	setlist_service_stop(s);
	setlist_service_stop(s);
	setlist_service_destroy(s);
	setlist_service_destroy(NULL);
	playlist_destroy(sink.pl);
	pthread_mutex_destroy(&sink.lock);
	catalog_close(cat);
}

/* Feed tracks not downloaded yet: each is placed where its feed's
 * metadata fits (a BPM hint among the tracks of that tempo), and the
 * service ranks them by how soon that place comes after the last play. */
static bool fast_track(const int64_t *fast, size_t n_fast, int64_t id)
{
	for (size_t i = 0; i < n_fast; i++)
		if (fast[i] == id)
			return true;
	return false;
}

static void test_candidates(void)
{
	struct catalog *cat = open_catalog("candidates.db");
	int64_t ids[12], seq[MAXT];
	for (size_t i = 0; i < 12; i++) {
		char artist[32];
		snprintf(artist, sizeof(artist), "Band %zu", i);
		ids[i] = add_track(cat, artist, "Song", 200, 192);
		/* Six at 90 BPM, six at 140: two blocks in the cycle. */
		put_analysis(cat, ids[i], NULL, 200, i < 6 ? 90 + (double)i
							  : 140 + (double)i,
			     -1, 0.5, -9);
	}
	struct setlist_params p;
	params_for_test(&p);
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl);
	CHECK_INT(setlist_reload(sl, NULL), ==, 0);
	CHECK_INT(setlist_solve(sl), ==, 0);
	struct setlist_play h = { ids[0], time(NULL) - 60 };
	size_t n = sequence(sl, &h, 1, time(NULL), seq, NULL);
	CHECK_INT(n, ==, 12);

	struct setlist_candidate c[3];
	setlist_candidate_init(&c[0], 100, "New Band", "", 143);
	setlist_candidate_init(&c[1], 101, "Other Band", "", 93);
	setlist_candidate_init(&c[2], 102, "", "", 0);
	CHECK(c[0].bt.bpm == 143);
	CHECK(c[2].bt.bpm == 0);
	size_t place[3];
	CHECK_INT(setlist_place_candidates(sl, seq, n, c, 3, place), ==, 0);
	/* Between two tracks of its tempo. */
	for (int k = 0; k < 2; k++) {
		CHECK_INT(place[k], <, n);
		int64_t before = seq[(place[k] + n - 1) % n];
		int64_t after = seq[place[k]];
		bool want_fast = k == 0;
		CHECK(fast_track(ids + 6, 6, before) == want_fast);
		CHECK(fast_track(ids + 6, 6, after) == want_fast);
	}
	CHECK_INT(place[2], <, n);
	/* An empty sequence: place 0. */
	CHECK_INT(setlist_place_candidates(sl, seq, 0, c, 3, place), ==, 0);
	CHECK_INT(place[0], ==, 0);
	setlist_destroy(sl);

	/* The service: after the last play (ids[0], a slow track) the slow
	 * block comes first, so the slow candidate is needed first; once a
	 * fast track has played, the fast block continues first. */
	CHECK_INT(catalog_play_add(cat, ids[0], time(NULL) - 60), ==, 0);
	struct sink sink = { .n = 0 };
	CHECK_INT(pthread_mutex_init(&sink.lock, NULL), ==, 0);
	sink.pl = playlist_create(MAXT, 3);
	CHECK(sink.pl);
	CHECK_INT(playlist_refresh(sink.pl, ids, 12), ==, 0);
	struct setlist_service *s = setlist_service_create(cat, &p,
							   sink_publish, &sink);
	CHECK(s);
	uint64_t keys[8];
	size_t nk = 99;
	CHECK_INT(setlist_service_candidate_order(s, keys, 8, &nk), ==, 0);
	CHECK_INT(nk, ==, 0);
	CHECK_INT(setlist_service_start(s), ==, 0);
	CHECK_INT(setlist_service_wait_ready(s, 30), ==, 0);
	CHECK_INT(setlist_service_set_candidates(s, c, 2), ==, 0);
	double waited = 0;
	do {
		sleep_ms(20);
		waited += 0.02;
		setlist_service_candidate_order(s, keys, 8, &nk);
	} while (nk < 2 && waited < 20);
	CHECK_INT(nk, ==, 2);
	unsigned published;
	n = sink_get(&sink, seq, &published, NULL);
	CHECK_INT(n, ==, 12);
	/* Which block follows the last play in the published order. */
	bool fast_first = fast_track(ids + 6, 6, seq[0]);
	CHECK_INT(keys[0], ==, fast_first ? 100 : 101);
	CHECK_INT(keys[1], ==, fast_first ? 101 : 100);

	/* A play in the other block: the ranking follows within a poll. */
	int64_t other = seq[0];
	for (size_t k = 0; k < n; k++)
		if (fast_track(ids + 6, 6, seq[k]) != fast_first &&
		    fast_track(ids + 6, 6, seq[(k + 1) % n]) != fast_first) {
			other = seq[k];
			break;
		}
	CHECK(fast_track(ids + 6, 6, other) != fast_first);
	CHECK_INT(catalog_play_add(cat, other, time(NULL)), ==, 0);
	waited = 0;
	do {
		sleep_ms(50);
		waited += 0.05;
		setlist_service_candidate_order(s, keys, 8, &nk);
	} while ((nk < 1 || keys[0] == (fast_first ? 100u : 101u)) &&
		 waited < 20);
	CHECK_INT(keys[0], ==, fast_first ? 101 : 100);

	struct setlist_candidate *many = calloc(SETLIST_CANDIDATES_MAX + 1,
						sizeof(*many));
	CHECK(many);
	CHECK_INT(setlist_service_set_candidates(s, many,
						 SETLIST_CANDIDATES_MAX + 1),
		  ==, -E2BIG);
	free(many);
	setlist_service_destroy(s);
	playlist_destroy(sink.pl);
	pthread_mutex_destroy(&sink.lock);
	catalog_close(cat);
}

/* Timing of a whole library: reading, solving, inserting. Printed for
 * the record; the checks are loose (a shared machine). */
static void test_large(void)
{
	size_t n = 1000;
	const char *env = getenv("SETLIST_BENCH_N");
	if (env && atoi(env) > 0 && atoi(env) < MAXT)
		n = (size_t)atoi(env);
	/* In memory: a file would spend the time on 2000 commits. */
	struct catalog *cat = catalog_open(":memory:");
	CHECK(cat);
	int64_t *ids = malloc(n * sizeof(*ids));
	CHECK(ids);
	make_library(cat, n, ids, 17);
	struct setlist_params p;
	setlist_params_default(&p);
	p.time_budget_s = 1.0;
	p.min_duration_s = 1;
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl);
	struct timespec a, b, c, d;
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_INT(setlist_reload(sl, NULL), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK_INT(setlist_solve(sl), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &c);
	int64_t id = add_track(cat, "One", "More", 200, 192);
	put_analysis(cat, id, NULL, 200, 123, 4, 0.3, -8);
	CHECK_INT(setlist_update(sl, &id, 1, NULL), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &d);
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	double cold_cost = st.cost;
	uint64_t cold_kicks = st.kicks;
	/* The service's re-solve when the library settles: warm. */
	struct timespec e;
	CHECK_INT(setlist_solve(sl), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &e);
	double t_warm = (double)(e.tv_sec - d.tv_sec) + (e.tv_nsec - d.tv_nsec) / 1e9;
	struct setlist_stats st2;
	setlist_get_stats(sl, &st2);
	fprintf(stderr, "setlist: %zu tracks: warm re-solve %.3f s (%" PRIu64
		" kicks), cost %.4f -> %.4f\n", n + 1, t_warm, st2.kicks,
		cold_cost, st2.cost);
	CHECK(st2.cost <= cold_cost + 1e-6);
	(void)cold_kicks;
	double t_read = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	double t_solve = (double)(c.tv_sec - b.tv_sec) + (c.tv_nsec - b.tv_nsec) / 1e9;
	double t_ins = (double)(d.tv_sec - c.tv_sec) + (d.tv_nsec - c.tv_nsec) / 1e9;
	fprintf(stderr, "setlist: %zu tracks: read %.3f s, solve %.3f s "
		"(%" PRIu64 " kicks, %.4f per step), insert one %.4f s\n", n,
		t_read, t_solve, st.kicks, st.cost / (double)n, t_ins);
	CHECK_INT(st.in_order, ==, n + 1);
	CHECK(t_solve < 10);
	free(ids);
	setlist_destroy(sl);
	catalog_close(cat);
}

/* Past matrix_max (set low here) the solve takes its neighbours from the
 * index and insertions, removals and the no-repeat moves take their
 * places beside a track's nearest: the cycle stays a cycle with every
 * track once, artists stay apart, and a track played recently does not
 * come again within no_repeat_s. */
/* The figures the setlist keeps of its cycle step by step (cost, tempo
 * cuts, artist conflicts: updated by each change, not recomputed) equal
 * the figures recomputed from scratch over the sequence SEQ it last
 * published, step by step through the public calls; the tempo circle's
 * equal those of a fresh setlist over the same catalog. */
static void check_figures(struct setlist *sl, struct catalog *cat,
			  const struct setlist_params *p, const int64_t *seq,
			  size_t n)
{
	struct setlist_stats st, fresh_st;
	setlist_get_stats(sl, &st);
	double cost = 0;
	size_t cuts = 0;
	for (size_t k = 0; k < n && n > 1; k++) {
		double c;
		bool step, cut;
		CHECK_INT(setlist_step_cost(sl, seq[k], seq[(k + 1) % n], NULL,
					    &c), ==, 0);
		CHECK_INT(setlist_step_tempo(sl, seq[k], seq[(k + 1) % n],
					     &step, &cut), ==, 0);
		cost += c;
		cuts += cut;
	}
	CHECK_NEAR(st.cost, cost, 1e-9 * (1 + cost));
	CHECK_INT(st.tempo_cuts, ==, cuts);
	CHECK_INT(st.artist_conflicts, ==, artist_clashes(cat, seq, n, 3));
	struct setlist *fresh = setlist_create(cat, p);
	CHECK(fresh && setlist_reload(fresh, NULL) == 0);
	setlist_get_stats(fresh, &fresh_st);
	CHECK_INT(st.tempo_tracks, ==, fresh_st.tempo_tracks);
	CHECK_INT(st.tempo_wide_gaps, ==, fresh_st.tempo_wide_gaps);
	CHECK_INT(st.tempo_cuts_unavoidable, ==, fresh_st.tempo_cuts_unavoidable);
	setlist_destroy(fresh);
}

static void test_index_scale(void)
{
	enum { N = 1000, MOVES = 20 };
	struct catalog *cat = catalog_open(":memory:");
	CHECK(cat);
	static int64_t ids[N + MOVES], seq[MAXT];
	uint64_t x = 99;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		char artist[32], title[32];
		snprintf(artist, sizeof(artist), "Album %zu", i / 10);
		snprintf(title, sizeof(title), "Song %zu", i);
		ids[i] = add_track(cat, artist, title, 200, 192);
		/* An album's tempi within a few percent of its own. */
		double base = 90 + (double)((i / 10) * 37 % 80);
		put_analysis(cat, ids[i], NULL, 200,
			     base * (1 + (double)(x % 400) / 10000),
			     (int)((i / 10 + x % 3) % 24),
			     (double)((i / 10) * 13 % 100) / 100, -8);
	}
	struct setlist_params p;
	params_for_test(&p);
	p.matrix_max = 200;
	p.max_kicks = 3000;
	p.min_duration_s = 1;
	struct setlist *sl = setlist_create(cat, &p);
	CHECK(sl && setlist_reload(sl, NULL) == 0 && setlist_solve(sl) == 0);
	size_t n = sequence(sl, NULL, 0, 0, seq, NULL);
	check_permutation(seq, n, ids, N);
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	CHECK_INT(st.artist_conflicts, ==, 0);
	CHECK_INT(artist_clashes(cat, seq, n, 3), ==, 0);
	/* Past the matrix limit the cuts are repaired one by one
	 * (tour_repair_edge) down to the circle's count. */
	fprintf(stderr, "setlist: index scale: %zu tempo cuts, %zu unavoidable\n",
		st.tempo_cuts, st.tempo_cuts_unavoidable);
	CHECK_INT(st.tempo_cuts, <=, st.tempo_cuts_unavoidable);

	/* New tracks by artists already there: placed apart from them. */
	char a[64];
	for (size_t r = 0; r < MOVES; r++) {
		char artist[32], title[32];
		snprintf(artist, sizeof(artist), "Album %zu", r * 7);
		snprintf(title, sizeof(title), "New %zu", r);
		int64_t id = ids[N + r] = add_track(cat, artist, title, 200, 192);
		put_analysis(cat, id, NULL, 200, 90 + (double)(r * 7 * 37 % 80),
			     (int)(r * 7 % 24), 0.5, -8);
		CHECK_INT(setlist_update(sl, &id, 1, NULL), ==, 0);
		n = sequence(sl, NULL, 0, 0, seq, NULL);
		check_permutation(seq, n, ids, N + r + 1);
		if (r % 5 == 0)
			check_figures(sl, cat, &p, seq, n);
		size_t at = index_of(seq, n, id);
		for (size_t k = 1; k <= 3; k++) {
			CHECK(strcmp(artist_of(cat, seq[(at + k) % n], a), artist));
			CHECK(strcmp(artist_of(cat, seq[(at + n - k) % n], a), artist));
		}
	}
	/* Tracks that turn bad leave; the rest stays a cycle. */
	for (size_t r = 0; r < MOVES; r++) {
		int64_t id = ids[r * 37];
		CHECK_INT(catalog_track_bad(cat, id, "test"), ==, 0);
		CHECK_INT(setlist_update(sl, &id, 1, NULL), ==, 0);
		n = sequence(sl, NULL, 0, 0, seq, NULL);
		CHECK_INT(n, ==, N + MOVES - r - 1);
		CHECK_INT(index_of(seq, n, id), ==, SIZE_MAX);
		if (r % 5 == 0)
			check_figures(sl, cat, &p, seq, n);
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n && j < i + 50; j++)
				CHECK(seq[i] != seq[j]);
	}
	/* Five tracks just played, in the middle of the order: none comes
	 * again within no_repeat_s (4 h, about 72 tracks of 200 s). */
	time_t now = 1700000000;
	struct setlist_play h[6];
	n = sequence(sl, NULL, 0, now, seq, NULL);
	for (size_t i = 0; i < 6; i++) {
		h[i].id = seq[i == 0 ? 0 : 100 + 40 * i];
		h[i].when = now - 200 * (time_t)(6 - i);
	}
	h[5].id = seq[0]; /* the anchor: the most recent play */
	h[0].id = seq[500];
	n = sequence(sl, h, 6, now, seq, NULL);
	for (size_t i = 0; i < 5; i++) {
		size_t at = index_of(seq, n, h[i].id);
		CHECK(at != SIZE_MAX);
		CHECK_INT(now + 200 * (time_t)at, >=, h[i].when + (time_t)p.no_repeat_s);
	}
	setlist_get_stats(sl, &st);
	CHECK_INT(st.repeat_conflicts, ==, 0);
	/* The no-repeat moves kept the figures too. */
	check_figures(sl, cat, &p, seq, n);
	setlist_destroy(sl);
	catalog_close(cat);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("setlist"));
	log_set_level(LOG_LEVEL_WARNING);
	errno = 0;
	CHECK(setlist_create(NULL, NULL) == NULL && errno == EINVAL);
	setlist_destroy(NULL);

	test_tempo_only();
	test_culling();
	test_restart();
	test_insertion();
	test_random_property();
	test_artist_separation();
	test_tempo_cuts();
	test_no_repeat();
	test_service();
	test_candidates();
	test_large();
	test_index_scale();
	test_sh("rm -rf '%s'", dir);
	return 0;
}
