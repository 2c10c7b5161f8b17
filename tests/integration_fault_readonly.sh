#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_readonly — the catalog is read-only before the station
# starts (issue 19, the fault suite; a catalog that fills up or goes
# read-only while the station runs is integration_fault_catalog.sh). Two
# ways, each against a real icecast2:
#
# 1. Permission bits: the catalog file and its directory belong to root
#    and the station runs as nobody (setpriv), so it may read them but
#    not write the file nor make its -wal and -shm beside it.
# 2. A read-only file system: the catalog's directory bind-mounted
#    read-only onto itself, under the test's own $WORK inside a private
#    mount namespace (unshare --mount --propagation private: the whole
#    test runs in it, so nothing is ever mounted on the host and a killed
#    test leaves no mount behind). Root, so only the mount forbids writes.
#
# The catalog was made first by `foreverfm analyze` (every track analysed)
# with one play added. Asserts, each time: the station streams (the mount
# comes up, a listener gets valid frames and a tone all the time, and a
# track change); it logs exactly one error about the catalog, naming the
# file, and no other catalog error; it plays from what the file holds (no
# track analysed again); it exits 0 on SIGTERM; and the file is
# byte-for-byte as it was, PRAGMA integrity_check ok, nothing lost.
#
# Skips (77) when not root, without unshare or setpriv. Every process is
# ended by its PID in the EXIT trap; every wait is bounded.
if [ -z "${FOREVERFM_FAULT_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root (setpriv to nobody, a read-only bind mount)"
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
need_tools sqlite3 setpriv sha256sum
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
FOREVERFM=${FAULT_FOREVERFM:-$FOREVERFM}
LISTEN_PID=""
CAT=""
it_setup

ro_cleanup() {
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
trap ro_cleanup EXIT

# The station's user must reach the library, the configuration and the
# catalog: $WORK is 755 (lib.sh), and so are the directories below.
CAT="$WORK/cat"
mkdir -p "$CAT"
chmod 755 "$CAT"
lib="$WORK/music"
mkdir -p "$lib"
gen_tone 440 10 "Ro" "one" "$lib/a.mp3"
gen_tone 554 10 "Ro" "two" "$lib/b.mp3"
gen_tone 659 10 "Ro" "three" "$lib/c.ogg"
chmod 644 "$lib"/*
station_config "$WORK/station.ini" "$lib"
sed -i "s|^database = .*|database = $CAT/catalog.db|" "$WORK/station.ini"
chmod 644 "$WORK/station.ini" "$WORK/password"

csql() { sqlite3 -batch -noheader "$CAT/catalog.db" "$1"; }
"$FOREVERFM" analyze -q -c "$WORK/station.ini" > "$WORK/analyze.log" 2>&1 ||
	{ cat "$WORK/analyze.log"; fail "analyze failed"; }
[ "$(csql 'SELECT count(*) FROM analysis')" -eq 3 ] || fail "not every track analysed"
csql "INSERT INTO plays (track_id, started_at) SELECT min(id), 1700000000 FROM tracks" ||
	fail "cannot add a play"
# Closed cleanly: no -wal beside it (SQLite checkpoints at the last close).
csql 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
[ ! -s "$CAT/catalog.db-wal" ] || fail "the catalog has a WAL after analyze"
counts() { csql 'SELECT (SELECT count(*) FROM tracks), (SELECT count(*) FROM analysis), (SELECT count(*) FROM plays)'; }
counts_before=$(counts)
rm -f "$CAT/catalog.db-wal" "$CAT/catalog.db-shm"
chmod 644 "$CAT/catalog.db"
sha256sum "$CAT/catalog.db" > "$WORK/catalog.sha"

# run_readonly TAG [RUNNER...]: the station (run by RUNNER, e.g. setpriv)
# on the read-only catalog, a listener for 20 s, then SIGTERM; the checks
# above.
run_readonly() {
	tag=$1; shift
	: > "$WORK/station.log"
	"$@" "$FOREVERFM" run -c "$WORK/station.ini" >>"$WORK/station.log" 2>&1 &
	STATION_PID=$!
	wait_mount /forever.mp3 20 || fail "$tag: /forever.mp3 did not appear"
	wait_log 'output mp3: streaming'
	timeout 40 "$TOOLS/icy_listen" "$BASE_URL/forever.mp3" 20 \
		"$WORK/$tag.mp3" "$WORK/$tag.meta" "$WORK/$tag.timing" &
	LISTEN_PID=$!
	n=0
	while kill -0 "$LISTEN_PID" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -le 400 ] || fail "$tag: the listener hangs"
		sleep 0.1
	done
	wait "$LISTEN_PID" || fail "$tag: the listener failed"
	LISTEN_PID=""
	kill -0 "$STATION_PID" 2>/dev/null || fail "$tag: the station died"
	station_stop || fail "$tag: the station did not exit 0"

	echo "--- $tag: what the station said about its catalog"
	grep -E 'catalog|analy' "$WORK/station.log"
	[ "$(grep -c '^<3>catalog: .*catalog.db cannot be written' "$WORK/station.log")" -eq 1 ] ||
		fail "$tag: not one error naming the read-only catalog"
	[ "$(grep -c '^<[0-3]>' "$WORK/station.log")" -eq 1 ] ||
		fail "$tag: more errors than the one about the catalog"
	grep -q 'running on a copy in memory' "$WORK/station.log" ||
		fail "$tag: the catalog was not read"
	if grep -E 'analyzer: [1-9][0-9]* tracks? to analyse' "$WORK/station.log"; then
		fail "$tag: tracks analysed again: the catalog's analyses were not used"
	fi
	frames=$("$TOOLS/mpeg_frames" "$WORK/$tag.mp3") || fail "$tag: no frames"
	echo "$frames"
	case "$frames" in
	*" resyncs=0 bitrate_kbps=128 "*) ;;
	*) fail "$tag: broken frames: $frames" ;;
	esac
	cat "$WORK/$tag.timing"
	lag=$(sed 's/.*max_lag_s=\([-0-9.]*\).*/\1/' "$WORK/$tag.timing")
	awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 0.5) }' ||
		fail "$tag: the stream fell $lag s behind real time"
	ffmpeg -nostdin -loglevel error -i "$WORK/$tag.mp3" -f s16le -ac 2 -ar 44100 - |
		"$TOOLS/tone_track" 440:one 554:two 659:three > "$WORK/$tag.audible"
	cat "$WORK/$tag.audible"
	grep -qx -- "$(printf '[0-9.]*\t-')" "$WORK/$tag.audible" &&
		fail "$tag: silence in the stream"
	[ "$(grep -cv '^end' "$WORK/$tag.audible")" -ge 2 ] ||
		fail "$tag: no track change in 20 s"

	sha256sum -c --quiet "$WORK/catalog.sha" || fail "$tag: the catalog file changed"
	[ ! -e "$CAT/catalog.db-wal" ] && [ ! -e "$CAT/catalog.db-shm" ] ||
		fail "$tag: files were made beside the catalog"
}

# --- 1. Permission bits: root's file and directory, the station as nobody.
chown root:root "$CAT" "$CAT/catalog.db"
run_readonly perm setpriv --reuid=nobody --regid=nogroup --clear-groups

# --- 2. A read-only file system (as root).
mount --bind "$CAT" "$CAT" || { echo "SKIP: cannot bind-mount in the namespace"; exit 77; }
mount -o remount,bind,ro "$CAT" ||
	{ echo "SKIP: cannot make the bind mount read-only"; exit 77; }
touch "$CAT/probe" 2>/dev/null && fail "the read-only bind mount is writable"
run_readonly rofs
umount "$CAT" || fail "cannot unmount the read-only bind mount"

# --- Nothing lost, nothing corrupted.
[ "$(csql 'PRAGMA integrity_check')" = ok ] ||
	fail "integrity_check: $(csql 'PRAGMA integrity_check')"
[ "$(counts)" = "$counts_before" ] ||
	fail "tracks, analyses, plays were $counts_before, now $(counts)"
echo ok
