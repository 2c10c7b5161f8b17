/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode_sndfile — the FLAC and WAVE (RIFF, RF64) backend (libsndfile), with
 * their tags, and FLAC's PICTURE block for has_cover. See decode.h for the
 * contract and decode_internal.h for the backend operations.
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

/* True when the FLAC stream at byte offset at has a PICTURE metadata block
 * (type 6). Walks at most 64 block headers; libsndfile does not say. */
static bool flac_has_picture(int fd, off_t at)
{
	unsigned char h[4];

	at += 4; /* "fLaC" */
	for (int i = 0; i < 64; i++) {
		if (decode_read_at(fd, h, sizeof(h), at) != (ssize_t)sizeof(h))
			return false;
		if ((h[0] & 0x7f) == 6)
			return true;
		if (h[0] & 0x80)
			return false; /* the last block */
		at += 4 + ((off_t)h[1] << 16 | (off_t)h[2] << 8 | h[3]);
	}
	return false;
}

static int decode_open_sndfile(struct decoder *dec, enum decode_format format,
			       off_t flac_at, char *err, size_t err_size)
{
	SF_INFO sfi;
	struct stat st;

	memset(&sfi, 0, sizeof(sfi));
	if (lseek(dec->fd, 0, SEEK_SET) < 0) {
		snprintf(err, err_size, "seek: %s", strerror(errno));
		return -EIO;
	}
	dec->sf = sf_open_fd(dec->fd, SFM_READ, &sfi, SF_FALSE);
	if (!dec->sf) {
		snprintf(err, err_size, "%s: %s",
			 format == DECODE_FORMAT_FLAC ? "FLAC" : "WAV",
			 sf_strerror(NULL));
		return -EINVAL;
	}
	dec->info.format = format;
	dec->info.source_rate_hz = sfi.samplerate;
	dec->info.source_channels = sfi.channels;
	if (sfi.samplerate > 0 && sfi.frames > 0)
		dec->info.duration_s = (double)sfi.frames / sfi.samplerate;
	if (dec->info.duration_s > 0 && fstat(dec->fd, &st) == 0)
		dec->info.bitrate_kbps = (int)lround((double)st.st_size * 8.0 /
						     dec->info.duration_s /
						     1000.0);
	if (format == DECODE_FORMAT_FLAC) {
		decode_tag_set(dec->info.artist, sf_get_string(dec->sf, SF_STR_ARTIST));
		decode_tag_set(dec->info.title, sf_get_string(dec->sf, SF_STR_TITLE));
		decode_tag_set(dec->info.album, sf_get_string(dec->sf, SF_STR_ALBUM));
		dec->info.has_cover = flac_has_picture(dec->fd, flac_at);
	} else {
		/* RIFF INFO has no defined character set. */
		const char *s = sf_get_string(dec->sf, SF_STR_ARTIST);
		if (s)
			decode_tag_from_legacy(dec->info.artist, DECODE_TAG_MAX, s,
					strlen(s));
		s = sf_get_string(dec->sf, SF_STR_TITLE);
		if (s)
			decode_tag_from_legacy(dec->info.title, DECODE_TAG_MAX, s,
					strlen(s));
		s = sf_get_string(dec->sf, SF_STR_ALBUM);
		if (s)
			decode_tag_from_legacy(dec->info.album, DECODE_TAG_MAX, s,
					strlen(s));
	}
	return 0;
}

static void fill_sndfile(struct decoder *dec)
{
	int channels = dec->info.source_channels, left, right;
	char why[DECODE_ERROR_MAX];
	sf_count_t n = sf_readf_float(dec->sf, dec->raw, DECODE_CHUNK_FRAMES);

	if (n <= 0) {
		if (sf_error(dec->sf) != SF_ERR_NO_ERROR) {
			snprintf(why, sizeof(why), "sndfile: %s",
				 sf_strerror(dec->sf));
			decode_fail(dec, why);
		}
		dec->source_done = true;
		return;
	}
	decode_stereo_pair(dec->info.format, channels, &left, &right);
	for (sf_count_t i = 0; i < n; i++) {
		const float *frame = dec->raw + i * channels;
		dec->pcm[2 * i] = decode_finite_or_zero(frame[left]);
		dec->pcm[2 * i + 1] = decode_finite_or_zero(frame[right]);
	}
	dec->pcm_frames = (size_t)n;
}

static int sndfile_backend_open(struct decoder *dec,
				const struct decode_sniffed *sniffed,
				char *err, size_t err_size)
{
	return decode_open_sndfile(dec, sniffed->format, sniffed->id3v2_bytes,
				   err, err_size);
}

static void sndfile_backend_close(struct decoder *dec)
{
	if (dec->sf)
		sf_close(dec->sf);
	dec->sf = NULL;
}

const struct decode_backend decode_backend_sndfile = {
	.name = "sndfile",
	.open = sndfile_backend_open,
	.fill = fill_sndfile,
	.close = sndfile_backend_close,
};
