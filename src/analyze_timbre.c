/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_timbre — timbre (MFCC statistics), energy and phrase boundaries.
 *
 * DESIGN
 * Timbre: mean and standard deviation of the 13 MFCCs (aubio_mfcc, 40 mel
 * bands, every fourth FFT frame) over the frames louder than -60 dBFS.
 *
 * Energy (0..1) must not follow loudness, so it uses only level-free
 * measures: onset density (peaks of the onset function per second),
 * relative spectral flux (sum of magnitude rises over sum of magnitudes:
 * how much the spectrum moves) and the share of energy below 140 Hz.
 * Each is mapped through a saturating curve and the three are weighted
 * 0.45 / 0.35 / 0.20.
 *
 * Phrases: per beat, the mean MFCCs (without c0, which is loudness) and
 * chroma, each dimension standardised over the track. The novelty at a
 * beat is the distance between the mean of the 16 beats before it and of
 * the 16 after it: this is Foote's checkerboard kernel on the
 * self-similarity matrix with the within-block terms, which depend only on
 * each block, taken as constant, and it costs O(beats) instead of
 * O(beats^2). Novelty is read at downbeats; its peaks that stand out of
 * the track's median by a margin, at least 4 bars apart, are phrase
 * boundaries. The typical phrase length is the largest of 32, 16, 8 bars
 * on whose multiples most boundaries fall.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_priv.h"
#include "log.h"

#define SILENT_DB -60.0f
#define NOVELTY_BEATS 16
#define PHRASE_MIN_BARS 4
#define ONSET_REL_MIN 0.12f

static double clampd(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

void analyze_timbre(const struct analyze_features *f, struct analysis *out)
{
	double sum[ANALYSIS_MFCC] = { 0 }, sq[ANALYSIS_MFCC] = { 0 };
	size_t used = 0;
	for (size_t i = 0; i < f->n_mfcc && i * ANALYZE_MFCC_EVERY < f->level_db.n;
	     i++) {
		if (f->level_db.v[i * ANALYZE_MFCC_EVERY] < SILENT_DB)
			continue;
		for (int k = 0; k < ANALYSIS_MFCC; k++) {
			double v = f->mfcc.v[i * ANALYSIS_MFCC + (size_t)k];
			sum[k] += v;
			sq[k] += v * v;
		}
		used++;
	}
	for (int k = 0; k < ANALYSIS_MFCC && used > 0; k++) {
		double m = sum[k] / (double)used;
		out->mfcc_mean[k] = (float)m;
		out->mfcc_std[k] = (float)sqrt(fmax(0, sq[k] / (double)used - m * m));
	}

	/* Energy. */
	size_t n = f->flux.n, loud = 0;
	double rel = 0, low = 0;
	for (size_t i = 0; i < n; i++) {
		if (f->level_db.v[i] < SILENT_DB)
			continue;
		loud++;
		rel += f->flux_rel.v[i];
		low += f->low_share.v[i];
	}
	out->energy = 0;
	if (loud < (size_t)ANALYZE_FPS)
		return;
	rel /= (double)loud;
	low /= (double)loud;
	/* Onsets: peaks of the level-free flux that rise well above its
	 * median, with an absolute floor so that the small ripples of a
	 * sustained sound are not counted. */
	float *tmp = malloc(n * sizeof(*tmp));
	size_t onsets = 0;
	if (tmp) {
		const float *x = f->flux_rel.v;
		memcpy(tmp, x, n * sizeof(*tmp));
		qsort(tmp, n, sizeof(*tmp), cmp_float);
		float thr = fmaxf(ONSET_REL_MIN, 2.0f * tmp[n / 2]);
		size_t last = 0;
		for (size_t i = 1; i + 1 < n; i++) {
			if (f->level_db.v[i] < SILENT_DB || x[i] < thr ||
			    x[i] < x[i - 1] || x[i] < x[i + 1])
				continue;
			if (onsets && i - last < 3)
				continue; /* 70 ms apart at least */
			onsets++;
			last = i;
		}
		free(tmp);
	}
	double density = onsets / ((double)loud / ANALYZE_FPS);
	double e_density = 1.0 - exp(-density / 4.0);
	double e_flux = 1.0 - exp(-rel / 0.15);
	double e_low = clampd(low / 0.5, 0, 1);
	out->energy = clampd(0.45 * e_density + 0.35 * e_flux + 0.20 * e_low,
			     0, 1);
	log_debug("analyze: energy %.3f: onsets %.2f/s flux %.3f low %.3f",
		  out->energy, density, rel, low);
}

void analyze_phrases(const struct analyze_features *f, struct analysis *out)
{
	size_t nb = analyze_beat_count(out);
	const int dims = (ANALYSIS_MFCC - 1) + 12;
	float *feat = NULL, *nov = NULL;
	out->n_phrases = 0;
	out->phrase_bars = 8;
	if (nb == 0)
		return;
	double per = 60.0 / out->bpm;
	/* Beat index of the first downbeat. */
	size_t kd = (size_t)lround((out->downbeat_s - out->first_beat_s) / per);
	out->phrases_s[out->n_phrases++] = out->downbeat_s;
	if (nb < 2 * NOVELTY_BEATS + 4)
		return;
	feat = calloc(nb * (size_t)dims, sizeof(*feat));
	nov = calloc(nb, sizeof(*nov));
	if (!feat || !nov)
		goto out;
	double f0 = analyze_frame_time(0);
	for (size_t k = 0; k < nb; k++) {
		double t = out->first_beat_s + (double)k * per;
		float m[ANALYSIS_MFCC], c[12];
		analyze_rows_mean(&f->mfcc, ANALYSIS_MFCC, f0,
				  ANALYZE_MFCC_EVERY / ANALYZE_FPS, t, t + per, m);
		analyze_rows_mean(&f->chroma, 12, f0, 1.0 / ANALYZE_FPS, t,
				  t + per, c);
		float cs = 0;
		for (int i = 0; i < 12; i++)
			cs += c[i];
		float *row = feat + k * (size_t)dims;
		for (int i = 1; i < ANALYSIS_MFCC; i++)
			row[i - 1] = m[i];
		for (int i = 0; i < 12; i++)
			row[ANALYSIS_MFCC - 1 + i] = cs > 0 ? c[i] / cs : 0;
	}
	/* Standardise each dimension; chroma counts half as much. */
	for (int d = 0; d < dims; d++) {
		double s = 0, s2 = 0;
		for (size_t k = 0; k < nb; k++) {
			double v = feat[k * (size_t)dims + (size_t)d];
			s += v;
			s2 += v * v;
		}
		double m = s / (double)nb;
		double sd = sqrt(fmax(0, s2 / (double)nb - m * m)) + 1e-6;
		double w = d >= ANALYSIS_MFCC - 1 ? 0.5 : 1.0;
		for (size_t k = 0; k < nb; k++) {
			float *v = &feat[k * (size_t)dims + (size_t)d];
			*v = (float)(w * (*v - m) / sd);
		}
	}
	for (size_t k = NOVELTY_BEATS; k + NOVELTY_BEATS <= nb; k++) {
		double dist = 0;
		for (int d = 0; d < dims; d++) {
			double a = 0, b = 0;
			for (int j = 1; j <= NOVELTY_BEATS; j++) {
				a += feat[(k - (size_t)j) * (size_t)dims + (size_t)d];
				b += feat[(k + (size_t)j - 1) * (size_t)dims + (size_t)d];
			}
			double dd = (b - a) / NOVELTY_BEATS;
			dist += dd * dd;
		}
		nov[k] = (float)sqrt(dist / dims);
	}
	/* Novelty at the downbeats (allowing one beat either way, for a bar
	 * phase that is off by one). */
	size_t nbars = (nb - kd) / 4 + 1;
	float *bar = calloc(nbars, sizeof(*bar));
	float *sorted = calloc(nbars, sizeof(*sorted));
	if (!bar || !sorted) {
		free(bar);
		free(sorted);
		goto out;
	}
	for (size_t b = 0; b < nbars; b++) {
		size_t k = kd + 4 * b;
		float v = 0;
		for (int dk = -1; dk <= 1; dk++) {
			long kk = (long)k + dk;
			if (kk >= 0 && kk < (long)nb && nov[kk] > v)
				v = nov[kk];
		}
		bar[b] = v;
		sorted[b] = v;
	}
	qsort(sorted, nbars, sizeof(*sorted), cmp_float);
	float med = sorted[nbars / 2], p90 = sorted[nbars * 9 / 10];
	float thr = med + 0.5f * (p90 - med);
	if (thr < 0.35f)
		thr = 0.35f; /* a homogeneous track has no phrase boundaries */
	long last = 0;
	for (size_t b = 1; b < nbars; b++) {
		bool peak = bar[b] >= thr;
		for (long d = -2; d <= 2 && peak; d++) {
			long bb = (long)b + d;
			if (d != 0 && bb >= 0 && bb < (long)nbars && bar[bb] > bar[b])
				peak = false;
		}
		if (!peak || (long)b - last < PHRASE_MIN_BARS)
			continue;
		if (out->n_phrases >= ANALYSIS_PHRASES_MAX)
			break;
		out->phrases_s[out->n_phrases++] = out->downbeat_s +
						   (double)(4 * b) * per;
		last = (long)b;
	}
	free(bar);
	free(sorted);
	/* Typical phrase length. */
	static const int lengths[3] = { 32, 16, 8 };
	for (int li = 0; li < 3 && out->n_phrases > 1; li++) {
		int on = 0;
		for (int i = 1; i < out->n_phrases; i++) {
			double bars = (out->phrases_s[i] - out->downbeat_s) /
				      (4 * per);
			double r = fmod(bars + 1.0, lengths[li]);
			if (r <= 2.0)
				on++;
		}
		if (on * 10 >= (out->n_phrases - 1) * 6) {
			out->phrase_bars = lengths[li];
			break;
		}
	}
out:
	free(feat);
	free(nov);
}
