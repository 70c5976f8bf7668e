#!/usr/bin/env python3
"""bench.py — wasmind's ONNX engine (`wasmind nn bench`) against ONNX Runtime (onnxruntime-node, graph
optimisations on, same thread count), run alternately on the same inputs; prints median latency, the latency
ratio wasmind/ORT, the load-time ratio, peak RSS of each process and the geometric means.

Each round runs both, back to back, in alternating order (wasmind first in even rounds, ORT first in odd ones),
and a ratio is the median of the rounds' own ratios: the machines this runs on have slow phases lasting tens of
seconds, and a ratio of two medians could pair one side's slow phase with the other's fast one.

Usage: bench/onnx/bench.py [--threads 1,2] [--rounds 3] [--models a,b] [--iters-scale F] [--json FILE]
       bench/onnx/bench.py --guest [...]   a WASI-NN guest (nn_guest_bench.c) against `nn bench` instead
Models come from build/models (scripts/fetch-models.sh); ORT from build/models/ort/node_modules/onnxruntime-node.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(ROOT, "build", "models")
WASMIND = os.path.join(ROOT, "build", "wasmind")
ORT_SCRIPT = os.path.join(HERE, "ort_bench.mjs")

SILERO_REF = os.path.join(MODELS, "refs", "silero_vad_v5", "test_data_set_0")

# name, file, iterations per round, extra arguments understood by both runners
CASES = [
    ("mobilenet_v2", "mobilenet_v2.onnx", 20, []),
    ("resnet50", "resnet50.onnx", 6, []),
    ("efficientnet_b0", "efficientnet_b0.onnx", 15, []),
    ("squeezenet1_1", "squeezenet1_1.onnx", 20, []),
    ("bert_encoder", "bert_encoder.onnx", 20,
     ["--shape", "input_ids=1x128", "--shape", "attention_mask=1x128", "--shape", "token_type_ids=1x128"]),
    ("ppocr_det", "ppocr_det.onnx", 4, ["--shape", "x=1x3x640x640"]),
    ("ppocr_rec", "ppocr_rec.onnx", 15, ["--shape", "x=1x3x48x320"]),
    ("silero_vad", "silero_vad_v5.onnx", 50,
     ["--input", "input=" + os.path.join(SILERO_REF, "input_0.pb"),
      "--input", "state=" + os.path.join(SILERO_REF, "input_1.pb"),
      "--input", "sr=" + os.path.join(SILERO_REF, "input_2.pb")]),
]


def run_rss(cmd):
    """Runs cmd; returns (exit code, stdout, stderr, peak RSS in KiB of that child alone, from wait4)."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.path.join("/tmp", "wm_bench_%d.out" % os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            efd = os.open(os.path.join("/tmp", "wm_bench_%d.err" % os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(efd, 2)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    outp, errp = "/tmp/wm_bench_%d.out" % pid, "/tmp/wm_bench_%d.err" % pid
    with open(outp) as f:
        out = f.read()
    with open(errp) as f:
        err = f.read()
    os.unlink(outp)
    os.unlink(errp)
    return os.waitstatus_to_exitcode(status), out, err, ru.ru_maxrss


def wasmind_once(model, iters, threads, extra):
    rc, out, err, rss = run_rss([WASMIND, "nn", "bench", model, "--iters", str(iters), "--threads", str(threads)] + extra)
    if rc:
        raise RuntimeError("wasmind failed: " + err.strip())
    load = float(re.search(r"load: ([0-9.]+) ms", out).group(1))
    med = float(re.search(r"median ([0-9.]+) ms", out).group(1))
    return med, load, rss


def ort_once(model, iters, threads, extra):
    rc, out, err, rss = run_rss(["node", ORT_SCRIPT, model, "--iters", str(iters), "--threads", str(threads)] + extra)
    if rc:
        raise RuntimeError("ORT failed: " + err.strip()[-400:])
    j = json.loads(out.strip().splitlines()[-1])
    return j["median_ms"], j["load_ms"], rss


GUEST_SRC = os.path.join(HERE, "nn_guest_bench.c")
GUEST_WASM = os.path.join(ROOT, "build", "bench", "nn_guest_bench.wasm")


def build_guest():
    os.makedirs(os.path.dirname(GUEST_WASM), exist_ok=True)
    if os.path.exists(GUEST_WASM) and os.path.getmtime(GUEST_WASM) >= os.path.getmtime(GUEST_SRC):
        return
    subprocess.run(["clang", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall", "-Wextra",
                    "-I", os.path.join(ROOT, "sdk"), "-o", GUEST_WASM, GUEST_SRC], check=True)


def io_names(model):
    """Graph input and output names, in order, from `wasmind nn info`."""
    out = subprocess.run([WASMIND, "nn", "info", model], capture_output=True, text=True, check=True).stdout
    names, section = {"inputs:": [], "outputs:": []}, None
    for line in out.splitlines():
        if line in names:
            section = line
        elif line.startswith("  ") and section:
            names[section].append(line.split()[0])
        else:
            section = None
    return names["inputs:"], names["outputs:"]


def run_pair(first, second, swap):
    """(first(), second()), run back to back; second runs first when swap (rounds alternate the order)."""
    if swap:
        b = second()
        return first(), b
    a = first()
    return a, second()


def guest_pair(name, model, iters, threads, guest_first=False):
    """One alternation of `nn bench` and the WASI-NN guest on the model's reference inputs: (nn ms, guest ms)."""
    ref = os.path.join(MODELS, "refs", name, "test_data_set_0")
    ins, outs = io_names(model)
    nin = len([f for f in os.listdir(ref) if f.startswith("input_") and f.endswith(".pb")])
    args = []
    for k in range(nin):
        args += ["--input", "%s=%s" % (ins[k], os.path.join(ref, "input_%d.pb" % k))]
    def nn_run():
        rc, out, err, _ = run_rss([WASMIND, "nn", "bench", model, "--iters", str(iters), "--threads", str(threads)] +
                                  args)
        if rc:
            raise RuntimeError("nn bench failed: " + err.strip())
        return float(re.search(r"median ([0-9.]+) ms", out).group(1))

    def guest_run():
        rc, out, err, _ = run_rss([WASMIND, "run", "--dir", ref + "::/ref", "--nn-preload", "m:onnx:cpu:" + model,
                                   "--nn-threads", str(threads), GUEST_WASM, "m", str(len(outs)), str(iters), "/ref"])
        if rc:
            raise RuntimeError("guest failed: " + err.strip())
        return float(re.search(r"median ([0-9.]+) ms", out).group(1))

    return run_pair(nn_run, guest_run, guest_first)


def guest_bench(threads_list, rounds, wanted, scale):
    """A guest running each model through WASI-NN against `wasmind nn bench` on the same inputs."""
    build_guest()
    for threads in threads_list:
        print("\n== WASI-NN guest vs nn bench, %d thread%s ==" % (threads, "" if threads == 1 else "s"))
        print("%-16s %10s %10s %7s" % ("model", "nn ms", "guest ms", "ratio"))
        ratios = []
        for name, fname, iters, _ in CASES:
            ref_name = {"silero_vad": "silero_vad_v5"}.get(name, name)
            model = os.path.join(MODELS, fname)
            if (wanted and name not in wanted) or not os.path.isdir(os.path.join(MODELS, "refs", ref_name)):
                continue
            pairs = [guest_pair(ref_name, model, max(1, int(iters * scale)), threads, rnd % 2 == 1)
                     for rnd in range(rounds)]
            nn, guest = median([p[0] for p in pairs]), median([p[1] for p in pairs])
            ratio = median([p[1] / p[0] for p in pairs])
            ratios.append(ratio)
            print("%-16s %10.2f %10.2f %7.3f" % (name, nn, guest, ratio))
            sys.stdout.flush()
        if ratios:
            print("%-16s %10s %10s %7.3f" % ("geomean", "", "", geomean(ratios)))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def geomean(xs):
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="alternating wasmind/ORT runs per model and thread count")
    ap.add_argument("--models", default="", help="comma-separated subset of: " + ",".join(c[0] for c in CASES))
    ap.add_argument("--iters-scale", type=float, default=1.0)
    ap.add_argument("--json", default="", help="also write the results here")
    ap.add_argument("--guest", action="store_true",
                    help="instead: a WASI-NN guest (set_input + compute + get_output) against nn bench, same inputs")
    a = ap.parse_args()
    wanted = set(filter(None, a.models.split(",")))
    if a.guest:
        guest_bench([int(t) for t in a.threads.split(",")], a.rounds, wanted, a.iters_scale)
        return
    results = []
    for threads in [int(t) for t in a.threads.split(",")]:
        print("\n== %d thread%s ==" % (threads, "" if threads == 1 else "s"))
        print("%-16s %10s %10s %7s | %9s %9s %7s | %9s %9s" %
              ("model", "wasmind ms", "ORT ms", "ratio", "wm load", "ORT load", "ratio", "wm RSS MB", "ORT RSS MB"))
        rows = []
        for name, fname, iters, extra in CASES:
            if wanted and name not in wanted:
                continue
            path = os.path.join(MODELS, fname)
            if not os.path.exists(path):
                print("%-16s (missing %s)" % (name, path))
                continue
            it = max(1, int(iters * a.iters_scale))
            wm, ort = [], []
            try:
                for rnd in range(a.rounds):  # alternate so both see the same machine load
                    w, o = run_pair(lambda: wasmind_once(path, it, threads, extra),
                                    lambda: ort_once(path, it, threads, extra), rnd % 2 == 1)
                    wm.append(w)
                    ort.append(o)
            except (RuntimeError, AttributeError, ValueError) as e:
                print("%-16s error: %s" % (name, e))
                continue
            r = {
                "model": name, "threads": threads,
                "wasmind_ms": median([x[0] for x in wm]), "ort_ms": median([x[0] for x in ort]),
                "wasmind_load_ms": median([x[1] for x in wm]), "ort_load_ms": median([x[1] for x in ort]),
                "wasmind_rss_mb": max(x[2] for x in wm) / 1024.0, "ort_rss_mb": max(x[2] for x in ort) / 1024.0,
            }
            r["ratio"] = median([w[0] / o[0] for w, o in zip(wm, ort)])
            r["load_ratio"] = median([w[1] / o[1] for w, o in zip(wm, ort)])
            rows.append(r)
            print("%-16s %10.2f %10.2f %7.2f | %9.1f %9.1f %7.2f | %9.1f %9.1f" %
                  (name, r["wasmind_ms"], r["ort_ms"], r["ratio"], r["wasmind_load_ms"], r["ort_load_ms"],
                   r["load_ratio"], r["wasmind_rss_mb"], r["ort_rss_mb"]))
            sys.stdout.flush()
        if rows:
            print("%-16s %10s %10s %7.2f | %9s %9s %7.2f | max latency ratio %.2f" %
                  ("geomean", "", "", geomean([r["ratio"] for r in rows]), "", "",
                   geomean([r["load_ratio"] for r in rows]), max(r["ratio"] for r in rows)))
        results += rows
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
