# SPDX-License-Identifier: GPL-3.0-or-later
"""A small stand-in for the Jamendo API v3.0, for the feed tests.

Written to the published API: GET /v3.0/tracks/ with client_id, format=json,
limit, include=musicinfo, audioformat, order and tags; the answer is
{"headers": {"status", "code", "error_message", "warnings",
"results_count"}, "results": [...]}, each track with id, name, duration,
artist_name, album_name, audio, audiodownload, image, album_image and
musicinfo.tags.genres. A wrong
client_id gets status "failed" and code 5, as the API answers an unknown
credential. The audio URLs point back here (/audio/ID.mp3) and, like the
real ones, carry the client id ("from=app-CLIENT_ID").

usage: jamendo_server.py LIBRARY.json PORT_FILE REQUEST_LOG
LIBRARY.json: {"client_id": ..., "tracks": [{"id", "path", "name",
"artist_name", "album" (optional), "duration", "genres": [...],
"popularity": N}, ...]}.
"""
import http.server
import json
import os
import sys
import urllib.parse

LIB = json.load(open(sys.argv[1], encoding="utf-8"))
PORT_FILE, REQUEST_LOG = sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send_json(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with open(REQUEST_LOG, "a", encoding="utf-8") as log:
            log.write(self.path + "\n")
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        port = self.server.server_address[1]
        if url.path.startswith("/audio/"):
            tid = url.path[len("/audio/"):].split(".")[0]
            hit = [t for t in LIB["tracks"] if t["id"] == tid]
            if not hit or q.get("from") != "app-" + LIB["client_id"]:
                self.send_error(404)
                return
            data = open(hit[0]["path"], "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if url.path not in ("/v3.0/tracks/", "/v3.0/tracks"):
            self.send_error(404)
            return
        if q.get("client_id") != LIB["client_id"]:
            self.send_json({"headers": {
                "status": "failed", "code": 5,
                "error_message": "Your credential is not authorized.",
                "warnings": "", "results_count": 0}, "results": []})
            return
        tracks = LIB["tracks"]
        if "tags" in q:
            tracks = [t for t in tracks if q["tags"] in t["genres"]]
        if q.get("order", "").startswith("popularity"):
            tracks = sorted(tracks, key=lambda t: -t["popularity"])
        tracks = tracks[:int(q.get("limit", 10))]
        base = "http://127.0.0.1:%d" % port
        results = [{
            "id": t["id"], "name": t["name"], "duration": t["duration"],
            "artist_name": t["artist_name"],
            "album_name": t.get("album", ""),
            "audio": "%s/audio/%s.mp3?from=app-%s" % (base, t["id"], LIB["client_id"]),
            "audiodownload": "%s/audio/%s.mp3?from=app-%s&download=1" % (base, t["id"], LIB["client_id"]),
            "audiodownload_allowed": True,
            "image": "%s/image/%s.jpg" % (base, t["id"]),
            "album_image": "%s/image/album-%s.jpg" % (base, t["id"]),
            "musicinfo": {"tags": {"genres": t["genres"]}},
        } for t in tracks]
        self.send_json({"headers": {"status": "success", "code": 0,
                                    "error_message": "", "warnings": "",
                                    "results_count": len(results)},
                        "results": results})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
