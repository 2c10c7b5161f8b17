#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_unmount — the library's file system goes away while
# the station streams, and comes back (issue 19, the fault suite; the
# files' own faults are integration_fault_files.sh). The library is a
# tmpfs under the test's own temporary directory, and the whole test runs
# in a private mount namespace (unshare --mount --propagation private), so
# nothing is mounted outside it and a killed test leaves nothing mounted.
# Needs root for the mount (skips otherwise, and without unshare).
#
# Four tone tracks, 10 s each, 1 s crossfades. While the second plays the
# tmpfs is unmounted (lazily: the decks open then keep reading, as on a
# real unmount with files in use); once the mixer says the library is
# empty, the same files (same size and mtime) are mounted again and a
# SIGHUP rescans.
#
# Asserts: the stream never stalls (icy_listen: longest wait between
# arrivals and lag behind real time under the crossfade) and its frames are
# valid; no silence longer than the crossfade before the unmount; every
# file the mixer could not open is named once and none is marked bad (in
# the log or the catalog); after the remount and SIGHUP the music comes
# back (a new "now playing", and the capture ends in a tone). On the old mixer the
# unmount marked every track bad, and as bad files are offered again only
# when their size or mtime changes, the remounted library stayed silent.
. "$top_srcdir/tests/lib.sh"
if [ -z "${FOREVERFM_IN_MOUNT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: not root (needs a tmpfs mount)"; exit 77; }
	command -v unshare >/dev/null 2>&1 || { echo "SKIP: no unshare"; exit 77; }
	unshare --mount --propagation private true 2>/dev/null ||
		{ echo "SKIP: unshare --mount is not allowed here"; exit 77; }
	FOREVERFM_IN_MOUNT_NS=1 exec unshare --mount --propagation private \
		sh "$0" "$@"
fi
need_tools sqlite3
it_setup
lp=""
lib="$WORK/music"
# The listener ended by PID and the tmpfs unmounted, whatever way the test
# ends (the namespace would drop it anyway when the test's last process
# exits).
fault_cleanup() {
	status=$?
	[ -n "$lp" ] && kill "$lp" 2>/dev/null
	station_stop >/dev/null 2>&1
	mountpoint -q "$lib" 2>/dev/null && umount -l "$lib"
	(exit "$status")
	it_cleanup
}
trap fault_cleanup EXIT

XFADE=2
mkdir -p "$WORK/src" "$lib"
k=0
for f in 330 440 587 784; do
	k=$((k + 1))
	gen_tone "$f" 10 "Mount" "T$k" "$WORK/src/t$k.mp3"
done
mount_lib() {
	mount -t tmpfs -o size=16m,mode=0755 foreverfm-test "$lib" ||
		fail "cannot mount a tmpfs on $lib"
	cp -p "$WORK/src"/*.mp3 "$lib/" || fail "cannot fill the tmpfs"
}
mount_lib
station_config "$WORK/station.ini" "$lib" "[library]
min_duration = 5"
sed -i "s/^crossfade_seconds = .*/crossfade_seconds = $XFADE/" "$WORK/station.ini"

station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 60 "$WORK/a.mp3" "$WORK/a.meta" \
	"$WORK/a.timing" &
lp=$!

wait_log 'mixer: now playing' 2
umount -l "$lib" || fail "cannot unmount $lib"
um_bytes=$(stat -c %s "$WORK/a.mp3")
echo "unmounted $lib (the listener at byte $um_bytes)"
wait_log 'mixer: library is empty'
plays_before=$(grep -c 'mixer: now playing' "$WORK/station.log")
mount_lib
echo "mounted again"
kill -HUP "$STATION_PID"
wait_log 'mixer: music again after silence'
wait_log 'mixer: now playing' $((plays_before + 1))
wait "$lp" || fail "the listener failed"
lp=""
kill -0 "$STATION_PID" || fail "the station died"

frames=$("$TOOLS/mpeg_frames" "$WORK/a.mp3") || fail "no frames"
echo "$frames; $(cat "$WORK/a.timing")"
case "$frames" in *" resyncs=0 "*) ;; *) fail "broken frames: $frames" ;; esac
gap=$(sed 's/.*longest_gap_s=\([0-9.]*\).*/\1/' "$WORK/a.timing")
lag=$(sed 's/.*max_lag_s=\([0-9.-]*\).*/\1/' "$WORK/a.timing")
awk -v g="$gap" -v l="$lag" -v x="$XFADE" \
	'BEGIN { exit !(g > 0 && g < x && l < x) }' ||
	fail "the stream stalled (longest wait $gap s, lag $lag s)"
skipped=$(echo "$frames" | sed 's/.* skipped=\([0-9]*\) .*/\1/')
um_s=$(awk -v b="$um_bytes" -v s="$skipped" 'BEGIN { printf "%.3f", (b - s) / 16000 }')
ffmpeg -nostdin -loglevel error -i "$WORK/a.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" 330:T1 440:T2 587:T3 784:T4 > "$WORK/audible"
cat "$WORK/audible"
silence=$(awk -F '\t' -v r="$um_s" '
	$1 == "end" { if (s >= 0 && s < r) { d = $2 - s; if (d > m) m = d }
		      next }
	{ if (s >= 0 && s < r) { d = $1 - s; if (d > m) m = d }
	  s = $2 == "-" ? $1 : -1 }
	BEGIN { s = -1; m = 0 } END { printf "%.2f", m }' "$WORK/audible")
echo "longest silence before the unmount ($um_s s): $silence s"
awk -v s="$silence" -v x="$XFADE" 'BEGIN { exit !(s < x) }' ||
	fail "silence of $silence s before the unmount"
# Music after the remount: what the capture ends with is a tone, and the
# silence the unmount left (if it was long enough to be heard: the ring
# and the mixer's lead cover a short one) is reported.
last=$(grep -v '^end' "$WORK/audible" | tail -n 1 | cut -f2)
[ -n "$last" ] && [ "$last" != "-" ] ||
	fail "no music heard after the library came back"
awk -F '\t' '$2 == "-" { s = $1; next }
	s != "" { printf "silence heard: %.2f s\n", $1 - s; s = "" }' \
	"$WORK/audible"

k=0
while [ "$k" -lt 4 ]; do
	k=$((k + 1))
	c=$(grep -c -F "mixer: $lib/t$k.mp3: No such file or directory" \
		"$WORK/station.log")
	echo "t$k.mp3: gone, logged $c times"
	[ "$c" -eq 1 ] || fail "$lib/t$k.mp3 gone, logged $c times"
done
grep 'marked bad' "$WORK/station.log" && fail "a file was marked bad"
bad=$(sql "SELECT count(*) FROM tracks WHERE bad_reason IS NOT NULL AND
	   bad_reason != ''")
[ "$bad" -eq 0 ] || fail "$bad tracks bad in the catalog"
station_stop || fail "the station did not exit 0"
echo ok
