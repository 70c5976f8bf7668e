;; limits.wat — guest of tests/aot/limits.c: runaway loops, runaway and mutual recursion, a host call.
(module
  (import "env" "nap" (func $nap))
  (type $v (func))
  (table 2 funcref)
  (elem (i32.const 0) $ping $pong)
  (func (export "spin") (loop $l (br $l)))
  (func (export "nap_then_spin") (call $nap) (loop $l (br $l)))
  (func $rec (export "rec") (call $rec))
  (func $acc (export "acc") (param i32) (result i32) (i32.add (call $acc (local.get 0)) (i32.const 1)))
  (func $ping (call_indirect (type $v) (i32.const 1)))
  (func $pong (call_indirect (type $v) (i32.const 0)))
  (func (export "mutual") (call $ping))
  (func (export "count") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))
