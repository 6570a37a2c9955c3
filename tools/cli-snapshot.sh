#!/bin/sh
# Records what the CLI prints and stores on the demo photos, so that a change meant to keep
# behaviour (a refactoring) can be checked byte for byte: run it before and after, then
# `diff -r BEFORE AFTER`. Everything runs on the CPU with 2 threads, in a fixed scratch folder
# (paths in the outputs are the same from run to run); times and timestamps are left out.
# Usage: tools/cli-snapshot.sh QUORUM_BINARY OUT_DIR [DARKNET_DIR]
#   DARKNET_DIR: Darknet cfgs with .weights beside them (and coco.names); each is run too.
set -eu
quorum=$(realpath "${1:?usage: tools/cli-snapshot.sh QUORUM_BINARY OUT_DIR [DARKNET_DIR]}")
out=$(realpath -m "${2:?usage: tools/cli-snapshot.sh QUORUM_BINARY OUT_DIR [DARKNET_DIR]}")
darknet=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
pretrained=$here/../shared/models/pretrained
work=/tmp/quorum-cli-snapshot

rm -rf "$work" "$out"
mkdir -p "$work/photos" "$work/xdg" "$work/config" "$out"
export XDG_DATA_HOME="$work/xdg" XDG_CONFIG_HOME="$work/config" QUORUM_DEVICE=cpu LC_ALL=C.UTF-8
cp "$here"/resources/demo/*.jpg "$here"/resources/demo/*.png "$work/photos/"
printf 'not an image' > "$work/photos/broken.jpg"
XDG_DATA_HOME="$work/xdg" "$here/tools/fetch-models.sh" "$pretrained" >/dev/null
models=$work/xdg/quorum/models
db=$work/catalog.sqlite
cd "$work"

# run NAME COMMAND…: stdout, stderr and the exit status, with durations and rates masked
run () {
  name=$1
  shift
  status=0
  "$quorum" "$@" >"$out/$name.out" 2>"$out/$name.err" || status=$?
  echo "$status" >"$out/$name.status"
  sed -i -E 's/[0-9]+\.[0-9]+ s\b/T s/g' "$out/$name.out" "$out/$name.err"
}

# The help texts, the command table's and each command's.
run help --help
for c in index info thumbs detect models peers review eval import export bench devices; do
  run "help-$c" "$c" --help
done
run version version

# One image at a time, every model family (the broken file's error is part of the output).
photos=$(ls photos/* | sort)
run detect-centernet detect --threads 2 --model centernet $photos
run detect-nanodet detect --threads 2 --model nanodet --threshold 0.3 $photos
run detect-centernet-path detect --threads 2 --model "$models/centernet.json" photos/darknet-dog.jpg
run detect-ssd detect --threads 2 --model "$models/ssd_mobilenetv2_oidv4_fp16.tflite" --threshold 0.1 $photos
run detect-blazeface detect --threads 2 --model "$models/blazeface_short_range.tflite" $photos
if [ -n "$darknet" ]; then
  for cfg in "$darknet"/*.cfg; do
    run "detect-$(basename "$cfg" .cfg)" detect --threads 2 --model "$cfg" photos/darknet-dog.jpg photos/darknet-horses.jpg
  done
fi
run detect-missing-model detect --model nosuchmodel photos/darknet-dog.jpg

# A collection: index, thumbnails, a stored run, the peers, the review queue, labels, eval, export.
run index index --db "$db" --threads 1 photos
run info-empty info --db "$db" --json photos
run thumbs thumbs --db "$db" --threads 2 photos
run detect-collection detect --threads 2 --db "$db" --collection photos --model nanodet
run peers peers run --db "$db" --threads 2 --collection photos
run peers-again peers run --db "$db" --threads 2 --collection photos
run models models --db "$db" --collection photos
run review review list --db "$db" --collection photos --top 0
run review-missing review list --db "$db" --collection photos --kind model_mistake --top 5
run review-class review list --db "$db" --collection photos --class dog
run review-unknown-class review list --db "$db" --collection photos --class unicorn
run review-update review update --db "$db" --collection photos
run import import --db "$db" --collection photos --format coco "$here/bench/checked-labels.json"
run review-labelled review list --db "$db" --collection photos --top 0
run review-update-labelled review update --db "$db" --collection photos
run eval eval --db "$db" --collection photos
run eval-all eval --db "$db" --collection photos --all-labels --per-class
for f in coco yolo voc csv; do
  run "export-$f" export --db "$db" --collection photos --format "$f" "$work/export-$f"
  run "export-$f-split" export --db "$db" --collection photos --format "$f" --split 0.7 --seed 3 "$work/export-$f-split"
done
run export-fold export --db "$db" --collection photos --format yolo --fold 1/3 "$work/export-fold"
run export-exists export --db "$db" --collection photos --format coco "$work/export-coco"
run export-bad export --db "$db" --collection photos --format pdf "$work/export-pdf"
run info info --db "$db" photos
run info-json info --db "$db" --json photos
run models-add models --db "$db" --collection photos add peerx "$models/nanodet.json" --held-out 1/3
run models-list models --db "$db" --collection photos
run models-remove models --db "$db" --collection photos remove peerx
for f in coco yolo voc csv; do
  (cd "$work" && find "export-$f" "export-$f-split" -type f | sort | xargs sha256sum) >"$out/files-export-$f.txt"
done
(cd "$work" && find export-fold -type f | sort | xargs sha256sum) >"$out/files-export-fold.txt"
cp "$work/export-coco/annotations.json" "$out/export-coco.json" 2>/dev/null || true

# What the catalog holds, without the columns that hold times.
sqlite3 "$db" .schema >"$out/db-schema.sql"
q () { sqlite3 -header "$db" "$2" >"$out/db-$1.txt"; }
q images "SELECT id, path, size, width, height, orientation, format, hash, state, reason FROM images ORDER BY id"
q classes "SELECT * FROM classes ORDER BY id"
q models "SELECT id, name, kind, location, enabled, held_out_fold, n_folds, fold_seed FROM models ORDER BY id"
q runs "SELECT id, model_id, params, state FROM runs ORDER BY id"
q run-images "SELECT * FROM run_images ORDER BY run_id, image_id"
q detections "SELECT * FROM detections ORDER BY id"
q labels "SELECT id, image_id, class_id, x1, y1, x2, y2, source, provenance, detection_id, deleted_us IS NULL, iscrowd FROM labels ORDER BY id"
q captions "SELECT id, image_id, text, source FROM captions ORDER BY id"
q mistakes "SELECT * FROM mistakes ORDER BY id"
q thumbnails "SELECT image_id, max_side, width, height, hex (sha3 (jpeg)) FROM thumbnails ORDER BY image_id" 2>/dev/null ||
  q thumbnails "SELECT image_id, max_side, width, height, length (jpeg) FROM thumbnails ORDER BY image_id"
echo "snapshot: $out"
