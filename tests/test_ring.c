/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_ring — the PCM ring as the mixer and the outputs use it: every frame
 * arrives exactly once and in order across wrap-around, for fast and slow
 * readers; back-pressure blocks the writer (ring full, or nobody listening);
 * a stalled reader is evicted without holding up the others and rejoins at
 * the live point; markers are never read across and come out at exactly
 * their frame; close drains readers and stops the writer.
 *
 * The signal is a counter: frame k holds (k, -k), exact in float up to 2^24,
 * so a single lost, repeated or reordered frame is caught.
 */
#include "autoconfig.h"

#include "ring.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MAX_MS 5000

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void fill_counter(float *buf, uint64_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = (float)(first + i);
		buf[2 * i + 1] = -(float)(first + i);
	}
}

/* Checks that buf holds frames first..first+n-1 of the counter. */
static void check_counter(const float *buf, uint64_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[2 * i] != (float)(first + i) ||
		    buf[2 * i + 1] != -(float)(first + i)) {
			fprintf(stderr, "frame %llu: got (%g, %g)\n",
				(unsigned long long)(first + i), buf[2 * i],
				buf[2 * i + 1]);
			exit(1);
		}
	}
}

/* ------------------------------------------------------------------ */

struct writer_job {
	struct ring *ring;
	uint64_t first;        /* counter value of the first frame */
	uint64_t total;
	size_t chunk;
	uint64_t mark_every;   /* 0 = no markers; else one every N frames */
	int rc;
	atomic_bool done;
	atomic_ullong progress; /* frames handed to ring_write so far */
};

static void *writer_main(void *arg)
{
	struct writer_job *w = arg;
	float buf[2 * 1024];
	uint64_t pos = 0;
	w->rc = 0;
	while (pos < w->total) {
		size_t n = w->chunk;
		if (n > 1024)
			n = 1024;
		if (n > w->total - pos)
			n = (size_t)(w->total - pos);
		if (w->mark_every) {
			/* Stop each chunk at the next marker position. */
			uint64_t next = (pos / w->mark_every + 1) * w->mark_every;
			if (pos % w->mark_every == 0 && pos > 0) {
				struct ring_marker mk;
				memset(&mk, 0, sizeof(mk));
				mk.track_id = (int64_t)pos;
				snprintf(mk.title, sizeof(mk.title), "at %llu",
					 (unsigned long long)pos);
				w->rc = ring_mark(w->ring, &mk);
				if (w->rc < 0)
					break;
			}
			if (pos + n > next)
				n = (size_t)(next - pos);
		}
		fill_counter(buf, w->first + pos, n);
		w->rc = ring_write(w->ring, buf, n);
		if (w->rc < 0)
			break;
		pos += n;
		atomic_store(&w->progress, pos);
	}
	atomic_store(&w->done, true);
	return NULL;
}

static void writer_start(pthread_t *th, struct writer_job *w,
			 struct ring *ring, uint64_t first, uint64_t total,
			 size_t chunk)
{
	memset(w, 0, sizeof(*w));
	w->ring = ring;
	w->first = first;
	w->total = total;
	w->chunk = chunk;
	atomic_init(&w->done, false);
	atomic_init(&w->progress, 0);
	CHECK(pthread_create(th, NULL, writer_main, w) == 0);
}

struct reader_job {
	struct ring *ring;
	unsigned id;
	uint64_t expect_total;
	size_t chunk;
	unsigned pause_every;  /* sleep 1 ms every N reads; 0 = never */
	uint64_t mark_every;   /* markers expected every N frames */
	_Atomic uint64_t got;  /* read by the main thread before the join */
	uint64_t markers;
	ssize_t last_rc;
};

static void *reader_main(void *arg)
{
	struct reader_job *r = arg;
	float buf[2 * 1024];
	unsigned reads = 0;
	for (;;) {
		struct ring_marker mk;
		bool has = false;
		ssize_t n = ring_read(r->ring, r->id, buf, r->chunk, &mk, &has);
		r->last_rc = n;
		if (n <= 0)
			break;
		check_counter(buf, r->got, (size_t)n);
		if (r->mark_every) {
			/* A marker exactly where one was placed... */
			bool at_mark = r->got > 0 && r->got % r->mark_every == 0;
			CHECK(has == at_mark);
			if (has) {
				CHECK_INT(mk.frame, ==, r->got);
				CHECK_INT(mk.track_id, ==, (int64_t)r->got);
				r->markers++;
			}
			/* ...and no read spanning the next one. */
			uint64_t next = (r->got / r->mark_every + 1) *
					r->mark_every;
			CHECK(r->got + (uint64_t)n <= next);
		} else {
			CHECK(!has);
		}
		r->got += (uint64_t)n;
		if (r->pause_every && ++reads % r->pause_every == 0)
			sleep_ms(1);
	}
	return NULL;
}

/* Polls COND for up to WAIT_MAX_MS. */
#define WAIT_FOR(cond) do { uint64_t wait_t0_ = now_ms(); \
	while (!(cond)) { \
		if (now_ms() - wait_t0_ > WAIT_MAX_MS) { \
			fprintf(stderr, "%s:%d: timed out waiting for %s\n", \
				__FILE__, __LINE__, #cond); \
			exit(1); \
		} \
		sleep_ms(1); \
	} } while (0)

/* ------------------------------------------------------------------ */

static void test_invalid(void)
{
	errno = 0;
	CHECK(ring_create(0, 1, 1, 0) == NULL && errno == EINVAL);
	CHECK(ring_create(10, 0, 1, 0) == NULL && errno == EINVAL);
	CHECK(ring_create(10, 1, 0, 0) == NULL && errno == EINVAL);
	ring_destroy(NULL);

	struct ring *ring = ring_create(10, 2, 1, 0);
	CHECK(ring);
	float buf[2 * 4];
	bool has = true;
	CHECK_INT(ring_reader_attach(ring, 2, NULL, NULL), ==, -EINVAL);
	CHECK_INT(ring_read(ring, 0, buf, 4, NULL, &has), ==, -EINVAL);
	CHECK(!has);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, &has), ==, 0);
	CHECK(!has); /* no marker in effect yet */
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, -EBUSY);
	ring_reader_detach(ring, 0);
	ring_reader_detach(ring, 0); /* not attached: harmless */
	ring_reader_detach(ring, 7); /* out of range: harmless */
	ring_destroy(ring);
}

/* One reader, odd chunk sizes on both sides, 300 wrap-arounds. */
static void test_single_reader(void)
{
	struct ring *ring = ring_create(1000, 1, 4, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	pthread_t wt, rt;
	struct writer_job w;
	struct reader_job r = { .ring = ring, .id = 0, .chunk = 113 };
	writer_start(&wt, &w, ring, 0, 300000, 77);
	CHECK(pthread_create(&rt, NULL, reader_main, &r) == 0);
	pthread_join(wt, NULL);
	CHECK_INT(w.rc, ==, 0);
	CHECK_INT(ring_write_position(ring), ==, 300000);
	ring_close(ring);
	pthread_join(rt, NULL);
	CHECK_INT(r.last_rc, ==, 0);
	CHECK_INT(r.got, ==, 300000);
	CHECK_INT(ring_reader_position(ring, 0), ==, 300000);
	ring_destroy(ring);
}

/* A fast and a slow reader both get everything; the writer waits for the
 * slow one (no eviction configured). */
static void test_two_readers(void)
{
	struct ring *ring = ring_create(512, 2, 4, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	CHECK_INT(ring_reader_attach(ring, 1, NULL, NULL), ==, 0);
	pthread_t wt, rt0, rt1;
	struct writer_job w;
	struct reader_job fast = { .ring = ring, .id = 0, .chunk = 1000 };
	struct reader_job slow = { .ring = ring, .id = 1, .chunk = 61,
				   .pause_every = 20 };
	writer_start(&wt, &w, ring, 0, 60000, 500);
	CHECK(pthread_create(&rt0, NULL, reader_main, &fast) == 0);
	CHECK(pthread_create(&rt1, NULL, reader_main, &slow) == 0);
	pthread_join(wt, NULL);
	CHECK_INT(w.rc, ==, 0);
	ring_close(ring);
	pthread_join(rt0, NULL);
	pthread_join(rt1, NULL);
	CHECK_INT(fast.got, ==, 60000);
	CHECK_INT(slow.got, ==, 60000);
	CHECK_INT(fast.last_rc, ==, 0);
	CHECK_INT(slow.last_rc, ==, 0);
	ring_destroy(ring);
}

/* A full ring blocks the writer until the reader makes room; with no reader
 * at all it blocks until one attaches. */
static void test_backpressure(void)
{
	struct ring *ring = ring_create(100, 1, 4, 0);
	CHECK(ring);
	float buf[2 * 200];
	pthread_t wt;
	struct writer_job w;

	/* Nobody attached: nothing is written. */
	writer_start(&wt, &w, ring, 0, 150, 150);
	sleep_ms(100);
	CHECK(!atomic_load(&w.done));
	CHECK_INT(ring_write_position(ring), ==, 0);

	/* A reader attaches at the write position (0) and the writer fills the
	 * ring, then blocks with 50 frames to go. */
	bool has = true;
	CHECK_INT(ring_reader_attach(ring, 0, NULL, &has), ==, 0);
	CHECK(!has);
	WAIT_FOR(ring_write_position(ring) == 100);
	sleep_ms(100);
	CHECK(!atomic_load(&w.done));
	CHECK_INT(ring_write_position(ring), ==, 100);

	/* Reading 60 frees 60: the writer finishes. */
	CHECK_INT(ring_read(ring, 0, buf, 60, NULL, NULL), ==, 60);
	check_counter(buf, 0, 60);
	WAIT_FOR(atomic_load(&w.done));
	pthread_join(wt, NULL);
	CHECK_INT(w.rc, ==, 0);
	CHECK_INT(ring_write_position(ring), ==, 150);
	CHECK_INT(ring_read(ring, 0, buf, 200, NULL, NULL), ==, 90);
	check_counter(buf, 60, 90);

	/* Detaching the only reader blocks the writer again. */
	ring_reader_detach(ring, 0);
	CHECK_INT(ring_read(ring, 0, buf, 10, NULL, NULL), ==, -EINVAL);
	writer_start(&wt, &w, ring, 0, 10, 10);
	sleep_ms(50);
	CHECK(!atomic_load(&w.done));
	CHECK_INT(ring_write_position(ring), ==, 150);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	CHECK_INT(ring_reader_position(ring, 0), ==, 150); /* live point */
	WAIT_FOR(atomic_load(&w.done));
	pthread_join(wt, NULL);
	CHECK_INT(ring_read(ring, 0, buf, 200, NULL, NULL), ==, 10);
	check_counter(buf, 0, 10); /* the writer's second run restarts at 0 */
	ring_destroy(ring);
}

/* Reader 1 stops reading: after stall_ms it is evicted and the writer and
 * reader 0 carry on; reader 1 learns it with -ECONNRESET and rejoins at the
 * live point. */
static void test_eviction(void)
{
	/* Long enough that reader 0, which never pauses, is not starved of
	 * the CPU that long on a loaded machine: evicted too, it would leave
	 * the writer waiting for a reader, for good. */
	const unsigned stall_ms = 1000;
	struct ring *ring = ring_create(256, 2, 4, stall_ms);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	CHECK_INT(ring_reader_attach(ring, 1, NULL, NULL), ==, 0);
	float buf[2 * 64];

	/* Reader 1 reads a little, then stalls. */
	pthread_t wt, rt;
	struct writer_job w;
	struct reader_job r0 = { .ring = ring, .id = 0, .chunk = 100 };
	uint64_t t0 = now_ms();
	writer_start(&wt, &w, ring, 0, 50000, 128);
	CHECK(pthread_create(&rt, NULL, reader_main, &r0) == 0);
	CHECK_INT(ring_read(ring, 1, buf, 64, NULL, NULL), ==, 64);
	check_counter(buf, 0, 64);

	pthread_join(wt, NULL);
	uint64_t elapsed = now_ms() - t0;
	CHECK_INT(w.rc, ==, 0);
	CHECK_INT(elapsed, >=, stall_ms - 5); /* it did wait for reader 1 */
	CHECK_INT(elapsed, <, WAIT_MAX_MS);
	WAIT_FOR(ring_reader_position(ring, 0) == 50000);
	/* Its thread counts what ring_read() returned after the ring has
	 * moved its position: wait for that too. */
	WAIT_FOR(atomic_load(&r0.got) == 50000);
	CHECK_INT(r0.got, ==, 50000); /* reader 0 lost nothing */

	/* Reader 1 is told once, then is simply not attached. */
	CHECK_INT(ring_read(ring, 1, buf, 64, NULL, NULL), ==, -ECONNRESET);
	CHECK_INT(ring_read(ring, 1, buf, 64, NULL, NULL), ==, -EINVAL);
	CHECK_INT(ring_reader_attach(ring, 1, NULL, NULL), ==, 0);
	CHECK_INT(ring_reader_position(ring, 1), ==, 50000);

	/* Both attached again: both get what follows. */
	writer_start(&wt, &w, ring, 50000, 10, 10);
	pthread_join(wt, NULL);
	CHECK_INT(ring_read(ring, 1, buf, 64, NULL, NULL), ==, 10);
	check_counter(buf, 50000, 10);
	ring_close(ring);
	pthread_join(rt, NULL);
	CHECK_INT(r0.got, ==, 50010);
	CHECK_INT(r0.last_rc, ==, 0);
	ring_destroy(ring);
}

/* A reader that is slow but reads is never evicted. */
static void test_slow_reader_kept(void)
{
	struct ring *ring = ring_create(64, 1, 4, 500);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	pthread_t wt, rt;
	struct writer_job w;
	/* 1 ms pause per 16 frames read: the writer waits constantly, but
	 * never stall_ms on one wait. */
	struct reader_job r = { .ring = ring, .id = 0, .chunk = 16,
				.pause_every = 1 };
	writer_start(&wt, &w, ring, 0, 4000, 64);
	CHECK(pthread_create(&rt, NULL, reader_main, &r) == 0);
	pthread_join(wt, NULL);
	CHECK_INT(w.rc, ==, 0);
	ring_close(ring);
	pthread_join(rt, NULL);
	CHECK_INT(r.got, ==, 4000);
	CHECK_INT(r.last_rc, ==, 0);
	ring_destroy(ring);
}

static void put_marker(struct ring *ring, int64_t id, const char *title)
{
	struct ring_marker mk;
	memset(&mk, 0, sizeof(mk));
	mk.track_id = id;
	mk.frame = 12345; /* ignored */
	snprintf(mk.title, sizeof(mk.title), "%s", title);
	snprintf(mk.display, sizeof(mk.display), "Artist - %s", title);
	CHECK_INT(ring_mark(ring, &mk), ==, 0);
}

static void test_markers(void)
{
	struct ring *ring = ring_create(1000, 2, 2, 0);
	CHECK(ring);
	float buf[2 * 1000];
	struct ring_marker mk;
	bool has;

	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	fill_counter(buf, 0, 100);
	CHECK_INT(ring_write(ring, buf, 100), ==, 0);
	put_marker(ring, 1, "one");             /* frame 100 */
	fill_counter(buf, 100, 100);
	CHECK_INT(ring_write(ring, buf, 100), ==, 0);
	put_marker(ring, 9, "replaced");        /* frame 200... */
	put_marker(ring, 2, "two");             /* ...superseded here */
	fill_counter(buf, 200, 50);
	CHECK_INT(ring_write(ring, buf, 50), ==, 0);
	/* Two pending: a third at another frame does not fit. */
	memset(&mk, 0, sizeof(mk));
	CHECK_INT(ring_mark(ring, &mk), ==, -ENOSPC);

	/* A read stops before the first marker... */
	CHECK_INT(ring_read(ring, 0, buf, 1000, &mk, &has), ==, 100);
	CHECK(!has);
	check_counter(buf, 0, 100);
	/* ...the next starts at it, returns it and stops before the next. */
	CHECK_INT(ring_read(ring, 0, buf, 60, &mk, &has), ==, 60);
	CHECK(has);
	CHECK_INT(mk.frame, ==, 100);
	CHECK_INT(mk.track_id, ==, 1);
	CHECK_STR(mk.title, "one");
	CHECK_STR(mk.display, "Artist - one");
	check_counter(buf, 100, 60);

	/* Reader 1 joins at 160: "one" is in effect there. */
	CHECK_INT(ring_reader_attach(ring, 1, &mk, &has), ==, 0);
	CHECK(has);
	CHECK_INT(mk.track_id, ==, 1);
	CHECK_INT(ring_reader_position(ring, 1), ==, 160);

	CHECK_INT(ring_read(ring, 0, buf, 1000, &mk, &has), ==, 40);
	CHECK(!has);
	check_counter(buf, 160, 40);
	CHECK_INT(ring_read(ring, 0, buf, 1000, &mk, &has), ==, 50);
	CHECK(has);
	CHECK_INT(mk.frame, ==, 200);
	CHECK_INT(mk.track_id, ==, 2);
	CHECK_STR(mk.title, "two");
	/* Reader 1 still needs "two": it sees it at frame 200 too. */
	CHECK_INT(ring_read(ring, 1, buf, 1000, &mk, &has), ==, 40);
	CHECK(!has);
	CHECK_INT(ring_read(ring, 1, buf, 1000, &mk, &has), ==, 50);
	CHECK(has);
	CHECK_STR(mk.title, "two");
	/* Both passed both markers: released, so there is room again. */
	put_marker(ring, 3, "three");           /* frame 250 */
	fill_counter(buf, 250, 10);
	CHECK_INT(ring_write(ring, buf, 10), ==, 0);
	put_marker(ring, 4, "four");            /* frame 260 */

	/* Rejoining: at 250 the pending "three" sits exactly at the start: it
	 * is reported by attach and by the first read. */
	ring_reader_detach(ring, 1);
	CHECK_INT(ring_reader_attach(ring, 1, &mk, &has), ==, 0);
	CHECK(has);
	CHECK_STR(mk.title, "three");
	CHECK_INT(ring_read(ring, 1, buf, 1000, &mk, &has), ==, 10);
	CHECK(has);
	CHECK_STR(mk.title, "three");
	ring_reader_detach(ring, 1);
	CHECK_INT(ring_read(ring, 0, buf, 1000, &mk, &has), ==, 10);
	CHECK_STR(mk.title, "three");
	/* Nobody attached past 260 now; reader 0 sits at 260 where "four"
	 * waits; a joiner at 260 sees "four" in effect. */
	CHECK_INT(ring_reader_attach(ring, 1, &mk, &has), ==, 0);
	CHECK(has);
	CHECK_STR(mk.title, "four");
	/* Write past it and read: both released, "four" stays in effect. */
	fill_counter(buf, 260, 5);
	CHECK_INT(ring_write(ring, buf, 5), ==, 0);
	CHECK_INT(ring_read(ring, 0, buf, 1000, &mk, &has), ==, 5);
	CHECK(has);
	CHECK_INT(ring_read(ring, 1, buf, 1000, &mk, &has), ==, 5);
	CHECK(has);
	ring_reader_detach(ring, 1);
	CHECK_INT(ring_reader_attach(ring, 1, &mk, &has), ==, 0);
	CHECK(has);
	CHECK_STR(mk.title, "four");
	CHECK_INT(mk.frame, ==, 260);
	ring_destroy(ring);
}

/* Markers every 997 frames under threads: each read either starts at one
 * (and returns it) or returns none, and none is ever read across. */
static void test_markers_threaded(void)
{
	struct ring *ring = ring_create(700, 2, 8, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	CHECK_INT(ring_reader_attach(ring, 1, NULL, NULL), ==, 0);
	pthread_t wt, rt0, rt1;
	struct writer_job w;
	struct reader_job r0 = { .ring = ring, .id = 0, .chunk = 256,
				 .mark_every = 997 };
	struct reader_job r1 = { .ring = ring, .id = 1, .chunk = 1000,
				 .mark_every = 997, .pause_every = 50 };
	memset(&w, 0, sizeof(w));
	w.ring = ring;
	w.total = 100000;
	w.chunk = 300;
	w.mark_every = 997;
	CHECK(pthread_create(&wt, NULL, writer_main, &w) == 0);
	CHECK(pthread_create(&rt0, NULL, reader_main, &r0) == 0);
	CHECK(pthread_create(&rt1, NULL, reader_main, &r1) == 0);
	pthread_join(wt, NULL);
	CHECK_INT(w.rc, ==, 0);
	ring_close(ring);
	pthread_join(rt0, NULL);
	pthread_join(rt1, NULL);
	CHECK_INT(r0.got, ==, 100000);
	CHECK_INT(r1.got, ==, 100000);
	CHECK_INT(r0.markers, ==, 100000 / 997);
	CHECK_INT(r1.markers, ==, 100000 / 997);
	ring_destroy(ring);
}

static void *blocked_reader_main(void *arg)
{
	struct reader_job *r = arg;
	float buf[2 * 16];
	r->last_rc = ring_read(r->ring, r->id, buf, 16, NULL, NULL);
	return NULL;
}

static void test_close(void)
{
	struct ring *ring = ring_create(100, 2, 2, 0);
	CHECK(ring);
	float buf[2 * 200];
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	CHECK_INT(ring_reader_attach(ring, 1, NULL, NULL), ==, 0);

	/* A writer blocked on a full ring (reader 0 reads nothing) gets
	 * -EPIPE from close... */
	pthread_t wt;
	struct writer_job w;
	writer_start(&wt, &w, ring, 0, 150, 150);
	WAIT_FOR(ring_write_position(ring) == 100);
	CHECK_INT(ring_read(ring, 1, buf, 200, NULL, NULL), ==, 100);
	/* ...and so does reader 1, blocked on what is for it an empty ring. */
	pthread_t rt;
	struct reader_job r1 = { .ring = ring, .id = 1, .last_rc = -1 };
	CHECK(pthread_create(&rt, NULL, blocked_reader_main, &r1) == 0);
	sleep_ms(50);
	ring_close(ring);
	ring_close(ring); /* idempotent */
	pthread_join(wt, NULL);
	CHECK_INT(w.rc, ==, -EPIPE);
	pthread_join(rt, NULL);
	CHECK_INT(r1.last_rc, ==, 0);

	/* Reader 0 drains the 100 frames it has not read, then reads 0. */
	CHECK_INT(ring_read(ring, 0, buf, 200, NULL, NULL), ==, 100);
	check_counter(buf, 0, 100);
	CHECK_INT(ring_read(ring, 0, buf, 200, NULL, NULL), ==, 0);
	CHECK_INT(ring_read(ring, 0, buf, 200, NULL, NULL), ==, 0);

	fill_counter(buf, 0, 10);
	CHECK_INT(ring_write(ring, buf, 10), ==, -EPIPE);
	struct ring_marker mk;
	memset(&mk, 0, sizeof(mk));
	CHECK_INT(ring_mark(ring, &mk), ==, -EPIPE);
	ring_reader_detach(ring, 0);
	ring_reader_detach(ring, 1);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, -EPIPE);
	ring_destroy(ring);

	/* Closed while a reader still has frames: a joiner can still drain
	 * from the live point. */
	ring = ring_create(100, 2, 2, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	fill_counter(buf, 0, 40);
	CHECK_INT(ring_write(ring, buf, 40), ==, 0);
	ring_close(ring);
	CHECK_INT(ring_reader_attach(ring, 1, NULL, NULL), ==, 0);
	CHECK_INT(ring_read(ring, 1, buf, 200, NULL, NULL), ==, 40);
	CHECK_INT(ring_read(ring, 1, buf, 200, NULL, NULL), ==, 0);
	ring_destroy(ring);
}

static void test_read_timed(void)
{
	struct ring *ring = ring_create(100, 1, 2, 0);
	CHECK(ring);
	float buf[2 * 10];
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	uint64_t t0 = now_ms();
	CHECK_INT(ring_read_timed(ring, 0, buf, 10, NULL, NULL, 150), ==,
		  -ETIMEDOUT);
	uint64_t elapsed = now_ms() - t0;
	CHECK_INT(elapsed, >=, 145);
	CHECK_INT(elapsed, <, 2000);
	CHECK_INT(ring_read_timed(ring, 0, buf, 10, NULL, NULL, 0), ==,
		  -ETIMEDOUT);

	/* Data that arrives during the wait is returned. */
	pthread_t wt;
	struct writer_job w;
	writer_start(&wt, &w, ring, 0, 5, 5);
	CHECK_INT(ring_read_timed(ring, 0, buf, 10, NULL, NULL, 5000), ==, 5);
	check_counter(buf, 0, 5);
	pthread_join(wt, NULL);
	ring_close(ring);
	CHECK_INT(ring_read_timed(ring, 0, buf, 10, NULL, NULL, 5000), ==, 0);
	ring_destroy(ring);
}

int main(void)
{
	/* A ring that blocks for good is a failure, not a hung `make check`. */
	alarm(300);
	test_invalid();
	test_single_reader();
	test_two_readers();
	test_backpressure();
	test_eviction();
	test_slow_reader_kept();
	test_markers();
	test_markers_threaded();
	test_close();
	test_read_timed();
	return 0;
}
