/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode — streaming audio decoding to interleaved float stereo at 44.1 kHz.
 *
 * The container is chosen by the file's first bytes, never by its name:
 * "OggS" with Vorbis (libvorbisfile), "fLaC" / "RIFF....WAVE" (libsndfile),
 * the magic numbers of MP4/M4A (AAC, ALAC), Ogg Opus and Ogg FLAC, AIFF,
 * ASF (WMA), Monkey's Audio, WavPack, Matroska/WebM, CAF, TTA, Musepack and
 * ADTS AAC (FFmpeg's libavformat/libavcodec), otherwise MPEG audio
 * (libmpg123, with a small resync limit so that random data is rejected
 * rather than "decoded"). Mono is duplicated to both channels; more than two
 * channels are folded to stereo; any other sample rate is converted with
 * libsamplerate. A track is never held whole in memory: decode_read()
 * returns what it decoded just now.
 *
 * Tags: artist, title and album from ID3v2 (any version, converted to
 * UTF-8), then ID3v1 (Latin-1, converted), Vorbis comments, FLAC/WAV
 * metadata, or whatever FFmpeg reads (MP4 atoms, Opus comments, ASF, APEv2,
 * ID3 in AIFF). has_cover tells whether the file embeds a picture (ID3 APIC,
 * FLAC PICTURE, METADATA_BLOCK_PICTURE, MP4 covr, ...). Values are truncated
 * to DECODE_TAG_MAX - 1 bytes at a UTF-8 character boundary, and invalid
 * UTF-8 is replaced, so every tag is valid UTF-8. Missing tags are empty
 * strings; decode_display_title() applies the ICY rule.
 *
 * Errors: decode_open() and decode_probe() return NULL / a negative errno and
 * write a one-line reason ("not an audio file", "no audio frames",
 * "truncated: ...") into err. Corrupt frames in the middle of a file are
 * skipped by the decoder; a read error ends the track early (decode_read
 * returns 0) and is logged once.
 *
 * Thread rules: a decoder belongs to one thread at a time. Different
 * decoders may be used from different threads at once.
 */
#ifndef FOREVERFM_DECODE_H
#define FOREVERFM_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DECODE_RATE 44100
#define DECODE_CHANNELS 2
#define DECODE_TAG_MAX 256
#define DECODE_ERROR_MAX 256

enum decode_format {
	DECODE_FORMAT_MP3,
	DECODE_FORMAT_VORBIS,
	DECODE_FORMAT_FLAC,
	DECODE_FORMAT_WAV,
	/* Decoded by FFmpeg; named by codec (ALAC in MP4 is ALAC). */
	DECODE_FORMAT_AAC,
	DECODE_FORMAT_ALAC,
	DECODE_FORMAT_OPUS,
	DECODE_FORMAT_WMA,
	DECODE_FORMAT_AIFF, /* PCM in AIFF / AIFF-C */
	DECODE_FORMAT_APE,
	DECODE_FORMAT_WAVPACK,
	DECODE_FORMAT_OTHER, /* any other codec FFmpeg decodes for us */
};

struct decode_info {
	enum decode_format format;
	char artist[DECODE_TAG_MAX]; /* UTF-8, "" when missing */
	char title[DECODE_TAG_MAX];  /* UTF-8, "" when missing */
	char album[DECODE_TAG_MAX];  /* UTF-8, "" when missing */
	bool has_cover;     /* an embedded picture (cover art) is there */
	double duration_s;  /* from headers or an estimate; 0 when unknown */
	int source_rate_hz;
	int source_channels;
	int bitrate_kbps;   /* nominal or average; 0 when unknown */
};

struct decoder;

/* Opens PATH for decoding. Returns NULL with errno set and a reason in err
 * (err may be NULL). */
struct decoder *decode_open(const char *path, char *err, size_t err_size);

/* Borrowed; valid until decode_close(). */
const struct decode_info *decode_get_info(const struct decoder *dec);

/* Decodes up to max_frames stereo frames (2 * max_frames floats, interleaved
 * L R, nominal range -1..1) into out. Returns the number of frames (may be
 * fewer than asked), 0 at the end of the track, or a negative errno. */
ssize_t decode_read(struct decoder *dec, float *out, size_t max_frames);

/* Closes; accepts NULL. */
void decode_close(struct decoder *dec);

/* Opens PATH, reads its tags and duration, and decodes its first second to
 * prove it holds audio. Returns 0, or a negative errno with the reason in
 * err. Used by the library scan to decide whether a file is playable. */
int decode_probe(const char *path, struct decode_info *info,
		 char *err, size_t err_size);

/* A short name for FORMAT ("MP3", "AAC", "Opus", ...), for logs; static. */
const char *decode_format_name(enum decode_format format);

/* True when the first N bytes of a file (HEAD; 16 are enough) look like
 * a container or stream that decode_open() would try: the same magic
 * numbers it chooses a decoder by. For the library scan's "is this audio at
 * all" question about files whose name says nothing. */
bool decode_looks_like_audio(const void *head, size_t n);

/* Writes the ICY title into out: "Artist - Title" when both tags are set,
 * the title alone when only it is set, else the file name of PATH without
 * its extension. Always NUL-terminated valid UTF-8. */
void decode_display_title(const char *artist, const char *title,
			  const char *path, char *out, size_t out_size);

#endif
