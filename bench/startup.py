#!/usr/bin/env python3
"""startup.py — start-up cost of `wasmind run hello.wasm` (C hello world on WASI) against the same
program compiled natively, as whole processes, alternating, median of N runs each: interpreted, and AOT-compiled
from the cache (`--aot`, compiled once before timing), and from a .cwasm file."""
import os, statistics, subprocess, sys, tempfile, time

HELLO = '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n'

def main():
    wasmind = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/wasmind")
    runs = int(os.environ.get("RUNS", "400"))
    d = tempfile.mkdtemp(prefix="wm-startup-")
    src = os.path.join(d, "hello.c")
    open(src, "w").write(HELLO)
    native, wasm = os.path.join(d, "hello"), os.path.join(d, "hello.wasm")
    subprocess.run(["clang", "-O2", src, "-o", native], check=True)
    subprocess.run(["clang", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", src, "-o", wasm], check=True)
    cwasm = os.path.join(d, "hello.cwasm")
    subprocess.run([wasmind, "compile", wasm, "-o", cwasm], check=True, stdout=subprocess.DEVNULL)
    cmds = {"native": [native], "wasmind": [wasmind, "run", wasm], "aot": [wasmind, "run", "--aot", wasm],
            "cwasm": [wasmind, "run", cwasm]}
    for name, cmd in cmds.items():   # correctness first: same output
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        if out != "hello, world\n":
            sys.exit(f"!! ERROR: {name} printed {out!r}")
    times = {k: [] for k in cmds}
    for _ in range(runs):            # alternate so machine noise hits both alike
        for name, cmd in cmds.items():
            t0 = time.perf_counter_ns()
            subprocess.run(cmd, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter_ns() - t0) / 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"| process            | median ms | ratio |\n|--------------------|----------:|------:|")
    print(f"| native hello       | {med['native']:9.3f} | 1.00x |")
    print(f"| wasmind run (WASI) | {med['wasmind']:9.3f} | {med['wasmind'] / med['native']:.2f}x |")
    print(f"| run --aot (cached) | {med['aot']:9.3f} | {med['aot'] / med['native']:.2f}x |")
    print(f"| run hello.cwasm    | {med['cwasm']:9.3f} | {med['cwasm'] / med['native']:.2f}x |")
    print(f"({runs} alternating runs each; whole process incl. fork/exec from Python)")

if __name__ == "__main__":
    main()
