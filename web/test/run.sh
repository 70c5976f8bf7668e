#!/bin/sh
# run.sh — builds web/ (offline) and runs its tests with Node's test runner: JS API, reference models (Node.js,
# 1 and 2 threads), the WASI command (node:wasi, wasmind run --interp/--aot) and headless Chromium.
# Prints "N passed, N failed" last; exit status 1 on any failure.
set -u
cd "$(dirname "$0")/.."
make -s >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
tests="test/api.test.mjs test/models.test.mjs test/wasi.test.mjs"
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d node_modules/playwright-core ]; then
  tests="$tests test/browser.test.mjs"
else
  echo "SKIP browser tests: ${CHROMIUM:-/usr/bin/chromium} not installed (apt-get install chromium) or playwright-core missing (npm install)"
fi
out=$(node --test --test-reporter=tap --test-concurrency=1 $tests 2>&1)
status=$?
echo "$out" | grep -E '^(not )?ok |^# Subtest' | grep -v '^# Subtest' | sed 's/^/  /'
echo "$out" | grep -E '^not ok' -A12 | head -60
pass=$(echo "$out" | sed -n 's/^# pass \([0-9]*\)$/\1/p')
fail=$(echo "$out" | sed -n 's/^# fail \([0-9]*\)$/\1/p')
skip=$(echo "$out" | sed -n 's/^# skipped \([0-9]*\)$/\1/p')
[ "${skip:-0}" != 0 ] && echo "${skip} skipped (reference models or wasmind missing)"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
[ "$status" = 0 ]
