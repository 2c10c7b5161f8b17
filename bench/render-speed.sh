#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/render-speed.sh [MUSIC_DIR] — how fast `foreverfm render` mixes and
# encodes, next to the floor: ffmpeg + libmp3lame encoding the same PCM
# alone (no decoding, no mixing), at the same bitrate (128 kbps) and LAME
# quality.
#
# The default library is the demo library's 8 dance tracks of 4 minutes
# (contrib/make-demo-library.sh), so that transitions take the share of
# the time they take in real sets. The render's catalog is a file: the
# first render (to WAV: the PCM the floor encodes) analyses the library,
# and its analysis time is printed; the timed renders find the analysis
# cached, as the station does after its first pass. Then RUNS times
# (default 3) alternately: foreverfm render to MP3 with beatmatching,
# foreverfm render to MP3 with plain crossfades (`[mix] beatmatch = no`: the
# difference is the cost of time-stretching, filters and planning), and
# ffmpeg encoding the WAV to MP3. Prints each side's median wall time as x
# real time and the ratio foreverfm / floor (target >= 0.7).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
FOREVERFM=${FOREVERFM:-$top/build/foreverfm}
DURATION=${DURATION:-3600}
RUNS=${RUNS:-3}
# Must match encode_mp3.c's lame_set_quality() so the floor does the same work.
LAME_QUALITY=${LAME_QUALITY:-7}
[ -x "$FOREVERFM" ] || { echo "build foreverfm first (or set FOREVERFM)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
music=${1:-$work/music}
[ -n "${1:-}" ] || sh "$top/contrib/make-demo-library.sh" "$music" 8 240 >/dev/null

config() { # config FILE BEATMATCH
	cat > "$1" <<CFG
[library]
path = $music
database = $work/catalog.db
[icecast]
password = unused-by-render
[output.mp3]
mount = /bench.mp3
format = mp3
bitrate = 128
[mix]
beatmatch = $2
CFG
}
config "$work/beat.ini" yes
config "$work/plain.ini" no

"$FOREVERFM" render -o "$work/mix.wav" -d "$DURATION" --seed 1 \
	-c "$work/beat.ini" 2> "$work/first.log" ||
	{ cat "$work/first.log"; exit 1; }
grep 'render: analysis:\|render: wrote' "$work/first.log" | sed 's/^<[0-9]>//'

now() { date +%s.%N; }
: > "$work/ff"; : > "$work/plain"; : > "$work/floor"
i=0
while [ "$i" -lt "$RUNS" ]; do
	t0=$(now)
	"$FOREVERFM" render -q -o "$work/mix.mp3" -d "$DURATION" --seed 1 \
		-c "$work/beat.ini"
	t1=$(now)
	"$FOREVERFM" render -q -o "$work/plain.mp3" -d "$DURATION" --seed 1 \
		-c "$work/plain.ini"
	t2=$(now)
	ffmpeg -nostdin -loglevel error -y -i "$work/mix.wav" -c:a libmp3lame \
		-b:a 128k -compression_level "$LAME_QUALITY" "$work/floor.mp3"
	t3=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' >> "$work/ff"
	awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }' >> "$work/plain"
	awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }' >> "$work/floor"
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -v s="$DURATION" -v ff="$(median "$work/ff")" -v fl="$(median "$work/floor")" \
    -v pl="$(median "$work/plain")" -v runs="$RUNS" 'BEGIN {
	printf "rendering %d s to MP3 128 kbps, median of %d runs each\n", s, runs
	printf "foreverfm render, beatmatched:        %7.2f s  %6.1fx real time\n", ff, s / ff
	printf "foreverfm render, plain crossfades:   %7.2f s  %6.1fx real time\n", pl, s / pl
	printf "floor (ffmpeg+libmp3lame, PCM only):  %7.2f s  %6.1fx real time\n", fl, s / fl
	printf "ratio foreverfm / floor: %.2f beatmatched, %.2f plain (target >= 0.7)\n", (s / ff) / (s / fl), (s / pl) / (s / fl)
}'
