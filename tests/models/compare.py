#!/usr/bin/python3
"""compare.py — checks wasmind's outputs for one reference model against ONNX Runtime's: elementwise
|ours - ORT| <= 1e-4 + 1e-3*|ORT|, and identical top-5 for classifier logits.
Usage: compare.py LABEL REF_DIR KIND   (KIND: guest -> SET/guest_output_K.bin, nnrun -> SET/nnrun/output_K.pb)
Prints one PASS/FAIL line per test data set."""
import glob
import os
import sys

import numpy as np
from onnx import numpy_helper, TensorProto

ATOL, RTOL = 1e-4, 1e-3


def load_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def main():
    label, ref, kind = sys.argv[1:4]
    failed = 0
    for d in sorted(glob.glob(os.path.join(ref, "test_data_set_*"))):
        problems = []
        for k in range(len(glob.glob(os.path.join(d, "output_*.pb")))):
            want = load_pb(os.path.join(d, f"output_{k}.pb"))
            try:
                if kind == "guest":
                    got = np.fromfile(os.path.join(d, f"guest_output_{k}.bin"), dtype=want.dtype)
                else:
                    got = load_pb(os.path.join(d, "nnrun", f"output_{k}.pb"))
            except (OSError, ValueError) as e:
                problems.append(f"output {k}: {e}")
                continue
            if got.size != want.size:
                problems.append(f"output {k}: {got.size} elements, ORT has {want.size}")
                continue
            got = got.reshape(want.shape)
            err = np.abs(got.astype(np.float64) - want.astype(np.float64))
            bad = err > ATOL + RTOL * np.abs(want.astype(np.float64))
            if bad.any():
                i = np.unravel_index(np.argmax(err), err.shape)
                problems.append(f"output {k}: {int(bad.sum())} of {want.size} outside tolerance, worst at {i}: "
                                f"{got[i]} vs ORT {want[i]}")
            if want.ndim == 2 and want.shape[1] == 1000:  # ImageNet logits: the ranking must agree exactly
                top_got = np.argsort(-got, axis=1)[:, :5]
                top_want = np.argsort(-want, axis=1)[:, :5]
                if not (top_got == top_want).all():
                    problems.append(f"top-5 {top_got.tolist()} vs ORT {top_want.tolist()}")
        name = f"{label} {os.path.basename(d)}"
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            print(f"PASS {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
