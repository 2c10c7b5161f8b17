#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_cli — the foreverfm command line as a user meets it: help, version,
# usage errors (exit 2), `check` on good and bad files, `render` of the
# generated test music to WAV, MP3 and Ogg (lengths and formats measured
# with sox/ffprobe), renders that must fail without leaving a file behind,
# and `run` without an Icecast: status, reload (bad and good), stop.
#
# Exit: 0 pass, 1 fail, 77 skip (no sox/ffmpeg), 99 could not run.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
ffm="$top_builddir/foreverfm"
[ -x "$ffm" ] || { echo "no $ffm" >&2; exit 99; }
for tool in sox soxi ffprobe ffmpeg ogginfo; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "SKIP: $tool not found" >&2
		exit 77
	}
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-cli-XXXXXX") || exit 99
station_pid=
cleanup() {
	[ -n "$station_pid" ] && kill -9 "$station_pid" 2>/dev/null
	chmod -R u+w "$tmp" 2>/dev/null
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
	for f in "$tmp/out" "$tmp/err"; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}

# expect STATUS CMD... — runs CMD with stdout/stderr in $tmp/out, $tmp/err.
expect() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "exit $got, not $want: $*"
}

lines() { wc -l <"$1" | tr -d ' '; }

# near A B TOL — |A - B| <= TOL
near() {
	awk -v a="$1" -v b="$2" -v t="$3" \
		'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# --- help, version, usage errors -------------------------------------------
expect 0 "$ffm" --help
grep -q '^Usage: foreverfm' "$tmp/out" || fail "--help prints no usage"
[ -s "$tmp/err" ] && fail "--help wrote to stderr"
expect 0 "$ffm" render --help
grep -q 'render -o OUT' "$tmp/out" || fail "render --help"
expect 0 "$ffm" --version
grep -qx 'foreverfm [0-9][0-9.]*' "$tmp/out" || fail "--version: $(cat "$tmp/out")"

expect 2 "$ffm" --bogus
grep -q '^Usage: foreverfm' "$tmp/err" || fail "no usage on stderr for --bogus"
[ -s "$tmp/out" ] && fail "usage error wrote to stdout"
expect 2 "$ffm" frobnicate
grep -q "unknown command 'frobnicate'" "$tmp/err" || fail "unknown command"
expect 2 "$ffm" render -d 10 "$tmp"
grep -q 'render needs -o' "$tmp/err" || fail "render without -o"
expect 2 "$ffm" render -o "$tmp/x.wav" "$tmp"
expect 2 "$ffm" render -o "$tmp/x.wav" -d abc "$tmp"
grep -q "duration: must be a number" "$tmp/err" || fail "-d abc"
expect 2 "$ffm" render -o "$tmp/x.wav" -d 0 "$tmp"
expect 2 "$ffm" render -o "$tmp/x.wav" -d 10 --seed -1 "$tmp"
expect 2 "$ffm" render -o "$tmp/x.wav" -d 10
grep -q 'render needs PATH' "$tmp/err" || fail "render without music"
expect 2 "$ffm" render -o "$tmp/x.flac" -d 10 "$tmp"
grep -q 'unknown format' "$tmp/err" || fail "render .flac"
[ -e "$tmp/x.flac" ] || [ -e "$tmp/x.flac.tmp" ] && fail "file left by .flac"
expect 2 "$ffm" check -c /dev/null "$tmp"
expect 2 "$ffm" run -o "$tmp/x.wav"
grep -q 'only for the render command' "$tmp/err" || fail "run -o"

# --- check --------------------------------------------------------------------
mkdir "$tmp/music" "$tmp/empty" || exit 99
printf 'secret-pw-1\n' >"$tmp/pw"
cat >"$tmp/good.ini" <<EOF
[library]
path = music
database = catalog.db
[icecast]
port = 8000
password_file = pw
[output.mp3]
mount = /forever.mp3
format = mp3
[output.ogg]
mount = /forever.ogg
format = ogg
quality = 0.3
EOF
expect 0 "$ffm" check -c "$tmp/good.ini"
[ "$(head -n 1 "$tmp/out")" = "$tmp/good.ini: ok" ] || fail "check: first line"
grep -qx "output mp3: /forever.mp3, mp3 128 kbps CBR" "$tmp/out" ||
	fail "check: mp3 summary"
grep -qx "output ogg: /forever.ogg, ogg quality 0.3, chained" "$tmp/out" ||
	fail "check: ogg summary"
grep -qx "  path $tmp/music" "$tmp/out" || fail "check: relative path"
grep -q "secret-pw-1" "$tmp/out" "$tmp/err" && fail "check shows the password"

printf '[icecast]\npassword = secret-pw-2\nport = abc\n' >"$tmp/bad.ini"
expect 2 "$ffm" check -c "$tmp/bad.ini"
[ "$(lines "$tmp/err")" -eq 1 ] || fail "check: not one error line"
[ "$(cat "$tmp/err")" = \
  "$tmp/bad.ini:3: [icecast] port: must be 1..65535, got 'abc'" ] ||
	fail "check: error line"
[ -s "$tmp/out" ] && fail "check: bad file printed a summary"

printf '[icecast]\npassword = secret-pw-3\npassword = x\n' >"$tmp/bad.ini"
expect 2 "$ffm" check -c "$tmp/bad.ini"
grep -q "secret-pw-3" "$tmp/err" && fail "check echoed the password"
expect 2 "$ffm" check -c "$tmp/nonexistent.ini"
grep -q "No such file" "$tmp/err" || fail "check: missing file"
printf '[library]\npath = /x\n' >"$tmp/nooutput.ini"
expect 2 "$ffm" check -c "$tmp/nooutput.ini"
grep -q "output.NAME.: missing" "$tmp/err" || fail "check: no output"

# The shipped example is valid.
expect 0 "$ffm" check -c "$top_srcdir/contrib/foreverfm.ini"

# --- render -------------------------------------------------------------------
fixtures="$top_builddir/tests/fixtures"
sh "$top_srcdir/tests/make-fixtures.sh" "$fixtures" || exit 99
for f in tone-440.mp3 tone-660.ogg tone-550.flac tone-330.wav; do
	cp "$fixtures/$f" "$tmp/music/" || exit 99
done

# measure FILE — prints "SECONDS RATE CHANNELS" of the decoded audio.
measure() {
	case $1 in
	*.wav) echo "$(soxi -D "$1") $(soxi -r "$1") $(soxi -c "$1")" ;;
	*.ogg) # libvorbisfile (sox) reads every link of a chained stream
		echo "$(sox "$1" -n stat 2>&1 |
			awk '/^Length/ { print $3 }') $(soxi -r "$1") $(soxi -c "$1")" ;;
	*.mp3) # decode whole: the LAME tag tells ffmpeg delay and padding
		bytes=$(ffmpeg -v error -i "$1" -f s16le -ac 2 -ar 44100 - | wc -c)
		rate=$(ffprobe -v error -select_streams a:0 -show_entries \
			stream=sample_rate -of csv=p=0 "$1")
		ch=$(ffprobe -v error -select_streams a:0 -show_entries \
			stream=channels -of csv=p=0 "$1")
		echo "$(awk -v b="$bytes" 'BEGIN { print b / 176400 }') $rate $ch" ;;
	esac
}

for ext in wav mp3 ogg; do
	out="$tmp/mix.$ext"
	expect 0 "$ffm" render -o "$out" -d 30 --seed 7 "$tmp/music"
	[ -s "$out" ] || fail "render $ext: no file"
	[ -e "$out.tmp" ] && fail "render $ext: left $out.tmp"
	set -- $(measure "$out")
	near "$1" 30 0.2 || fail "render $ext: $1 s, not 30 s"
	[ "$2" = 44100 ] || fail "render $ext: rate $2"
	[ "$3" = 2 ] || fail "render $ext: $3 channels"
	grep -q 'render: 00:00:00 ' "$tmp/err" || fail "render $ext: no first track line"
	[ "$(grep -c 'render: [0-9][0-9]:[0-9][0-9]:[0-9][0-9] ' "$tmp/err")" -ge 2 ] ||
		fail "render $ext: fewer than 2 tracks in 30 s"
	grep -q 'Tone Artist' "$tmp/err" || fail "render $ext: no titles logged"
done
# Music, not silence.
sox "$tmp/mix.wav" -n stat 2>&1 | awk '/^RMS +amplitude/ { exit !($3 > 0.05) }' ||
	fail "render wav: too quiet"
# Chained Ogg: one logical stream per track, each with its title.
ogginfo "$tmp/mix.ogg" >"$tmp/ogginfo" 2>&1
[ "$(grep -c 'New logical stream' "$tmp/ogginfo")" -ge 2 ] ||
	fail "render ogg: not chained"
grep -q 'TITLE=' "$tmp/ogginfo" || fail "render ogg: no TITLE comment"

# The whole fixture set, bad files included: still 30 s, bad ones logged.
expect 0 "$ffm" render -o "$tmp/all.wav" -d 30 --seed 3 "$fixtures"
set -- $(measure "$tmp/all.wav")
near "$1" 30 0.001 || fail "render of all fixtures: $1 s"

# An empty library: 30 s of silence, and a warning saying why.
expect 0 "$ffm" render -o "$tmp/silence.wav" -d 30 "$tmp/empty"
set -- $(measure "$tmp/silence.wav")
near "$1" 30 0.001 || fail "empty library: $1 s"
grep -q 'library is empty' "$tmp/err" || fail "empty library: not logged"
sox "$tmp/silence.wav" -n stat 2>&1 |
	awk '/^Maximum amplitude/ { exit !($3 == 0) }' ||
	fail "empty library: not silent"

# Unwritable places: exit 1, nothing left under either name.
expect 1 "$ffm" render -o "$tmp/nodir/out.wav" -d 5 "$tmp/music"
[ -e "$tmp/nodir" ] && fail "render created a directory"
if [ "$(id -u)" -ne 0 ]; then
	mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
	expect 1 "$ffm" render -o "$tmp/ro/out.wav" -d 5 "$tmp/music"
	[ -z "$(ls -A "$tmp/ro")" ] || fail "render left files in a read-only dir"
fi
# A write that fails half-way (file size limit): the partial file goes.
(
	trap '' XFSZ
	ulimit -f 200 # 512-byte blocks: 100 KiB, well under 30 s of WAV
	exec "$ffm" render -o "$tmp/big.wav" -d 30 "$tmp/music"
) >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "render over the file size limit: exit $?"
[ -e "$tmp/big.wav" ] || [ -e "$tmp/big.wav.tmp" ] &&
	fail "render left a partial file"
grep -q 'writing .*big.wav.tmp' "$tmp/err" || fail "render: write error not logged"

# Interrupted: exit 1, the partial file removed.
"$ffm" render -o "$tmp/long.mp3" -d 3600 "$tmp/music" >"$tmp/out" 2>"$tmp/err" &
pid=$!
n=0
until grep -q 'render: 00:00:00' "$tmp/err" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 300 ] && fail "long render did not start"
	sleep 0.1
done
kill -TERM $pid
wait $pid
st=$?
[ $st -eq 1 ] || fail "interrupted render: exit $st"
[ -e "$tmp/long.mp3" ] || [ -e "$tmp/long.mp3.tmp" ] &&
	fail "interrupted render left a file"
grep -q 'render: interrupted' "$tmp/err" || fail "interrupt not logged"

# --- run, without an Icecast ---------------------------------------------------
# A port nobody listens on: outputs retry in the background, the station
# itself runs, reloads and stops.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/run.ini" <<EOF
[library]
path = music
database = run.db
[icecast]
port = $port
password = secret-pw-4
[output.mp3]
mount = /forever.mp3
format = mp3
EOF
log="$tmp/run.log"
"$ffm" run -v -c "$tmp/run.ini" >"$tmp/run.out" 2>"$log" &
station_pid=$!

# wait_log PATTERN [COUNT] — until PATTERN appears COUNT times (default 1).
wait_log() {
	n=0
	until [ "$(grep -c -- "$1" "$log")" -ge "${2:-1}" ]; do
		kill -0 "$station_pid" 2>/dev/null || {
			cat "$log" >&2
			fail "station died waiting for: $1"
		}
		n=$((n + 1))
		[ $n -gt 300 ] && { cat "$log" >&2; fail "no '$1' in 30 s"; }
		sleep 0.1
	done
}
wait_log 'library: scanned 1 path.*4 playable'
kill -USR1 "$station_pid"
wait_log 'status: playing'
grep 'status: playing' "$log" | grep -q 'mp3 /forever.mp3 disconnected' ||
	fail "status line: $(grep 'status:' "$log")"

# A bad file: logged, the station goes on.
printf '[mix]\ncrossfade_seconds = 99\n' >>"$tmp/run.ini"
kill -HUP "$station_pid"
wait_log 'keeping the running configuration'
grep -q "run.ini:11: \[mix\] crossfade_seconds: must be a number 0..30, got '99'" \
	"$log" || fail "reload error line"
kill -0 "$station_pid" || fail "station died on a bad reload"

# A good file: rescan of the new paths, crossfade, restart notices.
cat >"$tmp/run.ini" <<EOF
[library]
path = music
path = empty
database = run.db
[icecast]
port = 1
password = secret-pw-4
[output.mp3]
mount = /forever.mp3
format = mp3
[mix]
crossfade_seconds = 3
EOF
kill -HUP "$station_pid"
wait_log 'library: scanned 2 paths'
grep -q 'reload: crossfade 3 s' "$log" || fail "reload: crossfade not applied"
grep -q '\[icecast\] changes need a restart' "$log" ||
	fail "reload: no restart notice for [icecast]"
grep -q "secret-pw-4" "$log" && fail "the password appeared in the log"

# Stop: nothing is connected, so it stops at once, exit 0.
kill -TERM "$station_pid"
n=0
while kill -0 "$station_pid" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 150 ] && { cat "$log" >&2; fail "station did not stop in 15 s"; }
	sleep 0.1
done
wait "$station_pid"
st=$?
station_pid=
[ $st -eq 0 ] || { cat "$log" >&2; fail "station exit $st after SIGTERM"; }
grep -q 'stopped' "$log" || fail "no 'stopped' in the log"

# run refuses what check refuses, with exit 2.
expect 2 "$ffm" run -c "$tmp/bad.ini"
expect 2 "$ffm" run -c "$tmp/nooutput.ini"

echo "PASS: test_cli"
exit 0
