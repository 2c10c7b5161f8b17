/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transition — plans how one analysed track hands over to the next, the way
 * a DJ would: where A leaves, where B comes in, how many bars they overlap,
 * how the tempo moves from A's to B's, how loud each one plays.
 *
 * transition_plan() is a pure, deterministic function of the two analyses
 * (analyze.h) and the parameters: no I/O, no clock, no randomness, so plans
 * are unit-tested and can be logged and reproduced.
 *
 * DESIGN
 * The playhead. During a beatmatched transition both tracks follow one
 * playhead that counts beats 0..beats (beats = bars * 4, in A's beats).
 * For the first and last quarter of the bars (bars / 4, rounded down:
 * ramp_from_beat, from ramp_to_beat) its tempo is A's (bpm_from) and B's (bpm_to / ratio, in
 * A's beats: B may be matched at double or half time, then b_beat_ratio is
 * 2 or 0.5 B beats per playhead beat); over the middle half it moves
 * linearly in beats from one to the other. Linear in beats means the tempo
 * change per bar is constant, which is what a DJ's pitch fader moved
 * smoothly over the phrase sounds like. B comes in at A's tempo and A
 * leaves at B's; the track at its own tempo plays unstretched, so only one
 * deck goes through the time-stretcher at the ends (a quarter less
 * stretching than a ramp over the whole transition: bench/stream-cpu.sh).
 * With T(x) the tempo at beat x and r0, r1 the ramp's ends, output time is
 * t(x) = integral of 60 / T: x 60 / T0 up to r0, then for T0 != T1
 *     t(x) = r0 60 / T0 + 60 n / (T1 - T0) * ln(T(x) / T0),  n = r1 - r0
 * (its inverse x(t) = r0 + n T0 / (T1 - T0) * (exp(u (T1 - T0) / (60 n))
 * - 1), u = t - r0 60 / T0), and after r1 at T1. Before beat 0 the tempo
 * is T0 and after the last beat T1, so A plays at its own speed up to the
 * transition and B at its own speed after it: every track is stretched
 * only while it overlaps another.
 *
 * The tempo bridge. Two tempi further apart than max_stretch (at the
 * same, double or half time) but within (1 + max_stretch)^2 are matched
 * the way a DJ rides the pitch faders: A's tempo ramps, linearly in beats,
 * from its own to the meeting tempo Tm = sqrt(T0 T1) over the n beats
 * before the exit, while A plays alone; both decks play at Tm over the
 * whole transition; B ramps from Tm to its own tempo over the n beats
 * after it, alone. So no track is ever played more than sqrt of the ratio
 * off its own tempo (stretch, within max_stretch), the overlap itself is
 * at one steady tempo, and outside the rides both play unstretched.
 * ramp_from_beat = -n and ramp_to_beat = beats + n; bpm_meet, meet_from_beat
 * (0) and meet_to_beat (beats) describe the flat middle. n is the
 * transition's own beats, or half or a quarter of them (at least
 * TRANSITION_MIN_BARS bars), the longest that leaves A's ride after
 * a_from_s and a transition's length of B after its ride (b_resume_s is
 * where B's ride ends); a pair with no room at any length is cut, and the
 * reason says so. The playhead formulas above hold segment by segment.
 *
 * Exit and entry. A's exit and B's entry are downbeats, so the bars of the
 * two tracks coincide, and preferably phrase boundaries, so their phrases
 * do too. A's window (bars of A) must end at or before its audio end (never
 * into trailing silence) and is placed as late as possible but not after
 * A's outro start: ideal = min(outro start, audio end - window); if that
 * is before A was heard alone (a_from_s), the search runs back from 16 bars
 * after a_from_s instead. B's window
 * is placed so that it covers B's intro: ideal = max(first downbeat, intro
 * end - window). Candidates are searched back from the ideal point over at
 * most TRANSITION_SEARCH_BARS bars in three tiers: detected phrase
 * boundaries, then the phrase grid (phrase_bars from the nearest detected
 * boundary), then any downbeat; the first tier with a candidate wins.
 * When the tracks are too short for the configured bars, the plan halves
 * them down to TRANSITION_MIN_BARS; B must keep a window's length after the
 * transition for its own exit.
 *
 * Which grids are beatmatched. A grid whose confidence (struct analysis:
 * the share of beat-carrying windows within 10 ms of it) reaches
 * min_grid_confidence; and, whatever its confidence, a grid with windows
 * of which at least two carry a steady beat (grid_window_hits): the
 * local gate below judges it where it is used, window by window, and
 * follows it there (an offset, a tempo a little off), so a track whose
 * beat wanders over its length but holds under a transition's span is
 * beatmatched there and cut elsewhere, with the local reason. Such a grid
 * (below min_grid_confidence) needs two windows with a steady beat under
 * each deck's part: the gate does not extrapolate from one window or
 * take a stretch without a steady beat for a breakdown there. Grids
 * without windows rest on the track-wide confidence alone.
 * transition_grid_trusted() is the rule;
 * the brain (grid_untrusted) and plan's tempo circle share it.
 *
 * The local gate. The grid must hold where the decks play together: the
 * grid windows (struct analysis) that carry a beat under A's part and
 * under B's part of the transition must lie on one line of offset from
 * the grid against time (each within 8 ms of it), at most 40 ms off where
 * the deck starts. The grid is then re-phased there: an offset of 3 ms or
 * more (beyond the onset envelope's resolution) moves that deck's window
 * by it, so the music's beats meet, not the grids'. Where the line moves
 * 10 ms or more over the deck's part (a track that slows down or speeds
 * up there, by at most 0.5%), the plan takes that deck's tempo there
 * (bpm_from or bpm_to: the grid's over 1 + the slope) and its offset where
 * it starts; with one window under the part, its beat-carrying
 * neighbours give the slope. The kick must stay on one side of the beat
 * there too (grid_window_kick_ratio: on the beat, on the half-beat, or on
 * both or too quiet to tell); where a deck's kick sits on the half-beat
 * (an intro whose kick is half a beat off the grid the rest of the track
 * gives), B moves by half a beat, of its own for B's kick, of the
 * playhead's for A's (modulo one of B's beats), so kick meets kick. If the
 * windows disagree, the plan tries half the bars (shorter transitions sit
 * nearer A's end), down to TRANSITION_MIN_BARS. Windows without a steady
 * beat (breakdowns) cannot clash and are not counted; but a window whose
 * onsets are mostly off the grid while its onset pattern is the track's
 * own, displaced (grid_window_match at least 0.6), carries a beat off the
 * grid: its displacement (grid_window_shift_ms) must be within 25 ms of
 * the counted windows' offset, else that length is refused too. Such a
 * section is one place to keep away from: the same length is tried once
 * more with A's window ending before it (at a phrase, as above) or B's
 * starting after it ("moved: the grid holds only there"), before a
 * shorter one.
 *
 * Cuts, when two tracks that carry a beat (two grid windows with a steady
 * beat, or a trusted grid) cannot be beatmatched (a tempo pair
 * further apart than max_stretch even at double or half time, a grid not
 * trusted (above) or one that does not hold at any length): a
 * crossfade of two unaligned beats is the trainwreck a DJ avoids, so A ends
 * on a downbeat (a phrase boundary where there is one, at its outro or a
 * beat before its audio end at the latest), fading out over its last beat,
 * and B comes in on its first downbeat with a steady beat (the first
 * downbeat of its first beat-carrying grid window, past a quiet or
 * beatless intro that nothing would cover) exactly where A's next
 * downbeat would have fallen, the end of that beat: the pulse goes on
 * and only its tempo changes, the listener's count of A's bar lands on
 * B's "one". Over its last bar A filters
 * out (filter.h: a high-pass swept from 20 Hz to 1.6 kHz; the kick and
 * the bass leave first), so what is left of A in its last beat is its
 * highs fading, alone: B plays nothing under it but a lead-in of
 * TRANSITION_CUT_LEAD_S before its downbeat, a sine ramp that starts B
 * without a click and keeps its first onset whichever way the grid is a
 * few ms off. Not B's beat before its downbeat: at another tempo, its
 * onset would fall inside A's last beat, a stumble (at 100 -> 135 BPM,
 * 156 ms after A's). Both downbeats are where the music has them, not
 * the grid: A's end moves by the offset (struct analysis) of the grid
 * window of the last of its beats heard in a window with a steady beat
 * (where the grid is not trusted, the cut's reason, it is still the
 * best local estimate: a listener goes by the last beats heard), B's
 * entry by that of the window it comes in with (each when 3 ms or
 * more, as in the local gate). a_filter_s is where the sweep starts
 * (a bar before the downbeat, not before a_from_s), a_exit_s where A's
 * last beat (the fade) starts, a_end_s A's next downbeat, b_entry_s
 * B's first downbeat, played at b_entry_at_s = duration_s (one beat of
 * A) from the start; reason says why it is not beatmatched.
 *
 * Crossfades. A track without a beat grid (not analysed, silence, no
 * beat), or no downbeat to cut on: the plan is a plain equal-power
 * crossfade of crossfade_s, and reason says why.
 *
 * Gains. Each track plays at loudness_target - its integrated loudness,
 * limited so that its true peak lands at most TRANSITION_PEAK_CEILING_DB
 * above full scale (the limiter takes the rest; a high-crest track is not
 * crushed to reach the target) and to +-TRANSITION_GAIN_MAX_DB.
 *
 * Within the transition: equal-power fades (A cos, B sin of the playhead
 * fraction; a cut's B only over its lead-in), and a bass swap of one bar centred on the middle, where the
 * title marker goes too (the audible middle: B becomes the louder one).
 */
#ifndef FOREVERFM_TRANSITION_H
#define FOREVERFM_TRANSITION_H

#include "analyze.h"

#define TRANSITION_REASON_MAX 256
#define TRANSITION_MIN_BARS 4
/* Grids below this confidence are not beatmatched (the default of
 * transition_params.min_grid_confidence; the brain avoids them). */
#define TRANSITION_MIN_GRID_CONFIDENCE 0.5
#define TRANSITION_MAX_BARS 64
/* How far back from the ideal exit / entry a better-tier candidate is
 * looked for. */
#define TRANSITION_SEARCH_BARS 16
#define TRANSITION_PEAK_CEILING_DB 3.0
#define TRANSITION_GAIN_MAX_DB 12.0
/* The bass swap lasts one bar (beats). */
#define TRANSITION_BASS_SWAP_BEATS 4.0
/* A cut's filter-out lasts one bar (beats of A) up to its downbeat. */
#define TRANSITION_CUT_FILTER_BEATS 4.0
/* A cut's B ramps in over this (seconds) up to its first downbeat:
 * longer than the few ms by which a grid misses an onset, far shorter
 * than a beat (no onset of B's before its downbeat fits in it). */
#define TRANSITION_CUT_LEAD_S 0.010
/* 1 / this of the bars at each end keep a constant tempo (A's, then B's):
 * the tempo ramps over the middle half. */
#define TRANSITION_RAMP_FLAT_SHARE 4

enum transition_kind {
	TRANSITION_CROSSFADE = 0,
	TRANSITION_BEATMATCHED = 1,
	TRANSITION_CUT = 2,
};

struct transition_params {
	int bars;                    /* [mix] transition_bars, default 16 */
	double max_stretch;          /* [mix] max_stretch, default 0.08 */
	double loudness_target_lufs; /* [mix] loudness_target, default -14 */
	double min_grid_confidence;  /* TRANSITION_MIN_GRID_CONFIDENCE */
	double crossfade_s;          /* the plain crossfade, default 6 */
	/* A is heard alone from here (its own seconds): its exit is never
	 * earlier. 0 for a track that started at its beginning. */
	double a_from_s;
};

struct transition_plan {
	enum transition_kind kind;
	char reason[TRANSITION_REASON_MAX]; /* why this kind, one line */

	/* Positions in each track's own time (seconds from its file start).
	 * Crossfade: A fades from a_exit_s to its end, B from b_entry_s.
	 * Cut: A filters out from a_filter_s and fades from a_exit_s to
	 * a_end_s, over one beat; B's downbeat b_entry_s plays at a_end_s
	 * (b_entry_at_s), after a lead-in of TRANSITION_CUT_LEAD_S. */
	double a_filter_s;  /* cut: A's filter-out starts (0 otherwise) */
	double a_exit_s;    /* the transition starts here in A */
	double a_end_s;     /* A has faded out here */
	double b_entry_s;   /* B's first frame heard (a cut: its downbeat,
			     * TRANSITION_CUT_LEAD_S after) */
	double b_resume_s;  /* B plays on at its own speed from here */

	int bars;           /* playhead bars; 0 for a crossfade */
	int beats;          /* bars * A's beats per bar */
	double bpm_from;    /* A's tempo (0 when unknown) */
	double bpm_to;      /* B's own tempo (0 when unknown) */
	double b_beat_ratio; /* B beats per playhead beat: 1, 2 or 0.5 */
	double ramp_from_beat; /* the tempo leaves A's here (playhead beat) */
	double ramp_to_beat;   /* and reaches B's here */
	/* A tempo bridge only (bpm_meet 0 otherwise): the tempo both
	 * decks play at from meet_from_beat to meet_to_beat (0 and beats). */
	double bpm_meet;
	double meet_from_beat, meet_to_beat;
	double stretch;     /* largest |speed - 1| either track is played at */
	double duration_s;  /* output seconds */

	double gain_a_db;
	double gain_b_db;

	/* Output seconds from the start of the transition. */
	double b_entry_at_s;    /* b_entry_s plays here: 0, but for a cut
				 * duration_s (B's downbeat on A's next) */
	double marker_s;        /* the audible middle: the title changes */
	double bass_swap_s;     /* middle of the bass swap */
	double bass_swap_len_s; /* its length (one bar) */
};

/* Defaults as documented in struct transition_params. */
void transition_params_default(struct transition_params *p);

/* Plans A -> B into *plan. Always produces a usable plan (a crossfade when
 * beatmatching is impossible, with the reason). Returns 0, or -EINVAL for
 * NULL arguments or parameters out of range (bars outside
 * TRANSITION_MIN_BARS..TRANSITION_MAX_BARS, max_stretch outside 0..0.5,
 * crossfade_s negative or NaN). */
int transition_plan(const struct analysis *a, const struct analysis *b,
		    const struct transition_params *p,
		    struct transition_plan *plan);

/* Whether the mixer beatmatches A's grid at all (DESIGN, "Which grids are
 * beatmatched"), min_confidence being transition_params'
 * min_grid_confidence: a tempo, and a confidence of at least
 * min_confidence or enough beat-carrying grid windows for the local gate
 * to judge. */
bool transition_grid_trusted(const struct analysis *a,
			     double min_confidence);

/* The gain that brings a track to target_lufs, limited as described. */
double transition_gain_db(const struct analysis *a, double target_lufs);

/* The playhead of a beatmatched plan. Beats may lie outside 0..beats
 * (constant tempo there); times are output seconds from the start. */
double transition_tempo_at(const struct transition_plan *plan, double beat);
double transition_beat_time(const struct transition_plan *plan, double beat);
double transition_beat_at(const struct transition_plan *plan, double t_s);

/* Own time of each track at a playhead beat, and the playhead beat of an
 * own time. */
double transition_a_time(const struct transition_plan *plan, double beat);
double transition_b_time(const struct transition_plan *plan, double beat);
double transition_a_beat(const struct transition_plan *plan, double a_s);
double transition_b_beat(const struct transition_plan *plan, double b_s);

/* Time ratio (output duration / input duration, Rubber Band's sense) of
 * each track at its own time: 1 outside the transition's ramp for A before
 * it and for B after it; A after its last beat keeps the ratio it left
 * at, B before its first the one it enters at. */
double transition_ratio_a(const struct transition_plan *plan, double a_s);
double transition_ratio_b(const struct transition_plan *plan, double b_s);

/* Gains within the transition at output time t_s (0..duration_s): the
 * equal-power fades and the bass swap, as linear factors excluding the
 * loudness gains. low_* apply to each track's lows (below the crossover),
 * high_* to the rest. */
struct transition_gains {
	double high_a, high_b;
	double low_a, low_b;
};
void transition_gains_at(const struct transition_plan *plan, double t_s,
			 struct transition_gains *g);

/* "beatmatched" or "crossfade". */
const char *transition_kind_name(enum transition_kind kind);

#endif
