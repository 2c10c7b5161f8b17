/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * utf8 — making arbitrary bytes safe to print as UTF-8. See utf8.h.
 */
#include "autoconfig.h"

#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *utf8_clean_dup(const char *s)
{
	size_t len = strlen(s);
	/* Worst case: every byte becomes the 3-byte U+FFFD. */
	char *out = malloc(3 * len + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t n = 0;
		uint32_t cp = 0;
		if (p[0] < 0x80)
			n = 1;
		else if (p[0] >= 0xC2 && p[0] <= 0xDF)
			n = 2, cp = p[0] & 0x1F;
		else if (p[0] >= 0xE0 && p[0] <= 0xEF)
			n = 3, cp = p[0] & 0x0F;
		else if (p[0] >= 0xF0 && p[0] <= 0xF4)
			n = 4, cp = p[0] & 0x07;
		bool ok = n > 0 && i + n <= len;
		for (size_t k = 1; ok && k < n; k++) {
			if ((p[k] & 0xC0) != 0x80)
				ok = false;
			cp = cp << 6 | (p[k] & 0x3F);
		}
		/* No overlongs, surrogates or values past U+10FFFF. */
		if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xD800 &&
						       cp <= 0xDFFF))) ||
			   (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
			ok = false;
		if (ok) {
			memcpy(out + o, p, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
