/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cover — visuals_cover_read(): a file's embedded cover art through
 * FFmpeg (libavformat finds the attached picture of any container it
 * reads: ID3 APIC, FLAC PICTURE, MP4 covr, Vorbis/Opus
 * METADATA_BLOCK_PICTURE; libavcodec decodes it; libswscale scales it to
 * VISUALS_COLOUR_SIDE square RGB for the k-means of visuals.c), and where
 * its bytes lie in the file, so that the status server can serve them
 * without parsing the file. See visuals.h.
 *
 * Runs in the analysis child only (analyze_file_visuals()), which is
 * where untrusted files are parsed: a picture that crashes a decoder
 * costs that child.
 */
#include "autoconfig.h"

#include "visuals.h"

#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#define COVER_CHUNK (1u << 20)
#define COVER_HEAD 64
/* Pictures larger than this (either side) are not decoded. */
#define COVER_SIDE_MAX 10000

/* True when the LEN bytes of FD at AT are IMG. */
static bool cover_matches(int fd, off_t at, const uint8_t *img, size_t len)
{
	uint8_t buf[4096];
	size_t done = 0;
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = pread(fd, buf, want, at + (off_t)done);
		if (n <= 0 || memcmp(buf, img + done, (size_t)n) != 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* The offset of the first copy of IMG in PATH, or -1. */
static int64_t cover_locate(const char *path, const uint8_t *img, size_t len)
{
	int64_t found = -1;
	size_t head = len < COVER_HEAD ? len : COVER_HEAD;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(COVER_CHUNK + COVER_HEAD);
	off_t base = 0;
	size_t keep = 0;

	if (fd < 0 || !buf || head == 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf + keep, COVER_CHUNK);
		if (n <= 0)
			break;
		size_t have = keep + (size_t)n;
		uint8_t *p = buf;
		while (have - (size_t)(p - buf) >= head &&
		       (p = memmem(p, have - (size_t)(p - buf), img, head))) {
			off_t at = base + (off_t)(p - buf);
			if (cover_matches(fd, at, img, len)) {
				found = (int64_t)at;
				goto out;
			}
			p++;
		}
		keep = have < head - 1 ? have : head - 1;
		memmove(buf, buf + have - keep, keep);
		base += (off_t)(have - keep);
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return found;
}

/* The limited-range twin of a deprecated full-range (yuvj) format. */
static enum AVPixelFormat cover_plain_format(int fmt)
{
	switch (fmt) {
	case AV_PIX_FMT_YUVJ420P: return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P: return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P: return AV_PIX_FMT_YUV444P;
	case AV_PIX_FMT_YUVJ440P: return AV_PIX_FMT_YUV440P;
	case AV_PIX_FMT_YUVJ411P: return AV_PIX_FMT_YUV411P;
	default: return (enum AVPixelFormat)fmt;
	}
}

/* Decodes PKT of ST and takes its dominant colour. */
static int cover_colour(const AVStream *st, const AVPacket *pkt,
			uint32_t *colour)
{
	static uint8_t rgb[VISUALS_COLOUR_SIDE * VISUALS_COLOUR_SIDE * 3];
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *ctx = NULL;
	AVFrame *frame = av_frame_alloc();
	struct SwsContext *sws = NULL;
	int rc = -ENOENT;

	if (!codec || !frame)
		goto out;
	ctx = avcodec_alloc_context3(codec);
	if (!ctx || avcodec_parameters_to_context(ctx, st->codecpar) < 0 ||
	    avcodec_open2(ctx, codec, NULL) < 0)
		goto out;
	if (avcodec_send_packet(ctx, pkt) < 0)
		goto out;
	int r = avcodec_receive_frame(ctx, frame);
	if (r == AVERROR(EAGAIN)) {
		avcodec_send_packet(ctx, NULL);
		r = avcodec_receive_frame(ctx, frame);
	}
	if (r < 0 || frame->width <= 0 || frame->height <= 0 ||
	    frame->width > COVER_SIDE_MAX || frame->height > COVER_SIDE_MAX)
		goto out;
	/* JPEG's YUV is full range: say so, rather than through the
	 * deprecated yuvj formats (swscale warns about them). */
	enum AVPixelFormat fmt = cover_plain_format(frame->format);
	bool full = fmt != frame->format ||
		    frame->color_range == AVCOL_RANGE_JPEG;
	sws = sws_getContext(frame->width, frame->height, fmt,
			     VISUALS_COLOUR_SIDE, VISUALS_COLOUR_SIDE,
			     AV_PIX_FMT_RGB24, SWS_AREA, NULL, NULL, NULL);
	if (!sws)
		goto out;
	if (full) {
		int *inv, *table, src_range, dst_range, bright, contrast, sat;
		if (sws_getColorspaceDetails(sws, &inv, &src_range, &table,
					     &dst_range, &bright, &contrast,
					     &sat) >= 0)
			sws_setColorspaceDetails(sws, inv, 1, table, dst_range,
						 bright, contrast, sat);
	}
	uint8_t *dst[4] = { rgb, NULL, NULL, NULL };
	int dst_stride[4] = { VISUALS_COLOUR_SIDE * 3, 0, 0, 0 };
	if (sws_scale(sws, (const uint8_t *const *)frame->data,
		      frame->linesize, 0, frame->height, dst, dst_stride) <= 0)
		goto out;
	rc = visuals_dominant_colour(rgb, VISUALS_COLOUR_SIDE *
				     VISUALS_COLOUR_SIDE, colour);
out:
	sws_freeContext(sws);
	avcodec_free_context(&ctx);
	av_frame_free(&frame);
	return rc;
}

int visuals_cover_read(const char *path, struct visuals *v)
{
	AVFormatContext *fmt = NULL;
	int rc = -ENOENT;

	if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
		return -ENOENT;
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		const AVStream *st = fmt->streams[i];
		const AVPacket *pkt = &st->attached_pic;
		uint32_t colour;
		if (!(st->disposition & AV_DISPOSITION_ATTACHED_PIC) ||
		    !pkt->data || pkt->size <= 0)
			continue;
		if (cover_colour(st, pkt, &colour) < 0)
			continue;
		const char *type = visuals_image_type(pkt->data,
						      (size_t)pkt->size);
		v->has_cover = true;
		v->colour = colour;
		v->colour_from = VISUALS_COLOUR_COVER;
		snprintf(v->cover_type, sizeof(v->cover_type), "%s",
			 type ? type : "");
		v->cover_offset = 0;
		v->cover_length = 0;
		if (type && (size_t)pkt->size <= VISUALS_COVER_MAX) {
			int64_t at = cover_locate(path, pkt->data,
						  (size_t)pkt->size);
			if (at >= 0) {
				v->cover_offset = at;
				v->cover_length = (uint32_t)pkt->size;
			}
		}
		log_debug("cover: %s: %s, %d bytes%s, colour #%06x", path,
			  type ? type : "unknown type", pkt->size,
			  v->cover_length ? "" : " (not stored verbatim)",
			  (unsigned)colour);
		rc = 0;
		break;
	}
	avformat_close_input(&fmt);
	return rc;
}
