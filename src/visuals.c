/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * visuals — the waveform, the colours and image types of visuals.h; pure
 * functions (the cover's decoding is cover.c).
 *
 * DESIGN
 * Waveform: a bin's peak is the largest |sample| over both channels, kept
 * linear (the page scales it to its canvas); 8 bits resolve 1/255 of full
 * scale, far below what a few hundred pixels of height show. The bins
 * stay at most VISUALS_PEAKS_MAX: when one more would not fit, pairs of
 * bins merge (their max) and the bin doubles, so a track of any length
 * costs at most 8 KiB, with 100 ms bins up to 13.6 minutes.
 *
 * Colour: k-means (Lloyd's iterations, at most VISUALS_KMEANS_ITER or
 * until nothing moves) in RGB on the picture scaled to 64 x 64, seeded by
 * k-means++ with a fixed generator, so a cover always gives the same
 * colour. The dominant colour is the mean of the largest cluster: what
 * covers most of the picture, as forever.fm did.
 */
#include "autoconfig.h"

#include "visuals.h"

#include "analyze.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define VISUALS_KMEANS_ITER 16

void visuals_wave_begin(struct visuals_wave *w, unsigned rate_hz)
{
	memset(w, 0, sizeof(*w));
	w->peak_ms = VISUALS_PEAK_MS;
	w->bin_frames = (uint32_t)((uint64_t)rate_hz * VISUALS_PEAK_MS / 1000);
	if (w->bin_frames == 0)
		w->bin_frames = 1;
}

static uint8_t visuals_quantise(float peak)
{
	if (!(peak > 0))
		return 0;
	if (peak >= 1)
		return 255;
	return (uint8_t)lrintf(peak * 255.0f);
}

/* Closes the current bin; merges pairs first when it would not fit. */
static void visuals_wave_push(struct visuals_wave *w)
{
	if (w->n_peaks == VISUALS_PEAKS_MAX) {
		for (uint32_t i = 0; i < VISUALS_PEAKS_MAX / 2; i++) {
			uint8_t a = w->peaks[2 * i], b = w->peaks[2 * i + 1];
			w->peaks[i] = a > b ? a : b;
		}
		w->n_peaks = VISUALS_PEAKS_MAX / 2;
		/* The bin just closed is half a bin of the new size: the
		 * next one completes it. */
		w->bin_frames *= 2;
		w->peak_ms *= 2;
		w->in_bin = w->bin_frames / 2;
		return;
	}
	w->peaks[w->n_peaks++] = visuals_quantise(w->peak);
	w->peak = 0;
	w->in_bin = 0;
}

void visuals_wave_feed(struct visuals_wave *w, const float *pcm,
		       size_t frames, unsigned channels)
{
	for (size_t f = 0; f < frames; f++) {
		for (unsigned c = 0; c < channels; c++) {
			float s = fabsf(pcm[f * channels + c]);
			if (s > w->peak)
				w->peak = s;
		}
		if (++w->in_bin == w->bin_frames)
			visuals_wave_push(w);
	}
}

void visuals_wave_end(struct visuals_wave *w, struct visuals *v)
{
	if (w->in_bin > 0) {
		if (w->n_peaks == VISUALS_PEAKS_MAX)
			visuals_wave_push(w); /* merges; keeps the peak */
		w->peaks[w->n_peaks++] = visuals_quantise(w->peak);
		w->in_bin = 0;
		w->peak = 0;
	}
	v->peak_ms = w->peak_ms;
	v->n_peaks = w->n_peaks;
	memcpy(v->peaks, w->peaks, w->n_peaks);
}

/* ------------------------------------------------------------------ */
/* Colours.                                                            */

static uint32_t visuals_lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static double visuals_dist2(const uint8_t *p, const double *c)
{
	double dr = p[0] - c[0], dg = p[1] - c[1], db = p[2] - c[2];
	return dr * dr + dg * dg + db * db;
}

/* The squared distance of pixel P from the nearest of the K centres. */
static double visuals_nearest2(const uint8_t *p, const double c[][3],
			       size_t k)
{
	double best = INFINITY;
	for (size_t m = 0; m < k; m++) {
		double d = visuals_dist2(p, c[m]);
		if (d < best)
			best = d;
	}
	return best;
}

/* k-means++: the first centre a pixel drawn at random, each next one drawn
 * with probability proportional to its squared distance from the
 * nearest centre so far. Returns the number of centres (fewer than k when
 * the picture has fewer distinct colours). */
static size_t visuals_seed(const uint8_t *rgb, size_t n, double c[][3],
			   size_t k)
{
	uint32_t state = 0x2f6b5a3du;
	size_t first = visuals_lcg(&state) % n;
	for (int j = 0; j < 3; j++)
		c[0][j] = rgb[3 * first + j];
	size_t have = 1;
	while (have < k) {
		double total = 0;
		for (size_t i = 0; i < n; i++)
			total += visuals_nearest2(rgb + 3 * i, c, have);
		if (total <= 0)
			break;
		double pick = (double)visuals_lcg(&state) / (double)(1u << 24) *
			      total;
		size_t chosen = n - 1;
		for (size_t i = 0; i < n; i++) {
			double best = visuals_nearest2(rgb + 3 * i, c, have);
			pick -= best;
			if (pick < 0 && best > 0) {
				chosen = i;
				break;
			}
		}
		for (int j = 0; j < 3; j++)
			c[have][j] = rgb[3 * chosen + j];
		have++;
	}
	return have;
}

int visuals_dominant_colour(const uint8_t *rgb, size_t n_pixels,
			    uint32_t *colour)
{
	double c[VISUALS_KMEANS_K][3];
	double sum[VISUALS_KMEANS_K][3];
	size_t count[VISUALS_KMEANS_K];

	if (!rgb || n_pixels == 0 || !colour)
		return -EINVAL;
	size_t k = visuals_seed(rgb, n_pixels, c, VISUALS_KMEANS_K);
	for (int iter = 0; iter < VISUALS_KMEANS_ITER; iter++) {
		memset(sum, 0, sizeof(sum));
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n_pixels; i++) {
			size_t best = 0;
			double bd = INFINITY;
			for (size_t m = 0; m < k; m++) {
				double d = visuals_dist2(rgb + 3 * i, c[m]);
				if (d < bd) {
					bd = d;
					best = m;
				}
			}
			count[best]++;
			for (int j = 0; j < 3; j++)
				sum[best][j] += rgb[3 * i + j];
		}
		double moved = 0;
		for (size_t m = 0; m < k; m++) {
			if (count[m] == 0)
				continue;
			for (int j = 0; j < 3; j++) {
				double v = sum[m][j] / (double)count[m];
				moved += fabs(v - c[m][j]);
				c[m][j] = v;
			}
		}
		if (moved < 0.5)
			break;
	}
	/* The counts are those of the last assignment, against the
	 * centres before their last move: at most half a level off. */
	size_t top = 0;
	for (size_t m = 1; m < k; m++)
		if (count[m] > count[top])
			top = m;
	uint32_t out = 0;
	for (int j = 0; j < 3; j++) {
		long v = lround(c[top][j]);
		out = (out << 8) | (uint32_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
	*colour = out;
	return 0;
}

/* HSL (h in degrees, s and l in 0..1) to 0xRRGGBB. */
static uint32_t visuals_hsl(double h, double s, double l)
{
	double q = l < 0.5 ? l * (1 + s) : l + s - l * s;
	double p = 2 * l - q;
	uint32_t out = 0;
	for (int j = 0; j < 3; j++) {
		double t = h / 360.0 + (1 - j) / 3.0;
		t -= floor(t);
		double v;
		if (t < 1 / 6.0)
			v = p + (q - p) * 6 * t;
		else if (t < 0.5)
			v = q;
		else if (t < 2 / 3.0)
			v = p + (q - p) * (2 / 3.0 - t) * 6;
		else
			v = p;
		long b = lround(v * 255);
		out = (out << 8) | (uint32_t)(b < 0 ? 0 : b > 255 ? 255 : b);
	}
	return out;
}

uint32_t visuals_timbre_colour(const struct analysis *a)
{
	/* c1 is the spectrum's tilt (dark to bright), c2 its curvature:
	 * their angle spreads tracks round the colour wheel, and tracks
	 * that sound alike get neighbouring hues. */
	double c1 = a->mfcc_mean[1], c2 = a->mfcc_mean[2];
	double e = a->energy;
	if (!isfinite(c1) || !isfinite(c2))
		c1 = c2 = 0;
	if (!isfinite(e) || e < 0)
		e = 0;
	if (e > 1)
		e = 1;
	double h = atan2(c2, c1) * 180.0 / M_PI;
	if (h < 0)
		h += 360;
	return visuals_hsl(h, 0.45 + 0.4 * e, 0.55);
}

const char *visuals_image_type(const uint8_t *b, size_t n)
{
	if (!b)
		return NULL;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 ||
		       memcmp(b, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 &&
	    memcmp(b + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 2 && b[0] == 'B' && b[1] == 'M')
		return "image/bmp";
	return NULL;
}

char *visuals_colour_hex(uint32_t colour, char buf[8])
{
	snprintf(buf, 8, "#%06x", (unsigned)(colour & 0xffffffu));
	return buf;
}
