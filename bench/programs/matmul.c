// matmul.c — benchmark guest: 128x128 single-precision matrix multiply (i-k-j order, vectorisable).
// run(n) performs n multiplications, perturbing A each time, and returns a checksum of the products.
#include <stdint.h>
#if defined(__wasm__)
#define EXPORT __attribute__((export_name("run")))
#else
#define EXPORT
#endif

#define N 128
static float A[N][N], B[N][N], C[N][N];

static uint32_t rng_state;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13; rng_state ^= rng_state >> 17; rng_state ^= rng_state << 5;
  return rng_state;
}
/* Uniform-ish float in [-1, 1) built from 16 random bits: exactly representable. */
static float rnd(void) { return (float)((int32_t)(rng() >> 16) - 32768) * (1.0f / 32768.0f); }

__attribute__((noinline)) static void matmul(void) {
  for (int i = 0; i < N; i++) {
    /* k = 0 initialises the row (a zeroing loop would become a memset call, absent without libc). */
    for (int j = 0; j < N; j++) C[i][j] = A[i][0] * B[0][j];
    for (int k = 1; k < N; k++) {
      float a = A[i][k];
      for (int j = 0; j < N; j++) C[i][j] += a * B[k][j];
    }
  }
}

EXPORT int32_t run(int32_t n) {
  rng_state = 0x12345678u;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) { A[i][j] = rnd(); B[i][j] = rnd(); }
  uint32_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    A[r & (N - 1)][(r * 7) & (N - 1)] += 0.25f;
    matmul();
    /* Fold one row and the diagonal into the checksum (scaled to integers; identical IEEE ops everywhere). */
    int row = (r * 13) & (N - 1);
    for (int j = 0; j < N; j++) sum = sum * 3u + (uint32_t)(int32_t)(C[row][j] * 1024.0f);
    for (int i = 0; i < N; i++) sum ^= (uint32_t)(int32_t)(C[i][i] * 65536.0f) + (uint32_t)i;
  }
  return (int32_t)sum;
}
