#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_feeds_tour — issue 11's "done when": one station with a
# local folder plus one Subsonic and one Jamendo feed (the stand-in API
# servers of tests/subsonic_server.py and tests/jamendo_server.py) streams
# all their tracks in one beatmatched tour to a real icecast2, and with
# both servers stopped it keeps playing every downloaded track.
#
# Six click tracks of 20 s at 120 to 125 BPM, two from each source, in
# MP3, FLAC, AAC (.m4a, from Subsonic) and Opus (from Jamendo, under an
# .mp3 name).
# Asserts, through /api/nowplaying and a listener: the now-playing track
# and the five next (the whole tour of six) hold every track of the three
# sources and each of the five planned transitions is beatmatched; the
# feeds' album, genre and cover art URL reach the song objects (the
# Subsonic cover without the token); the downloads say they ran ahead of
# the play order. Then both servers stop:
# each feed is logged once as unreadable, the tour still holds all six,
# and a listener hears its titles (a restart with a feed down is
# integration_feeds_station's).
# About 55 s wall at a load average of 10 on 2 cores.
. "$top_srcdir/tests/lib.sh"
need_tools ffmpeg bc python3 curl sqlite3
it_setup
SUB_PID=""
JAM_PID=""
servers_stop() {
	for p in $SUB_PID $JAM_PID; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SUB_PID=""
	JAM_PID=""
}
trap 'st=$?; servers_stop; (exit $st); it_cleanup' EXIT

# click BPM OUT ARTIST TITLE [CODEC [ALBUM]]: a 20 s click track (tagged; empty:
# no tag), clicktrack's recipe in one ffmpeg call: a click on every beat
# from 0.2 s, accented (2 kHz, louder) every fourth. CODEC: ffmpeg's
# options (default MP3 192k).
click() {
	per=$(echo "60 / $1" | bc -l)
	codec=${5:--c:a libmp3lame -b:a 192k -id3v2_version 3}
	ffmpeg -nostdin -loglevel error -y -f lavfi -i "aevalsrc=exprs='st(0,floor((t-0.2)/$per));st(1,t-0.2-ld(0)*$per);if(gte(t,0.2)*lt(ld(1),0.03),(1-ld(1)/0.03)*if(eq(mod(ld(0),4),0),0.6*sin(2*PI*2000*t),0.3*sin(2*PI*1000*t)),0)':s=44100:d=20" \
		-ac 2 $codec -metadata artist="$3" -metadata title="$4" \
		${6:+-metadata album="$6"} "$2" ||
		fail "ffmpeg could not make $2"
}
mkdir -p "$WORK/music" "$WORK/srv"
click 120 "$WORK/music/local1.mp3" "Local One" "Home Groove"
click 123 "$WORK/music/local2.flac" "Local Two" "Home Pulse" "-c:a flac" \
	"Home Album"
click 121 "$WORK/srv/s1.mp3" "" ""
click 124 "$WORK/srv/s2.m4a" "" "" "-c:a aac -b:a 160k"
click 122 "$WORK/srv/j1.mp3" "" ""
# Opus, served as /audio/202.mp3: known by its content, not its name.
click 125 "$WORK/srv/j2.opus" "" "" "-c:a libopus -b:a 96k"

PASSWORD='sub5ecret pass'
CLIENT_ID=jamc1ient
python3 - "$WORK/srv" "$PASSWORD" > "$WORK/sub.json" <<'EOF'
import json, sys
d, pw = sys.argv[1:3]
songs = [
    dict(id="s1", path=d + "/s1.mp3", title="Sub Tide", artist="Sub One",
         genre="Techno", bpm=121, duration=20, album="Alpha"),
    dict(id="s2", path=d + "/s2.m4a", title="Sub Drift", artist="Sub Two",
         genre="Techno", bpm=124, duration=20, album="Alpha"),
]
print(json.dumps(dict(user="dj", password=pw, songs=songs)))
EOF
python3 - "$WORK/srv" "$CLIENT_ID" > "$WORK/jam.json" <<'EOF'
import json, sys
d, cid = sys.argv[1:3]
tracks = [
    dict(id="201", path=d + "/j1.mp3", name="Jam Rise", artist_name="Jam One",
         album="Beta", duration=20, genres=["electronic", "house"],
         popularity=90),
    dict(id="202", path=d + "/j2.opus", name="Jam Fall", artist_name="Jam Two",
         album="Beta", duration=20, genres=["electronic"], popularity=80),
]
print(json.dumps(dict(client_id=cid, tracks=tracks)))
EOF
# server NAME SCRIPT: starts a stand-in; its port in $WORK/NAME.port.
server() {
	python3 "$top_srcdir/tests/$2" "$WORK/$1.json" "$WORK/$1.port" \
		"$WORK/$1.requests" 2>"$WORK/$1.log" &
	pid=$!
	n=0
	until [ -s "$WORK/$1.port" ]; do
		n=$((n + 1))
		[ "$n" -le 100 ] && kill -0 "$pid" 2>/dev/null ||
			fail "the $1 stand-in did not start"
		sleep 0.1
	done
}
server sub subsonic_server.py
SUB_PID=$pid
server jam jamendo_server.py
JAM_PID=$pid
SUB_URL="http://127.0.0.1:$(cat "$WORK/sub.port")"
JAM_URL="http://127.0.0.1:$(cat "$WORK/jam.port")/v3.0"
printf '%s\n' "$PASSWORD" > "$WORK/sub.password"

HTTP_PORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')
API="http://127.0.0.1:$HTTP_PORT"
station_config "$WORK/station.ini" "$WORK/music" "
transition_bars = 4
[library]
min_duration = 1
cache = $WORK/cache
[http]
listen = 127.0.0.1:$HTTP_PORT
[feed.sub]
type = subsonic
url = $SUB_URL
user = dj
password_file = $WORK/sub.password
query = newest
[feed.jam]
type = jamendo
url = $JAM_URL
client_id = $CLIENT_ID
"
export FOREVERFM_FEED_TEST_REFRESH_S=2

# tour_check WHAT [SEEN]: until /api/nowplaying's current and next
# tracks are the six of the library with five beatmatched transitions
# planned (20 s at most); with SEEN, the six may come over several
# answers (the next tracks are updated at each track change), each
# answer's planned transitions beatmatched. The last answer in
# $WORK/np.json.
tour_check() {
	n=0
	: > "$WORK/seen"
	until curl -fsS --max-time 2 "$API/api/nowplaying" \
		> "$WORK/np.json" 2>/dev/null &&
		python3 - "$WORK/np.json" "$WORK/seen" "${2:-}" \
			> "$WORK/tour.txt" <<'EOF'
import json, sys
np, seen_file, union = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
songs = [np["now_playing"]["song"]] + [n["song"] for n in np["playing_next"]]
kinds = [(n["transition"] or {}).get("kind") for n in np["playing_next"]]
titles = sorted(s["title"] for s in songs if s["id"])
want = sorted(["Home Groove", "Home Pulse", "Sub Tide", "Sub Drift",
               "Jam Rise", "Jam Fall"])
if union:
    seen = set(open(seen_file).read().split("\n")) - {""}
    seen |= set(titles)
    open(seen_file, "w").write("\n".join(sorted(seen)))
    planned = [k for k in kinds if k]
    print(" ".join(sorted(seen)), kinds)
    sys.exit(0 if sorted(seen) == want and len(planned) >= 4 and
             all(k == "beatmatched" for k in planned) else 1)
print(" ".join(titles), kinds)
sys.exit(0 if titles == want and kinds == ["beatmatched"] * 5 else 1)
EOF
	do
		kill -0 "$STATION_PID" 2>/dev/null ||
			fail "the station died ($1)"
		n=$((n + 1))
		[ "$n" -le 40 ] || fail "$1: the tour is not the six tracks, " \
			"all beatmatched: $(cat "$WORK/tour.txt" 2>/dev/null)"
		sleep 0.5
	done
	echo "$1: tour $(cat "$WORK/tour.txt")"
}

station_start "$WORK/station.ini"
wait_log "feed sub: downloaded" 2
wait_log "feed jam: downloaded" 2
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
tour_check "servers up"
grep -q "downloaded .*(ahead of the play order)" "$WORK/station.log" ||
	fail "no download ran ahead of the play order"

# The feeds' album, genre and cover art reach the song objects, and a
# file's own album tag; the Subsonic cover URL carries no token.
python3 - "$WORK/np.json" "$SUB_URL" "$JAM_URL" <<'EOF' || fail "feed metadata: $(cat "$WORK/np.json")"
import json, sys
np, sub, jam = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
songs = {s["title"]: s for s in [np["now_playing"]["song"]] +
         [n["song"] for n in np["playing_next"]]}
s, j, l = songs["Sub Tide"], songs["Jam Rise"], songs["Home Groove"]
f = songs["Home Pulse"]
assert s["album"] == "Alpha" and s["genre"] == "Techno", s
assert s["art"] == sub + "/rest/getCoverArt?id=co-s1", s
assert j["album"] == "Beta" and j["genre"] == "electronic, house", j
assert j["art"] == jam.replace("/v3.0", "") + "/image/201.jpg", j
assert l["album"] == "" and l["genre"] == "" and l["art"] is None, l
assert l["artist"] == "Local One", l
assert f["album"] == "Home Album" and f["genre"] == "", f
EOF
# Both servers stop: the tour keeps every downloaded track.
servers_stop
wait_log "feed sub: cannot read"
wait_log "feed jam: cannot read"
tour_check "servers down" union
listen /forever.mp3 4 "$WORK/two.mp3" "$WORK/two.meta"
grep -q "Local One - Home\|Sub One - Sub Tide\|Sub Two - Sub Drift\|Jam One - Jam Rise\|Jam Two - Jam Fall\|Local Two - Home" \
	"$WORK/two.meta" ||
	fail "no track of the tour on air: $(cat "$WORK/two.meta")"
[ "$(grep -c "feed sub: cannot read" "$WORK/station.log")" -eq 1 ] ||
	fail "the unreadable Subsonic feed was logged more than once"
[ "$(sql "SELECT count(*) FROM tracks WHERE missing = 0 AND
	bad_reason IS NULL")" = 6 ] || fail "not six playable tracks"
station_stop || fail "the station did not stop cleanly"
if grep -q "$PASSWORD\|$CLIENT_ID" "$WORK/station.log"; then
	fail "a secret in the station log"
fi
echo "ok"
exit 0
