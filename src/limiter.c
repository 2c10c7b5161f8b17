/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * limiter — look-ahead true-peak limiter. See limiter.h for the DESIGN.
 */
#include "autoconfig.h"

#include "limiter.h"

#include "decode.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIMITER_TAPS 12         /* per phase */
#define LIMITER_PHASES 4
#define LIMITER_HALF (LIMITER_TAPS / 2)
/* The running sum is recomputed this often, so rounding never builds up
 * over days of streaming. */
#define LIMITER_RESUM_FRAMES 65536
/* A released gain this close to 1 is 1 (see limiter_gain). */
#define LIMITER_UNITY_EPS 1e-6

struct limiter {
	double ceiling;          /* linear, margin included */
	double release_coeff;    /* per frame: g += (1 - g) * coeff */
	size_t look;             /* L */

	/* Interpolator: the last LIMITER_TAPS frames per channel.
	 * coef[t][ph - 1] is phase ph's tap t (phase 0 is the centre sample
	 * itself); the fourth column is 0, so the phases of one tap form one
	 * 4-wide vector. */
	float coef[LIMITER_TAPS][LIMITER_PHASES];
	/* Written twice (at i and i + LIMITER_TAPS), so the last
	 * LIMITER_TAPS frames are always contiguous from hist_pos. */
	float hist[DECODE_CHANNELS][2 * LIMITER_TAPS];
	size_t hist_pos;
	/* A sample at most `quiet` in size can take no interpolated value
	 * above the ceiling; `hot` counts the frames for which a louder one
	 * is still inside the interpolator's window. */
	float quiet;
	int hot;

	/* Sliding minimum over the last L needed gains: a monotonic queue of
	 * (position, gain), capacity L. */
	uint64_t *q_pos;
	double *q_gain;
	size_t q_head, q_len;

	double released;         /* the released minimum, last frame */

	/* Moving average of L released gains. */
	double *box;
	size_t box_pos;
	double box_sum;
	size_t since_resum;
	/* Consecutive released values of exactly 1 pushed last (capped at
	 * look): at look the limiter is idle, every gain in it is 1. */
	size_t box_ones;

	/* Audio delay line: latency frames, circular. */
	float *delay;
	size_t delay_len;
	size_t delay_pos;

	uint64_t n_in;           /* frames seen */
	double min_gain;         /* since the last take */
};

void limiter_params_default(struct limiter_params *p)
{
	p->ceiling_dbtp = -1.0;
	p->lookahead_ms = 5.0;
	p->release_ms = 100.0;
}

static void limiter_design(struct limiter *lim)
{
	/* Value at fractional position phase / 4 after the centre sample:
	 * windowed sinc over LIMITER_TAPS neighbours. hist index t holds the
	 * sample t frames back from the newest; the centre is LIMITER_HALF
	 * back. */
	double gain_bound = 1.0;
	memset(lim->coef, 0, sizeof(lim->coef));
	for (int ph = 1; ph < LIMITER_PHASES; ph++) {
		double frac = (double)ph / LIMITER_PHASES;
		double k[LIMITER_TAPS], sum = 0, abs_sum = 0;
		for (int t = 0; t < LIMITER_TAPS; t++) {
			/* Distance from the interpolated point to sample
			 * (newest - t), in samples. */
			double d = (double)(LIMITER_HALF - t) + frac;
			double s = sin(M_PI * d) / (M_PI * d);
			double w = 0.5 + 0.5 * cos(M_PI * d / (LIMITER_HALF +
							       1.0));
			k[t] = s * w;
			sum += s * w;
		}
		/* Unity gain at DC. */
		for (int t = 0; t < LIMITER_TAPS; t++) {
			lim->coef[t][ph - 1] = (float)(k[t] / sum);
			abs_sum += fabs(lim->coef[t][ph - 1]);
		}
		if (abs_sum > gain_bound)
			gain_bound = abs_sum;
	}
	/* No phase can exceed gain_bound times the largest sample of its
	 * window; the margin covers float rounding in limiter_peak(), so
	 * below `quiet` the peak it would compute is surely under the
	 * ceiling and need not be computed. */
	lim->quiet = (float)(lim->ceiling / gain_bound * (1.0 - 1e-4));
}

struct limiter *limiter_create(const struct limiter_params *p)
{
	struct limiter *lim = NULL;
	int err = 0;
	if (!p || !(p->ceiling_dbtp <= 0) || p->ceiling_dbtp < -40 ||
	    !(p->lookahead_ms >= 0.5) || p->lookahead_ms > 50 ||
	    !(p->release_ms >= 1) || p->release_ms > 5000) {
		err = EINVAL;
		goto out;
	}
	lim = calloc(1, sizeof(*lim));
	if (!lim) {
		err = ENOMEM;
		goto out;
	}
	lim->ceiling = pow(10, (p->ceiling_dbtp - LIMITER_MARGIN_DB) / 20);
	lim->release_coeff = 1.0 - exp(-1000.0 / (p->release_ms * DECODE_RATE));
	lim->look = (size_t)lround(p->lookahead_ms * DECODE_RATE / 1000);
	if (lim->look < 2)
		lim->look = 2;
	limiter_design(lim);
	lim->q_pos = calloc(lim->look, sizeof(*lim->q_pos));
	lim->q_gain = calloc(lim->look, sizeof(*lim->q_gain));
	lim->box = calloc(lim->look, sizeof(*lim->box));
	lim->delay_len = lim->look - 1 + LIMITER_HALF;
	lim->delay = calloc(lim->delay_len, DECODE_CHANNELS * sizeof(float));
	if (!lim->q_pos || !lim->q_gain || !lim->box || !lim->delay) {
		err = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < lim->look; i++)
		lim->box[i] = 1.0;
	lim->box_sum = (double)lim->look;
	lim->box_ones = lim->look;
	lim->released = 1.0;
	lim->min_gain = 1.0;
out:
	if (err) {
		limiter_destroy(lim);
		errno = err;
		return NULL;
	}
	return lim;
}

void limiter_destroy(struct limiter *lim)
{
	if (!lim)
		return;
	free(lim->q_pos);
	free(lim->q_gain);
	free(lim->box);
	free(lim->delay);
	free(lim);
}

size_t limiter_latency(const struct limiter *lim)
{
	return lim->delay_len;
}

/* The true peak around the frame LIMITER_HALF frames back. Phase 0 is
 * that sample itself (the sinc is 1 there and 0 at the others). */
static double limiter_peak(const struct limiter *lim)
{
	/* w[t] = the sample t frames back from the newest. */
	const float *l = lim->hist[0] + lim->hist_pos + LIMITER_TAPS - 1;
	const float *r = lim->hist[1] + lim->hist_pos + LIMITER_TAPS - 1;
	/* The three phases side by side (the compiler makes one vector of
	 * them), even and odd taps apart: four independent sums per frame
	 * instead of one long chain of dependent additions. */
	float le[LIMITER_PHASES] = { 0 }, lo[LIMITER_PHASES] = { 0 };
	float re[LIMITER_PHASES] = { 0 }, ro[LIMITER_PHASES] = { 0 };
	for (int t = 0; t < LIMITER_TAPS; t += 2) {
		for (int ph = 0; ph < LIMITER_PHASES; ph++) {
			le[ph] += lim->coef[t][ph] * l[-t];
			lo[ph] += lim->coef[t + 1][ph] * l[-t - 1];
			re[ph] += lim->coef[t][ph] * r[-t];
			ro[ph] += lim->coef[t + 1][ph] * r[-t - 1];
		}
	}
	double peak = fabs(l[-LIMITER_HALF]);
	if (fabs(r[-LIMITER_HALF]) > peak)
		peak = fabs(r[-LIMITER_HALF]);
	for (int ph = 0; ph < LIMITER_PHASES - 1; ph++) {
		double vl = fabs(le[ph] + lo[ph]), vr = fabs(re[ph] + ro[ph]);
		if (vl > peak)
			peak = vl;
		if (vr > peak)
			peak = vr;
	}
	return peak;
}

/* One needed gain in; the averaged gain for the frame look - 1 earlier
 * out. */
static double limiter_gain(struct limiter *lim, double need)
{
	/* Sliding minimum over the last `look` positions: expire, then
	 * drop the entries the new one makes useless, then append (so the
	 * queue never holds more than `look`). */
	uint64_t pos = lim->n_in;
	size_t look = lim->look;
	if (lim->q_len > 0 && lim->q_pos[lim->q_head] + look <= pos) {
		lim->q_head = lim->q_head + 1 == look ? 0 : lim->q_head + 1;
		lim->q_len--;
	}
	while (lim->q_len > 0) {
		size_t last = lim->q_head + lim->q_len - 1;
		if (last >= look)
			last -= look;
		if (lim->q_gain[last] < need)
			break;
		lim->q_len--;
	}
	size_t tail = lim->q_head + lim->q_len;
	if (tail >= look)
		tail -= look;
	lim->q_pos[tail] = pos;
	lim->q_gain[tail] = need;
	lim->q_len++;
	double m = lim->q_gain[lim->q_head];

	/* Release: rise towards 1 exponentially, never above m. */
	double r = lim->released + (1.0 - lim->released) * lim->release_coeff;
	/* The exponential never gets to 1 in floating point (it stalls a
	 * few ulps below): within -0.00001 dB it is 1, and the audio is
	 * untouched again. */
	if (r > 1.0 - LIMITER_UNITY_EPS)
		r = 1.0;
	lim->released = r < m ? r : m;

	/* Average of the last `look` released values. */
	lim->box_sum += lim->released - lim->box[lim->box_pos];
	lim->box[lim->box_pos] = lim->released;
	lim->box_pos = lim->box_pos + 1 == look ? 0 : lim->box_pos + 1;
	if (lim->released != 1.0) {
		lim->box_ones = 0;
	} else if (lim->box_ones < look && ++lim->box_ones == look) {
		/* All ones: the exact sum, so the gain is exactly 1 again
		 * (rounding in the running sum would leave it a hair
		 * below, and the audio not quite untouched). */
		lim->box_sum = (double)look;
	}
	if (++lim->since_resum >= LIMITER_RESUM_FRAMES) {
		double s = 0;
		for (size_t i = 0; i < look; i++)
			s += lim->box[i];
		lim->box_sum = s;
		lim->since_resum = 0;
	}
	double g = lim->box_sum / (double)look;
	return g > 1.0 ? 1.0 : g;
}

/* limiter_gain() for a needed gain of 1 while idle (box_ones == look):
 * the queue becomes this one entry, every other value stays 1. */
static void limiter_gain_idle(struct limiter *lim)
{
	lim->q_head = 0;
	lim->q_len = 1;
	lim->q_pos[0] = lim->n_in;
	lim->q_gain[0] = 1.0;
}

void limiter_process(struct limiter *lim, const float *in, float *out,
		     size_t frames)
{
	for (size_t i = 0; i < frames; i++) {
		float l = in[2 * i], r = in[2 * i + 1];
		size_t w = lim->hist_pos;
		lim->hist[0][w] = lim->hist[0][w + LIMITER_TAPS] = l;
		lim->hist[1][w] = lim->hist[1][w + LIMITER_TAPS] = r;
		lim->hist_pos = w + 1 == LIMITER_TAPS ? 0 : w + 1;
		if (fabsf(l) > lim->quiet || fabsf(r) > lim->quiet)
			lim->hot = LIMITER_TAPS;

		/* Most frames of most music: nothing near the ceiling and
		 * nothing being limited, so the gain is exactly 1. */
		double g = 1.0;
		if (lim->hot > 0) {
			lim->hot--;
			double peak = limiter_peak(lim);
			double need = peak > lim->ceiling ? lim->ceiling / peak
							  : 1.0;
			g = limiter_gain(lim, need);
		} else if (lim->box_ones == lim->look) {
			limiter_gain_idle(lim);
		} else {
			g = limiter_gain(lim, 1.0);
		}
		lim->n_in++;
		if (g < lim->min_gain)
			lim->min_gain = g;

		/* The delay line holds the last delay_len input frames; the
		 * oldest is the one this gain belongs to. */
		float *slot = lim->delay + DECODE_CHANNELS * lim->delay_pos;
		float ol = slot[0], or_ = slot[1];
		slot[0] = l;
		slot[1] = r;
		if (++lim->delay_pos == lim->delay_len)
			lim->delay_pos = 0;
		if (g < 1.0) {
			ol = (float)(ol * g);
			or_ = (float)(or_ * g);
		}
		out[2 * i] = ol;
		out[2 * i + 1] = or_;
	}
}

double limiter_take_max_reduction_db(struct limiter *lim)
{
	double g = lim->min_gain;
	lim->min_gain = 1.0;
	return g < 1.0 ? -20 * log10(g) : 0.0;
}
