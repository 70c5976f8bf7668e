;; limits.wat — the driver's own checks: a call that never ends (fuel), unbounded recursion (stack)
;; and what follows them must be reported inconclusive, not as mismatches; a trap and a NaN compare.
(module
  (import "fuzzing-support" "log-i32" (func $log (param i32)))
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "spin") (loop $l (global.set $g (i32.add (global.get $g) (i32.const 1))) (br $l)))
  (func (export "after") (result i32) (call $log (global.get $g)) (i32.const 7))
  (func (export "nan") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
  (func (export "trap") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
  (func $deep (export "deep") (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))
)
