/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mixer — the thread that turns the play order into one endless PCM stream.
 * See mixer.h for the DESIGN; this file adds how it is carried out.
 *
 * The thread is straight-line code rather than a state machine:
 *
 *   loop: open the next playable track B (bad ones are marked and skipped)
 *         if there is none: flush A's tail, stream silence until there is
 *         if A exists: crossfade A's tail into B's intro, marker mid-way
 *         else:        marker at B's first frame
 *         decode B to its end through the tail buffer; B becomes A
 *
 * Every frame leaves through mixer_emit(), which is the only place that
 * knows about the end of the stream (stop_after_frames, mixer_fade_out, a
 * ring closed by someone else): it applies the final fade, cuts at the end
 * frame, closes the ring and sets m->ended, after which every loop above
 * unwinds without writing more.
 *
 * Tail buffer: a circular buffer (allocated for MIXER_CROSSFADE_MAX_S) of
 * the newest audio decoded from the current track, kept back up to the
 * crossfade length but at least MIXER_TRIM_LOOKAHEAD_S. Pushing a block
 * into a full tail first emits its oldest frames. So at the decoder's end it
 * holds the outro, whose trailing digital silence is then dropped, and as
 * much of it as the transition needs is overlapped with the next intro.
 * Decoding runs at most that far ahead of what was written, so the ring
 * never waits long for the mixer at a track start.
 *
 * Crossfade length L for A -> B (frames) = min(configured, A's played length
 * / 2, B's duration / 2 when known, what the tail holds). The halves ensure a
 * track's intro and outro overlaps never collide, so every transition fits.
 * Gains: a * cos(pi/2 t) + b * sin(pi/2 t), t = (i + 1/2) / L: cos^2 + sin^2
 * = 1 keeps the power of two uncorrelated signals constant.
 *
 * Memory: two track slots (decoder + one decoded block each), the tail, one
 * mix block and the playlist's id arrays, all allocated by mixer_create.
 */
#include "autoconfig.h"

#include "mixer.h"

#include "log.h"
#include "playlist.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIXER_BLOCK_FRAMES 2048
#define MIXER_SILENCE_BLOCK_FRAMES (DECODE_RATE / 10) /* 100 ms */
#define MIXER_RECHECK_NS 1000000000ULL                 /* 1 s */
#define MIXER_FADEOUT_MAX_S 600.0
/* Trailing silence up to this long is trimmed whatever the crossfade. */
#define MIXER_TRIM_LOOKAHEAD_S 5.0
/* -60 dBFS: below this a sample counts as digital silence. */
#define MIXER_SILENCE_THRESHOLD 0.001f

struct mixer_track {
	struct decoder *dec;
	struct catalog_track info;
	char display[2 * DECODE_TAG_MAX + 4];
	uint64_t duration_frames; /* estimate; 0 when unknown */
	uint64_t played_frames;   /* frames taken from it so far */
	float *buf;               /* one decoded block */
	size_t buf_off;           /* first unconsumed frame in buf */
	size_t buf_len;
	bool eof;
};

struct mixer {
	struct catalog *cat;
	struct ring *ring;
	struct mixer_params params;
	struct playlist *pl;
	int64_t *ids;             /* params.max_tracks */
	size_t picks_since_refresh;
	bool library_truncated_logged;

	pthread_t thread;
	bool started;
	bool joined;
	int result;

	atomic_int crossfade_ms;
	atomic_bool library_changed;
	atomic_bool fade_requested;

	/* Mixer thread only. */
	struct mixer_track slots[2];
	float *tail;              /* tail_cap frames, circular */
	size_t tail_cap;
	size_t tail_head;         /* oldest frame */
	size_t tail_count;
	float *mix;               /* MIXER_BLOCK_FRAMES frames */
	float *mix_b;             /* MIXER_BLOCK_FRAMES frames */
	uint64_t written;         /* frames this mixer wrote into the ring */
	uint64_t end_frame;       /* the stream ends here (UINT64_MAX: never) */
	uint64_t fade_frames;
	bool fading;
	bool ended;
	bool silence_marked;      /* the newest marker says "silence" */

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
/* Output: the end of the stream lives here.                           */

static void mixer_end(struct mixer *m)
{
	m->ended = true;
	ring_close(m->ring);
}

/* Writes n frames (n <= MIXER_BLOCK_FRAMES), modified in place by the
 * final fade. After the stream ended, writes nothing. */
static void mixer_emit_block(struct mixer *m, float *frames, size_t n)
{
	if (m->ended || n == 0)
		return;
	if (!m->fading && atomic_load(&m->fade_requested)) {
		m->fading = true;
		if (m->written + m->fade_frames < m->end_frame)
			m->end_frame = m->written + m->fade_frames;
	}
	if (n > m->end_frame - m->written)
		n = (size_t)(m->end_frame - m->written);

	/* Linear fade over the last fade_frames before end_frame. */
	uint64_t fade_start = m->end_frame > m->fade_frames
		? m->end_frame - m->fade_frames : 0;
	if (m->end_frame != UINT64_MAX && m->fade_frames > 0 &&
	    m->written + n > fade_start) {
		for (size_t i = 0; i < n; i++) {
			uint64_t pos = m->written + i;
			uint64_t left = m->end_frame - pos;
			if (left >= m->fade_frames)
				continue;
			float g = (float)((double)left / (double)m->fade_frames);
			frames[2 * i] *= g;
			frames[2 * i + 1] *= g;
		}
	}

	if (n > 0) {
		int rc = ring_write(m->ring, frames, n);
		if (rc < 0) {
			/* Closed by someone else: the stream is over. */
			m->ended = true;
			return;
		}
		m->written += n;
		mixer_stats_update(m, 0, 0, -1);
	}
	if (m->written >= m->end_frame)
		mixer_end(m);
}

/* Writes n frames block by block, so that a fade-out request is seen within
 * a block of what is written next. */
static void mixer_emit(struct mixer *m, float *frames, size_t n)
{
	while (n > 0 && !m->ended) {
		size_t block = n < MIXER_BLOCK_FRAMES ? n : MIXER_BLOCK_FRAMES;
		mixer_emit_block(m, frames, block);
		frames += block * DECODE_CHANNELS;
		n -= block;
	}
}

static void mixer_mark(struct mixer *m, const struct mixer_track *t)
{
	struct ring_marker mk;
	memset(&mk, 0, sizeof(mk));
	if (m->ended)
		return;
	if (t) {
		mk.track_id = t->info.id;
		snprintf(mk.artist, sizeof(mk.artist), "%s", t->info.artist);
		snprintf(mk.title, sizeof(mk.title), "%s", t->info.title);
		snprintf(mk.display, sizeof(mk.display), "%s", t->display);
	}
	int rc = ring_mark(m->ring, &mk);
	if (rc == -EPIPE) {
		m->ended = true;
		return;
	}
	if (rc < 0)
		log_warning("mixer: marker for \"%s\" dropped: %s",
			    t ? t->display : "silence", strerror(-rc));
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
		mixer_emit(m, m->tail + m->tail_head * DECODE_CHANNELS, piece);
		m->tail_head = (m->tail_head + piece) % m->tail_cap;
		m->tail_count -= piece;
		n -= piece;
	}
}

/* How much of the current track the tail keeps back: the crossfade, and
 * at least MIXER_TRIM_LOOKAHEAD_S so that trailing silence is trimmed even
 * for short crossfades and hard cuts. Read at every push, so a crossfade
 * set longer mid-track is honoured from then on. */
static size_t mixer_tail_limit(struct mixer *m)
{
	uint64_t frames = (uint64_t)atomic_load(&m->crossfade_ms) *
			  DECODE_RATE / 1000;
	uint64_t least = (uint64_t)(MIXER_TRIM_LOOKAHEAD_S * DECODE_RATE);
	if (frames < least)
		frames = least;
	return frames < m->tail_cap ? (size_t)frames : m->tail_cap;
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

static void mixer_tail_trim_silence(struct mixer *m)
{
	while (m->tail_count > 0) {
		size_t newest = (m->tail_head + m->tail_count - 1) % m->tail_cap;
		if (!mixer_frame_silent(m->tail + newest * DECODE_CHANNELS))
			break;
		m->tail_count--;
	}
}

/* ------------------------------------------------------------------ */
/* Tracks.                                                             */

static void mixer_track_close(struct mixer_track *t)
{
	decode_close(t->dec);
	t->dec = NULL;
	t->buf_off = t->buf_len = 0;
	t->eof = true;
}

/* Decoded frames ready in t->buf (decoding a block when it is empty); 0 at
 * the end of the track. */
static size_t mixer_track_fill(struct mixer_track *t)
{
	while (t->buf_off >= t->buf_len && !t->eof) {
		ssize_t n = decode_read(t->dec, t->buf, MIXER_BLOCK_FRAMES);
		if (n < 0) {
			log_warning("mixer: %s: decode error: %s; ending the "
				    "track early", t->info.path,
				    strerror((int)-n));
			t->eof = true;
		} else if (n == 0) {
			t->eof = true;
		} else {
			t->buf_off = 0;
			t->buf_len = (size_t)n;
		}
	}
	return t->buf_len - t->buf_off;
}

static void mixer_track_consume(struct mixer_track *t, size_t n)
{
	t->buf_off += n;
	t->played_frames += n;
}

/* Opens track ID into T and decodes up to its first audible frame.
 * Returns 0 when it is ready, 1 when it cannot be played (then it is marked
 * bad and logged, or it left the catalog), or a negative errno when the
 * catalog failed. */
static int mixer_track_open(struct mixer *m, struct mixer_track *t, int64_t id)
{
	char reason[DECODE_ERROR_MAX + 64];
	int rc;

	t->dec = NULL;
	t->buf_off = t->buf_len = 0;
	t->eof = false;
	t->played_frames = 0;
	rc = catalog_track_get(m->cat, id, &t->info);
	if (rc == -ENOENT)
		return 1; /* gone since the refresh: simply not playable */
	if (rc < 0)
		return rc;

	char err[DECODE_ERROR_MAX] = "";
	t->dec = decode_open(t->info.path, err, sizeof(err));
	if (!t->dec) {
		int e = errno;
		snprintf(reason, sizeof(reason), "%s",
			 err[0] ? err : strerror(e ? e : EIO));
		goto bad;
	}

	/* Leading digital silence is skipped here, so that a crossfade meets
	 * music; a track with no audible frame at all is unplayable. */
	bool any_frame = false;
	for (;;) {
		ssize_t n = decode_read(t->dec, t->buf, MIXER_BLOCK_FRAMES);
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
		       mixer_frame_silent(t->buf + i * DECODE_CHANNELS))
			i++;
		if (i < (size_t)n) {
			t->buf_off = i;
			t->buf_len = (size_t)n;
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
		if (atomic_exchange(&m->library_changed, false) ||
		    m->picks_since_refresh >= playlist_size(m->pl)) {
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
		mixer_emit(m, m->mix, MIXER_SILENCE_BLOCK_FRAMES);
		if (m->ended)
			break;
		uint64_t now = mixer_now_ns();
		if (!atomic_load(&m->library_changed) &&
		    now - last_check_ns < MIXER_RECHECK_NS)
			continue;
		last_check_ns = now;
		atomic_store(&m->library_changed, false);
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
/* Playing.                                                            */

static void mixer_start_track(struct mixer *m, struct mixer_track *t)
{
	mixer_mark(m, t);
	mixer_stats_update(m, 1, 0, -1);
}

/* Crossfades the tail (A's outro) into B's intro with the marker at the
 * middle of the overlap. */
static void mixer_transition(struct mixer *m, const struct mixer_track *a,
			     struct mixer_track *b)
{
	mixer_tail_trim_silence(m);

	uint64_t len = (uint64_t)atomic_load(&m->crossfade_ms) *
		       DECODE_RATE / 1000;
	if (len > a->played_frames / 2)
		len = a->played_frames / 2;
	if (b->duration_frames > 0 && len > b->duration_frames / 2)
		len = b->duration_frames / 2;
	if (len > m->tail_count)
		len = m->tail_count;

	mixer_tail_emit(m, m->tail_count - (size_t)len);
	if (len == 0) {
		mixer_start_track(m, b);
		return;
	}

	size_t mid = (size_t)len / 2;
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
		size_t got = 0;
		while (got < chunk) {
			size_t avail = mixer_track_fill(b);
			if (avail == 0)
				break;
			if (avail > chunk - got)
				avail = chunk - got;
			memcpy(m->mix_b + got * DECODE_CHANNELS,
			       b->buf + b->buf_off * DECODE_CHANNELS,
			       avail * DECODE_CHANNELS * sizeof(float));
			mixer_track_consume(b, avail);
			got += avail;
		}
		/* B shorter than its estimate: A fades over nothing. */
		memset(m->mix_b + got * DECODE_CHANNELS, 0,
		       (chunk - got) * DECODE_CHANNELS * sizeof(float));

		for (size_t i = 0; i < chunk; i++) {
			double t = ((double)(done + i) + 0.5) / (double)len;
			float ga = (float)cos(M_PI_2 * t);
			float gb = (float)sin(M_PI_2 * t);
			float *o = m->mix + i * DECODE_CHANNELS;
			const float *bb = m->mix_b + i * DECODE_CHANNELS;
			o[0] = o[0] * ga + bb[0] * gb;
			o[1] = o[1] * ga + bb[1] * gb;
		}
		mixer_emit(m, m->mix, chunk);
		done += chunk;
	}
}

/* Decodes the rest of T through the tail. */
static void mixer_play_body(struct mixer *m, struct mixer_track *t)
{
	size_t n;
	while (!m->ended && (n = mixer_track_fill(t)) > 0) {
		mixer_tail_push(m, t->buf + t->buf_off * DECODE_CHANNELS, n);
		mixer_track_consume(t, n);
	}
}

static int mixer_run(struct mixer *m)
{
	struct mixer_track *cur = NULL;
	int rc = mixer_refresh(m);

	while (rc >= 0 && !m->ended) {
		struct mixer_track *next =
			cur == &m->slots[0] ? &m->slots[1] : &m->slots[0];
		rc = mixer_open_next(m, next, cur ? cur->info.id : 0);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (cur) {
				/* Nothing to cross into: A ends as is. */
				mixer_tail_trim_silence(m);
				mixer_tail_emit(m, m->tail_count);
				mixer_track_close(cur);
				cur = NULL;
			}
			rc = mixer_silence(m, next);
			if (rc <= 0)
				break;
		}
		if (cur) {
			mixer_transition(m, cur, next);
			mixer_track_close(cur);
		} else {
			mixer_start_track(m, next);
		}
		cur = next;
		mixer_play_body(m, cur);
	}
	if (cur)
		mixer_track_close(cur);
	for (size_t i = 0; i < 2; i++)
		mixer_track_close(&m->slots[i]);
	/* However it ended, readers must see the end of the stream. */
	if (!m->ended)
		mixer_end(m);
	return rc < 0 ? rc : 0;
}

static void *mixer_thread(void *arg)
{
	struct mixer *m = arg;
	m->result = mixer_run(m);
	if (m->result < 0)
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

struct mixer *mixer_create(struct catalog *cat, struct ring *ring,
			   const struct mixer_params *params)
{
	struct mixer *m = NULL;
	int err = 0;

	if (!cat || !ring || !params || !(params->crossfade_s >= 0) ||
	    params->crossfade_s > MIXER_CROSSFADE_MAX_S ||
	    !(params->fadeout_s >= 0) ||
	    params->fadeout_s > MIXER_FADEOUT_MAX_S ||
	    params->max_tracks == 0 ||
	    params->max_tracks > SIZE_MAX / sizeof(int64_t) / 8) {
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
	atomic_init(&m->crossfade_ms, mixer_crossfade_ms(params->crossfade_s));
	atomic_init(&m->library_changed, false);
	atomic_init(&m->fade_requested, false);
	m->end_frame = params->stop_after_frames ? params->stop_after_frames
						 : UINT64_MAX;
	m->fade_frames = (uint64_t)llround(params->fadeout_s * DECODE_RATE);
	m->tail_cap = (size_t)(MIXER_CROSSFADE_MAX_S * DECODE_RATE);

	m->pl = playlist_create(params->max_tracks, params->seed);
	if (!m->pl) {
		err = errno;
		goto out;
	}
	m->ids = calloc(params->max_tracks, sizeof(*m->ids));
	m->tail = calloc(m->tail_cap, DECODE_CHANNELS * sizeof(float));
	m->mix = calloc(MIXER_SILENCE_BLOCK_FRAMES > MIXER_BLOCK_FRAMES
			? MIXER_SILENCE_BLOCK_FRAMES : MIXER_BLOCK_FRAMES,
			DECODE_CHANNELS * sizeof(float));
	m->mix_b = calloc(MIXER_BLOCK_FRAMES, DECODE_CHANNELS * sizeof(float));
	for (size_t i = 0; i < 2; i++) {
		m->slots[i].buf = calloc(MIXER_BLOCK_FRAMES,
					 DECODE_CHANNELS * sizeof(float));
		m->slots[i].eof = true;
	}
	if (!m->ids || !m->tail || !m->mix || !m->mix_b || !m->slots[0].buf ||
	    !m->slots[1].buf) {
		err = ENOMEM;
		goto out;
	}
	err = pthread_mutex_init(&m->stats_lock, NULL);
	if (!err)
		err = pthread_mutex_init(&m->upcoming_lock, NULL);
out:
	if (err != 0) {
		if (m) {
			free(m->slots[1].buf);
			free(m->slots[0].buf);
			free(m->mix_b);
			free(m->mix);
			free(m->tail);
			free(m->ids);
			playlist_destroy(m->pl);
			free(m);
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
	for (size_t i = 0; i < 2; i++) {
		decode_close(m->slots[i].dec);
		free(m->slots[i].buf);
	}
	free(m->mix_b);
	free(m->mix);
	free(m->tail);
	free(m->ids);
	playlist_destroy(m->pl);
	free(m);
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
