/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * wav — the headers of the WAV files render writes, for a length known
 * before the first sample: the mix (16-bit PCM stereo, the canonical
 * 44-byte RIFF header every tool reads) and the decks (32-bit float, any
 * number of channels, WAVE_FORMAT_IEEE_FLOAT as sox writes it: no
 * speaker positions, since those channels are pairs of decks, not
 * loudspeakers; sox warns about WAVE_FORMAT_EXTENSIBLE float files).
 *
 * RIFF sizes are 32-bit, so a WAV file holds at most 4 GiB. The float
 * layout keeps a 28-byte JUNK chunk in front of "fmt " (EBU Tech 3306):
 * when the data does not fit in RIFF, the same layout is written as RF64,
 * with "RF64" for "RIFF", the JUNK chunk becoming the "ds64" chunk that
 * holds the 64-bit sizes, and 0xFFFFFFFF in the 32-bit size fields.
 * libsndfile, sox and ffmpeg read both. Two hours of four float channels
 * at 44.1 kHz are 5.1 GB: RF64.
 *
 * Samples follow the header little-endian, interleaved;
 * wav_put_float32() writes them so on any host.
 *
 * Pure functions on caller-owned buffers; any thread.
 */
#ifndef FOREVERFM_WAV_H
#define FOREVERFM_WAV_H

#include <stddef.h>
#include <stdint.h>

enum wav_sample {
	WAV_PCM16,   /* 16-bit signed integer PCM, canonical header */
	WAV_FLOAT32, /* 32-bit IEEE float, extensible, RIFF or RF64 */
};

/* The largest header wav_header() writes. */
#define WAV_HEADER_MAX 94

/* Writes into OUT (SIZE bytes) the header of a file of FRAMES frames of
 * CHANNELS (1..16) channels of SAMPLE at RATE Hz, and its length into
 * *LEN. Returns 0; -EINVAL for a bad argument; -ENOSPC when SIZE is too
 * small; -EFBIG when the data does not fit: WAV_PCM16 beyond 4 GiB
 * (wav_data_max()), WAV_FLOAT32 beyond 2^63 bytes. */
int wav_header(unsigned char *out, size_t size, enum wav_sample sample,
	       unsigned channels, uint32_t rate, uint64_t frames,
	       size_t *len);

/* The most data bytes a WAV_PCM16 header can describe. */
uint64_t wav_data_max(enum wav_sample sample);

/* N floats into 4 N bytes at OUT, IEEE little-endian. */
void wav_put_float32(unsigned char *out, const float *in, size_t n);

#endif
