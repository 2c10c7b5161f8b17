#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/deck-map.py DECKS.wav TRANSITIONS.jsonl CATALOG.db [INDEX...] —
# whether the mixer plays each deck of a beatmatched transition where its
# plan says, measured on real music: each deck's audio over the overlap
# against its own file, mapped to output time by the plan's time map.
#
# bench/deck-align measures the two decks against each other, which mixes
# two questions: did the mixer put each deck where the plan says (the
# time-stretcher, its latency, the tempo ramp), and are the two tracks'
# grids on the same beat of the music (the analysis)? This answers the
# first alone. For transition i of the log (A on channels 1-2 when i is
# even, 3-4 when odd), over the middle 80% of its overlap:
#   - the playhead's beat x at each output time t, from the log's
#     bpm_from, bpm_to, bars and reason (transition.h: A's tempo over the
#     first quarter of the beats, B's over the last, linear in beats over
#     the middle half; a tempo bridge holds sqrt(T0 T1) throughout), B's
#     tempo taken at the octave nearest A's (double or half time);
#   - each deck's own time: A at a_exit_s + x 60 / T0, B at b_entry_s +
#     x 60 / T1 (in its own beats: times 2 or 0.5 at double or half time);
#   - its file (the path from the catalog by the log's from_id / to_id),
#     decoded by ffmpeg, read at those times (nearest sample: a change of
#     pitch, which leaves the onsets where they are);
#   - the onset strength of both (the rise of the log energy in 2.9 ms
#     hops, broadband, above 2 kHz and below 200 Hz) cross-correlated
#     within 30% of a beat: the lag (positive: the deck is late against
#     its plan) and the correlation there.
# A mixer that plays the plan reads 0 within a hop (2.9 ms), plus the
# local gate's re-phase where the plan moved a deck by its window's
# offset (3 ms or more; the log does not carry it) and its local tempo
# ("at X -> Y BPM there": the map above uses the log's tempi, so such a
# deck may read a few ms off at the overlap's ends).
#
#   python3 bench/deck-map.py /var/tmp/r/decks.wav /var/tmp/r/t.jsonl \
#       ~/.cache/foreverfm/real-mix/nexuiz.db 5 11
#
# Needs python3-numpy, python3-scipy and ffmpeg (not installed by
# contrib/packages.sh: this is a diagnostic, not a test).
import json
import sqlite3
import subprocess
import sys

import numpy as np
from scipy.signal import butter, sosfilt

RATE = 44100
HOP = 128


def usage():
    sys.stderr.write("usage: deck-map.py DECKS.wav TRANSITIONS.jsonl "
                     "CATALOG.db [INDEX...]\n")
    sys.exit(2)


def data_offset(f):
    """Byte offset of the samples of a float WAV (4 channels)."""
    head = f.read(1 << 16)
    i = head.find(b"data")
    if i < 0:
        sys.exit("deck-map: no data chunk in the decks file")
    return i + 8


def decode(path):
    raw = subprocess.run(["ffmpeg", "-v", "quiet", "-i", path, "-ac", "1",
                          "-ar", str(RATE), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4")


def onsets(x, sos):
    y = sosfilt(sos, x) if sos is not None else x
    n = len(y) // HOP
    e = (y[:n * HOP].reshape(n, HOP).astype(np.float64) ** 2).sum(1) + 1e-12
    le = 10 * np.log10(np.convolve(e, np.ones(8), "same"))
    return np.maximum(np.diff(le, prepend=le[0]) - 0.1, 0)


def playhead(r, t):
    """The playhead beat at output times t (seconds from the overlap's
    start), and B's beats per playhead beat."""
    t0, t1 = r["bpm_from"], r["bpm_to"]
    ratio = 1.0
    while t1 / ratio > t0 * 2 ** 0.5:
        ratio *= 2
    while t1 / ratio < t0 / 2 ** 0.5:
        ratio /= 2
    t1p = t1 / ratio
    n = 4 * r["bars"]
    xs = np.linspace(0, n, 64 * n + 1)
    if "tempo bridge" in r["reason"]:
        tempo = np.full_like(xs, (t0 * t1p) ** 0.5)
    else:
        tempo = np.where(xs < n / 4, t0, np.where(
            xs > 3 * n / 4, t1p, t0 + (t1p - t0) * (xs - n / 4) / (n / 2)))
    dt = 60.0 / tempo
    tb = np.concatenate([[0], np.cumsum((dt[1:] + dt[:-1]) / 2 *
                                        np.diff(xs))])
    return np.interp(t, tb, xs), ratio, tb[-1]


def main():
    if len(sys.argv) < 4:
        usage()
    decks, log, db = sys.argv[1:4]
    want = set(int(a) for a in sys.argv[4:])
    rows = [json.loads(l) for l in open(log) if l.strip()]
    paths = dict(sqlite3.connect(db).execute("SELECT id, path FROM tracks"))
    bands = [("broad", None),
             ("high", butter(2, 2000, "high", fs=RATE, output="sos")),
             ("low", butter(2, 200, "low", fs=RATE, output="sos"))]
    cache = {}
    f = open(decks, "rb")
    off = data_offset(f)
    print("#   deck  band   lag_ms   corr  corr_at_0  plan_s/log_s  pair")
    for i, r in enumerate(rows):
        if r["kind"] != "beatmatched" or (want and i not in want):
            continue
        p, d = r["position_s"], r["duration_s"]
        f.seek(off + int(p * RATE) * 16)
        x = np.frombuffer(f.read(int(d * RATE) * 16), dtype="<f4")
        x = x[:len(x) // 4 * 4].reshape(-1, 4)
        pair = [x[:, 0] + x[:, 1], x[:, 2] + x[:, 3]]
        t = np.arange(len(x)) / RATE
        beat, ratio, plan_s = playhead(r, t)
        for deck, own in (("A", r["a_exit_s"] + beat * 60 / r["bpm_from"]),
                          ("B", r["b_entry_s"] + beat * ratio * 60 /
                           r["bpm_to"])):
            tid = r["from_id"] if deck == "A" else r["to_id"]
            if tid not in paths:
                print("%3d %s: track %d is not in the catalog" %
                      (i, deck, tid))
                continue
            if tid not in cache:
                cache[tid] = decode(paths[tid])
            orig = cache[tid]
            idx = np.clip((own * RATE).astype(np.int64), 0, len(orig) - 1)
            heard = pair[(i % 2) if deck == "A" else 1 - (i % 2)]
            for name, sos in bands:
                eh, eo = onsets(heard, sos), onsets(orig[idx], sos)
                m0, m1 = int(0.1 * len(eh)), int(0.9 * len(eh))
                span = int(0.3 * 60 / r["bpm_from"] * RATE / HOP)
                a = eh[m0:m1] - eh[m0:m1].mean()
                cc = []
                for lag in range(-span, span + 1):
                    b = eo[m0 - lag:m1 - lag]
                    b = b - b.mean()
                    cc.append(np.dot(a, b) / (np.linalg.norm(a) *
                                              np.linalg.norm(b) + 1e-12))
                k = int(np.argmax(cc))
                print("%3d %s  %-5s %+8.1f  %5.2f  %5.2f  %6.2f/%6.2f  "
                      "%s -> %s" % (i, deck, name,
                                     (k - span) * HOP / RATE * 1000, cc[k],
                                     cc[span], plan_s, d, r["from"], r["to"]))


if __name__ == "__main__":
    main()
