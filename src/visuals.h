/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * visuals — what the listener page draws of a track: its waveform (the
 * peak of every 100 ms, 8 bits each), the dominant colour of its cover art
 * (k-means on the decoded picture) or, without a cover, a colour derived
 * from its timbre, and where its cover lies in the file.
 *
 * Computed at analysis time, in the analysis child (analyze_file_visuals(),
 * analyze.h): the waveform from the PCM the analyzer is fed anyway, the
 * colour from the picture (cover.c, FFmpeg) or the analysis. struct
 * visuals is plain data with fixed-size members, like struct analysis, so
 * it crosses the worker's pipe as it is; the catalog stores it in its
 * `visuals` table (doc/catalog.md, version 5).
 *
 * The cover is not copied: the picture of an ID3 APIC frame, a FLAC
 * PICTURE block or an MP4 `covr` atom lies in the file byte for byte, and
 * the child records where (cover_offset, cover_length) and its type from
 * its first bytes. The status server then serves that range of the file
 * (never parsing the file in the station's process) after checking its
 * first bytes again. A picture stored otherwise (base64 in a Vorbis
 * comment, an unsynchronised ID3v2.3 frame) still gives the colour, but
 * has no range: has_cover is true and cover_length 0.
 *
 * Everything here but visuals_cover_read() is pure and unit-tested
 * (tests/test_visuals.c). Thread rules: none (no shared state).
 */
#ifndef FOREVERFM_VISUALS_H
#define FOREVERFM_VISUALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analysis;

/* Bump when the waveform or the colour would come out differently:
 * tracks of an older version get theirs again at the next analysis pass. */
#define VISUALS_VERSION 1

#define VISUALS_PEAK_MS 100
/* 8 KiB at most: 13.6 minutes at 100 ms; a longer track gets bins of
 * 200 ms, 400 ms, ... (peak_ms says which), never more peaks. */
#define VISUALS_PEAKS_MAX 8192
#define VISUALS_TYPE_MAX 16
/* The largest cover the server sends (a larger one gives its colour). */
#define VISUALS_COVER_MAX (8u * 1024 * 1024)
/* The k-means of the cover runs on it scaled down to this square. */
#define VISUALS_COLOUR_SIDE 64

enum visuals_colour_from {
	VISUALS_COLOUR_NONE,    /* not computed */
	VISUALS_COLOUR_COVER,   /* the cover's dominant colour */
	VISUALS_COLOUR_TIMBRE,  /* no usable cover: from the MFCCs */
};

struct visuals {
	int version;                   /* VISUALS_VERSION */
	uint32_t peak_ms;              /* the length of a bin: 100, 200, ... */
	uint32_t n_peaks;
	/* The largest |sample| of either channel in each bin, linear,
	 * 0..255 for 0..1 (full scale and above: 255). */
	uint8_t peaks[VISUALS_PEAKS_MAX];
	uint32_t colour;               /* 0xRRGGBB */
	int colour_from;               /* enum visuals_colour_from */
	bool has_cover;                /* an embedded picture was found */
	char cover_type[VISUALS_TYPE_MAX]; /* "image/jpeg", "" unknown */
	int64_t cover_offset;          /* its bytes in the file */
	uint32_t cover_length;         /* 0: not stored verbatim */
};

/* The waveform, built as PCM streams past (bounded: no audio kept). */
struct visuals_wave {
	uint32_t bin_frames;           /* frames per bin now */
	uint32_t in_bin;               /* frames into the current bin */
	float peak;                    /* of the current bin */
	uint32_t peak_ms;
	uint32_t n_peaks;
	uint8_t peaks[VISUALS_PEAKS_MAX];
};

/* Starts a waveform of RATE_HZ audio (44100). */
void visuals_wave_begin(struct visuals_wave *w, unsigned rate_hz);

/* Feeds FRAMES frames of interleaved float PCM of CHANNELS channels. */
void visuals_wave_feed(struct visuals_wave *w, const float *pcm,
		       size_t frames, unsigned channels);

/* Ends the waveform (a last partial bin counts) into v's peaks, n_peaks
 * and peak_ms. */
void visuals_wave_end(struct visuals_wave *w, struct visuals *v);

/* The dominant colour of N_PIXELS pixels of 8-bit RGB (3 bytes each):
 * the mean of the largest of VISUALS_KMEANS_K clusters (k-means, seeded
 * deterministically by k-means++ with a fixed generator). Returns 0 with
 * *rgb = 0xRRGGBB, or -EINVAL when there is no pixel. */
#define VISUALS_KMEANS_K 5
int visuals_dominant_colour(const uint8_t *rgb, size_t n_pixels,
			    uint32_t *colour);

/* A colour for a track without a cover, from its timbre (the mean MFCCs
 * give the hue, the energy the saturation), mid-light so that it shows
 * on a dark page. Pure: the same analysis gives the same colour. */
uint32_t visuals_timbre_colour(const struct analysis *a);

/* The MIME type of an image from its first bytes (JPEG, PNG, GIF, WebP,
 * BMP), or NULL. */
const char *visuals_image_type(const uint8_t *head, size_t n);

/* "#rrggbb" into buf (8 bytes). Returns buf. */
char *visuals_colour_hex(uint32_t colour, char buf[8]);

/* Reads the embedded cover of PATH with FFmpeg (cover.c): its dominant
 * colour (colour_from VISUALS_COLOUR_COVER), its type and where its bytes
 * lie in the file. Returns 0 with has_cover set, -ENOENT when the file has
 * no picture FFmpeg can read, or another negative errno; on failure v is
 * unchanged. Only for the analysis child: it parses an untrusted file. */
int visuals_cover_read(const char *path, struct visuals *v);

#endif
