/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed_subsonic — the JSON APIs' answers into tracks (feed.h): the
 * Subsonic API and the Jamendo API v3.0.
 *
 * Every answer is the envelope {"subsonic-response": {"status": "ok",
 * "version": ..., <payload>}} or, on error, status "failed" with
 * "error": {"code", "message"}. Servers leave out what they do not know,
 * so every field but a song's id is optional; numbers may arrive as
 * integers or reals. OpenSubsonic adds "bpm" to songs. Parsing is bounded
 * by the document (the fetch cap) and by MAX items; jansson refuses
 * nesting deeper than its own limit.
 */
#include "autoconfig.h"

#include "feed.h"

#include <jansson.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void copy_str(char *out, size_t size, json_t *v)
{
	const char *s = json_string_value(v);
	size_t len;

	if (!s) {
		out[0] = '\0';
		return;
	}
	len = strlen(s);
	if (len > size - 1) {
		len = size - 1;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	out[len] = '\0';
}

/* An http(s) URL that fits, else "". */
static void copy_http_url(char *out, size_t size, json_t *v)
{
	const char *s = json_string_value(v);

	out[0] = '\0';
	if (!s || strlen(s) >= size ||
	    (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
		return;
	copy_str(out, size, v);
}

/* The strings of array ARR joined with ", ", as many as fit whole. */
static void join_strings(char *out, size_t size, json_t *arr)
{
	size_t i, len = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(arr, i, v) {
		char one[FEED_TEXT_MAX];
		copy_str(one, sizeof(one), v);
		size_t n = strlen(one);
		if (n == 0 || len + (len ? 2 : 0) + n >= size)
			continue;
		if (len) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, one, n + 1);
		len += n;
	}
}

/* An id may be a string or a number. */
static bool copy_id(char *out, size_t size, json_t *v)
{
	if (json_is_string(v))
		copy_str(out, size, v);
	else if (json_is_integer(v))
		snprintf(out, size, "%lld", (long long)json_integer_value(v));
	else
		return false;
	return out[0] != '\0';
}

/* Parses DOC and checks the envelope; *payload is the inner object
 * (borrowed from *root, which the caller frees). */
static int envelope(const char *doc, size_t len, json_t **root,
		    json_t **payload, char *err, size_t err_size)
{
	json_error_t je;
	json_t *r, *status;

	*root = NULL;
	r = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
	if (!r) {
		snprintf(err, err_size, "not JSON: line %d: %s", je.line,
			 je.text);
		return -EBADMSG;
	}
	*root = r;
	*payload = json_object_get(r, "subsonic-response");
	status = json_object_get(*payload, "status");
	if (!json_is_object(*payload) || !json_is_string(status)) {
		snprintf(err, err_size, "not a Subsonic answer");
		return -EBADMSG;
	}
	if (strcmp(json_string_value(status), "ok") == 0)
		return 0;
	json_t *e = json_object_get(*payload, "error");
	json_int_t code = json_integer_value(json_object_get(e, "code"));
	char msg[FEED_TEXT_MAX];
	copy_str(msg, sizeof(msg), json_object_get(e, "message"));
	snprintf(err, err_size, "the server says: %s (code %lld)",
		 msg[0] ? msg : "failed", (long long)code);
	return code == 40 || code == 41 || code == 50 ? -EACCES : -EPROTO;
}

/* "a.b": payload.a.b, or NULL. */
static json_t *list_get(json_t *payload, const char *list)
{
	char first[64];
	const char *dot = strchr(list, '.');
	size_t n = dot ? (size_t)(dot - list) : strlen(list);

	if (n >= sizeof(first))
		return NULL;
	memcpy(first, list, n);
	first[n] = '\0';
	json_t *obj = json_object_get(payload, first);
	return dot ? json_object_get(obj, dot + 1) : obj;
}

int feed_parse_subsonic(const char *doc, size_t len, const char *list,
			struct feed_item *items, size_t max, size_t *n,
			char *err, size_t err_size)
{
	json_t *root, *payload, *arr, *song;
	size_t i;
	int rc;

	*n = 0;
	rc = envelope(doc, len, &root, &payload, err, err_size);
	if (rc < 0)
		goto out;
	arr = list_get(payload, list);
	json_array_foreach(arr, i, song) {
		struct feed_item *it;
		if (*n >= max)
			break;
		if (!json_is_object(song))
			continue;
		it = &items[*n];
		memset(it, 0, sizeof(*it));
		if (!copy_id(it->id, sizeof(it->id),
			     json_object_get(song, "id")))
			continue;
		/* Videos and folders are not tracks. */
		if (json_is_true(json_object_get(song, "isVideo")) ||
		    json_is_true(json_object_get(song, "isDir")))
			continue;
		copy_str(it->title, sizeof(it->title),
			 json_object_get(song, "title"));
		copy_str(it->artist, sizeof(it->artist),
			 json_object_get(song, "artist"));
		copy_str(it->album, sizeof(it->album),
			 json_object_get(song, "album"));
		copy_str(it->genre, sizeof(it->genre),
			 json_object_get(song, "genre"));
		copy_str(it->mime, sizeof(it->mime),
			 json_object_get(song, "contentType"));
		copy_id(it->cover_url, sizeof(it->cover_url),
			json_object_get(song, "coverArt"));
		double d = json_number_value(json_object_get(song, "duration"));
		it->duration_s = d > 0 && d < 1e7 ? d : 0;
		double b = json_number_value(json_object_get(song, "bpm"));
		it->bpm = b > 0 && b < 1000 ? b : 0;
		json_int_t size = json_integer_value(json_object_get(song,
								       "size"));
		it->length = size > 0 ? (int64_t)size : 0;
		(*n)++;
	}
	err[0] = '\0';
out:
	json_decref(root);
	return rc;
}

int feed_parse_subsonic_ids(const char *doc, size_t len, const char *list,
			    const char *key, const char *value,
			    char (*ids)[FEED_TEXT_MAX], size_t max, size_t *n,
			    char *err, size_t err_size)
{
	json_t *root, *payload, *arr, *obj;
	size_t i;
	int rc;

	*n = 0;
	rc = envelope(doc, len, &root, &payload, err, err_size);
	if (rc < 0)
		goto out;
	arr = list_get(payload, list);
	json_array_foreach(arr, i, obj) {
		if (*n >= max)
			break;
		if (key) {
			const char *v = json_string_value(json_object_get(obj,
									  key));
			if (!v || strcmp(v, value) != 0)
				continue;
		}
		if (copy_id(ids[*n], FEED_TEXT_MAX, json_object_get(obj, "id")))
			(*n)++;
	}
	err[0] = '\0';
out:
	json_decref(root);
	return rc;
}

int feed_parse_jamendo(const char *doc, size_t len, struct feed_item *items,
		       size_t max, size_t *n, char *err, size_t err_size)
{
	json_error_t je;
	json_t *root, *headers, *status, *track;
	size_t i;
	int rc = 0;

	*n = 0;
	root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, err_size, "not JSON: line %d: %s", je.line,
			 je.text);
		return -EBADMSG;
	}
	headers = json_object_get(root, "headers");
	status = json_object_get(headers, "status");
	if (!json_is_string(status) ||
	    !json_is_array(json_object_get(root, "results"))) {
		snprintf(err, err_size, "not a Jamendo answer");
		rc = -EBADMSG;
		goto out;
	}
	if (strcmp(json_string_value(status), "success") != 0) {
		char msg[FEED_TEXT_MAX];
		json_int_t code = json_integer_value(json_object_get(headers,
								       "code"));
		copy_str(msg, sizeof(msg), json_object_get(headers,
							   "error_message"));
		snprintf(err, err_size, "the server says: %s (code %lld)",
			 msg[0] ? msg : "failed", (long long)code);
		/* Jamendo's code 5: the client id is not valid. */
		rc = code == 5 ? -EACCES : -EPROTO;
		goto out;
	}
	json_array_foreach(json_object_get(root, "results"), i, track) {
		struct feed_item *it;
		const char *audio;
		if (*n >= max)
			break;
		it = &items[*n];
		memset(it, 0, sizeof(*it));
		audio = json_string_value(json_object_get(track, "audio"));
		if (!audio || (strncmp(audio, "http://", 7) != 0 &&
			       strncmp(audio, "https://", 8) != 0) ||
		    strlen(audio) >= sizeof(it->url) ||
		    !copy_id(it->id, sizeof(it->id),
			     json_object_get(track, "id")))
			continue;
		memcpy(it->url, audio, strlen(audio) + 1);
		copy_str(it->title, sizeof(it->title),
			 json_object_get(track, "name"));
		copy_str(it->artist, sizeof(it->artist),
			 json_object_get(track, "artist_name"));
		copy_str(it->album, sizeof(it->album),
			 json_object_get(track, "album_name"));
		copy_http_url(it->cover_url, sizeof(it->cover_url),
			      json_object_get(track, "image"));
		if (!it->cover_url[0])
			copy_http_url(it->cover_url, sizeof(it->cover_url),
				      json_object_get(track, "album_image"));
		json_t *genres = json_object_get(json_object_get(
			json_object_get(track, "musicinfo"), "tags"), "genres");
		join_strings(it->genre, sizeof(it->genre), genres);
		double d = json_number_value(json_object_get(track,
							     "duration"));
		it->duration_s = d > 0 && d < 1e7 ? d : 0;
		(*n)++;
	}
	err[0] = '\0';
out:
	json_decref(root);
	return rc;
}
