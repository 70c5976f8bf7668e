/* conv.c — Conv and ConvTranspose for 1-3 spatial dims (groups, dilations, pads, auto_pad): Conv as GEMM on
 * pre-packed weights with implicit im2col (1x1 reads X directly), depthwise planes, fused epilogues; col2im for
 * ConvTranspose; 1-D and 2-D problems are handled as 3-D with unit leading dims. Also DeformConv (2-D). */
#include "kernels.h"

typedef struct conv_geom {
  int nsp;                       /* real spatial rank */
  int64_t in[3], k[3], out[3], s[3], d[3], pb[3], pe[3], outpad[3];
} conv_geom;

/* Reads kernel_shape/strides/dilations/pads/auto_pad into g (spatial dims are right-aligned into 3). */
int conv_read_attrs(onnx_kernel_ctx *k, const wm_onnx_tensor *x, const int64_t *kernel, conv_geom *g, int transpose) {
  int nsp = x->ndim - 2;
  if (nsp < 1 || nsp > 3) return kfail(k, "only 1-3 spatial dimensions are supported (input rank %d)", x->ndim);
  memset(g, 0, sizeof *g);
  g->nsp = nsp;
  size_t c;
  const int64_t *ks = attr_ints(k->node, "kernel_shape", &c);
  if (ks && (int)c != nsp) return kfail(k, "kernel_shape has %zu entries for %d spatial dims", c, nsp);
  const int64_t *st = attr_ints(k->node, "strides", &c);
  if (st && (int)c != nsp) return kfail(k, "strides length mismatch");
  const int64_t *dl = attr_ints(k->node, "dilations", &c);
  if (dl && (int)c != nsp) return kfail(k, "dilations length mismatch");
  const int64_t *pd = attr_ints(k->node, "pads", &c);
  if (pd && (int)c != 2 * nsp) return kfail(k, "pads length mismatch");
  const int64_t *op = attr_ints(k->node, "output_padding", &c);
  if (op && (int)c != nsp) return kfail(k, "output_padding length mismatch");
  const char *ap = attr_str(k->node, "auto_pad", "NOTSET");
  for (int i = 0; i < 3; i++) { g->in[i] = g->k[i] = g->out[i] = g->s[i] = g->d[i] = 1; }
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    g->in[j] = x->dims[2 + i];
    g->k[j] = ks ? ks[i] : kernel ? kernel[i] : 0;
    /* A kernel_shape attribute that disagrees with W would make the GEMMs read past W. */
    if (ks && kernel && ks[i] != kernel[i])
      return kfail(k, "kernel_shape[%d]=%lld differs from W's spatial dim %lld", i, (long long)ks[i], (long long)kernel[i]);
    g->s[j] = st ? st[i] : 1;
    g->d[j] = dl ? dl[i] : 1;
    g->pb[j] = pd ? pd[i] : 0;
    g->pe[j] = pd ? pd[nsp + i] : 0;
    g->outpad[j] = op ? op[i] : 0;
    if (g->k[j] <= 0 || g->s[j] <= 0 || g->d[j] <= 0 || g->pb[j] < 0 || g->pe[j] < 0)
      return kfail(k, "invalid kernel/stride/dilation/pad");
  }
  int same_upper = !strcmp(ap, "SAME_UPPER"), same_lower = !strcmp(ap, "SAME_LOWER"), valid = !strcmp(ap, "VALID");
  if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET")) return kfail(k, "unknown auto_pad '%s'", ap);
  const int64_t *os = transpose ? attr_ints(k->node, "output_shape", &c) : NULL;
  if (os && (int)c != nsp && (int)c != nsp + 2) return kfail(k, "output_shape length mismatch");
  for (int i = 3 - nsp; i < 3; i++) {
    int64_t ek = (g->k[i] - 1) * g->d[i] + 1;
    if (!transpose) {
      if (same_upper || same_lower) {
        int64_t o = (g->in[i] + g->s[i] - 1) / g->s[i], tot = (o - 1) * g->s[i] + ek - g->in[i];
        if (tot < 0) tot = 0;
        g->pb[i] = same_upper ? tot / 2 : tot - tot / 2;
        g->pe[i] = tot - g->pb[i];
      } else if (valid) g->pb[i] = g->pe[i] = 0;
      int64_t span = g->in[i] + g->pb[i] + g->pe[i] - ek;
      if (span < 0) return kfail(k, "kernel larger than padded input");
      g->out[i] = span / g->s[i] + 1;
    } else {
      int64_t full = g->s[i] * (g->in[i] - 1) + g->outpad[i] + ek;
      int64_t want = -1;
      if (os) want = os[(int)c == nsp ? i - (3 - nsp) : 2 + i - (3 - nsp)];
      else if (same_upper || same_lower) want = g->in[i] * g->s[i];
      if (want >= 0) {
        int64_t tot = full - want;
        if (tot < 0) tot = 0;
        if (same_upper || (os && !same_lower)) { g->pb[i] = tot / 2; g->pe[i] = tot - tot / 2; }
        else { g->pb[i] = tot - tot / 2; g->pe[i] = tot / 2; }
        g->out[i] = want;
      } else {
        if (valid) g->pb[i] = g->pe[i] = 0;
        g->out[i] = full - g->pb[i] - g->pe[i];
      }
      if (g->out[i] < 0) return kfail(k, "negative output size");
    }
  }
  return 0;
}

/* Implicit im2col: packs rows [k0, k0+kc) x columns [n0, n0+nc) of the im2col matrix of one image (rows are
 * (c, kz, ky, kx), columns output positions) straight into the GEMM's nr-wide B panels. */
typedef struct im2col_ctx {
  const float *x;
  const conv_geom *g;
  const float *xs; /* stride 2 along W: X's rows split into even then odd columns (W2 each), or NULL */
  int64_t W2;
} im2col_ctx;

/* One im2col row (c, kz, ky, kx) over columns [p0, p0+n): output row by output row, each a run of input values,
 * zeros where the window leaves the input. */
static void im2col_row(const im2col_ctx *ic, int64_t c, int64_t kz, int64_t ky, int64_t kx, int64_t p0, int64_t n,
                       float *o) {
  const conv_geom *g = ic->g;
  int64_t W = g->in[2], sx = g->s[2], OW = g->out[2], OH = g->out[1];
  int64_t ox = p0 % OW, oy = (p0 / OW) % OH, oz = p0 / (OW * OH);
  const float *xc = ic->x + c * g->in[0] * g->in[1] * W;
  int64_t dx = kx * g->d[2] - g->pb[2];
  for (int64_t j = 0; j < n;) {
    int64_t len = OW - ox < n - j ? OW - ox : n - j;
    int64_t iz = oz * g->s[0] - g->pb[0] + kz * g->d[0], iy = oy * g->s[1] - g->pb[1] + ky * g->d[1];
    int64_t ix = ox * sx + dx;
    float *d = o + j;
    if (iz < 0 || iz >= g->in[0] || iy < 0 || iy >= g->in[1]) memset(d, 0, (size_t)len * sizeof(float));
    else {
      /* columns t with 0 <= ix + t*sx < W; the divisions (tens of cycles) only where the window crosses an edge */
      int64_t lo = 0, hi = len;
      if (ix < 0 || ix + (len - 1) * sx >= W) {
        lo = ix >= 0 ? 0 : (-ix + sx - 1) / sx, hi = ix >= W ? 0 : (W - 1 - ix) / sx + 1;
        if (hi > len) hi = len;
        if (lo > hi) lo = hi;
      }
      const float *srow = xc + (iz * g->in[1] + iy) * W;
      int64_t t = 0;
      for (; t < lo; t++) d[t] = 0;
      if (sx == 1) memcpy(d + lo, srow + ix + lo, (size_t)(hi - lo) * sizeof(float));
      else if (ic->xs) { /* columns ix + 2t: one run of the even or the odd half of the split row */
        const float *half = ic->xs + ((c * g->in[0] + iz) * g->in[1] + iy) * 2 * ic->W2 + (ix & 1) * ic->W2;
        memcpy(d + lo, half + (ix - (ix & 1)) / 2 + lo, (size_t)(hi - lo) * sizeof(float));
      } else
        for (t = lo; t < hi; t++) d[t] = srow[ix + t * sx];
      for (t = hi; t < len; t++) d[t] = 0;
    }
    j += len;
    ox = 0;
    if (++oy == OH) { oy = 0; oz++; }
  }
}

/* Each row is built whole for up to IM2COL_CHUNK columns, then cut into the panels with fixed-size copies the
 * compiler inlines: cutting runs at panel edges as they were copied cost ~50 cycles per 16 values, a quarter of
 * a stride-2 3x3 convolution's time. */
#define IM2COL_CHUNK 256
static void pack_im2col(const void *ctxp, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float *dst) {
  const im2col_ctx *ic = ctxp;
  const conv_geom *g = ic->g;
  float row[IM2COL_CHUNK];
  for (int64_t q0 = 0; q0 < nc; q0 += IM2COL_CHUNK) { /* IM2COL_CHUNK is a multiple of every nr */
    int64_t cn = nc - q0 < IM2COL_CHUNK ? nc - q0 : IM2COL_CHUNK;
    int64_t r = k0;
    int64_t kx = r % g->k[2], ky = (r / g->k[2]) % g->k[1], kz = (r / (g->k[2] * g->k[1])) % g->k[0];
    int64_t c = r / (g->k[0] * g->k[1] * g->k[2]);
    for (int64_t k = 0; k < kc; k++) {
      im2col_row(ic, c, kz, ky, kx, n0 + q0, cn, row);
      float *d = dst + (q0 / nr) * kc * nr + k * nr;
      int64_t q = 0;
      if (nr == 16)
        for (; q + 16 <= cn; q += 16, d += kc * 16) memcpy(d, row + q, 16 * sizeof(float));
      for (; q < cn; q += nr, d += kc * nr) {
        int64_t w = cn - q < nr ? cn - q : nr;
        memcpy(d, row + q, (size_t)w * sizeof(float));
        for (int64_t j = w; j < nr; j++) d[j] = 0;
      }
      if (++kx == g->k[2]) { kx = 0; if (++ky == g->k[1]) { ky = 0; if (++kz == g->k[0]) { kz = 0; c++; } } }
    }
  }
}

/* rows x W -> rows x (W2 even columns, then W2 odd columns); an odd W leaves the last odd slot unused. */
static void split_even_odd(const float *x, int64_t rows, int64_t W, int64_t W2, float *xs) {
  for (int64_t r = 0; r < rows; r++, x += W, xs += 2 * W2) {
    float *restrict ev = xs, *restrict od = xs + W2;
    int64_t h = W / 2;
    for (int64_t j = 0; j < h; j++) { /* one loop over pairs: the compiler vectorises it with shuffles */
      ev[j] = x[2 * j];
      od[j] = x[2 * j + 1];
    }
    if (W & 1) ev[h] = x[W - 1];
  }
}

/* Weights packed once for the GEMM (constant W): one set of A panels per group. */
typedef struct conv_prep {
  kernel_prep hdr;
  const cpu_kernels *ck;
  int64_t G, Mg, Kg, gstride;
  float *wp;   /* NULL when wino is set */
  float *wino; /* Winograd-transformed weights (wino_pack_weights), for 3x3 stride-1 convolutions */
  int64_t wino_stride;
} conv_prep;

static void conv_prep_free(kernel_prep *p) {
  free(((conv_prep *)p)->wp);
  free(((conv_prep *)p)->wino);
  free(p);
}

/* Winograd F(2x2,3x3) pays from 16 channels in and out (below, the transforms outweigh the saved products), on the
 * AVX2 kernels its transforms are written for. */
static int wino_fits(const cpu_kernels *ck, int64_t G, int64_t C, int64_t M) {
#if defined(__x86_64__) || defined(__i386__)
  return ck == &cpu_kernels_avx2 && G == 1 && C >= 16 && M >= 16;
#else
  (void)ck, (void)G, (void)C, (void)M;
  return 0;
#endif
}

static conv_prep *conv_make_prep(const float *pw, int64_t G, int64_t Mg, int64_t Kg, int wino) {
  const cpu_kernels *ck = cpu_kernels_get();
  conv_prep *cp = calloc(1, sizeof *cp);
  if (!cp) return NULL;
  cp->hdr.free = conv_prep_free;
  cp->ck = ck;
  cp->G = G, cp->Mg = Mg, cp->Kg = Kg;
  if (wino) { /* the GEMM path then packs the weights per call: only reached if the input's geometry changes */
    if (!(cp->wino = wino_pack_weights(pw, Mg, Kg / 9, &cp->wino_stride))) { free(cp); return NULL; }
    return cp;
  }
  cp->gstride = (Mg + ck->mr - 1) / ck->mr * ck->mr * Kg;
  size_t bytes = ((size_t)(cp->gstride * G) * sizeof(float) + 63) & ~(size_t)63;
  cp->wp = aligned_alloc(64, bytes);
  if (!cp->wp) { free(cp); return NULL; }
  wm_prefault(cp->wp, bytes);
  for (int64_t gi = 0; gi < G; gi++) gemm_pack_a_to(cp->wp + gi * cp->gstride, pw + gi * Mg * Kg, Kg, 0, Mg, Kg, 1.0f);
  return cp;
}

/* A 2-D 3x3 Conv with unit strides and dilations whose channel counts suit Winograd (its pads are read at run). */
static int conv_wino_node(const onnx_node *nd, const wm_onnx_tensor *w, int64_t G) {
  if (w->ndim != 4 || w->dims[2] != 3 || w->dims[3] != 3) return 0;
  size_t c;
  const int64_t *st = attr_ints(nd, "strides", &c);
  for (size_t i = 0; st && i < c; i++)
    if (st[i] != 1) return 0;
  const int64_t *dl = attr_ints(nd, "dilations", &c);
  for (size_t i = 0; dl && i < c; i++)
    if (dl[i] != 1) return 0;
  return wino_fits(cpu_kernels_get(), G, w->dims[1], w->dims[0]);
}

/* Load-time packing of a Conv's constant float weights (what the first run would otherwise do). */
void conv_prepare(onnx_node *nd, const wm_onnx_tensor *w) {
  int64_t G = attr_int(nd, "group", 1);
  if (nd->prep || w->dtype != WM_ONNX_FLOAT || w->ndim < 3 || G <= 0 || w->dims[0] % G) return;
  int64_t Mg = w->dims[0] / G, Kg = numel_of(w->ndim - 1, w->dims + 1);
  if (Mg == 1 && w->dims[1] == 1) return; /* depthwise: no GEMM */
  nd->prep = conv_make_prep(w->data, G, Mg, Kg, conv_wino_node(nd, w, G));
}

float *dw_padded_plane(const float *x, int64_t H, int64_t W, int kh, int kw, int sh, int sw, int dh, int dw, int pt,
                       int pl, int64_t OH, int64_t OW, int vl, int64_t *Wp_out, int64_t *OWv_out) {
  if (kh * kw > 25 || (sw != 1 && sw != 2) || dw != 1 || OH <= 0 || OW <= 0) return NULL;
  int64_t OWv = OW < vl ? vl : OW; /* narrow rows still compute one whole vector (into a temporary) */
  int64_t Wp = (OWv - 1) * sw + kw + 2 * vl, Hp = (OH - 1) * sh + (int64_t)(kh - 1) * dh + 1;
  if (Wp < pl + W) Wp = pl + W;
  float *buf = par_scratch(2, (size_t)(Hp * Wp));
  if (!buf) return NULL;
  for (int64_t r = 0; r < Hp; r++) {
    float *br = buf + r * Wp;
    int64_t iy = r - pt;
    if (iy < 0 || iy >= H) {
      memset(br, 0, (size_t)Wp * sizeof(float));
      continue;
    }
    int64_t n = W < Wp - pl ? W : Wp - pl;
    memset(br, 0, (size_t)pl * sizeof(float));
    memcpy(br + pl, x + iy * W, (size_t)n * sizeof(float));
    memset(br + pl + n, 0, (size_t)(Wp - pl - n) * sizeof(float));
  }
  *Wp_out = Wp;
  *OWv_out = OWv;
  return buf;
}

typedef struct dw_job {
  const float *x, *w, *b, *res;
  float *y;
  const conv_geom *g;
  int64_t C, planes, per;
  const cpu_kernels *ck;
  int act;
  float p0, p1;
} dw_job;

static void dw_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const dw_job *j = arg;
  const conv_geom *g = j->g;
  int64_t isz = g->in[1] * g->in[2], osz = g->out[1] * g->out[2];
  for (int64_t pl = t * j->per; pl < (t + 1) * j->per && pl < j->planes; pl++) {
    int64_t c = pl % j->C;
    j->ck->dwconv(j->x + pl * isz, g->in[1], g->in[2], j->w + c * g->k[1] * g->k[2], (int)g->k[1], (int)g->k[2],
                  (int)g->s[1], (int)g->s[2], (int)g->d[1], (int)g->d[2], (int)g->pb[1], (int)g->pb[2], j->y + pl * osz,
                  g->out[1], g->out[2], j->b ? j->b[c] : 0.f, j->res ? j->res + pl * osz : NULL, j->act, j->p0, j->p1);
  }
}

/* Direct 3x3 convolution, stride 1 or 2, where a row kernel exists (AVX2, wasm SIMD128; NEON has one, untested): see
 * conv3x3_row4_avx2. Tasks are bands of output rows. */
#if defined(__x86_64__) || defined(__i386__)
#define C3_ROW conv3x3_row4_avx2
#define C3_ISA cpu_kernels_avx2
#elif defined(__wasm_simd128__)
#define C3_ROW conv3x3_row4_simd128
#define C3_ISA cpu_kernels_simd128
#endif
#ifdef C3_ROW
typedef struct c3_job {
  const float *xp, *w4, *b, *res;
  float *y;
  int64_t C, M, OH, OW, OW16, Hp, Wp, band, nbands;
  int s;
  const cpu_kernels *ck;
  int act;
  float p0, p1;
  _Atomic int *failed;
} c3_job;

static void c3_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const c3_job *j = arg;
  int64_t nblk = (j->M + 3) / 4, r0 = t * j->band, r1 = r0 + j->band < j->OH ? r0 + j->band : j->OH;
  float *tmp = par_scratch(3, (size_t)(4 * j->OW16));
  if (!tmp) { j->failed[0] = 1; return; }
  /* row-major, all channel blocks per row: the three input rows of every channel stay in L2 across the blocks
   * (block-major re-read the whole input once per block: 10 MB per pass for ppocr_det's 96x160x160) */
  for (int64_t oh = r0; oh < r1; oh++)
    for (int64_t blk = 0; blk < nblk; blk++) {
      C3_ROW(j->xp + oh * j->s * j->Wp, j->C, j->Hp * j->Wp, j->Wp, j->w4 + blk * j->C * 36, j->OW, tmp,
                        j->OW16, j->s);
      for (int o = 0; o < 4 && blk * 4 + o < j->M; o++) {
        int64_t m = blk * 4 + o, at = (m * j->OH + oh) * j->OW;
        j->ck->act(j->y + at, tmp + o * j->OW16, j->OW, 1.0f, j->b ? j->b[m] : 0.f, j->res ? j->res + at : NULL,
                   j->act, j->p0, j->p1);
      }
    }
}

/* The zero-padded copy of one image, built by the threads a band of rows each (pad_planes in kernels.h). */
typedef struct pad_job {
  const float *x;
  float *xp;
  int64_t H, W, Hp, Wp, pt, pl, rows, per;
  int split;
} pad_job;

/* Rows up to this width are split from a padded copy on the stack; the gather below (per element, with bounds
 * checks) took 7 cycles a value: a third of mobilenet's and squeezenet's stem convolutions. */
#define PAD_ROW_MAX 4096
static void pad_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const pad_job *j = arg;
  int64_t r1 = (t + 1) * j->per < j->rows ? (t + 1) * j->per : j->rows;
  for (int64_t r = t * j->per; r < r1; r++) {
    int64_t c = r / j->Hp, h = r % j->Hp - j->pt;
    float *d = j->xp + r * j->Wp;
    if (h < 0 || h >= j->H) { memset(d, 0, (size_t)j->Wp * sizeof(float)); continue; }
    const float *src = j->x + (c * j->H + h) * j->W;
    int64_t half = j->Wp / 2;
    if (!j->split || j->Wp <= PAD_ROW_MAX) { /* the padded row, in place or (split) on the stack, then split */
      float row[PAD_ROW_MAX], *p = j->split ? row : d;
      memset(p, 0, (size_t)j->pl * sizeof(float));
      memcpy(p + j->pl, src, (size_t)j->W * sizeof(float));
      memset(p + j->pl + j->W, 0, (size_t)(j->Wp - j->pl - j->W) * sizeof(float));
      if (j->split) split_even_odd(row, 1, j->Wp, half, d);
      continue;
    }
    for (int par = 0; par < 2; par++) /* padded column 2i + par is input column 2i + par - pl */
      for (int64_t i = 0; i < half; i++) {
        int64_t xc = 2 * i + par - j->pl;
        d[par * half + i] = xc >= 0 && xc < j->W ? src[xc] : 0.f;
      }
  }
}

void pad_planes(const float *x, int64_t C, int64_t H, int64_t W, float *xp, int64_t Hp, int64_t Wp, int64_t pt,
                int64_t pl, int split) {
  int64_t nt = wm_onnx_get_threads(), rows = C * Hp, per = (rows + nt * 4 - 1) / (nt * 4);
  pad_job j = {x, xp, H, W, Hp, Wp, pt, pl, rows, per, split};
  par_for((rows + per - 1) / per, pad_task, &j);
}

/* Y = conv3x3(X) for each of the N images, pads <= 2, with the epilogue. 1 when done, 0 when out of memory (the
 * caller then runs the GEMM path, which rewrites all of Y). */
static int conv3x3_direct(const float *x, const float *w, const float *b, const float *res, float *y, int64_t N,
                          int64_t C, int64_t M, const conv_geom *g, const cpu_kernels *ck, int act, float p0, float p1) {
  int s = (int)g->s[2];
  int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2], OW16 = (OW + 15) / 16 * 16;
  int64_t pt = g->pb[1], pl = g->pb[2], nblk = (M + 3) / 4;
  /* rows and columns the taps read (the last tile runs past OW into zeros), and at least the input itself */
  int64_t Hp = s * (OH - 1) + 3, Wp = s * OW16 + 2;
  if (Hp < H + pt) Hp = H + pt;
  if (Wp < W + pl) Wp = W + pl;
  Wp += Wp & (s == 2); /* even, to split */
  float *xp = malloc((size_t)(C * Hp * Wp) * sizeof(float));
  float *w4 = calloc((size_t)(nblk * C * 36), sizeof(float));
  if (!xp || !w4) { free(xp); free(w4); return 0; }
  for (int64_t m = 0; m < M; m++)
    for (int64_t c = 0; c < C; c++)
      for (int t = 0; t < 9; t++) w4[((m / 4 * C + c) * 9 + t) * 4 + m % 4] = w[(m * C + c) * 9 + t];
  int64_t nt = wm_onnx_get_threads(), band = OH;
  if (nt > 1) band = (OH + nt * 4 - 1) / (nt * 4); /* about 4 bands per thread, to balance */
  _Atomic int failed = 0;
  for (int64_t n = 0; n < N && !failed; n++) {
    pad_planes(x + n * C * H * W, C, H, W, xp, Hp, Wp, pt, pl, s == 2);
    c3_job j = {xp, w4, b, res ? res + n * M * OH * OW : NULL, y + n * M * OH * OW, C, M, OH, OW, OW16, Hp, Wp, band,
                (OH + band - 1) / band, s, ck, act, p0, p1, &failed};
    par_for(j.nbands, c3_task, &j);
  }
  free(xp);
  free(w4);
  return !failed;
}
#endif

/* The node's Winograd weights when they were made for this CPU and these channel counts, else NULL. */
static const conv_prep *wino_prep(onnx_kernel_ctx *k, const cpu_kernels *ck, int64_t Kg, int64_t M) {
  const conv_prep *cp = k->prep ? (const conv_prep *)*k->prep : NULL;
  return cp && cp->wino && cp->ck == ck && cp->G == 1 && cp->Kg == Kg && cp->Mg == M ? cp : NULL;
}

#ifdef C3_ROW
/* Up to 128 output channels the direct kernel beats im2col + GEMM at stride 1 (measured: 1.1x at M=128 on 28x28,
 * 1.7x at M=24 on 160x160, where packing each input nine times for few multiply-adds dominates; equal at 256).
 * At stride 2 its even/odd shuffles cost more: on AVX2 the GEMM is 1.45x faster at M=128 (56x56 in) and 1.1x at
 * M=64, the direct kernel 1.3x faster at M=32, and on RGB stems (K=27: packing is most of the GEMM's work) the
 * direct kernel made squeezenet 5% faster at M=64. */
static int direct3x3_pays(const cpu_kernels *ck, int stride, int64_t C, int64_t M) {
#if defined(__x86_64__) || defined(__i386__)
  if (stride == 2 && ck == &cpu_kernels_avx2) return M <= 32 || C <= 4;
#endif
  (void)ck, (void)stride, (void)C;
  return M <= 128;
}
#endif

KERNEL(Conv) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *w = k->in[1], *b = kin(k, 2);
  const wm_onnx_tensor *res = k->node->fuse_res ? kin(k, k->node->fuse_res) : NULL;
  int act = k->node->fuse_act;
  float p0 = k->node->fuse_p0, p1 = k->node->fuse_p1;
  if (require_float(k, x, "X") || require_float(k, w, "W")) return -1;
  if (w->ndim != x->ndim) return kfail(k, "W rank %d differs from X rank %d", w->ndim, x->ndim);
  conv_geom g;
  if (conv_read_attrs(k, x, w->dims + 2, &g, 0)) return -1;
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = attr_int(k->node, "group", 1);
  if (G <= 0 || C % G || M % G || w->dims[1] != C / G)
    return kfail(k, "channels %lld / group %lld / W %lldx%lld inconsistent", (long long)C, (long long)G,
                 (long long)M, (long long)w->dims[1]);
  if (b && (b->ndim != 1 || b->dims[0] != M)) return kfail(k, "bias must have %lld elements", (long long)M);
  int64_t dims[WM_ONNX_MAX_DIMS];
  dims[0] = N;
  dims[1] = M;
  for (int i = 0; i < g.nsp; i++) dims[2 + i] = g.out[3 - g.nsp + i];
  float *y = float_out_nz(k, 0, x->dtype, x->ndim, dims);
  if (!y) return -1;
  int ox, ow, ob = 0, orr = 0;
  const float *px = float_view(k, x, &ox), *pw = float_view(k, w, &ow), *pb = NULL, *pr = NULL;
  if (!px || !pw) return -1;
  if (b && !(pb = float_view(k, b, &ob))) return -1;
  /* a residual shaped exactly like Y is added in the epilogue; anything else afterwards, with broadcasting */
  int res_late = 0;
  if (res) {
    int same = res->ndim == x->ndim;
    for (int d = 0; same && d < x->ndim; d++) same = res->dims[d] == dims[d];
    if (same) {
      if (!(pr = float_view(k, res, &orr))) return -1;
    } else res_late = 1;
  }
  int eact = res_late ? ACT_NONE : act;
  const cpu_kernels *ck = cpu_kernels_get();
  int64_t Cg = C / G, Mg = M / G, ksz = g.k[0] * g.k[1] * g.k[2], osz = g.out[0] * g.out[1] * g.out[2];
  int64_t isz = g.in[0] * g.in[1] * g.in[2], Kg = Cg * ksz;
  int rc = 0;
  const conv_prep *wp;
  if (G == C && Mg == 1 && g.nsp <= 2) { /* depthwise */
    int64_t planes = N * C, nt = wm_onnx_get_threads();
    if ((double)planes * (double)osz * (double)ksz < 150000.0) nt = 1; /* too little work to share */
    int64_t per = nt > 1 ? (planes + nt * 4 - 1) / (nt * 4) : planes;
    if (per < 1) per = 1;
    dw_job j = {px, pw, pb, pr, y, &g, C, planes, per, ck, eact, p0, p1};
    par_for((planes + per - 1) / per, dw_task, &j);
  }
  else if (g.nsp == 2 && g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 1 && g.s[2] == 1 && g.d[1] == 1 && g.d[2] == 1 &&
           (wp = wino_prep(k, ck, Kg, M)) &&
           conv3x3_winograd(px, wp->wino, wp->wino_stride, pb, pr, y, N, C, M, g.in[1], g.in[2], g.out[1], g.out[2],
                            g.pb[1], g.pb[2], eact, p0, p1)) {
  }
#ifdef C3_ROW
  else if (ck == &C3_ISA && G == 1 && g.nsp == 2 && g.k[1] == 3 && g.k[2] == 3 && g.s[1] == g.s[2] &&
           (g.s[1] == 1 || g.s[1] == 2) && g.d[1] == 1 && g.d[2] == 1 && g.pb[1] <= 2 && g.pb[2] <= 2 &&
           direct3x3_pays(ck, (int)g.s[1], C, M) && conv3x3_direct(px, pw, pb, pr, y, N, C, M, &g, ck, eact, p0, p1)) {
  }
#endif
  else {
    conv_prep *cp = k->prep ? *k->prep : NULL;
    if (cp && (cp->ck != ck || cp->G != G || cp->Mg != Mg || cp->Kg != Kg)) cp = NULL;
    if (!cp && k->prep && !*k->prep && (k->const_in & 2) && w->dtype == WM_ONNX_FLOAT)
      cp = *k->prep = conv_make_prep(pw, G, Mg, Kg, 0);
    int direct = ksz == 1 && g.s[0] == 1 && g.s[1] == 1 && g.s[2] == 1 && !g.pb[0] && !g.pb[1] && !g.pb[2] &&
                 !g.pe[0] && !g.pe[1] && !g.pe[2];
    /* Stride 2 along W: split each row into its even and odd columns once, so that im2col copies runs instead of
     * gathering every other element (the 7x7/2 stem of resnet50 spent 43% of its time in that gather). */
    int64_t W2 = (g.in[2] + 1) / 2;
    float *xs = !direct && g.s[2] == 2 ? malloc((size_t)(C * g.in[0] * g.in[1] * 2 * W2) * sizeof(float)) : NULL;
    for (int64_t n = 0; n < N; n++)
      for (int64_t gi = 0; gi < G; gi++) {
        const float *xin = px + (n * C + gi * Cg) * isz;
        float *yout = y + (n * M + gi * Mg) * osz;
        gemm_src A = {NULL, pw + gi * Mg * Kg, Kg, 0, 1.0f, NULL, NULL};
        if (cp && cp->wp) A.packed = cp->wp + gi * cp->gstride;
        if (xs && gi == 0) split_even_odd(px + n * C * isz, C * g.in[0] * g.in[1], g.in[2], W2, xs);
        im2col_ctx ic = {xin, &g, xs ? xs + gi * Cg * g.in[0] * g.in[1] * 2 * W2 : NULL, W2};
        gemm_src B = {NULL, xin, osz, 0, 1.0f, NULL, NULL};
        if (!direct) { B.pack = pack_im2col; B.ctx = &ic; }
        gemm_epi e = {pb ? pb + gi * Mg : NULL, 1, pr ? pr + (n * M + gi * Mg) * osz : NULL, osz, eact, p0, p1};
        sgemm_ex(Mg, osz, Kg, &A, &B, 0, yout, osz, &e);
      }
    free(xs);
  }
  if (res_late && !rc) rc = late_add_act(k, y, x->ndim, dims, res, act, p0, p1);
  float_release((float *)px, ox);
  float_release((float *)pw, ow);
  if (pb) float_release((float *)pb, ob);
  if (pr) float_release((float *)pr, orr);
  if (rc) return rc;
  float_commit(k, 0, y);
  return 0;
}

KERNEL(ConvTranspose) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *w = k->in[1], *b = kin(k, 2);
  if (require_float(k, x, "X") || require_float(k, w, "W")) return -1;
  if (w->ndim != x->ndim) return kfail(k, "W rank differs from X rank");
  conv_geom g;
  if (conv_read_attrs(k, x, w->dims + 2, &g, 1)) return -1;
  int64_t N = x->dims[0], C = x->dims[1], G = attr_int(k->node, "group", 1);
  if (G <= 0 || C % G || w->dims[0] != C) return kfail(k, "W first dim must equal input channels");
  int64_t Mg = w->dims[1], M = Mg * G, Cg = C / G;
  if (b && (b->ndim != 1 || b->dims[0] != M)) return kfail(k, "bias must have %lld elements", (long long)M);
  int64_t dims[WM_ONNX_MAX_DIMS];
  dims[0] = N;
  dims[1] = M;
  for (int i = 0; i < g.nsp; i++) dims[2 + i] = g.out[3 - g.nsp + i];
  /* Stride equal to the kernel, no dilation or padding (the 2x2/s2 upsampling of detection necks): every output
   * element gets exactly one tap, so it is written once, bias included, with no zeroing pass. */
  int tiled = 1;
  for (int i = 0; i < 3; i++)
    tiled &= g.s[i] == g.k[i] && g.d[i] == 1 && g.pb[i] == 0 && g.out[i] == g.in[i] * g.s[i];
  float *y = tiled ? float_out_nz(k, 0, x->dtype, x->ndim, dims) : float_out(k, 0, x->dtype, x->ndim, dims);
  if (!y) return -1;
  int ox, ow, ob = 0;
  const float *px = float_view(k, x, &ox), *pw = float_view(k, w, &ow), *pb = NULL;
  if (!px || !pw) return -1;
  if (b && !(pb = float_view(k, b, &ob))) return -1;
  int64_t ksz = g.k[0] * g.k[1] * g.k[2], isz = g.in[0] * g.in[1] * g.in[2], osz = g.out[0] * g.out[1] * g.out[2];
  /* col holds W_g^T x X_g for a band of input rows at a time (about 1 MB, so it stays in cache between the GEMM
   * that writes it and the scatter that reads it; the whole [Mg*ksz, isz] matrix was ~10 MB for ppocr_det). */
  int64_t nrows = g.in[0] * g.in[1], rowlen = g.in[2];
  int64_t band = (int64_t)(1 << 18) / (Mg * ksz * rowlen > 0 ? Mg * ksz * rowlen : 1);
  if (band < 1) band = 1;
  if (band > nrows) band = nrows;
  float *col = malloc((size_t)(Mg * ksz * band * rowlen) * sizeof(float));
  if (!col) return kfail(k, "out of memory (col2im)");
  for (int64_t n = 0; n < N; n++)
    for (int64_t gi = 0; gi < G; gi++) {
      float *yout = y + (n * M + gi * Mg) * osz;
      for (int64_t r0 = 0; r0 < nrows; r0 += band) {
        int64_t nr = nrows - r0 < band ? nrows - r0 : band, cs = nr * rowlen;
        /* col[Mg*ksz, cs] = W_g^T x X_g[:, rows r0..r0+nr), where W_g is [Cg, Mg*ksz] */
        sgemm(1, 0, Mg * ksz, cs, Cg, 1.0f, pw + gi * Cg * Mg * ksz, Mg * ksz, px + (n * C + gi * Cg) * isz + r0 * rowlen,
              isz, 0.0f, col, cs);
        int64_t row = 0;
        for (int64_t m = 0; m < Mg; m++) {
          float bias = tiled && pb ? pb[gi * Mg + m] : 0.f;
          for (int64_t kz = 0; kz < g.k[0]; kz++)
            for (int64_t ky = 0; ky < g.k[1]; ky++)
              for (int64_t kx = 0; kx < g.k[2]; kx++, row++) {
                const float *cr = col + row * cs;
                for (int64_t r = r0; r < r0 + nr; r++) {
                  int64_t iz = r / g.in[1], iy = r % g.in[1];
                  int64_t oz = iz * g.s[0] - g.pb[0] + kz * g.d[0];
                  int64_t oy = iy * g.s[1] - g.pb[1] + ky * g.d[1];
                  if (oz < 0 || oz >= g.out[0] || oy < 0 || oy >= g.out[1]) continue;
                  float *yr = yout + (m * g.out[0] + oz) * g.out[1] * g.out[2] + oy * g.out[2];
                  const float *cx = cr + (r - r0) * rowlen;
                  /* ix whose output column 0 <= ix*s + off < out exists, found once instead of per element */
                  int64_t off = kx * g.d[2] - g.pb[2], sx = g.s[2];
                  int64_t lo = off >= 0 ? 0 : (-off + sx - 1) / sx;
                  int64_t hi = off >= g.out[2] ? 0 : (g.out[2] - 1 - off) / sx + 1;
                  if (hi > g.in[2]) hi = g.in[2];
                  if (tiled)
                    for (int64_t ix = lo; ix < hi; ix++) yr[ix * sx + off] = cx[ix] + bias;
                  else
                    for (int64_t ix = lo; ix < hi; ix++) yr[ix * sx + off] += cx[ix];
                }
              }
        }
      }
      if (pb && !tiled)
        for (int64_t m = 0; m < Mg; m++)
          for (int64_t i = 0; i < osz; i++) yout[m * osz + i] += pb[gi * Mg + m];
    }
  free(col);
  float_release((float *)px, ox);
  float_release((float *)pw, ow);
  if (pb) float_release((float *)pb, ob);
  float_commit(k, 0, y);
  return 0;
}

/* DeformConv (2-D): each kernel tap samples X bilinearly at its regular position plus a learned offset (zero
 * outside the image), optionally scaled by a mask, then the taps are combined like a grouped convolution. */
KERNEL(DeformConv) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0], *w = k->in[1], *offt = k->in[2], *b = kin(k, 3), *mask = kin(k, 4);
  if (require_float(k, x, "X") || require_float(k, w, "W") || require_float(k, offt, "offset")) return -1;
  if (x->ndim != 4 || w->ndim != 4) return kunsupported(k, "only 2-D DeformConv is supported");
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], Wd = x->dims[3], M = w->dims[0], kh = w->dims[2], kw = w->dims[3];
  int64_t G = attr_int(k->node, "group", 1), OG = attr_int(k->node, "offset_group", 1);
  int64_t st[2] = {1, 1}, dl[2] = {1, 1}, pd[4] = {0, 0, 0, 0};
  size_t n;
  const int64_t *a;
  if ((a = attr_ints(k->node, "strides", &n))) { if (n != 2) return kfail(k, "strides must have 2 values"); memcpy(st, a, sizeof st); }
  if ((a = attr_ints(k->node, "dilations", &n))) { if (n != 2) return kfail(k, "dilations must have 2 values"); memcpy(dl, a, sizeof dl); }
  if ((a = attr_ints(k->node, "pads", &n))) { if (n != 4) return kfail(k, "pads must have 4 values"); memcpy(pd, a, sizeof pd); }
  const int64_t lim = (int64_t)1 << 24;
  for (int i = 0; i < 2; i++)
    if (st[i] <= 0 || st[i] > lim || dl[i] <= 0 || dl[i] > lim) return kfail(k, "strides/dilations out of range");
  for (int i = 0; i < 4; i++)
    if (pd[i] < 0 || pd[i] > lim) return kfail(k, "pads out of range");
  if (G <= 0 || OG <= 0 || C % G || M % G || C % OG || w->dims[1] != C / G || kh <= 0 || kw <= 0)
    return kfail(k, "channel/group configuration is inconsistent");
  int64_t oh = (H + pd[0] + pd[2] - (dl[0] * (kh - 1) + 1)) / st[0] + 1, ow = (Wd + pd[1] + pd[3] - (dl[1] * (kw - 1) + 1)) / st[1] + 1;
  if (oh <= 0 || ow <= 0) return kfail(k, "kernel larger than padded input");
  int64_t K = kh * kw, P = oh * ow;
  if (offt->ndim != 4 || offt->dims[0] != N || offt->dims[1] != OG * 2 * K || offt->dims[2] != oh || offt->dims[3] != ow)
    return kfail(k, "offset must be (N, %lld, %lld, %lld)", (long long)(OG * 2 * K), (long long)oh, (long long)ow);
  if (mask && (mask->ndim != 4 || mask->dims[0] != N || mask->dims[1] != OG * K || mask->dims[2] != oh || mask->dims[3] != ow))
    return kfail(k, "mask must be (N, %lld, %lld, %lld)", (long long)(OG * K), (long long)oh, (long long)ow);
  if (b && wm_onnx_numel(b) != M) return kfail(k, "B must have %lld values", (long long)M);
  int64_t od[4] = {N, M, oh, ow};
  if (out_alloc(k, 0, x->dtype, 4, od)) return -1;
  double *col = malloc((size_t)(C * K * P) * sizeof *col + 1);
  if (!col) return kfail(k, "out of memory");
  int64_t cpg = C / OG, Cg = C / G, Mg = M / G;
  for (int64_t bn = 0; bn < N; bn++) {
    for (int64_t c = 0; c < C; c++) {
      int64_t g = c / cpg;
      for (int64_t t = 0; t < K; t++)
        for (int64_t p = 0; p < P; p++) {
          int64_t py = p / ow, px = p % ow, ki = t / kw, kj = t % kw;
          double dy = tget(offt, ((bn * OG * 2 * K) + g * 2 * K + 2 * t) * P + p);
          double dx = tget(offt, ((bn * OG * 2 * K) + g * 2 * K + 2 * t + 1) * P + p);
          double y = (double)(py * st[0] - pd[0] + ki * dl[0]) + dy, xx = (double)(px * st[1] - pd[1] + kj * dl[1]) + dx;
          double v = 0;
          if (y > -1 && y < (double)H && xx > -1 && xx < (double)Wd) {
            double fy = floor(y), fx = floor(xx);
            int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
            double ly = y - fy, lx = xx - fx;
            for (int cy = 0; cy < 2; cy++)
              for (int cx = 0; cx < 2; cx++) {
                int64_t yy = y0 + cy, xc = x0 + cx;
                if (yy < 0 || yy >= H || xc < 0 || xc >= Wd) continue;
                v += (cy ? ly : 1 - ly) * (cx ? lx : 1 - lx) * tget(x, ((bn * C + c) * H + yy) * Wd + xc);
              }
          }
          if (mask) v *= tget(mask, ((bn * OG * K) + g * K + t) * P + p);
          col[(c * K + t) * P + p] = v;
        }
    }
    for (int64_t m = 0; m < M; m++) {
      int64_t g = m / Mg;
      for (int64_t p = 0; p < P; p++) {
        double s = b ? tget(b, m) : 0;
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t t = 0; t < K; t++) s += tget(w, (m * Cg + c) * K + t) * col[((g * Cg + c) * K + t) * P + p];
        tset(k->out[0], (bn * M + m) * P + p, s);
      }
    }
  }
  free(col);
  return 0;
}
