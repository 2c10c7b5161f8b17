/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encode_internal — the operations table that encode.c dispatches to, one
 * per codec (encode_mp3.c, encode_ogg.c). Private to the encode module.
 *
 * A backend's create() validates its parameters, allocates everything it
 * will ever need (including its output buffer, sized for the worst case of
 * one call) and returns its state, or NULL with errno set and a one-line
 * reason in err. The other operations have the contracts of the functions
 * of the same name in encode.h; encode.c has already checked the arguments
 * common to every codec (NULL pointers, n_frames <= ENCODE_FRAMES_MAX, a
 * finished encoder) before it calls them.
 */
#ifndef FOREVERFM_ENCODE_INTERNAL_H
#define FOREVERFM_ENCODE_INTERNAL_H

#include <stddef.h>

#include "encode.h"

#define ENCODE_RATE_HZ 44100
#define ENCODE_CHANNELS 2

struct encode_ops {
	const char *name;
	void *(*create)(const struct encode_params *params, char *err,
			size_t err_size);
	void (*destroy)(void *state);
	int (*write)(void *state, const float *frames, size_t n_frames,
		     const unsigned char **out, size_t *out_len);
	int (*track)(void *state, const char *artist, const char *title,
		     const unsigned char **out, size_t *out_len);
	int (*finish)(void *state, const unsigned char **out, size_t *out_len);
	int (*nominal_bitrate)(const void *state);
};

extern const struct encode_ops encode_mp3_ops;
extern const struct encode_ops encode_ogg_ops;

#endif
