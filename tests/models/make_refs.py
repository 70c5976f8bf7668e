#!/usr/bin/python3
"""make_refs.py — builds ONNX-Runtime reference data for the reference models, in ONNX backend-test layout
(OUT/refs/NAME/model.onnx + test_data_set_N/{input,output}_K.pb), so `wasmind nn test` checks them, plus raw
copies (*.wmt) the WASI-NN test guest reads. Inputs are seeded; outputs come from onnxruntime-node.
Usage: make_refs.py MODELS_DIR"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
# wasi-nn tensor types (current witx numbering) for the raw .wmt files the guest reads
WASI_NN_TYPE = {np.float16: 0, np.float32: 1, np.float64: 2, np.uint8: 3, np.int32: 4, np.int64: 5}


def image_like(rng, shape):
    """Smooth, image-like values in roughly the normalised range, not white noise (which saturates detectors)."""
    n, c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty(shape, np.float32)
    for b in range(n):
        for ch in range(c):
            fx, fy, ph = rng.uniform(0.01, 0.2, 3)
            out[b, ch] = np.sin(xx * fx + ph) * np.cos(yy * fy) + 0.3 * rng.standard_normal((h, w))
    return out


def cases(name, rng):
    """Yields lists of (input_name, array) — one list per test_data_set. None for a state carried from ORT."""
    if name in ("mobilenet_v2", "resnet50", "squeezenet1_1", "efficientnet_b0"):
        yield [("input", image_like(rng, (1, 3, 224, 224)))]
    elif name == "bert_encoder":
        ids = rng.integers(0, 30522, (1, 128)).astype(np.int64)
        mask = np.ones((1, 128), np.int64)
        mask[0, 100:] = 0
        types = np.zeros((1, 128), np.int64)
        types[0, 64:] = 1
        yield [("input_ids", ids), ("attention_mask", mask), ("token_type_ids", types)]
    elif name == "ppocr_det":
        yield [("x", image_like(rng, (1, 3, 640, 640)))]
    elif name == "ppocr_rec":
        yield [("x", image_like(rng, (1, 3, 48, 320)))]
    elif name == "ppocr_cls":
        yield [("x", image_like(rng, (1, 3, 48, 192)))]
    elif name == "silero_vad_v5":
        # three consecutive chunks of a voiced-like signal; the state of chunk i+1 is ORT's stateN of chunk i
        t = np.arange(3 * 512) / 16000.0
        sig = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) +
               0.02 * rng.standard_normal(t.shape)).astype(np.float32)
        for i in range(3):
            state = np.zeros((2, 1, 128), np.float32) if i == 0 else None
            yield [("input", sig[i * 512:(i + 1) * 512].reshape(1, 512)), ("state", state),
                   ("sr", np.array(16000, np.int64))]


MODELS = ["mobilenet_v2", "resnet50", "squeezenet1_1", "efficientnet_b0", "bert_encoder",
          "ppocr_det", "ppocr_rec", "ppocr_cls", "silero_vad_v5"]


def write_wmt(path, arr):
    """Raw tensor for the guest: u32 wasi-nn type, u32 rank, u32 dims[rank], then little-endian data."""
    with open(path, "wb") as f:
        f.write(struct.pack("<II", WASI_NN_TYPE[arr.dtype.type], arr.ndim))
        f.write(struct.pack("<%dI" % arr.ndim, *arr.shape))
        f.write(np.ascontiguousarray(arr).tobytes())


def main():
    models = os.path.abspath(sys.argv[1])
    node_path = os.path.join(models, "ort", "node_modules")
    for name in MODELS:
        src = os.path.join(models, name + ".onnx")
        ref = os.path.join(models, "refs", name)
        if not os.path.exists(src):
            print(f"make_refs: {src} missing", file=sys.stderr)
            sys.exit(1)
        if os.path.exists(os.path.join(ref, "done")):
            continue
        shutil.rmtree(ref, ignore_errors=True)
        os.makedirs(ref)
        os.symlink(os.path.realpath(src), os.path.join(ref, "model.onnx"))
        rng = np.random.default_rng(1234)
        carried = None
        for i, feeds in enumerate(cases(name, rng)):
            d = os.path.join(ref, f"test_data_set_{i}")
            os.makedirs(d)
            feeds = [(n, carried if a is None else a) for n, a in feeds]
            req = {"model": src, "inputs": []}
            for k, (n, a) in enumerate(feeds):
                with open(os.path.join(d, f"input_{k}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(a, n).SerializeToString())
                write_wmt(os.path.join(d, f"input_{k}.wmt"), a)
                a.tofile(os.path.join(d, f"input_{k}.bin"))
                req["inputs"].append({"name": n, "type": str(a.dtype), "dims": list(a.shape),
                                      "file": os.path.join(d, f"input_{k}.bin")})
            req["outdir"] = d
            env = dict(os.environ, NODE_PATH=node_path)
            res = subprocess.run(["node", os.path.join(HERE, "ort_ref.mjs")], input=json.dumps(req), text=True,
                                 capture_output=True, env=env)
            if res.returncode:
                print(res.stderr, file=sys.stderr)
                sys.exit(f"make_refs: onnxruntime failed on {name}")
            for k, o in enumerate(json.loads(res.stdout)):
                a = np.fromfile(o["file"], dtype=o["type"]).reshape(o["dims"])
                with open(os.path.join(d, f"output_{k}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(a, o["name"]).SerializeToString())
                os.rename(o["file"], os.path.join(d, f"output_{k}.bin"))
                if name == "silero_vad_v5" and o["name"] == "stateN":
                    carried = a
            for k in range(len(feeds)):
                os.remove(os.path.join(d, f"input_{k}.bin"))
        open(os.path.join(ref, "done"), "w").close()
        print(f"make_refs: {name}: reference outputs from onnxruntime-node")


if __name__ == "__main__":
    main()
