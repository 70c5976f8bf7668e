// int8dot.c — benchmark guest: quantised int8 GEMV (int8 weights x int8 activations -> int32), as in int8 inference.
// run(n) runs n chained 512x1024 GEMVs (requantising each output back to int8) and returns a checksum.
#include <stdint.h>
#if defined(__wasm__)
#define EXPORT __attribute__((export_name("run")))
#else
#define EXPORT
#endif

#define M 512
#define K 1024
static int8_t W[M][K];
static int8_t x[K];
static int32_t y[M];

/* Plain dot-product loop: clang auto-vectorises this (widening multiplies) with SSE2 natively and -msimd128. */
static int32_t dot(const int8_t *restrict w, const int8_t *restrict v) {
  int32_t acc = 0;
  for (int k = 0; k < K; k++) acc += (int32_t)w[k] * (int32_t)v[k];
  return acc;
}

__attribute__((noinline)) static void gemv(void) {
  for (int m = 0; m < M; m++) y[m] = dot(W[m], x);
}

EXPORT int32_t run(int32_t n) {
  uint32_t s = 0xdeadbeefu;
  for (int m = 0; m < M; m++)
    for (int k = 0; k < K; k++) { s = s * 1103515245u + 12345u; W[m][k] = (int8_t)(s >> 23); }
  for (int k = 0; k < K; k++) { s = s * 1103515245u + 12345u; x[k] = (int8_t)(s >> 23); }
  uint32_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    gemv();
    /* Requantise: shift, clamp to int8 and scatter into the next input vector (two halves, so x changes fully). */
    for (int m = 0; m < M; m++) {
      int32_t q = y[m] >> 9;
      q = q > 127 ? 127 : q < -128 ? -128 : q;
      x[m] = (int8_t)q;
      x[m + M] = (int8_t)(q ^ (r & 0x55));
      sum = sum * 31u + (uint32_t)y[m];
    }
  }
  return (int32_t)sum;
}
