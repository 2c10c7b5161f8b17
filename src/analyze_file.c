/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_file — analyze_file(): decode a file once (decode.h) and stream
 * it through an analyzer, and the track's visuals (visuals.h) from the same
 * PCM. Kept apart from analyze.c so that the analysis of PCM links without
 * the decoders.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "decode.h"
#include "log.h"
#include "visuals.h"

#define FILE_BLOCK_FRAMES 8192

int analyze_file(const char *path, const struct analysis_params *params,
		 struct analysis *out, char *err, size_t err_size)
{
	return analyze_file_visuals(path, params, out, NULL, err, err_size);
}

/* The colour and the cover's place, once the analysis is known. */
static void analyze_file_colour(const char *path, bool has_cover,
				const struct analysis *a, struct visuals *vis)
{
	if (has_cover) {
		int rc = visuals_cover_read(path, vis);
		if (rc < 0)
			log_debug("cover: %s: none read (%s); the colour comes "
				  "from the timbre", path, strerror(-rc));
	}
	if (vis->colour_from == VISUALS_COLOUR_NONE) {
		vis->colour = visuals_timbre_colour(a);
		vis->colour_from = VISUALS_COLOUR_TIMBRE;
	}
}

int analyze_file_visuals(const char *path,
			 const struct analysis_params *params,
			 struct analysis *out, struct visuals *vis,
			 char *err, size_t err_size)
{
	struct visuals_wave *wave = NULL;
	int rc = 0;
	struct decoder *dec = NULL;
	struct analyzer *an = NULL;
	float *buf = NULL;
	char reason[DECODE_ERROR_MAX] = "";
	size_t frames = 0;

	if (!path || !out) {
		snprintf(reason, sizeof(reason), "invalid arguments");
		rc = -EINVAL;
		goto out;
	}
	if (!(an = analyze_create(params))) {
		rc = -errno;
		snprintf(reason, sizeof(reason), "analyzer: %s", strerror(errno));
		goto out;
	}
	if (!(buf = malloc(FILE_BLOCK_FRAMES * DECODE_CHANNELS * sizeof(*buf)))) {
		rc = -ENOMEM;
		snprintf(reason, sizeof(reason), "out of memory");
		goto out;
	}
	if (!(dec = decode_open(path, reason, sizeof(reason)))) {
		rc = errno ? -errno : -EIO;
		if (!reason[0])
			snprintf(reason, sizeof(reason), "cannot decode");
		goto out;
	}
	if (vis) {
		memset(vis, 0, sizeof(*vis));
		vis->version = VISUALS_VERSION;
		if (!(wave = malloc(sizeof(*wave)))) {
			rc = -ENOMEM;
			snprintf(reason, sizeof(reason), "out of memory");
			goto out;
		}
		visuals_wave_begin(wave, DECODE_RATE);
	}
	for (;;) {
		ssize_t n = decode_read(dec, buf, FILE_BLOCK_FRAMES);
		if (n < 0) {
			rc = (int)n;
			snprintf(reason, sizeof(reason), "decode: %s",
				 strerror((int)-n));
			goto out;
		}
		if (n == 0)
			break;
		frames += (size_t)n;
		if (vis)
			visuals_wave_feed(wave, buf, (size_t)n,
					  DECODE_CHANNELS);
		if ((rc = analyze_feed(an, buf, (size_t)n)) < 0) {
			snprintf(reason, sizeof(reason), "analyze: %s",
				 strerror(-rc));
			goto out;
		}
	}
	if (frames == 0) {
		rc = -ENODATA;
		snprintf(reason, sizeof(reason), "no audio decoded");
		goto out;
	}
	rc = analyze_finish(an, out);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "analyze: %s", strerror(-rc));
		goto out;
	}
	if (vis) {
		visuals_wave_end(wave, vis);
		analyze_file_colour(path, decode_get_info(dec)->has_cover, out,
				    vis);
	}
out:
	if (rc < 0 && err && err_size)
		snprintf(err, err_size, "%s", reason);
	decode_close(dec);
	analyze_destroy(an);
	free(wave);
	free(buf);
	return rc;
}
