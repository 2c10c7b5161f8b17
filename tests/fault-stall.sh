# SPDX-License-Identifier: GPL-3.0-or-later
#
# fault-stall.sh — sourced by tests/integration_fault_{silent,deaf,reset}.sh
# with FAULT_MODE set: one server fault, against the real parts, while a
# second output streams to a healthy Icecast.
#
# A real icecast2 (tests/icecast-harness.sh) and, in front of it,
# tests/fault_server.py in FAULT_MODE for the mount /faulty.mp3:
#   silent  reads the source request and never answers
#   deaf    answers it "HTTP/1.0 200 OK" and never reads again
#   reset   forwards it, then resets the connection 3 s into the stream
# The station has two outputs: "healthy" on /forever.mp3, straight to
# Icecast, and "faulty" on /faulty.mp3, whose [output.faulty] names the
# fault server's port as its own ([icecast] timeout_seconds = 4).
#
# Asserts:
#   - the stall is noticed and logged, once per connection, with the
#     timeout: "no answer to the source request in 4 s" (silent, twice
#     before the server recovers), "no progress sending for 4 s" (deaf),
#     a lost connection (reset);
#   - /faulty.mp3 is live on Icecast again within 15 s of the server
#     recovering (SIGUSR1 to the fault server; for reset, the reset);
#   - the healthy mount never dropped a frame: a listener connected
#     throughout gets clean 128 kbps MPEG frames (tests/mpeg_frames: no
#     resync) and never falls behind real time by 0.5 s or more
#     (tests/icy_listen's max_lag_s), and the healthy output logged no
#     trouble.
# Prints the measured times (stall to log line, recovery to live mount).
#
# FAULT_SHARED_SERVER=1 runs it against a foreverfm without per-output
# servers or timeouts (the old main): both outputs go through the fault
# server, which forwards everything but /faulty.mp3, and the configuration
# has no timeout_seconds. FAULT_FOREVERFM names that binary.
# Every process started here is ended by its PID in the EXIT trap, and
# every wait is bounded.
. "$top_srcdir/tests/lib.sh"

need_tools python3 curl
FOREVERFM=${FAULT_FOREVERFM:-$FOREVERFM}
FAULT_PID=""
LISTEN_PID=""
it_setup

fault_cleanup() {
	status=$?
	for pid in $LISTEN_PID $FAULT_PID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$status" -ne 0 ] && [ -s "$WORK/fault/events" ]; then
		echo "--- fault server events"
		cat "$WORK/fault/events"
	fi
	(exit "$status")
	it_cleanup
}
trap fault_cleanup EXIT

now() { date +%s.%N; }

# wait_log_for PATTERN COUNT SECONDS: until PATTERN (grep -E) is in the
# station log COUNT times; fails after SECONDS or when the station died.
wait_log_for() {
	end=$(( $(date +%s) + $3 ))
	while [ "$(grep -Ec -- "$1" "$WORK/station.log")" -lt "$2" ]; do
		kill -0 "$STATION_PID" 2>/dev/null ||
			fail "the station died before '$1' was in its log"
		[ "$(date +%s)" -lt "$end" ] ||
			fail "'$1' not $2 times in the station log in $3 s"
		sleep 0.05
	done
}

# event_time PATTERN SECONDS: until the fault server logged PATTERN; sets
# EVENT_AT to that event's time.
event_time() {
	end=$(( $(date +%s) + $2 ))
	until grep -q -- "$1" "$WORK/fault/events" 2>/dev/null; do
		[ "$(date +%s)" -lt "$end" ] ||
			fail "the fault server did not log '$1' in $2 s"
		sleep 0.05
	done
	EVENT_AT=$(grep -- "$1" "$WORK/fault/events" | head -n 1 | cut -d' ' -f1)
}

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 40 "Fault Artist" "One" "$lib/a.mp3"
gen_tone 660 40 "Fault Artist" "Two" "$lib/b.mp3"

mkdir -p "$WORK/fault"
python3 "$top_srcdir/tests/fault_server.py" "$FAULT_MODE" "$ICECAST_PORT" \
	/faulty.mp3 "$WORK/fault" 2>"$WORK/fault/stderr" &
FAULT_PID=$!
n=0
until [ -s "$WORK/fault/port" ]; do
	kill -0 "$FAULT_PID" 2>/dev/null || fail "the fault server died"
	n=$((n + 1))
	[ "$n" -le 100 ] || fail "the fault server did not listen in 10 s"
	sleep 0.1
done
FAULT_PORT=$(cat "$WORK/fault/port")

printf '%s\n' "$ICECAST_PASSWORD" > "$WORK/password"
timeout="timeout_seconds = 4"
if [ "${FAULT_SHARED_SERVER:-0}" = 1 ]; then
	server_port=$FAULT_PORT
	own_server=""
	timeout=""
else
	server_port=$ICECAST_PORT
	own_server="port = $FAULT_PORT"
fi
cat > "$WORK/station.ini" <<CFG
[library]
path = $lib
database = $WORK/catalog.db

[icecast]
host = 127.0.0.1
port = $server_port
password_file = $WORK/password
$timeout

[output.healthy]
mount = /forever.mp3
format = mp3
bitrate = 128

[output.faulty]
mount = /faulty.mp3
format = mp3
bitrate = 128
$own_server

[mix]
crossfade_seconds = 2
CFG

t_start=$(now)
station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"

# The listener on the healthy mount, throughout.
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" "$LISTEN_S" "$WORK/healthy.mp3" \
	"$WORK/healthy.meta" "$WORK/healthy.timing" &
LISTEN_PID=$!

where="output faulty: 127\.0\.0\.1:$FAULT_PORT/faulty\.mp3:"
case $FAULT_MODE in
silent)
	what="$where no answer to the source request in 4 s; reconnecting in"
	since="the first unanswered source request"
	event="source request: never answering"
	;;
deaf)
	what="$where no progress sending for 4 s \(after [0-9.]+ s streaming\); reconnecting in"
	since="the first source request answered (the server's window fills first)"
	event="source request: answered 200"
	;;
reset)
	wait_mount /faulty.mp3 20 || fail "/faulty.mp3 never went live"
	what="$where connection lost after [0-9.]+ s \([^)]*\); reconnecting in"
	since="the reset"
	event="^[0-9.]* reset$"
	;;
esac
wait_log_for "$what" 1 40
t_logged=$(now)
event_time "$event" 5
printf "%s: logged %.2f s after %s\n" "$FAULT_MODE" "$(echo "$t_logged - $EVENT_AT" | bc)" "$since"
# Silent: the next attempt times out alike.
[ "$FAULT_MODE" = silent ] && wait_log_for "$what" 2 20
grep "output faulty" "$WORK/station.log"

if [ "$FAULT_MODE" = reset ]; then
	t_recovered=$EVENT_AT
else
	kill -USR1 "$FAULT_PID"
	t_recovered=$(now)
fi
end=$(( $(date +%s) + 20 ))
until grep -q "forwarding a source request" "$WORK/fault/events" &&
      mount_listed /faulty.mp3; do
	[ "$(date +%s)" -lt "$end" ] || break
	sleep 0.1
done
t_back=$(now)
back=$(printf "%.2f" "$(echo "$t_back - $t_recovered" | bc)")
echo "$FAULT_MODE: /faulty.mp3 live again $back s after the server recovered"
mount_listed /faulty.mp3 || fail "/faulty.mp3 not back within 20 s"
awk -v b="$back" 'BEGIN { exit !(b <= 15) }' ||
	fail "/faulty.mp3 back only $back s after the server recovered"

# The healthy mount, as its listener heard it.
wait "$LISTEN_PID" || fail "the listener on /forever.mp3 failed"
LISTEN_PID=""
cat "$WORK/healthy.timing"
frames=$("$TOOLS/mpeg_frames" "$WORK/healthy.mp3") ||
	fail "no frames on /forever.mp3"
echo "healthy: $frames"
case "$frames" in
*" resyncs=0 bitrate_kbps=128 "*) ;;
*) fail "broken frames on /forever.mp3: $frames" ;;
esac
lag=$(sed -n 's/.*max_lag_s=\([-0-9.]*\).*/\1/p' "$WORK/healthy.timing")
awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 0.5) }' ||
	fail "/forever.mp3 fell $lag s behind real time while /faulty.mp3 stalled"
secs=$(echo "$frames" | sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p')
awk -v s="$secs" -v l="$LISTEN_S" 'BEGIN { exit !(s >= l - 0.5) }' ||
	fail "/forever.mp3: $secs s of audio in $LISTEN_S s of listening"
if grep -E "output healthy: .*(lost|fell behind|no progress|no answer|retrying)" \
	"$WORK/station.log"; then
	fail "the healthy output was disturbed"
fi
grep -q "ring: reader 0 fell behind" "$WORK/station.log" &&
	fail "the ring dropped the healthy output"

station_stop || fail "station exited with an error on SIGTERM"
echo "ok"
