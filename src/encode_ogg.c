/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encode_ogg — the libvorbis + libogg backend of the encode module: float
 * stereo 44.1 kHz in, Ogg pages out, Vorbis VBR at quality -0.1 .. 1.0.
 *
 * DESIGN
 * A logical stream is vorbis_info + vorbis_dsp_state + vorbis_block and an
 * ogg_stream_state with its own serial number. It begins lazily, at the
 * first write after creation or after a track change: the three header
 * packets go first and are flushed to pages of their own, as the Ogg Vorbis
 * spec asks and as Icecast needs to find the codec and the comments
 * (ENCODER=foreverfm, ARTIST, TITLE) of each new link.
 *
 * Chained (the default): encode_track() ends the current logical stream
 * (vorbis_analysis_wrote(0), drain every packet, flush pages; the last
 * packet carries end-of-stream), and its comments become those of the next
 * one. Players and Icecast read the new title from the new link. Before the
 * first write it only sets the comments of the first link.
 * Unchained: one logical stream for the whole connection, its TITLE the
 * configured stream_title; encode_track() changes nothing.
 *
 * Pages are cut with ogg_stream_pageout() (about 4 KiB each) while a link
 * runs, which keeps the overhead low and delays bytes by at most a page
 * (about 0.25 s at q0.4): that is latency, never lead, so pacing by frames
 * stays honest. Ends of links are flushed at once.
 *
 * The output buffer is allocated at create and never grows. One call emits
 * at most: the pages of one ENCODE_FRAMES_MAX block (a Vorbis long block is
 * 2048 frames; with lookahead at most four audio packets leave per call,
 * each a few KiB even at q1.0 on white noise), whatever was still held in
 * the Ogg stream (under one page, at most 64 KiB by the Ogg format), the end
 * of the previous link and the headers of the next (a few KiB, codebooks
 * included): about 40 KiB. ENCODE_OGG_BUF_BYTES is three times that; the
 * largest call measured (white noise at q1.0 with track changes, in
 * test_encode) is under 10 KiB. Going past it is a bug: -ENOBUFS.
 *
 * Memory: libvorbis keeps its own analysis buffers and reallocates them
 * per link (once per track), not per call.
 */
#include "autoconfig.h"

#include "encode_internal.h"

#include <errno.h>
#include <ogg/ogg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vorbis/codec.h>
#include <vorbis/vorbisenc.h>

#define ENCODE_OGG_BUF_BYTES (128 * 1024)
#define ENCODE_OGG_TAG_MAX 512

struct encode_ogg {
	double quality;
	bool chained;
	int nominal_kbps;
	uint32_t serial;

	bool os_ready;      /* os initialised (kept across links) */
	bool in_link;       /* a logical stream is running */
	ogg_stream_state os;
	vorbis_info vi;
	vorbis_comment vc;
	vorbis_dsp_state vd;
	vorbis_block vb;

	/* Comments of the next link. */
	char artist[ENCODE_OGG_TAG_MAX];
	char title[ENCODE_OGG_TAG_MAX];

	unsigned char *buf;
	size_t len;
};

/* Copies src into dst, cutting at a UTF-8 character boundary. */
static void ogg_copy_tag(char *dst, size_t dst_size, const char *src)
{
	size_t n = strlen(src);
	if (n >= dst_size) {
		n = dst_size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Serial numbers differ between links and between encoders of one
 * process; the random start keeps separate runs apart. */
static uint32_t ogg_next_serial(void)
{
	static atomic_uint counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint32_t seed = (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 16) ^
			((uint32_t)getpid() << 8);
	return seed + 0x9E3779B9u * (uint32_t)atomic_fetch_add(&counter, 1);
}

static int ogg_append(struct encode_ogg *o, const unsigned char *p, long n)
{
	if (n < 0 || (size_t)n > ENCODE_OGG_BUF_BYTES - o->len)
		return -ENOBUFS;
	memcpy(o->buf + o->len, p, (size_t)n);
	o->len += (size_t)n;
	return 0;
}

/* Moves finished pages into the output buffer; flush forces out a partial
 * page too (headers, end of a link). */
static int ogg_pages(struct encode_ogg *o, bool flush)
{
	ogg_page og;
	int rc = 0;
	while (flush ? ogg_stream_flush(&o->os, &og)
		     : ogg_stream_pageout(&o->os, &og)) {
		rc = ogg_append(o, og.header, og.header_len);
		if (rc == 0)
			rc = ogg_append(o, og.body, og.body_len);
		if (rc < 0)
			break;
	}
	return rc;
}

/* Feeds every packet libvorbis has ready into the Ogg stream. */
static int ogg_drain(struct encode_ogg *o)
{
	ogg_packet op;
	while (vorbis_analysis_blockout(&o->vd, &o->vb) == 1) {
		if (vorbis_analysis(&o->vb, NULL) != 0 ||
		    vorbis_bitrate_addblock(&o->vb) != 0)
			return -EIO;
		while (vorbis_bitrate_flushpacket(&o->vd, &op) == 1)
			if (ogg_stream_packetin(&o->os, &op) != 0)
				return -EIO;
	}
	return 0;
}

static int ogg_vorbis_init(vorbis_info *vi, double quality)
{
	vorbis_info_init(vi);
	if (vorbis_encode_init_vbr(vi, ENCODE_CHANNELS, ENCODE_RATE_HZ,
				   (float)quality) != 0) {
		vorbis_info_clear(vi);
		return -EINVAL;
	}
	return 0;
}

static void ogg_link_clear(struct encode_ogg *o)
{
	vorbis_block_clear(&o->vb);
	vorbis_dsp_clear(&o->vd);
	vorbis_comment_clear(&o->vc);
	vorbis_info_clear(&o->vi);
	o->in_link = false;
}

static int ogg_link_begin(struct encode_ogg *o)
{
	ogg_packet id, comments, codebooks;
	int rc = ogg_vorbis_init(&o->vi, o->quality);
	if (rc < 0)
		return -EIO;
	vorbis_comment_init(&o->vc);
	vorbis_comment_add_tag(&o->vc, "ENCODER", "foreverfm");
	if (o->artist[0])
		vorbis_comment_add_tag(&o->vc, "ARTIST", o->artist);
	if (o->title[0])
		vorbis_comment_add_tag(&o->vc, "TITLE", o->title);
	if (vorbis_analysis_init(&o->vd, &o->vi) != 0) {
		vorbis_comment_clear(&o->vc);
		vorbis_info_clear(&o->vi);
		return -EIO;
	}
	vorbis_block_init(&o->vd, &o->vb);
	o->in_link = true;

	o->serial = o->serial + 1 == 0 ? 1 : o->serial + 1;
	if (!o->os_ready) {
		if (ogg_stream_init(&o->os, (int)o->serial) != 0)
			return -ENOMEM;
		o->os_ready = true;
	} else if (ogg_stream_reset_serialno(&o->os, (int)o->serial) != 0) {
		return -EIO;
	}
	if (vorbis_analysis_headerout(&o->vd, &o->vc, &id, &comments,
				      &codebooks) != 0)
		return -EIO;
	if (ogg_stream_packetin(&o->os, &id) != 0 ||
	    ogg_stream_packetin(&o->os, &comments) != 0 ||
	    ogg_stream_packetin(&o->os, &codebooks) != 0)
		return -EIO;
	return ogg_pages(o, true);
}

static int ogg_link_end(struct encode_ogg *o)
{
	int rc = 0;
	if (!o->in_link)
		goto out;
	if (vorbis_analysis_wrote(&o->vd, 0) != 0) {
		rc = -EIO;
		goto out;
	}
	rc = ogg_drain(o);
	if (rc == 0)
		rc = ogg_pages(o, true);
out:
	if (o->in_link)
		ogg_link_clear(o);
	return rc;
}

static void *ogg_create(const struct encode_params *params, char *err,
			size_t err_size)
{
	struct encode_ogg *o = NULL;
	vorbis_info probe;
	int saved_errno = 0;

	if (!(params->quality >= -0.1 && params->quality <= 1.0)) {
		snprintf(err, err_size, "ogg: Vorbis quality %g is outside "
			 "-0.1..1.0", params->quality);
		saved_errno = EINVAL;
		goto out;
	}
	o = calloc(1, sizeof(*o));
	if (o)
		o->buf = malloc(ENCODE_OGG_BUF_BYTES);
	if (!o || !o->buf) {
		snprintf(err, err_size, "ogg: out of memory");
		saved_errno = ENOMEM;
		goto out;
	}
	o->quality = params->quality;
	o->chained = params->chained;
	o->serial = ogg_next_serial();
	if (params->stream_title)
		ogg_copy_tag(o->title, sizeof(o->title), params->stream_title);

	/* libvorbis's own estimate of the bitrate of this quality, for
	 * Icecast's directory; also proves the quality is usable. */
	if (ogg_vorbis_init(&probe, o->quality) < 0) {
		snprintf(err, err_size, "ogg: libvorbis rejected quality %g",
			 o->quality);
		saved_errno = EINVAL;
		goto out;
	}
	o->nominal_kbps = (int)((probe.bitrate_nominal + 500) / 1000);
	vorbis_info_clear(&probe);
out:
	if (saved_errno) {
		if (o)
			free(o->buf);
		free(o);
		errno = saved_errno;
		return NULL;
	}
	return o;
}

static void ogg_destroy(void *state)
{
	struct encode_ogg *o = state;
	if (!o)
		return;
	if (o->in_link)
		ogg_link_clear(o);
	if (o->os_ready)
		ogg_stream_clear(&o->os);
	free(o->buf);
	free(o);
}

static int ogg_write(void *state, const float *frames, size_t n_frames,
		     const unsigned char **out, size_t *out_len)
{
	struct encode_ogg *o = state;
	int rc = 0;

	o->len = 0;
	if (!o->in_link) {
		rc = ogg_link_begin(o);
		if (rc < 0)
			goto out;
	}
	float **pcm = vorbis_analysis_buffer(&o->vd, (int)n_frames);
	for (size_t i = 0; i < n_frames; i++) {
		pcm[0][i] = frames[2 * i];
		pcm[1][i] = frames[2 * i + 1];
	}
	if (vorbis_analysis_wrote(&o->vd, (int)n_frames) != 0) {
		rc = -EIO;
		goto out;
	}
	rc = ogg_drain(o);
	if (rc == 0)
		rc = ogg_pages(o, false);
out:
	*out = o->buf;
	*out_len = rc < 0 ? 0 : o->len;
	return rc;
}

static int ogg_track(void *state, const char *artist, const char *title,
		     const unsigned char **out, size_t *out_len)
{
	struct encode_ogg *o = state;
	int rc = 0;

	o->len = 0;
	if (!o->chained)
		goto out;
	rc = ogg_link_end(o);
	ogg_copy_tag(o->artist, sizeof(o->artist), artist);
	ogg_copy_tag(o->title, sizeof(o->title), title);
out:
	*out = o->buf;
	*out_len = rc < 0 ? 0 : o->len;
	return rc;
}

static int ogg_finish(void *state, const unsigned char **out, size_t *out_len)
{
	struct encode_ogg *o = state;
	o->len = 0;
	int rc = ogg_link_end(o);
	*out = o->buf;
	*out_len = rc < 0 ? 0 : o->len;
	return rc;
}

static int ogg_nominal_bitrate(const void *state)
{
	const struct encode_ogg *o = state;
	return o->nominal_kbps;
}

const struct encode_ops encode_ogg_ops = {
	.name = "ogg",
	.create = ogg_create,
	.destroy = ogg_destroy,
	.write = ogg_write,
	.track = ogg_track,
	.finish = ogg_finish,
	.nominal_bitrate = ogg_nominal_bitrate,
};
