#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/http-clients.sh — what the status server ([http]) costs the station
# under load: the station streams one MP3 128 kbps mount into a local
# Icecast; after WARMUP seconds (default 10) it is measured for WINDOW
# seconds (default 60) with no HTTP client, then for WINDOW seconds with
# CLIENTS Server-Sent Events clients on /api/events (default 500) and RATE
# requests a second to /api/nowplaying (default 50), all on loopback, from
# one python3 process (bounded: its clients, its time, its reads).
# Prints, for both windows: the station's CPU as a share of one core
# (utime + stime from /proc, the analysis children excluded), its RSS, and
# the stream's pacing as a listener sees it (tests/icy_listen: the bytes
# rate and the largest lag behind real time); then for the loaded window
# the requests answered, their median and worst latency, and the events
# the SSE clients got. Target: under 2 % of a core added, pacing
# unchanged.
# Figures (2-core machine shared with other work): with /api/nowplaying's
# 0.1 s reuse (commit b260a7b, 30 s windows): idle 2.48 % of a core and
# 52.0 MB; with 500 SSE clients and 50 req/s 4.43 % and 71.6 MB: +1.95 %
# of a core, +19.6 MB (libmicrohttpd's 32 KiB pool per connection); 1750
# requests, none failed, median 0.5 ms, worst 77 ms; all 500 streams got
# every event; the listener's largest lag 0.17 s idle, 0.23 s loaded (the
# lead is 0.25 s): pacing held. Before the reuse (9c56c6b, 40 s windows):
# +3.09 % of a core.
# The library (eight generated tracks of 75 s) is analysed first, so the
# windows hold steady-state mixing. Run from a configured build tree's top
# or set FOREVERFM; needs icecast2, python3, sox, ffmpeg, curl.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
FOREVERFM=${FOREVERFM:-$top/build/foreverfm}
TOOLS=${TOOLS:-$(dirname "$FOREVERFM")/tests}
WARMUP=${WARMUP:-10}
WINDOW=${WINDOW:-60}
CLIENTS=${CLIENTS:-500}
RATE=${RATE:-50}
[ -x "$FOREVERFM" ] || { echo "build foreverfm first (or set FOREVERFM)"; exit 1; }
[ -x "$TOOLS/icy_listen" ] || { echo "make tests/icy_listen first"; exit 1; }
[ "$CLIENTS" -le 2000 ] || { echo "CLIENTS: at most 2000"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-httpbench-XXXXXX")
chmod 755 "$work"
ff_pid="" load_pid="" icy_pid=""
cleanup() {
	for p in $load_pid $icy_pid $ff_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	sh "$top/tests/icecast-harness.sh" stop "$work/icecast" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
sh "$top/contrib/make-demo-library.sh" "$work/music" 8 75 >/dev/null
mkdir -p "$work/icecast"
port=$(sh "$top/tests/icecast-harness.sh" start "$work/icecast")
sh "$top/tests/icecast-harness.sh" password "$work/icecast" > "$work/password"
http_port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The limit above the clients: the load, its requests and a margin.
max_clients=$((CLIENTS + 64))
cat > "$work/foreverfm.ini" <<CFG
[library]
path = $work/music
database = $work/catalog.db
[icecast]
host = 127.0.0.1
port = $port
password_file = $work/password
[output.mp3]
mount = /forever.mp3
format = mp3
bitrate = 128
[brain]
artist_separation = 0
[http]
listen = 127.0.0.1:$http_port
max_clients = $max_clients
CFG
"$FOREVERFM" analyze -c "$work/foreverfm.ini" >/dev/null 2>&1
"$FOREVERFM" run -c "$work/foreverfm.ini" > "$work/station.log" 2>&1 &
ff_pid=$!
n=0
until curl -fsS --max-time 1 "http://127.0.0.1:$http_port/metrics" 2>/dev/null |
	grep -q 'foreverfm_output_connected{output="mp3"} 1'; do
	n=$((n + 1))
	[ "$n" -le 100 ] || { tail "$work/station.log"; echo "the station did not start"; exit 1; }
	sleep 0.2
done
sleep "$WARMUP"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$ff_pid/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$ff_pid/status"; }

# measure NAME: one window; the listener and the CPU over the same span.
measure() {
	"$TOOLS/icy_listen" "http://127.0.0.1:$port/forever.mp3" "$WINDOW" \
		/dev/null "$work/$1.meta" "$work/$1.timing" &
	icy_pid=$!
	c0=$(cpu_ticks)
	t0=$(date +%s.%N)
	rss_max=0
	i=0
	while [ "$i" -lt "$WINDOW" ]; do
		sleep 1
		r=$(rss_kb)
		[ "$r" -gt "$rss_max" ] && rss_max=$r
		i=$((i + 1))
	done
	c1=$(cpu_ticks)
	t1=$(date +%s.%N)
	wait "$icy_pid" || true
	icy_pid=""
	awk -v n="$1" -v c="$((c1 - c0))" -v hz="$ticks" -v a="$t0" -v b="$t1" \
		-v rss="$rss_max" -v tim="$(cat "$work/$1.timing")" -v w="$WINDOW" 'BEGIN {
		split(tim, f, /[ =]/); bytes = f[2]; lag = f[6]
		printf "%-10s CPU %.2f%% of a core, RSS max %.1f MB, stream %.1f kbps " \
			"(Icecast burst included), max lag %s s\n", n, 100 * c / hz / (b - a),
			rss / 1024, bytes * 8 / 1000 / w, lag
		printf "%s %.4f %.1f\n", n, 100 * c / hz / (b - a), rss / 1024 > "/dev/stderr" }' \
		2>>"$work/figures"
}

echo "station: http://127.0.0.1:$http_port/, ${WINDOW} s windows, $CLIENTS SSE clients, $RATE req/s"
measure idle

python3 - "$http_port" "$CLIENTS" "$RATE" "$((WINDOW + 5))" > "$work/load.out" <<'PY' &
import selectors, socket, sys, time
port, n, rate, seconds = (int(a) for a in sys.argv[1:])
sel = selectors.DefaultSelector()
events = [0] * n
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    socks.append(s)
lat, failed = [], 0
start = time.monotonic()
next_req = start
end = start + seconds
while time.monotonic() < end:
    now = time.monotonic()
    if now >= next_req:
        t = time.monotonic()
        try:
            r = socket.create_connection(("127.0.0.1", port), timeout=2)
            r.sendall(b"GET /api/nowplaying HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = b""
            while True:
                b = r.recv(65536)
                if not b:
                    break
                body += b
            r.close()
            if body.startswith(b"HTTP/1.1 200"):
                lat.append(time.monotonic() - t)
            else:
                failed += 1
        except OSError:
            failed += 1
        next_req += 1.0 / rate
    timeout = max(0, min(next_req, end) - time.monotonic())
    for key, _ in sel.select(timeout):
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(key.fileobj)
            continue
        events[key.data] += data.count(b"\nevent: ")
lat.sort()
alive = len(sel.get_map())
print("requests %d answered, %d failed; latency median %.1f ms, worst %.1f ms" % (
    len(lat), failed, 1000 * lat[len(lat) // 2] if lat else 0, 1000 * lat[-1] if lat else 0))
print("SSE clients %d connected to the end; events per client min %d max %d" % (
    alive, min(events), max(events)))
PY
load_pid=$!
sleep 3
measure loaded
wait "$load_pid" || true
load_pid=""
cat "$work/load.out"
awk '{ cpu[$1] = $2; rss[$1] = $3 } END {
	printf "added by the HTTP load: %.2f%% of a core, %+.1f MB RSS\n",
		cpu["loaded"] - cpu["idle"], rss["loaded"] - rss["idle"] }' "$work/figures"
