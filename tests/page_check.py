#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# page_check.py — drives the listener page in Debian's chromium, headless,
# through the DevTools protocol (chromium's --remote-debugging-port; the
# client is python3-websocket). Called by tests/integration_page.sh with
# a station running:
#
#   page_check.py CHROMIUM API_URL PROFILE_DIR SCREENSHOT.png
#
# Checks: the page loads with no console error, no uncaught exception and
# no failed request logged; it shows the title /api/nowplaying gives, and
# the next title when the track changes; the waveform canvas is drawn (its
# region of a screenshot is not the empty canvas); the play button is
# reached by the keyboard, has a name, and starts the <audio> element on
# the stream. Keeps a screenshot of the page. Exit 0 or 1 (with why).
import base64
import json
import os
import struct
import subprocess
import sys
import time
import urllib.request
import zlib

import websocket

CHROMIUM, API, PROFILE, SHOT = sys.argv[1:5]
CANVAS_BG = (0x0b, 0x0b, 0x10)  # #wave's background (www/style.css)


def fail(why):
    print("FAIL:", why)
    sys.exit(1)


def api(path):
    with urllib.request.urlopen(API + path, timeout=5) as r:
        return json.load(r)


def png_pixels(data):
    """Decodes an 8-bit RGB or RGBA PNG (what chromium writes):
    (width, height, rows of bytes, bytes per pixel)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("the screenshot is not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or ctype not in (2, 6) or interlace:
        fail("unexpected PNG format %d/%d/%d" % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, rows, bpp


class Page:
    """One DevTools connection to a page; events are kept as they come."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=10)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == me:
                if "error" in msg:
                    fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            fail("evaluate %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, timeout_s, what):
        end = time.time() + timeout_s
        while time.time() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        fail("%s: not within %g s" % (what, timeout_s))

    def errors(self):
        bad = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                bad.append("exception: %s" % p["exceptionDetails"])
            elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                bad.append("console.%s: %s" % (p["type"], p.get("args")))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                bad.append("log: %s %s" % (p["entry"].get("text"),
                                           p["entry"].get("url", "")))
        return bad


def main():
    # As root (CI containers, this sandbox) chromium refuses its own
    # sandbox (it needs an unprivileged user namespace or the setuid
    # helper): --no-sandbox. The page is ours and loopback-only.
    args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0", "--user-data-dir=" + PROFILE,
            "--window-size=412,915", "about:blank"]
    log = open(os.path.join(PROFILE + ".log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        run(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(proc):
    port_file = os.path.join(PROFILE, "DevToolsActivePort")
    end = time.time() + 20
    while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
        if proc.poll() is not None or time.time() > end:
            fail("chromium did not start (see %s.log)" % PROFILE)
        time.sleep(0.1)
    port = int(open(port_file).read().split()[0])
    with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port) as r:
        targets = [t for t in json.load(r) if t["type"] == "page"]
    page = Page(targets[0]["webSocketDebuggerUrl"])
    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        page.call(domain)
    page.call("Emulation.setDeviceMetricsOverride", width=412, height=915,
              deviceScaleFactor=1, mobile=True)
    t0 = time.time()
    page.call("Page.navigate", url=API + "/")
    page.wait("document.readyState === 'complete'", 10, "the page loads")

    # The current title, as the API says it.
    def api_title():
        np = api("/api/nowplaying")
        s = np["now_playing"] and np["now_playing"]["song"]
        return s["title"] or s["text"] if s else None
    page.wait("document.getElementById('title').textContent !== '…'", 10,
              "a title is shown")
    for _ in range(50):
        shown = page.eval("document.getElementById('title').textContent")
        if shown == api_title():
            break
        time.sleep(0.1)
    else:
        fail("the page shows %r, the API %r" % (shown, api_title()))
    print("title shown: %r after %.1f s" % (shown, time.time() - t0))

    # The waveform: the canvas' part of a screenshot is not empty.
    page.wait("(() => { const c = document.getElementById('wave');"
              " const d = c.getContext('2d').getImageData(0, 0, c.width,"
              " c.height).data; let n = 0; for (let i = 3; i < d.length;"
              " i += 4) if (d[i]) n++; return n > c.width * 4; })()", 15,
              "the waveform is drawn")
    rect = page.eval("(() => { const r = document.getElementById('wave')"
                     ".getBoundingClientRect(); return [r.x, r.y, r.width,"
                     " r.height]; })()")
    shot = page.call("Page.captureScreenshot", format="png",
                     clip={"x": rect[0], "y": rect[1], "width": rect[2],
                           "height": rect[3], "scale": 1})
    w, h, rows, bpp = png_pixels(base64.b64decode(shot["data"]))
    lit = 0
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = row[x:x + 3]
            if max(abs(px[k] - CANVAS_BG[k]) for k in range(3)) > 24:
                lit += 1
    share = lit / float(w * h)
    print("waveform: %dx%d, %.1f %% of its pixels drawn" % (w, h, 100 * share))
    # The playhead alone is one column: a drawn waveform is far more.
    if share < 0.05:
        fail("the waveform canvas is blank (%.1f %% drawn)" % (100 * share))

    # The play button: a name, reached by the keyboard, plays the stream.
    name = page.eval("document.getElementById('play').textContent.trim()")
    if name != "Play":
        fail("the play button says %r" % name)
    page.wait("!document.getElementById('play').disabled", 5,
              "the play button is enabled")
    for _ in range(6):
        page.call("Input.dispatchKeyEvent", type="keyDown", key="Tab",
                  code="Tab", windowsVirtualKeyCode=9)
        page.call("Input.dispatchKeyEvent", type="keyUp", key="Tab",
                  code="Tab", windowsVirtualKeyCode=9)
        if page.eval("document.activeElement.id") == "play":
            break
    else:
        fail("Tab does not reach the play button")
    page.call("Input.dispatchKeyEvent", type="keyDown", key="Enter",
              code="Enter", windowsVirtualKeyCode=13, text="\r")
    page.call("Input.dispatchKeyEvent", type="keyUp", key="Enter",
              code="Enter", windowsVirtualKeyCode=13)
    page.wait("document.getElementById('audio').currentTime > 0.5", 15,
              "the stream plays in the <audio> element")
    src = page.eval("document.getElementById('audio').currentSrc")
    pressed = page.eval("document.getElementById('play')"
                        ".getAttribute('aria-pressed')")
    print("playing %s, aria-pressed=%s" % (src, pressed))
    if not src.endswith("/forever.mp3") or pressed != "true":
        fail("the audio element does not play the MP3 mount")

    # The title changes with the track.
    before = page.eval("document.getElementById('title').textContent")
    page.wait("document.getElementById('title').textContent !== %s"
              % json.dumps(before), 12, "the title changes")
    after = page.eval("document.getElementById('title').textContent")
    time.sleep(0.3)
    if after != api_title():
        fail("after the change the page shows %r, the API %r"
             % (after, api_title()))
    print("title changed: %r -> %r" % (before, after))

    full = page.call("Page.captureScreenshot", format="png")
    with open(SHOT, "wb") as f:
        f.write(base64.b64decode(full["data"]))
    page.call("Runtime.evaluate", expression="0")  # collect late events
    bad = page.errors()
    if bad:
        fail("console errors: %s" % bad)
    print("no console error; screenshot: %s (%.1f s in chromium)"
          % (SHOT, time.time() - t0))


main()
