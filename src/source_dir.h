/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * source_dir — finding tracks in directories.
 *
 * Walks each root recursively and hands every audio file to the catalog:
 * new or changed files are probed with decode_probe() (tags, duration, one
 * decoded second) and stored as playable or as bad with the reason;
 * unchanged files are not read again. A file is a candidate when its name
 * has an audio extension (.mp3 .ogg .oga .flac .wav) or its first bytes say
 * it is audio; everything else (cover.jpg, notes.txt) is ignored quietly.
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

#endif
