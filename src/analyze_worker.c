/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_worker — child-process isolation for analyze_file(). See
 * analyze_worker.h for the protocol and its guarantees.
 *
 * The child starts clean: every file descriptor but stdin/stdout/stderr
 * and its result pipe is closed (the parent's Icecast sockets, database
 * and audio files must not be held open by a child: a dropped Icecast
 * connection would stay established until the child ends), every signal
 * is unblocked and the usual terminating ones are back at their default
 * action (the station blocks them in all its threads and waits for them
 * synchronously; a child must instead die of a SIGTERM sent to the whole
 * process group, e.g. by systemd).
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
/* How often a run_feed() waiting on children looks at its cancel flag. */
#define CANCEL_POLL_MS 100

struct msg {
	uint32_t magic;
	int32_t rc;
	char reason[ANALYZE_WORKER_REASON_MAX];
	struct analysis analysis;
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
static void child_close_from(int first)
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

/* See the top of the file. Returns the result pipe's descriptor. */
static int child_isolate(int fd)
{
	static const int dfl[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE,
				   SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD };
	sigset_t none;
	for (size_t i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		signal(dfl[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd != CHILD_RESULT_FD) {
		if (dup2(fd, CHILD_RESULT_FD) < 0)
			_exit(1);
		fd = CHILD_RESULT_FD;
	}
	child_close_from(CHILD_RESULT_FD + 1);
	return fd;
}

static void child_main(int fd, const char *path,
		       const struct analysis_params *params)
{
	static struct msg m; /* static: keep the child's stack small */
	fd = child_isolate(fd);
	errno = 0;
	if (nice(CHILD_NICE) == -1 && errno)
		log_debug("analyze worker: nice: %s", strerror(errno));
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
		_exit(0);
	}
	memset(&m, 0, sizeof(m));
	m.magic = MSG_MAGIC;
	m.rc = analyze_file(path, params, &m.analysis, m.reason,
			    sizeof(m.reason));
	write_all(fd, &m, sizeof(m));
	_exit(0);
}

static int slot_start(struct slot *s, size_t index, const char *path,
		      const struct analysis_params *params, double timeout_s)
{
	int fds[2];
	/* Close-on-exec at once: another thread may fork meanwhile. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		child_main(fds[1], path, params);
		_exit(1);
	}
	close(fds[1]);
	s->pid = pid;
	s->fd = fds[0];
	s->index = index;
	s->path = path;
	s->deadline = now_s() + timeout_s;
	s->timeout_s = timeout_s;
	s->got = 0;
	memset(&s->msg, 0, sizeof(s->msg));
	return 0;
}

/* Reaps the slot's child and reports. timed_out: kill it first. */
static void slot_finish(struct slot *s, bool timed_out,
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
	done(ctx, s->index, rc, rc == 0 ? &s->msg.analysis : NULL, reason);
	s->pid = 0;
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
				slot_finish(s, !eof, done, ctx);
				running--;
			}
		}
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
		     const char *reason)
{
	struct one *o = ctx;
	(void)index;
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
