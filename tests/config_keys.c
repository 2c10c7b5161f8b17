/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config_keys — prints every key the configuration parser knows, one
 * "SECTION KEY" line each, in the order of config.c's tables
 * (config_key_foreach), for tests/test_man.sh, which holds foreverfm.ini(5)
 * to that list. Exit 0, or 1 when standard output cannot be written.
 */
#include "autoconfig.h"

#include "config.h"

#include <stdio.h>

static int print_key(void *ctx, const char *section, const char *key)
{
	return fprintf(ctx, "%s %s\n", section, key) < 0 ? -1 : 0;
}

int main(void)
{
	int rc = config_key_foreach(print_key, stdout);

	if (fflush(stdout) != 0)
		rc = -1;
	return rc == 0 ? 0 : 1;
}
