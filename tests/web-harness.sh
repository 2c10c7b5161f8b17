# SPDX-License-Identifier: GPL-3.0-or-later
#
# web-harness.sh — a real web server (Debian's nginx) on a free loopback
# port for the feed tests, sourced after tests/lib.sh. It serves
# $WEB_DIR/www with range requests (nginx's own), and:
#   /moved/NAME     a 302 redirect to /m/NAME
#   /loop           a redirect to itself (too many redirects)
#   /slow/NAME      /m/NAME at WEB_SLOW_RATE bytes per second (default
#                   none: full speed)
# The access log ($WEB_DIR/access.log) has the status of each request
# and its Range header: "STATUS URI RANGE".
#
#   web_start DIR [PORT]  starts nginx in the foreground of a background
#                         job (master_process off: one process, its PID
#                         in WEB_PID), on PORT or a free one; sets WEB_PORT
#                         and WEB_URL; waits until it answers (10 s at
#                         most) or fails the test
#   web_stop              ends it by its PID and waits for it
# Needs: nginx (Debian package nginx), curl, python3. Callers add web_stop to their
# EXIT trap.

WEB_PID=""

web_start() {
	WEB_DIR=$1
	WEB_PORT=${2:-$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')}
	WEB_URL="http://127.0.0.1:$WEB_PORT"
	mkdir -p "$WEB_DIR/www/m" "$WEB_DIR/tmp"
	rate=""
	[ -n "${WEB_SLOW_RATE:-}" ] && rate="limit_rate $WEB_SLOW_RATE;"
	cat > "$WEB_DIR/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WEB_DIR/nginx.pid;
error_log $WEB_DIR/error.log info;
events { worker_connections 64; }
http {
	log_format feeds '\$status \$uri \$http_range';
	access_log $WEB_DIR/access.log feeds;
	client_body_temp_path $WEB_DIR/tmp/body;
	proxy_temp_path $WEB_DIR/tmp/proxy;
	fastcgi_temp_path $WEB_DIR/tmp/fastcgi;
	uwsgi_temp_path $WEB_DIR/tmp/uwsgi;
	scgi_temp_path $WEB_DIR/tmp/scgi;
	types {
		audio/mpeg mp3;
		audio/ogg ogg;
		audio/wav wav;
		application/rss+xml xml;
		text/plain txt;
	}
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$WEB_PORT;
		root $WEB_DIR/www;
		location /moved/ { rewrite ^/moved/(.*)\$ /m/\$1 redirect; }
		location = /loop { return 302 /loop; }
		location /slow/ {
			$rate
			rewrite ^/slow/(.*)\$ /m/\$1 break;
		}
	}
}
EOF
	nginx -p "$WEB_DIR" -c "$WEB_DIR/nginx.conf" -e "$WEB_DIR/error.log" \
		>>"$WEB_DIR/stdout.log" 2>&1 &
	WEB_PID=$!
	n=0
	until curl -s -o /dev/null --max-time 1 "$WEB_URL/"; do
		n=$((n + 1))
		if [ "$n" -gt 100 ] || ! kill -0 "$WEB_PID" 2>/dev/null; then
			cat "$WEB_DIR/error.log" "$WEB_DIR/stdout.log" 2>/dev/null
			fail "nginx did not start"
		fi
		sleep 0.1
	done
}

web_stop() {
	[ -n "$WEB_PID" ] || return 0
	kill -TERM "$WEB_PID" 2>/dev/null
	wait "$WEB_PID" 2>/dev/null
	WEB_PID=""
}
