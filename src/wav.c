/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * wav — WAV and RF64 headers for files of a known length. See wav.h.
 *
 * The float layout, byte offsets (RF64 in brackets):
 *     0 "RIFF" ["RF64"], 4 file size - 8 [0xFFFFFFFF], 8 "WAVE"
 *    12 "JUNK" ["ds64"], 16 28, 20 zeros [RIFF size, data size, sample
 *       count as 64-bit values, table length 0]
 *    48 "fmt ", 52 18, 56 WAVE_FORMAT_IEEE_FLOAT, channels, rate, bytes
 *       per second, block align, 32 bits, cbSize 0
 *    74 "fact", 78 4, 82 frames [0xFFFFFFFF]
 *    86 "data", 90 data size [0xFFFFFFFF], 94 samples.
 * A "fact" chunk is what the WAVE specification asks of every format but
 * integer PCM.
 */
#include "autoconfig.h"

#include "wav.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define WAV_PCM16_HEADER 44
#define WAV_FLOAT_HEADER 94
#define WAV_RIFF_MAX 0xFFFFFFFFu
#define WAV_CHANNELS_MAX 16

_Static_assert(WAV_FLOAT_HEADER <= WAV_HEADER_MAX, "WAV_HEADER_MAX");
_Static_assert(sizeof(float) == 4, "float is IEEE single precision");

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t wav_data_max(enum wav_sample sample)
{
	/* The RIFF size counts the header after its first 8 bytes. */
	if (sample == WAV_PCM16)
		return WAV_RIFF_MAX - (WAV_PCM16_HEADER - 8);
	return (uint64_t)INT64_MAX - WAV_FLOAT_HEADER;
}

static void wav_header_pcm16(unsigned char *h, unsigned channels,
			     uint32_t rate, uint32_t data_bytes)
{
	memcpy(h, "RIFF", 4);
	put_le32(h + 4, data_bytes + WAV_PCM16_HEADER - 8);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);                       /* fmt chunk size */
	put_le16(h + 20, 1);                        /* WAVE_FORMAT_PCM */
	put_le16(h + 22, (uint16_t)channels);
	put_le32(h + 24, rate);
	put_le32(h + 28, rate * channels * 2);      /* bytes per second */
	put_le16(h + 32, (uint16_t)(channels * 2)); /* block align */
	put_le16(h + 34, 16);                       /* bits per sample */
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, data_bytes);
}

static void wav_header_float(unsigned char *h, unsigned channels,
			     uint32_t rate, uint64_t frames,
			     uint64_t data_bytes)
{
	uint64_t riff = data_bytes + WAV_FLOAT_HEADER - 8;
	bool rf64 = riff > WAV_RIFF_MAX;

	memset(h, 0, WAV_FLOAT_HEADER);
	memcpy(h, rf64 ? "RF64" : "RIFF", 4);
	put_le32(h + 4, rf64 ? WAV_RIFF_MAX : (uint32_t)riff);
	memcpy(h + 8, "WAVE", 4);
	memcpy(h + 12, rf64 ? "ds64" : "JUNK", 4);
	put_le32(h + 16, 28);
	if (rf64) {
		put_le64(h + 20, riff);
		put_le64(h + 28, data_bytes);
		put_le64(h + 36, frames);
		/* 44: table length 0 */
	}
	memcpy(h + 48, "fmt ", 4);
	put_le32(h + 52, 18);
	put_le16(h + 56, 3);                        /* WAVE_FORMAT_IEEE_FLOAT */
	put_le16(h + 58, (uint16_t)channels);
	put_le32(h + 60, rate);
	put_le32(h + 64, rate * channels * 4);      /* bytes per second */
	put_le16(h + 68, (uint16_t)(channels * 4)); /* block align */
	put_le16(h + 70, 32);                       /* bits per sample */
	put_le16(h + 72, 0);                        /* no extension */
	memcpy(h + 74, "fact", 4);
	put_le32(h + 78, 4);
	put_le32(h + 82, rf64 ? WAV_RIFF_MAX : (uint32_t)frames);
	memcpy(h + 86, "data", 4);
	put_le32(h + 90, rf64 ? WAV_RIFF_MAX : (uint32_t)data_bytes);
}

int wav_header(unsigned char *out, size_t size, enum wav_sample sample,
	       unsigned channels, uint32_t rate, uint64_t frames,
	       size_t *len)
{
	unsigned bytes = sample == WAV_PCM16 ? 2 : 4;
	size_t need = sample == WAV_PCM16 ? WAV_PCM16_HEADER
					  : WAV_FLOAT_HEADER;

	if ((sample != WAV_PCM16 && sample != WAV_FLOAT32) || channels == 0 ||
	    channels > WAV_CHANNELS_MAX || rate == 0 ||
	    (uint64_t)rate * channels * bytes > WAV_RIFF_MAX || !out || !len)
		return -EINVAL;
	if (size < need)
		return -ENOSPC;
	if (frames > wav_data_max(sample) / (channels * bytes))
		return -EFBIG;
	uint64_t data_bytes = frames * channels * bytes;
	if (sample == WAV_PCM16)
		wav_header_pcm16(out, channels, rate, (uint32_t)data_bytes);
	else
		wav_header_float(out, channels, rate, frames, data_bytes);
	*len = need;
	return 0;
}

void wav_put_float32(unsigned char *out, const float *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		memcpy(&v, &in[i], sizeof(v));
		put_le32(out + 4 * i, v);
	}
}
