#!/usr/bin/python3
# gen_elementwise.py — writes tests/onnx/binary_*/: float Add/Sub/Mul/Div large enough (>= 32Ki elements) that
# binary_into splits them across the thread pool, one case per broadcast form it handles as flat loops: both whole,
# a scalar, a per-channel scale ([N,C,1,1] over [N,C,H,W], also with two images so a task starts mid-batch), a
# trailing bias row, and the broadcast operand first (Sub/Div order). Integer data (divisors powers of two) keep
# every result exact. Needs python3-onnx and python3-numpy.
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(sys.argv[0]))
rng = np.random.default_rng(20261125)


def case(name, op, a, b):
    """tests/onnx/binary_NAME: y = a OP b with numpy's broadcasting."""
    y = {'Add': np.add, 'Sub': np.subtract, 'Mul': np.multiply, 'Div': np.divide}[op](a, b)
    node = helper.make_node(op, ['a', 'b'], ['y'])
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info('a', TensorProto.FLOAT, list(a.shape)),
                                             helper.make_tensor_value_info('b', TensorProto.FLOAT, list(b.shape))],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, list(y.shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 14)])
    model.ir_version = 8
    d = os.path.join(HERE, 'binary_' + name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    onnx.save(model, os.path.join(d, 'model.onnx'))
    for i, (v, nm) in enumerate([(a, 'a'), (b, 'b')]):
        t = numpy_helper.from_array(v.astype(np.float32), nm)
        open(os.path.join(d, 'test_data_set_0', 'input_%d.pb' % i), 'wb').write(t.SerializeToString())
    t = numpy_helper.from_array(y.astype(np.float32), 'y')
    open(os.path.join(d, 'test_data_set_0', 'output_0.pb'), 'wb').write(t.SerializeToString())


def ints(*shape):
    return rng.integers(-50, 50, size=shape).astype(np.float32)


def pow2(*shape):
    return (2.0 ** rng.integers(-3, 4, size=shape) * rng.choice([-1, 1], size=shape)).astype(np.float32)


case('full_add', 'Add', ints(33001), ints(33001))
case('scalar_sub', 'Sub', ints(3, 100, 111), ints(1))
case('channel_mul', 'Mul', ints(1, 24, 37, 38), ints(1, 24, 1, 1))
case('channel_mul_batch2', 'Mul', ints(2, 20, 29, 29), ints(2, 20, 1, 1))
case('channel_sub_first', 'Sub', ints(1, 12, 1, 1), ints(3, 12, 31, 30))
case('channel_div_first', 'Div', pow2(1, 12, 1, 1) * 64, pow2(2, 12, 37, 38))
case('row_add', 'Add', ints(131, 256), ints(256))
case('row_div', 'Div', ints(2, 67, 250), pow2(250))
