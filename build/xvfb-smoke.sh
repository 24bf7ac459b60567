#!/usr/bin/env bash
# Smoke test of the real GUI binary under Xvfb: build ./app/roadcheck, start
# it with --demo, wait for its window, screenshot the screen, check the
# screenshot is not blank and the window title, then SIGTERM it and expect
# exit status 0.
#
# Needs: xvfb imagemagick xdotool (and the fyne build packages).
# Usage: build/xvfb-smoke.sh [OUT_DIR]   (default OUT_DIR: build/out/smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/out/smoke}
mkdir -p "$out"
bin="$out/roadcheck"
go build -o "$bin" ./app/roadcheck

display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb=$!
app=""
cleanup() {
	[ -n "$app" ] && kill "$app" 2>/dev/null || true
	kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
export DISPLAY=$display
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

LANG=C.UTF-8 "$bin" --demo >"$out/app.log" 2>&1 &
app=$!

# Wait for the window (up to 30 s).
win=""
for _ in $(seq 150); do
	win=$(xdotool search --name "RoadCheck" 2>/dev/null | head -n1 || true)
	[ -n "$win" ] && break
	kill -0 "$app" 2>/dev/null || { echo "smoke: the app exited early"; cat "$out/app.log"; exit 1; }
	sleep 0.2
done
[ -n "$win" ] || { echo "smoke: no RoadCheck window"; cat "$out/app.log"; exit 1; }
title=$(xdotool getwindowname "$win")
case "$title" in
*"RoadCheck 路检核验"*) ;;
*) echo "smoke: unexpected window title: $title"; exit 1 ;;
esac
sleep 2 # let it paint

shot="$out/screen.png"
import -display "$display" -window root "$shot"
colours=$(convert "$shot" -format '%k' info:)
mean=$(convert "$shot" -colorspace Gray -format '%[fx:mean]' info:)
echo "smoke: window '$title', screenshot $shot: $colours colours, mean grey $mean"
if [ "$colours" -lt 16 ]; then
	echo "smoke: the screenshot is blank ($colours colours)"
	exit 1
fi

kill -TERM "$app"
status=0
wait "$app" || status=$?
app=""
if [ "$status" -ne 0 ]; then
	echo "smoke: exit status $status after SIGTERM, want 0"
	cat "$out/app.log"
	exit 1
fi
echo "smoke: OK (clean exit on SIGTERM)"
