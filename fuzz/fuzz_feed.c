/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_feed — libFuzzer target for the feed parsers: RSS/Atom (expat) and
 * the Subsonic and Jamendo JSON answers (jansson), each given every input.
 *
 * Besides the sanitizers' own checks, it asserts what source_http relies
 * on: at most MAX items; every string field NUL-terminated within its
 * buffer; every RSS/Atom URL http or https; a failure leaves a one-line
 * reason. Build and run with FUZZ_TARGET=feed contrib/fuzz.sh (not part of
 * make check).
 */
#include "autoconfig.h"

#include "feed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct feed_item items[MAX];
static char ids[MAX][FEED_TEXT_MAX];

static void check_items(size_t n, int urls)
{
	if (n > MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct feed_item *it = &items[i];
		if (!memchr(it->url, '\0', sizeof(it->url)) ||
		    !memchr(it->title, '\0', sizeof(it->title)) ||
		    !memchr(it->artist, '\0', sizeof(it->artist)) ||
		    !memchr(it->genre, '\0', sizeof(it->genre)) ||
		    !memchr(it->id, '\0', sizeof(it->id)) ||
		    !memchr(it->cover_url, '\0', sizeof(it->cover_url)))
			abort();
		if (urls && strncasecmp(it->url, "http://", 7) != 0 &&
		    strncasecmp(it->url, "https://", 8) != 0)
			abort();
	}
}

static void check_err(int rc, const char *err)
{
	if (rc < 0 && (err[0] == '\0' || strchr(err, '\n')))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc = (const char *)data;
	char err[FEED_ERROR_MAX];
	size_t n;
	int rc;

	memset(items, 0, sizeof(items));
	rc = feed_parse_xml(doc, size, "http://127.0.0.1/feed.xml", items, MAX,
			    &n, NULL, err, sizeof(err));
	check_err(rc, err);
	if (rc == 0)
		check_items(n, 1);
	rc = feed_parse_subsonic(doc, size, "randomSongs.song", items, MAX, &n,
				 err, sizeof(err));
	check_err(rc, err);
	if (rc == 0)
		check_items(n, 0);
	rc = feed_parse_subsonic_ids(doc, size, "playlists.playlist", "name",
				     "x", ids, MAX, &n, err, sizeof(err));
	check_err(rc, err);
	rc = feed_parse_jamendo(doc, size, items, MAX, &n, err, sizeof(err));
	check_err(rc, err);
	if (rc == 0)
		check_items(n, 1);
	return 0;
}
