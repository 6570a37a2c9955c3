#!/usr/bin/python3
# The peer for `quorum bench search`: FAISS's exact inner-product search (Debian's python3-faiss) over
# the same vectors and queries, one query at a time: IndexFlatIP (float32) and IndexScalarQuantizer
# with QT_fp16 (float16 storage, as Quorum's); prints the mean milliseconds a query of each and the
# flat index's top k of each query; and NumPy's x @ q with argpartition (float32, OpenBLAS).
import json
import sys
import time

import numpy as np
import faiss

vectors_path, queries_path, dim, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = np.fromfile(vectors_path, dtype="<f2").astype(np.float32).reshape(-1, dim)
q = np.fromfile(queries_path, dtype="<f4").reshape(-1, dim)


def run(index):
    index.search(q[:1], k)  # warm-up
    times, tops = [], []
    for i in range(len(q)):
        t = time.perf_counter()
        _, ids = index.search(q[i:i + 1], k)
        times.append(time.perf_counter() - t)
        tops.append(ids[0].tolist())
    return 1000 * sum(times) / len(times), tops


flat = faiss.IndexFlatIP(dim)
flat.add(x)
flat_ms, tops = run(flat)
del flat
# the same exact search over float16 storage, as Quorum keeps it
sq = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
sq.train(x[:1000])
sq.add(x)
sq_ms, _ = run(sq)
# what one writes without FAISS: NumPy's matrix–vector product (OpenBLAS) and a partial sort
np_times = []
for i in range(len(q)):
    t = time.perf_counter()
    s = x @ q[i]
    top = np.argpartition(-s, k)[:k]
    top = top[np.argsort(-s[top])]
    np_times.append(time.perf_counter() - t)
numpy_ms = 1000 * sum(np_times) / len(np_times)
print(json.dumps({"ms": flat_ms, "fp16_ms": sq_ms, "numpy_ms": numpy_ms, "threads": faiss.omp_get_max_threads(), "tops": tops}))
