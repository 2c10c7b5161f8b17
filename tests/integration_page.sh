#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_page — the listener page ([http] www) of a station that
# streams to a real Icecast, in Debian's chromium, headless
# (tests/page_check.py: no console error, the title the API gives and its
# change, a waveform drawn, the play button by keyboard playing the MP3
# mount), after curl has checked what the page reads: the waveform (a
# peak per 100 ms of each analysed track), the cover of the track that
# has one (the PNG's bytes, image/png) and its colour in /api/nowplaying,
# 404 for a track without a cover or an unknown one, the page's files
# with their types, and no file outside the fixed list. Four tone tracks
# of 8 s with 2 s crossfades (a title every 6 s); about 30 s in all.
# The screenshot stays in tests/page-screenshot.png of the build tree.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
	{ echo "chromium missing"; exit 77; }
# Debian's python3, which has python3-websocket (a PATH may put another
# python3 first: pyenv, a virtualenv).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import websocket' 2>/dev/null ||
	{ echo "python3-websocket missing"; exit 77; }
it_setup

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 311 8 "Artist One" "Low" "$lib/one.mp3"
gen_tone 523 8 "Artist Two" "Middle" "$lib/two.ogg"
gen_tone 740 8 "Artist Three" "Upper" "$lib/three.mp3"
# One track with a cover: a PNG of a known colour in an ID3 APIC frame.
ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=0xd03020:s=64x64:d=1 \
	-frames:v 1 "$WORK/cover.png" || fail "ffmpeg could not make a cover"
gen_tone 1047 8 "Artist Four" "High" "$WORK/four-bare.mp3"
ffmpeg -nostdin -loglevel error -y -i "$WORK/four-bare.mp3" \
	-i "$WORK/cover.png" -map 0:a -map 1:v -c copy \
	-disposition:v:0 attached_pic -id3v2_version 3 "$lib/four.mp3" ||
	fail "ffmpeg could not add the cover"

HTTP_PORT=$(free_port)
API="http://127.0.0.1:$HTTP_PORT"
station_config "$WORK/station.ini" "$lib" "[http]
listen = 127.0.0.1:$HTTP_PORT
www = $top_srcdir/www"
"$FOREVERFM" check -c "$WORK/station.ini" > "$WORK/check.out" ||
	fail "check refused [http] www"
grep -q "page $top_srcdir/www\$" "$WORK/check.out" ||
	{ cat "$WORK/check.out"; fail "check does not show the page"; }

station_start "$WORK/station.ini"
wait_log "http: listening on"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"

# Every track analysed, with its visuals (the analyzer's pass).
n=0
until [ "$(sql "SELECT count(*) FROM visuals")" = 4 ]; do
	n=$((n + 1))
	[ "$n" -le 200 ] || fail "the four tracks have no visuals after 20 s"
	sleep 0.1
done
sql "SELECT t.id, t.title, v.peak_ms, length(v.peaks), v.colour,
     v.colour_from, v.cover_type, v.cover_length FROM tracks t
     JOIN visuals v ON v.content_hash = t.content_hash ORDER BY t.id" \
	> "$WORK/visuals"
cat "$WORK/visuals"
four=$(sql "SELECT id FROM tracks WHERE title = 'High'")
one=$(sql "SELECT id FROM tracks WHERE title = 'Low'")

# --- the waveform: a peak per 100 ms at the tone's level, as ffmpeg
# measures the file.
max_db=$(ffmpeg -nostdin -i "$lib/one.mp3" -af volumedetect -f null - 2>&1 |
	sed -n 's/.*max_volume: *\(-*[0-9.]*\) dB.*/\1/p')
[ -n "$max_db" ] || fail "ffmpeg did not measure the tone's level"
curl -fsS --max-time 5 -D "$WORK/wave.headers" \
	"$API/api/tracks/$one/waveform" > "$WORK/wave.json" ||
	fail "GET /api/tracks/$one/waveform failed"
grep -qi '^content-type: application/json' "$WORK/wave.headers" ||
	fail "the waveform is not JSON"
python3 - "$WORK/wave.json" "$one" "$max_db" <<'PY' || fail "bad waveform: $(head -c 300 "$WORK/wave.json")"
import json, sys
w = json.load(open(sys.argv[1]))
assert w["id"] == int(sys.argv[2]), w["id"]
assert w["peak_ms"] == 100, w["peak_ms"]
p = w["peaks"]
# 8 s of audio (the MP3's encoder padding may add a bin).
assert 80 <= len(p) <= 82, len(p)
mid = p[5:75]
want = 255 * 10 ** (float(sys.argv[3]) / 20)
assert max(p) >= want - 1 and max(p) <= want + 1, (max(p), want)
assert min(mid) >= want - 2, (min(mid), want)
assert w["colour"].startswith("#") and len(w["colour"]) == 7
assert w["colour_from"] == "timbre", w["colour_from"]
print("waveform: %d peaks of 100 ms, %d..%d (ffmpeg: %.1f), colour %s (timbre)"
      % (len(p), min(mid), max(mid), want, w["colour"]))
PY

# --- the cover: the PNG's own bytes, its type, and its colour.
curl -fsS --max-time 5 -D "$WORK/cover.headers" \
	"$API/api/tracks/$four/cover" > "$WORK/cover.got" ||
	fail "GET /api/tracks/$four/cover failed"
grep -qi '^content-type: image/png' "$WORK/cover.headers" ||
	fail "the cover is not image/png: $(cat "$WORK/cover.headers")"
cmp -s "$WORK/cover.got" "$WORK/cover.png" ||
	fail "the cover served is not the PNG embedded"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/api/tracks/$one/cover")
[ "$code" = 404 ] || fail "a track without a cover gives $code, not 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/api/tracks/999999/waveform")
[ "$code" = 404 ] || fail "an unknown track's waveform gives $code, not 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$API/api/tracks/$four/cover")
[ "$code" = 200 ] || fail "HEAD of the cover gives $code"

# /api/nowplaying names the colour, the waveform and the cover of each
# track it lists (the next tracks are all analysed by now).
n=0
until curl -fsS --max-time 5 "$API/api/nowplaying" > "$WORK/np.json" &&
	python3 - "$WORK/np.json" "$four" 2> "$WORK/np.why" <<'PY'
import json, sys
np = json.load(open(sys.argv[1]))
four = int(sys.argv[2])
songs = [np["now_playing"]["song"]] + [n["song"] for n in np["playing_next"]]
for s in songs:
    assert s["waveform"] == "api/tracks/%d/waveform" % s["id"], s
    assert s["colour"] and s["colour"].startswith("#"), s
    if s["id"] == four:
        assert s["has_cover"] is True and s["art"] == "api/tracks/%d/cover" % four, s
        c = int(s["colour"][1:], 16)
        want = 0xd03020
        for k in (16, 8, 0):
            assert abs(((c >> k) & 255) - ((want >> k) & 255)) <= 6, s["colour"]
    else:
        assert s["has_cover"] is False and s["art"] is None, s
assert any(s["id"] == four for s in songs), "the covered track is not listed"
print("nowplaying: %d tracks with colour and waveform; the cover's colour %s"
      % (len(songs), [s["colour"] for s in songs if s["id"] == four][0]))
PY
do
	n=$((n + 1))
	[ "$n" -le 60 ] || fail "/api/nowplaying lacks visuals: $(cat "$WORK/np.why" "$WORK/np.json")"
	sleep 0.2
done

# --- the page's files, their types, and nothing else.
for f in / /index.html /style.css /app.js /icon.svg; do
	curl -fsS --max-time 5 -D "$WORK/page.headers" -o /dev/null "$API$f" ||
		fail "GET $f failed"
	type=$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^;\r]*\).*/\1/p' "$WORK/page.headers")
	case "$f" in
	/|*.html) want=text/html ;;
	*.css) want=text/css ;;
	*.js) want=text/javascript ;;
	*.svg) want=image/svg+xml ;;
	esac
	[ "$type" = "$want" ] || fail "$f is $type, not $want"
done
grep -qi "^content-security-policy: default-src 'self'" "$WORK/page.headers" ||
	fail "the page has no Content-Security-Policy"
for bad in /etc/passwd /../station.ini /%2e%2e/www/index.html /www/app.js \
	/app.js/ /index.html%00 /.git/config; do
	code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$API$bad")
	[ "$code" = 404 ] || fail "$bad gives $code, not 404"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/")
[ "$code" = 405 ] || fail "POST / gives $code, not 405"

# --- the page in chromium.
shot="$top_builddir/tests/page-screenshot.png"
rm -f "$shot"
mkdir -p "$WORK/chromium"
"$PY" "$top_srcdir/tests/page_check.py" "$CHROMIUM" "$API" \
	"$WORK/chromium" "$shot" ||
	{ tail -n 20 "$WORK/chromium.log" 2>/dev/null; fail "the page in chromium"; }
[ -s "$shot" ] || fail "no screenshot"

station_stop || fail "the station did not stop cleanly"
echo "ok"
