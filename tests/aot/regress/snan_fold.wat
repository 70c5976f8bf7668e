;; snan_fold.wat — reduced from random modules s1/m04007 and s1/m03693 (wasm-reduce). With clang's
;; -ffp-exception-behavior=maytrap the AOT tier folded
;;   sub:  sNaN - (f32)0ull  to the sNaN itself: a signalling NaN out of arithmetic (the spec requires a
;;         quiet one; the interpreter gives 0xffed542a, AOT code gave 0xffad542a);
;;   div:  0/0 at compile time to +NaN, where the hardware and the interpreter give -NaN: legal for the
;;         spec (canonical NaN, either sign) but it reaches an integer here, through memory, so the tiers
;;         disagree on a plain i32. Fixed by "strict" floating point for clang (src/aot/aot.c, cc_args).
(module
  (import "fuzzing-support" "log-f32" (func $logf (param f32)))
  (import "fuzzing-support" "log-i32" (func $logi (param i32)))
  (memory 1 1)
  (func (export "sub")
    (call $logf (f32.sub (f32.const -nan:0x2d542a) (f32.convert_i64_u (i64.const 0)))))
  (func (export "mul")
    (call $logf (f32.mul (f32.const nan:0x200001) (f32.convert_i32_s (i32.const 1)))))
  (func (export "div")
    (f32.store align=1 (i32.const 4) (f32.div (f32.const 0) (f32.const 0)))
    (call $logi (i32.load8_u (i32.const 7))))
)
