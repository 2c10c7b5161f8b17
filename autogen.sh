#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerates the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf --force --install --warnings=all
