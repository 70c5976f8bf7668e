#!/usr/bin/env bash
# install-deps.sh — installs the Debian packages wasmind needs to build, test and benchmark, if missing.
set -euo pipefail
# python3-torch/-torchvision/-onnx/-numpy export the reference models and write their test data;
# imagemagick + fonts render OCR test images; espeak-ng + sox synthesise VAD test speech; chromium runs the
# browser tests of web/ (driven by npm playwright-core).
need=(cmake make gcc clang lld wabt libcjson-dev libstb-dev python3 wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev binaryen nodejs
      npm python3-numpy python3-onnx python3-torch python3-torchvision imagemagick fonts-dejavu-core fonts-liberation espeak-ng sox chromium)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# nodejs may come from outside Debian on some machines: accept a working `node` instead.
if command -v node >/dev/null; then
  for i in "${!missing[@]}"; do case "${missing[$i]}" in nodejs|npm) unset 'missing[i]' ;; esac; done
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
