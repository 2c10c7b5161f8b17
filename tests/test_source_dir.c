/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_source_dir — scanning a hostile library tree built from the generated
 * fixtures into a real catalog file: nested and unicode directories, a
 * non-UTF-8 file name, audio without an audio extension, a symlink loop, a
 * self-link, a dangling link, links to a directory inside and outside the
 * tree, a link to /dev/zero, a FIFO and a socket named like songs, an
 * unreadable file and directory, hidden files, non-audio files, the bad
 * fixtures, AAC and ALAC .m4a and Opus files (found by name, and by content
 * alone without one), a truncated .m4a and random bytes named .m4a, and a
 * chain of directories deeper than the limit.
 *
 * Asserts that the scan ends (alarm as a hang guard), that exactly the good
 * files are playable with their tags, that each bad file is recorded bad with
 * a reason, that nothing else enters the catalog, that a rescan reads nothing,
 * that a deleted file is marked missing and comes back, that a bad file
 * is read again once it changes, and that the root given with a trailing
 * slash or relative to the working directory is the same root.
 *
 * Also the contract of source_dir_normalise() and source_dir_path_under(),
 * which analyze and plan use to filter the catalog to the library paths:
 * trailing slashes and "/." go, nothing else is resolved (not "..", not
 * symbolic links), relative paths start at the working directory, a path
 * that does not exist is fine, a working directory that does not exist and
 * a result too long are errors.
 */
#include "autoconfig.h"

#include "catalog.h"
#include "log.h"
#include "source_dir.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char fix[4096];   /* fixtures */
static char tmp[4096];   /* scratch */
static char root[4200];  /* the library */
static char dbfile[4200];
static bool perms_enforced;

static void copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY);
	CHECK(in >= 0);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		fprintf(stderr, "create %s: %s\n", dst, strerror(errno));
	CHECK(out >= 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, (size_t)n) == n);
	CHECK(n == 0);
	close(in);
	CHECK(close(out) == 0);
}

/* Copies fixture NAME to ROOT/REL, creating directories on the way. */
static void place(const char *name, const char *rel)
{
	char src[8300], dst[8300];
	/* "ff/...": made by tests/make-format-fixtures.sh into tmp/ff. */
	if (strncmp(name, "ff/", 3) == 0)
		snprintf(src, sizeof(src), "%s/%s", tmp, name);
	else
		snprintf(src, sizeof(src), "%s/%s", fix, name);
	snprintf(dst, sizeof(dst), "%s/%s", root, rel);
	for (char *p = dst + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		CHECK(mkdir(dst, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	copy_file(src, dst);
}

static void lib_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", root, rel);
}

static void link_at(const char *target, const char *rel)
{
	char p[8300];
	lib_path(p, sizeof(p), rel);
	CHECK(symlink(target, p) == 0);
}

#define DEEP_DIRS 70

static void build_tree(void)
{
	char p[8300];
	snprintf(root, sizeof(root), "%s/lib", tmp);
	CHECK(mkdir(root, 0755) == 0);

	/* Good files. */
	place("tone-440.mp3", "Artist A/tone-440.mp3");
	place("tone-660.ogg", "Artist A/Album/tone-660.ogg");
	place("tone-550.flac", "flac/tone-550.flac");
	place("tone-330.wav", "wav/tone-330.wav");
	place("unicode.ogg", "unicode/Café 日本/unicode.ogg");
	place("latin1-id3v1.mp3", "latin1/caf\xe9.mp3");
	place("tone-660.ogg", "noext/audiofile");
	place("wrongext.mp3", "wrongext.mp3");
	/* FFmpeg's formats, by name and, without one, by content alone. */
	place("ff/tone-440.m4a", "m4a/tone-440.m4a");
	place("ff/alac-550-48k-mono.m4a", "m4a/alac.m4a");
	place("ff/tone-660.opus", "opus/tone-660.opus");
	place("ff/tone-440.m4a", "noext/aacfile");
	place("ff/tone-495.wma", "noext/asf.dat");

	/* Bad files. */
	place("zero.mp3", "bad/zero.mp3");
	place("noise.mp3", "bad/noise.mp3");
	place("text.ogg", "bad/text.ogg");
	place("truncated-header.ogg", "bad/truncated-header.ogg");
	place("ff/truncated.m4a", "bad/truncated.m4a");
	place("ff/random.m4a", "bad/random.m4a");
	place("ff/truncated-header.opus", "bad/truncated-header.opus");

	/* Not audio, or hidden. */
	place("text.ogg", "notes.txt");
	lib_path(p, sizeof(p), "cover.jpg");
	FILE *f = fopen(p, "wb");
	CHECK(f);
	static const char jpeg[] = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01";
	CHECK(fwrite(jpeg, 1, sizeof(jpeg), f) == sizeof(jpeg));
	fclose(f);
	place("one-second.mp3", ".hidden/tone.mp3");
	place("one-second.mp3", "._apple.mp3");

	/* Links: a loop, a self-link, a dangling link, a second way into a
	 * directory of the tree, a file link, a way out of the tree, and a
	 * link to a device that never ends. */
	lib_path(p, sizeof(p), "a/b");
	CHECK(test_sh("mkdir -p '%s'", p) == 0);
	link_at("../..", "a/b/loop");
	link_at("self", "self");
	link_at("nowhere/gone.mp3", "dangling.mp3");
	link_at("Artist A", "A-link");  /* sorts before its target */
	link_at("Artist A/tone-440.mp3", "0alias.mp3");
	snprintf(p, sizeof(p), "%s/outside", tmp);
	CHECK(mkdir(p, 0755) == 0);
	char src[8300];
	snprintf(src, sizeof(src), "%s/notags.mp3", fix);
	snprintf(p, sizeof(p), "%s/outside/notags.mp3", tmp);
	copy_file(src, p);
	snprintf(p, sizeof(p), "%s/outside", tmp);
	link_at(p, "ext");
	link_at("/dev/zero", "devzero.mp3");

	/* Special files named like songs. */
	lib_path(p, sizeof(p), "song.mp3");
	CHECK(mkfifo(p, 0644) == 0);
	lib_path(p, sizeof(p), "sock.mp3");
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(p) < sizeof(sun.sun_path)) {  /* else: $TMPDIR too long */
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(s >= 0);
		memcpy(sun.sun_path, p, strlen(p));
		CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
		close(s);
	}

	/* Unreadable file and directory. As root, chmod 000 stops nothing:
	 * find out which world this is. */
	place("one-second.mp3", "unreadable.mp3");
	lib_path(p, sizeof(p), "unreadable.mp3");
	CHECK(chmod(p, 0) == 0);
	int fd = open(p, O_RDONLY);
	perms_enforced = fd < 0;
	if (fd >= 0)
		close(fd);
	place("one-second.mp3", "locked/inside.mp3");
	lib_path(p, sizeof(p), "locked");
	CHECK(chmod(p, 0) == 0);

	/* ROOT/deep is at depth 1, ROOT/deep/2 at depth 2, and so on. */
	char rel[1024] = "deep";
	for (int d = 2; d <= DEEP_DIRS; d++) {
		size_t n = strlen(rel);
		snprintf(rel + n, sizeof(rel) - n, "/%d", d);
		if (d == 64 || d == 65 || d == DEEP_DIRS) {
			char file[1100];
			snprintf(file, sizeof(file), "%s/at%d.mp3", rel, d);
			place("one-second.mp3", file);
		}
	}
	lib_path(p, sizeof(p), rel);
	CHECK(test_sh("mkdir -p '%s'", p) == 0);
}

struct expect {
	const char *rel;
	const char *artist;
	const char *title;
	double duration_s;
	bool needs_no_perms;  /* only readable where chmod does not bite */
};

static const struct expect good[] = {
	{ "Artist A/tone-440.mp3", "Tone Artist A", "Four Forty", 20, false },
	{ "Artist A/Album/tone-660.ogg", "Tone Artist B", "Six Sixty", 20,
	  false },
	{ "flac/tone-550.flac", "Tone Artist C", "Five Fifty", 15, false },
	{ "wav/tone-330.wav", "", "", 12, false },
	{ "unicode/Café 日本/unicode.ogg", "Sigur Rós",
	  "Café \"Zitat\" l'été — 日本語 🎵 - x", 10, false },
	{ "latin1/caf\xe9.mp3", "Björk", "Jóga", 10, false },
	{ "noext/audiofile", "Tone Artist B", "Six Sixty", 20, false },
	{ "wrongext.mp3", "Wrong", "Extension", 10, false },
	{ "m4a/tone-440.m4a", "Sigur Rós", "Café — 日本語 🎵", 10, false },
	{ "m4a/alac.m4a", "Alac Artist", "Five Fifty Lossless", 8, false },
	{ "opus/tone-660.opus", "Opus Künstler", "Sechshundertsechzig", 10,
	  false },
	{ "noext/aacfile", "Sigur Rós", "Café — 日本語 🎵", 10, false },
	{ "noext/asf.dat", "Wma Artist", "Windows", 10, false },
	{ "ext/notags.mp3", "", "", 10, false },
	{ "deep/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/"
	  "24/25/26/27/28/29/30/31/32/33/34/35/36/37/38/39/40/41/42/43/44/"
	  "45/46/47/48/49/50/51/52/53/54/55/56/57/58/59/60/61/62/63/64/"
	  "at64.mp3", "", "", 1, false },
	{ "unreadable.mp3", "", "", 1, true },
	{ "locked/inside.mp3", "", "", 1, true },
};
#define N_GOOD (sizeof(good) / sizeof(good[0]))

static const char *const bad[] = {
	"bad/zero.mp3", "bad/noise.mp3", "bad/text.ogg",
	"bad/truncated-header.ogg", "bad/truncated.m4a", "bad/random.m4a",
	"bad/truncated-header.opus",
};
#define N_BAD (sizeof(bad) / sizeof(bad[0]))

static size_t expected_good(void)
{
	size_t n = 0;
	for (size_t i = 0; i < N_GOOD; i++)
		if (!good[i].needs_no_perms || !perms_enforced)
			n++;
	return n;
}

#define MAX_TRACKS 64

/* Finds the playable track at ROOT/REL; returns its id or 0. */
static int64_t find_playable(struct catalog *cat, const char *rel,
			     struct catalog_track *out)
{
	int64_t ids[MAX_TRACKS];
	size_t n = 0;
	char p[8300];
	lib_path(p, sizeof(p), rel);
	CHECK_INT(catalog_playable_ids(cat, ids, MAX_TRACKS, &n), ==, 0);
	CHECK(n <= MAX_TRACKS);
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(catalog_track_get(cat, ids[i], out), ==, 0);
		if (strcmp(out->path, p) == 0)
			return ids[i];
	}
	return 0;
}

/* Reads a row of ROOT/REL straight from the database file; returns false
 * when there is none. */
static bool db_row(const char *rel, char *reason, size_t size, int *missing)
{
	char p[8300];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool found = false;
	lib_path(p, sizeof(p), rel);
	CHECK(sqlite3_open_v2(dbfile, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT coalesce(bad_reason, ''), "
				 "missing FROM tracks WHERE path = ?1", -1,
				 &st, NULL) == SQLITE_OK);
	sqlite3_bind_blob(st, 1, p, (int)strlen(p), SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = true;
		snprintf(reason, size, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		*missing = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

static long long db_count(const char *where)
{
	char sql[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM tracks WHERE %s",
		 where);
	CHECK(sqlite3_open_v2(dbfile, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Makes the scratch directory the working directory and writes its name
 * as getcwd() says it to CWD. Returns the old one, for leave_tmp(). */
static int enter_tmp(char *cwd, size_t size)
{
	int here = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(here >= 0);
	CHECK(chdir(tmp) == 0);
	CHECK(getcwd(cwd, size) != NULL);
	return here;
}

static void leave_tmp(int here)
{
	CHECK(fchdir(here) == 0);
	close(here);
}

static void scan(struct catalog *cat, const char *r,
		 struct source_dir_stats *stats)
{
	char lib[4300], missing_root[4300];
	snprintf(lib, sizeof(lib), "%s", r);
	snprintf(missing_root, sizeof(missing_root), "%s/does-not-exist",
		 tmp);
	char *roots[] = { lib, missing_root };
	alarm(30);
	CHECK_INT(source_dir_scan(cat, roots, 2, stats), ==, 0);
	alarm(0);
	fprintf(stderr, "scan: seen %zu added %zu unchanged %zu bad %zu "
		"missing %zu errors %zu\n", stats->files_seen, stats->added,
		stats->unchanged, stats->bad, stats->missing, stats->errors);
}

/* Errors every scan meets: the missing root, the self-link, the dangling
 * link, the too-deep directory; and without root's powers the unreadable
 * file and directory. */
static size_t expected_errors(void)
{
	return 4 + (perms_enforced ? 2 : 0);
}

static void test_first_scan(struct catalog *cat)
{
	struct source_dir_stats stats;
	struct catalog_track t;
	char reason[512];
	int missing = 0;
	scan(cat, root, &stats);

	size_t n_good = expected_good();
	CHECK_INT(stats.added, ==, n_good);
	CHECK_INT(stats.bad, ==, N_BAD);
	CHECK_INT(stats.unchanged, ==, 0);
	CHECK_INT(stats.missing, ==, 0);
	CHECK_INT(stats.errors, ==, expected_errors());
	/* The unreadable file is an audio file met, but not read. */
	CHECK_INT(stats.files_seen, ==, n_good + N_BAD +
		  (perms_enforced ? 1 : 0));

	for (size_t i = 0; i < N_GOOD; i++) {
		const struct expect *e = &good[i];
		int64_t id = find_playable(cat, e->rel, &t);
		if (e->needs_no_perms && perms_enforced) {
			CHECK(id == 0);
			CHECK(!db_row(e->rel, reason, sizeof(reason),
				      &missing));
			continue;
		}
		if (id == 0)
			fprintf(stderr, "not playable: %s\n", e->rel);
		CHECK(id > 0);
		CHECK_STR(t.artist, e->artist);
		CHECK_STR(t.title, e->title);
		CHECK_NEAR(t.duration_s, e->duration_s, 0.5);
	}
	int64_t ids[MAX_TRACKS];
	size_t n = 0;
	CHECK_INT(catalog_playable_ids(cat, ids, MAX_TRACKS, &n), ==, 0);
	CHECK_INT(n, ==, n_good);

	for (size_t i = 0; i < N_BAD; i++) {
		reason[0] = '\0';
		CHECK(db_row(bad[i], reason, sizeof(reason), &missing));
		fprintf(stderr, "bad: %s: %s\n", bad[i], reason);
		CHECK(strlen(reason) > 0);
		CHECK_INT(missing, ==, 0);
	}
	size_t nbad = 0;
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, N_BAD);

	/* Nothing else entered the catalog: not the non-audio files, not the
	 * special files, not the hidden ones, not the too-deep ones, and not
	 * a second copy of anything reached through a link (the real path
	 * wins; see source_dir.c). */
	CHECK_INT(db_count("1"), ==, n_good + N_BAD);
	static const char *const absent[] = {
		"cover.jpg", "notes.txt", "song.mp3", "sock.mp3",
		"devzero.mp3", "dangling.mp3", "self", "0alias.mp3",
		"A-link/tone-440.mp3", "A-link/Album/tone-660.ogg",
		".hidden/tone.mp3", "._apple.mp3",
		"a/b/loop/wrongext.mp3",
	};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		if (db_row(absent[i], reason, sizeof(reason), &missing))
			fprintf(stderr, "unexpected: %s\n", absent[i]);
		CHECK(!db_row(absent[i], reason, sizeof(reason), &missing));
	}
	CHECK_INT(db_count("instr(path, 'at65.mp3') OR instr(path, 'at70')"),
		  ==, 0);
	CHECK_INT(db_count("instr(path, '/loop/') OR instr(path, '/A-link/')"),
		  ==, 0);
}

static void test_rescans(struct catalog *cat)
{
	struct source_dir_stats stats;
	struct catalog_track t;
	char p[8300], src[8300], reason[512];
	int missing = 0;
	size_t n_good = expected_good();
	size_t known = n_good + N_BAD;

	/* Nothing changed: nothing is read, nothing is added. The root with
	 * a trailing slash is the same root. */
	char slashed[4300];
	snprintf(slashed, sizeof(slashed), "%s/", root);
	scan(cat, slashed, &stats);
	CHECK_INT(stats.added, ==, 0);
	CHECK_INT(stats.bad, ==, 0);
	CHECK_INT(stats.missing, ==, 0);
	CHECK_INT(stats.unchanged, ==, known);
	CHECK_INT(stats.files_seen, ==, known + (perms_enforced ? 1 : 0));
	CHECK_INT(stats.errors, ==, expected_errors());
	CHECK_INT(db_count("1"), ==, known);

	/* So is the root relative to the working directory, with "/." at the
	 * end (when the scratch directory's name has no symbolic link in it,
	 * which would make the working directory's name differ from it). */
	char cwd[PATH_MAX];
	int here = enter_tmp(cwd, sizeof(cwd));
	if (strcmp(cwd, tmp) == 0) {
		scan(cat, "lib/.", &stats);
		CHECK_INT(stats.added, ==, 0);
		CHECK_INT(stats.missing, ==, 0);
		CHECK_INT(stats.unchanged, ==, known);
		CHECK_INT(db_count("1"), ==, known);
	} else {
		fprintf(stderr, "%s is %s: relative root not scanned\n", tmp,
			cwd);
	}
	leave_tmp(here);

	/* A deleted file is marked missing, the rest stay. */
	int64_t wav = find_playable(cat, "wav/tone-330.wav", &t);
	CHECK(wav > 0);
	lib_path(p, sizeof(p), "wav/tone-330.wav");
	CHECK(unlink(p) == 0);
	scan(cat, root, &stats);
	CHECK_INT(stats.missing, ==, 1);
	CHECK_INT(stats.added, ==, 0);
	CHECK_INT(stats.unchanged, ==, known - 1);
	CHECK(find_playable(cat, "wav/tone-330.wav", &t) == 0);
	CHECK(db_row("wav/tone-330.wav", reason, sizeof(reason), &missing));
	CHECK_INT(missing, ==, 1);
	int64_t ids[MAX_TRACKS];
	size_t n = 0;
	CHECK_INT(catalog_playable_ids(cat, ids, MAX_TRACKS, &n), ==, 0);
	CHECK_INT(n, ==, n_good - 1);

	/* It comes back under the same id. */
	place("tone-330.wav", "wav/tone-330.wav");
	scan(cat, root, &stats);
	CHECK_INT(stats.added, ==, 1);
	CHECK_INT(stats.missing, ==, 0);
	CHECK_INT(find_playable(cat, "wav/tone-330.wav", &t), ==, wav);

	/* A bad file whose content changed is read again: text.ogg becomes a
	 * real Ogg file. noise.mp3 only gets a new mtime: read again, still
	 * bad. */
	snprintf(src, sizeof(src), "%s/unicode.ogg", fix);
	lib_path(p, sizeof(p), "bad/text.ogg");
	copy_file(src, p);
	lib_path(p, sizeof(p), "bad/noise.mp3");
	CHECK(test_sh("touch -d '2001-02-03 04:05:06' '%s'", p) == 0);
	scan(cat, root, &stats);
	CHECK_INT(stats.added, ==, 1);
	CHECK_INT(stats.bad, ==, 1);
	CHECK_INT(stats.unchanged, ==, known - 2);
	CHECK(find_playable(cat, "bad/text.ogg", &t) > 0);
	CHECK_STR(t.artist, "Sigur Rós");
	CHECK(db_row("bad/text.ogg", reason, sizeof(reason), &missing));
	CHECK_STR(reason, "");
	CHECK(db_row("bad/noise.mp3", reason, sizeof(reason), &missing));
	CHECK(strlen(reason) > 0);
	size_t nbad = 0;
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, N_BAD - 1);

	/* Scanning a root that is a single file. */
	lib_path(p, sizeof(p), "flac/tone-550.flac");
	char *one[] = { p };
	alarm(30);
	CHECK_INT(source_dir_scan(cat, one, 1, &stats), ==, 0);
	alarm(0);
	CHECK_INT(stats.files_seen, ==, 1);
	CHECK_INT(stats.unchanged, ==, 1);
	CHECK_INT(stats.missing, ==, 0);
	CHECK_INT(stats.errors, ==, 0);
}

static void check_normalise(const char *in, const char *want)
{
	char out[PATH_MAX];
	memset(out, 'x', sizeof(out));
	int rc = source_dir_normalise(in, out, sizeof(out));
	if (rc != 0 || strcmp(out, want) != 0)
		fprintf(stderr, "normalise '%s': %d '%s', want '%s'\n", in, rc,
			out, want);
	CHECK_INT(rc, ==, 0);
	CHECK_STR(out, want);
}

static void test_normalise(void)
{
	char cwd[PATH_MAX], want[PATH_MAX + 64], out[PATH_MAX];
	char gone[4300], link[4300];

	/* Trailing slashes and "/." go, in any mix and number. */
	check_normalise("/srv/music", "/srv/music");
	check_normalise("/srv/music/", "/srv/music");
	check_normalise("/srv/music///", "/srv/music");
	check_normalise("/srv/music/.", "/srv/music");
	check_normalise("/srv/music/./", "/srv/music");
	check_normalise("/srv/music//.", "/srv/music");
	check_normalise("/srv/music/././/.//", "/srv/music");
	/* The root directory is "", so that root + "/" + name is a path. */
	check_normalise("/", "");
	check_normalise("//", "");
	check_normalise("/.", "");
	/* Nothing inside the path is touched: it is not resolved. */
	check_normalise("/srv/./music", "/srv/./music");
	check_normalise("/srv/../music", "/srv/../music");
	check_normalise("/srv//music", "/srv//music");
	check_normalise("/srv/music/..", "/srv/music/..");
	check_normalise("/srv/music/.hidden", "/srv/music/.hidden");
	/* A path that does not exist is no error: a deleted root must keep
	 * its form so that its tracks can be marked missing. */
	check_normalise("/does/not/exist/", "/does/not/exist");

	/* Relative paths start at the working directory. */
	int here = enter_tmp(cwd, sizeof(cwd));
	snprintf(want, sizeof(want), "%s/lib", cwd);
	check_normalise("lib", want);
	check_normalise("lib/", want);
	check_normalise("lib/.", want);
	snprintf(want, sizeof(want), "%s/./lib", cwd);
	check_normalise("./lib", want);
	check_normalise("", cwd);
	check_normalise(".", cwd);
	check_normalise("./", cwd);
	snprintf(want, sizeof(want), "%s/does-not-exist", cwd);
	check_normalise("does-not-exist/", want);

	/* A symbolic link keeps its own name: the scan records the files
	 * under it by that name. */
	snprintf(link, sizeof(link), "%s/lib-link", tmp);
	CHECK(symlink(root, link) == 0);
	snprintf(want, sizeof(want), "%s/lib-link", cwd);
	check_normalise("lib-link/", want);
	CHECK(unlink(link) == 0);

	/* Too long for OUT: an error and "", never a cut path. The length
	 * counts before trimming. */
	memset(out, 'x', sizeof(out));
	CHECK_INT(source_dir_normalise("/srv/music", out, 8), ==,
		  -ENAMETOOLONG);
	CHECK_STR(out, "");
	CHECK_INT(source_dir_normalise("/ab/", out, 4), ==, -ENAMETOOLONG);
	CHECK_STR(out, "");
	CHECK_INT(source_dir_normalise("/ab", out, 4), ==, 0);
	CHECK_STR(out, "/ab");
	CHECK_INT(source_dir_normalise("/ab", out, 0), ==, -ENAMETOOLONG);
	CHECK_INT(source_dir_normalise("lib", out, strlen(cwd) + 5), ==, 0);
	CHECK_INT(source_dir_normalise("lib", out, strlen(cwd) + 4), ==,
		  -ENAMETOOLONG);

	/* A working directory that no longer exists: a relative path has no
	 * absolute form; an absolute one still has. */
	snprintf(gone, sizeof(gone), "%s/gone", tmp);
	CHECK(mkdir(gone, 0755) == 0);
	CHECK(chdir(gone) == 0);
	CHECK(rmdir(gone) == 0);
	memset(out, 'x', sizeof(out));
	CHECK_INT(source_dir_normalise("lib", out, sizeof(out)), ==, -ENOENT);
	CHECK_STR(out, "");
	check_normalise("/srv/music/", "/srv/music");
	leave_tmp(here);

	/* Under a root: the root itself and what is below it, by whole
	 * components. */
	CHECK(source_dir_path_under("/srv/music", "/srv/music"));
	CHECK(source_dir_path_under("/srv/music/a.mp3", "/srv/music"));
	CHECK(source_dir_path_under("/srv/music/x/y/a.mp3", "/srv/music"));
	CHECK(!source_dir_path_under("/srv/musical/a.mp3", "/srv/music"));
	CHECK(!source_dir_path_under("/srv/mus", "/srv/music"));
	CHECK(!source_dir_path_under("/srv", "/srv/music"));
	CHECK(!source_dir_path_under("/other/a.mp3", "/srv/music"));
	CHECK(source_dir_path_under("/srv/music/a.mp3", ""));
	CHECK(source_dir_path_under("/a.mp3", ""));
}

int main(void)
{
	snprintf(fix, sizeof(fix), "%s", test_fixtures());
	snprintf(tmp, sizeof(tmp), "%s", test_tmpdir("source_dir"));
	snprintf(dbfile, sizeof(dbfile), "%s/db/catalog.db", tmp);
	const char *srcdir = getenv("top_srcdir");
	if (test_sh("mkdir '%s/ff' && sh '%s/tests/make-format-fixtures.sh' "
		    "'%s/ff'", tmp, srcdir ? srcdir : SRCDIR, tmp) != 0) {
		fprintf(stderr, "tests/make-format-fixtures.sh failed\n");
		return TEST_HARD_ERROR;
	}
	build_tree();
	test_normalise();
	if (!perms_enforced)
		fprintf(stderr, "running with permission to read mode-000 "
			"files: unreadable-file checks reversed\n");

	struct catalog *cat = catalog_open(dbfile);
	CHECK(cat);
	test_first_scan(cat);
	test_rescans(cat);
	catalog_close(cat);

	/* Restore permissions so the scratch tree can be removed. */
	test_sh("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tmp, tmp);
	return 0;
}
