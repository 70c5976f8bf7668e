#!/usr/bin/env bash
# run.sh — builds the WASI guest tests and runs them under `wasmind run` (openat2 and fallback
# resolvers) and Node's node:wasi, comparing outputs (lines tagged [wm] left out); "N passed, N failed".
# Usage: tests/wasi/run.sh [WASMIND_BINARY]   (default: $WASMIND or build/wasmind)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WASMIND=${1:-${WASMIND:-$ROOT/build/wasmind}}
NODE=${NODE:-node}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wasmind-wasi.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }

if [ ! -x "$WASMIND" ]; then echo "error: no wasmind binary at $WASMIND (build first or pass its path)" >&2; exit 2; fi
have_node=1
"$NODE" --version >/dev/null 2>&1 || { have_node=0; echo "note: node not found; skipping the Node comparison"; }

# ---- build ----
mkdir -p "$WORK/bin"
for src in "$HERE"/t_*.c; do
  name=$(basename "$src" .c)
  if ! clang --target=wasm32-wasi -O2 --sysroot=/usr -Wall -Wextra -Werror "$src" -o "$WORK/bin/$name.wasm" 2>"$WORK/$name.build"; then
    fail "build:$name" "$(head -3 "$WORK/$name.build")"
  fi
done
for src in "$HERE"/t_*.wat; do
  name=$(basename "$src" .wat)
  wat2wasm "$src" -o "$WORK/bin/$name.wasm" 2>"$WORK/$name.build" || fail "build:$name" "$(head -3 "$WORK/$name.build")"
done

# ---- fixtures: OUT/secret.txt outside, OUT/sandbox preopened as /sandbox (see t_sandbox.c) ----
make_fixture() {
  local out=$1 s=$1/sandbox
  rm -rf "$out"; mkdir -p "$s/sub"
  printf SECRET > "$out/secret.txt"
  printf inside > "$s/file.txt"
  ln -s ../file.txt "$s/sub/inner_ok"; ln -s .. "$s/sub/up"; ln -s sub "$s/sub_link"
  ln -s "$out/secret.txt" "$s/abs_link"; ln -s "$out" "$s/abs_dir_link"; ln -s ../secret.txt "$s/rel_link"
  ln -s .. "$s/dir_link_out"; ln -s sub/../../secret.txt "$s/deep_out"
  ln -s loop2 "$s/loop1"; ln -s loop1 "$s/loop2"; ln -s self "$s/self"
}
# The outside of the sandbox must be untouched: exactly `sandbox` and `secret.txt` = SECRET.
outside_intact() {
  local out=$1
  [ "$(cd "$out" && ls -A | tr '\n' ' ')" = "sandbox secret.txt " ] && [ "$(cat "$out/secret.txt")" = SECRET ]
}

ARGS=(alpha "beta gamma" "")
ENVS=(FOO=bar EMPTY=)

# run_wasmind NAME MODE OUTFILE [extra wasmind options...]; sets rc
run_wasmind() {
  local name=$1 mode=$2 outf=$3; shift 3
  local out=$WORK/fx-$name-$mode
  make_fixture "$out"
  local envopts=()
  for e in "${ENVS[@]}"; do envopts+=(--env "$e"); done
  if [ "$mode" = fallback ]; then export WASMIND_WASI_RESOLVE=fallback; else unset WASMIND_WASI_RESOLVE; fi
  timeout 60 "$WASMIND" run --dir "$out/sandbox::/sandbox" "${envopts[@]}" --env WASI_TEST_RUNTIME=wasmind "$@" \
    "$WORK/bin/$name.wasm" "${ARGS[@]}" >"$outf" 2>"$outf.err" </dev/null
  rc=$?
  unset WASMIND_WASI_RESOLVE
  outside_ok=1
  outside_intact "$out" || outside_ok=0
}

check_run() {   # check_run LABEL NAME OUTFILE RC WANT_RC
  local label=$1 name=$2 outf=$3 got=$4 want=$5
  if [ "$got" != "$want" ]; then fail "$label" "exit status $got, want $want; $(grep -m3 '^FAIL\|rror' "$outf" "$outf.err" | tr '\n' ' ')"
  elif grep -q '^FAIL\|^ESCAPE' "$outf"; then fail "$label" "$(grep -m5 '^FAIL\|^ESCAPE' "$outf" | tr '\n' ' ')"
  elif ! grep -q '^DONE ok' "$outf"; then fail "$label" "no DONE line; $(tail -3 "$outf.err" | tr '\n' ' ')"
  elif [ "$outside_ok" != 1 ]; then fail "$label" "the guest changed files outside its sandbox"
  else pass "$label"; fi
}

for wasm in "$WORK"/bin/t_*.wasm; do
  name=$(basename "$wasm" .wasm)
  src=$HERE/$name.c; [ -f "$src" ] || src=$HERE/$name.wat
  want_rc=$(sed -n 's/.*EXIT: \([0-9]*\).*/\1/p' "$src" | head -1); want_rc=${want_rc:-0}
  version=preview1; case "$name" in t_unstable) version=unstable;; esac

  if [ "$name" = t_sock ]; then
    # the guest accepts one connection on guest fd 4; we are the client
    for mode in openat2 fallback; do
      port=$((20000 + RANDOM % 30000))
      outf=$WORK/$name.$mode.out
      : >"$outf"
      ( run_wasmind "$name" "$mode" "$outf" --listen "127.0.0.1:$port"; echo "$rc" >"$outf.rc"; echo "$outside_ok" >"$outf.outside" ) &
      for _ in $(seq 100); do grep -q '^ready' "$outf" 2>/dev/null && break; sleep 0.1; done
      reply=$(exec 2>/dev/null; exec 9<>"/dev/tcp/127.0.0.1/$port" && printf ping >&9 && timeout 10 cat <&9)
      wait
      rc=$(cat "$outf.rc"); outside_ok=$(cat "$outf.outside")
      if [ "$reply" != pong ]; then fail "wasmind[$mode]:$name" "client got '$reply', want 'pong'"
      else check_run "wasmind[$mode]:$name" "$name" "$outf" "$rc" "$want_rc"; fi
    done
    continue
  fi

  for mode in openat2 fallback; do
    outf=$WORK/$name.$mode.out
    run_wasmind "$name" "$mode" "$outf"
    check_run "wasmind[$mode]:$name" "$name" "$outf" "$rc" "$want_rc"
  done

  # ---- Node comparison ----
  [ "$have_node" = 1 ] || continue
  out=$WORK/fx-$name-node
  make_fixture "$out"
  nodeenv=()
  for e in "${ENVS[@]}"; do nodeenv+=(--env "$e"); done
  run_node() {
    timeout 60 "$NODE" --no-warnings "$HERE/node_runner.mjs" "$wasm" "$out/sandbox" "$version" "${nodeenv[@]}" \
      --env WASI_TEST_RUNTIME=node -- "${ARGS[@]}" >"$WORK/$name.node.out" 2>"$WORK/$name.node.err" </dev/null
  }
  if grep -q 'NODE: skip' "$src"; then
    echo "skip node-compare:$name ($(sed -n 's/.*NODE: skip (\([^)]*\)).*/\1/p' "$src" | head -1))"
    if [ "$name" = t_sandbox ]; then
      run_node
      echo "info: node:wasi lets the sandbox test escape $(grep -c '^ESCAPE' "$WORK/$name.node.out") time(s)" \
           "(outside $(outside_intact "$out" && echo intact || echo CHANGED)); wasmind: 0"
    fi
    continue
  fi
  run_node
  nrc=$?
  grep -v '\[wm\]' "$WORK/$name.openat2.out" >"$WORK/$name.a"
  grep -v '\[wm\]' "$WORK/$name.node.out" >"$WORK/$name.b"
  if [ "$nrc" != "$want_rc" ]; then fail "node-compare:$name" "node exit status $nrc, want $want_rc; $(tail -2 "$WORK/$name.node.err" | tr '\n' ' ')"
  elif ! diff -q "$WORK/$name.a" "$WORK/$name.b" >/dev/null; then
    fail "node-compare:$name" "outputs differ: $(diff "$WORK/$name.a" "$WORK/$name.b" | head -6 | tr '\n' ' ')"
  else pass "node-compare:$name ($(wc -l <"$WORK/$name.a") lines)"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
