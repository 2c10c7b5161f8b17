/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_priv — the per-frame features that the streaming front end
 * (analyze.c) collects and that the feature stages (analyze_beats.c,
 * analyze_key.c, analyze_timbre.c, analyze_loudness.c) turn into a struct
 * analysis. Internal to the analyzer; nothing outside src/analyze*.c
 * includes it.
 *
 * Rates: the audio is mixed to mono and halved to 22050 Hz. One FFT of
 * ANALYZE_FFT_SIZE every ANALYZE_HOP samples (43.07 frames/s) feeds the
 * onset functions, chroma, MFCC and spectral statistics; MFCC is taken every
 * ANALYZE_MFCC_EVERY frames. A time-domain envelope in blocks of
 * ANALYZE_FINE_BLOCK samples (344.5/s, 2.9 ms) gives the beat grid its
 * precision; the power of a 4th-order low-pass (150 Hz) in the same blocks
 * tells kick drums from hats and bass notes.
 */
#ifndef FOREVERFM_ANALYZE_PRIV_H
#define FOREVERFM_ANALYZE_PRIV_H

#include <stddef.h>

#include "analyze.h"

#define ANALYZE_RATE 22050.0
#define ANALYZE_FFT_SIZE 2048
#define ANALYZE_BINS (ANALYZE_FFT_SIZE / 2 + 1)
#define ANALYZE_HOP 512
#define ANALYZE_FPS (ANALYZE_RATE / ANALYZE_HOP)
#define ANALYZE_MFCC_EVERY 4
#define ANALYZE_FINE_BLOCK 64
#define ANALYZE_FINE_FPS (ANALYZE_RATE / ANALYZE_FINE_BLOCK)
/* Short-term loudness is sampled this often (seconds). */
#define ANALYZE_LOUD_STEP_S 0.4

/* A growable float array with a hard cap on its length. */
struct analyze_vec {
	float *v;
	size_t n;       /* floats used */
	size_t cap;     /* floats allocated */
	size_t max;     /* never grows beyond this */
};

int analyze_vec_push(struct analyze_vec *vec, const float *x, size_t n);
void analyze_vec_free(struct analyze_vec *vec);

struct analyze_features {
	/* Per FFT frame; frame i is centred at time (i * HOP + FFT/2) / RATE
	 * minus the front end's latency, which analyze.c removes, so use
	 * analyze_frame_time(). */
	struct analyze_vec flux;      /* log-magnitude spectral flux, all bins */
	struct analyze_vec flux_low;  /* same below 200 Hz (kick drums) */
	struct analyze_vec flux_mid;  /* same 200 Hz .. 2 kHz (snares, keys) */
	struct analyze_vec level_db;  /* frame RMS in dBFS */
	struct analyze_vec flux_rel;  /* level-free flux: sum|dX| / sum|X| */
	struct analyze_vec low_share; /* energy share below 150 Hz */
	struct analyze_vec chroma;    /* 12 per frame, unnormalised */
	struct analyze_vec mfcc;      /* ANALYSIS_MFCC per MFCC frame */
	struct analyze_vec fine;      /* onset strength per fine block */
	struct analyze_vec fine_low;  /* mean power below ~150 Hz per fine
				       * block (linear: kick drums) */
	struct analyze_vec loud_st;   /* short-term loudness (LUFS) per step */
	size_t n_frames;
	size_t n_mfcc;
	double duration_s;
	double audio_start_s;
	double audio_end_s;
	double loudness_lufs;
	double true_peak_db;
};

/* Time (s) of FFT frame i and of fine block j. */
double analyze_frame_time(double i);
double analyze_fine_time(double j);

/* Means of the rows of a feature (dims floats per row, row i at time
 * row0_s + i * period_s) that lie in [t0_s, t1_s) into out (dims floats).
 * Returns the number of rows averaged; out is zeroed when there are none. */
size_t analyze_rows_mean(const struct analyze_vec *vec, int dims,
			 double row0_s, double period_s, double t0_s,
			 double t1_s, float *out);

/* The grid beats of out that lie in the audio: beat times are
 * out->first_beat_s + k * 60 / out->bpm for k in [0, return value). */
size_t analyze_beat_count(const struct analysis *out);

/* Stages; each fills its part of out. Beats must run first: the others use
 * the grid it wrote. */
void analyze_beats(const struct analyze_features *f,
		   const struct analysis_params *p, struct analysis *out);
void analyze_key(const struct analyze_features *f, struct analysis *out);
void analyze_timbre(const struct analyze_features *f, struct analysis *out);
void analyze_phrases(const struct analyze_features *f, struct analysis *out);
void analyze_cues(const struct analyze_features *f, struct analysis *out);

#endif
