#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_relay — the relay tier of doc/scaling.md, on loopback: two
# real icecast2 processes, a master configured from contrib/icecast.xml
# and a relay node from contrib/icecast-relay.xml (tests/icecast-harness.sh
# start-relay, <master-update-interval> 2 s instead of 15), and foreverfm
# streaming MP3 and Ogg to the master. Listeners only ever connect to the
# relay. Three tracks of distinct pitch, 8 s each, 2 s crossfades (a track
# change every 6 s), every title non-ASCII.
#
# Asserts:
# - steady state: an MP3 listener on the relay gets clean 128 kbit/s frames
#   in real time and a StreamTitle at each track change, every title
#   byte-exact; the relay's status page shows the title intact (charset);
#   an Ogg listener on the relay gets chained Vorbis streams whose TITLE
#   comments are the tracks' titles, byte-exact; the master counts one
#   listener per mount (the relay) however many listen on the relay;
# - the master restarts: the relay's MP3 and Ogg listeners stay connected
#   (the relay's fallback files) and hear the live mix with a title again
#   within the time contrib/icecast-relay.xml documents (at once, or the
#   interval after a failed attempt, plus foreverfm's own reconnection);
# - foreverfm restarts: the same (the master's fallback, passed through
#   the relay).
# Every process is ended by its PID at exit; every wait is bounded.
. "$top_srcdir/tests/lib.sh"

command -v icecast2 >/dev/null 2>&1 || { echo "SKIP: icecast2 missing"; exit 77; }
need_tools ffmpeg curl python3 ogginfo
icecast2 -v >/dev/null 2>&1 || { echo "SKIP: icecast2 cannot run here"; exit 77; }

INTERVAL=2
RELAY_DIR=""
LISTENERS=""
T0=$(date +%s)

# relay_cleanup: listeners and the relay by PID, then work_cleanup (the
# station, the master, $WORK). On failure the relay's logs too.
relay_cleanup() {
	rc=$?
	for p in $LISTENERS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$RELAY_DIR" ]; then
		if [ "$rc" -ne 0 ]; then
			echo "--- relay logs"
			sh "$HARNESS" logs "$RELAY_DIR" 2>&1 | tail -n 60
		fi
		sh "$HARNESS" stop "$RELAY_DIR" >/dev/null 2>&1
	fi
	echo "elapsed: $(( $(date +%s) - T0 )) s"
	(exit "$rc")
	work_cleanup
}

work_setup relay
trap relay_cleanup EXIT
# The master is contrib/icecast.xml, tested by every integration test: if
# it cannot start here, icecast2 cannot run here (skip). The relay node is
# this test's subject: if it cannot start, the test fails.
ICECAST_DIR="$WORK/master"
icecast_start || {
	rc=$?
	[ "$rc" -eq 77 ] || echo "SKIP: icecast2 cannot run here (status $rc)"
	exit 77
}
MASTER_URL=$BASE_URL

# live URL MOUNT: a source is live on MOUNT of the server at URL (lib.sh's
# mount_listed, for either server).
live() {
	curl -fsS --max-time 2 "$1/status-json.xsl" 2>/dev/null |
		tr '{' '\n' | grep "\"listenurl\":\"[^\"]*$2\"" |
		grep -q '"stream_start"'
}

wait_live() {
	deadline=$(( $(date +%s) + $3 ))
	until live "$1" "$2"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# listen_bg MOUNT SECONDS NAME: an icy_listen on the relay in the
# background; $WORK/NAME.{audio,meta,timing}; sets LP.
listen_bg() {
	"$TOOLS/icy_listen" "$RELAY_URL$1" "$2" "$WORK/$3.audio" \
		"$WORK/$3.meta" "$WORK/$3.timing" &
	LP=$!
	LISTENERS="$LISTENERS $LP"
}

# stat_field URL MOUNT FIELD: FIELD of MOUNT in URL's status-json.xsl.
stat_field() {
	curl -fsS --max-time 2 "$1/status-json.xsl" | python3 -c '
import json, sys
s = json.load(sys.stdin)["icestats"].get("source", [])
for m in s if isinstance(s, list) else [s]:
    if m.get("listenurl", "").endswith(sys.argv[1]):
        print(m.get(sys.argv[2], ""))' "$2" "$3"
}

lib="$WORK/music"
mkdir -p "$lib"
t1='Café "Zitat" l'"'"'été — 日本語 🎵'
t2='Jóga ü'
t3='Τραγούδι ☃'
gen_tone 311 8 "Sigur Rós" "$t1" "$lib/one.mp3"
gen_tone 523 8 "Björk" "$t2" "$lib/two.ogg"
gen_tone 740 8 "Ελληνικά" "$t3" "$lib/three.mp3"
printf '%s\n' "Sigur Rós - $t1" "Björk - $t2" "Ελληνικά - $t3" > "$WORK/expected"
printf '%s\n' "TITLE=$t1" "TITLE=$t2" "TITLE=$t3" > "$WORK/expected_ogg"
tones="311:Sigur Rós - $t1
523:Björk - $t2
740:Ελληνικά - $t3"

station_config "$WORK/station.ini" "$lib"
station_start "$WORK/station.ini"
# The relay starts while foreverfm connects: until it has, the relay
# relays the master's fallback, and then the live mix (the override).
RELAY_DIR="$WORK/relay"
RELAY_PORT=$(sh "$HARNESS" start-relay "$RELAY_DIR" "$ICECAST_DIR" "$INTERVAL") ||
	fail "the relay node did not start from contrib/icecast-relay.xml"
RELAY_URL="http://127.0.0.1:$RELAY_PORT"
for m in /forever.mp3 /forever.ogg; do
	wait_live "$MASTER_URL" $m 20 || fail "$m did not appear on the master"
	wait_live "$RELAY_URL" $m 20 || fail "$m did not appear on the relay"
done
# Icecast's burst for a new listener reaches back 64 KiB, and the first
# bytes the relay got from the master began mid-frame (as every move
# between sources does): listeners start once the relay has relayed for
# longer than a burst (5 s at 128 kbit/s).
relay_age() {
	stat_field "$RELAY_URL" /forever.mp3 stream_start_iso8601 |
		python3 -c 'import sys, datetime
t = datetime.datetime.strptime(sys.stdin.read().strip(), "%Y-%m-%dT%H:%M:%S%z")
print(int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()))'
}
deadline=$(( $(date +%s) + 15 ))
until [ "$(relay_age 2>/dev/null)" -ge 5 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "the relay did not fill its burst"
	sleep 0.2
done
echo "setup: $(( $(date +%s) - T0 )) s"

# check_titles NAME MIN: NAME.meta has at least MIN titles, each one of the
# tracks' byte for byte, each different from the one before.
check_titles() {
	cut -f2- "$WORK/$1.meta" > "$WORK/$1.titles"
	echo "$1: titles heard:"; cat "$WORK/$1.titles"
	[ "$(wc -l < "$WORK/$1.titles")" -ge "$2" ] ||
		fail "$1: fewer than $2 titles"
	grep -vxF -f "$WORK/expected" "$WORK/$1.titles" > "$WORK/$1.bad" &&
		fail "$1: titles not byte-exact: $(cat "$WORK/$1.bad")"
	awk 'prev == $0 { exit 1 } { prev = $0 }' "$WORK/$1.titles" ||
		fail "$1: a title repeated: no change at a track change"
}

# vorbis_titles FILE: one line per Vorbis comment header in FILE, in
# order: TITLE=... or "-" for a stream without a title (the fallbacks'
# silence). Read from the bytes, not with ogginfo: a listener moved
# between sources gets streams that start before others end, and
# ogginfo then skips their comments.
vorbis_titles() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"\x03vorbis")
while i >= 0:
    try:
        p = i + 7
        (n,) = struct.unpack_from("<I", d, p); p += 4 + n
        (count,) = struct.unpack_from("<I", d, p); p += 4
        title = "-"
        for _ in range(min(count, 64)):
            (n,) = struct.unpack_from("<I", d, p); p += 4
            c = d[p:p + n]; p += n
            if c[:6].upper() == b"TITLE=":
                title = "TITLE=" + c[6:].decode("utf-8", "replace")
        print(title)
    except struct.error:
        pass
    i = d.find(b"\x03vorbis", i + 7)
PY
}

# check_ogg NAME MIN_TITLES SECONDS [outage]: NAME.audio is Vorbis that
# decodes to at least SECONDS - 1 s of audio (the listener was not
# dropped), with at least MIN_TITLES distinct TITLE comments, each a
# track's, byte for byte; with "outage", a stream without a title (the
# fallback's silence) comes before one with a title.
check_ogg() {
	ogginfo "$WORK/$1.audio" > "$WORK/$1.ogginfo" 2>&1
	grep -q Vorbis "$WORK/$1.ogginfo" || fail "$1: not Vorbis"
	bytes=$(ffmpeg -nostdin -loglevel quiet -i "$WORK/$1.audio" \
		-f s16le -ac 2 -ar 44100 - | wc -c)
	awk -v b="$bytes" -v w="$3" 'BEGIN { exit !(b / 176400 >= w - 1) }' ||
		fail "$1: $bytes bytes of PCM in $3 s: dropped, or does not decode"
	vorbis_titles "$WORK/$1.audio" > "$WORK/$1.streams"
	grep '^TITLE=' "$WORK/$1.streams" > "$WORK/$1.titles"
	echo "$1: Vorbis titles:"; cat "$WORK/$1.titles"
	grep -xF -f "$WORK/expected_ogg" "$WORK/$1.titles" | sort -u > "$WORK/$1.good"
	[ "$(wc -l < "$WORK/$1.good")" -ge "$2" ] ||
		fail "$1: fewer than $2 distinct track titles in the Vorbis comments"
	grep -vxF -f "$WORK/expected_ogg" "$WORK/$1.titles" > "$WORK/$1.bad" &&
		fail "$1: Vorbis titles not byte-exact: $(cat "$WORK/$1.bad")"
	[ "${4:-}" = outage ] || return 0
	order=$(sed 's/^TITLE=.*/T/' "$WORK/$1.streams" | tr -d '\n')
	echo "$1: streams (T titled, - untitled): $order"
	case "$order" in
	*-*T*) ;;
	*) fail "$1: no fallback followed by titled streams: $order" ;;
	esac
}

# audible NAME: NAME.audio (MP3) as tone_track segments into NAME.audible.
audible() {
	ffmpeg -nostdin -loglevel quiet -i "$WORK/$1.audio" -f s16le -ac 2 \
		-ar 44100 - | (IFS='
'; "$TOOLS/tone_track" $tones) > "$WORK/$1.audible"
	echo "$1: audible:"; cat "$WORK/$1.audible"
}

# --- steady state through the relay
listen_bg /forever.mp3 14 steady
p1=$LP
listen_bg /forever.ogg 14 steady_ogg
p2=$LP
sleep 3
m_mp3=$(stat_field "$MASTER_URL" /forever.mp3 listeners)
m_ogg=$(stat_field "$MASTER_URL" /forever.ogg listeners)
r_mp3=$(stat_field "$RELAY_URL" /forever.mp3 listeners)
r_title=$(stat_field "$RELAY_URL" /forever.mp3 title)
echo "listeners: master mp3=$m_mp3 ogg=$m_ogg, relay mp3=$r_mp3; relay title: $r_title"
[ "$m_mp3" = 1 ] && [ "$m_ogg" = 1 ] ||
	fail "the master counts $m_mp3 and $m_ogg listeners, not the relay alone"
[ "$r_mp3" = 1 ] || fail "the relay counts $r_mp3 MP3 listeners, not 1"
grep -qxF -- "$r_title" "$WORK/expected" ||
	fail "the relay's status page shows the title as '$r_title'"
wait $p1 || fail "the MP3 listener on the relay failed"
wait $p2 || fail "the Ogg listener on the relay failed"
frames=$("$TOOLS/mpeg_frames" "$WORK/steady.audio") || fail "no MPEG frames: $frames"
echo "steady: $frames; $(cat "$WORK/steady.timing")"
case "$frames" in
*" resyncs=0 bitrate_kbps=128 samplerate=44100 "*) ;;
*) fail "the relayed stream is not clean 128 kbit/s MPEG: $frames" ;;
esac
# The relay sends no icy-br, so icy_listen cannot measure its lag: real
# time is the bytes (at least 14 s of 128 kbit/s, the burst on top) and
# no gap of a second.
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
     END { exit !(v["bytes"] >= 14 * 16000 * 0.98 && v["longest_gap_s"] < 1.0) }' \
	"$WORK/steady.timing" || fail "the relay did not keep real time"
check_titles steady 3
check_ogg steady_ogg 2 14
echo "steady state: $(( $(date +%s) - T0 )) s"

# wait_title NAME SINCE LIMIT: a title line in NAME.meta beyond the first
# SINCE lines within LIMIT seconds; prints how long it took.
wait_title() {
	start=$(date +%s)
	while [ "$(wc -l < "$WORK/$1.meta")" -le "$2" ]; do
		[ $(( $(date +%s) - start )) -lt "$3" ] || return 1
		sleep 0.2
	done
	echo "$(( $(date +%s) - start )) s ($(tail -n 1 "$WORK/$1.meta" | cut -f2-))"
}

# check_outage NAME SECONDS: the MP3 listener NAME stayed connected for
# its SECONDS (at least that much audio arrived: Icecast's burst comes on
# top), heard silence (a fallback) and, at the end, a track again.
check_outage() {
	echo "$1: titles (audio byte offset, title):"; cat "$WORK/$1.meta"
	audible "$1"
	secs=$(awk -F '\t' '$1 == "end" { print $2 }' "$WORK/$1.audible")
	awk -v s="$secs" -v w="$2" 'BEGIN { exit !(s >= w - 1) }' ||
		fail "$1: $secs s of audio in $2 s: the listener was dropped"
	labels=$(grep -v '^end' "$WORK/$1.audible" | cut -f2 | tr '\n' '|')
	case "$labels" in
	*'|-|'*) ;;
	*) fail "$1: no fallback silence during the outage: $labels" ;;
	esac
	last=$(grep -v '^end' "$WORK/$1.audible" | tail -n 1 | cut -f2)
	[ "$last" != "-" ] || fail "$1: the live mix did not come back: $labels"
}

# --- the master restarts. The relay notices at once, moves its
# listeners to its fallback files and tries again at once; after a failed
# attempt it waits INTERVAL s. foreverfm reconnects by itself (a backoff
# of at most 8 s, as integration_reconnect allows). Bound: INTERVAL + 8 s
# + 5 s slack after the master answers again.
listen_bg /forever.mp3 22 master
p1=$LP
listen_bg /forever.ogg 22 master_ogg
p2=$LP
sleep 3
down=$(date +%s)
sh "$HARNESS" stop "$ICECAST_DIR" || fail "could not stop the master"
gone=$(date +%s)
before=$(wc -l < "$WORK/master.meta")
sleep 1
sh "$HARNESS" restart "$ICECAST_DIR" >/dev/null || fail "the master did not restart"
back=$(date +%s)
bound=$((INTERVAL + 8 + 5))
took=$(wait_title master "$before" "$bound") ||
	fail "no title on the relay within $bound s of the master's return"
echo "master restart: SIGTERM at 0 s, exited at $((gone - down)) s, answering" \
	"again at $((back - down)) s; a title on the relay again $took after" \
	"it answered, at $(( $(date +%s) - down )) s"
wait $p1 || fail "the MP3 listener was dropped while the master restarted"
wait $p2 || fail "the Ogg listener was dropped while the master restarted"
check_outage master 22
tail -n 1 "$WORK/master.meta" | cut -f2- | grep -qxF -f "$WORK/expected" ||
	fail "the title after the master's restart is not a track's"
check_ogg master_ogg 2 22 outage
echo "master restart: $(( $(date +%s) - T0 )) s"

# --- foreverfm restarts: the master moves the relay's connection to its
# own fallback and back, so the relay keeps its upstream throughout.
listen_bg /forever.mp3 16 station
p1=$LP
listen_bg /forever.ogg 16 station_ogg
p2=$LP
sleep 3
station_stop || fail "the station exited with an error on SIGTERM"
wait_mount_gone /forever.mp3 5 || fail "the master kept the mount after SIGTERM"
before=$(wc -l < "$WORK/station.meta")
sleep 2
station_start "$WORK/station.ini"
took=$(wait_title station "$before" 15) ||
	fail "no title on the relay within 15 s of foreverfm's restart"
echo "foreverfm restart: a title on the relay again $took after the start"
wait $p1 || fail "the MP3 listener was dropped while foreverfm restarted"
wait $p2 || fail "the Ogg listener was dropped while foreverfm restarted"
check_outage station 16
check_ogg station_ogg 2 16 outage

station_stop || fail "the station exited with an error on SIGTERM"
echo "ok"
