/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * render — the `render` command: the mix of a library, written to a file as
 * fast as the CPU allows, with no Icecast and no real-time pacing.
 *
 * The library paths of cfg are scanned into the catalog cfg->database
 * (main passes ":memory:" unless the configuration names a database); what
 * it holds no analysis for is analysed (analyzer_run, [analysis] workers
 * and timeout; files found bad are left out) so that the mix beatmatches
 * and normalises loudness as the station does; the brain orders the
 * tracks into its tour (setlist, seeded by SEED and bounded by kicks, not
 * time: the same seed and library give the same mix); a mixer configured
 * by [mix] (mixer_params_from_config) with fadeout 2 s and
 * stop_after_frames = SECONDS * 44100 writes into a ring with one reader,
 * and the calling thread reads that ring and writes the file. The format follows the extension of OUT_PATH (case-insensitive):
 *   .wav  16-bit PCM, 44.1 kHz stereo, little-endian RIFF (at most 4 GiB,
 *         about 6 h 45 min); samples are clipped to -1..1 and rounded;
 *   .mp3  LAME, the settings of the first [output.*] with format = mp3 in
 *         cfg, else 192 kbps CBR;
 *   .ogg  Vorbis, the settings of the first [output.*] with format = ogg,
 *         else quality 0.5; chained: every track starts a new logical
 *         stream whose comments carry its artist and title.
 * Each track change is logged at info level: "render: 00:01:23 Artist -
 * Title". An empty library gives a file of silence (and a warning).
 * TRANSITIONS_LOG_PATH (NULL for none) receives one JSON object per line
 * per transition (mixer.h, doc/transitions.md). It is written as
 * TRANSITIONS_LOG_PATH.tmp, opened before the scan (an unwritable place
 * fails before any work), renamed after the output, and removed when the
 * render fails: a log always belongs to a complete render.
 * DECKS_PATH (NULL for none; it must end in .wav) receives the two decks
 * as they enter the sum (the mixer's decks tap, mixer.h): a 4-channel
 * 44.1 kHz WAV of 32-bit floats, channels 1-2 the deck of the 1st, 3rd,
 * 5th... track of the play order, 3-4 that of the 2nd, 4th..., after
 * time-stretch, loudness gain, fades, bass swap and the final fade-out,
 * before the sum and the limiter; frame i is mixed frame i, and it is
 * exactly as long as the mix. Float, because the decks are not yet
 * limited (a deck may exceed full scale) and so that their sum can be
 * compared with the mix to rounding: 16 bits would clip and add a
 * rounding of each deck's own. Beyond 4 GiB (1 h 41 min) the file is
 * RF64 (wav.h). It is written like the transitions log: DECKS_PATH.tmp,
 * opened before the scan, renamed after the output, removed when the
 * render fails.
 *
 * NOWPLAYING_LOG_PATH (render --nowplaying-log; NULL for none): the
 * status server's `track` and `transition` events (nowplaying.h), one
 * JSON object a line, in stream order: {"event":"track","position_s":..,
 * "song":{..}} at each title change, {"event":"transition",
 * "position_s":..,"marker_position_s":..,"kind":..,..} at each transition
 * start, positions in seconds of the rendered file. Written like the
 * transitions log.
 *
 * The file is written as OUT_PATH.tmp and renamed over OUT_PATH only when
 * complete and synced, so a failed or interrupted (SIGINT, SIGTERM) render
 * never leaves a partial file under the final name; the .tmp is removed.
 *
 * Returns 0; -EINVAL for a request that cannot be done (unknown extension,
 * SECONDS not > 0, WAV over 4 GiB, a decks file not .wav or the same as
 * another output), before anything is written; -EINTR when
 * interrupted; another negative errno for a runtime failure. Every failure
 * is logged once.
 * Thread rules: runs in the calling thread (plus the mixer thread it
 * starts); installs SIGINT/SIGTERM handlers for its duration.
 */
#ifndef FOREVERFM_RENDER_H
#define FOREVERFM_RENDER_H

#include <stdint.h>

#include "config.h"

int render_run(const struct config *cfg, const char *out_path, double seconds,
	       uint64_t seed, const char *transitions_log_path,
	       const char *decks_path, const char *nowplaying_log_path);

#endif
