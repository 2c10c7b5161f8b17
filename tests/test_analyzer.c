/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_analyzer — the background analysis service on a real library: files
 * made by sox and ffmpeg (tests/make-analysis-fixtures.sh), scanned into a
 * SQLite catalog file by source_dir, analysed in real child processes.
 *
 * Asserted: XXH64 matches the reference vectors, also fed in odd pieces;
 * the whole library gets analysed in the background with the right tempi;
 * a file whose child crashes (FOREVERFM_ANALYZE_TEST_HOOK) ends bad with
 * the reason while the rest completes; identical files at two paths cost
 * one analysis and share one cache row; a file that changes is analysed
 * again after a rescan and analyzer_wake(); a second pass reads everything
 * from the cache without a child; upcoming tracks are analysed first
 * (playlist_peek and mixer_upcoming predict the play order); stopping
 * kills a hung child at once; children hold none of the parent's file
 * descriptors.
 */
#include "autoconfig.h"

#include "analyzer.h"
#include "analyze_worker.h"
#include "catalog.h"
#include "log.h"
#include "mixer.h"
#include "playlist.h"
#include "ring.h"
#include "source_dir.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <time.h>

static char fixdir[PATH_MAX];
static char tmp[PATH_MAX / 2];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void make_fixtures(void)
{
	const char *builddir = getenv("top_builddir");
	const char *srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = SRCDIR;
	if (!builddir)
		builddir = ".";
	if (!test_have_program("sox") || !test_have_program("ffmpeg") ||
	    !test_have_program("bc")) {
		fprintf(stderr, "sox, ffmpeg and bc are needed\n");
		exit(TEST_SKIP);
	}
	/* A directory of its own: test_analyze_file may be making the
	 * shared one at the same time. */
	snprintf(fixdir, sizeof(fixdir), "%s/tests/analyzer-fixtures",
		 builddir);
	if (test_sh("sh '%s/tests/make-analysis-fixtures.sh' '%s'", srcdir,
		    fixdir) != 0) {
		fprintf(stderr, "make-analysis-fixtures.sh failed\n");
		exit(TEST_HARD_ERROR);
	}
}

static long long sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ------------------------------------------------------------------ */
/* The hash.                                                           */

static uint64_t xxh64(const void *data, size_t len)
{
	struct analyzer_hash h;
	analyzer_hash_init(&h);
	analyzer_hash_update(&h, data, len);
	return analyzer_hash_final(&h);
}

static void test_hash(void)
{
	static const char spam[] = "Nobody inspects the spammish repetition";
	char a32[32];
	memset(a32, 'a', sizeof(a32));
	CHECK(xxh64("", 0) == 0xEF46DB3751D8E999ULL);
	CHECK(xxh64("a", 1) == 0xD24EC4F1A98C6E5BULL);
	CHECK(xxh64("abc", 3) == 0x44BC2CF5AD770999ULL);
	CHECK(xxh64(spam, strlen(spam)) == 0xFBCEA83C8A378BF1ULL);
	CHECK(xxh64(a32, 32) == 0x856E843298F99AD7ULL);

	/* Fed in odd pieces, the hash is the same. */
	static unsigned char big[100003];
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < sizeof(big); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (unsigned char)x;
	}
	uint64_t whole = xxh64(big, sizeof(big));
	struct analyzer_hash h;
	analyzer_hash_init(&h);
	size_t off = 0, piece = 1;
	while (off < sizeof(big)) {
		size_t n = piece < sizeof(big) - off ? piece : sizeof(big) - off;
		analyzer_hash_update(&h, big + off, n);
		off += n;
		piece = piece * 7 % 97 + 1;
	}
	CHECK(analyzer_hash_final(&h) == whole);

	/* A file: XXH64 of its bytes, then its size. */
	char path[PATH_MAX + 32], hex[CATALOG_HASH_MAX];
	snprintf(path, sizeof(path), "%s/abc.bin", tmp);
	FILE *f = fopen(path, "wb");
	CHECK(f);
	fputs("abc", f);
	fclose(f);
	CHECK_INT(analyzer_content_hash(path, hex), ==, 0);
	CHECK_STR(hex, "44bc2cf5ad7709990000000000000003");
	snprintf(path, sizeof(path), "%s/big.bin", tmp);
	f = fopen(path, "wb");
	CHECK(f);
	CHECK(fwrite(big, 1, sizeof(big), f) == sizeof(big));
	fclose(f);
	CHECK_INT(analyzer_content_hash(path, hex), ==, 0);
	char want[CATALOG_HASH_MAX];
	snprintf(want, sizeof(want), "%016llx%016llx",
		 (unsigned long long)whole, (unsigned long long)sizeof(big));
	CHECK_STR(hex, want);
	snprintf(path, sizeof(path), "%s/nonexistent", tmp);
	CHECK_INT(analyzer_content_hash(path, hex), ==, -ENOENT);
}

/* ------------------------------------------------------------------ */
/* A library.                                                          */

struct lib {
	char dir[PATH_MAX];
	char db[PATH_MAX + 32];
	struct catalog *cat;
};

static void lib_copy(struct lib *l, const char *fixture, const char *as)
{
	CHECK_INT(test_sh("mkdir -p \"$(dirname '%s/%s')\" && "
			  "cp '%s/%s' '%s/%s'", l->dir, as, fixdir, fixture,
			  l->dir, as), ==, 0);
}

static void lib_scan(struct lib *l)
{
	char *roots[1] = { l->dir };
	struct source_dir_stats st;
	CHECK_INT(source_dir_scan(l->cat, roots, 1, &st), ==, 0);
}

static void lib_open(struct lib *l, const char *name)
{
	snprintf(l->dir, sizeof(l->dir), "%s/%s", tmp, name);
	snprintf(l->db, sizeof(l->db), "%s/%s.db", tmp, name);
	CHECK_INT(test_sh("mkdir -p '%s'", l->dir), ==, 0);
	l->cat = catalog_open(l->db);
	CHECK(l->cat);
}

static int64_t lib_id(struct lib *l, const char *name)
{
	int64_t ids[64];
	size_t n = 0;
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", l->dir, name);
	CHECK_INT(catalog_library_ids(l->cat, ids, 64, &n), ==, 0);
	CHECK(n <= 64);
	for (size_t i = 0; i < n; i++) {
		struct catalog_track t;
		CHECK_INT(catalog_track_get(l->cat, ids[i], &t), ==, 0);
		if (strcmp(t.path, path) == 0)
			return ids[i];
	}
	fprintf(stderr, "%s is not in the catalog\n", path);
	exit(1);
}

static size_t lib_unanalysed(struct lib *l)
{
	int64_t ids[64];
	size_t n = 0;
	CHECK_INT(catalog_unanalysed_ids(l->cat, ids, 64, &n), ==, 0);
	return n;
}

/* Events, in the order they came. */
struct record {
	pthread_mutex_t lock;
	size_t n;
	int64_t ids[64];
	enum analyzer_outcome outcome[64];
	size_t last_done, last_total;
	/* For the priority test: the ids to offer as upcoming. */
	int64_t upcoming[4];
	size_t n_upcoming;
	size_t upcoming_calls;
};

static void record_event(void *ctx, const struct analyzer_event *ev)
{
	struct record *r = ctx;
	pthread_mutex_lock(&r->lock);
	if (r->n < 64) {
		r->ids[r->n] = ev->track->id;
		r->outcome[r->n] = ev->outcome;
	}
	r->n++;
	CHECK(ev->done >= 1 && ev->done <= ev->total);
	CHECK(ev->done == r->last_done + 1 || ev->done == 1);
	r->last_done = ev->done;
	r->last_total = ev->total;
	CHECK((ev->analysis != NULL) == (ev->outcome != ANALYZER_BAD));
	CHECK((ev->reason[0] != '\0') == (ev->outcome == ANALYZER_BAD));
	pthread_mutex_unlock(&r->lock);
}

static int record_upcoming(void *ctx, int64_t *ids, size_t max, size_t *n)
{
	struct record *r = ctx;
	pthread_mutex_lock(&r->lock);
	size_t k = r->n_upcoming < max ? r->n_upcoming : max;
	memcpy(ids, r->upcoming, k * sizeof(*ids));
	*n = k;
	r->upcoming_calls++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static size_t record_count(struct record *r, enum analyzer_outcome o)
{
	size_t c = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && i < 64; i++)
		c += r->outcome[i] == o;
	pthread_mutex_unlock(&r->lock);
	return c;
}

/* Waits until the service has finished a pass with nothing left. */
static void wait_idle(struct analyzer_service *az, uint64_t passes_before,
		      double timeout_s)
{
	double until = now_s() + timeout_s;
	struct analyzer_stats st;
	for (;;) {
		analyzer_get_stats(az, &st);
		if (!st.busy && st.passes > passes_before && st.pending == 0)
			return;
		CHECK(now_s() < until);
		usleep(20000);
	}
}

static void check_bpm(struct lib *l, const char *name, double bpm)
{
	struct analysis a;
	CHECK_INT(catalog_analysis_get(l->cat, lib_id(l, name), &a), ==, 0);
	fprintf(stderr, "%s: %.3f BPM (confidence %.2f)\n", name, a.bpm,
		a.bpm_confidence);
	CHECK(fabs(a.bpm - bpm) / bpm <= 0.001);
}

static void test_service(void)
{
	struct lib l;
	struct record r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	lib_open(&l, "service");
	lib_copy(&l, "clicks-128.mp3", "a/clicks-128.mp3");
	lib_copy(&l, "clicks-140.ogg", "a/clicks-140.ogg");
	lib_copy(&l, "clicks-100-mono-8k.wav", "b/clicks-100-mono-8k.wav");
	lib_copy(&l, "one-second.mp3", "b/one-second.mp3");
	lib_copy(&l, "silence.ogg", "c/silence.ogg");
	lib_copy(&l, "pink-noise.mp3", "c/pink-noise.mp3");
	/* Its own content (a copy would be found in the cache). */
	CHECK_INT(test_sh("sox -V1 '%s/clicks-140.ogg' '%s/c/crash-me.ogg' "
			  "trim 0 20", fixdir, l.dir), ==, 0);
	lib_copy(&l, "clicks-128.mp3", "z/same-as-clicks-128.mp3");
	lib_scan(&l);
	CHECK_INT(lib_unanalysed(&l), ==, 8);

	CHECK_INT(setenv("FOREVERFM_ANALYZE_TEST_HOOK", "crash:crash-me", 1),
		  ==, 0);
	struct analyzer_params p = {
		.workers = 2,
		.timeout_s = 120,
		.event = record_event,
		.event_ctx = &r,
	};
	struct analyzer_service *az = analyzer_create(l.cat, &p);
	CHECK(az);
	double t0 = now_s();
	CHECK_INT(analyzer_start(az), ==, 0);
	CHECK_INT(analyzer_start(az), ==, -EALREADY);
	wait_idle(az, 0, 120);
	fprintf(stderr, "service: 8 tracks in %.2f s\n", now_s() - t0);

	struct analyzer_stats st;
	analyzer_get_stats(az, &st);
	CHECK_INT(st.analysed, ==, 6);
	CHECK_INT(st.cached, ==, 1);
	CHECK_INT(st.bad, ==, 1);
	CHECK_INT(r.n, ==, 8);
	CHECK_INT(r.last_total, ==, 8);
	CHECK_INT(record_count(&r, ANALYZER_BAD), ==, 1);
	CHECK_INT(record_count(&r, ANALYZER_CACHED), ==, 1);
	CHECK_INT(lib_unanalysed(&l), ==, 0);

	/* The crash cost one file, with the reason. */
	struct catalog_track t;
	CHECK_INT(catalog_track_get(l.cat, lib_id(&l, "c/crash-me.ogg"), &t),
		  ==, 0);
	fprintf(stderr, "crash-me.ogg: %s\n", t.bad_reason);
	CHECK(strstr(t.bad_reason, "analysis: crashed: signal 6") ==
	      t.bad_reason);
	size_t n_bad = 0;
	CHECK_INT(catalog_bad_count(l.cat, &n_bad), ==, 0);
	CHECK_INT(n_bad, ==, 1);

	/* Right values, duplicates share one row. */
	check_bpm(&l, "a/clicks-128.mp3", 128);
	check_bpm(&l, "a/clicks-140.ogg", 140);
	check_bpm(&l, "b/clicks-100-mono-8k.wav", 100);
	check_bpm(&l, "z/same-as-clicks-128.mp3", 128);
	struct analysis a;
	CHECK_INT(catalog_analysis_get(l.cat, lib_id(&l, "c/silence.ogg"), &a),
		  ==, 0);
	CHECK(a.bpm == 0 && a.key == -1);
	CHECK_INT(sql_int(l.db, "SELECT count(*) FROM analysis"), ==, 6);
	CHECK_INT(sql_int(l.db, "SELECT count(DISTINCT content_hash) FROM"
			  " tracks WHERE content_hash IS NOT NULL"
			  " AND bad_reason IS NULL"), ==, 6);
	struct catalog_track t1, t2;
	CHECK_INT(catalog_track_get(l.cat, lib_id(&l, "a/clicks-128.mp3"),
				    &t1), ==, 0);
	CHECK_INT(catalog_track_get(l.cat,
				    lib_id(&l, "z/same-as-clicks-128.mp3"),
				    &t2), ==, 0);
	CHECK_STR(t1.content_hash, t2.content_hash);
	CHECK(t1.content_hash[0]);

	/* A changed file and a new one: rescan, wake, analysed again. */
	lib_copy(&l, "clicks-128.mp3", "b/one-second.mp3");
	lib_copy(&l, "clicks-100-mono-8k.wav", "d/new.wav");
	lib_scan(&l);
	CHECK_INT(lib_unanalysed(&l), ==, 2);
	analyzer_get_stats(az, &st);
	uint64_t passes = st.passes;
	analyzer_wake(az);
	wait_idle(az, passes, 60);
	analyzer_get_stats(az, &st);
	/* Both contents are known already: hashes find them, no child. */
	CHECK_INT(st.analysed, ==, 6);
	CHECK_INT(st.cached, ==, 3);
	check_bpm(&l, "b/one-second.mp3", 128);
	check_bpm(&l, "d/new.wav", 100);
	CHECK_INT(lib_unanalysed(&l), ==, 0);

	/* New content: a child again. */
	CHECK_INT(test_sh("sox -V1 '%s/clicks-140.ogg' '%s/d/slower.wav' "
			  "trim 0 20 speed 0.9375", fixdir, l.dir), ==, 0);
	lib_scan(&l);
	analyzer_get_stats(az, &st);
	passes = st.passes;
	analyzer_wake(az);
	wait_idle(az, passes, 60);
	analyzer_get_stats(az, &st);
	CHECK_INT(st.analysed, ==, 7);
	check_bpm(&l, "d/slower.wav", 140 * 0.9375);

	analyzer_stop(az);
	analyzer_stop(az);
	analyzer_destroy(az);
	analyzer_destroy(NULL);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");

	/* A new build of the analyzer would see everything as not analysed;
	 * this one, reopening the file, sees nothing to do: a pass of hash
	 * look-ups, no child. */
	catalog_close(l.cat);
	l.cat = catalog_open(l.db);
	CHECK(l.cat);
	struct analyzer_stats once;
	memset(&once, 0, sizeof(once));
	memset(&p, 0, sizeof(p));
	CHECK_INT(analyzer_run(l.cat, &p, NULL, &once), ==, 0);
	CHECK_INT(once.analysed + once.cached + once.bad, ==, 0);
	catalog_close(l.cat);
	pthread_mutex_destroy(&r.lock);
}

/* Upcoming tracks first: with one child at a time, the order of events is
 * the order of choices. */
static void test_priority(void)
{
	struct lib l;
	struct record r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	lib_open(&l, "priority");
	lib_copy(&l, "one-second.mp3", "1.mp3");
	lib_copy(&l, "silence.ogg", "2.ogg");
	lib_copy(&l, "pink-noise.mp3", "3.mp3");
	lib_copy(&l, "clicks-100-mono-8k.wav", "4.wav");
	lib_scan(&l);
	int64_t id3 = lib_id(&l, "3.mp3"), id4 = lib_id(&l, "4.wav");
	int64_t id1 = lib_id(&l, "1.mp3"), id2 = lib_id(&l, "2.ogg");
	/* The player's next tracks are 4 then 3 (and one id the library
	 * does not have): those first, then the rest in id order. */
	r.upcoming[0] = id4;
	r.upcoming[1] = id3;
	r.upcoming[2] = 999999; /* not in the library */
	r.n_upcoming = 3;
	struct analyzer_params p = {
		.workers = 1,
		.timeout_s = 120,
		.event = record_event,
		.event_ctx = &r,
		.upcoming = record_upcoming,
		.upcoming_ctx = &r,
	};
	struct analyzer_stats st;
	memset(&st, 0, sizeof(st));
	CHECK_INT(analyzer_run(l.cat, &p, NULL, &st), ==, 0);
	CHECK_INT(r.n, ==, 4);
	CHECK_INT(r.ids[0], ==, id4);
	CHECK_INT(r.ids[1], ==, id3);
	CHECK_INT(r.ids[2], ==, id1);
	CHECK_INT(r.ids[3], ==, id2);
	CHECK(r.upcoming_calls >= 4);
	CHECK_INT(st.analysed, ==, 4);
	CHECK_INT(st.passes, ==, 1);

	/* A cancelled run stops at once and leaves the rest unanalysed. */
	lib_copy(&l, "clicks-128.mp3", "5.mp3");
	lib_scan(&l);
	atomic_bool cancel;
	atomic_init(&cancel, true);
	CHECK_INT(analyzer_run(l.cat, &p, &cancel, &st), ==, -ECANCELED);
	CHECK_INT(lib_unanalysed(&l), ==, 1);
	catalog_close(l.cat);
	pthread_mutex_destroy(&r.lock);
}

/* Stopping while a child hangs kills it at once; no child is left. */
static void test_stop_hung(void)
{
	struct lib l;
	lib_open(&l, "hung");
	lib_copy(&l, "clicks-128.mp3", "hang-me.mp3");
	lib_scan(&l);
	CHECK_INT(setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:hang-me", 1),
		  ==, 0);
	struct analyzer_params p = { .workers = 1, .timeout_s = 600 };
	struct analyzer_service *az = analyzer_create(l.cat, &p);
	CHECK(az);
	CHECK_INT(analyzer_start(az), ==, 0);
	struct analyzer_stats st;
	double until = now_s() + 30;
	do {
		usleep(20000);
		analyzer_get_stats(az, &st);
		CHECK(now_s() < until);
	} while (!st.busy || st.pending != 1);
	usleep(200000); /* the child is running now */
	double t0 = now_s();
	analyzer_stop(az);
	double took = now_s() - t0;
	fprintf(stderr, "stop with a hung child: %.3f s\n", took);
	CHECK(took < 1.0);
	errno = 0;
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	analyzer_destroy(az);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");
	/* Not analysed, not bad: it is tried again next time. */
	CHECK_INT(lib_unanalysed(&l), ==, 1);

	/* A timeout twice in a pass is a bad file. The 30-second file gets a
	 * tenth of its length on top of timeout_s. */
	CHECK_INT(setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:hang-me", 1),
		  ==, 0);
	p.timeout_s = 1;
	CHECK_INT(analyzer_run(l.cat, &p, NULL, NULL), ==, 0);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");
	struct catalog_track t;
	CHECK_INT(catalog_track_get(l.cat, lib_id(&l, "hang-me.mp3"), &t), ==,
		  0);
	CHECK_STR(t.bad_reason, "analysis: timed out after 4 s");

	/* A timeout that does not repeat is not the file's fault: the
	 * track is tried once more in the same pass and analysed. */
	char marker[PATH_MAX + 16];
	snprintf(marker, sizeof(marker), "%s/hung-once", l.dir);
	lib_copy(&l, "clicks-140.ogg", "stall-once.ogg");
	lib_scan(&l);
	CHECK_INT(setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang-once:stall-once",
			 1), ==, 0);
	CHECK_INT(setenv("FOREVERFM_ANALYZE_TEST_MARKER", marker, 1), ==, 0);
	struct analyzer_stats st2 = { 0 };
	CHECK_INT(analyzer_run(l.cat, &p, NULL, &st2), ==, 0);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");
	unsetenv("FOREVERFM_ANALYZE_TEST_MARKER");
	CHECK(access(marker, F_OK) == 0); /* the first child did hang */
	CHECK_INT(st2.bad, ==, 0);
	CHECK_INT(st2.analysed, ==, 1);
	CHECK_INT(lib_unanalysed(&l), ==, 0);
	catalog_close(l.cat);
}

/* A descriptor the parent holds (not close-on-exec, like libshout's
 * sockets) is not held by the children: its pipe reports end of file as
 * soon as the parent closes its write end, while a child is running. */
struct hang_arg {
	const char *path;
	int rc;
};

static void *hang_thread(void *p)
{
	struct hang_arg *h = p;
	struct analysis a;
	char reason[256];
	h->rc = analyze_worker_run(h->path, NULL, 2.0, &a, reason,
				   sizeof(reason));
	return NULL;
}

static void test_no_fd_leak(void)
{
	int fds[2];
	CHECK(pipe(fds) == 0); /* no O_CLOEXEC on purpose */
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/clicks-128.mp3", fixdir);
	CHECK_INT(setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:clicks-128", 1),
		  ==, 0);
	struct hang_arg h = { path, 0 };
	pthread_t th;
	CHECK(pthread_create(&th, NULL, hang_thread, &h) == 0);
	usleep(500000); /* the child hangs now */
	close(fds[1]);
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	double t0 = now_s();
	CHECK_INT(poll(&pfd, 1, 2000), ==, 1);
	char c;
	CHECK_INT(read(fds[0], &c, 1), ==, 0);
	/* EOF came at once, not when the child was killed after 2 s. */
	CHECK(now_s() - t0 < 1.0);
	pthread_join(th, NULL);
	CHECK_INT(h.rc, ==, -ETIMEDOUT);
	close(fds[0]);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");
}

/* ------------------------------------------------------------------ */
/* The play order's look-ahead.                                        */

static void test_playlist_peek(void)
{
	struct playlist *pl = playlist_create(16, 42);
	CHECK(pl);
	int64_t ids[10], peek[16], got;
	size_t n = 99;
	CHECK_INT(playlist_peek(pl, peek, 16, &n), ==, 0);
	CHECK_INT(n, ==, 0);
	for (int i = 0; i < 10; i++)
		ids[i] = i + 1;
	CHECK_INT(playlist_refresh(pl, ids, 10), ==, 0);
	CHECK_INT(playlist_peek(pl, peek, 16, &n), ==, 0);
	CHECK_INT(n, ==, 10);
	size_t n3;
	int64_t first3[3];
	CHECK_INT(playlist_peek(pl, first3, 3, &n3), ==, 0);
	CHECK_INT(n3, ==, 3);
	CHECK(memcmp(first3, peek, sizeof(first3)) == 0);
	for (size_t i = 0; i < 10; i++) {
		size_t left;
		int64_t now[16];
		CHECK_INT(playlist_peek(pl, now, 16, &left), ==, 0);
		CHECK_INT(left, ==, 10 - i);
		CHECK_INT(now[0], ==, peek[i]);
		CHECK_INT(playlist_next(pl, &got), ==, 0);
		CHECK_INT(got, ==, peek[i]);
	}
	/* The round is over; the next is not shuffled yet. */
	CHECK_INT(playlist_peek(pl, peek, 16, &n), ==, 0);
	CHECK_INT(n, ==, 0);
	playlist_destroy(pl);
}

static void test_mixer_upcoming(void)
{
	struct lib l;
	lib_open(&l, "mixer");
	lib_copy(&l, "one-second.mp3", "1.mp3");
	lib_copy(&l, "pink-noise.mp3", "2.mp3");
	lib_copy(&l, "clicks-100-mono-8k.wav", "3.wav");
	lib_copy(&l, "clicks-128.mp3", "4.mp3");
	lib_copy(&l, "clicks-140.ogg", "5.ogg");
	lib_scan(&l);
	struct ring *ring = ring_create(DECODE_RATE, 2, 16, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	struct mixer_params mp = {
		.crossfade_s = 0,
		.fadeout_s = 0,
		.seed = 7,
		.stop_after_frames = (uint64_t)DECODE_RATE * 200,
		.max_tracks = 64,
	};
	struct mixer *m = mixer_create(l.cat, ring, &mp);
	CHECK(m);
	int64_t up[MIXER_UPCOMING_MAX];
	size_t n = 99;
	CHECK_INT(mixer_upcoming(m, up, MIXER_UPCOMING_MAX, &n), ==, 0);
	CHECK_INT(n, ==, 0);
	CHECK_INT(mixer_start(m), ==, 0);

	static float buf[2 * 4096];
	int64_t marks[32];
	size_t n_marks = 0, n_up = 0;
	int64_t snapshot[MIXER_UPCOMING_MAX];
	for (;;) {
		struct ring_marker mk;
		bool has = false;
		ssize_t r = ring_read(ring, 0, buf, 4096, &mk, &has);
		CHECK(r >= 0);
		if (r == 0)
			break;
		if (has && mk.track_id > 0 && n_marks < 32)
			marks[n_marks++] = mk.track_id;
		if (n_marks == 1 && n_up == 0) {
			CHECK_INT(mixer_upcoming(m, snapshot,
						 MIXER_UPCOMING_MAX, &n_up),
				  ==, 0);
			CHECK(n_up >= 2);
			size_t one;
			CHECK_INT(mixer_upcoming(m, up, 1, &one), ==, 0);
			CHECK_INT(one, ==, 1);
		}
	}
	CHECK_INT(mixer_join(m), ==, 0);
	/* The snapshot is what played from its first id on. */
	size_t at = 0;
	while (at < n_marks && marks[at] != snapshot[0])
		at++;
	CHECK(at < n_marks);
	fprintf(stderr, "upcoming:");
	for (size_t i = 0; i < n_up; i++)
		fprintf(stderr, " %lld", (long long)snapshot[i]);
	fprintf(stderr, "; played:");
	for (size_t i = 0; i < n_marks; i++)
		fprintf(stderr, " %lld", (long long)marks[i]);
	fprintf(stderr, "\n");
	CHECK(at + n_up <= n_marks);
	for (size_t i = 0; i < n_up; i++)
		CHECK_INT(marks[at + i], ==, snapshot[i]);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(l.cat);
}

int main(void)
{
	const char *t = test_tmpdir("analyzer");
	CHECK(strlen(t) < sizeof(tmp));
	memcpy(tmp, t, strlen(t) + 1);
	log_set_level(LOG_LEVEL_WARNING);
	make_fixtures();

	test_hash();
	test_playlist_peek();
	test_no_fd_leak();
	test_priority();
	test_service();
	test_stop_hung();
	test_mixer_upcoming();

	test_sh("rm -rf '%s'", tmp);
	return 0;
}
