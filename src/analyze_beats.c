/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_beats — tempo, beat grid and downbeats from the onset features.
 *
 * DESIGN
 * 1. Tempo. The spectral-flux onset function (43 frames/s), with its local
 *    mean removed, is autocorrelated up to 4.5 s of lag. Every tempo of the
 *    prior range (default 70..180 BPM) is scored, in steps of 0.05 BPM, by
 *    a comb: the mean normalised autocorrelation at 1, 2, ... K periods.
 *    This is an exhaustive search, so it contains every multiple (x2, x1/2,
 *    x3/2, x2/3, x4/3) of what a beat tracker such as aubio's would
 *    propose; aubio's tracker is therefore not run (it would cost as much
 *    CPU as the whole analysis). A broad log-normal prior around 120 BPM
 *    breaks near-ties, and the octave rule prefers the faster of two tempi
 *    an octave apart when the faster one's comb is nearly as strong (its
 *    off-beats are real onsets, not silence). The winner is refined to
 *    0.002 BPM on the comb.
 * 2. Grid. The fine envelope (rises of log energy in 2.9 ms blocks) is
 *    folded onto the beat period in windows of 32 beats; the windows'
 *    phases, unwrapped, give a linear phase drift that corrects the period
 *    and gives the grid's origin and the window where the beat is
 *    clearest, the seed of the fit. They are unwrapped modulo a quarter
 *    beat: when kick and off-beat hat are about as strong, or the hats come
 *    and go, or hats play the sixteenths, the fold's peak jumps between
 *    beat, off-beat and sixteenths, and a jump read as drift bent the
 *    period by up to 1%. Then the fit: at each
 *    predicted beat the strongest rise within a window is taken, and a
 *    weighted least-squares line through (beat index, onset time) gives
 *    period and origin, dropping weak onsets and capping strong ones. It
 *    grows from the seed, 32 beats, then 64, 128... (windows of 20% of a
 *    beat, then 40 ms, per span), so each span's period predicts the next
 *    span's beats within milliseconds, and ends with two rounds over all
 *    beats (40 ms, 25 ms). Then the grid is checked where it will be
 *    used, in windows of 16 beats: each window's median onset offset and
 *    its share of beats hit, and the kick's side of the beat (the ratio
 *    of low-band attacks at the half-beats to those at the beats: an
 *    intro with the kick on the half-beat, a section that moves it). The
 *    share of beat-carrying windows within 10 ms is the grid confidence
 *    (a breakdown does not lower it); a beat window beyond 15 ms flags
 *    tempo drift; the transition planner reads the windows under each
 *    deck (its local gate).
 *    Which onset is the beat (grid_phase): the fine envelope cannot tell
 *    (off-beat or 16th hats have the sharpest onsets in house music), nor
 *    can log spectral flux (an off-beat bass note rises as many dB as the
 *    kick). The kick is the largest rise of low-band power (below 150 Hz,
 *    linear, over 17 ms). The bar is folded at its sixteenths: a kick that
 *    is four on the floor at one of the beat's four sixteenths is the beat.
 *    A syncopated kick (a breakbeat's, on the "e" of the beat and the
 *    "and" of 2) is not: then the whole drum pattern decides, the
 *    sixteenth from which the most onset energy of kick, snare band and
 *    fine envelope falls on the eighths (beats weighted over off-beats).
 *    A move must win by 10%.
 * 3. Downbeats. For each of the four bar phases the per-beat evidence is
 *    averaged: low-band onset strength (kick), broadband onset strength,
 *    the rise at the beat (accents), and the novelty of the beat's chroma
 *    (chords change at bar starts) and of its MFCC (a crash, a stab, a
 *    click of another pitch). Novelty is the distance to the more similar
 *    of the two beats before, not to the one before: the beat after a
 *    one-beat accent changes as much as the accent did, but back to what
 *    came before it, and change from the previous beat put such downbeats
 *    a beat late; a chord held for the bar is new only on its first beat.
 *    A beat's chroma and MFCC are the frames from the one with the beat's
 *    onset in the last quarter of its window to the last one that ends
 *    before the next beat (frames from the beat to the next held half of
 *    the next beat's sound). Each feature is turned into a t-like statistic
 *    (phase mean minus overall mean, over the within-phase spread, with a
 *    floor so that flat features stay silent), clipped, and summed with
 *    weights; the largest sum is the downbeat phase.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_priv.h"
#include "log.h"

#define MIN_AUDIO_S 3.0
#define ACF_MAX_S 4.5
#define BPM_STEP 0.05
#define PRIOR_CENTRE_BPM 120.0
#define PRIOR_OCTAVES 1.5
#define OCTAVE_RULE 0.85
#define LOW_PERIODIC 0.3
#define PHASE_WINDOW_BEATS 32
#define PHASE_BINS 48
#define HIT_MS 25.0
#define ATTACK_BLOCKS 6     /* fine blocks: 17 ms either side */
#define ATTACK_MS 20.0
#define PHASE_FLIP 1.1
#define UNWRAP_QUARTER_GAIN 0.1 /* share of beats hit, to unwrap by quarters */
#define SIXTEENTHS 16          /* positions of the bar in grid_phase */
#define FOUR_RATIO 0.5         /* each beat's kick, of the bar's strongest */
#define FOUR_CONTRAST 2.0      /* the kick's positions over the others */
#define FOUR_NEIGHBOUR 1.5     /* ... and over either next sixteenth */
#define PATTERN_OFFBEAT 0.5    /* an off-beat's weight in the pattern */
#define REFIT_HITS_LOSS 0.1    /* a fit from a moved phase may lose this */
#define REFIT_PERIOD_MAX 0.001 /* ... and move the period this much */
#define WINDOW_BEATS 16
#define WINDOW_SEARCH_MS 80.0  /* onsets looked for this far from a beat */
#define WINDOW_BEAT_HITS 0.5   /* a window with fewer hits has no beat */
#define WINDOW_ALIGNED_MS 10.0 /* a beat window this close holds the grid */
#define WINDOW_DRIFT_MS 15.0
#define WINDOW_FULL_TRUST 3    /* beat windows needed for full confidence */
#define KICK_FLOOR 0.1         /* of the median window's kick (-20 dB): none below */
#define KICK_RATIO_MAX 100.0
#define PATTERN_BINS 48        /* phases per beat in a window's fold */
#define PATTERN_NEAR_BEST 0.85 /* lags this close to the best are equals */
#define PATTERN_KICK_PEAK 2.0  /* a kick's fold peaks this over its mean */

static double clampd(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

size_t analyze_rows_mean(const struct analyze_vec *vec, int dims,
			 double row0_s, double period_s, double t0_s,
			 double t1_s, float *out)
{
	size_t rows = vec->n / (size_t)dims;
	memset(out, 0, (size_t)dims * sizeof(*out));
	double a = ceil((t0_s - row0_s) / period_s);
	double b = ceil((t1_s - row0_s) / period_s);
	if (a < 0)
		a = 0;
	if (b > (double)rows)
		b = (double)rows;
	if (!(b > a))
		return 0;
	size_t i0 = (size_t)a, i1 = (size_t)b;
	for (size_t i = i0; i < i1; i++)
		for (int d = 0; d < dims; d++)
			out[d] += vec->v[i * (size_t)dims + (size_t)d];
	for (int d = 0; d < dims; d++)
		out[d] /= (float)(i1 - i0);
	return i1 - i0;
}

size_t analyze_beat_count(const struct analysis *out)
{
	if (!(out->bpm > 0))
		return 0;
	double p = 60.0 / out->bpm;
	double n = floor((out->audio_end_s - out->first_beat_s) / p) + 1;
	return n > 0 ? (size_t)n : 0;
}

/* x minus its moving average over +-half, clipped at zero. */
static void detrend(const float *x, size_t n, int half, float *out)
{
	double sum = 0;
	size_t lo = 0, hi = 0; /* window [lo, hi) */
	for (size_t i = 0; i < n; i++) {
		size_t want_hi = i + (size_t)half + 1 < n ? i + (size_t)half + 1 : n;
		size_t want_lo = i > (size_t)half ? i - (size_t)half : 0;
		while (hi < want_hi)
			sum += x[hi++];
		while (lo < want_lo)
			sum -= x[lo++];
		double m = sum / (double)(hi - lo);
		double v = x[i] - m;
		out[i] = v > 0 ? (float)v : 0.0f;
	}
}

struct tempo_ctx {
	const float *rho;  /* normalised ACF, [0, lmax] */
	int lmax;
};

static double rho_at(const struct tempo_ctx *t, double lag)
{
	if (lag < 0 || lag > t->lmax)
		return 0;
	int i = (int)lag;
	double fr = lag - i;
	if (i >= t->lmax)
		return t->rho[t->lmax];
	return t->rho[i] * (1 - fr) + t->rho[i + 1] * fr;
}

static double comb(const struct tempo_ctx *t, double bpm)
{
	double p = 60.0 * ANALYZE_FPS / bpm;
	int k_max = (int)floor(t->lmax / p);
	if (k_max < 1)
		return rho_at(t, p);
	double s = 0;
	for (int k = 1; k <= k_max; k++)
		s += rho_at(t, k * p);
	return s / k_max;
}

static double prior(double bpm)
{
	double z = log2(bpm / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES;
	return exp(-0.5 * z * z);
}

/* Best comb within +-rel of bpm, to 0.002 BPM. */
static double refine(const struct tempo_ctx *t, double bpm, double rel,
		     double *score)
{
	double best = bpm, best_s = -1e9;
	for (double b = bpm * (1 - rel); b <= bpm * (1 + rel); b += 0.002) {
		double s = comb(t, b);
		if (s > best_s) {
			best_s = s;
			best = b;
		}
	}
	*score = best_s;
	return best;
}

/* Normalised autocorrelation of o[0..n) up to lag lmax into rho (lmax + 2
 * floats; r is scratch of the same size): 1 at lag 0, about 0 for lags
 * that are not periods. Returns false for a flat signal. */
static bool acf(const float *o, size_t n, int lmax, float *r, float *rho)
{
	for (int l = 0; l <= lmax; l++) {
		double s = 0;
		for (size_t i = 0; i + (size_t)l < n; i++)
			s += (double)o[i] * o[i + (size_t)l];
		r[l] = (float)(s / (double)(n - (size_t)l));
	}
	if (!(r[0] > 0))
		return false;
	/* Smooth away the jitter of onsets quantised to frames. */
	for (int l = 1; l < lmax; l++)
		rho[l] = 0.25f * r[l - 1] + 0.5f * r[l] + 0.25f * r[l + 1];
	rho[lmax] = r[lmax];
	double mu = 0;
	for (int l = 1; l <= lmax; l++)
		mu += rho[l];
	mu /= lmax;
	/* Smoothed like the other lags, so that a perfect period scores 1. */
	double scale = 0.5 * r[0] + 0.5 * r[1] - mu;
	if (!(scale > 0))
		return false;
	rho[0] = 1.0f;
	for (int l = 1; l <= lmax; l++)
		rho[l] = (float)((rho[l] - mu) / scale);
	return true;
}

/* The tempo (BPM) of the onset function o[0..n) (low: its low band alone),
 * with its periodicity strength and the score of the strongest rival tempo
 * not related to it. */
static double tempo_estimate(const float *o, const float *low, size_t n,
			     const struct analysis_params *p,
			     double *strength, double *rival)
{
	int lmax = (int)(ACF_MAX_S * ANALYZE_FPS);
	double bpm = 0;
	float *r = NULL, *rho = NULL, *rho_low = NULL;
	bool have_low;
	*strength = 0;
	*rival = 0;
	if ((size_t)lmax > n / 2)
		lmax = (int)(n / 2);
	if (lmax < (int)(60.0 * ANALYZE_FPS / p->bpm_min) + 2)
		return 0;
	r = calloc((size_t)lmax + 2, sizeof(*r));
	rho = calloc((size_t)lmax + 2, sizeof(*rho));
	rho_low = calloc((size_t)lmax + 2, sizeof(*rho_low));
	if (!r || !rho || !rho_low || !acf(o, n, lmax, r, rho))
		goto out;
	have_low = acf(low, n, lmax, r, rho_low);

	struct tempo_ctx t = { rho, lmax };
	double best_w = -1e9;
	for (double b = p->bpm_min; b <= p->bpm_max + 1e-9; b += BPM_STEP) {
		double w = comb(&t, b) * prior(b);
		if (w > best_w) {
			best_w = w;
			bpm = b;
		}
	}
	double s1;
	bpm = refine(&t, bpm, 0.004, &s1);
	if (bpm * 2 <= p->bpm_max * 1.005) {
		double s2;
		double b2 = refine(&t, bpm * 2, 0.003, &s2);
		/* A kick on every beat of the faster tempo decides too: the
		 * back-beat snare makes the slower comb look as good. */
		struct tempo_ctx tl = { rho_low, lmax };
		double l1 = have_low ? comb(&tl, bpm) : 0;
		double l2 = have_low ? comb(&tl, b2) : 0;
		log_debug("analyze: octave %.2f -> %.2f: comb ratio %.3f, low "
			  "band %.3f / %.3f", bpm, b2, s2 / s1, l2, l1);
		if (s2 >= OCTAVE_RULE * s1 ||
		    (l1 > LOW_PERIODIC && l2 >= OCTAVE_RULE * l1)) {
			bpm = b2;
			s1 = s2;
		}
	}
	/* The strongest tempo that is not an octave of the winner. */
	double rv = 0;
	for (double b = p->bpm_min; b <= p->bpm_max + 1e-9; b += BPM_STEP) {
		double ratio = b / bpm;
		double oct = fabs(log2(ratio) - round(log2(ratio)));
		if (oct < 0.03)
			continue;
		double s = comb(&t, b);
		if (s > rv)
			rv = s;
	}
	*strength = s1;
	*rival = rv;
out:
	free(r);
	free(rho);
	free(rho_low);
	return bpm;
}

/* The strongest value of x (rate fps, x[i] at row0 + i / fps) in
 * [t - before, t + after]; -1 if the window is outside x. */
static float peak_near(const float *x, size_t n, double row0, double fps,
		       double t, double before, double after, double *at)
{
	long a = (long)ceil((t - before - row0) * fps);
	long b = (long)floor((t + after - row0) * fps);
	if (a < 0)
		a = 0;
	if (b > (long)n - 1)
		b = (long)n - 1;
	float best = -1;
	long bi = -1;
	for (long i = a; i <= b; i++)
		if (x[i] > best) {
			best = x[i];
			bi = i;
		}
	if (at)
		*at = bi >= 0 ? row0 + bi / fps : t;
	return best;
}

struct grid {
	double period_s;
	double t0_s;        /* beat 0 of the grid */
	double seed_s;      /* the middle of the region where the beat is clearest */
	double rms_ms;
	double hit_share;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* Beats k in [ka, kb] of the grid (beat k at t0_s + k * period_s) against
 * the fine onset envelope: the strongest rise within win of each predicted
 * beat is its onset; a weighted least-squares line through (k, onset time),
 * onsets weaker than a third of the median dropped and the strongest capped
 * (one loud crash must not pull the line), gives the new period and origin.
 * tt, peaks, ww hold kb - ka + 1 entries: the onset time, its strength and
 * its weight (0 = not used) of each beat. Returns false, g unchanged, when
 * there are too few onsets or the fit is implausible. */
static bool grid_round(const float *d, size_t n, long ka, long kb, double win,
		       struct grid *g, double *tt, float *peaks, float *ww)
{
	const double row0 = analyze_fine_time(0);
	const double fps = ANALYZE_FINE_FPS;
	size_t nb = kb >= ka ? (size_t)(kb - ka + 1) : 0;
	if (win > 0.2 * g->period_s)
		win = 0.2 * g->period_s;
	size_t m = 0;
	for (size_t i = 0; i < nb; i++) {
		double t = g->t0_s + (double)(ka + (long)i) * g->period_s;
		double at;
		float v = peak_near(d, n, row0, fps, t, win, win, &at);
		tt[i] = at;
		peaks[i] = v;
		if (v > 0)
			m++;
	}
	if (m < 4)
		return false;
	/* The fit grows span by span (grid_fit), so this runs a dozen times
	 * per track: qsort, not the insertion sort it once was (quadratic in
	 * a track's 2000 beats). */
	float *tmp = malloc(nb * sizeof(*tmp));
	if (!tmp)
		return false;
	memcpy(tmp, peaks, nb * sizeof(*tmp));
	qsort(tmp, nb, sizeof(*tmp), cmp_float);
	float med = tmp[nb / 2];
	free(tmp);
	float thr = fmaxf(0.5f, 0.3f * med);
	float cap = 2.0f * fmaxf(med, 0.5f);
	double sw = 0, sk = 0, st = 0, skk = 0, skt = 0;
	for (size_t i = 0; i < nb; i++) {
		ww[i] = peaks[i] >= thr ? fminf(peaks[i], cap) : 0.0f;
		if (ww[i] <= 0)
			continue;
		double k = (double)(ka + (long)i), w = ww[i];
		sw += w;
		sk += w * k;
		st += w * tt[i];
		skk += w * k * k;
		skt += w * k * tt[i];
	}
	double den = sw * skk - sk * sk;
	if (!(sw > 0) || !(fabs(den) > 1e-12))
		return false;
	double slope = (sw * skt - sk * st) / den;
	double icpt = (st - slope * sk) / sw;
	if (!(slope > 0.5 * g->period_s && slope < 1.5 * g->period_s))
		return false;
	g->period_s = slope;
	g->t0_s = icpt;
	return true;
}

/* The grid fitted to every beat of [a0, a1]. A line through all beats at
 * once fails on real music: a start period 0.1% off misplaces the beats at
 * the far end of a 6-minute track by a third of a beat, beyond any search
 * window, and the fit is dragged by onsets of the wrong beats. So the fit
 * grows from the region where the beat is clearest (g->seed_s), doubling
 * the span each time: each span's period predicts the next span's beats to
 * within milliseconds. Then two rounds over everything with windows of 40
 * and 25 ms. The last round's share of beats with an onset within HIT_MS
 * and the RMS of their distance are the statistics. */
static void grid_fit(const float *d, size_t n, double a0, double a1,
		     struct grid *g)
{
	long ka = (long)floor((a0 - g->t0_s) / g->period_s);
	long kb = (long)ceil((a1 - g->t0_s) / g->period_s);
	size_t nb = kb >= ka ? (size_t)(kb - ka + 1) : 0;
	double *tt = calloc(nb + 1, sizeof(*tt));
	float *ww = calloc(nb + 1, sizeof(*ww));
	float *peaks = calloc(nb + 1, sizeof(*peaks));
	if (!tt || !ww || !peaks || nb < 4)
		goto out;

	double seed = g->seed_s > a0 && g->seed_s < a1 ? g->seed_s
						       : 0.5 * (a0 + a1);
	long ks = lround((seed - g->t0_s) / g->period_s);
	for (long half = 16;; half *= 2) {
		long lo = ks - half < ka ? ka : ks - half;
		long hi = ks + half > kb ? kb : ks + half;
		size_t o = (size_t)(lo - ka);
		if (grid_round(d, n, lo, hi, 0.2 * g->period_s, g, tt + o,
			       peaks + o, ww + o))
			grid_round(d, n, lo, hi, 0.040, g, tt + o, peaks + o,
				   ww + o);
		if (lo == ka && hi == kb)
			break;
	}
	if (!grid_round(d, n, ka, kb, 0.040, g, tt, peaks, ww) ||
	    !grid_round(d, n, ka, kb, 0.025, g, tt, peaks, ww))
		goto out;

	double se = 0, sew = 0;
	size_t hits = 0, counted = 0;
	for (size_t i = 0; i < nb; i++) {
		double t = g->t0_s + (double)(ka + (long)i) * g->period_s;
		if (t < a0 - 0.01 || t > a1)
			continue;
		counted++;
		if (ww[i] <= 0)
			continue;
		double e = tt[i] - t;
		if (fabs(e) * 1000.0 <= HIT_MS)
			hits++;
		se += ww[i] * e * e;
		sew += ww[i];
	}
	g->rms_ms = sew > 0 ? 1000.0 * sqrt(se / sew) : 0;
	g->hit_share = counted ? (double)hits / (double)counted : 0;
out:
	free(tt);
	free(ww);
	free(peaks);
}

/* The kick-drum evidence at time t: the largest rise of low-band power
 * (linear, so that the loudest low-frequency hit wins, not the one with the
 * largest relative rise) from the ATTACK_BLOCKS blocks before to the
 * ATTACK_BLOCKS blocks after a block within ATTACK_MS of t, as an
 * amplitude. A bass note that only holds its level adds nothing. */
static double low_attack(const struct analyze_features *f, double t)
{
	const float *e = f->fine_low.v;
	long n = (long)f->fine_low.n;
	double row0 = analyze_fine_time(0);
	long a = (long)ceil((t - ATTACK_MS / 1000.0 - row0) * ANALYZE_FINE_FPS);
	long b = (long)floor((t + ATTACK_MS / 1000.0 - row0) * ANALYZE_FINE_FPS);
	if (a < ATTACK_BLOCKS)
		a = ATTACK_BLOCKS;
	if (b > n - ATTACK_BLOCKS)
		b = n - ATTACK_BLOCKS;
	double best = 0;
	for (long j = a; j <= b; j++) {
		double before = 0, after = 0;
		for (long k = 0; k < ATTACK_BLOCKS; k++) {
			before += e[j - 1 - k];
			after += e[j + k];
		}
		double rise = (after - before) / ATTACK_BLOCKS;
		if (rise > best)
			best = rise;
	}
	return sqrt(best);
}

/* The onset envelope D (fine blocks) at time t, linearly interpolated. */
static double fine_at(const float *d, size_t n, double row0, double t)
{
	double x = (t - row0) * ANALYZE_FINE_FPS;
	if (!(x >= 0) || x >= (double)n - 1)
		return 0;
	size_t i = (size_t)x;
	double u = x - (double)i;
	return (1 - u) * d[i] + u * d[i + 1];
}

/* The fold of beats [k0, k1) of the grid: fold[j] is the mean onset
 * strength at phase j / PATTERN_BINS of a beat after each beat. */
static void pattern_fold(const float *d, size_t n, double first_s,
			 double per, size_t k0, size_t k1, double *fold)
{
	const double row0 = analyze_fine_time(0);
	for (int j = 0; j < PATTERN_BINS; j++) {
		double sum = 0;
		for (size_t k = k0; k < k1; k++)
			sum += fine_at(d, n, row0, first_s + ((double)k +
					(double)j / PATTERN_BINS) * per);
		fold[j] = k1 > k0 ? sum / (double)(k1 - k0) : 0;
	}
}

/* The normalised circular correlation of FOLD against REF (both
 * PATTERN_BINS) at each lag l (FOLD moved l bins later) into c; false
 * (and c untouched) when either has no variation. */
static bool pattern_corr(const double *fold, const double *ref, double *c)
{
	const int nb = PATTERN_BINS;
	double mf = 0, mr = 0;
	for (int j = 0; j < nb; j++) {
		mf += fold[j] / nb;
		mr += ref[j] / nb;
	}
	double sf = 0, sr = 0;
	for (int j = 0; j < nb; j++) {
		sf += (fold[j] - mf) * (fold[j] - mf);
		sr += (ref[j] - mr) * (ref[j] - mr);
	}
	if (!(sf > 0) || !(sr > 0))
		return false;
	for (int l = 0; l < nb; l++) {
		double sum = 0;
		for (int j = 0; j < nb; j++)
			sum += (fold[(j + l) % nb] - mf) * (ref[j] - mr);
		c[l] = sum / sqrt(sf * sr);
	}
	return true;
}

/* The spread (standard deviation) of a fold. */
static double pattern_spread(const double *fold)
{
	double m = 0, s = 0;
	for (int j = 0; j < PATTERN_BINS; j++)
		m += fold[j] / PATTERN_BINS;
	for (int j = 0; j < PATTERN_BINS; j++)
		s += (fold[j] - m) * (fold[j] - m);
	return sqrt(s / PATTERN_BINS);
}

/* Where a window's pattern sits against the track's: FOLD against REF (the
 * onsets of every drum) and KFOLD against KREF (the kick's attacks), both
 * PATTERN_BINS, circular. The correlations add up, the kick's weighted by
 * kick_weight (0: the onsets alone): where hats play every sixteenth the
 * onsets match themselves a sixteenth off as well as on, and only the
 * kick tells the two apart. The lag in beats (positive: FOLD later) of the
 * sum's local peak nearest 0 among those within PATTERN_NEAR_BEST of the
 * best, refined by a parabola, and the sum there (0 when the onsets have
 * no variation). */
static double pattern_lag(const double *fold, const double *ref,
			  const double *kfold, const double *kref,
			  double kick_weight, double *match)
{
	const int nb = PATTERN_BINS;
	double c[PATTERN_BINS], ck[PATTERN_BINS], best = -2;
	*match = 0;
	if (!pattern_corr(fold, ref, c))
		return 0;
	if (kick_weight > 0 && pattern_corr(kfold, kref, ck))
		for (int l = 0; l < nb; l++)
			c[l] = (c[l] + kick_weight * ck[l]) / (1 + kick_weight);
	for (int l = 0; l < nb; l++)
		if (c[l] > best)
			best = c[l];
	int pick = -1;
	double pick_dist = nb;
	for (int l = 0; l < nb; l++) {
		double prev = c[(l + nb - 1) % nb], next = c[(l + 1) % nb];
		if (c[l] < prev || c[l] < next || c[l] < PATTERN_NEAR_BEST * best)
			continue;
		int signed_l = l <= nb / 2 ? l : l - nb;
		if (abs(signed_l) < pick_dist) {
			pick_dist = abs(signed_l);
			pick = l;
		}
	}
	if (pick < 0)
		return 0;
	double a = c[(pick + nb - 1) % nb], b = c[pick], cc = c[(pick + 1) % nb];
	double den = a - 2 * b + cc, frac = den < 0 ? 0.5 * (a - cc) / den : 0;
	*match = b;
	double lag = (pick <= nb / 2 ? pick : pick - nb) + frac;
	return lag / nb;
}

/* The kick's attacks per fine block (low_attack() at each block, without
 * its search for the largest nearby): the square root of the rise of
 * low-band power over ATTACK_BLOCKS blocks, 0 where it falls. Returns an
 * array of f->fine_low.n values to free, or NULL. */
static float *kick_envelope(const struct analyze_features *f)
{
	const float *e = f->fine_low.v;
	size_t n = f->fine_low.n;
	float *k = calloc(n ? n : 1, sizeof(*k));
	if (!k)
		return NULL;
	double before = 0, after = 0;
	if (n < 2 * ATTACK_BLOCKS + 1)
		return k;
	for (size_t j = 0; j < ATTACK_BLOCKS; j++) {
		before += e[j];
		after += e[j + ATTACK_BLOCKS];
	}
	/* Block j: after = e[j .. j + B), before = e[j - B .. j). */
	for (size_t j = ATTACK_BLOCKS; j + ATTACK_BLOCKS <= n; j++) {
		double rise = (after - before) / ATTACK_BLOCKS;
		k[j] = rise > 0 ? (float)sqrt(rise) : 0;
		if (j + ATTACK_BLOCKS == n)
			break;
		before += e[j] - e[j - ATTACK_BLOCKS];
		after += e[j + ATTACK_BLOCKS] - e[j];
	}
	return k;
}

/* The grid checked window by window (struct analysis, grid_window_*): for
 * each window of beats, the strongest onset within WINDOW_SEARCH_MS of each
 * beat (onsets below a third of the track's median beat onset ignored), the
 * median of their distances from the grid, and the share of the window's
 * beats with an onset within HIT_MS of the grid moved by that median. A
 * median is robust to the odd fill or off-beat hit; a window whose beats
 * are mostly missing gets offset 0 and a low share. The kick's side: the
 * mean low_attack() at the window's beats (moved by its offset) and at
 * its half-beats, their ratio (half over beat) kept where the window's
 * kick is at least KICK_FLOOR of the median window's, else 1 (cannot
 * tell). The grid's phase is the whole track's; a section whose kick sits
 * on the half-beat shows here. The pattern's place: each window's onsets
 * and kick attacks folded over the beat, against the mean folds of the
 * windows that hold the grid (pattern_lag()). Then the confidence:
 * the share of beat-carrying windows within WINDOW_ALIGNED_MS, times
 * min(1, windows / WINDOW_FULL_TRUST); drift: a beat window beyond
 * WINDOW_DRIFT_MS. */
static void grid_windows(const struct analyze_features *f, double a1,
			 const struct grid *g, struct analysis *out)
{
	const float *d = f->fine.v;
	size_t n = f->fine.n;
	const double row0 = analyze_fine_time(0);
	const double fps = ANALYZE_FINE_FPS;
	double per = g->period_s;
	double win = WINDOW_SEARCH_MS / 1000.0;
	if (win > 0.25 * per)
		win = 0.25 * per;
	size_t beats = (size_t)floor((a1 - out->first_beat_s) / per) + 1;
	int wb = WINDOW_BEATS;
	while ((beats + (size_t)wb - 1) / (size_t)wb > ANALYSIS_GRID_WINDOWS_MAX)
		wb += WINDOW_BEATS;
	out->grid_window_beats = wb;
	out->n_grid_windows = 0;
	out->grid_confidence = 0;
	out->tempo_drift = false;
	float *v = malloc(beats * sizeof(*v));
	double *e = malloc(beats * sizeof(*e));
	double *sorted = malloc(((size_t)wb + beats) * sizeof(*sorted));
	double *folds = NULL;
	float *kick = NULL;
	double kick_on[ANALYSIS_GRID_WINDOWS_MAX], kick_half[ANALYSIS_GRID_WINDOWS_MAX];
	double kick_max[ANALYSIS_GRID_WINDOWS_MAX];
	if (!v || !e || !sorted || beats < 4)
		goto out;
	for (size_t k = 0; k < beats; k++) {
		double t = out->first_beat_s + (double)k * per, at;
		v[k] = peak_near(d, n, row0, fps, t, win, win, &at);
		e[k] = at - t;
		sorted[k] = v[k];
	}
	qsort(sorted, beats, sizeof(*sorted), cmp_double);
	double thr = fmax(0.5, 0.3 * sorted[beats / 2]);

	int nw = (int)((beats + (size_t)wb - 1) / (size_t)wb);
	int beat_windows = 0, aligned = 0;
	for (int w = 0; w < nw; w++) {
		size_t k0 = (size_t)w * (size_t)wb;
		size_t k1 = k0 + (size_t)wb < beats ? k0 + (size_t)wb : beats;
		size_t m = 0;
		for (size_t k = k0; k < k1; k++)
			if (v[k] >= thr)
				sorted[m++] = e[k];
		double off = 0;
		size_t hits = 0;
		if (m >= (k1 - k0) / 4 && m > 0) {
			qsort(sorted, m, sizeof(*sorted), cmp_double);
			off = m % 2 ? sorted[m / 2]
				    : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
			for (size_t k = k0; k < k1; k++)
				if (v[k] >= thr &&
				    fabs(e[k] - off) * 1000.0 <= HIT_MS)
					hits++;
		}
		float share = (float)hits / (float)(k1 - k0);
		/* The kick's side of the beat in this window: low-band attacks
		 * at the beats (moved by the offset) and at the half-beats. */
		double on = 0, half = 0;
		for (size_t k = k0; k < k1; k++) {
			double t = out->first_beat_s + (double)k * per + off;
			on += low_attack(f, t);
			half += low_attack(f, t + 0.5 * per);
		}
		kick_on[w] = on / (double)(k1 - k0);
		kick_half[w] = half / (double)(k1 - k0);
		kick_max[w] = fmax(kick_on[w], kick_half[w]);
		out->grid_window_offset_ms[w] = (float)(1000.0 * off);
		out->grid_window_hits[w] = share;
		/* A last window of a few beats says little either way. */
		if (share >= WINDOW_BEAT_HITS && k1 - k0 >= (size_t)wb / 2) {
			beat_windows++;
			if (fabs(off) * 1000.0 <= WINDOW_ALIGNED_MS)
				aligned++;
			if (fabs(off) * 1000.0 > WINDOW_DRIFT_MS)
				out->tempo_drift = true;
		}
	}
	out->n_grid_windows = nw;
	/* A window whose kick is far below the track's typical one has no
	 * kick to tell the side by (a breakdown, an ambient intro). */
	qsort(kick_max, (size_t)nw, sizeof(*kick_max), cmp_double);
	double kick_floor = KICK_FLOOR * kick_max[nw / 2];
	for (int w = 0; w < nw; w++) {
		double strongest = fmax(kick_on[w], kick_half[w]);
		double r = 1.0;
		if (strongest > kick_floor && strongest > 0)
			r = kick_on[w] > 0 ? kick_half[w] / kick_on[w] : KICK_RATIO_MAX;
		out->grid_window_kick_ratio[w] = (float)fmin(r, KICK_RATIO_MAX);
	}
	/* The pattern's place: the typical folds (onsets, kick) are those
	 * of the windows that hold the grid (every window where none does). */
	folds = malloc(2 * (size_t)nw * PATTERN_BINS * sizeof(*folds));
	kick = kick_envelope(f);
	if (!folds || !kick)
		goto confidence;
	double *kfolds = folds + (size_t)nw * PATTERN_BINS;
	double ref[PATTERN_BINS] = { 0 }, kref[PATTERN_BINS] = { 0 };
	int n_ref = 0;
	for (int pass = 0; pass < 2 && n_ref == 0; pass++)
		for (int w = 0; w < nw; w++) {
			size_t k0 = (size_t)w * (size_t)wb;
			size_t k1 = k0 + (size_t)wb < beats ? k0 + (size_t)wb : beats;
			double *fold = folds + (size_t)w * PATTERN_BINS;
			double *kfold = kfolds + (size_t)w * PATTERN_BINS;
			if (pass == 0) {
				pattern_fold(d, n, out->first_beat_s, per, k0, k1, fold);
				pattern_fold(kick, f->fine_low.n, out->first_beat_s,
					     per, k0, k1, kfold);
			}
			bool holds = out->grid_window_hits[w] >= WINDOW_BEAT_HITS &&
				     fabs(out->grid_window_offset_ms[w]) <=
				     WINDOW_ALIGNED_MS;
			if (pass == 1 || holds) {
				for (int j = 0; j < PATTERN_BINS; j++) {
					ref[j] += fold[j];
					kref[j] += kfold[j];
				}
				n_ref++;
			}
		}
	/* The kick counts where the track has one (its typical fold peaks
	 * well over its mean), as much as the window carries of it. */
	double kref_mean = 0, kref_top = 0;
	for (int j = 0; j < PATTERN_BINS; j++) {
		kref_mean += kref[j] / PATTERN_BINS;
		kref_top = fmax(kref_top, kref[j]);
	}
	double kref_spread = pattern_spread(kref) / n_ref;
	bool has_kick = kref_top > PATTERN_KICK_PEAK * kref_mean &&
			kref_spread > 0;
	for (int w = 0; w < nw; w++) {
		double match;
		const double *kfold = kfolds + (size_t)w * PATTERN_BINS;
		double kw = has_kick ? fmin(1.0, pattern_spread(kfold) /
					    kref_spread) : 0;
		double lag = pattern_lag(folds + (size_t)w * PATTERN_BINS, ref,
					 kfold, kref, kw, &match);
		out->grid_window_shift_ms[w] = (float)(1000.0 * lag * per);
		out->grid_window_match[w] = (float)match;
	}
confidence:
	if (beat_windows > 0)
		out->grid_confidence =
			(double)aligned / beat_windows *
			fmin(1.0, (double)beat_windows / WINDOW_FULL_TRUST);
out:
	free(v);
	free(e);
	free(sorted);
	free(folds);
	free(kick);
}

/* Phase of the grid by folding the fine envelope, window by window; the
 * unwrapped phases (modulo 1 / parts of a beat) give the period's
 * correction. */
static void grid_start(const float *d, size_t n, double a0, double a1,
		       double period_s, int parts, struct grid *g)
{
	double span = PHASE_WINDOW_BEATS * period_s;
	double cs[512], ph[512], ws[512];
	int nw = 0;
	double start = a0;
	do {
		double end = start + span < a1 ? start + span : a1;
		double hist[PHASE_BINS] = { 0 };
		long j0 = (long)ceil((start - analyze_fine_time(0)) * ANALYZE_FINE_FPS);
		long j1 = (long)floor((end - analyze_fine_time(0)) * ANALYZE_FINE_FPS);
		if (j0 < 0)
			j0 = 0;
		if (j1 > (long)n - 1)
			j1 = (long)n - 1;
		double total = 0;
		for (long j = j0; j <= j1; j++) {
			double t = analyze_fine_time((double)j);
			double phase = t / period_s - floor(t / period_s);
			int bin = (int)(phase * PHASE_BINS) % PHASE_BINS;
			hist[bin] += d[j];
			total += d[j];
		}
		double sm[PHASE_BINS];
		int best = 0;
		for (int b = 0; b < PHASE_BINS; b++) {
			sm[b] = hist[(b + PHASE_BINS - 1) % PHASE_BINS] +
				2 * hist[b] + hist[(b + 1) % PHASE_BINS];
			if (sm[b] > sm[best])
				best = b;
		}
		double y0 = sm[(best + PHASE_BINS - 1) % PHASE_BINS];
		double y1 = sm[best], y2 = sm[(best + 1) % PHASE_BINS];
		double den = y0 - 2 * y1 + y2;
		double delta = den < 0 ? 0.5 * (y0 - y2) / den : 0;
		double mean = total * 4.0 / PHASE_BINS;
		if (nw < 512 && total > 0) {
			cs[nw] = 0.5 * (start + end);
			ph[nw] = (best + 0.5 + delta) / PHASE_BINS;
			ws[nw] = (y1 - mean) / (mean + 1e-9);
			if (ws[nw] < 0)
				ws[nw] = 0;
			nw++;
		}
		start += span / 2;
	} while (start + span / 2 < a1 && nw < 512);

	g->period_s = period_s;
	g->t0_s = 0;
	g->seed_s = 0.5 * (a0 + a1);
	if (nw == 0)
		return;
	int clearest = 0;
	for (int i = 1; i < nw; i++)
		if (ws[i] > ws[clearest])
			clearest = i;
	g->seed_s = cs[clearest];
	/* Windows overlap by half, so neighbours differ little and a forward
	 * pass suffices. Modulo half a beat (parts 2): the peak may be the
	 * kick in one window and the off-beat hat in the next. Modulo a
	 * quarter (parts 4): or one of the hats on the sixteenths (a jump of
	 * a quarter read as drift bent 136 BPM to 134.6). analyze_beats()
	 * fits both and keeps the better; grid_phase() chooses the beat of
	 * the four sixteenths. */
	for (int i = 1; i < nw; i++) {
		double dlt = ph[i] - ph[i - 1];
		dlt -= round(parts * dlt) / parts;
		ph[i] = ph[i - 1] + dlt;
	}
	double sw = 0, sc = 0, sp = 0, scc = 0, scp = 0;
	for (int i = 0; i < nw; i++) {
		double w = ws[i] + 1e-6;
		sw += w;
		sc += w * cs[i];
		sp += w * ph[i];
		scc += w * cs[i] * cs[i];
		scp += w * cs[i] * ph[i];
	}
	double den = sw * scc - sc * sc;
	double beta = nw > 1 && fabs(den) > 1e-12 ? (sw * scp - sc * sp) / den : 0;
	double alpha = (sp - beta * sc) / sw;
	if (fabs(beta * period_s) > 0.01)
		beta = 0; /* more than 1% off: distrust, keep the comb's period */
	g->period_s = period_s / (1.0 - beta * period_s);
	g->t0_s = g->period_s * (alpha - floor(alpha));
}

/* Onset-function evidence at time t: the flux frame that holds an onset at
 * t lies up to a quarter window before it. */
static float odf_at(const float *x, size_t n, double t)
{
	return peak_near(x, n, analyze_frame_time(0), ANALYZE_FPS, t, 0.07,
			 0.03, NULL);
}

/* Cosine distance of chroma vectors a and b (0: the same pitch classes in
 * the same proportions); 0 when either is silent. */
static double chroma_dist(const float *a, const float *b)
{
	double dot = 0, na = 0, nb = 0;
	for (int i = 0; i < 12; i++) {
		dot += (double)a[i] * b[i];
		na += (double)a[i] * a[i];
		nb += (double)b[i] * b[i];
	}
	return na > 0 && nb > 0 ? 1.0 - dot / sqrt(na * nb) : 0;
}

/* Euclidean distance of MFCC vectors without c0: loudness is the onset
 * features' business. */
static double mfcc_dist(const float *a, const float *b)
{
	double d = 0;
	for (int i = 1; i < ANALYSIS_MFCC; i++)
		d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sqrt(d);
}

#define DOWNBEAT_FEATURES 5
/* Beats a beat's sound must be new against to count as a change. */
#define NOVELTY_PAST 2

static void downbeats(const struct analyze_features *f, const float *low,
		      const float *all, struct analysis *out)
{
	size_t nb = analyze_beat_count(out);
	double per = 60.0 / out->bpm;
	/* Floors keep a feature that is flat (identical clicks have no chroma
	 * change) from producing large statistics out of rounding noise. The
	 * beats of a click track that are not new sit near 0.02 in MFCC
	 * novelty; a floor of 0.5, sized for change from the previous beat,
	 * drowned a click an octave up (0.7, and no chroma novelty). */
	const double floor_abs[DOWNBEAT_FEATURES] = { 0, 0, 0, 0.02, 0.1 };
	const double weight[DOWNBEAT_FEATURES] = { 1.0, 0.5, 0.7, 1.0, 0.5 };
	double sum[DOWNBEAT_FEATURES][4] = { { 0 } };
	double sq[DOWNBEAT_FEATURES][4] = { { 0 } };
	double cnt[DOWNBEAT_FEATURES][4] = { { 0 } };
	double gsum[DOWNBEAT_FEATURES] = { 0 }, gcnt[DOWNBEAT_FEATURES] = { 0 };
	float past_c[NOVELTY_PAST][12], past_m[NOVELTY_PAST][ANALYSIS_MFCC];
	float cur_c[12], cur_m[ANALYSIS_MFCC];
	double f0 = analyze_frame_time(0);
	double fp = 1.0 / ANALYZE_FPS;
	double mp = ANALYZE_MFCC_EVERY / ANALYZE_FPS;
	/* A beat's sound: from the frame that has the beat's onset in the
	 * last quarter of its window to the last frame that ends before the
	 * next beat. Frames from t to t + period held the next
	 * beat's onset in their last half and missed half of this one's, so
	 * a bar's odd first beat showed up in the beat before it. */
	const double win_s = ANALYZE_FFT_SIZE / ANALYZE_RATE;
	double lead_s = 0.25 * win_s;
	double len_s = per - 0.5 * win_s + lead_s;
	if (len_s < 0.5 * per)
		len_s = 0.5 * per;

	out->downbeat_s = out->first_beat_s;
	out->downbeat_confidence = 0;
	if (nb < 8)
		return;
	for (size_t k = 0; k < nb; k++) {
		double t = out->first_beat_s + (double)k * per;
		double x[DOWNBEAT_FEATURES];
		bool have_past = k >= NOVELTY_PAST;
		x[0] = odf_at(low, f->flux_low.n, t);
		x[1] = odf_at(all, f->flux.n, t);
		x[2] = peak_near(f->fine.v, f->fine.n, analyze_fine_time(0),
				 ANALYZE_FINE_FPS, t, 0.015, 0.015, NULL);
		analyze_rows_mean(&f->chroma, 12, f0, fp, t - lead_s,
				  t - lead_s + len_s, cur_c);
		analyze_rows_mean(&f->mfcc, ANALYSIS_MFCC, f0, mp, t - lead_s,
				  t - lead_s + len_s, cur_m);
		/* Novelty, not change: the distance to the more similar of
		 * the two beats before. A chord change or a crash on beat 1
		 * is new against both. The beat after a one-beat accent
		 * changes as much as the accent did, but back to the beat
		 * before the accent, so it is not new; nor is the second
		 * kick of a kick-snare-kick-snare bar. */
		x[3] = x[4] = INFINITY;
		for (int j = 0; have_past && j < NOVELTY_PAST; j++) {
			x[3] = fmin(x[3], chroma_dist(cur_c, past_c[j]));
			x[4] = fmin(x[4], mfcc_dist(cur_m, past_m[j]));
		}
		memcpy(past_c[k % NOVELTY_PAST], cur_c, sizeof(cur_c));
		memcpy(past_m[k % NOVELTY_PAST], cur_m, sizeof(cur_m));
		int ph = (int)(k % 4);
		for (int i = 0; i < DOWNBEAT_FEATURES; i++) {
			if (i >= 3 && !have_past)
				continue;
			if (x[i] < 0)
				x[i] = 0;
			cnt[i][ph]++;
			sum[i][ph] += x[i];
			sq[i][ph] += x[i] * x[i];
			gsum[i] += x[i];
			gcnt[i]++;
		}
	}
	double score[4] = { 0 };
	for (int i = 0; i < DOWNBEAT_FEATURES; i++) {
		double mean = gsum[i] / gcnt[i];
		double var = 0;
		for (int ph = 0; ph < 4; ph++) {
			double m = sum[i][ph] / cnt[i][ph];
			var += sq[i][ph] - cnt[i][ph] * m * m;
		}
		double sd = sqrt(fmax(var, 0) / gcnt[i]);
		double fl = fmax(floor_abs[i], 0.05 * mean) + 1e-9;
		for (int ph = 0; ph < 4; ph++) {
			double m = sum[i][ph] / cnt[i][ph];
			double tstat = (m - mean) / (sd + fl);
			score[ph] += weight[i] * clampd(tstat, -3, 3);
		}
	}
	int best = 0, second = -1;
	for (int ph = 1; ph < 4; ph++)
		if (score[ph] > score[best])
			best = ph;
	for (int ph = 0; ph < 4; ph++)
		if (ph != best && (second < 0 || score[ph] > score[second]))
			second = ph;
	out->downbeat_s = out->first_beat_s + best * per;
	out->downbeat_confidence = clampd((score[best] - score[second]) / 3.0,
					  0, 1);
}

/* The grid's phase at the 16th level: by how many sixteenths (0..3) to
 * move the grid g so that it sits on the beat. The bar is folded at its
 * sixteen sixteenths from g's beats (the bar's start is arbitrary here):
 * the kick's low-band attack (low_attack), the mid band's onsets (snares)
 * and the fine envelope's (hats, snares). A kick that is four on the floor
 * (at one of the four sixteenths of the beat, each beat of the bar at least
 * FOUR_RATIO of the bar's strongest, FOUR_CONTRAST over the mean of the
 * other positions, and FOUR_NEIGHBOUR over either sixteenth next to it:
 * low-band attacks as strong a sixteenth away are a bass line's, as in
 * Parsec47's "ptn3") is the beat: the fine envelope cannot tell (off-beat
 * and 16th hats have the sharpest onsets), nor can log flux (an off-beat
 * bass note rises as many dB as the kick). Without one (a breakbeat's
 * kicks on the "e" of the beat and the "and" of 2) the kick says nothing
 * by itself: each band's excess over its median position, as a share of
 * its total, is scored at the eighths from each phase (beats 1, off-beats
 * PATTERN_OFFBEAT), and the bands' shares add up: hats on the eighths say
 * where the eighths are, a back-beat snare which of them is the beat. A
 * move must win by PHASE_FLIP: of equal candidates (unaccented 16ths, or
 * kick and off-beat bass as loud) the fit's phase stays. Where the pattern
 * ties beat and off-beat within PHASE_FLIP, the kick's side decides as it
 * did before the pattern was asked (the beat or the half-beat with the
 * stronger low-band attacks, by PHASE_FLIP): without it three real tracks
 * whose fit landed on the off-beat stayed there. mid is the detrended
 * mid-band flux. */
static int grid_phase(const struct analyze_features *f, const float *mid,
		      double a0, double a1, const struct grid *g)
{
	double x[3][SIXTEENTHS] = { { 0 } };
	double per = g->period_s;
	long k0 = (long)ceil((a0 - g->t0_s) / per);
	size_t beats = 0;

	for (long k = k0; g->t0_s + (double)k * per < a1; k++) {
		double t = g->t0_s + (double)k * per;
		int bar = (int)(((k % 4) + 4) % 4) * 4;
		for (int s = 0; s < 4; s++) {
			double ts = t + s * per / 4;
			x[0][bar + s] += low_attack(f, ts);
			x[1][bar + s] += odf_at(mid, f->flux_mid.n, ts);
			x[2][bar + s] += fmax(0, peak_near(f->fine.v, f->fine.n,
				analyze_fine_time(0), ANALYZE_FINE_FPS, ts,
				0.015, 0.015, NULL));
		}
		beats++;
	}
	if (beats < 8)
		return 0;

	/* Four on the floor: the kick decides. */
	const double *l = x[0];
	double top = 0, total = 0, at[4] = { 0 };
	for (int i = 0; i < SIXTEENTHS; i++) {
		top = fmax(top, l[i]);
		total += l[i];
	}
	int kick = -1;
	for (int q = 0; q < 4; q++) {
		double low = INFINITY;
		for (int j = 0; j < 4; j++) {
			low = fmin(low, l[4 * j + q]);
			at[q] += l[4 * j + q];
		}
		double others = (total - at[q]) / (SIXTEENTHS - 4);
		if (top > 0 && low >= FOUR_RATIO * top &&
		    at[q] / 4 >= FOUR_CONTRAST * others &&
		    (kick < 0 || at[q] > at[kick]))
			kick = q;
	}
	/* A kick drum stands apart from the sixteenths next to it; low-band
	 * attacks on two neighbouring sixteenths are a bass line's. */
	if (kick >= 0 && (at[kick] < FOUR_NEIGHBOUR * at[(kick + 1) % 4] ||
			  at[kick] < FOUR_NEIGHBOUR * at[(kick + 3) % 4]))
		kick = -1;
	log_debug("analyze: low-band attacks by sixteenth of the beat %.4g "
		  "%.4g %.4g %.4g, four on the floor at %d", at[0], at[1],
		  at[2], at[3], kick);
	if (kick >= 0)
		return at[kick] > PHASE_FLIP * at[0] + 1e-6 ? kick : 0;

	/* The drum pattern. */
	double score[4] = { 0 };
	for (int b = 0; b < 3; b++) {
		double sorted[SIXTEENTHS], ex[SIXTEENTHS], sum = 0;
		memcpy(sorted, x[b], sizeof(sorted));
		qsort(sorted, SIXTEENTHS, sizeof(*sorted), cmp_double);
		double med = 0.5 * (sorted[SIXTEENTHS / 2 - 1] +
				    sorted[SIXTEENTHS / 2]);
		for (int i = 0; i < SIXTEENTHS; i++) {
			ex[i] = fmax(0, x[b][i] - med);
			sum += ex[i];
		}
		if (!(sum > 0))
			continue;
		for (int q = 0; q < 4; q++)
			for (int j = 0; j < 8; j++)
				score[q] += (j % 2 ? PATTERN_OFFBEAT : 1.0) *
					    ex[(q + 2 * j) % SIXTEENTHS] / sum;
	}
	int best = 0;
	for (int q = 1; q < 4; q++)
		if (score[q] > score[best])
			best = q;
	log_debug("analyze: drum pattern by sixteenth of the beat %.3f %.3f "
		  "%.3f %.3f", score[0], score[1], score[2], score[3]);
	if (score[best] > PHASE_FLIP * score[0] + 1e-6)
		return best;
	if (score[0] > PHASE_FLIP * score[2] + 1e-6)
		return 0;
	/* The pattern cannot tell beat from off-beat (a tie within the
	 * margin): the kick's side, as before the pattern was asked. */
	return at[2] > PHASE_FLIP * at[0] + 1e-6 ? 2 : 0;
}

void analyze_beats(const struct analyze_features *f,
		   const struct analysis_params *p, struct analysis *out)
{
	float *o = NULL, *low = NULL, *mid = NULL;
	size_t n = f->flux.n;
	double a0 = f->audio_start_s, a1 = f->audio_end_s;
	double fine_end = analyze_fine_time((double)f->fine.n);
	double feat_end = analyze_frame_time((double)n);
	if (a1 > feat_end)
		a1 = feat_end;
	if (a1 > fine_end)
		a1 = fine_end;
	out->bpm = 0;
	if (a1 - a0 < MIN_AUDIO_S || n == 0)
		return;
	o = malloc(n * sizeof(*o));
	low = malloc(n * sizeof(*low));
	mid = malloc(n * sizeof(*mid));
	if (!o || !low || !mid)
		goto out;
	/* The tempo's onset function gives the low, mid and high bands equal
	 * weight: summed over all bins, hi-hats (broadband noise) would
	 * drown the kick and snare that carry the beat. */
	double mb[3] = { 0 };
	for (size_t i = 0; i < n; i++) {
		mb[0] += f->flux_low.v[i];
		mb[1] += f->flux_mid.v[i];
		mb[2] += (double)f->flux.v[i] - f->flux_low.v[i] - f->flux_mid.v[i];
	}
	double floor_b = 0.05 * (mb[0] + mb[1] + mb[2]) / (double)n + 1e-9;
	for (int b = 0; b < 3; b++)
		mb[b] = 1.0 / (mb[b] / (double)n + floor_b);
	for (size_t i = 0; i < n; i++) {
		double lo = f->flux_low.v[i], mi = f->flux_mid.v[i];
		double hi = (double)f->flux.v[i] - lo - mi;
		low[i] = (float)(lo * mb[0] + mi * mb[1] + hi * mb[2]);
	}
	detrend(low, n, (int)(0.5 * ANALYZE_FPS), o);
	detrend(f->flux_low.v, n, (int)(0.5 * ANALYZE_FPS), low);

	/* Tempo over the frames that hold audio. */
	long i0 = (long)ceil((a0 - analyze_frame_time(0)) * ANALYZE_FPS);
	long i1 = (long)floor((a1 - analyze_frame_time(0)) * ANALYZE_FPS);
	if (i0 < 0)
		i0 = 0;
	if (i1 > (long)n)
		i1 = (long)n;
	if (i1 - i0 < (long)(MIN_AUDIO_S * ANALYZE_FPS))
		goto out;
	double strength, rival;
	double bpm = tempo_estimate(o + i0, low + i0, (size_t)(i1 - i0), p,
				    &strength, &rival);
	if (!(bpm > 0))
		goto out;

	/* The phases unwrapped modulo half a beat, and modulo a quarter
	 * (hats on the sixteenths): the second only when its fit holds
	 * clearly more beats. Modulo a quarter alone, a fold whose peak
	 * moves by other parts of the beat bent three real tracks' tempi
	 * (HyperRogue's "Mirror" 72.05 to 71.16 BPM). */
	struct grid g, g4;
	memset(&g, 0, sizeof(g));
	memset(&g4, 0, sizeof(g4));
	grid_start(f->fine.v, f->fine.n, a0, a1, 60.0 / bpm, 2, &g);
	grid_fit(f->fine.v, f->fine.n, a0, a1, &g);
	grid_start(f->fine.v, f->fine.n, a0, a1, 60.0 / bpm, 4, &g4);
	grid_fit(f->fine.v, f->fine.n, a0, a1, &g4);
	log_debug("analyze: fit modulo half a beat %.3f BPM hits %.2f, "
		  "modulo a quarter %.3f BPM hits %.2f", 60.0 / g.period_s,
		  g.hit_share, 60.0 / g4.period_s, g4.hit_share);
	if (g4.hit_share > g.hit_share + UNWRAP_QUARTER_GAIN)
		g = g4;

	/* The fit sits on onsets, but which of them is the beat: the kick
	 * when it is four on the floor, else the whole drum pattern. */
	detrend(f->flux_mid.v, n, (int)(0.5 * ANALYZE_FPS), mid);
	int q = grid_phase(f, mid, a0, a1, &g);
	if (q) {
		/* Fitted again from the moved phase, to sit on the kick's
		 * own onsets. Where that fit loses the beats (Tumiki
		 * Fighters' "Panic on Meadow" went from 130.005 BPM, hits
		 * 0.99, to 130.437, hits 0.60), no steady onsets sit at the
		 * moved phase: the move is not trusted, the first fit
		 * stays. */
		struct grid refit = g;
		refit.t0_s += q * 0.25 * g.period_s;
		grid_fit(f->fine.v, f->fine.n, a0, a1, &refit);
		bool holds = refit.hit_share >= g.hit_share - REFIT_HITS_LOSS &&
			     fabs(refit.period_s / g.period_s - 1) <=
			     REFIT_PERIOD_MAX;
		log_debug("analyze: moved %d sixteenths, fitted again %.3f BPM "
			  "hits %.2f (%s)", q, 60.0 / refit.period_s,
			  refit.hit_share, holds ? "kept" : "the first fit "
			  "kept");
		g = holds ? refit : g;
	}
	if (!(g.period_s > 0))
		goto out;

	out->bpm = 60.0 / g.period_s;
	if (out->bpm < p->bpm_min * 0.98 || out->bpm > p->bpm_max * 1.02)
		out->bpm = bpm, g.period_s = 60.0 / bpm;
	double first = g.t0_s + ceil((a0 - 0.02 - g.t0_s) / g.period_s) *
		       g.period_s;
	out->first_beat_s = first < 0 ? 0 : first;
	out->grid_rms_ms = g.rms_ms;
	grid_windows(f, a1, &g, out);
	double period_strength = clampd(strength, 0, 1);
	double ambiguity = strength > 0 ? clampd(rival / strength, 0, 1) : 1;
	out->bpm_confidence = clampd(period_strength * (1.0 - 0.5 * ambiguity) *
				     (0.5 + 0.5 * out->grid_confidence), 0, 1);
	log_debug("analyze: tempo %.3f (comb %.3f, rival %.3f) grid %.3f BPM "
		  "first %.4f s hits %.2f rms %.1f ms", bpm, strength, rival,
		  out->bpm, out->first_beat_s, g.hit_share, g.rms_ms);
	downbeats(f, low, o, out);
out:
	free(o);
	free(low);
	free(mid);
}
