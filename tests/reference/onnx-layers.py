#!/usr/bin/python3
"""Small PyTorch networks exported to ONNX for tests/test-onnx.c, with an input batch and
PyTorch's output on it.

  onnx-layers.py convtranspose DIR OPSET → DIR/model.onnx (exported at batch 1), DIR/x.f32 (a batch
      of 2, channels last), DIR/y.f32 (PyTorch's output, channels first)
"""
import sys

import numpy as np
import torch


def convtranspose(out_dir, opset):
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ConvTranspose2d(4, 5, 3, stride=2, padding=1, output_padding=1),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(5, 2, 4, stride=(2, 3), padding=(1, 0), dilation=(1, 2))).eval()
    x = torch.randn(2, 3, 7, 9)
    torch.onnx.export(m, x[:1], f"{out_dir}/model.onnx", opset_version=opset, input_names=["x"], output_names=["y"])
    x.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32).tofile(f"{out_dir}/x.f32")
    with torch.no_grad():
        m(x).numpy().astype(np.float32).tofile(f"{out_dir}/y.f32")


if __name__ == "__main__":
    {"convtranspose": convtranspose}[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
