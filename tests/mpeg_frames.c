/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mpeg_frames — test tool: walks the MPEG audio frames of a file as a player
 * would and reports what it found, so integration tests can assert that a
 * received stream is valid.
 *
 *   mpeg_frames FILE
 *
 * Prints one line: "frames=N bytes=B skipped=S resyncs=R bitrate_kbps=K
 * samplerate=HZ duration_s=D" where skipped counts bytes before the first
 * frame, resyncs counts places after it where the next header was not where
 * the previous frame said (each is a broken frame), and bitrate_kbps is the
 * only bitrate seen or "mixed". Exit 0 when at least one frame was found,
 * 1 otherwise, 2 on usage or I/O errors. Only MPEG-1/2/2.5 Layer III, the
 * only thing foreverfm sends.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame_header {
	int bitrate_kbps;
	int samplerate_hz;
	size_t length;       /* bytes, header included */
	int samples;         /* per frame */
};

/* Parses the 4 bytes at p. Returns 0 when they are a Layer III header. */
static int header_parse(const unsigned char *p, struct frame_header *h)
{
	static const int bitrates[2][16] = {
		/* MPEG-1 Layer III */
		{ 0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, -1 },
		/* MPEG-2 / 2.5 Layer III */
		{ 0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, -1 },
	};
	static const int rates[3] = { 44100, 48000, 32000 };

	if (p[0] != 0xff || (p[1] & 0xe0) != 0xe0)
		return -1;
	int version = (p[1] >> 3) & 3;  /* 3 = MPEG-1, 2 = MPEG-2, 0 = 2.5 */
	int layer = (p[1] >> 1) & 3;    /* 1 = Layer III */
	int bitrate_index = p[2] >> 4;
	int rate_index = (p[2] >> 2) & 3;
	int padding = (p[2] >> 1) & 1;
	if (version == 1 || layer != 1 || bitrate_index == 0 ||
	    bitrate_index == 15 || rate_index == 3)
		return -1;
	int mpeg1 = version == 3;
	h->bitrate_kbps = bitrates[mpeg1 ? 0 : 1][bitrate_index];
	h->samplerate_hz = rates[rate_index] >> (version == 3 ? 0 : version == 2 ? 1 : 2);
	h->samples = mpeg1 ? 1152 : 576;
	h->length = (size_t)((mpeg1 ? 144 : 72) * h->bitrate_kbps * 1000 /
			     h->samplerate_hz + padding);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mpeg_frames FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
		perror(argv[1]);
		return 2;
	}
	fclose(f);

	size_t len = (size_t)size, pos = 0, skipped = 0;
	uint64_t frames = 0, resyncs = 0, samples = 0;
	int bitrate = 0, rate = 0;
	bool mixed = false;
	bool synced = false;

	while (pos + 4 <= len) {
		struct frame_header h;
		/* A header counts only if the frame it announces is followed by
		 * another header (or the end of the data), as players check. */
		if (header_parse(data + pos, &h) == 0 &&
		    (pos + h.length + 4 > len ||
		     header_parse(data + pos + h.length, &(struct frame_header){0}) == 0)) {
			if (pos + h.length > len)
				break; /* a partial last frame: the capture ended */
			if (frames == 0)
				skipped = pos;
			synced = true;
			frames++;
			samples += (uint64_t)h.samples;
			if (bitrate && h.bitrate_kbps != bitrate)
				mixed = true;
			bitrate = h.bitrate_kbps;
			rate = h.samplerate_hz;
			pos += h.length;
			continue;
		}
		if (synced) {
			resyncs++;
			synced = false;
		}
		pos++;
	}
	free(data);
	if (mixed)
		printf("frames=%llu bytes=%zu skipped=%zu resyncs=%llu bitrate_kbps=mixed samplerate=%d duration_s=%.3f\n",
		       (unsigned long long)frames, len, skipped,
		       (unsigned long long)resyncs, rate,
		       rate ? (double)samples / rate : 0.0);
	else
		printf("frames=%llu bytes=%zu skipped=%zu resyncs=%llu bitrate_kbps=%d samplerate=%d duration_s=%.3f\n",
		       (unsigned long long)frames, len, skipped,
		       (unsigned long long)resyncs, bitrate, rate,
		       rate ? (double)samples / rate : 0.0);
	return frames > 0 ? 0 : 1;
}
