/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ring — the bounded PCM ring with in-band markers: one writer, N readers.
 *
 * The mixer writes interleaved float stereo frames; every output reads all of
 * them at its own pace. Positions are absolute frame counts since the ring
 * was created (uint64_t never wraps in practice), so "where is reader r" and
 * "where does this marker sit" are plain numbers.
 *
 * DESIGN
 * Back-pressure: the writer blocks while the ring is full relative to the
 * slowest attached reader, and while no reader is attached at all (if every
 * output is disconnected the mixer waits; nothing is skipped). A reader that
 * keeps the writer blocked for more than stall_ms without reading is evicted:
 * it stops counting, so one stuck Icecast connection never holds up the other
 * outputs. Its next ring_read() returns -ECONNRESET and it rejoins with
 * ring_reader_attach().
 *
 * Live point: a reader attaching while others are attached starts at the
 * position of the slowest attached reader (it hears what the others are
 * sending now); with nobody attached it starts at the write position.
 *
 * Markers: ring_mark() places a marker at the current write position (the
 * next frame written). ring_read() never reads across a marker: a read that
 * starts exactly at a marker returns it in *marker, so the reader knows the
 * title changes at the first frame of that read. Markers are kept until
 * every attached reader has passed them; the newest passed marker is kept as
 * "the one in effect", which ring_reader_attach() reports so a rejoining
 * reader knows the current title.
 *
 * Locking: one mutex, two condition variables (space, data); signals are sent
 * after unlocking. No allocation after ring_create(). ring_close() ends the
 * stream: readers drain what is left and then read 0; the writer gets -EPIPE.
 *
 * Thread rules: ring_write() and ring_mark() from one writer thread; each
 * reader id from one thread; ring_close() from any thread.
 */
#ifndef FOREVERFM_RING_H
#define FOREVERFM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode.h"

struct ring_marker {
	uint64_t frame;   /* absolute position of the first frame of the track */
	int64_t track_id; /* catalog id, 0 for none (silence) */
	char artist[DECODE_TAG_MAX];
	char title[DECODE_TAG_MAX];
	char display[2 * DECODE_TAG_MAX + 4]; /* ICY "Artist - Title" */
};

struct ring;

/* capacity_frames: stereo frames held; max_readers: reader ids 0..max-1;
 * max_markers: markers pending at once; stall_ms: eviction delay (0 = never
 * evict). Returns NULL with errno set. */
struct ring *ring_create(size_t capacity_frames, size_t max_readers,
			 size_t max_markers, unsigned stall_ms);

/* Frees; accepts NULL. No thread may be using the ring. */
void ring_destroy(struct ring *ring);

/* Writes all n frames, blocking as described. Returns 0, or -EPIPE once the
 * ring is closed (frames not written are dropped). */
int ring_write(struct ring *ring, const float *frames, size_t n_frames);

/* Places a copy of *marker (its frame field is ignored and set to the write
 * position). Returns 0, or -ENOSPC when max_markers are pending (the marker is
 * dropped and logged by the caller), or -EPIPE when closed. */
int ring_mark(struct ring *ring, const struct ring_marker *marker);

/* Total frames written so far. */
uint64_t ring_write_position(struct ring *ring);

/* Ends the stream and wakes every waiter. Idempotent. */
void ring_close(struct ring *ring);

/* Attaches reader id (0 <= id < max_readers, not attached) at the live
 * point. If a marker is in effect there, copies it to *current and sets
 * *has_current (either may be NULL). Returns 0, -EINVAL, -EBUSY (already
 * attached) or -EPIPE (closed and drained). */
int ring_reader_attach(struct ring *ring, unsigned id,
		       struct ring_marker *current, bool *has_current);

/* Detaches; the reader stops counting at once. Safe if not attached. */
void ring_reader_detach(struct ring *ring, unsigned id);

/* Reads up to max_frames into out, blocking until at least one frame is
 * there. Returns the count; 0 when the ring is closed and this reader has
 * read everything; -ECONNRESET when it was evicted (now detached); -EINVAL
 * when not attached. If the read starts at a marker, *marker receives it and
 * *has_marker is true, else *has_marker is false. */
ssize_t ring_read(struct ring *ring, unsigned id, float *out,
		  size_t max_frames, struct ring_marker *marker,
		  bool *has_marker);

/* Like ring_read() but returns -ETIMEDOUT after timeout_ms with no data. */
ssize_t ring_read_timed(struct ring *ring, unsigned id, float *out,
			size_t max_frames, struct ring_marker *marker,
			bool *has_marker, unsigned timeout_ms);

/* The reader's position (frames it has read). */
uint64_t ring_reader_position(struct ring *ring, unsigned id);

#endif
