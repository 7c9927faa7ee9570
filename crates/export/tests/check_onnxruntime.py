"""Checks exported specnorm models with Python's onnx checker and onnxruntime.

Run by the Rust test crates/export/tests/python_check.rs, which writes the models first
(`cargo xtask test` runs it with SPECNORM_PYTHON=.venv/bin/python; see that file for a run by
hand).

For every model named in <dir>/reference.json: onnx.checker.check_model(full_check=True)
(which runs strict shape inference), the metadata props, the input/output signature, and a
run on its input file compared with the tch logits of the same network on specnorm's own
features (max abs diff <= 1e-4, identical argmax). Feature-input models, waveform-input
models (the whole front end in the graph, DFT and Conv STFT) and PCEN are among them.
Exits non-zero on the first failure.
"""
import glob
import json
import os
import sys

import numpy as np
import onnxruntime as ort

import onnx

TOLERANCE = 1e-4


def check(path, x=None, ref=None):
    print(f"== {path} ({os.path.getsize(path)} bytes)")
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    print(f"   onnx.checker full_check: OK (ir_version {m.ir_version}, "
          f"opset {[(o.domain, o.version) for o in m.opset_import]})")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    for k in sorted(meta):
        v = meta[k]
        print(f"   meta {k} = {v if len(v) < 80 else v[:77] + '...'}")
    i, o = sess.get_inputs()[0], sess.get_outputs()[0]
    print(f"   input {i.name} {i.shape} {i.type}; output {o.name} {o.shape} {o.type}")
    if x is not None:
        got = sess.run(None, {i.name: x})[0]
        print(f"   ran on {list(x.shape)} -> {list(got.shape)}")
        if ref is not None:
            want = np.asarray(ref, np.float32).reshape(got.shape)
            diff = float(np.abs(got - want).max())
            same = bool((got.argmax(1) == want.argmax(1)).all())
            print(f"   vs tch: max abs diff {diff:.3e}, argmax identical: {same}")
            assert diff <= TOLERANCE and same, f"{path}: diff {diff}, argmax same {same}"
            return diff


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/specnorm_check"
    print("onnxruntime", ort.__version__, "| onnx", onnx.__version__)
    refs = json.load(open(os.path.join(d, "reference.json")))
    worst = {}
    for name in sorted(refs):
        r = refs[name]
        x = np.fromfile(os.path.join(d, r["input"]), "<f4").reshape(r["shape"])
        worst[name] = check(os.path.join(d, name + ".onnx"), x, r["logits"])
    for path in sorted(glob.glob("data/fixtures/export/*.onnx")):
        try:
            check(path)
        except Exception as e:  # error fixtures are meant to be odd
            print(f"   (expected for error fixtures) {type(e).__name__}: {str(e)[:120]}")
    print("max |logit diff| vs tch per model:",
          ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    print(f"ALL OK ({len(worst)} models)")


if __name__ == "__main__":
    main()
