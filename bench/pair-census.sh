#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/pair-census.sh LIBRARY... — the beat alignment of every pair of a
# library that the mixer beatmatches, not only the pairs one tour plays.
#
# bench/real-mix.sh measures the transitions of one render, and a small
# library has one best tour: its figures are those of the 10 to 30 pairs
# that tour happens to hold, and a change of the brain's costs that picks
# other pairs moves them by ten points either way (doc/transitions.md).
# This renders each pair alone instead: for every two analysed tracks
# whose tempi the mixer can beatmatch at the default max_stretch (8%:
# directly or over a tempo bridge, double and half time included;
# tempo.h), a library of the two (symbolic links, and a copy of the
# library's catalog without its tracks, so nothing is analysed again)
# rendered for both tracks' length and a minute, which plays A -> B and
# B -> A, and bench/deck-align on its decks. Then per library:
#   - the ordered pairs rendered, beatmatched, and decided by deck-align;
#   - over the decided ones the median |lag|, the share within 20 ms, and
#     how many the kick band (the second opinion) puts within 20 ms;
#   - the pairs beyond 20 ms, each with the kick band's reading and
#     deck-align's flags, and those it abstained on;
#   - every ordered pair in CACHE_DIR/LIBRARY-CKSUM.census.tsv (from, to,
#     kind, verdict, lag, kick band's lag, flags; the reason where the
#     mixer did not beatmatch);
#   - the bound that puts on any tour of the library (up to 80 tracks):
#     the fewest pairs beyond 20 ms an endless cycle through every track
#     must hold, fewest steps the mixer does not beatmatch first, as far
#     as a local search finds.
# A pair's transition is the same whatever tour holds it (transition.h
# plans from the two tracks alone), so this is the figure any tour of the
# library draws from. Meant for libraries of tens of tracks: the pairs
# grow with the square of the tracks, and each gets a copy of the catalog
# (MAX_PAIRS caps them).
#
#   bench/pair-census.sh [LIBRARY...]   (default: the nexuiz music)
#
# Environment:
#   JOBS=2            renders at once
#   MAX_PAIRS=0       render at most this many pairs (0: all), spread
#                     evenly over the library's list
#   MIN_DURATION      [library] min_duration (default the station's, 90 s)
#   CACHE_DIR         the catalogs, as bench/real-mix.sh keeps them
#                     (default ${XDG_CACHE_HOME:-$HOME/.cache}/foreverfm/real-mix)
#   BUILDDIR          a configured build tree (default ./build)
#   TMPDIR            where the renders go (the audio deleted after
#                     measuring, the rest at the end)
#   KEEP=1            keep the pairs' logs and deck-align tables, and say where
# Renders run under nice. Needs python3.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-${top_builddir:-$top/build}}
JOBS=${JOBS:-2}
MAX_PAIRS=${MAX_PAIRS:-0}
MIN_DURATION=${MIN_DURATION:-}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/foreverfm/real-mix}

if [ ! -f "$builddir/Makefile" ]; then
	echo "pair-census.sh: $builddir is not a configured build tree (BUILDDIR)" >&2
	exit 2
fi
for v in "$JOBS" "$MAX_PAIRS"; do
	case $v in
	''|*[!0-9]*) echo "pair-census.sh: JOBS and MAX_PAIRS must be whole numbers" >&2; exit 2 ;;
	esac
done
[ "$JOBS" -ge 1 ] || JOBS=1
command -v python3 >/dev/null 2>&1 || { echo "pair-census.sh: python3 missing" >&2; exit 2; }
nice make -s -C "$builddir" foreverfm bench/deck-align >&2
FOREVERFM=$builddir/foreverfm
DECK_ALIGN=$builddir/bench/deck-align
# shellcheck source=bench/library-catalog.sh
. "$top/bench/library-catalog.sh"

[ $# -gt 0 ] || set -- /var/tmp/music/nexuiz/sound/cdtracks
mkdir -p "$CACHE_DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-pair-census-XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	trap 'echo "pair-census.sh: kept $work" >&2' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT TERM

# The job of one pair directory $1 (run by xargs): render its pair.ini,
# measure the decks, delete the audio. Expanded by the sh that runs it.
# shellcheck disable=SC2016
render_one='d=$1
if nice "$FOREVERFM" render -q -c "$d/pair.ini" -o "$d/mix.wav" \
	-d "$(cat "$d/seconds")" --decks "$d/decks.wav" \
	--transitions-log "$d/t.jsonl" >"$d/render.log" 2>&1; then
	"$DECK_ALIGN" "$d/decks.wav" "$d/t.jsonl" >"$d/align" 2>&1 || :
fi
rm -f "$d/mix.wav" "$d/decks.wav"'
export FOREVERFM DECK_ALIGN

status=0
for lib in "$@"; do
	echo
	echo "=== $lib"
	if ! library_catalog "$lib"; then
		[ ! -d "$lib" ] || status=1
		continue
	fi
	db=$CACHE_DIR/$name.db
	# One directory per unordered pair: its two links, its catalog,
	# its configuration and its length.
	pairs=$work/$name.pairs
	mkdir -p "$pairs"
	python3 - "$work/$name.analysis.jsonl" "$pairs" "$db" "$MAX_PAIRS" \
		"${MIN_DURATION:-90}" <<'PY'
import itertools, json, math, os, shutil, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, db, max_pairs, min_s = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
tracks = [r for r in rows if r["bad"] is None and r["bpm"] and
          (r["duration"] or 0) >= min_s]
limit = 2 * math.log(1.08)   # a tempo bridge: (1 + max_stretch)^2
def bridgeable(a, b):
    return min(abs(math.log(b["bpm"] * m / a["bpm"])) for m in (1, 2, 0.5)) <= limit + 1e-9
pairs = [(a, b) for a, b in itertools.combinations(tracks, 2) if bridgeable(a, b)]
if max_pairs and len(pairs) > max_pairs:
    pairs = [pairs[i * len(pairs) // max_pairs] for i in range(max_pairs)]
for i, (a, b) in enumerate(pairs):
    d = os.path.join(out, "%04d" % i)
    for side, r in (("a", a), ("b", b)):   # a folder each: names may clash
        os.makedirs(os.path.join(d, "music", side))
        os.symlink(r["path"], os.path.join(d, "music", side, os.path.basename(r["path"])))
    # The catalog's analyses (keyed by the files' contents), without its
    # tracks: the render plays every playable track its catalog holds.
    cat = os.path.join(d, "catalog.db")
    shutil.copy(db, cat)
    con = sqlite3.connect(cat)
    con.executescript("DELETE FROM plays; DELETE FROM source_meta; DELETE FROM tracks;")
    con.close()
    with open(os.path.join(d, "pair.ini"), "w") as f:
        f.write("[library]\npath = %s\ndatabase = %s\nmin_duration = %g\n" %
                (os.path.join(d, "music"), os.path.join(d, "catalog.db"), min_s))
    with open(os.path.join(d, "seconds"), "w") as f:
        f.write("%d\n" % int(a["duration"] + b["duration"] + 60))
print("library: %d analysed tracks of at least %g s, %d pairs the mixer "
      "can beatmatch%s" % (len(tracks), min_s, len(pairs),
                          " (at most MAX_PAIRS)" if max_pairs else ""))
PY
	t0=$(date +%s)
	for d in "$pairs"/*; do
		[ -d "$d" ] && echo "$d"
	done | xargs -r -P "$JOBS" -I{} sh -c "$render_one" _ {} || status=1
	echo "rendered in $(( $(date +%s) - t0 )) s"
	python3 - "$pairs" "$CACHE_DIR/$name.census.tsv" <<'PY'
import glob, json, os, sys
rows = []   # (from, to, lag, kick, flags)
seen = set()
rendered = beat = 0
cuts = {}   # tracks of a pair the mixer did not beatmatch
tsv = open(sys.argv[2], "w")
tsv.write("from\tto\tkind\tverdict\tlag_ms\tkick_ms\tflags\n")
for d in sorted(glob.glob(os.path.join(sys.argv[1], "*"))):
    if not os.path.exists(os.path.join(d, "t.jsonl")):
        print("  %s: no render (%s)" % (os.path.basename(d),
              open(os.path.join(d, "render.log")).read().strip()[-200:]))
        continue
    log = [json.loads(l) for l in open(os.path.join(d, "t.jsonl")) if l.strip()]
    table = {}
    for line in open(os.path.join(d, "align")):
        f = line.split()
        if len(f) >= 13 and f[0].isdigit() and f[12] in ("decided", "abstains"):
            table[int(f[0])] = f
    for i, t in enumerate(log):
        key = (t["from"], t["to"])
        f = table.get(i)
        if key in seen or t["from_id"] == t["to_id"] or (
                t["kind"] == "beatmatched" and
                (f is None or "cut by the end" in " ".join(f))):
            continue   # the same pair again, or its overlap cut short
        seen.add(key)
        rendered += 1
        if t["kind"] != "beatmatched":
            cuts[t["from"]] = cuts[t["to"]] = True
            tsv.write("%s\t%s\t%s\t-\t\t\t%s\n" % (t["from"], t["to"], t["kind"], t["reason"]))
            continue
        beat += 1
        decided = f[12] == "decided"
        kick = None if f[8] == "-" else float(f[8])
        rows.append((t["from"], t["to"], float(f[4]) if decided else None,
                     kick, " ".join(f[13:])))
        tsv.write("%s\t%s\tbeatmatched\t%s\t%s\t%s\t%s\n" % (
            t["from"], t["to"], f[12], f[4] if decided else "",
            "" if kick is None else f[8], " ".join(f[13:])))
tsv.close()
dec = [r for r in rows if r[2] is not None]
within = [r for r in dec if abs(r[2]) <= 20]
kick_in = [r for r in dec if r[3] is not None and abs(r[3]) <= 20]
lags = sorted(abs(r[2]) for r in dec)
print("ordered pairs rendered %d, beatmatched %d, decided %d" % (rendered, beat, len(dec)))
if dec:
    print("  median |lag| %.2f ms; within 20 ms %d of %d (%.1f%%); the kick band "
          "decides %d of them within 20 ms" % (lags[len(lags) // 2], len(within),
          len(dec), 100.0 * len(within) / len(dec), len(kick_in)))
off = [r for r in dec if abs(r[2]) > 20]
if off:
    print("  beyond 20 ms (lag ms, kick ms, pair, flags):")
    for r in sorted(off, key=lambda r: -abs(r[2])):
        print("    %+8.1f %8s  %s -> %s  %s" % (r[2], "-" if r[3] is None else
              "%+.1f" % r[3], r[0], r[1], r[4]))
undecided = [r for r in rows if r[2] is None]
if undecided:
    print("  abstained on: " + ", ".join("%s -> %s" % (r[0], r[1]) for r in undecided))
print("every ordered pair: %s" % sys.argv[2])

# The bound this puts on a tour: the cheapest endless cycle through every
# track of the census (in one pair or more), a pair beyond 20 ms costing 1
# and one the mixer does not beatmatch (or that was not rendered) JUMP, by
# a local search (moves of one track and reversals, from 50 random
# starts).
import random
names = sorted({r[0] for r in rows} | {r[1] for r in rows} | set(cuts))
if 3 <= len(names) <= 80:
    ix = {n: i for i, n in enumerate(names)}
    n = len(names)
    JUMP = 1000
    cost = [[JUMP] * n for _ in range(n)]
    for r in rows:
        cost[ix[r[0]]][ix[r[1]]] = 1 if r[2] is not None and abs(r[2]) > 20 else 0
    def total(t):
        return sum(cost[t[k]][t[(k + 1) % n]] for k in range(n))
    rng = random.Random(1)
    best = None
    for start in range(50):
        t = list(range(n))
        rng.shuffle(t)
        c = total(t)
        improved = True
        while improved:
            improved = False
            for i in range(n):
                for j in range(n):
                    u = t[:i] + t[i + 1:]
                    u.insert(j, t[i])
                    cu = total(u)
                    if cu < c:
                        t, c, improved = u, cu, True
            for i in range(n - 1):
                for j in range(i + 2, n):
                    u = t[:i + 1] + t[i + 1:j + 1][::-1] + t[j + 1:]
                    cu = total(u)
                    if cu < c:
                        t, c, improved = u, cu, True
        if best is None or c < best:
            best = c
    off_steps, jumps = best % JUMP, best // JUMP
    print("a tour of these %d tracks holds at least %d pair%s beyond 20 ms "
          "(and %d step%s the mixer does not beatmatch), as far as a local "
          "search finds: at best %d of %d beatmatched steps within 20 ms"
          % (n, off_steps, "" if off_steps == 1 else "s", jumps,
             "" if jumps == 1 else "s", n - jumps - off_steps, n - jumps))
PY
done
exit $status
