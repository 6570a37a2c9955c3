#!/usr/bin/python3
"""The reference for Quorum's CLIP support (tests/test-clip.c): OpenAI's own model.py
(../shared/models/clip/reference, MIT) built small — a ViT image tower and the text transformer —
with seeded weights, exported by torch.onnx.export in the transformers.js layout
(onnx/vision_model.onnx, onnx/text_model.onnx, preprocessor_config.json) and run in PyTorch on the
inputs Quorum prepared.

  clip-onnx.py REFERENCE_DIR export DIR OPSET [dynamic|combined|b32|b32-dynamic]
      b32: at ViT-B/32's real sizes (224 × 224 in patches of 32, 12 layers of width 768 in the image
      tower — 88 M parameters —, 12 of width 512 in the text tower), for the slower test and the
      benchmark; the folder says which (reference.json) for the commands below
      combined: both towers in one graph, onnx/model.onnx, as Hugging Face's combined export has them
      (inputs input_ids and pixel_values; outputs logits_per_image, logits_per_text, text_embeds and
      image_embeds, the embeddings divided by their norms); run and patches then normalise too
  clip-onnx.py REFERENCE_DIR run DIR IMAGE.f32… -- IDS…   (ids: 77 comma-separated token ids per text)
      → one JSON line per image {"embedding": […]} then per text {"embedding": […]}
  clip-onnx.py REFERENCE_DIR patches DIR IMAGE.f32
      → one JSON list per patch: its token through ln_post and the projection
  clip-onnx.py REFERENCE_DIR time DIR IMAGE.f32 REPEAT THREADS [BATCH]
      → "ms_per_image X": the image tower (encode_image) on one prepared image (BATCH copies of it at
        once: the time divided by BATCH), REPEAT timed runs after one warm-up,
        torch.set_num_threads(THREADS), no autograd; the median
  clip-onnx.py REFERENCE_DIR preprocess IMAGE SIZE CROP OUT.f32
      → the image as Hugging Face's CLIPImageProcessor prepares it (Pillow's bicubic resize of the
        shorter side to SIZE, the longer truncated; the centre CROP × CROP; /255; CLIP's mean and
        deviation), channels last
"""
import json
import sys

import numpy as np
import torch

sys.path.insert(0, sys.argv[1])
import model as openai_clip   # noqa: E402

CONFIGS = {
    "small": dict(embed_dim=32, image_resolution=64, vision_layers=2, vision_width=64, vision_patch_size=16,
                  context_length=77, vocab_size=49408, transformer_width=48, transformer_heads=4, transformer_layers=2),
    "b32": dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32,
                context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12),
}


def kind_of(out_dir):
    import os
    path = f"{out_dir}/reference.json"
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)["kind"]
    return "small"


def size_of(out_dir):
    return CONFIGS[kind_of(out_dir)]["image_resolution"]


def build(kind="small"):
    torch.manual_seed(4321)
    m = openai_clip.CLIP(**CONFIGS[kind])
    with torch.no_grad():
        # the layer norms' affine parts away from 1 and 0, so that a wrong one shows
        for mod in m.modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


class Vision(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.encode_image(pixel_values)


class Text(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m.encode_text(input_ids)


class Combined(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, pixel_values):
        image = self.m.encode_image(pixel_values)
        text = self.m.encode_text(input_ids)
        image = image / image.norm(p=2, dim=-1, keepdim=True)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = text @ image.t() * self.m.logit_scale.exp()
        return logits_per_text.t(), logits_per_text, text, image


def combined(out_dir):
    import os
    return os.path.exists(f"{out_dir}/onnx/model.onnx")


def normalised(e):
    return e / e.norm(p=2, dim=-1, keepdim=True)


def export(out_dir, opset, dynamic=False, both=False, kind="small"):
    """dynamic: the batch (and the sequence's length) left symbolic, as Hugging Face's exports do."""
    import os
    m = build(kind)
    SIZE = CONFIGS[kind]["image_resolution"]
    os.makedirs(f"{out_dir}/onnx", exist_ok=True)
    with open(f"{out_dir}/reference.json", "w") as f:
        json.dump({"kind": kind}, f)
    if both:
        torch.onnx.export(Combined(m), (torch.zeros(1, 77, dtype=torch.long), torch.zeros(1, 3, SIZE, SIZE)),
                          f"{out_dir}/onnx/model.onnx", opset_version=opset, input_names=["input_ids", "pixel_values"],
                          output_names=["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"])
    else:
        export_towers(m, out_dir, opset, dynamic)
    with open(f"{out_dir}/preprocessor_config.json", "w") as f:
        json.dump({"crop_size": {"height": SIZE, "width": SIZE}, "do_center_crop": True, "do_normalize": True,
                   "do_resize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                   "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
                   "size": {"shortest_edge": SIZE}}, f)


def export_towers(m, out_dir, opset, dynamic):
    SIZE = size_of(out_dir)
    torch.onnx.export(Vision(m), torch.zeros(1, 3, SIZE, SIZE), f"{out_dir}/onnx/vision_model.onnx",
                      opset_version=opset, input_names=["pixel_values"], output_names=["image_embeds"],
                      dynamic_axes={"pixel_values": {0: "batch"}} if dynamic else None)
    torch.onnx.export(Text(m), torch.zeros(1, 77, dtype=torch.long), f"{out_dir}/onnx/text_model.onnx",
                      opset_version=opset, input_names=["input_ids"], output_names=["text_embeds"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}} if dynamic else None)


def run(out_dir, args):
    m = build(kind_of(out_dir))
    SIZE = size_of(out_dir)
    split = args.index("--")
    with torch.no_grad():
        for path in args[:split]:
            x = np.fromfile(path, dtype=np.float32).reshape(SIZE, SIZE, 3)
            e = m.encode_image(torch.from_numpy(x).permute(2, 0, 1).unsqueeze(0).contiguous())
            if combined(out_dir):
                e = normalised(e)
            print(json.dumps({"embedding": [float(v) for v in e[0]]}))
        for ids in args[split + 1:]:
            t = torch.tensor([[int(v) for v in ids.split(",")]], dtype=torch.long)
            e = m.encode_text(t)
            if combined(out_dir):
                e = normalised(e)
            print(json.dumps({"embedding": [float(v) for v in e[0]]}))


def patches(out_dir, input_path):
    """Every patch token of the image tower through ln_post and the projection (what a phrase map
    compares with a text), from model.py's own modules."""
    m = build(kind_of(out_dir))
    SIZE = size_of(out_dir)
    v = m.visual
    x = np.fromfile(input_path, dtype=np.float32).reshape(SIZE, SIZE, 3)
    with torch.no_grad():
        x = v.conv1(torch.from_numpy(x).permute(2, 0, 1).unsqueeze(0).contiguous())
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = v.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + v.positional_embedding
        x = v.ln_pre(x).permute(1, 0, 2)
        x = v.transformer(x).permute(1, 0, 2)
        y = v.ln_post(x) @ v.proj
        if combined(out_dir):
            y = normalised(y)
    for row in y[0, 1:]:
        print(json.dumps([float(t) for t in row]))


def time_image(out_dir, input_path, repeat, threads, batch=1):
    """The median ms per image of encode_image on `batch` copies of the input at once."""
    import time
    torch.set_num_threads(threads)
    m = build(kind_of(out_dir))
    SIZE = size_of(out_dir)
    x = torch.from_numpy(np.fromfile(input_path, dtype=np.float32).reshape(SIZE, SIZE, 3)).permute(2, 0, 1)
    x = x.unsqueeze(0).repeat(batch, 1, 1, 1).contiguous()
    times = []
    with torch.no_grad():
        m.encode_image(x)
        for _ in range(repeat):
            start = time.perf_counter()
            m.encode_image(x)
            times.append((time.perf_counter() - start) * 1000 / batch)
    print(f"ms_per_image {sorted(times)[len(times) // 2]:.3f}")


def preprocess(image_path, size, crop, out_path):
    from PIL import Image
    img = Image.open(image_path).convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    img = img.resize((nw, nh), Image.BICUBIC)
    top, left = (nh - crop) // 2, (nw - crop) // 2
    x = np.asarray(img, dtype=np.float32)[top:top + crop, left:left + crop] * np.float32(1 / 255)
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
    ((x - mean) / std).astype(np.float32).tofile(out_path)


if __name__ == "__main__":
    if sys.argv[2] == "export":
        variant = sys.argv[5] if len(sys.argv) > 5 else ""
        export(sys.argv[3], int(sys.argv[4]), variant in ("dynamic", "b32-dynamic"), variant == "combined",
               "b32" if variant.startswith("b32") else "small")
    elif sys.argv[2] == "time":
        time_image(sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                   int(sys.argv[7]) if len(sys.argv) > 7 else 1)
    elif sys.argv[2] == "patches":
        patches(sys.argv[3], sys.argv[4])
    elif sys.argv[2] == "preprocess":
        preprocess(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif sys.argv[2] == "run":
        run(sys.argv[3], sys.argv[4:])
    else:
        sys.exit(f"unknown command {sys.argv[2]}")
