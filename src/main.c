/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * main — command-line dispatch. Everything else lives in libforeverfm.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: foreverfm [run] -c FILE\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	usage(argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
