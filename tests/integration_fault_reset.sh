#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_reset — a server (a proxy in front of Icecast) that
# resets the source connection 3 s into the stream: the output notices
# and is back within 15 s. Meanwhile a second output streams to a healthy
# Icecast and its listener never loses a frame. See tests/fault-stall.sh
# for what is asserted.
FAULT_MODE=reset
LISTEN_S=15
. "$top_srcdir/tests/fault-stall.sh"
