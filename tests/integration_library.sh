#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_library — what the library throws at the station never stops
# the stream.
#
# Asserts: an empty library streams (silence) and says so in the log; files
# added then and announced with SIGHUP start playing; a library full of
# hostile files (zero-length, random bytes, text named .ogg, truncated
# headers, a FIFO, a symlink loop, a dangling link) keeps streaming its good
# tracks, logs one line per bad file and remembers them as bad; SIGHUP adds
# new files without a gap in the stream (no silence, no broken frame).
. "$top_srcdir/tests/lib.sh"
it_setup

lib="$WORK/music"
mkdir -p "$lib"

# --- Empty library: silence, logged, then music after SIGHUP.
station_config "$WORK/station.ini" "$lib"
station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "an empty library gave no mount"
grep -qi "empty" "$WORK/station.log" || fail "the log does not say the library is empty"

gen_tone 440 8 "Good One" "First" "$lib/good1.mp3"
gen_tone 554 8 "Good Two" "Second" "$lib/good2.ogg"
# Hostile files beside them.
: > "$lib/zero.mp3"
head -c 65536 /dev/urandom > "$lib/noise.mp3"
printf 'this is not music\n' > "$lib/text.ogg"
head -c 300 "$lib/good2.ogg" > "$lib/truncated-header.ogg"
mkfifo "$lib/fifo.mp3"
mkdir -p "$lib/sub"
ln -s .. "$lib/sub/loop"
ln -s "$lib/nowhere.mp3" "$lib/dangling.mp3"
kill -HUP "$STATION_PID"

deadline=$(( $(date +%s) + 15 ))
until [ "$(sql 'SELECT count(*) FROM plays')" -ge 1 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "music did not start after SIGHUP"
	sleep 0.2
done
kill -0 "$STATION_PID" || fail "station died on hostile files"

bad=$(sql "SELECT count(*) FROM tracks WHERE bad_reason IS NOT NULL")
[ "$bad" -ge 4 ] || fail "only $bad bad files remembered"
for f in zero.mp3 noise.mp3 text.ogg truncated-header.ogg; do
	n=$(grep -c "$f" "$WORK/station.log")
	[ "$n" -eq 1 ] || fail "$f logged $n times (want one line)"
done
sql "SELECT path FROM tracks WHERE bad_reason IS NULL AND missing = 0" | sort > "$WORK/playable"
[ "$(wc -l < "$WORK/playable")" -eq 2 ] || { cat "$WORK/playable"; fail "playable tracks are not exactly the two good ones"; }

# --- SIGHUP adds files without a gap. Listen across the rescan, once
# Icecast's burst-on-connect (4 s) no longer reaches back into the silence
# before the music: a play is recorded when the mixer places its marker,
# up to a ring (3 s) before it is heard.
sleep 10
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 30 "$WORK/hup.mp3" "$WORK/hup.meta" &
lp=$!
sleep 6
gen_tone 659 8 "New Three" "Third" "$lib/new3.mp3"
gen_tone 784 8 "New Four" "Fourth" "$lib/new4.ogg"
kill -HUP "$STATION_PID"
wait $lp || fail "listener failed"

frames=$("$TOOLS/mpeg_frames" "$WORK/hup.mp3") || fail "no frames"
case "$frames" in *" resyncs=0 "*) ;; *) fail "broken frames across SIGHUP: $frames" ;; esac
ffmpeg -nostdin -loglevel error -i "$WORK/hup.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" 440:one 554:two 659:three 784:four > "$WORK/audible"
cat "$WORK/audible"
grep -qx -- "$(printf '[0-9.]*\t-')" "$WORK/audible" && fail "silence in the stream across SIGHUP"
secs=$(awk -F '\t' '$1 == "end" { print $2 }' "$WORK/audible")
awk -v s="$secs" 'BEGIN { exit !(s >= 29) }' || fail "only $secs s of audio in 30 s: a gap"

# The new tracks are in the catalog and get played.
deadline=$(( $(date +%s) + 40 ))
until [ "$(sql "SELECT count(DISTINCT p.track_id) FROM plays p JOIN tracks t ON t.id = p.track_id WHERE t.artist LIKE 'New %'")" -ge 1 ]; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "new tracks never played"
	sleep 0.5
done

station_stop || fail "station exited with an error on SIGTERM"
echo "ok"
