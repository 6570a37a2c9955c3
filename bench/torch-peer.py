#!/usr/bin/env python3
"""torch-peer.py: runs a network Quorum exported (qr_model_export: graph.json + constants.bin)
with PyTorch ops on the GPU, as the peer `quorum bench detect --device cuda` times beside itself.

The graph is executed node by node exactly as Quorum's engine defines each op (NHWC semantics);
4-D activations are kept as NCHW tensors in channels_last memory, the layout cuDNN's tensor-core
kernels want, and converted only where an op needs NHWC order (reshape, transpose, slices).
cudnn.benchmark autotunes every convolution. Timed: host input -> GPU -> network -> outputs back in
host memory, per batch. With --check, the outputs of the first batch item are compared with
Quorum's CPU outputs (raw float32 files named after the outputs) and the largest relative
difference printed, so a wrong translation shows up instead of a fast wrong number.

usage: torch-peer.py GRAPH.json CONSTANTS.bin INPUT.f32 --batches 1,64 --precision fp16|tf32|fp32
                     [--repeat R] [--check DIR]
prints one line per batch size, "batch N ms_per_batch X images_per_s Y", then "check NAME REL_DIFF"
lines (from batch 1's outputs). One process for every batch size: importing torch and cuDNN's
autotuning are paid once.
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


class Value:
    """A tensor and whether it is a 4-D NHWC tensor held as NCHW (channels_last)."""
    __slots__ = ("t", "nchw")

    def __init__(self, t, nchw=False):
        self.t = t
        self.nchw = nchw

    def nhwc(self):
        return self.t.permute(0, 2, 3, 1) if self.nchw else self.t

    def as_nchw(self):
        if self.nchw:
            return self.t
        assert self.t.dim() == 4, "NCHW wanted for a tensor of rank %d" % self.t.dim()
        return self.t.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)


def activate(x, act, alpha):
    if act == "none":
        return x
    if act == "relu":
        return F.relu(x)
    if act == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    if act == "leaky_relu":
        return F.leaky_relu(x, alpha)
    if act == "sigmoid":
        return torch.sigmoid(x)
    if act == "hard_swish":
        return alpha * x * torch.clamp(x + 3.0, 0.0, 6.0)
    if act == "swish":
        return F.silu(x)
    if act == "mish":
        return F.mish(x)
    raise ValueError("activation " + act)


class Net:
    def __init__(self, graph, blob, device, dtype, batch):
        self.g = graph
        self.device = device
        self.dtype = dtype
        self.batch = batch
        self.consts = {}
        for name, t in graph["tensors"].items():
            if "offset" in t:
                n = int(np.prod(t["shape"])) if t["shape"] else 1
                arr = np.frombuffer(blob, dtype="<f4", count=n, offset=t["offset"]).reshape(t["shape"] or [])
                self.consts[name] = arr
        self.prepared = {}
        # weights in PyTorch's layout, once
        for node in graph["nodes"]:
            if node["op"] == "conv2d":
                w = self.consts[node["inputs"][1]]                          # H W I O
                self.prepared[node["name"]] = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))).to(
                    device, dtype).contiguous(memory_format=torch.channels_last)
            elif node["op"] == "depthwise":
                w = self.consts[node["inputs"][1]]                          # H W C M
                h, wd, c, m = w.shape
                self.prepared[node["name"]] = torch.from_numpy(
                    np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(c * m, 1, h, wd))).to(device, dtype)
        self.const_values = {k: torch.from_numpy(np.array(v)).to(device, dtype) for k, v in self.consts.items()}

    def shape(self, name):
        return self.g["tensors"][name]["shape"]

    def value(self, env, name):
        if name in env:
            return env[name]
        return Value(self.const_values[name])

    def binary(self, op, a, b):
        fns = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
               "maximum": torch.maximum, "minimum": torch.minimum}
        if a.nchw or b.nchw:
            def conv(v):
                if v.nchw:
                    return v.t
                t = v.t
                while t.dim() < 4:
                    t = t.unsqueeze(0)
                return t.permute(0, 3, 1, 2)
            return Value(fns[op](conv(a), conv(b)), True)
        return Value(fns[op](a.t, b.t))

    def batch_shape(self, shape):
        shape = list(shape)
        if shape:
            shape[0] *= self.batch
        return shape

    def run(self, x):
        env = {self.g["inputs"][0]: Value(x)}
        for node in self.g["nodes"]:
            op, ins, outs = node["op"], node["inputs"], node["outputs"]
            if op == "conv2d" or op == "depthwise":
                v = self.value(env, ins[0]).as_nchw()
                t, b, l, r = node["pads"]
                pad = (0, 0)
                if t == b and l == r:
                    pad = (t, l)
                else:
                    v = F.pad(v, (l, r, t, b))
                bias = self.const_values[ins[2]] if len(ins) > 2 else None
                groups = 1 if op == "conv2d" else v.shape[1]
                y = F.conv2d(v, self.prepared[node["name"]], bias, tuple(node["stride"]), pad, tuple(node["dilation"]),
                             groups)
                env[outs[0]] = Value(activate(y, node["act"], node["alpha"]), True)
            elif op in ("add", "sub", "mul", "div", "maximum", "minimum"):
                env[outs[0]] = self.binary(op, self.value(env, ins[0]), self.value(env, ins[1]))
            elif op == "activation":
                v = self.value(env, ins[0])
                env[outs[0]] = Value(activate(v.t, node["act"], node["alpha"]), v.nchw)
            elif op == "mean":
                v = self.value(env, ins[0]).nhwc()
                env[outs[0]] = Value(torch.mean(v, dim=node["axes"][:node["n_axes"]], keepdim=node["keep_dims"]))
            elif op == "resize":
                v = self.value(env, ins[0]).as_nchw()
                oh, ow = self.shape(outs[0])[1:3]
                if node["nearest"]:
                    mode = "nearest-exact" if node["half_pixel"] else "nearest"
                    if node["align_corners"]:
                        raise ValueError("align_corners nearest resize")
                    y = F.interpolate(v, size=(oh, ow), mode=mode)
                elif node["align_corners"] or node["half_pixel"]:
                    y = F.interpolate(v, size=(oh, ow), mode="bilinear", align_corners=node["align_corners"])
                else:
                    # TF's legacy bilinear: source = destination * in / out
                    h, w = v.shape[2], v.shape[3]
                    fy = torch.arange(oh, device=v.device, dtype=torch.float32) * (h / oh)
                    fx = torch.arange(ow, device=v.device, dtype=torch.float32) * (w / ow)
                    y0 = fy.floor().clamp(max=h - 1).long(); x0 = fx.floor().clamp(max=w - 1).long()
                    y1 = (y0 + 1).clamp(max=h - 1); x1 = (x0 + 1).clamp(max=w - 1)
                    dy = (fy - y0.float()).to(v.dtype).view(1, 1, -1, 1)
                    dx = (fx - x0.float()).to(v.dtype).view(1, 1, 1, -1)
                    top = v[:, :, y0][:, :, :, x0] * (1 - dx) + v[:, :, y0][:, :, :, x1] * dx
                    bottom = v[:, :, y1][:, :, :, x0] * (1 - dx) + v[:, :, y1][:, :, :, x1] * dx
                    y = top * (1 - dy) + bottom * dy
                env[outs[0]] = Value(y.contiguous(memory_format=torch.channels_last), True)
            elif op == "concat":
                vals = [self.value(env, n) for n in ins[:-1]]
                rank = len(self.shape(outs[0]))
                if rank == 4 and node["axis"] == 3:
                    env[outs[0]] = Value(torch.cat([v.as_nchw() for v in vals], 1), True)
                else:
                    env[outs[0]] = Value(torch.cat([v.nhwc() for v in vals], node["axis"]))
            elif op in ("maxpool", "avgpool"):
                v = self.value(env, ins[0]).as_nchw()
                t, b, l, r = node["pads"]
                k, s = tuple(node["kernel"]), tuple(node["stride"])
                if op == "maxpool":
                    v = F.pad(v, (l, r, t, b), value=float("-inf")) if (t or b or l or r) else v
                    y = F.max_pool2d(v, k, s)
                else:
                    ones = torch.ones_like(v[:, :1])
                    if t or b or l or r:
                        v = F.pad(v, (l, r, t, b)); ones = F.pad(ones, (l, r, t, b))
                    y = F.avg_pool2d(v, k, s) / F.avg_pool2d(ones, k, s)
                env[outs[0]] = Value(y, True)
            elif op in ("reshape", "identity", "cast"):
                v = self.value(env, ins[0])
                if op == "reshape":
                    env[outs[0]] = Value(v.nhwc().reshape(self.batch_shape(self.shape(outs[0]))))
                else:
                    env[outs[0]] = v
            elif op == "transpose":
                rank = len(self.shape(outs[0]))
                env[outs[0]] = Value(self.value(env, ins[0]).nhwc().permute(*node["axes"][:rank]))
            elif op == "pad":
                v = self.value(env, ins[0]).nhwc()
                shape_in, shape_out = self.shape(ins[0]), self.shape(outs[0])
                pads = []
                for d in reversed(range(len(shape_in))):
                    before = node["axes"][d]
                    pads += [before, shape_out[d] - shape_in[d] - before]
                value = float(self.consts[ins[2]].reshape(-1)[0]) if len(ins) > 2 else 0.0
                env[outs[0]] = Value(F.pad(v, pads, value=value))
            elif op == "split":
                v = self.value(env, ins[0])
                sizes = [self.shape(o)[node["axis"]] for o in outs]
                if v.nchw and node["axis"] == 3:
                    parts, nchw = torch.split(v.t, sizes, 1), True
                else:
                    parts, nchw = torch.split(v.nhwc(), sizes, node["axis"]), False
                for o, p in zip(outs, parts):
                    env[o] = Value(p, nchw)
            elif op == "slice":
                v = self.value(env, ins[0]).nhwc()
                shape_in = self.shape(ins[0])
                index = []
                for d in range(len(shape_in)):
                    count, begin, step = node["axes"][d], node["begin"][d], node["step"][d]
                    if d == 0 and shape_in[0] == 1 and count == 1:
                        index.append(slice(None))
                    elif step > 0:
                        index.append(slice(begin, begin + count * step, step))
                    else:
                        index.append(torch.arange(begin, begin + count * step, step, device=v.device))
                y = v
                for d, ix in enumerate(index):
                    y = y[(slice(None),) * d + (ix,)]
                env[outs[0]] = Value(y)
            elif op == "softmax":
                env[outs[0]] = Value(torch.softmax(self.value(env, ins[0]).nhwc(), -1))
            elif op == "matmul":
                a, b = self.value(env, ins[0]).t, self.value(env, ins[1]).t
                a = a.t() if node["transpose_a"] else a
                b = b.t() if node["transpose_b"] else b
                env[outs[0]] = Value(a @ b)
            else:
                raise ValueError("no PyTorch translation for op " + op)
        return [env[o].nhwc().contiguous() for o in self.g["outputs"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("graph")
    ap.add_argument("constants")
    ap.add_argument("input")
    ap.add_argument("--batches", default="1")
    ap.add_argument("--precision", default="fp16")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--check")
    args = ap.parse_args()

    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = args.precision != "fp32"
    torch.backends.cudnn.allow_tf32 = args.precision != "fp32"
    device = torch.device("cuda")
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    graph = json.load(open(args.graph))
    blob = open(args.constants, "rb").read()
    shape = graph["tensors"][graph["inputs"][0]]["shape"]
    one = np.fromfile(args.input, dtype="<f4")
    first_outs = None
    for batch in [int(b) for b in args.batches.split(",")]:
        net = Net(graph, blob, device, dtype, batch)
        host = torch.from_numpy(np.tile(one, batch)).pin_memory()
        in_shape = [batch] + list(shape[1:])

        def step():
            x = host.to(device, non_blocking=True).view(*in_shape).to(dtype)
            with torch.inference_mode():
                outs = net.run(x)
            return [o.float().cpu() for o in outs]

        outs = step()
        if first_outs is None:
            first_outs = outs
        for _ in range(3):
            step()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(args.repeat):
            step()
        torch.cuda.synchronize()
        ms = (time.perf_counter() - start) * 1000.0 / args.repeat
        print("batch %d ms_per_batch %.4f images_per_s %.1f" % (batch, ms, batch * 1000.0 / ms))
        sys.stdout.flush()
    if args.check:
        for name, out in zip(graph["outputs"], first_outs):
            path = "%s/%s.f32" % (args.check, name.replace("/", "_"))
            want = np.fromfile(path, dtype="<f4")
            got = out.numpy().reshape(-1)[: want.size]
            rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12))
            print("check %s %.3g" % (name, rel))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
