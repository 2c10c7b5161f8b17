#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_feeds_station — `foreverfm run` with an RSS feed as its whole
# library, against a real icecast2 and a real web server (nginx), both on
# loopback.
#
# Asserts: the station starts with an empty cache, its feeds' thread
# downloads the tracks and they go on air (their titles reach a listener);
# a refresh (every 2 s here, FOREVERFM_FEED_TEST_REFRESH_S) that adds a
# track downloads it and makes it a playable catalog track while the
# station streams; a reload (SIGHUP) keeps the cached tracks in the
# library; with the web server gone, a restarted station logs the feed
# once as unreadable and plays the cached tracks.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/web-harness.sh"
need_tools nginx ffmpeg python3 curl sqlite3
it_setup
trap 'st=$?; web_stop; (exit $st); it_cleanup' EXIT

www="$WORK/web/www"
mkdir -p "$www/m" "$WORK/empty"
gen_tone 440 8 "Feed Artist" "Track A" "$www/m/a.mp3"
gen_tone 550 8 "Feed Artist" "Track B" "$www/m/b.ogg"
gen_tone 660 8 "Feed Artist" "Track C" "$www/m/c.mp3"
web_start "$WORK/web"
u=$WEB_URL
write_feed() {
	{
		echo '<rss version="2.0"><channel><title>Test</title>'
		for f in "$@"; do
			echo "<item><title>$f</title><enclosure url=\"$u/m/$f\" type=\"audio/mpeg\"/></item>"
		done
		echo '</channel></rss>'
	} > "$www/feed.xml"
}
write_feed a.mp3 b.ogg

station_config "$WORK/station.ini" "$WORK/empty" "
[library]
min_duration = 1
cache = $WORK/cache
[feed.net]
type = rss
url = $u/feed.xml
"
export FOREVERFM_FEED_TEST_REFRESH_S=2

station_start "$WORK/station.ini"
wait_log "feed net: 2 tracks listed"
wait_log "feed net: downloaded" 2
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
listen /forever.mp3 12 "$WORK/one.mp3" "$WORK/one.meta"
grep -q "Feed Artist - Track [AB]" "$WORK/one.meta" ||
	fail "no feed track on air: $(cat "$WORK/one.meta")"

# A refresh adds C while the station streams.
write_feed a.mp3 b.ogg c.mp3
wait_log "feed net: 3 tracks listed"
wait_log "feed net: downloaded $u/m/c.mp3"
n=0
until [ "$(sql "SELECT count(*) FROM tracks WHERE title = 'Track C'
	AND missing = 0 AND bad_reason IS NULL")" = 1 ]; do
	n=$((n + 1))
	[ "$n" -le 100 ] || fail "C did not join the library"
	sleep 0.1
done
# A reload rescans the folders and the cache alike: nothing goes missing.
kill -HUP "$STATION_PID"
wait_log "library: scanned 2 paths"
[ "$(sql "SELECT count(*) FROM tracks WHERE missing = 1")" = 0 ] ||
	fail "a reload marked cached tracks missing"
station_stop || fail "the station did not stop cleanly"

# The web server goes; a restarted station plays what the cache holds.
web_stop
station_start "$WORK/station.ini"
wait_log "feed net: cannot read $u/feed.xml"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not come back"
listen /forever.mp3 12 "$WORK/two.mp3" "$WORK/two.meta"
grep -q "Feed Artist - Track [ABC]" "$WORK/two.meta" ||
	fail "no cached track on air: $(cat "$WORK/two.meta")"
sleep 3
[ "$(grep -c "feed net: cannot read" "$WORK/station.log")" -eq 1 ] ||
	fail "the unreadable feed was logged more than once"
station_stop || fail "the station did not stop cleanly"
echo "ok"
exit 0
