/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * limiter — a look-ahead true-peak limiter for the final mix (stereo,
 * 44.1 kHz), in front of the encoders: the stream never exceeds the
 * ceiling in dBTP, and below it the limiter is exactly transparent (the
 * samples come out unchanged, only delayed).
 *
 * DESIGN
 * Detection: every input frame is interpolated 4x (12-tap windowed-sinc
 * polyphase, the same order as BS.1770's 48-tap filter) and the largest
 * |value| of both channels gives the frame's true peak; the gain it needs
 * is ceiling / peak (1 when below). The ceiling used inside is
 * LIMITER_MARGIN_DB below the one asked for, covering the difference
 * between this interpolator and the meter's (libebur128 in the tests).
 * Gain: the needed gains pass a sliding minimum over L frames (the look-
 * ahead), then an exponential release, then a moving average over the same
 * L frames. Each averaged frame's window contains the frame itself, so
 * the gain at a peak is never above what the peak needs, and the attack is
 * a smooth L-frame ramp instead of a step (no clicks, no distortion from
 * instant gain changes). The audio is delayed to meet its gain:
 * limiter_latency() = L - 1 + the interpolator's half length.
 *
 * The release snaps to exactly 1 within 1e-6 (-0.00001 dB; in floating
 * point the exponential would stall a few ulps below 1 for ever), so about
 * 1.3 s after the last reduction the audio is bit-transparent again.
 *
 * Cost: the interpolation is skipped while no sample in its window exceeds
 * ceiling / (sum of |taps| of the worst phase), which bounds every
 * interpolated value below the ceiling, and the gain stages are skipped
 * while all of them hold exactly 1: a frame of music that is not being
 * limited costs a few operations (about 15 times less than a limited
 * one; bench figures in doc/transitions.md).
 *
 * Memory: all buffers are allocated by limiter_create(); limiter_process()
 * never allocates and costs O(1) per frame (monotonic queue for the
 * minimum, running sum for the average).
 *
 * Thread rules: one thread per limiter.
 */
#ifndef FOREVERFM_LIMITER_H
#define FOREVERFM_LIMITER_H

#include <stddef.h>

#define LIMITER_MARGIN_DB 0.3

struct limiter_params {
	double ceiling_dbtp;   /* default -1 */
	double lookahead_ms;   /* default 5; 0.5 .. 50 */
	double release_ms;     /* default 100; 1 .. 5000 */
};

struct limiter;

void limiter_params_default(struct limiter_params *p);

/* Returns NULL with errno set (EINVAL for parameters out of range or a
 * ceiling above 0 dBTP, ENOMEM). */
struct limiter *limiter_create(const struct limiter_params *p);

/* Frees; accepts NULL. */
void limiter_destroy(struct limiter *lim);

/* Frames by which the output lags the input. The first latency frames out
 * are silence; feed latency frames of silence at the end to flush. */
size_t limiter_latency(const struct limiter *lim);

/* Limits FRAMES interleaved stereo frames from in to out (they may be the
 * same buffer). */
void limiter_process(struct limiter *lim, const float *in, float *out,
		     size_t frames);

/* The largest gain reduction (dB, >= 0) applied since the last call. */
double limiter_take_max_reduction_db(struct limiter *lim);

#endif
