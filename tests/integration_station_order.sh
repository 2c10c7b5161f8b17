#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_station_order — the station plays the brain's order, and
# after a restart goes on after the last track it played. Five tagged click
# tracks (MP3, 9 s, tempi within the mixer's stretch range), analysed first
# with `foreverfm analyze`; `foreverfm plan --json` on the same catalog
# says the cycle.
#
# Asserts: what the station plays (its play history in the catalog, and the
# StreamTitles a listener hears) follows the plan's cycle step by step;
# after SIGTERM, `foreverfm plan` starts after the last track played; after
# a restart the station's first track is the one after the last track
# played, not the start of the cycle.
. "$top_srcdir/tests/lib.sh"
command -v sox >/dev/null 2>&1 || { echo "sox missing"; exit 77; }
command -v sqlite3 >/dev/null 2>&1 || { echo "sqlite3 missing"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
command -v bc >/dev/null 2>&1 || { echo "bc missing"; exit 77; }
it_setup

# clicktrack_mp3 OUT.mp3 BPM SECONDS ARTIST TITLE: clicktrack (lib.sh), as
# a tagged MP3.
clicktrack_mp3() {
	clicktrack "$WORK/c.wav" "$2" "$3"
	ffmpeg -nostdin -loglevel error -y -i "$WORK/c.wav" -c:a libmp3lame \
		-b:a 192k -id3v2_version 3 -metadata artist="$4" \
		-metadata title="$5" "$1" || fail "ffmpeg could not make $1"
	rm -f "$WORK/c.wav"
}

lib="$WORK/music"
mkdir -p "$lib"
k=0
for bpm in 103.2 100 106.4 101.6 104.8; do
	k=$((k + 1))
	clicktrack_mp3 "$lib/$k.mp3" "$bpm" 9 "Artist $k" "T$bpm"
done
station_config "$WORK/station.ini" "$lib" "[library]
min_duration = 5
[brain]
no_repeat_hours = 0"

"$FOREVERFM" analyze -c "$WORK/station.ini" >/dev/null 2>"$WORK/analyze.log" ||
	fail "analyze failed: $(tail -n 5 "$WORK/analyze.log")"

# The cycle, as "Artist - Title" lines, from a plan with no play yet.
plan_titles() {
	"$FOREVERFM" plan --json -c "$WORK/station.ini" 2>>"$WORK/plan.log" |
		python3 -c 'import json, sys
for e in json.load(sys.stdin): print(e["artist"] + " - " + e["title"])'
}
plan_titles > "$WORK/cycle" || fail "plan failed"
echo "the plan:"; cat "$WORK/cycle"
[ "$(wc -l < "$WORK/cycle")" -eq 5 ] || fail "the plan does not hold 5 tracks"

# follows FILE: every line of FILE is followed by the next one of the cycle.
follows() {
	python3 - "$WORK/cycle" "$1" <<'EOF'
import sys
cycle = [l.rstrip("\n") for l in open(sys.argv[1])]
seq = [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip()]
n = len(cycle)
for a, b in zip(seq, seq[1:]):
    if cycle[(cycle.index(a) + 1) % n] != b:
        sys.exit("%r is followed by %r, not %r" % (a, b,
                 cycle[(cycle.index(a) + 1) % n]))
EOF
}


plays() {
	sql "SELECT t.artist || ' - ' || t.title FROM plays p JOIN tracks t
	     ON t.id = p.track_id ORDER BY p.id"
}

station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
listen /forever.mp3 16 "$WORK/l.mp3" "$WORK/l.meta"
cut -f2- "$WORK/l.meta" > "$WORK/heard"
echo "heard:"; cat "$WORK/heard"
[ "$(wc -l < "$WORK/heard")" -ge 2 ] || fail "fewer than 2 titles in 16 s"
follows "$WORK/heard" || fail "the titles heard do not follow the plan"
# Stop in the middle of the cycle, so that "after the last" and "from the
# start" differ.
deadline=$(( $(date +%s) + 30 ))
while [ $(( $(plays | wc -l) % 5 )) -eq 0 ]; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "no play for 30 s"
	sleep 0.2
done
station_stop || fail "station exited with status $? on SIGTERM"

plays > "$WORK/plays1"
echo "played:"; cat "$WORK/plays1"
# The first track is the plan's first (no play before), then its cycle.
[ "$(head -n 1 "$WORK/plays1")" = "$(head -n 1 "$WORK/cycle")" ] ||
	fail "the station did not start where the plan does"
follows "$WORK/plays1" || fail "the play history does not follow the plan"
last=$(tail -n 1 "$WORK/plays1")
n1=$(wc -l < "$WORK/plays1")

# The plan now goes on after the last play, and ends with it.
plan_titles > "$WORK/after" || fail "plan after the run failed"
[ "$(tail -n 1 "$WORK/after")" = "$last" ] ||
	fail "the plan does not end with the last track played ($last)"
printf '%s\n%s\n' "$last" "$(head -n 1 "$WORK/after")" > "$WORK/pair"
follows "$WORK/pair" || fail "the plan does not continue after $last"

# Restart: the first new play is the one after the last.
station_start "$WORK/station.ini"
deadline=$(( $(date +%s) + 20 ))
while [ "$(plays | wc -l)" -le "$n1" ]; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "no play after the restart"
	sleep 0.2
done
station_stop || fail "station exited with status $? on SIGTERM"
first=$(plays | sed -n "$((n1 + 1))p")
echo "after the restart: $first (last before: $last)"
[ "$first" = "$(head -n 1 "$WORK/after")" ] ||
	fail "after the restart the station played '$first', not the one after '$last'"
if [ "$last" != "$(tail -n 1 "$WORK/cycle")" ]; then
	[ "$first" != "$(head -n 1 "$WORK/cycle")" ] ||
		fail "after the restart the station started the cycle over"
fi
grep -q 'brain: play order of 5 tracks' "$WORK/station.log" ||
	fail "no play order in the station log"
echo "ok"
