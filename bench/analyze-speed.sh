#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# analyze-speed.sh [BUILDDIR] — CPU seconds of foreverfm's full analysis
# against `aubio beat` alone (Debian package aubio-tools) on the same files,
# their ratio (target <= 1.0) and x real time. Uses the songs in
# $ANALYZE_BENCH_DIR if set (any decodable files), else generates five
# 3.5-minute synthetic songs (drums, bass, chords; sox) and encodes them to
# MP3. Prints figures; never fails on slowness.
set -eu
build=${1:-build}
tool="$build/bench/analyze-one"
command -v aubio >/dev/null || { echo "aubio (aubio-tools) missing"; exit 77; }
mkdir -p "$build/bench"
cc -O2 -I"$build" -Isrc -o "$tool" bench/analyze-one.c "$build/.libs/libforeverfm.a" \
	$(pkg-config --cflags --libs aubio libebur128 libmpg123 vorbisfile vorbis ogg sndfile samplerate) -lm -lpthread

dir=${ANALYZE_BENCH_DIR:-}
if [ -z "$dir" ]; then
	dir="$build/bench/songs"
	mkdir -p "$dir"
	for i in 1 2 3 4 5; do
		out="$dir/song$i.mp3"
		[ -f "$out" ] && continue
		bpm=$((100 + 12 * i))
		per=$(echo "60 / $bpm" | bc -l)
		t=$(mktemp -d)
		sox -V1 -n -r 44100 -c 2 "$t/k.wav" synth "$per" sine 150-45 fade 0 "$per" 0.2 vol 0.7
		sox -V1 -n -r 44100 -c 2 "$t/h.wav" synth "$per" whitenoise fade 0 "$per" "$(echo "$per - 0.05" | bc -l)" highpass 6000 vol 0.2
		sox -V1 "$t/h.wav" "$t/h2.wav" pad "$(echo "$per / 2" | bc -l)" 0 trim 0 "$per"
		sox -V1 -m "$t/k.wav" "$t/h2.wav" "$t/beat.wav"
		sox -V1 -n -r 44100 -c 2 "$t/c.wav" synth "$(echo "4 * $per" | bc -l)" pluck C3 pluck E4 pluck G4 pluck A2 vol 0.3
		sox -V1 "$t/beat.wav" "$t/beat.wav" "$t/beat.wav" "$t/beat.wav" "$t/bar.wav"
		sox -V1 -m "$t/bar.wav" "$t/c.wav" "$t/bar2.wav"
		sox -V1 "$t/bar2.wav" "$t/song.wav" repeat $((210 * bpm / 240))
		sox -V1 "$t/song.wav" "$t/s.wav" trim 0 210
		ffmpeg -loglevel error -y -i "$t/s.wav" -b:a 192k "$out"
		rm -rf "$t"
	done
fi

cpu() { # command... -> user+sys seconds
	/usr/bin/time -f "%U %S" -o /tmp/ffm-bench.$$ "$@" >/dev/null 2>&1 || true
	awk '{ printf "%.3f", $1 + $2 }' /tmp/ffm-bench.$$
}
total_a=0 total_f=0 total_d=0
printf '%-28s %8s %10s %10s %7s %9s\n' file seconds aubio_s ffm_s ratio x_realtime
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	d=$(soxi -D "$f" 2>/dev/null || ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
	a=$(cpu aubio beat "$f")
	m=$(cpu "$tool" "$f")
	printf '%-28s %8.1f %10.3f %10.3f %7.2f %9.0f\n' "$(basename "$f")" "$d" "$a" "$m" \
		"$(echo "$m / $a" | bc -l)" "$(echo "$d / $m" | bc -l)"
	total_a=$(echo "$total_a + $a" | bc -l)
	total_f=$(echo "$total_f + $m" | bc -l)
	total_d=$(echo "$total_d + $d" | bc -l)
done
rm -f /tmp/ffm-bench.$$
printf 'total: %.0f s of audio; aubio beat %.2f s CPU; foreverfm analysis %.2f s CPU; ratio %.2f; %.0fx real time per core\n' \
	"$total_d" "$total_a" "$total_f" "$(echo "$total_f / $total_a" | bc -l)" "$(echo "$total_d / $total_f" | bc -l)"
cores=$(nproc)
printf '200 tracks of 3.5 min on %d cores: about %.0f s wall\n' "$cores" \
	"$(echo "200 * 210 / ($total_d / $total_f) / $cores" | bc -l)"
