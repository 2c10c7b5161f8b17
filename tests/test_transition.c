/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_transition — the transition planner on analyses whose truth is set
 * by hand: tempo, first downbeat, phrase boundaries, intro and outro.
 *
 * What is asserted is what the mix relies on: exits and entries on
 * downbeats (bars of both tracks coincide) and on phrase boundaries when
 * there are any, A's window inside its audio (never into trailing silence)
 * and after where A started playing alone, B's window covering its intro,
 * shorter transitions for short tracks, a crossfade with a reason when
 * tempos or grids do not allow beatmatching, double/half time, loudness
 * gains with their peak limit, the playhead's timing (checked against
 * numeric integration of 60 / tempo) and its inverse, continuous time
 * ratios at both ends, equal-power fades with a one-bar bass swap in the
 * middle, and determinism.
 */
#include "autoconfig.h"

#include "transition.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* A track with a perfect 4/4 grid: first downbeat at DOWNBEAT_S, phrases
 * every PHRASE_BARS bars, intro and outro of the given bars, audio from
 * 0.05 s to 1 s before its end. */
static struct analysis track(double bpm, double duration_s, double downbeat_s,
			     int phrase_bars, int intro_bars, int outro_bars)
{
	struct analysis a;
	memset(&a, 0, sizeof(a));
	a.version = ANALYSIS_VERSION;
	a.duration_s = duration_s;
	a.audio_start_s = 0.0;
	a.audio_end_s = duration_s - 1.0;
	a.bpm = bpm;
	a.bpm_confidence = 0.9;
	a.first_beat_s = downbeat_s;
	a.grid_confidence = 0.95;
	a.grid_rms_ms = 2;
	a.beats_per_bar = 4;
	a.downbeat_s = downbeat_s;
	a.downbeat_confidence = 0.9;
	double bar = 240.0 / bpm;
	int total_bars = (int)floor((a.audio_end_s - downbeat_s) / bar);
	a.phrase_bars = phrase_bars;
	for (int k = 0; k <= total_bars && a.n_phrases < ANALYSIS_PHRASES_MAX;
	     k += phrase_bars)
		a.phrases_s[a.n_phrases++] = downbeat_s + k * bar;
	a.intro_end_s = downbeat_s + intro_bars * bar;
	a.outro_start_s = downbeat_s + (total_bars - outro_bars) * bar;
	a.loudness_lufs = -10;
	a.true_peak_db = -0.5;
	a.key = 9 + 12;
	a.energy = 0.6;
	return a;
}

static double bar_of(const struct analysis *a)
{
	return 240.0 / a->bpm;
}

/* (x - origin) is a whole number of periods, within 1 ms. */
static void check_on_grid(double x, double origin, double period)
{
	double k = (x - origin) / period;
	CHECK_NEAR((k - floor(k + 0.5)) * period, 0, 0.001);
}

/* The offset (s) of the music from the grid that a cut goes by at T:
 * the grid window's there if it carries a steady beat and the offset is
 * 3 ms or more (transition.h, Cuts); *found says whether it carries one. */
static double cut_shift(const struct analysis *an, double t, bool *found)
{
	*found = false;
	if (an->n_grid_windows <= 0)
		return 0;
	int w = (int)floor((t - an->first_beat_s) /
			   (an->grid_window_beats * 60.0 / an->bpm));
	if (w < 0 || w >= an->n_grid_windows || an->grid_window_hits[w] < 0.5)
		return 0;
	*found = true;
	double off = an->grid_window_offset_ms[w];
	return fabs(off) >= 3 ? off / 1000 : 0;
}

/* A cut (transition.h): A ends on one of its downbeats (where its music
 * has it, the last of its last bar's windows with a beat) after fading
 * over its last beat alone, and B's first downbeat (where its music has
 * it) plays exactly where A's next would have: at the end of that beat,
 * after a lead-in of TRANSITION_CUT_LEAD_S, the only part of B heard
 * before it. */
static void check_cut(const struct analysis *a, const struct analysis *b,
		      const struct transition_plan *p)
{
	double beat = 60.0 / a->bpm;
	CHECK_INT(p->kind, ==, TRANSITION_CUT);
	CHECK_STR(transition_kind_name(p->kind), "cut");
	CHECK_NEAR(p->duration_s, beat, 1e-12);
	CHECK_NEAR(p->a_end_s - p->a_exit_s, beat, 1e-12);
	bool found = false;
	double shift_a = 0, shift_b;
	for (int k = 0; k < 4 && !found; k++)
		shift_a = cut_shift(a, p->a_end_s - (k + 0.5) * beat, &found);
	check_on_grid(p->a_end_s - shift_a, a->downbeat_s, 4 * beat);
	CHECK(p->a_end_s <= a->audio_end_s);
	shift_b = cut_shift(b, b->downbeat_s + 0.02, &found);
	CHECK_NEAR(p->b_entry_s - shift_b, b->downbeat_s, 1e-12);
	CHECK_NEAR(p->b_resume_s, p->b_entry_s, 1e-12);
	/* The pulse: B's downbeat plays on A's next. */
	CHECK_NEAR(p->b_entry_at_s, p->a_end_s - p->a_exit_s, 1e-12);
	CHECK_NEAR(p->marker_s, beat - TRANSITION_CUT_LEAD_S / 2, 1e-12);
	struct transition_gains g;
	transition_gains_at(p, 0, &g);
	CHECK_NEAR(g.high_a, 1, 1e-12);
	CHECK_NEAR(g.high_b, 0, 0);
	transition_gains_at(p, beat - TRANSITION_CUT_LEAD_S - 1e-6, &g);
	CHECK_NEAR(g.high_b, 0, 0);
	CHECK_NEAR(g.low_b, 0, 0);
	transition_gains_at(p, beat - TRANSITION_CUT_LEAD_S / 2, &g);
	CHECK_NEAR(g.high_b, sin(M_PI_4), 1e-9);
	transition_gains_at(p, beat, &g);
	CHECK_NEAR(g.high_a, 0, 1e-12);
	CHECK_NEAR(g.high_b, 1, 0);
}


static bool is_phrase(const struct analysis *a, double x)
{
	for (int i = 0; i < a->n_phrases; i++)
		if (fabs(a->phrases_s[i] - x) < 0.001)
			return true;
	return false;
}

/* Numeric integral of 60 / tempo over beats 0..beat. */
static double integrate_time(const struct transition_plan *p, double beat)
{
	const int n = 100000;
	double sum = 0, h = beat / n;
	for (int i = 0; i < n; i++)
		sum += 60.0 / transition_tempo_at(p, (i + 0.5) * h) * h;
	return sum;
}

static void check_beatmatched_(const struct analysis *a,
			      const struct analysis *b,
			      const struct transition_params *prm,
			      const struct transition_plan *p)
{
	CHECK_INT(p->kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p->beats, ==, 4 * p->bars);
	CHECK_NEAR(p->bpm_from, a->bpm, 1e-9);
	CHECK_NEAR(p->bpm_to, b->bpm, 1e-9);
	/* Downbeats: both windows start on a downbeat of their track. */
	check_on_grid(p->a_exit_s, a->downbeat_s, bar_of(a));
	check_on_grid(p->b_entry_s, b->downbeat_s, bar_of(b));
	/* Inside the audio, after A's solo start, B not before its first
	 * downbeat. */
	CHECK(p->a_exit_s >= prm->a_from_s - 1e-9);
	CHECK(p->a_end_s <= a->audio_end_s + 1e-9);
	CHECK(p->b_entry_s >= b->downbeat_s - 1e-9);
	CHECK(p->b_resume_s <= b->audio_end_s);
	/* The windows are the planned number of beats of each track. */
	CHECK_NEAR(p->a_end_s - p->a_exit_s, p->beats * 60.0 / a->bpm, 1e-9);
	CHECK_NEAR(p->b_resume_s - p->b_entry_s,
		   p->beats * p->b_beat_ratio * 60.0 / b->bpm, 1e-9);
	CHECK_NEAR(transition_a_time(p, p->beats), p->a_end_s, 1e-9);
	CHECK_NEAR(transition_b_time(p, p->beats), p->b_resume_s, 1e-9);
	/* Timing: closed form against the integral, inverse. */
	CHECK_NEAR(p->duration_s, integrate_time(p, p->beats), 1e-6);
	CHECK_NEAR(p->marker_s, integrate_time(p, p->beats / 2.0), 1e-6);
	CHECK_NEAR(p->marker_s, p->bass_swap_s, 1e-12);
	for (double x = -3; x <= p->beats + 3; x += 0.37)
		CHECK_NEAR(transition_beat_at(p, transition_beat_time(p, x)), x,
			   1e-9);
	/* The duration sits between the two constant-tempo durations. */
	double d0 = p->beats * 60.0 / p->bpm_from;
	double d1 = p->beats * 60.0 * p->b_beat_ratio / p->bpm_to;
	CHECK(p->duration_s >= fmin(d0, d1) - 1e-9);
	CHECK(p->duration_s <= fmax(d0, d1) + 1e-9);
	/* Ratios: A at its own speed up to the ramp, B from its end (the
	 * mixer plays them unstretched there), and the tempo, the time and
	 * both ratios continuous at both ends of the ramp (a thousandth of
	 * a beat on each side). */
	double r0 = p->ramp_from_beat, r1 = p->ramp_to_beat, e = 1e-3;
	CHECK(r0 >= 0 && r0 < r1 && r1 <= p->beats);
	CHECK_NEAR(r0 + r1, p->beats, 1e-12); /* symmetric */
	CHECK_NEAR(transition_ratio_a(p, p->a_exit_s - 1.0), 1.0, 1e-12);
	CHECK_NEAR(transition_ratio_a(p, transition_a_time(p, r0)), 1.0,
		   1e-12);
	CHECK_NEAR(transition_ratio_b(p, transition_b_time(p, r1)), 1.0,
		   1e-12);
	CHECK_NEAR(transition_ratio_b(p, p->b_resume_s + 1.0), 1.0, 1e-12);
	double jump = fabs(p->bpm_to / p->b_beat_ratio - p->bpm_from) /
		      (r1 - r0) * 2 * e + 1e-12;
	for (int end = 0; end < 2; end++) {
		double r = end ? r1 : r0;
		CHECK_NEAR(transition_tempo_at(p, r - e),
			   transition_tempo_at(p, r + e), jump);
		CHECK_NEAR(transition_beat_time(p, r + e) -
			   transition_beat_time(p, r - e),
			   2 * e * 60.0 / transition_tempo_at(p, r), 1e-6);
		CHECK_NEAR(transition_ratio_a(p, transition_a_time(p, r - e)),
			   transition_ratio_a(p, transition_a_time(p, r + e)),
			   1e-4);
		CHECK_NEAR(transition_ratio_b(p, transition_b_time(p, r - e)),
			   transition_ratio_b(p, transition_b_time(p, r + e)),
			   1e-4);
	}
	/* At the end A is played at B's tempo, at the start B at A's. */
	CHECK_NEAR(transition_ratio_a(p, p->a_end_s + 1.0),
		   p->bpm_from * p->b_beat_ratio / p->bpm_to, 1e-12);
	CHECK_NEAR(transition_ratio_b(p, p->b_entry_s - 1.0),
		   p->bpm_to / (p->b_beat_ratio * p->bpm_from), 1e-12);
	CHECK(p->stretch <= prm->max_stretch + 1e-12);
	/* The bass swap lasts a bar around the middle. */
	double bar_mid = transition_beat_time(p, p->beats / 2.0 + 2) -
			 transition_beat_time(p, p->beats / 2.0 - 2);
	CHECK_NEAR(p->bass_swap_len_s, bar_mid, 1e-12);
	CHECK(strlen(p->reason) > 0);
}

static void check_beatmatched(const struct analysis *a,
			      const struct analysis *b,
			      const struct transition_params *prm,
			      const struct transition_plan *p)
{
	if (p->kind != TRANSITION_BEATMATCHED)
		fprintf(stderr, "not beatmatched: %s\n", p->reason);
	check_beatmatched_(a, b, prm, p);
}

/* A tempo bridge (transition.h): A rides towards B's tempo while alone
 * before the exit, both play at the meeting tempo sqrt(T0 T1) throughout
 * the overlap, B rides back to its own tempo after it; nobody is played
 * more than max_stretch off its own tempo, the rides leave A's part
 * after a_from_s and B a transition's length before its end, and the
 * playhead is continuous and invertible over the whole of it. */
static void check_bridged(const struct analysis *a, const struct analysis *b,
			  const struct transition_params *prm,
			  const struct transition_plan *p)
{
	if (p->kind != TRANSITION_BEATMATCHED)
		fprintf(stderr, "not beatmatched: %s\n", p->reason);
	CHECK_INT(p->kind, ==, TRANSITION_BEATMATCHED);
	CHECK(strstr(p->reason, "tempo bridge"));
	double t0 = p->bpm_from, t1 = p->bpm_to / p->b_beat_ratio;
	double tm = sqrt(t0 * t1);
	CHECK_NEAR(p->bpm_meet, tm, 1e-9);
	CHECK_NEAR(p->meet_from_beat, 0, 0);
	CHECK_NEAR(p->meet_to_beat, p->beats, 0);
	double n = -p->ramp_from_beat;
	CHECK_NEAR(p->ramp_to_beat - p->beats, n, 0);
	CHECK(n >= 16 && n <= p->beats);
	check_on_grid(p->a_exit_s, a->downbeat_s, bar_of(a));
	check_on_grid(p->b_entry_s, b->downbeat_s, bar_of(b));
	CHECK_NEAR(p->a_end_s - p->a_exit_s, p->beats * 60.0 / a->bpm, 1e-9);
	/* The rides fit: A's starts after a_from_s, B's ends with a
	 * transition's length of B left. */
	double a_ride = transition_a_time(p, p->ramp_from_beat);
	CHECK(a_ride >= prm->a_from_s - 1e-9);
	CHECK_NEAR(p->b_resume_s, transition_b_time(p, p->ramp_to_beat), 1e-9);
	CHECK(p->b_resume_s + p->beats * p->b_beat_ratio * 60.0 / b->bpm <=
	      b->audio_end_s + 1e-9);
	/* Speeds: own tempo outside the rides, the meeting tempo over the
	 * whole overlap (A as it leaves and B as it enters), never beyond
	 * max_stretch. */
	CHECK_NEAR(transition_ratio_a(p, a_ride - 1.0), 1.0, 1e-12);
	CHECK_NEAR(transition_ratio_b(p, p->b_resume_s + 1.0), 1.0, 1e-12);
	for (double x = 0; x <= p->beats; x += p->beats / 4.0) {
		CHECK_NEAR(transition_tempo_at(p, x), tm, 1e-9);
		CHECK_NEAR(transition_ratio_a(p, transition_a_time(p, x)),
			   t0 / tm, 1e-12);
		CHECK_NEAR(transition_ratio_b(p, transition_b_time(p, x)),
			   t1 / tm, 1e-12);
	}
	CHECK(p->stretch <= prm->max_stretch + 1e-12);
	CHECK(fabs(tm / t0 - 1) <= prm->max_stretch + 1e-12);
	CHECK(fabs(t0 / tm - 1) <= prm->max_stretch + 1e-12);
	/* Half way through each ride, half way in tempo. */
	CHECK_NEAR(transition_tempo_at(p, -n / 2), 0.5 * (t0 + tm), 1e-9);
	CHECK_NEAR(transition_tempo_at(p, p->beats + n / 2), 0.5 * (tm + t1),
		   1e-9);
	/* Timing: the overlap at the meeting tempo, the closed form against
	 * the integral, continuous at every knot, inverse everywhere. */
	CHECK_NEAR(p->duration_s, p->beats * 60.0 / tm, 1e-9);
	CHECK_NEAR(p->duration_s, integrate_time(p, p->beats), 1e-6);
	CHECK_NEAR(transition_beat_time(p, -n), integrate_time(p, -n), 1e-6);
	CHECK_NEAR(transition_beat_time(p, p->beats + n),
		   integrate_time(p, p->beats + n), 1e-6);
	const double knots[] = { -n, 0, p->beats, p->beats + n };
	for (int i = 0; i < 4; i++) {
		double e = 1e-3, r = knots[i];
		CHECK_NEAR(transition_tempo_at(p, r - e),
			   transition_tempo_at(p, r + e), 1e-3);
		CHECK_NEAR(transition_beat_time(p, r + e) -
			   transition_beat_time(p, r - e),
			   2 * e * 60.0 / transition_tempo_at(p, r), 1e-6);
	}
	for (double x = -n - 3; x <= p->beats + n + 3; x += 0.37)
		CHECK_NEAR(transition_beat_at(p, transition_beat_time(p, x)), x,
			   1e-9);
	CHECK_NEAR(p->marker_s, integrate_time(p, p->beats / 2.0), 1e-6);
}

static void test_bridge(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct analysis a = track(120, 300, 0.0, 16, 16, 16);
	struct transition_plan p;
	/* 120 -> 130 (8.3%): 4.1% each, 16 bars of ride either side. */
	struct analysis b = track(130, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_bridged(&a, &b, &prm, &p);
	CHECK_INT(p.bars, ==, 16);
	CHECK_NEAR(p.ramp_from_beat, -64, 0);
	CHECK_NEAR(p.stretch, sqrt(130.0 / 120.0) - 1, 1e-9);
	CHECK(strstr(p.reason, "tempo bridge over 16 bars either side"));
	/* Down, and at the limit: 120 -> 120 / 1.08^2 = 102.88. */
	b = track(120 / (1.08 * 1.08), 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_bridged(&a, &b, &prm, &p);
	CHECK_NEAR(p.stretch, 0.08, 1e-9);
	/* Half time: 70 -> 2 x 80 (14%) rides 6.9% each. */
	struct analysis slow = track(70, 400, 0.0, 16, 16, 16);
	b = track(160, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&slow, &b, &prm, &p), ==, 0);
	check_bridged(&slow, &b, &prm, &p);
	CHECK_NEAR(p.b_beat_ratio, 2, 0);
	/* A heard alone only from 20 s before its planned exit: A's ride is
	 * shortened to 8 bars (16 s at 120 BPM) to fit. */
	b = track(130, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	prm.a_from_s = p.a_exit_s - 20;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_bridged(&a, &b, &prm, &p);
	CHECK_NEAR(p.ramp_from_beat, -32, 0);
	prm.a_from_s = 0;
	/* A B too short to ride back after the overlap and still leave a
	 * transition of its own: at 130 BPM, 4 bars are 7.4 s; a 20 s B
	 * holds two such windows (a direct match would fit) but not the
	 * ride between them: no bridge at any length, a cut that says so. */
	b = track(130, 20, 0.0, 4, 1, 1);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK(strstr(p.reason, "no room"));
}

static void test_clean_pair(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	CHECK_INT(prm.bars, ==, 16);
	CHECK_NEAR(prm.max_stretch, 0.08, 1e-12);
	CHECK_NEAR(prm.loudness_target_lufs, -14, 1e-12);

	/* 120 BPM, 176 bars in 16-bar phrases, 32-bar intro and outro. */
	struct analysis a = track(120, 354, 0.25, 16, 32, 32);
	struct analysis b = track(126, 300, 0.10, 16, 16, 16);
	struct transition_plan p;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	CHECK_INT(p.bars, ==, 16);
	CHECK_NEAR(p.b_beat_ratio, 1, 0);
	/* A leaves at its outro's start (a phrase), B's 16-bar intro is the
	 * window: it enters at its first downbeat, resumes at intro end. */
	CHECK_NEAR(p.a_exit_s, a.outro_start_s, 1e-9);
	CHECK(is_phrase(&a, p.a_exit_s));
	CHECK_NEAR(p.b_entry_s, b.downbeat_s, 1e-9);
	CHECK_NEAR(p.b_resume_s, b.intro_end_s, 1e-9);
	CHECK_NEAR(p.stretch, 0.05, 1e-9);
	CHECK(strstr(p.reason, "16 bars"));
	/* 64 beats: 16 at 120 BPM (8 s), a ramp of 32 from 120 to 126
	 * (60*32/6*ln(1.05) = 15.613 s), 16 at 126 (7.619 s). */
	CHECK_NEAR(p.ramp_from_beat, 16, 0);
	CHECK_NEAR(p.ramp_to_beat, 48, 0);
	CHECK_NEAR(p.duration_s, 8 + 320 * log(1.05) + 16 * 60 / 126.0, 1e-9);
	CHECK_NEAR(transition_tempo_at(&p, 15.9), 120, 1e-12);
	CHECK_NEAR(transition_tempo_at(&p, 32), 123, 1e-12);
	CHECK_NEAR(transition_tempo_at(&p, 48.1), 126, 1e-12);
	CHECK_NEAR(transition_beat_time(&p, 16), 8, 1e-12);
	/* A unstretched up to the ramp, B from its end. */
	CHECK_NEAR(transition_ratio_a(&p, transition_a_time(&p, 15.9)), 1,
		   1e-12);
	CHECK_NEAR(transition_ratio_b(&p, transition_b_time(&p, 48.1)), 1,
		   1e-12);
	CHECK_NEAR(transition_ratio_b(&p, transition_b_time(&p, 10)),
		   126 / 120.0, 1e-12);
	/* Gains: -10 LUFS to -14: -4 dB. */
	CHECK_NEAR(p.gain_a_db, -4, 1e-9);
	CHECK_NEAR(p.gain_b_db, -4, 1e-9);
	CHECK_STR(transition_kind_name(p.kind), "beatmatched");

	/* Deterministic, and pure. */
	struct transition_plan q;
	memset(&q, 0x5a, sizeof(q));
	struct analysis a2 = a, b2 = b;
	CHECK_INT(transition_plan(&a, &b, &prm, &q), ==, 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	CHECK(memcmp(&a, &a2, sizeof(a)) == 0);
	CHECK(memcmp(&b, &b2, sizeof(b)) == 0);

	/* Slower B: the tempo goes down. */
	CHECK_INT(transition_plan(&b, &a, &prm, &p), ==, 0);
	check_beatmatched(&b, &a, &prm, &p);
	CHECK(transition_tempo_at(&p, 32) < 126);

	/* Same tempo: a flat playhead. */
	struct analysis c = track(120, 300, 0.5, 8, 8, 8);
	CHECK_INT(transition_plan(&a, &c, &prm, &p), ==, 0);
	check_beatmatched(&a, &c, &prm, &p);
	CHECK_NEAR(p.duration_s, 32.0, 1e-9);
	CHECK_NEAR(p.stretch, 0, 1e-12);
}

/* A short outro: the window ends at the audio end, starting at a phrase
 * boundary; a long intro: B skips what the window cannot cover. */
static void test_outro_intro_placement(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	/* Outro 4 bars: the window must start 16 bars before the end, i.e.
	 * earlier than the outro. */
	struct analysis a = track(125, 300, 0.0, 8, 16, 4);
	struct analysis b = track(125, 300, 0.0, 8, 48, 16);
	struct transition_plan p;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	CHECK(p.a_exit_s < a.outro_start_s);
	CHECK(is_phrase(&a, p.a_exit_s));
	/* The latest phrase that fits: less than 8 bars of slack. */
	CHECK(a.audio_end_s - p.a_end_s < 8 * bar_of(&a));
	/* B's 48-bar intro: enter 16 bars before its end, so the whole
	 * window is intro and B's body starts as A has gone. */
	CHECK_NEAR(p.b_resume_s, b.intro_end_s, 1e-9);
	CHECK(is_phrase(&b, p.b_entry_s));

	/* Trailing silence: A's audio ends 20 s before its duration. */
	a.audio_end_s = a.duration_s - 20;
	a.outro_start_s = a.audio_end_s;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	CHECK(p.a_end_s <= a.audio_end_s);
	CHECK(a.audio_end_s - p.a_end_s < 8 * bar_of(&a));
}

/* Detected phrase boundaries win over the grid and plain downbeats, within
 * the search range. */
static void test_phrase_preference(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	double bar = 240.0 / 128;
	struct analysis a = track(128, 300, 0.2, 16, 16, 16);
	/* Phrases only at bars 0, 37 and 101 (irregular: a track with a
	 * 5-bar break); outro from bar 120. */
	a.n_phrases = 3;
	a.phrases_s[0] = 0.2;
	a.phrases_s[1] = 0.2 + 37 * bar;
	a.phrases_s[2] = 0.2 + 101 * bar;
	a.outro_start_s = 0.2 + 120 * bar;
	struct analysis b = track(128, 300, 0.2, 16, 16, 16);
	struct transition_plan p;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	/* Bar 101 + 16 = 117 is the phrase grid from the detected boundary;
	 * it beats plain downbeats but a detected phrase within 16 bars of
	 * the ideal (bar 120) is not there, so the grid tier wins. */
	CHECK_NEAR(p.a_exit_s, 0.2 + 117 * bar, 1e-9);
	CHECK(strstr(p.reason, "A on the phrase grid"));
	/* With a detected boundary at bar 110 it wins. */
	a.phrases_s[a.n_phrases++] = 0.2 + 110 * bar;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_NEAR(p.a_exit_s, 0.2 + 110 * bar, 1e-9);
	CHECK(strstr(p.reason, "A at a phrase"));

	/* A's solo start after the ideal point: a downbeat at or after it,
	 * never before. */
	prm.a_from_s = a.outro_start_s - 3 * bar + 0.01;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	CHECK(p.a_exit_s >= prm.a_from_s);
}

static void test_short_tracks(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	/* 120 BPM: a bar is 2 s, 16 bars 32 s. A is 50 s: 16 bars fit in A
	 * but B (60 s) cannot keep 16 bars after a 16-bar window. */
	struct analysis a = track(120, 50, 0.0, 8, 4, 4);
	struct analysis b = track(120, 60, 0.0, 8, 4, 4);
	struct transition_plan p;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	CHECK_INT(p.bars, ==, 8);
	CHECK(strstr(p.reason, "shortened"));
	CHECK(b.audio_end_s - p.b_resume_s >= p.b_resume_s - p.b_entry_s);

	/* 12 s tracks: not even 4 bars (8 s) fit twice in B: a cut. */
	struct analysis s1 = track(120, 12, 0.0, 8, 1, 1);
	CHECK_INT(transition_plan(&a, &s1, &prm, &p), ==, 0);
	check_cut(&a, &s1, &p);
	CHECK(strstr(p.reason, "too short"));

	/* A started playing alone late: only 4 bars are left before its
	 * audio end. */
	struct analysis big = track(120, 300, 0.0, 8, 8, 8);
	prm.a_from_s = big.audio_end_s - 9.0;
	CHECK_INT(transition_plan(&big, &b, &prm, &p), ==, 0);
	check_beatmatched(&big, &b, &prm, &p);
	CHECK_INT(p.bars, ==, 4);
}

static void test_tempo(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct analysis a = track(120, 300, 0.0, 16, 16, 16);
	struct transition_plan p;

	/* 129.6 BPM is exactly 8% faster: allowed directly; 130 takes a
	 * tempo bridge (test_bridge); 140 is beyond a bridge's 1.08^2. */
	struct analysis b = track(129.6, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	CHECK(!strstr(p.reason, "bridge"));
	b = track(130, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK(strstr(p.reason, "tempo bridge"));
	/* Beyond a bridge two beats would clash: a cut, at A's outro (on a
	 * phrase boundary), B from its first downbeat. */
	b = track(140, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK(strstr(p.reason, "max_stretch"));
	CHECK(strstr(p.reason, "8.0% stretch of each deck"));
	/* The latest phrase boundary (every 16 bars = 32 s) at or before
	 * the outro start (266 s). */
	CHECK_NEAR(p.a_end_s, 256.0, 1e-9);
	CHECK(p.a_end_s <= a.outro_start_s);
	/* A slower B is measured the same way: 120 -> 102 is 17.6%. */
	b = track(102, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	/* Never before A is heard alone. */
	prm.a_from_s = a.outro_start_s + 1;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK(p.a_exit_s >= prm.a_from_s);
	prm.a_from_s = 0;
	/* A wider max_stretch allows it. */
	prm.max_stretch = 0.18;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_beatmatched(&a, &b, &prm, &p);
	prm.max_stretch = 0.08;

	/* Double time: 70 -> 142 plays B two beats per A beat. */
	struct analysis slow = track(70, 400, 0.0, 16, 16, 16);
	b = track(142, 300, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&slow, &b, &prm, &p), ==, 0);
	check_beatmatched(&slow, &b, &prm, &p);
	CHECK_NEAR(p.b_beat_ratio, 2, 0);
	CHECK(strstr(p.reason, "double time"));
	/* Half time: 140 -> 72. */
	struct analysis fast = track(140, 300, 0.0, 16, 16, 16);
	b = track(72, 400, 0.0, 16, 16, 16);
	CHECK_INT(transition_plan(&fast, &b, &prm, &p), ==, 0);
	check_beatmatched(&fast, &b, &prm, &p);
	CHECK_NEAR(p.b_beat_ratio, 0.5, 0);
	CHECK(strstr(p.reason, "half time"));
	/* B's window ends on one of B's downbeats: whole B bars. */
	double b_bars = (p.b_resume_s - p.b_entry_s) / bar_of(&b);
	CHECK_NEAR(b_bars, floor(b_bars + 0.5), 1e-9);
}

static void test_grids(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct analysis a = track(120, 300, 0.0, 16, 16, 16);
	struct analysis b = track(122, 300, 0.0, 16, 16, 16);
	struct transition_plan p;

	b.grid_confidence = 0.3;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CROSSFADE);
	CHECK(strstr(p.reason, "B's beat grid is uncertain"));
	b.grid_confidence = 0.95;
	/* Drift somewhere in A is no reason by itself: the gate is local
	 * (test_local_gate). */
	a.tempo_drift = true;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	a.tempo_drift = false;
	/* Silence: no grid at all. */
	b.bpm = 0;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CROSSFADE);
	CHECK(strstr(p.reason, "B has no beat grid"));
	b.bpm = NAN;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CROSSFADE);
	/* A crossfade plan still places A's fade inside its audio. */
	CHECK_NEAR(p.a_exit_s, a.audio_end_s - prm.crossfade_s, 1e-9);
	CHECK_NEAR(p.b_entry_s, b.audio_start_s, 1e-9);
	/* Threshold configurable. */
	b = track(122, 300, 0.0, 16, 16, 16);
	b.grid_confidence = 0.3;
	prm.min_grid_confidence = 0.25;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
}

static int window_at(const struct analysis *a, double t)
{
	return (int)floor((t - a->first_beat_s) / (16 * 60.0 / a->bpm));
}

/* Grid windows as the analysis writes them: every window of 16 beats
 * carries a beat (hits 0.9) with the given offset. */
static void set_windows(struct analysis *a, float offset_ms)
{
	double win_s = 16 * 60.0 / a->bpm;
	int n = (int)ceil((a->audio_end_s - a->first_beat_s) / win_s);
	a->grid_window_beats = 16;
	a->n_grid_windows = n < ANALYSIS_GRID_WINDOWS_MAX ? n
							  : ANALYSIS_GRID_WINDOWS_MAX;
	for (int w = 0; w < a->n_grid_windows; w++) {
		a->grid_window_offset_ms[w] = offset_ms;
		a->grid_window_hits[w] = 0.9f;
		a->grid_window_kick_ratio[w] = 0.7f; /* kick on the beat */
	}
}

/* The kick ratio of A's windows from t0_s to t1_s. */
static void set_kick(struct analysis *a, double t0_s, double t1_s, float r)
{
	for (int w = window_at(a, t0_s); w <= window_at(a, t1_s); w++)
		if (w >= 0 && w < a->n_grid_windows)
			a->grid_window_kick_ratio[w] = r;
}


/* The gate looks only where the decks play together: a window off the
 * grid elsewhere changes nothing; one near the end of A's 16 bars gives a
 * shorter transition; off-grid windows over every candidate give a
 * crossfade naming the place; a beatless window (a breakdown) passes; a
 * steady offset (up to 40 ms) moves the deck's window onto the music's
 * beats. */
static void test_local_gate(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct analysis a = track(120, 300, 0.0, 16, 16, 16);
	struct analysis b = track(122, 300, 0.0, 16, 16, 16);
	struct transition_plan p0, p;
	CHECK_INT(transition_plan(&a, &b, &prm, &p0), ==, 0);
	CHECK_INT(p0.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p0.bars, ==, 16);

	set_windows(&a, 0);
	set_windows(&b, 0);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.a_exit_s, p0.a_exit_s, 1e-12);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s, 1e-12);

	/* Off in the middle of A: irrelevant. */
	a.grid_window_offset_ms[window_at(&a, 100)] = 25;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);

	/* Off in the last quarter of A's 16 bars: the same 16 bars end
	 * before it (A leaves a phrase earlier). */
	int late = window_at(&a, p0.a_end_s - 1);
	a.grid_window_offset_ms[late] = -25;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	CHECK(p.a_end_s <= (late) * 8.0 + 1e-9);
	CHECK(strstr(p.reason, "moved: the grid holds only there"));

	/* Beats wandering far around the grid over all of A's candidate
	 * exits: a crossfade that says where (the longest try's reason; a
	 * 4-bar transition lies within one window, which cannot wander, but
	 * is too far off). */
	for (int w = window_at(&a, p0.a_exit_s - 64); w < a.n_grid_windows; w++)
		a.grid_window_offset_ms[w] = w % 2 ? 45 : -45;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK(strstr(p.reason, "A's beats move 90 ms against its grid between"));

	/* The same windows without a steady beat: nothing to clash. */
	for (int w = 0; w < a.n_grid_windows; w++)
		if (a.grid_window_offset_ms[w] != 0)
			a.grid_window_hits[w] = 0.2f;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);

	/* B's beats wander where it would enter (its intro, as "Stairs" on
	 * the Nexuiz album moves 30 ms between 8 and 32 s): the plan's
	 * second try enters B after those windows, where they hold. */
	set_windows(&a, 0);
	int b_last = window_at(&b, p0.b_resume_s - 0.01);
	for (int w = 0; w <= b_last; w++)
		b.grid_window_offset_ms[w] = w % 2 ? 15 : -15;
	double b_clear = b.first_beat_s + (b_last + 1) * b.grid_window_beats *
			 60.0 / b.bpm;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	fprintf(stderr, "local gate: B wanders to %.1f s, enters at %.1f s: "
		"%s\n", b_clear, p.b_entry_s, p.reason);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	CHECK(p.b_entry_s >= b_clear - 1e-9);
	CHECK(strstr(p.reason, "moved: the grid holds only there"));

	/* B's music steadily 6 ms late: B's window moves by 6 ms. Within
	 * the envelope's resolution (2 ms): not moved. */
	set_windows(&a, 0);
	set_windows(&b, 6);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s + 0.006, 1e-9);
	CHECK_NEAR(p.b_resume_s, p0.b_resume_s + 0.006, 1e-9);
	CHECK_NEAR(p.a_exit_s, p0.a_exit_s, 1e-12);
	set_windows(&b, 2);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s, 1e-12);
	/* A's music steadily 30 ms early where it exits (the grid is off
	 * there, but the beats are steady): re-phased, not refused. Beyond
	 * 40 ms the grid is not trusted there. */
	set_windows(&b, 0);
	for (int w = window_at(&a, p0.a_exit_s - 1); w < a.n_grid_windows; w++)
		a.grid_window_offset_ms[w] = -30;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	CHECK_NEAR(p.a_exit_s, p0.a_exit_s - 0.030, 1e-9);
	CHECK_NEAR(p.a_end_s, p0.a_end_s - 0.030, 1e-9);
	for (int w = window_at(&a, p0.a_exit_s - 64); w < a.n_grid_windows; w++)
		a.grid_window_offset_ms[w] = -45;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK(strstr(p.reason, "A's beat grid is -45 ms off at"));
	/* A track without a steady beat anywhere has nothing to clash: a
	 * plain crossfade. */
	for (int w = 0; w < a.n_grid_windows; w++)
		a.grid_window_hits[w] = 0.1f;
	a.grid_confidence = 0;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CROSSFADE);
	CHECK_NEAR(p.duration_s, prm.crossfade_s, 1e-12);
}

/* A 120 -> 122 BPM pair whose grid windows all hold (set_windows), the
 * default parameters, and their plan P0: beatmatched over 16 bars. */
static void windowed_pair(struct transition_params *prm, struct analysis *a,
			  struct analysis *b, struct transition_plan *p0)
{
	transition_params_default(prm);
	*a = track(120, 300, 0.0, 16, 16, 16);
	*b = track(122, 300, 0.0, 16, 16, 16);
	set_windows(a, 0);
	set_windows(b, 0);
	CHECK_INT(transition_plan(a, b, prm, p0), ==, 0);
	CHECK_INT(p0->kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p0->bars, ==, 16);
}

/* A section whose beat sits off the grid, too far for its onsets to count
 * as hits (grid_window_hits low) but with the track's own pattern
 * displaced (grid_window_match high), as "Breakdown easy" on the Nexuiz
 * album from 311 to 503 s, a sixteenth (84 ms) late: a beat there, not a
 * breakdown. Where A exits over it the plan moves A's exit before it
 * (the same 16 bars, at the phrase before it), and where it covers every
 * candidate a cut names it; the same
 * windows matching weakly (a breakdown's few onsets) pass; a displacement
 * within 25 ms of the counted windows passes. */
static void test_pattern_gate(void)
{
	struct transition_params prm;
	struct analysis a, b;
	struct transition_plan p0, p;
	windowed_pair(&prm, &a, &b, &p0);

	/* The last quarter of A's 16 bars a sixteenth late. */
	int late = window_at(&a, p0.a_end_s - 1);
	for (int w = late; w < a.n_grid_windows; w++) {
		a.grid_window_hits[w] = 0.2f;
		a.grid_window_shift_ms[w] = 125;
		a.grid_window_match[w] = 0.95f;
	}
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	CHECK(p.a_end_s <= late * 8.0 + 1e-9);
	/* ... by at most a phrase (16 bars) more. */
	CHECK(p.a_end_s > late * 8.0 - 16 * bar_of(&a) - 1e-9);
	CHECK(strstr(p.reason, "moved: the grid holds only there"));

	/* Over every exit A could take (A was heard alone from just before
	 * its exit): a cut, naming the place. */
	prm.a_from_s = p0.a_exit_s - 60;
	for (int w = window_at(&a, p0.a_exit_s - 64); w < a.n_grid_windows; w++) {
		a.grid_window_hits[w] = 0.2f;
		a.grid_window_shift_ms[w] = 125;
		a.grid_window_match[w] = 0.95f;
	}
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK(strstr(p.reason, "A's beat is 125 ms off its grid at"));
	transition_params_default(&prm);

	/* A breakdown's scattered onsets match the pattern weakly: nothing
	 * to clash. */
	for (int w = 0; w < a.n_grid_windows; w++)
		if (a.grid_window_match[w] > 0)
			a.grid_window_match[w] = 0.4f;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);

	/* The same for B at its entry: within 25 ms of its counted
	 * windows' offset (10 ms) it holds, and B moves by that offset;
	 * every other window 70 ms from it: only a window between them
	 * holds. */
	set_windows(&a, 0);
	for (int w = 0; w <= window_at(&b, p0.b_resume_s); w++) {
		b.grid_window_hits[w] = w % 2 ? 0.9f : 0.3f;
		b.grid_window_offset_ms[w] = 10;
		b.grid_window_shift_ms[w] = w % 2 ? 10 : 30;
		b.grid_window_match[w] = 0.9f;
	}
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s + 0.010, 1e-9);
	for (int w = 0; w <= window_at(&b, p0.b_resume_s); w += 2)
		b.grid_window_shift_ms[w] = -60;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK(p.bars < 16);
	CHECK(strstr(p.reason, "shortened: the grid holds only there"));
	/* ... B's part within one window that holds (an odd one). */
	int w_in = window_at(&b, p.b_entry_s + 0.01);
	CHECK_INT(w_in % 2, ==, 1);
	CHECK_INT(window_at(&b, p.b_resume_s - 0.01), ==, w_in);

	/* Windows that count as holding the grid (hats on every sixteenth
	 * keep their onsets on it) whose pattern is a sixteenth late (the
	 * kick: the intro of "Thru the mirror" on the Nexuiz album): B's
	 * part keeps out of them. */
	set_windows(&b, 0);
	int intro = window_at(&b, p0.b_resume_s) + 1;
	double intro_end = b.first_beat_s + intro * b.grid_window_beats *
			   60.0 / b.bpm;
	for (int w = 0; w < intro; w++) {
		b.grid_window_shift_ms[w] = 125;
		b.grid_window_match[w] = 0.9f;
	}
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	fprintf(stderr, "pattern gate: B's intro to %.0f s a sixteenth late, "
		"B enters at %.1f s (%d bars; before: %.1f s): %s\n",
		intro_end, p.b_entry_s, p.bars, p0.b_entry_s, p.reason);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK(p.b_entry_s >= intro_end - 1e-9);
	CHECK(strstr(p.reason, "moved: the grid holds only there"));
}

/* A deck whose beats drift against its grid where the decks meet (a track
 * that slows down, as the end of "Neuronal Diving" on the Nexuiz album:
 * its windows' offsets climb 20 ms a window): the windows lie on a line,
 * and the plan takes the tempo they keep there and the line's offset at
 * the exit, so that every beat of A in the plan falls on A's music (the
 * grid's beat plus the line's offset there) within a millisecond, where
 * the grid's tempo would miss by 60 ms at the end. With one window under
 * the span, its neighbours give the slope; windows off the line are
 * refused as before; a drift beyond 0.5% is refused, naming it. */
static void test_local_tempo(void)
{
	struct transition_params prm;
	struct analysis a, b;
	struct transition_plan p0, p;
	windowed_pair(&prm, &a, &b, &p0);

	const double win_s = 16 * 0.5, ms_per_s = 20.0 / win_s;
	int w_exit = window_at(&a, p0.a_exit_s + 1);
	/* The line: 0 at the exit window's centre. */
	double c_exit = (w_exit + 0.5) * win_s;
	for (int w = 0; w < a.n_grid_windows; w++)
		a.grid_window_offset_ms[w] = (float)(ms_per_s *
					     ((w + 0.5) * win_s - c_exit));
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	CHECK_NEAR(p.bpm_from, 120 / (1 + ms_per_s / 1000), 1e-6);
	CHECK(strstr(p.reason, "the beats drift against the grid"));
	double worst = 0, worst_grid = 0;
	for (int k = 0; k <= p.beats; k++) {
		/* A's k-th beat from its (grid) exit, in A's music. */
		double grid_t = p0.a_exit_s + k * 0.5;
		double music_t = grid_t + ms_per_s * (grid_t - c_exit) / 1000;
		worst = fmax(worst, fabs(transition_a_time(&p, k) - music_t));
		worst_grid = fmax(worst_grid,
				  fabs(transition_a_time(&p0, k) - music_t));
	}
	fprintf(stderr, "local tempo: A's beats within %.3f ms of its music "
		"(the grid's tempo: %.1f ms)\n", worst * 1000,
		worst_grid * 1000);
	CHECK(worst <= 0.001);
	CHECK(worst_grid >= 0.050);
	CHECK_NEAR(p.a_end_s, transition_a_time(&p, p.beats), 1e-9);
	/* B unchanged. */
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s, 1e-12);
	CHECK_NEAR(p.bpm_to, 122, 1e-12);

	/* One window under A's part (a 4-bar transition would do; here the
	 * windows under it but one lose their beat): the neighbours give
	 * the slope. */
	for (int w = 0; w < a.n_grid_windows; w++)
		if (w > w_exit)
			a.grid_window_hits[w] = 0.2f;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.bpm_from, 120 / (1 + ms_per_s / 1000), 1e-6);

	/* Off the line by 12 ms in one window: refused there. */
	set_windows(&a, 0);
	for (int w = 0; w < a.n_grid_windows; w++)
		a.grid_window_offset_ms[w] = (float)(ms_per_s *
					     ((w + 0.5) * win_s - c_exit));
	a.grid_window_offset_ms[w_exit + 1] += 12;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK(p.bars < 16);
	CHECK(strstr(p.reason, "shortened: the grid holds only there"));

	/* 1% off the grid's tempo: not a drift to follow. */
	for (int w = 0; w < a.n_grid_windows; w++)
		a.grid_window_offset_ms[w] = (float)(10.0 *
					     ((w + 0.5) * win_s - c_exit));
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CUT);
	CHECK(strstr(p.reason, "A's beats drift 1.00% off its grid's tempo "
			       "between"));
}

/* Kick on kick: where one deck's kick sits on the half-beat of its grid
 * (grid_window_kick_ratio), B moves by half a beat, of its own or of the
 * playhead's for A's, modulo one of B's beats; two such decks at one
 * tempo meet as they are; a kick that changes sides under a deck is
 * refused there, naming where; a kick on both (ratio near 1) or none to
 * tell by changes nothing. */
static void test_kick_side(void)
{
	struct transition_params prm;
	struct analysis a, b;
	struct transition_plan p0, p;
	windowed_pair(&prm, &a, &b, &p0);
	double beat_b = 60.0 / b.bpm;

	/* B's intro has its kick on the half-beat: B half a beat later. */
	set_kick(&b, 0, p0.b_resume_s, 3.0f);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s + beat_b / 2, 1e-9);
	CHECK_NEAR(p.b_resume_s, p0.b_resume_s + beat_b / 2, 1e-9);
	CHECK_NEAR(p.a_exit_s, p0.a_exit_s, 1e-12);
	CHECK(strstr(p.reason, "B moved 0.5 beat: its kick is on the "
			       "half-beat there"));
	/* ... the place is still named by B's grid: at a phrase. */
	CHECK(strstr(p.reason, "B at a phrase"));

	/* A's kick on the half-beat where it exits: the same move. */
	set_kick(&b, 0, 300, 0.7f);
	set_kick(&a, p0.a_exit_s, 300, 2.5f);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s + beat_b / 2, 1e-9);
	CHECK_NEAR(p.a_exit_s, p0.a_exit_s, 1e-12);
	CHECK(strstr(p.reason, "A's kick is on the half-beat there"));

	/* Both: they meet as they are. */
	set_kick(&b, 0, p0.b_resume_s, 3.0f);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s, 1e-12);
	CHECK(!strstr(p.reason, "moved"));

	/* A kick on both sides, or too quiet to tell (ratio 1): nothing. */
	set_kick(&a, 0, 300, 1.0f);
	set_kick(&b, 0, 300, 1.0f);
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s, 1e-12);

	/* Half time: B at 61 BPM plays one beat to the playhead's two. A's
	 * kick on the playhead's half-beat is a quarter of B's beat before
	 * B's beat: B 0.75 of its beats later. */
	struct analysis h = track(61, 300, 0.0, 16, 16, 16);
	set_windows(&h, 0);
	set_kick(&a, 0, 300, 0.7f);
	CHECK_INT(transition_plan(&a, &h, &prm, &p0), ==, 0);
	CHECK_INT(p0.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p0.b_beat_ratio, 0.5, 1e-12);
	set_kick(&a, p0.a_exit_s, 300, 2.5f);
	CHECK_INT(transition_plan(&a, &h, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_NEAR(p.b_entry_s, p0.b_entry_s + 0.75 * 60.0 / h.bpm, 1e-9);
	CHECK(strstr(p.reason, "B moved 0.75 beat: A's kick is on the "
			       "half-beat there"));

	/* B's kick changes sides from window to window, and B's bars start
	 * two beats into its windows (they count from its first beat, its
	 * bars from its first downbeat): every span of B's meets both sides,
	 * and the cut names where. */
	set_kick(&a, 0, 300, 0.7f);
	struct analysis c = track(122, 300, 2 * beat_b, 16, 16, 16);
	c.first_beat_s = 0;
	set_windows(&c, 0);
	for (int w = 0; w < c.n_grid_windows; w++)
		c.grid_window_kick_ratio[w] = w % 2 ? 3.0f : 0.4f;
	CHECK_INT(transition_plan(&a, &c, &prm, &p), ==, 0);
	check_cut(&a, &c, &p);
	CHECK(strstr(p.reason, "B's kick moves between the beat and the "
			       "half-beat between"));
	/* The same on one side throughout: beatmatched. */
	for (int w = 0; w < c.n_grid_windows; w++)
		c.grid_window_kick_ratio[w] = 3.0f;
	CHECK_INT(transition_plan(&a, &c, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK(strstr(p.reason, "B moved 0.5 beat"));
}

/* A cut keeps the pulse (transition.h, Cuts): 100 -> 135 BPM is beyond a
 * tempo bridge; B's first downbeat plays exactly where A's next would
 * have, each where the music has it: A's end and its sweep move with the
 * window of its last beats, B's entry with its own window; within the
 * envelope's resolution nothing moves. Where A's grid is not trusted (the
 * cut's reason) its local window is still what is gone by. */
static void test_cut_pulse(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct transition_plan p, p0;
	struct analysis a = track(100, 300, 0.3, 16, 16, 16);
	struct analysis b = track(135, 300, 0.7, 16, 16, 16);
	set_windows(&a, 0);
	set_windows(&b, 0);
	CHECK_INT(transition_plan(&a, &b, &prm, &p0), ==, 0);
	check_cut(&a, &b, &p0);
	CHECK(strstr(p0.reason, "max_stretch"));
	CHECK_NEAR(p0.b_entry_s, 0.7, 1e-12);
	CHECK_NEAR(p0.b_entry_at_s, 0.6, 1e-12);
	CHECK_NEAR(p0.a_filter_s, p0.a_end_s - 2.4, 1e-9);

	/* A's music 12 ms late at its end, B's 7 ms early at its entry. */
	int last = window_at(&a, p0.a_end_s - 0.3);
	a.grid_window_offset_ms[last] = 12;
	b.grid_window_offset_ms[window_at(&b, 0.75)] = -7;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	check_cut(&a, &b, &p);
	CHECK_NEAR(p.a_end_s, p0.a_end_s + 0.012, 1e-9);
	CHECK_NEAR(p.a_exit_s, p0.a_exit_s + 0.012, 1e-9);
	CHECK_NEAR(p.a_filter_s, p0.a_filter_s + 0.012, 1e-9);
	CHECK_NEAR(p.b_entry_s, 0.7 - 0.007, 1e-9);
	CHECK_NEAR(p.b_entry_at_s, p.duration_s, 1e-12);
	/* The windows before A's last bar do not count. */
	a.grid_window_offset_ms[last - 1] = -30;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_NEAR(p.a_end_s, p0.a_end_s + 0.012, 1e-9);
	/* A beatless window there says nothing: not moved. */
	a.grid_window_hits[last] = 0.2f;
	a.grid_window_offset_ms[last - 1] = 0;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_NEAR(p.a_end_s, p0.a_end_s, 1e-12);
	a.grid_window_hits[last] = 0.9f;
	/* 2 ms: within the envelope's resolution. */
	b.grid_window_offset_ms[window_at(&b, 0.75)] = 2;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_NEAR(p.b_entry_s, 0.7, 1e-12);

	/* A grid of low confidence with windows that carry a beat is
	 * judged where it is used (transition.h, "Which grids are
	 * beatmatched"), and the brain trusts it too: steady windows 12 ms
	 * late there, a beatmatch over the whole length. */
	struct analysis c = track(110, 300, 0.3, 16, 16, 16);
	set_windows(&c, 12);
	c.grid_confidence = 0.3;
	struct analysis d = track(118, 300, 0.7, 16, 16, 16);
	set_windows(&d, 0);
	CHECK(transition_grid_trusted(&c, prm.min_grid_confidence));
	CHECK_INT(transition_plan(&c, &d, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	CHECK_INT(p.bars, ==, 16);
	/* Windows alternating 25 ms either side: such a grid needs two
	 * steady windows under a deck, which never agree; a cut (at A's
	 * local window: check_cut). */
	for (int w = 0; w < c.n_grid_windows; w++)
		c.grid_window_offset_ms[w] = w % 2 ? 25.0f : -25.0f;
	CHECK_INT(transition_plan(&c, &d, &prm, &p), ==, 0);
	check_cut(&c, &d, &p);
	CHECK(strstr(p.reason, "beats move 50 ms against its grid"));
	/* Steady windows at its start only: none under A's exit, where a
	 * trusted grid would take the beatless stretch for a breakdown. */
	for (int w = 0; w < c.n_grid_windows; w++) {
		c.grid_window_offset_ms[w] = 12;
		c.grid_window_hits[w] = w < 4 ? 0.9f : 0.2f;
	}
	CHECK_INT(transition_plan(&c, &d, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CUT);
	CHECK(strstr(p.reason, "A's beat grid is uncertain (confidence 0.30) "
			       "and steady in 0 of its windows"));
	c.grid_confidence = 0.6; /* trusted alone: a breakdown there */
	CHECK_INT(transition_plan(&c, &d, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	c.grid_confidence = 0.3;
	/* One beat-carrying window is too few to judge by: the track-wide
	 * confidence decides; and such a track carries no beat that could
	 * clash, so it crossfades. */
	for (int w = 1; w < c.n_grid_windows; w++)
		c.grid_window_hits[w] = 0.2f;
	CHECK(!transition_grid_trusted(&c, prm.min_grid_confidence));
	CHECK(transition_grid_trusted(&c, 0.25));
	CHECK_INT(transition_plan(&c, &d, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_CROSSFADE);
	CHECK(strstr(p.reason, "A's beat grid is uncertain"));
}

static void test_gains(void)
{
	struct analysis a = track(120, 300, 0.0, 16, 16, 16);
	/* A loud master: down to target. */
	a.loudness_lufs = -7.5;
	a.true_peak_db = 0.3;
	CHECK_NEAR(transition_gain_db(&a, -14), -6.5, 1e-12);
	/* A quiet, dynamic track: +10 wanted, but its peak may rise only to
	 * +3 dBTP: +4. */
	a.loudness_lufs = -24;
	a.true_peak_db = -1;
	CHECK_NEAR(transition_gain_db(&a, -14), 4, 1e-12);
	/* A quiet, compressed track: the full +10. */
	a.true_peak_db = -12;
	CHECK_NEAR(transition_gain_db(&a, -14), 10, 1e-12);
	/* Silence: capped. */
	a.loudness_lufs = -70;
	a.true_peak_db = -70;
	CHECK_NEAR(transition_gain_db(&a, -14), TRANSITION_GAIN_MAX_DB, 1e-12);
	a.loudness_lufs = NAN;
	CHECK_NEAR(transition_gain_db(&a, -14), 0, 0);
}

static void test_fades(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct analysis a = track(124, 300, 0.0, 16, 16, 16);
	struct analysis b = track(128, 300, 0.0, 16, 16, 16);
	struct transition_plan p;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
	struct transition_gains g;
	transition_gains_at(&p, 0, &g);
	CHECK_NEAR(g.high_a, 1, 1e-12);
	CHECK_NEAR(g.low_a, 1, 1e-12);
	CHECK_NEAR(g.high_b, 0, 1e-12);
	CHECK_NEAR(g.low_b, 0, 1e-12);
	transition_gains_at(&p, p.duration_s, &g);
	CHECK_NEAR(g.high_a, 0, 1e-12);
	CHECK_NEAR(g.low_a, 0, 1e-12);
	CHECK_NEAR(g.high_b, 1, 1e-12);
	CHECK_NEAR(g.low_b, 1, 1e-12);
	transition_gains_at(&p, p.marker_s, &g);
	CHECK_NEAR(g.high_a, sqrt(0.5), 1e-9);
	CHECK_NEAR(g.high_b, sqrt(0.5), 1e-9);
	CHECK_NEAR(g.low_a, 0.5, 1e-9);
	double swap_from = transition_beat_time(&p, p.beats / 2.0 - 2.0);
	double swap_to = transition_beat_time(&p, p.beats / 2.0 + 2.0);
	for (double t = 0; t <= p.duration_s; t += 0.01) {
		transition_gains_at(&p, t, &g);
		CHECK_NEAR(g.high_a * g.high_a + g.high_b * g.high_b, 1, 1e-9);
		CHECK_NEAR(g.low_a + g.low_b, 1, 1e-9);
		/* Only one bass before and after the swap bar. */
		if (t < swap_from - 1e-9)
			CHECK(g.low_a == 1.0);
		if (t > swap_to + 1e-9)
			CHECK(g.low_b == 1.0);
	}
	/* Crossfade plans: plain equal power, lows with the rest. */
	b.bpm = 0;
	CHECK_INT(transition_plan(&a, &b, &prm, &p), ==, 0);
	transition_gains_at(&p, p.duration_s / 4, &g);
	CHECK_NEAR(g.high_a, cos(M_PI / 8), 1e-12);
	CHECK_NEAR(g.low_a, g.high_a, 0);
	CHECK_NEAR(g.low_b, g.high_b, 0);
}

static void test_invalid(void)
{
	struct transition_params prm;
	transition_params_default(&prm);
	struct analysis a = track(120, 300, 0.0, 16, 16, 16);
	struct transition_plan p;
	CHECK_INT(transition_plan(NULL, &a, &prm, &p), ==, -EINVAL);
	CHECK_INT(transition_plan(&a, NULL, &prm, &p), ==, -EINVAL);
	CHECK_INT(transition_plan(&a, &a, NULL, &p), ==, -EINVAL);
	CHECK_INT(transition_plan(&a, &a, &prm, NULL), ==, -EINVAL);
	prm.bars = 2;
	CHECK_INT(transition_plan(&a, &a, &prm, &p), ==, -EINVAL);
	prm.bars = 128;
	CHECK_INT(transition_plan(&a, &a, &prm, &p), ==, -EINVAL);
	prm.bars = 16;
	prm.max_stretch = -0.1;
	CHECK_INT(transition_plan(&a, &a, &prm, &p), ==, -EINVAL);
	prm.max_stretch = NAN;
	CHECK_INT(transition_plan(&a, &a, &prm, &p), ==, -EINVAL);
	prm.max_stretch = 0.08;
	prm.crossfade_s = -1;
	CHECK_INT(transition_plan(&a, &a, &prm, &p), ==, -EINVAL);
	prm.crossfade_s = 6;
	/* The same track twice is a perfect beatmatch. */
	CHECK_INT(transition_plan(&a, &a, &prm, &p), ==, 0);
	CHECK_INT(p.kind, ==, TRANSITION_BEATMATCHED);
}

int main(void)
{
	test_clean_pair();
	test_outro_intro_placement();
	test_phrase_preference();
	test_short_tracks();
	test_tempo();
	test_bridge();
	test_grids();
	test_local_gate();
	test_kick_side();
	test_pattern_gate();
	test_local_tempo();
	test_cut_pulse();
	test_gains();
	test_fades();
	test_invalid();
	return 0;
}
