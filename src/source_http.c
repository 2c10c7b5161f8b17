/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * source_http — the feeds: reading, downloading, refreshing. See
 * source_http.h.
 *
 * DESIGN
 * Each feed keeps the URLs its last good read listed. Which cached tracks
 * have left the feeds is decided only when every feed has been read at
 * least once by this process: a feed that is down at start must not make
 * its cached tracks look gone. Downloads go through the feeds in order,
 * each feed's tracks in its own order, one at a time, so the first tracks
 * of each feed are playable first and the network is never asked for more
 * than one file at once. The thread sleeps on a condition variable
 * (CLOCK_MONOTONIC) until the next feed is due or a failed download may be
 * retried, and wakes at once when asked to stop; a transfer in progress
 * sees the stop flag within a second (fetch.h).
 */
#include "autoconfig.h"

#include "source_http.h"

#include "dlcache.h"
#include "feed.h"
#include "fetch.h"
#include "log.h"
#include "source_dir.h"

#include <curl/curl.h>
#include <libavutil/md5.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A feed document: at most this many bytes. */
#define FEED_DOC_MAX (8 * 1024 * 1024)
/* A track: at most this many bytes (a long DJ set in FLAC fits). */
#define TRACK_MAX_BYTES ((int64_t)512 * 1024 * 1024)
#define FEED_BACKOFF_MIN_S 30.0
#define DOWNLOAD_BACKOFF_MIN_S 300.0
#define DOWNLOAD_BACKOFF_MAX_S 86400.0
#define FEED_TIMEOUT_S 60
#define SUBSONIC_API_VERSION "1.16.1"

/* What a feed says of one track (the catalog's source_meta). */
struct track_meta {
	char artist[FEED_TEXT_MAX];
	char title[FEED_TEXT_MAX];
	char album[FEED_TEXT_MAX];
	char genre[FEED_TEXT_MAX];
	char cover_url[FEED_URL_MAX];
	double duration_s;
	double bpm;
};

struct feed_state {
	struct config_feed cfg;
	char **urls;            /* from the last good read: identities */
	char **fetch;           /* where to get each; NULL: its url */
	struct track_meta *meta; /* what the feed says of each */
	size_t n_urls;
	bool known;             /* read successfully at least once */
	int state;              /* 1 never read, 0 ok, < 0 failing */
	double next_s;          /* monotonic: next read */
	double backoff_s;
};

struct failure {
	char *url;
	double retry_s;         /* monotonic */
	double backoff_s;
	int rc;
};

struct source_http {
	struct catalog *cat;
	struct dlcache *cache;
	char root[PATH_MAX];
	struct feed_state *feeds;
	size_t n_feeds;
	struct failure *fails;
	size_t n_fails, cap_fails;
	struct fetch_limits doc_limits, track_limits;
	double refresh_test_s;  /* > 0: every feed's period (tests) */

	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;   /* stats and the wake-up */
	pthread_cond_t wake;
	void (*changed)(void *ctx);
	void *changed_ctx;
	struct source_http_planner planner;
	uint64_t *keys;         /* the planner's order: scratch */
	struct source_http_stats stats;
};

static double monotonic_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int last_played(void *ctx, const char *path, time_t *when)
{
	return catalog_path_last_played(ctx, path, when);
}

int source_http_add_root(struct config *cfg)
{
	char root[PATH_MAX];
	char *paths[CONFIG_PATHS_MAX];
	size_t n = cfg->n_library_paths;

	if (cfg->n_feeds == 0 || !cfg->cache)
		return 0;
	if (snprintf(root, sizeof(root), "%s/" DLCACHE_TRACKS_SUBDIR,
		     cfg->cache) >= (int)sizeof(root))
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++)
		if (strcmp(cfg->library_paths[i], root) == 0)
			return 0;
	if (n >= CONFIG_PATHS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		paths[i] = cfg->library_paths[i];
	paths[n] = root;
	return config_set_library_paths(cfg, paths, n + 1);
}

/* source_http_create(), with the cache opened only when WITH_CACHE
 * (check --online reads the feeds and writes nothing). */
static struct source_http *source_http_new(const struct config *cfg,
					   struct catalog *cat,
					   bool with_cache)
{
	struct source_http *s = calloc(1, sizeof(*s));
	int e = ENOMEM;

	if (!s)
		goto fail;
	s->cat = cat;
	atomic_init(&s->stop, false);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (fetch_init() < 0) {
		log_error("feeds: libcurl did not initialise");
		e = EIO;
		goto fail;
	}
	if (with_cache && !cfg->cache) {
		log_error("feeds: no [library] cache directory");
		e = EINVAL;
		goto fail;
	}
	if (with_cache) {
		s->cache = dlcache_open(cfg->cache,
					(int64_t)cfg->cache_max_mb * 1000 * 1000,
					cat ? last_played : NULL, cat);
		if (!s->cache) {
			e = errno;
			goto fail;
		}
		snprintf(s->root, sizeof(s->root), "%s",
			 dlcache_tracks_dir(s->cache));
	}
	s->feeds = calloc(cfg->n_feeds ? cfg->n_feeds : 1, sizeof(*s->feeds));
	if (!s->feeds)
		goto fail;
	s->n_feeds = cfg->n_feeds;
	for (size_t i = 0; i < s->n_feeds; i++) {
		s->feeds[i].cfg = cfg->feeds[i];
		s->feeds[i].state = 1;
		s->feeds[i].backoff_s = FEED_BACKOFF_MIN_S;
	}
	fetch_limits_default(&s->doc_limits, FEED_DOC_MAX);
	s->doc_limits.total_timeout_s = FEED_TIMEOUT_S;
	fetch_limits_default(&s->track_limits, TRACK_MAX_BYTES);
	/* Tests shrink the limits to see them work. */
	const char *cap = getenv("FOREVERFM_FEED_TEST_TRACK_MAX_BYTES");
	if (cap && atoll(cap) > 0)
		s->track_limits.max_bytes = atoll(cap);
	const char *every = getenv("FOREVERFM_FEED_TEST_REFRESH_S");
	if (every && atof(every) > 0)
		s->refresh_test_s = atof(every);
	const char *slow = getenv("FOREVERFM_FEED_TEST_LOW_SPEED_S");
	if (slow && atol(slow) > 0)
		s->track_limits.low_speed_time_s = atol(slow);
	return s;
fail:
	source_http_destroy(s);
	errno = e;
	return NULL;
}

struct source_http *source_http_create(const struct config *cfg,
				       struct catalog *cat)
{
	return source_http_new(cfg, cat, true);
}

static void feed_forget_urls(struct feed_state *f)
{
	for (size_t i = 0; i < f->n_urls; i++) {
		free(f->urls[i]);
		if (f->fetch)
			free(f->fetch[i]);
	}
	free(f->urls);
	free(f->fetch);
	free(f->meta);
	f->urls = NULL;
	f->fetch = NULL;
	f->meta = NULL;
	f->n_urls = 0;
}

void source_http_destroy(struct source_http *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		atomic_store(&s->stop, true);
		pthread_mutex_unlock(&s->lock);
		pthread_cond_broadcast(&s->wake);
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < s->n_feeds; i++)
		feed_forget_urls(&s->feeds[i]);
	free(s->feeds);
	for (size_t i = 0; i < s->n_fails; i++)
		free(s->fails[i].url);
	free(s->fails);
	free(s->keys);
	dlcache_close(s->cache);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *source_http_root(const struct source_http *s)
{
	return s->root;
}

/* Subsonic: the request URL of METHOD with the token authentication (a
 * fresh salt, t = md5(password + salt); never the password itself) and
 * EXTRA parameters (already escaped). */
static int subsonic_url(const struct config_feed *f, const char *method,
			const char *extra, char *out, size_t size)
{
	unsigned char salt_bytes[8], md5[16];
	char salt[17], token[33], seasoned[CONFIG_STRING_MAX + 17];
	size_t base_len = strlen(f->url);
	char *user;
	int n;

	if (getrandom(salt_bytes, sizeof(salt_bytes), 0) !=
	    (ssize_t)sizeof(salt_bytes)) {
		uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
			     (uint64_t)(uintptr_t)&x;
		memcpy(salt_bytes, &x, sizeof(salt_bytes));
	}
	for (size_t i = 0; i < sizeof(salt_bytes); i++)
		snprintf(salt + 2 * i, 3, "%02x", salt_bytes[i]);
	n = snprintf(seasoned, sizeof(seasoned), "%s%s", f->password, salt);
	av_md5_sum(md5, (const uint8_t *)seasoned, (size_t)n);
	explicit_bzero(seasoned, sizeof(seasoned));
	for (size_t i = 0; i < sizeof(md5); i++)
		snprintf(token + 2 * i, 3, "%02x", md5[i]);
	while (base_len > 0 && f->url[base_len - 1] == '/')
		base_len--;
	user = curl_easy_escape(NULL, f->user, 0);
	if (!user)
		return -ENOMEM;
	n = snprintf(out, size, "%.*s/rest/%s?u=%s&t=%s&s=%s&v=%s&c=%s%s%s",
		     (int)base_len, f->url, method, user, token, salt,
		     SUBSONIC_API_VERSION, PACKAGE_NAME, extra[0] ? "&" : "",
		     extra);
	curl_free(user);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* The stable name of a Subsonic song, which the cache keeps: its stream
 * URL without the authentication, which changes with every request. */
static int subsonic_song_key(const struct config_feed *f, const char *id,
			     char *out, size_t size)
{
	size_t base_len = strlen(f->url);
	char *eid = curl_easy_escape(NULL, id, 0);
	int n;

	if (!eid)
		return -ENOMEM;
	while (base_len > 0 && f->url[base_len - 1] == '/')
		base_len--;
	n = snprintf(out, size, "%.*s/rest/stream?id=%s", (int)base_len,
		     f->url, eid);
	curl_free(eid);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Replaces the coverArt id in COVER (SIZE bytes) with its getCoverArt
 * URL, without authentication: the URL is shown to listeners
 * (/api/nowplaying), and a token would let anyone use the account. */
static int subsonic_cover_url(const struct config_feed *f, char *cover,
			      size_t size)
{
	size_t base_len = strlen(f->url);
	char *eid = curl_easy_escape(NULL, cover, 0);
	char url[FEED_URL_MAX];
	int n;

	if (!eid)
		return -ENOMEM;
	while (base_len > 0 && f->url[base_len - 1] == '/')
		base_len--;
	n = snprintf(url, sizeof(url), "%.*s/rest/getCoverArt?id=%s",
		     (int)base_len, f->url, eid);
	curl_free(eid);
	if (n <= 0 || (size_t)n >= size || (size_t)n >= sizeof(url)) {
		cover[0] = '\0';       /* no cover rather than no feed */
		return 0;
	}
	memcpy(cover, url, (size_t)n + 1);
	return 0;
}

/* The URL to download the song of KEY: its stream request, authenticated
 * afresh, the original file (format=raw: no transcoding). */
static int subsonic_stream_url(const struct config_feed *f, const char *key,
			       char *out, size_t size)
{
	const char *id = strstr(key, "/rest/stream?id=");
	char extra[FEED_URL_MAX];

	if (!id)
		return -EINVAL;
	snprintf(extra, sizeof(extra), "id=%s&format=raw",
		 id + strlen("/rest/stream?id="));
	return subsonic_url(f, "stream", extra, out, size);
}

/* GETs a Subsonic METHOD into *doc. */
static int subsonic_get(struct source_http *s, const struct config_feed *f,
			const char *method, const char *extra, char **doc,
			size_t *len, char *err, size_t err_size)
{
	char url[FEED_URL_MAX];
	int rc = subsonic_url(f, method, extra, url, sizeof(url));

	if (rc < 0) {
		snprintf(err, err_size, "URL too long");
		return rc;
	}
	rc = fetch_memory(url, &s->doc_limits, &s->stop, doc, len, NULL, err,
			  err_size);
	explicit_bzero(url, sizeof(url));
	return rc;
}

/* Reads a Subsonic feed's songs by its query. */
static int subsonic_read(struct source_http *s, struct feed_state *f,
			 struct feed_item *items, size_t max, size_t *n,
			 char *err, size_t err_size)
{
	const struct config_feed *c = &f->cfg;
	char extra[CONFIG_URL_MAX + 64];
	char *doc = NULL, *q = NULL;
	size_t len = 0;
	int rc;

	*n = 0;
	if (strncmp(c->query, "genre:", 6) == 0 ||
	    strncmp(c->query, "playlist:", 9) == 0) {
		const char *name = strchr(c->query, ':') + 1;
		if (!(q = curl_easy_escape(NULL, name, 0)))
			return -ENOMEM;
	}
	if (strcmp(c->query, "random") == 0) {
		snprintf(extra, sizeof(extra), "f=json&size=%zu",
			 max > 500 ? (size_t)500 : max);
		rc = subsonic_get(s, c, "getRandomSongs", extra, &doc, &len,
				  err, err_size);
		if (rc == 0)
			rc = feed_parse_subsonic(doc, len, "randomSongs.song",
						 items, max, n, err, err_size);
	} else if (strcmp(c->query, "starred") == 0) {
		rc = subsonic_get(s, c, "getStarred2", "f=json", &doc, &len,
				  err, err_size);
		if (rc == 0)
			rc = feed_parse_subsonic(doc, len, "starred2.song",
						 items, max, n, err, err_size);
	} else if (q && c->query[0] == 'g') {
		snprintf(extra, sizeof(extra), "f=json&genre=%s&count=%zu", q,
			 max > 500 ? (size_t)500 : max);
		rc = subsonic_get(s, c, "getSongsByGenre", extra, &doc, &len,
				  err, err_size);
		if (rc == 0)
			rc = feed_parse_subsonic(doc, len, "songsByGenre.song",
						 items, max, n, err, err_size);
	} else {
		/* newest (albums, then their songs) or playlist:NAME (the
		 * playlist's id, then its entries). */
		bool newest = strcmp(c->query, "newest") == 0;
		char (*ids)[FEED_TEXT_MAX] = calloc(64, sizeof(*ids));
		size_t n_ids = 0;
		if (!ids) {
			rc = -ENOMEM;
			goto out;
		}
		if (newest)
			rc = subsonic_get(s, c, "getAlbumList2",
					  "f=json&type=newest&size=64", &doc,
					  &len, err, err_size);
		else
			rc = subsonic_get(s, c, "getPlaylists", "f=json", &doc,
					  &len, err, err_size);
		if (rc == 0)
			rc = feed_parse_subsonic_ids(doc, len,
				newest ? "albumList2.album" :
				"playlists.playlist", newest ? NULL : "name",
				newest ? NULL : strchr(c->query, ':') + 1,
				ids, newest ? 64 : 1, &n_ids, err, err_size);
		if (rc == 0 && !newest && n_ids == 0) {
			snprintf(err, err_size, "no playlist named %s",
				 strchr(c->query, ':') + 1);
			rc = -ENOENT;
		}
		for (size_t i = 0; rc == 0 && i < n_ids && *n < max; i++) {
			char *eid = curl_easy_escape(NULL, ids[i], 0);
			size_t got = 0;
			if (!eid) {
				rc = -ENOMEM;
				break;
			}
			snprintf(extra, sizeof(extra), "f=json&id=%s", eid);
			curl_free(eid);
			free(doc);
			doc = NULL;
			rc = subsonic_get(s, c, newest ? "getAlbum" :
					  "getPlaylist", extra, &doc, &len,
					  err, err_size);
			if (rc == 0)
				rc = feed_parse_subsonic(doc, len, newest ?
					"album.song" : "playlist.entry",
					items + *n, max - *n, &got, err,
					err_size);
			*n += got;
		}
		free(ids);
	}
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		rc = subsonic_song_key(c, items[i].id, items[i].url,
				       sizeof(items[i].url));
		if (rc == 0 && items[i].cover_url[0])
			rc = subsonic_cover_url(c, items[i].cover_url,
						sizeof(items[i].cover_url));
	}
out:
	curl_free(q);
	free(doc);
	return rc;
}

/* Jamendo: the tracks request of the API v3.0 with the client id, the
 * feed's limit (at most 200 a request, the API's own bound) and the
 * operator's extra parameters. */
static int jamendo_read(struct source_http *s, struct feed_state *f,
			struct feed_item *items, size_t max, size_t *n,
			char *err, size_t err_size)
{
	const struct config_feed *c = &f->cfg;
	char url[CONFIG_URL_MAX * 2 + 256];
	size_t base_len = strlen(c->url);
	char *doc = NULL, *id = curl_easy_escape(NULL, c->client_id, 0);
	size_t len = 0;
	int rc;

	*n = 0;
	if (!id)
		return -ENOMEM;
	while (base_len > 0 && c->url[base_len - 1] == '/')
		base_len--;
	rc = snprintf(url, sizeof(url), "%.*s/tracks/?client_id=%s&format=json"
		      "&limit=%zu&include=musicinfo&audioformat=mp32%s%s",
		      (int)base_len, c->url, id, max > 200 ? (size_t)200 : max,
		      c->query[0] ? "&" : "", c->query);
	curl_free(id);
	if (rc < 0 || (size_t)rc >= sizeof(url)) {
		snprintf(err, err_size, "URL too long");
		return -ENAMETOOLONG;
	}
	rc = fetch_memory(url, &s->doc_limits, &s->stop, &doc, &len, NULL, err,
			  err_size);
	explicit_bzero(url, sizeof(url));
	if (rc == 0)
		rc = feed_parse_jamendo(doc, len, items, max, n, err, err_size);
	free(doc);
	/* The audio links carry the client id: the cache keeps each track
	 * by a stable name, and the link is only where it is fetched. */
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		char *eid = curl_easy_escape(NULL, items[i].id, 0);
		if (!eid)
			return -ENOMEM;
		memcpy(items[i].fetch, items[i].url, sizeof(items[i].fetch));
		snprintf(items[i].url, sizeof(items[i].url),
			 "%.*s/tracks/?id=%s", (int)base_len, c->url, eid);
		curl_free(eid);
	}
	return rc;
}

/* Reads feed F's document and parses it into ITEMS; an RSS/Atom feed's
 * counts go into *STATS (may be NULL; zeroed for the APIs). */
static int feed_read(struct source_http *s, struct feed_state *f,
		     struct feed_item *items, size_t max, size_t *n,
		     struct feed_parse_stats *stats, char *err,
		     size_t err_size)
{
	char *doc = NULL;
	size_t len = 0;
	struct fetch_result res;
	struct feed_parse_stats st = { 0 };
	int rc;

	*n = 0;
	if (stats)
		*stats = st;
	switch (f->cfg.type) {
	case FEED_TYPE_RSS:
		break;
	case FEED_TYPE_SUBSONIC:
		return subsonic_read(s, f, items, max, n, err, err_size);
	case FEED_TYPE_JAMENDO:
		return jamendo_read(s, f, items, max, n, err, err_size);
	}
	rc = fetch_memory(f->cfg.url, &s->doc_limits, &s->stop, &doc, &len,
			  &res, err, err_size);
	if (rc < 0)
		return rc;
	rc = feed_parse_xml(doc, len, f->cfg.url, items, max, n, &st, err,
			    err_size);
	free(doc);
	if (stats)
		*stats = st;
	if (rc == 0 && st.skipped > 0)
		log_debug("feed %s: %zu item%s without an audio enclosure "
			  "skipped", f->cfg.name, st.skipped,
			  st.skipped == 1 ? "" : "s");
	return rc;
}

/* Gives the catalog what feed F says of its J-th track, when that track is
 * in the cache (catalog_source_meta_put: the station shows it in place of
 * missing or worse tags). Failures are the catalog's to log. */
static void meta_record(struct source_http *s, const struct feed_state *f,
			size_t j)
{
	char path[PATH_MAX], abs[PATH_MAX];
	const struct track_meta *m;

	if (!s->cat || !f->meta)
		return;
	m = &f->meta[j];
	if (!m->artist[0] && !m->title[0] && m->duration_s <= 0 &&
	    !m->album[0] && !m->genre[0] && !m->cover_url[0] && m->bpm <= 0)
		return;
	if (!dlcache_has(s->cache, f->urls[j], path, sizeof(path)))
		return;
	/* The path as the scan records it (an absolute library root). */
	if (source_dir_normalise(path, abs, sizeof(abs)) < 0)
		return;
	/* An API's metadata is its server's curated catalog; an RSS item's
	 * title names the post (an episode, a release), and the file's own
	 * tags name the track better when it has them. */
	struct catalog_source_meta cm = {
		.artist = m->artist, .title = m->title, .album = m->album,
		.genre = m->genre, .cover_url = m->cover_url,
		.duration_s = m->duration_s, .bpm = m->bpm,
		.over_tags = f->cfg.type != FEED_TYPE_RSS,
	};
	(void)catalog_source_meta_put(s->cat, abs, &cm);
}

static void meta_from_item(struct track_meta *m, const struct feed_item *it)
{
	memcpy(m->artist, it->artist, sizeof(m->artist));
	memcpy(m->title, it->title, sizeof(m->title));
	memcpy(m->album, it->album, sizeof(m->album));
	memcpy(m->genre, it->genre, sizeof(m->genre));
	memcpy(m->cover_url, it->cover_url, sizeof(m->cover_url));
	m->duration_s = it->duration_s;
	m->bpm = it->bpm;
}

/* Reads feed F now; logs a change of state. Returns true when its list of
 * URLs changed. */
static bool feed_refresh(struct source_http *s, struct feed_state *f)
{
	char err[FETCH_ERROR_MAX > FEED_ERROR_MAX ? FETCH_ERROR_MAX :
		 FEED_ERROR_MAX];
	char shown[FEED_URL_MAX];
	size_t max = (size_t)f->cfg.limit, n = 0;
	struct feed_item *items = calloc(max, sizeof(*items));
	char **urls = NULL, **fetch = NULL;
	struct track_meta *meta = NULL;
	bool changed = false;
	int rc;

	fetch_url_for_log(f->cfg.url, shown, sizeof(shown));
	if (!items) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
	} else {
		rc = feed_read(s, f, items, max, &n, NULL, err, sizeof(err));
	}
	if (rc == -ECANCELED)
		goto out;
	if (rc == 0 && n > 0 && (!(urls = calloc(n, sizeof(*urls))) ||
				 !(fetch = calloc(n, sizeof(*fetch))) ||
				 !(meta = calloc(n, sizeof(*meta))))) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!(urls[i] = strdup(items[i].url)) ||
		    (items[i].fetch[0] &&
		     !(fetch[i] = strdup(items[i].fetch)))) {
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
		} else {
			meta_from_item(&meta[i], &items[i]);
		}
	double now = monotonic_s();
	if (rc < 0) {
		for (size_t i = 0; i < n; i++) {
			if (urls)
				free(urls[i]);
			if (fetch)
				free(fetch[i]);
		}
		free(urls);
		free(fetch);
		free(meta);
		if (f->state != rc)
			log_warning("feed %s: cannot read %s: %s (retrying; "
				    "the tracks already downloaded keep "
				    "playing)", f->cfg.name, shown, err);
		f->state = rc;
		f->next_s = now + (s->refresh_test_s > 0 ? s->refresh_test_s :
				   f->backoff_s);
		f->backoff_s *= 2;
		if (f->backoff_s > f->cfg.refresh_minutes * 60.0)
			f->backoff_s = f->cfg.refresh_minutes * 60.0;
		goto out;
	}
	changed = n != f->n_urls;
	for (size_t i = 0; !changed && i < n; i++)
		changed = strcmp(urls[i], f->urls[i]) != 0;
	if (f->state != 0 || changed)
		log_info("feed %s: %s%zu track%s listed", f->cfg.name,
			 f->state < 0 ? "readable again: " : "", n,
			 n == 1 ? "" : "s");
	feed_forget_urls(f);
	f->urls = urls;
	f->fetch = fetch;
	f->meta = meta;
	f->n_urls = n;
	/* Tracks downloaded before (an earlier run, another feed) get what
	 * this read says of them. */
	for (size_t i = 0; i < n; i++)
		meta_record(s, f, i);
	f->known = true;
	f->state = 0;
	f->next_s = now + (s->refresh_test_s > 0 ? s->refresh_test_s :
			   f->cfg.refresh_minutes * 60.0);
	f->backoff_s = FEED_BACKOFF_MIN_S;
out:
	free(items);
	return changed;
}

static struct failure *failure_find(struct source_http *s, const char *url)
{
	for (size_t i = 0; i < s->n_fails; i++)
		if (strcmp(s->fails[i].url, url) == 0)
			return &s->fails[i];
	return NULL;
}

static void failure_forget(struct source_http *s, const char *url)
{
	struct failure *fl = failure_find(s, url);

	if (!fl)
		return;
	free(fl->url);
	*fl = s->fails[--s->n_fails];
}

/* Records a failed download; true when it is worth a log line (the first
 * failure of the URL, or a different error). */
static bool failure_note(struct source_http *s, const char *url, int rc)
{
	struct failure *fl = failure_find(s, url);
	double now = monotonic_s();

	if (!fl) {
		if (s->n_fails == s->cap_fails) {
			size_t cap = s->cap_fails ? s->cap_fails * 2 : 16;
			struct failure *bigger = realloc(s->fails,
							 cap * sizeof(*bigger));
			if (!bigger)
				return true;
			s->fails = bigger;
			s->cap_fails = cap;
		}
		fl = &s->fails[s->n_fails];
		if (!(fl->url = strdup(url)))
			return true;
		s->n_fails++;
		fl->backoff_s = DOWNLOAD_BACKOFF_MIN_S;
		fl->rc = 0;
	}
	bool news = fl->rc != rc;
	fl->rc = rc;
	fl->retry_s = now + fl->backoff_s;
	fl->backoff_s *= 2;
	if (fl->backoff_s > DOWNLOAD_BACKOFF_MAX_S)
		fl->backoff_s = DOWNLOAD_BACKOFF_MAX_S;
	return news;
}

/* Downloads track J of feed F unless it is cached or waits for a retry
 * (BY_ORDER: the play order asked for it; said in the log line). Returns
 * 1 when it was downloaded, 0 when it was skipped (cached, waiting, or
 * evicted and waiting for room), -ENOSPC when the cache is full, or
 * another negative errno when the download failed (logged). */
static int download_track(struct source_http *s, struct feed_state *f,
			  size_t j, bool by_order, double now,
			  double *next_retry_s)
{
	char err[FETCH_ERROR_MAX];
	char shown[FEED_URL_MAX];
	char fetch_url[FEED_URL_MAX];
	const char *url = f->urls[j];
	int rc = 0;

	if (atomic_load(&s->stop))
		return -ECANCELED;
	if (dlcache_has(s->cache, url, NULL, 0))
		return 0;
	struct failure *fl = failure_find(s, url);
	if (fl && fl->retry_s > now) {
		if (fl->retry_s < *next_retry_s)
			*next_retry_s = fl->retry_s;
		return 0;
	}
	double t0 = monotonic_s();
	if (f->cfg.type == FEED_TYPE_SUBSONIC)
		rc = subsonic_stream_url(&f->cfg, url, fetch_url,
					 sizeof(fetch_url));
	else
		snprintf(fetch_url, sizeof(fetch_url), "%s",
			 f->fetch && f->fetch[j] ? f->fetch[j] : url);
	if (rc == 0)
		rc = dlcache_download(s->cache, url, fetch_url,
				      &s->track_limits, &s->stop, NULL, 0,
				      err, sizeof(err));
	else
		snprintf(err, sizeof(err), "URL too long");
	explicit_bzero(fetch_url, sizeof(fetch_url));
	fetch_url_for_log(url, shown, sizeof(shown));
	if (rc == -ECANCELED || rc == -ENOSPC)
		return rc;      /* a full cache is not the track's fault */
	if (rc == -EAGAIN)
		return 0;       /* evicted; waits for room */
	pthread_mutex_lock(&s->lock);
	if (rc == 0)
		s->stats.downloaded++;
	else
		s->stats.failed++;
	pthread_mutex_unlock(&s->lock);
	if (rc == 0) {
		failure_forget(s, url);
		meta_record(s, f, j);
		log_info("feed %s: downloaded %s in %.1f s%s", f->cfg.name,
			 shown, monotonic_s() - t0,
			 by_order ? " (ahead of the play order)" : "");
		return 1;
	}
	if (failure_note(s, url, rc))
		log_warning("feed %s: cannot download %s: %s (skipped; tried "
			    "again later)", f->cfg.name, shown, err);
	return rc;
}

/* Downloads the next track that needs it. Returns 1 when one was
 * downloaded, 0 when none is due, -ENOSPC when the cache is full, or
 * another negative errno when a download failed (logged).
 * The next one: first the tracks the play order needs soonest (the
 * planner's order, when there is one), then the feeds taken in turn,
 * each in its own order (the order its API ranks or its publisher
 * lists), so the first tracks of every feed come before the tenth of
 * any, and a station with a large feed and a small one plays both from
 * the start. */
static int download_next(struct source_http *s, double *next_retry_s)
{
	double now = monotonic_s();
	size_t rounds = 0, n_keys = 0;
	int rc;

	if (s->planner.order && s->keys &&
	    s->planner.order(s->planner.ctx, s->keys,
			     SOURCE_HTTP_PENDING_MAX, &n_keys) < 0)
		n_keys = 0;
	for (size_t k = 0; k < n_keys; k++) {
		size_t i = (size_t)(s->keys[k] >> 32);
		size_t j = (size_t)(s->keys[k] & 0xffffffffu);
		/* A key from before the feed's last read may name another
		 * track now: it is still one the feed lists. */
		if (i >= s->n_feeds || j >= s->feeds[i].n_urls)
			continue;
		rc = download_track(s, &s->feeds[i], j, true, now,
				    next_retry_s);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; i < s->n_feeds; i++)
		if (s->feeds[i].n_urls > rounds)
			rounds = s->feeds[i].n_urls;
	for (size_t j = 0; j < rounds; j++) {
		for (size_t i = 0; i < s->n_feeds; i++) {
			if (j >= s->feeds[i].n_urls)
				continue;
			rc = download_track(s, &s->feeds[i], j, false, now,
					    next_retry_s);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* Tells the planner which listed tracks are not downloaded yet, the
 * feeds in turn (as download_next takes them without a planner). */
static void pending_publish(struct source_http *s)
{
	struct source_http_pending *p;
	size_t n = 0, rounds = 0;

	if (!s->planner.pending)
		return;
	p = calloc(SOURCE_HTTP_PENDING_MAX, sizeof(*p));
	if (!p)
		return;         /* the planner keeps its last list */
	for (size_t i = 0; i < s->n_feeds; i++)
		if (s->feeds[i].n_urls > rounds)
			rounds = s->feeds[i].n_urls;
	for (size_t j = 0; j < rounds && n < SOURCE_HTTP_PENDING_MAX; j++) {
		for (size_t i = 0; i < s->n_feeds &&
				   n < SOURCE_HTTP_PENDING_MAX; i++) {
			const struct feed_state *f = &s->feeds[i];
			if (j >= f->n_urls ||
			    dlcache_has(s->cache, f->urls[j], NULL, 0))
				continue;
			const struct track_meta *m = &f->meta[j];
			p[n].key = (uint64_t)i << 32 | (uint64_t)j;
			p[n].artist = m->artist;
			p[n].title = m->title;
			p[n].genre = m->genre;
			p[n].bpm = m->bpm;
			p[n].duration_s = m->duration_s;
			n++;
		}
	}
	s->planner.pending(s->planner.ctx, p, n);
	free(p);
}

/* Which cached tracks the feeds still list; only once every feed was
 * read. Returns the number of files removed. */
static int update_listed(struct source_http *s)
{
	size_t total = 0, k = 0;
	char **all;
	int rc;

	for (size_t i = 0; i < s->n_feeds; i++) {
		if (!s->feeds[i].known)
			return 0;
		total += s->feeds[i].n_urls;
	}
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_feeds; i++)
		for (size_t j = 0; j < s->feeds[i].n_urls; j++)
			all[k++] = s->feeds[i].urls[j];
	rc = dlcache_set_listed(s->cache, all, total);
	free(all);
	return rc;
}

static void stats_update(struct source_http *s)
{
	struct dlcache_stats cs;
	size_t ok = 0, listed = 0;

	dlcache_get_stats(s->cache, &cs);
	for (size_t i = 0; i < s->n_feeds; i++) {
		ok += s->feeds[i].state == 0;
		listed += s->feeds[i].n_urls;
	}
	pthread_mutex_lock(&s->lock);
	s->stats.feeds_ok = ok;
	s->stats.listed = listed;
	s->stats.cached = cs.tracks;
	pthread_mutex_unlock(&s->lock);
}

int source_http_sync(struct source_http *s)
{
	int changes = 0;
	int rc;

	for (size_t i = 0; i < s->n_feeds; i++)
		feed_refresh(s, &s->feeds[i]);
	if ((rc = update_listed(s)) < 0)
		return rc;
	changes += rc;
	for (;;) {
		double never = 1e300;
		rc = download_next(s, &never);
		if (rc == 1) {
			changes++;
			continue;
		}
		if (rc == 0 || rc == -ENOSPC || rc == -ECANCELED)
			break;
		/* A failed track is skipped until its retry time. */
	}
	if (rc == -ENOSPC)
		log_warning("feeds: the cache is full of tracks not played "
			    "yet; the rest wait");
	stats_update(s);
	return changes;
}

static void notify(struct source_http *s)
{
	if (s->changed)
		s->changed(s->changed_ctx);
}

/* Sleeps until UNTIL_S (monotonic) or a stop. */
static void sleep_until(struct source_http *s, double until_s)
{
	struct timespec ts;
	double secs = until_s;

	if (secs > 1e12)
		secs = monotonic_s() + 3600;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->stop)) {
		if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *source_http_main(void *arg)
{
	struct source_http *s = arg;
	bool full_logged = false;
	bool pending_dirty = true;

	while (!atomic_load(&s->stop)) {
		double now = monotonic_s();
		double wake = 1e300;

		for (size_t i = 0; i < s->n_feeds; i++) {
			struct feed_state *f = &s->feeds[i];
			if (f->next_s <= now && !atomic_load(&s->stop)) {
				feed_refresh(s, f);
				pending_dirty = true;
			}
			if (f->next_s < wake)
				wake = f->next_s;
		}
		int removed = update_listed(s);
		if (removed > 0)
			notify(s);
		if (pending_dirty || removed > 0)
			pending_publish(s);
		pending_dirty = false;
		int rc = download_next(s, &wake);
		stats_update(s);
		if (rc == 1) {
			full_logged = false;
			pending_dirty = true;
			notify(s);
			continue;       /* the next one at once */
		}
		if (rc == -ENOSPC) {
			if (!full_logged)
				log_warning("feeds: the cache is full of "
					    "tracks not played yet; downloads "
					    "wait until some have played");
			full_logged = true;
			double retry = monotonic_s() + 60;
			if (retry < wake)
				wake = retry;
		} else if (rc < 0 && rc != -ECANCELED) {
			continue;       /* the next track at once */
		}
		sleep_until(s, wake);
	}
	return NULL;
}

void source_http_set_planner(struct source_http *s,
			     const struct source_http_planner *p)
{
	s->planner = *p;
	if (!s->keys)
		s->keys = calloc(SOURCE_HTTP_PENDING_MAX, sizeof(*s->keys));
}

int source_http_start(struct source_http *s, void (*changed)(void *ctx),
		      void *ctx)
{
	int rc;

	s->changed = changed;
	s->changed_ctx = ctx;
	rc = pthread_create(&s->thread, NULL, source_http_main, s);
	if (rc != 0)
		return -rc;
	s->started = true;
	return 0;
}

void source_http_get_stats(struct source_http *s,
			   struct source_http_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}

static const char *feed_type_name(enum feed_type type)
{
	switch (type) {
	case FEED_TYPE_RSS:
		return "rss";
	case FEED_TYPE_SUBSONIC:
		return "subsonic";
	case FEED_TYPE_JAMENDO:
		return "jamendo";
	}
	return "?";
}

int source_http_check(const struct config *cfg, FILE *out)
{
	struct source_http *s = source_http_new(cfg, NULL, false);
	char err[FETCH_ERROR_MAX > FEED_ERROR_MAX ? FETCH_ERROR_MAX :
		 FEED_ERROR_MAX];
	char shown[FEED_URL_MAX];
	int failed = 0;

	if (!s)
		return -errno;
	if (s->n_feeds == 0)
		fprintf(out, "feeds: none to check\n");
	for (size_t i = 0; i < s->n_feeds; i++) {
		struct feed_state *f = &s->feeds[i];
		size_t max = (size_t)f->cfg.limit, n = 0;
		struct feed_item *items = calloc(max, sizeof(*items));
		struct feed_parse_stats st = { 0 };
		double t0 = monotonic_s();
		int rc;

		fetch_url_for_log(f->cfg.url, shown, sizeof(shown));
		if (!items) {
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
		} else {
			rc = feed_read(s, f, items, max, &n, &st, err,
				       sizeof(err));
		}
		free(items);
		fprintf(out, "feed %s (%s, %s): ", f->cfg.name,
			feed_type_name(f->cfg.type), shown);
		if (rc < 0) {
			failed++;
			fprintf(out, "FAILED: %s\n", err);
			continue;
		}
		if (f->cfg.type == FEED_TYPE_RSS)
			fprintf(out, "%zu item%s, %zu with an audio enclosure%s",
				st.items, st.items == 1 ? "" : "s", n,
				st.truncated ? " (more beyond limit)" : "");
		else
			fprintf(out, "%zu track%s", n, n == 1 ? "" : "s");
		fprintf(out, " in %.1f s\n", monotonic_s() - t0);
	}
	source_http_destroy(s);
	return failed;
}
