/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fetch — bounded HTTP(S) GETs with libcurl. See fetch.h for the limits and
 * the errors.
 *
 * The size cap is enforced twice: CURLOPT_MAXFILESIZE_LARGE refuses a body
 * whose announced length is too large before a byte is stored, and the
 * write callbacks count what really arrives (a chunked body, or a server
 * that lies about its length). A resumed download asks for the rest with
 * CURLOPT_RESUME_FROM_LARGE; whether the server honoured it is known only
 * from the status of the response, so the file callback looks at it before
 * writing the first byte: 206 appends, 200 starts the file over.
 */
#include "autoconfig.h"

#include "fetch.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_USER_AGENT PACKAGE_NAME "/" PACKAGE_VERSION

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static int fetch_init_rc;

static void fetch_init_once(void)
{
	fetch_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ?
			0 : -EIO;
}

int fetch_init(void)
{
	pthread_once(&fetch_once, fetch_init_once);
	return fetch_init_rc;
}

void fetch_limits_default(struct fetch_limits *l, int64_t max_bytes)
{
	l->connect_timeout_s = 10;
	l->low_speed_bytes = 1000;
	l->low_speed_time_s = 30;
	l->total_timeout_s = 0;
	l->max_redirects = 5;
	l->max_bytes = max_bytes;
}

/* What a transfer writes to: memory or a file. */
struct sink {
	CURL *curl;
	int64_t max_bytes;
	int64_t got;            /* body bytes this transfer */
	bool too_big;
	bool write_failed;
	atomic_bool *stop;

	/* memory */
	char *buf;
	size_t len, cap;

	/* file */
	int fd;
	int64_t offset;         /* bytes already in the file */
	bool checked;           /* status looked at before the first byte */
	bool resumed;
};

static int progress_cb(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct sink *s = ctx;
	return s->stop && atomic_load(s->stop) ? 1 : 0;
}

static size_t memory_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if ((int64_t)(s->len + n) > s->max_bytes) {
		s->too_big = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *bigger = realloc(s->buf, cap);
		if (!bigger) {
			s->write_failed = true;
			return 0;
		}
		s->buf = bigger;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	s->got += (int64_t)n;
	return n;
}

static size_t file_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if (!s->checked) {
		long status = 0;
		s->checked = true;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		if (s->offset > 0 && status == 206) {
			s->resumed = true;
		} else if (s->offset > 0) {
			/* The whole body again: start the file over. */
			if (ftruncate(s->fd, 0) != 0 ||
			    lseek(s->fd, 0, SEEK_SET) != 0) {
				s->write_failed = true;
				return 0;
			}
			s->offset = 0;
		}
	}
	if (s->offset + s->got + (int64_t)n > s->max_bytes) {
		s->too_big = true;
		return 0;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = write(s->fd, data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->write_failed = true;
			return 0;
		}
		done += (size_t)w;
	}
	s->got += (int64_t)n;
	return n;
}

static CURL *handle_create(const char *url, const struct fetch_limits *l,
			   struct sink *s, char *errbuf)
{
	CURL *c = curl_easy_init();
	int64_t cap = l->max_bytes - s->offset;

	if (!c)
		return NULL;
	s->curl = c;
	errbuf[0] = '\0';
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK) {
		curl_easy_cleanup(c);
		errno = EINVAL;
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, l->max_redirects);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, l->connect_timeout_s);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, l->low_speed_bytes);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, l->low_speed_time_s);
	if (l->total_timeout_s > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, l->total_timeout_s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, FETCH_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)(cap > 0 ? cap : 1));
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	return c;
}

/* Maps the transfer's outcome to an errno and a reason. */
static int transfer_result(CURL *c, CURLcode code, const struct sink *s,
			   const char *errbuf, struct fetch_result *res,
			   char *err, size_t err_size)
{
	long status = 0;
	char *type = NULL;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	if (res) {
		res->http_status = status;
		snprintf(res->content_type, sizeof(res->content_type), "%s",
			 type ? type : "");
		res->bytes = s->got;
		res->resumed = s->resumed;
	}
	if (s->too_big || code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, err_size, "larger than the limit of %lld bytes",
			 (long long)s->max_bytes);
		return -EFBIG;
	}
	if (code == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, err_size, "stopped");
		return -ECANCELED;
	}
	if (s->write_failed) {
		snprintf(err, err_size, "cannot store the download: %s",
			 s->fd >= 0 ? "write failed" : "out of memory");
		return s->fd >= 0 ? -EIO : -ENOMEM;
	}
	if (code != CURLE_OK) {
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(code);
		snprintf(err, err_size, "%s", why);
		switch (code) {
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			return -EINVAL;
		case CURLE_OPERATION_TIMEDOUT:
			return -ETIMEDOUT;
		case CURLE_COULDNT_CONNECT:
			return -ECONNREFUSED;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return -EHOSTUNREACH;
		case CURLE_TOO_MANY_REDIRECTS:
			return -EPROTO;
		case CURLE_OUT_OF_MEMORY:
			return -ENOMEM;
		default:
			return -EIO;
		}
	}
	if (status >= 400) {
		snprintf(err, err_size, "HTTP %ld", status);
		if (status == 404 || status == 410)
			return -ENOENT;
		if (status == 401 || status == 403)
			return -EACCES;
		return -EPROTO;
	}
	if (status >= 300) {
		snprintf(err, err_size, "HTTP %ld (a redirect without a "
			 "target)", status);
		return -EPROTO;
	}
	err[0] = '\0';
	return 0;
}

int fetch_memory(const char *url, const struct fetch_limits *l,
		 atomic_bool *stop, char **buf, size_t *len,
		 struct fetch_result *res, char *err, size_t err_size)
{
	char errbuf[CURL_ERROR_SIZE];
	struct sink s = { .max_bytes = l->max_bytes, .stop = stop, .fd = -1 };
	CURL *c;
	int rc;

	*buf = NULL;
	*len = 0;
	if (fetch_init() < 0) {
		snprintf(err, err_size, "libcurl did not initialise");
		return -EIO;
	}
	c = handle_create(url, l, &s, errbuf);
	if (!c) {
		rc = errno == EINVAL ? -EINVAL : -ENOMEM;
		snprintf(err, err_size, "%s", rc == -EINVAL ? "malformed URL" :
			 "out of memory");
		return rc;
	}
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, memory_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	rc = transfer_result(c, curl_easy_perform(c), &s, errbuf, res, err,
			     err_size);
	curl_easy_cleanup(c);
	if (rc < 0 || !s.buf) {
		free(s.buf);
		if (rc == 0) {
			/* An empty body. */
			if (!(*buf = calloc(1, 1))) {
				snprintf(err, err_size, "out of memory");
				return -ENOMEM;
			}
		}
		return rc;
	}
	*buf = s.buf;
	*len = s.len;
	return 0;
}

int fetch_file(const char *url, const char *path,
	       const struct fetch_limits *l, atomic_bool *stop,
	       struct fetch_result *res, char *err, size_t err_size)
{
	char errbuf[CURL_ERROR_SIZE];
	struct sink s = { .max_bytes = l->max_bytes, .stop = stop, .fd = -1 };
	struct stat st;
	CURL *c = NULL;
	int rc;

	if (fetch_init() < 0) {
		snprintf(err, err_size, "libcurl did not initialise");
		return -EIO;
	}
	s.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
		    0644);
	if (s.fd < 0) {
		rc = -errno;
		snprintf(err, err_size, "cannot create the file: %s",
			 strerror(errno));
		return rc;
	}
	if (fstat(s.fd, &st) == 0 && S_ISREG(st.st_mode))
		s.offset = st.st_size;
	if (s.offset >= l->max_bytes) {
		/* Left from an earlier limit, or a file that never ends. */
		if (ftruncate(s.fd, 0) != 0) {
			rc = -errno;
			snprintf(err, err_size, "cannot truncate the file: %s",
				 strerror(errno));
			goto out;
		}
		s.offset = 0;
	}
	c = handle_create(url, l, &s, errbuf);
	if (!c) {
		rc = errno == EINVAL ? -EINVAL : -ENOMEM;
		snprintf(err, err_size, "%s", rc == -EINVAL ? "malformed URL" :
			 "out of memory");
		goto out;
	}
	if (s.offset > 0)
		curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE,
				 (curl_off_t)s.offset);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, file_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	CURLcode code = curl_easy_perform(c);
	if (code == CURLE_RANGE_ERROR || code == CURLE_HTTP_RETURNED_ERROR ||
	    (code == CURLE_OK && s.offset > 0 && !s.checked)) {
		/* 416 and friends: what we hold does not fit the server's
		 * file any more. Start over, once. */
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status == 416 || code == CURLE_RANGE_ERROR) {
			if (ftruncate(s.fd, 0) != 0) {
				rc = -errno;
				snprintf(err, err_size, "cannot truncate the "
					 "file: %s", strerror(errno));
				goto out;
			}
			s.offset = 0;
			s.got = 0;
			curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE,
					 (curl_off_t)0);
			curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
					 (curl_off_t)l->max_bytes);
			code = curl_easy_perform(c);
		}
	}
	rc = transfer_result(c, code, &s, errbuf, res, err, err_size);
	if (rc == 0 && s.got == 0 && s.offset == 0) {
		snprintf(err, err_size, "empty body");
		rc = -EPROTO;
	}
	/* An error page is not part of the track. */
	if (rc < 0 && s.checked && !s.resumed && s.got > 0 && res &&
	    res->http_status >= 400) {
		if (ftruncate(s.fd, s.offset) != 0)
			rc = -EIO;
	}
out:
	if (c)
		curl_easy_cleanup(c);
	if (close(s.fd) != 0 && rc == 0) {
		rc = -EIO;
		snprintf(err, err_size, "cannot store the download: %s",
			 strerror(errno));
	}
	return rc;
}

void fetch_url_for_log(const char *url, char *out, size_t size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(out, size, "(bad URL)");
	} else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &path, 0);
		snprintf(out, size, "%s://%s%s%s%s", scheme, host,
			 port ? ":" : "", port ? port : "", path ? path : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}
