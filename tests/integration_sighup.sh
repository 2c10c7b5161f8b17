#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_sighup — reloads under fire, against a real icecast2: a
# station streaming short tone tracks (a transition every few seconds) gets
# 50 SIGHUPs in 10 s, each reload changing the crossfade and rescanning the
# library, and then a SIGHUP every 0.2 s for 6 s from the moment the mixer
# starts a transition (so both while the mixer renders it and while the
# listener hears it, a ring later); then the same round again.
#
# Asserts: no gap: a listener connected across the first round receives
# valid MP3 (no broken frame), a tone in every block (no silence,
# tests/tone_track) and 31 s or more of audio in 32 s, across at least one
# transition (two tones); a second listener never waits
# a second between two arrivals; the outputs never reconnect. No crash: the
# station is alive after every burst, reloads at least 40 times (signals
# that come during a reload coalesce) and exits 0 on SIGTERM. No leak: its
# descriptors and threads are as many after each round of 80 SIGHUPs as
# before; a second round grows its RSS by less than 1 MB (the first warms
# up SQLite's cache and malloc's arenas: RSS grows by some MB in the first
# minutes of any station). Under ASan+UBSan (a build configured with
# --enable-sanitizers; contrib/test.sh leaves this test out of its
# sanitizer run for CI's time), whose quarantine makes RSS meaningless,
# LeakSanitizer checks at exit instead
# (a leak is a non-zero exit status) and no sanitizer report may be in the
# log.
. "$top_srcdir/tests/lib.sh"
it_setup

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 9 "Hup" "One" "$lib/one.mp3"
gen_tone 554 9 "Hup" "Two" "$lib/two.ogg"
gen_tone 659 9 "Hup" "Three" "$lib/three.mp3"
gen_tone 784 9 "Hup" "Four" "$lib/four.ogg"

# crossfade CFG SECONDS: writes the config with that crossfade.
crossfade() {
	station_config "$1" "$lib"
	sed -i -e "s/^crossfade_seconds = .*/crossfade_seconds = $2/" \
		-e "/^database = /a min_duration = 5" "$1"
}
ini="$WORK/station.ini"
crossfade "$ini" 2
station_start "$ini"
wait_mount /forever.mp3 20 || fail "the mount did not come up"
wait_log 'output mp3: streaming'
# Every track analysed (cached from here on): the storm then measures
# reloads, not analysis children coming and going.
deadline=$(( $(date +%s) + 60 ))
until [ "$(sql 'SELECT count(*) FROM analysis')" -ge 4 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "the library was not analysed"
	sleep 0.3
done
# Past Icecast's burst-on-connect into the first second of the stream.
sleep 5

# proc_value KEY: a field of the station's /proc status (kB for VmRSS).
proc_value() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$STATION_PID/status"
}
fds() {
	ls "/proc/$STATION_PID/fd" | wc -l
}

# storm: 50 SIGHUPs in 10 s, the crossfade alternating between 2 and 3 s.
storm() {
	i=0
	while [ "$i" -lt 50 ]; do
		crossfade "$ini.new" $((2 + i % 2))
		mv "$ini.new" "$ini"
		kill -HUP "$STATION_PID" 2>/dev/null ||
			fail "the station died at SIGHUP $i"
		sleep 0.2
		i=$((i + 1))
	done
}

# transition_storm: from the moment the mixer starts its next transition,
# a SIGHUP every 0.2 s for 6 s.
transition_storm() {
	n=$(grep -c 'mixer: .* at [0-9.]* s: ' "$WORK/station.log")
	wait_log 'mixer: .* at [0-9.]* s: ' $((n + 1))
	i=0
	while [ "$i" -lt 30 ]; do
		kill -HUP "$STATION_PID" 2>/dev/null ||
			fail "the station died at SIGHUP $i of a transition"
		sleep 0.2
		i=$((i + 1))
	done
}

# quiet_counts TAG: once the last reload is over (signals that come while
# one runs coalesce), what the station holds: fds_TAG, threads_TAG, rss_TAG.
quiet_counts() {
	sleep 2
	kill -0 "$STATION_PID" 2>/dev/null || fail "the station died"
	eval "fds_$1=\$(fds) threads_$1=\$(proc_value Threads) rss_$1=\$(proc_value VmRSS)"
}

quiet_counts 0
reloads0=$(grep -c 'reload: reading' "$WORK/station.log")
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 32 "$WORK/hup.mp3" "$WORK/hup.meta" &
lp=$!
# A second listener notes the longest wait between two arrivals: a stall
# of the station that the burst-on-connect would hide from the byte count
# (Icecast forwards what the station sends as it comes).
python3 - "$ICECAST_PORT" > "$WORK/arrivals" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /forever.mp3 HTTP/1.0\r\nUser-Agent: arrivals\r\n\r\n")
end = time.monotonic() + 32
last = None
longest = 0.0
while time.monotonic() < end:
    if not s.recv(65536):
        break
    now = time.monotonic()
    if last is not None:
        longest = max(longest, now - last)
    last = now
print("%.3f" % longest)
PY
ap=$!
sleep 1
storm
transition_storm
wait $lp || fail "the listener failed"
wait $ap || fail "the arrivals listener failed"
quiet_counts 1
# The same again: what the first round warmed up (SQLite's cache, malloc's
# arenas) is in place, so a leak shows as growth in this round.
storm
transition_storm
quiet_counts 2

reloads=$(( $(grep -c 'reload: reading' "$WORK/station.log") - reloads0 ))
echo "reloads $reloads; fds $fds_0 $fds_1 $fds_2; threads $threads_0 $threads_1 $threads_2; RSS $rss_0 $rss_1 $rss_2 kB"
[ "$reloads" -ge 40 ] || fail "only $reloads of 160 SIGHUPs reloaded"
[ "$fds_1" -eq "$fds_0" ] && [ "$fds_2" -eq "$fds_0" ] ||
	{ ls -l "/proc/$STATION_PID/fd"; fail "descriptors: $fds_0, $fds_1, $fds_2"; }
[ "$threads_1" -eq "$threads_0" ] && [ "$threads_2" -eq "$threads_0" ] ||
	fail "threads: $threads_0, $threads_1, $threads_2"
if ldd "$FOREVERFM" 2>/dev/null | grep -q 'libasan'; then
	echo "ASan build: RSS not checked (LeakSanitizer checks at exit)"
else
	[ $((rss_2 - rss_1)) -lt 1024 ] ||
		fail "RSS grew by $((rss_2 - rss_1)) kB in the second 80 reloads"
fi

# No gap: valid frames, a tone all the time, as long as the listening.
frames=$("$TOOLS/mpeg_frames" "$WORK/hup.mp3") || fail "no frames"
echo "$frames"
case "$frames" in *" resyncs=0 "*) ;; *) fail "broken frames across the SIGHUPs: $frames" ;; esac
ffmpeg -nostdin -loglevel error -i "$WORK/hup.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" 440:one 554:two 659:three 784:four > "$WORK/audible"
cat "$WORK/audible"
grep -qx -- "$(printf '[0-9.]*\t-')" "$WORK/audible" &&
	fail "silence in the stream across the SIGHUPs"
[ "$(grep -cv '^end' "$WORK/audible")" -ge 2 ] ||
	fail "no transition heard while the SIGHUPs came"
secs=$(awk -F '\t' '$1 == "end" { print $2 }' "$WORK/audible")
awk -v s="$secs" 'BEGIN { exit !(s >= 31) }' || fail "only $secs s of audio in 32 s: a gap"
longest=$(cat "$WORK/arrivals")
echo "longest wait between arrivals on /forever.mp3: $longest s"
awk -v s="$longest" 'BEGIN { exit !(s > 0 && s < 1.0) }' ||
	fail "the stream stalled for $longest s"
[ "$(grep -c 'output mp3: streaming' "$WORK/station.log")" -eq 1 ] ||
	fail "the mp3 output reconnected"
[ "$(grep -c 'output ogg: streaming' "$WORK/station.log")" -eq 1 ] ||
	fail "the ogg output reconnected"

station_stop || fail "the station did not exit 0 (a crash, or a leak under LeakSanitizer)"
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/station.log"; then
	fail "a sanitizer report in the station's log"
fi
echo ok
