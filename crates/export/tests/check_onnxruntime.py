"""Checks exported specnorm models with Python's onnx checker and onnxruntime.

Run by hand (not part of `cargo test`):

    cargo run -p specnorm-export --example export_check_models -- /tmp/specnorm_check
    /tmp/projvenv/bin/python crates/export/tests/check_onnxruntime.py /tmp/specnorm_check

For every <dir>/*.onnx: onnx.checker.check_model(full_check=True) with shape
inference (skipped with a note if the `onnx` package is missing), the metadata
props, the input/output signature, and a run on <dir>/input.f32 compared with
the tch logits in <dir>/reference.json (max abs diff, argmax agreement).
Also loads data/fixtures/export/*.onnx when run from the repository root.
"""
import glob
import json
import os
import sys

import numpy as np
import onnxruntime as ort

try:
    import onnx
except ImportError:  # pragma: no cover
    onnx = None


def check(path, x=None, ref=None):
    print(f"== {path} ({os.path.getsize(path)} bytes)")
    if onnx is not None:
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        print(f"   onnx.checker full_check: OK (ir_version {m.ir_version}, "
              f"opset {[(o.domain, o.version) for o in m.opset_import]})")
    else:
        print("   onnx package not installed: checker skipped")
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
            assert diff <= 1e-4 and same


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/specnorm_check"
    print("onnxruntime", ort.__version__, "| onnx", getattr(onnx, "__version__", "missing"))
    refs = json.load(open(os.path.join(d, "reference.json")))
    x = np.fromfile(os.path.join(d, "input.f32"), "<f4").reshape(refs["shape"])
    for path in sorted(glob.glob(os.path.join(d, "*.onnx"))):
        check(path, x, refs.get(os.path.basename(path)[:-5]))
    for path in sorted(glob.glob("data/fixtures/export/*.onnx")):
        try:
            check(path)
        except Exception as e:  # error fixtures are meant to be odd
            print(f"   (expected for error fixtures) {type(e).__name__}: {str(e)[:120]}")
    print("ALL OK")


if __name__ == "__main__":
    main()
