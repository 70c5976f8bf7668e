/* infer.c — load-time type and shape inference: the element type and shape of every value (dims known or
 * symbolic, such as `batch`), and the values of small integer tensors so Shape -> Gather -> Concat -> Reshape
 * chains resolve. A provably inconsistent graph (an int64 added to a float, dims that cannot broadcast) fails to
 * load with the node named; an operator without a rule only leaves its outputs unknown. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "onnx_ir.h"

#define MAXD WM_ONNX_MAX_DIMS
#define KNOWN(v) (!ONNX_IS_SYM(v))

typedef struct istate {
  wm_onnx_model *root;
  int *named; /* hash set of the ids of named symbols (dim_params) */
  size_t cap;
  int nnamed, nomem;
  char *err;
  size_t errlen;
} istate;

typedef struct ictx {
  istate *s;
  wm_onnx_model *m;
  const onnx_node *nd;
  int ni;
  /* The root graph's inconsistencies are load errors. A subgraph's are not: it may run on some paths only, and a
   * Loop body sees values whose shapes change from one iteration to the next. */
  int strict;
  onnx_vtype scratch; /* where omitted outputs go */
} ictx;

/* ---- symbols ---- */
static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static int64_t add_sym(ictx *c, const char *name) {
  wm_onnx_model *r = c->s->root;
  if (r->nsyms == r->capsyms) {
    int cap = r->capsyms ? r->capsyms * 2 : 64;
    onnx_sym *ns = cap > 0 ? realloc(r->syms, (size_t)cap * sizeof *ns) : NULL;
    if (!ns) { c->s->nomem = 1; return 0; }
    r->syms = ns;
    r->capsyms = cap;
  }
  int id = r->nsyms;
  r->syms[id].named = name != NULL;
  if (!name) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "unk__%d", id);
    if (!(name = arena_strndup(&r->ir.arena, buf, (size_t)n))) { c->s->nomem = 1; return 0; }
  }
  r->syms[id].name = name;
  r->nsyms++;
  return ONNX_SYM(id);
}

/* A new symbol: a value inference cannot tell, the same wherever it is passed on. */
static int64_t fresh(ictx *c) { return add_sym(c, NULL); }

/* The symbol of a dim_param: every `batch` of the model is one symbol. */
static int64_t named(ictx *c, const char *name) {
  istate *s = c->s;
  if ((size_t)s->nnamed * 2 >= s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    int *slots = malloc(cap * sizeof *slots);
    if (!slots) { s->nomem = 1; return 0; }
    memset(slots, 0xff, cap * sizeof *slots);
    for (size_t i = 0; i < s->cap; i++)
      if (s->named[i] >= 0) {
        size_t j = hash_name(s->root->syms[s->named[i]].name) & (cap - 1);
        while (slots[j] >= 0) j = (j + 1) & (cap - 1);
        slots[j] = s->named[i];
      }
    free(s->named);
    s->named = slots;
    s->cap = cap;
  }
  size_t j = hash_name(name) & (s->cap - 1);
  for (; s->named[j] >= 0; j = (j + 1) & (s->cap - 1))
    if (!strcmp(s->root->syms[s->named[j]].name, name)) return ONNX_SYM(s->named[j]);
  int64_t v = add_sym(c, name);
  if (!s->nomem) s->named[j] = ONNX_SYM_ID(v), s->nnamed++;
  return v;
}

static int anonymous(const ictx *c, int64_t v) { return ONNX_IS_SYM(v) && !c->s->root->syms[ONNX_SYM_ID(v)].named; }

/* ---- messages ---- */
static void append(char *buf, size_t len, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *o, const char *fmt, ...) {
  if (*o >= len) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *o, len - *o, fmt, ap);
  va_end(ap);
  *o = n < 0 ? len : *o + (size_t)n;
}

void onnx_format_dims(const wm_onnx_model *m, int ndim, const int64_t *dims, char *buf, size_t len) {
  while (m->parent) m = m->parent;
  size_t o = 0;
  if (!len) return;
  buf[0] = 0;
  if (ndim < 0 || ndim > MAXD) { append(buf, len, &o, "?"); return; }
  append(buf, len, &o, "[");
  for (int d = 0; d < ndim; d++) {
    int64_t v = dims[d];
    int id = ONNX_IS_SYM(v) ? ONNX_SYM_ID(v) : -1;
    if (id < 0) append(buf, len, &o, "%s%lld", d ? "," : "", (long long)v);
    else append(buf, len, &o, "%s%s", d ? "," : "", id < m->nsyms && m->syms[id].named ? m->syms[id].name : "?");
  }
  append(buf, len, &o, "]");
}

static const char *shape_str(ictx *c, const onnx_vtype *t, char *buf, size_t len) {
  onnx_format_dims(c->m, t->ndim, t->dims, buf, len);
  return buf;
}

/* Reports an inconsistency of the current node; returns -1. Only the root graph's become load errors. */
static int bad(ictx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(ictx *c, const char *fmt, ...) {
  if (!c->strict || !c->s->err || !c->s->errlen) return -1;
  const onnx_node *nd = c->nd;
  size_t o = 0;
  if (*nd->name) append(c->s->err, c->s->errlen, &o, "node '%s' (%s): ", nd->name, nd->op_type);
  else append(c->s->err, c->s->errlen, &o, "node %s producing '%s': ", nd->op_type, nd->nout ? nd->out_names[0] : "");
  if (o < c->s->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->s->err + o, c->s->errlen - o, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- types of a node's inputs and outputs ---- */
static void unknown(onnx_vtype *t) {
  t->dtype = 0;
  t->ndim = -1;
  t->nvals = -1;
}

static const onnx_vtype *tin(ictx *c, int i) {
  return i < c->nd->nin && c->nd->in[i] >= 0 ? &c->m->types[c->nd->in[i]] : NULL;
}
static onnx_vtype *tout(ictx *c, int k) {
  return k < c->nd->nout && c->nd->out[k] >= 0 ? &c->m->types[c->nd->out[k]] : &c->scratch;
}
/* Input i's tensor when it is a model constant (an initializer no caller can replace), else NULL. */
static const wm_onnx_tensor *cin(ictx *c, int i) {
  if (i >= c->nd->nin || c->nd->in[i] < 0) return NULL;
  const onnx_value *v = &c->m->values[c->nd->in[i]];
  return v->kind == VAL_INIT && !v->decl ? &v->init : NULL;
}

/* Constants so negative they would read as symbols mean "before the start" (Slice ends of INT64_MIN). */
static int64_t clampv(int64_t v) { return KNOWN(v) ? v : INT64_MIN / 2; }

/* Whole numbers of a small constant (integers, bools, or floats holding integers): count, or -1. */
static int const_ints(const wm_onnx_tensor *t, int64_t *out, int max) {
  int64_t n = wm_onnx_numel(t);
  if (n < 0 || n > max || (n && !t->data) || t->nbytes < (size_t)n * wm_onnx_dtype_size(t->dtype)) return -1;
  for (int64_t i = 0; i < n; i++) {
    if (is_int_type(t->dtype) || t->dtype == WM_ONNX_BOOL) out[i] = clampv(tget_i64(t, i));
    else if (is_float_type(t->dtype)) {
      double v = tget(t, i);
      if (v != floor(v) || fabs(v) > 9e15) return -1;
      out[i] = (int64_t)v;
    } else return -1;
  }
  return (int)n;
}

static void from_tensor(onnx_vtype *t, const wm_onnx_tensor *x) {
  t->dtype = x->dtype;
  t->ndim = x->ndim >= 0 && x->ndim <= MAXD ? x->ndim : -1;
  for (int d = 0; d < t->ndim; d++) t->dims[d] = x->dims[d];
  t->nvals = x->ndim <= 1 ? const_ints(x, t->vals, MAXD) : -1;
}

static int64_t decl_dim(ictx *c, const onnx_value_info *vi, int d) {
  return vi->dims[d] >= 0 ? vi->dims[d] : vi->syms[d] ? named(c, vi->syms[d]) : fresh(c);
}

static void from_decl(ictx *c, onnx_vtype *t, const onnx_value_info *vi) {
  unknown(t);
  t->dtype = vi->dtype > 0 ? vi->dtype : 0;
  if (vi->ndim < 0 || vi->ndim > MAXD) return;
  t->ndim = vi->ndim;
  for (int d = 0; d < t->ndim; d++) t->dims[d] = decl_dim(c, vi, d);
}

/* A value_info or graph output declaration fills in what inference left open; it never overrides a known dim
 * (declarations go stale when models are edited; the rules follow what the kernels do). */
static void merge_decl(ictx *c, onnx_vtype *t, const onnx_value_info *vi) {
  if (!t->dtype && vi->dtype > 0) t->dtype = vi->dtype;
  if (vi->ndim < 0 || vi->ndim > MAXD) return;
  if (t->ndim < 0) {
    t->ndim = vi->ndim;
    for (int d = 0; d < t->ndim; d++) t->dims[d] = decl_dim(c, vi, d);
  } else if (t->ndim == vi->ndim)
    for (int d = 0; d < t->ndim; d++)
      if (anonymous(c, t->dims[d]) && (vi->dims[d] >= 0 || vi->syms[d])) t->dims[d] = decl_dim(c, vi, d);
}

/* The values of input i when known (a constant, or values tracked through shape arithmetic): count, or -1.
 * Entries may be symbols. */
static int in_vals(ictx *c, int i, int64_t *out, int max) {
  const wm_onnx_tensor *k = cin(c, i);
  if (k) return const_ints(k, out, max);
  const onnx_vtype *t = tin(c, i);
  if (!t || t->nvals < 0 || t->nvals > max) return -1;
  memcpy(out, t->vals, (size_t)t->nvals * sizeof *out);
  return t->nvals;
}

/* Like in_vals, but every value must be a number. */
static int in_known(ictx *c, int i, int64_t *out, int max) {
  int n = in_vals(c, i, out, max);
  for (int j = 0; j < n; j++) if (!KNOWN(out[j])) return -1;
  return n;
}

/* Integer list from input i (newer opsets) or attribute `name` (older ones, or when the input is absent):
 * count, -1 when given but unknown, -2 when neither is there. */
static int ints_in_or_attr(ictx *c, int i, const char *name, int64_t *out, int max) {
  if (i >= 0 && tin(c, i)) return in_known(c, i, out, max);
  size_t n;
  const int64_t *a = attr_ints(c->nd, name, &n);
  if (!a) return -2;
  if (n > (size_t)max) return -1;
  for (size_t j = 0; j < n; j++) out[j] = clampv(a[j]);
  return (int)n;
}

static int norm_axis(int64_t a, int rank, int *out) {
  if (a < 0) a += rank;
  if (a < 0 || a >= rank) return -1;
  *out = (int)a;
  return 0;
}

/* Equal element types where the operator's schema says so (both known). */
static int same_type(ictx *c, int i, int j) {
  const onnx_vtype *a = tin(c, i), *b = tin(c, j);
  if (!a || !b || !a->dtype || !b->dtype || a->dtype == b->dtype) return 0;
  return bad(c, "input %d is %s, input %d is %s", j, wm_onnx_dtype_name((wm_onnx_dtype)b->dtype), i,
             wm_onnx_dtype_name((wm_onnx_dtype)a->dtype));
}

/* ---- dimension arithmetic ---- */
enum { A_ADD, A_SUB, A_MUL, A_DIV, A_MIN, A_MAX };

/* a op b, known or symbolic (integer division truncates, as the kernels do). 0 when the result is no whole
 * number (a float division), so it cannot be tracked. */
static int arith(ictx *c, int op, int64_t a, int64_t b, int fl, int64_t *r) {
  if (KNOWN(a) && KNOWN(b)) {
    int ovf = 0;
    switch (op) {
    case A_ADD: ovf = __builtin_add_overflow(a, b, r); break;
    case A_SUB: ovf = __builtin_sub_overflow(a, b, r); break;
    case A_MUL: ovf = __builtin_mul_overflow(a, b, r); break;
    case A_DIV:
      if (fl && (!b || a % b)) return 0;
      *r = b ? a / b : 0;
      break;
    case A_MIN: *r = a < b ? a : b; break;
    default: *r = a > b ? a : b; break;
    }
    if (ovf || !KNOWN(*r)) *r = fresh(c);
    return 1;
  }
  if ((op == A_ADD || op == A_SUB) && b == 0) *r = a;
  else if (op == A_ADD && a == 0) *r = b;
  else if ((op == A_MUL || op == A_DIV) && b == 1) *r = a;
  else if (op == A_MUL && a == 1) *r = b;
  else if (op == A_MUL && (a == 0 || b == 0)) *r = 0;
  else if (op == A_SUB && a == b) *r = 0;
  else if ((op == A_MIN || op == A_MAX) && a == b) *r = a;
  else *r = fresh(c);
  return 1;
}

static int64_t dim_add(ictx *c, int64_t a, int64_t b) { int64_t r; arith(c, A_ADD, a, b, 0, &r); return r; }
static int64_t dim_mul(ictx *c, int64_t a, int64_t b) { int64_t r; arith(c, A_MUL, a, b, 0, &r); return r; }

/* Product of n dims: a number, the one symbol when the rest are 1, else a fresh symbol. */
static int64_t dim_prod(ictx *c, const int64_t *d, int n) {
  int64_t k = 1, s = 0;
  int ns = 0;
  for (int i = 0; i < n; i++) {
    if (!KNOWN(d[i])) s = d[i], ns++;
    else if (d[i] == 0) return 0;
    else if (__builtin_mul_overflow(k, d[i], &k) || !KNOWN(k)) return fresh(c);
  }
  return !ns ? k : ns == 1 && k == 1 ? s : fresh(c);
}

/* Broadcasts dim b into *a (numpy: equal, or one of them 1). -1 when both are numbers that cannot broadcast. */
static int bdim(ictx *c, int64_t *a, int64_t b) {
  if (*a == b || b == 1) return 0;
  if (*a == 1) *a = b;
  else if (KNOWN(*a) && KNOWN(b)) return -1;
  else if (!KNOWN(*a) && !KNOWN(b)) *a = fresh(c); /* either may be 1 */
  else if (!KNOWN(*a)) *a = b;                     /* the symbol is b or 1: the result is b */
  return 0;
}

/* Numpy broadcast of the types at inputs[0..n) into o's shape. */
static int broadcast(ictx *c, onnx_vtype *o, const onnx_vtype *const *ts, int n) {
  o->ndim = 0;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    if (ts[i]->ndim < 0) { o->ndim = -1; return 0; }
    if (ts[i]->ndim > o->ndim) o->ndim = ts[i]->ndim;
  }
  for (int d = 0; d < o->ndim; d++) o->dims[d] = 1;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    int off = o->ndim - ts[i]->ndim;
    onnx_vtype before = *o;
    for (int d = 0; d < ts[i]->ndim; d++)
      if (bdim(c, &o->dims[off + d], ts[i]->dims[d])) {
        char a[160], b[160];
        return bad(c, "cannot broadcast %s with %s", shape_str(c, &before, a, sizeof a), shape_str(c, ts[i], b, sizeof b));
      }
  }
  return 0;
}

/* Elementwise arithmetic on tracked values (shape computations: Shape -> Mul -> Concat). */
static void track_arith(ictx *c, onnx_vtype *o, const onnx_vtype *a, const onnx_vtype *b, int op) {
  if (!a || !b || a->nvals < 0 || b->nvals < 0 || o->ndim > 1 || o->ndim < 0) return;
  int n = o->ndim == 0 ? 1 : KNOWN(o->dims[0]) && o->dims[0] <= MAXD ? (int)o->dims[0] : -1;
  if (n < 0 || (a->nvals != 1 && a->nvals != n) || (b->nvals != 1 && b->nvals != n)) return;
  int fl = is_float_type(o->dtype);
  for (int i = 0; i < n; i++)
    if (!arith(c, op, a->vals[a->nvals == 1 ? 0 : i], b->vals[b->nvals == 1 ? 0 : i], fl, &o->vals[i])) return;
  o->nvals = n;
}

/* ---- rules: each sets the types of its node's outputs (unknown on entry), or reports an inconsistency ---- */
/* Output 0 takes input 0's element type. NULL when there is nothing more to infer: input 0 unknown, or of
 * unknown rank. */
static onnx_vtype *out_like_in0(ictx *c, const onnx_vtype **x) {
  *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!*x) return NULL;
  o->dtype = (*x)->dtype;
  return (*x)->ndim < 0 ? NULL : o;
}

static int r_same(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  if (!x) return 0;
  onnx_vtype *o = tout(c, 0);
  *o = *x;
  o->nvals = -1;
  return 0;
}

static int r_identity(ictx *c) {
  if (tin(c, 0)) *tout(c, 0) = *tin(c, 0);
  return 0;
}

static int r_to_bool(ictx *c) {
  int rc = r_same(c);
  tout(c, 0)->dtype = WM_ONNX_BOOL;
  return rc;
}

static int r_dropout(ictx *c) {
  r_identity(c);
  *tout(c, 1) = *tout(c, 0);
  tout(c, 1)->dtype = WM_ONNX_BOOL;
  tout(c, 1)->nvals = -1;
  return 0;
}

static int elementwise(ictx *c, int typed, int out_bool, int op) {
  const onnx_vtype *ts[64];
  int n = c->nd->nin < 64 ? c->nd->nin : 64, first = -1;
  for (int i = 0; i < n; i++) {
    ts[i] = tin(c, i);
    if (!ts[i]) continue;
    if (first < 0) first = i;
    if (typed && same_type(c, first, i)) return -1;
  }
  if (first < 0) return 0;
  onnx_vtype *o = tout(c, 0);
  if (broadcast(c, o, ts, n)) return -1;
  o->dtype = out_bool ? WM_ONNX_BOOL : ts[first]->dtype;
  if (op >= 0 && n == 2) track_arith(c, o, ts[0], ts[1], op);
  return 0;
}

static int r_add(ictx *c) { return elementwise(c, 1, 0, A_ADD); }
static int r_sub(ictx *c) { return elementwise(c, 1, 0, A_SUB); }
static int r_mul(ictx *c) { return elementwise(c, 1, 0, A_MUL); }
static int r_div(ictx *c) { return elementwise(c, 1, 0, A_DIV); }
static int r_min(ictx *c) { return elementwise(c, 1, 0, A_MIN); }
static int r_max(ictx *c) { return elementwise(c, 1, 0, A_MAX); }
static int r_binary(ictx *c) { return elementwise(c, 1, 0, -1); }
static int r_pow(ictx *c) { return elementwise(c, 0, 0, -1); }
static int r_compare(ictx *c) { return elementwise(c, 1, 1, -1); }

static int r_prelu(ictx *c) { /* the slope broadcasts to X (per channel in old exports): Y is shaped like X */
  if (same_type(c, 0, 1)) return -1;
  return r_same(c);
}

static int r_where(ictx *c) {
  if (same_type(c, 1, 2)) return -1;
  const onnx_vtype *ts[3] = {tin(c, 0), tin(c, 1), tin(c, 2)};
  onnx_vtype *o = tout(c, 0);
  if (broadcast(c, o, ts, 3)) return -1;
  o->dtype = ts[1] ? ts[1]->dtype : ts[2] ? ts[2]->dtype : 0;
  return 0;
}

static int r_neg(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  r_same(c);
  onnx_vtype *o = tout(c, 0);
  if (x && x->nvals >= 0) {
    for (int i = 0; i < x->nvals; i++) if (!arith(c, A_SUB, 0, x->vals[i], 0, &o->vals[i])) return 0;
    o->nvals = x->nvals;
  }
  return 0;
}

static int r_cast(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  int to = !strcmp(c->nd->op_type, "CastLike") ? (tin(c, 1) ? tin(c, 1)->dtype : 0) : (int)attr_int(c->nd, "to", 0);
  if (x) r_identity(c);
  onnx_vtype *o = tout(c, 0);
  o->dtype = to;
  if (to != WM_ONNX_INT64 && to != WM_ONNX_INT32 && to != WM_ONNX_FLOAT && to != WM_ONNX_DOUBLE)
    o->nvals = -1; /* the values may not survive */
  return 0;
}

static int r_shape(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  o->dtype = WM_ONNX_INT64;
  o->ndim = 1;
  if (!x || x->ndim < 0) { o->dims[0] = fresh(c); return 0; }
  int64_t r = x->ndim, s = attr_int(c->nd, "start", 0), e = attr_int(c->nd, "end", r);
  s = s < -r ? 0 : s < 0 ? s + r : s > r ? r : s;
  e = e < -r ? 0 : e < 0 ? e + r : e > r ? r : e;
  o->dims[0] = e > s ? e - s : 0;
  o->nvals = (int)o->dims[0];
  for (int i = 0; i < o->nvals; i++) o->vals[i] = x->dims[s + i];
  return 0;
}

static int r_size(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  o->dtype = WM_ONNX_INT64;
  o->ndim = 0;
  if (x && x->ndim >= 0) o->nvals = 1, o->vals[0] = dim_prod(c, x->dims, x->ndim);
  return 0;
}

/* Keeps tracked values through a pure reshaping (Reshape, Squeeze, Unsqueeze, Flatten) of a small tensor. */
static void keep_vals(onnx_vtype *o, const onnx_vtype *x) {
  if (!x || x->nvals < 0 || o->ndim < 0 || o->ndim > 1 || (o->ndim == 1 && o->dims[0] != x->nvals) ||
      (o->ndim == 0 && x->nvals != 1))
    return;
  o->nvals = x->nvals;
  memcpy(o->vals, x->vals, sizeof o->vals);
}

/* Reshape's -1: the input's element count over the other output dims, with symbols cancelled. */
static int64_t quotient(ictx *c, const onnx_vtype *x, const int64_t *out, int n, int skip) {
  int64_t num = 1, den = 1, syms[2 * MAXD];
  int ns = 0, anysym = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (!KNOWN(x->dims[d])) syms[ns++] = x->dims[d];
    else if (__builtin_mul_overflow(num, x->dims[d], &num)) return fresh(c);
  }
  anysym = ns > 0;
  for (int d = 0; d < n; d++) {
    if (d == skip) continue;
    if (KNOWN(out[d])) {
      if (__builtin_mul_overflow(den, out[d], &den)) return fresh(c);
      continue;
    }
    anysym = 1;
    int j = 0;
    while (j < ns && syms[j] != out[d]) j++;
    if (j == ns) return fresh(c);
    syms[j] = syms[--ns];
  }
  if (num == 0 && den) return 0;
  if (!den) return fresh(c);
  if (num % den) {
    if (anysym) return fresh(c);
    bad(c, "cannot infer -1: %lld elements do not divide into parts of %lld", (long long)num, (long long)den);
    return -2;
  }
  if (!ns) return num / den;
  return ns == 1 && num == den ? syms[0] : fresh(c);
}

static int r_reshape(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  int64_t t[MAXD];
  int n;
  if (tin(c, 1)) n = in_vals(c, 1, t, MAXD);
  else {
    size_t k;
    const int64_t *a = attr_ints(c->nd, "shape", &k);
    n = a && k <= MAXD ? (int)k : -1;
    if (n > 0) memcpy(t, a, k * sizeof *t);
  }
  if (n < 0) { /* the target's length may still be known */
    const onnx_vtype *s = tin(c, 1);
    if (s && s->ndim == 1 && KNOWN(s->dims[0]) && s->dims[0] <= MAXD) {
      o->ndim = (int)s->dims[0];
      for (int d = 0; d < o->ndim; d++) o->dims[d] = fresh(c);
    }
    return 0;
  }
  int allowzero = (int)attr_int(c->nd, "allowzero", 0), infer = -1;
  o->ndim = n;
  for (int i = 0; i < n; i++) {
    int64_t v = t[i];
    if (v == 0 && !allowzero) {
      if (x->ndim >= 0 && i >= x->ndim) return bad(c, "shape[%d] = 0 copies a dimension the input does not have", i);
      v = x->ndim >= 0 ? x->dims[i] : fresh(c);
    } else if (v == -1) {
      if (infer >= 0) return bad(c, "more than one -1 in the shape");
      infer = i;
    } else if (KNOWN(v) && v < 0) return bad(c, "invalid shape value %lld", (long long)v);
    o->dims[i] = v;
  }
  int64_t prod = 1;
  int zero = 0, ovf = 0;
  for (int i = 0; i < n; i++)
    if (i != infer && KNOWN(o->dims[i])) zero |= o->dims[i] == 0, ovf |= __builtin_mul_overflow(prod, o->dims[i], &prod);
  if (ovf && !zero) {
    char s1[160];
    return bad(c, "shape %s has more elements than any tensor", shape_str(c, o, s1, sizeof s1));
  }
  if (x->ndim < 0) {
    if (infer >= 0) o->dims[infer] = fresh(c);
    return 0;
  }
  if (infer >= 0) {
    int64_t q = quotient(c, x, o->dims, n, infer);
    if (q == -2) return -1;
    o->dims[infer] = q;
  } else {
    int all = 1;
    int64_t a = 1, b = 1;
    for (int d = 0; d < x->ndim; d++) all &= KNOWN(x->dims[d]) && !__builtin_mul_overflow(a, x->dims[d], &a);
    for (int d = 0; d < n; d++) all &= KNOWN(o->dims[d]) && !__builtin_mul_overflow(b, o->dims[d], &b);
    if (all && a != b) {
      char s1[160], s2[160];
      return bad(c, "cannot reshape %s (%lld elements) into %s", shape_str(c, x, s1, sizeof s1), (long long)a,
                 shape_str(c, o, s2, sizeof s2));
    }
  }
  keep_vals(o, x);
  return 0;
}

static int r_flatten(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  o->ndim = 2;
  if (x->ndim < 0) { o->dims[0] = fresh(c); o->dims[1] = fresh(c); return 0; }
  int64_t axis = attr_int(c->nd, "axis", 1);
  if (axis < 0) axis += x->ndim;
  if (axis < 0 || axis > x->ndim) return bad(c, "axis out of range for rank %d", x->ndim);
  o->dims[0] = dim_prod(c, x->dims, (int)axis);
  o->dims[1] = dim_prod(c, x->dims + axis, x->ndim - (int)axis);
  return 0;
}

static int r_squeeze(ictx *c) {
  const onnx_vtype *x;
  onnx_vtype *o = out_like_in0(c, &x);
  if (!o) return 0;
  int64_t axes[2 * MAXD];
  int n = ints_in_or_attr(c, 1, "axes", axes, 2 * MAXD), drop[MAXD] = {0};
  if (n == -1) return 0;
  if (n == -2) { /* no axes: every dim of 1, which a symbol may or may not be */
    for (int d = 0; d < x->ndim; d++) {
      if (!KNOWN(x->dims[d])) return 0;
      drop[d] = x->dims[d] == 1;
    }
  }
  for (int i = 0; i < n; i++) {
    int a;
    if (norm_axis(axes[i], x->ndim, &a)) return bad(c, "axis %lld out of range for rank %d", (long long)axes[i], x->ndim);
    if (KNOWN(x->dims[a]) && x->dims[a] != 1)
      return bad(c, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
    drop[a] = 1;
  }
  o->ndim = 0;
  for (int d = 0; d < x->ndim; d++) if (!drop[d]) o->dims[o->ndim++] = x->dims[d];
  keep_vals(o, x);
  return 0;
}

static int r_unsqueeze(ictx *c) {
  const onnx_vtype *x;
  onnx_vtype *o = out_like_in0(c, &x);
  if (!o) return 0;
  int64_t axes[2 * MAXD];
  int n = ints_in_or_attr(c, 1, "axes", axes, 2 * MAXD), ins[2 * MAXD] = {0};
  if (n == -1) return 0;
  if (n == -2) n = 0; /* the kernel treats missing axes as none */
  int nd = x->ndim + n;
  if (nd > MAXD) return bad(c, "result rank %d is too large", nd);
  for (int i = 0; i < n; i++) {
    int a;
    if (norm_axis(axes[i], nd, &a) || ins[a]) return bad(c, "axes are out of range or repeated");
    ins[a] = 1;
  }
  o->ndim = nd;
  for (int d = 0, j = 0; d < nd; d++) o->dims[d] = ins[d] ? 1 : x->dims[j++];
  keep_vals(o, x);
  return 0;
}

static int r_transpose(ictx *c) {
  const onnx_vtype *x;
  onnx_vtype *o = out_like_in0(c, &x);
  if (!o) return 0;
  size_t k;
  const int64_t *p = attr_ints(c->nd, "perm", &k);
  int seen[MAXD] = {0};
  if (p && (int)k != x->ndim) return bad(c, "perm has %zu entries for rank %d", k, x->ndim);
  o->ndim = x->ndim;
  for (int d = 0; d < x->ndim; d++) {
    int a;
    if (norm_axis(p ? p[d] : x->ndim - 1 - d, x->ndim, &a) || seen[a]) return bad(c, "perm is not a permutation");
    seen[a] = 1;
    o->dims[d] = x->dims[a];
  }
  return 0;
}

/* Provably no elements (a known 0 dim). */
static int empty(const onnx_vtype *t) {
  for (int d = 0; d < t->ndim; d++) if (t->dims[d] == 0) return 1;
  return 0;
}

static int r_concat(ictx *c) {
  const onnx_vtype *ref = NULL; /* the input that sets the rank, as in the kernel: the first one not empty */
  int first = -1, iref = -1;
  for (int i = 0; i < c->nd->nin; i++) {
    const onnx_vtype *t = tin(c, i);
    if (!t) continue;
    if (first < 0) first = i;
    if (same_type(c, first, i)) return -1;
    if (t->ndim >= 0 && (!ref || (empty(ref) && !empty(t)))) ref = t, iref = i;
  }
  onnx_vtype *o = tout(c, 0);
  if (first < 0) return 0;
  o->dtype = tin(c, first)->dtype;
  if (!ref) return 0;
  int axis;
  if (norm_axis(attr_int(c->nd, "axis", 0), ref->ndim, &axis)) return bad(c, "axis out of range for rank %d", ref->ndim);
  *o = *ref;
  o->dtype = tin(c, first)->dtype;
  o->nvals = -1;
  int64_t sum = 0, sym = 0, vals[MAXD];
  int nsym = 0, lost = 0, nv = 0, track = ref->ndim == 1;
  for (int i = 0; i < c->nd->nin; i++) {
    const onnx_vtype *t = tin(c, i);
    if (!t) continue;
    if (t->ndim < 0) { lost = 1; track = 0; continue; }
    if (t->ndim != ref->ndim) {
      if (empty(t)) continue; /* exporters leave empty tensors of other ranks in; the kernel skips them */
      int known = 1;
      for (int d = 0; d < t->ndim; d++) known &= KNOWN(t->dims[d]);
      if (known) return bad(c, "input %d has rank %d, input %d has rank %d", i, t->ndim, iref, ref->ndim);
      unknown(o);
      o->dtype = tin(c, first)->dtype;
      return 0;
    }
    for (int d = 0; d < t->ndim; d++) {
      if (d == axis) continue;
      int64_t a = o->dims[d], b = t->dims[d];
      if (a == b) continue;
      if (KNOWN(a) && KNOWN(b)) {
        char s1[160], s2[160];
        return bad(c, "input %d is %s, which does not fit %s along axis %d", i, shape_str(c, t, s1, sizeof s1),
                   shape_str(c, o, s2, sizeof s2), axis);
      }
      if (KNOWN(b) || (anonymous(c, a) && !anonymous(c, b))) o->dims[d] = b;
    }
    int64_t len = t->dims[axis];
    if (!KNOWN(len)) sym = len, nsym++;
    else lost |= __builtin_add_overflow(sum, len, &sum);
    if (track && t->nvals >= 0 && nv + t->nvals <= MAXD) {
      memcpy(vals + nv, t->vals, (size_t)t->nvals * sizeof *vals);
      nv += t->nvals;
    } else track = 0;
  }
  o->dims[axis] = lost || nsym > 1 || (nsym && sum) ? fresh(c) : nsym ? sym : sum;
  if (track && KNOWN(o->dims[0]) && o->dims[0] == nv) {
    o->nvals = nv;
    memcpy(o->vals, vals, sizeof vals);
  }
  return 0;
}

static int r_split(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  if (!x) return 0;
  int nout = c->nd->nout;
  for (int k = 0; k < nout; k++) unknown(tout(c, k)), tout(c, k)->dtype = x->dtype;
  if (x->ndim < 0) return 0;
  int axis;
  if (norm_axis(attr_int(c->nd, "axis", 0), x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
  int64_t split[64], len = x->dims[axis];
  int ns = ints_in_or_attr(c, 1, "split", split, 64);
  if (ns == -2) { /* equal parts, the last one smaller (as the kernel splits) */
    if (nout > 64) return 0;
    ns = nout;
    int64_t each = KNOWN(len) ? len / nout + (len % nout != 0) : 0, rem = len;
    for (int i = 0; i < nout; i++) {
      split[i] = nout == 1 ? len : !KNOWN(len) ? fresh(c) : rem < each ? rem : each;
      if (KNOWN(len)) rem -= split[i];
    }
  } else if (ns >= 0) {
    int64_t sum = 0;
    int ovf = 0;
    if (ns != nout) return bad(c, "%d split sizes for %d outputs", ns, nout);
    for (int i = 0; i < ns; i++) {
      if (split[i] < 0) return bad(c, "negative split size %lld", (long long)split[i]);
      ovf |= __builtin_add_overflow(sum, split[i], &sum);
    }
    if (KNOWN(len) && !ovf && sum != len)
      return bad(c, "split sizes sum to %lld, axis %d has %lld", (long long)sum, axis, (long long)len);
  }
  for (int k = 0; k < nout; k++) {
    onnx_vtype *o = tout(c, k);
    *o = *x;
    o->nvals = -1;
    o->dims[axis] = ns >= 0 ? split[k] : fresh(c);
  }
  return 0;
}

/* One axis of Slice: the kernel's clamping when everything is known; symbolic dims survive whole-axis slices. */
static int64_t slice_len(ictx *c, int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *start) {
  *start = -1;
  if (KNOWN(dim) && KNOWN(s) && KNOWN(e) && KNOWN(step) && step) {
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      *start = s;
      return e > s ? (e - s - 1) / step + 1 : 0;
    }
    s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
    e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
    return s > e ? (s - e - 1) / -step + 1 : 0;
  }
  if (step == 1 && s == 0 && (e == dim || (KNOWN(e) && e >= INT32_MAX))) return dim;
  return fresh(c);
}

static int r_slice(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  *o = *x;
  o->nvals = -1;
  if (x->ndim < 0) return 0;
  int64_t st[2 * MAXD], en[2 * MAXD], ax[2 * MAXD], sp[2 * MAXD];
  int ns, ne, na = -2, nst = -2;
  if (c->nd->opset < 10) {
    ns = ints_in_or_attr(c, -1, "starts", st, 2 * MAXD);
    ne = ints_in_or_attr(c, -1, "ends", en, 2 * MAXD);
    na = ints_in_or_attr(c, -1, "axes", ax, 2 * MAXD);
  } else {
    ns = in_vals(c, 1, st, 2 * MAXD);
    ne = in_vals(c, 2, en, 2 * MAXD);
    if (tin(c, 3)) na = in_known(c, 3, ax, 2 * MAXD);
    if (tin(c, 4)) nst = in_vals(c, 4, sp, 2 * MAXD);
  }
  if (na == -1) { /* unknown axes: any dim may shrink */
    for (int d = 0; d < x->ndim; d++) o->dims[d] = fresh(c);
    return 0;
  }
  int n = ns >= 0 ? ns : ne >= 0 ? ne : na >= 0 ? na : -1;
  if (n < 0 || (ns >= 0 && ns != n) || (ne >= 0 && ne != n) || (na >= 0 && na != n) || (nst >= 0 && nst != n)) {
    if (n >= 0 && ns >= 0 && ne >= 0) return bad(c, "starts, ends, axes and steps differ in length");
    for (int d = 0; d < x->ndim; d++) o->dims[d] = fresh(c);
    return 0;
  }
  int64_t b0 = 0, step0 = 1, len0 = -1;
  for (int i = 0; i < n; i++) {
    int a;
    int64_t axis = na >= 0 ? ax[i] : i;
    if (norm_axis(axis, x->ndim, &a)) return bad(c, "axis %lld out of range for rank %d", (long long)axis, x->ndim);
    int64_t s = ns >= 0 ? st[i] : fresh(c), e = ne >= 0 ? en[i] : fresh(c);
    int64_t step = nst >= 0 ? sp[i] : nst == -1 ? fresh(c) : 1;
    if (step == 0) return bad(c, "step is zero");
    int64_t start;
    o->dims[a] = slice_len(c, x->dims[a], s, e, step, &start);
    if (a == 0) b0 = start, step0 = step, len0 = o->dims[a];
  }
  if (x->ndim == 1 && x->nvals >= 0 && x->dims[0] == x->nvals && KNOWN(len0) && len0 >= 0 && b0 >= 0 && step0 > 0) {
    for (int64_t i = 0; i < len0; i++) o->vals[i] = x->vals[b0 + i * step0];
    o->nvals = (int)len0;
  }
  return 0;
}

static int r_gather(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *ix = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  if (!ix || x->ndim < 0 || ix->ndim < 0) return 0;
  int axis;
  if (norm_axis(attr_int(c->nd, "axis", 0), x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
  if (ix->dtype && !is_int_type(ix->dtype)) return bad(c, "indices are %s", wm_onnx_dtype_name((wm_onnx_dtype)ix->dtype));
  if (x->ndim - 1 + ix->ndim > MAXD) return bad(c, "result rank is too large");
  o->ndim = 0;
  for (int d = 0; d < axis; d++) o->dims[o->ndim++] = x->dims[d];
  for (int d = 0; d < ix->ndim; d++) o->dims[o->ndim++] = ix->dims[d];
  for (int d = axis + 1; d < x->ndim; d++) o->dims[o->ndim++] = x->dims[d];
  int64_t idx[MAXD];
  int n = in_known(c, 1, idx, MAXD);
  if (x->ndim == 1 && x->nvals >= 0 && n >= 0 && ix->ndim <= 1) {
    for (int i = 0; i < n; i++) {
      int64_t j = idx[i] < 0 ? idx[i] + x->nvals : idx[i];
      if (j < 0 || j >= x->nvals) return 0;
      o->vals[i] = x->vals[j];
    }
    o->nvals = n;
  }
  return 0;
}

static int r_gather_elements(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *ix = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  if (ix) *o = *ix, o->nvals = -1;
  o->dtype = x ? x->dtype : 0;
  return 0;
}

static int r_gather_nd(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *ix = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  if (!ix || x->ndim < 0 || ix->ndim < 1) return 0;
  int b = (int)attr_int(c->nd, "batch_dims", 0), q = ix->ndim;
  int64_t kd = ix->dims[q - 1];
  if (!KNOWN(kd)) return 0;
  if (b < 0 || b >= q || kd < 0 || kd > MAXD || b + kd > x->ndim)
    return bad(c, "indices of depth %lld do not fit data of rank %d", (long long)kd, x->ndim);
  if (q - 1 + x->ndim - b - kd > MAXD) return 0;
  o->ndim = 0;
  for (int d = 0; d < q - 1; d++) o->dims[o->ndim++] = ix->dims[d];
  for (int d = b + (int)kd; d < x->ndim; d++) o->dims[o->ndim++] = x->dims[d];
  return 0;
}

/* Shape from the values of input i (ConstantOfShape, Expand): rank and dims, whichever are known. */
static int shape_from(ictx *c, int i, onnx_vtype *o) {
  int n = in_vals(c, i, o->dims, MAXD);
  if (n >= 0) {
    for (int d = 0; d < n; d++)
      if (KNOWN(o->dims[d]) && o->dims[d] < 0) return bad(c, "negative dimension %lld", (long long)o->dims[d]);
    o->ndim = n;
    return 0;
  }
  const onnx_vtype *s = tin(c, i);
  if (s && s->ndim == 1 && KNOWN(s->dims[0]) && s->dims[0] <= MAXD) {
    o->ndim = (int)s->dims[0];
    for (int d = 0; d < o->ndim; d++) o->dims[d] = fresh(c);
  }
  return 0;
}

static int r_expand(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0), s;
  if (!x) return 0;
  unknown(&s);
  if (shape_from(c, 1, &s)) return -1;
  o->dtype = x->dtype;
  if (s.ndim < 0 || x->ndim < 0) return 0;
  const onnx_vtype *ts[2] = {x, &s};
  if (broadcast(c, o, ts, 2)) return -1;
  if (x->nvals == 1 && o->ndim <= 1 && (o->ndim == 0 || (KNOWN(o->dims[0]) && o->dims[0] <= MAXD))) {
    o->nvals = o->ndim ? (int)o->dims[0] : 1;
    for (int i = 0; i < o->nvals; i++) o->vals[i] = x->vals[0];
  }
  return 0;
}

static int r_tile(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  *o = *x;
  o->nvals = -1;
  if (x->ndim < 0) return 0;
  int64_t rep[MAXD];
  int n = in_vals(c, 1, rep, MAXD);
  if (n >= 0 && n != x->ndim) return bad(c, "repeats has %d entries for rank %d", n, x->ndim);
  for (int d = 0; d < x->ndim; d++) {
    if (n >= 0 && KNOWN(rep[d]) && rep[d] < 0) return bad(c, "negative repeat %lld", (long long)rep[d]);
    o->dims[d] = n < 0 ? fresh(c) : dim_mul(c, x->dims[d], rep[d]);
  }
  return 0;
}

static int r_pad(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  *o = *x;
  o->nvals = -1;
  if (x->ndim < 0) return 0;
  int nd = x->ndim, np, na = -2;
  int64_t pads[4 * MAXD], p[2 * MAXD] = {0}, axes[MAXD];
  if (c->nd->opset < 11) {
    np = ints_in_or_attr(c, -1, "pads", pads, 4 * MAXD);
    if (np == -2) np = ints_in_or_attr(c, -1, "paddings", pads, 4 * MAXD);
  } else {
    np = in_vals(c, 1, pads, 4 * MAXD);
    if (tin(c, 3)) na = in_known(c, 3, axes, MAXD);
  }
  if (np < 0 || na == -1) {
    for (int d = 0; d < nd; d++) o->dims[d] = fresh(c);
    return 0;
  }
  if (na < 0) {
    if (np != 2 * nd) return bad(c, "pads has %d values for rank %d", np, nd);
    memcpy(p, pads, (size_t)np * sizeof *p);
  } else {
    if (np != 2 * na) return bad(c, "pads has %d values for %d axes", np, na);
    for (int i = 0; i < na; i++) {
      int a;
      if (norm_axis(axes[i], nd, &a)) return bad(c, "axis %lld out of range for rank %d", (long long)axes[i], nd);
      p[a] = pads[i];
      p[a + nd] = pads[i + na];
    }
  }
  for (int d = 0; d < nd; d++) {
    o->dims[d] = dim_add(c, x->dims[d], dim_add(c, p[d], p[d + nd]));
    if (KNOWN(o->dims[d]) && o->dims[d] < 0) return bad(c, "negative output dimension %d", d);
  }
  return 0;
}

/* Whole-input emptiness for optional inputs given as empty tensors ("no scales"). */
static int absent_or_empty(ictx *c, int i) {
  const onnx_vtype *t = tin(c, i);
  return !t || (t->ndim >= 0 && empty(t)) || (t->ndim == 1 && t->dims[0] == 0);
}

static int r_resize(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  *o = *x;
  o->nvals = -1;
  if (x->ndim < 0) return 0;
  int nd = x->ndim, axes[MAXD], na = nd;
  int upsample = !strcmp(c->nd->op_type, "Upsample");
  size_t k;
  const int64_t *ax = upsample ? NULL : attr_ints(c->nd, "axes", &k);
  if (ax) {
    if ((int)k > nd) return bad(c, "%zu axes for rank %d", k, nd);
    na = (int)k;
    for (int i = 0; i < na; i++)
      if (norm_axis(ax[i], nd, &axes[i])) return bad(c, "axis %lld out of range for rank %d", (long long)ax[i], nd);
  } else
    for (int i = 0; i < nd; i++) axes[i] = i;
  int si = upsample || c->nd->opset < 11 ? 1 : 2, zi = upsample || c->nd->opset < 11 ? -1 : 3;
  double scales[MAXD];
  int64_t sizes[MAXD];
  int have = 0; /* 1 scales, 2 sizes, -1 given but unknown */
  if (zi >= 0 && !absent_or_empty(c, zi)) {
    int n = in_vals(c, zi, sizes, MAXD);
    if (n >= 0 && n != na) return bad(c, "sizes has %d values for %d axes", n, na);
    have = n < 0 || strcmp(attr_str(c->nd, "keep_aspect_ratio_policy", "stretch"), "stretch") ? -1 : 2;
  } else if (!absent_or_empty(c, si) || (upsample && attr_find(c->nd, "scales"))) {
    const wm_onnx_tensor *t = tin(c, si) ? cin(c, si) : NULL;
    const float *fs = upsample && !tin(c, si) ? attr_floats(c->nd, "scales", &k) : NULL;
    int64_t n = t ? wm_onnx_numel(t) : fs ? (int64_t)k : -1;
    if (n >= 0 && n != na) return bad(c, "scales has %lld values for %d axes", (long long)n, na);
    for (int i = 0; i < n; i++) scales[i] = t ? tget(t, i) : fs[i];
    have = n < 0 || (t && (!t->data || !is_float_type(t->dtype))) ? -1 : 1;
    int64_t v[MAXD];
    if (!t && !fs && in_known(c, si, v, MAXD) == na) { /* computed, but whole numbers */
      for (int i = 0; i < na; i++) scales[i] = (double)v[i];
      have = 1;
    }
  }
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    int64_t in = x->dims[a];
    if (have == 2) o->dims[a] = sizes[i];
    else if (have == 1 && KNOWN(in) && scales[i] > 0 && (double)in * scales[i] < 9e15)
      o->dims[a] = (int64_t)floor((double)in * scales[i]); /* as resize.c sizes it */
    else if (!(have == 1 && scales[i] == 1)) o->dims[a] = fresh(c);
  }
  return 0;
}

/* Window parameters and dims past this are hostile; arithmetic on smaller ones cannot overflow. */
#define BIG ((int64_t)1 << 30)

/* Output length of one spatial axis of a convolution or pooling window, as conv.c/pool.c compute it. */
static int64_t window(ictx *c, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, const char *ap,
                      int ceil_mode) {
  int same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
  if (!strcmp(ap, "VALID")) pb = pe = 0;
  if (k > BIG || s > BIG || d > BIG || pb > BIG || pe > BIG || (KNOWN(in) && in > BIG)) return fresh(c);
  int64_t ek = (k - 1) * d + 1;
  if (!KNOWN(in)) return (same && s == 1) || (!same && s == 1 && pb + pe == ek - 1) ? in : fresh(c);
  if (same) return (in + s - 1) / s;
  int64_t span = in + pb + pe - ek;
  if (span < 0) {
    bad(c, "window of %lld is larger than the padded input (%lld)", (long long)ek, (long long)(in + pb + pe));
    return -2;
  }
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + pb) out--;
  return out;
}

/* Conv-like nodes (x at input xi, weights at wi): [N, M, spatial...]; pools pass weights -1. */
static int conv_like(ictx *c, int xi, int wi, int transpose, int pool) {
  const onnx_vtype *x = tin(c, xi), *w = wi >= 0 ? tin(c, wi) : NULL;
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  int rank = x->ndim >= 0 ? x->ndim : w && w->ndim >= 0 ? w->ndim : -1, nsp = rank - 2;
  if (nsp < 1 || nsp > 3) return 0;
  if (w && w->ndim >= 0 && w->ndim != rank) return bad(c, "weights have rank %d, input has rank %d", w->ndim, rank);
  size_t kc, sc, dc, pc, oc;
  const int64_t *ks = attr_ints(c->nd, "kernel_shape", &kc), *st = attr_ints(c->nd, "strides", &sc);
  const int64_t *dl = attr_ints(c->nd, "dilations", &dc), *pd = attr_ints(c->nd, "pads", &pc);
  const int64_t *op = attr_ints(c->nd, "output_padding", &oc);
  if ((ks && (int)kc != nsp) || (st && (int)sc != nsp) || (dl && (int)dc != nsp) || (pd && (int)pc != 2 * nsp) ||
      (op && (int)oc != nsp))
    return bad(c, "kernel_shape, strides, dilations or pads do not have one entry per spatial dimension");
  const char *ap = attr_str(c->nd, "auto_pad", "NOTSET");
  int64_t group = attr_int(c->nd, "group", 1);
  o->ndim = rank;
  o->dims[0] = x->ndim >= 0 ? x->dims[0] : fresh(c);
  if (pool) o->dims[1] = x->ndim >= 0 ? x->dims[1] : fresh(c);
  else if (!w || w->ndim < 0) o->dims[1] = fresh(c);
  else o->dims[1] = transpose ? dim_mul(c, w->dims[1], group) : w->dims[0];
  int64_t cin;
  if (!pool && !transpose && x->ndim >= 0 && w && w->ndim >= 0 && KNOWN(x->dims[1]) && KNOWN(w->dims[1]) &&
      group > 0 && !__builtin_mul_overflow(w->dims[1], group, &cin) && x->dims[1] != cin)
    return bad(c, "input has %lld channels, weights expect %lld (group %lld)", (long long)x->dims[1], (long long)cin,
               (long long)group);
  const int64_t *os = transpose ? attr_ints(c->nd, "output_shape", &oc) : NULL;
  int ceil_mode = pool ? (int)attr_int(c->nd, "ceil_mode", 0) : 0;
  for (int i = 0; i < nsp; i++) {
    int64_t in = x->ndim >= 0 ? x->dims[2 + i] : fresh(c);
    int64_t k = ks ? ks[i] : w && w->ndim >= 0 ? w->dims[2 + i] : -1;
    int64_t s = st ? st[i] : 1, d = dl ? dl[i] : 1, pb = pd ? pd[i] : 0, pe = pd ? pd[nsp + i] : 0;
    if (!KNOWN(k) || k <= 0 || s <= 0 || d <= 0 || pb < 0 || pe < 0) {
      if (k == -1 || !KNOWN(k)) { o->dims[2 + i] = fresh(c); continue; }
      return bad(c, "invalid kernel, stride, dilation or pad");
    }
    int64_t out;
    if (!transpose) {
      if ((out = window(c, in, k, s, d, pb, pe, ap, ceil_mode)) == -2) return -1;
    } else if (os && ((int)oc == nsp || (int)oc == nsp + 2)) out = os[(int)oc == nsp ? i : 2 + i];
    else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) out = dim_mul(c, in, s);
    else if (k > BIG || s > BIG || d > BIG || pb > BIG || pe > BIG || (op && (op[i] < 0 || op[i] > BIG)) ||
             (KNOWN(in) && in > BIG))
      out = fresh(c);
    else {
      if (!strcmp(ap, "VALID")) pb = pe = 0;
      int64_t extra = (op ? op[i] : 0) + (k - 1) * d + 1 - pb - pe; /* out = s * (in - 1) + extra */
      out = !KNOWN(in) ? (s == 1 && extra == 1 ? in : fresh(c)) : s * (in - 1) + extra;
      if (KNOWN(out) && out < 0) return bad(c, "negative output size");
    }
    o->dims[2 + i] = out;
  }
  return 0;
}

static int r_conv(ictx *c) {
  if (same_type(c, 0, 1) || same_type(c, 0, 2)) return -1;
  return conv_like(c, 0, 1, !strcmp(c->nd->op_type, "ConvTranspose"), 0);
}
static int r_conv_integer(ictx *c) {
  int rc = conv_like(c, 0, 1, 0, 0);
  tout(c, 0)->dtype = WM_ONNX_INT32;
  return rc;
}
static int r_qlinear_conv(ictx *c) {
  int rc = conv_like(c, 0, 3, 0, 0);
  tout(c, 0)->dtype = tin(c, 7) ? tin(c, 7)->dtype : WM_ONNX_UINT8;
  return rc;
}
static int r_pool(ictx *c) {
  if (!attr_ints(c->nd, "kernel_shape", &(size_t){0})) return 0;
  int rc = conv_like(c, 0, -1, 0, 1);
  if (!rc && c->nd->nout > 1) *tout(c, 1) = *tout(c, 0), tout(c, 1)->dtype = WM_ONNX_INT64;
  return rc;
}

static int r_global_pool(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  *o = *x;
  o->nvals = -1;
  for (int d = 2; d < o->ndim; d++) o->dims[d] = 1;
  return 0;
}

static int r_gemm(ictx *c) {
  const onnx_vtype *a = tin(c, 0), *b = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  if (same_type(c, 0, 1) || same_type(c, 0, 2)) return -1;
  if (!a) return 0;
  o->dtype = a->dtype;
  if (!b || a->ndim != 2 || b->ndim != 2) return 0;
  int ta = attr_int(c->nd, "transA", 0) != 0, tb = attr_int(c->nd, "transB", 0) != 0;
  int64_t K = a->dims[!ta], Kb = b->dims[tb];
  if (KNOWN(K) && KNOWN(Kb) && K != Kb) {
    char s1[160], s2[160];
    return bad(c, "A is %s%s, B is %s%s: inner dimensions %lld and %lld differ", shape_str(c, a, s1, sizeof s1),
               ta ? " (transposed)" : "", shape_str(c, b, s2, sizeof s2), tb ? " (transposed)" : "", (long long)K,
               (long long)Kb);
  }
  o->ndim = 2;
  o->dims[0] = a->dims[ta];
  o->dims[1] = b->dims[!tb];
  return 0;
}

static int r_matmul(ictx *c) {
  const onnx_vtype *a = tin(c, 0), *b = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  int integer = !strcmp(c->nd->op_type, "MatMulInteger");
  if (!integer && same_type(c, 0, 1)) return -1;
  if (!a) return 0;
  o->dtype = integer ? WM_ONNX_INT32 : a->dtype;
  if (!b || a->ndim < 1 || b->ndim < 1) return 0;
  onnx_vtype A = *a, B = *b, ba, bb;
  if (a->ndim == 1) A.ndim = 2, A.dims[0] = 1, A.dims[1] = a->dims[0];
  if (b->ndim == 1) B.ndim = 2, B.dims[0] = b->dims[0], B.dims[1] = 1;
  int64_t K = A.dims[A.ndim - 1], Kb = B.dims[B.ndim - 2];
  if (KNOWN(K) && KNOWN(Kb) && K != Kb) {
    char s1[160], s2[160];
    return bad(c, "cannot multiply %s by %s: inner dimensions %lld and %lld differ", shape_str(c, a, s1, sizeof s1),
               shape_str(c, b, s2, sizeof s2), (long long)K, (long long)Kb);
  }
  ba = A, bb = B;
  ba.ndim -= 2, bb.ndim -= 2;
  const onnx_vtype *ts[2] = {&ba, &bb};
  if (broadcast(c, o, ts, 2)) return -1;
  if (o->ndim + (a->ndim > 1) + (b->ndim > 1) > MAXD) { o->ndim = -1; return 0; }
  if (a->ndim > 1) o->dims[o->ndim++] = A.dims[A.ndim - 2];
  if (b->ndim > 1) o->dims[o->ndim++] = B.dims[B.ndim - 1];
  return 0;
}

static int r_batchnorm(ictx *c) {
  r_same(c);
  if (!attr_int(c->nd, "training_mode", 0)) return 0; /* inference mode writes Y only */
  for (int k = 1; k < c->nd->nout && k < 3; k++) { /* running mean and variance, shaped like mean */
    const onnx_vtype *m = tin(c, 2 + k);
    if (m) *tout(c, k) = *m, tout(c, k)->nvals = -1;
  }
  return 0;
}

static int r_layernorm(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  r_same(c);
  if (!x || x->ndim < 0) return 0;
  int axis;
  if (norm_axis(attr_int(c->nd, "axis", -1), x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
  for (int k = 1; k < 3; k++) { /* Mean and InvStdDev: the normalised axes reduced to 1 (in X's type, like the kernel) */
    onnx_vtype *o = tout(c, k);
    *o = *x;
    o->nvals = -1;
    for (int d = axis; d < x->ndim; d++) o->dims[d] = 1;
  }
  return 0;
}

static int r_reduce(ictx *c) {
  const onnx_vtype *x;
  onnx_vtype *o = out_like_in0(c, &x);
  if (!o) return 0;
  int keep = (int)attr_int(c->nd, "keepdims", 1), red[MAXD] = {0};
  int64_t axes[2 * MAXD];
  int n = ints_in_or_attr(c, 1, "axes", axes, 2 * MAXD);
  if (n == -1) { /* unknown axes: each dim stays or becomes 1 */
    if (!keep) return 0;
    *o = *x;
    o->nvals = -1;
    for (int d = 0; d < x->ndim; d++) if (x->dims[d] != 1) o->dims[d] = fresh(c);
    return 0;
  }
  if (n <= 0) {
    if (attr_int(c->nd, "noop_with_empty_axes", 0)) return r_same(c);
    for (int d = 0; d < x->ndim; d++) red[d] = 1;
  }
  for (int i = 0; i < n; i++) {
    int a;
    if (norm_axis(axes[i], x->ndim, &a)) return bad(c, "axis %lld out of range for rank %d", (long long)axes[i], x->ndim);
    red[a] = 1;
  }
  o->ndim = 0;
  for (int d = 0; d < x->ndim; d++)
    if (!red[d]) o->dims[o->ndim++] = x->dims[d];
    else if (keep) o->dims[o->ndim++] = 1;
  /* a reduced shape vector (Shape -> ReduceProd): one value */
  const char *op = c->nd->op_type;
  int rop = !strcmp(op, "ReduceProd") ? A_MUL : !strcmp(op, "ReduceSum") ? A_ADD : !strcmp(op, "ReduceMin") ? A_MIN
          : !strcmp(op, "ReduceMax") ? A_MAX : -1;
  if (rop >= 0 && x->ndim == 1 && x->nvals > 0 && red[0]) {
    int64_t v = x->vals[0];
    for (int i = 1; i < x->nvals; i++) if (!arith(c, rop, v, x->vals[i], is_float_type(x->dtype), &v)) return 0;
    o->nvals = 1;
    o->vals[0] = v;
  }
  return 0;
}

static int r_argmax(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  o->dtype = WM_ONNX_INT64;
  if (!x || x->ndim < 0) return 0;
  int axis, keep = (int)attr_int(c->nd, "keepdims", 1);
  if (norm_axis(attr_int(c->nd, "axis", 0), x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
  o->ndim = 0;
  for (int d = 0; d < x->ndim; d++)
    if (d != axis) o->dims[o->ndim++] = x->dims[d];
    else if (keep) o->dims[o->ndim++] = 1;
  return 0;
}

static int r_topk(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  if (!x) return 0;
  onnx_vtype *v = tout(c, 0), *ix = tout(c, 1);
  *v = *x;
  v->nvals = -1;
  if (x->ndim >= 0) {
    int axis;
    if (norm_axis(attr_int(c->nd, "axis", -1), x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
    int64_t k[1];
    if (!tin(c, 1)) k[0] = clampv(attr_int(c->nd, "k", 0)); /* the kernel reads the input when there is one */
    else if (in_vals(c, 1, k, 1) != 1) k[0] = fresh(c);
    if (KNOWN(k[0]) && KNOWN(x->dims[axis]) && (k[0] < 0 || k[0] > x->dims[axis]))
      return bad(c, "k = %lld is outside [0, %lld]", (long long)k[0], (long long)x->dims[axis]);
    v->dims[axis] = k[0];
  }
  *ix = *v;
  ix->dtype = WM_ONNX_INT64;
  return 0;
}

static int r_range(ictx *c) {
  const onnx_vtype *s = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  o->dtype = s ? s->dtype : 0;
  o->ndim = 1;
  const wm_onnx_tensor *ts = cin(c, 0), *tl = cin(c, 1), *td = cin(c, 2);
  int64_t a[1], b[1], d[1];
  if (ts && tl && td && wm_onnx_numel(ts) == 1 && wm_onnx_numel(tl) == 1 && wm_onnx_numel(td) == 1 && ts->data && tl->data &&
      td->data) {
    int64_t n;
    if (tget(td, 0) == 0) return bad(c, "delta is zero");
    if (is_float_type(ts->dtype)) {
      double dd = tget(td, 0), q = ceil((tget(tl, 0) - tget(ts, 0)) / dd);
      n = q > 0 && q < 1e15 ? (int64_t)q : 0;
    } else {
      int64_t st = tget_i64(ts, 0), li = tget_i64(tl, 0), de = tget_i64(td, 0), span;
      if (__builtin_sub_overflow(li, st, &span)) n = fresh(c);
      else n = (span > 0) != (de > 0) || !span ? 0 : (span + (de > 0 ? -1 : 1)) / de + 1; /* ceil(span / de) */
    }
    o->dims[0] = n;
  } else if (in_vals(c, 0, a, 1) == 1 && in_vals(c, 1, b, 1) == 1 && in_vals(c, 2, d, 1) == 1 && a[0] == 0 && d[0] == 1)
    o->dims[0] = b[0]; /* Range(0, n, 1), position ids: n long */
  else o->dims[0] = fresh(c);
  if (KNOWN(o->dims[0]) && o->dims[0] <= MAXD && in_known(c, 0, a, 1) == 1 && in_known(c, 2, d, 1) == 1 &&
      is_int_type(o->dtype)) {
    o->nvals = (int)o->dims[0];
    for (int i = 0; i < o->nvals; i++) o->vals[i] = a[0] + i * d[0];
  }
  return 0;
}

static int r_constant_of_shape(ictx *c) {
  onnx_vtype *o = tout(c, 0);
  const onnx_attr *a = attr_find(c->nd, "value");
  o->dtype = a && a->t ? a->t->dtype : WM_ONNX_FLOAT;
  if (shape_from(c, 0, o)) return -1;
  int64_t v[1];
  if (o->ndim >= 0 && o->ndim <= 1 && a && a->t && const_ints(a->t, v, 1) == 1) {
    int64_t n = o->ndim ? o->dims[0] : 1;
    if (KNOWN(n) && n <= MAXD) {
      o->nvals = (int)n;
      for (int i = 0; i < n; i++) o->vals[i] = v[0];
    }
  }
  return 0;
}

static int r_constant(ictx *c) {
  const onnx_attr *a = c->nd->nattr ? &c->nd->attrs[c->nd->nattr - 1] : NULL; /* the kernel takes the last one */
  onnx_vtype *o = tout(c, 0);
  if (!a) return 0;
  if (a->type == ATTR_TENSOR && a->t) from_tensor(o, a->t);
  else if (a->type == ATTR_FLOAT || a->type == ATTR_INT) {
    o->dtype = a->type == ATTR_FLOAT ? WM_ONNX_FLOAT : WM_ONNX_INT64;
    o->ndim = 0;
    if (a->type == ATTR_INT) o->nvals = 1, o->vals[0] = clampv(a->i);
  } else if (a->type == ATTR_FLOATS || a->type == ATTR_INTS) {
    o->dtype = a->type == ATTR_FLOATS ? WM_ONNX_FLOAT : WM_ONNX_INT64;
    o->ndim = 1;
    o->dims[0] = (int64_t)a->n;
    if (a->type == ATTR_INTS && a->n <= MAXD) {
      o->nvals = (int)a->n;
      for (size_t i = 0; i < a->n; i++) o->vals[i] = clampv(a->ints[i]);
    }
  }
  return 0;
}

static int r_onehot(ictx *c) {
  const onnx_vtype *ix = tin(c, 0), *v = tin(c, 2);
  onnx_vtype *o = tout(c, 0);
  o->dtype = v ? v->dtype : 0;
  if (!ix || ix->ndim < 0 || ix->ndim + 1 > MAXD) return 0;
  int axis, nd = ix->ndim + 1;
  if (norm_axis(attr_int(c->nd, "axis", -1), nd, &axis)) return bad(c, "axis out of range for rank %d", nd);
  int64_t depth[1];
  if (in_vals(c, 1, depth, 1) != 1) depth[0] = fresh(c);
  o->ndim = nd;
  for (int d = 0, j = 0; d < nd; d++) o->dims[d] = d == axis ? depth[0] : ix->dims[j++];
  return 0;
}

static int r_depth_space(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  int64_t bs = attr_int(c->nd, "blocksize", 0), r;
  if (x->ndim != 4 || bs <= 0 || bs > (1 << 20)) return 0;
  int to_depth = !strcmp(c->nd->op_type, "SpaceToDepth");
  *o = *x;
  o->nvals = -1;
  o->dims[1] = to_depth ? dim_mul(c, x->dims[1], bs * bs) : arith(c, A_DIV, x->dims[1], bs * bs, 1, &r) ? r : fresh(c);
  for (int d = 2; d < 4; d++)
    o->dims[d] = !to_depth ? dim_mul(c, x->dims[d], bs) : arith(c, A_DIV, x->dims[d], bs, 1, &r) ? r : fresh(c);
  return 0;
}

static int r_eyelike(ictx *c) {
  r_same(c);
  const onnx_vtype *x = tin(c, 0);
  tout(c, 0)->dtype = (int)attr_int(c->nd, "dtype", x ? x->dtype : 0);
  return 0;
}

static int r_nonzero(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  o->dtype = WM_ONNX_INT64;
  o->ndim = 2;
  o->dims[0] = x && x->ndim >= 0 ? x->ndim : fresh(c);
  o->dims[1] = fresh(c);
  return 0;
}

static int r_compress(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  const onnx_attr *a = attr_find(c->nd, "axis");
  if (!a) {
    o->ndim = 1;
    o->dims[0] = fresh(c);
  } else if (x->ndim >= 0) {
    int axis;
    if (norm_axis(a->i, x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
    *o = *x;
    o->nvals = -1;
    o->dims[axis] = fresh(c);
  }
  return 0;
}

static int r_nms(ictx *c) {
  onnx_vtype *o = tout(c, 0);
  o->dtype = WM_ONNX_INT64;
  o->ndim = 2;
  o->dims[0] = fresh(c);
  o->dims[1] = 3;
  return 0;
}

static int r_unique(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  if (!x) return 0;
  int64_t u = fresh(c);
  const onnx_attr *a = attr_find(c->nd, "axis");
  onnx_vtype *y = tout(c, 0);
  int axis = -1;
  if (a && x->ndim >= 0 && norm_axis(a->i, x->ndim, &axis)) return bad(c, "axis out of range for rank %d", x->ndim);
  if (!a) y->ndim = 1, y->dims[0] = u;
  else if (x->ndim >= 0) *y = *x, y->nvals = -1, y->dims[axis] = u;
  y->dtype = x->dtype;
  for (int k = 1; k < 4; k++) {
    onnx_vtype *o = tout(c, k);
    o->dtype = WM_ONNX_INT64;
    o->ndim = 1;
    o->dims[0] = k != 2 ? u : axis >= 0 ? x->dims[axis] : x->ndim >= 0 ? dim_prod(c, x->dims, x->ndim) : fresh(c);
  }
  return 0;
}

static int r_quantize(ictx *c) {
  r_same(c);
  const onnx_vtype *zp = tin(c, 2);
  int64_t odt = attr_int(c->nd, "output_dtype", 0);
  tout(c, 0)->dtype = odt > 0 ? (int)odt : zp ? zp->dtype : WM_ONNX_UINT8;
  return 0;
}

static int r_dequantize(ictx *c) {
  r_same(c);
  const onnx_vtype *s = tin(c, 1);
  tout(c, 0)->dtype = s && s->dtype ? s->dtype : WM_ONNX_FLOAT;
  return 0;
}

static int r_dynamic_quantize(ictx *c) {
  r_same(c);
  tout(c, 0)->dtype = WM_ONNX_UINT8;
  onnx_vtype *s = tout(c, 1), *z = tout(c, 2);
  s->dtype = WM_ONNX_FLOAT, s->ndim = 0;
  z->dtype = WM_ONNX_UINT8, z->ndim = 0;
  return 0;
}

static int r_rnn(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *w = tin(c, 1);
  if (!x) return 0;
  const char *op = c->nd->op_type;
  int g = !strcmp(op, "LSTM") ? 4 : !strcmp(op, "GRU") ? 3 : 1, layout = (int)attr_int(c->nd, "layout", 0);
  int ndir = !strcmp(attr_str(c->nd, "direction", "forward"), "bidirectional") ? 2 : 1;
  int64_t h = attr_int(c->nd, "hidden_size", -1), r;
  if (h < 0) h = w && w->ndim == 3 && arith(c, A_DIV, w->dims[1], g, 1, &r) ? r : fresh(c);
  int64_t seq = x->ndim == 3 ? x->dims[layout] : fresh(c), batch = x->ndim == 3 ? x->dims[!layout] : fresh(c);
  onnx_vtype *y = tout(c, 0);
  y->dtype = x->dtype;
  y->ndim = 4;
  int64_t yd[2][4] = {{seq, ndir, batch, h}, {batch, seq, ndir, h}};
  memcpy(y->dims, yd[layout != 0], sizeof yd[0]);
  for (int k = 1; k < 3; k++) {
    onnx_vtype *o = tout(c, k);
    int64_t hd[2][3] = {{ndir, batch, h}, {batch, ndir, h}};
    o->dtype = x->dtype;
    o->ndim = 3;
    memcpy(o->dims, hd[layout != 0], sizeof hd[0]);
  }
  return 0;
}

static int r_einsum(ictx *c) {
  const char *eq = attr_str(c->nd, "equation", "");
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  o->dtype = x ? x->dtype : 0;
  if (strstr(eq, "...")) return 0;
  int64_t dim[128];
  int count[128] = {0}, seen[128] = {0}, in = 0, pos = 0;
  const char *p = eq;
  for (; *p && *p != '-'; p++) { /* bind each label to a dim of its input */
    unsigned char l = (unsigned char)*p;
    if (l == ',') { in++, pos = 0; continue; }
    if (l == ' ' || l >= 128) continue;
    const onnx_vtype *t = tin(c, in);
    count[l]++;
    if (!t || t->ndim < 0 || pos >= t->ndim) { if (!seen[l]) dim[l] = fresh(c), seen[l] = 1; pos++; continue; }
    int64_t d = t->dims[pos++];
    if (!seen[l]) dim[l] = d, seen[l] = 1;
    else if (bdim(c, &dim[l], d))
      return bad(c, "label '%c' is %lld in one input and %lld in another", l, (long long)dim[l], (long long)d);
  }
  o->ndim = 0;
  if (*p == '-' && p[1] == '>') {
    for (p += 2; *p; p++) {
      unsigned char l = (unsigned char)*p;
      if (l == ' ' || l >= 128) continue;
      if (!seen[l] || o->ndim >= MAXD) { unknown(o); o->dtype = x ? x->dtype : 0; return 0; }
      o->dims[o->ndim++] = dim[l];
    }
  } else
    for (int l = 0; l < 128; l++) /* implicit output: labels seen once, alphabetically */
      if (count[l] == 1 && o->ndim < MAXD) o->dims[o->ndim++] = dim[l];
  return 0;
}

static int r_grid_sample(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *g = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  if (x->ndim < 3 || !g || g->ndim != x->ndim) return 0;
  *o = *g;
  o->dtype = x->dtype;
  o->nvals = -1;
  o->dims[0] = x->dims[0];
  o->dims[1] = x->dims[1];
  for (int d = 2; d < x->ndim; d++) o->dims[d] = g->dims[d - 1];
  return 0;
}

static int r_roi_align(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *r = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  o->dtype = x->dtype;
  o->ndim = 4;
  o->dims[0] = r && r->ndim == 2 ? r->dims[0] : fresh(c);
  o->dims[1] = x->ndim == 4 ? x->dims[1] : fresh(c);
  o->dims[2] = attr_int(c->nd, "output_height", 1);
  o->dims[3] = attr_int(c->nd, "output_width", 1);
  return 0;
}

static int r_window(ictx *c) {
  onnx_vtype *o = tout(c, 0);
  int64_t n[1];
  o->dtype = (int)attr_int(c->nd, "output_datatype", WM_ONNX_FLOAT);
  o->ndim = 1;
  o->dims[0] = in_vals(c, 0, n, 1) == 1 ? n[0] : fresh(c);
  return 0;
}

static int r_loss(ictx *c) {
  const onnx_vtype *x = tin(c, 0), *t = tin(c, 1);
  onnx_vtype *o = tout(c, 0);
  o->dtype = x ? x->dtype : 0;
  if (strcmp(attr_str(c->nd, "reduction", "mean"), "none")) o->ndim = 0;
  else if (t) *o = *t, o->dtype = x ? x->dtype : 0, o->nvals = -1;
  if (x && !strcmp(c->nd->op_type, "SoftmaxCrossEntropyLoss")) *tout(c, 1) = *x, tout(c, 1)->nvals = -1;
  return 0;
}

static int r_det(ictx *c) {
  const onnx_vtype *x = tin(c, 0);
  onnx_vtype *o = tout(c, 0);
  if (!x) return 0;
  *o = *x;
  o->nvals = -1;
  o->ndim = x->ndim >= 2 ? x->ndim - 2 : -1;
  return 0;
}

static int r_optional_has(ictx *c) {
  tout(c, 0)->dtype = WM_ONNX_BOOL;
  tout(c, 0)->ndim = 0;
  return 0;
}

static int r_dtype_only(ictx *c) { /* shape rules beyond this pass: keep the element type */
  const onnx_vtype *x = tin(c, 0);
  tout(c, 0)->dtype = x ? x->dtype : 0;
  return 0;
}

/* ---- control flow: subgraph outputs ---- */
static int infer_plan(istate *s, wm_onnx_model *m, const onnx_vtype *hints, int nhints, int strict);

/* One of two alternatives (If branches, a Loop's initial value or its body's result): what both agree on. */
static void either(ictx *c, onnx_vtype *o, const onnx_vtype *a, const onnx_vtype *b) {
  onnx_vtype r;
  unknown(&r);
  r.dtype = a->dtype ? a->dtype : b->dtype;
  if (a->ndim >= 0 && a->ndim == b->ndim) {
    r.ndim = a->ndim;
    for (int d = 0; d < r.ndim; d++) r.dims[d] = a->dims[d] == b->dims[d] ? a->dims[d] : fresh(c);
  }
  *o = r;
}

static const onnx_vtype *sub_out(wm_onnx_model *s, int k) {
  return k < s->ir.graph->noutputs ? onnx_vtype_of(s, s->output_ids[k]) : NULL;
}

/* A Loop/Scan output stacking one element b per iteration along axis, count of them. Without an iteration the
 * executor can only give it the element's shape when inference knows it (graph.c acc_finish): else [0]. */
static void stacked(onnx_vtype *o, const onnx_vtype *b, int axis, int64_t count, int some) {
  int known = b->ndim >= 0;
  for (int d = 0; known && d < b->ndim; d++) known = KNOWN(b->dims[d]);
  o->dtype = b->dtype;
  if (b->ndim < 0 || b->ndim >= MAXD || (!some && !known && b->ndim)) return;
  o->ndim = b->ndim + 1;
  for (int d = 0, j = 0; d < o->ndim; d++) o->dims[d] = d == axis ? count : b->dims[j++];
}

static int r_if(ictx *c) {
  wm_onnx_model *t = onnx_plan_sub(c->m, c->ni, "then_branch"), *e = onnx_plan_sub(c->m, c->ni, "else_branch");
  const wm_onnx_tensor *cond = cin(c, 0);
  int64_t cv[1];
  if (cond && const_ints(cond, cv, 1) == 1) { /* a constant condition: the other branch never runs */
    if (cv[0]) e = NULL;
    else t = NULL;
  }
  if ((t && infer_plan(c->s, t, NULL, 0, 0)) || (e && infer_plan(c->s, e, NULL, 0, 0))) return -1;
  for (int k = 0; k < c->nd->nout; k++) {
    const onnx_vtype *a = t ? sub_out(t, k) : NULL, *b = e ? sub_out(e, k) : NULL;
    if (a && b) either(c, tout(c, k), a, b);
    else if (a || b) *tout(c, k) = a ? *a : *b, tout(c, k)->nvals = -1;
  }
  return 0;
}

static int r_loop(ictx *c) {
  wm_onnx_model *body = onnx_plan_sub(c->m, c->ni, "body");
  int n = c->nd->nin - 2;
  if (!body || n < 0 || body->ir.graph->ninputs != n + 2) return 0;
  onnx_vtype *h = calloc((size_t)n + 2, sizeof *h);
  if (!h) { c->s->nomem = 1; return -1; }
  for (int i = 0; i < n + 2; i++) unknown(&h[i]);
  h[0].dtype = WM_ONNX_INT64, h[0].ndim = 0;
  h[1].dtype = WM_ONNX_BOOL, h[1].ndim = 0;
  for (int i = 0; i < n; i++) h[2 + i].dtype = tin(c, 2 + i) ? tin(c, 2 + i)->dtype : 0; /* shapes may change */
  int rc = infer_plan(c->s, body, h, n + 2, 0);
  free(h);
  if (rc) return -1;
  int64_t v[1]; /* at least one iteration: a positive trip count (or none) and a true condition (or none) */
  int some = (!tin(c, 0) || (in_known(c, 0, v, 1) == 1 && v[0] > 0)) && (!tin(c, 1) || (in_known(c, 1, v, 1) == 1 && v[0]));
  for (int k = 0; k < c->nd->nout; k++) {
    const onnx_vtype *b = sub_out(body, 1 + k), *init = k < n ? tin(c, 2 + k) : NULL;
    if (!b) continue;
    if (k >= n) stacked(tout(c, k), b, 0, fresh(c), some);
    else if (init) either(c, tout(c, k), init, b);
  }
  return 0;
}

static int r_scan(ictx *c) {
  wm_onnx_model *body = onnx_plan_sub(c->m, c->ni, "body");
  int m = (int)attr_int(c->nd, "num_scan_inputs", 0), n = c->nd->nin - m;
  if (!body || c->nd->opset < 9 || m < 1 || n < 0 || body->ir.graph->ninputs != n + m) return 0;
  size_t cnt;
  const int64_t *iax = attr_ints(c->nd, "scan_input_axes", &cnt);
  if (iax && (int)cnt != m) iax = NULL;
  const int64_t *oax = attr_ints(c->nd, "scan_output_axes", &cnt);
  int nk = body->ir.graph->noutputs - n;
  if (oax && (int)cnt != nk) oax = NULL;
  onnx_vtype *h = calloc((size_t)(n + m), sizeof *h);
  if (!h) { c->s->nomem = 1; return -1; }
  int64_t len = fresh(c);
  for (int i = 0; i < n + m; i++) {
    const onnx_vtype *x = tin(c, i);
    unknown(&h[i]);
    if (!x) continue;
    h[i].dtype = x->dtype;
    int a;
    if (i >= n && x->ndim > 0 && !norm_axis(iax ? iax[i - n] : 0, x->ndim, &a)) { /* one slice along the axis */
      h[i].ndim = x->ndim - 1;
      for (int d = 0, j = 0; d < x->ndim; d++) if (d != a) h[i].dims[j++] = x->dims[d];
      if (i == n) len = x->dims[a];
    }
  }
  int rc = infer_plan(c->s, body, h, n + m, 0);
  free(h);
  if (rc) return -1;
  for (int k = 0; k < c->nd->nout; k++) {
    const onnx_vtype *b = sub_out(body, k), *init = k < n ? tin(c, k) : NULL;
    onnx_vtype *o = tout(c, k);
    if (!b) continue;
    if (k < n) {
      if (init) either(c, o, init, b);
      continue;
    }
    int a;
    o->dtype = b->dtype;
    if (b->ndim >= 0 && !norm_axis(oax ? oax[k - n] : 0, b->ndim + 1, &a)) stacked(o, b, a, len, KNOWN(len) && len > 0);
  }
  return 0;
}

/* ---- operator table ---- */
typedef int (*rule_fn)(ictx *c);

/* Sorted by name (strcmp order) for bsearch; r_same: output 0 has input 0's type and shape. */
static const struct rule {
  const char *op;
  rule_fn fn;
} rules[] = {
    {"Abs", r_same}, {"Acos", r_same}, {"Acosh", r_same}, {"Add", r_add}, {"AffineGrid", r_dtype_only},
    {"And", r_compare}, {"ArgMax", r_argmax}, {"ArgMin", r_argmax}, {"Asin", r_same}, {"Asinh", r_same},
    {"Atan", r_same}, {"Atanh", r_same}, {"AveragePool", r_pool}, {"BatchNormalization", r_batchnorm},
    {"BitShift", r_binary}, {"BitwiseAnd", r_binary}, {"BitwiseNot", r_same}, {"BitwiseOr", r_binary},
    {"BitwiseXor", r_binary}, {"BlackmanWindow", r_window}, {"Cast", r_cast}, {"CastLike", r_cast}, {"Ceil", r_same},
    {"Celu", r_same}, {"CenterCropPad", r_dtype_only}, {"Clip", r_same}, {"Col2Im", r_dtype_only},
    {"Compress", r_compress}, {"Concat", r_concat}, {"Constant", r_constant},
    {"ConstantOfShape", r_constant_of_shape}, {"Conv", r_conv}, {"ConvInteger", r_conv_integer},
    {"ConvTranspose", r_conv}, {"Cos", r_same}, {"Cosh", r_same}, {"CumSum", r_same}, {"DFT", r_dtype_only},
    {"DeformConv", r_conv}, {"DepthToSpace", r_depth_space}, {"DequantizeLinear", r_dequantize}, {"Det", r_det},
    {"Div", r_div}, {"Dropout", r_dropout}, {"DynamicQuantizeLinear", r_dynamic_quantize}, {"Einsum", r_einsum},
    {"Elu", r_same}, {"Equal", r_compare}, {"Erf", r_same}, {"Exp", r_same}, {"Expand", r_expand},
    {"EyeLike", r_eyelike}, {"Flatten", r_flatten}, {"Floor", r_same}, {"GRU", r_rnn}, {"Gather", r_gather},
    {"GatherElements", r_gather_elements}, {"GatherND", r_gather_nd}, {"Gelu", r_same}, {"Gemm", r_gemm},
    {"GlobalAveragePool", r_global_pool}, {"GlobalLpPool", r_global_pool}, {"GlobalMaxPool", r_global_pool},
    {"Greater", r_compare}, {"GreaterOrEqual", r_compare}, {"GridSample", r_grid_sample},
    {"GroupNormalization", r_same}, {"HammingWindow", r_window}, {"HannWindow", r_window}, {"HardSigmoid", r_same},
    {"HardSwish", r_same}, {"Hardmax", r_same}, {"Identity", r_identity}, {"If", r_if},
    {"InstanceNormalization", r_same}, {"IsInf", r_to_bool}, {"IsNaN", r_to_bool}, {"LRN", r_same}, {"LSTM", r_rnn},
    {"LayerNormalization", r_layernorm}, {"LeakyRelu", r_same}, {"Less", r_compare}, {"LessOrEqual", r_compare},
    {"Log", r_same}, {"LogSoftmax", r_same}, {"Loop", r_loop}, {"LpNormalization", r_same}, {"LpPool", r_pool},
    {"MatMul", r_matmul}, {"MatMulInteger", r_matmul}, {"Max", r_max}, {"MaxPool", r_pool},
    {"MaxUnpool", r_dtype_only}, {"Mean", r_binary}, {"MeanVarianceNormalization", r_same}, {"Min", r_min},
    {"Mish", r_same}, {"Mod", r_binary}, {"Mul", r_mul}, {"Neg", r_neg}, {"NegativeLogLikelihoodLoss", r_loss},
    {"NonMaxSuppression", r_nms}, {"NonZero", r_nonzero}, {"Not", r_same}, {"OneHot", r_onehot},
    {"OptionalGetElement", r_same}, {"OptionalHasElement", r_optional_has}, {"Or", r_compare}, {"PRelu", r_prelu},
    {"Pad", r_pad}, {"Pow", r_pow}, {"QLinearConv", r_qlinear_conv}, {"QuantizeLinear", r_quantize}, {"RNN", r_rnn},
    {"Range", r_range}, {"Reciprocal", r_same}, {"ReduceL1", r_reduce}, {"ReduceL2", r_reduce},
    {"ReduceLogSum", r_reduce}, {"ReduceLogSumExp", r_reduce}, {"ReduceMax", r_reduce}, {"ReduceMean", r_reduce},
    {"ReduceMin", r_reduce}, {"ReduceProd", r_reduce}, {"ReduceSum", r_reduce}, {"ReduceSumSquare", r_reduce},
    {"Relu", r_same}, {"Reshape", r_reshape}, {"Resize", r_resize}, {"ReverseSequence", r_same},
    {"RoiAlign", r_roi_align}, {"Round", r_same}, {"STFT", r_dtype_only}, {"Scan", r_scan}, {"Scatter", r_same},
    {"ScatterElements", r_same}, {"ScatterND", r_same}, {"Selu", r_same}, {"Shape", r_shape}, {"Shrink", r_same},
    {"Sigmoid", r_same}, {"Sign", r_same}, {"Sin", r_same}, {"Sinh", r_same}, {"Size", r_size}, {"Slice", r_slice},
    {"Softmax", r_same}, {"SoftmaxCrossEntropyLoss", r_loss}, {"Softplus", r_same}, {"Softsign", r_same},
    {"SpaceToDepth", r_depth_space}, {"Split", r_split}, {"Sqrt", r_same}, {"Squeeze", r_squeeze}, {"Sub", r_sub},
    {"Sum", r_binary}, {"Tan", r_same}, {"Tanh", r_same}, {"ThresholdedRelu", r_same}, {"Tile", r_tile},
    {"TopK", r_topk}, {"Transpose", r_transpose}, {"Trilu", r_same}, {"Unique", r_unique}, {"Unsqueeze", r_unsqueeze},
    {"Upsample", r_resize}, {"Where", r_where}, {"Xor", r_compare},
};

static int cmp_rule(const void *key, const void *r) { return strcmp(key, ((const struct rule *)r)->op); }

static rule_fn rule_of(const onnx_node *nd) {
  if (*nd->domain && strcmp(nd->domain, "ai.onnx")) return !strcmp(nd->op_type, "Binarizer") ? r_same : NULL;
  const struct rule *r = bsearch(nd->op_type, rules, sizeof rules / sizeof rules[0], sizeof rules[0], cmp_rule);
  return r ? r->fn : NULL;
}

/* ---- driver ---- */
static void sanitize(onnx_vtype *t) {
  if (t->ndim < -1 || t->ndim > MAXD) t->ndim = -1;
  if (t->nvals < -1 || t->nvals > MAXD) t->nvals = -1;
  if (t->dtype < 0) t->dtype = 0;
}

/* Infers plan m. hints give subgraph inputs what the enclosing node knows (dtype 0 / ndim -1: nothing). */
static int infer_plan(istate *s, wm_onnx_model *m, const onnx_vtype *hints, int nhints, int strict) {
  onnx_graph *g = m->ir.graph;
  ictx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.m = m;
  c.strict = strict;
  const onnx_value_info **decl = calloc((size_t)m->nvalues + 1, sizeof *decl);
  if (!m->types) m->types = malloc(((size_t)m->nvalues + 1) * sizeof *m->types);
  if (!decl || !m->types) { free(decl); s->nomem = 1; return -1; }
  for (int i = 0; i < m->nvalues; i++) {
    const onnx_value *v = &m->values[i];
    onnx_vtype *t = &m->types[i];
    unknown(t);
    if (v->kind == VAL_INIT && !v->decl) from_tensor(t, &v->init);
    else if (v->kind == VAL_INIT || v->kind == VAL_INPUT) { /* a caller may replace it: as declared, any value */
      from_decl(&c, t, v->decl);
      if (v->kind == VAL_INIT && !t->dtype) t->dtype = v->init.dtype;
    }
  }
  for (int i = 0; i < m->nouter; i++) m->types[m->outer_local[i]] = *onnx_vtype_of(m->parent, m->outer_parent[i]);
  for (int i = 0; i < g->ninputs && i < nhints; i++) {
    onnx_vtype *t = &m->types[m->input_ids[i]];
    if (hints[i].dtype) t->dtype = hints[i].dtype;
    if (hints[i].ndim >= 0) t->ndim = hints[i].ndim, memcpy(t->dims, hints[i].dims, sizeof t->dims);
  }
  for (int i = 0; i < g->nvalue_info + g->noutputs; i++) {
    const onnx_value_info *vi = i < g->nvalue_info ? &g->value_info[i] : &g->outputs[i - g->nvalue_info];
    int id = onnx_plan_lookup(m, vi->name);
    if (id >= 0 && m->values[id].kind == VAL_INTERMEDIATE && vi->dtype >= 0) decl[id] = vi;
  }
  int rc = 0;
  for (int p = 0; p < g->nnodes && !rc && !s->nomem; p++) {
    c.ni = m->order[p];
    c.nd = &g->nodes[c.ni];
    for (int k = 0; k < c.nd->nout; k++) if (c.nd->out[k] >= 0) unknown(&m->types[c.nd->out[k]]);
    rule_fn fn = rule_of(c.nd);
    if (fn && fn(&c)) {
      if (strict || s->nomem) rc = -1;
      for (int k = 0; k < c.nd->nout; k++) if (c.nd->out[k] >= 0) unknown(&m->types[c.nd->out[k]]);
    }
    for (int k = 0; k < c.nd->nout; k++) {
      int id = c.nd->out[k];
      if (id < 0) continue;
      sanitize(&m->types[id]);
      if (decl[id]) merge_decl(&c, &m->types[id], decl[id]);
    }
  }
  free(decl);
  return rc || s->nomem ? -1 : 0;
}

wm_onnx_status onnx_infer(wm_onnx_model *root, char *err, size_t errlen) {
  for (size_t i = 1; i < sizeof rules / sizeof rules[0]; i++) assert(strcmp(rules[i - 1].op, rules[i].op) < 0);
  istate s;
  memset(&s, 0, sizeof s);
  s.root = root;
  s.err = err;
  s.errlen = errlen;
  int rc = infer_plan(&s, root, NULL, 0, 1);
  free(s.named);
  if (s.nomem) {
    if (err && errlen) snprintf(err, errlen, "out of memory");
    return WM_ONNX_ERR_NOMEM;
  }
  return rc ? WM_ONNX_ERR_INVALID : WM_ONNX_OK;
}

/* ---- queries ---- */
const onnx_vtype *onnx_vtype_of(const wm_onnx_model *m, int id) {
  static const onnx_vtype none = {0, -1, -1, {0}, {0}};
  return m->types && id >= 0 && id < m->nvalues ? &m->types[id] : &none;
}

int wm_onnx_value_info(const wm_onnx_model *m, const char *name, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS],
                       const char *syms[WM_ONNX_MAX_DIMS]) {
  int id = name ? onnx_plan_lookup(m, name) : -1;
  if (id < 0) return -2;
  const onnx_vtype *t = onnx_vtype_of(m, id);
  if (dtype) *dtype = (wm_onnx_dtype)t->dtype;
  for (int d = 0; d < t->ndim; d++) {
    int sym = ONNX_IS_SYM(t->dims[d]) ? ONNX_SYM_ID(t->dims[d]) : -1;
    if (dims) dims[d] = sym >= 0 ? -1 : t->dims[d];
    if (syms) syms[d] = sym >= 0 && sym < m->nsyms ? m->syms[sym].name : NULL;
  }
  return t->ndim;
}

const char *wm_onnx_node_info(const wm_onnx_model *m, int i, const char **name, int *noutputs,
                              const char *const **outputs) {
  if (i < 0 || i >= m->ir.graph->nnodes) return NULL;
  const onnx_node *nd = &m->ir.graph->nodes[m->order[i]];
  if (name) *name = nd->name;
  if (noutputs) *noutputs = nd->nout;
  if (outputs) *outputs = nd->out_names;
  return nd->op_type;
}
