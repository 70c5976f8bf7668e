/* optimize.c — load-time rewrites of the root graph before it is planned: drops Identity/Dropout, folds
 * BatchNormalization into Conv weights, and fuses residual/bias Adds and activations (Relu, Clip, LeakyRelu,
 * HardSigmoid, HardSwish, Sigmoid, x*Sigmoid(x)) into the Conv/Gemm/MatMul that produces their input. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "onnx_ir.h"

/* name -> producer / consumers. A name is "pinned" when something this pass cannot rewrite reads it:
 * a graph output or a subgraph (which may capture it by name). */
typedef struct ntab {
  size_t cap;
  const char **key;
  int *prod, *uses, *user, *init; /* init: index into the graph's initializers, then into opt.extra */
  unsigned char *pinned, *pinned_in; /* pinned_in: also a graph input, so a caller may replace it */
} ntab;

typedef struct opt {
  onnx_model_ir *ir;
  onnx_graph *g;
  int64_t opset;
  ntab t;
  unsigned char *dead;
  onnx_initializer *extra; /* initializers created by folding, appended at the end */
  int nextra, capextra;
  int changed;
  int owned_start; /* ir->owned entries from here on were allocated by this pass */
  struct opt *outer; /* the enclosing graph's pass, for a subgraph (its constants are visible here) */
} opt;

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static int nt_slot(ntab *t, const char *name, int insert) {
  size_t i = hash_name(name) & (t->cap - 1);
  while (t->key[i]) {
    if (!strcmp(t->key[i], name)) return (int)i;
    i = (i + 1) & (t->cap - 1);
  }
  if (!insert) return -1;
  t->key[i] = name;
  t->prod[i] = -1;
  t->user[i] = -1;
  t->init[i] = -1;
  return (int)i;
}

static void pin_sub_uses(ntab *t, const onnx_graph *sg) {
  for (int n = 0; n < sg->nnodes; n++) {
    const onnx_node *nd = &sg->nodes[n];
    for (int i = 0; i < nd->nin; i++)
      if (*nd->in_names[i]) {
        int s = nt_slot(t, nd->in_names[i], 0);
        if (s >= 0) t->pinned[s] = 1;
      }
    for (int a = 0; a < nd->nattr; a++)
      if (nd->attrs[a].type == ATTR_GRAPH && nd->attrs[a].g) pin_sub_uses(t, nd->attrs[a].g);
  }
  for (int o = 0; o < sg->noutputs; o++) {
    int s = nt_slot(t, sg->outputs[o].name, 0);
    if (s >= 0) t->pinned[s] = 1;
  }
}

static void build_table(opt *o) {
  ntab *t = &o->t;
  onnx_graph *g = o->g;
  memset(t->key, 0, t->cap * sizeof *t->key);
  memset(t->uses, 0, t->cap * sizeof *t->uses);
  memset(t->pinned, 0, t->cap);
  memset(t->pinned_in, 0, t->cap);
  for (int i = 0; i < g->ninit; i++) t->init[nt_slot(t, g->inits[i].name, 1)] = i;
  for (int i = 0; i < o->nextra; i++) t->init[nt_slot(t, o->extra[i].name, 1)] = g->ninit + i;
  for (int i = 0; i < g->ninputs; i++) {
    int s = nt_slot(t, g->inputs[i].name, 1);
    t->pinned[s] = t->pinned_in[s] = 1;
  }
  for (int n = 0; n < g->nnodes; n++) {
    if (o->dead[n]) continue;
    const onnx_node *nd = &g->nodes[n];
    for (int k = 0; k < nd->nout; k++)
      if (*nd->out_names[k]) t->prod[nt_slot(t, nd->out_names[k], 1)] = n;
  }
  for (int n = 0; n < g->nnodes; n++) {
    if (o->dead[n]) continue;
    const onnx_node *nd = &g->nodes[n];
    for (int i = 0; i < nd->nin; i++) {
      if (!*nd->in_names[i]) continue;
      int s = nt_slot(t, nd->in_names[i], 1);
      t->uses[s]++;
      t->user[s] = n;
    }
    for (int a = 0; a < nd->nattr; a++)
      if (nd->attrs[a].type == ATTR_GRAPH && nd->attrs[a].g) pin_sub_uses(t, nd->attrs[a].g);
  }
  for (int i = 0; i < g->noutputs; i++) t->pinned[nt_slot(t, g->outputs[i].name, 1)] = 1;
}

/* The node that alone reads `name` (a value nothing else can see), or -1. */
static int sole_user(opt *o, const char *name) {
  int s = nt_slot(&o->t, name, 0);
  if (s < 0 || o->t.pinned[s] || o->t.uses[s] != 1 || o->t.user[s] < 0 || o->dead[o->t.user[s]]) return -1;
  return o->t.user[s];
}

static int is_op(const onnx_node *nd, const char *op) {
  return (!*nd->domain || !strcmp(nd->domain, "ai.onnx")) && !strcmp(nd->op_type, op);
}

/* The constant tensor named `name`: an initializer (or one this pass made) that no caller can override. */
static const wm_onnx_tensor *const_any(opt *o, const char *name) {
  if (!*name) return NULL;
  int s = nt_slot(&o->t, name, 0);
  /* not defined in this subgraph: an outer scope's value, constant if it is one there (an If branch slicing and
   * concatenating the model's LSTM weights on every run, as silero VAD's do, folds to weights packed once) */
  if (o->outer && (s < 0 || (o->t.init[s] < 0 && o->t.prod[s] < 0 && !o->t.pinned_in[s]))) return const_any(o->outer, name);
  if (s < 0 || o->t.init[s] < 0 || o->t.pinned_in[s]) return NULL;
  int i = o->t.init[s];
  const wm_onnx_tensor *t = i < o->g->ninit ? &o->g->inits[i].t : &o->extra[i - o->g->ninit].t;
  return t->data || !t->nbytes ? t : NULL;
}

static const wm_onnx_tensor *const_float(opt *o, const char *name) {
  const wm_onnx_tensor *t = const_any(o, name);
  return t && t->dtype == WM_ONNX_FLOAT ? t : NULL;
}

/* Records a new initializer (data owned by the model or by another constant) and makes it visible to lookups. */
static int add_extra(opt *o, const char *name, const wm_onnx_tensor *t) {
  /* fixed capacity (sized for every fold a graph can have): lookups hand out pointers into this array */
  if (o->nextra == o->capextra) return -1;
  o->extra[o->nextra].name = name;
  o->extra[o->nextra].t = *t;
  o->extra[o->nextra].t.flags = 0;
  o->t.init[nt_slot(&o->t, name, 1)] = o->g->ninit + o->nextra;
  o->nextra++;
  return 0;
}

/* Sets input idx of node n, growing its input arrays (new slots are omitted inputs). */
static int set_input(opt *o, onnx_node *nd, int idx, const char *name) {
  if (idx >= nd->nin) {
    const char **nn = arena_alloc(&o->ir->arena, (size_t)(idx + 2) * sizeof *nn);
    int *ni = arena_alloc(&o->ir->arena, (size_t)(idx + 2) * sizeof *ni);
    if (!nn || !ni) return -1;
    for (int i = 0; i <= idx; i++) nn[i] = i < nd->nin ? nd->in_names[i] : "";
    nd->in_names = nn;
    nd->in = ni;
    nd->nin = idx + 1;
  }
  nd->in_names[idx] = name;
  return 0;
}

/* The producer p takes over consumer c's (first) output name; c dies. */
static void absorb(opt *o, int p, int c) {
  onnx_node *pn = &o->g->nodes[p], *cn = &o->g->nodes[c];
  pn->out_names[0] = cn->out_names[0];
  o->t.prod[nt_slot(&o->t, cn->out_names[0], 1)] = p;
  o->dead[c] = 1;
  o->changed = 1;
}

static int only_first_output(const onnx_node *nd, opt *o) {
  for (int k = 1; k < nd->nout; k++) {
    if (!*nd->out_names[k]) continue;
    int s = nt_slot(&o->t, nd->out_names[k], 0);
    if (s >= 0 && (o->t.uses[s] || o->t.pinned[s])) return 0;
  }
  return nd->nout >= 1 && *nd->out_names[0];
}

static int remember(opt *o, void *p) { return onnx_ir_own(o->ir, p); }

/* New float initializer owned by the model; returns its name or NULL. */
static const char *new_init(opt *o, const char *base, const char *suffix, int ndim, const int64_t *dims, float **data) {
  size_t bl = strlen(base), sl = strlen(suffix);
  char *name = arena_alloc(&o->ir->arena, bl + sl + 8);
  if (!name) return NULL;
  memcpy(name, base, bl);
  memcpy(name + bl, "/wm_", 4);
  memcpy(name + bl + 4, suffix, sl + 1);
  wm_onnx_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = WM_ONNX_FLOAT;
  t.ndim = ndim;
  for (int d = 0; d < ndim; d++) t.dims[d] = dims[d];
  t.nbytes = (size_t)numel_of(ndim, dims) * sizeof(float);
  t.data = malloc(t.nbytes ? t.nbytes : 4);
  if (!t.data || remember(o, t.data)) { free(t.data); return NULL; }
  if (add_extra(o, name, &t)) return NULL;
  *data = t.data;
  return name;
}

static int is_graph_output(const onnx_graph *g, const char *name) {
  for (int i = 0; i < g->noutputs; i++)
    if (!strcmp(g->outputs[i].name, name)) return 1;
  return 0;
}

/* Constant nodes holding a tensor become initializers: kernels then see them as constants (weights packed once,
 * folds apply) and nothing is copied per run. */
static void constants_to_inits(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *nd = &g->nodes[n];
    if (o->dead[n] || !is_op(nd, "Constant") || nd->nattr != 1 || nd->nout != 1 || !*nd->out_names[0]) continue;
    const onnx_attr *v = attr_find(nd, "value");
    if (!v || v->type != ATTR_TENSOR || !v->t || v->t->dtype == WM_ONNX_STRING || (!v->t->data && v->t->nbytes)) continue;
    int s = nt_slot(&o->t, nd->out_names[0], 0);
    /* a value subgraphs read stays visible to them as an initializer; one the graph returns stays a node */
    if (s < 0 || o->t.pinned_in[s] || is_graph_output(g, nd->out_names[0])) continue;
    if (add_extra(o, nd->out_names[0], v->t)) return;
    o->dead[n] = 1;
    o->changed = 1;
  }
}

/* Nodes whose inputs are all constants run once here and their outputs become initializers (shape arithmetic,
 * weight reshapes and slices), as long as the results stay small. */
#define FOLD_MAX_BYTES ((size_t)16 << 20)
static void fold_constants(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *nd = &g->nodes[n];
    if (o->dead[n] || nd->nin < 1 || nd->nout < 1 || nd->nout > 8 || nd->nin > 16) continue;
    if (*nd->domain && strcmp(nd->domain, "ai.onnx")) continue;
    if (is_op(nd, "If") || is_op(nd, "Loop") || is_op(nd, "Scan") || !strncmp(nd->op_type, "Random", 6) ||
        is_op(nd, "Bernoulli") || is_op(nd, "Multinomial"))
      continue;
    int ok = 1;
    for (int a = 0; a < nd->nattr && ok; a++) ok = nd->attrs[a].type != ATTR_GRAPH && nd->attrs[a].type != ATTR_GRAPHS;
    const wm_onnx_tensor *in[16];
    int any = 0;
    for (int i = 0; i < nd->nin && ok; i++) {
      in[i] = NULL;
      if (!*nd->in_names[i]) continue;
      ok = (in[i] = const_any(o, nd->in_names[i])) != NULL;
      any = 1;
    }
    for (int k = 0; k < nd->nout && ok; k++) { /* outputs read by subgraphs or returned stay as they are */
      int s = *nd->out_names[k] ? nt_slot(&o->t, nd->out_names[k], 0) : -1;
      ok = s < 0 || !o->t.pinned[s];
    }
    onnx_kernel_fn fn = ok && any ? onnx_find_kernel_domain(nd->domain, nd->op_type) : NULL;
    if (!fn) continue;
    wm_onnx_tensor outs[8];
    wm_onnx_tensor *outp[8];
    const wm_onnx_tensor *inp[16] = {0};
    memset(outs, 0, sizeof outs);
    for (int k = 0; k < 8; k++) outp[k] = &outs[k];
    for (int i = 0; i < nd->nin; i++) inp[i] = in[i];
    char kerr[256];
    nd->opset = (int)o->opset;
    onnx_kernel_ctx kc = {nd, nd->opset, nd->nin, nd->nout, inp, outp, kerr, sizeof kerr, 0xffffffffu, NULL, 0};
    int rc = fn(&kc);
    size_t total = 0;
    for (int k = 0; k < nd->nout; k++) total += outs[k].nbytes;
    for (int k = 0; !rc && k < nd->nout; k++) rc = outs[k].dtype == WM_ONNX_STRING;
    if (rc || total > FOLD_MAX_BYTES) {
      for (int k = 0; k < 8; k++) wm_onnx_tensor_free(&outs[k]);
      continue;
    }
    int fail = 0;
    for (int k = 0; k < nd->nout; k++) {
      if (!*nd->out_names[k]) { wm_onnx_tensor_free(&outs[k]); continue; }
      if ((outs[k].flags & WM_ONNX_TENSOR_OWNED) && remember(o, outs[k].data)) { wm_onnx_tensor_free(&outs[k]); fail = 1; continue; }
      if (fail || add_extra(o, nd->out_names[k], &outs[k])) fail = 1;
    }
    for (int k = nd->nout; k < 8; k++) wm_onnx_tensor_free(&outs[k]);
    if (fail) return;
    o->dead[n] = 1;
    o->changed = 1;
  }
}

/* Conv -> BatchNormalization with constant parameters: scale W and shift B per output channel. */
static void fold_bn(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *cv = &g->nodes[n];
    /* ConvTranspose (one group) has W as [C, M, k...]: the output channel is W's second axis */
    int tr = is_op(cv, "ConvTranspose");
    if (o->dead[n] || !(is_op(cv, "Conv") || (tr && attr_int(cv, "group", 1) == 1)) || cv->nin < 2 || cv->nin > 3 ||
        cv->fuse_act || cv->fuse_res || !only_first_output(cv, o))
      continue;
    int b = sole_user(o, cv->out_names[0]);
    if (b < 0) continue;
    onnx_node *bn = &g->nodes[b];
    if (!is_op(bn, "BatchNormalization") || bn->nin != 5 || strcmp(bn->in_names[0], cv->out_names[0]) ||
        !only_first_output(bn, o) || attr_int(bn, "training_mode", 0) != 0 || attr_int(bn, "spatial", 1) != 1)
      continue;
    const wm_onnx_tensor *w = const_float(o, cv->in_names[1]), *cb = cv->nin > 2 ? const_float(o, cv->in_names[2]) : NULL;
    if (!w || w->ndim < 3 || (cv->nin > 2 && *cv->in_names[2] && !cb)) continue;
    int64_t M = w->dims[tr ? 1 : 0], per = 1, C = tr ? w->dims[0] : 1;
    for (int d = 2; d < w->ndim; d++) per *= w->dims[d];
    if (!tr) per *= w->dims[1];
    const wm_onnx_tensor *p[4];
    int ok = 1;
    for (int i = 0; i < 4; i++) {
      p[i] = const_float(o, bn->in_names[1 + i]);
      ok &= p[i] && (int64_t)(p[i]->nbytes / sizeof(float)) == M;
    }
    if (!ok || (cb && (int64_t)(cb->nbytes / sizeof(float)) != M)) continue;
    double eps = attr_float(bn, "epsilon", 1e-5f);
    float *nw, *nb;
    const char *wn = new_init(o, cv->out_names[0], "W", w->ndim, w->dims, &nw);
    const char *bnm = wn ? new_init(o, cv->out_names[0], "B", 1, &M, &nb) : NULL;
    if (!wn || !bnm) return;
    const float *sc = p[0]->data, *sh = p[1]->data, *mu = p[2]->data, *var = p[3]->data, *ow = w->data;
    for (int64_t m = 0; m < M; m++) {
      double s = sc[m] / sqrt((double)var[m] + eps);
      for (int64_t c = 0; c < C; c++) /* C = 1 for Conv: W is [M, per] */
        for (int64_t i = 0; i < per; i++) nw[(c * M + m) * per + i] = (float)(ow[(c * M + m) * per + i] * s);
      nb[m] = (float)(((cb ? ((const float *)cb->data)[m] : 0.0) - mu[m]) * s + sh[m]);
    }
    if (set_input(o, cv, 1, wn) || set_input(o, cv, 2, bnm)) return;
    absorb(o, n, b);
  }
}

/* A copy of Conv weights/bias this pass may scale in place: a tensor it created itself, or a fresh copy. */
static float *writable(opt *o, onnx_node *cv, int idx, const wm_onnx_tensor *t, int64_t M, const char *suffix) {
  for (int i = o->owned_start; t && i < o->ir->nowned; i++) /* memory this pass allocated (not the model's) */
    if (o->ir->owned[i] == t->data) return t->data;
  float *d;
  const char *nm = t ? new_init(o, cv->out_names[0], suffix, t->ndim, t->dims, &d)
                     : new_init(o, cv->out_names[0], suffix, 1, &M, &d);
  if (!nm || set_input(o, cv, idx, nm)) return NULL;
  if (t) memcpy(d, t->data, t->nbytes);
  else for (int64_t m = 0; m < M; m++) d[m] = 0;
  return d;
}

/* c broadcast against a Conv output of rank r and M channels: 1 = one scalar, 2 = one value per channel. */
static int per_channel(const wm_onnx_tensor *c, int r, int64_t M) {
  int64_t n = (int64_t)(c->nbytes / sizeof(float));
  if (c->ndim > r) return 0;
  if (n == 1) return 1;
  if (n != M) return 0;
  int ax = 1 - (r - c->ndim); /* where the channel axis lands in c's dims */
  if (ax < 0) return 0;
  for (int d = 0; d < c->ndim; d++)
    if (c->dims[d] != (d == ax ? M : 1)) return 0;
  return 2;
}

/* Conv -> Mul(y, c) / Add(y, c) with constant scalar or per-channel c: scale W and B, or shift B. */
static void fold_affine(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *cv = &g->nodes[n];
    if (o->dead[n] || !is_op(cv, "Conv") || cv->nin < 2 || cv->nin > 3 || cv->fuse_act || cv->fuse_res ||
        !only_first_output(cv, o))
      continue;
    for (;;) {
      int u = sole_user(o, cv->out_names[0]);
      if (u < 0) break;
      onnx_node *un = &g->nodes[u];
      int mul = is_op(un, "Mul");
      if ((!mul && !is_op(un, "Add")) || un->nin != 2 || !only_first_output(un, o)) break;
      int mine = !strcmp(un->in_names[0], cv->out_names[0]) ? 0 : 1;
      const wm_onnx_tensor *w = const_float(o, cv->in_names[1]), *c = const_float(o, un->in_names[1 - mine]);
      const wm_onnx_tensor *b = cv->nin > 2 && *cv->in_names[2] ? const_float(o, cv->in_names[2]) : NULL;
      if (!w || !c || w->ndim < 3 || (cv->nin > 2 && *cv->in_names[2] && !b)) break;
      int64_t M = w->dims[0];
      int kind = per_channel(c, w->ndim, M);
      if (!kind || (b && (int64_t)(b->nbytes / sizeof(float)) != M)) break;
      const float *cv_ = c->data;
      float *nb = writable(o, cv, 2, b, M, "B");
      if (!nb) return;
      if (mul) {
        float *nw = writable(o, cv, 1, w, M, "W");
        if (!nw) return;
        int64_t per = (int64_t)(w->nbytes / sizeof(float)) / (M ? M : 1);
        for (int64_t m = 0; m < M; m++) {
          float f = cv_[kind == 1 ? 0 : m];
          for (int64_t i = 0; i < per; i++) nw[m * per + i] *= f;
          nb[m] *= f;
        }
      } else
        for (int64_t m = 0; m < M; m++) nb[m] += cv_[kind == 1 ? 0 : m];
      absorb(o, n, u);
    }
  }
}

static int activation_of(opt *o, const onnx_node *nd, int *act, float *p0, float *p1);

static int const_scalar_is(opt *o, const char *name, float want, float tol) {
  const wm_onnx_tensor *t = const_float(o, name);
  return t && t->nbytes == sizeof(float) && fabsf(*(const float *)t->data - want) <= tol;
}

/* The other operand of binary node nd when one operand is `x`, or NULL. */
static const char *other_input(const onnx_node *nd, const char *x) {
  if (nd->nin != 2) return NULL;
  if (!strcmp(nd->in_names[0], x)) return nd->in_names[1];
  if (!strcmp(nd->in_names[1], x)) return nd->in_names[0];
  return NULL;
}

/* How many of node un's inputs are the value y. */
static int reads_of(const onnx_node *un, const char *y) {
  int n = 0;
  for (int i = 0; i < un->nin; i++) n += !strcmp(un->in_names[i], y);
  return n;
}

/* x * 0.5 * (1 + Erf(x / sqrt 2)), as PyTorch exports GELU: Div -> Erf -> Add(1) -> Mul(x, .) -> Mul(0.5).
 * Returns the final node (its output becomes the producer's) and marks the others dead, or -1. */
static int match_gelu(opt *o, const char *y) {
  onnx_graph *g = o->g;
  int dv = -1, mul = -1;
  for (int u = 0; u < g->nnodes; u++) {
    if (o->dead[u]) continue;
    const onnx_node *un = &g->nodes[u];
    int reads = reads_of(un, y);
    if (!reads) continue;
    if (reads != 1) return -1;
    if (is_op(un, "Div") && un->nin == 2 && !strcmp(un->in_names[0], y)) dv = u;
    else if (is_op(un, "Mul") && un->nin == 2) mul = u;
    else return -1;
  }
  if (dv < 0 || mul < 0 || !const_scalar_is(o, g->nodes[dv].in_names[1], 1.41421356f, 1e-5f)) return -1;
  int er = sole_user(o, g->nodes[dv].out_names[0]);
  if (er < 0 || !is_op(&g->nodes[er], "Erf")) return -1;
  int ad = sole_user(o, g->nodes[er].out_names[0]);
  if (ad < 0 || !is_op(&g->nodes[ad], "Add")) return -1;
  const char *one = other_input(&g->nodes[ad], g->nodes[er].out_names[0]);
  if (!one || !const_scalar_is(o, one, 1.0f, 0.0f) || sole_user(o, g->nodes[ad].out_names[0]) != mul) return -1;
  if (!other_input(&g->nodes[mul], g->nodes[ad].out_names[0])) return -1;
  int half = sole_user(o, g->nodes[mul].out_names[0]);
  if (half < 0 || !is_op(&g->nodes[half], "Mul")) return -1;
  const char *h = other_input(&g->nodes[half], g->nodes[mul].out_names[0]);
  if (!h || !const_scalar_is(o, h, 0.5f, 0.0f)) return -1;
  int nodes[4] = {dv, er, ad, mul};
  for (int i = 0; i < 4; i++)
    if (!only_first_output(&g->nodes[nodes[i]], o)) return -1;
  if (!only_first_output(&g->nodes[half], o)) return -1;
  for (int i = 0; i < 4; i++) o->dead[nodes[i]] = 1;
  return half;
}

/* x * Clip(x + 3, 0, 6) / 6 (or * 1/6), and x * HardSigmoid(x) with alpha 1/6, beta 1/2: HardSwish. Returns the
 * node whose output becomes the producer's, or -1; marks the other pattern nodes dead. */
static int match_hardswish(opt *o, const char *y) {
  onnx_graph *g = o->g;
  int add = -1, mul = -1, hsig = -1;
  for (int u = 0; u < g->nnodes; u++) {
    if (o->dead[u]) continue;
    const onnx_node *un = &g->nodes[u];
    int reads = reads_of(un, y);
    if (!reads) continue;
    if (reads != 1) return -1;
    if (is_op(un, "Add") && un->nin == 2) add = u;
    else if (is_op(un, "Mul") && un->nin == 2) mul = u;
    else if (is_op(un, "HardSigmoid") && un->nin == 1) hsig = u;
    else return -1;
  }
  if (mul < 0 || (add < 0) == (hsig < 0)) return -1;
  const onnx_node *mn = &g->nodes[mul];
  const char *gate = strcmp(mn->in_names[0], y) ? mn->in_names[0] : mn->in_names[1];
  if (!only_first_output(mn, o)) return -1;
  if (hsig >= 0) {
    const onnx_node *h = &g->nodes[hsig];
    float a = attr_float(h, "alpha", 0.2f), b = attr_float(h, "beta", 0.5f);
    if (fabsf(a - 1.0f / 6.0f) > 1e-6f || b != 0.5f || strcmp(h->out_names[0], gate) || sole_user(o, gate) != mul ||
        !only_first_output(h, o))
      return -1;
    o->dead[hsig] = 1;
    return mul;
  }
  const onnx_node *an = &g->nodes[add];
  const wm_onnx_tensor *three = const_float(o, strcmp(an->in_names[0], y) ? an->in_names[0] : an->in_names[1]);
  if (!three || three->nbytes != sizeof(float) || *(const float *)three->data != 3.0f || !only_first_output(an, o)) return -1;
  int cl = sole_user(o, an->out_names[0]);
  if (cl < 0 || !is_op(&g->nodes[cl], "Clip") || !only_first_output(&g->nodes[cl], o)) return -1;
  int act;
  float lo, hi;
  if (!activation_of(o, &g->nodes[cl], &act, &lo, &hi) || lo != 0.0f || hi != 6.0f ||
      strcmp(g->nodes[cl].in_names[0], an->out_names[0]) || strcmp(g->nodes[cl].out_names[0], gate) ||
      sole_user(o, gate) != mul)
    return -1;
  int d = sole_user(o, mn->out_names[0]);
  if (d < 0 || !only_first_output(&g->nodes[d], o)) return -1;
  const onnx_node *dn = &g->nodes[d];
  int div = is_op(dn, "Div");
  if ((!div && !is_op(dn, "Mul")) || dn->nin != 2) return -1;
  int mi = !strcmp(dn->in_names[0], mn->out_names[0]) ? 0 : 1;
  if (div && mi != 0) return -1;
  const wm_onnx_tensor *k6 = const_float(o, dn->in_names[1 - mi]);
  if (!k6 || k6->nbytes != sizeof(float)) return -1;
  float kv = *(const float *)k6->data;
  if (div ? kv != 6.0f : fabsf(kv - 1.0f / 6.0f) > 1e-7f) return -1;
  o->dead[add] = o->dead[cl] = o->dead[mul] = 1;
  return d;
}

/* Identity and inference-mode Dropout: readers of the output read the input instead. */
static void drop_identity(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *nd = &g->nodes[n];
    if (o->dead[n] || nd->nin < 1 || !*nd->in_names[0] || !only_first_output(nd, o)) continue;
    if (!is_op(nd, "Identity") && !(is_op(nd, "Dropout") && (nd->nin == 1 || (nd->nin >= 3 && !*nd->in_names[2]))))
      continue;
    int s = nt_slot(&o->t, nd->out_names[0], 0);
    if (s < 0 || o->t.pinned[s]) continue;
    const char *from = nd->out_names[0], *to = nd->in_names[0];
    for (int u = 0; u < g->nnodes; u++) {
      if (o->dead[u]) continue;
      onnx_node *un = &g->nodes[u];
      for (int i = 0; i < un->nin; i++)
        if (!strcmp(un->in_names[i], from)) un->in_names[i] = to;
    }
    int ts = nt_slot(&o->t, to, 1);
    o->t.uses[ts] += o->t.uses[s] - 1;
    if (o->t.uses[s] == 1) o->t.user[ts] = o->t.user[s];
    o->dead[n] = 1;
    o->changed = 1;
  }
}

/* A MatMul whose weights are a constant float matrix (so the float kernel, which can fuse, runs it). */
static int fusable_matmul(opt *o, const onnx_node *nd) {
  if (!is_op(nd, "MatMul") || nd->nin != 2) return 0;
  const wm_onnx_tensor *w = const_float(o, nd->in_names[1]);
  return w && w->ndim == 2;
}

/* Conv -> Add(y, r) becomes Conv with r added in its epilogue; MatMul(x, W) -> Add(y, b) likewise. */
static void fuse_add(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *pn = &g->nodes[n];
    int conv = is_op(pn, "Conv");
    if (o->dead[n] || pn->fuse_act || pn->fuse_res || !(conv || fusable_matmul(o, pn)) || !only_first_output(pn, o)) continue;
    int a = sole_user(o, pn->out_names[0]);
    if (a < 0) continue;
    onnx_node *an = &g->nodes[a];
    if (!is_op(an, "Add") || an->nin != 2 || !only_first_output(an, o)) continue;
    int mine = !strcmp(an->in_names[0], pn->out_names[0]) ? 0 : 1;
    const char *other = an->in_names[1 - mine];
    if (!strcmp(other, pn->out_names[0]) || !*other) continue;
    int idx = conv ? 3 : 2;
    if (conv && pn->nin < 3 && set_input(o, pn, 2, "")) return;
    if (set_input(o, pn, idx, other)) return;
    pn->fuse_res = idx;
    int os = nt_slot(&o->t, other, 1);
    if (o->t.user[os] == a) o->t.user[os] = n;
    absorb(o, n, a);
  }
}

static int read_scalar(opt *o, const onnx_node *nd, int i, float *v) {
  if (i >= nd->nin || !*nd->in_names[i]) return 1; /* omitted: keep the default */
  const wm_onnx_tensor *t = const_float(o, nd->in_names[i]);
  if (!t || t->nbytes != sizeof(float)) return 0;
  *v = *(const float *)t->data;
  return 1;
}

/* Activation node -> (act, p0, p1); 0 when not fusable. */
static int activation_of(opt *o, const onnx_node *nd, int *act, float *p0, float *p1) {
  *p0 = *p1 = 0;
  if (is_op(nd, "Relu")) *act = ACT_RELU;
  else if (is_op(nd, "LeakyRelu")) { *act = ACT_LEAKY; *p0 = attr_float(nd, "alpha", 0.01f); }
  else if (is_op(nd, "HardSigmoid")) { *act = ACT_HSIGMOID; *p0 = attr_float(nd, "alpha", 0.2f); *p1 = attr_float(nd, "beta", 0.5f); }
  else if (is_op(nd, "HardSwish")) *act = ACT_HSWISH;
  else if (is_op(nd, "Sigmoid")) *act = ACT_SIGMOID;
  else if (is_op(nd, "Clip")) {
    *act = ACT_CLIP;
    *p0 = -FLT_MAX;
    *p1 = FLT_MAX;
    if (o->opset < 11) {
      *p0 = attr_float(nd, "min", -FLT_MAX);
      *p1 = attr_float(nd, "max", FLT_MAX);
    } else if (!read_scalar(o, nd, 1, p0) || !read_scalar(o, nd, 2, p1)) return 0;
    if (!(*p0 <= *p1)) return 0; /* min > max (or NaN bounds) keeps Clip's own rule */
  } else return 0;
  return 1;
}

static void fuse_activation(opt *o) {
  onnx_graph *g = o->g;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *pn = &g->nodes[n];
    if (o->dead[n] || pn->fuse_act || !only_first_output(pn, o)) continue;
    if (!is_op(pn, "Conv") && !is_op(pn, "Gemm") && !fusable_matmul(o, pn) &&
        !(is_op(pn, "MatMul") && pn->fuse_res)) continue;
    const char *y = pn->out_names[0];
    int s = nt_slot(&o->t, y, 0);
    if (s < 0 || o->t.pinned[s]) continue;
    int act;
    float p0, p1;
    if (o->t.uses[s] == 1) {
      int a = o->t.user[s];
      if (a < 0 || o->dead[a]) continue;
      onnx_node *an = &g->nodes[a];
      if (an->nin < 1 || strcmp(an->in_names[0], y) || !only_first_output(an, o) || !activation_of(o, an, &act, &p0, &p1))
        continue;
      pn->fuse_act = act, pn->fuse_p0 = p0, pn->fuse_p1 = p1;
      absorb(o, n, a);
    } else if (o->t.uses[s] == 2 && (act = match_gelu(o, y)) >= 0) {
      pn->fuse_act = ACT_GELU;
      absorb(o, n, act);
    } else if (o->t.uses[s] == 2 && (act = match_hardswish(o, y)) >= 0) {
      pn->fuse_act = ACT_HSWISH;
      absorb(o, n, act);
    } else if (o->t.uses[s] == 2) { /* y * Sigmoid(y) */
      int sg = -1, mul = -1;
      for (int u = 0; u < g->nnodes; u++) {
        if (o->dead[u]) continue;
        const onnx_node *un = &g->nodes[u];
        int reads = reads_of(un, y);
        if (!reads) continue;
        if (is_op(un, "Sigmoid") && reads == 1) sg = u;
        else if (is_op(un, "Mul") && un->nin == 2 && reads == 1) mul = u;
      }
      if (sg < 0 || mul < 0 || !only_first_output(&g->nodes[sg], o) || !only_first_output(&g->nodes[mul], o)) continue;
      const char *sy = g->nodes[sg].out_names[0];
      const onnx_node *mn = &g->nodes[mul];
      if (sole_user(o, sy) != mul || (strcmp(mn->in_names[0], sy) && strcmp(mn->in_names[1], sy))) continue;
      pn->fuse_act = ACT_SILU;
      o->dead[sg] = 1;
      absorb(o, n, mul);
    }
  }
}

static int optimize_graph(onnx_model_ir *ir, onnx_graph *g, opt *outer) {
  if (!g || g->nnodes == 0) return 0;
  opt o;
  memset(&o, 0, sizeof o);
  o.ir = ir;
  o.g = g;
  o.outer = outer;
  o.owned_start = ir->nowned;
  o.opset = 1;
  for (int i = 0; i < ir->nopsets; i++)
    if (!*ir->opsets[i].domain || !strcmp(ir->opsets[i].domain, "ai.onnx")) o.opset = ir->opsets[i].version;
  size_t names = (size_t)g->ninit + (size_t)g->ninputs + (size_t)g->noutputs + 1;
  for (int n = 0; n < g->nnodes; n++) names += (size_t)g->nodes[n].nin + (size_t)g->nodes[n].nout;
  o.t.cap = 64;
  while (o.t.cap < names * 4) o.t.cap *= 2; /* room for the names folds add */
  o.t.key = calloc(o.t.cap, sizeof *o.t.key);
  o.t.prod = calloc(o.t.cap, sizeof(int));
  o.t.uses = calloc(o.t.cap, sizeof(int));
  o.t.user = calloc(o.t.cap, sizeof(int));
  o.t.init = calloc(o.t.cap, sizeof(int));
  o.t.pinned = calloc(o.t.cap, 1);
  o.t.pinned_in = calloc(o.t.cap, 1);
  o.dead = calloc((size_t)g->nnodes, 1);
  size_t outs = 0;
  for (int n = 0; n < g->nnodes; n++) outs += (size_t)g->nodes[n].nout;
  o.capextra = (int)(4 * (size_t)g->nnodes + outs + 16); /* Constant/fold results, 2 per BN/affine fold */
  o.extra = calloc((size_t)o.capextra, sizeof *o.extra);
  int rc = -1;
  if (!o.t.key || !o.t.prod || !o.t.uses || !o.t.user || !o.t.init || !o.t.pinned || !o.t.pinned_in || !o.dead || !o.extra) goto done;
  build_table(&o);
  constants_to_inits(&o);
  fold_constants(&o);
  drop_identity(&o);
  fold_bn(&o);
  build_table(&o);
  fold_affine(&o);
  build_table(&o);
  fuse_add(&o);
  build_table(&o);
  fuse_activation(&o);
  if (o.nextra) {
    onnx_initializer *ni = arena_alloc(&ir->arena, (size_t)(g->ninit + o.nextra) * sizeof *ni);
    if (!ni) goto done;
    memcpy(ni, g->inits, (size_t)g->ninit * sizeof *ni);
    memcpy(ni + g->ninit, o.extra, (size_t)o.nextra * sizeof *ni);
    g->inits = ni;
    g->ninit += o.nextra;
  }
  if (o.changed) {
    int w = 0;
    for (int n = 0; n < g->nnodes; n++)
      if (!o.dead[n]) g->nodes[w++] = g->nodes[n];
    g->nnodes = w;
  }
  rc = 0;
  for (int n = 0; n < g->nnodes && !rc; n++) /* If/Loop/Scan bodies, where some models keep all their work */
    for (int a = 0; a < g->nodes[n].nattr && !rc; a++)
      if (g->nodes[n].attrs[a].type == ATTR_GRAPH && g->nodes[n].attrs[a].g)
        rc = optimize_graph(ir, g->nodes[n].attrs[a].g, &o);
done:
  free(o.t.key);
  free(o.t.prod);
  free(o.t.uses);
  free(o.t.user);
  free(o.t.init);
  free(o.t.pinned);
  free(o.t.pinned_in);
  free(o.dead);
  free(o.extra);
  return rc;
}

int onnx_optimize(onnx_model_ir *ir) {
  const char *e = getenv("WM_ONNX_NO_OPT"); /* comparing against the unoptimised graph */
  if (e && *e && *e != '0') return 0;
  return optimize_graph(ir, ir->graph, NULL);
}
