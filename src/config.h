/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config — the INI configuration: loading, validation, defaults.
 *
 * The file is parsed with libinih. Every key is validated as it is read; the
 * first problem ends loading with one line "FILE:LINE: [SECTION] KEY: why",
 * which the caller prints before exiting with code 2. Unknown sections and
 * keys are errors (they are nearly always typos). The source password may be
 * given inline (`password`) or read from `password_file`; it is never copied
 * into an error message.
 *
 * Sections and keys (defaults in parentheses):
 *   [library] path (repeatable; several paths), database
 *             (/var/lib/foreverfm/catalog.db), min_duration (90),
 *             max_duration (600)
 *   [icecast] host (127.0.0.1), port (8000), user (source), password or
 *             password_file, tls (no), name (foreverfm), description, genre,
 *             url, public (no), timeout_seconds (a connection whose
 *             handshake or sending makes no progress for this long is
 *             dropped and retried, 1..600; 10)
 *   [output.NAME] mount (required, starts with "/"), format (mp3 | ogg),
 *             bitrate (kbps, MP3 CBR; default 128 when no quality is given),
 *             quality (MP3 VBR 0 best..9; Vorbis -0.1..1.0, default 0.4),
 *             chained (Ogg: a new logical stream per track; yes); its own
 *             server: host, port, user, password or password_file, tls
 *             (each defaults to [icecast]'s). A mount may repeat on
 *             different servers (a primary and a backup), not on one.
 *   [mix]     crossfade_seconds (of plain crossfades, 0..30; 6),
 *             beatmatch (beatmatched transitions between analysed tracks;
 *             yes), transition_bars (length of a beatmatched transition,
 *             4..64; 16), max_stretch (largest tempo change as a fraction,
 *             double/half time allowed, 0.01..0.5; 0.08), loudness_target
 *             (LUFS every track is normalised to, -40..-5; -14),
 *             stretch_engine (faster = Rubber Band R2, finer = R3; faster)
 *   [analysis] workers (analysis child processes at a time, 0..64; 0 = one
 *             per CPU core; 0), timeout_seconds (per file, plus a tenth of
 *             the file's duration, 1..3600; 120)
 *   [brain]   the play order (doc/brain.md): weight_tempo (2), weight_key
 *             (1.5), weight_energy (1), weight_timbre (1), weight_loudness
 *             (0.5), weight_genre (0.5), weight_artist (1), each 0..100, at
 *             least one > 0; no_repeat_hours (no track again within, 0..168;
 *             4), artist_separation (no artist again within this many
 *             tracks, 0..50; 3), time_budget_seconds (of a full re-solve,
 *             0.01..60; 1)
 *   [library] cache (the download cache of the feeds; default: "cache"
 *             beside the database), cache_max_mb (1..10000000; 2048)
 *   [feed.NAME] type (rss | subsonic | jamendo, required), url (required
 *             but for jamendo: https://api.jamendo.com/v3.0), user and
 *             password or password_file (subsonic), client_id or
 *             client_id_file (jamendo), query (subsonic: random | newest |
 *             starred | genre:NAME | playlist:NAME, default random;
 *             jamendo: extra API parameters), limit (tracks, 1..1000;
 *             200), refresh_minutes (1..10080; 60). A key that does not
 *             apply to the type is an error.
 *
 *   [http]    the status server (http.h): listen (ADDRESS:PORT, an IPv4
 *             address or [IPv6], or PORT alone for 127.0.0.1; the server
 *             is off without it), max_clients
 *             (connections at once, 1..65535; 256)
 *
 * Ownership: config_load() and config_defaults() return a heap object that
 * the caller frees with config_destroy(). All strings live inside it. A
 * struct config is immutable once loaded; reloading makes a new one.
 * Thread rules: none; hand a loaded config to other threads read-only.
 */
#ifndef FOREVERFM_CONFIG_H
#define FOREVERFM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "stretch.h"

#define CONFIG_PATHS_MAX 64
#define CONFIG_OUTPUTS_MAX 8
#define CONFIG_STRING_MAX 256
#define CONFIG_ERROR_MAX 512
#define CONFIG_FEEDS_MAX 16
#define CONFIG_URL_MAX 1024

enum output_format {
	OUTPUT_FORMAT_MP3,
	OUTPUT_FORMAT_OGG,
};

struct config_output {
	char name[64];                 /* NAME of [output.NAME] */
	char mount[CONFIG_STRING_MAX]; /* "/forever.mp3" */
	enum output_format format;
	int bitrate_kbps;   /* MP3: CBR bitrate when > 0, else VBR by quality */
	double quality;     /* MP3 VBR 0..9 (0 best); Vorbis -0.1..1.0 */
	bool chained;       /* Ogg: new logical stream with comments per track */
	/* The server, resolved at load: the section's own keys, else
	 * [icecast]'s. */
	char host[CONFIG_STRING_MAX];
	int port;
	char user[CONFIG_STRING_MAX];
	char password[CONFIG_STRING_MAX]; /* secret: never log */
	bool tls;
};

enum feed_type {
	FEED_TYPE_RSS,
	FEED_TYPE_SUBSONIC,
	FEED_TYPE_JAMENDO,
};

struct config_feed {
	char name[64];                 /* NAME of [feed.NAME] */
	enum feed_type type;
	char url[CONFIG_URL_MAX];
	char user[CONFIG_STRING_MAX];
	char password[CONFIG_STRING_MAX];  /* secret: never log */
	char client_id[CONFIG_STRING_MAX]; /* secret: never log */
	char query[CONFIG_URL_MAX];
	int limit;
	int refresh_minutes;
};

struct config {
	char *file; /* the file loaded, NULL for defaults */

	char *library_paths[CONFIG_PATHS_MAX];
	size_t n_library_paths;
	char *database;
	double min_duration_s;
	double max_duration_s;
	char *cache;                /* the feeds' download cache directory */
	int cache_max_mb;

	struct config_feed feeds[CONFIG_FEEDS_MAX];
	size_t n_feeds;

	char icecast_host[CONFIG_STRING_MAX];
	int icecast_port;
	char icecast_user[CONFIG_STRING_MAX];
	char icecast_password[CONFIG_STRING_MAX]; /* secret: never log */
	bool icecast_tls;
	double icecast_timeout_s;   /* handshake and send progress */
	char station_name[CONFIG_STRING_MAX];
	char station_description[CONFIG_STRING_MAX];
	char station_genre[CONFIG_STRING_MAX];
	char station_url[CONFIG_STRING_MAX];
	bool station_public;

	struct config_output outputs[CONFIG_OUTPUTS_MAX];
	size_t n_outputs;

	double crossfade_s;
	bool beatmatch;
	int transition_bars;
	double max_stretch;
	double loudness_target_lufs;
	enum stretch_engine stretch_engine;

	int analysis_workers;       /* 0 = one per online CPU */
	double analysis_timeout_s;

	double brain_weight_tempo;
	double brain_weight_key;
	double brain_weight_energy;
	double brain_weight_timbre;
	double brain_weight_loudness;
	double brain_weight_genre;
	double brain_weight_artist;
	double brain_no_repeat_hours;
	int brain_artist_separation;
	double brain_time_budget_s;

	/* The status server; off while http_listen is "". */
	char http_listen[CONFIG_STRING_MAX];
	int http_max_clients;
	/* The listener page's directory ($(pkgdatadir)/www by default). */
	char *http_www;
};

/* A configuration with every default and no outputs or library paths.
 * Returns NULL with errno = ENOMEM on allocation failure. */
struct config *config_defaults(void);

/* Loads and validates FILE. On failure returns NULL and writes one line
 * "FILE:LINE: [SECTION] KEY: reason" (no newline) into err; errno is EINVAL
 * for a bad file, or the errno of the failed open/read. */
struct config *config_load(const char *file, char *err, size_t err_size);

/* Replaces the library paths (command-line PATH arguments). Copies them.
 * Returns 0, -E2BIG for more than CONFIG_PATHS_MAX, or -ENOMEM. */
int config_set_library_paths(struct config *cfg, char *const *paths, size_t n);

/* Frees everything; accepts NULL. Wipes the passwords before freeing. */
void config_destroy(struct config *cfg);

const char *config_format_name(enum output_format format);
const char *config_feed_type_name(enum feed_type type);

/* Calls FN(CTX, SECTION, KEY) for every key the parser knows, in the order
 * of its tables: the keys of [library], [icecast], [mix], [analysis] and
 * [brain], then those of every [output.NAME] with SECTION "output.NAME",
 * then those of every [feed.NAME] with SECTION "feed.NAME".
 * The strings are static. Stops at the first nonzero return of FN and
 * returns it; returns 0 when every key was visited. This is the list
 * tests/test_man.sh holds foreverfm.ini(5) to. */
int config_key_foreach(int (*fn)(void *ctx, const char *section,
				 const char *key), void *ctx);

#endif
