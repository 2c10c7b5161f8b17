/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * brain — how far apart two tracks are: the cost of mixing one into the
 * other. The tour (tour.h) orders the library so that the sum of these
 * costs around the endless cycle is as small as possible.
 *
 * DESIGN
 * The distance is a weighted mean of terms, each in [0, 1], over the terms
 * for which BOTH tracks have data:
 *
 *     D(a, b) = sum_i w_i c_i t_i / sum_i w_i c_i  (+ BRAIN_UNMATCHED_COST)
 *
 * w_i is the term's weight (struct brain_weights), c_i its confidence
 * factor: min(bpm_confidence) for tempo, min(key_confidence) for key, 1 for
 * every other term. A term with no data for either track (or c_i w_i = 0)
 * drops out of the numerator and the denominator alike, so a missing
 * analysis neither attracts nor repels: it is simply not counted. When no
 * term at all is left, D = 0.5 (BRAIN_DISTANCE_UNKNOWN), the middle of the
 * range. The terms:
 *
 *  tempo     s = min over m in {1, 2, 1/2} of |ln(bpm_b * m / bpm_a)|, the
 *            smallest relative stretch that beatmatches the two, allowing
 *            double and half time; t = (s / ln(1 + max_stretch))^2, and 1
 *            beyond (a stretch beyond max_stretch takes a tempo bridge,
 *            each deck ridden half the way, up to twice the limit in log
 *            terms, and beyond that cannot be beatmatched at all:
 *            maximum). 70 vs 140 BPM costs 0; half the largest stretch
 *            costs a quarter. Quadratic, not linear, because of the cap: a
 *            tour through tracks of rising tempo pays for the climb once
 *            more to walk back down, while one unbeatmatched jump back
 *            costs only 1; with a linear term the jump wins as soon as the
 *            climb exceeds max_stretch, the opposite of a smooth set. A
 *            convex term makes many small steps cheaper than a few big
 *            ones (doc/brain.md), so dense libraries go up and come down.
 *            A step the mixer cannot beatmatch, a tempo pair beyond
 *            (1 + max_stretch)^2 at every ratio (more than a bridge
 *            spans; tempo.h, the rule the mixer itself uses) or a grid
 *            it does not trust
 *            (grid_untrusted), costs BRAIN_UNMATCHED_COST more, on top of
 *            the mean: every beatmatched step is cheaper than any crossfade,
 *            so the tour crosses tempo gaps through double or half time
 *            where the library allows, and crossfades only where it must.
 *  key       Camelot wheel: steps = circular distance of the numbers (0..6)
 *            plus 1 if the letters (A minor / B major) differ; t =
 *            BRAIN_KEY_COST[steps] = {0, 0.1, 0.4, 0.7, 0.9, 1, 1, 1}, so
 *            the harmonic-mixing moves (same key, +-1 on the wheel, the
 *            relative major/minor) are cheap and clashes are dear.
 *            With stretch_shifts_pitch, stretching by r (within max_stretch)
 *            transposes by 12 log2 r semitones: the wheel position moves by
 *            7 per whole semitone (7 * 7 = 49 = 1 mod 12), and the detuning
 *            f = distance to the nearest whole semitone (0 .. 0.5) adds 2 f,
 *            so a quarter-tone clash costs the maximum whatever the keys:
 *            t = min(1, BRAIN_KEY_COST[steps after transposing] + 2 f).
 *            Without it (the mixer keeps pitch, e.g. Rubber Band with pitch
 *            preservation) the stretch does not touch the key. A stretch
 *            beyond max_stretch is not applied (the mixer does not
 *            beatmatch then), so it shifts nothing.
 *  energy    |energy_a - energy_b| (energy in [0, 1]).
 *  timbre    ||x_a - x_b|| / (timbre_scale * sqrt(n)), capped at 1: the
 *            RMS per-component difference in units of timbre_scale. The
 *            components are expected standardised over the library (zero
 *            mean, unit variance; brain_timbre_standardise), so with the
 *            default scale 2 a difference of two standard deviations in
 *            every component costs the maximum and two unrelated tracks
 *            cost about sqrt(2)/2 = 0.71. Vectors of different lengths are
 *            not comparable and drop out.
 *  loudness  |lufs_a - lufs_b| / 12, capped at 1.
 *  genre     1 - |A n B| / |A u B| over the tags (the genre string split at
 *            ',', ';' and '/', trimmed, compared case-insensitively for
 *            ASCII): 0 for the same genre, 1 for different single genres.
 *            Drops out when either has none.
 *  same_artist 1 when the normalised artists are equal, else 0; drops out
 *            when either is unknown ("").
 *
 * The distance is symmetric, exactly (bit for bit): D(a, b) == D(b, a).
 * The tour solver relies on it. Every term is computed from differences
 * whose sign is discarded, so swapping the tracks cannot change a bit.
 *
 * Thread rules: pure functions; any thread.
 */
#ifndef FOREVERFM_BRAIN_H
#define FOREVERFM_BRAIN_H

#include <stdbool.h>
#include <stddef.h>

#define BRAIN_TIMBRE_MAX 26   /* e.g. 13 MFCC means + 13 spreads */
#define BRAIN_ARTIST_MAX 256  /* bytes, including the NUL */
#define BRAIN_GENRE_MAX 256
#define BRAIN_GENRE_TAGS_MAX 16 /* tags beyond this many are ignored */
#define BRAIN_DISTANCE_UNKNOWN 0.5
/* Added to a step the mixer cannot beatmatch (see tempo above). */
#define BRAIN_UNMATCHED_COST 1.0

enum brain_mode {
	BRAIN_MODE_UNKNOWN = 0,
	BRAIN_MODE_MINOR = 'A', /* Camelot letter A */
	BRAIN_MODE_MAJOR = 'B', /* Camelot letter B */
};

/* What the distance knows of a track. Set every field to "unknown" with
 * brain_track_init() first, then fill in what the analysis found: a zeroed
 * struct would claim energy 0 and loudness 0 LUFS. */
struct brain_track {
	double bpm;            /* beats per minute; 0 = unknown */
	double bpm_confidence; /* 0..1; init sets 1 */
	bool grid_untrusted;   /* the mixer will not beatmatch this grid */
	int camelot;           /* 1..12; 0 = unknown */
	enum brain_mode mode;  /* minor (A) or major (B); unknown = no key */
	double key_confidence; /* 0..1; init sets 1 */
	double energy;         /* 0..1; negative = unknown */
	float timbre[BRAIN_TIMBRE_MAX];
	int n_timbre;          /* used entries of timbre; 0 = unknown */
	double loudness_lufs;  /* integrated loudness; NAN = unknown */
	char artist[BRAIN_ARTIST_MAX]; /* normalised (brain_normalise_artist); "" = unknown */
	char genre[BRAIN_GENRE_MAX];   /* tags separated by , ; or /; "" = unknown */
};

/* Weights of the terms (>= 0; a negative weight counts as 0) and the
 * parameters of the tempo and key terms. */
struct brain_weights {
	double tempo;
	double key;
	double energy;
	double timbre;
	double loudness;
	double genre;
	double same_artist;
	double max_stretch;        /* largest tempo change, as a fraction: 0.08 = 8% */
	bool stretch_shifts_pitch; /* true: stretching transposes (no pitch correction) */
	double timbre_scale;       /* see DESIGN; > 0 */
};

/* Each term in [0, 1], or NAN when it dropped out; total is the distance. */
struct brain_cost {
	double tempo;
	double key;
	double energy;
	double timbre;
	double loudness;
	double genre;
	double same_artist;
	double total;
	double stretch;         /* tempo ratio applied to a to match b (1 = none) */
	double shift_semitones; /* transposition of a that the stretch causes */
};

/* Defaults: tempo 2, key 1.5, energy 1, timbre 1, loudness 0.5, genre 0.5,
 * same_artist 1; max_stretch 0.08; stretch_shifts_pitch false (the mixer
 * stretches with Rubber Band, which keeps the pitch); timbre_scale 2. */
void brain_weights_default(struct brain_weights *w);

/* 0, or -EINVAL when a weight is negative or not finite, every weight is 0,
 * max_stretch is not in (0, 1) or timbre_scale is not > 0. */
int brain_weights_check(const struct brain_weights *w);

/* Sets every field of T to unknown (confidences to 1). */
void brain_track_init(struct brain_track *t);

/* The distance D(a, b) in [0, 1 + BRAIN_UNMATCHED_COST] as described
 * above. W NULL = defaults;
 * TERMS, if not NULL, receives the breakdown. Garbage fields (a Camelot
 * number outside 1..12, a NaN energy, n_timbre out of range, bpm not > 0)
 * count as unknown. */
double brain_distance(const struct brain_track *a, const struct brain_track *b,
		      const struct brain_weights *w, struct brain_cost *terms);

/* Normalises an artist name for comparison: ASCII letters folded to lower
 * case, white space trimmed and collapsed to single spaces, a leading "the "
 * and a trailing ", the" dropped, and everything from a featuring credit on
 * dropped ("feat.", "feat", "ft.", "featuring", also inside "(...)" or
 * "[...]"; not as the first word). Bytes >= 0x80 (UTF-8) are copied
 * unchanged. Writes at most OUT_SIZE bytes including the NUL. Returns 0;
 * -E2BIG when the result did not fit (OUT then holds the longest prefix
 * that fits and does not split a UTF-8 sequence); -EINVAL for NULL
 * arguments or OUT_SIZE 0. */
int brain_normalise_artist(const char *in, char *out, size_t out_size);

/* Normalises a title for duplicate detection: like
 * brain_normalise_artist() (ASCII case folded, white space trimmed and
 * collapsed, a featuring credit and everything after it dropped, UTF-8
 * copied unchanged) but a leading "the" is kept: "The Wall" is not
 * "Wall". Same returns as brain_normalise_artist(). */
int brain_normalise_title(const char *in, char *out, size_t out_size);

/* Standardises the timbre vectors of TRACKS in place, component by
 * component, to zero mean and unit variance over the tracks that have a
 * vector of the most common length (others are left alone). A component
 * with no spread becomes 0. Returns 0 or -EINVAL (NULL with n > 0).
 * The same as brain_timbre_norm_fit() and then brain_timbre_norm_apply()
 * on every track. */
int brain_timbre_standardise(struct brain_track *tracks, size_t n);

/* The standardisation itself, for a library that grows: fit it once over
 * the tracks there are, then apply it to each track as it arrives (a
 * vector of another length than n_timbre is left alone). n_timbre 0 =
 * nothing fitted (no track had a vector): apply does nothing. */
struct brain_timbre_norm {
	int n_timbre;
	double mean[BRAIN_TIMBRE_MAX];
	double sd[BRAIN_TIMBRE_MAX];   /* 0: the component had no spread */
};
int brain_timbre_norm_fit(const struct brain_track *tracks, size_t n,
			  struct brain_timbre_norm *norm);
void brain_timbre_norm_apply(const struct brain_timbre_norm *norm,
			     struct brain_track *t);

/* The embedding: a point in BRAIN_EMBED_DIM dimensions per track whose
 * Euclidean distances follow the terms of brain_distance() that carry
 * most of its weight, for a spatial index (knn.h) to find each track's
 * near neighbours in O(n log n) rather than from all n^2 / 2 distances.
 * The coordinates, each scaled by its term's share of the weights:
 *
 *  0, 1  tempo on the octave circle: angle 2 pi (log2 bpm mod 1), so
 *        that 70 and 140 BPM coincide; the radius makes an arc of
 *        ln(1 + max_stretch) (the largest direct stretch) cost twice
 *        the tempo weight's share (the quadratic term plus the
 *        unmatched cost beyond a bridge make tempo the term that
 *        matters most). Centre when unknown.
 *  2, 3  the key's Camelot number on its circle, radius scaled by the
 *        key confidence (a half-sure key pulls half as hard);
 *  4     the Camelot letter, +- a wheel step's cost;
 *  5     energy; 6 loudness (LUFS / 12), each at its weight's share;
 *  7 .. 9 the timbre vector projected on its BRAIN_EMBED_TIMBRE
 *        principal axes over the library (brain_embed_fit), in units of
 *        timbre_scale sqrt(n) as the term has it.
 *
 * An unknown feature sits at its circle's centre or the library's
 * middle. Genre and same artist are left out: they are for the exact
 * distance to weigh among the candidates. The embedding only proposes
 * candidates: every cost the tour compares is brain_distance() itself. */
#define BRAIN_EMBED_TIMBRE 3
#define BRAIN_EMBED_DIM (7 + BRAIN_EMBED_TIMBRE)

struct brain_embedding {
	int n_timbre;   /* length of the vectors the axes are for; 0 = none */
	float axis[BRAIN_EMBED_TIMBRE][BRAIN_TIMBRE_MAX]; /* unit vectors */
};

/* Fits the timbre axes: the principal components (power iteration with
 * deflation on the covariance) of the vectors of the most common length
 * among TRACKS, taken as they are (standardise them first). Returns 0 or
 * -EINVAL (NULL with n > 0). */
int brain_embed_fit(const struct brain_track *tracks, size_t n,
		    struct brain_embedding *e);

/* The point of track T under weights W (NULL = defaults) into OUT. */
void brain_embed(const struct brain_embedding *e,
		 const struct brain_weights *w, const struct brain_track *t,
		 float out[BRAIN_EMBED_DIM]);

/* The Camelot number (1..12) and mode of a key given as its tonic pitch
 * class (0 = C .. 11 = B) and mode. Returns 0 or -EINVAL. */
int brain_camelot_from_pitch(int pitch_class, enum brain_mode mode,
			     int *camelot);

#endif
