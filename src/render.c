/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * render — the mix of a library into a WAV, MP3 or Ogg file, as fast as the
 * CPU allows. See render.h for the formats and the guarantees.
 *
 * The mixer runs in its own thread exactly as in the station; this thread
 * is the ring's only reader. The ring never evicts it (stall 0): it is the
 * consumer that sets the pace. Reading stops at exactly SECONDS * 44100
 * frames whether or not the mixer closed the ring there, so the length of
 * the file is exact; then the ring is closed and the mixer joined.
 *
 * The decks file is written by the mixer's decks tap, in the mixer
 * thread (this thread only opens it before and closes it after): the
 * tap's frames end where the ring's do, so after the join it must hold
 * exactly SECONDS * 44100 frames.
 */
#include "autoconfig.h"

#include "render.h"

#include "analyzer.h"
#include "catalog.h"
#include "decode.h"
#include "encode.h"
#include "json_out.h"
#include "log.h"
#include "mixer.h"
#include "nowplaying.h"
#include "plan_cmd.h"
#include "ring.h"
#include "setlist.h"
#include "source_dir.h"
#include "wav.h"

#include <stdatomic.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RENDER_RING_FRAMES 44100        /* 1 s */
#define RENDER_MARKERS_MAX 64
#define RENDER_FADEOUT_S 2.0
#define RENDER_MAX_TRACKS 100000
#define RENDER_BLOCK_FRAMES ENCODE_FRAMES_MAX
/* A hang guard, not a timing: the mixer produces audio far faster than
 * real time, so a minute without a frame means it is stuck. */
#define RENDER_STALL_MS 60000
#define RENDER_MP3_KBPS 192
#define RENDER_OGG_QUALITY 0.5
#define RENDER_DECKS_BYTES_PER_FRAME (MIXER_DECKS_CHANNELS * 4)

enum render_format { RENDER_WAV, RENDER_MP3, RENDER_OGG };

static volatile sig_atomic_t render_interrupted;
/* The same, for analyzer_run() (a lock-free atomic, so signal-safe). */
static atomic_bool render_cancel;

static void on_interrupt(int sig)
{
	render_interrupted = sig;
	atomic_store(&render_cancel, true);
}

/* The extension of PATH's last component, "" for none. */
static const char *path_extension(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	return dot ? dot : "";
}

static int format_from_path(const char *path, enum render_format *fmt)
{
	const char *dot = path_extension(path);

	if (strcasecmp(dot, ".wav") == 0)
		*fmt = RENDER_WAV;
	else if (strcasecmp(dot, ".mp3") == 0)
		*fmt = RENDER_MP3;
	else if (strcasecmp(dot, ".ogg") == 0)
		*fmt = RENDER_OGG;
	else
		return -EINVAL;
	return 0;
}

static void wav_convert(const float *in, size_t n_samples, unsigned char *out)
{
	for (size_t i = 0; i < n_samples; i++) {
		float v = in[i];
		if (!(v > -1.0f)) /* also maps NaN to -1: never UB below */
			v = -1.0f;
		else if (v > 1.0f)
			v = 1.0f;
		uint16_t s = (uint16_t)(int16_t)lrintf(v * 32767.0f);
		out[2 * i] = (unsigned char)s;
		out[2 * i + 1] = (unsigned char)(s >> 8);
	}
}

/* Encoder settings: the first matching output of the configuration, else
 * render's defaults. */
static void encode_params_for(const struct config *cfg,
			      enum render_format fmt,
			      struct encode_params *p)
{
	enum output_format want = fmt == RENDER_MP3 ? OUTPUT_FORMAT_MP3 :
						      OUTPUT_FORMAT_OGG;

	memset(p, 0, sizeof(*p));
	p->format = want;
	p->stream_title = cfg->station_name;
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		if (cfg->outputs[i].format == want) {
			p->bitrate_kbps = cfg->outputs[i].bitrate_kbps;
			p->quality = cfg->outputs[i].quality;
			p->chained = want == OUTPUT_FORMAT_OGG;
			return;
		}
	}
	if (want == OUTPUT_FORMAT_MP3) {
		p->bitrate_kbps = RENDER_MP3_KBPS;
	} else {
		p->quality = RENDER_OGG_QUALITY;
		p->chained = true;
	}
}

static int write_all(FILE *f, const void *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, f) != len)
		return errno ? -errno : -EIO;
	return 0;
}

/* The decks file (--decks): written by the mixer's decks tap. */
struct render_decks {
	FILE *f;
	const char *tmp_path;
	unsigned char *bytes;     /* MIXER_DECKS_FRAMES_MAX frames */
	uint64_t frames;          /* written so far */
};

/* The decks tap: the mixer thread, for every mixed block. */
static int render_decks_write(void *ctx, const float *decks, size_t frames)
{
	struct render_decks *d = ctx;
	size_t n = frames * MIXER_DECKS_CHANNELS;

	wav_put_float32(d->bytes, decks, n);
	errno = 0;
	int rc = write_all(d->f, d->bytes, n * 4);
	if (rc < 0) {
		log_error("render: writing %s: %s", d->tmp_path, strerror(-rc));
		return rc;
	}
	d->frames += frames;
	return 0;
}

/* Flushes, syncs and closes the decks file. Returns 0 or a negative errno
 * (logged). */
static int render_decks_close(struct render_decks *d)
{
	int rc = 0;

	if (fflush(d->f) != 0 || fsync(fileno(d->f)) != 0)
		rc = -errno;
	if (fclose(d->f) != 0 && rc == 0)
		rc = -errno;
	d->f = NULL;
	if (rc < 0)
		log_error("render: writing %s: %s", d->tmp_path, strerror(-rc));
	return rc;
}

static void format_time(uint64_t frame, char *out, size_t size)
{
	uint64_t s = frame / DECODE_RATE;
	snprintf(out, size, "%02llu:%02llu:%02llu",
		 (unsigned long long)(s / 3600),
		 (unsigned long long)(s / 60 % 60),
		 (unsigned long long)(s % 60));
}

static double elapsed_s(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static int scan_library(struct catalog *cat, const struct config *cfg,
			size_t *playable)
{
	struct source_dir_stats stats = { 0 };
	struct timespec t0;
	int64_t one;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = source_dir_scan(cat, cfg->library_paths, cfg->n_library_paths,
			     &stats);
	if (rc < 0) {
		log_error("render: library scan failed: %s", strerror(-rc));
		return rc;
	}
	rc = catalog_playable_ids(cat, &one, 1, playable);
	if (rc < 0)
		return rc;
	/* source_dir logged the counts of the scan itself. */
	log_info("render: library: %zu playable track%s (scan took %.1f s)",
		 *playable, *playable == 1 ? "" : "s", elapsed_s(&t0));
	if (*playable == 0)
		log_warning("render: the library is empty (no playable "
			    "tracks): the mix is silence");
	return 0;
}

/* Analyses what the catalog has no analysis for yet, as `foreverfm
 * analyze` would: beatmatching and loudness need it. A file the analysis
 * finds bad is left out of the mix, as in the station. */
static int analyse_library(struct catalog *cat, const struct config *cfg)
{
	struct analyzer_params ap = {
		.workers = (unsigned)cfg->analysis_workers,
		.timeout_s = cfg->analysis_timeout_s,
	};
	struct analyzer_stats stats = { 0 };
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = analyzer_run(cat, &ap, &render_cancel, &stats);
	if (rc == -ECANCELED) {
		log_error("render: interrupted");
		return -EINTR;
	}
	if (rc < 0) {
		log_error("render: analysis failed: %s", strerror(-rc));
		return rc;
	}
	log_info("render: analysis: %llu analysed, %llu cached, %llu bad "
		 "(%.1f s)", (unsigned long long)stats.analysed,
		 (unsigned long long)stats.cached,
		 (unsigned long long)stats.bad, elapsed_s(&t0));
	return 0;
}

/* The brain's tour, as the station would play it from the start; the same
 * for the same seed and library (the solve is bounded by kicks, not by
 * time). With nothing left after culling the mixer shuffles. */
static int order_library(struct catalog *cat, const struct config *cfg,
			 uint64_t seed, struct mixer *mixer)
{
	struct setlist_params p;
	struct setlist *sl;
	int64_t *ids = NULL;
	size_t n = 0;
	int rc;

	setlist_params_from_config(&p, cfg);
	p.seed = seed;
	p.time_budget_s = 0;
	if (!(sl = setlist_create(cat, &p)))
		return -errno;
	if ((rc = setlist_reload(sl, NULL)) < 0)
		goto out;
	p.max_kicks = plan_cmd_kicks(setlist_size(sl));
	if ((rc = setlist_set_params(sl, &p)) < 0 ||
	    (rc = setlist_solve(sl)) < 0)
		goto out;
	n = setlist_size(sl);
	if (n == 0) {
		log_info("render: every track is left out of the tour (see "
			 "[library] min_duration, max_duration): shuffled");
		goto out;
	}
	if (!(ids = malloc(n * sizeof(*ids)))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = setlist_sequence(sl, NULL, 0, time(NULL), ids, n, &n,
				   NULL)) < 0 ||
	    (rc = mixer_set_order(mixer, ids, n, 0)) < 0)
		goto out;
	log_info("render: %zu tracks in the tour", n);
out:
	if (rc < 0)
		log_error("render: ordering the library failed: %s",
			  strerror(-rc));
	free(ids);
	setlist_destroy(sl);
	return rc;
}

/* render --nowplaying-log: the status server's track and transition
 * events, one JSON object a line, with their stream positions. */
struct render_np_log {
	FILE *f;
	bool failed;
};

static void render_np_event(void *ctx, const struct mixer_event *ev)
{
	struct render_np_log *nl = ctx;
	json_t *o;

	if (nl->failed)
		return;
	if (ev->type == MIXER_EVENT_TRACK) {
		struct np_track t;
		nowplaying_track_from(&t, ev->track, ev->analysis,
				      ev->display);
		o = json_object();
		json_object_set_new(o, "event", json_string("track"));
		json_object_set_new(o, "position_s", json_out_number(
				    (double)ev->frame / DECODE_RATE));
		json_object_set_new(o, "song", ev->track ?
				    nowplaying_track_json(&t) : json_null());
	} else {
		struct np_transition tr;
		nowplaying_transition_from(&tr, ev);
		json_t *t = nowplaying_transition_json(&tr);
		o = json_object();
		json_object_set_new(o, "event", json_string("transition"));
		json_object_update(o, t);
		json_decref(t);
	}
	if (!o || json_dumpf(o, nl->f, JSON_COMPACT) != 0 ||
	    fputc('\n', nl->f) == EOF || fflush(nl->f) != 0) {
		log_warning("render: now-playing log: write failed; no more "
			    "entries");
		nl->failed = true;
	}
	json_decref(o);
}

int render_run(const struct config *cfg, const char *out_path, double seconds,
	       uint64_t seed, const char *transitions_log_path,
	       const char *decks_path, const char *nowplaying_log_path)
{
	char nlog_tmp[PATH_MAX];
	struct render_np_log nlog = { 0 };
	bool nlog_created = false;
	enum render_format fmt;
	char tmp_path[PATH_MAX], tlog_tmp[PATH_MAX], decks_tmp[PATH_MAX];
	unsigned char header[WAV_HEADER_MAX];
	size_t header_len;
	struct render_decks decks = { 0 };
	bool decks_created = false;
	float *block = NULL;
	unsigned char *pcm16 = NULL;
	struct catalog *cat = NULL;
	struct ring *ring = NULL;
	struct mixer *mixer = NULL;
	struct encoder *enc = NULL;
	FILE *f = NULL, *tlog = NULL;
	bool created = false, tlog_created = false;
	struct sigaction sa, old_int, old_term;
	struct timespec t0;
	uint64_t total_frames, done = 0, tracks = 0;
	size_t playable = 0;
	const unsigned char *bytes;
	size_t n_bytes;
	int rc = 0;

	if (format_from_path(out_path, &fmt) != 0) {
		log_error("render: %s: unknown format; the file name must end "
			  "in .wav, .mp3 or .ogg", out_path);
		return -EINVAL;
	}
	if (!(seconds > 0) || !isfinite(seconds)) {
		log_error("render: the duration must be > 0 seconds");
		return -EINVAL;
	}
	total_frames = (uint64_t)llround(seconds * DECODE_RATE);
	if (total_frames == 0)
		total_frames = 1;
	uint64_t wav_max = wav_data_max(WAV_PCM16);
	if (fmt == RENDER_WAV &&
	    total_frames > wav_max / (DECODE_CHANNELS * 2)) {
		log_error("render: %s: a WAV file holds at most %u s; use .mp3 "
			  "or .ogg", out_path,
			  (unsigned)(wav_max / (DECODE_CHANNELS * 2) /
				     DECODE_RATE));
		return -EINVAL;
	}
	if (decks_path && strcasecmp(path_extension(decks_path), ".wav")) {
		log_error("render: %s: the decks file must end in .wav",
			  decks_path);
		return -EINVAL;
	}
	if (decks_path && (strcmp(decks_path, out_path) == 0 ||
			   (transitions_log_path &&
			    strcmp(decks_path, transitions_log_path) == 0))) {
		log_error("render: %s: the decks file must be a file of its "
			  "own", decks_path);
		return -EINVAL;
	}
	if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", out_path) >=
	    sizeof(tmp_path) ||
	    (transitions_log_path &&
	     (size_t)snprintf(tlog_tmp, sizeof(tlog_tmp), "%s.tmp",
			      transitions_log_path) >= sizeof(tlog_tmp)) ||
	    (decks_path &&
	     (size_t)snprintf(decks_tmp, sizeof(decks_tmp), "%s.tmp",
			      decks_path) >= sizeof(decks_tmp)) ||
	    (nowplaying_log_path &&
	     (size_t)snprintf(nlog_tmp, sizeof(nlog_tmp), "%s.tmp",
			      nowplaying_log_path) >= sizeof(nlog_tmp))) {
		log_error("render: output path too long");
		return -ENAMETOOLONG;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	render_interrupted = 0;
	atomic_store(&render_cancel, false);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	/* Open the file first: an unwritable place fails before the scan. */
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			      O_NOFOLLOW, 0666);
	created = fd >= 0;
	if (fd < 0 || !(f = fdopen(fd, "wb"))) {
		rc = -errno;
		log_error("render: %s: %s", tmp_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}

	/* The transitions log too: as LOG.tmp, renamed with the output. */
	if (transitions_log_path && !(tlog = fopen(tlog_tmp, "we"))) {
		rc = -errno;
		log_error("render: %s: %s", tlog_tmp, strerror(errno));
		goto out;
	}
	tlog_created = tlog != NULL;

	/* The now-playing log alike. */
	if (nowplaying_log_path && !(nlog.f = fopen(nlog_tmp, "we"))) {
		rc = -errno;
		log_error("render: %s: %s", nlog_tmp, strerror(errno));
		goto out;
	}
	nlog_created = nlog.f != NULL;

	/* And the decks, as DECKS.tmp, renamed with the output. */
	if (decks_path) {
		decks.tmp_path = decks_tmp;
		fd = open(decks_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			  O_NOFOLLOW, 0666);
		decks_created = fd >= 0;
		if (fd < 0 || !(decks.f = fdopen(fd, "wb"))) {
			rc = -errno;
			log_error("render: %s: %s", decks_tmp, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		decks.bytes = malloc(MIXER_DECKS_FRAMES_MAX *
				     RENDER_DECKS_BYTES_PER_FRAME);
		if (!decks.bytes) {
			rc = -ENOMEM;
			log_error("render: out of memory");
			goto out;
		}
		rc = wav_header(header, sizeof(header), WAV_FLOAT32,
				MIXER_DECKS_CHANNELS, DECODE_RATE,
				total_frames, &header_len);
		if (rc == 0)
			rc = write_all(decks.f, header, header_len);
		if (rc < 0) {
			log_error("render: writing %s: %s", decks_tmp,
				  strerror(-rc));
			goto out;
		}
	}

	block = malloc(RENDER_BLOCK_FRAMES * DECODE_CHANNELS * sizeof(float));
	pcm16 = malloc(RENDER_BLOCK_FRAMES * DECODE_CHANNELS * 2);
	if (!block || !pcm16) {
		rc = -ENOMEM;
		log_error("render: out of memory");
		goto out;
	}
	if (fmt == RENDER_WAV) {
		rc = wav_header(header, sizeof(header), WAV_PCM16,
				DECODE_CHANNELS, DECODE_RATE, total_frames,
				&header_len);
		if (rc == 0)
			rc = write_all(f, header, header_len);
		if (rc < 0)
			goto write_failed;
	} else {
		struct encode_params ep;
		char err[256];
		encode_params_for(cfg, fmt, &ep);
		enc = encode_create(&ep, err, sizeof(err));
		if (!enc) {
			rc = errno ? -errno : -EINVAL;
			log_error("render: encoder: %s", err);
			goto out;
		}
	}

	cat = catalog_open(cfg->database);
	if (!cat) {
		rc = errno ? -errno : -EIO;
		log_error("render: cannot open the catalog %s", cfg->database);
		goto out;
	}
	if ((rc = scan_library(cat, cfg, &playable)) < 0)
		goto out;
	if (playable > 0 && (rc = analyse_library(cat, cfg)) < 0)
		goto out;

	ring = ring_create(RENDER_RING_FRAMES, 1, RENDER_MARKERS_MAX, 0);
	if (!ring) {
		rc = -errno;
		log_error("render: ring: %s", strerror(errno));
		goto out;
	}
	if ((rc = ring_reader_attach(ring, 0, NULL, NULL)) < 0) {
		log_error("render: ring: %s", strerror(-rc));
		goto out;
	}
	struct mixer_params mp;
	mixer_params_from_config(&mp, cfg);
	mp.fadeout_s = RENDER_FADEOUT_S;
	mp.seed = seed;
	mp.stop_after_frames = total_frames;
	mp.max_tracks = RENDER_MAX_TRACKS;
	mp.transitions_log = tlog;
	if (nlog.f) {
		mp.event = render_np_event;
		mp.event_ctx = &nlog;
	}
	if (decks.f) {
		mp.decks_tap = render_decks_write;
		mp.decks_tap_ctx = &decks;
	}
	mixer = mixer_create(cat, ring, &mp);
	if (!mixer) {
		rc = -errno;
		log_error("render: mixer: %s", strerror(errno));
		goto out;
	}
	if (playable > 0 && (rc = order_library(cat, cfg, seed, mixer)) < 0)
		goto out;
	log_info("render: %s: %.1f s, seed %llu", out_path,
		 (double)total_frames / DECODE_RATE, (unsigned long long)seed);
	if ((rc = mixer_start(mixer)) < 0) {
		log_error("render: mixer: %s", strerror(-rc));
		goto out;
	}

	while (done < total_frames) {
		struct ring_marker marker;
		bool has_marker = false;
		size_t want = RENDER_BLOCK_FRAMES;

		if (render_interrupted) {
			log_error("render: interrupted");
			rc = -EINTR;
			goto out;
		}
		if (want > total_frames - done)
			want = (size_t)(total_frames - done);
		ssize_t n = ring_read_timed(ring, 0, block, want, &marker,
					    &has_marker, RENDER_STALL_MS);
		if (n == -ETIMEDOUT) {
			log_error("render: no audio from the mixer for %d s",
				  RENDER_STALL_MS / 1000);
			rc = -ETIMEDOUT;
			goto out;
		}
		if (n < 0) {
			rc = (int)n;
			log_error("render: ring: %s", strerror(-rc));
			goto out;
		}
		if (n == 0) {
			/* A mixer that failed (its decks tap included) has
			 * said why. */
			rc = mixer_join(mixer);
			if (rc < 0)
				goto out;
			log_error("render: the mix ended after %.1f s of %.1f s",
				  (double)done / DECODE_RATE,
				  (double)total_frames / DECODE_RATE);
			rc = -EIO;
			goto out;
		}
		if (has_marker) {
			char at[32];
			format_time(done, at, sizeof(at));
			tracks += marker.track_id != 0;
			log_info("render: %s %s", at, marker.track_id ?
				 marker.display : "(silence)");
			if (enc && fmt == RENDER_OGG && marker.track_id) {
				/* Untagged: the title players show is the
				 * ICY one, the file name. */
				bool untagged = !marker.artist[0] &&
						!marker.title[0];
				rc = encode_track(enc, marker.artist,
						  untagged ? marker.display :
						  marker.title, &bytes,
						  &n_bytes);
				if (rc < 0) {
					log_error("render: encoder: %s",
						  strerror(-rc));
					goto out;
				}
				if ((rc = write_all(f, bytes, n_bytes)) < 0)
					goto write_failed;
			}
		}
		if (fmt == RENDER_WAV) {
			wav_convert(block, (size_t)n * DECODE_CHANNELS, pcm16);
			rc = write_all(f, pcm16, (size_t)n * DECODE_CHANNELS * 2);
		} else {
			rc = encode_write(enc, block, (size_t)n, &bytes,
					  &n_bytes);
			if (rc < 0) {
				log_error("render: encoder: %s", strerror(-rc));
				goto out;
			}
			rc = write_all(f, bytes, n_bytes);
		}
		if (rc < 0)
			goto write_failed;
		done += (uint64_t)n;
	}

	/* The mixer may still be fading into a full ring: end it. */
	ring_close(ring);
	rc = mixer_join(mixer);
	if (rc < 0) {
		log_error("render: mixer: %s", strerror(-rc));
		goto out;
	}
	struct mixer_stats ms;
	mixer_get_stats(mixer, &ms);
	if (decks.f) {
		if (decks.frames != total_frames) {
			log_error("render: %s: %llu frames from the mixer, not "
				  "%llu", decks_tmp,
				  (unsigned long long)decks.frames,
				  (unsigned long long)total_frames);
			rc = -EIO;
			goto out;
		}
		if ((rc = render_decks_close(&decks)) < 0)
			goto out;
	}
	if (tlog) {
		/* The mixer stops logging after a failed write; fclose()
		 * would not say so. */
		bool failed = fflush(tlog) != 0 || ferror(tlog);
		rc = fclose(tlog) == 0 && !failed ? 0 : -(errno ? errno : EIO);
		tlog = NULL;
		if (rc < 0) {
			log_error("render: writing %s: %s", tlog_tmp,
				  strerror(-rc));
			goto out;
		}
	}
	if (enc) {
		if ((rc = encode_finish(enc, &bytes, &n_bytes)) < 0) {
			log_error("render: encoder: %s", strerror(-rc));
			goto out;
		}
		if ((rc = write_all(f, bytes, n_bytes)) < 0)
			goto write_failed;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = -errno;
		goto write_failed;
	}
	rc = fclose(f) == 0 ? 0 : -errno;
	f = NULL;
	if (rc < 0)
		goto write_failed;
	if (rename(tmp_path, out_path) != 0) {
		rc = -errno;
		log_error("render: rename %s to %s: %s", tmp_path, out_path,
			  strerror(errno));
		goto out;
	}
	if (transitions_log_path &&
	    rename(tlog_tmp, transitions_log_path) != 0) {
		rc = -errno;
		log_error("render: rename %s to %s: %s", tlog_tmp,
			  transitions_log_path, strerror(errno));
		goto out;
	}
	if (nowplaying_log_path &&
	    rename(nlog_tmp, nowplaying_log_path) != 0) {
		rc = -errno;
		log_error("render: rename %s to %s: %s", nlog_tmp,
			  nowplaying_log_path, strerror(errno));
		goto out;
	}
	if (decks_path && rename(decks_tmp, decks_path) != 0) {
		rc = -errno;
		log_error("render: rename %s to %s: %s", decks_tmp, decks_path,
			  strerror(errno));
		goto out;
	}
	double took = elapsed_s(&t0);
	log_info("render: wrote %s: %.1f s, %llu track change%s (%llu "
		 "beatmatched, %llu crossfaded), in %.1f s (%.0fx real time)",
		 out_path, (double)total_frames / DECODE_RATE,
		 (unsigned long long)tracks, tracks == 1 ? "" : "s",
		 (unsigned long long)ms.transitions_beatmatched,
		 (unsigned long long)ms.transitions_crossfaded, took,
		 took > 0 ? (double)total_frames / DECODE_RATE / took : 0.0);
	goto out;

write_failed:
	log_error("render: writing %s: %s", tmp_path, strerror(-rc));
out:
	/* Closes the ring if the mixer still runs, and joins it. */
	mixer_destroy(mixer);
	ring_destroy(ring);
	catalog_close(cat);
	encode_destroy(enc);
	if (f)
		fclose(f);
	if (tlog)
		fclose(tlog);
	if (nlog.f)
		fclose(nlog.f);
	if (rc < 0 && nlog_created)
		unlink(nlog_tmp);
	if (decks.f)
		fclose(decks.f);
	free(decks.bytes);
	if (rc < 0 && decks_created)
		unlink(decks_tmp);
	if (rc < 0 && tlog_created)
		unlink(tlog_tmp);
	if (rc < 0 && created)
		unlink(tmp_path);
	free(block);
	free(pcm16);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}
