#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/stream-cpu.sh [MUSIC_DIR] — steady-state CPU and memory of foreverfm
# next to Liquidsoap, both streaming the same library into the same local
# Icecast at the same time: one MP3 128 kbps mount each, 6 s crossfades
# (Liquidsoap: a randomised playlist through crossfade() into
# output.icecast).
#
# The library is analysed first (foreverfm analyze, into the catalog the
# streamer then uses), so foreverfm beatmatches from its first transition
# and the window measures steady state; ANALYZE=0 skips that, and the
# station analyses in the background (in child processes, whose CPU the
# window does not count) while its first transitions are crossfades.
# After WARMUP seconds (default 20) it samples both processes every second
# for WINDOW seconds (default 60; a window should hold several transitions:
# with 4-minute tracks use 600 or more): CPU as a fraction of one core over
# the window (utime + stime from /proc), and the median RSS. Prints both,
# the ratios foreverfm / Liquidsoap (targets: CPU <= 0.5, RSS <= 0.25),
# and how many of foreverfm's transitions in the window were beatmatched
# (time-stretched through Rubber Band: one deck, both over the tempo
# ramp) or crossfades.
# foreverfm encodes with LAME quality 7 (src/encode_mp3.c); Liquidsoap's
# %mp3 defaults to LAME quality 2. LIQ_QUALITY=7 gives Liquidsoap the same
# encoder setting, to see how much of the difference is the encoder.
# Run from a configured build tree's top or set FOREVERFM=path/to/foreverfm.
# Needs: icecast2, liquidsoap (Debian packages), sox and ffmpeg for the
# default library.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
FOREVERFM=${FOREVERFM:-$top/build/foreverfm}
WARMUP=${WARMUP:-20}
WINDOW=${WINDOW:-60}
ANALYZE=${ANALYZE:-1}
export WARMUP
[ -x "$FOREVERFM" ] || { echo "build foreverfm first (or set FOREVERFM)"; exit 1; }
command -v liquidsoap >/dev/null || { echo "apt-get install liquidsoap"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-bench-XXXXXX")
chmod 755 "$work"
music=${1:-$work/music}
[ -n "${1:-}" ] || sh "$top/contrib/make-demo-library.sh" "$music" 8 75 >/dev/null
ff_pid="" ls_pid=""
cleanup() {
	[ -n "$ff_pid" ] && kill "$ff_pid" 2>/dev/null
	[ -n "$ls_pid" ] && kill "$ls_pid" 2>/dev/null
	wait 2>/dev/null
	sh "$top/tests/icecast-harness.sh" stop "$work/icecast" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir -p "$work/icecast"
port=$(sh "$top/tests/icecast-harness.sh" start "$work/icecast")
password=$(sh "$top/tests/icecast-harness.sh" password "$work/icecast")

liq_quality=""
[ -z "${LIQ_QUALITY:-}" ] || liq_quality=", internal_quality=$LIQ_QUALITY"
printf '%s\n' "$password" > "$work/password"
cat > "$work/foreverfm.ini" <<CFG
[library]
path = $music
database = $work/catalog.db
[icecast]
port = $port
password_file = $work/password
[output.mp3]
mount = /foreverfm.mp3
format = mp3
bitrate = 128
[mix]
crossfade_seconds = 6
CFG
cat > "$work/liquidsoap.liq" <<LIQ
settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
s = playlist(mode="randomize", "$music")
s = crossfade(duration=6., s)
s = mksafe(s)
output.icecast(%mp3(bitrate=128$liq_quality), host="127.0.0.1", port=$port,
  password="$password", mount="/liquidsoap.mp3", s)
LIQ

if [ "$ANALYZE" != 0 ]; then
	"$FOREVERFM" analyze -q -c "$work/foreverfm.ini" ||
		{ echo "foreverfm analyze failed"; exit 1; }
fi
"$FOREVERFM" run -c "$work/foreverfm.ini" 2>"$work/foreverfm.log" &
ff_pid=$!
liquidsoap "$work/liquidsoap.liq" >"$work/liquidsoap.log" 2>&1 &
ls_pid=$!

sleep "$WARMUP"
for p in $ff_pid $ls_pid; do
	kill -0 "$p" 2>/dev/null || { echo "a streamer died:"; tail "$work"/*.log; exit 1; }
done
curl -fsS "http://127.0.0.1:$port/status-json.xsl" | grep -q foreverfm.mp3 ||
	{ echo "foreverfm is not streaming"; tail "$work/foreverfm.log"; exit 1; }
curl -fsS "http://127.0.0.1:$port/status-json.xsl" | grep -q liquidsoap.mp3 ||
	{ echo "liquidsoap is not streaming"; tail "$work/liquidsoap.log"; exit 1; }

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
transitions() { grep -c "mixer: $1 at" "$work/foreverfm.log" || true; }
bm0=$(transitions beatmatched); xf0=$(transitions crossfade)
ff0=$(cpu_ticks "$ff_pid"); ls0=$(cpu_ticks "$ls_pid")
t0=$(date +%s.%N)
: > "$work/rss_ff"; : > "$work/rss_ls"
i=0
while [ "$i" -lt "$WINDOW" ]; do
	sleep 1
	rss_kb "$ff_pid" >> "$work/rss_ff"
	rss_kb "$ls_pid" >> "$work/rss_ls"
	i=$((i + 1))
done
ff1=$(cpu_ticks "$ff_pid"); ls1=$(cpu_ticks "$ls_pid")
t1=$(date +%s.%N)
bm1=$(transitions beatmatched); xf1=$(transitions crossfade)
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -v ff="$((ff1 - ff0))" -v ls="$((ls1 - ls0))" -v hz="$ticks" \
    -v t0="$t0" -v t1="$t1" -v rff="$(median "$work/rss_ff")" \
    -v rls="$(median "$work/rss_ls")" -v bm="$((bm1 - bm0))" \
    -v xf="$((xf1 - xf0))" 'BEGIN {
	w = t1 - t0
	cff = ff / hz / w; cls = ls / hz / w
	printf "window: %.1f s after %s s warm-up, same library, same Icecast\n", w, ENVIRON["WARMUP"]
	printf "%-12s %10s %12s\n", "", "CPU(core)", "RSS(MB)"
	printf "%-12s %9.2f%% %12.1f\n", "foreverfm", 100 * cff, rff / 1024
	printf "%-12s %9.2f%% %12.1f\n", "liquidsoap", 100 * cls, rls / 1024
	printf "ratio foreverfm/liquidsoap: CPU %.3f (target <= 0.5), RSS %.3f (target <= 0.25)\n", cff / cls, rff / rls
	printf "foreverfm transitions started in the window: %d beatmatched, %d crossfades\n", bm, xf
}'
