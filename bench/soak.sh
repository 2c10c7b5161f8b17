#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/soak.sh [MUSIC_DIR] — does the station stay flat for hours? Two
# modes, both printing figures (never a timed test):
#
# Stream (the default): SOAK_MINUTES (default 60) of real-time streaming
# to a real icecast2 on a free loopback port (tests/icecast-harness.sh:
# the shipped contrib/icecast.xml, <changeowner> when run as root), one
# MP3 128 kbps and one Ogg Vorbis mount, SOAK_CROSSFADE (default 6) s
# transitions. One listener stays connected to the MP3 mount from start to
# end (tests/icy_listen: audio, ICY titles, how far it ever fell behind
# real time); SOAK_LISTENERS (default 4, at most 16) more connect and leave
# all the time, each staying 5-60 s on one of the two mounts (curl
# --max-time), so Icecast and the station see listeners come and go. All on
# 127.0.0.1, never more than SOAK_LISTENERS + 1 at once.
# Every minute it prints the station's RSS, its CPU seconds (user+system;
# the analysis workers it exec'd apart), the frames and ICY titles the
# steady listener got so far, and how many listeners came and went. At the
# end: the steady listener's frames, broken frames, longest wait and
# largest lag, the titles it saw against the tracks the station announced,
# and the RSS growth after the first 10 % of the run (target: < 1 MB).
#
# Render (SOAK_RENDER_HOURS=H, e.g. 24): `foreverfm render` of H hours to
# MP3 128 kbps (SOAK_RENDER_FORMAT=ogg: Ogg Vorbis, a chained stream with a
# new logical stream per track, as the Ogg mount sends), as fast as the
# CPU allows; every SOAK_SAMPLE_S (default
# 10) s of wall time it prints the render's RSS and how far into the mix
# it is (its "render: HH:MM:SS" track-change lines). At the end: the RSS
# growth after the first 10 % of the mix (target: < 1 MB).
#
# Both analyse the library first (`foreverfm analyze`, into the catalog
# the run then uses), so the figures are those of steady mixing, not of
# the first pass of analysis. The default library is the demo library
# (contrib/make-demo-library.sh: 8 dance tracks of 4 minutes); MUSIC_DIR
# replaces it (e.g. /usr/share/games/btanks/data/tunes).
# Everything lives in a directory under SOAK_TMPDIR (default /var/tmp),
# removed at the end (SOAK_KEEP=1 keeps it). Every process it starts is
# ended by its PID. Run from a configured build tree at $top/build, or set
# FOREVERFM (and TOOLS, the directory of icy_listen and mpeg_frames).
# Long runs: `nice -n 10 timeout 4000 bench/soak.sh > /var/tmp/soak.out`.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
FOREVERFM=${FOREVERFM:-$top/build/foreverfm}
TOOLS=${TOOLS:-$(dirname "$FOREVERFM")/tests}
SOAK_MINUTES=${SOAK_MINUTES:-60}
SOAK_LISTENERS=${SOAK_LISTENERS:-4}
SOAK_CROSSFADE=${SOAK_CROSSFADE:-6}
SOAK_RENDER_HOURS=${SOAK_RENDER_HOURS:-0}
SOAK_SAMPLE_S=${SOAK_SAMPLE_S:-10}
SOAK_RENDER_FORMAT=${SOAK_RENDER_FORMAT:-mp3}
HARNESS="$top/tests/icecast-harness.sh"
export top_srcdir="$top"

die() { echo "soak: $*" >&2; exit 1; }
[ -x "$FOREVERFM" ] || die "build foreverfm first (or set FOREVERFM)"
case "$SOAK_MINUTES$SOAK_LISTENERS$SOAK_RENDER_HOURS$SOAK_SAMPLE_S" in
*[!0-9]*) die "SOAK_MINUTES, SOAK_LISTENERS, SOAK_RENDER_HOURS and SOAK_SAMPLE_S are whole numbers" ;;
esac
case "$SOAK_RENDER_FORMAT" in mp3|ogg) ;; *) die "SOAK_RENDER_FORMAT is mp3 or ogg" ;; esac
[ "$SOAK_LISTENERS" -le 16 ] || die "SOAK_LISTENERS is at most 16"
[ "$SOAK_MINUTES" -ge 1 ] && [ "$SOAK_SAMPLE_S" -ge 1 ] ||
	die "SOAK_MINUTES and SOAK_SAMPLE_S are at least 1"

work=$(mktemp -d "${SOAK_TMPDIR:-/var/tmp}/foreverfm-soak-XXXXXX") ||
	die "cannot make a work directory"
# icecast2 runs as icecast2:icecast after <changeowner>: let it in.
chmod 755 "$work"
station_pid="" render_pid="" listen_pid="" slot_pids=""
# stop_slots: each listener place (below) and the curl it waits for.
stop_slots() {
	for p in $slot_pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for f in "$work"/slot.*; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	slot_pids=""
}
cleanup() {
	status=$?
	: > "$work/stop"
	stop_slots
	for p in $listen_pid $render_pid $station_pid; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	sh "$HARNESS" stop "$work/icecast" >/dev/null 2>&1
	if [ "${SOAK_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work"
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

music=${1:-$work/music}
if [ -z "${1:-}" ]; then
	sh "$top/contrib/make-demo-library.sh" "$music" 8 240 >/dev/null ||
		die "cannot make the demo library"
fi

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# anon_kb PID: the anonymous part of the RSS (heap, arenas, buffers), what
# a leak grows; the rest is the pages of the program and its libraries
# that it has touched so far, which a new code path adds to once.
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# cpu_s PID: user+system seconds of PID itself, and of its waited-for
# children (the analysis workers).
cpu_s() {
	# The fields after the command name, which may hold spaces: state is
	# the 1st, utime the 12th.
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" \
		'{ printf "%.1f %.1f\n", ($12 + $13) / hz, ($14 + $15) / hz }'
}
# growth FILE COLUMN NAME: FILE has one sample per line, a size in kB in
# COLUMN and the progress (0..1) in the last column; prints the size at the
# first sample past 10 %, at the end, the largest after, and the growths.
growth() {
	awk -v c="$2" -v name="$3" '{ rss[NR] = $c; p[NR] = $NF }
	END {
		for (i = 1; i <= NR && p[i] < 0.1; i++) ;
		if (i > NR) { print "too few samples for the 10 % mark"; exit }
		base = rss[i]; max = base
		for (j = i; j <= NR; j++) if (rss[j] > max) max = rss[j]
		printf "%s: %d kB at the first sample, %d kB at 10 %% (sample %d of %d), %d kB at the end, at most %d kB after 10 %%\n", name, rss[1], base, i, NR, rss[NR], max
		printf "%s growth after the first 10 %%: %+d kB at the end, %+d kB at most (target < 1024 kB): %s\n", name, rss[NR] - base, max - base, (max - base < 1024) ? "ok" : "OVER"
	}' "$1"
}

cat > "$work/foreverfm.ini" <<CFG
[library]
path = $music
database = $work/catalog.db
[icecast]
host = 127.0.0.1
port = 8000
password_file = $work/password
name = foreverfm soak
[output.mp3]
mount = /forever.mp3
format = mp3
bitrate = 128
[output.ogg]
mount = /forever.ogg
format = ogg
quality = 0.4
[mix]
crossfade_seconds = $SOAK_CROSSFADE
CFG

echo "soak: foreverfm $(git -C "$top" describe --always --dirty 2>/dev/null), library $music, $(date -u '+%F %T') UTC"
t_an=$(date +%s)
echo unused-until-icecast-starts > "$work/password"
"$FOREVERFM" analyze -q -c "$work/foreverfm.ini" >/dev/null 2>"$work/analyze.log" ||
	{ tail "$work/analyze.log"; die "foreverfm analyze failed"; }
echo "soak: analysed the library in $(( $(date +%s) - t_an )) s"

# ---------------------------------------------------------------- render
if [ "$SOAK_RENDER_HOURS" -gt 0 ]; then
	total_s=$((SOAK_RENDER_HOURS * 3600))
	"$FOREVERFM" render -o "$work/soak.$SOAK_RENDER_FORMAT" -d "$total_s" --seed 1 \
		-c "$work/foreverfm.ini" 2> "$work/render.log" &
	render_pid=$!
	echo "soak: rendering $SOAK_RENDER_HOURS h to $SOAK_RENDER_FORMAT (pid $render_pid), a sample every $SOAK_SAMPLE_S s"
	printf '%8s %10s %10s %10s %8s %8s\n' wall_s mix_h rss_kB anon_kB cpu_s x_real
	t0=$(date +%s)
	: > "$work/samples"
	while kill -0 "$render_pid" 2>/dev/null; do
		sleep "$SOAK_SAMPLE_S"
		rss=$(rss_kb "$render_pid")
		anon=$(anon_kb "$render_pid")
		cpu=$(cpu_s "$render_pid" | cut -d' ' -f1)
		[ -n "$rss" ] || break
		at=$(sed -n 's/.*render: \([0-9][0-9]*\):\([0-9][0-9]\):\([0-9][0-9]\) .*/\1 \2 \3/p' \
			"$work/render.log" | tail -n 1)
		mix_s=$(echo "${at:-0 0 0}" | awk '{ print $1 * 3600 + $2 * 60 + $3 }')
		wall=$(( $(date +%s) - t0 ))
		echo "$wall $mix_s $rss $anon $cpu" | awk -v tot="$total_s" '{
			printf "%8d %10.2f %10d %10d %8.1f %8.0f\n", $1, $2 / 3600, $3, $4, $5, $1 ? $2 / $1 : 0
			printf "%d %d %d %d %.1f %.4f\n", $1, $2, $3, $4, $5, $2 / tot > "/dev/stderr" }' \
			2>> "$work/samples"
	done
	wait "$render_pid"
	rc=$?
	render_pid=""
	grep 'render: wrote' "$work/render.log" | sed 's/^<[0-9]>//'
	[ "$rc" -eq 0 ] || { tail -n 20 "$work/render.log"; die "render exited $rc"; }
	wall=$(( $(date +%s) - t0 ))
	echo "soak: $SOAK_RENDER_HOURS h of mix in $wall s ($(awk -v t="$total_s" -v w="$wall" 'BEGIN { printf "%.0f", t / w }')x real time), $(wc -l < "$work/samples") samples"
	growth "$work/samples" 3 RSS
	growth "$work/samples" 4 RssAnon
	exit 0
fi

# ---------------------------------------------------------------- stream
for t in icy_listen mpeg_frames; do
	[ -x "$TOOLS/$t" ] || die "no $TOOLS/$t (make check builds it; or set TOOLS)"
done
command -v curl >/dev/null || die "curl missing"
mkdir -p "$work/icecast"
port=$(sh "$HARNESS" start "$work/icecast") || die "icecast2 did not start"
sh "$HARNESS" password "$work/icecast" > "$work/password"
sed -i "s/^port = 8000$/port = $port/" "$work/foreverfm.ini"
base="http://127.0.0.1:$port"

"$FOREVERFM" run -c "$work/foreverfm.ini" 2> "$work/station.log" &
station_pid=$!
n=0
until curl -fsS --max-time 2 "$base/status-json.xsl" 2>/dev/null |
	tr '{' '\n' | grep '"listenurl":"[^"]*/forever.mp3"' | grep -q stream_start; do
	n=$((n + 1))
	[ "$n" -le 150 ] && kill -0 "$station_pid" 2>/dev/null ||
		{ tail -n 30 "$work/station.log"; die "the station did not stream in 30 s"; }
	sleep 0.2
done
soak_s=$((SOAK_MINUTES * 60))
# Timing file last: icy_listen's max lag counts from its first byte.
"$TOOLS/icy_listen" "$base/forever.mp3" "$((soak_s + 5))" "$work/steady.mp3" \
	"$work/steady.meta" "$work/steady.timing" 2> "$work/listen.log" &
listen_pid=$!

# slot I: one listener place: connect to a mount for 5-60 s, leave for
# 0-5 s, again, until $work/stop exists. Each visit is one line in churn.
slot() {
	k=0
	while [ ! -e "$work/stop" ]; do
		k=$((k + 1))
		eval "$(awk -v s="$1$k$$" 'BEGIN { srand(s)
			printf "stay=%d pause=%d mnt=%s\n", 5 + rand() * 56,
				rand() * 6, (rand() < 0.5) ? "mp3" : "ogg" }')"
		curl -s --max-time "$stay" -o /dev/null "$base/forever.$mnt" &
		echo $! > "$work/slot.$1"
		wait $!
		echo "$mnt $?" >> "$work/churn"
		: > "$work/slot.$1"
		[ -e "$work/stop" ] || sleep "$pause"
	done
}
: > "$work/churn"
i=0
while [ "$i" -lt "$SOAK_LISTENERS" ]; do
	i=$((i + 1))
	slot "$i" &
	slot_pids="$slot_pids $!"
done

echo "soak: streaming $SOAK_MINUTES min to icecast2 on 127.0.0.1:$port (station pid $station_pid), 1 steady + $SOAK_LISTENERS coming and going"
printf '%4s %9s %9s %8s %8s %9s %7s %7s %9s\n' min rss_kB anon_kB cpu_s wk_cpu_s frames titles tracks listeners
: > "$work/samples"
t0=$(date +%s)
m=0
while [ "$m" -lt "$SOAK_MINUTES" ]; do
	m=$((m + 1))
	# To the minute mark, not 60 s after the last sample: no drift.
	while [ "$(date +%s)" -lt $((t0 + m * 60)) ]; do sleep 1; done
	kill -0 "$station_pid" 2>/dev/null ||
		{ tail -n 40 "$work/station.log"; die "the station died in minute $m"; }
	rss=$(rss_kb "$station_pid")
	anon=$(anon_kb "$station_pid")
	cpu=$(cpu_s "$station_pid")
	frames=$("$TOOLS/mpeg_frames" "$work/steady.mp3" 2>/dev/null |
		sed -n 's/^frames=\([0-9]*\).*/\1/p')
	titles=$(wc -l < "$work/steady.meta" 2>/dev/null || echo 0)
	tracks=$(grep -c 'mixer: now playing' "$work/station.log")
	visits=$(wc -l < "$work/churn")
	printf '%4d %9d %9d %8s %8s %9s %7s %7s %9s\n' "$m" "$rss" "$anon" \
		"${cpu% *}" "${cpu#* }" "${frames:-0}" "$titles" "$tracks" "$visits"
	echo "$m $rss $anon ${cpu% *} $(echo "$m $SOAK_MINUTES" | awk '{ printf "%.4f", $1 / $2 }')" >> "$work/samples"
done

: > "$work/stop"
n=0
while kill -0 "$listen_pid" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -le 300 ] || { kill "$listen_pid"; break; }
	sleep 0.1
done
wait "$listen_pid"
listen_rc=$?
listen_pid=""
stop_slots
cpu=$(cpu_s "$station_pid")
kill -TERM "$station_pid"
n=0
while kill -0 "$station_pid" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -le 150 ] || { kill -9 "$station_pid"; break; }
	sleep 0.1
done
wait "$station_pid"
station_rc=$?
station_pid=""

echo "soak: $SOAK_MINUTES min: station CPU ${cpu% *} s (analysis workers ${cpu#* } s), exit status $station_rc"
echo "soak: steady listener (exit $listen_rc): $("$TOOLS/mpeg_frames" "$work/steady.mp3")"
echo "soak: steady listener timing: $(cat "$work/steady.timing" 2>/dev/null)"
echo "soak: titles seen by the steady listener: $(wc -l < "$work/steady.meta"), distinct in a row: $(cut -f2 "$work/steady.meta" | uniq | wc -l); tracks the station announced: $(grep -c 'mixer: now playing' "$work/station.log")"
echo "soak: listener visits: $(wc -l < "$work/churn") ($(grep -c '^mp3' "$work/churn") mp3, $(grep -c '^ogg' "$work/churn") ogg; curl status other than 0/28: $(awk '$2 != 0 && $2 != 28' "$work/churn" | wc -l))"
echo "soak: reconnects: mp3 $(( $(grep -c 'output mp3: streaming' "$work/station.log") - 1 )), ogg $(( $(grep -c 'output ogg: streaming' "$work/station.log") - 1 )); warnings and errors in the station log: $(grep -c '^<[0-4]>' "$work/station.log")"
grep '^<[0-4]>' "$work/station.log" | head -n 10
growth "$work/samples" 2 RSS
growth "$work/samples" 3 RssAnon
