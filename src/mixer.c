/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mixer — the thread that turns the play order into one endless PCM stream.
 * See mixer.h for the DESIGN; this file adds how it is carried out.
 *
 * The thread is straight-line code rather than a state machine:
 *
 *   loop: if nothing plays: open the next playable track A (bad ones are
 *           marked and skipped; silence until there is one), marker
 *         open the next track B at once (so the plan can be made early)
 *         play A: up to its planned exit (beatmatched), or to its end
 *           through the tail buffer (crossfade)
 *         beatmatched: render the transition, B continues from its resume
 *           point; else crossfade A's tail into B's intro, marker mid-way
 *         B becomes A
 *
 * Every frame leaves through mixer_emit(), the only place that knows about
 * the end of the stream (stop_after_frames, mixer_fade_out, a ring closed
 * by someone else): it applies the final fade, runs the limiter, cuts at
 * the end frame, closes the ring and sets m->ended, after which every loop
 * above unwinds without writing more. Positions: m->pos_in counts frames
 * given to the limiter; the limiter's first `latency` output frames (its
 * priming silence) are dropped and its last ones flushed at the end, so
 * ring frame i is mixed frame i. Markers are queued at pos_in and placed
 * when the ring write position reaches it.
 *
 * Tail buffer: a circular buffer (sized to the longest crossfade yet, at
 * least MIXER_TRIM_LOOKAHEAD_S; written through at allocation) of
 * the newest audio of the current track, kept back up to the crossfade
 * length but at least MIXER_TRIM_LOOKAHEAD_S. Pushing a block into a full
 * tail first emits its oldest frames. So at the decoder's end it holds the
 * outro, whose trailing digital silence is then dropped, and as much of it
 * as the transition needs is overlapped with the next intro. A track with
 * a beatmatched exit also plays through the tail up to the pre-roll, and
 * the tail is emitted then; should the track end before (a wrong
 * analysis), the tail holds its outro for a plain crossfade instead.
 *
 * Crossfade length L for A -> B (frames) = min(configured, A's played length
 * / 2, B's duration / 2 when known, what the tail holds). The halves ensure a
 * track's intro and outro overlaps never collide, so every transition fits.
 * Gains: a * cos(pi/2 t) + b * sin(pi/2 t), t = (i + 1/2) / L: cos^2 + sin^2
 * = 1 keeps the power of two uncorrelated signals constant.
 *
 * Tracks: each slot reads its decoder into a FIFO (own position pos = the
 * frame index in the file of the FIFO's first frame). Direct play consumes
 * from the FIFO head; in a transition the stretcher is fed from a pointer
 * ahead of it, and frames are dropped once both the stretcher and the
 * direct reader (B's resume point) are past them. Every frame a track
 * contributes passes its crossover and its loudness gain (shape).
 *
 * Beatmatched transition (mixer_beatmatch), in output frames k relative to
 * the transition start (k = 0 at A's exit, D at the end; the tempo ramps
 * from Ka to Kb, transition.h):
 *   k in [-P, 0):    A direct (the loop starts where A's tail ends)
 *   k in [0, Ka - X): A direct; B stretched to A's tempo, its stretcher
 *                    started P before B's entry at B's initial ratio;
 *                    gains and bass swap from transition_gains_at()
 *                    throughout, the marker at the plan's middle
 *   k in [Ka - X, Ka): A direct -> stretched (X = MIXER_DECK_XFADE_FRAMES;
 *                    A's stretcher fed at ratio 1 from Ka - P, its output
 *                    before Ka - X discarded)
 *   k in [Ka, Kb):   both stretched along the ramp
 *   k in [Kb, Kb + X): B stretched -> direct (ratio 1 again)
 *   k in [Kb + X, D): A stretched to B's tempo, B direct; then B plays on
 *                    from its FIFO.
 * So at most one deck is stretched outside the ramp.
 * When the two tempos are the same (their beats would drift apart by at
 * most MIXER_UNSTRETCHED_DRIFT_S over the transition), both decks play
 * direct throughout, B from its entry: no Rubber Band at all.
 * A stretcher's output frame j is its input frame j mapped through the
 * ratio (stretch.h), so each deck knows which k its next output frame is.
 *
 * Decks tap: every mixer_emit() says what its frames are made of
 * (struct mixer_parts: each deck pair's frames, or NULL for a silent
 * one): the tail holds the current track alone; a crossfade and a
 * beatmatched transition keep A's and B's parts in their own buffers
 * when a tap is set (tap_a and mix_b) and add them, in the same float
 * operations as the sum without a tap. mixer_emit_block() hands the parts
 * to the tap with the final fade applied, before it fades the sum in
 * place and the limiter runs. A track's deck pair is the parity of its
 * index in the play order (seq, counted as tracks open), so B is never on
 * A's pair whichever slot each is in.
 *
 * Cut (mixer_cut): A plays through the tail up to its downbeat, its last
 * bar through the filter-out's high-pass as it is pushed (so the tail,
 * and the decks tap, hold it filtered), and its last beat fades out
 * (the cos of a crossfade of that length) alone but for B's lead-in over
 * its last TRANSITION_CUT_LEAD_S: B's first downbeat plays on the frame
 * after the tail's last, where A's next downbeat would have.
 *
 * Memory: two track slots (decoder, FIFO, stretcher, crossover, block
 * buffers), the tail, the filter-out, the limiter, a few mix blocks (two more with a
 * decks tap) and the playlist's id arrays, all allocated by mixer_create.
 */
#include "autoconfig.h"

#include "mixer.h"

#include "filter.h"
#include "limiter.h"
#include "log.h"
#include "playlist.h"
#include "stretch.h"
#include "transition.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MIXER_BLOCK_FRAMES 2048
#define MIXER_SILENCE_BLOCK_FRAMES (DECODE_RATE / 10) /* 100 ms */
#define MIXER_RECHECK_NS 1000000000ULL                 /* 1 s */
#define MIXER_FADEOUT_MAX_S 600.0
/* Trailing silence up to this long is trimmed whatever the crossfade. */
#define MIXER_TRIM_LOOKAHEAD_S 5.0
/* A track ending more than this before its duration is checked for a file
 * that shrank or went while it played. */
#define MIXER_SHORT_END_FRAMES ((uint64_t)DECODE_RATE)             /* 1 s */
/* -60 dBFS: below this a sample counts as digital silence. */
#define MIXER_SILENCE_THRESHOLD 0.001f
/* A track's read-ahead: decoded frames not yet played or not yet fed to
 * its stretcher (the stretcher runs a few thousand frames ahead). */
#define MIXER_FIFO_FRAMES 32768
/* Each deck starts stretching this long before its part of a transition,
 * so Rubber Band has settled when its audio is heard (186 ms). */
#define MIXER_PREROLL_FRAMES 8192
/* A cut's filter-out moves its cutoff this often (0.7 ms). */
#define MIXER_SWEEP_STEP_FRAMES 32
/* Direct <-> stretched switch of a deck (23 ms, at ratio 1). */
#define MIXER_DECK_XFADE_FRAMES 1024
/* A transition whose tempos are this close (beats drifting apart by at
 * most this much over its length at their own speeds) is played without
 * Rubber Band: both decks direct, their grids meeting at the start. */
#define MIXER_UNSTRETCHED_DRIFT_S 0.001
/* Blocks within a transition: gains are interpolated linearly over one. */
#define MIXER_TRANSITION_BLOCK 1024
/* While a track plays and a plan is still missing an analysis, the catalog
 * is asked again this often (frames of the track). */
#define MIXER_REPLAN_FRAMES (5 * DECODE_RATE)
#define MIXER_PENDING_MARKS 8
/* How far a track's decoded length may fall short of its analysis before
 * the analysis is taken as not belonging to the file (MP3 lengths without
 * a Xing tag are estimates). */
#define MIXER_ANALYSIS_SLACK_S 1.0

_Static_assert(MIXER_BLOCK_FRAMES <= MIXER_DECKS_FRAMES_MAX,
	       "a decks tap call carries at most one block");

struct mixer_track {
	struct decoder *dec;
	struct catalog_track info;
	uint64_t seq;             /* index in the play order, from 0 */
	char display[2 * DECODE_TAG_MAX + 4];
	uint64_t duration_frames; /* estimate; 0 when unknown */
	off_t size_at_open;       /* the file's size when opened, -1 unknown */
	uint64_t played_frames;   /* frames taken from it so far */
	bool eof;

	/* FIFO: frames [head, head + len) of fifo are the track's frames
	 * pos, pos + 1, ... (own frame index from the file's start). */
	float *fifo;
	size_t head, len;
	uint64_t pos;

	bool analysed;
	struct analysis an;
	double gain_db;           /* fixed once the track is heard */
	float gain;
	uint64_t solo_from;       /* own frame from which it plays alone */

	struct crossover *xo;
	struct stretch *st;
	float *lo, *hi;           /* crossover bands, one block */
	float *raw;               /* one block of its audio */
	float *aux;               /* one block (stretched vs direct) */
};

/* What the frames given to mixer_emit() are made of, for the decks tap:
 * per deck pair (a track's seq & 1), its part of the sum, or NULL when
 * that deck is silent. Advanced with the frames. */
struct mixer_parts {
	const float *deck[2];
};

struct mixer_pending_mark {
	uint64_t at;              /* mixed frame (m->pos_in) */
	struct ring_marker mk;
};

struct mixer {
	struct catalog *cat;
	struct ring *ring;
	struct mixer_params params;
	struct transition_params tparams;
	struct playlist *pl;
	int64_t *ids;             /* params.max_tracks */
	/* Tracks whose file could not be opened (gone, unreadable): sorted,
	 * params.max_tracks at most, left out of the play order until the
	 * next rescan. Mixer thread only. */
	int64_t *gone;
	size_t n_gone;
	size_t picks_since_refresh;
	bool library_truncated_logged;

	pthread_t thread;
	bool started;
	bool joined;
	int result;

	atomic_int crossfade_ms;
	atomic_bool library_changed;
	atomic_bool retry_gone;   /* a rescan: try the gone tracks again */
	atomic_bool fade_requested;

	/* Mixer thread only. */
	struct mixer_track slots[2];
	uint64_t tracks_opened;   /* the next track's seq */
	float *tail;              /* tail_cap frames, circular */
	size_t tail_cap;          /* mixer_tail_want() of the longest crossfade yet */
	size_t tail_failed;       /* a size it could not grow to, or 0 */
	size_t tail_head;         /* oldest frame */
	size_t tail_count;
	unsigned tail_pair;       /* deck pair of the tail's track */
	float *mix;               /* MIXER_BLOCK_FRAMES frames */
	float *mix_b;             /* MIXER_BLOCK_FRAMES frames */
	float *scratch;           /* MIXER_BLOCK_FRAMES frames */
	float *zeros;             /* STRETCH_CHUNK_FRAMES frames of silence */
	/* Decks tap only (NULL without): A's part of a transition, and one
	 * block of MIXER_DECKS_CHANNELS frames for the tap. */
	float *tap_a;
	float *decks;
	int tap_error;            /* what the tap returned, 0 while fine */
	struct highpass *filter_out; /* a cut's last bar of A (filter.h) */
	struct limiter *lim;
	size_t lim_latency;
	uint64_t lim_out;         /* frames the limiter has put out */
	uint64_t pos_in;          /* frames mixed (given to the limiter) */
	uint64_t written;         /* frames this mixer wrote into the ring */
	uint64_t end_frame;       /* the stream ends here (UINT64_MAX: never) */
	uint64_t fade_frames;
	bool fading;
	bool ended;
	bool silence_marked;      /* the newest marker says "silence" */
	struct mixer_pending_mark pending[MIXER_PENDING_MARKS];
	size_t n_pending;

	pthread_mutex_t stats_lock;
	struct mixer_stats stats;

	pthread_mutex_t upcoming_lock; /* mixer_upcoming(): a copy per pick */
	int64_t upcoming[MIXER_UPCOMING_MAX];
	size_t n_upcoming;
};

static void mixer_upcoming_note(struct mixer *m, int64_t picked);

static uint64_t mixer_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool mixer_frame_silent(const float *frame)
{
	return fabsf(frame[0]) < MIXER_SILENCE_THRESHOLD &&
	       fabsf(frame[1]) < MIXER_SILENCE_THRESHOLD;
}

static void mixer_stats_update(struct mixer *m, int started, int failed,
			       int64_t current)
{
	pthread_mutex_lock(&m->stats_lock);
	m->stats.tracks_started += (uint64_t)started;
	m->stats.tracks_failed += (uint64_t)failed;
	m->stats.frames_written = m->written;
	if (current >= 0)
		m->stats.current_track_id = current;
	pthread_mutex_unlock(&m->stats_lock);
}

/* ------------------------------------------------------------------ */
/* Output: the limiter, markers and the end of the stream live here.   */

static void mixer_end(struct mixer *m)
{
	m->ended = true;
	ring_close(m->ring);
}

/* Places the queued markers whose frame has been reached. */
static void mixer_place_marks(struct mixer *m)
{
	while (m->n_pending > 0 && m->pending[0].at <= m->written &&
	       !m->ended) {
		int rc = ring_mark(m->ring, &m->pending[0].mk);
		if (rc == -EPIPE) {
			m->ended = true;
			return;
		}
		if (rc < 0)
			log_warning("mixer: marker for \"%s\" dropped: %s",
				    m->pending[0].mk.track_id ?
				    m->pending[0].mk.display : "silence",
				    strerror(-rc));
		memmove(m->pending, m->pending + 1,
			(m->n_pending - 1) * sizeof(m->pending[0]));
		m->n_pending--;
	}
}

/* Writes n limited frames into the ring, placing markers on the way. */
static void mixer_ring_write(struct mixer *m, const float *frames, size_t n)
{
	while (n > 0 && !m->ended) {
		mixer_place_marks(m);
		if (m->ended)
			return;
		size_t chunk = n;
		if (m->n_pending > 0 && m->pending[0].at - m->written < chunk)
			chunk = (size_t)(m->pending[0].at - m->written);
		int rc = ring_write(m->ring, frames, chunk);
		if (rc < 0) {
			/* Closed by someone else: the stream is over. */
			m->ended = true;
			return;
		}
		m->written += chunk;
		frames += chunk * DECODE_CHANNELS;
		n -= chunk;
	}
	mixer_place_marks(m);
	mixer_stats_update(m, 0, 0, -1);
}

/* Runs n frames (in place) through the limiter and writes what comes out,
 * minus its priming silence. */
static void mixer_limit_write(struct mixer *m, float *frames, size_t n)
{
	limiter_process(m->lim, frames, frames, n);
	uint64_t first = m->lim_out; /* output index of frames[0] */
	m->lim_out += n;
	size_t skip = 0;
	if (first < m->lim_latency) {
		uint64_t s = m->lim_latency - first;
		skip = s < n ? (size_t)s : n;
	}
	mixer_ring_write(m, frames + skip * DECODE_CHANNELS, n - skip);
}

/* The end frame was reached: flushes the limiter and closes the ring. */
static void mixer_finish(struct mixer *m)
{
	while (!m->ended && m->written < m->pos_in) {
		uint64_t left = m->pos_in - m->written;
		size_t n = left < MIXER_BLOCK_FRAMES ? (size_t)left
						     : MIXER_BLOCK_FRAMES;
		memset(m->scratch, 0, n * DECODE_CHANNELS * sizeof(float));
		mixer_limit_write(m, m->scratch, n);
	}
	mixer_end(m);
}

/* The final fade's gain at mixed frame POS: linear over the last
 * fade_frames before end_frame, 1 before them. */
static float mixer_fade_gain(const struct mixer *m, uint64_t pos)
{
	uint64_t left = m->end_frame - pos;
	if (m->end_frame == UINT64_MAX || left >= m->fade_frames)
		return 1.0f;
	return (float)((double)left / (double)m->fade_frames);
}

/* Hands the decks tap the n frames of PARTS (NULL: silence) from mixed
 * frame m->pos_in on, with the final fade. Returns the tap's result. */
static int mixer_tap(struct mixer *m, const struct mixer_parts *parts,
		     size_t n)
{
	float *d = m->decks;
	for (size_t i = 0; i < n; i++) {
		float g = mixer_fade_gain(m, m->pos_in + i);
		for (size_t p = 0; p < 2; p++) {
			const float *src = parts ? parts->deck[p] : NULL;
			for (size_t c = 0; c < DECODE_CHANNELS; c++)
				d[MIXER_DECKS_CHANNELS * i +
				  DECODE_CHANNELS * p + c] =
					src ? src[DECODE_CHANNELS * i + c] *
					      g : 0.0f;
		}
	}
	return m->params.decks_tap(m->params.decks_tap_ctx, d, n);
}

/* Mixes n frames (n <= MIXER_BLOCK_FRAMES), modified in place by the final
 * fade and the limiter; PARTS (NULL for silence) says what they are made
 * of, for the decks tap, which sees them first (a part may be FRAMES
 * itself). After the stream ended, writes nothing. */
static void mixer_emit_block(struct mixer *m, float *frames, size_t n,
			     const struct mixer_parts *parts)
{
	if (m->ended || n == 0)
		return;
	if (!m->fading && atomic_load(&m->fade_requested)) {
		m->fading = true;
		if (m->pos_in + m->fade_frames < m->end_frame)
			m->end_frame = m->pos_in + m->fade_frames;
	}
	if (n > m->end_frame - m->pos_in)
		n = (size_t)(m->end_frame - m->pos_in);

	if (n > 0 && m->params.decks_tap) {
		int rc = mixer_tap(m, parts, n);
		if (rc < 0) {
			m->tap_error = rc;
			mixer_end(m);
			return;
		}
	}
	/* Linear fade over the last fade_frames before end_frame. */
	uint64_t fade_start = m->end_frame > m->fade_frames
		? m->end_frame - m->fade_frames : 0;
	if (m->end_frame != UINT64_MAX && m->fade_frames > 0 &&
	    m->pos_in + n > fade_start) {
		for (size_t i = 0; i < n; i++) {
			float g = mixer_fade_gain(m, m->pos_in + i);
			frames[2 * i] *= g;
			frames[2 * i + 1] *= g;
		}
	}
	if (n > 0) {
		m->pos_in += n;
		mixer_limit_write(m, frames, n);
	}
	if (m->pos_in >= m->end_frame)
		mixer_finish(m);
}

/* Writes n frames block by block, so that a fade-out request is seen within
 * a block of what is written next. PARTS as for mixer_emit_block(), for
 * all n frames. */
static void mixer_emit(struct mixer *m, float *frames, size_t n,
		       const struct mixer_parts *parts)
{
	struct mixer_parts at = { { NULL, NULL } };
	if (parts)
		at = *parts;
	while (n > 0 && !m->ended) {
		size_t block = n < MIXER_BLOCK_FRAMES ? n : MIXER_BLOCK_FRAMES;
		mixer_emit_block(m, frames, block, parts ? &at : NULL);
		frames += block * DECODE_CHANNELS;
		for (size_t p = 0; p < 2; p++)
			if (at.deck[p])
				at.deck[p] += block * DECODE_CHANNELS;
		n -= block;
	}
}

/* The title changes at the next mixed frame. */
static void mixer_mark(struct mixer *m, const struct mixer_track *t)
{
	if (m->ended)
		return;
	if (m->n_pending == MIXER_PENDING_MARKS) {
		/* Eight title changes within the limiter's 5 ms: the oldest
		 * would be inaudible anyway. */
		memmove(m->pending, m->pending + 1,
			(m->n_pending - 1) * sizeof(m->pending[0]));
		m->n_pending--;
	}
	struct mixer_pending_mark *p = &m->pending[m->n_pending++];
	memset(p, 0, sizeof(*p));
	p->at = m->pos_in;
	if (t) {
		p->mk.track_id = t->info.id;
		snprintf(p->mk.artist, sizeof(p->mk.artist), "%s",
			 t->info.artist);
		snprintf(p->mk.title, sizeof(p->mk.title), "%s", t->info.title);
		snprintf(p->mk.display, sizeof(p->mk.display), "%s",
			 t->display);
	}
	if (m->params.event) {
		struct mixer_event ev = {
			.type = MIXER_EVENT_TRACK,
			.frame = p->at,
			.track = t ? &t->info : NULL,
			.display = t ? t->display : NULL,
			.analysis = t && t->analysed ? &t->an : NULL,
		};
		m->params.event(m->params.event_ctx, &ev);
	}
	mixer_place_marks(m);
	m->silence_marked = !t;
	if (t) {
		log_info("mixer: now playing \"%s\"", t->display);
		/* History failures are logged by the catalog; the music goes
		 * on. */
		catalog_play_add(m->cat, t->info.id, time(NULL));
	}
	mixer_stats_update(m, 0, 0, t ? t->info.id : 0);
}

/* ------------------------------------------------------------------ */
/* Tail buffer.                                                        */

/* Emits the oldest n frames of the tail (n <= tail_count). */
static void mixer_tail_emit(struct mixer *m, size_t n)
{
	while (n > 0 && !m->ended) {
		size_t piece = m->tail_cap - m->tail_head;
		if (piece > n)
			piece = n;
		float *frames = m->tail + m->tail_head * DECODE_CHANNELS;
		struct mixer_parts parts = { { NULL, NULL } };
		parts.deck[m->tail_pair] = frames; /* the tail's track alone */
		mixer_emit(m, frames, piece, &parts);
		m->tail_head = (m->tail_head + piece) % m->tail_cap;
		m->tail_count -= piece;
		n -= piece;
	}
}

/* How much of the current track the tail would keep back: the crossfade,
 * and at least MIXER_TRIM_LOOKAHEAD_S so that trailing silence is trimmed
 * even for short crossfades and hard cuts. */
static size_t mixer_tail_want(int crossfade_ms)
{
	uint64_t frames = (uint64_t)crossfade_ms * DECODE_RATE / 1000;
	uint64_t least = (uint64_t)(MIXER_TRIM_LOOKAHEAD_S * DECODE_RATE);
	return frames < least ? (size_t)least : (size_t)frames;
}

/* Makes the tail tail_cap = want frames long, its frames kept in order
 * from index 0, every page written at once (so the memory it holds is
 * there from now on, not touched bit by bit as the circle turns). Returns
 * false, the tail unchanged, if there is no memory. */
static bool mixer_tail_resize(struct mixer *m, size_t want)
{
	float *tail = malloc(want * DECODE_CHANNELS * sizeof(float));
	if (!tail)
		return false;
	size_t kept = m->tail_count;
	for (size_t i = 0; i < kept;) {
		size_t at = (m->tail_head + i) % m->tail_cap;
		size_t piece = m->tail_cap - at;
		if (piece > kept - i)
			piece = kept - i;
		memcpy(tail + i * DECODE_CHANNELS, m->tail + at * DECODE_CHANNELS,
		       piece * DECODE_CHANNELS * sizeof(float));
		i += piece;
	}
	memset(tail + kept * DECODE_CHANNELS, 0,
	       (want - kept) * DECODE_CHANNELS * sizeof(float));
	free(m->tail);
	m->tail = tail;
	m->tail_cap = want;
	m->tail_head = 0;
	return true;
}

/* How much the tail keeps back: mixer_tail_want() of the crossfade now.
 * Read at every push, so a crossfade set longer mid-track is honoured from
 * then on: the tail grows to it here, in the mixer thread, the only one
 * that touches it (should that fail, it keeps what it has, logged once per
 * size). It is sized to the crossfade rather than to MIXER_CROSSFADE_MAX_S,
 * which would hold 10 MB for a 6 s crossfade. */
static size_t mixer_tail_limit(struct mixer *m)
{
	size_t want = mixer_tail_want(atomic_load(&m->crossfade_ms));
	if (want > m->tail_cap && want != m->tail_failed) {
		if (mixer_tail_resize(m, want))
			m->tail_failed = 0;
		else {
			m->tail_failed = want;
			log_warning("mixer: no memory for a %.1f s tail; "
				    "crossfades stay within %.1f s",
				    (double)want / DECODE_RATE,
				    (double)m->tail_cap / DECODE_RATE);
		}
	}
	return want < m->tail_cap ? want : m->tail_cap;
}

/* Appends n frames (n <= MIXER_BLOCK_FRAMES), emitting what they push
 * out. */
static void mixer_tail_push(struct mixer *m, const float *frames, size_t n)
{
	size_t limit = mixer_tail_limit(m);
	if (m->tail_count + n > limit)
		mixer_tail_emit(m, m->tail_count + n - limit);
	if (m->ended)
		return;
	while (n > 0) {
		size_t at = (m->tail_head + m->tail_count) % m->tail_cap;
		size_t piece = m->tail_cap - at;
		if (piece > n)
			piece = n;
		memcpy(m->tail + at * DECODE_CHANNELS, frames,
		       piece * DECODE_CHANNELS * sizeof(float));
		m->tail_count += piece;
		frames += piece * DECODE_CHANNELS;
		n -= piece;
	}
}

/* Copies the oldest n frames of the tail to out and drops them. */
static void mixer_tail_take(struct mixer *m, float *out, size_t n)
{
	while (n > 0) {
		size_t piece = m->tail_cap - m->tail_head;
		if (piece > n)
			piece = n;
		memcpy(out, m->tail + m->tail_head * DECODE_CHANNELS,
		       piece * DECODE_CHANNELS * sizeof(float));
		m->tail_head = (m->tail_head + piece) % m->tail_cap;
		m->tail_count -= piece;
		out += piece * DECODE_CHANNELS;
		n -= piece;
	}
}

/* Drops trailing silence; returns how many frames were dropped. */
static size_t mixer_tail_trim_silence(struct mixer *m)
{
	size_t dropped = 0;
	while (m->tail_count > 0) {
		size_t newest = (m->tail_head + m->tail_count - 1) % m->tail_cap;
		if (!mixer_frame_silent(m->tail + newest * DECODE_CHANNELS))
			break;
		m->tail_count--;
		dropped++;
	}
	return dropped;
}

/* ------------------------------------------------------------------ */
/* Tracks.                                                             */

static void mixer_track_close(struct mixer_track *t)
{
	decode_close(t->dec);
	t->dec = NULL;
	t->head = t->len = 0;
	t->eof = true;
}

/* At the decoder's end: a track that ends well before its duration
 * because its file shrank (truncated, or rewritten in place) or went while
 * it played says so, once, here. The mix goes on as at any end (the tail
 * crossfades into the next track); the file is not marked bad: the next
 * scan sees it changed, or gone, and judges it. A file that is simply
 * shorter than its header says is not reported. */
static void mixer_track_check_end(const struct mixer_track *t)
{
	uint64_t decoded = t->pos + t->len;
	struct stat st;

	if (t->duration_frames <= decoded + MIXER_SHORT_END_FRAMES)
		return;
	const char *what = NULL;
	if (stat(t->info.path, &st) != 0)
		what = "its file went while it played";
	else if (t->size_at_open >= 0 && st.st_size != t->size_at_open)
		what = "its file changed size while it played";
	if (what)
		log_warning("mixer: %s: ended at %.1f s of %.1f s: %s",
			    t->info.path, (double)decoded / DECODE_RATE,
			    (double)t->duration_frames / DECODE_RATE, what);
}

/* Decodes one more block into the FIFO. Returns the frames added (0 at
 * the end of the track or when the FIFO is full). */
static size_t mixer_track_decode(struct mixer_track *t)
{
	if (t->eof)
		return 0;
	if (t->head + t->len + MIXER_BLOCK_FRAMES > MIXER_FIFO_FRAMES) {
		if (t->len + MIXER_BLOCK_FRAMES > MIXER_FIFO_FRAMES)
			return 0;
		memmove(t->fifo, t->fifo + t->head * DECODE_CHANNELS,
			t->len * DECODE_CHANNELS * sizeof(float));
		t->head = 0;
	}
	for (;;) {
		float *at = t->fifo + (t->head + t->len) * DECODE_CHANNELS;
		ssize_t n = decode_read(t->dec, at, MIXER_BLOCK_FRAMES);
		if (n < 0) {
			log_warning("mixer: %s: decode error: %s; ending the "
				    "track early", t->info.path,
				    strerror((int)-n));
			t->eof = true;
			return 0;
		}
		if (n == 0) {
			t->eof = true;
			mixer_track_check_end(t);
			return 0;
		}
		t->len += (size_t)n;
		return (size_t)n;
	}
}

/* Frames ready at the FIFO head (decoding a block when it is empty); 0 at
 * the end of the track. */
static size_t mixer_track_fill(struct mixer_track *t)
{
	while (t->len == 0 && !t->eof)
		mixer_track_decode(t);
	return t->len;
}

/* Decodes until own frame END - 1 is in the FIFO (or the track ends). */
static void mixer_track_ensure(struct mixer_track *t, uint64_t end)
{
	while (t->pos + t->len < end && mixer_track_decode(t) > 0)
		;
}

static const float *mixer_track_at(const struct mixer_track *t, uint64_t own)
{
	return t->fifo + (t->head + (size_t)(own - t->pos)) * DECODE_CHANNELS;
}

static void mixer_track_consume(struct mixer_track *t, size_t n)
{
	t->head += n;
	t->len -= n;
	t->pos += n;
	t->played_frames += n;
	if (t->len == 0)
		t->head = 0;
}

/* Drops the frames before own frame OWN (decoding through them). */
static void mixer_track_skip_to(struct mixer_track *t, uint64_t own)
{
	while (t->pos < own) {
		size_t avail = mixer_track_fill(t);
		if (avail == 0)
			return;
		uint64_t want = own - t->pos;
		mixer_track_consume(t, want < avail ? (size_t)want : avail);
	}
}

/* Runs n raw frames of t through its crossover and gains into out (added
 * when ADD): out = gain * (low gain * lows + high gain * highs), the band
 * gains moving linearly from *0 to *1 over the block. */
static void mixer_shape(struct mixer_track *t, const float *raw, float *out,
			size_t n, double gl0, double gl1, double gh0,
			double gh1, bool add)
{
	crossover_process(t->xo, raw, t->lo, t->hi, n);
	double g = t->gain;
	for (size_t i = 0; i < n; i++) {
		double f = n > 1 ? (double)i / (double)n : 0;
		float gl = (float)(g * (gl0 + (gl1 - gl0) * f));
		float gh = (float)(g * (gh0 + (gh1 - gh0) * f));
		for (int c = 0; c < DECODE_CHANNELS; c++) {
			size_t k = DECODE_CHANNELS * i + (size_t)c;
			float v = gl * t->lo[k] + gh * t->hi[k];
			out[k] = add ? out[k] + v : v;
		}
	}
}

/* Reads the track's analysis from the catalog if it has none yet. */
static void mixer_track_analysis(struct mixer *m, struct mixer_track *t)
{
	if (t->analysed || !t->dec)
		return;
	int rc = catalog_analysis_get(m->cat, t->info.id, &t->an);
	if (rc == 0)
		t->analysed = true;
	else if (rc != -ENOENT)
		log_warning("mixer: %s: analysis: %s", t->info.path,
			    strerror(-rc));
}

/* Fixes the track's loudness gain from its analysis (0 dB without one),
 * when it becomes audible. */
static void mixer_track_set_gain(struct mixer *m, struct mixer_track *t)
{
	mixer_track_analysis(m, t);
	t->gain_db = t->analysed
		? transition_gain_db(&t->an, m->tparams.loudness_target_lufs)
		: 0.0;
	t->gain = (float)pow(10.0, t->gain_db / 20.0);
}

/* Files that cannot be opened now.
 *
 * open(2) failing because the file or its folder is gone (deleted, the
 * library removed or unmounted) or unreadable says nothing about the file:
 * as for the scanner and the analyzer, such a track is not marked bad. It
 * is logged once and left out of the play order until the next rescan
 * (mixer_library_rescanned: a SIGHUP), which marks a deleted file missing;
 * a track that is back by then (a library remounted) plays again, one
 * still unreadable is logged again. Marking it bad would keep
 * it out for good: a bad track is offered again only when its size or
 * mtime changes, and a remount changes neither. */
static bool mixer_open_errno_gone(int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ENXIO:
	case EACCES: case EPERM:
		return true;
	default:
		return false;
	}
}

/* Neither the file's fault nor lasting (out of descriptors or memory): the
 * track is skipped this time, not marked bad nor remembered as gone. */
static bool mixer_open_errno_passing(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == EINTR;
}

/* Index of the first gone id >= ID. */
static size_t mixer_gone_find(const struct mixer *m, int64_t id)
{
	size_t lo = 0, hi = m->n_gone;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->gone[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool mixer_gone_has(const struct mixer *m, int64_t id)
{
	size_t i = mixer_gone_find(m, id);
	return i < m->n_gone && m->gone[i] == id;
}

/* Remembers ID as gone; when the set is full (as many as max_tracks), it
 * is not remembered and will be tried, and logged, again. */
static void mixer_gone_add(struct mixer *m, int64_t id)
{
	size_t i = mixer_gone_find(m, id);
	if ((i < m->n_gone && m->gone[i] == id) ||
	    m->n_gone >= m->params.max_tracks)
		return;
	memmove(m->gone + i + 1, m->gone + i,
		(m->n_gone - i) * sizeof(*m->gone));
	m->gone[i] = id;
	m->n_gone++;
}

/* Opens track ID into T and decodes up to its first audible frame.
 * Returns 0 when it is ready, 1 when it cannot be played (then it is marked
 * bad and logged, or its file is gone or cannot be opened now (logged once,
 * see mixer_open_errno_gone), or it left the catalog), or a negative
 * errno when the
 * catalog failed. */
static int mixer_track_open(struct mixer *m, struct mixer_track *t, int64_t id)
{
	char reason[DECODE_ERROR_MAX + 64];
	int rc;

	t->dec = NULL;
	t->head = t->len = 0;
	t->pos = 0;
	t->eof = false;
	t->played_frames = 0;
	t->analysed = false;
	t->gain_db = 0;
	t->gain = 1.0f;
	t->solo_from = 0;
	t->size_at_open = -1;
	crossover_reset(t->xo);
	if (mixer_gone_has(m, id))
		return 1; /* gone: skipped until the next rescan */
	rc = catalog_track_get(m->cat, id, &t->info);
	if (rc == -ENOENT)
		return 1; /* gone since the refresh: simply not playable */
	if (rc < 0)
		return rc;

	char err[DECODE_ERROR_MAX] = "";
	t->dec = decode_open(t->info.path, err, sizeof(err));
	if (!t->dec) {
		int e = errno ? errno : EIO;
		if (mixer_open_errno_gone(e) || mixer_open_errno_passing(e)) {
			bool gone = mixer_open_errno_gone(e);
			log_warning("mixer: %s: %s; skipping it%s", t->info.path,
				    strerror(e),
				    gone ? " until the next scan" : "");
			if (gone)
				mixer_gone_add(m, id);
			mixer_stats_update(m, 0, 1, -1);
			return 1;
		}
		snprintf(reason, sizeof(reason), "%s",
			 err[0] ? err : strerror(e));
		goto bad;
	}
	struct stat st;
	if (stat(t->info.path, &st) == 0)
		t->size_at_open = st.st_size;

	/* Leading digital silence is skipped here, so that a crossfade meets
	 * music; a track with no audible frame at all is unplayable. */
	bool any_frame = false;
	for (;;) {
		ssize_t n = decode_read(t->dec, t->fifo, MIXER_BLOCK_FRAMES);
		if (n < 0) {
			snprintf(reason, sizeof(reason), "decode error: %s",
				 strerror((int)-n));
			goto bad;
		}
		if (n == 0) {
			snprintf(reason, sizeof(reason), "%s", any_frame ?
				 "only digital silence" : "no audio frames");
			goto bad;
		}
		any_frame = true;
		size_t i = 0;
		while (i < (size_t)n &&
		       mixer_frame_silent(t->fifo + i * DECODE_CHANNELS))
			i++;
		t->pos += i;
		if (i < (size_t)n) {
			t->head = 0;
			t->len = (size_t)n - i;
			memmove(t->fifo, t->fifo + i * DECODE_CHANNELS,
				t->len * DECODE_CHANNELS * sizeof(float));
			break;
		}
	}

	const struct decode_info *info = decode_get_info(t->dec);
	double duration_s = info->duration_s > 0 ? info->duration_s
						 : t->info.duration_s;
	t->duration_frames = duration_s > 0
		? (uint64_t)(duration_s * DECODE_RATE) : 0;
	decode_display_title(t->info.artist, t->info.title, t->info.path,
			     t->display, sizeof(t->display));
	mixer_track_analysis(m, t);
	/* Every track opened is played (as A, or as B into a transition):
	 * this is its index in the play order. */
	t->seq = m->tracks_opened++;
	return 0;

bad:
	log_warning("mixer: %s: %s; marked bad, skipping", t->info.path,
		    reason);
	mixer_track_close(t);
	catalog_track_bad(m->cat, id, reason);
	mixer_stats_update(m, 0, 1, -1);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Choosing.                                                           */

static int mixer_refresh(struct mixer *m)
{
	size_t n = 0;
	int rc = catalog_playable_ids(m->cat, m->ids, m->params.max_tracks,
				      &n);
	if (rc < 0) {
		log_error("mixer: cannot read the playable tracks: %s",
			  strerror(-rc));
		return rc;
	}
	if (n > m->params.max_tracks) {
		if (!m->library_truncated_logged)
			log_warning("mixer: %zu playable tracks; playing only "
				    "%zu of them (max_tracks)", n,
				    m->params.max_tracks);
		m->library_truncated_logged = true;
		n = m->params.max_tracks;
	}
	if (m->n_gone > 0) {
		/* Both sorted by id: one merge pass. */
		size_t kept = 0, g = 0;
		for (size_t i = 0; i < n; i++) {
			while (g < m->n_gone && m->gone[g] < m->ids[i])
				g++;
			if (g < m->n_gone && m->gone[g] == m->ids[i])
				continue;
			m->ids[kept++] = m->ids[i];
		}
		n = kept;
	}
	rc = playlist_refresh(m->pl, m->ids, n);
	m->picks_since_refresh = 0;
	return rc;
}

/* Opens the next playable track into T, never PREVIOUS (the id of the
 * track playing now, 0 for none) unless it is the only playable one: the
 * playlist avoids repeats among the ids it hands out, but it cannot know
 * that the ids after PREVIOUS failed to open. Returns 1 when a track is
 * open, 0 when none could be (library empty, or every track failed in a
 * row), or a negative errno when the catalog failed. */
static int mixer_open_next(struct mixer *m, struct mixer_track *t,
			   int64_t previous)
{
	size_t failures = 0;
	bool second_pass = false;
	bool passed_previous = false;
	int rc;

	for (;;) {
		bool changed = atomic_exchange(&m->library_changed, false);
		if (atomic_exchange(&m->retry_gone, false)) {
			m->n_gone = 0;
			changed = true;
		}
		if (changed || m->picks_since_refresh >= playlist_size(m->pl)) {
			rc = mixer_refresh(m);
			if (rc < 0)
				return rc;
		}
		size_t size = playlist_size(m->pl);
		if (size == 0)
			return 0;
		if (failures >= size) {
			/* The failed tracks were marked bad, so a refresh
			 * drops them: whatever is left deserves one more pass
			 * (PREVIOUS may be the only good track). A second
			 * round of failures means tracks fail without being
			 * marked (catalog trouble): wait in silence and let
			 * the periodic re-check try again. */
			if (!second_pass) {
				second_pass = true;
				failures = 0;
				rc = mixer_refresh(m);
				if (rc < 0)
					return rc;
				continue;
			}
			log_warning("mixer: %zu tracks in a row failed to "
				    "play; silence until the next check",
				    failures);
			return 0;
		}
		int64_t id;
		rc = playlist_next(m->pl, &id);
		if (rc < 0)
			return 0;
		m->picks_since_refresh++;
		mixer_upcoming_note(m, id);
		if (id == previous && size > 1 && !passed_previous) {
			/* It comes again in the next round. */
			passed_previous = true;
			continue;
		}
		rc = mixer_track_open(m, t, id);
		if (rc == 0)
			return 1;
		if (rc < 0)
			return rc;
		failures++;
	}
}

/* Streams 100 ms blocks of silence until a track is open in T (returns 1),
 * the stream ended (0) or the catalog failed (negative errno). The catalog
 * is re-read every second and at once after mixer_library_changed(). */
static int mixer_silence(struct mixer *m, struct mixer_track *t)
{
	bool empty_logged = false;
	uint64_t last_check_ns = mixer_now_ns();

	if (!m->silence_marked)
		mixer_mark(m, NULL);
	while (!m->ended) {
		if (!empty_logged && playlist_size(m->pl) == 0) {
			log_warning("mixer: library is empty: streaming "
				    "silence");
			empty_logged = true;
		}
		memset(m->mix, 0, MIXER_SILENCE_BLOCK_FRAMES * DECODE_CHANNELS *
		       sizeof(float));
		mixer_emit(m, m->mix, MIXER_SILENCE_BLOCK_FRAMES, NULL);
		if (m->ended)
			break;
		uint64_t now = mixer_now_ns();
		if (!atomic_load(&m->library_changed) &&
		    now - last_check_ns < MIXER_RECHECK_NS)
			continue;
		last_check_ns = now;
		atomic_store(&m->library_changed, false);
		if (atomic_exchange(&m->retry_gone, false))
			m->n_gone = 0;
		int rc = mixer_refresh(m);
		if (rc < 0)
			return rc;
		if (playlist_size(m->pl) == 0)
			continue;
		rc = mixer_open_next(m, t, 0);
		if (rc != 0) {
			if (rc > 0)
				log_info("mixer: music again after silence");
			return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Transitions: the log.                                               */

static void mixer_json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

static void mixer_json_number(FILE *fp, const char *name, double v)
{
	if (isfinite(v) && v != 0.0)
		fprintf(fp, ",\"%s\":%.6f", name, v);
	else if (v == 0.0)
		fprintf(fp, ",\"%s\":0", name);
	else
		fprintf(fp, ",\"%s\":null", name);
}

struct mixer_log_entry {
	enum transition_kind kind;
	const char *reason;
	double position_s;   /* output seconds where the transition starts */
	double marker_s;     /* output seconds of the title change */
	double duration_s;
	double a_exit_s, b_entry_s;
	double bpm_from, bpm_to; /* 0 when unknown */
	int bars;
	double gain_a_db, gain_b_db;
	uint64_t position_frame, marker_frame; /* of position_s, marker_s */
};

static void mixer_log_transition(struct mixer *m, const struct mixer_track *a,
				 const struct mixer_track *b,
				 const struct mixer_log_entry *e)
{
	char bpm[64] = "";
	if (e->bpm_from > 0 && e->bpm_to > 0)
		snprintf(bpm, sizeof(bpm), ", %.2f -> %.2f BPM", e->bpm_from,
			 e->bpm_to);
	log_info("mixer: %s at %.1f s: \"%s\" from %.2f s -> \"%s\" from "
		 "%.2f s%s; %s", transition_kind_name(e->kind), e->position_s,
		 a->display, e->a_exit_s, b->display, e->b_entry_s, bpm,
		 e->reason);
	pthread_mutex_lock(&m->stats_lock);
	if (e->kind == TRANSITION_BEATMATCHED)
		m->stats.transitions_beatmatched++;
	else
		m->stats.transitions_crossfaded++;
	pthread_mutex_unlock(&m->stats_lock);
	if (m->params.event) {
		struct mixer_event ev = {
			.type = MIXER_EVENT_TRANSITION,
			.frame = e->position_frame,
			.marker_frame = e->marker_frame,
			.kind = e->kind,
			.reason = e->reason,
			.bars = e->bars,
			.bpm_from = e->bpm_from,
			.bpm_to = e->bpm_to,
			.duration_s = e->duration_s,
			.a_exit_s = e->a_exit_s,
			.b_entry_s = e->b_entry_s,
			.from = &a->info,
			.from_display = a->display,
			.track = &b->info,
			.display = b->display,
			.analysis = b->analysed ? &b->an : NULL,
		};
		m->params.event(m->params.event_ctx, &ev);
	}

	FILE *fp = m->params.transitions_log;
	if (!fp)
		return;
	fprintf(fp, "{\"position_s\":%.6f", e->position_s);
	mixer_json_number(fp, "marker_s", e->marker_s);
	fprintf(fp, ",\"kind\":");
	mixer_json_string(fp, transition_kind_name(e->kind));
	fprintf(fp, ",\"reason\":");
	mixer_json_string(fp, e->reason);
	fprintf(fp, ",\"from_id\":%" PRId64 ",\"to_id\":%" PRId64, a->info.id,
		b->info.id);
	fprintf(fp, ",\"from\":");
	mixer_json_string(fp, a->display);
	fprintf(fp, ",\"to\":");
	mixer_json_string(fp, b->display);
	mixer_json_number(fp, "a_exit_s", e->a_exit_s);
	mixer_json_number(fp, "b_entry_s", e->b_entry_s);
	mixer_json_number(fp, "bpm_from", e->bpm_from > 0 ? e->bpm_from : NAN);
	mixer_json_number(fp, "bpm_to", e->bpm_to > 0 ? e->bpm_to : NAN);
	fprintf(fp, ",\"bars\":%d", e->bars);
	mixer_json_number(fp, "duration_s", e->duration_s);
	mixer_json_number(fp, "gain_from_db", e->gain_a_db);
	mixer_json_number(fp, "gain_to_db", e->gain_b_db);
	fprintf(fp, "}\n");
	if (fflush(fp) != 0 || ferror(fp)) {
		log_warning("mixer: transitions log: write failed; no more "
			    "entries");
		m->params.transitions_log = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Plain crossfades.                                                   */

static void mixer_start_track(struct mixer *m, struct mixer_track *t)
{
	mixer_mark(m, t);
	mixer_stats_update(m, 1, 0, -1);
}

/* The equal-power gains of frame I of a fade LEN frames long, B's over
 * its last len - B_FROM frames only (0 before). */
static void mixer_crossfade_gains(size_t i, uint64_t len, uint64_t b_from,
				  float *ga, float *gb)
{
	double t = ((double)i + 0.5) / (double)len;
	*ga = (float)cos(M_PI_2 * t);
	if (i < b_from) {
		*gb = 0.0f;
		return;
	}
	t = ((double)(i - b_from) + 0.5) / (double)(len - b_from);
	*gb = (float)sin(M_PI_2 * t);
}

/* Fades the last LEN frames of the tail (A's outro) into B from where B
 * stands, with the marker at the middle of B's part. B comes in over the
 * last B_LEAD frames of the overlap (UINT64_MAX: all of it): a cut's B
 * ramps in up to its downbeat, which so plays where the tail ends, A's
 * next downbeat. KIND is what the log says: a crossfade (A's trailing
 * silence trimmed first) or a cut (A stopped on its downbeat, B
 * positioned on its own: nothing trimmed). WHY says why it is not
 * beatmatched. */
static void mixer_fade(struct mixer *m, const struct mixer_track *a,
		       struct mixer_track *b, const char *why,
		       enum transition_kind kind, uint64_t len,
		       uint64_t b_lead)
{
	size_t trimmed = kind == TRANSITION_CROSSFADE
		? mixer_tail_trim_silence(m) : 0;

	if (len > a->played_frames / 2)
		len = a->played_frames / 2;
	if (b->duration_frames > 0 && len > b->duration_frames / 2)
		len = b->duration_frames / 2;
	if (len > m->tail_count)
		len = m->tail_count;
	uint64_t b_from = b_lead < len ? len - b_lead : 0;

	mixer_tail_emit(m, m->tail_count - (size_t)len);
	if (m->ended)
		return;
	mixer_track_set_gain(m, b);
	size_t mid = (size_t)(b_from + (len - b_from) / 2);
	struct mixer_log_entry e = {
		.kind = kind,
		.reason = why,
		.position_s = (double)m->pos_in / DECODE_RATE,
		.marker_s = (double)(m->pos_in + mid) / DECODE_RATE,
		.duration_s = (double)len / DECODE_RATE,
		.a_exit_s = (double)(a->pos - trimmed - len) / DECODE_RATE,
		/* A cut's: its downbeat, at the end of the overlap. */
		.b_entry_s = (double)(b->pos + (kind == TRANSITION_CUT
					       ? len - b_from : 0)) /
			     DECODE_RATE,
		.bpm_from = a->analysed ? a->an.bpm : 0,
		.bpm_to = b->analysed ? b->an.bpm : 0,
		.gain_a_db = a->gain_db,
		.gain_b_db = b->gain_db,
		.position_frame = m->pos_in,
		.marker_frame = m->pos_in + mid,
	};
	mixer_log_transition(m, a, b, &e);
	if (len == 0) {
		mixer_start_track(m, b);
		return;
	}

	size_t done = 0;
	while (done < len && !m->ended) {
		size_t chunk = (size_t)len - done;
		if (chunk > MIXER_BLOCK_FRAMES)
			chunk = MIXER_BLOCK_FRAMES;
		if (done < mid && done + chunk > mid)
			chunk = mid - done;
		if (done == mid)
			mixer_start_track(m, b);

		mixer_tail_take(m, m->mix, chunk);
		/* Before B's part: silence on B's deck. */
		size_t got = done >= b_from ? 0 :
			     b_from - done < chunk ? (size_t)(b_from - done) :
			     chunk;
		memset(m->mix_b, 0, got * DECODE_CHANNELS * sizeof(float));
		while (got < chunk) {
			size_t avail = mixer_track_fill(b);
			if (avail == 0)
				break;
			if (avail > chunk - got)
				avail = chunk - got;
			mixer_shape(b, mixer_track_at(b, b->pos),
				    m->mix_b + got * DECODE_CHANNELS, avail,
				    1, 1, 1, 1, false);
			mixer_track_consume(b, avail);
			got += avail;
		}
		/* B shorter than its estimate: A fades over nothing. */
		memset(m->mix_b + got * DECODE_CHANNELS, 0,
		       (chunk - got) * DECODE_CHANNELS * sizeof(float));

		struct mixer_parts parts = { { NULL, NULL } };
		if (!m->params.decks_tap) {
			for (size_t i = 0; i < chunk; i++) {
				float ga, gb;
				mixer_crossfade_gains(done + i, len, b_from,
						      &ga, &gb);
				float *o = m->mix + i * DECODE_CHANNELS;
				const float *bb = m->mix_b + i * DECODE_CHANNELS;
				o[0] = o[0] * ga + bb[0] * gb;
				o[1] = o[1] * ga + bb[1] * gb;
			}
		} else {
			/* The same products and sums, the parts kept. */
			for (size_t i = 0; i < chunk; i++) {
				float ga, gb;
				mixer_crossfade_gains(done + i, len, b_from,
						      &ga, &gb);
				float *o = m->mix + i * DECODE_CHANNELS;
				float *pa = m->tap_a + i * DECODE_CHANNELS;
				float *pb = m->mix_b + i * DECODE_CHANNELS;
				for (int c = 0; c < DECODE_CHANNELS; c++) {
					pa[c] = o[c] * ga;
					pb[c] = pb[c] * gb;
					o[c] = pa[c] + pb[c];
				}
			}
			parts.deck[a->seq & 1] = m->tap_a;
			parts.deck[b->seq & 1] = m->mix_b;
		}
		mixer_emit(m, m->mix, chunk, &parts);
		done += chunk;
	}
	b->solo_from = b->pos;
}

/* The plain crossfade of [mix] crossfade_seconds. */
static void mixer_crossfade(struct mixer *m, const struct mixer_track *a,
			    struct mixer_track *b, const char *why)
{
	mixer_fade(m, a, b, why, TRANSITION_CROSSFADE,
		   (uint64_t)atomic_load(&m->crossfade_ms) * DECODE_RATE / 1000,
		   UINT64_MAX);
}

/* The no-clash cut (transition.h): A stands at its downbeat (the tail ends
 * there), B is moved on to its lead-in, and A's last beat fades out alone
 * until B ramps in over the lead-in, so that B's first downbeat plays on
 * the frame where A's next one would have. */
static void mixer_cut(struct mixer *m, const struct mixer_track *a,
		      struct mixer_track *b,
		      const struct transition_plan *plan, const char *why)
{
	int64_t downbeat = llround(plan->b_entry_s * DECODE_RATE);
	int64_t entry = downbeat -
			llround(TRANSITION_CUT_LEAD_S * DECODE_RATE);
	if (entry < 0)
		entry = 0;
	while ((int64_t)b->pos < entry) {
		size_t n = mixer_track_fill(b);
		if (n == 0)
			break;
		if ((int64_t)n > entry - (int64_t)b->pos)
			n = (size_t)(entry - (int64_t)b->pos);
		mixer_track_consume(b, n);
	}
	uint64_t lead = downbeat > (int64_t)b->pos
		? (uint64_t)(downbeat - (int64_t)b->pos) : 0;
	mixer_fade(m, a, b, why, TRANSITION_CUT,
		   (uint64_t)llround(plan->duration_s * DECODE_RATE), lead);
}

/* ------------------------------------------------------------------ */
/* Beatmatched transitions.                                            */

/* One track's part in a transition. Own frames are the track's frame
 * indices; k is the output frame relative to the transition start. */
struct mixer_deck {
	struct mixer_track *t;
	const struct transition_plan *plan;
	bool is_b;
	uint64_t origin;   /* own frame of the stretcher's input frame 0 */
	uint64_t fed;      /* own frame of the next frame to feed */
	uint64_t direct;   /* own frame of the next direct frame (kept) */
	int64_t out_next;  /* k of the stretcher's next output frame */
};

static double mixer_deck_ratio(void *ctx, double x)
{
	const struct mixer_deck *d = ctx;
	double own_s = ((double)d->origin + x) / DECODE_RATE;
	return d->is_b ? transition_ratio_b(d->plan, own_s)
		       : transition_ratio_a(d->plan, own_s);
}

/* Drops the FIFO frames neither the stretcher nor the direct reader
 * needs any more. */
static void mixer_deck_trim(struct mixer_deck *d)
{
	struct mixer_track *t = d->t;
	uint64_t keep = d->fed < d->direct ? d->fed : d->direct;
	if (keep > t->pos) {
		uint64_t n = keep - t->pos;
		mixer_track_consume(t, n < t->len ? (size_t)n : t->len);
	}
}

/* Feeds the stretcher its next chunk: silence before the track's first
 * audible frame and after its end. */
static void mixer_deck_feed(struct mixer *m, struct mixer_deck *d)
{
	struct mixer_track *t = d->t;
	size_t n = STRETCH_CHUNK_FRAMES;
	if (d->fed < t->pos) {
		uint64_t gap = t->pos - d->fed;
		if (gap < n)
			n = (size_t)gap;
		stretch_feed(t->st, m->zeros, n);
	} else {
		mixer_track_ensure(t, d->fed + n);
		uint64_t end = t->pos + t->len;
		if (end > d->fed) {
			if (end - d->fed < n)
				n = (size_t)(end - d->fed);
			stretch_feed(t->st, mixer_track_at(t, d->fed), n);
		} else {
			stretch_feed(t->st, m->zeros, n);
		}
	}
	d->fed += n;
	mixer_deck_trim(d);
}

/* The stretched audio for output frames k .. k + n - 1 into out. */
static void mixer_deck_stretched(struct mixer *m, struct mixer_deck *d,
				 float *out, int64_t k, size_t n)
{
	struct stretch *st = d->t->st;
	while (d->out_next < k) {
		uint64_t want = (uint64_t)(k - d->out_next);
		if (want > MIXER_BLOCK_FRAMES)
			want = MIXER_BLOCK_FRAMES;
		size_t got = stretch_retrieve(st, m->scratch, (size_t)want);
		if (got == 0)
			mixer_deck_feed(m, d);
		d->out_next += (int64_t)got;
	}
	size_t got = 0;
	while (got < n) {
		size_t r = stretch_retrieve(st, out + got * DECODE_CHANNELS,
					    n - got);
		if (r == 0)
			mixer_deck_feed(m, d);
		got += r;
	}
	d->out_next += (int64_t)n;
}

/* The track's own audio from d->direct on: n frames into out. */
static void mixer_deck_direct(struct mixer_deck *d, float *out, size_t n)
{
	struct mixer_track *t = d->t;
	mixer_track_ensure(t, d->direct + n);
	size_t have = 0;
	if (d->direct >= t->pos && t->pos + t->len > d->direct) {
		uint64_t a = t->pos + t->len - d->direct;
		have = a < n ? (size_t)a : n;
		memcpy(out, mixer_track_at(t, d->direct),
		       have * DECODE_CHANNELS * sizeof(float));
	}
	memset(out + have * DECODE_CHANNELS, 0,
	       (n - have) * DECODE_CHANNELS * sizeof(float));
	d->direct += n;
	mixer_deck_trim(d);
}

/* out = from (1 - w) + to w, w rising linearly over [0, len) frames, the
 * first frame of out being frame FIRST of that ramp. */
static void mixer_blend(float *out, const float *from, const float *to,
			size_t n, int64_t first, int64_t len)
{
	for (size_t i = 0; i < n; i++) {
		double w = ((double)(first + (int64_t)i) + 0.5) / (double)len;
		if (w > 1)
			w = 1;
		if (w < 0)
			w = 0;
		for (int c = 0; c < DECODE_CHANNELS; c++) {
			size_t j = DECODE_CHANNELS * i + (size_t)c;
			out[j] = (float)(from[j] * (1 - w) + to[j] * w);
		}
	}
}

/* A has reached its pre-roll (a->pos): renders the transition of PLAN. */
static void mixer_beatmatch(struct mixer *m, struct mixer_track *a,
			    struct mixer_track *b,
			    const struct transition_plan *plan)
{
	const int64_t xf = MIXER_DECK_XFADE_FRAMES;
	const double rate = DECODE_RATE;
	/* A is stretched from the tempo ramp's start (ka; its ratio is 1
	 * up to there), B up to the ramp's end (kb; 1 from there on). */
	double ka_s = transition_beat_time(plan, plan->ramp_from_beat);
	double kb_s = transition_beat_time(plan, plan->ramp_to_beat);
	int64_t ka = llround(ka_s * rate), kb = llround(kb_s * rate);
	/* A's own frame that plays at k = 0 had it kept its own tempo: its
	 * exit, or, when a tempo bridge starts A's ride before the exit (ka
	 * < 0), its own frame at the ride's start minus ka (own and output
	 * frames advance together before the ride). */
	int64_t exit_f = llround(plan->a_exit_s * rate);
	if (ka < 0)
		exit_f = llround(transition_a_time(plan, plan->ramp_from_beat) *
				 rate) - ka;
	uint64_t s_a = a->pos;
	int64_t pre_a = exit_f - (int64_t)s_a;
	if (pre_a < 0)
		pre_a = 0;
	int64_t xa = pre_a + ka < xf ? pre_a + ka : xf;
	/* A's stretcher starts a pre-roll before ka, at ratio 1. */
	int64_t sa_f = exit_f + ka - MIXER_PREROLL_FRAMES;
	if (sa_f < (int64_t)s_a)
		sa_f = (int64_t)s_a;
	int64_t entry_f = llround(plan->b_entry_s * rate);
	uint64_t s_b = entry_f > MIXER_PREROLL_FRAMES
		? (uint64_t)(entry_f - MIXER_PREROLL_FRAMES) : 0;
	double r_b0 = transition_ratio_b(plan, plan->b_entry_s - 1.0);
	int64_t dur = llround(plan->duration_s * rate);
	int64_t mark_k = llround(plan->marker_s * rate);
	/* B's own frame at output frame kb (ratio 1 from the ramp's end). */
	int64_t resume_f = llround(transition_b_time(plan,
						     plan->ramp_to_beat) * rate +
				   ((double)kb - kb_s * rate));
	int64_t end_k = kb + xf > dur ? kb + xf : dur;

	/* Same tempo: no stretching; B's own frame entry_f + k plays at k
	 * throughout, and neither stretcher is fed (fed = UINT64_MAX keeps
	 * only the direct readers' frames in the FIFOs). */
	double r_same = plan->bpm_from > 0 && plan->b_beat_ratio > 0
		? plan->bpm_to / (plan->b_beat_ratio * plan->bpm_from) : 0;
	bool unstretched = fabs(r_same - 1.0) * plan->duration_s <=
			   MIXER_UNSTRETCHED_DRIFT_S;

	mixer_track_set_gain(m, b);
	mixer_track_skip_to(b, s_b);

	struct mixer_deck da = {
		.t = a, .plan = plan, .is_b = false, .origin = (uint64_t)sa_f,
		.fed = (uint64_t)sa_f, .direct = s_a,
		.out_next = sa_f - exit_f,
	};
	struct mixer_deck db = {
		.t = b, .plan = plan, .is_b = true, .origin = s_b,
		.fed = s_b, .direct = (uint64_t)resume_f,
		.out_next = -llround((double)(entry_f - (int64_t)s_b) * r_b0),
	};
	if (unstretched) {
		da.fed = UINT64_MAX;
		db.fed = UINT64_MAX;
		db.direct = (uint64_t)entry_f;
	} else {
		struct stretch_map map_a = { mixer_deck_ratio, &da };
		struct stretch_map map_b = { mixer_deck_ratio, &db };
		stretch_begin(a->st, &map_a);
		stretch_begin(b->st, &map_b);
	}

	struct mixer_log_entry e = {
		.kind = TRANSITION_BEATMATCHED,
		.reason = plan->reason,
		.position_s = (double)(m->pos_in + (uint64_t)pre_a) / rate,
		.marker_s = (double)(m->pos_in + (uint64_t)pre_a +
				     (uint64_t)mark_k) / rate,
		.duration_s = plan->duration_s,
		.a_exit_s = plan->a_exit_s,
		.b_entry_s = plan->b_entry_s,
		.bpm_from = plan->bpm_from,
		.bpm_to = plan->bpm_to,
		.bars = plan->bars,
		.gain_a_db = a->gain_db,
		.gain_b_db = b->gain_db,
		.position_frame = m->pos_in + (uint64_t)pre_a,
		.marker_frame = m->pos_in + (uint64_t)pre_a + (uint64_t)mark_k,
	};
	mixer_log_transition(m, a, b, &e);

	bool marked = false;
	for (int64_t k = -pre_a; k < end_k && !m->ended;) {
		int64_t n = end_k - k;
		if (n > MIXER_TRANSITION_BLOCK)
			n = MIXER_TRANSITION_BLOCK;
		/* Blocks never straddle a change of what plays. */
		const int64_t bounds[] = { 0, ka - xa, ka, mark_k, kb,
					   kb + xf, dur };
		for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
			if (k < bounds[i] && k + n > bounds[i])
				n = bounds[i] - k;
		if (!marked && k >= mark_k) {
			mixer_start_track(m, b);
			marked = true;
		}
		size_t nn = (size_t)n;
		/* Before k = 0, A alone (B is silent); m->mix is A's part
		 * until B is added. */
		struct mixer_parts parts = { { NULL, NULL } };
		parts.deck[a->seq & 1] = m->mix;
		struct transition_gains g0, g1;
		transition_gains_at(plan, (double)k / rate, &g0);
		transition_gains_at(plan, (double)(k + n) / rate, &g1);

		if (k < dur) {
			if (k < ka - xa || unstretched) {
				mixer_deck_direct(&da, a->raw, nn);
			} else if (k < ka) {
				mixer_deck_direct(&da, a->aux, nn);
				mixer_deck_stretched(m, &da, a->raw, k, nn);
				mixer_blend(a->raw, a->aux, a->raw, nn,
					    k - (ka - xa), xa);
			} else {
				/* A's own audio is not needed any more. */
				da.direct = UINT64_MAX;
				mixer_deck_stretched(m, &da, a->raw, k, nn);
			}
			mixer_shape(a, a->raw, m->mix, nn, g0.low_a, g1.low_a,
				    g0.high_a, g1.high_a, false);
		} else {
			memset(m->mix, 0, nn * DECODE_CHANNELS * sizeof(float));
		}
		if (k >= 0) {
			if (unstretched) {
				mixer_deck_direct(&db, b->raw, nn);
			} else if (k < kb) {
				mixer_deck_stretched(m, &db, b->raw, k, nn);
			} else if (k < kb + xf) {
				mixer_deck_stretched(m, &db, b->aux, k, nn);
				mixer_deck_direct(&db, b->raw, nn);
				mixer_blend(b->raw, b->aux, b->raw, nn, k - kb,
					    xf);
			} else {
				/* B's stretcher is not needed any more. */
				db.fed = UINT64_MAX;
				mixer_deck_direct(&db, b->raw, nn);
			}
			if (!m->params.decks_tap) {
				mixer_shape(b, b->raw, m->mix, nn, g0.low_b,
					    g1.low_b, g0.high_b, g1.high_b,
					    true);
			} else {
				/* The same sum, the parts kept. */
				memcpy(m->tap_a, m->mix,
				       nn * DECODE_CHANNELS * sizeof(float));
				mixer_shape(b, b->raw, m->mix_b, nn, g0.low_b,
					    g1.low_b, g0.high_b, g1.high_b,
					    false);
				for (size_t j = 0; j < nn * DECODE_CHANNELS; j++)
					m->mix[j] = m->tap_a[j] + m->mix_b[j];
				parts.deck[a->seq & 1] = m->tap_a;
				parts.deck[b->seq & 1] = m->mix_b;
			}
		}
		mixer_emit(m, m->mix, nn, &parts);
		k += n;
	}
	if (m->ended)
		return;
	/* B plays on from its direct position. */
	db.fed = db.direct;
	mixer_deck_trim(&db);
	if (b->pos < db.direct)
		mixer_track_skip_to(b, db.direct);
	b->played_frames = b->pos > (uint64_t)entry_f
		? b->pos - (uint64_t)entry_f : 0;
	b->solo_from = b->pos;
}

/* ------------------------------------------------------------------ */
/* Playing.                                                            */

/* Plans A -> B. Returns true for a beatmatched plan; otherwise why says
 * why not. */
static bool mixer_plan(struct mixer *m, struct mixer_track *a,
		       struct mixer_track *b, struct transition_plan *plan,
		       char *why, size_t why_size)
{
	/* Whatever returns early leaves no cut behind. */
	plan->kind = TRANSITION_CROSSFADE;
	if (m->params.plain_crossfades) {
		snprintf(why, why_size, "beatmatching is off");
		return false;
	}
	mixer_track_analysis(m, a);
	mixer_track_analysis(m, b);
	if (!a->analysed || !b->analysed) {
		snprintf(why, why_size, "%s not analysed yet",
			 !a->analysed && !b->analysed ? "A and B are" :
			 !a->analysed ? "A is" : "B is");
		return false;
	}
	struct transition_params tp = m->tparams;
	tp.crossfade_s = atomic_load(&m->crossfade_ms) / 1000.0;
	/* The exit must leave room for the pre-roll from here on. */
	uint64_t from = a->pos + MIXER_PREROLL_FRAMES + MIXER_BLOCK_FRAMES;
	if (from < a->solo_from)
		from = a->solo_from;
	tp.a_from_s = (double)from / DECODE_RATE;
	int rc = transition_plan(&a->an, &b->an, &tp, plan);
	if (rc < 0) {
		snprintf(why, why_size, "planning failed: %s", strerror(-rc));
		return false;
	}
	if (plan->kind != TRANSITION_BEATMATCHED) {
		snprintf(why, why_size, "%s", plan->reason);
		return false;
	}
	/* An analysis of another file's content (it changed since) would put
	 * the transition past the end of what the decoder has. */
	const double slack = MIXER_ANALYSIS_SLACK_S * DECODE_RATE;
	if (b->duration_frames > 0 &&
	    plan->b_resume_s * DECODE_RATE > (double)b->duration_frames + slack) {
		snprintf(why, why_size, "B's analysis does not fit its file "
			 "(%.1f s planned, %.1f s long)", plan->b_resume_s,
			 (double)b->duration_frames / DECODE_RATE);
		return false;
	}
	if (a->duration_frames > 0 &&
	    plan->a_end_s * DECODE_RATE > (double)a->duration_frames + slack) {
		snprintf(why, why_size, "A's analysis does not fit its file "
			 "(%.1f s planned, %.1f s long)", plan->a_end_s,
			 (double)a->duration_frames / DECODE_RATE);
		return false;
	}
	return true;
}

/* Own frame where A's pre-roll starts: before its exit, or before its
 * ride and the switch to its stretcher when a tempo bridge starts A's
 * ramp before the exit (at ratio 1 up to there, so own and output frames
 * advance together). */
static uint64_t mixer_preroll_start(const struct mixer_track *a,
				    const struct transition_plan *plan)
{
	double ride_s = plan->ramp_from_beat < 0
		? plan->ramp_from_beat * 60.0 / plan->bpm_from : 0;
	int64_t exit_f = llround((plan->a_exit_s + ride_s) * DECODE_RATE);
	if (ride_s < 0)
		exit_f -= MIXER_DECK_XFADE_FRAMES;
	uint64_t s = exit_f > MIXER_PREROLL_FRAMES
		? (uint64_t)(exit_f - MIXER_PREROLL_FRAMES) : 0;
	return s > a->pos ? s : a->pos;
}

/* Own frame where a cut stops A: its downbeat. */
static uint64_t mixer_cut_stop(const struct mixer_track *a,
			       const struct transition_plan *plan)
{
	int64_t f = llround(plan->a_end_s * DECODE_RATE);
	return f > (int64_t)a->pos ? (uint64_t)f : a->pos;
}

/* The filter-out of a cut (transition.h) over N shaped frames of A in
 * BUF whose first is own frame POS: the part from the sweep's start
 * (FROM) to the cut (STOP) goes through the high-pass, its cutoff moved
 * every MIXER_SWEEP_STEP_FRAMES (the caller resets the filter when it
 * plans the cut). */
static void mixer_filter_out(struct mixer *m, float *buf, uint64_t pos,
			     size_t n, uint64_t from, uint64_t stop)
{
	if (stop <= from || pos + n <= from || pos >= stop)
		return;
	size_t i = pos < from ? (size_t)(from - pos) : 0;
	while (i < n) {
		size_t len = n - i < MIXER_SWEEP_STEP_FRAMES
			? n - i : MIXER_SWEEP_STEP_FRAMES;
		double x = (double)(pos + i - from) / (double)(stop - from);
		highpass_process(m->filter_out, filter_sweep_hz(x),
				 buf + i * DECODE_CHANNELS, len);
		i += len;
	}
}

/* Plays A through the tail up to its pre-roll (a beatmatched plan to B),
 * its downbeat (a cut) or its end. While a plan lacks an analysis, the
 * catalog is asked again every MIXER_REPLAN_FRAMES. Returns
 * TRANSITION_BEATMATCHED when A reached the pre-roll of *plan,
 * TRANSITION_CUT when it reached the cut, TRANSITION_CROSSFADE otherwise
 * (why says why). B may be NULL (play A to its end). */
static enum transition_kind mixer_play_body(struct mixer *m,
					    struct mixer_track *a,
					    struct mixer_track *b,
					    struct transition_plan *plan,
					    char *why, size_t why_size)
{
	bool bm = b && mixer_plan(m, a, b, plan, why, why_size);
	bool cut = b && !bm && plan->kind == TRANSITION_CUT;
	uint64_t stop = bm ? mixer_preroll_start(a, plan) :
			cut ? mixer_cut_stop(a, plan) : UINT64_MAX;
	uint64_t filter_from = cut
		? (uint64_t)llround(plan->a_filter_s * DECODE_RATE) : UINT64_MAX;
	highpass_reset(m->filter_out);
	uint64_t next_check = a->pos + MIXER_REPLAN_FRAMES;
	/* The tail is empty here (the last transition or track end drained
	 * it): from now on it holds A alone. */
	m->tail_pair = (unsigned)(a->seq & 1);
	while (!m->ended && a->pos < stop) {
		size_t n = mixer_track_fill(a);
		if (n == 0)
			break;
		if (n > MIXER_BLOCK_FRAMES)
			n = MIXER_BLOCK_FRAMES;
		if (stop - a->pos < n)
			n = (size_t)(stop - a->pos);
		mixer_shape(a, mixer_track_at(a, a->pos), m->scratch, n, 1, 1,
			    1, 1, false);
		if (cut)
			mixer_filter_out(m, m->scratch, a->pos, n, filter_from,
					 stop);
		mixer_tail_push(m, m->scratch, n);
		mixer_track_consume(a, n);
		if (b && !bm && a->pos >= next_check &&
		    !m->params.plain_crossfades &&
		    !(a->analysed && b->analysed)) {
			next_check = a->pos + MIXER_REPLAN_FRAMES;
			bm = mixer_plan(m, a, b, plan, why, why_size);
			cut = !bm && plan->kind == TRANSITION_CUT;
			if (bm) {
				stop = mixer_preroll_start(a, plan);
			} else if (cut) {
				stop = mixer_cut_stop(a, plan);
				filter_from = (uint64_t)llround(
					plan->a_filter_s * DECODE_RATE);
			}
		}
	}
	if ((bm || cut) && a->pos < stop && !m->ended)
		snprintf(why, why_size, "A ended at %.1f s, before its planned "
			 "%s at %.1f s", (double)a->pos / DECODE_RATE,
			 bm ? "exit" : "cut", bm ? plan->a_exit_s : plan->a_end_s);
	if (a->pos < stop)
		return TRANSITION_CROSSFADE;
	return bm ? TRANSITION_BEATMATCHED :
	       cut ? TRANSITION_CUT : TRANSITION_CROSSFADE;
}

static int mixer_run(struct mixer *m)
{
	struct mixer_track *cur = NULL;
	int rc = mixer_refresh(m);
	struct transition_plan plan;
	char why[TRANSITION_REASON_MAX];

	while (rc >= 0 && !m->ended) {
		if (!cur) {
			cur = &m->slots[0];
			rc = mixer_open_next(m, cur, 0);
			if (rc < 0)
				break;
			if (rc == 0) {
				rc = mixer_silence(m, cur);
				if (rc <= 0)
					break;
			}
			mixer_track_set_gain(m, cur);
			mixer_start_track(m, cur);
			cur->solo_from = cur->pos;
		}
		struct mixer_track *next =
			cur == &m->slots[0] ? &m->slots[1] : &m->slots[0];
		rc = mixer_open_next(m, next, cur->info.id);
		if (rc < 0)
			break;
		if (rc > 0) {
			enum transition_kind k = mixer_play_body(
				m, cur, next, &plan, why, sizeof(why));
			if (k == TRANSITION_BEATMATCHED) {
				mixer_tail_emit(m, m->tail_count);
				mixer_beatmatch(m, cur, next, &plan);
			} else if (k == TRANSITION_CUT) {
				mixer_cut(m, cur, next, &plan, why);
			} else {
				mixer_crossfade(m, cur, next, why);
			}
		} else {
			/* Nothing to go to yet: A plays to its end, then one
			 * more look. */
			mixer_play_body(m, cur, NULL, &plan, why, sizeof(why));
			rc = mixer_open_next(m, next, cur->info.id);
			if (rc < 0)
				break;
			if (rc == 0) {
				mixer_tail_trim_silence(m);
				mixer_tail_emit(m, m->tail_count);
				mixer_track_close(cur);
				cur = NULL;
				continue;
			}
			mixer_crossfade(m, cur, next, "B was found only as A "
					"ended");
		}
		mixer_track_close(cur);
		cur = next;
	}
	for (size_t i = 0; i < 2; i++)
		mixer_track_close(&m->slots[i]);
	/* However it ended, readers must see the end of the stream. */
	if (!m->ended)
		mixer_end(m);
	if (m->tap_error < 0)
		return m->tap_error;
	return rc < 0 ? rc : 0;
}

static void *mixer_thread(void *arg)
{
	struct mixer *m = arg;
	m->result = mixer_run(m);
	/* A failed tap has said why itself. */
	if (m->result < 0 && m->tap_error == 0)
		log_error("mixer: stopped: %s", strerror(-m->result));
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Public functions.                                                   */

static int mixer_crossfade_ms(double crossfade_s)
{
	if (!(crossfade_s > 0)) /* also NaN */
		return 0;
	if (crossfade_s > MIXER_CROSSFADE_MAX_S)
		crossfade_s = MIXER_CROSSFADE_MAX_S;
	return (int)lround(crossfade_s * 1000.0);
}

bool mixer_transition_params(const struct mixer_params *p,
			     struct transition_params *tp)
{
	transition_params_default(tp);
	if (p->transition_bars != 0)
		tp->bars = p->transition_bars;
	if (p->max_stretch != 0)
		tp->max_stretch = p->max_stretch;
	if (p->loudness_target_lufs != 0)
		tp->loudness_target_lufs = p->loudness_target_lufs;
	tp->crossfade_s = p->crossfade_s;
	return tp->bars >= TRANSITION_MIN_BARS &&
	       tp->bars <= TRANSITION_MAX_BARS && tp->max_stretch > 0 &&
	       tp->max_stretch <= 0.5 && tp->loudness_target_lufs >= -40 &&
	       tp->loudness_target_lufs <= -5 &&
	       (p->stretch_engine == STRETCH_ENGINE_FASTER ||
		p->stretch_engine == STRETCH_ENGINE_FINER);
}

static void mixer_free(struct mixer *m)
{
	for (size_t i = 0; i < 2; i++) {
		struct mixer_track *t = &m->slots[i];
		decode_close(t->dec);
		free(t->fifo);
		crossover_destroy(t->xo);
		stretch_destroy(t->st);
		free(t->lo);
		free(t->hi);
		free(t->raw);
		free(t->aux);
	}
	limiter_destroy(m->lim);
	highpass_destroy(m->filter_out);
	free(m->decks);
	free(m->tap_a);
	free(m->zeros);
	free(m->scratch);
	free(m->mix_b);
	free(m->mix);
	free(m->tail);
	free(m->ids);
	free(m->gone);
	playlist_destroy(m->pl);
	free(m);
}

/* A zeroed buffer of frames, every page of it written now: a buffer the
 * mixer fills only as deep as some track or transition needs would
 * otherwise add to the RSS bit by bit, for as long as it takes the library
 * to reach its deepest use. */
static float *mixer_block_alloc(size_t frames)
{
	float *block = malloc(frames * DECODE_CHANNELS * sizeof(float));
	if (block)
		memset(block, 0, frames * DECODE_CHANNELS * sizeof(float));
	return block;
}

struct mixer *mixer_create(struct catalog *cat, struct ring *ring,
			   const struct mixer_params *params)
{
	struct mixer *m = NULL;
	struct transition_params tp;
	int err = 0;
	bool stats_lock = false;

	if (!cat || !ring || !params || !(params->crossfade_s >= 0) ||
	    params->crossfade_s > MIXER_CROSSFADE_MAX_S ||
	    !(params->fadeout_s >= 0) ||
	    params->fadeout_s > MIXER_FADEOUT_MAX_S ||
	    params->max_tracks == 0 ||
	    params->max_tracks > SIZE_MAX / sizeof(int64_t) / 8 ||
	    !mixer_transition_params(params, &tp)) {
		err = EINVAL;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = ENOMEM;
		goto out;
	}
	m->cat = cat;
	m->ring = ring;
	m->params = *params;
	m->tparams = tp;
	atomic_init(&m->crossfade_ms, mixer_crossfade_ms(params->crossfade_s));
	atomic_init(&m->library_changed, false);
	atomic_init(&m->retry_gone, false);
	atomic_init(&m->fade_requested, false);
	m->end_frame = params->stop_after_frames ? params->stop_after_frames
						 : UINT64_MAX;
	m->fade_frames = (uint64_t)llround(params->fadeout_s * DECODE_RATE);

	m->pl = playlist_create(params->max_tracks, params->seed);
	if (!m->pl) {
		err = errno;
		goto out;
	}
	struct limiter_params lp;
	limiter_params_default(&lp);
	m->lim = limiter_create(&lp);
	if (!m->lim) {
		err = errno;
		goto out;
	}
	m->lim_latency = limiter_latency(m->lim);
	m->filter_out = highpass_create();
	if (!m->filter_out) {
		err = errno;
		goto out;
	}
	m->ids = calloc(params->max_tracks, sizeof(*m->ids));
	m->gone = calloc(params->max_tracks, sizeof(*m->gone));
	if (!mixer_tail_resize(m, mixer_tail_want(atomic_load(
					 &m->crossfade_ms)))) {
		err = ENOMEM;
		goto out;
	}
	m->mix = mixer_block_alloc(MIXER_SILENCE_BLOCK_FRAMES >
				   MIXER_BLOCK_FRAMES
				   ? MIXER_SILENCE_BLOCK_FRAMES
				   : MIXER_BLOCK_FRAMES);
	m->mix_b = mixer_block_alloc(MIXER_BLOCK_FRAMES);
	m->scratch = mixer_block_alloc(MIXER_BLOCK_FRAMES);
	m->zeros = mixer_block_alloc(STRETCH_CHUNK_FRAMES);
	if (!m->ids || !m->gone || !m->tail || !m->mix || !m->mix_b || !m->scratch ||
	    !m->zeros) {
		err = ENOMEM;
		goto out;
	}
	if (params->decks_tap) {
		m->tap_a = mixer_block_alloc(MIXER_BLOCK_FRAMES);
		m->decks = calloc(MIXER_BLOCK_FRAMES * MIXER_DECKS_CHANNELS,
				  sizeof(float));
		if (!m->tap_a || !m->decks) {
			err = ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		struct mixer_track *t = &m->slots[i];
		t->eof = true;
		t->fifo = mixer_block_alloc(MIXER_FIFO_FRAMES);
		t->lo = mixer_block_alloc(MIXER_BLOCK_FRAMES);
		t->hi = mixer_block_alloc(MIXER_BLOCK_FRAMES);
		t->raw = mixer_block_alloc(MIXER_BLOCK_FRAMES);
		t->aux = mixer_block_alloc(MIXER_BLOCK_FRAMES);
		if (!t->fifo || !t->lo || !t->hi || !t->raw || !t->aux) {
			err = ENOMEM;
			goto out;
		}
		t->xo = crossover_create(FILTER_CROSSOVER_HZ);
		if (!t->xo) {
			err = errno;
			goto out;
		}
		t->st = stretch_create(params->stretch_engine);
		if (!t->st) {
			err = errno;
			goto out;
		}
		/* A deck is slowed by at most max_stretch; the margin is for
		 * the ratio timing's corrections (stretch.h). */
		stretch_reserve(t->st, (1 + tp.max_stretch) * 1.02);
		if (params->warm_stretchers && !params->plain_crossfades)
			stretch_warm(t->st, (1 + tp.max_stretch) * 1.02);
	}
	err = pthread_mutex_init(&m->stats_lock, NULL);
	if (err)
		goto out;
	stats_lock = true;
	err = pthread_mutex_init(&m->upcoming_lock, NULL);
out:
	if (err != 0) {
		if (m) {
			if (stats_lock)
				pthread_mutex_destroy(&m->stats_lock);
			mixer_free(m);
		}
		errno = err;
		return NULL;
	}
	return m;
}

int mixer_start(struct mixer *m)
{
	if (m->started)
		return -EALREADY;
	int rc = pthread_create(&m->thread, NULL, mixer_thread, m);
	if (rc != 0)
		return -rc;
	m->started = true;
	return 0;
}

void mixer_set_crossfade(struct mixer *m, double crossfade_s)
{
	atomic_store(&m->crossfade_ms, mixer_crossfade_ms(crossfade_s));
}

void mixer_library_changed(struct mixer *m)
{
	atomic_store(&m->library_changed, true);
}

void mixer_library_rescanned(struct mixer *m)
{
	atomic_store(&m->retry_gone, true);
	atomic_store(&m->library_changed, true);
}

void mixer_fade_out(struct mixer *m)
{
	atomic_store(&m->fade_requested, true);
}

int mixer_join(struct mixer *m)
{
	if (!m->started)
		return -EINVAL;
	if (!m->joined) {
		pthread_join(m->thread, NULL);
		m->joined = true;
	}
	return m->result;
}

void mixer_get_stats(struct mixer *m, struct mixer_stats *stats)
{
	pthread_mutex_lock(&m->stats_lock);
	*stats = m->stats;
	pthread_mutex_unlock(&m->stats_lock);
}

void mixer_destroy(struct mixer *m)
{
	if (!m)
		return;
	if (m->started && !m->joined) {
		ring_close(m->ring);
		mixer_join(m);
	}
	pthread_mutex_destroy(&m->stats_lock);
	pthread_mutex_destroy(&m->upcoming_lock);
	mixer_free(m);
}

/* ------------------------------------------------------------------ */
/* Look-ahead for the analyzer.                                        */

/* Mixer thread, at every pick: PICKED, then what the playlist has next. */
static void mixer_upcoming_note(struct mixer *m, int64_t picked)
{
	size_t n = 0;
	pthread_mutex_lock(&m->upcoming_lock);
	m->upcoming[0] = picked;
	playlist_peek(m->pl, m->upcoming + 1, MIXER_UPCOMING_MAX - 1, &n);
	m->n_upcoming = n + 1;
	pthread_mutex_unlock(&m->upcoming_lock);
}

int mixer_upcoming(struct mixer *m, int64_t *ids, size_t max, size_t *n)
{
	pthread_mutex_lock(&m->upcoming_lock);
	size_t k = m->n_upcoming < max ? m->n_upcoming : max;
	memcpy(ids, m->upcoming, k * sizeof(*ids));
	pthread_mutex_unlock(&m->upcoming_lock);
	*n = k;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The brain's order.                                                  */

int mixer_set_order(struct mixer *m, const int64_t *ids, size_t n,
		    int64_t start_after_id)
{
	/* The playlist takes its own lock: safe against the mixer thread. */
	return playlist_set_order(m->pl, ids, n, start_after_id);
}

void mixer_params_from_config(struct mixer_params *p,
			      const struct config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->crossfade_s = cfg->crossfade_s;
	p->plain_crossfades = !cfg->beatmatch;
	p->transition_bars = cfg->transition_bars;
	p->max_stretch = cfg->max_stretch;
	p->loudness_target_lufs = cfg->loudness_target_lufs;
	p->stretch_engine = cfg->stretch_engine;
	p->warm_stretchers = true;
}
