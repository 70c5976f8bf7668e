;; wasi_nn_mem0.wat — guest whose memory has zero pages: every pointer is out of bounds, even 0 with length 0.
(module
  (import "wasi_ephemeral_nn" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "load_by_name" (func $load_by_name (param i32 i32 i32) (result i32)))
  (memory (export "memory") 0)
  (func (export "load") (param i32 i32 i32 i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "load_by_name") (param i32 i32 i32) (result i32)
    (call $load_by_name (local.get 0) (local.get 1) (local.get 2))))
