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
#   STATION=0             1: also a live station on a real icecast2
#                         (tests/icecast-harness.sh; needs icecast2) on a
#                         second catalog of N tracks that are hard links to
#                         the REAL catalogs' files (library-scale --audio),
#                         with its largest RSS once it has played through
#                         two transitions and the seconds from its start to
#                         the brain's first published play order
#   STATION_WAIT=900      seconds the station may take for two transitions
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
# largest RSS with the setlist of N tracks; with STATION=1, the station's
# seconds to its first play order ("order s"), its largest RSS after two
# transitions ("station MB"), and whether it waited out its ready timeout
# and started by shuffling ("shuffled").
#
# The station's catalog holds N hard links (a directory entry each, no
# data) to the real files; its [library] path is an empty folder, since a
# scan would see a file linked under two names as one track. The real
# files' own lengths are the tracks' (min_duration = 1), so two
# transitions take a few minutes.
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
station=${STATION:-0}
station_wait=${STATION_WAIT:-900}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)

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

order_s=- station_mb=- shuffled=-
if [ "$station" = 1 ]; then
	mkdir -p "$work/run/st/empty"
	set --
	i=0
	for db in $real; do
		set -- "$@" --real "$work/run/real$i.db"
		i=$((i + 1))
	done
	"$bench" --n "$n" --dir "$work/run/st" --reference 0 \
		--budget "$budget" --audio "$@" >"$work/run/st/bench.out"
	harness="$top_srcdir/tests/icecast-harness.sh"
	port=$("$harness" start "$work/run/ice") || exit 1
	trap '"$harness" stop "$work/run/ice" >/dev/null 2>&1;
	      rm -rf "$work/run/st" "$work/run/ice"
	      [ "$keep" = 1 ] || rm -rf "$work/run"' EXIT
	"$harness" password "$work/run/ice" >"$work/run/st/password"
	cat >"$work/run/st/station.ini" <<EOF
[library]
path = $work/run/st/empty
database = $work/run/st/scale.db
min_duration = 1
[icecast]
host = 127.0.0.1
port = $port
user = source
password_file = $work/run/st/password
[output.mp3]
mount = /scale.mp3
format = mp3
bitrate = 128
[output.ogg]
mount = /scale.ogg
format = ogg
quality = 0.4
[brain]
time_budget_seconds = $budget
[analysis]
workers = 1
EOF
	t0=$(date +%s.%N)
	"$ffm" run -c "$work/run/st/station.ini" >"$work/run/st/station.log" 2>&1 &
	pid=$!
	since() { echo "$(date +%s.%N) - $t0" | bc; }
	plays() {
		sqlite3 "$work/run/st/scale.db" "SELECT count(*) FROM plays" \
			2>/dev/null || echo 0
	}
	alive() {
		kill -0 "$pid" 2>/dev/null && return 0
		cat "$work/run/st/station.log" >&2
		exit 1
	}
	# Polled, not slept for: the order's line, then three plays (two
	# transitions heard).
	while ! grep -q 'brain: play order of' "$work/run/st/station.log"; do
		alive
		[ "$(echo "$(since) < $station_wait" | bc)" = 1 ] || break
		sleep 0.1
	done
	order_s=$(printf '%.1f' "$(since)")
	while [ "$(plays)" -lt 3 ]; do
		alive
		[ "$(echo "$(since) < $station_wait" | bc)" = 1 ] || {
			echo "station: fewer than 3 plays in $station_wait s" >&2
			break
		}
		sleep 1
	done
	station_mb=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' \
		"/proc/$pid/status")
	shuffled=no
	grep -q 'no play order yet' "$work/run/st/station.log" && shuffled=yes
	kill -TERM "$pid"
	wait "$pid" || echo "station: exit status $?" >&2
	echo "station: $(plays) plays, $(grep -c 'brain: play order of' \
		"$work/run/st/station.log") orders published" >&2
fi

printf '%8s | %9s %9s | %9s %9s %9s | %7s %7s | %7s %8s | %8s | %7s %10s %8s\n' \
	N "solve cpu" "above ref" "insert ms" "remove ms" "seq ms" "scan s" \
	"rescan s" "plan s" "plan RSS" "RSS MB" "order s" "station MB" \
	"shuffled"
printf '%8s | %9s %8s%% | %4s/%4s %4s/%4s %4s/%4s | %7s %7s | %7s %7sM | %8s | %7s %10s %8s\n' \
	"$(get n)" "$(get solve_cpu_s)" "$(get above_ref_pct)" \
	"$(get insert_ms_mean | cut -d. -f1)" "$(get insert_ms_max | cut -d. -f1)" \
	"$(get remove_ms_mean | cut -d. -f1)" "$(get remove_ms_max | cut -d. -f1)" \
	"$(get sequence_ms_mean | cut -d. -f1)" "$(get sequence_ms_max | cut -d. -f1)" \
	"$(get scan_s)" "$(get rescan_s)" "$plan_s" "$plan_mb" \
	"$(get rss_peak_mb)" "$order_s" "$station_mb" "$shuffled"
echo "(reference: the same library solved with ${reference} s; files:" \
	"$(get files_mb) MiB on disk; raw: $line)"
