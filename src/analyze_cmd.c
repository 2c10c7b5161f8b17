/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_cmd — the `analyze` command. See analyze_cmd.h.
 *
 * The work is analyzer_run() in this thread; this file adds the scan, the
 * progress display and the JSON listing. The bar is drawn only between
 * events (a track finishing), so a long file freezes it for a while; it
 * redraws in place with "\r" and the terminal's erase-line, and while it is
 * shown, only errors of the modules are logged (the bar prints each bad
 * file on a line of its own, and the rest of what they would say), so
 * nothing tears it.
 */
#include "autoconfig.h"

#include "analyze_cmd.h"

#include "analyzer.h"
#include "catalog.h"
#include "decode.h"
#include "json_out.h"
#include "log.h"
#include "source_dir.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BAR_CELLS 24
#define BAR_WIDTH_DEFAULT 80
#define BAR_WIDTH_MAX 512

static atomic_bool analyze_cmd_cancel;

static void analyze_cmd_on_signal(int sig)
{
	(void)sig;
	atomic_store(&analyze_cmd_cancel, true);
}

static double analyze_cmd_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct progress {
	bool bar;
	int width;
	double started_s;
	size_t analysed, cached, bad;
};

/* "1:02:03" or "2:03". */
static void format_duration(double s, char *out, size_t size)
{
	if (!(s >= 0) || s > 999 * 3600.0) {
		snprintf(out, size, "--:--");
		return;
	}
	long t = lround(s);
	if (t >= 3600)
		snprintf(out, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
			 t % 60);
	else
		snprintf(out, size, "%ld:%02ld", t / 60, t % 60);
}

static void progress_draw(struct progress *pr, const struct analyzer_event *ev)
{
	char line[BAR_WIDTH_MAX + 1], eta[32], title[2 * DECODE_TAG_MAX + 4];
	double elapsed = analyze_cmd_now_s() - pr->started_s;
	double rate = elapsed > 0 ? ev->done * 60.0 / elapsed : 0;
	size_t cells = ev->total ? ev->done * BAR_CELLS / ev->total : 0;
	char bar[BAR_CELLS + 1];
	for (size_t i = 0; i < BAR_CELLS; i++)
		bar[i] = i < cells ? '#' : '.';
	bar[BAR_CELLS] = '\0';
	format_duration(rate > 0 ? (ev->total - ev->done) * 60.0 / rate : -1,
			eta, sizeof(eta));
	decode_display_title(ev->track->artist, ev->track->title,
			     ev->track->path, title, sizeof(title));
	int n = snprintf(line, sizeof(line), "[%s] %zu/%zu  %.1f tracks/min  "
			 "ETA %s  ", bar, ev->done, ev->total, rate, eta);
	if (n < 0)
		return;
	size_t width = (size_t)pr->width - 1;
	if (width >= sizeof(line))
		width = sizeof(line) - 1;
	if ((size_t)n < width) {
		/* The title in what is left, cut at a character boundary. */
		size_t room = width - (size_t)n, len = strlen(title);
		if (len > room) {
			len = room;
			while (len > 0 && ((unsigned char)title[len] & 0xC0) ==
			       0x80)
				len--;
		}
		memcpy(line + n, title, len);
		line[(size_t)n + len] = '\0';
	} else {
		line[width] = '\0';
	}
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
}

static void progress_event(void *ctx, const struct analyzer_event *ev)
{
	struct progress *pr = ctx;
	const struct analysis *a = ev->analysis;
	if (ev->outcome == ANALYZER_ANALYSED)
		pr->analysed++;
	else if (ev->outcome == ANALYZER_CACHED)
		pr->cached++;
	else
		pr->bad++;
	if (pr->bar) {
		if (ev->outcome == ANALYZER_BAD)
			fprintf(stderr, "\r\033[K%s: %s\n", ev->track->path,
				ev->reason);
		progress_draw(pr, ev);
		return;
	}
	if (ev->outcome == ANALYZER_BAD)
		log_warning("analyze: [%zu/%zu] %s: %s", ev->done, ev->total,
			    ev->track->path, ev->reason);
	else
		log_info("analyze: [%zu/%zu] %s: %.2f BPM, %s, %.1f LUFS%s",
			 ev->done, ev->total, ev->track->path, a->bpm,
			 a->camelot[0] ? a->camelot : "no key",
			 a->loudness_lufs,
			 ev->outcome == ANALYZER_CACHED ? " (cache)" : "");
}

/* ------------------------------------------------------------------ */
/* JSON.                                                               */




/* One track as a JSON object; A NULL when it has no analysis. */
static json_t *track_json(const struct catalog_track *t,
			  const struct analysis *a)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "path", json_out_string(t->path));
	json_object_set_new(o, "artist", json_out_string(t->artist));
	json_object_set_new(o, "title", json_out_string(t->title));
	json_object_set_new(o, "duration", a ? json_out_number(a->duration_s) :
			    t->duration_s > 0 ? json_out_number(t->duration_s) :
			    json_null());
	json_object_set_new(o, "bpm", a ? json_out_number(a->bpm) : json_null());
	json_object_set_new(o, "bpm_confidence",
			    a ? json_out_number(a->bpm_confidence) : json_null());
	json_object_set_new(o, "first_beat",
			    a ? json_out_number(a->first_beat_s) : json_null());
	json_object_set_new(o, "beats_per_bar",
			    a ? json_integer(a->beats_per_bar) : json_null());
	json_object_set_new(o, "downbeat", a ? json_out_number(a->downbeat_s)
					    : json_null());
	json_object_set_new(o, "key", a && a->key_name[0] ?
			    json_out_string(a->key_name) : json_null());
	json_object_set_new(o, "camelot", a && a->camelot[0] ?
			    json_out_string(a->camelot) : json_null());
	json_object_set_new(o, "key_confidence",
			    a ? json_out_number(a->key_confidence) : json_null());
	json_object_set_new(o, "loudness_lufs",
			    a ? json_out_number(a->loudness_lufs) : json_null());
	json_object_set_new(o, "true_peak_db",
			    a ? json_out_number(a->true_peak_db) : json_null());
	json_object_set_new(o, "energy", a ? json_out_number(a->energy) : json_null());
	json_object_set_new(o, "bad", t->bad_reason[0] ? json_out_string(t->bad_reason)
						       : json_null());
	json_object_set_new(o, "grid_confidence",
			    a ? json_out_number(a->grid_confidence) : json_null());
	json_object_set_new(o, "tempo_drift",
			    a ? json_boolean(a->tempo_drift) : json_null());
	/* The grid where it is used: [offset ms, share of beats hit, kick
	 * ratio (half-beat over beat), pattern shift ms, pattern match] per
	 * window of grid_window_beats beats from first_beat. */
	json_object_set_new(o, "grid_window_beats",
			    a ? json_integer(a->grid_window_beats) : json_null());
	json_t *windows = json_null();
	if (a && (windows = json_array())) {
		int n = a->n_grid_windows < 0 ? 0 : a->n_grid_windows;
		if (n > ANALYSIS_GRID_WINDOWS_MAX)
			n = ANALYSIS_GRID_WINDOWS_MAX;
		for (int i = 0; i < n; i++) {
			json_t *w = json_array();
			if (!w)
				break;
			json_array_append_new(w, json_out_number(a->grid_window_offset_ms[i]));
			json_array_append_new(w, json_out_number(a->grid_window_hits[i]));
			json_array_append_new(w, json_out_number(a->grid_window_kick_ratio[i]));
			json_array_append_new(w, json_out_number(a->grid_window_shift_ms[i]));
			json_array_append_new(w, json_out_number(a->grid_window_match[i]));
			json_array_append_new(windows, w);
		}
	}
	json_object_set_new(o, "grid_windows", windows ? windows : json_null());
	json_object_set_new(o, "downbeat_confidence",
			    a ? json_out_number(a->downbeat_confidence) : json_null());
	json_object_set_new(o, "phrase_bars",
			    a ? json_integer(a->phrase_bars) : json_null());
	json_t *phrases = json_null();
	if (a && (phrases = json_array())) {
		int n = a->n_phrases < 0 ? 0 : a->n_phrases;
		if (n > ANALYSIS_PHRASES_MAX)
			n = ANALYSIS_PHRASES_MAX;
		for (int i = 0; i < n; i++)
			json_array_append_new(phrases, json_out_number(a->phrases_s[i]));
	}
	json_object_set_new(o, "phrases", phrases ? phrases : json_null());
	json_object_set_new(o, "audio_start",
			    a ? json_out_number(a->audio_start_s) : json_null());
	json_object_set_new(o, "audio_end", a ? json_out_number(a->audio_end_s)
					     : json_null());
	json_object_set_new(o, "intro_end", a ? json_out_number(a->intro_end_s)
					     : json_null());
	json_object_set_new(o, "outro_start",
			    a ? json_out_number(a->outro_start_s) : json_null());
	json_object_set_new(o, "content_hash", t->content_hash[0] ?
			    json_out_string(t->content_hash) : json_null());
	return o;
}

static bool under_roots(const char *path, char roots[][PATH_MAX],
			size_t n_roots)
{
	for (size_t i = 0; i < n_roots; i++)
		if (source_dir_path_under(path, roots[i]))
			return true;
	return false;
}

/* Every track under the library paths, one JSON object a line. */
static int write_json(struct catalog *cat, const struct config *cfg,
		      FILE *out)
{
	char (*roots)[PATH_MAX] = NULL;
	int64_t *ids = NULL;
	/* A page of tracks at a time (catalog_tracks_read). */
	struct page {
		struct catalog_track t[CATALOG_READ_PAGE];
		struct analysis a[CATALOG_READ_PAGE];
		enum catalog_read_state state[CATALOG_READ_PAGE];
	} *pg = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	roots = calloc(cfg->n_library_paths ? cfg->n_library_paths : 1,
		       sizeof(*roots));
	pg = malloc(sizeof(*pg));
	if (!roots || !pg) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->n_library_paths; i++) {
		rc = source_dir_normalise(cfg->library_paths[i], roots[i],
					  PATH_MAX);
		if (rc < 0)
			goto out;
	}
	for (;;) {
		rc = catalog_library_ids(cat, ids, cap, &n);
		if (rc < 0 || n <= cap)
			break;
		cap = n + 64;
		int64_t *p = realloc(ids, cap * sizeof(*ids));
		if (!p) {
			rc = -ENOMEM;
			break;
		}
		ids = p;
	}
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t k = i % CATALOG_READ_PAGE;
		if (k == 0 && (rc = catalog_tracks_read(
				       cat, ids + i, n - i < CATALOG_READ_PAGE ?
				       n - i : CATALOG_READ_PAGE, pg->t, pg->a,
				       pg->state)) < 0)
			goto out;
		const struct catalog_track *t = &pg->t[k];
		if (pg->state[k] == CATALOG_READ_NONE)
			continue;
		if (!under_roots(t->path, roots, cfg->n_library_paths))
			continue;
		bool have = !t->bad_reason[0] &&
			    pg->state[k] == CATALOG_READ_ANALYSED;
		json_t *o = track_json(t, have ? &pg->a[k] : NULL);
		if (!o) {
			rc = -ENOMEM;
			goto out;
		}
		int jr = json_dumpf(o, out, JSON_COMPACT |
				    JSON_REAL_PRECISION(10));
		json_decref(o);
		if (jr < 0 || fputc('\n', out) == EOF) {
			rc = -EIO;
			goto out;
		}
	}
	if (fflush(out) != 0)
		rc = -errno;
out:
	if (rc < 0)
		log_error("analyze: cannot write the JSON listing: %s",
			  strerror(-rc));
	free(pg);
	free(ids);
	free(roots);
	return rc;
}

/* ------------------------------------------------------------------ */

int analyze_cmd_run(const struct config *cfg, bool json, FILE *out)
{
	struct catalog *cat = NULL;
	struct sigaction sa, old_int, old_term;
	struct progress pr;
	struct analyzer_stats stats;
	struct source_dir_stats scan;
	enum log_level level = log_get_level();
	bool handlers = false;
	int rc = 0;

	memset(&pr, 0, sizeof(pr));
	memset(&stats, 0, sizeof(stats));
	cat = catalog_open(cfg->database);
	if (!cat) {
		rc = errno ? -errno : -EIO;
		log_error("analyze: cannot open the catalog %s: %s",
			  cfg->database, strerror(-rc));
		goto out;
	}
	double t0 = analyze_cmd_now_s();
	rc = source_dir_scan(cat, cfg->library_paths, cfg->n_library_paths,
			     &scan);
	if (rc < 0) {
		log_error("analyze: scan failed: %s", strerror(-rc));
		goto out;
	}
	size_t to_analyse = 0, playable = 0;
	int64_t none;
	if ((rc = catalog_unanalysed_ids(cat, &none, 0, &to_analyse)) < 0 ||
	    (rc = catalog_playable_ids(cat, &none, 0, &playable)) < 0)
		goto out;
	log_info("analyze: %zu playable tracks in the catalog, %zu to analyse "
		 "(scan: %zu files, %zu new or changed, %zu bad)", playable,
		 to_analyse, scan.files_seen, scan.added, scan.bad);

	atomic_store(&analyze_cmd_cancel, false);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = analyze_cmd_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	handlers = true;

	struct winsize ws;
	pr.bar = to_analyse > 0 && isatty(STDERR_FILENO) &&
		 level >= LOG_LEVEL_INFO && level < LOG_LEVEL_DEBUG;
	pr.width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20
		   ? ws.ws_col : BAR_WIDTH_DEFAULT;
	pr.started_s = analyze_cmd_now_s();
	if (pr.bar)
		log_set_level(LOG_LEVEL_ERROR);
	struct analyzer_params ap = {
		.workers = (unsigned)cfg->analysis_workers,
		.timeout_s = cfg->analysis_timeout_s,
		.event = progress_event,
		.event_ctx = &pr,
	};
	rc = analyzer_run(cat, &ap, &analyze_cmd_cancel, &stats);
	if (pr.bar) {
		fprintf(stderr, "\r\033[K");
		log_set_level(level);
	}
	double took = analyze_cmd_now_s() - t0;
	double run_s = analyze_cmd_now_s() - pr.started_s;
	size_t done = pr.analysed + pr.cached + pr.bad;
	log_info("analyze: %zu tracks: %zu analysed, %zu from the cache, %zu "
		 "bad, %zu already done; %.1f s (%.1f tracks/min)%s",
		 playable, pr.analysed, pr.cached, pr.bad, playable - to_analyse,
		 took, run_s > 0 ? done * 60.0 / run_s : 0.0,
		 rc == -ECANCELED ? "; interrupted" : "");
	if (rc == -ECANCELED)
		rc = -EINTR;
	if (json) {
		int jr = write_json(cat, cfg, out);
		if (rc == 0)
			rc = jr;
	}
out:
	if (handlers) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	catalog_close(cat);
	return rc;
}
