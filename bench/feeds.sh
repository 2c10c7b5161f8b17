#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/feeds.sh [N] — the figures of the feeds (issue 11's closing note),
# on loopback, with the real parts the feed tests use: nginx
# (tests/web-harness.sh) serving an RSS feed of N (default 200) generated
# tracks, and icecast2 (tests/icecast-harness.sh) for the station.
#
#   1. Download throughput and CPU per track: `foreverfm plan` with the
#      feed as its library, once with an empty cache (every track fetched,
#      probed, named by content and scanned) and once with the cache full
#      (nothing fetched); wall and CPU time (user + system) of each, and
#      the difference per track.
#   2. Cache behaviour: the same N tracks through a cache bounded to about
#      half of them (cache_max_mb): how many are kept, the bytes on disk
#      against the bound, and the refusals while nothing has played; then
#      every cached track marked played in the catalog (as the station
#      records plays) and a third pass: how many were evicted
#      (least recently played first) and how many new ones came in.
#   3. Time from a new track appearing in the feed to it being playable:
#      a station (`foreverfm run`) streaming the feed to Icecast, the feed
#      re-read every second (FOREVERFM_FEED_TEST_REFRESH_S=1, the tests'
#      knob; a real station adds up to refresh_minutes), ROUNDS (default
#      5) new tracks added one at a time; per track, from the moment the
#      feed file is rewritten to the moment the catalog holds the track
#      playable (polled every 50 ms).
#
# Each track is a 30 s stereo MP3 at 192 kbps (about 720 KB); the N files
# differ by a tag only, so they are N distinct files (the cache names
# files by content) made without encoding N times. Everything lives in a
# directory under /var/tmp (TMPDIR), about 3 x N x 0.72 MB at most, and is
# deleted at the end, whatever happens.
# Run from a configured build tree's top (../build/foreverfm) or set
# top_builddir. Needs: nginx, icecast2, ffmpeg, sqlite3, curl, python3,
# /usr/bin/time.
set -u
N=${1:-200}
ROUNDS=${ROUNDS:-5}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir/build}
export top_srcdir top_builddir
TMPDIR=${TMPDIR:-/var/tmp}
export TMPDIR
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/web-harness.sh"
[ -x "$FOREVERFM" ] || { echo "build foreverfm first"; exit 1; }
for t in nginx ffmpeg sqlite3 curl python3; do
	command -v "$t" >/dev/null || { echo "$t missing"; exit 1; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing (apt-get install time)"; exit 1; }

it_setup
bench_cleanup() {
	station_stop >/dev/null 2>&1
	web_stop
	sh "$HARNESS" stop "$ICECAST_DIR" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap 'bench_cleanup' EXIT INT TERM

www="$WORK/web/www"
mkdir -p "$www/m"
echo "generating $N tracks in $WORK ..."
gen_tone 440 30 "Bench" "Base" "$WORK/base.mp3"
i=1
while [ "$i" -le $((N + ROUNDS)) ]; do
	ffmpeg -nostdin -loglevel error -y -i "$WORK/base.mp3" -c copy \
		-metadata title="Bench $i" -metadata artist="Bench" \
		"$www/m/t$i.mp3" || fail "ffmpeg t$i"
	i=$((i + 1))
done
rm -f "$WORK/base.mp3"
track_bytes=$(stat -c %s "$www/m/t1.mp3")
web_start "$WORK/web"
u=$WEB_URL

# write_feed FIRST LAST: an RSS feed of tracks FIRST..LAST.
write_feed() {
	{
		echo '<rss version="2.0"><channel><title>Bench</title>'
		j=$1
		while [ "$j" -le "$2" ]; do
			echo "<item><title>Bench $j</title><enclosure url=\"$u/m/t$j.mp3\" type=\"audio/mpeg\"/></item>"
			j=$((j + 1))
		done
		echo '</channel></rss>'
	} > "$www/feed.xml.tmp"
	mv "$www/feed.xml.tmp" "$www/feed.xml"
}

# plan_ini NAME MAX_MB: a one-shot config with the feed as its library.
plan_ini() {
	cat > "$WORK/$1.ini" <<EOF
[library]
database = $WORK/$1/catalog.db
cache = $WORK/$1/cache
cache_max_mb = $2
min_duration = 1
[feed.bench]
type = rss
url = $u/feed.xml
limit = $((N + ROUNDS))
EOF
}

# timed NAME: plan with NAME.ini; "wall user sys" into $WORK/NAME.time.
timed() {
	/usr/bin/time -f "%e %U %S" -o "$WORK/$1.time" \
		"$FOREVERFM" plan -c "$WORK/$2.ini" --seed 1 \
		>"$WORK/$1.out" 2>"$WORK/$1.log" || fail "plan $1 exited $?"
}

# --- 1. Throughput and CPU per track.
write_feed 1 "$N"
plan_ini big 4096
timed cold big
timed warm big
got=$(ls "$WORK/big/cache/tracks" | wc -l)
[ "$got" -eq "$N" ] || fail "cold: $got of $N tracks downloaded"
bytes=$(du -sb "$WORK/big/cache/tracks" | cut -f1)
read -r cw cu cs < "$WORK/cold.time"
read -r ww wu ws < "$WORK/warm.time"
echo
echo "1. download: $N tracks of $track_bytes bytes, $bytes bytes in all"
python3 - "$N" "$bytes" "$cw" "$cu" "$cs" "$ww" "$wu" "$ws" <<'EOF'
import sys
n, b = int(sys.argv[1]), int(sys.argv[2])
cw, cu, cs, ww, wu, ws = map(float, sys.argv[3:])
dw, dc = cw - ww, (cu + cs) - (wu + ws)
print(f"   plan, empty cache: {cw:.2f} s wall, {cu + cs:.2f} s CPU")
print(f"   plan, full cache:  {ww:.2f} s wall, {wu + ws:.2f} s CPU")
print(f"   downloads: {dw:.2f} s wall = {b / dw / 1e6:.1f} MB/s, "
      f"{dw / n * 1000:.1f} ms and {dc / n * 1000:.1f} ms CPU per track "
      f"({dc / (b / 1e6) * 1000:.1f} ms CPU per MB)")
EOF

# --- 2. The cache over N tracks, bounded to about half of them.
half_mb=$(( (N / 2) * track_bytes / 1000000 ))
plan_ini bound "$half_mb"
timed bound1 bound
kept1=$(ls "$WORK/bound/cache/tracks" | wc -l)
disk1=$(du -sb "$WORK/bound/cache/tracks" | cut -f1)
dl1=$(grep -c "feed bench: downloaded" "$WORK/bound1.log")
ev1=$(grep -c "cache: removing .* for room" "$WORK/bound1.log")
full1=$(grep -c "full of tracks not played" "$WORK/bound1.log")
# The station records a play per track; here every cached track played,
# one second apart, in id order.
sqlite3 "$WORK/bound/catalog.db" "INSERT INTO plays (track_id, started_at)
	SELECT id, strftime('%s','now') - 1000 + id FROM tracks
	WHERE missing = 0 AND bad_reason IS NULL ORDER BY id" ||
	fail "could not record plays"
timed bound2 bound
kept2=$(ls "$WORK/bound/cache/tracks" | wc -l)
disk2=$(du -sb "$WORK/bound/cache/tracks" | cut -f1)
dl2=$(grep -c "feed bench: downloaded" "$WORK/bound2.log")
ev2=$(grep -c "cache: removing .* for room" "$WORK/bound2.log")
partial=$(ls "$WORK/bound/cache/partial" | wc -l)
bound=$((half_mb * 1000000))
echo
echo "2. cache bounded to $half_mb MB ($bound bytes) for $N listed tracks of $track_bytes bytes"
echo "   pass 1, nothing played: $dl1 downloads, $ev1 removed for room," \
     "$kept1 kept ($disk1 bytes on disk), $full1 'full' line(s)"
echo "   pass 2, every cached track played once: $dl2 downloads," \
     "$ev2 removed for room, $kept2 kept ($disk2 bytes), $partial partial files"
[ "$disk1" -le "$bound" ] && [ "$disk2" -le "$bound" ] ||
	echo "   BOUND EXCEEDED"

# --- 3. New track in the feed -> playable, through a running station.
station_config "$WORK/station.ini" "$WORK/empty" "
[library]
min_duration = 1
cache = $WORK/live/cache
[feed.bench]
type = rss
url = $u/feed.xml
"
mkdir -p "$WORK/empty"
write_feed 1 4
export FOREVERFM_FEED_TEST_REFRESH_S=1
station_start "$WORK/station.ini"
wait_log "feed bench: downloaded" 4
wait_mount /forever.mp3 30 || fail "/forever.mp3 did not appear"
playable() {
	sql "SELECT count(*) FROM tracks WHERE missing = 0
		AND bad_reason IS NULL AND CAST(path AS TEXT) LIKE '%/live/cache/tracks/%'"
}
r=1
: > "$WORK/latency"
while [ "$r" -le "$ROUNDS" ]; do
	before=$(playable)
	t0=$(date +%s.%N)
	write_feed 1 $((4 + r))
	k=0
	until [ "$(playable)" -gt "$before" ]; do
		k=$((k + 1))
		[ "$k" -le 1200 ] || fail "round $r: no new playable track after 60 s"
		sleep 0.05
	done
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.2f\n", $2 - $1 }' >> "$WORK/latency"
	r=$((r + 1))
done
station_stop || true
echo
echo "3. new track in the feed -> playable in the station's catalog (feed re-read every 1 s):"
sort -n "$WORK/latency" | awk '{ v[NR] = $1 } END {
	printf "   %d rounds: min %.2f s, median %.2f s, max %.2f s\n",
		NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
echo "   (a station adds the wait for the next read: up to refresh_minutes)"
exit 0
