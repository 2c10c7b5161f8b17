/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_log — levels parse, filtering works, long and multi-line messages
 * come out as exactly one truncated line.
 */
#include "autoconfig.h"

#include "log.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs fn with stderr redirected into a pipe and returns what it wrote. */
static size_t capture(void (*fn)(void), char *buf, size_t size)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	int saved = dup(STDERR_FILENO);
	CHECK(saved >= 0);
	CHECK(dup2(fds[1], STDERR_FILENO) >= 0);
	close(fds[1]);
	fn();
	CHECK(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	size_t used = 0;
	ssize_t n;
	while ((n = read(fds[0], buf + used, size - 1 - used)) > 0)
		used += (size_t)n;
	close(fds[0]);
	buf[used] = '\0';
	return used;
}

static void emit_filtered(void)
{
	log_set_level(LOG_LEVEL_WARNING);
	log_info("hidden %d", 1);
	log_error("shown %s", "error");
	log_set_level(LOG_LEVEL_INFO);
}

static void emit_long(void)
{
	char big[4000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warning("a\nb %s", big);
}

int main(void)
{
	enum log_level level;
	char out[8192];

	CHECK(log_level_parse("debug", &level) == 0 && level == LOG_LEVEL_DEBUG);
	CHECK(log_level_parse("WARNING", &level) == 0 && level == LOG_LEVEL_WARNING);
	CHECK(log_level_parse("loud", &level) == -EINVAL);

	capture(emit_filtered, out, sizeof(out));
	CHECK(strstr(out, "hidden") == NULL);
	CHECK(strcmp(out, "<3>shown error\n") == 0);

	size_t n = capture(emit_long, out, sizeof(out));
	CHECK(n == LOG_LINE_MAX);
	CHECK(strchr(out, '\n') == out + n - 1);
	CHECK(strncmp(out, "<4>a b xxx", 10) == 0);
	CHECK(strcmp(out + n - 4, "...\n") == 0);
	return 0;
}
