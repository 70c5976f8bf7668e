/* ml.c — operators of the ai.onnx.ml domain on numeric tensors: Binarizer, ArrayFeatureExtractor, TreeEnsemble. */
#include "kernels.h"

KERNEL(Binarizer) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  double th = attr_float(k->node, "threshold", 0);
  if (out_like(k, 0, x)) return -1;
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) tset(k->out[0], i, tget(x, i) > th ? 1 : 0);
  return 0;
}

KERNEL(ArrayFeatureExtractor) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ix = k->in[1];
  if (x->ndim < 1) return kfail(k, "X must have rank >= 1");
  if (!is_int_type(ix->dtype)) return kfail(k, "Y must hold integer indices");
  int64_t last = x->dims[x->ndim - 1], ni = wm_onnx_numel(ix), outer = numel_of(x->ndim - 1, x->dims);
  int64_t od[WM_ONNX_MAX_DIMS];
  memcpy(od, x->dims, sizeof od);
  od[x->ndim - 1] = ni;
  if (out_alloc(k, 0, x->dtype, x->ndim, od)) return -1;
  size_t es = wm_onnx_dtype_size(x->dtype);
  for (int64_t j = 0; j < ni; j++) {
    int64_t c = tget_i64(ix, j);
    if (c < 0 || c >= last) return kfail(k, "index %lld out of range [0, %lld)", (long long)c, (long long)last);
    for (int64_t o = 0; o < outer; o++)
      memcpy((char *)k->out[0]->data + (size_t)(o * ni + j) * es, (const char *)x->data + (size_t)(o * last + c) * es, es);
  }
  return 0;
}

/* TreeEnsemble (ai.onnx.ml v5): evaluates every tree for every row and aggregates the reached leaf weights per
 * target. Node and leaf references are validated up front and walks are bounded by the node count. */
static const wm_onnx_tensor *attr_tensor(const onnx_node *n, const char *name) {
  const onnx_attr *a = attr_find(n, name);
  return a && a->type == ATTR_TENSOR ? a->t : NULL;
}

KERNEL(TreeEnsemble) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (require_float(k, x, "X")) return -1;
  if (x->ndim != 2) return kfail(k, "X must be 2-D (N, F)");
  const onnx_node *nd = k->node;
  size_t nf, ntn, ntl, nfn, nfl, nmv = 0, nlt, nr;
  const int64_t *feat = attr_ints(nd, "nodes_featureids", &nf), *tn = attr_ints(nd, "nodes_truenodeids", &ntn);
  const int64_t *tl = attr_ints(nd, "nodes_trueleafs", &ntl), *fn = attr_ints(nd, "nodes_falsenodeids", &nfn);
  const int64_t *fl = attr_ints(nd, "nodes_falseleafs", &nfl), *lt = attr_ints(nd, "leaf_targetids", &nlt);
  const int64_t *roots = attr_ints(nd, "tree_roots", &nr), *mvt = attr_ints(nd, "nodes_missing_value_tracks_true", &nmv);
  const wm_onnx_tensor *splits = attr_tensor(nd, "nodes_splits"), *modes = attr_tensor(nd, "nodes_modes");
  const wm_onnx_tensor *lw = attr_tensor(nd, "leaf_weights"), *mem = attr_tensor(nd, "membership_values");
  int64_t nt = attr_int(nd, "n_targets", 0), agg = attr_int(nd, "aggregate_function", 1), post = attr_int(nd, "post_transform", 0);
  if (!feat || !tn || !tl || !fn || !fl || !lt || !roots || !splits || !modes || !lw)
    return kfail(k, "TreeEnsemble is missing required attributes");
  size_t nn = nf;
  if (ntn != nn || ntl != nn || nfn != nn || nfl != nn || (mvt && nmv != nn) || (size_t)wm_onnx_numel(splits) != nn ||
      (size_t)wm_onnx_numel(modes) != nn || (size_t)wm_onnx_numel(lw) != nlt)
    return kfail(k, "TreeEnsemble node/leaf attribute lengths disagree");
  if (nt <= 0 || nt > (1 << 20)) return kfail(k, "n_targets out of range");
  if (agg < 0 || agg > 3) return kfail(k, "unknown aggregate_function %lld", (long long)agg);
  if (post != 0 && post != 2) return kunsupported(k, "post_transform %lld is not supported", (long long)post);
  int64_t F = x->dims[1], N = x->dims[0];
  /* membership sets: the i-th BRANCH_MEMBER node owns the i-th NaN-separated run of membership_values */
  int64_t *mstart = calloc(nn + 1, sizeof *mstart), *mend = calloc(nn + 1, sizeof *mend);
  double *acc = malloc((size_t)nt * sizeof *acc);
  int *hit = malloc((size_t)nt * sizeof *hit);
  int rc = 0;
  if (!mstart || !mend || !acc || !hit) { rc = kfail(k, "out of memory"); goto done; }
  int64_t mpos = 0, mn = mem ? wm_onnx_numel(mem) : 0;
  for (size_t i = 0; i < nn; i++) {
    int64_t m = tget_i64(modes, (int64_t)i), f = feat[i];
    if (m < 0 || m > 6) { rc = kfail(k, "node %zu has unknown mode %lld", i, (long long)m); goto done; }
    if (f < 0 || f >= F) { rc = kfail(k, "node %zu reads feature %lld of %lld", i, (long long)f, (long long)F); goto done; }
    if ((tl[i] ? tn[i] >= (int64_t)nlt : tn[i] >= (int64_t)nn) || tn[i] < 0 || (fl[i] ? fn[i] >= (int64_t)nlt : fn[i] >= (int64_t)nn) || fn[i] < 0) {
      rc = kfail(k, "node %zu has an out-of-range child", i);
      goto done;
    }
    if (m == 6) {
      mstart[i] = mpos;
      while (mpos < mn && !isnan(tget(mem, mpos))) mpos++;
      mend[i] = mpos;
      if (mpos < mn) mpos++;
    }
  }
  for (size_t l = 0; l < nlt; l++)
    if (lt[l] < 0 || lt[l] >= nt) { rc = kfail(k, "leaf %zu targets %lld of %lld", l, (long long)lt[l], (long long)nt); goto done; }
  for (size_t r = 0; r < nr; r++)
    if (roots[r] < 0 || roots[r] >= (int64_t)nn) { rc = kfail(k, "tree root %lld out of range", (long long)roots[r]); goto done; }
  int64_t od[2] = {N, nt};
  if ((rc = out_alloc(k, 0, x->dtype, 2, od))) goto done;
  for (int64_t row = 0; row < N; row++) {
    for (int64_t t = 0; t < nt; t++) { acc[t] = 0; hit[t] = 0; }
    for (size_t r = 0; r < nr; r++) {
      int64_t i = roots[r], leaf = -1;
      for (size_t steps = 0; steps <= nn && leaf < 0; steps++) {
        double v = tget(x, row * F + feat[i]), s = tget(splits, i);
        int64_t m = tget_i64(modes, i);
        int cond;
        if (isnan(v) && mvt && mvt[i]) cond = 1;
        else switch (m) {
          case 0: cond = v <= s; break;
          case 1: cond = v < s; break;
          case 2: cond = v >= s; break;
          case 3: cond = v > s; break;
          case 4: cond = v == s; break;
          case 5: cond = v != s; break;
          default:
            cond = 0;
            for (int64_t j = mstart[i]; j < mend[i] && !cond; j++) cond = tget(mem, j) == v;
            break;
          }
        int is_leaf = cond ? tl[i] != 0 : fl[i] != 0;
        int64_t next = cond ? tn[i] : fn[i];
        if (is_leaf) leaf = next;
        else i = next;
      }
      if (leaf < 0) { rc = kfail(k, "tree %zu does not reach a leaf (cycle)", r); goto done; }
      int64_t t = lt[leaf];
      double w = tget(lw, leaf);
      if (!hit[t]) acc[t] = w;
      else if (agg == 2) acc[t] = fmin(acc[t], w);
      else if (agg == 3) acc[t] = fmax(acc[t], w);
      else acc[t] += w;
      hit[t] = 1;
    }
    for (int64_t t = 0; t < nt; t++) {
      double v = acc[t];
      if (agg == 0 && nr) v /= (double)nr;
      if (post == 2) v = 1.0 / (1.0 + exp(-v));
      tset(k->out[0], row * nt + t, v);
    }
  }
done:
  free(mstart); free(mend); free(acc); free(hit);
  return rc;
}
