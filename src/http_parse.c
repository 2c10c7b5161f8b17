/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_parse — the status server's pure parsing: which route a path names
 * (and the page's fixed list of files),
 * event ids, listen addresses and %-unescaping. Kept apart from http.c
 * (libmicrohttpd) so that the configuration check and the fuzz target
 * (fuzz/fuzz_http.c) link it alone. See http.h.
 */
#include "autoconfig.h"

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static bool http_path_is(const char *path, size_t len, const char *want)
{
	size_t n = strlen(want);
	if (len == n + 1 && path[n] == '/')
		len = n;
	return len == n && memcmp(path, want, n) == 0;
}

const struct http_page_file http_page_files[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/index.html", "index.html", "text/html; charset=utf-8" },
	{ "/style.css", "style.css", "text/css; charset=utf-8" },
	{ "/app.js", "app.js", "text/javascript; charset=utf-8" },
	{ "/icon.svg", "icon.svg", "image/svg+xml" },
};
const size_t http_n_page_files =
	sizeof(http_page_files) / sizeof(http_page_files[0]);

#define HTTP_TRACKS_PREFIX "/api/tracks/"

/* /api/tracks/ID/waveform or /cover. */
static enum http_route http_track_route(const char *path, size_t len,
					int64_t *arg)
{
	size_t pre = strlen(HTTP_TRACKS_PREFIX);
	if (len <= pre || memcmp(path, HTTP_TRACKS_PREFIX, pre) != 0)
		return HTTP_ROUTE_NONE;
	const char *p = path + pre, *end = path + len;
	uint64_t id = 0;
	size_t digits = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 19 || (digits == 0 && *p == '0'))
			return HTTP_ROUTE_NONE;
		id = id * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0 || id > INT64_MAX || p == end || *p != '/')
		return HTTP_ROUTE_NONE;
	size_t rest = (size_t)(end - p);
	enum http_route r = HTTP_ROUTE_NONE;
	if (http_path_is(p, rest, "/waveform"))
		r = HTTP_ROUTE_WAVEFORM;
	else if (http_path_is(p, rest, "/cover"))
		r = HTTP_ROUTE_COVER;
	if (r != HTTP_ROUTE_NONE && arg)
		*arg = (int64_t)id;
	return r;
}

enum http_route http_route(const char *path, size_t len, int64_t *arg)
{
	if (!path || len == 0 || len > HTTP_URL_MAX || path[0] != '/')
		return HTTP_ROUTE_NONE;
	if (memchr(path, '\0', len))
		return HTTP_ROUTE_NONE;
	for (size_t i = 0; i + 1 < len; i++)
		if (path[i] == '.' && path[i + 1] == '.')
			return HTTP_ROUTE_NONE;
	/* The page's files: exact names only. */
	for (size_t i = 0; i < http_n_page_files; i++) {
		size_t n = strlen(http_page_files[i].url);
		if (len == n && memcmp(path, http_page_files[i].url, n) == 0) {
			if (arg)
				*arg = (int64_t)i;
			return HTTP_ROUTE_PAGE;
		}
	}
	enum http_route tr = http_track_route(path, len, arg);
	if (tr != HTTP_ROUTE_NONE)
		return tr;
	if (http_path_is(path, len, "/api/nowplaying"))
		return HTTP_ROUTE_NOWPLAYING;
	if (http_path_is(path, len, "/api/events"))
		return HTTP_ROUTE_EVENTS;
	if (http_path_is(path, len, "/metrics"))
		return HTTP_ROUTE_METRICS;
	return HTTP_ROUTE_NONE;
}

int http_parse_event_id(const char *s, uint64_t *id)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!s)
		return -EINVAL;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[n] - '0');
	}
	if (n == 0)
		return -EINVAL;
	*id = v;
	return 0;
}

int http_parse_listen(const char *s, struct sockaddr_storage *addr,
		      unsigned *addr_len)
{
	char host[64];
	const char *colon, *port_s;
	size_t hlen;
	bool v6 = false;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		port_s = close + 2;
		v6 = true;
	} else if (!strchr(s, ':') && s[0]) {
		/* A port alone: loopback. */
		snprintf(host, sizeof(host), "127.0.0.1");
		hlen = strlen(host);
		port_s = s;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	uint64_t port;
	if (http_parse_event_id(port_s, &port) < 0 ||
	    port > 65535 || strlen(port_s) > 5)
		return -EINVAL;
	memset(addr, 0, sizeof(*addr));
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*addr_len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*addr_len = sizeof(*a4);
	}
	return 0;
}

static int http_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t http_unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		int hi, lo;
		if (r[0] == '%' && (hi = http_hex(r[1])) >= 0 &&
		    (lo = http_hex(r[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

