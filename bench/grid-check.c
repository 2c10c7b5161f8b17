/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * grid-check — an independent judge of a track's beat grid, from the audio.
 * It shares no code with src/analyze*.c (only the decoder), so that it can
 * say whether the analysis is right.
 *
 *   grid-check [--summary] [--env kick|broad|pattern] < analysis.jsonl
 *   grid-check [--summary] [--env kick|broad|pattern] --bpm X [--first-beat Y] FILE
 *
 * The JSON lines are those of `foreverfm analyze --json` (fields "path",
 * "bpm", "first_beat"). Run by hand; tests/test_grid_check.sh checks it on
 * a generated click track and a generated breakbeat.
 *
 * For each track it decodes the audio (decode.h), mixes it to mono and
 * builds four onset envelopes at hops of GC_HOP samples (2.9 ms), each the
 * half-wave-rectified rise, in dB (the snare band's in amplitude, see
 * below), of the mean power of the next
 * GC_RISE_HOPS hops over the previous GC_RISE_HOPS (~17 ms each): the kick
 * band (a 4th-order Butterworth low-pass at GC_KICK_HZ, as two biquads,
 * shifted back by its group delay), the whole band, the snare band
 * (GC_MID_LO_HZ..GC_MID_HI_HZ) and the hats band (above GC_HIGH_HZ). Three
 * judges read them: the kick envelope, the broadband one, and the drum
 * pattern (kick, snare and hats bands together). The kick judges the track
 * when it is four on the floor (below), the pattern when it is not and its
 * windows fold sharply (median sharpness >= GC_SHARP_MIN), else the
 * broadband envelope (--env forces one); the others are reported beside it
 * as a cross-check.
 *
 * Why the pattern: a kick-only judge misreads syncopated music. On
 * breakbeats whose kick falls on the "e" of the beat (a sixteenth after
 * it) it called right grids steady-offset or off-beat, 106-249 ms off,
 * while the hats and snares sat on the grid; a moving bassline pollutes
 * the low band too.
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
 * The drum pattern (pattern_window). Each band is folded over the BAR
 * (four beats from first_beat; where the bar starts does not matter), not
 * over the beat, so that a kick on the "e" of beats 1 and 3 and a snare on
 * 2 and 4 stay apart. A kick that is four on the floor (four equal peaks a
 * beat apart: each at least GC_FOUR_RATIO of the bar's highest) is the
 * beat. Else the phase of the beat is the one at which the whole pattern
 * falls on the grid: each band's onsets (its excess over its mean) as a
 * share of its total within GC_COMB_MS of the bar's eighths, those on
 * beats counted GC_BEAT_WEIGHT and those on off-beats GC_OFFBEAT_WEIGHT,
 * summed over the bands (the hats' off-beats count as much as their
 * beats). Hats on the eighths put the beat on an eighth, not on the
 * kick's sixteenth; the back-beat snare picks the beat of the two eighths.
 * The snare band is an amplitude envelope, not dB: in dB every onset
 * leaks into every band as a rise. The phases that score within
 * GC_PATTERN_TIE of the best
 * are all candidates, and channel_track takes the one that continues its
 * neighbours, as for a fold's peaks: a section of unaccented sixteenths
 * (the intro of Nexuiz's "Thru the Mirror") fits its grid as well as the
 * grid moved by a quarter or half a beat, and is not called off. The
 * window's sharpness is the sharpest band's beat profile (its bar's four
 * beats averaged); the tempo search of the pattern uses the broadband
 * envelope, and best_phase_ms is then the pattern's at that tempo.
 * kick_four counts the pattern's sharp windows whose kick is four on the
 * floor: the kick judges the track when that is at least GC_FOUR_SHARE of
 * them. Whether there is a beat at all stays the kick's or the whole
 * band's to say (no-beat when neither folds sharply).
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
/* Snare band: above the kick's fundamental (4th order, so that a kick's
 * 150 Hz start is 20 dB down), below the hats' noise: a snare's crack and
 * rattle. Hats band: above 5 kHz, where neither kick nor bass reach. */
#define GC_MID_LO_HZ 300.0
#define GC_MID_HI_HZ 3000.0
#define GC_HIGH_HZ 5000.0
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

/* The drum pattern (see DESIGN). A kick is four on the floor in a window
 * when its bar fold is at least GC_FOUR_RATIO of its highest at each of
 * the four beats a beat apart from one of its candidate peaks. The comb
 * counts onsets within GC_COMB_MS (a triangle, so the score peaks at their
 * centre) of the eighths, those on the grid's beats GC_BEAT_WEIGHT, those
 * on its off-beats GC_OFFBEAT_WEIGHT for kick and snare and
 * GC_HATS_OFFBEAT_WEIGHT for the hats: hats on every eighth say where the
 * eighths are, a back-beat snare (and a kick on 1 and 3) which of them is
 * the beat. The hats do not choose: house's open hat is on the off-beat,
 * a breakbeat's accent on the beat (with off-beats counted for less they
 * put Nexuiz's "Desert3" half a beat off, against its kick and its whole
 * band). Phases whose score is within GC_PATTERN_TIE of the best are all
 * candidates: a section of unaccented 16ths fits the grid, its quarter
 * and its half equally well, and the judge takes the one its neighbours
 * (or the grid) agree with instead of calling it off; on Singularity's
 * "A New Journey" the half-beat scores 0.83-1.14 of the beat window by
 * window, on the generated breakbeat of the test 0.77. The kick envelope
 * judges the track (as before the pattern existed) when its kick is four
 * on the floor in at least GC_FOUR_SHARE of the pattern's sharp
 * windows. */
#define GC_FOUR_RATIO 0.5
#define GC_COMB_MS 15.0
#define GC_BEAT_WEIGHT 1.0
#define GC_OFFBEAT_WEIGHT 0.25
#define GC_HATS_OFFBEAT_WEIGHT 1.0
#define GC_PATTERN_TIE 0.8
#define GC_FOUR_SHARE 0.5
#define GC_BAR_BEATS 4
#define GC_BAR_BINS (GC_BAR_BEATS * GC_BINS)
#define GC_PATTERN_BANDS 3         /* kick, mid, high */

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

/* The onset envelopes of one track, one value per hop: value i is the
 * rise across the boundary at sample i * GC_HOP. An attack anywhere in hop
 * i rises most there, so the onset it stands for is at (i + 1/2) * GC_HOP
 * on average. Kick band and whole band are judged on their own; kick, mid
 * and high band together make the drum pattern. Owned by the struct. */
enum { EB_KICK, EB_BROAD, EB_MID, EB_HIGH, EB_COUNT };

struct envelope {
	float *on[EB_COUNT];
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
	size_t four_windows; /* pattern: sharp windows whose kick is 4/4 */
};

enum { CH_KICK, CH_BROAD, CH_PATTERN, CH_COUNT };

static const char *const channel_names[CH_COUNT] = {
	"kick", "broad", "pattern",
};

struct report {
	char name[GC_NAME_MAX];
	double bpm;
	int used;                  /* CH_KICK, CH_BROAD or CH_PATTERN */
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

/* RBJ cookbook high-pass. */
static void biquad_highpass(struct biquad *f, double hz, double q)
{
	double w = 2.0 * M_PI * hz / DECODE_RATE;
	double alpha = sin(w) / (2.0 * q), c = cos(w), a0 = 1.0 + alpha;
	f->b0 = (1.0 + c) / 2.0 / a0;
	f->b1 = -(1.0 + c) / a0;
	f->b2 = f->b0;
	f->a1 = -2.0 * c / a0;
	f->a2 = (1.0 - alpha) / a0;
	f->z1 = f->z2 = 0.0;
}

/* The snare band (GC_MID_LO_HZ..GC_MID_HI_HZ, 4th order below, 2nd above)
 * and the hats band (above GC_HIGH_HZ, 4th order). Their group delay is
 * about a millisecond where their onsets are: not compensated. */
static void drum_filters_init(struct biquad mid[3], struct biquad high[2])
{
	biquad_highpass(&mid[0], GC_MID_LO_HZ, 1.0 / (2.0 * cos(M_PI / 8.0)));
	biquad_highpass(&mid[1], GC_MID_LO_HZ,
			1.0 / (2.0 * cos(3.0 * M_PI / 8.0)));
	biquad_lowpass(&mid[2], GC_MID_HI_HZ, M_SQRT1_2);
	biquad_highpass(&high[0], GC_HIGH_HZ, 1.0 / (2.0 * cos(M_PI / 8.0)));
	biquad_highpass(&high[1], GC_HIGH_HZ,
			1.0 / (2.0 * cos(3.0 * M_PI / 8.0)));
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
	for (int b = 0; b < EB_COUNT; b++) {
		free(env->on[b]);
		env->on[b] = NULL;
	}
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

/* Decodes PATH into its onset envelopes. Returns 0, or a negative errno
 * with a reason in err (-EFBIG: longer than GC_MAX_SECONDS). */
static int envelope_build(const char *path, struct envelope *env,
			  char *err, size_t err_size)
{
	enum { CHUNK_FRAMES = 4096 };
	const size_t max_hops = (size_t)(GC_MAX_SECONDS * DECODE_RATE / GC_HOP);
	struct biquad f[2], mid[3], high[2];
	float *buf = NULL;
	size_t cap = 0, fill = 0;
	double acc[EB_COUNT] = { 0 };
	int rc = 0;

	memset(env, 0, sizeof(*env));
	kick_filter_init(f);
	drum_filters_init(mid, high);
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
			double y[EB_COUNT];
			y[EB_KICK] = biquad_run(&f[1], biquad_run(&f[0], m));
			y[EB_BROAD] = m;
			y[EB_MID] = biquad_run(&mid[2], biquad_run(&mid[1],
						biquad_run(&mid[0], m)));
			y[EB_HIGH] = biquad_run(&high[1],
						biquad_run(&high[0], m));
			for (int b = 0; b < EB_COUNT; b++)
				acc[b] += y[b] * y[b];
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
				for (int b = 0; b < EB_COUNT; b++) {
					float *e = realloc(env->on[b],
							   ncap * sizeof(*e));
					if (!e) {
						rc = -ENOMEM;
						snprintf(err, err_size,
							 "out of memory");
						goto out;
					}
					env->on[b] = e;
				}
				cap = ncap;
			}
			/* The snare band by amplitude, not dB: in dB every
			 * onset anywhere leaks in as a rise (a hat's faint
			 * mid-band share over silence rises as much as the
			 * snare), and the snare is the loud one there. */
			for (int b = 0; b < EB_COUNT; b++) {
				double pw = acc[b] / GC_HOP;
				env->on[b][env->n] = b == EB_MID ? (float)sqrt(pw) :
					(float)(10.0 * log10(pw + GC_LOG_FLOOR));
				acc[b] = 0.0;
			}
			env->n++;
			fill = 0;
		}
	}
	for (int b = 0; b < EB_COUNT; b++)
		envelope_rise(env->on[b], env->n);
out:
	free(buf);
	decode_close(dec);
	if (rc)
		envelope_free(env);
	return rc;
}

/* ---- folding ------------------------------------------------------------- */

static void hist_smooth_n(const double *in, double *out, int bins)
{
	/* [1 2 3 2 1] / 9: ~3 bins at half height, circular. */
	static const double w[5] = { 1, 2, 3, 2, 1 };
	for (int b = 0; b < bins; b++) {
		double s = 0.0;
		for (int k = -2; k <= 2; k++)
			s += w[k + 2] * in[(b + k + bins) % bins];
		out[b] = s / 9.0;
	}
}

/* The peaks of v (GC_BINS values over one beat of period_s, circular) in
 * units of unit (the mean, for a fold): the local maxima, highest first
 * (parabolically refined, in ms in (-period/2, +period/2]), of which those
 * of at least keep_ratio of the highest and keep_min stay candidates.
 * sharpness is the highest's value; a flat v has one peak at 0 of 1. */
static void fold_peaks(const double *v, double unit, double period_s,
		       double keep_ratio, double keep_min, struct fold *r)
{
	const double *sm = v;
	double mean = unit;

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
	       r->peak_sharp[keep] >= keep_ratio * r->peak_sharp[0] &&
	       r->peak_sharp[keep] >= keep_min)
		keep++;
	r->peaks = keep;
}

/* Folds on[from, to) at fold_s (a beat or a bar) into bins bins, phase 0
 * at first_beat_s, smoothed, into sm; value i is at (i + 1/2) * hop_s -
 * delay_s. Each bin is the mean strength of the hops that fall in it
 * (linear split between the two nearest bins), so that an uneven coverage
 * of the phases does not make a peak. Returns the mean of sm. */
static double fold_hist(const float *on, size_t from, size_t to,
			double first_beat_s, double fold_s, double delay_s,
			int bins, double *sm)
{
	const double hop_s = (double)GC_HOP / DECODE_RATE;
	double sum[GC_BAR_BINS] = { 0 }, cnt[GC_BAR_BINS] = { 0 };
	double hist[GC_BAR_BINS];
	double inv = 1.0 / fold_s;

	for (size_t i = from; i < to; i++) {
		double x = (((double)i + 0.5) * hop_s - delay_s - first_beat_s) *
			   inv;
		x = (x - floor(x)) * bins;
		int b = (int)x;
		double fr = x - b;
		if (b >= bins) {
			b = 0;
			fr = 0.0;
		}
		int b2 = b + 1 == bins ? 0 : b + 1;
		sum[b] += (1.0 - fr) * on[i];
		cnt[b] += 1.0 - fr;
		sum[b2] += fr * on[i];
		cnt[b2] += fr;
	}
	for (int b = 0; b < bins; b++)
		hist[b] = cnt[b] > 0.0 ? sum[b] / cnt[b] : 0.0;
	hist_smooth_n(hist, sm, bins);

	double mean = 0.0;
	for (int b = 0; b < bins; b++)
		mean += sm[b];
	return mean / bins;
}

/* Folds on[from, to) at period_s, phase 0 at first_beat_s, into r: its
 * sharpness and candidate peaks (fold_peaks). */
static void fold_compute(const float *on, size_t from, size_t to,
			 double first_beat_s, double period_s, double delay_s,
			 struct fold *r)
{
	double sm[GC_BINS];
	double mean = fold_hist(on, from, to, first_beat_s, period_s, delay_s,
				GC_BINS, sm);
	fold_peaks(sm, mean, period_s, GC_ALT_PEAK_RATIO, GC_SHARP_MIN, r);
}

/* ---- the drum pattern ---------------------------------------------------- */

static int bin_of_ms(double ms, double period_s)
{
	long b = lround(ms / (period_s * 1000.0) * GC_BINS);
	return (int)(((b % GC_BINS) + GC_BINS) % GC_BINS);
}

/* Whether bar (GC_BAR_BINS, a band's bar fold) holds a kick on each of its
 * four beats at beat-phase bin b: at least GC_FOUR_RATIO of the bar's
 * highest within two bins of each. */
static bool bar_four(const double *bar, int b)
{
	double top = 0.0, low = INFINITY;
	for (int x = 0; x < GC_BAR_BINS; x++)
		top = fmax(top, bar[x]);
	for (int j = 0; j < GC_BAR_BEATS; j++) {
		double m = 0.0;
		for (int d = -2; d <= 2; d++)
			m = fmax(m, bar[(b + j * GC_BINS + d + GC_BAR_BINS) %
					GC_BAR_BINS]);
		low = fmin(low, m);
	}
	return top > 0.0 && low >= GC_FOUR_RATIO * top;
}

/* The drum pattern's phase in on[][from, to) (kick, mid and high band),
 * into r; *four says the kick was four on the floor. Each band is folded
 * over the bar (in units of its mean); a band whose beat profile (the
 * bar's four beats averaged) is not sharp takes no part. The window's
 * sharpness is the sharpest band's. A four-on-the-floor kick is the beat:
 * its candidate peaks that are four on the floor are the window's first
 * candidates, the comb's follow (channel_track takes the one that
 * continues its neighbours). Else
 * each band's excess over its mean is smoothed by a triangle of
 * GC_COMB_MS each side and scored, as a share of its total, at the bar's
 * eight eighths from each phase of the beat (beats GC_BEAT_WEIGHT,
 * off-beats GC_OFFBEAT_WEIGHT, the hats' GC_HATS_OFFBEAT_WEIGHT); the
 * bands' shares add up, and the phases
 * within GC_PATTERN_TIE of the best are the candidates. */
static void pattern_window(const float *const *on, const double *delay_s,
			   size_t from, size_t to, double first_beat_s,
			   double period_s, struct fold *r, bool *four)
{
	/* Off-beat weights by band: kick, snare, hats. */
	static const double w_off[GC_PATTERN_BANDS] = {
		GC_OFFBEAT_WEIGHT, GC_OFFBEAT_WEIGHT, GC_HATS_OFFBEAT_WEIGHT,
	};
	double bar[GC_PATTERN_BANDS][GC_BAR_BINS];
	bool part[GC_PATTERN_BANDS];
	double sharp = 1.0;
	struct fold kick = { .peaks = 0 };

	*four = false;
	for (int b = 0; b < GC_PATTERN_BANDS; b++) {
		double prof[GC_BINS] = { 0 }, pmax = 0.0;
		double mean = fold_hist(on[b], from, to, first_beat_s,
					GC_BAR_BEATS * period_s, delay_s[b],
					GC_BAR_BINS, bar[b]);
		part[b] = false;
		if (!(mean > 0.0))
			continue;
		for (int x = 0; x < GC_BAR_BINS; x++) {
			bar[b][x] /= mean;
			prof[x % GC_BINS] += bar[b][x] / GC_BAR_BEATS;
		}
		for (int x = 0; x < GC_BINS; x++)
			pmax = fmax(pmax, prof[x]);
		part[b] = pmax >= GC_SHARP_MIN;
		sharp = fmax(sharp, pmax);
		if (b == 0 && part[b])
			fold_peaks(prof, 1.0, period_s, GC_ALT_PEAK_RATIO,
				   GC_SHARP_MIN, &kick);
	}
	r->sharpness = sharp;
	r->peaks = 0;
	struct fold four_at = { .peaks = 0 };
	for (int k = 0; k < kick.peaks; k++) {
		if (!bar_four(bar[0], bin_of_ms(kick.peak_ms[k], period_s)))
			continue;
		four_at.peak_ms[four_at.peaks] = kick.peak_ms[k];
		four_at.peak_sharp[four_at.peaks] = kick.peak_sharp[k];
		four_at.peaks++;
	}
	*four = four_at.peaks > 0;

	/* The comb. */
	double score[GC_BINS] = { 0 };
	int rad = (int)lround(GC_COMB_MS / (period_s * 1000.0) * GC_BINS);
	if (rad > GC_BINS / 8 - 1)
		rad = GC_BINS / 8 - 1;
	if (rad < 1)
		rad = 1;
	for (int b = 0; b < GC_PATTERN_BANDS; b++) {
		double ex[GC_BAR_BINS], tri[GC_BAR_BINS], total = 0.0;
		if (!part[b])
			continue;
		for (int x = 0; x < GC_BAR_BINS; x++) {
			ex[x] = fmax(bar[b][x] - 1.0, 0.0);
			total += ex[x];
		}
		if (!(total > 0.0))
			continue;
		for (int x = 0; x < GC_BAR_BINS; x++) {
			double t = 0.0;
			for (int d = -rad; d <= rad; d++)
				t += (rad + 1 - abs(d)) *
				     ex[(x + d + GC_BAR_BINS) % GC_BAR_BINS];
			tri[x] = t / ((rad + 1) * total);
		}
		for (int ph = 0; ph < GC_BINS; ph++)
			for (int j = 0; j < 2 * GC_BAR_BEATS; j++)
				score[ph] += (j % 2 ? w_off[b] :
					      GC_BEAT_WEIGHT) *
					     tri[(ph + j * GC_BINS / 2) %
						 GC_BAR_BINS];
	}
	double top = 0.0;
	for (int ph = 0; ph < GC_BINS; ph++)
		top = fmax(top, score[ph]);
	if (!(top > 0.0)) {
		r->peaks = 1;
		r->peak_ms[0] = 0.0;
		r->peak_sharp[0] = sharp;
	} else {
		/* In units that make the best phase's value the window's
		 * sharpness, so that the peaks read like a fold's. */
		fold_peaks(score, top / sharp, period_s, GC_PATTERN_TIE, 0.0,
			   r);
	}
	r->sharpness = sharp;
	if (!*four)
		return;
	/* The four-on-the-floor kick first, then the comb's candidates: an
	 * outro whose bass is four on the floor on the off-beat (Singularity's
	 * "Deprecation") is not the track's kick moving. */
	for (int k = 0; k < r->peaks && four_at.peaks < GC_MAX_PEAKS; k++) {
		four_at.peak_ms[four_at.peaks] = r->peak_ms[k];
		four_at.peak_sharp[four_at.peaks] = r->peak_sharp[k];
		four_at.peaks++;
	}
	four_at.sharpness = sharp;
	*r = four_at;
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

/* The windows of on[0, n): GC_WINDOW_S each, the last one only when it
 * holds at least GC_MIN_WINDOW_S, at most GC_MAX_WINDOWS; window w is
 * [from[w], to[w]). Returns how many. */
static size_t window_spans(size_t n, size_t *from, size_t *to)
{
	const double hop_s = (double)GC_HOP / DECODE_RATE;
	size_t win = (size_t)lround(GC_WINDOW_S / hop_s);
	size_t min_win = (size_t)lround(GC_MIN_WINDOW_S / hop_s);
	size_t count = 0;
	for (size_t a = 0; a < n && count < GC_MAX_WINDOWS; a += win) {
		size_t b = a + win < n ? a + win : n;
		if (b - a < min_win)
			break;
		from[count] = a;
		to[count++] = b;
	}
	return count;
}

/* Folds on[0, n) at the grid in its windows (window_spans); fills ch->win
 * and the median sharpness. */
static void channel_fold(const float *on, size_t n, double first_beat_s,
			 double period_s, double delay_s, struct channel *ch)
{
	size_t from[GC_MAX_WINDOWS], to[GC_MAX_WINDOWS];
	double sharp[GC_MAX_WINDOWS];

	ch->windows = window_spans(n, from, to);
	for (size_t w = 0; w < ch->windows; w++) {
		fold_compute(on, from[w], to[w], first_beat_s, period_s,
			     delay_s, &ch->win[w]);
		sharp[w] = ch->win[w].sharpness;
	}
	ch->median_sharpness = median_of(sharp, ch->windows);
}

/* The pattern channel's windows, as channel_fold's (pattern_window);
 * counts the sharp ones whose kick is four on the floor. */
static void pattern_fold(const float *const *on, const double *delay_s,
			 size_t n, double first_beat_s, double period_s,
			 struct channel *ch)
{
	size_t from[GC_MAX_WINDOWS], to[GC_MAX_WINDOWS];
	double sharp[GC_MAX_WINDOWS];

	ch->windows = window_spans(n, from, to);
	ch->four_windows = 0;
	for (size_t w = 0; w < ch->windows; w++) {
		struct fold *f = &ch->win[w];
		bool four;
		pattern_window(on, delay_s, from[w], to[w], first_beat_s,
			       period_s, f, &four);
		sharp[w] = f->sharpness;
		ch->four_windows += four && f->sharpness >= GC_SHARP_MIN;
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
 * when the kick is there too. With any_peak (the pattern, whose candidates
 * are ties), the start is the window with any candidate nearest whole_ms,
 * and that candidate: a track whose pattern fits the grid and the grid
 * moved by half a beat equally well keeps the whole track's choice. */
static void channel_track(struct channel *ch, double period_s,
			  double whole_ms, bool any_peak)
{
	double period_ms = period_s * 1000.0;
	size_t ref = 0;
	int ref_k = 0;
	double ref_d = INFINITY;

	for (size_t w = 0; w < ch->windows; w++) {
		ch->offset_ms[w] = ch->win[w].peak_ms[0];
		ch->unwrapped_ms[w] = ch->offset_ms[w];
		ch->alt[w] = false;
		int peaks = any_peak ? ch->win[w].peaks : 1;
		for (int k = 0; k < peaks; k++) {
			double d = fabs(wrap_ms(ch->win[w].peak_ms[k] - whole_ms,
						period_ms));
			if (window_sharp(ch, w) && d < ref_d) {
				ref_d = d;
				ref = w;
				ref_k = k;
			}
		}
	}
	if (ch->windows == 0 || !window_sharp(ch, ref))
		return;
	ch->offset_ms[ref] = ch->unwrapped_ms[ref] =
		ch->win[ref].peak_ms[ref_k];
	ch->alt[ref] = ref_k != 0;
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

/* The candidate of f nearest the grid's beat: with a grid at half the
 * music's tempo both kicks are peaks, and the grid's own is the one to
 * judge; of a pattern that fits several phases, the grid's. */
static double fold_nearest_ms(const struct fold *f)
{
	double ms = f->peak_ms[0];
	for (int k = 1; k < f->peaks; k++)
		if (fabs(f->peak_ms[k]) < fabs(ms))
			ms = f->peak_ms[k];
	return ms;
}

/* Judges PATH's grid with the envelope force (CH_KICK, CH_BROAD,
 * CH_PATTERN, or -1: the kick when it is four on the floor, else the drum
 * pattern when it is sharp, else broadband). Returns 0, or a negative
 * errno with rep->verdict GC_FAILED and rep->reason set. */
static int track_check(const char *path, double bpm, double first_beat_s,
		       int force, struct report *rep)
{
	struct envelope env;
	double period_s = 60.0 / bpm;
	double delay_s[EB_COUNT] = { kick_delay_s(), 0.0, 0.0, 0.0 };

	memset(rep, 0, sizeof(*rep));
	name_set(rep, path);
	rep->bpm = bpm;
	int rc = envelope_build(path, &env, rep->reason, sizeof(rep->reason));
	if (rc) {
		rep->verdict = GC_FAILED;
		return rc;
	}
	/* The pattern's bands, in pattern_window's order. */
	const float *drums[GC_PATTERN_BANDS] = {
		env.on[EB_KICK], env.on[EB_MID], env.on[EB_HIGH],
	};
	const double drums_delay_s[GC_PATTERN_BANDS] = {
		delay_s[EB_KICK], delay_s[EB_MID], delay_s[EB_HIGH],
	};
	for (int c = 0; c < CH_COUNT; c++) {
		struct channel *ch = &rep->ch[c];
		struct fold whole;
		if (c == CH_PATTERN) {
			bool four;
			pattern_fold(drums, drums_delay_s, env.n, first_beat_s,
				     period_s, ch);
			pattern_window(drums, drums_delay_s, 0, env.n,
				       first_beat_s, period_s, &whole, &four);
		} else {
			int b = c == CH_KICK ? EB_KICK : EB_BROAD;
			channel_fold(env.on[b], env.n, first_beat_s, period_s,
				     delay_s[b], ch);
			fold_compute(env.on[b], 0, env.n, first_beat_s,
				     period_s, delay_s[b], &whole);
		}
		channel_track(ch, period_s, fold_nearest_ms(&whole),
			      c == CH_PATTERN);
		channel_stats(ch, period_s, env.n);
	}
	const struct channel *pat = &rep->ch[CH_PATTERN];
	bool kick_four = rep->ch[CH_KICK].median_sharpness >= GC_SHARP_MIN &&
		pat->sharp_windows > 0 &&
		pat->four_windows >= GC_FOUR_SHARE * pat->sharp_windows;
	/* Whether there is a beat at all is the kick's or the whole band's
	 * to say: the sharpest of three bands is sharp by chance more often
	 * (Nexuiz's "Thunder", no beat, has a pattern sharpness of 2.5). */
	bool beat = rep->ch[CH_KICK].median_sharpness >= GC_SHARP_MIN ||
		rep->ch[CH_BROAD].median_sharpness >= GC_SHARP_MIN;
	rep->used = force >= 0 ? force : kick_four ? CH_KICK :
		beat && pat->median_sharpness >= GC_SHARP_MIN ? CH_PATTERN :
		CH_BROAD;
	/* The pattern's tempo is the whole band's; its phase at that tempo
	 * the pattern's. */
	int tb = rep->used == CH_KICK ? EB_KICK : EB_BROAD;
	if (env.n > 0)
		tempo_search(env.on[tb], env.n, first_beat_s, delay_s[tb], rep);
	if (env.n > 0 && rep->used == CH_PATTERN) {
		struct fold whole;
		bool four;
		pattern_window(drums, drums_delay_s, 0, env.n, first_beat_s,
			       60.0 / rep->best_bpm, &whole, &four);
		rep->best_phase_ms = fold_nearest_ms(&whole);
		rep->best_sharpness = whole.sharpness;
	}
	rep->verdict = verdict_of(&rep->ch[rep->used], period_s);
	envelope_free(&env);
	return 0;
}

/* ---- output -------------------------------------------------------------- */

static void report_print(const struct report *rep)
{
	const struct channel *ch = &rep->ch[rep->used];
	const struct channel *pat = &rep->ch[CH_PATTERN];

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
	       "best_phase_ms=%+.1f best_sharpness=%.2f kick_four=%zu/%zu ",
	       ch->median_sharpness, ch->sharp_windows, ch->right_windows,
	       ch->alt_windows, ch->jumps, ch->spread_ms, ch->drift_ms_per_min,
	       ch->median_offset_ms,
	       ch->half_beat ? "half-beat" : "on-beat", rep->best_bpm,
	       rep->best_diff_pct, rep->best_at_edge ? " (search edge)" : "",
	       rep->best_phase_ms, rep->best_sharpness, pat->four_windows,
	       pat->sharp_windows);
	/* The other envelopes, as a cross-check. */
	for (int c = 0; c < CH_COUNT; c++)
		if (c != rep->used)
			printf("%s_sharpness=%.2f %s_median_offset_ms=%+.1f ",
			       channel_names[c], rep->ch[c].median_sharpness,
			       channel_names[c], rep->ch[c].median_offset_ms);
	printf("verdict=%s\n", verdict_names[rep->verdict]);
}

static void summary_header(void)
{
	printf("%-36s %-13s %9s %9s %8s %9s %8s %6s %-7s %5s %s\n", "track",
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
	printf("%-36s %-13s %9.4f %9.4f %+8.4f %9.1f %+8.2f %6.2f %-7s %5s "
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
	int force; /* CH_KICK, CH_BROAD, CH_PATTERN, or -1: automatic */
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
		"usage: grid-check [--summary] [--env kick|broad|pattern] "
		"< analysis.jsonl\n"
		"       grid-check [--summary] [--env kick|broad|pattern] --bpm X "
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
			} else if (!strcmp(v, "pattern")) {
				opt.force = CH_PATTERN;
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
