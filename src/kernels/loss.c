/* loss.c — training-loss operators evaluated in inference: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (reductions none/sum/mean, optional class weights, ignore_index, optional log_prob output). */
#include "kernels.h"

enum { RED_NONE, RED_SUM, RED_MEAN };

static int loss_reduction(onnx_kernel_ctx *k, int *red) {
  const char *r = attr_str(k->node, "reduction", "mean");
  if (!strcmp(r, "none")) *red = RED_NONE;
  else if (!strcmp(r, "sum")) *red = RED_SUM;
  else if (!strcmp(r, "mean")) *red = RED_MEAN;
  else return kfail(k, "unknown reduction '%s'", r);
  return 0;
}

/* logp: [N, C, D] values (flattened D); target [N, D]. Writes the reduced or per-element loss to output 0. */
static int nll_core(onnx_kernel_ctx *k, const double *logp, int dt, const wm_onnx_tensor *x, const wm_onnx_tensor *tgt,
                    const wm_onnx_tensor *w) {
  int red = RED_MEAN;
  if (loss_reduction(k, &red)) return -1;
  if (!is_int_type(tgt->dtype)) return kfail(k, "target must be an integer tensor");
  int64_t N = x->dims[0], C = x->dims[1], D = numel_of(x->ndim - 2, x->dims + 2);
  if (tgt->ndim != x->ndim - 1 || tgt->dims[0] != N) return kfail(k, "target shape does not match input");
  for (int d = 2; d < x->ndim; d++)
    if (tgt->dims[d - 1] != x->dims[d]) return kfail(k, "target dimension %d does not match input", d - 1);
  if (w && (w->ndim != 1 || w->dims[0] != C)) return kfail(k, "weight must be a 1-D tensor of C=%lld values", (long long)C);
  const onnx_attr *ia = attr_find(k->node, "ignore_index");
  int has_ign = ia != NULL;
  int64_t ign = has_ign ? ia->i : 0;
  if (red == RED_NONE) {
    if (out_alloc(k, 0, (wm_onnx_dtype)dt, tgt->ndim, tgt->dims)) return -1;
  } else if (out_alloc(k, 0, (wm_onnx_dtype)dt, 0, NULL)) {
    return -1;
  }
  double sum = 0, wsum = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) {
      int64_t i = n * D + d, t = tget_i64(tgt, i);
      double l = 0, wt = 0;
      if (!(has_ign && t == ign)) {
        if (t < 0 || t >= C) return kfail(k, "target value %lld out of range [0, %lld)", (long long)t, (long long)C);
        wt = w ? tget(w, t) : 1.0;
        l = -logp[(n * C + t) * D + d] * wt;
      }
      if (red == RED_NONE) tset(k->out[0], i, l);
      sum += l;
      wsum += wt;
    }
  if (red == RED_SUM) tset(k->out[0], 0, sum);
  else if (red == RED_MEAN) tset(k->out[0], 0, wsum != 0 ? sum / wsum : NAN); /* all ignored: 0/0 like the reference */
  return 0;
}

static int loss_check_input(onnx_kernel_ctx *k, const wm_onnx_tensor *x) {
  if (require_float(k, x, "input")) return -1;
  if (x->ndim < 2) return kfail(k, "input must have rank >= 2 (N, C, ...)");
  if (x->dims[1] <= 0) return kfail(k, "class dimension must be positive");
  return 0;
}

KERNEL(NegativeLogLikelihoodLoss) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (loss_check_input(k, x)) return -1;
  int64_t n = wm_onnx_numel(x);
  double *p = malloc((size_t)(n ? n : 1) * sizeof(double));
  if (!p) return kfail(k, "out of memory");
  for (int64_t i = 0; i < n; i++) p[i] = tget(x, i);
  int rc = nll_core(k, p, x->dtype, x, k->in[1], kin(k, 2));
  free(p);
  return rc;
}

KERNEL(SoftmaxCrossEntropyLoss) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (loss_check_input(k, x)) return -1;
  int64_t n = wm_onnx_numel(x), N = x->dims[0], C = x->dims[1], D = numel_of(x->ndim - 2, x->dims + 2);
  double *p = malloc((size_t)(n ? n : 1) * sizeof(double));
  if (!p) return kfail(k, "out of memory");
  for (int64_t b = 0; b < N; b++)
    for (int64_t d = 0; d < D; d++) {
      double mx = -INFINITY, s = 0;
      for (int64_t c = 0; c < C; c++) {
        double v = tget(x, (b * C + c) * D + d);
        if (v > mx) mx = v;
      }
      for (int64_t c = 0; c < C; c++) s += exp(tget(x, (b * C + c) * D + d) - mx);
      double ls = log(s);
      for (int64_t c = 0; c < C; c++) {
        int64_t i = (b * C + c) * D + d;
        p[i] = tget(x, i) - mx - ls;
      }
    }
  int rc = nll_core(k, p, x->dtype, x, k->in[1], kin(k, 2));
  if (!rc && k->nout > 1) {
    if (out_alloc(k, 1, x->dtype, x->ndim, x->dims)) rc = -1;
    else
      for (int64_t i = 0; i < n; i++) tset(k->out[1], i, p[i]);
  }
  free(p);
  return rc;
}
