#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_formats — issue 11's "4 of 7 tracks": a folder with MP3, Ogg
# Vorbis, FLAC, WAV, AAC (.m4a), ALAC (.m4a) and Opus click tracks at
# 120..126 BPM, each with its own title tag (the AAC one non-ASCII), plus a
# truncated .m4a and random bytes named .m4a.
#
# Asserts: `analyze --json` sees all nine files, analyses the seven tracks
# (each tempo within 0.5 %, its title from its tags) and lists the two bad
# files with a clear reason, which the catalog keeps as bad_reason; a second
# run neither probes nor logs the bad files again; `render` plays all seven
# tracks (each is "now playing" in the mix) and logs no error.
. "$top_srcdir/tests/lib.sh"
need_tools sox python3 ffmpeg
work_setup formats
fail() {
	echo "FAIL: $*"
	for f in "$WORK"/log* "$WORK"/*.json; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
	exit 1
}
ff() {
	ffmpeg -nostdin -hide_banner -loglevel error -y "$@" || fail "ffmpeg $*"
}

lib="$WORK/music"
mkdir -p "$lib/bad"
for bpm in 120 121 122 123 124 125 126; do
	clicktrack "$WORK/c$bpm.wav" "$bpm" 30
done
ff -i "$WORK/c120.wav" -c:a libmp3lame -b:a 192k -metadata title="Clicks MP3" \
	"$lib/c120.mp3"
ff -i "$WORK/c121.wav" -c:a libvorbis -metadata title="Clicks Vorbis" \
	"$lib/c121.ogg"
ff -i "$WORK/c122.wav" -c:a flac -metadata title="Clicks FLAC" \
	"$lib/c122.flac"
cp "$WORK/c123.wav" "$lib/c123.wav"
ff -i "$WORK/c124.wav" -c:a aac -b:a 192k -metadata title="Clicks AAC Ünïcødé" \
	"$lib/c124-aac.m4a"
ff -i "$WORK/c125.wav" -c:a alac -metadata title="Clicks ALAC" \
	"$lib/c125-alac.m4a"
ff -i "$WORK/c126.wav" -c:a libopus -b:a 128k -metadata title="Clicks Opus" \
	"$lib/c126.opus"
size=$(wc -c <"$lib/c124-aac.m4a")
head -c $((size / 2)) "$lib/c124-aac.m4a" >"$lib/bad/truncated.m4a"
head -c 65536 /dev/urandom >"$lib/bad/random.m4a"
rm -f "$WORK"/c12?.wav

cat > "$WORK/foreverfm.ini" <<EOF
[library]
path = $lib
database = $WORK/catalog.db
[analysis]
workers = 2
timeout_seconds = 120
EOF

"$FOREVERFM" analyze --json -c "$WORK/foreverfm.ini" >"$WORK/out1.json" \
	2>"$WORK/log1" || fail "analyze exited $?"
grep -q "analyze: 7 tracks: 7 analysed, 0 from the cache, 0 bad" \
	"$WORK/log1" || fail "not 7 of 7 tracks analysed"
[ "$(grep -c 'not playable' "$WORK/log1")" -eq 2 ] ||
	fail "the two bad files were not logged once each"

python3 - "$WORK/out1.json" "$lib" "$WORK/catalog.db" <<'EOF' || fail "listing"
import json, sqlite3, sys
path, lib, db = sys.argv[1:4]
rows = [json.loads(l) for l in open(path, encoding="utf-8")]
by = {r["path"][len(lib) + 1:]: r for r in rows}
assert len(rows) == 9, sorted(by)
want = {"c120.mp3": (120, "Clicks MP3"), "c121.ogg": (121, "Clicks Vorbis"),
        "c122.flac": (122, "Clicks FLAC"), "c123.wav": (123, ""),
        "c124-aac.m4a": (124, "Clicks AAC \u00dcn\u00efc\u00f8d\u00e9"),
        "c125-alac.m4a": (125, "Clicks ALAC"),
        "c126.opus": (126, "Clicks Opus")}
for name, (bpm, title) in want.items():
    r = by[name]
    assert r["bad"] is None, (name, r["bad"])
    assert r["title"] == title, (name, r["title"])
    assert abs(r["bpm"] - bpm) / bpm <= 0.005, (name, r["bpm"])
    assert 29 < r["duration"] < 31, (name, r["duration"])
    print("%-14s %7.3f BPM  %s" % (name, r["bpm"], r["title"]))
reasons = dict(sqlite3.connect(db).execute(
    "select path, bad_reason from tracks where bad_reason is not null"))
reasons = {p.decode()[len(lib) + 1:]: r for p, r in reasons.items()}
assert set(reasons) == {"bad/truncated.m4a", "bad/random.m4a"}, reasons
assert "truncated" in reasons["bad/truncated.m4a"], reasons
assert "not an audio file" in reasons["bad/random.m4a"], reasons
for name in reasons:
    assert by[name]["bad"] == reasons[name], by[name]
    print("%-14s bad: %s" % (name, reasons[name]))
EOF

# Remembered: the unchanged bad files are neither read nor logged again.
"$FOREVERFM" analyze -c "$WORK/foreverfm.ini" 2>"$WORK/log2" ||
	fail "second analyze exited $?"
grep -q "m4a" "$WORK/log2" && fail "a bad file was probed or logged again"
grep -q "analyze: 7 tracks: 0 analysed, 0 from the cache, 0 bad, 7 already done" \
	"$WORK/log2" || fail "second run: unexpected summary"

# Played: every track is "now playing" once in four minutes of mix.
"$FOREVERFM" render -c "$WORK/foreverfm.ini" -o "$WORK/mix.wav" -d 240 \
	--seed 1 2>"$WORK/log.render" || fail "render exited $?"
grep -q '^<[0-3]>' "$WORK/log.render" && fail "render logged errors"
for title in "Clicks MP3" "Clicks Vorbis" "Clicks FLAC" "c123" \
	"Clicks AAC Ünïcødé" "Clicks ALAC" "Clicks Opus"; do
	grep -q "now playing \"$title\"" "$WORK/log.render" ||
		fail "$title was not played"
done
echo "ok: 7 of 7 formats analysed and played; 2 bad files remembered"
