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
	ICECAST_PORT=$(sh "$HARNESS" start "$ICECAST_DIR") ||
		fail "icecast did not start"
	ICECAST_PASSWORD=$(sh "$HARNESS" password "$ICECAST_DIR")
	BASE_URL="http://127.0.0.1:$ICECAST_PORT"
}

it_cleanup() {
	status=$?
	station_stop >/dev/null 2>&1
	sh "$HARNESS" stop "$ICECAST_DIR" >/dev/null 2>&1
	if [ "$status" -eq 0 ]; then
		rm -rf "$WORK"
	else
		echo "work directory kept: $WORK"
	fi
	exit "$status"
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

station_start() {
	"$FOREVERFM" run -c "$1" >>"$WORK/station.log" 2>&1 &
	STATION_PID=$!
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
