/* rnn.c — the recurrent operators RNN, GRU and LSTM: forward/reverse/bidirectional, both layouts, sequence_lens,
 * initial states, LSTM peepholes and input_forget, GRU linear_before_reset, clip and custom activations. */
#include <ctype.h>

#include "kernels.h"

enum { K_RNN, K_GRU, K_LSTM };
enum { A_RELU, A_TANH, A_SIGMOID, A_AFFINE, A_LEAKYRELU, A_THRESHOLDEDRELU, A_SCALEDTANH, A_HARDSIGMOID, A_ELU,
       A_SOFTSIGN, A_SOFTPLUS };

typedef struct actfn { int kind; float alpha, beta; } actfn;

/* nalpha/nbeta: how many values the function takes from activation_alpha/beta (consumed in order). */
static const struct { const char *name; int kind, nalpha, nbeta; float da, db; } g_acts[] = {
  {"relu", A_RELU, 0, 0, 0, 0}, {"tanh", A_TANH, 0, 0, 0, 0}, {"sigmoid", A_SIGMOID, 0, 0, 0, 0},
  {"affine", A_AFFINE, 1, 1, 1, 0}, {"leakyrelu", A_LEAKYRELU, 1, 0, 0.01f, 0},
  {"thresholdedrelu", A_THRESHOLDEDRELU, 1, 0, 1, 0}, {"scaledtanh", A_SCALEDTANH, 1, 1, 1, 1},
  {"hardsigmoid", A_HARDSIGMOID, 1, 1, 0.2f, 0.5f}, {"elu", A_ELU, 1, 0, 1, 0}, {"softsign", A_SOFTSIGN, 0, 0, 0, 0},
  {"softplus", A_SOFTPLUS, 0, 0, 0, 0},
};

static inline float act(const actfn *a, float x) {
  switch (a->kind) {
  case A_RELU: return x > 0 ? x : 0;
  case A_TANH: return tanhf(x);
  case A_SIGMOID: return 1.0f / (1.0f + expf(-x));
  case A_AFFINE: return a->alpha * x + a->beta;
  case A_LEAKYRELU: return x >= 0 ? x : a->alpha * x;
  case A_THRESHOLDEDRELU: return x > a->alpha ? x : 0;
  case A_SCALEDTANH: return a->alpha * tanhf(a->beta * x);
  case A_HARDSIGMOID: return fmaxf(0, fminf(1, a->alpha * x + a->beta));
  case A_ELU: return x >= 0 ? x : a->alpha * (expf(x) - 1);
  case A_SOFTSIGN: return x / (1 + fabsf(x));
  default: return x > 20 ? x : log1pf(expf(x));
  }
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != *b) return 0;
  return !*a && !*b;
}

/* Fills fns[ndir * nact] from the activations attribute (or the operator's defaults). */
static int parse_acts(onnx_kernel_ctx *k, int kind, int ndir, actfn *fns) {
  static const char *const defs[3][3] = {{"tanh"}, {"sigmoid", "tanh"}, {"sigmoid", "tanh", "tanh"}};
  int nact = kind + 1;
  size_t na = 0, nal = 0, nbe = 0, ia = 0, ib = 0;
  const char *const *names = attr_strs(k->node, "activations", &na);
  const float *al = attr_floats(k->node, "activation_alpha", &nal), *be = attr_floats(k->node, "activation_beta", &nbe);
  if (names && na != (size_t)nact && na != (size_t)(nact * ndir))
    return kfail(k, "activations has %zu entries, expected %d", na, nact * ndir);
  for (int i = 0; i < nact * ndir; i++) {
    const char *n = names ? names[(size_t)i % na] : defs[kind][i % nact];
    size_t j = 0;
    while (j < sizeof g_acts / sizeof g_acts[0] && !ieq(n, g_acts[j].name)) j++;
    if (j == sizeof g_acts / sizeof g_acts[0]) return kunsupported(k, "activation function %s", n);
    fns[i].kind = g_acts[j].kind;
    fns[i].alpha = g_acts[j].nalpha && al && ia < nal ? al[ia++] : g_acts[j].da;
    fns[i].beta = g_acts[j].nbeta && be && ib < nbe ? be[ib++] : g_acts[j].db;
  }
  return 0;
}

static int same_dims(const wm_onnx_tensor *t, int n, int64_t a, int64_t b, int64_t c) {
  if (t->ndim != n) return 0;
  int64_t want[3] = {a, b, c};
  for (int i = 0; i < n; i++) if (t->dims[i] != want[i]) return 0;
  return 1;
}

static int run_rnn(onnx_kernel_ctx *k, int kind) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *X = k->in[0], *W = k->in[1], *R = k->in[2], *B = kin(k, 3), *SL = kin(k, 4), *H0 = kin(k, 5);
  const wm_onnx_tensor *C0 = kind == K_LSTM ? kin(k, 6) : NULL, *P = kind == K_LSTM ? kin(k, 7) : NULL;
  if (require_float(k, X, "X") || require_float(k, W, "W") || require_float(k, R, "R")) return -1;
  const int G = kind == K_LSTM ? 4 : kind == K_GRU ? 3 : 1;
  if (X->ndim != 3 || W->ndim != 3 || R->ndim != 3) return kfail(k, "X, W and R must have rank 3");
  int layout = (int)attr_int(k->node, "layout", 0);
  int64_t S = layout ? X->dims[1] : X->dims[0], NB = layout ? X->dims[0] : X->dims[1], I = X->dims[2];
  const char *dir = attr_str(k->node, "direction", "forward");
  int ndir = !strcmp(dir, "bidirectional") ? 2 : 1, reverse = !strcmp(dir, "reverse");
  if (ndir == 1 && !reverse && strcmp(dir, "forward")) return kfail(k, "unknown direction '%s'", dir);
  int64_t H = attr_int(k->node, "hidden_size", W->dims[1] / G);
  if (H <= 0 || !same_dims(W, 3, ndir, G * H, I) || !same_dims(R, 3, ndir, G * H, H))
    return kfail(k, "W/R shapes do not match direction, hidden_size and input size");
  if (B && !same_dims(B, 2, ndir, 2 * G * H, 0)) return kfail(k, "B must be [num_directions, %lld]", (long long)(2 * G * H));
  for (int s = 0; s < 2; s++) {
    const wm_onnx_tensor *t = s ? C0 : H0;
    if (t && !(layout ? same_dims(t, 3, NB, ndir, H) : same_dims(t, 3, ndir, NB, H)))
      return kfail(k, "%s has the wrong shape", s ? "initial_c" : "initial_h");
  }
  if (P && !same_dims(P, 2, ndir, 3 * H, 0)) return kfail(k, "P must be [num_directions, %lld]", (long long)(3 * H));
  if (SL && (SL->ndim != 1 || SL->dims[0] != NB)) return kfail(k, "sequence_lens must be [batch_size]");
  const onnx_attr *clip_a = attr_find(k->node, "clip");
  float clip = attr_float(k->node, "clip", 0);
  int has_clip = clip_a != NULL && clip > 0;
  int lbr = (int)attr_int(k->node, "linear_before_reset", 0), couple = (int)attr_int(k->node, "input_forget", 0);
  actfn fns[6];
  if (parse_acts(k, kind, ndir, fns)) return -1;
  int64_t *lens = malloc((size_t)(NB ? NB : 1) * sizeof *lens);
  if (!lens) return kfail(k, "out of memory");
  for (int64_t b = 0; b < NB; b++) {
    lens[b] = SL ? tget_i64(SL, b) : S;
    if (lens[b] < 0 || lens[b] > S) {
      long long bad = (long long)lens[b];
      free(lens);
      return kfail(k, "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b, bad, (long long)S);
    }
  }

  int64_t ydims[4], hdims[3];
  if (layout) { ydims[0] = NB; ydims[1] = S; ydims[2] = ndir; ydims[3] = H; hdims[0] = NB; hdims[1] = ndir; hdims[2] = H; }
  else { ydims[0] = S; ydims[1] = ndir; ydims[2] = NB; ydims[3] = H; hdims[0] = ndir; hdims[1] = NB; hdims[2] = H; }
  int ox = 0, ow = 0, or_ = 0, ob = 0, oh = 0, oc = 0, op = 0, rc = -1;
  const float *x = NULL, *w = NULL, *r = NULL, *bias = NULL, *h0 = NULL, *c0 = NULL, *p = NULL;
  float *y = NULL, *yh = NULL, *yc = NULL, *work = NULL;
  int nout = k->nout > (kind == K_LSTM ? 3 : 2) ? (kind == K_LSTM ? 3 : 2) : k->nout;
  if (!(x = float_view(k, X, &ox)) || !(w = float_view(k, W, &ow)) || !(r = float_view(k, R, &or_))) goto done;
  if ((B && !(bias = float_view(k, B, &ob))) || (H0 && !(h0 = float_view(k, H0, &oh))) ||
      (C0 && !(c0 = float_view(k, C0, &oc))) || (P && !(p = float_view(k, P, &op))))
    goto done;
  if (nout > 0 && !(y = float_out(k, 0, X->dtype, 4, ydims))) goto done;
  if (nout > 1 && !(yh = float_out(k, 1, X->dtype, 3, hdims))) goto done;
  if (nout > 2 && !(yc = float_out(k, 2, X->dtype, 3, hdims))) goto done;
  /* xw: X·Wᵀ for every step [S*NB, G*H]; hr: H·Rᵀ [NB, G*H]; h, c: state [NB, H]; t1, t2: GRU scratch [NB, H] */
  size_t nxw = (size_t)(S * NB * G * H), nhr = (size_t)(NB * G * H), nh = (size_t)(NB * H);
  work = malloc((nxw + nhr + 4 * nh + 1) * sizeof(float));
  if (!work) { kfail(k, "out of memory"); goto done; }
  float *xw = work, *hr = xw + nxw, *h = hr + nhr, *c = h + nh, *t1 = c + nh, *t2 = t1 + nh;
  for (int d = 0; d < ndir; d++) {
    int rev = ndir == 2 ? d == 1 : reverse;
    const float *Wd = w + d * G * H * I, *Rd = r + d * G * H * H;
    const float *Wb = bias ? bias + d * 2 * G * H : NULL, *Rb = Wb ? Wb + G * H : NULL;
    const float *Pd = p ? p + d * 3 * H : NULL;
    const actfn *f = &fns[d * (kind + 1)], *g = f + 1, *hf = f + 2;
    sgemm(0, 1, S * NB, G * H, I, 1, x, I, Wd, I, 0, xw, G * H);
    for (int64_t b = 0; b < NB; b++)
      for (int64_t j = 0; j < H; j++) {
        int64_t si = layout ? (b * ndir + d) * H + j : (d * NB + b) * H + j;
        h[b * H + j] = h0 ? h0[si] : 0;
        c[b * H + j] = c0 ? c0[si] : 0;
      }
    for (int64_t s = 0; s < S; s++) {
      sgemm(0, 1, NB, G * H, H, 1, h, H, Rd, H, 0, hr, G * H);
      for (int pass = 0; pass < (kind == K_GRU && !lbr ? 2 : 1); pass++) {
        if (pass == 1) /* GRU without linear_before_reset: (r ⊙ H)·Rhᵀ needs every r of the step first */
          sgemm(0, 1, NB, H, H, 1, t1, H, Rd + 2 * H * H, H, 0, t2, H);
        for (int64_t b = 0; b < NB; b++) {
          if (s >= lens[b]) continue;
          int64_t t = rev ? lens[b] - 1 - s : s;
          const float *xg = xw + (layout ? b * S + t : t * NB + b) * G * H, *hg = hr + b * G * H;
          float *hb = h + b * H, *cb = c + b * H;
          for (int64_t j = 0; j < H; j++) {
            float v[4];
            for (int q = 0; q < G; q++) {
              v[q] = xg[q * H + j] + (Wb ? Wb[q * H + j] : 0);
              if (!(kind == K_GRU && q == 2)) v[q] += hg[q * H + j] + (Rb ? Rb[q * H + j] : 0);
            }
            if (kind == K_RNN) {
              hb[j] = act(f, has_clip ? fmaxf(-clip, fminf(clip, v[0])) : v[0]);
            } else if (kind == K_LSTM) { /* gate order i, o, f, c; peepholes i, o, f */
              if (Pd) { v[0] += Pd[j] * cb[j]; v[2] += Pd[2 * H + j] * cb[j]; }
              if (has_clip) for (int q = 0; q < 4; q++) v[q] = fmaxf(-clip, fminf(clip, v[q]));
              float ig = act(f, v[0]), fg = couple ? 1 - ig : act(f, v[2]), cc = act(g, v[3]);
              float cn = fg * cb[j] + ig * cc;
              float og = v[1] + (Pd ? Pd[H + j] * cn : 0);
              if (has_clip) og = fmaxf(-clip, fminf(clip, og));
              cb[j] = cn;
              hb[j] = act(f, og) * act(hf, cn);
            } else { /* GRU, gate order z, r, h */
              if (has_clip) for (int q = 0; q < 2; q++) v[q] = fmaxf(-clip, fminf(clip, v[q]));
              float z = act(f, v[0]), rg = act(f, v[1]), hh;
              if (pass == 0 && !lbr) { t1[b * H + j] = rg * hb[j]; continue; }
              if (lbr) hh = v[2] + rg * (hg[2 * H + j] + (Rb ? Rb[2 * H + j] : 0));
              else hh = v[2] + t2[b * H + j] + (Rb ? Rb[2 * H + j] : 0);
              if (has_clip) hh = fmaxf(-clip, fminf(clip, hh));
              hb[j] = (1 - z) * act(g, hh) + z * hb[j];
            }
          }
          if (y && !(kind == K_GRU && !lbr && pass == 0))
            memcpy(y + (layout ? (b * S + t) * ndir + d : (t * ndir + d) * NB + b) * H, hb, (size_t)H * sizeof(float));
        }
      }
    }
    for (int64_t b = 0; b < NB; b++) {
      int64_t o = layout ? (b * ndir + d) * H : (d * NB + b) * H;
      if (yh) memcpy(yh + o, h + b * H, (size_t)H * sizeof(float));
      if (yc) memcpy(yc + o, c + b * H, (size_t)H * sizeof(float));
    }
  }
  rc = 0;
done:
  if (y) float_commit(k, 0, y);
  if (yh) float_commit(k, 1, yh);
  if (yc) float_commit(k, 2, yc);
  free(work);
  free(lens);
  if (x) float_release((float *)x, ox);
  if (w) float_release((float *)w, ow);
  if (r) float_release((float *)r, or_);
  if (bias) float_release((float *)bias, ob);
  if (h0) float_release((float *)h0, oh);
  if (c0) float_release((float *)c0, oc);
  if (p) float_release((float *)p, op);
  return rc;
}

KERNEL(RNN) { return run_rnn(k, K_RNN); }
KERNEL(GRU) { return run_rnn(k, K_GRU); }
KERNEL(LSTM) { return run_rnn(k, K_LSTM); }
