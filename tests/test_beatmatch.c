/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_beatmatch — the quality of beatmatched transitions, measured on the
 * mixer's output with generated ground truth, through the real parts: WAV
 * files, the SQLite catalog, the analyzer (forked children) and its cache,
 * the mixer thread (Rubber Band, crossover, limiter), the ring.
 *
 * 1. Two click tracks, 120 and 126 BPM, clicks at 600 Hz and 2.4 kHz,
 *    rendered by `foreverfm render -o OUT.wav --transitions-log FILE`,
 *    louder on downbeats, which also carry a partial at 1.5 times the
 *    pitch. Each track's clicks, and its downbeats, are told apart by
 *    frequency (a demodulated envelope per band). In every transition (from the
 *    transitions log): the clicks of the two tracks coincide (median
 *    |offset| <= 5 ms, 95th percentile <= 10 ms; both are reported), their
 *    downbeats coincide, the beat interval moves monotonically from one
 *    tempo to the other, and outside transitions each track keeps its own
 *    tempo exactly; the marker is in the middle; the whole output is at
 *    or below -1 dBTP and within 1 LU of -14 LUFS (libebur128); one log
 *    line per transition.
 * 2. Two tracks at 120 BPM: played without time-stretching; through
 *    every transition each keeps exactly its 0.5 s beat and their clicks
 *    coincide within 1 ms.
 *    120 and 140 BPM (beyond max_stretch), also through `foreverfm
 *    render`: crossfades, logged as such. In the mixer in this process:
 *    analyses that arrive while the first track plays still give a
 *    beatmatched transition, its title marker exactly where the log
 *    says; an analysis that does not fit its file gives
 *    crossfades, logged.
 * 3. The decks (`foreverfm render --decks`), of three click tracks (one
 *    too far in tempo: crossfades too) at a -24 LUFS target, so that the
 *    limiter never engages: both files exactly as long; the decks'
 *    sum is the 16-bit mix to its rounding (half a step) at every frame,
 *    transitions included, and one frame off it is not; outside
 *    transitions the pair of the track that is not playing is exactly
 *    zero; the 1st, 3rd... track is on channels 1-2, the 2nd, 4th... on
 *    3-4 (told by pitch), so the track that comes back 4th is on the other
 *    pair. The tap in this process: the ring's float output is, to the
 *    bit, the sum of what the tap was handed, and what the mixer writes
 *    without a tap.
 * 4. Twenty minutes of the demo library (contrib/make-demo-library.sh,
 *    116-132 BPM dance tracks): no clipping (<= -1 dBTP), no silence gap,
 *    transitions of both kinds, one log line per transition.
 */
#include "autoconfig.h"

#include "analyzer.h"
#include "catalog.h"
#include "decode.h"
#include "log.h"
#include "mixer.h"
#include "ring.h"
#include "testutil.h"
#include "transition.h"
#include "synth.h"

#include <dirent.h>
#include <ebur128.h>
#include <sndfile.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RATE DECODE_RATE
#define MAX_MARKS 512
#define MAX_LOG 256
#define MAX_CLICKS 4096

static char tmp[PATH_MAX];

/* ------------------------------------------------------------------ */
/* Library.                                                            */

/* A click: a sine burst at FREQ starting at full level, 35 ms decay,
 * 150 ms long (percussive: Rubber Band keeps its onset). */
static void click(struct synth *p, double t, double freq, double amp)
{
	size_t i0 = synth_index(t), n = (size_t)(0.15 * RATE);
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / RATE;
		synth_add(p, i0 + i, (float)(amp * sin(2 * M_PI * freq * x) *
					     exp(-x / 0.035)));
	}
}

/* A click track: SECONDS long, first beat at 0.5 s, every 4th louder and
 * with a second partial at 1.5 FREQ, which tells downbeats apart in the
 * mix whatever the gains and the limiter do to the levels; under it a
 * steady bass tone at PAD_HZ (clicks alone are too peaky for -14 LUFS:
 * the tone gives a dance track's peak-to-loudness ratio, and the bass
 * swap something to swap). */
static void click_track(const char *path, double bpm, double freq,
			double pad_hz, double seconds)
{
	struct synth p = synth_new(seconds);
	for (int k = 0; 0.5 + k * 60.0 / bpm < seconds - 0.5; k++) {
		double t = 0.5 + k * 60.0 / bpm;
		click(&p, t, freq, k % 4 == 0 ? 0.55 : 0.35);
		if (k % 4 == 0)
			click(&p, t, 1.5 * freq, 0.25);
	}
	for (size_t i = (size_t)(0.45 * RATE); i + RATE / 2 < p.frames; i++)
		synth_add(&p, i, (float)(0.25 * sin(2 * M_PI * pad_hz *
						    (double)i / RATE)));
	CHECK(synth_write_wav(&p, path) == 0);
	synth_free(&p);
}

static int64_t put_track(struct catalog *cat, const char *path)
{
	struct decode_info info;
	char err[DECODE_ERROR_MAX];
	struct stat st;
	int64_t id = -1;
	CHECK_INT(decode_probe(path, &info, err, sizeof(err)), ==, 0);
	CHECK(stat(path, &st) == 0);
	CHECK_INT(catalog_track_put(cat, path, (int64_t)st.st_size,
				    (int64_t)st.st_mtime, &info, &id), ==, 0);
	return id;
}

/* Analyses the library the way the station does (children, cache). */
static void analyse(struct catalog *cat)
{
	struct analyzer_params p;
	memset(&p, 0, sizeof(p));
	p.workers = 2;
	struct analyzer_stats st;
	memset(&st, 0, sizeof(st));
	CHECK_INT(analyzer_run(cat, &p, NULL, &st), ==, 0);
	CHECK_INT(st.bad, ==, 0);
}

/* ------------------------------------------------------------------ */
/* Rendering: the mixer into a ring read here.                         */

struct mark {
	uint64_t frame;
	int64_t id;
};

struct render {
	float *mono;          /* left channel, when kept */
	size_t n;
	size_t cap;
	struct mark marks[MAX_MARKS];
	size_t n_marks;
	ebur128_state *meter;
	/* Silence gaps: the longest run of 50 ms windows under -50 dBFS. */
	double win_energy;
	size_t win_fill;
	size_t quiet_run, longest_quiet;
	uint64_t longest_quiet_at;
	double sample_peak;
	struct mixer_stats stats;
};

/* Called once by render() when the output reaches hook_at_s (this
 * thread, while the mixer runs). */
static void (*render_hook)(struct catalog *cat);
static double render_hook_at_s;
/* Called by render() with every block read from the ring (this thread),
 * FIRST its frame index, when set. */
static void (*render_reader)(const float *buf, size_t n, size_t first);

static void render_begin(struct render *r, double seconds, bool keep)
{
	memset(r, 0, sizeof(*r));
	if (keep) {
		r->cap = (size_t)(seconds * RATE);
		r->mono = calloc(r->cap, sizeof(float));
		CHECK(r->mono);
	}
	r->meter = ebur128_init(2, RATE, EBUR128_MODE_I |
				EBUR128_MODE_TRUE_PEAK);
	CHECK(r->meter);
}

/* Measures N frames of interleaved stereo output. */
static void render_take(struct render *r, const float *buf, size_t n)
{
	const size_t win = RATE / 20;
	CHECK(ebur128_add_frames_float(r->meter, buf, n) == EBUR128_SUCCESS);
	for (size_t i = 0; i < n; i++) {
		double l = buf[2 * i], rr = buf[2 * i + 1];
		if (fabs(l) > r->sample_peak)
			r->sample_peak = fabs(l);
		if (fabs(rr) > r->sample_peak)
			r->sample_peak = fabs(rr);
		if (r->mono) {
			CHECK(r->n < r->cap);
			r->mono[r->n] = (float)l;
		}
		r->n++;
		r->win_energy += l * l + rr * rr;
		if (++r->win_fill == win) {
			double rms = sqrt(r->win_energy / (2.0 * win));
			if (rms < pow(10, -50 / 20.0)) {
				if (++r->quiet_run > r->longest_quiet) {
					r->longest_quiet = r->quiet_run;
					r->longest_quiet_at = r->n;
				}
			} else {
				r->quiet_run = 0;
			}
			r->win_energy = 0;
			r->win_fill = 0;
		}
	}
}

/* Renders SECONDS of the catalog's library with PARAMS into r (keeping the
 * mono signal when KEEP) and the transitions log into LOG_PATH, with the
 * mixer in this process (markers are seen to the frame). */
static void render(struct catalog *cat, struct mixer_params *params,
		   double seconds, bool keep, const char *log_path,
		   struct render *r)
{
	size_t total = (size_t)(seconds * RATE);
	render_begin(r, seconds, keep);
	FILE *log_fp = fopen(log_path, "w");
	CHECK(log_fp);
	struct ring *ring = ring_create(RATE / 2, 1, 16, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	params->stop_after_frames = total;
	params->transitions_log = log_fp;
	struct mixer *m = mixer_create(cat, ring, params);
	CHECK(m);
	CHECK_INT(mixer_start(m), ==, 0);

	static float buf[2 * 4096];
	for (;;) {
		struct ring_marker mk;
		bool has = false;
		ssize_t got = ring_read(ring, 0, buf, 4096, &mk, &has);
		CHECK(got >= 0);
		if (got == 0)
			break;
		if (render_hook && (double)r->n >= render_hook_at_s * RATE) {
			render_hook(cat);
			render_hook = NULL;
		}
		if (has) {
			CHECK(r->n_marks < MAX_MARKS);
			r->marks[r->n_marks].frame = mk.frame;
			r->marks[r->n_marks].id = mk.track_id;
			r->n_marks++;
		}
		if (render_reader)
			render_reader(buf, (size_t)got, r->n);
		render_take(r, buf, (size_t)got);
	}
	CHECK_INT(mixer_join(m), ==, 0);
	mixer_get_stats(m, &r->stats);
	mixer_destroy(m);
	ring_destroy(ring);
	CHECK(fclose(log_fp) == 0);
	CHECK_INT(r->n, ==, total);
}

/* The same through the command a user runs: `foreverfm render -o
 * OUT.wav --transitions-log LOG_PATH EXTRA DIR` (its own in-memory catalog,
 * analysis and tour), then the WAV measured as render() measures the
 * ring. Markers are not in a WAV: r->n_marks stays 0. The transition
 * counts come from the command's last log line, and the command must log
 * one "mixer: beatmatched|crossfade at" line per transition. */
static void render_cli(const char *dir, double seconds, uint64_t seed,
		       const char *log_path, const char *extra,
		       struct render *r)
{
	const char *builddir = getenv("top_builddir");
	char wav[PATH_MAX + 16], err_path[PATH_MAX + 16];
	snprintf(wav, sizeof(wav), "%s/cli.wav", tmp);
	snprintf(err_path, sizeof(err_path), "%s/cli.log", tmp);
	if (test_sh("'%s/foreverfm' render -o '%s' -d %g --seed %llu "
		    "--transitions-log '%s' %s '%s' 2>'%s'",
		    builddir ? builddir : ".", wav, seconds,
		    (unsigned long long)seed, log_path, extra, dir,
		    err_path) != 0) {
		test_sh("cat '%s' >&2", err_path);
		CHECK(!"foreverfm render failed");
	}

	render_begin(r, seconds, true);
	char err[DECODE_ERROR_MAX];
	struct decoder *dec = decode_open(wav, err, sizeof(err));
	CHECK(dec);
	static float buf[2 * 4096];
	ssize_t got;
	while ((got = decode_read(dec, buf, 4096)) > 0)
		render_take(r, buf, (size_t)got);
	CHECK(got == 0);
	decode_close(dec);
	CHECK_INT(r->n, ==, (size_t)(seconds * RATE));

	FILE *fp = fopen(err_path, "r");
	CHECK(fp);
	char line[4096];
	unsigned long long beat = 0, cross = 0;
	size_t lines_beat = 0, lines_cross = 0;
	bool summary = false;
	while (fgets(line, sizeof(line), fp)) {
		lines_beat += strstr(line, "mixer: beatmatched at ") != NULL;
		lines_cross += strstr(line, "mixer: crossfade at ") != NULL ||
			       strstr(line, "mixer: cut at ") != NULL;
		const char *w = strstr(line, "render: wrote ");
		if (w && (w = strstr(w, " track change")) &&
		    (w = strchr(w, '(')) &&
		    sscanf(w, "(%llu beatmatched, %llu crossfaded)", &beat,
			   &cross) == 2)
			summary = true;
	}
	fclose(fp);
	CHECK(summary);
	r->stats.transitions_beatmatched = beat;
	r->stats.transitions_crossfaded = cross;
	CHECK_INT(lines_beat, ==, beat);
	CHECK_INT(lines_cross, ==, cross);
}

static void render_free(struct render *r)
{
	free(r->mono);
	ebur128_destroy(&r->meter);
}

static double render_true_peak_db(struct render *r)
{
	double p0, p1;
	CHECK(ebur128_true_peak(r->meter, 0, &p0) == EBUR128_SUCCESS);
	CHECK(ebur128_true_peak(r->meter, 1, &p1) == EBUR128_SUCCESS);
	return 20 * log10(p0 > p1 ? p0 : p1);
}

static double render_loudness(struct render *r)
{
	double l;
	CHECK(ebur128_loudness_global(r->meter, &l) == EBUR128_SUCCESS);
	return l;
}

/* ------------------------------------------------------------------ */
/* The transitions log: one JSON object per line.                      */

struct entry {
	char kind[32];
	char reason[256];
	double position_s, marker_s, duration_s, a_exit_s, b_entry_s;
	double bpm_from, bpm_to;
	int bars;
	int64_t from_id, to_id;
	char from[256], to[256]; /* display titles */
};

static double json_num(const char *line, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(line, pat);
	CHECK(p);
	p += strlen(pat);
	if (strncmp(p, "null", 4) == 0)
		return NAN;
	return strtod(p, NULL);
}

static void json_str(const char *line, const char *key, char *out,
		     size_t size)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(line, pat);
	CHECK(p);
	p += strlen(pat);
	size_t n = 0;
	while (*p && *p != '"' && n + 1 < size) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p++;
	}
	out[n] = '\0';
}

static size_t read_log(const char *path, struct entry *e, size_t max)
{
	FILE *fp = fopen(path, "r");
	CHECK(fp);
	char line[4096];
	size_t n = 0;
	while (fgets(line, sizeof(line), fp)) {
		CHECK(n < max);
		CHECK(line[0] == '{' && strchr(line, '}'));
		struct entry *x = &e[n++];
		json_str(line, "kind", x->kind, sizeof(x->kind));
		json_str(line, "reason", x->reason, sizeof(x->reason));
		json_str(line, "from", x->from, sizeof(x->from));
		json_str(line, "to", x->to, sizeof(x->to));
		x->position_s = json_num(line, "position_s");
		x->marker_s = json_num(line, "marker_s");
		x->duration_s = json_num(line, "duration_s");
		x->a_exit_s = json_num(line, "a_exit_s");
		x->b_entry_s = json_num(line, "b_entry_s");
		x->bpm_from = json_num(line, "bpm_from");
		x->bpm_to = json_num(line, "bpm_to");
		x->bars = (int)json_num(line, "bars");
		x->from_id = (int64_t)json_num(line, "from_id");
		x->to_id = (int64_t)json_num(line, "to_id");
	}
	fclose(fp);
	return n;
}

/* ------------------------------------------------------------------ */
/* Clicks in the output.                                               */

struct clicks {
	double at[MAX_CLICKS];   /* onset, seconds */
	double peak[MAX_CLICKS]; /* envelope peak */
	size_t n;
};

/* A band's envelope over frames [base, base + n) of the output. */
struct env {
	float *v;
	size_t base, n;
};

static float env_at(const struct env *e, size_t i)
{
	return i >= e->base && i < e->base + e->n ? e->v[i - e->base] : 0.0f;
}

/* The envelope of x[from..to) around FREQ: demodulated to 0 Hz and
 * smoothed by four 2.3 ms moving averages (-55 dB or less at every other
 * pitch used here). */
static struct env band_envelope(const float *x, size_t from, size_t to,
				double freq)
{
	const size_t w = 100;
	struct env e = { NULL, from, to - from };
	size_t n = e.n;
	e.v = calloc(n, sizeof(float));
	float *re = calloc(n, sizeof(float)), *im = calloc(n, sizeof(float));
	double *hr = calloc(w, sizeof(double)), *hi = calloc(w, sizeof(double));
	CHECK(e.v && re && im && hr && hi);
	double c = cos(2 * M_PI * freq / RATE), s = sin(2 * M_PI * freq / RATE);
	double pr = 1, pi = 0;
	for (size_t i = 0; i < n; i++) {
		re[i] = (float)(x[from + i] * pr);
		im[i] = (float)(-x[from + i] * pi);
		double t = pr * c - pi * s;
		pi = pr * s + pi * c;
		pr = t;
		if ((i & 1023) == 0) { /* keep the oscillator on the circle */
			double g = 1 / sqrt(pr * pr + pi * pi);
			pr *= g;
			pi *= g;
		}
	}
	/* Moving averages in place, with the last w inputs kept aside. */
	for (int pass = 0; pass < 4; pass++) {
		double sr = 0, si = 0;
		memset(hr, 0, w * sizeof(double));
		memset(hi, 0, w * sizeof(double));
		for (size_t i = 0; i < n; i++) {
			size_t k = i % w;
			sr += re[i] - hr[k];
			si += im[i] - hi[k];
			hr[k] = re[i];
			hi[k] = im[i];
			re[i] = (float)(sr / (double)w);
			im[i] = (float)(si / (double)w);
		}
	}
	for (size_t i = 0; i < n; i++)
		e.v[i] = (float)(2 * sqrt((double)re[i] * re[i] +
					  (double)im[i] * im[i]));
	free(re);
	free(im);
	free(hr);
	free(hi);
	return e;
}

/* Clicks of one band between from_s and to_s: envelope peaks above
 * FLOOR at least 300 ms apart (a click's length); the onset is where the
 * envelope first reaches half the peak (interpolated). */
static void find_clicks(const struct env *e, double from_s, double to_s,
			double floor, struct clicks *c)
{
	c->n = 0;
	size_t i = from_s > 0 ? (size_t)(from_s * RATE) : 0;
	size_t end = (size_t)(to_s * RATE);
	if (i < e->base + 1)
		i = e->base + 1;
	if (end > e->base + e->n)
		end = e->base + e->n;
	/* Not from the middle of a click. */
	while (i < end && env_at(e, i) >= floor)
		i++;
	while (i < end && c->n < MAX_CLICKS) {
		if (env_at(e, i) < floor) {
			i++;
			continue;
		}
		/* The peak within 40 ms. */
		size_t pk = i;
		for (size_t j = i; j < i + (size_t)(0.04 * RATE); j++)
			if (env_at(e, j) > env_at(e, pk))
				pk = j;
		double half = 0.5 * env_at(e, pk);
		size_t j = pk;
		while (j > e->base + 1 && env_at(e, j - 1) >= half)
			j--;
		double lo = env_at(e, j - 1), hi = env_at(e, j);
		double frac = hi > lo ? (half - lo) / (hi - lo) : 0;
		c->at[c->n] = ((double)j - 1 + frac) / RATE;
		c->peak[c->n] = env_at(e, pk);
		c->n++;
		i = j + (size_t)(0.3 * RATE);
	}
}

/* Downbeat: the click has its second partial: from 10 to 40 ms after the
 * onset (past the onset's broadband edge), the marker band holds at least
 * a tenth of the main band's envelope (measured: 0.2 to 0.45 on downbeats,
 * at most 0.03 of leakage otherwise). */
static bool is_downbeat(const struct clicks *c, size_t i,
			const struct env *main_env, const struct env *marker)
{
	size_t from = (size_t)((c->at[i] + 0.010) * RATE);
	size_t to = (size_t)((c->at[i] + 0.040) * RATE);
	double sm = 0, sk = 0;
	for (size_t j = from; j < to; j++) {
		sm += env_at(main_env, j);
		sk += env_at(marker, j);
	}
	return sk > 0.1 * sm;
}

/* The click of C nearest to T, searching forward from index FROM (T
 * only grows from one call to the next). */
static size_t nearest_click(const struct clicks *c, size_t from, double t)
{
	while (from + 1 < c->n &&
	       fabs(c->at[from + 1] - t) < fabs(c->at[from] - t))
		from++;
	return from;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(double), cmp_double);
	size_t k = (size_t)ceil(p * (double)n) - 1;
	return v[k < n ? k : n - 1];
}

/* ------------------------------------------------------------------ */

struct click_track {
	const char *name; /* file name without .wav: the display title */
	double bpm, freq; /* main pitch; downbeats add 1.5 freq */
};

static const struct click_track *track_by_name(const struct click_track *t,
					       size_t n, const char *display)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, display) == 0)
			return &t[i];
	fprintf(stderr, "unknown track \"%s\"\n", display);
	CHECK(!"unknown track");
	return NULL;
}

/* A scenario's own directory for its tracks, tmp/NAME. */
static void scenario_dir(const char *name, char *dir, size_t size)
{
	snprintf(dir, size, "%s/%s", tmp, name);
	CHECK(mkdir(dir, 0755) == 0);
}

/* The same, and a catalog of its own, tmp/NAME.db. */
static struct catalog *scenario(const char *name, char *dir, size_t size)
{
	char path[PATH_MAX + 64];
	scenario_dir(name, dir, size);
	snprintf(path, sizeof(path), "%s/%s.db", tmp, name);
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	return cat;
}

static void test_clicks(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], log_path[PATH_MAX + 64];
	struct catalog *cat = scenario("clicks", dir, sizeof(dir));

	struct click_track tracks[2] = {
		{ "click-120", 120, 600 }, { "click-126", 126, 2400 },
	};
	int64_t ids[2];
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.wav", dir, tracks[i].name);
		click_track(path, tracks[i].bpm, tracks[i].freq,
			    i == 0 ? 70 : 90, 100);
		ids[i] = put_track(cat, path);
	}
	/* What the render will find (it analyses again, in its own
	 * catalog). */
	analyse(cat);
	for (size_t i = 0; i < 2; i++) {
		struct analysis a;
		CHECK_INT(catalog_analysis_get(cat, ids[i], &a), ==, 0);
		fprintf(stderr, "click track %.0f BPM: analysed %.3f BPM, grid "
			"%.2f, downbeat %.3f s (conf %.2f), %.1f LUFS, %.1f "
			"dBTP\n", tracks[i].bpm, a.bpm, a.grid_confidence,
			a.downbeat_s, a.downbeat_confidence, a.loudness_lufs,
			a.true_peak_db);
		CHECK_NEAR(a.bpm, tracks[i].bpm, tracks[i].bpm * 0.001);
		/* The loud clicks are the downbeats: at 0.5 s + whole bars. */
		double bars = (a.downbeat_s - 0.5) / (240.0 / tracks[i].bpm);
		CHECK_NEAR(bars, floor(bars + 0.5), 0.01);
	}

	snprintf(log_path, sizeof(log_path), "%s/clicks.jsonl", tmp);
	struct render r;
	const double seconds = 250;
	render_cli(dir, seconds, 3, log_path, "", &r);

	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	CHECK_INT(n_e, >=, 3);
	CHECK_INT(r.stats.transitions_beatmatched, ==, n_e);
	CHECK_INT(r.stats.transitions_crossfaded, ==, 0);


	static double offsets[MAX_CLICKS];
	size_t n_off = 0;
	for (size_t t = 0; t < n_e; t++) {
		const struct entry *x = &e[t];
		CHECK_STR(x->kind, "beatmatched");
		CHECK_INT(x->bars, ==, 16);
		const struct click_track *ta = track_by_name(tracks, 2, x->from);
		const struct click_track *tb = track_by_name(tracks, 2, x->to);
		CHECK_NEAR(x->bpm_from, ta->bpm, ta->bpm * 0.001);
		CHECK_NEAR(x->bpm_to, tb->bpm, tb->bpm * 0.001);
		if (x->position_s + x->duration_s > seconds - 2)
			continue; /* cut by the end of the render */

		/* The marker in the middle of the transition (that the
		 * mixer puts it where its log says: test_late_analysis). */
		CHECK(x->marker_s > x->position_s + 0.4 * x->duration_s);
		CHECK(x->marker_s < x->position_s + 0.6 * x->duration_s);

		/* Both tracks' bands around the transition. */
		struct env env[2], mark_env[2];
		size_t from = x->position_s > 13
			? (size_t)((x->position_s - 13) * RATE) : 0;
		size_t to = (size_t)((x->position_s + x->duration_s + 12) *
				     RATE);
		if (to > r.n)
			to = r.n;
		for (size_t i = 0; i < 2; i++) {
			env[i] = band_envelope(r.mono, from, to, tracks[i].freq);
			mark_env[i] = band_envelope(r.mono, from, to,
						    1.5 * tracks[i].freq);
		}
		static struct clicks ca, cb;
		int ia = ta == &tracks[0] ? 0 : 1, ib = 1 - ia;
		find_clicks(&env[ia], x->position_s,
			    x->position_s + x->duration_s, 0.01, &ca);
		find_clicks(&env[ib], x->position_s,
			    x->position_s + x->duration_s, 0.01, &cb);
		CHECK_INT(ca.n, >=, 50);
		CHECK_INT(cb.n, >=, 50);
		/* Pairs: each B click with the nearest A click. */
		static double pair_t[MAX_CLICKS];
		size_t n_pairs = 0, down_pairs = 0, ja = 0;
		double worst = 0;
		for (size_t j = 0; j < cb.n; j++) {
			ja = nearest_click(&ca, ja, cb.at[j]);
			double d = cb.at[j] - ca.at[ja];
			if (fabs(d) > 0.1)
				continue;
			offsets[n_off++] = fabs(d) * 1000;
			if (fabs(d) > fabs(worst))
				worst = d;
			pair_t[n_pairs++] = (ca.at[ja] + cb.at[j]) / 2;
			/* Downbeats are compared where neither deck is
			 * 20 dB under the other (then the other's leakage
			 * into its bands is negligible). */
			double lo = fmin(ca.peak[ja], cb.peak[j]);
			double hi = fmax(ca.peak[ja], cb.peak[j]);
			if (lo < 0.1 * hi)
				continue;
			bool da = is_downbeat(&ca, ja, &env[ia], &mark_env[ia]);
			bool db = is_downbeat(&cb, j, &env[ib], &mark_env[ib]);
			if (da != db) {
				fprintf(stderr, "transition %zu: downbeats "
					"differ at %.3f s (A %d peak %.4f, B %d "
					"peak %.4f)\n", t, cb.at[j], da,
					ca.peak[ja], db, cb.peak[j]);
				exit(1);
			}
			down_pairs += da;
		}
		fprintf(stderr, "transition %zu at %.1f s (%.2f -> %.2f BPM, "
			"%.1f s): %zu click pairs, %zu downbeats, worst "
			"offset %+.2f ms\n", t, x->position_s, x->bpm_from,
			x->bpm_to, x->duration_s, n_pairs, down_pairs,
			worst * 1000);
		CHECK_INT(n_pairs, >=, 50);
		CHECK_INT(down_pairs, >=, 10);

		/* The beat interval moves monotonically from A's tempo to
		 * B's: intervals between consecutive pairs (a beat apart),
		 * averaged 8 at a time, never back by more than the onset
		 * finder's jitter (0.1 ms; flat at each end, where the
		 * tempo is A's and then B's, transition.h). */
		static double iv[MAX_CLICKS];
		size_t n_iv = 0;
		for (size_t k = 1; k < n_pairs; k++) {
			double d = pair_t[k] - pair_t[k - 1];
			if (d < 0.6)
				iv[n_iv++] = d;
		}
		CHECK_INT(n_iv, >=, 56);
		double first = 0, last = 0, prev = NAN;
		double dir_sign = x->bpm_to > x->bpm_from ? -1 : 1;
		for (size_t k = 0; k + 8 <= n_iv; k += 8) {
			double mean = 0;
			for (size_t q = k; q < k + 8; q++)
				mean += iv[q] / 8;
			if (k == 0)
				first = mean;
			last = mean;
			if (!isnan(prev))
				CHECK((mean - prev) * dir_sign > -0.0001);
			prev = mean;
		}
		/* The first and last 8 beats: within 1% of each tempo (the
		 * ramp moves 0.6% in 8 beats). */
		CHECK_NEAR(first, 60 / x->bpm_from, 0.01 * 60 / x->bpm_from);
		CHECK_NEAR(last, 60 / x->bpm_to, 0.01 * 60 / x->bpm_to);

		/* Before it, A alone at exactly its own tempo. */
		find_clicks(&env[ia], x->position_s - 12,
			    x->position_s - 1, 0.01, &ca);
		CHECK_INT(ca.n, >=, 15);
		for (size_t k = 1; k < ca.n; k++)
			CHECK_NEAR(ca.at[k] - ca.at[k - 1], 60 / ta->bpm,
				   0.0005);
		/* After it, B alone at exactly its own tempo. */
		double after = x->position_s + x->duration_s + 1;
		if (after + 10 < seconds - 2) {
			find_clicks(&env[ib], after, after + 10, 0.01, &cb);
			CHECK_INT(cb.n, >=, 15);
			for (size_t k = 1; k < cb.n; k++)
				CHECK_NEAR(cb.at[k] - cb.at[k - 1],
					   60 / tb->bpm, 0.0005);
		}
		for (size_t i = 0; i < 2; i++) {
			free(env[i].v);
			free(mark_env[i].v);
		}
	}
	CHECK_INT(n_off, >=, 100);
	double median = percentile(offsets, n_off, 0.5);
	double p95 = percentile(offsets, n_off, 0.95);
	double tp = render_true_peak_db(&r), lufs = render_loudness(&r);
	fprintf(stderr, "click offsets over %zu pairs: median %.2f ms, 95th "
		"percentile %.2f ms, max %.2f ms; output %.2f dBTP, %.2f "
		"LUFS\n", n_off, median, p95, offsets[n_off - 1], tp, lufs);
	CHECK(median <= 5.0);
	CHECK(p95 <= 10.0);
	CHECK(tp <= -1.0);
	CHECK_NEAR(lufs, -14.0, 1.0);

	render_free(&r);
	catalog_close(cat);
}

/* Two tracks at the same tempo: the mixer plays them without Rubber Band
 * (mixer.c, MIXER_UNSTRETCHED_DRIFT_S), B from its entry. Through every
 * transition both keep exactly their own tempo and their clicks coincide
 * within 1 ms; B carries on where it should after it. */
static void test_same_tempo(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], log_path[PATH_MAX + 64];
	struct catalog *cat = scenario("same", dir, sizeof(dir));
	struct click_track tracks[2] = {
		{ "click-0", 120, 600 }, { "click-1", 120, 2400 },
	};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.wav", dir, tracks[i].name);
		click_track(path, 120, tracks[i].freq, i == 0 ? 70 : 90, 80);
		put_track(cat, path);
	}
	analyse(cat);
	struct mixer_params p = {
		.crossfade_s = 6.0,
		.fadeout_s = 1.0,
		.seed = 3,
		.max_tracks = 16,
	};
	snprintf(log_path, sizeof(log_path), "%s/same.jsonl", tmp);
	struct render r;
	const double seconds = 150;
	render(cat, &p, seconds, true, log_path, &r);
	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	CHECK_INT(n_e, >=, 2);
	CHECK_INT(r.stats.transitions_beatmatched, ==, n_e);
	size_t checked = 0;
	for (size_t t = 0; t < n_e; t++) {
		const struct entry *x = &e[t];
		CHECK_STR(x->kind, "beatmatched");
		/* The analyses agree closely enough for the unstretched
		 * path: the beats would drift by at most 1 ms. */
		double drift_ms = fabs(x->bpm_to / x->bpm_from - 1) *
				  x->duration_s * 1000;
		CHECK(drift_ms <= 1.0);
		if (x->position_s + x->duration_s + 12 > seconds - 2)
			continue;
		const struct click_track *ta = track_by_name(tracks, 2, x->from);
		int ia = ta == &tracks[0] ? 0 : 1, ib = 1 - ia;
		size_t from = (size_t)((x->position_s - 3) * RATE);
		size_t to = (size_t)((x->position_s + x->duration_s + 12) *
				     RATE);
		struct env ea = band_envelope(r.mono, from, to,
					      tracks[ia].freq);
		struct env eb = band_envelope(r.mono, from, to,
					      tracks[ib].freq);
		static struct clicks ca, cb;
		/* A from before the transition to its end, B from its
		 * entry to 10 s after: one steady 0.5 s grid each. */
		find_clicks(&ea, x->position_s - 2,
			    x->position_s + 0.9 * x->duration_s, 0.01, &ca);
		find_clicks(&eb, x->position_s + 0.1 * x->duration_s,
			    x->position_s + x->duration_s + 10, 0.01, &cb);
		CHECK_INT(ca.n, >=, 50);
		CHECK_INT(cb.n, >=, 50);
		for (size_t k = 1; k < ca.n; k++)
			CHECK_NEAR(ca.at[k] - ca.at[k - 1], 0.5, 0.0005);
		for (size_t k = 1; k < cb.n; k++)
			CHECK_NEAR(cb.at[k] - cb.at[k - 1], 0.5, 0.0005);
		/* The grids coincide. */
		double worst = 0;
		size_t ja = 0, pairs = 0;
		for (size_t j = 0; j < cb.n; j++) {
			ja = nearest_click(&ca, ja, cb.at[j]);
			double d = cb.at[j] - ca.at[ja];
			if (fabs(d) > 0.1)
				continue;
			pairs++;
			if (fabs(d) > fabs(worst))
				worst = d;
		}
		fprintf(stderr, "same tempo, transition %zu at %.1f s: %zu "
			"click pairs, worst offset %+.3f ms\n", t,
			x->position_s, pairs, worst * 1000);
		CHECK_INT(pairs, >=, 40);
		CHECK(fabs(worst) <= 0.001);
		free(ea.v);
		free(eb.v);
		checked++;
	}
	CHECK_INT(checked, >=, 1);
	CHECK(render_true_peak_db(&r) <= -1.0);
	render_free(&r);
	catalog_close(cat);
}

/* 120 and 145 BPM: 21%, beyond what a tempo bridge spans (1.08^2), so no
 * beatmatch; both carry a beat, so not a crossfade of two unaligned beats
 * either, but cuts over one beat of A, logged with the reason. */
static void test_beyond_stretch(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], log_path[PATH_MAX + 64];
	scenario_dir("far", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/click-120.wav", dir);
	click_track(path, 120, 600, 70, 95);
	snprintf(path, sizeof(path), "%s/click-145.wav", dir);
	click_track(path, 145, 2400, 90, 95);

	snprintf(log_path, sizeof(log_path), "%s/far.jsonl", tmp);
	struct render r;
	render_cli(dir, 200, 5, log_path, "", &r);
	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	CHECK_INT(n_e, >=, 2);
	for (size_t i = 0; i < n_e; i++) {
		CHECK_STR(e[i].kind, "cut");
		CHECK(strstr(e[i].reason, "max_stretch"));
		CHECK_INT(e[i].bars, ==, 0);
		CHECK(e[i].bpm_from > 0 && e[i].bpm_to > 0);
		/* One beat of A, to the frame. */
		CHECK_NEAR(e[i].duration_s, 60.0 / e[i].bpm_from, 1.0 / RATE);
	}
	CHECK_INT(r.stats.transitions_crossfaded, ==, n_e);
	CHECK_INT(r.stats.transitions_beatmatched, ==, 0);
	CHECK(render_true_peak_db(&r) <= -1.0);
	render_free(&r);
}

/* 120 and 130 BPM (8.3%, beyond max_stretch): a tempo bridge
 * (transition.h). In every transition the clicks of the two decks meet
 * (median under 0.5 ms, each within 2 ms: as close as test_clicks's
 * direct ramps), both at the meeting tempo sqrt(120 x 130) throughout the
 * overlap; before A's ride A plays at exactly its own tempo and after B's
 * ride B at exactly its own; the rides are gradual (A's last beats before
 * the overlap already near the meeting tempo). */
static void test_bridge(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], log_path[PATH_MAX + 64];
	struct click_track tracks[2] = {
		{ "click-120", 120, 600 }, { "click-130", 130, 2400 },
	};
	scenario_dir("bridge", dir, sizeof(dir));
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.wav", dir, tracks[i].name);
		click_track(path, tracks[i].bpm, tracks[i].freq,
			    i == 0 ? 70 : 90, 150);
	}
	snprintf(log_path, sizeof(log_path), "%s/bridge.jsonl", tmp);
	struct render r;
	const double seconds = 400;
	render_cli(dir, seconds, 7, log_path, "", &r);
	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	CHECK_INT(n_e, >=, 2);
	CHECK_INT(r.stats.transitions_beatmatched, ==, n_e);
	size_t checked = 0;
	for (size_t t = 0; t < n_e; t++) {
		const struct entry *x = &e[t];
		CHECK_STR(x->kind, "beatmatched");
		const char *over = strstr(x->reason, "tempo bridge over ");
		CHECK(over);
		int ride_bars = 0;
		CHECK(sscanf(over, "tempo bridge over %d bars", &ride_bars) == 1);
		CHECK_INT(ride_bars, >=, 4);
		const struct click_track *ta = track_by_name(tracks, 2, x->from);
		const struct click_track *tb = track_by_name(tracks, 2, x->to);
		double tm = sqrt(x->bpm_from * x->bpm_to);
		/* The rides take at most their bars at the slower tempo. */
		double ride_s = ride_bars * 4 * 60.0 / fmin(x->bpm_from, x->bpm_to);
		double end = x->position_s + x->duration_s;
		if (x->position_s - ride_s < 12 || end + ride_s + 12 > seconds - 2)
			continue;
		size_t from = (size_t)((x->position_s - ride_s - 12) * RATE);
		size_t to = (size_t)((end + ride_s + 12) * RATE);
		struct env env[2];
		int ia = ta == &tracks[0] ? 0 : 1, ib = 1 - ia;
		for (size_t i = 0; i < 2; i++)
			env[i] = band_envelope(r.mono, from, to, tracks[i].freq);
		static struct clicks ca, cb;
		/* The overlap: pairs within 1 ms, beats at the meeting
		 * tempo on both decks. */
		find_clicks(&env[ia], x->position_s, end, 0.01, &ca);
		find_clicks(&env[ib], x->position_s, end, 0.01, &cb);
		size_t pairs = 0, ja = 0;
		double worst = 0;
		static double offs[MAX_CLICKS];
		for (size_t j = 0; j < cb.n; j++) {
			ja = nearest_click(&ca, ja, cb.at[j]);
			double d = cb.at[j] - ca.at[ja];
			if (fabs(d) > 0.1)
				continue;
			offs[pairs++] = fabs(d) * 1000;
			if (fabs(d) > fabs(worst))
				worst = d;
		}
		double median = pairs ? percentile(offs, pairs, 0.5) : NAN;
		double iv_a = (ca.at[ca.n - 1] - ca.at[0]) / (double)(ca.n - 1);
		double iv_b = (cb.at[cb.n - 1] - cb.at[0]) / (double)(cb.n - 1);
		/* A's last seconds before the overlap, B's first after it:
		 * near the meeting tempo (the rides end and start there). */
		static struct clicks near_a, near_b;
		find_clicks(&env[ia], x->position_s - 3, x->position_s - 0.1,
			    0.01, &near_a);
		find_clicks(&env[ib], end + 0.1, end + 3, 0.01, &near_b);
		double iv_near_a = (near_a.at[near_a.n - 1] - near_a.at[0]) /
				   (double)(near_a.n - 1);
		double iv_near_b = (near_b.at[near_b.n - 1] - near_b.at[0]) /
				   (double)(near_b.n - 1);
		fprintf(stderr, "bridge %zu at %.1f s (%.2f -> %.2f BPM, rides "
			"of %d bars): %zu click pairs, median %.3f ms, worst "
			"%+.3f ms; beat %.2f / %.2f ms on A / B (meeting tempo "
			"%.2f ms), A before %.2f, B after %.2f ms\n", t,
			x->position_s, x->bpm_from, x->bpm_to, ride_bars, pairs,
			median, worst * 1000,
			iv_a * 1000, iv_b * 1000, 60000 / tm, iv_near_a * 1000,
			iv_near_b * 1000);
		CHECK_INT(pairs, >=, 4 * x->bars - 2);
		CHECK(median <= 0.5);
		CHECK(fabs(worst) <= 0.002);
		CHECK_NEAR(iv_a, 60 / tm, 0.0002);
		CHECK_NEAR(iv_b, 60 / tm, 0.0002);
		CHECK_NEAR(iv_near_a, 60 / tm, 0.01 * 60 / tm);
		CHECK_NEAR(iv_near_b, 60 / tm, 0.01 * 60 / tm);
		/* Before A's ride and after B's: exactly their own tempi. */
		find_clicks(&env[ia], x->position_s - ride_s - 11,
			    x->position_s - ride_s - 1, 0.01, &ca);
		CHECK_INT(ca.n, >=, 15);
		for (size_t k = 1; k < ca.n; k++)
			CHECK_NEAR(ca.at[k] - ca.at[k - 1], 60 / ta->bpm, 0.0005);
		find_clicks(&env[ib], end + ride_s + 1, end + ride_s + 11,
			    0.01, &cb);
		CHECK_INT(cb.n, >=, 15);
		for (size_t k = 1; k < cb.n; k++)
			CHECK_NEAR(cb.at[k] - cb.at[k - 1], 60 / tb->bpm, 0.0005);
		for (size_t i = 0; i < 2; i++)
			free(env[i].v);
		checked++;
	}
	CHECK_INT(checked, >=, 1);
	CHECK(render_true_peak_db(&r) <= -1.0);
	render_free(&r);
}

/* The analyses arrive while the first track plays (as in the station,
 * whose analyzer works in the background): the mixer asks the catalog
 * again and the transition is beatmatched after all. */
static void test_late_analysis(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], log_path[PATH_MAX + 64];
	struct catalog *cat = scenario("late", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/click-120.wav", dir);
	click_track(path, 120, 600, 70, 100);
	put_track(cat, path);
	snprintf(path, sizeof(path), "%s/click-123.wav", dir);
	click_track(path, 123, 2400, 90, 100);
	put_track(cat, path);

	struct mixer_params p = {
		.crossfade_s = 4.0,
		.fadeout_s = 1.0,
		.seed = 9,
		.max_tracks = 16,
	};
	snprintf(log_path, sizeof(log_path), "%s/late.jsonl", tmp);
	render_hook = analyse;
	render_hook_at_s = 10;
	struct render r;
	render(cat, &p, 80, false, log_path, &r);
	CHECK(render_hook == NULL);
	struct entry e[MAX_LOG];
	CHECK_INT(read_log(log_path, e, MAX_LOG), ==, 1);
	CHECK_STR(e[0].kind, "beatmatched");
	CHECK(e[0].position_s > 10);
	/* The title marker: the new track's, exactly where the log says
	 * (to the frame, after the limiter's hidden latency), and so in the
	 * audible middle that test_clicks checks in the log. */
	CHECK_INT(r.n_marks, ==, 2); /* the first track's, then the next */
	CHECK_INT(r.marks[1].id, ==, e[0].to_id);
	CHECK_NEAR((double)r.marks[1].frame / RATE, e[0].marker_s, 1.5 / RATE);
	CHECK(e[0].marker_s > e[0].position_s + 0.4 * e[0].duration_s);
	CHECK(e[0].marker_s < e[0].position_s + 0.6 * e[0].duration_s);
	render_free(&r);
	catalog_close(cat);
}

/* An analysis that does not fit its file (a 100 s track's analysis for a
 * 40 s file, as when a file changed after its analysis): transitions out
 * of it are crossfades, saying why, and the stream goes on. */
static void test_wrong_analysis(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], log_path[PATH_MAX + 64];
	struct catalog *cat = scenario("wrong", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/click-120.wav", dir);
	click_track(path, 120, 600, 70, 100);
	int64_t long_id = put_track(cat, path);
	snprintf(path, sizeof(path), "%s/click-121.wav", dir);
	click_track(path, 121, 2400, 90, 100);
	put_track(cat, path);
	analyse(cat);
	/* Now the short file, with the long one's analysis. */
	snprintf(path, sizeof(path), "%s/short-121.wav", dir);
	click_track(path, 121, 2400, 90, 40);
	int64_t short_id = put_track(cat, path);
	struct analysis a;
	CHECK_INT(catalog_analysis_get(cat, long_id, &a), ==, 0);
	char hash[CATALOG_HASH_MAX];
	CHECK_INT(analyzer_content_hash(path, hash), ==, 0);
	CHECK_INT(catalog_analysis_put(cat, short_id, hash, &a), ==, 0);

	struct mixer_params p = {
		.crossfade_s = 4.0,
		.fadeout_s = 1.0,
		.seed = 2,
		.max_tracks = 16,
	};
	snprintf(log_path, sizeof(log_path), "%s/wrong.jsonl", tmp);
	struct render r;
	render(cat, &p, 300, false, log_path, &r);
	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	size_t fallbacks = 0;
	for (size_t i = 0; i < n_e; i++) {
		/* Into it, the first 40 s suffice; out of it, its analysis
		 * says the exit is past its end: either the plan sees that
		 * (the decoder knows the length) or the track ends first. */
		if (e[i].from_id != short_id)
			continue;
		CHECK_STR(e[i].kind, "crossfade");
		CHECK(strstr(e[i].reason, "A's analysis does not fit its file") ||
		      strstr(e[i].reason, "before its planned exit"));
		fallbacks++;
	}
	fprintf(stderr, "wrong analysis: %zu transitions, %zu fallbacks\n",
		n_e, fallbacks);
	CHECK_INT(fallbacks, >=, 1);
	/* The stream went on without a gap. */
	CHECK(r.longest_quiet < 2 ||
	      r.longest_quiet_at > (size_t)((300 - 1) * RATE));
	CHECK(render_true_peak_db(&r) <= -1.0);
	render_free(&r);
	catalog_close(cat);
}

/* ------------------------------------------------------------------ */
/* The decks (render --decks, the mixer's decks tap).                  */

/* Three click tracks: an odd number, so that a track comes back on the
 * other deck pair (pairs go by the index in the play order, not by the
 * track), and one far in tempo, so that there are crossfades as well as
 * beatmatched transitions. Quiet enough (a -24 LUFS target) that the
 * limiter never engages, so that the sum of the decks must be the mix. */
static const struct click_track deck_tracks[3] = {
	{ "deck-120", 120, 600 }, { "deck-124", 124, 1300 },
	{ "deck-145", 145, 2400 },
};
static const double deck_pads_hz[3] = { 70, 90, 110 };

static void deck_library(const char *dir, struct catalog *cat)
{
	char path[PATH_MAX + 64];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.wav", dir,
			 deck_tracks[i].name);
		click_track(path, deck_tracks[i].bpm, deck_tracks[i].freq,
			    deck_pads_hz[i], 100);
		if (cat)
			put_track(cat, path);
	}
}

static size_t deck_track_index(const char *display)
{
	return (size_t)(track_by_name(deck_tracks, 3, display) - deck_tracks);
}

/* A stretch of the output and which track each deck pair plays in it
 * (-1: that pair is silent). */
struct deck_region {
	size_t from, to;      /* frames */
	int track[2];
	bool transition;
	bool cut;             /* a cut: A (on pair a_pair) filtered out */
	int a_pair;
	/* Measured: per pair, samples, sum of squares, and the power at
	 * each track's click pitch (Hann-windowed blocks). */
	double n[2], energy[2], power[2][3];
};

#define DECK_BLOCK 2048
#define MAX_REGIONS (2 * MAX_LOG + 1)

/* The regions of a render of TOTAL frames from its transitions log:
 * transition i from position_s for duration_s, A (track index i in the
 * play order) on pair i % 2 and B on the other; track j alone from the
 * end of transition j - 1 to the start of transition j. Boundaries keep
 * MARGIN frames off either side (positions are logged to 1 us). */
static size_t deck_regions(const struct entry *e, size_t n_e, size_t total,
			   struct deck_region *rg)
{
	const size_t margin = 2;
	size_t n = 0, at = 0;
	for (size_t i = 0; i <= n_e && at < total; i++) {
		size_t start = i < n_e ? (size_t)llround(e[i].position_s * RATE)
				       : total;
		size_t end = i < n_e ? (size_t)llround((e[i].position_s +
						       e[i].duration_s) * RATE)
				     : total;
		if (start > total)
			start = total;
		if (end > total)
			end = total;
		int solo = (int)deck_track_index(i < n_e ? e[i].from
						 : e[i - 1].to);
		/* Alone: track i, on pair i % 2. */
		struct deck_region *r = &rg[n++];
		memset(r, 0, sizeof(*r));
		r->from = at == 0 ? 0 : at + margin;
		r->to = start > margin ? start - margin : 0;
		r->track[i % 2] = solo;
		r->track[1 - i % 2] = -1;
		if (i == n_e || start >= total)
			break;
		r = &rg[n++];
		memset(r, 0, sizeof(*r));
		r->from = start + margin;
		r->to = end > margin ? end - margin : 0;
		r->transition = true;
		r->cut = strcmp(e[i].kind, "cut") == 0;
		r->a_pair = (int)(i % 2);
		r->track[i % 2] = (int)deck_track_index(e[i].from);
		r->track[1 - i % 2] = (int)deck_track_index(e[i].to);
		/* A cut's B only ramps in before its downbeat, at the end. */
		if (r->cut) {
			r->track[1 - i % 2] = -1;
			size_t lead = (size_t)llround(TRANSITION_CUT_LEAD_S *
						      RATE);
			r->to = r->to > r->from + lead ? r->to - lead : r->from;
		}
		at = end;
	}
	return n;
}

static double deck_goertzel(const float *x, size_t stride, size_t n,
			    double freq)
{
	double w = 2 * M_PI * freq / RATE, c = 2 * cos(w), s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double hann = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
		double v = x[i * stride] * hann + c * s1 - s2;
		s2 = s1;
		s1 = v;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* `foreverfm render --decks` of DIR for SECONDS (seed 5), NAME naming its
 * files in tmp: the transitions log read into E (at least 2 of them,
 * MAX_LOG), the decks file opened into *DF (4 channels; its path in DECKS,
 * to remove when done). Returns the number of transitions. */
static size_t render_decks(const char *dir, const char *name, double seconds,
			   struct entry *e, char *decks, size_t decks_size,
			   SNDFILE **df)
{
	char extra[PATH_MAX + 64], log_path[PATH_MAX + 64];
	snprintf(decks, decks_size, "%s/%s-decks.wav", tmp, name);
	snprintf(extra, sizeof(extra), "--decks '%s'", decks);
	snprintf(log_path, sizeof(log_path), "%s/%s.jsonl", tmp, name);
	struct render r;
	render_cli(dir, seconds, 5, log_path, extra, &r);
	render_free(&r);
	size_t n_e = read_log(log_path, e, MAX_LOG);
	CHECK_INT(n_e, >=, 2);
	SF_INFO di = { 0 };
	*df = sf_open(decks, SFM_READ, &di);
	CHECK(*df);
	CHECK_INT(di.channels, ==, 4);
	return n_e;
}

/* A cut filters A out over its last bar (transition.h): on A's deck pair
 * of `render --decks`, the bass under A's last beat (the beat before B's
 * first kick) is at least 40 dB below where it was two bars
 * before, while A's clicks (600 Hz and up) still sound in it; B's pair
 * is silent until that beat. The tracks of test_beyond_stretch: a steady
 * 70 or 90 Hz bass under clicks, 120 and 145 BPM. */
static void test_cut_filter_out(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], decks[PATH_MAX + 32];
	scenario_dir("filterout", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/click-120.wav", dir);
	click_track(path, 120, 600, 70, 95);
	snprintf(path, sizeof(path), "%s/click-145.wav", dir);
	click_track(path, 145, 2400, 90, 95);
	struct entry e[MAX_LOG];
	SNDFILE *df;
	const double seconds = 200;
	size_t n_e = render_decks(dir, "filterout", seconds, e, decks,
				  sizeof(decks), &df);
	size_t checked = 0;
	for (size_t i = 0; i < n_e; i++) {
		CHECK_STR(e[i].kind, "cut");
		double beat = 60.0 / e[i].bpm_from;
		double ref_s = e[i].position_s - 8 * beat;
		if (ref_s < 0 || e[i].position_s + beat > seconds)
			continue;
		size_t len = (size_t)(beat * RATE);
		float *span = malloc(4 * len * sizeof(float));
		CHECK(span);
		int pa = (int)(i % 2) * 2; /* A's pair: transition i leaves track i */
		double bass[2], clicks[2], b_level = 0;
		const double at[2] = { ref_s, e[i].position_s };
		for (int k = 0; k < 2; k++) {
			CHECK(sf_seek(df, (sf_count_t)llround(at[k] * RATE),
				      SEEK_SET) >= 0);
			CHECK_INT(sf_readf_float(df, span, (sf_count_t)len), ==,
				  len);
			bass[k] = deck_goertzel(span + pa, 4, len, 70) +
				  deck_goertzel(span + pa, 4, len, 90);
			clicks[k] = deck_goertzel(span + pa, 4, len, 2400) +
				    deck_goertzel(span + pa, 4, len, 3600) +
				    deck_goertzel(span + pa, 4, len, 900);
			if (k == 0)
				for (size_t j = 0; j < len; j++)
					b_level += fabsf(span[4 * j + 2 - pa]);
		}
		double bass_db = 10 * log10(bass[1] / bass[0]);
		double clicks_db = 10 * log10(clicks[1] / clicks[0]);
		fprintf(stderr, "cut %zu at %.1f s: A's bass %+.1f dB, its "
			"clicks %+.1f dB in the last beat\n", i,
			e[i].position_s, bass_db, clicks_db);
		CHECK(bass_db < -40);
		CHECK(clicks_db > -20);
		CHECK(b_level == 0); /* B not yet in */
		free(span);
		checked++;
	}
	CHECK_INT(checked, >=, 1);
	sf_close(df);
}

/* A cut keeps the pulse (transition.h, Cuts): 100 -> 135 BPM, beyond a
 * tempo bridge, through `render --decks`. For every cut, from the audio of
 * the two decks alone (the log only says where to look and which pair is
 * whose): A's clicks over its last bars give its beat period and its last
 * downbeat (the click with the 1.5 f partial), which extrapolate to where
 * its next downbeat would have fallen; B's first click must be a downbeat
 * and land within 20 ms of it (the mechanics put it within a frame or two
 * of the analysis's grid: well under 1 ms). B's pair carries nothing
 * before the lead-in of TRANSITION_CUT_LEAD_S: A's last beat is A's
 * alone. */
static void test_cut_pulse(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64], decks[PATH_MAX + 32];
	const double bpm[2] = { 100, 135 }, freq[2] = { 2400, 1300 };
	scenario_dir("cutpulse", dir, sizeof(dir));
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/pulse-%.0f.wav", dir, bpm[k]);
		click_track(path, bpm[k], freq[k], k ? 90 : 70, 95);
	}
	struct entry e[MAX_LOG];
	SNDFILE *df;
	const double seconds = 200;
	size_t n_e = render_decks(dir, "cutpulse", seconds, e, decks,
				  sizeof(decks), &df);
	size_t checked = 0;
	double worst = 0;
	for (size_t i = 0; i < n_e; i++) {
		const struct entry *x = &e[i];
		CHECK_STR(x->kind, "cut");
		int ia = strstr(x->from, "-100") ? 0 : 1, ib = 1 - ia;
		CHECK(strstr(x->to, ib ? "-135" : "-100"));
		double bar_a = 240.0 / x->bpm_from;
		double seg0 = x->position_s - 3 * bar_a;
		double end_s = x->position_s + x->duration_s; /* output */
		if (seg0 < 0 || end_s + 2 > seconds)
			continue;
		size_t n = (size_t)((end_s + 2 - seg0) * RATE);
		float *buf = malloc(4 * n * sizeof(float));
		float *mono[2] = { malloc(n * sizeof(float)),
				   malloc(n * sizeof(float)) };
		CHECK(buf && mono[0] && mono[1]);
		CHECK(sf_seek(df, (sf_count_t)llround(seg0 * RATE),
			      SEEK_SET) >= 0);
		CHECK_INT(sf_readf_float(df, buf, (sf_count_t)n), ==, n);
		int pa = (int)(i % 2); /* transition i leaves track i */
		for (size_t j = 0; j < n; j++) {
			mono[0][j] = buf[4 * j + 2 * pa];
			mono[1][j] = buf[4 * j + 2 * (1 - pa)];
		}
		/* B silent through A's last beat, but for its lead-in. */
		size_t b_from = (size_t)((end_s - seg0 - TRANSITION_CUT_LEAD_S) *
					 RATE) - 2;
		double b_early = 0;
		for (size_t j = 0; j < b_from; j++)
			b_early = fmax(b_early, fabs(buf[4 * j + 2 * (1 - pa)]) +
					       fabs(buf[4 * j + 2 * (1 - pa) + 1]));
		CHECK(b_early == 0);

		struct env env[2], mark[2];
		static struct clicks c[2];
		for (int k = 0; k < 2; k++) {
			int t = k ? ib : ia;
			env[k] = band_envelope(mono[k], 0, n, freq[t]);
			mark[k] = band_envelope(mono[k], 0, n, 1.5 * freq[t]);
		}
		/* A's clicks up to its end, B's from the cut on. */
		find_clicks(&env[0], 0, end_s - seg0, 0.01, &c[0]);
		find_clicks(&env[1], x->position_s - seg0, end_s + 2 - seg0,
			    0.01, &c[1]);
		CHECK_INT(c[0].n, >=, 8);
		CHECK_INT(c[1].n, >=, 2);
		/* A's period: its clicks evenly spaced (A plays unstretched
		 * to its end). */
		double period = (c[0].at[c[0].n - 1] - c[0].at[0]) /
				(double)(c[0].n - 1);
		for (size_t j = 1; j < c[0].n; j++)
			CHECK_NEAR(c[0].at[j] - c[0].at[j - 1], period, 0.001);
		CHECK_NEAR(period, 60.0 / bpm[ia], 0.001);
		size_t last_down = c[0].n;
		for (size_t j = 0; j < c[0].n; j++)
			if (is_downbeat(&c[0], j, &env[0], &mark[0]))
				last_down = j;
		CHECK(last_down < c[0].n);
		/* A's last bar is heard whole: three beats after its "one". */
		CHECK_INT(c[0].n - last_down, ==, 4);
		double next = c[0].at[last_down] + 4 * period;
		CHECK(is_downbeat(&c[1], 0, &env[1], &mark[1]));
		double err = c[1].at[0] - next;
		fprintf(stderr, "cut %zu at %.1f s (%s -> %s): A's next downbeat "
			"at %.4f s, B's first at %.4f s: %+.3f ms\n", i,
			x->position_s, x->from, x->to, seg0 + next,
			seg0 + c[1].at[0], 1000 * err);
		CHECK(fabs(err) <= 0.020);
		if (fabs(err) > fabs(worst))
			worst = err;
		for (int k = 0; k < 2; k++) {
			free(env[k].v);
			free(mark[k].v);
			free(mono[k]);
		}
		free(buf);
		checked++;
	}
	sf_close(df);
	fprintf(stderr, "cut pulse: %zu cuts, worst %+.3f ms\n", checked,
		1000 * worst);
	CHECK_INT(checked, >=, 1);
}

/* `foreverfm render --decks` of the three tracks, checked against its mix
 * (16-bit WAV) and its transitions log:
 * - both files exactly SECONDS long; the decks 4 channels of float;
 * - the sum of the pairs is the mix frame by frame, to the mix's own
 *   rounding (half a 16-bit step) over the whole render, transitions of
 *   both kinds included, and one frame off it is not (so the comparison
 *   sees a misalignment);
 * - outside transitions the pair of the track that does not play is
 *   exactly zero, the other one carries that track (its click pitch 20 dB
 *   over the others'); in transition i, A on pair i % 2 and B on the
 *   other, each carrying its own track (a cut's B silent but for its
 *   lead-in: A's last beat is A's alone); the track that comes back in the
 *   fourth place does so on the other pair. */
static void test_decks(void)
{
	char dir[PATH_MAX + 16], log_path[PATH_MAX + 64];
	char decks[PATH_MAX + 32], ini[PATH_MAX + 32], extra[3 * PATH_MAX];
	char mix_path[PATH_MAX + 16];
	scenario_dir("decks", dir, sizeof(dir));
	deck_library(dir, NULL);
	snprintf(ini, sizeof(ini), "%s/decks.ini", tmp);
	FILE *fp = fopen(ini, "w");
	CHECK(fp);
	fprintf(fp, "[mix]\nloudness_target = -24\n");
	CHECK(fclose(fp) == 0);
	snprintf(decks, sizeof(decks), "%s/decks.wav", tmp);
	snprintf(extra, sizeof(extra), "-c '%s' --decks '%s'", ini, decks);
	snprintf(log_path, sizeof(log_path), "%s/decks.jsonl", tmp);
	const double seconds = 330;
	const size_t total = (size_t)(seconds * RATE);
	struct render r;
	render_cli(dir, seconds, 4, log_path, extra, &r);
	render_free(&r);

	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	size_t n_beat = 0, n_cross = 0;
	for (size_t i = 0; i < n_e; i++) {
		n_beat += strcmp(e[i].kind, "beatmatched") == 0;
		bool cut = strcmp(e[i].kind, "cut") == 0;
		n_cross += cut || strcmp(e[i].kind, "crossfade") == 0;
		/* A cut is one beat of A at most, B's pair silent in it but
		 * for its lead-in: the silence check below proves it from the
		 * audio. */
		if (cut)
			CHECK(e[i].duration_s <= 60.0 / e[i].bpm_from + 1.0 / RATE);
	}
	fprintf(stderr, "decks: %zu transitions (%zu beatmatched, %zu "
		"crossfades or cuts)\n", n_e, n_beat, n_cross);
	CHECK_INT(n_e, >=, 4);
	CHECK_INT(n_beat, >=, 1);
	CHECK_INT(n_cross, >=, 1);
	/* The 4th track is the 1st again, on the other pair. */
	CHECK_STR(e[3].from, e[0].from);

	static struct deck_region rg[MAX_REGIONS];
	size_t n_rg = deck_regions(e, n_e, total, rg);

	SF_INFO di = { 0 }, mi = { 0 };
	SNDFILE *df = sf_open(decks, SFM_READ, &di);
	CHECK(df);
	snprintf(mix_path, sizeof(mix_path), "%s/cli.wav", tmp);
	SNDFILE *mf = sf_open(mix_path, SFM_READ, &mi);
	CHECK(mf);
	CHECK_INT(di.channels, ==, 4);
	CHECK_INT(di.samplerate, ==, RATE);
	CHECK_INT(di.format, ==, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
	CHECK_INT(di.frames, ==, total);
	CHECK_INT(mi.frames, ==, total);
	CHECK_INT(mi.format, ==, SF_FORMAT_WAV | SF_FORMAT_PCM_16);

	static float d[4 * DECK_BLOCK];
	static short q[2 * DECK_BLOCK];
	double worst = 0, worst_shifted = 0, sum_peak = 0;
	size_t worst_at = 0, k = 0;
	float prev[2] = { 0, 0 };
	for (size_t at = 0; at < total; at += DECK_BLOCK) {
		size_t n = total - at < DECK_BLOCK ? total - at : DECK_BLOCK;
		CHECK_INT(sf_readf_float(df, d, (sf_count_t)n), ==, n);
		CHECK_INT(sf_readf_short(mf, q, (sf_count_t)n), ==, n);
		for (size_t i = 0; i < n; i++) {
			for (int c = 0; c < 2; c++) {
				float sum = d[4 * i + c] + d[4 * i + 2 + c];
				double err = fabs((double)q[2 * i + c] -
						  (double)sum * 32767.0);
				double off = fabs((double)q[2 * i + c] -
						  (double)prev[c] * 32767.0);
				if (err > worst) {
					worst = err;
					worst_at = at + i;
				}
				if (off > worst_shifted)
					worst_shifted = off;
				if (fabs(sum) > sum_peak)
					sum_peak = fabs(sum);
				prev[c] = sum;
			}
			/* The silent pair of the region, exactly 0. */
			size_t f = at + i;
			while (k < n_rg && rg[k].to <= f)
				k++;
			if (k < n_rg && f >= rg[k].from)
				for (int p = 0; p < 2; p++)
					if (rg[k].track[p] < 0 &&
					    (d[4 * i + 2 * p] != 0 ||
					     d[4 * i + 2 * p + 1] != 0)) {
						fprintf(stderr, "decks: pair %d "
							"not silent at %.4f s\n",
							p, (double)f / RATE);
						CHECK(!"silent pair");
					}
		}
		/* Blocks wholly inside a region: what each pair carries. */
		for (size_t j = 0; j < n_rg; j++) {
			if (at < rg[j].from || at + n > rg[j].to)
				continue;
			for (int p = 0; p < 2; p++) {
				for (size_t i = 0; i < n; i++) {
					double v = d[4 * i + 2 * p];
					rg[j].energy[p] += v * v;
				}
				rg[j].n[p] += (double)n;
				for (size_t t = 0; t < 3; t++)
					rg[j].power[p][t] += deck_goertzel(
						d + 2 * p, 4, n,
						deck_tracks[t].freq);
			}
		}
	}
	sf_close(df);
	sf_close(mf);
	fprintf(stderr, "decks: sum vs mix, worst %.3f of a 16-bit step (at "
		"%.3f s), %.0f one frame off; peak of the sum %.3f\n", worst,
		(double)worst_at / RATE, worst_shifted, sum_peak);
	/* Below the limiter's ceiling throughout, so the mix is the sum. */
	CHECK(sum_peak < 0.8);
	CHECK(worst <= 0.51);
	CHECK(worst_shifted > 100);

	size_t checked_tr = 0, checked_solo = 0;
	for (size_t j = 0; j < n_rg; j++) {
		const struct deck_region *x = &rg[j];
		if (x->n[0] < 4 * DECK_BLOCK)
			continue; /* too short to measure (cut at the end) */
		for (int p = 0; p < 2; p++) {
			int t = x->track[p];
			double rms = sqrt(x->energy[p] / x->n[p]);
			if (t < 0) {
				CHECK(x->energy[p] == 0);
				continue;
			}
			double own = x->power[p][t], other = 0;
			for (int u = 0; u < 3; u++)
				if (u != t && x->power[p][u] > other)
					other = x->power[p][u];
			fprintf(stderr, "decks: %.1f-%.1f s%s pair %d: %s, rms "
				"%.3f, %.0f dB over the others\n",
				(double)x->from / RATE, (double)x->to / RATE,
				x->transition ? " (transition)" : "", p,
				deck_tracks[t].name, rms,
				10 * log10(own / (other + 1e-30)));
			/* In a cut's beat A's bass is filtered out. */
			CHECK(rms > (x->cut && p == x->a_pair ? 0.001 : 0.005));
			CHECK(own > 100 * other);
		}
		if (x->transition)
			checked_tr++;
		else
			checked_solo++;
	}
	CHECK_INT(checked_tr, >=, 4);
	CHECK_INT(checked_solo, >=, 4);
}

/* The tap in the process: the ring's audio is, to the bit, the sum of
 * what the tap was handed for the same frames (but in the final fade,
 * where the fade is applied to the parts: within 2^-22), and to the bit
 * what the mixer writes without a tap. */
#define TAP_HISTORY (4 * RATE) /* > the ring, the limiter and a block */
static float tap_sums[2 * TAP_HISTORY];
/* Written by the tap in the mixer thread, read here: the ring's lock
 * orders the sums before the frames they are compared with. */
static atomic_size_t tap_frames;
static size_t tap_mismatches, tap_fade_from;
static double tap_fade_worst;
static uint64_t tap_hash;

static int tap_collect(void *ctx, const float *decks, size_t frames)
{
	(void)ctx;
	CHECK(frames >= 1 && frames <= MIXER_DECKS_FRAMES_MAX);
	size_t done = atomic_load(&tap_frames);
	for (size_t i = 0; i < frames; i++) {
		size_t at = (done + i) % TAP_HISTORY;
		for (int c = 0; c < 2; c++)
			tap_sums[2 * at + c] = decks[4 * i + c] +
					       decks[4 * i + 2 + c];
	}
	atomic_store(&tap_frames, done + frames);
	return 0;
}

static void tap_compare(const float *buf, size_t n, size_t first)
{
	size_t tapped = atomic_load(&tap_frames);
	CHECK(first + n <= tapped);           /* the tap came first */
	CHECK(tapped - first <= TAP_HISTORY); /* and is still held */
	for (size_t i = 0; i < 2 * n; i++) {
		size_t f = first + i / 2;
		float s = tap_sums[2 * (f % TAP_HISTORY) + i % 2];
		if (f >= tap_fade_from) {
			double d = fabs((double)buf[i] - s);
			if (d > tap_fade_worst)
				tap_fade_worst = d;
		} else if (memcmp(&buf[i], &s, sizeof(s)) != 0) {
			tap_mismatches++;
		}
	}
}

static void tap_hash_block(const float *buf, size_t n, size_t first)
{
	(void)first;
	const unsigned char *b = (const unsigned char *)buf;
	for (size_t i = 0; i < 2 * n * sizeof(float); i++)
		tap_hash = (tap_hash ^ b[i]) * 1099511628211u;
}

static void tap_both(const float *buf, size_t n, size_t first)
{
	tap_compare(buf, n, first);
	tap_hash_block(buf, n, first);
}

static void test_decks_tap(void)
{
	char dir[PATH_MAX + 16], log_path[PATH_MAX + 64];
	struct catalog *cat = scenario("tap", dir, sizeof(dir));
	deck_library(dir, cat);
	analyse(cat);
	const double seconds = 240, fade_s = 2.0;
	struct mixer_params p = {
		.crossfade_s = 6.0,
		.fadeout_s = fade_s,
		.seed = 4,
		.max_tracks = 16,
		.loudness_target_lufs = -24,
	};
	snprintf(log_path, sizeof(log_path), "%s/tap.jsonl", tmp);
	struct render r;
	uint64_t hash_with, hash_without;

	p.decks_tap = tap_collect;
	tap_fade_from = (size_t)((seconds - fade_s) * RATE);
	tap_hash = 14695981039346656037u;
	render_reader = tap_both;
	render(cat, &p, seconds, false, log_path, &r);
	render_reader = NULL;
	hash_with = tap_hash;
	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG), n_beat = 0;
	for (size_t i = 0; i < n_e; i++)
		n_beat += strcmp(e[i].kind, "beatmatched") == 0;
	fprintf(stderr, "decks tap: %zu frames, %zu transitions (%zu "
		"beatmatched), %zu mismatches outside the fade, %.2g in it, "
		"peak %.3f\n", atomic_load(&tap_frames), n_e, n_beat,
		tap_mismatches,
		tap_fade_worst, r.sample_peak);
	CHECK_INT(atomic_load(&tap_frames), ==, (size_t)(seconds * RATE));
	CHECK_INT(n_beat, >=, 1);
	CHECK_INT(n_e - n_beat, >=, 1);
	CHECK(r.sample_peak < 0.8);
	CHECK_INT(tap_mismatches, ==, 0);
	CHECK(tap_fade_worst <= 1.0 / (1 << 22));
	render_free(&r);

	p.decks_tap = NULL;
	tap_hash = 14695981039346656037u;
	render_reader = tap_hash_block;
	render(cat, &p, seconds, false, log_path, &r);
	render_reader = NULL;
	hash_without = tap_hash;
	CHECK(hash_with == hash_without);
	render_free(&r);
	catalog_close(cat);
}

/* Twenty minutes of the demo library. */
static void test_demo_library(void)
{
	const char *builddir = getenv("top_builddir");
	const char *srcdir = getenv("top_srcdir");
	char dir[PATH_MAX + 64], path[PATH_MAX + 320], log_path[PATH_MAX + 64];
	/* Not under tests/fixtures: make-fixtures.sh replaces that directory
	 * as a whole, maybe while this runs in parallel. */
	snprintf(dir, sizeof(dir), "%s/tests/demo-library",
		 builddir ? builddir : ".");
	if (test_sh("sh '%s/contrib/make-demo-library.sh' '%s' 8 150 "
		    ">/dev/null", srcdir ? srcdir : SRCDIR, dir) != 0) {
		fprintf(stderr, "make-demo-library.sh failed\n");
		exit(TEST_HARD_ERROR);
	}
	snprintf(path, sizeof(path), "%s/demo.db", tmp);
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	DIR *d = opendir(dir);
	CHECK(d);
	struct dirent *de;
	size_t n_tracks = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		put_track(cat, path);
		n_tracks++;
	}
	closedir(d);
	CHECK_INT(n_tracks, ==, 8);
	analyse(cat);

	struct mixer_params p = {
		.crossfade_s = 6.0,
		.fadeout_s = 2.0,
		.seed = 11,
		.max_tracks = 64,
	};
	snprintf(log_path, sizeof(log_path), "%s/demo.jsonl", tmp);
	struct render r;
	const double seconds = 20 * 60;
	render(cat, &p, seconds, false, log_path, &r);
	struct entry e[MAX_LOG];
	size_t n_e = read_log(log_path, e, MAX_LOG);
	double tp = render_true_peak_db(&r), lufs = render_loudness(&r);
	fprintf(stderr, "demo library, 20 min: %zu transitions (%llu "
		"beatmatched, %llu crossfades), %.2f dBTP, sample peak %.2f "
		"dBFS, %.2f LUFS, longest quiet stretch %zu x 50 ms\n", n_e,
		(unsigned long long)r.stats.transitions_beatmatched,
		(unsigned long long)r.stats.transitions_crossfaded, tp,
		20 * log10(r.sample_peak), lufs, r.longest_quiet);
	CHECK_INT(n_e, ==, r.stats.transitions_beatmatched +
		  r.stats.transitions_crossfaded);
	/* The last transition may be cut before its marker. */
	CHECK(r.stats.tracks_started == n_e || r.stats.tracks_started == n_e + 1);
	CHECK_INT(n_e, >=, 8);
	CHECK_INT(r.stats.transitions_beatmatched, >=, 4);
	CHECK(tp <= -1.0);
	CHECK_NEAR(lufs, -14.0, 1.0);
	/* No silence gap: no 100 ms under -50 dBFS but in the final fade. */
	CHECK(r.longest_quiet < 2 ||
	      r.longest_quiet_at > (size_t)((seconds - 2) * RATE));
	render_free(&r);
	catalog_close(cat);
}

/* The largest direct stretch (140 -> 150 BPM: 7.1%, within max_stretch
 * 0.08) and double time (87 -> 174 BPM), measured on `render --decks`:
 * each deck's clicks in every beatmatched transition, the slower deck's
 * paired with the other's nearest. The stretcher's time map under a large
 * and changing ratio and the double-time playhead put them within 1 ms
 * (median) and 5 ms (95th percentile; test_clicks: 5%). */
static void test_stretch_pairs(void)
{
	static const struct {
		const char *name;
		double a_bpm, b_bpm;
	} pairs[] = { { "stretch", 140, 150 }, { "double", 87, 174 } };
	for (size_t s = 0; s < sizeof(pairs) / sizeof(pairs[0]); s++) {
		char dir[PATH_MAX + 16], path[PATH_MAX + 64];
		char decks[PATH_MAX + 32], name_a[32], name_b[32];
		snprintf(name_a, sizeof(name_a), "click-%.0f", pairs[s].a_bpm);
		snprintf(name_b, sizeof(name_b), "click-%.0f", pairs[s].b_bpm);
		struct click_track tracks[2] = {
			{ name_a, pairs[s].a_bpm, 600 },
			{ name_b, pairs[s].b_bpm, 2400 },
		};
		scenario_dir(pairs[s].name, dir, sizeof(dir));
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s.wav", dir,
				 tracks[i].name);
			click_track(path, tracks[i].bpm, tracks[i].freq,
				    i == 0 ? 70 : 90, 150);
		}
		const double seconds = 420;
		struct entry e[MAX_LOG];
		SNDFILE *df;
		size_t n_e = render_decks(dir, pairs[s].name, seconds, e, decks,
					  sizeof(decks), &df);
		static double offs[MAX_CLICKS];
		size_t checked = 0;
		for (size_t t = 0; t < n_e; t++) {
			const struct entry *x = &e[t];
			CHECK_STR(x->kind, "beatmatched");
			double end = x->position_s + x->duration_s;
			if (end > seconds - 2)
				continue;
			size_t from = (size_t)(x->position_s * RATE);
			size_t n = (size_t)(end * RATE) - from;
			float *quad = malloc(4 * n * sizeof(float));
			float *mono[2] = { malloc(n * sizeof(float)),
					   malloc(n * sizeof(float)) };
			CHECK(quad && mono[0] && mono[1]);
			CHECK(sf_seek(df, (sf_count_t)from, SEEK_SET) ==
			      (sf_count_t)from);
			CHECK_INT(sf_readf_float(df, quad, (sf_count_t)n), ==, n);
			/* A on channels 1-2 in even transitions. */
			int pa = t % 2 == 0 ? 0 : 1;
			for (size_t i = 0; i < n; i++)
				for (int d = 0; d < 2; d++)
					mono[d][i] = quad[4 * i + 2 * d] +
						     quad[4 * i + 2 * d + 1];
			const struct click_track *ta =
				track_by_name(tracks, 2, x->from);
			const struct click_track *tb =
				track_by_name(tracks, 2, x->to);
			struct env ea = band_envelope(mono[pa], 0, n, ta->freq);
			struct env eb = band_envelope(mono[1 - pa], 0, n,
						      tb->freq);
			ea.base = eb.base = from;
			static struct clicks ca, cb;
			find_clicks(&ea, x->position_s, end, 0.01, &ca);
			find_clicks(&eb, x->position_s, end, 0.01, &cb);
			/* Each click of the slower deck with the faster
			 * deck's nearest (at double time B plays two to
			 * A's one, at half time one to A's two). */
			const struct clicks *slow = cb.n < ca.n ? &cb : &ca;
			const struct clicks *fast = slow == &ca ? &cb : &ca;
			size_t n_pairs = 0, jf = 0;
			double worst = 0;
			for (size_t j = 0; j < slow->n; j++) {
				jf = nearest_click(fast, jf, slow->at[j]);
				double d = fast->at[jf] - slow->at[j];
				if (fabs(d) > 0.1)
					continue;
				offs[n_pairs++] = fabs(d) * 1000;
				if (fabs(d) > fabs(worst))
					worst = d;
			}
			double median = n_pairs ? percentile(offs, n_pairs, 0.5)
						: NAN;
			double p95 = n_pairs ? percentile(offs, n_pairs, 0.95)
					     : NAN;
			fprintf(stderr, "%s %zu (%.2f -> %.2f BPM, %s): %zu of "
				"%zu clicks of the slower deck met, median %.3f "
				"ms, 95th percentile %.3f ms, worst %+.3f ms\n",
				pairs[s].name, t, x->bpm_from, x->bpm_to,
				x->reason, n_pairs, slow->n, median, p95,
				worst * 1000);
			/* Every beat of the slower deck in the overlap has
			 * the other's on it. */
			CHECK_INT(n_pairs, >=, 2 * x->bars - 1);
			CHECK_INT(n_pairs, >=, slow->n - 1);
			CHECK(median <= 1.0);
			CHECK(p95 <= 5.0);
			CHECK(fabs(worst) <= 0.010);
			free(ea.v);
			free(eb.v);
			free(quad);
			free(mono[0]);
			free(mono[1]);
			checked++;
		}
		sf_close(df);
		CHECK_INT(checked, >=, 1);
		test_sh("rm -f '%s'", decks);
	}
}

int main(void)
{
	if (!test_have_program("sox") || !test_have_program("ffmpeg")) {
		fprintf(stderr, "sox and ffmpeg are needed\n");
		return TEST_SKIP;
	}
	snprintf(tmp, sizeof(tmp), "%s", test_tmpdir("beatmatch"));
	if (!getenv("TEST_VERBOSE"))
		log_set_level(LOG_LEVEL_WARNING);
	test_clicks();
	test_same_tempo();
	test_beyond_stretch();
	test_bridge();
	test_late_analysis();
	test_wrong_analysis();
	test_decks();
	test_cut_filter_out();
	test_cut_pulse();
	test_stretch_pairs();
	test_decks_tap();
	test_demo_library();
	test_sh("rm -rf '%s'", tmp);
	return 0;
}
