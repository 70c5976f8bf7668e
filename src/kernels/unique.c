/* unique.c — Unique: distinct elements (or slices along an axis) with first-occurrence indices, inverse indices and
 * counts, in sorted or first-occurrence order. */
#include "kernels.h"

typedef struct uq_ctx { const wm_onnx_tensor *x; int64_t outer, n, inner; int isint; } uq_ctx;

/* Lexicographic comparison of slices a and b (elements in (outer, inner) order). */
static int slice_cmp(const uq_ctx *c, int64_t a, int64_t b) {
  for (int64_t o = 0; o < c->outer; o++)
    for (int64_t i = 0; i < c->inner; i++) {
      int64_t ia = (o * c->n + a) * c->inner + i, ib = (o * c->n + b) * c->inner + i;
      if (c->isint) {
        int64_t va = tget_i64(c->x, ia), vb = tget_i64(c->x, ib);
        if (va != vb) return va < vb ? -1 : 1;
      } else {
        double va = tget(c->x, ia), vb = tget(c->x, ib);
        if (va != vb) return va < vb ? -1 : 1;
      }
    }
  return 0;
}

/* Stable merge sort of slice ids. */
static void uq_sort(const uq_ctx *c, int64_t *v, int64_t *tmp, int64_t n) {
  if (n < 2) return;
  int64_t h = n / 2;
  uq_sort(c, v, tmp, h);
  uq_sort(c, v + h, tmp, n - h);
  int64_t i = 0, j = h, o = 0;
  while (i < h && j < n) tmp[o++] = slice_cmp(c, v[j], v[i]) < 0 ? v[j++] : v[i++];
  while (i < h) tmp[o++] = v[i++];
  while (j < n) tmp[o++] = v[j++];
  memcpy(v, tmp, (size_t)n * sizeof *v);
}

KERNEL(Unique) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  uq_ctx c = {x, 1, wm_onnx_numel(x), 1, !is_float_type(x->dtype)};
  const onnx_attr *aa = attr_find(k->node, "axis");
  int axis = -1;
  if (aa) {
    if (normalize_axis(k, aa->i, x->ndim, &axis)) return -1;
    c.outer = numel_of(axis, x->dims);
    c.n = x->dims[axis];
    c.inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  }
  int sorted = (int)attr_int(k->node, "sorted", 1);
  int64_t n = c.n, sz = n ? n : 1;
  int64_t *ord = malloc((size_t)sz * sizeof *ord), *tmp = malloc((size_t)sz * sizeof *tmp);
  int64_t *grp = malloc((size_t)sz * sizeof *grp), *first = malloc((size_t)sz * sizeof *first);
  int64_t *cnt = calloc((size_t)sz, sizeof *cnt), *rank = malloc((size_t)sz * sizeof *rank);
  int rc = 0;
  if (!ord || !tmp || !grp || !first || !cnt || !rank) { rc = kfail(k, "out of memory"); goto done; }
  for (int64_t i = 0; i < n; i++) ord[i] = i;
  uq_sort(&c, ord, tmp, n);
  int64_t nu = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || slice_cmp(&c, ord[i - 1], ord[i]) != 0) first[nu++] = ord[i]; /* stable: smallest index first */
    grp[ord[i]] = nu - 1;
    cnt[nu - 1]++;
  }
  /* rank[g]: output position of sorted group g */
  if (sorted) {
    for (int64_t g = 0; g < nu; g++) rank[g] = g;
  } else {
    for (int64_t i = 0; i < n; i++) tmp[i] = -1;
    int64_t next = 0;
    for (int64_t i = 0; i < n; i++)
      if (tmp[grp[i]] < 0) tmp[grp[i]] = next++;
    for (int64_t g = 0; g < nu; g++) rank[g] = tmp[g];
  }
  int64_t yd[WM_ONNX_MAX_DIMS];
  int ynd = 1;
  if (axis >= 0) {
    ynd = x->ndim;
    memcpy(yd, x->dims, sizeof yd);
    yd[axis] = nu;
  } else {
    yd[0] = nu;
  }
  size_t es = wm_onnx_dtype_size(x->dtype);
  if ((rc = out_alloc(k, 0, x->dtype, ynd, yd))) goto done;
  for (int64_t g = 0; g < nu; g++)
    for (int64_t o = 0; o < c.outer; o++)
      memcpy((char *)k->out[0]->data + (size_t)((o * nu + rank[g]) * c.inner) * es,
             (const char *)x->data + (size_t)((o * n + first[g]) * c.inner) * es, (size_t)c.inner * es);
  if (k->nout > 1) {
    if ((rc = out_alloc(k, 1, WM_ONNX_INT64, 1, &nu))) goto done;
    for (int64_t g = 0; g < nu; g++) ((int64_t *)k->out[1]->data)[rank[g]] = first[g];
  }
  if (k->nout > 2) {
    if ((rc = out_alloc(k, 2, WM_ONNX_INT64, 1, &n))) goto done;
    for (int64_t i = 0; i < n; i++) ((int64_t *)k->out[2]->data)[i] = rank[grp[i]];
  }
  if (k->nout > 3) {
    if ((rc = out_alloc(k, 3, WM_ONNX_INT64, 1, &nu))) goto done;
    for (int64_t g = 0; g < nu; g++) ((int64_t *)k->out[3]->data)[rank[g]] = cnt[g];
  }
done:
  free(ord); free(tmp); free(grp); free(first); free(cnt); free(rank);
  return rc;
}
