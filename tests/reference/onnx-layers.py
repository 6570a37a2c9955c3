#!/usr/bin/python3
"""Small PyTorch networks exported to ONNX for tests/test-onnx.c, with an input batch and
PyTorch's output on it.

  onnx-layers.py convtranspose DIR OPSET → DIR/model.onnx (exported at batch 1), DIR/x.f32 (a batch
      of 2, channels last), DIR/y.f32 (PyTorch's output, channels first)
  onnx-layers.py rank5 DIR OPSET → the same for a network whose middle is rank 5 (a view to
      [1, 3, 2, H, W], permute, slices, arithmetic with a rank-5 constant, concat, split), batch 1
  onnx-layers.py rank5-softmax DIR OPSET → a softmax over a rank-5 tensor (Quorum refuses it)
  onnx-layers.py interpolate DIR OPSET → F.interpolate as exported: bicubic by 1.7, bilinear to a
      size with align_corners, nearest by 0.6 (fractional scales), batch 1
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


class Rank5(torch.nn.Module):
    def __init__(self, softmax=False):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.offset = torch.nn.Parameter(torch.randn(1, 3, 5, 7, 1), requires_grad=False)
        self.softmax = softmax

    def forward(self, x):
        b, _, h, w = x.shape
        y = self.conv(x).view(b, 3, 2, h, w).permute(0, 1, 3, 4, 2).contiguous().sigmoid()
        if self.softmax:
            y = y.softmax(-1)
        first, second = y.split((1, 1), 4)
        y = torch.cat((first * 2 + self.offset, second[..., :1] ** 2, y[:, :, 1:2, :, :1].expand(b, 3, h, w, 1)), 4)
        return y.reshape(b, 3 * h * w, 3)


def rank5(out_dir, opset, softmax=False):
    torch.manual_seed(0)
    m = Rank5(softmax).eval()
    x = torch.randn(1, 3, 5, 7)
    torch.onnx.export(m, x, f"{out_dir}/model.onnx", opset_version=opset, input_names=["x"], output_names=["y"])
    x.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32).tofile(f"{out_dir}/x.f32")
    with torch.no_grad():
        m(x).numpy().astype(np.float32).tofile(f"{out_dir}/y.f32")


class Interpolate(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        F = torch.nn.functional
        y = F.interpolate(self.conv(x), scale_factor=1.7, mode="bicubic", align_corners=False)
        y = F.interpolate(y, size=(9, 13), mode="bilinear", align_corners=True)
        return F.interpolate(y, scale_factor=0.6, mode="nearest")


def interpolate(out_dir, opset):
    torch.manual_seed(0)
    m = Interpolate().eval()
    x = torch.randn(1, 3, 7, 10)
    torch.onnx.export(m, x, f"{out_dir}/model.onnx", opset_version=opset, input_names=["x"], output_names=["y"])
    x.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32).tofile(f"{out_dir}/x.f32")
    with torch.no_grad():
        m(x).numpy().astype(np.float32).tofile(f"{out_dir}/y.f32")


if __name__ == "__main__":
    {"convtranspose": convtranspose, "rank5": rank5, "interpolate": interpolate,
     "rank5-softmax": lambda d, o: rank5(d, o, True)}[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
