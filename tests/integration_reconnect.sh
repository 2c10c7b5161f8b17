#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_reconnect — the station never gives up on Icecast.
#
# Asserts: killing Icecast mid-stream and starting it again on the same port
# brings both mounts back by themselves, with the current title resent
# (a new listener gets a StreamTitle at once) and clean frames; a second
# station with a wrong password logs an authentication failure (without the
# password), keeps retrying and keeps running; a listener connected while
# foreverfm restarts stays connected (the fallback) and hears it again.
. "$top_srcdir/tests/lib.sh"
it_setup

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 20 "Reconnect Artist" "Steady" "$lib/a.mp3"
gen_tone 660 20 "Reconnect Artist" "Other" "$lib/b.ogg"

station_config "$WORK/station.ini" "$lib"
station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"

# --- Icecast goes away and comes back on the same port.
sh "$HARNESS" stop "$ICECAST_DIR" || fail "could not stop icecast"
sleep 3
kill -0 "$STATION_PID" 2>/dev/null || fail "station exited when Icecast went away"
sh "$HARNESS" restart "$ICECAST_DIR" >/dev/null || fail "icecast did not restart"
# Backoff after ~3 s down: the next attempt comes within 8 s; allow 25.
wait_mount /forever.mp3 25 || fail "/forever.mp3 did not come back"
wait_mount /forever.ogg 25 || fail "/forever.ogg did not come back"
listen /forever.mp3 6 "$WORK/after.mp3" "$WORK/after.meta"
frames=$("$TOOLS/mpeg_frames" "$WORK/after.mp3") || fail "no frames after reconnect"
case "$frames" in *" resyncs=0 bitrate_kbps=128 "*) ;; *) fail "bad frames after reconnect: $frames" ;; esac
grep -q "Reconnect Artist - " "$WORK/after.meta" ||
	fail "no title after reconnect (not resent?)"
grep -qi "reconnect\|connect" "$WORK/station.log" || fail "no log line about reconnecting"

# --- A wrong password: logged clearly, never shown, never fatal.
printf 'not-the-password-xyzzy\n' > "$WORK/wrong-password"
sed -e "s|^password_file = .*|password_file = $WORK/wrong-password|" \
    -e "s|/forever.mp3|/wrong.mp3|; s|/forever.ogg|/wrong.ogg|" \
    -e "s|^database = .*|database = $WORK/wrong.db|" \
    "$WORK/station.ini" > "$WORK/wrong.ini"
"$FOREVERFM" run -c "$WORK/wrong.ini" > "$WORK/wrong.log" 2>&1 &
wrong_pid=$!
deadline=$(( $(date +%s) + 15 ))
until grep -qi "authentication failed" "$WORK/wrong.log"; do
	[ "$(date +%s)" -lt "$deadline" ] || { cat "$WORK/wrong.log"; kill "$wrong_pid"; fail "no authentication failure logged"; }
	sleep 0.2
done
sleep 2
kill -0 "$wrong_pid" 2>/dev/null || { cat "$WORK/wrong.log"; fail "a wrong password stopped the station"; }
if grep -q "xyzzy" "$WORK/wrong.log"; then
	kill "$wrong_pid"; fail "the password appears in the log"
fi
mount_listed /wrong.mp3 && { kill "$wrong_pid"; fail "a wrong password got a mount"; }
kill -TERM "$wrong_pid"
wait "$wrong_pid" || fail "the wrong-password station did not exit cleanly"

# The good station was never disturbed.
mount_listed /forever.mp3 || fail "/forever.mp3 went away"

# --- foreverfm restarts: a connected listener stays connected (Icecast
# falls back to the silence file from contrib/icecast.xml) and hears the
# station again when it is back (fallback-override).
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 24 "$WORK/restart.mp3" "$WORK/restart.meta" &
lp=$!
sleep 5
station_stop || fail "station exited with an error on SIGTERM"
wait_mount_gone /forever.mp3 5 || fail "the mount stayed after SIGTERM"
sleep 3
station_start "$WORK/station.ini"
wait $lp || fail "the listener was dropped while foreverfm restarted"
ffmpeg -nostdin -loglevel error -i "$WORK/restart.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" 440:steady 660:other > "$WORK/restart.audible"
cat "$WORK/restart.audible"
secs=$(awk -F '\t' '$1 == "end" { print $2 }' "$WORK/restart.audible")
awk -v s="$secs" 'BEGIN { exit !(s >= 22) }' ||
	fail "the listener got only $secs s of audio in 24 s"
labels=$(grep -v '^end' "$WORK/restart.audible" | cut -f2 | tr '\n' ' ')
case "$labels" in
*-*) ;;
*) fail "no fallback silence while foreverfm was down: $labels" ;;
esac
last=$(grep -v '^end' "$WORK/restart.audible" | tail -n 1 | cut -f2)
[ "$last" != "-" ] || fail "the listener did not get the station back: $labels"

station_stop || fail "station exited with an error on SIGTERM"
echo "ok"
