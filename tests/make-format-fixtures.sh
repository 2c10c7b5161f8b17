#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# make-format-fixtures.sh DIR — generates, into the (existing, empty) DIR,
# one file of each format FFmpeg decodes for foreverfm, plus covers on the
# formats the other decoders read. Called by tests/test_decode.c, which
# holds the truths below; made per test run (a few seconds), not shared.
#
# A tone is a sine at -12 dBFS (peak 0.251), the same on every channel.
#
#   file                       truth
#   tone-440.m4a               10 s 440 Hz 44.1 kHz stereo, AAC 128k in MP4, a PNG
#                              cover (attached picture); artist "Sigur Rós", title
#                              "Café — 日本語 🎵", album "Ágætis byrjun"
#   alac-550-48k-mono.m4a      8 s 550 Hz 48 kHz mono, ALAC in MP4; artist "Alac
#                              Artist", title "Five Fifty Lossless", album "Lossless"
#   tone-660.opus              10 s 660 Hz, Ogg Opus (48 kHz); ARTIST "Opus
#                              Künstler", TITLE "Sechshundertsechzig", ALBUM "Ogg"
#   tone-385.aac               12 s 385 Hz, ADTS AAC, no tags
#   tone-495.wma               10 s 495 Hz, WMA v2 128k in ASF; artist "Wma Artist",
#                              title "Windows", album "Media"
#   tone-605-22k-mono.aiff     10 s 605 Hz 22050 Hz mono 16 bit, AIFF with an ID3
#                              chunk; artist "Aiff Artist", title "Apple"
#   tone-715.wv                10 s 715 Hz, WavPack with APEv2 tags; artist "Wv
#                              Artist", title "Pack"
#   tone-825.tta               10 s 825 Hz, TTA, no tags
#   corrupt-middle.m4a         15 s 440 Hz AAC 128k, no tags; 8 KiB at the middle
#                              byte offset overwritten by (reproducible) noise;
#                              plays to about the full length
#   cover.mp3                  5 s 440 Hz MP3, ID3v2.3 with an APIC cover; album
#                              "Covered"
#   cover.flac                 5 s 440 Hz FLAC with a PICTURE block; ALBUM "Covered"
#
#   bad
#   truncated.m4a              the first half of tone-440.m4a (its moov atom,
#                              written at the end, is gone)
#   truncated-faststart.m4a    the first half of the same with the moov atom in
#                              front (its sample table points past the end)
#   random.m4a                 64 KiB of (reproducible) noise bytes
#   ftyp-garbage.m4a           an MP4 "ftyp" box followed by noise
#   truncated-header.opus      the first 200 bytes of tone-660.opus
set -eu

dir=${1:?usage: $0 DIR}
tmp="$dir/.tmp"
mkdir -p "$tmp"

# tone FILE.wav SECONDS FREQ_HZ [RATE_HZ [CHANNELS]]
tone() {
	sox -R -n -r "${4:-44100}" -c "${5:-2}" -b 16 "$1" \
		synth "$2" sine "$3" gain -12
}
ff() {
	ffmpeg -nostdin -hide_banner -loglevel error -y "$@"
}

ff -f lavfi -i color=c=red:s=32x32:d=1 -frames:v 1 "$tmp/cover.png"

tone "$tmp/440.wav" 10 440
ff -i "$tmp/440.wav" -i "$tmp/cover.png" -map 0:a -map 1:v \
	-c:a aac -b:a 128k -c:v png -disposition:v:0 attached_pic \
	-metadata artist="Sigur Rós" -metadata title="Café — 日本語 🎵" \
	-metadata album="Ágætis byrjun" "$dir/tone-440.m4a"
ff -i "$tmp/440.wav" -c:a aac -b:a 128k -movflags +faststart \
	"$tmp/faststart.m4a"

tone "$tmp/550.wav" 8 550 48000 1
ff -i "$tmp/550.wav" -c:a alac -metadata artist="Alac Artist" \
	-metadata title="Five Fifty Lossless" -metadata album="Lossless" \
	"$dir/alac-550-48k-mono.m4a"

tone "$tmp/660.wav" 10 660
ff -i "$tmp/660.wav" -c:a libopus -b:a 128k -metadata ARTIST="Opus Künstler" \
	-metadata TITLE="Sechshundertsechzig" -metadata ALBUM="Ogg" \
	"$dir/tone-660.opus"

tone "$tmp/385.wav" 12 385
ff -i "$tmp/385.wav" -c:a aac -b:a 128k -f adts "$dir/tone-385.aac"

tone "$tmp/495.wav" 10 495
ff -i "$tmp/495.wav" -c:a wmav2 -b:a 128k -metadata artist="Wma Artist" \
	-metadata title="Windows" -metadata album="Media" "$dir/tone-495.wma"

tone "$tmp/605.wav" 10 605 22050 1
ff -i "$tmp/605.wav" -c:a pcm_s16be -write_id3v2 1 \
	-metadata artist="Aiff Artist" -metadata title="Apple" \
	"$dir/tone-605-22k-mono.aiff"

tone "$tmp/715.wav" 10 715
ff -i "$tmp/715.wav" -c:a wavpack -metadata artist="Wv Artist" \
	-metadata title="Pack" "$dir/tone-715.wv"

tone "$tmp/825.wav" 10 825
ff -i "$tmp/825.wav" -c:a tta -map_metadata -1 "$dir/tone-825.tta"

tone "$tmp/c.wav" 5 440
ff -i "$tmp/c.wav" -i "$tmp/cover.png" -map 0:a -map 1:v -c:a libmp3lame \
	-b:a 128k -c:v png -disposition:v:0 attached_pic -id3v2_version 3 \
	-metadata album="Covered" "$dir/cover.mp3"
ff -i "$tmp/c.wav" -i "$tmp/cover.png" -map 0:a -map 1:v -c:a flac \
	-c:v png -disposition:v:0 attached_pic -metadata ALBUM="Covered" \
	"$dir/cover.flac"

tone "$tmp/440-15.wav" 15 440
ff -i "$tmp/440-15.wav" -c:a aac -b:a 128k "$dir/corrupt-middle.m4a"
sox -R -n -t raw -r 8000 -e signed -b 8 -c 1 "$tmp/noise8k.raw" \
	synth 1.024 whitenoise
size=$(wc -c <"$dir/corrupt-middle.m4a")
dd if="$tmp/noise8k.raw" of="$dir/corrupt-middle.m4a" bs=1024 \
	seek=$((size / 2 / 1024)) conv=notrunc 2>/dev/null

size=$(wc -c <"$dir/tone-440.m4a")
head -c $((size / 2)) "$dir/tone-440.m4a" >"$dir/truncated.m4a"
size=$(wc -c <"$tmp/faststart.m4a")
head -c $((size / 2)) "$tmp/faststart.m4a" >"$dir/truncated-faststart.m4a"
sox -R -n -t raw -r 8000 -e signed -b 8 -c 1 "$dir/random.m4a" \
	synth 8.192 whitenoise
{
	printf '\000\000\000\030ftypM4A \000\000\002\000M4A mp42'
	cat "$dir/random.m4a"
} >"$dir/ftyp-garbage.m4a"
head -c 200 "$dir/tone-660.opus" >"$dir/truncated-header.opus"

rm -rf "$tmp"
