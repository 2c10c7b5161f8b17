#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_silent — a server that reads the source request and
# never answers: the handshake is given up after [icecast] timeout_seconds
# (twice), and the output is back within 15 s of the server recovering.
# Meanwhile a second output streams to a healthy Icecast and its listener
# never loses a frame. See tests/fault-stall.sh for what is asserted.
FAULT_MODE=silent
LISTEN_S=25
. "$top_srcdir/tests/fault-stall.sh"
