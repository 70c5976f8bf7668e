#!/usr/bin/env python3
# score.py REF.txt OCR.txt [--any-order] — compares the OCR guest's output for one rendered page with the text
# that was rendered.
# Prints "CHARS ERRORS LINES EXACT" (reference characters, edit distance, reference lines, lines read exactly) and,
# on stderr, each line that differs.
import re
import sys


def norm(s):
    # runs of whitespace compare as one space (the recogniser sometimes merges or splits spaces)
    return re.sub(r"\s+", " ", s).strip()


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def read_ocr(path):
    """The guest's boxes in its reading order, joined into lines: a box continues the previous one's line when its
    centre lies within half a text height of that box's centre line (extended along its slope)."""
    lines, prev = [], None
    for raw in open(path, encoding="utf-8"):
        parts = raw.rstrip("\n").rsplit("\t", 2)
        if len(parts) != 3:
            continue
        p = [tuple(map(float, c.split(","))) for c in parts[2].split()]
        cx, cy = sum(x for x, _ in p) / 4, sum(y for _, y in p) / 4
        h = (dist(p[0], p[3]) + dist(p[1], p[2])) / 2
        dx = (p[1][0] - p[0][0] + p[2][0] - p[3][0]) / 2
        slope = (p[1][1] - p[0][1] + p[2][1] - p[3][1]) / 2 / dx if abs(dx) > 1e-3 else 0
        w = (dist(p[0], p[1]) + dist(p[2], p[3])) / 2
        tall = h >= 1.5 * w  # vertical text: the guest reads each such box on its own
        if prev and not tall and not prev[4] and abs(cy - (prev[1] + prev[3] * (cx - prev[0]))) < 0.5 * min(h, prev[2]):
            lines[-1].append(parts[0])
        else:
            lines.append([parts[0]])
        prev = (cx, cy, h, slope if abs(slope) <= 1 else 0, tall)
    return [norm(" ".join(texts)) for texts in lines]


def dist(a, b):
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5


def main():
    ref = [norm(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    got = read_ocr(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3] == "--any-order":
        # a page turned on its side has no top-to-bottom order to check: compare the lines sorted
        ref, got = sorted(ref), sorted(got)
    # the page as a whole (lines joined by newlines) so missing or split lines count as errors too
    errors = edit_distance("\n".join(ref), "\n".join(got))
    chars = len("\n".join(ref))
    exact = 0
    pool = list(got)
    for line in ref:
        if line in pool:
            pool.remove(line)
            exact += 1
        else:
            best = min(got, key=lambda g: edit_distance(line, g)) if got else ""
            print(f"  want {line!r}\n  got  {best!r}", file=sys.stderr)
    print(chars, errors, len(ref), exact)


main()
