/* cpu_simd128.c — 128-bit SIMD kernels for hosts without AVX2: AArch64 NEON (by-element FMA, as MLAS's 4x16
 * NEON kernel) and WebAssembly SIMD128 (mul+add: wasm has no fused multiply-add). A 4x16 SGEMM tile in 16
 * vector accumulators; activations and depthwise convolution reuse the portable code. */
#include "kernels.h"

#if defined(__aarch64__) || defined(__wasm_simd128__)

#if defined(__aarch64__)
#include <arm_neon.h>
typedef float32x4_t v4;
#define V_LOAD(p) vld1q_f32(p)
#define V_DUP(x) vdupq_n_f32(x)
#define V_ZERO() vdupq_n_f32(0.0f)
#define V_FMA(acc, a, b) vfmaq_f32((acc), (a), (b))
#define V_STORE(p, v) vst1q_f32((p), (v))
#define ISA_NAME "neon"
#define ISA_TABLE cpu_kernels_neon
#else
#include <wasm_simd128.h>
typedef v128_t v4;
#define V_LOAD(p) wasm_v128_load(p)
#define V_DUP(x) wasm_f32x4_splat(x)
#define V_ZERO() wasm_f32x4_splat(0.0f)
#define V_FMA(acc, a, b) wasm_f32x4_add((acc), wasm_f32x4_mul((a), (b)))
#define V_STORE(p, v) wasm_v128_store((p), (v))
#define ISA_NAME "simd128"
#define ISA_TABLE cpu_kernels_simd128
#endif

#define MR 4
#define NR 16

static void gemm_simd128(int64_t kc, const float *restrict a, const float *restrict b, float *c, int64_t ldc, int mr,
                         int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  v4 acc[MR][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = V_ZERO();
  for (int64_t k = 0; k < kc; k++) {
    v4 b0 = V_LOAD(b), b1 = V_LOAD(b + 4), b2 = V_LOAD(b + 8), b3 = V_LOAD(b + 12);
    for (int i = 0; i < MR; i++) {
      v4 ai = V_DUP(a[i]);
      acc[i][0] = V_FMA(acc[i][0], ai, b0);
      acc[i][1] = V_FMA(acc[i][1], ai, b1);
      acc[i][2] = V_FMA(acc[i][2], ai, b2);
      acc[i][3] = V_FMA(acc[i][3], ai, b3);
    }
    a += MR;
    b += NR;
  }
  float tile[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < 4; j++) V_STORE(&tile[i][4 * j], acc[i][j]);
  gemm_store_tile(&tile[0][0], NR, c, ldc, mr, nr, flags, e, row, col);
}

static void act_simd128(float *y, const float *x, int64_t n, float scale, float bias, const float *res, int act, float p0,
                        float p1) {
  for (int64_t i = 0; i < n; i++) y[i] = act_scalar(x[i] * scale + bias + (res ? res[i] : 0.f), act, p0, p1);
}

const cpu_kernels ISA_TABLE = {ISA_NAME, MR, NR, gemm_simd128, act_simd128, dwconv_scalar};

#endif
