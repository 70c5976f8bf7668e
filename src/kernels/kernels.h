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
} onnx_kernel_ctx;

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
int out_copy(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *src, int ndim, const int64_t *dims);

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
int require_float(onnx_kernel_ctx *k, const wm_onnx_tensor *t, const char *what);

/* Broadcasting: output shape of n operands per numpy rules. */
int broadcast_shape(onnx_kernel_ctx *k, int n, const wm_onnx_tensor *const *ts, int *ndim, int64_t *dims);
/* Element strides of t when broadcast to (ndim, dims): 0 along broadcast axes. */
void broadcast_strides(const wm_onnx_tensor *t, int ndim, const int64_t *dims, int64_t *strides);

/* SGEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. lda/ldb/ldc are row strides. */
void sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

#define KERNEL(name) int op_##name(onnx_kernel_ctx *k)

#endif
