/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * filter — Linkwitz-Riley crossover and the filter-out's high-pass sweep.
 * See filter.h.
 *
 * Biquads from the RBJ audio EQ cookbook (Q = 1/sqrt(2), Butterworth), in
 * transposed direct form II with double state.
 */
#include "autoconfig.h"

#include "filter.h"

#include "decode.h"

#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct biquad_coef {
	double b0, b1, b2, a1, a2;
};

struct biquad_state {
	double z1, z2;
};

struct crossover {
	struct biquad_coef lp, hp;
	/* [channel][section]: two sections per band. */
	struct biquad_state lows[DECODE_CHANNELS][2];
	struct biquad_state highs[DECODE_CHANNELS][2];
};

static void biquad_design(struct biquad_coef *c, double freq_hz, bool high)
{
	double w0 = 2 * M_PI * freq_hz / DECODE_RATE;
	double cw = cos(w0), alpha = sin(w0) / (2 * M_SQRT1_2);
	double a0 = 1 + alpha;
	if (high) {
		c->b0 = (1 + cw) / 2 / a0;
		c->b1 = -(1 + cw) / a0;
	} else {
		c->b0 = (1 - cw) / 2 / a0;
		c->b1 = (1 - cw) / a0;
	}
	c->b2 = c->b0;
	c->a1 = -2 * cw / a0;
	c->a2 = (1 - alpha) / a0;
}

static inline double biquad_run(const struct biquad_coef *c,
				struct biquad_state *s, double x)
{
	double y = c->b0 * x + s->z1;
	s->z1 = c->b1 * x - c->a1 * y + s->z2;
	s->z2 = c->b2 * x - c->a2 * y;
	return y;
}

struct crossover *crossover_create(double freq_hz)
{
	if (!(freq_hz >= 20) || freq_hz > 2000) {
		errno = EINVAL;
		return NULL;
	}
	struct crossover *x = calloc(1, sizeof(*x));
	if (!x) {
		errno = ENOMEM;
		return NULL;
	}
	biquad_design(&x->lp, freq_hz, false);
	biquad_design(&x->hp, freq_hz, true);
	return x;
}

void crossover_destroy(struct crossover *x)
{
	free(x);
}

void crossover_reset(struct crossover *x)
{
	memset(x->lows, 0, sizeof(x->lows));
	memset(x->highs, 0, sizeof(x->highs));
}

void crossover_process(struct crossover *x, const float *in, float *low,
		       float *high, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < DECODE_CHANNELS; c++) {
			double v = in[DECODE_CHANNELS * i + c];
			double l = biquad_run(&x->lp, &x->lows[c][0], v);
			l = biquad_run(&x->lp, &x->lows[c][1], l);
			double h = biquad_run(&x->hp, &x->highs[c][0], v);
			h = biquad_run(&x->hp, &x->highs[c][1], h);
			low[DECODE_CHANNELS * i + c] = (float)l;
			high[DECODE_CHANNELS * i + c] = (float)h;
		}
	}
}

struct highpass {
	struct biquad_coef c;
	double freq_hz; /* what c was designed for */
	struct biquad_state s[DECODE_CHANNELS][2];
};

struct highpass *highpass_create(void)
{
	struct highpass *h = calloc(1, sizeof(*h));
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->freq_hz = 20.0;
	biquad_design(&h->c, h->freq_hz, true);
	return h;
}

void highpass_destroy(struct highpass *h)
{
	free(h);
}

void highpass_reset(struct highpass *h)
{
	memset(h->s, 0, sizeof(h->s));
}

void highpass_process(struct highpass *h, double freq_hz, float *buf,
		      size_t n)
{
	if (!(freq_hz >= 20.0))
		freq_hz = 20.0; /* also NaN */
	if (freq_hz > 16000.0)
		freq_hz = 16000.0;
	if (freq_hz != h->freq_hz) {
		h->freq_hz = freq_hz;
		biquad_design(&h->c, freq_hz, true);
	}
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < DECODE_CHANNELS; c++) {
			double v = buf[DECODE_CHANNELS * i + c];
			v = biquad_run(&h->c, &h->s[c][0], v);
			v = biquad_run(&h->c, &h->s[c][1], v);
			buf[DECODE_CHANNELS * i + c] = (float)v;
		}
}

double filter_sweep_hz(double x)
{
	if (!(x > 0.0))
		x = 0.0; /* also NaN */
	if (x > 1.0)
		x = 1.0;
	return FILTER_SWEEP_FROM_HZ *
	       pow(FILTER_SWEEP_TO_HZ / FILTER_SWEEP_FROM_HZ, x);
}
