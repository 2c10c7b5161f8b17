/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * filter — the crossover for the bass swap: a 4th-order Linkwitz-Riley
 * split of a stereo stream into lows and highs; and the high-pass sweep of
 * a filter-out (a cut's last bar: transition.h).
 *
 * Linkwitz-Riley (two cascaded 2nd-order Butterworth sections per band)
 * because its two bands are in phase at every frequency and sum to an
 * allpass: lows + highs has a flat magnitude response, so a deck that
 * always runs through its crossover sounds unfiltered while both band
 * gains are 1, and the gains can move (the bass swap) without any switch
 * between a filtered and an unfiltered path. The phase shift is that of a
 * 2nd-order allpass at the crossover frequency, applied to the whole track
 * from its first frame, so it is never heard changing. -24 dB/octave on
 * each side: crossing at 160 Hz, a kick's 55 Hz fundamental is 37 dB down
 * in the highs, and 1 kHz is 64 dB down in the lows (tests/test_filter).
 *
 * State is double precision (low-frequency biquads at 44.1 kHz lose
 * precision in float). No allocation after crossover_create().
 * Thread rules: one thread per crossover.
 */
#ifndef FOREVERFM_FILTER_H
#define FOREVERFM_FILTER_H

#include <stddef.h>

#define FILTER_CROSSOVER_HZ 160.0

struct crossover;

/* A stereo 44.1 kHz crossover at freq_hz (20 .. 2000). Returns NULL with
 * errno set (EINVAL, ENOMEM). */
struct crossover *crossover_create(double freq_hz);

/* Frees; accepts NULL. */
void crossover_destroy(struct crossover *x);

/* Forgets the past (a new track starts). */
void crossover_reset(struct crossover *x);

/* Splits n interleaved stereo frames of in into low and high (n frames
 * each; neither may alias in). */
void crossover_process(struct crossover *x, const float *in, float *low,
		       float *high, size_t n);

/* The filter-out: a 4th-order Butterworth-squared high-pass (the
 * crossover's high band) whose cutoff moves while it runs, as a DJ turns
 * the filter knob over the last bar of a track the next one cannot be
 * beatmatched to: the kick and the bass leave first, the hats last, so two
 * unrelated kicks never meet. The cutoff is set per call (the mixer moves
 * it every few milliseconds along an exponential sweep); the coefficients
 * change under running state, which a transposed direct form II biquad
 * takes without a click at sweep speeds. */
struct highpass;

/* A stereo 44.1 kHz high-pass, cutoff 20 Hz until set. NULL with errno
 * (ENOMEM). */
struct highpass *highpass_create(void);
void highpass_destroy(struct highpass *h);
void highpass_reset(struct highpass *h);

/* Filters n interleaved stereo frames in place at cutoff freq_hz (clamped
 * to 20 .. 16000). */
void highpass_process(struct highpass *h, double freq_hz, float *buf,
		      size_t n);

/* The cutoff of the filter-out at x (0 .. 1 of the sweep, clamped):
 * exponential from FILTER_SWEEP_FROM_HZ to FILTER_SWEEP_TO_HZ. */
#define FILTER_SWEEP_FROM_HZ 20.0
#define FILTER_SWEEP_TO_HZ 1600.0
double filter_sweep_hz(double x);

#endif
