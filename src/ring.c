/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ring — the bounded PCM ring with in-band markers. See ring.h for the
 * contract; this file keeps to the simplest implementation that is plainly
 * correct: every field is guarded by one mutex, samples are copied under it
 * (a block is a few kilobytes, so the lock is held for microseconds), and
 * waiters sleep on two condition variables clocked by CLOCK_MONOTONIC.
 *
 * DESIGN — invariants (all under ring->lock)
 * - Positions are absolute frame counts. Frame p lives at buf[p % capacity].
 * - min_pos is the position of the slowest attached reader, or write_pos when
 *   none is attached. For every attached reader r:
 *       min_pos <= r.pos <= write_pos  and  write_pos - min_pos <= capacity,
 *   so the frames [r.pos, write_pos) are still intact in buf: the writer
 *   never stores frame p while a reader still needs frame p - capacity.
 * - The writer stores only while write_pos - min_pos < capacity and at
 *   least one reader is attached (nothing is ever skipped for a counting
 *   reader).
 * - A new reader starts at min_pos (the slowest attached one) or write_pos,
 *   so attaching never moves min_pos backwards and never exposes overwritten
 *   frames.
 * - Pending markers sit in a circular array in strictly increasing frame
 *   order with frame >= min_pos' where min_pos' is min_pos at the last
 *   release; a marker is released once every attached reader's pos is past
 *   its frame (pos > frame), and the newest released one is kept as "in
 *   effect". Two markers placed at the same write position collapse into
 *   the later one: only one title can start at one frame.
 * - A read returns the marker sitting exactly at the reader's position and is
 *   clipped so that it ends before the next pending marker; so no read ever
 *   spans a title change.
 * - Eviction: the writer remembers when it began waiting for space. When it
 *   has waited stall_ms, every attached reader sitting at min_pos that has
 *   not read since the wait began is detached and flagged evicted (its next
 *   ring_read returns -ECONNRESET). A reader that is slow but reading is never
 *   evicted: each of its reads opens space and ends the writer's wait.
 * - Condition variables are signalled after unlocking; every waiter re-checks
 *   its predicate in a loop, so spurious or early wake-ups are harmless.
 */
#include "autoconfig.h"

#include "ring.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ring_reader {
	bool attached;
	bool evicted;        /* detached by the writer; told once by ring_read */
	uint64_t pos;
	uint64_t last_read_ns; /* CLOCK_MONOTONIC time of its last read/attach */
};

struct ring {
	pthread_mutex_t lock;
	pthread_cond_t space; /* the writer waits here */
	pthread_cond_t data;  /* readers wait here */

	float *buf;           /* capacity * 2 floats */
	size_t capacity;
	uint64_t write_pos;
	bool closed;
	unsigned stall_ms;

	struct ring_reader *readers;
	size_t max_readers;
	unsigned *evicted_ids; /* writer's scratch, to log after unlocking */

	struct ring_marker *markers; /* circular, ordered by frame */
	size_t max_markers;
	size_t marker_head;
	size_t n_markers;
	struct ring_marker effect;   /* newest released marker */
	bool has_effect;
};

static uint64_t ring_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec ring_deadline(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};
	return ts;
}

static struct ring_marker *ring_marker_at(struct ring *ring, size_t i)
{
	return &ring->markers[(ring->marker_head + i) % ring->max_markers];
}

/* Position of the slowest attached reader; write_pos when nobody counts. */
static uint64_t ring_min_pos_locked(const struct ring *ring, bool *any)
{
	uint64_t min = ring->write_pos;
	bool found = false;
	for (size_t i = 0; i < ring->max_readers; i++) {
		const struct ring_reader *r = &ring->readers[i];
		if (r->attached && (!found || r->pos < min)) {
			min = r->pos;
			found = true;
		}
	}
	if (any)
		*any = found;
	return min;
}

/* Releases the markers every attached reader has read past. */
static void ring_release_markers_locked(struct ring *ring)
{
	uint64_t min = ring_min_pos_locked(ring, NULL);
	while (ring->n_markers > 0) {
		struct ring_marker *mk = ring_marker_at(ring, 0);
		if (mk->frame >= min)
			break;
		ring->effect = *mk;
		ring->has_effect = true;
		ring->marker_head = (ring->marker_head + 1) % ring->max_markers;
		ring->n_markers--;
	}
}

static int ring_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc != 0)
		return -rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return -rc;
}

struct ring *ring_create(size_t capacity_frames, size_t max_readers,
			 size_t max_markers, unsigned stall_ms)
{
	struct ring *ring = NULL;
	int err = 0;

	if (capacity_frames == 0 || max_readers == 0 || max_markers == 0 ||
	    capacity_frames > SIZE_MAX / (DECODE_CHANNELS * sizeof(float)) ||
	    max_readers > 4096 || max_markers > 4096) {
		err = EINVAL;
		goto out;
	}
	ring = calloc(1, sizeof(*ring));
	if (!ring) {
		err = ENOMEM;
		goto out;
	}
	ring->capacity = capacity_frames;
	ring->max_readers = max_readers;
	ring->max_markers = max_markers;
	ring->stall_ms = stall_ms;
	ring->buf = calloc(capacity_frames, DECODE_CHANNELS * sizeof(float));
	ring->readers = calloc(max_readers, sizeof(*ring->readers));
	ring->evicted_ids = calloc(max_readers, sizeof(*ring->evicted_ids));
	ring->markers = calloc(max_markers, sizeof(*ring->markers));
	if (!ring->buf || !ring->readers || !ring->evicted_ids ||
	    !ring->markers) {
		err = ENOMEM;
		goto out;
	}
	err = -ring_cond_init(&ring->space);
	if (err != 0)
		goto out;
	err = -ring_cond_init(&ring->data);
	if (err != 0) {
		pthread_cond_destroy(&ring->space);
		goto out;
	}
	err = pthread_mutex_init(&ring->lock, NULL);
	if (err != 0) {
		pthread_cond_destroy(&ring->data);
		pthread_cond_destroy(&ring->space);
		goto out;
	}
out:
	if (err != 0) {
		if (ring) {
			free(ring->markers);
			free(ring->evicted_ids);
			free(ring->readers);
			free(ring->buf);
			free(ring);
		}
		errno = err;
		return NULL;
	}
	return ring;
}

void ring_destroy(struct ring *ring)
{
	if (!ring)
		return;
	pthread_mutex_destroy(&ring->lock);
	pthread_cond_destroy(&ring->data);
	pthread_cond_destroy(&ring->space);
	free(ring->markers);
	free(ring->evicted_ids);
	free(ring->readers);
	free(ring->buf);
	free(ring);
}

/* Detaches the readers that held the writer up for the whole wait begun at
 * WAIT_START_NS. Returns how many, their ids in ring->evicted_ids. */
static size_t ring_evict_stalled_locked(struct ring *ring,
					 uint64_t wait_start_ns)
{
	uint64_t min = ring_min_pos_locked(ring, NULL);
	size_t n = 0;
	for (size_t i = 0; i < ring->max_readers; i++) {
		struct ring_reader *r = &ring->readers[i];
		if (r->attached && r->pos == min &&
		    r->last_read_ns <= wait_start_ns) {
			r->attached = false;
			r->evicted = true;
			ring->evicted_ids[n++] = (unsigned)i;
		}
	}
	if (n > 0)
		ring_release_markers_locked(ring);
	return n;
}

/* Copies n frames (n <= free space) at write_pos, in at most two pieces. */
static void ring_store_locked(struct ring *ring, const float *frames, size_t n)
{
	size_t at = (size_t)(ring->write_pos % ring->capacity);
	size_t first = ring->capacity - at;
	if (first > n)
		first = n;
	memcpy(ring->buf + at * DECODE_CHANNELS, frames,
	       first * DECODE_CHANNELS * sizeof(float));
	if (n > first)
		memcpy(ring->buf, frames + first * DECODE_CHANNELS,
		       (n - first) * DECODE_CHANNELS * sizeof(float));
	ring->write_pos += n;
}

int ring_write(struct ring *ring, const float *frames, size_t n_frames)
{
	int rc = 0;
	size_t done = 0;

	while (done < n_frames) {
		bool waiting = false;
		uint64_t wait_start_ns = 0;
		size_t n_evicted = 0;
		size_t chunk = 0;

		pthread_mutex_lock(&ring->lock);
		for (;;) {
			bool any;
			uint64_t min = ring_min_pos_locked(ring, &any);
			if (ring->closed) {
				rc = -EPIPE;
				break;
			}
			if (any && ring->write_pos - min < ring->capacity) {
				chunk = ring->capacity -
					(size_t)(ring->write_pos - min);
				break;
			}
			if (!any || ring->stall_ms == 0) {
				/* Nobody to evict: wait for a reader or for
				 * space, however long it takes. */
				waiting = false;
				pthread_cond_wait(&ring->space, &ring->lock);
				continue;
			}
			if (!waiting) {
				waiting = true;
				wait_start_ns = ring_now_ns();
			}
			uint64_t deadline_ns = wait_start_ns +
				(uint64_t)ring->stall_ms * 1000000u;
			struct timespec ts = ring_deadline(deadline_ns);
			pthread_cond_timedwait(&ring->space, &ring->lock, &ts);
			if (ring_now_ns() < deadline_ns)
				continue;
			min = ring_min_pos_locked(ring, &any);
			if (!any || ring->write_pos - min < ring->capacity)
				continue;
			n_evicted = ring_evict_stalled_locked(ring,
							      wait_start_ns);
			/* Whoever is slowest now gets a full stall_ms. */
			waiting = false;
			if (n_evicted > 0)
				break;
		}
		if (rc == 0 && chunk > 0) {
			if (chunk > n_frames - done)
				chunk = n_frames - done;
			ring_store_locked(ring,
					  frames + done * DECODE_CHANNELS,
					  chunk);
			done += chunk;
		}
		pthread_mutex_unlock(&ring->lock);

		for (size_t i = 0; i < n_evicted; i++)
			log_warning("ring: reader %u fell behind; detached",
				    ring->evicted_ids[i]);
		if (chunk > 0 || n_evicted > 0)
			pthread_cond_broadcast(&ring->data);
		if (rc != 0)
			break;
	}
	return rc;
}

int ring_mark(struct ring *ring, const struct ring_marker *marker)
{
	int rc = 0;

	pthread_mutex_lock(&ring->lock);
	if (ring->closed) {
		rc = -EPIPE;
		goto out;
	}
	if (ring->n_markers > 0) {
		struct ring_marker *last =
			ring_marker_at(ring, ring->n_markers - 1);
		if (last->frame == ring->write_pos) {
			*last = *marker;
			last->frame = ring->write_pos;
			goto out;
		}
	}
	if (ring->n_markers == ring->max_markers) {
		rc = -ENOSPC;
		goto out;
	}
	struct ring_marker *slot = ring_marker_at(ring, ring->n_markers);
	*slot = *marker;
	slot->frame = ring->write_pos;
	ring->n_markers++;
out:
	pthread_mutex_unlock(&ring->lock);
	return rc;
}

uint64_t ring_write_position(struct ring *ring)
{
	pthread_mutex_lock(&ring->lock);
	uint64_t pos = ring->write_pos;
	pthread_mutex_unlock(&ring->lock);
	return pos;
}

void ring_close(struct ring *ring)
{
	pthread_mutex_lock(&ring->lock);
	ring->closed = true;
	pthread_mutex_unlock(&ring->lock);
	pthread_cond_broadcast(&ring->space);
	pthread_cond_broadcast(&ring->data);
}

int ring_reader_attach(struct ring *ring, unsigned id,
		       struct ring_marker *current, bool *has_current)
{
	int rc = 0;
	bool found = false;

	if (has_current)
		*has_current = false;
	if (id >= ring->max_readers)
		return -EINVAL;

	pthread_mutex_lock(&ring->lock);
	struct ring_reader *r = &ring->readers[id];
	if (r->attached) {
		rc = -EBUSY;
		goto out;
	}
	uint64_t start = ring_min_pos_locked(ring, NULL);
	if (ring->closed && start == ring->write_pos) {
		rc = -EPIPE;
		goto out;
	}
	r->attached = true;
	r->evicted = false;
	r->pos = start;
	r->last_read_ns = ring_now_ns();

	/* The marker in effect at START: the newest pending one at or before
	 * it, else the newest released one. */
	for (size_t i = ring->n_markers; i-- > 0;) {
		const struct ring_marker *mk = ring_marker_at(ring, i);
		if (mk->frame <= start) {
			if (current)
				*current = *mk;
			found = true;
			break;
		}
	}
	if (!found && ring->has_effect) {
		if (current)
			*current = ring->effect;
		found = true;
	}
	if (has_current)
		*has_current = found;
out:
	pthread_mutex_unlock(&ring->lock);
	if (rc == 0)
		pthread_cond_signal(&ring->space); /* the writer may wait */
	return rc;
}

void ring_reader_detach(struct ring *ring, unsigned id)
{
	if (id >= ring->max_readers)
		return;
	pthread_mutex_lock(&ring->lock);
	struct ring_reader *r = &ring->readers[id];
	r->attached = false;
	r->evicted = false;
	ring_release_markers_locked(ring);
	pthread_mutex_unlock(&ring->lock);
	pthread_cond_signal(&ring->space); /* min_pos may have moved */
}

/* The common body of ring_read and ring_read_timed; timeout_ms < 0 waits
 * for ever. */
static ssize_t ring_read_impl(struct ring *ring, unsigned id, float *out,
			      size_t max_frames, struct ring_marker *marker,
			      bool *has_marker, long timeout_ms)
{
	ssize_t rc = 0;
	size_t n = 0;
	uint64_t deadline_ns = 0;

	if (has_marker)
		*has_marker = false;
	if (id >= ring->max_readers || !out || max_frames == 0)
		return -EINVAL;
	if (timeout_ms >= 0)
		deadline_ns = ring_now_ns() + (uint64_t)timeout_ms * 1000000u;

	pthread_mutex_lock(&ring->lock);
	struct ring_reader *r = &ring->readers[id];
	for (;;) {
		if (!r->attached) {
			rc = r->evicted ? -ECONNRESET : -EINVAL;
			r->evicted = false;
			goto out;
		}
		if (r->pos < ring->write_pos)
			break;
		if (ring->closed) {
			rc = 0; /* drained */
			goto out;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&ring->data, &ring->lock);
		} else {
			if (ring_now_ns() >= deadline_ns) {
				rc = -ETIMEDOUT;
				goto out;
			}
			struct timespec ts = ring_deadline(deadline_ns);
			pthread_cond_timedwait(&ring->data, &ring->lock, &ts);
		}
	}

	uint64_t avail = ring->write_pos - r->pos;
	n = avail < max_frames ? (size_t)avail : max_frames;
	for (size_t i = 0; i < ring->n_markers; i++) {
		const struct ring_marker *mk = ring_marker_at(ring, i);
		if (mk->frame < r->pos)
			continue;
		if (mk->frame == r->pos) {
			if (marker)
				*marker = *mk;
			if (has_marker)
				*has_marker = true;
			continue;
		}
		if (mk->frame - r->pos < n)
			n = (size_t)(mk->frame - r->pos);
		break;
	}

	size_t at = (size_t)(r->pos % ring->capacity);
	size_t first = ring->capacity - at;
	if (first > n)
		first = n;
	memcpy(out, ring->buf + at * DECODE_CHANNELS,
	       first * DECODE_CHANNELS * sizeof(float));
	if (n > first)
		memcpy(out + first * DECODE_CHANNELS, ring->buf,
		       (n - first) * DECODE_CHANNELS * sizeof(float));
	r->pos += n;
	r->last_read_ns = ring_now_ns();
	ring_release_markers_locked(ring);
	rc = (ssize_t)n;
out:
	pthread_mutex_unlock(&ring->lock);
	if (n > 0)
		pthread_cond_signal(&ring->space);
	return rc;
}

ssize_t ring_read(struct ring *ring, unsigned id, float *out,
		  size_t max_frames, struct ring_marker *marker,
		  bool *has_marker)
{
	return ring_read_impl(ring, id, out, max_frames, marker, has_marker,
			      -1);
}

ssize_t ring_read_timed(struct ring *ring, unsigned id, float *out,
			size_t max_frames, struct ring_marker *marker,
			bool *has_marker, unsigned timeout_ms)
{
	return ring_read_impl(ring, id, out, max_frames, marker, has_marker,
			      (long)timeout_ms);
}

uint64_t ring_reader_position(struct ring *ring, unsigned id)
{
	if (id >= ring->max_readers)
		return 0;
	pthread_mutex_lock(&ring->lock);
	uint64_t pos = ring->readers[id].pos;
	pthread_mutex_unlock(&ring->lock);
	return pos;
}
