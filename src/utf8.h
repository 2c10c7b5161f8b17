/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * utf8 — making arbitrary bytes (file names, tags) safe to print as UTF-8.
 *
 * File names on Linux are bytes; JSON output and logs want UTF-8. Every
 * byte that does not start a valid UTF-8 sequence (overlongs, surrogates and
 * values past U+10FFFF are invalid) becomes U+FFFD, so valid text passes
 * through unchanged and nothing is dropped silently.
 * Thread rules: none (pure functions).
 */
#ifndef FOREVERFM_UTF8_H
#define FOREVERFM_UTF8_H

/* Returns a malloc'd UTF-8 copy of S (the caller frees it), or NULL with
 * errno = ENOMEM. */
char *utf8_clean_dup(const char *s);

#endif
