/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * station — the `run` command: catalog, library scan, mixer, ring, one
 * output per [output.NAME] and the background analyzer (analyzer.h), until
 * SIGTERM or SIGINT.
 *
 * Signals are taken synchronously: station_run() blocks SIGHUP, SIGTERM,
 * SIGINT and SIGUSR1 before it starts any thread (every thread inherits
 * the mask) and waits for them in the calling thread with sigtimedwait().
 * No handler runs, so nothing async-signal-unsafe can happen in one, and
 * reload and shutdown run as ordinary code in the main thread. SIGPIPE is
 * ignored (a dropped Icecast connection is an error return, not a death).
 *
 *   SIGHUP   reload CONFIG_FILE. A bad file is logged (its one error line)
 *            and the running configuration stays. A good one: the library
 *            paths are rescanned (in the main thread, while the mixer keeps
 *            playing) and the mixer and the analyzer told;
 *            crossfade_seconds applies from the next transition; changes
 *            to [icecast], [output.*], [analysis] or the database are
 *            logged as needing a restart.
 *   SIGUSR1  one status line at info level (also once a minute at debug):
 *            the current track, the analysis to do and done, and, per
 *            output, connected or not and bytes sent.
 *   SIGTERM, SIGINT
 *            kill running analysis children (their tracks stay
 *            unanalysed), fade out over 2 s, let the outputs send what is
 *            buffered and disconnect, free everything and return 0. If
 *            that takes more than 10 s (a hung Icecast), or a second
 *            SIGTERM/SIGINT comes, the process exits at once with _exit(0).
 * A signal that arrives during the first library scan, before the mask is
 * set, has its default effect (the process ends; nothing is streaming yet).
 *
 * The ring holds 3 s of audio (the outputs pace at most OUTPUT_LEAD_MS
 * ahead, so this is slack for a slow connection, not latency listeners
 * hear at start) and evicts a reader that blocks it for 2 s. The shuffle
 * seed comes from the clock. An empty library still streams (silence); a
 * missing library directory is logged and the station runs anyway.
 *
 * Ownership: station_run() takes cfg and destroys it (and every reloaded
 * configuration). PATHS (n_paths > 0), the command-line library paths,
 * replace the configured ones at start and at every reload; they are
 * borrowed for the whole call.
 * Returns 0 after a clean stop, or a negative errno when the station could
 * not start (logged).
 */
#ifndef FOREVERFM_STATION_H
#define FOREVERFM_STATION_H

#include <stddef.h>

#include "config.h"

int station_run(const char *config_file, struct config *cfg,
		char *const *paths, size_t n_paths);

#endif
