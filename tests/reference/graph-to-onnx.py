#!/usr/bin/python3
"""graph-to-onnx.py DIR OUT.onnx: a network Quorum exported (`quorum bench detect --export DIR`:
graph.json, constants.bin, input.f32) rebuilt in PyTorch ops by bench/torch-peer.py (on the CPU,
float32, batch 1) and exported by torch.onnx.export at opset 13 — a real pretrained detector
(CenterNet, NanoDet) as an ONNX file that PyTorch wrote, for the ONNX importer to run and match.
Input "x" in the graph's own layout (NHWC); outputs y0, y1… in the graph's output order."""
import importlib.util
import json
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("torch_peer", os.path.join(here, "..", "..", "bench", "torch-peer.py"))
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)


class Wrapped(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return tuple(self.net.run(x))


def main(folder, out):
    graph = json.load(open(os.path.join(folder, "graph.json")))
    blob = open(os.path.join(folder, "constants.bin"), "rb").read()
    shape = graph["tensors"][graph["inputs"][0]]["shape"]
    net = peer.Net(graph, blob, torch.device("cpu"), torch.float32, 1)
    x = torch.from_numpy(np.fromfile(os.path.join(folder, "input.f32"), dtype="<f4")).view(*([1] + list(shape[1:])))
    names = [f"y{i}" for i in range(len(graph["outputs"]))]
    with torch.no_grad():
        torch.onnx.export(Wrapped(net), (x,), out, opset_version=13, input_names=["x"], output_names=names)
    print(json.dumps({"outputs": graph["outputs"], "names": names}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
