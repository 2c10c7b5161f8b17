#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs the Debian packages foreverfm needs to build, test and run.
# Sourced by contrib/test.sh and contrib/demo.sh; safe to run again (apt-get
# does nothing for packages already installed). Needs root or sudo.
#
# Why each library is there: see README.md, "Dependencies".

FOREVERFM_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
 libshout3-dev libmp3lame-dev libvorbis-dev libmpg123-dev libsndfile1-dev
 libsqlite3-dev libsamplerate0-dev libinih-dev libaubio-dev libebur128-dev libjansson-dev"
# Test and demo tools: a real Icecast, generators and decoders for test music.
FOREVERFM_TEST_PACKAGES="icecast2 sox libsox-fmt-all ffmpeg vorbis-tools curl
 sqlite3 valgrind procps python3 bc
 asc-music"

foreverfm_install_packages() {
	missing=""
	for p in $FOREVERFM_BUILD_PACKAGES $FOREVERFM_TEST_PACKAGES "$@"; do
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
