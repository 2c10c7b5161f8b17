/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dlcache — the feeds' download cache. See dlcache.h for the layout, the
 * size rule and the thread rules.
 *
 * DESIGN
 * The index is small (one line per URL, a few hundred to a few thousand)
 * and held in memory as an array; every change rewrites it whole
 * (index.tmp, fsync, rename). Lines are TAB-separated:
 *   FILE  SIZE  ADDED  FLAGS  URL
 * FILE is the name under tracks/; FLAGS 1 for gone (the feeds no longer
 * list the URL), 2 for evicted (its file was removed for room; the line
 * stays so that the URL is not fetched again only to be evicted at once),
 * 3 for both. The URL goes last because
 * it is the only field that could be long (it never holds a TAB or a
 * newline: such a URL is refused). Several URLs may name one FILE (one
 * track in two feeds); a FILE is removed from disk when no line that is
 * not evicted names it any more.
 *
 * An evicted URL is fetched again only when that costs nobody's place: when
 * the cache has room for it as it is, or when the track that would go for
 * it played longer ago than it did. Without that rule a feed larger than
 * the cache would have two played tracks evict each other in turn, one
 * download after the other.
 */
#include "autoconfig.h"

#include "dlcache.h"

#include "analyzer.h"
#include "catalog.h"
#include "decode.h"
#include "feed.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DLCACHE_INDEX_LINE_MAX (FEED_URL_MAX + 256)
#define DLCACHE_FILE_MAX 96

struct entry {
	char file[DLCACHE_FILE_MAX];   /* under tracks/ */
	int64_t size;
	int64_t added;                 /* Unix time (s) */
	bool gone;
	bool evicted;
	char *url;
};

struct dlcache {
	char dir[PATH_MAX];
	char tracks[PATH_MAX];
	char partial[PATH_MAX];
	int64_t max_bytes;
	dlcache_last_played_fn *last_played;
	void *ctx;

	struct entry *e;
	size_t n, cap;
	size_t evicted, removed_gone;
};

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static struct entry *find_url(const struct dlcache *c, const char *url)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].url, url) == 0)
			return &c->e[i];
	return NULL;
}

/* True when an entry that is not evicted names FILE (it is on disk). */
static bool file_named(const struct dlcache *c, const char *file)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->e[i].evicted && strcmp(c->e[i].file, file) == 0)
			return true;
	return false;
}

static int entry_add(struct dlcache *c, const char *file, int64_t size,
		     int64_t added, bool gone, bool evicted, const char *url)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct entry *bigger = realloc(c->e, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		c->e = bigger;
		c->cap = cap;
	}
	struct entry *e = &c->e[c->n];
	memset(e, 0, sizeof(*e));
	if (!(e->url = strdup(url)))
		return -ENOMEM;
	snprintf(e->file, sizeof(e->file), "%s", file);
	e->size = size;
	e->added = added;
	e->gone = gone;
	e->evicted = evicted;
	c->n++;
	return 0;
}

/* Drops entry I; removes its file when no other entry names it. Returns
 * true when a file was removed. */
static bool entry_remove(struct dlcache *c, size_t i)
{
	char path[PATH_MAX + DLCACHE_FILE_MAX];
	char file[DLCACHE_FILE_MAX];
	bool removed = false;

	bool on_disk = !c->e[i].evicted;

	memcpy(file, c->e[i].file, sizeof(file));
	free(c->e[i].url);
	c->e[i] = c->e[--c->n];
	if (on_disk && !file_named(c, file)) {
		snprintf(path, sizeof(path), "%s/%s", c->tracks, file);
		if (unlink(path) != 0 && errno != ENOENT)
			log_warning("cache: cannot remove %s: %s", path,
				    strerror(errno));
		removed = true;
	}
	return removed;
}

static int index_write(struct dlcache *c)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 16];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/index", c->dir);
	snprintf(tmp, sizeof(tmp), "%s/index.tmp", c->dir);
	f = fopen(tmp, "we");
	if (!f) {
		rc = -errno;
		log_error("cache: cannot write %s: %s", tmp, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		fprintf(f, "%s\t%" PRId64 "\t%" PRId64 "\t%d\t%s\n", e->file,
			e->size, e->added,
			(e->gone ? 1 : 0) | (e->evicted ? 2 : 0), e->url);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0) {
		log_error("cache: cannot write %s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

static int index_read(struct dlcache *c)
{
	char path[PATH_MAX + 16];
	char line[DLCACHE_INDEX_LINE_MAX];
	struct stat st;
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/index", c->dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *fields[5];
		char *p = line;
		size_t nf = 0;

		line[strcspn(line, "\n")] = '\0';
		while (nf < 5) {
			fields[nf++] = p;
			p = nf < 5 ? strchr(p, '\t') : NULL;
			if (!p)
				break;
			*p++ = '\0';
		}
		if (nf != 5 || strchr(fields[0], '/') || !fields[0][0] ||
		    fields[0][0] == '.' || !fields[4][0] ||
		    strlen(fields[0]) >= DLCACHE_FILE_MAX)
			continue; /* a line we did not write: ignore it */
		char fpath[PATH_MAX + DLCACHE_FILE_MAX];
		long flags = strtol(fields[3], NULL, 10);
		int64_t size = strtoll(fields[1], NULL, 10);
		snprintf(fpath, sizeof(fpath), "%s/%.*s", c->tracks,
			 DLCACHE_FILE_MAX - 1, fields[0]);
		if (!(flags & 2)) {
			if (stat(fpath, &st) != 0 || !S_ISREG(st.st_mode))
				continue; /* removed by hand */
			size = st.st_size;
		}
		if (find_url(c, fields[4]))
			continue;
		rc = entry_add(c, fields[0], size,
			       strtoll(fields[2], NULL, 10), (flags & 1) != 0,
			       (flags & 2) != 0, fields[4]);
		if (rc < 0)
			break;
	}
	fclose(f);
	return rc;
}

/* Files in tracks/ that no index line names: a crash between the rename
 * and the index write. They are removed (the URL is fetched again). */
static void remove_orphans(struct dlcache *c)
{
	DIR *d = opendir(c->tracks);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 256];
		if (de->d_name[0] == '.' || file_named(c, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->tracks, de->d_name);
		if (unlink(path) == 0)
			log_info("cache: removed %s (not in the index)", path);
	}
	closedir(d);
}

struct dlcache *dlcache_open(const char *dir, int64_t max_bytes,
			     dlcache_last_played_fn *last_played, void *ctx)
{
	struct dlcache *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->max_bytes = max_bytes;
	c->last_played = last_played;
	c->ctx = ctx;
	if (snprintf(c->dir, sizeof(c->dir), "%s", dir) >= (int)sizeof(c->dir) ||
	    snprintf(c->tracks, sizeof(c->tracks), "%s/" DLCACHE_TRACKS_SUBDIR,
		     dir) >=
	    (int)sizeof(c->tracks) ||
	    snprintf(c->partial, sizeof(c->partial), "%s/partial", dir) >=
	    (int)sizeof(c->partial)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if ((rc = mkdir_p(c->tracks)) < 0 || (rc = mkdir_p(c->partial)) < 0)
		goto fail;
	if ((rc = index_read(c)) < 0)
		goto fail;
	remove_orphans(c);
	return c;
fail:
	log_error("cache: %s: %s", dir, strerror(-rc));
	dlcache_close(c);
	errno = -rc;
	return NULL;
}

void dlcache_close(struct dlcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].url);
	free(c->e);
	free(c);
}

const char *dlcache_tracks_dir(const struct dlcache *c)
{
	return c->tracks;
}

bool dlcache_has(const struct dlcache *c, const char *url, char *path,
		 size_t size)
{
	const struct entry *e = find_url(c, url);

	if (!e || e->evicted)
		return false;
	if (path)
		snprintf(path, size, "%s/%s", c->tracks, e->file);
	return true;
}

/* Bytes in tracks/, each file once. */
static int64_t total_bytes(const struct dlcache *c)
{
	int64_t total = 0;

	for (size_t i = 0; i < c->n; i++) {
		bool first = !c->e[i].evicted;
		for (size_t j = 0; j < i && first; j++)
			if (!c->e[j].evicted &&
			    strcmp(c->e[j].file, c->e[i].file) == 0)
				first = false;
		if (first)
			total += c->e[i].size;
	}
	return total;
}

/* When FILE last played, 0 never. */
static time_t played_at(const struct dlcache *c, const char *file)
{
	char path[PATH_MAX + DLCACHE_FILE_MAX];
	time_t when = 0;

	if (!c->last_played)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", c->tracks, file);
	if (c->last_played(c->ctx, path, &when) < 0)
		return 0;
	return when;
}

/* The entry to evict first: played longest ago, then never played and
 * downloaded longest ago; never KEEP. -1 when there is none. With
 * PLAYED_ONLY, only tracks that have played. */
static ssize_t eviction_victim(const struct dlcache *c, const char *keep,
			       bool played_only)
{
	ssize_t best = -1;
	time_t best_played = 0;
	int64_t best_added = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		if (e->evicted || (keep && strcmp(e->file, keep) == 0))
			continue;
		time_t p = played_at(c, e->file);
		if (played_only && p == 0)
			continue;
		bool better;
		if (best < 0)
			better = true;
		else if ((p != 0) != (best_played != 0))
			better = p != 0;   /* played before never played */
		else if (p != 0)
			better = p < best_played;
		else
			better = e->added < best_added;
		if (better) {
			best = (ssize_t)i;
			best_played = p;
			best_added = e->added;
		}
	}
	return best;
}

/* Evicts FILE: its entries stay, marked, and the file goes. */
static void evict_file(struct dlcache *c, const char *file)
{
	char path[PATH_MAX + DLCACHE_FILE_MAX];
	char name[DLCACHE_FILE_MAX];

	snprintf(name, sizeof(name), "%s", file);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].file, name) == 0)
			c->e[i].evicted = true;
	snprintf(path, sizeof(path), "%s/%s", c->tracks, name);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warning("cache: cannot remove %s: %s", path,
			    strerror(errno));
}

/* Evicts until the cache is within its bound; never KEEP. */
static size_t trim(struct dlcache *c, const char *keep)
{
	size_t removed = 0;

	while (total_bytes(c) > c->max_bytes) {
		ssize_t v = eviction_victim(c, keep, false);
		if (v < 0)
			break;
		log_info("cache: removing %s for room (%.1f of %.1f MB used)",
			 c->e[v].file, (double)total_bytes(c) / 1e6,
			 (double)c->max_bytes / 1e6);
		evict_file(c, c->e[v].file);
		removed++;
	}
	c->evicted += removed;
	return removed;
}

/* The URL's key: a hash, so that any URL gives a safe, short file name. */
static void url_key(const char *url, char *out, size_t size)
{
	struct analyzer_hash h;

	analyzer_hash_init(&h);
	analyzer_hash_update(&h, url, strlen(url));
	snprintf(out, size, "%016" PRIx64, analyzer_hash_final(&h));
}

/* The extension of the track file: the URL's when it is an audio one. */
static void track_ext(const char *url, char *out, size_t size)
{
	size_t end = strcspn(url, "?#");
	size_t dot = end;

	snprintf(out, size, "audio");
	if (!feed_url_looks_like_audio(url))
		return;
	while (dot > 0 && url[dot - 1] != '.')
		dot--;
	size_t len = end - dot;
	if (len + 1 > size)
		return;
	for (size_t i = 0; i < len; i++) {
		char ch = url[dot + i];
		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	out[len] = '\0';
}

static bool resumable(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECANCELED || rc == -ECONNREFUSED ||
	       rc == -EHOSTUNREACH || rc == -EIO;
}

int dlcache_download(struct dlcache *c, const char *url,
		     const char *fetch_url, const struct fetch_limits *l, atomic_bool *stop,
		     char *path, size_t size, char *err, size_t err_size)
{
	char key[32], ext[16], part[PATH_MAX + 64];
	char hash[CATALOG_HASH_MAX], file[DLCACHE_FILE_MAX];
	char final[PATH_MAX + DLCACHE_FILE_MAX];
	char why[DECODE_ERROR_MAX];
	struct decode_info *info = NULL;
	struct stat st;
	int rc;

	if (dlcache_has(c, url, path, size))
		return 0;
	if (strpbrk(url, "\t\r\n") || strlen(url) >= FEED_URL_MAX) {
		snprintf(err, err_size, "unusable URL");
		return -EINVAL;
	}
	struct entry *old = find_url(c, url);
	if (old && total_bytes(c) + old->size > c->max_bytes) {
		/* Evicted before: only in place of a track that played
		 * longer ago (see DESIGN). */
		ssize_t v = eviction_victim(c, NULL, true);
		time_t mine = played_at(c, old->file);
		if (v < 0 || mine == 0 || played_at(c, c->e[v].file) >= mine) {
			snprintf(err, err_size, "evicted for room; waits for "
				 "room");
			return -EAGAIN;
		}
	}
	/* Room first: a cache full of tracks not played yet waits. */
	trim(c, NULL);
	if (total_bytes(c) >= c->max_bytes &&
	    eviction_victim(c, NULL, true) < 0) {
		snprintf(err, err_size, "the cache is full (%.0f MB) of tracks "
			 "not played yet", (double)c->max_bytes / 1e6);
		return -ENOSPC;
	}
	url_key(url, key, sizeof(key));
	snprintf(part, sizeof(part), "%s/%s.part", c->partial, key);
	rc = fetch_file(fetch_url ? fetch_url : url, part, l, stop, NULL, err,
			err_size);
	if (rc < 0) {
		if (!resumable(rc))
			unlink(part);
		return rc;
	}
	info = malloc(sizeof(*info));
	if (!info) {
		rc = -ENOMEM;
		snprintf(err, err_size, "out of memory");
		goto out;
	}
	rc = decode_probe(part, info, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, err_size, "not audio: %s", why);
		rc = -EMEDIUMTYPE;
		unlink(part);
		goto out;
	}
	if ((rc = analyzer_content_hash(part, hash)) < 0 ||
	    stat(part, &st) != 0) {
		rc = rc < 0 ? rc : -errno;
		snprintf(err, err_size, "cannot read the download: %s",
			 strerror(-rc));
		unlink(part);
		goto out;
	}
	track_ext(url, ext, sizeof(ext));
	snprintf(file, sizeof(file), "%s.%s", hash, ext);
	snprintf(final, sizeof(final), "%s/%s", c->tracks, file);
	if (file_named(c, file)) {
		/* The same content under another URL: one track. */
		unlink(part);
	} else if (rename(part, final) != 0) {
		rc = -errno;
		snprintf(err, err_size, "cannot store the track: %s",
			 strerror(errno));
		unlink(part);
		goto out;
	}
	if ((old = find_url(c, url))) {
		snprintf(old->file, sizeof(old->file), "%s", file);
		old->size = st.st_size;
		old->added = (int64_t)time(NULL);
		old->evicted = false;
	} else if ((rc = entry_add(c, file, st.st_size, (int64_t)time(NULL),
				   false, false, url)) < 0) {
		snprintf(err, err_size, "out of memory");
		goto out;
	}
	/* The same content under an evicted URL is back too. */
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].file, file) == 0)
			c->e[i].evicted = false;
	trim(c, file);
	if ((rc = index_write(c)) < 0) {
		snprintf(err, err_size, "cannot write the index: %s",
			 strerror(-rc));
		goto out;
	}
	if (path)
		snprintf(path, size, "%s", final);
	err[0] = '\0';
	rc = 0;
out:
	free(info);
	return rc;
}

int dlcache_set_listed(struct dlcache *c, char *const *urls, size_t n)
{
	int removed = 0;
	bool changed = false;

	for (size_t i = 0; i < c->n; i++) {
		bool listed = false;
		for (size_t j = 0; j < n && !listed; j++)
			listed = strcmp(c->e[i].url, urls[j]) == 0;
		if (c->e[i].gone == !listed)
			continue;
		c->e[i].gone = !listed;
		changed = true;
	}
	for (size_t i = c->n; i-- > 0;) {
		if (c->e[i].gone && c->e[i].evicted) {
			entry_remove(c, i);     /* no file: just forget it */
			changed = true;
			continue;
		}
		if (!c->e[i].gone || played_at(c, c->e[i].file) == 0)
			continue;
		log_info("cache: %s left its feed and has played: removing it",
			 c->e[i].file);
		if (entry_remove(c, i))
			removed++;
		changed = true;
	}
	c->removed_gone += (size_t)removed;
	if (changed) {
		int rc = index_write(c);
		if (rc < 0)
			return rc;
	}
	return removed;
}

void dlcache_get_stats(const struct dlcache *c, struct dlcache_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->urls = c->n;
	st->bytes = total_bytes(c);
	for (size_t i = 0; i < c->n; i++) {
		bool first = !c->e[i].evicted;
		for (size_t j = 0; j < i && first; j++)
			if (!c->e[j].evicted &&
			    strcmp(c->e[j].file, c->e[i].file) == 0)
				first = false;
		st->tracks += first;
	}
	st->evicted = c->evicted;
	st->removed_gone = c->removed_gone;
}
