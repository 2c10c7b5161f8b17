/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze — the analyzer's streaming front end and public API.
 *
 * DESIGN
 * Everything is computed from one decode and one FFT pass, because the
 * budget is the CPU time of `aubio beat` alone (see doc/analysis.md):
 *   stereo 44.1 kHz ─┬─ libebur128 + selective true peak (analyze_loudness)
 *                    └─ mono, half-band FIR, 22050 Hz ─┬─ fine envelope
 *                                                     └─ FFT 2048 / hop 512
 * The FFT magnitudes (aubio_fft) feed, per frame: log spectral flux (all
 * bins and below 200 Hz), level, level-free flux, low-end share, a chroma
 * vector from interpolated spectral peaks and, every fourth frame, MFCC
 * (aubio_mfcc). The fine envelope is the log energy of the first
 * difference in 2.9 ms blocks, as a rise over the loudest of the 6 blocks
 * before (a sustained bass note's energy ripples from block to block); its
 * rises time the beats to a millisecond or two, which the 23 ms FFT hop
 * cannot. Beside it, the power of a 4th-order 150 Hz low-pass in the same
 * blocks (ten multiply-adds per sample) finds the kick drums. Per-frame
 * features are all the analyzer keeps (about 2 kB per second);
 * analyze_finish() hands them to the stages: beats (tempo, grid,
 * downbeats), key, timbre and energy, phrases, cue points.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aubio/aubio.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "analyze.h"
#include "analyze_loudness.h"
#include "analyze_priv.h"
#include "log.h"

/* Half-band low-pass for 44.1 -> 22.05 kHz: 23 taps, odd taps zero. */
#define HB_TAPS 23
#define HB_DELAY_S ((HB_TAPS - 1) / 2 / 44100.0)
#define SILENCE_AMP 0.001f /* -60 dBFS */
#define FLUX_LOW_BINS 19   /* <= 194 Hz */
#define LOW_SHARE_BINS 14  /* <= 140 Hz */
#define FLUX_MID_BINS 186  /* <= 2 kHz */
#define FLUX_TOP_BIN 1000  /* 10.8 kHz */
#define CHROMA_MIN_BIN 5   /* 54 Hz */
#define CHROMA_MAX_BIN 465 /* 5 kHz */
#define MEL_FILTERS 40
/* A rise of the fine envelope is measured against the loudest of this many
 * past blocks (17 ms): the energy of 2.9 ms blocks ripples with the period
 * of a sustained bass note, and that ripple is not an onset. */
#define FINE_PAST 6
#define LOW_CUT_HZ 150.0   /* kick drums' band for the fine envelope */
#define FEED_BLOCK 4096    /* 44.1 kHz frames processed at a time */

struct analyzer {
	struct analysis_params params;
	struct analyze_features f;
	struct analyze_loudness *loud;
	bool finished;

	float hb[HB_TAPS];             /* FIR coefficients */
	/* Mono 44.1 kHz: filter history, then the block being decimated. */
	float mono[HB_TAPS + FEED_BLOCK];
	size_t mono_len;
	size_t mono_centre;            /* next output's centre in mono[] */
	float dec[FEED_BLOCK / 2 + 2]; /* the block at 22.05 kHz */

	/* 22.05 kHz samples not yet past every FFT frame that needs them. */
	float fbuf[ANALYZE_FFT_SIZE + FEED_BLOCK / 2 + 2];
	size_t fbuf_len;
	float window[ANALYZE_FFT_SIZE];
	aubio_fft_t *fft;
	fvec_t *fft_in;
	fvec_t *fft_out;
	cvec_t *spec;
	aubio_mfcc_t *mfcc;
	fvec_t *mfcc_out;
	float prev_log[ANALYZE_BINS];
	float prev_mag[ANALYZE_BINS];
	float bin_pc_base;             /* log2 of the bin width / 440 Hz */

	float fine_prev_x;
	float fine_acc;
	int fine_count;
	/* log2 energies of the last FINE_PAST blocks (a ring). */
	float fine_past_log[FINE_PAST];
	int fine_past_at;
	/* Two cascaded biquads (Butterworth low-pass at LOW_CUT_HZ): b0 b1
	 * b2 a1 a2, then each section's state (transposed direct form II). */
	float lp[5];
	float lp_z[4];
	float low_acc;

	uint64_t frames_in;            /* 44.1 kHz frames fed */
	int64_t first_loud;            /* frame index, -1 while silent */
	int64_t last_loud;
};

/* log2 to about 1e-4, for the tens of millions of per-bin logs. */
static inline float fast_log2(float x)
{
	union { float f; uint32_t i; } u = { x };
	float e = (float)((int)((u.i >> 23) & 255) - 127);
	u.i = (u.i & 0x7fffffu) | 0x3f800000u;
	float m = u.f;
	return e + ((-0.34484843f * m + 2.02466578f) * m - 0.67487759f);
}

int analyze_vec_push(struct analyze_vec *vec, const float *x, size_t n)
{
	if (vec->n + n > vec->max)
		return -ENOSPC;
	if (vec->n + n > vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 4096;
		while (cap < vec->n + n)
			cap *= 2;
		if (cap > vec->max)
			cap = vec->max;
		float *v = realloc(vec->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	memcpy(vec->v + vec->n, x, n * sizeof(*x));
	vec->n += n;
	return 0;
}

void analyze_vec_free(struct analyze_vec *vec)
{
	free(vec->v);
	memset(vec, 0, sizeof(*vec));
}

double analyze_frame_time(double i)
{
	/* Frame i ends at sample (i + 1) * HOP; its centre is FFT / 2 earlier. */
	return ((i + 1.0) * ANALYZE_HOP - ANALYZE_FFT_SIZE / 2.0) / ANALYZE_RATE
	       - HB_DELAY_S;
}

double analyze_fine_time(double j)
{
	/* Block j holds samples [j * B, (j + 1) * B); a rise is dated to the
	 * block's middle. */
	return (j + 0.5) * ANALYZE_FINE_BLOCK / ANALYZE_RATE - HB_DELAY_S;
}

void analyze_params_default(struct analysis_params *params)
{
	params->bpm_min = 70.0;
	params->bpm_max = 180.0;
}

static void features_free(struct analyze_features *f)
{
	analyze_vec_free(&f->flux);
	analyze_vec_free(&f->flux_low);
	analyze_vec_free(&f->flux_mid);
	analyze_vec_free(&f->level_db);
	analyze_vec_free(&f->flux_rel);
	analyze_vec_free(&f->low_share);
	analyze_vec_free(&f->chroma);
	analyze_vec_free(&f->mfcc);
	analyze_vec_free(&f->fine);
	analyze_vec_free(&f->fine_low);
	analyze_vec_free(&f->loud_st);
}

struct analyzer *analyze_create(const struct analysis_params *params)
{
	struct analyzer *an = NULL;
	struct analysis_params p;
	if (params)
		p = *params;
	else
		analyze_params_default(&p);
	if (!(p.bpm_min >= 30.0) || !(p.bpm_max <= 300.0) ||
	    !(p.bpm_max >= 1.5 * p.bpm_min)) {
		errno = EINVAL;
		return NULL;
	}
	an = calloc(1, sizeof(*an));
	if (!an)
		goto fail;
	an->params = p;
	/* Zero history: the first output is centred on input sample 0 minus
	 * the filter delay; the first FFT frame ends after one hop. */
	an->mono_len = HB_TAPS - 1;
	an->mono_centre = (HB_TAPS - 1) / 2;
	an->fbuf_len = ANALYZE_FFT_SIZE - ANALYZE_HOP;
	an->first_loud = -1;
	an->last_loud = -1;

	size_t frames_max = (size_t)(ANALYZE_MAX_FEATURE_S * ANALYZE_FPS) + 1;
	struct analyze_features *f = &an->f;
	f->flux.max = f->flux_low.max = f->level_db.max = frames_max;
	f->flux_mid.max = frames_max;
	f->flux_rel.max = f->low_share.max = frames_max;
	f->chroma.max = 12 * frames_max;
	f->mfcc.max = ANALYSIS_MFCC * (frames_max / ANALYZE_MFCC_EVERY + 1);
	f->fine.max = (size_t)(ANALYZE_MAX_FEATURE_S * ANALYZE_FINE_FPS) + 1;
	f->fine_low.max = f->fine.max;
	f->loud_st.max = (size_t)(ANALYZE_MAX_FEATURE_S / ANALYZE_LOUD_STEP_S) + 1;

	for (int i = 0; i < HB_TAPS; i++) {
		int n = i - (HB_TAPS - 1) / 2;
		double sinc = n == 0 ? 0.5 : sin(M_PI * n / 2.0) / (M_PI * n);
		double w = 0.42 + 0.5 * cos(2.0 * M_PI * n / (HB_TAPS + 1))
			   + 0.08 * cos(4.0 * M_PI * n / (HB_TAPS + 1));
		an->hb[i] = (float)(sinc * w);
	}
	double sum = 0;
	for (int i = 0; i < HB_TAPS; i++)
		sum += an->hb[i];
	for (int i = 0; i < HB_TAPS; i++)
		an->hb[i] = (float)(an->hb[i] / sum);
	for (int i = 0; i < ANALYZE_FFT_SIZE; i++)
		an->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i /
							ANALYZE_FFT_SIZE));
	/* Bilinear-transform Butterworth low-pass, Q = 1/sqrt(2). */
	double w0 = 2.0 * M_PI * LOW_CUT_HZ / ANALYZE_RATE;
	double alpha = sin(w0) / (2.0 * M_SQRT1_2);
	double a0 = 1.0 + alpha;
	an->lp[0] = (float)((1.0 - cos(w0)) / 2.0 / a0);
	an->lp[1] = (float)((1.0 - cos(w0)) / a0);
	an->lp[2] = an->lp[0];
	an->lp[3] = (float)(-2.0 * cos(w0) / a0);
	an->lp[4] = (float)((1.0 - alpha) / a0);
	an->bin_pc_base = (float)log2(ANALYZE_RATE / ANALYZE_FFT_SIZE / 440.0);

	an->fft = new_aubio_fft(ANALYZE_FFT_SIZE);
	an->fft_in = new_fvec(ANALYZE_FFT_SIZE);
	an->fft_out = new_fvec(ANALYZE_FFT_SIZE);
	an->spec = new_cvec(ANALYZE_FFT_SIZE);
	an->mfcc = new_aubio_mfcc(ANALYZE_FFT_SIZE, MEL_FILTERS, ANALYSIS_MFCC,
				  (uint_t)ANALYZE_RATE);
	an->mfcc_out = new_fvec(ANALYSIS_MFCC);
	an->loud = analyze_loudness_create();
	if (!an->fft || !an->fft_in || !an->fft_out || !an->spec || !an->mfcc ||
	    !an->mfcc_out || !an->loud)
		goto fail;
	return an;
fail:
	analyze_destroy(an);
	errno = ENOMEM;
	return NULL;
}

void analyze_destroy(struct analyzer *an)
{
	if (!an)
		return;
	features_free(&an->f);
	analyze_loudness_destroy(an->loud);
	if (an->fft)
		del_aubio_fft(an->fft);
	if (an->fft_in)
		del_fvec(an->fft_in);
	if (an->fft_out)
		del_fvec(an->fft_out);
	if (an->spec)
		del_cvec(an->spec);
	if (an->mfcc)
		del_aubio_mfcc(an->mfcc);
	if (an->mfcc_out)
		del_fvec(an->mfcc_out);
	free(an);
}

/* Pushes v unless the feature store is full (then the rest of a long file
 * only counts for loudness and duration). */
static int push(struct analyze_vec *vec, const float *v, size_t n)
{
	int rc = analyze_vec_push(vec, v, n);
	return rc == -ENOSPC ? 0 : rc;
}

static int spectral_frame(struct analyzer *an, const float *frame)
{
	struct analyze_features *f = &an->f;
	int rc = 0;
	if (f->flux.n >= f->flux.max)
		return 0;
	float *in = an->fft_in->data;
	double sq = 0;
	for (int i = 0; i < ANALYZE_FFT_SIZE; i++) {
		float x = frame[i];
		sq += (double)x * x;
		in[i] = x * an->window[i];
	}
	aubio_fft_do_complex(an->fft, an->fft_in, an->fft_out);
	aubio_fft_get_norm(an->fft_out, an->spec);
	const float *mag = an->spec->norm;

	/* Straight loops over bins that the compiler can vectorise. */
	float rise[ANALYZE_BINS], e[ANALYZE_BINS];
	float dpos = 0, msum = 0;
	for (int k = 0; k < ANALYZE_BINS; k++) {
		float m = mag[k];
		float lg = fast_log2(1.0f + m);
		float d = lg - an->prev_log[k];
		an->prev_log[k] = lg;
		rise[k] = d > 0 ? d : 0.0f;
		float dm = m - an->prev_mag[k];
		an->prev_mag[k] = m;
		dpos += dm > 0 ? dm : 0.0f;
		msum += m;
		e[k] = m * m;
	}
	float flux_low = 0, flux_mid = 0, flux_high = 0, e_low = 0, e_all = 0;
	for (int k = 0; k <= FLUX_LOW_BINS; k++)
		flux_low += rise[k];
	for (int k = FLUX_LOW_BINS + 1; k <= FLUX_MID_BINS; k++)
		flux_mid += rise[k];
	for (int k = FLUX_MID_BINS + 1; k <= FLUX_TOP_BIN; k++)
		flux_high += rise[k];
	float flux = flux_low + flux_mid + flux_high;
	for (int k = 0; k <= LOW_SHARE_BINS; k++)
		e_low += e[k];
	for (int k = 0; k < ANALYZE_BINS; k++)
		e_all += e[k];

	float chroma[12] = { 0 };
	for (int k = CHROMA_MIN_BIN; k < CHROMA_MAX_BIN; k++) {
		float b = mag[k];
		if (!(b > mag[k - 1] && b >= mag[k + 1]) || b < 1e-3f)
			continue;
		float a = fast_log2(mag[k - 1] + 1e-9f);
		float lb = fast_log2(b + 1e-9f);
		float c = fast_log2(mag[k + 1] + 1e-9f);
		float den = a - 2.0f * lb + c;
		float delta = den < 0 ? 0.5f * (a - c) / den : 0.0f;
		/* MIDI-style pitch of the interpolated peak frequency. */
		float pitch = 12.0f * (an->bin_pc_base + fast_log2((float)k + delta))
			      + 69.0f;
		int pc = (int)lrintf(pitch) % 12;
		if (pc < 0)
			pc += 12;
		chroma[pc] += b;
	}

	float level = (float)(10.0 * log10(sq / ANALYZE_FFT_SIZE + 1e-12));
	float rel = msum > 1e-9f ? dpos / msum : 0.0f;
	float low = e_all > 1e-12f ? e_low / e_all : 0.0f;
	if ((rc = push(&f->flux, &flux, 1)) < 0 ||
	    (rc = push(&f->flux_low, &flux_low, 1)) < 0 ||
	    (rc = push(&f->flux_mid, &flux_mid, 1)) < 0 ||
	    (rc = push(&f->level_db, &level, 1)) < 0 ||
	    (rc = push(&f->flux_rel, &rel, 1)) < 0 ||
	    (rc = push(&f->low_share, &low, 1)) < 0 ||
	    (rc = push(&f->chroma, chroma, 12)) < 0)
		return rc;
	if (f->n_frames % ANALYZE_MFCC_EVERY == 0) {
		aubio_mfcc_do(an->mfcc, an->spec, an->mfcc_out);
		float c[ANALYSIS_MFCC];
		for (int i = 0; i < ANALYSIS_MFCC; i++)
			c[i] = isfinite(an->mfcc_out->data[i]) ?
			       an->mfcc_out->data[i] : 0.0f;
		if ((rc = push(&f->mfcc, c, ANALYSIS_MFCC)) < 0)
			return rc;
		f->n_mfcc++;
	}
	f->n_frames++;
	return 0;
}

/* A block of 22.05 kHz mono samples: fine envelope and FFT frames. */
static int mono_block(struct analyzer *an, const float *x, size_t n)
{
	int rc;
	/* Fine envelope: energy of the first difference per block. Locals,
	 * not struct members, so the loop is not tied to memory. */
	float prev_x = an->fine_prev_x, acc = an->fine_acc;
	float low_acc = an->low_acc;
	int count = an->fine_count;
	const float b0 = an->lp[0], b1 = an->lp[1], b2 = an->lp[2];
	const float a1 = an->lp[3], a2 = an->lp[4];
	float z0 = an->lp_z[0], z1 = an->lp_z[1], z2 = an->lp_z[2];
	float z3 = an->lp_z[3];
	for (size_t i = 0; i < n; i++) {
		float d = x[i] - prev_x;
		prev_x = x[i];
		acc += d * d;
		float u = b0 * x[i] + z0;
		z0 = b1 * x[i] - a1 * u + z1;
		z1 = b2 * x[i] - a2 * u;
		float y = b0 * u + z2;
		z2 = b1 * u - a1 * y + z3;
		z3 = b2 * u - a2 * y;
		low_acc += y * y;
		if (++count == ANALYZE_FINE_BLOCK) {
			float pw = low_acc / ANALYZE_FINE_BLOCK;
			if ((rc = push(&an->f.fine_low, &pw, 1)) < 0)
				return rc;
			low_acc = 0;
			float lg = fast_log2(acc + 1e-10f);
			float ref = an->fine_past_log[0];
			for (int k = 1; k < FINE_PAST; k++)
				ref = fmaxf(ref, an->fine_past_log[k]);
			float rise = lg - ref;
			an->fine_past_log[an->fine_past_at] = lg;
			an->fine_past_at = (an->fine_past_at + 1) % FINE_PAST;
			if (rise < 0)
				rise = 0;
			if ((rc = push(&an->f.fine, &rise, 1)) < 0)
				return rc;
			acc = 0;
			count = 0;
		}
	}
	an->fine_prev_x = prev_x;
	an->fine_acc = acc;
	an->low_acc = low_acc;
	an->lp_z[0] = z0;
	an->lp_z[1] = z1;
	an->lp_z[2] = z2;
	an->lp_z[3] = z3;
	an->fine_count = count;
	memcpy(an->fbuf + an->fbuf_len, x, n * sizeof(*x));
	an->fbuf_len += n;
	size_t pos = 0;
	while (pos + ANALYZE_FFT_SIZE <= an->fbuf_len) {
		if ((rc = spectral_frame(an, an->fbuf + pos)) < 0)
			return rc;
		pos += ANALYZE_HOP;
	}
	memmove(an->fbuf, an->fbuf + pos, (an->fbuf_len - pos) * sizeof(float));
	an->fbuf_len -= pos;
	return 0;
}

static int feed_block(struct analyzer *an, const float *stereo, size_t n)
{
	float peak = 0;
	float *m = an->mono + an->mono_len;
	for (size_t i = 0; i < n; i++) {
		float l = stereo[2 * i], r = stereo[2 * i + 1];
		l = isfinite(l) ? l : 0.0f;
		r = isfinite(r) ? r : 0.0f;
		float al = fabsf(l), ar = fabsf(r);
		peak = al > peak ? al : peak;
		peak = ar > peak ? ar : peak;
		m[i] = 0.5f * (l + r);
	}
	if (peak >= SILENCE_AMP) {
		size_t i = 0, j = n;
		if (an->first_loud < 0) {
			while (fabsf(stereo[2 * i]) < SILENCE_AMP &&
			       fabsf(stereo[2 * i + 1]) < SILENCE_AMP)
				i++;
			an->first_loud = (int64_t)(an->frames_in + i);
		}
		while (j > 0 && fabsf(stereo[2 * j - 2]) < SILENCE_AMP &&
		       fabsf(stereo[2 * j - 1]) < SILENCE_AMP)
			j--;
		an->last_loud = (int64_t)(an->frames_in + j - 1);
	}
	an->mono_len += n;

	/* Half-band decimation: odd taps (from the centre) are zero and the
	 * filter is symmetric, so 6 multiplies per output. */
	const int half = (HB_TAPS - 1) / 2;
	size_t c = an->mono_centre, nd = 0;
	while (c + (size_t)half < an->mono_len) {
		const float *x = an->mono + c;
		float y = an->hb[half] * x[0];
		for (int k = 1; k <= half; k += 2)
			y += an->hb[half + k] * (x[k] + x[-k]);
		an->dec[nd++] = y;
		c += 2;
	}
	size_t keep_from = c - (size_t)half;
	memmove(an->mono, an->mono + keep_from,
		(an->mono_len - keep_from) * sizeof(float));
	an->mono_len -= keep_from;
	an->mono_centre = c - keep_from;
	an->frames_in += n;
	return mono_block(an, an->dec, nd);
}

int analyze_feed(struct analyzer *an, const float *stereo, size_t frames)
{
	int rc = 0;
	if (!an || (!stereo && frames) || an->finished)
		return -EINVAL;
#if defined(__SSE__)
	/* Decaying sounds drive the filters (ours, libebur128's K-weighting,
	 * FFTW) into denormal numbers, which cost a hundred times as much:
	 * flush them to zero while we compute, then restore the caller's
	 * floating-point mode. */
	unsigned int csr = _mm_getcsr();
	_mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
#endif
	rc = analyze_loudness_feed(an->loud, stereo, frames, &an->f.loud_st);
	for (size_t done = 0; rc == 0 && done < frames;) {
		size_t n = frames - done < FEED_BLOCK ? frames - done : FEED_BLOCK;
		rc = feed_block(an, stereo + 2 * done, n);
		done += n;
	}
#if defined(__SSE__)
	_mm_setcsr(csr);
#endif
	return rc;
}

int analyze_finish(struct analyzer *an, struct analysis *out)
{
	if (!an || !out || an->finished)
		return -EINVAL;
	an->finished = true;
	struct analyze_features *f = &an->f;
	memset(out, 0, sizeof(*out));
	out->version = ANALYSIS_VERSION;
	f->duration_s = an->frames_in / 44100.0;
	if (an->first_loud >= 0) {
		f->audio_start_s = an->first_loud / 44100.0;
		f->audio_end_s = (an->last_loud + 1) / 44100.0;
	}
	analyze_loudness_result(an->loud, &f->loudness_lufs, &f->true_peak_db);
	out->duration_s = f->duration_s;
	out->audio_start_s = f->audio_start_s;
	out->audio_end_s = f->audio_end_s;
	out->loudness_lufs = f->loudness_lufs;
	out->true_peak_db = f->true_peak_db;
	out->beats_per_bar = 4;
	out->phrase_bars = 8;
	out->key = -1;

	analyze_beats(f, &an->params, out);
	analyze_key(f, out);
	analyze_timbre(f, out);
	analyze_phrases(f, out);
	analyze_cues(f, out);
	return 0;
}

int analyze_pcm(const float *stereo, size_t frames,
		const struct analysis_params *params, struct analysis *out)
{
	int rc;
	struct analyzer *an = analyze_create(params);
	if (!an)
		return -errno;
	rc = analyze_feed(an, stereo, frames);
	if (rc == 0)
		rc = analyze_finish(an, out);
	analyze_destroy(an);
	return rc;
}
