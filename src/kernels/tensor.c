/* tensor.c — helpers shared by all kernels: attribute lookup, output allocation, dtype conversion
 * (including IEEE half precision), integer-list inputs and numpy broadcasting. */
#include <stdarg.h>
#include <stdio.h>

#include "kernels.h"

int kfail(onnx_kernel_ctx *k, const char *fmt, ...) {
  if (k->err && k->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->err, k->errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int kunsupported(onnx_kernel_ctx *k, const char *fmt, ...) {
  if (k->err && k->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->err, k->errlen, fmt, ap);
    va_end(ap);
  }
  return -2;
}

const onnx_attr *attr_find(const onnx_node *n, const char *name) {
  for (int i = 0; i < n->nattr; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}
int64_t attr_int(const onnx_node *n, const char *name, int64_t def) {
  const onnx_attr *a = attr_find(n, name);
  return a && a->type == ATTR_INT ? a->i : def;
}
float attr_float(const onnx_node *n, const char *name, float def) {
  const onnx_attr *a = attr_find(n, name);
  return a && a->type == ATTR_FLOAT ? a->f : def;
}
const char *attr_str(const onnx_node *n, const char *name, const char *def) {
  const onnx_attr *a = attr_find(n, name);
  return a && a->type == ATTR_STRING && a->s ? a->s : def;
}
const char *const *attr_strs(const onnx_node *n, const char *name, size_t *count) {
  const onnx_attr *a = attr_find(n, name);
  if (!a || a->type != ATTR_STRINGS || !a->strs) return NULL;
  *count = a->n;
  return a->strs;
}
const int64_t *attr_ints(const onnx_node *n, const char *name, size_t *count) {
  const onnx_attr *a = attr_find(n, name);
  if (!a || a->type != ATTR_INTS) return NULL;
  *count = a->n;
  return a->ints;
}
const float *attr_floats(const onnx_node *n, const char *name, size_t *count) {
  const onnx_attr *a = attr_find(n, name);
  if (!a || a->type != ATTR_FLOATS) return NULL;
  *count = a->n;
  return a->floats;
}

int need_inputs(onnx_kernel_ctx *k, int n) {
  for (int i = 0; i < n; i++)
    if (i >= k->nin || !k->in[i]) return kfail(k, "input %d is required", i);
  for (int i = 0; i < k->nin; i++)
    if (k->in[i] && k->in[i]->dtype == WM_ONNX_STRING) return kfail(k, "string tensors are not supported");
  return 0;
}

int64_t numel_of(int ndim, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= dims[i];
  return n;
}

int read_ints(onnx_kernel_ctx *k, const wm_onnx_tensor *t, int64_t *out, int max, const char *what) {
  if (t->dtype != WM_ONNX_INT64 && t->dtype != WM_ONNX_INT32)
    return kfail(k, "%s must be int64 or int32, got %s", what, wm_onnx_dtype_name(t->dtype));
  int64_t n = wm_onnx_numel(t);
  if (n > max) return kfail(k, "%s has %lld values (at most %d supported)", what, (long long)n, max);
  for (int64_t i = 0; i < n; i++) out[i] = tget_i64(t, i);
  return (int)n;
}

int normalize_axis(onnx_kernel_ctx *k, int64_t axis, int rank, int *out) {
  if (axis < -rank || axis >= rank) return kfail(k, "axis %lld out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return 0;
}

static int out_alloc_z(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims, int zero) {
  wm_onnx_tensor *t = k->out[idx];
  /* the output's slot in the model's arena (graph.c), taken when the tensor fits in it */
  void *slot = (t->flags & WM_ONNX_TENSOR_PLANNED) ? t->data : NULL;
  size_t cap = slot ? t->nbytes : 0; /* the slot's size, or (allocated again) the size it already holds */
  wm_onnx_tensor_free(t);
  if (ndim < 0 || ndim > WM_ONNX_MAX_DIMS) return kfail(k, "output rank %d unsupported", ndim);
  size_t es = wm_onnx_dtype_size(dt);
  if (!es) return kfail(k, "output type %s unsupported", wm_onnx_dtype_name(dt));
  uint64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0) return kfail(k, "output dimension %d is negative (%lld)", i, (long long)dims[i]);
    if (dims[i] && n > ((uint64_t)1 << 40) / (uint64_t)dims[i]) return kfail(k, "output too large");
    n *= (uint64_t)dims[i];
  }
  /* one tensor above 4 GiB means a hostile or broken shape rather than a real workload */
  if (n * es > ((uint64_t)1 << 32)) return kfail(k, "output of %llu bytes exceeds the 4 GiB tensor limit", (unsigned long long)(n * es));
  t->dtype = dt;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
  t->nbytes = (size_t)n * es;
  if (slot && t->nbytes <= cap) {
    t->data = slot;
    if (zero) memset(slot, 0, t->nbytes);
    t->flags = WM_ONNX_TENSOR_PLANNED;
    return 0;
  }
  t->data = zero ? calloc(1, t->nbytes ? t->nbytes : 1) : malloc(t->nbytes ? t->nbytes : 1);
  if (!t->data) return kfail(k, "out of memory allocating %zu bytes", t->nbytes);
  t->flags = WM_ONNX_TENSOR_OWNED;
  return 0;
}

int out_alloc(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims) {
  return out_alloc_z(k, idx, dt, ndim, dims, 1);
}

/* For kernels that write every element: skips zeroing (recycled heap memory would otherwise be cleared on
 * every run). */
int out_alloc_nz(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims) {
  return out_alloc_z(k, idx, dt, ndim, dims, 0);
}

int out_like(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *like) {
  return out_alloc(k, idx, like->dtype, like->ndim, like->dims);
}

int out_take_input(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *src, int ndim, const int64_t *dims) {
  for (int i = 0; i < k->nin && i < 32; i++)
    if ((k->dying_in >> i & 1) && k->in[i] == src && k->out[idx] != src) {
      /* the executor frees src after this node and nothing else reads it: the output takes its buffer */
      wm_onnx_tensor *s = (wm_onnx_tensor *)src, *t = k->out[idx];
      wm_onnx_tensor_free(t);
      *t = *s;
      t->ndim = ndim;
      for (int d = 0; d < ndim; d++) t->dims[d] = dims[d];
      s->data = NULL;
      s->nbytes = 0;
      s->flags = 0;
      return 1;
    }
  return 0;
}

int out_copy(onnx_kernel_ctx *k, int idx, const wm_onnx_tensor *src, int ndim, const int64_t *dims) {
  if (numel_of(ndim, dims) != wm_onnx_numel(src)) return kfail(k, "element count mismatch");
  if (ndim < 0 || ndim > WM_ONNX_MAX_DIMS) return kfail(k, "output rank %d unsupported", ndim);
  if (out_take_input(k, idx, src, ndim, dims)) return 0;
  /* copy src first: the output slot may alias nothing, but src might be freed by out_alloc otherwise */
  const void *data = src->data;
  size_t nbytes = src->nbytes;
  if (out_alloc_nz(k, idx, src->dtype, ndim, dims)) return -1;
  if (nbytes && k->out[idx]->data != data) memcpy(k->out[idx]->data, data, nbytes); /* equal: one arena slot */
  return 0;
}

float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else { /* subnormal: renormalise */
      int e = -1;
      do { e++; man <<= 1; } while (!(man & 0x400));
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) bits = sign | 0x7f800000 | man << 13;
  else bits = sign | (exp + 112) << 23 | man << 13;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return sign | 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0);
  if (ax >= 0x477ff000) return sign | 0x7c00; /* rounds to >= 65520: overflow to inf */
  if (ax < 0x38800000) { /* below smallest normal half: subnormal or zero */
    if (ax < 0x33000000) return sign;
    uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    int shift = 126 - (int)e; /* 14..24 */
    /* value = m * 2^(e-150) and the half subnormal unit is 2^-24, so the mantissa is m >> (126 - e) */
    uint32_t hm = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (hm & 1))) hm++;
    return sign | (uint16_t)hm;
  }
  uint32_t r = ax + 0xfff + ((ax >> 13) & 1); /* round to nearest even */
  return sign | (uint16_t)((r - 0x38000000) >> 13);
}

float bfloat16_to_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

uint16_t float_to_bfloat16(float f) {
  if (f != f) return 0x7FC0;
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest even */
  return (uint16_t)(u >> 16);
}

/* float8 formats: mantissa bits, exponent bias, "fnuz" (no -0/inf, NaN is 0x80), largest code and value */
typedef struct f8fmt { int mbits, bias, fnuz, has_inf; uint8_t maxcode; double maxv; } f8fmt;
static f8fmt f8_fmt(int dt) {
  switch (dt) {
  case WM_ONNX_FLOAT8E4M3FNUZ: return (f8fmt){3, 8, 1, 0, 0x7F, 240.0};
  case WM_ONNX_FLOAT8E5M2: return (f8fmt){2, 15, 0, 1, 0x7B, 57344.0};
  case WM_ONNX_FLOAT8E5M2FNUZ: return (f8fmt){2, 16, 1, 0, 0x7F, 57344.0};
  default: return (f8fmt){3, 7, 0, 0, 0x7E, 448.0}; /* E4M3FN */
  }
}

float float8_to_float(uint8_t b, int dt) {
  f8fmt f = f8_fmt(dt);
  int ebits = 7 - f.mbits;
  if (f.fnuz) {
    if (b == 0x80) return NAN;
  } else if (!f.has_inf) {
    if ((b & 0x7F) == 0x7F) return NAN;
  } else if (((b >> f.mbits) & ((1 << ebits) - 1)) == (1 << ebits) - 1) {
    if (b & ((1 << f.mbits) - 1)) return NAN;
    return b & 0x80 ? -INFINITY : INFINITY;
  }
  int e = (b >> f.mbits) & ((1 << ebits) - 1), m = b & ((1 << f.mbits) - 1);
  double v = e ? ldexp(1.0 + m / (double)(1 << f.mbits), e - f.bias) : ldexp((double)m, 1 - f.bias - f.mbits);
  return (float)(b & 0x80 ? -v : v);
}

uint8_t float_to_float8(float x, int dt, int saturate) {
  f8fmt f = f8_fmt(dt);
  uint8_t nan = f.fnuz ? 0x80 : 0x7F, sign = signbit(x) ? 0x80 : 0;
  if (x != x) return nan;
  if (isinf(x)) return saturate ? (uint8_t)(sign | f.maxcode) : f.has_inf ? (uint8_t)(sign | 0x7C) : nan;
  double a = fabs((double)x);
  if (a == 0) return f.fnuz ? 0 : sign;
  int emin = 1 - f.bias, e;
  frexp(a, &e);
  e -= 1; /* a = 1.m * 2^e */
  if (e < emin) e = emin;
  double q = ldexp(nearbyint(ldexp(a, f.mbits - e)), e - f.mbits); /* round to nearest even at this exponent */
  if (q > f.maxv) return saturate ? (uint8_t)(sign | f.maxcode) : f.has_inf ? (uint8_t)(sign | 0x7C) : nan;
  if (q == 0) return f.fnuz ? 0 : sign;
  frexp(q, &e);
  e -= 1;
  if (e < emin) return (uint8_t)(sign | (int)ldexp(q, f.mbits - emin));
  int mant = (int)ldexp(q, f.mbits - e) - (1 << f.mbits);
  return (uint8_t)(sign | ((e + f.bias) << f.mbits) | mant);
}

static int is_float8(int dt) { return dt >= WM_ONNX_FLOAT8E4M3FN && dt <= WM_ONNX_FLOAT8E5M2FNUZ; }

double tget(const wm_onnx_tensor *t, int64_t i) {
  switch (t->dtype) {
  case WM_ONNX_FLOAT: return ((const float *)t->data)[i];
  case WM_ONNX_DOUBLE: return ((const double *)t->data)[i];
  case WM_ONNX_FLOAT16: return half_to_float(((const uint16_t *)t->data)[i]);
  case WM_ONNX_BFLOAT16: return bfloat16_to_float(((const uint16_t *)t->data)[i]);
  case WM_ONNX_FLOAT8E4M3FN: case WM_ONNX_FLOAT8E4M3FNUZ: case WM_ONNX_FLOAT8E5M2: case WM_ONNX_FLOAT8E5M2FNUZ:
    return float8_to_float(((const uint8_t *)t->data)[i], t->dtype);
  case WM_ONNX_INT4: case WM_ONNX_INT8: return ((const int8_t *)t->data)[i];
  case WM_ONNX_UINT8: case WM_ONNX_UINT4: case WM_ONNX_BOOL: return ((const uint8_t *)t->data)[i];
  case WM_ONNX_INT16: return ((const int16_t *)t->data)[i];
  case WM_ONNX_UINT16: return ((const uint16_t *)t->data)[i];
  case WM_ONNX_INT32: return ((const int32_t *)t->data)[i];
  case WM_ONNX_UINT32: return ((const uint32_t *)t->data)[i];
  case WM_ONNX_INT64: return (double)((const int64_t *)t->data)[i];
  case WM_ONNX_UINT64: return (double)((const uint64_t *)t->data)[i];
  default: return 0;
  }
}

int64_t tget_i64(const wm_onnx_tensor *t, int64_t i) {
  switch (t->dtype) {
  case WM_ONNX_INT64: return ((const int64_t *)t->data)[i];
  case WM_ONNX_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
  case WM_ONNX_INT32: return ((const int32_t *)t->data)[i];
  case WM_ONNX_UINT32: return ((const uint32_t *)t->data)[i];
  case WM_ONNX_INT16: return ((const int16_t *)t->data)[i];
  case WM_ONNX_UINT16: return ((const uint16_t *)t->data)[i];
  case WM_ONNX_INT8: case WM_ONNX_INT4: return ((const int8_t *)t->data)[i];
  case WM_ONNX_UINT8: case WM_ONNX_UINT4: case WM_ONNX_BOOL: return ((const uint8_t *)t->data)[i];
  default: {
    double d = tget(t, i);
    if (d != d) return 0;
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return (int64_t)d;
  }
  }
}

/* Float→integer stores saturate instead of invoking UB on out-of-range values. */
static int64_t sat_i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}

void tset(wm_onnx_tensor *t, int64_t i, double v) {
  switch (t->dtype) {
  case WM_ONNX_FLOAT: ((float *)t->data)[i] = (float)v; break;
  case WM_ONNX_DOUBLE: ((double *)t->data)[i] = v; break;
  case WM_ONNX_FLOAT16: ((uint16_t *)t->data)[i] = float_to_half((float)v); break;
  case WM_ONNX_BFLOAT16: ((uint16_t *)t->data)[i] = float_to_bfloat16((float)v); break;
  case WM_ONNX_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
  case WM_ONNX_INT4: case WM_ONNX_UINT4: {
    /* like the ONNX reference: clip to the 4-bit range, then round half to even */
    double lo = t->dtype == WM_ONNX_INT4 ? -8 : 0, hi = t->dtype == WM_ONNX_INT4 ? 7 : 15;
    ((int8_t *)t->data)[i] = (int8_t)(v != v ? 0 : nearbyint(v < lo ? lo : v > hi ? hi : v));
    break;
  }
  case WM_ONNX_UINT64:
    ((uint64_t *)t->data)[i] = v >= 1.8446744073709552e19 ? UINT64_MAX : v > 0 ? (uint64_t)v : (uint64_t)sat_i64(v);
    break;
  default:
    if (is_float8(t->dtype)) ((uint8_t *)t->data)[i] = float_to_float8((float)v, t->dtype, 1);
    else tset_i64(t, i, sat_i64(v));
    break;
  }
}

void tset_i64(wm_onnx_tensor *t, int64_t i, int64_t v) {
  switch (t->dtype) {
  case WM_ONNX_INT64: case WM_ONNX_UINT64: ((int64_t *)t->data)[i] = v; break;
  case WM_ONNX_INT32: case WM_ONNX_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
  case WM_ONNX_INT16: case WM_ONNX_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
  case WM_ONNX_INT8: case WM_ONNX_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
  case WM_ONNX_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
  case WM_ONNX_INT4: ((int8_t *)t->data)[i] = (int8_t)(v < -8 ? -8 : v > 7 ? 7 : v); break;
  case WM_ONNX_UINT4: ((uint8_t *)t->data)[i] = (uint8_t)(v < 0 ? 0 : v > 15 ? 15 : v); break;
  default: tset(t, i, (double)v); break;
  }
}

int require_float(onnx_kernel_ctx *k, const wm_onnx_tensor *t, const char *what) {
  if (!is_float_type(t->dtype)) return kfail(k, "%s: type %s not supported (float types only)", what, wm_onnx_dtype_name(t->dtype));
  return 0;
}

float *float_view(onnx_kernel_ctx *k, const wm_onnx_tensor *t, int *owned) {
  *owned = 0;
  if (t->dtype == WM_ONNX_FLOAT) return (float *)t->data;
  int64_t n = wm_onnx_numel(t);
  float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
  if (!p) { kfail(k, "out of memory"); return NULL; }
  for (int64_t i = 0; i < n; i++) p[i] = (float)tget(t, i);
  *owned = 1;
  return p;
}

void float_release(float *p, int owned) {
  if (owned) free(p);
}

float *float_out(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims) {
  if (out_alloc(k, idx, dt, ndim, dims)) return NULL;
  if (dt == WM_ONNX_FLOAT) return k->out[idx]->data;
  int64_t n = numel_of(ndim, dims);
  float *p = calloc((size_t)(n ? n : 1), sizeof(float));
  if (!p) kfail(k, "out of memory");
  return p;
}

float *float_out_nz(onnx_kernel_ctx *k, int idx, wm_onnx_dtype dt, int ndim, const int64_t *dims) {
  if (out_alloc_nz(k, idx, dt, ndim, dims)) return NULL;
  if (dt == WM_ONNX_FLOAT) return k->out[idx]->data;
  int64_t n = numel_of(ndim, dims);
  float *p = calloc((size_t)(n ? n : 1), sizeof(float));
  if (!p) kfail(k, "out of memory");
  return p;
}

void float_commit(onnx_kernel_ctx *k, int idx, float *buf) {
  wm_onnx_tensor *t = k->out[idx];
  if (!buf || buf == t->data) return;
  int64_t n = wm_onnx_numel(t);
  for (int64_t i = 0; i < n; i++) tset(t, i, buf[i]);
  free(buf);
}

int broadcast_shape(onnx_kernel_ctx *k, int n, const wm_onnx_tensor *const *ts, int *ndim, int64_t *dims) {
  int nd = 0;
  for (int i = 0; i < n; i++) if (ts[i]->ndim > nd) nd = ts[i]->ndim;
  for (int d = 0; d < nd; d++) dims[d] = 1;
  for (int i = 0; i < n; i++) {
    const wm_onnx_tensor *t = ts[i];
    int off = nd - t->ndim;
    for (int d = 0; d < t->ndim; d++) {
      int64_t a = dims[off + d], b = t->dims[d];
      if (a == b || b == 1) continue;
      if (a == 1) dims[off + d] = b;
      else return kfail(k, "shapes not broadcastable: dimension %d is %lld vs %lld", off + d, (long long)a, (long long)b);
    }
  }
  *ndim = nd;
  return 0;
}

void broadcast_strides(const wm_onnx_tensor *t, int ndim, const int64_t *dims, int64_t *strides) {
  int off = ndim - t->ndim;
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    if (d < off) { strides[d] = 0; continue; }
    int64_t td = t->dims[d - off];
    strides[d] = (td == 1 && dims[d] != 1) ? 0 : s;
    s *= td;
  }
}
