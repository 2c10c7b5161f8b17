#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fault_server.py — a misbehaving Icecast for the fault tests
# (tests/integration_fault_*.sh): a TCP server on 127.0.0.1 in front of a
# real Icecast. Requests for one mount (its source request, and its title
# updates, GET /admin/metadata?...mount=MOUNT) meet the fault; every other
# request, and every request once the server has "recovered", is forwarded
# to the real Icecast unchanged.
#
#   fault_server.py MODE UPSTREAM_PORT MOUNT DIR
#
# MODE
#   silent  reads the request and never answers (a hung server: the
#           source's handshake never completes)
#   deaf    reads the request, answers "HTTP/1.0 200 OK" and never reads
#           again (a server or proxy stuck after accepting the source)
#   reset   forwards, and RESET_AFTER_S (3 s) into the first source
#           connection for MOUNT that lasts that long resets it (RST, as a
#           crashed proxy or a NAT that forgot the flow would); it has
#           recovered after that
# SIGUSR1 makes silent and deaf recover: requests accepted from then on are
# forwarded. Connections already stalled stay stalled (held open, never
# read): the client has to notice by itself.
#
# DIR/port gets the listening port once it listens (written whole, by
# rename); DIR/events one line per event, "<seconds since the epoch>
# <what>", the clock `date +%s.%N` prints, so a shell test can measure
# between them. Listens on 127.0.0.1 only; starts no process; ends on
# SIGTERM.
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

RESET_AFTER_S = 3.0
RCVBUF = 8192
HEAD_MAX = 65536


def now():
    # The clock `date +%s.%N` reads, so that the shell can measure between
    # an event here and one it sees. (Tests never step the clock.)
    return time.time()


class Fault:
    def __init__(self, mode, upstream_port, mount, directory):
        self.mode = mode
        self.upstream_port = upstream_port
        self.mount = mount
        self.directory = directory
        self.recovered = False
        self.reset_done = False
        self.held = []          # stalled sockets, kept open on purpose
        self.lock = threading.Lock()

    def event(self, what):
        with self.lock:
            with open(os.path.join(self.directory, "events"), "a") as f:
                f.write("%.3f %s\n" % (now(), what))

    def recover(self, signum, frame):
        self.recovered = True
        self.event("recovered")

    def faulty(self, head):
        """True when the request is the mount's source or title update."""
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if len(parts) < 2:
            return False, False
        method, target = parts[0], parts[1]
        url = urllib.parse.urlsplit(target)
        if method in ("SOURCE", "PUT") and url.path == self.mount:
            return True, True
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/admin/metadata" and \
                query.get("mount", [""])[0] == self.mount:
            return True, False
        return False, False

    def forward(self, client, head, reset_after=None):
        """Relays both ways, in this thread; with reset_after, resets the
        client's connection that many seconds in (and closes upstream)."""
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port),
                                          timeout=5)
            up.sendall(head)
        except OSError as e:
            self.event("upstream failed: %s" % e)
            client.close()
            return
        if reset_after is not None:
            self.event("forwarding the source, to be reset")
        deadline = None if reset_after is None else now() + reset_after
        peer = {client: up, up: client}
        ended_early = True
        try:
            while True:
                wait = None if deadline is None else deadline - now()
                if wait is not None and wait <= 0:
                    ended_early = False
                    break
                ready, _, _ = select.select([client, up], [], [], wait)
                if not ready:
                    continue
                done = False
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        done = True
                        break
                    peer[s].sendall(data)
                if done:
                    break
        except OSError:
            pass
        if reset_after is not None and ended_early:
            # Over before its time (libshout's first request, without
            # credentials, is refused): reset the next one instead.
            self.reset_done = False
        elif reset_after is not None:
            # SO_LINGER 0: close() sends RST instead of FIN.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
            self.event("reset")
            self.recovered = True
        for s in (up, client):
            s.close()

    def serve(self, client):
        head = b""
        client.settimeout(10)
        try:
            while b"\r\n\r\n" not in head and len(head) < HEAD_MAX:
                data = client.recv(4096)
                if not data:
                    client.close()
                    return
                head += data
        except OSError:
            client.close()
            return
        client.settimeout(None)
        faulty, source = self.faulty(head)
        what = "source" if source else "title"
        if not faulty or self.recovered:
            if faulty:
                self.event("forwarding a %s request" % what)
            self.forward(client, head)
        elif self.mode == "silent":
            self.event("%s request: never answering" % what)
            self.held.append(client)
        elif self.mode == "deaf":
            try:
                client.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
            except OSError:
                pass
            self.event("%s request: answered 200, never reading" % what)
            self.held.append(client)
        elif self.mode == "reset":
            if source and not self.reset_done:
                self.reset_done = True
                self.forward(client, head, RESET_AFTER_S)
            else:
                self.forward(client, head)

    def run(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # A receive window as small as a busy server's (accepted sockets
        # inherit it): loopback's default lets a sender park megabytes,
        # minutes of audio, in a server that never reads, where a real
        # network path would have filled and blocked the sender long ago.
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        tmp = os.path.join(self.directory, "port.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % ls.getsockname()[1])
        os.rename(tmp, os.path.join(self.directory, "port"))
        while True:
            client, _ = ls.accept()
            threading.Thread(target=self.serve, args=(client,),
                             daemon=True).start()


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("silent", "deaf", "reset"):
        print("usage: fault_server.py silent|deaf|reset UPSTREAM_PORT MOUNT "
              "DIR", file=sys.stderr)
        return 2
    fault = Fault(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
    signal.signal(signal.SIGUSR1, fault.recover)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    fault.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
