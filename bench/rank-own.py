#!/usr/bin/python3
# The peer for `quorum bench search --review Q`: where each caption's own image stands among all
# stored embeddings, as one writes it with NumPy (float32, OpenBLAS): blocks of 256 captions, one
# product each against every vector, own scores from their rows, a count of the scores above.
# Prints the milliseconds a caption and each caption's count.
import json
import sys
import time

import numpy as np

vectors_path, queries_path, own_path, dim = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = np.fromfile(vectors_path, dtype="<f2").astype(np.float32).reshape(-1, dim)
q = np.fromfile(queries_path, dtype="<f4").reshape(-1, dim)
own = np.fromfile(own_path, dtype="<i8")
tie = 1e-5
t = time.perf_counter()
ahead = []
for start in range(0, len(q), 256):
    block = q[start:start + 256]
    rows = own[start:start + 256]
    s = block @ x.T
    own_score = s[np.arange(len(block)), rows]
    ahead.extend(((s > (own_score + tie * np.maximum(1, np.abs(own_score)))[:, None]).sum(axis=1)).tolist())
ms = 1000 * (time.perf_counter() - t) / len(q)
print(json.dumps({"ms": ms, "ahead": ahead}))
