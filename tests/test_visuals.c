/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_visuals — the listener page's data (visuals.h): waveforms of
 * generated PCM with a known envelope, the bins of long tracks, the
 * k-means colour of generated pictures with a known dominant colour,
 * image types, the timbre colour, and the cover of real files made by
 * ffmpeg here (a blue PNG in an ID3 APIC frame, a FLAC PICTURE block and
 * an MP4 covr atom), read by FFmpeg and found in the file.
 */
#include "autoconfig.h"

#include <fcntl.h>

#include "analyze.h"
#include "visuals.h"
#include "testutil.h"

static struct visuals vis;
static struct visuals_wave wave;

/* SECONDS of stereo at 44.1 kHz whose level is LEVEL(t) (a square wave
 * at that amplitude: its peak is exactly the level). */
static void feed_level(double seconds, double (*level)(double t))
{
	float buf[2 * 1000];
	size_t total = (size_t)(seconds * 44100 + 0.5), done = 0;
	while (done < total) {
		size_t n = total - done < 1000 ? total - done : 1000;
		for (size_t i = 0; i < n; i++) {
			double t = (double)(done + i) / 44100;
			float s = (float)level(t) * ((done + i) % 100 < 50 ?
						     1.0f : -1.0f);
			buf[2 * i] = s;
			buf[2 * i + 1] = -s * 0.5f;
		}
		/* Odd block sizes: bins must not depend on them. */
		visuals_wave_feed(&wave, buf, n, 2);
		done += n;
	}
}

static double steps(double t)
{
	/* 0.5 for the first second, then 0.25, then silence, then above
	 * full scale. */
	return t < 1 ? 0.5 : t < 2 ? 0.25 : t < 3 ? 0 : 1.5;
}

static void test_waveform(void)
{
	visuals_wave_begin(&wave, 44100);
	feed_level(4.05, steps);
	memset(&vis, 0, sizeof(vis));
	visuals_wave_end(&wave, &vis);
	CHECK_INT(vis.peak_ms, ==, 100);
	/* 40 whole bins and the last half one. */
	CHECK_INT(vis.n_peaks, ==, 41);
	for (int i = 0; i < 10; i++)
		CHECK_INT(vis.peaks[i], ==, 128);   /* 0.5 * 255, rounded */
	for (int i = 10; i < 20; i++)
		CHECK_INT(vis.peaks[i], ==, 64);    /* 0.25 * 255 */
	for (int i = 20; i < 30; i++)
		CHECK_INT(vis.peaks[i], ==, 0);
	for (int i = 30; i < 41; i++)
		CHECK_INT(vis.peaks[i], ==, 255);   /* clipped */
}

static double ramp(double t)
{
	/* One level per 100 ms bin: the bins' order survives merging. */
	return fmod(floor(t * 10), 200) / 200.0;
}

static void test_waveform_long(void)
{
	/* 30 minutes: past 8192 bins of 100 ms twice, so 400 ms bins. */
	double seconds = 1800;
	visuals_wave_begin(&wave, 44100);
	feed_level(seconds, ramp);
	visuals_wave_end(&wave, &vis);
	CHECK_INT(vis.peak_ms, ==, 400);
	CHECK_INT(vis.n_peaks, ==, (int)(seconds * 1000 / 400));
	CHECK(vis.n_peaks <= VISUALS_PEAKS_MAX);
	/* Bin k holds the 100 ms levels 4k .. 4k+3: its peak is the last. */
	for (uint32_t k = 0; k < vis.n_peaks; k++) {
		double want = fmod(4.0 * k + 3, 200) / 200.0;
		CHECK_NEAR(vis.peaks[k], want * 255, 0.51);
	}
	/* An empty waveform has no bin. */
	visuals_wave_begin(&wave, 44100);
	visuals_wave_end(&wave, &vis);
	CHECK_INT(vis.n_peaks, ==, 0);
}

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 16;
}

static int channel(uint32_t c, int k)
{
	return (int)((c >> (16 - 8 * k)) & 0xff);
}

/* A picture whose share SHARE of pixels is WANT with a little noise, the
 * rest split between two other colours and random pixels. */
static void test_kmeans_case(uint32_t want, double share, uint32_t other1,
			     uint32_t other2)
{
	enum { N = 64 * 64 };
	static uint8_t rgb[N * 3];
	for (size_t i = 0; i < N; i++) {
		double u = (double)(rng() % 10000) / 10000.0;
		uint32_t c;
		int noise = 6;
		if (u < share)
			c = want;
		else if (u < share + (1 - share) * 0.4)
			c = other1;
		else if (u < share + (1 - share) * 0.8)
			c = other2;
		else {
			c = rng() & 0xffffff;
			noise = 0;
		}
		for (int k = 0; k < 3; k++) {
			int v = channel(c, k) + (noise ? (int)(rng() % (2 *
				noise + 1)) - noise : 0);
			rgb[3 * i + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
	uint32_t got;
	CHECK_INT(visuals_dominant_colour(rgb, N, &got), ==, 0);
	fprintf(stderr, "want #%06x (%.0f %%), got #%06x\n", (unsigned)want,
		share * 100, (unsigned)got);
	for (int k = 0; k < 3; k++)
		CHECK_NEAR(channel(got, k), channel(want, k), 6);
	/* The same picture gives the same colour. */
	uint32_t again;
	CHECK_INT(visuals_dominant_colour(rgb, N, &again), ==, 0);
	CHECK_INT(again, ==, got);
}

static void test_kmeans(void)
{
	test_kmeans_case(0x2a6fd4, 0.55, 0xf2f2f2, 0x101010);
	test_kmeans_case(0xc8202c, 0.40, 0x1e1e1e, 0xe0c060);
	/* A dark dominant colour beside a bright, smaller area. */
	test_kmeans_case(0x203040, 0.45, 0xffee00, 0x00ff88);
	/* One pixel, one colour; no pixel: an error. */
	uint8_t one[3] = { 1, 2, 3 };
	uint32_t got;
	CHECK_INT(visuals_dominant_colour(one, 1, &got), ==, 0);
	CHECK_INT(got, ==, 0x010203);
	CHECK_INT(visuals_dominant_colour(one, 0, &got), ==, -EINVAL);
}

static void test_types_and_timbre(void)
{
	CHECK(strcmp(visuals_image_type((const uint8_t *)"\xff\xd8\xff\xe0",
					4), "image/jpeg") == 0);
	CHECK(strcmp(visuals_image_type((const uint8_t *)"\x89PNG\r\n\x1a\n",
					8), "image/png") == 0);
	CHECK(strcmp(visuals_image_type((const uint8_t *)"GIF89a", 6),
		     "image/gif") == 0);
	CHECK(strcmp(visuals_image_type((const uint8_t *)"RIFF\0\0\0\0WEBP",
					12), "image/webp") == 0);
	CHECK(visuals_image_type((const uint8_t *)"<svg", 4) == NULL);
	CHECK(visuals_image_type((const uint8_t *)"\x89PNG", 4) == NULL);

	char hex[8];
	CHECK(strcmp(visuals_colour_hex(0x0a0b0c, hex), "#0a0b0c") == 0);

	/* Timbre: pure, mid-light, and different timbres differ. */
	struct analysis a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.mfcc_mean[1] = 5;
	a.mfcc_mean[2] = 1;
	a.energy = 0.8;
	b.mfcc_mean[1] = -3;
	b.mfcc_mean[2] = 4;
	b.energy = 0.2;
	uint32_t ca = visuals_timbre_colour(&a), cb = visuals_timbre_colour(&b);
	CHECK_INT(ca, ==, visuals_timbre_colour(&a));
	CHECK(ca != cb);
	for (int k = 0; k < 3; k++) {
		CHECK(channel(ca, k) >= 20);
		CHECK(channel(cb, k) >= 20);
	}
	a.mfcc_mean[1] = NAN;
	CHECK(visuals_timbre_colour(&a) <= 0xffffff);
}

#define COVER_RGB 0x3366cc

/* The files' cover: a 48x32 PNG (or JPEG: full-range YUV) of COVER_RGB,
 * its bytes verbatim in the file. */
static void test_cover(const char *dir, const char *name, const char *type)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(&vis, 0, sizeof(vis));
	CHECK_INT(visuals_cover_read(path, &vis), ==, 0);
	CHECK(vis.has_cover);
	CHECK_INT(vis.colour_from, ==, VISUALS_COLOUR_COVER);
	fprintf(stderr, "%s: #%06x, %s at %lld, %u bytes\n", name,
		(unsigned)vis.colour, vis.cover_type,
		(long long)vis.cover_offset, vis.cover_length);
	for (int k = 0; k < 3; k++)
		CHECK_NEAR(channel(vis.colour, k), channel(COVER_RGB, k), 4);
	CHECK(strcmp(vis.cover_type, type) == 0);
	CHECK(vis.cover_length > 8);
	uint8_t head[8];
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_INT(pread(fd, head, 8, vis.cover_offset), ==, 8);
	close(fd);
	CHECK(strcmp(visuals_image_type(head, 8), type) == 0);

	/* A file without a picture has none. */
	snprintf(path, sizeof(path), "%s/plain.mp3", dir);
	memset(&vis, 0, sizeof(vis));
	CHECK_INT(visuals_cover_read(path, &vis), ==, -ENOENT);
	CHECK(!vis.has_cover);
}

int main(void)
{
	test_waveform();
	test_waveform_long();
	test_kmeans();
	test_types_and_timbre();
	if (!test_have_program("ffmpeg")) {
		fprintf(stderr, "no ffmpeg: the covers are not tested\n");
		return TEST_SKIP;
	}
	const char *dir = test_tmpdir("visuals");
	const char *ff = "ffmpeg -nostdin -loglevel error -y -bitexact";
	if (test_sh("cd '%s' && %s -f lavfi -i color=c=0x%06x:s=48x32:d=1 "
		    "-frames:v 1 cover.png && %s -i cover.png -q:v 2 cover.jpg && "
		    "%s -f lavfi -i "
		    "sine=frequency=440:duration=2 -ac 2 a.wav && "
		    "%s -i a.wav -c:a libmp3lame plain.mp3 && "
		    "%s -i a.wav -i cover.png -map 0:a -map 1:v -c:a libmp3lame "
		    "-c:v copy -disposition:v:0 attached_pic -id3v2_version 3 "
		    "cover.mp3 && %s -i a.wav -i cover.png -map 0:a -map 1:v "
		    "-c:a flac -c:v copy -disposition:v:0 attached_pic "
		    "cover.flac && %s -i a.wav -i cover.png -map 0:a -map 1:v "
		    "-c:a aac -c:v copy -disposition:v:0 attached_pic cover.m4a && "
		    "%s -i a.wav -i cover.jpg -map 0:a -map 1:v -c:a libmp3lame "
		    "-c:v copy -disposition:v:0 attached_pic -id3v2_version 3 "
		    "jpeg.mp3",
		    dir, ff, COVER_RGB, ff, ff, ff, ff, ff, ff, ff) != 0) {
		fprintf(stderr, "ffmpeg could not make the covers\n");
		return TEST_HARD_ERROR;
	}
	test_cover(dir, "cover.mp3", "image/png");
	test_cover(dir, "cover.flac", "image/png");
	test_cover(dir, "cover.m4a", "image/png");
	test_cover(dir, "jpeg.mp3", "image/jpeg");
	test_sh("rm -rf '%s'", dir);
	return 0;
}
