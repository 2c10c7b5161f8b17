/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mixer — the thread that turns the play order into one endless PCM stream.
 *
 * DESIGN
 * The mixer asks the playlist for the next track, decodes it in blocks and
 * writes interleaved float stereo at 44.1 kHz into the ring. To crossfade
 * without knowing a track's exact length in advance, it keeps the last
 * crossfade-length of the current track in a bounded tail buffer: audio
 * leaves the tail only when newer audio pushes it out, so at the decoder's
 * end the tail holds exactly the outro to overlap with the next track's
 * intro. Leading and trailing digital silence (below -60 dBFS) is trimmed so
 * that crossfades meet music, not gaps. The crossfade is equal-power
 * (cos/sin gains); a track shorter than two crossfades gets a proportionally
 * shorter one, so every transition fits.
 *
 * The track-change marker goes at the middle of the crossfade, where the
 * incoming track becomes the louder one: that is where the listener hears
 * the new track, and where outputs change the title. The play history entry
 * is written when the marker is placed.
 *
 * A track that fails to open or decode is marked bad in the catalog (one log
 * line) and the next one is taken at once, so bad files never make a gap
 * longer than the time to open the next file. A file that cannot be opened
 * because it is gone (deleted, its folder removed or unmounted) or
 * unreadable is not bad: one log line, and it is left out until the next
 * rescan (mixer_library_rescanned), which marks a deleted one missing. A
 * file that shrinks or goes while it plays ends the track there (one log
 * line) and the tail crossfades into the next, as at any end; an open
 * decoder keeps a deleted or renamed-over file's old content. With no
 * playable track the
 * mixer writes silence, logs that once, and re-reads the catalog every
 * second and at once after mixer_library_changed().
 *
 * Beatmatched transitions (transition.h plans them, doc/transitions.md
 * explains them). The next track B is chosen as soon as the current track
 * A plays alone, so that both analyses (catalog_analysis_get) are known
 * long before A's exit. When both are analysed and the plan is
 * beatmatched, A plays at its own speed up to a pre-roll before its exit;
 * then both decks run through Rubber Band (stretch.h) along the plan's
 * tempo ramp, with equal-power fades, a bass swap (filter.h) and the
 * title marker at the audible middle; B then plays on at its own speed
 * from where the transition left it. Switching a deck between its direct
 * and its stretched audio is a 23 ms crossfade at ratio 1, where the two
 * agree to the sample. Otherwise (a track not analysed yet, a plan that
 * says crossfade, an analysis that does not fit its file, or A ending
 * before its planned exit) the plain crossfade below is used.
 *
 * Every track plays at loudness_target - its integrated loudness when it
 * is analysed (0 dB when not), through its own crossover (an allpass while
 * both band gains are 1, so nothing changes when the bass swap starts);
 * the final mix passes a -1 dBTP look-ahead true-peak limiter (limiter.h)
 * whose latency is hidden: markers and stop_after_frames refer to the
 * audio as written to the ring, exactly as without it.
 *
 * Every transition is logged (one line), and written as one JSON object
 * per line to params.transitions_log when set.
 *
 * The decks tap (params.decks_tap, render --decks): what each deck adds
 * to the sum, block by block, so that a mix can be checked from its audio.
 * Decks are told apart by the parity of the track's index in the play
 * order, not by the slot that plays it. Without a tap the mixer sums as
 * it always did and pays one test per block; with one, the two decks are
 * shaped into separate buffers and then added, which gives the same sum
 * to the bit.
 *
 * Memory: two track slots (decoder, a read-ahead FIFO, a stretcher, a
 * crossover), the tail buffer (the crossfade's audio, at least 5 s), the
 * limiter and a few block buffers, all allocated by mixer_create(), never
 * per block, and written through at once, so that the RSS they account
 * for is there from the start. Only a crossfade set longer later grows
 * the tail, once, in the mixer thread.
 *
 * Thread rules: create/start/destroy from one controlling thread; the
 * setters below may be called from any thread and take effect at the next
 * track.
 */
#ifndef FOREVERFM_MIXER_H
#define FOREVERFM_MIXER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "config.h"
#include "ring.h"
#include "stretch.h"
#include "transition.h"

#define MIXER_CROSSFADE_MAX_S 30.0
#define MIXER_UPCOMING_MAX 16
/* The decks tap's frames: two stereo pairs. */
#define MIXER_DECKS_CHANNELS 4
/* The most frames one call of the decks tap carries. */
#define MIXER_DECKS_FRAMES_MAX 2048

enum mixer_event_type {
	MIXER_EVENT_TRACK,       /* a title marker: the track heard from FRAME */
	MIXER_EVENT_TRANSITION,  /* a transition starts at FRAME */
};

/* What the mixer reports to params.event. Every pointer is borrowed for
 * the call. Frames count the stream from its first frame, as the ring's
 * markers do (the limiter's latency hidden). */
struct mixer_event {
	enum mixer_event_type type;
	uint64_t frame;
	/* TRACK: the track (NULL: silence from here) and its analysis (NULL
	 * when not analysed). TRANSITION: the incoming track, B. */
	const struct catalog_track *track;
	const char *display;             /* its ICY title */
	const struct analysis *analysis;
	/* TRANSITION only. */
	uint64_t marker_frame;           /* B's title marker */
	enum transition_kind kind;
	const char *reason;
	int bars;
	double bpm_from, bpm_to;         /* 0 when unknown */
	double duration_s;
	double a_exit_s, b_entry_s;      /* in each file: the plan's */
	const struct catalog_track *from; /* A */
	const char *from_display;
};

struct mixer_params {
	double crossfade_s;      /* 0 .. MIXER_CROSSFADE_MAX_S */
	double fadeout_s;        /* fade at mixer_fade_out() / end of render */
	uint64_t seed;           /* shuffle seed */
	uint64_t stop_after_frames; /* 0 = endless; else fade out to end here */
	size_t max_tracks;       /* playlist capacity */

	/* Beatmatched transitions. Zero means the default in brackets, so
	 * a params struct that does not name them gets the defaults. */
	bool plain_crossfades;   /* never beatmatch (false) */
	int transition_bars;     /* [mix] transition_bars, 4..64 (16) */
	double max_stretch;      /* [mix] max_stretch, 0..0.5 (0.08) */
	double loudness_target_lufs; /* [mix] loudness_target, -40..-5 (-14) */
	enum stretch_engine stretch_engine; /* [mix] stretch_engine (faster) */
	/* stretch_warm() both stretchers at mixer_create() (false): the
	 * station and render, whose memory should be all there from the
	 * start; not worth 0.2 s of CPU to a short-lived mixer. */
	bool warm_stretchers;
	/* One JSON object per line per transition (render
	 * --transitions-log), flushed after each; NULL for none. Borrowed:
	 * must stay open until mixer_join() returned. */
	FILE *transitions_log;
	/* The decks tap (render --decks); NULL for none. Called by the
	 * mixer thread for every block of mixed frames, in order, with
	 * FRAMES (1 .. MIXER_DECKS_FRAMES_MAX) interleaved frames of
	 * MIXER_DECKS_CHANNELS floats: channels 0-1 the deck of the 1st,
	 * 3rd, 5th... track of the play order, 2-3 that of the 2nd, 4th...;
	 * each what that deck adds to the sum, after its loudness gain,
	 * time-stretch, fades, bass swap and the final fade-out; zeros where
	 * a deck is silent. The two pairs add up to the limiter's input to
	 * float rounding. Call i (counting frames from 0) covers mixed
	 * frames that are ring frames too (the limiter's latency is hidden),
	 * and the calls end at stop_after_frames exactly like the ring's
	 * audio. DECKS is borrowed for the call. The tap must not call the
	 * mixer. It returns 0, or a negative errno: then the mixer ends the
	 * stream (closes the ring) without logging, and mixer_join()
	 * returns that error. */
	int (*decks_tap)(void *ctx, const float *decks, size_t frames);
	void *decks_tap_ctx;
	/* Track changes (each title marker, when it is placed, seconds
	 * before it is heard) and transitions (when they are planned) for
	 * the status server and render --nowplaying-log; NULL for none.
	 * Called on the mixer thread, in stream order; it must not block
	 * nor call the mixer. */
	void (*event)(void *ctx, const struct mixer_event *ev);
	void *event_ctx;
};

/* Zeroes *p and fills in what [mix] configures (crossfade and the
 * beatmatching keys); the caller adds fadeout, seed, length, capacity and
 * the transitions log. */
void mixer_params_from_config(struct mixer_params *p,
			      const struct config *cfg);

/* The transition planner's parameters for P (transition.h), defaults for
 * zeros, exactly as the mixer plans; false when out of range. */
bool mixer_transition_params(const struct mixer_params *p,
			     struct transition_params *tp);

struct mixer_stats {
	uint64_t tracks_started;
	uint64_t tracks_failed;
	uint64_t frames_written;
	int64_t current_track_id;  /* audible track by marker, 0 for none */
	uint64_t transitions_beatmatched;
	uint64_t transitions_crossfaded;
};

struct mixer;

/* Borrows cat and ring (they must outlive the mixer). Returns NULL with
 * errno set: EINVAL for parameters out of range, ENOMEM. */
struct mixer *mixer_create(struct catalog *cat, struct ring *ring,
			   const struct mixer_params *params);

/* Starts the mixer thread. Returns 0 or a negative errno. */
int mixer_start(struct mixer *m);

/* Takes effect at the next transition. */
void mixer_set_crossfade(struct mixer *m, double crossfade_s);

/* The catalog changed (rescan): re-read the playable tracks before the next
 * choice, and leave silence at once if music appeared. */
void mixer_library_changed(struct mixer *m);

/* The library was rescanned: as mixer_library_changed(), and the tracks
 * whose files could not be opened (deleted, a library folder removed or
 * unmounted; not marked bad) are tried again. Any thread. */
void mixer_library_rescanned(struct mixer *m);

/* Fades out over fadeout_s, closes the ring and ends the thread. */
void mixer_fade_out(struct mixer *m);

/* Waits for the thread to end (after a fade out, a stop_after_frames end, or
 * the ring being closed by someone else). Returns the thread's result: 0, or
 * a negative errno if the catalog or the decks tap failed. */
int mixer_join(struct mixer *m);

void mixer_get_stats(struct mixer *m, struct mixer_stats *stats);

/* The track picked last (playing or about to), then the ids the play order
 * will hand out after it (playlist_peek: only the rest of the current
 * round), at most MIXER_UPCOMING_MAX and at most MAX of them into ids; *n
 * receives how many were copied (0 before the first pick). A copy the
 * mixer refreshes at every pick, under a lock of its own, so any thread
 * (the analyzer) may call this at any time. Returns 0. */
int mixer_upcoming(struct mixer *m, int64_t *ids, size_t max, size_t *n);

/* The brain's play order (playlist_set_order: a cycle of track ids that
 * repeats; N = 0 returns to the shuffle). Takes effect at the next pick;
 * never changes the track playing nor the one picked next. Any thread.
 * Returns 0, -E2BIG (more than max_tracks) or -EINVAL. */
int mixer_set_order(struct mixer *m, const int64_t *ids, size_t n,
		    int64_t start_after_id);

/* Closes the ring if the thread still runs, joins, frees; accepts NULL. */
void mixer_destroy(struct mixer *m);

#endif
