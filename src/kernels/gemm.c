/* gemm.c — the blocked SGEMM driver (packing, cache blocking, thread split, fused epilogues) over the per-CPU
 * microkernels picked once at start-up, the portable 4x16 scalar microkernel, and the MatMul / Gemm operators. */
#include "kernels.h"

#define KC GEMM_KC /* K block (256): a 16-column B micro-panel of KC rows stays in L1 */
#define MC 120 /* M block (a multiple of every mr): the packed A block stays in L2 */
#define NC 256 /* N block (a multiple of every nr): a packed B block of KC x NC stays in L2 */
/* Up to this many rows of C, B is read in place where the CPU's kernels can (gemm_ldb): measured on 1x1
 * convolutions, 0.6x the time at M=16, 0.88x at M=24, equal from M=64 */
#define DIRECT_B_MAX_M 48
/* ...and only while B fits in L2: read in place, a larger B is K row streams far apart, which the prefetcher does
 * not follow (packed, each row is copied as one run). In-process A/B: 16x32 on 112x112 0.71x, 24x96 on 56x56 0.69x
 * the time packed; 32x144 on 28x28 (450 KB) 1.2x, so it stays in place. */
#define DIRECT_B_MAX_FLOATS (128 * 1024)
/* C (floats) past which the driver goes along rows of C even across K blocks (see gemm_block): L2's 512 KB */
#define ROWS_FIRST_MIN_C (128 * 1024)

/* ---- CPU dispatch ---- */
static const cpu_kernels *g_cpu;

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
/* AVX2 and FMA in the CPU, and YMM state enabled by the OS (XCR0). Asked directly rather than through
 * __builtin_cpu_supports, whose libgcc detector runs a dozen CPUIDs in a constructor at every process start. */
static int cpu_has_avx2_fma(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_FMA) || !(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6) != 6) return 0; /* XMM and YMM state */
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
}
#endif

const cpu_kernels *cpu_kernels_get(void) {
  if (g_cpu) return g_cpu;
  const cpu_kernels *k = &cpu_kernels_scalar;
#if defined(__aarch64__)
  k = &cpu_kernels_neon; /* NEON is part of the AArch64 base ISA */
#elif defined(__wasm_simd128__)
  k = &cpu_kernels_simd128; /* compiled in only when the module may use SIMD128 */
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  const char *force = getenv("WM_ONNX_ISA"); /* "scalar" pins the portable kernels (testing, comparison) */
  if (!(force && !strcmp(force, "scalar")) && cpu_has_avx2_fma()) k = &cpu_kernels_avx2;
#endif
  g_cpu = k;
  return k;
}

/* ---- epilogue (shared by every ISA for partial tiles) ---- */
void gemm_store_tile(const float *acc, int64_t ald, float *c, int64_t ldc, int mr, int nr, int flags, const gemm_epi *e,
                     int64_t row, int64_t col) {
  for (int i = 0; i < mr; i++) {
    float *cr = c + i * ldc;
    const float *ar = acc + i * ald;
    if (flags & GEMM_LOAD)
      for (int j = 0; j < nr; j++) cr[j] += ar[j];
    else
      for (int j = 0; j < nr; j++) cr[j] = ar[j];
    if (!(flags & GEMM_LAST) || !e) continue;
    if (e->bias) {
      if (e->bias_rows) {
        float b = e->bias[row + i];
        for (int j = 0; j < nr; j++) cr[j] += b;
      } else
        for (int j = 0; j < nr; j++) cr[j] += e->bias[col + j];
    }
    if (e->res) {
      const float *rr = e->res + (row + i) * e->ldres + col;
      for (int j = 0; j < nr; j++) cr[j] += rr[j];
    }
    if (e->act)
      for (int j = 0; j < nr; j++) cr[j] = act_scalar(cr[j], e->act, e->p0, e->p1);
  }
}

/* ---- portable kernels ---- */
#define SMR 4
#define SNR 16
static void gemm_scalar(int64_t kc, const float *restrict a, const float *restrict b, float *c, int64_t ldc, int mr,
                        int nr, int flags, const gemm_epi *e, int64_t row, int64_t col) {
  float acc[SMR][SNR] = {{0}};
  for (int64_t k = 0; k < kc; k++) {
    const float *bk = b + k * SNR;
    float a0 = a[k * SMR], a1 = a[k * SMR + 1], a2 = a[k * SMR + 2], a3 = a[k * SMR + 3];
    for (int j = 0; j < SNR; j++) {
      acc[0][j] += a0 * bk[j];
      acc[1][j] += a1 * bk[j];
      acc[2][j] += a2 * bk[j];
      acc[3][j] += a3 * bk[j];
    }
  }
  gemm_store_tile(&acc[0][0], SNR, c, ldc, mr, nr, flags, e, row, col);
}

static void act_scalar_row(float *y, const float *x, int64_t n, float scale, float bias, const float *res, int act,
                           float p0, float p1) {
  for (int64_t i = 0; i < n; i++) y[i] = act_scalar(x[i] * scale + bias + (res ? res[i] : 0.f), act, p0, p1);
}

/* Depthwise plane, any kernel/stride/dilation/padding: accumulate tap by tap over the valid output span. */
void dwconv_scalar(const float *x, int64_t H, int64_t W, const float *w, int kh, int kw, int sh, int sw, int dh, int dw,
                   int pt, int pl, float *y, int64_t OH, int64_t OW, float bias, const float *res, int act, float p0,
                   float p1) {
  for (int64_t oy = 0; oy < OH; oy++) {
    float *yr = y + oy * OW;
    for (int64_t ox = 0; ox < OW; ox++) yr[ox] = bias;
    for (int ky = 0; ky < kh; ky++) {
      int64_t iy = oy * sh - pt + (int64_t)ky * dh;
      if (iy < 0 || iy >= H) continue;
      const float *xr = x + iy * W;
      for (int kx = 0; kx < kw; kx++) {
        float wv = w[ky * kw + kx];
        int64_t off = (int64_t)kx * dw - pl; /* ix = ox*sw + off */
        int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        int64_t hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
        if (hi > OW) hi = OW;
        for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox * sw + off];
      }
    }
    if (res || act)
      for (int64_t ox = 0; ox < OW; ox++)
        yr[ox] = act_scalar(yr[ox] + (res ? res[oy * OW + ox] : 0.f), act, p0, p1);
  }
}

const cpu_kernels cpu_kernels_scalar = {"scalar", SMR, SNR, gemm_scalar, act_scalar_row, dwconv_scalar, NULL, NULL};

/* ---- packing ---- */
/* op(A)[m0:m0+mc, k0:k0+kc] -> panels of mr rows: panel p holds kc groups of mr values (zero rows past mc). */
static void pack_a(const gemm_src *A, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, int64_t pstride,
                   float *dst) {
  float alpha = A->alpha == 0 ? 1.0f : A->alpha;
  for (int64_t p = 0; p < mc; p += mr) {
    int64_t h = mc - p < mr ? mc - p : mr;
    float *d = dst + (p / mr) * pstride;
    for (int64_t i = 0; i < h; i++) {
      int64_t m = m0 + p + i;
      if (!A->trans) {
        const float *s = A->p + m * A->ld + k0;
        for (int64_t k = 0; k < kc; k++) d[k * mr + i] = alpha * s[k];
      } else {
        const float *s = A->p + k0 * A->ld + m;
        for (int64_t k = 0; k < kc; k++) d[k * mr + i] = alpha * s[k * A->ld];
      }
    }
    for (int64_t i = h; i < mr; i++)
      for (int64_t k = 0; k < kc; k++) d[k * mr + i] = 0;
  }
}

/* op(B)[k0:k0+kc, n0:n0+nc] -> panels of nr columns: panel q holds kc rows of nr values (zero past nc). */
static void pack_b_plain(const gemm_src *B, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, int64_t pstride,
                         float *dst) {
  if (!B->trans) {
    /* row by row, each row's run cut into the panels: panel by panel it read kc rows 64 bytes at a time, kc
     * streams far apart that the prefetcher does not follow (24x96 1x1 conv on 56x56: 0.76x the time this way) */
    int64_t full = nc / nr * nr;
    for (int64_t k = 0; k < kc; k++) {
      const float *s = B->p + (k0 + k) * B->ld + n0;
      float *d = dst + k * nr;
      int64_t q = 0;
      if (nr == 16) /* a fixed-size copy the compiler inlines: a memcpy call per row of 16 cost ~20 cycles */
        for (; q < full; q += 16, d += pstride) memcpy(d, s + q, 16 * sizeof(float));
      for (; q < full; q += nr, d += pstride) memcpy(d, s + q, (size_t)nr * sizeof(float));
      if (q < nc) {
        int64_t j = 0;
        for (; j < nc - q; j++) d[j] = s[q + j];
        for (; j < nr; j++) d[j] = 0;
      }
    }
    return;
  }
  for (int64_t q = 0; q < nc; q += nr) {
    int64_t w = nc - q < nr ? nc - q : nr;
    float *d = dst + (q / nr) * pstride;
    for (int64_t j = 0; j < w; j++) {
      const float *s = B->p + (n0 + q + j) * B->ld + k0;
      for (int64_t k = 0; k < kc; k++) d[k * nr + j] = s[k];
    }
    for (int64_t j = w; j < nr; j++)
      for (int64_t k = 0; k < kc; k++) d[k * nr + j] = 0;
  }
}

/* Pre-packed A is laid out block of K by block of K (KC steps), each block holding all the row panels: the panels
 * one K block of the driver walks are then one sequential stream. Whole-K panels made the microkernel jump to a new
 * panel every kc steps, and weights that come from memory (7x7 layers, 1-2 MB each) arrived 3-12% slower. */
int64_t gemm_packed_a_at(int64_t m, int64_t k, int64_t M, int64_t K, int mr) {
  int64_t kb = k / KC * KC, kc = K - kb < KC ? K - kb : KC;
  return kb * ((M + mr - 1) / mr * mr) + (m / mr) * kc * mr + (k - kb) * mr + m % mr;
}

/* A in the pre-packed layout, one task per K block and group of `per` rows; `threads` share the tasks (1: this
 * thread alone, as at load time or inside a task). */
typedef struct apack_job {
  const gemm_src *A;
  int64_t M, K, mp, per, ngroups;
  int mr;
  float *dst;
} apack_job;

static void apack_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const apack_job *j = arg;
  int64_t kb = t / j->ngroups * KC, kc = j->K - kb < KC ? j->K - kb : KC, m0 = t % j->ngroups * j->per;
  int64_t mc = j->M - m0 < j->per ? j->M - m0 : j->per;
  pack_a(j->A, m0, mc, kb, kc, j->mr, kc * j->mr, j->dst + kb * j->mp + m0 * kc);
}

static void pack_a_blocks(const cpu_kernels *ck, const gemm_src *A, int64_t M, int64_t K, int threads, float *dst) {
  int mr = ck->mr;
  int64_t mp = (M + mr - 1) / mr * mr, panels = mp / mr, groups = threads > 1 ? 2 * threads : 1;
  int64_t per = (panels + groups - 1) / groups * mr;
  apack_job j = {A, M, K, mp, per, (M + per - 1) / per, mr, dst};
  int64_t ntasks = (K + KC - 1) / KC * j.ngroups;
  if (threads > 1) par_for(ntasks, apack_task, &j);
  else
    for (int64_t t = 0; t < ntasks; t++) apack_task(&j, t, 0);
}

void gemm_pack_a_to(float *dst, const float *A, int64_t lda, int trans, int64_t M, int64_t K, float alpha) {
  gemm_src s = {NULL, A, lda, trans, alpha, NULL, NULL};
  pack_a_blocks(cpu_kernels_get(), &s, M, K, 1, dst);
}

float *gemm_pack_b_alloc(const float *B, int64_t ldb, int trans, int64_t K, int64_t N) {
  const cpu_kernels *ck = cpu_kernels_get();
  int64_t panels = (N + ck->nr - 1) / ck->nr;
  size_t bytes = ((size_t)(panels * ck->nr * (K ? K : 1)) * sizeof(float) + 63) & ~(size_t)63;
  float *d = aligned_alloc(64, bytes);
  if (!d) return NULL;
  wm_prefault(d, bytes);
  gemm_src s = {NULL, B, ldb, trans, 1.0f, NULL, NULL};
  pack_b_plain(&s, 0, K, 0, N, ck->nr, K * ck->nr, d);
  return d;
}

/* ---- driver ---- */
typedef struct gemm_job {
  const cpu_kernels *ck;
  int64_t M, N, K, ldc;
  const gemm_src *A, *B;
  int accumulate;
  float *C;
  const gemm_epi *e;
  int64_t mstep, nstep; /* task grid: blocks of mstep rows x nstep columns */
  int64_t ntn;
} gemm_job;

/* C[m0:m1, n0:n1] on one thread: N block, K block (pack B), M block (pack A), then micro-tiles. */
static void gemm_block(const gemm_job *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const cpu_kernels *ck = g->ck;
  int mr = ck->mr, nr = ck->nr;
  const gemm_src *A = g->A, *B = g->B;
  /* B read in place when the tile kernel can: few A panels share each B panel here (small M), so packing it
   * would cost about as much as the multiply-adds */
  int direct_b = !B->packed && !B->pack && !B->trans && ck->gemm_ldb && m1 - m0 <= DIRECT_B_MAX_M &&
                 g->K * g->N <= DIRECT_B_MAX_FLOATS;
  float *bbuf = B->packed ? NULL : par_scratch(0, (size_t)KC * NC);
  float *abuf = A->packed ? NULL : par_scratch(1, (size_t)KC * MC);
  if ((!B->packed && !bbuf) || (!A->packed && !abuf)) return; /* out of memory: leaves C unset (see sgemm_ex) */
  /* With one K block, each tile of C is written once, finished: tiles then go along rows of C (a few sequential
   * streams the prefetcher follows) instead of down a 16-column strip (a new page for every row of C and of the
   * residual). resnet50's 256x64 1x1 convolutions at 56x56 (residual): 0.8x the time. Under memory contention
   * from other tenants the strips cost far more: efficientnet's 96x16 1x1 conv at 112x112 took 4.2 ms instead of
   * 1.9, and the next node, reading its output, 2.4 instead of 1.2. With several K blocks the same holds once C
   * outgrows L2 (resnet50 0.97-0.99x, ppocr_det 0.97x, in-process A/B); a C that stays in cache keeps the strips,
   * whose B panel stays in L1 (bert's 128x256 products: 1.03x the time along rows). */
  int rows_first = g->e && (g->K <= KC || g->M * g->N > ROWS_FIRST_MIN_C);
  for (int64_t nb = n0; nb < n1; nb += NC) {
    int64_t nc = n1 - nb < NC ? n1 - nb : NC;
    for (int64_t kb = 0; kb < g->K; kb += KC) {
      int64_t kc = g->K - kb < KC ? g->K - kb : KC;
      int flags = (kb > 0 || g->accumulate ? GEMM_LOAD : 0) | (kb + kc == g->K ? GEMM_LAST : 0);
      const float *bp;
      int64_t bstride;
      if (direct_b) { /* only a ragged last panel is packed */
        int64_t jl = nc / nr * nr;
        if (jl < nc) pack_b_plain(B, kb, kc, nb + jl, nc - jl, nr, kc * nr, bbuf);
        bp = bbuf;
        bstride = kc * nr;
      } else if (B->packed) {
        bp = B->packed + (nb / nr) * g->K * nr + kb * nr;
        bstride = g->K * nr;
      } else {
        bstride = kc * nr;
        if (B->pack) B->pack(B->ctx, kb, kc, nb, nc, nr, bbuf);
        else pack_b_plain(B, kb, kc, nb, nc, nr, bstride, bbuf);
        bp = bbuf;
      }
      for (int64_t mb = m0; mb < m1; mb += MC) {
        int64_t mc = m1 - mb < MC ? m1 - mb : MC;
        const float *ap;
        int64_t astride;
        if (A->packed) {
          astride = kc * mr;
          ap = A->packed + kb * ((g->M + mr - 1) / mr * mr) + (mb / mr) * astride;
        } else {
          astride = kc * mr;
          pack_a(A, mb, mc, kb, kc, mr, astride, abuf);
          ap = abuf;
        }
        /* a right edge of at most 3 columns goes to gemm_edge, four row panels at a time (each column still summed
         * in step order) after their full tiles */
        int64_t jedge = ck->gemm_edge && nc % nr && nc % nr <= 3 ? nc / nr * nr : nc;
        const float *bedge = bp + (direct_b ? 0 : (jedge / nr) * bstride);
#define EDGE(i0, rows)                                                                                              \
  ck->gemm_edge(kc, ap + ((i0) / mr) * astride, astride, (int)(((rows) + mr - 1) / mr), rows, bedge,              \
                g->C + (mb + (i0)) * g->ldc + nb + jedge, g->ldc, (int)(nc - jedge), flags, g->e, mb + (i0), nb + jedge)
        if (rows_first && !direct_b) {
          for (int64_t i0 = 0; i0 < mc; i0 += 4 * mr) {
            int64_t rows = mc - i0 < 4 * mr ? mc - i0 : 4 * mr;
            for (int64_t i = i0; i < i0 + rows; i += mr) {
              int h = mc - i < mr ? (int)(mc - i) : mr;
              for (int64_t j = 0; j < jedge; j += nr) {
                int w = jedge - j < nr ? (int)(jedge - j) : nr;
                ck->gemm(kc, ap + (i / mr) * astride, bp + (j / nr) * bstride, g->C + (mb + i) * g->ldc + nb + j,
                         g->ldc, h, w, flags, g->e, mb + i, nb + j);
              }
            }
            if (jedge < nc) EDGE(i0, rows);
          }
          continue;
        }
        for (int64_t i0 = 0; jedge < nc && i0 < mc; i0 += 4 * mr) EDGE(i0, mc - i0 < 4 * mr ? mc - i0 : 4 * mr);
        for (int64_t j = 0; j < jedge; j += nr) {
          int w = jedge - j < nr ? (int)(jedge - j) : nr;
          if (direct_b && w == nr) {
            const float *bj = B->p + kb * B->ld + nb + j;
            for (int64_t i = 0; i < mc; i += mr) {
              int h = mc - i < mr ? (int)(mc - i) : mr;
              ck->gemm_ldb(kc, ap + (i / mr) * astride, bj, B->ld, g->C + (mb + i) * g->ldc + nb + j, g->ldc, h, flags,
                           g->e, mb + i, nb + j);
            }
            continue;
          }
          const float *bj = bp + (direct_b ? 0 : (j / nr) * bstride);
          for (int64_t i = 0; i < mc; i += mr) {
            int h = mc - i < mr ? (int)(mc - i) : mr;
            ck->gemm(kc, ap + (i / mr) * astride, bj, g->C + (mb + i) * g->ldc + nb + j, g->ldc, h, w, flags, g->e,
                     mb + i, nb + j);
          }
        }
      }
    }
  }
}
#undef EDGE

static void gemm_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const gemm_job *g = arg;
  int64_t m0 = (t / g->ntn) * g->mstep, n0 = (t % g->ntn) * g->nstep;
  int64_t m1 = m0 + g->mstep < g->M ? m0 + g->mstep : g->M, n1 = n0 + g->nstep < g->N ? n0 + g->nstep : g->N;
  gemm_block(g, m0, m1, n0, n1);
}

/* B built by its pack callback into whole-K panels, the column panels shared out among the threads. */
typedef struct bpack_job {
  const gemm_src *B;
  int64_t K, N, per;
  int nr;
  float *dst;
} bpack_job;

static void bpack_task(void *arg, int64_t t, int tid) {
  (void)tid;
  const bpack_job *j = arg;
  int64_t n0 = t * j->per, nc = j->N - n0 < j->per ? j->N - n0 : j->per;
  if (j->B->pack) j->B->pack(j->B->ctx, 0, j->K, n0, nc, j->nr, j->dst + n0 * j->K);
  else pack_b_plain(j->B, 0, j->K, n0, nc, j->nr, j->K * j->nr, j->dst + n0 * j->K);
}

/* B (plain or through its pack callback) as whole-K column panels, packed by all threads: for a row split, where
 * every task needs all of it (resnet50's 1024x196 B was 800 KB copied by one thread while the other waited). */
static float *pack_b_shared_alloc(const cpu_kernels *ck, const gemm_src *B, int64_t K, int64_t N) {
  int64_t panels = (N + ck->nr - 1) / ck->nr;
  float *d = aligned_alloc(64, ((size_t)(panels * ck->nr * K) * sizeof(float) + 63) & ~(size_t)63);
  if (!d) return NULL;
  int64_t per = (panels + 4 * wm_onnx_get_threads() - 1) / (4 * wm_onnx_get_threads()) * ck->nr;
  bpack_job j = {B, K, N, per, ck->nr, d};
  par_for((N + per - 1) / per, bpack_task, &j);
  return d;
}

/* A (not pre-packed) in the pre-packed layout, in new memory, packed by `threads` threads. */
static float *pack_a_shared_alloc(const cpu_kernels *ck, const gemm_src *A, int64_t M, int64_t K, int threads) {
  int64_t mp = (M + ck->mr - 1) / ck->mr * ck->mr;
  float *d = aligned_alloc(64, ((size_t)(mp * K) * sizeof(float) + 63) & ~(size_t)63);
  if (d) pack_a_blocks(ck, A, M, K, threads, d);
  return d;
}

#define PAR_MIN_FLOPS 1500000.0 /* below this (~30 us) waking workers costs more than it saves */

void sgemm_ex(int64_t M, int64_t N, int64_t K, const gemm_src *A, const gemm_src *B, int accumulate, float *C,
              int64_t ldc, const gemm_epi *e) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { /* empty product: C keeps (or is zeroed to) its value, then the epilogue */
    float zero[16] = {0};
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j += 16) {
        int w = N - j < 16 ? (int)(N - j) : 16;
        gemm_store_tile(zero, 0, C + i * ldc + j, ldc, 1, w, (accumulate ? GEMM_LOAD : 0) | GEMM_LAST, e, i, j);
      }
    return;
  }
  const cpu_kernels *ck = cpu_kernels_get();
  gemm_job g = {ck, M, N, K, ldc, A, B, accumulate, C, e, M, N, 1};
  int nt = par_in_task() ? 1 : wm_onnx_get_threads();
  double flops = 2.0 * (double)M * (double)N * (double)K;
  if (nt > 1 && flops >= PAR_MIN_FLOPS) {
    /* Split the longer side of C in whole tiles (blocks never share a tile, so threads never write the same
     * cache lines except at tile edges). Every task of a column split reads all of A: squeezenet's 1000x512
     * classifier on 169 columns was split by columns, and its six tasks read the 2 MB of weights six times. */
    int64_t mt = (M + ck->mr - 1) / ck->mr, ntl = (N + ck->nr - 1) / ck->nr;
    int64_t want = nt * 4; /* several tasks per thread: a worker descheduled mid-task delays less */
    if (ntl * ck->nr >= mt * ck->mr || (mt < want && ntl > mt)) {
      int64_t per = (ntl + want - 1) / want;
      if (per < 1) per = 1;
      g.nstep = per * ck->nr;
    } else {
      int64_t per = (mt + want - 1) / want;
      if (per < 1) per = 1;
      g.mstep = per * ck->mr;
    }
    g.ntn = (N + g.nstep - 1) / g.nstep;
    int64_t ntm = (M + g.mstep - 1) / g.mstep;
    /* Every task of a column split packs the whole of A, and every task of a row split the whole of B: packed
     * once here instead (a 128x1024 activation matrix was packed eight times at two threads). */
    float *shared = NULL;
    gemm_src A2, B2;
    if (ntm == 1 && g.ntn > 1 && !A->packed && (shared = pack_a_shared_alloc(ck, A, M, K, nt))) {
      A2 = *A;
      A2.packed = shared;
      g.A = &A2;
    } else if (g.ntn == 1 && ntm > 1 && !B->packed && (shared = pack_b_shared_alloc(ck, B, K, N))) {
      B2 = *B; /* an implicit im2col matrix: every task would build the whole of it (8x the work at 2 threads) */
      B2.packed = shared;
      g.B = &B2;
    }
    par_for(ntm * g.ntn, gemm_task, &g);
    free(shared);
    return;
  }
  /* more than one N block would pack the same rows of A again for each: once here instead (bert's 128x256
   * activations times 1024 weight columns were packed four times) */
  float *ap = !A->packed && N > NC && M * K <= ((int64_t)1 << 22) ? pack_a_shared_alloc(ck, A, M, K, 1) : NULL;
  gemm_src A1;
  if (ap) {
    A1 = *A;
    A1.packed = ap;
    g.A = &A1;
  }
  gemm_block(&g, 0, M, 0, N);
  free(ap);
}

/* Eight partial sums, so the compiler vectorises the loop (one running sum would be a serial dependency). */
static float dot_f32(const float *a, const float *b, int64_t n) {
  float acc[8] = {0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; l++) acc[l] += a[k + l] * b[k + l];
  float s = 0;
  for (; k < n; k++) s += a[k] * b[k];
  for (int l = 0; l < 8; l++) s += acc[l];
  return s;
}

/* SGEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. lda/ldb/ldc are row strides. Row-vector products
 * (the per-step hidden-state products of recurrent nets) skip the packing: packing a 512x128 weight matrix to use
 * each element once cost 10x the arithmetic. */
void sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (beta != 0 && beta != 1)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] *= beta;
  if (alpha == 0) {
    if (beta == 0)
      for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  if (M <= 2 && transB && !transA) { /* a row or two times Bᵀ: dot products over B's rows, no packing */
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        float d = alpha * dot_f32(A + i * lda, B + j * ldb, K);
        C[i * ldc + j] = beta != 0 ? C[i * ldc + j] + d : d;
      }
    return;
  }
  gemm_src a = {NULL, A, lda, transA, alpha, NULL, NULL}, b = {NULL, B, ldb, transB, 1.0f, NULL, NULL};
  sgemm_ex(M, N, K, &a, &b, beta != 0, C, ldc, NULL);
}

/* Constant B (weights) packed once into the current CPU's column panels. */
typedef struct mm_prep {
  kernel_prep hdr;
  const cpu_kernels *ck;
  int64_t K, N;
  int trans;
  float *bp;
} mm_prep;

static void mm_prep_free(kernel_prep *p) {
  free(((mm_prep *)p)->bp);
  free(p);
}

static mm_prep *mm_make_prep(const float *B, int64_t ldb, int trans, int64_t K, int64_t N) {
  mm_prep *mp = calloc(1, sizeof *mp);
  if (!mp) return NULL;
  mp->hdr.free = mm_prep_free;
  mp->ck = cpu_kernels_get(), mp->K = K, mp->N = N, mp->trans = trans;
  if (!(mp->bp = gemm_pack_b_alloc(B, ldb, trans, K, N))) { free(mp); return NULL; }
  return mp;
}

/* Load-time packing of the constant float weights of MatMul (2-D B) and Gemm (alpha 1). */
void matmul_prepare(onnx_node *nd, const wm_onnx_tensor *b) {
  if (nd->prep || b->dtype != WM_ONNX_FLOAT || b->ndim != 2) return;
  if (!strcmp(nd->op_type, "Gemm")) {
    if (attr_float(nd, "alpha", 1.0f) != 1.0f) return;
    int tb = (int)attr_int(nd, "transB", 0);
    nd->prep = mm_make_prep(b->data, b->dims[1], tb, tb ? b->dims[1] : b->dims[0], tb ? b->dims[0] : b->dims[1]);
  } else
    nd->prep = mm_make_prep(b->data, b->dims[1], 0, b->dims[0], b->dims[1]);
}

/* Packed panels for input idx when it is a constant float matrix, built on first use; NULL otherwise. */
static const float *const_packed_b(onnx_kernel_ctx *k, int idx, const float *B, int64_t ldb, int trans, int64_t K,
                                   int64_t N) {
  if (!k->prep || !(k->const_in & (1u << idx)) || k->in[idx]->dtype != WM_ONNX_FLOAT) return NULL;
  const cpu_kernels *ck = cpu_kernels_get();
  mm_prep *mp = *k->prep;
  if (mp) return mp->ck == ck && mp->K == K && mp->N == N && mp->trans == trans ? mp->bp : NULL;
  if (!(mp = mm_make_prep(B, ldb, trans, K, N))) return NULL;
  *k->prep = mp;
  return mp->bp;
}

/* How a fused Add operand r combines with a [rows, N] result: per-column bias, same-shape residual, or
 * (0) a broadcast applied afterwards. */
static int fused_operand_kind(const wm_onnx_tensor *r, int ond, const int64_t *odims, int64_t N) {
  int64_t rn = wm_onnx_numel(r);
  if (r->ndim >= 1 && r->ndim <= ond && r->dims[r->ndim - 1] == N && rn == N && N > 0) return 1;
  if (r->ndim == ond) {
    int same = 1;
    for (int d = 0; d < ond; d++) same &= r->dims[d] == odims[d];
    if (same) return 2;
  }
  return 0;
}

/* y (ndim, dims) = act(y + broadcast(r)): a fused Add whose operand does not fit the kernel's own epilogue
 * (Gemm/MatMul here, Conv in conv.c). */
int late_add_act(onnx_kernel_ctx *k, float *y, int ndim, const int64_t *dims, const wm_onnx_tensor *r, int act,
                        float p0, float p1) {
  if (r->ndim > ndim) return kfail(k, "fused Add: operand has a higher rank");
  for (int d = 0; d < r->ndim; d++) {
    int od = ndim - r->ndim + d;
    if (r->dims[d] != 1 && r->dims[d] != dims[od]) return kfail(k, "fused Add: operand is not broadcastable");
  }
  int owned;
  const float *pr = float_view(k, r, &owned);
  if (!pr) return -1;
  int64_t st[WM_ONNX_MAX_DIMS], idx[WM_ONNX_MAX_DIMS] = {0}, n = numel_of(ndim, dims), off = 0;
  broadcast_strides(r, ndim, dims, st);
  for (int64_t i = 0; i < n; i++) {
    y[i] = act_scalar(y[i] + pr[off], act, p0, p1);
    for (int d = ndim - 1; d >= 0; d--) {
      off += st[d];
      if (++idx[d] < dims[d]) break;
      off -= st[d] * dims[d];
      idx[d] = 0;
    }
  }
  float_release((float *)pr, owned);
  return 0;
}

KERNEL(Gemm) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *a = k->in[0], *b = k->in[1], *c = kin(k, 2);
  if (require_float(k, a, "A") || require_float(k, b, "B")) return -1;
  if (a->ndim != 2 || b->ndim != 2) return kfail(k, "A and B must be 2-D");
  int ta = (int)attr_int(k->node, "transA", 0), tb = (int)attr_int(k->node, "transB", 0);
  float alpha = attr_float(k->node, "alpha", 1.0f), beta = attr_float(k->node, "beta", 1.0f);
  int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
  int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
  if (K != Kb) return kfail(k, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)Kb);
  int64_t dims[2] = {M, N};
  float *y = float_out_nz(k, 0, a->dtype, 2, dims);
  if (!y) return -1;
  int oa, ob, oc = 0;
  const float *pa = float_view(k, a, &oa), *pb = float_view(k, b, &ob), *pc = NULL;
  if (!pa || !pb) return -1;
  gemm_epi e = {NULL, 0, NULL, 0, k->node->fuse_act, k->node->fuse_p0, k->node->fuse_p1};
  int accumulate = 0;
  if (c && beta != 0) {
    if (c->ndim > 2) return kfail(k, "C has rank %d", c->ndim);
    for (int d = 0; d < c->ndim; d++) {
      int64_t want = dims[2 - c->ndim + d];
      if (c->dims[d] != 1 && c->dims[d] != want) return kfail(k, "C is not broadcastable to [M, N]");
    }
    if (!(pc = float_view(k, c, &oc))) return -1;
    if (beta == 1 && wm_onnx_numel(c) == N && c->dims[c->ndim - 1] == N) e.bias = pc; /* per-column bias */
    else {
      int64_t st[2];
      broadcast_strides(c, 2, dims, st);
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) y[i * N + j] = beta * pc[i * st[0] + j * st[1]];
      accumulate = 1;
    }
  }
  gemm_src A = {NULL, pa, a->dims[1], ta, alpha, NULL, NULL}, B = {NULL, pb, b->dims[1], tb, 1.0f, NULL, NULL};
  if (alpha == 1) B.packed = const_packed_b(k, 1, pb, b->dims[1], tb, K, N);
  /* alpha == 0: alpha * A * B vanishes (even for inf/NaN entries, as the reference computes it) */
  sgemm_ex(M, N, alpha == 0 ? 0 : K, &A, &B, accumulate, y, N, &e);
  if (pc) float_release((float *)pc, oc);
  float_release((float *)pa, oa);
  float_release((float *)pb, ob);
  float_commit(k, 0, y);
  return 0;
}

KERNEL(MatMul) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *a = k->in[0], *b = k->in[1];
  if (a->ndim < 1 || b->ndim < 1) return kfail(k, "inputs must have rank >= 1");
  if (is_int_type(a->dtype) && a->dtype == b->dtype) {
    /* integer matmul via int64 accumulation (rare: shape arithmetic in exported graphs) */
  } else if (require_float(k, a, "A") || require_float(k, b, "B")) return -1;
  /* promote 1-D operands per numpy: a → [1, K], b → [K, 1], removed from the result */
  wm_onnx_tensor A = *a, B = *b;
  if (a->ndim == 1) { A.ndim = 2; A.dims[0] = 1; A.dims[1] = a->dims[0]; }
  if (b->ndim == 1) { B.ndim = 2; B.dims[0] = b->dims[0]; B.dims[1] = 1; }
  int64_t M = A.dims[A.ndim - 2], K = A.dims[A.ndim - 1], N = B.dims[B.ndim - 1];
  if (B.dims[B.ndim - 2] != K) return kfail(k, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)B.dims[B.ndim - 2]);
  wm_onnx_tensor ba = A, bb = B;
  ba.ndim -= 2;
  bb.ndim -= 2;
  const wm_onnx_tensor *ts[2] = {&ba, &bb};
  int bnd;
  int64_t bdims[WM_ONNX_MAX_DIMS], sa[WM_ONNX_MAX_DIMS], sb[WM_ONNX_MAX_DIMS];
  if (broadcast_shape(k, 2, ts, &bnd, bdims)) return -1;
  broadcast_strides(&ba, bnd, bdims, sa);
  broadcast_strides(&bb, bnd, bdims, sb);
  int64_t odims[WM_ONNX_MAX_DIMS];
  int ond = 0;
  for (int d = 0; d < bnd; d++) odims[ond++] = bdims[d];
  if (a->ndim > 1) odims[ond++] = M;
  if (b->ndim > 1) odims[ond++] = N;
  int64_t batches = numel_of(bnd, bdims);
  if (is_int_type(a->dtype)) {
    if (out_alloc(k, 0, a->dtype, ond, odims)) return -1;
    int64_t idx[WM_ONNX_MAX_DIMS] = {0};
    for (int64_t bi = 0; bi < batches; bi++) {
      int64_t oa = 0, ob = 0;
      for (int d = 0; d < bnd; d++) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          int64_t s = 0;
          for (int64_t q = 0; q < K; q++) s += tget_i64(a, (oa * M + i) * K + q) * tget_i64(b, (ob * K + q) * N + j);
          tset_i64(k->out[0], (bi * M + i) * N + j, s);
        }
      for (int d = bnd - 1; d >= 0; d--) { if (++idx[d] < bdims[d]) break; idx[d] = 0; }
    }
    return 0;
  }
  float *y = float_out_nz(k, 0, a->dtype, ond, odims);
  if (!y) return -1;
  int ownA, ownB, ownR = 0;
  const float *pa = float_view(k, a, &ownA), *pb = float_view(k, b, &ownB), *pr = NULL;
  if (!pa || !pb) return -1;
  /* fused Add (optimize.c): a per-column bias or same-shape residual goes into the epilogue */
  const wm_onnx_tensor *r = k->node->fuse_res ? kin(k, k->node->fuse_res) : NULL;
  int rkind = r ? fused_operand_kind(r, ond, odims, N) : 0;
  if (r && rkind && !(pr = float_view(k, r, &ownR))) return -1;
  int late = r && !rkind;
  gemm_epi e = {rkind == 1 ? pr : NULL, 0, rkind == 2 ? pr : NULL, N, late ? ACT_NONE : k->node->fuse_act,
                k->node->fuse_p0, k->node->fuse_p1};
  if (b->ndim == 2 && batches >= 1) {
    /* one weight matrix: all of A's rows form a single product (and constant weights are packed once) */
    gemm_src A = {NULL, pa, K, 0, 1.0f, NULL, NULL}, B = {NULL, pb, N, 0, 1.0f, NULL, NULL};
    B.packed = const_packed_b(k, 1, pb, N, 0, K, N);
    sgemm_ex(batches * M, N, K, &A, &B, 0, y, N, &e);
  } else {
    int64_t idx[WM_ONNX_MAX_DIMS] = {0};
    for (int64_t bi = 0; bi < batches; bi++) {
      int64_t oa = 0, ob = 0;
      for (int d = 0; d < bnd; d++) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
      gemm_src A = {NULL, pa + oa * M * K, K, 0, 1.0f, NULL, NULL}, B = {NULL, pb + ob * K * N, N, 0, 1.0f, NULL, NULL};
      gemm_epi eb = e;
      if (eb.res) eb.res = pr + bi * M * N;
      sgemm_ex(M, N, K, &A, &B, 0, y + bi * M * N, N, &eb);
      for (int d = bnd - 1; d >= 0; d--) { if (++idx[d] < bdims[d]) break; idx[d] = 0; }
    }
  }
  int rc = late ? late_add_act(k, y, ond, odims, r, k->node->fuse_act, k->node->fuse_p0, k->node->fuse_p1) : 0;
  float_release((float *)pa, ownA);
  float_release((float *)pb, ownB);
  if (pr) float_release((float *)pr, ownR);
  if (rc) return rc;
  float_commit(k, 0, y);
  return 0;
}
