#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_real_music — analysis and mixing of real songs: the three
# tracks of Debian's asc-music package (Michael Kievernagel's music for
# Advanced Strategic Command, 2002, GPL-2+; MP3, 3 to 7 minutes, orchestral
# and electronic, 17.6 minutes in all). Skipped (77) when the package is
# not installed; contrib/test.sh installs it.
#
# There is no ground truth for real music, so this asserts what must hold
# for any song: `foreverfm analyze --json` exits 0, no track is bad, every
# value is present and in range (tempo within the 70..180 BPM prior,
# confidences in 0..1, a key, loudness of a mastered song, duration of
# minutes), and the figures are printed for a person to judge. Then a
# 20-minute `foreverfm render` of them (the tour repeats) to WAV: exit 0,
# no error logged, exactly 20 minutes, one transitions-log line per
# transition, measured by ffmpeg (its own EBU R128 meter, not ours): true
# peak at most -1 dBTP (0.1 dB for the meters' different oversampling),
# integrated loudness within 1 LU of -14 LUFS, and no silence (-50 dBFS for
# 100 ms) but in the final fade-out.
set -u

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
FOREVERFM="$top_builddir/foreverfm"
SONGS=${ASC_MUSIC_DIR:-/usr/share/games/asc/music}

ls "$SONGS"/*.mp3 >/dev/null 2>&1 || {
	echo "asc-music is not installed ($SONGS): apt-get install asc-music"
	exit 77
}
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-realmusic-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}

cat > "$WORK/analyze.ini" <<EOF
[library]
database = $WORK/catalog.db
EOF
"$FOREVERFM" analyze --json -c "$WORK/analyze.ini" "$SONGS" \
	>"$WORK/out.json" 2>"$WORK/log" || {
	echo "FAIL: foreverfm analyze exited $?"
	cat "$WORK/log"
	exit 1
}
python3 - "$WORK/out.json" <<'EOF' || { cat "$WORK/log"; exit 1; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) >= 3, len(rows)
for r in rows:
    name = r["path"].rsplit("/", 1)[-1]
    print("%-20s %7.2f BPM (%.2f)  first beat %.3f s  %-9s %-3s (%.2f)  "
          "%6.1f LUFS  %5.1f dBTP  energy %.2f  %5.1f s" % (
              name, r["bpm"], r["bpm_confidence"], r["first_beat"],
              r["key"], r["camelot"], r["key_confidence"],
              r["loudness_lufs"], r["true_peak_db"], r["energy"],
              r["duration"]))
    assert r["bad"] is None, (name, r["bad"])
    assert 70 <= r["bpm"] <= 180, (name, r["bpm"])
    for k in ("bpm_confidence", "key_confidence", "grid_confidence",
              "downbeat_confidence", "energy"):
        assert 0 <= r[k] <= 1, (name, k, r[k])
    assert r["beats_per_bar"] == 4
    assert 0 <= r["first_beat"] <= 60 / r["bpm"] + r["audio_start"] + 0.05
    assert r["first_beat"] <= r["downbeat"] < r["first_beat"] + 4 * 60 / r["bpm"] + 0.01
    assert r["key"] and r["camelot"], name
    assert -30 < r["loudness_lufs"] < -3, (name, r["loudness_lufs"])
    assert -10 < r["true_peak_db"] < 3, (name, r["true_peak_db"])
    assert 120 < r["duration"] < 600, (name, r["duration"])
    assert 0 <= r["audio_start"] < r["intro_end"] <= r["outro_start"] < r["audio_end"] <= r["duration"] + 0.1, name
    assert r["phrases"] and r["phrase_bars"] in (8, 16, 32), name
print("ok:", len(rows), "songs")
EOF

# --- Twenty minutes of mix.
"$FOREVERFM" render -o "$WORK/mix.wav" -d 1200 --seed 7 \
	--transitions-log "$WORK/transitions.jsonl" "$SONGS" \
	2>"$WORK/render.log" || { rc=$?; cat "$WORK/render.log"; fail "render exited $rc"; }
grep -v 'render: [0-9][0-9]:\|mixer: now playing' "$WORK/render.log"
if grep -q '^<[0-3]>' "$WORK/render.log"; then
	fail "render logged errors"
fi
summary=$(grep 'render: wrote ' "$WORK/render.log") || fail "no summary line"
kinds=$(echo "$summary" | sed -n 's/.*(\([0-9]*\) beatmatched, \([0-9]*\) crossfaded).*/\1 \2/p')
[ -n "$kinds" ] || fail "no transition counts in: $summary"
set -- $kinds
logged=$(wc -l < "$WORK/transitions.jsonl")
[ "$logged" -eq $(($1 + $2)) ] ||
	fail "$logged transitions logged, $1 beatmatched + $2 crossfaded made"
[ "$logged" -ge 3 ] || fail "only $logged transitions in 20 minutes"

ffmpeg -nostdin -hide_banner -nostats -i "$WORK/mix.wav" \
	-af ebur128=peak=true,silencedetect=n=-50dB:d=0.1 -f null - \
	2>"$WORK/measure.log" || fail "ffmpeg could not measure the mix"
duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
	"$WORK/mix.wav")
integrated=$(awk '$1 == "I:" { v = $2 } END { print v }' "$WORK/measure.log")
true_peak=$(awk '/True peak:/ { tp = 1 } tp && $1 == "Peak:" { print $2; exit }' \
	"$WORK/measure.log")
silences=$(grep -o 'silence_start: [0-9.]*' "$WORK/measure.log" |
	awk '$2 < 1198 { printf "%s ", $2 }')
echo "mix: ${duration} s, ${integrated} LUFS, true peak ${true_peak} dBTP," \
	"$1 beatmatched, $2 crossfades"
awk -v d="$duration" 'BEGIN { exit !(d > 1199.99 && d < 1200.01) }' ||
	fail "the mix lasts $duration s, not 1200"
awk -v tp="$true_peak" 'BEGIN { exit !(tp != "" && tp <= -0.9) }' ||
	fail "true peak $true_peak dBTP: clipping or no limiter"
awk -v i="$integrated" 'BEGIN { exit !(i != "" && i >= -15 && i <= -13) }' ||
	fail "integrated loudness $integrated LUFS, not -14 +- 1"
[ -z "$silences" ] || fail "silence in the mix at: $silences"
echo "ok: 20 minutes mixed"
