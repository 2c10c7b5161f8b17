/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * stretch — time-stretching of one stereo stream with a changing tempo,
 * on Rubber Band (librubberband 3, real-time mode), with its latency taken
 * out so that input frame x comes out exactly where the tempo map says.
 *
 * The caller gives a map: the time ratio (output duration / input
 * duration, Rubber Band's sense: 0.95 plays 5% faster) as a function of the
 * input position, counted in frames from the first frame fed after
 * stretch_begin(). Output frame 0 is input frame 0, and input frame x comes
 * out at frame integral(0..x) ratio: the caller can place the stretched
 * audio to the sample without knowing Rubber Band's buffering.
 *
 * DESIGN
 * Latency. Rubber Band in real-time mode wants get_preferred_start_pad()
 * frames of silence before the audio and returns get_start_delay() frames
 * to drop; both are read after setting the initial ratio. Measured on
 * 3.1.2 with click tracks, two corrections remain and are applied here:
 * (1) the real start delay moves with the initial ratio r0 by
 * -slope * (r0 - 1) frames (R2: 384, R3: 150), and (2) a new ratio takes
 * effect on audio about `lag` frames behind the newest input (R2: 2048,
 * the start pad plus half a window; R3: 1536), so the ratio for a chunk is
 * read from the map at (chunk middle - lag). Input is processed in fixed
 * STRETCH_CHUNK_FRAMES chunks, one ratio per chunk (12 ms), which is how
 * the figures were measured. tests/test_stretch checks clicks through
 * ramps and constant ratios: within 1 ms for R2 (worst 0.6 ms); R3's hops
 * vary, and its clicks wander by up to 1.2 ms whatever the lag.
 *
 * Engines. STRETCH_ENGINE_FASTER (R2) and STRETCH_ENGINE_FINER (R3);
 * bench/stretch-speed.sh measures speed, timing and quality of both, and
 * doc/transitions.md has the figures that chose the mixer's default.
 * Channels are processed together (mid/side), so the stereo image holds.
 * R2 runs with independent phase (OptionPhaseIndependent): 15% cheaper
 * than laminar with the same timing and tonal figures and less pre-echo.
 *
 * Memory: Rubber Band's state and the chunk buffers are allocated by
 * stretch_create(); stretch_begin() resets without allocating; feeding and
 * retrieving never allocate.
 *
 * Errors: stretch_create() returns NULL with errno (EINVAL, ENOMEM).
 * Thread rules: one thread per stretcher.
 */
#ifndef FOREVERFM_STRETCH_H
#define FOREVERFM_STRETCH_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define STRETCH_CHUNK_FRAMES 512
/* Ratios outside this range are clamped (max_stretch is at most 0.5). */
#define STRETCH_RATIO_MIN 0.5
#define STRETCH_RATIO_MAX 2.0

enum stretch_engine {
	STRETCH_ENGINE_FASTER = 0, /* Rubber Band R2 */
	STRETCH_ENGINE_FINER = 1,  /* Rubber Band R3 */
};

struct stretch_map {
	/* Time ratio for input frame x (frames since stretch_begin). Called
	 * once per chunk, from stretch_feed(). */
	double (*ratio_at)(void *ctx, double in_frame);
	void *ctx;
};

struct stretch;

/* A stereo 44.1 kHz stretcher. Returns NULL with errno set. */
struct stretch *stretch_create(enum stretch_engine engine);

/* Frees; accepts NULL. */
void stretch_destroy(struct stretch *st);

/* Sizes the stretcher's buffers now for time ratios up to MAX_RATIO
 * (clamped to STRETCH_RATIO_MAX). Rubber Band's R2 engine in real-time
 * mode sizes its output ring buffers by the largest ratio it has seen:
 * left to itself it grows them by a few bytes every time a tempo ramp
 * reaches a new high, each growth a fresh 0.5 MB block and a freed one,
 * which fragments the calling thread's malloc arena by a megabyte or
 * more until the library's most stretched pair has played. Call it once
 * after stretch_create(), with the largest ratio the caller will ask
 * for; it costs nothing. */
void stretch_reserve(struct stretch *st, double max_ratio);

/* Writes every buffer, window and FFT table of the stretcher that ratios
 * up to MAX_RATIO use, by running some 5 s of a quiet tone through it
 * (then reset), so that the memory they hold is resident from now on
 * rather than from the first transition on (about 0.8 MB for an R2
 * stretcher at 1.1). Costs some 0.1 s of CPU (R2); for processes that run
 * for long, after stretch_reserve(). */
void stretch_warm(struct stretch *st, double max_ratio);

/* Starts a new stream with MAP (copied; ctx is borrowed until the next
 * stretch_begin). */
void stretch_begin(struct stretch *st, const struct stretch_map *map);

/* Feeds n interleaved stereo frames (any n). */
void stretch_feed(struct stretch *st, const float *in, size_t n);

/* Output frames ready to be retrieved. */
size_t stretch_available(struct stretch *st);

/* Copies up to max_frames interleaved stereo frames into out; returns how
 * many. */
size_t stretch_retrieve(struct stretch *st, float *out, size_t max_frames);

/* Input frames fed since stretch_begin(). */
uint64_t stretch_fed(const struct stretch *st);

/* Rubber Band's engine version (2 or 3), for logs. */
int stretch_engine_version(const struct stretch *st);

/* "faster" / "finer" (also "r2" / "r3"); parse returns 0 or -EINVAL.
 * Inline, so that the configuration (and its fuzzer) can name engines
 * without linking Rubber Band. */
static inline const char *stretch_engine_name(enum stretch_engine engine)
{
	return engine == STRETCH_ENGINE_FINER ? "finer" : "faster";
}

static inline int stretch_engine_parse(const char *name,
				       enum stretch_engine *engine)
{
	if (!name)
		return -EINVAL;
	if (strcmp(name, "faster") == 0 || strcasecmp(name, "r2") == 0) {
		*engine = STRETCH_ENGINE_FASTER;
		return 0;
	}
	if (strcmp(name, "finer") == 0 || strcasecmp(name, "r3") == 0) {
		*engine = STRETCH_ENGINE_FINER;
		return 0;
	}
	return -EINVAL;
}

#endif
