/* pool.c — MaxPool (with Indices), AveragePool, LpPool and the Global* pools for 1-3 spatial dims; MaxUnpool. */
#include "kernels.h"

typedef struct pool_geom {
  int nsp;
  int64_t in[3], k[3], out[3], s[3], d[3], pb[3], pe[3];
  /* end padding counted by count_include_pad: ceil_mode windows that run past pe count those cells too,
   * as the ONNX reference pads the input up to the last window before averaging */
  int64_t pc[3];
} pool_geom;

static int pool_attrs(onnx_kernel_ctx *k, const wm_onnx_tensor *x, pool_geom *g) {
  int nsp = x->ndim - 2;
  if (nsp < 1 || nsp > 3) return kfail(k, "only 1-3 spatial dimensions are supported");
  memset(g, 0, sizeof *g);
  g->nsp = nsp;
  size_t c;
  const int64_t *ks = attr_ints(k->node, "kernel_shape", &c);
  if (!ks || (int)c != nsp) return kfail(k, "kernel_shape missing or wrong length");
  const int64_t *st = attr_ints(k->node, "strides", &c);
  if (st && (int)c != nsp) return kfail(k, "strides length mismatch");
  const int64_t *dl = attr_ints(k->node, "dilations", &c);
  if (dl && (int)c != nsp) return kfail(k, "dilations length mismatch");
  const int64_t *pd = attr_ints(k->node, "pads", &c);
  if (pd && (int)c != 2 * nsp) return kfail(k, "pads length mismatch");
  const char *ap = attr_str(k->node, "auto_pad", "NOTSET");
  int ceil_mode = (int)attr_int(k->node, "ceil_mode", 0);
  for (int i = 0; i < 3; i++) g->in[i] = g->k[i] = g->out[i] = g->s[i] = g->d[i] = 1;
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    g->in[j] = x->dims[2 + i];
    g->k[j] = ks[i];
    g->s[j] = st ? st[i] : 1;
    g->d[j] = dl ? dl[i] : 1;
    g->pb[j] = pd ? pd[i] : 0;
    g->pe[j] = pd ? pd[nsp + i] : 0;
    if (g->k[j] <= 0 || g->s[j] <= 0 || g->d[j] <= 0 || g->pb[j] < 0 || g->pe[j] < 0) return kfail(k, "invalid pooling parameters");
    int64_t ek = (g->k[j] - 1) * g->d[j] + 1;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      int64_t o = (g->in[j] + g->s[j] - 1) / g->s[j], tot = (o - 1) * g->s[j] + ek - g->in[j];
      if (tot < 0) tot = 0;
      g->pb[j] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
      g->pe[j] = tot - g->pb[j];
      g->out[j] = o;
      continue;
    }
    if (!strcmp(ap, "VALID")) g->pb[j] = g->pe[j] = 0;
    int64_t span = g->in[j] + g->pb[j] + g->pe[j] - ek;
    if (span < 0) return kfail(k, "kernel larger than padded input");
    g->out[j] = (ceil_mode ? (span + g->s[j] - 1) / g->s[j] : span / g->s[j]) + 1;
    /* the last window must start inside the input or left padding */
    if (ceil_mode && (g->out[j] - 1) * g->s[j] >= g->in[j] + g->pb[j]) g->out[j]--;
  }
  for (int j = 0; j < 3; j++) {
    int64_t need = (g->out[j] - 1) * g->s[j] + (g->k[j] - 1) * g->d[j] + 1 - g->in[j] - g->pb[j];
    g->pc[j] = need > g->pe[j] ? need : g->pe[j];
  }
  return 0;
}

enum { P_MAX, P_AVG, P_LP };

/* Float MaxPool/AveragePool over 2-D planes (1-D as H = 1) without Indices: per output, the valid tap ranges
 * are computed once instead of testing every tap, and planes are spread over the thread pool. */
typedef struct fpool_job {
  const float *x;
  float *y;
  const pool_geom *g;
  int kind, incl;
} fpool_job;

/* taps t in [0, k) with o*s - pb + t*d inside [lo, hi) */
static inline void tap_range(int64_t o, int64_t s, int64_t pb, int64_t d, int64_t k, int64_t lo, int64_t hi, int64_t *t0,
                             int64_t *t1) {
  int64_t base = o * s - pb;
  /* undilated (every CNN pool): no divisions, which made these ranges cost as much as the pooling itself */
  int64_t a = base >= lo ? 0 : d == 1 ? lo - base : (lo - base + d - 1) / d;
  int64_t b = base >= hi ? 0 : d == 1 ? hi - base : (hi - 1 - base) / d + 1;
  if (b > k) b = k;
  if (a > b) a = b;
  *t0 = a;
  *t1 = b;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* t = max(r2, max(r1, r0)) (r2 may be NULL) with the C's NaN order (vmaxps keeps its second operand on NaN, like
 * `a > b ? a : b`), over all n columns: the last vector's loads masked, so no scalar tail (a 55-wide row had 7 of
 * them) and no separate copy of the first row. r0 may be t itself. */
__attribute__((target("avx2"))) static void rows_max_avx2(float *t, const float *r0, const float *r1,
                                                           const float *r2, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 m = _mm256_max_ps(_mm256_loadu_ps(r1 + i), _mm256_loadu_ps(r0 + i));
    if (r2) m = _mm256_max_ps(_mm256_loadu_ps(r2 + i), m);
    _mm256_storeu_ps(t + i, m);
  }
  if (i < n) {
    __m256i k = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 m = _mm256_max_ps(_mm256_maskload_ps(r1 + i, k), _mm256_maskload_ps(r0 + i, k));
    if (r2) m = _mm256_max_ps(_mm256_maskload_ps(r2 + i, k), m);
    _mm256_storeu_ps(t + i, m); /* whole: t has slack past the row (a masked store costs ~17 cycles on Zen 3) */
  }
}

/* y[o] = max(q[2o], q[2o+1], q[2o+2]) with the C's NaN order, eight at a time, the last vector too (a 13-wide
 * map spent as long in its scalar tail as in the vectors); reads up to q[2n+15]. The stride-2 3-wide window of
 * the CNN stems' MaxPool and of squeezenet's. */
__attribute__((target("avx2"))) static void max3s2_avx2(const float *q, float *y, int64_t n) {
  for (int64_t o = 0; o < n; o += 8, q += 16) {
    __m256 lo = _mm256_loadu_ps(q), hi = _mm256_loadu_ps(q + 8), lo2 = _mm256_loadu_ps(q + 2), hi2 = _mm256_loadu_ps(q + 10);
    __m256 a = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)), b = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    __m256 c = _mm256_shuffle_ps(lo2, hi2, _MM_SHUFFLE(2, 0, 2, 0));
    __m256 m = _mm256_max_ps(_mm256_max_ps(a, b), c); /* lanes in 0 1 4 5 2 3 6 7 order: fixed below */
    m = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), _MM_SHUFFLE(3, 1, 2, 0)));
    if (o + 8 <= n) _mm256_storeu_ps(y + o, m);
    else store_first_n(y + o, m, n - o);
  }
}
#endif

static void fpool_task(void *arg, int64_t plane, int tid) {
  (void)tid;
  const fpool_job *j = arg;
  const pool_geom *g = j->g;
  int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
  const float *x = j->x + plane * H * W;
  float *y = j->y + plane * OH * OW;
  /* column tap ranges, the same for every row: computed once (they cost divisions) */
  int64_t xr_buf[2 * 256], *xr = OW <= 128 ? xr_buf : malloc((size_t)OW * 4 * sizeof(int64_t));
  for (int64_t ox = 0; xr && ox < OW; ox++) {
    tap_range(ox, g->s[2], g->pb[2], g->d[2], g->k[2], 0, W, &xr[4 * ox], &xr[4 * ox + 1]);
    tap_range(ox, g->s[2], g->pb[2], g->d[2], g->k[2], -g->pb[2], W + g->pc[2], &xr[4 * ox + 2], &xr[4 * ox + 3]);
  }
  /* Undilated windows: combine the window's input rows first (contiguous, vectorisable), then slide along x. */
  /* [fx0, fx1): the columns whose window lies wholly inside the row (undilated) */
  int64_t fx0 = 0, fx1 = 0;
  if (xr) {
    while (fx0 < OW && !(xr[4 * fx0] == 0 && xr[4 * fx0 + 1] == g->k[2])) fx0++;
    fx1 = fx0;
    while (fx1 < OW && xr[4 * fx1] == 0 && xr[4 * fx1 + 1] == g->k[2]) fx1++;
  }
  /* 32 floats of slack: the vector loops below may read (not use) past the row */
  float rowbuf[1024 + 32];
  float *t = g->d[1] == 1 && g->d[2] == 1 && xr ? (W <= 1024 ? rowbuf : malloc((size_t)(W + 32) * sizeof(float))) : NULL;
#if defined(__x86_64__) || defined(__i386__)
  int avx2 = cpu_kernels_get() == &cpu_kernels_avx2;
#endif
  for (int64_t oy = 0; t && oy < OH; oy++) {
    int64_t y0, y1, py0, py1;
    tap_range(oy, g->s[1], g->pb[1], 1, g->k[1], 0, H, &y0, &y1);
    tap_range(oy, g->s[1], g->pb[1], 1, g->k[1], -g->pb[1], H + g->pc[1], &py0, &py1);
    int64_t iy0 = oy * g->s[1] - g->pb[1];
    if (y0 == y1) {
      for (int64_t ix = 0; ix < W; ix++) t[ix] = j->kind == P_MAX ? -INFINITY : 0.f;
    }
#if defined(__x86_64__) || defined(__i386__)
    else if (avx2 && j->kind == P_MAX && y1 - y0 >= 2 && W < INT32_MAX) { /* three window rows per pass */
      const float *r0 = x + (iy0 + y0) * W;
      rows_max_avx2(t, r0, r0 + W, y1 - y0 >= 3 ? r0 + 2 * W : NULL, W);
      for (int64_t ky = y0 + 3; ky < y1; ky += 2)
        rows_max_avx2(t, t, x + (iy0 + ky) * W, ky + 1 < y1 ? x + (iy0 + ky + 1) * W : NULL, W);
    }
#endif
    else {
      memcpy(t, x + (iy0 + y0) * W, (size_t)W * sizeof(float));
      for (int64_t ky = y0 + 1; ky < y1; ky++) {
        const float *row = x + (iy0 + ky) * W;
        if (j->kind == P_MAX)
          for (int64_t ix = 0; ix < W; ix++) t[ix] = row[ix] > t[ix] ? row[ix] : t[ix];
        else
          for (int64_t ix = 0; ix < W; ix++) t[ix] += row[ix];
      }
    }
    float *yr = y + oy * OW;
    if (j->kind == P_MAX && y0 < y1 && fx0 < fx1) { /* whole windows: straight-line max the compiler vectorises */
      int64_t K = g->k[2], S = g->s[2];
      const float *tb = t - g->pb[2];
      if (K == 3 && S == 2) {
        int64_t ox = fx0;
#if defined(__x86_64__) || defined(__i386__)
        if (avx2) max3s2_avx2(tb + 2 * fx0, yr + fx0, fx1 - fx0), ox = fx1;
#endif
        for (; ox < fx1; ox++) {
          float a = tb[2 * ox], b = tb[2 * ox + 1], c = tb[2 * ox + 2], m = a > b ? a : b;
          yr[ox] = m > c ? m : c;
        }
      }
      else if (K == 2 && S == 2)
        for (int64_t ox = fx0; ox < fx1; ox++) {
          float a = tb[2 * ox], b = tb[2 * ox + 1];
          yr[ox] = a > b ? a : b;
        }
      else if (K == 3 && S == 1)
        for (int64_t ox = fx0; ox < fx1; ox++) {
          float a = tb[ox], b = tb[ox + 1], c = tb[ox + 2], m = a > b ? a : b;
          yr[ox] = m > c ? m : c;
        }
      else
        for (int64_t ox = fx0; ox < fx1; ox++) {
          const float *q = tb + ox * S;
          float m = q[0];
          for (int64_t kx = 1; kx < K; kx++) m = q[kx] > m ? q[kx] : m;
          yr[ox] = m;
        }
    }
    for (int64_t ox = 0; ox < OW; ox++) {
      if (j->kind == P_MAX && y0 < y1 && ox == fx0 && fx0 < fx1) ox = fx1; /* done above */
      if (ox >= OW) break;
      int64_t x0 = xr[4 * ox], x1 = xr[4 * ox + 1];
      const float *tr = t + ox * g->s[2] - g->pb[2];
      if (j->kind == P_MAX) {
        float m = x0 < x1 ? tr[x0] : -INFINITY;
        for (int64_t kx = x0 + 1; kx < x1; kx++) m = tr[kx] > m ? tr[kx] : m;
        yr[ox] = y0 < y1 ? m : -INFINITY;
      } else {
        float acc = 0;
        for (int64_t kx = x0; kx < x1; kx++) acc += tr[kx];
        int64_t cnt = j->incl ? (py1 - py0) * (xr[4 * ox + 3] - xr[4 * ox + 2]) : (y1 - y0) * (x1 - x0);
        yr[ox] = cnt ? acc / (float)cnt : 0.f;
      }
    }
  }
  if (t) {
    if (t != rowbuf) free(t);
    if (xr != xr_buf) free(xr);
    return;
  }
  for (int64_t oy = 0; oy < OH; oy++) {
    int64_t y0, y1, py0, py1;
    tap_range(oy, g->s[1], g->pb[1], g->d[1], g->k[1], 0, H, &y0, &y1);
    tap_range(oy, g->s[1], g->pb[1], g->d[1], g->k[1], -g->pb[1], H + g->pc[1], &py0, &py1);
    int64_t iy0 = oy * g->s[1] - g->pb[1];
    for (int64_t ox = 0; ox < OW; ox++) {
      int64_t x0, x1, px0, px1;
      if (xr) x0 = xr[4 * ox], x1 = xr[4 * ox + 1], px0 = xr[4 * ox + 2], px1 = xr[4 * ox + 3];
      else {
        tap_range(ox, g->s[2], g->pb[2], g->d[2], g->k[2], 0, W, &x0, &x1);
        tap_range(ox, g->s[2], g->pb[2], g->d[2], g->k[2], -g->pb[2], W + g->pc[2], &px0, &px1);
      }
      int64_t ix0 = ox * g->s[2] - g->pb[2];
      float r;
      if (j->kind == P_MAX) {
        float m = -INFINITY;
        int any = 0;
        for (int64_t ky = y0; ky < y1; ky++) {
          const float *row = x + (iy0 + ky * g->d[1]) * W + ix0;
          for (int64_t kx = x0; kx < x1; kx++) {
            float v = row[kx * g->d[2]];
            if (v > m || !any) m = v, any = 1;
          }
        }
        r = m;
      } else {
        float acc = 0;
        for (int64_t ky = y0; ky < y1; ky++) {
          const float *row = x + (iy0 + ky * g->d[1]) * W + ix0;
          for (int64_t kx = x0; kx < x1; kx++) acc += row[kx * g->d[2]];
        }
        int64_t cnt = (y1 - y0) * (x1 - x0);
        if (j->incl) cnt = (py1 - py0) * (px1 - px0);
        r = cnt ? acc / (float)cnt : 0.f;
      }
      y[oy * OW + ox] = r;
    }
  }
  if (xr != xr_buf) free(xr);
}

static int run_pool(onnx_kernel_ctx *k, int kind) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (!is_float_type(x->dtype) && !(kind == P_MAX && (x->dtype == WM_ONNX_UINT8 || x->dtype == WM_ONNX_INT8)))
    return kfail(k, "type %s not supported", wm_onnx_dtype_name(x->dtype));
  pool_geom g;
  if (pool_attrs(k, x, &g)) return -1;
  int incl = (int)attr_int(k->node, "count_include_pad", 0), order = (int)attr_int(k->node, "storage_order", 0);
  double p = (double)attr_int(k->node, "p", 2);
  int64_t N = x->dims[0], C = x->dims[1], dims[WM_ONNX_MAX_DIMS];
  dims[0] = N;
  dims[1] = C;
  for (int i = 0; i < g.nsp; i++) dims[2 + i] = g.out[3 - g.nsp + i];
  int want_idx = kind == P_MAX && k->nout > 1;
  int fast = x->dtype == WM_ONNX_FLOAT && !want_idx && kind != P_LP && g.nsp <= 2;
  if ((fast ? out_alloc_nz : out_alloc)(k, 0, x->dtype, x->ndim, dims)) return -1;
  if (want_idx && out_alloc(k, 1, WM_ONNX_INT64, x->ndim, dims)) return -1;
  if (fast) {
    fpool_job j = {x->data, k->out[0]->data, &g, kind, incl};
    int64_t work = N * C * g.out[1] * g.out[2] * g.k[1] * g.k[2];
    if (work < 150000) /* too little to share across threads */
      for (int64_t pl = 0; pl < N * C; pl++) fpool_task(&j, pl, 0);
    else
      par_for(N * C, fpool_task, &j);
    return 0;
  }
  int ox;
  const float *px = float_view(k, x, &ox);
  if (!px) return -1;
  int64_t isz = g.in[0] * g.in[1] * g.in[2], o = 0;
  wm_onnx_tensor *y = k->out[0];
  for (int64_t nc = 0; nc < N * C; nc++) {
    const float *src = px + nc * isz;
    for (int64_t oz = 0; oz < g.out[0]; oz++)
      for (int64_t oy = 0; oy < g.out[1]; oy++)
        for (int64_t oxx = 0; oxx < g.out[2]; oxx++, o++) {
          double acc = kind == P_MAX ? -INFINITY : 0;
          int64_t cnt = 0, cnt_pad = 0, best = -1;
          for (int64_t kz = 0; kz < g.k[0]; kz++) {
            int64_t iz = oz * g.s[0] - g.pb[0] + kz * g.d[0];
            for (int64_t ky = 0; ky < g.k[1]; ky++) {
              int64_t iy = oy * g.s[1] - g.pb[1] + ky * g.d[1];
              for (int64_t kx = 0; kx < g.k[2]; kx++) {
                int64_t ix = oxx * g.s[2] - g.pb[2] + kx * g.d[2];
                int inside_pad = iz < g.in[0] + g.pc[0] && iy < g.in[1] + g.pc[1] && ix < g.in[2] + g.pc[2];
                if (iz < 0 || iz >= g.in[0] || iy < 0 || iy >= g.in[1] || ix < 0 || ix >= g.in[2]) {
                  cnt_pad += inside_pad;
                  continue;
                }
                int64_t off = (iz * g.in[1] + iy) * g.in[2] + ix;
                double v = src[off];
                cnt++;
                cnt_pad++;
                if (kind == P_MAX) {
                  if (v > acc || best < 0) {
                    acc = v;
                    best = order ? (ix * g.in[1] + iy) * g.in[0] + iz : off;
                  }
                } else if (kind == P_AVG) acc += v;
                else acc += pow(fabs(v), p);
              }
            }
          }
          double r;
          if (kind == P_MAX) r = acc;
          else if (kind == P_AVG) r = (incl ? cnt_pad : cnt) ? acc / (double)(incl ? cnt_pad : cnt) : 0;
          else r = pow(acc, 1.0 / p);
          tset(y, o, r);
          if (want_idx) ((int64_t *)k->out[1]->data)[o] = nc * isz + (best < 0 ? 0 : best);
        }
  }
  float_release((float *)px, ox);
  return 0;
}
KERNEL(MaxPool) { return run_pool(k, P_MAX); }
KERNEL(AveragePool) { return run_pool(k, P_AVG); }
KERNEL(LpPool) { return run_pool(k, P_LP); }

/* Float GlobalAveragePool over planes [t * per, (t + 1) * per): tasks for the thread pool (efficientnet's squeeze
 * steps read 9 MB of activations a run, on one thread at two). */
typedef struct gap_job {
  const float *x;
  float *y;
  int64_t nc, sp, per;
} gap_job;

static void gap_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const gap_job *j = arg;
  for (int64_t i = t * j->per; i < (t + 1) * j->per && i < j->nc; i++) {
    const float *s = j->x + i * j->sp;
    float a[8] = {0}; /* 8 partial sums: one serial chain would wait on every add */
    int64_t q = 0;
    for (; q + 8 <= j->sp; q += 8)
      for (int l = 0; l < 8; l++) a[l] += s[q + l];
    for (; q < j->sp; q++) a[0] += s[q];
    double acc = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    j->y[i] = (float)(acc / (double)j->sp);
  }
}

static int run_global(onnx_kernel_ctx *k, int kind) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "X")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (x->ndim < 2) return kfail(k, "input rank must be >= 2");
  int64_t dims[WM_ONNX_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) dims[d] = d < 2 ? x->dims[d] : 1;
  if (out_alloc(k, 0, x->dtype, x->ndim, dims)) return -1;
  int64_t nc = x->dims[0] * x->dims[1], sp = numel_of(x->ndim - 2, x->dims + 2);
  double p = (double)attr_int(k->node, "p", 2);
  if (kind == P_AVG && x->dtype == WM_ONNX_FLOAT && nc > 0) {
    int64_t nt = nc * sp >= ((int64_t)1 << 15) ? wm_onnx_get_threads() : 1;
    gap_job j = {x->data, k->out[0]->data, nc, sp, nt > 1 ? (nc + nt * 4 - 1) / (nt * 4) : nc};
    par_for((nc + j.per - 1) / j.per, gap_task, &j);
    return 0;
  }
  for (int64_t i = 0; i < nc; i++) {
    double acc = kind == P_MAX ? -INFINITY : 0;
    if (x->dtype == WM_ONNX_FLOAT) {
      const float *s = (const float *)x->data + i * sp;
      for (int64_t j = 0; j < sp; j++) acc = kind == P_MAX ? fmax(acc, s[j]) : acc + pow(fabs(s[j]), p);
    } else {
      for (int64_t j = 0; j < sp; j++) {
        double v = tget(x, i * sp + j);
        acc = kind == P_MAX ? fmax(acc, v) : kind == P_AVG ? acc + v : acc + pow(fabs(v), p);
      }
    }
    tset(k->out[0], i, kind == P_AVG ? acc / (double)sp : kind == P_LP ? pow(acc, 1.0 / p) : acc);
  }
  return 0;
}
KERNEL(GlobalAveragePool) { return run_global(k, P_AVG); }
KERNEL(GlobalMaxPool) { return run_global(k, P_MAX); }
KERNEL(GlobalLpPool) { return run_global(k, P_LP); }

/* MaxUnpool: scatters X into a zero tensor at the positions recorded by MaxPool's Indices output. Indices are flat
 * offsets into the default unpooled shape; with an explicit output_shape they keep their coordinates. */
KERNEL(MaxUnpool) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ix = k->in[1], *os = kin(k, 2);
  if (x->ndim < 3) return kfail(k, "X must have rank >= 3");
  if (!is_int_type(ix->dtype) || wm_onnx_numel(ix) != wm_onnx_numel(x)) return kfail(k, "I must be an integer tensor shaped like X");
  int r = x->ndim - 2, nd = x->ndim;
  int64_t dd[WM_ONNX_MAX_DIMS], od[WM_ONNX_MAX_DIMS];
  size_t nk = 0, np = 0, ns = 0;
  const int64_t *ks = attr_ints(k->node, "kernel_shape", &nk), *pads = attr_ints(k->node, "pads", &np);
  const int64_t *st = attr_ints(k->node, "strides", &ns);
  if (!ks || nk != (size_t)r || (pads && np != 2 * (size_t)r) || (st && ns != (size_t)r))
    return kfail(k, "kernel_shape/pads/strides do not match the input rank");
  dd[0] = x->dims[0];
  dd[1] = x->dims[1];
  for (int i = 0; i < r; i++) {
    int64_t s = st ? st[i] : 1, p = pads ? pads[i] + pads[r + i] : 0;
    if (s <= 0 || s > ((int64_t)1 << 24) || ks[i] <= 0 || ks[i] > ((int64_t)1 << 24) || p < 0 || p > ((int64_t)1 << 24) ||
        x->dims[2 + i] > ((int64_t)1 << 24))
      return kfail(k, "kernel/stride/pad values out of range");
    dd[2 + i] = (x->dims[2 + i] - 1) * s + ks[i] - p;
    if (dd[2 + i] < 0) return kfail(k, "negative output size");
  }
  memcpy(od, dd, sizeof od);
  if (os && wm_onnx_numel(os)) {
    if (read_ints(k, os, od, WM_ONNX_MAX_DIMS, "output_shape") != nd) return kfail(k, "output_shape must have rank %d", nd);
    for (int d = 0; d < nd; d++)
      if (od[d] < 0 || od[d] > ((int64_t)1 << 31) || (d < 2 && od[d] != x->dims[d])) return kfail(k, "bad output_shape");
  }
  if (out_alloc(k, 0, x->dtype, nd, od)) return -1;
  int64_t total = numel_of(nd, dd);
  size_t es = wm_onnx_dtype_size(x->dtype);
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) {
    int64_t j = tget_i64(ix, i), rem, o = 0, c[WM_ONNX_MAX_DIMS];
    if (j < 0 || j >= total) return kfail(k, "index %lld out of range [0, %lld)", (long long)j, (long long)total);
    rem = j;
    for (int d = nd - 1; d >= 0; d--) { c[d] = rem % dd[d]; rem /= dd[d]; }
    for (int d = 0; d < nd; d++) {
      if (c[d] >= od[d]) return kfail(k, "index %lld falls outside output_shape", (long long)j);
      o = o * od[d] + c[d];
    }
    memcpy((char *)k->out[0]->data + (size_t)o * es, (const char *)x->data + (size_t)i * es, es);
  }
  return 0;
}
