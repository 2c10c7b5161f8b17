#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_deck_align — bench/deck-align, the beat-alignment measure of
# doc/transitions.md ("Checking a mix from its audio"), on a render whose
# truth is known: two click tracks (120 and 126 BPM, tests/lib.sh) mixed by
# `foreverfm render --decks --transitions-log`, whose beats coincide to
# well under a millisecond (tests/test_beatmatch).
# - As rendered: every beatmatched transition not cut by the end has a
#   beat on both decks, a lag within 2 ms and a strong correlation; the
#   summary counts them all within 20 ms.
# - Channels 3-4 delayed by 10 ms, then by 30 ms (sox): the lag is that,
#   within 2 ms, with its sign: B late where A is on 1-2 (even
#   transitions), early where it is on 3-4 (odd ones).
# - Channels 3-4 replaced by a steady tone: that deck carries no beat, the
#   correlation is weak, and the summary leaves those transitions out.
# - Usage errors exit 2; a file that is not a decks file exits 1.
#
# Exit: 0 pass, 1 fail, 77 skip (no sox), 99 could not run.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
ALIGN="$top_builddir/bench/deck-align"
[ -x "$FOREVERFM" ] || { echo "no $FOREVERFM" >&2; exit 99; }
[ -x "$ALIGN" ] || { echo "no $ALIGN" >&2; exit 99; }
need_tools sox bc awk

work_setup deckalign

fail() {
	echo "FAIL: $*" >&2
	for f in "$WORK/render.log" "$WORK/align.txt"; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
	done
	exit 1
}

mkdir "$WORK/music" || exit 99
clicktrack "$WORK/music/click-120.wav" 120 100
clicktrack "$WORK/music/click-126.wav" 126 100
seconds=260
"$FOREVERFM" render -o "$WORK/mix.wav" -d $seconds --seed 2 \
	--transitions-log "$WORK/t.jsonl" --decks "$WORK/decks.wav" \
	"$WORK/music" 2>"$WORK/render.log" || fail "render exited $?"

# align FILE: deck-align's table into $WORK/align.txt.
align() {
	"$ALIGN" "$1" "$WORK/t.jsonl" >"$WORK/align.txt" 2>&1 ||
		fail "deck-align $1 exited $?"
}

# check_rows WANT_LAG TOL: every beatmatched, uncut row has a beat on both
# decks and lag WANT_LAG (negated on odd rows) within TOL ms, strength
# above 0.4; prints how many rows it checked.
check_rows() {
	awk -v want="$1" -v tol="$2" '
	$1 ~ /^[0-9]+$/ && $2 == "beatmatched" && !/cut|no overlap/ {
		w = ($1 % 2) ? -want : want
		d = $5 - w; if (d < 0) d = -d
		if ($9 != "both" || d > tol || $6 < 0.4) {
			print "bad row: " $0 > "/dev/stderr"; bad = 1
		}
		n++
	}
	END { print n + 0; exit bad }' "$WORK/align.txt"
}

align "$WORK/decks.wav"
n=$(check_rows 0 2) || fail "as rendered: a lag over 2 ms"
[ "$n" -ge 3 ] || fail "only $n beatmatched transitions measured"
grep -q "^summary: .* measured=$n .*within_20ms=$n within_20ms_pct=100.0" \
	"$WORK/align.txt" || fail "summary: $(grep '^summary:' "$WORK/align.txt")"
awk '$1 ~ /^[0-9]+$/ && $2 == "beatmatched"' "$WORK/align.txt" >&2

for ms in 10 30; do
	s=$(echo "$ms / 1000" | bc -l)
	sox -V1 "$WORK/decks.wav" "$WORK/shifted.wav" delay 0 0 "$s" "$s" \
		trim 0 $seconds || exit 99
	align "$WORK/shifted.wav"
	n2=$(check_rows "$ms" 2) || fail "shifted by $ms ms: not measured so"
	[ "$n2" -eq "$n" ] || fail "shifted by $ms ms: $n2 rows, not $n"
	echo "shifted by $ms ms:" >&2
	awk '$1 ~ /^[0-9]+$/ && $2 == "beatmatched"' "$WORK/align.txt" >&2
done
grep -q "within_20ms=0 " "$WORK/align.txt" ||
	fail "30 ms off counted within 20 ms: $(grep '^summary:' "$WORK/align.txt")"

# A deck without a beat: A's pair as rendered, B's a steady tone.
sox -V1 "$WORK/decks.wav" "$WORK/a.wav" remix 1 2 || exit 99
sox -V1 -n -r 44100 -c 2 -e floating-point -b 32 "$WORK/tone.wav" \
	synth $seconds sine 220 vol 0.1 || exit 99
sox -V1 -M "$WORK/a.wav" "$WORK/tone.wav" "$WORK/toned.wav" || exit 99
align "$WORK/toned.wav"
awk '$1 ~ /^[0-9]+$/ && $2 == "beatmatched" && !/cut|no overlap/ {
	want = ($1 % 2) ? "B only" : "A only"
	if (index($0, want) == 0 || $6 > 0.2) {
		print "bad row: " $0 > "/dev/stderr"; bad = 1
	}
}
END { exit bad }' "$WORK/align.txt" || fail "a tone deck taken for a beat"
grep -q "^summary: .* measured=0 " "$WORK/align.txt" ||
	fail "tone deck summarised: $(grep '^summary:' "$WORK/align.txt")"

"$ALIGN" >/dev/null 2>&1
[ $? -eq 2 ] || fail "deck-align without arguments: not exit 2"
"$ALIGN" --beat-threshold 2 "$WORK/decks.wav" "$WORK/t.jsonl" >/dev/null 2>&1
[ $? -eq 2 ] || fail "deck-align --beat-threshold 2: not exit 2"
"$ALIGN" "$WORK/mix.wav" "$WORK/t.jsonl" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] || fail "deck-align on the stereo mix: not exit 1"
grep -q '2 channels' "$WORK/err" || fail "deck-align on the mix: $(cat "$WORK/err")"
printf '{"kind":"beatmatched"}\n' >"$WORK/bad.jsonl"
"$ALIGN" "$WORK/decks.wav" "$WORK/bad.jsonl" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] || fail "deck-align on a bad log: not exit 1"
grep -q 'bad.jsonl:1: not a transition' "$WORK/err" ||
	fail "deck-align on a bad log: $(cat "$WORK/err")"

echo "PASS: test_deck_align"
exit 0
