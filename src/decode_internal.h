/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode_internal — what decode.c shares with its backends; not for users
 * of decode.h.
 *
 * A backend fills dec->pcm with up to DECODE_CHUNK_FRAMES interleaved
 * stereo float frames at the source rate; decode.c converts the rate and
 * hands them out. A backend is a table of three operations:
 *
 *   open   sets up the backend on dec->fd, fills dec->info (format, rate,
 *          channels, duration, bitrate, tags) and may already decode the
 *          first block into dec->pcm; on failure returns a negative errno
 *          with a one-line reason in err (decode_open() then calls close).
 *   fill   decodes the next block into dec->pcm (dec->pcm_frames, may be 0
 *          frames: decode_fill() bounds how often in a row), or sets
 *          dec->source_done, or calls decode_fail().
 *   close  releases what open made, also after a failed open; the fd, pcm
 *          and the resampler belong to decode.c.
 *
 * Thread rules as in decode.h: a decoder is used by one thread at a time.
 */
#ifndef FOREVERFM_DECODE_INTERNAL_H
#define FOREVERFM_DECODE_INTERNAL_H

#include "decode.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <mpg123.h>
#include <samplerate.h>
#include <sndfile.h>
/* The header's static stdio callbacks would be unused: we read an fd. */
#define OV_EXCLUDE_STATIC_CALLBACKS
#include <vorbis/vorbisfile.h>

/* Frames per backend read; 8192 stereo floats = 64 KiB. */
#define DECODE_CHUNK_FRAMES 8192
/* More source channels than this is not music we expect; refusing keeps the
 * per-decoder buffers small. */
#define DECODE_MAX_SOURCE_CHANNELS 64
#define DECODE_MIN_RATE_HZ 1000
#define DECODE_MAX_RATE_HZ 768000

struct decoder;
struct decode_ffmpeg;

/* What the first bytes said (decode_sniff in decode.c). */
struct decode_sniffed {
	const struct decode_backend *backend;
	enum decode_format format; /* the guess; the backend has the last word */
	off_t id3v2_bytes;         /* size of a leading ID3v2 tag, or 0 */
};

struct decode_backend {
	const char *name;
	int (*open)(struct decoder *dec, const struct decode_sniffed *sniffed,
		    char *err, size_t err_size);
	void (*fill)(struct decoder *dec);
	void (*close)(struct decoder *dec);
};

/* One per file: decode_mpg123.c, decode_vorbis.c, decode_sndfile.c,
 * decode_ffmpeg.c. */
extern const struct decode_backend decode_backend_mpg123;
extern const struct decode_backend decode_backend_vorbis;
extern const struct decode_backend decode_backend_sndfile;
extern const struct decode_backend decode_backend_ffmpeg;

/* Process-wide set-up of a library, once, before its first use (decode.c's
 * pthread_once): mpg123_init(); FFmpeg's av_log routed to ours. */
void decode_mpg123_init(void);
void decode_ffmpeg_init(void);

struct decoder {
	struct decode_info info;
	const struct decode_backend *backend;
	char *path;   /* for log lines */
	int fd;

	mpg123_handle *mh;
	OggVorbis_File vf;
	bool vf_open;
	SNDFILE *sf;
	struct decode_ffmpeg *ff;

	float *raw;   /* sndfile: interleaved source channels */
	float *pcm;   /* stereo, source rate, DECODE_CHUNK_FRAMES */
	size_t pcm_frames;
	size_t pcm_pos;
	bool source_done;

	long mp3_rate_hz;        /* mpg123's current output rate */
	size_t mp3_alien_frames; /* dropped in a row at another rate */

	SRC_STATE *src; /* NULL when the source runs at DECODE_RATE */
	double src_ratio;
	bool src_done;

	bool opened;  /* decode_open() succeeded */
	bool failed;  /* a decode error ended the track */
	char fail_reason[DECODE_ERROR_MAX];
};

/* Ends the track after a decode error, logging it once (after open). */
void decode_fail(struct decoder *dec, const char *what);

/* Copies src[0..n) (stopping at a NUL) into dst as clean UTF-8 (see
 * decode.c's DESIGN note). Always NUL-terminates when dst_size > 0. */
void decode_tag_sanitize(char *dst, size_t dst_size, const char *src,
			 size_t n);

/* The same for tags of unknown 8-bit encoding: UTF-8 if valid, else
 * Latin-1 (ID3v1, RIFF INFO, file names). */
void decode_tag_from_legacy(char *dst, size_t dst_size, const char *src,
			    size_t n);

/* Which source channels become left and right for FORMAT's channel order
 * (Vorbis puts the centre second). */
void decode_stereo_pair(enum decode_format format, int channels, int *left,
			int *right);

/* Copies SRC into an empty tag DST (DECODE_TAG_MAX bytes) as clean UTF-8;
 * a tag already set is kept. */
void decode_tag_set(char *dst, const char *src);

/* pread() until n bytes, end of file or an error: bytes read or -errno. */
ssize_t decode_read_at(int fd, void *buf, size_t n, off_t offset);

static inline float decode_finite_or_zero(float x)
{
	return isfinite(x) ? x : 0.0f;
}

#endif
