#!/usr/bin/python3
# gen_conv.py — writes tests/onnx/conv_*/ and gemm_*/: Conv cases for the Winograd path (3x3 stride 1,
# src/kernels/winograd.c), the depthwise kernels (3x3 and 5x5, stride 1 and 2), the direct 3x3 kernel, the GEMM and
# im2col paths, and batch-1 Gemm/MatMul: grids narrower than a vector, row and column tails, planes down to 1x1, odd
# and asymmetric pads, batches, fused bias/residual/activation. Integer data keep every result exact (Winograd's
# transforms only scale by 1/2 and 1/4), so any indexing slip shows. Needs python3-onnx and python3-numpy.
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(sys.argv[0]))
rng = np.random.default_rng(20261125)


def conv_ref(x, w, b, pads, stride=1, group=1):
    n, c, h, wd = x.shape
    m, k = w.shape[0], w.shape[2]
    pt, pl, pb, pr = pads
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr), dtype=np.int64)
    xp[:, :, pt:pt + h, pl:pl + wd] = x
    oh, ow = (h + pt + pb - k) // stride + 1, (wd + pl + pr - k) // stride + 1
    y = np.zeros((n, m, oh, ow), dtype=np.int64)
    for ky in range(k):
        for kx in range(k):
            win = xp[:, :, ky:ky + (oh - 1) * stride + 1:stride, kx:kx + (ow - 1) * stride + 1:stride]
            if group == 1:
                y += np.einsum('nchw,mc->nmhw', win, w[:, :, ky, kx])
            else:  # depthwise: one input channel per output channel
                y += win * w[:, 0, ky, kx].reshape(1, m, 1, 1)
    return y + b.reshape(1, m, 1, 1)


def case(name, n, c, m, h, wd, pads, act=None, residual=False, k=3, stride=1, group=1, prefix='conv_wino_'):
    x = rng.integers(-3, 4, size=(n, c, h, wd))
    w = rng.integers(-2, 3, size=(m, c // group, k, k))
    b = rng.integers(-20, 21, size=(m,))
    y = conv_ref(x, w, b, pads, stride, group)
    inputs = [helper.make_tensor_value_info('x', TensorProto.FLOAT, list(x.shape))]
    feeds = [x]
    nodes = [helper.make_node('Conv', ['x', 'w', 'b'], ['c'], kernel_shape=[k, k], pads=list(pads), strides=[stride, stride],
                              group=group)]
    last = 'c'
    if residual:
        r = rng.integers(-50, 51, size=y.shape)
        inputs.append(helper.make_tensor_value_info('r', TensorProto.FLOAT, list(y.shape)))
        feeds.append(r)
        nodes.append(helper.make_node('Add', ['c', 'r'], ['s']))
        last, y = 's', y + r
    if act == 'Relu':
        nodes.append(helper.make_node('Relu', [last], ['y']))
        y = np.maximum(y, 0)
    elif act == 'Clip':
        nodes.append(helper.make_node('Clip', [last, 'lo', 'hi'], ['y']))
        y = np.clip(y, 0, 60)
    else:
        nodes.append(helper.make_node('Identity', [last], ['y']))
    inits = [numpy_helper.from_array(w.astype(np.float32), 'w'), numpy_helper.from_array(b.astype(np.float32), 'b'),
             numpy_helper.from_array(np.array(0, np.float32), 'lo'), numpy_helper.from_array(np.array(60, np.float32), 'hi')]
    if act != 'Clip':
        inits = inits[:2]
    graph = helper.make_graph(nodes, name, inputs, [helper.make_tensor_value_info('y', TensorProto.FLOAT, list(y.shape))],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    d = os.path.join(HERE, prefix + name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    onnx.save(model, os.path.join(d, 'model.onnx'))
    for i, (vi, v) in enumerate(zip(inputs, feeds)):
        t = numpy_helper.from_array(v.astype(np.float32), vi.name)
        open(os.path.join(d, 'test_data_set_0', 'input_%d.pb' % i), 'wb').write(t.SerializeToString())
    t = numpy_helper.from_array(y.astype(np.float32), 'y')
    open(os.path.join(d, 'test_data_set_0', 'output_0.pb'), 'wb').write(t.SerializeToString())


case('narrow_batch', 2, 16, 24, 9, 9, (1, 1, 1, 1), act='Relu')           # 5 tiles a row: groups of four
case('tail_asym_residual', 1, 17, 16, 10, 19, (1, 0, 1, 2), act='Relu', residual=True)  # 10 tiles: overlapping group
case('single_tile', 1, 16, 16, 3, 3, (0, 0, 0, 0))                        # one output
case('wide_pad2_clip', 1, 20, 18, 6, 37, (2, 2, 2, 2), act='Clip')        # odd width, 20 tiles a row
case('tall_odd', 1, 32, 40, 23, 7, (1, 1, 0, 1))                          # odd height, last tile row half used

# depthwise: (H, W, kernel, stride, pads top/left/bottom/right, channels, batch, activation, residual)
for i, (h, wd, k, st, pads, c, n, act, res) in enumerate([
        (7, 7, 3, 1, (1, 1, 1, 1), 9, 1, 'Clip', False), (14, 14, 3, 2, (1, 1, 1, 1), 8, 2, 'Relu', True),
        (1, 1, 3, 1, (1, 1, 1, 1), 3, 1, None, False), (2, 3, 5, 1, (2, 2, 2, 2), 3, 1, 'Relu', False),
        (5, 9, 5, 2, (2, 2, 3, 3), 16, 1, None, True), (11, 13, 3, 2, (0, 0, 0, 0), 9, 1, 'Clip', False),
        (3, 40, 3, 1, (0, 1, 2, 0), 8, 1, 'Relu', True), (40, 3, 5, 1, (2, 2, 2, 2), 3, 2, None, False),
        (23, 31, 5, 2, (2, 2, 2, 2), 9, 1, 'Clip', True), (28, 28, 3, 1, (1, 1, 1, 1), 16, 1, 'Relu', False),
        (17, 17, 5, 1, (0, 2, 3, 0), 8, 1, None, True), (56, 56, 3, 2, (1, 1, 1, 1), 3, 1, 'Clip', False),
        (16, 16, 3, 2, (1, 1, 2, 2), 8, 1, None, False), (10, 10, 5, 2, (0, 0, 0, 0), 3, 1, 'Relu', True)]):
    case('%02d_%dx%d_k%ds%d' % (i, h, wd, k, st), n, c, c, h, wd, pads, act=act, residual=res, k=k, stride=st,
         group=c, prefix='conv_dw_')

# GEMM path: 1x1 convolutions whose widths leave 1-3 column edges (49 = 3 x 16 + 1 on 7x7 maps), steps not a
# multiple of four, two K blocks, two N blocks with a residual; im2col for strided and non-Winograd kernels, with
# output rows that straddle panels and more than one 256-column chunk.
for name, n, c, m, h, wd, k, st, pads, act, res in [
        ('1x1_7x7_res', 1, 7, 13, 7, 7, 1, 1, (0, 0, 0, 0), 'Relu', True),
        ('1x1_3x6', 1, 9, 50, 3, 6, 1, 1, (0, 0, 0, 0), None, False),
        ('1x1_1x19_clip', 1, 6, 64, 1, 19, 1, 1, (0, 0, 0, 0), 'Clip', False),
        ('1x1_k300_res', 1, 300, 70, 7, 7, 1, 1, (0, 0, 0, 0), 'Relu', True),
        ('1x1_17x20_res', 2, 20, 100, 17, 20, 1, 1, (0, 0, 0, 0), None, True),
        ('s2_3x3_29x30', 1, 5, 20, 29, 30, 3, 2, (1, 1, 1, 1), 'Relu', False),
        ('s2_7x7_40x41', 1, 3, 16, 40, 41, 7, 2, (3, 3, 3, 3), 'Relu', False),
        ('s1_5x5_19x23', 1, 4, 12, 19, 23, 5, 1, (2, 2, 2, 2), None, True),
        ('s2_1x1_14x15', 1, 24, 64, 14, 15, 1, 2, (0, 0, 0, 0), None, False)]:
    case(name, n, c, m, h, wd, pads, act=act, residual=res, k=k, stride=st, prefix='conv_gemm_')

# direct 3x3 kernel (few channels): an RGB stem at stride 2 without padding, odd width, M not a multiple of 4, two
# images; stride 1 with a residual
case('s2_rgb_17x23', 2, 3, 10, 17, 23, (0, 0, 0, 0), act='Relu', stride=2, prefix='conv_direct_')
case('s1_8ch_11x21', 1, 8, 12, 11, 21, (1, 1, 1, 1), act='Clip', residual=True, prefix='conv_direct_')


def save_gemm_case(name, nodes, m, k, n, inits, a, y):
    """tests/onnx/gemm_NAME: a graph from input a [m, k] to output y [m, n], one data set."""
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info('a', TensorProto.FLOAT, [m, k])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [m, n])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    d = os.path.join(HERE, 'gemm_' + name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    onnx.save(model, os.path.join(d, 'model.onnx'))
    t = numpy_helper.from_array(a.astype(np.float32), 'a')
    open(os.path.join(d, 'test_data_set_0', 'input_0.pb'), 'wb').write(t.SerializeToString())
    t = numpy_helper.from_array(y.astype(np.float32), 'y')
    open(os.path.join(d, 'test_data_set_0', 'output_0.pb'), 'wb').write(t.SerializeToString())


def gemm_case(name, m, k, n, op='Gemm', act=None):
    """One-row products against constant weights (the batch-1 classifier path of the GEMM kernels)."""
    a = rng.integers(-3, 4, size=(m, k))
    w = rng.integers(-2, 3, size=(n, k) if op == 'Gemm' else (k, n))
    b = rng.integers(-20, 21, size=(n,))
    if op == 'Gemm':
        y = a @ w.T + b
        nodes = [helper.make_node('Gemm', ['a', 'w', 'b'], ['g'], transB=1)]
        inits = [numpy_helper.from_array(w.astype(np.float32), 'w'), numpy_helper.from_array(b.astype(np.float32), 'b')]
    else:
        y = a @ w
        nodes = [helper.make_node('MatMul', ['a', 'w'], ['g'])]
        inits = [numpy_helper.from_array(w.astype(np.float32), 'w')]
    if act == 'Relu':
        nodes.append(helper.make_node('Relu', ['g'], ['y']))
        y = np.maximum(y, 0)
    else:
        nodes.append(helper.make_node('Identity', ['g'], ['y']))
    save_gemm_case(name, nodes, m, k, n, inits, a, y)


# one row: whole panels, a 13-column edge (9-15 wide: the one-row kernel's partial store), an 8-column edge, steps
# not a multiple of four; two rows for contrast
gemm_case('m1_k64_n48_relu', 1, 64, 48, act='Relu')
gemm_case('m1_k37_n29', 1, 37, 29)
gemm_case('m1_k301_n1000', 1, 301, 1000)
gemm_case('matmul_m1_k40_n45', 1, 40, 45, op='MatMul')
gemm_case('m2_k19_n27', 2, 19, 27)

# Winograd with more input channels than one K block of the packed weights (256), rows past the last full panel
case('k_blocks', 1, 260, 20, 5, 6, (1, 1, 1, 1), act='Relu', residual=True)


def uniform_softmax_case(name, m, k, n):
    """Equal weights: every column of a row must be summed in the same order (bit-identical logits), or a softmax
    over these large logits is no longer uniform (as onnx's light models, whose weights are ConstantOfShape)."""
    a = (np.arange(m * k).reshape(m, k) % 97 + 1) * np.float32(0.731)
    nodes = [helper.make_node('ConstantOfShape', ['wshape'], ['w'],
                              value=numpy_helper.from_array(np.array([0.37], np.float32))),
             helper.make_node('Gemm', ['a', 'w'], ['g'], transB=1), helper.make_node('Softmax', ['g'], ['y'], axis=1)]
    save_gemm_case(name, nodes, m, k, n, [numpy_helper.from_array(np.array([n, k], np.int64), 'wshape')], a,
                   np.full((m, n), 1.0 / n, np.float32))


# 7 rows (a full 6-row panel and a 1-row one), 1009 columns (63 panels of 16 and a 1-column edge), 2100 steps
uniform_softmax_case('uniform_softmax', 7, 2100, 1009)

# Winograd at 2+ threads with a single cache-sized block of 20 tile rows: split into blocks of 5 rows (block mode)
# rather than run in phase mode (winograd.c, WINO_MIN_BLOCK_TILES). Last, so the cases above keep their data.
case('split_blocks', 1, 16, 16, 40, 40, (1, 1, 1, 1), act='Relu')
