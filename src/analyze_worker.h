/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_worker — analyze_file() in child processes, so that a file that
 * crashes or hangs the decoder or the analyzer costs one child, not the
 * station.
 *
 * Each file gets a fresh child: the foreverfm binary itself, started by
 * posix_spawn() (never a fork() alone of the threaded station) with the
 * internal command `foreverfm analyze-worker`, which reads the file name
 * and parameters from its argv and writes one fixed-size message (struct
 * analysis, struct visuals, status and reason) into a pipe on its descriptor 3. The
 * child is niced by 10, holds no file descriptor of the parent but stdin,
 * stdout, stderr and that pipe, and starts with no signal blocked and
 * every signal at its default action. The parent waits with poll() under
 * a per-file deadline (CLOCK_MONOTONIC); a child that dies by a signal,
 * exits without a complete message, or misses its deadline (it is then
 * killed with SIGKILL) makes that file's result an error with a one-line
 * reason ("crashed: signal 11 (Segmentation fault)", "timed out after
 * 60 s"). Children never outlive the call, nor the process: a child
 * gets SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG),
 * which it only does with the process (a crash, SIGKILL, the OOM killer).
 *
 * The binary: analyze_worker_set_program(NULL), called first thing in
 * main(), pins the running binary (/proc/self/exe) by a descriptor, and
 * every child executes that file, so that a package upgrade replacing the
 * binary on disk does not mix versions: the workers stay the version the
 * station started as until it restarts (a warning says so once). When
 * nothing is pinned (programs other than foreverfm that link the library,
 * as the tests; or no /proc), the first child pins the program that
 * FOREVERFM_WORKER_PROGRAM names; without it no child starts, and the
 * error says to set it. A child
 * that is another foreverfm version (its protocol token differs) fails
 * the whole call with -EPROTO, not the file.
 *
 * Test hook: when FOREVERFM_ANALYZE_TEST_HOOK is "crash:TEXT", "hang:TEXT"
 * or "garbage:TEXT", a child whose path contains TEXT aborts, sleeps
 * forever, or writes a malformed message. Tests use it to prove isolation.
 *
 * Thread rules: the functions may be called from any thread; the callback
 * runs on the calling thread. SIGCHLD must not be ignored (SIG_IGN) by the
 * process, or the children's exit status is lost.
 */
#ifndef FOREVERFM_ANALYZE_WORKER_H
#define FOREVERFM_ANALYZE_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "analyze.h"
#include "visuals.h"

#define ANALYZE_WORKER_COMMAND "analyze-worker"
#define ANALYZE_WORKER_PROGRAM_ENV "FOREVERFM_WORKER_PROGRAM"
/* A child's process name (ps, top; /proc/PID/comm) once it is set up. */
#define ANALYZE_WORKER_COMM "foreverfm-anlz"
#define ANALYZE_WORKER_REASON_MAX 256
#define ANALYZE_WORKER_JOBS_MAX 64

/* Pins the program that children run: PATH, or with NULL the running
 * binary (/proc/self/exe). The file is held open (its descriptor is
 * close-on-exec), so that it can be replaced or removed on disk without
 * changing the children. Replaces an earlier pin. Returns 0 or a negative
 * errno (logged); after a failure no child starts until a pin succeeds
 * (but the very first child tries $FOREVERFM_WORKER_PROGRAM, see above). */
int analyze_worker_set_program(const char *path);

/* The body of `foreverfm analyze-worker` in the child; argv[0] is the
 * command. Not for users: it needs the result pipe on descriptor 3 and
 * the caller's protocol token. Returns the exit status. */
int analyze_worker_main(int argc, char **argv);

/* Called once per path, in completion order. rc is 0 (a valid) or a
 * negative errno: -EIO crashed, -ETIMEDOUT, -EINTR killed from outside by
 * SIGTERM, SIGINT, SIGHUP or SIGKILL (a shutdown, Ctrl-C or the OOM killer
 * reached the child: not the file's fault), or analyze_file()'s error;
 * reason is "" on success. a, v (the track's visuals, visuals.h; NULL
 * when rc < 0) and reason are borrowed for the call. */
typedef void (*analyze_worker_done_fn)(void *ctx, size_t index, int rc,
				       const struct analysis *a,
				       const struct visuals *v,
				       const char *reason);

/* Analyses paths[0..n) with up to jobs children at a time (0 = the number
 * of online CPUs, at most ANALYZE_WORKER_JOBS_MAX), each with timeout_s
 * (> 0). Returns 0 when every path was reported through done, or a
 * negative errno if the worker itself failed (no pipe, no program, no
 * spawn, -EPROTO: the paths not reported yet were not analysed). */
int analyze_worker_run_many(const char *const *paths, size_t n,
			    const struct analysis_params *params,
			    unsigned jobs, double timeout_s,
			    analyze_worker_done_fn done, void *ctx);

/* The pull form of run_many (added for the background analyzer, which
 * chooses each next file when a child becomes free, so that the tracks
 * about to play go first). NEXT is asked for a job whenever a child is
 * free: it returns true with *index and *path set (path must stay valid
 * until done() for that index returns) and may change *timeout_s, preset
 * to the call's timeout_s, for this file (longer files need longer); or it
 * returns false when there is nothing to start now; while children run, a
 * feed that said false is asked again at least every 100 ms. Returns 0 when NEXT has nothing and every started
 * path was reported; -ECANCELED as soon as *cancel (may be NULL) is seen
 * true, checked at least every 100 ms: running children are then killed
 * and their paths not reported; or a negative errno like run_many. */
typedef bool (*analyze_worker_next_fn)(void *ctx, size_t *index,
				       const char **path, double *timeout_s);
int analyze_worker_run_feed(analyze_worker_next_fn next, void *next_ctx,
			    const struct analysis_params *params,
			    unsigned jobs, double timeout_s,
			    analyze_worker_done_fn done, void *ctx,
			    const atomic_bool *cancel);

/* One file in one child. Returns 0 or the negative errno described above,
 * with the reason in reason (may be NULL). */
int analyze_worker_run(const char *path, const struct analysis_params *params,
		       double timeout_s, struct analysis *out, char *reason,
		       size_t reason_size);

#endif
