#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# make-analysis-fixtures.sh DIR — generates the analyzer's test files into
# DIR with sox (and ffmpeg for MP3). Truths (first beat = first click):
#
#   clicks-128.mp3         30 s, 128 BPM, stereo 44.1 kHz, first click 0.500 s,
#                          every 4th click (from the first) accented: 2 kHz, louder
#   clicks-140.ogg         30 s, 140 BPM, stereo, first click 0.300 s, accents as above
#   clicks-100-mono-8k.wav 25 s, 100 BPM, mono 8 kHz, first click 0.250 s
#   one-second.mp3         1 s, two clicks: no tempo
#   silence.ogg            10 s of digital silence
#   pink-noise.mp3         10 s of pink noise: no tempo, no key
#
# Idempotent: does nothing when DIR.stamp is newer than this script.
set -eu
dir=$1
[ -f "$dir.stamp" ] && [ "$dir.stamp" -nt "$0" ] && exit 0
work="$dir.work.$$"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# clicktrack OUT BPM SECONDS LEAD RATE CHANNELS
clicktrack() {
	out=$1 bpm=$2 secs=$3 lead=$4 rate=$5 ch=$6
	per=$(echo "60 / $bpm" | bc -l)
	rest=$(echo "$per - 0.03" | bc -l)
	sox -V1 -n -r "$rate" -c "$ch" "$work/n.wav" synth 0.03 sine 1000 \
		fade 0 0.03 0.025 vol 0.3 pad 0 "$rest"
	sox -V1 -n -r "$rate" -c "$ch" "$work/a.wav" synth 0.03 sine 2000 \
		fade 0 0.03 0.025 vol 0.6 pad 0 "$rest"
	sox -V1 "$work/a.wav" "$work/n.wav" "$work/n.wav" "$work/n.wav" "$work/bar.wav"
	bars=$(echo "$secs / (4 * $per) + 1" | bc)
	sox -V1 "$work/bar.wav" "$work/bars.wav" repeat "$bars"
	sox -V1 "$work/bars.wav" "$out" pad "$lead" 0 trim 0 "$secs"
}

clicktrack "$work/c128.wav" 128 30 0.5 44100 2
ffmpeg -loglevel error -y -i "$work/c128.wav" -c:a libmp3lame -b:a 192k \
	"$work/clicks-128.mp3"
clicktrack "$work/clicks-140.ogg" 140 30 0.3 44100 2
clicktrack "$work/clicks-100-mono-8k.wav" 100 25 0.25 8000 1
clicktrack "$work/one.wav" 120 1 0.1 44100 2
ffmpeg -loglevel error -y -i "$work/one.wav" -c:a libmp3lame -b:a 128k \
	"$work/one-second.mp3"
sox -n -r 44100 -c 2 "$work/silence.ogg" trim 0 10
sox -V1 -R -n -r 44100 -c 2 "$work/pink.wav" synth 10 pinknoise vol 0.3
ffmpeg -loglevel error -y -i "$work/pink.wav" -c:a libmp3lame -b:a 128k \
	"$work/pink-noise.mp3"

for f in n a bar bars c128 one pink; do rm -f "$work/$f.wav"; done
rm -rf "$dir"
mkdir -p "$dir"
mv "$work"/* "$dir"/
touch "$dir.stamp"
