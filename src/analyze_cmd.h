/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_cmd — the `analyze` command: scan the library paths of CFG into
 * its catalog, analyse every track without a current analysis (analyzer.h:
 * child processes, [analysis] workers and timeout_seconds), and report.
 *
 * Progress goes to stderr: on a terminal a bar redrawn in place (done/total,
 * tracks per minute, ETA, the track just finished; bad files on lines of
 * their own), otherwise one log line per track. Both end with a summary
 * line "analyze: N tracks: A analysed, C from the cache, B bad, ...".
 *
 * With json, every track under the library paths (analysed now, read from
 * the cache, bad or, if the run was interrupted, not analysed yet) is
 * written to OUT as one JSON object per line, in catalog order, with the
 * keys path, artist, title, duration, bpm, bpm_confidence, first_beat,
 * beats_per_bar, downbeat, key, camelot, key_confidence, loudness_lufs,
 * true_peak_db, energy and bad (null, or the reason), plus grid_confidence,
 * tempo_drift, downbeat_confidence, phrase_bars, phrases, audio_start,
 * audio_end, intro_end, outro_start and content_hash. Times are seconds.
 * Analysis fields are null for a track without an analysis; key and
 * camelot are null when no key was found. Paths that are not valid UTF-8
 * have each invalid byte replaced by U+FFFD.
 *
 * SIGINT and SIGTERM stop the analysis (children killed, what is done is
 * kept) and the command returns -EINTR after writing the JSON of what it
 * has. Returns 0, -EINTR, or a negative errno (catalog, scan, output;
 * logged).
 */
#ifndef FOREVERFM_ANALYZE_CMD_H
#define FOREVERFM_ANALYZE_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

int analyze_cmd_run(const struct config *cfg, bool json, FILE *out);

#endif
