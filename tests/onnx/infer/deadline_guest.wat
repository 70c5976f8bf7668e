;; deadline_guest.wat — a guest whose WASI-NN compute never ends: `run` loads the preloaded model "loop" (an
;; endless Loop, loop_huge.onnx) and computes it. test_infer.c runs it through `wasmind run --timeout`, which must
;; stop it like any runaway guest.
(module
  (import "wasi_ephemeral_nn" "load_by_name" (func $load (param i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "init_execution_context" (func $init (param i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "compute" (func $compute (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "loop")
  (func (export "run") (result i32)
    (if (call $load (i32.const 16) (i32.const 4) (i32.const 32)) (then (return (i32.const -1))))
    (if (call $init (i32.load (i32.const 32)) (i32.const 36)) (then (return (i32.const -2))))
    (call $compute (i32.load (i32.const 36)))))
