#!/usr/bin/env python3
"""make_model.py — writes a small, input-sensitive ONNX image classifier for the classify test (pure Python).

The ONNX light models have constant weights, so their scores do not depend on the image; this one does:
data_0 [1,3,224,224] -> AveragePool 16x16/16 -> Flatten -> Gemm(588 -> 1000, seeded pseudo-random) -> Softmax.
Usage: make_model.py OUT.onnx [INPUT_NAME]"""
import struct
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return key(field, 2) + varint(len(b)) + b


def attr_ints(name, vals):   # AttributeProto: name=1, ints=8, type=20 (INTS=7)
    return f_bytes(1, name) + b"".join(f_varint(8, v) for v in vals) + f_varint(20, 7)


def attr_int(name, v):       # i=3, type INT=2
    return f_bytes(1, name) + f_varint(3, v) + f_varint(20, 2)


def node(op, ins, outs, attrs=()):   # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
    return (b"".join(f_bytes(1, i) for i in ins) + b"".join(f_bytes(2, o) for o in outs) +
            f_bytes(3, op + "_" + outs[0]) + f_bytes(4, op) + b"".join(f_bytes(5, a) for a in attrs))


def value_info(name, dims):  # ValueInfoProto{name, TypeProto{tensor_type{elem_type=FLOAT, shape{dim{dim_value}}}}}
    shape = b"".join(f_bytes(1, f_varint(1, d)) for d in dims)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, f_varint(1, 1) + f_bytes(2, shape)))


def tensor(name, dims, vals):  # TensorProto: dims=1, data_type=2, name=8, raw_data=9
    return (b"".join(f_varint(1, d) for d in dims) + f_varint(2, 1) + f_bytes(8, name) +
            f_bytes(9, struct.pack("<%df" % len(vals), *vals)))


def lcg(seed):
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        yield ((seed >> 40) / float(1 << 24)) * 2.0 - 1.0   # uniform [-1, 1)


def main():
    out = sys.argv[1]
    inp = sys.argv[2] if len(sys.argv) > 2 else "data_0"
    nfeat, ncls = 3 * 14 * 14, 1000
    r = lcg(20261125)
    w = [0.3 * next(r) for _ in range(nfeat * ncls)]
    b = [0.1 * next(r) for _ in range(ncls)]
    graph = (f_bytes(1, node("AveragePool", [inp], ["pooled"], [attr_ints("kernel_shape", [16, 16]),
                                                                 attr_ints("strides", [16, 16])])) +
             f_bytes(1, node("Flatten", ["pooled"], ["feat"], [attr_int("axis", 1)])) +
             f_bytes(1, node("Gemm", ["feat", "W", "B"], ["logits"])) +
             f_bytes(1, node("Softmax", ["logits"], ["prob"], [attr_int("axis", 1)])) +
             f_bytes(2, "tiny_classifier") +
             f_bytes(5, tensor("W", [nfeat, ncls], w)) + f_bytes(5, tensor("B", [ncls], b)) +
             f_bytes(11, value_info(inp, [1, 3, 224, 224])) + f_bytes(12, value_info("prob", [1, ncls])))
    model = (f_varint(1, 7) + f_bytes(2, "wasmind-tests") + f_bytes(7, graph) +
             f_bytes(8, f_bytes(1, "") + f_varint(2, 13)))
    with open(out, "wb") as f:
        f.write(model)


if __name__ == "__main__":
    main()
