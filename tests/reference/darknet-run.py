#!/usr/bin/python3
"""Runs a Darknet cfg + weights through OpenCV's DNN module (the independent implementation the
Darknet importer is checked against) and writes what it computed, for tests/test-darknet.c.

usage: darknet-run.py CFG WEIGHTS INPUT.f32 HEIGHT WIDTH OUTDIR THRESH NMS_IOU [--time N [THREADS]]

INPUT.f32 is the network input as float32 NHWC (1 × HEIGHT × WIDTH × 3, RGB, 0..1).
Writes into OUTDIR:
  raw_K.f32     the tensor feeding the K-th [yolo]/[region] layer, as float32 NHWC
  raw_K.shape   its shape "H W C"
  decoded_K.f32 OpenCV's decoded rows for that layer (cells × anchors, 5 + classes each)
  detections.json  OpenCV's decoded boxes over THRESH after per-class NMS in input pixels (greedy,
                   or DIoU when the cfg says nms_kind=diounms; NMS written out here, since
                   cv2.dnn.NMSBoxes rounds boxes to integers)
With --time N it only prints the median forward time in milliseconds over N runs (after 2 warm-up
runs), for `quorum bench detect`, on THREADS threads (cv2.setNumThreads; default OpenCV's own).
"""
import json
import sys
import time

import cv2
import numpy as np


def parse_heads(cfg_path):
    """Layer index, section type and options of each [yolo]/[region] section."""
    sections = []
    for line in open(cfg_path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sections.append([line[1:-1].strip(), {}])
        elif "=" in line:
            k, v = line.split("=", 1)
            sections[-1][1][k.strip()] = v.strip()
    heads = []
    for i, (kind, opts) in enumerate(sections[1:]):
        if kind in ("yolo", "region"):
            heads.append((i, kind, opts))
    return heads


def diou_nms(boxes, scores, iou_thresh, beta):
    """Greedy NMS, best score first; with beta, Darknet's DIoU criterion (IoU − (d²/c²)^beta)."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        ok = True
        for j in keep:
            a, b = boxes[i], boxes[j]
            ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = ix * iy
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            iou = inter / union if union > 0 else 0.0
            cw = max(a[2], b[2]) - min(a[0], b[0])
            ch = max(a[3], b[3]) - min(a[1], b[1])
            c = cw * cw + ch * ch
            d = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) ** 2 + ((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2) ** 2
            diou = iou - (d / c) ** beta if c > 0 and beta is not None else iou
            if diou > iou_thresh:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def main():
    cfg, weights, input_path, h, w, outdir, thresh, nms_iou = sys.argv[1:9]
    h, w, thresh, nms_iou = int(h), int(w), float(thresh), float(nms_iou)
    timing = int(sys.argv[10]) if len(sys.argv) > 10 and sys.argv[9] == "--time" else 0
    if timing and len(sys.argv) > 11:
        cv2.setNumThreads(int(sys.argv[11]))

    net = cv2.dnn.readNetFromDarknet(cfg, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    x = np.fromfile(input_path, dtype=np.float32).reshape(1, h, w, 3)
    blob = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    net.setInput(blob)

    names = net.getLayerNames()
    heads = parse_heads(cfg)
    outputs = list(net.getUnconnectedOutLayersNames())

    if timing:
        times = []
        for r in range(timing + 2):
            net.setInput(blob)
            t0 = time.perf_counter()
            net.forward(outputs)
            if r >= 2:
                times.append((time.perf_counter() - t0) * 1000.0)
        print("%.3f" % float(np.median(times)))
        return

    # the layer feeding the head at cfg index L is cfg layer L-1, a convolution OpenCV names
    # conv_{L-1}; OpenCV numbers a convolution's activation one higher ("logistic_L")
    raw_names = []
    for (index, kind, opts) in heads:
        act = [n for n in names if n.endswith("_%d" % index)
               and n.split("_")[0] not in ("permute", "yolo", "identity", "detection", "region")]
        raw_names.append(act[0] if act else "conv_%d" % (index - 1))
    decoded_names = outputs
    results = net.forward(raw_names + decoded_names)
    raws, decoded = results[:len(heads)], results[len(heads):]

    all_boxes, all_scores, all_classes, kinds = [], [], [], []
    for k, (index, kind, opts) in enumerate(heads):
        r = raws[k][0].transpose(1, 2, 0)  # CHW -> HWC
        np.ascontiguousarray(r, dtype=np.float32).tofile("%s/raw_%d.f32" % (outdir, k))
        with open("%s/raw_%d.shape" % (outdir, k), "w") as f:
            f.write("%d %d %d\n" % r.shape)
        d = decoded[k].reshape(-1, decoded[k].shape[-1]).astype(np.float32)
        d.tofile("%s/decoded_%d.f32" % (outdir, k))
        for row in d:
            cx, cy, bw, bh = row[0] * w, row[1] * h, row[2] * w, row[3] * h
            for c in np.nonzero(row[5:] > thresh)[0]:
                all_boxes.append([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
                all_scores.append(float(row[5 + c]))
                all_classes.append(int(c))
        kinds.append(opts.get("nms_kind", "greedynms"))
        beta = float(opts.get("beta_nms", "0.6"))

    boxes = np.array(all_boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.array(all_scores, dtype=np.float64)
    classes = np.array(all_classes)
    dets = []
    for c in sorted(set(all_classes)):
        idx = np.nonzero(classes == c)[0]
        keep = diou_nms(boxes[idx], scores[idx], nms_iou, beta if kinds[0] == "diounms" else None)
        for i in keep:
            dets.append({"class": int(c), "score": float(scores[idx][i]), "box": [float(v) for v in boxes[idx][i]]})
    dets.sort(key=lambda d: -d["score"])
    with open("%s/detections.json" % outdir, "w") as f:
        json.dump(dets, f)


if __name__ == "__main__":
    main()
