/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nowplaying — the state behind /api/nowplaying, /api/events and /metrics.
 * See nowplaying.h for the DESIGN (stream clock, snapshots, event ring).
 *
 * What this file adds: the writers on the audio path (the mixer's
 * nowplaying_mixer_*() and the outputs' nowplaying_heard()) only copy
 * structs under the lock and never allocate; the events they cause are
 * turned into text by nowplaying_tick() on the HTTP server's thread, which
 * nowplaying_heard() wakes at once (nowplaying_wait()).
 */
#include "autoconfig.h"

#include "nowplaying.h"

#include "catalog.h"
#include "json_out.h"
#include "mixer.h"
#include "visuals.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const np_kinds[] = { "beatmatched", "crossfade", "cut" };
#define NP_N_KINDS (sizeof(np_kinds) / sizeof(np_kinds[0]))

struct np_pending {
	uint64_t frame;
	struct np_track t;
};

struct np_played {
	struct np_track t;
	double played_at;        /* wall clock */
	double heard_s;          /* how long it was heard; 0 while playing */
	bool has_transition;
	struct np_transition tr; /* the transition that brought it in */
};

/* Everything a reader needs, copied out under the lock. */
struct np_state {
	bool has_current;
	struct np_played current;
	uint64_t current_frame;
	struct np_played history[NP_HISTORY_MAX]; /* newest first */
	size_t n_history;
	struct np_next next[NP_NEXT_MAX];
	size_t n_next;
	long listeners;
	bool has_metrics;
	struct np_metrics metrics;
	uint64_t transitions[NP_N_KINDS];
};

struct np_event {
	uint64_t id;
	size_t len;
	char *text;                /* NP_EVENT_TEXT_MAX bytes, allocated once */
};

struct nowplaying {
	pthread_mutex_t lock;
	pthread_cond_t changed;    /* CLOCK_MONOTONIC */
	struct np_station station;
	struct np_state s;

	struct np_pending pending[NP_PENDING_MAX];
	size_t n_pending;
	struct np_transition pending_tr[NP_PENDING_MAX];
	size_t n_pending_tr;

	/* The stream clock: frame anchor_frame was heard at anchor_mono. */
	bool anchored;
	uint64_t anchor_frame;
	double anchor_mono, anchor_wall;

	/* The newest transition released, for the track it brings in. */
	bool has_last_tr;
	struct np_transition last_tr;

	/* Heard but not yet an event (nowplaying_tick() writes them). */
	bool track_due;
	struct np_transition tr_due[NP_PENDING_MAX];
	double tr_due_at[NP_PENDING_MAX];
	size_t n_tr_due;

	struct np_event events[NP_EVENTS_MAX];
	uint64_t last_id;
	uint64_t version;          /* bumped by every change the JSON shows */

	/* /api/nowplaying's last text, reused for NP_JSON_REUSE_S while the
	 * state is unchanged (a poll every 20 ms costs one build in five). */
	pthread_mutex_t cache_lock;
	char *cache;
	uint64_t cache_version;
	double cache_wall;
};

static void np_emit(struct nowplaying *np, const char *type,
		    const char *data);

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

struct nowplaying *nowplaying_create(const struct np_station *station)
{
	struct nowplaying *np = calloc(1, sizeof(*np));
	pthread_condattr_t ca;

	if (!np) {
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < NP_EVENTS_MAX; i++) {
		np->events[i].text = malloc(NP_EVENT_TEXT_MAX);
		if (!np->events[i].text) {
			nowplaying_destroy(np);
			errno = ENOMEM;
			return NULL;
		}
	}
	np->station = *station;
	np->s.listeners = -1;
	pthread_mutex_init(&np->lock, NULL);
	pthread_mutex_init(&np->cache_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&np->changed, &ca);
	pthread_condattr_destroy(&ca);
	return np;
}

void nowplaying_destroy(struct nowplaying *np)
{
	if (!np)
		return;
	for (size_t i = 0; i < NP_EVENTS_MAX; i++)
		free(np->events[i].text);
	free(np->cache);
	pthread_mutex_destroy(&np->cache_lock);
	pthread_cond_destroy(&np->changed);
	pthread_mutex_destroy(&np->lock);
	free(np);
}

void nowplaying_track_from(struct np_track *t, const struct catalog_track *ct,
			   const struct analysis *an, const char *text)
{
	memset(t, 0, sizeof(*t));
	if (!ct)
		return;
	t->id = ct->id;
	copy_str(t->artist, sizeof(t->artist), ct->artist);
	copy_str(t->title, sizeof(t->title), ct->title);
	copy_str(t->album, sizeof(t->album), ct->album);
	copy_str(t->genre, sizeof(t->genre), ct->genre);
	copy_str(t->art, sizeof(t->art), ct->cover_url);
	copy_str(t->text, sizeof(t->text), text);
	t->duration_s = ct->duration_s;
	if (an) {
		t->analysed = true;
		if (an->duration_s > 0)
			t->duration_s = an->duration_s;
		t->bpm = an->bpm;
		copy_str(t->key, sizeof(t->key), an->key_name);
		copy_str(t->camelot, sizeof(t->camelot), an->camelot);
		t->loudness_lufs = an->loudness_lufs;
		t->energy = an->energy;
	}
}

void nowplaying_track_visuals(struct np_track *t, const struct visuals *v)
{
	t->has_visuals = v != NULL;
	t->has_cover = v && v->has_cover;
	t->cover_served = v && v->has_cover && v->cover_length > 0;
	t->colour = v ? v->colour : 0;
}

/* Copies the visuals of FROM into TO when they are the same track and TO
 * has none. */
static void np_visuals_copy(struct np_track *to, const struct np_track *from)
{
	if (to->id == from->id && to->id > 0 && !to->has_visuals &&
	    from->has_visuals) {
		to->has_visuals = true;
		to->has_cover = from->has_cover;
		to->cover_served = from->cover_served;
		to->colour = from->colour;
	}
}

/* Under the lock: T's visuals to every entry of the same track. */
static void np_visuals_spread(struct nowplaying *np, const struct np_track *t)
{
	for (size_t k = 0; k < np->n_pending; k++)
		np_visuals_copy(&np->pending[k].t, t);
	np_visuals_copy(&np->s.current.t, t);
	for (size_t k = 0; k < np->s.n_next; k++)
		np_visuals_copy(&np->s.next[k].track, t);
	for (size_t k = 0; k < np->s.n_history; k++)
		np_visuals_copy(&np->s.history[k].t, t);
}

void nowplaying_update_visuals(struct nowplaying *np,
			       const struct np_track *t)
{
	if (!t->has_visuals)
		return;
	pthread_mutex_lock(&np->lock);
	np_visuals_spread(np, t);
	np->version++;
	pthread_mutex_unlock(&np->lock);
}

/* ------------------------------------------------------------------ */
/* Writers.                                                            */

void nowplaying_mixer_track(struct nowplaying *np, uint64_t frame,
			    const struct np_track *t)
{
	pthread_mutex_lock(&np->lock);
	if (np->n_pending == NP_PENDING_MAX) {
		memmove(np->pending, np->pending + 1,
			(NP_PENDING_MAX - 1) * sizeof(np->pending[0]));
		np->n_pending--;
	}
	struct np_pending *p = &np->pending[np->n_pending++];
	p->frame = frame;
	if (t)
		p->t = *t;
	else
		memset(&p->t, 0, sizeof(p->t));
	for (size_t i = 0; i < np->s.n_next; i++)
		np_visuals_copy(&p->t, &np->s.next[i].track);
	pthread_mutex_unlock(&np->lock);
}

static size_t np_kind_index(const char *kind)
{
	for (size_t i = 0; i < NP_N_KINDS; i++)
		if (strcmp(kind, np_kinds[i]) == 0)
			return i;
	return 1; /* anything else is some crossfade */
}

void nowplaying_mixer_transition(struct nowplaying *np,
				 const struct np_transition *tr)
{
	pthread_mutex_lock(&np->lock);
	np->s.transitions[np_kind_index(tr->kind)]++;
	if (np->n_pending_tr == NP_PENDING_MAX) {
		memmove(np->pending_tr, np->pending_tr + 1,
			(NP_PENDING_MAX - 1) * sizeof(np->pending_tr[0]));
		np->n_pending_tr--;
	}
	np->pending_tr[np->n_pending_tr++] = *tr;
	pthread_mutex_unlock(&np->lock);
}

/* Moves pending transition I to the due list, heard at WALL. Locked. */
static void np_release_transition(struct nowplaying *np, size_t i,
				  double wall)
{
	np->has_last_tr = true;
	np->last_tr = np->pending_tr[i];
	if (np->n_tr_due < NP_PENDING_MAX) {
		np->tr_due[np->n_tr_due] = np->pending_tr[i];
		np->tr_due_at[np->n_tr_due] = wall;
		np->n_tr_due++;
	}
	memmove(np->pending_tr + i, np->pending_tr + i + 1,
		(np->n_pending_tr - i - 1) * sizeof(np->pending_tr[0]));
	np->n_pending_tr--;
}

void nowplaying_heard(struct nowplaying *np, uint64_t frame,
		      int64_t track_id, double wall_s, double mono_s)
{
	pthread_mutex_lock(&np->lock);
	if (np->anchored && frame <= np->s.current_frame) {
		pthread_mutex_unlock(&np->lock);
		return;
	}
	/* The pending entry for this marker: the newest one at or before
	 * FRAME with its id (the mixer's frame and the ring's agree, but
	 * a mismatch must not lose the title). Older ones were never heard
	 * (an output that rejoined at the live point). */
	size_t found = np->n_pending;
	for (size_t i = 0; i < np->n_pending; i++)
		if (np->pending[i].frame <= frame &&
		    np->pending[i].t.id == track_id)
			found = i;
	struct np_played cur;
	memset(&cur, 0, sizeof(cur));
	if (found < np->n_pending) {
		cur.t = np->pending[found].t;
		size_t rest = np->n_pending - found - 1;
		memmove(np->pending, np->pending + found + 1,
			rest * sizeof(np->pending[0]));
		np->n_pending = rest;
	} else {
		cur.t.id = track_id;
	}
	cur.played_at = wall_s;
	/* Transitions up to this marker are heard by now. */
	for (size_t i = 0; i < np->n_pending_tr;) {
		if (np->pending_tr[i].start_frame > frame) {
			i++;
			continue;
		}
		double at = wall_s - (double)(frame -
			    np->pending_tr[i].start_frame) / NP_RATE_HZ;
		if (np->pending_tr[i].marker_frame == frame ||
		    np->pending_tr[i].to_id == track_id) {
			cur.has_transition = true;
			cur.tr = np->pending_tr[i];
		}
		np_release_transition(np, i, at);
	}
	/* Or it was released already by the clock. */
	if (!cur.has_transition && np->has_last_tr && track_id > 0 &&
	    np->last_tr.to_id == track_id &&
	    np->last_tr.marker_frame <= frame + NP_RATE_HZ) {
		cur.has_transition = true;
		cur.tr = np->last_tr;
	}
	if (np->s.has_current && np->s.current.t.id > 0) {
		struct np_played old = np->s.current;
		old.heard_s = wall_s - old.played_at;
		if (np->s.n_history == NP_HISTORY_MAX)
			np->s.n_history--;
		memmove(np->s.history + 1, np->s.history,
			np->s.n_history * sizeof(np->s.history[0]));
		np->s.history[0] = old;
		np->s.n_history++;
	}
	np->s.current = cur;
	np->s.has_current = true;
	np->version++;
	np->s.current_frame = frame;
	np->anchored = true;
	np->anchor_frame = frame;
	np->anchor_mono = mono_s;
	np->anchor_wall = wall_s;
	np->track_due = true;
	/* The track just heard leaves the next tracks. */
	for (size_t i = 0; i < np->s.n_next; i++)
		if (np->s.next[i].track.id == track_id) {
			memmove(np->s.next + i, np->s.next + i + 1,
				(np->s.n_next - i - 1) *
				sizeof(np->s.next[0]));
			np->s.n_next--;
			break;
		}
	pthread_mutex_unlock(&np->lock);
	pthread_cond_signal(&np->changed);
}

void nowplaying_set_next(struct nowplaying *np, const struct np_next *next,
			 size_t n, bool plan_changed)
{
	if (n > NP_NEXT_MAX)
		n = NP_NEXT_MAX;
	pthread_mutex_lock(&np->lock);
	memcpy(np->s.next, next, n * sizeof(next[0]));
	np->s.n_next = n;
	for (size_t i = 0; i < n; i++)
		np_visuals_spread(np, &next[i].track);
	np->version++;
	pthread_mutex_unlock(&np->lock);
	if (!plan_changed)
		return;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "song",
				    nowplaying_track_json(&next[i].track));
		json_t *tr = json_null();
		if (next[i].planned) {
			tr = json_object();
			json_object_set_new(tr, "kind",
					    json_string(next[i].kind));
			json_object_set_new(tr, "bars",
					    json_integer(next[i].bars));
			json_object_set_new(tr, "bpm_from",
				json_out_number(next[i].bpm_from > 0 ?
						next[i].bpm_from : NAN));
			json_object_set_new(tr, "bpm_to",
				json_out_number(next[i].bpm_to > 0 ?
						next[i].bpm_to : NAN));
		}
		json_object_set_new(o, "transition", tr);
		json_array_append_new(arr, o);
	}
	json_t *ev = json_object();
	json_object_set_new(ev, "playing_next", arr);
	char *data = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!data)
		return;
	np_emit(np, "plan", data);
	free(data);
}

int64_t nowplaying_current_id(struct nowplaying *np)
{
	pthread_mutex_lock(&np->lock);
	int64_t id = np->s.has_current ? np->s.current.t.id : 0;
	pthread_mutex_unlock(&np->lock);
	return id;
}

void nowplaying_set_listeners(struct nowplaying *np, long listeners)
{
	pthread_mutex_lock(&np->lock);
	if (np->s.listeners != listeners)
		np->version++;
	np->s.listeners = listeners;
	pthread_mutex_unlock(&np->lock);
}

void nowplaying_set_metrics(struct nowplaying *np, const struct np_metrics *m)
{
	pthread_mutex_lock(&np->lock);
	np->s.metrics = *m;
	np->s.has_metrics = true;
	pthread_mutex_unlock(&np->lock);
}

/* ------------------------------------------------------------------ */
/* JSON.                                                               */

static json_t *np_number_or_null(double v, bool known)
{
	return known ? json_out_number(v) : json_null();
}

json_t *nowplaying_track_json(const struct np_track *t)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(t->id));
	json_object_set_new(o, "text", json_out_string(t->text));
	json_object_set_new(o, "artist", json_out_string(t->artist));
	json_object_set_new(o, "title", json_out_string(t->title));
	json_object_set_new(o, "album", json_out_string(t->album));
	json_object_set_new(o, "genre", json_out_string(t->genre));
	json_object_set_new(o, "duration",
			    np_number_or_null(t->duration_s,
					      t->duration_s > 0));
	json_object_set_new(o, "bpm", np_number_or_null(t->bpm,
				t->analysed && t->bpm > 0));
	json_object_set_new(o, "key", t->analysed && t->key[0] ?
			    json_out_string(t->key) : json_null());
	json_object_set_new(o, "camelot", t->analysed && t->camelot[0] ?
			    json_out_string(t->camelot) : json_null());
	json_object_set_new(o, "loudness_lufs",
			    np_number_or_null(t->loudness_lufs, t->analysed));
	json_object_set_new(o, "energy",
			    np_number_or_null(t->energy, t->analysed));
	json_object_set_new(o, "has_cover", json_boolean(t->has_cover));
	/* URLs relative to the server's root, as a reverse proxy moves it.
	 * The art: the file's own cover where the server can send it, else
	 * the cover a feed names (an absolute URL). */
	char url[64], hex[8];
	snprintf(url, sizeof(url), "/api/tracks/%" PRId64 "/cover", t->id);
	json_object_set_new(o, "art", t->cover_served ?
			    json_out_string(url + 1) :
			    t->art[0] ? json_out_string(t->art) : json_null());
	snprintf(url, sizeof(url), "/api/tracks/%" PRId64 "/waveform", t->id);
	json_object_set_new(o, "waveform", t->has_visuals ?
			    json_out_string(url + 1) : json_null());
	json_object_set_new(o, "colour", t->has_visuals ?
			    json_out_string(visuals_colour_hex(t->colour, hex)) :
			    json_null());
	return o;
}

json_t *nowplaying_transition_json(const struct np_transition *tr)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "kind", json_out_string(tr->kind));
	json_object_set_new(o, "reason", json_out_string(tr->reason));
	json_object_set_new(o, "bars", json_integer(tr->bars));
	json_object_set_new(o, "bpm_from", np_number_or_null(tr->bpm_from,
					tr->bpm_from > 0));
	json_object_set_new(o, "bpm_to", np_number_or_null(tr->bpm_to,
					tr->bpm_to > 0));
	json_object_set_new(o, "duration", json_out_number(tr->duration_s));
	/* Where each track's file plays at its start: the page draws both
	 * waveforms there. */
	json_object_set_new(o, "from_position_s", json_out_number(tr->a_exit_s));
	json_object_set_new(o, "to_position_s", json_out_number(tr->b_entry_s));
	json_object_set_new(o, "from_id", json_integer(tr->from_id));
	json_object_set_new(o, "to_id", json_integer(tr->to_id));
	json_object_set_new(o, "from", json_out_string(tr->from));
	json_object_set_new(o, "to", json_out_string(tr->to));
	json_object_set_new(o, "position_s",
			    json_out_number((double)tr->start_frame /
					    NP_RATE_HZ));
	json_object_set_new(o, "marker_position_s",
			    json_out_number((double)tr->marker_frame /
					    NP_RATE_HZ));
	return o;
}

/* AzuraCast's shape: a history entry and now_playing share it. */
static json_t *np_played_json(const struct np_played *p, double wall_s,
			      bool playing)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "played_at",
			    json_integer((json_int_t)floor(p->played_at)));
	json_object_set_new(o, "started_at", json_out_number(p->played_at));
	double dur = p->t.duration_s;
	if (playing) {
		double elapsed = wall_s - p->played_at;
		if (elapsed < 0)
			elapsed = 0;
		/* The track started part-way in when it came in by a
		 * transition: B's entry is not its start, but the API counts
		 * from the moment it is heard, as AzuraCast does. */
		json_object_set_new(o, "duration", np_number_or_null(dur,
					dur > 0));
		json_object_set_new(o, "elapsed", json_out_number(elapsed));
		json_object_set_new(o, "remaining", dur > 0 ?
			json_out_number(dur > elapsed ? dur - elapsed : 0) :
			json_null());
	} else {
		json_object_set_new(o, "duration", json_out_number(p->heard_s));
	}
	json_object_set_new(o, "song", nowplaying_track_json(&p->t));
	json_object_set_new(o, "transition", p->has_transition ?
			    nowplaying_transition_json(&p->tr) : json_null());
	return o;
}

static json_t *np_next_json(const struct np_next *n)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "song", nowplaying_track_json(&n->track));
	json_t *tr = json_null();
	if (n->planned) {
		tr = json_object();
		json_object_set_new(tr, "kind", json_out_string(n->kind));
		json_object_set_new(tr, "bars", json_integer(n->bars));
		json_object_set_new(tr, "bpm_from", np_number_or_null(
					n->bpm_from, n->bpm_from > 0));
		json_object_set_new(tr, "bpm_to", np_number_or_null(
					n->bpm_to, n->bpm_to > 0));
	}
	json_object_set_new(o, "transition", tr);
	return o;
}

static json_t *np_state_json(const struct np_station *st,
			     const struct np_state *s, double wall_s,
			     size_t keep_history, size_t keep_next)
{
	json_t *root = json_object();
	if (!root)
		return NULL;
	json_t *station = json_object();
	json_object_set_new(station, "name", json_out_string(st->name));
	json_object_set_new(station, "description",
			    json_out_string(st->description));
	json_object_set_new(station, "listen_url", st->n_outputs > 0 ?
			    json_out_string(st->outputs[0].listen_url) :
			    json_null());
	json_t *mounts = json_array();
	for (size_t i = 0; i < st->n_outputs; i++) {
		json_t *m = json_object();
		json_object_set_new(m, "name",
				    json_out_string(st->outputs[i].name));
		json_object_set_new(m, "path",
				    json_out_string(st->outputs[i].mount));
		json_object_set_new(m, "format",
				    json_out_string(st->outputs[i].format));
		json_object_set_new(m, "url",
				    json_out_string(st->outputs[i].listen_url));
		json_array_append_new(mounts, m);
	}
	json_object_set_new(station, "mounts", mounts);
	json_object_set_new(root, "station", station);

	json_t *listeners = json_object();
	json_object_set_new(listeners, "current", s->listeners >= 0 ?
			    json_integer(s->listeners) : json_null());
	json_object_set_new(listeners, "total", s->listeners >= 0 ?
			    json_integer(s->listeners) : json_null());
	json_object_set_new(root, "listeners", listeners);

	bool music = s->has_current && s->current.t.id > 0;
	json_object_set_new(root, "is_online", json_boolean(s->has_current));
	json_object_set_new(root, "now_playing", music ?
			    np_played_json(&s->current, wall_s, true) :
			    json_null());
	json_t *next = json_array();
	for (size_t i = 0; i < s->n_next && i < keep_next; i++)
		json_array_append_new(next, np_next_json(&s->next[i]));
	json_object_set_new(root, "playing_next", next);
	json_t *hist = json_array();
	for (size_t i = 0; i < s->n_history && i < keep_history; i++)
		json_array_append_new(hist, np_played_json(&s->history[i],
							   wall_s, false));
	json_object_set_new(root, "song_history", hist);
	return root;
}

/* Copies the state out; NULL on ENOMEM. */
static struct np_state *np_state_copy(struct nowplaying *np)
{
	struct np_state *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_lock(&np->lock);
	*s = np->s;
	pthread_mutex_unlock(&np->lock);
	return s;
}

/* The state as text of at most MAX bytes (0: any), shortening the
 * history and then the next tracks until it fits. NULL: ENOMEM, or it
 * does not fit even without them. */
static char *np_json_fit(struct nowplaying *np, double wall_s, size_t max)
{
	static const size_t keep[][2] = {
		{ NP_HISTORY_MAX, NP_NEXT_MAX }, { 5, NP_NEXT_MAX },
		{ 0, NP_NEXT_MAX }, { 0, 1 }, { 0, 0 },
	};
	struct np_state *s = np_state_copy(np);
	char *text = NULL;
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *root = np_state_json(&np->station, s, wall_s,
					     keep[i][0], keep[i][1]);
		text = root ? json_dumps(root, JSON_COMPACT) : NULL;
		json_decref(root);
		if (!text || max == 0 || strlen(text) < max)
			break;
		free(text);
		text = NULL;
	}
	free(s);
	return text;
}

char *nowplaying_json(struct nowplaying *np, double wall_s)
{
	char *text = NULL;

	pthread_mutex_lock(&np->lock);
	uint64_t version = np->version;
	pthread_mutex_unlock(&np->lock);
	pthread_mutex_lock(&np->cache_lock);
	if (np->cache && np->cache_version == version &&
	    wall_s >= np->cache_wall && wall_s - np->cache_wall < NP_JSON_REUSE_S)
		text = strdup(np->cache);
	pthread_mutex_unlock(&np->cache_lock);
	if (text)
		return text;
	text = np_json_fit(np, wall_s, 0);
	char *copy = text ? strdup(text) : NULL;
	pthread_mutex_lock(&np->cache_lock);
	if (copy) {
		free(np->cache);
		np->cache = copy;
		np->cache_version = version;
		np->cache_wall = wall_s;
	}
	pthread_mutex_unlock(&np->cache_lock);
	return text;
}

/* ------------------------------------------------------------------ */
/* Events.                                                             */

/* Appends one event: "id: N\nevent: TYPE\ndata: DATA\n\n". DATA is one
 * line (compact JSON). Too long an event is replaced by a resync hint. */
static void np_emit(struct nowplaying *np, const char *type,
		    const char *data)
{
	pthread_mutex_lock(&np->lock);
	uint64_t id = ++np->last_id;
	struct np_event *ev = &np->events[id % NP_EVENTS_MAX];
	int n = snprintf(ev->text, NP_EVENT_TEXT_MAX,
			 "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id, type,
			 data);
	if (n < 0 || n >= NP_EVENT_TEXT_MAX)
		n = snprintf(ev->text, NP_EVENT_TEXT_MAX,
			     "id: %" PRIu64 "\nevent: %s\ndata: {\"truncated\""
			     ":true}\n\n", id, type);
	ev->id = id;
	ev->len = (size_t)n;
	pthread_mutex_unlock(&np->lock);
	pthread_cond_broadcast(&np->changed);
}

void nowplaying_tick(struct nowplaying *np, double mono_s)
{
	struct np_played cur;
	bool track = false;
	uint64_t frame = 0;
	struct np_transition due[NP_PENDING_MAX];
	double due_at[NP_PENDING_MAX];
	size_t n_due;

	pthread_mutex_lock(&np->lock);
	if (np->anchored) {
		double heard = (double)np->anchor_frame +
			       (mono_s - np->anchor_mono) * NP_RATE_HZ;
		for (size_t i = 0; i < np->n_pending_tr;) {
			const struct np_transition *tr = &np->pending_tr[i];
			if ((double)tr->start_frame > heard) {
				i++;
				continue;
			}
			np_release_transition(np, i, np->anchor_wall +
				(double)(tr->start_frame - np->anchor_frame) /
				NP_RATE_HZ);
		}
	}
	n_due = np->n_tr_due;
	memcpy(due, np->tr_due, n_due * sizeof(due[0]));
	memcpy(due_at, np->tr_due_at, n_due * sizeof(due_at[0]));
	np->n_tr_due = 0;
	if (np->track_due) {
		track = true;
		cur = np->s.current;
		frame = np->s.current_frame;
		np->track_due = false;
	}
	pthread_mutex_unlock(&np->lock);

	/* Transitions first: each starts before the track it brings in. */
	for (size_t i = 0; i < n_due; i++) {
		json_t *o = nowplaying_transition_json(&due[i]);
		if (!o)
			continue;
		json_object_set_new(o, "started_at", json_out_number(due_at[i]));
		char *data = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (data)
			np_emit(np, "transition", data);
		free(data);
	}
	if (track) {
		json_t *o = json_object();
		json_object_set_new(o, "now_playing", cur.t.id > 0 ?
				    np_played_json(&cur, cur.played_at, true) :
				    json_null());
		json_object_set_new(o, "position_s", json_out_number(
					    (double)frame / NP_RATE_HZ));
		char *data = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (data)
			np_emit(np, "track", data);
		free(data);
	}
}

int nowplaying_wait(struct nowplaying *np, uint64_t seen_id,
		    unsigned timeout_ms)
{
	struct timespec ts;
	int rc = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&np->lock);
	while (np->last_id == seen_id && !np->track_due && rc == 0)
		rc = pthread_cond_timedwait(&np->changed, &np->lock, &ts);
	pthread_mutex_unlock(&np->lock);
	return rc == 0 ? 0 : -ETIMEDOUT;
}

uint64_t nowplaying_last_event_id(struct nowplaying *np)
{
	pthread_mutex_lock(&np->lock);
	uint64_t id = np->last_id;
	pthread_mutex_unlock(&np->lock);
	return id;
}

long nowplaying_sse_next(struct nowplaying *np, uint64_t *cursor, char *buf,
			 size_t max, double wall_s)
{
	size_t used = 0;
	bool resync = false;
	uint64_t last;

	pthread_mutex_lock(&np->lock);
	last = np->last_id;
	uint64_t oldest = last > NP_EVENTS_MAX ? last - NP_EVENTS_MAX + 1 : 1;
	if (*cursor > last || (*cursor + 1 < oldest)) {
		resync = true;
	} else {
		while (*cursor < last) {
			const struct np_event *ev =
				&np->events[(*cursor + 1) % NP_EVENTS_MAX];
			if (ev->len > max - used) {
				if (used == 0) {
					(*cursor)++;
					used = 0;
					pthread_mutex_unlock(&np->lock);
					return -ENOBUFS;
				}
				break;
			}
			memcpy(buf + used, ev->text, ev->len);
			used += ev->len;
			(*cursor)++;
		}
	}
	pthread_mutex_unlock(&np->lock);
	if (!resync)
		return (long)used;

	/* The whole state if it fits the block, else without the older
	 * history: a client that resyncs needs now and next first. */
	char *state = np_json_fit(np, wall_s, max > 64 ? max - 64 : 1);
	*cursor = last;
	if (!state)
		return -ENOBUFS;
	int n = snprintf(buf, max, "id: %" PRIu64 "\nevent: resync\ndata: "
			 "%s\n\n", last, state);
	free(state);
	if (n < 0 || (size_t)n >= max)
		return -ENOBUFS;
	return n;
}

/* ------------------------------------------------------------------ */
/* Metrics.                                                            */

struct np_text {
	char *buf;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
static void np_printf(struct np_text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap * 2 + (size_t)n;
		char *b = realloc(t->buf, cap);
		if (!b) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

static void np_metric_head(struct np_text *t, const char *name,
			   const char *type, const char *help)
{
	np_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *nowplaying_metrics_text(struct nowplaying *np)
{
	struct np_text t = { .cap = 4096 };
	struct np_state *s = np_state_copy(np);
	const struct np_station *st = &np->station;

	if (!s)
		return NULL;
	t.buf = malloc(t.cap);
	if (!t.buf) {
		free(s);
		return NULL;
	}
	t.buf[0] = '\0';
	np_metric_head(&t, "foreverfm_build_info", "gauge",
		       "The version of foreverfm that runs.");
	np_printf(&t, "foreverfm_build_info{version=\"%s\"} 1\n",
		  PACKAGE_VERSION);
	const struct np_metrics *m = &s->metrics;
	np_metric_head(&t, "foreverfm_tracks", "gauge",
		       "Tracks in the library by state.");
	np_printf(&t, "foreverfm_tracks{state=\"playable\"} %" PRIu64 "\n",
		  m->tracks_playable);
	np_printf(&t, "foreverfm_tracks{state=\"analysed\"} %" PRIu64 "\n",
		  m->tracks_analysed);
	np_printf(&t, "foreverfm_tracks{state=\"bad\"} %" PRIu64 "\n",
		  m->tracks_bad);
	np_metric_head(&t, "foreverfm_transitions_total", "counter",
		       "Transitions mixed, by kind.");
	for (size_t i = 0; i < NP_N_KINDS; i++)
		np_printf(&t, "foreverfm_transitions_total{kind=\"%s\"} %"
			  PRIu64 "\n", np_kinds[i], s->transitions[i]);
	np_metric_head(&t, "foreverfm_output_connected", "gauge",
		       "1 while the output streams to its Icecast.");
	for (size_t i = 0; i < st->n_outputs; i++)
		np_printf(&t, "foreverfm_output_connected{output=\"%s\"} %d\n",
			  st->outputs[i].name, m->outputs[i].connected ? 1 : 0);
	np_metric_head(&t, "foreverfm_output_reconnects_total", "counter",
		       "Failed connection attempts and dropped connections.");
	for (size_t i = 0; i < st->n_outputs; i++)
		np_printf(&t, "foreverfm_output_reconnects_total{output=\"%s\"} "
			  "%" PRIu64 "\n", st->outputs[i].name,
			  m->outputs[i].reconnects);
	np_metric_head(&t, "foreverfm_output_sent_bytes_total", "counter",
		       "Encoded bytes sent to Icecast.");
	for (size_t i = 0; i < st->n_outputs; i++)
		np_printf(&t, "foreverfm_output_sent_bytes_total{output=\"%s\"} "
			  "%" PRIu64 "\n", st->outputs[i].name,
			  m->outputs[i].sent_bytes);
	np_metric_head(&t, "foreverfm_mixer_buffer_seconds", "gauge",
		       "Audio mixed and not yet sent by the furthest output.");
	np_printf(&t, "foreverfm_mixer_buffer_seconds %.3f\n", m->buffer_s);
	np_metric_head(&t, "foreverfm_analysis_queue_tracks", "gauge",
		       "Playable tracks still to analyse.");
	np_printf(&t, "foreverfm_analysis_queue_tracks %" PRIu64 "\n",
		  m->analysis_queue);
	if (s->listeners >= 0) {
		np_metric_head(&t, "foreverfm_listeners", "gauge",
			       "Listeners of the station's mounts, as Icecast "
			       "counts them.");
		np_printf(&t, "foreverfm_listeners %ld\n", s->listeners);
	}
	free(s);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

void nowplaying_transition_from(struct np_transition *tr,
				const struct mixer_event *ev)
{
	memset(tr, 0, sizeof(*tr));
	snprintf(tr->kind, sizeof(tr->kind), "%s",
		 transition_kind_name(ev->kind));
	snprintf(tr->reason, sizeof(tr->reason), "%s",
		 ev->reason ? ev->reason : "");
	tr->bars = ev->bars;
	tr->bpm_from = ev->bpm_from;
	tr->bpm_to = ev->bpm_to;
	tr->duration_s = ev->duration_s;
	tr->a_exit_s = ev->a_exit_s;
	tr->b_entry_s = ev->b_entry_s;
	tr->from_id = ev->from ? ev->from->id : 0;
	tr->to_id = ev->track ? ev->track->id : 0;
	snprintf(tr->from, sizeof(tr->from), "%s",
		 ev->from_display ? ev->from_display : "");
	snprintf(tr->to, sizeof(tr->to), "%s", ev->display ? ev->display : "");
	tr->start_frame = ev->frame;
	tr->marker_frame = ev->marker_frame;
}
