/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * json_out — jansson values for the commands' JSON output (`analyze
 * --json`, `plan --json`), made from what the catalog holds: strings that
 * may not be valid UTF-8 (file names are bytes) and numbers that may be
 * unknown (NaN).
 *
 * A string that is valid UTF-8 goes through unchanged; one that is not gets
 * U+FFFD for each invalid byte (utf8.h) instead of being dropped, as
 * json_string() would. A number that is not finite becomes null, which JSON
 * readers understand as "unknown", where json_real() would fail.
 * Both return a new reference; on allocation failure, null (json_null()
 * never fails), so a caller can hand the result to json_object_set_new()
 * without a check. Thread rules: none.
 */
#ifndef FOREVERFM_JSON_OUT_H
#define FOREVERFM_JSON_OUT_H

#include <jansson.h>

json_t *json_out_string(const char *s);
json_t *json_out_number(double v);

#endif
