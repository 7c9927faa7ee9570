"""`cargo xtask bench --python`: specnorm's Python package vs torchaudio on the same clips.

Runs in .venv-bench (torch 2.11 + torchaudio 2.11 + soundfile, specnorm installed from
python/). On the ESC-50-shaped clips of `specnorm bench` (5 s, 44.1 kHz, 16-bit mono):

* FeatureExtractor.extract in batches of 64 (all cores, GIL released),
* torchaudio (soundfile -> mono -> Resample -> waveform norm -> Spectrogram -> dB, the
  pipeline of xtask/bench/torchaudio_pipeline.py) in a DataLoader with 0 and 2 workers,
* specnorm.torch.Dataset in the same DataLoader with 0 and 2 workers,
* two Python threads calling extract at once, each extractor on one core
  (RAYON_NUM_THREADS=1, in a subprocess): if the GIL serialized them the pair would take
  twice as long as one call.

Usage: python bench.py CLIP_DIR OUT_JSON [--passes N] [--clips N]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

BATCH = 64


def best_of(passes, fn):
    best = float("inf")
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


class TorchaudioClips:
    """The torchaudio reference pipeline as a map-style Dataset."""

    def __init__(self, files):
        self.files = files
        self.resamplers = {}

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        import soundfile as sf
        import torch
        import torchaudio

        data, sr = sf.read(self.files[i], dtype="float32", always_2d=True)
        x = torch.from_numpy(data.mean(axis=1))
        if sr not in self.resamplers:
            self.resamplers[sr] = torchaudio.transforms.Resample(sr, 16000)
            self.spec = torchaudio.transforms.Spectrogram(n_fft=400, hop_length=200, power=2.0)
            self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power")
        with torch.no_grad():
            x = self.resamplers[sr](x)
            x = (x - x.mean()) / x.std()
            return self.to_db(self.spec(x))[None], 0


def esc50_view(files, root):
    """An ESC-50-layout folder over the clips (symlinks + meta/esc50.csv)."""
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for k, f in enumerate(files):
        (root / "audio" / f.name).symlink_to(f.resolve())
        rows.append(f"{f.name},{k % 5 + 1},{k % 2},{'a' if k % 2 == 0 else 'b'},False,{k},A")
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")


def loader_rate(dataset, workers, passes):
    import torch

    loader = torch.utils.data.DataLoader(
        dataset, batch_size=BATCH, num_workers=workers, persistent_workers=workers > 0
    )
    n = len(dataset)

    def run():
        got = sum(x.shape[0] for x, _ in loader)
        assert got == n

    run()  # warm-up: starts the workers, builds resampling kernels
    return n / best_of(passes, run)


def threads_demo(files, passes):
    """Run in a subprocess with RAYON_NUM_THREADS=1: one call vs two concurrent calls."""
    import specnorm

    fx = specnorm.FeatureExtractor()
    assert specnorm.num_threads() == 1
    fx.extract(files[:4])
    one = best_of(passes, lambda: fx.extract(files))

    def two():
        ts = [threading.Thread(target=fx.extract, args=(files,)) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    pair = best_of(passes, two)
    # The GIL itself: while extract runs in one thread, how long is the other one stalled?
    t = threading.Thread(target=fx.extract, args=(files,))
    t.start()
    stall, last = 0.0, time.perf_counter()
    while t.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        stall, last = max(stall, now - last), now
    t.join()
    print(json.dumps({"one_call_s": one, "two_threads_s": pair, "max_stall_s": stall}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clip_dir", type=pathlib.Path)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--clips", type=int, default=0, help="use the first N clips (0: all)")
    ap.add_argument("--threads-demo", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    files = sorted(a.clip_dir.glob("clip*.wav"))
    if a.clips:
        files = files[: a.clips]
    if a.threads_demo:
        return threads_demo(files[: min(64, len(files))], a.passes)

    import torch
    import torchaudio

    import specnorm
    import specnorm.torch

    torch.set_num_threads(2)
    fx = specnorm.FeatureExtractor()
    n = len(files)
    fx.extract(files[:BATCH])

    def extract_all():
        # each batch is dropped before the next, as a training loop (and the DataLoader rows
        # below) consume them; keeping all 2000 arrays alive would measure page faults instead
        for i in range(0, n, BATCH):
            fx.extract(files[i : i + BATCH])

    t = best_of(a.passes, extract_all)
    rates = {"specnorm extract, batches of 64": n / t}
    ta = TorchaudioClips(files)
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "esc50"
        esc50_view(files, root)
        # The view's audio/ holds symlinks to the clips elsewhere.
        sn = specnorm.torch.Dataset(root, allow_outside_root=True)
        for w in (0, 2):
            rates[f"torchaudio, DataLoader {w} workers"] = loader_rate(ta, w, a.passes)
            rates[f"specnorm.torch.Dataset, DataLoader {w} workers"] = loader_rate(sn, w, a.passes)

    env = dict(os.environ, RAYON_NUM_THREADS="1")
    demo = subprocess.run(
        [sys.executable, __file__, str(a.clip_dir), str(a.out), "--passes", str(a.passes), "--threads-demo",
         "--clips", str(len(files))],
        env=env, check=True, capture_output=True, text=True,
    )
    threads = json.loads(demo.stdout.strip().splitlines()[-1])

    best_ta = max(v for k, v in rates.items() if k.startswith("torchaudio"))
    print(f"\nPython feature pipeline on {n} ESC-50-shaped clips (5 s, 44.1 kHz), "
          f"torchaudio {torchaudio.__version__}, {os.cpu_count()} cores:")
    print(f"| set-up | clips/s | vs best torchaudio |\n|---|---:|---:|")
    for k, v in rates.items():
        print(f"| {k} | {v:.0f} | {v / best_ta:.2f}x |")
    print(f"\ntwo Python threads calling extract at once (one core each, {64} clips per call): "
          f"one call {threads['one_call_s']:.2f} s, both threads together {threads['two_threads_s']:.2f} s "
          f"(serialized would be {2 * threads['one_call_s']:.2f} s; "
          f"overlap factor {2 * threads['one_call_s'] / threads['two_threads_s']:.2f} of 2); "
          f"longest stall of another Python thread during a call: {1e3 * threads['max_stall_s']:.1f} ms")
    a.out.write_text(json.dumps({"clips": n, "clips_per_sec": rates, "threads": threads,
                                 "torchaudio": torchaudio.__version__}, indent=2))


if __name__ == "__main__":
    main()
