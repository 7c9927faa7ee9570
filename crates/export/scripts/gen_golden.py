"""Writes the golden ONNX file used by crates/export/tests/golden.rs.

Run by hand (needs onnx, onnxruntime, torch, numpy), from the repository root:

    /tmp/projvenv/bin/python crates/export/scripts/gen_golden.py

It builds, with the *official* onnx Python package (onnx.helper), exactly the
model that the Rust GraphBuilder/assemble_model produce for the tiny network
in golden.rs, validates it with onnx.checker (full_check), and writes

  data/fixtures/export/golden_tiny.onnx           serialized by protobuf itself
  data/fixtures/export/golden_tiny_expected.json  input formula + logits from
                                                  torch (reference) and onnxruntime

The Rust test asserts that its own encoding is byte-identical to this file,
that decoding it and re-encoding gives the same bytes, and that ort computes the
torch logits.
"""
import json
import math
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = ROOT / "data" / "fixtures" / "export"

N_FREQ = 3
MEAN, STD = -40.0, 10.0
conv_w = np.array([(i - 8.0) * 0.125 for i in range(18)], np.float32).reshape(2, 1, 3, 3)
conv_b = np.array([0.5, -0.5], np.float32)
fc_w = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
fc_b = np.array([0.125, -0.25], np.float32)


def init(name, arr):
    arr = np.asarray(arr, np.float32)
    return helper.make_tensor(name, TensorProto.FLOAT, list(arr.shape), arr.tobytes(), raw=True)


def node(op, inputs, out, **attrs):
    return helper.make_node(op, inputs, [out], name=f"{out}__{op}", **attrs)


nodes = [
    node("Sub", ["spectrogram", "norm_mean"], "norm_centered"),
    node("Div", ["norm_centered", "norm_std"], "normalized"),
    node("Conv", ["normalized", "conv.weight", "conv.bias"], "conv",
         dilations=[1, 1], group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
    node("Relu", ["conv"], "conv_relu"),
    node("MaxPool", ["conv_relu"], "mp", ceil_mode=0, kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2]),
    node("AveragePool", ["mp"], "ap", ceil_mode=1, count_include_pad=0, kernel_shape=[2, 2],
         pads=[0, 0, 0, 0], strides=[2, 2]),
    node("GlobalAveragePool", ["ap"], "pooled"),
    node("Flatten", ["pooled"], "flat", axis=1),
    node("Gemm", ["flat", "fc.weight", "fc.bias"], "flat_gemm", alpha=1.0, beta=1.0, transB=1),
    node("Identity", ["flat_gemm"], "logits"),
]
graph = helper.make_graph(
    nodes,
    "specnorm_golden",
    [helper.make_tensor_value_info("spectrogram", TensorProto.FLOAT, ["N", 1, N_FREQ, "T"])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
    initializer=[
        init("norm_mean", np.float32(MEAN)),
        init("norm_std", np.float32(STD)),
        init("conv.weight", conv_w),
        init("conv.bias", conv_b),
        init("fc.weight", fc_w),
        init("fc.bias", fc_b),
    ],
)
model = helper.make_model(
    graph,
    ir_version=8,
    opset_imports=[helper.make_opsetid("", 17)],
    producer_name="specnorm",
    producer_version="golden",
    model_version=1,
    doc_string="specnorm golden audio classifier; input: dB spectrogram [N,1,3,T], "
    "normalization (global) applied in the graph; output: logits [N,2]",
)
props = [
    ("class_names", json.dumps(["a", "b"], separators=(",", ":"))),
    ("sample_rate", "16000"),
    ("feature_config", '{"n_fft":4}'),
    ("n_freq", "3"),
    ("normalization", '{"kind":"global","mean":-40.0,"std":10.0}'),
    ("model_kind", "golden"),
    ("specnorm_version", "golden"),
]
for k, v in props:
    e = model.metadata_props.add()
    e.key, e.value = k, v
onnx.checker.check_model(model, full_check=True)
data = model.SerializeToString()
OUT.mkdir(parents=True, exist_ok=True)
(OUT / "golden_tiny.onnx").write_bytes(data)

# Reference logits for x[i] = -40 + 20 sin(0.37 i), shape [2, 1, 3, 9].
shape = [2, 1, N_FREQ, 9]
x = np.array([-40.0 + 20.0 * math.sin(0.37 * i) for i in range(int(np.prod(shape)))],
             np.float32).reshape(shape)
t = (torch.from_numpy(x) - MEAN) / STD
t = F.relu(F.conv2d(t, torch.from_numpy(conv_w), torch.from_numpy(conv_b), padding=1))
t = F.max_pool2d(t, 2, 2)
t = F.avg_pool2d(t, 2, 2, ceil_mode=True)
t = t.mean(dim=(2, 3))
ref = (t @ torch.from_numpy(fc_w).T + torch.from_numpy(fc_b)).numpy()
sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
got = sess.run(None, {"spectrogram": x})[0]
print("torch:", ref.tolist())
print("onnxruntime:", got.tolist(), "max abs diff", float(np.abs(ref - got).max()))
(OUT / "golden_tiny_expected.json").write_text(json.dumps({
    "input": "x[i] = -40 + 20*sin(0.37*i), i over the flattened row-major shape",
    "shape": shape,
    "logits_torch": ref.tolist(),
    "logits_onnxruntime": got.tolist(),
}, indent=1) + "\n")
print("wrote", OUT / "golden_tiny.onnx", len(data), "bytes")
