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
 * - each deck's onset-strength envelope, in hops of 256 frames (5.8 ms):
 *   the half-wave-rectified rise of the log energy (dB) of the last 1024
 *   frames (Hann-weighted) of the deck's mono sum, once broadband and once
 *   below 150 Hz
 *   (a 2nd-order Butterworth low-pass: the kick), rises under 0.1 dB a
 *   hop ignored, the two rises added, then the envelope's mean over the
 *   surrounding beat taken off. Log energy does not care about the level,
 *   so a deck fading out keeps its onsets; the Hann weights and the dead
 *   zone keep the ripple of a steady tone's energy out (periodic, and so
 *   "a beat" to a normalised correlation, however small), and taking the
 *   local mean off keeps out the fades and the bass swap, which raise a
 *   deck's level smoothly;
 * - the normalised cross-correlation of the two envelopes (means removed)
 *   at lags within half a beat (of bpm_from, or of twice it when B plays
 *   at double time: the pulse both share; 120 BPM when unknown) either
 *   way, its peak refined by a parabola through the three values around
 *   it: the lag (positive: B's beats come after A's) and the peak's
 *   value, the strength (1: the same onsets; near 0: nothing in common,
 *   as when one deck has no beat); a peak at the end of the lags is
 *   flagged "lag at half a beat" (the decks may be a half beat apart);
 * - whether each deck carries a beat: its envelope's periodicity, the
 *   median over windows of 8 beats (stepping 4) of the largest normalised
 *   autocorrelation at a lag within 3% of the beat period (the periods of
 *   bpm_from and of bpm_to moved by octaves next to it, since the tempo
 *   ramps between the two); a deck carries a beat when that is at least
 *   R (--beat-threshold, 0.3).
 * One line per transition (index, kind, position, tempos, lag, strength,
 * both periodicities, which decks carry a beat), then the summary over
 * the beatmatched transitions whose decks both carry a beat and whose
 * overlap the render did not cut: how many, the median |lag| and the
 * share within 20 ms. The last line is "summary: key=value ..." for
 * scripts (bench/real-mix.sh).
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
#define HOP 256                  /* 5.8 ms */
#define WINDOW (4 * HOP)         /* energy over 1024 frames */
#define LOW_HZ 150.0
#define FLOOR_DB -120.0
#define DEAD_ZONE_DB 0.1
#define READ_FRAMES 8192
#define PERIOD_TOLERANCE 0.03
#define PERIOD_WINDOW_BEATS 8
#define DEFAULT_BPM 120.0
#define WITHIN_MS 20.0
#define MAX_TRANSITIONS 100000
#define MAX_OVERLAP_S 600.0

struct transition {
	char kind[32];
	double position_s, duration_s;
	double bpm_from, bpm_to;  /* 0 when unknown */
};

struct result {
	double lag_ms, strength;
	double beat[2];           /* periodicity of A, of B */
	bool cut;                 /* the overlap runs past the file's end */
	bool edge;                /* the peak is at the end of the lags */
	bool empty;               /* no overlap to measure */
};

/* ------------------------------------------------------------------ */
/* The onset envelope.                                                 */

struct biquad {
	double b0, b1, b2, a1, a2;
	double x1, x2, y1, y2;
};

static void biquad_lowpass(struct biquad *f, double hz)
{
	double w = 2 * M_PI * hz / RATE, c = cos(w);
	double alpha = sin(w) / (2 * M_SQRT1_2);
	double a0 = 1 + alpha;
	memset(f, 0, sizeof(*f));
	f->b0 = (1 - c) / 2 / a0;
	f->b1 = (1 - c) / a0;
	f->b2 = (1 - c) / 2 / a0;
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

/* One deck's envelope as it is being built. */
struct onset {
	struct biquad low;
	float hist[2][WINDOW];    /* the last frames: broad, low (circular) */
	size_t at;                /* next slot in hist */
	double prev_db[2];
	float *env;
	size_t n, cap;
};

static void onset_init(struct onset *o, float *env, size_t cap)
{
	memset(o, 0, sizeof(*o));
	biquad_lowpass(&o->low, LOW_HZ);
	o->env = env;
	o->cap = cap;
	o->prev_db[0] = o->prev_db[1] = FLOOR_DB;
}

static void onset_add(struct onset *o, double mono)
{
	o->hist[0][o->at] = (float)mono;
	o->hist[1][o->at] = (float)biquad_run(&o->low, mono);
	o->at = (o->at + 1) % WINDOW;
}

/* The hop is complete: its onset strength, kept when KEEP. */
static void onset_hop(struct onset *o, bool keep)
{
	double rise = 0;
	for (int b = 0; b < 2; b++) {
		const float *h = o->hist[b];
		double e = 0;
		for (size_t k = 0; k < WINDOW; k++) {
			double v = h[(o->at + k) % WINDOW];
			e += hann[k] * v * v;
		}
		double db = 10 * log10(e / (WINDOW / 2) + 1e-12);
		if (db < FLOOR_DB)
			db = FLOOR_DB;
		if (db > o->prev_db[b] + DEAD_ZONE_DB)
			rise += db - o->prev_db[b] - DEAD_ZONE_DB;
		o->prev_db[b] = db;
	}
	if (keep && o->n < o->cap)
		o->env[o->n++] = (float)rise;
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

static void remove_mean(float *x, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m += x[i];
	m = n ? m / (double)n : 0;
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(x[i] - m);
}

/* Normalised cross-correlation of zero-mean a and b at lag L (b shifted
 * later by L hops), over the frames both cover. */
static double xcorr_at(const float *a, const float *b, size_t n, long lag,
		       double norm)
{
	double s = 0;
	size_t i0 = lag < 0 ? (size_t)-lag : 0;
	size_t i1 = lag > 0 ? n - (size_t)lag : n;
	for (size_t i = i0; i < i1; i++)
		s += (double)a[i] * b[(size_t)((long)i + lag)];
	return s / norm;
}

/* The lag (hops, fractional) of the highest normalised cross-correlation
 * within +-MAX_LAG, and that value into *strength; *edge when that is at
 * +-MAX_LAG (the true peak may be further: half a beat off). */
static double xcorr_peak(const float *a, const float *b, size_t n,
			 long max_lag, double *strength, bool *edge)
{
	double ea = 0, eb = 0;
	for (size_t i = 0; i < n; i++) {
		ea += (double)a[i] * a[i];
		eb += (double)b[i] * b[i];
	}
	*strength = 0;
	*edge = false;
	if (!(ea > 0 && eb > 0) || (size_t)max_lag * 2 >= n)
		return 0;
	double norm = sqrt(ea * eb);
	long best = 0;
	double best_v = -2, v_lo = 0, v_hi = 0;
	for (long l = -max_lag; l <= max_lag; l++) {
		double v = xcorr_at(a, b, n, l, norm);
		if (v > best_v) {
			best_v = v;
			best = l;
		}
	}
	*strength = best_v;
	*edge = best == -max_lag || best == max_lag;
	if (*edge)
		return (double)best;
	v_lo = xcorr_at(a, b, n, best - 1, norm);
	v_hi = xcorr_at(a, b, n, best + 1, norm);
	double den = v_lo - 2 * best_v + v_hi;
	double d = den < 0 ? 0.5 * (v_lo - v_hi) / den : 0;
	return (double)best + d;
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

/* Transition T (number INDEX) into *r. ENV, BUF, FLAT (2 envelopes) and
 * SCRATCH are work space. Returns 0 or -1 (a read error, said). */
static int measure(SNDFILE *sf, sf_count_t total, const struct transition *t,
		   size_t index, struct onset env[2], float *buf, float *flat,
		   double *scratch, size_t scratch_cap, struct result *r)
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
		onset_init(&env[p], env[p].env, env[p].cap);
	if (envelopes(sf, total, from, to, env, buf) < 0)
		return -1;
	/* A on pair index % 2. */
	struct onset *a = &env[index % 2], *b = &env[1 - index % 2];
	size_t n = a->n < b->n ? a->n : b->n;
	/* The pulse both decks share: A's beat, or B's when B plays at
	 * double time (its beats fall on A's beats and off-beats, so a lag
	 * of one of B's beats is no misalignment). */
	double bpm = t->bpm_from > 0 ? t->bpm_from : DEFAULT_BPM;
	if (t->bpm_from > 0 && t->bpm_to > 1.5 * t->bpm_from)
		bpm = 2 * t->bpm_from;
	long max_lag = (long)floor(0.5 * 60.0 / bpm * RATE / HOP);
	float *da = flat, *db = flat + env[0].cap;
	detrend(a->env, da, n, (size_t)max_lag);
	detrend(b->env, db, n, (size_t)max_lag);
	r->beat[0] = periodicity(da, n, t, scratch, scratch_cap);
	r->beat[1] = periodicity(db, n, t, scratch, scratch_cap);
	remove_mean(da, n);
	remove_mean(db, n);
	double lag = xcorr_peak(da, db, n, max_lag, &r->strength, &r->edge);
	r->lag_ms = lag * HOP * 1000.0 / RATE;
	return 0;
}

int main(int argc, char **argv)
{
	double threshold = 0.3;
	int argi = 1, rc = 1;
	struct transition *t = NULL;
	struct result *res = NULL;
	float *buf = NULL, *flat = NULL;
	double *scratch = NULL, *lags = NULL;
	struct onset env[2] = { { .env = NULL }, { .env = NULL } };
	SNDFILE *sf = NULL;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "--beat-threshold") == 0) {
		char *end;
		threshold = strtod(argv[2], &end);
		if (*end || !(threshold >= 0 && threshold <= 1)) {
			fprintf(stderr, "deck-align: --beat-threshold: a number "
				"0..1, got '%s'\n", argv[2]);
			return 2;
		}
		argi = 3;
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
	size_t env_cap = (size_t)(MAX_OVERLAP_S * RATE / HOP) + 16;
	size_t scratch_cap = env_cap;
	res = calloc((size_t)n_t + 1, sizeof(*res));
	lags = calloc((size_t)n_t + 1, sizeof(*lags));
	buf = malloc(READ_FRAMES * 4 * sizeof(*buf));
	flat = malloc(2 * env_cap * sizeof(*flat));
	scratch = malloc(scratch_cap * sizeof(*scratch));
	env[0].env = malloc(env_cap * sizeof(float));
	env[1].env = malloc(env_cap * sizeof(float));
	env[0].cap = env[1].cap = env_cap;
	if (!res || !lags || !buf || !flat || !scratch || !env[0].env ||
	    !env[1].env)
		goto nomem;

	printf("deck-align: %s, %.1f s, %ld transitions; a deck carries a "
	       "beat at periodicity >= %.2f\n", decks_path,
	       (double)si.frames / RATE, n_t, threshold);
	printf("%4s %-12s %9s %15s %9s %8s %7s %7s  %s\n", "#", "kind",
	       "at (s)", "BPM", "lag (ms)", "strength", "beat A", "beat B",
	       "beat on");
	size_t n_beat = 0, n_both = 0, n_within = 0;
	for (long i = 0; i < n_t; i++) {
		struct result *r = &res[i];
		if (measure(sf, si.frames, &t[i], (size_t)i, env, buf, flat,
			    scratch, scratch_cap, r) < 0)
			goto out;
		char bpm[32];
		if (t[i].bpm_from > 0 && t[i].bpm_to > 0)
			snprintf(bpm, sizeof(bpm), "%.1f->%.1f", t[i].bpm_from,
				 t[i].bpm_to);
		else
			snprintf(bpm, sizeof(bpm), "-");
		bool beat_a = r->beat[0] >= threshold;
		bool beat_b = r->beat[1] >= threshold;
		bool beatmatched = strcmp(t[i].kind, "beatmatched") == 0;
		const char *on = r->empty ? "(no overlap)" :
				 beat_a && beat_b ? "both" :
				 beat_a ? "A only" : beat_b ? "B only" : "none";
		if (r->empty)
			printf("%4ld %-12s %9.2f %15s %9s %8s %7s %7s  %s\n", i,
			       t[i].kind, t[i].position_s, bpm, "-", "-", "-",
			       "-", on);
		else
			printf("%4ld %-12s %9.2f %15s %+9.2f %8.3f %7.3f %7.3f  "
			       "%s%s%s\n", i, t[i].kind, t[i].position_s, bpm,
			       r->lag_ms, r->strength, r->beat[0], r->beat[1],
			       on, r->edge ? " (lag at half a beat)" : "",
			       r->cut ? " (cut by the end)" : "");
		if (!beatmatched)
			continue;
		n_beat++;
		if (r->empty || r->cut || !beat_a || !beat_b)
			continue;
		lags[n_both++] = fabs(r->lag_ms);
		n_within += fabs(r->lag_ms) <= WITHIN_MS;
	}
	double med = median(lags, n_both);
	double share = n_both ? 100.0 * (double)n_within / (double)n_both : NAN;
	printf("beatmatched: %zu of %ld; with a beat on both decks (and not "
	       "cut): %zu", n_beat, n_t, n_both);
	if (n_both)
		printf("; median |lag| %.2f ms; within %.0f ms: %zu (%.0f%%)\n",
		       med, WITHIN_MS, n_within, share);
	else
		printf("; no lag to summarise\n");
	printf("summary: transitions=%ld beatmatched=%zu measured=%zu "
	       "median_abs_lag_ms=%.2f within_20ms=%zu within_20ms_pct=%.1f\n",
	       n_t, n_beat, n_both, med, n_within, share);
	rc = fflush(stdout) == 0 ? 0 : 1;
	goto out;
nomem:
	fprintf(stderr, "deck-align: out of memory\n");
out:
	if (sf)
		sf_close(sf);
	free(env[0].env);
	free(env[1].env);
	free(scratch);
	free(flat);
	free(buf);
	free(lags);
	free(res);
	free(t);
	return rc;
}
