#!/usr/bin/env python3
"""topk.py — prints the top-k (index, score) of a float32 ONNX TensorProto .pb, in the classify guest's format.

Pure Python (no numpy/onnx): reads dims, data_type, float_data (packed or not) and raw_data.
Usage: topk.py FILE.pb [K]   — higher score first, lower index on ties; NaNs skipped."""
import math
import struct
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def parse_tensor(b):
    dims, dtype, floats, raw = [], 1, [], None
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
            if field == 1:
                dims.append(v)
            elif field == 2:
                dtype = v
        elif wt == 1:
            i += 8
        elif wt == 5:
            if field == 4:
                floats.append(struct.unpack_from("<f", b, i)[0])
            i += 4
        elif wt == 2:
            n, i = varint(b, i)
            chunk = b[i:i + n]
            i += n
            if field == 9:
                raw = chunk
            elif field == 4:
                floats.extend(struct.unpack("<%df" % (n // 4), chunk))
            elif field == 1:
                j = 0
                while j < n:
                    v, j = varint(chunk, j)
                    dims.append(v)
        else:
            raise ValueError("unsupported wire type %d" % wt)
    if dtype != 1:
        raise ValueError("tensor type %d is not float32" % dtype)
    if raw is not None:
        floats = list(struct.unpack("<%df" % (len(raw) // 4), raw))
    return dims, floats


def main():
    dims, vals = parse_tensor(open(sys.argv[1], "rb").read())
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    order = sorted((c for c in range(len(vals)) if not math.isnan(vals[c])), key=lambda c: (-vals[c], c))[:k]
    print("top-%d of %d classes:" % (len(order), len(vals)))
    for j, c in enumerate(order):
        print("%d %d %.6g" % (j + 1, c, vals[c]))


if __name__ == "__main__":
    main()
