#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/stretch-speed.sh [BUILDDIR] [SECONDS] — the time-stretch engine's
# cost as x real time for one deck, R2 ("faster") against R3 ("finer"),
# with the quality figures that go with it (bench/stretch-bench.c explains
# each): click timing through the mixer's tempo ramps, tonal noise on a
# sustained chord, pre-echo and peak loss on clicks. Generated audio only;
# never fails on slowness. Needs a built tree (make) for libforeverfm.a.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
seconds=${2:-60}
tool="$build/bench/stretch-bench"
mkdir -p "$build/bench"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$build" -I"$top/src" -o "$tool" \
	"$top/bench/stretch-bench.c" "$build/.libs/libforeverfm.a" \
	$(pkg-config --cflags --libs rubberband) -lm -lpthread
"$tool" "$seconds"
