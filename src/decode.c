/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode — streaming audio decoding to interleaved float stereo at 44.1 kHz.
 * See decode.h for the contract.
 *
 * DESIGN
 * A decoder is a two-stage pipe with buffers of fixed size, allocated by
 * decode_open() so that decode_read() never allocates:
 *
 *   backend (mpg123 / vorbisfile / sndfile / ffmpeg)
 *     -> pcm: up to DECODE_CHUNK_FRAMES stereo frames at the source rate
 *     -> libsamplerate, straight into the caller's buffer (or a plain copy
 *        when the source already runs at 44.1 kHz)
 *
 * Each backend is a table of operations (open, fill, close; see
 * decode_internal.h); mpg123, vorbisfile and libsndfile are here, FFmpeg is
 * in decode_ffmpeg.c. The backend is picked from the first bytes of the
 * file (decode_sniff), so a Vorbis file named .mp3 plays and a text file
 * named .ogg is refused early. Which library reads what: MPEG audio goes to
 * mpg123 (gapless trimming from the LAME tag, a resync limit and the frame
 * agreement check below that make it strict with junk; FFmpeg's mp3 decoder
 * is no better and its probe is looser), Ogg Vorbis to vorbisfile, FLAC and
 * WAVE to libsndfile (all three exact and long proven here); FFmpeg takes
 * the magic numbers nothing else reads (MP4, Ogg Opus and Ogg FLAC, AIFF,
 * ASF, APE, WavPack, Matroska, CAF, TTA, Musepack, ADTS), and nothing else,
 * so that it never sees a file another backend would have refused.
 * Everything that is not recognisably something else goes to mpg123, because
 * MPEG audio has no magic number. Random data holds a plausible MPEG frame
 * header every few kilobytes, so for MPEG decode_open() also decodes the
 * first block of audio (about 0.2 s) and requires every frame in it to agree
 * with the first on version, layer, rate and mono-ness (mp3_validate), with
 * a small resync limit so that mpg123 gives up on junk rather than hunting
 * through it. For every format, the first block must decode.
 *
 * Channels: mono is duplicated; for more than two channels the front left and
 * right are kept (Vorbis and WAVE orders differ, see stereo_pair()); FFmpeg
 * formats are downmixed instead (decode_ffmpeg.c). mpg123
 * is told to produce stereo float itself, which duplicates mono for us.
 *
 * Rates: libsamplerate's SRC_SINC_MEDIUM_QUALITY with one persistent state.
 * At the end of the source the converter is fed end_of_input until it has
 * nothing left, so the filter's tail is not lost. The converter's ratio is
 * fixed at open, so a rate change in the middle of a stream ends the track
 * with a warning (chained Ogg), except that mpg123's short runs of frames at
 * another rate are dropped: they are what corrupt data decodes to, and the
 * real stream resumes after them (mp3_read).
 *
 * Errors: decode_open() fails with a one-line reason; once open, a decode
 * error ends the track (decode_read returns 0) and is logged once. Errno
 * values: EINVAL for data that is not playable audio, ENOTSUP for audio in a
 * container or codec we do not decode (an Ogg stream that is neither Vorbis,
 * Opus, FLAC nor Speex; a codec FFmpeg has no decoder for), EIO for read
 * errors,
 * ENOMEM, and open(2)'s own errno for files that cannot be opened.
 *
 * Tags are copied through tag_sanitize(): valid UTF-8 only (invalid bytes
 * become U+FFFD), control characters become spaces (a newline in a title
 * would break ICY metadata), surrounding white space is trimmed, and the
 * value is cut at a character boundary to fit DECODE_TAG_MAX. Tags in legacy
 * encodings (ID3v1, RIFF INFO, file names) are taken as UTF-8 when they are
 * valid UTF-8 and as Latin-1 otherwise: Latin-1 text with accents is almost
 * never valid UTF-8, while ID3v1 tags written as UTF-8 by modern taggers are.
 */
#include "autoconfig.h"

#include "decode.h"
#include "decode_internal.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
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
/* Backend reads that may return no audio in a row before we call it stuck. */
#define DECODE_MAX_EMPTY_READS 1024

static pthread_once_t decode_once = PTHREAD_ONCE_INIT;
static int decode_mpg123_init_rc;

static void decode_init_once(void)
{
	/* A no-op since libmpg123 1.27; older versions need it once. */
	decode_mpg123_init_rc = mpg123_init();
	decode_ffmpeg_init();
}

/* ---- UTF-8 tags ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 if the
 * bytes there are not one: overlong forms, surrogates and code points above
 * U+10FFFF are invalid (RFC 3629). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* True when src[0..n) (or up to a NUL) is valid UTF-8. */
static bool utf8_valid(const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0;
	while (i < n && s[i]) {
		size_t len = utf8_seq_len(s + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/* Copies src[0..n) (stopping at a NUL) into dst as clean UTF-8; see the
 * DESIGN note. Always NUL-terminates when dst_size > 0. */
static void tag_sanitize(char *dst, size_t dst_size, const char *src, size_t n)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *s = (const unsigned char *)src;
	size_t used = 0, i = 0;

	if (dst_size == 0)
		return;
	while (i < n && s[i] && (s[i] == ' ' || s[i] < 0x20 || s[i] == 0x7f))
		i++;
	while (i < n && s[i]) {
		const char *piece = (const char *)s + i;
		size_t len = utf8_seq_len(s + i, n - i);
		size_t advance = len;
		if (len == 0) {
			piece = replacement;
			len = 3;
			advance = 1;
		} else if (len == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			piece = " ";
		} else if (len == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			piece = " "; /* C1 control, U+0080..U+009F */
			len = 1;
		}
		if (used + len > dst_size - 1)
			break;
		memcpy(dst + used, piece, len);
		used += len;
		i += advance;
	}
	while (used > 0 && dst[used - 1] == ' ')
		used--;
	dst[used] = '\0';
}

/* Tags in an unknown 8-bit encoding: UTF-8 if valid, else Latin-1. */
static void tag_from_legacy(char *dst, size_t dst_size, const char *src,
			    size_t n)
{
	/* Worst case Latin-1 doubles every byte; more than the tag can hold is
	 * cut by tag_sanitize anyway. */
	char utf8[2 * DECODE_TAG_MAX];
	size_t used = 0;

	if (utf8_valid(src, n)) {
		tag_sanitize(dst, dst_size, src, n);
		return;
	}
	for (size_t i = 0; i < n && src[i] && used + 2 < sizeof(utf8); i++) {
		unsigned char c = (unsigned char)src[i];
		if (c < 0x80) {
			utf8[used++] = (char)c;
		} else {
			utf8[used++] = (char)(0xc0 | (c >> 6));
			utf8[used++] = (char)(0x80 | (c & 0x3f));
		}
	}
	tag_sanitize(dst, dst_size, utf8, used);
}

void decode_tag_set(char *dst, const char *src)
{
	if (src && !dst[0])
		tag_sanitize(dst, DECODE_TAG_MAX, src, strlen(src));
}

void decode_display_title(const char *artist, const char *title,
			  const char *path, char *out, size_t out_size)
{
	char a[DECODE_TAG_MAX], t[DECODE_TAG_MAX];
	char joined[2 * DECODE_TAG_MAX + 4];

	if (!out || out_size == 0)
		return;
	tag_sanitize(a, sizeof(a), artist ? artist : "", SIZE_MAX);
	tag_sanitize(t, sizeof(t), title ? title : "", SIZE_MAX);
	if (a[0] && t[0]) {
		int n = snprintf(joined, sizeof(joined), "%s - %s", a, t);
		tag_sanitize(out, out_size, joined, (size_t)n);
	} else if (t[0]) {
		tag_sanitize(out, out_size, t, strlen(t));
	} else {
		const char *name = path ? path : "";
		const char *slash = strrchr(name, '/');
		if (slash)
			name = slash + 1;
		const char *dot = strrchr(name, '.');
		/* ".hidden" has no extension; keep it whole. */
		size_t len = dot && dot != name ? (size_t)(dot - name)
						: strlen(name);
		tag_from_legacy(out, out_size, name, len);
	}
}

const char *decode_format_name(enum decode_format format)
{
	switch (format) {
	case DECODE_FORMAT_MP3: return "MP3";
	case DECODE_FORMAT_VORBIS: return "Vorbis";
	case DECODE_FORMAT_FLAC: return "FLAC";
	case DECODE_FORMAT_WAV: return "WAV";
	case DECODE_FORMAT_AAC: return "AAC";
	case DECODE_FORMAT_ALAC: return "ALAC";
	case DECODE_FORMAT_OPUS: return "Opus";
	case DECODE_FORMAT_WMA: return "WMA";
	case DECODE_FORMAT_AIFF: return "AIFF";
	case DECODE_FORMAT_APE: return "APE";
	case DECODE_FORMAT_WAVPACK: return "WavPack";
	case DECODE_FORMAT_OTHER: break;
	}
	return "other";
}

/* ---- sniffing ------------------------------------------------------------- */

/* pread() until n bytes, end of file or an error. */
ssize_t decode_read_at(int fd, void *buf, size_t n, off_t offset)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got,
				  offset + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static const struct decode_backend decode_backend_mpg123;
static const struct decode_backend decode_backend_vorbis;
static const struct decode_backend decode_backend_sndfile;

/* Magic numbers of the containers FFmpeg decodes for us, at the start of
 * a file or after an ID3v2 tag. Ogg Opus / FLAC / Speex and AIFF need more
 * than a fixed string and are told apart in sniff_head(). */
static const struct {
	size_t offset;
	size_t len;
	const char *magic;
	enum decode_format format;
} decode_ffmpeg_magic[] = {
	{ 4, 4, "ftyp", DECODE_FORMAT_AAC }, /* MP4, M4A, M4B, 3GP: AAC or ALAC */
	{ 0, 16, "\x30\x26\xb2\x75\x8e\x66\xcf\x11"
		 "\xa6\xd9\x00\xaa\x00\x62\xce\x6c", DECODE_FORMAT_WMA }, /* ASF */
	{ 0, 4, "MAC ", DECODE_FORMAT_APE },
	{ 0, 4, "wvpk", DECODE_FORMAT_WAVPACK },
	{ 0, 4, "\x1a\x45\xdf\xa3", DECODE_FORMAT_OTHER }, /* Matroska, WebM */
	{ 0, 4, "caff", DECODE_FORMAT_OTHER }, /* Core Audio Format */
	{ 0, 4, "TTA1", DECODE_FORMAT_OTHER },
	{ 0, 4, "MPCK", DECODE_FORMAT_OTHER }, /* Musepack SV8 */
	{ 0, 3, "MP+", DECODE_FORMAT_OTHER },  /* Musepack SV7 */
};

/* Bytes sniff_head() wants: an Ogg page header with the largest segment
 * table (27 + 255) and the first 8 bytes of its packet. */
#define DECODE_SNIFF_BYTES 290

/* Recognises the first bytes b[0..n) of a file, or of what follows its
 * ID3v2 tag. Returns true and fills *out when they are a container we know
 * by its magic; false for anything else (MPEG audio has no magic number). */
static bool sniff_head(const unsigned char *b, size_t n,
		       struct decode_sniffed *out)
{
	out->backend = NULL;
	if (n >= 4 && memcmp(b, "OggS", 4) == 0) {
		/* The first page holds the codec's identification packet, which
		 * starts after 27 header bytes and the segment table. */
		size_t body = n >= 27 ? 27 + (size_t)b[26] : n;
		out->backend = &decode_backend_vorbis;
		out->format = DECODE_FORMAT_VORBIS;
		if (body + 8 <= n) {
			if (memcmp(b + body, "OpusHead", 8) == 0) {
				out->backend = &decode_backend_ffmpeg;
				out->format = DECODE_FORMAT_OPUS;
			} else if (memcmp(b + body, "\x7f" "FLAC", 5) == 0) {
				out->backend = &decode_backend_ffmpeg;
				out->format = DECODE_FORMAT_FLAC;
			} else if (memcmp(b + body, "Speex   ", 8) == 0) {
				out->backend = &decode_backend_ffmpeg;
				out->format = DECODE_FORMAT_OTHER;
			}
		}
		/* Anything else in Ogg: vorbisfile says what is wrong. */
	} else if (n >= 4 && memcmp(b, "fLaC", 4) == 0) {
		out->backend = &decode_backend_sndfile;
		out->format = DECODE_FORMAT_FLAC;
	} else if (n >= 12 && (memcmp(b, "RIFF", 4) == 0 ||
			       memcmp(b, "RF64", 4) == 0) &&
		   memcmp(b + 8, "WAVE", 4) == 0) {
		out->backend = &decode_backend_sndfile; /* RF64: WAVE > 4 GiB */
		out->format = DECODE_FORMAT_WAV;
	} else if (n >= 12 && memcmp(b, "FORM", 4) == 0 &&
		   (memcmp(b + 8, "AIFF", 4) == 0 ||
		    memcmp(b + 8, "AIFC", 4) == 0)) {
		/* FFmpeg rather than libsndfile: it reads the ID3 chunk in
		 * which iTunes and most taggers keep AIFF tags. */
		out->backend = &decode_backend_ffmpeg;
		out->format = DECODE_FORMAT_AIFF;
	} else if (n >= 7 && b[0] == 0xff && (b[1] & 0xf6) == 0xf0 &&
		   (b[2] & 0x3c) >> 2 < 13) {
		/* ADTS: MPEG sync with layer 0, which MPEG audio never uses,
		 * and a valid sampling frequency index. */
		out->backend = &decode_backend_ffmpeg;
		out->format = DECODE_FORMAT_AAC;
	} else {
		for (size_t i = 0; i < sizeof(decode_ffmpeg_magic) /
		     sizeof(decode_ffmpeg_magic[0]); i++) {
			size_t off = decode_ffmpeg_magic[i].offset;
			size_t len = decode_ffmpeg_magic[i].len;
			if (n >= off + len &&
			    memcmp(b + off, decode_ffmpeg_magic[i].magic,
				   len) == 0) {
				out->backend = &decode_backend_ffmpeg;
				out->format = decode_ffmpeg_magic[i].format;
				break;
			}
		}
	}
	return out->backend != NULL;
}

bool decode_looks_like_audio(const void *head, size_t n)
{
	const unsigned char *b = head;
	struct decode_sniffed sniffed;

	if (!b)
		return false;
	if (n >= 3 && memcmp(b, "ID3", 3) == 0)
		return true;
	if (sniff_head(b, n, &sniffed))
		return true;
	/* MPEG frame sync (11 set bits) with a layer that is not reserved. */
	return n >= 2 && b[0] == 0xff && (b[1] & 0xe0) == 0xe0 &&
	       (b[1] & 0x06) != 0;
}

/* Chooses the backend from the first bytes and measures a leading ID3v2
 * tag. Returns 0, or a negative errno with the reason in err for files we
 * can tell are not playable. */
static int decode_sniff(int fd, struct decode_sniffed *sniffed, char *err,
			size_t err_size)
{
	unsigned char b[DECODE_SNIFF_BYTES];
	ssize_t n = decode_read_at(fd, b, sizeof(b), 0);

	if (n < 0) {
		snprintf(err, err_size, "read: %s", strerror((int)-n));
		return (int)n;
	}
	if (n == 0) {
		snprintf(err, err_size, "empty file");
		return -EINVAL;
	}
	sniffed->id3v2_bytes = 0;
	if (sniff_head(b, (size_t)n, sniffed))
		return 0;
	sniffed->backend = &decode_backend_mpg123;
	sniffed->format = DECODE_FORMAT_MP3;
	if (n >= 10 && memcmp(b, "ID3", 3) == 0) {
		/* Some taggers put ID3v2 in front of FLAC (libsndfile skips
		 * it), of ADTS AAC or of Monkey's Audio (FFmpeg skips it).
		 * The size is a 28-bit syncsafe integer; a footer adds 10. */
		off_t skip = 10 + ((off_t)(b[6] & 0x7f) << 21 |
				   (off_t)(b[7] & 0x7f) << 14 |
				   (off_t)(b[8] & 0x7f) << 7 | (b[9] & 0x7f));
		struct decode_sniffed inner;
		unsigned char after[16];
		if (b[5] & 0x10)
			skip += 10;
		sniffed->id3v2_bytes = skip;
		ssize_t m = decode_read_at(fd, after, sizeof(after), skip);
		if (m > 0 && sniff_head(after, (size_t)m, &inner) &&
		    (inner.backend == &decode_backend_ffmpeg ||
		     inner.format == DECODE_FORMAT_FLAC)) {
			sniffed->backend = inner.backend;
			sniffed->format = inner.format;
		}
	}
	return 0;
}

/* ---- backends -------------------------------------------------------------- */

/* Which source channels become left and right. Vorbis puts the centre
 * second in its 3, 5, 6, 7 and 8 channel layouts (L C R ...), WAVE and FLAC
 * always start L R. */
static void stereo_pair(enum decode_format format, int channels, int *left,
			int *right)
{
	*left = 0;
	if (channels == 1)
		*right = 0;
	else if (format == DECODE_FORMAT_VORBIS &&
		 (channels == 3 || channels >= 5))
		*right = 2;
	else
		*right = 1;
}


void decode_fail(struct decoder *dec, const char *what)
{
	dec->source_done = true;
	if (dec->failed)
		return;
	dec->failed = true;
	snprintf(dec->fail_reason, sizeof(dec->fail_reason), "%s", what);
	/* Before decode_open() succeeds the reason goes into its err. */
	if (dec->opened)
		log_warning("decode %s: %s; ending the track early", dec->path,
			    what);
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
			tag_sanitize(dec->info.artist, DECODE_TAG_MAX,
				     v2->artist->p, v2->artist->fill);
		if (v2 && v2->title && v2->title->p)
			tag_sanitize(dec->info.title, DECODE_TAG_MAX,
				     v2->title->p, v2->title->fill);
		if (v2 && v2->album && v2->album->p)
			tag_sanitize(dec->info.album, DECODE_TAG_MAX,
				     v2->album->p, v2->album->fill);
		if (v2 && v2->pictures > 0)
			dec->info.has_cover = true;
		if (v1 && memcmp(v1->tag, "TAG", 3) == 0) {
			if (!dec->info.artist[0])
				tag_from_legacy(dec->info.artist,
						DECODE_TAG_MAX, v1->artist,
						sizeof(v1->artist));
			if (!dec->info.title[0])
				tag_from_legacy(dec->info.title,
						DECODE_TAG_MAX, v1->title,
						sizeof(v1->title));
			if (!dec->info.album[0])
				tag_from_legacy(dec->info.album,
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
	stereo_pair(DECODE_FORMAT_VORBIS, vi->channels, &left, &right);
	for (long i = 0; i < n; i++) {
		dec->pcm[2 * i] = decode_finite_or_zero(planes[left][i]);
		dec->pcm[2 * i + 1] = decode_finite_or_zero(planes[right][i]);
	}
	dec->pcm_frames = (size_t)n;
}

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
			tag_from_legacy(dec->info.artist, DECODE_TAG_MAX, s,
					strlen(s));
		s = sf_get_string(dec->sf, SF_STR_TITLE);
		if (s)
			tag_from_legacy(dec->info.title, DECODE_TAG_MAX, s,
					strlen(s));
		s = sf_get_string(dec->sf, SF_STR_ALBUM);
		if (s)
			tag_from_legacy(dec->info.album, DECODE_TAG_MAX, s,
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
	stereo_pair(dec->info.format, channels, &left, &right);
	for (sf_count_t i = 0; i < n; i++) {
		const float *frame = dec->raw + i * channels;
		dec->pcm[2 * i] = decode_finite_or_zero(frame[left]);
		dec->pcm[2 * i + 1] = decode_finite_or_zero(frame[right]);
	}
	dec->pcm_frames = (size_t)n;
}

/* ---- the backends' tables ---------------------------------------------- */

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

static const struct decode_backend decode_backend_mpg123 = {
	.name = "mpg123",
	.open = mpg123_backend_open,
	.fill = fill_mpg123,
	.close = mpg123_backend_close,
};

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

static const struct decode_backend decode_backend_vorbis = {
	.name = "vorbisfile",
	.open = vorbis_backend_open,
	.fill = fill_vorbis,
	.close = vorbis_backend_close,
};

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

static const struct decode_backend decode_backend_sndfile = {
	.name = "sndfile",
	.open = sndfile_backend_open,
	.fill = fill_sndfile,
	.close = sndfile_backend_close,
};

/* Refills dec->pcm with the next block of the source, or sets source_done. */
static void decode_fill(struct decoder *dec)
{
	dec->pcm_pos = 0;
	dec->pcm_frames = 0;
	for (int tries = 0; !dec->source_done && dec->pcm_frames == 0;
	     tries++) {
		if (tries == DECODE_MAX_EMPTY_READS) {
			decode_fail(dec, "decoder makes no progress");
			break;
		}
		dec->backend->fill(dec);
	}
}

/* ---- public --------------------------------------------------------------- */

struct decoder *decode_open(const char *path, char *err, size_t err_size)
{
	struct decoder *dec = NULL;
	char reason[DECODE_ERROR_MAX] = "";
	struct decode_sniffed sniffed;
	struct stat st;
	int rc = 0, e;

	pthread_once(&decode_once, decode_init_once);
	if (!path) {
		snprintf(reason, sizeof(reason), "no path");
		rc = -EINVAL;
		goto out;
	}
	dec = calloc(1, sizeof(*dec));
	if (!dec) {
		rc = -ENOMEM;
		snprintf(reason, sizeof(reason), "out of memory");
		goto out;
	}
	dec->fd = -1;
	dec->path = strdup(path);
	dec->pcm = malloc(DECODE_CHUNK_FRAMES * DECODE_CHANNELS * sizeof(float));
	if (!dec->path || !dec->pcm) {
		rc = -ENOMEM;
		snprintf(reason, sizeof(reason), "out of memory");
		goto out;
	}
	dec->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (dec->fd < 0) {
		rc = -errno;
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		goto out;
	}
	if (fstat(dec->fd, &st) != 0) {
		rc = -errno;
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(reason, sizeof(reason), "not a regular file");
		goto out;
	}
	rc = decode_sniff(dec->fd, &sniffed, reason, sizeof(reason));
	if (rc < 0)
		goto out;
	dec->backend = sniffed.backend;
	rc = dec->backend->open(dec, &sniffed, reason, sizeof(reason));
	if (rc < 0)
		goto out;

	if (dec->info.source_rate_hz < DECODE_MIN_RATE_HZ ||
	    dec->info.source_rate_hz > DECODE_MAX_RATE_HZ) {
		rc = -EINVAL;
		snprintf(reason, sizeof(reason), "unsupported sample rate %d Hz",
			 dec->info.source_rate_hz);
		goto out;
	}
	if (dec->info.source_channels < 1 ||
	    dec->info.source_channels > DECODE_MAX_SOURCE_CHANNELS) {
		rc = -EINVAL;
		snprintf(reason, sizeof(reason), "unsupported channel count %d",
			 dec->info.source_channels);
		goto out;
	}

	if (dec->sf)
		dec->raw = malloc(DECODE_CHUNK_FRAMES *
				  (size_t)dec->info.source_channels *
				  sizeof(float));
	if (dec->sf && !dec->raw) {
		rc = -ENOMEM;
		snprintf(reason, sizeof(reason), "out of memory");
		goto out;
	}
	if (dec->info.source_rate_hz != DECODE_RATE) {
		dec->src = src_new(SRC_SINC_MEDIUM_QUALITY, DECODE_CHANNELS, &e);
		if (!dec->src) {
			rc = -ENOMEM;
			snprintf(reason, sizeof(reason), "libsamplerate: %s",
				 src_strerror(e));
			goto out;
		}
		dec->src_ratio = (double)DECODE_RATE / dec->info.source_rate_hz;
	}

	/* Proof that there is audio: the first block must decode (for MPEG,
	 * mp3_validate() has decoded it already). */
	if (dec->pcm_frames == 0)
		decode_fill(dec);
	if (dec->pcm_frames == 0) {
		rc = -EINVAL;
		if (dec->failed)
			snprintf(reason, sizeof(reason),
				 "no audio frames (%.200s)", dec->fail_reason);
		else
			snprintf(reason, sizeof(reason), "no audio frames");
		goto out;
	}
out:
	if (rc < 0) {
		if (err && err_size > 0)
			snprintf(err, err_size, "%s", reason);
		decode_close(dec);
		errno = -rc;
		return NULL;
	}
	dec->opened = true;
	if (err && err_size > 0)
		err[0] = '\0';
	return dec;
}

const struct decode_info *decode_get_info(const struct decoder *dec)
{
	return &dec->info;
}

ssize_t decode_read(struct decoder *dec, float *out, size_t max_frames)
{
	if (!dec || !out)
		return -EINVAL;
	if (max_frames == 0)
		return 0;

	/* Each pass either returns or consumes a block; the bound only stops
	 * a converter that neither consumes nor produces. */
	for (int pass = 0; pass < 64; pass++) {
		if (dec->pcm_pos == dec->pcm_frames && !dec->source_done)
			decode_fill(dec);
		size_t avail = dec->pcm_frames - dec->pcm_pos;
		const float *in = dec->pcm + DECODE_CHANNELS * dec->pcm_pos;

		if (!dec->src) {
			if (avail == 0)
				return 0; /* fill() found the end */
			size_t n = avail < max_frames ? avail : max_frames;
			memcpy(out, in, n * DECODE_CHANNELS * sizeof(float));
			dec->pcm_pos += n;
			return (ssize_t)n;
		}

		if (dec->src_done)
			return 0;
		SRC_DATA d = {
			.data_in = in,
			.data_out = out,
			.input_frames = (long)avail,
			.output_frames = max_frames > LONG_MAX / 4
				? LONG_MAX / 4 : (long)max_frames,
			.end_of_input = dec->source_done,
			.src_ratio = dec->src_ratio,
		};
		int e = src_process(dec->src, &d);
		if (e != 0) {
			char why[DECODE_ERROR_MAX];
			snprintf(why, sizeof(why), "libsamplerate: %s",
				 src_strerror(e));
			decode_fail(dec, why);
			dec->src_done = true;
			return 0;
		}
		dec->pcm_pos += (size_t)d.input_frames_used;
		if (d.output_frames_gen > 0)
			return (ssize_t)d.output_frames_gen;
		if (dec->source_done && dec->pcm_pos == dec->pcm_frames) {
			dec->src_done = true; /* flushed */
			return 0;
		}
	}
	decode_fail(dec, "resampler makes no progress");
	dec->src_done = true;
	return 0;
}

void decode_close(struct decoder *dec)
{
	if (!dec)
		return;
	if (dec->src)
		src_delete(dec->src);
	if (dec->backend)
		dec->backend->close(dec);
	if (dec->fd >= 0)
		close(dec->fd);
	free(dec->raw);
	free(dec->pcm);
	free(dec->path);
	free(dec);
}

int decode_probe(const char *path, struct decode_info *info, char *err,
		 size_t err_size)
{
	float buf[1024 * DECODE_CHANNELS];
	size_t total = 0;
	int rc = 0;
	struct decoder *dec = decode_open(path, err, err_size);

	if (info)
		memset(info, 0, sizeof(*info));
	if (!dec)
		return errno ? -errno : -EIO;
	while (total < DECODE_RATE) {
		ssize_t n = decode_read(dec, buf, 1024);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	/* A decode error inside the first second is a broken file, not a
	 * short one. */
	if (dec->failed && total < DECODE_RATE) {
		rc = -EINVAL;
		if (err && err_size > 0)
			snprintf(err, err_size, "truncated: %s after %.2f s",
				 dec->fail_reason, (double)total / DECODE_RATE);
		goto out;
	}
	if (info)
		*info = dec->info;
out:
	decode_close(dec);
	return rc;
}
