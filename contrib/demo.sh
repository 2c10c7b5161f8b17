#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# contrib/demo.sh [MUSIC_DIR] — everything needed to hear foreverfm on a
# fresh Debian machine: installs the packages, builds (in build/), starts a
# local Icecast configured from contrib/icecast.xml (port 8000, or a free
# port when 8000 is taken), and streams MUSIC_DIR — or, with no argument, a
# small library of synthetic dance tracks (eight of three minutes, 118–132
# BPM) generated into build/demo/music so the mixing is audible. Before it
# streams it analyses the library and prints the tour the station will play;
# while it streams, the station's log says what it plays and how each
# transition is mixed (beatmatched, or why not). Prints the listen URLs;
# Ctrl-C stops both.
#
# Environment: PORT (default 8000), CROSSFADE (seconds, default 6),
# HTTP_PORT (the status server, [http]: default 8090; the URLs of the
# listener page, /api/nowplaying, /api/events and /metrics are printed).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. "$top/contrib/packages.sh"
foreverfm_install_packages

[ -x configure ] || ./autogen.sh
mkdir -p build
if [ ! -f build/Makefile ]; then
	(cd build && ../configure)
fi
make -C build -j"$(nproc)" >/dev/null

demo="$top/build/demo"
mkdir -p "$demo"
if [ $# -ge 1 ]; then
	music=$(cd "$1" && pwd) || { echo "no such directory: $1"; exit 2; }
else
	music="$demo/music"
	echo "generating a demo library in $music ..."
	sh "$top/contrib/make-demo-library.sh" "$music" 8 180
fi

harness="$top/tests/icecast-harness.sh"
export top_srcdir="$top"
sh "$harness" stop "$demo/icecast" >/dev/null 2>&1 || true
mkdir -p "$demo/icecast"
port=$(sh "$harness" start "$demo/icecast" "${PORT:-8000}" 2>/dev/null) ||
	port=$(sh "$harness" start "$demo/icecast")
station=""
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$station" ]; then
		kill -TERM "$station" 2>/dev/null   # fades out, disconnects
		wait "$station" 2>/dev/null || true
	fi
	sh "$harness" stop "$demo/icecast"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
sh "$harness" password "$demo/icecast" > "$demo/password"

cat > "$demo/foreverfm.ini" <<CFG
# Written by contrib/demo.sh
[library]
path = $music
database = $demo/catalog.db

[icecast]
host = 127.0.0.1
port = $port
password_file = $demo/password
name = foreverfm demo
description = an endless mix

[output.mp3]
mount = /forever.mp3
format = mp3
bitrate = 128

[output.ogg]
mount = /forever.ogg
format = ogg
quality = 0.4

[mix]
crossfade_seconds = ${CROSSFADE:-6}

[http]
listen = 127.0.0.1:${HTTP_PORT:-8090}
; the listener page from this checkout (make install puts it elsewhere)
www = $top/www
CFG
# The generated tracks share one artist: nothing to keep apart.
[ $# -ge 1 ] || printf '\n[brain]\nartist_separation = 0\n' >> "$demo/foreverfm.ini"

# Analysed first, so the station starts with the tour instead of shuffling
# while its analyzer catches up; the plan is the order it will play.
echo "analysing $music (cached in $demo/catalog.db) ..."
"$top/build/foreverfm" analyze -c "$demo/foreverfm.ini" ||
	echo "analysis failed for some tracks; they play unanalysed (crossfaded)"
"$top/build/foreverfm" plan -c "$demo/foreverfm.ini" || true

cat <<MSG

  foreverfm is streaming. Listen with any internet-radio app or player:

      http://127.0.0.1:$port/forever.mp3
      http://127.0.0.1:$port/forever.ogg

  e.g.  mpv http://127.0.0.1:$port/forever.mp3   (Icecast status: http://127.0.0.1:$port/)

  The listener page:  http://127.0.0.1:${HTTP_PORT:-8090}/
  Now playing, live:  curl http://127.0.0.1:${HTTP_PORT:-8090}/api/nowplaying
                      curl -N http://127.0.0.1:${HTTP_PORT:-8090}/api/events
  Metrics:            curl http://127.0.0.1:${HTTP_PORT:-8090}/metrics
MSG
"$top/build/foreverfm" run -c "$demo/foreverfm.ini" &
station=$!
echo "  Each transition is logged as it starts: \"mixer: beatmatched ...\" or"
echo "  \"mixer: crossfade ...; <why not beatmatched>\"; the title changes mid-way."
echo "  Ctrl-C stops. Add music to $music and run: kill -HUP $station"
echo
wait "$station"
