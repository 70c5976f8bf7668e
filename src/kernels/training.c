/* training.c — optimizer update rules of the ai.onnx.preview.training domain: Adagrad, Momentum (standard and
 * Nesterov), Adam. Each takes R, T, then n tensors per group and returns the updated groups. */
#include "kernels.h"

/* Validates inputs R, T and `groups` groups of n same-shaped float tensors; allocates outputs like X. */
static int optim_setup(onnx_kernel_ctx *k, int groups, int outs_per, int64_t *n_out, double *r, int64_t *t) {
  if (k->nin < 2 + groups || (k->nin - 2) % groups) return kfail(k, "expected R, T and %d groups of tensors", groups);
  if (need_inputs(k, k->nin)) return -1;
  int64_t n = (k->nin - 2) / groups;
  if (k->nout > outs_per * n) return kfail(k, "too many outputs");
  if (wm_onnx_numel(k->in[0]) != 1 || wm_onnx_numel(k->in[1]) != 1) return kfail(k, "R and T must be scalars");
  *r = tget(k->in[0], 0);
  *t = tget_i64(k->in[1], 0);
  for (int64_t i = 0; i < n; i++) {
    const wm_onnx_tensor *x = k->in[2 + i];
    if (require_float(k, x, "X")) return -1;
    for (int g = 1; g < groups; g++) {
      const wm_onnx_tensor *o = k->in[2 + g * n + i];
      if (o->ndim != x->ndim || wm_onnx_numel(o) != wm_onnx_numel(x) || require_float(k, o, "input"))
        return kfail(k, "input group %d tensor %lld does not match X", g, (long long)i);
    }
  }
  for (int o = 0; o < k->nout; o++)
    if (out_like(k, o, k->in[2 + (o % n)])) return -1;
  *n_out = n;
  return 0;
}

static void put(onnx_kernel_ctx *k, int o, int64_t e, double v) {
  if (o < k->nout) tset(k->out[o], e, v);
}

KERNEL(Adagrad) {
  double r = 0;
  int64_t t = 0, n = 0;
  if (optim_setup(k, 3, 2, &n, &r, &t)) return -1;
  double decay = attr_float(k->node, "decay_factor", 0), eps = attr_float(k->node, "epsilon", 1e-6f);
  double nc = attr_float(k->node, "norm_coefficient", 0), ra = r / (1 + (double)t * decay);
  for (int64_t i = 0; i < n; i++) {
    const wm_onnx_tensor *x = k->in[2 + i], *g = k->in[2 + n + i], *h = k->in[2 + 2 * n + i];
    for (int64_t e = 0, m = wm_onnx_numel(x); e < m; e++) {
      double gr = nc * tget(x, e) + tget(g, e), hn = tget(h, e) + gr * gr;
      put(k, (int)i, e, tget(x, e) - ra * gr / (sqrt(hn) + eps));
      put(k, (int)(n + i), e, hn);
    }
  }
  return 0;
}

KERNEL(Momentum) {
  double r = 0;
  int64_t t = 0, n = 0;
  if (optim_setup(k, 3, 2, &n, &r, &t)) return -1;
  double alpha = attr_float(k->node, "alpha", 0), beta = attr_float(k->node, "beta", 0);
  double nc = attr_float(k->node, "norm_coefficient", 0);
  const char *mode = attr_str(k->node, "mode", "standard");
  int nesterov = !strcmp(mode, "nesterov");
  if (!nesterov && strcmp(mode, "standard")) return kfail(k, "unknown mode '%s'", mode);
  double ba = t > 0 ? beta : 1;
  for (int64_t i = 0; i < n; i++) {
    const wm_onnx_tensor *x = k->in[2 + i], *g = k->in[2 + n + i], *v = k->in[2 + 2 * n + i];
    for (int64_t e = 0, m = wm_onnx_numel(x); e < m; e++) {
      double gr = nc * tget(x, e) + tget(g, e), vn = alpha * tget(v, e) + ba * gr;
      put(k, (int)i, e, tget(x, e) - r * (nesterov ? gr + alpha * vn : vn));
      put(k, (int)(n + i), e, vn);
    }
  }
  return 0;
}

/* Not registered yet, see registry.c. */
int op_Adam(onnx_kernel_ctx *k);
KERNEL(Adam) {
  double r = 0;
  int64_t t = 0, n = 0;
  if (optim_setup(k, 4, 3, &n, &r, &t)) return -1;
  double alpha = attr_float(k->node, "alpha", 0.9f), beta = attr_float(k->node, "beta", 0.999f);
  double eps = attr_float(k->node, "epsilon", 1e-6f), nc = attr_float(k->node, "norm_coefficient", 0);
  double ncp = attr_float(k->node, "norm_coefficient_post", 0);
  double ra = t > 0 ? r * sqrt(1 - pow(beta, (double)t)) / (1 - pow(alpha, (double)t)) : r;
  for (int64_t i = 0; i < n; i++) {
    const wm_onnx_tensor *x = k->in[2 + i], *g = k->in[2 + n + i], *v = k->in[2 + 2 * n + i], *h = k->in[2 + 3 * n + i];
    for (int64_t e = 0, m = wm_onnx_numel(x); e < m; e++) {
      double gr = nc * tget(x, e) + tget(g, e);
      double vn = alpha * tget(v, e) + (1 - alpha) * gr, hn = beta * tget(h, e) + (1 - beta) * gr * gr;
      double xn = tget(x, e) - ra * (vn / (sqrt(hn) + eps));
      put(k, (int)i, e, (1 - ncp) * xn);
      put(k, (int)(n + i), e, vn);
      put(k, (int)(2 * n + i), e, hn);
    }
  }
  return 0;
}
