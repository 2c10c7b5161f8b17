/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * testutil — what every test program shares: checks that print where they
 * failed, scratch directories, shell commands, generated fixtures.
 *
 * Exit codes follow automake's harness: 0 pass, 77 skip, 99 hard error
 * (the test itself could not run), 1 failure.
 * Header-only so that each test stays one self-contained program.
 */
#ifndef FOREVERFM_TESTUTIL_H
#define FOREVERFM_TESTUTIL_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_SKIP 77
#define TEST_HARD_ERROR 99

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	exit(1); } } while (0)

#define CHECK_INT(a, op, b) do { long long check_a_ = (long long)(a), \
	check_b_ = (long long)(b); if (!(check_a_ op check_b_)) { \
	fprintf(stderr, "%s:%d: check failed: %s %s %s (%lld vs %lld)\n", \
		__FILE__, __LINE__, #a, #op, #b, check_a_, check_b_); \
	exit(1); } } while (0)

#define CHECK_NEAR(a, b, tol) do { double check_a_ = (double)(a), \
	check_b_ = (double)(b); if (!(fabs(check_a_ - check_b_) <= (tol))) { \
	fprintf(stderr, "%s:%d: check failed: %s ~ %s (%g vs %g, tol %g)\n", \
		__FILE__, __LINE__, #a, #b, check_a_, check_b_, (double)(tol)); \
	exit(1); } } while (0)

#define CHECK_STR(a, b) do { const char *check_a_ = (a), *check_b_ = (b); \
	if (strcmp(check_a_, check_b_) != 0) { \
	fprintf(stderr, "%s:%d: check failed: %s == %s (\"%s\" vs \"%s\")\n", \
		__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
	exit(1); } } while (0)

/* Reproducible test data: a xorshift64 step of *STATE (never 0), uniform
 * in [0, 1). */
static inline double test_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (double)(*state >> 11) * 0x1.0p-53;
}

/* Runs a shell command built like printf; returns its exit status, or -1 if
 * it did not exit normally. */
__attribute__((format(printf, 1, 2)))
static inline int test_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		fprintf(stderr, "test_sh: command too long\n");
		exit(TEST_HARD_ERROR);
	}
	int status = system(cmd);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static inline bool test_have_program(const char *name)
{
	return test_sh("command -v '%s' >/dev/null 2>&1", name) == 0;
}

/* A fresh scratch directory under $TMPDIR (or /tmp), named after the test.
 * Returns a static buffer. */
static inline const char *test_tmpdir(const char *name)
{
	static char dir[4096];
	const char *base = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/foreverfm-%s-XXXXXX",
		 base && *base ? base : "/tmp", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(TEST_HARD_ERROR);
	}
	return dir;
}

/* Generated test music (tests/make-fixtures.sh), made once per build tree and
 * shared by the tests; the script documents every file. Returns the
 * directory, or exits 77 when the generators (sox, ffmpeg) are missing. */
static inline const char *test_fixtures(void)
{
	static char dir[4096];
	const char *builddir = getenv("top_builddir");
	const char *srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = SRCDIR;
	if (!builddir)
		builddir = ".";
	snprintf(dir, sizeof(dir), "%s/tests/fixtures", builddir);
	if (!test_have_program("sox") || !test_have_program("ffmpeg")) {
		fprintf(stderr, "sox and ffmpeg are needed to make fixtures\n");
		exit(TEST_SKIP);
	}
	if (test_sh("sh '%s/tests/make-fixtures.sh' '%s'", srcdir, dir) != 0) {
		fprintf(stderr, "tests/make-fixtures.sh failed\n");
		exit(TEST_HARD_ERROR);
	}
	return dir;
}

#endif
