#!/usr/bin/env python3
# bench.py — interpreter benchmark driver (run via bench/run.sh): builds the guests native + wasm (scalar/SIMD),
# checks that native, wasmind and Node agree on every checksum, and times whole processes in alternating rounds.
"""Usage: bench/run.sh [options] [path/to/wasmind]

Options:
  --quick            one timing round (default: 5 rounds, fewer if the time budget would be exceeded)
  --rounds K         number of timing rounds (median is reported)
  --budget SECONDS   soft cap on checking + timing (default 240); rounds are reduced to fit it, and if not even
                     one more round fits, the checking pass's own times are reported (1 sample)
  --scale F          multiply every program's n by F (e.g. 0.25 for a smoke run; checksums still compared)
  --only a,b         only these programs (names: fib matmul sha256 sort nbody resize int8dot)
  --timeout SECONDS  kill any single run after this long (default 60) and report it as failed
  --cpu              report user+sys CPU time of each process instead of wall time (steadier on a busy
                     machine; Node's background compiler threads count too)
  --no-node          skip the Node.js peer
"""
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")

# name -> n; chosen so one native run takes ~30-80 ms on a 2-core dev box (interpreter: ~10-30x that).
PROGRAMS = [
    ("fib", 34),
    ("matmul", 150),
    ("sha256", 100),
    ("sort", 600000),
    ("nbody", 600000),
    ("resize", 200),
    ("int8dot", 250),
]
VECTORISABLE = ["matmul", "resize", "int8dot"]
STARTUP_PROG, STARTUP_N = "fib", 1  # near-zero work: measures each runner's process start-up cost

WASM_FLAGS = ["--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--export=run"]
NATIVE_FLAGS = ["-O2"]

RUNNERS = ["native", "wm", "wm-simd", "node", "node-simd"]
LABEL = {"native": "native", "wm": "wasmind", "wm-simd": "wasmind simd", "node": "node", "node-simd": "node simd"}


def log(msg=""):
    print(msg, flush=True)


def die(msg):
    print("bench: error: " + msg, file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opt = {"rounds": 5, "budget": 240.0, "scale": 1.0, "only": None, "timeout": 60.0, "node": True, "wasmind": None, "cpu": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        def val():
            nonlocal i
            i += 1
            if i >= len(argv):
                die(f"{a} needs a value")
            return argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        elif a == "--quick":
            opt["rounds"] = 1
        elif a == "--rounds":
            opt["rounds"] = max(1, int(val()))
        elif a == "--budget":
            opt["budget"] = float(val())
        elif a == "--scale":
            opt["scale"] = float(val())
        elif a == "--only":
            opt["only"] = val().split(",")
        elif a == "--timeout":
            opt["timeout"] = float(val())
        elif a == "--cpu":
            opt["cpu"] = True
        elif a == "--no-node":
            opt["node"] = False
        elif a.startswith("-"):
            die(f"unknown option {a} (see --help)")
        else:
            opt["wasmind"] = a
        i += 1
    return opt


def build(programs):
    """Compiles every program three ways into bench/out/. Returns {name: simd_op_count or None}."""
    os.makedirs(OUT, exist_ok=True)
    clang = shutil.which("clang") or die("clang not found")
    driver = os.path.join(HERE, "native_main.c")
    jobs = []
    for name, _ in programs:
        src = os.path.join(HERE, "programs", name + ".c")
        base = os.path.join(OUT, name)
        jobs.append([clang, *WASM_FLAGS, "-o", base + ".wasm", src])
        jobs.append([clang, *WASM_FLAGS, "-msimd128", "-o", base + ".simd.wasm", src])
        jobs.append([clang, *NATIVE_FLAGS, "-o", base + ".native", driver, src, "-lm"])
    procs = [(j, subprocess.Popen(j, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)) for j in jobs]
    failed = False
    for j, p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            failed = True
            print("bench: build failed: " + " ".join(j) + "\n" + out, file=sys.stderr)
    if failed:
        sys.exit(1)
    simd_ops = {}
    objdump = shutil.which("wasm-objdump")
    for name, _ in programs:
        if not objdump:
            simd_ops[name] = None
            continue
        dis = subprocess.run([objdump, "-d", os.path.join(OUT, name + ".simd.wasm")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        simd_ops[name] = len(re.findall(r"\b(?:v128\.|[if](?:8|16|32|64)x\d+\.)", dis))
    return simd_ops


def command(runner, name, n, wasmind):
    base = os.path.join(OUT, name)
    wasm = base + (".simd.wasm" if runner.endswith("simd") else ".wasm")
    if runner == "native":
        return [base + ".native", str(n)]
    if runner.startswith("wm"):
        return [wasmind, "run", "--invoke", "run", wasm, str(n)]
    return ["node", os.path.join(HERE, "node_run.mjs"), wasm, str(n)]


_INT = re.compile(r"(?<![\w.])[-+]?\d+(?![\w.])")


def parse_checksum(stdout):
    """First standalone integer on the first non-empty line, normalised to a signed int32."""
    for line in stdout.splitlines():
        if line.strip():
            m = _INT.search(line)
            if not m:
                return None
            v = int(m.group(0)) & 0xFFFFFFFF
            return v - (1 << 32) if v >= (1 << 31) else v
    return None


USE_CPU = False  # --cpu: report user+sys CPU seconds of the child instead of wall time


def _child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(cmd, timeout):
    """Returns (seconds, checksum or None, error string or None); seconds is wall time (CPU time with --cpu)."""
    t0, c0 = time.perf_counter(), _child_cpu()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, None, f"timed out after {timeout:g} s (--timeout)"
    except OSError as e:
        return time.perf_counter() - t0, None, f"cannot run: {e}"
    dt = (_child_cpu() - c0) if USE_CPU else (time.perf_counter() - t0)
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip())[-400:]
        return dt, None, f"exit status {p.returncode}: {tail}"
    cs = parse_checksum(p.stdout)
    if cs is None:
        return dt, None, f"no integer result in output: {p.stdout.strip()[:200]!r}"
    return dt, cs, None


def fmt_ms(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def fmt_ratio(v):
    if v is None:
        return "-"
    return f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def table(headers, rows):
    w = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(r)) + " |"
    sep = "|" + "|".join("-" * (x + 2) if i == 0 else "-" * (x + 1) + ":" for i, x in enumerate(w)) + "|"
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def main():
    global USE_CPU
    opt = parse_args(sys.argv[1:])
    USE_CPU = opt["cpu"]
    # fib's work grows by ~phi per step of n, the others' linearly in n.
    sc = lambda p, n: (max(2, int(round(n + math.log(opt["scale"]) / math.log(1.618)))) if p == "fib"
                       else max(1, int(round(n * opt["scale"]))))
    programs = [(p, sc(p, n)) for p, n in PROGRAMS]
    if opt["only"]:
        unknown = set(opt["only"]) - {p for p, _ in PROGRAMS}
        if unknown:
            die("unknown program(s): " + ", ".join(sorted(unknown)))
        programs = [(p, n) for p, n in programs if p in opt["only"]]

    runners = ["native"]
    wasmind = opt["wasmind"] or os.environ.get("WASMIND") or os.path.join(ROOT, "build", "wasmind")
    wasmind = os.path.abspath(wasmind)
    if os.path.isfile(wasmind) and os.access(wasmind, os.X_OK):
        runners += ["wm", "wm-simd"]
    else:
        log(f"bench: WARNING: wasmind not found at {wasmind}; timing native and node only")
    if opt["node"]:
        if shutil.which("node"):
            runners += ["node", "node-simd"]
        else:
            log("bench: WARNING: node not found; skipping the Node.js peer")

    log(f"== building {len(programs)} programs into {os.path.relpath(OUT, ROOT)}/ (native, wasm32, wasm32+simd128)")
    simd_ops = build(programs)
    log("   SIMD instructions in the -msimd128 builds: " +
        ", ".join(f"{p}={simd_ops[p] if simd_ops[p] is not None else '?'}" for p, _ in programs))

    # ---- correctness pass (doubles as warm-up and as the estimate for the time budget) ----
    log("== checking checksums (native is the reference)")
    errors, warnings = [], []
    broken = set()  # (runner, program) pairs excluded from timing
    est_round = 0.0
    ref = {}
    check_samples = {}
    t_start = time.perf_counter()
    for name, n in programs:
        got = {}
        for r in runners:
            dt, cs, err = run_once(command(r, name, n, wasmind), opt["timeout"])
            est_round += dt
            check_samples[(r, name)] = [dt * 1000.0]
            if err:
                broken.add((r, name))
                errors.append(f"{LABEL[r]} FAILED on {name} (n={n}): {err}")
                got[r] = "FAIL"
            else:
                got[r] = cs
        ref[name] = got.get("native")
        if ("native", name) in broken:
            for r in runners:
                broken.add((r, name))
        else:
            for r in runners[1:]:
                if (r, name) not in broken and got[r] != got["native"]:
                    broken.add((r, name))
                    errors.append(f"{LABEL[r]} CHECKSUM MISMATCH on {name} (n={n}): got {got[r]}, native {got['native']}")
        status = "ok" if all((r, name) not in broken for r in runners) else "MISMATCH/FAIL"
        log(f"   {name:8s} n={n:<8d} " + "  ".join(f"{LABEL[r]}={got[r]}" for r in runners) + f"  [{status}]")
    if errors:
        log("")
        log("!" * 78)
        for e in errors:
            log("!! ERROR: " + e)
        log("!" * 78)
        log("")

    # ---- timing: alternating rounds, runner order native, wasmind, node for each program ----
    rounds = opt["rounds"]
    left = opt["budget"] - (time.perf_counter() - t_start)
    samples = {}
    if est_round > left:
        rounds = 0
        log(f"bench: WARNING: one round takes ~{est_round:.0f} s, more than the {left:.0f} s left of the "
            f"{opt['budget']:.0f} s budget (--budget to override)")
        log("== timing: reporting the checking pass's times (1 sample, no start-up row)")
        samples = {k: v for k, v in check_samples.items() if k not in broken}
    else:
        log(f"== timing: up to {rounds} round(s) within the budget, whole-process {'CPU' if USE_CPU else 'wall'} time, median reported")
    last = est_round
    for k in range(rounds):
        if k > 0 and time.perf_counter() - t_start + last > opt["budget"]:
            log(f"bench: WARNING: stopping after {k} round(s) to stay within the {opt['budget']:.0f} s budget")
            rounds = k
            break
        t_round = time.perf_counter()
        for name, n in [(STARTUP_PROG + "@startup", STARTUP_N)] + programs:
            prog = name.split("@")[0]
            for r in runners:
                if (r, prog) in broken:
                    continue
                dt, cs, err = run_once(command(r, prog, n, wasmind), opt["timeout"])
                if err and err.startswith("timed out"):  # it passed the check, so likely machine load
                    warnings.append(f"{LABEL[r]} {err} on {prog} in round {k + 1}; sample dropped")
                    log("bench: WARNING: " + warnings[-1])
                    continue
                if err or (name == prog and cs != ref[prog]):
                    errors.append(f"{LABEL[r]} became inconsistent on {prog} in round {k + 1}: {err or cs}")
                    broken.add((r, prog))
                    continue
                samples.setdefault((r, name), []).append(dt * 1000.0)
        last = time.perf_counter() - t_round
        log(f"   round {k + 1}/{rounds}: {last:.1f} s")

    med = {key: statistics.median(v) for key, v in samples.items()}
    get = lambda r, name: med.get((r, name))
    ratio = lambda a, b: (a / b) if (a is not None and b) else None

    cols = [r for r in runners]
    headers = ["program", "n"] + [LABEL[r] + " ms" for r in cols] + [LABEL[r] + "/native" for r in cols[1:]]
    rows = []
    for name, n in programs:
        nat = get("native", name)
        row = [name, n] + [fmt_ms(get(r, name)) if (r, name) not in broken else "FAIL" for r in cols]
        row += [fmt_ratio(ratio(get(r, name), nat)) if (r, name) not in broken else "FAIL" for r in cols[1:]]
        rows.append(row)
    sname = STARTUP_PROG + "@startup"
    if rounds:
        rows.append([f"(start-up: {STARTUP_PROG} n={STARTUP_N})", STARTUP_N] +
                    [fmt_ms(get(r, sname)) for r in cols] + ["" for _ in cols[1:]])
    out = ["", table(headers, rows), ""]

    summary = []
    for r in cols[1:]:
        gm = geomean([ratio(get(r, p), get("native", p)) for p, _ in programs if (r, p) not in broken])
        nok = sum(1 for p, _ in programs if (r, p) not in broken)
        summary.append([f"geomean {LABEL[r]}/native", fmt_ratio(gm), f"{nok}/{len(programs)} programs"])
    if summary:
        out += [table(["summary", "ratio", "over"], summary), ""]

    speed = []
    for pair in (("wm", "wm-simd"), ("node", "node-simd")):
        if pair[0] not in cols:
            continue
        for p in [p for p, _ in programs if p in VECTORISABLE]:
            s = ratio(get(pair[0], p), get(pair[1], p))
            speed.append([f"{LABEL[pair[0]]} {p}", fmt_ms(get(pair[0], p)), fmt_ms(get(pair[1], p)),
                          fmt_ratio(s), simd_ops.get(p) if simd_ops.get(p) is not None else "?"])
    if speed:
        out += [table(["SIMD vs scalar", "scalar ms", "simd ms", "speedup", "simd ops"], speed), ""]

    rtxt = str(rounds) if rounds else "0 (checking-pass times)"
    what = "user+sys CPU time" if USE_CPU else "wall time"
    out.append(f"rounds={rtxt}, median whole-process {what}; ratios >1 mean slower than native. "
               f"Node times include ~{fmt_ms(get('node', sname))} ms of process start-up."
               if "node" in cols else f"rounds={rtxt}, median whole-process {what}.")
    if warnings:
        out += [""] + ["warning: " + w for w in warnings]
    text = "\n".join(out)
    log(text)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"rounds": max(rounds, 1), "wasmind": wasmind if "wm" in runners else None,
                   "programs": {p: {"n": n, "checksum": ref.get(p),
                                    "ms": {r: get(r, p) for r in runners},
                                    "samples": {r: samples.get((r, p)) for r in runners}} for p, n in programs},
                   "startup_ms": {r: get(r, sname) for r in runners},
                   "time": what, "errors": errors, "warnings": warnings}, f, indent=1)
    if errors:
        log("")
        for e in errors:
            log("!! ERROR: " + e)
        log(f"bench: {len(errors)} error(s): see above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
