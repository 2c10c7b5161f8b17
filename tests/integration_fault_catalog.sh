#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_catalog — the catalog's file system fills up while the
# station streams to a real icecast2, and then space returns.
#
# The catalog lives on a 4 MB tmpfs mounted under the test's own $WORK,
# inside a private mount namespace (unshare --mount --propagation private):
# the whole test, station and Icecast included, runs in it, so nothing is
# ever mounted on the host and a killed test leaves no mount behind. A dd
# file fills the tmpfs; every play the station records then fails (a WAL
# append needs a new page).
#
# Asserts: a listener connected throughout gets clean frames, a tone all
# the time and audio that never falls behind real time (no gap); the
# station logs the storage error at most once a minute (not once per
# play); once the dd file is removed it writes again (logged once, with
# how long it took); afterwards PRAGMA integrity_check is ok, every row
# written before the fault is still there, and every play the station
# announced, those during the fault included, is in the history.
#
# Read-only: Linux refuses to remount a file system read-only while a file
# on it is open for writing (EBUSY), and a running station holds its
# catalog open so; chmod does not touch an open descriptor (and root
# ignores it). So a running station's catalog cannot become read-only; the
# test checks that the remount is refused (or, on a kernel that allows it,
# runs the same checks across a read-only window).
#
# Skips (77) when not root or without unshare. Every process is ended by
# its PID in the EXIT trap; every wait is bounded.
if [ -z "${FOREVERFM_FAULT_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root for a private mount namespace and a tmpfs"
		exit 77
	fi
	if ! command -v unshare >/dev/null 2>&1 ||
	   ! unshare --mount --propagation private true 2>/dev/null; then
		echo "SKIP: unshare --mount is not available"
		exit 77
	fi
	FOREVERFM_FAULT_NS=1
	export FOREVERFM_FAULT_NS
	exec unshare --mount --propagation private /bin/sh "$0" "$@"
fi

. "$top_srcdir/tests/lib.sh"
need_tools sqlite3 dd df
FOREVERFM=${FAULT_FOREVERFM:-$FOREVERFM}
LISTEN_PID=""
CAT=""
it_setup

# station_halt: SIGTERM, then SIGKILL after 15 s; returns the exit status.
station_halt() {
	[ -n "$STATION_PID" ] || return 0
	kill -TERM "$STATION_PID" 2>/dev/null
	n=0
	while kill -0 "$STATION_PID" 2>/dev/null; do
		n=$((n + 1))
		if [ "$n" -gt 150 ]; then
			echo "the station did not stop in 15 s: killed"
			kill -9 "$STATION_PID" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$STATION_PID"
	rc=$?
	STATION_PID=""
	return $rc
}

catfault_cleanup() {
	status=$?
	for pid in $LISTEN_PID $STATION_PID; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	STATION_PID=""
	if [ -n "$CAT" ] && mountpoint -q "$CAT"; then
		umount "$CAT" 2>/dev/null || umount -l "$CAT"
	fi
	(exit "$status")
	it_cleanup
}
trap catfault_cleanup EXIT

now() { date +%s.%N; }
csql() { sqlite3 -batch -noheader "$CAT/catalog.db" "$1"; }

# wait_for PATTERN COUNT SECONDS: PATTERN (grep -E) COUNT times in the log.
wait_for() {
	end=$(( $(date +%s) + $3 ))
	until [ "$(grep -cE -- "$1" "$WORK/station.log")" -ge "$2" ]; do
		kill -0 "$STATION_PID" 2>/dev/null ||
			fail "the station died waiting for '$1'"
		[ "$(date +%s)" -lt "$end" ] ||
			fail "no '$1' ($2 times) in the log in $3 s"
		sleep 0.1
	done
}

plays_logged() { grep -c 'mixer: now playing' "$WORK/station.log"; }
# Storage errors as the catalog logs them (old code: one per failed write).
storage_errors() {
	grep -cE 'catalog: .*(disk is full|readonly|read-only|disk I/O error)' \
		"$WORK/station.log"
}

CAT="$WORK/cat"
mkdir -p "$CAT"
mount -t tmpfs -o size=4m,mode=0755 foreverfm-catfault "$CAT" ||
	{ echo "SKIP: cannot mount a tmpfs in the namespace"; exit 77; }

lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 10 "Tone" "one" "$lib/a.mp3"
gen_tone 554 10 "Tone" "two" "$lib/b.mp3"
gen_tone 659 10 "Tone" "three" "$lib/c.ogg"
gen_tone 784 10 "Tone" "four" "$lib/d.mp3"
station_config "$WORK/station.ini" "$lib"
sed -i "s|^database = .*|database = $CAT/catalog.db|" "$WORK/station.ini"

station_start "$WORK/station.ini"
wait_mount /forever.mp3 20 || fail "/forever.mp3 did not appear"
# The library analysed (the analyzer idle) and some plays recorded.
end=$(( $(date +%s) + 90 ))
until [ "$(csql 'SELECT count(*) FROM analysis')" -ge 4 ] 2>/dev/null &&
      [ "$(csql 'SELECT count(*) FROM plays')" -ge 2 ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || fail "no analysis or plays in 90 s"
	sleep 0.3
done

LISTEN_S=70
timeout $((LISTEN_S + 30)) "$TOOLS/icy_listen" "$BASE_URL/forever.mp3" \
	"$LISTEN_S" "$WORK/fault.mp3" "$WORK/fault.meta" "$WORK/fault.timing" &
LISTEN_PID=$!
sleep 2

csql 'SELECT id, track_id, started_at FROM plays ORDER BY id' > "$WORK/plays.before"
tracks_before=$(csql 'SELECT count(*) FROM tracks')
analysis_before=$(csql 'SELECT count(*) FROM analysis')
plays_before=$(wc -l < "$WORK/plays.before")

# --- The disk fills up.
dd if=/dev/zero of="$CAT/fill" bs=64k 2>/dev/null
t_full=$(now)
avail=$(df --output=avail "$CAT" | tail -n 1 | tr -d ' ')
[ "$avail" -eq 0 ] || fail "the tmpfs still has $avail kB free"
errors0=$(storage_errors)
wait_for 'catalog: .*disk is full' 1 40
# Reading works on a full disk; this is what was written before it.
plays_full=$(csql 'SELECT count(*) FROM plays') || fail "cannot read the catalog"
announced=$(plays_logged)
# Full for at least three more track changes.
wait_for 'mixer: now playing' $((announced + 3)) 60
kill -0 "$STATION_PID" 2>/dev/null || fail "the station died on a full disk"
during=$(( $(storage_errors) - errors0 ))
full_s=$(echo "$(now) - $t_full" | bc)

# At most once a minute: the first failure, then one a minute.
max=$(echo "1 + $full_s / 60" | bc)
printf "full for %.1f s: %s storage error lines (at most %s)\n" \
	"$full_s" "$during" "$max"
grep -E 'catalog: ' "$WORK/station.log"
[ "$during" -ge 1 ] || fail "no storage error logged while the disk was full"
[ "$during" -le "$max" ] ||
	fail "$during storage error lines in $full_s s (at most $max)"

# --- Space returns: the next play is written (with those kept).
rm -f "$CAT/fill"
t_free=$(now)
end=$(( $(date +%s) + 40 ))
until [ "$(csql 'SELECT count(*) FROM plays')" -gt "$plays_full" ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] ||
		fail "no play written in 40 s after space returned"
	sleep 0.1
done
recover_s=$(printf "%.2f" "$(echo "$(now) - $t_free" | bc)")
echo "writes again $recover_s s after space returned"
grep -q 'catalog: writes work again' "$WORK/station.log" ||
	fail "the recovery was not logged"

# --- Read-only: refused while the station holds the catalog open.
if mount -o remount,ro "$CAT" 2>"$WORK/remount.err"; then
	echo "the tmpfs went read-only under the running station"
	ro_errors0=$(storage_errors)
	ok0=$(grep -c 'catalog: writes work again' "$WORK/station.log")
	wait_for 'mixer: now playing' $(( $(plays_logged) + 2 )) 60
	mount -o remount,rw "$CAT" || fail "could not make the tmpfs writable again"
	wait_for 'catalog: writes work again' $((ok0 + 1)) 40
	[ $(( $(storage_errors) - ro_errors0 )) -le 1 ] ||
		fail "more than one storage error line while read-only"
else
	echo "remount read-only refused while the station streams: $(cat "$WORK/remount.err" | head -n 1)"
	grep -qi busy "$WORK/remount.err" ||
		fail "the read-only remount failed for another reason"
fi

# --- The listener heard no gap.
n=0
while kill -0 "$LISTEN_PID" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -le $(( (LISTEN_S + 30) * 10 )) ] || fail "the listener hangs"
	sleep 0.1
done
wait "$LISTEN_PID" || fail "the listener failed"
LISTEN_PID=""
cat "$WORK/fault.timing"
frames=$("$TOOLS/mpeg_frames" "$WORK/fault.mp3") || fail "no frames"
echo "$frames"
case "$frames" in
*" resyncs=0 bitrate_kbps=128 "*) ;;
*) fail "broken frames while the disk was full: $frames" ;;
esac
secs=$(echo "$frames" | sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p')
awk -v s="$secs" -v l="$LISTEN_S" 'BEGIN { exit !(s >= l - 0.5) }' ||
	fail "$secs s of audio in $LISTEN_S s of listening"
lag=$(sed -n 's/.*max_lag_s=\([-0-9.]*\).*/\1/p' "$WORK/fault.timing")
awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 0.5) }' ||
	fail "the stream fell $lag s behind real time"
ffmpeg -nostdin -loglevel error -i "$WORK/fault.mp3" -f s16le -ac 2 -ar 44100 - |
	"$TOOLS/tone_track" 440:one 554:two 659:three 784:four > "$WORK/audible"
grep -qx -- "$(printf '[0-9.]*\t-')" "$WORK/audible" &&
	fail "silence in the stream while the disk was full"

# --- Nothing lost, nothing corrupted: close the catalog, then look.
station_halt || fail "the station did not exit 0"
announced=$(plays_logged)
[ "$(csql 'PRAGMA integrity_check')" = ok ] ||
	fail "integrity_check: $(csql 'PRAGMA integrity_check')"
csql 'SELECT id, track_id, started_at FROM plays ORDER BY id' > "$WORK/plays.after"
[ "$(head -n "$plays_before" "$WORK/plays.after")" = "$(cat "$WORK/plays.before")" ] ||
	fail "plays written before the fault changed"
[ "$(csql 'SELECT count(*) FROM tracks')" -eq "$tracks_before" ] ||
	fail "tracks lost"
[ "$(csql 'SELECT count(*) FROM analysis')" -eq "$analysis_before" ] ||
	fail "analyses lost"
plays_after=$(wc -l < "$WORK/plays.after")
echo "plays: $plays_before before the fault, $plays_after at the end, $announced announced"
[ "$plays_after" -eq "$announced" ] ||
	fail "$announced plays announced but $plays_after recorded"
# In the order they were announced.
[ "$(csql 'SELECT count(*) FROM plays p JOIN plays q ON q.id = p.id + 1 WHERE q.started_at < p.started_at')" -eq 0 ] ||
	fail "plays out of order"
echo ok
