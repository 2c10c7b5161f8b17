/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_limiter — the look-ahead true-peak limiter: nothing it outputs
 * exceeds the ceiling in dBTP as measured by libebur128 (an independent
 * BS.1770 meter), including inter-sample peaks that a sample-peak limiter
 * misses; below the ceiling it is bit-transparent (only delayed by its
 * reported latency); its gain changes are smooth (no step at a peak) and
 * it recovers after a peak; buffers in place and odd block sizes work.
 */
#include "autoconfig.h"

#include "limiter.h"
#include "testutil.h"
#include "synth.h"

#include <ebur128.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RATE 44100

static double true_peak_db(const float *x, size_t n)
{
	ebur128_state *st = ebur128_init(2, RATE, EBUR128_MODE_TRUE_PEAK);
	CHECK(st);
	CHECK(ebur128_add_frames_float(st, x, n) == EBUR128_SUCCESS);
	double p0, p1;
	CHECK(ebur128_true_peak(st, 0, &p0) == EBUR128_SUCCESS);
	CHECK(ebur128_true_peak(st, 1, &p1) == EBUR128_SUCCESS);
	ebur128_destroy(&st);
	double p = p0 > p1 ? p0 : p1;
	return p > 0 ? 20 * log10(p) : -200;
}

static double sample_peak_db(const float *x, size_t n)
{
	double p = 0;
	for (size_t i = 0; i < 2 * n; i++)
		if (fabs(x[i]) > p)
			p = fabs(x[i]);
	return 20 * log10(p);
}

/* Runs x (n frames) through a fresh limiter with default parameters in
 * odd block sizes, flushing its latency: returns the n output frames that
 * line up with the input. */
static float *limit(const float *x, size_t n, size_t *latency_out)
{
	struct limiter_params p;
	limiter_params_default(&p);
	struct limiter *lim = limiter_create(&p);
	CHECK(lim);
	size_t lat = limiter_latency(lim);
	/* 5 ms look-ahead: 220 frames plus the interpolator's 6. */
	CHECK_INT(lat, >=, 200);
	CHECK_INT(lat, <=, 240);
	float *buf = calloc(2 * (n + lat), sizeof(float));
	CHECK(buf);
	memcpy(buf, x, 2 * n * sizeof(float));
	size_t done = 0, b = 0;
	static const size_t blocks[] = { 4096, 1, 333, 2048, 17 };
	while (done < n + lat) {
		size_t m = blocks[b++ % 5];
		if (m > n + lat - done)
			m = n + lat - done;
		/* In place. */
		limiter_process(lim, buf + 2 * done, buf + 2 * done, m);
		done += m;
	}
	limiter_destroy(lim);
	float *y = calloc(2 * n + 2, sizeof(float));
	CHECK(y);
	memcpy(y, buf + 2 * lat, 2 * n * sizeof(float));
	free(buf);
	if (latency_out)
		*latency_out = lat;
	return y;
}

/* Below the ceiling: the output is the input, bit for bit. */
static void test_transparent(void)
{
	struct synth p = synth_new(10);
	for (int k = 0; k < 20; k++) {
		synth_kick(&p, 0.5 * k, 0.35);
		synth_chord(&p, 0.5 * k, 0.5, k % 12, k % 2, 0.03, 0.6);
	}
	double tp = true_peak_db(p.s, p.frames);
	CHECK(tp < -1.5);
	size_t lat;
	float *y = limit(p.s, p.frames, &lat);
	for (size_t i = 0; i < 2 * p.frames; i++)
		CHECK(y[i] == p.s[i]);
	free(y);
	synth_free(&p);

	/* An impulse comes out exactly latency frames later. */
	struct limiter_params prm;
	limiter_params_default(&prm);
	struct limiter *lim = limiter_create(&prm);
	CHECK(lim);
	float imp[2 * 512] = { 0 };
	imp[0] = 0.5f;
	imp[1] = -0.25f;
	limiter_process(lim, imp, imp, 512);
	for (size_t i = 0; i < 512; i++) {
		float want_l = i == lat ? 0.5f : 0.0f;
		float want_r = i == lat ? -0.25f : 0.0f;
		CHECK(imp[2 * i] == want_l && imp[2 * i + 1] == want_r);
	}
	CHECK_NEAR(limiter_take_max_reduction_db(lim), 0, 0);
	limiter_destroy(lim);
}

/* Loud material, with inter-sample peaks: at most -1 dBTP. */
static void test_ceiling(void)
{
	/* Drums and chords 14 dB too hot. */
	struct synth p = synth_new(20);
	for (int k = 0; k < 40; k++) {
		double t = 0.5 * k;
		synth_kick(&p, t, 0.5);
		synth_snare(&p, t + 0.25, 0.4);
		synth_hat(&p, t + 0.125, 0.2);
		synth_chord(&p, t, 0.5, (k * 5) % 12, k % 3 == 0, 0.08, 0.9);
	}
	synth_gain(&p, pow(10, 14 / 20.0));
	double tp_in = true_peak_db(p.s, p.frames);
	CHECK(tp_in > 8);
	float *y = limit(p.s, p.frames, NULL);
	double tp_out = true_peak_db(y, p.frames);
	fprintf(stderr, "drums: in %.2f dBTP, out %.2f dBTP (sample peak "
		"%.2f dBFS)\n", tp_in, tp_out, sample_peak_db(y, p.frames));
	CHECK(tp_out <= -1.0);
	/* It limits, it does not crush: the peaks sit near the ceiling. */
	CHECK(tp_out > -2.0);
	free(y);
	synth_free(&p);

	/* A full-scale sine at a quarter of the sample rate, 45 degrees off:
	 * every sample is at 0.707 (-3 dBFS) but the waveform peaks at
	 * 0 dBTP. A sample-peak limiter would let it through. */
	size_t n = 2 * RATE;
	float *s = calloc(2 * n, sizeof(float));
	CHECK(s);
	for (size_t i = 0; i < n; i++) {
		float v = (float)sin(M_PI / 2 * (double)i + M_PI / 4);
		s[2 * i] = v;
		s[2 * i + 1] = -v;
	}
	CHECK(sample_peak_db(s, n) < -2.9);
	CHECK(true_peak_db(s, n) > -0.1);
	y = limit(s, n, NULL);
	double tp = true_peak_db(y, n);
	fprintf(stderr, "fs/4 sine: out %.2f dBTP\n", tp);
	CHECK(tp <= -1.0);
	free(y);

	/* Hard-clipped square-ish wave at +6 dB: overshoot everywhere. */
	for (size_t i = 0; i < n; i++) {
		double v = 2.0 * sin(2 * M_PI * 997 * (double)i / RATE);
		v = v > 1.9 ? 1.9 : v < -1.9 ? -1.9 : v;
		s[2 * i] = (float)v;
		s[2 * i + 1] = (float)(0.5 * v);
	}
	y = limit(s, n, NULL);
	tp = true_peak_db(y, n);
	fprintf(stderr, "clipped 997 Hz at +5.6 dBFS: out %.2f dBTP\n", tp);
	CHECK(tp <= -1.0);
	free(y);
	free(s);
}

/* A single loud burst in a quiet tone: the gain goes down smoothly before
 * it (look-ahead), never steps, and is back to unity a second later. */
static void test_smooth(void)
{
	size_t n = 3 * RATE;
	float *x = calloc(2 * n, sizeof(float));
	CHECK(x);
	for (size_t i = 0; i < n; i++) {
		double v = 0.1 * sin(2 * M_PI * 440 * (double)i / RATE);
		x[2 * i] = x[2 * i + 1] = (float)v;
	}
	/* 2 ms at 0 dBFS at 1 s. */
	for (size_t i = RATE; i < RATE + 88; i++) {
		x[2 * i] = (i % 2) ? 1.0f : -1.0f;
		x[2 * i + 1] = x[2 * i];
	}
	float *y = limit(x, n, NULL);
	/* Gain as output / input on the tone (skipping near-zero samples). */
	double prev_g = 1, max_step = 0, min_g = 1;
	for (size_t i = RATE - 2000; i < RATE + 2000; i++) {
		if (fabsf(x[2 * i]) < 0.02f)
			continue;
		double g = y[2 * i] / x[2 * i];
		if (fabs(g - prev_g) > max_step)
			max_step = fabs(g - prev_g);
		prev_g = g;
		if (g < min_g)
			min_g = g;
	}
	fprintf(stderr, "burst: min gain %.3f, largest step %.4f\n", min_g,
		max_step);
	CHECK(min_g < 0.95);
	/* The L-frame ramp: no sample-to-sample jump over a few percent. */
	CHECK(max_step < 0.05);
	/* Back to unity within a second. */
	for (size_t i = 2 * RATE + RATE / 2; i < n; i++)
		CHECK_NEAR(y[2 * i], x[2 * i], 1e-3);
	free(y);
	free(x);
}

static void test_invalid(void)
{
	struct limiter_params p;
	limiter_params_default(&p);
	CHECK_NEAR(p.ceiling_dbtp, -1, 0);
	p.ceiling_dbtp = 1;
	errno = 0;
	CHECK(limiter_create(&p) == NULL && errno == EINVAL);
	p.ceiling_dbtp = NAN;
	CHECK(limiter_create(&p) == NULL && errno == EINVAL);
	limiter_params_default(&p);
	p.lookahead_ms = 0;
	CHECK(limiter_create(&p) == NULL && errno == EINVAL);
	limiter_params_default(&p);
	p.release_ms = 1e9;
	CHECK(limiter_create(&p) == NULL && errno == EINVAL);
	CHECK(limiter_create(NULL) == NULL && errno == EINVAL);
	limiter_destroy(NULL);
}

int main(void)
{
	test_invalid();
	test_transparent();
	test_ceiling();
	test_smooth();
	return 0;
}
