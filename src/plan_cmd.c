/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan_cmd — the `plan` command. See plan_cmd.h.
 *
 * The work is the station's own (setlist.h) in one go: reload, solve,
 * sequence after the catalog's last play. This file adds the scan, the
 * filter to the library paths and the two listings.
 */
#include "autoconfig.h"

#include "plan_cmd.h"

#include "catalog.h"
#include "decode.h"
#include "json_out.h"
#include "log.h"
#include "mixer.h"
#include "setlist.h"
#include "source_dir.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PLAN_KICKS_BASE 20000
#define PLAN_KICKS_PER_TRACK 50
#define PLAN_KICKS_MAX 200000

uint64_t plan_cmd_kicks(size_t n)
{
	uint64_t k = PLAN_KICKS_BASE + (uint64_t)n * PLAN_KICKS_PER_TRACK;
	return k < PLAN_KICKS_MAX ? k : PLAN_KICKS_MAX;
}

static double plan_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the library paths ---------------------------------------------- */

struct roots {
	char (*path)[PATH_MAX];
	size_t n;
};

/* The setlist filter: tracks under the library paths, which the catalog
 * may hold others besides. */
static bool under_roots(void *ctx, const struct catalog_track *t)
{
	const struct roots *r = ctx;
	for (size_t i = 0; i < r->n; i++)
		if (source_dir_path_under(t->path, r->path[i]))
			return true;
	return false;
}

/* ---- output --------------------------------------------------------- */



/* One step's terms; NaN (dropped out) becomes null. */
static json_t *terms_json(const struct brain_cost *c)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "tempo", json_out_number(c->tempo));
	json_object_set_new(o, "key", json_out_number(c->key));
	json_object_set_new(o, "energy", json_out_number(c->energy));
	json_object_set_new(o, "timbre", json_out_number(c->timbre));
	json_object_set_new(o, "loudness", json_out_number(c->loudness));
	json_object_set_new(o, "genre", json_out_number(c->genre));
	json_object_set_new(o, "same_artist", json_out_number(c->same_artist));
	return o;
}

/* How the mixer would go from this track to the next. */
static json_t *transition_json(const struct transition_plan *tp)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "kind", json_out_string(transition_kind_name(tp->kind)));
	json_object_set_new(o, "bars", json_integer(tp->bars));
	json_object_set_new(o, "reason", json_out_string(tp->reason));
	return o;
}

/* The tempo circle's figures of the whole cycle (tempo.h). */
static json_t *tempo_cuts_json(const struct setlist_stats *st)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "in_tour", json_integer((json_int_t)st->tempo_cuts));
	json_object_set_new(o, "unavoidable",
			    json_integer((json_int_t)st->tempo_cuts_unavoidable));
	json_object_set_new(o, "wide_gaps",
			    json_integer((json_int_t)st->tempo_wide_gaps));
	json_object_set_new(o, "tracks", json_integer((json_int_t)st->tempo_tracks));
	return o;
}

static json_t *track_json(size_t position, const struct catalog_track *t,
			  const struct analysis *a, double duration_s,
			  double cost, const struct brain_cost *c,
			  const struct transition_plan *tp, bool tempo_step,
			  bool cut, const struct setlist_stats *st)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "position", json_integer((json_int_t)position));
	json_object_set_new(o, "id", json_integer((json_int_t)t->id));
	json_object_set_new(o, "path", json_out_string(t->path));
	json_object_set_new(o, "artist", json_out_string(t->artist));
	json_object_set_new(o, "title", json_out_string(t->title));
	json_object_set_new(o, "duration", duration_s > 0 ? json_out_number(duration_s)
							  : json_null());
	json_object_set_new(o, "analysed", json_boolean(a != NULL));
	json_object_set_new(o, "bpm", a && a->bpm > 0 ? json_out_number(a->bpm)
						      : json_null());
	json_object_set_new(o, "camelot", a && a->camelot[0] ?
			    json_out_string(a->camelot) : json_null());
	json_object_set_new(o, "key", a && a->key_name[0] ?
			    json_out_string(a->key_name) : json_null());
	json_object_set_new(o, "energy", a ? json_out_number(a->energy) : json_null());
	json_object_set_new(o, "loudness_lufs",
			    a ? json_out_number(a->loudness_lufs) : json_null());
	json_object_set_new(o, "cost_to_next", json_out_number(cost));
	json_t *terms = terms_json(c);
	json_object_set_new(o, "terms", terms ? terms : json_null());
	json_object_set_new(o, "stretch_to_next", json_out_number(c->stretch));
	json_t *tr = transition_json(tp);
	json_object_set_new(o, "transition_to_next", tr ? tr : json_null());
	/* null: not a tempo step (either track has no usable tempo). */
	json_object_set_new(o, "tempo_cut_to_next",
			    tempo_step ? json_boolean(cut) : json_null());
	/* The same on every element: the output stays an array of tracks. */
	json_t *tc = tempo_cuts_json(st);
	json_object_set_new(o, "tempo_cuts", tc ? tc : json_null());
	return o;
}

/* A term for the text listing: 5 characters, "-" when it dropped out. */
static const char *term_text(double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "%5s", "-");
	else
		snprintf(buf, size, "%5.3f", v);
	return buf;
}

static void text_header(FILE *out, const struct setlist_stats *st,
			size_t n, double took_s)
{
	fprintf(out, "# play order: %zu tracks, cycle cost %.4f (%.4f per "
		"step), planned in %.2f s\n", n, st->cost,
		n ? st->cost / (double)n : 0.0, took_s);
	fprintf(out, "# left out: %zu shorter than the minimum, %zu longer "
		"than the maximum, %zu duplicates; %zu not analysed\n",
		st->too_short, st->too_long, st->duplicates, st->unanalysed);
	fprintf(out, "# unbridgeable tempo steps: %zu in the tour, %zu "
		"unavoidable (the tempo circle has %zu gap%s beyond the "
		"bridge", st->tempo_cuts, st->tempo_cuts_unavoidable,
		st->tempo_wide_gaps, st->tempo_wide_gaps == 1 ? "" : "s");
	if (st->tempo_tracks < n)
		fprintf(out, "; %zu track%s without a usable tempo %s not "
			"counted and can stand in %s", n - st->tempo_tracks,
			n - st->tempo_tracks == 1 ? "" : "s",
			n - st->tempo_tracks == 1 ? "is" : "are",
			n - st->tempo_tracks == 1 ? "a gap" : "gaps");
	fprintf(out, ")\n");
	fprintf(out, "# cost: of the step to the next track, then its terms "
		"(- = no data); mix: how the mixer goes to the next track\n"
		"# (bm16 = beatmatched over 16 bars; cut = A ends on a "
		"downbeat as B starts on one,\n# one beat of overlap; xfade = "
		"crossfade; for both, why on the line below)\n");
	fprintf(out, "#%4s %6s %4s %6s %6s %5s %5s %5s %5s %5s %5s %5s %5s  %s\n",
		"n", "bpm", "key", "energy", "cost", "tempo", "key", "enrgy",
		"timbr", "loud", "genre", "artst", "mix", "track");
}

static void text_line(FILE *out, size_t position,
		      const struct catalog_track *t, const struct analysis *a,
		      double cost, const struct brain_cost *c,
		      const struct transition_plan *tp)
{
	char title[2 * DECODE_TAG_MAX + 4], bpm[16], energy[16], mix[16];
	char b[7][16];
	decode_display_title(t->artist, t->title, t->path, title,
			     sizeof(title));
	if (a && a->bpm > 0)
		snprintf(bpm, sizeof(bpm), "%6.1f", a->bpm);
	else
		snprintf(bpm, sizeof(bpm), "%6s", "-");
	if (a)
		snprintf(energy, sizeof(energy), "%6.2f", a->energy);
	else
		snprintf(energy, sizeof(energy), "%6s", "-");
	if (tp->kind == TRANSITION_BEATMATCHED)
		snprintf(mix, sizeof(mix), "bm%d", tp->bars);
	else
		snprintf(mix, sizeof(mix), "%s",
			 tp->kind == TRANSITION_CUT ? "cut" : "xfade");
	fprintf(out, "%5zu %s %4s %s %6.3f %s %s %s %s %s %s %s %5s  %s\n",
		position, bpm, a && a->camelot[0] ? a->camelot : "-", energy,
		cost, term_text(c->tempo, b[0], sizeof(b[0])),
		term_text(c->key, b[1], sizeof(b[1])),
		term_text(c->energy, b[2], sizeof(b[2])),
		term_text(c->timbre, b[3], sizeof(b[3])),
		term_text(c->loudness, b[4], sizeof(b[4])),
		term_text(c->genre, b[5], sizeof(b[5])),
		term_text(c->same_artist, b[6], sizeof(b[6])), mix, title);
	if (tp->kind != TRANSITION_BEATMATCHED)
		fprintf(out, "#%5s %s: %s\n", "", transition_kind_name(tp->kind),
			tp->reason);
}

/* The mixer's plan from A to B, as the station would make it (A from its
 * start): the kind and why. A or B NULL: not analysed. */
static void step_transition(const struct mixer_params *mp,
			    const struct transition_params *tparams,
			    const struct analysis *a,
			    const struct analysis *b,
			    struct transition_plan *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->kind = TRANSITION_CROSSFADE;
	if (mp->plain_crossfades)
		snprintf(tp->reason, sizeof(tp->reason),
			 "beatmatching is off ([mix] beatmatch = no)");
	else if (!a || !b)
		snprintf(tp->reason, sizeof(tp->reason), "%s is not analysed "
			 "yet", !a ? "A" : "B");
	else if (transition_plan(a, b, tparams, tp) < 0)
		snprintf(tp->reason, sizeof(tp->reason), "no plan: the [mix] "
			 "parameters are out of range");
}

/* The tracks of a page of the sequence: PLAN_PAGE - 1 places and the
 * track after the last, read from the catalog at once. */
#define PLAN_PAGE CATALOG_READ_PAGE

struct plan_page {
	int64_t ids[PLAN_PAGE];
	struct catalog_track tracks[PLAN_PAGE];
	struct analysis an[PLAN_PAGE];
	enum catalog_read_state state[PLAN_PAGE];
};

/* Writes the sequence IDS[0 .. N-1]. */
static int write_plan(const struct config *cfg, struct catalog *cat,
		      struct setlist *sl, const int64_t *ids, size_t n,
		      bool json, double took_s, FILE *out)
{
	struct plan_page *pg = malloc(sizeof(*pg));
	struct mixer_params mp;
	struct transition_params tparams;
	mixer_params_from_config(&mp, cfg);
	(void)mixer_transition_params(&mp, &tparams);
	struct setlist_stats st;
	int rc = 0;

	if (!pg) {
		rc = -ENOMEM;
		goto out;
	}
	setlist_get_stats(sl, &st);
	if (!json)
		text_header(out, &st, n, took_s);
	else if (fputc('[', out) == EOF)
		rc = -EIO;
	for (size_t k0 = 0; k0 < n && rc == 0; k0 += PLAN_PAGE - 1) {
		size_t m = n - k0 < PLAN_PAGE - 1 ? n - k0 : PLAN_PAGE - 1;
		for (size_t j = 0; j <= m; j++)
			pg->ids[j] = ids[(k0 + j) % n];
		if ((rc = catalog_tracks_read(cat, pg->ids, m + 1, pg->tracks,
					      pg->an, pg->state)) < 0)
			goto out;
		for (size_t j = 0; j < m; j++) {
			size_t k = k0 + j;
			struct brain_cost c;
			struct setlist_track_info info;
			struct transition_plan tp;
			double cost = 0;
			bool tempo_step = false, cut = false;
			if (pg->state[j] == CATALOG_READ_NONE) {
				rc = -ENOENT;
				goto out;
			}
			if ((rc = setlist_track_info(sl, ids[k], &info)) < 0 ||
			    (rc = setlist_step_cost(sl, ids[k], pg->ids[j + 1],
						    &c, &cost)) < 0 ||
			    (rc = setlist_step_tempo(sl, ids[k], pg->ids[j + 1],
						     &tempo_step, &cut)) < 0)
				goto out;
			const struct catalog_track *t = &pg->tracks[j];
			const struct analysis *a =
				pg->state[j] == CATALOG_READ_ANALYSED
				? &pg->an[j] : NULL;
			const struct analysis *b =
				pg->state[j + 1] == CATALOG_READ_ANALYSED
				? &pg->an[j + 1] : NULL;
			step_transition(&mp, &tparams, a, b, &tp);
			if (!json) {
				text_line(out, k + 1, t, a, cost, &c, &tp);
				continue;
			}
			/* One element at a time: an array of 100 000
			 * objects held whole took gigabytes
			 * (doc/brain.md). */
			json_t *o = track_json(k + 1, t, a, info.duration_s,
					       cost, &c, &tp, tempo_step, cut,
					       &st);
			if (!o) {
				rc = -ENOMEM;
				goto out;
			}
			int w = fputs(k > 0 ? ",\n" : "\n", out) == EOF ||
				json_dumpf(o, out, JSON_INDENT(1) |
					   JSON_REAL_PRECISION(10)) < 0;
			json_decref(o);
			if (w) {
				rc = -EIO;
				goto out;
			}
		}
	}
	if (json && rc == 0 && fputs("\n]\n", out) == EOF)
		rc = -EIO;
	if (fflush(out) != 0 && rc == 0)
		rc = -errno;
	if (ferror(out) && rc == 0)
		rc = -EIO;
out:
	if (rc < 0)
		log_error("plan: cannot write the plan: %s", strerror(-rc));
	free(pg);
	return rc;
}

/* ---- the command ---------------------------------------------------- */

int plan_cmd_run(const struct config *cfg, bool json, bool have_seed,
		 uint64_t seed, FILE *out)
{
	struct catalog *cat = NULL;
	struct setlist *sl = NULL;
	struct roots roots = { 0 };
	int64_t *ids = NULL;
	struct source_dir_stats scan;
	int rc = 0;

	roots.path = calloc(cfg->n_library_paths ? cfg->n_library_paths : 1,
			    sizeof(*roots.path));
	if (!roots.path) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->n_library_paths; i++) {
		rc = source_dir_normalise(cfg->library_paths[i],
					  roots.path[i], PATH_MAX);
		if (rc < 0) {
			log_error("plan: library path %s: %s",
				  cfg->library_paths[i], strerror(-rc));
			goto out;
		}
	}
	roots.n = cfg->n_library_paths;

	cat = catalog_open(cfg->database);
	if (!cat) {
		rc = errno ? -errno : -EIO;
		log_error("plan: cannot open the catalog %s: %s", cfg->database,
			  strerror(-rc));
		goto out;
	}
	double t0 = plan_now_s();
	rc = source_dir_scan(cat, cfg->library_paths, cfg->n_library_paths,
			     &scan);
	if (rc < 0) {
		log_error("plan: scan failed: %s", strerror(-rc));
		goto out;
	}
	double scanned = plan_now_s();

	struct setlist_params p;
	setlist_params_from_config(&p, cfg);
	if (have_seed) {
		p.seed = seed;
		p.time_budget_s = 0;
	}
	sl = setlist_create(cat, &p);
	if (!sl) {
		rc = -errno;
		log_error("plan: %s", strerror(errno));
		goto out;
	}
	setlist_set_filter(sl, under_roots, &roots);
	if ((rc = setlist_reload(sl, NULL)) < 0) {
		log_error("plan: cannot read the catalog: %s", strerror(-rc));
		goto out;
	}
	if (have_seed) {
		/* The cap depends on the size, which only now is known. */
		p.max_kicks = plan_cmd_kicks(setlist_size(sl));
		setlist_set_params(sl, &p);
	}
	if ((rc = setlist_solve(sl)) < 0) {
		log_error("plan: solving the tour failed: %s", strerror(-rc));
		goto out;
	}

	/* As the station would go on: after the last track it played. */
	size_t n = setlist_size(sl);
	struct setlist_play last;
	size_t n_last = catalog_play_last(cat, &last.id, &last.when) == 0;
	ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids) {
		rc = -ENOMEM;
		goto out;
	}
	rc = setlist_sequence(sl, &last, n_last, time(NULL), ids, n, &n, NULL);
	if (rc < 0)
		goto out;
	double took = plan_now_s() - scanned;
	struct setlist_stats st;
	setlist_get_stats(sl, &st);
	log_info("plan: %zu tracks in the order (scan %.2f s, plan %.2f s%s)",
		 n, scanned - t0, took, have_seed ? ", deterministic" : "");
	if (st.unanalysed > 0)
		log_info("plan: hint: %zu of the %zu tracks have no analysis "
			 "yet and are placed by their tags only; `foreverfm "
			 "analyze` (with the same -c FILE or PATHs) fills the "
			 "cache that plan reads", st.unanalysed, n);
	if (st.artist_conflicts > 0)
		log_warning("plan: the library cannot keep every artist %u "
			    "tracks apart (%zu places where one comes sooner; "
			    "no move that would add a tempo cut is made)",
			    p.artist_separation, st.artist_conflicts);
	if (n == 0 && st.playable > 0)
		log_warning("plan: every track is left out: no play order "
			    "(the station would shuffle them)");
	rc = write_plan(cfg, cat, sl, ids, n, json, took, out);
out:
	free(ids);
	setlist_destroy(sl);
	catalog_close(cat);
	free(roots.path);
	return rc;
}
