#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_deck_align — bench/deck-align, the beat-alignment measure of
# doc/transitions.md ("Checking a mix from its audio"), on decks whose
# truth is known:
# - A render: two click tracks (120 and 126 BPM, tests/lib.sh) mixed by
#   `foreverfm render --decks --transitions-log`, whose beats coincide to
#   well under a millisecond (tests/test_beatmatch). As rendered every
#   beatmatched transition not cut by the end is decided, with a lag
#   within 2 ms; the summary counts them all within 20 ms. Channels 3-4
#   delayed by 10, then 30 ms (sox): the lag is that, within 2 ms, with its
#   sign: B late where A is on 1-2 (even transitions), early where it is
#   on 3-4 (odd ones). Channels 3-4 replaced by a steady tone: no peak, the
#   measure abstains and the summary leaves those transitions out.
# - Generated drums (sox): two decks of one pattern at 120 BPM played by
#   different kits, B delayed by 0, 10, 55 and 115 ms (all inside the
#   search, 45% of a 500 ms beat: 225 ms) in two patterns: (i) four on the
#   floor with the hats louder than the kick (peaks 18 dB, RMS 13 dB
#   above), (ii) a syncopated kick
#   (on the "e" of beats 1 and 3) with the snare on 2 and 4; both with
#   hats on the eighths, which alone would fit as well half a beat away.
#   Each lag is read back within 2 ms, the kick band's too.
# - A real recording (asc-music's "Machine Wars", 120 BPM, 40 s from
#   60 s in) on both decks, B's delayed by 0, 10, 55 and 115 ms: read back
#   within 2 ms.
# - None of those offsets is flagged "0 nearly as good" (the flag of a
#   reading beyond 20 ms whose correlation at 0 is within 10% of its
#   peak: decks on one grid of sixteenths whose accents differ).
# - A deck of pink noise against the recording: no peak, it abstains.
# - Usage errors exit 2; a file that is not a decks file exits 1.
#
# Exit: 0 pass, 1 fail, 77 skip (no sox, no asc-music), 99 could not run.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
ALIGN="$top_builddir/bench/deck-align"
SONGS=${ASC_MUSIC_DIR:-/usr/share/games/asc/music}
[ -x "$FOREVERFM" ] || { echo "no $FOREVERFM" >&2; exit 99; }
[ -x "$ALIGN" ] || { echo "no $ALIGN" >&2; exit 99; }
need_tools sox bc awk
[ -f "$SONGS/machine_wars.mp3" ] || {
	echo "SKIP: asc-music is not installed ($SONGS): apt-get install asc-music" >&2
	exit 77
}

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

# align FILE [LOG]: deck-align's table into $WORK/align.txt.
align() {
	"$ALIGN" "$1" "${2:-$WORK/t.jsonl}" >"$WORK/align.txt" 2>&1 ||
		fail "deck-align $1 exited $?"
}

# check_rows WANT_LAG TOL [KICK]: every beatmatched, uncut row is decided
# with lag WANT_LAG (negated on odd rows) within TOL ms and the kick band
# agreeing; with KICK, the kick band's lag within TOL too. Prints how
# many rows it checked.
check_rows() {
	awk -v want="$1" -v tol="$2" -v kick="${3:-}" '
	function off(x) { d = x - w; return d < 0 ? -d : d }
	$1 ~ /^[0-9]+$/ && $2 == "beatmatched" && !/cut|no overlap/ {
		w = ($1 % 2) ? -want : want
		if ($13 != "decided" || off($5) > tol || /kick disagrees/ ||
		    (kick != "" && ($9 == "-" || off($9) > tol))) {
			print "bad row: " $0 > "/dev/stderr"; bad = 1
		}
		n++
	}
	END { print n + 0; exit bad }' "$WORK/align.txt"
}

# rows: the beatmatched rows of the last table, to the log.
rows() {
	awk '$1 ~ /^[0-9]+$/ && $2 == "beatmatched"' "$WORK/align.txt" >&2
}

align "$WORK/decks.wav"
n=$(check_rows 0 2) || fail "as rendered: a lag over 2 ms"
[ "$n" -ge 3 ] || fail "only $n beatmatched transitions measured"
grep -q "^summary: .* measured=$n .*within_20ms=$n within_20ms_pct=100.0 .*kick_disagree=0 " \
	"$WORK/align.txt" || fail "summary: $(grep '^summary:' "$WORK/align.txt")"
rows

for ms in 10 30; do
	s=$(echo "$ms / 1000" | bc -l)
	sox -V1 "$WORK/decks.wav" "$WORK/shifted.wav" delay 0 0 "$s" "$s" \
		trim 0 $seconds || exit 99
	align "$WORK/shifted.wav"
	n2=$(check_rows "$ms" 2) || fail "shifted by $ms ms: not measured so"
	[ "$n2" -eq "$n" ] || fail "shifted by $ms ms: $n2 rows, not $n"
	echo "shifted by $ms ms:" >&2
	rows
done
grep -q "within_20ms=0 " "$WORK/align.txt" ||
	fail "30 ms off counted within 20 ms: $(grep '^summary:' "$WORK/align.txt")"

# A deck without a beat: A's pair as rendered, B's a steady tone.
sox -V1 "$WORK/decks.wav" "$WORK/a.wav" remix 1 2 || exit 99
sox -V1 -n -r 44100 -c 2 -e floating-point -b 32 "$WORK/tone.wav" \
	synth $seconds sine 220 vol 0.1 || exit 99
sox -V1 -M "$WORK/a.wav" "$WORK/tone.wav" "$WORK/toned.wav" || exit 99
align "$WORK/toned.wav"
awk '$1 ~ /^[0-9]+$/ && $2 == "beatmatched" && !/cut|no overlap/ &&
     $13 != "abstains" { print "bad row: " $0 > "/dev/stderr"; bad = 1 }
END { exit bad }' "$WORK/align.txt" || fail "a tone deck judged"
grep -q "^summary: .* measured=0 " "$WORK/align.txt" ||
	fail "tone deck summarised: $(grep '^summary:' "$WORK/align.txt")"
rm -f "$WORK"/*.wav

# drums OUT STYLE KICK_VOL KIT: 40 s of a one-bar drum pattern at 120 BPM,
# stereo 44.1 kHz: STYLE "four" (kick on every beat) or "synco" (on the
# "e" of beats 1 and 3), snare on 2 and 4, hats on the eighths at 0.8;
# KIT 0 or 1 picks the kick's pitch and the hats' colour, so that the two
# decks are different sounds.
drums() {
	out=$1 style=$2 kv=$3 kit=$4 beat=0.5
	sox -V1 -n -r 44100 -c 2 "$WORK/k.wav" synth 0.15 \
		sine $((90 + 15 * kit))-40 fade 0 0.15 0.13 vol "$kv" || exit 99
	sox -V1 -n -r 44100 -c 2 "$WORK/h.wav" synth 0.05 whitenoise \
		highpass $((6000 + 1500 * kit)) fade 0 0.05 0.045 vol 0.8 || exit 99
	sox -V1 -n -r 44100 -c 2 "$WORK/s.wav" synth 0.12 whitenoise \
		bandpass 1800 800 fade 0 0.12 0.11 vol 0.5 || exit 99
	case $style in
	four) kicks="0 1 2 3" ;;
	synco) kicks="0.25 2.25" ;;
	esac
	hits=""
	i=0
	for hit in $(for b in $kicks; do echo "k:$b"; done) s:1 s:3 \
		h:0 h:0.5 h:1 h:1.5 h:2 h:2.5 h:3 h:3.5; do
		sox -V1 "$WORK/${hit%%:*}.wav" "$WORK/p$i.wav" \
			pad "$(echo "${hit#*:} * $beat" | bc -l)" 0 || exit 99
		hits="$hits $WORK/p$i.wav"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086 # one file per hit
	sox -V1 -m $hits "$WORK/barx.wav" || exit 99
	sox -V1 "$WORK/barx.wav" "$WORK/bar.wav" pad 0 1 trim 0 2 || exit 99
	sox -V1 "$WORK/bar.wav" "$out" repeat 20 trim 0 40 || exit 99
	rm -f "$WORK"/p*.wav "$WORK/barx.wav" "$WORK/bar.wav"
}

# The log of one beatmatched transition over [4 s, 36 s] of a 40 s decks
# file, as render writes it (the fields deck-align reads).
printf '{"position_s":4.0,"marker_s":20.0,"kind":"beatmatched","reason":"generated","bpm_from":120.0,"bpm_to":120.0,"duration_s":32.0}\n' \
	>"$WORK/one.jsonl"

# shifted A B NAME [KICK]: the decks A (channels 1-2) and B (3-4), B
# delayed by 0, 10, 55 and 115 ms, each read back within 2 ms.
shifted() {
	for ms in 0 10 55 115; do
		s=$(echo "$ms / 1000" | bc -l)
		sox -V1 "$2" "$WORK/late.wav" delay "$s" "$s" trim 0 40 || exit 99
		sox -V1 -M "$1" "$WORK/late.wav" "$WORK/d.wav" || exit 99
		align "$WORK/d.wav" "$WORK/one.jsonl"
		check_rows "$ms" 2 ${4:+kick} >/dev/null ||
			fail "$3, B $ms ms late: not read back"
		# A deck really late is not taken for one whose accents
		# differ: 0 does not read nearly as well.
		! grep -q "0 nearly as good" "$WORK/align.txt" ||
			fail "$3, B $ms ms late: flagged as nearly as good at 0"
		echo "$3, B $ms ms late:" >&2
		rows
	done
}

drums "$WORK/a.wav" four 0.1 0
drums "$WORK/b.wav" four 0.1 1
shifted "$WORK/a.wav" "$WORK/b.wav" "hats over the kick" kick
drums "$WORK/a.wav" synco 0.5 0
drums "$WORK/b.wav" synco 0.5 1
shifted "$WORK/a.wav" "$WORK/b.wav" "syncopated kick" kick

sox -V1 "$SONGS/machine_wars.mp3" -r 44100 -c 2 "$WORK/song.wav" \
	trim 60 40 || exit 99
shifted "$WORK/song.wav" "$WORK/song.wav" "Machine Wars"

sox -V1 -n -r 44100 -c 2 "$WORK/noise.wav" synth 40 pinknoise vol 0.3 ||
	exit 99
sox -V1 -M "$WORK/song.wav" "$WORK/noise.wav" "$WORK/d.wav" || exit 99
align "$WORK/d.wav" "$WORK/one.jsonl"
grep -q "^summary: .* measured=0 " "$WORK/align.txt" ||
	fail "noise against music judged: $(rows 2>&1)"

"$ALIGN" >/dev/null 2>&1
[ $? -eq 2 ] || fail "deck-align without arguments: not exit 2"
"$ALIGN" --beat-threshold 2 "$WORK/d.wav" "$WORK/one.jsonl" >/dev/null 2>&1
[ $? -eq 2 ] || fail "deck-align --beat-threshold 2: not exit 2"
"$ALIGN" "$WORK/song.wav" "$WORK/one.jsonl" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] || fail "deck-align on a stereo file: not exit 1"
grep -q '2 channels' "$WORK/err" || fail "deck-align on stereo: $(cat "$WORK/err")"
printf '{"kind":"beatmatched"}\n' >"$WORK/bad.jsonl"
"$ALIGN" "$WORK/d.wav" "$WORK/bad.jsonl" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] || fail "deck-align on a bad log: not exit 1"
grep -q 'bad.jsonl:1: not a transition' "$WORK/err" ||
	fail "deck-align on a bad log: $(cat "$WORK/err")"

echo "PASS: test_deck_align"
exit 0
