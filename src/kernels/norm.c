/* norm.c — normalisation operators: BatchNormalization (inference and training_mode), InstanceNormalization,
 * LayerNormalization, GroupNormalization, LRN, LpNormalization, MeanVarianceNormalization. */
#include "kernels.h"

/* training_mode=1: normalise with the batch statistics (biased variance) and emit updated running mean/var. */
static int batchnorm_training(onnx_kernel_ctx *k, int64_t N, int64_t C, int64_t sp) {
  const wm_onnx_tensor *x = k->in[0];
  double mom = attr_float(k->node, "momentum", 0.9f), eps = attr_float(k->node, "epsilon", 1e-5f);
  if (out_alloc(k, 0, x->dtype, x->ndim, x->dims)) return -1;
  for (int o = 1; o < k->nout && o < 3; o++)
    if (out_alloc(k, o, k->in[3 + o - 1]->dtype, 1, &C)) return -1;
  double cnt = (double)(N * sp);
  for (int64_t c = 0; c < C; c++) {
    double m = 0, v = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t i = 0; i < sp; i++) m += tget(x, (n * C + c) * sp + i);
    m = cnt > 0 ? m / cnt : 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t i = 0; i < sp; i++) {
        double d = tget(x, (n * C + c) * sp + i) - m;
        v += d * d;
      }
    v = cnt > 0 ? v / cnt : 0;
    double a = tget(k->in[1], c) / sqrt(v + eps), b = tget(k->in[2], c) - m * a;
    for (int64_t n = 0; n < N; n++)
      for (int64_t i = 0; i < sp; i++) {
        int64_t e = (n * C + c) * sp + i;
        tset(k->out[0], e, tget(x, e) * a + b);
      }
    if (k->nout > 1) tset(k->out[1], c, tget(k->in[3], c) * mom + m * (1 - mom));
    if (k->nout > 2) tset(k->out[2], c, tget(k->in[4], c) * mom + v * (1 - mom));
  }
  return 0;
}

KERNEL(BatchNormalization) {
  if (need_inputs(k, 5)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (require_float(k, x, "X")) return -1;
  if (x->ndim < 2) return kfail(k, "X rank must be >= 2");
  int64_t N = x->dims[0], C = x->dims[1], sp = numel_of(x->ndim - 2, x->dims + 2);
  for (int i = 1; i < 5; i++)
    if (wm_onnx_numel(k->in[i]) != C) return kfail(k, "input %d must have %lld elements", i, (long long)C);
  if (attr_int(k->node, "training_mode", 0)) return batchnorm_training(k, N, C, sp);
  float eps = attr_float(k->node, "epsilon", 1e-5f);
  float *y = float_out(k, 0, x->dtype, x->ndim, x->dims);
  int o0, o1, o2, o3, o4;
  const float *px = float_view(k, x, &o0), *sc = float_view(k, k->in[1], &o1), *bi = float_view(k, k->in[2], &o2);
  const float *mu = float_view(k, k->in[3], &o3), *var = float_view(k, k->in[4], &o4);
  if (!y || !px || !sc || !bi || !mu || !var) return -1;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      float a = sc[c] / sqrtf(var[c] + eps), b = bi[c] - mu[c] * a;
      const float *s = px + (n * C + c) * sp;
      float *d = y + (n * C + c) * sp;
      for (int64_t i = 0; i < sp; i++) d[i] = s[i] * a + b;
    }
  float_release((float *)px, o0); float_release((float *)sc, o1); float_release((float *)bi, o2);
  float_release((float *)mu, o3); float_release((float *)var, o4);
  float_commit(k, 0, y);
  return 0;
}

/* Normalises rows of length `len` (groups), then applies per-element scale/bias chosen by the caller. */
/* Sum of n floats (squared distances from m when sq) in eight partial sums: vectorisable, and closer to the
 * exact sum than one running float. */
static double sum8(const float *s, int64_t n, int sq, float m) {
  float acc[8] = {0};
  int64_t i = 0;
  if (sq)
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; l++) acc[l] += (s[i + l] - m) * (s[i + l] - m);
  else
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; l++) acc[l] += s[i + l];
  double t = 0;
  for (; i < n; i++) t += sq ? (double)(s[i] - m) * (s[i] - m) : s[i];
  for (int l = 0; l < 8; l++) t += acc[l];
  return t;
}

typedef struct norm_job {
  const float *x;
  float *y;
  int64_t rows, len, per;
  float eps;
  float *mean_out, *inv_out;
  const float *scale, *bias; /* one value per element of a row, or NULL */
} norm_job;

static void norm_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const norm_job *j = arg;
  int64_t len = j->len, n = len ? len : 1;
  for (int64_t r = t * j->per; r < (t + 1) * j->per && r < j->rows; r++) {
    const float *s = j->x + r * len;
    float *d = j->y + r * len;
    float m = (float)(sum8(s, len, 0, 0.f) / (double)n);
    double var = sum8(s, len, 1, m); /* about the mean just found: two passes, no cancellation */
    float inv = (float)(1.0 / sqrt(var / (double)n + j->eps));
    if (j->scale && j->bias)
      for (int64_t i = 0; i < len; i++) d[i] = (s[i] - m) * inv * j->scale[i] + j->bias[i];
    else if (j->scale)
      for (int64_t i = 0; i < len; i++) d[i] = (s[i] - m) * inv * j->scale[i];
    else
      for (int64_t i = 0; i < len; i++) d[i] = (s[i] - m) * inv;
    if (j->mean_out) j->mean_out[r] = m;
    if (j->inv_out) j->inv_out[r] = inv;
  }
}

/* y = (x - mean) / sqrt(var + eps) row by row (times scale plus bias when given), split across the thread pool
 * when there is enough of it. */
static void normalize_rows_affine(const float *x, float *y, int64_t rows, int64_t len, float eps, float *mean_out,
                                  float *inv_out, const float *scale, const float *bias) {
  int64_t nt = wm_onnx_get_threads(), per = rows;
  if (nt > 1 && (double)rows * (double)len >= 65536.0) {
    per = (rows + nt * 4 - 1) / (nt * 4);
    if (per < 1) per = 1;
  }
  if (per < 1) per = 1;
  norm_job j = {x, y, rows, len, per, eps, mean_out, inv_out, scale, bias};
  par_for((rows + per - 1) / per, norm_task, &j);
}

static void normalize_rows(const float *x, float *y, int64_t rows, int64_t len, float eps, float *mean_out, float *inv_out) {
  normalize_rows_affine(x, y, rows, len, eps, mean_out, inv_out, NULL, NULL);
}

KERNEL(InstanceNormalization) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (require_float(k, x, "input") || x->ndim < 2) return kfail(k, "input must be float with rank >= 2");
  int64_t N = x->dims[0], C = x->dims[1], sp = numel_of(x->ndim - 2, x->dims + 2);
  if (wm_onnx_numel(k->in[1]) != C || wm_onnx_numel(k->in[2]) != C) return kfail(k, "scale/B must have C elements");
  float *y = float_out(k, 0, x->dtype, x->ndim, x->dims);
  int o0, o1, o2;
  const float *px = float_view(k, x, &o0), *sc = float_view(k, k->in[1], &o1), *bi = float_view(k, k->in[2], &o2);
  if (!y || !px || !sc || !bi) return -1;
  normalize_rows(px, y, N * C, sp, attr_float(k->node, "epsilon", 1e-5f), NULL, NULL);
  for (int64_t r = 0; r < N * C; r++)
    for (int64_t i = 0; i < sp; i++) y[r * sp + i] = y[r * sp + i] * sc[r % C] + bi[r % C];
  float_release((float *)px, o0); float_release((float *)sc, o1); float_release((float *)bi, o2);
  float_commit(k, 0, y);
  return 0;
}

KERNEL(LayerNormalization) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *sc = k->in[1], *b = kin(k, 2);
  if (require_float(k, x, "X")) return -1;
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", -1), x->ndim, &axis)) return -1;
  int64_t rows = numel_of(axis, x->dims), len = numel_of(x->ndim - axis, x->dims + axis);
  /* scale and bias broadcast against the normalised trailing block */
  wm_onnx_tensor tail = *x;
  tail.ndim = x->ndim - axis;
  memmove(tail.dims, x->dims + axis, (size_t)tail.ndim * sizeof(int64_t));
  int64_t sst[WM_ONNX_MAX_DIMS], bst[WM_ONNX_MAX_DIMS];
  const wm_onnx_tensor *ts[2] = {&tail, sc};
  int bnd;
  int64_t bd[WM_ONNX_MAX_DIMS];
  if (broadcast_shape(k, 2, ts, &bnd, bd) || bnd != tail.ndim) return kfail(k, "scale not broadcastable to normalised shape");
  broadcast_strides(sc, tail.ndim, tail.dims, sst);
  if (b) broadcast_strides(b, tail.ndim, tail.dims, bst);
  float *y = float_out(k, 0, x->dtype, x->ndim, x->dims);
  int o0, o1, o2 = 0;
  const float *px = float_view(k, x, &o0), *ps = float_view(k, sc, &o1), *pb = b ? float_view(k, b, &o2) : NULL;
  if (!y || !px || !ps || (b && !pb)) return -1;
  int64_t sdims[WM_ONNX_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) sdims[d] = d < axis ? x->dims[d] : 1;
  float *mean = NULL, *inv = NULL;
  if (k->nout > 1 && !(mean = float_out(k, 1, x->dtype, x->ndim, sdims))) return -1;
  if (k->nout > 2 && !(inv = float_out(k, 2, x->dtype, x->ndim, sdims))) return -1;
  int simple_s = wm_onnx_numel(sc) == len, simple_b = !b || wm_onnx_numel(b) == len;
  int64_t *off = NULL;
  if (simple_s && simple_b) { /* the usual case: scale and bias applied in the same pass */
    normalize_rows_affine(px, y, rows, len, attr_float(k->node, "epsilon", 1e-5f), mean, inv, ps, pb);
  } else { /* broadcast offsets of scale and bias within one normalised block */
    normalize_rows(px, y, rows, len, attr_float(k->node, "epsilon", 1e-5f), mean, inv);
    off = malloc((size_t)(2 * len) * sizeof(int64_t));
    if (!off) return kfail(k, "out of memory");
    int64_t idx[WM_ONNX_MAX_DIMS] = {0};
    for (int64_t i = 0; i < len; i++) {
      int64_t so = 0, bo = 0;
      for (int d = 0; d < tail.ndim; d++) { so += idx[d] * sst[d]; bo += idx[d] * (b ? bst[d] : 0); }
      off[2 * i] = so;
      off[2 * i + 1] = bo;
      for (int d = tail.ndim - 1; d >= 0; d--) { if (++idx[d] < tail.dims[d]) break; idx[d] = 0; }
    }
    for (int64_t r = 0; r < rows; r++) {
      float *d = y + r * len;
      for (int64_t i = 0; i < len; i++) d[i] = d[i] * ps[off[2 * i]] + (pb ? pb[off[2 * i + 1]] : 0);
    }
  }
  free(off);
  float_release((float *)px, o0); float_release((float *)ps, o1);
  if (pb) float_release((float *)pb, o2);
  float_commit(k, 0, y);
  if (mean) float_commit(k, 1, mean);
  if (inv) float_commit(k, 2, inv);
  return 0;
}

KERNEL(GroupNormalization) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (require_float(k, x, "X") || x->ndim < 2) return kfail(k, "X must be float with rank >= 2");
  int64_t G = attr_int(k->node, "num_groups", 0), N = x->dims[0], C = x->dims[1], sp = numel_of(x->ndim - 2, x->dims + 2);
  if (G <= 0 || C % G) return kfail(k, "num_groups must divide channels");
  int64_t ns = wm_onnx_numel(k->in[1]);
  if (ns != C && ns != G) return kfail(k, "scale must have C or num_groups elements");
  if (wm_onnx_numel(k->in[2]) != ns) return kfail(k, "bias must have as many elements as scale (%lld)", (long long)ns);
  float *y = float_out(k, 0, x->dtype, x->ndim, x->dims);
  int o0, o1, o2;
  const float *px = float_view(k, x, &o0), *sc = float_view(k, k->in[1], &o1), *bi = float_view(k, k->in[2], &o2);
  if (!y || !px || !sc || !bi) return -1;
  normalize_rows(px, y, N * G, C / G * sp, attr_float(k->node, "epsilon", 1e-5f), NULL, NULL);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      int64_t pi = ns == C ? c : c / (C / G);
      float *d = y + (n * C + c) * sp;
      for (int64_t i = 0; i < sp; i++) d[i] = d[i] * sc[pi] + bi[pi];
    }
  float_release((float *)px, o0); float_release((float *)sc, o1); float_release((float *)bi, o2);
  float_commit(k, 0, y);
  return 0;
}

KERNEL(LRN) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "X")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (x->ndim < 2) return kfail(k, "X rank must be >= 2");
  int64_t size = attr_int(k->node, "size", 0), N = x->dims[0], C = x->dims[1], sp = numel_of(x->ndim - 2, x->dims + 2);
  if (size <= 0) return kfail(k, "size must be positive");
  float alpha = attr_float(k->node, "alpha", 1e-4f), beta = attr_float(k->node, "beta", 0.75f), bias = attr_float(k->node, "bias", 1.0f);
  float *y = float_out(k, 0, x->dtype, x->ndim, x->dims);
  int o0;
  const float *px = float_view(k, x, &o0);
  if (!y || !px) return -1;
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo; /* floor((size-1)/2) before, ceil after */
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < sp; i++) {
        double s = 0;
        for (int64_t j = c - lo; j <= c + hi; j++)
          if (j >= 0 && j < C) { double v = px[(n * C + j) * sp + i]; s += v * v; }
        y[(n * C + c) * sp + i] = (float)(px[(n * C + c) * sp + i] / pow(bias + alpha / (double)size * s, beta));
      }
  float_release((float *)px, o0);
  float_commit(k, 0, y);
  return 0;
}

KERNEL(LpNormalization) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "X")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", -1), x->ndim, &axis)) return -1;
  int64_t p = attr_int(k->node, "p", 2);
  if (p != 1 && p != 2) return kfail(k, "p must be 1 or 2");
  if (out_like(k, 0, x)) return -1;
  int64_t outer = numel_of(axis, x->dims), len = x->dims[axis], inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  for (int64_t a = 0; a < outer; a++)
    for (int64_t b = 0; b < inner; b++) {
      double s = 0;
      for (int64_t j = 0; j < len; j++) { double v = tget(x, (a * len + j) * inner + b); s += p == 1 ? fabs(v) : v * v; }
      if (p == 2) s = sqrt(s);
      for (int64_t j = 0; j < len; j++) {
        int64_t o = (a * len + j) * inner + b;
        tset(k->out[0], o, s == 0 ? 0 : tget(x, o) / s);
      }
    }
  return 0;
}

KERNEL(MeanVarianceNormalization) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "X")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int red[WM_ONNX_MAX_DIMS] = {0};
  size_t c = 0;
  const int64_t *axes = attr_ints(k->node, "axes", &c);
  int64_t defaxes[3] = {0, 2, 3};
  if (!axes) { axes = defaxes; c = 3; }
  for (size_t i = 0; i < c; i++) {
    int a;
    if (normalize_axis(k, axes[i], x->ndim, &a)) return -1;
    red[a] = 1;
  }
  if (out_like(k, 0, x)) return -1;
  int64_t n = wm_onnx_numel(x), st[WM_ONNX_MAX_DIMS], full[WM_ONNX_MAX_DIMS], s = 1, cnt = 1;
  for (int d = x->ndim - 1; d >= 0; d--) {
    full[d] = red[d] ? 1 : x->dims[d];
    st[d] = red[d] ? 0 : s;
    s *= full[d];
    if (red[d]) cnt *= x->dims[d];
  }
  double *sum = calloc((size_t)s, sizeof(double)), *sq = calloc((size_t)s, sizeof(double));
  int64_t *map = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  if (!sum || !sq || !map) { free(sum); free(sq); free(map); return kfail(k, "out of memory"); }
  int64_t idx[WM_ONNX_MAX_DIMS] = {0}, off = 0;
  for (int64_t i = 0; i < n; i++) {
    map[i] = off;
    double v = tget(x, i);
    sum[off] += v;
    sq[off] += v * v;
    for (int d = x->ndim - 1; d >= 0; d--) {
      off += st[d];
      if (++idx[d] < x->dims[d]) break;
      off -= st[d] * x->dims[d];
      idx[d] = 0;
    }
  }
  for (int64_t i = 0; i < n; i++) {
    double m = sum[map[i]] / (double)cnt, var = sq[map[i]] / (double)cnt - m * m;
    tset(k->out[0], i, (tget(x, i) - m) / (sqrt(var < 0 ? 0 : var) + 1e-9));
  }
  free(sum); free(sq); free(map);
  return 0;
}
