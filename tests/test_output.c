/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_output — the Icecast outputs against a real icecast2, configured from
 * contrib/icecast.xml by tests/icecast-harness.sh, heard by tests/icy_listen
 * as a listener would hear them.
 *
 * A writer thread plays the mixer: a 440 Hz tone, 660 Hz from 4 s, 440 Hz
 * from 8 s and so on, with a ring marker (a new title, with quotes and
 * non-ASCII) at every change. Two outputs read the ring: MP3 CBR 128 on
 * /forever.mp3, chained Ogg Vorbis on /forever.ogg. Then, in order:
 *   1. MP3: valid MPEG frames end to end, 128 kbps, 44.1 kHz; ICY titles in
 *      order, each arriving within 1 s (of audio bytes) of the audible tone
 *      change; the amount received matches real time within the lead.
 *      Ogg, heard at the same time: one link per title, comments intact.
 *   2. Fallback: a listener stays connected while the MP3 output is
 *      replaced (Icecast plays contrib's /silence.mp3 meanwhile) and hears
 *      the tone again afterwards.
 *   3. A wrong password: one "authentication failed" line per attempt,
 *      retries with backoff, output_destroy() during the backoff is prompt;
 *      a second source on a live mount is told "mount in use".
 *   4. Icecast killed and restarted on the same port: both outputs come
 *      back by themselves within the backoff.
 *   5. The ring ends: the outputs finish, disconnect and end by themselves,
 *      and so, within a second, does one still failing to log in.
 *   6. Timeouts ([icecast] timeout_seconds = 1), against small servers in
 *      this program on loopback: one that never answers (the handshake is
 *      given up 1 s after it began, to within 0.3 s); one that answers
 *      "200 OK" and never reads (the send is given up about 1 s after the
 *      server's window filled, the connection is reset, not closed, and
 *      output_destroy() in the middle of such a send returns at once); one
 *      that reads slowly through a tiny window, just faster than real
 *      time, which must never be taken for a stalled one.
 * No password ever appears in what the outputs log (stderr is captured).
 * Skips (77) when icecast2 is not installed.
 */
#include "autoconfig.h"

#include "config.h"
#include "output.h"
#include "ring.h"
#include "testutil.h"

#include <fcntl.h>
#include <mpg123.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <vorbis/vorbisfile.h>

extern char **environ;

/* libshout 2.4.6's shout_free() frees nothing after shout_close() (see
 * output.c); keep LeakSanitizer builds about our own leaks. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libshout.so\n";
}

#define RATE 44100
#define SEGMENT_S 4
#define LISTEN_S 10

static const char *dir;
static const char *harness;
static char builddir[4000];
static int port;
static char password[64];
static int real_stderr = -1;
static bool passed;
/* Under valgrind every thread runs tens of times slower on one core: the
 * encoders cannot keep up with real time, so the checks that the stream is
 * not *behind* real time are skipped (never the ones that it is not
 * ahead). */
static bool slow;

static const char *const titles[] = {
	"Alpha – first",
	"Björk - \"Jóga\" ☃ l'été",
	"Gamma's <end> & 日本語",
};

static void title_of(int segment, char *artist, size_t asz, char *title,
		     size_t tsz, char *display, size_t dsz)
{
	if (segment < 3) {
		snprintf(display, dsz, "%s", titles[segment]);
		/* Split at " - " when there is one, as the mixer would. */
		const char *dash = strstr(titles[segment], " - ");
		if (dash) {
			snprintf(artist, asz, "%.*s",
				 (int)(dash - titles[segment]),
				 titles[segment]);
			snprintf(title, tsz, "%s", dash + 3);
		} else {
			artist[0] = '\0';
			snprintf(title, tsz, "%s", titles[segment]);
		}
	} else {
		snprintf(artist, asz, "Tester");
		snprintf(title, tsz, "Track %d", segment);
		snprintf(display, dsz, "Tester - Track %d", segment);
	}
}

static double segment_hz(int segment)
{
	return segment % 2 ? 660 : 440;
}

/* ---- the pretend mixer --------------------------------------------------- */

struct writer {
	struct ring *ring;
	pthread_t thread;
	atomic_bool stop;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	static float block[2 * 1024];
	double phase = 0;
	uint64_t frame = 0;
	while (!atomic_load(&w->stop)) {
		int segment = (int)(frame / (SEGMENT_S * RATE));
		if (frame % (SEGMENT_S * RATE) == 0) {
			struct ring_marker mk = { .track_id = segment + 1 };
			title_of(segment, mk.artist, sizeof(mk.artist), mk.title,
				 sizeof(mk.title), mk.display,
				 sizeof(mk.display));
			if (ring_mark(w->ring, &mk) == -EPIPE)
				break;
		}
		uint64_t left = (uint64_t)(segment + 1) * SEGMENT_S * RATE - frame;
		size_t n = left < 1024 ? (size_t)left : 1024;
		double hz = segment_hz(segment);
		for (size_t i = 0; i < n; i++) {
			float v = (float)(0.5 * sin(phase));
			block[2 * i] = v;
			block[2 * i + 1] = v;
			phase += 2 * M_PI * hz / RATE;
			if (phase > 2 * M_PI)
				phase -= 2 * M_PI;
		}
		if (ring_write(w->ring, block, n) < 0)
			break;
		frame += n;
	}
	return NULL;
}

/* ---- helpers ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void at_exit(void)
{
	if (!dir)
		return;
	if (!passed)
		test_sh("sh '%s' logs '%s' >&2", harness, dir);
	test_sh("sh '%s' stop '%s'", harness, dir);
	if (real_stderr >= 0) {
		/* Show what the outputs logged, in the test's log. */
		fflush(stderr);
		dup2(real_stderr, 2);
		test_sh("cat '%s/stderr.log' >&2", dir);
	}
	if (passed)
		test_sh("rm -rf '%s'", dir);
}

static bool mount_live(const char *mount)
{
	/* Live: listed with a stream_start in the same (flat) object;
	 * Icecast keeps listing a configured mount without one after its
	 * source has gone. */
	return test_sh("curl -sf --max-time 2 "
		       "http://127.0.0.1:%d/status-json.xsl | grep -q "
		       "'\"listenurl\":\"[^\"]*%s\"[^}]*\"stream_start\"'",
		       port, mount) == 0;
}

static bool wait_until_live(const char *mount, double timeout_s)
{
	double end = now_s() + timeout_s;
	while (now_s() < end) {
		if (mount_live(mount))
			return true;
		sleep_s(0.1);
	}
	return false;
}

/* What config_load() does for an [output.NAME] without its own server. */
static void use_server(struct config *cfg, size_t i, int server_port,
		       const char *pass)
{
	struct config_output *o = &cfg->outputs[i];
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = server_port;
	snprintf(o->user, sizeof(o->user), "source");
	snprintf(o->password, sizeof(o->password), "%s", pass);
	o->tls = false;
}

static struct config *make_config(const char *pass)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	CHECK(cfg != NULL);
	snprintf(cfg->icecast_host, sizeof(cfg->icecast_host), "127.0.0.1");
	cfg->icecast_port = port;
	snprintf(cfg->icecast_user, sizeof(cfg->icecast_user), "source");
	snprintf(cfg->icecast_password, sizeof(cfg->icecast_password), "%s",
		 pass);
	snprintf(cfg->station_name, sizeof(cfg->station_name),
		 "foreverfm test");
	snprintf(cfg->station_genre, sizeof(cfg->station_genre), "Test");
	cfg->outputs[0] = (struct config_output){ .name = "mp3",
		.mount = "/forever.mp3", .format = OUTPUT_FORMAT_MP3,
		.bitrate_kbps = 128 };
	cfg->outputs[1] = (struct config_output){ .name = "ogg",
		.mount = "/forever.ogg", .format = OUTPUT_FORMAT_OGG,
		.quality = 0.4, .chained = true };
	cfg->outputs[2] = (struct config_output){ .name = "wrong",
		.mount = "/wrong.mp3", .format = OUTPUT_FORMAT_MP3,
		.bitrate_kbps = 64 };
	cfg->outputs[3] = (struct config_output){ .name = "second",
		.mount = "/forever.ogg", .format = OUTPUT_FORMAT_OGG,
		.quality = 0.0, .chained = true };
	cfg->n_outputs = 4;
	cfg->icecast_timeout_s = 10;
	for (size_t i = 0; i < cfg->n_outputs; i++)
		use_server(cfg, i, port, pass);
	return cfg;
}

static pid_t listen_start(const char *mount, double seconds, const char *name)
{
	char url[256], secs[32], audio[4200], meta[4200], prog[4200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, mount);
	snprintf(secs, sizeof(secs), "%g", seconds);
	snprintf(audio, sizeof(audio), "%s/%s.audio", dir, name);
	snprintf(meta, sizeof(meta), "%s/%s.meta", dir, name);
	snprintf(prog, sizeof(prog), "%s/tests/icy_listen", builddir);
	char *argv[] = { prog, url, secs, audio, meta, NULL };
	pid_t pid;
	CHECK_INT(posix_spawn(&pid, prog, NULL, NULL, argv, environ), ==, 0);
	return pid;
}

static void listen_check(pid_t pid, int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "icy_listen %d failed\n", (int)pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), ==, 0);
}

static void listen_wait(pid_t pid)
{
	int status;
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	listen_check(pid, status);
}

/* Waits for a listener while sampling how far the output runs ahead of
 * real time (frames sent since it connected vs. time since then). */
static void listen_wait_pacing(pid_t pid, struct output *out,
			       double connected_at, double *min_ahead,
			       double *max_ahead)
{
	int status;
	*min_ahead = 1e9;
	*max_ahead = -1e9;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		CHECK(r >= 0);
		if (r == pid)
			break;
		struct output_stats st;
		output_get_stats(out, &st);
		double ahead = (double)st.frames_sent / RATE -
			       (now_s() - connected_at);
		if (ahead < *min_ahead)
			*min_ahead = ahead;
		if (ahead > *max_ahead)
			*max_ahead = ahead;
		sleep_s(0.02);
	}
	listen_check(pid, status);
}

struct bytes {
	unsigned char *p;
	size_t len;
};

static struct bytes slurp(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	struct bytes b = { 0 };
	CHECK_INT(fseek(f, 0, SEEK_END), ==, 0);
	long n = ftell(f);
	CHECK(n >= 0);
	rewind(f);
	b.p = malloc((size_t)n + 1);
	CHECK(b.p != NULL);
	b.len = fread(b.p, 1, (size_t)n, f);
	b.p[b.len] = '\0';
	fclose(f);
	return b;
}

/* ---- MPEG checks --------------------------------------------------------- */

static size_t mpeg_frame_len(const unsigned char *h)
{
	static const int kbps[16] = { 0, 32, 40, 48, 56, 64, 80, 96, 112, 128,
				      160, 192, 224, 256, 320, 0 };
	if (h[0] != 0xFF || (h[1] & 0xFE) != 0xFA)
		return 0;
	int br = kbps[h[2] >> 4];
	if (br == 0 || ((h[2] >> 2) & 3) != 0)
		return 0;
	return (size_t)(144 * br * 1000 / RATE + ((h[2] >> 1) & 1));
}

/* Finds the first frame boundary (Icecast's burst starts anywhere), then
 * walks: every following frame must be MPEG-1 Layer III, 128 kbps,
 * 44.1 kHz, back to back. Returns the offset of the first frame. */
static size_t mpeg_walk(const struct bytes *b, size_t *frames)
{
	size_t first = 0;
	for (; first + 4 <= b->len; first++) {
		size_t a = mpeg_frame_len(b->p + first);
		if (a && first + a + 4 <= b->len &&
		    mpeg_frame_len(b->p + first + a))
			break;
	}
	CHECK(first < 2000);
	size_t pos = first;
	*frames = 0;
	while (pos + 4 <= b->len) {
		const unsigned char *h = b->p + pos;
		size_t len = mpeg_frame_len(h);
		if (!len)
			fprintf(stderr, "bad MPEG frame header at %zu of %zu\n",
				pos, b->len);
		CHECK(len > 0);
		CHECK_INT(h[2] >> 4, ==, 9); /* 128 kbps */
		pos += len;
		(*frames)++;
	}
	return first;
}

/* Decodes to mono float (left channel) with libmpg123. */
static size_t mp3_decode(const unsigned char *p, size_t len, float **out)
{
	mpg123_handle *mh = mpg123_new(NULL, NULL);
	CHECK(mh != NULL);
	CHECK_INT(mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_FORCE_FLOAT, 0), ==,
		  MPG123_OK);
	CHECK_INT(mpg123_format_none(mh), ==, MPG123_OK);
	CHECK_INT(mpg123_format(mh, RATE, MPG123_STEREO, MPG123_ENC_FLOAT_32),
		  ==, MPG123_OK);
	/* Quiet: the fallback test feeds it the seams Icecast leaves when it
	 * switches a listener between sources. */
	CHECK_INT(mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_QUIET, 0), ==,
		  MPG123_OK);
	CHECK_INT(mpg123_open_feed(mh), ==, MPG123_OK);
	size_t cap = RATE * 30, n = 0, fed = 0;
	float *mono = malloc(cap * sizeof(float));
	CHECK(mono != NULL);
	static float buf[2 * 8192];
	for (;;) {
		size_t chunk = 0, done = 0;
		if (fed < len)
			chunk = len - fed < 4096 ? len - fed : 4096;
		int rc = mpg123_decode(mh, p + fed, chunk,
				       (unsigned char *)buf, sizeof(buf), &done);
		fed += chunk;
		for (size_t i = 0; i < done / (2 * sizeof(float)); i++) {
			if (n == cap) {
				cap *= 2;
				mono = realloc(mono, cap * sizeof(float));
				CHECK(mono != NULL);
			}
			mono[n++] = buf[2 * i];
		}
		if (rc == MPG123_NEW_FORMAT || rc == MPG123_OK)
			continue;
		if (rc == MPG123_NEED_MORE && fed >= len)
			break;
		CHECK(rc == MPG123_NEED_MORE);
	}
	mpg123_delete(mh);
	*out = mono;
	return n;
}

/* Power of hz in x[0..n) (Goertzel). */
static double goertzel(const float *x, size_t n, double hz)
{
	double k = 2 * cos(2 * M_PI * hz / RATE), s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s = x[i] + k * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/* 0 silence, 440 or 660: which tone a 20 ms window holds. */
static int window_tone(const float *x)
{
	const size_t n = RATE / 50;
	double energy = 0;
	for (size_t i = 0; i < n; i++)
		energy += (double)x[i] * x[i];
	if (energy / n < 0.01)
		return 0;
	double a = goertzel(x, n, 440), b = goertzel(x, n, 660);
	return a > 10 * b ? 440 : b > 10 * a ? 660 : -1;
}

/* Sample positions where the tone switches between 440 and 660. */
static size_t tone_changes(const float *x, size_t n, size_t *at, size_t max)
{
	const size_t w = RATE / 50;
	size_t count = 0;
	int last = 0;
	for (size_t i = 0; i + w <= n && count < max; i += w) {
		int t = window_tone(x + i);
		if (t <= 0)
			continue;
		if (last && t != last)
			at[count++] = i;
		last = t;
	}
	return count;
}

/* ---- the tests ----------------------------------------------------------- */

static void check_mp3_listener(double connected_at, double listen_start_at,
			       double listen_end)
{
	struct bytes audio = slurp("mp3.audio"), meta = slurp("mp3.meta");
	fprintf(stderr, "mp3 listener: %zu audio bytes; titles:\n%s",
		audio.len, (char *)meta.p);

	/* Pacing as a listener sees it: it gets Icecast's burst (at most what
	 * was sent before it came) and then real time. It can never hold more
	 * than the time since the output connected plus the lead, and it
	 * holds at least the time it listened. */
	double held_s = audio.len / 16000.0;
	fprintf(stderr, "mp3: %.2f s of audio received in %.2f s of "
		"listening, %.2f s after the output connected\n", held_s,
		listen_end - listen_start_at, listen_end - connected_at);
	CHECK(held_s <= listen_end - connected_at +
			OUTPUT_LEAD_MS / 1000.0 + 0.2);
	CHECK(slow || held_s >= listen_end - listen_start_at - 0.5);

	size_t frames;
	size_t first = mpeg_walk(&audio, &frames);
	CHECK(slow || frames > (LISTEN_S - 1) * RATE / 1152);

	float *pcm;
	size_t n = mp3_decode(audio.p + first, audio.len - first, &pcm);
	size_t changes[8];
	size_t n_changes = tone_changes(pcm, n, changes, 8);
	CHECK(n_changes >= (slow ? 1 : 2));

	/* Titles: "offset\ttitle" lines, in order, first the one of the
	 * first segment, then one per tone change. */
	char *line = (char *)meta.p;
	int k = 0;
	unsigned long long prev = 0;
	while (line && *line) {
		char *eol = strchr(line, '\n');
		CHECK(eol != NULL);
		*eol = '\0';
		char *tab = strchr(line, '\t');
		CHECK(tab != NULL);
		unsigned long long off = strtoull(line, NULL, 10);
		char expect[600], a[256], t[256];
		title_of(k, a, sizeof(a), t, sizeof(t), expect, sizeof(expect));
		CHECK_STR(tab + 1, expect);
		CHECK(k == 0 || off > prev);
		/* contrib/icecast.xml's mp3-metadata-interval. */
		CHECK_INT(off % 8192, ==, 0);
		if (k > 0 && (size_t)(k - 1) < n_changes) {
			/* The audible change, in bytes of the CBR stream. */
			double change = first + changes[k - 1] * 16000.0 / RATE;
			double late_s = ((double)off - change) / 16000;
			fprintf(stderr, "title %d arrives %+.3f s from the "
				"audible change\n", k, late_s);
			CHECK(fabs(late_s) <= 1.0);
		}
		prev = off;
		k++;
		line = eol + 1;
	}
	CHECK(k >= (slow ? 2 : 3));
	free(pcm);
	free(audio.p);
	free(meta.p);
}

static void check_ogg_listener(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/ogg.audio", dir);
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	OggVorbis_File vf;
	CHECK_INT(ov_open_callbacks(f, &vf, NULL, 0, OV_CALLBACKS_STREAMONLY),
		  ==, 0);
	int links = 0, last = -1;
	long samples = 0;
	char seen[4][600];
	for (;;) {
		float **pcm;
		int bs;
		long n = ov_read_float(&vf, &pcm, 4096, &bs);
		if (n == OV_HOLE)
			continue;
		if (n <= 0)
			break;
		samples += n;
		if (bs != last || links == 0) {
			vorbis_comment *vc = ov_comment(&vf, -1);
			const char *artist = vorbis_comment_query(vc, "ARTIST", 0);
			const char *title = vorbis_comment_query(vc, "TITLE", 0);
			CHECK(title != NULL);
			if (links < 4)
				snprintf(seen[links], sizeof(seen[links]),
					 "%s%s%s", artist ? artist : "",
					 artist ? " - " : "", title);
			CHECK_STR(vorbis_comment_query(vc, "ENCODER", 0),
				  "foreverfm");
			CHECK_INT(ov_info(&vf, -1)->rate, ==, RATE);
			links++;
			last = bs;
		}
	}
	ov_clear(&vf);
	fprintf(stderr, "ogg listener: %d links, %.2f s decoded\n", links,
		(double)samples / RATE);
	CHECK(links >= (slow ? 1 : 2));
	for (int i = 0; i < links && i < 3; i++) {
		char expect[600], a[256], t[256];
		title_of(i, a, sizeof(a), t, sizeof(t), expect, sizeof(expect));
		CHECK_STR(seen[i], expect);
	}
	CHECK(slow || samples > 5 * RATE);
}

/* The listener of the fallback test: tone, then (maybe) silence, then tone
 * again, without ever being disconnected. */
static void check_fallback_listener(double expect_s)
{
	struct bytes audio = slurp("fallback.audio");
	fprintf(stderr, "fallback listener: %zu bytes\n", audio.len);
	CHECK(slow || audio.len / 16000.0 >= expect_s - 1);
	float *pcm;
	size_t n = mp3_decode(audio.p, audio.len, &pcm);
	const size_t w = RATE / 50;
	int state = 0; /* 0 first tone, 1 gap, 2 tone again */
	for (size_t i = 0; i + w <= n; i += w) {
		int t = window_tone(pcm + i);
		if (state == 0 && t == 0)
			state = 1;
		else if (state == 1 && t > 0)
			state = 2;
	}
	CHECK_INT(state, ==, 2);
	free(pcm);
	free(audio.p);
}

static size_t count(const char *hay, const char *needle)
{
	size_t c = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		c++;
	return c;
}

/* ---- servers that misbehave ---------------------------------------------- */

enum fault {
	FAULT_SILENT, /* listens, never accepts: the kernel completes the TCP
		       * handshake, nobody ever answers */
	FAULT_DEAF,   /* answers the source request, then never reads */
	FAULT_SLOW,   /* answers, then reads 2000 bytes every 100 ms */
};

#define FAULT_HELD_MAX 16

struct fault_server {
	enum fault kind;
	int listen_fd;
	int port;
	pthread_t thread;
	bool threaded;
	atomic_bool stop;
	int held[FAULT_HELD_MAX]; /* connections kept open, in order */
	atomic_int n_held;
	atomic_int source_fd;     /* the last that was a source, or -1 */
};

/* Reads the request head and answers it. Returns false if the peer went
 * away first; *source tells whether it was a source request. */
static bool fault_answer(int fd, bool *source)
{
	char req[8192];
	size_t len = 0;
	while (len < sizeof(req) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) != 1)
			return false;
		ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	*source = strncmp(req, "SOURCE ", 7) == 0 ||
		  strncmp(req, "PUT ", 4) == 0;
	static const char ok[] = "HTTP/1.0 200 OK\r\n\r\n";
	return send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) ==
	       (ssize_t)sizeof(ok) - 1;
}

static void *fault_main(void *arg)
{
	struct fault_server *f = arg;
	double next_read = now_s();
	while (!atomic_load(&f->stop)) {
		struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
		int ready = poll(&p, 1, 20);
		int src = atomic_load(&f->source_fd);
		if (f->kind == FAULT_SLOW && src >= 0 && now_s() >= next_read) {
			/* 20 kB/s: a little faster than 128 kbps. */
			static char sink[2000];
			(void)recv(src, sink, sizeof(sink), MSG_DONTWAIT);
			next_read += 0.1;
		}
		if (ready != 1)
			continue;
		int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int n = atomic_load(&f->n_held);
		bool source = false;
		if (n == FAULT_HELD_MAX || !fault_answer(fd, &source)) {
			close(fd);
			continue;
		}
		f->held[n] = fd;
		atomic_store(&f->n_held, n + 1);
		if (source) {
			atomic_store(&f->source_fd, fd);
			next_read = now_s();
		}
	}
	return NULL;
}

static void fault_start(struct fault_server *f, enum fault kind)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int small = 4096;

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	atomic_init(&f->stop, false);
	atomic_init(&f->n_held, 0);
	atomic_init(&f->source_fd, -1);
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(f->listen_fd >= 0);
	/* A small window (accepted sockets inherit it), so that a server
	 * that does not read is full within a second, as a real one would
	 * be after its buffers. */
	CHECK_INT(setsockopt(f->listen_fd, SOL_SOCKET, SO_RCVBUF, &small,
			     sizeof(small)), ==, 0);
	CHECK_INT(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	CHECK_INT(listen(f->listen_fd, 8), ==, 0);
	CHECK_INT(getsockname(f->listen_fd, (struct sockaddr *)&a, &len), ==,
		  0);
	f->port = ntohs(a.sin_port);
	if (kind != FAULT_SILENT) {
		CHECK_INT(pthread_create(&f->thread, NULL, fault_main, f), ==,
			  0);
		f->threaded = true;
	}
}

static void fault_stop(struct fault_server *f)
{
	atomic_store(&f->stop, true);
	if (f->threaded)
		pthread_join(f->thread, NULL);
	for (int i = 0; i < atomic_load(&f->n_held); i++)
		close(f->held[i]);
	close(f->listen_fd);
}

/* The TCP state of the server's side of its last source connection. */
static int fault_source_state(struct fault_server *f)
{
	int fd = atomic_load(&f->source_fd);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	CHECK(fd >= 0);
	CHECK_INT(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), ==, 0);
	return ti.tcpi_state;
}

/* When the output's stats first show FIELD >= n; CHECKs it happens within
 * limit_s. */
static double wait_stat(struct output *o, bool connects, uint64_t n,
			double limit_s)
{
	double end = now_s() + limit_s;
	for (;;) {
		struct output_stats st;
		output_get_stats(o, &st);
		if ((connects ? st.connects : st.failures) >= n)
			return now_s();
		CHECK(now_s() < end);
		sleep_s(0.002);
	}
}

static bool log_has(const char *text)
{
	fflush(stderr);
	struct bytes b = slurp("stderr.log");
	bool has = strstr((char *)b.p, text) != NULL;
	free(b.p);
	return has;
}

/* 6. Timeouts against the servers above. */
static void test_timeouts(void)
{
	struct ring *ring = ring_create(RATE, 1, 32, 500);
	CHECK(ring != NULL);
	struct writer w = { .ring = ring };
	atomic_init(&w.stop, false);
	CHECK_INT(pthread_create(&w.thread, NULL, writer_main, &w), ==, 0);
	struct config *cfg = make_config("fault-pass");
	cfg->icecast_timeout_s = 1;
	struct fault_server f;
	char text[256];
	double t0, t, at;

	/* 6a. A server that never answers. */
	fault_start(&f, FAULT_SILENT);
	use_server(cfg, 0, f.port, "fault-pass");
	struct output *o = output_create(cfg, 0, ring, 0);
	CHECK(o != NULL);
	t0 = now_s();
	CHECK_INT(output_start(o), ==, 0);
	at = wait_stat(o, false, 1, 5);
	fprintf(stderr, "silent server: handshake given up after %.3f s\n",
		at - t0);
	CHECK(at - t0 >= 1.0 && (slow || at - t0 <= 1.3));
	snprintf(text, sizeof(text), "127.0.0.1:%d/forever.mp3: no answer to "
		 "the source request in 1 s; reconnecting in ", f.port);
	CHECK(log_has(text));
	/* The second attempt, after the backoff, is given up alike. */
	at = wait_stat(o, false, 2, 4);
	t = now_s();
	output_destroy(o);
	CHECK(slow || now_s() - t < 0.5);
	fault_stop(&f);

	/* 6b. A server that answers, then never reads. */
	fault_start(&f, FAULT_DEAF);
	use_server(cfg, 0, f.port, "fault-pass");
	o = output_create(cfg, 0, ring, 0);
	CHECK(o != NULL);
	CHECK_INT(output_start(o), ==, 0);
	t0 = wait_stat(o, true, 1, 5);
	at = wait_stat(o, false, 1, 6);
	fprintf(stderr, "deaf server: send given up %.3f s after the "
		"connection\n", at - t0);
	CHECK(at - t0 >= 1.0 && (slow || at - t0 <= 3.0));
	snprintf(text, sizeof(text), "127.0.0.1:%d/forever.mp3: no progress "
		 "sending for 1 s (after ", f.port);
	CHECK(log_has(text));
	/* Reset, not closed: the server's side is gone at once (a FIN
	 * would leave it in CLOSE_WAIT). */
	CHECK_INT(fault_source_state(&f), ==, TCP_CLOSE);
	/* output_destroy() in the middle of a stalled send returns at
	 * once. */
	wait_stat(o, true, 2, 5);
	sleep_s(0.6);
	struct output_stats st;
	output_get_stats(o, &st);
	CHECK(st.connected);
	t = now_s();
	output_destroy(o);
	fprintf(stderr, "deaf server: output_destroy() took %.3f s\n",
		now_s() - t);
	CHECK(slow || now_s() - t < 0.3);
	fault_stop(&f);

	/* 6c. Slow but steady is not stalled: the tiny window is full most
	 * of the time, yet the server keeps acknowledging. */
	fault_start(&f, FAULT_SLOW);
	use_server(cfg, 0, f.port, "fault-pass");
	o = output_create(cfg, 0, ring, 0);
	CHECK(o != NULL);
	CHECK_INT(output_start(o), ==, 0);
	t0 = wait_stat(o, true, 1, 5);
	sleep_s(4);
	output_get_stats(o, &st);
	fprintf(stderr, "slow server: %.2f s of audio sent in %.2f s, %" PRIu64
		" failures\n", (double)st.frames_sent / RATE, now_s() - t0,
		st.failures);
	CHECK(st.connected);
	CHECK_INT(st.failures, ==, 0);
	CHECK(slow || (double)st.frames_sent / RATE >= 3.5);
	output_destroy(o);
	fault_stop(&f);

	atomic_store(&w.stop, true);
	ring_close(ring);
	pthread_join(w.thread, NULL);
	ring_destroy(ring);
	free(cfg);
}

int main(void)
{
	if (!test_have_program("icecast2")) {
		fprintf(stderr, "icecast2 is not installed\n");
		return TEST_SKIP;
	}
	if (!test_have_program("curl"))
		return TEST_SKIP;
	const char *preload = getenv("LD_PRELOAD");
	slow = (preload && strstr(preload, "vgpreload")) ||
	       getenv("FOREVERFM_TEST_SLOW");
	alarm(slow ? 600 : 180); /* a hang is a failure, not a stuck build */

	const char *src = getenv("top_srcdir");
	const char *bld = getenv("top_builddir");
	static char harness_path[4096];
	snprintf(harness_path, sizeof(harness_path), "%s/tests/icecast-harness.sh",
		 src ? src : SRCDIR);
	harness = harness_path;
	snprintf(builddir, sizeof(builddir), "%s", bld ? bld : ".");
	dir = test_tmpdir("output");
	atexit(at_exit);

	if (test_sh("sh '%s' start '%s' >/dev/null", harness, dir) != 0) {
		fprintf(stderr, "icecast did not start\n");
		return TEST_HARD_ERROR;
	}
	struct bytes b = slurp("port");
	port = atoi((char *)b.p);
	free(b.p);
	b = slurp("password");
	snprintf(password, sizeof(password), "%s", (char *)b.p);
	free(b.p);
	CHECK(port > 0 && strlen(password) >= 16);

	/* From here on, what the outputs log goes to a file, to be searched
	 * for secrets and shown at exit. */
	char log_path[4096];
	snprintf(log_path, sizeof(log_path), "%s/stderr.log", dir);
	fflush(stderr);
	real_stderr = dup(2);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
			  0600);
	CHECK(real_stderr >= 0 && log_fd >= 0);
	dup2(log_fd, 2);
	close(log_fd);

	struct config *cfg = make_config(password);
	struct ring *ring = ring_create(RATE, 4, 32, 10000);
	CHECK(ring != NULL);
	struct writer w = { .ring = ring };
	atomic_init(&w.stop, false);
	CHECK_INT(pthread_create(&w.thread, NULL, writer_main, &w), ==, 0);

	/* 1. Streaming, titles, pacing. */
	struct output *mp3 = output_create(cfg, 0, ring, 0);
	struct output *ogg = output_create(cfg, 1, ring, 1);
	CHECK(mp3 != NULL && ogg != NULL);
	CHECK_INT(output_start(mp3), ==, 0);
	CHECK_INT(output_start(ogg), ==, 0);
	struct output_stats st;
	double connected_at = 0, deadline = now_s() + 10;
	while (now_s() < deadline) {
		output_get_stats(mp3, &st);
		if (st.connected) {
			connected_at = now_s();
			break;
		}
		sleep_s(0.005);
	}
	CHECK(connected_at > 0);
	CHECK(wait_until_live("/forever.mp3", 5));
	CHECK(wait_until_live("/forever.ogg", 5));
	pid_t l_mp3 = listen_start("/forever.mp3", LISTEN_S, "mp3");
	double listen_start_at = now_s();
	pid_t l_ogg = listen_start("/forever.ogg", 7, "ogg");
	double min_ahead, max_ahead;
	listen_wait_pacing(l_mp3, mp3, connected_at, &min_ahead, &max_ahead);
	double listen_end = now_s();
	listen_wait(l_ogg);
	output_get_stats(mp3, &st);
	CHECK(st.connected);
	CHECK_INT(st.connects, ==, 1);
	CHECK_INT(st.failures, ==, 0);
	{
		/* The last title sent: the segment being sent, or the next
		 * when its title went out just before its first frames. */
		int seg = (int)(st.frames_sent / (SEGMENT_S * RATE));
		char a[256], tt[256], now_title[600], next_title[600];
		title_of(seg, a, sizeof(a), tt, sizeof(tt), now_title,
			 sizeof(now_title));
		title_of(seg + 1, a, sizeof(a), tt, sizeof(tt), next_title,
			 sizeof(next_title));
		CHECK(strcmp(st.title, now_title) == 0 ||
		      strcmp(st.title, next_title) == 0);
	}
	/* Never further ahead than the lead (plus the block being sent),
	 * never far behind. */
	fprintf(stderr, "mp3 output: %.3f .. %.3f s ahead of real time\n",
		min_ahead, max_ahead);
	CHECK(max_ahead <= OUTPUT_LEAD_MS / 1000.0 + 0.12);
	CHECK(slow || min_ahead >= -0.3);
	check_mp3_listener(connected_at, listen_start_at, listen_end);
	check_ogg_listener();

	/* 2. The fallback of contrib/icecast.xml keeps a listener while the
	 * MP3 output goes away and comes back. */
	pid_t l_fb = listen_start("/forever.mp3", 6, "fallback");
	sleep_s(1.5);
	output_destroy(mp3);
	sleep_s(1.5);
	mp3 = output_create(cfg, 0, ring, 0);
	CHECK(mp3 != NULL);
	CHECK_INT(output_start(mp3), ==, 0);
	listen_wait(l_fb);
	check_fallback_listener(6);

	/* 3. A wrong password, and a mount that is taken. */
	struct config *bad = make_config("not-the-Secret-42");
	struct output *wrong = output_create(bad, 2, ring, 2);
	struct output *second = output_create(cfg, 3, ring, 3);
	CHECK(wrong != NULL && second != NULL);
	CHECK_INT(output_start(wrong), ==, 0);
	CHECK_INT(output_start(second), ==, 0);
	sleep_s(2.6); /* attempts at 0, ~1 s and ~3 s */
	output_get_stats(wrong, &st);
	CHECK_INT(st.connects, ==, 0);
	CHECK(st.failures >= 2);
	CHECK(!st.connected);
	output_get_stats(second, &st);
	CHECK_INT(st.connects, ==, 0);
	CHECK(st.failures >= 2);
	double t = now_s();
	output_destroy(second);
	CHECK(now_s() - t < 1.0); /* the backoff wait ends at once */
	fflush(stderr);
	b = slurp("stderr.log");
	CHECK(count((char *)b.p, "/wrong.mp3: authentication failed: check "
		    "[icecast] password") >= 2);
	CHECK(count((char *)b.p, "/forever.ogg: mount in use") >= 2);
	free(b.p);

	/* 4. Icecast dies and comes back on the same port. */
	output_get_stats(mp3, &st);
	uint64_t connects_mp3 = st.connects;
	CHECK(test_sh("kill -9 $(cat '%s/pid')", dir) == 0);
	sleep_s(0.5);
	CHECK(test_sh("sh '%s' restart '%s' >/dev/null", harness, dir) == 0);
	t = now_s();
	CHECK(wait_until_live("/forever.mp3", 8));
	CHECK(wait_until_live("/forever.ogg", 8));
	fprintf(stderr, "outputs back %.1f s after Icecast\n", now_s() - t);
	output_get_stats(mp3, &st);
	CHECK_INT(st.connects, ==, connects_mp3 + 1);
	CHECK(st.failures >= 1);

	/* 5. The end of the ring ends the outputs by themselves. */
	atomic_store(&w.stop, true);
	ring_close(ring);
	pthread_join(w.thread, NULL);
	output_join(mp3);
	output_join(ogg);
	/* An output that cannot connect notices the end too, within a
	 * second of its backoff wait, so joining it does not hang. */
	t = now_s();
	output_join(wrong);
	CHECK(now_s() - t < 1.5);
	output_get_stats(wrong, &st);
	CHECK_INT(st.connects, ==, 0);
	output_destroy(wrong);
	output_get_stats(ogg, &st);
	CHECK(!st.connected);
	double gone_by = now_s() + 5;
	while ((mount_live("/forever.mp3") || mount_live("/forever.ogg")) &&
	       now_s() < gone_by)
		sleep_s(0.1);
	CHECK(!mount_live("/forever.mp3"));
	output_destroy(mp3);
	output_destroy(ogg);
	ring_destroy(ring);

	/* The source password, right or wrong, was never logged. */
	fflush(stderr);
	b = slurp("stderr.log");
	CHECK(strstr((char *)b.p, password) == NULL);
	CHECK(strstr((char *)b.p, "not-the-Secret-42") == NULL);
	free(b.p);
	free(cfg);
	free(bad);

	test_timeouts();
	b = slurp("stderr.log");
	CHECK(strstr((char *)b.p, "fault-pass") == NULL);
	free(b.p);
	passed = true;
	return 0;
}
