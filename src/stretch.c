/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * stretch — the Rubber Band wrapper. See stretch.h for the DESIGN (latency
 * and ratio-timing corrections, engines).
 */
#include "autoconfig.h"

#include "stretch.h"

#include "decode.h"

#include <errno.h>
#include <math.h>
#include <rubberband/rubberband-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Largest single process() call: the start pad (2048 for R3) or a chunk. */
#define STRETCH_PROCESS_MAX 4096

struct stretch {
	RubberBandState rb;
	enum stretch_engine engine;
	struct stretch_map map;
	double lag_frames;     /* ratio timing, see stretch.h */
	double delay_slope;    /* start delay per unit of (r0 - 1) */

	float *in[DECODE_CHANNELS];  /* STRETCH_PROCESS_MAX frames each */
	size_t in_len;               /* frames waiting for a full chunk */
	float *out[DECODE_CHANNELS]; /* STRETCH_CHUNK_FRAMES each */
	uint64_t fed;                /* frames given to Rubber Band */
	uint64_t queued;             /* frames given to stretch_feed */
	size_t discard;              /* output frames still to drop */
};

static double stretch_clamp(double r)
{
	if (!(r >= STRETCH_RATIO_MIN)) /* also NaN */
		return r > 0 ? STRETCH_RATIO_MIN : 1.0;
	return r > STRETCH_RATIO_MAX ? STRETCH_RATIO_MAX : r;
}

struct stretch *stretch_create(enum stretch_engine engine)
{
	struct stretch *st = NULL;
	int err = 0;

	if (engine != STRETCH_ENGINE_FASTER && engine != STRETCH_ENGINE_FINER) {
		err = EINVAL;
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		err = ENOMEM;
		goto out;
	}
	st->engine = engine;
	if (engine == STRETCH_ENGINE_FINER) {
		st->lag_frames = 1536;
		st->delay_slope = 150;
	} else {
		st->lag_frames = 2048;
		st->delay_slope = 384;
	}
	/* Phase independent (R2 only; R3 ignores it): about 15% less CPU
	 * than the default laminar phase, with the same click timing and
	 * tonal noise and crisper transients (doc/transitions.md). Threading
	 * never: the mixer thread does the work, no helper threads. */
	RubberBandOptions opt = RubberBandOptionProcessRealTime |
				RubberBandOptionThreadingNever |
				RubberBandOptionChannelsTogether |
				(engine == STRETCH_ENGINE_FINER
				 ? RubberBandOptionEngineFiner
				 : RubberBandOptionEngineFaster |
				   RubberBandOptionPhaseIndependent);
	st->rb = rubberband_new(DECODE_RATE, DECODE_CHANNELS, opt, 1.0, 1.0);
	if (!st->rb) {
		err = ENOMEM;
		goto out;
	}
	rubberband_set_max_process_size(st->rb, STRETCH_PROCESS_MAX);
	for (int c = 0; c < DECODE_CHANNELS; c++) {
		st->in[c] = calloc(STRETCH_PROCESS_MAX, sizeof(float));
		st->out[c] = calloc(STRETCH_CHUNK_FRAMES, sizeof(float));
		if (!st->in[c] || !st->out[c]) {
			err = ENOMEM;
			goto out;
		}
	}
out:
	if (err) {
		stretch_destroy(st);
		errno = err;
		return NULL;
	}
	return st;
}

void stretch_destroy(struct stretch *st)
{
	if (!st)
		return;
	if (st->rb)
		rubberband_delete(st->rb);
	for (int c = 0; c < DECODE_CHANNELS; c++) {
		free(st->in[c]);
		free(st->out[c]);
	}
	free(st);
}

/* FRAMES of a quiet tone through the stretcher at RATIO, its output
 * dropped. */
static void stretch_prime(struct stretch *st, double ratio, size_t frames)
{
	rubberband_set_time_ratio(st->rb, ratio);
	for (size_t done = 0; done < frames;
	     done += STRETCH_CHUNK_FRAMES) {
		for (size_t i = 0; i < STRETCH_CHUNK_FRAMES; i++) {
			float v = 0.001f * (float)sin(2 * M_PI * 440.0 *
						      (double)(done + i) /
						      DECODE_RATE);
			for (int c = 0; c < DECODE_CHANNELS; c++)
				st->in[c][i] = v;
		}
		const float *const *in = (const float *const *)st->in;
		rubberband_process(st->rb, in, STRETCH_CHUNK_FRAMES, 0);
		int avail;
		while ((avail = rubberband_available(st->rb)) > 0)
			rubberband_retrieve(st->rb, st->out,
					    avail < STRETCH_CHUNK_FRAMES
					    ? (unsigned)avail
					    : STRETCH_CHUNK_FRAMES);
	}
}

void stretch_reserve(struct stretch *st, double max_ratio)
{
	/* In real-time mode setting the ratio reconfigures at once; going
	 * back to 1 keeps the larger buffers (Rubber Band never shrinks
	 * them). R3 sizes its buffers at construction and ignores this. */
	rubberband_set_time_ratio(st->rb, stretch_clamp(max_ratio));
	rubberband_set_time_ratio(st->rb, 1.0);
}

void stretch_warm(struct stretch *st, double max_ratio)
{
	/* R2 picks its window and FFT sizes by the ratio: the inverse of
	 * the largest, 1, then the largest. Last and longest, because R2's
	 * output ring buffers are some 16 chunks of 2 * 4096 frames times
	 * the ratio (3 s at 1.1), written a turn at a time: 4 s of input
	 * takes them all the way round. */
	double r = stretch_clamp(max_ratio);
	stretch_prime(st, stretch_clamp(1 / r), DECODE_RATE / 2);
	stretch_prime(st, 1.0, DECODE_RATE / 2);
	stretch_prime(st, r, 4 * DECODE_RATE);
	rubberband_reset(st->rb);
	rubberband_set_time_ratio(st->rb, 1.0);
}

static double stretch_ratio(struct stretch *st, double x)
{
	return stretch_clamp(st->map.ratio_at(st->map.ctx, x));
}

void stretch_begin(struct stretch *st, const struct stretch_map *map)
{
	st->map = *map;
	st->in_len = 0;
	st->fed = 0;
	st->queued = 0;
	rubberband_reset(st->rb);
	double r0 = stretch_ratio(st, 0);
	rubberband_set_time_ratio(st->rb, r0);

	size_t pad = rubberband_get_preferred_start_pad(st->rb);
	double delay = (double)rubberband_get_start_delay(st->rb) -
		       st->delay_slope * (r0 - 1.0);
	st->discard = delay > 0 ? (size_t)lround(delay) : 0;
	for (int c = 0; c < DECODE_CHANNELS; c++)
		memset(st->in[c], 0, STRETCH_PROCESS_MAX * sizeof(float));
	while (pad > 0) {
		size_t n = pad < STRETCH_PROCESS_MAX ? pad : STRETCH_PROCESS_MAX;
		const float *const *in = (const float *const *)st->in;
		rubberband_process(st->rb, in, (unsigned)n, 0);
		pad -= n;
	}
}

/* Processes the full chunk in st->in. */
static void stretch_chunk(struct stretch *st)
{
	double mid = (double)st->fed + STRETCH_CHUNK_FRAMES / 2.0 -
		     st->lag_frames;
	rubberband_set_time_ratio(st->rb, stretch_ratio(st, mid));
	const float *const *in = (const float *const *)st->in;
	rubberband_process(st->rb, in, STRETCH_CHUNK_FRAMES, 0);
	st->fed += STRETCH_CHUNK_FRAMES;
	st->in_len = 0;
}

void stretch_feed(struct stretch *st, const float *in, size_t n)
{
	while (n > 0) {
		size_t room = STRETCH_CHUNK_FRAMES - st->in_len;
		size_t take = n < room ? n : room;
		for (size_t i = 0; i < take; i++) {
			st->in[0][st->in_len + i] = in[2 * i];
			st->in[1][st->in_len + i] = in[2 * i + 1];
		}
		st->in_len += take;
		st->queued += take;
		in += 2 * take;
		n -= take;
		if (st->in_len == STRETCH_CHUNK_FRAMES)
			stretch_chunk(st);
	}
}

size_t stretch_available(struct stretch *st)
{
	while (st->discard > 0) {
		int avail = rubberband_available(st->rb);
		if (avail <= 0)
			return 0;
		size_t n = (size_t)avail;
		if (n > st->discard)
			n = st->discard;
		if (n > STRETCH_CHUNK_FRAMES)
			n = STRETCH_CHUNK_FRAMES;
		n = rubberband_retrieve(st->rb, st->out, (unsigned)n);
		if (n == 0)
			return 0;
		st->discard -= n;
	}
	int avail = rubberband_available(st->rb);
	return avail > 0 ? (size_t)avail : 0;
}

size_t stretch_retrieve(struct stretch *st, float *out, size_t max_frames)
{
	size_t done = 0;
	while (done < max_frames) {
		size_t avail = stretch_available(st);
		if (avail == 0)
			break;
		size_t n = max_frames - done;
		if (n > avail)
			n = avail;
		if (n > STRETCH_CHUNK_FRAMES)
			n = STRETCH_CHUNK_FRAMES;
		n = rubberband_retrieve(st->rb, st->out, (unsigned)n);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			out[2 * (done + i)] = st->out[0][i];
			out[2 * (done + i) + 1] = st->out[1][i];
		}
		done += n;
	}
	return done;
}

uint64_t stretch_fed(const struct stretch *st)
{
	return st->queued;
}

int stretch_engine_version(const struct stretch *st)
{
	return rubberband_get_engine_version(st->rb);
}
