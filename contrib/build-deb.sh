#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds the Debian package of foreverfm from this checkout, on Debian
# bookworm: installs the build dependencies named in debian/control (with
# `apt-get build-dep`, as root or through sudo), runs
# `dpkg-buildpackage -b -us -uc` (with this script's arguments), checks the
# result with lintian (errors fail the script, warnings are shown), and
# prints the path of the .deb. dpkg-buildpackage writes its files into the
# directory above the checkout; install the printed .deb with
# `sudo apt-get install PATH`.
#
# DEB_BUILD_OPTIONS=nocheck skips `make check` during the build, and the
# test tools in Build-Depends with it (the nocheck build profile).
set -eu
cd "$(dirname "$0")/.."
[ -f debian/control ] || { echo "build-deb: no debian/control in $(pwd)" >&2; exit 2; }

profiles=""
case " ${DEB_BUILD_OPTIONS:-} " in *" nocheck "*) profiles="-Pnocheck" ;; esac
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# build-essential and dpkg-dev build the package, lintian checks it; the
# rest comes from debian/control. No questions from debconf.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends build-essential dpkg-dev lintian
$sudo env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q \
	--no-install-recommends $profiles ./

dpkg-buildpackage -b -us -uc $profiles "$@"

version=$(dpkg-parsechangelog -S Version)
version=${version#*:}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
out=$(cd .. && pwd)
changes="$out/foreverfm_${version}_${arch}.changes"
deb="$out/foreverfm_${version}_${arch}.deb"

echo "build-deb: lintian $changes"
lintian --fail-on error "$changes" || {
	echo "build-deb: lintian found errors" >&2
	exit 1
}
echo "build-deb: $deb"
