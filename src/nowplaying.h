/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nowplaying — what the station plays, as listeners hear it: the current
 * track and the transition that brought it in, the next tracks, the
 * history, the listener count, the counters of /metrics, and a bounded
 * history of the live events (`track`, `transition`, `plan`) that
 * /api/events streams. The HTTP server (http.h) only reads it; the mixer,
 * the outputs and the station's main thread feed it.
 *
 * DESIGN
 * Time: the mixer knows each track change and transition as a position in
 * the stream (a frame of the ring), seconds before anyone hears it. It
 * reports them here as pending (nowplaying_mixer_track(),
 * nowplaying_mixer_transition()). The moment a listener hears a track is
 * the moment an output paces out its marker and changes the ICY title:
 * that output calls nowplaying_heard(), which makes the pending track the
 * current one, stamps started_at with the wall clock of that call and
 * appends a `track` event. The first output to report a marker wins; the
 * others' reports of the same marker are ignored. A transition starts
 * before its marker: nowplaying_tick() (the HTTP server's thread, every
 * 50 ms) releases a pending transition when the stream clock anchored at
 * the last heard marker (frame F heard at monotonic time T: frame F + (t -
 * T) * 44100 is heard at t) reaches its first frame, and stamps it with
 * the wall-clock time that clock gives; a transition whose marker is
 * heard first is released then. Nothing here waits for anything but its
 * own short lock.
 *
 * Snapshots: the lock guards plain structs, held for copies only: writers
 * copy their few hundred bytes in, readers (nowplaying_json(),
 * nowplaying_metrics_text()) copy the state out and build their text with
 * the lock released. The mixer and the outputs therefore never wait for a
 * JSON encoder or a slow client.
 *
 * Events: a ring of NP_EVENTS_MAX events, each with an id that increases
 * by one from 1 and its SSE text made once (NP_EVENT_TEXT_MAX at most).
 * A reader keeps only the id of the last event it got (a cursor):
 * nowplaying_sse_next() gives what follows. A reader whose cursor fell out
 * of the ring (a slow client, a Last-Event-ID from long ago or from
 * another run of the station) gets one `resync` event with the whole
 * /api/nowplaying object and goes on from the newest event: it loses its
 * oldest events, never the station's time.
 *
 * Ownership: nowplaying_create() copies the station description; every
 * setter copies its argument. Texts returned are heap strings the caller
 * frees.
 *
 * Thread rules: every function may be called from any thread, but
 * create/destroy (from the controlling thread, with no other user left).
 */
#ifndef FOREVERFM_NOWPLAYING_H
#define FOREVERFM_NOWPLAYING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "catalog.h"
#include "config.h"
#include "decode.h"
#include "transition.h"

#include <jansson.h>

#define NP_HISTORY_MAX 20
#define NP_NEXT_MAX 5
#define NP_PENDING_MAX 16
#define NP_EVENTS_MAX 256
#define NP_EVENT_TEXT_MAX 8192 /* below the server's block (http.c) */
#define NP_KIND_MAX 16
#define NP_RATE_HZ DECODE_RATE
/* /api/nowplaying's text is reused this long while nothing changed: its
 * elapsed and remaining are then as old (seconds). */
#define NP_JSON_REUSE_S 0.1

/* A track as the API shows it. */
struct np_track {
	int64_t id;                  /* catalog id; 0: silence */
	char artist[DECODE_TAG_MAX];
	char title[DECODE_TAG_MAX];
	char album[DECODE_TAG_MAX];  /* "" when unknown */
	char genre[DECODE_TAG_MAX];  /* "" when unknown */
	char art[CATALOG_URL_MAX];   /* the cover art's URL, "" when none */
	char text[2 * DECODE_TAG_MAX + 4]; /* the ICY "Artist - Title" */
	double duration_s;           /* 0 when unknown */
	bool analysed;               /* bpm, key, loudness, energy known */
	double bpm;                  /* 0: no beat */
	char key[ANALYSIS_KEY_NAME_MAX];
	char camelot[4];
	double loudness_lufs;
	double energy;
	bool has_cover;              /* an embedded picture */
	/* From the catalog's visuals (visuals.h); the mixer's events do not
	 * carry them: nowplaying_set_next() brings them to the tracks. */
	bool has_visuals;            /* a waveform and a colour */
	bool cover_served;           /* /api/tracks/ID/cover answers */
	uint32_t colour;             /* 0xRRGGBB */
};

/* One transition, as the mixer renders it. */
struct np_transition {
	char kind[NP_KIND_MAX];      /* beatmatched | crossfade | cut */
	char reason[TRANSITION_REASON_MAX];
	int bars;                    /* 0 for a crossfade */
	double bpm_from, bpm_to;     /* 0 when unknown */
	double duration_s;
	double a_exit_s;             /* where it starts in A's file */
	double b_entry_s;            /* where B starts to be heard in its file */
	int64_t from_id, to_id;
	char from[2 * DECODE_TAG_MAX + 4];
	char to[2 * DECODE_TAG_MAX + 4];
	uint64_t start_frame;        /* stream position of its first frame */
	uint64_t marker_frame;       /* of the title change */
};

/* A next track of the tour and the transition planned into it. */
struct np_next {
	struct np_track track;
	bool planned;                /* false: not known yet (no analysis) */
	char kind[NP_KIND_MAX];
	int bars;
	double bpm_from, bpm_to;
};

struct np_output {
	char name[64];
	char mount[CONFIG_STRING_MAX];
	char format[8];              /* mp3 | ogg */
	char listen_url[CONFIG_URL_MAX];
};

struct np_station {
	char name[CONFIG_STRING_MAX];
	char description[CONFIG_STRING_MAX];
	struct np_output outputs[CONFIG_OUTPUTS_MAX];
	size_t n_outputs;
};

/* What /metrics shows besides the transitions (counted here). */
struct np_output_metrics {
	bool connected;
	uint64_t reconnects;
	uint64_t sent_bytes;
};

struct np_metrics {
	uint64_t tracks_playable;    /* in the catalog, not bad */
	uint64_t tracks_analysed;
	uint64_t tracks_bad;
	uint64_t analysis_queue;     /* still to analyse */
	double buffer_s;             /* audio mixed but not yet sent */
	struct np_output_metrics outputs[CONFIG_OUTPUTS_MAX];
};

struct nowplaying;

/* Copies *station. Returns NULL with errno = ENOMEM. */
struct nowplaying *nowplaying_create(const struct np_station *station);

/* Accepts NULL. */
void nowplaying_destroy(struct nowplaying *np);

/* The mixer placed the marker of T (NULL: silence) at stream FRAME. */
void nowplaying_mixer_track(struct nowplaying *np, uint64_t frame,
			    const struct np_track *t);

/* The mixer starts transition TR (its frames say where). Counts it. */
void nowplaying_mixer_transition(struct nowplaying *np,
				 const struct np_transition *tr);

/* An output changed its title at the marker of TRACK_ID at stream FRAME:
 * the listener hears it now. WALL_S (CLOCK_REALTIME) and MONO_S
 * (CLOCK_MONOTONIC) are that moment. Markers already heard are ignored. */
void nowplaying_heard(struct nowplaying *np, uint64_t frame,
		      int64_t track_id, double wall_s, double mono_s);

/* Releases the pending transitions that the stream clock says are heard
 * by MONO_S. */
void nowplaying_tick(struct nowplaying *np, double mono_s);

/* Waits until there is an event newer than SEEN_ID or a heard track for
 * nowplaying_tick() to announce, for at most TIMEOUT_MS. Returns 0 or
 * -ETIMEDOUT. */
int nowplaying_wait(struct nowplaying *np, uint64_t seen_id,
		    unsigned timeout_ms);

/* The next tracks (at most NP_NEXT_MAX are kept). PLAN_CHANGED: the tour
 * changed (a new order from the brain): a `plan` event follows. Their
 * visuals also go to the same tracks pending, heard now or in the
 * history that have none (the mixer's reports carry none: the mixer's
 * thread does not wait for the catalog). */
void nowplaying_set_next(struct nowplaying *np, const struct np_next *next,
			 size_t n, bool plan_changed);

/* T's visuals go to every entry of the same track (pending, heard now,
 * next, history) that has none: a track analysed after the mixer
 * reported it. */
void nowplaying_update_visuals(struct nowplaying *np,
			       const struct np_track *t);

/* The id of the track heard now; 0 for silence or before the first. */
int64_t nowplaying_current_id(struct nowplaying *np);

/* -1: unknown (Icecast not reachable). */
void nowplaying_set_listeners(struct nowplaying *np, long listeners);

void nowplaying_set_metrics(struct nowplaying *np, const struct np_metrics *m);

/* The /api/nowplaying object as text, with elapsed and remaining at
 * WALL_S (or up to NP_JSON_REUSE_S before, when the text made then is
 * reused: nothing else changed). Returns a heap string, or NULL (ENOMEM). */
char *nowplaying_json(struct nowplaying *np, double wall_s);

/* The /metrics text (Prometheus text format 0.0.4). Heap, or NULL. */
char *nowplaying_metrics_text(struct nowplaying *np);

/* The id of the newest event, 0 before the first. */
uint64_t nowplaying_last_event_id(struct nowplaying *np);

/* Copies the SSE text of the events after *CURSOR into BUF, whole events
 * only, as many as fit in MAX bytes, and moves *CURSOR past them. A cursor
 * outside the ring (too old, or newer than the newest event) gives one
 * `resync` event (the /api/nowplaying object at WALL_S) and moves to the
 * newest event; the resync's object leaves out older history, then next
 * tracks, until it fits MAX. Returns the bytes written: 0 when there is nothing new,
 * or -ENOBUFS when MAX cannot hold the next event (it is skipped), or
 * -ENOMEM. */
long nowplaying_sse_next(struct nowplaying *np, uint64_t *cursor, char *buf,
			 size_t max, double wall_s);

/* The API's JSON of a track and of a transition (render's log uses them).
 * New references; NULL on allocation failure. */
json_t *nowplaying_track_json(const struct np_track *t);
json_t *nowplaying_transition_json(const struct np_transition *tr);

/* Fills *t from a catalog track and its analysis (NULL: not analysed). */
struct catalog_track;
void nowplaying_track_from(struct np_track *t,
			   const struct catalog_track *ct,
			   const struct analysis *an, const char *text);

/* Adds a track's visuals (NULL: none known) to *t. */
struct visuals;
void nowplaying_track_visuals(struct np_track *t, const struct visuals *v);

/* Fills *tr from the mixer's TRANSITION event (mixer.h). */
struct mixer_event;
void nowplaying_transition_from(struct np_transition *tr,
				const struct mixer_event *ev);

#endif
