/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encode — dispatch to the MP3 (encode_mp3.c) or Ogg Vorbis (encode_ogg.c)
 * backend, and the checks every backend shares. See encode.h.
 *
 * An encoder moves through two states: streaming, then finished (after
 * encode_finish(), or after a backend error, which leaves the codec state
 * unknown). A finished encoder refuses further work with -EPIPE; the output
 * makes a fresh encoder for a fresh stream.
 */
#include "autoconfig.h"

#include "encode.h"
#include "encode_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct encoder {
	const struct encode_ops *ops;
	void *state;
	bool finished;
};

struct encoder *encode_create(const struct encode_params *params,
			      char *err, size_t err_size)
{
	struct encoder *enc = NULL;
	int saved_errno = 0;
	char dummy[1];

	if (!err || err_size == 0) {
		err = dummy;
		err_size = sizeof(dummy);
	}
	err[0] = '\0';
	if (!params) {
		snprintf(err, err_size, "no encoder parameters");
		saved_errno = EINVAL;
		goto out;
	}
	enc = calloc(1, sizeof(*enc));
	if (!enc) {
		snprintf(err, err_size, "out of memory");
		saved_errno = ENOMEM;
		goto out;
	}
	switch (params->format) {
	case OUTPUT_FORMAT_MP3:
		enc->ops = &encode_mp3_ops;
		break;
	case OUTPUT_FORMAT_OGG:
		enc->ops = &encode_ogg_ops;
		break;
	default:
		snprintf(err, err_size, "unknown output format %d",
			 (int)params->format);
		saved_errno = EINVAL;
		goto out;
	}
	enc->state = enc->ops->create(params, err, err_size);
	if (!enc->state)
		saved_errno = errno ? errno : EINVAL;
out:
	if (saved_errno) {
		free(enc);
		errno = saved_errno;
		return NULL;
	}
	return enc;
}

void encode_destroy(struct encoder *enc)
{
	if (!enc)
		return;
	enc->ops->destroy(enc->state);
	free(enc);
}

/* Every entry point starts with an empty result, so that a caller that
 * ignores the return value never sends stale bytes. */
static int encode_check(struct encoder *enc, const unsigned char **out,
			size_t *out_len)
{
	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!enc || !out || !out_len)
		return -EINVAL;
	if (enc->finished)
		return -EPIPE;
	return 0;
}

int encode_write(struct encoder *enc, const float *frames, size_t n_frames,
		 const unsigned char **out, size_t *out_len)
{
	int rc = encode_check(enc, out, out_len);
	if (rc < 0)
		goto out;
	if ((!frames && n_frames > 0) || n_frames > ENCODE_FRAMES_MAX) {
		rc = -EINVAL;
		goto out;
	}
	if (n_frames == 0)
		goto out;
	rc = enc->ops->write(enc->state, frames, n_frames, out, out_len);
	if (rc < 0 && rc != -EINVAL)
		enc->finished = true;
out:
	return rc;
}

int encode_track(struct encoder *enc, const char *artist, const char *title,
		 const unsigned char **out, size_t *out_len)
{
	int rc = encode_check(enc, out, out_len);
	if (rc < 0)
		goto out;
	rc = enc->ops->track(enc->state, artist ? artist : "",
			     title ? title : "", out, out_len);
	if (rc < 0 && rc != -EINVAL)
		enc->finished = true;
out:
	return rc;
}

int encode_finish(struct encoder *enc, const unsigned char **out,
		  size_t *out_len)
{
	int rc = encode_check(enc, out, out_len);
	if (rc < 0)
		goto out;
	rc = enc->ops->finish(enc->state, out, out_len);
	enc->finished = true;
out:
	return rc;
}

int encode_nominal_bitrate(const struct encoder *enc)
{
	if (!enc)
		return -EINVAL;
	return enc->ops->nominal_bitrate(enc->state);
}
