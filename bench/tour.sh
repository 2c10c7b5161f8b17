#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/tour.sh — the tour solver against the Held-Karp lower bound and
# against forever.fm's random 2-opt hill climbing (100 n evaluations), on
# random instances of n = 100, 400, 1000 and 2000 points; prints a table of
# medians over several seeds.
#
#   bench/tour.sh [BUILDDIR]
#
# BUILDDIR is a configured build tree (default: ./build, or $top_builddir);
# the script builds bench/tour_bench there if needed. Environment:
#   SEEDS=5          instances per row (the table shows medians)
#   SIZES="100 400 1000 2000"
#   KINDS="euc2d euc8d brain"   euc2d/euc8d: uniform points in the unit
#                    square / 8-D cube, Euclidean costs; brain: random tracks
#                    under brain_distance() with the default weights
#   BUDGET=1         solver budget, CPU seconds of its thread
#   HK_ITERATIONS=1000
#
# Columns: the median Held-Karp bound; the solver's tour cost above it and
# its CPU time (for brain rows including the n^2/2 distance calls that fill
# the matrix) with the median number of kicks made; the same for the
# baseline. Expect about ten minutes of CPU at the defaults (the bound is
# the slow part: 1000 O(n^2) iterations).
set -eu

builddir=${1:-${top_builddir:-build}}
if [ ! -f "$builddir/Makefile" ]; then
	echo "tour.sh: $builddir is not a configured build tree" >&2
	echo "usage: bench/tour.sh [BUILDDIR]" >&2
	exit 2
fi
make -s -C "$builddir" bench/tour_bench >&2
bench="$builddir/bench/tour_bench"

seeds=${SEEDS:-5}
sizes=${SIZES:-"100 400 1000 2000"}
kinds=${KINDS:-"euc2d euc8d brain"}
budget=${BUDGET:-1}
hk=${HK_ITERATIONS:-1000}

echo "tour solver: NN + 2-opt/Or-opt + ILS, budget ${budget} s CPU; baseline: random 2-opt, 100 n evaluations"
echo "cost above the Held-Karp lower bound (median of $seeds instances)"
echo
"$bench" --header
for kind in $kinds; do
	case $kind in
	euc2d) args="--kind euclid --dim 2" ;;
	euc8d) args="--kind euclid --dim 8" ;;
	brain) args="--kind brain" ;;
	*) echo "tour.sh: unknown kind $kind" >&2; exit 2 ;;
	esac
	for n in $sizes; do
		# shellcheck disable=SC2086 # args is a list of words
		"$bench" $args --n "$n" --seeds "$seeds" --budget "$budget" \
			--hk-iterations "$hk"
	done
done
