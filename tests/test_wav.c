/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_wav — the WAV headers render writes, read back by an independent
 * reader (libsndfile): the mix's canonical 16-bit header, byte for byte;
 * the float layout as RIFF (channels, rate, format, length, samples as
 * written by wav_put_float32) and, for data beyond 4 GiB, as RF64 (a
 * sparse file of 5 GB: its length comes from the ds64 chunk); the limits
 * (-EFBIG, -ENOSPC, -EINVAL).
 */
#include "autoconfig.h"

#include "wav.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sndfile.h>
#include <stdint.h>

static char tmp[PATH_MAX];

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void write_file(const char *path, const void *head, size_t n_head,
		       const void *data, size_t n_data, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, head, n_head) == (ssize_t)n_head);
	if (n_data)
		CHECK(write(fd, data, n_data) == (ssize_t)n_data);
	if (size)
		CHECK(ftruncate(fd, (off_t)size) == 0); /* sparse */
	CHECK(close(fd) == 0);
}

static void test_pcm16(void)
{
	unsigned char h[WAV_HEADER_MAX];
	size_t len = 0;
	CHECK_INT(wav_header(h, sizeof(h), WAV_PCM16, 2, 44100, 1000, &len),
		  ==, 0);
	CHECK_INT(len, ==, 44);
	CHECK(memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVEfmt ", 8) == 0);
	CHECK_INT(le32(h + 4), ==, 36 + 4000);
	CHECK_INT(le32(h + 24), ==, 44100);
	CHECK_INT(le32(h + 28), ==, 44100 * 4);
	CHECK(memcmp(h + 36, "data", 4) == 0);
	CHECK_INT(le32(h + 40), ==, 4000);

	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/pcm16.wav", tmp);
	static int16_t pcm[2000];
	for (size_t i = 0; i < 2000; i++)
		pcm[i] = (int16_t)(i * 7 - 5000);
	write_file(path, h, len, pcm, sizeof(pcm), 0);
	SF_INFO si = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &si);
	CHECK(sf);
	CHECK_INT(si.frames, ==, 1000);
	CHECK_INT(si.channels, ==, 2);
	CHECK_INT(si.samplerate, ==, 44100);
	CHECK_INT(si.format, ==, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	static short back[2000];
	CHECK_INT(sf_readf_short(sf, back, 1000), ==, 1000);
	CHECK(memcmp(back, pcm, sizeof(pcm)) == 0);
	sf_close(sf);

	/* 4 GiB is the end of 16-bit WAV. */
	uint64_t max_frames = wav_data_max(WAV_PCM16) / 4;
	CHECK_INT(wav_header(h, sizeof(h), WAV_PCM16, 2, 44100, max_frames,
			     &len), ==, 0);
	CHECK_INT(wav_header(h, sizeof(h), WAV_PCM16, 2, 44100,
			     max_frames + 1, &len), ==, -EFBIG);
}

static void test_float(void)
{
	enum { FRAMES = 3000, CH = 4 };
	unsigned char h[WAV_HEADER_MAX];
	size_t len = 0;
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, CH, 44100, FRAMES,
			     &len), ==, 0);
	CHECK_INT(len, ==, WAV_HEADER_MAX);
	CHECK(memcmp(h, "RIFF", 4) == 0 && memcmp(h + 12, "JUNK", 4) == 0);
	CHECK_INT(le32(h + 4), ==, len - 8 + FRAMES * CH * 4);

	static float x[FRAMES * CH];
	static unsigned char bytes[sizeof(x)];
	for (size_t i = 0; i < FRAMES * CH; i++)
		x[i] = (float)(sin((double)i * 0.01) * (i % 7 == 0 ? 3 : 0.3));
	x[5] = -0.0f;
	x[6] = 1e-30f;
	wav_put_float32(bytes, x, FRAMES * CH);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/float.wav", tmp);
	write_file(path, h, len, bytes, sizeof(bytes), 0);
	SF_INFO si = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &si);
	CHECK(sf);
	CHECK_INT(si.frames, ==, FRAMES);
	CHECK_INT(si.channels, ==, CH);
	CHECK_INT(si.samplerate, ==, 44100);
	CHECK_INT(si.format, ==, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
	static float back[FRAMES * CH];
	CHECK_INT(sf_readf_float(sf, back, FRAMES), ==, FRAMES);
	/* Over full scale too: nothing is clipped or scaled. */
	CHECK(memcmp(back, x, sizeof(x)) == 0);
	sf_close(sf);
	/* sox agrees, when it is there (it reads the length from the header). */
	if (test_have_program("soxi"))
		CHECK_INT(test_sh("test \"$(soxi -s '%s')\" = %d", path,
				  FRAMES), ==, 0);
}

/* Two hours of the decks are 5.1 GB: RF64. */
static void test_rf64(void)
{
	const uint64_t frames = 7200ull * 44100;
	unsigned char h[WAV_HEADER_MAX];
	size_t len = 0;
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, 4, 44100, frames,
			     &len), ==, 0);
	CHECK(memcmp(h, "RF64", 4) == 0 && memcmp(h + 12, "ds64", 4) == 0);
	CHECK_INT(le32(h + 4), ==, 0xFFFFFFFFu);

	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/rf64.wav", tmp);
	write_file(path, h, len, NULL, 0, len + frames * 16);
	SF_INFO si = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &si);
	CHECK(sf);
	CHECK_INT(si.frames, ==, frames);
	CHECK_INT(si.channels, ==, 4);
	CHECK_INT(si.samplerate, ==, 44100);
	CHECK_INT(si.format, ==, SF_FORMAT_RF64 | SF_FORMAT_FLOAT);
	/* The far end reads (sparse: zeros). */
	float last[4] = { 1, 1, 1, 1 };
	CHECK_INT(sf_seek(sf, (sf_count_t)frames - 1, SEEK_SET), ==,
		  frames - 1);
	CHECK_INT(sf_readf_float(sf, last, 1), ==, 1);
	CHECK(last[0] == 0 && last[3] == 0);
	sf_close(sf);
	unlink(path);
}

static void test_limits(void)
{
	unsigned char h[WAV_HEADER_MAX];
	size_t len = 0;
	CHECK_INT(wav_header(h, 43, WAV_PCM16, 2, 44100, 1, &len), ==,
		  -ENOSPC);
	CHECK_INT(wav_header(h, WAV_HEADER_MAX - 1, WAV_FLOAT32, 2, 44100, 1,
			     &len), ==, -ENOSPC);
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, 0, 44100, 1, &len),
		  ==, -EINVAL);
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, 17, 44100, 1, &len),
		  ==, -EINVAL);
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, 2, 0, 1, &len), ==,
		  -EINVAL);
	CHECK_INT(wav_header(h, sizeof(h), (enum wav_sample)7, 2, 44100, 1,
			     &len), ==, -EINVAL);
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, 4, 44100,
			     UINT64_MAX / 4, &len), ==, -EFBIG);
	/* Empty files are files too. */
	CHECK_INT(wav_header(h, sizeof(h), WAV_FLOAT32, 4, 44100, 0, &len),
		  ==, 0);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s", test_tmpdir("wav"));
	test_pcm16();
	test_float();
	test_rf64();
	test_limits();
	test_sh("rm -rf '%s'", tmp);
	return 0;
}
