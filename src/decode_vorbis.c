/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode_vorbis — the Ogg Vorbis backend (libvorbisfile), with Vorbis
 * comments. See decode.h for the contract and decode_internal.h for the
 * backend operations.
 */
#include "autoconfig.h"

#include "decode.h"
#include "decode_internal.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t vorbis_read_cb(void *ptr, size_t size, size_t nmemb,
			     void *datasource)
{
	struct decoder *dec = datasource;
	size_t want = size * nmemb, got = 0;

	if (size == 0)
		return 0;
	while (got < want) {
		ssize_t r = read(dec->fd, (char *)ptr + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return got / size; /* errno tells vorbisfile */
		if (r == 0)
			break;
		got += (size_t)r;
	}
	errno = 0; /* vorbisfile takes errno != 0 with a short read as error */
	return got / size;
}

static int vorbis_seek_cb(void *datasource, ogg_int64_t offset, int whence)
{
	struct decoder *dec = datasource;
	return lseek(dec->fd, (off_t)offset, whence) < 0 ? -1 : 0;
}

static long vorbis_tell_cb(void *datasource)
{
	struct decoder *dec = datasource;
	return (long)lseek(dec->fd, 0, SEEK_CUR);
}

/* True when the first Ogg page begins a Vorbis identification packet. */
static bool ogg_starts_vorbis(int fd)
{
	unsigned char b[64];
	ssize_t n = decode_read_at(fd, b, sizeof(b), 0);
	if (n < 27)
		return false;
	size_t body = 27 + (size_t)b[26];
	return body + 7 <= (size_t)n && memcmp(b + body, "\x01vorbis", 7) == 0;
}

static int decode_open_vorbis(struct decoder *dec, char *err, size_t err_size)
{
	static const ov_callbacks callbacks = {
		.read_func = vorbis_read_cb,
		.seek_func = vorbis_seek_cb,
		.close_func = NULL, /* the decoder closes its fd */
		.tell_func = vorbis_tell_cb,
	};
	int e;

	if (lseek(dec->fd, 0, SEEK_SET) < 0) {
		snprintf(err, err_size, "seek: %s", strerror(errno));
		return -EIO;
	}
	e = ov_open_callbacks(dec, &dec->vf, NULL, 0, callbacks);
	if (e != 0) {
		switch (e) {
		case OV_EREAD:
			snprintf(err, err_size, "read error");
			return -EIO;
		case OV_ENOTVORBIS:
			/* Also what vorbisfile says when the headers after
			 * the identification packet are cut off. */
			if (ogg_starts_vorbis(dec->fd)) {
				snprintf(err, err_size,
					 "truncated: incomplete Vorbis headers");
				return -EINVAL;
			}
			snprintf(err, err_size,
				 "Ogg stream is not Vorbis (only Ogg Vorbis is supported)");
			return -ENOTSUP;
		case OV_EVERSION:
			snprintf(err, err_size, "unsupported Vorbis version");
			return -ENOTSUP;
		case OV_EBADHEADER:
			snprintf(err, err_size, "truncated: bad Vorbis headers");
			return -EINVAL;
		default:
			snprintf(err, err_size,
				 "truncated: incomplete Vorbis headers");
			return -EINVAL;
		}
	}
	dec->vf_open = true;

	vorbis_info *vi = ov_info(&dec->vf, -1);
	if (!vi) {
		snprintf(err, err_size, "truncated: no Vorbis stream info");
		return -EINVAL;
	}
	dec->info.format = DECODE_FORMAT_VORBIS;
	dec->info.source_rate_hz = vi->rate > INT32_MAX ? 0 : (int)vi->rate;
	dec->info.source_channels = vi->channels;
	double total = ov_time_total(&dec->vf, -1);
	if (total > 0)
		dec->info.duration_s = total;
	if (vi->bitrate_nominal > 0) {
		dec->info.bitrate_kbps = (int)(vi->bitrate_nominal / 1000);
	} else {
		long avg = ov_bitrate(&dec->vf, -1);
		if (avg > 0)
			dec->info.bitrate_kbps = (int)(avg / 1000);
	}

	vorbis_comment *vc = ov_comment(&dec->vf, -1);
	if (vc) {
		decode_tag_set(dec->info.artist, vorbis_comment_query(vc, "ARTIST", 0));
		decode_tag_set(dec->info.title, vorbis_comment_query(vc, "TITLE", 0));
		decode_tag_set(dec->info.album, vorbis_comment_query(vc, "ALBUM", 0));
		dec->info.has_cover =
			vorbis_comment_query(vc, "METADATA_BLOCK_PICTURE", 0) ||
			vorbis_comment_query(vc, "COVERART", 0);
	}
	return 0;
}

static void fill_vorbis(struct decoder *dec)
{
	float **planes;
	int link = 0, left, right;
	char why[DECODE_ERROR_MAX];
	long n = ov_read_float(&dec->vf, &planes, DECODE_CHUNK_FRAMES, &link);

	if (n == OV_HOLE)
		return; /* a gap in the data; vorbisfile carries on after it */
	if (n == 0) {
		dec->source_done = true;
		return;
	}
	if (n < 0) {
		snprintf(why, sizeof(why), "vorbis: %s",
			 n == OV_EBADLINK ? "corrupt stream" : "decode error");
		decode_fail(dec, why);
		return;
	}
	vorbis_info *vi = ov_info(&dec->vf, link);
	if (!vi || vi->rate != dec->info.source_rate_hz || vi->channels < 1) {
		snprintf(why, sizeof(why),
			 "sample rate changes mid-stream to %ld Hz",
			 vi ? vi->rate : 0L);
		decode_fail(dec, why);
		return;
	}
	decode_stereo_pair(DECODE_FORMAT_VORBIS, vi->channels, &left, &right);
	for (long i = 0; i < n; i++) {
		dec->pcm[2 * i] = decode_finite_or_zero(planes[left][i]);
		dec->pcm[2 * i + 1] = decode_finite_or_zero(planes[right][i]);
	}
	dec->pcm_frames = (size_t)n;
}

static int vorbis_backend_open(struct decoder *dec,
			       const struct decode_sniffed *sniffed, char *err,
			       size_t err_size)
{
	return decode_open_vorbis(dec, err, err_size);
}

static void vorbis_backend_close(struct decoder *dec)
{
	if (dec->vf_open)
		ov_clear(&dec->vf);
	dec->vf_open = false;
}

const struct decode_backend decode_backend_vorbis = {
	.name = "vorbisfile",
	.open = vorbis_backend_open,
	.fill = fill_vorbis,
	.close = vorbis_backend_close,
};
