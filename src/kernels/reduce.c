/* reduce.c — Reduce* family, ArgMax/ArgMin, TopK and Softmax/LogSoftmax/Hardmax. */
#include "kernels.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ };

static int run_reduce(onnx_kernel_ctx *k, int op) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int nd = x->ndim, red[WM_ONNX_MAX_DIMS] = {0}, keep = (int)attr_int(k->node, "keepdims", 1);
  int64_t axes[WM_ONNX_MAX_DIMS * 2];
  int na = 0;
  if (kin(k, 1)) {
    if ((na = read_ints(k, k->in[1], axes, WM_ONNX_MAX_DIMS * 2, "axes")) < 0) return -1;
  } else {
    size_t c = 0;
    const int64_t *a = attr_ints(k->node, "axes", &c);
    if (a) {
      if (c > WM_ONNX_MAX_DIMS * 2) return kfail(k, "too many axes");
      memcpy(axes, a, c * 8);
      na = (int)c;
    }
  }
  if (na == 0) {
    if (attr_int(k->node, "noop_with_empty_axes", 0)) return out_copy(k, 0, x, x->ndim, x->dims);
    for (int d = 0; d < nd; d++) red[d] = 1;
  }
  for (int i = 0; i < na; i++) {
    int a;
    if (normalize_axis(k, axes[i], nd, &a)) return -1;
    red[a] = 1;
  }
  int64_t odims[WM_ONNX_MAX_DIMS], full[WM_ONNX_MAX_DIMS], ost[WM_ONNX_MAX_DIMS];
  int ond = 0;
  for (int d = 0; d < nd; d++) {
    full[d] = red[d] ? 1 : x->dims[d];
    if (!red[d] || keep) odims[ond++] = full[d];
  }
  if (out_alloc(k, 0, x->dtype, ond, odims)) return -1;
  int64_t on = numel_of(nd, full), s = 1, rcount = 1;
  for (int d = nd - 1; d >= 0; d--) {
    ost[d] = red[d] ? 0 : s;
    s *= full[d];
    if (red[d]) rcount *= x->dims[d];
  }
  double *acc = malloc((size_t)(on ? on : 1) * sizeof(double));
  if (!acc) return kfail(k, "out of memory");
  double init = op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : op == R_PROD ? 1 : 0;
  for (int64_t i = 0; i < on; i++) acc[i] = init;
  double *mx = NULL;
  if (op == R_LOGSUMEXP) { /* subtract the per-output max for stability */
    mx = malloc((size_t)(on ? on : 1) * sizeof(double));
    if (!mx) { free(acc); return kfail(k, "out of memory"); }
    for (int64_t i = 0; i < on; i++) mx[i] = -INFINITY;
  }
  int64_t n = wm_onnx_numel(x);
  for (int pass = mx ? 0 : 1; pass < 2; pass++) {
    int64_t idx[WM_ONNX_MAX_DIMS] = {0}, off = 0;
    const float *pf = x->dtype == WM_ONNX_FLOAT ? x->data : NULL;
    for (int64_t i = 0; i < n; i++) {
      double v = pf ? pf[i] : tget(x, i);
      if (pass == 0) { if (v > mx[off]) mx[off] = v; }
      else {
        double *a = &acc[off];
        switch (op) {
        case R_SUM: case R_MEAN: *a += v; break;
        case R_MAX: if (v > *a || v != v) *a = v; break;
        case R_MIN: if (v < *a || v != v) *a = v; break;
        case R_PROD: *a *= v; break;
        case R_L1: *a += fabs(v); break;
        case R_L2: case R_SUMSQ: *a += v * v; break;
        case R_LOGSUM: *a += v; break;
        case R_LOGSUMEXP: *a += exp(v - (isinf(mx[off]) ? 0 : mx[off])); break;
        }
      }
      for (int d = nd - 1; d >= 0; d--) {
        off += ost[d];
        if (++idx[d] < x->dims[d]) break;
        off -= ost[d] * x->dims[d];
        idx[d] = 0;
      }
    }
  }
  for (int64_t i = 0; i < on; i++) {
    double v = acc[i];
    if (op == R_MEAN) v = rcount ? v / (double)rcount : NAN;
    else if (op == R_L2) v = sqrt(v);
    else if (op == R_LOGSUM) v = log(v);
    else if (op == R_LOGSUMEXP) v = log(v) + (isinf(mx[i]) ? 0 : mx[i]);
    if (is_int_type(x->dtype) && isinf(v)) v = v > 0 ? 9.2e18 : -9.2e18;
    tset(k->out[0], i, v);
    if (is_int_type(x->dtype) && (op == R_MAX || op == R_MIN) && rcount == 0) {
      /* empty max/min of integers: use the type's extreme value as numpy's identity would */
      tset_i64(k->out[0], i, op == R_MAX ? INT64_MIN : INT64_MAX);
    }
  }
  free(acc);
  free(mx);
  return 0;
}
KERNEL(ReduceSum) { return run_reduce(k, R_SUM); }
KERNEL(ReduceMean) { return run_reduce(k, R_MEAN); }
KERNEL(ReduceMax) { return run_reduce(k, R_MAX); }
KERNEL(ReduceMin) { return run_reduce(k, R_MIN); }
KERNEL(ReduceProd) { return run_reduce(k, R_PROD); }
KERNEL(ReduceL1) { return run_reduce(k, R_L1); }
KERNEL(ReduceL2) { return run_reduce(k, R_L2); }
KERNEL(ReduceLogSum) { return run_reduce(k, R_LOGSUM); }
KERNEL(ReduceLogSumExp) { return run_reduce(k, R_LOGSUMEXP); }
KERNEL(ReduceSumSquare) { return run_reduce(k, R_SUMSQ); }

static int run_arg(onnx_kernel_ctx *k, int want_max) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int axis, keep = (int)attr_int(k->node, "keepdims", 1), last = (int)attr_int(k->node, "select_last_index", 0);
  if (normalize_axis(k, attr_int(k->node, "axis", 0), x->ndim, &axis)) return -1;
  int64_t dims[WM_ONNX_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (d == axis) { if (keep) dims[nd++] = 1; }
    else dims[nd++] = x->dims[d];
  }
  if (out_alloc(k, 0, WM_ONNX_INT64, nd, dims)) return -1;
  int64_t outer = numel_of(axis, x->dims), len = x->dims[axis], inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  int64_t *o = k->out[0]->data;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t b = 0; b < inner; b++) {
      int64_t best = 0;
      double bv = len ? tget(x, a * len * inner + b) : 0;
      for (int64_t j = 1; j < len; j++) {
        double v = tget(x, (a * len + j) * inner + b);
        int better = want_max ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
        if (better) { bv = v; best = j; }
      }
      o[a * inner + b] = best;
    }
  return 0;
}
KERNEL(ArgMax) { return run_arg(k, 1); }
KERNEL(ArgMin) { return run_arg(k, 0); }

typedef struct topk_item { double v; int64_t i; } topk_item;
static int cmp_largest(const void *a, const void *b) {
  const topk_item *x = a, *y = b;
  if (x->v != y->v) return x->v > y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}
static int cmp_smallest(const void *a, const void *b) {
  const topk_item *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

KERNEL(TopK) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", -1), x->ndim, &axis)) return -1;
  int64_t K = kin(k, 1) ? tget_i64(k->in[1], 0) : attr_int(k->node, "k", 0);
  int largest = (int)attr_int(k->node, "largest", 1);
  int64_t len = x->dims[axis];
  if (K < 0 || K > len) return kfail(k, "k=%lld out of range for axis of %lld", (long long)K, (long long)len);
  int64_t dims[WM_ONNX_MAX_DIMS];
  memcpy(dims, x->dims, sizeof dims);
  dims[axis] = K;
  if (out_alloc(k, 0, x->dtype, x->ndim, dims) || out_alloc(k, 1, WM_ONNX_INT64, x->ndim, dims)) return -1;
  int64_t outer = numel_of(axis, x->dims), inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  topk_item *it = malloc((size_t)(len ? len : 1) * sizeof *it);
  if (!it) return kfail(k, "out of memory");
  size_t es = wm_onnx_dtype_size(x->dtype);
  for (int64_t a = 0; a < outer; a++)
    for (int64_t b = 0; b < inner; b++) {
      for (int64_t j = 0; j < len; j++) { it[j].v = tget(x, (a * len + j) * inner + b); it[j].i = j; }
      qsort(it, (size_t)len, sizeof *it, largest ? cmp_largest : cmp_smallest);
      for (int64_t j = 0; j < K; j++) {
        int64_t o = (a * K + j) * inner + b;
        memcpy((char *)k->out[0]->data + o * (int64_t)es, (const char *)x->data + ((a * len + it[j].i) * inner + b) * (int64_t)es, es);
        ((int64_t *)k->out[1]->data)[o] = it[j].i;
      }
    }
  free(it);
  return 0;
}

enum { S_SOFTMAX, S_LOGSOFTMAX, S_HARDMAX };

/* One softmax/logsoftmax/hardmax row of len values, inner apart. fast: contiguous float rows, where a vector exp
 * and eight partial sums serve unless the row has no finite maximum (then the exact path). */
static void softmax_row(int kind, int fast, const cpu_kernels *ck, const float *s, float *d, int64_t len, int64_t inner) {
  if (fast) {
    float mx = s[0];
    for (int64_t j = 1; j < len; j++) mx = s[j] > mx ? s[j] : mx;
    if (isfinite(mx)) {
      ck->act(d, s, len, 1.0f, -mx, NULL, ACT_EXP, 0, 0);
      float part[8] = {0};
      int64_t j = 0;
      for (; j + 8 <= len; j += 8)
        for (int l = 0; l < 8; l++) part[l] += d[j + l];
      for (; j < len; j++) part[0] += d[j];
      float inv = 1.0f / (((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])));
      for (j = 0; j < len; j++) d[j] *= inv;
      return;
    }
  }
  float m = -INFINITY;
  int64_t arg = 0;
  for (int64_t j = 0; j < len; j++) if (s[j * inner] > m) { m = s[j * inner]; arg = j; }
  if (kind == S_HARDMAX) {
    for (int64_t j = 0; j < len; j++) d[j * inner] = j == arg;
    return;
  }
  double sum = 0;
  for (int64_t j = 0; j < len; j++) {
    float e = expf(s[j * inner] - m);
    if (kind == S_SOFTMAX) d[j * inner] = e;
    sum += e;
  }
  if (kind == S_SOFTMAX) {
    float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < len; j++) d[j * inner] *= inv;
  } else {
    float ls = (float)log(sum);
    for (int64_t j = 0; j < len; j++) d[j * inner] = s[j * inner] - m - ls;
  }
}

typedef struct softmax_job {
  const cpu_kernels *ck;
  const float *x;
  float *y;
  int64_t rows, len, per;
} softmax_job;

static void softmax_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const softmax_job *j = arg;
  for (int64_t r = t * j->per; r < (t + 1) * j->per && r < j->rows; r++)
    softmax_row(S_SOFTMAX, 1, j->ck, j->x + r * j->len, j->y + r * j->len, j->len, 1);
}

static int run_softmax(onnx_kernel_ctx *k, int kind) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "input")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int axis;
  int64_t def = k->opset < 13 ? 1 : -1;
  if (x->ndim == 0) return kfail(k, "scalar input");
  if (normalize_axis(k, attr_int(k->node, "axis", def), x->ndim, &axis)) return -1;
  int64_t outer, len, inner;
  if (k->opset < 13) { /* legacy: coerce to 2-D [outer, rest] at axis */
    outer = numel_of(axis, x->dims);
    len = numel_of(x->ndim - axis, x->dims + axis);
    inner = 1;
  } else {
    outer = numel_of(axis, x->dims);
    len = x->dims[axis];
    inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  }
  float *y = float_out_nz(k, 0, x->dtype, x->ndim, x->dims);
  int own;
  const float *px = float_view(k, x, &own);
  if (!y || !px) return -1;
  int fast = kind == S_SOFTMAX && inner == 1 && x->dtype == WM_ONNX_FLOAT && len > 0;
  const cpu_kernels *ck = cpu_kernels_get();
  int64_t nt = wm_onnx_get_threads();
  if (fast && nt > 1 && (double)outer * (double)len >= 65536.0) { /* attention scores: rows across the pool */
    int64_t per = (outer + nt * 4 - 1) / (nt * 4);
    softmax_job j = {ck, px, y, outer, len, per < 1 ? 1 : per};
    par_for((outer + j.per - 1) / j.per, softmax_task, &j);
  } else {
    for (int64_t a = 0; a < outer; a++)
      for (int64_t b = 0; b < inner; b++)
        softmax_row(kind, fast, ck, px + a * len * inner + b, y + a * len * inner + b, len, inner);
  }
  float_release((float *)px, own);
  float_commit(k, 0, y);
  return 0;
}

KERNEL(Softmax) { return run_softmax(k, S_SOFTMAX); }
KERNEL(LogSoftmax) { return run_softmax(k, S_LOGSOFTMAX); }
KERNEL(Hardmax) { return run_softmax(k, S_HARDMAX); }
