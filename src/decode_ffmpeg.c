/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decode_ffmpeg — the decoder backend for everything mpg123, vorbisfile and
 * libsndfile do not read: AAC and ALAC in MP4/M4A, ADTS AAC, Opus and FLAC
 * in Ogg, WMA, AIFF, Monkey's Audio, WavPack, Matroska/WebM audio, CAF, TTA
 * and Musepack, through FFmpeg's libavformat, libavcodec and libswresample.
 * See decode.h for the contract and decode_internal.h for the backend
 * operations.
 *
 * DESIGN
 * Hostile files. decode.c sends a file here only when its first bytes are
 * one of the magic numbers above, and FFmpeg then has to agree twice: its
 * own probe must name the container with a score of at least
 * DECODE_FFMPEG_MIN_SCORE (more than a file extension alone would earn, so
 * three consistent ADTS frames, not one), and the container must be on
 * DECODE_FFMPEG_FORMATS, a list of audio containers only. FFmpeg reads
 * through our own AVIOContext on the decoder's fd: no URL is ever parsed and
 * no protocol is ever opened (protocol_whitelist is empty for references
 * inside a file, such as MP4 data references). The codec context runs one
 * thread, so a decoder stays one thread's work, as decode.h promises.
 * A file whose index (MP4's sample table) points past its end is
 * "truncated": a partial download or copy, refused rather than played to an
 * unexpected end. Packets the codec rejects are skipped, as mpg123 skips
 * corrupt frames, up to DECODE_FFMPEG_MAX_BAD_PACKETS in a row; decode_fill()
 * also ends a track that yields nothing for too long. Unlike the other
 * backends, FFmpeg takes its packets and frames from its own buffer pools
 * while decoding: decoding runs in the mixer and the analyser, never on the
 * output's real-time path.
 *
 * Logging. av_log is global: decode_ffmpeg_log() takes it over once (from
 * decode.c's pthread_once). FFmpeg's errors and warnings go to our log at
 * debug level only, since a bad file is logged once by its caller with the
 * reason; its info and chatter are dropped. The last error line of the
 * calling thread is kept (thread-local) so that a refusal can say what
 * FFmpeg saw ("moov atom not found") rather than "Invalid data".
 *
 * Samples. Each decoded AVFrame is converted by libswresample to interleaved
 * float stereo at the frame's own rate, in pieces of at most
 * DECODE_CHUNK_FRAMES (an APE frame holds seconds); decode.c's libsamplerate
 * converts the rate, as for every other format, so all formats resample
 * alike. Mono is duplicated at full level (swr's default would be -3 dB);
 * more channels are downmixed by swr's default matrix (centre and surrounds
 * at -3 dB), so a centred voice survives. The rate is fixed by the first
 * frame: a later frame at another rate ends the track, a change of sample
 * format or layout sets the converter up again.
 */
#include "autoconfig.h"

#include "decode.h"
#include "decode_internal.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

/* What FFmpeg's probe must score: above AVPROBE_SCORE_EXTENSION, which a
 * matching file name alone earns, and which ADTS AAC reaches with three
 * consistent frames. */
#define DECODE_FFMPEG_MIN_SCORE (AVPROBE_SCORE_EXTENSION + 1)
/* Bytes the probe may read; MP4 and Ogg are recognised in the first few. */
#define DECODE_FFMPEG_PROBE_BYTES (1 << 20)
#define DECODE_FFMPEG_IO_BYTES 32768
/* Packets the codec may reject in a row (corrupt data is skipped) before
 * the track ends: a few seconds of any codec. */
#define DECODE_FFMPEG_MAX_BAD_PACKETS 200
/* The containers we let FFmpeg demux (its demuxer names). */
#define DECODE_FFMPEG_FORMATS \
	"mov,mp4,m4a,3gp,3g2,mj2,aac,ogg,asf,aiff,ape,wv,matroska,webm," \
	"caf,tta,mpc,mpc8"

struct decode_ffmpeg {
	AVIOContext *pb;
	AVFormatContext *ic;
	AVCodecContext *cc;
	SwrContext *swr;
	AVPacket *pkt;
	AVFrame *frame;
	int stream;
	off_t pos;        /* where the next read of the fd starts */
	int frame_pos;    /* samples of frame already converted */
	bool frame_ready; /* frame holds samples not yet converted */
	bool flushed;     /* the decoder was told the input ended */
	int bad_packets;  /* rejected by the codec since the last frame */
	/* What swr is set up for: */
	int swr_format;
	int swr_channels;
	AVChannelLayout swr_layout;
};

static _Thread_local char ff_last_error[DECODE_ERROR_MAX];

/* av_log's callback: see the DESIGN note. */
static void ff_log(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[512];
	int print_prefix = 0;
	size_t n;

	if (level > AV_LOG_WARNING)
		return;
	if (level > AV_LOG_ERROR && log_get_level() < LOG_LEVEL_DEBUG)
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line),
			    &print_prefix);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n == 0)
		return;
	if (level <= AV_LOG_ERROR)
		snprintf(ff_last_error, sizeof(ff_last_error), "%s", line);
	log_debug("ffmpeg: %s", line);
}

void decode_ffmpeg_init(void)
{
	av_log_set_callback(ff_log);
}

static int ff_read(void *opaque, uint8_t *buf, int size)
{
	struct decoder *dec = opaque;
	ssize_t n;

	if (size <= 0)
		return AVERROR(EINVAL);
	n = decode_read_at(dec->fd, buf, (size_t)size, dec->ff->pos);
	if (n < 0)
		return AVERROR((int)-n);
	if (n == 0)
		return AVERROR_EOF;
	dec->ff->pos += n;
	return (int)n;
}

static int64_t ff_seek(void *opaque, int64_t offset, int whence)
{
	struct decoder *dec = opaque;
	struct stat st;
	int64_t to;

	whence &= ~AVSEEK_FORCE;
	if (whence == AVSEEK_SIZE || whence == SEEK_END) {
		if (fstat(dec->fd, &st) != 0)
			return AVERROR(errno);
		if (whence == AVSEEK_SIZE)
			return st.st_size;
		to = st.st_size + offset;
	} else if (whence == SEEK_SET) {
		to = offset;
	} else if (whence == SEEK_CUR) {
		to = dec->ff->pos + offset;
	} else {
		return AVERROR(EINVAL);
	}
	if (to < 0)
		return AVERROR(EINVAL);
	dec->ff->pos = (off_t)to;
	return to;
}

/* "FFmpeg's last error line" or, without one, its text for code. */
static void ff_reason(char *out, size_t size, const char *what, int code)
{
	char text[AV_ERROR_MAX_STRING_SIZE];

	if (ff_last_error[0]) {
		snprintf(out, size, "%.40s: %.180s", what, ff_last_error);
		return;
	}
	av_strerror(code, text, sizeof(text));
	snprintf(out, size, "%.40s: %s", what, text);
}

static enum decode_format ff_format_of(enum AVCodecID id,
				       enum decode_format sniffed)
{
	switch (id) {
	case AV_CODEC_ID_AAC:
	case AV_CODEC_ID_AAC_LATM:
		return DECODE_FORMAT_AAC;
	case AV_CODEC_ID_ALAC:
		return DECODE_FORMAT_ALAC;
	case AV_CODEC_ID_OPUS:
		return DECODE_FORMAT_OPUS;
	case AV_CODEC_ID_VORBIS:
		return DECODE_FORMAT_VORBIS;
	case AV_CODEC_ID_FLAC:
		return DECODE_FORMAT_FLAC;
	case AV_CODEC_ID_MP3:
		return DECODE_FORMAT_MP3;
	case AV_CODEC_ID_WMAV1:
	case AV_CODEC_ID_WMAV2:
	case AV_CODEC_ID_WMAPRO:
	case AV_CODEC_ID_WMALOSSLESS:
	case AV_CODEC_ID_WMAVOICE:
		return DECODE_FORMAT_WMA;
	case AV_CODEC_ID_APE:
		return DECODE_FORMAT_APE;
	case AV_CODEC_ID_WAVPACK:
		return DECODE_FORMAT_WAVPACK;
	default:
		return sniffed == DECODE_FORMAT_AIFF ? DECODE_FORMAT_AIFF
						     : DECODE_FORMAT_OTHER;
	}
}

/* The first of KEYS set in the container's or the stream's metadata. */
static const char *ff_tag(const AVFormatContext *ic, const AVStream *st,
			  const char *const *keys)
{
	for (const char *const *k = keys; *k; k++) {
		const AVDictionaryEntry *e = av_dict_get(ic->metadata, *k,
							 NULL, 0);
		if (!e || !e->value[0])
			e = av_dict_get(st->metadata, *k, NULL, 0);
		if (e && e->value[0])
			return e->value;
	}
	return NULL;
}

static void ff_read_tags(struct decoder *dec, const AVStream *st)
{
	static const char *const artist[] = { "artist", "album_artist",
					      "author", "composer", NULL };
	static const char *const title[] = { "title", NULL };
	static const char *const album[] = { "album", NULL };
	const AVFormatContext *ic = dec->ff->ic;

	decode_tag_set(dec->info.artist, ff_tag(ic, st, artist));
	decode_tag_set(dec->info.title, ff_tag(ic, st, title));
	decode_tag_set(dec->info.album, ff_tag(ic, st, album));
	for (unsigned i = 0; i < ic->nb_streams; i++)
		if (ic->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC)
			dec->info.has_cover = true;
}

/* Sets swr up for frames like FRAME. Returns 0 or a negative errno. */
static int ff_swr_setup(struct decode_ffmpeg *ff, const AVFrame *frame)
{
	AVChannelLayout in = { 0 };
	AVChannelLayout out = AV_CHANNEL_LAYOUT_STEREO;
	int channels = frame->ch_layout.nb_channels;
	int rc = 0;

	swr_free(&ff->swr);
	av_channel_layout_uninit(&ff->swr_layout);
	if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&in, channels);
	else if (av_channel_layout_copy(&in, &frame->ch_layout) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (swr_alloc_set_opts2(&ff->swr, &out, AV_SAMPLE_FMT_FLT,
				frame->sample_rate, &in, frame->format,
				frame->sample_rate, 0, NULL) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (channels == 1) {
		const double both[2] = { 1.0, 1.0 };
		if (swr_set_matrix(ff->swr, both, 1) < 0) {
			rc = -EINVAL;
			goto out;
		}
	}
	if (swr_init(ff->swr) < 0) {
		rc = -EINVAL;
		goto out;
	}
	if (av_channel_layout_copy(&ff->swr_layout, &frame->ch_layout) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	ff->swr_format = frame->format;
	ff->swr_channels = channels;
out:
	if (rc < 0)
		swr_free(&ff->swr);
	av_channel_layout_uninit(&in);
	return rc;
}

/* Converts the next piece of ff->frame into dec->pcm. */
static void ff_convert(struct decoder *dec)
{
	struct decode_ffmpeg *ff = dec->ff;
	AVFrame *frame = ff->frame;
	const uint8_t *in[DECODE_MAX_SOURCE_CHANNELS];
	uint8_t *out[1] = { (uint8_t *)dec->pcm };
	int channels = frame->ch_layout.nb_channels;
	int bps = av_get_bytes_per_sample(frame->format);
	int n = frame->nb_samples - ff->frame_pos;
	int got;

	if (n > DECODE_CHUNK_FRAMES)
		n = DECODE_CHUNK_FRAMES;
	if (av_sample_fmt_is_planar(frame->format)) {
		for (int ch = 0; ch < channels; ch++)
			in[ch] = frame->extended_data[ch] +
				 (size_t)ff->frame_pos * (size_t)bps;
	} else {
		in[0] = frame->extended_data[0] + (size_t)ff->frame_pos *
			(size_t)bps * (size_t)channels;
	}
	got = swr_convert(ff->swr, out, DECODE_CHUNK_FRAMES, in, n);
	if (got < 0) {
		decode_fail(dec, "ffmpeg: sample conversion failed");
		return;
	}
	for (size_t i = 0; i < (size_t)got * DECODE_CHANNELS; i++)
		dec->pcm[i] = decode_finite_or_zero(dec->pcm[i]);
	dec->pcm_frames = (size_t)got;
	ff->frame_pos += n;
	if (ff->frame_pos >= frame->nb_samples) {
		av_frame_unref(frame);
		ff->frame_ready = false;
	}
}

/* Checks a new frame against the stream so far; sets the converter up
 * again when only its sample format or layout changed. */
static bool ff_frame_fits(struct decoder *dec)
{
	struct decode_ffmpeg *ff = dec->ff;
	const AVFrame *frame = ff->frame;
	int channels = frame->ch_layout.nb_channels;
	char why[DECODE_ERROR_MAX];

	if (frame->nb_samples <= 0 || frame->sample_rate <= 0 ||
	    channels < 1 || channels > DECODE_MAX_SOURCE_CHANNELS ||
	    av_get_bytes_per_sample(frame->format) <= 0) {
		snprintf(why, sizeof(why),
			 "ffmpeg: unusable frame (%d Hz, %d channels)",
			 frame->sample_rate, channels);
		decode_fail(dec, why);
		return false;
	}
	if (dec->info.source_rate_hz == 0) {
		dec->info.source_rate_hz = frame->sample_rate;
		dec->info.source_channels = channels;
	} else if (frame->sample_rate != dec->info.source_rate_hz) {
		snprintf(why, sizeof(why),
			 "sample rate changes mid-stream to %d Hz",
			 frame->sample_rate);
		decode_fail(dec, why);
		return false;
	}
	if (ff->swr && frame->format == ff->swr_format &&
	    channels == ff->swr_channels &&
	    av_channel_layout_compare(&frame->ch_layout,
				      &ff->swr_layout) == 0)
		return true;
	if (ff_swr_setup(ff, frame) < 0) {
		decode_fail(dec, "ffmpeg: cannot convert the samples");
		return false;
	}
	return true;
}

/* One step: converts from the pending frame, or takes a frame from the
 * codec, or feeds the codec one packet. dec->pcm_frames may stay 0. */
static void ff_fill(struct decoder *dec)
{
	struct decode_ffmpeg *ff = dec->ff;
	char why[DECODE_ERROR_MAX];
	int e;

	if (ff->frame_ready) {
		ff_convert(dec);
		return;
	}
	ff_last_error[0] = '\0'; /* the reason below is this call's */
	e = avcodec_receive_frame(ff->cc, ff->frame);
	if (e == 0) {
		ff->bad_packets = 0;
		ff->frame_pos = 0;
		ff->frame_ready = true;
		if (ff_frame_fits(dec))
			ff_convert(dec);
		return;
	}
	if (e == AVERROR_EOF) {
		dec->source_done = true;
		return;
	}
	if (e != AVERROR(EAGAIN)) {
		/* A decode error may surface here rather than at the send:
		 * skipped alike. */
		if (e == AVERROR(ENOMEM) ||
		    ++ff->bad_packets > DECODE_FFMPEG_MAX_BAD_PACKETS) {
			ff_reason(why, sizeof(why), "ffmpeg: decode", e);
			decode_fail(dec, why);
		}
		return;
	}
	if (ff->flushed) {
		dec->source_done = true;
		return;
	}
	e = av_read_frame(ff->ic, ff->pkt);
	if (e == AVERROR_EOF || e == AVERROR(EIO) || e == AVERROR_INVALIDDATA) {
		/* End of the data (a damaged tail ends the track where the
		 * readable part ends): drain what the codec holds. */
		if (e == AVERROR(EIO))
			log_debug("decode %s: read error, ending", dec->path);
		ff->flushed = true;
		avcodec_send_packet(ff->cc, NULL);
		return;
	}
	if (e < 0) {
		ff_reason(why, sizeof(why), "ffmpeg: read", e);
		decode_fail(dec, why);
		return;
	}
	if (ff->pkt->stream_index == ff->stream) {
		e = avcodec_send_packet(ff->cc, ff->pkt);
		/* A corrupt packet is skipped, as mpg123 skips bad frames;
		 * a run of them is not music any more. */
		if (e == AVERROR(ENOMEM)) {
			decode_fail(dec, "ffmpeg: out of memory");
		} else if (e < 0 && e != AVERROR(EAGAIN)) {
			if (++ff->bad_packets > DECODE_FFMPEG_MAX_BAD_PACKETS) {
				ff_reason(why, sizeof(why),
					  "ffmpeg: undecodable packets", e);
				decode_fail(dec, why);
			}
		}
	}
	av_packet_unref(ff->pkt);
}

/* True when the stream's index points past the end of the file, as the
 * sample table of a cut MP4 does; *need gets the bytes it points to. */
static bool ff_truncated(struct decoder *dec, AVStream *st, int64_t *need)
{
	struct stat sb;
	int count = avformat_index_get_entries_count(st);
	const AVIndexEntry *last;

	if (count <= 0 || fstat(dec->fd, &sb) != 0)
		return false;
	last = avformat_index_get_entry(st, count - 1);
	if (!last || last->pos < 0)
		return false;
	*need = last->pos + last->size;
	return *need > (int64_t)sb.st_size;
}

static int ff_open(struct decoder *dec, const struct decode_sniffed *sniffed,
		   char *err, size_t err_size)
{
	struct decode_ffmpeg *ff;
	const AVInputFormat *fmt = NULL;
	const AVCodec *codec = NULL;
	AVDictionary *opts = NULL;
	AVStream *st;
	unsigned char *iobuf = NULL;
	int64_t need = 0;
	int rc = 0, e, score;

	ff_last_error[0] = '\0';
	ff = dec->ff = calloc(1, sizeof(*ff));
	if (!ff) {
		snprintf(err, err_size, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ff->pkt = av_packet_alloc();
	ff->frame = av_frame_alloc();
	iobuf = av_malloc(DECODE_FFMPEG_IO_BYTES);
	if (ff->pkt && ff->frame && iobuf)
		ff->pb = avio_alloc_context(iobuf, DECODE_FFMPEG_IO_BYTES, 0,
					    dec, ff_read, NULL, ff_seek);
	if (!ff->pb) {
		av_free(iobuf);
		snprintf(err, err_size, "out of memory");
		rc = -ENOMEM;
		goto out;
	}

	score = av_probe_input_buffer2(ff->pb, &fmt, NULL, NULL, 0,
				       DECODE_FFMPEG_PROBE_BYTES);
	if (score < 0 || !fmt) {
		ff_reason(err, err_size, "not an audio file", score);
		rc = score == AVERROR(EIO) ? -EIO : -EINVAL;
		goto out;
	}
	if (score < DECODE_FFMPEG_MIN_SCORE ||
	    av_match_list(fmt->name, DECODE_FFMPEG_FORMATS, ',') <= 0) {
		snprintf(err, err_size,
			 "not an audio file (looks like %.40s, score %d)",
			 fmt->name, score);
		rc = -EINVAL;
		goto out;
	}

	ff->ic = avformat_alloc_context();
	if (!ff->ic) {
		snprintf(err, err_size, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ff->ic->pb = ff->pb;
	ff->ic->flags |= AVFMT_FLAG_CUSTOM_IO;
	av_dict_set(&opts, "protocol_whitelist", "none", 0);
	e = avformat_open_input(&ff->ic, "", fmt, &opts);
	if (e < 0) {
		/* ic is freed; the pb is ours. */
		ff_reason(err, err_size, "damaged or truncated", e);
		rc = e == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL;
		goto out;
	}
	e = avformat_find_stream_info(ff->ic, NULL);
	if (e < 0) {
		ff_reason(err, err_size, "damaged or truncated", e);
		rc = -EINVAL;
		goto out;
	}
	ff->stream = av_find_best_stream(ff->ic, AVMEDIA_TYPE_AUDIO, -1, -1,
					 &codec, 0);
	if (ff->stream == AVERROR_DECODER_NOT_FOUND) {
		int best = av_find_best_stream(ff->ic, AVMEDIA_TYPE_AUDIO,
					       -1, -1, NULL, 0);
		snprintf(err, err_size, "no decoder for %s audio",
			 best >= 0 ? avcodec_get_name(
				 ff->ic->streams[best]->codecpar->codec_id)
				   : "this");
		rc = -ENOTSUP;
		goto out;
	}
	if (ff->stream < 0) {
		snprintf(err, err_size, "not an audio file (no audio stream)");
		rc = -EINVAL;
		goto out;
	}
	st = ff->ic->streams[ff->stream];
	for (unsigned i = 0; i < ff->ic->nb_streams; i++)
		if ((int)i != ff->stream)
			ff->ic->streams[i]->discard = AVDISCARD_ALL;
	if (ff_truncated(dec, st, &need)) {
		snprintf(err, err_size,
			 "truncated: the index needs %lld bytes",
			 (long long)need);
		rc = -EINVAL;
		goto out;
	}

	ff->cc = avcodec_alloc_context3(codec);
	if (!ff->cc) {
		snprintf(err, err_size, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	e = avcodec_parameters_to_context(ff->cc, st->codecpar);
	if (e >= 0) {
		ff->cc->thread_count = 1;
		ff->cc->pkt_timebase = st->time_base;
		e = avcodec_open2(ff->cc, codec, NULL);
	}
	if (e < 0) {
		ff_reason(err, err_size, codec->name, e);
		rc = -EINVAL;
		goto out;
	}

	dec->info.format = ff_format_of(st->codecpar->codec_id,
					sniffed->format);
	if (ff->ic->duration > 0 && ff->ic->duration != AV_NOPTS_VALUE)
		dec->info.duration_s = (double)ff->ic->duration / AV_TIME_BASE;
	else if (st->duration > 0 && st->duration != AV_NOPTS_VALUE)
		dec->info.duration_s = (double)st->duration *
				       av_q2d(st->time_base);
	if (st->codecpar->bit_rate > 0)
		dec->info.bitrate_kbps = (int)(st->codecpar->bit_rate / 1000);
	else if (ff->ic->bit_rate > 0)
		dec->info.bitrate_kbps = (int)(ff->ic->bit_rate / 1000);
	ff_read_tags(dec, st);

	/* The first frame fixes the rate and channels (HE-AAC's real rate
	 * is only known once decoded), before decode.c sets up the
	 * resampler. */
	for (int tries = 0; tries < 1024 && !dec->source_done &&
	     dec->pcm_frames == 0; tries++)
		ff_fill(dec);
	if (dec->pcm_frames == 0) {
		if (dec->failed)
			snprintf(err, err_size, "no audio frames (%.200s)",
				 dec->fail_reason);
		else if (ff_last_error[0])
			snprintf(err, err_size, "no audio frames (%.200s)",
				 ff_last_error);
		else
			snprintf(err, err_size, "no audio frames");
		rc = -EINVAL;
		goto out;
	}
out:
	av_dict_free(&opts);
	return rc;
}

static void ff_close(struct decoder *dec)
{
	struct decode_ffmpeg *ff = dec->ff;

	if (!ff)
		return;
	swr_free(&ff->swr);
	av_channel_layout_uninit(&ff->swr_layout);
	avcodec_free_context(&ff->cc);
	avformat_close_input(&ff->ic);
	if (ff->pb) {
		av_freep(&ff->pb->buffer);
		avio_context_free(&ff->pb);
	}
	av_frame_free(&ff->frame);
	av_packet_free(&ff->pkt);
	free(ff);
	dec->ff = NULL;
}

const struct decode_backend decode_backend_ffmpeg = {
	.name = "ffmpeg",
	.open = ff_open,
	.fill = ff_fill,
	.close = ff_close,
};
