/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_brain — the distance between two tracks: every term at its edges
 * (double time, the stretch limit, the Camelot wheel and the pitch shift a
 * stretch causes), terms without data dropping out of the weighted mean,
 * the weights, exact symmetry, and artist name normalisation.
 */
#include "autoconfig.h"

#include "brain.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static struct brain_weights w_def;

/* A track that knows nothing. */
static struct brain_track blank(void)
{
	struct brain_track t;
	brain_track_init(&t);
	return t;
}

static struct brain_track with_bpm(double bpm)
{
	struct brain_track t = blank();
	t.bpm = bpm;
	return t;
}

static struct brain_track with_key(int camelot, enum brain_mode mode)
{
	struct brain_track t = blank();
	t.camelot = camelot;
	t.mode = mode;
	return t;
}

static double key_cost(int ca, enum brain_mode ma, int cb, enum brain_mode mb)
{
	struct brain_track a = with_key(ca, ma), b = with_key(cb, mb);
	struct brain_cost c;
	double d = brain_distance(&a, &b, &w_def, &c);
	CHECK_NEAR(d, c.key, 1e-15); /* the only term with data */
	return d;
}

static void test_weights(void)
{
	struct brain_weights w;
	brain_weights_default(&w);
	CHECK_INT(brain_weights_check(&w), ==, 0);
	CHECK_NEAR(w.max_stretch, 0.08, 0);
	CHECK(!w.stretch_shifts_pitch);
	w.key = -1.0;
	CHECK_INT(brain_weights_check(&w), ==, -EINVAL);
	brain_weights_default(&w);
	w.energy = NAN;
	CHECK_INT(brain_weights_check(&w), ==, -EINVAL);
	brain_weights_default(&w);
	w.max_stretch = 0.0;
	CHECK_INT(brain_weights_check(&w), ==, -EINVAL);
	brain_weights_default(&w);
	w.timbre_scale = 0.0;
	CHECK_INT(brain_weights_check(&w), ==, -EINVAL);
	memset(&w, 0, sizeof(w));
	w.max_stretch = 0.08;
	w.timbre_scale = 2.0;
	CHECK_INT(brain_weights_check(&w), ==, -EINVAL); /* all weights 0 */
	CHECK_INT(brain_weights_check(NULL), ==, -EINVAL);
}

static void test_tempo(void)
{
	struct brain_cost c;
	struct brain_track a = with_bpm(70), b = with_bpm(140);
	/* Double time beatmatches without any stretch. */
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.0, 1e-12);
	CHECK_NEAR(c.tempo, 0.0, 1e-12);
	CHECK_NEAR(c.stretch, 1.0, 1e-12);
	a = with_bpm(128);
	b = with_bpm(64);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.0, 1e-12);
	/* 8.1% is beyond max_stretch 0.08: the maximum term and nothing
	 * stretched for the key, but the mixer still beatmatches it through
	 * a tempo bridge (4% each deck), so no unmatched penalty. */
	a = with_bpm(100);
	b = with_bpm(108.1);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0, 0);
	CHECK_NEAR(c.tempo, 1.0, 0);
	CHECK_NEAR(c.stretch, 1.0, 0);
	b = with_bpm(100.0 / 1.081); /* 8.1% slower */
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), 1.0, 0);
	/* A bridge spans up to 1.08^2 = 1.1664; beyond, the step costs
	 * BRAIN_UNMATCHED_COST more (the mixer cuts). */
	b = with_bpm(116.6);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), 1.0, 0);
	b = with_bpm(116.7);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0 + BRAIN_UNMATCHED_COST, 0);
	CHECK_NEAR(c.tempo, 1.0, 0);
	b = with_bpm(100.0 / 1.167);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), 1.0 + BRAIN_UNMATCHED_COST, 0);
	/* Within the limit: (|ln ratio| / ln 1.08)^2, quadratic in the log. */
	b = with_bpm(107);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c),
		   pow(log(1.07) / log(1.08), 2), 1e-12);
	CHECK_NEAR(c.stretch, 1.07, 1e-12);
	b = with_bpm(104);
	double up = brain_distance(&a, &b, &w_def, NULL);
	b = with_bpm(100.0 / 1.04);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), up, 1e-12);
	CHECK_NEAR(up, pow(log(1.04) / log(1.08), 2), 1e-12);
	/* Two steps of 2% cost half of one of 4.04%: small steps are
	 * better. */
	b = with_bpm(102);
	double step = brain_distance(&a, &b, &w_def, NULL);
	b = with_bpm(100 * 1.02 * 1.02);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), 2 * (2 * step), 1e-9);
	/* Half time plus a little: 204 is 2 x 102, a 2% stretch. */
	b = with_bpm(204);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL),
		   pow(log(1.02) / log(1.08), 2), 1e-12);
	/* A wider limit makes the same stretch cheaper. */
	struct brain_weights w = w_def;
	w.max_stretch = 0.16;
	b = with_bpm(108.1);
	CHECK_NEAR(brain_distance(&a, &b, &w, NULL),
		   pow(log(1.081) / log(1.16), 2), 1e-12);
	/* 90 vs 130: not even double time helps. */
	a = with_bpm(90);
	b = with_bpm(130);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), 1.0 + BRAIN_UNMATCHED_COST, 0);
	/* A grid the mixer does not trust: the same penalty, from either
	 * end, on a step that is otherwise free. */
	a = with_bpm(120);
	b = with_bpm(120);
	b.grid_untrusted = true;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), BRAIN_UNMATCHED_COST, 0);
	CHECK_NEAR(brain_distance(&b, &a, &w_def, NULL), BRAIN_UNMATCHED_COST, 0);
	a = with_bpm(90);
	/* Unusable tempos count as unknown. */
	b = with_bpm(NAN);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);
	CHECK(isnan(c.tempo));
	b = with_bpm(-120);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), BRAIN_DISTANCE_UNKNOWN, 0);
}

static void test_key(void)
{
	const enum brain_mode A = BRAIN_MODE_MINOR, B = BRAIN_MODE_MAJOR;
	CHECK_NEAR(key_cost(8, A, 8, A), 0.0, 0);
	/* Relative major/minor and +-1 on the wheel: the cheap moves. */
	CHECK_NEAR(key_cost(8, A, 8, B), 0.1, 1e-12);
	CHECK_NEAR(key_cost(8, A, 9, A), 0.1, 1e-12);
	CHECK_NEAR(key_cost(8, A, 7, A), 0.1, 1e-12);
	CHECK_NEAR(key_cost(12, B, 1, B), 0.1, 1e-12); /* the wheel wraps */
	/* Farther costs more, up to the maximum across the wheel. */
	CHECK_NEAR(key_cost(8, A, 9, B), 0.4, 1e-12);
	CHECK_NEAR(key_cost(8, A, 10, A), 0.4, 1e-12);
	CHECK_NEAR(key_cost(8, A, 11, A), 0.7, 1e-12);
	CHECK_NEAR(key_cost(8, A, 12, A), 0.9, 1e-12);
	CHECK_NEAR(key_cost(8, A, 2, A), 1.0, 0);
	CHECK_NEAR(key_cost(8, A, 2, B), 1.0, 0);
	CHECK(key_cost(8, A, 9, A) < key_cost(8, A, 10, A));
	CHECK(key_cost(8, A, 10, A) < key_cost(8, A, 2, A));
	/* Garbage keys are unknown. */
	struct brain_track a = with_key(13, A), b = with_key(8, A);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), BRAIN_DISTANCE_UNKNOWN, 0);
	a = with_key(8, BRAIN_MODE_UNKNOWN);
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), BRAIN_DISTANCE_UNKNOWN, 0);

	int cam;
	CHECK_INT(brain_camelot_from_pitch(0, B, &cam), ==, 0);
	CHECK_INT(cam, ==, 8); /* C major */
	CHECK_INT(brain_camelot_from_pitch(9, A, &cam), ==, 0);
	CHECK_INT(cam, ==, 8); /* A minor */
	CHECK_INT(brain_camelot_from_pitch(7, B, &cam), ==, 0);
	CHECK_INT(cam, ==, 9); /* G major */
	CHECK_INT(brain_camelot_from_pitch(4, A, &cam), ==, 0);
	CHECK_INT(cam, ==, 9); /* E minor */
	CHECK_INT(brain_camelot_from_pitch(11, B, &cam), ==, 0);
	CHECK_INT(cam, ==, 1); /* B major */
	CHECK_INT(brain_camelot_from_pitch(8, A, &cam), ==, 0);
	CHECK_INT(cam, ==, 1); /* G# minor */
	CHECK_INT(brain_camelot_from_pitch(5, B, &cam), ==, 0);
	CHECK_INT(cam, ==, 7); /* F major */
	CHECK_INT(brain_camelot_from_pitch(2, A, &cam), ==, 0);
	CHECK_INT(cam, ==, 7); /* D minor */
	CHECK_INT(brain_camelot_from_pitch(12, A, &cam), ==, -EINVAL);
	CHECK_INT(brain_camelot_from_pitch(0, BRAIN_MODE_UNKNOWN, &cam), ==, -EINVAL);
}

/* A stretch without pitch correction transposes: 12 log2(r) semitones. */
static void test_key_shift(void)
{
	struct brain_weights w = w_def;
	w.stretch_shifts_pitch = true;
	w.tempo = 0.0; /* look at the key term alone */
	struct brain_cost c;
	double semitone = pow(2.0, 1.0 / 12.0); /* 5.9%: within 8% */

	/* a (8A = A minor) sped up by a semitone is A# minor = 3A. */
	struct brain_track a = with_key(8, BRAIN_MODE_MINOR);
	struct brain_track b = with_key(3, BRAIN_MODE_MINOR);
	a.bpm = 100.0;
	b.bpm = 100.0 * semitone;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.0, 1e-9);
	CHECK_NEAR(c.shift_semitones, 1.0, 1e-9);
	/* The same pair when the mixer keeps the pitch: 5 steps apart. */
	struct brain_weights keep = w;
	keep.stretch_shifts_pitch = false;
	CHECK_NEAR(brain_distance(&a, &b, &keep, &c), 1.0, 0);
	CHECK_NEAR(c.key, 1.0, 0);
	CHECK_NEAR(c.shift_semitones, 0.0, 0);
	/* Same key, stretched by a semitone: now 5 steps apart. */
	b.camelot = 8;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 1.0, 0);
	/* ... and the same key when the pitch is kept. */
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c),
		   2.0 * pow(log(semitone) / log(1.08), 2) / 3.5, 1e-12);
	CHECK_NEAR(c.key, 0.0, 0);
	/* Slowed by a semitone: 8A - 7 = 1A, and symmetric. */
	b.camelot = 1;
	b.bpm = 100.0 / semitone;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.0, 1e-9);
	CHECK_NEAR(c.shift_semitones, -1.0, 1e-9);
	CHECK_NEAR(brain_distance(&b, &a, &w, &c), 0.0, 1e-9);
	CHECK_NEAR(c.shift_semitones, 1.0, 1e-9);
	/* Detuning: a quarter tone clashes with everything; an eighth of a
	 * tone (a quarter semitone) costs 0.5 on top of the key. */
	b.camelot = 8;
	b.bpm = 100.0 * pow(2.0, 0.5 / 12.0);
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 1.0, 0);
	b.bpm = 100.0 * pow(2.0, 0.25 / 12.0);
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.5, 1e-9);
	b.mode = BRAIN_MODE_MAJOR; /* relative major: 0.1 + 0.5 */
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.6, 1e-9);
	/* Double time with a semitone on top is still a semitone. */
	b = with_key(3, BRAIN_MODE_MINOR);
	b.bpm = 200.0 * semitone;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.0, 1e-9);
	/* Beyond a bridge nothing is stretched, so nothing shifts (the
	 * key costs 0; the step costs only the unmatched penalty). */
	b = with_key(8, BRAIN_MODE_MINOR);
	b.bpm = 120.0;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), BRAIN_UNMATCHED_COST, 0);
	CHECK_NEAR(c.key, 0.0, 0);
	CHECK_NEAR(c.shift_semitones, 0.0, 0);
	/* Without a tempo for either there is no stretch either. */
	b.bpm = 0.0;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.0, 0);
}

static void test_other_terms(void)
{
	struct brain_cost c;
	struct brain_track a = blank(), b = blank();
	/* energy */
	a.energy = 0.2;
	b.energy = 0.9;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.7, 1e-12);
	b.energy = -1.0;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);
	CHECK(isnan(c.energy));
	b.energy = NAN;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), BRAIN_DISTANCE_UNKNOWN, 0);
	b.energy = 1.5; /* out of range: unknown */
	CHECK_NEAR(brain_distance(&a, &b, &w_def, NULL), BRAIN_DISTANCE_UNKNOWN, 0);

	/* timbre: RMS difference / scale, capped */
	a = blank();
	b = blank();
	a.n_timbre = b.n_timbre = 4;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.0, 0);
	for (int i = 0; i < 4; i++)
		b.timbre[i] = 1.0f;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.5, 1e-12);
	b.timbre[0] = 3.0f; /* sqrt((9 + 3) / 4) / 2 */
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), sqrt(3.0) / 2.0, 1e-12);
	for (int i = 0; i < 4; i++)
		b.timbre[i] = 4.0f;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0, 0);
	struct brain_weights w = w_def;
	w.timbre_scale = 8.0;
	CHECK_NEAR(brain_distance(&a, &b, &w, &c), 0.5, 1e-12);
	b.n_timbre = 3; /* different analyses: not comparable */
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);
	b.n_timbre = BRAIN_TIMBRE_MAX + 1;
	a.n_timbre = BRAIN_TIMBRE_MAX + 1;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);

	/* loudness */
	a = blank();
	b = blank();
	a.loudness_lufs = -8.0;
	b.loudness_lufs = -14.0;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.5, 1e-12);
	b.loudness_lufs = -30.0;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0, 0);
	b.loudness_lufs = NAN;
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);

	/* genre: Jaccard over tags, case-insensitive */
	a = blank();
	b = blank();
	snprintf(a.genre, sizeof(a.genre), "House");
	snprintf(b.genre, sizeof(b.genre), " house ");
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.0, 0);
	snprintf(b.genre, sizeof(b.genre), "techno");
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0, 0);
	snprintf(a.genre, sizeof(a.genre), "house; deep house");
	snprintf(b.genre, sizeof(b.genre), "House/Techno");
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0 - 1.0 / 3.0, 1e-12);
	snprintf(b.genre, sizeof(b.genre), " ; , ");
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);
	CHECK(isnan(c.genre));

	/* same artist */
	a = blank();
	b = blank();
	snprintf(a.artist, sizeof(a.artist), "daft punk");
	snprintf(b.artist, sizeof(b.artist), "daft punk");
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 1.0, 0);
	snprintf(b.artist, sizeof(b.artist), "justice");
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), 0.0, 0);
	b.artist[0] = '\0';
	CHECK_NEAR(brain_distance(&a, &b, &w_def, &c), BRAIN_DISTANCE_UNKNOWN, 0);
	CHECK(isnan(c.same_artist));
}

/* The weighted mean over the terms both tracks have. */
static void test_mean(void)
{
	struct brain_cost c;
	struct brain_track a = blank(), b = blank();
	CHECK_NEAR(brain_distance(&a, &b, NULL, &c), BRAIN_DISTANCE_UNKNOWN, 0);
	a.energy = 0.2;
	b.energy = 0.4;          /* 0.2, weight 1 */
	a.loudness_lufs = -8.0;
	b.loudness_lufs = -14.0; /* 0.5, weight 0.5 */
	a.bpm = 120.0;
	b.bpm = 120.0;           /* 0, weight 2 */
	a.n_timbre = 4;          /* b has no timbre: drops out */
	snprintf(a.artist, sizeof(a.artist), "x"); /* b has none: drops out */
	double want = (1.0 * 0.2 + 0.5 * 0.5 + 2.0 * 0.0) / 3.5;
	CHECK_NEAR(brain_distance(&a, &b, NULL, &c), want, 1e-12);
	CHECK_NEAR(c.total, want, 1e-12);
	CHECK_NEAR(c.energy, 0.2, 1e-12);
	CHECK_NEAR(c.loudness, 0.5, 1e-12);
	CHECK_NEAR(c.tempo, 0.0, 0);
	CHECK(isnan(c.timbre) && isnan(c.key) && isnan(c.genre) && isnan(c.same_artist));
	/* Weights move the mean. */
	struct brain_weights w = w_def;
	w.energy = 3.0;
	CHECK_NEAR(brain_distance(&a, &b, &w, NULL),
		   (3.0 * 0.2 + 0.5 * 0.5) / 5.5, 1e-12);
	/* A weight of 0 is the same as no data; a negative one counts as 0. */
	w = w_def;
	w.tempo = 0.0;
	CHECK_NEAR(brain_distance(&a, &b, &w, NULL), (0.2 + 0.25) / 1.5, 1e-12);
	w.tempo = -5.0;
	CHECK_NEAR(brain_distance(&a, &b, &w, NULL), (0.2 + 0.25) / 1.5, 1e-12);
	/* Confidence scales the weight: half-sure tempo counts half. */
	a.bpm_confidence = 0.5;
	CHECK_NEAR(brain_distance(&a, &b, NULL, NULL),
		   (0.2 + 0.25 + 0.0) / (1.5 + 1.0), 1e-12);
	b.bpm_confidence = 0.0; /* the smaller confidence wins */
	CHECK_NEAR(brain_distance(&a, &b, NULL, NULL), (0.2 + 0.25) / 1.5, 1e-12);
	a.bpm_confidence = b.bpm_confidence = 1.0;
	a.camelot = 8;
	a.mode = BRAIN_MODE_MINOR;
	b.camelot = 10;
	b.mode = BRAIN_MODE_MINOR; /* 0.4, weight 1.5 x 0.5 */
	a.key_confidence = 0.5;
	CHECK_NEAR(brain_distance(&a, &b, NULL, NULL),
		   (0.2 + 0.25 + 0.75 * 0.4) / (3.5 + 0.75), 1e-12);
}

static uint64_t rng = 88172645463325252ULL;

static double rnd(void)
{
	return test_rand(&rng);
}

static struct brain_track random_track(void)
{
	static const char *artists[] = { "a", "b", "c" };
	static const char *genres[] = { "house", "techno; house", "funk" };
	struct brain_track t = blank();
	if (rnd() < 0.8) {
		t.bpm = 60.0 + 120.0 * rnd();
		t.bpm_confidence = rnd();
	}
	if (rnd() < 0.8) {
		t.camelot = 1 + (int)(rnd() * 12.0);
		t.mode = rnd() < 0.5 ? BRAIN_MODE_MINOR : BRAIN_MODE_MAJOR;
		t.key_confidence = rnd();
	}
	if (rnd() < 0.8)
		t.energy = rnd();
	if (rnd() < 0.8) {
		t.n_timbre = BRAIN_TIMBRE_MAX;
		for (int i = 0; i < BRAIN_TIMBRE_MAX; i++)
			t.timbre[i] = (float)(4.0 * rnd() - 2.0);
	}
	if (rnd() < 0.8)
		t.loudness_lufs = -20.0 + 15.0 * rnd();
	if (rnd() < 0.8)
		snprintf(t.artist, sizeof(t.artist), "%s", artists[(int)(rnd() * 3.0)]);
	if (rnd() < 0.5)
		snprintf(t.genre, sizeof(t.genre), "%s", genres[(int)(rnd() * 3.0)]);
	return t;
}

/* D(a, b) == D(b, a) to the bit, every term stays in [0, 1], and D in
 * [0, 1] plus the unmatched penalty. */
static void test_symmetry(void)
{
	struct brain_weights shifting = w_def;
	shifting.stretch_shifts_pitch = true;
	for (int i = 0; i < 20000; i++) {
		struct brain_track a = random_track(), b = random_track();
		const struct brain_weights *w = i % 2 ? &shifting : &w_def;
		struct brain_cost ca, cb;
		double dab = brain_distance(&a, &b, w, &ca);
		double dba = brain_distance(&b, &a, w, &cb);
		CHECK(dab == dba);
		CHECK(dab >= 0.0 && dab <= 1.0 + BRAIN_UNMATCHED_COST);
		const double ta[] = { ca.tempo, ca.key, ca.energy, ca.timbre,
				      ca.loudness, ca.genre, ca.same_artist };
		const double tb[] = { cb.tempo, cb.key, cb.energy, cb.timbre,
				      cb.loudness, cb.genre, cb.same_artist };
		for (int k = 0; k < 7; k++) {
			CHECK((isnan(ta[k]) && isnan(tb[k])) || ta[k] == tb[k]);
			CHECK(isnan(ta[k]) || (ta[k] >= 0.0 && ta[k] <= 1.0));
		}
	}
}

static void check_norm(const char *in, const char *want)
{
	char out[BRAIN_ARTIST_MAX];
	CHECK_INT(brain_normalise_artist(in, out, sizeof(out)), ==, 0);
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "normalise(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
		exit(1);
	}
}

static void test_artist(void)
{
	check_norm("Daft Punk", "daft punk");
	check_norm("  Daft \t  Punk \n", "daft punk");
	check_norm("The Beatles", "beatles");
	check_norm("THE BEATLES", "beatles");
	check_norm("Beatles, The", "beatles");
	check_norm("The", "the");            /* a name, not an article */
	check_norm("The The", "the");
	check_norm("Jay-Z feat. Alicia Keys", "jay-z");
	check_norm("Calvin Harris ft. Rihanna", "calvin harris");
	check_norm("Daft Punk ft Pharrell Williams", "daft punk");
	check_norm("Artist (feat. Other)", "artist");
	check_norm("Artist [Featuring Someone Else]", "artist");
	check_norm("Artist, feat. X", "artist");
	check_norm("The Weeknd FEAT Daft Punk", "weeknd");
	check_norm("Feat Unit", "feat unit"); /* first word: part of the name */
	check_norm("Aftermath", "aftermath"); /* "ft" inside a word stays */
	check_norm("AC/DC", "ac/dc");
	check_norm("Sigur Rós", "sigur rós");
	check_norm("ÉDITH PIAF", "Édith piaf"); /* only ASCII is folded */
	check_norm("Björk feat. Thom Yorke", "björk");
	check_norm("", "");
	check_norm("   ", "");

	/* Full buffers: an error, a valid prefix, never half a character. */
	char out[8];
	CHECK_INT(brain_normalise_artist("Björk", out, 5), ==, -E2BIG);
	CHECK_STR(out, "bjö");
	CHECK_INT(brain_normalise_artist("Björk", out, 4), ==, -E2BIG);
	CHECK_STR(out, "bj");
	CHECK_INT(brain_normalise_artist("Björk", out, 7), ==, 0);
	CHECK_STR(out, "björk");
	CHECK_INT(brain_normalise_artist("\xe6\x97\xa5\xe6\x9c\xac", out, 6), ==, -E2BIG);
	CHECK_STR(out, "\xe6\x97\xa5");
	CHECK_INT(brain_normalise_artist("abc", out, 1), ==, -E2BIG);
	CHECK_STR(out, "");
	static char huge[20000];
	for (size_t i = 0; i + 1 < sizeof(huge); i++)
		huge[i] = i % 3 == 2 ? ' ' : "\xc3\xa9"[i % 3];
	char big[BRAIN_ARTIST_MAX];
	CHECK_INT(brain_normalise_artist(huge, big, sizeof(big)), ==, -E2BIG);
	CHECK(strlen(big) < sizeof(big));
	CHECK(strlen(big) % 3 == 2); /* whole characters, no trailing space */
	CHECK_INT(brain_normalise_artist(NULL, big, sizeof(big)), ==, -EINVAL);
	CHECK_INT(brain_normalise_artist("x", NULL, 4), ==, -EINVAL);
	CHECK_INT(brain_normalise_artist("x", big, 0), ==, -EINVAL);
}

static void test_standardise(void)
{
	struct brain_track t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = blank();
		t[i].n_timbre = 2;
		t[i].timbre[0] = (float)(10.0 + 2.0 * i); /* 10 12 14 16 */
		t[i].timbre[1] = 5.0f;                    /* no spread */
	}
	t[3].n_timbre = 3; /* the odd one out is left alone */
	t[3].timbre[0] = 99.0f;
	CHECK_INT(brain_timbre_standardise(t, 4), ==, 0);
	double mean = 0.0, var = 0.0;
	for (int i = 0; i < 3; i++)
		mean += t[i].timbre[0];
	mean /= 3.0;
	for (int i = 0; i < 3; i++)
		var += (t[i].timbre[0] - mean) * (t[i].timbre[0] - mean);
	CHECK_NEAR(mean, 0.0, 1e-6);
	CHECK_NEAR(var / 3.0, 1.0, 1e-5);
	CHECK(t[0].timbre[0] < t[1].timbre[0] && t[1].timbre[0] < t[2].timbre[0]);
	for (int i = 0; i < 3; i++)
		CHECK_NEAR(t[i].timbre[1], 0.0, 0);
	CHECK_NEAR(t[3].timbre[0], 99.0, 0);
	CHECK_INT(brain_timbre_standardise(NULL, 0), ==, 0);
	CHECK_INT(brain_timbre_standardise(NULL, 3), ==, -EINVAL);
}

int main(void)
{
	brain_weights_default(&w_def);
	test_weights();
	test_tempo();
	test_key();
	test_key_shift();
	test_other_terms();
	test_mean();
	test_symmetry();
	test_artist();
	test_standardise();
	return 0;
}
