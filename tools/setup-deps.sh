#!/bin/sh
# Installs what Quorum needs from Debian 12 when it is missing (run as root, or with sudo).
# Usage: tools/setup-deps.sh [--no-gui | --fuzz]   (--fuzz: also clang, for tools/fuzz.sh)
set -eu
packages="build-essential cmake pkg-config libglib2.0-dev libsqlite3-dev libjpeg62-turbo-dev
  libwebp-dev libstb-dev libjson-glib-dev libopenblas-dev libcairo2-dev xvfb xauth libvips-tools
  python3-opencv python3-numpy python3-torch python3-onnx python3-regex python3-pil libonnx-testdata wordnet
  slurm-wlm munge"
if [ "${1:-}" = "--fuzz" ]; then
  packages="$packages clang"
elif [ "${1:-}" != "--no-gui" ]; then
  packages="$packages libgtk-4-dev libadwaita-1-dev imagemagick desktop-file-utils appstream xdotool"
fi
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "Installing:$missing"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Node.js runs TF.js, the independent reference the engine's tests compare against.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Installing: nodejs npm"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
