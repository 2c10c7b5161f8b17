/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * deck-align — how well the beats of the two decks line up in every
 * transition of a render, measured from the audio alone: the decks file
 * and the transitions log of `foreverfm render --decks FILE.wav
 * --transitions-log FILE` (doc/transitions.md, "Checking a mix from its
 * audio").
 *
 *   deck-align [--beat-threshold R] DECKS.wav TRANSITIONS.jsonl
 *
 * For transition i of the log (A on channels 1-2 when i is even, 3-4 when
 * it is odd; B on the other pair), over its overlap [position_s,
 * position_s + duration_s]:
 * - each deck's onset-strength envelopes, in hops of 128 frames (2.9 ms):
 *   the deck's mono sum split into BANDS bands (a 2nd-order low-pass at
 *   150 Hz, the kick; octave band-passes from 150 Hz to 9.6 kHz; a
 *   high-pass above, the hats), in each band the rise of the log energy
 *   (dB) of the last 1024 frames (Hann-weighted), less a 0.1 dB dead
 *   zone and half-wave rectified, the band's mean over the surrounding
 *   beat taken off and its level scaled to an RMS of 1: the spectral
 *   flux of every drum, each band weighing the same (a quiet kick under
 *   loud hats as much as they). Log energy does not care about the
 *   level, so a deck fading out keeps its onsets; the Hann weights and
 *   the dead zone keep the ripple of a steady tone's energy out, and
 *   taking the local mean off keeps out the fades and the bass swap,
 *   which raise a deck's level smoothly;
 * - the correlation: Pearson's, per lag, of A's bands over the middle
 *   60% of the overlap (the ends are where one deck is faded down) with
 *   B's bands shifted by each lag within 45% of a beat either way (of
 *   the pulse both share: bpm_from, or twice it when B plays at double
 *   time; 120 BPM when unknown), the bands side by side as one vector:
 *   B's kick answers A's kick, not A's hat on the same hop (summed into
 *   one envelope, eighth-note hats fit as well half a beat away);
 * - the verdict, by votes: that middle cut into up to 16 segments of 2
 *   beats or more, each correlated alone and voting for the lag it
 *   peaks at. The consensus is the lag (or the |lag|, either sign: a
 *   pattern that repeats every 2 |lag| peaks at both) most unlikely to
 *   gather its votes within 10 ms if votes fell at random over the
 *   window (a binomial tail times the number of such candidates); the
 *   measure decides when that chance is at most 1% and abstains when it
 *   is not: no distinct peak that the segments agree on. The lag is the
 *   whole correlation's highest value within 10 ms of the consensus,
 *   refined by a parabola through its neighbours (positive: B's beats
 *   come after A's); "at the window's end" where it is at the last lag
 *   (the decks are at least that far apart), "either sign" where votes
 *   came from both;
 * - a flag, "0 nearly as good", where the verdict is beyond WITHIN_MS but
 *   the whole correlation within AGREE_MS of 0 reaches NEAR_ZERO_SHARE of
 *   its value at the lag: decks whose onsets share one grid of sixteenths
 *   with accents that differ read like a deck a sixteenth late, and the
 *   correlation cannot tell which. The verdict stands; the summary counts
 *   them (beyond_near_zero);
 * - a second opinion: the same on the kick band alone, and a flag where
 *   both decide and differ by more than 20 ms (in size only, where
 *   either fits both signs);
 * - for information, whether each deck carries a beat: its envelope's
 *   periodicity, the median over windows of 8 beats (stepping 4) of the
 *   largest normalised autocorrelation at a lag within 3% of the beat
 *   period (the periods of bpm_from and of bpm_to moved by octaves next
 *   to it); at least R (--beat-threshold, 0.3) counts as a beat. The
 *   verdict does not depend on it: most real music measures under it.
 * One line per transition, then the summary over the beatmatched
 * transitions whose overlap the render did not cut: how many, how many
 * the measure decides, the median |lag| and the share within 20 ms of
 * those, and how often the kick band disagrees. The last line is
 * "summary: key=value ..." for scripts (bench/real-mix.sh).
 *
 * The decks file is read with seeks, one overlap at a time: a render of
 * hours costs the time to read its transitions.
 *
 * Exit: 0, 1 for a file that cannot be read, 2 for bad usage.
 */
#include "autoconfig.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 44100
#define HOP 128                  /* 2.9 ms */
#define WINDOW 1024              /* energy over 23 ms */
#define BANDS 8                  /* band 0 is the kick's */
#define LOW_HZ 150.0
#define HIGH_HZ 9600.0
#define FLOOR_DB -120.0
#define DEAD_ZONE_DB 0.1
#define READ_FRAMES 8192
#define PERIOD_TOLERANCE 0.03
#define PERIOD_WINDOW_BEATS 8
#define DEFAULT_BPM 120.0
#define SEARCH_BEATS 0.45        /* lags within this much of a beat */
#define EDGE_SHARE 0.2           /* the overlap's first and last 20% */
#define SEGMENTS_MAX 16          /* voters over the middle of the overlap */
#define SEGMENTS_MIN 4
#define SEGMENT_BEATS 2.0        /* a voter hears at least this */
#define AGREE_MS 10.0            /* a vote agrees within this of |lag| */
#define ALPHA 0.01               /* decided: votes this unlikely by chance */
#define WITHIN_MS 20.0
#define DISAGREE_MS 20.0
#define NEAR_ZERO_SHARE 0.9      /* 0 nearly as good: at least this of it */
#define MAX_TRANSITIONS 100000
#define MAX_OVERLAP_S 600.0

struct transition {
	char kind[32];
	double position_s, duration_s;
	double bpm_from, bpm_to;  /* 0 when unknown */
};

/* One correlation's answer. */
struct peak {
	double lag_ms;
	double value;             /* the whole correlation there */
	int votes;                /* segments that agree with it */
	int segments;             /* of how many */
	double chance;            /* of as many votes by chance */
	bool either_sign;         /* and some of them at -lag */
	bool edge;                /* at the end of the lags */
	bool decided;             /* enough votes */
	double at_zero;           /* the whole correlation's best within
				   * AGREE_MS of 0 */
};

struct result {
	struct peak all, kick;    /* every band's envelope, the kick's */
	double beat[2];           /* periodicity of A, of B */
	bool cut;                 /* the overlap runs past the file's end */
	bool empty;               /* no overlap to measure */
};

/* ------------------------------------------------------------------ */
/* The onset envelope.                                                 */

struct biquad {
	double b0, b1, b2, a1, a2;
	double x1, x2, y1, y2;
};

/* RBJ cookbook sections: low-pass and high-pass at Butterworth Q,
 * band-pass of Q (0 dB at the centre). */
enum biquad_kind { BIQUAD_LOW, BIQUAD_BAND, BIQUAD_HIGH };

static void biquad_design(struct biquad *f, enum biquad_kind kind,
			  double hz, double q)
{
	double w = 2 * M_PI * hz / RATE, c = cos(w);
	double alpha = sin(w) / (2 * q);
	double a0 = 1 + alpha;
	memset(f, 0, sizeof(*f));
	switch (kind) {
	case BIQUAD_LOW:
		f->b0 = (1 - c) / 2 / a0;
		f->b1 = (1 - c) / a0;
		f->b2 = f->b0;
		break;
	case BIQUAD_HIGH:
		f->b0 = (1 + c) / 2 / a0;
		f->b1 = -(1 + c) / a0;
		f->b2 = f->b0;
		break;
	case BIQUAD_BAND:
		f->b0 = alpha / a0;
		f->b1 = 0;
		f->b2 = -alpha / a0;
		break;
	}
	f->a1 = -2 * c / a0;
	f->a2 = (1 - alpha) / a0;
}

static double biquad_run(struct biquad *f, double x)
{
	double y = f->b0 * x + f->b1 * f->x1 + f->b2 * f->x2 - f->a1 * f->y1 -
		   f->a2 * f->y2;
	f->x2 = f->x1;
	f->x1 = x;
	f->y2 = f->y1;
	f->y1 = y;
	return y;
}

static double hann[WINDOW]; /* sums to WINDOW / 2 */

static void hann_init(void)
{
	for (size_t k = 0; k < WINDOW; k++)
		hann[k] = 0.5 - 0.5 * cos(2 * M_PI * ((double)k + 0.5) /
					  WINDOW);
}

/* One deck's envelopes as they are being built. */
struct onset {
	struct biquad band[BANDS];
	float hist[BANDS][WINDOW]; /* the last frames per band (circular) */
	size_t at;                 /* next slot in hist */
	double prev_db[BANDS];
	float *env[BANDS];         /* each band's rise per hop */
	size_t n, cap;
};

/* Band 0 the kick (below LOW_HZ), then octaves up to HIGH_HZ, then the
 * rest: log-spaced, so that each drum's own band sees its attack. */
static void onset_init(struct onset *o, size_t cap)
{
	float *env[BANDS];
	memcpy(env, o->env, sizeof(env));
	memset(o, 0, sizeof(*o));
	memcpy(o->env, env, sizeof(env));
	biquad_design(&o->band[0], BIQUAD_LOW, LOW_HZ, M_SQRT1_2);
	double lo = LOW_HZ, step = pow(HIGH_HZ / LOW_HZ, 1.0 / (BANDS - 2));
	/* Q of a band STEP wide: its centre over its width. */
	double q = sqrt(step) / (step - 1);
	for (int b = 1; b < BANDS - 1; b++, lo *= step)
		biquad_design(&o->band[b], BIQUAD_BAND, lo * sqrt(step), q);
	biquad_design(&o->band[BANDS - 1], BIQUAD_HIGH, HIGH_HZ, M_SQRT1_2);
	o->cap = cap;
	for (int b = 0; b < BANDS; b++)
		o->prev_db[b] = FLOOR_DB;
}

static void onset_add(struct onset *o, double mono)
{
	for (int b = 0; b < BANDS; b++)
		o->hist[b][o->at] = (float)biquad_run(&o->band[b], mono);
	o->at = (o->at + 1) % WINDOW;
}

/* The hop is complete: its onset strengths, kept when KEEP. */
static void onset_hop(struct onset *o, bool keep)
{
	bool room = keep && o->n < o->cap;
	for (int b = 0; b < BANDS; b++) {
		const float *h = o->hist[b];
		double e = 0;
		for (size_t k = 0; k < WINDOW; k++) {
			double v = h[(o->at + k) % WINDOW];
			e += hann[k] * v * v;
		}
		double db = 10 * log10(e / (WINDOW / 2) + 1e-12);
		if (db < FLOOR_DB)
			db = FLOOR_DB;
		double r = db - o->prev_db[b] - DEAD_ZONE_DB;
		if (room)
			o->env[b][o->n] = (float)(r > 0 ? r : 0);
		o->prev_db[b] = db;
	}
	o->n += room;
}
/* Both decks' envelopes over output frames [from, to) of the file (TOTAL
 * frames, 4 channels): pair p of env. Reading starts a window and a
 * filter settling time early, so that the first hop is a whole one.
 * Returns 0 or -1 (read error, said). */
static int envelopes(SNDFILE *sf, sf_count_t total, sf_count_t from,
		     sf_count_t to, struct onset env[2], float *buf)
{
	sf_count_t start = from - WINDOW - 16 * HOP;
	if (start < 0)
		start = 0;
	if (to > total)
		to = total;
	/* Hops are counted from FROM; earlier ones only prime. */
	sf_count_t at = from - ((from - start) / HOP) * HOP;
	if (sf_seek(sf, at, SEEK_SET) != at) {
		fprintf(stderr, "deck-align: seek: %s\n", sf_strerror(sf));
		return -1;
	}
	size_t in_hop = 0;
	while (at < to) {
		sf_count_t want = to - at < READ_FRAMES ? to - at : READ_FRAMES;
		sf_count_t got = sf_readf_float(sf, buf, want);
		if (got <= 0) {
			fprintf(stderr, "deck-align: read: %s\n",
				got < 0 ? sf_strerror(sf) : "unexpected end");
			return -1;
		}
		for (sf_count_t i = 0; i < got; i++) {
			for (int p = 0; p < 2; p++)
				onset_add(&env[p],
					  0.5 * ((double)buf[4 * i + 2 * p] +
						 buf[4 * i + 2 * p + 1]));
			if (++in_hop == HOP) {
				in_hop = 0;
				bool keep = at + i + 1 > from;
				onset_hop(&env[0], keep);
				onset_hop(&env[1], keep);
			}
		}
		at += got;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Correlations.                                                       */

/* x minus its moving average over 2 HALF + 1 hops (clipped at the ends),
 * into out. */
static void detrend(const float *x, float *out, size_t n, size_t half)
{
	double s = 0;
	size_t lo = 0, hi = 0; /* the average covers [lo, hi) */
	for (size_t i = 0; i < n; i++) {
		size_t want_lo = i > half ? i - half : 0;
		size_t want_hi = i + half + 1 < n ? i + half + 1 : n;
		while (hi < want_hi)
			s += x[hi++];
		while (lo < want_lo)
			s -= x[lo++];
		out[i] = (float)(x[i] - s / (double)(hi - lo));
	}
}

/* x[0..n) scaled to a root mean square of 1 (unless all 0): each band
 * then weighs the same in the correlation, the kick's steady thumps as
 * much as the hats' noisy bursts, whose rises in dB are larger. */
static void unit_rms(float *x, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	e = sqrt(e / (double)(n ? n : 1));
	for (size_t i = 0; e > 0 && i < n; i++)
		x[i] = (float)(x[i] / e);
}

/* Pearson correlation of bands [b0, b1) of A over hops [i0, i1) with
 * the same bands of B over [i0 + lag, i1 + lag), each band's mean taken
 * off: the bands side by side as one vector, so that B's kick answers
 * A's kick and not A's hat on the same hop. */
static double pearson_at(float *const *a, float *const *b, int b0, int b1,
			 size_t i0, size_t i1, long lag)
{
	double cov = 0, va = 0, vb = 0;
	double m = (double)(i1 - i0);
	for (int k = b0; k < b1; k++) {
		const float *x = a[k], *y = b[k] + lag;
		double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
		for (size_t i = i0; i < i1; i++) {
			double u = x[i], v = y[i];
			sa += u;
			sb += v;
			saa += u * u;
			sbb += v * v;
			sab += u * v;
		}
		cov += sab - sa * sb / m;
		va += saa - sa * sa / m;
		vb += sbb - sb * sb / m;
	}
	return va > 0 && vb > 0 ? cov / sqrt(va * vb) : 0;
}

/* The correlation of bands [b0, b1) of A over [i0, i1) with B's at
 * lags -MAX_LAG..MAX_LAG hops into c (2 MAX_LAG + 1 values); returns the
 * lag of the highest value within [lo, hi]. */
static long xcorr_curve(float *const *a, float *const *b, int b0, int b1,
			size_t i0, size_t i1, long max_lag, long lo, long hi,
			double *c)
{
	long best = lo;
	for (long l = -max_lag; l <= max_lag; l++) {
		c[l + max_lag] = pearson_at(a, b, b0, b1, i0, i1, l);
		if (l >= lo && l <= hi && c[l + max_lag] > c[best + max_lag])
			best = l;
	}
	return best;
}

/* The chance of at least M successes in K trials of chance P. */
static double binomial_tail(int m, int k, double p)
{
	double sum = 0;
	if (p >= 1)
		return 1;
	for (int j = m; j <= k; j++)
		sum += exp(lgamma(k + 1.0) - lgamma(j + 1.0) -
			   lgamma(k - j + 1.0) + j * log(p) +
			   (k - j) * log1p(-p));
	return fmin(sum, 1);
}

/* The lag of bands [b0, b1) of the decks over [i0, i1) (hops; B's
 * envelopes are read MAX_LAG hops either side), judged by votes: each
 * of K equal segments of it (SEGMENT_BEATS beats or more, at most
 * SEGMENTS_MAX; BEAT_HOPS a beat) correlated alone votes for the lag it
 * peaks at, none where that peak is not positive (a deck without
 * onsets there). A candidate, a lag or a |lag| of either sign (a pattern
 * that repeats every 2 |lag|, eighth-note hats with the decks a
 * sixteenth apart, peaks at both), gathers the votes within AGREE_MS of
 * it. Its chance is that of so many votes or more if they fell
 * uniformly over the lags (a binomial tail, the share of the lags within
 * AGREE_MS of the candidate the chance of one vote), times the number of
 * disjoint candidates of both kinds in the window; the candidate least
 * likely by chance is decided when that is at most ALPHA. The lag is
 * then the whole correlation's highest value within AGREE_MS of the
 * candidate (of a |lag|, on the side most of its votes are), refined by
 * a parabola through its neighbours. C holds 2 MAX_LAG + 1 values. */
static void xcorr_judge(float *const *a, float *const *b, int b0, int b1,
			size_t i0, size_t i1, long max_lag, double beat_hops,
			double *c, struct peak *p)
{
	long vote[SEGMENTS_MAX];
	int n_votes = 0, k_seg;
	size_t len = i1 - i0;
	long agree = (long)floor(AGREE_MS / 1000.0 * RATE / HOP);
	long n_lags = 2 * max_lag + 1;

	memset(p, 0, sizeof(*p));
	p->chance = 1;
	k_seg = (int)fmin(SEGMENTS_MAX,
			  floor((double)len / (SEGMENT_BEATS * beat_hops)));
	p->segments = k_seg;
	if (k_seg < SEGMENTS_MIN)
		return;
	for (int k = 0; k < k_seg; k++) {
		size_t s0 = i0 + len * (size_t)k / (size_t)k_seg;
		size_t s1 = i0 + len * (size_t)(k + 1) / (size_t)k_seg;
		long l = xcorr_curve(a, b, b0, b1, s0, s1, max_lag, -max_lag,
				     max_lag, c);
		if (c[l + max_lag] > 0)
			vote[n_votes++] = l;
	}
	(void)xcorr_curve(a, b, b0, b1, i0, i1, max_lag, 0, 0, c);
	/* The family: the disjoint candidates of either kind in the window,
	 * signed and folded. */
	double family = fmax(1, (double)(n_lags + max_lag + 1) /
				(double)(2 * agree + 1));
	long centre = 0;
	int most = 0;
	bool folded = false;
	double best_chance = 2;
	for (int k = 0; k < 2 * n_votes; k++) {
		bool fold = k >= n_votes;
		long cand = fold ? labs(vote[k - n_votes]) : vote[k];
		long target = 0;
		int count = 0;
		for (int j = 0; j < n_votes; j++)
			count += fold ? labs(labs(vote[j]) - cand) <= agree
				      : labs(vote[j] - cand) <= agree;
		for (long l = -max_lag; l <= max_lag; l++)
			target += fold ? labs(labs(l) - cand) <= agree
				       : labs(l - cand) <= agree;
		double chance = fmin(1, family *
				     binomial_tail(count, k_seg,
						   (double)target /
						   (double)n_lags));
		if (chance < best_chance) {
			best_chance = chance;
			most = count;
			centre = cand;
			folded = fold;
		}
	}
	if (n_votes == 0)
		return;
	int plus = 0, minus = 0;
	for (int k = 0; folded && k < n_votes; k++) {
		if (labs(labs(vote[k]) - centre) > agree)
			continue;
		plus += vote[k] > 0;
		minus += vote[k] < 0;
	}
	/* Folded: on the side most of its votes are. */
	if (folded && (minus > plus || (minus == plus &&
					c[-centre + max_lag] >
						c[centre + max_lag])))
		centre = -centre;
	long lo = centre - agree, hi = centre + agree;
	if (lo < -max_lag)
		lo = -max_lag;
	if (hi > max_lag)
		hi = max_lag;
	long best = lo;
	for (long l = lo; l <= hi; l++)
		if (c[l + max_lag] > c[best + max_lag])
			best = l;
	double top = c[best + max_lag];
	p->value = top;
	p->votes = most;
	p->chance = best_chance;
	p->either_sign = folded && labs(centre) > agree &&
			 (plus < minus ? plus : minus) > 0;
	p->edge = best == -max_lag || best == max_lag;
	double lag = (double)best;
	if (!p->edge) {
		double l0 = c[best - 1 + max_lag], l1 = c[best + 1 + max_lag];
		double den = l0 - 2 * top + l1;
		if (den < 0)
			lag += 0.5 * (l0 - l1) / den;
	}
	p->lag_ms = lag * HOP * 1000.0 / RATE;
	p->decided = best_chance <= ALPHA;
	p->at_zero = -INFINITY;
	for (long l = -agree; l <= agree; l++)
		if (l >= -max_lag && l <= max_lag)
			p->at_zero = fmax(p->at_zero, c[l + max_lag]);
}

/* A verdict beyond WITHIN_MS whose whole correlation is nearly as high
 * at 0 (NEAR_ZERO_SHARE of its peak): decks whose onsets share one grid
 * of sixteenths with accents that differ read like a deck a sixteenth
 * late, and the correlation cannot tell the two apart. Flagged, not
 * changed. */
static bool near_zero(const struct peak *p)
{
	return p->decided && fabs(p->lag_ms) > WITHIN_MS && p->value > 0 &&
	       p->at_zero >= NEAR_ZERO_SHARE * p->value;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The largest normalised autocorrelation of x[0..n) (its own mean
 * removed) at lags LO..HI hops. */
static double autocorr_max(const float *x, size_t n, long lo, long hi)
{
	double m = 0, best = 0;
	for (size_t i = 0; i < n; i++)
		m += x[i];
	m /= (double)n;
	for (long l = lo; l <= hi && (size_t)l < n; l++) {
		double s = 0, e0 = 0, e1 = 0;
		for (size_t i = 0; i + (size_t)l < n; i++) {
			double u = x[i] - m, v = x[i + (size_t)l] - m;
			s += u * v;
			e0 += u * u;
			e1 += v * v;
		}
		if (e0 > 0 && e1 > 0 && s / sqrt(e0 * e1) > best)
			best = s / sqrt(e0 * e1);
	}
	return best;
}

/* The beat periods (hops) where a deck of transition T should repeat:
 * bpm_from's, and bpm_to's moved by octaves next to it, widened by the
 * tolerance. */
static void beat_lags(const struct transition *t, long *lo, long *hi)
{
	double from = t->bpm_from > 0 ? t->bpm_from : DEFAULT_BPM;
	double to = t->bpm_to > 0 ? t->bpm_to : from;
	while (to > from * M_SQRT2)
		to /= 2;
	while (to < from / M_SQRT2)
		to *= 2;
	double p0 = 60.0 / fmax(from, to) * RATE / HOP;
	double p1 = 60.0 / fmin(from, to) * RATE / HOP;
	*lo = (long)floor(p0 * (1 - PERIOD_TOLERANCE));
	*hi = (long)ceil(p1 * (1 + PERIOD_TOLERANCE));
}

/* Periodicity of envelope x (n hops): the median over windows of
 * PERIOD_WINDOW_BEATS beats, stepping half that, of autocorr_max. */
static double periodicity(const float *x, size_t n,
			  const struct transition *t, double *scratch,
			  size_t scratch_cap)
{
	long lo, hi;
	beat_lags(t, &lo, &hi);
	size_t win = (size_t)(PERIOD_WINDOW_BEATS * (double)hi);
	if (n < (size_t)hi * 2)
		return 0;
	if (win > n)
		win = n;
	size_t k = 0;
	for (size_t at = 0; at + win <= n && k < scratch_cap; at += win / 2)
		scratch[k++] = autocorr_max(x + at, win, lo, hi);
	return median(scratch, k);
}

/* ------------------------------------------------------------------ */
/* The log.                                                            */

static double number_or_zero(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : 0;
}

/* Reads the transitions log; returns how many, or -1 (said). */
static long read_log(const char *path, struct transition *t, size_t max)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long n = 0, lineno = 0;

	if (!fp) {
		fprintf(stderr, "deck-align: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) > 0) {
		json_error_t err;
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		json_t *o = json_loads(line, 0, &err);
		json_t *pos = o ? json_object_get(o, "position_s") : NULL;
		json_t *dur = o ? json_object_get(o, "duration_s") : NULL;
		json_t *kind = o ? json_object_get(o, "kind") : NULL;
		if (!json_is_number(pos) || !json_is_number(dur) ||
		    !json_is_string(kind)) {
			fprintf(stderr, "deck-align: %s:%ld: not a transition "
				"(%s)\n", path, lineno,
				o ? "position_s, duration_s and kind needed"
				  : err.text);
			json_decref(o);
			n = -1;
			break;
		}
		if ((size_t)n == max) {
			fprintf(stderr, "deck-align: %s: more than %zu "
				"transitions\n", path, max);
			json_decref(o);
			n = -1;
			break;
		}
		struct transition *x = &t[n++];
		snprintf(x->kind, sizeof(x->kind), "%s",
			 json_string_value(kind));
		x->position_s = json_number_value(pos);
		x->duration_s = json_number_value(dur);
		x->bpm_from = number_or_zero(o, "bpm_from");
		x->bpm_to = number_or_zero(o, "bpm_to");
		json_decref(o);
	}
	if (n >= 0 && ferror(fp)) {
		fprintf(stderr, "deck-align: %s: %s\n", path, strerror(errno));
		n = -1;
	}
	free(line);
	fclose(fp);
	return n;
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: deck-align [--beat-threshold R] DECKS.wav "
		"TRANSITIONS.jsonl\n");
}

/* Work space for measure(), sized for the longest overlap. */
struct work {
	struct onset env[2];
	float *buf;               /* READ_FRAMES frames of 4 channels */
	float *flat[2][BANDS];    /* detrended: A's bands, B's */
	float *sum[2];            /* A's bands summed, B's */
	double *scratch;          /* periodicity windows, correlations */
	size_t cap;               /* hops per envelope */
};

/* Transition T (number INDEX) into *r, deciding at MIN_Z. Returns 0 or
 * -1 (a read error, said). */
static int measure(SNDFILE *sf, sf_count_t total, const struct transition *t,
		   size_t index, struct work *w,
		   struct result *r)
{
	memset(r, 0, sizeof(*r));
	sf_count_t from = (sf_count_t)llround(t->position_s * RATE);
	sf_count_t to = (sf_count_t)llround((t->position_s +
					     fmin(t->duration_s,
						  MAX_OVERLAP_S)) * RATE);
	r->cut = to > total;
	if (to > total)
		to = total;
	if (from < 0 || to - from < 4 * WINDOW) {
		r->empty = true;
		return 0;
	}
	for (int p = 0; p < 2; p++)
		onset_init(&w->env[p], w->cap);
	if (envelopes(sf, total, from, to, w->env, w->buf) < 0)
		return -1;
	/* A on pair index % 2. */
	struct onset *a = &w->env[index % 2], *b = &w->env[1 - index % 2];
	size_t n = a->n < b->n ? a->n : b->n;
	/* The pulse both decks share: A's beat, or B's when B plays at
	 * double time (its beats fall on A's beats and off-beats, so a lag
	 * of one of B's beats is no misalignment). */
	double bpm = t->bpm_from > 0 ? t->bpm_from : DEFAULT_BPM;
	if (t->bpm_from > 0 && t->bpm_to > 1.5 * t->bpm_from)
		bpm = 2 * t->bpm_from;
	double beat_hops = 60.0 / bpm * RATE / HOP;
	long max_lag = (long)floor(SEARCH_BEATS * beat_hops);
	size_t half = (size_t)floor(0.5 * beat_hops);
	for (int d = 0; d < 2; d++) {
		struct onset *o = d ? b : a;
		memset(w->sum[d], 0, n * sizeof(float));
		for (int k = 0; k < BANDS; k++) {
			detrend(o->env[k], w->flat[d][k], n, half);
			unit_rms(w->flat[d][k], n);
			for (size_t i = 0; i < n; i++)
				w->sum[d][i] += w->flat[d][k][i];
		}
		r->beat[d] = periodicity(w->sum[d], n, t, w->scratch, w->cap);
	}
	/* A's middle 60%, B's around it by up to MAX_LAG: where the
	 * overlap is too short for that margin, less of A. */
	size_t edge = (size_t)((double)n * EDGE_SHARE);
	if (edge < (size_t)max_lag)
		edge = (size_t)max_lag;
	if (n < 2 * edge + SEGMENTS_MIN) {
		r->empty = true;
		return 0;
	}
	xcorr_judge(w->flat[0], w->flat[1], 0, BANDS, edge, n - edge, max_lag,
		    beat_hops, w->scratch, &r->all);
	xcorr_judge(w->flat[0], w->flat[1], 0, 1, edge, n - edge, max_lag,
		    beat_hops, w->scratch, &r->kick);
	return 0;
}

/* Reads a number 0..MAX from option OPT's ARG into *v; false (said) when
 * it is not one. */
static bool option_number(const char *opt, const char *arg, double max,
			  double *v)
{
	char *end;
	*v = strtod(arg, &end);
	if (end == arg || *end || !(*v >= 0 && *v <= max)) {
		fprintf(stderr, "deck-align: %s: a number 0..%g, got '%s'\n",
			opt, max, arg);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	double threshold = 0.3;
	int argi = 1, rc = 1;
	struct transition *t = NULL;
	struct result *res = NULL;
	double *lags = NULL;
	struct work w = { .buf = NULL };
	SNDFILE *sf = NULL;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	while (argc - argi > 2 && argv[argi][0] == '-') {
		if (strcmp(argv[argi], "--beat-threshold") == 0) {
			if (!option_number(argv[argi], argv[argi + 1], 1,
					   &threshold))
				return 2;
		} else {
			break;
		}
		argi += 2;
	}
	if (argc - argi != 2) {
		usage(stderr);
		return 2;
	}
	const char *decks_path = argv[argi], *log_path = argv[argi + 1];
	hann_init();

	SF_INFO si = { 0 };
	if (!(sf = sf_open(decks_path, SFM_READ, &si))) {
		fprintf(stderr, "deck-align: %s: %s\n", decks_path,
			sf_strerror(NULL));
		goto out;
	}
	if (si.channels != 4 || si.samplerate != RATE) {
		fprintf(stderr, "deck-align: %s: %d channels at %d Hz; a decks "
			"file has 4 at %d\n", decks_path, si.channels,
			si.samplerate, RATE);
		goto out;
	}
	t = calloc(MAX_TRANSITIONS, sizeof(*t));
	if (!t)
		goto nomem;
	long n_t = read_log(log_path, t, MAX_TRANSITIONS);
	if (n_t < 0)
		goto out;
	w.cap = (size_t)(MAX_OVERLAP_S * RATE / HOP) + 16;
	res = calloc((size_t)n_t + 1, sizeof(*res));
	lags = calloc((size_t)n_t + 1, sizeof(*lags));
	w.buf = malloc(READ_FRAMES * 4 * sizeof(*w.buf));
	w.scratch = malloc(w.cap * sizeof(*w.scratch));
	if (!res || !lags || !w.buf || !w.scratch)
		goto nomem;
	for (int d = 0; d < 2; d++) {
		if (!(w.sum[d] = malloc(w.cap * sizeof(float))))
			goto nomem;
		for (int k = 0; k < BANDS; k++)
			if (!(w.flat[d][k] = malloc(w.cap * sizeof(float))) ||
			    !(w.env[d].env[k] = malloc(w.cap * sizeof(float))))
				goto nomem;
	}

	printf("deck-align: %s, %.1f s, %ld transitions; decides where the "
	       "segments' votes within %.0f ms have a chance <= %g; a deck "
	       "carries a beat at periodicity >= %.2f\n", decks_path,
	       (double)si.frames / RATE, n_t, AGREE_MS, ALPHA, threshold);
	printf("%4s %-12s %9s %15s %9s %6s %5s %7s %9s %5s %6s %6s  %s\n",
	       "#", "kind", "at (s)", "BPM", "lag (ms)", "corr", "votes",
	       "chance", "kick (ms)", "votes", "beat A", "beat B", "verdict");
	size_t n_beat = 0, n_eligible = 0, n_decided = 0, n_within = 0;
	size_t n_both = 0, n_both_decided = 0, n_kick = 0, n_disagree = 0;
	size_t n_near_zero = 0;
	for (long i = 0; i < n_t; i++) {
		struct result *r = &res[i];
		if (measure(sf, si.frames, &t[i], (size_t)i, &w, r) < 0)
			goto out;
		char bpm[32];
		if (t[i].bpm_from > 0 && t[i].bpm_to > 0)
			snprintf(bpm, sizeof(bpm), "%.1f->%.1f", t[i].bpm_from,
				 t[i].bpm_to);
		else
			snprintf(bpm, sizeof(bpm), "-");
		bool beatmatched = strcmp(t[i].kind, "beatmatched") == 0;
		bool both = r->beat[0] >= threshold && r->beat[1] >= threshold;
		/* Where either sign fits, only the sizes can disagree. */
		bool either = r->all.either_sign || r->kick.either_sign;
		bool disagree = r->all.decided && r->kick.decided &&
				(either ? fabs(fabs(r->all.lag_ms) -
					       fabs(r->kick.lag_ms))
					: fabs(r->all.lag_ms -
					       r->kick.lag_ms)) > DISAGREE_MS;
		if (r->empty) {
			printf("%4ld %-12s %9.2f %15s %9s %6s %5s %7s %9s %5s "
			       "%6s %6s  %s\n", i, t[i].kind, t[i].position_s,
			       bpm, "-", "-", "-", "-", "-", "-", "-", "-",
			       "(no overlap)");
		} else {
			char kick[16];
			if (r->kick.decided)
				snprintf(kick, sizeof(kick), "%+.2f",
					 r->kick.lag_ms);
			else
				snprintf(kick, sizeof(kick), "-");
			char votes[2][16];
			snprintf(votes[0], sizeof(votes[0]), "%d/%d",
				 r->all.votes, r->all.segments);
			snprintf(votes[1], sizeof(votes[1]), "%d/%d",
				 r->kick.votes, r->kick.segments);
			printf("%4ld %-12s %9.2f %15s %+9.2f %6.3f %5s %7.0e "
			       "%9s %5s %6.3f %6.3f  %s%s%s%s%s%s%s\n", i,
			       t[i].kind, t[i].position_s, bpm, r->all.lag_ms,
			       r->all.value, votes[0], r->all.chance, kick,
			       votes[1], r->beat[0], r->beat[1],
			       r->all.decided ? "decided" : "abstains",
			       r->all.either_sign ? " (either sign)" : "",
			       near_zero(&r->all) ? " (0 nearly as good)" : "",
			       r->all.edge ? " (at the window's end)" : "",
			       disagree ? " (kick disagrees)" : "",
			       both ? " (beat on both)" : "",
			       r->cut ? " (cut by the end)" : "");
		}
		if (!beatmatched)
			continue;
		n_beat++;
		if (r->empty || r->cut)
			continue;
		n_eligible++;
		n_both += both;
		if (!r->all.decided)
			continue;
		n_decided++;
		n_both_decided += both;
		n_kick += r->kick.decided;
		n_disagree += disagree;
		lags[n_decided - 1] = fabs(r->all.lag_ms);
		n_within += fabs(r->all.lag_ms) <= WITHIN_MS;
		n_near_zero += near_zero(&r->all);
	}
	double med = median(lags, n_decided);
	double share = n_decided ? 100.0 * (double)n_within /
					   (double)n_decided : NAN;
	printf("beatmatched: %zu of %ld, not cut: %zu; decided: %zu", n_beat,
	       n_t, n_eligible, n_decided);
	if (n_decided)
		printf("; median |lag| %.2f ms; within %.0f ms: %zu (%.0f%%); "
		       "the kick band decides %zu of them and disagrees by "
		       "more than %.0f ms on %zu; of those beyond, %zu read "
		       "nearly as well at 0\n", med, WITHIN_MS, n_within,
		       share, n_kick, DISAGREE_MS, n_disagree, n_near_zero);
	else
		printf("; no lag to summarise\n");
	printf("summary: transitions=%ld beatmatched=%zu eligible=%zu "
	       "measured=%zu decided_pct=%.1f median_abs_lag_ms=%.2f "
	       "within_20ms=%zu within_20ms_pct=%.1f kick_decided=%zu "
	       "kick_disagree=%zu beat_both=%zu beat_both_decided=%zu "
	       "beyond_near_zero=%zu\n",
	       n_t, n_beat, n_eligible, n_decided,
	       n_eligible ? 100.0 * (double)n_decided / (double)n_eligible
			  : NAN, med, n_within, share, n_kick, n_disagree,
	       n_both, n_both_decided, n_near_zero);
	rc = fflush(stdout) == 0 ? 0 : 1;
	goto out;
nomem:
	fprintf(stderr, "deck-align: out of memory\n");
out:
	if (sf)
		sf_close(sf);
	for (int d = 0; d < 2; d++) {
		free(w.sum[d]);
		for (int k = 0; k < BANDS; k++) {
			free(w.flat[d][k]);
			free(w.env[d].env[k]);
		}
	}
	free(w.scratch);
	free(w.buf);
	free(lags);
	free(res);
	free(t);
	return rc;
}
