/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_config — libFuzzer target for the configuration loader.
 *
 * Each input is written to a memfd and loaded through its /proc path, the
 * way a real file is. Besides the sanitizers' own checks, it asserts what
 * callers rely on: a failed load leaves exactly one non-empty line in err
 * and sets errno; a successful one holds only valid values; and an inline
 * password that the input contains once, with a byte >= 0x80 so no fixed
 * message text can contain it, never appears in the error message.
 * Build and run with contrib/fuzz.sh (not part of make check).
 */
#include "autoconfig.h"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static size_t count(const uint8_t *hay, size_t n, const char *needle,
		    size_t m)
{
	size_t c = 0;
	for (size_t i = 0; m && i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			c++;
	return c;
}

/* The first inline "password = VALUE" whose value holds a byte >= 0x80 and
 * occurs once in the input, or 0. */
static size_t secret_of(const uint8_t *data, size_t size, char *out,
			size_t out_size)
{
	size_t i = 0;
	while (i < size) {
		size_t end = i;
		while (end < size && data[end] != '\n')
			end++;
		size_t p = i;
		while (p < end && (data[p] == ' ' || data[p] == '\t'))
			p++;
		if (end - p > 8 && memcmp(data + p, "password", 8) == 0) {
			p += 8;
			while (p < end && (data[p] == ' ' || data[p] == '\t'))
				p++;
			if (p < end && (data[p] == '=' || data[p] == ':')) {
				p++;
				while (p < end && (data[p] == ' ' ||
						   data[p] == '\t'))
					p++;
				size_t e = end;
				while (e > p && (data[e - 1] == ' ' ||
						 data[e - 1] == '\t' ||
						 data[e - 1] == '\r'))
					e--;
				bool high = false;
				for (size_t k = p; k < e; k++)
					if (data[k] >= 0x80)
						high = true;
				if (high && e - p >= 4 && e - p < out_size &&
				    !memchr(data + p, '\0', e - p) &&
				    count(data, size, (const char *)data + p,
					  e - p) == 1) {
					memcpy(out, data + p, e - p);
					out[e - p] = '\0';
					return e - p;
				}
			}
		}
		i = end + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERROR_MAX];
	char secret[CONFIG_STRING_MAX];

	if (fd < 0) {
		fd = memfd_create("fuzz_config.ini", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	errno = 0;
	struct config *cfg = config_load(path, err, sizeof(err));
	if (!cfg) {
		size_t len = strnlen(err, sizeof(err));
		if (errno == 0 || len == 0 || len >= sizeof(err) ||
		    strchr(err, '\n') || strncmp(err, path, strlen(path)) != 0)
			abort();
		if (secret_of(data, size, secret, sizeof(secret)) &&
		    strstr(err, secret))
			abort();
		return 0;
	}
	if (cfg->n_outputs > CONFIG_OUTPUTS_MAX ||
	    cfg->n_library_paths > CONFIG_PATHS_MAX ||
	    !(cfg->min_duration_s < cfg->max_duration_s) ||
	    !(cfg->crossfade_s >= 0 && cfg->crossfade_s <= 30) ||
	    cfg->transition_bars < 4 || cfg->transition_bars > 64 ||
	    !(cfg->max_stretch >= 0.01 && cfg->max_stretch <= 0.5) ||
	    !(cfg->loudness_target_lufs >= -40 &&
	      cfg->loudness_target_lufs <= -5) ||
	    (cfg->stretch_engine != STRETCH_ENGINE_FASTER &&
	     cfg->stretch_engine != STRETCH_ENGINE_FINER) ||
	    cfg->icecast_port < 1 || cfg->icecast_port > 65535 ||
	    !cfg->database || cfg->database[0] == '\0')
		abort();
	for (size_t i = 0; i < cfg->n_library_paths; i++)
		if (!cfg->library_paths[i] || cfg->library_paths[i][0] == '\0')
			abort();
	if (cfg->n_outputs > 0 && cfg->icecast_password[0] == '\0')
		abort();
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		const struct config_output *o = &cfg->outputs[i];
		if (o->mount[0] != '/' || o->name[0] == '\0' ||
		    !isfinite(o->quality))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(o->mount, cfg->outputs[j].mount) == 0 ||
			    strcmp(o->name, cfg->outputs[j].name) == 0)
				abort();
		if (o->format == OUTPUT_FORMAT_OGG &&
		    (o->bitrate_kbps != 0 || o->quality < -0.1 ||
		     o->quality > 1.0))
			abort();
		if (o->format == OUTPUT_FORMAT_MP3 && o->bitrate_kbps == 0 &&
		    (o->quality < 0 || o->quality > 9))
			abort();
	}
	config_destroy(cfg);
	return 0;
}
