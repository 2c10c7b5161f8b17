/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyzer — background analysis of the library and the content hash. See
 * analyzer.h for the DESIGN.
 *
 * A pass is driven by analyze_worker_run_feed(): it asks pass_next() for a
 * file whenever a child is free and reports each child's result to
 * pass_done(), both on this thread. pass_next() does the cheap work itself
 * (catalog reads, hashing, cache hits) and hands out only files that need
 * a child. Job slots: one per child, so a free child always finds a free
 * slot; a slot holds the track (its path is what the child reads) and the
 * hash taken before the child started, which is the hash stored with the
 * result. A track whose content is being analysed right now under
 * another path waits (deferred) for that child, so duplicates cost one
 * analysis even when they meet in one pass.
 */
#include "autoconfig.h"

#include "analyzer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze_worker.h"
#include "log.h"
#include "visuals.h"

#define ANALYZER_HASH_BLOCK (256 * 1024)

/* ------------------------------------------------------------------ */
/* XXH64 (Yann Collet's xxHash, 64-bit variant; the public spec).       */

static const uint64_t XXH_P1 = 11400714785074694791ULL;
static const uint64_t XXH_P2 = 14029467366897019727ULL;
static const uint64_t XXH_P3 = 1609587929392839161ULL;
static const uint64_t XXH_P4 = 9650029242287828579ULL;
static const uint64_t XXH_P5 = 2870177450012600261ULL;

static uint64_t xxh_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Little-endian reads whatever the host (compilers make these one load). */
static uint64_t xxh_read64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t xxh_read32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t xxh_round(uint64_t acc, uint64_t input)
{
	acc += input * XXH_P2;
	acc = xxh_rotl(acc, 31);
	return acc * XXH_P1;
}

static uint64_t xxh_merge(uint64_t acc, uint64_t val)
{
	acc ^= xxh_round(0, val);
	return acc * XXH_P1 + XXH_P4;
}

static void xxh_stripe(uint64_t *v, const unsigned char *p)
{
	v[0] = xxh_round(v[0], xxh_read64(p));
	v[1] = xxh_round(v[1], xxh_read64(p + 8));
	v[2] = xxh_round(v[2], xxh_read64(p + 16));
	v[3] = xxh_round(v[3], xxh_read64(p + 24));
}

void analyzer_hash_init(struct analyzer_hash *h)
{
	memset(h, 0, sizeof(*h));
	h->v[0] = XXH_P1 + XXH_P2;
	h->v[1] = XXH_P2;
	h->v[2] = 0;
	h->v[3] = 0 - XXH_P1;
}

void analyzer_hash_update(struct analyzer_hash *h, const void *data,
			  size_t len)
{
	const unsigned char *p = data;
	h->total_len += len;
	if (h->mem_len + len < 32) {
		if (len)
			memcpy(h->mem + h->mem_len, p, len);
		h->mem_len += len;
		return;
	}
	if (h->mem_len) {
		size_t fill = 32 - h->mem_len;
		memcpy(h->mem + h->mem_len, p, fill);
		xxh_stripe(h->v, h->mem);
		p += fill;
		len -= fill;
		h->mem_len = 0;
	}
	while (len >= 32) {
		xxh_stripe(h->v, p);
		p += 32;
		len -= 32;
	}
	if (len)
		memcpy(h->mem, p, len);
	h->mem_len = len;
}

uint64_t analyzer_hash_final(const struct analyzer_hash *h)
{
	uint64_t acc;
	if (h->total_len >= 32) {
		acc = xxh_rotl(h->v[0], 1) + xxh_rotl(h->v[1], 7) +
		      xxh_rotl(h->v[2], 12) + xxh_rotl(h->v[3], 18);
		for (int i = 0; i < 4; i++)
			acc = xxh_merge(acc, h->v[i]);
	} else {
		acc = h->v[2] + XXH_P5; /* v[2] = seed */
	}
	acc += h->total_len;
	const unsigned char *p = h->mem;
	size_t len = h->mem_len;
	while (len >= 8) {
		acc ^= xxh_round(0, xxh_read64(p));
		acc = xxh_rotl(acc, 27) * XXH_P1 + XXH_P4;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		acc ^= (uint64_t)xxh_read32(p) * XXH_P1;
		acc = xxh_rotl(acc, 23) * XXH_P2 + XXH_P3;
		p += 4;
		len -= 4;
	}
	while (len > 0) {
		acc ^= *p * XXH_P5;
		acc = xxh_rotl(acc, 11) * XXH_P1;
		p++;
		len--;
	}
	acc ^= acc >> 33;
	acc *= XXH_P2;
	acc ^= acc >> 29;
	acc *= XXH_P3;
	acc ^= acc >> 32;
	return acc;
}

int analyzer_content_hash(const char *path, char *out)
{
	struct analyzer_hash h;
	unsigned char *buf = NULL;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(ANALYZER_HASH_BLOCK);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	analyzer_hash_init(&h);
	for (;;) {
		ssize_t n = read(fd, buf, ANALYZER_HASH_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		analyzer_hash_update(&h, buf, (size_t)n);
	}
	snprintf(out, CATALOG_HASH_MAX, "%016llx%016llx",
		 (unsigned long long)analyzer_hash_final(&h),
		 (unsigned long long)h.total_len);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* A pass.                                                             */

struct job {
	bool busy;
	char hash[CATALOG_HASH_MAX];
	struct catalog_track track;
};

struct pass {
	struct catalog *cat;
	const struct analyzer_params *p;
	const struct analysis_params *ap;
	const atomic_bool *cancel;
	atomic_bool *reload;          /* NULL, or set when to re-read */
	pthread_mutex_t *stats_lock;  /* NULL, or guards *stats */
	struct analyzer_stats *stats;

	int64_t *pending;             /* sorted ids still to do */
	size_t n_pending;
	size_t cap;
	/* Tracks whose content is in a child right now (duplicates found in
	 * the same pass): back into pending when a child ends, to be found
	 * in the cache then. */
	int64_t *deferred;
	size_t n_deferred;
	size_t cap_deferred;
	/* Tracks whose child timed out once in this pass: a second timeout
	 * marks them bad, a first one is tried again (a machine swapping, a
	 * stalled disk, a child stuck on a lock inherited at fork are not the
	 * file's fault). */
	int64_t *timed_out;
	size_t n_timed_out;
	size_t cap_timed_out;
	struct job *jobs;
	unsigned n_jobs;
	struct catalog_track scratch; /* the track of a cache hit */
	struct visuals scratch_visuals;
	size_t done;
	int rc;                       /* the first catalog failure */
	double started_s;
};

static double analyzer_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pass_stats(struct pass *ps, enum analyzer_outcome outcome,
		       bool count)
{
	if (ps->stats_lock)
		pthread_mutex_lock(ps->stats_lock);
	if (count) {
		if (outcome == ANALYZER_ANALYSED)
			ps->stats->analysed++;
		else if (outcome == ANALYZER_CACHED)
			ps->stats->cached++;
		else
			ps->stats->bad++;
	}
	ps->stats->pending = ps->n_pending + ps->n_deferred;
	for (unsigned j = 0; j < ps->n_jobs; j++)
		ps->stats->pending += ps->jobs[j].busy;
	if (ps->stats_lock)
		pthread_mutex_unlock(ps->stats_lock);
}

static void pass_event(struct pass *ps, enum analyzer_outcome outcome,
		       const struct catalog_track *track,
		       const struct analysis *a, const char *reason)
{
	ps->done++;
	pass_stats(ps, outcome, true);
	if (!ps->p->event)
		return;
	struct analyzer_event ev = {
		.outcome = outcome,
		.track = track,
		.analysis = a,
		.reason = reason ? reason : "",
		.done = ps->done,
		.total = ps->done + ps->n_pending + ps->n_deferred,
	};
	for (unsigned j = 0; j < ps->n_jobs; j++)
		ev.total += ps->jobs[j].busy;
	ps->p->event(ps->p->event_ctx, &ev);
}

static int pass_cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* (Re-)reads the unanalysed ids, minus those in a child right now. */
static int pass_load(struct pass *ps)
{
	size_t n = 0;
	for (;;) {
		int rc = catalog_analyzer_todo_ids(ps->cat, ps->pending,
						   ps->cap, &n);
		if (rc < 0)
			return rc;
		if (n <= ps->cap)
			break;
		size_t cap = n + n / 4 + 64;
		int64_t *p = realloc(ps->pending, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ps->pending = p;
		ps->cap = cap;
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		bool running = false;
		for (unsigned j = 0; j < ps->n_jobs; j++)
			if (ps->jobs[j].busy &&
			    ps->jobs[j].track.id == ps->pending[i])
				running = true;
		for (size_t k = 0; k < ps->n_deferred; k++)
			if (ps->deferred[k] == ps->pending[i])
				running = true;
		if (!running)
			ps->pending[kept++] = ps->pending[i];
	}
	ps->n_pending = kept;
	pass_stats(ps, ANALYZER_ANALYSED, false);
	return 0;
}

/* The position in pending of the next track: the first upcoming one that
 * is pending, else the lowest id. */
static size_t pass_pick(struct pass *ps)
{
	int64_t up[ANALYZER_UPCOMING_MAX];
	size_t n = 0;
	if (!ps->p->upcoming ||
	    ps->p->upcoming(ps->p->upcoming_ctx, up, ANALYZER_UPCOMING_MAX,
			    &n) < 0)
		return 0;
	if (n > ANALYZER_UPCOMING_MAX)
		n = ANALYZER_UPCOMING_MAX;
	for (size_t i = 0; i < n; i++) {
		int64_t *hit = bsearch(&up[i], ps->pending, ps->n_pending,
				       sizeof(*ps->pending), pass_cmp_id);
		if (hit)
			return (size_t)(hit - ps->pending);
	}
	return 0;
}

/* Marks the job's track bad with "analysis: REASON". */
static void pass_bad(struct pass *ps, const struct catalog_track *track,
		     const char *reason)
{
	char why[CATALOG_REASON_MAX];
	snprintf(why, sizeof(why), "analysis: %s", reason);
	int rc = catalog_track_bad(ps->cat, track->id, why);
	if ((rc == -EIO || rc == -ENOSPC || rc == -EROFS) && ps->rc == 0)
		ps->rc = rc;
	if (rc < 0)
		return;
	log_warning("analyzer: %s marked bad (%s)", track->path, why);
	pass_event(ps, ANALYZER_BAD, track, NULL, why);
}

/* True when a child is analysing HASH right now. */
static bool pass_hash_busy(const struct pass *ps, const char *hash)
{
	for (unsigned j = 0; j < ps->n_jobs; j++)
		if (ps->jobs[j].busy && strcmp(ps->jobs[j].hash, hash) == 0)
			return true;
	return false;
}

static int pass_defer(struct pass *ps, int64_t id)
{
	if (ps->n_deferred == ps->cap_deferred) {
		size_t cap = ps->cap_deferred * 2 + 16;
		int64_t *p = realloc(ps->deferred, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ps->deferred = p;
		ps->cap_deferred = cap;
	}
	ps->deferred[ps->n_deferred++] = id;
	return 0;
}

/* Puts the deferred ids back into pending (sorted), now that a child
 * ended. Pending has room: its ids and the deferred ones came from one
 * read of at most cap ids, or were added by a later, larger read. */
static void pass_undefer(struct pass *ps)
{
	for (size_t k = 0; k < ps->n_deferred; k++) {
		int64_t id = ps->deferred[k];
		size_t at = 0;
		while (at < ps->n_pending && ps->pending[at] < id)
			at++;
		if (ps->n_pending >= ps->cap)
			break; /* cannot happen; the next pass finds it */
		memmove(ps->pending + at + 1, ps->pending + at,
			(ps->n_pending - at) * sizeof(*ps->pending));
		ps->pending[at] = id;
		ps->n_pending++;
	}
	ps->n_deferred = 0;
}

/* analyze_worker_next_fn: the next file that needs a child. */
static bool pass_next(void *ctx, size_t *index, const char **path,
		      double *timeout_s)
{
	struct pass *ps = ctx;
	for (;;) {
		if (ps->rc < 0 || (ps->cancel && atomic_load(ps->cancel)))
			return false;
		if (ps->reload && atomic_exchange(ps->reload, false)) {
			int rc = pass_load(ps);
			if (rc < 0) {
				ps->rc = rc;
				return false;
			}
		}
		if (ps->n_pending == 0)
			return false;
		size_t at = pass_pick(ps);
		int64_t id = ps->pending[at];
		memmove(ps->pending + at, ps->pending + at + 1,
			(ps->n_pending - at - 1) * sizeof(*ps->pending));
		ps->n_pending--;

		unsigned j = 0;
		while (j < ps->n_jobs && ps->jobs[j].busy)
			j++;
		if (j == ps->n_jobs) { /* cannot happen: one slot per child */
			ps->rc = -EINVAL;
			return false;
		}
		struct job *jb = &ps->jobs[j];
		int rc = catalog_track_get(ps->cat, id, &jb->track);
		if (rc == -ENOENT)
			continue;
		if (rc < 0) {
			ps->rc = rc;
			return false;
		}
		if (jb->track.bad_reason[0])
			continue; /* marked bad since the list was read */

		rc = analyzer_content_hash(jb->track.path, jb->hash);
		if (rc == -ENOENT || rc == -ENOTDIR) {
			/* Gone since the scan: the next scan marks it
			 * missing. */
			log_debug("analyzer: %s: vanished", jb->track.path);
			continue;
		}
		if (rc < 0) {
			char why[CATALOG_REASON_MAX];
			snprintf(why, sizeof(why), "cannot read: %s",
				 strerror(-rc));
			pass_bad(ps, &jb->track, why);
			continue;
		}
		if (pass_hash_busy(ps, jb->hash)) {
			rc = pass_defer(ps, id);
			if (rc < 0) {
				ps->rc = rc;
				return false;
			}
			continue;
		}
		rc = catalog_track_set_hash(ps->cat, id, jb->hash);
		if (rc == -ENOENT)
			continue;
		if (rc < 0) {
			ps->rc = rc;
			return false;
		}
		struct analysis cached;
		rc = catalog_analysis_get(ps->cat, id, &cached);
		/* Cached only with its visuals: a track analysed before
		 * they existed is analysed again, which gives both. */
		if (rc == 0 && catalog_visuals_get(ps->cat, id,
						   &ps->scratch_visuals) < 0)
			rc = -ENOENT;
		if (rc == 0) {
			log_debug("analyzer: %s: cached (%s)", jb->track.path,
				  jb->hash);
			ps->scratch = jb->track;
			pass_event(ps, ANALYZER_CACHED, &ps->scratch, &cached,
				   NULL);
			continue;
		}
		if (rc != -ENOENT) {
			ps->rc = rc;
			return false;
		}
		jb->busy = true;
		*index = j;
		*path = jb->track.path;
		/* A two-hour mix on a slow machine is no hang. */
		if (jb->track.duration_s > 0)
			*timeout_s += jb->track.duration_s /
				      ANALYZER_MIN_SPEED;
		return true;
	}
}

/* True the first time ID times out in this pass (it is remembered; false
 * also when memory for that runs out: then it is bad at once). */
static bool pass_first_timeout(struct pass *ps, int64_t id)
{
	for (size_t k = 0; k < ps->n_timed_out; k++)
		if (ps->timed_out[k] == id)
			return false;
	if (ps->n_timed_out == ps->cap_timed_out) {
		size_t cap = ps->cap_timed_out * 2 + 8;
		int64_t *p = realloc(ps->timed_out, cap * sizeof(*p));
		if (!p)
			return false;
		ps->timed_out = p;
		ps->cap_timed_out = cap;
	}
	ps->timed_out[ps->n_timed_out++] = id;
	return true;
}

/* analyze_worker_done_fn: store, or mark bad. */
static void pass_done(void *ctx, size_t index, int rc,
		      const struct analysis *a, const struct visuals *v,
		      const char *reason)
{
	struct pass *ps = ctx;
	struct job *jb = &ps->jobs[index];
	jb->busy = false;
	pass_undefer(ps);
	if (rc == 0) {
		int prc = catalog_analysis_put(ps->cat, jb->track.id, jb->hash,
					       a);
		if (prc == 0)
			prc = catalog_visuals_put(ps->cat, jb->hash, v);
		if (prc == -ENOENT)
			return; /* the track left the catalog */
		if (prc < 0) {
			log_warning("analyzer: %s: cannot store the analysis: "
				    "%s", jb->track.path, strerror(-prc));
			if ((prc == -EIO || prc == -ENOSPC ||
			     prc == -EROFS) && ps->rc == 0)
				ps->rc = prc;
			return;
		}
		log_debug("analyzer: %s: %.2f BPM (%.2f), %s, %.1f LUFS",
			  jb->track.path, a->bpm, a->bpm_confidence,
			  a->camelot[0] ? a->camelot : "no key",
			  a->loudness_lufs);
		pass_event(ps, ANALYZER_ANALYSED, &jb->track, a, NULL);
	} else if (rc == -ENOMEM || rc == -ENOENT || rc == -ENOTDIR ||
		   rc == -EINTR || (ps->cancel && atomic_load(ps->cancel))) {
		/* Not the file's fault (out of memory, killed from outside,
		 * stopping) or it is gone: it stays unanalysed and is tried
		 * again at the next pass. */
		log_warning("analyzer: %s: %s; will try again later",
			    jb->track.path, reason);
	} else if (rc == -ETIMEDOUT && pass_first_timeout(ps, jb->track.id) &&
		   pass_defer(ps, jb->track.id) == 0) {
		log_warning("analyzer: %s: %s; trying once more",
			    jb->track.path, reason);
		pass_undefer(ps);
	} else {
		pass_bad(ps, &jb->track, reason);
	}
}

static unsigned analyzer_jobs(unsigned workers)
{
	if (workers == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		workers = cpus > 0 ? (unsigned)cpus : 1;
	}
	return workers > ANALYZE_WORKER_JOBS_MAX ? ANALYZE_WORKER_JOBS_MAX
						 : workers;
}

/* One pass; see analyzer_run(). */
static int analyzer_pass(struct catalog *cat, const struct analyzer_params *p,
			 const atomic_bool *cancel, atomic_bool *reload,
			 pthread_mutex_t *stats_lock,
			 struct analyzer_stats *stats)
{
	struct pass ps;
	memset(&ps, 0, sizeof(ps));
	ps.cat = cat;
	ps.p = p;
	ps.ap = p->analysis;
	ps.cancel = cancel;
	ps.reload = reload;
	ps.stats_lock = stats_lock;
	ps.stats = stats;
	ps.n_jobs = analyzer_jobs(p->workers);
	ps.started_s = analyzer_now_s();
	double timeout_s = p->timeout_s > 0 ? p->timeout_s
					    : ANALYZER_TIMEOUT_DEFAULT_S;
	int rc = 0;

	ps.jobs = calloc(ps.n_jobs, sizeof(*ps.jobs));
	if (!ps.jobs) {
		rc = -ENOMEM;
		goto out;
	}
	if (reload)
		atomic_store(reload, false);
	rc = pass_load(&ps);
	if (rc < 0)
		goto out;
	if (ps.n_pending > 0)
		log_info("analyzer: %zu tracks to analyse, %u at a time",
			 ps.n_pending, ps.n_jobs);
	rc = analyze_worker_run_feed(pass_next, &ps, ps.ap, ps.n_jobs,
				     timeout_s, pass_done, &ps, cancel);
	if (rc == 0 && ps.rc < 0)
		rc = ps.rc;
	if (rc == 0 && cancel && atomic_load(cancel))
		rc = -ECANCELED;
	if (ps.done > 0) {
		double s = analyzer_now_s() - ps.started_s;
		log_info("analyzer: %zu tracks done in %.1f s (%.1f per "
			 "minute)%s", ps.done, s, s > 0 ? ps.done * 60.0 / s
			 : 0.0, rc == -ECANCELED ? ", stopped" : "");
	}
out:
	if (rc < 0 && rc != -ECANCELED)
		log_error("analyzer: pass failed: %s", strerror(-rc));
	ps.n_pending = 0;
	ps.n_deferred = 0;
	if (stats)
		pass_stats(&ps, ANALYZER_ANALYSED, false);
	free(ps.jobs);
	free(ps.pending);
	free(ps.deferred);
	free(ps.timed_out);
	return rc;
}

int analyzer_run(struct catalog *cat, const struct analyzer_params *params,
		 const atomic_bool *cancel, struct analyzer_stats *stats)
{
	struct analyzer_stats local;
	if (!cat || !params || params->timeout_s < 0)
		return -EINVAL;
	memset(&local, 0, sizeof(local));
	int rc = analyzer_pass(cat, params, cancel, NULL, NULL, &local);
	if (stats) {
		stats->analysed += local.analysed;
		stats->cached += local.cached;
		stats->bad += local.bad;
		stats->passes += rc == 0;
		stats->pending = local.pending;
		stats->busy = false;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The background service.                                             */

struct analyzer_service {
	struct catalog *cat;
	struct analyzer_params params;
	struct analysis_params analysis;

	pthread_t thread;
	bool started;
	bool joined;
	atomic_bool stop;
	atomic_bool reload;

	pthread_mutex_t lock;   /* wake, stats */
	pthread_cond_t cond;
	bool wake;
	struct analyzer_stats stats;
};

static void *analyzer_thread(void *arg)
{
	struct analyzer_service *az = arg;
	while (!atomic_load(&az->stop)) {
		pthread_mutex_lock(&az->lock);
		az->wake = false;
		az->stats.busy = true;
		pthread_mutex_unlock(&az->lock);

		int rc = analyzer_pass(az->cat, &az->params, &az->stop,
				       &az->reload, &az->lock, &az->stats);

		pthread_mutex_lock(&az->lock);
		az->stats.busy = false;
		if (rc == 0)
			az->stats.passes++;
		/* Sleep until woken, stopped or the periodic re-check
		 * (CLOCK_MONOTONIC: a wall-clock step back must not put the
		 * re-check off by as long). */
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)ANALYZER_RECHECK_S;
		while (!az->wake && !atomic_load(&az->stop)) {
			if (pthread_cond_timedwait(&az->cond, &az->lock,
						   &until) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&az->lock);
	}
	return NULL;
}

struct analyzer_service *analyzer_create(struct catalog *cat,
					 const struct analyzer_params *params)
{
	struct analyzer_service *az = NULL;
	int err = 0;
	if (!cat || !params || params->timeout_s < 0 ||
	    params->timeout_s != params->timeout_s) {
		errno = EINVAL;
		return NULL;
	}
	az = calloc(1, sizeof(*az));
	if (!az) {
		errno = ENOMEM;
		return NULL;
	}
	az->cat = cat;
	az->params = *params;
	if (params->analysis) {
		az->analysis = *params->analysis;
		az->params.analysis = &az->analysis;
	}
	atomic_init(&az->stop, false);
	atomic_init(&az->reload, false);
	err = pthread_mutex_init(&az->lock, NULL);
	if (err) {
		free(az);
		errno = err;
		return NULL;
	}
	pthread_condattr_t attr;
	err = pthread_condattr_init(&attr);
	if (!err) {
		err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (!err)
			err = pthread_cond_init(&az->cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (err) {
		pthread_mutex_destroy(&az->lock);
		free(az);
		errno = err;
		return NULL;
	}
	return az;
}

int analyzer_start(struct analyzer_service *az)
{
	if (az->started)
		return -EALREADY;
	int err = pthread_create(&az->thread, NULL, analyzer_thread, az);
	if (err)
		return -err;
	az->started = true;
	return 0;
}

void analyzer_wake(struct analyzer_service *az)
{
	atomic_store(&az->reload, true);
	pthread_mutex_lock(&az->lock);
	az->wake = true;
	pthread_mutex_unlock(&az->lock);
	pthread_cond_signal(&az->cond);
}

void analyzer_get_stats(struct analyzer_service *az,
			struct analyzer_stats *stats)
{
	pthread_mutex_lock(&az->lock);
	*stats = az->stats;
	pthread_mutex_unlock(&az->lock);
}

void analyzer_stop(struct analyzer_service *az)
{
	if (!az->started || az->joined)
		return;
	atomic_store(&az->stop, true);
	pthread_mutex_lock(&az->lock);
	pthread_mutex_unlock(&az->lock);
	pthread_cond_signal(&az->cond);
	pthread_join(az->thread, NULL);
	az->joined = true;
}

void analyzer_destroy(struct analyzer_service *az)
{
	if (!az)
		return;
	analyzer_stop(az);
	pthread_cond_destroy(&az->cond);
	pthread_mutex_destroy(&az->lock);
	free(az);
}
