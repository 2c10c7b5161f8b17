/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transition — the transition planner. See transition.h for the DESIGN;
 * doc/transitions.md explains the choices with examples.
 */
#include "autoconfig.h"

#include "transition.h"
#include "tempo.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Positions within this of a boundary count as on it (seconds). */
#define TRANSITION_TOL_S 0.02
/* The local gate: the beat-carrying grid windows (struct analysis) under a
 * deck's part of the transition must agree with each other within
 * TRANSITION_LOCAL_SPREAD_MS (ms, each from their mean) and sit within
 * TRANSITION_LOCAL_MAX_MS of the grid; their mean offset, when it is beyond
 * the onset envelope's resolution (2.9 ms blocks), moves the deck's window
 * onto the music's beats: the grid is re-phased where it is used. */
#define TRANSITION_LOCAL_SPREAD_MS 8.0
#define TRANSITION_LOCAL_MAX_MS 40.0
#define TRANSITION_LOCAL_SHIFT_MS 3.0
/* The local tempo: the windows' offsets may lie on a line, the beat period
 * there 1 + its slope times the grid's, at most TEMPO_MAX off it; a line
 * that moves less than DRIFT_MS over the deck's part is one offset (the
 * windows' offsets wander by a few ms around a steady grid). */
#define TRANSITION_LOCAL_TEMPO_MAX 0.005
#define TRANSITION_LOCAL_DRIFT_MS 10.0
#define TRANSITION_WINDOW_BEAT_HITS 0.5
/* The kick's side (struct analysis, grid_window_kick_ratio): a window at or
 * above this ratio has its kick on the half-beat, at or below its inverse
 * on the beat; between, the kick plays on both (or cannot be told). See
 * doc/analysis.md for what real music measures. */
#define TRANSITION_KICK_HALF_RATIO 1.8
/* A window with too few onsets near the grid to count (grid_window_hits)
 * may still carry a beat, off the grid: its onset pattern matches the
 * track's typical one (grid_window_match, at least this) displaced by
 * grid_window_shift_ms. Breakdowns match below it (doc/transitions.md). */
#define TRANSITION_PATTERN_MATCH 0.6
#define TRANSITION_PATTERN_OFF_MS 25.0
/* A track with fewer beat-carrying windows has no beat to clash. */
#define TRANSITION_CUT_BEAT_WINDOWS 2

void transition_params_default(struct transition_params *p)
{
	memset(p, 0, sizeof(*p));
	p->bars = 16;
	p->max_stretch = 0.08;
	p->loudness_target_lufs = -14.0;
	p->min_grid_confidence = TRANSITION_MIN_GRID_CONFIDENCE;
	p->crossfade_s = 6.0;
	p->a_from_s = 0.0;
}

const char *transition_kind_name(enum transition_kind kind)
{
	return kind == TRANSITION_BEATMATCHED ? "beatmatched" :
	       kind == TRANSITION_CUT ? "cut" : "crossfade";
}

double transition_gain_db(const struct analysis *a, double target_lufs)
{
	double g = target_lufs - a->loudness_lufs;
	double peak_room = TRANSITION_PEAK_CEILING_DB - a->true_peak_db;
	if (g > peak_room)
		g = peak_room;
	if (g > TRANSITION_GAIN_MAX_DB)
		g = TRANSITION_GAIN_MAX_DB;
	if (g < -TRANSITION_GAIN_MAX_DB)
		g = -TRANSITION_GAIN_MAX_DB;
	if (!isfinite(g))
		g = 0;
	return g;
}

/* ------------------------------------------------------------------ */
/* The playhead.                                                       */

/* Tempo at the end, in A's beats per minute. */
static double plan_t1(const struct transition_plan *p)
{
	return p->bpm_to / p->b_beat_ratio;
}

/* The playhead's tempo is piecewise linear in beats (transition.h): T0
 * up to r0, linear to Tm at m0, Tm up to m1, linear to T1 at r1, T1 on.
 * A plan without a bridge ramps straight from T0 to T1: its meeting
 * point is the ramp's middle at the mean tempo, so the two halves are
 * one straight line. */
struct playhead_seg {
	double x0, x1;     /* beats */
	double tp0, tp1;   /* tempo at either end */
};

static int playhead_segs(const struct transition_plan *p,
			 struct playhead_seg seg[3])
{
	double t0 = p->bpm_from, t1 = plan_t1(p);
	double tm = p->bpm_meet > 0 ? p->bpm_meet : 0.5 * (t0 + t1);
	double m0 = p->bpm_meet > 0 ? p->meet_from_beat
				    : 0.5 * (p->ramp_from_beat + p->ramp_to_beat);
	double m1 = p->bpm_meet > 0 ? p->meet_to_beat : m0;
	seg[0] = (struct playhead_seg){ p->ramp_from_beat, m0, t0, tm };
	seg[1] = (struct playhead_seg){ m0, m1, tm, tm };
	seg[2] = (struct playhead_seg){ m1, p->ramp_to_beat, tm, t1 };
	return 3;
}

static double seg_tempo(const struct playhead_seg *g, double x)
{
	if (!(g->x1 > g->x0))
		return g->tp0;
	return g->tp0 + (g->tp1 - g->tp0) * (x - g->x0) / (g->x1 - g->x0);
}

/* True when a segment's tempo change is too small for the logarithmic
 * form to be accurate; then the constant-tempo form is exact enough (the
 * difference over 64 bars at 1e-9 relative is far below a sample). */
static bool seg_flat(const struct playhead_seg *g)
{
	return fabs(g->tp1 - g->tp0) < 1e-9 * g->tp0;
}

/* Output seconds from the segment's start to beat x within it: the
 * integral of 60 / T, logarithmic for a linear tempo. */
static double seg_time(const struct playhead_seg *g, double x)
{
	if (seg_flat(g))
		return (x - g->x0) * 60.0 / g->tp0;
	double n = g->x1 - g->x0;
	return 60.0 * n / (g->tp1 - g->tp0) * log(seg_tempo(g, x) / g->tp0);
}

/* Its inverse: the beat U output seconds after the segment's start. */
static double seg_beat(const struct playhead_seg *g, double u)
{
	if (seg_flat(g))
		return g->x0 + u * g->tp0 / 60.0;
	double n = g->x1 - g->x0, d = g->tp1 - g->tp0;
	return g->x0 + n * g->tp0 / d * (exp(u * d / (60.0 * n)) - 1.0);
}

double transition_tempo_at(const struct transition_plan *p, double beat)
{
	if (p->kind != TRANSITION_BEATMATCHED)
		return p->bpm_from;
	struct playhead_seg seg[3];
	int n = playhead_segs(p, seg);
	if (beat <= seg[0].x0)
		return seg[0].tp0;
	for (int i = 0; i < n; i++)
		if (beat < seg[i].x1)
			return seg_tempo(&seg[i], beat);
	return seg[n - 1].tp1;
}

/* Output seconds from beat r0 (the ramp's start) to beat X, signed. */
static double playhead_time_from_r0(const struct transition_plan *p,
				    double x)
{
	struct playhead_seg seg[3];
	int n = playhead_segs(p, seg);
	if (x <= seg[0].x0)
		return (x - seg[0].x0) * 60.0 / seg[0].tp0;
	double t = 0;
	for (int i = 0; i < n; i++) {
		if (x <= seg[i].x1)
			return t + seg_time(&seg[i], x);
		t += seg_time(&seg[i], seg[i].x1);
	}
	return t + (x - seg[n - 1].x1) * 60.0 / seg[n - 1].tp1;
}

double transition_beat_time(const struct transition_plan *p, double beat)
{
	if (p->kind != TRANSITION_BEATMATCHED || p->bpm_from <= 0)
		return 0;
	return playhead_time_from_r0(p, beat) - playhead_time_from_r0(p, 0);
}

double transition_beat_at(const struct transition_plan *p, double t_s)
{
	if (p->kind != TRANSITION_BEATMATCHED || p->bpm_from <= 0)
		return 0;
	struct playhead_seg seg[3];
	int n = playhead_segs(p, seg);
	double u = t_s + playhead_time_from_r0(p, 0); /* from r0 */
	if (u <= 0)
		return seg[0].x0 + u * seg[0].tp0 / 60.0;
	for (int i = 0; i < n; i++) {
		double len = seg_time(&seg[i], seg[i].x1);
		if (u <= len)
			return seg_beat(&seg[i], u);
		u -= len;
	}
	return seg[n - 1].x1 + u * seg[n - 1].tp1 / 60.0;
}

double transition_a_time(const struct transition_plan *p, double beat)
{
	return p->a_exit_s + beat * 60.0 / p->bpm_from;
}

double transition_b_time(const struct transition_plan *p, double beat)
{
	return p->b_entry_s + beat * p->b_beat_ratio * 60.0 / p->bpm_to;
}

double transition_a_beat(const struct transition_plan *p, double a_s)
{
	return (a_s - p->a_exit_s) * p->bpm_from / 60.0;
}

double transition_b_beat(const struct transition_plan *p, double b_s)
{
	return (b_s - p->b_entry_s) * p->bpm_to / (60.0 * p->b_beat_ratio);
}

/* A plays at speed T / bpm_from: its time ratio is the inverse. After
 * the last beat (silent, but in its stretcher's look-ahead) A keeps the
 * tempo it left at. */
double transition_ratio_a(const struct transition_plan *p, double a_s)
{
	if (p->kind != TRANSITION_BEATMATCHED)
		return 1.0;
	double beat = transition_a_beat(p, a_s);
	if (beat > p->beats)
		beat = p->beats;
	return p->bpm_from / transition_tempo_at(p, beat);
}

/* B plays b_beat_ratio of its beats per playhead beat. Before beat 0 (its
 * stretcher's pre-roll) it keeps the tempo it enters at, which is A's
 * own without a bridge and the meeting tempo with one. */
double transition_ratio_b(const struct transition_plan *p, double b_s)
{
	if (p->kind != TRANSITION_BEATMATCHED)
		return 1.0;
	double beat = transition_b_beat(p, b_s);
	if (beat < 0)
		beat = 0;
	double tempo = transition_tempo_at(p, beat);
	return p->bpm_to / (p->b_beat_ratio * tempo);
}

void transition_gains_at(const struct transition_plan *p, double t_s,
			 struct transition_gains *g)
{
	double u;
	if (p->kind == TRANSITION_BEATMATCHED) {
		u = transition_beat_at(p, t_s) / p->beats;
	} else {
		u = p->duration_s > 0 ? t_s / p->duration_s : 1.0;
	}
	if (u < 0)
		u = 0;
	if (u > 1)
		u = 1;
	g->high_a = cos(M_PI_2 * u);
	g->high_b = sin(M_PI_2 * u);
	if (p->kind == TRANSITION_CUT) {
		/* B only over its lead-in, up to its downbeat at the end. */
		double v = 1.0 - (p->duration_s - t_s) / TRANSITION_CUT_LEAD_S;
		g->high_b = v <= 0 ? 0 : v >= 1 ? 1 : sin(M_PI_2 * v);
	}
	if (p->kind != TRANSITION_BEATMATCHED) {
		g->low_a = g->high_a;
		g->low_b = g->high_b;
		return;
	}
	/* Bass swap: amplitude-complementary (the two kicks are in phase, so
	 * their amplitudes add), raised cosine over one bar at the middle;
	 * the lows stay at full level overall, only whose they are changes. */
	double beat = u * p->beats;
	double s = (beat - (p->beats / 2.0 - TRANSITION_BASS_SWAP_BEATS / 2)) /
		   TRANSITION_BASS_SWAP_BEATS;
	if (s < 0)
		s = 0;
	if (s > 1)
		s = 1;
	g->low_a = 0.5 * (1.0 + cos(M_PI * s));
	g->low_b = 1.0 - g->low_a;
}

/* ------------------------------------------------------------------ */
/* Choosing exit and entry.                                            */

struct track_grid {
	const struct analysis *an;
	double beat_s;     /* own seconds per beat */
	double bar_s;      /* own seconds per bar */
	int beats_per_bar;
};

static void grid_init(struct track_grid *g, const struct analysis *an)
{
	g->an = an;
	g->beats_per_bar = an->beats_per_bar > 0 ? an->beats_per_bar : 4;
	g->beat_s = 60.0 / an->bpm;
	g->bar_s = g->beats_per_bar * g->beat_s;
}

/* The first downbeat: the analysis's, moved forward by whole bars if it
 * lies before the audio start (it should not, but a plan must never start
 * B in silence). */
static double grid_first_downbeat(const struct track_grid *g)
{
	double d = g->an->downbeat_s;
	while (d < g->an->audio_start_s - TRANSITION_TOL_S)
		d += g->bar_s;
	return d;
}

/* Tier of downbeat d: 0 = detected phrase boundary, 1 = on the phrase grid
 * continued from the nearest detected boundary before it, 2 = any
 * downbeat. */
static int grid_tier(const struct track_grid *g, double d)
{
	const struct analysis *an = g->an;
	double tol = g->beat_s / 2;
	double prev = -1;
	int n = an->n_phrases;
	if (n > ANALYSIS_PHRASES_MAX)
		n = ANALYSIS_PHRASES_MAX;
	for (int i = 0; i < n; i++) {
		if (fabs(an->phrases_s[i] - d) <= tol)
			return 0;
		if (an->phrases_s[i] < d)
			prev = an->phrases_s[i];
	}
	if (prev < 0)
		prev = an->downbeat_s;
	int pb = an->phrase_bars >= 4 ? an->phrase_bars : 8;
	double bars = (d - prev) / g->bar_s;
	double frac = bars / pb - floor(bars / pb + 0.5);
	return fabs(frac * pb * g->bar_s) <= tol ? 1 : 2;
}

/* The latest downbeat d of the best tier with lo <= d <= ideal, searching
 * back from ideal over at most TRANSITION_SEARCH_BARS bars. Returns false
 * when no downbeat lies in [lo, ideal]. */
static bool grid_pick(const struct track_grid *g, double lo, double ideal,
		      double *out)
{
	double first = grid_first_downbeat(g);
	if (ideal < lo - TRANSITION_TOL_S || ideal < first - TRANSITION_TOL_S)
		return false;
	/* Index of the latest downbeat <= ideal. */
	double k_hi = floor((ideal - first + TRANSITION_TOL_S) / g->bar_s);
	if (k_hi < 0)
		return false;
	double best[3] = { -1, -1, -1 };
	for (int j = 0; j <= TRANSITION_SEARCH_BARS; j++) {
		double k = k_hi - j;
		if (k < 0)
			break;
		double d = first + k * g->bar_s;
		if (d < lo - TRANSITION_TOL_S)
			break;
		int tier = grid_tier(g, d);
		if (best[tier] < 0)
			best[tier] = d;
	}
	for (int t = 0; t < 3; t++) {
		if (best[t] >= 0) {
			*out = best[t];
			return true;
		}
	}
	return false;
}

static void plan_crossfade(const struct analysis *a, const struct analysis *b,
			   const struct transition_params *p,
			   struct transition_plan *plan)
{
	double a_end = a->audio_end_s > 0 ? a->audio_end_s : a->duration_s;
	plan->kind = TRANSITION_CROSSFADE;
	plan->bars = plan->beats = 0;
	plan->b_beat_ratio = 1;
	plan->stretch = 0;
	plan->duration_s = p->crossfade_s;
	plan->a_end_s = a_end;
	plan->a_exit_s = a_end - p->crossfade_s;
	if (plan->a_exit_s < p->a_from_s)
		plan->a_exit_s = p->a_from_s;
	plan->b_entry_s = b->audio_start_s;
	plan->b_resume_s = b->audio_start_s + p->crossfade_s;
	plan->marker_s = p->crossfade_s / 2;
	plan->bass_swap_s = plan->marker_s;
	plan->bass_swap_len_s = 0;
}

/* The grid windows of AN that may be read (struct analysis). */
static int grid_window_count(const struct analysis *an)
{
	if (an->n_grid_windows <= 0 || an->grid_window_beats <= 0)
		return 0;
	return an->n_grid_windows < ANALYSIS_GRID_WINDOWS_MAX
		       ? an->n_grid_windows : ANALYSIS_GRID_WINDOWS_MAX;
}

/* The least-squares line through (x[i], y[i]), i < n (n >= 2, x not all
 * equal): y = *at0 + *slope * x. Returns the largest |residual|. */
static double line_fit(const double *x, const double *y, int n,
		       double *at0, double *slope)
{
	double mx = 0, my = 0;
	for (int i = 0; i < n; i++) {
		mx += x[i] / n;
		my += y[i] / n;
	}
	double sxx = 0, sxy = 0;
	for (int i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	*slope = sxx > 0 ? sxy / sxx : 0;
	*at0 = my - *slope * mx;
	double worst = 0;
	for (int i = 0; i < n; i++)
		worst = fmax(worst, fabs(y[i] - (*at0 + *slope * x[i])));
	return worst;
}

/* Whether grid window W of AN has a beat off the grid: its pattern
 * matches the track's (TRANSITION_PATTERN_MATCH) more than
 * TRANSITION_PATTERN_OFF_MS from LINE_MS, where the beat is there. */
static bool pattern_displaced(const struct analysis *an, int w,
			      double line_ms)
{
	double sh = an->grid_window_shift_ms[w];
	return an->grid_window_match[w] >= TRANSITION_PATTERN_MATCH &&
	       isfinite(sh) && fabs(sh - line_ms) > TRANSITION_PATTERN_OFF_MS;
}

/* Whether the grid of AN holds over [t0_s, t1_s] of the track: the grid
 * windows overlapping it that carry a beat lie on one line of offset
 * against time (each within TRANSITION_LOCAL_SPREAD_MS of it: one offset,
 * or a tempo a little off the grid's, as where a track slows down), which
 * is at most TRANSITION_LOCAL_MAX_MS at t0_s, and their kick stays on one
 * side of the beat (TRANSITION_KICK_HALF_RATIO). Windows without a steady
 * beat (a breakdown) cannot clash and are not counted; but a window whose
 * onsets are mostly off the grid and whose pattern is the track's own,
 * displaced (TRANSITION_PATTERN_MATCH), has a beat off the grid: it must
 * sit within TRANSITION_PATTERN_OFF_MS of the others. So must the pattern
 * of every window that counts (hats on every sixteenth keep a window's
 * onsets on the grid while its kick is a sixteenth off). *shift_s is the
 * line's offset at t0_s, or 0 when it is within the envelope's resolution
 * there and all along; *period_scale the local beat period over the
 * grid's (1 + the line's slope), 1 where the line moves less than
 * TRANSITION_LOCAL_DRIFT_MS over the span. With one window under the span, the slope is
 * taken through its beat-carrying neighbours when they lie on one line
 * with it (else 1). *kick_half says the kick sits on the half-beat there
 * (some windows have it there, none on the beat). On failure writes why,
 * naming where, and the span of the windows that refused it (*bad_from_s
 * to *bad_to_s: a section of displaced windows as far as it reaches, the
 * windows that count under the span where their offsets or kicks
 * disagree, the span that drifts): the place the plan's second try keeps
 * away from. Fewer than MIN_COUNTED windows with a steady beat under the
 * span refuse it too, naming the span (a grid trusted for its windows
 * alone). Analyses without windows pass with no shift; grid_usable()
 * judged them. */
static bool grid_holds(const struct analysis *an, const char *name,
		       int min_counted, double t0_s, double t1_s,
		       double *shift_s,
		       double *period_scale, bool *kick_half, double *bad_from_s,
		       double *bad_to_s, char *why, size_t why_size)
{
	*shift_s = 0;
	*period_scale = 1;
	*kick_half = false;
	*bad_from_s = NAN;
	*bad_to_s = NAN;
	int n = grid_window_count(an);
	if (n == 0 || !(an->bpm > 0))
		return true;
	double win_s = an->grid_window_beats * 60.0 / an->bpm;
	double lo = INFINITY, hi = -INFINITY, lo_at = 0, hi_at = 0;
	double half_at = -1, on_at = -1;
	/* The span of the windows that count, for a refusal to name. */
	double counted_from = INFINITY, counted_to = -INFINITY;
	/* Windows off the grid whose pattern matches: start, shift. */
	double pat_at[ANALYSIS_GRID_WINDOWS_MAX], pat_ms[ANALYSIS_GRID_WINDOWS_MAX];
	int n_pat = 0;
	/* Offsets (ms) against window centres (s from t0_s). */
	double x[ANALYSIS_GRID_WINDOWS_MAX + 2], y[ANALYSIS_GRID_WINDOWS_MAX + 2];
	int used = 0, before = -1, after = -1;
	for (int w = 0; w < n; w++) {
		double w0 = an->first_beat_s + w * win_s, w1 = w0 + win_s;
		bool counted = an->grid_window_hits[w] >=
			       TRANSITION_WINDOW_BEAT_HITS &&
			       isfinite(an->grid_window_offset_ms[w]);
		if (w1 <= t0_s || w0 >= t1_s) {
			/* The neighbours either side, for the slope. */
			if (counted && w1 <= t0_s && w1 > t0_s - win_s)
				before = w;
			if (counted && w0 >= t1_s && w0 < t1_s + win_s &&
			    after < 0)
				after = w;
			continue;
		}
		if (!(an->grid_window_hits[w] >= TRANSITION_WINDOW_BEAT_HITS)) {
			/* A beat off the grid, not a breakdown: its
			 * displacement, judged below against the others. */
			double sh = an->grid_window_shift_ms[w];
			if (an->grid_window_match[w] >= TRANSITION_PATTERN_MATCH &&
			    isfinite(sh)) {
				pat_at[n_pat] = w0;
				pat_ms[n_pat++] = sh;
			}
			continue;
		}
		double off = an->grid_window_offset_ms[w];
		if (!isfinite(off))
			continue;
		/* Its onsets near the grid may be hats on every sixteenth
		 * while its kick is a sixteenth off: the pattern says. */
		double sh = an->grid_window_shift_ms[w];
		if (an->grid_window_match[w] >= TRANSITION_PATTERN_MATCH &&
		    isfinite(sh)) {
			pat_at[n_pat] = w0;
			pat_ms[n_pat++] = sh;
		}
		x[used] = w0 + win_s / 2 - t0_s;
		y[used] = off;
		used++;
		counted_from = fmin(counted_from, w0);
		counted_to = fmax(counted_to, w0 + win_s);
		if (off < lo) {
			lo = off;
			lo_at = w0;
		}
		if (off > hi) {
			hi = off;
			hi_at = w0;
		}
		double kick = an->grid_window_kick_ratio[w];
		if (kick >= TRANSITION_KICK_HALF_RATIO && half_at < 0)
			half_at = w0;
		if (kick <= 1.0 / TRANSITION_KICK_HALF_RATIO && on_at < 0)
			on_at = w0;
	}
	/* The line: offset at t0_s and slope (ms per s). */
	double at0 = 0, slope = 0;
	if (used >= 2) {
		if (line_fit(x, y, used, &at0, &slope) >
		    TRANSITION_LOCAL_SPREAD_MS)
			goto wander;
	} else if (used == 1) {
		at0 = y[0];
		int m = 1;
		if (before >= 0) {
			x[m] = an->first_beat_s + (before + 0.5) * win_s - t0_s;
			y[m++] = an->grid_window_offset_ms[before];
		}
		if (after >= 0) {
			x[m] = an->first_beat_s + (after + 0.5) * win_s - t0_s;
			y[m++] = an->grid_window_offset_ms[after];
		}
		double a2, s2;
		if (m >= 2 && line_fit(x, y, m, &a2, &s2) <=
		    TRANSITION_LOCAL_SPREAD_MS) {
			at0 = a2;
			slope = s2;
		}
	}
	if (fabs(slope) / 1000.0 > TRANSITION_LOCAL_TEMPO_MAX) {
		snprintf(why, why_size, "%s's beats drift %.2f%% off its "
			 "grid's tempo between %.0f and %.0f s", name,
			 fabs(slope) / 10.0, t0_s, t1_s);
		*bad_from_s = t0_s;
		*bad_to_s = t1_s;
		return false;
	}
	/* A slope that moves the beat less than that over the span is
	 * noise: one offset, the mean, as before. */
	if (fabs(slope) * (t1_s - t0_s) < TRANSITION_LOCAL_DRIFT_MS) {
		slope = 0;
		if (used > 0) {
			at0 = 0;
			for (int i = 0; i < used; i++)
				at0 += y[i] / used;
		}
		/* ... each within the spread of it, as of the line. */
		if (hi - at0 > TRANSITION_LOCAL_SPREAD_MS ||
		    at0 - lo > TRANSITION_LOCAL_SPREAD_MS)
			goto wander;
	}
	/* The displaced windows: where they are (a section whose beat
	 * moved: the plan can mix before or after it). */
	int first_bad = -1;
	for (int i = 0; i < n_pat; i++) {
		double line = at0 + slope * (pat_at[i] + win_s / 2 - t0_s);
		if (fabs(pat_ms[i] - line) <= TRANSITION_PATTERN_OFF_MS)
			continue;
		if (first_bad < 0)
			first_bad = i;
		*bad_to_s = pat_at[i] + win_s;
	}
	if (first_bad >= 0) {
		snprintf(why, why_size, "%s's beat is %.0f ms off its grid at "
			 "%.0f s", name, pat_ms[first_bad], pat_at[first_bad]);
		*bad_from_s = pat_at[first_bad];
		/* The whole section, where it reaches past the span: the
		 * plan moves beyond it in one step. */
		int w0 = (int)floor((*bad_from_s - an->first_beat_s) / win_s +
				    0.5);
		int w1 = (int)floor((*bad_to_s - an->first_beat_s) / win_s +
				    0.5) - 1;
		for (; w0 > 0 && pattern_displaced(an, w0 - 1, at0 + slope *
			       (an->first_beat_s + (w0 - 0.5) * win_s - t0_s));
		     w0--)
			*bad_from_s -= win_s;
		for (; w1 + 1 < n && pattern_displaced(an, w1 + 1, at0 + slope *
			       (an->first_beat_s + (w1 + 1.5) * win_s - t0_s));
		     w1++)
			*bad_to_s += win_s;
		return false;
	}
	if (used < min_counted) {
		snprintf(why, why_size, "%s's beat grid is uncertain "
			 "(confidence %.2f) and steady in %d of its windows "
			 "between %.0f and %.0f s", name, an->grid_confidence,
			 used, t0_s, t1_s);
		*bad_from_s = t0_s;
		*bad_to_s = t1_s;
		return false;
	}
	if (used == 0)
		return true;
	if (fabs(at0) > TRANSITION_LOCAL_MAX_MS) {
		snprintf(why, why_size, "%s's beat grid is %.0f ms off at "
			 "%.0f s", name, at0, lo_at);
		*bad_from_s = counted_from;
		*bad_to_s = counted_to;
		return false;
	}
	if (half_at >= 0 && on_at >= 0) {
		snprintf(why, why_size, "%s's kick moves between the beat and "
			 "the half-beat between %.0f and %.0f s", name,
			 fmin(half_at, on_at), fmax(half_at, on_at) + win_s);
		*bad_from_s = counted_from;
		*bad_to_s = counted_to;
		return false;
	}
	if (fabs(at0) >= TRANSITION_LOCAL_SHIFT_MS || slope != 0)
		*shift_s = at0 / 1000.0;
	*period_scale = 1.0 + slope / 1000.0;
	*kick_half = half_at >= 0;
	return true;
wander:
	snprintf(why, why_size, "%s's beats move %.0f ms against its grid "
		 "between %.0f and %.0f s", name, hi - lo, fmin(lo_at, hi_at),
		 fmax(lo_at, hi_at) + win_s);
	*bad_from_s = counted_from;
	*bad_to_s = counted_to;
	return false;
}

/* Whether AN carries a beat that could clash: a tempo, and at least
 * TRANSITION_CUT_BEAT_WINDOWS grid windows with a steady beat (analyses
 * without windows: a trusted grid). A steady tone or an ambient piece
 * has a "tempo" of sorts but nothing to clash with; it crossfades. */
static bool has_beat(const struct analysis *an)
{
	if (!(an->bpm > 0) || !isfinite(an->bpm))
		return false;
	int n = grid_window_count(an);
	if (n == 0)
		return an->grid_confidence >= TRANSITION_MIN_GRID_CONFIDENCE;
	int beat = 0;
	for (int w = 0; w < n; w++)
		if (an->grid_window_hits[w] >= TRANSITION_WINDOW_BEAT_HITS)
			beat++;
	return beat >= TRANSITION_CUT_BEAT_WINDOWS;
}

bool transition_grid_trusted(const struct analysis *an,
			     double min_confidence)
{
	if (!(an->bpm > 0) || !isfinite(an->bpm))
		return false;
	if (an->grid_confidence >= min_confidence)
		return true;
	return grid_window_count(an) > 0 && has_beat(an);
}

static bool grid_usable(const struct analysis *an, const char *name,
			const struct transition_params *p, char *why,
			size_t why_size)
{
	if (!(an->bpm > 0) || !isfinite(an->bpm)) {
		snprintf(why, why_size, "%s has no beat grid", name);
		return false;
	}
	if (!transition_grid_trusted(an, p->min_grid_confidence)) {
		snprintf(why, why_size, "%s's beat grid is uncertain "
			 "(confidence %.2f < %.2f)", name, an->grid_confidence,
			 p->min_grid_confidence);
		return false;
	}
	return true;
}

/* Tries a transition of BARS playhead bars; fills the positions. */
static bool plan_fit(const struct track_grid *ga, const struct track_grid *gb,
		     double ratio, int bars, const struct transition_params *p,
		     double a_before_s, double b_after_s,
		     struct transition_plan *plan)
{
	const struct analysis *a = ga->an, *b = gb->an;
	int beats = bars * ga->beats_per_bar;
	double win_a = beats * ga->beat_s;
	double win_b = beats * ratio * gb->beat_s;

	double a_end = a->audio_end_s > 0 ? a->audio_end_s : a->duration_s;
	double b_end = b->audio_end_s > 0 ? b->audio_end_s : b->duration_s;
	double ideal_a = a_end - win_a;
	if (a->outro_start_s > 0 && a->outro_start_s < ideal_a)
		ideal_a = a->outro_start_s;
	/* A's outro began before A was heard alone (a short track): the
	 * earliest exit from then on, still preferring phrases. */
	if (ideal_a < p->a_from_s) {
		ideal_a = p->a_from_s + TRANSITION_SEARCH_BARS * ga->bar_s;
		if (ideal_a > a_end - win_a)
			ideal_a = a_end - win_a;
	}
	/* A's window ends before a place where its grid does not hold. */
	if (ideal_a > a_before_s - win_a)
		ideal_a = a_before_s - win_a;
	double exit_s;
	if (!grid_pick(ga, p->a_from_s, ideal_a, &exit_s))
		return false;

	double first_b = grid_first_downbeat(gb);
	double ideal_b = b->intro_end_s - win_b;
	/* B's window must leave a window's length after it for B's own
	 * exit. */
	double latest_b = b_end - 2 * win_b;
	if (ideal_b > latest_b)
		ideal_b = latest_b;
	if (ideal_b < first_b)
		ideal_b = first_b;
	/* ... and starts after a place where B's grid does not hold: the
	 * first downbeat at or after it. */
	if (b_after_s > first_b) {
		first_b += ceil((b_after_s - first_b - TRANSITION_TOL_S) /
				gb->bar_s) * gb->bar_s;
		if (ideal_b < first_b)
			ideal_b = first_b;
	}
	double entry_s;
	if (ideal_b > latest_b + TRANSITION_TOL_S ||
	    !grid_pick(gb, first_b, ideal_b, &entry_s))
		return false;

	plan->bars = bars;
	plan->beats = beats;
	plan->a_exit_s = exit_s;
	plan->a_end_s = exit_s + win_a;
	plan->b_entry_s = entry_s;
	plan->b_resume_s = entry_s + win_b;
	return true;
}

/* Where the music of AN has the beat that its grid puts at T_S: the
 * offset (seconds, positive = the music is late) of the grid window
 * holding T_S when that window carries a steady beat and the offset is
 * beyond the onset envelope's resolution (the local gate's rule); false,
 * and *shift_s 0, otherwise (no windows: a trusted grid, or a beatless
 * window that says nothing). A single window, unlike the local gate:
 * where a cut is made the grid need not hold beyond it. */
static bool grid_local_shift(const struct analysis *an, double t_s,
			     double *shift_s)
{
	*shift_s = 0;
	int n = grid_window_count(an);
	if (n == 0 || !(an->bpm > 0))
		return false;
	double win_s = an->grid_window_beats * 60.0 / an->bpm;
	double k = floor((t_s - an->first_beat_s) / win_s);
	if (!(k >= 0 && k < n))
		return false;
	int w = (int)k;
	double off = an->grid_window_offset_ms[w];
	if (!(an->grid_window_hits[w] >= TRANSITION_WINDOW_BEAT_HITS) ||
	    !isfinite(off))
		return false;
	if (fabs(off) >= TRANSITION_LOCAL_SHIFT_MS)
		*shift_s = off / 1000.0;
	return true;
}

/* The no-clash fallback (see transition.h, Cuts): false when either
 * track carries no beat or A has no downbeat to end on. */
static bool plan_cut(const struct analysis *a, const struct analysis *b,
		     const struct transition_params *p,
		     struct transition_plan *plan)
{
	if (!has_beat(a) || !has_beat(b))
		return false;
	struct track_grid ga, gb;
	grid_init(&ga, a);
	grid_init(&gb, b);
	double a_end = a->audio_end_s > 0 ? a->audio_end_s : a->duration_s;
	double ideal = a_end - ga.beat_s;
	if (a->outro_start_s > 0 && a->outro_start_s < ideal)
		ideal = a->outro_start_s;
	double lo = p->a_from_s + ga.beat_s;
	double cut_s;
	if (!grid_pick(&ga, lo, ideal, &cut_s) &&
	    !grid_pick(&ga, lo, a_end - ga.beat_s, &cut_s))
		return false;
	/* B comes in with its beat: at the first downbeat of its first
	 * window with a steady beat, not in a quiet or beatless intro
	 * (there is no A left to cover it). */
	double entry_s = grid_first_downbeat(&gb);
	double beat_from = entry_s;
	int nw = grid_window_count(b);
	for (int w = 0; w < nw; w++)
		if (b->grid_window_hits[w] >= TRANSITION_WINDOW_BEAT_HITS) {
			beat_from = b->first_beat_s +
				    w * b->grid_window_beats * gb.beat_s;
			break;
		}
	if (beat_from > entry_s + TRANSITION_TOL_S)
		entry_s += ceil((beat_from - entry_s - TRANSITION_TOL_S) /
				gb.bar_s) * gb.bar_s;
	double b_end = b->audio_end_s > 0 ? b->audio_end_s : b->duration_s;
	if (entry_s + ga.beat_s > b_end)
		return false;
	/* The pulse goes on: B's first downbeat plays where A's next one
	 * would, both where the music has them, not the grids. A's is the
	 * phase of the last beats it is heard with (the latest of its last
	 * bar's beats in a window with a steady beat: an untrusted grid is
	 * still right locally, and that is all a listener goes by), B's that
	 * of the window it comes in with. */
	double shift_a = 0, shift_b = 0;
	for (int k = 0; k < ga.beats_per_bar; k++)
		if (grid_local_shift(a, cut_s - (k + 0.5) * ga.beat_s,
				     &shift_a))
			break;
	if (cut_s + shift_a - ga.beat_s < p->a_from_s)
		shift_a = 0;
	grid_local_shift(b, entry_s + TRANSITION_TOL_S, &shift_b);
	if (entry_s + shift_b < 0)
		shift_b = 0;
	cut_s += shift_a;
	entry_s += shift_b;
	plan->kind = TRANSITION_CUT;
	plan->bars = plan->beats = 0;
	plan->b_beat_ratio = 1;
	plan->stretch = 0;
	plan->duration_s = ga.beat_s;
	plan->a_exit_s = cut_s - ga.beat_s;
	plan->a_end_s = cut_s;
	plan->a_filter_s = cut_s - TRANSITION_CUT_FILTER_BEATS * ga.beat_s;
	if (plan->a_filter_s < p->a_from_s)
		plan->a_filter_s = p->a_from_s;
	plan->b_entry_s = entry_s;
	plan->b_resume_s = entry_s;
	plan->b_entry_at_s = plan->duration_s;
	plan->marker_s = plan->duration_s - TRANSITION_CUT_LEAD_S / 2;
	plan->bass_swap_s = plan->marker_s;
	plan->bass_swap_len_s = 0;
	return true;
}

/* The largest |speed - 1| of a deck played at SPEED or its inverse. */
static double stretch_of(double speed)
{
	double s = fabs(speed - 1.0);
	return fabs(1.0 / speed - 1.0) > s ? fabs(1.0 / speed - 1.0) : s;
}

/* The playhead beats of a tempo bridge's rides that the placed PLAN
 * leaves room for (see transition.h): the transition's own length, or
 * half or a quarter of it, at least TRANSITION_MIN_BARS bars; A's ride
 * starts after A was heard alone, and B's ends with a transition's
 * length of B still ahead. 0 when there is no room. */
static int bridge_room(const struct track_grid *ga,
		       const struct track_grid *gb, double ratio,
		       const struct transition_plan *plan,
		       const struct transition_params *p)
{
	const struct analysis *b = gb->an;
	double b_end = b->audio_end_s > 0 ? b->audio_end_s : b->duration_s;
	double win_b = plan->beats * ratio * gb->beat_s;
	int min_beats = TRANSITION_MIN_BARS * ga->beats_per_bar;
	for (int n = plan->beats; n >= min_beats; n /= 2) {
		double a_ride = plan->a_exit_s - n * ga->beat_s;
		double b_ride = plan->b_resume_s + n * ratio * gb->beat_s;
		if (a_ride >= p->a_from_s && b_ride + win_b <= b_end)
			return n;
	}
	return 0;
}

int transition_plan(const struct analysis *a, const struct analysis *b,
		    const struct transition_params *p,
		    struct transition_plan *plan)
{
	if (!a || !b || !p || !plan || p->bars < TRANSITION_MIN_BARS ||
	    p->bars > TRANSITION_MAX_BARS || !(p->max_stretch >= 0) ||
	    p->max_stretch > 0.5 || !(p->crossfade_s >= 0) ||
	    !isfinite(p->crossfade_s) || !isfinite(p->a_from_s) ||
	    !isfinite(p->loudness_target_lufs))
		return -EINVAL;

	memset(plan, 0, sizeof(*plan));
	plan->gain_a_db = transition_gain_db(a, p->loudness_target_lufs);
	plan->gain_b_db = transition_gain_db(b, p->loudness_target_lufs);
	plan->bpm_from = a->bpm > 0 ? a->bpm : 0;
	plan->bpm_to = b->bpm > 0 ? b->bpm : 0;

	char why[TRANSITION_REASON_MAX];
	if (!grid_usable(a, "A", p, why, sizeof(why)) ||
	    !grid_usable(b, "B", p, why, sizeof(why)))
		goto crossfade;

	/* Tempo: B at its own, double or half time, whichever is nearest
	 * to A (in log terms: +5% and -5% weigh the same); beyond
	 * max_stretch a tempo bridge meets halfway, each deck at most
	 * sqrt(speed) off its own tempo; beyond twice it, a cut. The rule
	 * is tempo.h's, which the brain and plan's count share. */
	struct tempo_match match;
	(void)tempo_match(a->bpm, b->bpm, p->max_stretch, &match);
	double ratio = match.ratio;
	double speed = b->bpm / (ratio * a->bpm);
	bool bridge = match.reach == TEMPO_BRIDGED;
	double stretch = stretch_of(bridge || match.reach == TEMPO_BEYOND
				    ? sqrt(speed) : speed);
	if (match.reach == TEMPO_BEYOND) {
		snprintf(why, sizeof(why), "tempo %.2f -> %.2f BPM needs "
			 "%.1f%% stretch of each deck, beyond max_stretch "
			 "%.1f%%", a->bpm, b->bpm, 100 * stretch,
			 100 * p->max_stretch);
		goto crossfade;
	}

	struct track_grid ga, gb;
	grid_init(&ga, a);
	grid_init(&gb, b);
	/* B's bars must end on B's downbeats too: at half time a playhead
	 * bar is half a B bar, so the bar count must stay even. */
	/* Shorter transitions sit nearer A's end and B's start: where the
	 * grid does not hold over 16 bars it may over 8 or 4. */
	int bars = p->bars;
	bool fitted = false, placed = false, moved = false;
	char local_why[TRANSITION_REASON_MAX] = "";
	double shift_a = 0, shift_b = 0, scale_a = 1, scale_b = 1;
	bool half_a = false, half_b = false;
	int bridge_beats = 0;
	bool roomless = false;
	/* A grid trusted for its windows alone (transition.h, "Which grids
	 * are beatmatched") needs two of them with a steady beat under the
	 * deck's part: no extrapolation from one, no beatless stretch taken
	 * for a breakdown. */
	int counted_a = a->grid_confidence >= p->min_grid_confidence
			? 0 : TRANSITION_CUT_BEAT_WINDOWS;
	int counted_b = b->grid_confidence >= p->min_grid_confidence
			? 0 : TRANSITION_CUT_BEAT_WINDOWS;
	for (; bars >= TRANSITION_MIN_BARS; bars /= 2) {
		if (ratio < 1 && bars % 2 != 0)
			continue;
		/* Where a deck's grid does not hold, the same length is
		 * tried once more with A leaving before that place or B
		 * entering after it (a DJ mixes before the section that
		 * would clash), then a shorter one. */
		double a_before = INFINITY, b_after = -INFINITY;
		for (int tries = 0; tries < 2 && !fitted; tries++) {
			if (!plan_fit(&ga, &gb, ratio, bars, p, a_before,
				      b_after, plan))
				break;
			placed = true;
			double bad0, bad1;
			if (!grid_holds(a, "A", counted_a, plan->a_exit_s,
					plan->a_end_s,
					&shift_a, &scale_a, &half_a, &bad0,
					&bad1, why, sizeof(why))) {
				if (!isfinite(bad0))
					tries = 2; /* nowhere to move to */
				else
					a_before = fmin(a_before, bad0);
			} else if (!grid_holds(b, "B", counted_b,
					       plan->b_entry_s,
					       plan->b_resume_s, &shift_b,
					       &scale_b, &half_b, &bad0, &bad1,
					       why, sizeof(why))) {
				if (!isfinite(bad1))
					tries = 2;
				else
					b_after = fmax(b_after, bad1);
			} else if (bridge && (bridge_beats = bridge_room(
					      &ga, &gb, ratio, plan, p)) == 0) {
				roomless = true;
				break;
			} else {
				fitted = true;
				moved = tries > 0;
				break;
			}
			/* The reason of the first try is the one to log. */
			if (!local_why[0])
				snprintf(local_why, sizeof(local_why), "%s",
					 why);
		}
		if (fitted)
			break;
	}
	if (!fitted) {
		if (roomless)
			snprintf(why, sizeof(why), "tempo %.2f -> %.2f BPM "
				 "needs a tempo bridge (%.1f%% stretch of each "
				 "deck) and the tracks leave no room for one",
				 a->bpm, b->bpm, 100 * stretch);
		else if (placed)
			snprintf(why, sizeof(why), "%s", local_why);
		else
			snprintf(why, sizeof(why), "tracks too short for a "
				 "%d-bar transition", TRANSITION_MIN_BARS);
		goto crossfade;
	}
	/* Kicks meet kicks: a deck whose kick sits on the half-beat there
	 * moves B by half a beat (of B's own, or of the playhead's for A's),
	 * modulo one of B's beats, later rather than earlier. */
	double kick_beats = (half_b ? 0.5 : 0.0) - (half_a ? 0.5 * ratio : 0.0);
	kick_beats -= floor(kick_beats);
	shift_b += kick_beats * gb.beat_s;
	plan->a_exit_s += shift_a;
	plan->b_entry_s += shift_b;
	/* Each deck at its tempo there: the grid's, or where its beats
	 * drift against the grid, the tempo they keep. */
	plan->bpm_from = a->bpm / scale_a;
	plan->bpm_to = b->bpm / scale_b;
	plan->a_end_s = plan->a_exit_s + plan->beats * 60.0 / plan->bpm_from;
	plan->b_resume_s = plan->b_entry_s +
			   plan->beats * ratio * 60.0 / plan->bpm_to;

	plan->kind = TRANSITION_BEATMATCHED;
	plan->b_beat_ratio = ratio;
	plan->stretch = stretch;
	if (bridge_beats > 0) {
		plan->ramp_from_beat = -bridge_beats;
		plan->ramp_to_beat = plan->beats + bridge_beats;
		plan->bpm_meet = sqrt(plan->bpm_from * plan_t1(plan));
		plan->meet_from_beat = 0;
		plan->meet_to_beat = plan->beats;
		plan->b_resume_s = transition_b_time(plan, plan->ramp_to_beat);
	} else {
		int flat_bars = plan->bars / TRANSITION_RAMP_FLAT_SHARE;
		plan->ramp_from_beat = (double)flat_bars * ga.beats_per_bar;
		plan->ramp_to_beat = plan->beats - plan->ramp_from_beat;
	}
	plan->duration_s = transition_beat_time(plan, plan->beats);
	double mid = plan->beats / 2.0;
	plan->marker_s = transition_beat_time(plan, mid);
	plan->bass_swap_s = plan->marker_s;
	plan->bass_swap_len_s =
		transition_beat_time(plan, mid + TRANSITION_BASS_SWAP_BEATS / 2) -
		transition_beat_time(plan, mid - TRANSITION_BASS_SWAP_BEATS / 2);
	char kicked[80] = "";
	if (kick_beats > 0)
		snprintf(kicked, sizeof(kicked), ", B moved %.2g beat: %s on "
			 "the half-beat there", kick_beats,
			 half_a && half_b ? "both kicks are" :
			 half_a ? "A's kick is" : "its kick is");
	/* Where the decks meet their grids: before the moves. */
	int tier_a = grid_tier(&ga, plan->a_exit_s - shift_a);
	int tier_b = grid_tier(&gb, plan->b_entry_s - shift_b);
	char local[80] = "";
	if (scale_a != 1 || scale_b != 1)
		snprintf(local, sizeof(local), ", at %.2f -> %.2f BPM there "
			 "(the beats drift against the grid)", plan->bpm_from,
			 plan->bpm_to);
	char bridged[64] = "";
	if (bridge_beats > 0)
		snprintf(bridged, sizeof(bridged), ", tempo bridge over %d "
			 "bars either side", bridge_beats / ga.beats_per_bar);
	snprintf(plan->reason, sizeof(plan->reason),
		 "%d bars, %.2f -> %.2f BPM%s%s%s, stretch %.1f%%, A %s, B %s%s%s",
		 plan->bars, a->bpm, b->bpm,
		 ratio == 2.0 ? " (double time)" :
		 ratio == 0.5 ? " (half time)" : "", local,
		 bridged, 100 * stretch,
		 tier_a == 0 ? "at a phrase" :
		 tier_a == 1 ? "on the phrase grid" : "on a downbeat",
		 tier_b == 0 ? "at a phrase" :
		 tier_b == 1 ? "on the phrase grid" : "on a downbeat", kicked,
		 plan->bars < p->bars && local_why[0] ?
		 " (shortened: the grid holds only there)" :
		 plan->bars < p->bars ? " (shortened: tracks too short)" :
		 moved ? " (moved: the grid holds only there)" : "");
	return 0;

crossfade:
	if (!plan_cut(a, b, p, plan))
		plan_crossfade(a, b, p, plan);
	snprintf(plan->reason, sizeof(plan->reason), "%s", why);
	return 0;
}
