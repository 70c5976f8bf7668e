;; t_unstable.wat — WASI guest test of the wasi_unstable layouts that differ from preview1 (fd_seek
;; whence, 56-byte filestat and subscription); prints "DONE ok" or exits with the failing check.
;; NODE: skip (node:wasi applies the preview1 whence values to wasi_unstable)
(module
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_unstable" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "u.txt")
  (data (i32.const 32) "0123456789")
  (data (i32.const 48) "DONE ok\n")
  (func $check (param $ok i32) (param $n i32)
    (if (i32.eqz (local.get $ok)) (then (call $proc_exit (local.get $n)))))
  (func (export "_start")
    (local $fd i32)
    ;; create u.txt (creat|trunc), rights fd_read|fd_seek|fd_write|fd_tell|filestat_get
    (call $check (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 5)
      (i32.const 9) (i64.const 0x200066) (i64.const 0) (i32.const 0) (i32.const 100))) (i32.const 1))
    (local.set $fd (i32.load (i32.const 100)))
    ;; write 10 bytes
    (i32.store (i32.const 200) (i32.const 32))
    (i32.store (i32.const 204) (i32.const 10))
    (call $check (i32.eqz (call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 208))) (i32.const 2))
    ;; whence 2 = SET in snapshot 0: seek to 3
    (call $check (i32.eqz (call $fd_seek (local.get $fd) (i64.const 3) (i32.const 2) (i32.const 216))) (i32.const 3))
    (call $check (i64.eq (i64.load (i32.const 216)) (i64.const 3)) (i32.const 4))
    ;; whence 0 = CUR: +2 -> 5
    (call $check (i32.eqz (call $fd_seek (local.get $fd) (i64.const 2) (i32.const 0) (i32.const 216))) (i32.const 5))
    (call $check (i64.eq (i64.load (i32.const 216)) (i64.const 5)) (i32.const 6))
    ;; whence 1 = END: -1 -> 9
    (call $check (i32.eqz (call $fd_seek (local.get $fd) (i64.const -1) (i32.const 1) (i32.const 216))) (i32.const 7))
    (call $check (i64.eq (i64.load (i32.const 216)) (i64.const 9)) (i32.const 8))
    ;; whence 3 is invalid
    (call $check (i32.eq (call $fd_seek (local.get $fd) (i64.const 0) (i32.const 3) (i32.const 216)) (i32.const 28)) (i32.const 9))
    ;; filestat: fill 300..363 with 0xff, then nlink u32 at +20 = 1, size at +24 = 10, byte 56 untouched
    (memory.fill (i32.const 300) (i32.const 0xff) (i32.const 64))
    (call $check (i32.eqz (call $fd_filestat_get (local.get $fd) (i32.const 300))) (i32.const 10))
    (call $check (i32.eq (i32.load8_u (i32.const 316)) (i32.const 4)) (i32.const 11))
    (call $check (i32.eq (i32.load (i32.const 320)) (i32.const 1)) (i32.const 12))
    (call $check (i64.eq (i64.load (i32.const 324)) (i64.const 10)) (i32.const 13))
    (call $check (i32.eq (i32.load8_u (i32.const 356)) (i32.const 0xff)) (i32.const 14))
    (memory.fill (i32.const 300) (i32.const 0xff) (i32.const 64))
    (call $check (i32.eqz (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 300))) (i32.const 15))
    (call $check (i64.eq (i64.load (i32.const 324)) (i64.const 10)) (i32.const 16))
    ;; poll: one 56-byte clock subscription, relative 1 ms: userdata@0, tag@8, identifier@16,
    ;; clock id@24, timeout@32, precision@40, flags@48
    (memory.fill (i32.const 400) (i32.const 0) (i32.const 56))
    (i64.store (i32.const 400) (i64.const 0x77))
    (i64.store (i32.const 416) (i64.const 0x99))
    (i32.store (i32.const 424) (i32.const 1))
    (i64.store (i32.const 432) (i64.const 1000000))
    (call $check (i32.eqz (call $poll_oneoff (i32.const 400) (i32.const 500) (i32.const 1) (i32.const 540))) (i32.const 17))
    (call $check (i32.eq (i32.load (i32.const 540)) (i32.const 1)) (i32.const 18))
    (call $check (i64.eq (i64.load (i32.const 500)) (i64.const 0x77)) (i32.const 19))
    (call $check (i32.eqz (i32.load16_u (i32.const 508))) (i32.const 20))
    ;; "DONE ok"
    (i32.store (i32.const 200) (i32.const 48))
    (i32.store (i32.const 204) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))))
