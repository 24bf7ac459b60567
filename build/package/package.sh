#!/usr/bin/env bash
# Packages the RoadCheck terminal with fyne.io/tools (make package).
#
#   build/package/package.sh [linux|android]    (default: linux)
#
# linux: build/out/RoadCheck.tar.xz (binary, icon, desktop file, Makefile
# for `make install`), built with the fyne build packages installed (gcc
# libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
# libxi-dev libxxf86vm-dev) and package scan's image libraries
# (libjpeg62-turbo-dev libpng-dev): the binary needs libjpeg.so.62 and
# libpng16.so.16 at run time, there on any Debian or Ubuntu desktop.
#
# android (rugged tablets) needs, beyond this script: the Android SDK and NDK
# (ANDROID_HOME, ANDROID_NDK_HOME; fyne uses the NDK's clang for cgo), a
# release keystore for `fyne release` (-key-store, -key-name), and on the Go
# side a camera source for Android (package scan's V4L2 source does not work
# there: the camera must come through a Java/NDK camera bridge; its C image
# decoders are not built there, so images over 64 MiB decoded are refused
# unless libjpeg-turbo and libpng are built for the NDK), a key store
# for the record data key instead of the key file, and min SDK ≥ 21. The
# FyneApp.toml ID (cn.roadcheck.terminal) becomes the Android package name.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-linux}
fyne="go run fyne.io/tools/cmd/fyne@v1.7.4"
out=build/out
mkdir -p "$out"
# fyne reads FyneApp.toml and the icon from the source directory.
cp build/package/FyneApp.toml build/package/Icon.png app/roadcheck/
trap 'rm -f app/roadcheck/FyneApp.toml app/roadcheck/Icon.png' EXIT
case "$target" in
linux)
	(cd app/roadcheck && $fyne package -os linux -release)
	mv app/roadcheck/RoadCheck.tar.xz "$out/"
	echo "package: $out/RoadCheck.tar.xz"
	;;
android)
	(cd app/roadcheck && $fyne package -os android -release)
	mv app/roadcheck/*.apk app/roadcheck/*.aab "$out/" 2>/dev/null || true
	;;
*)
	echo "usage: $0 [linux|android]" >&2
	exit 2
	;;
esac
