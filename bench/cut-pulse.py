#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/cut-pulse.py DECKS.wav TRANSITIONS.jsonl — whether the cuts of a
# render keep the pulse (transition.h, Cuts): for every cut in the
# transitions log, where B's first downbeat falls on its deck against where
# A's next downbeat would have fallen on A's, both measured from the audio
# of `foreverfm render --decks` (doc/transitions.md, "The decks file").
#
# The log only says where each cut is (position_s, duration_s: A's last
# beat), which pair is whose (transition i leaves A on pair i mod 2) and
# each track's beat period (60 / bpm_*: A plays unstretched up to a cut and
# B after it). The phases come from the audio: an onset strength function
# per deck (the rise of the log energy of the broadband attacks and of the
# kick's band, in 1.45 ms blocks; see onsets()), folded at the period (a
# comb over the beats) with the phase refined to a fraction of a block:
#   - A: over the 16 beats before its last bar (before the filter-out, so
#     its kick still counts), extrapolated to the end of its last beat,
#     A's next downbeat (whether that beat is a "one" the audio cannot
#     tell: the bars are the analysis's);
#   - B: over its first 32 beats from where its deck starts to sound (B
#     comes in on its downbeat, or a lead-in before it).
# Each phase is searched within a quarter of a beat of where the mix put
# the beat (see fold()): what is measured is how far off the music's beat
# the downbeats are, and a whole beat early or late shows as such.
# Both go through the same onset function, so its own delay cancels.
# Prints one line per cut (error in ms; a_ms, A's measured next downbeat
# from the end of its last beat; b_ms, B's first downbeat from where its
# deck starts to sound; each comb's strength: the folded onset at the
# phase over its mean, near 1 for a deck without a beat) and the median and worst |error| over the cuts, and over those
# whose decks both carry a clear beat (strength >= 2: below it the phase
# of a deck is uncertain by tens of ms, and B's changes with how it
# comes in).
#
#   python3 bench/cut-pulse.py /var/tmp/cp/decks.wav /var/tmp/cp/t.jsonl
#
# Pure Python (no numpy): it reads only the seconds around each cut.
import json
import math
import struct
import sys
from array import array

BLOCK = 64  # frames: 1.45 ms at 44.1 kHz


def wav_open(path):
    f = open(path, "rb")
    riff = f.read(12)
    if riff[:4] not in (b"RIFF", b"RF64") or riff[8:12] != b"WAVE":
        sys.exit("cut-pulse: %s is not a WAV" % path)
    fmt, big = None, None  # big: RF64's data size (ds64), over 4 GiB
    while True:
        head = f.read(8)
        if len(head) < 8:
            sys.exit("cut-pulse: %s has no data chunk" % path)
        cid, size = head[:4], struct.unpack("<I", head[4:])[0]
        if cid == b"ds64":
            body = f.read(size + (size & 1))
            big = struct.unpack("<Q", body[8:16])[0]
        elif cid == b"fmt ":
            body = f.read(size + (size & 1))
            tag, nch, rate = struct.unpack("<HHI", body[:8])
            bits = struct.unpack("<H", body[14:16])[0]
            if tag == 0xFFFE:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, nch, rate, bits)
        elif cid == b"data":
            if fmt is None or fmt[0] != 3 or fmt[3] != 32:
                sys.exit("cut-pulse: %s is not 32-bit float" % path)
            if big is not None and size == 0xFFFFFFFF:
                size = big
            return f, f.tell(), fmt[1], fmt[2], size // (4 * fmt[1])
        else:
            f.seek(size + (size & 1), 1)


def read_pairs(w, start, n):
    """Frames [start, start + n) of a 4-channel file: two mono lists."""
    f, off, nch, rate, frames = w
    start = max(0, start)
    n = max(0, min(n, frames - start))
    f.seek(off + start * nch * 4)
    a = array("f")
    a.frombytes(f.read(n * nch * 4))
    if sys.byteorder != "little":
        a.byteswap()
    return [[a[i * nch + 2 * p] + a[i * nch + 2 * p + 1] for i in range(n)]
            for p in range(2)]


def onsets(x, rate):
    """Onset strength per BLOCK frames: the rise of the log energy of the
    broadband attacks (first difference: hats, snares, the click of a kick)
    plus that of the band below about 150 Hz (two one-pole low-passes: the
    kick's body), each over its mean. Each energy is floored 30 dB under
    its median, so that a deck starting from silence (B's lead-in) is not
    one huge onset, and the result clipped at its 98th percentile, so that
    no single onset outweighs a beat's worth in the fold."""
    c = math.exp(-2 * math.pi * 150.0 / rate)
    y1 = y2 = prev = 0.0
    hi, lo = [], []
    for k in range(len(x) // BLOCK):
        sh = sl = 0.0
        for v in x[k * BLOCK:(k + 1) * BLOCK]:
            d = v - prev
            prev = v
            sh += d * d
            y1 = (1 - c) * v + c * y1
            y2 = (1 - c) * y1 + c * y2
            sl += y2 * y2
        hi.append(sh)
        lo.append(sl)
    out = [0.0] * len(hi)
    for band in (hi, lo):
        floor = sorted(band)[len(band) // 2] * 1e-3 + 1e-20
        e = [math.log10(v + floor) for v in band]
        rise = [0.0] + [max(0.0, e[k] - e[k - 1]) for k in range(1, len(e))]
        mean = sum(rise) / len(rise) or 1.0
        for k in range(len(rise)):
            out[k] += rise[k] / mean
    cap = sorted(out)[int(0.98 * (len(out) - 1))]
    return [min(v, cap) for v in out]


def at(osf, b):
    """The onset function at fractional block b, linearly interpolated."""
    i = int(math.floor(b))
    if i < 0 or i + 1 >= len(osf):
        return 0.0
    f = b - i
    return osf[i] * (1 - f) + osf[i + 1] * f


def fold(osf, expect_b, period_b, beats):
    """The offset (blocks, within a quarter of a beat either way) from
    EXPECT_B, the first of BEATS beats PERIOD_B apart, at which those beats
    carry the most onset, refined by a parabola; and the strength (the
    fold there over its mean over the whole beat). Restricted so that the
    off-beat (hats, a bass line on the "and"), often as strong as the
    beat, cannot be taken for it: a phase error beyond a quarter of a beat
    is beyond telling without knowing the bars anyway."""
    steps = int(math.ceil(period_b * 4))
    def score(j):
        ph = j * period_b / steps
        return sum(at(osf, expect_b + ph + k * period_b)
                   for k in range(beats))
    q = steps // 4
    js = list(range(-q, q + 1))
    sc = {j: score(j) for j in js}
    j = max(js, key=lambda x: sc[x])
    frac = 0.0
    if -q < j < q:
        y0, y1, y2 = sc[j - 1], sc[j], sc[j + 1]
        den = y0 - 2 * y1 + y2
        frac = 0.5 * (y0 - y2) / den if den < 0 else 0.0
    mean = sum(score(x) for x in range(steps)) / steps
    return (j + frac) * period_b / steps, (sc[j] / mean if mean > 0
                                           else 0.0)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cut-pulse.py DECKS.wav TRANSITIONS.jsonl")
    w = wav_open(sys.argv[1])
    rate = w[3]
    if w[2] != 4:
        sys.exit("cut-pulse: the decks file has 4 channels")
    rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    errs, clear = [], []
    print("%3s %10s %7s %7s %9s %7s %7s %6s %6s  %s" % (
        "i", "at_s", "bpm_a", "bpm_b", "error_ms", "a_ms", "b_ms", "str_a",
        "str_b", "A -> B"))
    for i, r in enumerate(rows):
        if r["kind"] != "cut" or not r["bpm_from"] or not r["bpm_to"]:
            continue
        pa, pb = i % 2, 1 - i % 2
        beat_a, beat_b = 60.0 / r["bpm_from"], 60.0 / r["bpm_to"]
        end_s = r["position_s"] + r["duration_s"]  # A's next downbeat
        t0 = end_s - 21 * beat_a
        t1 = end_s + 34 * beat_b
        if t0 < 0 or t1 * rate > w[4]:
            continue
        s0 = int(t0 * rate)
        decks = read_pairs(w, s0, int((t1 - t0) * rate))
        # Where B's deck starts to sound (the lead-in, or before).
        lo = int((r["position_s"] - 0.05 - t0) * rate)
        xb = decks[pb]
        start = next((j for j in range(max(0, lo), len(xb))
                      if xb[j] != 0.0), None)
        if start is None:
            continue
        oa, ob = onsets(decks[pa], rate), onsets(xb, rate)
        bps = rate / BLOCK  # blocks per second
        # A: the 16 beats before its last bar, on its grid as the mix
        # played it (the end of its last beat is its next downbeat).
        end_b = (end_s - t0) * bps
        d_a, str_a = fold(oa, end_b - 20 * beat_a * bps, beat_a * bps, 16)
        next_a = (end_b + d_a) / bps  # s from t0
        # B: its first 32 beats from where its deck starts to sound.
        d_b, str_b = fold(ob, start / rate * bps, beat_b * bps, 32)
        first_b = (start / rate * bps + d_b) / bps
        err = 1000 * (first_b - next_a)
        errs.append(abs(err))
        if str_a >= 2 and str_b >= 2:
            clear.append(abs(err))
        # Each deck's phase against the mix's own idea: A's next
        # downbeat at the end of its last beat, B's where its deck
        # starts to sound.
        da = 1000 * (next_a - (end_s - t0))
        db = 1000 * (first_b - start / rate)
        print("%3d %10.3f %7.2f %7.2f %+9.2f %+7.1f %+7.1f %6.2f %6.2f  "
              "%s -> %s" % (i, r["position_s"], r["bpm_from"],
                            r["bpm_to"], err, da, db, str_a, str_b,
                            r["from"], r["to"]))
    for name, v in (("", errs), (" with a clear beat on both decks",
                                  clear)):
        if not v:
            print("cuts measured%s: 0" % name)
            continue
        v.sort()
        n = len(v)
        med = v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
        print("cuts measured%s: %d; |error| median %.2f ms, worst %.2f ms, "
              "within 20 ms %d" % (name, n, med, v[-1],
                                   sum(1 for e in v if e <= 20)))

main()
