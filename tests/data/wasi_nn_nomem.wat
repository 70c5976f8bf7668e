;; wasi_nn_nomem.wat — guest without a linear memory: wasi-nn calls must fail with missing_memory, not crash.
(module
  (import "wasi_ephemeral_nn" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  (func (export "load") (param i32 i32 i32 i32 i32) (result i32)
    (call $load (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))))
