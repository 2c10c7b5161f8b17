/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze — what a DJ knows about a track: beat grid, tempo, downbeats,
 * phrases, cue points, loudness, key, energy and timbre.
 *
 * PCM goes in (interleaved float stereo at 44.1 kHz, the decoder's format),
 * a struct analysis comes out. Feeding is streaming: the analyzer keeps
 * compact per-frame features (about 2 kB per second of audio, bounded by
 * ANALYZE_MAX_FEATURE_S) but never the audio itself, so a file is decoded
 * exactly once. doc/analysis.md describes every algorithm and its limits.
 *
 * struct analysis is plain data with fixed-size members (no pointers), so
 * it can be copied, written to a pipe (analyze_worker) or stored as is.
 * Every field has a sane value even for silence, noise or a one-second
 * file; the *_confidence fields (0..1) say how far to trust it.
 *
 * Errors: functions return 0 or a negative errno (-EINVAL for bad
 * arguments, -ENOMEM); analyze_file() also writes a one-line reason.
 * Thread rules: an analyzer belongs to one thread; different analyzers may
 * run in different threads at once (aubio and libebur128 objects are per
 * analyzer).
 */
#ifndef FOREVERFM_ANALYZE_H
#define FOREVERFM_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>

/* Bump whenever any result may change: cached analyses of an older version
 * are recomputed. */
#define ANALYSIS_VERSION 10

#define ANALYSIS_MFCC 13
#define ANALYSIS_PHRASES_MAX 64
#define ANALYSIS_KEY_NAME_MAX 16
#define ANALYSIS_GRID_WINDOWS_MAX 96

/* Features are kept for at most this much audio; beyond it loudness and
 * duration are still measured, the rest describes the first 3 hours. */
#define ANALYZE_MAX_FEATURE_S (3.0 * 3600.0)

struct analysis_params {
	double bpm_min; /* tempo prior range, default 70 */
	double bpm_max; /* default 180; bpm_max >= 1.5 * bpm_min */
};

struct analysis {
	int version;                /* ANALYSIS_VERSION */
	double duration_s;

	/* Cue points (seconds). Audio: first/last sample above -60 dBFS.
	 * Intro end / outro start: where short-term loudness first reaches,
	 * and last leaves, the body of the track (integrated - 4 LU), moved to
	 * the nearest downbeat. */
	double audio_start_s;
	double audio_end_s;
	double intro_end_s;
	double outro_start_s;

	/* Beat grid: beat k is at first_beat_s + k * 60 / bpm. bpm is 0 when
	 * no beat was found (silence); then every beat field is 0. */
	double bpm;
	double bpm_confidence;      /* periodicity strength and octave margin */
	double first_beat_s;        /* first grid beat at or after audio start */
	double grid_confidence;     /* the grid holds where there is a beat (below) */
	double grid_rms_ms;         /* RMS distance of those onsets from it */
	bool tempo_drift;           /* some beat windows are off the grid by
				     * over 15 ms (drift, live drums) */
	/* The grid checked where it is used: the beats from first_beat_s in
	 * consecutive windows of grid_window_beats beats (16, more for tracks
	 * of over 1536 beats). For each window, the median distance of its
	 * onsets from the grid (ms, positive = the music is late) and the
	 * share of its beats with an onset within 25 ms of the grid moved by
	 * that offset: below 0.5 the window carries no steady beat (a
	 * breakdown, a fill). grid_confidence is the share of beat-carrying
	 * windows whose offset is within 10 ms, lowered when fewer than three
	 * windows carry a beat. */
	int grid_window_beats;
	int n_grid_windows;
	float grid_window_offset_ms[ANALYSIS_GRID_WINDOWS_MAX];
	float grid_window_hits[ANALYSIS_GRID_WINDOWS_MAX];
	/* The kick's side of the beat in each window: the low-band attacks
	 * (the kick's evidence) at the half-beats over those at the beats,
	 * both moved by the window's offset. Near 1 where the kick plays on
	 * both (or there is none to tell by), above 1 where it sits on the
	 * half-beat (an intro whose kick is a half-beat off the grid that the
	 * rest of the track gives), below 1 where it is on the beat. */
	float grid_window_kick_ratio[ANALYSIS_GRID_WINDOWS_MAX];
	/* Where each window's whole onset pattern sits against the track's
	 * typical one (the folds, over the beat, of the windows that hold the
	 * grid: the onsets, and the kick's attacks as far as the window has
	 * a kick): the displacement in ms (positive: later), the nearest to
	 * 0 of the near-best lags, since a pattern of sixteenths matches
	 * itself a sixteenth off (the kick tells them apart where hats play
	 * every sixteenth); and the normalised correlation there (near 1: the
	 * same pattern, near 0: no beat to compare, a breakdown). It sees a
	 * section whose beat is off the grid where too few of its onsets are
	 * near the grid for grid_window_hits to count it (an outro a
	 * sixteenth late, a section that slows down), and where enough are,
	 * the onsets of sixteenth hats (an intro whose kick is a sixteenth
	 * late). */
	float grid_window_shift_ms[ANALYSIS_GRID_WINDOWS_MAX];
	float grid_window_match[ANALYSIS_GRID_WINDOWS_MAX];
	int beats_per_bar;          /* 4 */
	double downbeat_s;          /* first grid beat that starts a bar */
	double downbeat_confidence;

	/* Phrase boundaries (seconds, on downbeats), ascending; the first is
	 * the first downbeat. phrase_bars is the typical length (8, 16, 32). */
	int n_phrases;
	double phrases_s[ANALYSIS_PHRASES_MAX];
	int phrase_bars;

	/* Loudness per ITU BS.1770 (libebur128). Silence: -70 LUFS, -70 dB. */
	double loudness_lufs;
	double true_peak_db;        /* dBTP */

	/* Key: 0..11 = C..B major, 12..23 = C..B minor; -1 when unknown. */
	int key;
	char key_name[ANALYSIS_KEY_NAME_MAX];   /* "A minor", "" if unknown */
	char camelot[4];                        /* "8A", "" if unknown */
	double key_confidence;
	float chroma[12];           /* mean pitch-class profile, sums to 1 */

	/* Energy 0..1, independent of loudness; timbre = MFCC statistics. */
	double energy;
	float mfcc_mean[ANALYSIS_MFCC];
	float mfcc_std[ANALYSIS_MFCC];
};

struct analyzer;

/* Defaults: 70..180 BPM. */
void analyze_params_default(struct analysis_params *params);

/* Creates an analyzer (params NULL = defaults). Returns NULL with errno set
 * (EINVAL for an unusable tempo range, ENOMEM). */
struct analyzer *analyze_create(const struct analysis_params *params);

/* Frees; accepts NULL. */
void analyze_destroy(struct analyzer *an);

/* Feeds FRAMES stereo frames (2 * frames floats, interleaved L R, 44.1 kHz).
 * Returns 0 or -ENOMEM. */
int analyze_feed(struct analyzer *an, const float *stereo, size_t frames);

/* Computes the analysis of everything fed so far into out. Call once;
 * afterwards the analyzer only accepts analyze_destroy(). Returns 0 or a
 * negative errno. */
int analyze_finish(struct analyzer *an, struct analysis *out);

/* One call for PCM held in memory. */
int analyze_pcm(const float *stereo, size_t frames,
		const struct analysis_params *params, struct analysis *out);

/* Decodes PATH once (decode.h) and analyses it. On failure returns a
 * negative errno and writes a one-line reason into err (may be NULL). */
int analyze_file(const char *path, const struct analysis_params *params,
		 struct analysis *out, char *err, size_t err_size);

/* As analyze_file(), and also the track's visuals (visuals.h) into VIS
 * (may be NULL): the waveform from the same decoding, the cover's colour
 * and place when the decoder saw a picture (FFmpeg then reads it), else a
 * colour from the timbre. A cover that cannot be read is no error (the
 * timbre gives the colour). */
struct visuals;
int analyze_file_visuals(const char *path,
			 const struct analysis_params *params,
			 struct analysis *out, struct visuals *vis,
			 char *err, size_t err_size);

/* Key helpers: name ("A minor") and Camelot code ("8A") of key 0..23.
 * Return "" for anything else. */
const char *analyze_key_name(int key);
const char *analyze_key_camelot(int key);

#endif
