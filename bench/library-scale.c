/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * library-scale — the brain and the scan at library scale; run by
 * bench/library-scale.sh, which prints the table and runs `foreverfm
 * plan` on what this program leaves behind.
 *
 *   library-scale --n N --dir DIR --real DB [--real DB ...]
 *                 [--reference SECONDS] [--budget SECONDS]
 *                 [--no-files | --audio]
 *                 [--seed S] [--reference-cost C] [--reuse]
 *
 * 1. Reads every analysis of the real catalogs DB (copies: opening
 *    migrates them), the distribution the synthetic tracks come from.
 * 2. Writes N small distinct WAV files under DIR/lib (unless --no-files;
 *    8 kHz, 8-bit mono, 0.1 s: 844 bytes each, one 4 KiB block on most
 *    file systems) in folders of 1000, and scans them into the catalog
 *    DIR/scale.db (source_dir_scan: a probe of every file), then scans
 *    again (unchanged: stat only). With --no-files the tracks are put
 *    into the catalog directly. With --audio every track is a hard link
 *    to the real file its album is drawn from (no disk but a directory
 *    entry each), put into the catalog as a scan would leave it, and
 *    given its base's visuals too: a station can play the library, and
 *    its analyzer finds nothing to do (bench/library-scale.sh
 *    STATION=1). Nothing may scan DIR/lib then: a scan sees a file
 *    linked under two names as one track, and would mark the others
 *    missing. A station plays the tracks outside its library paths.
 * 3. Gives every track a synthetic analysis: an "album" of ten tracks by
 *    one artist takes a real analysis as its base (tempo, key, energy,
 *    loudness, MFCC means and spreads, grid and all) and each track
 *    varies it as the tracks of one album vary (tempo x exp(N(0, 4 %)),
 *    the key kept on 60 %, else a wheel neighbour or anywhere, energy
 *    +- 0.06, loudness +- 1.5 LU, each MFCC value +- 30 % of the real
 *    spread of that value, duration 100-590 s). Neighbourhoods are as
 *    clustered as a real library's, not uniform.
 * 4. The setlist as the station runs it: reload, a full solve (CPU time
 *    of this thread), the cost against a second solve of the same
 *    library with REFERENCE seconds (the best tour found with much more
 *    time; the ratio is printed), 20 removals and insertions of single
 *    tracks (setlist_update, as the station does when a track turns bad
 *    or an analysis arrives; CPU time of this thread, so that a busy
 *    machine does not count), the cycle checked after each, and the
 *    largest RSS. Every change is followed by setlist_sequence with
 *    a history of 64 plays, as the service publishes it (timed).
 *
 * --seed: the solve's (the reference takes seed + 1); --reference-cost:
 * the cost of a reference solved before, instead of solving one;
 * --reuse: the library DIR holds from a run before, if it has N tracks.
 *
 * Prints one line of "key value" pairs for the script.
 */
#include "autoconfig.h"

#include "catalog.h"
#include "decode.h"
#include "log.h"
#include "setlist.h"
#include "source_dir.h"
#include "visuals.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REAL_MAX 4096
#define DB_MAX 8

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static double rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

static double gauss(void)
{
	return sqrt(-2.0 * log(rnd() + 1e-300)) * cos(2.0 * M_PI * rnd());
}

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A figure of /proc/self/status in kB: KEY "VmHWM:" (the largest RSS)
 * or "VmRSS:" (now). */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	size_t len = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0) {
			kb = strtol(line + len, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return kb;
}

static long rss_peak_kb(void)
{
	return status_kb("VmHWM:");
}

static long rss_now_kb(void)
{
	return status_kb("VmRSS:");
}

static bool audio; /* --audio: hard links to the real files */
static struct analysis *real;
/* Per real analysis (--audio): its file, its decoded duration and its
 * visuals (has_vis false when it has none). */
static char (*real_path)[PATH_MAX];
static double *real_duration;
static struct visuals *real_vis;
static bool *real_has_vis;
static size_t n_real;

static int load_real(const char *path)
{
	struct catalog *cat = catalog_open(path);
	if (!cat)
		return -errno;
	int64_t *ids = malloc(REAL_MAX * sizeof(*ids));
	size_t n = 0;
	if (!ids || catalog_library_ids(cat, ids, REAL_MAX, &n) < 0) {
		free(ids);
		catalog_close(cat);
		return -EIO;
	}
	struct catalog_track *t = malloc(sizeof(*t));
	for (size_t i = 0; t && i < n && n_real < REAL_MAX; i++)
		if (catalog_analysis_get(cat, ids[i], &real[n_real]) == 0 &&
		    real[n_real].bpm > 0 &&
		    catalog_track_get(cat, ids[i], t) == 0) {
			snprintf(real_path[n_real], PATH_MAX, "%s", t->path);
			real_duration[n_real] = t->duration_s;
			real_has_vis[n_real] = catalog_visuals_get(
				cat, ids[i], &real_vis[n_real]) == 0;
			n_real++;
		}
	free(t);
	free(ids);
	catalog_close(cat);
	return 0;
}

/* The real analysis that album I / 10 is drawn from. */
static size_t base_of(size_t i)
{
	uint64_t save = rng;
	rng = 0x9E3779B97F4A7C15ULL * (i / 10 + 1);
	size_t r = (size_t)(rnd() * (double)n_real) % n_real;
	rng = save;
	return r;
}

/* The synthetic analysis of track I: album I / 10 on its real base. */
static void synth(size_t i, const double *mfcc_sd, struct analysis *a)
{
	uint64_t save = rng;
	const struct analysis *base = &real[base_of(i)];
	rng = save ^ (0xBF58476D1CE4E5B9ULL * (i + 1));
	rnd();
	*a = *base;
	a->bpm = base->bpm * exp(0.04 * gauss());
	double u = rnd();
	if (base->key >= 0 && u >= 0.6) {
		int mode = base->key / 12, pc = base->key % 12;
		if (u < 0.85) /* a fifth up or down: one wheel step */
			pc = (pc + (rnd() < 0.5 ? 7 : 5)) % 12;
		else
			pc = (int)(rnd() * 12) % 12;
		a->key = mode * 12 + pc;
	}
	a->energy = fmin(1, fmax(0, base->energy + 0.06 * gauss()));
	a->loudness_lufs = base->loudness_lufs + 1.5 * gauss();
	for (int k = 0; k < ANALYSIS_MFCC; k++) {
		a->mfcc_mean[k] += (float)(0.3 * mfcc_sd[k] * gauss());
		a->mfcc_std[k] += (float)(0.3 * mfcc_sd[ANALYSIS_MFCC + k] * gauss());
	}
	/* With --audio the file is the base's: its length too. */
	if (!audio)
		a->duration_s = 100 + 490 * rnd();
}

/* Track I's file under LIB: folders of 1000, the album in the name; with
 * --audio the extension of its real file. */
static void track_path(char *out, size_t size, const char *lib, size_t i)
{
	const char *ext = ".wav";
	if (audio) {
		ext = strrchr(real_path[base_of(i)], '.');
		ext = ext && !strchr(ext, '/') ? ext : "";
	}
	snprintf(out, size, "%s/d%04zu/a%06zu-t%zu%s", lib, i / 1000, i / 10,
		 i, ext);
}

/* Track I as a hard link to the real file of its album's base, put into
 * the catalog as a scan would leave it (size, mtime in ns, the real
 * file's duration), without a probe: a station plays it and its scan
 * finds it unchanged. */
static int link_track(struct catalog *cat, const char *path, size_t i)
{
	const char *src = real_path[base_of(i)];
	struct stat st;
	if ((link(src, path) < 0 && errno != EEXIST) || stat(path, &st) < 0)
		return -errno;
	struct decode_info info = { 0 };
	info.duration_s = real_duration[base_of(i)];
	int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 +
			st.st_mtim.tv_nsec;
	return catalog_track_put(cat, path, st.st_size, mtime, &info, NULL);
}

/* An 8 kHz 8-bit mono WAV of 800 samples (844 bytes, one block), distinct
 * by I: a 440 Hz tone whose first samples hold I's bytes. */
static int write_wav(const char *path, size_t i)
{
	enum { RATE = 8000, FRAMES = 800 };
	short pcm[FRAMES];
	for (int k = 0; k < FRAMES; k++)
		pcm[k] = (short)(10240 * sin(2 * M_PI * 440 * k / RATE));
	for (size_t k = 0; k < sizeof(i); k++)
		pcm[k] = (short)((((i >> (8 * k)) & 0xff) - 128) * 256);
	SF_INFO fmt = { .samplerate = RATE, .channels = 1,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_U8 };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &fmt);
	if (!sf)
		return -EIO;
	sf_count_t w = sf_write_short(sf, pcm, FRAMES);
	return sf_close(sf) == 0 && w == FRAMES ? 0 : -EIO;
}

static int cmp_id(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

static double seq_cpu_max, seq_cpu_sum;
static int seq_calls;


/* BUF[0 .. N-1] holds every id of the setlist once. */
static bool cycle_check(struct setlist *sl, const int64_t *buf, size_t n)
{
	for (size_t k = 1; k < n; k++)
		if (buf[k] == buf[k - 1])
			return false;
	/* Sorted copy: no id twice. */
	int64_t *c = malloc((n ? n : 1) * sizeof(*c));
	if (!c)
		return false;
	memcpy(c, buf, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_id);
	bool ok = n == setlist_size(sl);
	for (size_t k = 1; k < n && ok; k++)
		ok = c[k] != c[k - 1];
	free(c);
	return ok;
}

/* The plays the sequence is published after, as the service keeps them
 * (HISTORY_PLAYS: four hours of plays, the no-repeat window), set after
 * the first sequence; the last HISTORY_EARLY of them were not in the
 * order of the cycle, so the no-repeat rule has tracks to move. */
#define HISTORY_PLAYS 64
#define HISTORY_EARLY 4
static struct setlist_play history[HISTORY_PLAYS];
static size_t n_history;
static time_t history_now;

/* The last plays before NOW: the cycle's first HISTORY_PLAYS -
 * HISTORY_EARLY tracks in order, four minutes apart, and HISTORY_EARLY
 * tracks a little further on in the cycle, played an hour or more ago. */
static void history_make(const int64_t *seq, size_t n, time_t now)
{
	size_t in_order = HISTORY_PLAYS - HISTORY_EARLY;
	if (n < in_order + 10 * HISTORY_EARLY + 10)
		return;
	for (size_t i = 0; i < in_order; i++)
		history[n_history++] = (struct setlist_play){
			seq[i], now - (time_t)(240 * (in_order - i)) };
	for (size_t i = 0; i < HISTORY_EARLY; i++)
		history[n_history++] = (struct setlist_play){
			seq[in_order + 5 + 10 * i],
			now - (time_t)(3600 + 240 * i) };
	history_now = now;
}

/* The cycle holds every id of the setlist once. Times setlist_sequence
 * (what the service publishes after every change) with the history. */
static bool cycle_valid(struct setlist *sl, int64_t *buf, size_t cap)
{
	size_t n = 0;
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	if (setlist_sequence(sl, history, n_history,
			     n_history ? history_now : time(NULL), buf, cap,
			     &n, NULL) < 0)
		return false;
	double d = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (n_history == 0) {
		history_make(buf, n, time(NULL));
		return cycle_check(sl, buf, n);
	}
	seq_cpu_sum += d;
	seq_cpu_max = d > seq_cpu_max ? d : seq_cpu_max;
	seq_calls++;
	return cycle_check(sl, buf, n);
}


int main(int argc, char **argv)
{
	size_t n = 100000;
	const char *dir = NULL, *dbs[DB_MAX];
	size_t n_db = 0;
	double reference = 60, budget = 1, reference_cost = NAN;
	uint64_t seed = 1;
	bool files = true, reuse = false;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(argv[i], "--no-files")) {
			files = false;
			continue;
		}
		if (!strcmp(argv[i], "--audio")) {
			audio = true;
			continue;
		}
		if (!strcmp(argv[i], "--reuse")) {
			reuse = true;
			continue;
		}
		if (!strcmp(argv[i], "--n"))
			n = strtoul(v, NULL, 10);
		else if (!strcmp(argv[i], "--dir"))
			dir = v;
		else if (!strcmp(argv[i], "--real") && n_db < DB_MAX)
			dbs[n_db++] = v;
		else if (!strcmp(argv[i], "--reference"))
			reference = strtod(v, NULL);
		else if (!strcmp(argv[i], "--reference-cost"))
			reference_cost = strtod(v, NULL);
		else if (!strcmp(argv[i], "--budget"))
			budget = strtod(v, NULL);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(v, NULL, 10);
		else {
			fprintf(stderr, "usage: library-scale --n N --dir DIR "
				"--real DB... [--reference S] [--budget S] "
				"[--seed S] [--reference-cost C] [--reuse] "
				"[--no-files | --audio]\n");
			return 2;
		}
		i++;
	}
	if (!dir || n_db == 0 || n < 10)
		return 2;
	log_set_level(getenv("LIBRARY_SCALE_LOG") ? LOG_LEVEL_DEBUG
						   : LOG_LEVEL_WARNING);
	real = malloc(REAL_MAX * sizeof(*real));
	real_path = malloc(REAL_MAX * sizeof(*real_path));
	real_duration = malloc(REAL_MAX * sizeof(*real_duration));
	real_vis = malloc(REAL_MAX * sizeof(*real_vis));
	real_has_vis = malloc(REAL_MAX * sizeof(*real_has_vis));
	if (!real || !real_path || !real_duration || !real_vis || !real_has_vis)
		return 1;
	for (size_t i = 0; i < n_db; i++)
		if (load_real(dbs[i]) < 0)
			fprintf(stderr, "library-scale: cannot read %s\n", dbs[i]);
	if (n_real == 0) {
		fprintf(stderr, "library-scale: no real analyses\n");
		return 1;
	}
	double mfcc_sd[2 * ANALYSIS_MFCC] = { 0 };
	for (int k = 0; k < 2 * ANALYSIS_MFCC; k++) {
		double m = 0, v = 0;
		for (size_t i = 0; i < n_real; i++)
			m += k < ANALYSIS_MFCC ? real[i].mfcc_mean[k]
					       : real[i].mfcc_std[k - ANALYSIS_MFCC];
		m /= (double)n_real;
		for (size_t i = 0; i < n_real; i++) {
			double x = k < ANALYSIS_MFCC ? real[i].mfcc_mean[k]
					: real[i].mfcc_std[k - ANALYSIS_MFCC];
			v += (x - m) * (x - m);
		}
		mfcc_sd[k] = sqrt(v / (double)n_real);
	}

	char path[4200], lib[4000], db[4100];
	snprintf(lib, sizeof(lib), "%s/lib", dir);
	snprintf(db, sizeof(db), "%s/scale.db", dir);
	mkdir(lib, 0755);
	struct catalog *cat = catalog_open(db);
	if (!cat)
		return 1;
	double scan_s = NAN, rescan_s = NAN;
	long long bytes = 0;
	double t0, meta_s = NAN, put_s = NAN;
	size_t n_ids = 0;
	int64_t *ids = malloc((n + 1) * sizeof(*ids));
	if (!ids)
		return 1;
	/* --reuse: the library a run before left in DIR, if it has N tracks
	 * (the same N gives the same analyses). */
	bool reused = reuse && catalog_playable_ids(cat, ids, n + 1, &n_ids) == 0 &&
		      n_ids == n;
	if (!reused) {
		if (audio) {
			/* No scan: it would see one file per real track (a
			 * file linked under two names is one track,
			 * source_dir.c), and a station must not scan this
			 * folder either. */
			catalog_scan_begin(cat);
			for (size_t i = 0; i < n; i++) {
				if (i % 1000 == 0) {
					snprintf(path, sizeof(path), "%s/d%04zu", lib, i / 1000);
					mkdir(path, 0755);
				}
				track_path(path, sizeof(path), lib, i);
				if (link_track(cat, path, i) < 0) {
					fprintf(stderr, "library-scale: cannot link %s\n", path);
					return 1;
				}
			}
			catalog_scan_end(cat, NULL, 0, NULL);
		} else if (files) {
			for (size_t i = 0; i < n; i++) {
				if (i % 1000 == 0) {
					snprintf(path, sizeof(path), "%s/d%04zu", lib, i / 1000);
					mkdir(path, 0755);
				}
				track_path(path, sizeof(path), lib, i);
				if (write_wav(path, i) < 0) {
					fprintf(stderr, "library-scale: cannot write %s\n", path);
					return 1;
				}
				struct stat st;
				if (stat(path, &st) == 0)
					bytes += (long long)st.st_blocks * 512;
			}
			char *roots[1] = { lib };
			struct source_dir_stats ss;
			t0 = now_s(CLOCK_MONOTONIC);
			if (source_dir_scan(cat, roots, 1, &ss) < 0)
				return 1;
			scan_s = now_s(CLOCK_MONOTONIC) - t0;
			t0 = now_s(CLOCK_MONOTONIC);
			if (source_dir_scan(cat, roots, 1, &ss) < 0)
				return 1;
			rescan_s = now_s(CLOCK_MONOTONIC) - t0;
			if (ss.unchanged != n)
				fprintf(stderr, "library-scale: rescan: %zu unchanged of %zu\n",
					ss.unchanged, n);
		} else {
			catalog_scan_begin(cat);
			for (size_t i = 0; i < n; i++) {
				struct decode_info info = { 0 };
				info.duration_s = 0.1;
				track_path(path, sizeof(path), lib, i);
				if (catalog_track_put(cat, path, 844, 1, &info, NULL) < 0)
					return 1;
			}
			catalog_scan_end(cat, NULL, 0, NULL);
		}
		/* Tags (as a feed gives them: the files have none) and analyses. */
		t0 = now_s(CLOCK_MONOTONIC);
		for (size_t i = 0; i < n; i++) {
			char artist[64], title[64];
			track_path(path, sizeof(path), lib, i);
			snprintf(artist, sizeof(artist), "Artist %zu", i / 10);
			snprintf(title, sizeof(title), "Track %zu", i);
			struct catalog_source_meta meta = {
				.artist = artist, .title = title, .over_tags = true,
			};
			if (catalog_source_meta_put(cat, path, &meta) < 0)
				return 1;
		}
		meta_s = now_s(CLOCK_MONOTONIC) - t0;
		if (catalog_playable_ids(cat, ids, n + 1, &n_ids) < 0)
			return 1;
		t0 = now_s(CLOCK_MONOTONIC);
		for (size_t i = 0; i < n_ids; i++) {
			struct analysis a;
			char hash[32];
			synth(i, mfcc_sd, &a);
			snprintf(hash, sizeof(hash), "%016zx", i + 1);
			if (catalog_analysis_put(cat, ids[i], hash, &a) < 0)
				return 1;
			/* Ids follow the order of the puts above (one per
			 * path). With the visuals too, a station's analyzer
			 * has nothing to do. */
			if (audio && real_has_vis[base_of(i)] &&
			    catalog_visuals_put(cat, hash, &real_vis[base_of(i)]) < 0)
				return 1;
		}
		put_s = now_s(CLOCK_MONOTONIC) - t0;
	}
	long rss_before = rss_now_kb();

	/* The setlist. Tags come from the file name: the artist is the
	 * album (a%06zu), so that the artist rule has work to do. */
	struct setlist_params p;
	setlist_params_default(&p);
	p.time_budget_s = budget;
	p.seed = seed;
	struct setlist *sl = setlist_create(cat, &p);
	if (!sl)
		return 1;
	t0 = now_s(CLOCK_MONOTONIC);
	if (setlist_reload(sl, NULL) < 0)
		return 1;
	double reload_s = now_s(CLOCK_MONOTONIC) - t0;
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	if (setlist_solve(sl) < 0)
		return 1;
	double solve_cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	double cost = st.cost;
	size_t conflicts = st.artist_conflicts;
	long rss_solve = rss_peak_kb();

	int64_t *buf = malloc((n + 16) * sizeof(*buf));
	if (!buf || !cycle_valid(sl, buf, n + 16)) {
		fprintf(stderr, "library-scale: the cycle is not valid after the solve\n");
		return 1;
	}
	/* Removals and insertions: a track turns bad, then comes back. */
	double ins_max = 0, ins_sum = 0, rem_max = 0, rem_sum = 0;
	const int moves = 20;
	for (int r = 0; r < moves; r++) {
		int64_t id = ids[(size_t)(rnd() * (double)n_ids) % n_ids];
		struct catalog_track *t = malloc(sizeof(*t));
		if (!t || catalog_track_get(cat, id, t) < 0)
			return 1;
		catalog_track_bad(cat, id, "library-scale: removed");
		t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		if (setlist_update(sl, &id, 1, NULL) < 0)
			return 1;
		double d = now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
		rem_sum += d;
		rem_max = d > rem_max ? d : rem_max;
		size_t ix = 0;
		while (ix < n_ids && ids[ix] != id)
			ix++;
		/* Back as the scan saw it (size, mtime in ns), so that plan's
		 * scan finds it unchanged and its analysis stays. */
		struct stat fst;
		int64_t mtime = 1;
		struct decode_info info = { 0 };
		info.duration_s = 0.1;
		if (audio)
			link_track(cat, t->path, ix);
		else {
			if (files && stat(t->path, &fst) == 0)
				mtime = (int64_t)fst.st_mtim.tv_sec * 1000000000 +
					fst.st_mtim.tv_nsec;
			catalog_track_put(cat, t->path, 844, mtime, &info, NULL);
		}
		struct analysis a;
		char hash[32];
		synth(ix, mfcc_sd, &a);
		snprintf(hash, sizeof(hash), "%016zx", ix + 1);
		catalog_analysis_put(cat, id, hash, &a);
		t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		if (setlist_update(sl, &id, 1, NULL) < 0)
			return 1;
		d = now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
		ins_sum += d;
		ins_max = d > ins_max ? d : ins_max;
		free(t);
		if (setlist_size(sl) != st.in_order || !cycle_valid(sl, buf, n + 16)) {
			fprintf(stderr, "library-scale: the cycle is not valid "
				"after a change (%zu tracks, %zu before)\n",
				setlist_size(sl), st.in_order);
			return 1;
		}
	}
	long rss_peak = rss_peak_kb();
	setlist_destroy(sl);

	/* The reference: the same library, much more time. */
	double ref = reference_cost;
	if (reference > 0 && isnan(ref)) {
		p.time_budget_s = reference;
		p.seed = seed + 1;
		sl = setlist_create(cat, &p);
		if (!sl || setlist_reload(sl, NULL) < 0 || setlist_solve(sl) < 0)
			return 1;
		setlist_get_stats(sl, &st);
		ref = st.cost;
		setlist_destroy(sl);
	}
	catalog_close(cat);
	printf("n %zu real %zu files_mb %.1f scan_s %.2f rescan_s %.2f "
	       "meta_put_s %.2f analyses_put_s %.2f reload_s %.2f solve_cpu_s %.2f cost %.4f "
	       "reference_s %.0f reference_cost %.4f above_ref_pct %.2f "
	       "insert_ms_mean %.2f insert_ms_max %.2f remove_ms_mean %.2f "
	       "remove_ms_max %.2f sequence_ms_mean %.2f sequence_ms_max %.2f "
	       "artist_conflicts %zu rss_before_mb %.1f "
	       "rss_solve_mb %.1f rss_peak_mb %.1f reused %d seed %llu\n",
	       n, n_real, (double)bytes / 1048576.0, scan_s, rescan_s, meta_s, put_s,
	       reload_s, solve_cpu, cost, reference, ref,
	       100.0 * (cost / ref - 1.0), 1000 * ins_sum / moves,
	       1000 * ins_max, 1000 * rem_sum / moves, 1000 * rem_max,
	       1000 * seq_cpu_sum / (seq_calls ? seq_calls : 1),
	       1000 * seq_cpu_max,
	       conflicts, rss_before / 1024.0, rss_solve / 1024.0,
	       rss_peak / 1024.0, reused, (unsigned long long)seed);
	free(buf);
	free(ids);
	free(real);
	free(real_path);
	free(real_duration);
	free(real_vis);
	free(real_has_vis);
	return 0;
}
