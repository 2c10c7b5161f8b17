#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# make-demo-library.sh DIR [COUNT] [SECONDS] — writes COUNT (default 8)
# synthetic dance tracks of SECONDS (default 180) into DIR: four-on-the-floor
# kick, off-beat hats, a bass line and a chord pad, each track at its own
# tempo (116–132 BPM) and key, tagged "foreverfm demo - <name> (<bpm> BPM,
# <key>)", half MP3 and half Ogg Vorbis. Good enough to hear the mixing, and
# the ground truth (tempo, key) is in the title. Needs sox and ffmpeg.
# Existing files at least SECONDS long are kept, so a second run is
# instant; shorter ones (an older, shorter demo) are made again.
set -eu
dir=$1
count=${2:-8}
seconds=${3:-180}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name bpm root-note-hz key-name
tracks="Aurora 120 110.00 A_minor
Beacon 124 130.81 C_major
Cascade 128 98.00 G_major
Drift 122 146.83 D_minor
Ember 126 123.47 B_minor
Fathom 118 87.31 F_major
Glacier 130 116.54 Bb_major
Harbor 132 103.83 Ab_minor
Isle 125 138.59 C#_minor
Juniper 121 92.50 F#_major
Kestrel 127 155.56 Eb_major
Lumen 123 82.41 E_minor"

i=0
echo "$tracks" | while read -r name bpm root key; do
	i=$((i + 1))
	[ "$i" -le "$count" ] || break
	ext=mp3
	[ $((i % 2)) -eq 0 ] && ext=ogg
	out="$dir/$(printf '%02d' "$i")-$name.$ext"
	if [ -s "$out" ]; then
		have=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out" 2>/dev/null || echo 0)
		awk -v h="$have" -v s="$seconds" 'BEGIN { exit !(h + 1 >= s) }' && continue
	fi
	beat=$(awk -v b="$bpm" 'BEGIN { printf "%.6f", 60 / b }')
	half=$(awk -v b="$beat" 'BEGIN { printf "%.6f", b / 2 }')
	bar=$(awk -v b="$beat" 'BEGIN { printf "%.6f", 4 * b }')
	bars=$(awk -v s="$seconds" -v b="$bar" 'BEGIN { printf "%d", s / b }')
	minor=0
	case "$key" in *minor) minor=1 ;; esac
	third=$(awk -v r="$root" -v m="$minor" 'BEGIN { printf "%.2f", r * (m ? 1.18921 : 1.25992) * 2 }')
	fifth=$(awk -v r="$root" 'BEGIN { printf "%.2f", r * 1.49831 * 2 }')
	rootup=$(awk -v r="$root" 'BEGIN { printf "%.2f", r * 2 }')
	# One beat: a kick (pitch sweep) then an off-beat hat (filtered noise).
	sox -q -n -r 44100 -c 1 "$tmp/kick.wav" synth 0.18 sine 120:45 fade q 0.002 0.18 0.12 pad 0 "$(awk -v b="$half" 'BEGIN { print b - 0.18 }')"
	sox -q -n -r 44100 -c 1 "$tmp/hat.wav" synth 0.05 whitenoise gain -14 highpass 6000 fade q 0.001 0.05 0.04 pad 0 "$(awk -v b="$half" 'BEGIN { print b - 0.05 }')"
	sox -q "$tmp/kick.wav" "$tmp/hat.wav" "$tmp/beat.wav"
	# One bar of drums, bass on the off-beats, and a chord pad over it.
	sox -q "$tmp/beat.wav" "$tmp/beat.wav" "$tmp/beat.wav" "$tmp/beat.wav" "$tmp/drums.wav"
	sox -q -n -r 44100 -c 1 "$tmp/bassnote.wav" synth "$(awk -v b="$half" 'BEGIN { print b * 0.8 }')" sawtooth "$root" lowpass 400 fade q 0.005 0 0.05 gain -10 pad "$half" "$(awk -v b="$half" 'BEGIN { print b * 0.2 }')"
	sox -q "$tmp/bassnote.wav" "$tmp/bassnote.wav" "$tmp/bassnote.wav" "$tmp/bassnote.wav" "$tmp/bass.wav"
	sox -q -n -r 44100 -c 1 "$tmp/pad.wav" synth "$bar" sine "$rootup" sine "$third" sine "$fifth" gain -22 fade q 0.05 "$bar" 0.05
	sox -q -m "$tmp/drums.wav" "$tmp/bass.wav" "$tmp/pad.wav" "$tmp/barmix.wav"
	sox -q "$tmp/barmix.wav" -c 2 "$tmp/song.wav" repeat "$((bars - 1))" gain -n -3
	title="$name ($bpm BPM, $(echo "$key" | tr _ ' '))"
	case "$ext" in
	mp3) codec="-c:a libmp3lame -b:a 192k -id3v2_version 3" ;;
	ogg) codec="-c:a libvorbis -q:a 5" ;;
	esac
	# Written aside and renamed, so an interrupted run never leaves a
	# half file that a later run would keep.
	ffmpeg -nostdin -loglevel error -y -i "$tmp/song.wav" $codec \
		-metadata artist="foreverfm demo" -metadata title="$title" \
		"$tmp/out.$ext"
	mv "$tmp/out.$ext" "$out"
	echo "made $out"
done
