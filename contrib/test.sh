#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# contrib/test.sh — sets up everything on a fresh Debian machine and runs
# every test: installs the packages, builds from scratch (out of tree, with
# -Werror), runs `make check` (unit tests and integration tests against a
# real icecast2), runs the unit tests and the station's analysis
# integration test again under ASan+UBSan, and runs `make distcheck`
# (without the long real-time tests and test_beatmatch, run once above:
# CI stays under 30 minutes). Ends with one line "N passed, N failed".
#
# Environment: JOBS (default: number of cores), FOREVERFM_SKIP_DISTCHECK=1,
# FOREVERFM_SKIP_SANITIZERS=1 for quicker local runs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. "$top/contrib/packages.sh"
foreverfm_install_packages || { echo "package installation failed"; echo "0 passed, 1 failed"; exit 1; }

jobs=${JOBS:-$(nproc)}
passed=0
failed=0

# count BUILDDIR: adds the results of BUILDDIR's last `make check`.
count() {
	for trs in $(find "$1" -name '*.trs' 2>/dev/null); do
		case "$(sed -n 's/^:test-result: //p' "$trs")" in
		PASS|SKIP|XFAIL) passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done
}

# step NAME COMMAND...: runs a build step; a failing step counts as a failure.
step() {
	name=$1; shift
	echo "=== $name"
	if ! "$@"; then
		echo "=== $name: FAILED"
		failed=$((failed + 1))
		return 1
	fi
}

show_failures() {
	for log in $(find "$1" -name '*.log' -path '*tests*' 2>/dev/null); do
		trs=${log%.log}.trs
		[ -f "$trs" ] || continue
		if ! grep -qE '^:test-result: (PASS|SKIP|XFAIL)' "$trs"; then
			echo "--- $log"
			# The reason first: the tail may not reach it.
			grep -E '^(FAIL|not ok|icecast-harness:)' "$log" |
				head -n 5
			tail -n 60 "$log"
		fi
	done
}

rm -rf build-ci build-ci-asan
step autogen ./autogen.sh || { echo "$passed passed, $failed failed"; exit 1; }

mkdir -p build-ci
if step configure sh -c 'cd build-ci && ../configure --enable-werror' &&
   step build make -C build-ci -j"$jobs"; then
	make -C build-ci -j"$jobs" check || show_failures build-ci
	count build-ci
fi

if [ "${FOREVERFM_SKIP_SANITIZERS:-0}" != 1 ]; then
	mkdir -p build-ci-asan
	if step configure-asan sh -c 'cd build-ci-asan && ../configure --enable-sanitizers' &&
	   step build-asan make -C build-ci-asan -j"$jobs"; then
		# The unit tests, under ASan+UBSan, the station analysing its
		# library in exec'd workers while it streams, and reloads under
		# fire (LeakSanitizer at the station's exit).
		make -C build-ci-asan -j"$jobs" check \
			TESTS="$(cd "$top" && ls tests/test_*.c | sed 's/\.c$//' | tr '\n' ' ') tests/integration_station_analysis.sh" ||
			show_failures build-ci-asan
		count build-ci-asan
	fi
fi

if [ "${FOREVERFM_SKIP_DISTCHECK:-0}" != 1 ] && [ -f build-ci/Makefile ]; then
	# distcheck builds and tests from the tarball; only its verdict counts.
	# The fault, SIGHUP, relay, status-server, page, feed-station,
	# streaming, reconnect and library tests (most of a minute or more of
	# real-time streaming each) and test_beatmatch (a minute and a half of
	# mixing) ran above from the same sources; from the tarball every
	# other test runs, the feed tests' servers and harnesses and the
	# icecast harness included, which is what shows a file missing from
	# it.
	dist_tests=$(awk '/^TESTS = /{t=1; next} t && /NULL/{t=0} t && $1 ~ /^tests\// && $1 !~ /integration_fault_|integration_sighup|integration_relay|integration_http|integration_feeds_station|integration_feeds_tour|integration_page|integration_stream|integration_reconnect|integration_library|test_beatmatch/ {print $1}' Makefile.am | tr '\n' ' ')
	if step distcheck make -C build-ci -j"$jobs" distcheck \
		DISTCHECK_CONFIGURE_FLAGS=--enable-werror TESTS="$dist_tests" \
		>build-ci/distcheck.log 2>&1; then
		passed=$((passed + 1))
	else
		tail -n 80 build-ci/distcheck.log
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
