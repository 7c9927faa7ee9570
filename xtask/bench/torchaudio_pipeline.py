"""torchaudio reference for `cargo xtask bench`: the same feature pipeline on the same clips.

soundfile load -> mix to mono -> torchaudio Resample(orig, 16000) -> (x - mean) / std
-> Spectrogram(n_fft=400, hop=200, power 2) -> AmplitudeToDB, torch on 2 threads.
Usage: python torchaudio_pipeline.py CLIP_DIR OUT_JSON
"""
import json
import pathlib
import sys
import time

import soundfile as sf
import torch
import torchaudio

torch.set_num_threads(2)
clip_dir, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
files = sorted(clip_dir.glob("*.wav"))
resamplers = {}
spec = torchaudio.transforms.Spectrogram(n_fft=400, hop_length=200, power=2.0)
to_db = torchaudio.transforms.AmplitudeToDB(stype="power")


def features(path):
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    x = torch.from_numpy(data.mean(axis=1))
    if sr not in resamplers:
        resamplers[sr] = torchaudio.transforms.Resample(sr, 16000)
    x = resamplers[sr](x)
    x = (x - x.mean()) / x.std()
    return to_db(spec(x))


with torch.no_grad():
    features(files[0])  # warm-up: builds the resampling kernel
    t0 = time.perf_counter()
    shape = None
    for f in files:
        shape = tuple(features(f).shape)
    dt = time.perf_counter() - t0
rate = len(files) / dt
json.dump({"tool": f"torchaudio {torchaudio.__version__}", "clips": len(files), "seconds": dt,
           "clips_per_sec": rate, "shape": shape}, open(out, "w"))
print(f"torchaudio {torchaudio.__version__}: {len(files)} clips in {dt:.2f} s = {rate:.1f} clips/s, shape {shape}")
