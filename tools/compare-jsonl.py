#!/usr/bin/python3
"""Compares two runs' JSON lines (quorum detect boxes or quorum embed embeddings), line by line in
order: the same number of lines, the same classes and texts, and the largest differences of
scores, boxes and embedding values. For tools/gpu-run.sh (the GPU machine has Python, not GLib).
Usage: compare-jsonl.py REFERENCE.jsonl OTHER.jsonl"""
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


a, b = load(sys.argv[1]), load(sys.argv[2])
if len(a) != len(b):
    print(f"DIFFER: {len(a)} lines against {len(b)}")
    sys.exit(1)
worst = {"score": 0.0, "box": 0.0, "embedding": 0.0}
largest = 0.0
for x, y in zip(a, b):
    for key in ("class", "text", "tokens"):
        if x.get(key) != y.get(key):
            print(f"DIFFER: {key} {x.get(key)!r} against {y.get(key)!r}")
            sys.exit(1)
    if "score" in x:
        worst["score"] = max(worst["score"], abs(x["score"] - y["score"]))
        worst["box"] = max(worst["box"], max(abs(p - q) for p, q in zip(x["box"], y["box"])))
    if "embedding" in x:
        largest = max(largest, max(abs(v) for v in x["embedding"]))
        worst["embedding"] = max(worst["embedding"], max(abs(p - q) for p, q in zip(x["embedding"], y["embedding"])))
print(f"{len(a)} lines alike; largest differences: score {worst['score']:.3g}, box {worst['box']:.3g} px, "
      f"embedding {worst['embedding']:.3g} (of values up to {largest:.3g})")
