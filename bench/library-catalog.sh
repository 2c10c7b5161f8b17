# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/library-catalog.sh — sourced by bench/real-mix.sh and
# bench/pair-census.sh, so that both keep a library's analysis in the same
# catalog under CACHE_DIR and analyse a library once for the two.
#
# library_catalog LIBRARY: for a folder of music, sets
#   name  its catalog's name: the folder's basename and the cksum of its
#         absolute path;
#   cfg   $work/$name.ini, a configuration of the folder, the catalog
#         $CACHE_DIR/$name.db and MIN_DURATION when set;
# and analyses it (cached from the second run on) into
# $work/$name.analysis.jsonl (foreverfm analyze --json). Returns 1, having
# said why, when LIBRARY is not a folder or the analysis failed.
# Needs FOREVERFM, CACHE_DIR, MIN_DURATION (may be empty) and work.

# shellcheck disable=SC2154 # work: set by the script that sources this
library_catalog() {
	if [ ! -d "$1" ]; then
		echo "skipped: not a directory"
		return 1
	fi
	abs=$(cd "$1" && pwd)
	name=$(basename "$abs")-$(printf '%s' "$abs" | cksum | cut -d' ' -f1)
	cfg=$work/$name.ini
	printf '[library]\npath = %s\ndatabase = %s\n' "$abs" \
		"$CACHE_DIR/$name.db" > "$cfg"
	[ -z "$MIN_DURATION" ] || echo "min_duration = $MIN_DURATION" >> "$cfg"
	if ! nice "$FOREVERFM" analyze --json -q -c "$cfg" \
		>"$work/$name.analysis.jsonl" 2>"$work/$name.analyze.log"; then
		cat "$work/$name.analyze.log"
		echo "skipped: foreverfm analyze failed"
		return 1
	fi
}
