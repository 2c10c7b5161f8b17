/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * catalog — the SQLite database: tracks, bad files, play history and the
 * analysis cache. See catalog.h for the contract and doc/catalog.md for the
 * schema and how to add a migration.
 *
 * DESIGN
 * One connection per struct catalog, used only under the catalog's mutex, so
 * SQLite's own per-connection mutex is switched off (SQLITE_OPEN_NOMUTEX).
 * Every statement is prepared once at open and reset after each use.
 *
 * Paths are stored as BLOBs, not TEXT: a file name is a byte string, and a
 * BLOB is compared with memcmp and returned byte for byte, so a Latin-1 name
 * from an old disk round-trips exactly. Because BLOBs sort by memcmp, "every
 * path under the directory R" is the index range [R "/", R "0") — '0' is the
 * byte after '/' — which gives the directory-boundary rule for free: "/music"
 * never matches "/music2/x.mp3".
 *
 * Scans batch their writes. Between catalog_scan_begin() and
 * catalog_scan_end() writes go into one open transaction that is committed
 * every CATALOG_BATCH_WRITES writes or CATALOG_BATCH_MS milliseconds (checked
 * at each write), so a first scan of thousands of files does not pay one WAL
 * commit per file and a rescan's "seen" marks cost almost nothing. Other
 * connections wait at most about that long for the write lock. Outside a scan
 * every write commits at once. If SQLite rolls an open batch back on an
 * error, the files in it are simply read again at the next scan.
 *
 * Scan generations: meta.scan_generation counts scans; every row the scan
 * meets gets seen_generation = the current value; catalog_scan_end() marks
 * rows under the roots whose seen_generation is older as missing.
 *
 * Storage trouble: a full disk, a file system gone read-only or an I/O
 * error is not the station's fault and usually passes. Such failures are
 * logged when they start, then at most once every CATALOG_ERROR_LOG_S with
 * a count, and once more when a write succeeds again, so a station playing
 * short tracks on a full disk does not fill its log. A play that cannot be
 * recorded is kept in memory (at most CATALOG_PENDING_PLAYS, the oldest
 * dropped first with one log line) and written before the next one.
 *
 * Analysis cache: analyses are rows keyed by content hash, not by track, so
 * that duplicates share one and a track that changes back to old content
 * finds its old analysis. A track points at its content through
 * tracks.content_hash, which the upsert forgets when size or mtime change;
 * "unanalysed" is then simply "no analysis row of this version for the
 * track's hash". The row has the fields a planner filters or sorts on as
 * columns and the whole struct analysis as a BLOB, which is what get()
 * returns: adding a field to struct analysis (and bumping ANALYSIS_VERSION)
 * needs no migration.
 */
#include "autoconfig.h"

#include "catalog.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "visuals.h"

#define CATALOG_BUSY_TIMEOUT_MS 5000
#define CATALOG_BATCH_WRITES 512
#define CATALOG_BATCH_MS 500
#define CATALOG_ERROR_LOG_S 60
#define CATALOG_PENDING_PLAYS 256

/*
 * Migrations: entry i brings a database from user_version i to i + 1. Never
 * edit an entry that has been released; append a new one. doc/catalog.md
 * describes every version.
 */
static const char *const catalog_migrations[] = {
	/* 0 -> 1: tracks, play history, scan generation. */
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
	"CREATE INDEX plays_started ON plays (started_at, id);",

	/* 1 -> 2: the analysis cache, keyed by content hash. */
	"ALTER TABLE tracks ADD COLUMN content_hash TEXT;"
	"CREATE INDEX tracks_content_hash ON tracks (content_hash);"
	"CREATE TABLE analysis ("
	"  content_hash TEXT PRIMARY KEY NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  duration_s REAL NOT NULL,"
	"  bpm REAL NOT NULL,"
	"  bpm_confidence REAL NOT NULL,"
	"  first_beat_s REAL NOT NULL,"
	"  grid_confidence REAL NOT NULL,"
	"  tempo_drift INTEGER NOT NULL,"
	"  beats_per_bar INTEGER NOT NULL,"
	"  downbeat_s REAL NOT NULL,"
	"  phrase_bars INTEGER NOT NULL,"
	"  audio_start_s REAL NOT NULL,"
	"  audio_end_s REAL NOT NULL,"
	"  intro_end_s REAL NOT NULL,"
	"  outro_start_s REAL NOT NULL,"
	"  key INTEGER NOT NULL,"
	"  key_name TEXT NOT NULL,"
	"  camelot TEXT NOT NULL,"
	"  key_confidence REAL NOT NULL,"
	"  loudness_lufs REAL NOT NULL,"
	"  true_peak_db REAL NOT NULL,"
	"  energy REAL NOT NULL,"
	"  data BLOB NOT NULL,"
	"  analysed_at INTEGER NOT NULL"
	") WITHOUT ROWID;",

	/* 2 -> 3: what a feed says of the tracks it served. */
	"CREATE TABLE source_meta ("
	"  path BLOB PRIMARY KEY NOT NULL,"
	"  artist TEXT NOT NULL DEFAULT '',"
	"  title TEXT NOT NULL DEFAULT '',"
	"  duration_s REAL NOT NULL DEFAULT 0,"
	"  over_tags INTEGER NOT NULL DEFAULT 1,"
	"  updated_at INTEGER NOT NULL"
	") WITHOUT ROWID;",

	/* 3 -> 4: a feed's album, genre, BPM (a hint) and cover art URL. */
	"ALTER TABLE source_meta ADD COLUMN album TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE source_meta ADD COLUMN genre TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE source_meta ADD COLUMN bpm REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE source_meta ADD COLUMN cover_url TEXT NOT NULL"
	"  DEFAULT '';",
	/* 4 -> 5: the listener page's waveforms and colours, and where
	 * each cover lies in its file; keyed by content, as analyses. */
	"CREATE TABLE visuals ("
	"  content_hash TEXT PRIMARY KEY NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  peak_ms INTEGER NOT NULL,"
	"  peaks BLOB NOT NULL,"
	"  colour INTEGER NOT NULL,"
	"  colour_from TEXT NOT NULL,"
	"  cover_type TEXT NOT NULL DEFAULT '',"
	"  cover_offset INTEGER NOT NULL DEFAULT 0,"
	"  cover_length INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 5 -> 6: the album of a file's own tags, and which tags a row
	 * holds: a file scanned before (tags_version 0) has its tags read
	 * again at the next scan (catalog_file_state), its analysis kept. */
	"ALTER TABLE tracks ADD COLUMN album TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE tracks ADD COLUMN tags_version INTEGER NOT NULL"
	"  DEFAULT 0;",
	/* 6 -> 7: analysis and visuals as rowid tables with a unique
	 * content_hash. WITHOUT ROWID, every interior cell held a whole
	 * row (kilobytes, spilling to overflow pages), so one lookup read
	 * about 13 pages: 100 000 lookups in play order took 8 s, and take
	 * 2 s now (doc/catalog.md, version 7). Same columns, same rows. */
	"CREATE TABLE analysis7 ("
	"  id INTEGER PRIMARY KEY,"
	"  content_hash TEXT UNIQUE NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  duration_s REAL NOT NULL,"
	"  bpm REAL NOT NULL,"
	"  bpm_confidence REAL NOT NULL,"
	"  first_beat_s REAL NOT NULL,"
	"  grid_confidence REAL NOT NULL,"
	"  tempo_drift INTEGER NOT NULL,"
	"  beats_per_bar INTEGER NOT NULL,"
	"  downbeat_s REAL NOT NULL,"
	"  phrase_bars INTEGER NOT NULL,"
	"  audio_start_s REAL NOT NULL,"
	"  audio_end_s REAL NOT NULL,"
	"  intro_end_s REAL NOT NULL,"
	"  outro_start_s REAL NOT NULL,"
	"  key INTEGER NOT NULL,"
	"  key_name TEXT NOT NULL,"
	"  camelot TEXT NOT NULL,"
	"  key_confidence REAL NOT NULL,"
	"  loudness_lufs REAL NOT NULL,"
	"  true_peak_db REAL NOT NULL,"
	"  energy REAL NOT NULL,"
	"  data BLOB NOT NULL,"
	"  analysed_at INTEGER NOT NULL"
	");"
	"INSERT INTO analysis7 (content_hash, version, duration_s, bpm,"
	"  bpm_confidence, first_beat_s, grid_confidence, tempo_drift,"
	"  beats_per_bar, downbeat_s, phrase_bars, audio_start_s,"
	"  audio_end_s, intro_end_s, outro_start_s, key, key_name, camelot,"
	"  key_confidence, loudness_lufs, true_peak_db, energy, data,"
	"  analysed_at)"
	" SELECT content_hash, version, duration_s, bpm, bpm_confidence,"
	"  first_beat_s, grid_confidence, tempo_drift, beats_per_bar,"
	"  downbeat_s, phrase_bars, audio_start_s, audio_end_s,"
	"  intro_end_s, outro_start_s, key, key_name, camelot,"
	"  key_confidence, loudness_lufs, true_peak_db, energy, data,"
	"  analysed_at FROM analysis;"
	"DROP TABLE analysis;"
	"ALTER TABLE analysis7 RENAME TO analysis;"
	"CREATE TABLE visuals7 ("
	"  id INTEGER PRIMARY KEY,"
	"  content_hash TEXT UNIQUE NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  peak_ms INTEGER NOT NULL,"
	"  peaks BLOB NOT NULL,"
	"  colour INTEGER NOT NULL,"
	"  colour_from TEXT NOT NULL,"
	"  cover_type TEXT NOT NULL DEFAULT '',"
	"  cover_offset INTEGER NOT NULL DEFAULT 0,"
	"  cover_length INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL"
	");"
	"INSERT INTO visuals7 (content_hash, version, peak_ms, peaks, colour,"
	"  colour_from, cover_type, cover_offset, cover_length, updated_at)"
	" SELECT content_hash, version, peak_ms, peaks, colour, colour_from,"
	"  cover_type, cover_offset, cover_length, updated_at FROM visuals;"
	"DROP TABLE visuals;"
	"ALTER TABLE visuals7 RENAME TO visuals;",
};

/* What a track row's tags hold (tracks.tags_version): 1, artist, title
 * and album. A row of an older version is read again from its file. */
#define CATALOG_TAGS_VERSION 1

#define CATALOG_SCHEMA_VERSION \
	((int)(sizeof(catalog_migrations) / sizeof(catalog_migrations[0])))

enum catalog_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_GEN_BUMP,
	STMT_GEN_GET,
	STMT_STATE,
	STMT_SEEN,
	STMT_UPSERT,
	STMT_ID_BY_PATH,
	STMT_TRACK_BAD,
	STMT_PLAYABLE,
	STMT_TRACK_GET,
	STMT_TRACKS_READ,
	STMT_BAD_COUNT,
	STMT_MARK_MISSING,
	STMT_PLAY_ADD,
	STMT_PLAY_LAST,
	STMT_PATH_LAST_PLAYED,
	STMT_LIBRARY,
	STMT_SET_HASH,
	STMT_ANALYSIS_GET,
	STMT_ANALYSIS_PUT,
	STMT_UNANALYSED,
	STMT_SOURCE_META_PUT,
	STMT_VISUALS_GET,
	STMT_VISUALS_PUT,
	STMT_ANALYZER_TODO,
	STMT_COUNT,
};

/* A track's columns (catalog_track_row). A source's artist, title and
 * album win over the file's tags when it says so (over_tags), else fill
 * those missing; the decoded duration wins over the source's
 * (doc/catalog.md, versions 3, 4 and 6). */
#define CATALOG_TRACK_COLUMNS "t.path," \
	" CASE WHEN m.artist <> '' AND (m.over_tags OR t.artist = '')" \
	" THEN m.artist ELSE t.artist END," \
	" CASE WHEN m.title <> '' AND (m.over_tags OR t.title = '')" \
	" THEN m.title ELSE t.title END," \
	" CASE WHEN t.duration_s > 0 THEN t.duration_s" \
	" ELSE coalesce(m.duration_s, 0) END," \
	" t.bitrate_kbps, t.content_hash, t.bad_reason," \
	" CASE WHEN m.album <> '' AND (m.over_tags OR t.album = '')" \
	" THEN m.album ELSE t.album END, coalesce(m.genre, '')," \
	" coalesce(m.bpm, 0), coalesce(m.cover_url, '')"
#define CATALOG_TRACK_NCOLS 11
/* CATALOG_READ_PAGE parameters after ?1. */
#define CATALOG_PARAMS_8 "?,?,?,?,?,?,?,?"
#define CATALOG_PARAMS_64 CATALOG_PARAMS_8 "," CATALOG_PARAMS_8 "," \
	CATALOG_PARAMS_8 "," CATALOG_PARAMS_8 "," CATALOG_PARAMS_8 "," \
	CATALOG_PARAMS_8 "," CATALOG_PARAMS_8 "," CATALOG_PARAMS_8

static const char *const catalog_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_GEN_BUMP] = "UPDATE meta SET value = value + 1"
		" WHERE key = 'scan_generation'",
	[STMT_GEN_GET] = "SELECT value FROM meta WHERE key = 'scan_generation'",
	[STMT_STATE] = "SELECT id, size, mtime, bad_reason IS NOT NULL,"
		" missing, seen_generation, tags_version FROM tracks"
		" WHERE path = ?1",
	[STMT_SEEN] = "UPDATE tracks SET seen_generation = ?2, missing = 0"
		" WHERE id = ?1",
	/* Shared by track_put (reason NULL) and file_bad (tags empty). */
	[STMT_UPSERT] = "INSERT INTO tracks (path, size, mtime, artist, title,"
		" duration_s, bitrate_kbps, bad_reason, missing,"
		" seen_generation, added_at, updated_at, album, tags_version)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?10, ?11,"
		" ?12)"
		" ON CONFLICT (path) DO UPDATE SET size = excluded.size,"
		" mtime = excluded.mtime, artist = excluded.artist,"
		" title = excluded.title, album = excluded.album,"
		" tags_version = excluded.tags_version,"
		" duration_s = excluded.duration_s,"
		" bitrate_kbps = excluded.bitrate_kbps,"
		" bad_reason = excluded.bad_reason, missing = 0,"
		" seen_generation = excluded.seen_generation,"
		" updated_at = excluded.updated_at,"
		/* SET sees the old row: a changed file loses its hash. */
		" content_hash = CASE WHEN size = excluded.size"
		" AND mtime = excluded.mtime THEN content_hash END",
	[STMT_ID_BY_PATH] = "SELECT id FROM tracks WHERE path = ?1",
	[STMT_TRACK_BAD] = "UPDATE tracks SET bad_reason = ?2, updated_at = ?3"
		" WHERE id = ?1",
	[STMT_PLAYABLE] = "SELECT id FROM tracks"
		" WHERE bad_reason IS NULL AND missing = 0 ORDER BY id",
	[STMT_TRACK_GET] = "SELECT " CATALOG_TRACK_COLUMNS
		" FROM tracks t LEFT JOIN source_meta m ON m.path = t.path"
		" WHERE t.id = ?1",
	/* CATALOG_READ_PAGE ids at once (?2 ...; NULL for none), with
	 * their analyses of version ?1: the rows come in any order. */
	[STMT_TRACKS_READ] = "SELECT " CATALOG_TRACK_COLUMNS ", t.id, a.data"
		" FROM tracks t LEFT JOIN source_meta m ON m.path = t.path"
		" LEFT JOIN analysis a ON a.content_hash = t.content_hash"
		" AND a.version = ?1"
		" WHERE t.id IN (" CATALOG_PARAMS_64 ")",
	[STMT_BAD_COUNT] = "SELECT count(*) FROM tracks"
		" WHERE bad_reason IS NOT NULL AND missing = 0",
	/* ?1 the root itself, [?2, ?3) everything below it. */
	[STMT_MARK_MISSING] = "UPDATE tracks SET missing = 1, updated_at = ?5"
		" WHERE missing = 0 AND seen_generation < ?4"
		" AND (path = ?1 OR (path >= ?2 AND path < ?3))",
	[STMT_PLAY_ADD] = "INSERT INTO plays (track_id, started_at)"
		" VALUES (?1, ?2)",
	/* The last one added, not the latest started_at: plays are added
	 * in the order they are heard, and a wall clock stepped back must
	 * not make an older play the last one. */
	[STMT_PLAY_LAST] = "SELECT track_id, started_at FROM plays"
		" ORDER BY id DESC LIMIT 1",
	[STMT_PATH_LAST_PLAYED] = "SELECT max(p.started_at) FROM tracks t"
		" JOIN plays p ON p.track_id = t.id WHERE t.path = ?1",
	[STMT_LIBRARY] = "SELECT id FROM tracks WHERE missing = 0 ORDER BY id",
	[STMT_SET_HASH] = "UPDATE tracks SET content_hash = ?2 WHERE id = ?1",
	[STMT_ANALYSIS_GET] = "SELECT a.data FROM tracks t JOIN analysis a"
		" ON a.content_hash = t.content_hash"
		" WHERE t.id = ?1 AND a.version = ?2",
	/* An entry of a newer analyzer (a newer build sharing the file) is
	 * not replaced by an older one. */
	[STMT_ANALYSIS_PUT] = "INSERT INTO analysis (content_hash, version,"
		" duration_s, bpm, bpm_confidence, first_beat_s,"
		" grid_confidence, tempo_drift, beats_per_bar, downbeat_s,"
		" phrase_bars, audio_start_s, audio_end_s, intro_end_s,"
		" outro_start_s, key, key_name, camelot, key_confidence,"
		" loudness_lufs, true_peak_db, energy, data, analysed_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
		" ON CONFLICT (content_hash) DO UPDATE SET"
		" version = excluded.version, duration_s = excluded.duration_s,"
		" bpm = excluded.bpm, bpm_confidence = excluded.bpm_confidence,"
		" first_beat_s = excluded.first_beat_s,"
		" grid_confidence = excluded.grid_confidence,"
		" tempo_drift = excluded.tempo_drift,"
		" beats_per_bar = excluded.beats_per_bar,"
		" downbeat_s = excluded.downbeat_s,"
		" phrase_bars = excluded.phrase_bars,"
		" audio_start_s = excluded.audio_start_s,"
		" audio_end_s = excluded.audio_end_s,"
		" intro_end_s = excluded.intro_end_s,"
		" outro_start_s = excluded.outro_start_s, key = excluded.key,"
		" key_name = excluded.key_name, camelot = excluded.camelot,"
		" key_confidence = excluded.key_confidence,"
		" loudness_lufs = excluded.loudness_lufs,"
		" true_peak_db = excluded.true_peak_db,"
		" energy = excluded.energy, data = excluded.data,"
		" analysed_at = excluded.analysed_at"
		" WHERE excluded.version >= analysis.version",
	/* Unchanged metadata is not written again (a feed is read every
	 * refresh_minutes with the same answer). */
	[STMT_SOURCE_META_PUT] = "INSERT INTO source_meta (path, artist,"
		" title, duration_s, over_tags, updated_at, album, genre, bpm,"
		" cover_url)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (path) DO UPDATE SET artist = excluded.artist,"
		" title = excluded.title, duration_s = excluded.duration_s,"
		" over_tags = excluded.over_tags,"
		" updated_at = excluded.updated_at, album = excluded.album,"
		" genre = excluded.genre, bpm = excluded.bpm,"
		" cover_url = excluded.cover_url"
		" WHERE artist IS NOT excluded.artist"
		" OR title IS NOT excluded.title"
		" OR duration_s IS NOT excluded.duration_s"
		" OR over_tags IS NOT excluded.over_tags"
		" OR album IS NOT excluded.album OR genre IS NOT excluded.genre"
		" OR bpm IS NOT excluded.bpm"
		" OR cover_url IS NOT excluded.cover_url",
	[STMT_VISUALS_GET] = "SELECT v.peak_ms, v.peaks, v.colour,"
		" v.colour_from, v.cover_type, v.cover_offset, v.cover_length"
		" FROM tracks t JOIN visuals v ON v.content_hash = t.content_hash"
		" WHERE t.id = ?1 AND v.version = ?2",
	[STMT_VISUALS_PUT] = "INSERT INTO visuals (content_hash, version,"
		" peak_ms, peaks, colour, colour_from, cover_type,"
		" cover_offset, cover_length, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (content_hash) DO UPDATE SET"
		" version = excluded.version, peak_ms = excluded.peak_ms,"
		" peaks = excluded.peaks, colour = excluded.colour,"
		" colour_from = excluded.colour_from,"
		" cover_type = excluded.cover_type,"
		" cover_offset = excluded.cover_offset,"
		" cover_length = excluded.cover_length,"
		" updated_at = excluded.updated_at"
		" WHERE excluded.version >= visuals.version",
	[STMT_ANALYZER_TODO] = "SELECT t.id FROM tracks t"
		" WHERE t.bad_reason IS NULL AND t.missing = 0"
		" AND (NOT EXISTS (SELECT 1 FROM analysis a"
		" WHERE a.content_hash = t.content_hash AND a.version = ?1)"
		" OR NOT EXISTS (SELECT 1 FROM visuals v"
		" WHERE v.content_hash = t.content_hash AND v.version = ?2))"
		" ORDER BY t.id",
	[STMT_UNANALYSED] = "SELECT t.id FROM tracks t"
		" WHERE t.bad_reason IS NULL AND t.missing = 0"
		" AND NOT EXISTS (SELECT 1 FROM analysis a"
		" WHERE a.content_hash = t.content_hash AND a.version = ?1)"
		" ORDER BY t.id",
};

struct catalog {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
	int64_t generation;
	bool scanning;
	bool in_batch;
	size_t batch_writes;
	struct timespec batch_started;
	/* Storage trouble (see DESIGN): failing from the first failure to
	 * the next successful write; failures counts those not yet logged,
	 * failures_total all of them. */
	bool failing;
	struct timespec fail_logged;
	size_t failures;
	size_t failures_total;
	/* Plays not yet written, oldest at pending_head; a ring. */
	struct catalog_play {
		int64_t track_id;
		int64_t when;
	} pending[CATALOG_PENDING_PLAYS];
	size_t pending_head;
	size_t n_pending;
	size_t plays_dropped;
};

static int catalog_plays_flush(struct catalog *cat);

int catalog_schema_version(void)
{
	return CATALOG_SCHEMA_VERSION;
}

static int64_t catalog_elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* The errno for a SQLite result code. */
static int catalog_errno(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

/* True for failures of the storage under the catalog, which pass. */
static bool catalog_storage_trouble(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return true;
	default:
		return false;
	}
}

/* Logs storage trouble for OP rate-limited (see DESIGN). */
static void catalog_log_trouble(struct catalog *cat, const char *op)
{
	cat->failures_total++;
	if (!cat->failing) {
		cat->failing = true;
		cat->failures = 0;
		clock_gettime(CLOCK_MONOTONIC, &cat->fail_logged);
		log_error("catalog: %s: %s (logged at most once every %d s "
			  "until writes work again)", op,
			  sqlite3_errmsg(cat->db), CATALOG_ERROR_LOG_S);
		return;
	}
	if (catalog_elapsed_ms(&cat->fail_logged) <
	    (int64_t)CATALOG_ERROR_LOG_S * 1000) {
		cat->failures++;
		return;
	}
	log_error("catalog: %s: %s (%zu more failures since the last report)",
		  op, sqlite3_errmsg(cat->db), cat->failures);
	cat->failures = 0;
	clock_gettime(CLOCK_MONOTONIC, &cat->fail_logged);
}

/* Called when a write reached the database: ends storage trouble. */
static void catalog_write_ok(struct catalog *cat)
{
	if (!cat->failing)
		return;
	log_info("catalog: writes work again after %zu failures",
		 cat->failures_total);
	cat->failing = false;
	cat->failures = 0;
	cat->failures_total = 0;
}

/* Logs SQLite's message for OP once (storage trouble rate-limited) and
 * returns the errno to hand up: -ENOSPC for a full disk, -EROFS for a
 * read-only one, -EIO otherwise. A foreign-key failure means the caller
 * named a track that does not exist. */
static int catalog_fail(struct catalog *cat, const char *op, int sqlite_rc)
{
	if (sqlite_rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return -ENOENT;
	if (catalog_storage_trouble(sqlite_rc))
		catalog_log_trouble(cat, op);
	else
		log_error("catalog: %s: %s", op, sqlite3_errmsg(cat->db));
	if (cat->in_batch && sqlite3_get_autocommit(cat->db)) {
		/* SQLite rolled the open batch back (I/O error, full disk):
		 * those files are read again at the next scan. */
		log_warning("catalog: %s: %zu batched writes were rolled back",
			    op, cat->batch_writes);
		cat->in_batch = false;
	}
	return catalog_errno(sqlite_rc);
}

/* Steps ST expecting no rows, then resets it. A write that commits (a
 * statement outside a transaction, or COMMIT) ends storage trouble. */
static int catalog_step_done(struct catalog *cat, sqlite3_stmt *st,
			     const char *op)
{
	int rc = 0;
	int src = sqlite3_step(st);
	if (src != SQLITE_DONE)
		rc = catalog_fail(cat, op, src);
	else if (sqlite3_get_autocommit(cat->db) &&
		 (st == cat->stmt[STMT_COMMIT] || !sqlite3_stmt_readonly(st)))
		catalog_write_ok(cat);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static void catalog_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int catalog_batch_commit(struct catalog *cat)
{
	if (!cat->in_batch)
		return 0;
	int rc = catalog_step_done(cat, cat->stmt[STMT_COMMIT], "commit");
	if (rc < 0 && !sqlite3_get_autocommit(cat->db))
		catalog_step_done(cat, cat->stmt[STMT_ROLLBACK], "rollback");
	cat->in_batch = false;
	cat->batch_writes = 0;
	return rc;
}

/* Called before every write: during a scan, opens a batch if none is open. */
static int catalog_write_begin(struct catalog *cat)
{
	if (!cat->scanning || cat->in_batch)
		return 0;
	int rc = catalog_step_done(cat, cat->stmt[STMT_BEGIN], "begin");
	if (rc < 0)
		return rc;
	cat->in_batch = true;
	cat->batch_writes = 0;
	clock_gettime(CLOCK_MONOTONIC, &cat->batch_started);
	return 0;
}

/* Called after every successful write: commits the batch when it is full,
 * old, or no scan is running any more. */
static int catalog_write_end(struct catalog *cat)
{
	if (!cat->in_batch)
		return 0;
	cat->batch_writes++;
	if (cat->scanning && cat->batch_writes < CATALOG_BATCH_WRITES &&
	    catalog_elapsed_ms(&cat->batch_started) < CATALOG_BATCH_MS)
		return 0;
	return catalog_batch_commit(cat);
}

static int catalog_bind_path(sqlite3_stmt *st, int col, const char *path)
{
	return sqlite3_bind_blob(st, col, path, (int)strlen(path),
				 SQLITE_STATIC);
}

static int catalog_check_path(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Copies column COL as a string into OUT, cutting at a UTF-8 character
 * boundary when it does not fit (only an edited database has such values). */
static void catalog_copy_text(sqlite3_stmt *st, int col, char *out,
			      size_t size, bool utf8)
{
	const unsigned char *src = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (!src)
		n = 0;
	if (n >= size) {
		n = size - 1;
		while (utf8 && n > 0 && (src[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(out, src, n);
	out[n] = '\0';
}

/* mkdir -p of the directory that holds PATH. */
static int catalog_make_parent(const char *path)
{
	char dir[PATH_MAX];
	int rc = 0;
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			log_error("catalog: create directory %s: %s", dir,
				  strerror(errno));
			goto out;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
out:
	return rc;
}

static int catalog_user_version(struct catalog *cat, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	int src = sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &st,
				     NULL);
	if (src != SQLITE_OK) {
		rc = catalog_fail(cat, "read schema version", src);
		goto out;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = catalog_fail(cat, "read schema version", src);
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

static int catalog_exec(struct catalog *cat, const char *sql, const char *op)
{
	char *msg = NULL;
	int src = sqlite3_exec(cat->db, sql, NULL, NULL, &msg);
	if (src == SQLITE_OK)
		return 0;
	log_error("catalog: %s: %s", op, msg ? msg : sqlite3_errstr(src));
	sqlite3_free(msg);
	return -EIO;
}

/* Applies the missing migrations, each in its own write transaction. The
 * version is re-read under the write lock, so two processes opening the same
 * new database do not both migrate it. */
static int catalog_migrate(struct catalog *cat)
{
	int rc = 0;
	for (;;) {
		int version = 0;
		rc = catalog_exec(cat, "BEGIN IMMEDIATE", "migrate: begin");
		if (rc < 0)
			goto out;
		rc = catalog_user_version(cat, &version);
		if (rc < 0)
			goto rollback;
		if (version > CATALOG_SCHEMA_VERSION || version < 0) {
			log_error("catalog: schema version %d is newer than "
				  "this build's %d; refusing to open", version,
				  CATALOG_SCHEMA_VERSION);
			rc = -EPROTO;
			goto rollback;
		}
		if (version == CATALOG_SCHEMA_VERSION) {
			rc = catalog_exec(cat, "COMMIT", "migrate: commit");
			goto out;
		}
		char op[64];
		snprintf(op, sizeof(op), "migrate %d -> %d", version,
			 version + 1);
		rc = catalog_exec(cat, catalog_migrations[version], op);
		if (rc < 0)
			goto rollback;
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
			 version + 1);
		rc = catalog_exec(cat, pragma, op);
		if (rc < 0)
			goto rollback;
		rc = catalog_exec(cat, "COMMIT", op);
		if (rc < 0)
			goto rollback;
		log_info("catalog: schema migrated to version %d",
			 version + 1);
	}
rollback:
	if (!sqlite3_get_autocommit(cat->db))
		sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
out:
	return rc;
}

static int catalog_load_generation(struct catalog *cat)
{
	sqlite3_stmt *st = cat->stmt[STMT_GEN_GET];
	int rc = 0;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		cat->generation = sqlite3_column_int64(st, 0);
	else
		rc = catalog_fail(cat, "read scan generation", src);
	catalog_reset(st);
	return rc;
}

/* Brings CAT's open database up to this build's schema and prepares the
 * statements. PATH names it in messages. */
static int catalog_setup(struct catalog *cat, const char *path)
{
	int rc;
	sqlite3_extended_result_codes(cat->db, 1);
	sqlite3_busy_timeout(cat->db, CATALOG_BUSY_TIMEOUT_MS);

	/* Refuse a newer schema before changing anything in the file. */
	int version = 0;
	rc = catalog_user_version(cat, &version);
	if (rc < 0)
		return rc;
	if (version > CATALOG_SCHEMA_VERSION || version < 0) {
		log_error("catalog: %s has schema version %d, newer than this "
			  "build's %d; refusing to open", path, version,
			  CATALOG_SCHEMA_VERSION);
		return -EPROTO;
	}
	/* journal_mode answers with the mode in effect; ":memory:" stays
	 * "memory", which is fine. */
	rc = catalog_exec(cat, "PRAGMA journal_mode = WAL;"
			  "PRAGMA synchronous = NORMAL;"
			  "PRAGMA foreign_keys = ON;", "set pragmas");
	if (rc < 0)
		return rc;
	rc = catalog_migrate(cat);
	if (rc < 0)
		return rc;
	for (int i = 0; i < STMT_COUNT; i++) {
		int src = sqlite3_prepare_v3(cat->db, catalog_sql[i], -1,
					     SQLITE_PREPARE_PERSISTENT,
					     &cat->stmt[i], NULL);
		if (src != SQLITE_OK)
			return catalog_fail(cat, "prepare", src);
	}
	return catalog_load_generation(cat);
}

/* A catalog struct with no database yet, or NULL with errno set. */
static struct catalog *catalog_new(void)
{
	struct catalog *cat = calloc(1, sizeof(*cat));
	if (!cat)
		return NULL;
	int perr = pthread_mutex_init(&cat->lock, NULL);
	if (perr) {
		free(cat);
		errno = perr;
		return NULL;
	}
	return cat;
}

struct catalog *catalog_open(const char *path)
{
	struct catalog *cat = NULL;
	int rc = 0;
	bool memory = path && strcmp(path, ":memory:") == 0;

	if (!path || !*path) {
		rc = -EINVAL;
		goto out;
	}
	if (!memory) {
		rc = catalog_make_parent(path);
		if (rc < 0)
			goto out;
	}
	if (!(cat = catalog_new())) {
		rc = -errno;
		goto out;
	}
	int src = sqlite3_open_v2(path, &cat->db, SQLITE_OPEN_READWRITE |
				  SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				  NULL);
	if (src != SQLITE_OK) {
		log_error("catalog: open %s: %s", path, cat->db ?
			  sqlite3_errmsg(cat->db) : sqlite3_errstr(src));
		rc = -EIO;
		goto out;
	}
	rc = catalog_setup(cat, path);
out:
	if (rc < 0) {
		catalog_close(cat);
		cat = NULL;
		errno = -rc;
	}
	return cat;
}

/* 0 when the catalog at PATH can be written: the file (if it exists) and
 * its directory, where SQLite makes its -wal and -shm files; else the
 * negative errno that says why not (-EROFS, -EACCES, -EPERM). A missing
 * directory counts as writable (catalog_open() makes it, or says why
 * not). */
static int catalog_writable(const char *path)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) < 0)
		return -errno;
	if (access(dir, F_OK) == 0 && access(dir, W_OK | X_OK) < 0)
		return -errno;
	return 0;
}

/* %-escapes what a SQLite URI filename may not hold as it is. */
static int catalog_uri(char *out, size_t size, const char *path,
		       const char *query)
{
	size_t n = 0;
	int w = snprintf(out, size, "file:");
	if (w < 0 || (size_t)w >= size)
		return -ENAMETOOLONG;
	n = (size_t)w;
	for (const char *p = path; *p; p++) {
		if (n + 4 >= size)
			return -ENAMETOOLONG;
		if (*p == '%' || *p == '?' || *p == '#')
			n += (size_t)snprintf(out + n, size - n, "%%%02X",
					      (unsigned char)*p);
		else
			out[n++] = *p;
	}
	w = snprintf(out + n, size - n, "?%s", query);
	if (w < 0 || (size_t)w >= size - n)
		return -ENAMETOOLONG;
	return 0;
}

/* Copies what PATH holds into CAT's in-memory database: read-only, and
 * if SQLite cannot read it so (a WAL database whose -shm it may not
 * create), as an immutable file (what the last checkpoint holds). Returns
 * 0, or a negative errno when PATH cannot be read at all. */
static int catalog_copy_in(struct catalog *cat, const char *path)
{
	static const char *const queries[] = { "mode=ro", "mode=ro&immutable=1" };
	char uri[PATH_MAX + 64];
	int rc = -EIO;
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		sqlite3 *from = NULL;
		if (catalog_uri(uri, sizeof(uri), path, queries[i]) < 0)
			return -ENAMETOOLONG;
		int src = sqlite3_open_v2(uri, &from, SQLITE_OPEN_READONLY |
					  SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
					  NULL);
		if (src == SQLITE_OK) {
			sqlite3_backup *b = sqlite3_backup_init(cat->db, "main",
								from, "main");
			if (b) {
				src = sqlite3_backup_step(b, -1);
				sqlite3_backup_finish(b);
				if (src == SQLITE_DONE)
					rc = 0;
			}
		}
		sqlite3_close(from);
		if (rc == 0)
			break;
	}
	return rc;
}

struct catalog *catalog_open_or_copy(const char *path, bool *copy)
{
	if (copy)
		*copy = false;
	if (!path || strcmp(path, ":memory:") == 0)
		return catalog_open(path);
	int why = catalog_writable(path);
	if (why == 0)
		return catalog_open(path);

	struct catalog *cat = catalog_new();
	int rc = 0;
	if (!cat) {
		rc = -errno;
		goto out;
	}
	int src = sqlite3_open_v2(":memory:", &cat->db, SQLITE_OPEN_READWRITE |
				  SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				  NULL);
	if (src != SQLITE_OK) {
		rc = src == SQLITE_NOMEM ? -ENOMEM : -EIO;
		goto out;
	}
	bool exists = access(path, F_OK) == 0;
	int copied = exists ? catalog_copy_in(cat, path) : -ENOENT;
	if ((rc = catalog_setup(cat, path)) < 0)
		goto out;
	if (copy)
		*copy = true;
	if (copied == 0)
		log_error("catalog: %s cannot be written (%s): running on a copy "
			  "in memory; what this run learns (scans, analyses, "
			  "plays) is not saved, and the file is left as it is",
			  path, strerror(-why));
	else
		log_error("catalog: %s cannot be written (%s)%s: running on an "
			  "empty catalog in memory; the library is analysed "
			  "again and nothing is saved", path, strerror(-why),
			  exists ? " nor read" : "");
out:
	if (rc < 0) {
		catalog_close(cat);
		cat = NULL;
		errno = -rc;
	}
	return cat;
}

void catalog_close(struct catalog *cat)
{
	if (!cat)
		return;
	if (cat->db) {
		if (catalog_plays_flush(cat) < 0)
			log_error("catalog: close: %zu plays could not be "
				  "recorded and are lost", cat->n_pending);
		catalog_batch_commit(cat);
		for (int i = 0; i < STMT_COUNT; i++)
			sqlite3_finalize(cat->stmt[i]);
		if (sqlite3_close(cat->db) != SQLITE_OK)
			log_error("catalog: close: %s",
				  sqlite3_errmsg(cat->db));
	}
	pthread_mutex_destroy(&cat->lock);
	free(cat);
}

int catalog_scan_begin(struct catalog *cat)
{
	pthread_mutex_lock(&cat->lock);
	cat->scanning = false;
	int rc = catalog_batch_commit(cat);
	if (rc < 0)
		goto out;
	rc = catalog_step_done(cat, cat->stmt[STMT_GEN_BUMP],
			       "start scan generation");
	if (rc < 0)
		goto out;
	rc = catalog_load_generation(cat);
	if (rc < 0)
		goto out;
	cat->scanning = true;
out:
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_scan_end(struct catalog *cat, char *const *roots, size_t n_roots,
		     size_t *n_missing)
{
	size_t missing = 0;
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_MARK_MISSING];
	for (size_t i = 0; i < n_roots; i++) {
		char root[PATH_MAX], lo[PATH_MAX + 1], hi[PATH_MAX + 1];
		size_t len = strlen(roots[i]);
		if (len >= PATH_MAX) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		/* "/music/" means "/music"; "/" stays "" + "/". */
		while (len > 0 && roots[i][len - 1] == '/')
			len--;
		memcpy(root, roots[i], len);
		memcpy(lo, root, len);
		memcpy(hi, root, len);
		lo[len] = '/';
		hi[len] = '/' + 1;
		rc = catalog_write_begin(cat);
		if (rc < 0)
			goto out;
		if (len > 0)
			sqlite3_bind_blob(st, 1, root, (int)len, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 1);
		sqlite3_bind_blob(st, 2, lo, (int)len + 1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, hi, (int)len + 1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, cat->generation);
		sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
		rc = catalog_step_done(cat, st, "mark missing");
		if (rc < 0)
			goto out;
		missing += (size_t)sqlite3_changes(cat->db);
		rc = catalog_write_end(cat);
		if (rc < 0)
			goto out;
	}
out:
	cat->scanning = false;
	int crc = catalog_batch_commit(cat);
	if (rc == 0)
		rc = crc;
	pthread_mutex_unlock(&cat->lock);
	if (n_missing)
		*n_missing = rc < 0 ? 0 : missing;
	return rc;
}

int catalog_file_state(struct catalog *cat, const char *path, int64_t size,
		       int64_t mtime, enum catalog_file_state *state)
{
	int rc = catalog_check_path(path);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_STATE];
	catalog_bind_path(st, 1, path);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		*state = CATALOG_FILE_NEW;
		catalog_reset(st);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = catalog_fail(cat, "file state", src);
		catalog_reset(st);
		goto out;
	}
	int64_t id = sqlite3_column_int64(st, 0);
	bool same = sqlite3_column_int64(st, 1) == size &&
		    sqlite3_column_int64(st, 2) == mtime;
	bool bad = sqlite3_column_int(st, 3) != 0;
	bool missing = sqlite3_column_int(st, 4) != 0;
	int64_t seen = sqlite3_column_int64(st, 5);
	bool old_tags = sqlite3_column_int(st, 6) < CATALOG_TAGS_VERSION;
	catalog_reset(st);
	/* A playable file whose row predates the tags we keep is read again
	 * (its content hash, and so its analysis, stay: catalog_upsert). A
	 * bad file stays bad: nothing to show of it. */
	*state = !same || (old_tags && !bad) ? CATALOG_FILE_NEW :
		 bad ? CATALOG_FILE_KNOWN_BAD : CATALOG_FILE_KNOWN;

	/* The file exists: mark it seen (and back from missing). */
	if (seen == cat->generation && !missing)
		goto out;
	rc = catalog_write_begin(cat);
	if (rc < 0)
		goto out;
	st = cat->stmt[STMT_SEEN];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, cat->generation);
	rc = catalog_step_done(cat, st, "mark seen");
	if (rc < 0)
		goto out;
	rc = catalog_write_end(cat);
out:
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* Inserts or updates the row at PATH; REASON NULL makes it playable. Called
 * with the lock held. */
static int catalog_upsert(struct catalog *cat, const char *path, int64_t size,
			  int64_t mtime, const struct decode_info *info,
			  const char *reason, int64_t *id)
{
	sqlite3_stmt *st = cat->stmt[STMT_UPSERT];
	double duration_s = info ? info->duration_s : 0.0;
	if (!isfinite(duration_s) || duration_s < 0)
		duration_s = 0.0;
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		return rc;
	catalog_bind_path(st, 1, path);
	sqlite3_bind_int64(st, 2, size);
	sqlite3_bind_int64(st, 3, mtime);
	sqlite3_bind_text(st, 4, info ? info->artist : "",
			  info ? (int)strnlen(info->artist, DECODE_TAG_MAX - 1)
			  : 0, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info ? info->title : "",
			  info ? (int)strnlen(info->title, DECODE_TAG_MAX - 1)
			  : 0, SQLITE_STATIC);
	sqlite3_bind_double(st, 6, duration_s);
	sqlite3_bind_int(st, 7, info && info->bitrate_kbps > 0 ?
			 info->bitrate_kbps : 0);
	if (reason)
		sqlite3_bind_text(st, 8, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_int64(st, 9, cat->generation);
	sqlite3_bind_int64(st, 10, (int64_t)time(NULL));
	sqlite3_bind_text(st, 11, info ? info->album : "",
			  info ? (int)strnlen(info->album, DECODE_TAG_MAX - 1)
			  : 0, SQLITE_STATIC);
	sqlite3_bind_int(st, 12, CATALOG_TAGS_VERSION);
	rc = catalog_step_done(cat, st, reason ? "record bad file" :
			       "store track");
	if (rc < 0)
		return rc;
	rc = catalog_write_end(cat);
	if (rc < 0 || !id)
		return rc;
	st = cat->stmt[STMT_ID_BY_PATH];
	catalog_bind_path(st, 1, path);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = catalog_fail(cat, "read track id", src);
	catalog_reset(st);
	return rc;
}

/* Copies REASON into OUT as one line of at most CATALOG_REASON_MAX - 1
 * bytes, so a log line or a status page never breaks on it. */
static void catalog_clean_reason(const char *reason, char *out)
{
	if (!reason || !*reason)
		reason = "unknown error";
	size_t n = strnlen(reason, CATALOG_REASON_MAX - 1);
	while (n > 0 && n < strlen(reason) &&
	       ((unsigned char)reason[n] & 0xC0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = reason[i] == '\n' || reason[i] == '\r' ? ' ' :
			 reason[i];
	out[n] = '\0';
}

int catalog_track_put(struct catalog *cat, const char *path, int64_t size,
		      int64_t mtime, const struct decode_info *info,
		      int64_t *id)
{
	int rc = catalog_check_path(path);
	if (rc < 0)
		return rc;
	if (!info)
		return -EINVAL;
	pthread_mutex_lock(&cat->lock);
	rc = catalog_upsert(cat, path, size, mtime, info, NULL, id);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_file_bad(struct catalog *cat, const char *path, int64_t size,
		     int64_t mtime, const char *reason)
{
	char clean[CATALOG_REASON_MAX];
	int rc = catalog_check_path(path);
	if (rc < 0)
		return rc;
	catalog_clean_reason(reason, clean);
	pthread_mutex_lock(&cat->lock);
	rc = catalog_upsert(cat, path, size, mtime, NULL, clean, NULL);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_track_bad(struct catalog *cat, int64_t id, const char *reason)
{
	char clean[CATALOG_REASON_MAX];
	catalog_clean_reason(reason, clean);
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_TRACK_BAD];
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, clean, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	rc = catalog_step_done(cat, st, "mark track bad");
	if (rc < 0)
		goto out;
	bool changed = sqlite3_changes(cat->db) > 0;
	rc = catalog_write_end(cat);
	if (rc == 0 && !changed)
		rc = -ENOENT;
out:
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* Runs the id query ST (parameters bound by the caller) into ids, counting
 * every row. */
static int catalog_ids(struct catalog *cat, sqlite3_stmt *st, const char *op,
		       int64_t *ids, size_t max, size_t *n)
{
	size_t count = 0;
	int rc = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (count < max)
			ids[count] = sqlite3_column_int64(st, 0);
		count++;
	}
	if (src != SQLITE_DONE)
		rc = catalog_fail(cat, op, src);
	catalog_reset(st);
	*n = rc < 0 ? 0 : count;
	return rc;
}

int catalog_playable_ids(struct catalog *cat, int64_t *ids, size_t max,
			 size_t *n)
{
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_ids(cat, cat->stmt[STMT_PLAYABLE],
			     "list playable tracks", ids, max, n);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_library_ids(struct catalog *cat, int64_t *ids, size_t max,
			size_t *n)
{
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_ids(cat, cat->stmt[STMT_LIBRARY], "list tracks", ids,
			     max, n);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* Fills TRACK (id ID) from the CATALOG_TRACK_COLUMNS of ST's row.
 * Returns 0, or -ENAMETOOLONG for a path that does not fit (an edited
 * database). */
static int catalog_track_row(sqlite3_stmt *st, int64_t id,
			     struct catalog_track *track)
{
	if (sqlite3_column_bytes(st, 0) >= PATH_MAX)
		return -ENAMETOOLONG;
	track->id = id;
	catalog_copy_text(st, 0, track->path, sizeof(track->path), false);
	catalog_copy_text(st, 1, track->artist, sizeof(track->artist), true);
	catalog_copy_text(st, 2, track->title, sizeof(track->title), true);
	track->duration_s = sqlite3_column_double(st, 3);
	track->bitrate_kbps = sqlite3_column_int(st, 4);
	catalog_copy_text(st, 5, track->content_hash,
			  sizeof(track->content_hash), false);
	catalog_copy_text(st, 6, track->bad_reason, sizeof(track->bad_reason),
			  true);
	catalog_copy_text(st, 7, track->album, sizeof(track->album), true);
	catalog_copy_text(st, 8, track->genre, sizeof(track->genre), true);
	track->bpm_hint = sqlite3_column_double(st, 9);
	catalog_copy_text(st, 10, track->cover_url, sizeof(track->cover_url),
			  true);
	return 0;
}

/* Fills A from the analysis blob in column COL of ST's row. The blob is
 * this build's struct analysis. One of another size or version (an
 * edited file, another architecture sharing the file), or NULL, is no
 * analysis at all (false; A untouched): the track is analysed again. */
static bool catalog_analysis_row(sqlite3_stmt *st, int col,
				 struct analysis *a)
{
	const void *data = sqlite3_column_blob(st, col);
	struct analysis tmp;
	if (!data || sqlite3_column_bytes(st, col) != (int)sizeof(tmp))
		return false;
	memcpy(&tmp, data, sizeof(tmp));
	if (tmp.version != ANALYSIS_VERSION)
		return false;
	tmp.key_name[sizeof(tmp.key_name) - 1] = '\0';
	tmp.camelot[sizeof(tmp.camelot) - 1] = '\0';
	*a = tmp;
	return true;
}

int catalog_track_get(struct catalog *cat, int64_t id,
		      struct catalog_track *track)
{
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_TRACK_GET];
	sqlite3_bind_int64(st, 1, id);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		rc = -ENOENT;
	else if (src != SQLITE_ROW)
		rc = catalog_fail(cat, "read track", src);
	else
		rc = catalog_track_row(st, id, track);
	catalog_reset(st);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* One query of catalog_tracks_read: IDS[0 .. N-1], N <= CATALOG_READ_PAGE.
 * Called with the lock held. */
static int catalog_tracks_page(struct catalog *cat, const int64_t *ids,
			       size_t n, struct catalog_track *tracks,
			       struct analysis *an,
			       enum catalog_read_state *state)
{
	sqlite3_stmt *st = cat->stmt[STMT_TRACKS_READ];
	int rc = 0, src;
	sqlite3_bind_int(st, 1, ANALYSIS_VERSION);
	for (size_t k = 0; k < CATALOG_READ_PAGE; k++) {
		if (k < n)
			sqlite3_bind_int64(st, (int)k + 2, ids[k]);
		else
			sqlite3_bind_null(st, (int)k + 2);
	}
	for (size_t k = 0; k < n; k++)
		state[k] = CATALOG_READ_NONE;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, CATALOG_TRACK_NCOLS);
		/* The first place that asks for it is read; the others
		 * (an id may repeat) copy it. */
		size_t first = n;
		for (size_t k = 0; k < n; k++) {
			if (ids[k] != id)
				continue;
			if (first < n) {
				tracks[k] = tracks[first];
				if (an && state[first] == CATALOG_READ_ANALYSED)
					an[k] = an[first];
				state[k] = state[first];
				continue;
			}
			first = k;
			if (catalog_track_row(st, id, &tracks[k]) < 0)
				break; /* as unknown */
			state[k] = CATALOG_READ_TRACK;
			if (an && catalog_analysis_row(st, CATALOG_TRACK_NCOLS + 1,
						       &an[k]))
				state[k] = CATALOG_READ_ANALYSED;
		}
	}
	if (src != SQLITE_DONE)
		rc = catalog_fail(cat, "read tracks", src);
	catalog_reset(st);
	return rc;
}

int catalog_tracks_read(struct catalog *cat, const int64_t *ids, size_t n,
			struct catalog_track *tracks, struct analysis *an,
			enum catalog_read_state *state)
{
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k += CATALOG_READ_PAGE) {
		size_t m = n - k < CATALOG_READ_PAGE ? n - k : CATALOG_READ_PAGE;
		/* The lock is taken per page: a reader of the whole
		 * library never holds the catalog for long. */
		pthread_mutex_lock(&cat->lock);
		rc = catalog_tracks_page(cat, ids + k, m, tracks + k,
					 an ? an + k : NULL, state + k);
		pthread_mutex_unlock(&cat->lock);
	}
	return rc;
}

int catalog_bad_count(struct catalog *cat, size_t *n)
{
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_BAD_COUNT];
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(st, 0);
	else
		rc = catalog_fail(cat, "count bad files", src);
	catalog_reset(st);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* Inserts one play row. Called with the lock held. */
static int catalog_play_insert(struct catalog *cat, int64_t track_id,
			       int64_t when)
{
	sqlite3_stmt *st = cat->stmt[STMT_PLAY_ADD];
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_int64(st, 2, when);
	rc = catalog_step_done(cat, st, "add play");
	if (rc < 0)
		return rc;
	return catalog_write_end(cat);
}

/* Writes the plays kept from earlier failures, oldest first, and stops at
 * the first failure. A play of a track that left the catalog is dropped.
 * Called with the lock held. */
static int catalog_plays_flush(struct catalog *cat)
{
	while (cat->n_pending > 0) {
		const struct catalog_play *p = &cat->pending[cat->pending_head];
		int rc = catalog_play_insert(cat, p->track_id, p->when);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		cat->pending_head = (cat->pending_head + 1) %
				    CATALOG_PENDING_PLAYS;
		cat->n_pending--;
	}
	if (cat->plays_dropped > 0) {
		log_warning("catalog: %zu plays were not recorded: more than "
			    "%d waited for the disk", cat->plays_dropped,
			    CATALOG_PENDING_PLAYS);
		cat->plays_dropped = 0;
	}
	return 0;
}

/* Keeps a play for a later write, dropping the oldest when full. */
static void catalog_play_keep(struct catalog *cat, int64_t track_id,
			      int64_t when)
{
	if (cat->n_pending == CATALOG_PENDING_PLAYS) {
		cat->pending_head = (cat->pending_head + 1) %
				    CATALOG_PENDING_PLAYS;
		cat->n_pending--;
		cat->plays_dropped++;
	}
	size_t tail = (cat->pending_head + cat->n_pending) %
		      CATALOG_PENDING_PLAYS;
	cat->pending[tail] = (struct catalog_play){ track_id, when };
	cat->n_pending++;
}

int catalog_play_add(struct catalog *cat, int64_t track_id, time_t when)
{
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_plays_flush(cat);
	if (rc == 0)
		rc = catalog_play_insert(cat, track_id, (int64_t)when);
	if (rc == -ENOSPC || rc == -EROFS || rc == -EIO)
		catalog_play_keep(cat, track_id, (int64_t)when);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_play_last(struct catalog *cat, int64_t *track_id, time_t *when)
{
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_PLAY_LAST];
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*track_id = sqlite3_column_int64(st, 0);
		*when = (time_t)sqlite3_column_int64(st, 1);
	} else if (src == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = catalog_fail(cat, "read last play", src);
	}
	catalog_reset(st);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_path_last_played(struct catalog *cat, const char *path,
			     time_t *when)
{
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_PATH_LAST_PLAYED];
	sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*when = (time_t)sqlite3_column_int64(st, 0);
	else if (src == SQLITE_ROW || src == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = catalog_fail(cat, "read last play", src);
	catalog_reset(st);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* Binds TEXT (NULL: "") as parameter I, cut at MAX - 1 bytes. */
static void bind_text_cut(sqlite3_stmt *st, int i, const char *text,
			  size_t max)
{
	sqlite3_bind_text(st, i, text ? text : "",
			  text ? (int)strnlen(text, max - 1) : 0,
			  SQLITE_STATIC);
}

int catalog_source_meta_put(struct catalog *cat, const char *path,
			    const struct catalog_source_meta *m)
{
	size_t len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		goto out;
	sqlite3_stmt *st = cat->stmt[STMT_SOURCE_META_PUT];
	sqlite3_bind_blob(st, 1, path, (int)len, SQLITE_STATIC);
	bind_text_cut(st, 2, m->artist, DECODE_TAG_MAX);
	bind_text_cut(st, 3, m->title, DECODE_TAG_MAX);
	sqlite3_bind_double(st, 4, m->duration_s > 0 ? m->duration_s : 0);
	sqlite3_bind_int(st, 5, m->over_tags);
	sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	bind_text_cut(st, 7, m->album, DECODE_TAG_MAX);
	bind_text_cut(st, 8, m->genre, DECODE_TAG_MAX);
	sqlite3_bind_double(st, 9, m->bpm > 0 && m->bpm < 1000 ? m->bpm : 0);
	bind_text_cut(st, 10, m->cover_url, CATALOG_URL_MAX);
	rc = catalog_step_done(cat, st, "store source metadata");
	if (rc < 0)
		goto out;
	rc = catalog_write_end(cat);
out:
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Analysis cache (schema v2).                                         */

static bool catalog_hash_valid(const char *hash)
{
	size_t len = hash ? strnlen(hash, CATALOG_HASH_MAX) : 0;
	if (len < 16 || len >= CATALOG_HASH_MAX)
		return false;
	return strspn(hash, "0123456789abcdef") == len;
}

/* Sets the track's content hash; -ENOENT when there is no such track.
 * Called with the lock held, inside the caller's write. */
static int catalog_set_hash_locked(struct catalog *cat, int64_t track_id,
				   const char *hash)
{
	sqlite3_stmt *st = cat->stmt[STMT_SET_HASH];
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	int rc = catalog_step_done(cat, st, "store content hash");
	if (rc == 0 && sqlite3_changes(cat->db) == 0)
		rc = -ENOENT;
	return rc;
}

int catalog_track_set_hash(struct catalog *cat, int64_t track_id,
			   const char *content_hash)
{
	if (!catalog_hash_valid(content_hash))
		return -EINVAL;
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		goto out;
	rc = catalog_set_hash_locked(cat, track_id, content_hash);
	if (rc < 0)
		goto out;
	rc = catalog_write_end(cat);
out:
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_analysis_get(struct catalog *cat, int64_t track_id,
			 struct analysis *a)
{
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_ANALYSIS_GET];
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_int(st, 2, ANALYSIS_VERSION);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		rc = -ENOENT;
	else if (src != SQLITE_ROW)
		rc = catalog_fail(cat, "read analysis", src);
	else if (!catalog_analysis_row(st, 0, a))
		rc = -ENOENT;
	catalog_reset(st);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

static void catalog_bind_analysis(sqlite3_stmt *st, const char *hash,
				  const struct analysis *a)
{
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, a->version);
	sqlite3_bind_double(st, 3, a->duration_s);
	sqlite3_bind_double(st, 4, a->bpm);
	sqlite3_bind_double(st, 5, a->bpm_confidence);
	sqlite3_bind_double(st, 6, a->first_beat_s);
	sqlite3_bind_double(st, 7, a->grid_confidence);
	sqlite3_bind_int(st, 8, a->tempo_drift ? 1 : 0);
	sqlite3_bind_int(st, 9, a->beats_per_bar);
	sqlite3_bind_double(st, 10, a->downbeat_s);
	sqlite3_bind_int(st, 11, a->phrase_bars);
	sqlite3_bind_double(st, 12, a->audio_start_s);
	sqlite3_bind_double(st, 13, a->audio_end_s);
	sqlite3_bind_double(st, 14, a->intro_end_s);
	sqlite3_bind_double(st, 15, a->outro_start_s);
	sqlite3_bind_int(st, 16, a->key);
	sqlite3_bind_text(st, 17, a->key_name,
			  (int)strnlen(a->key_name, sizeof(a->key_name)),
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 18, a->camelot,
			  (int)strnlen(a->camelot, sizeof(a->camelot)),
			  SQLITE_STATIC);
	sqlite3_bind_double(st, 19, a->key_confidence);
	sqlite3_bind_double(st, 20, a->loudness_lufs);
	sqlite3_bind_double(st, 21, a->true_peak_db);
	sqlite3_bind_double(st, 22, a->energy);
	sqlite3_bind_blob(st, 23, a, (int)sizeof(*a), SQLITE_STATIC);
	sqlite3_bind_int64(st, 24, (int64_t)time(NULL));
}

static bool catalog_analysis_finite(const struct analysis *a)
{
	/* SQLite stores NaN as NULL, which the NOT NULL columns refuse. */
	const double v[] = {
		a->duration_s, a->bpm, a->bpm_confidence, a->first_beat_s,
		a->grid_confidence, a->downbeat_s, a->audio_start_s,
		a->audio_end_s, a->intro_end_s, a->outro_start_s,
		a->key_confidence, a->loudness_lufs, a->true_peak_db,
		a->energy,
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (isnan(v[i]))
			return false;
	return true;
}

int catalog_analysis_put(struct catalog *cat, int64_t track_id,
			 const char *content_hash, const struct analysis *a)
{
	bool own_txn = false;
	if (!catalog_hash_valid(content_hash) || !a ||
	    !catalog_analysis_finite(a))
		return -EINVAL;
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		goto out;
	/* Hash and analysis change together: outside a scan's batch, in a
	 * transaction of their own. */
	if (!cat->in_batch) {
		rc = catalog_step_done(cat, cat->stmt[STMT_BEGIN],
				       "begin analysis");
		if (rc < 0)
			goto out;
		own_txn = true;
	}
	rc = catalog_set_hash_locked(cat, track_id, content_hash);
	if (rc < 0)
		goto out;
	sqlite3_stmt *st = cat->stmt[STMT_ANALYSIS_PUT];
	catalog_bind_analysis(st, content_hash, a);
	rc = catalog_step_done(cat, st, "store analysis");
	if (rc < 0)
		goto out;
	if (own_txn) {
		rc = catalog_step_done(cat, cat->stmt[STMT_COMMIT],
				       "commit analysis");
		if (rc == 0)
			own_txn = false;
	} else {
		rc = catalog_write_end(cat);
	}
out:
	if (own_txn && !sqlite3_get_autocommit(cat->db))
		catalog_step_done(cat, cat->stmt[STMT_ROLLBACK],
				  "rollback analysis");
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_unanalysed_ids(struct catalog *cat, int64_t *ids, size_t max,
			   size_t *n)
{
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_UNANALYSED];
	sqlite3_bind_int(st, 1, ANALYSIS_VERSION);
	int rc = catalog_ids(cat, st, "list unanalysed tracks", ids, max, n);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Visuals (schema v5).                                                */

static const char *const catalog_colour_from[] = {
	[VISUALS_COLOUR_NONE] = "none",
	[VISUALS_COLOUR_COVER] = "cover",
	[VISUALS_COLOUR_TIMBRE] = "timbre",
};

int catalog_visuals_get(struct catalog *cat, int64_t track_id,
			struct visuals *v)
{
	int rc = 0;
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_VISUALS_GET];
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_int(st, 2, VISUALS_VERSION);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = -ENOENT;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = catalog_fail(cat, "read visuals", src);
		goto out;
	}
	int n = sqlite3_column_bytes(st, 1);
	const void *peaks = sqlite3_column_blob(st, 1);
	int64_t peak_ms = sqlite3_column_int64(st, 0);
	if (n < 0 || n > VISUALS_PEAKS_MAX || (n > 0 && !peaks) ||
	    peak_ms <= 0 || peak_ms > 3600 * 1000) {
		rc = -ENOENT; /* not a row this build wrote */
		goto out;
	}
	memset(v, 0, sizeof(*v));
	v->version = VISUALS_VERSION;
	v->peak_ms = (uint32_t)peak_ms;
	v->n_peaks = (uint32_t)n;
	if (n > 0)
		memcpy(v->peaks, peaks, (size_t)n);
	v->colour = (uint32_t)sqlite3_column_int64(st, 2) & 0xffffffu;
	const char *from = (const char *)sqlite3_column_text(st, 3);
	for (size_t i = 0; from && i < sizeof(catalog_colour_from) /
	     sizeof(catalog_colour_from[0]); i++)
		if (strcmp(from, catalog_colour_from[i]) == 0)
			v->colour_from = (int)i;
	v->has_cover = v->colour_from == VISUALS_COLOUR_COVER;
	const char *type = (const char *)sqlite3_column_text(st, 4);
	snprintf(v->cover_type, sizeof(v->cover_type), "%s", type ? type : "");
	int64_t off = sqlite3_column_int64(st, 5);
	int64_t len = sqlite3_column_int64(st, 6);
	if (off >= 0 && len > 0 && len <= VISUALS_COVER_MAX) {
		v->cover_offset = off;
		v->cover_length = (uint32_t)len;
	}
out:
	catalog_reset(st);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_visuals_put(struct catalog *cat, const char *content_hash,
			const struct visuals *v)
{
	if (!catalog_hash_valid(content_hash) || !v ||
	    v->n_peaks > VISUALS_PEAKS_MAX || v->peak_ms == 0 ||
	    v->colour_from < 0 || v->colour_from > VISUALS_COLOUR_TIMBRE)
		return -EINVAL;
	pthread_mutex_lock(&cat->lock);
	int rc = catalog_write_begin(cat);
	if (rc < 0)
		goto out;
	sqlite3_stmt *st = cat->stmt[STMT_VISUALS_PUT];
	sqlite3_bind_text(st, 1, content_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, v->version);
	sqlite3_bind_int64(st, 3, v->peak_ms);
	/* A zero-length blob must not become NULL. */
	sqlite3_bind_blob(st, 4, v->n_peaks ? (const void *)v->peaks : "",
			  (int)v->n_peaks, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, v->colour & 0xffffffu);
	sqlite3_bind_text(st, 6, catalog_colour_from[v->colour_from], -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 7, v->cover_type,
			  (int)strnlen(v->cover_type, sizeof(v->cover_type)),
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, v->cover_length ? v->cover_offset : 0);
	sqlite3_bind_int64(st, 9, v->cover_length);
	sqlite3_bind_int64(st, 10, (int64_t)time(NULL));
	rc = catalog_step_done(cat, st, "store visuals");
	if (rc == 0)
		rc = catalog_write_end(cat);
out:
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

int catalog_analyzer_todo_ids(struct catalog *cat, int64_t *ids, size_t max,
			      size_t *n)
{
	pthread_mutex_lock(&cat->lock);
	sqlite3_stmt *st = cat->stmt[STMT_ANALYZER_TODO];
	sqlite3_bind_int(st, 1, ANALYSIS_VERSION);
	sqlite3_bind_int(st, 2, VISUALS_VERSION);
	int rc = catalog_ids(cat, st, "list tracks to analyse", ids, max, n);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}
