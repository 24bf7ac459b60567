#!/usr/bin/env bash
# GUI timing harness: runs `roadcheck --demo --measure` under Xvfb RUNS times
# and prints the median of each figure. It asserts nothing.
#
#   scan-ready  process start (from /proc) → first paint of the scan screen,
#               demo world built and imported, signed in (goal ≤ 1.5 s)
#   verdict     a QR image decoded → the verdict screen's first paint
#               (hand-over, verification, screen built and painted; goal ≤ 100 ms)
#
# Needs: xvfb (and the fyne build packages). Usage: build/gui-perf.sh [RUNS] (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=build/out/perf
mkdir -p "$out"
bin="$out/roadcheck"
go build -o "$bin" ./app/roadcheck

display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill "$xvfb" 2>/dev/null || true' EXIT
export DISPLAY=$display
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

: >"$out/all.log"
for i in $(seq "$runs"); do
	LANG=C.UTF-8 timeout 60 "$bin" --demo --measure >"$out/run$i.log" 2>"$out/run$i.err" || {
		echo "gui-perf: run $i failed"; cat "$out/run$i.err"; exit 1; }
	grep '^measure:' "$out/run$i.log" | tee -a "$out/all.log" | grep summary
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ready=$(grep -o 'scan-ready [0-9.]* ms after' "$out/all.log" | awk '{print $2}' | median)
verdict=$(grep -o 'on screen [0-9.]* ms after decode' "$out/all.log" | awk '{print $3}' | median)
n=$(grep -c 'on screen' "$out/all.log")
echo "gui-perf: $(nproc) cores, $runs runs: scan-ready median ${ready} ms (goal ≤ 1500 ms); verdict after decode median ${verdict} ms over $n verdicts (goal ≤ 100 ms)"
