/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_utf8 — valid UTF-8 passes through byte for byte; every invalid byte
 * (Latin-1, stray continuation, truncated sequence, overlong, surrogate,
 * past U+10FFFF) becomes exactly one U+FFFD.
 */
#include "autoconfig.h"

#include "utf8.h"
#include "testutil.h"

static void expect(const char *in, const char *want)
{
	char *got = utf8_clean_dup(in);
	CHECK(got != NULL);
	CHECK_STR(got, want);
	free(got);
}

int main(void)
{
	expect("", "");
	expect("plain ascii", "plain ascii");
	expect("Sigur R\xc3\xb3s \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xb5",
	       "Sigur R\xc3\xb3s \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xb5");
	expect("Bj\xf6rk", "Bj\xef\xbf\xbdrk");              /* Latin-1 */
	expect("a\x80z", "a\xef\xbf\xbdz");                  /* stray continuation */
	expect("end\xe6\x97", "end\xef\xbf\xbd\xef\xbf\xbd"); /* truncated */
	expect("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");      /* overlong '/' */
	expect("\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	expect("\xf4\x90\x80\x80",                           /* past U+10FFFF */
	       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");      /* U+10FFFF itself */
	return 0;
}
