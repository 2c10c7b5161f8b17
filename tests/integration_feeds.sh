#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_feeds — an RSS feed served by a real web server (nginx on
# loopback) as the library of `foreverfm analyze`, end to end through
# libcurl, the feed parser, the download cache, the scan and the analyzer.
#
# The feed lists: an MP3, an Ogg behind a redirect, the MP3 again under
# another URL, a 404, a text file announced as audio/mpeg, a WAV larger
# than the size cap, a redirect loop, a video and an image (not audio),
# and a track served too slowly (given up, kept in partial/ and resumed
# with a Range request by the next run).
#
# Asserts: the two real tracks (one from two URLs: one file, one track)
# are downloaded and analysed, with the feed's other faults each one clear
# log line and exit 0; nothing but finished, decodable tracks is in the
# cache's tracks/; the slow download resumes (206) and completes; with the
# server gone, a second run reads no feed, logs it once and still lists
# every cached track; a refresh that adds a track and drops one downloads
# the new one, keeps the dropped one until it has played, and removes it
# once the catalog has a play of it; the cache bound evicts the least
# recently played track.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/web-harness.sh"
need_tools nginx ffmpeg python3 curl sqlite3
work_setup feeds
trap 'st=$?; web_stop; (exit $st); work_cleanup' EXIT
fail() {
	echo "FAIL: $*"
	for f in "$WORK"/log* "$WORK"/web/error.log "$WORK"/web/access.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
	exit 1
}

www="$WORK/web/www"
mkdir -p "$www/m" "$www/img"
gen_tone 440 15 "Feed Artist" "Track A" "$www/m/a.mp3"
gen_tone 550 15 "Feed Artist" "Track B" "$www/m/b.ogg"
gen_tone 660 15 "Feed Artist" "Track C" "$www/m/c.mp3"
gen_tone 770 15 "Feed Artist" "Track S" "$www/m/s.mp3"
cp "$www/m/a.mp3" "$www/m/a-again.mp3"
echo "this is not audio" > "$www/m/notes.mp3"
ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=frequency=300:duration=40" \
	-ac 2 "$www/m/big.wav" || fail "ffmpeg big.wav"
printf 'GIF89a' > "$www/img/cover.gif"

# item URL TYPE
item() {
	printf '<item><title>%s</title><enclosure url="%s" type="%s" length="1"/></item>\n' \
		"${1##*/}" "$1" "$2"
}
write_feed() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<rss version="2.0"><channel><title>Test netlabel</title>'
		cat
		echo '</channel></rss>'
	} > "$www/feed.xml"
}

# The slow track first: run 1 gives it up after 2 s below 1000 bytes/s.
WEB_SLOW_RATE=300
web_start "$WORK/web"
WEB_SLOW_RATE=
u=$WEB_URL
write_feed <<EOF
$(item "$u/slow/s.mp3" audio/mpeg)
$(item "$u/m/a.mp3" audio/mpeg)
$(item "$u/moved/b.ogg" audio/ogg)
$(item "$u/m/a-again.mp3" audio/mpeg)
$(item "$u/m/missing.mp3" audio/mpeg)
$(item "$u/m/notes.mp3" audio/mpeg)
$(item "$u/m/big.wav" audio/wav)
$(item "$u/loop" audio/mpeg)
$(item "$u/m/video.mp4" video/mp4)
$(item "$u/img/cover.gif" image/gif)
EOF

cache="$WORK/cache"
cat > "$WORK/feeds.ini" <<EOF
[library]
database = $WORK/db/catalog.db
cache = $cache
cache_max_mb = 50
[analysis]
workers = 1
[feed.net]
type = rss
url = $u/feed.xml
EOF

export FOREVERFM_FEED_TEST_TRACK_MAX_BYTES=3000000
export FOREVERFM_FEED_TEST_LOW_SPEED_S=2

# count_tracks JSON: the tracks analyze listed from the cache.
count_tracks() {
	grep -c "\"path\": *\"$cache/tracks/" "$1"
}

# --- Run 1: the feed as it is, faults and all.
"$FOREVERFM" analyze --json -c "$WORK/feeds.ini" >"$WORK/out1.json" \
	2>"$WORK/log1" || fail "run 1 exited $?"
[ "$(count_tracks "$WORK/out1.json")" -eq 2 ] ||
	fail "run 1: expected 2 tracks (a, b), got $(count_tracks "$WORK/out1.json")"
grep -q '"title": *"Track A"' "$WORK/out1.json" || fail "no Track A"
grep -q '"title": *"Track B"' "$WORK/out1.json" || fail "no Track B (redirect)"
grep -q "feed net: cannot download $u/m/missing.mp3: HTTP 404" "$WORK/log1" ||
	fail "no 404 line"
grep -q "feed net: cannot download $u/m/notes.mp3: not audio" "$WORK/log1" ||
	fail "no 'not audio' line"
grep -q "feed net: cannot download $u/m/big.wav: larger than the limit" \
	"$WORK/log1" || fail "no size cap line"
grep -q "feed net: cannot download $u/loop: .*redirect" "$WORK/log1" ||
	fail "no redirect loop line"
grep -q "feed net: cannot download $u/slow/s.mp3: " "$WORK/log1" ||
	fail "the slow download was not given up"
[ "$(grep -c "cannot download" "$WORK/log1")" -eq 5 ] ||
	fail "one line per failed download expected"
grep -q "video.mp4\|cover.gif" "$WORK/log1" &&
	fail "a non-audio enclosure was fetched"
# Only finished tracks in tracks/: two files, the slow one in partial/.
[ "$(ls "$cache/tracks" | wc -l)" -eq 2 ] || fail "tracks/: $(ls "$cache/tracks")"
[ "$(ls "$cache/partial" | wc -l)" -eq 1 ] ||
	fail "partial/ should hold the slow track: $(ls "$cache/partial")"
[ -s "$cache/partial/"*.part ] || fail "the partial download is empty"

# --- Run 2: full speed again; the slow track resumes with a Range request.
web_stop
web_start "$WORK/web" "$WEB_PORT"
"$FOREVERFM" analyze --json -c "$WORK/feeds.ini" >"$WORK/out2.json" \
	2>"$WORK/log2" || fail "run 2 exited $?"
grep -q '^206 /m/s.mp3 bytes=[1-9][0-9]*-$' "$WORK/web/access.log" ||
	fail "no resumed (206) request for the slow track"
grep -q '"title": *"Track S"' "$WORK/out2.json" || fail "Track S not resumed"
[ "$(count_tracks "$WORK/out2.json")" -eq 3 ] || fail "run 2: expected 3 tracks"
[ -z "$(ls "$cache/partial")" ] || fail "partial/ not emptied"
grep -q "cannot download $u/m/a.mp3" "$WORK/log2" && fail "a.mp3 fetched again"

# --- Run 3: the server is gone; the cached tracks are still the library.
web_stop
"$FOREVERFM" analyze --json -c "$WORK/feeds.ini" >"$WORK/out3.json" \
	2>"$WORK/log3" || fail "run 3 exited $?"
[ "$(grep -c "feed net: cannot read $u/feed.xml" "$WORK/log3")" -eq 1 ] ||
	fail "run 3: one 'cannot read' line expected"
[ "$(count_tracks "$WORK/out3.json")" -eq 3 ] ||
	fail "run 3: the cached tracks are not all listed"
grep -q "analyze: 3 tracks: 0 analysed, .* 3 already done" "$WORK/log3" ||
	fail "run 3: the cached analyses were not used"

# --- Run 4: the feed drops B and adds C.
web_start "$WORK/web" "$WEB_PORT"
write_feed <<EOF
$(item "$u/m/a.mp3" audio/mpeg)
$(item "$u/m/c.mp3" audio/mpeg)
$(item "$u/slow/s.mp3" audio/mpeg)
EOF
"$FOREVERFM" analyze --json -c "$WORK/feeds.ini" >"$WORK/out4.json" \
	2>"$WORK/log4" || fail "run 4 exited $?"
grep -q '"title": *"Track C"' "$WORK/out4.json" || fail "C did not join"
grep -q '"title": *"Track B"' "$WORK/out4.json" ||
	fail "B left before it played"

# B plays (as the station records it), then the next read removes it.
b=$(grep -o "\"path\": *\"$cache/tracks/[^\"]*\.ogg\"" "$WORK/out4.json" |
	sed 's/.*"\(\/[^"]*\)"/\1/')
[ -n "$b" ] || fail "no path for B"
sqlite3 "$WORK/db/catalog.db" "INSERT INTO plays (track_id, started_at)
	SELECT id, strftime('%s','now') - 60 FROM tracks
	WHERE path = CAST('$b' AS BLOB);" || fail "sqlite3"
"$FOREVERFM" analyze --json -c "$WORK/feeds.ini" >"$WORK/out5.json" \
	2>"$WORK/log5" || fail "run 5 exited $?"
grep -q "left its feed and has played" "$WORK/log5" || fail "B not removed"
[ -e "$b" ] && fail "B's file is still in the cache"
grep -q '"title": *"Track B"' "$WORK/out5.json" && fail "B still listed"
[ "$(count_tracks "$WORK/out5.json")" -eq 3 ] || fail "run 5: expected A, C, S"

# --- Run 6: a bound below the three tracks evicts the least recently
# played first: A played long ago, C just now, S never.
a=$(grep -o "\"path\": *\"$cache/tracks/[^\"]*\"" "$WORK/out5.json" |
	sed 's/.*"\(\/[^"]*\)"/\1/' | while read -r p; do
	cmp -s "$p" "$www/m/a.mp3" && echo "$p"; done)
c=$(grep -o "\"path\": *\"$cache/tracks/[^\"]*\"" "$WORK/out5.json" |
	sed 's/.*"\(\/[^"]*\)"/\1/' | while read -r p; do
	cmp -s "$p" "$www/m/c.mp3" && echo "$p"; done)
[ -n "$a" ] && [ -n "$c" ] || fail "no paths for A and C"
sqlite3 "$WORK/db/catalog.db" "INSERT INTO plays (track_id, started_at)
	SELECT id, strftime('%s','now') - 3600 FROM tracks
	WHERE path = CAST('$a' AS BLOB);
	INSERT INTO plays (track_id, started_at)
	SELECT id, strftime('%s','now') - 10 FROM tracks
	WHERE path = CAST('$c' AS BLOB);" || fail "sqlite3"
# Room for two of the three (each about 360 kB), so one new one (D) makes
# two go: A (played longest ago), then C; S (never played) stays.
gen_tone 880 15 "Feed Artist" "Track D" "$www/m/d.mp3"
write_feed <<EOF
$(item "$u/m/a.mp3" audio/mpeg)
$(item "$u/m/c.mp3" audio/mpeg)
$(item "$u/slow/s.mp3" audio/mpeg)
$(item "$u/m/d.mp3" audio/mpeg)
EOF
sed -i 's/^cache_max_mb = 50$/cache_max_mb = 1/' "$WORK/feeds.ini"
"$FOREVERFM" analyze --json -c "$WORK/feeds.ini" >"$WORK/out6.json" \
	2>"$WORK/log6" || fail "run 6 exited $?"
[ -e "$a" ] && fail "A (least recently played) was not evicted"
grep -q '"title": *"Track S"' "$WORK/out6.json" ||
	fail "S (never played) was evicted"
grep -q '"title": *"Track D"' "$WORK/out6.json" || fail "D not downloaded"
total=$(du -cb "$cache/tracks/"* | tail -n 1 | cut -f1)
[ "$total" -le 1000000 ] || fail "the cache holds $total bytes, bound 1 MB"
echo "ok: $(ls "$cache/tracks" | wc -l) tracks cached, $total bytes"
exit 0
