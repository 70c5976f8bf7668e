/* kernels.h — interface between the ONNX executor and the operator kernels, plus shared tensor helpers
 * (attribute access, output allocation, dtype conversion, broadcasting). */
#ifndef WASMIND_KERNELS_H
#define WASMIND_KERNELS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../onnx/onnx_ir.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct onnx_kernel_ctx {
  const onnx_node *node;
  int opset;
  int nin, nout;
  const wm_onnx_tensor **in; /* in[i] == NULL when the optional input is omitted */
  wm_onnx_tensor **out;      /* always non-NULL for i < nout (omitted outputs get a scratch slot) */
  char *err;
  size_t errlen;
  unsigned const_in; /* bit i: input i is a model constant (an initializer no caller can override) */
  void **prep;       /* the node's slot for data derived once from constant inputs (pre-packed weights) */
  unsigned dying_in; /* bit i: input i is an owned intermediate read by nothing after this node, so out_copy may
                      * take its buffer instead of copying it (Reshape, Squeeze... become free) */
} onnx_kernel_ctx;

/* Data a kernel derives from constant inputs on its first run and keeps with the node (freed with the model).
 * Every such struct starts with this header. */
typedef struct kernel_prep {
  void (*free)(struct kernel_prep *p);
} kernel_prep;

typedef struct onnx_op_entry {
  const char *op_type;
  onnx_kernel_fn fn;
} onnx_op_entry;

/* Registry lookup: NULL when the operator is not implemented. */
onnx_kernel_fn onnx_find_kernel(const char *op_type);
/* Same for any domain ("" and "ai.onnx" are the default one). */
onnx_kernel_fn onnx_find_kernel_domain(const char *domain, const char *op_type);

int kfail(onnx_kernel_ctx *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like kfail but marks a valid request this engine does not implement (reported as skipped, not failed). */
int kunsupported(onnx_kernel_ctx *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attributes */
const onnx_attr *attr_find(const onnx_node *n, const char *name);
int64_t attr_int(const onnx_node *n, const char *name, int64_t def);
float attr_float(const onnx_node *n, const char *name, float def);
const char *attr_str(const onnx_node *n, const char *name, const char *def);
const int64_t *attr_ints(const onnx_node *n, const char *name, size_t *count); /* NULL when absent */
const float *attr_floats(const onnx_node *n, const char *name, size_t *count);
const char *const *attr_strs(const onnx_node *n, const char *name, size_t *count); /* NULL when absent */

/* Inputs */
static inline const wm_onnx_tensor *kin(onnx_kernel_ctx *k, int i) { return i < k->nin ? k->in[i] : NULL; }
int need_inputs(onnx_kernel_ctx *k, int n);
/* Reads an integer tensor (int32/int64) into out (up to max values). Returns count or -1. */
int read_ints(onnx_kernel_ctx *k, const wm_onnx_tensor *t, int64_t *out, int max, const char *what);
int normalize_axis(onnx_kernel_ctx *k, int64_t axis, int rank, int *out);

/* Outputs: allocates zeroed owned storage. */
int out_alloc(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims);
int out_like(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *like);
/* Uninitialised storage, for kernels that write every element. */
int out_alloc_nz(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims);
int out_copy(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *src, int ndim, const int64_t *dims);
/* Output idx takes over src's buffer, shaped ndim/dims (the same bytes), when src is an input that dies at this
 * node (dying_in); src is left empty. 1 when taken, 0 otherwise (nothing changed). */
int out_take_input(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *src, int ndim, const int64_t *dims);

/* dtype helpers */
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
double tget(const wm_onnx_tensor *t, int64_t i);
int64_t tget_i64(const wm_onnx_tensor *t, int64_t i);
void tset(wm_onnx_tensor *t, int64_t i, double v);
void tset_i64(wm_onnx_tensor *t, int64_t i, int64_t v);
float bfloat16_to_float(uint16_t h);
uint16_t float_to_bfloat16(float f);
float float8_to_float(uint8_t b, int dt);
uint8_t float_to_float8(float x, int dt, int saturate); /* round to nearest even; saturate or NaN/inf on overflow */
static inline int is_float8_type(int dt) { return dt >= WM_ONNX_FLOAT8E4M3FN && dt <= WM_ONNX_FLOAT8E5M2FNUZ; }
static inline int is_float_type(int dt) {
  return dt == WM_ONNX_FLOAT || dt == WM_ONNX_DOUBLE || dt == WM_ONNX_FLOAT16 || dt == WM_ONNX_BFLOAT16 || is_float8_type(dt);
}
static inline int is_int_type(int dt) {
  return dt == WM_ONNX_INT8 || dt == WM_ONNX_UINT8 || dt == WM_ONNX_INT16 || dt == WM_ONNX_UINT16 ||
         dt == WM_ONNX_INT32 || dt == WM_ONNX_UINT32 || dt == WM_ONNX_INT64 || dt == WM_ONNX_UINT64 ||
         dt == WM_ONNX_INT4 || dt == WM_ONNX_UINT4;
}
static inline int is_unsigned_type(int dt) {
  return dt == WM_ONNX_UINT8 || dt == WM_ONNX_UINT16 || dt == WM_ONNX_UINT32 || dt == WM_ONNX_UINT64 || dt == WM_ONNX_BOOL ||
         dt == WM_ONNX_UINT4;
}
int64_t numel_of(int ndim, const int64_t *dims);

/* Float-compute helpers: kernels that compute in float32 take a float view of any float tensor
 * (copying fp16/double) and write results back into the output's own type. */
float *float_view(onnx_kernel_ctx *k, const wm_onnx_tensor *t, int *owned);
void float_release(float *p, int owned);
/* Allocates output idx with dtype dt and returns a float buffer to fill; call float_commit afterwards. */
float *float_out(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims);
void float_commit(onnx_kernel_ctx *k, int idx, float *buf);
/* float_out for kernels that write every element (storage not zeroed). */
float *float_out_nz(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims);
int require_float(onnx_kernel_ctx *k, const wm_onnx_tensor *t, const char *what);

/* Broadcasting: output shape of n operands per numpy rules. */
int broadcast_shape(onnx_kernel_ctx *k, int n, const wm_onnx_tensor *const *ts, int *ndim, int64_t *dims);
/* Element strides of t when broadcast to (ndim, dims): 0 along broadcast axes. */
void broadcast_strides(const wm_onnx_tensor *t, int ndim, const int64_t *dims, int64_t *strides);

/* SGEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. lda/ldb/ldc are row strides. */
void sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* ---- fused epilogues: what a producer (Conv, Gemm, MatMul) applies to its output before storing it ---- */
/* ACT_EXP is no fused activation, just exp() through the vectorised act hook (Softmax). */
enum { ACT_NONE = 0, ACT_RELU, ACT_CLIP, ACT_LEAKY, ACT_HSIGMOID, ACT_HSWISH, ACT_SIGMOID, ACT_SILU, ACT_GELU, ACT_EXP };

static inline float act_scalar(float v, int act, float p0, float p1) {
  switch (act) {
  case ACT_RELU: return v > 0 ? v : 0;
  case ACT_CLIP: return v < p0 ? p0 : v > p1 ? p1 : v; /* NaN passes through like Clip */
  case ACT_LEAKY: return v >= 0 ? v : p0 * v;
  case ACT_HSIGMOID: return fmaxf(0.f, fminf(1.f, p0 * v + p1));
  case ACT_HSWISH: return v * fmaxf(0.f, fminf(1.f, v / 6.f + 0.5f));
  case ACT_SIGMOID: return v >= 0 ? 1.f / (1.f + expf(-v)) : expf(v) / (1.f + expf(v));
  case ACT_SILU: return v * (v >= 0 ? 1.f / (1.f + expf(-v)) : expf(v) / (1.f + expf(v)));
  case ACT_GELU: return 0.5f * v * (1.f + erff(v * 0.70710678118654752f)); /* erf form, not the tanh one */
  case ACT_EXP: return expf(v);
  default: return v;
  }
}

typedef struct gemm_epi {
  const float *bias; /* NULL, or one value per row of C (bias_rows) or per column */
  int bias_rows;
  const float *res;  /* NULL, or a matrix shaped like C added before the activation (residual connection) */
  int64_t ldres;
  int act;
  float p0, p1;      /* Clip min/max, LeakyRelu alpha, HardSigmoid alpha/beta */
} gemm_epi;

#define GEMM_LOAD 1 /* the tile adds to what C already holds */
#define GEMM_LAST 2 /* the tile finishes its K range: apply the epilogue */

/* One CPU's kernel set, picked once at start-up (cpu_kernels_get). GEMM panels: A is packed mr rows at a time
 * ([K][mr] per panel), B nr columns at a time ([K][nr] per panel), both zero-padded to whole panels. */
typedef struct cpu_kernels {
  const char *name;
  int mr, nr;
  /* C[0:mr, 0:nr] (+)= a-panel x b-panel over kc; row/col locate the tile in the epilogue's bias/res */
  void (*gemm)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr, int nr, int flags,
               const gemm_epi *e, int64_t row, int64_t col);
  /* y[i] = act(x[i] * scale + bias + (res ? res[i] : 0)); y may equal x */
  void (*act)(float *y, const float *x, int64_t n, float scale, float bias, const float *res, int act, float p0, float p1);
  /* one depthwise 2-D plane: y[OH][OW] = epilogue(sum over taps w[kh][kw] * x[H][W]) with zero padding */
  void (*dwconv)(const float *x, int64_t H, int64_t W, const float *w, int kh, int kw, int sh, int sw, int dh, int dw,
                 int pt, int pl, float *y, int64_t OH, int64_t OW, float bias, const float *res, int act, float p0, float p1);
  /* optional: C[0:mr, 0:nr] (+)= a-panel x B read in place (row k at b + k*ldb, nr columns), a full-width tile */
  void (*gemm_ldb)(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc, int mr, int flags,
                   const gemm_epi *e, int64_t row, int64_t col);
  /* optional: the edge of C at most 3 columns wide (nr of them) for np <= 4 row panels at once (panel p at
   * a + p * astride, its rows at c + p * mr * ldc; rows in all, the last panel may be partial): the panels' chains
   * run side by side, each column still summed in step order like the full tile */
  void (*gemm_edge)(int64_t kc, const float *a, int64_t astride, int np, int64_t rows, const float *b, float *c,
                    int64_t ldc, int nr, int flags, const gemm_epi *e, int64_t row, int64_t col);
} cpu_kernels;

const cpu_kernels *cpu_kernels_get(void);
extern const cpu_kernels cpu_kernels_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const cpu_kernels cpu_kernels_avx2;
#include <immintrin.h>
/* The first n (0..7) lanes of v to d, in at most three plain stores: AMD's masked store (vmaskmovps) costs ~17
 * cycles on Zen 3, a memcpy call ~12. */
__attribute__((target("avx2"))) static inline void store_first_n(float *d, __m256 v, int64_t n) {
  __m128 h = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(d, h);
    d += 4;
    h = _mm256_extractf128_ps(v, 1);
  }
  if (n & 2) {
    _mm_storel_pi((__m64 *)(void *)d, h);
    d += 2;
    h = _mm_movehl_ps(h, h);
  }
  if (n & 1) _mm_store_ss(d, h);
}
/* conv.c's direct 3x3 path (AVX2 only, stride 1 or 2): one output row of 4 channels; see cpu_avx2.c. */
void conv3x3_row4_avx2(const float *xp, int64_t C, int64_t plane, int64_t Wp, const float *w4, int64_t OW, float *out,
                       int64_t ldo, int stride);
#endif
#if defined(__aarch64__)
extern const cpu_kernels cpu_kernels_neon;
#endif
#if defined(__aarch64__) || defined(__wasm_simd128__)
/* The same direct 3x3 rows on 128-bit SIMD (cpu_simd128.c; writes OW rounded up to 8). */
void conv3x3_row4_simd128(const float *xp, int64_t C, int64_t plane, int64_t Wp, const float *w4, int64_t OW, float *out,
                          int64_t ldo, int stride);
#endif
#if defined(__wasm_simd128__)
extern const cpu_kernels cpu_kernels_simd128;
#endif
/* Stores an mr x nr tile of accumulators (row stride ald) into C with the flags' LOAD/epilogue semantics. */
void gemm_store_tile(const float *acc, int64_t ald, float *c, int64_t ldc, int mr, int nr, int flags, const gemm_epi *e,
                     int64_t row, int64_t col);
void dwconv_scalar(const float *x, int64_t H, int64_t W, const float *w, int kh, int kw, int sh, int sw, int dh, int dw,
                   int pt, int pl, float *y, int64_t OH, int64_t OW, float bias, const float *res, int act, float p0, float p1);
/* The zero-padded copy of plane x (per-thread scratch) that the vector depthwise kernels read without bounds checks,
 * for vectors of vl floats: rows of *Wp floats, outputs computed *OWv (OW, at least one vector) per row. NULL for
 * shapes they do not handle (kernel over 5x5, stride over 2, dilation along W) or out of memory: the caller then
 * runs dwconv_scalar. */
float *dw_padded_plane(const float *x, int64_t H, int64_t W, int kh, int kw, int sh, int sw, int dh, int dw, int pt,
                       int pl, int64_t OH, int64_t OW, int vl, int64_t *Wp, int64_t *OWv);

/* ---- GEMM driver (gemm.c) ---- */
typedef void (*gemm_pack_fn)(const void *ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float *dst);
/* One operand of sgemm_ex: pre-packed panels (whole K), a plain row-major matrix op(p) (scaled by alpha when
 * packed as A), or (B only) a function that packs [k0:k0+kc, n0:n0+nc] into nr-wide panels (implicit im2col). */
typedef struct gemm_src {
  const float *packed;
  const float *p;
  int64_t ld;
  int trans;
  float alpha; /* A only; 0 is read as 1 */
  gemm_pack_fn pack;
  const void *ctx;
} gemm_src;

/* C[M,N] = A x B (+ C when accumulate), then the epilogue; split across the thread pool when large. */
void sgemm_ex(int64_t M, int64_t N, int64_t K, const gemm_src *A, const gemm_src *B, int accumulate, float *C,
              int64_t ldc, const gemm_epi *e);
/* Pre-packs op(B) (K x N) into nr-column panels for the current CPU. Returns 64-byte aligned memory to release
 * with free(); NULL when out of memory. */
float *gemm_pack_b_alloc(const float *B, int64_t ldb, int trans, int64_t K, int64_t N);
/* Pre-packs alpha * op(A) (M x K) into mr-row panels for the current CPU, in caller memory of
 * ceil(M / mr) * mr * K floats. */
void gemm_pack_a_to(float *dst, const float *A, int64_t lda, int trans, int64_t M, int64_t K, float alpha);
/* Where element (m, k) of an M x K operand lives in that packed layout (for code that writes it directly): K
 * blocks of GEMM_KC steps, each holding all row panels, so (m, k + 1) follows (m, k) at + mr within a block. */
#define GEMM_KC 256
int64_t gemm_packed_a_at(int64_t m, int64_t k, int64_t M, int64_t K, int mr);

/* Load-time weight packing (graph.c calls these for nodes whose weights are constant). */
void conv_prepare(onnx_node *nd, const wm_onnx_tensor *w);
void matmul_prepare(onnx_node *nd, const wm_onnx_tensor *b);

/* ---- intra-op thread pool (parallel.c) ---- */
/* Runs fn(arg, task, tid) for task = 0..ntasks-1 on up to wm_onnx_get_threads() threads (the caller is tid 0)
 * and returns when all are done. Calls from inside a task run inline. */
typedef void (*par_task_fn)(void *arg, int64_t task, int tid);
void par_for(int64_t ntasks, par_task_fn fn, void *arg);
/* Nonzero inside a par_for task (where a nested par_for runs inline, so splitting work again only costs). */
int par_in_task(void);
/* Per-thread scratch of at least n floats, 64-byte aligned, kept between calls (contents undefined). Slots: 0/1 the
 * GEMM's packed B/A blocks, 2 padded depthwise planes, 3 direct-conv rows, 4/5 Winograd blocks. */
#define PAR_SCRATCH_SLOTS 6
float *par_scratch(int slot, size_t n);

/* xp (C planes of Hp x Wp) = x (C planes of H x W) at row pt, column pl, zeros around, written by the threads a band
 * of rows each (conv.c). split: each padded row stored as its even columns, then its odd ones (Wp even), for
 * stride-2 row kernels. */
void pad_planes(const float *x, int64_t C, int64_t H, int64_t W, float *xp, int64_t Hp, int64_t Wp, int64_t pt,
                int64_t pl, int split);

/* Winograd F(2x2,3x3) for 3x3 stride-1 undilated convolution (winograd.c): weights transformed and packed once
 * (16 A operands, stride floats apart), then Y = epilogue(conv(X)) for N images; 1 when done, 0 out of memory. */
float *wino_pack_weights(const float *w, int64_t M, int64_t C, int64_t *stride);
int conv3x3_winograd(const float *x, const float *u, int64_t ustride, const float *b, const float *res, float *y,
                     int64_t N, int64_t C, int64_t M, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt,
                     int64_t pl, int act, float p0, float p1);

/* y (ndim, dims) = act(y + broadcast(r)): a fused residual/bias Add applied after a GEMM or convolution. */
int late_add_act(onnx_kernel_ctx *k, float *y, int ndim, const int64_t *dims, const wm_onnx_tensor *r, int act, float p0,
                 float p1);

#define KERNEL(name) int op_##name(onnx_kernel_ctx *k)

#endif
