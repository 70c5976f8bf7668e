/* linalg.c — linear-algebra operators beyond matrix products: Det (batched determinant by LU with partial
 * pivoting) and Einsum. */
#include "kernels.h"

KERNEL(Det) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (require_float(k, x, "X")) return -1;
  if (x->ndim < 2 || x->dims[x->ndim - 1] != x->dims[x->ndim - 2]) return kfail(k, "X must have shape (..., M, M)");
  int64_t M = x->dims[x->ndim - 1], B = numel_of(x->ndim - 2, x->dims);
  if (M > 4096) return kfail(k, "matrix size %lld is too large", (long long)M);
  if (out_alloc(k, 0, x->dtype, x->ndim - 2, x->dims)) return -1;
  double *a = malloc((size_t)(M > 0 ? M * M : 1) * sizeof(double));
  if (!a) return kfail(k, "out of memory");
  for (int64_t b = 0; b < B; b++) {
    for (int64_t i = 0; i < M * M; i++) a[i] = tget(x, b * M * M + i);
    double det = 1;
    for (int64_t c = 0; c < M && det != 0; c++) {
      int64_t p = c;
      for (int64_t r = c + 1; r < M; r++)
        if (fabs(a[r * M + c]) > fabs(a[p * M + c])) p = r;
      if (a[p * M + c] == 0) { det = 0; break; }
      if (p != c) {
        for (int64_t j = 0; j < M; j++) { double t = a[c * M + j]; a[c * M + j] = a[p * M + j]; a[p * M + j] = t; }
        det = -det;
      }
      det *= a[c * M + c];
      for (int64_t r = c + 1; r < M; r++) {
        double f = a[r * M + c] / a[c * M + c];
        for (int64_t j = c; j < M; j++) a[r * M + j] -= f * a[c * M + j];
      }
    }
    tset(k->out[0], b, det);
  }
  free(a);
  return 0;
}

/* Einsum: explicit ("ij,jk->ik") or implicit equations, repeated labels (diagonals), and "..." broadcasting.
 * Evaluated by direct summation over every label combination, so cost is the product of all label sizes. */
#define EIN_MAXL 64
static int ein_label(int ch) {
  if (ch >= 'a' && ch <= 'z') return ch - 'a';
  if (ch >= 'A' && ch <= 'Z') return 26 + ch - 'A';
  return -1;
}

/* Parses one term into label ids; "..." expands to ids 52.. aligned to the right. Returns count or -1. */
static int ein_term(onnx_kernel_ctx *k, const char *s, size_t len, int rank, int *labels, int *nell) {
  int n = 0, before = -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == ' ') continue;
    if (s[i] == '.') {
      if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' || before >= 0) return kfail(k, "bad ellipsis in equation");
      before = n;
      i += 2;
      continue;
    }
    int l = ein_label((unsigned char)s[i]);
    if (l < 0) return kfail(k, "bad character '%c' in equation", s[i]);
    if (n >= WM_ONNX_MAX_DIMS) return kfail(k, "too many labels in a term");
    labels[n++] = l;
  }
  if (before < 0) {
    *nell = 0;
    if (rank >= 0 && n != rank) return kfail(k, "equation term has %d labels for rank %d", n, rank);
    return n;
  }
  int ne = rank >= 0 ? rank - n : *nell;
  if (ne < 0 || n + ne > WM_ONNX_MAX_DIMS) return kfail(k, "equation term does not match input rank");
  memmove(labels + before + ne, labels + before, (size_t)(n - before) * sizeof *labels);
  for (int i = 0; i < ne; i++) labels[before + i] = 52 + (WM_ONNX_MAX_DIMS - ne) + i; /* right-aligned ids */
  *nell = ne;
  return n + ne;
}

KERNEL(Einsum) {
  if (k->nin < 1) return kfail(k, "Einsum needs inputs");
  if (need_inputs(k, k->nin)) return -1;
  const char *eq = attr_str(k->node, "equation", NULL);
  if (!eq) return kfail(k, "missing equation");
  const char *arrow = strstr(eq, "->");
  size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
  int nin = k->nin, lab[16][WM_ONNX_MAX_DIMS], nl[16], maxell = 0;
  if (nin > 16) return kunsupported(k, "Einsum with more than 16 inputs is not supported");
  int64_t size[EIN_MAXL];
  int used[EIN_MAXL] = {0}, count[EIN_MAXL] = {0};
  for (int i = 0; i < EIN_MAXL; i++) size[i] = 1;
  const char *p = eq;
  for (int t = 0; t < nin; t++) {
    const char *e = memchr(p, ',', (size_t)(eq + lhs_len - p));
    size_t len = e ? (size_t)(e - p) : (size_t)(eq + lhs_len - p);
    if (!e && t != nin - 1) return kfail(k, "equation has fewer terms than inputs");
    if (e && t == nin - 1) return kfail(k, "equation has more terms than inputs");
    int ne = 0;
    const wm_onnx_tensor *x = k->in[t];
    if ((nl[t] = ein_term(k, p, len, x->ndim, lab[t], &ne)) < 0) return -1;
    if (ne > maxell) maxell = ne;
    for (int d = 0; d < nl[t]; d++) {
      int l = lab[t][d];
      if (!used[l] || size[l] == 1) size[l] = x->dims[d];
      else if (x->dims[d] != size[l] && x->dims[d] != 1) return kfail(k, "label size mismatch in equation");
      used[l] = 1;
      count[l]++;
    }
    p = e ? e + 1 : p + len;
  }
  int out[WM_ONNX_MAX_DIMS], no = 0;
  if (arrow) {
    int ne = maxell;
    if ((no = ein_term(k, arrow + 2, strlen(arrow + 2), -1, out, &ne)) < 0) return -1;
    for (int i = 0; i < no; i++)
      if (!used[out[i]]) return kfail(k, "output label not present in inputs");
  } else {
    for (int l = 52; l < EIN_MAXL; l++) if (used[l]) out[no++] = l;
    for (int l = 0; l < 52; l++)
      if (used[l] && count[l] == 1) {
        if (no >= WM_ONNX_MAX_DIMS) return kfail(k, "too many output labels");
        out[no++] = l;
      }
  }
  int all[EIN_MAXL], na = 0, isout[EIN_MAXL] = {0};
  for (int i = 0; i < no; i++) { if (isout[out[i]]) return kfail(k, "repeated output label"); isout[out[i]] = 1; all[na++] = out[i]; }
  for (int l = 0; l < EIN_MAXL; l++) if (used[l] && !isout[l]) all[na++] = l;
  int64_t strides[16][EIN_MAXL];
  memset(strides, 0, sizeof strides);
  for (int t = 0; t < nin; t++) {
    int64_t s = 1;
    for (int d = nl[t] - 1; d >= 0; d--) {
      if (k->in[t]->dims[d] != 1) strides[t][lab[t][d]] += s;
      s *= k->in[t]->dims[d];
    }
  }
  int64_t od[WM_ONNX_MAX_DIMS], total = 1;
  for (int i = 0; i < no; i++) od[i] = size[out[i]];
  for (int i = 0; i < na; i++) {
    if (size[all[i]] && total > ((int64_t)1 << 40) / size[all[i]]) return kfail(k, "Einsum iteration space is too large");
    total *= size[all[i]];
  }
  if (out_alloc(k, 0, k->in[0]->dtype, no, od)) return -1;
  int64_t on = numel_of(no, od), inner = on ? total / on : 0, idx[EIN_MAXL] = {0};
  for (int64_t o = 0; o < on; o++) {
    double acc = 0;
    for (int64_t r = 0; r < inner; r++) {
      double prod = 1;
      for (int t = 0; t < nin; t++) {
        int64_t off = 0;
        for (int i = 0; i < na; i++) off += idx[i] * strides[t][all[i]];
        prod *= tget(k->in[t], off);
      }
      acc += prod;
      for (int i = na - 1; i >= 0; i--) {
        if (++idx[i] < size[all[i]]) break;
        idx[i] = 0;
      }
    }
    tset(k->out[0], o, acc);
    if (inner == 0)
      for (int i = no - 1; i >= 0; i--) {
        if (++idx[i] < size[all[i]]) break;
        idx[i] = 0;
      }
  }
  return 0;
}
