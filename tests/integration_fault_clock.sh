#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_clock — the wall clock steps while the station streams
# to a real icecast2: one hour forward, back to the true time, and one hour
# behind it (issue 19, the fault suite). Only the station's process sees
# the steps: it runs under libfaketime (Debian's faketime package), whose
# offset is read from a file of the test's own ($WORK/faketime, through
# FAKETIME_TIMESTAMP_FILE with FAKETIME_NO_CACHE) and rewritten mid-run.
# The machine's clock, Icecast's and the listener's are never touched.
#
# The fault is a wall-clock step, as an NTP step or an operator's `date
# -s` makes one: CLOCK_REALTIME moves, CLOCK_MONOTONIC does not
# (FAKETIME_DONT_FAKE_MONOTONIC=1; libfaketime fakes both by default, which
# no real clock does). That the step reached the station is checked from
# what it writes with the wall clock: each play's started_at in the
# catalog.
#
# Four tone tracks of 10 s, 2 s crossfades: a title change every 8 s or
# so. A listener connected across all three steps (60 s, a step every
# 15 s) asserts what a listener relies on: valid frames; audio that never
# falls behind real time (no gap, no stall) and never runs ahead of it by
# more than the output's lead beyond Icecast's burst (pacing by the
# monotonic clock: a station that paced by the wall clock would send an
# hour at once on the forward step, and nothing for an hour on the back
# step); a title change in every 15 s between two steps, each within 1 s
# of the change the listener hears (tests/tone_track); and the outputs
# never reconnect. The station exits 0 on SIGTERM.
#
# FAULT_CLOCK_MONOTONIC=1 fakes the monotonic clock too (libfaketime's
# default), which no real clock does, so it is not part of make check; by
# hand it passes as well, the outputs restarting their pacing at each jump
# (before they did, +1 h sent 510 s of audio at once and -1 h silenced the
# station for the hour). On the old output, whose pacing gave up when an
# absolute sleep failed, the default run streamed 72 minutes of audio in
# its 60 s (libfaketime's EINVAL, below).
#
# Skips (77) without libfaketime. Every process is ended by its PID in the
# EXIT trap; every wait is bounded.
. "$top_srcdir/tests/lib.sh"

FAKETIME_LIB=""
for d in /usr/lib/*/faketime /usr/lib/faketime /usr/local/lib/faketime \
	 /usr/lib64/faketime; do
	if [ -f "$d/libfaketime.so.1" ]; then
		FAKETIME_LIB="$d/libfaketime.so.1"
		break
	fi
done
[ -n "$FAKETIME_LIB" ] ||
	{ echo "SKIP: libfaketime not found (Debian package faketime)"; exit 77; }
need_tools sqlite3 bc
# The binary under test (FAULT_FOREVERFM: an older build, to see it fail).
FOREVERFM=${FAULT_FOREVERFM:-$FOREVERFM}

it_setup
LISTEN_PID=""
clock_cleanup() {
	status=$?
	if [ -n "$LISTEN_PID" ]; then
		kill "$LISTEN_PID" 2>/dev/null
		wait "$LISTEN_PID" 2>/dev/null
	fi
	(exit "$status")
	it_cleanup
}
trap clock_cleanup EXIT

# The offset the station sees, in seconds; libfaketime reads it at every
# call (FAKETIME_NO_CACHE). Written whole by a rename, so that no call
# reads a half-written file.
set_offset() {
	printf '%+d\n' "$1" > "$WORK/faketime.new"
	mv "$WORK/faketime.new" "$WORK/faketime"
}
set_offset 0
# libfaketime must see the step in this process tree at all.
before=$(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/faketime" \
	FAKETIME_NO_CACHE=1 date +%s)
set_offset 3600
after=$(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/faketime" \
	FAKETIME_NO_CACHE=1 date +%s)
set_offset 0
[ $((after - before)) -ge 3599 ] && [ $((after - before)) -le 3605 ] ||
	{ echo "SKIP: libfaketime does not step this process's clock ($before, $after)"; exit 77; }

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 10 "Clock" "one" "$lib/a.mp3"
gen_tone 554 10 "Clock" "two" "$lib/b.mp3"
gen_tone 659 10 "Clock" "three" "$lib/c.ogg"
gen_tone 784 10 "Clock" "four" "$lib/d.mp3"
station_config "$WORK/station.ini" "$lib"
sed -i "/^database = /a min_duration = 5" "$WORK/station.ini"

# libfaketime 0.9.10 with CLOCK_MONOTONIC left alone gets absolute waits
# on it wrong: its "monotonic fix" for pthread_cond_timedwait() returns at
# once (FAKETIME_FORCE_MONOTONIC_FIX=0 turns that off), and
# clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) fails with EINVAL
# whatever the deadline (no switch: the output's pacing must cope, see
# src/output.c).
dont_fake_monotonic=1 monotonic_fix=0
[ "${FAULT_CLOCK_MONOTONIC:-0}" = 1 ] && dont_fake_monotonic=0 monotonic_fix=1
# A sanitizer build's runtime must come first among the libraries; here
# libfaketime does, which is harmless for this test.
env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/faketime" \
	FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=$dont_fake_monotonic \
	FAKETIME_FORCE_MONOTONIC_FIX=$monotonic_fix \
	ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
	"$FOREVERFM" run -c "$WORK/station.ini" >>"$WORK/station.log" 2>&1 &
STATION_PID=$!
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
wait_log 'output mp3: streaming'
# Every track analysed, so that the window measures streaming, not
# analysis children.
end=$(( $(date +%s) + 60 ))
until [ "$(sql 'SELECT count(*) FROM analysis')" -ge 4 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || fail "the library was not analysed in 60 s"
	sleep 0.3
done

LISTEN_S=60
STEP_S=15
timeout $((LISTEN_S + 30)) "$TOOLS/icy_listen" "$BASE_URL/forever.mp3" \
	"$LISTEN_S" "$WORK/clock.mp3" "$WORK/clock.meta" "$WORK/clock.timing" &
LISTEN_PID=$!
t0=$(date +%s.%N)

# sleep_until SECONDS: sleeps until SECONDS after the listener started.
sleep_until() {
	left=$(echo "$t0 + $1 - $(date +%s.%N)" | bc)
	case "$left" in -*|0) return 0 ;; esac
	sleep "$left"
}
# newest_play: the started_at (the station's wall clock) of its newest
# play; a play is written as it is announced, so it differs from the true
# time by the clock's offset and a second or so.
newest_play() { sql 'SELECT started_at FROM plays ORDER BY id DESC LIMIT 1'; }

plays0=$(grep -c 'mixer: now playing' "$WORK/station.log")
sleep_until $STEP_S
echo "step: +1 h at $(date -u +%T)"
set_offset 3600
# The next play is stamped an hour ahead: the station saw the step.
wait_log 'mixer: now playing' $(( $(grep -c 'mixer: now playing' "$WORK/station.log") + 1 ))
sleep 0.5
ahead=$(( $(newest_play) - $(date +%s) ))
echo "the station's newest play is stamped $ahead s from the true time"
[ "$ahead" -ge 3500 ] || fail "the station did not see the +1 h step (play stamped $ahead s off)"

sleep_until $((2 * STEP_S))
echo "step: back 1 h (the true time) at $(date -u +%T)"
set_offset 0
sleep_until $((3 * STEP_S))
echo "step: back 1 h more (1 h behind) at $(date -u +%T)"
set_offset -3600
wait_log 'mixer: now playing' $(( $(grep -c 'mixer: now playing' "$WORK/station.log") + 1 ))
sleep 0.5
behind=$(( $(newest_play) - $(date +%s) ))
echo "the station's newest play is stamped $behind s from the true time"
[ "$behind" -le -3500 ] || fail "the station did not see the -1 h step (play stamped $behind s off)"

n=0
while kill -0 "$LISTEN_PID" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -le $(( (LISTEN_S + 30) * 10 )) ] || fail "the listener hangs"
	sleep 0.1
done
wait "$LISTEN_PID" || fail "the listener failed"
LISTEN_PID=""
kill -0 "$STATION_PID" 2>/dev/null || fail "the station died"
set_offset 0

# --- Pacing: no gap, never behind, never far ahead.
cat "$WORK/clock.timing"
frames=$("$TOOLS/mpeg_frames" "$WORK/clock.mp3") || fail "no frames"
echo "$frames"
case "$frames" in
*" resyncs=0 bitrate_kbps=128 "*) ;;
*) fail "broken frames across the clock steps: $frames" ;;
esac
timing=$(cat "$WORK/clock.timing")
gap=$(echo "$timing" | sed 's/.*longest_gap_s=\([0-9.]*\).*/\1/')
lag=$(echo "$timing" | sed 's/.*max_lag_s=\([-0-9.]*\).*/\1/')
ahead=$(echo "$timing" | sed 's/.*max_ahead_s=\([-0-9.]*\).*/\1/')
secs=$(echo "$frames" | sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p')
awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 0.5) }' ||
	fail "the stream fell $lag s behind real time across the steps"
awk -v g="$gap" 'BEGIN { exit !(g < 1.0) }' ||
	fail "the stream stalled for $gap s across the steps"
# The output leads by at most OUTPUT_LEAD_MS (250 ms); Icecast forwards
# what comes as it comes, so anything past that and some jitter is a burst.
awk -v a="$ahead" 'BEGIN { exit !(a >= 0 && a < 1.0) }' ||
	fail "the stream ran $ahead s ahead of real time across the steps"
# Icecast's burst-on-connect (64 KB, about 4 s) plus what arrived in the
# listening time: not more, not less than real time by much.
awk -v s="$secs" -v l="$LISTEN_S" 'BEGIN { exit !(s >= l - 0.5 && s <= l + 6) }' ||
	fail "$secs s of audio in $LISTEN_S s of listening"

# --- Titles: a change between every two steps, each with the audio.
cat "$WORK/clock.meta"
ffmpeg -nostdin -loglevel error -i "$WORK/clock.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" "440:Clock - one" "554:Clock - two" \
		"659:Clock - three" "784:Clock - four" > "$WORK/audible"
cat "$WORK/audible"
grep -qx -- "$(printf '[0-9.]*\t-')" "$WORK/audible" &&
	fail "silence in the stream across the clock steps"
skipped=$(echo "$frames" | sed 's/.* skipped=\([0-9]*\) .*/\1/')
# Title changes (all but the title sent on connect), in seconds of audio.
tail -n +2 "$WORK/clock.meta" | awk -F '\t' -v s="$skipped" \
	'{ printf "%.3f\t%s\n", ($1 - s) / 16000, $2 }' > "$WORK/title_times"
# Audio second a listener heard at a real second: the burst (the audio
# received in the first second beyond one second) leads the clock.
burst=$(awk -v s="$secs" -v l="$LISTEN_S" 'BEGIN { printf "%.3f", s - l }')
k=0
while [ "$k" -lt 4 ]; do
	from=$(echo "$burst + $k * $STEP_S" | bc)
	to=$(echo "$burst + ($k + 1) * $STEP_S" | bc)
	c=$(awk -F '\t' -v a="$from" -v b="$to" '$1 >= a && $1 < b' "$WORK/title_times" | wc -l)
	echo "title changes in $from..$to s of audio: $c"
	[ "$c" -ge 1 ] || fail "no title change between step $k and step $((k + 1))"
	k=$((k + 1))
done
while IFS="$(printf '\t')" read -r t_title title; do
	t_audible=$(awk -F '\t' -v t="$title" '$2 == t { print $1 }' "$WORK/audible" |
		awk -v x="$t_title" 'BEGIN { best = -1 } {
			d = $1 - x; if (d < 0) d = -d
			if (best < 0 || d < best) { best = d; v = $1 } } END { print v }')
	[ -n "$t_audible" ] || fail "no audible change for '$title'"
	echo "title '$title' at $t_title s, audible at $t_audible s"
	awk -v a="$t_title" -v b="$t_audible" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1.0) }' ||
		fail "title '$title' at $t_title s is more than 1 s from the audible change at $t_audible s"
done < "$WORK/title_times" || exit 1

[ "$(grep -c 'output mp3: streaming' "$WORK/station.log")" -eq 1 ] ||
	fail "the mp3 output reconnected across the clock steps"
[ "$(grep -c 'output ogg: streaming' "$WORK/station.log")" -eq 1 ] ||
	fail "the ogg output reconnected across the clock steps"
station_stop || fail "the station did not exit 0"
echo ok
