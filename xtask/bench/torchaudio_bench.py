"""torchaudio side of `cargo xtask bench`: the same front end on the same clips, in the set-ups a
PyTorch user would choose, best of N passes each.

Front end (as specnorm's default): soundfile load -> mix to mono -> torchaudio Resample(sr, 16000)
-> (x - mean) / std -> pad/trim to 5 s -> Spectrogram(n_fft=400, hop=200, power 2) -> AmplitudeToDB.

Measured:
* pipeline, one core: serial loop, torch.set_num_threads(1);
* pipeline, whole machine: serial loop with one intra-op thread per core, and a DataLoader with one
  worker process per core (each worker on one thread); the faster is torchaudio's best;
* stats: per-channel dB mean and population std over the training folds (all but fold 1 of
  meta/esc50.csv), float64 sums, serial (all threads) and DataLoader; best of both. When
  --compare STATS_DIR is given, the result is checked against `specnorm stats` output there.

Usage: python torchaudio_bench.py DATASET_DIR OUT_JSON [--passes P] [--workers W] [--compare DIR]
"""
import argparse
import csv
import json
import os
import pathlib
import time

import numpy as np
import soundfile as sf
import torch
import torchaudio

SR, N_FFT, HOP, SECONDS = 16000, 400, 200, 5.0


class Features:
    """The front end; resampling kernels are planned once per source rate."""

    def __init__(self):
        self.resamplers = {}
        self.spec = torchaudio.transforms.Spectrogram(n_fft=N_FFT, hop_length=HOP, power=2.0)
        self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power")
        self.length = int(round(SECONDS * SR))

    def __call__(self, path):
        data, sr = sf.read(path, dtype="float32", always_2d=True)
        x = torch.from_numpy(data.mean(axis=1))
        if sr != SR:
            if sr not in self.resamplers:
                self.resamplers[sr] = torchaudio.transforms.Resample(sr, SR)
            x = self.resamplers[sr](x)
        x = (x - x.mean()) / x.std()
        if x.shape[0] < self.length:
            x = torch.nn.functional.pad(x, (0, self.length - x.shape[0]))
        x = x[: self.length]
        return self.to_db(self.spec(x))


class Clips(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files
        self.features = Features()

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.features(self.files[i])


def one_thread(_worker_id):
    torch.set_num_threads(1)


def batches(files, workers, batch_size=64):
    """Feature batches [B, F, T]: a DataLoader with `workers` processes, or serial when 0."""
    if workers == 0:
        fx = Features()
        for i in range(0, len(files), batch_size):
            yield torch.stack([fx(f) for f in files[i : i + batch_size]])
        return
    loader = torch.utils.data.DataLoader(
        Clips(files), batch_size=batch_size, num_workers=workers, worker_init_fn=one_thread
    )
    yield from loader


def best_of(passes, fn):
    best = float("inf")
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def drain(files, workers):
    for b in batches(files, workers):
        assert b.shape[1:] == (N_FFT // 2 + 1, int(SECONDS * SR) // HOP + 1), b.shape


def channel_stats(files, workers):
    s = ss = None
    n = 0
    for b in batches(files, workers):
        b = b.double()
        bs, bss = b.sum(dim=(0, 2)), (b * b).sum(dim=(0, 2))
        s, ss = (bs, bss) if s is None else (s + bs, ss + bss)
        n += b.shape[0] * b.shape[2]
    mean = s / n
    return mean, (ss / n - mean * mean).clamp(min=0).sqrt()


def rate(clips, seconds):
    return {"seconds": seconds, "clips_per_sec": clips / seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", type=pathlib.Path)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--compare", type=pathlib.Path)
    a = ap.parse_args()
    with open(a.dataset / "meta" / "esc50.csv") as f:
        rows = list(csv.DictReader(f))
    audio = a.dataset / "audio"
    files = [str(audio / r["filename"]) for r in rows]
    train = [str(audio / r["filename"]) for r in rows if r["fold"] != "1"]
    cores, passes, res = a.workers, max(1, a.passes), {}
    torch.set_grad_enabled(False)
    Features()(files[0])  # warm-up: kernels, page cache

    torch.set_num_threads(1)
    res["one_core"] = rate(len(files), best_of(passes, lambda: drain(files, 0)))
    torch.set_num_threads(cores)
    serial = best_of(passes, lambda: drain(files, 0))
    loader = best_of(passes, lambda: drain(files, cores))
    res["all_cores"] = {
        "serial": rate(len(files), serial),
        "dataloader": rate(len(files), loader),
        "best": "dataloader" if loader < serial else "serial",
        **rate(len(files), min(serial, loader)),
    }
    out = {}
    stats_serial = best_of(passes, lambda: out.update(serial=channel_stats(train, 0)))
    stats_loader = best_of(passes, lambda: out.update(loader=channel_stats(train, cores)))
    res["stats"] = {
        "clips": len(train),
        "serial": {"seconds": stats_serial},
        "dataloader": {"seconds": stats_loader},
        "best": "dataloader" if stats_loader < stats_serial else "serial",
        "seconds": min(stats_serial, stats_loader),
    }
    mean, std = out["loader"]
    if a.compare:
        ours_mean = np.load(a.compare / "stats.mean.npy").reshape(-1)
        ours_std = np.load(a.compare / "stats.std.npy").reshape(-1)
        res["stats"]["max_abs_diff_vs_specnorm_db"] = {
            "mean": float(np.abs(ours_mean - mean.numpy()).max()),
            "std": float(np.abs(ours_std - std.numpy()).max()),
        }
    res.update(tool=f"torchaudio {torchaudio.__version__}", torch=torch.__version__, clips=len(files),
               passes=passes, workers=cores)
    a.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
