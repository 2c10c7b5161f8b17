/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_loudness — libebur128 integrated and short-term loudness plus a
 * selective 4x-oversampled true peak. See analyze_loudness.h for why the
 * true peak is not libebur128's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <ebur128.h>

#include "analyze_loudness.h"

#define TP_PHASES 4
#define TP_TAPS_PER_PHASE 12
#define TP_TAPS (TP_PHASES * TP_TAPS_PER_PHASE)
/* Candidate pairs: a neighbour within 6 dB of the peak so far. */
#define TP_CANDIDATE_RATIO 0.5f
#define LOUD_STEP_FRAMES ((size_t)(ANALYZE_LOUD_STEP_S * 44100.0 + 0.5))
#define SILENCE_LUFS -70.0

struct analyze_loudness {
	ebur128_state *ebu;
	size_t step_left;      /* frames until the next short-term sample */
	float coef[TP_PHASES][TP_TAPS_PER_PHASE];
	float hist[2][TP_TAPS_PER_PHASE]; /* newest first, per channel */
	float peak;            /* largest |sample| or interpolated value */
};

static void tp_design(struct analyze_loudness *lo)
{
	/* Windowed sinc for 4x upsampling, cutoff at the input Nyquist,
	 * gain 4 spread over the phases so each phase has unit DC gain. */
	for (int i = 0; i < TP_TAPS; i++) {
		double n = i - (TP_TAPS - 1) / 2.0;
		double x = M_PI * n / TP_PHASES;
		double sinc = fabs(n) < 1e-9 ? 1.0 : sin(x) / x;
		double w = 0.5 - 0.5 * cos(2.0 * M_PI * (i + 0.5) / TP_TAPS);
		lo->coef[i % TP_PHASES][i / TP_PHASES] = (float)(sinc * w);
	}
	for (int p = 0; p < TP_PHASES; p++) {
		double sum = 0;
		for (int j = 0; j < TP_TAPS_PER_PHASE; j++)
			sum += lo->coef[p][j];
		for (int j = 0; j < TP_TAPS_PER_PHASE; j++)
			lo->coef[p][j] = (float)(lo->coef[p][j] / sum);
	}
}

struct analyze_loudness *analyze_loudness_create(void)
{
	struct analyze_loudness *lo = calloc(1, sizeof(*lo));
	if (!lo)
		return NULL;
	lo->ebu = ebur128_init(2, 44100,
			       EBUR128_MODE_I | EBUR128_MODE_S |
			       EBUR128_MODE_HISTOGRAM);
	if (!lo->ebu) {
		free(lo);
		errno = ENOMEM;
		return NULL;
	}
	lo->step_left = LOUD_STEP_FRAMES;
	tp_design(lo);
	return lo;
}

void analyze_loudness_destroy(struct analyze_loudness *lo)
{
	if (!lo)
		return;
	ebur128_destroy(&lo->ebu);
	free(lo);
}

/* Pushes one sample of channel c and, if it or its predecessor is a
 * candidate, evaluates the interpolated values between the two samples in
 * the middle of the filter. */
static inline void tp_push(struct analyze_loudness *lo, int c, float x)
{
	float *h = lo->hist[c];
	for (int j = TP_TAPS_PER_PHASE - 1; j > 0; j--)
		h[j] = h[j - 1];
	h[0] = x;
	float ax = fabsf(x);
	if (ax > lo->peak)
		lo->peak = ax;
	int mid = TP_TAPS_PER_PHASE / 2;
	float thr = lo->peak * TP_CANDIDATE_RATIO;
	if (fabsf(h[mid]) < thr && fabsf(h[mid - 1]) < thr)
		return;
	for (int p = 0; p < TP_PHASES; p++) {
		float y = 0;
		for (int j = 0; j < TP_TAPS_PER_PHASE; j++)
			y += lo->coef[p][j] * h[j];
		if (fabsf(y) > lo->peak)
			lo->peak = fabsf(y);
	}
}

int analyze_loudness_feed(struct analyze_loudness *lo, const float *stereo,
			  size_t frames, struct analyze_vec *curve)
{
	int rc = 0;
	for (size_t i = 0; i < frames; i++) {
		tp_push(lo, 0, stereo[2 * i]);
		tp_push(lo, 1, stereo[2 * i + 1]);
	}
	while (frames > 0) {
		size_t n = frames < lo->step_left ? frames : lo->step_left;
		if (ebur128_add_frames_float(lo->ebu, stereo, n) != EBUR128_SUCCESS)
			return -ENOMEM;
		stereo += 2 * n;
		frames -= n;
		lo->step_left -= n;
		if (lo->step_left == 0) {
			double st = SILENCE_LUFS;
			if (ebur128_loudness_shortterm(lo->ebu, &st) != EBUR128_SUCCESS ||
			    !isfinite(st) || st < SILENCE_LUFS)
				st = SILENCE_LUFS;
			float v = (float)st;
			rc = analyze_vec_push(curve, &v, 1);
			if (rc < 0 && rc != -ENOSPC)
				return rc;
			lo->step_left = LOUD_STEP_FRAMES;
		}
	}
	return 0;
}

void analyze_loudness_result(struct analyze_loudness *lo, double *lufs,
			     double *true_peak_db)
{
	double l = SILENCE_LUFS;
	if (ebur128_loudness_global(lo->ebu, &l) != EBUR128_SUCCESS ||
	    !isfinite(l) || l < SILENCE_LUFS)
		l = SILENCE_LUFS;
	*lufs = l;
	double tp = lo->peak > 0 ? 20.0 * log10(lo->peak) : SILENCE_LUFS;
	*true_peak_db = tp < SILENCE_LUFS ? SILENCE_LUFS : tp;
}

/* Cue points: where short-term loudness first reaches and last leaves the
 * body of the track, moved to the nearest downbeat. */
#define BODY_BELOW_LU 4.0
/* Short-term loudness at t describes [t - 3 s, t]: date it to its middle. */
#define ST_CENTRE_S 1.5

static double snap_to_bar(const struct analysis *out, double t)
{
	if (!(out->bpm > 0))
		return t;
	double bar = 4.0 * 60.0 / out->bpm;
	double k = round((t - out->downbeat_s) / bar);
	double s = out->downbeat_s + k * bar;
	if (s < out->audio_start_s)
		s += bar;
	if (s > out->audio_end_s)
		s -= bar;
	return s < out->audio_start_s ? out->audio_start_s : s;
}

void analyze_cues(const struct analyze_features *f, struct analysis *out)
{
	out->intro_end_s = out->audio_start_s;
	out->outro_start_s = out->audio_end_s;
	if (!(out->audio_end_s > out->audio_start_s) || f->loud_st.n == 0 ||
	    out->loudness_lufs <= SILENCE_LUFS)
		return;
	double thr = out->loudness_lufs - BODY_BELOW_LU;
	long first = -1, last = -1;
	for (size_t i = 0; i < f->loud_st.n; i++)
		if (f->loud_st.v[i] >= thr) {
			if (first < 0)
				first = (long)i;
			last = (long)i;
		}
	if (first < 0)
		return;
	double t_in = (first + 1) * ANALYZE_LOUD_STEP_S - ST_CENTRE_S;
	double t_out = (last + 1) * ANALYZE_LOUD_STEP_S - ST_CENTRE_S;
	if (t_in < out->audio_start_s)
		t_in = out->audio_start_s;
	if (t_out > out->audio_end_s)
		t_out = out->audio_end_s;
	t_in = snap_to_bar(out, t_in);
	t_out = snap_to_bar(out, t_out);
	if (t_out < t_in)
		t_out = t_in;
	out->intro_end_s = t_in;
	out->outro_start_s = t_out;
}
