#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/real-mix.sh LIBRARY... — how a long mix of real music comes out,
# measured from its audio: for each LIBRARY (a folder of music), a render
# of DURATION seconds (default 7200: two hours) with --transitions-log and
# --decks, then per library:
#   - the transitions: how many, the share beatmatched;
#   - the crossfades by reason (the log's "reason", numbers shown as #);
#   - the beat alignment of the decks, bench/deck-align: the median |lag|
#     and the share within 20 ms over the beatmatched transitions whose
#     decks both carry a beat, with a histogram of |lag|; how many
#     beatmatched transitions had a deck without a beat.
# See doc/transitions.md, "Checking a mix from its audio".
#
#   bench/real-mix.sh [LIBRARY...]   (default: the nexuiz and hyperrogue
#                                     music named below)
#
# The analysis of each library is kept in a catalog of its own under
# CACHE_DIR, so a second run only renders and measures. The render and its
# decks go to a temporary directory and are deleted after measuring (two
# hours of decks are 5.1 GB of float: the free space is checked first);
# the transitions log and deck-align's full table are kept in CACHE_DIR.
# A library with no playable file is skipped with a message.
#
# Environment:
#   DURATION=7200     seconds rendered per library
#   SEED=1            render --seed (the same seed and library, the same mix)
#   MIN_DURATION      [library] min_duration (default the station's, 90 s:
#                     shorter tracks are left out of the tour)
#   CACHE_DIR         default ${XDG_CACHE_HOME:-$HOME/.cache}/foreverfm/real-mix
#   BUILDDIR          a configured build tree (default ./build, or
#                     $top_builddir); foreverfm and bench/deck-align are
#                     built there if needed
#   KEEP=1            keep the render (mix, decks) and say where
#   TMPDIR            where the render goes
# Renders run under nice. Needs python3 (the log's JSON).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-${top_builddir:-$top/build}}
DURATION=${DURATION:-7200}
SEED=${SEED:-1}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/foreverfm/real-mix}
KEEP=${KEEP:-0}
MIN_DURATION=${MIN_DURATION:-}

if [ ! -f "$builddir/Makefile" ]; then
	echo "real-mix.sh: $builddir is not a configured build tree (BUILDDIR)" >&2
	exit 2
fi
case $DURATION in
''|*[!0-9]*) echo "real-mix.sh: DURATION must be whole seconds" >&2; exit 2 ;;
esac
command -v python3 >/dev/null 2>&1 || { echo "real-mix.sh: python3 missing" >&2; exit 2; }
nice make -s -C "$builddir" foreverfm bench/deck-align >&2
FOREVERFM=$builddir/foreverfm
DECK_ALIGN=$builddir/bench/deck-align

[ $# -gt 0 ] || set -- /var/tmp/music/nexuiz/sound/cdtracks /usr/share/hyperrogue/music
mkdir -p "$CACHE_DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/foreverfm-real-mix-XXXXXX")
if [ "$KEEP" = 1 ]; then
	trap 'echo "real-mix.sh: kept $work" >&2' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT TERM

# The mix (16-bit stereo) and the decks (4 x 32-bit float), plus 1 GiB.
need_kb=$(( (DURATION * 44100 * (4 + 16)) / 1024 + 1048576 ))

# report LOG ALIGN: the figures of one library from its transitions log and
# deck-align's output.
report() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = len(rows)
beat = [r for r in rows if r["kind"] == "beatmatched"]
pairs = lambda rs: len(set((r["from_id"], r["to_id"]) for r in rs))
cuts = [r for r in rows if r["kind"] == "cut"]
print("transitions: %d (%d distinct pairs: the tour repeats), beatmatched "
      "%d (%.0f%%, %d distinct), cuts %d, crossfades %d" % (
    n, pairs(rows), len(beat), 100.0 * len(beat) / n if n else 0,
    pairs(beat), len(cuts), n - len(beat) - len(cuts)))
why = {}
for r in rows:
    if r["kind"] != "beatmatched":
        k = r["kind"] + ": " + re.sub(r"[0-9]+(\.[0-9]+)?", "#", r["reason"])
        why[k] = why.get(k, 0) + 1
if why:
    print("not beatmatched, by kind and reason:")
    print("  %5s  %s" % ("count", "reason"))
    for k, c in sorted(why.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %5d  %s" % (c, k))
# deck-align's table: index kind at bpm lag strength beatA beatB on...
lags, nobeat, measured = [], {"A only": 0, "B only": 0, "none": 0}, []
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) < 9 or not f[0].isdigit() or f[1] != "beatmatched":
        continue
    on = " ".join(f[8:])
    if on.startswith("both") and "cut" not in on:
        lags.append(abs(float(f[4])))
        measured.append(rows[int(f[0])])
    for k in nobeat:
        if on.startswith(k):
            nobeat[k] += 1
bins = [(0, 5), (5, 10), (10, 20), (20, 50), (50, 1e9)]
print("beat alignment (bench/deck-align), beatmatched transitions with a "
      "beat on both decks: %d (%d distinct)" % (len(lags), pairs(measured)))
if lags:
    lags.sort()
    m = len(lags)
    med = lags[m // 2] if m % 2 else 0.5 * (lags[m // 2 - 1] + lags[m // 2])
    within = sum(1 for x in lags if x <= 20)
    print("  median |lag| %.2f ms, within 20 ms %d of %d (%.0f%%), worst %.1f ms"
          % (med, within, m, 100.0 * within / m, lags[-1]))
    print("  |lag| ms: " + ", ".join(
        "%s: %d" % ("%g-%g" % (lo, hi) if hi < 1e9 else ">= %g" % lo,
                    sum(1 for x in lags if lo <= x < hi))
        for lo, hi in bins))
print("  beatmatched with a deck without a beat: A only %d, B only %d, "
      "neither %d" % (nobeat["A only"], nobeat["B only"], nobeat["none"]))
# The trainwrecks: crossfades (several seconds) over which both decks carry
# a beat. Cuts overlap one beat by construction and are not counted.
clash = 0
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) >= 9 and f[0].isdigit() and f[1] == "crossfade" and \
            " ".join(f[8:]).startswith("both"):
        clash += 1
print("crossfades with a beat on both decks (unaligned beats overlapping "
      "for seconds): %d" % clash)
PY
}

status=0
for lib in "$@"; do
	echo
	echo "=== $lib"
	if [ ! -d "$lib" ]; then
		echo "skipped: not a directory"
		continue
	fi
	abs=$(cd "$lib" && pwd)
	name=$(basename "$abs")-$(printf '%s' "$abs" | cksum | cut -d' ' -f1)
	cfg=$work/$name.ini
	cat > "$cfg" <<CFG
[library]
path = $abs
database = $CACHE_DIR/$name.db
CFG
	[ -z "$MIN_DURATION" ] || echo "min_duration = $MIN_DURATION" >> "$cfg"
	# Analysis into the library's own catalog (cached from the second
	# run on); it also says what is playable.
	t0=$(date +%s)
	if ! nice "$FOREVERFM" analyze --json -q -c "$cfg" \
		>"$work/$name.analysis.jsonl" 2>"$work/$name.analyze.log"; then
		cat "$work/$name.analyze.log"
		echo "skipped: foreverfm analyze failed"
		status=1
		continue
	fi
	playable=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
good = [r for r in rows if r["bad"] is None]
print(len(rows), len(good), len([r for r in good if r["bpm"] is not None]),
      int(sum(r["duration"] or 0 for r in good)))' "$work/$name.analysis.jsonl")
	set -- $playable
	echo "library: $1 files, $2 playable ($3 analysed, $4 s of music); analysis $(( $(date +%s) - t0 )) s (cached in $CACHE_DIR/$name.db)"
	if [ "$2" -eq 0 ]; then
		echo "skipped: no playable file (foreverfm decodes MP3, Ogg Vorbis, FLAC and WAV)"
		continue
	fi
	avail=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
	if [ "$avail" -lt "$need_kb" ]; then
		echo "skipped: $((need_kb / 1024)) MB needed in $work for the mix and the decks, $((avail / 1024)) MB free"
		status=1
		continue
	fi

	t0=$(date +%s)
	if ! nice "$FOREVERFM" render -o "$work/$name.wav" -d "$DURATION" \
		--seed "$SEED" -c "$cfg" \
		--transitions-log "$CACHE_DIR/$name.transitions.jsonl" \
		--decks "$work/$name.decks.wav" 2>"$work/$name.render.log"; then
		tail -n 20 "$work/$name.render.log"
		echo "skipped: the render failed"
		status=1
		continue
	fi
	took=$(( $(date +%s) - t0 ))
	grep 'brain: .* playable tracks\|render: .* tracks in the tour\|render: wrote ' \
		"$work/$name.render.log" | sed 's/^<[0-9]>//'
	echo "render: $DURATION s in $took s"
	nice "$DECK_ALIGN" "$work/$name.decks.wav" \
		"$CACHE_DIR/$name.transitions.jsonl" >"$CACHE_DIR/$name.deck-align.txt"
	[ "$KEEP" = 1 ] || rm -f "$work/$name.decks.wav" "$work/$name.wav"
	report "$CACHE_DIR/$name.transitions.jsonl" "$CACHE_DIR/$name.deck-align.txt"
	echo "per transition: $CACHE_DIR/$name.deck-align.txt"
done
exit $status
