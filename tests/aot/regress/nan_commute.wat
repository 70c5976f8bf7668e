;; nan_commute.wat — reduced from random module s1/m00339 (wasm-reduce): a commutative float operation
;; with two different NaN operands. x86 returns the first operand's NaN quieted; the interpreter (gcc)
;; keeps the wasm operand order, the C compiler for AOT code may swap the operands (clang did here), so
;; the stored NaN differs. Both are arithmetic NaNs, which the spec allows; the driver must accept it
;; (as a "NaN-bit difference") in a result, a log argument and in memory, at an unaligned address.
(module
  (import "fuzzing-support" "log-f64" (func $log (param f64)))
  (memory 1 1)
  (func (export "mul") (param f32) (result f64)
    (f64.store (i32.const 22) (f64.mul (f64.promote_f32 (f32.const nan)) (f64.const -nan:0xfffffffffffdd)))
    (call $log (f64.add (f64.const nan:0x8000000000001) (f64.const -nan:0x123)))
    (f64.mul (f64.const nan) (f64.const -nan:0xfffffffffffdd)))
)
