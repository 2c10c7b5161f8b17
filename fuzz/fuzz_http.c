/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_http — libFuzzer target for the status server's request parsing
 * (src/http_parse.c): the request target is split at '?' as
 * libmicrohttpd splits it; the path is routed raw and again after
 * unescaping (as the server sees it), every query value is unescaped and
 * read as an event id, and the whole input is read as a listen address.
 * Besides the sanitizers' checks it asserts what the server relies on:
 * unescaping never lengthens; a route is only ever one of the fixed
 * paths, and never for a path with "..", a NUL or over HTTP_URL_MAX
 * bytes; an event id is only ever all digits.
 * Build and run with FUZZ_TARGET=http contrib/fuzz.sh (not part of make
 * check).
 */
#include "autoconfig.h"

#include "http.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_route(const char *p, size_t len)
{
	int64_t arg = -1;
	enum http_route r = http_route(p, len, &arg);
	if (r == HTTP_ROUTE_NONE)
		return;
	assert(len <= HTTP_URL_MAX && p[0] == '/');
	assert(!memchr(p, '\0', len));
	for (size_t i = 0; i + 1 < len; i++)
		assert(!(p[i] == '.' && p[i + 1] == '.'));
	if (r == HTTP_ROUTE_PAGE) {
		/* One of the fixed files, named exactly. */
		assert(arg >= 0 && (size_t)arg < http_n_page_files);
		assert(strlen(http_page_files[arg].url) == len &&
		       memcmp(http_page_files[arg].url, p, len) == 0);
		return;
	}
	if (r == HTTP_ROUTE_WAVEFORM || r == HTTP_ROUTE_COVER) {
		/* /api/tracks/ID/NAME: the id printed back is the path. */
		char want[128];
		int n = snprintf(want, sizeof(want), "/api/tracks/%lld/%s",
				 (long long)arg, r == HTTP_ROUTE_COVER ?
				 "cover" : "waveform");
		assert(arg > 0);
		assert((size_t)n == len || ((size_t)n + 1 == len &&
					    p[len - 1] == '/'));
		assert(memcmp(want, p, (size_t)n) == 0);
		return;
	}
	static const char *const known[] = { "/api/nowplaying",
					     "/api/events", "/metrics" };
	size_t n = len;
	if (n > 1 && p[n - 1] == '/')
		n--;
	bool ok = false;
	for (size_t i = 0; i < 3; i++)
		ok |= strlen(known[i]) == n && memcmp(known[i], p, n) == 0;
	assert(ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4 * HTTP_URL_MAX)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	const char *q = memchr(s, '?', size);
	size_t plen = q ? (size_t)(q - s) : size;
	check_route(s, plen);

	/* What the server routes: the path unescaped, as a C string. */
	char *path = strndup(s, plen);
	if (path) {
		size_t before = strlen(path);
		size_t after = http_unescape(path);
		assert(after <= before && after == strlen(path));
		check_route(path, after);
		free(path);
	}

	/* Every query value, as ?lastEventId=N is read. */
	if (q) {
		char *query = strdup(q + 1);
		char *save = NULL;
		for (char *kv = query ? strtok_r(query, "&", &save) : NULL; kv;
		     kv = strtok_r(NULL, "&", &save)) {
			char *v = strchr(kv, '=');
			if (!v)
				continue;
			v++;
			http_unescape(v);
			uint64_t id;
			if (http_parse_event_id(v, &id) == 0) {
				size_t n = strlen(v);
				assert(n >= 1 && n <= 19);
				assert(strspn(v, "0123456789") == n);
			}
		}
		free(query);
	}

	struct sockaddr_storage addr;
	unsigned len = 0;
	if (http_parse_listen(s, &addr, &len) == 0)
		assert(len > 0 && len <= sizeof(addr));
	free(s);
	return 0;
}
