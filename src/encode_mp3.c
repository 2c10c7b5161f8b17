/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encode_mp3 — the LAME backend of the encode module: float stereo 44.1 kHz
 * in, a plain stream of MPEG-1 Layer III frames out (no Xing/Info tag, no
 * ID3 tag: a live stream has no beginning to patch and no end).
 *
 * CBR when bitrate_kbps > 0, else VBR (LAME's default VBR method) at
 * quality 0 (best) .. 9. The output sample rate is pinned to 44.1 kHz so
 * LAME never resamples low bitrates to MPEG-2 rates behind Icecast's back.
 *
 * Speed: LAME's algorithm quality (lame_set_quality, 0 slowest .. 9
 * fastest) is ENCODE_MP3_ALGORITHM_QUALITY = 7. Measured here on pink noise
 * (LAME's hardest case) at 128 kbps CBR, one core: -q 2 67x real time,
 * -q 5 140x, -q 7 210x (about 0.5 % of a core). Liquidsoap's %mp3 uses
 * -q 2 by default; 7 costs a third of that and still runs the
 * psychoacoustic model (8 and 9 do not), which is what a 128 kbps stream
 * needs. The mixer's time-stretch needs the CPU more.
 *
 * The output buffer is LAME's documented worst case for one call,
 * 1.25 * samples + 7200 bytes, for ENCODE_FRAMES_MAX frames; it also holds
 * the final flush (at most 7200 bytes). Titles travel as ICY metadata (the
 * output's job), so a track change leaves the bitstream alone.
 */
#include "autoconfig.h"

#include "encode_internal.h"

#include <errno.h>
#include <lame/lame.h>
#include <stdio.h>
#include <stdlib.h>

#define ENCODE_MP3_ALGORITHM_QUALITY 7
#define ENCODE_MP3_BUF_BYTES (ENCODE_FRAMES_MAX * 5 / 4 + 7200)

struct encode_mp3 {
	lame_global_flags *lame;
	int nominal_kbps;
	unsigned char buf[ENCODE_MP3_BUF_BYTES];
};

static bool mp3_bitrate_valid(int kbps)
{
	/* MPEG-1 Layer III at 44.1 kHz. */
	static const int rates[] = { 32, 40, 48, 56, 64, 80, 96, 112, 128,
				     160, 192, 224, 256, 320 };
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i] == kbps)
			return true;
	return false;
}

/* LAME's published average bitrates of the VBR presets V0..V9, so that
 * Icecast's directory shows a sensible number for a VBR stream. */
static int mp3_vbr_estimate_kbps(double quality)
{
	static const int kbps[] = { 245, 225, 190, 175, 165, 130, 115, 100,
				    85, 65 };
	int lo = (int)quality;
	if (lo >= 9)
		return kbps[9];
	double frac = quality - lo;
	return (int)(kbps[lo] + frac * (kbps[lo + 1] - kbps[lo]) + 0.5);
}

static void *mp3_create(const struct encode_params *params, char *err,
			size_t err_size)
{
	struct encode_mp3 *mp3 = NULL;
	int saved_errno = 0;

	if (params->bitrate_kbps > 0 && !mp3_bitrate_valid(params->bitrate_kbps)) {
		snprintf(err, err_size, "mp3: bitrate %d kbps is not an MPEG-1 "
			 "Layer III bitrate (32, 40, 48, 56, 64, 80, 96, 112, "
			 "128, 160, 192, 224, 256, 320)", params->bitrate_kbps);
		saved_errno = EINVAL;
		goto out;
	}
	if (params->bitrate_kbps <= 0 &&
	    !(params->quality >= 0.0 && params->quality <= 9.0)) {
		snprintf(err, err_size, "mp3: VBR quality %g is outside 0..9",
			 params->quality);
		saved_errno = EINVAL;
		goto out;
	}
	mp3 = calloc(1, sizeof(*mp3));
	if (!mp3) {
		snprintf(err, err_size, "mp3: out of memory");
		saved_errno = ENOMEM;
		goto out;
	}
	mp3->lame = lame_init();
	if (!mp3->lame) {
		snprintf(err, err_size, "mp3: lame_init failed");
		saved_errno = ENOMEM;
		goto out;
	}
	lame_set_in_samplerate(mp3->lame, ENCODE_RATE_HZ);
	lame_set_out_samplerate(mp3->lame, ENCODE_RATE_HZ);
	lame_set_num_channels(mp3->lame, ENCODE_CHANNELS);
	lame_set_mode(mp3->lame, JOINT_STEREO);
	lame_set_quality(mp3->lame, ENCODE_MP3_ALGORITHM_QUALITY);
	lame_set_bWriteVbrTag(mp3->lame, 0);
	lame_set_write_id3tag_automatic(mp3->lame, 0);
	if (params->bitrate_kbps > 0) {
		lame_set_VBR(mp3->lame, vbr_off);
		lame_set_brate(mp3->lame, params->bitrate_kbps);
		mp3->nominal_kbps = params->bitrate_kbps;
	} else {
		lame_set_VBR(mp3->lame, vbr_default);
		lame_set_VBR_quality(mp3->lame, (float)params->quality);
		mp3->nominal_kbps = mp3_vbr_estimate_kbps(params->quality);
	}
	if (lame_init_params(mp3->lame) < 0) {
		snprintf(err, err_size, "mp3: LAME rejected the parameters");
		saved_errno = EINVAL;
		goto out;
	}
out:
	if (saved_errno) {
		if (mp3 && mp3->lame)
			lame_close(mp3->lame);
		free(mp3);
		errno = saved_errno;
		return NULL;
	}
	return mp3;
}

static void mp3_destroy(void *state)
{
	struct encode_mp3 *mp3 = state;
	if (!mp3)
		return;
	lame_close(mp3->lame);
	free(mp3);
}

/* LAME returns -1 for a too small buffer, other negatives for internal
 * trouble; the first would be a sizing bug here. */
static int mp3_result(struct encode_mp3 *mp3, int n,
		      const unsigned char **out, size_t *out_len)
{
	if (n == -1)
		return -ENOBUFS;
	if (n < 0)
		return -EIO;
	*out = mp3->buf;
	*out_len = (size_t)n;
	return 0;
}

static int mp3_write(void *state, const float *frames, size_t n_frames,
		     const unsigned char **out, size_t *out_len)
{
	struct encode_mp3 *mp3 = state;
	int n = lame_encode_buffer_interleaved_ieee_float(mp3->lame, frames,
			(int)n_frames, mp3->buf, (int)sizeof(mp3->buf));
	return mp3_result(mp3, n, out, out_len);
}

static int mp3_track(void *state, const char *artist, const char *title,
		     const unsigned char **out, size_t *out_len)
{
	(void)state;
	(void)artist;
	(void)title;
	(void)out;
	(void)out_len;
	return 0;
}

static int mp3_finish(void *state, const unsigned char **out, size_t *out_len)
{
	struct encode_mp3 *mp3 = state;
	int n = lame_encode_flush(mp3->lame, mp3->buf, (int)sizeof(mp3->buf));
	return mp3_result(mp3, n, out, out_len);
}

static int mp3_nominal_bitrate(const void *state)
{
	const struct encode_mp3 *mp3 = state;
	return mp3->nominal_kbps;
}

const struct encode_ops encode_mp3_ops = {
	.name = "mp3",
	.create = mp3_create,
	.destroy = mp3_destroy,
	.write = mp3_write,
	.track = mp3_track,
	.finish = mp3_finish,
	.nominal_bitrate = mp3_nominal_bitrate,
};
