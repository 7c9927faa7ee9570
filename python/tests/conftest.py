"""Shared fixtures: WAV writing and a small generated ESC-50-layout dataset."""

import os
import pathlib
import struct

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "data" / "fixtures"


def write_wav(path, samples, sample_rate, fmt="pcm16"):
    """Mono WAV: 16-bit PCM or 32-bit float (WAVE_FORMAT_IEEE_FLOAT)."""
    x = np.asarray(samples, dtype=np.float64)
    if fmt == "pcm16":
        data = (np.clip(x, -1, 1) * 32767).round().astype("<i2").tobytes()
        tag, bits = 1, 16
    else:
        data = x.astype("<f4").tobytes()
        tag, bits = 3, 32
    block = bits // 8
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, tag, 1, sample_rate, sample_rate * block, block, bits)
    header += b"data" + struct.pack("<I", len(data))
    pathlib.Path(path).write_bytes(header + data)


def clip(seed, sample_rate=44_100, seconds=1.0):
    """An ESC-50-like clip: a few partials with an envelope, noise, a random gain."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    f0 = rng.uniform(80, 2000)
    tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    env = np.abs(np.sin(t * 1.3 + rng.uniform(0, 3)))
    return rng.uniform(0.05, 0.8) * (0.5 * tone * env + rng.uniform(0.001, 0.05) * rng.uniform(-1, 1, t.size))


def make_dataset(root, per_fold=3, folds=5, seconds=1.0, rates=(44_100, 22_050)):
    """ESC-50 layout: meta/esc50.csv + audio/*.wav, `per_fold` clips per fold."""
    root = pathlib.Path(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(exist_ok=True)
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    k = 0
    for fold in range(1, folds + 1):
        for j in range(per_fold):
            name = f"{fold}-{k:04d}-A-{j % 2}.wav"
            rate = rates[k % len(rates)]
            write_wav(root / "audio" / name, clip(k, rate, seconds), rate)
            rows.append(f"{name},{fold},{j % 2},{'dog' if j % 2 == 0 else 'rain'},False,{k},A")
            k += 1
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="session")
def esc50(tmp_path_factory):
    """15 one-second clips in 5 folds (44.1 and 22.05 kHz)."""
    return make_dataset(tmp_path_factory.mktemp("esc50"))


def specnorm_bin():
    """The CLI binary: $SPECNORM_BIN (set by `cargo xtask test`) or target/{debug,release}."""
    env = os.environ.get("SPECNORM_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        p = REPO / "target" / profile / "specnorm"
        if p.exists():
            return str(p)
    return None
