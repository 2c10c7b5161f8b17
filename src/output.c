/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * output — one Icecast mount in a thread of its own: ring reader, encoder,
 * libshout connection, pacing and titles. See output.h for the contract and
 * its DESIGN; what follows is how this file keeps it.
 *
 * The thread runs connect -> stream -> (drop -> back off -> connect)... until
 * the ring ends or output_destroy() stops it.
 *
 * Connecting: shout_open() first, and only then ring_reader_attach(), so a
 * failing mount never counts as a reader. Each connection gets a fresh
 * encoder; the title in effect (from the attach, else the last one known)
 * goes out before the first audio: as ICY metadata for MP3, as the comments
 * of the first logical stream for chained Ogg.
 *
 * Pacing: t0 is taken when the stream starts; before sending the bytes of
 * frames up to F the thread sleeps until t0 + F / 44100 s - OUTPUT_LEAD_MS
 * (clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME). Deadlines come from
 * the frame count, never from the previous wake-up, so there is no drift;
 * when late it simply does not sleep. 64-bit frame counts and a seconds /
 * remainder split keep the arithmetic exact for centuries.
 *
 * Titles for MP3: ring_read() never crosses a marker, so a read that starts
 * at one is the first audio of the new track. Everything before it has been
 * sent; the thread sleeps until that point is due in real time (at most the
 * lead), so that Icecast has read the old track's bytes, and then sends the
 * title. Icecast ties it to the next bytes it reads: the new track's. LAME
 * still holds about 50 ms of the old track (its look-ahead), so the title
 * may lead the audible change by that much.
 *
 * Eviction: if the ring evicted this reader (Icecast stalled the sends for
 * longer than the ring's stall_ms) it rejoins at the live point on the same
 * connection and restarts its pacing clock there, rather than bursting the
 * lost time to catch up.
 *
 * Timeouts: libshout runs in its non-blocking mode, so no call of it waits
 * for the server. The handshake is shout_open() and then
 * shout_get_connected() every OUTPUT_HANDSHAKE_POLL_MS until the server has
 * taken the source, for at most [icecast] timeout_seconds. A send hands the
 * bytes to libshout and then pushes its queue into the socket (shout_send()
 * of nothing) until the queue is empty, as the blocking send did, so pacing
 * is unchanged; while it waits it polls the socket for room. "Progress" is
 * judged from the server's TCP acknowledgements (TCP_INFO
 * tcpi_bytes_acked), not from the kernel taking our bytes: on loopback the
 * kernel buffers megabytes, minutes of audio, for a server that never
 * reads. When bytes wait (in libshout's queue or unacknowledged in the
 * socket) and the server has acknowledged nothing new for timeout_seconds,
 * the connection is reset (SO_LINGER 0, so the server frees the mount at
 * once), logged once and retried with the usual backoff. The check runs on
 * every send and on every idle ring wait. Without TCP_INFO or without the
 * socket (below) progress is libshout's queue shrinking, which on loopback
 * notices a deaf server only when the kernel's buffers are full.
 *
 * The socket: libshout 2.4 neither tells its socket nor opens it
 * close-on-exec. Every handshake call of every output runs under one
 * process-wide lock, and right after it the thread looks through
 * /proc/self/fd for TCP sockets to the server's port (or still connecting)
 * that are not close-on-exec: the other outputs' were all marked under that
 * lock, and foreverfm opens its own close-on-exec, so what it finds was
 * made by that call. It marks them
 * close-on-exec (a child started meanwhile, an analyzer, would otherwise
 * keep a dropped connection alive and Icecast would refuse the reconnect
 * with "mount in use") and keeps the one if there is exactly one. libshout
 * 2.4.6 connects twice per handshake (a probe, then the request with
 * credentials), hence every call, not only shout_open(). The lock is held
 * for one non-blocking step (about a millisecond; longer only while
 * shout_open() resolves a host name), never while streaming.
 *
 * Titles are sent by this file, not by shout_set_metadata(): libshout makes
 * that request on a blocking connection of its own, with no timeout, and a
 * hung server would hold the thread there. The request is the same
 * (GET /admin/metadata?mode=updinfo&mount=..&charset=UTF-8&song=.., the
 * source credentials as HTTP Basic), on a non-blocking socket, answered
 * within timeout_seconds or given up with one warning. With tls = yes the
 * request must be TLS, which only libshout speaks here: those titles still
 * go through shout_set_metadata() and its unbounded wait (see Limits).
 *
 * Errors: each failed attempt and each dropped connection is one log line
 * naming the output, the mount and the reason, ending with the wait before
 * the next attempt. libshout 2.4 reports both a bad password (401) and a
 * mount taken by another source (403) as SHOUTERR_NOLOGIN; the thread then
 * asks Icecast's /status-json.xsl whether the mount is live to tell the two
 * apart. The password is never formatted into anything.
 *
 * Backoff: 1 s, doubling to 60 s, each wait jittered by +-20 % so that many
 * outputs (or stations) do not reconnect in lock-step; reset when a
 * connection had lasted 60 s. Waits sleep on a condition variable
 * (CLOCK_MONOTONIC) so output_destroy() ends them at once; every second
 * of a wait the thread also checks whether the ring has ended (a probe
 * attach that returns -EPIPE), so output_join() does not hang on a station
 * that shuts down while Icecast is away.
 *
 * SIGPIPE is blocked in the output thread: a send on a socket the server
 * has closed then fails with EPIPE instead of killing the process.
 *
 * Allocation: none in the streaming loop. The PCM block, the encoder's
 * output buffer and the libshout handle exist before the first send;
 * libshout allocates for a metadata update (once per track) and on
 * reconnects.
 *
 * Limits: with tls = yes a title update still waits in libshout for as long
 * as the server takes (see Titles). Host names are resolved by the system's
 * resolver, which has timeouts of its own (seconds), not ours.
 * libshout 2.4.6's shout_free() frees nothing once the handle has been
 * closed (it tests for a live connection the wrong way round), so each
 * output_destroy() leaves about 1 KiB behind; a dropped connection can
 * leave its unsent queue (a few KiB). Both are bounded by the number of
 * outputs and reconnects, and gone with a fixed libshout.
 */
#include "autoconfig.h"

#include "output.h"

#include "encode.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <shout/shout.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LINUX_SOCKIOS_H
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif
#ifdef HAVE_STRUCT_TCP_INFO_TCPI_BYTES_ACKED
#include <linux/tcp.h>
#endif

#define OUTPUT_RATE_HZ DECODE_RATE
#define OUTPUT_READ_TIMEOUT_MS 200
#define OUTPUT_CLOCK_JUMP_MS 5000   /* a deadline this far off: a jump */
#define OUTPUT_PROBE_TIMEOUT_MS 2000
#define OUTPUT_PROBE_MAX_BYTES (64 * 1024)
#define OUTPUT_HANDSHAKE_POLL_MS 10 /* between handshake steps */
#define OUTPUT_SEND_POLL_MS 50      /* longest wait for room in the socket */
#define OUTPUT_REQUEST_MAX 4096     /* our own HTTP requests */

enum output_end {
	OUTPUT_END_RING,  /* the ring was closed and drained */
	OUTPUT_END_STOP,  /* output_destroy() */
	OUTPUT_END_DROP,  /* the connection failed: reconnect */
};

enum output_stall {
	OUTPUT_STALL_NONE,
	OUTPUT_STALL_HANDSHAKE, /* no answer to the source request in time */
	OUTPUT_STALL_SEND,      /* sending made no progress in time */
};

struct output {
	/* Copied from the configuration. */
	char name[64];
	char mount[CONFIG_STRING_MAX];
	char host[CONFIG_STRING_MAX];
	int port;
	bool tls;
	char user[CONFIG_STRING_MAX];
	char password[CONFIG_STRING_MAX]; /* secret: for titles; wiped */
	double timeout_s;           /* [icecast] timeout_seconds */
	int64_t timeout_ms;
	char station_name[CONFIG_STRING_MAX];
	struct encode_params params;
	char stream_title[CONFIG_STRING_MAX];
	int nominal_kbps;

	struct ring *ring;
	unsigned reader_id;

	pthread_t thread;
	bool started, joined;
	atomic_bool stop;
	pthread_mutex_t lock; /* guards stats, and pairs with wake */
	pthread_cond_t wake;  /* output_destroy() ends a backoff wait */
	struct output_stats stats;

	/* Owned by the output thread once started. */
	shout_t *shout;
	struct encoder *enc;
	struct ring_marker current; /* the title in effect */
	void (*title_hook)(void *ctx, const struct ring_marker *mk);
	void *title_hook_ctx;
	bool has_current;
	bool charset_hinted;        /* the UTF-8 mount hint was logged */
	struct ring_marker marker;  /* scratch for ring reads */
	struct timespec t0;         /* pacing origin */
	uint64_t frames_paced;      /* frames sent since t0 */
	unsigned backoff_ms;
	uint64_t rng;
	char last_error[320];       /* why the last connection ended */
	enum output_stall stall;    /* ... when it was a timeout */
	int fd;                     /* libshout's socket if known, else -1 */
	int64_t acked;              /* TCP bytes the server acknowledged */
	ssize_t queued;             /* libshout's queue at the last look */
	bool waiting;               /* ... and whether bytes waited then */
	struct timespec progress_at; /* when sending last moved */
	float pcm[ENCODE_FRAMES_MAX * DECODE_CHANNELS];
};

static pthread_once_t output_shout_once = PTHREAD_ONCE_INIT;

static void output_shout_init(void)
{
	shout_init();
}

static const char *output_format_label(enum output_format format)
{
	return format == OUTPUT_FORMAT_OGG ? "Ogg Vorbis" : "MP3";
}

/* ---- time ---------------------------------------------------------------- */

static struct timespec output_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static int64_t output_ms_between(const struct timespec *a,
				 const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 +
	       (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Whether timeout_ms have passed from a to b, to the nanosecond. */
static bool output_elapsed(const struct timespec *a, const struct timespec *b,
			   int64_t timeout_ms)
{
	int64_t ns = (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 +
		     (b->tv_nsec - a->tv_nsec);
	return ns >= timeout_ms * 1000000;
}

/* t0 + frames / rate - minus_ms, exactly. */
static struct timespec output_deadline(const struct timespec *t0,
				       uint64_t frames, long minus_ms)
{
	struct timespec ts = *t0;
	uint64_t sec = frames / OUTPUT_RATE_HZ;
	uint64_t rem = frames % OUTPUT_RATE_HZ;
	long ns = (long)(rem * 1000000000u / OUTPUT_RATE_HZ);
	ts.tv_sec += (time_t)sec;
	ts.tv_nsec += ns - (minus_ms % 1000) * 1000000;
	ts.tv_sec -= minus_ms / 1000;
	while (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000;
		ts.tv_sec--;
	}
	while (ts.tv_nsec >= 1000000000) {
		ts.tv_nsec -= 1000000000;
		ts.tv_sec++;
	}
	return ts;
}

/* Sleeps until deadline (CLOCK_MONOTONIC), which the caller keeps within
 * OUTPUT_CLOCK_JUMP_MS of now. An absolute sleep that fails sleeps the
 * time left as a relative one. */
static void output_sleep_until(const struct timespec *deadline)
{
	int rc;
	while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline,
				     NULL)) == EINTR)
		;
	if (rc == 0)
		return;
	struct timespec now = output_now();
	int64_t ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 +
		     (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return;
	struct timespec left = { .tv_sec = (time_t)(ns / 1000000000),
				 .tv_nsec = (long)(ns % 1000000000) };
	while (nanosleep(&left, &left) == -1 && errno == EINTR)
		;
}

/* Sleeps until the frames sent so far plus frames are due, less lead_ms.
 * A deadline more than OUTPUT_CLOCK_JUMP_MS from now (see the DESIGN at
 * the top) restarts the pacing clock at now instead, logged. */
static void output_pace(struct output *out, uint64_t frames, long lead_ms)
{
	struct timespec due = output_deadline(&out->t0,
					      out->frames_paced + frames,
					      lead_ms);
	struct timespec now = output_now();
	int64_t ahead_ms = output_ms_between(&now, &due);
	if (ahead_ms > OUTPUT_CLOCK_JUMP_MS ||
	    ahead_ms < -OUTPUT_CLOCK_JUMP_MS) {
		log_warning("output %s: the monotonic clock is %.1f s %s the "
			    "audio sent (it jumped, or the process was "
			    "stopped); pacing from now", out->name,
			    (double)llabs(ahead_ms) / 1000.0,
			    ahead_ms > 0 ? "behind" : "ahead of");
		out->t0 = now;
		out->frames_paced = 0;
		due = output_deadline(&out->t0, frames, lead_ms);
	}
	output_sleep_until(&due);
}

/* Waits ms, or less if output_destroy() asks. Returns true when stopped. */
static bool output_wait(struct output *out, unsigned ms)
{
	struct timespec deadline = output_now();
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_nsec -= 1000000000;
		deadline.tv_sec++;
	}
	pthread_mutex_lock(&out->lock);
	while (!atomic_load(&out->stop)) {
		if (pthread_cond_timedwait(&out->wake, &out->lock,
					   &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&out->lock);
	return atomic_load(&out->stop);
}

/* ---- stats --------------------------------------------------------------- */

static void output_stats_connected(struct output *out, bool connected)
{
	pthread_mutex_lock(&out->lock);
	out->stats.connected = connected;
	if (connected) {
		out->stats.connects++;
		out->stats.frames_sent = 0;
	}
	pthread_mutex_unlock(&out->lock);
}

static void output_stats_failure(struct output *out)
{
	pthread_mutex_lock(&out->lock);
	out->stats.connected = false;
	out->stats.failures++;
	pthread_mutex_unlock(&out->lock);
}

static void output_stats_sent(struct output *out, size_t bytes, size_t frames)
{
	pthread_mutex_lock(&out->lock);
	out->stats.bytes_sent += bytes;
	out->stats.frames_sent += frames;
	pthread_mutex_unlock(&out->lock);
}

static void output_stats_title(struct output *out, const char *title)
{
	pthread_mutex_lock(&out->lock);
	snprintf(out->stats.title, sizeof(out->stats.title), "%s", title);
	pthread_mutex_unlock(&out->lock);
}

void output_set_title_hook(struct output *out,
			   void (*fn)(void *ctx, const struct ring_marker *mk),
			   void *ctx)
{
	out->title_hook = fn;
	out->title_hook_ctx = ctx;
}

void output_get_stats(struct output *out, struct output_stats *stats)
{
	if (!out || !stats)
		return;
	pthread_mutex_lock(&out->lock);
	*stats = out->stats;
	pthread_mutex_unlock(&out->lock);
}

/* ---- backoff ------------------------------------------------------------- */

static uint64_t output_random(struct output *out)
{
	/* xorshift64*: per output, no shared state, no locks. */
	out->rng ^= out->rng >> 12;
	out->rng ^= out->rng << 25;
	out->rng ^= out->rng >> 27;
	return out->rng * 0x2545F4914F6CDD1DULL;
}

/* The next wait, +-20 %, and the doubling for the one after. */
static unsigned output_backoff_next(struct output *out)
{
	unsigned base = out->backoff_ms;
	unsigned span = base / 5;
	unsigned wait = base - span +
			(unsigned)(output_random(out) % (2 * (uint64_t)span + 1));
	out->backoff_ms = base >= OUTPUT_BACKOFF_MAX_MS / 2 ?
			  OUTPUT_BACKOFF_MAX_MS : base * 2;
	return wait;
}

/* True if the ring has ended: then there is nothing left to stream. The
 * probe attaches and at once detaches; with other readers attached that
 * changes nothing, with none it lets the writer run for an instant. */
static bool output_ring_ended(struct output *out)
{
	int rc = ring_reader_attach(out->ring, out->reader_id, NULL, NULL);
	if (rc == 0)
		ring_reader_detach(out->ring, out->reader_id);
	return rc == -EPIPE;
}

/* Waits before the next attempt. Returns OUTPUT_END_DROP to try again, or
 * why the thread should end instead. */
static enum output_end output_backoff_wait(struct output *out, unsigned ms)
{
	while (ms > 0) {
		unsigned slice = ms < 1000 ? ms : 1000;
		if (output_wait(out, slice))
			return OUTPUT_END_STOP;
		if (output_ring_ended(out))
			return OUTPUT_END_RING;
		ms -= slice;
	}
	return OUTPUT_END_DROP;
}

/* ---- HTTP requests of our own -------------------------------------------- */

/* Remaining ms until deadline, 0 when past. */
static int output_ms_left(const struct timespec *deadline)
{
	struct timespec now = output_now();
	int64_t ms = output_ms_between(&now, deadline);
	return ms <= 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Waits for EVENTS on fd until deadline. Returns 0, -ETIMEDOUT, or
 * -ECANCELED as soon as output_destroy() asks. */
static int output_poll(struct output *out, int fd, short events,
		       const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	for (;;) {
		if (atomic_load(&out->stop))
			return -ECANCELED;
		int ms = output_ms_left(deadline);
		int n = poll(&pfd, 1, ms < OUTPUT_SEND_POLL_MS ? ms :
				     OUTPUT_SEND_POLL_MS);
		if (n > 0)
			return 0;
		if (n == 0 && ms == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static void output_base64(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				     "qrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = digits[(v >> 18) & 63];
		out[o++] = digits[(v >> 12) & 63];
		out[o++] = i + 1 < n ? digits[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? digits[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Percent-encodes s into out. Returns false when it does not fit. */
static bool output_url_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			     c == '.' || c == '~';
		if (o + (plain ? 1 : 3) >= cap)
			return false;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return true;
}

/* One HTTP/1.0 GET of TARGET on the output's server, plain TCP, all of it
 * (connect, request, answer) within timeout_ms. buf gets what arrived,
 * headers and body, until the server closed or buf was full (or, with
 * head_only, the headers ended); NUL-terminated. With auth the source user and password go along (HTTP
 * Basic); the request buffer is wiped after. Returns the bytes received,
 * or a negative errno: -ETIMEDOUT, -ECANCELED when output_destroy() asks,
 * -EHOSTUNREACH when the name does not resolve, -ENAMETOOLONG when the
 * request does not fit, or the socket's error. */
static ssize_t output_http_get(struct output *out, const char *target,
			       bool auth, bool head_only, char *buf,
			       size_t cap, int64_t timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timespec deadline = output_now();
	char port[16], request[OUTPUT_REQUEST_MAX];
	char credentials[2 * CONFIG_STRING_MAX + 2];
	char basic[4 * sizeof(credentials) / 3 + 8];
	ssize_t rc = 0;
	size_t len = 0;
	int fd = -1, n;

	deadline.tv_sec += (time_t)(timeout_ms / 1000);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_nsec -= 1000000000;
		deadline.tv_sec++;
	}
	basic[0] = '\0';
	if (auth) {
		n = snprintf(credentials, sizeof(credentials), "%s:%s",
			     out->user, out->password);
		output_base64((const unsigned char *)credentials,
			      (size_t)n < sizeof(credentials) ? (size_t)n :
			      sizeof(credentials) - 1, basic);
		explicit_bzero(credentials, sizeof(credentials));
	}
	n = snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\n"
		     "Host: %s:%d\r\nUser-Agent: foreverfm/" PACKAGE_VERSION
		     "\r\n%s%s%s\r\n", target, out->host, out->port,
		     auth ? "Authorization: Basic " : "", basic,
		     auth ? "\r\n" : "");
	explicit_bzero(basic, sizeof(basic));
	if (n < 0 || (size_t)n >= sizeof(request)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	snprintf(port, sizeof(port), "%d", out->port);
	if (getaddrinfo(out->host, port, &hints, &ai) != 0 || !ai) {
		rc = -EHOSTUNREACH;
		goto out;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		rc = -errno;
		goto out;
	}
	if ((rc = output_poll(out, fd, POLLOUT, &deadline)) < 0)
		goto out;
	int err = 0;
	socklen_t err_len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 || err) {
		rc = err ? -err : -errno;
		goto out;
	}
	for (size_t sent = 0; sent < (size_t)n; ) {
		if ((rc = output_poll(out, fd, POLLOUT, &deadline)) < 0)
			goto out;
		ssize_t w = send(fd, request + sent, (size_t)n - sent,
				 MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		if (w > 0)
			sent += (size_t)w;
	}
	while (len < cap - 1) {
		if ((rc = output_poll(out, fd, POLLIN, &deadline)) < 0)
			goto out;
		ssize_t got = recv(fd, buf + len, cap - 1 - len, 0);
		if (got < 0 && errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		if (got == 0)
			break;
		if (got > 0)
			len += (size_t)got;
		buf[len] = '\0';
		if (head_only && strstr(buf, "\r\n\r\n"))
			break;
	}
	rc = (ssize_t)len;
out:
	explicit_bzero(request, sizeof(request));
	buf[rc > 0 ? (size_t)rc : 0] = '\0';
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

/* The status code of an HTTP answer, or -1. */
static int output_http_status(const char *answer)
{
	int code;
	if (sscanf(answer, "HTTP/%*d.%*d %d", &code) != 1)
		return -1;
	return code;
}

/* ---- errors -------------------------------------------------------------- */

/* libshout's words for its codes (shout_get_error() only knows the last
 * code of a blocking call). */
static const char *output_shout_strerror(int code)
{
	switch (code) {
	case SHOUTERR_SUCCESS: return "no error";
	case SHOUTERR_INSANE: return "nonsensical arguments";
	case SHOUTERR_NOCONNECT: return "couldn't connect";
	case SHOUTERR_NOLOGIN: return "login failed";
	case SHOUTERR_SOCKET: return "socket error";
	case SHOUTERR_MALLOC: return "out of memory";
	case SHOUTERR_METADATA: return "metadata error";
	case SHOUTERR_CONNECTED: return "connected";
	case SHOUTERR_UNCONNECTED: return "not connected";
	case SHOUTERR_UNSUPPORTED: return "unsupported option";
	case SHOUTERR_BUSY: return "socket is busy";
	case SHOUTERR_NOTLS: return "TLS not supported by the server";
	case SHOUTERR_TLSBADCERT: return "bad TLS certificate";
	case SHOUTERR_RETRY: return "retry";
	default: return "unknown error";
	}
}

/* Finds whether MOUNT is a live source on the server, from
 * /status-json.xsl. Plain HTTP only. Returns 1 live, 0 not, -1 unknown. */
static int output_mount_live(struct output *out)
{
	char *body = NULL;
	int live = -1;

	if (out->tls)
		goto out;
	body = malloc(OUTPUT_PROBE_MAX_BYTES + 1);
	if (!body)
		goto out;
	if (output_http_get(out, "/status-json.xsl", false, false, body,
			    OUTPUT_PROBE_MAX_BYTES + 1,
			    OUTPUT_PROBE_TIMEOUT_MS) <= 0 ||
	    output_http_status(body) != 200)
		goto out;
	/* Each source is a flat object with "listenurl":"http://H:P/MOUNT";
	 * a live one also has "stream_start" (Icecast keeps listing a
	 * configured mount, without it, after its source has gone). */
	live = 0;
	size_t mount_len = strlen(out->mount);
	for (const char *p = body; (p = strstr(p, "\"listenurl\":\"")); ) {
		p += strlen("\"listenurl\":\"");
		const char *end = strchr(p, '"');
		if (!end)
			break;
		if ((size_t)(end - p) >= mount_len &&
		    memcmp(end - mount_len, out->mount, mount_len) == 0) {
			const char *close = strchr(end, '}');
			const char *start = strstr(end, "\"stream_start\"");
			if (start && (!close || start < close))
				live = 1;
			break;
		}
		p = end;
	}
out:
	free(body);
	return live;
}

/* One line for a failed shout_open(): what the operator should check. */
static void output_log_open_error(struct output *out, int err, unsigned wait_ms)
{
	const char *why;
	switch (err) {
	case SHOUTERR_NOLOGIN:
		switch (output_mount_live(out)) {
		case 1:
			why = "mount in use by another source client";
			break;
		case 0:
			why = "authentication failed: check [icecast] password "
			      "(and user)";
			break;
		default:
			why = "authentication failed or mount in use: check "
			      "[icecast] password, and that no other source "
			      "uses the mount";
			break;
		}
		break;
	case SHOUTERR_NOCONNECT:
		why = "cannot connect: connection refused or host unreachable "
		      "(is Icecast running? check [icecast] host and port)";
		break;
	case SHOUTERR_BUSY:
		why = "mount in use or server busy";
		break;
	case SHOUTERR_SOCKET:
		why = "socket error";
		break;
	case SHOUTERR_NOTLS:
		why = "the server does not offer TLS (check [icecast] tls)";
		break;
	case SHOUTERR_TLSBADCERT:
		why = "the server's TLS certificate was rejected";
		break;
	default:
		why = "cannot start streaming";
		break;
	}
	log_warning("output %s: %s:%d%s: %s (libshout: %s); retrying in %.1f s",
		    out->name, out->host, out->port, out->mount, why,
		    out->last_error, wait_ms / 1000.0);
}

/* ---- the connection's socket --------------------------------------------- */

/* Held across every libshout call that may make a socket: see the file's
 * comment (The socket). */
static pthread_mutex_t output_socket_lock = PTHREAD_MUTEX_INITIALIZER;

/* Called with output_socket_lock held, right after a handshake call: marks
 * every TCP socket to the server's port (or still connecting) that is not
 * yet close-on-exec so, and returns it if there was exactly one (the call
 * made it), CURRENT if there was none (the call made no new one), -1 if
 * several (then the socket stays unknown). */
static int output_claim_socket(const struct output *out, int current)
{
	DIR *d = opendir("/proc/self/fd");
	int found = -1, n_found = 0;

	if (!d)
		return -1;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd < 3 || fd == self ||
		    fd > INT32_MAX)
			continue;
		int flags = fcntl((int)fd, F_GETFD);
		if (flags < 0 || (flags & FD_CLOEXEC))
			continue;
		int type = 0, listening = 0;
		socklen_t len = sizeof(type);
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
		    type != SOCK_STREAM)
			continue;
		len = sizeof(listening);
		if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
			       &len) != 0 || listening)
			continue;
		struct sockaddr_storage addr;
		len = sizeof(addr);
		if (getsockname((int)fd, (struct sockaddr *)&addr, &len) != 0 ||
		    (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
			continue;
		len = sizeof(addr);
		if (getpeername((int)fd, (struct sockaddr *)&addr, &len) == 0) {
			int port = addr.ss_family == AF_INET ?
				   ntohs(((struct sockaddr_in *)&addr)->sin_port) :
				   ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
			if (port != out->port)
				continue;
		} else if (errno != ENOTCONN) {
			continue;
		}
		(void)fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
		found = (int)fd;
		n_found++;
	}
	closedir(d);
	if (n_found == 1)
		return found;
	return n_found == 0 ? current : -1;
}

/* The TCP bytes the server has acknowledged on the connection and those
 * not yet acknowledged; both -1 when unknown. */
static void output_tcp_state(const struct output *out, int64_t *acked,
			     int64_t *unacked)
{
	*acked = -1;
	*unacked = -1;
#if defined(HAVE_STRUCT_TCP_INFO_TCPI_BYTES_ACKED) && \
	defined(HAVE_LINUX_SOCKIOS_H)
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq = 0;
	if (out->fd < 0 ||
	    getsockopt(out->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_acked) +
		  sizeof(ti.tcpi_bytes_acked) ||
	    ioctl(out->fd, SIOCOUTQ, &outq) != 0)
		return;
	*acked = (int64_t)ti.tcpi_bytes_acked;
	*unacked = outq;
#else
	(void)out;
#endif
}

/* Starts judging progress on a fresh connection. */
static void output_progress_start(struct output *out)
{
	int64_t unacked;
	output_tcp_state(out, &out->acked, &unacked);
	out->queued = 0;
	out->waiting = false;
	out->progress_at = output_now();
}

/* Notes whether sending moved: the server acknowledged more (when the
 * socket is known), else libshout's queue shrank; or nothing waits at all.
 * Returns 0, or -ETIMEDOUT (with out->stall and out->last_error set) when
 * bytes have waited timeout_ms without either. The wait counts from the
 * first look that saw bytes waiting, so a thread that did not look for a
 * while (a stopped process) never takes its own pause for the server's. */
static int output_progress(struct output *out)
{
	struct timespec now = output_now();
	ssize_t queued = shout_queuelen(out->shout);
	int64_t acked, unacked;
	bool moved, waiting;

	if (queued < 0)
		queued = 0;
	output_tcp_state(out, &acked, &unacked);
	waiting = queued > 0 || unacked > 0;
	moved = acked >= 0 ? acked != out->acked : queued < out->queued;
	out->queued = queued;
	if (acked >= 0)
		out->acked = acked;
	bool started = waiting && !out->waiting;
	out->waiting = waiting;
	if (moved || !waiting || started) {
		out->progress_at = now;
		return 0;
	}
	if (!output_elapsed(&out->progress_at, &now, out->timeout_ms))
		return 0;
	out->stall = OUTPUT_STALL_SEND;
	snprintf(out->last_error, sizeof(out->last_error),
		 "no progress sending for %g s", out->timeout_s);
	return -ETIMEDOUT;
}

/* Waits a little for room in the socket (or, when it is unknown, sleeps a
 * handshake step). */
static void output_wait_writable(const struct output *out)
{
	struct pollfd pfd = { .fd = out->fd, .events = POLLOUT };
	if (out->fd >= 0 && poll(&pfd, 1, OUTPUT_SEND_POLL_MS) == 1 &&
	    !(pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return;
	struct timespec step = { 0, OUTPUT_HANDSHAKE_POLL_MS * 1000000L };
	nanosleep(&step, NULL);
}

/* Opens the connection: shout_open() and then shout_get_connected() in
 * libshout's non-blocking mode until the server has taken the source, for
 * at most timeout_ms. Returns 0; -ETIMEDOUT (out->stall and last_error
 * say so); -ECANCELED when output_destroy() asks; or -EIO with *shout_err
 * the libshout code and last_error its words. */
static int output_open(struct output *out, int *shout_err)
{
	struct timespec start = output_now();
	int rc;

	pthread_mutex_lock(&output_socket_lock);
	rc = shout_open(out->shout);
	out->fd = output_claim_socket(out, -1);
	pthread_mutex_unlock(&output_socket_lock);
	while (rc == SHOUTERR_BUSY || rc == SHOUTERR_RETRY) {
		struct timespec now = output_now();
		if (output_elapsed(&start, &now, out->timeout_ms)) {
			out->stall = OUTPUT_STALL_HANDSHAKE;
			snprintf(out->last_error, sizeof(out->last_error),
				 "no answer to the source request in %g s",
				 out->timeout_s);
			return -ETIMEDOUT;
		}
		if (output_wait(out, OUTPUT_HANDSHAKE_POLL_MS))
			return -ECANCELED;
		pthread_mutex_lock(&output_socket_lock);
		rc = shout_get_connected(out->shout);
		out->fd = output_claim_socket(out, out->fd);
		pthread_mutex_unlock(&output_socket_lock);
	}
	if (rc == SHOUTERR_SUCCESS || rc == SHOUTERR_CONNECTED)
		return 0;
	*shout_err = rc;
	snprintf(out->last_error, sizeof(out->last_error), "%s",
		 output_shout_strerror(rc));
	return -EIO;
}

/* Closes the connection; one that stalled is reset, so that the server
 * (should it wake up) frees the mount at once instead of after its own
 * source timeout. */
static void output_close(struct output *out)
{
	if (out->stall != OUTPUT_STALL_NONE && out->fd >= 0) {
		struct linger reset = { .l_onoff = 1, .l_linger = 0 };
		(void)setsockopt(out->fd, SOL_SOCKET, SO_LINGER, &reset,
				 sizeof(reset));
	}
	out->fd = -1;
	shout_close(out->shout);
}

/* ---- streaming ----------------------------------------------------------- */

/* The display title of a marker, or the station name for silence. */
static const char *output_display(const struct output *out,
				  const struct ring_marker *mk)
{
	return mk->display[0] ? mk->display : out->station_name;
}

/* Pushes libshout's queue into the socket until it is empty, as a blocking
 * send would, judging progress as it waits. Returns 0, -EIO when the
 * connection failed, -ETIMEDOUT when it made no progress for timeout_ms
 * (out->last_error says which), or -ECANCELED when output_destroy()
 * asks. */
static int output_flush(struct output *out)
{
	for (;;) {
		int rc = shout_send(out->shout, NULL, 0);
		if (rc != SHOUTERR_SUCCESS && rc != SHOUTERR_BUSY &&
		    rc != SHOUTERR_RETRY) {
			snprintf(out->last_error, sizeof(out->last_error),
				 "%s", output_shout_strerror(rc));
			return -EIO;
		}
		if ((rc = output_progress(out)) < 0)
			return rc;
		if (out->queued == 0)
			return 0;
		if (atomic_load(&out->stop))
			return -ECANCELED;
		output_wait_writable(out);
	}
}

static int output_send(struct output *out, const unsigned char *data,
		       size_t len, size_t frames)
{
	int rc;

	if (len > 0 && (rc = shout_send(out->shout, data, len)) !=
		       SHOUTERR_SUCCESS) {
		snprintf(out->last_error, sizeof(out->last_error), "%s",
			 output_shout_strerror(rc));
		return -EIO;
	}
	if ((rc = output_flush(out)) < 0)
		return rc;
	out->frames_paced += frames;
	output_stats_sent(out, len, frames);
	return 0;
}

static bool output_has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* The title update of an MP3 mount, as libshout would send it, on a
 * connection of our own, answered within timeout_ms (see the file's
 * comment, Titles). Returns 0, or a negative errno: -EACCES when Icecast
 * refused the credentials, -EPROTO for any other answer. */
static int output_send_title_http(struct output *out, const char *display)
{
	char mount[3 * CONFIG_STRING_MAX + 1];
	char song[3 * sizeof(out->current.display) + 1];
	char target[sizeof(mount) + sizeof(song) + 64];
	char answer[1024];

	if (!output_url_encode(out->mount, mount, sizeof(mount)) ||
	    !output_url_encode(display, song, sizeof(song)))
		return -ENAMETOOLONG;
	snprintf(target, sizeof(target), "/admin/metadata?mode=updinfo&"
		 "mount=%s&charset=UTF-8&song=%s", mount, song);
	ssize_t n = output_http_get(out, target, true, true, answer,
				    sizeof(answer), out->timeout_ms);
	if (n < 0)
		return (int)n;
	int code = output_http_status(answer);
	if (code == 200)
		return 0;
	return code == 401 || code == 403 ? -EACCES : -EPROTO;
}

/* With TLS: libshout's request (unbounded; see Limits). */
static int output_send_title_shout(struct output *out, const char *display)
{
	shout_metadata_t *md = shout_metadata_new();
	if (!md)
		return -ENOMEM;
	int rc = shout_metadata_add(md, "song", display);
	if (rc == SHOUTERR_SUCCESS)
		rc = shout_set_metadata_utf8(out->shout, md);
	shout_metadata_free(md);
	return rc == SHOUTERR_SUCCESS ? 0 : -EIO;
}

static void output_send_icy_title(struct output *out, const char *display)
{
	int rc = out->tls ? output_send_title_shout(out, display) :
		 output_send_title_http(out, display);
	if (rc == -ECANCELED)
		return;
	if (rc < 0)
		log_warning("output %s: %s: title not sent: %s", out->name,
			    out->mount, rc == -ETIMEDOUT ?
			    "no answer in time" : strerror(-rc));
	else
		log_debug("output %s: title \"%s\"", out->name, display);
	if (rc == 0 && !out->charset_hinted &&
	    output_has_non_ascii(display)) {
		/* libshout sends the title as UTF-8 (charset=UTF-8), but Icecast
		 * re-encodes ICY titles to the mount's <charset>, ISO-8859-1
		 * unless configured: players then show \xab for a guillemet and
		 * anything beyond Latin-1 is lost. Icecast never tells the
		 * source, so say it once, where an operator reads. */
		out->charset_hinted = true;
		log_info("output %s: \"%s\" is not plain ASCII: listeners see it "
			 "intact only if Icecast's <mount> for %s has "
			 "<charset>UTF-8</charset> (otherwise Icecast sends it "
			 "as Latin-1); see foreverfm.ini(5)",
			 out->name, display, out->mount);
	}
}

/* The title changes at the next frame to be sent. */
static int output_title(struct output *out, const struct ring_marker *mk)
{
	const char *display = output_display(out, mk);
	int rc = 0;

	if (out->params.format == OUTPUT_FORMAT_MP3) {
		output_pace(out, 0, 0);
		output_send_icy_title(out, display);
	} else if (out->params.chained) {
		const unsigned char *bytes;
		size_t len;
		const char *title = mk->title[0] || mk->artist[0] ?
				    mk->title : display;
		rc = encode_track(out->enc, mk->artist, title, &bytes, &len);
		if (rc < 0) {
			log_error("output %s: encoder: %s", out->name,
				  strerror(-rc));
			return rc;
		}
		rc = output_send(out, bytes, len, 0);
	}
	output_stats_title(out, display);
	if (rc == 0 && out->title_hook)
		out->title_hook(out->title_hook_ctx, mk);
	return rc;
}

static bool output_same_title(const struct ring_marker *a,
			      const struct ring_marker *b)
{
	return a->track_id == b->track_id &&
	       strcmp(a->display, b->display) == 0;
}

/* Attaches to the ring at the live point and takes the title in effect.
 * Returns 0, -EPIPE when the ring has ended, or another negative errno. */
static int output_attach(struct output *out, bool *title_changed)
{
	bool has = false;
	int rc = ring_reader_attach(out->ring, out->reader_id, &out->marker,
				    &has);
	*title_changed = false;
	if (rc < 0)
		return rc;
	if (has && (!out->has_current ||
		    !output_same_title(&out->marker, &out->current))) {
		out->current = out->marker;
		out->has_current = true;
		*title_changed = true;
	}
	return 0;
}

static enum output_end output_stream(struct output *out)
{
	const unsigned char *bytes;
	size_t len;
	bool changed;
	int rc;

	while (!atomic_load(&out->stop)) {
		bool has_marker = false;
		ssize_t n = ring_read_timed(out->ring, out->reader_id, out->pcm,
					    ENCODE_FRAMES_MAX, &out->marker,
					    &has_marker, OUTPUT_READ_TIMEOUT_MS);
		if (n == -ETIMEDOUT) {
			/* Nothing to send: still, what was sent must move. */
			if (output_progress(out) < 0)
				return OUTPUT_END_DROP;
			continue;
		}
		if (n == 0)
			return OUTPUT_END_RING;
		if (n == -ECONNRESET) {
			log_warning("output %s: %s: fell behind the mix and was "
				    "dropped by the ring; rejoining at the live "
				    "point", out->name, out->mount);
			rc = output_attach(out, &changed);
			if (rc == -EPIPE)
				return OUTPUT_END_RING;
			if (rc < 0)
				return OUTPUT_END_DROP;
			out->t0 = output_now();
			out->frames_paced = 0;
			if (changed && output_title(out, &out->current) < 0)
				return OUTPUT_END_DROP;
			continue;
		}
		if (n < 0) {
			log_error("output %s: ring: %s", out->name,
				  strerror((int)-n));
			return OUTPUT_END_DROP;
		}
		if (has_marker && !(out->has_current &&
				    out->marker.frame == out->current.frame &&
				    output_same_title(&out->marker,
						      &out->current))) {
			out->current = out->marker;
			out->has_current = true;
			if (output_title(out, &out->current) < 0)
				return OUTPUT_END_DROP;
		}
		rc = encode_write(out->enc, out->pcm, (size_t)n, &bytes, &len);
		if (rc < 0) {
			log_error("output %s: encoder: %s", out->name,
				  strerror(-rc));
			return OUTPUT_END_DROP;
		}
		output_pace(out, (uint64_t)n, OUTPUT_LEAD_MS);
		if (output_send(out, bytes, len, (size_t)n) < 0)
			return OUTPUT_END_DROP;
	}
	return OUTPUT_END_STOP;
}

/* One connection, from shout_open() to its end. Returns why it ended. On
 * OUTPUT_END_DROP, *open_err is the libshout code if shout_open() failed
 * (else 0), out->last_error says why, and *streamed_ms is how long the
 * connection streamed. The caller logs the drop, with the wait after it. */
static enum output_end output_session(struct output *out, int *open_err,
				      int64_t *streamed_ms)
{
	enum output_end end = OUTPUT_END_DROP;
	char err[256];
	bool changed;
	int rc;

	*open_err = 0;
	*streamed_ms = 0;
	out->last_error[0] = '\0';
	out->stall = OUTPUT_STALL_NONE;
	out->enc = encode_create(&out->params, err, sizeof(err));
	if (!out->enc) {
		snprintf(out->last_error, sizeof(out->last_error),
			 "encoder: %s", err);
		goto out;
	}
	rc = output_open(out, open_err);
	if (rc < 0) {
		if (rc == -ECANCELED)
			end = OUTPUT_END_STOP;
		output_close(out);
		goto out;
	}
	output_progress_start(out);
	rc = output_attach(out, &changed);
	if (rc == -EPIPE) {
		end = OUTPUT_END_RING;
		goto close;
	}
	if (rc < 0) {
		log_error("output %s: ring: %s", out->name, strerror(-rc));
		end = OUTPUT_END_STOP;
		goto close;
	}
	output_stats_connected(out, true);
	log_info("output %s: streaming %s to %s:%d%s (%d kbps)", out->name,
		 output_format_label(out->params.format), out->host, out->port,
		 out->mount, encode_nominal_bitrate(out->enc));
	struct timespec connected = output_now();
	out->t0 = connected;
	out->frames_paced = 0;
	if (out->has_current && output_title(out, &out->current) < 0)
		end = OUTPUT_END_DROP;
	else
		end = output_stream(out);
	struct timespec now = output_now();
	*streamed_ms = output_ms_between(&connected, &now);
	ring_reader_detach(out->ring, out->reader_id);
	if (end == OUTPUT_END_DROP && atomic_load(&out->stop))
		end = OUTPUT_END_STOP;

	if (end == OUTPUT_END_RING) {
		const unsigned char *bytes;
		size_t len;
		rc = encode_finish(out->enc, &bytes, &len);
		if (rc == 0 && output_send(out, bytes, len, 0) == 0)
			log_info("output %s: %s: stream ended", out->name,
				 out->mount);
		else
			log_warning("output %s: %s: the end of the stream was "
				    "not sent (%s)", out->name, out->mount,
				    rc < 0 ? strerror(-rc) : out->last_error);
	} else if (end == OUTPUT_END_STOP) {
		log_info("output %s: %s: stopped", out->name, out->mount);
	} else if (end == OUTPUT_END_DROP && !out->last_error[0]) {
		snprintf(out->last_error, sizeof(out->last_error), "%s",
			 shout_get_error(out->shout));
	}
close:
	output_close(out);
	output_stats_connected(out, false);
out:
	encode_destroy(out->enc);
	out->enc = NULL;
	return end;
}

static void *output_main(void *arg)
{
	struct output *out = arg;
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	/* No probe before the first attempt: with no reader attached it
	 * would let the mixer's first block slip past unheard. */
	out->backoff_ms = OUTPUT_BACKOFF_MIN_MS;
	while (!atomic_load(&out->stop)) {
		int open_err;
		int64_t streamed_ms;
		enum output_end end = output_session(out, &open_err,
						     &streamed_ms);
		if (end != OUTPUT_END_DROP)
			break;
		output_stats_failure(out);
		if (streamed_ms >= OUTPUT_BACKOFF_RESET_MS)
			out->backoff_ms = OUTPUT_BACKOFF_MIN_MS;
		unsigned wait_ms = output_backoff_next(out);
		if (out->stall == OUTPUT_STALL_HANDSHAKE)
			log_warning("output %s: %s:%d%s: %s; reconnecting in "
				    "%.1f s", out->name, out->host, out->port,
				    out->mount, out->last_error,
				    wait_ms / 1000.0);
		else if (out->stall == OUTPUT_STALL_SEND)
			log_warning("output %s: %s:%d%s: %s (after %.1f s "
				    "streaming); reconnecting in %.1f s",
				    out->name, out->host, out->port, out->mount,
				    out->last_error, streamed_ms / 1000.0,
				    wait_ms / 1000.0);
		else if (open_err)
			output_log_open_error(out, open_err, wait_ms);
		else
			log_warning("output %s: %s:%d%s: connection lost after "
				    "%.1f s (%s); reconnecting in %.1f s",
				    out->name, out->host, out->port, out->mount,
				    streamed_ms / 1000.0, out->last_error,
				    wait_ms / 1000.0);
		if (output_backoff_wait(out, wait_ms) != OUTPUT_END_DROP)
			break;
	}
	return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

static int output_shout_setup(struct output *out, const struct config *cfg)
{
	shout_t *s = out->shout;
	char value[32];
	unsigned format = out->params.format == OUTPUT_FORMAT_OGG ?
			  SHOUT_FORMAT_OGG : SHOUT_FORMAT_MP3;
	int kbps = out->nominal_kbps;

	if (shout_set_host(s, out->host) != SHOUTERR_SUCCESS ||
	    shout_set_port(s, (unsigned short)out->port) != SHOUTERR_SUCCESS ||
	    shout_set_user(s, out->user) != SHOUTERR_SUCCESS ||
	    shout_set_password(s, out->password) != SHOUTERR_SUCCESS ||
	    shout_set_mount(s, out->mount) != SHOUTERR_SUCCESS ||
	    shout_set_protocol(s, SHOUT_PROTOCOL_HTTP) != SHOUTERR_SUCCESS ||
	    shout_set_content_format(s, format, SHOUT_USAGE_AUDIO, NULL) !=
		    SHOUTERR_SUCCESS ||
	    shout_set_nonblocking(s, 1) != SHOUTERR_SUCCESS ||
	    shout_set_agent(s, "foreverfm/" PACKAGE_VERSION) !=
		    SHOUTERR_SUCCESS ||
	    shout_set_public(s, cfg->station_public ? 1 : 0) !=
		    SHOUTERR_SUCCESS) {
		log_error("output %s: libshout rejected a setting (%s)",
			  out->name, shout_get_error(s));
		return -EINVAL;
	}
	/* tls = yes means the password never travels in clear. */
	if (shout_set_tls(s, out->tls ? SHOUT_TLS_AUTO_NO_PLAIN
				      : SHOUT_TLS_DISABLED) !=
	    SHOUTERR_SUCCESS) {
		log_error("output %s: libshout: TLS: %s", out->name,
			  shout_get_error(s));
		return -EINVAL;
	}
	static const struct {
		const char *key;
		size_t offset;
	} meta[] = {
		{ SHOUT_META_NAME, offsetof(struct config, station_name) },
		{ SHOUT_META_DESCRIPTION,
		  offsetof(struct config, station_description) },
		{ SHOUT_META_GENRE, offsetof(struct config, station_genre) },
		{ SHOUT_META_URL, offsetof(struct config, station_url) },
	};
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		const char *v = (const char *)cfg + meta[i].offset;
		if (v[0] && shout_set_meta(s, meta[i].key, v) !=
			    SHOUTERR_SUCCESS) {
			log_error("output %s: libshout: %s: %s", out->name,
				  meta[i].key, shout_get_error(s));
			return -EINVAL;
		}
	}
	snprintf(value, sizeof(value), "%d", kbps);
	if (kbps > 0)
		(void)shout_set_audio_info(s, SHOUT_AI_BITRATE, value);
	snprintf(value, sizeof(value), "%d", OUTPUT_RATE_HZ);
	(void)shout_set_audio_info(s, SHOUT_AI_SAMPLERATE, value);
	snprintf(value, sizeof(value), "%d", DECODE_CHANNELS);
	(void)shout_set_audio_info(s, SHOUT_AI_CHANNELS, value);
	if (out->params.format == OUTPUT_FORMAT_OGG) {
		snprintf(value, sizeof(value), "%.2f", out->params.quality);
		(void)shout_set_audio_info(s, SHOUT_AI_QUALITY, value);
	}
	return 0;
}

struct output *output_create(const struct config *cfg, size_t index,
			     struct ring *ring, unsigned reader_id)
{
	struct output *out = NULL;
	int saved_errno = 0;
	bool lock_ready = false, cond_ready = false;
	char err[256];

	if (!cfg || !ring || index >= cfg->n_outputs ||
	    index >= CONFIG_OUTPUTS_MAX) {
		saved_errno = EINVAL;
		goto out;
	}
	const struct config_output *co = &cfg->outputs[index];
	out = calloc(1, sizeof(*out));
	if (!out) {
		saved_errno = ENOMEM;
		goto out;
	}
	snprintf(out->name, sizeof(out->name), "%s", co->name);
	snprintf(out->mount, sizeof(out->mount), "%s", co->mount);
	snprintf(out->host, sizeof(out->host), "%s", co->host);
	snprintf(out->user, sizeof(out->user), "%s", co->user);
	memcpy(out->password, co->password, sizeof(out->password));
	out->timeout_s = cfg->icecast_timeout_s;
	out->timeout_ms = (int64_t)(cfg->icecast_timeout_s * 1000 + 0.5);
	out->fd = -1;
	snprintf(out->station_name, sizeof(out->station_name), "%s",
		 cfg->station_name);
	snprintf(out->stream_title, sizeof(out->stream_title), "%s",
		 cfg->station_name);
	out->port = co->port;
	out->tls = co->tls;
	out->ring = ring;
	out->reader_id = reader_id;
	out->params.format = co->format;
	out->params.bitrate_kbps = co->format == OUTPUT_FORMAT_MP3 ?
				   co->bitrate_kbps : 0;
	out->params.quality = co->quality;
	out->params.chained = co->chained;
	out->params.stream_title = out->stream_title;

	if (co->mount[0] != '/' || co->port <= 0 || co->port > 65535 ||
	    !co->host[0] || out->timeout_ms <= 0) {
		log_error("output %s: bad mount \"%s\", host, port %d or "
			  "timeout", out->name, co->mount, co->port);
		saved_errno = EINVAL;
		goto out;
	}
	struct encoder *probe = encode_create(&out->params, err, sizeof(err));
	if (!probe) {
		saved_errno = errno;
		log_error("output %s: %s", out->name, err);
		goto out;
	}
	out->nominal_kbps = encode_nominal_bitrate(probe);
	encode_destroy(probe);

	pthread_once(&output_shout_once, output_shout_init);
	out->shout = shout_new();
	if (!out->shout) {
		saved_errno = ENOMEM;
		goto out;
	}
	if (output_shout_setup(out, cfg) < 0) {
		saved_errno = EINVAL;
		goto out;
	}
	if (pthread_mutex_init(&out->lock, NULL) != 0) {
		saved_errno = ENOMEM;
		goto out;
	}
	lock_ready = true;
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0) {
		saved_errno = ENOMEM;
		goto out;
	}
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&out->wake, &attr) != 0)
		saved_errno = ENOMEM;
	else
		cond_ready = true;
	pthread_condattr_destroy(&attr);
	if (saved_errno)
		goto out;

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	out->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		   ((uint64_t)reader_id << 40) ^ (uint64_t)(uintptr_t)out;
	if (out->rng == 0)
		out->rng = 0x9E3779B97F4A7C15ULL;
	atomic_init(&out->stop, false);
out:
	if (saved_errno) {
		if (out) {
			if (cond_ready)
				pthread_cond_destroy(&out->wake);
			if (lock_ready)
				pthread_mutex_destroy(&out->lock);
			if (out->shout)
				shout_free(out->shout);
			explicit_bzero(out->password, sizeof(out->password));
			free(out);
		}
		errno = saved_errno;
		return NULL;
	}
	return out;
}

int output_start(struct output *out)
{
	if (!out)
		return -EINVAL;
	if (out->started)
		return -EALREADY;
	int rc = pthread_create(&out->thread, NULL, output_main, out);
	if (rc != 0)
		return -rc;
	out->started = true;
	return 0;
}

void output_join(struct output *out)
{
	if (!out || !out->started || out->joined)
		return;
	pthread_join(out->thread, NULL);
	out->joined = true;
}

void output_destroy(struct output *out)
{
	if (!out)
		return;
	pthread_mutex_lock(&out->lock);
	atomic_store(&out->stop, true);
	pthread_mutex_unlock(&out->lock);
	pthread_cond_broadcast(&out->wake);
	output_join(out);
	shout_free(out->shout);
	pthread_cond_destroy(&out->wake);
	pthread_mutex_destroy(&out->lock);
	explicit_bzero(out->password, sizeof(out->password));
	free(out);
}
