/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * stretch-bench — speed and quality of the two Rubber Band engines through
 * stretch.c, on generated audio (for bench/stretch-speed.sh):
 *
 *   speed     CPU time to stretch SECONDS of stereo drums + chords along a
 *             ramp from ratio 1 to 1/1.05 (a DJ's 5% tempo change), as
 *             x real time for one deck (a transition runs two).
 *   timing    worst and mean |error| of click positions through the ramps
 *             the mixer uses (A: 120 -> 126 BPM, B: the same from 126).
 *   tonal     a sustained A-minor chord (8 partials per note) played 5%
 *             faster: energy away from its partials relative to the
 *             energy on them (dB; the unstretched chord measures the
 *             analysis floor). Phasiness and smearing raise it.
 *   pre-echo  clicks played 5% faster: energy in the 20 ms before each
 *             onset relative to the 20 ms after it (dB; lower is crisper).
 *   peak      mean peak of the stretched clicks relative to the originals
 *             (transient smearing lowers it).
 */
#include "autoconfig.h"

#include "stretch.h"

#include "../tests/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE 44100
#define FFT_N 8192

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static float *run(struct stretch *st, struct synth_ramp *r, const float *x,
		  size_t n, size_t *out_n)
{
	struct stretch_map map = { synth_ramp_ratio, r };
	size_t cap = 2 * n + RATE;
	float *y = calloc(2 * cap, sizeof(float));
	if (!y)
		exit(99);
	stretch_begin(st, &map);
	size_t fed = 0, got = 0;
	while (fed < n) {
		size_t m = n - fed < 2048 ? n - fed : 2048;
		stretch_feed(st, x + 2 * fed, m);
		fed += m;
		got += stretch_retrieve(st, y + 2 * got, cap - got);
	}
	*out_n = got;
	return y;
}

/* ---- speed ---- */

static struct synth music(double seconds)
{
	struct synth p = synth_new(seconds);
	double beat = 60.0 / 124;
	static const int roots[] = { 9, 5, 0, 7 };
	for (int k = 0; k * beat < seconds; k++) {
		double t = k * beat;
		synth_kick(&p, t, 0.5);
		synth_hat(&p, t + beat / 2, 0.15);
		if (k % 2 == 1)
			synth_snare(&p, t, 0.3);
		if (k % 4 == 0)
			synth_chord(&p, t, 4 * beat, roots[(k / 4) % 4],
				    roots[(k / 4) % 4] == 9, 0.04, 0.5);
	}
	return p;
}

static double bench_speed(enum stretch_engine e, double seconds)
{
	struct synth p = music(seconds);
	struct stretch *st = stretch_create(e);
	struct synth_ramp r = { 124, 124, 124 * 1.05, 0, (int)(seconds * 124 / 60) };
	size_t ny;
	double c0 = cpu_now();
	float *y = run(st, &r, p.s, p.frames, &ny);
	double cpu = cpu_now() - c0;
	free(y);
	stretch_destroy(st);
	synth_free(&p);
	return seconds / cpu;
}

/* ---- timing ---- */

static struct synth clicks(double bpm, double seconds)
{
	struct synth p = synth_new(seconds);
	synth_click_track(&p, 0.25, bpm, 1000, 0.5);
	return p;
}

static double expected_out(struct synth_ramp *r, double x)
{
	double sum = 0, u = 0, h = 16;
	for (; u + h <= x; u += h)
		sum += synth_ramp_ratio(r, u + h / 2) * h;
	return sum + synth_ramp_ratio(r, (u + x) / 2) * (x - u);
}

static void bench_timing(enum stretch_engine e, double *worst, double *mean)
{
	struct stretch *st = stretch_create(e);
	static double in_at[512], out_at[512];
	double sum = 0;
	size_t count = 0;
	*worst = 0;
	for (int role = 0; role < 2; role++) {
		double own = role == 0 ? 120 : 126;
		struct synth_ramp r = { own, 120, 126, 1.0, 64 };
		struct synth p = clicks(own, 1 + 64 * 60.0 / own * 1.1 + 5);
		size_t ny;
		float *y = run(st, &r, p.s, p.frames, &ny);
		size_t ni = synth_find_clicks(p.s, p.frames, in_at, 512);
		size_t no = synth_find_clicks(y, ny > 4096 ? ny - 4096 : 0,
					      out_at, 512);
		for (size_t k = 0; k < no && k < ni; k++) {
			double err = fabs(out_at[k] - expected_out(&r, in_at[k]))
				     * 1000.0 / RATE;
			sum += err;
			count++;
			if (err > *worst)
				*worst = err;
		}
		free(y);
		synth_free(&p);
	}
	*mean = count ? sum / (double)count : 0;
	stretch_destroy(st);
}

/* ---- tonal ---- */

static void fft(double *re, double *im, size_t n)
{
	for (size_t i = 1, j = 0; i < n; i++) {
		size_t bit = n >> 1;
		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			double t = re[i];
			re[i] = re[j];
			re[j] = t;
			t = im[i];
			im[i] = im[j];
			im[j] = t;
		}
	}
	for (size_t len = 2; len <= n; len <<= 1) {
		double ang = -2 * M_PI / (double)len;
		for (size_t i = 0; i < n; i += len) {
			for (size_t k = 0; k < len / 2; k++) {
				double wr = cos(ang * (double)k);
				double wi = sin(ang * (double)k);
				size_t a = i + k, b = i + k + len / 2;
				double xr = re[b] * wr - im[b] * wi;
				double xi = re[b] * wi + im[b] * wr;
				re[b] = re[a] - xr;
				im[b] = im[a] - xi;
				re[a] += xr;
				im[a] += xi;
			}
		}
	}
}

/* Off-partial / on-partial energy (dB) of the left channel, averaged over
 * FFT_N windows (Blackman-Harris, +-6 bins around each partial count as
 * on) between from and to. */
static double off_partial_db(const float *x, size_t from, size_t to,
			     const double *freqs, size_t nf)
{
	static double re[FFT_N], im[FFT_N];
	static char on[FFT_N / 2];
	memset(on, 0, sizeof(on));
	for (size_t f = 0; f < nf; f++) {
		long c = lround(freqs[f] * FFT_N / RATE);
		for (long b = c - 6; b <= c + 6; b++)
			if (b > 0 && b < FFT_N / 2)
				on[b] = 1;
	}
	double e_on = 0, e_off = 0;
	for (size_t s = from; s + FFT_N <= to; s += FFT_N / 2) {
		for (size_t i = 0; i < FFT_N; i++) {
			double t = 2 * M_PI * (double)i / (FFT_N - 1);
			double w = 0.35875 - 0.48829 * cos(t) +
				   0.14128 * cos(2 * t) - 0.01168 * cos(3 * t);
			re[i] = x[2 * (s + i)] * w;
			im[i] = 0;
		}
		fft(re, im, FFT_N);
		for (size_t b = 1; b < FFT_N / 2; b++) {
			double e = re[b] * re[b] + im[b] * im[b];
			if (on[b])
				e_on += e;
			else
				e_off += e;
		}
	}
	return 10 * log10(e_off / e_on);
}

static void chord_freqs(double *freqs, size_t *nf)
{
	/* synth_chord(root 9 = A, minor): notes 57 60 64 and 33. */
	static const int notes[] = { 57, 60, 64, 33 };
	*nf = 0;
	for (size_t n = 0; n < 4; n++) {
		double f0 = 440.0 * pow(2.0, (notes[n] - 69) / 12.0);
		for (int h = 1; h <= 8 && f0 * h < 10000; h++)
			freqs[(*nf)++] = f0 * h;
	}
}

static double bench_tonal(int engine_or_minus1)
{
	struct synth p = synth_new(12);
	synth_chord(&p, 0, 12, 9, true, 0.1, 0.5);
	double freqs[64];
	size_t nf;
	chord_freqs(freqs, &nf);
	double db;
	if (engine_or_minus1 < 0) {
		db = off_partial_db(p.s, 2 * RATE, 10 * RATE, freqs, nf);
	} else {
		struct stretch *st = stretch_create(
			(enum stretch_engine)engine_or_minus1);
		struct synth_ramp r = { 126, 120, 120, 0, 1 };
		size_t ny;
		float *y = run(st, &r, p.s, p.frames, &ny);
		db = off_partial_db(y, 2 * RATE, (size_t)(9 * RATE), freqs, nf);
		free(y);
		stretch_destroy(st);
	}
	synth_free(&p);
	return db;
}

/* ---- transients ---- */

static void bench_transients(enum stretch_engine e, double *pre_db,
			     double *peak_rel)
{
	struct synth p = clicks(120, 30);
	struct stretch *st = stretch_create(e);
	struct synth_ramp r = { 126, 120, 120, 0, 1 };
	size_t ny;
	float *y = run(st, &r, p.s, p.frames, &ny);
	static double at[256];
	size_t n = synth_find_clicks(y, ny > 4096 ? ny - 4096 : 0, at, 256);
	double pre = 0, post = 0, peak = 0;
	size_t win = (size_t)(0.02 * RATE);
	size_t used = 0;
	for (size_t k = 1; k < n; k++) {
		size_t o = (size_t)at[k];
		/* Back to where the burst starts (the 50% point is after it). */
		size_t start = o > 60 ? o - 60 : 0;
		double a = 0, b = 0, pk = 0;
		for (size_t i = start - win; i < start - 44; i++)
			a += (double)y[2 * i] * y[2 * i];
		for (size_t i = start; i < start + win; i++) {
			b += (double)y[2 * i] * y[2 * i];
			if (fabsf(y[2 * i]) > pk)
				pk = fabsf(y[2 * i]);
		}
		pre += a;
		post += b;
		peak += pk;
		used++;
	}
	*pre_db = 10 * log10(pre / post);
	/* The original clicks peak at 0.5 * sin(first peak) ~ 0.486. */
	*peak_rel = used ? peak / (double)used / 0.486 : 0;
	free(y);
	stretch_destroy(st);
	synth_free(&p);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 60;
	if (!(seconds >= 5))
		seconds = 60;
	printf("tonal floor of the unstretched chord: %.1f dB\n",
	       bench_tonal(-1));
	printf("%-7s %10s %12s %12s %9s %11s %6s\n", "engine", "x_realtime",
	       "timing_worst", "timing_mean", "tonal_dB", "pre-echo_dB",
	       "peak");
	for (int e = 0; e < 2; e++) {
		double speed = bench_speed((enum stretch_engine)e, seconds);
		double worst, mean, pre, peak;
		bench_timing((enum stretch_engine)e, &worst, &mean);
		double tonal = bench_tonal(e);
		bench_transients((enum stretch_engine)e, &pre, &peak);
		printf("%-7s %10.0f %9.2f ms %9.2f ms %9.1f %11.1f %6.2f\n",
		       e == 0 ? "R2" : "R3", speed, worst, mean, tonal, pre,
		       peak);
	}
	return 0;
}
