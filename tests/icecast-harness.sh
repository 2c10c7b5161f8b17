#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# icecast-harness.sh - a real icecast2 on a free loopback port, for tests.
#
#   icecast-harness.sh start DIR [PORT]  start one (on PORT, else a free
#                                    port); prints its port
#   icecast-harness.sh stop DIR      stop it (and wait until it is gone)
#   icecast-harness.sh restart DIR   stop, then start again on the same port
#   icecast-harness.sh logs DIR      print its error and access logs
#   icecast-harness.sh password DIR  print the source password it uses
#   icecast-harness.sh free-port     print a TCP port free on loopback now
#                                    (for the other servers of a test)
#   icecast-harness.sh start-relay DIR MASTER_DIR [INTERVAL]
#                                    start a relay node of the master
#                                    started in MASTER_DIR (on a free port;
#                                    prints it), relaying the mounts of
#                                    contrib/icecast-relay.xml from it,
#                                    <master-update-interval> INTERVAL s (2)
#
# The configuration is generated from contrib/icecast.xml, so the file we
# ship is the file we test: the port (8000), the log and web directories,
# and the "hackme" passwords are replaced; nothing else changes. DIR gets
# icecast.xml, log/, web/ (a copy of Icecast's webroot, with the silence
# files the shipped mounts fall back to), port, pid and password.
# A relay node's configuration comes from contrib/icecast-relay.xml the
# same way, with the master's address (127.0.0.1) and port in its <relay>
# blocks, the master's password (one password per pair) and the
# <master-update-interval>; its
# listen socket is bound to loopback. DIR/master-port marks DIR as a relay,
# so restart starts it again as one.
# Running as root, Icecast switches to icecast2:icecast (<changeowner>), so
# DIR is handed to that user; otherwise the <changeowner> block is dropped.
#
# Readiness is polled (GET /status-json.xsl), never slept for. On failure it
# prints Icecast's logs and exits 99 (automake: hard error); a missing
# icecast2 exits 77 (skip).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
ICECAST=${ICECAST:-$(command -v icecast2 || command -v icecast || true)}
WEBROOT_SRC=${ICECAST_WEBROOT:-/usr/share/icecast2/web}
ADMINROOT_SRC=${ICECAST_ADMINROOT:-/usr/share/icecast2/admin}

die() {
	echo "icecast-harness: $*" >&2
	exit 99
}

# A loopback port nobody listens on: bind port 0 and read what the kernel
# chose. The tiny race until icecast binds it is fine for tests (start
# retries with a new port).
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

make_silence() {
	web=$1
	[ -s "$web/silence.mp3" ] && [ -s "$web/silence.ogg" ] && return 0
	if command -v ffmpeg >/dev/null 2>&1; then
		ffmpeg -nostdin -hide_banner -loglevel error -f lavfi \
			-i anullsrc=r=44100:cl=stereo -t 10 -c:a libmp3lame \
			-b:a 128k -write_xing 0 -id3v2_version 0 -y \
			"$web/silence.mp3" &&
		ffmpeg -nostdin -hide_banner -loglevel error -f lavfi \
			-i anullsrc=r=44100:cl=stereo -t 10 -c:a libvorbis \
			-q:a 4 -y "$web/silence.ogg" && return 0
	fi
	if command -v sox >/dev/null 2>&1; then
		sox -n -r 44100 -c 2 -C 128 "$web/silence.mp3" trim 0 10 &&
		sox -n -r 44100 -c 2 -C 4 "$web/silence.ogg" trim 0 10 &&
			return 0
	fi
	echo "icecast-harness: no ffmpeg or sox: no fallback files" >&2
	return 0
}

write_config() {
	dir=$1 port=$2 password=$3
	if [ "$(id -u)" = 0 ]; then
		drop_owner=
	else
		drop_owner='/<changeowner>/,/<\/changeowner>/d'
	fi
	config=$top_srcdir/contrib/icecast.xml
	relay_edit='s|^$||'
	if [ -s "$dir/master-port" ]; then
		config=$top_srcdir/contrib/icecast-relay.xml
		relay_edit="s|<server>master.example.org</server><port>8000</port>|<server>127.0.0.1</server><port>$(cat "$dir/master-port")</port>|
s|<master-update-interval>[0-9]*<|<master-update-interval>$(cat "$dir/interval")<|
s|<bind-address>0.0.0.0<|<bind-address>127.0.0.1<|"
	fi
	# The relay edit first: its lines hold a <port>8000</port> too.
	sed -e "$relay_edit" \
	    -e "s|<port>8000</port>|<port>$port</port>|" \
	    -e "s|hackme|$password|g" \
	    -e "s|/var/log/icecast2|$dir/log|" \
	    -e "s|/usr/share/icecast2/web|$dir/web|" \
	    -e "s|/usr/share/icecast2/admin|$ADMINROOT_SRC|" \
	    -e "s|<basedir>/usr/share/icecast2</basedir>|<basedir>$dir</basedir>|" \
	    -e "s|<loglevel>3</loglevel>|<loglevel>4</loglevel>|" \
	    -e "$drop_owner" \
	    "$config" > "$dir/icecast.xml" ||
		die "cannot write $dir/icecast.xml"
	grep -q "<port>$port</port>" "$dir/icecast.xml" ||
		die "$config has no <port>8000</port> to replace"
	if [ -s "$dir/master-port" ]; then
		[ "$(grep -c "<server>127.0.0.1</server><port>$(cat "$dir/master-port")</port>" \
			"$dir/icecast.xml")" -ge 2 ] &&
		grep -q '<bind-address>127.0.0.1<' "$dir/icecast.xml" ||
			die "$config: no master port or bind address to replace"
	fi
}

print_logs() {
	dir=$1
	for f in "$dir/log/error.log" "$dir/log/access.log" "$dir/stderr"; do
		[ -s "$f" ] || continue
		echo "==== $f"
		tail -n 200 "$f"
	done
}

is_up() {
	curl -sf --max-time 2 "http://127.0.0.1:$1/status-json.xsl" \
		>/dev/null 2>&1
}

# Starts icecast on port $2 and waits until it answers; returns 1 if it
# died (the port was taken, say), 2 on timeout.
launch() {
	dir=$1 port=$2
	write_config "$dir" "$port" "$(cat "$dir/password")"
	: > "$dir/stderr"
	"$ICECAST" -c "$dir/icecast.xml" > "$dir/stderr" 2>&1 &
	pid=$!
	echo "$pid" > "$dir/pid"
	echo "$port" > "$dir/port"
	tries=0
	ups=0
	while [ $tries -lt 200 ]; do  # 200 x 0.1 s = 20 s
		# Up for ten polls in a row (about a second): the start-up
		# crash of Icecast 2.4.4 (below) can come just after the first
		# answer.
		if is_up "$port" && kill -0 "$pid" 2>/dev/null; then
			ups=$((ups + 1))
			[ $ups -lt 10 ] || return 0
		else
			ups=0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			echo "icecast-harness: icecast on port $port exited" \
			     "at start-up with status $?" >&2
			return 1
		fi
		sleep 0.1
		tries=$((tries + 1))
	done
	return 2
}

cmd_start() {
	dir=$1
	[ -n "$ICECAST" ] || { echo "icecast2 is not installed" >&2; exit 77; }
	mkdir -p "$dir/log" "$dir/web" || die "cannot create $dir"
	if [ -d "$WEBROOT_SRC" ]; then
		cp -R "$WEBROOT_SRC/." "$dir/web/" ||
			die "cannot copy $WEBROOT_SRC"
	fi
	make_silence "$dir/web"
	if [ ! -s "$dir/password" ]; then
		# Letters and digits only: it goes through sed and URLs.
		tr -dc 'A-Za-z0-9' < /dev/urandom 2>/dev/null | head -c 24 \
			> "$dir/password"
		[ -s "$dir/password" ] || die "cannot make a password"
	fi
	if [ "$(id -u)" = 0 ]; then
		chown -R icecast2:icecast "$dir" 2>/dev/null ||
			die "cannot hand $dir to icecast2:icecast"
		chmod 755 "$dir"
	fi
	port=${2:-}
	for attempt in 1 2 3; do
		[ -n "$port" ] || port=$(free_port) || die "no free port"
		launch "$dir" "$port"
		case $? in
		0) echo "$port"; return 0 ;;
		2) print_logs "$dir" >&2
		   kill "$(cat "$dir/pid")" 2>/dev/null
		   die "icecast did not answer on port $port within 20 s" ;;
		esac
		# Died at once. Either the port was taken (then try another,
		# unless the caller asked for this one), or Icecast 2.4.4
		# crashed at start-up: about one start in 20 it starts the
		# fallback mounts before its stats thread and dies without a
		# word in its log (a SIGSEGV), which a second start on the
		# same port does not repeat.
		[ -n "${2:-}" ] || port=
		sleep 0.2
	done
	print_logs "$dir" >&2
	die "icecast would not start"
}

cmd_stop() {
	dir=$1
	[ -s "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || return 0
	tries=0
	while kill -0 "$pid" 2>/dev/null && [ $tries -lt 100 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$dir/pid"
	return 0
}

[ $# -ge 2 ] || [ "${1:-}" = free-port ] || {
	echo "usage: $0 start|stop|restart|logs|password DIR | free-port" >&2
	exit 99
}
case $1 in
start) cmd_start "$2" "${3:-}" ;;
stop) cmd_stop "$2" ;;
restart)
	port=$(cat "$2/port" 2>/dev/null) || die "$2 has no port"
	cmd_stop "$2"
	cmd_start "$2" "$port" ;;
logs) print_logs "$2" ;;
password) cat "$2/password" ;;
free-port) free_port ;;
start-relay)
	[ $# -ge 3 ] || die "usage: $0 start-relay DIR MASTER_DIR [INTERVAL]"
	[ -s "$3/port" ] && [ -s "$3/password" ] ||
		die "$3 holds no running master"
	mkdir -p "$2" || die "cannot create $2"
	cp "$3/port" "$2/master-port" && cp "$3/password" "$2/password" &&
		echo "${4:-2}" > "$2/interval" || die "cannot write $2"
	# The master's silence files: the same, and no second encoding.
	mkdir -p "$2/web" && cp "$3/web/silence.mp3" "$3/web/silence.ogg" \
		"$2/web/" 2>/dev/null
	cmd_start "$2" ;;
*) echo "icecast-harness: unknown command $1" >&2; exit 99 ;;
esac
