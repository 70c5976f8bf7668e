# gen_rnn.py — writes tests/onnx/rnn_*/: RNN/GRU/LSTM cases the ONNX node suite lacks (reverse, bidirectional,
# sequence_lens, layout=1, clip, input_forget, GRU linear_before_reset) with expected outputs from a plain-Python
# transcription of the operator equations in the ONNX spec. No onnx or numpy package needed.
import math, os, struct, sys

HERE = os.path.dirname(os.path.abspath(sys.argv[0]))

def varint(v):
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def fld(n, wt, p):
    tag = varint((n << 3) | wt)
    if wt == 0:
        return tag + varint(p)
    p = p.encode() if isinstance(p, str) else p
    return tag + varint(len(p)) + p

def tensor(name, et, dims, vals):
    raw = struct.pack('%df' % len(vals), *vals) if et == 1 else struct.pack('%di' % len(vals), *vals)
    return b''.join(fld(1, 0, d) for d in dims) + fld(2, 0, et) + fld(8, 2, name) + fld(9, 2, raw)

def vi(name, et, dims):
    shape = b''.join(fld(1, 2, fld(1, 0, d)) for d in dims)
    return fld(1, 2, name) + fld(2, 2, fld(1, 2, fld(1, 0, et) + fld(2, 2, shape)))

def attr_i(n, v): return fld(5, 2, fld(1, 2, n) + fld(3, 0, v) + fld(20, 0, 2))
def attr_s(n, v): return fld(5, 2, fld(1, 2, n) + fld(4, 2, v) + fld(20, 0, 3))

seed = [12345]
def rnd(n, scale=1.0):
    out = []
    for _ in range(n):
        seed[0] = (seed[0] * 1103515245 + 12345) & 0x7fffffff
        out.append(round(((seed[0] >> 8) / float(1 << 23) * 2 - 1) * scale, 4))
    return out

sig = lambda x: 1 / (1 + math.exp(-x))

def reference(kind, X, W, R, B, lens, h0, c0, P, S, NB, I, H, ndir, reverse, layout, lbr, clip, couple):
    G = {'RNN': 1, 'GRU': 3, 'LSTM': 4}[kind]
    cl = (lambda v: max(-clip, min(clip, v))) if clip else (lambda v: v)
    x = lambda t, b, i: X[((b * S + t) if layout else (t * NB + b)) * I + i]
    st = lambda arr, d, b, j: arr[((b * ndir + d) if layout else (d * NB + b)) * H + j]
    Y = [0.0] * (S * ndir * NB * H)
    Yh = [0.0] * (ndir * NB * H)
    Yc = [0.0] * (ndir * NB * H)
    for d in range(ndir):
        rev = d == 1 if ndir == 2 else reverse
        Wd = lambda g, j, i: W[((d * G + g) * H + j) * I + i]
        Rd = lambda g, j, k: R[((d * G + g) * H + j) * H + k]
        Wb = lambda g, j: B[(d * 2 * G + g) * H + j] if B else 0.0
        Rb = lambda g, j: B[(d * 2 * G + G + g) * H + j] if B else 0.0
        for b in range(NB):
            h = [st(h0, d, b, j) if h0 else 0.0 for j in range(H)]
            c = [st(c0, d, b, j) if c0 else 0.0 for j in range(H)]
            for s in range(lens[b]):
                t = lens[b] - 1 - s if rev else s
                xw = lambda g, j: sum(x(t, b, i) * Wd(g, j, i) for i in range(I)) + Wb(g, j)
                hr = lambda g, j, hv: sum(hv[k] * Rd(g, j, k) for k in range(H))
                if kind == 'RNN':
                    h = [math.tanh(cl(xw(0, j) + hr(0, j, h) + Rb(0, j))) for j in range(H)]
                elif kind == 'GRU':
                    z = [sig(cl(xw(0, j) + hr(0, j, h) + Rb(0, j))) for j in range(H)]
                    r = [sig(cl(xw(1, j) + hr(1, j, h) + Rb(1, j))) for j in range(H)]
                    if lbr:
                        hh = [math.tanh(cl(xw(2, j) + r[j] * (hr(2, j, h) + Rb(2, j)))) for j in range(H)]
                    else:
                        rh = [r[k] * h[k] for k in range(H)]
                        hh = [math.tanh(cl(xw(2, j) + hr(2, j, rh) + Rb(2, j))) for j in range(H)]
                    h = [(1 - z[j]) * hh[j] + z[j] * h[j] for j in range(H)]
                else:
                    p = lambda q, j: P[(d * 3 + q) * H + j] if P else 0.0
                    nh, nc = [], []
                    for j in range(H):
                        gi = sig(cl(xw(0, j) + hr(0, j, h) + Rb(0, j) + p(0, j) * c[j]))
                        gf = 1 - gi if couple else sig(cl(xw(2, j) + hr(2, j, h) + Rb(2, j) + p(2, j) * c[j]))
                        gc = math.tanh(cl(xw(3, j) + hr(3, j, h) + Rb(3, j)))
                        cn = gf * c[j] + gi * gc
                        go = sig(cl(xw(1, j) + hr(1, j, h) + Rb(1, j) + p(1, j) * cn))
                        nc.append(cn)
                        nh.append(go * math.tanh(cn))
                    h, c = nh, nc
                for j in range(H):
                    Y[(((b * S + t) * ndir + d) if layout else ((t * ndir + d) * NB + b)) * H + j] = h[j]
            for j in range(H):
                o = ((b * ndir + d) if layout else (d * NB + b)) * H + j
                Yh[o], Yc[o] = h[j], c[j]
    return Y, Yh, Yc

def case(name, kind, S=4, NB=3, I=3, H=2, direction='forward', layout=0, lbr=0, clip=0.0, couple=0,
         lens=None, init=True, peep=False, bias=True):
    G = {'RNN': 1, 'GRU': 3, 'LSTM': 4}[kind]
    ndir = 2 if direction == 'bidirectional' else 1
    X, W, R = rnd(S * NB * I), rnd(ndir * G * H * I, 0.8), rnd(ndir * G * H * H, 0.8)
    B = rnd(ndir * 2 * G * H, 0.5) if bias else None
    sdims = [NB, ndir, H] if layout else [ndir, NB, H]
    h0 = rnd(ndir * NB * H) if init else None
    c0 = rnd(ndir * NB * H) if init and kind == 'LSTM' else None
    P = rnd(ndir * 3 * H, 0.5) if peep else None
    Y, Yh, Yc = reference(kind, X, W, R, B, lens or [S] * NB, h0, c0, P, S, NB, I, H, ndir,
                          direction == 'reverse', layout, lbr, clip, couple)
    xdims = [NB, S, I] if layout else [S, NB, I]
    ydims = [NB, S, ndir, H] if layout else [S, ndir, NB, H]
    ins = [('X', 1, xdims, X), ('W', 1, [ndir, G * H, I], W), ('R', 1, [ndir, G * H, H], R),
           ('B', 1, [ndir, 2 * G * H], B), ('seq', 6, [NB], lens), ('h0', 1, sdims, h0)]
    if kind == 'LSTM':
        ins += [('c0', 1, sdims, c0), ('P', 1, [ndir, 3 * H], P)]
    names = [n if v is not None else '' for n, _, _, v in ins]
    while names and not names[-1]:
        names.pop()
    given = [x for x in ins if x[3] is not None]
    outs = [('Y', ydims, Y), ('Yh', sdims, Yh)] + ([('Yc', sdims, Yc)] if kind == 'LSTM' else [])
    attrs = attr_i('hidden_size', H) + attr_s('direction', direction) + attr_i('layout', layout)
    if kind == 'GRU':
        attrs += attr_i('linear_before_reset', lbr)
    if clip:
        attrs += fld(5, 2, fld(1, 2, 'clip') + bytes([0x15]) + struct.pack('<f', clip) + fld(20, 0, 1))
    if couple:
        attrs += attr_i('input_forget', 1)
    node = b''.join(fld(1, 2, n) for n in names) + b''.join(fld(2, 2, o[0]) for o in outs) + fld(4, 2, kind) + attrs
    graph = (fld(1, 2, node) + fld(2, 2, name) + b''.join(fld(11, 2, vi(n, et, dims)) for n, et, dims, _ in given) +
             b''.join(fld(12, 2, vi(n, 1, dims)) for n, dims, _ in outs))
    model = fld(1, 0, 8) + fld(8, 2, fld(1, 2, '') + fld(2, 0, 14)) + fld(7, 2, graph)
    d = os.path.join(HERE, 'rnn_' + name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    open(os.path.join(d, 'model.onnx'), 'wb').write(model)
    for i, (n, et, dims, v) in enumerate(given):
        open(os.path.join(d, 'test_data_set_0', 'input_%d.pb' % i), 'wb').write(tensor(n, et, dims, v))
    for i, (n, dims, v) in enumerate(outs):
        open(os.path.join(d, 'test_data_set_0', 'output_%d.pb' % i), 'wb').write(tensor(n, 1, dims, v))

case('lstm_bidir_seqlens_peep', 'LSTM', direction='bidirectional', lens=[4, 2, 0], peep=True)
case('lstm_reverse_layout1_clip', 'LSTM', direction='reverse', layout=1, clip=0.7, lens=[3, 4, 1])
case('lstm_input_forget', 'LSTM', couple=1, init=False)
case('gru_bidir_lbr', 'GRU', direction='bidirectional', lbr=1, lens=[1, 4, 3])
case('gru_reverse_layout1', 'GRU', direction='reverse', layout=1, bias=False)
case('rnn_bidir_clip_layout1', 'RNN', direction='bidirectional', layout=1, clip=0.5, lens=[2, 4, 3])
