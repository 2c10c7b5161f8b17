/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * listeners — Icecast's listener count for the station's mounts. See
 * listeners.h. One GET per distinct server of the outputs per period; the
 * count is the sum over servers, or -1 when none answered.
 */
#include "autoconfig.h"

#include "listeners.h"

#include "fetch.h"
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct listeners_server {
	char url[CONFIG_URL_MAX];      /* .../status-json.xsl */
	const char *mounts[CONFIG_OUTPUTS_MAX];
	size_t n_mounts;
	bool warned;
};

struct listeners {
	struct nowplaying *np;
	char mounts[CONFIG_OUTPUTS_MAX][CONFIG_STRING_MAX];
	struct listeners_server servers[CONFIG_OUTPUTS_MAX];
	size_t n_servers;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;           /* CLOCK_MONOTONIC */
};

/* The path of a listenurl ("http://host:port/mount" -> "/mount"). */
static const char *listeners_url_path(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p = strchr(p, '/');
	return p ? p : "";
}

static long listeners_source(json_t *src, const char *const *mounts,
			     size_t n_mounts)
{
	if (!json_is_object(src))
		return 0;
	const char *url = json_string_value(json_object_get(src,
							    "listenurl"));
	json_t *n = json_object_get(src, "listeners");
	if (!url || !json_is_integer(n) || json_integer_value(n) < 0)
		return 0;
	const char *path = listeners_url_path(url);
	for (size_t i = 0; i < n_mounts; i++)
		if (strcmp(path, mounts[i]) == 0)
			return (long)json_integer_value(n);
	return 0;
}

long listeners_parse(const char *json, size_t len,
		     const char *const *mounts, size_t n_mounts)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	long total = 0;

	json_t *stats = json_object_get(root, "icestats");
	if (!json_is_object(stats)) {
		json_decref(root);
		return -EINVAL;
	}
	json_t *src = json_object_get(stats, "source");
	if (json_is_array(src)) {
		size_t i;
		json_t *s;
		json_array_foreach(src, i, s)
			total += listeners_source(s, mounts, n_mounts);
	} else if (src) {
		total = listeners_source(src, mounts, n_mounts);
	}
	json_decref(root);
	return total;
}

static void listeners_poll(struct listeners *l)
{
	struct fetch_limits lim;
	long total = -1;

	fetch_limits_default(&lim, LISTENERS_BODY_MAX);
	lim.connect_timeout_s = 2;
	lim.total_timeout_s = 5;
	lim.max_redirects = 0;
	for (size_t i = 0; i < l->n_servers && !atomic_load(&l->stop); i++) {
		struct listeners_server *s = &l->servers[i];
		char err[FETCH_ERROR_MAX];
		char *body = NULL;
		size_t len = 0;
		int rc = fetch_memory(s->url, &lim, &l->stop, &body, &len,
				      NULL, err, sizeof(err));
		long n = rc == 0 ? listeners_parse(body, len, s->mounts,
						   s->n_mounts) : -EINVAL;
		free(body);
		if (n < 0) {
			if (!s->warned && rc != -ECANCELED) {
				char u[CONFIG_URL_MAX];
				fetch_url_for_log(s->url, u, sizeof(u));
				log_info("listeners: %s: %s (listener count "
					 "unknown until it answers)", u,
					 rc < 0 ? err : "not a status "
					 "document");
				s->warned = true;
			}
			continue;
		}
		s->warned = false;
		total = total < 0 ? n : total + n;
	}
	nowplaying_set_listeners(l->np, total);
}

static void *listeners_main(void *arg)
{
	struct listeners *l = arg;

	while (!atomic_load(&l->stop)) {
		listeners_poll(l);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += LISTENERS_PERIOD_S;
		pthread_mutex_lock(&l->lock);
		while (!atomic_load(&l->stop) &&
		       pthread_cond_timedwait(&l->wake, &l->lock, &ts) == 0)
			;
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

struct listeners *listeners_create(const struct config *cfg,
				   struct nowplaying *np)
{
	struct listeners *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->np = np;
	atomic_init(&l->stop, false);
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		const struct config_output *o = &cfg->outputs[i];
		char url[CONFIG_URL_MAX];
		snprintf(l->mounts[i], sizeof(l->mounts[i]), "%s", o->mount);
		snprintf(url, sizeof(url), "%s://%s:%d/status-json.xsl",
			 o->tls ? "https" : "http", o->host, o->port);
		size_t j = 0;
		while (j < l->n_servers && strcmp(l->servers[j].url, url) != 0)
			j++;
		if (j == l->n_servers) {
			snprintf(l->servers[j].url, sizeof(l->servers[j].url),
				 "%s", url);
			l->n_servers++;
		}
		struct listeners_server *s = &l->servers[j];
		s->mounts[s->n_mounts++] = l->mounts[i];
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wake, &ca);
	pthread_condattr_destroy(&ca);
	return l;
}

int listeners_start(struct listeners *l)
{
	int rc = pthread_create(&l->thread, NULL, listeners_main, l);
	if (rc != 0)
		return -rc;
	l->started = true;
	return 0;
}

void listeners_destroy(struct listeners *l)
{
	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		atomic_store(&l->stop, true);
		pthread_mutex_unlock(&l->lock);
		pthread_cond_signal(&l->wake);
		pthread_join(l->thread, NULL);
	}
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
