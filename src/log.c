/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log — leveled, thread-safe logging to stderr. See log.h.
 *
 * Each line is formatted into a stack buffer and written with one write(2):
 * POSIX makes writes of up to PIPE_BUF bytes to a pipe atomic, and journald
 * reads stderr through a pipe or socket, so concurrent lines never mix.
 */
#include "autoconfig.h"

#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level_current = LOG_LEVEL_INFO;

void log_set_level(enum log_level level)
{
	atomic_store(&log_level_current, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level_current);
}

int log_level_parse(const char *name, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "error", LOG_LEVEL_ERROR },
		{ "warning", LOG_LEVEL_WARNING },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "error";
	case LOG_LEVEL_WARNING: return "warning";
	case LOG_LEVEL_INFO: return "info";
	case LOG_LEVEL_DEBUG: return "debug";
	}
	return "?";
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX + 1];
	size_t used = 0;
	int saved_errno = errno;

	if ((int)level > atomic_load(&log_level_current))
		return;

	if (isatty(STDERR_FILENO)) {
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		localtime_r(&now.tv_sec, &tm);
		used = strftime(line, sizeof(line), "%H:%M:%S", &tm);
		used += (size_t)snprintf(line + used, sizeof(line) - used,
					 ".%03ld %-7s ", now.tv_nsec / 1000000L,
					 log_level_name(level));
	} else {
		used = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
	}

	int n = vsnprintf(line + used, LOG_LINE_MAX - used, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= LOG_LINE_MAX - used) {
		used = LOG_LINE_MAX - 4;
		memcpy(line + used, "...", 3);
		used += 3;
	} else {
		used += (size_t)n;
	}
	/* One message, one line: fold embedded newlines from library errors. */
	for (size_t i = 0; i < used; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[used++] = '\n';

	for (size_t off = 0; off < used;) {
		ssize_t w = write(STDERR_FILENO, line + off, used - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
