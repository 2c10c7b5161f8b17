#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The Debian packages foreverfm needs to build, test and run, and the
# function that installs them. Sourced by contrib/test.sh and
# contrib/demo.sh, which set $top to the source tree first; safe to run
# again (apt-get does nothing for packages already installed). Needs root or
# sudo.
#
# The libraries come from one place: configure.ac. Each FFM_REQUIRE and
# FFM_REQUIRE_LIB call there names the Debian package of its library, and
# this file installs exactly those, so configure can never ask for a package
# the scripts do not install (tests/test_packages.sh checks that each
# package really owns its library, and that debian/control agrees).
#
# Why each library is there: README.md, "Dependencies".

# To build: a C toolchain and the autotools (the checkout has no configure).
FOREVERFM_TOOLCHAIN_PACKAGES="build-essential autoconf automake libtool pkg-config"
# To test and for the demo: a real Icecast, generators and decoders for test
# music, and the shell tools the tests call (README.md says which uses what).
FOREVERFM_TEST_PACKAGES="icecast2 sox libsox-fmt-base libsox-fmt-mp3 ffmpeg
 vorbis-tools curl sqlite3 procps python3 bc groff-base asc-music nginx
 faketime chromium python3-websocket"

# foreverfm_library_packages: prints the -dev packages configure.ac requires,
# one per line.
foreverfm_library_packages() {
	sed -n 's/^FFM_REQUIRE\(_LIB\)\{0,1\}(.*, *\[\([a-z0-9][a-z0-9.+-]*\)\])$/\2/p' \
		"${top:?packages.sh: set top to the source tree}/configure.ac"
}

# foreverfm_packages: prints every package the scripts install, one per line.
foreverfm_packages() {
	for p in $FOREVERFM_TOOLCHAIN_PACKAGES $(foreverfm_library_packages) \
		$FOREVERFM_TEST_PACKAGES; do
		echo "$p"
	done
}

# foreverfm_install_packages [EXTRA...]: installs what is missing of
# foreverfm_packages and EXTRA. Returns non-zero when apt-get fails or
# configure.ac names no library (a broken checkout, not a quiet success).
foreverfm_install_packages() {
	libs=$(foreverfm_library_packages)
	[ -n "$libs" ] || { echo "packages.sh: no FFM_REQUIRE packages in $top/configure.ac" >&2; return 1; }
	missing=""
	for p in $(foreverfm_packages) "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	# icecast2's postinst asks debconf questions; answer them with defaults.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing
}
