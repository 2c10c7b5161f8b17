/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * synth — deterministic test music for the analyzer tests: click tracks,
 * synthesised drums (kick, snare, hi-hat), bass and chords, written straight
 * into interleaved float stereo at 44.1 kHz, so the truth (beat times,
 * tempo, key, section starts) is known to the sample. Header-only, like
 * testutil.h.
 */
#ifndef FOREVERFM_TESTS_SYNTH_H
#define FOREVERFM_TESTS_SYNTH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_RATE 44100

struct synth {
	float *s;        /* interleaved stereo */
	size_t frames;
	uint32_t seed;   /* noise generator */
};

static inline struct synth synth_new(double seconds)
{
	struct synth p;
	p.frames = (size_t)(seconds * SYNTH_RATE);
	p.s = calloc(p.frames * 2 + 2, sizeof(float));
	p.seed = 12345;
	if (!p.s) {
		fprintf(stderr, "synth: out of memory\n");
		exit(99);
	}
	return p;
}

static inline void synth_free(struct synth *p)
{
	free(p->s);
	p->s = NULL;
}

static inline float synth_noise(struct synth *p)
{
	p->seed = p->seed * 1664525u + 1013904223u;
	return (float)((p->seed >> 8) / 8388608.0 - 1.0);
}

static inline void synth_add(struct synth *p, size_t i, float v)
{
	if (i < p->frames) {
		p->s[2 * i] += v;
		p->s[2 * i + 1] += v;
	}
}

static inline size_t synth_index(double t)
{
	return t <= 0 ? 0 : (size_t)llround(t * SYNTH_RATE);
}

/* A metronome click: a sine burst that starts at full level at t. */
static inline void synth_click(struct synth *p, double t, double freq,
			       double amp)
{
	size_t i0 = synth_index(t), n = (size_t)(0.03 * SYNTH_RATE);
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / SYNTH_RATE;
		synth_add(p, i0 + i, (float)(amp * sin(2 * M_PI * freq * x) *
					     exp(-x / 0.008)));
	}
}

/* Kick drum: a pitch sweep from 150 down to 50 Hz. */
static inline void synth_kick(struct synth *p, double t, double amp)
{
	size_t i0 = synth_index(t), n = (size_t)(0.3 * SYNTH_RATE);
	double ph = 0;
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / SYNTH_RATE;
		double f = 50 + 100 * exp(-x / 0.03);
		ph += 2 * M_PI * f / SYNTH_RATE;
		synth_add(p, i0 + i, (float)(amp * sin(ph) * exp(-x / 0.12)));
	}
}

static inline void synth_snare(struct synth *p, double t, double amp)
{
	size_t i0 = synth_index(t), n = (size_t)(0.2 * SYNTH_RATE);
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / SYNTH_RATE;
		double v = 0.7 * synth_noise(p) + 0.5 * sin(2 * M_PI * 190 * x);
		synth_add(p, i0 + i, (float)(amp * v * exp(-x / 0.05)));
	}
}

static inline void synth_hat(struct synth *p, double t, double amp)
{
	size_t i0 = synth_index(t), n = (size_t)(0.05 * SYNTH_RATE);
	float prev = 0;
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / SYNTH_RATE;
		float w = synth_noise(p);
		synth_add(p, i0 + i, (float)(amp * (w - prev) * exp(-x / 0.012)));
		prev = w;
	}
}

/* A harmonic tone (8 partials) of MIDI note `note`, with a 10 ms attack
 * and a 20 ms release. bright (0..1) tilts the partials (timbre).
 * Oscillators are complex rotations, not sin() per sample, to stay fast. */
static inline void synth_note(struct synth *p, double t, double dur, int note,
			      double amp, double bright)
{
	double f0 = 440.0 * pow(2.0, (note - 69) / 12.0);
	size_t i0 = synth_index(t), n = (size_t)(dur * SYNTH_RATE);
	double g[8], re[8], im[8], cr[8], ci[8];
	int np = 0;
	for (int h = 0; h < 8 && f0 * (h + 1) < 10000; h++, np++) {
		g[h] = amp * pow(1.0 / (h + 1), 2.0 - 1.5 * bright);
		re[h] = 1;
		im[h] = 0;
		cr[h] = cos(2 * M_PI * f0 * (h + 1) / SYNTH_RATE);
		ci[h] = sin(2 * M_PI * f0 * (h + 1) / SYNTH_RATE);
	}
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / SYNTH_RATE;
		double env = fmin(1.0, x / 0.01) * fmin(1.0, (dur - x) / 0.02);
		double v = 0;
		for (int h = 0; h < np; h++) {
			v += g[h] * im[h];
			double r = re[h] * cr[h] - im[h] * ci[h];
			im[h] = re[h] * ci[h] + im[h] * cr[h];
			re[h] = r;
		}
		synth_add(p, i0 + i, (float)(env * v));
	}
}

/* A triad (root position, around middle C) plus the root two octaves down. */
static inline void synth_chord(struct synth *p, double t, double dur, int root,
			       bool minor, double amp, double bright)
{
	int r = 60 + ((root % 12) + 12) % 12;
	if (r > 66)
		r -= 12;
	synth_note(p, t, dur, r, amp, bright);
	synth_note(p, t, dur, r + (minor ? 3 : 4), amp, bright);
	synth_note(p, t, dur, r + 7, amp, bright);
	synth_note(p, t, dur, r - 24, amp * 1.2, 0.2);
}

static inline void synth_gain(struct synth *p, double gain)
{
	for (size_t i = 0; i < 2 * p->frames; i++)
		p->s[i] = (float)(p->s[i] * gain);
}

/* Writes p as a 16-bit stereo WAV file; returns 0 or -1. The samples in p
 * are replaced by their 16-bit values so that p and the file agree. */
static inline int synth_write_wav(struct synth *p, const char *path)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	uint32_t data = (uint32_t)(p->frames * 4);
	uint8_t h[44];
	memcpy(h, "RIFF", 4);
	uint32_t v = 36 + data;
	memcpy(h + 4, &v, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	v = 16;
	memcpy(h + 16, &v, 4);
	uint16_t s16 = 1;
	memcpy(h + 20, &s16, 2);
	s16 = 2;
	memcpy(h + 22, &s16, 2);
	v = SYNTH_RATE;
	memcpy(h + 24, &v, 4);
	v = SYNTH_RATE * 4;
	memcpy(h + 28, &v, 4);
	s16 = 4;
	memcpy(h + 32, &s16, 2);
	s16 = 16;
	memcpy(h + 34, &s16, 2);
	memcpy(h + 36, "data", 4);
	memcpy(h + 40, &data, 4);
	int rc = fwrite(h, 1, 44, fp) == 44 ? 0 : -1;
	for (size_t i = 0; i < p->frames * 2 && rc == 0; i++) {
		double x = p->s[i] * 32767.0;
		x = x > 32767 ? 32767 : x < -32768 ? -32768 : x;
		int16_t q = (int16_t)lrint(x);
		p->s[i] = (float)(q / 32768.0);
		if (fwrite(&q, 2, 1, fp) != 1)
			rc = -1;
	}
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* A tempo ramp in the mixer's terms, as a stretch map (stretch.h): the
 * track's own tempo OWN_BPM; the playhead tempo goes linearly in beats
 * from T0 to T1 over BEATS beats starting at input second START_S; the
 * time ratio is OWN / playhead tempo. */
struct synth_ramp {
	double own_bpm, t0, t1, start_s;
	int beats;
};

static inline double synth_ramp_ratio(void *ctx, double x)
{
	const struct synth_ramp *r = ctx;
	double beat = (x / SYNTH_RATE - r->start_s) * r->own_bpm / 60.0;
	double tempo = beat <= 0 ? r->t0 : beat >= r->beats ? r->t1 :
		       r->t0 + (r->t1 - r->t0) * beat / r->beats;
	return r->own_bpm / tempo;
}

/* A click track for timing tests: synth_click at FREQ and AMP on every
 * beat of BPM from FIRST_S on, while a click and 2000 frames after it fit
 * in p (room for synth_find_clicks' window). */
static inline void synth_click_track(struct synth *p, double first_s,
				     double bpm, double freq, double amp)
{
	for (int k = 0;; k++) {
		double t = first_s + k * 60.0 / bpm;
		if (synth_index(t) + 2000 >= p->frames)
			break;
		synth_click(p, t, freq, amp);
	}
}

/* A click track in 4/4 whose bars are marked by another sound, as a crash
 * or a chord change marks real bars: beat 1 of every bar (beats PICKUP,
 * PICKUP + 4, ... from FIRST_S on; the PICKUP beats before are the end of a
 * bar) is a click at DOWN_FREQ, DOWN_DB louder than the others' AMP; every
 * other beat of BPM is a click at FREQ and AMP. Clicks go in while a click
 * and 2000 frames after it fit in p. */
static inline void synth_bar_clicks(struct synth *p, double first_s,
				    double bpm, int pickup, double freq,
				    double amp, double down_freq,
				    double down_db)
{
	double down_amp = amp * pow(10.0, down_db / 20.0);
	for (int k = 0;; k++) {
		double t = first_s + k * 60.0 / bpm;
		if (synth_index(t) + 2000 >= p->frames)
			break;
		bool down = k >= pickup && (k - pickup) % 4 == 0;
		synth_click(p, t, down ? down_freq : freq, down ? down_amp : amp);
	}
}

/* Click onsets in the left channel of interleaved stereo x (n frames):
 * where it first reaches half of the burst's peak, in fractional frames
 * (linearly interpolated); bursts are taken at least 0.2 s apart. Detected
 * the same way in a stretcher's input and output, the detector's own bias
 * cancels. Returns how many (at most max). */
static inline size_t synth_find_clicks(const float *x, size_t n, double *at,
				       size_t max)
{
	size_t k = 0, i = 0;
	while (i < n && k < max) {
		if (fabsf(x[2 * i]) < 0.02f) {
			i++;
			continue;
		}
		size_t s0 = i > 200 ? i - 200 : 0;
		size_t s1 = i + 1500 < n ? i + 1500 : n;
		float peak = 0;
		for (size_t j = s0; j < s1; j++)
			if (fabsf(x[2 * j]) > peak)
				peak = fabsf(x[2 * j]);
		size_t j = s0;
		while (j < s1 && fabsf(x[2 * j]) < 0.5f * peak)
			j++;
		double prev = j > 0 ? fabsf(x[2 * (j - 1)]) : 0;
		double cur = fabsf(x[2 * j]);
		double frac = cur > prev ? (0.5 * peak - prev) / (cur - prev)
					 : 0;
		at[k++] = (double)j - 1 + frac;
		i = j + (size_t)(0.2 * SYNTH_RATE);
	}
	return k;
}

#endif
