/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_decode — libFuzzer target for the decoder: content sniffing and every
 * backend behind it (mpg123, vorbisfile, libsndfile, FFmpeg).
 *
 * Each input is written to a memfd and opened through its /proc path, the
 * way the library scan hands a checked file to the decoder. Besides the
 * sanitizers' own checks it asserts what callers rely on: a refused file
 * has a non-empty reason and errno set; an opened one has a sane rate,
 * channel count and valid tags, and decodes to finite samples and to an
 * end. Output is capped at 60 s per
 * input so that a valid long file does not stall the campaign.
 * Build and run with contrib/fuzz.sh decode (not part of make check).
 */
#include "autoconfig.h"

#include "decode.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_READ_FRAMES 4096
#define FUZZ_MAX_FRAMES (60 * DECODE_RATE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];
static float buf[FUZZ_READ_FRAMES * DECODE_CHANNELS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[DECODE_ERROR_MAX];
	size_t frames = 0;
	ssize_t n;

	if (fd < 0) {
		log_set_level(LOG_LEVEL_ERROR);
		fd = memfd_create("fuzz_decode", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();

	err[0] = '\0';
	errno = 0;
	struct decoder *dec = decode_open(path, err, sizeof(err));
	if (!dec) {
		if (err[0] == '\0' || errno == 0)
			abort();
		return 0;
	}
	const struct decode_info *info = decode_get_info(dec);
	if (info->source_rate_hz < 1000 || info->source_channels < 1 ||
	    strlen(info->artist) >= DECODE_TAG_MAX ||
	    strlen(info->title) >= DECODE_TAG_MAX ||
	    strlen(info->album) >= DECODE_TAG_MAX)
		abort();
	while ((n = decode_read(dec, buf, FUZZ_READ_FRAMES)) > 0) {
		for (size_t i = 0; i < (size_t)n * DECODE_CHANNELS; i++)
			if (!isfinite(buf[i]))
				abort();
		frames += (size_t)n;
		if (frames >= FUZZ_MAX_FRAMES)
			break;
	}
	if (n < 0)
		abort();
	decode_close(dec);
	return 0;
}
