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

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	switch (http_route(url, strlen(url))) {
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
	log_info("http: listening on http://%s/ (/api/nowplaying, "
		 "/api/events, /metrics; at most %u clients)", srv->listen,
		 srv->max_clients);
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
