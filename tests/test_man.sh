#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_man — the manual pages against the code, so that they cannot drift:
#   foreverfm.ini(5): every section and key the configuration parser knows
#     (config_key_foreach, printed by tests/config_keys) is an entry under
#     SECTIONS AND KEYS (".SS [section]", then ".TP" + the key's name), the
#     page has no entry the parser does not know, and every entry says what
#     a reload does ("SIGHUP" or "restart");
#   foreverfm(1): every command of main.c's commands[] table is a ".TP"
#     entry under COMMANDS, every long option of its longopts[] table and
#     every short option of its getopt_long() string is in the tag of an
#     entry under OPTIONS, and the page names none that the code lacks;
#   `foreverfm --help` names every command and long option too;
#   both pages format without a warning (groff -ww), when groff is there,
#   but for "can't break line": the installation paths are filled in and
#   kept unhyphenated, so a long --prefix (make distcheck's) overfills.
# The lists come from the code (the tables, read from src/main.c, and the
# parser's own walk), never typed here.
#
# Exit: 0 pass, 1 fail, 99 could not run.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"

MAN1="$top_builddir/doc/foreverfm.1"
MAN5="$top_builddir/doc/foreverfm.ini.5"
MAIN_C="$top_srcdir/src/main.c"
for f in "$FOREVERFM" "$TOOLS/config_keys"; do
	[ -x "$f" ] || { echo "no $f" >&2; exit 99; }
done
for f in "$MAN1" "$MAN5" "$MAIN_C"; do
	[ -r "$f" ] || { echo "no $f" >&2; exit 99; }
done

work_setup man

failed=0
fail() {
	echo "FAIL: $*" >&2
	failed=1
}

# entries PAGE SECTION — one line "SUBSECTION<TAB>TAG<TAB>SAYS" per ".TP"
# entry under ".SH SECTION" of PAGE: SUBSECTION the ".SS" heading above it
# without brackets ("-" when none), TAG the line after the ".TP" without
# its macro, fonts and quotes ("\-" read as "-"), SAYS 1 when the entry's
# text names "SIGHUP" or "restart", else 0.
entries() {
	awk -v want="$2" '
	function norm(s) {
		sub(/^\.[A-Za-z]+[ \t]*/, "", s)
		gsub(/\\f(\[[^]]*\]|\(..|.)/, "", s)
		gsub(/\\-/, "-", s)
		gsub(/"/, "", s)
		return s
	}
	function flush() {
		if (tag != "")
			print sub_ "\t" tag "\t" (body ~ /SIGHUP|restart/)
		tag = ""
		body = ""
	}
	/^\.SH/ {
		flush()
		s = $0
		sub(/^\.SH[ \t]+/, "", s)
		gsub(/"/, "", s)
		inside = (s == want)
		sub_ = "-"
		next
	}
	!inside { next }
	/^\.SS/ {
		flush()
		s = $0
		sub(/^\.SS[ \t]+/, "", s)
		gsub(/[]["]/, "", s)
		sub_ = s
		next
	}
	/^\.TP/ { flush(); want_tag = 1; next }
	want_tag { want_tag = 0; tag = norm($0); next }
	{ body = body " " $0 }
	END { flush() }
	' "$1"
}

# table NAME — the quoted names of the entries of the C table "NAME[] = {"
# in main.c, up to its closing "};".
table() {
	awk -v start="$1\\[\\] = \\{" '
	$0 ~ start { inside = 1; next }
	inside && /^[ \t]*\};/ { exit }
	inside && match($0, /^[ \t]*\{ "[^"]+"/) {
		s = substr($0, RSTART, RLENGTH)
		sub(/^[^"]*"/, "", s)
		sub(/"$/, "", s)
		print s
	}
	' "$MAIN_C"
}

# missing A B — the lines of file A that are not in file B.
missing() {
	sort -u "$1" >"$1.sorted"
	sort -u "$2" >"$2.sorted"
	comm -23 "$1.sorted" "$2.sorted"
}

# agree CODE PAGE MISSING UNKNOWN — the lines of CODE and PAGE are the same
# set: one of CODE's missing from PAGE fails with MISSING, one of PAGE's
# unknown to CODE with UNKNOWN (printf formats, %s the line).
agree() {
	missing "$1" "$2" >"$WORK/agree-missing"
	missing "$2" "$1" >"$WORK/agree-unknown"
	while IFS= read -r x; do
		fail "$(printf "$3" "$x")"
	done <"$WORK/agree-missing"
	while IFS= read -r x; do
		fail "$(printf "$4" "$x")"
	done <"$WORK/agree-unknown"
}

# --- foreverfm.ini(5) ------------------------------------------------------
"$TOOLS/config_keys" >"$WORK/code-keys" || { echo "config_keys failed" >&2; exit 99; }
[ "$(wc -l <"$WORK/code-keys")" -gt 1 ] || { echo "config_keys printed nothing" >&2; exit 99; }
cut -d' ' -f1 "$WORK/code-keys" | sort -u >"$WORK/code-sections"

entries "$MAN5" "SECTIONS AND KEYS" >"$WORK/page5"
awk -F'\t' '{ split($2, w, /[ \t]+/); print $1 " " w[1] }' "$WORK/page5" \
	>"$WORK/page-keys"
sed -n 's/^\.SS[ \t]*"\{0,1\}\[\([^]]*\)\].*/\1/p' "$MAN5" | sort -u \
	>"$WORK/page-sections"

agree "$WORK/code-sections" "$WORK/page-sections" \
	"foreverfm.ini(5) has no .SS [%s] (config.c knows the section)" \
	"foreverfm.ini(5) documents [%s], which config.c does not know"
# "library path" -> "[library] path", as the messages name them.
sed 's/^\([^ ]*\) /[\1] /' "$WORK/code-keys" >"$WORK/code-keys.named"
sed 's/^\([^ ]*\) /[\1] /' "$WORK/page-keys" >"$WORK/page-keys.named"
agree "$WORK/code-keys.named" "$WORK/page-keys.named" \
	"foreverfm.ini(5) has no entry for %s" \
	"foreverfm.ini(5) documents %s, which config.c does not know"
awk -F'\t' '$3 == 0 { split($2, w, /[ \t]+/); print "[" $1 "] " w[1] }' \
	"$WORK/page5" >"$WORK/silent"
while read -r k; do
	fail "foreverfm.ini(5): $k does not say what a reload does" \
		"(\"SIGHUP\" or \"restart\")"
done <"$WORK/silent"

# --- foreverfm(1) ----------------------------------------------------------
table commands >"$WORK/code-commands"
grep -qx run "$WORK/code-commands" ||
	{ echo "no commands[] table with run in $MAIN_C" >&2; exit 99; }
{
	table longopts | sed 's/^/--/'
	sed -n 's/.*getopt_long(argc, argv, "\([^"]*\)".*/\1/p' "$MAIN_C" |
		tr -d ':' | fold -w1 | sed 's/^/-/'
} >"$WORK/code-options"
grep -qx -- --config "$WORK/code-options" && grep -qx -- -c "$WORK/code-options" ||
	{ echo "no longopts[] table or optstring in $MAIN_C" >&2; exit 99; }

entries "$MAN1" COMMANDS | awk -F'\t' '{ split($2, w, /[ \t]+/); print w[1] }' \
	>"$WORK/page-commands"
entries "$MAN1" OPTIONS | awk -F'\t' '{
	n = split($2, w, /[ \t,]+/)
	for (i = 1; i <= n; i++)
		if (w[i] ~ /^-/)
			print w[i]
}' >"$WORK/page-options"

agree "$WORK/code-commands" "$WORK/page-commands" \
	"foreverfm(1) has no COMMANDS entry for %s (main.c knows it)" \
	"foreverfm(1) documents the command %s, which main.c does not know"
agree "$WORK/code-options" "$WORK/page-options" \
	"foreverfm(1) has no OPTIONS entry for %s (main.c knows it)" \
	"foreverfm(1) documents the option %s, which main.c does not know"

# --- the usage text ----------------------------------------------------------
"$FOREVERFM" --help >"$WORK/help" 2>&1 || fail "foreverfm --help failed"
while read -r c; do
	grep -q "^  $c " "$WORK/help" || fail "foreverfm --help: no command $c"
done <"$WORK/code-commands"
grep -- '^--' "$WORK/code-options" | while read -r o; do
	grep -q -e "$o\\([^a-z-]\\|\$\\)" "$WORK/help" ||
		echo "FAIL: foreverfm --help: no option $o" >&2
done 2>"$WORK/help-missing"
[ -s "$WORK/help-missing" ] && { cat "$WORK/help-missing" >&2; failed=1; }

# --- formatting --------------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
	for page in "$MAN1" "$MAN5"; do
		groff -man -Tutf8 -ww -Wbreak -z "$page" >"$WORK/groff" 2>&1 ||
			fail "groff failed on $page"
		[ -s "$WORK/groff" ] &&
			fail "groff warns on $page: $(head -n 5 "$WORK/groff")"
	done
else
	echo "groff missing: formatting not checked"
fi

[ "$failed" -eq 0 ] || exit 1
echo "ok: $(wc -l <"$WORK/code-keys") keys in $(wc -l <"$WORK/code-sections")" \
	"sections, $(wc -l <"$WORK/code-commands") commands," \
	"$(wc -l <"$WORK/code-options") options"
exit 0
