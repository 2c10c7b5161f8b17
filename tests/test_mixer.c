/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_mixer — the mixer thread end to end with real parts: a SQLite catalog
 * file, real MP3 / Ogg Vorbis / FLAC decoding of generated tones, and the
 * ring, read by this thread the way an output reads it.
 *
 * Each fixture tone has its own frequency (440, 660, 550, 1000 Hz, all at
 * -12 dBFS), so a Goertzel filter tells which track is audible at any point
 * and where the incoming one overtakes the outgoing one. What is asserted is
 * what a listener relies on: the stream never drops out; titles change in
 * order, exactly where the new track becomes the louder one; crossfades keep
 * the loudness (equal power); bad files are skipped without a gap; an empty
 * library streams silence until music arrives; a fade-out ends the stream.
 */
#include "autoconfig.h"

#include "catalog.h"
#include "decode.h"
#include "log.h"
#include "mixer.h"
#include "ring.h"
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define RATE DECODE_RATE
#define MS(x) ((uint64_t)(x) * RATE / 1000)
#define MAX_MARKS 256
/* -12 dBFS sine: peak 0.2512, RMS 0.1776. */
#define TONE_PEAK 0.2512
#define TONE_RMS (TONE_PEAK / sqrt(2.0))
#define GOERTZEL_N 2048

static char fixtures[PATH_MAX];
static char tmp[PATH_MAX];

/* ------------------------------------------------------------------ */
/* The library: which id is which tone.                                */

struct known {
	int64_t id;
	double freq_hz;
	double ref_power;      /* its tone's Goertzel power, as decoded */
	char title[DECODE_TAG_MAX];
	char display[2 * DECODE_TAG_MAX + 4];
};

static struct known known[16];
static size_t n_known;

static double goertzel(const float *x, double freq_hz);

static const struct known *known_find(int64_t id)
{
	for (size_t i = 0; i < n_known; i++)
		if (known[i].id == id)
			return &known[i];
	return NULL;
}

static void file_stat(const char *path, int64_t *size, int64_t *mtime)
{
	struct stat st;
	CHECK(stat(path, &st) == 0);
	*size = (int64_t)st.st_size;
	*mtime = (int64_t)st.st_mtime;
}

/* Probes and stores a fixture the way a library scan would. */
static int64_t put_fixture(struct catalog *cat, const char *name,
			   double freq_hz)
{
	char path[PATH_MAX + 256], err[DECODE_ERROR_MAX];
	struct decode_info info;
	int64_t size, mtime, id = -1;
	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	CHECK_INT(decode_probe(path, &info, err, sizeof(err)), ==, 0);
	file_stat(path, &size, &mtime);
	CHECK_INT(catalog_track_put(cat, path, size, mtime, &info, &id), ==,
		  0);
	CHECK(n_known < sizeof(known) / sizeof(known[0]));
	struct known *k = &known[n_known++];
	k->id = id;
	k->freq_hz = freq_hz;
	snprintf(k->title, sizeof(k->title), "%s", info.title);
	decode_display_title(info.artist, info.title, path, k->display,
			     sizeof(k->display));

	/* The codecs do not keep the level exactly (the MP3s come out about
	 * 0.5 dB quieter), so "which tone is louder" compares each tone with
	 * its own level: its power 0.5 s into the decoded file. */
	static float buf[2 * (RATE / 2 + GOERTZEL_N)];
	static float mono[GOERTZEL_N];
	struct decoder *dec = decode_open(path, err, sizeof(err));
	CHECK(dec);
	size_t got = 0, want = RATE / 2 + GOERTZEL_N;
	while (got < want) {
		ssize_t n = decode_read(dec, buf + 2 * got, want - got);
		CHECK(n > 0);
		got += (size_t)n;
	}
	decode_close(dec);
	for (size_t i = 0; i < GOERTZEL_N; i++)
		mono[i] = buf[2 * (RATE / 2 - GOERTZEL_N / 2 + i)];
	k->ref_power = goertzel(mono, freq_hz);
	return id;
}

/* Stores PATH as playable with made-up tags, as a scan might have before
 * the file went bad. */
static int64_t put_fake(struct catalog *cat, const char *path)
{
	struct decode_info info;
	int64_t size, mtime, id = -1;
	memset(&info, 0, sizeof(info));
	info.format = DECODE_FORMAT_MP3;
	snprintf(info.artist, sizeof(info.artist), "Fake");
	snprintf(info.title, sizeof(info.title), "Not Music");
	info.duration_s = 20;
	info.source_rate_hz = RATE;
	info.source_channels = 2;
	file_stat(path, &size, &mtime);
	CHECK_INT(catalog_track_put(cat, path, size, mtime, &info, &id), ==,
		  0);
	return id;
}

static struct catalog *open_catalog(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	n_known = 0;
	return cat;
}

static long long plays_count(const char *name)
{
	char path[PATH_MAX + 64];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM plays", -1, &st,
				 NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ------------------------------------------------------------------ */
/* Reading the stream.                                                 */

struct mark {
	uint64_t frame;
	int64_t id;
	char title[DECODE_TAG_MAX];
	char display[2 * DECODE_TAG_MAX + 4];
};

struct capture {
	float *mono;           /* left channel of what was read and kept */
	size_t cap;
	size_t n;
	uint64_t base;         /* stream frame of mono[0] */
	struct mark marks[MAX_MARKS];
	size_t n_marks;
	bool eof;
};

static void capture_init(struct capture *c, double max_s)
{
	memset(c, 0, sizeof(*c));
	c->cap = (size_t)(max_s * RATE);
	c->mono = calloc(c->cap, sizeof(float));
	CHECK(c->mono);
}

/* Reads until EOF or until FRAMES more frames were read (0 = until EOF).
 * Left and right must match: every fixture is dual mono. */
static void capture_read(struct capture *c, struct ring *ring,
			 uint64_t frames)
{
	static float buf[2 * 4096];
	uint64_t stop = frames ? c->n + frames : UINT64_MAX;
	while (!c->eof && c->n < stop) {
		size_t want = 4096;
		if (want > stop - c->n)
			want = (size_t)(stop - c->n);
		struct ring_marker mk;
		bool has = false;
		ssize_t n = ring_read(ring, 0, buf, want, &mk, &has);
		CHECK(n >= 0);
		if (n == 0) {
			c->eof = true;
			break;
		}
		if (has) {
			CHECK(c->n_marks < MAX_MARKS);
			struct mark *m = &c->marks[c->n_marks++];
			CHECK_INT(mk.frame, ==, c->base + c->n);
			m->frame = mk.frame;
			m->id = mk.track_id;
			snprintf(m->title, sizeof(m->title), "%s", mk.title);
			snprintf(m->display, sizeof(m->display), "%s",
				 mk.display);
		}
		CHECK(c->n + (size_t)n <= c->cap);
		for (ssize_t i = 0; i < n; i++) {
			/* Dual mono in; lossy joint-stereo coding leaves
			 * small differences between the channels. */
			CHECK(fabsf(buf[2 * i] - buf[2 * i + 1]) < 0.02f);
			c->mono[c->n + (size_t)i] = buf[2 * i];
		}
		c->n += (size_t)n;
	}
}

/* Forgets what was read so far (keeps the marks). */
static void capture_discard(struct capture *c)
{
	c->base += c->n;
	c->n = 0;
}

/* Music marks only (track_id != 0), in order. */
static size_t music_marks(const struct capture *c, const struct mark **out,
			  size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n_marks && k < max; i++)
		if (c->marks[i].id != 0)
			out[k++] = &c->marks[i];
	return k;
}

/* ------------------------------------------------------------------ */
/* Measuring.                                                          */

static double hann[GOERTZEL_N];

/* Power of FREQ in the Hann-windowed GOERTZEL_N samples from X (Goertzel:
 * one DFT bin, and the window keeps 440 / 550 / 660 Hz apart). */
static double goertzel(const float *x, double freq_hz)
{
	if (hann[1] == 0)
		for (size_t i = 0; i < GOERTZEL_N; i++)
			hann[i] = 0.5 - 0.5 * cos(2 * M_PI * (double)i /
						  (GOERTZEL_N - 1));
	double coeff = 2 * cos(2 * M_PI * freq_hz / RATE);
	double s1 = 0, s2 = 0;
	for (size_t i = 0; i < GOERTZEL_N; i++) {
		double s = x[i] * hann[i] + coeff * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/* The same for the window centred at CENTER (clipped to the capture). */
static double tone_power(const struct capture *c, uint64_t center,
			 double freq_hz)
{
	uint64_t start = center > GOERTZEL_N / 2 ? center - GOERTZEL_N / 2 : 0;
	if (start + GOERTZEL_N > c->n)
		start = c->n - GOERTZEL_N;
	return goertzel(c->mono + start, freq_hz);
}

static double rms(const struct capture *c, uint64_t start, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)c->mono[start + i] * c->mono[start + i];
	return sqrt(sum / (double)n);
}

static double peak(const struct capture *c, uint64_t start, size_t n)
{
	double p = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(c->mono[start + i]) > p)
			p = fabs(c->mono[start + i]);
	return p;
}

/* No dropout: in [start, end) no run of near-zero samples longer than
 * 20 ms (a -12 dBFS sine dips under 0.001 for one sample per crossing), and
 * every 50 ms window within 1.5 dB of the tones' own RMS — which, across a
 * crossfade, is the equal-power promise. */
static void check_continuous(const struct capture *c, uint64_t start,
			     uint64_t end)
{
	size_t run = 0, worst = 0;
	for (uint64_t i = start; i < end; i++) {
		run = fabsf(c->mono[i]) < 0.001f ? run + 1 : 0;
		if (run > worst)
			worst = run;
	}
	CHECK_INT(worst, <=, MS(20));

	const double lo = TONE_RMS * pow(10, -1.5 / 20);
	const double hi = TONE_RMS * pow(10, 1.5 / 20);
	for (uint64_t w = start; w + MS(50) <= end; w += MS(50)) {
		double r = rms(c, w, MS(50));
		if (r < lo || r > hi) {
			fprintf(stderr, "window at %.3f s: RMS %.4f (%.2f dB)\n",
				(double)w / RATE, r, 20 * log10(r / TONE_RMS));
			exit(1);
		}
	}
}

/* The power of track K's tone at CENTER relative to its own level. */
static double rel_power(const struct capture *c, uint64_t center,
			const struct known *k)
{
	return tone_power(c, center, k->freq_hz) / k->ref_power;
}

/* The centre of the first 10 ms step in [from, to) where track IN is
 * louder than track OUT, each relative to its own level. */
static uint64_t crossover(const struct capture *c, uint64_t from, uint64_t to,
			  const struct known *out, const struct known *in)
{
	for (uint64_t p = from; p < to; p += MS(10))
		if (rel_power(c, p, in) > rel_power(c, p, out))
			return p;
	fprintf(stderr, "no crossover %g -> %g Hz in %.2f..%.2f s\n",
		out->freq_hz, in->freq_hz, (double)from / RATE,
		(double)to / RATE);
	exit(1);
}

/* Markers in order with the right titles, never one track twice in a row,
 * each at the crossover of the two tones (within 50 ms), and the audio
 * between transitions being the marked track's tone. */
static void check_marks(const struct capture *c, const struct mark **mk,
			size_t n, uint64_t end)
{
	for (size_t i = 0; i < n; i++) {
		const struct known *k = known_find(mk[i]->id);
		CHECK(k);
		CHECK_STR(mk[i]->title, k->title);
		CHECK_STR(mk[i]->display, k->display);
		if (i == 0)
			continue;
		const struct known *prev = known_find(mk[i - 1]->id);
		CHECK(mk[i]->id != mk[i - 1]->id);
		CHECK(mk[i]->frame > mk[i - 1]->frame);
		uint64_t from = mk[i - 1]->frame + MS(50);
		if (mk[i]->frame > MS(3000) && from < mk[i]->frame - MS(3000))
			from = mk[i]->frame - MS(3000);
		uint64_t to = mk[i]->frame + MS(3000);
		if (i + 1 < n && to > mk[i + 1]->frame - MS(50))
			to = mk[i + 1]->frame - MS(50);
		if (to > end)
			to = end;
		uint64_t x = crossover(c, from, to, prev, k);
		double off_ms = ((double)x - (double)mk[i]->frame) * 1000 / RATE;
		if (fabs(off_ms) > 50) {
			fprintf(stderr, "marker %zu at %.3f s, crossover at "
				"%.3f s\n", i, (double)mk[i]->frame / RATE,
				(double)x / RATE);
			exit(1);
		}
	}
	/* Between transitions the marked track is what plays (where there is
	 * room for a solo part between two crossfades). */
	for (size_t i = 0; i < n; i++) {
		uint64_t a = mk[i]->frame;
		uint64_t b = i + 1 < n ? mk[i + 1]->frame : end;
		if (b - a < MS(2000))
			continue;
		uint64_t mid = a + (b - a) / 2;
		double own = tone_power(c, mid, known_find(mk[i]->id)->freq_hz);
		for (size_t j = 0; j < n_known; j++) {
			if (known[j].id == mk[i]->id)
				continue;
			CHECK(own > 100 * tone_power(c, mid, known[j].freq_hz));
		}
	}
}

/* The last FADE frames before END: a falling envelope that starts at full
 * level and ends near zero. */
static void check_fade(const struct capture *c, uint64_t end, uint64_t fade)
{
	CHECK(end >= fade + MS(200));
	/* (0.6: the fade may begin inside a crossfade.) */
	CHECK(peak(c, end - fade - MS(200), MS(200)) > 0.6 * TONE_PEAK);
	double prev = 1;
	for (uint64_t w = end - fade; w + MS(100) <= end; w += MS(100)) {
		double p = peak(c, w, MS(100));
		CHECK(p <= prev + 0.005);
		prev = p;
	}
	CHECK(peak(c, end - MS(50), MS(50)) < 0.02);
}

static struct ring *make_ring(double seconds)
{
	struct ring *ring = ring_create((size_t)(seconds * RATE), 2, 16, 0);
	CHECK(ring);
	CHECK_INT(ring_reader_attach(ring, 0, NULL, NULL), ==, 0);
	return ring;
}

static struct mixer_params params_make(double crossfade_s, double fadeout_s,
				       double stop_s, uint64_t seed)
{
	struct mixer_params p = {
		.crossfade_s = crossfade_s,
		.fadeout_s = fadeout_s,
		.seed = seed,
		.stop_after_frames = (uint64_t)(stop_s * RATE),
		.max_tracks = 64,
	};
	return p;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */

/* Three tracks, 4 s crossfades, 60 s with a 2 s fade at the end. */
static void test_crossfade(void)
{
	struct catalog *cat = open_catalog("crossfade.db");
	put_fixture(cat, "tone-440.mp3", 440);
	put_fixture(cat, "tone-660.ogg", 660);
	put_fixture(cat, "tone-550.flac", 550);
	struct ring *ring = make_ring(1.0);
	struct mixer_params p = params_make(4.0, 2.0, 60.0, 7);
	char log_path[PATH_MAX + 64];
	snprintf(log_path, sizeof(log_path), "%s/crossfade.jsonl", tmp);
	p.transitions_log = fopen(log_path, "w");
	CHECK(p.transitions_log);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 61);

	double cpu0 = cpu_s(), wall0 = wall_s();
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, 0);
	CHECK_INT(mixer_join(m), ==, 0);
	double cpu = cpu_s() - cpu0, wall = wall_s() - wall0;
	fprintf(stderr, "rendered 60 s in %.2f s CPU, %.2f s wall: %.0fx real "
		"time (CPU, mixer + this reader)\n", cpu, wall, 60.0 / cpu);

	/* Exactly stop_after_frames, then the end of the stream. */
	CHECK(c.eof);
	CHECK_INT(c.n, ==, p.stop_after_frames);

	const struct mark *mk[MAX_MARKS];
	size_t n = music_marks(&c, mk, MAX_MARKS);
	CHECK_INT(n, ==, c.n_marks); /* no silence anywhere */
	CHECK_INT(n, >=, 3);
	CHECK_INT(mk[0]->frame, ==, 0); /* the first track from its start */
	uint64_t fade = MS(2000);
	check_continuous(&c, 0, c.n - fade);
	check_marks(&c, mk, n, c.n - fade);
	check_fade(&c, c.n, fade);

	/* Crossfade length and shape: the incoming tone is absent 2.5 s
	 * before the marker (the fade is 4 s long, centred on it) and 1.5 s
	 * before it (t = 1/8) has tan(pi/16)^2 = 0.040 of the outgoing one's
	 * power (within 1.5 dB). */
	for (size_t i = 1; i < n; i++) {
		const struct known *in = known_find(mk[i]->id);
		const struct known *out = known_find(mk[i - 1]->id);
		uint64_t at = mk[i]->frame;
		CHECK(rel_power(&c, at - MS(2500), in) <
		      0.001 * rel_power(&c, at - MS(2500), out));
		double r = rel_power(&c, at - MS(1500), in) /
			   rel_power(&c, at - MS(1500), out);
		CHECK(r > 0.028 && r < 0.056);
	}

	/* Play history: one row per marker, the last being the last. */
	CHECK_INT(plays_count("crossfade.db"), ==, (long long)n);
	int64_t last_id;
	time_t when;
	CHECK_INT(catalog_play_last(cat, &last_id, &when), ==, 0);
	CHECK_INT(last_id, ==, mk[n - 1]->id);
	CHECK(llabs((long long)(time(NULL) - when)) < 120);

	struct mixer_stats st;
	mixer_get_stats(m, &st);
	CHECK_INT(st.tracks_started, ==, n);
	CHECK_INT(st.tracks_failed, ==, 0);
	CHECK_INT(st.frames_written, ==, c.n);
	CHECK_INT(st.current_track_id, ==, mk[n - 1]->id);

	/* The transitions log: one JSON line per transition, plain
	 * crossfades of unanalysed tracks, positions where the markers are. */
	CHECK(fclose(p.transitions_log) == 0);
	/* (The last one may have begun before the end and been cut before
	 * its marker.) */
	CHECK(st.transitions_crossfaded == n - 1 ||
	      st.transitions_crossfaded == n);
	CHECK_INT(st.transitions_beatmatched, ==, 0);
	FILE *fp = fopen(log_path, "r");
	CHECK(fp);
	char line[4096];
	size_t k = 0;
	while (fgets(line, sizeof(line), fp)) {
		k++;
		CHECK(k <= st.transitions_crossfaded);
		if (k == n)
			break;
		CHECK(line[0] == '{' && strstr(line, "}\n"));
		CHECK(strstr(line, "\"kind\":\"crossfade\""));
		CHECK(strstr(line, "\"reason\":\"A and B are not analysed yet\""));
		CHECK(strstr(line, "\"bpm_from\":null"));
		CHECK(strstr(line, "\"bars\":0"));
		const char *at = strstr(line, "\"marker_s\":");
		CHECK(at);
		double marker_s = strtod(at + strlen("\"marker_s\":"), NULL);
		CHECK_NEAR(marker_s * RATE, (double)mk[k]->frame, 1.0);
		at = strstr(line, "\"duration_s\":");
		CHECK(at);
		CHECK_NEAR(strtod(at + strlen("\"duration_s\":"), NULL), 4.0,
			   0.001);
		char want[64];
		snprintf(want, sizeof(want), "\"to_id\":%lld",
			 (long long)mk[k]->id);
		CHECK(strstr(line, want));
	}
	fclose(fp);
	CHECK_INT(k, ==, st.transitions_crossfaded);

	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* crossfade_s = 0 (set at run time): a hard cut, the marker exactly at the
 * first frame of the new track. */
static void test_hard_cut(void)
{
	struct catalog *cat = open_catalog("cut.db");
	put_fixture(cat, "tone-440.mp3", 440);
	put_fixture(cat, "tone-660.ogg", 660);
	put_fixture(cat, "tone-550.flac", 550);
	struct ring *ring = make_ring(1.0);
	struct mixer_params p = params_make(4.0, 1.0, 45.0, 3);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	mixer_set_crossfade(m, 0);
	struct capture c;
	capture_init(&c, 46);
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, 0);
	CHECK_INT(mixer_join(m), ==, 0);
	CHECK_INT(c.n, ==, p.stop_after_frames);

	const struct mark *mk[MAX_MARKS];
	size_t n = music_marks(&c, mk, MAX_MARKS);
	CHECK_INT(n, >=, 2);
	check_continuous(&c, 0, c.n - MS(1000));
	check_marks(&c, mk, n, c.n - MS(1000));
	/* The window before a marker is all the old tone, the one from it
	 * all the new one. */
	for (size_t i = 1; i < n; i++) {
		const float *before = c.mono + mk[i]->frame - GOERTZEL_N;
		const float *after = c.mono + mk[i]->frame;
		double f_in = known_find(mk[i]->id)->freq_hz;
		double f_out = known_find(mk[i - 1]->id)->freq_hz;
		CHECK(goertzel(before, f_out) > 100 * goertzel(before, f_in));
		CHECK(goertzel(after, f_in) > 100 * goertzel(after, f_out));
	}
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* A crossfade set longer than the mixer was made for (1 s: a 5 s tail, the
 * trim lookahead) before it starts: the tail grows to it, so every
 * transition is the whole 7 s (the log gives the overlap played, which
 * the tail's content bounds). */
static void test_crossfade_longer(void)
{
	struct catalog *cat = open_catalog("longer.db");
	put_fixture(cat, "tone-440.mp3", 440);
	put_fixture(cat, "tone-660.ogg", 660);
	put_fixture(cat, "tone-550.flac", 550);
	struct ring *ring = make_ring(1.0);
	struct mixer_params p = params_make(1.0, 1.0, 45.0, 5);
	char log_path[PATH_MAX + 64];
	snprintf(log_path, sizeof(log_path), "%s/longer.jsonl", tmp);
	p.transitions_log = fopen(log_path, "w");
	CHECK(p.transitions_log);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	mixer_set_crossfade(m, 7.0);
	struct capture c;
	capture_init(&c, 46);
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, 0);
	CHECK_INT(mixer_join(m), ==, 0);
	CHECK_INT(c.n, ==, p.stop_after_frames);
	check_continuous(&c, 0, c.n - MS(1000));
	CHECK(fclose(p.transitions_log) == 0);

	FILE *fp = fopen(log_path, "r");
	CHECK(fp);
	char line[4096];
	size_t k = 0;
	while (fgets(line, sizeof(line), fp)) {
		const char *at = strstr(line, "\"duration_s\":");
		CHECK(at);
		CHECK_NEAR(strtod(at + strlen("\"duration_s\":"), NULL), 7.0,
			   0.001);
		k++;
	}
	fclose(fp);
	CHECK_INT(k, >=, 2);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* Noise with a made-up entry, a file deleted after the scan and a silent
 * file: each is skipped once, and the music goes on without a gap; noise
 * and silence are marked bad, the deleted file is not (the next scan marks
 * it missing). */
static void test_bad_files(void)
{
	struct catalog *cat = open_catalog("bad.db");
	char path[PATH_MAX + 64];
	put_fixture(cat, "tone-440.mp3", 440);
	put_fixture(cat, "tone-660.ogg", 660);

	snprintf(path, sizeof(path), "%s/noise.mp3", fixtures);
	int64_t noise_id = put_fake(cat, path);
	snprintf(path, sizeof(path), "%s/gone.flac", tmp);
	CHECK_INT(test_sh("cp '%s/tone-550.flac' '%s'", fixtures, path), ==, 0);
	int64_t gone_id = put_fake(cat, path);
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/silence.ogg", fixtures);
	int64_t silent_id = put_fake(cat, path);

	struct ring *ring = make_ring(1.0);
	struct mixer_params p = params_make(3.0, 1.0, 50.0, 11);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 51);
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, 0);
	CHECK_INT(mixer_join(m), ==, 0);
	CHECK_INT(c.n, ==, p.stop_after_frames);

	const struct mark *mk[MAX_MARKS];
	size_t n = music_marks(&c, mk, MAX_MARKS);
	CHECK_INT(n, ==, c.n_marks);
	CHECK_INT(n, >=, 2);
	for (size_t i = 0; i < n; i++)
		CHECK(mk[i]->id != noise_id && mk[i]->id != gone_id &&
		      mk[i]->id != silent_id);
	check_continuous(&c, 0, c.n - MS(1000));
	check_marks(&c, mk, n, c.n - MS(1000));

	struct mixer_stats st;
	mixer_get_stats(m, &st);
	CHECK_INT(st.tracks_failed, ==, 3);
	size_t bad = 0;
	CHECK_INT(catalog_bad_count(cat, &bad), ==, 0);
	CHECK_INT(bad, ==, 2);
	int64_t ids[8];
	size_t n_ids = 0;
	CHECK_INT(catalog_playable_ids(cat, ids, 8, &n_ids), ==, 0);
	CHECK_INT(n_ids, ==, 3);
	bool gone_playable = false;
	for (size_t i = 0; i < n_ids; i++)
		gone_playable = gone_playable || ids[i] == gone_id;
	CHECK(gone_playable);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* A 1 s track between 15 s ones with 4 s crossfades configured: its
 * transitions shrink to fit, and the stream stays continuous. */
static void test_short_track(void)
{
	struct catalog *cat = open_catalog("short.db");
	put_fixture(cat, "one-second.mp3", 1000);
	put_fixture(cat, "tone-550.flac", 550);
	struct ring *ring = make_ring(1.0);
	struct mixer_params p = params_make(4.0, 1.0, 40.0, 5);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 41);
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, 0);
	CHECK_INT(mixer_join(m), ==, 0);
	const struct mark *mk[MAX_MARKS];
	size_t n = music_marks(&c, mk, MAX_MARKS);
	CHECK_INT(n, >=, 4);
	check_continuous(&c, 0, c.n - MS(1000));
	check_marks(&c, mk, n, c.n - MS(1000));
	/* The 1 s track is heard for about its half second between the
	 * middles of its two half-second (at most) crossfades. */
	for (size_t i = 0; i + 1 < n; i++) {
		if (known_find(mk[i]->id)->freq_hz != 1000)
			continue;
		uint64_t span = mk[i + 1]->frame - mk[i]->frame;
		CHECK_INT(span, >=, MS(400));
		CHECK_INT(span, <=, MS(1100));
	}
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* Empty library: silence (marked as such) until a track is added and
 * mixer_library_changed() is called; the music then starts within the
 * ring's length plus two silence blocks. */
static void test_empty_library(void)
{
	struct catalog *cat = open_catalog("empty.db");
	const double ring_s = 0.5;
	struct ring *ring = make_ring(ring_s);
	struct mixer_params p = params_make(2.0, 0.5, 0, 1);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 40);
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, MS(2000));
	CHECK_INT(c.n_marks, ==, 1);
	CHECK_INT(c.marks[0].frame, ==, 0);
	CHECK_INT(c.marks[0].id, ==, 0);
	CHECK(peak(&c, 0, c.n) == 0);

	int64_t id = put_fixture(cat, "tone-440.mp3", 440);
	uint64_t asked_at = c.n;
	mixer_library_changed(m);
	uint64_t first = 0;
	while (first == 0) {
		uint64_t from = c.n;
		capture_read(&c, ring, MS(100));
		CHECK(!c.eof);
		for (uint64_t i = from; i < c.n && first == 0; i++)
			if (c.mono[i] != 0)
				first = i;
		CHECK(c.n < asked_at + MS(5000));
	}
	CHECK_INT(first - asked_at, <=, (uint64_t)(ring_s * RATE) + MS(200));
	/* The title changes at the first frame of music. */
	CHECK_INT(c.n_marks, ==, 2);
	CHECK_INT(c.marks[1].id, ==, id);
	CHECK_INT(c.marks[1].frame, ==, first);
	CHECK_STR(c.marks[1].title, "Four Forty");
	capture_read(&c, ring, MS(3000));
	check_continuous(&c, first, c.n);

	mixer_fade_out(m);
	capture_read(&c, ring, 0);
	CHECK(c.eof);
	CHECK_INT(mixer_join(m), ==, 0);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* A library whose only track is bad: it is marked bad once (no retry
 * loop), silence streams, and a track added without any notification
 * starts playing after the periodic re-check, about a second later. */
static void test_all_bad_then_recheck(void)
{
	struct catalog *cat = open_catalog("allbad.db");
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/noise.mp3", fixtures);
	put_fake(cat, path);
	struct ring *ring = make_ring(0.5);
	struct mixer_params p = params_make(2.0, 0.5, 0, 1);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 10);

	CHECK_INT(mixer_start(m), ==, 0);
	/* Read silence for 1.5 s of wall time (the reader is fast, so that
	 * is far more audio). */
	double t0 = wall_s();
	while (wall_s() - t0 < 1.5) {
		capture_read(&c, ring, MS(100));
		CHECK(peak(&c, 0, c.n) == 0);
		capture_discard(&c);
	}
	struct mixer_stats st;
	mixer_get_stats(m, &st);
	CHECK_INT(st.tracks_failed, ==, 1);
	CHECK_INT(st.tracks_started, ==, 0);
	CHECK_INT(st.current_track_id, ==, 0);
	CHECK_INT(c.n_marks, ==, 1);
	CHECK_INT(c.marks[0].id, ==, 0);

	put_fixture(cat, "tone-660.ogg", 660);
	t0 = wall_s();
	bool music = false;
	while (!music) {
		uint64_t from = c.n;
		capture_read(&c, ring, MS(100));
		for (uint64_t i = from; i < c.n && !music; i++)
			music = c.mono[i] != 0;
		if (!music)
			capture_discard(&c);
		CHECK(wall_s() - t0 < 5.0);
	}
	fprintf(stderr, "music after %.2f s without notification\n",
		wall_s() - t0);
	CHECK_INT(c.n_marks, ==, 2);
	CHECK_STR(c.marks[1].title, "Six Sixty");
	mixer_get_stats(m, &st);
	CHECK_INT(st.tracks_failed, ==, 1);

	/* Someone else closing the ring ends the mixer cleanly. */
	ring_close(ring);
	CHECK_INT(mixer_join(m), ==, 0);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* A library whose only file is deleted: it is skipped once, not marked
 * bad, and silence streams (the periodic re-check and a library change
 * do not retry it); when it is back, a rescan (mixer_library_rescanned)
 * plays it: a folder unmounted and mounted again. */
static void test_gone_then_back(void)
{
	struct catalog *cat = open_catalog("gone.db");
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/back.ogg", tmp);
	CHECK_INT(test_sh("cp '%s/tone-660.ogg' '%s'", fixtures, path), ==, 0);
	int64_t id = put_fake(cat, path);
	CHECK_INT(test_sh("mv '%s' '%s.away'", path, path), ==, 0);
	struct ring *ring = make_ring(0.5);
	struct mixer_params p = params_make(2.0, 0.5, 0, 1);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 10);

	CHECK_INT(mixer_start(m), ==, 0);
	double t0 = wall_s();
	bool nudged = false;
	while (wall_s() - t0 < 1.5) {
		capture_read(&c, ring, MS(100));
		CHECK(peak(&c, 0, c.n) == 0);
		capture_discard(&c);
		if (!nudged && wall_s() - t0 > 0.5) {
			mixer_library_changed(m);
			nudged = true;
		}
	}
	struct mixer_stats st;
	mixer_get_stats(m, &st);
	CHECK_INT(st.tracks_failed, ==, 1);
	CHECK_INT(st.tracks_started, ==, 0);
	size_t bad = 0;
	CHECK_INT(catalog_bad_count(cat, &bad), ==, 0);
	CHECK_INT(bad, ==, 0);

	CHECK_INT(test_sh("mv '%s.away' '%s'", path, path), ==, 0);
	mixer_library_rescanned(m);
	t0 = wall_s();
	bool music = false;
	while (!music) {
		uint64_t from = c.n;
		capture_read(&c, ring, MS(100));
		for (uint64_t i = from; i < c.n && !music; i++)
			music = c.mono[i] != 0;
		if (!music)
			capture_discard(&c);
		CHECK(wall_s() - t0 < 5.0);
	}
	CHECK_INT(c.marks[c.n_marks - 1].id, ==, id);
	mixer_get_stats(m, &st);
	CHECK_INT(st.tracks_failed, ==, 1);

	ring_close(ring);
	CHECK_INT(mixer_join(m), ==, 0);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

/* mixer_fade_out mid-track: the stream ends with a 2 s fade within the
 * ring's length plus 2 s, and readers see EOF. */
static void test_fade_out(void)
{
	struct catalog *cat = open_catalog("fade.db");
	put_fixture(cat, "tone-440.mp3", 440);
	put_fixture(cat, "tone-660.ogg", 660);
	const double ring_s = 0.5;
	struct ring *ring = make_ring(ring_s);
	struct mixer_params p = params_make(2.0, 2.0, 0, 9);
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	struct capture c;
	capture_init(&c, 30);
	CHECK_INT(mixer_start(m), ==, 0);
	capture_read(&c, ring, MS(5000));
	uint64_t asked_at = c.n;
	mixer_fade_out(m);
	capture_read(&c, ring, 0);
	CHECK(c.eof);
	CHECK_INT(mixer_join(m), ==, 0);
	CHECK_INT(c.n - asked_at, >=, MS(2000));
	CHECK_INT(c.n - asked_at, <=, (uint64_t)(ring_s * RATE) + MS(2000) +
		  4096);
	check_continuous(&c, 0, c.n - MS(2000));
	check_fade(&c, c.n, MS(2000));
	/* Nothing can be attached or written after the end. */
	CHECK_INT(ring_read(ring, 0, c.mono, 1, NULL, NULL), ==, 0);
	mixer_destroy(m);
	ring_destroy(ring);
	catalog_close(cat);
	free(c.mono);
}

static void test_invalid(void)
{
	struct catalog *cat = open_catalog("invalid.db");
	struct ring *ring = make_ring(0.1);
	struct mixer_params p = params_make(2.0, 1.0, 0, 1);
	errno = 0;
	CHECK(mixer_create(NULL, ring, &p) == NULL && errno == EINVAL);
	p.crossfade_s = MIXER_CROSSFADE_MAX_S + 1;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.crossfade_s = -1;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.crossfade_s = 2;
	p.max_tracks = 0;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.max_tracks = 4;
	/* Transition parameters: 0 is the default, out of range is refused. */
	p.transition_bars = 2;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.transition_bars = 128;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.transition_bars = 8;
	p.max_stretch = 0.9;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.max_stretch = -0.1;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.max_stretch = 0.05;
	p.loudness_target_lufs = -3;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.loudness_target_lufs = -16;
	p.stretch_engine = (enum stretch_engine)7;
	CHECK(mixer_create(cat, ring, &p) == NULL && errno == EINVAL);
	p.stretch_engine = STRETCH_ENGINE_FINER;
	/* Created but never started: destroy is enough. */
	struct mixer *m = mixer_create(cat, ring, &p);
	CHECK(m);
	mixer_destroy(m);
	mixer_destroy(NULL);
	ring_destroy(ring);
	catalog_close(cat);
}

int main(void)
{
	const char *dir = test_fixtures();
	CHECK(realpath(dir, fixtures));
	snprintf(tmp, sizeof(tmp), "%s", test_tmpdir("mixer"));
	if (!getenv("TEST_VERBOSE"))
		log_set_level(LOG_LEVEL_WARNING);

	test_invalid();
	test_crossfade();
	test_hard_cut();
	test_crossfade_longer();
	test_bad_files();
	test_short_track();
	test_empty_library();
	test_all_bad_then_recheck();
	test_gone_then_back();
	test_fade_out();

	test_sh("rm -rf '%s'", tmp);
	return 0;
}
