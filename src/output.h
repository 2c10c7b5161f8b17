/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * output — one Icecast mount: ring reader, encoder, libshout connection,
 * real-time pacing and titles, in a thread of its own.
 *
 * DESIGN
 * Pacing: the output counts the frames it has handed to Icecast since the
 * connection opened and sleeps (clock_nanosleep on CLOCK_MONOTONIC, absolute
 * deadlines) so that it is never more than OUTPUT_LEAD_MS ahead of real
 * time. Deadlines derive from the frame count, not from the previous sleep,
 * so error never accumulates: no drift over days. If it falls behind (a slow
 * Icecast), it sends without sleeping until it has caught up, and it never
 * bursts further ahead than the lead.
 *
 * Titles: a marker read from the ring says the new track becomes audible at
 * its first frame. MP3: the output encodes and sends everything before the
 * marker, waits until that point is paced out, then sends the ICY title
 * ("Artist - Title", UTF-8) with shout_set_metadata(). Ogg: the encoder
 * starts a new logical stream there (or, unchained, nothing changes). The
 * current title is sent again after every reconnect.
 *
 * Reconnect: on any libshout error the output closes, detaches from the
 * ring (so it never holds the others up), and retries with jittered
 * exponential backoff: 1 s doubling to 60 s, reset after a minute of
 * successful streaming. One log line per attempt, naming the mount and the
 * reason ("authentication failed: check [icecast] password", "mount in use",
 * "connection refused"). It rejoins the ring at the live point with a fresh
 * encoder. The password never appears in a log line.
 *
 * Timeouts: no libshout call waits for the server (non-blocking mode). A
 * connection whose handshake has not been answered within [icecast]
 * timeout_seconds, or whose sends have made no progress (the server
 * acknowledged nothing new while data waited) for that long, is reset,
 * logged once and reconnected like any other drop. A title update that
 * gets no answer in that time is given up with a warning (with TLS it
 * still waits in libshout: see output.c). output_destroy() ends any of
 * these waits at once.
 *
 * Servers: each output has its own connection, to the server its
 * [output.NAME] names (host, port, user, password, tls; [icecast]'s by
 * default). A slow or dead server holds up only its own output.
 *
 * Shutdown: when the ring ends (after the mixer's fade out) the output
 * flushes its encoder, sends the rest and disconnects cleanly.
 * output_destroy() without a closed ring stops at once.
 *
 * Thread rules: create/start/destroy from the controlling thread;
 * output_get_stats() from any thread.
 */
#ifndef FOREVERFM_OUTPUT_H
#define FOREVERFM_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ring.h"

#define OUTPUT_LEAD_MS 250
#define OUTPUT_BACKOFF_MIN_MS 1000
#define OUTPUT_BACKOFF_MAX_MS 60000
#define OUTPUT_BACKOFF_RESET_MS 60000

struct output_stats {
	bool connected;
	uint64_t connects;      /* successful connections */
	uint64_t failures;      /* failed attempts and dropped connections */
	uint64_t bytes_sent;
	uint64_t frames_sent;   /* in the current connection */
	char title[2 * DECODE_TAG_MAX + 4]; /* last title sent */
};

struct output;

/* Copies what it needs from cfg and cfg->outputs[index]; borrows ring.
 * reader_id is this output's ring reader. Returns NULL with errno set. */
struct output *output_create(const struct config *cfg, size_t index,
			     struct ring *ring, unsigned reader_id);

/* FN(CTX, MK) is called on the output's thread right after each title
 * change: at a marker, when its first frame is due in real time (the
 * moment listeners start to hear the track; Ogg: when its first page
 * goes out, at most OUTPUT_LEAD_MS early), and when a connection sends
 * the title in effect. MK is borrowed for the call. FN must not block.
 * Call before output_start(). */
void output_set_title_hook(struct output *out,
			   void (*fn)(void *ctx, const struct ring_marker *mk),
			   void *ctx);

int output_start(struct output *out);

void output_get_stats(struct output *out, struct output_stats *stats);

/* Waits for the thread to end by itself (the ring was closed and drained). */
void output_join(struct output *out);

/* Stops at once if still running, joins, frees; accepts NULL. */
void output_destroy(struct output *out);

#endif
