/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze_file — analyze_file(): decode a file once (decode.h) and stream
 * it through an analyzer. Kept apart from analyze.c so that the analysis of
 * PCM links without the decoders.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "decode.h"

#define FILE_BLOCK_FRAMES 8192

int analyze_file(const char *path, const struct analysis_params *params,
		 struct analysis *out, char *err, size_t err_size)
{
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
	if (rc < 0)
		snprintf(reason, sizeof(reason), "analyze: %s", strerror(-rc));
out:
	if (rc < 0 && err && err_size)
		snprintf(err, err_size, "%s", reason);
	decode_close(dec);
	analyze_destroy(an);
	free(buf);
	return rc;
}
