/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * catalog — the SQLite database: tracks, bad files, play history and the
 * analysis cache.
 *
 * The schema is versioned with PRAGMA user_version and brought up to date by
 * an ordered list of migrations, each in its own transaction, when the
 * database is opened; a database from a newer foreverfm is refused. WAL mode,
 * so readers never wait for the scanner. All statements are prepared once.
 *
 * A track row is keyed by its path and remembers the file's size and mtime,
 * so a rescan reads only new or changed files. A file that cannot be played
 * stays in the table with a bad reason and is never offered for play until
 * its size or mtime changes. Tracks that disappear from disk are marked
 * missing (not deleted: play history refers to them) and come back if the
 * file reappears.
 *
 * Errors: functions return 0 or a negative errno (-ENOSPC for a full disk,
 * -EROFS for a read-only one, -EIO for other SQLite failures, logged with
 * SQLite's message: once, or for storage trouble at most once a minute;
 * -ENOENT for an unknown id). A failed write leaves the database as it was.
 * Thread rules: one struct catalog may be shared by threads; every call takes
 * the catalog's mutex, so calls are serialised. Never call back into the
 * catalog from another thread while holding a lock of your own that that
 * thread needs.
 */
#ifndef FOREVERFM_CATALOG_H
#define FOREVERFM_CATALOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "analyze.h"
#include "decode.h"

#define CATALOG_REASON_MAX 256
/* A content hash: 16 to 64 lower-case hex digits, plus the NUL. */
#define CATALOG_HASH_MAX 65
/* A URL the catalog keeps (a feed's cover art), including the NUL. */
#define CATALOG_URL_MAX 2048

struct catalog;

struct catalog_track {
	int64_t id;
	char path[PATH_MAX];
	char artist[DECODE_TAG_MAX];
	char title[DECODE_TAG_MAX];
	double duration_s;  /* 0 when unknown */
	int bitrate_kbps;   /* 0 when unknown */
	/* Schema v2: the hash of the file's content as last recorded by the
	 * analyzer, "" when not hashed since the file last changed; equal
	 * hashes mean identical files (duplicates). */
	char content_hash[CATALOG_HASH_MAX];
	/* "" for a playable track, else why it is not played. */
	char bad_reason[CATALOG_REASON_MAX];
	/* The album: the file's tag (schema v6), or the feed's where it
	 * speaks for the tags or the file has none ("" when neither says).
	 * Schema v4: what a feed says besides ("" and 0 when it says
	 * nothing, and for local files): genre, its BPM (a hint: the
	 * analysis decides the beat grid) and the URL of the cover art. */
	char album[DECODE_TAG_MAX];
	char genre[DECODE_TAG_MAX];
	double bpm_hint;
	char cover_url[CATALOG_URL_MAX];
};

/* What the catalog knows of a file identified by path, size and mtime. */
enum catalog_file_state {
	CATALOG_FILE_NEW,       /* not in the catalog, or changed on disk */
	CATALOG_FILE_KNOWN,     /* unchanged playable track */
	CATALOG_FILE_KNOWN_BAD, /* unchanged bad file */
};

/* Opens (creating if needed) the database at PATH and migrates its schema.
 * ":memory:" gives a private in-memory catalog. Creates the parent directory
 * if missing. Returns NULL with errno set (EPROTO for a schema newer than
 * this build) and logs why. */
struct catalog *catalog_open(const char *path);

/* As catalog_open(), for the station: when PATH cannot be written (the
 * file or its directory read-only for this user, or on a read-only file
 * system), logs one error and returns a catalog in memory with a copy of
 * what PATH holds (an empty one if PATH does not exist or cannot be read
 * either), and sets *copy (COPY may be NULL). Everything then works, but nothing is saved and
 * PATH is never written. Returns NULL with errno set as catalog_open()
 * does (EPROTO: the copy has a newer schema). */
struct catalog *catalog_open_or_copy(const char *path, bool *copy);

/* Closes; accepts NULL. */
void catalog_close(struct catalog *cat);

/* The schema version this build writes. */
int catalog_schema_version(void);

/* Scan bookkeeping: catalog_scan_begin() starts a generation; every file the
 * scan meets is passed to catalog_file_state() / catalog_track_put() /
 * catalog_file_bad(), which mark it seen; catalog_scan_end() marks every
 * track under ROOTS that was not seen in this generation as missing.
 * Files outside every root are left alone (the operator may have removed a
 * library path; those tracks become missing at the next full scan of it). */
int catalog_scan_begin(struct catalog *cat);
int catalog_scan_end(struct catalog *cat, char *const *roots, size_t n_roots,
		     size_t *n_missing);

/* SIZE is in bytes; MTIME in any unit a source uses consistently (the
 * catalog only compares it; source_dir passes nanoseconds since the epoch so
 * that a rewrite within one second is noticed). PATH is a byte string and
 * need not be UTF-8; at most PATH_MAX - 1 bytes (-ENAMETOOLONG). An
 * unchanged playable file whose row holds fewer tags than this build keeps
 * (written before schema v6) is CATALOG_FILE_NEW, so that the scan reads
 * its tags again; catalog_track_put() then keeps its content hash. */
int catalog_file_state(struct catalog *cat, const char *path, int64_t size,
		       int64_t mtime, enum catalog_file_state *state);

/* Inserts or updates the playable track at PATH. *id receives its id
 * (id may be NULL). Clears any bad reason and missing flag. */
int catalog_track_put(struct catalog *cat, const char *path, int64_t size,
		      int64_t mtime, const struct decode_info *info,
		      int64_t *id);

/* Records PATH as bad with a one-line REASON. It is not played until the
 * file changes. */
int catalog_file_bad(struct catalog *cat, const char *path, int64_t size,
		     int64_t mtime, const char *reason);

/* Marks a known track bad (it failed while playing). */
int catalog_track_bad(struct catalog *cat, int64_t id, const char *reason);

/* Copies the ids of all playable tracks (not bad, not missing), in id
 * order, into ids (capacity max). *n receives the number of playable tracks,
 * which may exceed max; then only max ids were copied. */
int catalog_playable_ids(struct catalog *cat, int64_t *ids, size_t max,
			 size_t *n);

/* The track ID, whatever its state (playable, bad or missing), or
 * -ENOENT for an id the catalog never gave. */
int catalog_track_get(struct catalog *cat, int64_t id,
		      struct catalog_track *track);

/* Bulk read, for whoever reads the whole library (plan, a setlist's
 * reload): the tracks IDS[0 .. N-1] (any order; an id may repeat) as
 * catalog_track_get() reads them and, when AN is not NULL, their
 * analyses as catalog_analysis_get() does, in one query per
 * CATALOG_READ_PAGE ids instead of two per track. STATE[k] says what
 * was found for IDS[k]: nothing (an unknown id: TRACKS[k] and AN[k] are
 * untouched), the track, or the track and its analysis (AN[k] is
 * untouched when the track has none). The caller owns the arrays, N
 * long each, and bounds the memory by the N it asks for at once (a
 * track takes 7.5 kB, an analysis 2.8 kB). The catalog's lock is taken
 * once per page, so other threads wait at most for one page. Returns 0
 * or a negative errno (what was read before a failure stays). */
#define CATALOG_READ_PAGE 64
enum catalog_read_state {
	CATALOG_READ_NONE,
	CATALOG_READ_TRACK,
	CATALOG_READ_ANALYSED,
};
int catalog_tracks_read(struct catalog *cat, const int64_t *ids, size_t n,
			struct catalog_track *tracks, struct analysis *an,
			enum catalog_read_state *state);

/* Number of bad files that are not missing (for logs and tests). */
int catalog_bad_count(struct catalog *cat, size_t *n);

/* Every track that is not missing, playable or bad, in id order; like
 * catalog_playable_ids otherwise (for listings such as analyze --json). */
int catalog_library_ids(struct catalog *cat, int64_t *ids, size_t max,
			size_t *n);

/* Analysis cache (schema v2). Analyses are stored per file content (a hash
 * of the file's bytes) and ANALYSIS_VERSION, so identical files at two paths
 * share one entry and a new analyzer version makes every track "not
 * analysed" again.
 *
 * catalog_analysis_get: the analysis of the track's current content, or
 * -ENOENT when there is none for this ANALYSIS_VERSION yet.
 * catalog_analysis_put: stores A for the track, whose content hash is
 * CONTENT_HASH (lower-case hex, computed by the caller from the bytes it
 * analysed); replaces an older version's entry.
 * catalog_unanalysed_ids: playable tracks without a current analysis, in id
 * order, like catalog_playable_ids.
 * catalog_track_set_hash: records the content hash of the track's current
 * file without an analysis; afterwards catalog_analysis_get() answers from
 * an analysis already stored for that content (the same file at another
 * path), so a duplicate is never analysed twice.
 * A content hash is 16..64 lower-case hex digits (else -EINVAL); the track
 * must exist (else -ENOENT). A track's hash is forgotten when its size or
 * mtime changes (catalog_track_put), so changed content is analysed again;
 * the analyses themselves are kept (another path may still have them). */
int catalog_analysis_get(struct catalog *cat, int64_t track_id,
			 struct analysis *a);
int catalog_analysis_put(struct catalog *cat, int64_t track_id,
			 const char *content_hash, const struct analysis *a);
int catalog_unanalysed_ids(struct catalog *cat, int64_t *ids, size_t max,
			   size_t *n);
int catalog_track_set_hash(struct catalog *cat, int64_t track_id,
			   const char *content_hash);

/* Appends to the play history: TRACK_ID became audible at WHEN. When the
 * storage fails (-ENOSPC full, -EROFS read-only, -EIO), the play is kept in
 * memory (bounded; the oldest are dropped with one log line) and written,
 * in order, before the next play or at close. */
int catalog_play_add(struct catalog *cat, int64_t track_id, time_t when);

/* The most recent play (the last one added, whatever its WHEN says: the
 * wall clock may have been stepped back since), or -ENOENT when there is
 * none. */
int catalog_play_last(struct catalog *cat, int64_t *track_id, time_t *when);

/* When the track at PATH last became audible, or -ENOENT when it never
 * did (or PATH is unknown). Plays still waiting in memory for the disk are
 * not seen. The download cache evicts least recently played first. */
int catalog_path_last_played(struct catalog *cat, const char *path,
			     time_t *when);

/* Source metadata (schema v3, v4): what a feed says of the file it served
 * at PATH (a file of the download cache). catalog_track_get() then returns
 * ARTIST and TITLE (UTF-8; "" or NULL: not given, the file's tag stays)
 * in place of the file's tags when OVER_TAGS (an API's curated catalog:
 * Subsonic, Jamendo), or only where the file has no such tag when not (an
 * RSS item's title names a post, not always the track); DURATION_S (0:
 * not given) when the file's own duration is unknown; and ALBUM, GENRE,
 * BPM (0: not given; a hint only) and COVER_URL as they are. Kept by path,
 * whether or not a scan has met the file yet; rows are replaced, never
 * deleted (they are small, and a file that comes back gets its metadata
 * back). Texts are cut at DECODE_TAG_MAX - 1 bytes, the URL at
 * CATALOG_URL_MAX - 1. */
struct catalog_source_meta {
	const char *artist, *title, *album, *genre, *cover_url; /* may be NULL */
	double duration_s;
	double bpm;
	bool over_tags;
};
int catalog_source_meta_put(struct catalog *cat, const char *path,
			    const struct catalog_source_meta *m);

/* Visuals (schema v5): a track's waveform, colour and cover place
 * (visuals.h), kept per content hash like analyses, so duplicates share
 * them and changed content gets new ones.
 *
 * catalog_visuals_put: stores V for CONTENT_HASH (as given to
 * catalog_analysis_put for the same track just before; -EINVAL for a bad
 * hash or V); a row of a newer VISUALS_VERSION is not replaced.
 * catalog_visuals_get: the visuals of the track's current content, or
 * -ENOENT when it has none of this VISUALS_VERSION (not analysed since
 * version 4, or its file changed since).
 * catalog_analyzer_todo_ids: playable tracks without a current analysis
 * or without such visuals, in id order, like catalog_playable_ids: the
 * analyzer's work (a track analysed before version 4 gets its visuals at
 * the next pass: doc/catalog.md says why). */
struct visuals;
int catalog_visuals_put(struct catalog *cat, const char *content_hash,
			const struct visuals *v);
int catalog_visuals_get(struct catalog *cat, int64_t track_id,
			struct visuals *v);
int catalog_analyzer_todo_ids(struct catalog *cat, int64_t *ids, size_t max,
			      size_t *n);

#endif
