/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed — parsing feed documents into tracks: RSS 2.0 and Atom (expat).
 *
 * A parser takes a whole document (as fetched, at most the fetch cap) and
 * fills a caller-owned array of items, at most MAX of them, in document
 * order. It does no I/O: fetching is fetch.c's, downloading and caching
 * dlcache.c's, scheduling source_http.c's, so every parser is a pure
 * function that the unit tests and the fuzz target drive with bytes.
 *
 * RSS 2.0: each <item> with an <enclosure url type length> is a track;
 * title from <title>, artist from <itunes:author> or <author> (or
 * <dc:creator>), duration from <itunes:duration> (seconds, MM:SS or
 * HH:MM:SS), cover art from <itunes:image href> or <media:thumbnail url>
 * (the channel's <itunes:image> or <image><url> for items without one),
 * genre from the first <category>. Atom: each <entry> with a
 * <link rel="enclosure" href type length>; title, <author><name>, the first
 * <category term>. An enclosure is audio when its type is audio/... or, with
 * no type (or application/octet-stream), when its URL's path ends in an
 * audio extension; other enclosures (video, images, PDFs) are counted as
 * skipped, not returned. Relative URLs are resolved against BASE_URL.
 *
 * Hostile documents: a DOCTYPE that declares entities is refused (no
 * entity expansion at all, whatever expat's own amplification limits);
 * fields are cut at their buffer size; only http and https URLs are kept.
 *
 * Subsonic (jansson): the JSON envelope {"subsonic-response": {"status":
 * "ok" | "failed", ...}}; a song list (id, title, artist, album, genre,
 * duration, bpm, coverArt, size, contentType) or a list of ids (albums, playlists).
 * The item's url is left empty and its id set: the caller makes the URLs,
 * which carry the authentication.
 *
 * Errors: 0, or -EBADMSG when the document is not well-formed XML or is
 * neither RSS nor Atom, or not a Subsonic answer (err says where or what),
 * -EACCES when a Subsonic server refuses the credentials (error codes 40,
 * 41, 50), -EPROTO for its other errors (err has its message), -ENOMEM.
 * Thread rules: none; reentrant.
 */
#ifndef FOREVERFM_FEED_H
#define FOREVERFM_FEED_H

#include <stddef.h>
#include <stdint.h>

#define FEED_URL_MAX 2048
#define FEED_TEXT_MAX 256
#define FEED_ERROR_MAX 256

struct feed_item {
	char url[FEED_URL_MAX];          /* the audio file: its identity */
	char fetch[FEED_URL_MAX];        /* where to get it, "" = url (set
					  * by the caller for APIs whose
					  * links change) */
	char id[FEED_TEXT_MAX];          /* guid / id / API id, "" if none */
	char title[FEED_TEXT_MAX];       /* UTF-8, "" when not given */
	char artist[FEED_TEXT_MAX];
	char album[FEED_TEXT_MAX];
	char genre[FEED_TEXT_MAX];
	char cover_url[FEED_URL_MAX];    /* an image URL; for Subsonic the
					  * coverArt id (the caller makes
					  * the URL) */
	char mime[FEED_TEXT_MAX];        /* the announced type, "" if none */
	double duration_s;               /* 0 when not given */
	double bpm;                      /* 0 when not given */
	int64_t length;                  /* announced bytes, 0 when not given */
};

struct feed_parse_stats {
	size_t items;        /* items/entries met */
	size_t skipped;      /* with no audio enclosure */
	size_t truncated;    /* beyond MAX */
};

/* Parses an RSS 2.0 or Atom document. */
int feed_parse_xml(const char *doc, size_t len, const char *base_url,
		   struct feed_item *items, size_t max, size_t *n,
		   struct feed_parse_stats *stats, char *err, size_t err_size);

/* Parses a Subsonic answer; LIST names the array of songs: "randomSongs.song",
 * "songsByGenre.song", "starred2.song", "album.song" or "playlist.entry".
 * A missing list is an empty one. */
int feed_parse_subsonic(const char *doc, size_t len, const char *list,
			struct feed_item *items, size_t max, size_t *n,
			char *err, size_t err_size);

/* Parses a Subsonic answer for the "id" of the objects of LIST
 * ("albumList2.album", "playlists.playlist"); with KEY and VALUE given,
 * only those whose KEY equals VALUE (a playlist by "name"). Each id is cut
 * to FEED_TEXT_MAX - 1 bytes. */
int feed_parse_subsonic_ids(const char *doc, size_t len, const char *list,
			    const char *key, const char *value,
			    char (*ids)[FEED_TEXT_MAX], size_t max, size_t *n,
			    char *err, size_t err_size);

/* Parses a Jamendo API v3.0 answer of /tracks: {"headers": {"status":
 * "success" | "failed", "code", "error_message"}, "results": [{"id",
 * "name", "artist_name", "album_name", "duration", "audio", "image" (or
 * "album_image"), "musicinfo": {"tags": {"genres": [...]}}}]}; genres
 * are joined with ", " (the brain's genre term splits them). The item's url is the track's "audio"
 * URL (http or https only), its id the track's id. */
int feed_parse_jamendo(const char *doc, size_t len, struct feed_item *items,
		       size_t max, size_t *n, char *err, size_t err_size);

/* Parses "SECONDS", "MM:SS" or "HH:MM:SS" (fractions allowed in the last
 * field) into seconds; returns 0 for anything else. */
double feed_parse_duration(const char *s);

/* True when URL's path (before any query) ends in an audio file
 * extension. */
int feed_url_looks_like_audio(const char *url);

#endif
