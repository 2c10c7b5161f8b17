/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_stretch — Rubber Band through stretch.c lands every input frame
 * where the tempo map says, to the millisecond, for both engines.
 *
 * A click track (1 kHz bursts on every beat, tests/synth.h) is stretched by the maps the
 * mixer uses: A's ramp (its own tempo, then ramping to the next track's),
 * B's ramp (starting at the previous track's tempo, ending at its own), a
 * ramp down, and constant ratios at the max_stretch limits. Each click's
 * position in the output is compared with the integral of the map's ratio
 * over the input up to the click (detected the same way in input and
 * output, so the detector's own bias cancels): every click within 1 ms for
 * R2 (the mixer's engine); R3 tracks ramps with about +-1.2 ms of jitter
 * (its hops vary), so it gets 1.5 ms.
 * At ratio 1 the output is the input, aligned to the sample. The caller's
 * block sizes do not matter (fed in odd sizes), and one stretcher is reused
 * for every case (stretch_begin resets it). A stretcher sized and warmed
 * up front (stretch_reserve, stretch_warm) plays exactly as a fresh one.
 */
#include "autoconfig.h"

#include "stretch.h"
#include "synth.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RATE 44100
#define MAX_CLICKS 256

/* Output frame of input frame x: the integral of the ratio (midpoint
 * rule in 16-frame steps, far finer than the ramp changes). */
static double expected_out(struct synth_ramp *r, double x)
{
	double sum = 0, h = 16;
	double u = 0;
	for (; u + h <= x; u += h)
		sum += synth_ramp_ratio(r, u + h / 2) * h;
	sum += synth_ramp_ratio(r, (u + x) / 2) * (x - u);
	return sum;
}

/* Stretches x (n frames) through st with map r, feeding odd block sizes
 * and taking what is ready after each. Returns the output (caller frees)
 * and its length. */
static float *run(struct stretch *st, struct synth_ramp *r, const float *x,
		  size_t n, size_t *out_n)
{
	struct stretch_map map = { synth_ramp_ratio, r };
	size_t cap = 3 * n;
	float *y = calloc(2 * cap, sizeof(float));
	CHECK(y);
	stretch_begin(st, &map);
	size_t fed = 0, got = 0;
	static const size_t blocks[] = { 1000, 37, 2048, 511, 4096, 1 };
	size_t b = 0;
	while (fed < n) {
		size_t m = blocks[b++ % 6];
		if (m > n - fed)
			m = n - fed;
		stretch_feed(st, x + 2 * fed, m);
		fed += m;
		got += stretch_retrieve(st, y + 2 * got, cap - got);
	}
	CHECK_INT(stretch_fed(st), ==, n);
	*out_n = got;
	return y;
}

static void check_ramp(struct stretch *st, const char *what, double own_bpm,
		       double t0, double t1, double tol_ms)
{
	struct synth_ramp r = { own_bpm, t0, t1, 1.0, 64 };
	double seconds = 1.0 + 64 * 60.0 / own_bpm * 1.12 + 6;
	size_t ny;
	struct synth p = synth_new(seconds);
	synth_click_track(&p, 0.25, own_bpm, 1000, 0.5);
	const float *x = p.s;
	size_t n = p.frames;
	float *y = run(st, &r, x, n, &ny);

	static double in_at[MAX_CLICKS], out_at[MAX_CLICKS];
	size_t nin = synth_find_clicks(x, n, in_at, MAX_CLICKS);
	/* The last clicks may still be inside Rubber Band, or cut. */
	CHECK_INT(ny, >, 4096);
	size_t nout = synth_find_clicks(y, ny - 4096, out_at, MAX_CLICKS);
	CHECK_INT(nin, >=, 70);
	CHECK_INT(nout, >=, nin - 3);
	CHECK_INT(nout, <=, nin);
	double worst = 0, sum = 0;
	for (size_t k = 0; k < nout; k++) {
		double err_ms = (out_at[k] - expected_out(&r, in_at[k])) *
				1000.0 / RATE;
		sum += err_ms;
		if (fabs(err_ms) > fabs(worst))
			worst = err_ms;
		if (fabs(err_ms) > tol_ms) {
			fprintf(stderr, "%s %s: click %zu at input %.4f s is "
				"%.3f ms off\n", stretch_engine_name(
				stretch_engine_version(st) == 3 ?
				STRETCH_ENGINE_FINER : STRETCH_ENGINE_FASTER),
				what, k, in_at[k] / RATE, err_ms);
			exit(1);
		}
	}
	fprintf(stderr, "engine R%d %-30s clicks %3zu mean %+.3f ms worst "
		"%+.3f ms\n", stretch_engine_version(st), what, nout,
		sum / (double)nout, worst);
	synth_free(&p);
	free(y);
}

/* Ratio 1: the output is the input, to the sample. */
static void check_identity(struct stretch *st, double min_snr_db)
{
	struct synth_ramp r = { 120, 120, 120, 0, 64 };
	size_t n = 4 * RATE, ny;
	float *x = calloc(2 * n, sizeof(float));
	CHECK(x);
	uint32_t seed = 1;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		double noise = ((seed >> 8) / 8388608.0 - 1.0);
		x[2 * i] = (float)(0.3 * sin(2 * M_PI * 220 * i / RATE) +
				   0.05 * noise);
		x[2 * i + 1] = (float)(0.3 * sin(2 * M_PI * 331 * i / RATE) +
				       0.05 * noise);
	}
	float *y = run(st, &r, x, n, &ny);
	CHECK_INT(ny, >=, n - 8192);
	/* Best alignment by cross-correlation over +-64 frames: 0. */
	int best_lag = 0;
	double best = -1;
	for (int lag = -64; lag <= 64; lag++) {
		double c = 0;
		for (size_t i = RATE; i < 3 * RATE; i++)
			c += x[2 * i] * y[2 * (size_t)((long)i + lag)];
		if (c > best) {
			best = c;
			best_lag = lag;
		}
	}
	CHECK_INT(best_lag, ==, 0);
	double e = 0, d = 0;
	for (size_t i = RATE; i < 3 * RATE; i++)
		for (int c = 0; c < 2; c++) {
			double u = x[2 * i + c], v = y[2 * i + c];
			e += u * u;
			d += (u - v) * (u - v);
		}
	double snr = 10 * log10(e / d);
	fprintf(stderr, "engine R%d at ratio 1: aligned, SNR %.1f dB\n",
		stretch_engine_version(st), snr);
	CHECK(snr >= min_snr_db);
	free(x);
	free(y);
}

/* stretch_reserve() and stretch_warm() change what the stretcher holds,
 * not what it plays: a ramp through a reserved and warmed stretcher is,
 * to the sample, what a fresh one makes of it. */
static void check_warm_same(enum stretch_engine engine)
{
	struct stretch *fresh = stretch_create(engine);
	struct stretch *warm = stretch_create(engine);
	CHECK(fresh && warm);
	stretch_reserve(warm, 1.1);
	stretch_warm(warm, 1.1);
	struct synth_ramp r = { 120, 120, 126, 1.0, 16 };
	struct synth p = synth_new(12.0);
	synth_click_track(&p, 0.25, 120, 1000, 0.5);
	size_t n_fresh, n_warm;
	float *y_fresh = run(fresh, &r, p.s, p.frames, &n_fresh);
	float *y_warm = run(warm, &r, p.s, p.frames, &n_warm);
	CHECK_INT(n_warm, ==, n_fresh);
	CHECK_INT(n_fresh, >, (size_t)RATE * 10);
	double worst = 0;
	for (size_t i = 0; i < 2 * n_fresh; i++)
		if (fabs(y_warm[i] - y_fresh[i]) > worst)
			worst = fabs(y_warm[i] - y_fresh[i]);
	fprintf(stderr, "engine R%d warmed against fresh: largest difference "
		"%g\n", stretch_engine_version(warm), worst);
	CHECK(worst < 1e-6);
	free(y_fresh);
	free(y_warm);
	synth_free(&p);
	stretch_destroy(fresh);
	stretch_destroy(warm);
}

static void test_engine(enum stretch_engine engine, double min_snr_db,
			double tol_ms)
{
	struct stretch *st = stretch_create(engine);
	CHECK(st);
	CHECK_INT(stretch_engine_version(st), ==,
		  engine == STRETCH_ENGINE_FINER ? 3 : 2);
	check_identity(st, min_snr_db);
	/* Track A: own 120, playhead 120 -> 126. Track B: own 126. */
	check_ramp(st, "A ramp 120 -> 126", 120, 120, 126, tol_ms);
	check_ramp(st, "B ramp 120 -> 126", 126, 120, 126, tol_ms);
	/* Down: 128 -> 120. */
	check_ramp(st, "A ramp 128 -> 120", 128, 128, 120, tol_ms);
	check_ramp(st, "B ramp 128 -> 120", 120, 128, 120, tol_ms);
	/* The max_stretch limits, constant. */
	check_ramp(st, "constant 8% faster", 120, 129.6, 129.6, tol_ms);
	check_ramp(st, "constant 8% slower", 120, 111.1, 111.1, tol_ms);
	stretch_destroy(st);
	check_warm_same(engine);
}

int main(void)
{
	/* R2 at ratio 1 is transparent; R3 close to it (44 dB). */
	test_engine(STRETCH_ENGINE_FASTER, 90, 1.0);
	test_engine(STRETCH_ENGINE_FINER, 30, 1.5);

	errno = 0;
	CHECK(stretch_create((enum stretch_engine)7) == NULL && errno == EINVAL);
	stretch_destroy(NULL);
	enum stretch_engine e;
	CHECK_INT(stretch_engine_parse("finer", &e), ==, 0);
	CHECK_INT(e, ==, STRETCH_ENGINE_FINER);
	CHECK_INT(stretch_engine_parse("faster", &e), ==, 0);
	CHECK_INT(e, ==, STRETCH_ENGINE_FASTER);
	CHECK_INT(stretch_engine_parse("best", &e), ==, -EINVAL);
	CHECK_STR(stretch_engine_name(STRETCH_ENGINE_FINER), "finer");
	return 0;
}
