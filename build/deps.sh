#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages RoadCheck needs, only those missing.
# Usage: build/deps.sh image|gui|test|scan  (several groups may be given)
#   image: what every program that reads images needs to build (rcctl and
#          the GUI: package scan decodes large images with libjpeg-turbo and
#          libpng through cgo; CGO_ENABLED=0 builds without them, refusing
#          images over 64 MiB decoded instead of downscaling them)
#   gui:   image, plus fyne's build packages
set -euo pipefail
image="gcc pkg-config libjpeg62-turbo-dev libpng-dev"
declare -A groups=(
  [image]="$image"
  [gui]="$image libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev"
  [test]="xvfb libgl1-mesa-dri imagemagick x11-utils xdotool swtpm swtpm-tools postgresql"
  [scan]="zbar-tools"
)
want=()
for g in "$@"; do
  [[ -n "${groups[$g]:-}" ]] || { echo "deps.sh: unknown group $g" >&2; exit 2; }
  for p in ${groups[$g]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
done
[[ ${#want[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${want[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${want[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
