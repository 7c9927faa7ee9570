"""Dask vs one process: specnorm.dask.dataset_stats with 1 and 2 workers against
specnorm.dataset_stats on generated ESC-50-shaped clips (5 s, 44.1 kHz, 16-bit mono).

    .venv/bin/python python/bench/dask_stats.py [--clips 2000] [--dir target/dask-clips]

Prints wall time and the max relative difference of mean and std (vs the single process).
Each Dask worker is a process with one thread (its Rust pool sized to match); the single
process uses all cores. The clips are generated once and reused.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import make_dataset  # noqa: E402

import distributed  # noqa: E402

import specnorm  # noqa: E402
import specnorm.dask  # noqa: E402


def rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=2000)
    ap.add_argument("--dir", type=pathlib.Path, default=pathlib.Path("target/dask-clips"))
    a = ap.parse_args()
    root = a.dir / f"esc50-{a.clips}"
    if not (root / "meta" / "esc50.csv").exists():
        t0 = time.perf_counter()
        make_dataset(root, per_fold=a.clips // 5, seconds=5.0, rates=(44_100,))
        print(f"generated {a.clips} clips in {time.perf_counter() - t0:.0f} s")
    specnorm.dataset_stats(root, valid_fold=1)  # warm the page cache
    t0 = time.perf_counter()
    ref = specnorm.dataset_stats(root, valid_fold=1)
    single = time.perf_counter() - t0
    rows = [("specnorm.dataset_stats (1 process, all cores)", single, 0.0, 0.0)]
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=40) as cluster, \
                distributed.Client(cluster) as client:
            specnorm.dask.dataset_stats(root, valid_fold=1, client=client, partitions=4)  # warm-up
            t0 = time.perf_counter()
            s = specnorm.dask.dataset_stats(root, valid_fold=1, client=client)
            dt = time.perf_counter() - t0
        assert s.count == ref.count
        rows.append((f"specnorm.dask.dataset_stats, {workers} worker(s) x 1 thread", dt,
                     rel(s.mean, ref.mean), rel(s.std, ref.std)))
    n = ref.provenance["clips"]
    print(f"\nchannel statistics of {n} training clips (fold 1 held out of {a.clips}):")
    print("| run | wall s | clips/s | max rel diff mean | max rel diff std |\n|---|---:|---:|---:|---:|")
    for name, t, dm, ds in rows:
        print(f"| {name} | {t:.2f} | {n / t:.0f} | {dm:.1e} | {ds:.1e} |")


if __name__ == "__main__":
    main()
