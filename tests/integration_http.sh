#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_http — the status server ([http]) of a station that streams
# to a real Icecast, through curl: /api/nowplaying field by field against
# what the station plays (the catalog and the ICY titles a listener gets),
# /api/events (a `track` event within 0.5 s of the listener's ICY title
# change, `transition` events, Last-Event-ID replay), /metrics, HEAD, 405
# for POST and PUT, 404 for other paths; and a second station on the same
# port fails at start with one clear line. Four tone tracks of 8 s with 2 s
# crossfades: a title change every 6 s; about 40 s in all.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
it_setup

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 311 8 "Artist One" "Low" "$lib/one.mp3"
gen_tone 523 8 "Artist Two" "Middle" "$lib/two.ogg"
gen_tone 740 8 "Artist Three" "Upper" "$lib/three.mp3"
gen_tone 1047 8 "Artist Four" "High" "$lib/four.ogg"

HTTP_PORT=$(free_port)
API="http://127.0.0.1:$HTTP_PORT"
station_config "$WORK/station.ini" "$lib" "[http]
listen = 127.0.0.1:$HTTP_PORT
max_clients = 16"
"$FOREVERFM" check -c "$WORK/station.ini" || fail "check refused [http]"

SSE_PID=""
ICY_PID=""
SECOND_PID=""
http_cleanup() {
	st=$?
	for p in $SSE_PID $ICY_PID $SECOND_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	(exit "$st")
	it_cleanup
}
trap http_cleanup EXIT

station_start "$WORK/station.ini"
wait_log "http: listening on"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"

# --- a second station on the same port: one clear error, exit 1, at once.
sed -e "s|^database = .*|database = $WORK/second.db|" "$WORK/station.ini" \
	> "$WORK/second.ini"
"$FOREVERFM" run -c "$WORK/second.ini" > "$WORK/second.log" 2>&1 &
SECOND_PID=$!
n=0
while kill -0 "$SECOND_PID" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -le 100 ] || fail "the second station still runs after 10 s"
	sleep 0.1
done
wait "$SECOND_PID"
second_rc=$?
SECOND_PID=""
[ "$second_rc" -eq 1 ] || { cat "$WORK/second.log"; fail "second station exited $second_rc, not 1"; }
grep -q "http: cannot listen on 127.0.0.1:$HTTP_PORT: Address already in use" \
	"$WORK/second.log" || { cat "$WORK/second.log"; fail "no clear port-in-use error"; }
echo "port in use: $(grep 'cannot listen' "$WORK/second.log")"

# --- the event stream, each line stamped with its arrival (wall clock),
# and a listener with the wall-clock time of each ICY title.
( curl -sN --max-time 32 "$API/api/events" |
	while IFS= read -r line; do
		printf '%s\t%s\n' "$(date +%s.%N)" "$line"
	done > "$WORK/events" ) &
SSE_PID=$!
ICY_LISTEN_WALLCLOCK=1 "$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 30 \
	"$WORK/listen.mp3" "$WORK/listen.meta" &
ICY_PID=$!

# /api/nowplaying while the station plays, next to the ICY title heard
# just before and just after the request.
sleep 12
tail -n 1 "$WORK/listen.meta" | cut -f2 > "$WORK/title_before"
curl -fsS --max-time 5 -D "$WORK/np.headers" "$API/api/nowplaying" \
	> "$WORK/np.json" || fail "GET /api/nowplaying failed"
np_at=$(date +%s.%N)
# A title reaches the listener at Icecast's next metadata block (8192
# bytes, 0.5 s at 128 kbps): give it a second.
sleep 1
tail -n 1 "$WORK/listen.meta" | cut -f2 > "$WORK/title_after"
grep -qi '^content-type: application/json' "$WORK/np.headers" ||
	fail "/api/nowplaying is not application/json"
sql "SELECT id, artist, title, duration_s FROM tracks WHERE bad_reason = ''
     OR bad_reason IS NULL" > "$WORK/tracks"
python3 - "$WORK/np.json" "$WORK/tracks" "$WORK/title_before" \
	"$WORK/title_after" "$np_at" "$BASE_URL" <<'PY' || fail "/api/nowplaying is wrong: $(cat "$WORK/np.json")"
import json, sys
np = json.load(open(sys.argv[1]))
tracks = {}
for line in open(sys.argv[2]):
    i, a, t, d = line.rstrip("\n").split("|")
    tracks[int(i)] = (a, t, float(d))
before = open(sys.argv[3]).read().strip()
after = open(sys.argv[4]).read().strip()
at = float(sys.argv[5])
base = sys.argv[6]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
st = np["station"]
check(st["name"] == "foreverfm test", "station.name")
urls = sorted(m["url"] for m in st["mounts"])
check(urls == sorted([base + "/forever.mp3", base + "/forever.ogg"]), "mount urls %s" % urls)
check(st["listen_url"] in urls, "station.listen_url")
check(np["is_online"] is True, "is_online")
now = np["now_playing"]
song = now["song"]
check(song["id"] in tracks, "now_playing.song.id %s in the catalog" % song["id"])
a, t, d = tracks[song["id"]]
check(song["artist"] == a and song["title"] == t, "artist/title %s - %s" % (song["artist"], song["title"]))
check(song["text"] == a + " - " + t, "text")
check(song["text"] in (before, after), "now playing %r is what the listener hears (%r/%r)" % (song["text"], before, after))
check(abs(song["duration"] - d) < 0.5, "duration %s vs %s" % (song["duration"], d))
check(now["duration"] == song["duration"], "now_playing.duration")
check(isinstance(now["played_at"], int) and abs(now["played_at"] - now["started_at"]) < 1, "played_at")
el = now["elapsed"]
check(abs((at - now["started_at"]) - el) < 1.0, "elapsed %s vs %s" % (el, at - now["started_at"]))
check(0 <= el <= d + 1, "elapsed in range")
check(abs(now["remaining"] - max(0, song["duration"] - el)) < 0.01, "remaining")
tr = now["transition"]
check(tr is not None and tr["kind"] in ("crossfade", "cut", "beatmatched"), "transition kind")
check(tr["to_id"] == song["id"], "transition.to_id")
check(tr["from_id"] in tracks, "transition.from_id")
hist = np["song_history"]
check(len(hist) >= 1, "song_history")
check(hist[0]["song"]["id"] == tr["from_id"], "song_history[0] is the track before")
check(hist[0]["played_at"] <= now["played_at"], "history order")
check(4 < hist[0]["duration"] < 9, "history duration %s" % hist[0]["duration"])
for n in np["playing_next"]:
    check(n["song"]["id"] in tracks and n["song"]["id"] != song["id"], "playing_next")
check(len(np["playing_next"]) >= 1, "playing_next is empty")
# Analysed by now: the transition into the next track is planned (tones
# have no beat: a crossfade).
nt = np["playing_next"][0]["transition"]
check(nt is not None and nt["kind"] == "crossfade", "playing_next[0].transition %s" % nt)
check("current" in np["listeners"], "listeners")
print("now playing:", song["text"], "elapsed %.2f" % el, "next:",
      [n["song"]["text"] for n in np["playing_next"]])
PY

# --- /metrics
curl -fsS --max-time 5 -D "$WORK/metrics.headers" "$API/metrics" > "$WORK/metrics" ||
	fail "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/metrics.headers" ||
	fail "/metrics content type"
for m in 'foreverfm_build_info{version="[^"]*"} 1' \
	 'foreverfm_tracks{state="playable"} 4' \
	 'foreverfm_tracks{state="bad"} 0' \
	 'foreverfm_transitions_total{kind="crossfade"} [1-9]' \
	 'foreverfm_output_connected{output="mp3"} 1' \
	 'foreverfm_output_connected{output="ogg"} 1' \
	 'foreverfm_output_reconnects_total{output="mp3"} 0' \
	 'foreverfm_output_sent_bytes_total{output="mp3"} [1-9]' \
	 'foreverfm_mixer_buffer_seconds [0-9.]*$' \
	 'foreverfm_analysis_queue_tracks [0-9]*$' \
	 '# TYPE foreverfm_transitions_total counter'; do
	grep -q "^$m" "$WORK/metrics" || { cat "$WORK/metrics"; fail "/metrics lacks $m"; }
done

# --- methods and paths
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -d x=1 "$API/api/nowplaying")
[ "$code" = 405 ] || fail "POST gave $code, not 405"
curl -s -D - -o /dev/null --max-time 5 -X PUT "$API/metrics" | grep -qi '^allow: GET, HEAD' ||
	fail "405 without Allow: GET, HEAD"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I "$API/api/nowplaying")
[ "$code" = 200 ] || fail "HEAD gave $code"
for p in /nope /api/../metrics /api/nowplaying/x '/metrics%00'; do
	code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' --max-time 5 "$API$p")
	[ "$code" = 404 ] || fail "GET $p gave $code, not 404"
done

wait "$ICY_PID" || fail "the listener failed"
ICY_PID=""
wait "$SSE_PID"
SSE_PID=""

# --- the events: ids, kinds, and each track event against the ICY title.
echo "events:"; cut -f2 "$WORK/events" | grep -v '^data:' | head -n 40
python3 - "$WORK/events" "$WORK/listen.meta" <<'PY' || fail "events are wrong"
import json, sys
events, cur = [], {}
for line in open(sys.argv[1]):
    t, _, text = line.rstrip("\n").partition("\t")
    if text == "":
        if cur:
            events.append(cur)
        cur = {}
    elif text.startswith("id: "):
        cur["id"] = int(text[4:]); cur["t"] = float(t)
    elif text.startswith("event: "):
        cur["event"] = text[7:]
    elif text.startswith("data: "):
        cur["data"] = json.loads(text[6:])
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
check(events and events[0]["event"] == "resync", "the stream opens with a resync")
ids = [e["id"] for e in events]
check(ids == sorted(ids) and len(set(ids[1:])) == len(ids) - 1, "ids increase: %s" % ids)
tracks = [e for e in events if e["event"] == "track"]
trans = [e for e in events if e["event"] == "transition"]
check(len(tracks) >= 3, "track events: %d" % len(tracks))
check(len(trans) >= 3, "transition events: %d" % len(trans))
for e in trans:
    d = e["data"]
    check(d["kind"] in ("crossfade", "cut", "beatmatched") and d["started_at"] > 0, "transition %s" % d)
icy = []
for line in open(sys.argv[2]):
    off, title, t = line.rstrip("\n").split("\t")
    icy.append((title, float(t)))
worst = 0
matched = 0
for e in tracks:
    title = e["data"]["now_playing"]["song"]["text"]
    # The ICY change to this title nearest in time (the first title the
    # listener got was sent on connect, not at a change).
    cands = [t for (ti, t) in icy[1:] if ti == title and abs(t - e["t"]) < 3]
    if not cands:
        # After the listener left (it listens 30 s, the stream 32 s), or
        # its first title (sent on connect, not at a change).
        check(e["t"] > icy[-1][1] or e["t"] < icy[0][1] + 1,
              "no ICY change to %r near the track event at %.3f" % (title, e["t"]))
        continue
    t_icy = min(cands, key=lambda t: abs(t - e["t"]))
    d = e["t"] - t_icy
    print("track %-22s sse %.3f icy %.3f  sse-icy %+.3f s" % (title, e["t"], t_icy, d))
    worst = max(worst, abs(d))
    matched += 1
    check(abs(d) <= 0.5, "track event %.3f s from the ICY change" % d)
check(matched >= 2, "only %d track events matched an ICY change" % matched)
print("worst |sse - icy| = %.3f s over %d changes" % (worst, matched))
PY

# --- Last-Event-ID: a client that reconnects gets what it missed.
last=$(cut -f2 "$WORK/events" | sed -n 's/^id: //p' | tail -n 1)
from=$((last - 3))
curl -sN --max-time 2 -H "Last-Event-ID: $from" "$API/api/events" > "$WORK/replay"
first=$(sed -n 's/^id: //p' "$WORK/replay" | head -n 1)
[ "$first" = $((from + 1)) ] || { cat "$WORK/replay"; fail "replay from $from began at $first"; }
grep -q '^event: resync' "$WORK/replay" && fail "a replay within the history resynced"
curl -sN --max-time 2 "$API/api/events?lastEventId=$from" | grep -q "^id: $((from + 1))$" ||
	fail "?lastEventId did not replay"

# --- listeners, counted by Icecast (polled every 10 s; icy_listen listened
# for 30 s): the last answer came while it listened, or after.
curl -fsS --max-time 5 "$API/api/nowplaying" | python3 -c '
import json, sys
n = json.load(sys.stdin)["listeners"]["current"]
sys.exit(0 if n is not None and n >= 0 else 1)' || fail "no listener count from Icecast"

station_stop || fail "station exited with status $? on SIGTERM"
echo "ok"
