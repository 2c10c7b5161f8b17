#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/real-mix.sh LIBRARY... — how a long mix of real music comes out,
# measured from its audio: for each LIBRARY (a folder of music), a render
# of DURATION seconds (default 7200: two hours) with --transitions-log and
# --decks, then per library:
#   - the transitions: how many, the share beatmatched;
#   - the crossfades by reason (the log's "reason", numbers shown as #);
#   - the beat alignment of the decks, bench/deck-align: of the
#     beatmatched transitions (not cut by the end), how many it decides;
#     over those the median |lag|, the share within 20 ms, a histogram of
#     |lag|, how often the kick band disagrees, and the transitions beyond
#     20 ms or disagreeing and those it abstained on, by pair.
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
# shellcheck source=bench/library-catalog.sh
. "$top/bench/library-catalog.sh"
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
# deck-align's summary line (key=value) and its table: index kind at bpm
# lag corr votes chance kick-lag kick-votes beatA beatB verdict (flags...).
summary = {}
table = []
for line in open(sys.argv[2]):
    if line.startswith("summary: "):
        summary = dict(kv.split("=", 1) for kv in line.split()[1:])
        continue
    f = line.split()
    if len(f) >= 13 and f[0].isdigit() and f[12] in ("decided", "abstains"):
        table.append(f)
def name(i):
    r = rows[i]
    return "%s -> %s (%s)" % (r.get("from"), r.get("to"),
                              "%.1f -> %.1f BPM" % (r["bpm_from"], r["bpm_to"])
                              if r.get("bpm_from") and r.get("bpm_to") else "-")
beat_rows = [f for f in table if f[1] == "beatmatched" and
             "cut by the end" not in " ".join(f[13:])]
decided = [f for f in beat_rows if f[12] == "decided"]
lags = sorted(abs(float(f[4])) for f in decided)
print("beat alignment (bench/deck-align): decided %s of %s beatmatched "
      "transitions not cut (%s%%, %d distinct pairs); with a beat on both "
      "decks by periodicity %s, decided %s" % (
    summary.get("measured", "?"), summary.get("eligible", "?"),
    summary.get("decided_pct", "?"),
    pairs([rows[int(f[0])] for f in decided]),
    summary.get("beat_both", "?"), summary.get("beat_both_decided", "?")))
bins = [(0, 5), (5, 10), (10, 20), (20, 50), (50, 1e9)]
if lags:
    m = len(lags)
    print("  median |lag| %s ms, within 20 ms %s of %d (%s%%), worst %.1f ms"
          % (summary.get("median_abs_lag_ms"), summary.get("within_20ms"), m,
             summary.get("within_20ms_pct"), lags[-1]))
    print("  |lag| ms: " + ", ".join(
        "%s: %d" % ("%g-%g" % (lo, hi) if hi < 1e9 else ">= %g" % lo,
                    sum(1 for x in lags if lo <= x < hi))
        for lo, hi in bins))
    print("  kick band (below 150 Hz): decides %s of them, disagrees by more "
          "than 20 ms on %s" % (summary.get("kick_decided"),
                                 summary.get("kick_disagree")))
flags = lambda f: " ".join(f[13:])
off = [f for f in decided if abs(float(f[4])) > 20 or
       "kick disagrees" in flags(f)]
if off:
    print("  beyond 20 ms or the kick band disagreeing (#, lag ms, votes, "
          "kick ms, pair):")
    for f in off:
        print("    %4s %9s %5s %9s  %s%s" % (f[0], f[4], f[6], f[8],
              name(int(f[0])), "".join(
                  "  (%s)" % x for x in ("either sign", "kick disagrees",
                                         "at the window's end")
                  if x in flags(f))))
undecided = [f for f in beat_rows if f[12] != "decided"]
if undecided:
    print("  abstained (#, votes, chance, pair):")
    for f in undecided:
        print("    %4s %5s %7s  %s" % (f[0], f[6], f[7], name(int(f[0]))))
# The trainwrecks: crossfades (several seconds) where the two decks'
# onsets line up somewhere within the window, a common beat overlapping
# for seconds. Cuts overlap one beat by construction and are not counted.
clash = sum(1 for f in table if f[1] == "crossfade" and f[12] == "decided")
print("crossfades where the decks' onsets correlate (a common beat "
      "overlapping for seconds): %d" % clash)
PY
}

status=0
for lib in "$@"; do
	echo
	echo "=== $lib"
	# Analysis into the library's own catalog (cached from the second
	# run on); it also says what is playable.
	t0=$(date +%s)
	if ! library_catalog "$lib"; then
		[ ! -d "$lib" ] || status=1
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
