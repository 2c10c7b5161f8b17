#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/render-speed.sh [MUSIC_DIR] — how fast `foreverfm render` mixes and
# encodes, next to the floor: ffmpeg + libmp3lame encoding the same PCM
# alone (no decoding, no mixing), at the same bitrate and LAME quality.
#
# Renders DURATION seconds (default 3600) of the library to WAV once (the PCM the
# floor encodes), then RUNS times (default 3) alternately: foreverfm render
# to MP3, and ffmpeg encoding that WAV to MP3. Prints each side's median wall
# time as × real time and the ratio foreverfm / floor (target >= 0.7).
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
[ -n "${1:-}" ] || sh "$top/contrib/make-demo-library.sh" "$music" 8 75 >/dev/null

"$FOREVERFM" render -q -o "$work/mix.wav" -d "$DURATION" --seed 1 "$music"

now() { date +%s.%N; }
: > "$work/ff"; : > "$work/floor"
i=0
while [ "$i" -lt "$RUNS" ]; do
	t0=$(now)
	"$FOREVERFM" render -q -o "$work/mix.mp3" -d "$DURATION" --seed 1 "$music"
	t1=$(now)
	ffmpeg -nostdin -loglevel error -y -i "$work/mix.wav" -c:a libmp3lame \
		-b:a 128k -compression_level "$LAME_QUALITY" "$work/floor.mp3"
	t2=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' >> "$work/ff"
	awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }' >> "$work/floor"
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -v s="$DURATION" -v ff="$(median "$work/ff")" -v fl="$(median "$work/floor")" \
    -v runs="$RUNS" 'BEGIN {
	printf "rendering %d s to MP3 128 kbps, median of %d runs each\n", s, runs
	printf "foreverfm render (decode+mix+encode): %7.2f s  %6.1fx real time\n", ff, s / ff
	printf "floor (ffmpeg+libmp3lame, PCM only):  %7.2f s  %6.1fx real time\n", fl, s / fl
	printf "ratio foreverfm / floor: %.2f (target >= 0.7)\n", (s / ff) / (s / fl)
}'
