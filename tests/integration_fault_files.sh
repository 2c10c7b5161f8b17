#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_files — music files that change under the station, and
# a library folder that goes away, against a real icecast2 (issue 19, the
# fault suite). Seven tone tracks of distinct pitch, 14 s each, 1 s
# crossfades; while a listener listens:
#   1. the second file to play is truncated to 4 KB as it becomes audible
#      in the mixer (its decoder is under a second into it);
#   2. the third is replaced while it plays (another file's content renamed
#      over it: the open decoder keeps the old inode); the upcoming deck's
#      file (open, not yet audible) and every file not open but one are
#      deleted, and 3. that one is replaced by another's content;
#   4. two tracks later the whole library folder is removed (rm -rf of the
#      test's own copy); the decks open then play out, then silence.
# Then a SIGHUP rescans.
#
# Asserts: the audio never stalls (icy_listen: longest wait between
# arrivals and lag behind real time under the crossfade) and its MPEG
# frames are valid, from before the first fault to well after the folder
# went; no silence longer than the crossfade is heard (tests/tone_track)
# but at the end, once the decks open when the folder went played out; at
# least four titles; the station is alive
# throughout and exits 0 on SIGTERM. The log: the truncation once ("ended
# at"); once the mixer says the library is empty, every file it could not
# open was named once ("skipping it until the next scan") and no file but
# the truncated one (whose 4 KB may not play) was marked bad, neither in the
# log nor in the catalog; after the rescan all seven tracks are missing.
. "$top_srcdir/tests/lib.sh"
need_tools sqlite3 truncate
it_setup
lp=""
# The listeners too are ended by PID, whatever way the test ends.
fault_cleanup() {
	status=$?
	[ -n "$lp" ] && kill "$lp" 2>/dev/null
	(exit "$status")
	it_cleanup
}
trap fault_cleanup EXIT

XFADE=2
lib="$WORK/music"
mkdir -p "$lib"
k=0
for f in 330 392 440 523 587 659 784; do
	k=$((k + 1))
	gen_tone "$f" 14 "Fault" "T$k" "$lib/t$k.mp3"
done
cp "$lib/t1.mp3" "$WORK/donor.mp3"
station_config "$WORK/station.ini" "$lib" "[library]
min_duration = 5"
sed -i "s/^crossfade_seconds = .*/crossfade_seconds = $XFADE/" "$WORK/station.ini"

station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 90 "$WORK/a.mp3" "$WORK/a.meta" \
	"$WORK/a.timing" &
lp=$!

# playing N: waits for the Nth "now playing" and sets $playing to its file.
playing() {
	wait_log 'mixer: now playing' "$1"
	playing=$(grep 'mixer: now playing' "$WORK/station.log" | sed -n "$1p" |
		sed 's/.*"Fault - T\([0-9]*\)".*/\1/')
	playing="$lib/t$playing.mp3"
}

# open_music: the library files the station holds open (the decks).
open_music() {
	for fd in /proc/"$STATION_PID"/fd/*; do
		readlink "$fd"
	done 2>/dev/null | grep "^$lib/" | sed 's/ (deleted)$//' | sort -u
}

# 1. Truncate the playing file.
playing 2
f1=$playing
truncate -s 4K "$f1"
echo "truncated $f1"

# 2. The playing file replaced by rename; the upcoming deck's file (open
# as soon as the playing track plays alone) deleted, and every file nobody
# holds open but one, which is 3. replaced by another's content.
playing 3
f2=$playing
cp "$WORK/donor.mp3" "$lib/.new" && mv "$lib/.new" "$f2"
echo "replaced $f2 (playing)"
n=0
while [ "$(open_music | grep -cvxF "$f2")" -eq 0 ]; do
	n=$((n + 1))
	[ "$n" -le 100 ] || fail "the next deck was not open 10 s after $f2"
	sleep 0.1
done
deleted=""
f3=""
for f in $(open_music); do
	[ "$f" = "$f2" ] && continue
	rm -f "$f" && deleted="$deleted $f"
done
for f in "$lib"/t*.mp3; do
	[ "$f" = "$f1" ] || [ "$f" = "$f2" ] && continue
	open_music | grep -qxF "$f" && continue
	if [ -z "$f3" ]; then
		f3=$f
		cp "$WORK/donor.mp3" "$lib/.new" && mv "$lib/.new" "$f3"
		echo "replaced $f3 (not open)"
	else
		rm -f "$f" && deleted="$deleted $f"
	fi
done
echo "deleted:$deleted"

# Let the mix go through the rest (the deleted files are tried by then),
# then 4. remove the folder; the listener goes on hearing the decks that
# were open, then silence.
playing 4
playing 5
rm -rf "$lib"
rm_bytes=$(stat -c %s "$WORK/a.mp3")
echo "removed $lib (the listener at byte $rm_bytes)"
wait_log 'mixer: library is empty'
wait "$lp" || fail "the listener failed"
lp=""
kill -0 "$STATION_PID" || fail "the station died after the removal"

# What was heard.
kill -0 "$STATION_PID" || fail "the station died"
frames=$("$TOOLS/mpeg_frames" "$WORK/a.mp3") || fail "no frames"
echo "$frames; $(cat "$WORK/a.timing")"
case "$frames" in *" resyncs=0 "*) ;; *) fail "broken frames: $frames" ;; esac
gap=$(sed 's/.*longest_gap_s=\([0-9.]*\).*/\1/' "$WORK/a.timing")
lag=$(sed 's/.*max_lag_s=\([0-9.-]*\).*/\1/' "$WORK/a.timing")
awk -v g="$gap" -v l="$lag" -v x="$XFADE" \
	'BEGIN { exit !(g > 0 && g < x && l < x) }' ||
	fail "the stream stalled (longest wait $gap s, lag $lag s)"
# CBR 128 kbps: 16000 bytes a second; the folder went at rm_s of the
# capture, and only what was open then may play after it.
skipped=$(echo "$frames" | sed 's/.* skipped=\([0-9]*\) .*/\1/')
rm_s=$(awk -v b="$rm_bytes" -v s="$skipped" 'BEGIN { printf "%.3f", (b - s) / 16000 }')
ffmpeg -nostdin -loglevel error -i "$WORK/a.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" 330:T1 392:T2 440:T3 523:T4 587:T5 659:T6 784:T7 \
	> "$WORK/audible"
cat "$WORK/audible"
# Silence is allowed only at the end, from after the folder went (the
# decks open then played out): every other span counts.
silence=$(awk -F '\t' -v r="$rm_s" '
	$1 == "end" { if (s >= 0 && s < r) { d = $2 - s; if (d > m) m = d }
		      next }
	{ if (s >= 0) { d = $1 - s; if (d > m) m = d }
	  s = $2 == "-" ? $1 : -1 }
	BEGIN { s = -1; m = 0 } END { printf "%.2f", m }' "$WORK/audible")
echo "longest silence heard, but for the end after the folder went at $rm_s s: $silence s"
awk -v s="$silence" -v x="$XFADE" 'BEGIN { exit !(s < x) }' ||
	fail "silence of $silence s while the files changed"
grep -q -- "$(printf '\t-$')" "$WORK/audible" ||
	echo "(no silence heard after the folder went: the decks outlasted the capture)"
titles=$(cut -f2- "$WORK/a.meta" | sort -u | wc -l)
echo "titles heard while files changed: $titles"
[ "$titles" -ge 4 ] || fail "only $titles titles"

# The log: once the library is empty the mixer has tried every file
# since it went: each is named once, and none is bad (the truncated one,
# whose 4 KB may not play, aside).
k=0
while [ "$k" -lt 7 ]; do
	k=$((k + 1))
	f="$lib/t$k.mp3"
	c=$(grep -c -F "mixer: $f: No such file or directory; skipping it" \
		"$WORK/station.log")
	echo "$f: gone, logged $c times"
	[ "$c" -eq 1 ] || { [ "$f" = "$f1" ] && [ "$c" -eq 0 ]; } ||
		fail "$f gone, logged $c times by the mixer"
done
c=$(grep -c -F "mixer: $f1: ended at" "$WORK/station.log")
[ "$c" -eq 1 ] || fail "the truncation of $f1 logged $c times"
if grep -E 'mixer: .*(marked bad|decode error)' "$WORK/station.log" |
	grep -v -F "$f1"; then
	fail "the mixer marked a gone or replaced file bad"
fi

# The rescan: gone files are missing, none is bad for being gone.
kill -HUP "$STATION_PID"
wait_log 'library: scanned' 2
bad=$(sql "SELECT path || ': ' || bad_reason FROM tracks
	   WHERE bad_reason IS NOT NULL AND bad_reason != ''
	   AND path != '$f1'")
[ -z "$bad" ] || fail "tracks marked bad: $bad"
missing=$(sql "SELECT count(*) FROM tracks WHERE missing != 0")
echo "missing after the rescan: $missing of 7"
[ "$missing" -eq 7 ] || fail "$missing of 7 tracks missing after the rescan"
station_stop || fail "the station did not exit 0"
echo ok
