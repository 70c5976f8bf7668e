#!/bin/sh
# run.sh [WASMIND] — end-to-end test of the classify WASI-NN guest: builds it, fetches a real photo (skimage's chelsea.png
# from the Debian python3-skimage package) into build/classify/, and checks the guest's preprocessing and top-5
# against `wasmind nn run` on the identical (dumped) input tensor. Prints "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T="$ROOT/tests/classify"
B="$ROOT/build/classify"
WASMIND="${1:-${WASMIND:-$ROOT/build/wasmind}}"   # run.sh [PATH/TO/wasmind]
LIGHT="${LIGHT:-/work/shared/testsuite/onnx/light}"
mkdir -p "$B"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

[ -x "$WASMIND" ] || { echo "FAIL no $WASMIND (build wasmind first)"; fail=1; finish; }

# 1. guest
if make -s -C "$ROOT/examples/classify" OUT="$B/classify.wasm" >"$B/build.log" 2>&1; then ok "build guest"
else cat "$B/build.log"; bad "build guest (needs clang wasm32, wasi-libc, libstb-dev)"; finish; fi

# 2. image (not committed: extracted from the Debian package on first use)
IMG="$B/chelsea.png"
if [ ! -s "$IMG" ]; then
    tmp=$(mktemp -d)
    # A fresh machine may have no package lists yet: update once and retry.
    (cd "$tmp" && { apt-get download python3-skimage >/dev/null 2>&1 ||
                    { apt-get update -qq >/dev/null 2>&1 && apt-get download python3-skimage >/dev/null 2>&1; }; } &&
        dpkg -x python3-skimage_*.deb x) &&
        cp "$(find "$tmp/x" -path '*skimage/data/chelsea.png' | head -1)" "$IMG" 2>/dev/null
    rm -rf "$tmp"
fi
[ -s "$IMG" ] || { bad "fetch chelsea.png (apt-get download python3-skimage)"; finish; }

# 3. an input-sensitive model (the light models have constant weights: uniform scores)
python3 "$T/make_model.py" "$B/tiny.onnx" data_0 || { bad "generate tiny.onnx"; finish; }
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "class-%03d\n", i }' >"$B/labels.txt"

# compare NAME MODEL INPUT_NAME GUEST_ARGS... : the guest dumps its input; the host runs the model on that file
compare() {
    name=$1 model=$2 input=$3
    shift 3
    rm -f "$B/in_$name.pb" "$B/guest_$name.txt"
    if ! "$WASMIND" run --dir "$B::/b" --dir "$(dirname "$model")::/m" \
            --nn-preload "net:onnx:cpu:$model" "$B/classify.wasm" "$@" \
            --input-name "$input" --dump-input "/b/in_$name.pb" /b/chelsea.png >"$B/guest_$name.txt" 2>"$B/guest_$name.err"; then
        cat "$B/guest_$name.err"; bad "$name: guest run"; return
    fi
    rm -rf "$B/host_$name"
    if ! "$WASMIND" nn run "$model" --input "$input=$B/in_$name.pb" --output-dir "$B/host_$name" >/dev/null 2>"$B/host_$name.err"; then
        cat "$B/host_$name.err"; bad "$name: wasmind nn run"; return
    fi
    python3 "$T/topk.py" "$B/host_$name/output_0.pb" 5 >"$B/host_$name.txt"
    # indices must match exactly, scores to 1e-5 relative (labels, if any, are dropped from the guest's lines)
    if python3 - "$B/guest_$name.txt" "$B/host_$name.txt" <<'PY'
import sys
g = [l.split()[:3] for l in open(sys.argv[1]) if l[0].isdigit()]
h = [l.split()[:3] for l in open(sys.argv[2]) if l[0].isdigit()]
ok = len(g) == len(h) == 5 and all(a[1] == b[1] and abs(float(a[2]) - float(b[2])) <= 1e-5 * max(1e-30, abs(float(b[2])))
                                   for a, b in zip(g, h))
sys.exit(0 if ok else 1)
PY
    then ok "$name: top-5 $(awk 'NR>1{printf "%s ", $2}' "$B/guest_$name.txt")matches wasmind nn run"
    else echo "guest:"; cat "$B/guest_$name.txt"; echo "host:"; cat "$B/host_$name.txt"; bad "$name: top-5 differs"; fi
}

compare tiny_preload "$B/tiny.onnx" data_0 --model net
compare tiny_file "$B/tiny.onnx" data_0 --model-file /m/tiny.onnx --labels /b/labels.txt
if grep -q "^1 [0-9]* [0-9.e-]* class-" "$B/guest_tiny_file.txt"; then ok "labels printed"; else bad "labels printed"; fi
if [ -f "$B/in_tiny_preload.pb" ] && cmp -s "$B/in_tiny_preload.pb" "$B/in_tiny_file.pb"; then ok "input dump is deterministic"
else bad "input dump is deterministic"; fi

# 4. the guest's preprocessing against an independent Python implementation
if [ -f "$B/in_tiny_preload.pb" ] && python3 "$T/check_preprocess.py" "$IMG" "$B/in_tiny_preload.pb"; then ok "preprocessing (decode, bilinear, normalise)"
else bad "preprocessing (decode, bilinear, normalise)"; fi

# 5. real architectures from the ONNX light set (constant weights: checks the pipeline, not the ranking);
#    CLASSIFY_LIGHT=0 skips them (minutes under ASan)
if [ "${CLASSIFY_LIGHT:-1}" != 0 ]; then
[ -f "$LIGHT/light_squeezenet.onnx" ] && compare squeezenet "$LIGHT/light_squeezenet.onnx" data_0 --model net
[ -f "$LIGHT/light_resnet50.onnx" ] && compare resnet50 "$LIGHT/light_resnet50.onnx" gpu_0/data_0 --model-file /m/light_resnet50.onnx
fi

# 6. errors surface as messages, not crashes
if "$WASMIND" run --dir "$B::/b" "$B/classify.wasm" --model nosuch /b/chelsea.png >/dev/null 2>"$B/err.txt"; then
    bad "missing model is an error"
elif grep -q "not_found" "$B/err.txt"; then ok "missing model reports not_found"; else cat "$B/err.txt"; bad "missing model reports not_found"; fi

finish
