/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_worker — child-process isolation for analyze_file(). See
 * analyze_worker.h for the protocol and its guarantees.
 *
 * DESIGN. A child is the foreverfm binary itself, started with
 * posix_spawn() and the internal command analyze-worker: a fresh process
 * image, so nothing of the threaded station (its locks, its heap, its
 * library state) carries over, unlike a fork() alone. The child starts
 * clean: every file descriptor but stdin/stdout/stderr and its result pipe
 * is closed (the parent's Icecast sockets, database and audio files must
 * not be held open by a child: a dropped Icecast connection would stay
 * established until the child ends), every signal is unblocked and at its
 * default action (the station blocks the terminating ones in all its
 * threads and waits for them synchronously; a child must instead die of a
 * SIGTERM sent to the whole process group, e.g. by systemd).
 *
 * Which binary: the one this process was started from, pinned by a
 * descriptor (analyze_worker_set_program(), called first thing in main)
 * and executed through /proc/self/fd. A package upgrade that replaces
 * /usr/bin/foreverfm while the station runs does not change what the
 * workers are: they stay the running version, whose message layout the
 * station reads, until the station restarts (logged once). The argv of a
 * child carries a protocol token (version, ANALYSIS_VERSION, message
 * size); a worker program that does not match refuses with exit status
 * WORKER_EXIT_PROTOCOL, and the pass fails with -EPROTO instead of marking
 * files bad.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze_worker.h"
#include "log.h"

#define MSG_MAGIC 0x46464d41u /* "AMFF" */
#define CHILD_NICE 10
#define CHILD_RESULT_FD 3
/* Where a child finds the program to execute, and where the parent keeps
 * it (above every descriptor a child's file actions write). */
#define WORKER_PROGRAM_FD 4
#define WORKER_PROGRAM_FD_MIN 10
/* How often a run_feed() waiting on children looks at its cancel flag. */
#define CANCEL_POLL_MS 100

struct msg {
	uint32_t magic;
	int32_t rc;
	char reason[ANALYZE_WORKER_REASON_MAX];
	struct analysis analysis;
	struct visuals visuals;
};

struct slot {
	pid_t pid;          /* 0 = free */
	int fd;             /* read end */
	size_t index;
	const char *path;   /* the caller's, valid until done(index) */
	double timeout_s;
	double deadline;
	size_t got;
	struct msg msg;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

/* The test hook: the action named for paths that contain its text. */
static const char *test_hook(const char *path)
{
	const char *hook = getenv("FOREVERFM_ANALYZE_TEST_HOOK");
	if (!hook)
		return NULL;
	const char *colon = strchr(hook, ':');
	if (!colon || !colon[1] || !strstr(path, colon + 1))
		return NULL;
	static char action[16];
	size_t len = (size_t)(colon - hook);
	if (len >= sizeof(action))
		return NULL;
	memcpy(action, hook, len);
	action[len] = '\0';
	return action;
}

/* Closes every descriptor from FIRST up. */
static void close_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
#endif
	/* Older kernels: the open descriptors are listed in /proc. */
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		int dfd = dirfd(d);
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			int fd = atoi(e->d_name);
			if (fd >= first && fd != dfd)
				close(fd);
		}
		closedir(d);
		return;
	}
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = first; fd < max; fd++)
		close(fd);
}

/* ------------------------------------------------------------------ */
/* The worker program.                                                 */

/* The pinned program; program_lock guards these. */
static pthread_mutex_t program_lock = PTHREAD_MUTEX_INITIALIZER;
static int program_fd = -1;
static int program_err;          /* why there is none (negative errno) */
static bool program_replaced_logged;
static char program_path[PATH_MAX];

/* The token a worker must match: same version, same analysis, same
 * message layout. */
static void protocol_token(char *buf, size_t size)
{
	snprintf(buf, size, "%s/%d/%zu", PACKAGE_VERSION, ANALYSIS_VERSION,
		 sizeof(struct msg));
}

int analyze_worker_set_program(const char *path)
{
	const char *open_path = path ? path : "/proc/self/exe";
	char shown[PATH_MAX];
	struct stat st;
	int fd = -1, pinned = -1, rc = 0;

	/* O_PATH: an execute-only binary (mode 0711) can still be pinned. */
	fd = open(open_path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		log_error("analyze worker: cannot open %s: %s", open_path,
			  strerror(-rc));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = -ENOEXEC;
		log_error("analyze worker: %s: not a program", open_path);
		goto out;
	}
	if (faccessat(AT_FDCWD, open_path, X_OK, AT_EACCESS) != 0) {
		rc = -errno;
		log_error("analyze worker: %s: not executable: %s", open_path,
			  strerror(-rc));
		goto out;
	}
	if (path) {
		snprintf(shown, sizeof(shown), "%s", path);
	} else {
		ssize_t n = readlink("/proc/self/exe", shown, sizeof(shown) - 1);
		shown[n > 0 ? n : 0] = '\0';
		if (n <= 0)
			snprintf(shown, sizeof(shown), "foreverfm");
	}
	/* Above the descriptors a child's file actions write (3 and 4). */
	pinned = fcntl(fd, F_DUPFD_CLOEXEC, WORKER_PROGRAM_FD_MIN);
	if (pinned < 0) {
		rc = -errno;
		log_error("analyze worker: pinning %s: %s", open_path,
			  strerror(-rc));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&program_lock);
	if (program_fd >= 0)
		close(program_fd);
	program_fd = pinned;
	program_err = rc;
	program_replaced_logged = false;
	if (rc == 0)
		snprintf(program_path, sizeof(program_path), "%s", shown);
	pthread_mutex_unlock(&program_lock);
	return rc;
}

/* Called with program_lock held: the pinned descriptor. When nothing is
 * pinned (a program other than foreverfm, as the tests; or no /proc), the
 * first call pins the one $FOREVERFM_WORKER_PROGRAM names. Returns it or
 * a negative errno (logged once). */
static int program_get(void)
{
	static bool env_tried;
	if (program_fd < 0 && !env_tried) {
		const char *env = getenv(ANALYZE_WORKER_PROGRAM_ENV);
		env_tried = true;
		if (env && env[0]) {
			pthread_mutex_unlock(&program_lock);
			analyze_worker_set_program(env);
			pthread_mutex_lock(&program_lock);
		} else {
			program_err = program_err ? program_err : -ENOEXEC;
			log_error("analyze worker: no worker program (%s): "
				  "set %s to the foreverfm binary",
				  program_fd == -1 && program_err == -ENOEXEC
				  ? "not started as foreverfm"
				  : strerror(-program_err),
				  ANALYZE_WORKER_PROGRAM_ENV);
		}
	}
	if (program_fd < 0)
		return program_err ? program_err : -ENOEXEC;
	struct stat st;
	if (!program_replaced_logged && fstat(program_fd, &st) == 0 &&
	    st.st_nlink == 0) {
		program_replaced_logged = true;
		log_warning("analyze worker: %s was replaced or removed since "
			    "the start (a package upgrade?): the workers stay "
			    "the version running now until a restart",
			    program_path);
	}
	return program_fd;
}

/* ------------------------------------------------------------------ */
/* The child: foreverfm analyze-worker.                                */

/* Exit status of a worker whose protocol token differs from ours. */
#define WORKER_EXIT_PROTOCOL 3
#define WORKER_EXIT_USAGE 2

static bool parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return s[0] && !*end && !errno;
}

int analyze_worker_main(int argc, char **argv)
{
	static struct msg m; /* static: keep the stack small */
	struct analysis_params params;
	char token[64];
	long level, parent;
	char *end;
	int fd = CHILD_RESULT_FD;
	struct stat st;

	/* argv: analyze-worker TOKEN PARENT_PID BPM_MIN BPM_MAX LOG_LEVEL --
	 * PATH */
	if (argc != 8 || strcmp(argv[6], "--") != 0 ||
	    fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		fprintf(stderr, "foreverfm %s: an internal command: the station "
			"starts it with a result pipe on descriptor %d\n",
			ANALYZE_WORKER_COMMAND, CHILD_RESULT_FD);
		return WORKER_EXIT_USAGE;
	}
	protocol_token(token, sizeof(token));
	if (strcmp(argv[1], token) != 0) {
		fprintf(stderr, "foreverfm %s: protocol %s, the caller speaks "
			"%s: a different foreverfm binary\n",
			ANALYZE_WORKER_COMMAND, token, argv[1]);
		return WORKER_EXIT_PROTOCOL;
	}
	errno = 0;
	parent = strtol(argv[2], &end, 10);
	if (*end || errno || parent <= 1)
		parent = -1;
	level = strtol(argv[5], &end, 10);
	if (parent < 0 || !parse_double(argv[3], &params.bpm_min) ||
	    !parse_double(argv[4], &params.bpm_max) || *end || errno ||
	    level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG) {
		fprintf(stderr, "foreverfm %s: bad arguments\n",
			ANALYZE_WORKER_COMMAND);
		return WORKER_EXIT_USAGE;
	}
	/* A station killed outright (SIGKILL, the OOM killer, a crash)
	 * cannot kill its children: they die with it. The parent's thread
	 * that spawned us waits for us before it ends, so that thread's
	 * death is the process's. It may have died before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != (pid_t)parent)
		return WORKER_EXIT_USAGE;
	const char *path = argv[7];
	log_set_level((enum log_level)level);
	/* What posix_spawn's file actions could not close (no closefrom
	 * there), and the program's own descriptor (4). */
	close_from(CHILD_RESULT_FD + 1);
	errno = 0;
	if (nice(CHILD_NICE) == -1 && errno)
		log_debug("analyze worker: nice: %s", strerror(errno));
	/* Exec'd through /proc/self/fd/4, the process would be named "4" in
	 * ps and top. Last of the set-up: tests wait for this name. */
	prctl(PR_SET_NAME, ANALYZE_WORKER_COMM, 0, 0, 0);
	const char *hook = test_hook(path);
	if (hook && strcmp(hook, "crash") == 0)
		abort();
	if (hook && strcmp(hook, "hang") == 0)
		for (;;)
			pause();
	/* The first child to create FOREVERFM_ANALYZE_TEST_MARKER hangs,
	 * the others analyse. */
	const char *marker = getenv("FOREVERFM_ANALYZE_TEST_MARKER");
	if (hook && strcmp(hook, "hang-once") == 0 && marker &&
	    open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) >= 0)
		for (;;)
			pause();
	if (hook && strcmp(hook, "garbage") == 0) {
		write_all(fd, "garbage", 7);
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.magic = MSG_MAGIC;
	m.rc = analyze_file_visuals(path, &params, &m.analysis, &m.visuals,
				    m.reason, sizeof(m.reason));
	write_all(fd, &m, sizeof(m));
	return 0;
}

/* ------------------------------------------------------------------ */
/* The parent.                                                         */

static int slot_start(struct slot *s, size_t index, const char *path,
		      const struct analysis_params *params, double timeout_s)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_ready = false, attr_ready = false;
	struct analysis_params p;
	sigset_t none, all;
	char token[64], parent[24], bpm_min[40], bpm_max[40], level[16];
	char exe[32], argv0[PATH_MAX];
	int fds[2] = { -1, -1 };
	pid_t pid = 0;
	int rc;

	if (params)
		p = *params;
	else
		analyze_params_default(&p);
	protocol_token(token, sizeof(token));
	/* %a: the child gets the exact doubles. */
	snprintf(bpm_min, sizeof(bpm_min), "%a", p.bpm_min);
	snprintf(bpm_max, sizeof(bpm_max), "%a", p.bpm_max);
	snprintf(parent, sizeof(parent), "%ld", (long)getpid());
	snprintf(level, sizeof(level), "%d", (int)log_get_level());
	snprintf(exe, sizeof(exe), "/proc/self/fd/%d", WORKER_PROGRAM_FD);
	char *argv[] = { argv0, (char *)ANALYZE_WORKER_COMMAND, token, parent,
			 bpm_min, bpm_max, level, (char *)"--", (char *)path,
			 NULL };

	/* Close-on-exec at once: another thread may spawn meanwhile. */
	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = -posix_spawn_file_actions_init(&fa)) < 0)
		goto out;
	fa_ready = true;
	if ((rc = -posix_spawnattr_init(&attr)) < 0)
		goto out;
	attr_ready = true;
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = -posix_spawnattr_setsigmask(&attr, &none)) < 0 ||
	    (rc = -posix_spawnattr_setsigdefault(&attr, &all)) < 0 ||
	    (rc = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF)) < 0)
		goto out;

	pthread_mutex_lock(&program_lock);
	int prog = program_get();
	if (prog < 0) {
		rc = prog;
		goto unlock;
	}
	snprintf(argv0, sizeof(argv0), "%s", program_path);
	/* The pipe's write end to 3 first: the program (at 10 or above)
	 * cannot be in the way, and a write end at 4 is then overwritten
	 * harmlessly by the program's descriptor. */
	if ((rc = -posix_spawn_file_actions_adddup2(&fa, fds[1],
						    CHILD_RESULT_FD)) < 0 ||
	    (rc = -posix_spawn_file_actions_adddup2(&fa, prog,
						    WORKER_PROGRAM_FD)) < 0)
		goto unlock;
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	if ((rc = -posix_spawn_file_actions_addclosefrom_np(
		     &fa, WORKER_PROGRAM_FD + 1)) < 0)
		goto unlock;
#endif
	rc = -posix_spawn(&pid, exe, &fa, &attr, argv, environ);
unlock:
	pthread_mutex_unlock(&program_lock);
	if (rc < 0)
		goto out;
	s->pid = pid;
	s->fd = fds[0];
	fds[0] = -1;
	s->index = index;
	s->path = path;
	s->deadline = now_s() + timeout_s;
	s->timeout_s = timeout_s;
	s->got = 0;
	memset(&s->msg, 0, sizeof(s->msg));
out:
	if (attr_ready)
		posix_spawnattr_destroy(&attr);
	if (fa_ready)
		posix_spawn_file_actions_destroy(&fa);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

/* Reaps the slot's child and reports. timed_out: kill it first. Returns
 * 0, or -EPROTO (logged, not reported) when the child was a different
 * foreverfm than ours: not the file's fault. */
static int slot_finish(struct slot *s, bool timed_out,
		       analyze_worker_done_fn done, void *ctx)
{
	int status = 0, rc;
	char reason[ANALYZE_WORKER_REASON_MAX];
	if (timed_out)
		kill(s->pid, SIGKILL);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(s->fd);
	if (timed_out) {
		rc = -ETIMEDOUT;
		snprintf(reason, sizeof(reason), "timed out after %.0f s",
			 s->timeout_s);
	} else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM ||
					   WTERMSIG(status) == SIGINT ||
					   WTERMSIG(status) == SIGHUP ||
					   WTERMSIG(status) == SIGKILL)) {
		/* Sent from outside (a shutdown, Ctrl-C, the OOM killer):
		 * not the file's fault. */
		rc = -EINTR;
		snprintf(reason, sizeof(reason), "killed: signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (WIFSIGNALED(status)) {
		rc = -EIO;
		snprintf(reason, sizeof(reason), "crashed: signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (s->got == 0 && WIFEXITED(status) &&
		   WEXITSTATUS(status) == WORKER_EXIT_PROTOCOL) {
		pthread_mutex_lock(&program_lock);
		log_error("analyze worker: %s is another version of foreverfm "
			  "than this process; restart the station",
			  program_path);
		pthread_mutex_unlock(&program_lock);
		s->pid = 0;
		return -EPROTO;
	} else if (s->got != sizeof(s->msg) || s->msg.magic != MSG_MAGIC) {
		rc = -EIO;
		snprintf(reason, sizeof(reason),
			 "analyzer died without a result (exit status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else {
		rc = s->msg.rc > 0 ? -EIO : s->msg.rc;
		s->msg.reason[sizeof(s->msg.reason) - 1] = '\0';
		snprintf(reason, sizeof(reason), "%s",
			 rc < 0 ? s->msg.reason : "");
		if (rc < 0 && !reason[0])
			snprintf(reason, sizeof(reason), "%s", strerror(-rc));
	}
	if (rc < 0)
		log_warning("analyze %s: %s", s->path, reason);
	done(ctx, s->index, rc, rc == 0 ? &s->msg.analysis : NULL,
	     rc == 0 ? &s->msg.visuals : NULL, reason);
	s->pid = 0;
	return 0;
}

/* Kills and reaps the slot's child without reporting. */
static void slot_abandon(struct slot *s)
{
	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(s->fd);
	s->pid = 0;
}

int analyze_worker_run_feed(analyze_worker_next_fn next, void *next_ctx,
			    const struct analysis_params *params,
			    unsigned jobs, double timeout_s,
			    analyze_worker_done_fn done, void *ctx,
			    const atomic_bool *cancel)
{
	struct slot slots[ANALYZE_WORKER_JOBS_MAX];
	struct pollfd pfd[ANALYZE_WORKER_JOBS_MAX];
	size_t running = 0;
	bool more = true;
	int rc = 0;
	if (!next || !done || !(timeout_s > 0))
		return -EINVAL;
	if (jobs == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (jobs > ANALYZE_WORKER_JOBS_MAX)
		jobs = ANALYZE_WORKER_JOBS_MAX;
	memset(slots, 0, sizeof(slots));
	for (;;) {
		if (cancel && atomic_load(cancel)) {
			rc = -ECANCELED;
			break;
		}
		/* Fill free slots; a feed that had nothing is asked again at
		 * every wake-up while children run (work may have come). */
		more = true;
		for (unsigned j = 0; j < jobs && more; j++) {
			if (slots[j].pid)
				continue;
			size_t index = 0;
			const char *path = NULL;
			double job_timeout_s = timeout_s;
			more = next(next_ctx, &index, &path, &job_timeout_s);
			if (!more)
				break;
			if (!(job_timeout_s > 0))
				job_timeout_s = timeout_s;
			rc = slot_start(&slots[j], index, path, params,
					job_timeout_s);
			if (rc < 0) {
				log_error("analyze worker: cannot start a child: %s",
					  strerror(-rc));
				goto out;
			}
			running++;
		}
		if (running == 0)
			break;
		double t = now_s(), wait_s = 1e9;
		nfds_t np = 0;
		unsigned map[ANALYZE_WORKER_JOBS_MAX];
		for (unsigned j = 0; j < jobs; j++) {
			if (!slots[j].pid)
				continue;
			if (slots[j].deadline - t < wait_s)
				wait_s = slots[j].deadline - t;
			pfd[np].fd = slots[j].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			map[np++] = j;
		}
		int ms = wait_s <= 0 ? 0 : (int)(wait_s * 1000.0) + 1;
		if ((cancel || running < jobs) && ms > CANCEL_POLL_MS)
			ms = CANCEL_POLL_MS;
		int pr = poll(pfd, np, ms);
		if (pr < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		t = now_s();
		for (nfds_t i = 0; i < np; i++) {
			struct slot *s = &slots[map[i]];
			bool eof = false;
			if (pr > 0 && pfd[i].revents) {
				char *dst = (char *)&s->msg + s->got;
				size_t room = sizeof(s->msg) - s->got;
				char sink[256];
				ssize_t r = room ? read(s->fd, dst, room)
						 : read(s->fd, sink, sizeof(sink));
				if (r > 0 && room)
					s->got += (size_t)r;
				else if (r > 0)
					s->got = sizeof(s->msg) + 1; /* too long */
				else if (r == 0 || errno != EINTR)
					eof = true;
			}
			if (eof || s->deadline <= t) {
				int fr = slot_finish(s, !eof, done, ctx);
				running--;
				if (fr < 0 && rc == 0)
					rc = fr;
			}
		}
		if (rc < 0)
			break;
	}
out:
	/* On a worker failure or a cancel, no child is left behind. */
	for (unsigned j = 0; j < jobs; j++)
		if (slots[j].pid)
			slot_abandon(&slots[j]);
	return rc;
}

struct many {
	const char *const *paths;
	size_t n;
	size_t next;
};

static bool many_next(void *ctx, size_t *index, const char **path,
		      double *timeout_s)
{
	(void)timeout_s;
	struct many *m = ctx;
	if (m->next >= m->n)
		return false;
	*index = m->next;
	*path = m->paths[m->next++];
	return true;
}

int analyze_worker_run_many(const char *const *paths, size_t n,
			    const struct analysis_params *params,
			    unsigned jobs, double timeout_s,
			    analyze_worker_done_fn done, void *ctx)
{
	struct many m = { paths, n, 0 };
	if (!paths && n)
		return -EINVAL;
	return analyze_worker_run_feed(many_next, &m, params, jobs, timeout_s,
				       done, ctx, NULL);
}

struct one {
	int rc;
	struct analysis *out;
	char *reason;
	size_t reason_size;
};

static void one_done(void *ctx, size_t index, int rc, const struct analysis *a,
		     const struct visuals *v, const char *reason)
{
	struct one *o = ctx;
	(void)index;
	(void)v;
	o->rc = rc;
	if (a)
		*o->out = *a;
	if (o->reason && o->reason_size)
		snprintf(o->reason, o->reason_size, "%s", reason);
}

int analyze_worker_run(const char *path, const struct analysis_params *params,
		       double timeout_s, struct analysis *out, char *reason,
		       size_t reason_size)
{
	struct one o = { -EIO, out, reason, reason_size };
	if (!path || !out)
		return -EINVAL;
	int rc = analyze_worker_run_many(&path, 1, params, 1, timeout_s,
					 one_done, &o);
	return rc < 0 ? rc : o.rc;
}
