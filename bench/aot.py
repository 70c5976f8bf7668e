#!/usr/bin/env python3
# aot.py — AOT-tier benchmark (issue 6): the bench/ guests run natively, under `wasmind run --aot` (scalar and
# SIMD builds), under Node.js (V8) and as Debian wabt's wasm2c output, alternating, with compile times.
"""Usage: bench/aot.py [--rounds K] [--only a,b] [--no-node] [--no-wasm2c] [path/to/wasmind]

Times are CPU seconds (user+sys) of each whole process, median over K rounds (default 5); ratios are to
native (clang -O2, the same C). The guests are built by bench.py into bench/out/ (built here if missing).
Debian's wasm2c (wabt 1.0.32) has no SIMD support, so its column uses the scalar build."""
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (shares the program list, the build and the checksum parser)

OUT = bench.OUT
W2C = os.path.join(OUT, "wasm2c")


def cpu_run(cmd):
    t0 = bench._child_cpu()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    dt = bench._child_cpu() - t0
    if p.returncode:
        return dt, None, (p.stderr or p.stdout).strip()[-300:]
    return dt, bench.parse_checksum(p.stdout), None


def build_wasm2c(name):
    """wasm2c peer: translate the scalar build and compile it with gcc -O2 and wabt's runtime."""
    os.makedirs(W2C, exist_ok=True)
    src = os.path.join(W2C, name + ".c")
    exe = os.path.join(W2C, name)
    rt = "/usr/share/wabt/wasm2c"
    subprocess.run(["wasm2c", "-n", "m", os.path.join(OUT, name + ".wasm"), "-o", src], check=True)
    subprocess.run(["cc", "-O2", f'-DW2C_HEADER="{name}.h"', "-I", W2C, "-I", rt, src,
                    os.path.join(HERE, "wasm2c_main.c"), os.path.join(rt, "wasm-rt-impl.c"), "-lm", "-o", exe],
                   check=True)
    return exe


def main():
    args = sys.argv[1:]
    rounds, only, use_node, use_w2c, wasmind = 5, None, True, True, None
    while args:
        a = args.pop(0)
        if a == "--rounds":
            rounds = int(args.pop(0))
        elif a == "--only":
            only = set(args.pop(0).split(","))
        elif a == "--no-node":
            use_node = False
        elif a == "--no-wasm2c":
            use_w2c = False
        elif a in ("-h", "--help"):
            print(__doc__)
            return
        else:
            wasmind = a
    wasmind = os.path.abspath(wasmind or os.environ.get("WASMIND") or os.path.join(ROOT, "build", "wasmind"))
    programs = [(p, n) for p, n in bench.PROGRAMS if not only or p in only]
    bench.build(programs)
    use_node = use_node and shutil.which("node")
    use_w2c = use_w2c and shutil.which("wasm2c") and os.path.exists("/usr/share/wabt/wasm2c/wasm-rt-impl.c")

    runners = {"native": lambda p, n: [os.path.join(OUT, p + ".native"), str(n)],
               "aot": lambda p, n: [wasmind, "run", "--aot", "--invoke", "run", os.path.join(OUT, p + ".wasm"), str(n)],
               "aot-simd": lambda p, n: [wasmind, "run", "--aot", "--invoke", "run", os.path.join(OUT, p + ".simd.wasm"), str(n)]}
    if use_node:
        runners["node-simd"] = lambda p, n: ["node", os.path.join(HERE, "node_run.mjs"), os.path.join(OUT, p + ".simd.wasm"), str(n)]
    compile_s = {}
    if use_w2c:
        for p, _ in programs:
            t = time.perf_counter()
            build_wasm2c(p)
            compile_s[("wasm2c", p)] = time.perf_counter() - t
        runners["wasm2c"] = lambda p, n: [os.path.join(W2C, p), str(n)]

    # compile times: a cold `wasmind compile` of each build (no cache), then warm the run cache
    cw = os.path.join(OUT, "cwasm")
    os.makedirs(cw, exist_ok=True)
    for p, _ in programs:
        for suffix, key in ((".wasm", "aot"), (".simd.wasm", "aot-simd")):
            t = time.perf_counter()
            subprocess.run([wasmind, "compile", os.path.join(OUT, p + suffix), "-o", os.path.join(cw, p + suffix + ".cwasm")],
                           check=True, stdout=subprocess.DEVNULL)
            compile_s[(key, p)] = time.perf_counter() - t

    times = {(r, p): [] for r in runners for p, _ in programs}
    ref = {}
    for rnd in range(rounds + 1):  # round 0 checks checksums and warms caches
        for p, n in programs:
            for r, cmd in runners.items():
                dt, cs, err = cpu_run(cmd(p, n))
                if err or cs is None:
                    sys.exit(f"aot: {r} {p}: {err or 'no checksum'}")
                if r == "native":
                    ref[p] = cs
                elif cs != ref[p]:
                    sys.exit(f"aot: {r} {p}: checksum {cs} != native {ref[p]}")
                if rnd:
                    times[(r, p)].append(dt)
        print(f"round {rnd}/{rounds} done", file=sys.stderr, flush=True)

    cols = [r for r in runners if r != "native"]
    rows, ratios = [], {c: [] for c in cols}
    for p, _ in programs:
        nat = statistics.median(times[("native", p)])
        row = [p, f"{nat * 1e3:.1f}"]
        for c in cols:
            v = statistics.median(times[(c, p)])
            ratios[c].append(v / nat)
            row.append(f"{v * 1e3:.1f} ({v / nat:.2f}x)")
        rows.append(row)
    rows.append(["geomean", ""] + [f"{bench.geomean(ratios[c]):.2f}x" for c in cols])
    print(f"\nCPU ms per process (median of {rounds}), ratio to native in parentheses:")
    print(bench.table(["program", "native"] + cols, rows))
    best = [min(a, b) for a, b in zip(ratios["aot"], ratios["aot-simd"])]
    print(f"\nwasmind AOT, better of scalar/SIMD build per program: geomean {bench.geomean(best):.2f}x native")
    print("\ncompile seconds (wall, cold, no cache):")
    ccols = [c for c in ("aot", "aot-simd", "wasm2c") if any(k[0] == c for k in compile_s)]
    print(bench.table(["program"] + ccols, [[p] + [f"{compile_s[(c, p)]:.2f}" for c in ccols] for p, _ in programs]))


if __name__ == "__main__":
    main()
