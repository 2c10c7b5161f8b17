/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * source_dir — finding tracks in directories.
 *
 * Walks each root recursively and hands every audio file to the catalog:
 * new or changed files are probed with decode_probe() (tags, duration, one
 * decoded second) and stored as playable or as bad with the reason;
 * unchanged files are not read again. A file is a candidate when its name
 * has an audio extension (.mp3 .ogg .oga .opus .flac .wav .m4a .m4b .mp4
 * .aac .wma .aif .aiff .aifc .ape .wv .mka .tta .mpc .caf) or its first
 * bytes are a magic number the decoder knows (decode_looks_like_audio);
 * everything else (cover.jpg, notes.txt) is ignored quietly.
 *
 * Hostile trees are safe: symbolic links are followed, but each directory
 * (by device and inode) is entered once, so loops end; FIFOs, sockets and
 * devices are never opened; dangling links, unreadable files and
 * directories are logged once and skipped; depth is bounded.
 *
 * Errors: returns 0 when the walk completed (bad files are not errors), or
 * a negative errno when the catalog failed. An unreadable root is logged and
 * counted, not fatal: the other roots are still scanned.
 * Thread rules: runs in the caller's thread; uses only the catalog's API.
 */
#ifndef FOREVERFM_SOURCE_DIR_H
#define FOREVERFM_SOURCE_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"

#define SOURCE_DIR_DEPTH_MAX 64

struct source_dir_stats {
	size_t files_seen;  /* audio candidates met */
	size_t added;       /* new or changed, playable */
	size_t unchanged;   /* known and not changed */
	size_t bad;         /* new or changed, not playable */
	size_t missing;     /* marked missing at the end of the scan */
	size_t errors;      /* unreadable roots, directories, dangling links */
};

int source_dir_scan(struct catalog *cat, char *const *roots, size_t n_roots,
		    struct source_dir_stats *stats);

/*
 * Writes to OUT (SIZE bytes) the form of the library path ROOT that
 * source_dir_scan() records its tracks under, so that callers filtering the
 * catalog to the library paths (analyze, plan) match what the scan stored:
 *
 * - A relative ROOT is taken from the current working directory (getcwd(),
 *   at the time of the call); "" is the working directory itself.
 * - Trailing slashes are removed, then trailing "/." components, in any
 *   mix: "music/", "music/." and "music/.//" all give ".../music". The root
 *   directory ("/", "//", "/.") gives "" so that ROOT + "/" + name is a
 *   path; open "/" for it.
 * - Nothing else changes: the path is not resolved. Symbolic links stay as
 *   written (a root that is a link to /srv/music keeps its own name, and the
 *   scan records the files under it), and so do "..", "./" and doubled
 *   slashes inside the path: "./music" gives "CWD/./music", which is not the
 *   same root as "music" ("CWD/music").
 * - The path need not exist: a root that was deleted still has its form,
 *   so the scan can mark its tracks missing.
 *
 * Returns 0, -ENAMETOOLONG when ROOT made absolute (before the trimming)
 * does not fit SIZE (PATH_MAX always fits a path the system accepts), or the
 * negative errno of getcwd() for a relative ROOT (-ENOENT when the working
 * directory was removed). On error OUT holds "" (when SIZE > 0).
 * Thread rules: none; reads only its arguments and the working directory.
 */
int source_dir_normalise(const char *root, char *out, size_t size);

/* True when PATH is ROOT or lies below it, ROOT being normalised by
 * source_dir_normalise(): "/m/a.mp3" is under "/m", "/music/a.mp3" is not;
 * every absolute path is under "" (the root directory). */
bool source_dir_path_under(const char *path, const char *root);

#endif
