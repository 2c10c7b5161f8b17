/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_encode — the MP3 and Ogg Vorbis encoders, checked by decoding what
 * they produce with the real decoders (libmpg123's feed API, libvorbisfile)
 * and walking the MPEG frame headers by hand.
 *
 * Ground truth is generated here: stereo tones of known frequency (a
 * different one per channel, so a swapped or collapsed channel shows), known
 * duration and known titles, including quotes and non-ASCII UTF-8.
 * It also prints the encoders' speed in multiples of real time (CPU time of
 * this process); the figure is information, never a pass/fail threshold.
 */
#include "autoconfig.h"

#include "encode.h"
#include "testutil.h"

#include <mpg123.h>
#include <stdint.h>
#include <time.h>
#include <vorbis/vorbisfile.h>

#define RATE 44100

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			exit(TEST_HARD_ERROR);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

struct tone {
	double phase_l, phase_r;
	double hz_l, hz_r;
	double amp;
};

static void tone_fill(struct tone *t, float *frames, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		frames[2 * i] = (float)(t->amp * sin(t->phase_l));
		frames[2 * i + 1] = (float)(t->amp * sin(t->phase_r));
		t->phase_l += 2 * M_PI * t->hz_l / RATE;
		t->phase_r += 2 * M_PI * t->hz_r / RATE;
		if (t->phase_l > 2 * M_PI)
			t->phase_l -= 2 * M_PI;
		if (t->phase_r > 2 * M_PI)
			t->phase_r -= 2 * M_PI;
	}
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Encodes seconds of tone t into b in calls of ENCODE_FRAMES_MAX frames;
 * returns the CPU seconds spent in the encoder. */
static double encode_tone(struct encoder *enc, struct tone *t, double seconds,
			  struct bytes *b)
{
	static float frames[2 * ENCODE_FRAMES_MAX];
	size_t total = (size_t)(seconds * RATE), done = 0;
	double cpu = 0;
	while (done < total) {
		size_t n = total - done < ENCODE_FRAMES_MAX ?
			   total - done : ENCODE_FRAMES_MAX;
		const unsigned char *out;
		size_t out_len;
		tone_fill(t, frames, n);
		double t0 = cpu_seconds();
		CHECK_INT(encode_write(enc, frames, n, &out, &out_len), ==, 0);
		cpu += cpu_seconds() - t0;
		bytes_add(b, out, out_len);
		done += n;
	}
	return cpu;
}

static void finish(struct encoder *enc, struct bytes *b)
{
	const unsigned char *out;
	size_t out_len;
	CHECK_INT(encode_finish(enc, &out, &out_len), ==, 0);
	bytes_add(b, out, out_len);
}

/* Frequency of channel ch of interleaved stereo pcm, by upward zero
 * crossings over frames [from, to). */
static double frequency(const float *pcm, size_t from, size_t to, int ch)
{
	size_t crossings = 0;
	for (size_t i = from + 1; i < to; i++)
		if (pcm[2 * (i - 1) + ch] < 0 && pcm[2 * i + ch] >= 0)
			crossings++;
	return crossings * (double)RATE / (double)(to - from);
}

static double rms(const float *pcm, size_t from, size_t to, int ch)
{
	double sum = 0;
	for (size_t i = from; i < to; i++)
		sum += (double)pcm[2 * i + ch] * pcm[2 * i + ch];
	return sqrt(sum / (double)(to - from));
}

/* --- MP3 ----------------------------------------------------------------- */

struct mp3_walk {
	size_t frames;
	int min_kbps, max_kbps;
};

/* Walks the byte stream frame by frame from its first byte: every frame
 * must start with a valid MPEG-1 Layer III header at 44.1 kHz, and the last
 * must end exactly at the end of the stream. */
static void mp3_walk(const struct bytes *b, struct mp3_walk *w)
{
	static const int kbps[16] = { 0, 32, 40, 48, 56, 64, 80, 96, 112, 128,
				      160, 192, 224, 256, 320, 0 };
	size_t pos = 0;
	memset(w, 0, sizeof(*w));
	w->min_kbps = 1000;
	while (pos < b->len) {
		CHECK(pos + 4 <= b->len);
		const unsigned char *h = b->p + pos;
		CHECK_INT(h[0], ==, 0xFF);
		CHECK_INT(h[1] & 0xFE, ==, 0xFA); /* MPEG-1, Layer III */
		int br = kbps[h[2] >> 4];
		CHECK(br > 0);
		CHECK_INT((h[2] >> 2) & 3, ==, 0);  /* 44.1 kHz */
		int padding = (h[2] >> 1) & 1;
		size_t len = (size_t)(144 * br * 1000 / RATE + padding);
		pos += len;
		w->frames++;
		if (br < w->min_kbps)
			w->min_kbps = br;
		if (br > w->max_kbps)
			w->max_kbps = br;
	}
	CHECK_INT(pos, ==, b->len);
}

/* Decodes an MP3 byte stream with libmpg123's feed API into interleaved
 * float stereo; returns the frame count. */
static size_t mp3_decode(const struct bytes *b, float **pcm_out)
{
	mpg123_handle *mh = mpg123_new(NULL, NULL);
	CHECK(mh != NULL);
	CHECK_INT(mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_FORCE_FLOAT, 0), ==,
		  MPG123_OK);
	CHECK_INT(mpg123_format_none(mh), ==, MPG123_OK);
	CHECK_INT(mpg123_format(mh, RATE, MPG123_STEREO, MPG123_ENC_FLOAT_32),
		  ==, MPG123_OK);
	CHECK_INT(mpg123_open_feed(mh), ==, MPG123_OK);
	struct bytes pcm = { 0 };
	unsigned char out[65536];
	size_t fed = 0;
	for (;;) {
		size_t chunk = 0, done = 0;
		if (fed < b->len)
			chunk = b->len - fed < 4096 ? b->len - fed : 4096;
		int rc = mpg123_decode(mh, b->p + fed, chunk, out, sizeof(out),
				       &done);
		fed += chunk;
		bytes_add(&pcm, out, done);
		if (rc == MPG123_NEW_FORMAT) {
			long rate;
			int channels, enc;
			CHECK_INT(mpg123_getformat(mh, &rate, &channels, &enc),
				  ==, MPG123_OK);
			CHECK_INT(rate, ==, RATE);
			CHECK_INT(channels, ==, 2);
			continue;
		}
		if (rc == MPG123_NEED_MORE && fed >= b->len)
			break;
		CHECK(rc == MPG123_OK || rc == MPG123_NEED_MORE);
	}
	mpg123_delete(mh);
	*pcm_out = (float *)pcm.p;
	return pcm.len / (2 * sizeof(float));
}

static void test_mp3_cbr(void)
{
	struct encode_params p = { .format = OUTPUT_FORMAT_MP3,
				   .bitrate_kbps = 128 };
	char err[256];
	struct encoder *enc = encode_create(&p, err, sizeof(err));
	if (!enc)
		fprintf(stderr, "encode_create: %s\n", err);
	CHECK(enc != NULL);
	CHECK_INT(encode_nominal_bitrate(enc), ==, 128);

	/* A track change leaves an MP3 bitstream alone. */
	const unsigned char *out;
	size_t out_len = 99;
	CHECK_INT(encode_track(enc, "A", "B", &out, &out_len), ==, 0);
	CHECK_INT(out_len, ==, 0);

	struct tone t = { .hz_l = 440, .hz_r = 1000, .amp = 0.5 };
	struct bytes b = { 0 };
	double seconds = 30;
	double cpu = encode_tone(enc, &t, seconds, &b);
	finish(enc, &b);
	printf("mp3 CBR 128 kbps: %.0fx real time (%.3f s CPU for %.0f s)\n",
	       seconds / cpu, cpu, seconds);

	/* CBR: 16000 bytes a second. */
	CHECK_NEAR(b.len, seconds * 16000, seconds * 16000 * 0.01);
	struct mp3_walk w;
	mp3_walk(&b, &w);
	CHECK_INT(w.min_kbps, ==, 128);
	CHECK_INT(w.max_kbps, ==, 128);
	/* No Xing/Info tag: the first frame is audio, so the frame count is
	 * the duration plus LAME's delay and padding, not one more. */
	CHECK_NEAR(w.frames, seconds * RATE / 1152, 3);

	float *pcm;
	size_t n = mp3_decode(&b, &pcm);
	CHECK_NEAR(n, seconds * RATE, 3 * 1152);
	CHECK_NEAR(frequency(pcm, RATE, n - RATE, 0), 440, 440 * 0.005);
	CHECK_NEAR(frequency(pcm, RATE, n - RATE, 1), 1000, 1000 * 0.005);
	CHECK_NEAR(rms(pcm, RATE, n - RATE, 0), 0.5 / sqrt(2), 0.02);
	CHECK_NEAR(rms(pcm, RATE, n - RATE, 1), 0.5 / sqrt(2), 0.02);
	free(pcm);

	/* Finished: no more work, and a clear error. */
	float frames[2] = { 0, 0 };
	CHECK_INT(encode_write(enc, frames, 1, &out, &out_len), ==, -EPIPE);
	CHECK_INT(encode_finish(enc, &out, &out_len), ==, -EPIPE);
	encode_destroy(enc);
	free(b.p);
}

static void test_mp3_vbr(void)
{
	struct encode_params p = { .format = OUTPUT_FORMAT_MP3,
				   .bitrate_kbps = 0, .quality = 4 };
	struct encoder *enc = encode_create(&p, NULL, 0);
	CHECK(enc != NULL);
	CHECK_INT(encode_nominal_bitrate(enc), ==, 165);
	struct tone t = { .hz_l = 523.25, .hz_r = 220, .amp = 0.3 };
	struct bytes b = { 0 };
	double seconds = 10;
	encode_tone(enc, &t, seconds, &b);
	finish(enc, &b);
	struct mp3_walk w;
	mp3_walk(&b, &w);
	CHECK_NEAR(w.frames, seconds * RATE / 1152, 3);
	/* A pure tone needs far fewer bits than the nominal rate. */
	CHECK(b.len < seconds * 165000 / 8);
	float *pcm;
	size_t n = mp3_decode(&b, &pcm);
	CHECK_NEAR(n, seconds * RATE, 3 * 1152);
	CHECK_NEAR(frequency(pcm, RATE, n - RATE, 0), 523.25, 523.25 * 0.005);
	CHECK_NEAR(frequency(pcm, RATE, n - RATE, 1), 220, 220 * 0.005);
	free(pcm);
	encode_destroy(enc);
	free(b.p);
}

/* --- Ogg Vorbis ------------------------------------------------------------ */

struct membuf {
	const struct bytes *b;
	size_t pos;
};

static size_t mem_read(void *ptr, size_t size, size_t nmemb, void *src)
{
	struct membuf *m = src;
	size_t want = size * nmemb, left = m->b->len - m->pos;
	if (want > left)
		want = left;
	memcpy(ptr, m->b->p + m->pos, want);
	m->pos += want;
	return size ? want / size : 0;
}

static int mem_seek(void *src, ogg_int64_t offset, int whence)
{
	struct membuf *m = src;
	ogg_int64_t base = whence == SEEK_SET ? 0 :
			   whence == SEEK_CUR ? (ogg_int64_t)m->pos :
			   (ogg_int64_t)m->b->len;
	if (base + offset < 0 || base + offset > (ogg_int64_t)m->b->len)
		return -1;
	m->pos = (size_t)(base + offset);
	return 0;
}

static long mem_tell(void *src)
{
	return (long)((struct membuf *)src)->pos;
}

static const char *comment(OggVorbis_File *vf, int link, const char *tag)
{
	vorbis_comment *vc = ov_comment(vf, link);
	CHECK(vc != NULL);
	const char *v = vorbis_comment_query(vc, tag, 0);
	return v ? v : "";
}

/* Decodes link `link` whole and returns the left and right frequencies. */
static void ogg_link_frequency(OggVorbis_File *vf, int link, double *l,
			       double *r)
{
	ogg_int64_t start = 0;
	for (int i = 0; i < link; i++)
		start += ov_pcm_total(vf, i);
	ogg_int64_t n = ov_pcm_total(vf, link);
	CHECK_INT(ov_pcm_seek(vf, start), ==, 0);
	float *pcm = malloc((size_t)n * 2 * sizeof(float));
	CHECK(pcm != NULL);
	ogg_int64_t got = 0;
	while (got < n) {
		float **ch;
		int bs;
		long k = ov_read_float(vf, &ch, (int)(n - got < 4096 ? n - got : 4096),
				       &bs);
		CHECK(k > 0);
		CHECK_INT(bs, ==, link);
		for (long i = 0; i < k; i++) {
			pcm[2 * (got + i)] = ch[0][i];
			pcm[2 * (got + i) + 1] = ch[1][i];
		}
		got += k;
	}
	/* Skip the edges, where the MDCT of a link's first and last block
	 * ramps. */
	*l = frequency(pcm, 4096, (size_t)n - 4096, 0);
	*r = frequency(pcm, 4096, (size_t)n - 4096, 1);
	free(pcm);
}

static void test_ogg_chained(void)
{
	static const struct {
		const char *artist, *title;
		double hz;
	} tracks[] = {
		{ "Björk", "Jóga \"live\" – l'été", 440 },
		{ "AC/DC", "It's a Long Way ☃ 日本語", 660 },
		{ "", "Untitled; StreamTitle='x';", 880 },
	};
	struct encode_params p = { .format = OUTPUT_FORMAT_OGG, .quality = 0.4,
				   .chained = true };
	struct encoder *enc = encode_create(&p, NULL, 0);
	CHECK(enc != NULL);
	int kbps = encode_nominal_bitrate(enc);
	CHECK(kbps >= 96 && kbps <= 160);

	struct bytes b = { 0 };
	double seconds = 6, cpu = 0;
	struct tone t = { .amp = 0.5 };
	for (size_t i = 0; i < 3; i++) {
		const unsigned char *out;
		size_t out_len;
		CHECK_INT(encode_track(enc, tracks[i].artist, tracks[i].title,
				       &out, &out_len), ==, 0);
		/* The first call only sets the comments; later ones end a
		 * link and return its last pages. */
		if (i == 0)
			CHECK_INT(out_len, ==, 0);
		else
			CHECK(out_len > 0);
		bytes_add(&b, out, out_len);
		t.hz_l = tracks[i].hz;
		t.hz_r = tracks[i].hz * 1.5;
		cpu += encode_tone(enc, &t, seconds, &b);
	}
	finish(enc, &b);
	encode_destroy(enc);
	printf("ogg q0.4: %.0fx real time (%.3f s CPU for %.0f s)\n",
	       3 * seconds / cpu, cpu, 3 * seconds);

	struct membuf m = { &b, 0 };
	ov_callbacks cb = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	CHECK_INT(ov_open_callbacks(&m, &vf, NULL, 0, cb), ==, 0);
	CHECK_INT(ov_streams(&vf), ==, 3);
	CHECK_NEAR(ov_pcm_total(&vf, -1), 3 * seconds * RATE,
		   3 * seconds * RATE * 0.01);
	for (int i = 0; i < 3; i++) {
		CHECK_STR(comment(&vf, i, "ENCODER"), "foreverfm");
		CHECK_STR(comment(&vf, i, "ARTIST"), tracks[i].artist);
		CHECK_STR(comment(&vf, i, "TITLE"), tracks[i].title);
		CHECK_INT(ov_info(&vf, i)->rate, ==, RATE);
		CHECK_INT(ov_info(&vf, i)->channels, ==, 2);
		CHECK_NEAR(ov_pcm_total(&vf, i), seconds * RATE,
			   seconds * RATE * 0.01);
		double l, r;
		ogg_link_frequency(&vf, i, &l, &r);
		CHECK_NEAR(l, tracks[i].hz, tracks[i].hz * 0.005);
		CHECK_NEAR(r, tracks[i].hz * 1.5, tracks[i].hz * 1.5 * 0.005);
	}
	/* Every link has a serial number of its own. */
	CHECK(ov_serialnumber(&vf, 0) != ov_serialnumber(&vf, 1));
	CHECK(ov_serialnumber(&vf, 1) != ov_serialnumber(&vf, 2));
	ov_clear(&vf);
	free(b.p);
}

static void test_ogg_unchained(void)
{
	struct encode_params p = { .format = OUTPUT_FORMAT_OGG, .quality = 0.0,
				   .chained = false,
				   .stream_title = "foreverfm — radio ✓" };
	struct encoder *enc = encode_create(&p, NULL, 0);
	CHECK(enc != NULL);
	struct bytes b = { 0 };
	struct tone t = { .hz_l = 330, .hz_r = 495, .amp = 0.4 };
	for (int i = 0; i < 3; i++) {
		const unsigned char *out;
		size_t out_len = 99;
		CHECK_INT(encode_track(enc, "Someone", "Something", &out,
				       &out_len), ==, 0);
		CHECK_INT(out_len, ==, 0);
		encode_tone(enc, &t, 2, &b);
	}
	finish(enc, &b);
	encode_destroy(enc);

	struct membuf m = { &b, 0 };
	ov_callbacks cb = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	CHECK_INT(ov_open_callbacks(&m, &vf, NULL, 0, cb), ==, 0);
	CHECK_INT(ov_streams(&vf), ==, 1);
	CHECK_STR(comment(&vf, 0, "TITLE"), "foreverfm — radio ✓");
	CHECK_STR(comment(&vf, 0, "ARTIST"), "");
	CHECK_NEAR(ov_pcm_total(&vf, -1), 6 * RATE, 6 * RATE * 0.01);
	ov_clear(&vf);
	free(b.p);
}

/* White noise at the highest quality, with track changes: the bounded
 * output buffer must hold every call. */
static void test_worst_case(enum output_format format, int kbps, double q)
{
	struct encode_params p = { .format = format, .bitrate_kbps = kbps,
				   .quality = q, .chained = true };
	struct encoder *enc = encode_create(&p, NULL, 0);
	CHECK(enc != NULL);
	static float frames[2 * ENCODE_FRAMES_MAX];
	uint32_t seed = 12345;
	size_t max_len = 0, total = 0;
	const unsigned char *out;
	size_t out_len;
	for (int call = 0; call < 160; call++) {
		for (size_t i = 0; i < 2 * ENCODE_FRAMES_MAX; i++) {
			seed = seed * 1664525u + 1013904223u;
			frames[i] = (float)((double)seed / 4294967296.0 * 2 - 1);
		}
		if (call % 40 == 39) {
			CHECK_INT(encode_track(enc, "Noise", "White", &out,
					       &out_len), ==, 0);
			total += out_len;
			if (out_len > max_len)
				max_len = out_len;
		}
		/* Odd sizes too: calls need not be whole blocks. */
		size_t n = call % 7 == 3 ? 1 + (size_t)call * 13 % ENCODE_FRAMES_MAX
					 : ENCODE_FRAMES_MAX;
		CHECK_INT(encode_write(enc, frames, n, &out, &out_len), ==, 0);
		total += out_len;
		if (out_len > max_len)
			max_len = out_len;
	}
	CHECK_INT(encode_finish(enc, &out, &out_len), ==, 0);
	if (out_len > max_len)
		max_len = out_len;
	total += out_len;
	CHECK(total > 0);
	printf("%s worst case: largest single call %zu bytes\n",
	       format == OUTPUT_FORMAT_MP3 ? "mp3 320" : "ogg q1.0", max_len);
	encode_destroy(enc);
}

static void test_bad_input(void)
{
	char err[256];
	struct encode_params p = { .format = OUTPUT_FORMAT_MP3,
				   .bitrate_kbps = 100 };
	errno = 0;
	CHECK(encode_create(&p, err, sizeof(err)) == NULL);
	CHECK_INT(errno, ==, EINVAL);
	CHECK(strstr(err, "100") != NULL);

	p.bitrate_kbps = 0;
	p.quality = 9.5;
	CHECK(encode_create(&p, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "0..9") != NULL);

	p.format = OUTPUT_FORMAT_OGG;
	p.quality = 1.5;
	CHECK(encode_create(&p, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "-0.1..1.0") != NULL);
	p.quality = NAN;
	CHECK(encode_create(&p, err, sizeof(err)) == NULL);

	p.format = (enum output_format)42;
	CHECK(encode_create(&p, err, sizeof(err)) == NULL);
	CHECK(encode_create(NULL, err, sizeof(err)) == NULL);

	p.format = OUTPUT_FORMAT_OGG;
	p.quality = 0.4;
	struct encoder *enc = encode_create(&p, NULL, 0);
	CHECK(enc != NULL);
	static float frames[2 * (ENCODE_FRAMES_MAX + 1)];
	const unsigned char *out;
	size_t out_len;
	CHECK_INT(encode_write(enc, frames, ENCODE_FRAMES_MAX + 1, &out,
			       &out_len), ==, -EINVAL);
	CHECK_INT(encode_write(enc, NULL, 10, &out, &out_len), ==, -EINVAL);
	CHECK_INT(encode_write(enc, frames, 10, NULL, &out_len), ==, -EINVAL);
	CHECK_INT(encode_write(enc, frames, 0, &out, &out_len), ==, 0);
	CHECK_INT(out_len, ==, 0);
	/* An encoder that never saw audio finishes with nothing. */
	CHECK_INT(encode_finish(enc, &out, &out_len), ==, 0);
	CHECK_INT(out_len, ==, 0);
	CHECK_INT(encode_track(enc, "a", "b", &out, &out_len), ==, -EPIPE);
	encode_destroy(enc);
	encode_destroy(NULL);
	CHECK_INT(encode_nominal_bitrate(NULL), ==, -EINVAL);
}

int main(void)
{
	test_bad_input();
	test_mp3_cbr();
	test_mp3_vbr();
	test_ogg_chained();
	test_ogg_unchained();
	test_worst_case(OUTPUT_FORMAT_MP3, 320, 0);
	test_worst_case(OUTPUT_FORMAT_OGG, 0, 1.0);
	return 0;
}
