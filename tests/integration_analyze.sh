#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_analyze — `foreverfm analyze` end to end on a generated
# library: click tracks at known tempi (MP3, Ogg, WAV, mono 8 kHz), a copy
# of one under another name, digital silence, random bytes named .mp3, a
# file whose analysis child crashes (FOREVERFM_ANALYZE_TEST_HOOK) and a
# file name that is not UTF-8.
#
# Asserts: --json lists every file once, with every documented key; tempi
# within 0.1%; the corrupt file and the crashing one are bad with a reason
# while the rest is analysed, and the exit status is 0; the copy is read
# from the cache, not analysed twice; a second run analyses nothing (its
# log says so, it takes a fraction of the first run's time) and prints the
# same listing; a touched file costs no analysis, a changed one is analysed
# again; without a terminal the progress is plain log lines; bad usage
# exits 2.
. "$top_srcdir/tests/lib.sh"
need_tools sox python3 bc
work_setup analyze
fail() {
	echo "FAIL: $*"
	for f in "$WORK"/log*; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
	exit 1
}
now() { date +%s.%N; }

lib="$WORK/music"
mkdir -p "$lib/sub" "$lib/copies"
clicktrack "$lib/c128.wav" 128 20 0.5 44100 2
if command -v ffmpeg >/dev/null 2>&1; then
	ffmpeg -loglevel error -y -i "$lib/c128.wav" -c:a libmp3lame \
		-b:a 192k "$lib/clicks-128.mp3" || fail "ffmpeg"
	rm "$lib/c128.wav"
	mp3=clicks-128.mp3
else
	mv "$lib/c128.wav" "$lib/clicks-128.wav"
	mp3=clicks-128.wav
fi
clicktrack "$lib/sub/clicks-140.ogg" 140 20 0.3 44100 2
clicktrack "$lib/sub/clicks-86.wav" 86 20 0.2 44100 2
clicktrack "$lib/clicks-174-mono-8k.wav" 174 20 0.1 8000 1
cp "$lib/$mp3" "$lib/copies/same-as-128.${mp3##*.}"
clicktrack "$lib/crash-me.wav" 120 12 0.1 44100 2
sox -V1 -n -r 44100 -c 2 "$lib/silence.wav" trim 0 5
head -c 65536 /dev/urandom > "$lib/corrupt.mp3"
latin1=$(printf 'caf\351-132.wav')
clicktrack "$lib/$latin1" 132 15 0.25 44100 2

cat > "$WORK/analyze.ini" <<EOF
[library]
database = $WORK/db/catalog.db
[analysis]
workers = 2
timeout_seconds = 120
EOF

# --- First run: everything analysed, the bad ones reported.
t0=$(now)
FOREVERFM_ANALYZE_TEST_HOOK=crash:crash-me \
	"$FOREVERFM" analyze --json -c "$WORK/analyze.ini" "$lib" \
	>"$WORK/out1.json" 2>"$WORK/log1" || fail "first run exited $?"
t1=$(now)
grep -q "analyze: 8 tracks: 6 analysed, 1 from the cache, 1 bad" \
	"$WORK/log1" || fail "first run: unexpected summary"
grep -q 'analyze: \[1/8\] ' "$WORK/log1" || fail "no per-track log lines"
if grep -q "$(printf '\r')" "$WORK/log1"; then
	fail "a progress bar was drawn without a terminal"
fi

python3 - "$WORK/out1.json" "$lib" "$mp3" <<'EOF' || fail "first listing"
import json, sys
path, lib, mp3 = sys.argv[1:4]
rows = [json.loads(l) for l in open(path, encoding="utf-8")]
by = {r["path"][len(lib) + 1:]: r for r in rows}
keys = ["path", "artist", "title", "duration", "bpm", "bpm_confidence",
        "first_beat", "beats_per_bar", "downbeat", "key", "camelot",
        "key_confidence", "loudness_lufs", "true_peak_db", "energy", "bad"]
assert len(rows) == 9, len(rows)
for r in rows:
    for k in keys:
        assert k in r, (r["path"], k)
want = {mp3: 128, "sub/clicks-140.ogg": 140, "sub/clicks-86.wav": 86,
        "clicks-174-mono-8k.wav": 174,
        "copies/same-as-128." + mp3.split(".")[-1]: 128,
        "caf\ufffd-132.wav": 132}
for name, bpm in want.items():
    r = by[name]
    assert r["bad"] is None, (name, r["bad"])
    assert abs(r["bpm"] - bpm) / bpm <= 0.001, (name, r["bpm"])
    assert 0 < r["bpm_confidence"] <= 1, name
    assert r["beats_per_bar"] == 4
    assert 0 <= r["first_beat"] < 60 / bpm + 0.6, (name, r["first_beat"])
    assert -40 < r["loudness_lufs"] < 0, (name, r["loudness_lufs"])
    assert 10 < r["duration"] < 21, (name, r["duration"])
    assert len(r["content_hash"]) == 32
a, b = by[mp3], by["copies/same-as-128." + mp3.split(".")[-1]]
assert a["content_hash"] == b["content_hash"] and a["bpm"] == b["bpm"]
s = by["silence.wav"]
assert s["bad"] is None and s["bpm"] == 0 and s["key"] is None, s
assert s["loudness_lufs"] <= -70
c = by["crash-me.wav"]
assert c["bad"].startswith("analysis: crashed: signal"), c["bad"]
assert c["bpm"] is None
k = by["corrupt.mp3"]
assert k["bad"] and k["bpm"] is None, k
print("first listing ok:", len(rows), "tracks")
EOF
[ "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from analysis").fetchone()[0])' "$WORK/db/catalog.db")" = 6 ] ||
	fail "expected 6 cached analyses (one per distinct content)"

# --- Second run: all from the cache, no child, same listing.
t2=$(now)
"$FOREVERFM" analyze --json -c "$WORK/analyze.ini" "$lib" \
	>"$WORK/out2.json" 2>"$WORK/log2" || fail "second run exited $?"
t3=$(now)
grep -q "7 playable tracks in the catalog, 0 to analyse" "$WORK/log2" ||
	fail "second run: something left to analyse"
grep -q "analyze: 7 tracks: 0 analysed, 0 from the cache, 0 bad, 7 already done" \
	"$WORK/log2" || fail "second run: unexpected summary"
cmp -s "$WORK/out1.json" "$WORK/out2.json" ||
	fail "the second listing differs from the first"
first=$(echo "$t1 - $t0" | bc -l)
second=$(echo "$t3 - $t2" | bc -l)
echo "first run $first s, cached run $second s"
[ "$(echo "$second < 2 && $second < $first / 2" | bc -l)" = 1 ] ||
	fail "the cached run was not fast: $second s (first $first s)"

# --- A touched file costs a hash; a changed one is analysed again.
sleep 0.01
touch "$lib/sub/clicks-86.wav"
"$FOREVERFM" analyze -c "$WORK/analyze.ini" "$lib" 2>"$WORK/log3" ||
	fail "third run exited $?"
grep -q "1 to analyse" "$WORK/log3" || fail "a touched file was not rechecked"
grep -q "0 analysed, 1 from the cache" "$WORK/log3" ||
	fail "a touched file was analysed again"
clicktrack "$lib/sub/clicks-86.wav" 95 20 0.2 44100 2
"$FOREVERFM" analyze --json -c "$WORK/analyze.ini" "$lib/sub" \
	>"$WORK/out4.json" 2>"$WORK/log4" || fail "fourth run exited $?"
grep -q "1 analysed, 0 from the cache" "$WORK/log4" ||
	fail "a changed file was not analysed again"
python3 - "$WORK/out4.json" <<'EOF' || fail "changed file"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# PATH arguments limit the listing to what is under them.
assert len(rows) == 2, [r["path"] for r in rows]
r = [r for r in rows if r["path"].endswith("clicks-86.wav")][0]
assert abs(r["bpm"] - 95) / 95 <= 0.001, r["bpm"]
EOF

# --- Usage errors exit 2.
HOME="$WORK" XDG_CACHE_HOME="$WORK/cache" "$FOREVERFM" analyze \
	>/dev/null 2>&1
[ $? -eq 2 ] || fail "analyze without paths did not exit 2"
"$FOREVERFM" render --json -o x.wav -d 1 "$lib" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--json outside analyze did not exit 2"
"$FOREVERFM" analyze --bogus "$lib" >/dev/null 2>&1
[ $? -eq 2 ] || fail "a bad option did not exit 2"

# --- Without -c: a cache of the user's.
HOME="$WORK" XDG_CACHE_HOME="$WORK/cache" "$FOREVERFM" analyze -q \
	"$lib/sub" >/dev/null 2>"$WORK/log5" || fail "analyze without -c"
[ -f "$WORK/cache/foreverfm/catalog.db" ] ||
	fail "no cache in \$XDG_CACHE_HOME/foreverfm"
echo "ok"
