/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http — the station's status server ([http] listen): GET /api/nowplaying
 * (JSON), GET /api/events (Server-Sent Events), GET /metrics (Prometheus
 * text), GET /api/tracks/ID/waveform and /api/tracks/ID/cover (from the
 * catalog's visuals), and the listener page (GET /, from [http] www),
 * read-only, with libmicrohttpd.
 *
 * DESIGN
 * Threads: libmicrohttpd's one internal thread polls every connection
 * (epoll where the system has it) and runs the request callbacks; a second
 * thread, the pump, runs nowplaying_tick() (which turns heard tracks and
 * transitions into events), wakes the event streams when there is
 * something new and every HTTP_HEARTBEAT_S for a heartbeat comment. Neither
 * ever waits for the mixer or an output: they read nowplaying.h's copies.
 *
 * Event streams: a client's response is produced by a callback that copies
 * the events after the client's cursor (nowplaying_sse_next()); with
 * nothing to send it suspends the connection (MHD_suspend_connection), so
 * an idle client costs no CPU and no poll, only its socket and a few
 * hundred bytes. The pump resumes every suspended stream when an event or
 * a heartbeat is due. A client that reads slowly fills its own socket
 * buffer: libmicrohttpd stops asking the callback, the client's cursor
 * stays behind, and once the ring has moved past it the client gets a
 * `resync`, never the station's time. Last-Event-ID (the header, or
 * ?lastEventId=N for clients that cannot send headers) starts the cursor
 * there: what was missed is replayed from the ring.
 *
 * Limits: max_clients connections (more are refused by libmicrohttpd at
 * accept), HTTP_REQUEST_MAX bytes of request (headers, URL) per
 * connection (a larger one gets 413/414 or the connection closed), a
 * 30 s idle timeout for requests that are not event streams, GET and HEAD
 * only (anything else: 405 with "Allow: GET, HEAD"). URLs are matched
 * against a fixed list (http_route()); no file is named by a URL: the
 * page's files are the fixed list http_page_files[] (each a name inside
 * the www directory), and a cover is the byte range of a catalog track's
 * file that the analysis child recorded (visuals.h), sent only if it
 * still starts as an image of the recorded type.
 *
 * Listening: the socket is made and bound by http_create() itself, so an
 * address in use is one clear error at start ("http: cannot listen on
 * 127.0.0.1:8090: Address already in use"), and the station does not start.
 *
 * Thread rules: create/start/destroy from the controlling thread.
 */
#ifndef FOREVERFM_HTTP_H
#define FOREVERFM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nowplaying.h"

#define HTTP_HEARTBEAT_S 15
#define HTTP_REQUEST_MAX (16 * 1024)
#define HTTP_TIMEOUT_S 30
#define HTTP_URL_MAX 1024

/* What a request path names. */
enum http_route {
	HTTP_ROUTE_NONE,        /* 404 */
	HTTP_ROUTE_NOWPLAYING,  /* /api/nowplaying */
	HTTP_ROUTE_EVENTS,      /* /api/events */
	HTTP_ROUTE_METRICS,     /* /metrics */
	HTTP_ROUTE_WAVEFORM,    /* /api/tracks/ID/waveform */
	HTTP_ROUTE_COVER,       /* /api/tracks/ID/cover */
	HTTP_ROUTE_PAGE,        /* a file of the listener page */
};

/* The listener page's files: the URL, the file in the www directory, its
 * Content-Type. */
struct http_page_file {
	const char *url;
	const char *name;
	const char *type;
};
extern const struct http_page_file http_page_files[];
extern const size_t http_n_page_files;
/* A page file larger than this is not served (a wrong www directory). */
#define HTTP_PAGE_FILE_MAX (1024 * 1024)

/* The route of PATH (no query; LEN bytes, not NUL-terminated): exact
 * matches of the fixed list, a trailing slash allowed, and
 * /api/tracks/ID/waveform or /cover with ID 1 to 19 decimal digits (no
 * leading zero, at most INT64_MAX); NUL bytes, "..", and paths over
 * HTTP_URL_MAX name nothing. *ARG (may be NULL) receives the track id, or
 * the index in http_page_files[] for HTTP_ROUTE_PAGE. Pure; the fuzz
 * target's entry. */
enum http_route http_route(const char *path, size_t len, int64_t *arg);

/* Decodes %XX escapes of the NUL-terminated S in place, but for %00,
 * which stays as it is (a path with a NUL in it names nothing, and C
 * strings would cut it short). Returns the new length. Pure. */
size_t http_unescape(char *s);

/* An event id from Last-Event-ID or ?lastEventId: decimal digits only,
 * at most 19. Returns 0 and *id, or -EINVAL. */
int http_parse_event_id(const char *s, uint64_t *id);

/* Parses "HOST:PORT" (an IPv4 address, or [IPv6]; PORT 0..65535, 0 for
 * any free port, which the configuration refuses), or "PORT" alone for
 * 127.0.0.1:PORT (loopback by default), into a socket address. Returns 0, or -EINVAL. Used by config.c to check
 * [http] listen. */
struct sockaddr_storage;
int http_parse_listen(const char *s, struct sockaddr_storage *addr,
		      unsigned *addr_len);

struct catalog;
struct http_params {
	const char *listen;     /* "HOST:PORT" */
	unsigned max_clients;   /* 1..65535 */
	const char *www;        /* the page's directory; NULL or "": none */
	/* Borrowed, must outlive the server; NULL: no waveforms, covers
	 * (404). Read from the server's thread (catalog.h allows it). */
	struct catalog *cat;
};

struct http_server;

/* Makes and binds the listening socket (copies params; borrows np, which
 * must outlive the server). On failure returns NULL with errno set and a
 * one-line reason in err. */
struct http_server *http_create(const struct http_params *params,
				struct nowplaying *np, char *err,
				size_t err_size);

/* Starts serving. Returns 0 or a negative errno. */
int http_start(struct http_server *srv);

/* The port it listens on (useful with port 0). */
unsigned http_port(const struct http_server *srv);

/* Ends every event stream, stops the threads, frees; accepts NULL. */
void http_destroy(struct http_server *srv);

#endif
