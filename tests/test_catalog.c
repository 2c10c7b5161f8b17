/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_catalog — the SQLite catalog on real database files: creation and
 * schema version, reopening, refusing a newer schema, migrating an empty
 * database, exact round-trips of tags and of non-UTF-8 paths, change
 * detection, bad files, scan generations and the directory-boundary rule,
 * play history, two threads using one catalog at once, and the v2 analysis
 * cache: migration from a v1 file with data, exact round-trips, analyzer
 * versions, one entry for identical content at two paths, changed content
 * analysed again.
 *
 * The test reads the database behind the catalog's back with its own SQLite
 * connection, as another process would.
 */
#include "autoconfig.h"

#include "catalog.h"
#include "visuals.h"
#include "log.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[4096];

static void db_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmp, name);
}

/* Runs a query returning one integer on a separate connection. */
static long long sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
			      SQLITE_OPEN_CREATE, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
}

static struct decode_info info_make(const char *artist, const char *title,
				    double duration_s, int kbps)
{
	struct decode_info info;
	memset(&info, 0, sizeof(info));
	info.format = DECODE_FORMAT_MP3;
	snprintf(info.artist, sizeof(info.artist), "%s", artist);
	snprintf(info.title, sizeof(info.title), "%s", title);
	info.duration_s = duration_s;
	info.source_rate_hz = 44100;
	info.source_channels = 2;
	info.bitrate_kbps = kbps;
	return info;
}

static int64_t put(struct catalog *cat, const char *path, int64_t size,
		   int64_t mtime)
{
	struct decode_info info = info_make("A", "T", 60.0, 128);
	int64_t id = -1;
	CHECK_INT(catalog_track_put(cat, path, size, mtime, &info, &id), ==, 0);
	CHECK(id > 0);
	return id;
}

static size_t playable(struct catalog *cat, int64_t *ids, size_t max)
{
	size_t n = 0;
	CHECK_INT(catalog_playable_ids(cat, ids, max, &n), ==, 0);
	return n;
}

static bool is_playable(struct catalog *cat, int64_t id)
{
	int64_t ids[64];
	size_t n = playable(cat, ids, 64);
	CHECK(n <= 64);
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static enum catalog_file_state state_of(struct catalog *cat,
					const char *path, int64_t size,
					int64_t mtime)
{
	enum catalog_file_state st = CATALOG_FILE_KNOWN;
	CHECK_INT(catalog_file_state(cat, path, size, mtime, &st), ==, 0);
	return st;
}

static void test_create_and_reopen(void)
{
	char path[4200];
	db_path(path, sizeof(path), "new/dir/catalog.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(catalog_schema_version(), >=, 1);
	int64_t id = put(cat, "/music/a.mp3", 1000, 5);
	catalog_close(cat);

	CHECK(access(path, F_OK) == 0);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==,
		  catalog_schema_version());
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks"), ==, 1);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	cat = catalog_open(path);
	CHECK(cat);
	struct catalog_track t;
	CHECK_INT(catalog_track_get(cat, id, &t), ==, 0);
	CHECK_STR(t.path, "/music/a.mp3");
	CHECK_INT(state_of(cat, "/music/a.mp3", 1000, 5), ==,
		  CATALOG_FILE_KNOWN);
	catalog_close(cat);
	catalog_close(NULL);
}

static void test_newer_schema_refused(void)
{
	char path[4200], sql[64];
	db_path(path, sizeof(path), "newer.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	catalog_close(cat);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 catalog_schema_version() + 1);
	sql_exec(path, sql);
	errno = 0;
	cat = catalog_open(path);
	CHECK(cat == NULL);
	CHECK_INT(errno, ==, EPROTO);
	/* Refusing must not touch the file. */
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==,
		  catalog_schema_version() + 1);
}

static void test_migrate_v0(void)
{
	char path[4200];
	/* A zero-byte file is a valid empty SQLite database. */
	db_path(path, sizeof(path), "empty.db");
	FILE *f = fopen(path, "w");
	CHECK(f);
	fclose(f);
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	put(cat, "/x.mp3", 1, 1);
	catalog_close(cat);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==,
		  catalog_schema_version());

	/* A version-0 database some other tool left behind keeps its data. */
	db_path(path, sizeof(path), "v0.db");
	sql_exec(path, "CREATE TABLE unrelated (x); "
		 "INSERT INTO unrelated VALUES (42);");
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==, 0);
	cat = catalog_open(path);
	CHECK(cat);
	catalog_close(cat);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==,
		  catalog_schema_version());
	CHECK_INT(sql_int(path, "SELECT x FROM unrelated"), ==, 42);
	CHECK_INT(sql_int(path, "SELECT value FROM meta"
			  " WHERE key = 'scan_generation'"), ==, 0);
}

static void test_bad_database_file(void)
{
	char path[4200];
	db_path(path, sizeof(path), "garbage.db");
	FILE *f = fopen(path, "w");
	CHECK(f);
	for (int i = 0; i < 4096; i++)
		fputc("not a database"[i % 14], f);
	fclose(f);
	errno = 0;
	CHECK(catalog_open(path) == NULL);
	CHECK_INT(errno, ==, EIO);

	/* The parent "directory" is a file: mkdir fails. */
	db_path(path, sizeof(path), "garbage.db/sub/catalog.db");
	errno = 0;
	CHECK(catalog_open(path) == NULL);
	CHECK(errno != 0);
}

static void test_round_trip(void)
{
	char path[4200];
	db_path(path, sizeof(path), "roundtrip.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);

	const char *upath = "/music/Björk/Ångström – 東京 🎵.flac";
	struct decode_info info = info_make("Björk Guðmundsdóttir",
					    "東京 🎵 «live»", 215.25, 320);
	info.format = DECODE_FORMAT_FLAC;
	int64_t id = 0;
	CHECK_INT(catalog_track_put(cat, upath, 123456789012LL,
				    1700000000123456789LL, &info, &id), ==, 0);

	/* Latin-1 bytes that are not UTF-8, and bytes that sort above '/'. */
	const char latin1[] = "/music/caf\xe9/\xff\xfe\x80 na\xefve.mp3";
	struct decode_info info2 = info_make("", "", 0.0, 0);
	int64_t id2 = 0;
	CHECK_INT(catalog_track_put(cat, latin1, 10, 20, &info2, &id2), ==, 0);
	CHECK(id2 != id);
	catalog_close(cat);

	cat = catalog_open(path);
	CHECK(cat);
	struct catalog_track t;
	memset(&t, 0x55, sizeof(t));
	CHECK_INT(catalog_track_get(cat, id, &t), ==, 0);
	CHECK_INT(t.id, ==, id);
	CHECK_STR(t.path, upath);
	CHECK_STR(t.artist, "Björk Guðmundsdóttir");
	CHECK_STR(t.title, "東京 🎵 «live»");
	CHECK_NEAR(t.duration_s, 215.25, 1e-9);
	CHECK_INT(t.bitrate_kbps, ==, 320);

	memset(&t, 0x55, sizeof(t));
	CHECK_INT(catalog_track_get(cat, id2, &t), ==, 0);
	CHECK_INT(strlen(t.path), ==, strlen(latin1));
	CHECK(memcmp(t.path, latin1, sizeof(latin1)) == 0);
	CHECK_STR(t.artist, "");
	CHECK_STR(t.title, "");
	CHECK_NEAR(t.duration_s, 0.0, 0.0);
	CHECK_INT(t.bitrate_kbps, ==, 0);
	CHECK_INT(state_of(cat, latin1, 10, 20), ==, CATALOG_FILE_KNOWN);
	CHECK_INT(state_of(cat, upath, 123456789012LL, 1700000000123456789LL),
		  ==, CATALOG_FILE_KNOWN);

	/* Updating a track keeps its id and replaces its tags. */
	struct decode_info info3 = info_make("New", "Tags", 1.5, 64);
	int64_t id3 = 0;
	CHECK_INT(catalog_track_put(cat, latin1, 11, 21, &info3, &id3), ==, 0);
	CHECK_INT(id3, ==, id2);
	CHECK_INT(catalog_track_get(cat, id2, &t), ==, 0);
	CHECK_STR(t.artist, "New");
	CHECK_STR(t.title, "Tags");

	CHECK_INT(catalog_track_get(cat, 999999, &t), ==, -ENOENT);

	/* Bad arguments. */
	char longpath[PATH_MAX + 10];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_INT(catalog_track_put(cat, longpath, 1, 1, &info, NULL), ==,
		  -ENAMETOOLONG);
	CHECK_INT(catalog_track_put(cat, "", 1, 1, &info, NULL), ==, -EINVAL);
	enum catalog_file_state s;
	CHECK_INT(catalog_file_state(cat, longpath, 1, 1, &s), ==,
		  -ENAMETOOLONG);
	catalog_close(cat);
}

static void test_file_state(void)
{
	struct catalog *cat = catalog_open(":memory:");
	CHECK(cat);
	CHECK_INT(state_of(cat, "/m/a.mp3", 100, 7), ==, CATALOG_FILE_NEW);
	put(cat, "/m/a.mp3", 100, 7);
	CHECK_INT(state_of(cat, "/m/a.mp3", 100, 7), ==, CATALOG_FILE_KNOWN);
	CHECK_INT(state_of(cat, "/m/a.mp3", 101, 7), ==, CATALOG_FILE_NEW);
	CHECK_INT(state_of(cat, "/m/a.mp3", 100, 8), ==, CATALOG_FILE_NEW);
	/* A path differing only in case is another file. */
	CHECK_INT(state_of(cat, "/m/A.mp3", 100, 7), ==, CATALOG_FILE_NEW);

	CHECK_INT(catalog_file_bad(cat, "/m/bad.ogg", 5, 9,
				   "not an audio file"), ==, 0);
	CHECK_INT(state_of(cat, "/m/bad.ogg", 5, 9), ==,
		  CATALOG_FILE_KNOWN_BAD);
	CHECK_INT(state_of(cat, "/m/bad.ogg", 6, 9), ==, CATALOG_FILE_NEW);
	CHECK_INT(state_of(cat, "/m/bad.ogg", 5, 10), ==, CATALOG_FILE_NEW);

	/* A good file that went bad, and a bad file that was fixed. */
	CHECK_INT(catalog_file_bad(cat, "/m/a.mp3", 100, 8, "truncated"), ==,
		  0);
	CHECK_INT(state_of(cat, "/m/a.mp3", 100, 8), ==,
		  CATALOG_FILE_KNOWN_BAD);
	put(cat, "/m/bad.ogg", 6, 10);
	CHECK_INT(state_of(cat, "/m/bad.ogg", 6, 10), ==, CATALOG_FILE_KNOWN);
	catalog_close(cat);
}

static void test_bad_files(void)
{
	char path[4200];
	db_path(path, sizeof(path), "bad.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t a = put(cat, "/m/a.mp3", 1, 1);
	int64_t b = put(cat, "/m/b.mp3", 1, 1);
	int64_t c = put(cat, "/m/c.mp3", 1, 1);
	size_t nbad = 99;
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, 0);

	CHECK_INT(catalog_file_bad(cat, "/m/zero.mp3", 0, 1,
				   "no audio frames"), ==, 0);
	CHECK_INT(catalog_file_bad(cat, "/m/noise.mp3", 9, 1,
				   "line one\nline two"), ==, 0);
	CHECK_INT(catalog_track_bad(cat, b, "decode failed while playing"),
		  ==, 0);
	CHECK_INT(catalog_track_bad(cat, 424242, "x"), ==, -ENOENT);
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, 3);

	int64_t ids[8];
	size_t n = playable(cat, ids, 8);
	CHECK_INT(n, ==, 2);
	CHECK_INT(ids[0], ==, a);
	CHECK_INT(ids[1], ==, c);

	/* Reasons are stored as one line, bounded. */
	catalog_close(cat);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks WHERE bad_reason"
			  " = 'line one line two'"), ==, 1);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks WHERE bad_reason"
			  " = 'no audio frames'"), ==, 1);
	cat = catalog_open(path);
	CHECK(cat);
	char huge[4000];
	memset(huge, 'r', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK_INT(catalog_file_bad(cat, "/m/huge.wav", 1, 1, huge), ==, 0);
	catalog_close(cat);
	CHECK_INT(sql_int(path, "SELECT length(bad_reason) FROM tracks"
			  " WHERE bad_reason LIKE 'rrr%'"), ==,
		  CATALOG_REASON_MAX - 1);

	/* Putting a bad track as playable again clears the reason. */
	cat = catalog_open(path);
	CHECK(cat);
	int64_t b2 = put(cat, "/m/b.mp3", 2, 2);
	CHECK_INT(b2, ==, b);
	CHECK(is_playable(cat, b));
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, 3);
	catalog_close(cat);
}

static void test_scan_generations(void)
{
	char path[4200];
	db_path(path, sizeof(path), "scan.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	int64_t a = put(cat, "/music/a.mp3", 1, 1);
	int64_t b = put(cat, "/music/sub/b.mp3", 1, 1);
	int64_t m2 = put(cat, "/music2/x.mp3", 1, 1);
	int64_t mm = put(cat, "/music-x/y.mp3", 1, 1);
	int64_t m0 = put(cat, "/music0/z.mp3", 1, 1);
	int64_t o = put(cat, "/other/y.mp3", 1, 1);
	int64_t file_root = put(cat, "/single.mp3", 1, 1);
	CHECK_INT(catalog_file_bad(cat, "/music/bad.ogg", 1, 1, "noise"), ==,
		  0);
	char *roots[] = { (char[]){ "/music" }, (char[]){ "/music2" },
			  (char[]){ "/music-x" }, (char[]){ "/other" },
			  (char[]){ "/single.mp3" }, (char[]){ "/music0" } };
	size_t missing = 99;
	CHECK_INT(catalog_scan_end(cat, roots, 6, &missing), ==, 0);
	CHECK_INT(missing, ==, 0);

	/* Second scan of /music only: b and the bad file have vanished. A
	 * trailing slash on the root means the same directory. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	CHECK_INT(state_of(cat, "/music/a.mp3", 1, 1), ==, CATALOG_FILE_KNOWN);
	char *music[] = { (char[]){ "/music/" } };
	CHECK_INT(catalog_scan_end(cat, music, 1, &missing), ==, 0);
	CHECK_INT(missing, ==, 2);
	CHECK(is_playable(cat, a));
	CHECK(!is_playable(cat, b));
	/* "/music" does not reach into "/music2", "/music0" or "/music-x". */
	CHECK(is_playable(cat, m2));
	CHECK(is_playable(cat, m0));
	CHECK(is_playable(cat, mm));
	CHECK(is_playable(cat, o));
	size_t nbad = 9;
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, 0);
	/* A missing track keeps its row for the play history. */
	struct catalog_track t;
	CHECK_INT(catalog_track_get(cat, b, &t), ==, 0);
	catalog_close(cat);

	/* The missing flag survives a reopen; a root given as a file works. */
	cat = catalog_open(path);
	CHECK(cat);
	CHECK(!is_playable(cat, b));
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	char *single[] = { (char[]){ "/single.mp3" } };
	CHECK_INT(catalog_scan_end(cat, single, 1, &missing), ==, 0);
	CHECK_INT(missing, ==, 1);
	CHECK(!is_playable(cat, file_root));

	/* b reappears unchanged: file_state unmarks it. The root "/" covers
	 * everything not seen, including /music2 and /other. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	CHECK_INT(state_of(cat, "/music/sub/b.mp3", 1, 1), ==,
		  CATALOG_FILE_KNOWN);
	CHECK(is_playable(cat, b));
	CHECK_INT(state_of(cat, "/music/a.mp3", 1, 1), ==, CATALOG_FILE_KNOWN);
	/* single.mp3 reappears changed: put unmarks it. */
	CHECK_INT(state_of(cat, "/single.mp3", 2, 2), ==, CATALOG_FILE_NEW);
	put(cat, "/single.mp3", 2, 2);
	char *everything[] = { (char[]){ "/" } };
	CHECK_INT(catalog_scan_end(cat, everything, 1, &missing), ==, 0);
	CHECK_INT(missing, ==, 4);
	CHECK(is_playable(cat, a));
	CHECK(is_playable(cat, b));
	CHECK(is_playable(cat, file_root));
	CHECK(!is_playable(cat, m2));
	CHECK(!is_playable(cat, mm));
	CHECK(!is_playable(cat, m0));
	CHECK(!is_playable(cat, o));
	/* The bad file comes back too, still bad. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	CHECK_INT(state_of(cat, "/music/bad.ogg", 1, 1), ==,
		  CATALOG_FILE_KNOWN_BAD);
	CHECK_INT(catalog_scan_end(cat, NULL, 0, &missing), ==, 0);
	CHECK_INT(missing, ==, 0);
	CHECK_INT(catalog_bad_count(cat, &nbad), ==, 0);
	CHECK_INT(nbad, ==, 1);
	catalog_close(cat);

	/* Everything the scans wrote was committed. */
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks WHERE missing"),
		  ==, 4);
	CHECK_INT(sql_int(path, "SELECT value FROM meta"
			  " WHERE key = 'scan_generation'"), ==, 5);
}

/* A scan batches writes, but another connection sees them once the scan
 * ends; outside a scan every write is visible at once. */
static void test_batch_visibility(void)
{
	char path[4200];
	db_path(path, sizeof(path), "batch.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	char p[64];
	for (int i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "/lib/%05d.mp3", i);
		put(cat, p, i, i);
	}
	char *roots[] = { (char[]){ "/lib" } };
	size_t missing = 9;
	CHECK_INT(catalog_scan_end(cat, roots, 1, &missing), ==, 0);
	CHECK_INT(missing, ==, 0);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks"), ==, 2000);

	int64_t id = put(cat, "/lib/late.mp3", 1, 1);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks"), ==, 2001);
	CHECK_INT(catalog_play_add(cat, id, 1234), ==, 0);
	CHECK_INT(sql_int(path, "SELECT started_at FROM plays"), ==, 1234);
	catalog_close(cat);
}

static void test_plays(void)
{
	char path[4200];
	db_path(path, sizeof(path), "plays.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t tid = 0;
	time_t when = 0;
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, -ENOENT);
	int64_t a = put(cat, "/m/a.mp3", 1, 1);
	int64_t b = put(cat, "/m/b.mp3", 1, 1);
	CHECK_INT(catalog_play_add(cat, a, 1700000000), ==, 0);
	CHECK_INT(catalog_play_add(cat, b, 1700000300), ==, 0);
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, 0);
	CHECK_INT(tid, ==, b);
	CHECK_INT(when, ==, 1700000300);
	/* Same second: the later insertion is the last play. */
	CHECK_INT(catalog_play_add(cat, a, 1700000300), ==, 0);
	catalog_close(cat);

	cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, 0);
	CHECK_INT(tid, ==, a);
	CHECK_INT(when, ==, 1700000300);
	/* The wall clock stepped back an hour: the play added last is the
	 * last play, though an older one has a later time. */
	CHECK_INT(catalog_play_add(cat, b, 1700000300 - 3600), ==, 0);
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, 0);
	CHECK_INT(tid, ==, b);
	CHECK_INT(when, ==, 1700000300 - 3600);
	/* History may only name tracks that exist. */
	CHECK_INT(catalog_play_add(cat, 987654, 1700000400), ==, -ENOENT);
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, 0);
	CHECK_INT(tid, ==, b);
	/* By path (the download cache's eviction order): the latest play;
	 * -ENOENT for a track never played or a path not in the catalog. */
	CHECK_INT(catalog_path_last_played(cat, "/m/a.mp3", &when), ==, 0);
	CHECK_INT(when, ==, 1700000300);
	CHECK_INT(catalog_path_last_played(cat, "/m/b.mp3", &when), ==, 0);
	CHECK_INT(when, ==, 1700000300);
	put(cat, "/m/c.mp3", 1, 1);
	CHECK_INT(catalog_path_last_played(cat, "/m/c.mp3", &when), ==, -ENOENT);
	CHECK_INT(catalog_path_last_played(cat, "/m/none.mp3", &when), ==,
		  -ENOENT);
	catalog_close(cat);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM plays"), ==, 4);
}

static void test_playable_max(void)
{
	struct catalog *cat = catalog_open(":memory:");
	CHECK(cat);
	int64_t want[10];
	char p[64];
	for (int i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "/m/%d.mp3", 9 - i);
		want[i] = put(cat, p, 1, 1);
	}
	int64_t ids[4] = { 0, 0, 0, -7 };
	size_t n = 0;
	CHECK_INT(catalog_playable_ids(cat, ids, 3, &n), ==, 0);
	CHECK_INT(n, ==, 10);
	CHECK_INT(ids[0], ==, want[0]);
	CHECK_INT(ids[1], ==, want[1]);
	CHECK_INT(ids[2], ==, want[2]);
	CHECK_INT(ids[3], ==, -7);
	CHECK_INT(catalog_playable_ids(cat, NULL, 0, &n), ==, 0);
	CHECK_INT(n, ==, 10);
	catalog_close(cat);
}

struct thread_arg {
	struct catalog *cat;
	int base;
	int failures;
};

#define THREAD_PUTS 400

static void *thread_put(void *p)
{
	struct thread_arg *arg = p;
	struct decode_info info = info_make("artist", "title", 3.0, 96);
	char path[64];
	for (int i = 0; i < THREAD_PUTS; i++) {
		int64_t id = 0;
		snprintf(path, sizeof(path), "/t%d/%04d.mp3", arg->base, i);
		if (catalog_track_put(arg->cat, path, i, i, &info, &id) < 0)
			arg->failures++;
		if (i % 50 == 0 && catalog_play_add(arg->cat, id, i) < 0)
			arg->failures++;
	}
	return NULL;
}

static void *thread_read(void *p)
{
	struct thread_arg *arg = p;
	int64_t ids[THREAD_PUTS * 2];
	size_t last = 0;
	for (int round = 0; round < 200; round++) {
		size_t n = 0;
		if (catalog_playable_ids(arg->cat, ids, THREAD_PUTS * 2, &n) < 0
		    || n < last || n > THREAD_PUTS * 2)
			arg->failures++;
		for (size_t i = 1; i < n; i++)
			if (ids[i] <= ids[i - 1])
				arg->failures++;
		struct catalog_track t;
		if (n > 0 && catalog_track_get(arg->cat, ids[n - 1], &t) < 0)
			arg->failures++;
		last = n;
	}
	return NULL;
}

static void test_threads(void)
{
	char path[4200];
	db_path(path, sizeof(path), "threads.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	/* The scan starts before any thread writes: a put from before
	 * scan_begin is not part of the scan and would rightly be marked
	 * missing at its end. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	struct thread_arg w1 = { cat, 1, 0 };
	struct thread_arg w2 = { cat, 2, 0 };
	struct thread_arg r = { cat, 0, 0 };
	pthread_t t1, t2, t3;
	CHECK(pthread_create(&t1, NULL, thread_put, &w1) == 0);
	CHECK(pthread_create(&t2, NULL, thread_put, &w2) == 0);
	CHECK(pthread_create(&t3, NULL, thread_read, &r) == 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	CHECK_INT(w1.failures, ==, 0);
	CHECK_INT(w2.failures, ==, 0);
	CHECK_INT(r.failures, ==, 0);
	char *roots[] = { (char[]){ "/t1" }, (char[]){ "/t2" } };
	size_t missing = 9;
	CHECK_INT(catalog_scan_end(cat, roots, 2, &missing), ==, 0);
	CHECK_INT(missing, ==, 0);
	int64_t ids[1];
	CHECK_INT(playable(cat, ids, 1), ==, 2 * THREAD_PUTS);
	catalog_close(cat);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks"), ==,
		  2 * THREAD_PUTS);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM plays"), ==,
		  2 * THREAD_PUTS / 50);
}

/* ------------------------------------------------------------------ */
/* Schema v2: the analysis cache.                                      */

/* The v1 schema exactly as released (catalog_migrations[0]). */
static const char *const schema_v1 =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO meta (key, value) VALUES ('scan_generation', 0);"
	"CREATE TABLE tracks ("
	"  id INTEGER PRIMARY KEY,"
	"  path BLOB UNIQUE NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime INTEGER NOT NULL,"
	"  artist TEXT NOT NULL DEFAULT '',"
	"  title TEXT NOT NULL DEFAULT '',"
	"  duration_s REAL NOT NULL DEFAULT 0,"
	"  bitrate_kbps INTEGER NOT NULL DEFAULT 0,"
	"  bad_reason TEXT,"
	"  missing INTEGER NOT NULL DEFAULT 0,"
	"  seen_generation INTEGER NOT NULL DEFAULT 0,"
	"  added_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE TABLE plays ("
	"  id INTEGER PRIMARY KEY,"
	"  track_id INTEGER NOT NULL REFERENCES tracks (id),"
	"  started_at INTEGER NOT NULL"
	");"
	"CREATE INDEX plays_track ON plays (track_id);"
	"CREATE INDEX plays_started ON plays (started_at, id);";

#define HASH_A "0123456789abcdef0000000000001000"
#define HASH_B "fedcba98765432100000000000001000"

static struct analysis analysis_make(double bpm)
{
	struct analysis a;
	memset(&a, 0, sizeof(a));
	a.version = ANALYSIS_VERSION;
	a.duration_s = 201.5;
	a.bpm = bpm;
	a.bpm_confidence = 0.91;
	a.first_beat_s = 0.512;
	a.grid_confidence = 0.88;
	a.beats_per_bar = 4;
	a.downbeat_s = 0.512 + 3 * 60.0 / bpm;
	a.n_phrases = 2;
	a.phrases_s[0] = a.downbeat_s;
	a.phrases_s[1] = a.downbeat_s + 32 * 60.0 / bpm;
	a.phrase_bars = 8;
	a.audio_start_s = 0.01;
	a.audio_end_s = 201.0;
	a.intro_end_s = 15.0;
	a.outro_start_s = 185.0;
	a.loudness_lufs = -9.25;
	a.true_peak_db = -0.4;
	a.key = 21; /* A minor */
	snprintf(a.key_name, sizeof(a.key_name), "A minor");
	snprintf(a.camelot, sizeof(a.camelot), "8A");
	a.key_confidence = 0.7;
	a.chroma[9] = 1.0f;
	a.energy = 0.66;
	for (int i = 0; i < ANALYSIS_MFCC; i++) {
		a.mfcc_mean[i] = (float)i;
		a.mfcc_std[i] = (float)i / 2;
	}
	return a;
}

static size_t unanalysed(struct catalog *cat, int64_t *ids, size_t max)
{
	size_t n = 0;
	CHECK_INT(catalog_unanalysed_ids(cat, ids, max, &n), ==, 0);
	return n;
}

static void test_migrate_v1(void)
{
	char path[4200], sql[1024];
	db_path(path, sizeof(path), "v1.db");
	sql_exec(path, schema_v1);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO tracks (path, size, mtime, artist, title,"
		 " duration_s, bitrate_kbps, bad_reason, added_at, updated_at)"
		 " VALUES (CAST('/m/a.mp3' AS BLOB), 10, 20, 'Art', 'Tit',"
		 " 180.5, 192, NULL, 1, 2),"
		 " (CAST('/m/bad.mp3' AS BLOB), 1, 1, '', '', 0, 0,"
		 " 'not an audio file', 1, 2);"
		 "INSERT INTO plays (track_id, started_at) VALUES (1, 1234);"
		 "UPDATE meta SET value = 7 WHERE key = 'scan_generation';"
		 "PRAGMA user_version = 1;");
	sql_exec(path, sql);

	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==,
		  catalog_schema_version());
	CHECK_INT(catalog_schema_version(), >=, 2);
	struct catalog_track t;
	CHECK_INT(catalog_track_get(cat, 1, &t), ==, 0);
	CHECK_STR(t.path, "/m/a.mp3");
	CHECK_STR(t.artist, "Art");
	CHECK_STR(t.title, "Tit");
	CHECK_NEAR(t.duration_s, 180.5, 1e-9);
	CHECK_INT(t.bitrate_kbps, ==, 192);
	CHECK_STR(t.content_hash, "");
	CHECK_STR(t.bad_reason, "");
	CHECK_INT(catalog_track_get(cat, 2, &t), ==, 0);
	CHECK_STR(t.bad_reason, "not an audio file");
	int64_t id = 0;
	time_t when = 0;
	CHECK_INT(catalog_play_last(cat, &id, &when), ==, 0);
	CHECK_INT(id, ==, 1);
	CHECK_INT(when, ==, 1234);
	/* Its tags are read again once (v6: the album), the bad file not. */
	CHECK_INT(state_of(cat, "/m/a.mp3", 10, 20), ==, CATALOG_FILE_NEW);
	CHECK_INT(state_of(cat, "/m/bad.mp3", 1, 1), ==,
		  CATALOG_FILE_KNOWN_BAD);
	CHECK_INT(sql_int(path, "SELECT value FROM meta"
			  " WHERE key = 'scan_generation'"), ==, 7);

	/* Every migrated track is unanalysed; the bad one is not offered. */
	int64_t ids[8];
	CHECK_INT(unanalysed(cat, ids, 8), ==, 1);
	CHECK_INT(ids[0], ==, 1);
	struct analysis a;
	CHECK_INT(catalog_analysis_get(cat, 1, &a), ==, -ENOENT);
	struct analysis in = analysis_make(128.0);
	CHECK_INT(catalog_analysis_put(cat, 1, HASH_A, &in), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, 1, &a), ==, 0);
	CHECK(memcmp(&a, &in, sizeof(a)) == 0);
	catalog_close(cat);
}

/* catalog_tracks_read gives what the one-by-one reads give: tracks with
 * and without an analysis, a bad and a missing one, an analysis blob of
 * the wrong size (no analysis), a source's tags over the file's, unknown
 * ids and repeated ones, in a shuffled order over more than one page. */
static void test_tracks_read(void)
{
	char path[4200], name[64], hash[40], sql[256], root_path[] = "/bulk";
	db_path(path, sizeof(path), "bulk.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	enum { N_TRACKS = 150, N_IDS = 2 * CATALOG_READ_PAGE + 45 };
	int64_t id[N_TRACKS];
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	for (int i = 0; i < N_TRACKS; i++) {
		snprintf(name, sizeof(name), "/bulk/%03d.mp3", i);
		id[i] = put(cat, name, 1000 + i, 1);
		if (i % 7 == 3)
			continue; /* never analysed */
		struct analysis a = analysis_make(90.0 + i);
		a.energy = (double)i / N_TRACKS;
		snprintf(hash, sizeof(hash), "%016x%016x", i + 1, 77);
		CHECK_INT(catalog_analysis_put(cat, id[i], hash, &a), ==, 0);
	}
	char *root[] = { root_path };
	CHECK_INT(catalog_scan_end(cat, NULL, 0, NULL), ==, 0);
	CHECK_INT(catalog_track_bad(cat, id[11], "broken"), ==, 0);
	/* Missing: a scan of its root that did not meet it. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	for (int i = 0; i < N_TRACKS; i++) {
		enum catalog_file_state st;
		snprintf(name, sizeof(name), "/bulk/%03d.mp3", i);
		if (i != 20)
			CHECK_INT(catalog_file_state(cat, name, 1000 + i, 1,
						     &st), ==, 0);
	}
	size_t n_missing = 0;
	CHECK_INT(catalog_scan_end(cat, root, 1, &n_missing), ==, 0);
	CHECK_INT(n_missing, ==, 1);
	struct catalog_source_meta m = { .artist = "Feed Artist",
					 .album = "Feed Album",
					 .genre = "dub", .bpm = 120,
					 .over_tags = true };
	CHECK_INT(catalog_source_meta_put(cat, "/bulk/005.mp3", &m), ==, 0);
	/* An edited file: a blob of another size is no analysis. */
	snprintf(sql, sizeof(sql), "UPDATE analysis SET data = x'00'"
		 " WHERE content_hash = '%016x%016x'", 31, 77);
	sql_exec(path, sql);

	int64_t *ids = malloc(N_IDS * sizeof(*ids));
	struct catalog_track *bt = calloc(N_IDS, sizeof(*bt));
	struct catalog_track *ot = calloc(1, sizeof(*ot));
	struct analysis *ba = calloc(N_IDS, sizeof(*ba));
	struct analysis *oa = calloc(1, sizeof(*oa));
	enum catalog_read_state *state = malloc(N_IDS * sizeof(*state));
	CHECK(ids && bt && ot && ba && oa && state);
	uint64_t r = 12345;
	for (int k = 0; k < N_IDS; k++) {
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		ids[k] = k % 40 == 7 ? 100000 + k /* unknown */
				     : id[(r >> 33) % N_TRACKS];
	}
	ids[N_IDS - 1] = ids[0]; /* a repeat in another page */
	ids[1] = ids[2];         /* and in the same one */
	CHECK_INT(catalog_tracks_read(cat, ids, N_IDS, bt, ba, state), ==, 0);
	int seen[3] = { 0 };
	for (int k = 0; k < N_IDS; k++) {
		memset(ot, 0, sizeof(*ot));
		memset(oa, 0, sizeof(*oa));
		int trc = catalog_track_get(cat, ids[k], ot);
		int arc = catalog_analysis_get(cat, ids[k], oa);
		CHECK(trc == 0 || trc == -ENOENT);
		CHECK(arc == 0 || arc == -ENOENT);
		seen[state[k]]++;
		if (trc == -ENOENT) {
			CHECK_INT(state[k], ==, CATALOG_READ_NONE);
			continue;
		}
		CHECK_INT(state[k], ==, arc == 0 ? CATALOG_READ_ANALYSED
						 : CATALOG_READ_TRACK);
		CHECK(memcmp(&bt[k], ot, sizeof(*ot)) == 0);
		if (arc == 0)
			CHECK(memcmp(&ba[k], oa, sizeof(*oa)) == 0);
	}
	/* Each kind was there. */
	CHECK(seen[CATALOG_READ_NONE] > 0);
	CHECK(seen[CATALOG_READ_TRACK] > 0);
	CHECK(seen[CATALOG_READ_ANALYSED] > 0);
	/* The special tracks, asked for by name. */
	int64_t special[] = { id[11], id[20], id[5], id[30], id[3] };
	CHECK_INT(catalog_tracks_read(cat, special, 5, bt, ba, state), ==, 0);
	CHECK_STR(bt[0].bad_reason, "broken");
	CHECK_INT(state[0], ==, CATALOG_READ_ANALYSED);
	CHECK_INT(state[1], ==, CATALOG_READ_ANALYSED); /* missing: as get */
	CHECK_STR(bt[2].artist, "Feed Artist");
	CHECK_STR(bt[2].album, "Feed Album");
	CHECK_STR(bt[2].genre, "dub");
	CHECK_INT(state[3], ==, CATALOG_READ_TRACK); /* the wrong blob */
	CHECK_INT(state[4], ==, CATALOG_READ_TRACK); /* never analysed */
	CHECK_NEAR(ba[1].energy, 20.0 / N_TRACKS, 1e-12);
	/* Without analyses: tracks only. */
	CHECK_INT(catalog_tracks_read(cat, special, 5, bt, NULL, state), ==,
		  0);
	for (int k = 0; k < 5; k++)
		CHECK_INT(state[k], ==, CATALOG_READ_TRACK);
	CHECK_INT(catalog_tracks_read(cat, special, 0, bt, ba, state), ==, 0);
	free(ids);
	free(bt);
	free(ot);
	free(ba);
	free(oa);
	free(state);
	catalog_close(cat);
}

/* Schema v7: analysis and visuals of a v6 file (WITHOUT ROWID tables)
 * move to rowid tables with every row and column, and upserts still
 * replace by content hash. */
static void test_migrate_v6(void)
{
	char path[4200];
	db_path(path, sizeof(path), "v6.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t a = put(cat, "/v6/a.mp3", 1000, 1);
	struct analysis in = analysis_make(127.0);
	CHECK_INT(catalog_analysis_put(cat, a, HASH_A, &in), ==, 0);
	static struct visuals v, out;
	memset(&v, 0, sizeof(v));
	v.version = VISUALS_VERSION;
	v.peak_ms = 200;
	v.n_peaks = 3000;
	for (uint32_t i = 0; i < v.n_peaks; i++)
		v.peaks[i] = (uint8_t)(i * 3);
	v.colour = 0x102030;
	v.colour_from = VISUALS_COLOUR_TIMBRE;
	CHECK_INT(catalog_visuals_put(cat, HASH_A, &v), ==, 0);
	catalog_close(cat);
	/* Back to the v6 layout, rows kept. */
	sql_exec(path,
		 "CREATE TABLE a6 (content_hash TEXT PRIMARY KEY NOT NULL,"
		 " version INTEGER NOT NULL, duration_s REAL NOT NULL,"
		 " bpm REAL NOT NULL, bpm_confidence REAL NOT NULL,"
		 " first_beat_s REAL NOT NULL, grid_confidence REAL NOT NULL,"
		 " tempo_drift INTEGER NOT NULL, beats_per_bar INTEGER NOT NULL,"
		 " downbeat_s REAL NOT NULL, phrase_bars INTEGER NOT NULL,"
		 " audio_start_s REAL NOT NULL, audio_end_s REAL NOT NULL,"
		 " intro_end_s REAL NOT NULL, outro_start_s REAL NOT NULL,"
		 " key INTEGER NOT NULL, key_name TEXT NOT NULL,"
		 " camelot TEXT NOT NULL, key_confidence REAL NOT NULL,"
		 " loudness_lufs REAL NOT NULL, true_peak_db REAL NOT NULL,"
		 " energy REAL NOT NULL, data BLOB NOT NULL,"
		 " analysed_at INTEGER NOT NULL) WITHOUT ROWID;"
		 "INSERT INTO a6 SELECT content_hash, version, duration_s, bpm,"
		 " bpm_confidence, first_beat_s, grid_confidence, tempo_drift,"
		 " beats_per_bar, downbeat_s, phrase_bars, audio_start_s,"
		 " audio_end_s, intro_end_s, outro_start_s, key, key_name,"
		 " camelot, key_confidence, loudness_lufs, true_peak_db, energy,"
		 " data, analysed_at FROM analysis;"
		 "DROP TABLE analysis; ALTER TABLE a6 RENAME TO analysis;"
		 "CREATE TABLE v6 (content_hash TEXT PRIMARY KEY NOT NULL,"
		 " version INTEGER NOT NULL, peak_ms INTEGER NOT NULL,"
		 " peaks BLOB NOT NULL, colour INTEGER NOT NULL,"
		 " colour_from TEXT NOT NULL,"
		 " cover_type TEXT NOT NULL DEFAULT '',"
		 " cover_offset INTEGER NOT NULL DEFAULT 0,"
		 " cover_length INTEGER NOT NULL DEFAULT 0,"
		 " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
		 "INSERT INTO v6 SELECT content_hash, version, peak_ms, peaks,"
		 " colour, colour_from, cover_type, cover_offset, cover_length,"
		 " updated_at FROM visuals;"
		 "DROP TABLE visuals; ALTER TABLE v6 RENAME TO visuals;"
		 "PRAGMA user_version = 6;");
	CHECK_INT(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE"
			  " sql LIKE '%WITHOUT ROWID%'"
			  " AND name IN ('analysis', 'visuals')"), ==, 2);
	cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), ==,
		  catalog_schema_version());
	CHECK_INT(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE"
			  " sql LIKE '%WITHOUT ROWID%'"
			  " AND name IN ('analysis', 'visuals')"), ==, 0);
	struct analysis got;
	CHECK_INT(catalog_analysis_get(cat, a, &got), ==, 0);
	CHECK(memcmp(&got, &in, sizeof(got)) == 0);
	CHECK_INT(sql_int(path, "SELECT bpm = 127.0 AND camelot = '8A'"
			  " FROM analysis"), ==, 1);
	CHECK_INT(catalog_visuals_get(cat, a, &out), ==, 0);
	CHECK_INT(out.n_peaks, ==, 3000);
	CHECK(memcmp(out.peaks, v.peaks, v.n_peaks) == 0);
	CHECK_INT(out.colour, ==, 0x102030);
	/* The upserts replace by content hash: still one row each. */
	in.bpm = 131.0;
	CHECK_INT(catalog_analysis_put(cat, a, HASH_A, &in), ==, 0);
	v.colour = 0x405060;
	CHECK_INT(catalog_visuals_put(cat, HASH_A, &v), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, a, &got), ==, 0);
	CHECK_NEAR(got.bpm, 131.0, 1e-12);
	CHECK_INT(catalog_visuals_get(cat, a, &out), ==, 0);
	CHECK_INT(out.colour, ==, 0x405060);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM analysis"), ==, 1);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM visuals"), ==, 1);
	catalog_close(cat);
}

/* Schema v4: visuals by content, and the analyzer's work list. */
static void test_visuals(void)
{
	char path[4200];
	db_path(path, sizeof(path), "visuals.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t a = put(cat, "/v/a.mp3", 1000, 1);
	int64_t b = put(cat, "/v/b.mp3", 2000, 1);
	int64_t ids[8];
	size_t n;
	struct analysis in = analysis_make(128.0);
	CHECK_INT(catalog_analysis_put(cat, a, HASH_A, &in), ==, 0);
	CHECK_INT(catalog_analysis_put(cat, b, HASH_B, &in), ==, 0);
	/* Analysed, but without visuals (a catalog from before v4): still
	 * the analyzer's work, though not unanalysed. */
	CHECK_INT(unanalysed(cat, ids, 8), ==, 0);
	CHECK_INT(catalog_analyzer_todo_ids(cat, ids, 8, &n), ==, 0);
	CHECK_INT(n, ==, 2);

	static struct visuals v, out;
	memset(&v, 0, sizeof(v));
	v.version = VISUALS_VERSION;
	v.peak_ms = 100;
	v.n_peaks = 1234;
	for (uint32_t i = 0; i < v.n_peaks; i++)
		v.peaks[i] = (uint8_t)(i * 7);
	v.colour = 0x12ab34;
	v.colour_from = VISUALS_COLOUR_COVER;
	v.has_cover = true;
	snprintf(v.cover_type, sizeof(v.cover_type), "image/jpeg");
	v.cover_offset = 4096;
	v.cover_length = 30000;
	CHECK_INT(catalog_visuals_get(cat, a, &out), ==, -ENOENT);
	CHECK_INT(catalog_visuals_put(cat, HASH_A, &v), ==, 0);
	memset(&out, 0xff, sizeof(out));
	CHECK_INT(catalog_visuals_get(cat, a, &out), ==, 0);
	CHECK_INT(out.version, ==, VISUALS_VERSION);
	CHECK_INT(out.peak_ms, ==, 100);
	CHECK_INT(out.n_peaks, ==, 1234);
	CHECK(memcmp(out.peaks, v.peaks, v.n_peaks) == 0);
	CHECK_INT(out.colour, ==, 0x12ab34);
	CHECK_INT(out.colour_from, ==, VISUALS_COLOUR_COVER);
	CHECK(out.has_cover);
	CHECK_STR(out.cover_type, "image/jpeg");
	CHECK_INT(out.cover_offset, ==, 4096);
	CHECK_INT(out.cover_length, ==, 30000);
	CHECK_INT(catalog_analyzer_todo_ids(cat, ids, 8, &n), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_INT(ids[0], ==, b);

	/* A timbre colour, no cover, no peaks. */
	v.colour_from = VISUALS_COLOUR_TIMBRE;
	v.has_cover = false;
	v.cover_type[0] = '\0';
	v.cover_length = 0;
	v.n_peaks = 0;
	CHECK_INT(catalog_visuals_put(cat, HASH_B, &v), ==, 0);
	CHECK_INT(catalog_visuals_get(cat, b, &out), ==, 0);
	CHECK_INT(out.n_peaks, ==, 0);
	CHECK(!out.has_cover);
	CHECK_INT(out.cover_length, ==, 0);
	CHECK_INT(out.colour_from, ==, VISUALS_COLOUR_TIMBRE);
	CHECK_INT(catalog_analyzer_todo_ids(cat, ids, 8, &n), ==, 0);
	CHECK_INT(n, ==, 0);

	/* Changed content forgets them; bad input is refused. */
	put(cat, "/v/a.mp3", 1001, 1);
	CHECK_INT(catalog_visuals_get(cat, a, &out), ==, -ENOENT);
	CHECK_INT(catalog_visuals_put(cat, "0123", &v), ==, -EINVAL);
	v.n_peaks = VISUALS_PEAKS_MAX + 1;
	CHECK_INT(catalog_visuals_put(cat, HASH_A, &v), ==, -EINVAL);
	catalog_close(cat);
}

static void test_analysis_round_trip(void)
{
	char path[4200];
	db_path(path, sizeof(path), "analysis.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t a1 = put(cat, "/m/one.mp3", 1000, 1);
	int64_t a2 = put(cat, "/m/two.mp3", 2000, 1);
	int64_t ids[8];
	CHECK_INT(unanalysed(cat, ids, 8), ==, 2);
	CHECK_INT(ids[0], ==, a1);
	CHECK_INT(ids[1], ==, a2);

	struct analysis in = analysis_make(127.99), out;
	CHECK_INT(catalog_analysis_get(cat, a1, &out), ==, -ENOENT);
	CHECK_INT(catalog_analysis_put(cat, a1, HASH_A, &in), ==, 0);
	memset(&out, 0xff, sizeof(out));
	CHECK_INT(catalog_analysis_get(cat, a1, &out), ==, 0);
	CHECK(memcmp(&out, &in, sizeof(out)) == 0);
	CHECK_INT(unanalysed(cat, ids, 8), ==, 1);
	CHECK_INT(ids[0], ==, a2);
	struct catalog_track t;
	CHECK_INT(catalog_track_get(cat, a1, &t), ==, 0);
	CHECK_STR(t.content_hash, HASH_A);

	/* The queryable columns hold the struct's values. */
	CHECK_INT(sql_int(path, "SELECT round(bpm * 100) FROM analysis"),
		  ==, 12799);
	CHECK_INT(sql_int(path, "SELECT key FROM analysis"), ==, 21);
	CHECK_INT(sql_int(path, "SELECT camelot = '8A' AND key_name ="
			  " 'A minor' FROM analysis"), ==, 1);
	CHECK_INT(sql_int(path, "SELECT round(loudness_lufs * 100) FROM"
			  " analysis"), ==, -925);
	CHECK_INT(sql_int(path, "SELECT round(energy * 100) FROM analysis"),
		  ==, 66);
	CHECK_INT(sql_int(path, "SELECT version FROM analysis"), ==,
		  ANALYSIS_VERSION);

	/* Bad arguments. */
	CHECK_INT(catalog_analysis_put(cat, a2, "0123", &in), ==, -EINVAL);
	CHECK_INT(catalog_analysis_put(cat, a2, "0123456789ABCDEF", &in), ==,
		  -EINVAL);
	CHECK_INT(catalog_analysis_put(cat, a2, NULL, &in), ==, -EINVAL);
	CHECK_INT(catalog_analysis_put(cat, 999, HASH_B, &in), ==, -ENOENT);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM analysis"), ==, 1);
	CHECK_INT(catalog_track_set_hash(cat, 999, HASH_B), ==, -ENOENT);
	CHECK_INT(catalog_track_set_hash(cat, a2, "xyz"), ==, -EINVAL);
	struct analysis nan_a = in;
	nan_a.bpm = NAN;
	CHECK_INT(catalog_analysis_put(cat, a2, HASH_B, &nan_a), ==, -EINVAL);
	CHECK_INT(catalog_analysis_get(cat, 999, &out), ==, -ENOENT);

	/* A bad track is not offered for analysis but is listed. */
	CHECK_INT(catalog_track_bad(cat, a2, "analysis crashed"), ==, 0);
	CHECK_INT(unanalysed(cat, ids, 8), ==, 0);
	size_t n = 0;
	CHECK_INT(catalog_library_ids(cat, ids, 8, &n), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_INT(catalog_track_get(cat, a2, &t), ==, 0);
	CHECK_STR(t.bad_reason, "analysis crashed");
	catalog_close(cat);
}

static void test_analysis_versions(void)
{
	char path[4200];
	db_path(path, sizeof(path), "versions.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t id = put(cat, "/m/v.mp3", 1000, 1);
	struct analysis in = analysis_make(120.0), out;
	CHECK_INT(catalog_analysis_put(cat, id, HASH_A, &in), ==, 0);
	catalog_close(cat);

	/* An entry of an older analyzer is no analysis. */
	sql_exec(path, "UPDATE analysis SET version = version - 1");
	cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(catalog_analysis_get(cat, id, &out), ==, -ENOENT);
	int64_t ids[4];
	CHECK_INT(unanalysed(cat, ids, 4), ==, 1);
	/* Re-analysed: the old entry is replaced, not duplicated. */
	in.bpm = 121.0;
	CHECK_INT(catalog_analysis_put(cat, id, HASH_A, &in), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, id, &out), ==, 0);
	CHECK_NEAR(out.bpm, 121.0, 0);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM analysis"), ==, 1);
	CHECK_INT(unanalysed(cat, ids, 4), ==, 0);

	/* A newer analyzer's entry (a newer build sharing the file) is not
	 * overwritten by this one's. */
	catalog_close(cat);
	sql_exec(path, "UPDATE analysis SET version = version + 1, bpm = 99");
	cat = catalog_open(path);
	CHECK(cat);
	CHECK_INT(catalog_analysis_put(cat, id, HASH_A, &in), ==, 0);
	CHECK_INT(sql_int(path, "SELECT bpm FROM analysis"), ==, 99);
	CHECK_INT(sql_int(path, "SELECT version FROM analysis"), ==,
		  ANALYSIS_VERSION + 1);

	/* A blob of the wrong size (another build, an edit) is ignored. */
	sql_exec(path, "UPDATE analysis SET version = version - 1,"
		 " data = x'00112233'");
	CHECK_INT(catalog_analysis_get(cat, id, &out), ==, -ENOENT);
	catalog_close(cat);
}

static void test_analysis_content(void)
{
	char path[4200];
	db_path(path, sizeof(path), "content.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t a = put(cat, "/m/a.mp3", 1000, 1);
	int64_t b = put(cat, "/m/copy-of-a.mp3", 1000, 2);
	struct analysis in = analysis_make(128.0), out;
	CHECK_INT(catalog_analysis_put(cat, a, HASH_A, &in), ==, 0);

	/* The same content at another path shares the one entry. */
	CHECK_INT(catalog_analysis_get(cat, b, &out), ==, -ENOENT);
	CHECK_INT(catalog_track_set_hash(cat, b, HASH_A), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, b, &out), ==, 0);
	CHECK(memcmp(&out, &in, sizeof(out)) == 0);
	int64_t ids[4];
	CHECK_INT(unanalysed(cat, ids, 4), ==, 0);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM analysis"), ==, 1);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks"
			  " WHERE content_hash = '" HASH_A "'"), ==, 2);

	/* A rescan that finds the file unchanged keeps the hash. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	CHECK_INT(state_of(cat, "/m/a.mp3", 1000, 1), ==, CATALOG_FILE_KNOWN);
	CHECK_INT(catalog_scan_end(cat, NULL, 0, NULL), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, a, &out), ==, 0);
	/* Storing the same size and mtime again keeps it too. */
	put(cat, "/m/a.mp3", 1000, 1);
	CHECK_INT(catalog_analysis_get(cat, a, &out), ==, 0);

	/* Changed content: the track is unanalysed again; the other path's
	 * entry is kept. */
	CHECK_INT(put(cat, "/m/a.mp3", 1100, 3), ==, a);
	CHECK_INT(catalog_analysis_get(cat, a, &out), ==, -ENOENT);
	CHECK_INT(unanalysed(cat, ids, 4), ==, 1);
	CHECK_INT(ids[0], ==, a);
	struct catalog_track t;
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.content_hash, "");
	CHECK_INT(catalog_analysis_get(cat, b, &out), ==, 0);
	struct analysis in2 = analysis_make(90.0);
	CHECK_INT(catalog_analysis_put(cat, a, HASH_B, &in2), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, a, &out), ==, 0);
	CHECK_NEAR(out.bpm, 90.0, 0);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM analysis"), ==, 2);

	/* Changed back (or only touched): the old content's analysis is
	 * found by its hash, nothing to analyse. */
	put(cat, "/m/a.mp3", 1000, 4);
	CHECK_INT(unanalysed(cat, ids, 4), ==, 1);
	CHECK_INT(catalog_track_set_hash(cat, a, HASH_A), ==, 0);
	CHECK_INT(catalog_analysis_get(cat, a, &out), ==, 0);
	CHECK_NEAR(out.bpm, 128.0, 0);
	CHECK_INT(unanalysed(cat, ids, 4), ==, 0);

	/* During a scan, analysis writes join the scan's batch and are
	 * committed with it. */
	CHECK_INT(catalog_scan_begin(cat), ==, 0);
	int64_t c = put(cat, "/m/c.mp3", 5, 5);
	CHECK_INT(catalog_analysis_put(cat, c, HASH_B, &in2), ==, 0);
	CHECK_INT(catalog_scan_end(cat, NULL, 0, NULL), ==, 0);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks WHERE"
			  " content_hash = '" HASH_B "'"), ==, 1);
	catalog_close(cat);
}

/* The size of FILE, 0 when it does not exist. */
static off_t file_size(const char *dir, const char *name)
{
	char path[4300];
	struct stat st;
	snprintf(path, sizeof(path), "%s%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* How many lines of the file at PATH contain NEEDLE. */
static int lines_with(const char *path, const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* A full disk, simulated with RLIMIT_FSIZE at the current file sizes (the
 * WAL must grow for every commit, so every write fails): writes fail with a
 * clear errno, the database stays readable and intact, and plays kept in
 * memory (at most 256, the oldest dropped) arrive once space returns. */
static void test_disk_full(void)
{
	char path[4200];
	db_path(path, sizeof(path), "full.db");
	struct catalog *cat = catalog_open(path);
	CHECK(cat);
	int64_t a = put(cat, "/m/a.mp3", 1, 1);
	CHECK_INT(catalog_play_add(cat, a, 1000), ==, 0);

	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	off_t max = file_size(path, "-wal");
	if (file_size(path, "") > max)
		max = file_size(path, "");
	lim = old;
	lim.rlim_cur = (rlim_t)max;
	/* The log goes to a file (opened before the limit) to be counted. */
	char log_path[4300];
	snprintf(log_path, sizeof(log_path), "%s/full.log", tmp);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(log_fd >= 0);
	int saved_stderr = dup(STDERR_FILENO);
	CHECK(saved_stderr >= 0);
	CHECK(dup2(log_fd, STDERR_FILENO) == STDERR_FILENO);
	close(log_fd);
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	int rc = catalog_play_add(cat, a, 1001);
	CHECK(rc == -ENOSPC || rc == -EIO);
	for (time_t t = 1002; t <= 1300; t++) {
		rc = catalog_play_add(cat, a, t);
		CHECK(rc == -ENOSPC || rc == -EIO);
	}
	CHECK_INT(catalog_track_bad(cat, a, "x"), <, 0);
	int64_t tid = 0;
	time_t when = 0;
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, 0);
	CHECK_INT(when, ==, 1000);
	size_t n = 0;
	CHECK_INT(catalog_playable_ids(cat, &tid, 1, &n), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_DFL);
	/* 300 failed plays and a failed mark: one error line, one warning
	 * for the plays that did not fit, one line when writes work again
	 * (info: let it through). */
	log_set_level(LOG_LEVEL_INFO);

	/* Space is back: the 256 newest kept plays, then this one. */
	CHECK_INT(catalog_play_add(cat, a, 1301), ==, 0);
	CHECK_INT(catalog_play_last(cat, &tid, &when), ==, 0);
	CHECK_INT(when, ==, 1301);
	catalog_close(cat);
	CHECK(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
	close(saved_stderr);
	log_set_level(LOG_LEVEL_WARNING);
	CHECK_INT(lines_with(log_path, "catalog: "), ==, 3);
	CHECK_INT(lines_with(log_path, "at most once every 60 s"), ==, 1);
	CHECK_INT(lines_with(log_path, "44 plays were not recorded"), ==, 1);
	CHECK_INT(lines_with(log_path, "writes work again after 301 failures"),
		  ==, 1);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM plays"), ==, 258);
	CHECK_INT(sql_int(path, "SELECT min(started_at) FROM plays "
			  "WHERE started_at > 1000"), ==, 1045);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM pragma_integrity_check "
			  "WHERE integrity_check = 'ok'"), ==, 1);
	CHECK_INT(sql_int(path, "SELECT count(*) FROM tracks "
			  "WHERE bad_reason IS NULL"), ==, 1);
}

/* catalog_source_meta_put() with artist, title, duration and over_tags
 * only. */
static int meta_put(struct catalog *cat, const char *path, const char *artist,
		    const char *title, double duration_s, bool over_tags)
{
	struct catalog_source_meta m = {
		.artist = artist, .title = title, .duration_s = duration_s,
		.over_tags = over_tags,
	};
	return catalog_source_meta_put(cat, path, &m);
}

/* Schema v3 and v4: a feed's artist and title win over the file's tags,
 * field by field; the decoded duration wins over the feed's; metadata
 * given before the scan meets the file applies once it does, and a file
 * that changes keeps it (it is the download cache's file, named by
 * content); album, genre, BPM and cover URL come as they are. */
static void test_source_meta(void)
{
	struct catalog *cat = catalog_open(":memory:");
	struct catalog_track t;
	CHECK(cat != NULL);

	CHECK_INT(meta_put(cat, "/c/tracks/a.mp3", "Feed Artist",
					  "Feed Title", 200.0, true), ==, 0);
	struct decode_info none = info_make("", "", 0.0, 128);
	int64_t a = -1;
	CHECK_INT(catalog_track_put(cat, "/c/tracks/a.mp3", 1, 1, &none, &a),
		  ==, 0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.artist, "Feed Artist");
	CHECK_STR(t.title, "Feed Title");
	CHECK(t.duration_s == 200.0);

	/* Tags present: the feed's fields still win; an empty feed field
	 * leaves the tag; the decoded duration wins. */
	int64_t b = put(cat, "/c/tracks/b.mp3", 1, 1);
	CHECK_INT(meta_put(cat, "/c/tracks/b.mp3", "", "Curated",
					  30.0, true), ==, 0);
	CHECK_INT(catalog_track_get(cat, b, &t), ==, 0);
	CHECK_STR(t.artist, "A");
	CHECK_STR(t.title, "Curated");
	CHECK(t.duration_s == 60.0);
	/* Replaced, not added; NULL is "not given". */
	CHECK_INT(meta_put(cat, "/c/tracks/b.mp3", "New", NULL,
					  0, true), ==, 0);
	CHECK_INT(catalog_track_get(cat, b, &t), ==, 0);
	CHECK_STR(t.artist, "New");
	CHECK_STR(t.title, "T");

	/* Not over the tags (RSS): only what the file lacks. */
	CHECK_INT(meta_put(cat, "/c/tracks/b.mp3", "Post Author",
					  "Episode 12", 0, false), ==, 0);
	CHECK_INT(catalog_track_get(cat, b, &t), ==, 0);
	CHECK_STR(t.artist, "A");
	CHECK_STR(t.title, "T");
	CHECK_INT(meta_put(cat, "/c/tracks/a.mp3", "Post Author",
					  "Episode 12", 0, false), ==, 0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.artist, "Post Author");
	CHECK_STR(t.title, "Episode 12");

	/* Schema v4: album, genre, the BPM hint and the cover art URL come
	 * as they are; a new put replaces them. */
	struct catalog_source_meta m = {
		.artist = "Feed Artist", .title = "Feed Title",
		.album = "Feed Album", .genre = "House",
		.cover_url = "http://127.0.0.1:1/rest/getCoverArt?id=al-1",
		.bpm = 124.5, .over_tags = true,
	};
	CHECK_INT(catalog_source_meta_put(cat, "/c/tracks/a.mp3", &m), ==, 0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.album, "Feed Album");
	CHECK_STR(t.genre, "House");
	CHECK_STR(t.cover_url, "http://127.0.0.1:1/rest/getCoverArt?id=al-1");
	CHECK(t.bpm_hint == 124.5);
	m.album = NULL;
	m.bpm = 5000;           /* not a tempo: not kept */
	CHECK_INT(catalog_source_meta_put(cat, "/c/tracks/a.mp3", &m), ==, 0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.album, "");
	CHECK(t.bpm_hint == 0);

	/* Other tracks are untouched. */
	int64_t c = put(cat, "/music/c.mp3", 1, 1);
	CHECK_INT(catalog_track_get(cat, c, &t), ==, 0);
	CHECK_STR(t.artist, "A");
	CHECK_STR(t.title, "T");
	CHECK_STR(t.album, "");
	CHECK_STR(t.genre, "");
	CHECK_STR(t.cover_url, "");
	CHECK(t.bpm_hint == 0);
	catalog_close(cat);
}

/* Schema v6: the album of a file's own tags, under a feed's when the feed
 * says so (over_tags) and above it when not; a playable row written before
 * the tags it now keeps (tags_version 0) is read again once at the next
 * scan, its content hash (and so its analysis) kept; a bad one stays bad. */
static void test_file_album(void)
{
	char path[4200];
	db_path(path, sizeof(path), "album.db");
	struct catalog *cat = catalog_open(path);
	struct catalog_track t;
	CHECK(cat != NULL);

	struct decode_info info = info_make("Artist", "Title", 60.0, 128);
	snprintf(info.album, sizeof(info.album), "%s", "Long Player");
	int64_t a = -1, b = -1;
	CHECK_INT(catalog_track_put(cat, "/m/a.flac", 10, 1, &info, &a), ==,
		  0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.album, "Long Player");
	b = put(cat, "/m/b.flac", 10, 1);
	CHECK_INT(catalog_track_get(cat, b, &t), ==, 0);
	CHECK_STR(t.album, "");

	struct catalog_source_meta m = { .album = "Feed Album" };
	CHECK_INT(catalog_source_meta_put(cat, "/m/a.flac", &m), ==, 0);
	CHECK_INT(catalog_source_meta_put(cat, "/m/b.flac", &m), ==, 0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.album, "Long Player");
	CHECK_INT(catalog_track_get(cat, b, &t), ==, 0);
	CHECK_STR(t.album, "Feed Album");
	m.over_tags = true;
	CHECK_INT(catalog_source_meta_put(cat, "/m/a.flac", &m), ==, 0);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.album, "Feed Album");

	/* Rows as a build before v6 left them. */
	struct analysis an = analysis_make(120);
	CHECK_INT(catalog_analysis_put(cat, a, HASH_A, &an), ==, 0);
	CHECK_INT(catalog_file_bad(cat, "/m/bad.ogg", 5, 9, "not audio"), ==,
		  0);
	sql_exec(path, "UPDATE tracks SET tags_version = 0, album = ''");
	CHECK_INT(state_of(cat, "/m/a.flac", 10, 1), ==, CATALOG_FILE_NEW);
	CHECK_INT(state_of(cat, "/m/bad.ogg", 5, 9), ==,
		  CATALOG_FILE_KNOWN_BAD);
	CHECK_INT(catalog_track_put(cat, "/m/a.flac", 10, 1, &info, NULL), ==,
		  0);
	CHECK_INT(state_of(cat, "/m/a.flac", 10, 1), ==, CATALOG_FILE_KNOWN);
	CHECK_INT(catalog_track_get(cat, a, &t), ==, 0);
	CHECK_STR(t.content_hash, HASH_A);
	CHECK_INT(catalog_analysis_get(cat, a, &an), ==, 0);
	CHECK_INT(sql_int(path, "SELECT album = 'Long Player' FROM tracks"
			  " WHERE CAST(path AS TEXT) = '/m/a.flac'"), ==, 1);
	catalog_close(cat);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s", test_tmpdir("catalog"));
	/* Expected failures log errors; keep the output readable. */
	log_set_level(LOG_LEVEL_WARNING);

	test_create_and_reopen();
	test_newer_schema_refused();
	test_migrate_v0();
	test_bad_database_file();
	test_round_trip();
	test_file_state();
	test_bad_files();
	test_scan_generations();
	test_batch_visibility();
	test_plays();
	test_playable_max();
	test_threads();
	test_migrate_v1();
	test_analysis_round_trip();
	test_analysis_versions();
	test_analysis_content();
	test_disk_full();
	test_source_meta();
	test_file_album();
	test_visuals();
	test_tracks_read();
	test_migrate_v6();

	test_sh("rm -rf '%s'", tmp);
	return 0;
}
