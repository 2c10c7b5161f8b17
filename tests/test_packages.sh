#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_packages — the package lists cannot drift from what the build and the
# tests use. configure.ac is the one list of libraries (FFM_REQUIRE and
# FFM_REQUIRE_LIB name each library's Debian package); contrib/packages.sh
# installs what it names. This test asks dpkg, on the machine that built
# foreverfm, who really owns each library:
#   - every pkg-config module and header configure requires belongs to the
#     package configure.ac names for it (or to a direct dependency of that
#     package, as ogg.pc belongs to libvorbis-dev's libogg-dev);
#   - configure.ac requires no library outside those macros;
#   - every package contrib/packages.sh installs exists;
#   - debian/control's Build-Depends lists every library package, and
#     every test package (make check runs in the package build);
#   - every tool a test demands (need_tools) comes from a package the
#     scripts install or from Debian's essential/required set, so no test
#     can be skipped in CI for want of a package nobody installs.
#
# Exit: 0 pass, 1 fail, 77 skip (not a Debian machine).
set -u

: "${top_srcdir:?}"
command -v dpkg-query >/dev/null 2>&1 || { echo "SKIP: no dpkg"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: no pkg-config"; exit 77; }
top=$top_srcdir
. "$top/contrib/packages.sh"

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

all=$(foreverfm_packages)
libs=$(foreverfm_library_packages)
[ -n "$libs" ] || fail "no library packages found in configure.ac"

# in_list WORD LIST: true when WORD is one of LIST's words.
in_list() {
	case " $(echo $2) " in *" $1 "*) return 0 ;; esac
	return 1
}

# depends_of PACKAGE: the names of PACKAGE's direct dependencies.
depends_of() {
	dpkg-query -W -f='${Depends},${Pre-Depends}\n' "$1" 2>/dev/null |
		tr ',|' '\n\n' | sed 's/([^)]*)//; s/:any//; s/^ *//; s/ *$//' |
		grep -v '^$'
}

# owner FILE: the package that installed FILE (tries the /usr-merged twin).
owner() {
	for f in "$1" "$(readlink -f "$1")" "$(echo "$1" | sed 's|^/usr/|/|')"; do
		o=$(dpkg-query -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$o" ] && { echo "$o"; return 0; }
	done
	return 1
}

# owned_as FILE PACKAGE WHAT: FILE belongs to PACKAGE or a direct dependency.
owned_as() {
	o=$(owner "$1") || { fail "$3: $1 belongs to no package"; return; }
	[ "$o" = "$2" ] && return
	in_list "$o" "$(depends_of "$2")" && return
	fail "$3: $1 belongs to $o, but configure.ac names $2"
}

# 1. Each FFM_REQUIRE(VAR, modules, package): the .pc files' owners.
n=0
sed -n 's/^FFM_REQUIRE(\[[A-Z0-9_]*\], *\[\([^]]*\)\], *\[\([^]]*\)\])$/\1|\2/p' \
	"$top/configure.ac" > "${TMPDIR:-/tmp}/ffm-req.$$"
while IFS='|' read -r modules pkg; do
	in_list "$pkg" "$all" || fail "$pkg (configure.ac) is not installed by contrib/packages.sh"
	# "sqlite3 >= 3.31" -> sqlite3; version constraints dropped.
	for m in $(echo "$modules" | sed 's/[<>=!]=* *[0-9][0-9.]*//g'); do
		dir=$(pkg-config --variable=pcfiledir "$m" 2>/dev/null) ||
			{ fail "pkg-config knows no $m (from $pkg)"; continue; }
		owned_as "$dir/$m.pc" "$pkg" "module $m"
		n=$((n + 1))
	done
done < "${TMPDIR:-/tmp}/ffm-req.$$"
rm -f "${TMPDIR:-/tmp}/ffm-req.$$"
[ "$n" -ge 10 ] || fail "only $n pkg-config modules found in configure.ac"

# 2. Each FFM_REQUIRE_LIB(VAR, header, lib, function, package): the header.
sed -n 's/^FFM_REQUIRE_LIB(\[[A-Z0-9_]*\], *\[\([^]]*\)\], *\[[^]]*\], *\[[^]]*\], *\[\([^]]*\)\])$/\1|\2/p' \
	"$top/configure.ac" | while IFS='|' read -r header pkg; do
	in_list "$pkg" "$all" || fail "$pkg (configure.ac) is not installed by contrib/packages.sh"
	hdr=$(echo '#include <'"$header"'>' | ${CC:-cc} -E -M - 2>/dev/null |
		tr ' \\' '\n\n' | grep "/$header\$" | head -n 1)
	[ -n "$hdr" ] || { echo "FAIL: header $header not found" >&2; exit 1; }
	o=$(owner "$hdr")
	[ "$o" = "$pkg" ] || { echo "FAIL: $hdr belongs to ${o:-no package}, configure.ac names $pkg" >&2; exit 1; }
done || failures=$((failures + 1))

# 3. No library check outside the macros (their definitions use each once).
for macro in PKG_CHECK_MODULES AC_CHECK_LIB AC_CHECK_HEADER; do
	c=$(grep -c "^ *$macro(" "$top/configure.ac")
	[ "$c" -le 1 ] || fail "configure.ac calls $macro $c times: use FFM_REQUIRE / FFM_REQUIRE_LIB so the package is named"
done

# 4. Every package the scripts install exists in the archive.
for p in $all; do
	apt-cache show "$p" >/dev/null 2>&1 || fail "contrib/packages.sh installs $p, which apt does not know"
done

# 5. The Debian package builds against the same libraries, and its build's
# make check has the same tools (as <!nocheck> Build-Depends).
if [ -f "$top/debian/control" ]; then
	bd=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$top/debian/control" |
		sed 's/^Build-Depends://; s/([^)]*)//g' | tr ',' '\n' |
		sed 's/^ *//; s/ *$//' | grep -v '^$' | grep -v '^[A-Z]')
	for p in $libs; do
		in_list "$p" "$bd" || fail "debian/control's Build-Depends lacks $p (configure.ac requires it)"
	done
	for p in $FOREVERFM_TEST_PACKAGES; do
		in_list "$p" "$bd" || fail "debian/control's Build-Depends lacks $p <!nocheck> (contrib/packages.sh installs it for the tests)"
	done
fi

# 6. Every tool a test needs comes from an installed-by-us or base package.
base_ok() {
	prio=$(dpkg-query -W -f='${Essential} ${Priority}' "$1" 2>/dev/null)
	case "$prio" in yes*|*required) return 0 ;; esac
	return 1
}
# The tools a test skips without: need_tools TOOL... and `command -v TOOL ||
# ... exit 77` in the scripts, test_have_program("TOOL") in the C tests.
tools=$({
	cat "$top"/tests/*.sh | sed -n 's/^[[:space:]]*need_tools //p'
	grep -h 'command -v [a-z].*exit 77' "$top"/tests/*.sh |
		sed 's/.*command -v \([a-z0-9_-]*\).*/\1/' | grep -v '^dpkg-query$\|^pkg-config$'
	grep -ho 'test_have_program("[a-z0-9_-]*")' "$top"/tests/*.c |
		sed 's/.*("\(.*\)")/\1/'
} | tr ' ' '\n' | grep -v '^$' | sort -u)
[ -n "$tools" ] || fail "no need_tools calls found in tests/"
deps=""
for p in $FOREVERFM_TEST_PACKAGES; do deps="$deps $(depends_of "$p")"; done
for t in $tools; do
	# Debian's own copy: a developer's PATH may hold others (pyenv, ~/bin).
	path=""
	for d in /usr/bin /bin /usr/sbin /sbin; do
		[ -x "$d/$t" ] && { path=$d/$t; break; }
	done
	[ -n "$path" ] || { fail "tests need $t, which no installed package provides"; continue; }
	o=$(owner "$path") || { fail "tests need $t ($path), which belongs to no package"; continue; }
	in_list "$o" "$all" && continue
	in_list "$o" "$deps" && continue
	base_ok "$o" && continue
	fail "tests need $t, from $o, which contrib/packages.sh does not install"
done

[ "$failures" -eq 0 ] || exit 1
echo "ok: $(echo $libs | wc -w) library packages, $(echo $tools | wc -w) test tools checked"
