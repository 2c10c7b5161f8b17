/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http — the status server. See http.h for the DESIGN (threads, event
 * streams, limits); what follows is how this file keeps it.
 *
 * Locks: srv->lock guards the list of event streams and their suspended
 * flags. An event stream's callback holds it from "nothing to send" to
 * MHD_suspend_connection(), and the pump holds it while it resumes, so a
 * wake-up between the two is never lost. Order: srv->lock, then the
 * nowplaying lock (inside nowplaying_sse_next()); the pump waits on the
 * nowplaying state without srv->lock.
 *
 * Shutdown: libmicrohttpd must not be stopped with suspended connections.
 * http_destroy() stops the pump, marks the server stopping and resumes
 * every stream under srv->lock (a callback that runs after that ends its
 * stream instead of suspending), then stops the daemon.
 */
#include "autoconfig.h"

#include "http.h"

#include "catalog.h"
#include "log.h"
#include "visuals.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HTTP_BACKLOG 128
#define HTTP_PUMP_MS 50
#define HTTP_SSE_BLOCK 16384
/* An event always fits a block whole (libmicrohttpd asks for a block at
 * a time, less the chunk framing). */
_Static_assert(NP_EVENT_TEXT_MAX <= HTTP_SSE_BLOCK / 2,
	       "an event must fit one block of an event stream");
#define HTTP_MEMORY_LIMIT (2 * HTTP_REQUEST_MAX)

struct http_client {
	struct http_server *srv;
	struct MHD_Connection *conn;
	uint64_t cursor;           /* the last event id sent */
	uint64_t heartbeat;        /* the last heartbeat sent */
	bool suspended;
	struct http_client *prev, *next;
};

struct http_server {
	struct nowplaying *np;
	char listen[CONFIG_STRING_MAX];
	unsigned max_clients;
	char www[PATH_MAX];        /* "" for none */
	struct catalog *cat;       /* NULL for none */
	int fd;                    /* ours until the daemon takes it */
	unsigned port;
	struct MHD_Daemon *daemon;

	pthread_t pump;
	bool pump_started;
	atomic_bool stop;

	pthread_mutex_t lock;
	struct http_client *clients;
	size_t n_clients;
	uint64_t heartbeat;        /* bumped every HTTP_HEARTBEAT_S */
	bool stopping;
};

static double http_wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double http_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Responses.                                                          */

static enum MHD_Result http_queue(struct MHD_Connection *conn,
				  unsigned status, const char *type,
				  char *body, bool free_body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), body,
		free_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (free_body)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_error(struct MHD_Connection *conn,
				  unsigned status, const char *msg)
{
	return http_queue(conn, status, "text/plain; charset=utf-8",
			  (char *)msg, false);
}

static void http_client_unlink(struct http_server *srv, struct http_client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_clients--;
}

static void http_client_free(void *cls)
{
	struct http_client *c = cls;
	struct http_server *srv = c->srv;

	pthread_mutex_lock(&srv->lock);
	http_client_unlink(srv, c);
	pthread_mutex_unlock(&srv->lock);
	free(c);
}

static ssize_t http_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_client *c = cls;
	struct http_server *srv = c->srv;
	ssize_t ret = 0;

	(void)pos;
	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		ret = MHD_CONTENT_READER_END_OF_STREAM;
		goto out;
	}
	for (;;) {
		long n = nowplaying_sse_next(srv->np, &c->cursor, buf, max,
					     http_wall_s());
		if (n > 0) {
			ret = n;
			goto out;
		}
		if (n == -ENOBUFS)
			continue;  /* an event larger than a block: skipped */
		if (n < 0) {
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			goto out;
		}
		break;
	}
	if (c->heartbeat != srv->heartbeat) {
		static const char beat[] = ": heartbeat\n\n";
		c->heartbeat = srv->heartbeat;
		if (max >= sizeof(beat) - 1) {
			memcpy(buf, beat, sizeof(beat) - 1);
			ret = (ssize_t)(sizeof(beat) - 1);
			goto out;
		}
	}
	c->suspended = true;
	MHD_suspend_connection(c->conn);
	ret = 0;
out:
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

static enum MHD_Result http_events(struct http_server *srv,
				   struct MHD_Connection *conn)
{
	const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Last-Event-ID");
	if (!last)
		last = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						   "lastEventId");
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return MHD_NO;
	c->srv = srv;
	c->conn = conn;
	/* Without a known id the stream opens with the whole state (a
	 * resync), then the events as they come. */
	c->cursor = UINT64_MAX;
	uint64_t id;
	if (last && http_parse_event_id(last, &id) == 0)
		c->cursor = id;
	struct MHD_Response *r = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, HTTP_SSE_BLOCK, http_sse_read, c,
		http_client_free);
	if (!r) {
		free(c);
		return MHD_NO;
	}
	pthread_mutex_lock(&srv->lock);
	c->heartbeat = srv->heartbeat;
	c->next = srv->clients;
	if (srv->clients)
		srv->clients->prev = c;
	srv->clients = c;
	srv->n_clients++;
	pthread_mutex_unlock(&srv->lock);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	/* nginx: pass events on at once. */
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Waveforms, covers and the page.                                     */

/* Queues R (consumed) with the headers of a file: TYPE and CACHE. */
static enum MHD_Result http_queue_file(struct MHD_Connection *conn,
				       struct MHD_Response *r,
				       const char *type, const char *cache)
{
	if (!r)
		return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "503 out of memory\n");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* The track's visuals, heap-allocated (8 KiB), or NULL: none (404). */
static struct visuals *http_visuals(struct http_server *srv, int64_t id)
{
	struct visuals *v = malloc(sizeof(*v));
	if (!v || !srv->cat || catalog_visuals_get(srv->cat, id, v) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

/* {"id":ID,"peak_ms":100,"colour":"#rrggbb","colour_from":"cover",
 *  "peaks":[...]}: at most 8192 numbers of 3 digits. */
static enum MHD_Result http_waveform(struct http_server *srv,
				     struct MHD_Connection *conn, int64_t id)
{
	struct visuals *v = http_visuals(srv, id);
	if (!v)
		return http_error(conn, MHD_HTTP_NOT_FOUND,
				  "404 no waveform for this track (yet)\n");
	size_t cap = 256 + 4 * (size_t)v->n_peaks, len = 0;
	char *body = malloc(cap), hex[8];
	if (!body) {
		free(v);
		return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "503 out of memory\n");
	}
	static const char *const from[] = { "none", "cover", "timbre" };
	len += (size_t)snprintf(body, cap, "{\"id\":%" PRId64 ",\"peak_ms\":%"
				PRIu32 ",\"colour\":\"%s\",\"colour_from\":"
				"\"%s\",\"peaks\":[", id, v->peak_ms,
				visuals_colour_hex(v->colour, hex),
				from[v->colour_from >= 0 && v->colour_from <= 2 ?
				     v->colour_from : 0]);
	for (uint32_t i = 0; i < v->n_peaks; i++)
		len += (size_t)snprintf(body + len, cap - len, "%s%u",
					i ? "," : "", v->peaks[i]);
	snprintf(body + len, cap - len, "]}");
	free(v);
	/* The content of a track id changes only when its file does. */
	return http_queue_file(conn, MHD_create_response_from_buffer(
		strlen(body), body, MHD_RESPMEM_MUST_FREE),
		"application/json; charset=utf-8", "public, max-age=300");
}

/* The cover's bytes, straight from the track's file by sendfile. */
static enum MHD_Result http_cover(struct http_server *srv,
				  struct MHD_Connection *conn, int64_t id)
{
	struct visuals *v = http_visuals(srv, id);
	struct catalog_track *t = malloc(sizeof(*t));
	int fd = -1;
	struct stat st;
	uint8_t head[16];
	enum MHD_Result ret;

	if (!v || !t || !v->has_cover || v->cover_length == 0 ||
	    catalog_track_get(srv->cat, id, t) < 0 || t->bad_reason[0])
		goto none;
	fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    v->cover_offset < 0 ||
	    (uint64_t)st.st_size < (uint64_t)v->cover_offset + v->cover_length)
		goto none;
	/* The file may have changed since it was analysed (the next scan
	 * says so): serve only what still starts as the recorded image. */
	size_t n = v->cover_length < sizeof(head) ? v->cover_length :
		   sizeof(head);
	const char *type;
	if (pread(fd, head, n, (off_t)v->cover_offset) != (ssize_t)n ||
	    !(type = visuals_image_type(head, n)) ||
	    strcmp(type, v->cover_type) != 0)
		goto none;
	struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(
		v->cover_length, fd, (uint64_t)v->cover_offset);
	if (r)
		fd = -1; /* the response's now */
	ret = http_queue_file(conn, r, type, "public, max-age=300");
	goto out;
none:
	ret = http_error(conn, MHD_HTTP_NOT_FOUND,
			 "404 no cover for this track\n");
out:
	if (fd >= 0)
		close(fd);
	free(t);
	free(v);
	return ret;
}

/* One of the page's fixed files from the www directory. */
static enum MHD_Result http_page(struct http_server *srv,
				 struct MHD_Connection *conn,
				 const struct http_page_file *f)
{
	char path[PATH_MAX + 64];
	struct stat st;
	int fd = -1;

	if (!srv->www[0])
		goto none;
	snprintf(path, sizeof(path), "%s/%s", srv->www, f->name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > HTTP_PAGE_FILE_MAX)
		goto none;
	struct MHD_Response *r = MHD_create_response_from_fd(
		(uint64_t)st.st_size, fd);
	if (!r)
		goto none;
	/* No script, style or connection from elsewhere: the page works
	 * offline and nothing injected could load more. The stream comes
	 * from Icecast, which is another origin. */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; "
				"media-src *; object-src 'none'; "
				"base-uri 'none'; frame-ancestors 'self'");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	return http_queue_file(conn, r, f->type, "no-cache");
none:
	if (fd >= 0)
		close(fd);
	return http_error(conn, MHD_HTTP_NOT_FOUND, srv->www[0] ?
			  "404 not found\n" :
			  "404 no listener page ([http] www)\n");
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn,
				    const char *url, const char *method,
				    const char *version,
				    const char *upload_data,
				    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	char *body;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "405 method not allowed: GET and HEAD "
				  "only\n");
	if (*upload_data_size != 0)
		return http_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				  "413 a GET has no body\n");
	int64_t arg = 0;
	switch (http_route(url, strlen(url), &arg)) {
	case HTTP_ROUTE_NOWPLAYING:
		body = nowplaying_json(srv->np, http_wall_s());
		if (!body)
			return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "503 out of memory\n");
		return http_queue(conn, MHD_HTTP_OK,
				  "application/json; charset=utf-8", body,
				  true);
	case HTTP_ROUTE_METRICS:
		body = nowplaying_metrics_text(srv->np);
		if (!body)
			return http_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "503 out of memory\n");
		return http_queue(conn, MHD_HTTP_OK,
				  "text/plain; version=0.0.4; charset=utf-8",
				  body, true);
	case HTTP_ROUTE_EVENTS:
		return http_events(srv, conn);
	case HTTP_ROUTE_WAVEFORM:
		return http_waveform(srv, conn, arg);
	case HTTP_ROUTE_COVER:
		return http_cover(srv, conn, arg);
	case HTTP_ROUTE_PAGE:
		return http_page(srv, conn, &http_page_files[arg]);
	case HTTP_ROUTE_NONE:
		break;
	}
	return http_error(conn, MHD_HTTP_NOT_FOUND, "404 not found\n");
}

static size_t http_mhd_unescape(void *cls, struct MHD_Connection *conn,
				char *s)
{
	(void)cls;
	(void)conn;
	return http_unescape(s);
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_debug("http: %s", line);
}

/* ------------------------------------------------------------------ */
/* The pump.                                                           */

static void http_resume_all(struct http_server *srv)
{
	for (struct http_client *c = srv->clients; c; c = c->next)
		if (c->suspended) {
			c->suspended = false;
			MHD_resume_connection(c->conn);
		}
}

static void *http_pump(void *arg)
{
	struct http_server *srv = arg;
	uint64_t seen = nowplaying_last_event_id(srv->np);
	double next_beat = http_mono_s() + HTTP_HEARTBEAT_S;

	while (!atomic_load(&srv->stop)) {
		nowplaying_wait(srv->np, seen, HTTP_PUMP_MS);
		double now = http_mono_s();
		nowplaying_tick(srv->np, now);
		uint64_t last = nowplaying_last_event_id(srv->np);
		bool beat = now >= next_beat;
		if (beat)
			next_beat = now + HTTP_HEARTBEAT_S;
		if (last == seen && !beat)
			continue;
		seen = last;
		pthread_mutex_lock(&srv->lock);
		if (beat)
			srv->heartbeat++;
		http_resume_all(srv);
		pthread_mutex_unlock(&srv->lock);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle.                                                         */

struct http_server *http_create(const struct http_params *params,
				struct nowplaying *np, char *err,
				size_t err_size)
{
	struct sockaddr_storage addr;
	unsigned addr_len;
	struct http_server *srv;
	int one = 1;

	if (http_parse_listen(params->listen, &addr, &addr_len) < 0 ||
	    params->max_clients < 1 || params->max_clients > 65535) {
		snprintf(err, err_size, "http: bad listen address or "
			 "max_clients");
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, err_size, "http: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	srv->np = np;
	srv->max_clients = params->max_clients;
	srv->cat = params->cat;
	snprintf(srv->www, sizeof(srv->www), "%s",
		 params->www ? params->www : "");
	snprintf(srv->listen, sizeof(srv->listen), "%s", params->listen);
	pthread_mutex_init(&srv->lock, NULL);
	atomic_init(&srv->stop, false);
	srv->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
			 SOCK_NONBLOCK, 0);
	if (srv->fd < 0)
		goto fail;
	/* A restart must not wait for the last run's TIME_WAIT; a port
	 * another program listens on still fails. */
	setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr.ss_family == AF_INET6)
		setsockopt(srv->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			   sizeof(one));
	if (bind(srv->fd, (struct sockaddr *)&addr, addr_len) < 0 ||
	    listen(srv->fd, HTTP_BACKLOG) < 0)
		goto fail;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(srv->fd, (struct sockaddr *)&bound, &blen) == 0)
		srv->port = ntohs(bound.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&bound)->sin6_port :
			((struct sockaddr_in *)&bound)->sin_port);
	return srv;
fail:;
	int e = errno;
	snprintf(err, err_size, "http: cannot listen on %s: %s",
		 params->listen, strerror(e));
	http_destroy(srv);
	errno = e;
	return NULL;
}

unsigned http_port(const struct http_server *srv)
{
	return srv->port;
}

int http_start(struct http_server *srv)
{
	srv->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, http_handler, srv,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->fd,
		MHD_OPTION_CONNECTION_LIMIT, srv->max_clients,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, http_mhd_unescape, NULL,
		MHD_OPTION_END);
	if (!srv->daemon) {
		log_error("http: cannot start the server on %s", srv->listen);
		return -EIO;
	}
	srv->fd = -1; /* the daemon's now */
	int rc = pthread_create(&srv->pump, NULL, http_pump, srv);
	if (rc != 0) {
		log_error("http: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	srv->pump_started = true;
	log_info("http: listening on http://%s/ (the listener page, "
		 "/api/nowplaying, /api/events, /metrics; at most %u "
		 "clients)", srv->listen, srv->max_clients);
	if (srv->www[0]) {
		char index[PATH_MAX + 16];
		snprintf(index, sizeof(index), "%s/index.html", srv->www);
		if (access(index, R_OK) != 0)
			log_warning("http: no listener page: %s: %s", index,
				    strerror(errno));
	}
	return 0;
}

void http_destroy(struct http_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stop, true);
	if (srv->pump_started)
		pthread_join(srv->pump, NULL);
	if (srv->daemon) {
		pthread_mutex_lock(&srv->lock);
		srv->stopping = true;
		http_resume_all(srv);
		pthread_mutex_unlock(&srv->lock);
		MHD_stop_daemon(srv->daemon);
	}
	if (srv->fd >= 0)
		close(srv->fd);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
