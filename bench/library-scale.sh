#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/library-scale.sh — foreverfm at library scale (issue 21): the
# brain's solve, insertions and removals, the scan and rescan of N files
# and `foreverfm plan --json`, on N synthetic tracks whose analyses are
# drawn from real ones; prints one table.
#
#   bench/library-scale.sh [N] [BUILDDIR]
#
# N defaults to 100000. Environment:
#   REAL="/var/tmp/v11/nexuiz.db /var/tmp/v11/aba.db /var/tmp/v11/held2.db"
#               analysed catalogs to draw from (copied, never written)
#   WORK=/var/tmp/scale   scratch directory, deleted at the end
#   REFERENCE=60          seconds of the reference solve (the "best" tour)
#   BUDGET=1              the solver's [brain] time_budget_seconds
#   FILES=1               0: no audio files (no scan, rescan or plan)
#   SEED=1                the solve's seed (the reference takes SEED + 1)
#   REFERENCE_COST=       the cost of a reference solved before: no
#                         reference solve (compare seeds against one)
#   KEEP=0                1: keep WORK/run and reuse the library it holds
#                         when N matches (no scan, rescan or plan then)
#
# Disk: N WAV files of 844 bytes (8 kHz, 8-bit mono, 0.1 s, distinct),
# one 4 KiB block each on ext4: 100 000 files take 391 MiB plus their
# inodes, and the scratch catalog about 600 MB (analyses are blobs of a
# few kilobytes). Everything is under WORK and removed when done.
#
# Columns: N; the solve's CPU seconds (setlist_solve: index, neighbour
# lists, greedy tour, local search, kicks within BUDGET, artist repair);
# its cost above a second solve of REFERENCE seconds; insertion and
# removal of one track (setlist_update, mean and max of 20); the first
# scan (a probe of every file) and a rescan of the unchanged library;
# `plan --json` wall seconds and its largest RSS; the bench process's
# largest RSS with the setlist of N tracks.
set -eu

n=${1:-100000}
builddir=${2:-${top_builddir:-.}}
real=${REAL:-"/var/tmp/v11/nexuiz.db /var/tmp/v11/aba.db /var/tmp/v11/held2.db"}
work=${WORK:-/var/tmp/scale}
reference=${REFERENCE:-60}
budget=${BUDGET:-1}
files=${FILES:-1}
seed=${SEED:-1}
keep=${KEEP:-0}

make -s -C "$builddir" bench/library-scale foreverfm >&2
bench="$builddir/bench/library-scale"
ffm="$builddir/foreverfm"

if [ "$keep" = 1 ]; then
	mkdir -p "$work/run"
	set -- --reuse
else
	rm -rf "$work/run"
	mkdir -p "$work/run"
	trap 'rm -rf "$work/run"' EXIT
	set --
fi
i=0
for db in $real; do
	[ -f "$work/run/real$i.db" ] || cp "$db" "$work/run/real$i.db"
	set -- "$@" --real "$work/run/real$i.db"
	i=$((i + 1))
done
[ "$files" = 1 ] || set -- "$@" --no-files
[ -z "${REFERENCE_COST:-}" ] || set -- "$@" --reference-cost "$REFERENCE_COST"
line=$("$bench" --n "$n" --dir "$work/run" --reference "$reference" \
	--budget "$budget" --seed "$seed" "$@")
get() { echo "$line" | tr ' ' '\n' | sed -n "/^$1\$/{n;p;}"; }

plan_s=- plan_mb=-
if [ "$files" = 1 ] && [ "$(get reused)" = 0 ]; then
	cat >"$work/run/plan.ini" <<EOF
[library]
path = $work/run/lib
database = $work/run/scale.db
[brain]
time_budget_seconds = $budget
EOF
	/usr/bin/time -f "%e %M" -o "$work/run/plan.time" \
		"$ffm" plan --json -c "$work/run/plan.ini" >"$work/run/plan.json" \
		2>"$work/run/plan.log" || { cat "$work/run/plan.log" >&2; exit 1; }
	plan_s=$(cut -d' ' -f1 "$work/run/plan.time")
	plan_mb=$(awk '{ printf "%.0f", $2 / 1024 }' "$work/run/plan.time")
	entries=$(grep -c '"position"' "$work/run/plan.json" || true)
	echo "plan --json: $entries entries" >&2
fi

printf '%8s | %9s %9s | %9s %9s %9s | %7s %7s | %7s %8s | %8s\n' \
	N "solve cpu" "above ref" "insert ms" "remove ms" "seq ms" "scan s" \
	"rescan s" "plan s" "plan RSS" "RSS MB"
printf '%8s | %9s %8s%% | %4s/%4s %4s/%4s %4s/%4s | %7s %7s | %7s %7sM | %8s\n' \
	"$(get n)" "$(get solve_cpu_s)" "$(get above_ref_pct)" \
	"$(get insert_ms_mean | cut -d. -f1)" "$(get insert_ms_max | cut -d. -f1)" \
	"$(get remove_ms_mean | cut -d. -f1)" "$(get remove_ms_max | cut -d. -f1)" \
	"$(get sequence_ms_mean | cut -d. -f1)" "$(get sequence_ms_max | cut -d. -f1)" \
	"$(get scan_s)" "$(get rescan_s)" "$plan_s" "$plan_mb" \
	"$(get rss_peak_mb)"
echo "(reference: the same library solved with ${reference} s; files:" \
	"$(get files_mb) MiB on disk; raw: $line)"
