#!/usr/bin/env python3
"""PyTorch-eager counterpart of `cargo run --release -p specnorm-train --example throughput`.

Same models (fastai xresnet18 / the small CNN: same layers, same init), same random
[B, 1, 201, 401] inputs and labels, cross-entropy, AdamW(betas=(0.9, 0.99), eps=1e-5,
weight_decay=0.01), the same intra-op thread count, and the same measurement: one warm-up
step, then `repeats` runs of `steps` timed steps, best run reported. Three set-ups:

* per-batch copy: each batch gathered from a NumPy array and copied to the device;
* resident: the set uploaded once, batches gathered on the device (`index_select`);
* resident, channels-last: the same with `model.to(memory_format=torch.channels_last)` and
  channels-last inputs.

Run it with the project's `.venv/bin/python` (torch 2.13, the libtorch tch links), e.g.

    .venv/bin/python crates/train/bench/torch_throughput.py --models small,xresnet18 \
        --batch 32 --steps 3 --repeats 3 --threads 2 --json out.json
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_layer(ni, nf, ks=3, stride=1, zero_bn=False, act=True):
    conv = nn.Conv2d(ni, nf, kernel_size=ks, stride=stride, padding=(ks - 1) // 2, bias=False)
    nn.init.kaiming_normal_(conv.weight)
    bn = nn.BatchNorm2d(nf)
    bn.bias.data.fill_(1e-3)
    bn.weight.data.fill_(0.0 if zero_bn else 1.0)
    layers = [conv, bn] + ([nn.ReLU(inplace=True)] if act else [])
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, ni, nf, stride=1):
        super().__init__()
        self.convpath = nn.Sequential(conv_layer(ni, nf, 3, stride=stride),
                                      conv_layer(nf, nf, 3, zero_bn=True, act=False))
        idpath = [conv_layer(ni, nf, 1, act=False)] if ni != nf else []
        if stride != 1:
            idpath.insert(0, nn.AvgPool2d(stride, ceil_mode=True))
        self.idpath = nn.Sequential(*idpath)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.convpath(x) + self.idpath(x))


def xresnet18(c_in, n_out):
    stem_szs = [c_in, 32, 32, 64]
    stem = [conv_layer(stem_szs[i], stem_szs[i + 1], 3, stride=2 if i == 0 else 1)
            for i in range(3)]
    szs = [64, 64, 128, 256, 512]
    blocks = [nn.Sequential(*[ResBlock(szs[i] if j == 0 else szs[i + 1], szs[i + 1],
                                       stride=(1 if i == 0 else 2) if j == 0 else 1)
                              for j in range(2)])
              for i in range(4)]
    lin = nn.Linear(512, n_out)
    nn.init.kaiming_normal_(lin.weight)
    nn.init.zeros_(lin.bias)
    return nn.Sequential(*stem, nn.MaxPool2d(3, stride=2, padding=1), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.0), lin)


def small(c_in, n_out):
    ch = [c_in, 16, 32, 64, 128]
    layers = []
    for i in range(4):
        layers += [conv_layer(ch[i], ch[i + 1], 3, stride=2 if i == 0 else 1), nn.MaxPool2d(2)]
    lin = nn.Linear(128, n_out)
    nn.init.kaiming_normal_(lin.weight)
    nn.init.zeros_(lin.bias)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), lin)


SETUPS = [("per-batch copy", False, False), ("resident", True, False),
          ("resident, channels-last", True, True)]


def measure(kind, x, y, a, device, resident, channels_last):
    """Best samples/s of `repeats` runs of `steps` steps, after one warm-up step."""
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = (small if kind == "small" else xresnet18)(1, 10).to(device).train()
    model = model.to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5,
                            weight_decay=0.01)
    rng = np.random.default_rng(0)
    if resident:
        xd = torch.from_numpy(x).to(device).contiguous(memory_format=fmt)
        yd = torch.from_numpy(y).to(device)

    def batches(perm):
        if resident:
            order = torch.from_numpy(perm).to(device)
            for s in range(a.steps):
                sel = order[s * a.batch:(s + 1) * a.batch]
                yield xd.index_select(0, sel), yd.index_select(0, sel)
        else:
            for s in range(a.steps):
                idx = perm[s * a.batch:(s + 1) * a.batch]
                xb = torch.from_numpy(x[idx]).to(device).contiguous(memory_format=fmt)
                yield xb, torch.from_numpy(y[idx]).to(device)

    def step(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for xb, yb in batches(np.arange(len(y))):  # warm-up: one step
        step(xb, yb)
        break
    runs = []
    for _ in range(max(1, a.repeats)):
        perm = rng.permutation(len(y))
        t0 = time.perf_counter()
        for xb, yb in batches(perm):
            step(xb, yb)
        if device.type == "cuda":
            torch.cuda.synchronize()
        runs.append(a.steps * a.batch / (time.perf_counter() - t0))
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="small,xresnet18")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--freq", type=int, default=201)
    ap.add_argument("--frames", type=int, default=401)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cuda = a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    rng = np.random.default_rng(1)
    n = a.batch * a.steps
    x = rng.uniform(-2, 2, size=(n, 1, a.freq, a.frames)).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int64)
    results = []
    for kind in a.models.split(","):
        if kind not in ("small", "xresnet18"):
            ap.error(f"unknown model {kind!r} (expected small, xresnet18)")
        for name, resident, cl in SETUPS:
            runs = measure(kind, x, y, a, device, resident, cl)
            best = max(runs)
            print(f"pytorch  {kind:<9} {name:<24} {best:8.2f} samples/s "
                  f"(runs {[round(r, 2) for r in runs]})")
            results.append({"model": kind, "setup": name, "samples_per_sec": best, "runs": runs})
    if a.json:
        out = {"tool": f"PyTorch {torch.__version__} eager", "libtorch": torch.__file__,
               "device": str(device), "threads": torch.get_num_threads(), "batch": a.batch,
               "steps": a.steps, "repeats": a.repeats,
               "input": [a.batch, 1, a.freq, a.frames], "results": results}
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
