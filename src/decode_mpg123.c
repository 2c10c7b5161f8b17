/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode_mpg123 — the MPEG audio backend (libmpg123): MP3 and MP2, with
 * ID3v1/v2 tags. See decode.h for the contract, decode.c's DESIGN note for
 * why MPEG audio is checked frame by frame before it counts as audio
 * (mp3_validate), and decode_internal.h for the backend operations.
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

/* Bytes mpg123 may skip looking for the next frame. Small, so random data is
 * rejected instead of yielding a "frame" every few kilobytes. */
#define DECODE_MP3_RESYNC_LIMIT 2048
/* Seconds of MPEG audio at a rate other than the first frame's after which
 * a file counts as two streams spliced together rather than as corrupt. */
#define DECODE_MP3_MAX_ALIEN_S 5

static int decode_mpg123_init_rc;

void decode_mpg123_init(void)
{
	/* A no-op since libmpg123 1.27; older versions need it once. */
	decode_mpg123_init_rc = mpg123_init();
}

/* Reads up to max_frames from mpg123 into dec->pcm at frame offset at.
 * Returns how many of them count. Frames at a rate other than the file's
 * first are dropped: mpg123 takes garbage that happens to look like a frame
 * header of another rate as a format change ("Frankenstein stream"), and
 * drops back once real frames follow. A long run of them is a second stream
 * spliced on, which we cannot play at a fixed conversion ratio: that ends
 * the track. *changed is set when the output format changed. */
static size_t mp3_read(struct decoder *dec, size_t at, size_t max_frames,
		       bool *changed)
{
	size_t done = 0;
	long rate;
	int channels, encoding;
	char why[DECODE_ERROR_MAX];
	int e = mpg123_read(dec->mh, dec->pcm + DECODE_CHANNELS * at,
			    max_frames * DECODE_CHANNELS * sizeof(float), &done);
	size_t frames = done / (DECODE_CHANNELS * sizeof(float));

	if (dec->mp3_rate_hz != dec->info.source_rate_hz) {
		dec->mp3_alien_frames += frames;
		frames = 0;
		if (dec->mp3_alien_frames >
		    (size_t)dec->mp3_rate_hz * DECODE_MP3_MAX_ALIEN_S) {
			snprintf(why, sizeof(why),
				 "sample rate changes mid-stream to %ld Hz",
				 dec->mp3_rate_hz);
			decode_fail(dec, why);
		}
	} else if (frames > 0) {
		dec->mp3_alien_frames = 0;
	}
	switch (e) {
	case MPG123_OK:
		break;
	case MPG123_DONE:
		dec->source_done = true;
		break;
	case MPG123_NEW_FORMAT:
		*changed = true;
		if (mpg123_getformat(dec->mh, &rate, &channels, &encoding) !=
		    MPG123_OK) {
			snprintf(why, sizeof(why), "mpg123: %s",
				 mpg123_strerror(dec->mh));
			decode_fail(dec, why);
			break;
		}
		dec->mp3_rate_hz = rate;
		break;
	default:
		snprintf(why, sizeof(why), "mpg123: %s",
			 mpg123_strerror(dec->mh));
		decode_fail(dec, why);
		break;
	}
	return frames;
}

static void fill_mpg123(struct decoder *dec)
{
	bool changed = false;
	dec->pcm_frames = mp3_read(dec, 0, DECODE_CHUNK_FRAMES, &changed);
}

/* Random data holds a plausible MPEG frame header every few kilobytes, and
 * mpg123 decodes what follows each one. Real audio keeps its version, layer,
 * rate and channel mode from frame to frame, so the first block of frames
 * (about 0.2 s at 44.1 kHz, kept in dec->pcm as the first audio) must agree
 * with the first frame, unless the file ends normally before. */
static int mp3_validate(struct decoder *dec,
			const struct mpg123_frameinfo2 *first, char *err,
			size_t err_size)
{
	int spf = mpg123_spf(dec->mh);
	size_t step = spf > 0 ? (size_t)spf : 1152;

	dec->pcm_frames = 0;
	for (size_t reads = 0; !dec->source_done &&
	     dec->pcm_frames + step <= DECODE_CHUNK_FRAMES; reads++) {
		struct mpg123_frameinfo2 fi;
		bool changed = false;

		if (reads == 4 * DECODE_CHUNK_FRAMES / step) {
			snprintf(err, err_size,
				 "not an audio file (no audio in the first frames)");
			return -EINVAL;
		}
		dec->pcm_frames += mp3_read(dec, dec->pcm_frames, step,
					    &changed);
		if (dec->failed) {
			snprintf(err, err_size, "not an audio file (%.200s)",
				 dec->fail_reason);
			return -EINVAL;
		}
		if (changed || mpg123_info2(dec->mh, &fi) != MPG123_OK ||
		    fi.version != first->version || fi.layer != first->layer ||
		    fi.rate != first->rate ||
		    (fi.mode == MPG123_M_MONO) != (first->mode == MPG123_M_MONO)) {
			snprintf(err, err_size,
				 "not an audio file (MPEG frame headers disagree)");
			return -EINVAL;
		}
	}
	return 0;
}

struct mp3_info_tag {
	bool found;
	bool cbr;       /* "Info": LAME's name for the tag of a CBR file */
	uint32_t bytes; /* stream size when written (tags excluded), or 0 */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Reads the Xing/Info tag from a Layer III frame at byte offset at: the
 * tag follows the side information, whose size depends on the MPEG
 * version and mono-ness. Leaves *tag zeroed when there is none. */
static void mp3_info_tag_read(int fd, off_t at, struct mp3_info_tag *tag)
{
	unsigned char b[64];

	memset(tag, 0, sizeof(*tag));
	if (decode_read_at(fd, b, sizeof(b), at) != (ssize_t)sizeof(b))
		return;
	if (b[0] != 0xff || (b[1] & 0xe0) != 0xe0 || (b[1] & 0x06) != 0x02)
		return;
	bool mpeg1 = (b[1] & 0x18) == 0x18;
	bool mono = (b[3] & 0xc0) == 0xc0;
	const unsigned char *x = b + 4 + (mpeg1 ? (mono ? 17 : 32)
					       : (mono ? 9 : 17));
	if (memcmp(x, "Xing", 4) != 0 && memcmp(x, "Info", 4) != 0)
		return;
	tag->found = true;
	tag->cbr = x[0] == 'I';
	uint32_t flags = be32(x + 4);
	const unsigned char *field = x + 8;
	if (flags & 1)
		field += 4; /* frame count; mpg123 has it */
	if (flags & 2)
		tag->bytes = be32(field);
}

/* id3v2_bytes: size of the leading ID3v2 tag (from decode_sniff), for the
 * bitrate estimate. */
static int decode_open_mpg123(struct decoder *dec, off_t id3v2_bytes,
			      char *err, size_t err_size)
{
	const long *rates;
	size_t nrates;
	long rate;
	int channels, encoding, e;
	struct mpg123_frameinfo2 fi;
	mpg123_id3v1 *v1 = NULL;
	mpg123_id3v2 *v2 = NULL;

	if (decode_mpg123_init_rc != MPG123_OK) {
		snprintf(err, err_size, "mpg123_init: %s",
			 mpg123_plain_strerror(decode_mpg123_init_rc));
		return -EIO;
	}
	dec->mh = mpg123_new(NULL, &e);
	if (!dec->mh) {
		snprintf(err, err_size, "mpg123: %s", mpg123_plain_strerror(e));
		return -ENOMEM;
	}
	/* Stereo float at the file's own rate: mpg123 duplicates mono, and
	 * libsamplerate (not mpg123's crude resampler) converts the rate. */
	/* PICTURE: keep APIC frames, so that has_cover can be told. */
	mpg123_param(dec->mh, MPG123_ADD_FLAGS, MPG123_QUIET | MPG123_PICTURE,
		     0.0);
	mpg123_param(dec->mh, MPG123_REMOVE_FLAGS, MPG123_AUTO_RESAMPLE, 0.0);
	mpg123_param(dec->mh, MPG123_RESYNC_LIMIT, DECODE_MP3_RESYNC_LIMIT, 0.0);
	mpg123_format_none(dec->mh);
	mpg123_rates(&rates, &nrates);
	for (size_t i = 0; i < nrates; i++) {
		e = mpg123_format(dec->mh, rates[i], MPG123_STEREO,
				  MPG123_ENC_FLOAT_32);
		if (e != MPG123_OK) {
			snprintf(err, err_size, "mpg123 float output: %s",
				 mpg123_strerror(dec->mh));
			return -ENOTSUP;
		}
	}
	if (mpg123_open_fd(dec->mh, dec->fd) != MPG123_OK) {
		snprintf(err, err_size, "mpg123: %s", mpg123_strerror(dec->mh));
		return -EIO;
	}
	if (mpg123_getformat(dec->mh, &rate, &channels, &encoding) !=
	    MPG123_OK) {
		snprintf(err, err_size, "not an audio file (no MPEG audio frame)");
		return -EINVAL;
	}
	if (mpg123_info2(dec->mh, &fi) != MPG123_OK) {
		snprintf(err, err_size, "not an audio file (%s)",
			 mpg123_strerror(dec->mh));
		return -EINVAL;
	}
	dec->info.format = DECODE_FORMAT_MP3;
	dec->info.source_rate_hz = (int)rate;
	dec->info.source_channels = fi.mode == MPG123_M_MONO ? 1 : 2;
	dec->mp3_rate_hz = rate;
	if (rate < DECODE_MIN_RATE_HZ || rate > DECODE_MAX_RATE_HZ)
		return 0; /* decode_open() refuses it with a reason */
	e = mp3_validate(dec, &fi, err, err_size);
	if (e < 0)
		return e;

	/* The Xing/Info frame's count when there is one, else an estimate
	 * from the file size. */
	off_t samples = mpg123_length(dec->mh);
	if (samples > 0)
		dec->info.duration_s = (double)samples / (double)rate;

	if (mpg123_id3(dec->mh, &v1, &v2) == MPG123_OK) {
		if (v2 && v2->artist && v2->artist->p)
			decode_tag_sanitize(dec->info.artist, DECODE_TAG_MAX,
				     v2->artist->p, v2->artist->fill);
		if (v2 && v2->title && v2->title->p)
			decode_tag_sanitize(dec->info.title, DECODE_TAG_MAX,
				     v2->title->p, v2->title->fill);
		if (v2 && v2->album && v2->album->p)
			decode_tag_sanitize(dec->info.album, DECODE_TAG_MAX,
				     v2->album->p, v2->album->fill);
		if (v2 && v2->pictures > 0)
			dec->info.has_cover = true;
		if (v1 && memcmp(v1->tag, "TAG", 3) == 0) {
			if (!dec->info.artist[0])
				decode_tag_from_legacy(dec->info.artist,
						DECODE_TAG_MAX, v1->artist,
						sizeof(v1->artist));
			if (!dec->info.title[0])
				decode_tag_from_legacy(dec->info.title,
						DECODE_TAG_MAX, v1->title,
						sizeof(v1->title));
			if (!dec->info.album[0])
				decode_tag_from_legacy(dec->info.album,
						DECODE_TAG_MAX, v1->album,
						sizeof(v1->album));
		}
	}

	/* mpg123 calls every file with an info frame VBR, so the tag itself
	 * tells LAME's CBR ("Info") from VBR ("Xing"). Its byte count also
	 * gives away a truncated file, whose info frame still claims the
	 * whole length. */
	struct mp3_info_tag tag;
	struct stat st;
	off_t bytes = 0;
	mp3_info_tag_read(dec->fd, id3v2_bytes, &tag);
	if (fstat(dec->fd, &st) == 0)
		bytes = st.st_size - id3v2_bytes -
			(v1 && memcmp(v1->tag, "TAG", 3) == 0 ? 128 : 0);
	if (tag.bytes > 0 && bytes > 0 && bytes < (off_t)tag.bytes) {
		log_debug("decode %s: truncated to %lld of %lu bytes",
			  dec->path, (long long)bytes,
			  (unsigned long)tag.bytes);
		dec->info.duration_s *= (double)bytes / tag.bytes;
	}
	off_t frames = mpg123_framelength(dec->mh);
	int spf = mpg123_spf(dec->mh);
	if ((tag.cbr || (!tag.found && fi.vbr == MPG123_CBR)) &&
	    fi.bitrate > 0) {
		dec->info.bitrate_kbps = fi.bitrate;
	} else if (fi.vbr == MPG123_ABR && fi.abr_rate > 0) {
		dec->info.bitrate_kbps = fi.abr_rate;
	} else if (frames > 0 && spf > 0) {
		/* Average over all frames, encoder delay and padding
		 * included, as they are in the bytes. */
		double all_s = (double)frames * spf / (double)rate;
		if (tag.bytes > 0)
			bytes = (off_t)tag.bytes;
		if (bytes > 0)
			dec->info.bitrate_kbps = (int)lround(
				(double)bytes * 8.0 / all_s / 1000.0);
	}
	return 0;
}

static int mpg123_backend_open(struct decoder *dec,
			       const struct decode_sniffed *sniffed, char *err,
			       size_t err_size)
{
	return decode_open_mpg123(dec, sniffed->id3v2_bytes, err, err_size);
}

static void mpg123_backend_close(struct decoder *dec)
{
	if (dec->mh) {
		mpg123_close(dec->mh);
		mpg123_delete(dec->mh);
		dec->mh = NULL;
	}
}

const struct decode_backend decode_backend_mpg123 = {
	.name = "mpg123",
	.open = mpg123_backend_open,
	.fill = fill_mpg123,
	.close = mpg123_backend_close,
};
