#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_cli — the foreverfm command line as a user meets it: help, version,
# usage errors (exit 2), `check` on good and bad files, `render` of the
# generated test music to WAV, MP3 and Ogg (lengths and formats measured
# with sox/ffprobe), --transitions-log and --decks beside the mix, renders
# that must fail without leaving a file behind, and `run` without an
# Icecast: status, reload (bad and good), stop.
#
# Exit: 0 pass, 1 fail, 77 skip (no sox/ffmpeg), 99 could not run.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
[ -x "$FOREVERFM" ] || { echo "no $FOREVERFM" >&2; exit 99; }
need_tools sox soxi ffprobe ffmpeg ogginfo

work_setup cli

# lib.sh's fail, with the output of the command at hand instead of
# Icecast's logs (there is no Icecast here).
fail() {
	echo "FAIL: $*" >&2
	for f in "$WORK/out" "$WORK/err" "$WORK/station.log"; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 80 "$f" >&2; }
	done
	exit 1
}

# expect STATUS CMD... — runs CMD with stdout/stderr in $WORK/out, $WORK/err.
expect() {
	want=$1
	shift
	"$@" >"$WORK/out" 2>"$WORK/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "exit $got, not $want: $*"
}

lines() { wc -l <"$1" | tr -d ' '; }

# near A B TOL — |A - B| <= TOL
near() {
	awk -v a="$1" -v b="$2" -v t="$3" \
		'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# --- help, version, usage errors -------------------------------------------
expect 0 "$FOREVERFM" --help
grep -q '^Usage: foreverfm' "$WORK/out" || fail "--help prints no usage"
[ -s "$WORK/err" ] && fail "--help wrote to stderr"
expect 0 "$FOREVERFM" render --help
grep -q 'render -o OUT' "$WORK/out" || fail "render --help"
expect 0 "$FOREVERFM" --version
grep -qx 'foreverfm [0-9][0-9.]*' "$WORK/out" || fail "--version: $(cat "$WORK/out")"

expect 2 "$FOREVERFM" --bogus
grep -q '^Usage: foreverfm' "$WORK/err" || fail "no usage on stderr for --bogus"
[ -s "$WORK/out" ] && fail "usage error wrote to stdout"
expect 2 "$FOREVERFM" frobnicate
grep -q "unknown command 'frobnicate'" "$WORK/err" || fail "unknown command"
expect 2 "$FOREVERFM" render -d 10 "$WORK"
grep -q 'render needs -o' "$WORK/err" || fail "render without -o"
expect 2 "$FOREVERFM" render -o "$WORK/x.wav" "$WORK"
expect 2 "$FOREVERFM" render -o "$WORK/x.wav" -d abc "$WORK"
grep -q "duration: must be a number" "$WORK/err" || fail "-d abc"
expect 2 "$FOREVERFM" render -o "$WORK/x.wav" -d 0 "$WORK"
expect 2 "$FOREVERFM" render -o "$WORK/x.wav" -d 10 --seed -1 "$WORK"
expect 2 "$FOREVERFM" render -o "$WORK/x.wav" -d 10
grep -q 'render needs PATH' "$WORK/err" || fail "render without music"
expect 2 "$FOREVERFM" render -o "$WORK/x.flac" -d 10 "$WORK"
grep -q 'unknown format' "$WORK/err" || fail "render .flac"
[ -e "$WORK/x.flac" ] || [ -e "$WORK/x.flac.tmp" ] && fail "file left by .flac"
expect 2 "$FOREVERFM" check -c /dev/null "$WORK"
expect 2 "$FOREVERFM" run -o "$WORK/x.wav"
grep -q 'only for the render command' "$WORK/err" || fail "run -o"
expect 2 "$FOREVERFM" plan --transitions-log "$WORK/t.jsonl" "$WORK"
grep -q -- '--transitions-log is only for the render command' "$WORK/err" ||
	fail "plan --transitions-log"
[ -e "$WORK/t.jsonl" ] && fail "a refused --transitions-log created its file"
expect 2 "$FOREVERFM" plan --decks "$WORK/d.wav" "$WORK"
grep -q -- '--decks is only for the render command' "$WORK/err" ||
	fail "plan --decks"
expect 2 "$FOREVERFM" run --decks "$WORK/d.wav"
grep -q -- '--decks is only for the render command' "$WORK/err" ||
	fail "run --decks"
[ -e "$WORK/d.wav" ] && fail "a refused --decks created its file"

# --- check --------------------------------------------------------------------
mkdir "$WORK/music" "$WORK/empty" || exit 99
printf 'secret-pw-1\n' >"$WORK/pw"
cat >"$WORK/good.ini" <<EOF
[library]
path = music
database = catalog.db
[icecast]
port = 8000
password_file = pw
[output.mp3]
mount = /forever.mp3
format = mp3
[output.ogg]
mount = /forever.ogg
format = ogg
quality = 0.3
EOF
expect 0 "$FOREVERFM" check -c "$WORK/good.ini"
[ "$(head -n 1 "$WORK/out")" = "$WORK/good.ini: ok" ] || fail "check: first line"
grep -qx "output mp3: /forever.mp3, mp3 128 kbps CBR" "$WORK/out" ||
	fail "check: mp3 summary"
grep -qx "output ogg: /forever.ogg, ogg quality 0.3, chained" "$WORK/out" ||
	fail "check: ogg summary"
grep -qx "  path $WORK/music" "$WORK/out" || fail "check: relative path"
grep -q "secret-pw-1" "$WORK/out" "$WORK/err" && fail "check shows the password"

printf '[icecast]\npassword = secret-pw-2\nport = abc\n' >"$WORK/bad.ini"
expect 2 "$FOREVERFM" check -c "$WORK/bad.ini"
[ "$(lines "$WORK/err")" -eq 1 ] || fail "check: not one error line"
[ "$(cat "$WORK/err")" = \
  "$WORK/bad.ini:3: [icecast] port: must be 1..65535, got 'abc'" ] ||
	fail "check: error line"
[ -s "$WORK/out" ] && fail "check: bad file printed a summary"

printf '[icecast]\npassword = secret-pw-3\npassword = x\n' >"$WORK/bad.ini"
expect 2 "$FOREVERFM" check -c "$WORK/bad.ini"
grep -q "secret-pw-3" "$WORK/err" && fail "check echoed the password"
expect 2 "$FOREVERFM" check -c "$WORK/nonexistent.ini"
grep -q "No such file" "$WORK/err" || fail "check: missing file"
printf '[library]\npath = /x\n' >"$WORK/nooutput.ini"
expect 2 "$FOREVERFM" check -c "$WORK/nooutput.ini"
grep -q "output.NAME.: missing" "$WORK/err" || fail "check: no output"

# The shipped example is valid.
expect 0 "$FOREVERFM" check -c "$top_srcdir/contrib/foreverfm.ini"

# --- render -------------------------------------------------------------------
fixture_library "$WORK/music"

# measure FILE — prints "SECONDS RATE CHANNELS" of the decoded audio.
measure() {
	case $1 in
	*.wav) echo "$(soxi -D "$1") $(soxi -r "$1") $(soxi -c "$1")" ;;
	*.ogg) # libvorbisfile (sox) reads every link of a chained stream
		echo "$(sox "$1" -n stat 2>&1 |
			awk '/^Length/ { print $3 }') $(soxi -r "$1") $(soxi -c "$1")" ;;
	*.mp3) # decode whole: the LAME tag tells ffmpeg delay and padding
		bytes=$(ffmpeg -v error -i "$1" -f s16le -ac 2 -ar 44100 - | wc -c)
		rate=$(ffprobe -v error -select_streams a:0 -show_entries \
			stream=sample_rate -of csv=p=0 "$1")
		ch=$(ffprobe -v error -select_streams a:0 -show_entries \
			stream=channels -of csv=p=0 "$1")
		echo "$(awk -v b="$bytes" 'BEGIN { print b / 176400 }') $rate $ch" ;;
	esac
}

for ext in wav mp3 ogg; do
	out="$WORK/mix.$ext"
	expect 0 "$FOREVERFM" render -o "$out" -d 30 --seed 7 "$WORK/music"
	[ -s "$out" ] || fail "render $ext: no file"
	[ -e "$out.tmp" ] && fail "render $ext: left $out.tmp"
	set -- $(measure "$out")
	near "$1" 30 0.2 || fail "render $ext: $1 s, not 30 s"
	[ "$2" = 44100 ] || fail "render $ext: rate $2"
	[ "$3" = 2 ] || fail "render $ext: $3 channels"
	grep -q 'render: 00:00:00 ' "$WORK/err" || fail "render $ext: no first track line"
	[ "$(grep -c 'render: [0-9][0-9]:[0-9][0-9]:[0-9][0-9] ' "$WORK/err")" -ge 2 ] ||
		fail "render $ext: fewer than 2 tracks in 30 s"
	grep -q 'Tone Artist' "$WORK/err" || fail "render $ext: no titles logged"
done
# The same seed and library: the same mix, to the sample (the analysis,
# the tour and the mixer are deterministic), and --transitions-log writes
# one JSON object per transition the render logged; --nowplaying-log the
# status server's events at the same positions (and the mix unchanged).
expect 0 "$FOREVERFM" render -o "$WORK/again.wav" -d 30 --seed 7 \
	--transitions-log "$WORK/transitions.jsonl" \
	--nowplaying-log "$WORK/nowplaying.jsonl" "$WORK/music"
[ -e "$WORK/nowplaying.jsonl.tmp" ] && fail "render left nowplaying.jsonl.tmp"
cmp -s "$WORK/mix.wav" "$WORK/again.wav" || fail "render --seed 7 twice differs"
made=$(grep -c 'mixer: \(crossfade\|beatmatched\) at ' "$WORK/err")
[ "$made" -ge 1 ] || fail "render: no transition logged"
python3 - "$WORK/transitions.jsonl" "$made" <<'PY' || fail "transitions log"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == int(sys.argv[2]), (len(rows), sys.argv[2])
for r in rows:
    for k in ("position_s", "marker_s", "a_exit_s", "b_entry_s", "bpm_from",
              "bpm_to", "bars", "duration_s", "from", "to", "reason"):
        assert k in r, k
    # Tones have no beat: crossfades, saying why.
    assert r["kind"] == "crossfade" and r["reason"], r
    assert 0 < r["position_s"] < r["marker_s"] < 30, r
PY
python3 - "$WORK/transitions.jsonl" "$WORK/nowplaying.jsonl" <<'PY' ||
import json, sys
trans = [json.loads(l) for l in open(sys.argv[1])]
events = [json.loads(l) for l in open(sys.argv[2])]
tracks = [e for e in events if e["event"] == "track"]
tr = [e for e in events if e["event"] == "transition"]
assert len(tr) == len(trans), (len(tr), len(trans))
assert tracks and tracks[0]["position_s"] == 0, tracks[:1]
assert len(tracks) == len(tr) + 1, (len(tracks), len(tr))
pos = [e["position_s"] for e in events]
assert pos == sorted(pos), pos
for a, b, t in zip(tr, trans, tracks[1:]):
    assert abs(a["position_s"] - b["position_s"]) < 1e-4, (a, b)
    assert abs(a["marker_position_s"] - b["marker_s"]) < 1e-4, (a, b)
    assert a["kind"] == b["kind"] and a["to_id"] == b["to_id"], (a, b)
    # The track is heard from its transition's title marker.
    assert abs(t["position_s"] - a["marker_position_s"]) < 1e-4, (t, a)
    assert t["song"]["id"] == a["to_id"] and t["song"]["text"] == b["to"], (t, b)
    assert t["song"]["text"] and t["song"]["duration"] > 0, t
PY
	fail "nowplaying log: $(cat "$WORK/nowplaying.jsonl")"
# --decks: the two decks beside the mix, which they leave as it was (the
# same mix to the sample with and without them): 4 channels of 32-bit
# float at 44.1 kHz, exactly as long as the mix. (Their content, sums and
# alignment: tests/test_beatmatch.)
expect 0 "$FOREVERFM" render -o "$WORK/withdecks.wav" -d 30 --seed 7 \
	--decks "$WORK/decks.wav" "$WORK/music"
cmp -s "$WORK/mix.wav" "$WORK/withdecks.wav" || fail "--decks changed the mix"
[ -e "$WORK/decks.wav.tmp" ] && fail "render --decks left decks.wav.tmp"
[ "$(soxi -c "$WORK/decks.wav")" = 4 ] || fail "decks: not 4 channels"
[ "$(soxi -r "$WORK/decks.wav")" = 44100 ] || fail "decks: not 44.1 kHz"
soxi "$WORK/decks.wav" 2>&1 | grep -q '32-bit Floating Point PCM' ||
	fail "decks: not 32-bit float: $(soxi "$WORK/decks.wav" 2>&1)"
soxi "$WORK/decks.wav" 2>&1 | grep -qi warn && fail "soxi warns about the decks"
[ "$(soxi -s "$WORK/decks.wav")" = "$(soxi -s "$WORK/mix.wav")" ] ||
	fail "decks: $(soxi -s "$WORK/decks.wav") frames, the mix $(soxi -s "$WORK/mix.wav")"
# Refused before anything is written: not .wav, or the mix itself.
expect 2 "$FOREVERFM" render -o "$WORK/dx.wav" -d 5 --decks "$WORK/d.flac" \
	"$WORK/music"
grep -q 'd.flac: the decks file must end in .wav' "$WORK/err" ||
	fail "--decks .flac: not said"
expect 2 "$FOREVERFM" render -o "$WORK/dx.wav" -d 5 --decks "$WORK/dx.wav" \
	"$WORK/music"
ls "$WORK"/dx.* "$WORK"/d.flac* >/dev/null 2>&1 && fail "a refused --decks left a file"
# An unwritable decks file fails before any work, leaving nothing.
expect 1 "$FOREVERFM" render -o "$WORK/dn.wav" -d 5 \
	--decks "$WORK/nodir/d.wav" "$WORK/music"
grep -q "nodir/d.wav.tmp" "$WORK/err" || fail "unwritable decks: not named"
grep -q "render: library:" "$WORK/err" && fail "unwritable decks: scanned first"
[ -e "$WORK/dn.wav" ] || [ -e "$WORK/dn.wav.tmp" ] &&
	fail "unwritable decks: render left a file"
# A decks file that cannot be written half-way (the file size limit;
# written by the mixer thread): the render fails saying so, and neither
# file is left.
(
	trap '' XFSZ
	ulimit -f 200
	exec "$FOREVERFM" render -o "$WORK/dbig.mp3" -d 30 \
		--decks "$WORK/dbig.wav" "$WORK/music"
) >"$WORK/out" 2>"$WORK/err"
[ $? -eq 1 ] || fail "decks over the file size limit: exit $?"
grep -q 'writing .*dbig.wav.tmp' "$WORK/err" || fail "decks write error not logged"
ls "$WORK"/dbig.* >/dev/null 2>&1 && fail "a failed decks write left a file"

# An unwritable transitions log fails before any work, leaving nothing.
expect 1 "$FOREVERFM" render -o "$WORK/tl.wav" -d 5 \
	--transitions-log "$WORK/nodir/t.jsonl" "$WORK/music"
grep -q "nodir/t.jsonl" "$WORK/err" || fail "unwritable transitions log: not named"
[ -e "$WORK/tl.wav" ] || [ -e "$WORK/tl.wav.tmp" ] &&
	fail "unwritable transitions log: render left a file"
# A render that fails after opening its log (here: a catalog that cannot
# be opened) leaves an existing log as it was, and no new one.
cp "$WORK/transitions.jsonl" "$WORK/keep.jsonl"
cp "$WORK/decks.wav" "$WORK/keep.wav"
printf '[library]\npath = %s\ndatabase = %s\n' "$WORK/music" \
	"$WORK/keep.jsonl/catalog.db" > "$WORK/baddb.ini"
expect 1 "$FOREVERFM" render -o "$WORK/baddb.wav" -d 5 -c "$WORK/baddb.ini" \
	--transitions-log "$WORK/keep.jsonl" --decks "$WORK/keep.wav"
grep -q 'cannot open the catalog' "$WORK/err" || fail "bad catalog: not logged"
cmp -s "$WORK/transitions.jsonl" "$WORK/keep.jsonl" ||
	fail "a failed render changed the existing transitions log"
cmp -s "$WORK/decks.wav" "$WORK/keep.wav" ||
	fail "a failed render changed the existing decks file"
[ -e "$WORK/keep.jsonl.tmp" ] && fail "a failed render left keep.jsonl.tmp"
[ -e "$WORK/keep.wav.tmp" ] && fail "a failed render left keep.wav.tmp"
# Music, not silence.
sox "$WORK/mix.wav" -n stat 2>&1 | awk '/^RMS +amplitude/ { exit !($3 > 0.05) }' ||
	fail "render wav: too quiet"
# Chained Ogg: one logical stream per track, each with its title.
ogginfo "$WORK/mix.ogg" >"$WORK/ogginfo" 2>&1
[ "$(grep -c 'New logical stream' "$WORK/ogginfo")" -ge 2 ] ||
	fail "render ogg: not chained"
grep -q 'TITLE=' "$WORK/ogginfo" || fail "render ogg: no TITLE comment"

# The whole fixture set, bad files included: still 30 s, bad ones logged.
expect 0 "$FOREVERFM" render -o "$WORK/all.wav" -d 30 --seed 3 "$FIXTURES"
set -- $(measure "$WORK/all.wav")
near "$1" 30 0.001 || fail "render of all fixtures: $1 s"

# An empty library: 30 s of silence, and a warning saying why.
expect 0 "$FOREVERFM" render -o "$WORK/silence.wav" -d 30 "$WORK/empty"
set -- $(measure "$WORK/silence.wav")
near "$1" 30 0.001 || fail "empty library: $1 s"
grep -q 'library is empty' "$WORK/err" || fail "empty library: not logged"
sox "$WORK/silence.wav" -n stat 2>&1 |
	awk '/^Maximum amplitude/ { exit !($3 == 0) }' ||
	fail "empty library: not silent"

# Unwritable places: exit 1, nothing left under either name.
expect 1 "$FOREVERFM" render -o "$WORK/nodir/out.wav" -d 5 "$WORK/music"
[ -e "$WORK/nodir" ] && fail "render created a directory"
if [ "$(id -u)" -ne 0 ]; then
	mkdir "$WORK/ro" && chmod 555 "$WORK/ro"
	expect 1 "$FOREVERFM" render -o "$WORK/ro/out.wav" -d 5 "$WORK/music"
	[ -z "$(ls -A "$WORK/ro")" ] || fail "render left files in a read-only dir"
fi
# A write that fails half-way (file size limit): the partial file goes.
(
	trap '' XFSZ
	ulimit -f 200 # 512-byte blocks: 100 KiB, well under 30 s of WAV
	exec "$FOREVERFM" render -o "$WORK/big.wav" -d 30 "$WORK/music"
) >"$WORK/out" 2>"$WORK/err"
[ $? -eq 1 ] || fail "render over the file size limit: exit $?"
[ -e "$WORK/big.wav" ] || [ -e "$WORK/big.wav.tmp" ] &&
	fail "render left a partial file"
grep -q 'writing .*big.wav.tmp' "$WORK/err" || fail "render: write error not logged"

# Interrupted: exit 1, the partial file removed. The log is emptied first:
# the background job's redirection may not have truncated it yet when the
# loop below first looks, and the last render's first line is there.
: >"$WORK/err"
"$FOREVERFM" render -o "$WORK/long.mp3" -d 3600 "$WORK/music" >"$WORK/out" 2>"$WORK/err" &
pid=$!
n=0
until grep -q 'render: 00:00:00' "$WORK/err" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 300 ] && fail "long render did not start"
	sleep 0.1
done
kill -TERM $pid
wait $pid
st=$?
[ $st -eq 1 ] || fail "interrupted render: exit $st"
[ -e "$WORK/long.mp3" ] || [ -e "$WORK/long.mp3.tmp" ] &&
	fail "interrupted render left a file"
grep -q 'render: interrupted' "$WORK/err" || fail "interrupt not logged"

# --- run, without an Icecast ---------------------------------------------------
# A port nobody listens on: outputs retry in the background, the station
# itself runs, reloads and stops.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/run.ini" <<EOF
[library]
path = music
database = run.db
[icecast]
port = $port
password = secret-pw-4
[output.mp3]
mount = /forever.mp3
format = mp3
EOF
log="$WORK/station.log"
station_start "$WORK/run.ini" -v
wait_log 'library: scanned 1 path.*4 playable'
kill -USR1 "$STATION_PID"
wait_log 'status: playing'
grep 'status: playing' "$log" | grep -q 'mp3 /forever.mp3 disconnected' ||
	fail "status line: $(grep 'status:' "$log")"

# A bad file: logged, the station goes on.
printf '[mix]\ncrossfade_seconds = 99\n' >>"$WORK/run.ini"
kill -HUP "$STATION_PID"
wait_log 'keeping the running configuration'
grep -q "run.ini:11: \[mix\] crossfade_seconds: must be a number 0..30, got '99'" \
	"$log" || fail "reload error line"
kill -0 "$STATION_PID" || fail "station died on a bad reload"

# A good file: rescan of the new paths, crossfade, restart notices.
cat >"$WORK/run.ini" <<EOF
[library]
path = music
path = empty
database = run.db
[icecast]
port = 1
password = secret-pw-4
[output.mp3]
mount = /forever.mp3
format = mp3
[mix]
crossfade_seconds = 3
EOF
kill -HUP "$STATION_PID"
wait_log 'library: scanned 2 paths'
grep -q 'reload: crossfade 3 s' "$log" || fail "reload: crossfade not applied"
grep -q '\[icecast\] changes need a restart' "$log" ||
	fail "reload: no restart notice for [icecast]"
grep -q "secret-pw-4" "$log" && fail "the password appeared in the log"

# Stop: nothing is connected, so it stops at once, exit 0.
kill -TERM "$STATION_PID"
n=0
while kill -0 "$STATION_PID" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 150 ] && fail "station did not stop in 15 s"
	sleep 0.1
done
wait "$STATION_PID"
st=$?
STATION_PID=
[ $st -eq 0 ] || fail "station exit $st after SIGTERM"
grep -q 'stopped' "$log" || fail "no 'stopped' in the log"

# run refuses what check refuses, with exit 2.
expect 2 "$FOREVERFM" run -c "$WORK/bad.ini"
expect 2 "$FOREVERFM" run -c "$WORK/nooutput.ini"

echo "PASS: test_cli"
exit 0
