#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# integration_plan — `foreverfm analyze` then `foreverfm plan` end to end on
# generated click tracks: six tempi within the mixer's stretch range (only
# the tempo differs), a copy of one of them under another name (the same
# content), and one shorter than [library] min_duration.
#
# Asserts: before analysis, plan works on tags alone and prints the hint;
# after it, plan --json is a valid JSON array of the six tracks in play
# order (the copy and the short one left out), each with the documented
# keys; read cyclically the tempi go up and then down (the optimal tour of
# points on a line); the same --seed prints the same plan; the text listing
# has one line per track; bad usage exits 2.
. "$top_srcdir/tests/lib.sh"
need_tools sox python3 bc
work_setup plan
fail() {
	echo "FAIL: $*"
	for f in "$WORK"/log* "$WORK"/*.json "$WORK"/*.txt; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
	exit 1
}
now() { date +%s.%N; }

lib="$WORK/music"
mkdir -p "$lib"
# Ids (file order) not in tempo order.
i=0
for bpm in 104.5 100 107.5 101.5 106 103; do
	i=$((i + 1))
	clicktrack "$lib/t$i-$bpm.wav" "$bpm" 24
done
cp "$lib/t3-107.5.wav" "$lib/zz-copy-of-107.5.wav"
clicktrack "$lib/short-120.wav" 120 5

cat > "$WORK/foreverfm.ini" <<EOF
[library]
path = $lib
database = $WORK/catalog.db
min_duration = 10
[analysis]
workers = 2
EOF

# Bad usage.
"$FOREVERFM" plan --seed x -c "$WORK/foreverfm.ini" >/dev/null 2>"$WORK/log.usage"
[ $? -eq 2 ] || fail "plan --seed x did not exit 2"
"$FOREVERFM" check --json -c "$WORK/foreverfm.ini" >/dev/null 2>>"$WORK/log.usage"
[ $? -eq 2 ] || fail "check --json did not exit 2"
grep -q 'only for the analyze and plan' "$WORK/log.usage" ||
	fail "no message for --json outside analyze and plan"

# Before any analysis: a plan by tags alone, and the hint (the short one is
# left out by its header's duration; the copy is not known as one yet).
"$FOREVERFM" plan -c "$WORK/foreverfm.ini" >"$WORK/before.txt" \
	2>"$WORK/log.before" || fail "plan before analysis failed"
grep -q 'hint: 7 of the 7 tracks have no analysis' "$WORK/log.before" ||
	fail "no hint about unanalysed tracks"

"$FOREVERFM" analyze -c "$WORK/foreverfm.ini" >/dev/null 2>"$WORK/log.analyze" ||
	fail "analyze failed"

t0=$(now)
"$FOREVERFM" plan --json --seed 3 -c "$WORK/foreverfm.ini" \
	>"$WORK/plan.json" 2>"$WORK/log.plan" || fail "plan --json failed"
t1=$(now)
echo "plan of the test library: $(echo "$t1 - $t0" | bc) s (whole process)"
grep -q 'hint' "$WORK/log.plan" && fail "hint after analysis"

python3 - "$WORK/plan.json" "$lib" <<'EOF' || fail "plan.json"
import json, math, sys
plan = json.load(open(sys.argv[1]))
lib = sys.argv[2]
assert isinstance(plan, list), "not an array"
keys = {"position", "id", "path", "artist", "title", "duration", "analysed",
        "bpm", "camelot", "key", "energy", "loudness_lufs", "cost_to_next",
        "terms", "stretch_to_next", "transition_to_next",
        "tempo_cut_to_next", "tempo_cuts"}
terms = {"tempo", "key", "energy", "timbre", "loudness", "genre",
         "same_artist"}
for i, e in enumerate(plan):
    assert keys <= set(e), "missing keys: %s" % (keys - set(e))
    assert set(e["terms"]) == terms, e["terms"]
    assert e["position"] == i + 1
    assert e["analysed"] is True, e
    assert e["path"].startswith(lib + "/"), e["path"]
    assert isinstance(e["cost_to_next"], float) and 0 <= e["cost_to_next"] <= 1
    for t, v in e["terms"].items():
        assert v is None or 0 <= v <= 1, (t, v)
    assert e["terms"]["tempo"] is not None
    # How the mixer will go on: every step is within max_stretch and the
    # click tracks' grids are steady, so each one beatmatches.
    tr = e["transition_to_next"]
    assert tr["kind"] == "beatmatched" and tr["bars"] >= 4, tr
    assert tr["reason"], tr
    # 100 .. 107.5 BPM: one cluster, no tempo cut, none needed.
    assert e["tempo_cut_to_next"] is False, e
    assert e["tempo_cuts"] == {"in_tour": 0, "unavoidable": 0,
                               "wide_gaps": 0, "tracks": 6}, e["tempo_cuts"]
names = sorted(e["path"].rsplit("/", 1)[1] for e in plan)
# One of the two identical files stays (the older: scan order), the short
# one goes.
names = ["t3-107.5.wav" if x == "zz-copy-of-107.5.wav" else x for x in names]
want = sorted(["t1-104.5.wav", "t2-100.wav", "t3-107.5.wav", "t4-101.5.wav",
               "t5-106.wav", "t6-103.wav"])
assert sorted(names) == want, names
bpm = [e["bpm"] for e in plan]
for e in plan:
    truth = float(e["path"].rsplit("-", 1)[1][:-4])
    assert abs(e["bpm"] - truth) < 0.01 * truth, (e["bpm"], truth)
n = len(bpm)
lo = bpm.index(min(bpm))
k = 1
while k < n and bpm[(lo + k) % n] > bpm[(lo + k - 1) % n]:
    k += 1
while k < n and bpm[(lo + k) % n] < bpm[(lo + k - 1) % n]:
    k += 1
assert k == n, "not up then down: %s" % bpm
total = sum(e["cost_to_next"] for e in plan)
print("tempi in play order: %s; cycle cost %.4f" %
      (" ".join("%.1f" % b for b in bpm), total))
EOF

# The same seed, the same plan.
"$FOREVERFM" plan --json --seed 3 -c "$WORK/foreverfm.ini" \
	>"$WORK/again.json" 2>/dev/null || fail "second plan failed"
cmp -s "$WORK/plan.json" "$WORK/again.json" || fail "--seed 3 twice differs"

# Text: a header and one line per track, in the same order.
"$FOREVERFM" plan --seed 3 -c "$WORK/foreverfm.ini" >"$WORK/plan.txt" \
	2>/dev/null || fail "plan (text) failed"
[ "$(grep -vc '^#' "$WORK/plan.txt")" -eq 6 ] || fail "text: not 6 tracks"
grep -q '^# unbridgeable tempo steps: 0 in the tour, 0 unavoidable' \
	"$WORK/plan.txt" || fail "text: no tempo cut figures"
python3 - "$WORK/plan.json" "$WORK/plan.txt" <<'EOF' || fail "text order"
import json, sys
plan = json.load(open(sys.argv[1]))
lines = [l for l in open(sys.argv[2]) if not l.startswith("#")]
for e, l in zip(plan, lines):
    name = e["path"].rsplit("/", 1)[1].rsplit(".", 1)[0]
    assert l.rstrip().endswith(name), (l, name)
EOF
exit 0
