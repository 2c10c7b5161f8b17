/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_analyze_file — analyze_file() on real files made by sox and ffmpeg
 * (tests/make-analysis-fixtures.sh: MP3, Ogg, mono 8 kHz WAV, one second,
 * silence, noise) and analyze_worker's child-process isolation: a child
 * that crashes, hangs or talks nonsense is reported with a reason and the
 * rest of the batch is analysed.
 *
 * The children are exec'd: while one hangs, its /proc entry shows the
 * foreverfm binary (FOREVERFM_WORKER_PROGRAM, set by make check) running
 * `analyze-worker` on the file, not this test program forked; it holds
 * only descriptors 0-3 though the parent holds one more without
 * close-on-exec, it blocks, ignores and catches no signal though the
 * spawning thread blocks SIGTERM and the process ignores SIGUSR2 and
 * catches SIGUSR1, and it runs 10 nice levels below the parent; it dies
 * when the process that started it is killed outright. A pinned
 * program replaced on disk keeps working (the old version runs); a
 * program that answers as another version fails the call with -EPROTO
 * without reporting the file; no program fails the call, not the file.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include "analyze.h"
#include "analyze_worker.h"
#include "visuals.h"
#include "log.h"
#include "testutil.h"

static char fixdir[4096];

static const char *fix(const char *name)
{
	static char path[8][4200];
	static int next;
	char *p = path[next++ % 8];
	snprintf(p, sizeof(path[0]), "%s/%s", fixdir, name);
	return p;
}

static void make_fixtures(void)
{
	const char *builddir = getenv("top_builddir");
	const char *srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = SRCDIR;
	if (!builddir)
		builddir = ".";
	if (!test_have_program("sox") || !test_have_program("ffmpeg") ||
	    !test_have_program("bc")) {
		fprintf(stderr, "sox, ffmpeg and bc are needed\n");
		exit(TEST_SKIP);
	}
	snprintf(fixdir, sizeof(fixdir), "%s/tests/analysis-fixtures", builddir);
	if (test_sh("sh '%s/tests/make-analysis-fixtures.sh' '%s'", srcdir,
		    fixdir) != 0) {
		fprintf(stderr, "make-analysis-fixtures.sh failed\n");
		exit(TEST_HARD_ERROR);
	}
}

static void check_clicks(const char *name, double bpm, double first)
{
	struct analysis a;
	char err[256] = "";
	int rc = analyze_file(fix(name), NULL, &a, err, sizeof(err));
	fprintf(stderr, "%s: rc %d %s bpm %.3f first %.4f down %.4f conf %.2f "
		"grid %.2f lufs %.1f\n", name, rc, err, a.bpm, a.first_beat_s,
		a.downbeat_s, a.bpm_confidence, a.grid_confidence,
		a.loudness_lufs);
	CHECK_INT(rc, ==, 0);
	CHECK(fabs(a.bpm - bpm) / bpm <= 0.001);
	CHECK_NEAR(a.first_beat_s, first, 0.010);
	CHECK_NEAR(a.downbeat_s, first, 0.010);
	CHECK(a.grid_confidence > 0.8);
}

static void test_files(void)
{
	struct analysis a;
	char err[256];
	check_clicks("clicks-128.mp3", 128, 0.5);
	check_clicks("clicks-140.ogg", 140, 0.3);
	check_clicks("clicks-100-mono-8k.wav", 100, 0.25);

	CHECK_INT(analyze_file(fix("one-second.mp3"), NULL, &a, err,
			       sizeof(err)), ==, 0);
	CHECK(a.bpm == 0);
	CHECK_NEAR(a.duration_s, 1.0, 0.1);
	CHECK_INT(analyze_file(fix("silence.ogg"), NULL, &a, err, sizeof(err)),
		  ==, 0);
	CHECK(a.bpm == 0 && a.key == -1 && a.loudness_lufs <= -70);
	CHECK_NEAR(a.duration_s, 10.0, 0.1);
	CHECK_INT(analyze_file(fix("pink-noise.mp3"), NULL, &a, err,
			       sizeof(err)), ==, 0);
	fprintf(stderr, "pink-noise.mp3: bpm %.2f conf %.2f key %s conf %.2f\n",
		a.bpm, a.bpm_confidence, a.key_name, a.key_confidence);
	CHECK(a.bpm_confidence < 0.3 && a.key_confidence < 0.4);

	/* Bad files: an error and a reason. */
	char bad[4200];
	snprintf(bad, sizeof(bad), "%s/not-audio.mp3", fixdir);
	FILE *fp = fopen(bad, "w");
	CHECK(fp != NULL);
	for (int i = 0; i < 5000; i++)
		fputs("this is not audio ", fp);
	fclose(fp);
	err[0] = '\0';
	CHECK_INT(analyze_file(bad, NULL, &a, err, sizeof(err)), <, 0);
	fprintf(stderr, "not-audio.mp3: %s\n", err);
	CHECK(err[0] != '\0');
	err[0] = '\0';
	CHECK_INT(analyze_file("/nonexistent/x.mp3", NULL, &a, err, sizeof(err)),
		  <, 0);
	CHECK(err[0] != '\0');
	unlink(bad);
}

struct batch {
	int rc[8];
	char reason[8][ANALYZE_WORKER_REASON_MAX];
	double bpm[8];
	int calls;
};

static void batch_done(void *ctx, size_t index, int rc,
		       const struct analysis *a, const struct visuals *v,
		       const char *reason)
{
	struct batch *b = ctx;
	CHECK(index < 8);
	/* The child's visuals come with its analysis: a peak per 100 ms of
	 * the decoded length, and a colour. */
	CHECK((rc == 0) == (v != NULL));
	if (v) {
		CHECK_INT(v->version, ==, VISUALS_VERSION);
		CHECK_INT(v->peak_ms, ==, VISUALS_PEAK_MS);
		CHECK_NEAR(v->n_peaks, a->duration_s * 10, 1.01);
		CHECK(v->colour_from != VISUALS_COLOUR_NONE);
	}
	b->rc[index] = rc;
	b->bpm[index] = a ? a->bpm : -1;
	snprintf(b->reason[index], sizeof(b->reason[index]), "%s", reason);
	b->calls++;
}

static void test_worker(void)
{
	struct analysis a;
	char reason[ANALYZE_WORKER_REASON_MAX];

	/* A good file in a child gives the same result as in process. */
	struct analysis direct;
	CHECK_INT(analyze_file(fix("clicks-140.ogg"), NULL, &direct, NULL, 0),
		  ==, 0);
	CHECK_INT(analyze_worker_run(fix("clicks-140.ogg"), NULL, 60, &a, reason,
				     sizeof(reason)), ==, 0);
	CHECK_STR(reason, "");
	CHECK(memcmp(&a, &direct, sizeof(a)) == 0);

	/* A crashing, a hanging, a babbling child; good files around them. */
	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "crash:clicks-128", 1);
	CHECK_INT(analyze_worker_run(fix("clicks-128.mp3"), NULL, 60, &a, reason,
				     sizeof(reason)), ==, -EIO);
	fprintf(stderr, "crash: %s\n", reason);
	CHECK(strstr(reason, "crashed: signal 6") != NULL);

	const char *paths[5] = { fix("clicks-128.mp3"), fix("one-second.mp3"),
				 fix("clicks-140.ogg"), "/nonexistent.ogg",
				 fix("clicks-100-mono-8k.wav") };
	struct batch b;
	memset(&b, 0, sizeof(b));
	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:one-second", 1);
	/* The hang costs the whole timeout; the others must finish well inside
	 * it on a loaded CI machine, and under sanitizers (several times
	 * slower). */
#ifdef __SANITIZE_ADDRESS__
	const double batch_timeout_s = 60.0;
#else
	const double batch_timeout_s = 10.0;
#endif
	CHECK_INT(analyze_worker_run_many(paths, 5, NULL, 2, batch_timeout_s,
					  batch_done, &b),
		  ==, 0);
	CHECK_INT(b.calls, ==, 5);
	for (int i = 0; i < 5; i++)
		fprintf(stderr, "batch %d: rc %d bpm %.2f %s\n", i, b.rc[i],
			b.bpm[i], b.reason[i]);
	CHECK_INT(b.rc[0], ==, 0);
	CHECK_NEAR(b.bpm[0], 128, 0.128);
	CHECK_INT(b.rc[1], ==, -ETIMEDOUT);
	CHECK(strstr(b.reason[1], "timed out") != NULL);
	CHECK_INT(b.rc[2], ==, 0);
	CHECK_NEAR(b.bpm[2], 140, 0.14);
	CHECK_INT(b.rc[3], <, 0);
	CHECK(b.reason[3][0] != '\0');
	CHECK_INT(b.rc[4], ==, 0);

	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "garbage:clicks-140", 1);
	CHECK_INT(analyze_worker_run(fix("clicks-140.ogg"), NULL, 60, &a, reason,
				     sizeof(reason)), ==, -EIO);
	fprintf(stderr, "garbage: %s\n", reason);
	CHECK(strstr(reason, "without a result") != NULL);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");

	/* No child is left behind. */
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	CHECK_INT(analyze_worker_run(NULL, NULL, 1, &a, NULL, 0), ==, -EINVAL);
	CHECK_INT(analyze_worker_run_many(paths, 1, NULL, 1, 0, batch_done, &b),
		  ==, -EINVAL);
}

/* ------------------------------------------------------------------ */
/* The children are exec'd.                                            */

struct hang_arg {
	const char *path;
	int rc;
	char reason[ANALYZE_WORKER_REASON_MAX];
};

static void *hang_thread(void *p)
{
	struct hang_arg *h = p;
	struct analysis a;
	sigset_t term;
	/* What the station's threads do: the child must not inherit it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	h->rc = analyze_worker_run(h->path, NULL, 3.0, &a, h->reason,
				   sizeof(h->reason));
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Reads /proc/PID/NAME into buf (NUL bytes kept; returns the length). */
static size_t proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/* A child of PARENT named ANALYZE_WORKER_COMM (set up), or 0. */
static pid_t find_worker(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	CHECK(d);
	while (!found && (e = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(e->d_name);
		char buf[4096], *ppid;
		if (pid <= 0 || !proc_read(pid, "status", buf, sizeof(buf)))
			continue;
		ppid = strstr(buf, "\nPPid:");
		if (!ppid || atoi(ppid + 6) != (int)parent)
			continue;
		proc_read(pid, "comm", buf, sizeof(buf));
		if (strcmp(buf, ANALYZE_WORKER_COMM "\n") == 0)
			found = pid;
	}
	closedir(d);
	return found;
}

/* The hexadecimal mask of a /proc/PID/status line ("SigBlk:"). */
static unsigned long long status_mask(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	CHECK(p);
	return strtoull(p + strlen(key), NULL, 16);
}

static void test_worker_exec(void)
{
	const char *program = getenv(ANALYZE_WORKER_PROGRAM_ENV);
	char want_exe[PATH_MAX], exe[PATH_MAX], buf[8192];
	int leak[2];
	CHECK(program && realpath(program, want_exe));
	CHECK(pipe(leak) == 0); /* no O_CLOEXEC on purpose */
	CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	CHECK(signal(SIGUSR1, on_usr1) != SIG_ERR);
	errno = 0;
	int parent_nice = getpriority(PRIO_PROCESS, 0);
	CHECK(errno == 0);

	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:clicks-128", 1);
	struct hang_arg h = { fix("clicks-128.mp3"), 0, "" };
	pthread_t th;
	CHECK(pthread_create(&th, NULL, hang_thread, &h) == 0);
	pid_t pid = 0;
	for (int i = 0; i < 250 && !pid; i++) {
		usleep(10000);
		pid = find_worker(getpid());
	}
	CHECK(pid > 0);

	/* The binary, not this test forked. */
	snprintf(buf, sizeof(buf), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(buf, exe, sizeof(exe) - 1);
	CHECK(n > 0);
	exe[n] = '\0';
	fprintf(stderr, "worker %d: exe %s\n", (int)pid, exe);
	CHECK_STR(exe, want_exe);
	size_t len = proc_read(pid, "cmdline", buf, sizeof(buf));
	const char *args[10];
	size_t nargs = 0;
	for (size_t off = 0; off < len && nargs < 10; off += strlen(buf + off) + 1)
		args[nargs++] = buf + off;
	CHECK_INT(nargs, ==, 9);
	CHECK_STR(args[1], ANALYZE_WORKER_COMMAND);
	CHECK_INT(atoi(args[3]), ==, getpid());
	CHECK_STR(args[7], "--");
	CHECK_STR(args[8], fix("clicks-128.mp3"));

	/* Descriptors 0-3 only, 3 the result pipe. */
	snprintf(buf, sizeof(buf), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(buf);
	CHECK(d);
	struct dirent *e;
	int nfd = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		fprintf(stderr, "worker fd %s\n", e->d_name);
		CHECK(atoi(e->d_name) <= 3);
		nfd++;
	}
	closedir(d);
	CHECK_INT(nfd, <=, 4);
	snprintf(buf, sizeof(buf), "/proc/%d/fd/3", (int)pid);
	n = readlink(buf, exe, sizeof(exe) - 1);
	CHECK(n > 5);
	CHECK(strncmp(exe, "pipe:", 5) == 0);

	/* Signals at their defaults, none blocked; niced by 10. */
	proc_read(pid, "status", buf, sizeof(buf));
	CHECK_INT(status_mask(buf, "\nSigBlk:"), ==, 0);
	/* glibc's posix_spawn leaves its two internal signals (32 and 33,
	 * below SIGRTMIN: thread cancellation and set*id) ignored in the
	 * child, as no user code may handle them; glibc installs its own
	 * handlers when the worker needs them. Every other one is default. */
	unsigned long long glibc_internal = 3ULL << 31;
	CHECK_INT(status_mask(buf, "\nSigIgn:") & ~glibc_internal, ==, 0);
	/* Not our SIGUSR1 handler (a sanitizer runtime catches SIGSEGV,
	 * SIGBUS and SIGFPE in the new image itself). */
	CHECK_INT(status_mask(buf, "\nSigCgt:") & (1ULL << (SIGUSR1 - 1)), ==,
		  0);
	errno = 0;
	int child_nice = getpriority(PRIO_PROCESS, (id_t)pid);
	CHECK(errno == 0);
	CHECK_INT(child_nice, ==, parent_nice + 10 > 19 ? 19 : parent_nice + 10);

	pthread_join(th, NULL);
	CHECK_INT(h.rc, ==, -ETIMEDOUT);
	CHECK(strstr(h.reason, "timed out") != NULL);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	close(leak[0]);
	close(leak[1]);
}

/* A station killed outright (here: a process analysing, SIGKILLed while
 * its child hangs) leaves no child behind. */
static void test_worker_orphan(void)
{
	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:clicks-128", 1);
	pid_t station = fork();
	CHECK(station >= 0);
	if (station == 0) {
		struct analysis a;
		analyze_worker_run(fix("clicks-128.mp3"), NULL, 60, &a, NULL, 0);
		_exit(0);
	}
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");
	pid_t pid = 0;
	for (int i = 0; i < 250 && !pid; i++) {
		usleep(10000);
		pid = find_worker(station);
	}
	CHECK(pid > 0);
	CHECK(kill(station, SIGKILL) == 0);
	CHECK(waitpid(station, NULL, 0) == station);
	/* Gone, or a zombie until its new parent reaps it. */
	char stat[512] = "";
	bool dead = false;
	for (int i = 0; i < 200 && !dead; i++) {
		const char *p;
		dead = !proc_read(pid, "stat", stat, sizeof(stat)) ||
		       ((p = strrchr(stat, ')')) && p[1] == ' ' && p[2] == 'Z');
		if (!dead)
			usleep(10000);
	}
	fprintf(stderr, "orphaned worker %d: %s\n", (int)pid,
		dead ? "died with its parent" : stat);
	if (!dead)
		kill(pid, SIGKILL);
	CHECK(dead);
}

static void done_count(void *ctx, size_t index, int rc,
		       const struct analysis *a, const struct visuals *v,
		       const char *reason)
{
	(void)index;
	(void)v;
	(void)rc;
	(void)a;
	(void)reason;
	(*(int *)ctx)++;
}

static void test_worker_program(void)
{
	const char *program = getenv(ANALYZE_WORKER_PROGRAM_ENV);
	const char *dir = test_tmpdir("worker-program");
	char copy[PATH_MAX + 16], other[PATH_MAX + 16];
	struct analysis a;
	char reason[ANALYZE_WORKER_REASON_MAX];
	const char *path = fix("clicks-140.ogg");
	snprintf(copy, sizeof(copy), "%s/foreverfm", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	CHECK(program);

	/* Pinned, then replaced on disk as dpkg does (a new file renamed
	 * over it): the children stay the pinned version. */
	CHECK_INT(test_sh("cp '%s' '%s'", program, copy), ==, 0);
	CHECK_INT(analyze_worker_set_program(copy), ==, 0);
	CHECK_INT(analyze_worker_run(path, NULL, 60, &a, reason,
				     sizeof(reason)), ==, 0);
	CHECK_NEAR(a.bpm, 140, 0.14);
	CHECK_INT(test_sh("printf '#!/bin/sh\\nexit 1\\n' > '%s.new' && "
			  "chmod 755 '%s.new' && mv '%s.new' '%s'", copy, copy,
			  copy, copy), ==, 0);
	memset(&a, 0, sizeof(a));
	CHECK_INT(analyze_worker_run(path, NULL, 60, &a, reason,
				     sizeof(reason)), ==, 0);
	CHECK_NEAR(a.bpm, 140, 0.14);

	/* A program that refuses as another version does: the call fails,
	 * the file is not reported (not its fault). */
	CHECK_INT(test_sh("printf '#!/bin/sh\\nexit 3\\n' > '%s' && "
			  "chmod 755 '%s'", other, other), ==, 0);
	CHECK_INT(analyze_worker_set_program(other), ==, 0);
	const char *paths[2] = { path, path };
	int calls = 0;
	CHECK_INT(analyze_worker_run_many(paths, 2, NULL, 1, 60, done_count,
					  &calls), ==, -EPROTO);
	CHECK_INT(calls, ==, 0);

	/* No program: the call fails, no file is reported. */
	CHECK_INT(analyze_worker_set_program("/nonexistent/foreverfm"), ==,
		  -ENOENT);
	CHECK_INT(analyze_worker_run_many(paths, 2, NULL, 1, 60, done_count,
					  &calls), ==, -ENOENT);
	CHECK_INT(calls, ==, 0);

	CHECK_INT(analyze_worker_set_program(program), ==, 0);
	CHECK_INT(test_sh("rm -rf '%s'", dir), ==, 0);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

int main(void)
{
	signal(SIGCHLD, SIG_DFL);
	make_fixtures();
	test_files();
	test_worker();
	test_worker_exec();
	test_worker_orphan();
	test_worker_program();
	return 0;
}
