/* gemm.c — blocked single-precision GEMM (packed panels, 4x16 register tile) and the MatMul / Gemm operators. */
#include <pthread.h>

#include "kernels.h"

#define MR 4
#define NR 16
#define KC 256
#define NC 512

/* Packs op(B)[k0:k0+kc, n0:n0+nc] into NR-wide column panels: panel p, row k holds 16 consecutive columns. */
static void pack_b(int transB, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst) {
  for (int64_t p = 0; p < nc; p += NR) {
    int64_t w = nc - p < NR ? nc - p : NR;
    for (int64_t k = 0; k < kc; k++) {
      float *d = dst + (p / NR) * kc * NR + k * NR;
      if (!transB) {
        const float *s = B + (k0 + k) * ldb + n0 + p;
        for (int64_t j = 0; j < w; j++) d[j] = s[j];
      } else {
        for (int64_t j = 0; j < w; j++) d[j] = B[(n0 + p + j) * ldb + k0 + k];
      }
      for (int64_t j = w; j < NR; j++) d[j] = 0;
    }
  }
}

/* Packs op(A)[m0:m0+MR, k0:k0+kc] as kc groups of MR values. */
static void pack_a(int transA, const float *A, int64_t lda, int64_t m0, int64_t mr, int64_t k0, int64_t kc, float *dst) {
  for (int64_t k = 0; k < kc; k++) {
    float *d = dst + k * MR;
    for (int64_t i = 0; i < mr; i++)
      d[i] = transA ? A[(k0 + k) * lda + m0 + i] : A[(m0 + i) * lda + k0 + k];
    for (int64_t i = mr; i < MR; i++) d[i] = 0;
  }
}

static void micro_4x16(int64_t kc, const float *restrict a, const float *restrict b, float acc[MR][NR]) {
  float c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0};
  for (int64_t k = 0; k < kc; k++) {
    const float *bk = b + k * NR;
    float a0 = a[k * MR], a1 = a[k * MR + 1], a2 = a[k * MR + 2], a3 = a[k * MR + 3];
    for (int j = 0; j < NR; j++) {
      c0[j] += a0 * bk[j];
      c1[j] += a1 * bk[j];
      c2[j] += a2 * bk[j];
      c3[j] += a3 * bk[j];
    }
  }
  for (int j = 0; j < NR; j++) { acc[0][j] = c0[j]; acc[1][j] = c1[j]; acc[2][j] = c2[j]; acc[3][j] = c3[j]; }
}

static void sgemm_serial(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                         int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0) for (int64_t j = 0; j < N; j++) c[j] = 0;
    else if (beta != 1) for (int64_t j = 0; j < N; j++) c[j] *= beta;
  }
  if (K == 0 || M == 0 || N == 0 || alpha == 0) return;
  if (M == 1 && !transB) { /* GEMV-like row: stream B rows, which is already cache friendly */
    for (int64_t k = 0; k < K; k++) {
      float a = alpha * (transA ? A[k * lda] : A[k]);
      const float *b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) C[j] += a * b[j];
    }
    return;
  }
  int64_t ncap = N < NC ? N : NC, kcap = K < KC ? K : KC;
  float *bp = malloc((size_t)(((ncap + NR - 1) / NR) * NR * kcap) * sizeof(float));
  float *ap = malloc((size_t)(MR * kcap) * sizeof(float));
  if (!bp || !ap) { /* fall back to the unblocked loop rather than failing */
    free(bp); free(ap);
    for (int64_t i = 0; i < M; i++)
      for (int64_t k = 0; k < K; k++) {
        float a = alpha * (transA ? A[k * lda + i] : A[i * lda + k]);
        for (int64_t j = 0; j < N; j++) C[i * ldc + j] += a * (transB ? B[j * ldb + k] : B[k * ldb + j]);
      }
    return;
  }
  float acc[MR][NR];
  for (int64_t n0 = 0; n0 < N; n0 += NC) {
    int64_t nc = N - n0 < NC ? N - n0 : NC;
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      int64_t kc = K - k0 < KC ? K - k0 : KC;
      pack_b(transB, B, ldb, k0, kc, n0, nc, bp);
      for (int64_t m0 = 0; m0 < M; m0 += MR) {
        int64_t mr = M - m0 < MR ? M - m0 : MR;
        pack_a(transA, A, lda, m0, mr, k0, kc, ap);
        for (int64_t p = 0; p < nc; p += NR) {
          int64_t w = nc - p < NR ? nc - p : NR;
          micro_4x16(kc, ap, bp + (p / NR) * kc * NR, acc);
          for (int64_t i = 0; i < mr; i++) {
            float *c = C + (m0 + i) * ldc + n0 + p;
            for (int64_t j = 0; j < w; j++) c[j] += alpha * acc[i][j];
          }
        }
      }
    }
  }
  free(bp);
  free(ap);
}

/* ---- threading: large products are split into independent row or column blocks, one per thread ---- */
#define MAX_THREADS 64
#define PAR_MIN_FLOPS 4000000.0 /* below ~1 ms of work, creating threads costs more than it saves */
static int g_threads = 1;

void wm_onnx_set_threads(int n) { g_threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n; }
int wm_onnx_get_threads(void) { return g_threads; }

typedef struct gemm_job {
  int transA, transB;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
} gemm_job;

static void *gemm_worker(void *p) {
  gemm_job *j = p;
  sgemm_serial(j->transA, j->transB, j->M, j->N, j->K, j->alpha, j->A, j->lda, j->B, j->ldb, j->beta, j->C, j->ldc);
  return NULL;
}

void sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  int nt = g_threads;
  if (nt <= 1 || 2.0 * (double)M * (double)N * (double)K < PAR_MIN_FLOPS) {
    sgemm_serial(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  /* split the longer side of C, in whole register tiles, so blocks never share a cache line of C rows */
  int by_rows = M >= N;
  int64_t len = by_rows ? M : N, tile = by_rows ? MR : NR;
  int64_t per = ((len + nt - 1) / nt + tile - 1) / tile * tile;
  gemm_job jobs[MAX_THREADS];
  pthread_t tid[MAX_THREADS];
  int started[MAX_THREADS] = {0}, n = 0;
  for (int64_t s = 0; s < len && n < MAX_THREADS; s += per, n++) {
    int64_t l = len - s < per ? len - s : per;
    gemm_job *j = &jobs[n];
    *j = (gemm_job){transA, transB, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    if (by_rows) {
      j->M = l;
      j->A = transA ? A + s : A + s * lda;
      j->C = C + s * ldc;
    } else {
      j->N = l;
      j->B = transB ? B + s * ldb : B + s;
      j->C = C + s;
    }
  }
  /* the calling thread takes block 0; a block whose thread cannot start runs here too */
  for (int i = 1; i < n; i++) started[i] = pthread_create(&tid[i], NULL, gemm_worker, &jobs[i]) == 0;
  gemm_worker(&jobs[0]);
  for (int i = 1; i < n; i++) {
    if (started[i]) pthread_join(tid[i], NULL);
    else gemm_worker(&jobs[i]);
  }
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
  float *y = float_out(k, 0, a->dtype, 2, dims);
  if (!y) return -1;
  int oa, ob, oc = 0;
  const float *pa = float_view(k, a, &oa), *pb = float_view(k, b, &ob);
  if (!pa || !pb) return -1;
  float cbeta = 0;
  if (c && beta != 0) {
    const wm_onnx_tensor *ts[1] = {c};
    int64_t st[2];
    if (c->ndim > 2) return kfail(k, "C has rank %d", c->ndim);
    for (int d = 0; d < c->ndim; d++) {
      int64_t want = dims[2 - c->ndim + d];
      if (c->dims[d] != 1 && c->dims[d] != want) return kfail(k, "C is not broadcastable to [M, N]");
    }
    (void)ts;
    broadcast_strides(c, 2, dims, st);
    const float *pc = float_view(k, c, &oc);
    if (!pc) return -1;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) y[i * N + j] = pc[i * st[0] + j * st[1]];
    float_release((float *)pc, oc);
    cbeta = beta;
  }
  sgemm(ta, tb, M, N, K, alpha, pa, a->dims[1], pb, b->dims[1], cbeta, y, N);
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
  float *y = float_out(k, 0, a->dtype, ond, odims);
  if (!y) return -1;
  int ownA, ownB;
  const float *pa = float_view(k, a, &ownA), *pb = float_view(k, b, &ownB);
  if (!pa || !pb) return -1;
  int64_t idx[WM_ONNX_MAX_DIMS] = {0};
  for (int64_t bi = 0; bi < batches; bi++) {
    int64_t oa = 0, ob = 0;
    for (int d = 0; d < bnd; d++) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
    sgemm(0, 0, M, N, K, 1.0f, pa + oa * M * K, K, pb + ob * K * N, N, 0.0f, y + bi * M * N, N);
    for (int d = bnd - 1; d >= 0; d--) { if (++idx[d] < bdims[d]) break; idx[d] = 0; }
  }
  float_release((float *)pa, ownA);
  float_release((float *)pb, ownB);
  float_commit(k, 0, y);
  return 0;
}
