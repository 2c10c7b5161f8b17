/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_loudness — integrated loudness (LUFS), true peak (dBTP) and a
 * short-term loudness curve of the stereo 44.1 kHz input, per ITU-R
 * BS.1770-4 / EBU R 128, for the analyzer.
 *
 * Integrated and short-term loudness come from libebur128 (histogram mode,
 * so memory stays flat for long files). True peak does not: libebur128's
 * true-peak mode oversamples every sample and alone costs more CPU than
 * `aubio beat` on the same file. Instead the same 4x polyphase
 * interpolation (48-tap windowed sinc, 12 taps per phase) is evaluated only
 * between samples that can hold the peak: where a neighbouring sample is
 * within 6 dB of the largest (true) peak seen so far. An inter-sample peak
 * more than 6 dB above both neighbours needs energy near 22 kHz that music
 * does not have; the test compares with ffmpeg's ebur128 filter.
 *
 * Errors: create returns NULL with errno set; feed returns 0 or -ENOMEM.
 * Thread rules: one object, one thread.
 */
#ifndef FOREVERFM_ANALYZE_LOUDNESS_H
#define FOREVERFM_ANALYZE_LOUDNESS_H

#include <stddef.h>

#include "analyze_priv.h"

struct analyze_loudness;

struct analyze_loudness *analyze_loudness_create(void);
void analyze_loudness_destroy(struct analyze_loudness *lo);

/* Appends short-term loudness samples (every ANALYZE_LOUD_STEP_S, window
 * 3.2 s ending at the sample's time, LUFS, -70 for silence) to curve. */
int analyze_loudness_feed(struct analyze_loudness *lo, const float *stereo,
			  size_t frames, struct analyze_vec *curve);

/* Integrated loudness (-70 for silence) and true peak (dBTP, -70 for
 * digital silence). */
void analyze_loudness_result(struct analyze_loudness *lo, double *lufs,
			     double *true_peak_db);

#endif
