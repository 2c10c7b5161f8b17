/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * source_dir — finding tracks in directories. See source_dir.h.
 *
 * DESIGN
 * The walk is depth-first with openat()/fstatat() relative to the open
 * directory, entries sorted by name (bytewise) so two scans of the same tree
 * meet files in the same order. Decisions a radio operator can rely on:
 *
 * - Hidden entries (names starting with '.') are ignored, files and
 *   directories alike: they are .Trash, .git, thumbnail caches and the
 *   "._song.mp3" AppleDouble files macOS leaves on USB disks, which carry an
 *   audio extension but no audio. A root may itself be hidden.
 * - Symbolic links are followed, but only after every real (non-link) entry
 *   of every root has been walked: links are queued and walked last. So a
 *   file reachable both through a symlinked directory and through its real
 *   path is recorded once, under its real path, and adding a link to a
 *   directory that is already in the library changes nothing. A link that
 *   leads outside the roots is walked and its files are recorded under the
 *   link's path.
 * - Every directory is entered once per scan, keyed by (st_dev, st_ino), so
 *   link loops end; every audio file is handed to the catalog once per scan,
 *   keyed the same way, so a file linked (symbolically or hard) under two
 *   names is one track, not two. The visited set holds at most
 *   SOURCE_DIR_VISITED_MAX keys; when it is full (logged once) symlinked
 *   directories are no longer followed (loops need links) and files are no
 *   longer de-duplicated.
 * - Only regular files are opened, with O_NONBLOCK and re-checked with
 *   fstat(), so a FIFO named song.mp3, or a file swapped for one between
 *   stat and open, can never block the scan. The decoder then opens the
 *   checked file itself through /proc/self/fd/N, the same inode, when /proc
 *   is there.
 * - A directory deeper than SOURCE_DIR_DEPTH_MAX below its root, a dangling
 *   or looping link, an unreadable file or directory: one warning, counted
 *   in errors, skipped. An unreadable file is not recorded as bad: it is
 *   tried again at the next scan, once its permissions are fixed.
 * - The catalog sees size and mtime in nanoseconds since the epoch, so a
 *   file rewritten within the same second is still noticed.
 * - Tracks under a root that was not seen (deleted, or now unreadable) are
 *   marked missing by catalog_scan_end() with the normalised roots, which
 *   are absolute and without a trailing slash, as are all recorded paths.
 *
 * The catalog batches the scan's writes into large transactions itself, so a
 * first scan does not pay one commit per file. A rescan of an unchanged file
 * costs one stat, one SELECT and its share of a batched "seen" UPDATE: no
 * open, no read, no decode (about 15 us a file here).
 */
#include "autoconfig.h"

#include "source_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "log.h"

#define SOURCE_DIR_VISITED_MAX 1000000
#define SOURCE_DIR_ENTRIES_MAX 1000000  /* names read from one directory */
#define SOURCE_DIR_LINKS_MAX 100000     /* symbolic links queued per scan */
#define SOURCE_DIR_MAGIC_BYTES 64  /* decode_looks_like_audio wants 16 */

struct source_dir_key {
	dev_t dev;
	ino_t ino;  /* 0 marks an empty slot: no file system uses inode 0 */
};

/* Open-addressing hash set of (dev, ino), grown by doubling. */
struct source_dir_set {
	struct source_dir_key *slots;
	size_t cap;
	size_t count;
	bool full;
};

struct source_dir_link {
	char *path;
	int depth;  /* the depth a directory behind the link would have */
};

struct source_dir_walk {
	struct catalog *cat;
	struct source_dir_stats *stats;
	struct source_dir_set visited;
	struct source_dir_link *links;
	size_t n_links;
	size_t cap_links;
	bool links_full;
	int rc;                 /* first catalog failure; ends the walk */
	char path[PATH_MAX];    /* the entry at hand */
};

static uint64_t source_dir_hash(const struct source_dir_key *k)
{
	uint64_t h = (uint64_t)k->ino * 0x9E3779B97F4A7C15ULL ^
		     (uint64_t)k->dev * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ULL;
	return h ^ (h >> 29);
}

static bool source_dir_set_has(const struct source_dir_set *set,
			       const struct stat *st)
{
	if (set->cap == 0 || st->st_ino == 0)
		return false;
	struct source_dir_key k = { st->st_dev, st->st_ino };
	for (size_t i = source_dir_hash(&k) & (set->cap - 1); ;
	     i = (i + 1) & (set->cap - 1)) {
		const struct source_dir_key *s = &set->slots[i];
		if (s->ino == 0)
			return false;
		if (s->ino == k.ino && s->dev == k.dev)
			return true;
	}
}

static void source_dir_set_place(struct source_dir_key *slots, size_t cap,
				 const struct source_dir_key *k)
{
	size_t i = source_dir_hash(k) & (cap - 1);
	while (slots[i].ino != 0)
		i = (i + 1) & (cap - 1);
	slots[i] = *k;
}

/* Adds ST's (dev, ino). Returns 1 when added, 0 when already there,
 * -ENOSPC when the set is full, -ENOMEM. */
static int source_dir_set_add(struct source_dir_set *set,
			      const struct stat *st)
{
	if (st->st_ino == 0)
		return 1;
	if (source_dir_set_has(set, st))
		return 0;
	if (set->count >= SOURCE_DIR_VISITED_MAX) {
		if (!set->full)
			log_warning("scan: more than %d directories and files; "
				    "no longer following linked directories "
				    "or merging linked files",
				    SOURCE_DIR_VISITED_MAX);
		set->full = true;
		return -ENOSPC;
	}
	if ((set->count + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1024;
		struct source_dir_key *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < set->cap; i++)
			if (set->slots[i].ino != 0)
				source_dir_set_place(slots, cap,
						     &set->slots[i]);
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	struct source_dir_key k = { st->st_dev, st->st_ino };
	source_dir_set_place(set->slots, set->cap, &k);
	set->count++;
	return 1;
}

/* Names that say "audio": such a file is always probed, so one that is not
 * playable is recorded as bad (the operator meant it to play). The name
 * never decides how a file is decoded, and a file with any other name is
 * still found by its content (source_dir_file). */
static bool source_dir_audio_name(const char *name)
{
	static const char *const exts[] = {
		"mp3", "ogg", "oga", "opus", "flac", "wav",
		"m4a", "m4b", "mp4", "aac", "wma", "aif", "aiff", "aifc",
		"ape", "wv", "mka", "tta", "mpc", "caf",
	};
	const char *dot = strrchr(name, '.');
	if (!dot)
		return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(dot + 1, exts[i]) == 0)
			return true;
	return false;
}

static int64_t source_dir_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A catalog failure ends the walk; everything else is the file's problem. */
static bool source_dir_failed(struct source_dir_walk *w, int rc)
{
	if (rc >= 0)
		return false;
	if (w->rc == 0)
		w->rc = rc;
	return true;
}

/* decode_probe() opens by name; hand it the inode we checked. */
static void source_dir_probe_path(const char *path, int fd,
				  const struct stat *st, char *out,
				  size_t size)
{
	struct stat pst;
	snprintf(out, size, "/proc/self/fd/%d", fd);
	if (stat(out, &pst) == 0 && pst.st_dev == st->st_dev &&
	    pst.st_ino == st->st_ino)
		return;
	snprintf(out, size, "%s", path);
}

/* Probes the regular file open as FD (w->path) and records the outcome. */
static void source_dir_probe(struct source_dir_walk *w, int fd,
			     const struct stat *st)
{
	char probe_path[PATH_MAX];
	char err[DECODE_ERROR_MAX] = "";
	struct decode_info info;
	int64_t mtime_ns = source_dir_mtime_ns(st);

	source_dir_probe_path(w->path, fd, st, probe_path, sizeof(probe_path));
	memset(&info, 0, sizeof(info));
	int rc = decode_probe(probe_path, &info, err, sizeof(err));
	if (rc == 0) {
		log_debug("scan: %s: added", w->path);
		if (!source_dir_failed(w, catalog_track_put(w->cat, w->path,
				st->st_size, mtime_ns, &info, NULL)))
			w->stats->added++;
		return;
	}
	if (rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE || rc == -EINTR) {
		/* Our trouble, not the file's: try again next scan. */
		log_warning("scan: %s: %s", w->path, strerror(-rc));
		w->stats->errors++;
		return;
	}
	if (!*err)
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	log_warning("scan: %s: not playable: %s", w->path, err);
	if (!source_dir_failed(w, catalog_file_bad(w->cat, w->path,
			st->st_size, mtime_ns, err)))
		w->stats->bad++;
}

/* Counts the candidate at w->path (once per inode per scan) and asks the
 * catalog whether it changed. Returns true when it must be probed. */
static bool source_dir_candidate(struct source_dir_walk *w,
				 const struct stat *st)
{
	enum catalog_file_state state = CATALOG_FILE_NEW;
	int added = source_dir_set_add(&w->visited, st);
	if (added == 0) {
		log_debug("scan: %s: same file as one met before, skipped",
			  w->path);
		return false;
	}
	w->stats->files_seen++;
	if (source_dir_failed(w, catalog_file_state(w->cat, w->path,
			st->st_size, source_dir_mtime_ns(st), &state)))
		return false;
	if (state == CATALOG_FILE_NEW)
		return true;
	w->stats->unchanged++;
	return false;
}

/* Opens NAME (relative to DFD) without blocking and checks that it is still
 * a regular file. Returns the fd or -1 (logged). */
static int source_dir_open_file(struct source_dir_walk *w, int dfd,
				const char *name, struct stat *st,
				bool candidate)
{
	int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
			O_NOCTTY);
	if (fd < 0) {
		if (candidate || errno != EACCES) {
			log_warning("scan: %s: cannot open: %s", w->path,
				    strerror(errno));
			w->stats->errors++;
		} else {
			log_debug("scan: %s: cannot open: %s", w->path,
				  strerror(errno));
		}
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		log_debug("scan: %s: no longer a regular file, skipped",
			  w->path);
		close(fd);
		return -1;
	}
	return fd;
}

static void source_dir_file(struct source_dir_walk *w, int dfd,
			    const char *name, const struct stat *lst)
{
	struct stat st;
	int fd = -1;
	if (source_dir_audio_name(name)) {
		/* The cheap path a rescan takes: no open, no read. */
		if (!source_dir_candidate(w, lst))
			goto out;
		fd = source_dir_open_file(w, dfd, name, &st, true);
		if (fd < 0)
			goto out;
	} else {
		unsigned char magic[SOURCE_DIR_MAGIC_BYTES];
		fd = source_dir_open_file(w, dfd, name, &st, false);
		if (fd < 0)
			goto out;
		ssize_t n = pread(fd, magic, sizeof(magic), 0);
		/* The decoder's own magic numbers: what it can open, the
		 * scan sees (an .m4a once went unseen for want of "ftyp"). */
		if (n <= 0 || !decode_looks_like_audio(magic, (size_t)n)) {
			log_debug("scan: %s: not audio, ignored", w->path);
			goto out;
		}
		if (!source_dir_candidate(w, &st))
			goto out;
	}
	source_dir_probe(w, fd, &st);
out:
	if (fd >= 0)
		close(fd);
}

static void source_dir_walk_dir(struct source_dir_walk *w, int fd, int depth);

/* Enters directory NAME (relative to DFD), whose stat is ST. */
static void source_dir_enter(struct source_dir_walk *w, int dfd,
			     const char *name, const struct stat *st,
			     int depth, bool via_link)
{
	struct stat fst;
	if (depth > SOURCE_DIR_DEPTH_MAX) {
		log_warning("scan: %s: more than %d directories deep, skipped",
			    w->path, SOURCE_DIR_DEPTH_MAX);
		w->stats->errors++;
		return;
	}
	if (source_dir_set_has(&w->visited, st)) {
		log_debug("scan: %s: directory already scanned", w->path);
		return;
	}
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK |
			O_CLOEXEC);
	if (fd < 0) {
		log_warning("scan: %s: cannot open directory: %s", w->path,
			    strerror(errno));
		w->stats->errors++;
		return;
	}
	if (fstat(fd, &fst) < 0) {
		log_warning("scan: %s: %s", w->path, strerror(errno));
		w->stats->errors++;
		goto out;
	}
	int added = source_dir_set_add(&w->visited, &fst);
	if (added == 0 || (added == -ENOSPC && via_link))
		goto out;
	if (added == -ENOMEM) {
		log_error("scan: %s: out of memory", w->path);
		w->stats->errors++;
		goto out;
	}
	source_dir_walk_dir(w, fd, depth);
out:
	close(fd);
}

/* Queues the link at w->path to be followed after the real entries. */
static void source_dir_queue_link(struct source_dir_walk *w, int depth)
{
	if (w->n_links >= SOURCE_DIR_LINKS_MAX) {
		if (!w->links_full)
			log_warning("scan: more than %d symbolic links; "
				    "not following %s and later ones",
				    SOURCE_DIR_LINKS_MAX, w->path);
		w->links_full = true;
		w->stats->errors++;
		return;
	}
	if (w->n_links == w->cap_links) {
		size_t cap = w->cap_links ? w->cap_links * 2 : 64;
		struct source_dir_link *links = realloc(w->links,
							cap * sizeof(*links));
		if (!links)
			goto nomem;
		w->links = links;
		w->cap_links = cap;
	}
	char *copy = strdup(w->path);
	if (!copy)
		goto nomem;
	w->links[w->n_links].path = copy;
	w->links[w->n_links].depth = depth;
	w->n_links++;
	return;
nomem:
	log_error("scan: %s: out of memory", w->path);
	w->stats->errors++;
}

/* Follows the link NAME (relative to DFD, at w->path): DEPTH is the depth a
 * directory behind it would have. */
static void source_dir_follow(struct source_dir_walk *w, int dfd,
			      const char *name, int depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, 0) < 0) {
		int e = errno;
		log_warning("scan: %s: %s", w->path,
			    e == ENOENT ? "dangling symbolic link" :
			    e == ELOOP ? "symbolic link loop" : strerror(e));
		w->stats->errors++;
		return;
	}
	if (S_ISDIR(st.st_mode))
		source_dir_enter(w, dfd, name, &st, depth, true);
	else if (S_ISREG(st.st_mode))
		source_dir_file(w, dfd, name, &st);
	else
		log_debug("scan: %s: not a regular file, skipped", w->path);
}

static int source_dir_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the visible names of the directory open as FD, sorted. */
static int source_dir_read_names(struct source_dir_walk *w, int fd,
				 char ***names_out, size_t *n_out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	int dup_fd = dup(fd);
	DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!dir) {
		rc = -errno;
		if (dup_fd >= 0)
			close(dup_fd);
		goto out;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(dir);
		if (!de) {
			rc = -errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue;  /* ".", "..", and hidden: see DESIGN */
		if (n >= SOURCE_DIR_ENTRIES_MAX) {
			log_warning("scan: %s: more than %d entries; the rest "
				    "are skipped", w->path,
				    SOURCE_DIR_ENTRIES_MAX);
			w->stats->errors++;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof(*names), source_dir_name_cmp);
out:
	*names_out = names;
	*n_out = n;
	return rc;
}

/* Walks the directory open as FD, whose path is w->path, at DEPTH. */
static void source_dir_walk_dir(struct source_dir_walk *w, int fd, int depth)
{
	char **names = NULL;
	size_t n = 0;
	size_t base = strlen(w->path);
	int rc = source_dir_read_names(w, fd, &names, &n);
	if (rc < 0) {
		/* A partial listing is still walked. */
		log_warning("scan: %s: reading directory: %s", w->path,
			    strerror(-rc));
		w->stats->errors++;
	}
	for (size_t i = 0; i < n && w->rc == 0; i++) {
		const char *name = names[i];
		struct stat lst;
		if (base + 1 + strlen(name) >= sizeof(w->path)) {
			log_warning("scan: %s/%s: path too long, skipped",
				    w->path, name);
			w->stats->errors++;
			continue;
		}
		w->path[base] = '/';
		strcpy(w->path + base + 1, name);
		if (fstatat(fd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0) {
			log_warning("scan: %s: %s", w->path, strerror(errno));
			w->stats->errors++;
		} else if (S_ISLNK(lst.st_mode)) {
			source_dir_queue_link(w, depth + 1);
		} else if (S_ISDIR(lst.st_mode)) {
			source_dir_enter(w, fd, name, &lst, depth + 1, false);
		} else if (S_ISREG(lst.st_mode)) {
			source_dir_file(w, fd, name, &lst);
		} else {
			log_debug("scan: %s: not a regular file, skipped",
				  w->path);
		}
		w->path[base] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int source_dir_normalise(const char *root, char *out, size_t size)
{
	char cwd[PATH_MAX];
	int n, rc = 0;
	if (size > 0)
		out[0] = '\0';
	if (root[0] == '/') {
		n = snprintf(out, size, "%s", root);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			rc = -errno;
			goto out;
		}
		n = snprintf(out, size, "%s/%s", strcmp(cwd, "/") ? cwd : "",
			     root);
	}
	if (n < 0 || (size_t)n >= size) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	/* "music/." names the same directory as "music". */
	while (n >= 2 && strcmp(out + n - 2, "/.") == 0) {
		n -= 2;
		out[n] = '\0';
		while (n > 0 && out[n - 1] == '/')
			out[--n] = '\0';
	}
out:
	if (rc < 0 && size > 0)
		out[0] = '\0';
	return rc;
}

bool source_dir_path_under(const char *path, const char *root)
{
	size_t len = strlen(root);
	return strncmp(path, root, len) == 0 &&
	       (path[len] == '\0' || path[len] == '/');
}

static void source_dir_root(struct source_dir_walk *w, const char *root)
{
	struct stat st;
	const char *open_path = *root ? root : "/";
	snprintf(w->path, sizeof(w->path), "%s", root);
	if (stat(open_path, &st) < 0) {
		log_warning("scan: library path %s: %s", open_path,
			    strerror(errno));
		w->stats->errors++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		source_dir_enter(w, AT_FDCWD, open_path, &st, 0, false);
	} else if (S_ISREG(st.st_mode)) {
		source_dir_file(w, AT_FDCWD, open_path, &st);
	} else {
		log_warning("scan: library path %s: not a directory or file",
			    open_path);
		w->stats->errors++;
	}
}

int source_dir_scan(struct catalog *cat, char *const *roots, size_t n_roots,
		    struct source_dir_stats *stats)
{
	struct source_dir_stats local;
	struct source_dir_walk *w = NULL;
	char **norm = NULL;
	size_t n_norm = 0;
	int rc = 0;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	w = calloc(1, sizeof(*w));
	norm = calloc(n_roots ? n_roots : 1, sizeof(*norm));
	if (!w || !norm) {
		rc = -ENOMEM;
		goto out;
	}
	w->cat = cat;
	w->stats = stats;
	for (size_t i = 0; i < n_roots; i++) {
		norm[n_norm] = malloc(PATH_MAX);
		if (!norm[n_norm]) {
			rc = -ENOMEM;
			goto out;
		}
		int nrc = source_dir_normalise(roots[i], norm[n_norm],
					       PATH_MAX);
		if (nrc < 0) {
			/* Left out of scan_end too: marks nothing missing. */
			log_warning("scan: library path %s: %s", roots[i],
				    strerror(-nrc));
			stats->errors++;
			free(norm[n_norm]);
			norm[n_norm] = NULL;
			continue;
		}
		n_norm++;
	}

	rc = catalog_scan_begin(cat);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n_norm && w->rc == 0; i++)
		source_dir_root(w, norm[i]);
	/* Links last, so real paths win; following them may queue more. */
	for (size_t i = 0; i < w->n_links && w->rc == 0; i++) {
		snprintf(w->path, sizeof(w->path), "%s", w->links[i].path);
		source_dir_follow(w, AT_FDCWD, w->path, w->links[i].depth);
	}
	if (w->rc < 0) {
		rc = w->rc;
		/* End the scan without marking anything missing. */
		catalog_scan_end(cat, NULL, 0, NULL);
		goto out;
	}
	rc = catalog_scan_end(cat, norm, n_norm, &stats->missing);
	if (rc < 0)
		goto out;
	log_info("scan: %zu audio files: %zu added, %zu unchanged, %zu bad, "
		 "%zu missing, %zu errors", stats->files_seen, stats->added,
		 stats->unchanged, stats->bad, stats->missing, stats->errors);
out:
	if (w) {
		for (size_t i = 0; i < w->n_links; i++)
			free(w->links[i].path);
		free(w->links);
		free(w->visited.slots);
	}
	free(w);
	for (size_t i = 0; norm && i < n_norm; i++)
		free(norm[i]);
	free(norm);
	return rc;
}
