#!/usr/bin/env bash
# run.sh — interpreter benchmark suite entry point (`make bench`): bench/run.sh [--quick] [options] [path/to/wasmind]
# Builds the guests into bench/out/, checks native/wasmind/node checksums agree, prints timing tables (see bench.py --help).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/bench.py" "$@"
