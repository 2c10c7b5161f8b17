/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encode — PCM to MP3 (LAME, encode_mp3.c) or Ogg Vorbis (libvorbis,
 * encode_ogg.c) behind one interface.
 *
 * Input is interleaved float stereo at 44.1 kHz, at most ENCODE_FRAMES_MAX
 * frames per call. Output bytes are returned as a borrowed pointer into the
 * encoder's own buffer, valid until the next call on the same encoder; the
 * buffer is sized at creation for the worst case of one call, so encoding
 * never allocates.
 *
 * Track changes: encode_track() says a new track starts at the next frame.
 * For a chained Ogg stream it ends the current logical stream (its last
 * pages come back at once) and the next write starts a new logical stream,
 * with a new serial number, whose Vorbis comments carry ARTIST and TITLE;
 * Icecast and players read the title from there. For MP3, and for Ogg with
 * chained = no, the bitstream does not change (MP3 titles travel as ICY
 * metadata, sent by the output). Before the first write, encode_track() sets
 * the comments of the first logical stream.
 *
 * encode_finish() flushes everything buffered and ends the stream. A fresh
 * stream (after a reconnect) is a new encoder.
 *
 * Errors: 0 or a negative errno; create returns NULL with the reason in err.
 * Thread rules: one thread per encoder.
 */
#ifndef FOREVERFM_ENCODE_H
#define FOREVERFM_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define ENCODE_FRAMES_MAX 4096

struct encode_params {
	enum output_format format;
	int bitrate_kbps;   /* MP3 CBR when > 0 */
	double quality;     /* MP3 VBR 0..9 / Vorbis -0.1..1.0 */
	bool chained;       /* Ogg only */
	const char *stream_title; /* comments of an unchained Ogg stream */
};

struct encoder;

struct encoder *encode_create(const struct encode_params *params,
			      char *err, size_t err_size);
void encode_destroy(struct encoder *enc);

int encode_write(struct encoder *enc, const float *frames, size_t n_frames,
		 const unsigned char **out, size_t *out_len);
int encode_track(struct encoder *enc, const char *artist, const char *title,
		 const unsigned char **out, size_t *out_len);
int encode_finish(struct encoder *enc, const unsigned char **out,
		  size_t *out_len);

/* For Icecast's audio info: the nominal bitrate in kbps (VBR: an estimate). */
int encode_nominal_bitrate(const struct encoder *enc);

#endif
