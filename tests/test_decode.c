/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_decode — every generated fixture (tests/make-fixtures.sh) decodes to
 * what was generated: length, tone frequency and level at 44.1 kHz stereo
 * (so resampling and mono duplication are right), tags byte for byte, and
 * display titles. The FFmpeg formats (AAC and ALAC in .m4a, Opus, ADTS AAC,
 * WMA, AIFF, WavPack, TTA, generated here with the ffmpeg tool) decode the
 * same way: length, tone, rate conversion, mono, tags with album and cover
 * art, non-ASCII tags byte for byte. Output does not depend on read sizes
 * or on other decoders running in other threads. Bad files are refused with
 * a reason (truncated .m4a, random bytes named .m4a); corrupt MP3 and .m4a
 * and truncated MP3s play what they hold; VBR, RF64 and ID3-prefixed FLAC work; 300 files
 * of random bytes behind real magic numbers neither crash nor hang the
 * decoder. Prints decode speed, MP3 against AAC.
 */
#include "autoconfig.h"

#include "decode.h"
#include "log.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_FRAMES 1000 /* odd on purpose: not a multiple of any block */

static const char *fixtures;

struct good {
	const char *name;
	enum decode_format format;
	double seconds;
	double tone_hz;      /* 0: silence */
	int rate_hz;
	int channels;
	const char *artist;
	const char *title;
	const char *display;
	const char *album;   /* NULL: "" */
	bool cover;
};

static const struct good goods[] = {
	{ "tone-440.mp3", DECODE_FORMAT_MP3, 20, 440, 44100, 2,
	  "Tone Artist A", "Four Forty", "Tone Artist A - Four Forty", NULL, false },
	{ "tone-660.ogg", DECODE_FORMAT_VORBIS, 20, 660, 44100, 2,
	  "Tone Artist B", "Six Sixty", "Tone Artist B - Six Sixty", NULL, false },
	{ "tone-550.flac", DECODE_FORMAT_FLAC, 15, 550, 44100, 2,
	  "Tone Artist C", "Five Fifty", "Tone Artist C - Five Fifty", NULL, false },
	{ "tone-330.wav", DECODE_FORMAT_WAV, 12, 330, 44100, 2,
	  "", "", "tone-330", NULL, false },
	{ "tone-880-48k-mono.mp3", DECODE_FORMAT_MP3, 15, 880, 48000, 1,
	  "Mono Artist", "Eight Eighty", "Mono Artist - Eight Eighty", NULL, false },
	{ "tone-770-22k.ogg", DECODE_FORMAT_VORBIS, 12, 770, 22050, 2,
	  "Low Rate", "Seven Seventy", "Low Rate - Seven Seventy", NULL, false },
	{ "unicode.ogg", DECODE_FORMAT_VORBIS, 10, 495, 44100, 2,
	  "Sigur R\xc3\xb3s",
	  "Caf\xc3\xa9 \"Zitat\" l'\xc3\xa9t\xc3\xa9 \xe2\x80\x94 "
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\xb5 - x",
	  "Sigur R\xc3\xb3s - Caf\xc3\xa9 \"Zitat\" l'\xc3\xa9t\xc3\xa9 "
	  "\xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	  "\xf0\x9f\x8e\xb5 - x", NULL, false },
	{ "latin1-id3v1.mp3", DECODE_FORMAT_MP3, 10, 605, 44100, 2,
	  "Bj\xc3\xb6rk", "J\xc3\xb3ga", "Bj\xc3\xb6rk - J\xc3\xb3ga", NULL, false },
	{ "notags.mp3", DECODE_FORMAT_MP3, 10, 385, 44100, 2,
	  "", "", "notags", NULL, false },
	{ "huge-tag.mp3", DECODE_FORMAT_MP3, 10, 715, 44100, 2,
	  "Huge", NULL /* checked apart */, NULL, NULL, false },
	{ "wrongext.mp3", DECODE_FORMAT_VORBIS, 10, 935, 44100, 2,
	  "Wrong", "Extension", "Wrong - Extension", NULL, false },
	{ "silence.ogg", DECODE_FORMAT_VORBIS, 10, 0, 44100, 2,
	  "Silence", "Nothing", "Silence - Nothing", NULL, false },
	{ "one-second.mp3", DECODE_FORMAT_MP3, 1, 1000, 44100, 2,
	  "", "", "one-second", NULL, false },
};

/* Made by tests/make-format-fixtures.sh, which documents them. */
static const struct good ff_goods[] = {
	{ "ff/tone-440.m4a", DECODE_FORMAT_AAC, 10, 440, 44100, 2,
	  "Sigur R\xc3\xb3s",
	  "Caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	  "\xf0\x9f\x8e\xb5",
	  "Sigur R\xc3\xb3s - Caf\xc3\xa9 \xe2\x80\x94 "
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\xb5",
	  "\xc3\x81g\xc3\xa6tis byrjun", true },
	{ "ff/alac-550-48k-mono.m4a", DECODE_FORMAT_ALAC, 8, 550, 48000, 1,
	  "Alac Artist", "Five Fifty Lossless",
	  "Alac Artist - Five Fifty Lossless", "Lossless", false },
	{ "ff/tone-660.opus", DECODE_FORMAT_OPUS, 10, 660, 48000, 2,
	  "Opus K\xc3\xbcnstler", "Sechshundertsechzig",
	  "Opus K\xc3\xbcnstler - Sechshundertsechzig", "Ogg", false },
	{ "ff/tone-385.aac", DECODE_FORMAT_AAC, 12, 385, 44100, 2,
	  "", "", "tone-385", NULL, false },
	{ "ff/tone-495.wma", DECODE_FORMAT_WMA, 10, 495, 44100, 2,
	  "Wma Artist", "Windows", "Wma Artist - Windows", "Media", false },
	{ "ff/tone-605-22k-mono.aiff", DECODE_FORMAT_AIFF, 10, 605, 22050, 1,
	  "Aiff Artist", "Apple", "Aiff Artist - Apple", NULL, false },
	{ "ff/tone-715.wv", DECODE_FORMAT_WAVPACK, 10, 715, 44100, 2,
	  "Wv Artist", "Pack", "Wv Artist - Pack", NULL, false },
	{ "ff/tone-825.tta", DECODE_FORMAT_OTHER, 10, 825, 44100, 2,
	  "", "", "tone-825", NULL, false },
	/* Covers read by the other decoders. */
	{ "ff/cover.mp3", DECODE_FORMAT_MP3, 5, 440, 44100, 2,
	  "", "", "cover", "Covered", true },
	{ "ff/cover.flac", DECODE_FORMAT_FLAC, 5, 440, 44100, 2,
	  "", "", "cover", "Covered", true },
};

struct pcm {
	float *data; /* interleaved stereo */
	size_t frames;
	size_t cap;
};

/* Where the FFmpeg formats are made (test_ffmpeg_make). */
static const char *ffdir;

/* A name with a '/' is in ffdir ("ff/x.m4a"), else in the shared fixtures. */
static void path_of(char *out, size_t size, const char *name)
{
	if (strncmp(name, "ff/", 3) == 0)
		snprintf(out, size, "%s/%s", ffdir, name + 3);
	else
		snprintf(out, size, "%s/%s", fixtures, name);
}

/* Decodes the whole track in chunks of chunk_frames (0: sizes that vary
 * between 1 and 5000), checking each read. */
static void decode_all(struct decoder *dec, struct pcm *pcm,
		       size_t chunk_frames)
{
	uint32_t seed = 12345;
	float *buf = malloc(5000 * DECODE_CHANNELS * sizeof(float));
	CHECK(buf != NULL);
	pcm->frames = 0;
	for (;;) {
		size_t want = chunk_frames;
		if (want == 0) {
			seed = seed * 1103515245u + 12345u;
			want = 1 + (seed >> 8) % 5000;
		}
		ssize_t n = decode_read(dec, buf, want);
		CHECK_INT(n, >=, 0);
		CHECK_INT(n, <=, (long long)want);
		if (n == 0)
			break;
		if (pcm->frames + (size_t)n > pcm->cap) {
			pcm->cap = (pcm->cap + (size_t)n) * 2;
			pcm->data = realloc(pcm->data, pcm->cap *
					    DECODE_CHANNELS * sizeof(float));
			CHECK(pcm->data != NULL);
		}
		memcpy(pcm->data + DECODE_CHANNELS * pcm->frames, buf,
		       (size_t)n * DECODE_CHANNELS * sizeof(float));
		pcm->frames += (size_t)n;
		CHECK_INT(pcm->frames, <, 3600 * DECODE_RATE); /* no runaway */
	}
	/* The end stays the end. */
	CHECK_INT(decode_read(dec, buf, 17), ==, 0);
	free(buf);
}

/* Rising zero crossings per second of channel ch over [from, to), with
 * hysteresis so that coding noise near zero does not count twice. */
static double tone_frequency(const struct pcm *pcm, int ch, size_t from,
			     size_t to)
{
	const float threshold = 0.02f;
	bool low = false;
	size_t first = 0, last = 0;
	long crossings = -1;

	for (size_t i = from; i < to; i++) {
		float x = pcm->data[DECODE_CHANNELS * i + (size_t)ch];
		if (x < -threshold) {
			low = true;
		} else if (x > threshold && low) {
			low = false;
			if (++crossings == 0)
				first = i;
			last = i;
		}
	}
	if (crossings <= 0)
		return 0.0;
	return (double)crossings * DECODE_RATE / (double)(last - first);
}

static double rms(const struct pcm *pcm, size_t from, size_t to)
{
	double sum = 0.0;
	for (size_t i = DECODE_CHANNELS * from; i < DECODE_CHANNELS * to; i++)
		sum += (double)pcm->data[i] * pcm->data[i];
	return sqrt(sum / (double)(DECODE_CHANNELS * (to - from)));
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2
			: (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || (len == 2 && *p < 0xc2))
			return false;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += len;
	}
	return true;
}

static void check_huge_title(const char *title)
{
	/* "é" x 100000 cut at a character boundary within 255 bytes. */
	CHECK_INT(strlen(title), ==, 254);
	CHECK_INT(strlen(title), <, DECODE_TAG_MAX);
	for (size_t i = 0; i < 254; i += 2)
		CHECK(title[i] == '\xc3' && title[i + 1] == '\xa9');
	CHECK(valid_utf8(title));
}

static void test_good(const struct good *g)
{
	char path[4096], err[DECODE_ERROR_MAX], display[DECODE_TAG_MAX * 2];
	struct decode_info probed;
	struct pcm pcm = { 0 };

	path_of(path, sizeof(path), g->name);
	fprintf(stderr, "good: %s\n", g->name);

	CHECK_INT(decode_probe(path, &probed, err, sizeof(err)), ==, 0);
	CHECK_INT(probed.format, ==, g->format);

	struct decoder *dec = decode_open(path, err, sizeof(err));
	if (!dec)
		fprintf(stderr, "%s: %s\n", g->name, err);
	CHECK(dec != NULL);
	CHECK_STR(err, "");
	const struct decode_info *info = decode_get_info(dec);
	CHECK_INT(info->format, ==, g->format);
	CHECK_INT(info->source_rate_hz, ==, g->rate_hz);
	CHECK_INT(info->source_channels, ==, g->channels);
	CHECK_STR(info->artist, g->artist);
	CHECK_STR(probed.artist, g->artist);
	if (g->title) {
		CHECK_STR(info->title, g->title);
		CHECK_STR(probed.title, g->title);
	} else {
		check_huge_title(info->title);
		CHECK_STR(probed.title, info->title);
	}
	CHECK_STR(info->album, g->album ? g->album : "");
	CHECK_STR(probed.album, info->album);
	CHECK_INT(info->has_cover, ==, g->cover);
	CHECK_INT(probed.has_cover, ==, g->cover);
	CHECK(valid_utf8(info->artist) && valid_utf8(info->title) &&
	      valid_utf8(info->album));
	decode_display_title(info->artist, info->title, path, display,
			     sizeof(display));
	if (g->display)
		CHECK_STR(display, g->display);
	else
		CHECK(strncmp(display, "Huge - \xc3\xa9\xc3\xa9", 11) == 0 &&
		      valid_utf8(display));

	/* MP3 and ADTS lengths are estimates from the bitrate. */
	bool mp3 = g->format == DECODE_FORMAT_MP3;
	bool estimated = mp3 || strstr(g->name, ".aac") != NULL;
	double tolerance_s = estimated ? 0.5
				       : fmax(0.01 * g->seconds, 0.05);
	CHECK_NEAR(info->duration_s, g->seconds, tolerance_s);
	CHECK_NEAR(probed.duration_s, info->duration_s, 1e-9);
	if (g->format == DECODE_FORMAT_MP3 && !g->cover)
		CHECK_INT(info->bitrate_kbps, ==, 128);
	else if (g->format == DECODE_FORMAT_WAV)
		CHECK_NEAR(info->bitrate_kbps, 1411, 2);
	else if (g->tone_hz > 0)
		CHECK(info->bitrate_kbps > 32 && info->bitrate_kbps < 1000);

	decode_all(dec, &pcm, CHUNK_FRAMES);
	decode_close(dec);

	double seconds = (double)pcm.frames / DECODE_RATE;
	fprintf(stderr, "  %zu frames = %.4f s\n", pcm.frames, seconds);
	CHECK_NEAR(seconds, g->seconds, estimated ? 0.1 : tolerance_s);

	float peak = 0.0f;
	for (size_t i = 0; i < DECODE_CHANNELS * pcm.frames; i++) {
		CHECK(isfinite(pcm.data[i]));
		peak = fmaxf(peak, fabsf(pcm.data[i]));
	}
	CHECK(peak <= 1.0f);

	size_t from = pcm.frames / 4, to = pcm.frames - pcm.frames / 4;
	if (g->tone_hz > 0) {
		/* -12 dBFS sine: peak 0.251, RMS 0.1776. */
		CHECK_NEAR(peak, 0.251, 0.03);
		CHECK_NEAR(rms(&pcm, from, to), 0.1776, 0.01);
		for (int ch = 0; ch < DECODE_CHANNELS; ch++) {
			double f = tone_frequency(&pcm, ch, from, to);
			fprintf(stderr, "  channel %d: %.2f Hz\n", ch, f);
			CHECK_NEAR(f, g->tone_hz, 0.01 * g->tone_hz);
		}
	} else {
		CHECK(peak < 1e-3f);
	}
	if (g->channels == 1) {
		for (size_t i = 0; i < pcm.frames; i++)
			CHECK(pcm.data[2 * i] == pcm.data[2 * i + 1]);
	}
	free(pcm.data);
}

/* The output does not depend on how it is read: varying chunk sizes give
 * the same samples as 1000-frame chunks, through the resampler too. */
static void test_chunking(const char *name)
{
	char path[4096], err[DECODE_ERROR_MAX];
	struct pcm a = { 0 }, b = { 0 };

	path_of(path, sizeof(path), name);
	struct decoder *dec = decode_open(path, err, sizeof(err));
	CHECK(dec != NULL);
	decode_all(dec, &a, CHUNK_FRAMES);
	decode_close(dec);
	dec = decode_open(path, err, sizeof(err));
	CHECK(dec != NULL);
	decode_all(dec, &b, 0);
	decode_close(dec);
	CHECK_INT(a.frames, ==, b.frames);
	CHECK(memcmp(a.data, b.data,
		     a.frames * DECODE_CHANNELS * sizeof(float)) == 0);
	free(a.data);
	free(b.data);
}

struct job {
	const char *name;
	struct pcm pcm;
};

static void *decode_job(void *arg)
{
	struct job *job = arg;
	char path[4096], err[DECODE_ERROR_MAX];
	path_of(path, sizeof(path), job->name);
	struct decoder *dec = decode_open(path, err, sizeof(err));
	CHECK(dec != NULL);
	decode_all(dec, &job->pcm, CHUNK_FRAMES);
	decode_close(dec);
	return NULL;
}

/* Decoders in different threads at once give what they give alone. */
static void test_threads(void)
{
	struct job jobs[] = {
		{ "tone-880-48k-mono.mp3", { 0 } },
		{ "tone-770-22k.ogg", { 0 } },
		{ "tone-550.flac", { 0 } },
		{ "tone-440.mp3", { 0 } },
		{ "ff/tone-440.m4a", { 0 } },
		{ "ff/tone-660.opus", { 0 } },
		{ "ff/alac-550-48k-mono.m4a", { 0 } },
	};
	enum { N = sizeof(jobs) / sizeof(jobs[0]) };
	pthread_t threads[N];

	for (int i = 0; i < N; i++)
		CHECK(pthread_create(&threads[i], NULL, decode_job,
				     &jobs[i]) == 0);
	for (int i = 0; i < N; i++)
		CHECK(pthread_join(threads[i], NULL) == 0);
	for (int i = 0; i < N; i++) {
		struct job alone = { jobs[i].name, { 0 } };
		decode_job(&alone);
		CHECK_INT(alone.pcm.frames, ==, jobs[i].pcm.frames);
		CHECK(memcmp(alone.pcm.data, jobs[i].pcm.data,
			     alone.pcm.frames * DECODE_CHANNELS *
				     sizeof(float)) == 0);
		free(alone.pcm.data);
		free(jobs[i].pcm.data);
	}
}

static void test_bad(const char *name, int expect_errno, const char *reason)
{
	char path[4096], err[DECODE_ERROR_MAX];
	struct decode_info info;

	path_of(path, sizeof(path), name);
	fprintf(stderr, "bad: %s\n", name);
	strcpy(err, "");
	errno = 0;
	struct decoder *dec = decode_open(path, err, sizeof(err));
	CHECK(dec == NULL);
	fprintf(stderr, "  open: %s (%s)\n", err, strerror(errno));
	CHECK(errno != 0);
	if (expect_errno)
		CHECK_INT(errno, ==, expect_errno);
	CHECK(err[0] != '\0');
	CHECK(strstr(err, reason) != NULL);

	strcpy(err, "");
	memset(&info, 0xa5, sizeof(info));
	int rc = decode_probe(path, &info, err, sizeof(err));
	CHECK_INT(rc, <, 0);
	CHECK(err[0] != '\0');
	CHECK(strstr(err, reason) != NULL);
	CHECK_STR(info.title, ""); /* cleared, not left half-filled */

	/* err may be NULL. */
	CHECK(decode_open(path, NULL, 0) == NULL);
	CHECK(decode_probe(path, NULL, NULL, 0) < 0);
}

/* Corrupt and truncated files play what they hold. */
static void test_damaged(const char *name, double seconds, double tol_s,
			 double header_s)
{
	char path[4096], err[DECODE_ERROR_MAX];
	struct pcm pcm = { 0 };
	struct decode_info info;

	path_of(path, sizeof(path), name);
	fprintf(stderr, "damaged: %s\n", name);
	CHECK_INT(decode_probe(path, &info, err, sizeof(err)), ==, 0);
	CHECK_NEAR(info.duration_s, header_s, 0.2);
	struct decoder *dec = decode_open(path, err, sizeof(err));
	CHECK(dec != NULL);
	decode_all(dec, &pcm, CHUNK_FRAMES);
	decode_close(dec);
	fprintf(stderr, "  %zu frames = %.3f s (header says %.3f s)\n",
		pcm.frames, (double)pcm.frames / DECODE_RATE, info.duration_s);
	CHECK_NEAR((double)pcm.frames / DECODE_RATE, seconds, tol_s);
	for (size_t i = 0; i < DECODE_CHANNELS * pcm.frames; i++)
		CHECK(isfinite(pcm.data[i]));
	/* Before and after the damage: still the 440 Hz tone. */
	CHECK_NEAR(tone_frequency(&pcm, 0, pcm.frames / 16, pcm.frames / 4),
		   440, 4.4);
	CHECK_NEAR(tone_frequency(&pcm, 1, pcm.frames - pcm.frames / 4,
				  pcm.frames - pcm.frames / 16), 440, 4.4);
	free(pcm.data);
}

/* Files made here rather than in the shared set: containers that are
 * recognised by their first bytes. */
static void test_containers(void)
{
	const char *dir = test_tmpdir("decode-containers");
	char path[4096], err[DECODE_ERROR_MAX];
	struct decode_info info;

	/* FLAC behind an ID3v2 tag (20 bytes of padding): still FLAC. */
	CHECK(test_sh("{ printf 'ID3\\004\\000\\000\\000\\000\\000\\024'; "
		      "head -c 20 /dev/zero; cat '%s/tone-550.flac'; } "
		      ">'%s/id3.flac'", fixtures, dir) == 0);
	snprintf(path, sizeof(path), "%.4000s/id3.flac", dir);
	CHECK_INT(decode_probe(path, &info, err, sizeof(err)), ==, 0);
	CHECK_INT(info.format, ==, DECODE_FORMAT_FLAC);
	CHECK_STR(info.title, "Five Fifty");
	CHECK_NEAR(info.duration_s, 15.0, 0.01);

	/* RF64 WAVE, 48 kHz mono 24 bit. */
	CHECK(test_sh("ffmpeg -nostdin -loglevel error -y -f lavfi "
		      "-i sine=f=440:d=2:sample_rate=48000 -c:a pcm_s24le "
		      "-rf64 always '%s/rf64.wav'", dir) == 0);
	snprintf(path, sizeof(path), "%.4000s/rf64.wav", dir);
	CHECK_INT(decode_probe(path, &info, err, sizeof(err)), ==, 0);
	CHECK_INT(info.format, ==, DECODE_FORMAT_WAV);
	CHECK_INT(info.source_rate_hz, ==, 48000);
	CHECK_INT(info.source_channels, ==, 1);
	CHECK_NEAR(info.duration_s, 2.0, 0.01);

	/* VBR MP3 (a "Xing" tag): length from the tag, average bitrate from
	 * its byte count, 5 s of audio. */
	CHECK(test_sh("sox -R -n -r 44100 -c 2 -b 16 '%s/v.wav' synth 5 "
		      "sine 440 gain -12 && ffmpeg -nostdin -loglevel error -y "
		      "-i '%s/v.wav' -c:a libmp3lame -q:a 2 '%s/vbr.mp3'",
		      dir, dir, dir) == 0);
	snprintf(path, sizeof(path), "%.4000s/vbr.mp3", dir);
	struct decoder *dec = decode_open(path, err, sizeof(err));
	CHECK(dec != NULL);
	info = *decode_get_info(dec);
	CHECK_NEAR(info.duration_s, 5.0, 0.01);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	fprintf(stderr, "vbr.mp3: %d kbit/s, %lld bytes\n", info.bitrate_kbps,
		(long long)st.st_size);
	CHECK_NEAR(info.bitrate_kbps, st.st_size * 8.0 / 5.0 / 1000.0,
		   0.05 * info.bitrate_kbps);
	struct pcm pcm = { 0 };
	decode_all(dec, &pcm, CHUNK_FRAMES);
	decode_close(dec);
	CHECK_INT(pcm.frames, ==, 5 * DECODE_RATE);
	CHECK_NEAR(tone_frequency(&pcm, 0, DECODE_RATE, 4 * DECODE_RATE),
		   440, 4.4);
	free(pcm.data);

	CHECK(test_sh("rm -rf '%s'", dir) == 0);
}

static void test_not_files(void)
{
	char err[DECODE_ERROR_MAX];

	errno = 0;
	CHECK(decode_open("/nonexistent/x.mp3", err, sizeof(err)) == NULL);
	CHECK_INT(errno, ==, ENOENT);
	CHECK(err[0] != '\0');
	CHECK_INT(decode_probe("/nonexistent/x.mp3", NULL, err, sizeof(err)),
		  ==, -ENOENT);
	CHECK(decode_open(fixtures, err, sizeof(err)) == NULL);
	CHECK_INT(errno, ==, EISDIR);
	CHECK(decode_read(NULL, NULL, 1) == -EINVAL);
	decode_close(NULL);
}

static void display(const char *artist, const char *title, const char *path,
		    size_t size, const char *want)
{
	char out[600];
	CHECK(size <= sizeof(out));
	memset(out, 'Z', sizeof(out));
	decode_display_title(artist, title, path, out, size);
	CHECK_STR(out, want);
	CHECK(valid_utf8(out));
}

static void test_display_title(void)
{
	display("A", "T", "/m/x.mp3", 64, "A - T");
	display("", "T", "/m/x.mp3", 64, "T");
	display(NULL, "T", "/m/x.mp3", 64, "T");
	display("A", "", "/m/x.mp3", 64, "x");
	display("", "", "/music/Some.Dir.v2/track.name.flac", 64,
		"track.name");
	display(NULL, NULL, "plain", 64, "plain");
	display(NULL, NULL, "/m/.hidden", 64, ".hidden");
	display(NULL, NULL, "/m/dir.d/noext", 64, "noext");
	display(NULL, NULL, NULL, 64, "");
	display("  A ", " T\n", "x", 64, "A - T");         /* trimmed */
	display("", "a\tb\nc", "x", 64, "a b c");          /* no controls */
	display("", "\xff" "ok", "x", 64, "\xef\xbf\xbd" "ok"); /* replaced */
	display("", "\xed\xa0\x80", "x", 64, "\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd");                            /* surrogate */
	display(NULL, NULL, "/m/Bj\xf6rk.mp3", 64, "Bj\xc3\xb6rk"); /* Latin-1 */
	display(NULL, NULL, "/m/Bj\xc3\xb6rk.mp3", 64, "Bj\xc3\xb6rk");
	/* Cut at a character boundary: "Caf" + "é" needs 6 bytes. */
	display("", "Caf\xc3\xa9", "x", 5, "Caf");
	display("", "Caf\xc3\xa9", "x", 6, "Caf\xc3\xa9");
	display("Artist", "Title", "x", 9, "Artist -");
	display("Artist", "Title", "x", 1, "");

	/* Long tags: each part is bounded, the result always terminated. */
	char big[1000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char out[DECODE_TAG_MAX];
	decode_display_title(big, big, "x", out, sizeof(out));
	CHECK_INT(strlen(out), ==, DECODE_TAG_MAX - 1);
}

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(void)
{
	/* xorshift32: fixed seed, the same files on every run. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Random bytes behind each container's magic number, some with plausible
 * structure further in (repeated MPEG headers, a RIFF fmt chunk, a FLAC
 * STREAMINFO, an Ogg page header), decoded to the end or rejected. */
static void test_random_files(void)
{
	static const unsigned char mpeg_header[4] = { 0xff, 0xfb, 0x90, 0x00 };
	const char *dir = test_tmpdir("decode-fuzz");
	char path[4096], err[DECODE_ERROR_MAX];
	unsigned char *data = malloc(65536);
	float *buf = malloc(777 * DECODE_CHANNELS * sizeof(float));
	int opened = 0, rejected = 0;

	/* TEST_DECODE_RANDOM_FILES=N runs a longer campaign by hand. */
	const char *count_env = getenv("TEST_DECODE_RANDOM_FILES");
	int count = count_env ? atoi(count_env) : 320;

	CHECK(data && buf);
	snprintf(path, sizeof(path), "%.4000s/random.bin", dir);
	for (int i = 0; i < count; i++) {
		size_t size = 4 + rng() % 16384;
		if (i % 10 == 9)
			size = 4 + rng() % 65000;
		for (size_t j = 0; j < size; j++)
			data[j] = (unsigned char)rng();
		switch (i % 8) {
		case 0: /* MPEG header at the start */
			memcpy(data, mpeg_header, 4);
			break;
		case 1: /* a header every frame (417 bytes at 128k/44.1k) */
			for (size_t j = 0; j + 4 <= size; j += 417)
				memcpy(data + j, mpeg_header, 4);
			break;
		case 2:
			memcpy(data, "OggS", 4);
			if (size > 64 && i % 12 == 2) {
				data[4] = 0; /* version */
				data[5] = 2; /* beginning of stream */
				data[26] = 1;
				data[27] = 30;
				memcpy(data + 28, "\x01vorbis", 7);
			}
			break;
		case 3:
			memcpy(data, "fLaC", 4);
			if (size > 42) {
				data[4] = 0x80; /* last block, STREAMINFO */
				data[5] = 0;
				data[6] = 0;
				data[7] = 34;
			}
			break;
		case 4:
			if (size < 44)
				size = 44;
			memcpy(data, "RIFF", 4);
			put_le32(data + 4, (uint32_t)size - 8);
			memcpy(data + 8, "WAVEfmt ", 8);
			if (i % 12 == 4) {
				put_le32(data + 16, 16);
				data[20] = 1; /* PCM */
				data[21] = 0;
			}
			break;
		case 5: /* ID3v2 header of random size, then random */
			if (size < 10)
				size = 10;
			memcpy(data, "ID3\x04\x00\x00", 6);
			for (int j = 6; j < 10; j++)
				data[j] &= 0x7f;
			break;
		case 6: /* an MP4 ftyp box, then random boxes */
			if (size < 40)
				size = 40;
			memcpy(data, "\0\0\0\030ftypM4A \0\0\0\0M4A mp42", 24);
			if (i % 16 == 6) {
				memcpy(data + 24, "\0\0\0\x10moov", 8);
			}
			break;
		case 7: /* the other magic numbers FFmpeg is trusted with */
			if (size < 64)
				size = 64;
			switch ((i / 8) % 6) {
			case 0:
				memcpy(data, "OggS\0\2", 6);
				data[26] = 1;
				data[27] = 19;
				memcpy(data + 28, "OpusHead", 8);
				break;
			case 1:
				memcpy(data, "FORM", 4);
				memcpy(data + 8, "AIFFCOMM", 8);
				break;
			case 2:
				memcpy(data, "\x30\x26\xb2\x75\x8e\x66\xcf\x11"
				       "\xa6\xd9\x00\xaa\x00\x62\xce\x6c", 16);
				break;
			case 3:
				memcpy(data, "wvpk", 4);
				break;
			case 4:
				memcpy(data, "MAC ", 4);
				break;
			case 5: /* ADTS headers every 300 bytes */
				for (size_t j = 0; j + 7 <= size; j += 300)
					memcpy(data + j,
					       "\xff\xf1\x50\x80\x25\x9f\xfc", 7);
				break;
			}
			break;
		}
		FILE *f = fopen(path, "wb");
		CHECK(f != NULL);
		CHECK(fwrite(data, 1, size, f) == size);
		CHECK(fclose(f) == 0);

		struct decoder *dec = decode_open(path, err, sizeof(err));
		if (!dec) {
			CHECK(err[0] != '\0');
			rejected++;
		} else {
			size_t frames = 0;
			ssize_t n;
			opened++;
			while ((n = decode_read(dec, buf, 777)) > 0) {
				frames += (size_t)n;
				/* a 64 KiB file cannot hold an hour */
				CHECK_INT(frames, <, 3600 * DECODE_RATE);
			}
			CHECK_INT(n, ==, 0);
			decode_close(dec);
		}
		struct decode_info info;
		int rc = decode_probe(path, &info, err, sizeof(err));
		CHECK(rc == 0 || err[0] != '\0');
	}
	fprintf(stderr, "random files: %d opened, %d rejected\n", opened,
		rejected);
	CHECK_INT(rejected, >, 0);
	unlink(path);
	rmdir(dir);
	free(buf);
	free(data);
}

/* Figures for the report; not asserted (valgrind and sanitizers run this
 * too). */
static void measure_speed(const char *name, double seconds)
{
	char path[4096], err[DECODE_ERROR_MAX];
	float *buf = malloc(4096 * DECODE_CHANNELS * sizeof(float));
	struct timespec t0, t1;
	const int rounds = 3;

	CHECK(buf != NULL);
	path_of(path, sizeof(path), name);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++) {
		struct decoder *dec = decode_open(path, err, sizeof(err));
		CHECK(dec != NULL);
		while (decode_read(dec, buf, 4096) > 0)
			;
		decode_close(dec);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double elapsed = (double)(t1.tv_sec - t0.tv_sec) +
			 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "speed: %s decodes at %.0fx real time\n", name,
		rounds * seconds / elapsed);
	free(buf);
}

/* The FFmpeg formats' fixtures, made for this run. */
static void ffmpeg_fixtures_make(void)
{
	const char *srcdir = getenv("top_srcdir");
	static char dir[4096];

	snprintf(dir, sizeof(dir), "%s", test_tmpdir("decode-ffmpeg"));
	if (test_sh("sh '%s/tests/make-format-fixtures.sh' '%s'",
		    srcdir ? srcdir : SRCDIR, dir) != 0) {
		fprintf(stderr, "tests/make-format-fixtures.sh failed\n");
		exit(TEST_HARD_ERROR);
	}
	ffdir = dir;
}

/* A truncated file holds less than its header promises; the header alone,
 * or bytes that only look like one, are not a track. */
static void test_ffmpeg_bad(void)
{
	test_bad("ff/truncated.m4a", EINVAL, "truncated");
	test_bad("ff/truncated-faststart.m4a", EINVAL, "truncated");
	test_bad("ff/random.m4a", EINVAL, "not an audio file");
	test_bad("ff/ftyp-garbage.m4a", EINVAL, "truncated");
	test_bad("ff/truncated-header.opus", EINVAL, "truncated");
}

/* FFmpeg's messages go to our log at debug level only. */
static void test_ffmpeg_quiet(void)
{
	char path[4096], err[DECODE_ERROR_MAX];
	path_of(path, sizeof(path), "ff/ftyp-garbage.m4a");
	log_set_level(LOG_LEVEL_INFO);
	fflush(stderr);
	int saved = dup(2);
	FILE *capture = tmpfile();
	CHECK(saved >= 0 && capture != NULL);
	CHECK(dup2(fileno(capture), 2) >= 0);
	CHECK(decode_open(path, err, sizeof(err)) == NULL);
	fflush(stderr);
	CHECK(dup2(saved, 2) >= 0);
	close(saved);
	CHECK(fseek(capture, 0, SEEK_END) == 0);
	long logged = ftell(capture);
	fprintf(stderr, "ffmpeg quiet: %ld bytes logged at info level (%s)\n",
		logged, err);
	CHECK_INT(logged, ==, 0);
	fclose(capture);
}

int main(void)
{
	/* A hang is a failure, not a stuck test run. */
	alarm(600);
	fixtures = test_fixtures();
	ffmpeg_fixtures_make();

	test_display_title();
	test_not_files();
	test_containers();
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++)
		test_good(&goods[i]);
	test_chunking("tone-770-22k.ogg");
	test_chunking("tone-880-48k-mono.mp3");
	test_chunking("tone-330.wav");
	for (size_t i = 0; i < sizeof(ff_goods) / sizeof(ff_goods[0]); i++)
		test_good(&ff_goods[i]);
	test_chunking("ff/tone-660.opus");
	test_chunking("ff/alac-550-48k-mono.m4a");
	test_chunking("ff/tone-440.m4a");
	test_threads();
	test_ffmpeg_bad();
	test_ffmpeg_quiet();

	test_bad("zero.mp3", EINVAL, "empty file");
	test_bad("noise.mp3", EINVAL, "not an audio file");
	test_bad("text.ogg", EINVAL, "not an audio file");
	test_bad("truncated-header.ogg", EINVAL, "truncated");

	/* 8 KiB of noise replaces 8192 / 16000 = 0.51 s of 128 kbit/s audio. */
	test_damaged("corrupt-middle.mp3", 15.0 - 0.51, 0.3, 15.0);
	/* Its info frame claims 10 s; the size of a CBR file says 2 s. */
	test_damaged("truncated.mp3", 2.0, 0.15, 2.0);
	/* The same 8 KiB of noise in the middle of an AAC .m4a. */
	test_damaged("ff/corrupt-middle.m4a", 15.0 - 0.51, 0.3, 15.0);

	test_random_files();

	measure_speed("tone-440.mp3", 20.0);
	measure_speed("tone-660.ogg", 20.0);
	measure_speed("tone-880-48k-mono.mp3", 15.0);
	measure_speed("tone-770-22k.ogg", 12.0);
	/* The same 440 Hz tone at 128 kbit/s: MP3 (mpg123), AAC (FFmpeg). */
	measure_speed("ff/tone-440.m4a", 10.0);
	measure_speed("ff/tone-660.opus", 10.0);
	measure_speed("ff/alac-550-48k-mono.m4a", 8.0);
	CHECK(test_sh("rm -rf '%s'", ffdir) == 0);
	return 0;
}
