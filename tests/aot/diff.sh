#!/bin/sh
# diff.sh [N] [SEED] — differential test of the interpreter vs the AOT tier on N random modules made by
# binaryen's `wasm-opt -ttf` from seeded random bytes; checks them with the aot_diff driver (diff.c).
#
# Modules are cached in $WM_BUILD/aot-diff/s$SEED/ (WM_BUILD defaults to ./build), so a rerun only
# recompiles; the logs of a run go to $WM_BUILD/aot-diff/s$SEED-n$N/. Batches of WM_DIFF_BATCH modules
# (default 25) run in parallel (WM_DIFF_JOBS, default 2) under `nice`; AOT code is cached in
# $WM_BUILD/aot-diff/cache unless WM_DIFF_ARGS has --no-cache (it is passed to the driver as is).
# WM_DIFF_RESUME=1 keeps the logs of batches that finished (a long campaign can be resumed);
# WM_DIFF_DRIVER overrides the driver binary (e.g. a copy, so rebuilding does not change a running campaign).
# Prints every failure, then the totals: `N passed, N failed, N skipped (modules); ...`.
# Exit status: 0 if nothing failed.
set -eu

N=${1:-100}
SEED=${2:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${WM_BUILD:-$ROOT/build}
DRIVER=${WM_DIFF_DRIVER:-$BUILD/tests/aot_diff}
JOBS=${WM_DIFF_JOBS:-2}
BATCH=${WM_DIFF_BATCH:-25}
OUT=$BUILD/aot-diff
DIR=$OUT/s$SEED
LOGS=$OUT/s$SEED-n$N

[ -x "$DRIVER" ] || { echo "diff.sh: $DRIVER not built (cmake --build $BUILD --target aot_diff)" >&2; exit 2; }
command -v wasm-opt >/dev/null || { echo "diff.sh: wasm-opt (binaryen) not found; skipping"; exit 0; }
command -v python3 >/dev/null || { echo "diff.sh: python3 not found (needed for seeded random bytes)" >&2; exit 2; }

# Wasm 2.0 minus reference types: binaryen 108's -ttf with reference types on emits typed function
# references ((ref $t) results) and funcref-as-externref subtyping, which Wasm 2.0 rejects (39 of 40
# such modules fail wabt's wasm-validate too). No GC, exceptions, tail calls, threads, memory64.
FEATURES="--mvp-features --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int
          --enable-simd --enable-bulk-memory --enable-multivalue"

mkdir -p "$DIR" "$LOGS" "$OUT/cache"
# Odd-numbered modules also go through --fuzz-passes (a random binaryen optimisation pipeline, picked
# from the input): optimised code has other shapes (br_table, block results, select, reused locals).
# Random inputs of 1-16 KiB (modules of about 0.5-5 KB, a few dozen exports): small enough that the
# C compiler, which dominates the run time, stays around 0.3 s per module.
python3 - "$DIR" "$SEED" "$N" <<'EOF'
import os, random, sys
d, seed, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    p = os.path.join(d, "m%05d.bin" % i)
    if os.path.exists(p.replace(".bin", ".wasm")) or os.path.exists(p):
        continue
    r = random.Random("wasmind-aot-diff-%s-%d" % (seed, i))
    with open(p, "wb") as f:
        f.write(r.randbytes(r.randrange(1024, 16385)))
EOF
i=0
while [ $i -lt "$N" ]; do printf '%s/m%05d\n' "$DIR" $i; i=$((i + 1)); done > "$LOGS/list"
export FEATURES DIR LOGS
# The inner scripts are single-quoted on purpose: they expand the exported variables themselves.
# shellcheck disable=SC2016
xargs -P "$JOBS" -n 20 sh -c 'for m; do
    case $m in *[13579]) passes=--fuzz-passes ;; *) passes= ;; esac
    [ -f "$m.wasm" ] || { wasm-opt $FEATURES -ttf "$m.bin" $passes -o "$m.wasm" >/dev/null 2>&1 && rm -f "$m.bin" || true; }
done' sh < "$LOGS/list"

rm -f "$LOGS"/tmp.*
[ "${WM_DIFF_RESUME:-0}" = 1 ] || rm -f "$LOGS"/log.*
# shellcheck disable=SC2016
sed 's/$/.wasm/' "$LOGS/list" | XDG_CACHE_HOME=$OUT/cache xargs -P "$JOBS" -n "$BATCH" sh -c '
    log="$LOGS/log.$(basename "$1" .wasm)" tmp="$LOGS/tmp.$(basename "$1" .wasm)"
    grep -q " passed, .* failed, " "$log" 2>/dev/null && exit 0
    nice "$0" ${WM_DIFF_ARGS:-} "$@" > "$tmp" 2>&1; mv "$tmp" "$log"' "$DRIVER"

cat "$LOGS"/log.m* | grep -v ' passed, .* failed, ' || true
cat "$LOGS"/log.m* | awk -v want="$N" '
    / passed, .* failed, / { p += $1; f += $3; s += $5; c += $8; i += $11; nan += $13; n++ }
    END {
        printf "%d passed, %d failed, %d skipped (modules); %d exports compared, %d inconclusive, %d NaN-bit differences\n", p, f, s, c, i, nan
        if (p + f + s != want) { printf "diff.sh: only %d of %d modules accounted for (a batch died?)\n", p + f + s, want; exit 1 }
        exit f > 0 ? 1 : 0
    }'
