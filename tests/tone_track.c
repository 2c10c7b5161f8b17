/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tone_track — test tool: follows which test tone is audible in a decoded
 * stream, so integration tests can tell when the listener hears a new track.
 *
 *   tone_track FREQ:LABEL [FREQ:LABEL...] < s16le-stereo-44100.raw
 *
 * Test tracks are sine tones of distinct frequencies. Every block of 1024
 * frames (23.2 ms) gets the Goertzel power of each frequency on the mono
 * mix; the loudest one names the block, or "-" when the block is quieter
 * than -50 dBFS (silence). A label is reported once it has named 4 blocks in
 * a row, at the time of the first of them, as "SECONDS<TAB>LABEL". In an
 * equal-power crossfade of two equally loud tones the label changes exactly
 * at the middle: where the listener hears the new track.
 * The last line is "end<TAB>SECONDS" (the length of the input).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_FRAMES 1024
#define RATE_HZ 44100.0
#define TONES_MAX 64
#define RUN_BLOCKS 4

struct tone {
	double freq_hz;
	double coeff;
	const char *label;
};

static double goertzel_power(const float *x, size_t n, double coeff)
{
	double s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + coeff * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	/* Normalised so a full-scale sine gives about 1. */
	return (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 4.0 / ((double)n * n);
}

int main(int argc, char **argv)
{
	struct tone tones[TONES_MAX];
	int n_tones = 0;

	for (int i = 1; i < argc && n_tones < TONES_MAX; i++) {
		char *colon = strchr(argv[i], ':');
		if (!colon) {
			fprintf(stderr, "usage: tone_track FREQ:LABEL...\n");
			return 2;
		}
		*colon = '\0';
		tones[n_tones].freq_hz = atof(argv[i]);
		tones[n_tones].coeff = 2.0 * cos(2.0 * M_PI * tones[n_tones].freq_hz / RATE_HZ);
		tones[n_tones].label = colon + 1;
		n_tones++;
	}
	if (n_tones == 0) {
		fprintf(stderr, "usage: tone_track FREQ:LABEL...\n");
		return 2;
	}

	int16_t raw[BLOCK_FRAMES * 2];
	float mono[BLOCK_FRAMES];
	uint64_t block = 0;
	const char *reported = NULL, *candidate = NULL;
	uint64_t candidate_start = 0;
	int candidate_run = 0;

	for (;;) {
		size_t got = fread(raw, sizeof(int16_t) * 2, BLOCK_FRAMES, stdin);
		if (got < BLOCK_FRAMES)
			break;
		double energy = 0;
		for (size_t i = 0; i < BLOCK_FRAMES; i++) {
			mono[i] = (float)((raw[2 * i] + raw[2 * i + 1]) / 65536.0);
			energy += (double)mono[i] * mono[i];
		}
		const char *label = "-";
		if (10.0 * log10(energy / BLOCK_FRAMES + 1e-20) > -50.0) {
			double best = -1;
			for (int t = 0; t < n_tones; t++) {
				double p = goertzel_power(mono, BLOCK_FRAMES, tones[t].coeff);
				if (p > best) {
					best = p;
					label = tones[t].label;
				}
			}
		}
		if (candidate && strcmp(label, candidate) == 0) {
			candidate_run++;
		} else {
			candidate = label;
			candidate_start = block;
			candidate_run = 1;
		}
		if (candidate_run == RUN_BLOCKS &&
		    (!reported || strcmp(reported, candidate) != 0)) {
			printf("%.3f\t%s\n", candidate_start * BLOCK_FRAMES / RATE_HZ,
			       candidate);
			reported = candidate;
		}
		block++;
	}
	printf("end\t%.3f\n", block * BLOCK_FRAMES / RATE_HZ);
	return 0;
}
