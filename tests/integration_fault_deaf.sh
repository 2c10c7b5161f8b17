#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_fault_deaf — a server that answers the source request
# "HTTP/1.0 200 OK" and never reads again: the send is given up after
# [icecast] timeout_seconds without progress, and the output is back
# within 15 s of the server recovering. Meanwhile a second output streams
# to a healthy Icecast and its listener never loses a frame. See
# tests/fault-stall.sh for what is asserted.
FAULT_MODE=deaf
LISTEN_S=20
. "$top_srcdir/tests/fault-stall.sh"
