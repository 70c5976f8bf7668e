#!/usr/bin/python3
# gen_infer.py — writes the small models of tests/onnx/infer/ used by test_infer.c (load-time type and shape
# inference, cancellation): graphs that must be rejected at load, a dynamic-batch CNN whose dims stay symbolic,
# and Loops with huge trip counts that only a cancel hook (or the guest's deadline) ends.
# Needs python3-onnx: /usr/bin/python3 tests/onnx/gen_infer.py
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "infer")
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def write(name, nodes, inputs, outputs, inits=()):
    """No onnx.checker: the point of most of these is to be invalid, and some outputs leave their shape out."""
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="gen_infer.py")
    m.ir_version = 8
    save(m, os.path.join(OUT, name + ".onnx"))


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def invalid_models():
    write("bad_add_type", [helper.make_node("Add", ["x", "y"], ["z"], name="Add_12")],
          [vi("x", F, [2, 3]), vi("y", I64, [2, 3])], [vi("z", F, None)])
    write("bad_broadcast", [helper.make_node("Add", ["x", "y"], ["z"], name="Add_3")],
          [vi("x", F, [1, 3, 224, 224]), vi("y", F, [1, 4, 1, 1])], [vi("z", F, None)])
    write("bad_broadcast_symbolic", [helper.make_node("Mul", ["x", "y"], ["z"], name="scale")],
          [vi("x", F, ["batch", 3]), vi("y", F, ["batch", 4])], [vi("z", F, None)])
    write("bad_matmul", [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
          [vi("x", F, ["batch", 3])], [vi("y", F, None)], [const("w", np.ones((4, 5), np.float32))])
    write("bad_conv_channels",
          [helper.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])],
          [vi("x", F, ["N", 3, 8, 8])], [vi("y", F, None)], [const("w", np.ones((8, 4, 3, 3), np.float32))])
    write("bad_reshape", [helper.make_node("Reshape", ["x", "s"], ["y"], name="flat")],
          [vi("x", F, [2, 3])], [vi("y", F, None)], [const("s", np.array([4, 2], np.int64))])
    write("bad_concat", [helper.make_node("Concat", ["a", "b"], ["y"], name="cat", axis=1)],
          [vi("a", F, [2, 3]), vi("b", F, [3, 3])], [vi("y", F, None)])
    write("bad_where_type", [helper.make_node("Where", ["c", "a", "b"], ["y"], name="pick")],
          [vi("c", B, [4]), vi("a", F, [4]), vi("b", I64, [4])], [vi("y", F, None)])
    # A type error in an If branch that a constant condition never takes: loads (and runs) fine.
    bad = helper.make_graph([helper.make_node("Add", ["x", "k"], ["r"])], "else", [], [vi("r", F, None)],
                            initializer=[const("k", np.array([1], np.int64))])
    good = helper.make_graph([helper.make_node("Neg", ["x"], ["r"])], "then", [], [vi("r", F, None)])
    write("dead_branch", [helper.make_node("If", ["c"], ["y"], name="if", then_branch=good, else_branch=bad)],
          [vi("x", F, [3])], [vi("y", F, None)], [const("c", np.array(True))])


def dynamic_batch():
    """x [batch,3,16,16] -> Conv/Relu/MaxPool -> Reshape to Concat(Shape(x)[0], -1) -> Gemm: logits [batch,10]."""
    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["conv"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["act"], name="relu1"),
        helper.make_node("MaxPool", ["act"], ["pool"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["x"], ["xs"], name="shape"),
        helper.make_node("Gather", ["xs", "zero"], ["n"], name="batch_of", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="n_1d"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="target", axis=0),
        helper.make_node("Reshape", ["pool", "target"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"], name="fc", transB=1),
        helper.make_node("GlobalAveragePool", ["act"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["feat"], name="feat"),
    ]
    inits = [const("w1", rng.standard_normal((8, 3, 3, 3)).astype(np.float32)),
             const("b1", rng.standard_normal(8).astype(np.float32)),
             const("zero", np.array(0, np.int64)), const("axes0", np.array([0], np.int64)),
             const("minus1", np.array([-1], np.int64)),
             const("w2", rng.standard_normal((10, 512)).astype(np.float32)),
             const("b2", rng.standard_normal(10).astype(np.float32))]
    # logits declares no shape (inference supplies it); feat declares its own
    write("dyn_batch", nodes, [vi("x", F, ["batch", 3, 16, 16])], [vi("logits", F, None), vi("feat", F, ["batch", 8])],
          inits)


def loop_body(name, inner=None):
    nodes = [helper.make_node("Identity", ["c"], ["c_out"])]
    if inner is None:
        nodes.append(helper.make_node("Add", ["v", "one"], ["v_out"]))
    else:
        nodes.append(helper.make_node("Loop", ["trip", "c", "v"], ["v_out"], name="inner", body=inner))
    return helper.make_graph(nodes, name, [vi("i", I64, []), vi("c", B, []), vi("v", F, [1])],
                             [vi("c_out", B, []), vi("v_out", F, [1])],
                             initializer=[const("one", np.ones(1, np.float32))] if inner is None else [])


def loops():
    """Loops of 2^62 iterations: they end only when cancelled. loop_nested spins inside an inner Loop."""
    inits = [const("trip", np.array(1 << 62, np.int64)), const("cond", np.array(True)),
             const("v0", np.zeros(1, np.float32))]
    write("loop_huge", [helper.make_node("Loop", ["trip", "cond", "v0"], ["v"], name="spin", body=loop_body("body"))],
          [], [vi("v", F, [1])], inits)
    outer = loop_body("outer_body", inner=loop_body("inner_body"))
    write("loop_nested", [helper.make_node("Loop", ["trip", "cond", "v0"], ["v"], name="outer", body=outer)],
          [], [vi("v", F, [1])], inits)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    invalid_models()
    dynamic_batch()
    loops()
