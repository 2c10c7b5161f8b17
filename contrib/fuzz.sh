#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds the libFuzzer target for the configuration parser with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for SECONDS (default 60)
# over the seed corpus in fuzz/corpus/config/. Not part of make check.
#
# usage: contrib/fuzz.sh [SECONDS] [extra libFuzzer options...]
#   FUZZ_BUILD_DIR  where the binary, the growing corpus and any crash
#                   files go (default: build-fuzz/ in the source tree)
#   CC              a clang with libFuzzer (default: clang; Debian needs
#                   libclang-rt-14-dev or similar)
# Exit status: 0 when no crash was found; libFuzzer's status otherwise, with
# the crashing input saved as $FUZZ_BUILD_DIR/crash-*; reproduce it with
#   $FUZZ_BUILD_DIR/fuzz_config $FUZZ_BUILD_DIR/crash-...
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
out=${FUZZ_BUILD_DIR:-$top/build-fuzz}
cc=${CC:-clang}

mkdir -p "$out/corpus-config"
# config.c and log.c need nothing from autoconf's header.
: > "$out/autoconfig.h"
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -I"$out" -I"$top/src" \
	"$top/fuzz/fuzz_config.c" "$top/src/config.c" "$top/src/log.c" \
	$(pkg-config --cflags --libs inih) -lm -o "$out/fuzz_config"

# New inputs go into the first directory; the seeds are only read.
exec "$out/fuzz_config" -max_total_time="$seconds" -max_len=10000 \
	-timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-dict="$top/fuzz/config.dict" -artifact_prefix="$out/" "$@" \
	"$out/corpus-config" "$top/fuzz/corpus/config"
