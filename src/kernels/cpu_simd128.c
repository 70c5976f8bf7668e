/* cpu_simd128.c — 128-bit SIMD kernels for hosts without AVX2: AArch64 NEON and WebAssembly SIMD128 (mul+add:
 * wasm has no fused multiply-add). SGEMM microkernel with a vector epilogue, activations, depthwise convolution. */
#include "kernels.h"

#if defined(__aarch64__) || defined(__wasm_simd128__)

/* Min/max below have wasm's pmin/pmax semantics (pmin(a, b) = b < a ? b : a): one minps/maxps in V8, where
 * f32x4.min/max's NaN rules cost a 6-8 instruction sequence, and NaN handling that matches act_scalar. */
#if defined(__aarch64__)
#include <arm_neon.h>
typedef float32x4_t v4;
#define V_LOAD(p) vld1q_f32(p)
#define V_STORE(p, v) vst1q_f32((p), (v))
#define V_DUP(x) vdupq_n_f32(x)
#define V_LOADDUP(p) vld1q_dup_f32(p)
#define V_ADD(a, b) vaddq_f32((a), (b))
#define V_SUB(a, b) vsubq_f32((a), (b))
#define V_MUL(a, b) vmulq_f32((a), (b))
#define V_DIV(a, b) vdivq_f32((a), (b))
#define V_FMA(acc, a, b) vfmaq_f32((acc), (a), (b))
#define V_LT(a, b) vcltq_f32((a), (b))
#define V_SEL(m, a, b) vbslq_f32((m), (a), (b)) /* m ? a : b */
#define V_PMIN(a, b) V_SEL(V_LT((b), (a)), (b), (a))
#define V_PMAX(a, b) V_SEL(V_LT((a), (b)), (b), (a))
#define V_ABS(a) vabsq_f32(a)
#define V_SIGNBIT(a) vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(0x80000000u)))
#define V_OR(a, b) vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)))
#define V_SHL23(a) vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(a), 23))
#define V_EVEN(lo, hi) vuzp1q_f32((lo), (hi))
#define ISA_NAME "neon"
#define ISA_TABLE cpu_kernels_neon
#define MR 4
#define NR 16 /* 32 registers: 16 accumulators + 4 B vectors fit (as MLAS's NEON kernel) */
#else
#include <wasm_simd128.h>
typedef v128_t v4;
#define V_LOAD(p) wasm_v128_load(p)
#define V_STORE(p, v) wasm_v128_store((p), (v))
#define V_DUP(x) wasm_f32x4_splat(x)
#define V_LOADDUP(p) wasm_v128_load32_splat(p)
#define V_ADD(a, b) wasm_f32x4_add((a), (b))
#define V_SUB(a, b) wasm_f32x4_sub((a), (b))
#define V_MUL(a, b) wasm_f32x4_mul((a), (b))
#define V_DIV(a, b) wasm_f32x4_div((a), (b))
#define V_FMA(acc, a, b) wasm_f32x4_add((acc), wasm_f32x4_mul((a), (b)))
#define V_LT(a, b) wasm_f32x4_lt((a), (b))
#define V_SEL(m, a, b) wasm_v128_bitselect((a), (b), (m))
#define V_PMIN(a, b) wasm_f32x4_pmin((a), (b))
#define V_PMAX(a, b) wasm_f32x4_pmax((a), (b))
#define V_ABS(a) wasm_f32x4_abs(a)
#define V_SIGNBIT(a) wasm_v128_and((a), wasm_i32x4_splat((int32_t)0x80000000u))
#define V_OR(a, b) wasm_v128_or((a), (b))
#define V_SHL23(a) wasm_i32x4_shl((a), 23)
#define V_EVEN(lo, hi) wasm_i32x4_shuffle((lo), (hi), 0, 2, 4, 6)
#define ISA_NAME "simd128"
#define ISA_TABLE cpu_kernels_simd128
/* 6x8: 12 accumulators + 2 B vectors + 1 splat = the 15 XMM registers V8 allocates on x64, so no spills (4x16
 * needed 21). Measured in Chromium against 4x8 (XNNPACK's wasm-on-x86 shape): 5-12% faster on the conv nets. */
#define MR 6
#define NR 8
#endif
#define NV (NR / 4)
#define INLINE static inline __attribute__((always_inline))

/* expf for 4 lanes: n = round(x / ln2) via the 1.5*2^23 magic-number add (its low mantissa bits are n + 127,
 * shifted into the exponent for 2^n, so no float-int conversion), Cody-Waite reduction, then the same degree-5
 * polynomial as the AVX2 kernel (~1 ulp). The clamp keeps 2^n a normal number. */
INLINE v4 exp4(v4 x) {
  const v4 magic = V_DUP(12583039.0f); /* 1.5 * 2^23 + 127 */
  x = V_PMIN(V_PMAX(x, V_DUP(-87.3365478515625f)), V_DUP(88.3762626647949f));
  v4 n = V_FMA(magic, x, V_DUP(1.44269504088896341f));
  v4 s = V_SHL23(n);
  n = V_SUB(n, magic);
  v4 t = V_FMA(x, n, V_DUP(-0.693359375f));
  t = V_FMA(t, n, V_DUP(2.12194440e-4f));
  v4 p = V_DUP(1.9875691500E-4f);
  p = V_FMA(V_DUP(1.3981999507E-3f), p, t);
  p = V_FMA(V_DUP(8.3334519073E-3f), p, t);
  p = V_FMA(V_DUP(4.1665795894E-2f), p, t);
  p = V_FMA(V_DUP(1.6666665459E-1f), p, t);
  p = V_FMA(V_DUP(5.0000001201E-1f), p, t);
  p = V_FMA(V_ADD(t, V_DUP(1.0f)), p, V_MUL(t, t));
  return V_MUL(p, s);
}

INLINE v4 sigmoid4(v4 v) {
  const v4 one = V_DUP(1.0f);
  return V_DIV(one, V_ADD(one, exp4(V_SUB(V_DUP(0.0f), v))));
}

/* erf: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7) with the sign restored, as in cpu_avx2.c. */
INLINE v4 erf4(v4 x) {
  v4 ax = V_ABS(x), t = V_DIV(V_DUP(1.0f), V_FMA(V_DUP(1.0f), ax, V_DUP(0.3275911f)));
  v4 y = V_DUP(1.061405429f);
  y = V_FMA(V_DUP(-1.453152027f), y, t);
  y = V_FMA(V_DUP(1.421413741f), y, t);
  y = V_FMA(V_DUP(-0.284496736f), y, t);
  y = V_FMA(V_DUP(0.254829592f), y, t);
  y = V_MUL(y, t);
  v4 r = V_SUB(V_DUP(1.0f), V_MUL(y, exp4(V_SUB(V_DUP(0.0f), V_MUL(ax, ax)))));
  return V_OR(r, V_SIGNBIT(x));
}

INLINE v4 act4(v4 v, int act, v4 p0, v4 p1) {
  const v4 zero = V_DUP(0.0f), one = V_DUP(1.0f);
  switch (act) {
  case ACT_RELU: return V_PMAX(zero, v); /* NaN -> 0, as act_scalar */
  case ACT_CLIP: return V_PMIN(V_PMAX(v, p0), p1); /* NaN passes, as Clip */
  case ACT_LEAKY: return V_SEL(V_LT(v, zero), V_MUL(v, p0), v);
  case ACT_HSIGMOID: return V_PMIN(V_PMAX(V_FMA(p1, v, p0), zero), one);
  case ACT_HSWISH: return V_MUL(v, V_PMIN(V_PMAX(V_FMA(V_DUP(0.5f), v, V_DUP(1.0f / 6.0f)), zero), one));
  case ACT_SIGMOID: return sigmoid4(v);
  case ACT_SILU: return V_MUL(v, sigmoid4(v));
  case ACT_EXP: return exp4(v);
  case ACT_GELU: {
    v4 h = V_MUL(v, V_DUP(0.5f));
    return V_FMA(h, h, erf4(V_MUL(v, V_DUP(0.70710678118654752f))));
  }
  default: return v;
  }
}

/* One activation over a row; inlined per constant act so the switch leaves the loop. */
INLINE void act_row(float *y, const float *x, int64_t n, float scale, float bias, const float *res, int act, float p0,
                    float p1) {
  v4 vs = V_DUP(scale), vb = V_DUP(bias), v0 = V_DUP(p0), v1 = V_DUP(p1);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4 v = V_FMA(vb, V_LOAD(x + i), vs);
    if (res) v = V_ADD(v, V_LOAD(res + i));
    V_STORE(y + i, act4(v, act, v0, v1));
  }
  if (i < n) { /* tail through a padded vector: the same rounding as the body */
    float t[4] = {0}, r[4] = {0};
    memcpy(t, x + i, (size_t)(n - i) * sizeof(float));
    if (res) memcpy(r, res + i, (size_t)(n - i) * sizeof(float));
    v4 v = V_ADD(V_FMA(vb, V_LOAD(t), vs), V_LOAD(r));
    V_STORE(t, act4(v, act, v0, v1));
    memcpy(y + i, t, (size_t)(n - i) * sizeof(float));
  }
}

static void act_simd128(float *y, const float *x, int64_t n, float scale, float bias, const float *res, int act, float p0,
                        float p1) {
  switch (act) {
  case ACT_NONE: act_row(y, x, n, scale, bias, res, ACT_NONE, p0, p1); break;
  case ACT_RELU: act_row(y, x, n, scale, bias, res, ACT_RELU, p0, p1); break;
  case ACT_CLIP: act_row(y, x, n, scale, bias, res, ACT_CLIP, p0, p1); break;
  case ACT_SIGMOID: act_row(y, x, n, scale, bias, res, ACT_SIGMOID, p0, p1); break;
  case ACT_SILU: act_row(y, x, n, scale, bias, res, ACT_SILU, p0, p1); break;
  case ACT_HSWISH: act_row(y, x, n, scale, bias, res, ACT_HSWISH, p0, p1); break;
  case ACT_EXP: act_row(y, x, n, scale, bias, res, ACT_EXP, p0, p1); break;
  default: act_row(y, x, n, scale, bias, res, act, p0, p1); break;
  }
}

/* The costlier activations out of line for the GEMM and depthwise epilogues: inlined into every
 * accumulator's store they would bloat the code several-fold for work that dwarfs a call. */
static __attribute__((noinline)) v4 act4_call(v4 v, int act, v4 p0, v4 p1) { return act4(v, act, p0, p1); }

INLINE v4 act4_epi(v4 v, int act, v4 p0, v4 p1) {
  switch (act) {
  case ACT_NONE: return v;
  case ACT_RELU: return act4(v, ACT_RELU, p0, p1);
  case ACT_CLIP: return act4(v, ACT_CLIP, p0, p1);
  case ACT_HSWISH: return act4(v, ACT_HSWISH, p0, p1);
  default: return act4_call(v, act, p0, p1);
  }
}

/* Final store of 4 columns of a tile row (inside C) with the epilogue. */
INLINE void store_vec(float *c, v4 v, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  if (flags & GEMM_LOAD) v = V_ADD(v, V_LOAD(c));
  if ((flags & GEMM_LAST) && e) {
    if (e->bias) v = V_ADD(v, e->bias_rows ? V_LOADDUP(e->bias + row) : V_LOAD(e->bias + col));
    if (e->res) v = V_ADD(v, V_LOAD(e->res + row * e->ldres + col));
    if (e->act) v = act4_epi(v, e->act, V_DUP(e->p0), V_DUP(e->p1));
  }
  V_STORE(c, v);
}

/* rows x (4 * nv) tile over kc (rows <= MR, nv <= NV: the bottom and right edges of C use smaller tiles; the
 * panel strides stay MR and NR). Accumulators are named variables, not an array: clang 14 would keep a
 * variably-indexed array in linear memory. */
INLINE void gemm_tile(int rows, int nv, int64_t kc, const float *restrict a, const float *restrict b, float *c,
                      int64_t ldc, int mr, int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  const v4 z = V_DUP(0.0f);
  v4 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
  v4 c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
  v4 c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
#define MAC(i, k)                                                                                                   \
  if (rows > i) {                                                                                                   \
    v4 ai = V_LOADDUP(a + (k) * MR + i);                                                                            \
    c##i##0 = V_FMA(c##i##0, ai, b0);                                                                               \
    if (nv > 1) c##i##1 = V_FMA(c##i##1, ai, b1);                                                                   \
    if (nv > 2) c##i##2 = V_FMA(c##i##2, ai, b2);                                                                   \
    if (nv > 3) c##i##3 = V_FMA(c##i##3, ai, b3);                                                                   \
  }
#define STEP(k)                                                                                                     \
  do {                                                                                                              \
    const float *bk = b + (k) * NR;                                                                                 \
    v4 b0 = V_LOAD(bk), b1 = nv > 1 ? V_LOAD(bk + 4) : z, b2 = nv > 2 ? V_LOAD(bk + 8) : z;                         \
    v4 b3 = nv > 3 ? V_LOAD(bk + 12) : z;                                                                           \
    MAC(0, k) MAC(1, k) MAC(2, k) MAC(3, k) MAC(4, k) MAC(5, k)                                                     \
  } while (0)
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4, a += 4 * MR, b += 4 * NR) { /* unrolled: fewer loop-header checks in V8 */
    STEP(0);
    STEP(1);
    STEP(2);
    STEP(3);
  }
  for (; k < kc; k++, a += MR, b += NR) STEP(0);
#undef STEP
#undef MAC
  if (nr == 4 * nv) {
#define ROW(i)                                                                                                      \
  if (rows > i && mr > i) {                                                                                         \
    float *ci = c + i * ldc;                                                                                        \
    store_vec(ci, c##i##0, flags, e, row + i, col);                                                                 \
    if (nv > 1) store_vec(ci + 4, c##i##1, flags, e, row + i, col + 4);                                             \
    if (nv > 2) store_vec(ci + 8, c##i##2, flags, e, row + i, col + 8);                                             \
    if (nv > 3) store_vec(ci + 12, c##i##3, flags, e, row + i, col + 12);                                           \
  }
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    return;
  }
  float tile[6][NR];
#define ROW(i)                                                                                                      \
  if (rows > i) {                                                                                                   \
    V_STORE(tile[i], c##i##0);                                                                                      \
    if (nv > 1) V_STORE(tile[i] + 4, c##i##1);                                                                      \
    if (nv > 2) V_STORE(tile[i] + 8, c##i##2);                                                                      \
    if (nv > 3) V_STORE(tile[i] + 12, c##i##3);                                                                     \
  }
  ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
  gemm_store_tile(&tile[0][0], NR, c, ldc, mr, nr, flags, e, row, col);
}

static void gemm_simd128(int64_t kc, const float *restrict a, const float *restrict b, float *c, int64_t ldc, int mr,
                         int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  if (mr <= 2 && MR > 2) { /* GEMV-like products (M = 1: RNN steps) and short bottom edges */
    if (mr == 1) gemm_tile(1, NV, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
    else gemm_tile(2, NV, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
  } else if (mr <= 4 && MR > 4)
    gemm_tile(4, NV, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
  else if (nr <= 4)
    gemm_tile(MR, 1, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
#if NV > 2
  else if (nr <= 8)
    gemm_tile(MR, 2, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
  else if (nr <= 12)
    gemm_tile(MR, 3, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
#endif
  else
    gemm_tile(MR, NV, kc, a, b, c, ldc, mr, nr, flags, e, row, col);
}

/* Outputs [0, lim) of one depthwise row over kernel rows [ky0, ky1), 4 at a time (inlined with constant kernel
 * size and stride, so the loops unroll). xb is the zero-padded input at the window's top row; the last vector
 * overlaps the previous one. */
INLINE void dw_span(const float *xb, int64_t W, const v4 *wv, int ky0, int ky1, int kw, int sw, int dh, float *yr,
                    const float *rr, int64_t lim, v4 vb, int act, v4 v0, v4 v1) {
  for (int64_t ox = 0; ox < lim;) {
    if (ox + 4 > lim) ox = lim - 4;
    v4 acc = vb;
    for (int ky = ky0; ky < ky1; ky++) {
      const float *xr = xb + (int64_t)ky * dh * W + ox * sw;
      for (int kx = 0; kx < kw; kx++)
        acc = V_FMA(acc, wv[ky * kw + kx], sw == 1 ? V_LOAD(xr + kx) : V_EVEN(V_LOAD(xr + kx), V_LOAD(xr + kx + 4)));
    }
    if (rr) acc = V_ADD(acc, V_LOAD(rr + ox));
    V_STORE(yr + ox, act4_epi(acc, act, v0, v1));
    ox += 4;
  }
}

/* Rows whose window hangs over the top or bottom edge skip the kernel rows that would only read padding (most of
 * the work for the short planes of text recognisers: 5x5 kernels over 2-3 rows). */
INLINE void dw_rows(const float *buf, int64_t Wp, const v4 *wv, int64_t H, int pt, int kh, int kw, int sh, int sw,
                    int dh, float *y, int64_t OH, int64_t OW, int64_t OWv, const float *res, v4 vb, int act, v4 v0,
                    v4 v1) {
  float tmp[4], rtmp[4];
  for (int64_t oy = 0; oy < OH; oy++) {
    float *yr = OW < 4 ? tmp : y + oy * OW;
    const float *rr = res ? res + oy * OW : NULL;
    if (rr && OW < 4) {
      memset(rtmp, 0, sizeof rtmp);
      memcpy(rtmp, rr, (size_t)OW * sizeof(float));
      rr = rtmp;
    }
    int64_t iy0 = oy * sh - pt; /* input row of kernel row 0 */
    int ky0 = 0, ky1 = kh;
    while (ky0 < kh && iy0 + (int64_t)ky0 * dh < 0) ky0++;
    while (ky1 > ky0 && iy0 + (int64_t)(ky1 - 1) * dh >= H) ky1--;
    const float *xb = buf + oy * sh * Wp;
    if (ky0 == 0 && ky1 == kh) dw_span(xb, Wp, wv, 0, kh, kw, sw, dh, yr, rr, OWv, vb, act, v0, v1);
    else dw_span(xb, Wp, wv, ky0, ky1, kw, sw, dh, yr, rr, OWv, vb, act, v0, v1);
    if (OW < 4) memcpy(y + oy * OW, tmp, (size_t)OW * sizeof(float));
  }
}

/* Depthwise plane: the input is copied into a zero-padded plane (per-thread scratch) so every output, borders
 * included, runs 4 at a time; unusual shapes use the scalar loop. */
static void dwconv_simd128(const float *x, int64_t H, int64_t W, const float *w, int kh, int kw, int sh, int sw, int dh,
                           int dw, int pt, int pl, float *y, int64_t OH, int64_t OW, float bias, const float *res,
                           int act, float p0, float p1) {
  int64_t Wp, OWv;
  float *buf = dw_padded_plane(x, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, 4, &Wp, &OWv);
  if (!buf) {
    dwconv_scalar(x, H, W, w, kh, kw, sh, sw, dh, dw, pt, pl, y, OH, OW, bias, res, act, p0, p1);
    return;
  }
  v4 wv[25];
  for (int t = 0; t < kh * kw; t++) wv[t] = V_DUP(w[t]);
  v4 vb = V_DUP(bias), v0 = V_DUP(p0), v1 = V_DUP(p1);
#define DW(KH, KW, SW) dw_rows(buf, Wp, wv, H, pt, KH, KW, sh, SW, dh, y, OH, OW, OWv, res, vb, act, v0, v1)
  if (kh == 3 && kw == 3 && sw == 1) DW(3, 3, 1);
  else if (kh == 3 && kw == 3 && sw == 2) DW(3, 3, 2);
  else if (kh == 5 && kw == 5 && sw == 1) DW(5, 5, 1);
  else if (kh == 5 && kw == 5 && sw == 2) DW(5, 5, 2);
  else DW(kh, kw, sw);
#undef DW
}

/* Direct 3x3 convolution rows for conv.c (same contract as conv3x3_row4_avx2): 4 output channels x 8 pixels per
 * tile, 8 accumulators; each loaded input vector feeds the 4 channels, where im2col would pack every input
 * element nine times for only M multiply-adds. xp: input at the tile's first row, C planes of `plane` floats,
 * rows of Wp (at stride 2 each row's even columns, then its odd ones); w4: [C][9][4]; out: 4 rows of ldo floats
 * (OW rounded up to 8 are written). */
INLINE void conv3x3_row4(const float *xp, int64_t C, int64_t plane, int64_t Wp, const float *w4, int64_t OW,
                         float *out, int64_t ldo, int s) {
  for (int64_t ow = 0; ow < OW; ow += 8) {
    const v4 z = V_DUP(0.0f);
    v4 a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
    const float *wc = w4;
    const int64_t off[3] = {0, s == 1 ? 1 : Wp / 2, s == 1 ? 2 : 1}; /* stride 2: even then odd columns */
    for (int64_t ic = 0; ic < C; ic++, wc += 36) {
      const float *r = xp + ic * plane + ow;
      for (int kh = 0; kh < 3; kh++, r += Wp)
        for (int kw = 0; kw < 3; kw++) {
          const float *p = r + off[kw], *wt = wc + (kh * 3 + kw) * 4;
          v4 x0 = V_LOAD(p), x1 = V_LOAD(p + 4);
          v4 w = V_LOADDUP(wt);
          a00 = V_FMA(a00, w, x0), a01 = V_FMA(a01, w, x1);
          w = V_LOADDUP(wt + 1);
          a10 = V_FMA(a10, w, x0), a11 = V_FMA(a11, w, x1);
          w = V_LOADDUP(wt + 2);
          a20 = V_FMA(a20, w, x0), a21 = V_FMA(a21, w, x1);
          w = V_LOADDUP(wt + 3);
          a30 = V_FMA(a30, w, x0), a31 = V_FMA(a31, w, x1);
        }
    }
    V_STORE(out + ow, a00), V_STORE(out + ow + 4, a01);
    V_STORE(out + ldo + ow, a10), V_STORE(out + ldo + ow + 4, a11);
    V_STORE(out + 2 * ldo + ow, a20), V_STORE(out + 2 * ldo + ow + 4, a21);
    V_STORE(out + 3 * ldo + ow, a30), V_STORE(out + 3 * ldo + ow + 4, a31);
  }
}

void conv3x3_row4_simd128(const float *xp, int64_t C, int64_t plane, int64_t Wp, const float *w4, int64_t OW,
                          float *out, int64_t ldo, int stride) {
  if (stride == 2) conv3x3_row4(xp, C, plane, Wp, w4, OW, out, ldo, 2);
  else conv3x3_row4(xp, C, plane, Wp, w4, OW, out, ldo, 1);
}

const cpu_kernels ISA_TABLE = {ISA_NAME, MR, NR, gemm_simd128, act_simd128, dwconv_simd128, NULL, NULL};

#endif
