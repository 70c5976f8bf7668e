#!/usr/bin/env python3
"""check_preprocess.py — independently recomputes the classify guest's input tensor from a PNG and compares.

Decodes an 8-bit non-interlaced PNG (pure Python, zlib), resizes bilinearly with half-pixel centres to SxS,
normalises with ImageNet mean/std into NCHW, and checks the guest's dumped TensorProto within a tolerance.
Usage: check_preprocess.py IMAGE.png INPUT.pb [SIZE]   (exit 0 when they match)"""
import struct
import sys
import zlib

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from topk import parse_tensor  # noqa: E402

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def decode_png(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    i, idat = 8, b""
    while i < len(b):
        n, t = struct.unpack(">I4s", b[i:i + 8])
        d = b[i + 8:i + 8 + n]
        i += 12 + n
        if t == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", d)
            assert depth == 8 and interlace == 0 and ctype in (0, 2, 4, 6), "unsupported PNG variant"
        elif t == b"IDAT":
            idat += d
        elif t == b"IEND":
            break
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * ch
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            c = prev[x - ch] if x >= ch else 0
            up = prev[x]
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + up) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + up) >> 1)) & 255
            elif f == 4:
                pa, pb, pc = abs(up - c), abs(a - c), abs(a + up - 2 * c)
                pr = a if pa <= pb and pa <= pc else (up if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    # to RGB
    rgb = []
    for line in rows:
        out = []
        for x in range(w):
            px = line[x * ch:(x + 1) * ch]
            out.append((px[0], px[0], px[0]) if ch <= 2 else (px[0], px[1], px[2]))
        rgb.append(out)
    return w, h, rgb


def preprocess(w, h, rgb, s):
    out = [0.0] * (3 * s * s)
    sx, sy = w / s, h / s
    for oy in range(s):
        fy = max((oy + 0.5) * sy - 0.5, 0.0)
        y0 = min(int(fy), h - 1)
        y1 = min(y0 + 1, h - 1)
        wy = fy - y0
        for ox in range(s):
            fx = max((ox + 0.5) * sx - 0.5, 0.0)
            x0 = min(int(fx), w - 1)
            x1 = min(x0 + 1, w - 1)
            wx = fx - x0
            for c in range(3):
                top = rgb[y0][x0][c] + (rgb[y0][x1][c] - rgb[y0][x0][c]) * wx
                bot = rgb[y1][x0][c] + (rgb[y1][x1][c] - rgb[y1][x0][c]) * wx
                v = (top + (bot - top) * wy) / 255.0
                out[c * s * s + oy * s + ox] = (v - MEAN[c]) / STD[c]
    return out


def main():
    s = int(sys.argv[3]) if len(sys.argv) > 3 else 224
    w, h, rgb = decode_png(sys.argv[1])
    want = preprocess(w, h, rgb, s)
    dims, got = parse_tensor(open(sys.argv[2], "rb").read())
    if dims != [1, 3, s, s] or len(got) != len(want):
        print("shape mismatch: dump has %s, expected [1, 3, %d, %d]" % (dims, s, s))
        return 1
    worst = max(range(len(want)), key=lambda i: abs(want[i] - got[i]))
    err = abs(want[worst] - got[worst])
    print("max |diff| = %.3g at element %d (reference %.6f, guest %.6f)" % (err, worst, want[worst], got[worst]))
    return 0 if err < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
