/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * station — the `run` command. See station.h for the signals and the
 * shutdown rules.
 *
 * DESIGN
 * Threads: the mixer (one), the outputs (one per mount), the analyzer (one,
 * with its niced child processes: analyzer.h), the brain (one: the play
 * order, setlist.h), and this one, the
 * main thread, which owns everything else: it waits for signals with
 * sigtimedwait() (1 s at a time, for the periodic status line), and does
 * reload and shutdown itself. Signals are blocked in every thread, so no
 * handler ever runs; this is the "handler only sets a flag" rule taken one
 * step further: there is no handler at all, and no flag to poll.
 *
 * Reload keeps two configurations: the one the outputs and the catalog were
 * built from ("boot": [icecast], [output.*] and database are compared
 * against it, so a pending restart keeps being reported on every reload),
 * and the current one (library paths, crossfade).
 *
 * Shutdown runs the joins (mixer, then every output) in a short-lived
 * reaper thread, while the main thread keeps the deadline: output_join()
 * has no timeout of its own, and a hung Icecast must not keep a stopping
 * service alive. When nothing is connected there is nobody to fade for,
 * and the ring is closed at once.
 */
#include "autoconfig.h"

#include "station.h"

#include "analyzer.h"
#include "catalog.h"
#include "decode.h"
#include "fetch.h"
#include "http.h"
#include "listeners.h"
#include "log.h"
#include "visuals.h"
#include "mixer.h"
#include "nowplaying.h"
#include "output.h"
#include "ring.h"
#include "setlist.h"
#include "source_dir.h"
#include "source_http.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATION_RING_FRAMES (3 * DECODE_RATE)   /* 3 s */
#define STATION_MARKERS_MAX 64
#define STATION_STALL_MS 2000
#define STATION_FADEOUT_S 2.0
#define STATION_MAX_TRACKS 100000
#define STATION_NP_REFRESH_S 5.0
#define STATION_SHUTDOWN_S 10
#define STATION_STATUS_PERIOD_S 60
#define STATION_WAIT_MS 1000
/* How long the start waits for the brain's first order beyond its time
 * budget (reading a large catalog, filling the distance matrix). */
#define STATION_BRAIN_WAIT_S 5.0

struct station {
	const char *file;
	struct config *boot;    /* what the catalog and outputs were made of */
	struct config *cfg;     /* the current one; NULL: still boot */
	char *const *paths;     /* command-line library paths, or NULL */
	size_t n_paths;

	struct catalog *cat;
	struct ring *ring;
	struct mixer *mixer;
	struct analyzer_service *analyzer;
	struct setlist_service *brain;
	struct source_http *feeds;      /* NULL without [feed.NAME] */
	atomic_bool feeds_changed;
	struct output *outputs[CONFIG_OUTPUTS_MAX];
	size_t n_outputs;
	size_t n_started;

	pthread_t reaper;
	atomic_bool drained;
	int mixer_rc;

	/* The status server ([http]); all NULL when off. */
	struct nowplaying *np;
	struct http_server *http;
	struct listeners *listeners;
	struct mixer_params mp;        /* for the next tracks' plans */
	atomic_bool plan_changed;      /* the brain handed a new order */
	int64_t next_ids[MIXER_UPCOMING_MAX];
	size_t n_next_ids;
	double next_counts;            /* monotonic time of the next count */
	/* The next tracks are read again this often though unchanged: a
	 * track analysed since gets its visuals (colour, waveform). */
	double next_np_refresh;
	struct np_metrics metrics;
};

static double monotonic_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void warn_missing_paths(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_library_paths; i++) {
		struct stat st;
		const char *p = cfg->library_paths[i];
		if (stat(p, &st) != 0)
			log_warning("library: %s: %s (running anyway)", p,
				    strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			log_warning("library: %s: not a directory (running "
				    "anyway)", p);
	}
}

/* Scans the library paths of cfg and logs what was found. */
static int station_scan(struct catalog *cat, const struct config *cfg)
{
	struct source_dir_stats stats = { 0 };
	double t0 = monotonic_s();
	size_t playable = 0;
	int64_t one;
	int rc;

	warn_missing_paths(cfg);
	rc = source_dir_scan(cat, cfg->library_paths, cfg->n_library_paths,
			     &stats);
	if (rc < 0) {
		log_error("library: scan failed: %s", strerror(-rc));
		return rc;
	}
	rc = catalog_playable_ids(cat, &one, 1, &playable);
	if (rc < 0)
		return rc;
	/* source_dir logged the counts of the scan itself. */
	log_info("library: scanned %zu path%s in %.1f s: %zu playable track%s",
		 cfg->n_library_paths, cfg->n_library_paths == 1 ? "" : "s",
		 monotonic_s() - t0, playable, playable == 1 ? "" : "s");
	if (playable == 0)
		log_warning("library: no playable tracks: streaming silence "
			    "until music appears (add files, then send "
			    "SIGHUP)");
	return 0;
}

static bool icecast_differs(const struct config *a, const struct config *b)
{
	return strcmp(a->icecast_host, b->icecast_host) != 0 ||
	       a->icecast_port != b->icecast_port ||
	       strcmp(a->icecast_user, b->icecast_user) != 0 ||
	       strcmp(a->icecast_password, b->icecast_password) != 0 ||
	       a->icecast_tls != b->icecast_tls ||
	       a->icecast_timeout_s != b->icecast_timeout_s ||
	       strcmp(a->station_name, b->station_name) != 0 ||
	       strcmp(a->station_description, b->station_description) != 0 ||
	       strcmp(a->station_genre, b->station_genre) != 0 ||
	       strcmp(a->station_url, b->station_url) != 0 ||
	       a->station_public != b->station_public;
}

static bool outputs_differ(const struct config *a, const struct config *b)
{
	if (a->n_outputs != b->n_outputs)
		return true;
	for (size_t i = 0; i < a->n_outputs; i++) {
		const struct config_output *x = &a->outputs[i];
		const struct config_output *y = &b->outputs[i];
		if (strcmp(x->name, y->name) != 0 ||
		    strcmp(x->mount, y->mount) != 0 || x->format != y->format ||
		    x->bitrate_kbps != y->bitrate_kbps ||
		    x->quality != y->quality || x->chained != y->chained ||
		    strcmp(x->host, y->host) != 0 || x->port != y->port ||
		    strcmp(x->user, y->user) != 0 ||
		    strcmp(x->password, y->password) != 0 || x->tls != y->tls)
			return true;
	}
	return false;
}

/* The mixer takes these at creation only (and the brain keeps the
 * mixer's max_stretch). */
static bool beatmatching_differs(const struct config *a,
				 const struct config *b)
{
	return a->beatmatch != b->beatmatch ||
	       a->transition_bars != b->transition_bars ||
	       a->max_stretch != b->max_stretch ||
	       a->loudness_target_lufs != b->loudness_target_lufs ||
	       a->stretch_engine != b->stretch_engine;
}

/* SIGHUP. Never stops the stream: any failure keeps what runs. */
static void station_reload(struct station *st)
{
	char err[CONFIG_ERROR_MAX];
	struct config *cfg;

	log_info("reload: reading %s", st->file);
	cfg = config_load(st->file, err, sizeof(err));
	if (!cfg) {
		log_error("reload: %s (keeping the running configuration)",
			  err);
		return;
	}
	if (st->n_paths > 0 &&
	    config_set_library_paths(cfg, st->paths, st->n_paths) != 0) {
		log_error("reload: out of memory (keeping the running "
			  "configuration)");
		config_destroy(cfg);
		return;
	}
	if (cfg->n_library_paths == 0) {
		log_error("reload: %s: [library] path: missing (keeping the "
			  "running configuration)", st->file);
		config_destroy(cfg);
		return;
	}
	if (st->feeds && source_http_add_root(cfg) < 0) {
		log_error("reload: out of memory (keeping the running "
			  "configuration)");
		config_destroy(cfg);
		return;
	}
	if (icecast_differs(st->boot, cfg))
		log_warning("reload: the [icecast] changes need a restart to "
			    "take effect");
	if (outputs_differ(st->boot, cfg))
		log_warning("reload: the [output.*] changes need a restart to "
			    "take effect");
	if (strcmp(st->boot->database, cfg->database) != 0)
		log_warning("reload: the [library] database change needs a "
			    "restart to take effect");
	if (strcmp(st->boot->http_listen, cfg->http_listen) != 0 ||
	    st->boot->http_max_clients != cfg->http_max_clients)
		log_warning("reload: the [http] changes need a restart to "
			    "take effect");
	if (beatmatching_differs(st->boot, cfg))
		log_warning("reload: the [mix] beatmatching changes need a "
			    "restart to take effect");
	if (cfg->crossfade_s != (st->cfg ? st->cfg : st->boot)->crossfade_s)
		log_info("reload: crossfade %g s from the next transition",
			 cfg->crossfade_s);

	/* The mixer keeps playing from the catalog while this runs. */
	if (station_scan(st->cat, cfg) < 0)
		log_error("reload: rescan failed; the library may be "
			  "incomplete until the next SIGHUP");
	if (cfg->analysis_workers != st->boot->analysis_workers ||
	    cfg->analysis_timeout_s != st->boot->analysis_timeout_s)
		log_warning("reload: the [analysis] changes need a restart to "
			    "take effect");
	mixer_library_rescanned(st->mixer);
	analyzer_wake(st->analyzer);
	struct setlist_params sp;
	setlist_params_from_config(&sp, cfg);
	/* The mixer keeps its max_stretch until a restart: so does the
	 * brain, or it would order for a limit the mixer does not use. */
	sp.weights.max_stretch = st->boot->max_stretch;
	setlist_service_set_params(st->brain, &sp);
	setlist_service_library_changed(st->brain);
	mixer_set_crossfade(st->mixer, cfg->crossfade_s);
	config_destroy(st->cfg);
	st->cfg = cfg;
}

/* The feeds' thread added or removed cached tracks. */
static void station_feeds_changed(void *ctx)
{
	struct station *st = ctx;
	atomic_store(&st->feeds_changed, true);
}

/* The feeds' thread: the tracks not downloaded yet go to the brain, which
 * places them in the play order and says which come soonest (setlist.h,
 * candidates). */
static void station_feeds_pending(void *ctx,
				  const struct source_http_pending *p,
				  size_t n)
{
	struct station *st = ctx;
	struct setlist_candidate *c = calloc(n ? n : 1, sizeof(*c));

	if (!c)
		return;
	for (size_t i = 0; i < n; i++)
		setlist_candidate_init(&c[i], p[i].key, p[i].artist,
				       p[i].genre, p[i].bpm);
	int rc = setlist_service_set_candidates(st->brain, c, n);
	if (rc < 0)
		log_debug("feeds: the play order did not take %zu tracks to "
			  "download: %s", n, strerror(-rc));
	free(c);
}

static int station_feeds_order(void *ctx, uint64_t *keys, size_t max,
			       size_t *n)
{
	struct station *st = ctx;
	return setlist_service_candidate_order(st->brain, keys, max, n);
}

/* Rescans the feeds' cache only, on the main thread. */
static void station_rescan_feeds(struct station *st)
{
	char *root = (char *)source_http_root(st->feeds);
	struct source_dir_stats stats = { 0 };
	int rc = source_dir_scan(st->cat, &root, 1, &stats);

	if (rc < 0) {
		log_error("feeds: rescan of the cache failed: %s",
			  strerror(-rc));
		return;
	}
	mixer_library_rescanned(st->mixer);
	analyzer_wake(st->analyzer);
	setlist_service_library_changed(st->brain);
}

/* The analyzer's callbacks, on its thread. The next tracks are analysed
 * first; a track it marked bad must leave the mixer's play order. */
static int station_upcoming(void *ctx, int64_t *ids, size_t max, size_t *n)
{
	return mixer_upcoming(ctx, ids, max, n);
}

static void station_analysis_event(void *ctx, const struct analyzer_event *ev)
{
	struct station *st = ctx;
	if (ev->outcome == ANALYZER_BAD)
		mixer_library_changed(st->mixer);
	/* Analysed or bad: the brain places it again, or drops it. */
	setlist_service_track_changed(st->brain, ev->track->id);
}

/* The brain's thread hands the mixer each new play order. */
static void station_publish_order(void *ctx, const int64_t *ids, size_t n,
				  int64_t start_after_id)
{
	struct station *st = ctx;
	int rc = mixer_set_order(st->mixer, ids, n, start_after_id);
	if (rc < 0)
		log_error("brain: the mixer refused the play order: %s",
			  strerror(-rc));
	atomic_store(&st->plan_changed, true);
}

/* ------------------------------------------------------------------ */
/* The status server's feeds (nowplaying.h).                           */

/* The mixer's thread: track markers and transitions as it renders them. */
static void station_mixer_event(void *ctx, const struct mixer_event *ev)
{
	struct station *st = ctx;

	if (ev->type == MIXER_EVENT_TRACK) {
		struct np_track t;
		nowplaying_track_from(&t, ev->track, ev->analysis,
				      ev->display);
		nowplaying_mixer_track(st->np, ev->frame,
				       ev->track ? &t : NULL);
		return;
	}
	struct np_transition tr;
	nowplaying_transition_from(&tr, ev);
	nowplaying_mixer_transition(st->np, &tr);
}

/* An output's thread: a title went out, the listener hears it now. */
static void station_title_heard(void *ctx, const struct ring_marker *mk)
{
	struct timespec wall, mono;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	nowplaying_heard(ctx, mk->frame, mk->track_id,
			 (double)wall.tv_sec + (double)wall.tv_nsec / 1e9,
			 (double)mono.tv_sec + (double)mono.tv_nsec / 1e9);
}

static struct nowplaying *station_np_create(const struct config *cfg)
{
	struct np_station ns;
	memset(&ns, 0, sizeof(ns));
	snprintf(ns.name, sizeof(ns.name), "%s", cfg->station_name);
	snprintf(ns.description, sizeof(ns.description), "%s",
		 cfg->station_description);
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		const struct config_output *o = &cfg->outputs[i];
		struct np_output *no = &ns.outputs[ns.n_outputs++];
		snprintf(no->name, sizeof(no->name), "%s", o->name);
		snprintf(no->mount, sizeof(no->mount), "%s", o->mount);
		snprintf(no->format, sizeof(no->format), "%s",
			 config_format_name(o->format));
		bool v6 = strchr(o->host, ':') != NULL;
		snprintf(no->listen_url, sizeof(no->listen_url),
			 "%s://%s%s%s:%d%s", o->tls ? "https" : "http",
			 v6 ? "[" : "", o->host, v6 ? "]" : "", o->port,
			 o->mount);
	}
	return nowplaying_create(&ns);
}

/* One track of the next ones, with its analysis if there is one. */
static bool station_np_track(struct station *st, int64_t id,
			     struct np_track *t, struct analysis *an)
{
	struct catalog_track *ct = malloc(sizeof(*ct));
	struct visuals *vis = malloc(sizeof(*vis));
	char text[2 * DECODE_TAG_MAX + 4];
	bool analysed = false;

	memset(t, 0, sizeof(*t));
	t->id = id;
	if (!ct) {
		free(vis);
		return false;
	}
	if (catalog_track_get(st->cat, id, ct) == 0) {
		analysed = catalog_analysis_get(st->cat, id, an) == 0;
		decode_display_title(ct->artist, ct->title, ct->path, text,
				     sizeof(text));
		nowplaying_track_from(t, ct, analysed ? an : NULL, text);
		if (vis && catalog_visuals_get(st->cat, id, vis) == 0)
			nowplaying_track_visuals(t, vis);
	}
	free(vis);
	free(ct);
	return analysed;
}

/* The next tracks, when the play order or the track heard moved. */
static void station_np_next(struct station *st)
{
	int64_t ids[MIXER_UPCOMING_MAX];
	size_t n = 0;
	bool plan = atomic_exchange(&st->plan_changed, false);

	mixer_upcoming(st->mixer, ids, MIXER_UPCOMING_MAX, &n);
	double now = monotonic_s();
	if (!plan && n == st->n_next_ids && now < st->next_np_refresh &&
	    memcmp(ids, st->next_ids, n * sizeof(ids[0])) == 0)
		return;
	st->next_np_refresh = now + STATION_NP_REFRESH_S;
	memcpy(st->next_ids, ids, n * sizeof(ids[0]));
	st->n_next_ids = n;

	struct np_next *next = calloc(NP_NEXT_MAX, sizeof(*next));
	struct analysis *an = malloc(2 * sizeof(*an));
	struct transition_params tp;
	size_t k = 0;
	if (!next || !an || !mixer_transition_params(&st->mp, &tp))
		goto out;
	/* The first planned transition is from the track heard now. */
	bool prev_analysed = false;
	int64_t playing = nowplaying_current_id(st->np);
	if (playing > 0) {
		struct np_track t;
		prev_analysed = station_np_track(st, playing, &t, &an[0]);
		nowplaying_update_visuals(st->np, &t);
	}
	for (size_t i = 0; i < n && k < NP_NEXT_MAX; i++) {
		if (ids[i] == playing)
			continue;
		struct np_next *x = &next[k++];
		bool analysed = station_np_track(st, ids[i], &x->track,
						 &an[1]);
		if (analysed && prev_analysed && !st->mp.plain_crossfades) {
			struct transition_plan plan_ab;
			if (transition_plan(&an[0], &an[1], &tp, &plan_ab) == 0) {
				x->planned = true;
				snprintf(x->kind, sizeof(x->kind), "%s",
					 transition_kind_name(plan_ab.kind));
				x->bars = plan_ab.bars;
				x->bpm_from = plan_ab.bpm_from;
				x->bpm_to = plan_ab.bpm_to;
			}
		}
		an[0] = an[1];
		prev_analysed = analysed;
	}
	nowplaying_set_next(st->np, next, k, plan);
out:
	free(an);
	free(next);
}

/* Once a second on the main thread: the counters of /metrics. */
static void station_np_metrics(struct station *st)
{
	struct np_metrics *m = &st->metrics;
	double now = monotonic_s();

	if (now >= st->next_counts) {
		int64_t one;
		size_t playable = 0, unanalysed = 0, bad = 0;
		if (catalog_playable_ids(st->cat, &one, 1, &playable) == 0 &&
		    catalog_unanalysed_ids(st->cat, &one, 1, &unanalysed) == 0 &&
		    catalog_bad_count(st->cat, &bad) == 0) {
			m->tracks_playable = playable;
			m->tracks_analysed = playable >= unanalysed ?
					     playable - unanalysed : 0;
			m->tracks_bad = bad;
			m->analysis_queue = unanalysed;
		}
		st->next_counts = now + 10;
	}
	uint64_t written = ring_write_position(st->ring);
	uint64_t behind = 0;
	for (size_t i = 0; i < st->n_outputs; i++) {
		struct output_stats os;
		output_get_stats(st->outputs[i], &os);
		m->outputs[i].connected = os.connected;
		m->outputs[i].reconnects = os.failures;
		m->outputs[i].sent_bytes = os.bytes_sent;
		if (os.connected) {
			uint64_t pos = ring_reader_position(st->ring,
							    (unsigned)i);
			if (written > pos && written - pos > behind)
				behind = written - pos;
		}
	}
	m->buffer_s = (double)behind / DECODE_RATE;
	nowplaying_set_metrics(st->np, m);
}

static void station_np_update(struct station *st)
{
	if (!st->np)
		return;
	station_np_next(st);
	station_np_metrics(st);
}

/* Before any thread: the status server, bound now so that an address in
 * use stops the start with one line. */
static int station_http_create(struct station *st, const struct config *cfg)
{
	char err[CONFIG_ERROR_MAX];

	if (!cfg->http_listen[0])
		return 0;
	st->np = station_np_create(cfg);
	if (!st->np) {
		log_error("http: %s", strerror(errno));
		return -ENOMEM;
	}
	struct http_params hp = {
		.listen = cfg->http_listen,
		.max_clients = (unsigned)cfg->http_max_clients,
		.www = cfg->http_www,
		.cat = st->cat,
	};
	st->http = http_create(&hp, st->np, err, sizeof(err));
	if (!st->http) {
		int rc = errno ? -errno : -EIO;
		log_error("%s", err);
		return rc;
	}
	if (fetch_init() < 0)
		log_warning("listeners: libcurl did not initialise; listener "
			    "count unknown");
	st->listeners = listeners_create(cfg, st->np);
	if (!st->listeners) {
		log_error("listeners: %s", strerror(errno));
		return -ENOMEM;
	}
	return 0;
}

static int station_http_start(struct station *st)
{
	int rc;
	if (!st->http)
		return 0;
	if ((rc = http_start(st->http)) < 0)
		return rc;
	if ((rc = listeners_start(st->listeners)) < 0)
		log_error("listeners: cannot start: %s", strerror(-rc));
	return rc;
}
static void station_status(struct station *st, enum log_level level)
{
	char line[LOG_LINE_MAX];
	struct mixer_stats ms;
	struct catalog_track *track = NULL;
	char title[2 * DECODE_TAG_MAX + 4] = "silence";
	size_t used;
	int n;

	if (level > log_get_level())
		return;
	mixer_get_stats(st->mixer, &ms);
	/* catalog_track holds PATH_MAX and the tags: too big for the
	 * stack of a status line. */
	if (ms.current_track_id > 0 && (track = malloc(sizeof(*track))) &&
	    catalog_track_get(st->cat, ms.current_track_id, track) == 0)
		decode_display_title(track->artist, track->title, track->path,
				     title, sizeof(title));
	free(track);

	struct analyzer_stats as;
	analyzer_get_stats(st->analyzer, &as);
	struct setlist_stats bs;
	setlist_service_get_stats(st->brain, &bs);
	n = snprintf(line, sizeof(line), "status: playing \"%s\"; %" PRIu64
		     " tracks started, %" PRIu64 " failed; play order: %zu "
		     "tracks; analysis: %zu to do, %" PRIu64 " done, %" PRIu64
		     " bad;", title, ms.tracks_started, ms.tracks_failed,
		     bs.in_order, as.pending,
		     as.analysed + as.cached, as.bad);
	used = n > 0 && (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	for (size_t i = 0; i < st->n_outputs && used < sizeof(line) - 1; i++) {
		struct output_stats os;
		output_get_stats(st->outputs[i], &os);
		n = snprintf(line + used, sizeof(line) - used,
			     " %s %s %s, %.1f MB sent, %" PRIu64 " connects, %"
			     PRIu64 " failures%s", st->boot->outputs[i].name,
			     st->boot->outputs[i].mount,
			     os.connected ? "connected" : "disconnected",
			     (double)os.bytes_sent / 1e6, os.connects,
			     os.failures, i + 1 < st->n_outputs ? ";" : "");
		if (n < 0)
			break;
		used += (size_t)n < sizeof(line) - used ? (size_t)n :
			sizeof(line) - used - 1;
	}
	log_msg(level, "%s", line);
}

static void *reaper_main(void *arg)
{
	struct station *st = arg;

	st->mixer_rc = mixer_join(st->mixer);
	for (size_t i = 0; i < st->n_started; i++)
		output_join(st->outputs[i]);
	atomic_store(&st->drained, true);
	return NULL;
}

static bool any_connected(struct station *st)
{
	for (size_t i = 0; i < st->n_started; i++) {
		struct output_stats os;
		output_get_stats(st->outputs[i], &os);
		if (os.connected)
			return true;
	}
	return false;
}

/* SIGTERM/SIGINT. Returns only when everything was joined in time. */
static void station_stop(struct station *st, const sigset_t *set, int sig)
{
	double deadline = monotonic_s() + STATION_SHUTDOWN_S;
	int rc;

	/* First, so that no analysis child outlives the process: running
	 * children are killed (their tracks stay unanalysed). */
	analyzer_stop(st->analyzer);
	setlist_service_stop(st->brain);

	if (any_connected(st)) {
		log_info("stopping on %s: fading out over %g s", strsignal(sig),
			 STATION_FADEOUT_S);
		mixer_fade_out(st->mixer);
	} else {
		log_info("stopping on %s: no output connected, stopping now",
			 strsignal(sig));
		ring_close(st->ring);
	}
	rc = pthread_create(&st->reaper, NULL, reaper_main, st);
	if (rc != 0) {
		log_error("stopping: cannot start the reaper thread: %s; "
			  "exiting now", strerror(rc));
		_exit(0);
	}
	while (!atomic_load(&st->drained)) {
		double left = deadline - monotonic_s();
		if (left <= 0) {
			log_warning("stopping: the outputs did not finish within "
				    "%d s; exiting now", STATION_SHUTDOWN_S);
			_exit(0);
		}
		if (left > 0.1)
			left = 0.1;
		struct timespec ts = {
			.tv_sec = 0,
			.tv_nsec = (long)(left * 1e9),
		};
		int s = sigtimedwait(set, NULL, &ts);
		if (s == SIGTERM || s == SIGINT) {
			log_warning("stopping: %s again; exiting now",
				    strsignal(s));
			_exit(0);
		}
		if (s == SIGUSR1)
			station_status(st, LOG_LEVEL_INFO);
		/* SIGHUP while stopping: nothing left to reload. */
	}
	pthread_join(st->reaper, NULL);
	if (st->mixer_rc < 0)
		log_warning("stopping: the mixer ended with: %s",
			    strerror(-st->mixer_rc));
	log_info("stopped");
}

int station_run(const char *config_file, struct config *cfg,
		char *const *paths, size_t n_paths)
{
	struct station st = { 0 };
	sigset_t set;
	struct sigaction ign;
	int rc = 0;

	st.file = config_file;
	st.boot = cfg;
	st.paths = paths;
	st.n_paths = n_paths;
	atomic_init(&st.drained, false);
	atomic_init(&st.plan_changed, false);
	atomic_init(&st.feeds_changed, false);

	log_info("%s %s: %zu output%s, %zu library path%s, catalog %s",
		 PACKAGE_NAME, PACKAGE_VERSION, cfg->n_outputs,
		 cfg->n_outputs == 1 ? "" : "s", cfg->n_library_paths,
		 cfg->n_library_paths == 1 ? "" : "s", cfg->database);

	/* A catalog that cannot be written (a read-only file, directory or
	 * file system) is no reason to be silent: the station runs on a copy
	 * in memory, and the catalog says so once. */
	st.cat = catalog_open_or_copy(cfg->database, NULL);
	if (!st.cat) {
		rc = errno ? -errno : -EIO;
		log_error("cannot open the catalog %s: %s", cfg->database,
			  strerror(-rc));
		goto out;
	}
	if ((rc = station_http_create(&st, cfg)) < 0)
		goto out;
	if (cfg->n_feeds > 0) {
		st.feeds = source_http_create(cfg, st.cat);
		if (!st.feeds) {
			rc = errno ? -errno : -EIO;
			goto out;
		}
		if ((rc = source_http_add_root(cfg)) < 0) {
			log_error("feeds: %s", strerror(-rc));
			goto out;
		}
		log_info("feeds: %zu feed%s, cache %s", cfg->n_feeds,
			 cfg->n_feeds == 1 ? "" : "s",
			 source_http_root(st.feeds));
	}
	if ((rc = station_scan(st.cat, cfg)) < 0)
		goto out;

	/* Before any thread exists, so that every thread inherits it. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
		rc = -rc;
		log_error("pthread_sigmask: %s", strerror(-rc));
		goto out;
	}

	st.ring = ring_create(STATION_RING_FRAMES, cfg->n_outputs,
			      STATION_MARKERS_MAX, STATION_STALL_MS);
	if (!st.ring) {
		rc = -errno;
		log_error("ring: %s", strerror(errno));
		goto out;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct mixer_params mp;
	mixer_params_from_config(&mp, cfg);
	mp.fadeout_s = STATION_FADEOUT_S;
	mp.seed = ((uint64_t)now.tv_sec << 20) ^ (uint64_t)now.tv_nsec ^
		  (uint64_t)getpid();
	mp.stop_after_frames = 0;
	mp.max_tracks = STATION_MAX_TRACKS;
	if (st.np) {
		mp.event = station_mixer_event;
		mp.event_ctx = &st;
	}
	st.mp = mp;
	st.mixer = mixer_create(st.cat, st.ring, &mp);
	if (!st.mixer) {
		rc = -errno;
		log_error("mixer: %s", strerror(errno));
		goto out;
	}
	struct analyzer_params ap = {
		.workers = (unsigned)cfg->analysis_workers,
		.timeout_s = cfg->analysis_timeout_s,
		.upcoming = station_upcoming,
		.upcoming_ctx = st.mixer,
		.event = station_analysis_event,
		.event_ctx = &st,
	};
	st.analyzer = analyzer_create(st.cat, &ap);
	if (!st.analyzer) {
		rc = -errno;
		log_error("analyzer: %s", strerror(errno));
		goto out;
	}
	/* The first play order before the first track: after a restart,
	 * play goes on after the last track played. */
	struct setlist_params sp;
	setlist_params_from_config(&sp, cfg);
	st.brain = setlist_service_create(st.cat, &sp, station_publish_order,
					  &st);
	if (!st.brain) {
		rc = -errno;
		log_error("brain: %s", strerror(errno));
		goto out;
	}
	if ((rc = setlist_service_start(st.brain)) < 0) {
		log_error("brain: cannot start: %s", strerror(-rc));
		goto out;
	}
	if (setlist_service_wait_ready(st.brain, sp.time_budget_s +
				       STATION_BRAIN_WAIT_S) < 0)
		log_info("brain: no play order yet; shuffling until there is "
			 "one");
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		st.outputs[i] = output_create(cfg, i, st.ring, (unsigned)i);
		if (!st.outputs[i]) {
			rc = errno ? -errno : -EIO;
			log_error("output %s: %s", cfg->outputs[i].name,
				  strerror(-rc));
			goto out;
		}
		st.n_outputs++;
	}
	/* "Now playing" follows the MP3 mounts' ICY titles when there are
	 * any (an Ogg mount changes its title up to its lead early). */
	bool any_mp3 = false;
	for (size_t i = 0; i < st.n_outputs; i++)
		any_mp3 |= cfg->outputs[i].format == OUTPUT_FORMAT_MP3;
	for (size_t i = 0; st.np && i < st.n_outputs; i++)
		if (!any_mp3 || cfg->outputs[i].format == OUTPUT_FORMAT_MP3)
			output_set_title_hook(st.outputs[i],
					      station_title_heard, st.np);
	if ((rc = station_http_start(&st)) < 0)
		goto out;
	for (size_t i = 0; i < st.n_outputs; i++) {
		if ((rc = output_start(st.outputs[i])) < 0) {
			log_error("output %s: cannot start: %s",
				  cfg->outputs[i].name, strerror(-rc));
			goto out;
		}
		st.n_started++;
	}
	if ((rc = mixer_start(st.mixer)) < 0) {
		log_error("mixer: cannot start: %s", strerror(-rc));
		goto out;
	}
	/* The station does not wait for analysis: tracks without one are
	 * mixed plainly until theirs arrives. */
	if ((rc = analyzer_start(st.analyzer)) < 0) {
		log_error("analyzer: cannot start: %s", strerror(-rc));
		goto out;
	}

	/* Downloads start once everything that plays them runs, the
	 * tracks the play order needs soonest first. */
	if (st.feeds) {
		struct source_http_planner planner = {
			.pending = station_feeds_pending,
			.order = station_feeds_order,
			.ctx = &st,
		};
		source_http_set_planner(st.feeds, &planner);
	}
	if (st.feeds && (rc = source_http_start(st.feeds,
						 station_feeds_changed,
						 &st)) < 0) {
		log_error("feeds: cannot start: %s", strerror(-rc));
		goto out;
	}

	double next_status = monotonic_s() + STATION_STATUS_PERIOD_S;
	for (;;) {
		struct timespec ts = {
			.tv_sec = STATION_WAIT_MS / 1000,
			.tv_nsec = (STATION_WAIT_MS % 1000) * 1000000L,
		};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			station_stop(&st, &set, sig);
			break;
		}
		if (st.feeds && atomic_exchange(&st.feeds_changed, false))
			station_rescan_feeds(&st);
		if (sig == SIGHUP)
			station_reload(&st);
		else if (sig == SIGUSR1)
			station_status(&st, LOG_LEVEL_INFO);
		station_np_update(&st);
		if (monotonic_s() >= next_status) {
			station_status(&st, LOG_LEVEL_DEBUG);
			next_status += STATION_STATUS_PERIOD_S;
		}
	}
	rc = 0;
out:
	/* On a failed start: stop what started. The destroy functions
	 * close, stop and join on their own. */
	if (st.ring && rc < 0)
		ring_close(st.ring);
	/* The status server reads the outputs' and the mixer's copies. */
	http_destroy(st.http);
	listeners_destroy(st.listeners);
	/* Stops and joins the feeds' thread (a transfer ends within a
	 * second). */
	source_http_destroy(st.feeds);
	/* Before the mixer: their callbacks use the mixer. */
	analyzer_destroy(st.analyzer);
	setlist_service_destroy(st.brain);
	for (size_t i = st.n_outputs; i-- > 0;)
		output_destroy(st.outputs[i]);
	mixer_destroy(st.mixer);
	ring_destroy(st.ring);
	nowplaying_destroy(st.np);
	catalog_close(st.cat);
	/* The mask stays: a late signal must not kill a process that is
	 * about to exit 0. */
	config_destroy(st.cfg);
	config_destroy(st.boot);
	return rc;
}
