/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * json_out — see json_out.h.
 */
#include "autoconfig.h"

#include "json_out.h"

#include "utf8.h"

#include <math.h>
#include <stdlib.h>

json_t *json_out_string(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *clean = utf8_clean_dup(s);
	j = clean ? json_string(clean) : NULL;
	free(clean);
	return j ? j : json_null();
}

json_t *json_out_number(double v)
{
	json_t *j = isfinite(v) ? json_real(v) : NULL;
	return j ? j : json_null();
}
