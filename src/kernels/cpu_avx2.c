/* cpu_avx2.c — x86-64 AVX2/FMA kernels: the 6x16 SGEMM microkernel (12 ymm accumulators, as MLAS and XNNPACK
 * use on FMA3), vectorised activations and depthwise convolution. Built with -mavx2 -mfma (onnx.cmake) and
 * only called after cpu_kernels_get() has checked the CPU. */
#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
/* The same target set in the source, so builds that do not pass the per-file flags (the fuzz Makefile) work too. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

#define MR 6
#define NR 16

/* expf for 8 lanes (Cephes polynomial, ~1 ulp over the clamped range); exp(-inf..-88) gives ~0. */
static inline __attribute__((always_inline)) __m256 exp8(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

static inline __attribute__((always_inline)) __m256 sigmoid8(__m256 v) {
  __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

/* erf for 8 lanes: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7) with the sign restored. */
static inline __attribute__((always_inline)) __m256 erf8(__m256 x) {
  __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f)), ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(ax, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
  __m256 y = _mm256_set1_ps(1.061405429f);
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-1.453152027f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.421413741f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-0.284496736f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(0.254829592f));
  y = _mm256_mul_ps(y, t);
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
  __m256 r = _mm256_fnmadd_ps(y, e, _mm256_set1_ps(1.0f));
  return _mm256_or_ps(r, sign);
}

static inline __attribute__((always_inline)) __m256 act8(__m256 v, int act, __m256 p0, __m256 p1) {
  switch (act) {
  case ACT_RELU: return _mm256_max_ps(v, _mm256_setzero_ps());
  case ACT_CLIP: return _mm256_min_ps(p1, _mm256_max_ps(p0, v)); /* NaN (second operand) passes, as in Clip */
  case ACT_LEAKY: return _mm256_blendv_ps(_mm256_mul_ps(v, p0), v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ));
  case ACT_HSIGMOID:
    return _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(v, p0, p1), _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
  case ACT_HSWISH: {
    __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
    return _mm256_mul_ps(v, t);
  }
  case ACT_SIGMOID: return sigmoid8(v);
  case ACT_SILU: return _mm256_mul_ps(v, sigmoid8(v));
  case ACT_EXP: return exp8(v);
  case ACT_GELU: {
    __m256 h = _mm256_mul_ps(v, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f))), h);
  }
  default: return v;
  }
}

/* The vector part of act_avx2 for one activation known at compile time (no switch per vector), returning where
 * the scalar tail starts. */
static inline __attribute__((always_inline)) int64_t act_loop(float *y, const float *x, int64_t n, __m256 vs,
                                                              __m256 vb, const float *res, int act, __m256 v0,
                                                              __m256 v1) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), vs, vb);
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + i));
    _mm256_storeu_ps(y + i, act8(v, act, v0, v1));
  }
  return i;
}

/* act8 was a call per 8 values (too big for GCC to inline with its switch): ReLU ran at 1.2 cycles a value, 0.5 now;
 * SiLU at 2.8, 1.9 now. */
static void act_avx2(float *y, const float *x, int64_t n, float scale, float bias, const float *res, int act, float p0,
                     float p1) {
  __m256 vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(bias), v0 = _mm256_set1_ps(p0), v1 = _mm256_set1_ps(p1);
  int64_t i;
  switch (act) {
#define ACT_CASE(A) case A: i = act_loop(y, x, n, vs, vb, res, A, v0, v1); break;
  ACT_CASE(ACT_NONE) ACT_CASE(ACT_RELU) ACT_CASE(ACT_CLIP) ACT_CASE(ACT_LEAKY) ACT_CASE(ACT_HSIGMOID)
  ACT_CASE(ACT_HSWISH) ACT_CASE(ACT_SIGMOID) ACT_CASE(ACT_SILU) ACT_CASE(ACT_GELU) ACT_CASE(ACT_EXP)
#undef ACT_CASE
  default: i = 0;
  }
  for (; i < n; i++) y[i] = act_scalar(x[i] * scale + bias + (res ? res[i] : 0.f), act, p0, p1);
}

/* Final store of one full row of the tile (16 values) with the epilogue. */
static inline __attribute__((always_inline)) void store_row(float *c, __m256 lo, __m256 hi, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  if (flags & GEMM_LOAD) {
    lo = _mm256_add_ps(lo, _mm256_loadu_ps(c));
    hi = _mm256_add_ps(hi, _mm256_loadu_ps(c + 8));
  }
  if ((flags & GEMM_LAST) && e) {
    if (e->bias) {
      if (e->bias_rows) {
        __m256 b = _mm256_broadcast_ss(e->bias + row);
        lo = _mm256_add_ps(lo, b);
        hi = _mm256_add_ps(hi, b);
      } else {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(e->bias + col));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(e->bias + col + 8));
      }
    }
    if (e->res) {
      const float *r = e->res + row * e->ldres + col;
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(r));
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(r + 8));
    }
    if (e->act) {
      __m256 p0 = _mm256_set1_ps(e->p0), p1 = _mm256_set1_ps(e->p1);
      lo = act8(lo, e->act, p0, p1);
      hi = act8(hi, e->act, p0, p1);
    }
  }
  _mm256_storeu_ps(c, lo);
  _mm256_storeu_ps(c + 8, hi);
}

/* The finished accumulators of a 6x16 tile (mr x nr of it in C) through the epilogue. */
static inline __attribute__((always_inline)) void store_6x16(float *c, int64_t ldc, int mr, int nr, int flags,
                                                             const gemm_epi *e, int64_t row, int64_t col, __m256 c00,
                                                             __m256 c01, __m256 c10, __m256 c11, __m256 c20, __m256 c21,
                                                             __m256 c30, __m256 c31, __m256 c40, __m256 c41, __m256 c50,
                                                             __m256 c51) {
  if (mr == MR && nr == NR) {
    store_row(c, c00, c01, flags, e, row, col);
    store_row(c + ldc, c10, c11, flags, e, row + 1, col);
    store_row(c + 2 * ldc, c20, c21, flags, e, row + 2, col);
    store_row(c + 3 * ldc, c30, c31, flags, e, row + 3, col);
    store_row(c + 4 * ldc, c40, c41, flags, e, row + 4, col);
    store_row(c + 5 * ldc, c50, c51, flags, e, row + 5, col);
    return;
  }
  float acc[MR][NR] __attribute__((aligned(32)));
  _mm256_store_ps(acc[0], c00); _mm256_store_ps(acc[0] + 8, c01);
  _mm256_store_ps(acc[1], c10); _mm256_store_ps(acc[1] + 8, c11);
  _mm256_store_ps(acc[2], c20); _mm256_store_ps(acc[2] + 8, c21);
  _mm256_store_ps(acc[3], c30); _mm256_store_ps(acc[3] + 8, c31);
  _mm256_store_ps(acc[4], c40); _mm256_store_ps(acc[4] + 8, c41);
  _mm256_store_ps(acc[5], c50); _mm256_store_ps(acc[5] + 8, c51);
  if (nr == NR) {
    for (int i = 0; i < mr; i++)
      store_row(c + i * ldc, _mm256_load_ps(acc[i]), _mm256_load_ps(acc[i] + 8), flags, e, row + i, col);
    return;
  }
  gemm_store_tile(&acc[0][0], NR, c, ldc, mr, nr, flags, e, row, col);
}

/* The right edge of C, at most 3 columns (e.g. 49 = 3 x 16 + 1 on 7x7 feature maps), for P row panels at once
 * (gemm_edge in kernels.h; one panel is gemm_avx2's own edge tile): the six rows of a panel as one vector (the mask
 * keeps the load inside the panel) times each column's B value, one multiply-add per column and step where the
 * 8-column kernel spends six. One panel's chains wait on the multiply-add latency every step; P panels' run side by
 * side (the 1-column edge of a 7x7 map cost a fifth of its tile row). Each column is one chain in step order like
 * the full tile's: split over several accumulators, the edge columns differed from the others in their last bits,
 * and a softmax over large equal logits (onnx's light models) was no longer uniform. */
static inline __attribute__((always_inline)) void edge_panels(int P, int W, int64_t kc, const float *restrict a,
                                                              int64_t astride, int64_t rows, const float *restrict b,
                                                              float *c, int64_t ldc, int nr, int flags,
                                                              const gemm_epi *e, int64_t row, int64_t col) {
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  __m256 acc[4][3];
  for (int p = 0; p < P; p++)
    for (int j = 0; j < W; j++) acc[p][j] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += MR, b += NR)
    for (int p = 0; p < P; p++) {
      __m256 av = _mm256_maskload_ps(a + p * astride, six);
      for (int j = 0; j < W; j++) acc[p][j] = _mm256_fmadd_ps(av, _mm256_broadcast_ss(b + j), acc[p][j]);
    }
  for (int p = 0; p < P; p++) {
    float t[3][8] __attribute__((aligned(32))), out[MR][3];
    for (int j = 0; j < W; j++) _mm256_store_ps(t[j], acc[p][j]);
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < W; j++) out[i][j] = t[j][i];
    int64_t h = rows - p * MR < MR ? rows - p * MR : MR;
    gemm_store_tile(&out[0][0], 3, c + p * MR * ldc, ldc, (int)h, nr, flags, e, row + p * MR, col);
  }
}

static void gemm_avx2_edge(int64_t kc, const float *a, int64_t astride, int np, int64_t rows, const float *b, float *c,
                           int64_t ldc, int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
#define EDGE(P, W) edge_panels(P, W, kc, a, astride, rows, b, c, ldc, nr, flags, e, row, col)
  if (nr == 1) {
    if (np == 4) EDGE(4, 1); else if (np == 3) EDGE(3, 1); else if (np == 2) EDGE(2, 1); else EDGE(1, 1);
  } else if (nr == 2) {
    if (np == 4) EDGE(4, 2); else if (np == 3) EDGE(3, 2); else if (np == 2) EDGE(2, 2); else EDGE(1, 2);
  } else {
    if (np == 4) EDGE(4, 3); else if (np == 3) EDGE(3, 3); else if (np == 2) EDGE(2, 3); else EDGE(1, 3);
  }
#undef EDGE
}

/* A tile at most 8 columns wide (the right edge of C): half the work of the full kernel. */
static void gemm_avx2_n8(int64_t kc, const float *restrict a, const float *restrict b, float *c, int64_t ldc, int mr,
                         int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  for (int64_t k = 0; k < kc; k++, a += MR, b += NR) {
    __m256 b0 = _mm256_load_ps(b);
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), b0, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), b0, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), b0, c5);
  }
  float acc[MR][8] __attribute__((aligned(32)));
  _mm256_store_ps(acc[0], c0);
  _mm256_store_ps(acc[1], c1);
  _mm256_store_ps(acc[2], c2);
  _mm256_store_ps(acc[3], c3);
  _mm256_store_ps(acc[4], c4);
  _mm256_store_ps(acc[5], c5);
  gemm_store_tile(&acc[0][0], 8, c, ldc, mr, nr, flags, e, row, col);
}

/* One row of C (batch-1 Gemm/MatMul: a vector times packed weights): the 6-row tile would spend five sixths of its
 * multiply-adds on the panel's zero rows. One chain per vector in step order, as in the full tile, so that every
 * column is summed in the same order (see edge_panels). */
static void gemm_avx2_m1(int64_t kc, const float *restrict a, const float *restrict b, float *c, int nr, int flags,
                         const gemm_epi *e, int64_t row, int64_t col) {
  __m256 lo = _mm256_setzero_ps(), hi = lo;
  for (int64_t k = 0; k < kc; k++, a += MR, b += NR) {
    __m256 av = _mm256_broadcast_ss(a);
    lo = _mm256_fmadd_ps(av, _mm256_load_ps(b), lo);
    hi = _mm256_fmadd_ps(av, _mm256_load_ps(b + 8), hi);
  }
  if (nr == NR) {
    store_row(c, lo, hi, flags, e, row, col);
    return;
  }
  float acc[NR] __attribute__((aligned(32)));
  _mm256_store_ps(acc, lo);
  _mm256_store_ps(acc + 8, hi);
  gemm_store_tile(acc, NR, c, 0, 1, nr, flags, e, row, col);
}

static void gemm_avx2(int64_t kc, const float *restrict a, const float *restrict b, float *c, int64_t ldc, int mr,
                      int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  if (mr == 1 && nr > 8) {
    gemm_avx2_m1(kc, a, b, c, nr, flags, e, row, col);
    return;
  }
  if (nr <= 3) {
    gemm_avx2_edge(kc, a, 0, 1, mr, b, c, ldc, nr, flags, e, row, col);
    return;
  }
  if (nr <= 8) {
    gemm_avx2_n8(kc, a, b, c, ldc, mr, nr, flags, e, row, col);
    return;
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define STEP(k)                                                                                                     \
  do {                                                                                                              \
    __m256 b0 = _mm256_load_ps(b + (k) * NR), b1 = _mm256_load_ps(b + (k) * NR + 8), av;                            \
    av = _mm256_broadcast_ss(a + (k) * MR + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01); \
    av = _mm256_broadcast_ss(a + (k) * MR + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11); \
    av = _mm256_broadcast_ss(a + (k) * MR + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21); \
    av = _mm256_broadcast_ss(a + (k) * MR + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31); \
    av = _mm256_broadcast_ss(a + (k) * MR + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41); \
    av = _mm256_broadcast_ss(a + (k) * MR + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51); \
  } while (0)
  /* One step per iteration: unrolled by four, GCC ran out of the 16 ymm registers and kept an accumulator on the
   * stack, which put a store-to-load round trip into that accumulator's FMA chain (~35% slower GEMM). */
  for (int64_t k = 0; k < kc; k++) {
    STEP(0);
    a += MR;
    b += NR;
  }
#undef STEP
  store_6x16(c, ldc, mr, nr, flags, e, row, col, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

/* The 6x16 tile reading B in place (row k at b + k*ldb) instead of from a packed panel: for 1x1 convolutions and
 * other plain B operands with few rows of A per column panel, packing B cost as much as the multiply-adds it fed. */
static void gemm_avx2_ldb(int64_t kc, const float *restrict a, const float *restrict b, int64_t ldb, float *c,
                          int64_t ldc, int mr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t k = 0; k < kc; k++, a += MR, b += ldb) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), av;
    av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  store_6x16(c, ldc, mr, NR, flags, e, row, col, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

/* 8 outputs of a stride-2 row: x[0], x[2], ..., x[14] */
static inline __m256 load_even(const float *x) {
  __m256 lo = _mm256_loadu_ps(x), hi = _mm256_loadu_ps(x + 8);
  __m256 s = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)); /* lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6 */
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Outputs [xlo, lim) of one depthwise row, 8 at a time (inlined with constant kernel sizes and stride, so the
 * taps stay in registers and the loops unroll). xb is the input at the window's top row. */
static inline __attribute__((always_inline)) void dw_span(const float *xb, int64_t W, const __m256 *wv, int kh, int kw,
                                                          int sw, int dh, int ky0, int ky1, int pl, float *yr,
                                                          const float *rr, int64_t xlo, int64_t lim, __m256 vb, int act,
                                                          __m256 v0, __m256 v1) {
  for (int64_t ox = xlo; ox < lim;) {
    if (ox + 8 > lim) ox = lim - 8;
    __m256 acc = vb;
    for (int ky = ky0; ky < ky1; ky++) {
      const float *xr = xb + (int64_t)ky * dh * W + ox * sw - pl;
      for (int kx = 0; kx < kw; kx++)
        acc = _mm256_fmadd_ps(wv[ky * kw + kx], sw == 1 ? _mm256_loadu_ps(xr + kx) : load_even(xr + kx), acc);
    }
    if (rr) acc = _mm256_add_ps(acc, _mm256_loadu_ps(rr + ox));
    _mm256_storeu_ps(yr + ox, act8(acc, act, v0, v1));
    ox += 8;
  }
  (void)kh;
}

/* Lanes i with 0 <= a + i < n: the elements of a row load that lie inside the row (the rest read as zero padding). */
static inline __m256i dw_mask(int64_t a, int64_t n) {
  __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)a));
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), idx),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx));
}

/* acc + the K taps of one kernel row (wr) times the K tap vectors of one input row */
static inline __attribute__((always_inline)) __m256 dw_taps(__m256 acc, const __m256 *wr, int K, __m256 t0, __m256 t1,
                                                            __m256 t2, __m256 t3, __m256 t4) {
  acc = _mm256_fmadd_ps(wr[0], t0, acc);
  acc = _mm256_fmadd_ps(wr[1], t1, acc);
  acc = _mm256_fmadd_ps(wr[2], t2, acc);
  if (K == 5) {
    acc = _mm256_fmadd_ps(wr[3], t3, acc);
    acc = _mm256_fmadd_ps(wr[4], t4, acc);
  }
  return acc;
}

/* Finishes output row oy of a dw_direct vector (ox): residual, activation, store. */
static inline __attribute__((always_inline)) void dw_store(__m256 acc, float *y, const float *res, int64_t oy,
                                                           int64_t ox, int64_t OW, int64_t osz, __m256i mout, int act,
                                                           __m256 v0, __m256 v1) {
  int64_t o = oy * OW + ox;
  if (res) acc = _mm256_add_ps(acc, OW < 8 ? _mm256_maskload_ps(res + o, mout) : _mm256_loadu_ps(res + o));
  acc = act8(acc, act, v0, v1);
  if (o + 8 <= osz) _mm256_storeu_ps(y + o, acc);
  else {
    float tmp[8];
    _mm256_storeu_ps(tmp, acc);
    memcpy(y + o, tmp, (size_t)(osz - o) * sizeof(float));
  }
}

/* One vector (8 outputs at column ox, input column a = ox * S - pl) of R <= 4 output rows from oy0: see dw_direct.
 * EDGE: the taps cross a row end, so loads are masked by m (one mask per load of a row). */
static inline __attribute__((always_inline)) void dw_vec(const float *x, int64_t H, int64_t W, const __m256 *wv, int K,
                                                         int S, int R, int EDGE, const __m256i *m, int pt, int64_t oy0,
                                                         int64_t ox, int64_t a, float *y, int64_t OH, int64_t OW,
                                                         __m256 vb, const float *res, int act, __m256 v0, __m256 v1) {
#define DW_LD(p, l) (EDGE ? _mm256_maskload_ps((p), m[l]) : _mm256_loadu_ps(p))
  __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
#pragma GCC unroll 16
  for (int d = 0; d < S * (R - 1) + K; d++) {
    int64_t iy = oy0 * S - pt + d;
    if (iy < 0 || iy >= H) continue;
    const float *xr = x + iy * W + a;
    __m256 t0, t1, t2, t3 = vb, t4 = vb;
    if (S == 1) {
      t0 = DW_LD(xr, 0), t1 = DW_LD(xr + 1, 1), t2 = DW_LD(xr + 2, 2);
      if (K == 5) t3 = DW_LD(xr + 3, 3), t4 = DW_LD(xr + 4, 4);
    } else {
      __m256 lo = DW_LD(xr, 0), hi = DW_LD(xr + 8, 1);
      t0 = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
      t1 = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
      lo = DW_LD(xr + 2, 2), hi = DW_LD(xr + 10, 3);
      t2 = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
      if (K == 5) {
        t3 = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
        lo = DW_LD(xr + 4, 4), hi = DW_LD(xr + 12, 5);
        t4 = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
      }
    }
    /* output row j uses this input row as its kernel row d - S * j */
    if (d < K) a0 = dw_taps(a0, wv + d * K, K, t0, t1, t2, t3, t4);
    if (R > 1 && d >= S && d - S < K) a1 = dw_taps(a1, wv + (d - S) * K, K, t0, t1, t2, t3, t4);
    if (R > 2 && d >= 2 * S && d - 2 * S < K) a2 = dw_taps(a2, wv + (d - 2 * S) * K, K, t0, t1, t2, t3, t4);
    if (R > 3 && d >= 3 * S && d - 3 * S < K) a3 = dw_taps(a3, wv + (d - 3 * S) * K, K, t0, t1, t2, t3, t4);
  }
#undef DW_LD
  if (S == 2) {
#define DW_FIX(v) v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)))
    DW_FIX(a0), DW_FIX(a1), DW_FIX(a2), DW_FIX(a3);
#undef DW_FIX
  }
  int64_t osz = OH * OW;
  __m256i mout = dw_mask(0, OW);
  dw_store(a0, y, res, oy0, ox, OW, osz, mout, act, v0, v1);
  if (R > 1 && oy0 + 1 < OH) dw_store(a1, y, res, oy0 + 1, ox, OW, osz, mout, act, v0, v1);
  if (R > 2 && oy0 + 2 < OH) dw_store(a2, y, res, oy0 + 2, ox, OW, osz, mout, act, v0, v1);
  if (R > 3 && oy0 + 3 < OH) dw_store(a3, y, res, oy0 + 3, ox, OW, osz, mout, act, v0, v1);
}

/* Depthwise plane straight from x, K x K taps, stride S, dilation 1, any padding: no padded copy. Vectors of 8
 * outputs along a row; only vectors whose taps cross the row's ends use masked loads (the zero padding). R <= 4
 * output rows are computed together so that each loaded input row feeds up to K of them and the R accumulator
 * chains (and their epilogues: SiLU is ~30 dependent operations) overlap. Stride 2 splits each pair of loads into
 * even and odd elements once per input row with in-lane shuffles, which leaves the outputs in the order
 * 0 1 4 5 2 3 6 7: one permute per output vector restores it. Rows narrower than 8 compute one vector per row and
 * store it whole (its tail is overwritten by the next row), except where that would pass the plane's end. The
 * accumulators and taps are named variables, not arrays: GCC kept arrays of them on the stack. */
static inline __attribute__((always_inline)) void dw_direct(const float *x, int64_t H, int64_t W, const float *w, int K,
                                                            int S, int R, int pt, int pl, float *y, int64_t OH,
                                                            int64_t OW, float bias, const float *res, int act, float p0,
                                                            float p1) {
  __m256 wv[25];
  for (int t = 0; t < K * K; t++) wv[t] = _mm256_set1_ps(w[t]);
  __m256 vb = _mm256_set1_ps(bias), v0 = _mm256_set1_ps(p0), v1 = _mm256_set1_ps(p1);
  int nl = S == 1 ? K : (K + 1) / 2 * 2;                  /* loads per input row */
  int64_t span = S == 1 ? K + 7 : (K + 1) / 2 * 2 + 14; /* input elements they cover */
  int64_t nvec = OW <= 8 ? 1 : (OW + 7) / 8;
  for (int64_t oy0 = 0; oy0 < OH; oy0 += R)
    for (int64_t v = 0; v < nvec; v++) {
      int64_t ox = OW <= 8 ? 0 : v * 8 < OW - 8 ? v * 8 : OW - 8, a = ox * S - pl;
      if (a >= 0 && a + span <= W) {
        dw_vec(x, H, W, wv, K, S, R, 0, NULL, pt, oy0, ox, a, y, OH, OW, vb, res, act, v0, v1);
        continue;
      }
      __m256i m[6];
      for (int l = 0; l < nl; l++) m[l] = dw_mask(a + (S == 1 ? l : l / 2 * 2 + l % 2 * 8), W);
      dw_vec(x, H, W, wv, K, S, R, 1, m, pt, oy0, ox, a, y, OH, OW, vb, res, act, v0, v1);
    }
}

/* Depthwise plane: 3x3 and 5x5 at stride 1 or 2 read x directly (dw_direct); other shapes first copy the input into
 * a zero-padded plane (per-thread scratch) so that every output, borders included, runs 8 at a time with the taps
 * in registers; unusual shapes use the scalar loop. */
static void dwconv_avx2(const float *x, int64_t H, int64_t W, const float *w, int kh, int kw, int sh, int sw, int dh,
                        int dw, int pt, int pl, float *y, int64_t OH, int64_t OW, float bias, const float *res, int act,
                        float p0, float p1) {
  if (kh == kw && (kh == 3 || kh == 5) && sh == sw && (sh == 1 || sh == 2) && dh == 1 && dw == 1 && W < INT32_MAX / 2 &&
      OH > 0 && OW > 0) {
    /* 4 rows at a time, except 3x3 stride 2 under a cheap epilogue: there 2 rows keep the 9 taps, the
     * accumulators and the even/odd split in the 16 registers (measured 0.85x at 112x112), while the
     * exponential ones (SiLU) still gain more from 4 chains in flight */
    int heavy = act == ACT_SIGMOID || act == ACT_SILU || act == ACT_GELU;
    if (kh == 3 && sh == 1) dw_direct(x, H, W, w, 3, 1, 4, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    else if (kh == 3 && heavy) dw_direct(x, H, W, w, 3, 2, 4, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    else if (kh == 3) dw_direct(x, H, W, w, 3, 2, 2, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    else if (sh == 1) dw_direct(x, H, W, w, 5, 1, 4, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    else dw_direct(x, H, W, w, 5, 2, 4, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    return;
  }
  int64_t Wp, OWv;
  float *buf = dw_padded_plane(x, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, 8, &Wp, &OWv);
  if (!buf) {
    dwconv_scalar(x, H, W, w, kh, kw, sh, sw, dh, dw, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    return;
  }
  __m256 wv[25];
  for (int t = 0; t < kh * kw; t++) wv[t] = _mm256_set1_ps(w[t]);
  __m256 vb = _mm256_set1_ps(bias), v0 = _mm256_set1_ps(p0), v1 = _mm256_set1_ps(p1);
  float tmp[8], rtmp[8];
  for (int64_t oy = 0; oy < OH; oy++) {
    const float *xb = buf + oy * sh * Wp;
    float *yr = OW < 8 ? tmp : y + oy * OW;
    const float *rr = res ? res + oy * OW : NULL;
    if (rr && OW < 8) {
      memset(rtmp, 0, sizeof rtmp);
      memcpy(rtmp, rr, (size_t)OW * sizeof(float));
      rr = rtmp;
    }
    if (kh == 3 && kw == 3 && sw == 1) dw_span(xb, Wp, wv, 3, 3, 1, dh, 0, 3, 0, yr, rr, 0, OWv, vb, act, v0, v1);
    else if (kh == 3 && kw == 3 && sw == 2) dw_span(xb, Wp, wv, 3, 3, 2, dh, 0, 3, 0, yr, rr, 0, OWv, vb, act, v0, v1);
    else if (kh == 5 && kw == 5 && sw == 1) dw_span(xb, Wp, wv, 5, 5, 1, dh, 0, 5, 0, yr, rr, 0, OWv, vb, act, v0, v1);
    else if (kh == 5 && kw == 5 && sw == 2) dw_span(xb, Wp, wv, 5, 5, 2, dh, 0, 5, 0, yr, rr, 0, OWv, vb, act, v0, v1);
    else dw_span(xb, Wp, wv, kh, kw, sw, dh, 0, kh, 0, yr, rr, 0, OWv, vb, act, v0, v1);
    if (OW < 8) memcpy(y + oy * OW, tmp, (size_t)OW * sizeof(float));
  }
}

/* Direct 3x3 convolution, stride 1 or 2, 4 output channels x 16 pixels per tile (8 ymm accumulators). For few
 * output channels (the 96->24 3x3 convs of detection necks, a network's 3-channel stem) im2col packs each input
 * element nine times to use it in only M multiply-adds; here every loaded input vector feeds 4 channels straight
 * from the (padded) input rows. xp: input at the tile's first row, C planes of `plane` floats, rows of Wp (>= s *
 * OW rounded up to 16, + 2; at stride 2 each row's even columns, then its odd ones); w4: the block's weights as
 * [C][9][4]; out: 4 rows of ldo floats (OW rounded up to 16 are written). */
static inline __attribute__((always_inline)) void conv3x3_row4(const float *xp, int64_t C, int64_t plane, int64_t Wp,
                                                               const float *w4, int64_t OW, float *out, int64_t ldo,
                                                               int s) {
  for (int64_t ow = 0; ow < OW; ow += 16) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const float *wc = w4;
    /* stride 2: rows hold their even then their odd columns, so tap kw reads even[ow], odd[ow], even[ow + 1] */
    const int64_t off[3] = {0, s == 1 ? 1 : Wp / 2, s == 1 ? 2 : 1};
    for (int64_t ic = 0; ic < C; ic++, wc += 36) {
      const float *r = xp + ic * plane + ow;
      for (int kh = 0; kh < 3; kh++, r += Wp)
        for (int kw = 0; kw < 3; kw++) {
          __m256 v0 = _mm256_loadu_ps(r + off[kw]), v1 = _mm256_loadu_ps(r + off[kw] + 8);
          const float *wt = wc + (kh * 3 + kw) * 4;
          __m256 w = _mm256_broadcast_ss(wt);
          a00 = _mm256_fmadd_ps(w, v0, a00), a01 = _mm256_fmadd_ps(w, v1, a01);
          w = _mm256_broadcast_ss(wt + 1);
          a10 = _mm256_fmadd_ps(w, v0, a10), a11 = _mm256_fmadd_ps(w, v1, a11);
          w = _mm256_broadcast_ss(wt + 2);
          a20 = _mm256_fmadd_ps(w, v0, a20), a21 = _mm256_fmadd_ps(w, v1, a21);
          w = _mm256_broadcast_ss(wt + 3);
          a30 = _mm256_fmadd_ps(w, v0, a30), a31 = _mm256_fmadd_ps(w, v1, a31);
        }
    }
    _mm256_storeu_ps(out + ow, a00), _mm256_storeu_ps(out + ow + 8, a01);
    _mm256_storeu_ps(out + ldo + ow, a10), _mm256_storeu_ps(out + ldo + ow + 8, a11);
    _mm256_storeu_ps(out + 2 * ldo + ow, a20), _mm256_storeu_ps(out + 2 * ldo + ow + 8, a21);
    _mm256_storeu_ps(out + 3 * ldo + ow, a30), _mm256_storeu_ps(out + 3 * ldo + ow + 8, a31);
  }
}

void conv3x3_row4_avx2(const float *xp, int64_t C, int64_t plane, int64_t Wp, const float *w4, int64_t OW, float *out,
                       int64_t ldo, int stride) {
  if (stride == 2) conv3x3_row4(xp, C, plane, Wp, w4, OW, out, ldo, 2);
  else conv3x3_row4(xp, C, plane, Wp, w4, OW, out, ldo, 1);
}

const cpu_kernels cpu_kernels_avx2 = {"avx2", MR, NR, gemm_avx2, act_avx2, dwconv_avx2, gemm_avx2_ldb, gemm_avx2_edge};

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
