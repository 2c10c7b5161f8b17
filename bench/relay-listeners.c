/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * relay-listeners — many internet-radio listeners in one process, for
 * bench/relay-load.sh.
 *
 *   relay-listeners URL COUNT SECONDS RAMP_PER_S KBPS
 *
 * Opens COUNT connections to URL (http://HOST:PORT/PATH; no ICY titles
 * asked for), RAMP_PER_S new ones a second, all in one poll() loop, reads
 * from each until SECONDS of wall time (CLOCK_MONOTONIC) after the start
 * and prints one line:
 *
 *   listeners=N connected=C steady=S min_kbps=.. median_kbps=..
 *   max_kbps=.. max_gap_s=.. last_first_byte_s=..
 *
 * The ramp is what real listeners do (they never arrive in the same
 * millisecond) and what Icecast 2.4.4 needs: it listens with a backlog
 * of 5 connections (ICECAST_LISTEN_QUEUE), so hundreds of simultaneous
 * connects mostly wait for SYN retransmissions, seconds each.
 * A listener's rate is what it received from 5 s after its first byte
 * (Icecast's burst on connect comes before) to the end, and it is steady
 * when it had at least 10 s of that, the rate is within 5 % of KBPS, and
 * it never waited 2 s or more for data after the first byte. A curl per
 * listener would cost a process each; this costs one socket each. COUNT
 * is at most 5000 and SECONDS at most 600 (bounded benchmarks); exit
 * status 0 when every listener connected and was steady, 1 otherwise, 2
 * on bad usage or a local error.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COUNT_MAX 5000
#define SECONDS_MAX 600
#define GAP_LIMIT_S 2.0
#define BURST_S 5.0       /* after the first byte: the burst is over */
#define MEASURE_MIN_S 10.0

struct listener {
	int fd;
	bool started;    /* connect() called */
	bool connected;  /* the request went out */
	bool failed;
	double first_s;  /* first byte, 0 before */
	double last_s;
	double max_gap_s;
	unsigned long long bytes_after_burst;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int parse_url(const char *url, char *host, size_t host_size,
		     char *port, size_t port_size, const char **path)
{
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	const char *p = url + 7;
	const char *slash = strchr(p, '/');
	const char *colon = strchr(p, ':');
	if (!slash || !colon || colon > slash)
		return -1;
	if ((size_t)(colon - p) >= host_size ||
	    (size_t)(slash - colon - 1) >= port_size)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	memcpy(port, colon + 1, (size_t)(slash - colon - 1));
	port[slash - colon - 1] = '\0';
	*path = slash;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s URL COUNT SECONDS RAMP_PER_S KBPS\n",
			argv[0]);
		return 2;
	}
	char host[256], port[16];
	const char *path;
	int count = atoi(argv[2]);
	double seconds = atof(argv[3]), ramp = atof(argv[4]);
	double kbps = atof(argv[5]);
	if (parse_url(argv[1], host, sizeof(host), port, sizeof(port), &path) ||
	    count < 1 || count > COUNT_MAX || seconds <= 0 || ramp <= 0 ||
	    seconds > SECONDS_MAX || kbps <= 0) {
		fprintf(stderr, "relay-listeners: bad arguments (COUNT 1..%d, "
			"SECONDS up to %d, RAMP_PER_S > 0)\n", COUNT_MAX,
			SECONDS_MAX);
		return 2;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		fprintf(stderr, "relay-listeners: cannot resolve %s\n", host);
		return 2;
	}
	char request[1024];
	int request_len = snprintf(request, sizeof(request),
				   "GET %s HTTP/1.0\r\nHost: %s\r\n"
				   "User-Agent: relay-listeners\r\n\r\n",
				   path, host);
	struct listener *ls = calloc((size_t)count, sizeof(*ls));
	struct pollfd *pfds = calloc((size_t)count, sizeof(*pfds));
	double *rates = calloc((size_t)count, sizeof(*rates));
	static unsigned char buf[65536];
	int rc = 2;
	if (!ls || !pfds || !rates || request_len >= (int)sizeof(request))
		goto out;

	for (int i = 0; i < count; i++)
		ls[i].fd = -1;
	double start = now_s();
	double end = start + seconds;
	int started = 0;
	for (;;) {
		double t = now_s();
		if (t >= end)
			break;
		for (; started < count && t >= start + started / ramp; started++) {
			struct listener *l = &ls[started];
			l->started = true;
			l->fd = socket(ai->ai_family,
				       ai->ai_socktype | SOCK_NONBLOCK,
				       ai->ai_protocol);
			if (l->fd < 0) {
				fprintf(stderr, "relay-listeners: socket %d: %s\n",
					started, strerror(errno));
				l->failed = true;
				continue;
			}
			if (connect(l->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
			    errno != EINPROGRESS)
				l->failed = true;
		}
		int timeout_ms = (int)((end - t) * 1000) + 1;
		if (started < count && timeout_ms > 20)
			timeout_ms = 20;
		for (int i = 0; i < count; i++) {
			pfds[i].fd = ls[i].failed || !ls[i].started ? -1 : ls[i].fd;
			pfds[i].events = ls[i].connected ? POLLIN : POLLOUT;
			pfds[i].revents = 0;
		}
		int n = poll(pfds, (nfds_t)count, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		t = now_s();
		for (int i = 0; i < count && n > 0; i++) {
			struct listener *l = &ls[i];
			if (!pfds[i].revents)
				continue;
			n--;
			if (!l->connected) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err || send(l->fd, request, (size_t)request_len,
						MSG_NOSIGNAL) != request_len) {
					l->failed = true;
					continue;
				}
				l->connected = true;
				continue;
			}
			ssize_t got = recv(l->fd, buf, sizeof(buf), 0);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0) {
				l->failed = true;  /* dropped by the server */
				continue;
			}
			if (l->first_s == 0)
				l->first_s = t;
			else if (t - l->last_s > l->max_gap_s)
				l->max_gap_s = t - l->last_s;
			l->last_s = t;
			if (t - l->first_s >= BURST_S)
				l->bytes_after_burst += (unsigned long long)got;
		}
	}
	int connected = 0, steady = 0;
	double max_gap = 0, last_first = 0;
	for (int i = 0; i < count; i++) {
		struct listener *l = &ls[i];
		double span = l->first_s > 0 ? end - l->first_s - BURST_S : 0;
		rates[i] = span > 0 ? l->bytes_after_burst * 8.0 / 1000.0 / span : 0;
		if (l->first_s > 0 && !l->failed)
			connected++;
		if (l->first_s - start > last_first)
			last_first = l->first_s - start;
		if (l->max_gap_s > max_gap)
			max_gap = l->max_gap_s;
		if (l->first_s > 0 && !l->failed && span >= MEASURE_MIN_S &&
		    l->max_gap_s < GAP_LIMIT_S &&
		    rates[i] >= kbps * 0.95 && rates[i] <= kbps * 1.05)
			steady++;
	}
	qsort(rates, (size_t)count, sizeof(*rates), cmp_double);
	printf("listeners=%d connected=%d steady=%d min_kbps=%.1f "
	       "median_kbps=%.1f max_kbps=%.1f max_gap_s=%.2f "
	       "last_first_byte_s=%.1f\n",
	       count, connected, steady, rates[0], rates[count / 2],
	       rates[count - 1], max_gap, last_first);
	rc = steady == count ? 0 : 1;
out:
	if (rc == 2)
		fprintf(stderr, "relay-listeners: %s\n", strerror(errno));
	for (int i = 0; ls && i < count; i++)
		if (ls[i].fd >= 0)
			close(ls[i].fd);
	free(ls);
	free(pfds);
	free(rates);
	freeaddrinfo(ai);
	return rc;
}
