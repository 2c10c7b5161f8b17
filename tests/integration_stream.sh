#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_stream — foreverfm streams a library into a real Icecast and we
# listen as a player does (Icy-MetaData: 1). Four tone tracks of distinct
# pitch, 8 s each, 2 s crossfades: a track change every 6 s.
#
# Asserts: valid MPEG frames (no broken frame, 128 kbps, 44.1 kHz); the data
# rate over 30 s in steady state within 2% of 128 kbps (real-time pacing);
# every title is seen, byte-exact (Unicode and quotes); the StreamTitle
# sequence is the play order recorded in the catalog, and matches what is
# audible; each title change comes within 1 s of the audible change; no track
# twice in a row; the Ogg mount decodes as Vorbis with each track's comments.
. "$top_srcdir/tests/lib.sh"
it_setup

lib="$WORK/music"
mkdir -p "$lib"
title_u='Café "Zitat" l'"'"'été — 日本語 🎵 - x'
gen_tone 311 8 "Artist One" "Low" "$lib/one.mp3"
gen_tone 523 8 "Artist Two" "Middle" "$lib/two.ogg"
gen_tone 740 8 "Sigur Rós" "$title_u" "$lib/three.mp3"
gen_tone 1047 8 "Artist Four" "High" "$lib/four.ogg"

station_config "$WORK/station.ini" "$lib"
station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
wait_mount /forever.ogg 20 || fail "/forever.ogg did not appear"

# Two MP3 listeners started together: their difference is 30 s of steady
# state, free of Icecast's burst-on-connect. One Ogg listener.
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 12 "$WORK/short.mp3" "$WORK/short.meta" &
p1=$!
"$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 42 "$WORK/long.mp3" "$WORK/long.meta" &
p2=$!
"$TOOLS/icy_listen" "$BASE_URL/forever.ogg" 20 "$WORK/long.ogg" "$WORK/ogg.meta" &
p3=$!
wait $p1 || fail "short listener failed"
wait $p2 || fail "long listener failed"
wait $p3 || fail "ogg listener failed"

# --- frames
frames=$("$TOOLS/mpeg_frames" "$WORK/long.mp3") || fail "no MPEG frames: $frames"
echo "long capture: $frames"
case "$frames" in
*" resyncs=0 bitrate_kbps=128 samplerate=44100 "*) ;;
*) fail "stream is not clean 128 kbps 44.1 kHz MPEG: $frames" ;;
esac

# --- bitrate over 30 s of steady state
short_bytes=$(stat -c %s "$WORK/short.mp3")
long_bytes=$(stat -c %s "$WORK/long.mp3")
rate_ok=$(awk -v a="$short_bytes" -v b="$long_bytes" 'BEGIN {
	kbps = (b - a) * 8 / 30 / 1000
	printf "%.2f", kbps
	exit !(kbps >= 128 * 0.98 && kbps <= 128 * 1.02) }') ||
	fail "steady-state rate $rate_ok kbps is not within 2% of 128"
echo "steady-state rate: $rate_ok kbps"

# --- titles: all seen, byte-exact, in play order, in step with the audio
cut -f2- "$WORK/long.meta" > "$WORK/titles"
echo "titles heard:"; cat "$WORK/titles"
for t in "Artist One - Low" "Artist Two - Middle" "Sigur Rós - $title_u" \
	 "Artist Four - High"; do
	grep -qxF "$t" "$WORK/titles" || fail "title never seen: $t"
done

# Play history from the catalog, as titles, oldest first.
sql "SELECT t.artist || ' - ' || t.title FROM plays p JOIN tracks t
     ON t.id = p.track_id ORDER BY p.id" > "$WORK/plays"
awk 'prev == $0 { exit 1 } { prev = $0 }' "$WORK/plays" ||
	fail "a track played twice in a row"
# The titles heard must be a contiguous run of the play history.
n=$(wc -l < "$WORK/titles")
found=0
total=$(wc -l < "$WORK/plays")
i=1
while [ "$i" -le "$total" ]; do
	if sed -n "$i,$((i + n - 1))p" "$WORK/plays" | cmp -s - "$WORK/titles"; then
		found=1
		break
	fi
	i=$((i + 1))
done
[ "$found" = 1 ] || { cat "$WORK/plays"; fail "titles heard are not the play order"; }

# What is audible, from the decoded capture.
ffmpeg -nostdin -loglevel error -i "$WORK/long.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" "311:Artist One - Low" "523:Artist Two - Middle" \
		"740:Sigur Rós - $title_u" "1047:Artist Four - High" > "$WORK/audible"
echo "audible:"; cat "$WORK/audible"
grep -v -e '^end' "$WORK/audible" | cut -f2 | grep -vx -- '-' > "$WORK/audible_titles"
cmp -s "$WORK/audible_titles" "$WORK/titles" ||
	fail "the title sequence differs from what is audible"

# Each title change (all but the title sent on connect) within 1 s of the
# audible change. CBR 128 kbps: 16000 bytes per second of audio.
skipped=$(echo "$frames" | sed 's/.* skipped=\([0-9]*\) .*/\1/')
tail -n +2 "$WORK/long.meta" | while IFS="$(printf '\t')" read -r offset title; do
	t_title=$(awk -v o="$offset" -v s="$skipped" 'BEGIN { printf "%.3f", (o - s) / 16000 }')
	t_audible=$(awk -F '\t' -v t="$title" '$2 == t { print $1 }' "$WORK/audible" |
		awk -v x="$t_title" 'BEGIN { best = -1 } {
			d = $1 - x; if (d < 0) d = -d
			if (best < 0 || d < best) { best = d; v = $1 } } END { print v }')
	[ -n "$t_audible" ] || fail "no audible change for $title"
	echo "title '$title' at $t_title s, audible at $t_audible s"
	awk -v a="$t_title" -v b="$t_audible" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1.0) }' ||
		fail "title '$title' at $t_title s is more than 1 s from the audible change at $t_audible s"
done || exit 1

# --- Ogg: decodes as Vorbis, and carries each track's comments
ogginfo "$WORK/long.ogg" > "$WORK/ogginfo" 2>&1
grep -q "Vorbis" "$WORK/ogginfo" || { cat "$WORK/ogginfo"; fail "Ogg mount is not Vorbis"; }
oggdec -Q -o /dev/null "$WORK/long.ogg" || fail "Ogg mount does not decode"
streams=$(grep -c "^New logical stream" "$WORK/ogginfo")
[ "$streams" -ge 2 ] || { cat "$WORK/ogginfo"; fail "Ogg mount is not chained per track ($streams streams)"; }
grep -E "^[[:space:]]*(TITLE|title)=" "$WORK/ogginfo" | sed 's/^[[:space:]]*//' > "$WORK/ogg_titles"
echo "ogg titles:"; cat "$WORK/ogg_titles"
[ "$(wc -l < "$WORK/ogg_titles")" -ge 2 ] || fail "Ogg streams lack TITLE comments"
grep -q -e "Low" -e "Middle" -e "High" -e "Zitat" "$WORK/ogg_titles" || fail "Ogg TITLE comments are wrong"

station_stop || fail "station exited with status $? on SIGTERM"

# --- the UTF-8 mount hint: once per MP3 output, for the non-ASCII title,
# however often it plays (the Ogg output's titles are Vorbis comments).
hints=$(grep -c 'is not plain ASCII: listeners see it intact only if' "$WORK/station.log")
[ "$hints" -eq 1 ] || fail "the charset hint was logged $hints times, not once"
grep 'is not plain ASCII' "$WORK/station.log" | grep -q 'output mp3: "Sigur Rós - ' ||
	fail "the charset hint does not name the MP3 output and the title"
echo "ok"
