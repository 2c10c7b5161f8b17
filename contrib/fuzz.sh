#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds a libFuzzer target with clang (-fsanitize=fuzzer,address,undefined)
# and runs it for SECONDS (default 60). Not part of make check. Targets
# (FUZZ_TARGET):
#   config  the configuration parser, over the seeds in fuzz/corpus/config/
#           (the default)
#   feed    the feed parsers (RSS/Atom with expat, Subsonic and Jamendo
#           JSON with jansson), over the seeds in fuzz/corpus/feed/
#   decode  the decoder (every backend: mpg123, vorbisfile, libsndfile,
#           FFmpeg), over seeds generated here with sox and ffmpeg: one
#           short file of every format it reads
#   http    the status server's request path and query parsing and the
#           [http] listen address (src/http_parse.c), over the seeds in
#           fuzz/corpus/http/
#
# usage: [FUZZ_TARGET=decode|feed|http] contrib/fuzz.sh [SECONDS] [extra libFuzzer options...]
#   FUZZ_BUILD_DIR  where the binary, the growing corpus and any crash
#                   files go (default: build-fuzz/ in the source tree)
#   CC              a clang with libFuzzer (default: clang; Debian needs
#                   libclang-rt-14-dev or similar)
# Exit status: 0 when no crash was found; libFuzzer's status otherwise, with
# the crashing input saved as $FUZZ_BUILD_DIR/crash-*; reproduce it with
#   $FUZZ_BUILD_DIR/fuzz_TARGET $FUZZ_BUILD_DIR/crash-...
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
out=${FUZZ_BUILD_DIR:-$top/build-fuzz}
cc=${CC:-clang}
target=${FUZZ_TARGET:-config}

if [ "$target" = decode ]; then
	mkdir -p "$out/corpus-decode" "$out/seed-decode"
	: > "$out/autoconfig.h"
	seeds="$out/seed-decode"
	if [ ! -f "$seeds/done" ]; then
		sox -R -n -r 44100 -c 2 -b 16 "$seeds/t.wav" synth 0.3 sine 440
		for f in mp3 ogg flac m4a opus aac wma aiff wv tta; do
			ffmpeg -nostdin -loglevel error -y -i "$seeds/t.wav" \
				-metadata artist=A -metadata title=T "$seeds/t.$f"
		done
		ffmpeg -nostdin -loglevel error -y -i "$seeds/t.wav" \
			-c:a alac "$seeds/alac.m4a"
		touch "$seeds/done"
	fi
	# shellcheck disable=SC2046
	"$cc" -g -O1 -std=c11 -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -I"$out" -I"$top/src" \
		"$top/fuzz/fuzz_decode.c" "$top/src"/decode*.c "$top/src/log.c" \
		$(pkg-config --cflags --libs libmpg123 vorbisfile vorbis sndfile \
			samplerate libavformat libavcodec libswresample libavutil) \
		-lm -o "$out/fuzz_decode"
	exec "$out/fuzz_decode" -max_total_time="$seconds" -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/" "$@" "$out/corpus-decode" "$seeds"
fi

if [ "$target" = http ]; then
	mkdir -p "$out/corpus-http"
	: > "$out/autoconfig.h"
	# shellcheck disable=SC2046
	"$cc" -g -O1 -std=c11 -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -I"$out" -I"$top/src" \
		$(pkg-config --cflags jansson) \
		"$top/fuzz/fuzz_http.c" "$top/src/http_parse.c" \
		-o "$out/fuzz_http"
	exec "$out/fuzz_http" -max_total_time="$seconds" -max_len=4096 \
		-timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-dict="$top/fuzz/http.dict" -artifact_prefix="$out/" "$@" \
		"$out/corpus-http" "$top/fuzz/corpus/http"
fi

if [ "$target" = feed ]; then
	mkdir -p "$out/corpus-feed"
	: > "$out/autoconfig.h"
	# shellcheck disable=SC2046
	"$cc" -g -O1 -std=c11 -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -I"$out" -I"$top/src" \
		"$top/fuzz/fuzz_feed.c" "$top/src/feed.c" \
		"$top/src/feed_subsonic.c" \
		$(pkg-config --cflags --libs expat jansson libcurl) \
		-o "$out/fuzz_feed"
	exec "$out/fuzz_feed" -max_total_time="$seconds" -max_len=65536 \
		-timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$out/" "$@" "$out/corpus-feed" \
		"$top/fuzz/corpus/feed"
fi

mkdir -p "$out/corpus-config"
# config.c and log.c need nothing from autoconf's header.
: > "$out/autoconfig.h"
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -I"$out" -I"$top/src" \
	"$top/fuzz/fuzz_config.c" "$top/src/config.c" "$top/src/log.c" \
	"$top/src/http_parse.c" \
	$(pkg-config --cflags --libs inih) -lm -o "$out/fuzz_config"

# New inputs go into the first directory; the seeds are only read.
exec "$out/fuzz_config" -max_total_time="$seconds" -max_len=10000 \
	-timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-dict="$top/fuzz/config.dict" -artifact_prefix="$out/" "$@" \
	"$out/corpus-config" "$top/fuzz/corpus/config"
