# SPDX-License-Identifier: GPL-3.0-or-later
"""A small stand-in for a Subsonic API server, for the feed tests.

Debian has no Subsonic server that runs here without a web stack and a
library scan of its own, so the tests use this one, written to the
published Subsonic API (1.16.1) and its OpenSubsonic extensions: the
endpoints foreverfm calls, with the token authentication checked as a real
server does (t = md5(password + s)), JSON answers in the subsonic-response
envelope, and error 40 for wrong credentials.

usage: subsonic_server.py LIBRARY.json PORT_FILE REQUEST_LOG

LIBRARY.json: {"user": ..., "password": ..., "songs": [{"id", "path",
"title", "artist", "genre", "bpm", "duration", "album", "starred",
"playlists": [...]}, ...]}. It binds 127.0.0.1 on a free port, writes the
port to PORT_FILE, and appends every request line (path and query as
received) to REQUEST_LOG. A request that carries the plain password ("p=")
is refused with error 40 and logged as such.
"""
import hashlib
import http.server
import json
import os
import sys
import urllib.parse

LIB = json.load(open(sys.argv[1], encoding="utf-8"))
PORT_FILE, REQUEST_LOG = sys.argv[2], sys.argv[3]
VERSION = "1.16.1"


def child(song):
    out = {"id": song["id"], "isDir": False, "title": song["title"],
           "artist": song["artist"], "album": song.get("album", ""),
           "genre": song.get("genre", ""), "duration": song["duration"],
           "bpm": song.get("bpm", 0), "coverArt": "co-" + song["id"],
           "size": os.path.getsize(song["path"]), "type": "music",
           "contentType": "audio/mpeg", "suffix": "mp3"}
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, payload, status="ok"):
        body = {"subsonic-response": dict(status=status, version=VERSION,
                                          type="foreverfm-test",
                                          openSubsonic=True, **payload)}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, code, message):
        self.reply({"error": {"code": code, "message": message}},
                   status="failed")

    def do_GET(self):
        with open(REQUEST_LOG, "a", encoding="utf-8") as log:
            log.write(self.path + "\n")
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if not url.path.startswith("/rest/"):
            self.send_error(404)
            return
        method = url.path[len("/rest/"):]
        if method.endswith(".view"):
            method = method[:-5]
        if "p" in q:
            with open(REQUEST_LOG, "a", encoding="utf-8") as log:
                log.write("PLAIN PASSWORD SENT\n")
            self.error(40, "Wrong username or password")
            return
        if not all(k in q for k in ("u", "t", "s", "v", "c")):
            self.error(10, "Required parameter is missing")
            return
        want = hashlib.md5((LIB["password"] + q["s"]).encode()).hexdigest()
        if q["u"] != LIB["user"] or q["t"] != want:
            self.error(40, "Wrong username or password")
            return
        songs = LIB["songs"]
        if method == "ping":
            self.reply({})
        elif method == "getRandomSongs":
            size = int(q.get("size", 10))
            self.reply({"randomSongs": {"song": [child(s) for s in songs][:size]}})
        elif method == "getSongsByGenre":
            count = int(q.get("count", 10))
            hits = [child(s) for s in songs if s.get("genre") == q.get("genre")]
            self.reply({"songsByGenre": {"song": hits[:count]}})
        elif method == "getStarred2":
            self.reply({"starred2": {"song": [child(s) for s in songs
                                              if s.get("starred")]}})
        elif method == "getAlbumList2":
            albums = []
            for s in songs:
                if s.get("album") and s["album"] not in albums:
                    albums.append(s["album"])
            self.reply({"albumList2": {"album": [
                {"id": "al-" + a, "name": a} for a in albums]}})
        elif method == "getAlbum":
            name = q.get("id", "")[3:]
            self.reply({"album": {"id": q.get("id"), "name": name, "song": [
                child(s) for s in songs if s.get("album") == name]}})
        elif method == "getPlaylists":
            names = sorted({p for s in songs for p in s.get("playlists", [])})
            self.reply({"playlists": {"playlist": [
                {"id": "pl-" + n, "name": n} for n in names]}})
        elif method == "getPlaylist":
            name = q.get("id", "")[3:]
            self.reply({"playlist": {"id": q.get("id"), "name": name, "entry": [
                child(s) for s in songs if name in s.get("playlists", [])]}})
        elif method == "stream":
            hit = [s for s in songs if s["id"] == q.get("id")]
            if not hit:
                self.error(70, "Song not found")
                return
            data = open(hit[0]["path"], "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self.error(0, "Unknown method " + method)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
