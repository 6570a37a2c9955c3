#!/usr/bin/python3
"""The reference for Quorum's Ultralytics YOLO support (tests/test-onnx.c).

Builds a small detector shaped like an Ultralytics YOLOv8 or YOLO11 export (written here from the
published architecture: Conv-BN-SiLU blocks, C2f, SPPF, an upsampling neck, the decoupled head with
DFL box regression and the anchor decoding inside the graph; the v11 variant adds a position-
sensitive attention block with depthwise convolutions), with seeded random weights, exports it with
torch.onnx.export and writes the metadata Ultralytics writes (names, imgsz, stride, task). Then runs
the same network in PyTorch on the input Quorum prepared, and decodes and suppresses as Ultralytics'
predictor does (the best class per box over the confidence threshold, class-wise NMS by offsetting
boxes per class, at most 300 kept).

v5: a small detector shaped like a YOLOv5 export instead (CSP "C3" blocks, SPPF, the PANet neck,
and the anchor-based head as it runs in an export: per level a 1×1 convolution viewed as
[1, 3, 5 + C, H, W], permuted to [1, 3, H, W, 5 + C], sigmoid, centres (2·s − 0.5 + cell) × stride,
sizes (2·s)² × anchor, flattened to one [1, N, 5 + C] output), decoded as YOLOv5's NMS does
(objectness over the threshold, class score × objectness, the best class over the threshold).

  yolo-onnx.py export DIR OPSET v5|v8|v8n|v11 SIZE   → DIR/model.onnx, DIR/model.pt
  yolo-onnx.py run DIR INPUT.f32 SIZE CONF IOU      → DIR/raw.f32 (1 × (4+C) × N; v5: 1 × N × (5+C)),
                                                      DIR/detections.json
  yolo-onnx.py letterbox W H SIZE                    → {"w","h","left","top"} as Ultralytics places it
  yolo-onnx.py time DIR INPUT.f32 SIZE REPEAT THREADS → "ms_per_image X": the network alone, the median
                                                      of REPEAT runs after a warm-up, THREADS threads
"""
import json
import math
import sys

import numpy as np
import torch
from torch import nn

NAMES = {0: "person", 1: "dog", 2: "bicycle"}
# v8n: YOLOv8n's own sizes (widths 16–256, C2f repeats 1, 2, 2, 1) and 80 classes, for the benchmark
NAMES_80 = {i: f"class{i}" for i in range(80)}


def names_of(kind):
    return NAMES_80 if kind == "v8n" else NAMES


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1, g=1, p=None):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.a = Conv(c, c, 3)
        self.b = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.b(self.a(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1 = Conv(c1, c, 1)
        self.cv2 = Conv(c * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Attention(nn.Module):
    """Multi-head self-attention over the cells of a feature map, with a depthwise positional
    term on the values (YOLO11's PSA block)."""

    def __init__(self, c, heads=2):
        super().__init__()
        self.heads = heads
        self.head_dim = c // heads
        self.key_dim = self.head_dim // 2
        self.scale = self.key_dim ** -0.5
        self.qkv = Conv(c, c + 2 * self.key_dim * heads, 1)
        self.proj = Conv(c, c, 1)
        self.pe = Conv(c, c, 3, g=c)

    def forward(self, x):
        b, c, h, w = x.shape
        n = h * w
        q, k, v = self.qkv(x).view(b, self.heads, self.key_dim * 2 + self.head_dim, n).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = (q.transpose(-2, -1) @ k) * self.scale
        attn = attn.softmax(dim=-1)
        y = (v @ attn.transpose(-2, -1)).view(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(y)


class PSA(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1 = Conv(c, c, 1)
        self.attn = Attention(c // 2)
        self.ffn = nn.Sequential(Conv(c // 2, c, 1), Conv(c, c // 2, 1))
        self.cv2 = Conv(c, c, 1)

    def forward(self, x):
        a, b = self.cv1(x).chunk(2, 1)
        b = b + self.attn(b)
        b = b + self.ffn(b)
        return self.cv2(torch.cat((a, b), 1))


class DFL(nn.Module):
    """The expected distance under a softmax over 16 bins, as a fixed 1×1 convolution."""

    def __init__(self, bins=16):
        super().__init__()
        self.bins = bins
        self.conv = nn.Conv2d(bins, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(bins, dtype=torch.float).view(1, bins, 1, 1)

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.bins, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Detect(nn.Module):
    def __init__(self, nc, channels, strides, dw=False):
        super().__init__()
        self.nc = nc
        self.bins = 16
        self.no = nc + 4 * self.bins
        self.strides = strides
        c2 = max(16, channels[0] // 4, 4 * self.bins)
        c3 = max(channels[0], min(nc, 100))
        self.box = nn.ModuleList(
            nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.bins, 1)) for c in channels)
        if dw:
            self.cls = nn.ModuleList(
                nn.Sequential(Conv(c, c, 3, g=c), Conv(c, c3, 1), Conv(c3, c3, 3, g=c3), Conv(c3, c3, 1),
                              nn.Conv2d(c3, nc, 1)) for c in channels)
        else:
            self.cls = nn.ModuleList(
                nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in channels)
        self.dfl = DFL(self.bins)

    def forward(self, xs):
        b = xs[0].shape[0]
        anchors, strides = [], []
        outs = []
        for i, x in enumerate(xs):
            _, _, h, w = x.shape
            outs.append(torch.cat((self.box[i](x), self.cls[i](x)), 1).view(b, self.no, -1))
            sy, sx = torch.meshgrid(torch.arange(h, dtype=torch.float) + 0.5,
                                    torch.arange(w, dtype=torch.float) + 0.5, indexing="ij")
            anchors.append(torch.stack((sx, sy), -1).view(-1, 2))
            strides.append(torch.full((h * w, 1), float(self.strides[i])))
        anchors = torch.cat(anchors).transpose(0, 1).unsqueeze(0)
        strides = torch.cat(strides).transpose(0, 1)
        x = torch.cat(outs, 2)
        box, cls = x.split((4 * self.bins, self.nc), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        x1y1 = anchors - lt
        x2y2 = anchors + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class Tiny(nn.Module):
    def __init__(self, kind):
        super().__init__()
        nc = len(names_of(kind))
        w = (16, 32, 64, 128, 256) if kind == "v8n" else (16, 32, 64, 96, 128)
        r = (1, 2, 2, 1) if kind == "v8n" else (1, 1, 1, 1)
        self.stem = nn.Sequential(Conv(3, w[0], 3, 2), Conv(w[0], w[1], 3, 2), C2f(w[1], w[1], r[0]))
        self.p3 = nn.Sequential(Conv(w[1], w[2], 3, 2), C2f(w[2], w[2], r[1]))
        self.p4 = nn.Sequential(Conv(w[2], w[3], 3, 2), C2f(w[3], w[3], r[2]))
        tail = [Conv(w[3], w[4], 3, 2), C2f(w[4], w[4], r[3]), SPPF(w[4], w[4])]
        if kind == "v11":
            tail.append(PSA(w[4]))
        self.p5 = nn.Sequential(*tail)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.n4 = C2f(w[4] + w[3], w[3], shortcut=False)
        self.n3 = C2f(w[3] + w[2], w[2], shortcut=False)
        self.d3 = Conv(w[2], w[2], 3, 2)
        self.n4b = C2f(w[2] + w[3], w[3], shortcut=False)
        self.d4 = Conv(w[3], w[3], 3, 2)
        self.n5 = C2f(w[3] + w[4], w[4], shortcut=False)
        self.detect = Detect(nc, (w[2], w[3], w[4]), (8, 16, 32), dw=kind == "v11")

    def forward(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        n4 = self.n4(torch.cat((self.up(p5), p4), 1))
        o3 = self.n3(torch.cat((self.up(n4), p3), 1))
        o4 = self.n4b(torch.cat((self.d3(o3), n4), 1))
        o5 = self.n5(torch.cat((self.d4(o4), p5), 1))
        return self.detect([o3, o4, o5])


class V5Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1 = Conv(c, c, 1)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        c = c2 // 2
        self.cv1 = Conv(c1, c, 1)
        self.cv2 = Conv(c1, c, 1)
        self.cv3 = Conv(2 * c, c2, 1)
        self.m = nn.Sequential(*(V5Bottleneck(c, shortcut) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


# YOLOv5's default anchors (pixels), three per level
ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


class V5Detect(nn.Module):
    def __init__(self, nc, channels, strides):
        super().__init__()
        self.nc, self.na, self.no = nc, 3, nc + 5
        self.strides = strides
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1) for c in channels)

    def forward(self, xs):
        z = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            b, _, h, w = x.shape
            x = x.view(b, self.na, self.no, h, w).permute(0, 1, 3, 4, 2).contiguous()
            gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float), torch.arange(w, dtype=torch.float),
                                    indexing="ij")
            grid = torch.stack((gx, gy), 2).expand(1, self.na, h, w, 2) - 0.5
            anchor = torch.tensor(ANCHORS[i], dtype=torch.float).view(1, self.na, 1, 1, 2).expand(1, self.na, h, w, 2)
            xy, wh, conf = x.sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + grid) * self.strides[i]
            wh = (wh * 2) ** 2 * anchor
            z.append(torch.cat((xy, wh, conf), 4).view(b, self.na * h * w, self.no))
        return torch.cat(z, 1)


class TinyV5(nn.Module):
    def __init__(self, nc=len(NAMES)):
        super().__init__()
        self.stem = nn.Sequential(Conv(3, 16, 6, 2, p=2), Conv(16, 32, 3, 2), C3(32, 32))
        self.p3 = nn.Sequential(Conv(32, 64, 3, 2), C3(64, 64, 2))
        self.p4 = nn.Sequential(Conv(64, 96, 3, 2), C3(96, 96))
        self.p5 = nn.Sequential(Conv(96, 128, 3, 2), C3(128, 128), SPPF(128, 128))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h10 = Conv(128, 96, 1)
        self.h13 = C3(192, 96, shortcut=False)
        self.h14 = Conv(96, 64, 1)
        self.h17 = C3(128, 64, shortcut=False)
        self.h18 = Conv(64, 64, 3, 2)
        self.h20 = C3(128, 96, shortcut=False)
        self.h21 = Conv(96, 96, 3, 2)
        self.h23 = C3(192, 128, shortcut=False)
        self.detect = V5Detect(nc, (64, 96, 128), (8, 16, 32))

    def forward(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        x10 = self.h10(p5)
        x14 = self.h14(self.h13(torch.cat((self.up(x10), p4), 1)))
        o3 = self.h17(torch.cat((self.up(x14), p3), 1))
        o4 = self.h20(torch.cat((self.h18(o3), x14), 1))
        o5 = self.h23(torch.cat((self.h21(o4), x10), 1))
        return self.detect([o3, o4, o5])


def build(kind, seed=1234):
    torch.manual_seed(seed)
    model = TinyV5() if kind == "v5" else Tiny(kind)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, nn.Conv2d) and m.weight.requires_grad:
                nn.init.kaiming_normal_(m.weight)   # signals that survive the depth
        # scores and boxes that differ from cell to cell, few cells over the threshold, as in a
        # trained detector
        if kind == "v5":
            for conv in model.detect.m:
                conv.weight.mul_(6)
                bias = conv.bias.view(3, -1)
                bias[:, :4].fill_(0.0)
                bias[:, 4].fill_(-1.0)
                bias[:, 5:].fill_(-0.5)
            return model.eval()
        for seq in model.detect.cls:
            seq[-1].bias.fill_(-2.5 if kind == "v11" else -4.0)
            seq[-1].weight.mul_(15)
        for seq in model.detect.box:
            seq[-1].weight.mul_(10)
    return model.eval()


def export(out_dir, opset, kind, size):
    import onnx
    model = build(kind)
    torch.save({"kind": kind, "state": model.state_dict()}, f"{out_dir}/model.pt")
    path = f"{out_dir}/model.onnx"
    torch.onnx.export(model, torch.zeros(1, 3, size, size), path, opset_version=opset,
                      input_names=["images"], output_names=["output0"], do_constant_folding=True)
    m = onnx.load(path)
    meta = {"description": f"Quorum test model ({kind})", "author": "Quorum tests", "stride": "32",
            "task": "detect", "batch": "1", "imgsz": f"[{size}, {size}]", "names": repr(names_of(kind))}
    for k, v in meta.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(m, path)


def box_iou(a, b):
    x1 = np.maximum(a[0], b[:, 0])
    y1 = np.maximum(a[1], b[:, 1])
    x2 = np.minimum(a[2], b[:, 2])
    y2 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a + area_b - inter)


def run(out_dir, input_path, size, conf, iou):
    saved = torch.load(f"{out_dir}/model.pt")
    model = build(saved["kind"])
    model.load_state_dict(saved["state"])
    x = np.fromfile(input_path, dtype=np.float32).reshape(size, size, 3)
    with torch.no_grad():
        y = model(torch.from_numpy(x).permute(2, 0, 1).unsqueeze(0).contiguous())
    y.numpy().astype(np.float32).tofile(f"{out_dir}/raw.f32")
    if saved["kind"] == "v5":
        p = y[0].numpy()                     # N × (5 + C): centre, size, objectness, classes
        p = p[p[:, 4] > conf]
        scores = p[:, 5:] * p[:, 4:5]
    else:
        p = y[0].numpy().T                   # N × (4 + C)
        scores = p[:, 4:]
    best = scores.argmax(1)
    score = scores.max(1)
    keep = score > conf
    p, best, score = p[keep], best[keep], score[keep]
    xyxy = np.stack((p[:, 0] - p[:, 2] / 2, p[:, 1] - p[:, 3] / 2, p[:, 0] + p[:, 2] / 2, p[:, 1] + p[:, 3] / 2), 1)
    offset = xyxy + best[:, None] * 7680.0   # class-wise: each class far from the others
    order = np.argsort(-score, kind="stable")
    kept = []
    while order.size and len(kept) < 300:
        i = order[0]
        kept.append(i)
        rest = order[1:]
        order = rest[box_iou(offset[i], offset[rest]) <= iou]
    dets = [{"class": int(best[i]), "score": float(score[i]), "box": [float(v) for v in xyxy[i]]} for i in kept]
    with open(f"{out_dir}/detections.json", "w") as f:
        json.dump(dets, f)


def time_model(out_dir, input_path, size, repeat, threads):
    """The network alone (no decoding), as Quorum's network-only line: median ms per image."""
    import time
    torch.set_num_threads(threads)
    saved = torch.load(f"{out_dir}/model.pt")
    model = build(saved["kind"])
    model.load_state_dict(saved["state"])
    x = torch.from_numpy(np.fromfile(input_path, dtype=np.float32).reshape(size, size, 3)).permute(2, 0, 1)
    x = x.unsqueeze(0).contiguous()
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeat):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    print(f"ms_per_image {sorted(times)[len(times) // 2]:.3f}")


def letterbox(w, h, size):
    r = min(size / h, size / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (size - nw) / 2, (size - nh) / 2
    print(json.dumps({"w": nw, "h": nh, "left": int(round(dw - 0.1)), "top": int(round(dh - 0.1))}))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "time":
        time_model(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "letterbox":
        letterbox(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
