#!/bin/sh
# build.sh — standalone build of the ONNX engine and wasmind-onnx-test (without the full CMake tree).
# Usage: tests/onnx/build.sh [extra cc flags]   → build/onnx/wasmind-onnx-test
set -e
cd "$(dirname "$0")/../.."
mkdir -p build/onnx
CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror $*"
objs=""
for f in src/onnx/pb.c src/onnx/model.c src/onnx/graph.c src/onnx/optimize.c src/onnx/infer.c src/kernels/*.c src/onnx/tool_test.c; do
  o=build/onnx/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ src/kernels/kernels.h -nt "$o" ] || [ src/onnx/onnx_ir.h -nt "$o" ]; then
    cc $CFLAGS -c "$f" -o "$o"
  fi
  objs="$objs $o"
done
cc $CFLAGS -o build/onnx/wasmind-onnx-test $objs -lm
