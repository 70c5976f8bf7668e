// fib.c — benchmark guest: naive doubly-recursive Fibonacci (call/return overhead, small frames).
// run(n) returns fib(n) mod 2^32 plus a few smaller terms, so the call tree cannot be memoised away.
#include <stdint.h>
#if defined(__wasm__)
#define EXPORT __attribute__((export_name("run")))
#else
#define EXPORT
#endif

__attribute__((noinline)) static uint32_t fib(int32_t n) {
  return n < 2 ? (uint32_t)n : fib(n - 1) + fib(n - 2);
}

EXPORT int32_t run(int32_t n) {
  uint32_t acc = 0;
  for (int32_t k = n - 2; k <= n; k++) acc = acc * 31u + fib(k);
  return (int32_t)acc;
}
