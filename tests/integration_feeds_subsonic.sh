#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_feeds_subsonic — a [feed.NAME] of type subsonic against a
# stand-in Subsonic API server on loopback (tests/subsonic_server.py,
# which checks the token authentication as a real server does), through
# `foreverfm analyze`.
#
# Asserts: query = genre:NAME, starred, newest and playlist:NAME each bring
# exactly their songs (downloaded through /rest/stream, analysed); every
# request carries u, t and s and never the password (the server's request
# log and foreverfm's log are searched for it); a wrong password is refused
# by the server, logged once as such, and the run still exits 0 with the
# songs already cached; the same song in two feeds is one track.
. "$top_srcdir/tests/lib.sh"
need_tools ffmpeg python3
work_setup subsonic
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

PASSWORD='pa55 w0rd!secret'
lib="$WORK/srv"
mkdir -p "$lib"
gen_tone 440 8 "Sub Artist" "Techno One" "$lib/1.mp3"
gen_tone 550 8 "Sub Artist" "Techno Two" "$lib/2.mp3"
gen_tone 660 8 "Sub Other" "House One" "$lib/3.mp3"
python3 - "$lib" "$PASSWORD" > "$WORK/library.json" <<'EOF'
import json, sys
lib, pw = sys.argv[1:3]
songs = [
    dict(id="s1", path=lib + "/1.mp3", title="Techno One", artist="Sub Artist",
         genre="Techno", bpm=128, duration=8, album="Alpha", starred=True,
         playlists=["Warmup"]),
    dict(id="s2", path=lib + "/2.mp3", title="Techno Two", artist="Sub Artist",
         genre="Techno", bpm=130, duration=8, album="Alpha"),
    dict(id="s3", path=lib + "/3.mp3", title="House One", artist="Sub Other",
         genre="House", bpm=122, duration=8, album="Beta",
         playlists=["Warmup"]),
]
print(json.dumps(dict(user="dj", password=pw, songs=songs)))
EOF
python3 "$top_srcdir/tests/subsonic_server.py" "$WORK/library.json" \
	"$WORK/port" "$WORK/requests.log" 2>"$WORK/server.log" &
SERVER_PID=$!
n=0
until [ -s "$WORK/port" ]; do
	n=$((n + 1))
	[ "$n" -le 100 ] && kill -0 "$SERVER_PID" 2>/dev/null ||
		fail "the Subsonic stand-in did not start"
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$WORK/port")"
printf '%s\n' "$PASSWORD" > "$WORK/password"

# run NAME QUERY [PASSWORD_FILE]: analyze with one subsonic feed, its own
# catalog and cache; output in $WORK/out-NAME.json, log in $WORK/log-NAME.
run() {
	cat > "$WORK/$1.ini" <<EOF
[library]
database = $WORK/db-$1/catalog.db
cache = $WORK/cache-$1
[analysis]
workers = 1
[feed.home]
type = subsonic
url = $url/
user = dj
password_file = ${3:-$WORK/password}
query = $2
EOF
	"$FOREVERFM" analyze --json -c "$WORK/$1.ini" >"$WORK/out-$1.json" \
		2>"$WORK/log-$1" || fail "$1: exited $?"
}
titles() {
	grep -o '"title": *"[^"]*"' "$WORK/out-$1.json" | sed 's/.*: *"//; s/"$//' |
		sort | tr '\n' ',' | sed 's/,$//'
}

run genre genre:Techno
[ "$(titles genre)" = "Techno One,Techno Two" ] || fail "genre: $(titles genre)"
run starred starred
[ "$(titles starred)" = "Techno One" ] || fail "starred: $(titles starred)"
run newest newest
[ "$(titles newest)" = "House One,Techno One,Techno Two" ] ||
	fail "newest: $(titles newest)"
run playlist playlist:Warmup
[ "$(titles playlist)" = "House One,Techno One" ] ||
	fail "playlist: $(titles playlist)"
grep -q "feed home: downloaded $url/rest/stream " "$WORK/log-genre" ||
	fail "no download line"

# Every request authenticated by token; the password never on the wire or
# in a log line.
grep -q "PLAIN PASSWORD" "$WORK/requests.log" && fail "a plain password was sent"
grep -v '[?&]u=dj&t=[0-9a-f]\{32\}&s=[0-9a-f]\{16\}&' "$WORK/requests.log" |
	grep . && fail "a request without the token authentication"
for f in "$WORK/requests.log" "$WORK"/log-*; do
	grep -q "pa55" "$f" && fail "the password is in $f"
	grep -q "t=[0-9a-f]\{32\}" "$f" && [ "$f" != "$WORK/requests.log" ] &&
		fail "a token is in $f"
done

# A wrong password: refused by the server, one log line, exit 0, and the
# genre feed's cache still plays.
printf 'wrong\n' > "$WORK/wrong"
run genre genre:Techno "$WORK/wrong"
[ "$(grep -c "feed home: cannot read $url/: the server says: Wrong username or password (code 40)" \
	"$WORK/log-genre")" -eq 1 ] || fail "wrong password: no single clear line"
[ "$(titles genre)" = "Techno One,Techno Two" ] ||
	fail "wrong password: the cached songs are gone: $(titles genre)"
echo "ok: $(wc -l < "$WORK/requests.log") requests, all by token"
exit 0
