#!/bin/sh
# bad-inputs.sh QUORUM: the hardening issue's bad files, generated here, through the command line.
# Each must end with exit status 1 (no signal, no hang: 60 s at most, memory bounded with
# ulimit -v outside sanitizer builds) and one line on stderr that names the file and says what is
# wrong. Prints TAP. Images go through `detect` with the shared CenterNet model (skipped when the
# shared models are not beside the source tree).
set -u
quorum=${1:?usage: bad-inputs.sh QUORUM}
here=$(cd "$(dirname "$0")" && pwd)
centernet="$here/../../shared/models/pretrained/centernet.json"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XDG_DATA_HOME="$dir/xdg"
n=0
failed=0

# check NAME EXPECTED-SUBSTRING COMMAND…: exit 1, one stderr line holding the substring
check () {
  name=$1 expected=$2
  shift 2
  n=$((n + 1))
  (
    if [ -z "${QUORUM_SANITIZE:-}" ]; then ulimit -v 4000000; fi
    exec timeout 60 "$@"
  ) >"$dir/out" 2>"$dir/err"
  status=$?
  lines=$(grep -c '' "$dir/err")
  if [ "$status" -eq 1 ] && [ "$lines" -eq 1 ] && grep -qF -- "$expected" "$dir/err"; then
    echo "ok $n - $name"
  else
    failed=$((failed + 1))
    echo "not ok $n - $name (exit $status, $lines stderr lines; wanted \"$expected\")"
    sed 's/^/# /' "$dir/err"
  fi
}

skip () {
  n=$((n + 1))
  echo "ok $n - $1 # SKIP $2"
}

mkdir -p "$dir/c"
cp "$here/../resources/demo/darknet-dog.jpg" "$dir/c/a.jpg"
"$quorum" index -q -c "$dir/c" || { echo "Bail out! index failed"; exit 1; }

# TF.js model files
: >"$dir/empty.json"
check "empty model.json" "$dir/empty.json: an empty file, not a TF.js model.json" \
  "$quorum" detect --model "$dir/empty.json" "$dir/c/a.jpg"
printf '{"modelTopology":\n' >"$dir/trunc.json"
check "truncated model.json names the file once" "$dir/trunc.json:2:0: Parse error" \
  "$quorum" detect --model "$dir/trunc.json" "$dir/c/a.jpg"
if grep -qF "$dir/trunc.json: $dir/trunc.json" "$dir/err"; then
  failed=$((failed + 1)); echo "not ok $n - the path printed twice"; fi
cat >"$dir/cplx.json" <<'JSON'
{"format":"graph-model","modelTopology":{"node":[
 {"name":"x","op":"Placeholder","attr":{"dtype":{"type":"DT_FLOAT"},"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"3"}]}}}},
 {"name":"w","op":"Const","attr":{"dtype":{"type":"DT_COMPLEX128"}}},
 {"name":"y","op":"Add","input":["x","w"],"attr":{"T":{"type":"DT_FLOAT"}}}]},
 "weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"w","shape":[3],"dtype":"complex128"}]}]}
JSON
head -c 48 /dev/zero >"$dir/w.bin"
check "complex128 weight refused" "weight w has dtype complex128, which Quorum does not read" \
  "$quorum" detect --model "$dir/cplx.json" "$dir/c/a.jpg"

# found by fuzz-tfjs: a manifest weight with no name reached json-glib's criticals
printf '{"modelTopology":{"node":[]},"weightsManifest":[{"paths":["w.bin"],"weights":[{"shape":[2],"dtype":"float32"}]}]}' \
  >"$dir/noname.json"
check "a manifest weight with no name" "noname.json: weights manifest group 0, weight 0: no name" \
  "$quorum" detect --model "$dir/noname.json" "$dir/c/a.jpg"
# found by fuzz-tfjs: a shape holding a list (or a string) instead of a number
printf '{"modelTopology":{"node":[]},"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"w","shape":[[2]],"dtype":"float32"}]}]}' \
  >"$dir/listdim.json"
check "a weight's shape holding a list" "listdim.json: weight w: its shape is not a list of whole numbers" \
  "$quorum" detect --model "$dir/listdim.json" "$dir/c/a.jpg"
printf '{"modelTopology":{"node":[]},"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"w","shape":["2"],"dtype":"float32"}]}]}' \
  >"$dir/strdim.json"
check "a weight's shape holding a string" "strdim.json: weight w: its shape is not a list of whole numbers" \
  "$quorum" detect --model "$dir/strdim.json" "$dir/c/a.jpg"

# Darknet
printf '[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=2147483647\nsize=1\nstride=1\nactivation=linear\n' \
  >"$dir/big.cfg"
head -c 1000 /dev/zero >"$dir/big.weights"
check "Darknet filters out of range" "big.cfg:6: filters: 2147483647 is out of range" \
  "$quorum" detect --model "$dir/big.cfg" "$dir/c/a.jpg"

# Datasets
printf '{"images":[{"id":1,"file_name":"a\\u0000.jpg","width":10,"height":10}],"annotations":[],"categories":[]}' \
  >"$dir/nul.json"
check "COCO \\u0000 in a name" "nul.json:1:32: a string holding a NUL character" \
  "$quorum" import -c "$dir/c" --format coco "$dir/nul.json"
{
  printf '{"images":[{"id":1'
  head -c 100000 /dev/zero | tr '\0' '1'
  printf ',"file_name":"a.jpg"}],"annotations":[],"categories":[]}'
} >"$dir/digits.json"
check "COCO 100,000-digit id" "digits.json:1:18: \"id\" is out of range" \
  "$quorum" import -c "$dir/c" --format coco "$dir/digits.json"
printf '"a\nb.jpg",1,2,3,4,dog\n' >"$dir/newline.csv"
check "CSV name with a newline, escaped" 'newline.csv:1: a\nb.jpg is not a readable image' \
  "$quorum" import -c "$dir/c" --format csv "$dir/newline.csv"

# Images
if [ -f "$centernet" ]; then
  mkdir "$dir/c/folder.jpg"
  check "a folder named like an image" "folder.jpg: not a regular file (a folder)" \
    "$quorum" detect --model "$centernet" "$dir/c/folder.jpg"
  mkfifo "$dir/c/pipe.jpg"
  check "a FIFO named like an image (no hang)" "pipe.jpg: not a regular file (a pipe)" \
    "$quorum" detect --model "$centernet" "$dir/c/pipe.jpg"
  ln -s /dev/null "$dir/c/null.jpg"
  check "a device named like an image" "null.jpg: not a regular file (a device)" \
    "$quorum" detect --model "$centernet" "$dir/c/null.jpg"
  printf 'P5 30000 13333 255\n' >"$dir/c/bomb.pgm"
  check "10-byte PGM claiming 30000 x 13333" "truncated PNM" \
    "$quorum" detect --model "$centernet" "$dir/c/bomb.pgm"
  # BITMAPINFOHEADER with width and height -2147483648
  printf 'BM\066\000\000\000\000\000\000\000\066\000\000\000\050\000\000\000\000\000\000\200\000\000\000\200\001\000\030\000\000\000\000\000\000\000\000\000\023\013\000\000\023\013\000\000\000\000\000\000\000\000\000\000' \
    >"$dir/c/negative.bmp"
  check "BMP with negative dimensions" "corrupt bmp header" \
    "$quorum" detect --model "$centernet" "$dir/c/negative.bmp"
else
  for t in folder fifo device pgm bmp; do skip "image: $t" "the shared models are not beside the source tree"; done
fi

# A catalog on read-only storage (a read-only bind mount, in a mount namespace of its own: needs
# root and unshare): read as it is, writes refused saying why.
mkdir -p "$dir/ro/c"
cp "$dir/c/a.jpg" "$dir/ro/c/"
"$quorum" index -q -c "$dir/ro/c" --db "$dir/ro/cat.sqlite"
if unshare -m sh -c "mount --bind '$dir/ro' '$dir/ro' && mount -o remount,bind,ro '$dir/ro'" 2>/dev/null; then
  n=$((n + 1))
  if unshare -m sh -c "mount --bind '$dir/ro' '$dir/ro' && mount -o remount,bind,ro '$dir/ro' &&
       '$quorum' info -c '$dir/ro/c' --db '$dir/ro/cat.sqlite'" >"$dir/out" 2>"$dir/err" \
     && grep -q "read-only" "$dir/out"; then
    echo "ok $n - a read-only catalog is read (info says read-only)"
  else
    failed=$((failed + 1)); echo "not ok $n - a read-only catalog is read"; sed 's/^/# /' "$dir/err"
  fi
  check "a read-only catalog refuses writes, saying why" "the catalog is read-only" \
    unshare -m sh -c "mount --bind '$dir/ro' '$dir/ro' && mount -o remount,bind,ro '$dir/ro' &&
      exec '$quorum' review mark a.jpg -c '$dir/ro/c' --db '$dir/ro/cat.sqlite'"
else
  skip "read-only catalog: read" "no read-only bind mount here (needs root and unshare)"
  skip "read-only catalog: writes refused" "no read-only bind mount here (needs root and unshare)"
fi

# A full disk (a 2 MB tmpfs holding the catalog): an import of 60,000 labels fails saying so,
# stores nothing, and leaves the catalog whole.
mkdir -p "$dir/full/c" "$dir/full/db"
cp "$dir/c/a.jpg" "$dir/full/c/"
i=0
while [ $i -lt 60000 ]; do echo "a.jpg,1,2,30,40,class$((i % 300))"; i=$((i + 1)); done >"$dir/full/big.csv"
if unshare -m sh -c "mount -t tmpfs -o size=2m tmpfs '$dir/full/db'" 2>/dev/null; then
  check "a full disk: the import says so" "the disk is full; what this step was writing was not stored" \
    unshare -m sh -c "mount -t tmpfs -o size=2m tmpfs '$dir/full/db' &&
      '$quorum' index -q -c '$dir/full/c' --db '$dir/full/db/cat.sqlite' &&
      exec '$quorum' import -c '$dir/full/c' --db '$dir/full/db/cat.sqlite' --format csv '$dir/full/big.csv'"
  n=$((n + 1))
  if unshare -m sh -c "mount -t tmpfs -o size=2m tmpfs '$dir/full/db' &&
       '$quorum' index -q -c '$dir/full/c' --db '$dir/full/db/cat.sqlite' &&
       ! '$quorum' import -q -c '$dir/full/c' --db '$dir/full/db/cat.sqlite' --format csv '$dir/full/big.csv' 2>/dev/null &&
       /usr/bin/python3 -c \"import sqlite3, sys; c = sqlite3.connect('$dir/full/db/cat.sqlite');
sys.exit(0 if c.execute('pragma integrity_check').fetchone()[0] == 'ok' and c.execute('select count(*) from labels').fetchone()[0] == 0 else 1)\""; then
    echo "ok $n - after the full disk: integrity_check ok, no label half stored"
  else
    failed=$((failed + 1)); echo "not ok $n - after the full disk: the catalog is damaged or holds part of the import"
  fi
else
  skip "full disk: message" "no tmpfs mount here (needs root and unshare)"
  skip "full disk: catalog whole" "no tmpfs mount here (needs root and unshare)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
