#!/bin/sh
# run.sh — builds web/ and runs bench.mjs: wasmind-web vs onnxruntime-web in headless Chromium, and the WASI
# command (wasmind run --aot / --interp) vs the native engine. Arguments pass through (--browser, --wasi,
# --models a,b, --threads 1,2, --rounds N). Needs `npm install` in web/ and Debian chromium.
set -e
here=$(cd "$(dirname "$0")" && pwd)
make -s -C "$here/../../web" >/dev/null
[ -d "$here/../../web/node_modules/onnxruntime-web" ] || { echo "run 'npm install' in web/ first (onnxruntime-web, playwright-core)"; exit 1; }
exec node "$here/bench.mjs" "$@"
