#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# make-fixtures.sh DIR — generates the shared test music into DIR.
#
# Every test that needs audio uses these files (through test_fixtures() in
# tests/testutil.h), so their names and truths below are a contract: change
# one and bump FIXTURES_VERSION. DIR holds exactly these files and nothing
# else; the stamp and the lock live next to it (DIR.stamp, DIR.lock).
#
# Unless stated otherwise a tone is a sine at -12 dBFS (peak 0.251), the same
# on both channels, 44.1 kHz stereo; MP3s are 128 kbit/s CBR (LAME, with a
# Xing/LAME info frame, so decoders trim the encoder delay); Ogg files are
# Vorbis (libvorbis, q4). Tags: ID3v2.4 (UTF-8) unless stated otherwise.
#
#   good files                 truth
#   tone-440.mp3               20 s 440 Hz; artist "Tone Artist A", title "Four Forty"
#   tone-660.ogg               20 s 660 Hz; ARTIST "Tone Artist B", TITLE "Six Sixty"
#   tone-550.flac              15 s 550 Hz, 16 bit; ARTIST "Tone Artist C", TITLE "Five Fifty"
#   tone-330.wav               12 s 330 Hz, 16-bit PCM, no tags (display title "tone-330")
#   tone-880-48k-mono.mp3      15 s 880 Hz, 48 kHz mono; ID3v2.3 (UTF-16) artist
#                              "Mono Artist", title "Eight Eighty"
#   tone-770-22k.ogg           12 s 770 Hz, 22050 Hz stereo; ARTIST "Low Rate",
#                              TITLE "Seven Seventy"
#   unicode.ogg                10 s 495 Hz; ARTIST "Sigur Rós", TITLE
#                              "Café "Zitat" l'été — 日本語 🎵 - x" (UTF-8, byte-exact)
#   latin1-id3v1.mp3           10 s 605 Hz; only an ID3v1 tag, in Latin-1: artist
#                              "Björk" (42 6a f6 72 6b), title "Jóga" (4a f3 67 61)
#   notags.mp3                 10 s 385 Hz; no ID3 tag of any kind (display "notags")
#   huge-tag.mp3               10 s 715 Hz; ID3v2.3 (UTF-16) artist "Huge", title
#                              "é" (U+00E9) repeated 100 000 times (200 000 bytes
#                              UTF-8); a decoder keeping 255 bytes keeps 127 "é"
#   wrongext.mp3               Ogg Vorbis 10 s 935 Hz; ARTIST "Wrong", TITLE "Extension"
#   corrupt-middle.mp3         15 s 440 Hz, no tags; 8 KiB at the middle byte
#                              offset overwritten by (reproducible) noise; plays
#                              to about the full length
#   truncated.mp3              440 Hz, no tags; the first 32 000 bytes (2 s at
#                              128 kbit/s) of a 10 s MP3: plays about 2 s
#                              (its info frame still claims 10 s)
#   silence.ogg                10 s of digital silence; ARTIST "Silence", TITLE "Nothing"
#   one-second.mp3             1 s 1000 Hz, no tags (display "one-second")
#
#   bad files (must be rejected with a reason, never crash or hang)
#   truncated-header.ogg       the first 300 bytes of an Ogg Vorbis file
#   zero.mp3                   empty
#   noise.mp3                  64 KiB of (reproducible) white noise bytes
#   text.ogg                   a text file
#
# Idempotent and safe to run from several tests at once: one process holds
# the lock directory and generates into DIR.work, then renames it to DIR and
# writes the stamp; the others wait for the lock and find the stamp.
set -eu

FIXTURES_VERSION=1

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=${1%/}
stamp="$dir.stamp"
lock="$dir.lock"
work="$dir.work"

for tool in sox ffmpeg dd head; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "make-fixtures: $tool not found" >&2
		exit 1
	fi
done

fresh() {
	[ -f "$stamp" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$FIXTURES_VERSION" ] &&
		[ -d "$dir" ]
}

# Fast path without the lock: a complete set never changes under us.
if fresh; then
	exit 0
fi

mkdir -p "$(dirname "$dir")"

# Take the lock. A holder that died (killed test run) leaves its pid behind;
# such a stale lock is removed and the race for mkdir starts again.
waited=0
until mkdir "$lock" 2>/dev/null; do
	holder=$(cat "$lock/pid" 2>/dev/null || true)
	if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
		rm -rf "$lock"
		continue
	fi
	if [ "$waited" -ge 300 ]; then
		echo "make-fixtures: $lock held for 300 s; remove it if stale" >&2
		exit 1
	fi
	sleep 1
	waited=$((waited + 1))
done
echo $$ >"$lock/pid"
trap 'rm -rf "$work" "$lock"' EXIT
trap 'exit 1' HUP INT TERM

if fresh; then
	exit 0
fi

rm -f "$stamp"
rm -rf "$dir" "$work"
mkdir "$work"
tmp="$work/.tmp"
mkdir "$tmp"

# tone FILE.wav SECONDS FREQ_HZ [RATE_HZ [CHANNELS]] — 16-bit WAV sine at -12 dBFS.
tone() {
	sox -R -n -r "${4:-44100}" -c "${5:-2}" -b 16 "$1" \
		synth "$2" sine "$3" gain -12
}

# ff INPUT OUTPUT ARGS... — encode with ffmpeg, reproducibly and quietly.
ff() {
	in=$1
	out=$2
	shift 2
	ffmpeg -nostdin -hide_banner -loglevel error -y -i "$in" \
		-fflags +bitexact -flags:a +bitexact "$@" "$out"
}

mp3() { # IN OUT [ffmpeg args] — 128k CBR MP3, no tags unless given.
	in=$1
	out=$2
	shift 2
	ff "$in" "$out" -map_metadata -1 -c:a libmp3lame -b:a 128k "$@"
}

ogg() { # IN OUT [ffmpeg args] — Vorbis q4.
	in=$1
	out=$2
	shift 2
	ff "$in" "$out" -map_metadata -1 -c:a libvorbis -q:a 4 "$@"
}

tone "$tmp/440-20.wav" 20 440
mp3 "$tmp/440-20.wav" "$work/tone-440.mp3" -id3v2_version 4 \
	-metadata artist="Tone Artist A" -metadata title="Four Forty"

tone "$tmp/660.wav" 20 660
ogg "$tmp/660.wav" "$work/tone-660.ogg" \
	-metadata ARTIST="Tone Artist B" -metadata TITLE="Six Sixty"

tone "$tmp/550.wav" 15 550
ff "$tmp/550.wav" "$work/tone-550.flac" -map_metadata -1 -c:a flac \
	-metadata ARTIST="Tone Artist C" -metadata TITLE="Five Fifty"

tone "$work/tone-330.wav" 12 330

tone "$tmp/880.wav" 15 880 48000 1
mp3 "$tmp/880.wav" "$work/tone-880-48k-mono.mp3" -id3v2_version 3 \
	-metadata artist="Mono Artist" -metadata title="Eight Eighty"

tone "$tmp/770.wav" 12 770 22050
ogg "$tmp/770.wav" "$work/tone-770-22k.ogg" \
	-metadata ARTIST="Low Rate" -metadata TITLE="Seven Seventy"

tone "$tmp/495.wav" 10 495
ogg "$tmp/495.wav" "$work/unicode.ogg" -metadata ARTIST="Sigur Rós" \
	-metadata TITLE="Café \"Zitat\" l'été — 日本語 🎵 - x"

# ID3v1: "TAG", title[30], artist[30], album[30], year[4], comment[30],
# genre[1], NUL-padded; ö = \366 and ó = \363 in Latin-1.
tone "$tmp/605.wav" 10 605
mp3 "$tmp/605.wav" "$work/latin1-id3v1.mp3" -id3v2_version 0 -write_id3v1 0
{
	printf 'TAG'
	printf 'J\363ga'
	head -c 26 /dev/zero
	printf 'Bj\366rk'
	head -c 25 /dev/zero
	head -c 30 /dev/zero
	printf '2001'
	head -c 30 /dev/zero
	printf '\377'
} >>"$work/latin1-id3v1.mp3"

tone "$tmp/385.wav" 10 385
mp3 "$tmp/385.wav" "$work/notags.mp3" -id3v2_version 0 -write_id3v1 0

# The title goes through an ffmetadata file: 200 000 bytes is more than one
# command-line argument may hold. Doubling keeps it fast in any sh.
tone "$tmp/715.wav" 10 715
huge='é'
n=1
while [ "$n" -lt 65536 ]; do
	huge="$huge$huge"
	n=$((n * 2))
done
{
	printf ';FFMETADATA1\nartist=Huge\ntitle='
	printf '%s' "$huge"                   # 65536
	printf '%s' "$huge" | head -c 68928   # + 34464 = 100000 characters
	printf '\n'
} >"$tmp/huge.txt"
unset huge
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$tmp/715.wav" \
	-f ffmetadata -i "$tmp/huge.txt" -map 0:a -map_metadata 1 \
	-fflags +bitexact -flags:a +bitexact \
	-c:a libmp3lame -b:a 128k -id3v2_version 3 "$work/huge-tag.mp3"

tone "$tmp/935.wav" 10 935
ogg "$tmp/935.wav" "$work/wrongext.mp3" -f ogg \
	-metadata ARTIST="Wrong" -metadata TITLE="Extension"

# 8 KiB of seeded (sox -R) 8-bit white noise over the middle of the file.
tone "$tmp/440-15.wav" 15 440
mp3 "$tmp/440-15.wav" "$work/corrupt-middle.mp3" -id3v2_version 0 -write_id3v1 0
sox -R -n -t raw -r 8000 -e signed -b 8 -c 1 "$tmp/noise8k.raw" \
	synth 1.024 whitenoise
size=$(wc -c <"$work/corrupt-middle.mp3")
dd if="$tmp/noise8k.raw" of="$work/corrupt-middle.mp3" bs=1024 \
	seek=$((size / 2 / 1024)) conv=notrunc 2>/dev/null

tone "$tmp/440-10.wav" 10 440
mp3 "$tmp/440-10.wav" "$tmp/440-10.mp3" -id3v2_version 0 -write_id3v1 0
head -c 32000 "$tmp/440-10.mp3" >"$work/truncated.mp3"

head -c 300 "$work/tone-660.ogg" >"$work/truncated-header.ogg"

: >"$work/zero.mp3"

sox -R -n -t raw -r 8000 -e signed -b 8 -c 1 "$work/noise.mp3" \
	synth 8.192 whitenoise

cat >"$work/text.ogg" <<'EOF'
This is not an Ogg Vorbis file. It is plain text that happens to be named
.ogg, the kind of thing a music folder collects over the years:
  track list, lyrics, a README from a CD rip.
EOF

sox -R -n -r 44100 -c 2 -b 16 "$tmp/silence.wav" trim 0 10
ogg "$tmp/silence.wav" "$work/silence.ogg" \
	-metadata ARTIST="Silence" -metadata TITLE="Nothing"

tone "$tmp/1000.wav" 1 1000
mp3 "$tmp/1000.wav" "$work/one-second.mp3" -id3v2_version 0 -write_id3v1 0

rm -rf "$tmp"
mv "$work" "$dir"
echo "$FIXTURES_VERSION" >"$stamp"
