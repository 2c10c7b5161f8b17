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
 * longer than the time to open the next file. With no playable track the
 * mixer writes silence, logs that once, and re-reads the catalog every
 * second and at once after mixer_library_changed().
 *
 * Memory: two decoders, the tail buffer (crossfade_max_s of audio) and one
 * block buffer, all bounded and allocated when a track starts, never per
 * block.
 *
 * Thread rules: create/start/destroy from one controlling thread; the
 * setters below may be called from any thread and take effect at the next
 * track.
 */
#ifndef FOREVERFM_MIXER_H
#define FOREVERFM_MIXER_H

#include <stdint.h>

#include "catalog.h"
#include "ring.h"

#define MIXER_CROSSFADE_MAX_S 30.0
#define MIXER_UPCOMING_MAX 16

struct mixer_params {
	double crossfade_s;      /* 0 .. MIXER_CROSSFADE_MAX_S */
	double fadeout_s;        /* fade at mixer_fade_out() / end of render */
	uint64_t seed;           /* shuffle seed */
	uint64_t stop_after_frames; /* 0 = endless; else fade out to end here */
	size_t max_tracks;       /* playlist capacity */
};

struct mixer_stats {
	uint64_t tracks_started;
	uint64_t tracks_failed;
	uint64_t frames_written;
	int64_t current_track_id;  /* audible track by marker, 0 for none */
};

struct mixer;

/* Borrows cat and ring (they must outlive the mixer). Returns NULL, errno. */
struct mixer *mixer_create(struct catalog *cat, struct ring *ring,
			   const struct mixer_params *params);

/* Starts the mixer thread. Returns 0 or a negative errno. */
int mixer_start(struct mixer *m);

/* Takes effect at the next transition. */
void mixer_set_crossfade(struct mixer *m, double crossfade_s);

/* The catalog changed (rescan): re-read the playable tracks before the next
 * choice, and leave silence at once if music appeared. */
void mixer_library_changed(struct mixer *m);

/* Fades out over fadeout_s, closes the ring and ends the thread. */
void mixer_fade_out(struct mixer *m);

/* Waits for the thread to end (after a fade out, a stop_after_frames end, or
 * the ring being closed by someone else). Returns the thread's result: 0, or
 * a negative errno if the catalog failed. */
int mixer_join(struct mixer *m);

void mixer_get_stats(struct mixer *m, struct mixer_stats *stats);

/* The track picked last (playing or about to), then the ids the play order
 * will hand out after it (playlist_peek: only the rest of the current
 * round), at most MIXER_UPCOMING_MAX and at most MAX of them into ids; *n
 * receives how many were copied (0 before the first pick). A copy the
 * mixer refreshes at every pick, under a lock of its own, so any thread
 * (the analyzer) may call this at any time. Returns 0. */
int mixer_upcoming(struct mixer *m, int64_t *ids, size_t max, size_t *n);

/* Closes the ring if the thread still runs, joins, frees; accepts NULL. */
void mixer_destroy(struct mixer *m);

#endif
