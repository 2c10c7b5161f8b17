/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_analyze — the analyzer against generated music whose truth is known
 * to the sample: click tracks with accented downbeats from 70 to 180 BPM,
 * click tracks whose bars start with a click of another pitch, synthesised
 * drum patterns, house beats with off-beat hats and bass, long
 * tracks whose grid must not slip, chord progressions in known keys, a track of
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

/* Bars marked by another sound, as a crash or a chord change marks them:
 * 1.5 kHz clicks, beat 1 of every bar a click of another pitch (800 Hz,
 * 2, 2.5 kHz, and 3 kHz, the same pitch class) and 3 to 6 dB louder, at
 * house tempi, from a random start with a random number of pickup beats.
 * The change back to the normal click on beat 2 is as large as the change
 * to the odd one on beat 1: measured as change from the beat before, chroma
 * and MFCC put the downbeat a beat late in 9 of these 32. */
static void test_pitched_downbeats(void)
{
	static const double tempi[] = { 118, 120, 122, 124, 126, 128, 130,
					132 };
	static const double pitches[] = { 800, 2000, 2500, 3000 };
	static const double gains_db[] = { 3, 4.5, 6 };
	uint32_t seed = 2718;
	int wrong = 0, total = 0;
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		for (size_t j = 0; j < sizeof(pitches) / sizeof(pitches[0]); j++) {
			double bpm = tempi[i], per = 60.0 / bpm;
			seed = seed * 1664525u + 1013904223u;
			double start = 0.05 + 1.5 * (seed >> 8) / 16777216.0;
			int pickup = (int)((seed >> 4) % 4);
			double gain = gains_db[(i + j) % 3];
			struct synth p = synth_new(30.0);
			synth_bar_clicks(&p, start, bpm, pickup, 1500, 0.3,
					 pitches[j], gain);
			struct analysis a;
			CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
			check_sane(&a);
			double truth = start + pickup * per;
			bool ok = fabs(a.downbeat_s - truth) <= 0.010;
			fprintf(stderr, "pitched downbeat %.0f BPM, %.0f Hz +%.1f dB: "
				"down %.4f (true %.4f, %+.2f beats, conf %.2f)%s\n",
				bpm, pitches[j], gain, a.downbeat_s, truth,
				(a.downbeat_s - truth) / per, a.downbeat_confidence,
				ok ? "" : " WRONG");
			CHECK(rel_err(a.bpm, bpm) <= 0.001);
			wrong += !ok;
			total++;
			synth_free(&p);
		}
	}
	fprintf(stderr, "pitched downbeats: %d of %d wrong\n", wrong, total);
	CHECK_INT(wrong, ==, 0);
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

/* House and trance: a kick on every beat, hats and a bass note on the
 * off-beats, a chord that changes at every bar. The off-beats hold more
 * broadband energy than the beats (the bass note is louder than the kick)
 * and the hats give the sharpest onsets, but the beat is the kick. */
static double energy_of(const struct synth *p)
{
	double e = 0;
	for (size_t i = 0; i < 2 * p->frames; i++)
		e += (double)p->s[i] * p->s[i];
	return e;
}

static void test_offbeat_bass(void)
{
	static const double tempi[] = { 118, 120, 122, 125, 128, 132 };
	static const int roots[4] = { 9, 5, 0, 7 };
	static const int bass[4] = { 45, 41, 48, 43 }; /* A2 F2 C3 G2 */
	const double kick_amp = 0.5, bass_amp = 0.35, bass_bright = 0.8;

	/* The premise: one bass note outweighs one kick. */
	struct synth k1 = synth_new(0.5), b1 = synth_new(0.5);
	synth_kick(&k1, 0, kick_amp);
	synth_note(&b1, 0, 0.4 * 60.0 / 132, 41, bass_amp, bass_bright);
	fprintf(stderr, "offbeat: energy of a kick %.1f, of a bass note %.1f\n",
		energy_of(&k1), energy_of(&b1));
	CHECK(energy_of(&b1) > 1.2 * energy_of(&k1));
	synth_free(&k1);
	synth_free(&b1);

	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.3 + 0.013 * (double)i;
		int pickup = (int)(i % 4);
		struct synth p = synth_new(40.0);
		for (int k = 0; start + k * per < 39; k++) {
			double t = start + k * per;
			int bar = (k - pickup + 4) / 4 - 1;
			if (bar < 0)
				bar = 3;
			synth_kick(&p, t, kick_amp);
			synth_hat(&p, t + per / 2, 0.2);
			synth_note(&p, t + per / 2, 0.4 * per, bass[bar % 4],
				   bass_amp, bass_bright);
			if (k >= pickup && (k - pickup) % 4 == 0)
				synth_chord(&p, t, 4 * per - 0.05, roots[bar % 4],
					    bar % 4 == 0, 0.03, 0.5);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		fprintf(stderr, "offbeat %.0f BPM: got %.3f first %.4f (true "
			"%.4f) down %.4f (true %.4f, conf %.2f) grid %.2f\n", bpm,
			a.bpm, a.first_beat_s, start, a.downbeat_s,
			start + pickup * per, a.downbeat_confidence,
			a.grid_confidence);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		CHECK_NEAR(a.first_beat_s, start, 0.010);
		CHECK_NEAR(a.downbeat_s, start + pickup * per, 0.010);
		CHECK(a.grid_confidence > 0.8);
		for (int w = 0; w < a.n_grid_windows; w++)
			CHECK(a.grid_window_kick_ratio[w] < 1.8f);
		synth_free(&p);
	}
}

/* An intro whose kick sits on the half-beat of the grid the rest of the
 * track gives (hats on the beat there), as in "Infight" and "Neuronal
 * Diving" on the Nexuiz album: the grid keeps the main section's phase,
 * and the windows say where the kick is, so that the planner can put
 * kick on kick. The off-beat bass of test_offbeat_bass() does not read
 * as a kick on the half-beat. */
static void test_kick_side(void)
{
	static const double tempi[] = { 122, 128, 140 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.4 + 0.017 * (double)i;
		const int intro_beats = 64, beats = 256;
		struct synth p = synth_new(start + beats * per + 1.0);
		for (int k = 0; k < beats; k++) {
			double t = start + k * per;
			bool intro = k < intro_beats;
			synth_kick(&p, intro ? t + per / 2 : t, 0.6);
			synth_hat(&p, intro ? t : t + per / 2, 0.25);
			if (!intro && k % 4 == 1)
				synth_snare(&p, t, 0.3);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		/* The grid is on the main section's kick. */
		double phase = fmod(a.first_beat_s - start, per);
		if (phase > per / 2)
			phase -= per;
		CHECK_NEAR(phase, 0, 0.010);
		int intro_w = 0, intro_half = 0, main_w = 0, main_on = 0;
		double win_s = a.grid_window_beats * per;
		for (int w = 0; w < a.n_grid_windows; w++) {
			double w0 = a.first_beat_s + w * win_s, w1 = w0 + win_s;
			float r = a.grid_window_kick_ratio[w];
			if (w1 <= start + intro_beats * per) {
				intro_w++;
				intro_half += r >= 1.8f;
			} else if (w0 >= start + intro_beats * per &&
				   w1 <= start + beats * per) {
				main_w++;
				main_on += r <= 1 / 1.8f;
			}
		}
		fprintf(stderr, "kick side %.0f BPM: grid %.3f first %.4f, intro "
			"windows %d with the kick on the half-beat of %d, main "
			"%d on the beat of %d\n", bpm, a.bpm, a.first_beat_s,
			intro_half, intro_w, main_on, main_w);
		CHECK(intro_w >= 3);
		CHECK_INT(intro_half, ==, intro_w);
		CHECK(main_w >= 10);
		CHECK_INT(main_on, ==, main_w);
		synth_free(&p);
	}
}

/* A section displaced by a sixteenth: the drums of the test_drums()
 * pattern, their last 64 beats played a quarter beat late (as "Breakdown
 * easy" on the Nexuiz album from 311 to 503 s), after a breakdown of
 * held chords. The grid keeps the main section's phase; the windows say
 * where each section's pattern sits against it (grid_window_shift_ms,
 * grid_window_match): the main section on it, the late one a quarter beat
 * off, the breakdown (a chord on each bar's first beat) on it or matching
 * nothing. */
static void test_displaced_section(void)
{
	static const double tempi[] = { 100, 128, 174 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.5 + 0.007 * (double)i;
		const int main_beats = 192, pad_beats = 32, late_beats = 64;
		const int beats = main_beats + pad_beats + late_beats;
		struct synth p = synth_new(start + beats * per + 1.0);
		for (int k = 0; k < beats; k++) {
			double t = start + k * per;
			int beat = k % 4;
			if (k >= main_beats && k < main_beats + pad_beats) {
				if (beat == 0)
					synth_chord(&p, t, 4 * per - 0.05, 9,
						    false, 0.05, 0.4);
				continue;
			}
			if (k >= main_beats + pad_beats)
				t += per / 4;
			if (beat == 0 || beat == 2)
				synth_kick(&p, t, 0.7);
			if (beat == 1 || beat == 3)
				synth_snare(&p, t, 0.35);
			synth_hat(&p, t, 0.25);
			synth_hat(&p, t + per / 2, 0.18);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		CHECK_NEAR(a.first_beat_s, start, 0.010);
		double win_s = a.grid_window_beats * per;
		double pad0 = start + main_beats * per;
		double late0 = pad0 + pad_beats * per, end = start + beats * per;
		int n_main = 0, n_pad = 0, n_late = 0;
		for (int w = 0; w < a.n_grid_windows; w++) {
			double w0 = a.first_beat_s + w * win_s, w1 = w0 + win_s;
			float sh = a.grid_window_shift_ms[w];
			float m = a.grid_window_match[w];
			if (w1 <= pad0) {
				n_main++;
				CHECK(fabsf(sh) <= 3.0f);
				CHECK(m >= 0.9f);
			} else if (w0 >= pad0 && w1 <= late0) {
				n_pad++;
				/* Its chords start bars: on the grid
				 * if they match at all. */
				CHECK(m < 0.6f || fabsf(sh) <= 3.0f);
			} else if (w0 >= late0 && w1 <= end) {
				n_late++;
				CHECK_NEAR(sh, 1000 * per / 4, 5.0);
				CHECK(m >= 0.9f);
				/* Too far off for its onsets to count. */
				CHECK(a.grid_window_hits[w] < 0.5f);
			}
		}
		fprintf(stderr, "displaced %.0f BPM: %d main, %d breakdown, %d "
			"late windows (a quarter beat is %.1f ms)\n", bpm, n_main,
			n_pad, n_late, 1000 * per / 4);
		CHECK(n_main >= 10);
		CHECK(n_pad >= 1);
		CHECK(n_late >= 3);
		synth_free(&p);
	}
}

/* An intro whose kick and snare play a sixteenth late under hats on
 * every sixteenth, louder than the kick (as "Thru the mirror" on the
 * Nexuiz album for its first 64 s): the hats keep the intro's onsets on
 * the grid, so its windows count as holding it (grid_window_hits), and
 * their onsets alone match themselves a sixteenth off as well as on.
 * The kick tells: grid_window_shift_ms puts the intro a sixteenth late
 * and the main section on the grid. */
static void test_displaced_under_hats(void)
{
	static const double tempi[] = { 105, 120, 141 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.45 + 0.011 * (double)i;
		const int intro_beats = 64, beats = 256;
		struct synth p = synth_new(start + beats * per + 1.0);
		for (int k = 0; k < beats; k++) {
			double t = start + k * per;
			double drum = k < intro_beats ? t + per / 4 : t;
			synth_kick(&p, drum, 0.3);
			if (k % 2 == 1)
				synth_snare(&p, drum, 0.2);
			for (int s16 = 0; s16 < 4; s16++)
				synth_hat(&p, t + s16 * per / 4,
					  s16 == 2 ? 0.45 : 0.35);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		/* The grid sits on the main section's kick. */
		double phase = fmod(a.first_beat_s - start, per);
		if (phase > per / 2)
			phase -= per;
		CHECK_NEAR(phase, 0, 0.010);
		double win_s = a.grid_window_beats * per;
		double intro_end = start + intro_beats * per;
		int n_intro = 0, n_main = 0, intro_counted = 0;
		for (int w = 0; w < a.n_grid_windows; w++) {
			double w0 = a.first_beat_s + w * win_s, w1 = w0 + win_s;
			float sh = a.grid_window_shift_ms[w];
			float m = a.grid_window_match[w];
			if (w1 <= intro_end) {
				n_intro++;
				intro_counted += a.grid_window_hits[w] >= 0.5f;
				CHECK_NEAR(sh, 1000 * per / 4, 5.0);
				CHECK(m >= 0.6f);
			} else if (w0 >= intro_end &&
				   w1 <= start + beats * per) {
				n_main++;
				CHECK(fabsf(sh) <= 3.0f);
				CHECK(m >= 0.9f);
			}
		}
		fprintf(stderr, "displaced under hats %.0f BPM: %d intro "
			"windows (%d count as holding the grid), %d main (a "
			"quarter beat is %.1f ms)\n", bpm, n_intro,
			intro_counted, n_main, 1000 * per / 4);
		CHECK(n_intro >= 3);
		CHECK(n_main >= 10);
		/* The case this is about: the hats keep them counted. */
		CHECK(intro_counted >= 1);
		synth_free(&p);
	}
}

/* No kick, and a bass line on the last two sixteenths of every beat
 * (the "and" and the "a", the "a" louder), under hats on the eighths and
 * a snare on 2 and 4, as Parsec47's "ptn3": the low band's attacks are
 * four to the bar at the "a", but as strong on the sixteenth next to it,
 * which a kick drum never is. The stored grid sits on the beat that the
 * hats and the snare give, not on the bass's "a". */
static void test_sixteenth_bass(void)
{
	static const double tempi[] = { 140, 150, 160 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.35 + 0.009 * (double)i;
		const int beats = 192;
		struct synth p = synth_new(start + beats * per + 1.0);
		for (int k = 0; k < beats; k++) {
			double t = start + k * per;
			synth_hat(&p, t, 0.25);
			synth_hat(&p, t + per / 2, 0.15);
			if (k % 2 == 1)
				synth_snare(&p, t, 0.35);
			synth_note(&p, t + per / 2, 0.2 * per, 33, 0.3, 0.2);
			synth_note(&p, t + 3 * per / 4, 0.2 * per, 40, 0.35, 0.2);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		double phase = fmod(a.first_beat_s - start, per);
		if (phase > per / 2)
			phase -= per;
		fprintf(stderr, "sixteenth bass %.0f BPM: got %.3f, the grid "
			"%+.1f ms from the beat (a sixteenth is %.1f ms)\n",
			bpm, a.bpm, 1000 * phase, 250 * per);
		CHECK(rel_err(a.bpm, bpm) <= 0.001);
		CHECK_NEAR(phase, 0, 0.010);
		synth_free(&p);
	}
}

/* Four on the floor under hats LOUDER than the kick: on the off-beats, on
 * every 16th, or both (a snare on 2 and 4 in half of them). Whatever the
 * hats do, the beat is the kick: the stored grid sits on it. */
static void test_loud_hats(void)
{
	static const double tempi[] = { 100, 112, 124, 136, 150, 162, 175 };
	int wrong = 0;
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		for (int style = 0; style < 3; style++) {
			double bpm = tempi[i], per = 60.0 / bpm;
			double start = 0.35 + 0.013 * (double)i + 0.005 * style;
			struct synth p = synth_new(40.0);
			for (int k = 0; start + (k + 1) * per < 39.5; k++) {
				double t = start + k * per;
				synth_kick(&p, t, 0.3);
				if (style != 1)	/* off-beat hats, 2.7x the kick */
					synth_hat(&p, t + per / 2, 0.8);
				if (style == 1)	/* 16ths, the off-beat accented */
					for (int s = 0; s < 4; s++)
						synth_hat(&p, t + s * per / 4,
							  s == 2 ? 0.7 : 0.5);
				if (style == 2)	/* and the other 16ths */
					for (int s = 0; s < 4; s += s == 1 ? 2 : 1)
						synth_hat(&p, t + s * per / 4, 0.5);
				if ((i + (size_t)style) % 2 && k % 2 == 1)
					synth_snare(&p, t, 0.2);
			}
			struct analysis a;
			CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
			check_sane(&a);
			double phase = remainder(a.first_beat_s - start, per);
			fprintf(stderr, "loud hats %.0f BPM style %d: got %.3f "
				"first %.4f (true %.4f, phase %+.1f ms) grid %.2f\n",
				bpm, style, a.bpm, a.first_beat_s, start,
				1000 * phase, a.grid_confidence);
			wrong += !(rel_err(a.bpm, bpm) <= 0.001 &&
				   fabs(phase) <= 0.010);
			synth_free(&p);
		}
	}
	fprintf(stderr, "loud hats: %d of 21 wrong\n", wrong);
	CHECK_INT(wrong, ==, 0);
}

/* A breakbeat: kicks on the "e" of beats 1 and 3 (a 16th after the beat)
 * and on the "and" of 2, snares on 2 and 4, hats on the eighths, a bass
 * note that moves with the kicks. No low-band attack falls on the beat,
 * and the one on the "and" of 2 pulled the grid half a beat off; the
 * snares and hats say where the beat is, and the stored grid sits there.
 * From 145 BPM on the tempo may be read at half time (the halves of the
 * bar repeat; its beats alternate kick and snare), its beats then the
 * snares': accepted, the phase is what is checked here. */
static void test_breakbeat(void)
{
	static const double tempi[] = { 100, 115, 130, 145, 160, 175 };
	static const int bass[4] = { 36, 36, 39, 34 };
	int wrong = 0;
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double bpm = tempi[i], per = 60.0 / bpm;
		double start = 0.3 + 0.019 * (double)i;
		struct synth p = synth_new(45.0);
		for (int k = 0; start + (k + 1) * per < 44.5; k++) {
			double t = start + k * per;
			int beat = k % 4;
			if (beat == 0 || beat == 2) {
				synth_kick(&p, t + per / 4, 0.7);
				synth_note(&p, t + per / 4, 0.6 * per,
					   bass[(k / 4) % 4], 0.15, 0.3);
			}
			if (beat == 1)
				synth_kick(&p, t + per / 2, 0.55);
			if (beat == 1 || beat == 3)
				synth_snare(&p, t, 0.35);
			synth_hat(&p, t, 0.2);
			synth_hat(&p, t + per / 2, 0.15);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		fprintf(stderr, "breakbeat %.0f BPM: got %.3f first %.4f (true "
			"%.4f, phase %+.1f ms) grid %.2f\n", bpm, a.bpm,
			a.first_beat_s, start,
			1000 * remainder(a.first_beat_s - start, per),
			a.grid_confidence);
		/* From 145 BPM on the tempo is read at half time (the bar's
		 * halves repeat, its beats alternate kick and snare): then
		 * the grid's beats are every other beat, the snares'. */
		double got = rel_err(a.bpm, bpm) <= 0.001 ? per :
			     rel_err(a.bpm, bpm / 2) <= 0.001 ? 2 * per : 0;
		double phase = remainder(a.first_beat_s - start, per);
		wrong += !(got > 0 && fabs(phase) <= 0.010 &&
			   a.first_beat_s - start < got + 0.010);
		synth_free(&p);
	}
	fprintf(stderr, "breakbeat: %d of 6 wrong\n", wrong);
	CHECK_INT(wrong, ==, 0);
}

/* Tempo and grid over a long track with a kick on every beat, off-beat
 * hats in every other section (sharper onsets than the kick's) and, in
 * some sections, a bright bass note on the off-beats: the grid must neither
 * slip by half a beat between sections nor take the bass note's waveform
 * for onsets. These were 0.05 to 0.45% off before. */
static void test_long_grid(void)
{
	static const double tempi[] = { 112, 124, 136, 148, 160 };
	for (size_t i = 0; i < sizeof(tempi) / sizeof(tempi[0]); i++) {
		double per = round(60.0 / tempi[i] * SYNTH_RATE) / SYNTH_RATE;
		double bpm = 60.0 / per, start = 0.1;
		struct synth p = synth_new(100.0);
		for (int k = 0; start + (k + 1) * per < 100.0; k++) {
			double t = start + k * per;
			synth_kick(&p, t, 0.5);
			if ((k / 48) % 2 == (int)(i % 2))
				synth_hat(&p, t + per / 2, 0.3);
			if ((k / 48) % 3 == 2)
				synth_note(&p, t + per / 2, 0.4 * per, 40 + k / 4 % 5,
					   0.3, 0.8);
			if (k % 16 == 0)
				synth_chord(&p, t, 16 * per - 0.05, 9, true, 0.02,
					    0.5);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		double phase = remainder(a.first_beat_s - start, per);
		fprintf(stderr, "long grid %.3f BPM: got %.3f (%+.4f%%) phase error %.4f s "
			"grid %.2f rms %.1f ms\n", bpm, a.bpm,
			100 * (a.bpm / bpm - 1), phase, a.grid_confidence,
			a.grid_rms_ms);
		CHECK(rel_err(a.bpm, bpm) <= 0.0001);
		CHECK(a.grid_rms_ms < 5);
		CHECK(a.grid_confidence > 0.9);
		synth_free(&p);
	}
}

/* Chord progressions that establish their key: each chord two bars at
 * 120 BPM, with light drums, played twice. */
struct key_case {
	const char *name;
	const char *camelot;
	int chords[4];   /* roots, pitch class */
	bool minor[4];
};

static void test_keys(void)
{
	static const struct key_case cases[] = {
		{ "C major", "8B", { 0, 5, 7, 0 }, { 0, 0, 0, 0 } },
		{ "G major", "9B", { 7, 4, 0, 2 }, { 0, 1, 0, 0 } },
		{ "Eb major", "5B", { 3, 8, 10, 3 }, { 0, 0, 0, 0 } },
		{ "A major", "11B", { 9, 2, 4, 9 }, { 0, 0, 0, 0 } },
		{ "A minor", "8A", { 9, 2, 4, 9 }, { 1, 1, 0, 1 } },
		{ "E minor", "9A", { 4, 0, 9, 11 }, { 1, 0, 1, 0 } },
		{ "F# minor", "11A", { 6, 11, 1, 6 }, { 1, 1, 0, 1 } },
		{ "C minor", "5A", { 0, 5, 7, 0 }, { 1, 1, 0, 1 } },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct key_case *kc = &cases[c];
		double bar = 2.0;
		struct synth p = synth_new(33.0);
		for (int b = 0; b < 16; b++) {
			double t = 0.5 + b * bar;
			int ch = (b / 2) % 4;
			synth_chord(&p, t, bar - 0.05, kc->chords[ch], kc->minor[ch],
				    0.06, 0.5);
			for (int k = 0; k < 4; k++)
				synth_kick(&p, t + k * 0.5, 0.4);
		}
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		check_sane(&a);
		fprintf(stderr, "key %s: got %s (%s, confidence %.2f)\n",
			kc->name, a.key_name, a.camelot, a.key_confidence);
		CHECK_STR(a.key_name, kc->name);
		CHECK_STR(a.camelot, kc->camelot);
		CHECK_STR(analyze_key_name(a.key), kc->name);
		CHECK(a.key_confidence > 0.2);
		synth_free(&p);
	}
	CHECK_STR(analyze_key_name(-1), "");
	CHECK_STR(analyze_key_camelot(24), "");
	CHECK_STR(analyze_key_camelot(21), "8A");  /* A minor */
	CHECK_STR(analyze_key_camelot(0), "8B");   /* C major */
	CHECK_STR(analyze_key_camelot(11), "1B");  /* B major */
	CHECK_STR(analyze_key_camelot(20), "1A");  /* G# minor */
}

/* A song-like track: drums, bass and chords at `bpm`, `seconds` long. */
static struct synth make_song(double bpm, double seconds, double start)
{
	static const int roots[4] = { 9, 5, 0, 7 };
	static const bool minor[4] = { 1, 0, 0, 0 };
	double per = 60.0 / bpm;
	struct synth p = synth_new(seconds);
	for (int k = 0; start + k * per < seconds - 1; k++) {
		double t = start + k * per;
		int beat = k % 4, bar = k / 4;
		synth_kick(&p, t, 0.5);
		if (beat == 1 || beat == 3)
			synth_snare(&p, t, 0.25);
		synth_hat(&p, t + per / 2, 0.15);
		if (beat == 0)
			synth_chord(&p, t, 4 * per - 0.05, roots[bar % 4],
				    minor[bar % 4], 0.04, 0.5);
	}
	return p;
}

static bool ffmpeg_loudness(const char *wav, double *lufs, double *tp)
{
	char cmd[8448];
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostats -hide_banner -i '%s' "
		 "-af ebur128=peak=true -f null - 2>&1", wav);
	FILE *fp = popen(cmd, "r");
	if (!fp)
		return false;
	char line[512];
	bool got_i = false, got_p = false;
	while (fgets(line, sizeof(line), fp)) {
		double v;
		if (sscanf(line, " I: %lf LUFS", &v) == 1) {
			*lufs = v;
			got_i = true;
		}
		if (sscanf(line, " Peak: %lf dBFS", &v) == 1) {
			*tp = v;
			got_p = true;
		}
	}
	pclose(fp);
	return got_i && got_p;
}

static void test_loudness(void)
{
	if (!test_have_program("ffmpeg")) {
		fprintf(stderr, "ffmpeg missing: loudness comparison skipped\n");
		return;
	}
	const char *dir = test_tmpdir("analyze");
	char wav[4200];
	snprintf(wav, sizeof(wav), "%s/song.wav", dir);
	static const double gains[3] = { 1.0, 0.1, 0.6 };
	for (int g = 0; g < 3; g++) {
		struct synth p = make_song(126, 20, 0.3);
		synth_gain(&p, gains[g]);
		if (g == 2) {
			/* Pink-ish noise, a tone near Nyquist: treble content. */
			float lp = 0;
			for (size_t i = 0; i < p.frames; i++) {
				lp = 0.9f * lp + 0.1f * synth_noise(&p);
				float v = 0.3f * lp + 0.05f * synth_noise(&p) +
					  0.1f * (float)sin(2 * M_PI * 15000.0 * i / 44100);
				p.s[2 * i] += v;
				p.s[2 * i + 1] -= 0.5f * v;
			}
		}
		CHECK_INT(synth_write_wav(&p, wav), ==, 0);
		double lufs = 0, tp = 0;
		CHECK(ffmpeg_loudness(wav, &lufs, &tp));
		struct analysis a;
		CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
		fprintf(stderr, "loudness: %.2f LUFS %.2f dBTP (ffmpeg %.2f LUFS "
			"%.2f dBTP)\n", a.loudness_lufs, a.true_peak_db, lufs, tp);
		CHECK_NEAR(a.loudness_lufs, lufs, 0.5);
		CHECK_NEAR(a.true_peak_db, tp, 0.5);
		synth_free(&p);
	}
	test_sh("rm -rf '%s'", dir);
}

/* 8-bar sections of different timbre; boundaries at the section starts. */
static void test_phrases(void)
{
	double bpm = 124, per = 60.0 / bpm, start = 0.4;
	int sections = 5;
	struct synth p = synth_new(start + sections * 32 * per + 1.0);
	for (int k = 0; k < sections * 32; k++) {
		double t = start + k * per;
		int sec = k / 32, beat = k % 4, bar = k / 4;
		switch (sec % 5) {
		case 0: /* kick and hats, dark pad */
			synth_kick(&p, t, 0.5);
			synth_hat(&p, t + per / 2, 0.12);
			if (beat == 0)
				synth_chord(&p, t, 4 * per - 0.05, 9, true, 0.04, 0.0);
			break;
		case 1: /* full beat, bright chords */
			synth_kick(&p, t, 0.5);
			if (beat % 2)
				synth_snare(&p, t, 0.3);
			synth_hat(&p, t, 0.1);
			synth_hat(&p, t + per / 2, 0.15);
			if (beat == 0)
				synth_chord(&p, t, 4 * per - 0.05, bar % 2 ? 5 : 0,
					    false, 0.05, 1.0);
			break;
		case 2: /* breakdown: no drums, high sustained chords */
			if (beat == 0)
				synth_chord(&p, t, 4 * per - 0.05, 2, true, 0.07, 0.6);
			synth_note(&p, t, per * 0.9, 81 + (k % 3), 0.05, 0.9);
			break;
		case 3: /* bass and kick only */
			synth_kick(&p, t, 0.6);
			synth_note(&p, t + per / 2, per / 2 - 0.02, 33, 0.3, 0.1);
			break;
		default: /* hats and snare rolls */
			synth_hat(&p, t, 0.15);
			synth_hat(&p, t + per / 4, 0.1);
			synth_hat(&p, t + per / 2, 0.15);
			synth_hat(&p, t + 3 * per / 4, 0.1);
			synth_kick(&p, t, beat == 0 ? 0.5 : 0.2);
			synth_snare(&p, t + per / 2, 0.15);
			break;
		}
	}
	struct analysis a;
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	fprintf(stderr, "phrases: bpm %.3f downbeat %.3f, %d boundaries, "
		"%d bars:", a.bpm, a.downbeat_s, a.n_phrases, a.phrase_bars);
	for (int i = 0; i < a.n_phrases; i++)
		fprintf(stderr, " %.2f", a.phrases_s[i]);
	fprintf(stderr, "\n");
	CHECK(rel_err(a.bpm, bpm) <= 0.001);
	CHECK_NEAR(a.downbeat_s, start, 0.010);
	/* Every section start is found, to a beat, and nothing else. */
	for (int sec = 1; sec < sections; sec++) {
		double truth = start + sec * 32 * per;
		bool found = false;
		for (int i = 0; i < a.n_phrases; i++)
			if (fabs(a.phrases_s[i] - truth) <= per + 0.01)
				found = true;
		CHECK(found);
	}
	for (int i = 1; i < a.n_phrases; i++) {
		double beats = (a.phrases_s[i] - start) / per;
		double off = fabs(beats - 32 * round(beats / 32));
		CHECK(off <= 1.05);
	}
	CHECK_INT(a.phrase_bars, ==, 8);
	synth_free(&p);
}

/* Quiet intro and outro (hats only, -20 dB) around a loud body, with
 * digital silence before and after. */
static void test_cues(void)
{
	double bpm = 128, per = 60.0 / bpm, lead = 2.0, tail = 3.0;
	int beats = 4 * (16 + 32 + 16);
	double len = lead + beats * per + tail;
	struct synth p = synth_new(len);
	for (int k = 0; k < beats; k++) {
		double t = lead + k * per;
		bool body = k >= 64 && k < 4 * 48;
		synth_hat(&p, t + per / 2, body ? 0.15 : 0.03);
		synth_kick(&p, t, body ? 0.6 : 0.05);
		if (body && k % 4 == 0)
			synth_chord(&p, t, 4 * per - 0.05, 0, false, 0.05, 0.5);
	}
	/* The last hat's tail ends within the last beat. */
	struct analysis a;
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	fprintf(stderr, "cues: audio %.3f..%.3f intro end %.2f outro start "
		"%.2f (bars at %.2f and %.2f)\n", a.audio_start_s, a.audio_end_s,
		a.intro_end_s, a.outro_start_s, lead + 64 * per,
		lead + 4 * 48 * per);
	CHECK_NEAR(a.audio_start_s, lead, 0.010);
	CHECK(a.audio_end_s > lead + (beats - 1) * per);
	CHECK(a.audio_end_s < len - tail + 0.1);
	CHECK_NEAR(a.duration_s, len, 0.001);
	CHECK_NEAR(a.intro_end_s, lead + 64 * per, 4 * per + 0.01);
	CHECK_NEAR(a.outro_start_s, lead + 4 * 48 * per, 4 * per + 0.01);
	synth_free(&p);
}

/* Energy follows the music, not its level; timbre tells sounds apart. */
static void test_energy_timbre(void)
{
	struct synth song = make_song(128, 30, 0.2);
	struct synth quiet = make_song(128, 30, 0.2);
	synth_gain(&quiet, 0.05);
	struct synth pad = synth_new(30);
	for (int b = 0; b < 14; b++)
		synth_chord(&pad, 0.2 + 2 * b, 1.95, b % 2 ? 5 : 0, false, 0.08,
			    0.2);
	struct analysis as, aq, ap;
	CHECK_INT(analyze_pcm(song.s, song.frames, NULL, &as), ==, 0);
	CHECK_INT(analyze_pcm(quiet.s, quiet.frames, NULL, &aq), ==, 0);
	CHECK_INT(analyze_pcm(pad.s, pad.frames, NULL, &ap), ==, 0);
	fprintf(stderr, "energy: song %.3f quiet song %.3f pad %.3f\n",
		as.energy, aq.energy, ap.energy);
	CHECK_NEAR(as.energy, aq.energy, 0.05);
	CHECK(as.energy > ap.energy + 0.2);
	CHECK_NEAR(as.loudness_lufs - aq.loudness_lufs, 26.0, 0.3);
	double d_same = 0, d_diff = 0;
	for (int i = 1; i < ANALYSIS_MFCC; i++) {
		d_same += pow(as.mfcc_mean[i] - aq.mfcc_mean[i], 2);
		d_diff += pow(as.mfcc_mean[i] - ap.mfcc_mean[i], 2);
	}
	fprintf(stderr, "timbre distance: same song %.3f, song/pad %.3f\n",
		sqrt(d_same), sqrt(d_diff));
	CHECK(sqrt(d_diff) > 3 * sqrt(d_same));
	synth_free(&song);
	synth_free(&quiet);
	synth_free(&pad);
}

/* Silence, noise, one second, free tempo, nothing at all, NaN: sane values
 * with low confidence, never a crash. */
static void test_hostile(void)
{
	struct analysis a;
	struct synth p = synth_new(20);
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	CHECK(a.bpm == 0 && a.bpm_confidence == 0);
	CHECK_INT(a.key, ==, -1);
	CHECK(a.loudness_lufs <= -70 && a.true_peak_db <= -70);
	CHECK(a.energy == 0);
	CHECK_NEAR(a.duration_s, 20, 1e-6);

	for (size_t i = 0; i < 2 * p.frames; i++)
		p.s[i] = 0.2f * synth_noise(&p);
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	fprintf(stderr, "noise: bpm %.2f conf %.2f grid %.2f key %s conf %.2f "
		"energy %.2f\n", a.bpm, a.bpm_confidence, a.grid_confidence,
		a.key_name, a.key_confidence, a.energy);
	CHECK(a.bpm_confidence < 0.3);
	CHECK(a.key_confidence < 0.4);
	synth_free(&p);

	/* Free tempo: clicks at random intervals of 0.2 .. 1.3 s. */
	p = synth_new(40);
	for (double t = 0.3; t < 39; t += 0.2 + 1.1 * (0.5 + 0.5 * synth_noise(&p)))
		synth_click(&p, t, 1000, 0.4);
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	fprintf(stderr, "free tempo: bpm %.2f conf %.2f grid %.2f\n", a.bpm,
		a.bpm_confidence, a.grid_confidence);
	CHECK(a.bpm_confidence < 0.3);
	synth_free(&p);

	/* One second of clicks; a tenth of a second; nothing. */
	p = synth_new(1.0);
	for (int k = 0; k < 2; k++)
		synth_click(&p, 0.1 + 0.5 * k, 1000, 0.5);
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	CHECK(a.bpm == 0);
	CHECK(a.loudness_lufs > -40);
	CHECK_INT(analyze_pcm(p.s, 4410, NULL, &a), ==, 0);
	check_sane(&a);
	CHECK_INT(analyze_pcm(p.s, 0, NULL, &a), ==, 0);
	check_sane(&a);
	CHECK(a.duration_s == 0 && a.bpm == 0);

	/* Not-a-number, infinities and full-scale square waves. */
	for (size_t i = 0; i < 2 * p.frames; i++)
		p.s[i] = i % 7 == 0 ? NAN : i % 11 == 0 ? INFINITY :
			 (i / 100) % 2 ? 1.0f : -1.0f;
	CHECK_INT(analyze_pcm(p.s, p.frames, NULL, &a), ==, 0);
	check_sane(&a);
	synth_free(&p);

	/* Bad arguments. */
	struct analysis_params bad = { 150, 160 };
	CHECK_INT(analyze_pcm(NULL, 0, &bad, &a), ==, -EINVAL);
	CHECK(analyze_create(&bad) == NULL && errno == EINVAL);
	struct analyzer *an = analyze_create(NULL);
	CHECK(an != NULL);
	CHECK_INT(analyze_feed(an, NULL, 5), ==, -EINVAL);
	CHECK_INT(analyze_finish(an, &a), ==, 0);
	CHECK_INT(analyze_finish(an, &a), ==, -EINVAL);
	CHECK_INT(analyze_feed(an, p.s, 0), ==, -EINVAL);
	analyze_destroy(an);
	analyze_destroy(NULL);
}

/* A narrower tempo range moves the octave. */
static void test_params(void)
{
	struct synth p = make_song(170, 30, 0.25);
	struct analysis_params prm;
	analyze_params_default(&prm);
	CHECK_NEAR(prm.bpm_min, 70, 1e-9);
	CHECK_NEAR(prm.bpm_max, 180, 1e-9);
	struct analysis a;
	CHECK_INT(analyze_pcm(p.s, p.frames, &prm, &a), ==, 0);
	CHECK(rel_err(a.bpm, 170) <= 0.001);
	prm.bpm_min = 60;
	prm.bpm_max = 110;
	CHECK_INT(analyze_pcm(p.s, p.frames, &prm, &a), ==, 0);
	fprintf(stderr, "170 BPM in 60..110: %.3f\n", a.bpm);
	CHECK(rel_err(a.bpm, 85) <= 0.001);
	synth_free(&p);
}

int main(void)
{
	if (getenv("TEST_ANALYZE_DEBUG"))
		log_set_level(LOG_LEVEL_DEBUG);
	const char *only = getenv("TEST_ANALYZE_ONLY");
	if (!only || strstr(only, "clicks"))
		test_clicks();
	if (!only || strstr(only, "pitched"))
		test_pitched_downbeats();
	if (!only || strstr(only, "drums"))
		test_drums();
	if (!only || strstr(only, "offbeat"))
		test_offbeat_bass();
	if (!only || strstr(only, "kick"))
		test_kick_side();
	if (!only || strstr(only, "displaced"))
		test_displaced_section();
	if (!only || strstr(only, "displaced"))
		test_displaced_under_hats();
	if (!only || strstr(only, "sixteenth"))
		test_sixteenth_bass();
	if (!only || strstr(only, "loudhats"))
		test_loud_hats();
	if (!only || strstr(only, "breakbeat"))
		test_breakbeat();
	if (!only || strstr(only, "long"))
		test_long_grid();
	if (!only || strstr(only, "keys"))
		test_keys();
	if (!only || strstr(only, "loudness"))
		test_loudness();
	if (!only || strstr(only, "phrases"))
		test_phrases();
	if (!only || strstr(only, "cues"))
		test_cues();
	if (!only || strstr(only, "energy"))
		test_energy_timbre();
	if (!only || strstr(only, "hostile"))
		test_hostile();
	if (!only || strstr(only, "params"))
		test_params();
	return 0;
}
