/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * icy_listen — a minimal internet-radio listener for tests.
 *
 *   icy_listen URL SECONDS AUDIO_OUT META_OUT [TIMING_OUT]
 *
 * Connects to URL (http://HOST[:PORT]/PATH) asking for in-band titles
 * ("Icy-MetaData: 1"), reads for SECONDS of wall time (CLOCK_MONOTONIC),
 * and splits what arrives: the audio bytes go to AUDIO_OUT; the ICY
 * metadata blocks, every icy-metaint bytes, are taken out, and each block
 * with a non-empty StreamTitle becomes one line of META_OUT:
 *
 *   <audio byte offset>\t<StreamTitle value>
 *
 * where the offset counts audio bytes received before the block and the
 * value is what lies between "StreamTitle='" and the next "';", unescaped
 * nothing. With ICY_LISTEN_WALLCLOCK set in the environment, each line
 * gets a third field: the wall-clock time (CLOCK_REALTIME, seconds since
 * the epoch) at which the block arrived. Without icy-metaint (Ogg streams) the bytes are written as they
 * come.
 *
 * TIMING_OUT, when given, gets one line on how the audio arrived:
 *
 *   bytes=B longest_gap_s=G max_lag_s=L max_ahead_s=A
 *
 * G is the longest wait between two reads after the first; L, for a stream
 * whose icy-br header gives its bitrate, how far the audio ever fell
 * behind real time: after Icecast's burst the audio received should keep
 * pace with the clock, and L is the largest drop of (audio seconds
 * received - seconds since the first byte) below its highest value so
 * far; -1 without icy-br. A source that stopped for 2 s shows L = 2 even
 * if it sent the 2 s quickly afterwards. A, the other way round, is how far
 * the audio ever ran ahead of real time beyond what it led by at the end
 * of the first second (Icecast's burst-on-connect has arrived by then):
 * the largest rise of the same difference above that value; a source that
 * paced by a clock that stepped forward and sent a minute at once shows
 * A = 60; -1 without icy-br or before a second has passed. Exit status 0 when it connected and read, 1 when it could not
 * connect or the server did not answer 200, 2 on bad usage or a local error.
 */
#include "autoconfig.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX 16384

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_url(const char *url, char *host, size_t host_size,
		     char *port, size_t port_size, const char **path)
{
	const char *p = url;
	if (strncmp(p, "http://", 7) != 0)
		return -1;
	p += 7;
	const char *slash = strchr(p, '/');
	const char *end = slash ? slash : p + strlen(p);
	const char *colon = memchr(p, ':', (size_t)(end - p));
	const char *host_end = colon ? colon : end;
	if (host_end == p || (size_t)(host_end - p) >= host_size)
		return -1;
	memcpy(host, p, (size_t)(host_end - p));
	host[host_end - p] = '\0';
	if (colon) {
		if ((size_t)(end - colon - 1) >= port_size || end == colon + 1)
			return -1;
		memcpy(port, colon + 1, (size_t)(end - colon - 1));
		port[end - colon - 1] = '\0';
	} else {
		snprintf(port, port_size, "80");
	}
	*path = slash ? slash : "/";
	return 0;
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Reads what arrives within the time left; 0 at the end of the stream or
 * of the time, -1 on error. */
static ssize_t read_some(int fd, unsigned char *buf, size_t size,
			 double deadline)
{
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		ssize_t n = recv(fd, buf, size, 0);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

static void write_title(FILE *meta, unsigned long long offset,
			const char *block, size_t len)
{
	static const char key[] = "StreamTitle='";
	const char *end = block + len;
	const char *p = NULL;
	for (const char *q = block; q + sizeof(key) - 1 <= end; q++) {
		if (memcmp(q, key, sizeof(key) - 1) == 0) {
			p = q + sizeof(key) - 1;
			break;
		}
	}
	if (!p)
		return;
	const char *v = p;
	while (p + 1 < end && !(p[0] == '\'' && p[1] == ';'))
		p++;
	if (p + 1 >= end || p == v)
		return;
	if (getenv("ICY_LISTEN_WALLCLOCK")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(meta, "%llu\t%.*s\t%.3f\n", offset, (int)(p - v), v,
			(double)ts.tv_sec + ts.tv_nsec / 1e9);
	} else {
		fprintf(meta, "%llu\t%.*s\n", offset, (int)(p - v), v);
	}
	fflush(meta);
}

int main(int argc, char **argv)
{
	char host[256], port[16];
	const char *path;
	if ((argc != 5 && argc != 6) ||
	    parse_url(argv[1], host, sizeof(host), port, sizeof(port),
		      &path) < 0) {
		fprintf(stderr, "usage: icy_listen http://HOST[:PORT]/PATH "
			"SECONDS AUDIO_OUT META_OUT [TIMING_OUT]\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	FILE *audio = fopen(argv[3], "wb");
	FILE *meta = fopen(argv[4], "w");
	if (!audio || !meta) {
		fprintf(stderr, "icy_listen: cannot open the output files: "
			"%s\n", strerror(errno));
		return 2;
	}
	double deadline = now_s() + seconds;

	int fd = connect_to(host, port);
	if (fd < 0) {
		fprintf(stderr, "icy_listen: cannot connect to %s:%s\n", host,
			port);
		return 1;
	}
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s:%s\r\n"
			 "User-Agent: icy_listen\r\nIcy-MetaData: 1\r\n\r\n",
			 path, host, port);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		fprintf(stderr, "icy_listen: cannot send the request\n");
		return 1;
	}

	/* Headers, byte by byte up to the blank line, so that no audio is
	 * consumed with them. */
	static char header[HEADER_MAX + 1];
	size_t hlen = 0;
	while (hlen < 4 || memcmp(header + hlen - 4, "\r\n\r\n", 4) != 0) {
		unsigned char c;
		if (hlen == HEADER_MAX ||
		    read_some(fd, &c, 1, deadline + 5) != 1) {
			fprintf(stderr, "icy_listen: no response headers\n");
			return 1;
		}
		header[hlen++] = (char)c;
	}
	header[hlen] = '\0';
	if (strncmp(header, "HTTP/1.0 200", 12) != 0 &&
	    strncmp(header, "HTTP/1.1 200", 12) != 0 &&
	    strncmp(header, "ICY 200", 7) != 0) {
		fprintf(stderr, "icy_listen: %.*s\n",
			(int)strcspn(header, "\r\n"), header);
		return 1;
	}
	long metaint = 0, kbps = 0;
	for (char *line = header; *line; ) {
		char *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		if (strncasecmp(line, "icy-metaint:", 12) == 0)
			metaint = strtol(line + 12, NULL, 10);
		if (strncasecmp(line, "icy-br:", 7) == 0)
			kbps = strtol(line + 7, NULL, 10);
		line = eol + 2;
	}
	double first_at = -1, last_at = 0, longest_gap = 0;
	double surplus_max = -1e9, max_lag = kbps > 0 ? 0 : -1;
	/* The surplus once the burst is in, and the largest rise above it. */
	double surplus_base = 0, max_ahead = -1;
	bool have_base = false;

	/* The body: audio, and every metaint bytes one length byte (times
	 * 16) and that much metadata. */
	static unsigned char buf[65536];
	static char block[255 * 16];
	unsigned long long audio_bytes = 0;
	long until_meta = metaint;
	size_t meta_len = 0, meta_want = 0;
	bool in_meta = false, want_len = false;
	for (;;) {
		ssize_t got = read_some(fd, buf, sizeof(buf), deadline);
		if (got <= 0)
			break;
		double at = now_s();
		if (first_at < 0)
			first_at = at;
		else if (at - last_at > longest_gap)
			longest_gap = at - last_at;
		last_at = at;
		size_t i = 0;
		while (i < (size_t)got) {
			if (metaint <= 0) {
				fwrite(buf + i, 1, (size_t)got - i, audio);
				audio_bytes += (size_t)got - i;
				break;
			}
			if (want_len) {
				meta_want = (size_t)buf[i++] * 16;
				meta_len = 0;
				want_len = false;
				in_meta = meta_want > 0;
				if (!in_meta)
					until_meta = metaint;
				continue;
			}
			if (in_meta) {
				size_t take = meta_want - meta_len;
				if (take > (size_t)got - i)
					take = (size_t)got - i;
				memcpy(block + meta_len, buf + i, take);
				meta_len += take;
				i += take;
				if (meta_len == meta_want) {
					write_title(meta, audio_bytes, block,
						    meta_len);
					in_meta = false;
					until_meta = metaint;
				}
				continue;
			}
			size_t take = (size_t)until_meta;
			if (take > (size_t)got - i)
				take = (size_t)got - i;
			fwrite(buf + i, 1, take, audio);
			audio_bytes += take;
			until_meta -= (long)take;
			i += take;
			if (until_meta == 0)
				want_len = true;
		}
		if (kbps > 0) {
			double surplus = audio_bytes / (kbps * 125.0) -
					 (at - first_at);
			if (surplus > surplus_max)
				surplus_max = surplus;
			if (surplus_max - surplus > max_lag)
				max_lag = surplus_max - surplus;
			if (!have_base && at - first_at >= 1.0) {
				surplus_base = surplus;
				have_base = true;
				max_ahead = 0;
			}
			if (have_base && surplus - surplus_base > max_ahead)
				max_ahead = surplus - surplus_base;
		}
	}
	close(fd);
	if (argc == 6) {
		FILE *timing = fopen(argv[5], "w");
		if (!timing || fprintf(timing, "bytes=%llu longest_gap_s=%.3f "
				       "max_lag_s=%.3f max_ahead_s=%.3f\n",
				       audio_bytes, longest_gap, max_lag,
				       max_ahead) < 0 ||
		    fclose(timing) != 0) {
			fprintf(stderr, "icy_listen: cannot write %s\n",
				argv[5]);
			return 2;
		}
	}
	if (fclose(audio) != 0 || fclose(meta) != 0) {
		fprintf(stderr, "icy_listen: write error\n");
		return 2;
	}
	return 0;
}
