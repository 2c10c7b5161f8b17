#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_station_analysis — the station analyses its library in the
# background while it streams to a real icecast2.
#
# Asserts: the station goes on the air at once with an unanalysed library
# (the mount is up before the analysis is done); every track gets its
# analysis row while listeners keep receiving audio; a file added and
# announced with SIGHUP is analysed too; a file whose analysis child hangs
# (FOREVERFM_ANALYZE_TEST_HOOK) does not hold the station up, and SIGTERM
# stops the station promptly with no analysis child left behind. The
# children are exec'd: the hanging one is the foreverfm binary running
# `analyze-worker` on hang-me.mp3 (its /proc exe and cmdline), holding
# none of the station's sockets or files (descriptors 0-3 only).
. "$top_srcdir/tests/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || { echo "sqlite3 missing"; exit 77; }
it_setup

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 25 "Tone" "A" "$lib/a.mp3"
gen_tone 554 25 "Tone" "C sharp" "$lib/b.ogg"
gen_tone 659 25 "Tone" "E" "$lib/c.mp3"
gen_tone 330 25 "Tone" "Hangs" "$lib/hang-me.mp3"

station_config "$WORK/station.ini" "$lib" "[analysis]
workers = 2
timeout_seconds = 600"
FOREVERFM_ANALYZE_TEST_HOOK=hang:hang-me
export FOREVERFM_ANALYZE_TEST_HOOK
station_start "$WORK/station.ini"
unset FOREVERFM_ANALYZE_TEST_HOOK
# On the air although the analysis of hang-me.mp3 never ends: the station
# does not wait for the analysis.
wait_mount /forever.mp3 20 || fail "the mount did not come up"

deadline=$(( $(date +%s) + 60 ))
until [ "$(sql 'SELECT count(*) FROM analysis')" -ge 3 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] ||
		fail "the library was not analysed in the background"
	sleep 0.3
done
grep -q "analyzer: 4 tracks to analyse, 2 at a time" "$WORK/station.log" ||
	fail "the analyzer did not log its work"
listen /forever.mp3 3 "$WORK/audio.mp3" "$WORK/meta.txt"
[ "$(wc -c < "$WORK/audio.mp3")" -gt 20000 ] ||
	fail "listeners got no audio while the analysis ran"

# A new file, announced with SIGHUP, is analysed too.
gen_tone 880 20 "Tone" "New" "$lib/new.ogg"
kill -HUP "$STATION_PID"
deadline=$(( $(date +%s) + 60 ))
until [ "$(sql "SELECT count(*) FROM tracks t JOIN analysis a USING (content_hash) WHERE CAST(t.path AS TEXT) LIKE '%/new.ogg'")" -eq 1 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] ||
		fail "a file added at SIGHUP was not analysed"
	sleep 0.3
done

# The hung child is still there; SIGTERM must end it with the station.
pgrep -f "foreverfm run -c $WORK/station.ini" >/dev/null ||
	fail "no station process?"
[ "$(pgrep -c -P "$STATION_PID")" -ge 1 ] ||
	fail "the hanging analysis child is not running"
worker=$(pgrep -P "$STATION_PID" -f "analyze-worker .*$lib/hang-me.mp3") ||
	fail "the hanging child is not an exec'd analyze-worker: $(ps -o pid,args --ppid "$STATION_PID")"
[ "$(readlink "/proc/$worker/exe")" = "$(readlink -f "$FOREVERFM")" ] ||
	fail "the analysis child runs $(readlink "/proc/$worker/exe"), not $FOREVERFM"
fds=$(ls "/proc/$worker/fd" | sort -n | tr '\n' ' ')
[ "$fds" = "0 1 2 3 " ] || fail "the analysis child holds descriptors $fds"
t0=$(date +%s)
station_stop || fail "the station did not stop cleanly"
t1=$(date +%s)
[ $((t1 - t0)) -le 8 ] || fail "stopping took $((t1 - t0)) s"
sleep 0.2
if pgrep -f "foreverfm run -c $WORK/station.ini" >/dev/null ||
   pgrep -f "analyze-worker .*$lib/" >/dev/null; then
	fail "an analysis child outlived the station"
fi
# Under ASan+UBSan (contrib/test.sh), the workers' reports land in the
# station's log (their stderr): a leak or an error in a worker fails too.
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/station.log"; then
	fail "a sanitizer report in the station's log"
fi
# Not bad: it was interrupted, and is tried again at the next start.
[ "$(sql "SELECT count(*) FROM tracks WHERE bad_reason IS NOT NULL")" -eq 0 ] ||
	fail "a track was marked bad"
echo ok
