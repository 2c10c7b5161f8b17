/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * main — command-line dispatch: run | render | analyze | plan | check.
 * Everything else lives in libforeverfm.
 *
 * The command, when given, is the first argument; without one the command
 * is run. One more, analyze-worker, is internal (not in the usage): the
 * process that analyze_worker.c starts for each file, by exec of this
 * very binary. Options follow in any order (getopt_long). Exit codes: 0 ok,
 * 1 runtime failure, 2 bad usage or configuration.
 *
 * Decisions:
 * - run and check read SYSCONFDIR/foreverfm/foreverfm.ini when -c is not
 *   given; render without -c uses the built-in defaults and needs PATHs.
 * - render keeps its catalog in memory (a fresh scan every time) unless
 *   -c FILE names a [library] database other than the default one, so a
 *   render never needs write access to the station's /var/lib database.
 * - render's --seed defaults to one drawn from the clock; it is logged so
 *   a mix can be made again.
 * - check is as strict as run: besides a valid file it needs at least one
 *   library path and one output, which run needs too.
 * - analyze exists to fill a cache, so its catalog is always a file: the
 *   [library] database of -c FILE; without -c, that of the default
 *   configuration file when it exists (the station's cache); otherwise the
 *   built-in defaults with the database in $XDG_CACHE_HOME/foreverfm/
 *   (~/.cache/foreverfm/catalog.db), and PATHs are needed. Bad files are
 *   not a failure: analyze exits 0 when every file was handled.
 * - plan reads the analysis cache that analyze fills, so it finds its
 *   catalog the same way; it analyses nothing. Without --seed it solves
 *   within [brain] time_budget_seconds, as the station does; with it, the
 *   plan is the same for the same library.
 */
#include "autoconfig.h"

#include "analyze_cmd.h"
#include "analyze_worker.h"
#include "catalog.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "plan_cmd.h"
#include "render.h"
#include "source_http.h"
#include "station.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define DEFAULT_CONFIG SYSCONFDIR "/foreverfm/foreverfm.ini"
#define DEFAULT_DATABASE "/var/lib/foreverfm/catalog.db"
#define RENDER_SECONDS_MAX (7 * 86400.0)

enum command { CMD_RUN, CMD_RENDER, CMD_CHECK, CMD_ANALYZE, CMD_PLAN };

enum { OPT_SEED = 256, OPT_JSON, OPT_TRANSITIONS_LOG, OPT_DECKS,
       OPT_NOWPLAYING_LOG };

/* The commands, in the order the usage lists them. tests/test_man.sh reads
 * this table (and longopts below) to hold foreverfm(1) to them. */
static const struct command_name {
	const char *name;
	enum command command;
} commands[] = {
	{ "run", CMD_RUN },
	{ "render", CMD_RENDER },
	{ "analyze", CMD_ANALYZE },
	{ "plan", CMD_PLAN },
	{ "check", CMD_CHECK },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* check's own options. */
enum { OPT_ONLINE = 512 };

struct options {
	enum command command;
	const char *config_file;
	const char *output;
	const char *transitions_log;
	const char *nowplaying_log;
	const char *decks;
	double seconds;
	bool have_seconds;
	uint64_t seed;
	bool have_seed;
	bool json;
	bool online;
	char **paths;
	size_t n_paths;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: foreverfm [run] [-c FILE] [PATH...]\n"
"       foreverfm render -o OUT.{wav,mp3,ogg} -d SECONDS [-c FILE] [--seed N]\n"
"                        [--transitions-log FILE] [--nowplaying-log FILE]\n"
"                        [--decks FILE.wav] [PATH...]\n"
"       foreverfm analyze [--json] [-c FILE] [PATH...]\n"
"       foreverfm plan [--json] [-c FILE] [--seed N] [PATH...]\n"
"       foreverfm check [--online] [-c FILE]\n"
"       foreverfm --help | --version\n"
"\n"
"An endless, beatmatched mix of a music library, streamed to Icecast.\n"
"\n"
"Commands:\n"
"  run     stream to the Icecast mounts of the configuration (the default).\n"
"          SIGHUP reloads the configuration and rescans the library;\n"
"          SIGTERM/SIGINT fade out and stop; SIGUSR1 logs a status line.\n"
"  render  mix SECONDS into a file as fast as the CPU allows; no Icecast.\n"
"          The format follows the extension: .wav (16-bit PCM), .mp3, .ogg.\n"
"          It analyses the tracks (unless cached) and plays the brain's\n"
"          tour, beatmatched as the station does. Without -c it uses the\n"
"          built-in defaults and needs PATHs. Its catalog (and so the\n"
"          analysis cache) is kept in memory unless -c FILE names a\n"
"          [library] database.\n"
"  analyze scan the library and analyse (tempo, beats, key, loudness,\n"
"          energy) every track not in the analysis cache yet, with a\n"
"          progress bar on a terminal. The cache is the [library]\n"
"          database; without -c that of the default configuration when it\n"
"          exists, else $XDG_CACHE_HOME/foreverfm/catalog.db (then PATHs\n"
"          are needed).\n"
"  plan    scan the library and print the endless play order the station\n"
"          would play next, with the cost of every step and its terms. It\n"
"          does not analyse: it reads the cache that analyze fills (same\n"
"          catalog rules as analyze); tracks without an analysis are placed\n"
"          by their tags only.\n"
"  check   validate the configuration, print a summary and exit. With\n"
"          --online, also read every [feed.NAME] once and say what it\n"
"          found, or why it failed (exit status 1 when one failed).\n"
"\n"
"Options:\n"
"  -c, --config FILE    configuration file (run, check, analyze, plan\n"
"                       default:\n"
"                       %s)\n"
"  -o, --output FILE    render: the file to write\n"
"  -d, --duration SECS  render: length of the mix in seconds\n"
"      --seed N         render: seed of the tour and shuffle (default:\n"
"                       from the clock, logged so that a mix can be\n"
"                       repeated); plan: solve deterministically with it\n"
"      --transitions-log FILE\n"
"                       render: one JSON object per transition (position,\n"
"                       exit and entry, BPM, bars, kind and why)\n"
"      --nowplaying-log FILE\n"
"                       render: the status server's track and transition\n"
"                       events, one JSON object per line, with their\n"
"                       positions in the mix\n"
"      --decks FILE.wav render: beside the mix, the two decks as they enter\n"
"                       the sum: 4 channels of 32-bit float, 1-2 the deck\n"
"                       of the 1st, 3rd... track, 3-4 that of the 2nd,\n"
"                       4th...; after stretch, gain, fades and EQ, before\n"
"                       the sum and the limiter; aligned with the mix and\n"
"                       as long\n"
"      --online         check: read every feed once\n"
"      --json           analyze: one JSON object per track on stdout;\n"
"                       plan: a JSON array in play order\n"
"  -v, --verbose        log debug messages too\n"
"  -q, --quiet          log warnings and errors only\n"
"  -h, --help           show this help and exit\n"
"  -V, --version        show the version and exit\n"
"\n"
"PATH arguments replace the [library] paths of the configuration.\n"
"Exit status: 0 ok, 1 runtime failure, 2 bad usage or configuration.\n",
		DEFAULT_CONFIG);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "foreverfm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	usage(stderr);
	return EXIT_USAGE;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	if (s[0] == '\0' || strspn(s, "0123456789.eE+") != strlen(s))
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > RENDER_SECONDS_MAX)
		return false;
	*out = v;
	return true;
}

static bool parse_seed(const char *s, uint64_t *out)
{
	char *end;

	if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "online", no_argument, NULL, OPT_ONLINE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "transitions-log", required_argument, NULL,
		  OPT_TRANSITIONS_LOG },
		{ "decks", required_argument, NULL, OPT_DECKS },
		{ "nowplaying-log", required_argument, NULL,
		  OPT_NOWPLAYING_LOG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *render_only = NULL;
	int c;

	opt->command = CMD_RUN;
	if (argc > 1 && argv[1][0] != '-') {
		size_t i = 0;
		while (i < N_COMMANDS && strcmp(argv[1], commands[i].name) != 0)
			i++;
		if (i == N_COMMANDS) {
			char names[128] = "";
			size_t used = 0;
			for (size_t j = 0; j < N_COMMANDS; j++) {
				int n = snprintf(names + used,
						 sizeof(names) - used, "%s%s",
						 j ? ", " : "", commands[j].name);
				if (n < 0 || (size_t)n >= sizeof(names) - used)
					break;
				used += (size_t)n;
			}
			return usage_error("unknown command '%s' (commands: %s)",
					   argv[1], names);
		}
		opt->command = commands[i].command;
		/* getopt sees the command as its program name. */
		argc--;
		argv++;
	}

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "c:o:d:vqhV", longopts, NULL))
	       != -1) {
		switch (c) {
		case 'c':
			opt->config_file = optarg;
			break;
		case 'o':
			opt->output = optarg;
			render_only = "-o/--output";
			break;
		case 'd':
			if (!parse_seconds(optarg, &opt->seconds))
				return usage_error("-d/--duration: must be a "
						   "number of seconds > 0 and at "
						   "most 604800, got '%s'",
						   optarg);
			opt->have_seconds = true;
			render_only = "-d/--duration";
			break;
		case OPT_SEED:
			if (!parse_seed(optarg, &opt->seed))
				return usage_error("--seed: must be an unsigned "
						   "integer, got '%s'", optarg);
			opt->have_seed = true;
			break;
		case OPT_JSON:
			opt->json = true;
			break;
		case OPT_TRANSITIONS_LOG:
			opt->transitions_log = optarg;
			render_only = "--transitions-log";
			break;
		case OPT_DECKS:
			opt->decks = optarg;
			render_only = "--decks";
			break;
		case OPT_NOWPLAYING_LOG:
			opt->nowplaying_log = optarg;
			render_only = "--nowplaying-log";
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_LEVEL_WARNING);
			break;
		case OPT_ONLINE:
			opt->online = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			/* getopt_long printed what was wrong. */
			fprintf(stderr, "\n");
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	opt->paths = argv + optind;
	opt->n_paths = (size_t)(argc - optind);

	if (render_only && opt->command != CMD_RENDER)
		return usage_error("%s is only for the render command",
				   render_only);
	if (opt->have_seed && opt->command != CMD_RENDER &&
	    opt->command != CMD_PLAN)
		return usage_error("--seed is only for the render and plan "
				   "commands");
	if (opt->json && opt->command != CMD_ANALYZE &&
	    opt->command != CMD_PLAN)
		return usage_error("--json is only for the analyze and plan "
				   "commands");
	if (opt->online && opt->command != CMD_CHECK)
		return usage_error("--online is only for the check command");
	if (opt->command == CMD_CHECK && opt->n_paths > 0)
		return usage_error("check takes no PATH arguments, got '%s'",
				   opt->paths[0]);
	if (opt->command == CMD_RENDER && !opt->output)
		return usage_error("%s needs -o OUT.{wav,mp3,ogg}", "render");
	if (opt->command == CMD_RENDER && !opt->have_seconds)
		return usage_error("%s needs -d SECONDS", "render");
	if (opt->n_paths > CONFIG_PATHS_MAX)
		return usage_error("too many PATH arguments (at most %d)",
				   CONFIG_PATHS_MAX);
	return -1;
}

/* What run needs beyond a valid file; check applies the same rules.
 * Prints the one error line and returns false when it is not met. */
static bool ready_for_run(const struct config *cfg, const char *file)
{
	if (cfg->n_library_paths == 0 && cfg->n_feeds == 0) {
		fprintf(stderr, "%s: [library] path: missing (run needs at "
			"least one library path or [feed.NAME], or PATH "
			"arguments)\n", file);
		return false;
	}
	if (cfg->n_outputs == 0) {
		fprintf(stderr, "%s: [output.NAME]: missing (run needs at least "
			"one output, e.g. [output.mp3] with mount and format)\n",
			file);
		return false;
	}
	return true;
}

static void print_summary(const struct config *cfg)
{
	printf("%s: ok\n", cfg->file);
	printf("library: %zu path%s, database %s, tracks of %g..%g s\n",
	       cfg->n_library_paths, cfg->n_library_paths == 1 ? "" : "s",
	       cfg->database, cfg->min_duration_s, cfg->max_duration_s);
	for (size_t i = 0; i < cfg->n_library_paths; i++) {
		struct stat st;
		const char *p = cfg->library_paths[i];
		if (stat(p, &st) != 0)
			printf("  path %s (warning: %s)\n", p, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			printf("  path %s (warning: not a directory)\n", p);
		else
			printf("  path %s\n", p);
	}
	for (size_t i = 0; i < cfg->n_feeds; i++) {
		const struct config_feed *f = &cfg->feeds[i];
		char shown[CONFIG_URL_MAX];
		fetch_url_for_log(f->url, shown, sizeof(shown));
		printf("feed %s: %s %s", f->name,
		       config_feed_type_name(f->type), shown);
		if (f->type == FEED_TYPE_SUBSONIC)
			printf(" as %s (password set)", f->user);
		if (f->type != FEED_TYPE_RSS)
			printf(", query %s", f->query[0] ? f->query : "(none)");
		printf(", at most %d tracks, read every %d min\n", f->limit,
		       f->refresh_minutes);
	}
	if (cfg->n_feeds > 0)
		printf("cache: %s, at most %d MB\n", cfg->cache,
		       cfg->cache_max_mb);
	printf("icecast: %s@%s:%d%s, password %s, station \"%s\"%s, "
	       "timeout %g s\n", cfg->icecast_user, cfg->icecast_host,
	       cfg->icecast_port, cfg->icecast_tls ? " (TLS)" : "",
	       cfg->icecast_password[0] ? "set" : "not set", cfg->station_name,
	       cfg->station_public ? ", listed in directories" : "",
	       cfg->icecast_timeout_s);
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		const struct config_output *o = &cfg->outputs[i];
		printf("output %s: %s, %s", o->name, o->mount,
		       config_format_name(o->format));
		if (o->format == OUTPUT_FORMAT_MP3 && o->bitrate_kbps > 0)
			printf(" %d kbps CBR", o->bitrate_kbps);
		else if (o->format == OUTPUT_FORMAT_MP3)
			printf(" VBR quality %g", o->quality);
		else
			printf(" quality %g%s", o->quality,
			       o->chained ? ", chained" : "");
		if (strcmp(o->host, cfg->icecast_host) != 0 ||
		    o->port != cfg->icecast_port ||
		    strcmp(o->user, cfg->icecast_user) != 0 ||
		    o->tls != cfg->icecast_tls)
			printf(", to %s@%s:%d%s", o->user, o->host, o->port,
			       o->tls ? " (TLS)" : "");
		printf("\n");
	}
	if (cfg->beatmatch)
		printf("mix: beatmatched, %d bars, max stretch %g%%, %g LUFS, "
		       "%s stretch; crossfade %g s\n", cfg->transition_bars,
		       100 * cfg->max_stretch, cfg->loudness_target_lufs,
		       stretch_engine_name(cfg->stretch_engine),
		       cfg->crossfade_s);
	else
		printf("mix: crossfade %g s (beatmatching off)\n",
		       cfg->crossfade_s);
	if (cfg->http_listen[0]) {
		char index[PATH_MAX + 16];
		snprintf(index, sizeof(index), "%s/index.html", cfg->http_www);
		printf("http: http://%s/, at most %d clients, page %s",
		       cfg->http_listen, cfg->http_max_clients, cfg->http_www);
		if (access(index, R_OK) != 0)
			printf(" (warning: %s: %s)", index, strerror(errno));
		printf("\n");
	}
}

static struct config *load_or_print(const char *file)
{
	char err[CONFIG_ERROR_MAX];
	struct config *cfg = config_load(file, err, sizeof(err));

	if (!cfg)
		fprintf(stderr, "%s\n", err);
	return cfg;
}

/* The feeds of a one-shot command (render, analyze, plan): each read
 * once and its new tracks downloaded, in this thread; then the cache's
 * tracks join the library paths. A feed that cannot be read is logged and
 * what the cache holds is used. Returns 0, or -1 when the cache cannot be
 * used at all (logged). */
static int feeds_sync(struct config *cfg)
{
	struct catalog *cat = NULL;
	struct source_http *src;
	int rc;

	if (cfg->n_feeds == 0)
		return 0;
	/* The play history orders eviction; render's private catalog has
	 * none. */
	if (strcmp(cfg->database, ":memory:") != 0)
		cat = catalog_open(cfg->database);
	src = source_http_create(cfg, cat);
	if (!src) {
		catalog_close(cat);
		return -1;
	}
	rc = source_http_sync(src);
	source_http_destroy(src);
	catalog_close(cat);
	if (rc < 0)
		log_warning("feeds: %s (going on with the cache as it is)",
			    strerror(-rc));
	if ((rc = source_http_add_root(cfg)) < 0) {
		log_error("feeds: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static int cmd_check(const struct options *opt)
{
	const char *file = opt->config_file ? opt->config_file : DEFAULT_CONFIG;
	struct config *cfg = load_or_print(file);
	int rc = EXIT_USAGE;

	if (!cfg)
		goto out;
	if (!ready_for_run(cfg, file))
		goto out;
	print_summary(cfg);
	rc = 0;
	if (opt->online) {
		/* Feed failures are this check's findings, printed; the
		 * log lines of the reads would only repeat them. */
		int failed = source_http_check(cfg, stdout);
		if (failed < 0)
			fprintf(stderr, "foreverfm: check --online: %s\n",
				strerror(-failed));
		if (failed != 0)
			rc = EXIT_RUNTIME;
	}
	if (fflush(stdout) != 0)
		rc = EXIT_RUNTIME;
out:
	config_destroy(cfg);
	return rc;
}

static int cmd_run(const struct options *opt)
{
	const char *file = opt->config_file ? opt->config_file : DEFAULT_CONFIG;
	struct config *cfg = load_or_print(file);
	int rc;

	if (!cfg)
		return EXIT_USAGE;
	if (opt->n_paths > 0 &&
	    config_set_library_paths(cfg, opt->paths, opt->n_paths) != 0) {
		fprintf(stderr, "foreverfm: out of memory\n");
		config_destroy(cfg);
		return EXIT_RUNTIME;
	}
	if (!ready_for_run(cfg, file)) {
		config_destroy(cfg);
		return EXIT_USAGE;
	}
	/* station_run owns cfg from here on. */
	rc = station_run(file, cfg, opt->n_paths ? opt->paths : NULL,
			 opt->n_paths);
	return rc == 0 ? 0 : EXIT_RUNTIME;
}

static int cmd_render(const struct options *opt)
{
	struct config *cfg;
	uint64_t seed = opt->seed;
	int rc = EXIT_USAGE;

	if (opt->config_file)
		cfg = load_or_print(opt->config_file);
	else if (!(cfg = config_defaults()))
		fprintf(stderr, "foreverfm: out of memory\n");
	if (!cfg)
		return opt->config_file ? EXIT_USAGE : EXIT_RUNTIME;
	if (opt->n_paths > 0 &&
	    config_set_library_paths(cfg, opt->paths, opt->n_paths) != 0) {
		fprintf(stderr, "foreverfm: out of memory\n");
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (cfg->n_library_paths == 0 && cfg->n_feeds == 0) {
		rc = usage_error("%s needs PATH arguments or -c FILE with "
				 "[library] path or [feed.NAME]", "render");
		goto out;
	}
	if (strcmp(cfg->database, DEFAULT_DATABASE) == 0) {
		char *mem = strdup(":memory:");
		if (!mem) {
			rc = EXIT_RUNTIME;
			goto out;
		}
		free(cfg->database);
		cfg->database = mem;
	}
	if (feeds_sync(cfg) < 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (!opt->have_seed) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		seed = ((uint64_t)now.tv_sec * 1000000007u) ^
		       (uint64_t)now.tv_nsec ^ ((uint64_t)getpid() << 32);
	}
	int r = render_run(cfg, opt->output, opt->seconds, seed,
			   opt->transitions_log, opt->decks,
			   opt->nowplaying_log);
	rc = r == 0 ? 0 : r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
out:
	config_destroy(cfg);
	return rc;
}

/* analyze's catalog when neither -c nor the default file says: a cache
 * directory of the user's. Returns a malloc'd path or NULL (errno). */
static char *user_cache_database(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *path = NULL;
	int n;

	if (xdg && xdg[0] == '/')
		n = asprintf(&path, "%s/foreverfm/catalog.db", xdg);
	else if (home && home[0] == '/')
		n = asprintf(&path, "%s/.cache/foreverfm/catalog.db", home);
	else {
		errno = ENOENT;
		return NULL;
	}
	if (n < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return path;
}

/* The configuration of analyze and plan, which share the analysis cache:
 * -c FILE; else the default file when it exists (the station's cache);
 * else the defaults with the database in the user's cache directory. PATH
 * arguments replace the library paths, and some are needed. Returns -1
 * with *cfg set to go on, else the exit code (the error printed). */
static int cache_command_config(const struct options *opt, const char *name,
				struct config **cfg_out)
{
	struct config *cfg = NULL;
	int rc = EXIT_USAGE;

	if (opt->config_file)
		cfg = load_or_print(opt->config_file);
	else if (access(DEFAULT_CONFIG, F_OK) == 0)
		cfg = load_or_print(DEFAULT_CONFIG);
	else if ((cfg = config_defaults())) {
		char *db = user_cache_database();
		if (!db) {
			fprintf(stderr, "foreverfm: %s: no -c FILE, no %s "
				"and no $HOME for a cache: give -c FILE with a "
				"[library] database\n", name, DEFAULT_CONFIG);
			goto fail;
		}
		free(cfg->database);
		cfg->database = db;
	} else {
		fprintf(stderr, "foreverfm: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (!cfg)
		return EXIT_USAGE;
	if (opt->n_paths > 0 &&
	    config_set_library_paths(cfg, opt->paths, opt->n_paths) != 0) {
		fprintf(stderr, "foreverfm: out of memory\n");
		rc = EXIT_RUNTIME;
		goto fail;
	}
	if (cfg->n_library_paths == 0 && cfg->n_feeds == 0) {
		rc = usage_error("%s needs PATH arguments or [library] path or "
				 "[feed.NAME] in the configuration", name);
		goto fail;
	}
	if (feeds_sync(cfg) < 0) {
		rc = EXIT_RUNTIME;
		goto fail;
	}
	*cfg_out = cfg;
	return -1;
fail:
	config_destroy(cfg);
	return rc;
}

static int cmd_analyze(const struct options *opt)
{
	struct config *cfg;
	int rc = cache_command_config(opt, "analyze", &cfg);

	if (rc >= 0)
		return rc;
	rc = analyze_cmd_run(cfg, opt->json, stdout) == 0 ? 0 : EXIT_RUNTIME;
	config_destroy(cfg);
	return rc;
}

static int cmd_plan(const struct options *opt)
{
	struct config *cfg;
	int rc = cache_command_config(opt, "plan", &cfg);

	if (rc >= 0)
		return rc;
	rc = plan_cmd_run(cfg, opt->json, opt->have_seed, opt->seed,
			  stdout) == 0 ? 0 : EXIT_RUNTIME;
	config_destroy(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	int rc;

	if (argc > 1 && strcmp(argv[1], ANALYZE_WORKER_COMMAND) == 0)
		return analyze_worker_main(argc - 1, argv + 1);
	/* First, before a package upgrade can replace the binary: the
	 * analysis workers are this file. A failure is logged and fails
	 * only the analysis. */
	analyze_worker_set_program(NULL);
	/* Before any thread: curl's global state. */
	if (fetch_init() < 0)
		fprintf(stderr, "foreverfm: libcurl did not initialise; feeds "
			"will fail\n");
	rc = parse_args(argc, argv, &opt);
	if (rc >= 0)
		return rc;
	switch (opt.command) {
	case CMD_CHECK:
		return cmd_check(&opt);
	case CMD_RENDER:
		return cmd_render(&opt);
	case CMD_ANALYZE:
		return cmd_analyze(&opt);
	case CMD_PLAN:
		return cmd_plan(&opt);
	case CMD_RUN:
		break;
	}
	return cmd_run(&opt);
}
