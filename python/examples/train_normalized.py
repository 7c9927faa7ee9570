"""Channel statistics with specnorm, then a small PyTorch model on normalized features.

    pip install ./python torch
    python python/examples/train_normalized.py                 # generates a toy dataset
    python python/examples/train_normalized.py --data ESC-50-master --seconds 5

Without --data it writes a small ESC-50-layout dataset (3 classes: a low tone, a high
tone, noise bursts; 5 folds) into a temporary folder. Fold 1 is the validation fold:
the statistics come from folds 2-5 only.
"""

import argparse
import pathlib
import tempfile
import wave

import numpy as np
import torch
from torch import nn

import specnorm
import specnorm.torch


def make_toy_dataset(root, per_class_per_fold=6, sample_rate=22_050, seconds=1.0):
    rng = np.random.default_rng(0)
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    for fold in range(1, 6):
        for target, category in enumerate(["low_tone", "high_tone", "noise"]):
            for k in range(per_class_per_fold):
                if category == "noise":
                    x = rng.normal(0, 1, t.size) * (rng.uniform(size=t.size) < 0.3)
                else:
                    f0 = rng.uniform(200, 400) if category == "low_tone" else rng.uniform(2000, 4000)
                    x = np.sin(2 * np.pi * f0 * t) + 0.1 * rng.normal(size=t.size)
                x = x * rng.uniform(0.05, 0.9) / max(np.abs(x).max(), 1e-9)
                name = f"{fold}-{target}{k:03d}-A-{target}.wav"
                with wave.open(str(root / "audio" / name), "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(sample_rate)
                    w.writeframes((x * 32767).astype("<i2").tobytes())
                rows.append(f"{name},{fold},{target},{category},False,{name},A")
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return root


def model(n_classes):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, n_classes),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=pathlib.Path, help="ESC-50-layout folder (default: a generated toy set)")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    data = a.data or make_toy_dataset(pathlib.Path(tmp.name) / "toy")
    valid_fold = 1

    # 1. exact per-channel statistics of the training folds only (streamed in batches)
    folds = sorted({c[1] for c in specnorm.list_clips(data)})
    train_folds = [f for f in folds if f != valid_fold]
    fx = specnorm.FeatureExtractor(seconds=a.seconds)
    acc = specnorm.StatsAccumulator("channel")
    paths = [c[0] for c in specnorm.list_clips(data, train_folds)]
    for i in range(0, len(paths), 64):
        acc.update(fx.extract(paths[i : i + 64]))  # [B, F, T], all cores, GIL released
    stats = acc.finalize()
    print(f"stats: {len(paths)} clips of folds {train_folds}, mean {stats.mean.min():.1f}..{stats.mean.max():.1f} dB, "
          f"std {stats.std.min():.1f}..{stats.std.max():.1f} dB")
    # 2. the normalizer: (x - mean) / std per frequency bin
    norm = specnorm.Normalizer.from_stats(stats)
    train = specnorm.torch.Dataset(data, train_folds, norm, extractor=fx)
    valid = specnorm.torch.Dataset(data, [valid_fold], norm, extractor=fx)
    n_classes = max(train.targets) + 1
    loader = torch.utils.data.DataLoader(train, batch_size=16, shuffle=True, num_workers=a.workers)
    valid_loader = torch.utils.data.DataLoader(valid, batch_size=32, num_workers=a.workers)

    # 3. train a small CNN on the normalized [1, F, T] spectrograms
    torch.manual_seed(0)
    net = model(n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for epoch in range(a.epochs):
        net.train()
        total, seen = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            total, seen = total + loss.item() * len(y), seen + len(y)
        net.eval()
        with torch.no_grad():
            correct = sum((net(x).argmax(1) == y).sum().item() for x, y in valid_loader)
        print(f"epoch {epoch + 1}: train loss {total / seen:.3f}, validation accuracy {correct / len(valid):.1%}")


if __name__ == "__main__":
    main()
