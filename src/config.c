/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config — the INI configuration: loading, validation, defaults. See
 * config.h for the keys and their defaults.
 *
 * DESIGN
 * libinih tokenises; this file decides. The whole file is read into memory
 * first (at most CONFIG_FILE_MAX bytes) and handed to ini_parse_stream()
 * one physical line at a time by our own reader, which gives us:
 *   - line numbers for every message, whatever INI_HANDLER_LINENO the
 *     system's libinih was built with;
 *   - no silent truncation: libinih's fgets-style reading splits a line
 *     longer than its buffer into two "lines" (the first half of a long
 *     path would be taken as the path). Our reader refuses a line that does
 *     not fit with "line too long" instead;
 *   - NUL bytes are refused instead of silently ending the line;
 *   - section headers are checked as they are met, so an empty
 *     "[output.x]" still reports its missing mount and an unknown empty
 *     section is still an error.
 * The reader strips leading whitespace, so libinih's multi-line values
 * (an indented line continues the previous value) never apply: indented
 * "key = value" lines are ordinary lines, and a repeated key is written as
 * a repeated line ("path = /a" then "path = /b"), which keeps every path.
 *
 * Debian's libinih 55 exposes its compile-time options as variables; we set
 * them before every parse: a line buffer of CONFIG_LINE_MAX + 2 bytes,
 * multi-line values off, inline comments off (a ';' inside a value, as in a
 * password "ab ;cd", is part of the value; comments are whole lines starting
 * with ';' or '#'), stop at the first error. These are process-wide, so
 * config_load() must not run in two threads at once (it runs in the main
 * thread: at start and on SIGHUP).
 *
 * Messages: one line, "FILE:LINE: [SECTION] KEY: reason". Values are echoed
 * (quoted, truncated to ECHO_MAX bytes, control characters replaced) except
 * for password and password_file contents, which are never echoed; a syntax
 * error never echoes the line, since it may be a stray password.
 */
#include "autoconfig.h"

#include "config.h"

#include "http.h"
#include "transition.h"

#include <ini.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_LINE_MAX 8192
#define CONFIG_DEFAULT_DATABASE "/var/lib/foreverfm/catalog.db"
/* The listener page as `make install` puts it. */
#define CONFIG_DEFAULT_WWW PKGDATADIR "/www"
#define CONFIG_PASSWORD_MAX (CONFIG_STRING_MAX - 1)
#define ECHO_MAX 64
#define OUTPUT_PREFIX "output."
#define OUTPUT_PREFIX_LEN (sizeof(OUTPUT_PREFIX) - 1)
#define FEED_PREFIX "feed."
#define FEED_PREFIX_LEN (sizeof(FEED_PREFIX) - 1)
#define JAMENDO_DEFAULT_URL "https://api.jamendo.com/v3.0"

enum key_type {
	KEY_STRING,     /* char[CONFIG_STRING_MAX], may be empty */
	KEY_NONEMPTY,   /* char[CONFIG_STRING_MAX], not empty */
	KEY_PATH,       /* char *, resolved against the file's directory */
	KEY_PATHS,      /* library_paths[], repeatable */
	KEY_DOUBLE,     /* double in [min, max] */
	KEY_INT,        /* int in [min, max] */
	KEY_BOOL,
	KEY_PASSWORD,
	KEY_PASSWORD_FILE,
	KEY_STRETCH_ENGINE, /* enum stretch_engine, by stretch_engine_parse */
};

struct key_spec {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	double min, max;
};

#define F(field) offsetof(struct config, field)

static const struct key_spec global_keys[] = {
	{ "library", "path", KEY_PATHS, 0, 0, 0 },
	{ "library", "database", KEY_PATH, F(database), 0, 0 },
	{ "library", "min_duration", KEY_DOUBLE, F(min_duration_s), 0, 86400 },
	{ "library", "max_duration", KEY_DOUBLE, F(max_duration_s), 1, 86400 },
	{ "library", "cache", KEY_PATH, F(cache), 0, 0 },
	{ "library", "cache_max_mb", KEY_INT, F(cache_max_mb), 1, 10000000 },
	{ "icecast", "host", KEY_NONEMPTY, F(icecast_host), 0, 0 },
	{ "icecast", "port", KEY_INT, F(icecast_port), 1, 65535 },
	{ "icecast", "user", KEY_NONEMPTY, F(icecast_user), 0, 0 },
	{ "icecast", "password", KEY_PASSWORD, F(icecast_password), 0, 0 },
	{ "icecast", "password_file", KEY_PASSWORD_FILE, F(icecast_password),
	  0, 0 },
	{ "icecast", "tls", KEY_BOOL, F(icecast_tls), 0, 0 },
	{ "icecast", "name", KEY_STRING, F(station_name), 0, 0 },
	{ "icecast", "description", KEY_STRING, F(station_description), 0, 0 },
	{ "icecast", "genre", KEY_STRING, F(station_genre), 0, 0 },
	{ "icecast", "url", KEY_STRING, F(station_url), 0, 0 },
	{ "icecast", "public", KEY_BOOL, F(station_public), 0, 0 },
	{ "icecast", "timeout_seconds", KEY_DOUBLE, F(icecast_timeout_s), 1,
	  600 },
	{ "mix", "crossfade_seconds", KEY_DOUBLE, F(crossfade_s), 0, 30 },
	{ "mix", "beatmatch", KEY_BOOL, F(beatmatch), 0, 0 },
	{ "mix", "transition_bars", KEY_INT, F(transition_bars),
	  TRANSITION_MIN_BARS, TRANSITION_MAX_BARS },
	{ "mix", "max_stretch", KEY_DOUBLE, F(max_stretch), 0.01, 0.5 },
	{ "mix", "loudness_target", KEY_DOUBLE, F(loudness_target_lufs), -40,
	  -5 },
	{ "mix", "stretch_engine", KEY_STRETCH_ENGINE, F(stretch_engine), 0,
	  0 },
	{ "analysis", "workers", KEY_INT, F(analysis_workers), 0, 64 },
	{ "analysis", "timeout_seconds", KEY_DOUBLE, F(analysis_timeout_s), 1,
	  3600 },
	{ "brain", "weight_tempo", KEY_DOUBLE, F(brain_weight_tempo), 0, 100 },
	{ "brain", "weight_key", KEY_DOUBLE, F(brain_weight_key), 0, 100 },
	{ "brain", "weight_energy", KEY_DOUBLE, F(brain_weight_energy), 0, 100 },
	{ "brain", "weight_timbre", KEY_DOUBLE, F(brain_weight_timbre), 0, 100 },
	{ "brain", "weight_loudness", KEY_DOUBLE, F(brain_weight_loudness), 0,
	  100 },
	{ "brain", "weight_genre", KEY_DOUBLE, F(brain_weight_genre), 0, 100 },
	{ "brain", "weight_artist", KEY_DOUBLE, F(brain_weight_artist), 0, 100 },
	{ "brain", "no_repeat_hours", KEY_DOUBLE, F(brain_no_repeat_hours), 0,
	  168 },
	{ "brain", "artist_separation", KEY_INT, F(brain_artist_separation), 0,
	  50 },
	{ "brain", "time_budget_seconds", KEY_DOUBLE, F(brain_time_budget_s),
	  0.01, 60 },
	{ "http", "listen", KEY_NONEMPTY, F(http_listen), 0, 0 },
	{ "http", "max_clients", KEY_INT, F(http_max_clients), 1, 65535 },
	{ "http", "www", KEY_PATH, F(http_www), 0, 0 },
};
#define N_GLOBAL_KEYS (sizeof(global_keys) / sizeof(global_keys[0]))

#undef F

enum output_key {
	OKEY_MOUNT,
	OKEY_FORMAT,
	OKEY_BITRATE,
	OKEY_QUALITY,
	OKEY_CHAINED,
	OKEY_HOST,          /* the output's own server: [icecast]'s keys */
	OKEY_PORT,
	OKEY_USER,
	OKEY_PASSWORD,
	OKEY_PASSWORD_FILE,
	OKEY_TLS,
	N_OUTPUT_KEYS,
};

static const char *const output_key_names[N_OUTPUT_KEYS] = {
	"mount", "format", "bitrate", "quality", "chained", "host", "port",
	"user", "password", "password_file", "tls",
};

enum feed_key {
	FKEY_TYPE,
	FKEY_URL,
	FKEY_USER,
	FKEY_PASSWORD,
	FKEY_PASSWORD_FILE,
	FKEY_CLIENT_ID,
	FKEY_CLIENT_ID_FILE,
	FKEY_QUERY,
	FKEY_LIMIT,
	FKEY_REFRESH_MINUTES,
	N_FEED_KEYS,
};

static const char *const feed_key_names[N_FEED_KEYS] = {
	"type", "url", "user", "password", "password_file", "client_id",
	"client_id_file", "query", "limit", "refresh_minutes",
};

/* LAME's CBR bitrates for MPEG-1 Layer III (44.1 kHz). */
static const int mp3_bitrates_kbps[] = {
	32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
};

struct load {
	struct config *cfg;
	const char *file;
	char dir[PATH_MAX];     /* the file's directory, absolute if possible */

	const char *buf;        /* the whole file */
	size_t len, off;
	unsigned line;          /* the line last handed to libinih */
	/* The section of the current line, as the reader checked it.
	 * libinih's own copy is cut at 49 bytes: "[output." and a NAME of
	 * 63 would arrive truncated. */
	char section[OUTPUT_PREFIX_LEN + 64];

	bool failed;
	int failed_errno;
	char *err;
	size_t err_size;

	/* Line where each key was given (0 = not given): duplicates, and
	 * checks that need more than one key. */
	unsigned seen[N_GLOBAL_KEYS];
	unsigned out_seen[CONFIG_OUTPUTS_MAX][N_OUTPUT_KEYS];
	unsigned out_header[CONFIG_OUTPUTS_MAX];
	unsigned feed_seen[CONFIG_FEEDS_MAX][N_FEED_KEYS];
	unsigned feed_header[CONFIG_FEEDS_MAX];
};

/* Copies value into out as 'value' for a message: at most ECHO_MAX bytes,
 * control characters shown as '?', so a message stays one short line. */
static const char *echo(const char *value, char *out, size_t out_size)
{
	size_t o = 0;
	size_t len = strlen(value);
	size_t n = len > ECHO_MAX ? ECHO_MAX : len;

	out[o++] = '\'';
	for (size_t i = 0; i < n && o + 5 < out_size; i++) {
		unsigned char c = (unsigned char)value[i];
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len && o + 5 < out_size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

/* Records the first error: "FILE:LINE: [SECTION] KEY: reason". LINE 0
 * leaves the line out, SECTION or KEY NULL leave those out. */
__attribute__((format(printf, 5, 6)))
static void load_fail(struct load *ld, unsigned line, const char *section,
		      const char *key, const char *fmt, ...)
{
	char echoed[ECHO_MAX + 8];
	size_t used = 0;
	int n;
	va_list ap;

	if (ld->failed)
		return;
	ld->failed = true;
	ld->failed_errno = EINVAL;
	if (!ld->err || ld->err_size == 0)
		return;

	if (line > 0)
		n = snprintf(ld->err, ld->err_size, "%s:%u: ", ld->file, line);
	else
		n = snprintf(ld->err, ld->err_size, "%s: ", ld->file);
	if (n > 0)
		used = (size_t)n < ld->err_size ? (size_t)n : ld->err_size - 1;
	if (section && used < ld->err_size) {
		/* Section names come from the file: echo them safely. */
		echo(section, echoed, sizeof(echoed));
		echoed[strlen(echoed) - 1] = '\0';
		n = snprintf(ld->err + used, ld->err_size - used, "[%s]%s",
			     echoed + 1, key ? " " : ": ");
		if (n > 0)
			used += (size_t)n < ld->err_size - used ?
				(size_t)n : ld->err_size - used - 1;
	}
	if (key && used < ld->err_size) {
		echo(key, echoed, sizeof(echoed));
		echoed[strlen(echoed) - 1] = '\0';
		n = snprintf(ld->err + used, ld->err_size - used, "%s: ",
			     echoed + 1);
		if (n > 0)
			used += (size_t)n < ld->err_size - used ?
				(size_t)n : ld->err_size - used - 1;
	}
	if (used < ld->err_size) {
		va_start(ap, fmt);
		vsnprintf(ld->err + used, ld->err_size - used, fmt, ap);
		va_end(ap);
	}
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Strict number parsing: digits, sign, '.', exponent only (no "inf",
 * "nan", hex floats or spaces), the whole value, finite. */
static bool parse_double(const char *value, double *out)
{
	char *end;

	if (value[0] == '\0' || strspn(value, "0123456789+-.eE") != strlen(value))
		return false;
	errno = 0;
	double v = strtod(value, &end);
	if (errno != 0 || *end != '\0' || end == value || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool parse_long(const char *value, long *out)
{
	char *end;

	if (value[0] == '\0' || strspn(value, "0123456789+-") != strlen(value))
		return false;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || end == value)
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Resolves value against the config file's directory into a new string.
 * ":memory:" (SQLite's private database) is kept as it is. */
static char *resolve_path(struct load *ld, const char *section,
			  const char *key, const char *value)
{
	char echoed[ECHO_MAX + 8];
	char path[PATH_MAX];
	int n;

	if (value[0] == '\0') {
		load_fail(ld, ld->line, section, key, "must not be empty");
		return NULL;
	}
	if (value[0] == '/' || strcmp(value, ":memory:") == 0)
		n = snprintf(path, sizeof(path), "%s", value);
	else
		n = snprintf(path, sizeof(path), "%s/%s", ld->dir, value);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		load_fail(ld, ld->line, section, key,
			  "path longer than %d bytes, got %s", PATH_MAX - 1,
			  echo(value, echoed, sizeof(echoed)));
		return NULL;
	}
	char *copy = strdup(path);
	if (!copy) {
		load_fail(ld, ld->line, section, key, "out of memory");
		ld->failed_errno = ENOMEM;
	}
	return copy;
}

/* Reads the one-line secret in PATH into out. Never puts the contents into
 * a message. Refuses anything but a regular file, so a FIFO or a device
 * can never hang or flood the load. */
static void read_password_file(struct load *ld, const char *section,
			       const char *key, const char *value, char *out)
{
	char echoed[ECHO_MAX + 8];
	char path[PATH_MAX];
	char buf[CONFIG_PASSWORD_MAX + 3];
	size_t used = 0;
	int fd = -1;
	struct stat st;
	int n;

	if (value[0] == '\0') {
		load_fail(ld, ld->line, section, key, "must not be empty");
		return;
	}
	if (value[0] == '/')
		n = snprintf(path, sizeof(path), "%s", value);
	else
		n = snprintf(path, sizeof(path), "%s/%s", ld->dir, value);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		load_fail(ld, ld->line, section, key,
			  "path longer than %d bytes, got %s", PATH_MAX - 1,
			  echo(value, echoed, sizeof(echoed)));
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		load_fail(ld, ld->line, section, key, "cannot open %s: %s",
			  echo(path, echoed, sizeof(echoed)), strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		load_fail(ld, ld->line, section, key,
			  "%s is not a regular file",
			  echo(path, echoed, sizeof(echoed)));
		goto out;
	}
	while (used < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			load_fail(ld, ld->line, section, key,
				  "cannot read %s: %s",
				  echo(path, echoed, sizeof(echoed)),
				  strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	/* One trailing newline is what every editor and `echo` leave. */
	if (used > 0 && buf[used - 1] == '\n') {
		used--;
		if (used > 0 && buf[used - 1] == '\r')
			used--;
	}
	buf[used] = '\0';
	if (used == 0) {
		load_fail(ld, ld->line, section, key, "%s is empty",
			  echo(path, echoed, sizeof(echoed)));
	} else if (used > CONFIG_PASSWORD_MAX) {
		load_fail(ld, ld->line, section, key,
			  "invalid: the password in %s is longer than %d bytes",
			  echo(path, echoed, sizeof(echoed)),
			  CONFIG_PASSWORD_MAX);
	} else if (memchr(buf, '\0', used) || has_control(buf)) {
		load_fail(ld, ld->line, section, key,
			  "invalid: the password in %s must be one line without "
			  "control characters",
			  echo(path, echoed, sizeof(echoed)));
	} else {
		memcpy(out, buf, used + 1);
	}
out:
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
}

static void copy_string(struct load *ld, const char *section, const char *key,
			const char *value, bool nonempty, char *out)
{
	char echoed[ECHO_MAX + 8];

	if (nonempty && value[0] == '\0')
		load_fail(ld, ld->line, section, key, "must not be empty");
	else if (strlen(value) > CONFIG_STRING_MAX - 1)
		load_fail(ld, ld->line, section, key,
			  "longer than %d bytes, got %s", CONFIG_STRING_MAX - 1,
			  echo(value, echoed, sizeof(echoed)));
	else if (has_control(value))
		load_fail(ld, ld->line, section, key,
			  "must not contain control characters, got %s",
			  echo(value, echoed, sizeof(echoed)));
	else
		memcpy(out, value, strlen(value) + 1);
}

/* An inline password, into out. Never echoes the value, not even in part. */
static void set_password(struct load *ld, const char *section,
			 const char *key, const char *value, char *out)
{
	if (value[0] == '\0')
		load_fail(ld, ld->line, section, key, "invalid: empty");
	else if (strlen(value) > CONFIG_PASSWORD_MAX)
		load_fail(ld, ld->line, section, key,
			  "invalid: longer than %d bytes", CONFIG_PASSWORD_MAX);
	else if (has_control(value))
		load_fail(ld, ld->line, section, key,
			  "invalid: contains control characters");
	else
		memcpy(out, value, strlen(value) + 1);
}

static void set_global_key(struct load *ld, size_t idx, const char *value)
{
	const struct key_spec *k = &global_keys[idx];
	struct config *cfg = ld->cfg;
	char *field = (char *)cfg + k->offset;
	char echoed[ECHO_MAX + 8];
	double d;
	long l;
	bool b;

	if (ld->seen[idx] && k->type != KEY_PATHS) {
		load_fail(ld, ld->line, k->section, k->name,
			  "given twice (first on line %u)", ld->seen[idx]);
		return;
	}
	ld->seen[idx] = ld->line;

	switch (k->type) {
	case KEY_STRING:
	case KEY_NONEMPTY:
		copy_string(ld, k->section, k->name, value,
			    k->type == KEY_NONEMPTY, field);
		break;
	case KEY_PATH: {
		char *path = resolve_path(ld, k->section, k->name, value);
		if (path) {
			char **slot = (char **)(void *)field;
			free(*slot);
			*slot = path;
		}
		break;
	}
	case KEY_PATHS: {
		if (cfg->n_library_paths >= CONFIG_PATHS_MAX) {
			load_fail(ld, ld->line, k->section, k->name,
				  "more than %d paths", CONFIG_PATHS_MAX);
			break;
		}
		char *path = resolve_path(ld, k->section, k->name, value);
		if (path)
			cfg->library_paths[cfg->n_library_paths++] = path;
		break;
	}
	case KEY_DOUBLE:
		if (!parse_double(value, &d) || d < k->min || d > k->max)
			load_fail(ld, ld->line, k->section, k->name,
				  "must be a number %g..%g, got %s", k->min,
				  k->max, echo(value, echoed, sizeof(echoed)));
		else
			memcpy(field, &d, sizeof(d));
		break;
	case KEY_INT:
		if (!parse_long(value, &l) || l < (long)k->min ||
		    l > (long)k->max) {
			load_fail(ld, ld->line, k->section, k->name,
				  "must be %ld..%ld, got %s", (long)k->min,
				  (long)k->max,
				  echo(value, echoed, sizeof(echoed)));
		} else {
			int i = (int)l;
			memcpy(field, &i, sizeof(i));
		}
		break;
	case KEY_BOOL:
		if (!parse_bool(value, &b))
			load_fail(ld, ld->line, k->section, k->name,
				  "must be yes or no (true/false, on/off, 1/0), "
				  "got %s", echo(value, echoed, sizeof(echoed)));
		else
			memcpy(field, &b, sizeof(b));
		break;
	case KEY_STRETCH_ENGINE: {
		enum stretch_engine engine;
		if (stretch_engine_parse(value, &engine) < 0)
			load_fail(ld, ld->line, k->section, k->name,
				  "must be faster or finer, got %s",
				  echo(value, echoed, sizeof(echoed)));
		else
			memcpy(field, &engine, sizeof(engine));
		break;
	}
	case KEY_PASSWORD:
	case KEY_PASSWORD_FILE: {
		/* password and password_file are neighbours in
		 * global_keys. */
		size_t other = k->type == KEY_PASSWORD ? idx + 1 : idx - 1;
		if (ld->seen[other]) {
			load_fail(ld, ld->line, k->section, k->name,
				  "cannot be used together with %s (line %u)",
				  global_keys[other].name, ld->seen[other]);
			break;
		}
		if (k->type == KEY_PASSWORD_FILE)
			read_password_file(ld, k->section, k->name, value,
					   field);
		else
			set_password(ld, k->section, k->name, value, field);
		break;
	}
	}
}

static bool output_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len < 1 || len > sizeof(((struct config_output *)0)->name) - 1)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_-") == len;
}

static int output_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_outputs; i++)
		if (strcmp(cfg->outputs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* KEY of a [output.NAME] or [feed.NAME] SECTION, whose keys are NAMES
 * (N of them) and SEEN the lines each was given on: its index, recorded
 * as given on this line; or -1, failed with why (a key that does not
 * exist, naming those that do, or one given twice). */
static int table_key(struct load *ld, const char *section, const char *key,
		     const char *const *names, int n, unsigned *seen)
{
	int k;
	for (k = 0; k < n; k++)
		if (strcmp(key, names[k]) == 0)
			break;
	if (k == n) {
		char known[CONFIG_ERROR_MAX / 2] = "";
		size_t used = 0;
		for (int i = 0; i < n; i++) {
			int w = snprintf(known + used, sizeof(known) - used,
					 "%s%s", used ? ", " : "", names[i]);
			if (w < 0 || (size_t)w >= sizeof(known) - used)
				break;
			used += (size_t)w;
		}
		load_fail(ld, ld->line, section, key,
			  "unknown key (known: %s)", known);
		return -1;
	}
	if (seen[k]) {
		load_fail(ld, ld->line, section, key,
			  "given twice (first on line %u)", seen[k]);
		return -1;
	}
	seen[k] = ld->line;
	return k;
}

static void set_output_key(struct load *ld, const char *section,
			   const char *key, const char *value)
{
	struct config *cfg = ld->cfg;
	int idx = output_find(cfg, section + OUTPUT_PREFIX_LEN);
	char echoed[ECHO_MAX + 8];
	enum output_key okey;
	struct config_output *out;
	double d;
	long l;

	if (idx < 0) {
		/* The reader registers every valid [output.NAME] header. */
		load_fail(ld, ld->line, section, NULL, "unknown section");
		return;
	}
	out = &cfg->outputs[idx];
	int k = table_key(ld, section, key, output_key_names, N_OUTPUT_KEYS,
			  ld->out_seen[idx]);
	if (k < 0)
		return;
	okey = (enum output_key)k;

	switch (okey) {
	case OKEY_MOUNT: {
		size_t len = strlen(value);
		bool printable = true;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)value[i] <= 0x20 ||
			    (unsigned char)value[i] >= 0x7f)
				printable = false;
		if (value[0] != '/' || len < 2 || !printable) {
			load_fail(ld, ld->line, section, key,
				  "must be \"/\" and a name in printable "
				  "ASCII without spaces, got %s",
				  echo(value, echoed, sizeof(echoed)));
			return;
		}
		if (len > CONFIG_STRING_MAX - 1) {
			load_fail(ld, ld->line, section, key,
				  "longer than %d bytes, got %s",
				  CONFIG_STRING_MAX - 1,
				  echo(value, echoed, sizeof(echoed)));
			return;
		}
		/* A mount given twice on one server: validate_outputs(),
		 * once every output knows its server. */
		memcpy(out->mount, value, len + 1);
		break;
	}
	case OKEY_FORMAT:
		if (strcasecmp(value, "mp3") == 0)
			out->format = OUTPUT_FORMAT_MP3;
		else if (strcasecmp(value, "ogg") == 0)
			out->format = OUTPUT_FORMAT_OGG;
		else
			load_fail(ld, ld->line, section, key,
				  "must be mp3 or ogg, got %s",
				  echo(value, echoed, sizeof(echoed)));
		break;
	case OKEY_BITRATE: {
		bool ok = parse_long(value, &l);
		size_t n = sizeof(mp3_bitrates_kbps) /
			   sizeof(mp3_bitrates_kbps[0]);
		size_t i = 0;
		while (ok && i < n && mp3_bitrates_kbps[i] != l)
			i++;
		if (!ok || i == n) {
			load_fail(ld, ld->line, section, key,
				  "must be an MP3 bitrate in kbps (32 40 48 56 "
				  "64 80 96 112 128 160 192 224 256 320), "
				  "got %s", echo(value, echoed, sizeof(echoed)));
			return;
		}
		out->bitrate_kbps = (int)l;
		break;
	}
	case OKEY_QUALITY:
		/* The range depends on the format, which may come later in
		 * the section: checked in validate_outputs(). */
		if (!parse_double(value, &d))
			load_fail(ld, ld->line, section, key,
				  "must be a number (mp3: 0..9, ogg: -0.1..1.0),"
				  " got %s", echo(value, echoed, sizeof(echoed)));
		else
			out->quality = d;
		break;
	case OKEY_CHAINED:
	case OKEY_TLS:
		if (!parse_bool(value, okey == OKEY_TLS ? &out->tls :
				&out->chained))
			load_fail(ld, ld->line, section, key,
				  "must be yes or no (true/false, on/off, 1/0), "
				  "got %s", echo(value, echoed, sizeof(echoed)));
		break;
	case OKEY_HOST:
	case OKEY_USER:
		copy_string(ld, section, key, value, true,
			    okey == OKEY_HOST ? out->host : out->user);
		break;
	case OKEY_PORT:
		if (!parse_long(value, &l) || l < 1 || l > 65535)
			load_fail(ld, ld->line, section, key,
				  "must be 1..65535, got %s",
				  echo(value, echoed, sizeof(echoed)));
		else
			out->port = (int)l;
		break;
	case OKEY_PASSWORD:
	case OKEY_PASSWORD_FILE: {
		enum output_key other = okey == OKEY_PASSWORD ?
					OKEY_PASSWORD_FILE : OKEY_PASSWORD;
		if (ld->out_seen[idx][other])
			load_fail(ld, ld->line, section, key,
				  "cannot be used together with %s (line %u)",
				  output_key_names[other],
				  ld->out_seen[idx][other]);
		else if (okey == OKEY_PASSWORD_FILE)
			read_password_file(ld, section, key, value,
					   out->password);
		else
			set_password(ld, section, key, value, out->password);
		break;
	}
	case N_OUTPUT_KEYS:
		break;
	}
}

static int feed_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_feeds; i++)
		if (strcmp(cfg->feeds[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* An http or https URL of printable ASCII without spaces. */
static bool url_valid(const char *value)
{
	size_t len = strlen(value);
	size_t scheme = strncasecmp(value, "http://", 7) == 0 ? 7 :
			strncasecmp(value, "https://", 8) == 0 ? 8 : 0;

	if (scheme == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] <= 0x20 ||
		    (unsigned char)value[i] >= 0x7f)
			return false;
	return len > scheme && value[scheme] != '/';
}

/* Subsonic's query: random, newest, starred, genre:NAME, playlist:NAME. */
static bool subsonic_query_valid(const char *q)
{
	if (strcmp(q, "random") == 0 || strcmp(q, "newest") == 0 ||
	    strcmp(q, "starred") == 0)
		return true;
	if (strncmp(q, "genre:", 6) == 0)
		return q[6] != '\0';
	if (strncmp(q, "playlist:", 9) == 0)
		return q[9] != '\0';
	return false;
}

static void set_feed_key(struct load *ld, const char *section,
			 const char *key, const char *value)
{
	struct config *cfg = ld->cfg;
	int idx = feed_find(cfg, section + FEED_PREFIX_LEN);
	char echoed[ECHO_MAX + 8];
	enum feed_key fkey;
	struct config_feed *feed;
	long l;

	if (idx < 0) {
		load_fail(ld, ld->line, section, NULL, "unknown section");
		return;
	}
	feed = &cfg->feeds[idx];
	int k = table_key(ld, section, key, feed_key_names, N_FEED_KEYS,
			  ld->feed_seen[idx]);
	if (k < 0)
		return;
	fkey = (enum feed_key)k;

	switch (fkey) {
	case FKEY_TYPE:
		if (strcasecmp(value, "rss") == 0)
			feed->type = FEED_TYPE_RSS;
		else if (strcasecmp(value, "subsonic") == 0)
			feed->type = FEED_TYPE_SUBSONIC;
		else if (strcasecmp(value, "jamendo") == 0)
			feed->type = FEED_TYPE_JAMENDO;
		else
			load_fail(ld, ld->line, section, key,
				  "must be rss, subsonic or jamendo, got %s",
				  echo(value, echoed, sizeof(echoed)));
		break;
	case FKEY_URL:
		if (strlen(value) > sizeof(feed->url) - 1)
			load_fail(ld, ld->line, section, key,
				  "longer than %zu bytes", sizeof(feed->url) - 1);
		else if (!url_valid(value))
			load_fail(ld, ld->line, section, key,
				  "must be an http:// or https:// URL without "
				  "spaces, got %s",
				  echo(value, echoed, sizeof(echoed)));
		else
			memcpy(feed->url, value, strlen(value) + 1);
		break;
	case FKEY_USER:
		copy_string(ld, section, key, value, true, feed->user);
		break;
	case FKEY_PASSWORD:
	case FKEY_PASSWORD_FILE:
	case FKEY_CLIENT_ID:
	case FKEY_CLIENT_ID_FILE: {
		bool file = fkey == FKEY_PASSWORD_FILE ||
			    fkey == FKEY_CLIENT_ID_FILE;
		enum feed_key other = file ? fkey - 1 : fkey + 1;
		char *field = fkey <= FKEY_PASSWORD_FILE ? feed->password :
			      feed->client_id;
		if (ld->feed_seen[idx][other]) {
			load_fail(ld, ld->line, section, key,
				  "cannot be used together with %s (line %u)",
				  feed_key_names[other],
				  ld->feed_seen[idx][other]);
			break;
		}
		if (file)
			read_password_file(ld, section, key, value, field);
		else
			set_password(ld, section, key, value, field);
		break;
	}
	case FKEY_QUERY:
		if (strlen(value) > sizeof(feed->query) - 1)
			load_fail(ld, ld->line, section, key,
				  "longer than %zu bytes",
				  sizeof(feed->query) - 1);
		else if (has_control(value))
			load_fail(ld, ld->line, section, key,
				  "must not contain control characters, got %s",
				  echo(value, echoed, sizeof(echoed)));
		else
			memcpy(feed->query, value, strlen(value) + 1);
		break;
	case FKEY_LIMIT:
		if (!parse_long(value, &l) || l < 1 || l > 1000)
			load_fail(ld, ld->line, section, key,
				  "must be 1..1000, got %s",
				  echo(value, echoed, sizeof(echoed)));
		else
			feed->limit = (int)l;
		break;
	case FKEY_REFRESH_MINUTES:
		if (!parse_long(value, &l) || l < 1 || l > 10080)
			load_fail(ld, ld->line, section, key,
				  "must be 1..10080, got %s",
				  echo(value, echoed, sizeof(echoed)));
		else
			feed->refresh_minutes = (int)l;
		break;
	case N_FEED_KEYS:
		break;
	}
}

static unsigned http_listen_port(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ?
	       ntohs(((const struct sockaddr_in6 *)a)->sin6_port) :
	       ntohs(((const struct sockaddr_in *)a)->sin_port);
}

static int on_key(void *user, const char *inih_section, const char *key,
		  const char *value)
{
	struct load *ld = user;
	const char *section = ld->section;
	bool section_known = false;

	(void)inih_section; /* see struct load */
	if (ld->failed)
		return 0;
	if (!value)
		value = "";
	if (section[0] == '\0') {
		load_fail(ld, ld->line, NULL, key,
			  "outside of any section (put it under [library], "
			  "[icecast], [output.NAME], [feed.NAME], [mix], "
			  "[analysis], [brain] or [http])");
		return 0;
	}
	if (strncmp(section, OUTPUT_PREFIX, OUTPUT_PREFIX_LEN) == 0) {
		set_output_key(ld, section, key, value);
		return !ld->failed;
	}
	if (strncmp(section, FEED_PREFIX, FEED_PREFIX_LEN) == 0) {
		set_feed_key(ld, section, key, value);
		return !ld->failed;
	}
	for (size_t i = 0; i < N_GLOBAL_KEYS; i++) {
		if (strcmp(section, global_keys[i].section) != 0)
			continue;
		section_known = true;
		if (strcmp(key, global_keys[i].name) == 0) {
			set_global_key(ld, i, value);
			return !ld->failed;
		}
	}
	if (!section_known) {
		load_fail(ld, ld->line, section, NULL, "unknown section");
		return 0;
	}
	/* Name the keys that exist, for a quick fix of a typo. */
	char known[CONFIG_ERROR_MAX / 2] = "";
	size_t used = 0;
	for (size_t i = 0; i < N_GLOBAL_KEYS; i++) {
		if (strcmp(section, global_keys[i].section) != 0)
			continue;
		int n = snprintf(known + used, sizeof(known) - used, "%s%s",
				 used ? ", " : "", global_keys[i].name);
		if (n < 0 || (size_t)n >= sizeof(known) - used)
			break;
		used += (size_t)n;
	}
	load_fail(ld, ld->line, section, key, "unknown key (known: %s)", known);
	return 0;
}

/* The sections besides [output.NAME] are those of global_keys, so that a
 * new section needs only its keys (and config_key_foreach sees it). */
static bool global_section_known(const char *name)
{
	for (size_t i = 0; i < N_GLOBAL_KEYS; i++)
		if (strcmp(global_keys[i].section, name) == 0)
			return true;
	return false;
}

/* Checks a "[...]" line as the reader meets it; registers [output.NAME]. */
static void section_header(struct load *ld, const char *line)
{
	char echoed[ECHO_MAX + 8];
	const char *close = strchr(line, ']');
	char name[CONFIG_LINE_MAX + 1];
	size_t len;

	if (!close) {
		load_fail(ld, ld->line, NULL, NULL,
			  "section header without closing ']'");
		return;
	}
	len = (size_t)(close - line - 1);
	memcpy(name, line + 1, len);
	name[len] = '\0';
	const char *rest = close + 1;
	rest += strspn(rest, " \t\r\n\f\v");
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		load_fail(ld, ld->line, name, NULL,
			  "unexpected text after the section header");
		return;
	}
	if (global_section_known(name)) {
		memcpy(ld->section, name, len + 1);
		return;
	}
	if (strncmp(name, FEED_PREFIX, FEED_PREFIX_LEN) == 0) {
		const char *fname = name + FEED_PREFIX_LEN;
		if (!output_name_valid(fname)) {
			load_fail(ld, ld->line, NULL, NULL,
				  "[feed.NAME]: NAME must be 1 to 63 letters, "
				  "digits, '_' or '-', got %s",
				  echo(fname, echoed, sizeof(echoed)));
			return;
		}
		memcpy(ld->section, name, len + 1);
		if (feed_find(ld->cfg, fname) >= 0)
			return;
		if (ld->cfg->n_feeds >= CONFIG_FEEDS_MAX) {
			load_fail(ld, ld->line, name, NULL,
				  "too many feeds (at most %d)",
				  CONFIG_FEEDS_MAX);
			return;
		}
		size_t i = ld->cfg->n_feeds++;
		struct config_feed *f = &ld->cfg->feeds[i];
		memcpy(f->name, fname, strlen(fname) + 1);
		f->limit = 200;
		f->refresh_minutes = 60;
		ld->feed_header[i] = ld->line;
		return;
	}
	if (strncmp(name, OUTPUT_PREFIX, OUTPUT_PREFIX_LEN) != 0) {
		load_fail(ld, ld->line, name, NULL,
			  "unknown section (known: [library], [icecast], "
			  "[output.NAME], [feed.NAME], [mix], [analysis], "
			  "[brain], [http])");
		return;
	}
	const char *oname = name + OUTPUT_PREFIX_LEN;
	if (!output_name_valid(oname)) {
		load_fail(ld, ld->line, NULL, NULL,
			  "[output.NAME]: NAME must be 1 to 63 letters, digits, "
			  "'_' or '-', got %s",
			  echo(oname, echoed, sizeof(echoed)));
		return;
	}
	/* Valid: at most OUTPUT_PREFIX_LEN + 63 bytes. */
	memcpy(ld->section, name, len + 1);
	if (output_find(ld->cfg, oname) >= 0)
		return; /* sections may be split; keys still may not repeat */
	if (ld->cfg->n_outputs >= CONFIG_OUTPUTS_MAX) {
		load_fail(ld, ld->line, name, NULL,
			  "too many outputs (at most %d)", CONFIG_OUTPUTS_MAX);
		return;
	}
	size_t i = ld->cfg->n_outputs++;
	memcpy(ld->cfg->outputs[i].name, oname, strlen(oname) + 1);
	ld->out_header[i] = ld->line;
}

/* ini_reader: hands libinih one physical line per call (see DESIGN). */
static char *reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	const char *p, *nl;
	size_t n;

	if (ld->failed || ld->off >= ld->len || num < 3)
		return NULL;
	p = ld->buf + ld->off;
	nl = memchr(p, '\n', ld->len - ld->off);
	n = nl ? (size_t)(nl - p) + 1 : ld->len - ld->off;
	ld->off += n;
	ld->line++;

	if (ld->line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3; /* UTF-8 byte order mark */
		n -= 3;
	}
	if (memchr(p, '\0', n)) {
		load_fail(ld, ld->line, NULL, NULL, "NUL byte in line");
		return NULL;
	}
	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\f' ||
			 *p == '\v' || *p == '\r')) {
		p++;
		n--;
	}
	/* Room for the line, its newline and the NUL. */
	if (n + 1 > (size_t)num || n > CONFIG_LINE_MAX + 1) {
		load_fail(ld, ld->line, NULL, NULL,
			  "line too long (more than %d bytes)",
			  num - 2 < CONFIG_LINE_MAX ? num - 2 : CONFIG_LINE_MAX);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	if (str[0] == '[')
		section_header(ld, str);
	return ld->failed ? NULL : str;
}

/* The keys of its own server the section did not give come from
 * [icecast]. */
static void output_resolve_server(const struct config *cfg,
				  struct config_output *out,
				  const unsigned *seen)
{
	if (!seen[OKEY_HOST])
		memcpy(out->host, cfg->icecast_host, sizeof(out->host));
	if (!seen[OKEY_PORT])
		out->port = cfg->icecast_port;
	if (!seen[OKEY_USER])
		memcpy(out->user, cfg->icecast_user, sizeof(out->user));
	if (!seen[OKEY_PASSWORD] && !seen[OKEY_PASSWORD_FILE])
		memcpy(out->password, cfg->icecast_password,
		       sizeof(out->password));
	if (!seen[OKEY_TLS])
		out->tls = cfg->icecast_tls;
}

static void validate_outputs(struct load *ld)
{
	char section[sizeof(OUTPUT_PREFIX) + 64];

	for (size_t i = 0; i < ld->cfg->n_outputs && !ld->failed; i++) {
		struct config_output *out = &ld->cfg->outputs[i];
		const unsigned *seen = ld->out_seen[i];

		snprintf(section, sizeof(section), "%s%s", OUTPUT_PREFIX,
			 out->name);
		if (!seen[OKEY_MOUNT]) {
			load_fail(ld, ld->out_header[i], section, "mount",
				  "missing (required, e.g. /forever.mp3)");
			return;
		}
		if (!seen[OKEY_FORMAT]) {
			load_fail(ld, ld->out_header[i], section, "format",
				  "missing (mp3 or ogg)");
			return;
		}
		if (out->format == OUTPUT_FORMAT_MP3) {
			if (seen[OKEY_CHAINED]) {
				load_fail(ld, seen[OKEY_CHAINED], section,
					  "chained", "only for format = ogg");
			} else if (seen[OKEY_BITRATE] && seen[OKEY_QUALITY]) {
				bool q_last = seen[OKEY_QUALITY] >
					      seen[OKEY_BITRATE];
				load_fail(ld, q_last ? seen[OKEY_QUALITY] :
					  seen[OKEY_BITRATE], section,
					  q_last ? "quality" : "bitrate",
					  "give bitrate (CBR) or quality (VBR), "
					  "not both");
			} else if (seen[OKEY_QUALITY] &&
				   (out->quality < 0 || out->quality > 9)) {
				load_fail(ld, seen[OKEY_QUALITY], section,
					  "quality", "must be 0..9 for mp3 "
					  "(0 best), got %g", out->quality);
			} else if (!seen[OKEY_QUALITY] && !seen[OKEY_BITRATE]) {
				out->bitrate_kbps = 128;
			}
			if (seen[OKEY_QUALITY])
				out->bitrate_kbps = 0;
		} else {
			if (seen[OKEY_BITRATE]) {
				load_fail(ld, seen[OKEY_BITRATE], section,
					  "bitrate", "not available for format "
					  "= ogg; use quality (-0.1..1.0)");
			} else if (seen[OKEY_QUALITY] &&
				   (out->quality < -0.1 || out->quality > 1.0)) {
				load_fail(ld, seen[OKEY_QUALITY], section,
					  "quality", "must be -0.1..1.0 for ogg, "
					  "got %g", out->quality);
			}
			if (!seen[OKEY_QUALITY])
				out->quality = 0.4;
			if (!seen[OKEY_CHAINED])
				out->chained = true;
		}
		output_resolve_server(ld->cfg, out, seen);
	}
	/* One server cannot take the same mount twice; two servers can
	 * (a primary and a backup Icecast). */
	for (size_t i = 0; i < ld->cfg->n_outputs && !ld->failed; i++) {
		const struct config_output *out = &ld->cfg->outputs[i];
		for (size_t j = 0; j < i; j++) {
			const struct config_output *o = &ld->cfg->outputs[j];
			if (strcmp(o->mount, out->mount) != 0 ||
			    strcmp(o->host, out->host) != 0 ||
			    o->port != out->port)
				continue;
			char echoed[ECHO_MAX + 8];
			snprintf(section, sizeof(section), "%s%s",
				 OUTPUT_PREFIX, out->name);
			load_fail(ld, ld->out_seen[i][OKEY_MOUNT], section,
				  "mount", "%s is already the mount of "
				  "[output.%s] (line %u)",
				  echo(out->mount, echoed, sizeof(echoed)),
				  o->name, ld->out_seen[j][OKEY_MOUNT]);
			return;
		}
	}
}

/* Which keys a feed type takes (beyond type, url, limit, refresh). */
static bool feed_key_applies(enum feed_type type, enum feed_key k)
{
	switch (k) {
	case FKEY_USER:
	case FKEY_PASSWORD:
	case FKEY_PASSWORD_FILE:
		return type == FEED_TYPE_SUBSONIC;
	case FKEY_CLIENT_ID:
	case FKEY_CLIENT_ID_FILE:
		return type == FEED_TYPE_JAMENDO;
	case FKEY_QUERY:
		return type != FEED_TYPE_RSS;
	default:
		return true;
	}
}

static void validate_feeds(struct load *ld)
{
	struct config *cfg = ld->cfg;
	char section[sizeof(FEED_PREFIX) + 64];
	char echoed[ECHO_MAX + 8];

	for (size_t i = 0; i < cfg->n_feeds && !ld->failed; i++) {
		struct config_feed *f = &cfg->feeds[i];
		const unsigned *seen = ld->feed_seen[i];

		snprintf(section, sizeof(section), "%s%s", FEED_PREFIX, f->name);
		if (!seen[FKEY_TYPE]) {
			load_fail(ld, ld->feed_header[i], section, "type",
				  "missing (rss, subsonic or jamendo)");
			return;
		}
		for (enum feed_key k = 0; k < N_FEED_KEYS; k++) {
			if (!seen[k] || feed_key_applies(f->type, k))
				continue;
			load_fail(ld, seen[k], section, feed_key_names[k],
				  "not used by type = %s",
				  config_feed_type_name(f->type));
			return;
		}
		if (!seen[FKEY_URL]) {
			if (f->type != FEED_TYPE_JAMENDO) {
				load_fail(ld, ld->feed_header[i], section,
					  "url", "missing (the %s)",
					  f->type == FEED_TYPE_RSS ?
					  "RSS or Atom feed" :
					  "Subsonic server's root");
				return;
			}
			snprintf(f->url, sizeof(f->url), "%s",
				 JAMENDO_DEFAULT_URL);
		}
		if (f->type == FEED_TYPE_SUBSONIC) {
			if (!seen[FKEY_USER]) {
				load_fail(ld, ld->feed_header[i], section,
					  "user", "missing");
				return;
			}
			if (!seen[FKEY_PASSWORD] && !seen[FKEY_PASSWORD_FILE]) {
				load_fail(ld, ld->feed_header[i], section,
					  "password", "missing: set password "
					  "or password_file");
				return;
			}
			if (!seen[FKEY_QUERY])
				snprintf(f->query, sizeof(f->query), "random");
			if (!subsonic_query_valid(f->query)) {
				load_fail(ld, seen[FKEY_QUERY], section, "query",
					  "must be random, newest, starred, "
					  "genre:NAME or playlist:NAME, got %s",
					  echo(f->query, echoed,
					       sizeof(echoed)));
				return;
			}
		}
		if (f->type == FEED_TYPE_JAMENDO && !seen[FKEY_CLIENT_ID] &&
		    !seen[FKEY_CLIENT_ID_FILE]) {
			load_fail(ld, ld->feed_header[i], section, "client_id",
				  "missing: set client_id or client_id_file");
			return;
		}
	}
	if (ld->failed || cfg->cache)
		return;
	/* The cache's default: "cache" beside the database. */
	if (strcmp(cfg->database, ":memory:") == 0) {
		if (cfg->n_feeds > 0)
			load_fail(ld, ld->feed_header[0], "library", "cache",
				  "missing: feeds need a cache directory when "
				  "the database is :memory:");
		return;
	}
	const char *slash = strrchr(cfg->database, '/');
	int dlen = slash ? (int)(slash - cfg->database) : 0;
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%.*s/cache", dlen,
			 cfg->database);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    !(cfg->cache = strdup(path))) {
		load_fail(ld, 0, "library", "cache", "cannot derive the "
			  "default from the database path");
		ld->failed_errno = ENOMEM;
	}
}

static size_t key_index(const char *section, const char *name)
{
	for (size_t i = 0; i < N_GLOBAL_KEYS; i++)
		if (strcmp(global_keys[i].section, section) == 0 &&
		    strcmp(global_keys[i].name, name) == 0)
			return i;
	abort(); /* a typo in this file */
}

/* Checks that need the whole file. */
static void validate(struct load *ld)
{
	struct config *cfg = ld->cfg;
	unsigned min_line = ld->seen[key_index("library", "min_duration")];
	unsigned max_line = ld->seen[key_index("library", "max_duration")];

	if (cfg->min_duration_s >= cfg->max_duration_s) {
		if (max_line >= min_line)
			load_fail(ld, max_line, "library", "max_duration",
				  "must be greater than min_duration (%g), "
				  "got %g", cfg->min_duration_s,
				  cfg->max_duration_s);
		else
			load_fail(ld, min_line, "library", "min_duration",
				  "must be less than max_duration (%g), got %g",
				  cfg->max_duration_s, cfg->min_duration_s);
		return;
	}
	if (cfg->brain_weight_tempo + cfg->brain_weight_key +
	    cfg->brain_weight_energy + cfg->brain_weight_timbre +
	    cfg->brain_weight_loudness + cfg->brain_weight_genre +
	    cfg->brain_weight_artist <= 0) {
		/* Report it at the last weight the file set. */
		static const char *const weights[] = {
			"weight_tempo", "weight_key", "weight_energy",
			"weight_timbre", "weight_loudness", "weight_genre",
			"weight_artist",
		};
		const char *name = weights[0];
		unsigned line = 0;
		for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]);
		     i++) {
			unsigned l = ld->seen[key_index("brain", weights[i])];
			if (l >= line) {
				line = l;
				name = weights[i];
			}
		}
		load_fail(ld, line, "brain", name,
			  "at least one weight must be greater than 0");
		return;
	}
	if (cfg->http_listen[0]) {
		struct sockaddr_storage addr;
		unsigned addr_len;
		char echoed[ECHO_MAX + 8];
		if (http_parse_listen(cfg->http_listen, &addr, &addr_len) < 0 ||
		    http_listen_port(&addr) == 0) {
			load_fail(ld, ld->seen[key_index("http", "listen")],
				  "http", "listen", "must be ADDRESS:PORT "
				  "(an IPv4 address, or [IPv6]; port 1..65535) or "
				  "PORT (loopback), "
				  "got %s", echo(cfg->http_listen, echoed,
						 sizeof(echoed)));
			return;
		}
	}
	validate_outputs(ld);
	validate_feeds(ld);
	for (size_t i = 0; i < cfg->n_outputs && !ld->failed; i++) {
		/* Empty only when neither the section nor [icecast] set
		 * one. */
		if (cfg->outputs[i].password[0] != '\0')
			continue;
		char section[sizeof(OUTPUT_PREFIX) + 64];
		snprintf(section, sizeof(section), "%s%s", OUTPUT_PREFIX,
			 cfg->outputs[i].name);
		load_fail(ld, ld->out_header[i], "icecast", "password",
			  "missing: set password or password_file (Icecast "
			  "needs it for [%s])", section);
	}
}

/* The directory relative paths are taken from: the file's own, made
 * absolute so that logs show where a path really points. Returns false when
 * that does not fit in PATH_MAX. */
static bool load_set_dir(struct load *ld)
{
	char cwd[PATH_MAX];
	const char *slash = strrchr(ld->file, '/');
	int len = slash ? (int)(slash - ld->file) : 0;
	int n;

	if (slash && len == 0)
		n = snprintf(ld->dir, sizeof(ld->dir), "/");
	else if (slash && ld->file[0] == '/')
		n = snprintf(ld->dir, sizeof(ld->dir), "%.*s", len, ld->file);
	else {
		if (!getcwd(cwd, sizeof(cwd)))
			snprintf(cwd, sizeof(cwd), ".");
		if (slash)
			n = snprintf(ld->dir, sizeof(ld->dir), "%s/%.*s", cwd,
				     len, ld->file);
		else
			n = snprintf(ld->dir, sizeof(ld->dir), "%s", cwd);
	}
	return n > 0 && (size_t)n < sizeof(ld->dir);
}

/* Moves buf into a new buffer of size bytes, wiping the old one (it may
 * hold a password, so no plain realloc). */
static char *grow(char *buf, size_t used, size_t size)
{
	char *bigger = malloc(size);

	if (bigger && used)
		memcpy(bigger, buf, used);
	if (buf) {
		explicit_bzero(buf, used);
		free(buf);
	}
	return bigger;
}

/* Reads FILE whole into a new buffer (at most CONFIG_FILE_MAX bytes). */
static char *read_file(struct load *ld, size_t *len)
{
	char *buf = NULL;
	size_t used = 0, size = 0;
	int e = 0;
	int fd = open(ld->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		e = errno;
		goto out;
	}
	for (;;) {
		if (used == size) {
			if (size > CONFIG_FILE_MAX) {
				load_fail(ld, 0, NULL, NULL,
					  "too large (more than %d bytes)",
					  CONFIG_FILE_MAX);
				goto out;
			}
			/* Ends at CONFIG_FILE_MAX + 1: one byte more than
			 * allowed tells "too large" from "exactly full". */
			size = size ? size * 2 : 4096;
			if (size > CONFIG_FILE_MAX + 1)
				size = CONFIG_FILE_MAX + 1;
			buf = grow(buf, used, size);
			if (!buf) {
				e = ENOMEM;
				goto out;
			}
		}
		ssize_t r = read(fd, buf + used, size - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	close(fd);
	*len = used;
	return buf;
out:
	if (e) {
		load_fail(ld, 0, NULL, NULL, "%s", strerror(e));
		ld->failed_errno = e;
	}
	if (buf) {
		explicit_bzero(buf, used);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct config *config_defaults(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		goto fail;
	cfg->database = strdup(CONFIG_DEFAULT_DATABASE);
	cfg->http_www = strdup(CONFIG_DEFAULT_WWW);
	if (!cfg->database || !cfg->http_www)
		goto fail;
	cfg->min_duration_s = 90;
	cfg->max_duration_s = 600;
	cfg->cache_max_mb = 2048;
	cfg->http_max_clients = 256;
	snprintf(cfg->icecast_host, sizeof(cfg->icecast_host), "127.0.0.1");
	cfg->icecast_port = 8000;
	snprintf(cfg->icecast_user, sizeof(cfg->icecast_user), "source");
	cfg->icecast_tls = false;
	cfg->icecast_timeout_s = 10;
	snprintf(cfg->station_name, sizeof(cfg->station_name), "foreverfm");
	cfg->station_public = false;
	cfg->crossfade_s = 6;
	cfg->beatmatch = true;
	cfg->transition_bars = 16;
	cfg->max_stretch = 0.08;
	cfg->loudness_target_lufs = -14;
	cfg->stretch_engine = STRETCH_ENGINE_FASTER;
	cfg->analysis_workers = 0;
	cfg->analysis_timeout_s = 120;
	/* The defaults of brain_weights_default() (brain.h). */
	cfg->brain_weight_tempo = 2;
	cfg->brain_weight_key = 1.5;
	cfg->brain_weight_energy = 1;
	cfg->brain_weight_timbre = 1;
	cfg->brain_weight_loudness = 0.5;
	cfg->brain_weight_genre = 0.5;
	cfg->brain_weight_artist = 1;
	cfg->brain_no_repeat_hours = 4;
	cfg->brain_artist_separation = 3;
	cfg->brain_time_budget_s = 1;
	return cfg;
fail:
	free(cfg);
	errno = ENOMEM;
	return NULL;
}

struct config *config_load(const char *file, char *err, size_t err_size)
{
	struct load *ld = NULL;
	struct config *cfg = NULL;
	char *buf = NULL;
	size_t len = 0;
	int e = EINVAL;

	if (err && err_size)
		err[0] = '\0';
	/* The load state is large (paths, line tables): keep it off the
	 * stack, which libinih also uses for its line buffer. */
	ld = calloc(1, sizeof(*ld));
	cfg = config_defaults();
	if (!ld || !cfg || !(cfg->file = strdup(file))) {
		if (err && err_size)
			snprintf(err, err_size, "%s: %s", file, strerror(ENOMEM));
		e = ENOMEM;
		goto fail;
	}
	ld->cfg = cfg;
	ld->file = file;
	ld->err = err;
	ld->err_size = err_size;
	if (!load_set_dir(ld)) {
		load_fail(ld, 0, NULL, NULL, "%s", strerror(ENAMETOOLONG));
		ld->failed_errno = ENAMETOOLONG;
		goto fail;
	}

	buf = read_file(ld, &len);
	if (!buf)
		goto fail;
	ld->buf = buf;
	ld->len = len;

	ini_max_line = CONFIG_LINE_MAX + 2;
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	ini_allow_bom = false; /* the reader removes it */
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;

	int rc = ini_parse_stream(reader, ld, on_key, ld);
	if (!ld->failed && rc > 0)
		load_fail(ld, (unsigned)rc, NULL, NULL,
			  "expected \"key = value\", \"[section]\" or a comment "
			  "starting with ';' or '#'");
	else if (!ld->failed && rc < 0) {
		load_fail(ld, 0, NULL, NULL, "%s", strerror(ENOMEM));
		ld->failed_errno = ENOMEM;
	}
	if (!ld->failed)
		validate(ld);
	if (ld->failed)
		goto fail;

	explicit_bzero(buf, len);
	free(buf);
	free(ld);
	return cfg;
fail:
	if (ld && ld->failed)
		e = ld->failed_errno;
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	free(ld);
	config_destroy(cfg);
	errno = e;
	return NULL;
}

int config_set_library_paths(struct config *cfg, char *const *paths, size_t n)
{
	char *copies[CONFIG_PATHS_MAX];

	if (n > CONFIG_PATHS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		copies[i] = strdup(paths[i]);
		if (!copies[i]) {
			while (i-- > 0)
				free(copies[i]);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < cfg->n_library_paths; i++)
		free(cfg->library_paths[i]);
	for (size_t i = 0; i < n; i++)
		cfg->library_paths[i] = copies[i];
	for (size_t i = n; i < CONFIG_PATHS_MAX; i++)
		cfg->library_paths[i] = NULL;
	cfg->n_library_paths = n;
	return 0;
}

void config_destroy(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_library_paths; i++)
		free(cfg->library_paths[i]);
	free(cfg->database);
	free(cfg->cache);
	free(cfg->http_www);
	free(cfg->file);
	for (size_t i = 0; i < CONFIG_FEEDS_MAX; i++) {
		explicit_bzero(cfg->feeds[i].password,
			       sizeof(cfg->feeds[i].password));
		explicit_bzero(cfg->feeds[i].client_id,
			       sizeof(cfg->feeds[i].client_id));
	}
	explicit_bzero(cfg->icecast_password, sizeof(cfg->icecast_password));
	for (size_t i = 0; i < CONFIG_OUTPUTS_MAX; i++)
		explicit_bzero(cfg->outputs[i].password,
			       sizeof(cfg->outputs[i].password));
	free(cfg);
}

int config_key_foreach(int (*fn)(void *ctx, const char *section,
				 const char *key), void *ctx)
{
	int rc;

	for (size_t i = 0; i < N_GLOBAL_KEYS; i++)
		if ((rc = fn(ctx, global_keys[i].section, global_keys[i].name)))
			return rc;
	for (size_t i = 0; i < N_OUTPUT_KEYS; i++)
		if ((rc = fn(ctx, OUTPUT_PREFIX "NAME", output_key_names[i])))
			return rc;
	for (size_t i = 0; i < N_FEED_KEYS; i++)
		if ((rc = fn(ctx, FEED_PREFIX "NAME", feed_key_names[i])))
			return rc;
	return 0;
}

const char *config_feed_type_name(enum feed_type type)
{
	switch (type) {
	case FEED_TYPE_RSS: return "rss";
	case FEED_TYPE_SUBSONIC: return "subsonic";
	case FEED_TYPE_JAMENDO: return "jamendo";
	}
	return "?";
}

const char *config_format_name(enum output_format format)
{
	switch (format) {
	case OUTPUT_FORMAT_MP3: return "mp3";
	case OUTPUT_FORMAT_OGG: return "ogg";
	}
	return "?";
}
