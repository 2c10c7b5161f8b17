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
#include <string.h>

#include <ebur128.h>

#include "analyze_loudness.h"

#define TP_PHASES 4
#define TP_TAPS_PER_PHASE 12
#define TP_TAPS (TP_PHASES * TP_TAPS_PER_PHASE)
/* Candidate pairs: a neighbour within 6 dB of the peak so far. */
#define TP_CANDIDATE_RATIO 0.5f
#define LOUD_STEP_FRAMES ((size_t)(ANALYZE_LOUD_STEP_S * 44100.0 + 0.5))
#define SILENCE_LUFS -70.0

/* libebur128 sums its whole window on every query, so short-term
 * loudness is not asked of it every step (3 s of samples each time) but
 * built from momentary (400 ms) values, one per step. */
#define ST_BLOCKS 8
#define TP_HIST 13 /* samples kept between blocks, per channel */
#define TP_BLOCK 4096

struct analyze_loudness {
	ebur128_state *ebu;
	size_t step_left;      /* frames until the next short-term sample */
	float coef[TP_PHASES][TP_TAPS_PER_PHASE];
	float buf[2][TP_HIST + TP_BLOCK]; /* history, then the new block */
	float peak;            /* largest |sample| or interpolated value */
	/* Momentary energies of the last ST_BLOCKS steps: their mean is the
	 * short-term (3.2 s) loudness. */
	double mom[ST_BLOCKS];
	unsigned n_mom;
};

static void tp_design(struct analyze_loudness *lo)
{
	/* Windowed sinc for 4x upsampling, cutoff at the input Nyquist; each
	 * phase normalised to unit DC gain. coef[p][j] multiplies x[n - j]
	 * for the value at n - 5.875 + p / 4. */
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
			       EBUR128_MODE_I | EBUR128_MODE_HISTOGRAM);
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

/* True peak of one channel's block in x[TP_HIST .. TP_HIST + n), with the
 * previous TP_HIST samples before it. Pair (j, j + 1) is interpolated when
 * the larger of the two is a local maximum of |x| and within 6 dB of the
 * peak so far: a waveform peaks between two samples next to its largest
 * sample. Pairs are evaluated once, up to 6 samples behind the newest. */
static void tp_block(struct analyze_loudness *lo, float *x, size_t n)
{
	size_t len = TP_HIST + n;
	float bmax = 0;
	for (size_t i = TP_HIST; i < len; i++)
		bmax = fabsf(x[i]) > bmax ? fabsf(x[i]) : bmax;
	if (bmax > lo->peak)
		lo->peak = bmax;
	float thr = lo->peak * TP_CANDIDATE_RATIO;
	for (size_t j = TP_HIST - 6; j + 6 < len; j++) {
		float a = fabsf(x[j]), b = fabsf(x[j + 1]);
		if (a < thr && b < thr)
			continue;
		if (a >= b ? a < fabsf(x[j - 1]) : b < fabsf(x[j + 2]))
			continue;
		const float *h = x + j + 6; /* h[-k] = x[n - k] */
		for (int p = 0; p < TP_PHASES; p++) {
			float y = 0;
			for (int k = 0; k < TP_TAPS_PER_PHASE; k++)
				y += lo->coef[p][k] * h[-k];
			if (fabsf(y) > lo->peak) {
				lo->peak = fabsf(y);
				thr = lo->peak * TP_CANDIDATE_RATIO;
			}
		}
	}
	memmove(x, x + n, TP_HIST * sizeof(*x));
}

int analyze_loudness_feed(struct analyze_loudness *lo, const float *stereo,
			  size_t frames, struct analyze_vec *curve)
{
	int rc = 0;
	for (size_t done = 0; done < frames;) {
		size_t n = frames - done < TP_BLOCK ? frames - done : TP_BLOCK;
		for (size_t i = 0; i < n; i++) {
			float l = stereo[2 * (done + i)];
			float r = stereo[2 * (done + i) + 1];
			lo->buf[0][TP_HIST + i] = isfinite(l) ? l : 0.0f;
			lo->buf[1][TP_HIST + i] = isfinite(r) ? r : 0.0f;
		}
		tp_block(lo, lo->buf[0], n);
		tp_block(lo, lo->buf[1], n);
		done += n;
	}
	while (frames > 0) {
		size_t n = frames < lo->step_left ? frames : lo->step_left;
		if (ebur128_add_frames_float(lo->ebu, stereo, n) != EBUR128_SUCCESS)
			return -ENOMEM;
		stereo += 2 * n;
		frames -= n;
		lo->step_left -= n;
		if (lo->step_left == 0) {
			double m = SILENCE_LUFS, e = 0, st;
			if (ebur128_loudness_momentary(lo->ebu, &m) != EBUR128_SUCCESS ||
			    !isfinite(m) || m < SILENCE_LUFS)
				m = SILENCE_LUFS;
			lo->mom[lo->n_mom++ % ST_BLOCKS] = pow(10.0, (m + 0.691) / 10.0);
			unsigned k = lo->n_mom < ST_BLOCKS ? lo->n_mom : ST_BLOCKS;
			for (unsigned i = 0; i < k; i++)
				e += lo->mom[i];
			st = e > 0 ? -0.691 + 10.0 * log10(e / ST_BLOCKS) : SILENCE_LUFS;
			float v = (float)(st < SILENCE_LUFS ? SILENCE_LUFS : st);
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
#define ST_CENTRE_S 1.6

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
