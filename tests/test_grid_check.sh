#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_grid_check — bench/grid-check, the independent judge of beat grids,
# on a generated track whose grid is known: 6 minutes at exactly 120 BPM,
# a 60 Hz kick (60 ms, linear decay) on every beat from 0.3 s and a noise
# hat on every off-beat. With the right grid it must say steady-right, with
# offsets within 3 ms and a spread under 5 ms; with a grid 0.05 % fast
# (120.06) it must say drifting at +30 ms/min (0.05 % of 60 s; -30 for
# 119.94) and still find 120 within 0.005 %; with first_beat a half beat
# late, off-beat. A breakbeat (3 minutes at 120 BPM: kicks on the "e" of
# beats 1 and 3 and on the "and" of 2, snares on 2 and 4, hats on the
# eighths) with the right grid is steady-right by its drum pattern, though
# its kick sits a sixteenth after the grid; with the grid moved by a
# quarter and by half a beat it is steady-offset and off-beat. Noise is
# no-beat; the JSON input and --summary totals, a track without a grid and
# a file that does not decode are checked too.
#
# Exit: 0 pass, 1 fail, 77 skip (no sox), 99 could not run.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
GC="$top_builddir/bench/grid-check"
[ -x "$GC" ] || { echo "no $GC" >&2; exit 99; }
need_tools sox

work_setup gridcheck

fail() {
	echo "FAIL: $*" >&2
	[ -s "$WORK/out" ] && { echo "--- output" >&2; cat "$WORK/out" >&2; }
	exit 1
}

# field NAME: the value of NAME=... in $WORK/out's first line.
field() {
	sed -n "1s/.* $1=\([^ ]*\).*/\1/p" "$WORK/out"
}

# within VALUE LO HI: LO <= VALUE <= HI.
within() {
	awk -v v="$1" -v lo="$2" -v hi="$3" \
		'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 <= hi) }'
}

# check ARG...: runs grid-check on the track, output in $WORK/out.
check() {
	"$GC" "$@" "$WORK/track.wav" >"$WORK/out" 2>&1 ||
		fail "exit $?: grid-check $*"
}

W="$WORK"
sox -V1 -n -r 44100 -c 1 "$W/kick.wav" synth 0.06 sine 60 \
	fade t 0.001 0.06 0.059 pad 0 0.44 || exit 99
sox -V1 -n -r 44100 -c 1 "$W/hat.wav" synth 0.02 whitenoise \
	highpass 7000 fade 0 0.02 0.018 vol 0.3 pad 0.25 0.23 || exit 99
sox -V1 -m "$W/kick.wav" "$W/hat.wav" "$W/beat.wav" || exit 99
sox -V1 "$W/beat.wav" "$W/loop.wav" repeat 719 || exit 99
sox -V1 "$W/loop.wav" "$W/track.wav" pad 0.3 0 || exit 99
rm -f "$W/kick.wav" "$W/hat.wav" "$W/beat.wav" "$W/loop.wav"

# The right grid.
check --bpm 120 --first-beat 0.3
[ "$(field verdict)" = steady-right ] || fail "right grid: not steady-right"
[ "$(field windows)" = 12 ] || fail "right grid: not 12 windows of 30 s"
[ "$(field env)" = kick ] || fail "right grid: kick envelope not used"
[ "$(field right_windows)" = 12 ] || fail "right grid: not 12 right windows"
[ "$(field jumps)" = 0 ] || fail "right grid: jumps"
within "$(field spread_ms)" 0 5 || fail "right grid: spread >= 5 ms"
within "$(field median_offset_ms)" -3 3 || fail "right grid: offset > 3 ms"
within "$(field best_bpm)" 119.994 120.006 ||
	fail "right grid: best BPM not within 0.005 % of 120"
within "$(field best_phase_ms)" -3 3 || fail "right grid: phase > 3 ms"
within "$(field sharpness)" 10 1000 || fail "right grid: not sharp"
check --env broad --bpm 120 --first-beat 0.3
[ "$(field verdict)" = steady-right ] || fail "broadband: not steady-right"
within "$(field median_offset_ms)" -3 3 || fail "broadband: offset > 3 ms"

# 0.05 % fast and slow: the offsets drift by 30 ms per minute.
check --bpm 120.06 --first-beat 0.3
[ "$(field verdict)" = drifting ] || fail "120.06: not drifting"
within "$(field drift_ms_per_min)" 27 33 || fail "120.06: drift not +30"
within "$(field best_bpm)" 119.994 120.006 ||
	fail "120.06: best BPM not within 0.005 % of 120"
within "$(field best_diff_pct)" -0.055 -0.045 || fail "120.06: diff not -0.05 %"
check --bpm 119.94 --first-beat 0.3
[ "$(field verdict)" = drifting ] || fail "119.94: not drifting"
within "$(field drift_ms_per_min)" -33 -27 || fail "119.94: drift not -30"
within "$(field best_bpm)" 119.994 120.006 ||
	fail "119.94: best BPM not within 0.005 % of 120"

# first_beat on the off-beat (a quarter second, half a beat, late).
check --bpm 120 --first-beat 0.55
[ "$(field verdict)" = off-beat ] || fail "off-beat grid: not off-beat"
[ "$(field grid)" = half-beat ] || fail "off-beat grid: not half-beat"
[ "$(field right_windows)" = 0 ] || fail "off-beat grid: right windows"

# The breakbeat. Each voice is one bar (2 s) of its own, mixed unscaled.
sox -V1 -n -r 44100 -c 1 "$W/kick.wav" synth 0.15 sine 150:50 \
	fade t 0.001 0.15 0.14 || exit 99
sox -V1 -n -r 44100 -c 1 "$W/snare.wav" synth 0.12 whitenoise \
	highpass 200 lowpass 6000 fade 0 0.12 0.11 || exit 99
sox -V1 -n -r 44100 -c 1 "$W/hh.wav" synth 0.02 whitenoise \
	highpass 7000 fade 0 0.02 0.018 vol 0.3 pad 0 0.23 repeat 7 || exit 99
sox -V1 "$W/snare.wav" "$W/sn.wav" pad 0.5 0.38 repeat 1 || exit 99
sox -V1 "$W/kick.wav" "$W/ke.wav" pad 0.125 0.725 repeat 1 || exit 99
sox -V1 "$W/kick.wav" "$W/ka.wav" pad 0.75 1.1 || exit 99
sox -V1 -m -v 1 "$W/hh.wav" -v 1 "$W/sn.wav" -v 1 "$W/ke.wav" \
	-v 1 "$W/ka.wav" "$W/bar.wav" || exit 99
sox -V1 "$W/bar.wav" "$W/break.wav" repeat 89 pad 0.3 0 || exit 99
rm -f "$W/kick.wav" "$W/snare.wav" "$W/hh.wav" "$W/sn.wav" "$W/ke.wav" \
	"$W/ka.wav" "$W/bar.wav"

# breakbeat FIRST_BEAT: grid-check at 120 BPM on the breakbeat.
breakbeat() {
	"$GC" --bpm 120 --first-beat "$1" "$W/break.wav" >"$W/out" 2>&1 ||
		fail "exit $?: grid-check breakbeat at $1"
}
breakbeat 0.3
[ "$(field verdict)" = steady-right ] || fail "breakbeat: not steady-right"
[ "$(field env)" = pattern ] || fail "breakbeat: pattern not used"
within "$(field median_offset_ms)" -5 5 || fail "breakbeat: offset > 5 ms"
within "$(field best_phase_ms)" -5 5 || fail "breakbeat: phase > 5 ms"
# The kick alone says a sixteenth (125 ms) late: what the pattern corrects.
within "$(field kick_median_offset_ms)" 100 150 ||
	fail "breakbeat: kick not a sixteenth after the beat"
breakbeat 0.425
[ "$(field verdict)" = steady-offset ] ||
	fail "breakbeat, grid a quarter beat late: not steady-offset"
within "$(field median_offset_ms)" -130 -120 ||
	fail "breakbeat, grid a quarter beat late: offset not -125 ms"
breakbeat 0.55
[ "$(field verdict)" = off-beat ] ||
	fail "breakbeat, grid half a beat late: not off-beat"
[ "$(field right_windows)" = 0 ] ||
	fail "breakbeat, grid half a beat late: right windows"

# A minute of noise has no beat.
sox -V1 -n -r 44100 -c 2 "$W/noise.wav" synth 60 whitenoise vol 0.3 ||
	exit 99
"$GC" --bpm 120 "$W/noise.wav" >"$W/out" 2>&1 || fail "noise: exit $?"
[ "$(field verdict)" = no-beat ] || fail "noise: not no-beat"

# JSON lines as foreverfm analyze --json prints them, with --summary; a
# track without a grid and one that does not decode are failures (exit 1).
printf 'not audio\n' > "$W/bad.mp3"
{
	printf '{"path":"%s","bpm":120.0,"first_beat":0.3,"bad":null}\n' \
		"$W/track.wav"
	printf '{"path":"%s","bpm":120.0,"first_beat":0.55}\n' "$W/track.wav"
	printf '{"path":"%s","bpm":0.0,"first_beat":0.0,"bad":"x"}\n' \
		"$W/noise.wav"
	printf '{"path":"%s","bpm":120.0,"first_beat":0.0}\n' "$W/bad.mp3"
} > "$W/in.json"
"$GC" --summary < "$W/in.json" >"$W/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "summary: exit $rc, not 1"
[ "$(grep -c '^track\.wav  *steady-right  *120\.0000' "$W/out")" -eq 1 ] ||
	fail "summary: no steady-right row"
[ "$(grep -c '^track\.wav  *off-beat ' "$W/out")" -eq 1 ] ||
	fail "summary: no off-beat row"
[ "$(grep -c '^noise\.wav  *failed ' "$W/out")" -eq 1 ] ||
	fail "summary: no failed row for the track without a grid"
grep -q '^bad\.mp3  *failed ' "$W/out" || fail "summary: bad.mp3 not failed"
grep -qx 'totals: 4 tracks, steady-right 1, off-beat 1, failed 2' \
	"$W/out" || fail "summary: wrong totals"

# Usage errors.
"$GC" --bpm 120 >"$W/out" 2>&1
[ $? -eq 2 ] || fail "--bpm without FILE: not exit 2"
"$GC" --bpm x "$W/track.wav" >"$W/out" 2>&1
[ $? -eq 2 ] || fail "--bpm x: not exit 2"

echo "grid-check: right, drifting (+-30 ms/min), off-beat, breakbeat" \
	"(right, quarter, half), no-beat, JSON ok"
exit 0
