#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_feeds_jamendo — a [feed.NAME] of type jamendo against a
# stand-in Jamendo API v3.0 server on loopback (tests/jamendo_server.py),
# through `foreverfm analyze`.
#
# Asserts: the query's extra parameters reach the API (tags=electronic
# keeps two of three tracks, order=popularity_week their order); the
# tracks are downloaded from their audio links and analysed; the client id
# is never in a log line; a wrong client id is refused by the server,
# logged once, and the run exits 0 with the tracks already cached; the
# cache keeps each track by a name without the client id.
. "$top_srcdir/tests/lib.sh"
need_tools ffmpeg python3
work_setup jamendo
SERVER_PID=""
server_stop() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=""
}
trap 'st=$?; server_stop; (exit $st); work_cleanup' EXIT
fail() {
	echo "FAIL: $*"
	for f in "$WORK"/log* "$WORK"/requests.log "$WORK"/server.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
	done
	exit 1
}

CLIENT_ID=c1ient5ecret
lib="$WORK/srv"
mkdir -p "$lib"
gen_tone 440 8 "Jam One" "Electro Hit" "$lib/1.mp3"
gen_tone 550 8 "Jam Two" "Electro Deep" "$lib/2.mp3"
gen_tone 660 8 "Jam Three" "Folk Song" "$lib/3.mp3"
python3 - "$lib" "$CLIENT_ID" > "$WORK/library.json" <<'EOF'
import json, sys
lib, cid = sys.argv[1:3]
tracks = [
    dict(id="101", path=lib + "/1.mp3", name="Electro Hit", artist_name="Jam One",
         duration=8, genres=["electronic"], popularity=90),
    dict(id="102", path=lib + "/2.mp3", name="Electro Deep", artist_name="Jam Two",
         duration=8, genres=["electronic", "ambient"], popularity=50),
    dict(id="103", path=lib + "/3.mp3", name="Folk Song", artist_name="Jam Three",
         duration=8, genres=["folk"], popularity=99),
]
print(json.dumps(dict(client_id=cid, tracks=tracks)))
EOF
python3 "$top_srcdir/tests/jamendo_server.py" "$WORK/library.json" \
	"$WORK/port" "$WORK/requests.log" 2>"$WORK/server.log" &
SERVER_PID=$!
n=0
until [ -s "$WORK/port" ]; do
	n=$((n + 1))
	[ "$n" -le 100 ] && kill -0 "$SERVER_PID" 2>/dev/null ||
		fail "the Jamendo stand-in did not start"
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$WORK/port")/v3.0"

# run ID_FILE_CONTENT: analyze with one jamendo feed.
run() {
	printf '%s\n' "$1" > "$WORK/client_id"
	cat > "$WORK/jam.ini" <<EOF
[library]
database = $WORK/db/catalog.db
cache = $WORK/cache
[analysis]
workers = 1
[feed.jam]
type = jamendo
url = $url
client_id_file = $WORK/client_id
query = order=popularity_week&tags=electronic
limit = 10
EOF
	"$FOREVERFM" analyze --json -c "$WORK/jam.ini" >"$WORK/out.json" \
		2>"$WORK/log" || fail "exited $?"
}
titles() {
	grep -o '"title": *"[^"]*"' "$WORK/out.json" | sed 's/.*: *"//; s/"$//' |
		sort | tr '\n' ',' | sed 's/,$//'
}

run "$CLIENT_ID"
[ "$(titles)" = "Electro Deep,Electro Hit" ] || fail "tracks: $(titles)"
grep -q "order=popularity_week&tags=electronic" "$WORK/requests.log" ||
	fail "the query did not reach the API"
grep -q "feed jam: 2 tracks listed" "$WORK/log" || fail "no listing line"
grep -q "$CLIENT_ID" "$WORK/log" && fail "the client id is in the log"
grep -q "$CLIENT_ID" "$WORK/cache/index" && fail "the client id is in the cache index"
mv "$WORK/log" "$WORK/log1"

run "wrong-id"
[ "$(grep -c "feed jam: cannot read $url: the server says: Your credential is not authorized. (code 5)" \
	"$WORK/log")" -eq 1 ] || fail "wrong client id: no single clear line"
[ "$(titles)" = "Electro Deep,Electro Hit" ] ||
	fail "wrong client id: the cached tracks are gone: $(titles)"
grep -q "wrong-id" "$WORK/log" && fail "the client id is in the log"
echo "ok"
exit 0
