#!/usr/bin/env bash
# demo.sh — builds the demo guest (C -> wasm32) and runs its exports through `wasmind run`.
set -euo pipefail
wasmind=${1:-build/wasmind}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/examples"; mkdir -p "$out"
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -o "$out/demo.wasm" "$root/examples/demo/demo.c"
echo "\$ wasmind run --invoke fib demo.wasm 27";        "$wasmind" run --invoke fib "$out/demo.wasm" 27
echo "\$ wasmind run --invoke fnv1a demo.wasm 1000";    "$wasmind" run --invoke fnv1a "$out/demo.wasm" 1000
echo "\$ wasmind run --invoke matmul_trace demo.wasm";  "$wasmind" run --invoke matmul_trace "$out/demo.wasm"
