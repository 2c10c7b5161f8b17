/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_config — the configuration loader against a table of good and bad
 * INI files written to a scratch directory: exact "FILE:LINE: [SECTION] KEY:"
 * prefixes for every bad one, the password never in a message, password
 * files, repeated paths kept in order, relative paths, defaults, limits
 * (outputs, paths, line length, file size), CRLF, BOM, empty files, and
 * config_key_foreach() naming only keys the loader knows.
 */
#include "autoconfig.h"

#include "config.h"
#include "mixer.h"
#include "setlist.h"
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Put into every bad file that has a password: must never be echoed. */
#define SECRET "s3cr3t-pw"
#define ICE "[icecast]\npassword = " SECRET "\n"

#define CHECK_PREFIX(s, prefix) do { \
	if (strncmp((s), (prefix), strlen(prefix)) != 0) { \
		fprintf(stderr, "%s:%d: \"%s\" does not start with \"%s\"\n", \
			__FILE__, __LINE__, (s), (prefix)); \
		exit(1); } } while (0)

static char cwd[PATH_MAX];

static void write_file(const char *name, const char *text, size_t len)
{
	FILE *f = fopen(name, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(text, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

static struct config *load_text(const char *text, char *err, size_t size)
{
	write_file("station.ini", text, strlen(text));
	return config_load("station.ini", err, size);
}

struct bad_case {
	const char *text;
	const char *prefix; /* the message must start with this */
};

static const struct bad_case bad_cases[] = {
	{ "[icecast]\nport = abc\n",
	  "station.ini:2: [icecast] port: must be 1..65535, got 'abc'" },
	{ "[icecast]\nport = 0\n",
	  "station.ini:2: [icecast] port: must be 1..65535, got '0'" },
	{ "[icecast]\nport = 65536\n",
	  "station.ini:2: [icecast] port: must be 1..65535, got '65536'" },
	{ "[icecast]\nport = 8000x\n",
	  "station.ini:2: [icecast] port: must be 1..65535, got '8000x'" },
	{ "[icecast]\nport = 80.0\n",
	  "station.ini:2: [icecast] port: must be 1..65535, got '80.0'" },
	{ "[icecast]\nport =\n",
	  "station.ini:2: [icecast] port: must be 1..65535, got ''" },
	{ "[icecast]\nport = 99999999999999999999999\n",
	  "station.ini:2: [icecast] port: must be 1..65535" },
	{ ICE "prot = 8000\n",
	  "station.ini:3: [icecast] prot: unknown key (known: host, port" },
	{ "; comment\n[brains]\nx = 1\n",
	  "station.ini:2: [brains]: unknown section" },
	{ "[brain]\nx = 1\n",
	  "station.ini:2: [brain] x: unknown key (known: weight_tempo, " },
	{ "[brain]\nweight_key = -1\n",
	  "station.ini:2: [brain] weight_key: must be a number 0..100, "
	  "got '-1'" },
	{ "[brain]\nartist_separation = 51\n",
	  "station.ini:2: [brain] artist_separation: must be 0..50" },
	{ "[brain]\ntime_budget_seconds = 0\n",
	  "station.ini:2: [brain] time_budget_seconds: must be a number "
	  "0.01..60" },
	{ "[brain]\nweight_tempo = 0\nweight_key = 0\nweight_energy = 0\n"
	  "weight_timbre = 0\nweight_artist = 0\nweight_loudness = 0\n"
	  "weight_genre = 0\n",
	  "station.ini:8: [brain] weight_genre: at least one weight must be "
	  "greater than 0" },
	{ "[library]\n[feeds]\n",
	  "station.ini:2: [feeds]: unknown section" },
	{ "[Library]\n", "station.ini:1: [Library]: unknown section" },
	{ "port = 8000\n", "station.ini:1: port: outside of any section" },
	{ ICE "just some words\n", "station.ini:3: expected \"key = value\"" },
	{ ICE "[icecast\n",
	  "station.ini:3: section header without closing ']'" },
	{ "[icecast] port = 1\n",
	  "station.ini:1: [icecast]: unexpected text after the section" },
	{ ICE "password = other\n",
	  "station.ini:3: [icecast] password: given twice (first on line 2)" },
	{ "[icecast]\npassword =\n",
	  "station.ini:2: [icecast] password: invalid: empty" },
	{ "[icecast]\npassword = " SECRET "\x01x\n",
	  "station.ini:2: [icecast] password: invalid: contains control" },
	{ ICE "password_file = pw.txt\n",
	  "station.ini:3: [icecast] password_file: cannot be used together "
	  "with password (line 2)" },
	{ "[icecast]\npassword_file = pw.txt\npassword = " SECRET "\n",
	  "station.ini:3: [icecast] password: cannot be used together with "
	  "password_file (line 2)" },
	{ "[icecast]\npassword_file = missing.txt\n",
	  "station.ini:2: [icecast] password_file: cannot open '" },
	{ "[icecast]\npassword_file = empty.txt\n",
	  "station.ini:2: [icecast] password_file: '" },
	{ "[icecast]\npassword_file = long.txt\n",
	  "station.ini:2: [icecast] password_file: invalid: the password in" },
	{ "[icecast]\npassword_file = twolines.txt\n",
	  "station.ini:2: [icecast] password_file: invalid: the password in" },
	{ "[icecast]\npassword_file = .\n",
	  "station.ini:2: [icecast] password_file: '" },
	{ "[icecast]\npassword_file =\n",
	  "station.ini:2: [icecast] password_file: must not be empty" },
	{ "[icecast]\nhost =\n",
	  "station.ini:2: [icecast] host: must not be empty" },
	{ "[icecast]\nname = a\x1b[31mb\n",
	  "station.ini:2: [icecast] name: must not contain control characters,"
	  " got 'a?[31mb'" },
	{ "[icecast]\ntls = maybe\n",
	  "station.ini:2: [icecast] tls: must be yes or no" },
	{ "[icecast]\npublic = 2\n",
	  "station.ini:2: [icecast] public: must be yes or no" },
	{ "[mix]\ntransition_bars = 3\n",
	  "station.ini:2: [mix] transition_bars: must be 4..64, got '3'" },
	{ "[mix]\ntransition_bars = 65\n",
	  "station.ini:2: [mix] transition_bars: must be 4..64, got '65'" },
	{ "[mix]\ntransition_bars = 16.5\n",
	  "station.ini:2: [mix] transition_bars: must be 4..64" },
	{ "[mix]\nmax_stretch = 0\n",
	  "station.ini:2: [mix] max_stretch: must be a number 0.01..0.5, "
	  "got '0'" },
	{ "[mix]\nmax_stretch = 8%\n",
	  "station.ini:2: [mix] max_stretch: must be a number 0.01..0.5" },
	{ "[mix]\nmax_stretch = 0.6\n",
	  "station.ini:2: [mix] max_stretch: must be a number 0.01..0.5" },
	{ "[mix]\nloudness_target = 14\n",
	  "station.ini:2: [mix] loudness_target: must be a number -40..-5, "
	  "got '14'" },
	{ "[mix]\nloudness_target = -41\n",
	  "station.ini:2: [mix] loudness_target: must be a number -40..-5" },
	{ "[mix]\nstretch_engine = fast\n",
	  "station.ini:2: [mix] stretch_engine: must be faster or finer, got "
	  "'fast'" },
	{ "[mix]\nstretch_engine =\n",
	  "station.ini:2: [mix] stretch_engine: must be faster or finer" },
	{ "[mix]\nbeatmatch = sometimes\n",
	  "station.ini:2: [mix] beatmatch: must be yes or no" },
	{ "[mix]\nbeatmatch = yes\nbeatmatch = no\n",
	  "station.ini:3: [mix] beatmatch: given twice (first on line 2)" },
	{ "[mix]\ncrossfade_seconds = 31\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30, "
	  "got '31'" },
	{ "[mix]\ncrossfade_seconds = -1\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30" },
	{ "[mix]\ncrossfade_seconds = nan\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30" },
	{ "[mix]\ncrossfade_seconds = inf\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30" },
	{ "[mix]\ncrossfade_seconds = 1e400\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30" },
	{ "[mix]\ncrossfade_seconds = 0x10\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30" },
	{ "[mix]\ncrossfade_seconds = 5 s\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30, "
	  "got '5 s'" },
	{ "[mix]\ncrossfade_seconds = 6 ; default\n",
	  "station.ini:2: [mix] crossfade_seconds: must be a number 0..30, "
	  "got '6 ; default'" },
	{ "[analysis]\nworkers = 65\n",
	  "station.ini:2: [analysis] workers: must be 0..64, got '65'" },
	{ "[analysis]\nworkers = -1\n",
	  "station.ini:2: [analysis] workers: must be 0..64" },
	{ "[analysis]\nworkers = two\n",
	  "station.ini:2: [analysis] workers: must be 0..64" },
	{ "[analysis]\ntimeout_seconds = 0\n",
	  "station.ini:2: [analysis] timeout_seconds: must be a number "
	  "1..3600" },
	{ "[analysis]\ntimeout_seconds = 3601\n",
	  "station.ini:2: [analysis] timeout_seconds: must be a number "
	  "1..3600" },
	{ "[analysis]\ntimeout = 5\n",
	  "station.ini:2: [analysis] timeout: unknown key (known: workers, "
	  "timeout_seconds)" },
	{ "[mix]\ncrossfade_seconds = 5\ncrossfade_seconds = 6\n",
	  "station.ini:3: [mix] crossfade_seconds: given twice (first on "
	  "line 2)" },
	{ "[library]\nmin_duration = 600\n",
	  "station.ini:2: [library] min_duration: must be less than "
	  "max_duration (600), got 600" },
	{ "[library]\nmax_duration = 700\nmin_duration = 800\n",
	  "station.ini:3: [library] min_duration: must be less than "
	  "max_duration (700), got 800" },
	{ "[library]\nmin_duration = 100\nmax_duration = 50\n",
	  "station.ini:3: [library] max_duration: must be greater than "
	  "min_duration (100), got 50" },
	{ "[library]\npath =\n",
	  "station.ini:2: [library] path: must not be empty" },
	{ "[library]\ndatabase =\n",
	  "station.ini:2: [library] database: must not be empty" },
	{ ICE "[output.mp3]\nmount = forever.mp3\nformat = mp3\n",
	  "station.ini:4: [output.mp3] mount: must be \"/\" and a name" },
	{ ICE "[output.mp3]\nmount = /\nformat = mp3\n",
	  "station.ini:4: [output.mp3] mount: must be \"/\" and a name" },
	{ ICE "[output.mp3]\nmount = /a b\nformat = mp3\n",
	  "station.ini:4: [output.mp3] mount: must be \"/\" and a name" },
	{ ICE "[output.mp3]\nmount = /x\nformat = aac\n",
	  "station.ini:5: [output.mp3] format: must be mp3 or ogg, got 'aac'" },
	{ ICE "[output.mp3]\nmount = /x\nformat = mp3\nbitrate = 100\n",
	  "station.ini:6: [output.mp3] bitrate: must be an MP3 bitrate in kbps"
	  " (32 40 48 56 64 80 96 112 128 160 192 224 256 320), got '100'" },
	{ ICE "[output.mp3]\nmount = /x\nformat = mp3\nbitrate = 128k\n",
	  "station.ini:6: [output.mp3] bitrate: must be an MP3 bitrate" },
	{ ICE "[output.o]\nmount = /x\nbitrate = 128\nformat = ogg\n",
	  "station.ini:5: [output.o] bitrate: not available for format = ogg" },
	{ ICE "[output.o]\nmount = /x\nformat = ogg\nquality = 1.5\n",
	  "station.ini:6: [output.o] quality: must be -0.1..1.0 for ogg, "
	  "got 1.5" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nquality = 10\n",
	  "station.ini:6: [output.m] quality: must be 0..9 for mp3 (0 best), "
	  "got 10" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nquality = 2\n"
	  "bitrate = 192\n",
	  "station.ini:7: [output.m] bitrate: give bitrate (CBR) or quality "
	  "(VBR), not both" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nquality = x\n",
	  "station.ini:6: [output.m] quality: must be a number" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nchained = yes\n",
	  "station.ini:6: [output.m] chained: only for format = ogg" },
	{ ICE "[output.m]\nformat = mp3\n",
	  "station.ini:3: [output.m] mount: missing (required" },
	{ ICE "[output.m]\n",
	  "station.ini:3: [output.m] mount: missing (required" },
	{ ICE "[output.m]\nmount = /x\n",
	  "station.ini:3: [output.m] format: missing (mp3 or ogg)" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nmount = /y\n",
	  "station.ini:6: [output.m] mount: given twice (first on line 4)" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nbogus = 1\n",
	  "station.ini:6: [output.m] bogus: unknown key" },
	{ ICE "[output.a]\nmount = /x\nformat = mp3\n"
	  "[output.b]\nmount = /x\nformat = ogg\n",
	  "station.ini:7: [output.b] mount: '/x' is already the mount of "
	  "[output.a] (line 4)" },
	/* An output's own server: the keys of [icecast], checked alike. */
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nport = 0\n",
	  "station.ini:6: [output.m] port: must be 1..65535, got '0'" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nhost =\n",
	  "station.ini:6: [output.m] host: must not be empty" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nuser =\n",
	  "station.ini:6: [output.m] user: must not be empty" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\ntls = maybe\n",
	  "station.ini:6: [output.m] tls: must be yes or no" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\npassword =\n",
	  "station.ini:6: [output.m] password: invalid: empty" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\npassword = " SECRET
	  "\x01\n",
	  "station.ini:6: [output.m] password: invalid: contains control" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\npassword = " SECRET
	  "\npassword_file = pw.txt\n",
	  "station.ini:7: [output.m] password_file: cannot be used together "
	  "with password (line 6)" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\npassword_file = "
	  "missing.txt\n",
	  "station.ini:6: [output.m] password_file: cannot open '" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nhost = a\nhost = b\n",
	  "station.ini:7: [output.m] host: given twice (first on line 6)" },
	{ ICE "[output.m]\nmount = /x\nformat = mp3\nprot = 1\n",
	  "station.ini:6: [output.m] prot: unknown key (known: mount, format, "
	  "bitrate, quality, chained, host, port, user, password, "
	  "password_file, tls)" },
	/* The same mount on one server, named or by default. */
	{ ICE "[output.a]\nmount = /x\nformat = mp3\nhost = b.example\n"
	  "[output.b]\nmount = /x\nformat = ogg\nhost = b.example\n",
	  "station.ini:8: [output.b] mount: '/x' is already the mount of "
	  "[output.a] (line 4)" },
	{ ICE "[output.a]\nmount = /x\nformat = mp3\n"
	  "[output.b]\nmount = /x\nformat = ogg\nport = 8000\n",
	  "station.ini:7: [output.b] mount: '/x' is already the mount of "
	  "[output.a] (line 4)" },
	/* Every output needs a password, its own or [icecast]'s. */
	{ "[output.a]\nmount = /x\nformat = mp3\npassword = " SECRET "\n"
	  "[output.b]\nmount = /y\nformat = mp3\n",
	  "station.ini:5: [icecast] password: missing: set password or "
	  "password_file (Icecast needs it for [output.b])" },
	{ "[icecast]\ntimeout_seconds = 0.5\n",
	  "station.ini:2: [icecast] timeout_seconds: must be a number 1..600, "
	  "got '0.5'" },
	{ "[icecast]\ntimeout_seconds = 601\n",
	  "station.ini:2: [icecast] timeout_seconds: must be a number 1..600" },
	{ ICE "[output.a b]\n",
	  "station.ini:3: [output.NAME]: NAME must be 1 to 63 letters, digits,"
	  " '_' or '-', got 'a b'" },
	{ ICE "[output.]\n",
	  "station.ini:3: [output.NAME]: NAME must be 1 to 63" },
	{ ICE "[output.a.b]\n",
	  "station.ini:3: [output.NAME]: NAME must be 1 to 63" },
	{ ICE "[output.0123456789012345678901234567890123456789012345678901234"
	  "567890123]\n",
	  "station.ini:3: [output.NAME]: NAME must be 1 to 63" },
	{ "[output.m]\nmount = /x\nformat = mp3\n",
	  "station.ini:1: [icecast] password: missing: set password or "
	  "password_file" },
	{ "[feed.a]\nurl = http://x/f.xml\n",
	  "station.ini:1: [feed.a] type: missing (rss, subsonic or jamendo)" },
	{ "[feed.a]\ntype = ftp\n",
	  "station.ini:2: [feed.a] type: must be rss, subsonic or jamendo, "
	  "got 'ftp'" },
	{ "[feed.a]\ntype = rss\n",
	  "station.ini:1: [feed.a] url: missing (the RSS or Atom feed)" },
	{ "[feed.a]\ntype = rss\nurl = ftp://x/f.xml\n",
	  "station.ini:3: [feed.a] url: must be an http:// or https:// URL" },
	{ "[feed.a]\ntype = rss\nurl = http://x/a b\n",
	  "station.ini:3: [feed.a] url: must be an http:// or https:// URL" },
	{ "[feed.a]\ntype = rss\nurl = http://x/f\nuser = me\n",
	  "station.ini:4: [feed.a] user: not used by type = rss" },
	{ "[feed.a]\ntype = rss\nurl = http://x/f\nquery = x\n",
	  "station.ini:4: [feed.a] query: not used by type = rss" },
	{ "[feed.a]\ntype = rss\nurl = http://x/f\nlimit = 0\n",
	  "station.ini:4: [feed.a] limit: must be 1..1000, got '0'" },
	{ "[feed.a]\ntype = rss\nurl = http://x/f\nrefresh_minutes = 1e3\n",
	  "station.ini:4: [feed.a] refresh_minutes: must be 1..10080" },
	{ "[feed.a]\ntype = rss\nurl = http://x/f\nflavour = x\n",
	  "station.ini:4: [feed.a] flavour: unknown key (known: type, url," },
	{ "[feed.a]\ntype = rss\nurl = http://x/f\ntype = rss\n",
	  "station.ini:4: [feed.a] type: given twice (first on line 2)" },
	{ "[feed.a]\ntype = subsonic\nurl = http://x\npassword = " SECRET "\n",
	  "station.ini:1: [feed.a] user: missing" },
	{ "[feed.a]\ntype = subsonic\nurl = http://x\nuser = u\n",
	  "station.ini:1: [feed.a] password: missing: set password or "
	  "password_file" },
	{ "[feed.a]\ntype = subsonic\nurl = http://x\nuser = u\npassword = "
	  SECRET "\npassword_file = pw.txt\n",
	  "station.ini:6: [feed.a] password_file: cannot be used together "
	  "with password (line 5)" },
	{ "[feed.a]\ntype = subsonic\nurl = http://x\nuser = u\npassword = "
	  SECRET "\nquery = hottest\n",
	  "station.ini:6: [feed.a] query: must be random, newest, starred, "
	  "genre:NAME or playlist:NAME, got 'hottest'" },
	{ "[feed.a]\ntype = subsonic\nurl = http://x\nuser = u\npassword = "
	  SECRET "\nquery = genre:\n",
	  "station.ini:6: [feed.a] query: must be random" },
	{ "[feed.a]\ntype = jamendo\n",
	  "station.ini:1: [feed.a] client_id: missing" },
	{ "[feed.a]\ntype = jamendo\nclient_id = " SECRET "\nuser = x\n",
	  "station.ini:4: [feed.a] user: not used by type = jamendo" },
	{ "[feed.a.b]\n", "station.ini:1: [feed.NAME]: NAME must be 1 to 63" },
	{ "[library]\ndatabase = :memory:\n[feed.a]\ntype = rss\n"
	  "url = http://x/f\n",
	  "station.ini:3: [library] cache: missing: feeds need a cache" },
	{ "[library]\ncache_max_mb = 0\n",
	  "station.ini:2: [library] cache_max_mb: must be 1..10000000" },
	{ "[http]\nlisten = localhost:8090\n",
	  "station.ini:2: [http] listen: must be ADDRESS:PORT (an IPv4 "
	  "address, or [IPv6]; port 1..65535) or PORT (loopback), got "
	  "'localhost:8090'" },
	{ "[http]\nlisten = 127.0.0.1:0\n",
	  "station.ini:2: [http] listen: must be ADDRESS:PORT" },
	{ "[http]\nlisten = 127.0.0.1\n",
	  "station.ini:2: [http] listen: must be ADDRESS:PORT" },
	{ "[http]\nlisten =\n",
	  "station.ini:2: [http] listen: " },
	{ "[http]\nmax_clients = 0\n",
	  "station.ini:2: [http] max_clients: must be 1..65535" },
	{ "[http]\nroot = /srv\n",
	  "station.ini:2: [http] root: unknown key (known: listen, "
	  "max_clients, www)" },
	{ "[http]\nwww =\n", "station.ini:2: [http] www: " },
	{ "[library]\npath = /a\n\0path = /b\n", "station.ini:3: NUL byte" },
	{ "\xEF\xBB\xBF[library]\r\nmin_duration = 1\r\nmax_duration = x\r\n",
	  "station.ini:3: [library] max_duration: must be a number 1..86400, "
	  "got 'x'" },
};

/* Secret files the table refers to, relative to the scratch directory. */
static void write_secret_files(void)
{
	char longpw[400];
	memset(longpw, 'p', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	write_file("pw.txt", SECRET "\n", strlen(SECRET) + 1);
	write_file("empty.txt", "\n", 1);
	write_file("long.txt", longpw, strlen(longpw));
	write_file("twolines.txt", SECRET "\nmore\n", strlen(SECRET) + 6);
}

static void test_bad_table(void)
{
	char err[CONFIG_ERROR_MAX];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = strlen(c->text);
		/* The NUL case: the text goes on after the embedded NUL. */
		if (strstr(c->prefix, "NUL byte"))
			len += 1 + strlen(c->text + len + 1);
		write_file("station.ini", c->text, len);
		memset(err, 'x', sizeof(err));
		errno = 0;
		struct config *cfg = config_load("station.ini", err,
						 sizeof(err));
		if (cfg || strncmp(err, c->prefix, strlen(c->prefix)) != 0) {
			fprintf(stderr, "case %zu:\n%s\nexpected: %s\ngot:      "
				"%s\n", i, c->text, c->prefix,
				cfg ? "(loaded)" : err);
			exit(1);
		}
		CHECK_INT(errno, ==, EINVAL);
		CHECK(strchr(err, '\n') == NULL);
		CHECK(strstr(err, "s3cr3t") == NULL);
		CHECK(strlen(err) < sizeof(err));
	}
}

static void test_defaults(void)
{
	struct config *cfg = config_defaults();
	CHECK(cfg != NULL);
	CHECK(cfg->file == NULL);
	CHECK_INT(cfg->n_library_paths, ==, 0);
	CHECK_STR(cfg->database, "/var/lib/foreverfm/catalog.db");
	CHECK_STR(cfg->http_www, PKGDATADIR "/www");
	CHECK_NEAR(cfg->min_duration_s, 90, 0);
	CHECK_NEAR(cfg->max_duration_s, 600, 0);
	CHECK_STR(cfg->icecast_host, "127.0.0.1");
	CHECK_INT(cfg->icecast_port, ==, 8000);
	CHECK_STR(cfg->icecast_user, "source");
	CHECK_STR(cfg->icecast_password, "");
	CHECK(!cfg->icecast_tls);
	CHECK_NEAR(cfg->icecast_timeout_s, 10, 0);
	CHECK_STR(cfg->station_name, "foreverfm");
	CHECK(!cfg->station_public);
	CHECK_INT(cfg->n_outputs, ==, 0);
	CHECK_NEAR(cfg->crossfade_s, 6, 0);
	CHECK(cfg->beatmatch);
	CHECK_INT(cfg->transition_bars, ==, 16);
	CHECK_NEAR(cfg->max_stretch, 0.08, 0);
	CHECK_NEAR(cfg->loudness_target_lufs, -14, 0);
	CHECK_INT(cfg->stretch_engine, ==, STRETCH_ENGINE_FASTER);
	CHECK_INT(cfg->analysis_workers, ==, 0);
	CHECK_NEAR(cfg->analysis_timeout_s, 120, 0);
	CHECK_NEAR(cfg->brain_weight_tempo, 2, 0);
	CHECK_NEAR(cfg->brain_weight_key, 1.5, 0);
	CHECK_NEAR(cfg->brain_weight_artist, 1, 0);
	CHECK_NEAR(cfg->brain_no_repeat_hours, 4, 0);
	CHECK_INT(cfg->brain_artist_separation, ==, 3);
	CHECK_NEAR(cfg->brain_time_budget_s, 1, 0);
	config_destroy(cfg);
	config_destroy(NULL);

	/* [brain] keys land in their fields. */
	char berr[CONFIG_ERROR_MAX];
	cfg = load_text("[brain]\nweight_tempo = 3\nweight_timbre = 0\n"
			"no_repeat_hours = 0.5\nartist_separation = 0\n"
			"time_budget_seconds = 0.25\n", berr, sizeof(berr));
	CHECK(cfg != NULL);
	CHECK_NEAR(cfg->brain_weight_tempo, 3, 0);
	CHECK_NEAR(cfg->brain_weight_timbre, 0, 0);
	CHECK_NEAR(cfg->brain_weight_energy, 1, 0);
	CHECK_NEAR(cfg->brain_no_repeat_hours, 0.5, 0);
	CHECK_INT(cfg->brain_artist_separation, ==, 0);
	CHECK_NEAR(cfg->brain_time_budget_s, 0.25, 0);
	config_destroy(cfg);

	/* [mix] keys land in their fields, and reach the mixer and the
	 * brain (which must agree on max_stretch). */
	cfg = load_text("[mix]\nbeatmatch = no\ntransition_bars = 8\n"
			"max_stretch = 0.05\nloudness_target = -16.5\n"
			"stretch_engine = finer\ncrossfade_seconds = 4\n", berr,
			sizeof(berr));
	CHECK(cfg != NULL);
	CHECK(!cfg->beatmatch);
	CHECK_INT(cfg->transition_bars, ==, 8);
	CHECK_NEAR(cfg->max_stretch, 0.05, 0);
	CHECK_NEAR(cfg->loudness_target_lufs, -16.5, 0);
	CHECK_INT(cfg->stretch_engine, ==, STRETCH_ENGINE_FINER);
	struct mixer_params mp;
	mixer_params_from_config(&mp, cfg);
	CHECK(mp.plain_crossfades);
	CHECK_INT(mp.transition_bars, ==, 8);
	CHECK_NEAR(mp.max_stretch, 0.05, 0);
	CHECK_NEAR(mp.loudness_target_lufs, -16.5, 0);
	CHECK_INT(mp.stretch_engine, ==, STRETCH_ENGINE_FINER);
	CHECK_NEAR(mp.crossfade_s, 4, 0);
	CHECK(mp.transitions_log == NULL);
	struct setlist_params sp;
	setlist_params_from_config(&sp, cfg);
	CHECK_NEAR(sp.weights.max_stretch, 0.05, 0);
	config_destroy(cfg);

	/* An empty file, and one of comments only, are all defaults. */
	const char *texts[] = { "", "; nothing\n# here\n\n   \n" };
	for (size_t i = 0; i < 2; i++) {
		char err[CONFIG_ERROR_MAX];
		cfg = load_text(texts[i], err, sizeof(err));
		CHECK(cfg != NULL);
		CHECK_STR(cfg->file, "station.ini");
		CHECK_INT(cfg->icecast_port, ==, 8000);
		CHECK_STR(cfg->database, "/var/lib/foreverfm/catalog.db");
		CHECK_INT(cfg->n_outputs, ==, 0);
		config_destroy(cfg);
	}
}

static void test_full(void)
{
	char err[CONFIG_ERROR_MAX];
	char expect[PATH_MAX + 64];
	const char *text =
		"; foreverfm test station\n"
		"[library]\n"
		"path = /srv/music\n"
		"  path = relative/dir\n"
		"path = /srv/more music\n"
		"database = db/catalog.db\n"
		"min_duration = 30.5\n"
		"max_duration = 1200\n"
		"\n"
		"[icecast]\n"
		"host = icecast.example.org\n"
		"port = 8443\n"
		"user = dj\n"
		"password = ab ;cd#ef\n"
		"tls = on\n"
		"name = Forever FM\n"
		"description = Endless mix\n"
		"genre = Electronic\n"
		"url = http://example.org/a;b\n"
		"public = TRUE\n"
		"timeout_seconds = 2.5\n"
		"\n"
		"[output.mp3]\n"
		"mount = /forever.mp3\n"
		"format = mp3\n"
		"bitrate = 192\n"
		"[output.mp3-vbr]\n"
		"mount = /vbr.mp3\n"
		"format = MP3\n"
		"quality = 2\n"
		"[output.mp3_default]\n"
		"mount = /default.mp3\n"
		"format = mp3\n"
		"[output.ogg]\n"
		"format = ogg\n"
		"mount = /forever.ogg\n"
		"quality = -0.1\n"
		"chained = no\n"
		"[output.ogg2]\n"
		"mount=/x.ogg\n"
		"format: ogg\n"
		"[output.n123456789012345678901234567890123456789012345678901"
		"23456789-]\n" /* 63 bytes: longer than libinih's section */
		"mount = /long\n"
		"format = ogg\n"
		/* A backup server: the same mount, its own host, port, user,
		 * password and tls. */
		"[output.backup]\n"
		"mount = /forever.mp3\n"
		"format = mp3\n"
		"host = backup.example.net\n"
		"port = 8001\n"
		"user = relay\n"
		"password = other secret\n"
		"tls = no\n"
		/* Only a port of its own: the rest from [icecast]. */
		"[output.local]\n"
		"mount = /forever.mp3\n"
		"format = mp3\n"
		"port = 9000\n"
		"[mix]\n"
		"# a comment\n"
		"crossfade_seconds = 0\n"
		"[analysis]\n"
		"workers = 3\n"
		"timeout_seconds = 30.5\n"
		"[http]\n"
		"listen = 8090\n"
		"www = page\n";
	struct config *cfg = load_text(text, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	CHECK(cfg != NULL);
	CHECK_INT(cfg->n_library_paths, ==, 3);
	CHECK_STR(cfg->library_paths[0], "/srv/music");
	snprintf(expect, sizeof(expect), "%s/relative/dir", cwd);
	CHECK_STR(cfg->library_paths[1], expect);
	CHECK_STR(cfg->library_paths[2], "/srv/more music");
	snprintf(expect, sizeof(expect), "%s/db/catalog.db", cwd);
	CHECK_STR(cfg->database, expect);
	snprintf(expect, sizeof(expect), "%s/page", cwd);
	CHECK_STR(cfg->http_www, expect);
	CHECK_STR(cfg->http_listen, "8090");
	CHECK_NEAR(cfg->min_duration_s, 30.5, 0);
	CHECK_NEAR(cfg->max_duration_s, 1200, 0);
	CHECK_STR(cfg->icecast_host, "icecast.example.org");
	CHECK_INT(cfg->icecast_port, ==, 8443);
	CHECK_STR(cfg->icecast_user, "dj");
	CHECK_STR(cfg->icecast_password, "ab ;cd#ef"); /* no inline comments */
	CHECK(cfg->icecast_tls);
	CHECK_STR(cfg->station_name, "Forever FM");
	CHECK_STR(cfg->station_description, "Endless mix");
	CHECK_STR(cfg->station_genre, "Electronic");
	CHECK_STR(cfg->station_url, "http://example.org/a;b");
	CHECK(cfg->station_public);
	CHECK_INT(cfg->analysis_workers, ==, 3);
	CHECK_NEAR(cfg->analysis_timeout_s, 30.5, 0);
	CHECK_NEAR(cfg->icecast_timeout_s, 2.5, 0);
	CHECK_INT(cfg->n_outputs, ==, 8);
	/* Outputs without servers of their own take [icecast]'s. */
	for (size_t i = 0; i < 6; i++) {
		CHECK_STR(cfg->outputs[i].host, "icecast.example.org");
		CHECK_INT(cfg->outputs[i].port, ==, 8443);
		CHECK_STR(cfg->outputs[i].user, "dj");
		CHECK_STR(cfg->outputs[i].password, "ab ;cd#ef");
		CHECK(cfg->outputs[i].tls);
	}
	CHECK_STR(cfg->outputs[6].name, "backup");
	CHECK_STR(cfg->outputs[6].mount, "/forever.mp3");
	CHECK_STR(cfg->outputs[6].host, "backup.example.net");
	CHECK_INT(cfg->outputs[6].port, ==, 8001);
	CHECK_STR(cfg->outputs[6].user, "relay");
	CHECK_STR(cfg->outputs[6].password, "other secret");
	CHECK(!cfg->outputs[6].tls);
	CHECK_STR(cfg->outputs[7].host, "icecast.example.org");
	CHECK_INT(cfg->outputs[7].port, ==, 9000);
	CHECK_STR(cfg->outputs[7].user, "dj");
	CHECK_STR(cfg->outputs[7].password, "ab ;cd#ef");
	CHECK(cfg->outputs[7].tls);
	CHECK_STR(cfg->outputs[5].name, "n123456789012345678901234567890123456"
		  "78901234567890123456789-");
	CHECK_STR(cfg->outputs[5].mount, "/long");
	CHECK_STR(cfg->outputs[0].name, "mp3");
	CHECK_STR(cfg->outputs[0].mount, "/forever.mp3");
	CHECK_INT(cfg->outputs[0].format, ==, OUTPUT_FORMAT_MP3);
	CHECK_INT(cfg->outputs[0].bitrate_kbps, ==, 192);
	CHECK_STR(cfg->outputs[1].name, "mp3-vbr");
	CHECK_INT(cfg->outputs[1].bitrate_kbps, ==, 0);
	CHECK_NEAR(cfg->outputs[1].quality, 2, 0);
	CHECK_INT(cfg->outputs[2].bitrate_kbps, ==, 128); /* the default */
	CHECK_STR(cfg->outputs[3].name, "ogg");
	CHECK_INT(cfg->outputs[3].format, ==, OUTPUT_FORMAT_OGG);
	CHECK_NEAR(cfg->outputs[3].quality, -0.1, 1e-12);
	CHECK(!cfg->outputs[3].chained);
	CHECK_STR(cfg->outputs[4].mount, "/x.ogg");
	CHECK_NEAR(cfg->outputs[4].quality, 0.4, 1e-12); /* the default */
	CHECK(cfg->outputs[4].chained);                  /* the default */
	CHECK_NEAR(cfg->crossfade_s, 0, 0);
	CHECK_STR(config_format_name(OUTPUT_FORMAT_MP3), "mp3");
	CHECK_STR(config_format_name(OUTPUT_FORMAT_OGG), "ogg");

	/* Command-line PATHs replace the configured ones. */
	char a[] = "a", b[] = "/b", m[] = "/m";
	char *paths[] = { a, b };
	CHECK_INT(config_set_library_paths(cfg, paths, 2), ==, 0);
	CHECK_INT(cfg->n_library_paths, ==, 2);
	CHECK_STR(cfg->library_paths[0], "a");
	CHECK_STR(cfg->library_paths[1], "/b");
	char *many[CONFIG_PATHS_MAX + 1];
	for (size_t i = 0; i <= CONFIG_PATHS_MAX; i++)
		many[i] = m;
	CHECK_INT(config_set_library_paths(cfg, many, CONFIG_PATHS_MAX + 1),
		  ==, -E2BIG);
	CHECK_INT(cfg->n_library_paths, ==, 2);
	CHECK_INT(config_set_library_paths(cfg, many, CONFIG_PATHS_MAX), ==, 0);
	CHECK_INT(config_set_library_paths(cfg, NULL, 0), ==, 0);
	CHECK_INT(cfg->n_library_paths, ==, 0);
	config_destroy(cfg);
}

static void test_password_file(void)
{
	char err[CONFIG_ERROR_MAX];
	struct config *cfg;

	/* Relative to the config file's directory, not to the cwd: load
	 * sub/station.ini, whose password file is sub/secret. */
	CHECK(mkdir("sub", 0700) == 0);
	write_file("sub/secret", "pa ss\r\n", 7);
	const char *sub = "[icecast]\npassword_file = secret\n"
			  "[output.a]\nmount = /a\nformat = mp3\n";
	write_file("sub/station.ini", sub, strlen(sub));
	cfg = config_load("sub/station.ini", err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	CHECK(cfg != NULL);
	CHECK_STR(cfg->icecast_password, "pa ss");
	config_destroy(cfg);

	/* An output's own password_file, relative alike; the other output
	 * keeps [icecast]'s. */
	write_file("sub/backup-secret", "bb\n", 3);
	const char *two = "[icecast]\npassword_file = secret\n"
			  "[output.a]\nmount = /a\nformat = mp3\n"
			  "[output.b]\nmount = /a\nformat = mp3\n"
			  "host = backup.example\npassword_file = backup-secret\n";
	write_file("sub/two.ini", two, strlen(two));
	cfg = config_load("sub/two.ini", err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	CHECK(cfg != NULL);
	CHECK_STR(cfg->outputs[0].password, "pa ss");
	CHECK_STR(cfg->outputs[1].password, "bb");
	config_destroy(cfg);

	/* Only one newline is stripped: a blank second line is an error. */
	write_file("sub/secret", "pass\n\n", 6);
	cfg = config_load("sub/station.ini", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "pass\n") == NULL);
	CHECK_PREFIX(err, "sub/station.ini:2: [icecast] password_file: "
		     "invalid");

	/* No newline at all, exactly 255 bytes: fine. */
	char pw[256];
	memset(pw, 'q', 255);
	pw[255] = '\0';
	write_file("sub/secret", pw, 255);
	cfg = config_load("sub/station.ini", err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_STR(cfg->icecast_password, pw);
	config_destroy(cfg);
	write_file("sub/secret", "qq\n", 3);

	/* Absolute path. */
	char text[PATH_MAX + 128];
	snprintf(text, sizeof(text), "[icecast]\npassword_file = %s/pw.txt\n",
		 cwd);
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_STR(cfg->icecast_password, SECRET);
	config_destroy(cfg);

	/* Unreadable (when not root, who can read anything). */
	if (geteuid() != 0) {
		write_file("noperm.txt", "x\n", 2);
		CHECK(chmod("noperm.txt", 0) == 0);
		cfg = load_text("[icecast]\npassword_file = noperm.txt\n", err,
				sizeof(err));
		CHECK(cfg == NULL);
		CHECK(strstr(err, "cannot open") != NULL);
		CHECK(strstr(err, "Permission denied") != NULL);
	}
	/* A FIFO would block an ordinary read: refused without opening it
	 * for long. */
	CHECK(mkfifo("fifo", 0600) == 0);
	cfg = load_text("[icecast]\npassword_file = fifo\n", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "is not a regular file") != NULL);
}

static void test_limits(void)
{
	char err[CONFIG_ERROR_MAX];
	struct config *cfg;
	size_t size = 64 * 1024;
	char *text = malloc(size);
	size_t used;
	CHECK(text != NULL);

	/* CONFIG_OUTPUTS_MAX outputs load; one more is an error on the
	 * header of the extra section. */
	used = (size_t)snprintf(text, size, "%s", ICE);
	for (int i = 0; i < CONFIG_OUTPUTS_MAX; i++)
		used += (size_t)snprintf(text + used, size - used,
					 "[output.o%d]\nmount = /m%d\n"
					 "format = ogg\n", i, i);
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_INT(cfg->n_outputs, ==, CONFIG_OUTPUTS_MAX);
	config_destroy(cfg);
	snprintf(text + used, size - used, "[output.extra]\n");
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "station.ini:27: [output.extra]: too many outputs "
		  "(at most 8)");

	/* CONFIG_PATHS_MAX paths, in order; one more is an error. */
	used = (size_t)snprintf(text, size, "[library]\n");
	for (int i = 0; i < CONFIG_PATHS_MAX; i++)
		used += (size_t)snprintf(text + used, size - used,
					 "path = /music/%d\n", i);
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_INT(cfg->n_library_paths, ==, CONFIG_PATHS_MAX);
	for (int i = 0; i < CONFIG_PATHS_MAX; i++) {
		char expect[32];
		snprintf(expect, sizeof(expect), "/music/%d", i);
		CHECK_STR(cfg->library_paths[i], expect);
	}
	config_destroy(cfg);
	snprintf(text + used, size - used, "path = /one/more\n");
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "station.ini:66: [library] path: more than 64 paths");

	/* A long path (longer than libinih's default 200-byte line) is kept
	 * whole; a path over PATH_MAX is an error; a 10000-byte line is
	 * "too long", never split into two lines. */
	used = (size_t)snprintf(text, size, "[library]\npath = /");
	memset(text + used, 'd', 4000);
	used += 4000;
	snprintf(text + used, size - used, "\n");
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_INT(strlen(cfg->library_paths[0]), ==, 4001);
	config_destroy(cfg);

	used = (size_t)snprintf(text, size, "[library]\npath = /");
	memset(text + used, 'd', 5000);
	used += 5000;
	snprintf(text + used, size - used, "\n");
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_PREFIX(err, "station.ini:2: [library] path: path longer than "
		     "4095 bytes, got '/ddd");
	CHECK(strlen(err) < 200); /* the echo is truncated */

	used = (size_t)snprintf(text, size, "[icecast]\nname = ");
	memset(text + used, 'n', 10000);
	used += 10000;
	snprintf(text + used, size - used, "\nport = 1\n");
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "station.ini:2: line too long (more than 8192 bytes)");

	/* A value over CONFIG_STRING_MAX is an error, not a truncation. */
	used = (size_t)snprintf(text, size, "[icecast]\ndescription = ");
	memset(text + used, 'n', 300);
	used += 300;
	snprintf(text + used, size - used, "\n");
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_PREFIX(err, "station.ini:2: [icecast] description: longer than "
		     "255 bytes, got 'nnn");
	free(text);

	/* A file over 1 MiB is refused whole. */
	size = 1024 * 1024 + 10;
	text = malloc(size + 1);
	CHECK(text != NULL);
	memset(text, '\n', size);
	text[size] = '\0';
	cfg = load_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "station.ini: too large (more than 1048576 bytes)");
	free(text);

	/* Missing file, directory: the errno of the failure. */
	errno = 0;
	cfg = config_load("nonexistent.ini", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_INT(errno, ==, ENOENT);
	CHECK_STR(err, "nonexistent.ini: No such file or directory");
	cfg = config_load(".", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_INT(errno, ==, EISDIR);

	/* A tiny error buffer truncates but stays a C string. */
	char tiny[16];
	cfg = load_text("[icecast]\nport = abc\n", tiny, sizeof(tiny));
	CHECK(cfg == NULL);
	CHECK_STR(tiny, "station.ini:2: ");
	cfg = load_text("[icecast]\nport = abc\n", NULL, 0);
	CHECK(cfg == NULL);
}

static void test_line_endings(void)
{
	char err[CONFIG_ERROR_MAX];
	/* CRLF everywhere, a BOM, tabs, a last line without a newline. */
	const char *text = "\xEF\xBB\xBF[icecast]\r\n"
			   "\tport = 9000\r\n"
			   "password = pw\r\n"
			   "\r\n"
			   "[output.a]\r\n"
			   "mount = /a.mp3\r\n"
			   "format = mp3\r\n"
			   "[library]\r\n"
			   "path = /x\r\n"
			   "path = /y";
	struct config *cfg = load_text(text, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	CHECK(cfg != NULL);
	CHECK_INT(cfg->icecast_port, ==, 9000);
	CHECK_STR(cfg->icecast_password, "pw");
	CHECK_STR(cfg->outputs[0].mount, "/a.mp3");
	CHECK_INT(cfg->n_library_paths, ==, 2);
	CHECK_STR(cfg->library_paths[1], "/y");
	config_destroy(cfg);

	/* A BOM anywhere but at the start is not whitespace. */
	cfg = load_text("[icecast]\n\xEF\xBB\xBFport = 1\n", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_PREFIX(err, "station.ini:2: [icecast] \xEF\xBB\xBFport: unknown");

	/* Sections may be split; a key still may not repeat across them. */
	cfg = load_text("[icecast]\nport = 1\n[library]\n[icecast]\nuser = u\n",
			err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_INT(cfg->icecast_port, ==, 1);
	CHECK_STR(cfg->icecast_user, "u");
	config_destroy(cfg);
	cfg = load_text("[icecast]\nport = 1\n[mix]\n[icecast]\nport = 2\n",
			err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK_STR(err, "station.ini:5: [icecast] port: given twice (first on "
		  "line 2)");
	cfg = load_text(":memory:\n", err, sizeof(err));
	CHECK(cfg == NULL);
	cfg = load_text("[library]\ndatabase = :memory:\n", err, sizeof(err));
	CHECK(cfg != NULL);
	CHECK_STR(cfg->database, ":memory:");
	config_destroy(cfg);
}

struct foreach_state {
	size_t n, n_output;
	bool saw_path, saw_mount;
	size_t stop_at;
};

/* Every key config_key_foreach names is one the loader knows: given a
 * value ("x", wrong for most), it may fail, but never as unknown. */
static int foreach_check(void *ctx, const char *section, const char *key)
{
	struct foreach_state *fs = ctx;
	char text[256], err[CONFIG_ERROR_MAX];

	fs->n++;
	if (strncmp(section, "output.", 7) == 0)
		fs->n_output++;
	if (strcmp(section, "library") == 0 && strcmp(key, "path") == 0)
		fs->saw_path = true;
	if (strcmp(section, "output.NAME") == 0 && strcmp(key, "mount") == 0)
		fs->saw_mount = true;
	snprintf(text, sizeof(text), "[%s]\n%s = x\n", section, key);
	struct config *cfg = load_text(text, err, sizeof(err));
	if (!cfg && strstr(err, "unknown")) {
		fprintf(stderr, "config_key_foreach: [%s] %s: %s\n", section,
			key, err);
		exit(1);
	}
	config_destroy(cfg);
	return fs->stop_at && fs->n == fs->stop_at ? 42 : 0;
}

/* Feeds: defaults, every type, secrets kept out of messages. */
static void test_feeds(void)
{
	char err[CONFIG_ERROR_MAX];
	struct config *cfg;

	cfg = load_text("[library]\ndatabase = db/catalog.db\n"
			"[feed.net]\ntype = rss\nurl = https://x/f.xml\n"
			"[feed.home]\ntype = subsonic\nurl = http://h:4533\n"
			"user = dj\npassword_file = pw.txt\nquery = genre:Techno\n"
			"limit = 50\nrefresh_minutes = 5\n"
			"[feed.jam]\ntype = jamendo\nclient_id = abc123\n"
			"query = order=popularity_week&tags=electronic\n",
			err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "%s\n", err);
	CHECK(cfg);
	CHECK_INT(cfg->n_feeds, ==, 3);
	CHECK_INT(cfg->cache_max_mb, ==, 2048);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/db/cache", cwd);
	CHECK_STR(cfg->cache, want);
	CHECK_STR(cfg->feeds[0].name, "net");
	CHECK_INT(cfg->feeds[0].type, ==, FEED_TYPE_RSS);
	CHECK_INT(cfg->feeds[0].limit, ==, 200);
	CHECK_INT(cfg->feeds[0].refresh_minutes, ==, 60);
	CHECK_INT(cfg->feeds[1].type, ==, FEED_TYPE_SUBSONIC);
	CHECK_STR(cfg->feeds[1].password, SECRET);
	CHECK_STR(cfg->feeds[1].query, "genre:Techno");
	CHECK_INT(cfg->feeds[1].limit, ==, 50);
	CHECK_INT(cfg->feeds[1].refresh_minutes, ==, 5);
	CHECK_INT(cfg->feeds[2].type, ==, FEED_TYPE_JAMENDO);
	CHECK_STR(cfg->feeds[2].url, "https://api.jamendo.com/v3.0");
	CHECK_STR(cfg->feeds[2].client_id, "abc123");
	config_destroy(cfg);

	cfg = load_text("[feed.s]\ntype = subsonic\nurl = http://h\n"
			"user = u\npassword = p\n[library]\ncache = /srv/c\n"
			"cache_max_mb = 10\n", err, sizeof(err));
	CHECK(cfg);
	CHECK_STR(cfg->feeds[0].query, "random");
	CHECK_STR(cfg->cache, "/srv/c");
	CHECK_INT(cfg->cache_max_mb, ==, 10);
	config_destroy(cfg);
}

static void test_key_foreach(void)
{
	struct foreach_state fs = { 0 };

	CHECK_INT(config_key_foreach(foreach_check, &fs), ==, 0);
	CHECK(fs.saw_path);
	CHECK(fs.saw_mount);
	CHECK_INT(fs.n_output, ==, 11);
	CHECK_INT(fs.n, >, 30);
	size_t all = fs.n;

	/* The first nonzero return stops the walk and is returned. */
	memset(&fs, 0, sizeof(fs));
	fs.stop_at = 3;
	CHECK_INT(config_key_foreach(foreach_check, &fs), ==, 42);
	CHECK_INT(fs.n, ==, 3);
	CHECK(all > 3);
}

int main(void)
{
	const char *dir = test_tmpdir("config");

	CHECK(chdir(dir) == 0);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	write_secret_files();

	test_defaults();
	test_bad_table();
	test_full();
	test_password_file();
	test_limits();
	test_line_endings();
	test_key_foreach();
	test_feeds();

	CHECK(test_sh("rm -rf '%s'", cwd) == 0);
	return 0;
}
