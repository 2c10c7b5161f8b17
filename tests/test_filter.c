/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_filter — the bass-swap crossover: lows + highs is flat (an
 * allpass: a deck that always runs through it is not coloured), each band
 * is -6 dB at the crossover frequency, and the bands separate a kick's
 * fundamental from a hi-hat's range by 40 dB and more; measured with
 * steady sines.
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

int main(void)
{
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
