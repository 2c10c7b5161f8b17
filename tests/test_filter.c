/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_filter — the bass-swap crossover: lows + highs is flat (an
 * allpass: a deck that always runs through it is not coloured), each band
 * is -6 dB at the crossover frequency, and the bands separate a kick's
 * fundamental from a hi-hat's range by 40 dB and more; measured with
 * steady sines. The filter-out's high-pass: -6 dB at its cutoff, a kick's
 * fundamental gone at the sweep's end and untouched at its start, and a
 * full sweep under a hat-range sine moves smoothly (no click, no blow-up).
 */
#include "autoconfig.h"

#include "filter.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define RATE 44100

struct response {
	double low_db, high_db, sum_db;
};

/* Steady-state RMS gains of the two bands and their sum for a sine. */
static struct response measure(struct crossover *x, double freq)
{
	size_t n = 2 * RATE;
	float *in = malloc(2 * n * sizeof(float));
	float *lo = malloc(2 * n * sizeof(float));
	float *hi = malloc(2 * n * sizeof(float));
	CHECK(in && lo && hi);
	for (size_t i = 0; i < n; i++) {
		in[2 * i] = (float)(0.5 * sin(2 * M_PI * freq * i / RATE));
		in[2 * i + 1] = -in[2 * i];
	}
	crossover_reset(x);
	crossover_process(x, in, lo, hi, n);
	double e_in = 0, e_lo = 0, e_hi = 0, e_sum = 0;
	/* The second second: past the transients. */
	for (size_t i = RATE; i < n; i++) {
		for (int c = 0; c < 2; c++) {
			double a = in[2 * i + c], l = lo[2 * i + c];
			double h = hi[2 * i + c];
			e_in += a * a;
			e_lo += l * l;
			e_hi += h * h;
			e_sum += (l + h) * (l + h);
		}
	}
	free(in);
	free(lo);
	free(hi);
	struct response r = {
		10 * log10(e_lo / e_in), 10 * log10(e_hi / e_in),
		10 * log10(e_sum / e_in)
	};
	return r;
}

/* Steady-state gain in dB of the high-pass at CUTOFF for a sine. */
static double highpass_gain_db(struct highpass *h, double cutoff, double freq)
{
	size_t n = 2 * RATE;
	float *buf = malloc(2 * n * sizeof(float));
	CHECK(buf);
	double e_in = 0, e_out = 0;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = (float)(0.5 * sin(2 * M_PI * freq * i / RATE));
		buf[2 * i + 1] = buf[2 * i];
		if (i >= RATE)
			e_in += 2.0 * buf[2 * i] * buf[2 * i];
	}
	highpass_reset(h);
	highpass_process(h, cutoff, buf, n);
	for (size_t i = RATE; i < n; i++)
		e_out += (double)buf[2 * i] * buf[2 * i] +
			 (double)buf[2 * i + 1] * buf[2 * i + 1];
	free(buf);
	return 10 * log10(e_out / e_in);
}

static void test_highpass(void)
{
	struct highpass *h = highpass_create();
	CHECK(h);
	CHECK_NEAR(highpass_gain_db(h, 400, 400), -6.02, 0.1);
	/* The sweep's start leaves a track as it is; its end takes the
	 * kick (55 Hz) and the bass (110 Hz) out and keeps the hats. */
	CHECK(highpass_gain_db(h, filter_sweep_hz(0), 55) > -0.5);
	CHECK(highpass_gain_db(h, filter_sweep_hz(0), 1000) > -0.01);
	CHECK(highpass_gain_db(h, filter_sweep_hz(1), 55) < -80);
	CHECK(highpass_gain_db(h, filter_sweep_hz(1), 110) < -55);
	CHECK(highpass_gain_db(h, filter_sweep_hz(1), 8000) > -0.1);
	/* At the start of the sweep's last quarter (a cut's last beat,
	 * when B's first kick sounds) A's kick is 40 dB down already. */
	CHECK(highpass_gain_db(h, filter_sweep_hz(0.75), 55) < -40);
	CHECK_NEAR(filter_sweep_hz(0), FILTER_SWEEP_FROM_HZ, 1e-9);
	CHECK_NEAR(filter_sweep_hz(1), FILTER_SWEEP_TO_HZ, 1e-9);
	CHECK_NEAR(filter_sweep_hz(-1), FILTER_SWEEP_FROM_HZ, 1e-9);
	CHECK_NEAR(filter_sweep_hz(NAN), FILTER_SWEEP_FROM_HZ, 1e-9);
	CHECK_NEAR(filter_sweep_hz(2), FILTER_SWEEP_TO_HZ, 1e-9);

	/* A two-second sweep over an 8 kHz sine, the cutoff moved every
	 * 32 frames as the mixer does: the output stays within the input's
	 * level (+-2 %) from the first millisecond on. */
	size_t n = 2 * RATE, step = 32;
	float *buf = malloc(2 * n * sizeof(float));
	CHECK(buf);
	for (size_t i = 0; i < n; i++)
		buf[2 * i] = buf[2 * i + 1] =
			(float)(0.5 * sin(2 * M_PI * 8000.0 * i / RATE));
	highpass_reset(h);
	for (size_t i = 0; i < n; i += step)
		highpass_process(h, filter_sweep_hz((double)i / (double)n),
				 buf + 2 * i, n - i < step ? n - i : step);
	float peak = 0;
	for (size_t i = RATE / 1000; i < n; i++)
		if (fabsf(buf[2 * i]) > peak)
			peak = fabsf(buf[2 * i]);
	fprintf(stderr, "sweep over 8 kHz: peak %.4f (input 0.5)\n", peak);
	CHECK(peak < 0.51f && peak > 0.49f);
	free(buf);
	highpass_destroy(h);
	highpass_destroy(NULL);
}

int main(void)
{
	test_highpass();
	struct crossover *x = crossover_create(FILTER_CROSSOVER_HZ);
	CHECK(x);
	static const double freqs[] = { 30, 55, 100, 160, 250, 440, 1000, 5000,
					15000 };
	for (size_t i = 0; i < sizeof(freqs) / sizeof(freqs[0]); i++) {
		struct response r = measure(x, freqs[i]);
		fprintf(stderr, "%6.0f Hz: low %7.2f dB high %7.2f dB sum "
			"%+.3f dB\n", freqs[i], r.low_db, r.high_db, r.sum_db);
		CHECK_NEAR(r.sum_db, 0, 0.01);
	}
	struct response r = measure(x, FILTER_CROSSOVER_HZ);
	CHECK_NEAR(r.low_db, -6.02, 0.1);
	CHECK_NEAR(r.high_db, -6.02, 0.1);
	/* A kick's fundamental stays in the lows, a hat's range in the
	 * highs. */
	r = measure(x, 55);
	CHECK(r.low_db > -0.2);
	CHECK(r.high_db < -35);
	r = measure(x, 1000);
	CHECK(r.low_db < -60);
	CHECK(r.high_db > -0.01);
	crossover_destroy(x);

	errno = 0;
	CHECK(crossover_create(5) == NULL && errno == EINVAL);
	CHECK(crossover_create(NAN) == NULL && errno == EINVAL);
	crossover_destroy(NULL);
	return 0;
}
