/* winograd.c — 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2015): each 2x2
 * output tile takes 16 multiply-adds per input channel instead of 36, done as 16 GEMMs on the packed SGEMM kernels
 * between an input transform (4x4 tiles of X) and an output transform, with bias, residual and activation fused. */
#include "kernels.h"

/* Transformed weights U = G g Gᵀ (4x4 per output/input channel pair), as 16 GEMM A operands of M x C, each packed
 * for the current CPU's microkernel. *stride is the distance between two of them in floats. */
float *wino_pack_weights(const float *w, int64_t M, int64_t C, int64_t *stride) {
  const cpu_kernels *ck = cpu_kernels_get();
  int mr = ck->mr;
  int64_t s = (M + mr - 1) / mr * mr * C;
  size_t bytes = ((size_t)(16 * s) * sizeof(float) + 63) & ~(size_t)63;
  float *u = aligned_alloc(64, bytes);
  if (!u) return NULL;
  wm_prefault(u, bytes);
  for (int64_t m = M; m < (M + mr - 1) / mr * mr; m++) /* the last panel's rows past M stay zero */
    for (int64_t c = 0; c < C; c++)
      for (int xi = 0; xi < 16; xi++) u[xi * s + gemm_packed_a_at(m, c, M, C, mr)] = 0;
  /* written straight into the packed layout (gemm_packed_a_at): the weights of a big model are transformed at
   * load, where a packing pass per matrix cost resnet50 ~40 ms */
  for (int64_t m = 0; m < M; m++) {
    float *blk = u;
    for (int64_t c = 0; c < C; c++) {
      if (c % GEMM_KC == 0) blk = u + gemm_packed_a_at(m, c, M, C, mr); /* (m, c) in this block: blk + offset * mr */
      const float *g = w + (m * C + c) * 9;
      float t[4][3];
      for (int j = 0; j < 3; j++) { /* G g: G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      float *d = blk + c % GEMM_KC * mr;
      for (int i = 0; i < 4; i++) { /* (G g) Gᵀ */
        d[(i * 4 + 0) * s] = t[i][0];
        d[(i * 4 + 1) * s] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        d[(i * 4 + 2) * s] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        d[(i * 4 + 3) * s] = t[i][2];
      }
    }
  }
  *stride = s;
  return u;
}

typedef struct wino_job {
  const float *xp; /* the image's channels, zero-padded to Hp x Wp so every tile reads inside */
  int64_t Hp, Wp;
  const float *u;
  int64_t ustride;
  const float *b, *res;
  float *y;
  int64_t C, M, OH, OW, TW, TH;
  int64_t rows, ld; /* tile rows per block; row stride of the V and product matrices (tiles) */
  const cpu_kernels *ck;
  int act, avx2;
  float p0, p1;
  float *V, *P;    /* phase mode: one block's buffers, shared by the tasks (P has 8 floats of slack: the output
                    * transform reads whole groups of eight tiles) */
  int64_t ty0;     /* phase mode: the block's first tile row */
  int64_t cstep, mstep;
  _Atomic int failed;
} wino_job;

/* V[xi][c][t] = (Bᵀ d B)[xi] for the 4x4 input tile d of every tile t in tile rows [ty0, ty1), channels [c0, c1).
 * Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
static void wino_in_tile(const float *base, int64_t Wp, float *v) {
  float t[4][4];
  for (int j = 0; j < 4; j++) {
    float d0 = base[j], d1 = base[Wp + j], d2 = base[2 * Wp + j], d3 = base[3 * Wp + j];
    t[0][j] = d0 - d2, t[1][j] = d1 + d2, t[2][j] = d2 - d1, t[3][j] = d1 - d3;
  }
  for (int i = 0; i < 4; i++) {
    v[i * 4 + 0] = t[i][0] - t[i][2];
    v[i * 4 + 1] = t[i][1] + t[i][2];
    v[i * 4 + 2] = t[i][2] - t[i][1];
    v[i * 4 + 3] = t[i][1] - t[i][3];
  }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WINO_AVX2 __attribute__((target("avx2,fma")))
/* x[0], x[2], ..., x[14] and x[1], x[3], ..., x[15] */
WINO_AVX2 static inline void deinterleave16(const float *x, __m256 *even, __m256 *odd) {
  __m256 lo = _mm256_loadu_ps(x), hi = _mm256_loadu_ps(x + 8);
  __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)), o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Eight tiles side by side (tile k reads columns 2k..2k+3 of four rows), one lane each. */
WINO_AVX2 static void wino_in8_avx2(const float *base, int64_t Wp, float *v, int64_t vstride) {
  __m256 d[4][4];
  for (int i = 0; i < 4; i++) {
    deinterleave16(base + i * Wp, &d[i][0], &d[i][1]);
    deinterleave16(base + i * Wp + 2, &d[i][2], &d[i][3]);
  }
  for (int j = 0; j < 4; j++) {
    __m256 d0 = d[0][j], d1 = d[1][j], d2 = d[2][j], d3 = d[3][j];
    d[0][j] = _mm256_sub_ps(d0, d2);
    d[1][j] = _mm256_add_ps(d1, d2);
    d[2][j] = _mm256_sub_ps(d2, d1);
    d[3][j] = _mm256_sub_ps(d1, d3);
  }
  for (int i = 0; i < 4; i++) {
    __m256 t0 = d[i][0], t1 = d[i][1], t2 = d[i][2], t3 = d[i][3];
    _mm256_storeu_ps(v + (i * 4 + 0) * vstride, _mm256_sub_ps(t0, t2));
    _mm256_storeu_ps(v + (i * 4 + 1) * vstride, _mm256_add_ps(t1, t2));
    _mm256_storeu_ps(v + (i * 4 + 2) * vstride, _mm256_sub_ps(t2, t1));
    _mm256_storeu_ps(v + (i * 4 + 3) * vstride, _mm256_sub_ps(t1, t3));
  }
}

/* Four tiles (a grid narrower than eight), the same in 128-bit vectors. */
WINO_AVX2 static void wino_in4_sse(const float *base, int64_t Wp, float *v, int64_t vstride) {
  __m128 d[4][4];
  for (int i = 0; i < 4; i++)
    for (int h = 0; h < 2; h++) {
      __m128 lo = _mm_loadu_ps(base + i * Wp + 2 * h), hi = _mm_loadu_ps(base + i * Wp + 2 * h + 4);
      d[i][2 * h] = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
      d[i][2 * h + 1] = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    }
  for (int j = 0; j < 4; j++) {
    __m128 d0 = d[0][j], d1 = d[1][j], d2 = d[2][j], d3 = d[3][j];
    d[0][j] = _mm_sub_ps(d0, d2);
    d[1][j] = _mm_add_ps(d1, d2);
    d[2][j] = _mm_sub_ps(d2, d1);
    d[3][j] = _mm_sub_ps(d1, d3);
  }
  for (int i = 0; i < 4; i++) {
    __m128 t0 = d[i][0], t1 = d[i][1], t2 = d[i][2], t3 = d[i][3];
    _mm_storeu_ps(v + (i * 4 + 0) * vstride, _mm_sub_ps(t0, t2));
    _mm_storeu_ps(v + (i * 4 + 1) * vstride, _mm_add_ps(t1, t2));
    _mm_storeu_ps(v + (i * 4 + 2) * vstride, _mm_sub_ps(t2, t1));
    _mm_storeu_ps(v + (i * 4 + 3) * vstride, _mm_sub_ps(t1, t3));
  }
}

/* Eight tiles of products (lane k = tile k) to the first n (<= 16) columns of the two output rows (y1 NULL past the
 * last row), plus the bias, then clamp (ACT_RELU or ACT_CLIP to [lo, hi], as act_avx2 computes them, NaNs included)
 * or nothing (ACT_NONE); a short row's last columns are stored without a memcpy call (those had cost 5%
 * of squeezenet). */
WINO_AVX2 static void wino_out8_avx2(const float *p, int64_t pstride, float bias, float *y0, float *y1, int64_t n,
                                     int clamp, float lo_f, float hi_f) {
  const __m256 lo_v = _mm256_set1_ps(lo_f), hi_v = _mm256_set1_ps(hi_f);
  __m256 t[2][4];
  for (int s = 0; s < 4; s++) {
    __m256 m0 = _mm256_loadu_ps(p + (0 + s) * pstride), m1 = _mm256_loadu_ps(p + (4 + s) * pstride);
    __m256 m2 = _mm256_loadu_ps(p + (8 + s) * pstride), m3 = _mm256_loadu_ps(p + (12 + s) * pstride);
    t[0][s] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
    t[1][s] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
  }
  __m256 vb = _mm256_set1_ps(bias);
  for (int r = 0; r < 2; r++) {
    __m256 a = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(t[r][0], t[r][1]), t[r][2]), vb);
    __m256 b = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(t[r][1], t[r][2]), t[r][3]), vb);
    __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b); /* a0 b0 a1 b1 | a4 b4 a5 b5, ... */
    __m256 v0 = _mm256_permute2f128_ps(lo, hi, 0x20), v1 = _mm256_permute2f128_ps(lo, hi, 0x31);
    if (clamp == ACT_RELU) { /* operand orders as in act_avx2: ReLU(NaN) is 0, Clip passes NaN */
      v0 = _mm256_max_ps(v0, lo_v);
      v1 = _mm256_max_ps(v1, lo_v);
    } else if (clamp == ACT_CLIP) {
      v0 = _mm256_min_ps(hi_v, _mm256_max_ps(lo_v, v0));
      v1 = _mm256_min_ps(hi_v, _mm256_max_ps(lo_v, v1));
    }
    float *yr = r ? y1 : y0;
    if (!yr) break;
    if (n >= 8) _mm256_storeu_ps(yr, v0);
    else store_first_n(yr, v0, n);
    if (n >= 16) _mm256_storeu_ps(yr + 8, v1);
    else if (n > 8) store_first_n(yr + 8, v1, n - 8);
  }
}
#endif

static void wino_input(const wino_job *j, float *V, int64_t ty0, int64_t ty1, int64_t c0, int64_t c1) {
  int64_t vstride = j->C * j->ld; /* between two xi */
  for (int64_t c = c0; c < c1; c++)
    for (int64_t ty = ty0; ty < ty1; ty++) {
      const float *row = j->xp + (c * j->Hp + 2 * ty) * j->Wp;
      float *vt = V + c * j->ld + (ty - ty0) * j->TW;
      int64_t tx = 0;
#if defined(__x86_64__) || defined(__i386__)
      if (j->avx2) { /* whole groups of tiles; the last group of a row overlaps the one before (same values) */
        if (j->TW < 8) {
          for (; tx + 4 <= j->TW; tx += 4) wino_in4_sse(row + 2 * tx, j->Wp, vt + tx, vstride);
        } else {
          for (; tx + 8 <= j->TW; tx += 8) wino_in8_avx2(row + 2 * tx, j->Wp, vt + tx, vstride);
          if (tx < j->TW) wino_in8_avx2(row + 2 * (j->TW - 8), j->Wp, vt + j->TW - 8, vstride), tx = j->TW;
        }
      }
#endif
      for (; tx < j->TW; tx++) {
        float v[16];
        wino_in_tile(row + 2 * tx, j->Wp, v);
        for (int xi = 0; xi < 16; xi++) vt[xi * vstride + tx] = v[xi];
      }
    }
}

/* Y = Aᵀ P A per tile (Aᵀ = [1 1 1 0; 0 1 -1 -1]) plus bias, for output channels [m0, m1) of tile rows
 * [ty0, ty1), then the residual and activation over the finished rows. */
static void wino_output(const wino_job *j, const float *P, int64_t ty0, int64_t ty1, int64_t m0, int64_t m1) {
  int64_t pstride = j->M * j->ld, OW = j->OW;
  /* ReLU and Clip without a residual are applied by the vector transform; the rest in a pass over the rows */
  int clamp = 0, fused = 0;
  float lo = -INFINITY, hi = INFINITY;
  if (j->avx2 && !j->res && (j->act == ACT_NONE || j->act == ACT_RELU || j->act == ACT_CLIP)) {
    fused = 1, clamp = j->act;
    if (j->act == ACT_RELU) lo = 0.f;
    if (j->act == ACT_CLIP) lo = j->p0, hi = j->p1;
  }
  for (int64_t m = m0; m < m1; m++) {
    float bias = j->b ? j->b[m] : 0.f;
    float *ym = j->y + m * j->OH * OW;
    for (int64_t ty = ty0; ty < ty1; ty++) {
      const float *pt = P + m * j->ld + (ty - ty0) * j->TW;
      float *y0 = ym + 2 * ty * OW, *y1 = 2 * ty + 1 < j->OH ? y0 + OW : NULL;
      int64_t tx = 0;
#if defined(__x86_64__) || defined(__i386__)
      if (j->avx2)
        for (; tx < j->TW; tx += 8)
          wino_out8_avx2(pt + tx, pstride, bias, y0 + 2 * tx, y1 ? y1 + 2 * tx : NULL, OW - 2 * tx, clamp, lo, hi);
#endif
      for (; tx < j->TW; tx++) {
        float mm[16], t[2][4];
        for (int xi = 0; xi < 16; xi++) mm[xi] = pt[xi * pstride + tx];
        for (int s = 0; s < 4; s++) {
          t[0][s] = mm[s] + mm[4 + s] + mm[8 + s];
          t[1][s] = mm[4 + s] - mm[8 + s] - mm[12 + s];
        }
        for (int r = 0; r < 2; r++) {
          float *yr = r ? y1 : y0;
          if (!yr) break;
          yr[2 * tx] = t[r][0] + t[r][1] + t[r][2] + bias;
          if (2 * tx + 1 < OW) yr[2 * tx + 1] = t[r][1] - t[r][2] - t[r][3] + bias;
        }
      }
    }
    if (!fused && (j->res || j->act)) {
      int64_t r1 = 2 * ty1 < j->OH ? 2 * ty1 : j->OH;
      for (int64_t r = 2 * ty0; r < r1; r++)
        j->ck->act(ym + r * OW, ym + r * OW, OW, 1.0f, 0.f, j->res ? j->res + (m * j->OH + r) * OW : NULL, j->act,
                   j->p0, j->p1);
    }
  }
}

/* P[xi] = U[xi] x V[xi] for the nt tiles of a block. */
static void wino_gemm(const wino_job *j, const float *V, float *P, int64_t nt, int xi) {
  gemm_src A = {j->u + xi * j->ustride, NULL, 0, 0, 1.0f, NULL, NULL};
  gemm_src B = {NULL, V + xi * j->C * j->ld, j->ld, 0, 1.0f, NULL, NULL};
  sgemm_ex(j->M, nt, j->C, &A, &B, 0, P + xi * j->M * j->ld, j->ld, NULL);
}

/* Block mode: a task is a whole block of tile rows, on its own thread's buffers. */
static void wino_block_task(void *arg, int64_t t, int tid) {
  (void)tid;
  wino_job *j = arg;
  float *V = par_scratch(4, (size_t)(16 * j->C * j->ld)), *P = par_scratch(5, (size_t)(16 * j->M * j->ld + 8));
  if (!V || !P) { j->failed = 1; return; }
  int64_t ty0 = t * j->rows, ty1 = ty0 + j->rows < j->TH ? ty0 + j->rows : j->TH, nt = (ty1 - ty0) * j->TW;
  wino_input(j, V, ty0, ty1, 0, j->C);
  for (int xi = 0; xi < 16; xi++) wino_gemm(j, V, P, nt, xi);
  wino_output(j, P, ty0, ty1, 0, j->M);
}

/* Phase mode (fewer blocks than threads): the threads share each phase of one block. */
static void wino_in_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const wino_job *j = arg;
  int64_t c0 = t * j->cstep, c1 = c0 + j->cstep < j->C ? c0 + j->cstep : j->C;
  int64_t ty1 = j->ty0 + j->rows < j->TH ? j->ty0 + j->rows : j->TH;
  wino_input(j, j->V, j->ty0, ty1, c0, c1);
}
static void wino_gemm_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const wino_job *j = arg;
  int64_t ty1 = j->ty0 + j->rows < j->TH ? j->ty0 + j->rows : j->TH;
  wino_gemm(j, j->V, j->P, (ty1 - j->ty0) * j->TW, (int)t);
}
static void wino_out_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const wino_job *j = arg;
  int64_t m0 = t * j->mstep, m1 = m0 + j->mstep < j->M ? m0 + j->mstep : j->M;
  int64_t ty1 = j->ty0 + j->rows < j->TH ? j->ty0 + j->rows : j->TH;
  wino_output(j, j->P, j->ty0, ty1, m0, m1);
}

/* the smallest block (in tiles) worth running as its own task: narrower GEMMs lose more than the split saves */
#define WINO_MIN_BLOCK_TILES 32
int conv3x3_winograd(const float *x, const float *u, int64_t ustride, const float *b, const float *res, float *y,
                     int64_t N, int64_t C, int64_t M, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt,
                     int64_t pl, int act, float p0, float p1) {
  const cpu_kernels *ck = cpu_kernels_get();
  int64_t TH = (OH + 1) / 2, TW = (OW + 1) / 2;
#if defined(__x86_64__) || defined(__i386__)
  /* Rows narrower than eight tiles run in whole groups of four (the vector transforms cost a sixth of the scalar
   * ones): the extra tiles read zero padding, and their products are computed but not stored. */
  if (ck == &cpu_kernels_avx2 && TW < 8) TW = (TW + 3) / 4 * 4;
#endif
  int64_t Hp = 2 * TH + 2, Wp = 2 * TW + 2;
  if (Hp < pt + H) Hp = pt + H;
  if (Wp < pl + W) Wp = pl + W;
  /* a block is at least one tile row: refuse rows so wide that it would pass 64 MB (the caller falls back to the
   * GEMM path) rather than allocate that much */
  if (16 * (C + M) * TW > ((int64_t)1 << 24)) return 0;
  /* about 1 MB of transformed input and products per block: they stay in L2/L3 between the three phases */
  int64_t want = (int64_t)(256 * 1024) / (16 * (C + M));
  int64_t rows = want / TW < 1 ? 1 : want / TW;
  if (rows > TH) rows = TH;
  int64_t nblk = (TH + rows - 1) / rows, nthreads = wm_onnx_get_threads();
  /* Fewer blocks than two a thread would go to phase mode, whose three pool rounds per block cost more than
   * smaller blocks do while a block keeps WINO_MIN_BLOCK_TILES tiles (squeezenet's 27x27 layers at 2 threads:
   * 0.42 -> 0.38 ms; its 13x13 ones, 14 tiles a block, stay in phase mode, which was faster there) */
  if (nthreads > 1 && nblk < 2 * nthreads) {
    int64_t r2 = (TH + 2 * nthreads - 1) / (2 * nthreads);
    if (r2 * TW >= WINO_MIN_BLOCK_TILES) rows = r2, nblk = (TH + rows - 1) / rows;
  }
  float *xp = malloc((size_t)(C * Hp * Wp) * sizeof(float));
  if (!xp) return 0;
  wino_job j = {xp, Hp, Wp, u, ustride, b, NULL, NULL, C, M, OH, OW, TW, TH, rows, (rows * TW + 7) / 8 * 8, ck, act,
                0, p0, p1, NULL, NULL, 0, 0, 0, 0};
#if defined(__x86_64__) || defined(__i386__)
  j.avx2 = ck == &cpu_kernels_avx2;
#endif
  int phase = nthreads > 1 && nblk < 2 * nthreads;
  if (phase) {
    j.V = malloc((size_t)(16 * C * j.ld) * sizeof(float));
    j.P = malloc((size_t)(16 * M * j.ld + 8) * sizeof(float));
    j.cstep = (C + 4 * nthreads - 1) / (4 * nthreads);
    j.mstep = (M + 4 * nthreads - 1) / (4 * nthreads);
    if (!j.V || !j.P) { free(j.V); free(j.P); free(xp); return 0; }
  }
  for (int64_t n = 0; n < N && !j.failed; n++) {
    pad_planes(x + n * C * H * W, C, H, W, xp, Hp, Wp, pt, pl, 0);
    j.y = y + n * M * OH * OW;
    j.res = res ? res + n * M * OH * OW : NULL;
    if (!phase) {
      par_for(nblk, wino_block_task, &j);
      continue;
    }
    for (int64_t blk = 0; blk < nblk; blk++) {
      j.ty0 = blk * rows;
      par_for((C + j.cstep - 1) / j.cstep, wino_in_task, &j);
      par_for(16, wino_gemm_task, &j);
      par_for((M + j.mstep - 1) / j.mstep, wino_out_task, &j);
    }
  }
  free(j.V);
  free(j.P);
  free(xp);
  return !j.failed;
}
