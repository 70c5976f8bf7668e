;; Interpreter regression tests for the translator's superinstructions (src/interp/translate.c):
;; each function is written as the exact instruction sequence a peephole recognises, and each is
;; checked against the result the unfused sequence gives, including traps, wrapping addresses,
;; and the cases where fusing would be wrong (a local written between an address add and its
;; store, a block boundary in between, non-matching shift counts or lanes).
;; Run: build/wasmind wast tests/data/interp_superinstructions.wast

(module
  (memory 1)
  (data (i32.const 0) "\01\ff\80\7f\10\20\30\40\fe\02\03\04\05\06\07\08")

  ;; i8x16.extract_lane_u + f32.convert_i32_u/s, f32x4.splat, f32x4.replace_lane: IR_F32X4_U8LANES
  (func (export "u8x4_to_f32x4") (param $a i32) (result v128)
    (local $v v128)
    local.get $a
    v128.load64_zero
    local.tee $v
    i8x16.extract_lane_u 0
    f32.convert_i32_u
    f32x4.splat
    local.get $v
    i8x16.extract_lane_u 1
    f32.convert_i32_u
    f32x4.replace_lane 1
    local.get $v
    i8x16.extract_lane_u 2
    f32.convert_i32_s
    f32x4.replace_lane 2
    local.get $v
    i8x16.extract_lane_u 3
    f32.convert_i32_u
    f32x4.replace_lane 3)
  ;; an incomplete chain: lanes 2 and 3 keep the splatted lane 0
  (func (export "u8x2_to_f32x4") (param $a i32) (result v128)
    (local $v v128)
    local.get $a
    v128.load
    local.tee $v
    i8x16.extract_lane_u 0
    f32.convert_i32_u
    f32x4.splat
    local.get $v
    i8x16.extract_lane_u 1
    f32.convert_i32_u
    f32x4.replace_lane 1)
  ;; lanes out of order: must not be fused into the in-order conversion
  (func (export "u8_lanes_swapped") (param $a i32) (result v128)
    (local $v v128)
    local.get $a
    v128.load
    local.tee $v
    i8x16.extract_lane_u 0
    f32.convert_i32_u
    f32x4.splat
    local.get $v
    i8x16.extract_lane_u 2
    f32.convert_i32_u
    f32x4.replace_lane 1)
  (func (export "u8_lane_to_f32") (param $a i32) (result f32)
    local.get $a
    v128.load
    i8x16.extract_lane_u 3
    f32.convert_i32_u)

  ;; i8x16.shuffle + i32x4.shl 24 + i32x4.shr_s 24: IR_I32X4_EXTEND8_S / IR_LD(X)_I8X4_S
  (func (export "sext_shuffle_k4") (param $a i32) (result v128)
    local.get $a
    v128.load
    v128.const i32x4 0 0 0 0
    i8x16.shuffle 4 0 0 0 5 0 0 0 6 0 0 0 7 0 0 0
    i32.const 24
    i32x4.shl
    i32.const 24
    i32x4.shr_s)
  (func (export "sext_load32_splat") (param $a i32) (param $b i32) (result v128)
    local.get $a
    local.get $b
    i32.add
    v128.load32_splat
    v128.const i32x4 0 0 0 0
    i8x16.shuffle 0 0 0 0 1 0 0 0 2 0 0 0 3 0 0 0
    i32.const 24
    i32x4.shl
    i32.const 24
    i32x4.shr_s)
  (func (export "sext_i32_load_splat") (param $a i32) (result v128)
    local.get $a
    i32.const 8
    i32.add
    i32.load
    i32x4.splat
    v128.const i32x4 0 0 0 0
    i8x16.shuffle 0 0 0 0 1 0 0 0 2 0 0 0 3 0 0 0
    i32.const 24
    i32x4.shl
    i32.const 24
    i32x4.shr_s)
  ;; load64_zero reads 8 bytes: the fused form must trap where it would
  (func (export "sext_load64_zero") (param $a i32) (param $b i32) (result v128)
    local.get $a
    local.get $b
    i32.add
    v128.load64_zero offset=0
    v128.const i32x4 0 0 0 0
    i8x16.shuffle 0 0 0 0 1 0 0 0 2 0 0 0 3 0 0 0
    i32.const 24
    i32x4.shl
    i32.const 24
    i32x4.shr_s)
    (func (export "sext_load32_zero") (param $a i32) (result v128)
    local.get $a
    v128.load32_zero offset=8
    v128.const i32x4 0 0 0 0
    i8x16.shuffle 0 0 0 0 1 0 0 0 2 0 0 0 3 0 0 0
    i32.const 24
    i32x4.shl
    i32.const 24
    i32x4.shr_s)
  ;; different counts: plain ops
  (func (export "shift_24_16") (param $a i32) (result v128)
    local.get $a
    v128.load
    v128.const i32x4 0 0 0 0
    i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
    i32.const 24
    i32x4.shl
    i32.const 16
    i32x4.shr_s)

  ;; i32/f32.load + i32x4/f32x4.splat or replace_lane: v128.load32_splat / load32_lane forms
  (func (export "load_splat") (param $a i32) (param $b i32) (result v128)
    local.get $a
    local.get $b
    i32.add
    f32.load offset=4
    f32x4.splat)
  (func (export "load_replace") (param $a i32) (param $b i32) (result v128)
    v128.const i32x4 1 2 3 4
    local.get $a
    local.get $b
    i32.add
    i32.load offset=4
    i32x4.replace_lane 2
    local.get $a
    f32.load
    f32x4.replace_lane 0)

  ;; f32x4/f64x2 add/mul with an operand just loaded, and accumulation into memory
  (func (export "mul_load") (param $a i32) (result v128)
    v128.const f32x4 1 2 3 -4
    local.get $a
    v128.load offset=16
    f32x4.mul)
  (func (export "mul_loadx") (param $a i32) (param $b i32) (result v128)
    v128.const f64x2 0.5 -2
    local.get $a
    local.get $b
    i32.add
    v128.load offset=16
    f64x2.mul)
  (func (export "axpy") (param $p i32) (param $n i32) (result v128)
    loop
      local.get $p
      v128.const f32x4 1.5 2 -1 0.25
      local.get $p
      v128.load offset=512
      f32x4.add
      v128.store offset=512
      local.get $n
      i32.const 1
      i32.sub
      local.tee $n
      br_if 0
    end
    local.get $p
    v128.load offset=512)
  (func (export "axpy_x") (param $p i32) (param $q i32) (param $n i32) (result v128)
    loop
      local.get $p
      local.get $q
      i32.add
      v128.const f64x2 1 -0.5
      local.get $p
      local.get $q
      i32.add
      v128.load offset=640
      f64x2.add
      v128.store offset=640
      local.get $n
      i32.const 1
      i32.sub
      local.tee $n
      br_if 0
    end
    local.get $p
    local.get $q
    i32.add
    v128.load offset=640)
  ;; different address: load and store stay apart
  (func (export "add_store_elsewhere") (param $p i32) (result v128)
    local.get $p
    i32.const 16
    i32.add
    v128.const i32x4 0 0 0 0
    local.get $p
    v128.load
    f32x4.add
    v128.store
    local.get $p
    v128.load offset=16)

  ;; stores whose address is an i32.add: IR_STX_*
  (func (export "store_add") (param $a i32) (param $b i32) (param $v i32) (result i32)
    local.get $a
    local.get $b
    i32.add
    local.get $v
    i32.const 1
    i32.add
    i32.store offset=16
    local.get $a
    local.get $b
    i32.add
    i32.load offset=16)
  ;; the value expression writes an operand of the address add: the add must see the old value
  (func (export "store_add_local_written") (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    i32.add
    i32.const 32
    local.tee $a
    i32.store8
    i32.const 100
    i32.load8_u)
  ;; a block (a jump target) between the add and the store
  (func (export "store_add_block") (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    i32.add
    block (result i32)
      i32.const 0
      local.set $b
      i32.const 77
    end
    i32.store16
    i32.const 200
    i32.load16_u)
  (func (export "store_v128_add") (param $a i32) (param $b i32) (result v128)
    local.get $a
    local.get $b
    i32.add
    v128.const i32x4 5 6 7 8
    v128.store offset=4
    i32.const 300
    v128.load)
  (func (export "store_i64_add") (param $a i32) (param $b i32) (param $v i64) (result i64)
    local.get $a
    local.get $b
    i32.add
    local.get $v
    i64.store offset=8
    local.get $a
    local.get $b
    i32.add
    i64.load offset=8)

  ;; `i32.const c; i32.sub` runs as an add of -c, fused with the load or store using it
  (func (export "sub_load") (param $a i32) (result i32)
    local.get $a
    i32.const 8
    i32.sub
    i32.load)
  (func (export "sub_store") (param $a i32) (param $v i32) (result i32)
    local.get $a
    i32.const 0x80000000
    i32.sub
    local.get $v
    i32.store offset=4
    local.get $a
    i32.const 0x80000000
    i32.sub
    i32.load offset=4)
  (func (export "sub_value") (param $a i32) (result i32)
    local.get $a
    i32.const -5
    i32.sub)

  ;; i32.eq + i32.eqz + br_if
  (func (export "eq_eqz_br_if") (param $a i32) (param $b i32) (result i32)
    block
      local.get $a
      local.get $b
      i32.eq
      i32.eqz
      br_if 0
      i32.const 1
      return
    end
    i32.const 0)

  ;; a counted loop: the back edge charges fuel, the count must be exact
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    loop
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if 0
    end
    local.get $i)
)

(assert_return (invoke "u8x4_to_f32x4" (i32.const 0)) (v128.const f32x4 1 255 128 127))
(assert_return (invoke "u8x4_to_f32x4" (i32.const 4)) (v128.const f32x4 16 32 48 64))
(assert_trap (invoke "u8x4_to_f32x4" (i32.const 65529)) "out of bounds memory access")
(assert_return (invoke "u8x2_to_f32x4" (i32.const 1)) (v128.const f32x4 255 128 255 255))
(assert_return (invoke "u8_lanes_swapped" (i32.const 0)) (v128.const f32x4 1 128 1 1))
(assert_return (invoke "u8_lane_to_f32" (i32.const 0)) (f32.const 127))

(assert_return (invoke "sext_shuffle_k4" (i32.const 0)) (v128.const i32x4 16 32 48 64))
(assert_return (invoke "sext_shuffle_k4" (i32.const 4)) (v128.const i32x4 -2 2 3 4))
(assert_return (invoke "sext_load32_splat" (i32.const 0) (i32.const 0)) (v128.const i32x4 1 -1 -128 127))
(assert_return (invoke "sext_load32_splat" (i32.const 10) (i32.const -2)) (v128.const i32x4 -2 2 3 4))
(assert_trap (invoke "sext_load32_splat" (i32.const 65533) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "sext_i32_load_splat" (i32.const 0)) (v128.const i32x4 -2 2 3 4))
(assert_return (invoke "sext_load64_zero" (i32.const 2) (i32.const 2)) (v128.const i32x4 16 32 48 64))
(assert_return (invoke "sext_load64_zero" (i32.const 65528) (i32.const 0)) (v128.const i32x4 0 0 0 0))
(assert_trap (invoke "sext_load64_zero" (i32.const 65532) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "sext_load32_zero" (i32.const 0)) (v128.const i32x4 -2 2 3 4))
(assert_trap (invoke "sext_load32_zero" (i32.const 65528)) "out of bounds memory access")
(assert_return (invoke "shift_24_16" (i32.const 0)) (v128.const i32x4 0x100 0x1000 0xfffffe00 0x500))

(assert_return (invoke "load_splat" (i32.const 0) (i32.const 0)) (v128.const i32x4 0x40302010 0x40302010 0x40302010 0x40302010))
(assert_trap (invoke "load_splat" (i32.const 65530) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "load_replace" (i32.const 4) (i32.const -4)) (v128.const i32x4 0x40302010 2 0x40302010 4))
(assert_trap (invoke "load_replace" (i32.const 65532) (i32.const 0)) "out of bounds memory access")

(assert_return (invoke "mul_load" (i32.const 1008)) (v128.const f32x4 0 0 0 -0))
(assert_trap (invoke "mul_load" (i32.const 65520)) "out of bounds memory access")
(assert_return (invoke "mul_loadx" (i32.const -16) (i32.const 16)) (v128.const f64x2 0 -0))
(assert_return (invoke "axpy" (i32.const 2000) (i32.const 4)) (v128.const f32x4 6 8 -4 1))
(assert_trap (invoke "axpy" (i32.const 65024) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "axpy_x" (i32.const 3000) (i32.const 8) (i32.const 3)) (v128.const f64x2 3 -1.5))
(assert_trap (invoke "axpy_x" (i32.const 64896) (i32.const 0) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "add_store_elsewhere" (i32.const 4)) (v128.const i32x4 0x40302010 0x040302fe 0x08070605 0))
(assert_return (invoke "store_add" (i32.const 1000) (i32.const 24) (i32.const 41)) (i32.const 42))
(assert_return (invoke "store_add" (i32.const -16) (i32.const 16) (i32.const 6)) (i32.const 7))
(assert_trap (invoke "store_add" (i32.const 65520) (i32.const 0) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "store_add_local_written" (i32.const 60) (i32.const 40)) (i32.const 32))
(assert_return (invoke "store_add_block" (i32.const 150) (i32.const 50)) (i32.const 77))
(assert_return (invoke "store_v128_add" (i32.const 290) (i32.const 6)) (v128.const i32x4 5 6 7 8))
(assert_trap (invoke "store_v128_add" (i32.const 65520) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "store_i64_add" (i32.const 400) (i32.const 8) (i64.const -3)) (i64.const -3))

(assert_return (invoke "sub_load" (i32.const 16)) (i32.const 0x040302fe))
(assert_trap (invoke "sub_load" (i32.const 4)) "out of bounds memory access")
(assert_return (invoke "sub_store" (i32.const 0x80000400) (i32.const 99)) (i32.const 99))
(assert_trap (invoke "sub_store" (i32.const 0) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "sub_value" (i32.const 10)) (i32.const 15))
(assert_return (invoke "sub_value" (i32.const 0x7ffffffe)) (i32.const 0x80000003))
(assert_return (invoke "eq_eqz_br_if" (i32.const 3) (i32.const 3)) (i32.const 1))
(assert_return (invoke "eq_eqz_br_if" (i32.const 3) (i32.const 4)) (i32.const 0))

(assert_return (invoke "count" (i32.const 0)) (i32.const 1))
(assert_return (invoke "count" (i32.const 100000)) (i32.const 100000))
