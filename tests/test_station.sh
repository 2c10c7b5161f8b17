#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_station — `foreverfm run` end to end against a real icecast2: both
# mounts (MP3 and chained Ogg) come up and carry audio a listener can
# decode, with the ICY title of a track of the library; SIGUSR1 reports
# both outputs connected; SIGHUP reloads without dropping the connections;
# SIGTERM fades out and exits 0 well inside the 10 s deadline.
#
# Exit: 0 pass, 1 fail, 77 skip (no icecast2, sox or ffmpeg), 99 could not
# run. Icecast's logs and ours are printed on failure.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
ffm="$top_builddir/foreverfm"
listen="$top_builddir/tests/icy_listen"
harness="$top_srcdir/tests/icecast-harness.sh"
[ -x "$ffm" ] && [ -x "$listen" ] || { echo "build first" >&2; exit 99; }
for tool in sox ffmpeg ffprobe ogginfo; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "SKIP: $tool not found" >&2
		exit 77
	}
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-station-XXXXXX") || exit 99
chmod 755 "$tmp" # icecast may run as another user and needs to enter
ice="$tmp/ice"
log="$tmp/station.log"
station_pid=
cleanup() {
	[ -n "$station_pid" ] && kill -9 "$station_pid" 2>/dev/null
	sh "$harness" stop "$ice" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
# libshout 2.4.6 leaks its handle in shout_free() after a close (see
# src/output.c); keep LeakSanitizer builds about our own leaks.
printf 'leak:libshout.so\n' >"$tmp/lsan.supp"
LSAN_OPTIONS="suppressions=$tmp/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

fail() {
	echo "FAIL: $*" >&2
	echo "--- foreverfm log" >&2
	cat "$log" >&2
	sh "$harness" logs "$ice" >&2 2>&1
	exit 1
}

mkdir "$ice" "$tmp/music" || exit 99
port=$(sh "$harness" start "$ice")
st=$?
[ $st -eq 0 ] || exit $st
password=$(sh "$harness" password "$ice")

fixtures="$top_builddir/tests/fixtures"
sh "$top_srcdir/tests/make-fixtures.sh" "$fixtures" || exit 99
for f in tone-440.mp3 tone-660.ogg tone-550.flac tone-330.wav; do
	cp "$fixtures/$f" "$tmp/music/" || exit 99
done
printf '%s\n' "$password" >"$tmp/password"
cat >"$tmp/station.ini" <<EOF
[library]
path = music
database = catalog.db
[icecast]
port = $port
password_file = password
name = foreverfm test
[output.mp3]
mount = /forever.mp3
format = mp3
bitrate = 128
[output.ogg]
mount = /forever.ogg
format = ogg
[mix]
crossfade_seconds = 2
EOF

"$ffm" run -c "$tmp/station.ini" >/dev/null 2>"$log" &
station_pid=$!

# wait_log PATTERN [COUNT] — until PATTERN is in the log COUNT times.
wait_log() {
	n=0
	until [ "$(grep -c -- "$1" "$log")" -ge "${2:-1}" ]; do
		kill -0 "$station_pid" 2>/dev/null || fail "foreverfm died"
		n=$((n + 1))
		[ $n -gt 300 ] && fail "no '$1' in 30 s"
		sleep 0.1
	done
}
wait_log 'output mp3: streaming'
wait_log 'output ogg: streaming'

# Listen to both mounts at once, as two listeners would.
"$listen" "http://127.0.0.1:$port/forever.mp3" 6 "$tmp/l.mp3" "$tmp/l.meta" &
l1=$!
"$listen" "http://127.0.0.1:$port/forever.ogg" 6 "$tmp/l.ogg" /dev/null &
l2=$!
sleep 3
# A reload in the middle of listening: nothing may drop.
sed -i 's/^crossfade_seconds = 2$/crossfade_seconds = 3/' "$tmp/station.ini"
kill -HUP "$station_pid"
wait $l1 || fail "mp3 listener failed"
wait $l2 || fail "ogg listener failed"
wait_log 'reload: crossfade 3 s'
grep -q 'restart to take effect' "$log" && fail "a restart notice for nothing"

set -- $(ffprobe -v error -select_streams a:0 -show_entries \
	stream=codec_name,sample_rate,channels -of csv=p=0 "$tmp/l.mp3" | tr , ' ')
[ "$1 $2 $3" = "mp3 44100 2" ] || fail "mp3 mount: $*"
set -- $(ffprobe -v error -select_streams a:0 -show_entries \
	stream=codec_name,sample_rate,channels -of csv=p=0 "$tmp/l.ogg" | tr , ' ')
[ "$1 $2 $3" = "vorbis 44100 2" ] || fail "ogg mount: $*"
# 6 s at 128 kbps is 96 000 bytes, plus Icecast's burst at connect; a
# break of a second or more in the stream would cost 16 000 of them.
bytes=$(wc -c <"$tmp/l.mp3")
[ "$bytes" -ge 90000 ] || fail "mp3 listener got only $bytes bytes"
grep -Eq "	(Tone Artist [ABC] - [A-Za-z ]+|tone-330)\$" "$tmp/l.meta" ||
	fail "no ICY title of a library track: $(cat "$tmp/l.meta")"

kill -USR1 "$station_pid"
wait_log 'status: playing'
grep 'status: playing' "$log" | tail -n 1 |
	grep -q 'mp3 /forever.mp3 connected.*ogg /forever.ogg connected' ||
	fail "status line: $(grep 'status:' "$log" | tail -n 1)"
grep -q "$password" "$log" && fail "the password is in the log"

# Stop: fade out, drain, disconnect, exit 0, in less than the deadline.
t0=$(date +%s)
kill -TERM "$station_pid"
wait "$station_pid"
st=$?
station_pid=
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
