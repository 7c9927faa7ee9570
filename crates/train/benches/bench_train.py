#!/usr/bin/env python3
"""Plain-PyTorch-eager counterpart of `cargo run --release -p specnorm-train --example bench_train`.

Same models (fastai xresnet18 / the small CNN, same layer layout), same [B, 1, 201, 401]
batches gathered from an in-memory array and copied to the device per step, cross-entropy,
AdamW(betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01), same thread count.

    /tmp/projvenv/bin/python crates/train/benches/bench_train.py [--model small|xresnet18|both]
        [--steps N] [--threads N] [--device cpu|cuda] [--batch N]
"""
import argparse, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def ConvLayer(ni, nf, ks=3, stride=1, zero_bn=False, act=True):
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
        self.convpath = nn.Sequential(ConvLayer(ni, nf, 3, stride=stride),
                                      ConvLayer(nf, nf, 3, zero_bn=True, act=False))
        idpath = [ConvLayer(ni, nf, 1, act=False)] if ni != nf else []
        if stride != 1:
            idpath.insert(0, nn.AvgPool2d(stride, ceil_mode=True))
        self.idpath = nn.Sequential(*idpath)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.convpath(x) + self.idpath(x))


def xresnet18(c_in, n_out):
    stem_szs = [c_in, 32, 32, 64]
    stem = [ConvLayer(stem_szs[i], stem_szs[i + 1], 3, stride=2 if i == 0 else 1) for i in range(3)]
    szs = [64, 64, 128, 256, 512]
    blocks = [nn.Sequential(*[ResBlock(szs[i] if j == 0 else szs[i + 1], szs[i + 1],
                                       stride=(1 if i == 0 else 2) if j == 0 else 1) for j in range(2)])
              for i in range(4)]
    lin = nn.Linear(512, n_out)
    nn.init.kaiming_normal_(lin.weight); nn.init.zeros_(lin.bias)
    return nn.Sequential(*stem, nn.MaxPool2d(3, stride=2, padding=1), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.0), lin)


def small(c_in, n_out):
    ch = [c_in, 16, 32, 64, 128]
    layers = []
    for i in range(4):
        layers += [ConvLayer(ch[i], ch[i + 1], 3, stride=2 if i == 0 else 1), nn.MaxPool2d(2)]
    lin = nn.Linear(128, n_out)
    nn.init.kaiming_normal_(lin.weight); nn.init.zeros_(lin.bias)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), lin)


def run(kind, x, y, batch, steps, device):
    torch.manual_seed(0)
    model = (small if kind == "small" else xresnet18)(1, 10).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    rng = np.random.default_rng(0)

    def step(idx):
        xb = torch.from_numpy(x[idx]).to(device)
        yb = torch.from_numpy(y[idx]).to(device)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    step(np.arange(batch))  # warm-up
    perm = rng.permutation(len(y))
    t0 = time.perf_counter()
    for s in range(steps):
        step(np.sort(perm[s * batch:(s + 1) * batch]))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="both")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device("cuda" if (a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available())) else "cpu")
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(a.batch * a.steps, 1, 201, 401)).astype(np.float32)
    y = (np.arange(a.batch * a.steps) % 10).astype(np.int64)
    kinds = ["small", "xresnet18"] if a.model == "both" else [a.model]
    for kind in kinds:
        sps = run(kind, x, y, a.batch, a.steps, device)
        print(f"pytorch  {kind:<9} device={device} threads={a.threads} batch={a.batch} steps={a.steps}: "
              f"{sps:.2f} samples/s (torch {torch.__version__})")


if __name__ == "__main__":
    main()
