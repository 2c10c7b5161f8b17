/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode — streaming audio decoding to interleaved float stereo at 44.1 kHz.
 * See decode.h for the contract.
 *
 * DESIGN
 * A decoder is a two-stage pipe with buffers of fixed size, allocated by
 * decode_open() so that decode_read() allocates nothing of ours (FFmpeg
 * draws packets and frames from its pools):
 *
 *   backend (mpg123 / vorbisfile / sndfile / ffmpeg)
 *     -> pcm: up to DECODE_CHUNK_FRAMES stereo frames at the source rate
 *     -> libsamplerate, straight into the caller's buffer (or a plain copy
 *        when the source already runs at 44.1 kHz)
 *
 * Each backend is a table of operations (open, fill, close; see
 * decode_internal.h) in a file of its own: decode_mpg123.c, decode_vorbis.c,
 * decode_sndfile.c, decode_ffmpeg.c. This file holds what they share:
 * sniffing, tags, the resampler and the public calls. The backend is picked
 * from the first bytes of the file (decode_sniff), so a Vorbis file named
 * .mp3 plays and a text file named .ogg is refused early. Which library
 * reads what: MPEG audio goes to mpg123 (gapless trimming from the LAME tag,
 * a resync limit and the frame agreement check below that make it strict
 * with junk; FFmpeg's mp3 decoder is no better and its probe is looser), Ogg
 * Vorbis to vorbisfile, FLAC and WAVE to libsndfile (all three exact and
 * long proven here); FFmpeg takes the magic numbers nothing else reads (MP4,
 * Ogg Opus and Ogg FLAC, AIFF, ASF, APE, WavPack, Matroska, CAF, TTA,
 * Musepack, ADTS), and nothing else, so that it never sees a file another
 * backend would have refused. Everything that is not recognisably something
 * else goes to mpg123, because MPEG audio has no magic number. Random data
 * holds a plausible MPEG frame header every few kilobytes, so for MPEG
 * decode_open() also decodes the first block of audio (about 0.2 s) and
 * requires every frame in it to agree with the first on version, layer, rate
 * and mono-ness (mp3_validate in decode_mpg123.c), with a small resync limit
 * so that mpg123 gives up on junk rather than hunting through it. For every
 * format, the first block must decode.
 *
 * Channels: mono is duplicated; for more than two channels the front left
 * and right are kept (Vorbis and WAVE orders differ, see
 * decode_stereo_pair()); FFmpeg formats are downmixed instead
 * (decode_ffmpeg.c). mpg123 is told to produce stereo float itself, which
 * duplicates mono for us.
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
 * Tags are copied through decode_tag_sanitize(): valid UTF-8 only (invalid bytes
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

/* Backend reads that may return no audio in a row before we call it stuck. */
#define DECODE_MAX_EMPTY_READS 1024

static pthread_once_t decode_once = PTHREAD_ONCE_INIT;

/* The libraries' process-wide set-up, once, before the first decoder. */
static void decode_init_once(void)
{
	decode_mpg123_init();
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
void decode_tag_sanitize(char *dst, size_t dst_size, const char *src, size_t n)
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
void decode_tag_from_legacy(char *dst, size_t dst_size, const char *src,
			    size_t n)
{
	/* Worst case Latin-1 doubles every byte; more than the tag can hold is
	 * cut by tag_sanitize anyway. */
	char utf8[2 * DECODE_TAG_MAX];
	size_t used = 0;

	if (utf8_valid(src, n)) {
		decode_tag_sanitize(dst, dst_size, src, n);
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
	decode_tag_sanitize(dst, dst_size, utf8, used);
}

void decode_tag_set(char *dst, const char *src)
{
	if (src && !dst[0])
		decode_tag_sanitize(dst, DECODE_TAG_MAX, src, strlen(src));
}

void decode_display_title(const char *artist, const char *title,
			  const char *path, char *out, size_t out_size)
{
	char a[DECODE_TAG_MAX], t[DECODE_TAG_MAX];
	char joined[2 * DECODE_TAG_MAX + 4];

	if (!out || out_size == 0)
		return;
	decode_tag_sanitize(a, sizeof(a), artist ? artist : "", SIZE_MAX);
	decode_tag_sanitize(t, sizeof(t), title ? title : "", SIZE_MAX);
	if (a[0] && t[0]) {
		int n = snprintf(joined, sizeof(joined), "%s - %s", a, t);
		decode_tag_sanitize(out, out_size, joined, (size_t)n);
	} else if (t[0]) {
		decode_tag_sanitize(out, out_size, t, strlen(t));
	} else {
		const char *name = path ? path : "";
		const char *slash = strrchr(name, '/');
		if (slash)
			name = slash + 1;
		const char *dot = strrchr(name, '.');
		/* ".hidden" has no extension; keep it whole. */
		size_t len = dot && dot != name ? (size_t)(dot - name)
						: strlen(name);
		decode_tag_from_legacy(out, out_size, name, len);
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

/* ---- shared with the backends ------------------------------------------------ */

/* Which source channels become left and right. Vorbis puts the centre
 * second in its 3, 5, 6, 7 and 8 channel layouts (L C R ...), WAVE and FLAC
 * always start L R. */
void decode_stereo_pair(enum decode_format format, int channels, int *left,
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
