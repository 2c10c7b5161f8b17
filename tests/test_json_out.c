/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_json_out — what the commands' JSON output makes of catalog values:
 * valid UTF-8 unchanged, invalid bytes as U+FFFD (never a dropped key or a
 * failed dump), unknown numbers as null.
 */
#include "autoconfig.h"

#include "json_out.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The value as JSON text, compact. */
static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	CHECK(s);
	json_decref(j);
	return s;
}

static void check_dump(json_t *j, const char *want)
{
	char *s = dump(j);
	CHECK_STR(s, want);
	free(s);
}

int main(void)
{
	check_dump(json_out_string("Sigur R\xc3\xb3s - \"Zitat\""),
		   "\"Sigur R\xc3\xb3s - \\\"Zitat\\\"\"");
	check_dump(json_out_string(""), "\"\"");
	/* A Latin-1 file name: each invalid byte becomes U+FFFD. */
	check_dump(json_out_string("caf\xe9 \xff.mp3"),
		   "\"caf\xef\xbf\xbd \xef\xbf\xbd.mp3\"");
	/* Overlong and surrogate encodings are invalid too. */
	check_dump(json_out_string("\xc0\xaf|\xed\xa0\x80"),
		   "\"\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
		   "\xef\xbf\xbd\"");

	check_dump(json_out_number(120.5), "120.5");
	check_dump(json_out_number(-0.25), "-0.25");
	check_dump(json_out_number(NAN), "null");
	check_dump(json_out_number(INFINITY), "null");
	check_dump(json_out_number(-INFINITY), "null");

	/* In an object, a bad value never drops its key. */
	json_t *o = json_object();
	CHECK(o);
	CHECK(json_object_set_new(o, "path", json_out_string("\x80")) == 0);
	CHECK(json_object_set_new(o, "bpm", json_out_number(NAN)) == 0);
	check_dump(o, "{\"path\":\"\xef\xbf\xbd\",\"bpm\":null}");
	return 0;
}
