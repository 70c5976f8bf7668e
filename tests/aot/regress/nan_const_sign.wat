;; nan_const_sign.wat — from random module s21/m01473 (diff.sh --no-limits): gcc rewrites x + C as x - (-C) and
;; x - C as x + (-C), which flips the sign bit of a NaN constant C. f32.max(-nan, x) (computed as a + b once a
;; NaN is involved) then returned +nan where the interpreter returns -nan, and f32.copysign carried the sign into
;; an ordinary number. Fixed by keeping NaN constants and reinterpreted bits opaque to the C compiler (WM_OPAQUE).
(module
  (func (export "copysign_from_max") (param f32) (result f32)
    f32.const -0x1.061652p-95
    f32.const -nan:0x7fe845
    local.get 0
    f32.max
    f32.const -0x1.03999ap+6
    local.get 0
    f32.min
    f32.mul
    f32.copysign)
  (func (export "add") (param f32) (result i32) local.get 0 f32.const -nan:0x7fe845 f32.add i32.reinterpret_f32)
  (func (export "sub") (param f32) (result i32) local.get 0 f32.const -nan:0x7fe845 f32.sub i32.reinterpret_f32)
  (func (export "min") (param f32) (result i32) f32.const -nan:0x7fe845 local.get 0 f32.min i32.reinterpret_f32)
  (func (export "max") (param f32) (result i32) f32.const -nan:0x7fe845 local.get 0 f32.max i32.reinterpret_f32)
  (func (export "reinterpreted") (param f32) (result i32)
    local.get 0 i32.const 0xffffe845 f32.reinterpret_i32 f32.add i32.reinterpret_f32)
  (func (export "dadd") (param f64) (result i64) local.get 0 f64.const -nan:0xfffffffb77422 f64.add i64.reinterpret_f64)
  (func (export "dsub") (param f64) (result i64) local.get 0 f64.const -nan:0xfffffffb77422 f64.sub i64.reinterpret_f64)
  (func (export "dmax") (param f64) (result i64) f64.const -nan:0xfffffffb77422 local.get 0 f64.max i64.reinterpret_f64)
  (func (export "dmin") (param f64) (result i64) f64.const -nan:0xfffffffb77422 local.get 0 f64.min i64.reinterpret_f64)
  (func (export "dcopysign") (param f64) (result f64)
    f64.const 1.5 f64.const -nan:0xfffffffb77422 local.get 0 f64.add f64.copysign))
