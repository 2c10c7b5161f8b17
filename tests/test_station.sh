#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_station — `foreverfm run` end to end against a real icecast2: both
# mounts (MP3 and chained Ogg) come up and carry audio a listener can
# decode, with the ICY title of a track of the library; SIGUSR1 reports
# both outputs connected; SIGHUP reloads without dropping the connections;
# SIGTERM fades out and exits 0 well inside the 10 s deadline. The library
# path in the config is relative (to the config file's directory).
#
# Exit: 0 pass, 1 fail, 77 skip (no icecast2, sox or ffmpeg), 99 could not
# run. Icecast's logs and ours are printed on failure (tests/lib.sh).
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
[ -x "$FOREVERFM" ] && [ -x "$TOOLS/icy_listen" ] ||
	{ echo "build first" >&2; exit 99; }
need_tools sox ffmpeg ffprobe ogginfo

work_setup station
icecast_start || exit
fixture_library "$WORK/music"
station_config "$WORK/station.ini" music
log="$WORK/station.log"
station_start "$WORK/station.ini"
wait_log 'output mp3: streaming'
wait_log 'output ogg: streaming'

# Listen to both mounts at once, as two listeners would.
listen /forever.mp3 6 "$WORK/l.mp3" "$WORK/l.meta" &
l1=$!
listen /forever.ogg 6 "$WORK/l.ogg" /dev/null &
l2=$!
sleep 3
# A reload in the middle of listening: nothing may drop.
sed -i 's/^crossfade_seconds = 2$/crossfade_seconds = 3/' "$WORK/station.ini"
kill -HUP "$STATION_PID"
wait $l1 || fail "mp3 listener failed"
wait $l2 || fail "ogg listener failed"
wait_log 'reload: crossfade 3 s'
grep -q 'restart to take effect' "$log" && fail "a restart notice for nothing"

set -- $(ffprobe -v error -select_streams a:0 -show_entries \
	stream=codec_name,sample_rate,channels -of csv=p=0 "$WORK/l.mp3" | tr , ' ')
[ "$1 $2 $3" = "mp3 44100 2" ] || fail "mp3 mount: $*"
set -- $(ffprobe -v error -select_streams a:0 -show_entries \
	stream=codec_name,sample_rate,channels -of csv=p=0 "$WORK/l.ogg" | tr , ' ')
[ "$1 $2 $3" = "vorbis 44100 2" ] || fail "ogg mount: $*"
# 6 s at 128 kbps is 96 000 bytes, plus Icecast's burst at connect; a
# break of a second or more in the stream would cost 16 000 of them.
bytes=$(wc -c <"$WORK/l.mp3")
[ "$bytes" -ge 90000 ] || fail "mp3 listener got only $bytes bytes"
grep -Eq "	(Tone Artist [ABC] - [A-Za-z ]+|tone-330)\$" "$WORK/l.meta" ||
	fail "no ICY title of a library track: $(cat "$WORK/l.meta")"

kill -USR1 "$STATION_PID"
wait_log 'status: playing'
grep 'status: playing' "$log" | tail -n 1 |
	grep -q 'mp3 /forever.mp3 connected.*ogg /forever.ogg connected' ||
	fail "status line: $(grep 'status:' "$log" | tail -n 1)"
grep -q "$ICECAST_PASSWORD" "$log" && fail "the password is in the log"

# Stop: fade out, drain, disconnect, exit 0, in less than the deadline.
t0=$(date +%s)
station_stop
st=$?
took=$(( $(date +%s) - t0 ))
[ $st -eq 0 ] || fail "exit $st after SIGTERM"
[ $took -lt 10 ] || fail "stopping took $took s"
grep -q 'fading out' "$log" || fail "no fade out"
grep -q 'output mp3: /forever.mp3: stream ended' "$log" ||
	fail "mp3 output did not end its stream"
grep -q '^<6>stopped$' "$log" || fail "no clean stop"
grep -q 'exiting now' "$log" && fail "stopped by the deadline"

echo "PASS: test_station ($took s to stop)"
exit 0
