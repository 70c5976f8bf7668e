#!/bin/sh
# run.sh [WASMIND] — the AOT tier from the command line: the on-disk cache (a hit runs without compiling, corrupt,
# truncated or foreign entries are rejected and rebuilt, never executed; a .cwasm from `wasmind compile` runs; the
# size cap evicts the least recently used entries), traps (message, exit status and a wasm backtrace with
# name-section names, as in the interpreter) and the code variants (--timeout on no-limits code, --fuel). Prints PASS/FAIL lines and "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WASMIND="${1:-$ROOT/build/wasmind}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME="$T/cache"
C="$T/cache/wasmind"
pass=0 fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "PASS $1"; else fail=$((fail + 1)); echo "FAIL $1: got '$2', want '$3'"; fi; }
command -v cc >/dev/null || command -v clang >/dev/null || { echo "SKIP no C compiler"; echo "0 passed, 0 failed"; exit 0; }

wat2wasm -o "$T/m.wasm" - <<'WAT' || { echo "FAIL wat2wasm"; echo "0 passed, 1 failed"; exit 1; }
(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 3 i32.mul))
WAT
run() { "$WASMIND" run --aot --invoke f "$@" 2>"$T/err"; }

check "first run compiles and answers" "$(run "$T/m.wasm" 14)" 42
check "one cache entry" "$(ls "$C" | wc -l | tr -d ' ')" 1
entry="$C/$(ls "$C")"
check "cache hit answers" "$(run "$T/m.wasm" 5)" 15

# corrupt: flip bytes in the middle of the shared object; truncate
printf 'XXXXXXXX' | dd of="$entry" bs=1 seek=2000 conv=notrunc 2>/dev/null
check "corrupt entry: still right" "$(WASMIND_AOT_VERBOSE=1 run "$T/m.wasm" 7)" 21
check "corrupt entry rebuilt (valid again)" "$(run "$T/m.wasm" 8)" 24
head -c 100 "$entry" >"$T/short" && cp "$T/short" "$entry"
check "truncated entry: still right" "$(run "$T/m.wasm" 9)" 27
check "truncated entry replaced" "$([ "$(wc -c <"$entry")" -gt 100 ] && echo rebuilt)" rebuilt

# foreign: another module's entry under this module's key
wat2wasm -o "$T/other.wasm" - <<'WAT'
(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1000 i32.add))
WAT
"$WASMIND" compile "$T/other.wasm" -o "$T/other.cwasm" >/dev/null 2>&1
cp "$T/other.cwasm" "$entry"
check "foreign entry rejected" "$(run "$T/m.wasm" 10)" 30
check ".cwasm from wasmind compile runs" "$("$WASMIND" run --invoke f "$T/other.cwasm" 1 2>/dev/null)" 1001

# eviction: an old 900 KB entry goes when a new compile pushes the cache over 80% of 1 MB
head -c 900000 /dev/zero >"$C/0000old.cwasm"
touch -d '2020-01-01' "$C/0000old.cwasm"
wat2wasm -o "$T/third.wasm" - <<'WAT'
(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 2 i32.sub))
WAT
check "third module" "$(WASMIND_CACHE_MAX_MB=1 run "$T/third.wasm" 2)" 0
check "least recently used entry evicted" "$([ -e "$C/0000old.cwasm" ] && echo kept || echo evicted)" evicted
check "recent entries kept" "$(ls "$C" | wc -l | tr -d ' ')" 2

# traps: the same report as the interpreter's (inlined callees fold into their caller's frame: functions called
# only directly are static in the generated C and get inlined, so $middle is called through the table)
wat2wasm --debug-names -o "$T/trap.wasm" - <<'WAT'
(module
  (memory 1)
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $middle)
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
  (func $middle (param i32) (result i32)
    (if (result i32) (local.get 0) (then (i32.add (call $load (local.get 0)) (i32.const 1))) (else (i32.const 0))))
  (func $recurse (param i32) (result i32) (i32.add (call $recurse (local.get 0)) (i32.const 1)))
  (func (export "oob") (param i32) (result i32) (i32.mul (call_indirect (type $t) (local.get 0) (i32.const 0)) (i32.const 2)))
  (func (export "deep") (param i32) (result i32) (call $recurse (local.get 0))))
WAT
"$WASMIND" run --aot --invoke oob "$T/trap.wasm" 100000 >"$T/out" 2>&1; st=$?
check "out-of-bounds trap exits 134" "$st" 134
check "trap message" "$(grep -c 'wasm trap: out of bounds memory access' "$T/out")" 1
check "backtrace names the trapping function" "$(grep -c -- '- middle' "$T/out")" 1
"$WASMIND" run --aot --invoke deep "$T/trap.wasm" 1 >"$T/out" 2>&1; st=$?
check "runaway recursion traps" "$st" 134
check "call stack exhausted" "$(grep -c 'call stack exhausted' "$T/out")" 1
# (the C compiler may turn this recursion into a loop that counts depth: one frame is a right answer)
check "backtrace present" "$([ "$(grep -cE '^ +[0-9]+: func\[' "$T/out")" -ge 1 ] && echo yes)" yes

# code variants: without --fuel the no-limits code (no per-call or per-loop checks) runs, and --timeout stops it by
# a signal; --fuel compiles and runs the checked variant, and never runs no-limits code from a .cwasm
wat2wasm -o "$T/spin.wasm" - <<'WAT'
(module (func (export "spin") (loop $l (br $l))))
WAT
"$WASMIND" run --aot --timeout 300ms --invoke spin "$T/spin.wasm" >"$T/out" 2>&1; st=$?
check "--timeout stops a runaway loop" "$st" 134
check "deadline message" "$(grep -c 'deadline exceeded' "$T/out")" 1
"$WASMIND" run --aot --fuel 100000 --invoke spin "$T/spin.wasm" >"$T/out" 2>&1; st=$?
check "--fuel: the checked variant runs out of fuel" "$st:$(grep -c 'all fuel consumed' "$T/out")" 134:1
"$WASMIND" compile "$T/spin.wasm" -o "$T/spin.cwasm" >/dev/null 2>&1
"$WASMIND" run --fuel 100000 --invoke spin "$T/spin.cwasm" >"$T/out" 2>&1; st=$?
check "--fuel with a no-limits .cwasm: interpreted, with a notice" "$st:$(grep -c 'fuel' "$T/out"):$(grep -c 'interpreting' "$T/out")" 134:2:1
"$WASMIND" compile --limits "$T/spin.wasm" -o "$T/spin-limits.cwasm" >/dev/null 2>&1
"$WASMIND" run --fuel 100000 --invoke spin "$T/spin-limits.cwasm" >"$T/out" 2>&1; st=$?
check "--fuel with a .cwasm from compile --limits: native" "$st:$(grep -c 'all fuel consumed' "$T/out"):$(grep -c 'interpreting' "$T/out")" 134:1:0
"$WASMIND" run --timeout 300ms --invoke spin "$T/spin.cwasm" >"$T/out" 2>&1; st=$?
check "--timeout stops a no-limits .cwasm" "$st:$(grep -c 'deadline exceeded' "$T/out")" 134:1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
