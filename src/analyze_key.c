/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_key — the key of a track from its chroma, and key names.
 *
 * DESIGN
 * The front end adds, per FFT frame, the magnitude of every spectral peak
 * between 54 Hz and 5 kHz to the pitch class of its interpolated frequency
 * (A = 440 Hz). Here the frames of the audible part are summed, and the
 * profile is correlated (Pearson) with the 24 rotations of Temperley's
 * major and minor key profiles (D. Temperley, "What's key for key? The
 * Krumhansl-Schmuckler key-finding algorithm reconsidered", Music
 * Perception 17, 1999), which weight the tonic and fifth more than the
 * Krumhansl-Kessler profiles and do better on popular and electronic music,
 * where tonic and fifth dominate. Confidence is the best correlation times
 * its margin over the runner-up that is not the relative key (relative
 * major and minor sit side by side on the Camelot wheel, so confusing them
 * costs little) times how peaked the chroma is (noise is flat).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analyze_priv.h"

static const double major_profile[12] = {
	5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0 };
static const double minor_profile[12] = {
	5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0 };

static const char *const major_names[12] = {
	"C major", "Db major", "D major", "Eb major", "E major", "F major",
	"F# major", "G major", "Ab major", "A major", "Bb major", "B major" };
static const char *const minor_names[12] = {
	"C minor", "C# minor", "D minor", "Eb minor", "E minor", "F minor",
	"F# minor", "G minor", "G# minor", "A minor", "Bb minor", "B minor" };
static const char *const camelot_codes[24] = {
	"8B", "3B", "10B", "5B", "12B", "7B", "2B", "9B", "4B", "11B", "6B", "1B",
	"5A", "12A", "7A", "2A", "9A", "4A", "11A", "6A", "1A", "8A", "3A", "10A" };

const char *analyze_key_name(int key)
{
	if (key >= 0 && key < 12)
		return major_names[key];
	if (key >= 12 && key < 24)
		return minor_names[key - 12];
	return "";
}

const char *analyze_key_camelot(int key)
{
	return key >= 0 && key < 24 ? camelot_codes[key] : "";
}

static double pearson(const double *x, const double *profile, int rot)
{
	double mx = 0, my = 0;
	for (int i = 0; i < 12; i++) {
		mx += x[i];
		my += profile[i];
	}
	mx /= 12;
	my /= 12;
	double sxy = 0, sxx = 0, syy = 0;
	for (int i = 0; i < 12; i++) {
		double a = x[(i + rot) % 12] - mx, b = profile[i] - my;
		sxy += a * b;
		sxx += a * a;
		syy += b * b;
	}
	return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

void analyze_key(const struct analyze_features *f, struct analysis *out)
{
	double c[12] = { 0 }, total = 0;
	size_t frames = f->chroma.n / 12;
	out->key = -1;
	out->key_name[0] = '\0';
	out->camelot[0] = '\0';
	out->key_confidence = 0;
	for (size_t i = 0; i < frames; i++) {
		double t = analyze_frame_time((double)i);
		if (t < f->audio_start_s || t > f->audio_end_s)
			continue;
		for (int k = 0; k < 12; k++)
			c[k] += f->chroma.v[12 * i + (size_t)k];
	}
	for (int k = 0; k < 12; k++)
		total += c[k];
	if (!(total > 0))
		return;
	for (int k = 0; k < 12; k++) {
		c[k] /= total;
		out->chroma[k] = (float)c[k];
	}
	double r[24];
	int best = 0;
	for (int k = 0; k < 24; k++) {
		r[k] = pearson(c, k < 12 ? major_profile : minor_profile, k % 12);
		if (r[k] > r[best])
			best = k;
	}
	/* The relative key: A minor for C major, C major for A minor. */
	int relative = best < 12 ? 12 + (best + 9) % 12 : (best - 12 + 3) % 12;
	double second = -1;
	for (int k = 0; k < 24; k++)
		if (k != best && k != relative && r[k] > second)
			second = r[k];
	double margin = r[best] - second;
	/* Tonal music has a peaked chroma; noise a flat one, which still
	 * correlates with some key by chance. */
	double cmax = 0;
	for (int k = 0; k < 12; k++)
		cmax = fmax(cmax, c[k]);
	double peaked = fmin(1.0, fmax(0.0, (cmax * 12.0 - 1.0) / 1.5));
	double conf = (r[best] > 0 ? r[best] : 0) *
		      fmin(1.0, fmax(0.0, margin / 0.15)) * peaked;
	out->key = best;
	snprintf(out->key_name, sizeof(out->key_name), "%s",
		 analyze_key_name(best));
	snprintf(out->camelot, sizeof(out->camelot), "%s",
		 analyze_key_camelot(best));
	out->key_confidence = fmin(1.0, fmax(0.0, conf));
}
