/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * grid-check — an independent judge of a track's beat grid, from the audio.
 * It shares no code with src/analyze*.c (only the decoder), so that it can
 * say whether the analysis is right.
 *
 *   grid-check [--summary] [--env kick|broad] < analysis.jsonl
 *   grid-check [--summary] [--env kick|broad] --bpm X [--first-beat Y] FILE
 *
 * The JSON lines are those of `foreverfm analyze --json` (fields "path",
 * "bpm", "first_beat"). Run by hand; tests/test_grid_check.sh checks it on
 * a generated click track.
 *
 * For each track it decodes the audio (decode.h), mixes it to mono and
 * builds two onset envelopes at hops of GC_HOP samples (2.9 ms), each the
 * half-wave-rectified rise, in dB, of the mean power of the next
 * GC_RISE_HOPS hops over the previous GC_RISE_HOPS (~17 ms each): the kick
 * band (a 4th-order Butterworth low-pass at GC_KICK_HZ, as two biquads,
 * shifted back by its group delay) and the whole band, for tracks without
 * a kick. The kick envelope is used when its windows fold sharply (median
 * sharpness >= GC_SHARP_MIN), else the broadband one (--env forces one);
 * the other is reported beside it as a cross-check.
 *
 * DESIGN. The envelope is folded at the grid's period in consecutive
 * GC_WINDOW_S windows (and a last partial one of at least GC_MIN_WINDOW_S):
 * a histogram of onset strength by beat phase (GC_BINS bins, each the mean
 * of the hops that fall in it, so that an uneven coverage of the phases
 * makes no peak; smoothed over ~3 bins). Sharpness = peak / mean (1 = no
 * beat at this period). A window's offset is the phase of a peak
 * (parabolically refined) in ms, in (-period/2, +period/2], positive when
 * the music's onsets come after the grid's beats: the highest peak of the
 * window that agrees best with the whole track's fold, and from there
 * outwards, window by window, of the peaks within GC_ALT_PEAK_RATIO of the
 * highest, the one that continues its neighbour within GC_TRACK_MS
 * (channel_track; marked '*' when it is not the highest). Over
 * the sharp windows: spread (max - min of the unwrapped offsets) and drift
 * (least squares slope, ms per minute), and the jumps: steps of more than
 * GC_TRACK_MS between neighbouring sharp windows, which tell sections that
 * sit at another part of the beat from a drift; "right" counts the sharp
 * windows within GC_RIGHT_MS of the grid's beat. The best constant tempo is
 * the one of the grid's +-GC_SEARCH_REL, in steps of GC_SEARCH_STEP_REL, whose
 * whole-track fold is sharpest; its peak is the phase error of first_beat
 * at that tempo. The verdict follows the thresholds below.
 *
 * Output: one line of key=value fields per track, or with --summary one
 * table row per track and totals by verdict. Exit 0; 1 when a track had no
 * grid in its JSON or did not decode; 2 on a usage error.
 */
#include "autoconfig.h"

#include "decode.h"

#include <complex.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_HOP 128                 /* samples per envelope hop (2.9 ms) */
#define GC_RISE_HOPS 6             /* hops compared each side (~17 ms) */
/* Kick band: low-pass cut-off. Not 150 Hz: a pitch-swept kick starts near
 * 200 Hz and falls to 50 Hz in ~100 ms, and below 150 Hz its onset read
 * 60-80 ms late (nexuiz "sixtyfour", whose kick the spectrogram shows on
 * the grid). */
#define GC_KICK_HZ 200.0
#define GC_KICK_DELAY_AT_HZ 60.0   /* group delay compensated at this freq */
#define GC_LOG_FLOOR 1e-8          /* -80 dBFS: floor of the log powers */
#define GC_BINS 200                /* phase histogram bins over one beat */
#define GC_WINDOW_S 30.0           /* fold window */
#define GC_MIN_WINDOW_S 10.0       /* shortest last (partial) window */
#define GC_MAX_SECONDS 7200.0      /* longer tracks are refused */
#define GC_MAX_WINDOWS 241         /* GC_MAX_SECONDS / GC_WINDOW_S + 1 */
#define GC_SEARCH_REL 0.003        /* best tempo: grid BPM +- 0.3 % ... */
#define GC_SEARCH_STEP_REL 0.000005 /* ... in steps of 0.0005 % */
#define GC_LINE_MAX 65536          /* longest JSON line read */
#define GC_NAME_MAX 256
#define GC_MAX_PEAKS 4             /* candidate peaks kept per fold */

/* Verdict thresholds. A fold whose peak is less than twice its mean has no
 * beat at that period (a random envelope gives ~1.2-1.5). Within 15 ms a
 * mix is beatmatched to the ear (a flam starts to be heard at ~20 ms); a
 * drift of 5 ms per minute puts a 2-minute crossfade 10 ms apart, and 30 ms
 * between the earliest and latest sharp windows is a heard flam. The
 * verdict is the first that applies: too-short (no window), no-beat (median
 * sharpness < GC_SHARP_MIN), steady-right (every sharp window within
 * GC_RIGHT_MS of 0), off-beat (every one within GC_RIGHT_MS of half a
 * beat), drifting (|drift| >= GC_DRIFT_MS_PER_MIN or spread >
 * GC_SPREAD_MS), else steady-offset (steady, but off by more than
 * GC_RIGHT_MS). */
#define GC_SHARP_MIN 2.0
#define GC_RIGHT_MS 15.0
#define GC_DRIFT_MS_PER_MIN 5.0
#define GC_SPREAD_MS 30.0

/* A window's fold can have two peaks: a kick and an off-beat bass, or every
 * other kick of a grid at half the music's tempo. A constant grid cannot
 * jump by part of a beat and come back, so a window whose second peak (of
 * at least this share of the first) continues its neighbours' offset takes
 * that peak: see channel_track. */
#define GC_ALT_PEAK_RATIO 0.6
/* ... and the second peak must be within this of the neighbour's offset
 * (a drift of 30 ms/min moves 15 ms per window); else the highest peak is
 * taken, so the choice cannot walk off by steps to another part of the
 * beat. */
#define GC_TRACK_MS 30.0

enum gc_verdict {
	GC_STEADY_RIGHT,
	GC_OFF_BEAT,
	GC_DRIFTING,
	GC_STEADY_OFFSET, /* steady, but neither on the beat nor the half */
	GC_NO_BEAT,
	GC_TOO_SHORT,     /* shorter than GC_MIN_WINDOW_S: no window */
	GC_FAILED,        /* no grid in the JSON, or the file did not decode */
	GC_VERDICTS
};

static const char *const verdict_names[GC_VERDICTS] = {
	"steady-right", "off-beat", "drifting", "steady-offset", "no-beat",
	"too-short", "failed",
};

/* The two onset envelopes of one track, one value per hop: value i is the
 * rise across the boundary at sample i * GC_HOP. An attack anywhere in hop
 * i rises most there, so the onset it stands for is at (i + 1/2) * GC_HOP
 * on average. Owned by the struct. */
struct envelope {
	float *kick;
	float *broad;
	size_t n;
};

/* A fold's peaks: [0] the highest, then the other local maxima of at least
 * GC_ALT_PEAK_RATIO of its height that are sharp themselves, highest
 * first. */
struct fold {
	double sharpness;
	int peaks;
	double peak_ms[GC_MAX_PEAKS];   /* (-period/2, +period/2] */
	double peak_sharp[GC_MAX_PEAKS];
};

/* The windows of one envelope, and what they say. */
struct channel {
	size_t windows;
	struct fold win[GC_MAX_WINDOWS];
	double offset_ms[GC_MAX_WINDOWS];    /* the peak chosen, wrapped */
	double unwrapped_ms[GC_MAX_WINDOWS]; /* the same, unwrapped */
	bool alt[GC_MAX_WINDOWS];            /* chosen peak is not the top */
	double median_sharpness;
	size_t sharp_windows;
	size_t alt_windows;
	size_t jumps;      /* steps > GC_TRACK_MS between sharp neighbours */
	size_t right_windows; /* sharp windows within GC_RIGHT_MS of 0 */
	double spread_ms;
	double drift_ms_per_min;
	double median_offset_ms;
	bool half_beat;
};

enum { CH_KICK, CH_BROAD, CH_COUNT };

static const char *const channel_names[CH_COUNT] = { "kick", "broad" };

struct report {
	char name[GC_NAME_MAX];
	double bpm;
	int used;                  /* CH_KICK or CH_BROAD */
	struct channel ch[CH_COUNT];
	double best_bpm;
	double best_diff_pct;
	double best_phase_ms;
	double best_sharpness;
	bool best_at_edge;
	enum gc_verdict verdict;
	char reason[DECODE_ERROR_MAX];
};

/* ---- kick-band filter ---------------------------------------------------- */

struct biquad {
	double b0, b1, b2, a1, a2;
	double z1, z2;
};

/* RBJ cookbook low-pass; two in cascade with Q = 1/(2 cos(pi/8)) and
 * 1/(2 cos(3 pi/8)) make a 4th-order Butterworth. */
static void biquad_lowpass(struct biquad *f, double hz, double q)
{
	double w = 2.0 * M_PI * hz / DECODE_RATE;
	double alpha = sin(w) / (2.0 * q), c = cos(w), a0 = 1.0 + alpha;
	f->b0 = (1.0 - c) / 2.0 / a0;
	f->b1 = (1.0 - c) / a0;
	f->b2 = f->b0;
	f->a1 = -2.0 * c / a0;
	f->a2 = (1.0 - alpha) / a0;
	f->z1 = f->z2 = 0.0;
}

static double biquad_run(struct biquad *f, double x)
{
	double y = f->b0 * x + f->z1;
	f->z1 = f->b1 * x - f->a1 * y + f->z2;
	f->z2 = f->b2 * x - f->a2 * y;
	return y;
}

static double complex biquad_response(const struct biquad *f, double hz)
{
	double complex z1 = cexp(-I * 2.0 * M_PI * hz / DECODE_RATE);
	return (f->b0 + f->b1 * z1 + f->b2 * z1 * z1) /
	       (1.0 + f->a1 * z1 + f->a2 * z1 * z1);
}

/* Group delay of the cascade at hz, in seconds: -dphase/domega. */
static double biquad_delay_s(const struct biquad *f, size_t n, double hz)
{
	const double dhz = 0.5;
	double complex lo = 1.0, hi = 1.0;
	for (size_t i = 0; i < n; i++) {
		lo *= biquad_response(&f[i], hz - dhz);
		hi *= biquad_response(&f[i], hz + dhz);
	}
	double dphi = carg(hi / lo);
	return -dphi / (2.0 * M_PI * 2.0 * dhz);
}

static void kick_filter_init(struct biquad f[2])
{
	biquad_lowpass(&f[0], GC_KICK_HZ, 1.0 / (2.0 * cos(M_PI / 8.0)));
	biquad_lowpass(&f[1], GC_KICK_HZ, 1.0 / (2.0 * cos(3.0 * M_PI / 8.0)));
}

static double kick_delay_s(void)
{
	struct biquad f[2];
	kick_filter_init(f);
	return biquad_delay_s(f, 2, GC_KICK_DELAY_AT_HZ);
}

/* ---- envelopes ----------------------------------------------------------- */

static void envelope_free(struct envelope *env)
{
	free(env->kick);
	free(env->broad);
	env->kick = env->broad = NULL;
	env->n = 0;
}

/* Rise of the mean of the next GC_RISE_HOPS values over the previous ones,
 * half-wave rectified, written over p (log power, dB). In dB, not linear
 * power: the rise of linear power peaks where the kick's body is loudest,
 * tens of ms after its attack; the rise in dB peaks at the attack. */
static void envelope_rise(float *p, size_t n)
{
	const size_t r = GC_RISE_HOPS;
	float *out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		/* Keep going without the envelope rather than lie: all zero. */
		memset(p, 0, n * sizeof(*p));
		return;
	}
	for (size_t i = r; i + r <= n; i++) {
		double prev = 0.0, next = 0.0;
		for (size_t k = 0; k < r; k++) {
			prev += p[i - r + k];
			next += p[i + k];
		}
		double d = (next - prev) / (double)r;
		out[i] = d > 0.0 ? (float)d : 0.0f;
	}
	memcpy(p, out, n * sizeof(*p));
	free(out);
}

/* Decodes PATH into its two onset envelopes. Returns 0, or a negative errno
 * with a reason in err (-EFBIG: longer than GC_MAX_SECONDS). */
static int envelope_build(const char *path, struct envelope *env,
			  char *err, size_t err_size)
{
	enum { CHUNK_FRAMES = 4096 };
	const size_t max_hops = (size_t)(GC_MAX_SECONDS * DECODE_RATE / GC_HOP);
	struct biquad f[2];
	float *buf = NULL;
	size_t cap = 0, fill = 0;
	double acc_kick = 0.0, acc_broad = 0.0;
	int rc = 0;

	memset(env, 0, sizeof(*env));
	kick_filter_init(f);
	struct decoder *dec = decode_open(path, err, err_size);
	if (!dec)
		return -(errno ? errno : EIO);
	buf = malloc(CHUNK_FRAMES * DECODE_CHANNELS * sizeof(*buf));
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, err_size, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t got = decode_read(dec, buf, CHUNK_FRAMES);
		if (got < 0) {
			rc = (int)got;
			snprintf(err, err_size, "decode: %s",
				 strerror((int)-got));
			goto out;
		}
		if (got == 0)
			break;
		for (ssize_t i = 0; i < got; i++) {
			double m = 0.5 * ((double)buf[2 * i] + buf[2 * i + 1]);
			double y = biquad_run(&f[1], biquad_run(&f[0], m));
			acc_kick += y * y;
			acc_broad += m * m;
			if (++fill < GC_HOP)
				continue;
			if (env->n == max_hops) {
				rc = -EFBIG;
				snprintf(err, err_size, "longer than %.0f min",
					 GC_MAX_SECONDS / 60.0);
				goto out;
			}
			if (env->n == cap) {
				size_t ncap = cap ? 2 * cap : 65536;
				if (ncap > max_hops)
					ncap = max_hops;
				float *k = realloc(env->kick, ncap * sizeof(*k));
				if (k)
					env->kick = k;
				float *b = k ? realloc(env->broad,
						       ncap * sizeof(*b)) : NULL;
				if (!b) {
					rc = -ENOMEM;
					snprintf(err, err_size, "out of memory");
					goto out;
				}
				env->broad = b;
				cap = ncap;
			}
			env->kick[env->n] = (float)(10.0 * log10(
				acc_kick / GC_HOP + GC_LOG_FLOOR));
			env->broad[env->n] = (float)(10.0 * log10(
				acc_broad / GC_HOP + GC_LOG_FLOOR));
			env->n++;
			fill = 0;
			acc_kick = acc_broad = 0.0;
		}
	}
	envelope_rise(env->kick, env->n);
	envelope_rise(env->broad, env->n);
out:
	free(buf);
	decode_close(dec);
	if (rc)
		envelope_free(env);
	return rc;
}

/* ---- folding ------------------------------------------------------------- */

static void hist_smooth(const double *in, double *out)
{
	/* [1 2 3 2 1] / 9: ~3 bins at half height, circular. */
	static const double w[5] = { 1, 2, 3, 2, 1 };
	for (int b = 0; b < GC_BINS; b++) {
		double s = 0.0;
		for (int k = -2; k <= 2; k++)
			s += w[k + 2] * in[(b + k + GC_BINS) % GC_BINS];
		out[b] = s / 9.0;
	}
}

/* Folds on[from, to) at period_s, phase 0 at first_beat_s; value i is at
 * (i + 1/2) * hop_s - delay_s. Each bin is the mean strength of the hops
 * that fall in it (linear split between the two nearest bins), so that an
 * uneven coverage of the phases does not make a peak. */
static void fold_compute(const float *on, size_t from, size_t to,
			 double first_beat_s, double period_s, double delay_s,
			 struct fold *r)
{
	const double hop_s = (double)GC_HOP / DECODE_RATE;
	double sum[GC_BINS] = { 0 }, cnt[GC_BINS] = { 0 };
	double hist[GC_BINS], sm[GC_BINS];
	double inv = 1.0 / period_s;

	for (size_t i = from; i < to; i++) {
		double x = (((double)i + 0.5) * hop_s - delay_s - first_beat_s) *
			   inv;
		x = (x - floor(x)) * GC_BINS;
		int b = (int)x;
		double fr = x - b;
		if (b >= GC_BINS) {
			b = 0;
			fr = 0.0;
		}
		int b2 = b + 1 == GC_BINS ? 0 : b + 1;
		sum[b] += (1.0 - fr) * on[i];
		cnt[b] += 1.0 - fr;
		sum[b2] += fr * on[i];
		cnt[b2] += fr;
	}
	for (int b = 0; b < GC_BINS; b++)
		hist[b] = cnt[b] > 0.0 ? sum[b] / cnt[b] : 0.0;
	hist_smooth(hist, sm);

	double mean = 0.0;
	for (int b = 0; b < GC_BINS; b++)
		mean += sm[b];
	mean /= GC_BINS;
	r->peaks = 0;
	r->sharpness = 1.0;
	if (mean <= 0.0) {
		r->peaks = 1;
		r->peak_ms[0] = 0.0;
		r->peak_sharp[0] = 1.0;
		return;
	}
	/* Local maxima, kept highest first (insertion into GC_MAX_PEAKS). */
	for (int b = 0; b < GC_BINS; b++) {
		double a = sm[(b + GC_BINS - 1) % GC_BINS];
		double c = sm[(b + 1) % GC_BINS];
		if (!(sm[b] > a && sm[b] >= c))
			continue;
		int k = r->peaks < GC_MAX_PEAKS ? r->peaks : GC_MAX_PEAKS - 1;
		if (r->peaks == GC_MAX_PEAKS && sm[b] / mean <= r->peak_sharp[k])
			continue;
		while (k > 0 && r->peak_sharp[k - 1] < sm[b] / mean) {
			r->peak_ms[k] = r->peak_ms[k - 1];
			r->peak_sharp[k] = r->peak_sharp[k - 1];
			k--;
		}
		double den = a - 2.0 * sm[b] + c, delta = 0.0;
		if (den < 0.0)
			delta = 0.5 * (a - c) / den;
		double ph = (b + delta) / GC_BINS;
		ph -= floor(ph);
		if (ph > 0.5)
			ph -= 1.0;
		r->peak_ms[k] = ph * period_s * 1000.0;
		r->peak_sharp[k] = sm[b] / mean;
		if (r->peaks < GC_MAX_PEAKS)
			r->peaks++;
	}
	if (r->peaks == 0) { /* flat: no local maximum */
		r->peaks = 1;
		r->peak_ms[0] = 0.0;
		r->peak_sharp[0] = 1.0;
		return;
	}
	r->sharpness = r->peak_sharp[0];
	/* Only the peaks that could stand for the beat stay candidates. */
	int keep = 1;
	while (keep < r->peaks &&
	       r->peak_sharp[keep] >= GC_ALT_PEAK_RATIO * r->peak_sharp[0] &&
	       r->peak_sharp[keep] >= GC_SHARP_MIN)
		keep++;
	r->peaks = keep;
}

/* ---- per-track statistics ------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(const double *v, size_t n)
{
	double tmp[GC_MAX_WINDOWS];
	if (n == 0)
		return 0.0;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

/* x wrapped into (-period/2, +period/2]. */
static double wrap_ms(double x, double period_ms)
{
	x -= period_ms * floor(x / period_ms);
	return x > 0.5 * period_ms ? x - period_ms : x;
}

static bool window_sharp(const struct channel *ch, size_t w)
{
	return ch->win[w].sharpness >= GC_SHARP_MIN;
}

/* Folds on[0, n) at the grid in windows of GC_WINDOW_S (the last one when
 * at least GC_MIN_WINDOW_S); fills ch->win and the median sharpness. */
static void channel_fold(const float *on, size_t n, double first_beat_s,
			 double period_s, double delay_s, struct channel *ch)
{
	const double hop_s = (double)GC_HOP / DECODE_RATE;
	size_t win = (size_t)lround(GC_WINDOW_S / hop_s);
	size_t min_win = (size_t)lround(GC_MIN_WINDOW_S / hop_s);
	double sharp[GC_MAX_WINDOWS];

	ch->windows = 0;
	for (size_t from = 0; from < n && ch->windows < GC_MAX_WINDOWS;
	     from += win) {
		size_t to = from + win < n ? from + win : n;
		if (to - from < min_win)
			break;
		struct fold *f = &ch->win[ch->windows];
		fold_compute(on, from, to, first_beat_s, period_s, delay_s, f);
		sharp[ch->windows] = f->sharpness;
		ch->windows++;
	}
	ch->median_sharpness = median_of(sharp, ch->windows);
}

/* Chooses window w's peak: the candidate nearest prev_ms (unwrapped) when
 * it is within GC_TRACK_MS, else the highest; returns its offset unwrapped
 * next to prev_ms. */
static double channel_choose(struct channel *ch, size_t w, double prev_ms,
			     double period_ms)
{
	const struct fold *f = &ch->win[w];
	int best = 0;
	double best_d = INFINITY;
	for (int k = 0; k < f->peaks; k++) {
		double d = fabs(wrap_ms(f->peak_ms[k] - prev_ms, period_ms));
		if (d < best_d) {
			best_d = d;
			best = k;
		}
	}
	if (best_d > GC_TRACK_MS)
		best = 0;
	ch->offset_ms[w] = f->peak_ms[best];
	ch->alt[w] = best != 0;
	return prev_ms + wrap_ms(f->peak_ms[best] - prev_ms, period_ms);
}

/* The offset of each window. It starts from the sharp window whose highest
 * peak is nearest whole_ms (a peak of the whole track's fold at the grid,
 * so the start stands for most of the track), and goes window by window
 * outwards from there, each taking the candidate peak that continues the
 * last sharp window's offset (channel_choose). So a drift is followed, and
 * a section whose strongest low hit is an off-beat bass keeps to the kick
 * when the kick is there too. */
static void channel_track(struct channel *ch, double period_s,
			  double whole_ms)
{
	double period_ms = period_s * 1000.0;
	size_t ref = 0;
	double ref_d = INFINITY;

	for (size_t w = 0; w < ch->windows; w++) {
		ch->offset_ms[w] = ch->win[w].peak_ms[0];
		ch->unwrapped_ms[w] = ch->offset_ms[w];
		ch->alt[w] = false;
		double d = fabs(wrap_ms(ch->offset_ms[w] - whole_ms, period_ms));
		if (window_sharp(ch, w) && d < ref_d) {
			ref_d = d;
			ref = w;
		}
	}
	if (ch->windows == 0 || !window_sharp(ch, ref))
		return;
	double prev = ch->offset_ms[ref];
	for (size_t w = ref + 1; w < ch->windows; w++)
		if (window_sharp(ch, w))
			prev = ch->unwrapped_ms[w] =
				channel_choose(ch, w, prev, period_ms);
	prev = ch->offset_ms[ref];
	for (size_t w = ref; w-- > 0;)
		if (window_sharp(ch, w))
			prev = ch->unwrapped_ms[w] =
				channel_choose(ch, w, prev, period_ms);
}

/* Spread, drift and the median offset over the sharp windows, from the
 * offsets channel_track chose; n is the track's length in hops. */
static void channel_stats(struct channel *ch, double period_s, size_t n)
{
	const double hop_s = (double)GC_HOP / DECODE_RATE;
	double period_ms = period_s * 1000.0;
	double un[GC_MAX_WINDOWS], tmin[GC_MAX_WINDOWS];
	size_t m = 0;

	ch->alt_windows = 0;
	ch->right_windows = 0;
	for (size_t w = 0; w < ch->windows; w++) {
		if (!window_sharp(ch, w))
			continue;
		ch->right_windows += fabs(ch->offset_ms[w]) <= GC_RIGHT_MS;
		un[m] = ch->unwrapped_ms[w];
		double from = w * GC_WINDOW_S;
		double to = fmin((w + 1) * GC_WINDOW_S, n * hop_s);
		tmin[m] = 0.5 * (from + to) / 60.0;
		ch->alt_windows += ch->alt[w];
		m++;
	}
	ch->sharp_windows = m;
	ch->jumps = 0;
	for (size_t k = 1; k < m; k++)
		ch->jumps += fabs(un[k] - un[k - 1]) > GC_TRACK_MS;
	ch->spread_ms = 0.0;
	ch->drift_ms_per_min = 0.0;
	ch->median_offset_ms = 0.0;
	ch->half_beat = false;
	if (m == 0)
		return;
	double lo = un[0], hi = un[0], st = 0.0, so = 0.0;
	for (size_t k = 0; k < m; k++) {
		lo = fmin(lo, un[k]);
		hi = fmax(hi, un[k]);
		st += tmin[k];
		so += un[k];
	}
	ch->spread_ms = hi - lo;
	if (m >= 2) {
		double mt = st / m, mo = so / m, sxy = 0.0, sxx = 0.0;
		for (size_t k = 0; k < m; k++) {
			sxy += (tmin[k] - mt) * (un[k] - mo);
			sxx += (tmin[k] - mt) * (tmin[k] - mt);
		}
		ch->drift_ms_per_min = sxx > 0.0 ? sxy / sxx : 0.0;
	}
	ch->median_offset_ms = wrap_ms(median_of(un, m), period_ms);
	ch->half_beat = fabs(ch->median_offset_ms) > 0.25 * period_ms;
}

/* The constant tempo of grid +- GC_SEARCH_REL whose whole-track fold is
 * sharpest. */
static void tempo_search(const float *on, size_t n, double first_beat_s,
			 double delay_s, struct report *rep)
{
	int steps = (int)lround(GC_SEARCH_REL / GC_SEARCH_STEP_REL);
	struct fold best = { .sharpness = -1.0 };
	int best_k = 0;

	for (int k = -steps; k <= steps; k++) {
		double bpm = rep->bpm * (1.0 + k * GC_SEARCH_STEP_REL);
		struct fold f;
		fold_compute(on, 0, n, first_beat_s, 60.0 / bpm, delay_s, &f);
		if (f.sharpness > best.sharpness) {
			best = f;
			best_k = k;
		}
	}
	rep->best_bpm = rep->bpm * (1.0 + best_k * GC_SEARCH_STEP_REL);
	rep->best_diff_pct = (rep->best_bpm - rep->bpm) / rep->bpm * 100.0;
	rep->best_phase_ms = best.peak_ms[0];
	rep->best_sharpness = best.sharpness;
	rep->best_at_edge = best_k == -steps || best_k == steps;
}

static enum gc_verdict verdict_of(const struct channel *ch, double period_s)
{
	double half_ms = 500.0 * period_s;
	bool right = true, off = true;

	if (ch->windows == 0)
		return GC_TOO_SHORT;
	if (ch->median_sharpness < GC_SHARP_MIN || ch->sharp_windows == 0)
		return GC_NO_BEAT;
	for (size_t w = 0; w < ch->windows; w++) {
		if (!window_sharp(ch, w))
			continue;
		double o = fabs(ch->offset_ms[w]);
		if (o > GC_RIGHT_MS)
			right = false;
		if (o < half_ms - GC_RIGHT_MS)
			off = false;
	}
	if (right)
		return GC_STEADY_RIGHT;
	if (off)
		return GC_OFF_BEAT;
	if (fabs(ch->drift_ms_per_min) >= GC_DRIFT_MS_PER_MIN ||
	    ch->spread_ms > GC_SPREAD_MS)
		return GC_DRIFTING;
	return GC_STEADY_OFFSET;
}

static void name_set(struct report *rep, const char *path)
{
	const char *slash = strrchr(path, '/');
	snprintf(rep->name, sizeof(rep->name), "%s", slash ? slash + 1 : path);
}

/* Judges PATH's grid with the envelope force (CH_KICK, CH_BROAD, or -1:
 * kick when its windows fold sharply, else broadband). Returns 0, or a
 * negative errno with rep->verdict GC_FAILED and rep->reason set. */
static int track_check(const char *path, double bpm, double first_beat_s,
		       int force, struct report *rep)
{
	struct envelope env;
	double period_s = 60.0 / bpm;
	double delay_s[CH_COUNT] = { kick_delay_s(), 0.0 };

	memset(rep, 0, sizeof(*rep));
	name_set(rep, path);
	rep->bpm = bpm;
	int rc = envelope_build(path, &env, rep->reason, sizeof(rep->reason));
	if (rc) {
		rep->verdict = GC_FAILED;
		return rc;
	}
	const float *on[CH_COUNT] = { env.kick, env.broad };
	for (int c = 0; c < CH_COUNT; c++) {
		struct channel *ch = &rep->ch[c];
		channel_fold(on[c], env.n, first_beat_s, period_s, delay_s[c],
			     ch);
		struct fold whole;
		fold_compute(on[c], 0, env.n, first_beat_s, period_s,
			     delay_s[c], &whole);
		/* Of the whole track's candidate peaks, the one nearest the
		 * grid's beat: with a grid at half the music's tempo both
		 * kicks are peaks, and the grid's own is the one to judge. */
		double whole_ms = whole.peak_ms[0];
		for (int k = 1; k < whole.peaks; k++)
			if (fabs(whole.peak_ms[k]) < fabs(whole_ms))
				whole_ms = whole.peak_ms[k];
		channel_track(ch, period_s, whole_ms);
		channel_stats(ch, period_s, env.n);
	}
	rep->used = force >= 0 ? force :
		rep->ch[CH_KICK].median_sharpness >= GC_SHARP_MIN ? CH_KICK :
		CH_BROAD;
	if (env.n > 0)
		tempo_search(on[rep->used], env.n, first_beat_s,
			     delay_s[rep->used], rep);
	rep->verdict = verdict_of(&rep->ch[rep->used], period_s);
	envelope_free(&env);
	return 0;
}

/* ---- output -------------------------------------------------------------- */

static void report_print(const struct report *rep)
{
	const struct channel *ch = &rep->ch[rep->used];
	const struct channel *other = &rep->ch[!rep->used];

	if (rep->verdict == GC_FAILED) {
		printf("%s verdict=failed reason=\"%s\"\n", rep->name,
		       rep->reason);
		return;
	}
	printf("%s bpm=%.4f env=%s windows=%zu offsets_ms=[", rep->name,
	       rep->bpm, channel_names[rep->used], ch->windows);
	for (size_t w = 0; w < ch->windows; w++) {
		/* Not sharp: in parentheses; a second peak chosen: '*'. */
		bool sharp = window_sharp(ch, w);
		printf("%s%s%+.1f%s%s", w ? " " : "", sharp ? "" : "(",
		       ch->offset_ms[w], ch->alt[w] ? "*" : "",
		       sharp ? "" : ")");
	}
	printf("] sharpness=%.2f sharp_windows=%zu right_windows=%zu "
	       "alt_windows=%zu jumps=%zu "
	       "spread_ms=%.1f drift_ms_per_min=%+.2f median_offset_ms=%+.1f "
	       "grid=%s best_bpm=%.4f best_diff_pct=%+.4f%s "
	       "best_phase_ms=%+.1f best_sharpness=%.2f "
	       "%s_sharpness=%.2f %s_median_offset_ms=%+.1f verdict=%s\n",
	       ch->median_sharpness, ch->sharp_windows, ch->right_windows,
	       ch->alt_windows, ch->jumps, ch->spread_ms, ch->drift_ms_per_min,
	       ch->median_offset_ms,
	       ch->half_beat ? "half-beat" : "on-beat", rep->best_bpm,
	       rep->best_diff_pct, rep->best_at_edge ? " (search edge)" : "",
	       rep->best_phase_ms, rep->best_sharpness,
	       channel_names[!rep->used], other->median_sharpness,
	       channel_names[!rep->used], other->median_offset_ms,
	       verdict_names[rep->verdict]);
}

static void summary_header(void)
{
	printf("%-36s %-13s %9s %9s %8s %9s %8s %6s %-5s %5s %s\n", "track",
	       "verdict", "grid_bpm", "best_bpm", "diff_%", "spread_ms",
	       "drift/m", "sharp", "env", "right", "jumps");
}

static void summary_row(const struct report *rep)
{
	const struct channel *ch = &rep->ch[rep->used];

	if (rep->verdict == GC_FAILED) {
		printf("%-36s %-13s (%s)\n", rep->name, "failed", rep->reason);
		return;
	}
	char right[32];
	snprintf(right, sizeof(right), "%zu/%zu", ch->right_windows,
		 ch->sharp_windows);
	printf("%-36s %-13s %9.4f %9.4f %+8.4f %9.1f %+8.2f %6.2f %-5s %5s "
	       "%zu\n", rep->name, verdict_names[rep->verdict], rep->bpm,
	       rep->best_bpm, rep->best_diff_pct, ch->spread_ms,
	       ch->drift_ms_per_min, ch->median_sharpness,
	       channel_names[rep->used], right, ch->jumps);
}

static void summary_totals(const size_t *count)
{
	size_t total = 0;
	for (int v = 0; v < GC_VERDICTS; v++)
		total += count[v];
	printf("totals: %zu tracks", total);
	for (int v = 0; v < GC_VERDICTS; v++)
		if (count[v])
			printf(", %s %zu", verdict_names[v], count[v]);
	printf("\n");
}

struct run_opts {
	bool summary;
	int force; /* CH_KICK, CH_BROAD, or -1 for the automatic choice */
};

static int run_one(const char *path, double bpm, double first_beat_s,
		   const struct run_opts *opt, size_t *count)
{
	struct report *rep = malloc(sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "grid-check: out of memory\n");
		return -ENOMEM;
	}
	int rc = track_check(path, bpm, first_beat_s, opt->force, rep);
	count[rep->verdict]++;
	if (opt->summary)
		summary_row(rep);
	else
		report_print(rep);
	fflush(stdout);
	free(rep);
	return rc;
}

/* A grid that cannot be judged: counted and printed as failed. */
static void run_failed(const char *path, const char *reason,
		       const struct run_opts *opt, size_t *count)
{
	struct report *rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "grid-check: out of memory\n");
		return;
	}
	name_set(rep, path);
	snprintf(rep->reason, sizeof(rep->reason), "%s", reason);
	rep->verdict = GC_FAILED;
	count[GC_FAILED]++;
	if (opt->summary)
		summary_row(rep);
	else
		report_print(rep);
	free(rep);
}

/* JSON lines on stdin. Returns the number of tracks that failed. */
static int run_stdin(const struct run_opts *opt, size_t *count)
{
	char *line = malloc(GC_LINE_MAX);
	int failed = 0;
	size_t lineno = 0;

	if (!line) {
		fprintf(stderr, "grid-check: out of memory\n");
		return 1;
	}
	while (fgets(line, GC_LINE_MAX, stdin)) {
		lineno++;
		size_t len = strlen(line);
		if (len == GC_LINE_MAX - 1 && line[len - 1] != '\n') {
			fprintf(stderr, "grid-check: line %zu longer than %d "
				"bytes: skipped\n", lineno, GC_LINE_MAX - 1);
			int c;
			while ((c = getchar()) != EOF && c != '\n')
				;
			failed++;
			continue;
		}
		if (strspn(line, " \t\r\n") == len)
			continue;
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		const char *path = o ? json_string_value(
			json_object_get(o, "path")) : NULL;
		if (!path) {
			fprintf(stderr, "grid-check: line %zu: %s\n", lineno,
				o ? "no \"path\"" : jerr.text);
			json_decref(o);
			failed++;
			continue;
		}
		json_t *jb = json_object_get(o, "bpm");
		json_t *jf = json_object_get(o, "first_beat");
		double bpm = json_is_number(jb) ? json_number_value(jb) : 0.0;
		double fb = json_is_number(jf) ? json_number_value(jf) : 0.0;
		if (!(bpm > 0.0 && bpm < 1000.0) || !json_is_number(jf)) {
			run_failed(path, "no grid in the analysis", opt, count);
			failed++;
		} else if (run_one(path, bpm, fb, opt, count)) {
			failed++;
		}
		json_decref(o);
	}
	free(line);
	return failed;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: grid-check [--summary] [--env kick|broad] "
		"< analysis.jsonl\n"
		"       grid-check [--summary] [--env kick|broad] --bpm X "
		"[--first-beat Y] FILE\n"
		"Judges beat grids (JSON lines of `foreverfm analyze --json`)"
		" from the audio.\n");
}

static int number_arg(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct run_opts opt = { .summary = false, .force = -1 };
	bool have_bpm = false;
	double bpm = 0.0, first_beat_s = 0.0;
	const char *file = NULL;
	size_t count[GC_VERDICTS] = { 0 };
	int failed;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--summary")) {
			opt.summary = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--env") && v) {
			if (!strcmp(v, "kick")) {
				opt.force = CH_KICK;
			} else if (!strcmp(v, "broad")) {
				opt.force = CH_BROAD;
			} else {
				fprintf(stderr, "grid-check: bad --env %s\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--bpm") && v) {
			if (number_arg(v, &bpm) || !(bpm > 0.0 && bpm < 1000.0)) {
				fprintf(stderr, "grid-check: bad --bpm %s\n", v);
				return 2;
			}
			have_bpm = true;
			i++;
		} else if (!strcmp(a, "--first-beat") && v) {
			if (number_arg(v, &first_beat_s)) {
				fprintf(stderr, "grid-check: bad --first-beat "
					"%s\n", v);
				return 2;
			}
			i++;
		} else if (a[0] == '-' || file) {
			usage(stderr);
			return 2;
		} else {
			file = a;
		}
	}
	if (!file != !have_bpm) {
		usage(stderr);
		return 2;
	}
	if (opt.summary)
		summary_header();
	if (file)
		failed = run_one(file, bpm, first_beat_s, &opt, count) != 0;
	else
		failed = run_stdin(&opt, count);
	if (opt.summary)
		summary_totals(count);
	return failed ? 1 : 0;
}
