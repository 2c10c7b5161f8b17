/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fetch — one HTTP(S) GET with libcurl, bounded in every way: into memory
 * (a feed document) or into a file (a track, resumed where the server
 * allows it).
 *
 * Every transfer has a connect timeout, a low-speed limit (a server that
 * sends less than low_speed_bytes per second for low_speed_time_s is given
 * up), an optional total timeout, at most max_redirects redirects, only
 * http and https (also after a redirect), TLS peers and host names verified
 * against the system's CA store, and a size cap: a body longer than
 * max_bytes ends the transfer with -EFBIG, whether or not the server
 * announced its length. A stop flag (may be NULL) ends a transfer within
 * about a second with -ECANCELED.
 *
 * Errors: 0 or a negative errno, with a one-line reason in err that never
 * holds the URL (URLs may carry credentials; the caller names the feed):
 *   -EINVAL      the URL is malformed or not http/https
 *   -ENOENT      HTTP 404 or 410
 *   -EACCES      HTTP 401 or 403
 *   -EPROTO      any other HTTP status >= 400, or too many redirects
 *   -EFBIG       the body is larger than max_bytes
 *   -ETIMEDOUT   connect timeout, total timeout or the low-speed limit
 *   -ECONNREFUSED, -EHOSTUNREACH  the server cannot be reached
 *   -ECANCELED   the stop flag was set
 *   -EIO         anything else (TLS failure, a write to the file failed)
 *   -ENOMEM
 *
 * Thread rules: any thread may call; each call uses its own curl handle.
 * fetch_init() runs curl_global_init() once (pthread_once); every function
 * here calls it, and main() calls it before any thread starts so that the
 * global initialisation never races with another library.
 */
#ifndef FOREVERFM_FETCH_H
#define FOREVERFM_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FETCH_ERROR_MAX 256
#define FETCH_TYPE_MAX 128

struct fetch_limits {
	long connect_timeout_s;   /* 10 */
	long low_speed_bytes;     /* 1000 bytes/s ... */
	long low_speed_time_s;    /* ... for 30 s ends the transfer */
	long total_timeout_s;     /* 0: none (a long track may take long) */
	long max_redirects;       /* 5 */
	int64_t max_bytes;        /* body size cap */
};

struct fetch_result {
	long http_status;               /* the last response's, 0 if none */
	char content_type[FETCH_TYPE_MAX]; /* "" when not given */
	int64_t bytes;                  /* body bytes received this time */
	bool resumed;                   /* a Range request was honoured */
};

/* The defaults above, with max_bytes = MAX_BYTES. */
void fetch_limits_default(struct fetch_limits *l, int64_t max_bytes);

/* curl_global_init(), once per process. Returns 0 or -EIO. */
int fetch_init(void);

/* GETs URL into a new NUL-terminated buffer (*buf, freed by the caller
 * with free(); *len excludes the NUL). Accepts gzip/deflate encoding
 * (the cap applies to the decoded bytes). On error *buf is NULL. */
int fetch_memory(const char *url, const struct fetch_limits *l,
		 atomic_bool *stop, char **buf, size_t *len,
		 struct fetch_result *res, char *err, size_t err_size);

/* GETs URL into PATH. When PATH exists and is not empty, asks for the
 * rest (Range: bytes=SIZE-) and appends; a server that answers with the
 * whole body (200) has the file started over. The file is left as it is
 * on error (a later call resumes it); the caller removes it when it gives
 * up. The cap counts the whole file, resumed part included. RES may be
 * NULL. */
int fetch_file(const char *url, const char *path,
	       const struct fetch_limits *l, atomic_bool *stop,
	       struct fetch_result *res, char *err, size_t err_size);

/* Writes URL into out without its query string, user info and fragment
 * ("https://host/path"), for log lines; "(bad URL)" when it cannot be
 * parsed. */
void fetch_url_for_log(const char *url, char *out, size_t size);

#endif
