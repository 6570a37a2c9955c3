#!/usr/bin/python3
# The DMSM's loss and gradients computed by PyTorch (float64, autograd), as an oracle for
# tests/test-dmsm.c. Reads the case Quorum wrote (JSON: sizes, vocabulary, image scaling, weights,
# a batch of texts and image rows) and writes the loss and the gradient of every weight.
# Written from the model's description in inference/text/qr-dmsm.h, not from dmsm.c.
import json
import sys

import torch


def trigrams(text):
    words, word = [], ""
    for ch in text.lower() + " ":
        if ch.isalnum():
            word += ch
        else:
            if word:
                words.append(word)
            word = ""
    out = []
    for w in words:
        w = "#" + w + "#"
        out += [w[i:i + 3] for i in range(len(w) - 2)]
    return out


def main():
    case = json.load(open(sys.argv[1]))
    vocab = {t: i for i, t in enumerate(case["vocabulary"])}
    V, D, H, O = len(vocab), case["image_dim"], case["hidden"], case["out_dim"]
    gamma = case["gamma"]
    texts, n = case["texts"], len(case["texts"])
    dt = torch.float64

    bag = torch.zeros(n, V, dtype=dt)
    for i, text in enumerate(texts):
        for t in trigrams(text):
            if t in vocab:
                bag[i, vocab[t]] += 1
    images = torch.tensor(case["images"], dtype=dt).reshape(n, D)
    mean = torch.tensor(case["scale_mean"], dtype=dt)
    std = torch.tensor(case["scale_std"], dtype=dt)
    shapes = {"text.w1": (V, H), "text.b1": (H,), "text.w2": (H, O), "text.b2": (O,),
              "image.w1": (D, H), "image.b1": (H,), "image.w2": (H, O), "image.b2": (O,)}
    p = {k: torch.tensor(case["params"][k], dtype=dt).reshape(s).requires_grad_(True) for k, s in shapes.items()}

    t = torch.tanh(torch.tanh(bag @ p["text.w1"] + p["text.b1"]) @ p["text.w2"] + p["text.b2"])
    x = (images - mean) / std
    v = torch.tanh(torch.tanh(x @ p["image.w1"] + p["image.b1"]) @ p["image.w2"] + p["image.b2"])
    t = torch.nn.functional.normalize(t, dim=1)
    v = torch.nn.functional.normalize(v, dim=1)
    S = gamma * v @ t.T                       # rows: images, columns: captions
    target = torch.arange(n)
    loss = 0.5 * (torch.nn.functional.cross_entropy(S, target) + torch.nn.functional.cross_entropy(S.T, target))
    loss.backward()
    json.dump({"loss": loss.item(), "grads": {k: p[k].grad.reshape(-1).tolist() for k in shapes}},
              open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
