# SPDX-License-Identifier: GPL-3.0-or-later
#
# lib.sh — shared by the integration tests (tests/integration_*.sh): a real
# icecast2 on a free loopback port (tests/icecast-harness.sh), generated tone
# tracks whose truth is known, a foreverfm station run against them, and on
# failure the logs of both printed.
#
# A test sources this file, calls it_setup, and uses:
#   gen_tone FREQ SECONDS ARTIST TITLE OUT   an MP3 or Ogg (by OUT's
#                                            extension) sine tone with tags
#   station_config FILE LIBDIR [EXTRA]       writes a station config
#   station_start CONFIG / station_stop      runs foreverfm in the background
#   wait_mount MOUNT SECONDS                 polls status-json for the mount
#   listen MOUNT SECONDS AUDIO META          a player with Icy-MetaData: 1
#   fail MESSAGE                             prints logs, exits 1
# Everything lives in $WORK, removed on success and kept on failure.
#
# The other tests that run foreverfm as a user would (tests/test_*.sh) use
# work_setup instead of it_setup, and icecast_start when they need a server:
#   need_tools TOOL...       skips (77) unless every TOOL is on PATH
#   work_setup NAME          $WORK with an EXIT trap (work_cleanup) that
#                            kills a station left running
#   icecast_start            a real icecast2 in $WORK/icecast; returns the
#                            harness's status (77 skip, 99) when it fails
#   fixture_library DIR      the four tone tracks of make-fixtures.sh in DIR
#   station_start CONFIG [ARG...]  (ARGs go to `foreverfm run`)
#   wait_log PATTERN [COUNT] polls $WORK/station.log, fails after 30 s or
#                            when the station died

set -u

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"

FOREVERFM="$top_builddir/foreverfm"
HARNESS="$top_srcdir/tests/icecast-harness.sh"
TOOLS="$top_builddir/tests"

it_setup() {
	command -v icecast2 >/dev/null 2>&1 || { echo "icecast2 missing"; exit 77; }
	command -v ffmpeg >/dev/null 2>&1 || { echo "ffmpeg missing"; exit 77; }
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-it-XXXXXX")
	# icecast2 runs as icecast2:icecast after <changeowner>: let it in.
	chmod 755 "$WORK"
	STATION_PID=""
	ICECAST_DIR="$WORK/icecast"
	mkdir -p "$ICECAST_DIR"
	trap it_cleanup EXIT
	lsan_setup
	icecast_start || fail "icecast did not start"
}

# lsan_setup: libshout 2.4.6 leaks its handle in shout_free() after a close
# (see src/output.c); keep LeakSanitizer builds about our own leaks.
lsan_setup() {
	printf 'leak:libshout.so\n' > "$WORK/lsan.supp"
	LSAN_OPTIONS="suppressions=$WORK/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
}

# icecast_start: icecast2 in $ICECAST_DIR (default $WORK/icecast) on a free
# port; sets ICECAST_PORT, ICECAST_PASSWORD and BASE_URL. Returns the
# harness's status when it could not start one (77: no icecast2).
icecast_start() {
	ICECAST_DIR=${ICECAST_DIR:-$WORK/icecast}
	mkdir -p "$ICECAST_DIR"
	ICECAST_PORT=$(sh "$HARNESS" start "$ICECAST_DIR") || return
	ICECAST_PASSWORD=$(sh "$HARNESS" password "$ICECAST_DIR")
	BASE_URL="http://127.0.0.1:$ICECAST_PORT"
}

it_cleanup() {
	status=$?
	station_stop >/dev/null 2>&1
	sh "$HARNESS" stop "$ICECAST_DIR" >/dev/null 2>&1
	work_finish "$status"
}

# work_finish STATUS: removes $WORK when STATUS is 0, else keeps it and
# says where; exits STATUS.
work_finish() {
	if [ "$1" -eq 0 ]; then
		rm -rf "$WORK"
	else
		echo "work directory kept: $WORK"
	fi
	exit "$1"
}

# work_setup NAME: $WORK (foreverfm-NAME-XXXXXX, open to the icecast2 user)
# without starting anything; work_cleanup runs at exit.
work_setup() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-$1-XXXXXX") || exit 99
	chmod 755 "$WORK"
	STATION_PID=""
	ICECAST_DIR=""
	trap work_cleanup EXIT
	lsan_setup
}

# work_cleanup: a station still running is killed, not asked to stop: a
# test that passed has stopped its own, and after a failure it may be the
# station that hangs. Then Icecast stops (if icecast_start ran); $WORK is
# removed on success (read-only directories a test made included) and kept
# on failure.
work_cleanup() {
	status=$?
	if [ -n "$STATION_PID" ]; then
		kill -9 "$STATION_PID" 2>/dev/null
		wait "$STATION_PID" 2>/dev/null
	fi
	[ -n "$ICECAST_DIR" ] && sh "$HARNESS" stop "$ICECAST_DIR" >/dev/null 2>&1
	[ "$status" -eq 0 ] && chmod -R u+rwx "$WORK" 2>/dev/null
	work_finish "$status"
}

# clicktrack OUT BPM SECONDS [LEAD [RATE [CHANNELS]]]: a click on every
# beat, the first LEAD seconds in (0.2), accented (2 kHz, louder) every
# fourth, at RATE Hz (44100) and CHANNELS (2); the format follows OUT's
# extension (sox). The recipe of tests/make-analysis-fixtures.sh. Scratch
# files go to $WORK.
clicktrack() {
	out=$1 bpm=$2 secs=$3 lead=${4:-0.2} rate=${5:-44100} ch=${6:-2}
	per=$(echo "60 / $bpm" | bc -l)
	rest=$(echo "$per - 0.03" | bc -l)
	sox -V1 -n -r "$rate" -c "$ch" "$WORK/n.wav" synth 0.03 sine 1000 \
		fade 0 0.03 0.025 vol 0.3 pad 0 "$rest"
	sox -V1 -n -r "$rate" -c "$ch" "$WORK/a.wav" synth 0.03 sine 2000 \
		fade 0 0.03 0.025 vol 0.6 pad 0 "$rest"
	sox -V1 "$WORK/a.wav" "$WORK/n.wav" "$WORK/n.wav" "$WORK/n.wav" \
		"$WORK/bar.wav"
	bars=$(echo "$secs / (4 * $per) + 1" | bc)
	sox -V1 "$WORK/bar.wav" "$WORK/bars.wav" repeat "$bars"
	sox -V1 "$WORK/bars.wav" "$out" pad "$lead" 0 trim 0 "$secs"
	rm -f "$WORK/n.wav" "$WORK/a.wav" "$WORK/bar.wav" "$WORK/bars.wav"
}

# need_tools TOOL...: skips the test (exit 77) when a TOOL is missing.
need_tools() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || {
			echo "SKIP: $tool not found" >&2
			exit 77
		}
	done
}

# fixture_library DIR: the tone tracks of tests/make-fixtures.sh (MP3, Ogg,
# FLAC, WAV; tags and lengths documented there) copied into DIR. FIXTURES
# names the whole generated set.
fixture_library() {
	FIXTURES="$top_builddir/tests/fixtures"
	sh "$top_srcdir/tests/make-fixtures.sh" "$FIXTURES" || exit 99
	mkdir -p "$1" || exit 99
	for f in tone-440.mp3 tone-660.ogg tone-550.flac tone-330.wav; do
		cp "$FIXTURES/$f" "$1/" || exit 99
	done
}

fail() {
	echo "FAIL: $*"
	if [ -f "$WORK/station.log" ]; then
		echo "--- station log (last 80 lines)"
		tail -n 80 "$WORK/station.log"
	fi
	echo "--- icecast logs"
	sh "$HARNESS" logs "$ICECAST_DIR" 2>&1 | tail -n 40
	exit 1
}

gen_tone() {
	freq=$1 seconds=$2 artist=$3 title=$4 out=$5
	case "$out" in
	*.ogg) codec="-c:a libvorbis -q:a 4" ;;
	*) codec="-c:a libmp3lame -b:a 192k -id3v2_version 3" ;;
	esac
	# -12 dBFS sine in both channels.
	ffmpeg -nostdin -loglevel error -y -f lavfi \
		-i "sine=frequency=$freq:duration=$seconds:sample_rate=44100" \
		-af "volume=0.5" -ac 2 $codec \
		-metadata artist="$artist" -metadata title="$title" "$out" ||
		fail "ffmpeg could not make $out"
}

# free_port: prints a TCP port free on the loopback address now.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

station_config() {
	cfg=$1 lib=$2 extra=${3:-}
	printf '%s\n' "$ICECAST_PASSWORD" > "$WORK/password"
	cat > "$cfg" <<CFG
[library]
path = $lib
database = $WORK/catalog.db

[icecast]
host = 127.0.0.1
port = $ICECAST_PORT
user = source
password_file = $WORK/password
name = foreverfm test
description = integration test
genre = test
url = http://example.invalid/

[output.mp3]
mount = /forever.mp3
format = mp3
bitrate = 128

[output.ogg]
mount = /forever.ogg
format = ogg
quality = 0.4

[mix]
crossfade_seconds = 2
$extra
CFG
}

# station_start CONFIG [ARG...]: ARGs (-v) go to `foreverfm run`.
station_start() {
	"$FOREVERFM" run -c "$@" >>"$WORK/station.log" 2>&1 &
	STATION_PID=$!
}

# wait_log PATTERN [COUNT]: until PATTERN (grep's basic regular expression)
# is in $WORK/station.log COUNT times (default 1). Fails when the station
# died first, or after 30 s.
wait_log() {
	n=0
	while :; do
		c=$(grep -c -- "$1" "$WORK/station.log" 2>/dev/null)
		[ "${c:-0}" -ge "${2:-1}" ] && return 0
		kill -0 "$STATION_PID" 2>/dev/null ||
			fail "the station died before '$1' was in its log"
		n=$((n + 1))
		[ "$n" -le 300 ] || fail "no '$1' in the station log in 30 s"
		sleep 0.1
	done
}

station_stop() {
	[ -n "$STATION_PID" ] || return 0
	kill -TERM "$STATION_PID" 2>/dev/null
	wait "$STATION_PID"
	rc=$?
	STATION_PID=""
	return $rc
}

# mount_listed MOUNT: true when a source is live on MOUNT. Icecast keeps
# listing a configured mount (one with a fallback) after its source left;
# only a live one has a stream_start. Source objects are flat, so one per
# line after splitting at '{'.
mount_listed() {
	curl -fsS --max-time 2 "$BASE_URL/status-json.xsl" 2>/dev/null |
		tr '{' '\n' | grep "\"listenurl\":\"[^\"]*$1\"" |
		grep -q '"stream_start"'
}

wait_mount() {
	deadline=$(( $(date +%s) + $2 ))
	while ! mount_listed "$1"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# wait_mount_gone MOUNT SECONDS: Icecast tears a source down a moment after
# its client disconnects.
wait_mount_gone() {
	deadline=$(( $(date +%s) + $2 ))
	while mount_listed "$1"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

listen() {
	"$TOOLS/icy_listen" "$BASE_URL$1" "$2" "$3" "$4" ||
		fail "listening to $1 failed"
}

# sql QUERY: runs a query on the station's catalog.
sql() {
	sqlite3 -batch -noheader "$WORK/catalog.db" "$1"
}
