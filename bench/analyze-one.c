/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * analyze-one — analyses the files named on the command line (for
 * bench/analyze-speed.sh) and prints the main figures of each.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "analyze.h"

int main(int argc, char **argv)
{
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		struct analysis a;
		char err[256] = "";
		if (analyze_file(argv[i], NULL, &a, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err);
			bad = 1;
			continue;
		}
		printf("%s: %.2f BPM (%.2f) first beat %.3f s, %s (%s), %.1f LUFS, "
		       "%.1f dBTP, energy %.2f\n", argv[i], a.bpm,
		       a.bpm_confidence, a.first_beat_s, a.key_name, a.camelot,
		       a.loudness_lufs, a.true_peak_db, a.energy);
	}
	return bad;
}
