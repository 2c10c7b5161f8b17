/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log — leveled, thread-safe logging to stderr.
 *
 * One line per call, written with a single write(2) so lines from different
 * threads never interleave. Lines carry a syslog priority prefix ("<3>") when
 * stderr is not a terminal, which journald turns into the entry's priority;
 * on a terminal they carry a time stamp and a level name instead.
 *
 * Thread rules: every function may be called from any thread at any time.
 * log_set_level() is atomic. Messages longer than LOG_LINE_MAX bytes are
 * truncated (and end in "..."), never split.
 *
 * Secrets (the Icecast source password) must never be passed to these
 * functions; callers format only names and library error strings.
 */
#ifndef FOREVERFM_LOG_H
#define FOREVERFM_LOG_H

#include <stdarg.h>

#define LOG_LINE_MAX 1024

enum log_level {
	LOG_LEVEL_ERROR = 3,   /* syslog LOG_ERR */
	LOG_LEVEL_WARNING = 4, /* LOG_WARNING */
	LOG_LEVEL_INFO = 6,    /* LOG_INFO */
	LOG_LEVEL_DEBUG = 7,   /* LOG_DEBUG */
};

/* Messages above LEVEL are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warning", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
