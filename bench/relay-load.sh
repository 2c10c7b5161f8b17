#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/relay-load.sh [N] — listener load on a relay node never reaches
# foreverfm. On loopback: a master icecast2 (contrib/icecast.xml) and a
# relay node (contrib/icecast-relay.xml), both through
# tests/icecast-harness.sh, and foreverfm streaming MP3 128 kbit/s and Ogg
# to the master from three generated tone tracks. Two windows of
# RELAY_SECONDS (default 60) each: first no listener, then N (default 500,
# at most 1900) listeners on the relay's MP3 mount, all in one process
# (bench/relay-listeners: one socket each), connecting RELAY_RAMP (default
# 50) a second before the window starts (Icecast 2.4.4 accepts with a
# backlog of 5: simultaneous connects wait for SYN retransmissions).
# Prints, per window, the CPU
# (user+system, % of one core) and the largest RSS of foreverfm, of the
# master and of the relay; the master's and the relay's listener counts
# during the load (the master should count the relay alone: 1); and
# relay-listeners' line: how many listeners connected and how many got a
# steady 128 kbit/s (within 5 %, no 2 s gap) from 5 s after their first
# byte (Icecast's burst) to the end.
# Never a timed test: it prints figures (doc/scaling.md quotes them).
#
# Bounded: N <= 1900, RELAY_SECONDS <= 300; every process it starts is
# ended by its PID; all on 127.0.0.1. Run from a configured build tree at
# $top/build (make builds bench/relay-listeners), or set FOREVERFM and
# LISTENERS. Needs icecast2, ffmpeg, curl, python3.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
FOREVERFM=${FOREVERFM:-$top/build/foreverfm}
LISTENERS=${LISTENERS:-$(dirname "$FOREVERFM")/bench/relay-listeners}
N=${1:-500}
SECONDS_W=${RELAY_SECONDS:-60}
RAMP=${RELAY_RAMP:-50}
HARNESS="$top/tests/icecast-harness.sh"
export top_srcdir="$top"

die() { echo "relay-load: $*" >&2; exit 1; }
case "$N$SECONDS_W$RAMP" in *[!0-9]*) die "N, RELAY_SECONDS and RELAY_RAMP are whole numbers" ;; esac
[ "$RAMP" -ge 1 ] || die "RELAY_RAMP is at least 1"
[ "$N" -ge 1 ] && [ "$N" -le 1900 ] || die "N is 1..1900 (the relay takes 2000 clients)"
[ "$SECONDS_W" -ge 15 ] && [ "$SECONDS_W" -le 300 ] || die "RELAY_SECONDS is 15..300"
[ -x "$FOREVERFM" ] || die "build foreverfm first (or set FOREVERFM)"
[ -x "$LISTENERS" ] || die "build bench/relay-listeners first (make)"
for t in icecast2 ffmpeg curl python3; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found"
done
# One descriptor per listener here, and one per listener in the relay
# (which raises its own limit as far as it may).
[ "$(ulimit -n)" -ge $((N + 64)) ] || ulimit -n $((N + 64)) 2>/dev/null ||
	die "ulimit -n is below N + 64"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-relay-load-XXXXXX") || exit 1
chmod 755 "$WORK"
STATION_PID=""
LOAD_PID=""
cleanup() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	if [ -n "$STATION_PID" ]; then
		kill -TERM "$STATION_PID" 2>/dev/null
		wait "$STATION_PID" 2>/dev/null
	fi
	sh "$HARNESS" stop "$WORK/relay" >/dev/null 2>&1
	sh "$HARNESS" stop "$WORK/master" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

mport=$(sh "$HARNESS" start "$WORK/master") || die "the master did not start"
rport=$(sh "$HARNESS" start-relay "$WORK/relay" "$WORK/master" 15) ||
	die "the relay did not start"
master_pid=$(cat "$WORK/master/pid")
relay_pid=$(cat "$WORK/relay/pid")

mkdir -p "$WORK/music"
i=0
for f in 311 523 740; do
	i=$((i + 1))
	ffmpeg -nostdin -loglevel error -y -f lavfi \
		-i "sine=frequency=$f:duration=60:sample_rate=44100" \
		-af volume=0.5 -ac 2 -c:a libmp3lame -b:a 192k \
		-metadata artist="Load $i" -metadata title="Tone $f" \
		"$WORK/music/$f.mp3" || die "ffmpeg failed"
done
sh "$HARNESS" password "$WORK/master" > "$WORK/password"
cat > "$WORK/station.ini" <<EOF
[library]
path = $WORK/music
database = $WORK/catalog.db
min_duration = 10

[icecast]
host = 127.0.0.1
port = $mport
user = source
password_file = $WORK/password

[output.mp3]
mount = /forever.mp3
format = mp3
bitrate = 128

[output.ogg]
mount = /forever.ogg
format = ogg
quality = 0.4

[mix]
crossfade_seconds = 4
EOF
"$FOREVERFM" run -c "$WORK/station.ini" > "$WORK/station.log" 2>&1 &
STATION_PID=$!

# status URL MOUNT FIELD: FIELD of MOUNT in URL's status-json.xsl.
status() {
	curl -fsS --max-time 2 "$1/status-json.xsl" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["icestats"].get("source", [])
for m in s if isinstance(s, list) else [s]:
    if m.get("listenurl", "").endswith(sys.argv[1]) and "stream_start" in m:
        print(m.get(sys.argv[2], ""))' "$2" "$3"
}
deadline=$(( $(date +%s) + 60 ))
until [ -n "$(status "http://127.0.0.1:$rport" /forever.mp3 listeners)" ]; do
	[ "$(date +%s)" -lt "$deadline" ] || die "the relay never relayed /forever.mp3"
	kill -0 "$STATION_PID" 2>/dev/null || { cat "$WORK/station.log"; die "the station died"; }
	sleep 0.5
done
# The analysis of the three tracks runs in the first seconds: let it end.
deadline=$(( $(date +%s) + 60 ))
until grep -q "analyzer: .* done" "$WORK/station.log"; do
	[ "$(date +%s)" -lt "$deadline" ] || break
	sleep 0.5
done

# cpu_ticks PID: utime + stime of PID (and its reaped children: none).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# window NAME: RELAY_SECONDS of sampling (RSS every second, CPU over the
# whole window) of the three processes.
window() {
	f0=$(cpu_ticks "$STATION_PID"); m0=$(cpu_ticks "$master_pid"); r0=$(cpu_ticks "$relay_pid")
	frss=0 mrss=0 rrss=0 mcount="" rcount=""
	t0=$(date +%s)
	while [ $(( $(date +%s) - t0 )) -lt "$SECONDS_W" ]; do
		v=$(rss_kb "$STATION_PID"); [ "$v" -gt "$frss" ] && frss=$v
		v=$(rss_kb "$master_pid"); [ "$v" -gt "$mrss" ] && mrss=$v
		v=$(rss_kb "$relay_pid"); [ "$v" -gt "$rrss" ] && rrss=$v
		if [ $(( $(date +%s) - t0 )) -ge $((SECONDS_W / 2)) ] && [ -z "$mcount" ]; then
			mcount=$(status "http://127.0.0.1:$mport" /forever.mp3 listeners)
			rcount=$(status "http://127.0.0.1:$rport" /forever.mp3 listeners)
		fi
		sleep 1
	done
	el=$(( $(date +%s) - t0 ))
	f1=$(cpu_ticks "$STATION_PID"); m1=$(cpu_ticks "$master_pid"); r1=$(cpu_ticks "$relay_pid")
	awk -v n="$1" -v el="$el" -v hz="$hz" \
	    -v f=$((f1 - f0)) -v m=$((m1 - m0)) -v r=$((r1 - r0)) \
	    -v fr="$frss" -v mr="$mrss" -v rr="$rrss" -v mc="$mcount" -v rc="$rcount" 'BEGIN {
		printf "%-12s foreverfm %5.2f%% %4.0f MB | master %5.2f%% %4.0f MB | relay %5.2f%% %4.0f MB | /forever.mp3 listeners: master %s, relay %s\n",
		    n, 100 * f / hz / el, fr / 1024, 100 * m / hz / el, mr / 1024,
		    100 * r / hz / el, rr / 1024, mc, rc }'
}

echo "relay-load: $N listeners on the relay ($RAMP a second), $SECONDS_W s per window, $(nproc) cores, $(icecast2 -v 2>&1 | head -n 1)"
window "idle"
ramp_s=$(( (N + RAMP - 1) / RAMP + 5 ))
"$LISTENERS" "http://127.0.0.1:$rport/forever.mp3" "$N" \
	$((ramp_s + SECONDS_W + 2)) "$RAMP" 128 > "$WORK/listeners.out" 2>&1 &
LOAD_PID=$!
sleep "$ramp_s"
window "$N listeners"
wait "$LOAD_PID"
lrc=$?
LOAD_PID=""
echo "listeners: $(cat "$WORK/listeners.out")"
if [ "$lrc" -eq 0 ]; then
	echo "every listener received a steady 128 kbit/s"
else
	echo "NOT every listener received a steady 128 kbit/s; the relay's warnings:"
	grep -E ' (WARN|EROR) ' "$WORK/relay/log/error.log" | tail -n 10
fi
kill -0 "$STATION_PID" 2>/dev/null || { tail -n 20 "$WORK/station.log"; die "the station died"; }
