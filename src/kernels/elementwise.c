/* elementwise.c — unary math/activation ops, numpy-broadcasting binary/variadic ops, comparisons, logic,
 * Where, Clip and Cast. Float32 has direct loops; other types go through int64 or double. */
#include "kernels.h"

/* ---------------- broadcast iterator ---------------- */
typedef struct bc_iter {
  int nd, n;
  int64_t dims[WM_ONNX_MAX_DIMS], st[3][WM_ONNX_MAX_DIMS], idx[WM_ONNX_MAX_DIMS], off[3];
} bc_iter;

static void bc_init(bc_iter *it, int n, const wm_onnx_tensor *const *ts, int nd, const int64_t *dims) {
  memset(it, 0, sizeof *it);
  it->nd = nd;
  it->n = n;
  for (int d = 0; d < nd; d++) it->dims[d] = dims[d];
  for (int k = 0; k < n; k++) broadcast_strides(ts[k], nd, dims, it->st[k]);
}

static inline void bc_next(bc_iter *it) {
  for (int d = it->nd - 1; d >= 0; d--) {
    it->idx[d]++;
    for (int k = 0; k < it->n; k++) it->off[k] += it->st[k][d];
    if (it->idx[d] < it->dims[d]) return;
    for (int k = 0; k < it->n; k++) it->off[k] -= it->st[k][d] * it->dims[d];
    it->idx[d] = 0;
  }
}

/* ---------------- unary ---------------- */
enum {
  U_RELU, U_LEAKY, U_ELU, U_SELU, U_CELU, U_HSIG, U_HSWISH, U_THRELU, U_SOFTPLUS, U_SOFTSIGN, U_MISH, U_GELU,
  U_GELU_TANH, U_SIGMOID, U_TANH, U_EXP, U_LOG, U_SQRT, U_RECIP, U_ABS, U_NEG, U_FLOOR, U_CEIL, U_ROUND, U_SIGN,
  U_SIN, U_COS, U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH, U_COSH, U_ASINH, U_ACOSH, U_ATANH, U_ERF, U_SHRINK,
  U_IDENTITY,
};

typedef struct uparams { double alpha, beta, gamma; } uparams;

static double sigmoid_d(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

static double unary_eval(int op, double x, const uparams *p) {
  switch (op) {
  case U_RELU: return x > 0 ? x : 0;
  case U_LEAKY: return x >= 0 ? x : p->alpha * x;
  case U_ELU: return x >= 0 ? x : p->alpha * (exp(x) - 1);
  case U_SELU: return x > 0 ? p->gamma * x : p->gamma * (p->alpha * exp(x) - p->alpha);
  case U_CELU: return (x > 0 ? x : 0) + fmin(0, p->alpha * (exp(x / p->alpha) - 1));
  case U_HSIG: return fmax(0, fmin(1, p->alpha * x + p->beta));
  case U_HSWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
  case U_THRELU: return x > p->alpha ? x : 0;
  case U_SOFTPLUS: return x > 30 ? x : log1p(exp(x));
  case U_SOFTSIGN: return x / (1 + fabs(x));
  case U_MISH: return x * tanh(x > 30 ? x : log1p(exp(x)));
  case U_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  case U_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  case U_SIGMOID: return sigmoid_d(x);
  case U_TANH: return tanh(x);
  case U_EXP: return exp(x);
  case U_LOG: return log(x);
  case U_SQRT: return sqrt(x);
  case U_RECIP: return 1.0 / x;
  case U_ABS: return fabs(x);
  case U_NEG: return -x;
  case U_FLOOR: return floor(x);
  case U_CEIL: return ceil(x);
  case U_ROUND: return nearbyint(x);
  case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : x;
  case U_SIN: return sin(x);
  case U_COS: return cos(x);
  case U_TAN: return tan(x);
  case U_ASIN: return asin(x);
  case U_ACOS: return acos(x);
  case U_ATAN: return atan(x);
  case U_SINH: return sinh(x);
  case U_COSH: return cosh(x);
  case U_ASINH: return asinh(x);
  case U_ACOSH: return acosh(x);
  case U_ATANH: return atanh(x);
  case U_ERF: return erf(x);
  case U_SHRINK: return x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0;
  default: return x;
  }
}

static int64_t unary_eval_int(int op, int64_t x, const uparams *p, int *ok) {
  *ok = 1;
  switch (op) {
  case U_RELU: return x > 0 ? x : 0;
  case U_ABS: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
  case U_NEG: return (int64_t)(0 - (uint64_t)x);
  case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
  case U_IDENTITY: case U_FLOOR: case U_CEIL: case U_ROUND: return x;
  case U_SHRINK: {
    double d = unary_eval(op, (double)x, p);
    return (int64_t)d;
  }
  default: *ok = 0; return 0;
  }
}

static int run_unary(onnx_kernel_ctx *k, int op, uparams p) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (out_alloc_nz(k, 0, x->dtype, x->ndim, x->dims)) return -1;
  wm_onnx_tensor *y = k->out[0];
  int64_t n = wm_onnx_numel(x);
  if (x->dtype == WM_ONNX_FLOAT) {
    const float *a = x->data;
    float *o = y->data;
    const cpu_kernels *ck = cpu_kernels_get();
    switch (op) {
    case U_RELU: ck->act(o, a, n, 1.0f, 0.0f, NULL, ACT_RELU, 0, 0); break;
    case U_SIGMOID: ck->act(o, a, n, 1.0f, 0.0f, NULL, ACT_SIGMOID, 0, 0); break;
    case U_HSIG: ck->act(o, a, n, 1.0f, 0.0f, NULL, ACT_HSIGMOID, (float)p.alpha, (float)p.beta); break;
    case U_ERF: for (int64_t i = 0; i < n; i++) o[i] = erff(a[i]); break;
    case U_GELU: ck->act(o, a, n, 1.0f, 0.0f, NULL, ACT_GELU, 0, 0); break;
    case U_TANH: for (int64_t i = 0; i < n; i++) o[i] = tanhf(a[i]); break;
    case U_EXP: for (int64_t i = 0; i < n; i++) o[i] = expf(a[i]); break;
    case U_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(a[i]); break;
    case U_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(a[i]); break;
    case U_NEG: for (int64_t i = 0; i < n; i++) o[i] = -a[i]; break;
    case U_HSWISH: ck->act(o, a, n, 1.0f, 0.0f, NULL, ACT_HSWISH, 0, 0); break;
    case U_LEAKY: ck->act(o, a, n, 1.0f, 0.0f, NULL, ACT_LEAKY, (float)p.alpha, 0); break;
    default: for (int64_t i = 0; i < n; i++) o[i] = (float)unary_eval(op, a[i], &p); break;
    }
    return 0;
  }
  if (is_float_type(x->dtype)) {
    for (int64_t i = 0; i < n; i++) tset(y, i, unary_eval(op, tget(x, i), &p));
    return 0;
  }
  if (is_int_type(x->dtype)) {
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) tset_i64(y, i, unary_eval_int(op, tget_i64(x, i), &p, &ok));
    if (ok) return 0;
  }
  return kfail(k, "type %s not supported", wm_onnx_dtype_name(x->dtype));
}

#define UNARY_OP(Name, OP)                                  \
  KERNEL(Name) {                                            \
    uparams p = {0, 0, 0};                                  \
    return run_unary(k, OP, p);                             \
  }
UNARY_OP(Relu, U_RELU)
UNARY_OP(HardSwish, U_HSWISH)
UNARY_OP(Softplus, U_SOFTPLUS)
UNARY_OP(Softsign, U_SOFTSIGN)
UNARY_OP(Mish, U_MISH)
UNARY_OP(Sigmoid, U_SIGMOID)
UNARY_OP(Tanh, U_TANH)
UNARY_OP(Exp, U_EXP)
UNARY_OP(Log, U_LOG)
UNARY_OP(Sqrt, U_SQRT)
UNARY_OP(Reciprocal, U_RECIP)
UNARY_OP(Abs, U_ABS)
UNARY_OP(Neg, U_NEG)
UNARY_OP(Floor, U_FLOOR)
UNARY_OP(Ceil, U_CEIL)
UNARY_OP(Round, U_ROUND)
UNARY_OP(Sign, U_SIGN)
UNARY_OP(Sin, U_SIN)
UNARY_OP(Cos, U_COS)
UNARY_OP(Tan, U_TAN)
UNARY_OP(Asin, U_ASIN)
UNARY_OP(Acos, U_ACOS)
UNARY_OP(Atan, U_ATAN)
UNARY_OP(Sinh, U_SINH)
UNARY_OP(Cosh, U_COSH)
UNARY_OP(Asinh, U_ASINH)
UNARY_OP(Acosh, U_ACOSH)
UNARY_OP(Atanh, U_ATANH)
UNARY_OP(Erf, U_ERF)

KERNEL(LeakyRelu) { uparams p = {attr_float(k->node, "alpha", 0.01f), 0, 0}; return run_unary(k, U_LEAKY, p); }
KERNEL(Elu) { uparams p = {attr_float(k->node, "alpha", 1.0f), 0, 0}; return run_unary(k, U_ELU, p); }
KERNEL(Celu) { uparams p = {attr_float(k->node, "alpha", 1.0f), 0, 0}; return run_unary(k, U_CELU, p); }
KERNEL(ThresholdedRelu) { uparams p = {attr_float(k->node, "alpha", 1.0f), 0, 0}; return run_unary(k, U_THRELU, p); }
KERNEL(Selu) {
  uparams p = {attr_float(k->node, "alpha", 1.67326319217681884765625f), 0,
               attr_float(k->node, "gamma", 1.05070102214813232421875f)};
  return run_unary(k, U_SELU, p);
}
KERNEL(HardSigmoid) {
  uparams p = {attr_float(k->node, "alpha", 0.2f), attr_float(k->node, "beta", 0.5f), 0};
  return run_unary(k, U_HSIG, p);
}
KERNEL(Shrink) {
  uparams p = {attr_float(k->node, "lambd", 0.5f), attr_float(k->node, "bias", 0.0f), 0};
  return run_unary(k, U_SHRINK, p);
}
KERNEL(Gelu) {
  uparams p = {0, 0, 0};
  return run_unary(k, strcmp(attr_str(k->node, "approximate", "none"), "tanh") ? U_GELU : U_GELU_TANH, p);
}

KERNEL(IsNaN) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "IsNaN")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (out_alloc(k, 0, WM_ONNX_BOOL, x->ndim, x->dims)) return -1;
  uint8_t *o = k->out[0]->data;
  int64_t n = wm_onnx_numel(x);
  for (int64_t i = 0; i < n; i++) o[i] = isnan(tget(x, i));
  return 0;
}

KERNEL(IsInf) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "IsInf")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int pos = (int)attr_int(k->node, "detect_positive", 1), neg = (int)attr_int(k->node, "detect_negative", 1);
  if (out_alloc(k, 0, WM_ONNX_BOOL, x->ndim, x->dims)) return -1;
  uint8_t *o = k->out[0]->data;
  int64_t n = wm_onnx_numel(x);
  for (int64_t i = 0; i < n; i++) {
    double v = tget(x, i);
    o[i] = isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
  }
  return 0;
}

KERNEL(Not) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (x->dtype != WM_ONNX_BOOL) return kfail(k, "Not needs bool input");
  if (out_like(k, 0, x)) return -1;
  const uint8_t *a = x->data;
  uint8_t *o = k->out[0]->data;
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) o[i] = !a[i];
  return 0;
}

KERNEL(BitwiseNot) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (!is_int_type(x->dtype)) return kfail(k, "BitwiseNot needs an integer input");
  if (out_like(k, 0, x)) return -1;
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) tset_i64(k->out[0], i, ~tget_i64(x, i));
  return 0;
}

/* ---------------- binary / variadic ---------------- */
enum {
  B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MOD, B_FMOD, B_MIN, B_MAX, B_EQ, B_LT, B_GT, B_LE, B_GE, B_AND, B_OR,
  B_XOR, B_SHL, B_SHR, B_BAND, B_BOR, B_BXOR, B_PRELU,
};

static int is_compare(int op) { return op >= B_EQ && op <= B_GE; }
static int is_logic(int op) { return op >= B_AND && op <= B_XOR; }

static double bin_d(int op, double a, double b) {
  switch (op) {
  case B_ADD: return a + b;
  case B_SUB: return a - b;
  case B_MUL: return a * b;
  case B_DIV: return a / b;
  case B_POW: return pow(a, b);
  case B_FMOD: return fmod(a, b);
  case B_MOD: {
    double r = fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  case B_MIN: return (a != a || b != b) ? NAN : a < b ? a : b;
  case B_MAX: return (a != a || b != b) ? NAN : a > b ? a : b;
  case B_EQ: return a == b;
  case B_LT: return a < b;
  case B_GT: return a > b;
  case B_LE: return a <= b;
  case B_GE: return a >= b;
  case B_PRELU: return a < 0 ? a * b : a;
  default: return 0;
  }
}

static int64_t bin_i(int op, int64_t a, int64_t b, int uns) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case B_ADD: return (int64_t)(ua + ub);
  case B_SUB: return (int64_t)(ua - ub);
  case B_MUL: return (int64_t)(ua * ub);
  case B_DIV:
    if (b == 0) return 0;
    if (uns) return (int64_t)(ua / ub);
    if (a == INT64_MIN && b == -1) return a;
    return a / b;
  case B_POW: {
    if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
    uint64_t r = 1, base = ua;
    for (int64_t e = b; e > 0; e >>= 1) {
      if (e & 1) r *= base;
      base *= base;
    }
    return (int64_t)r;
  }
  case B_FMOD:
    if (b == 0) return 0;
    if (uns) return (int64_t)(ua % ub);
    if (b == -1) return 0;
    return a % b;
  case B_MOD: {
    if (b == 0) return 0;
    if (uns) return (int64_t)(ua % ub);
    if (b == -1) return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  case B_MIN: return uns ? (ua < ub ? a : b) : (a < b ? a : b);
  case B_MAX: return uns ? (ua > ub ? a : b) : (a > b ? a : b);
  case B_EQ: return a == b;
  case B_LT: return uns ? ua < ub : a < b;
  case B_GT: return uns ? ua > ub : a > b;
  case B_LE: return uns ? ua <= ub : a <= b;
  case B_GE: return uns ? ua >= ub : a >= b;
  case B_AND: return a && b;
  case B_OR: return a || b;
  case B_XOR: return (!a) != (!b);
  case B_SHL: return ub >= 64 ? 0 : (int64_t)(ua << ub);
  case B_SHR: return ub >= 64 ? 0 : (int64_t)(ua >> ub);
  case B_BAND: return a & b;
  case B_BOR: return a | b;
  case B_BXOR: return a ^ b;
  case B_PRELU: return a < 0 ? (int64_t)(ua * ub) : a;
  default: return 0;
  }
}

/* The float fast paths of binary_into, as tasks over runs of blocks so that large tensors use the thread pool (a
 * squeeze-excite Mul over efficientnet's 56x56 maps ran on one thread at two). FULL: both operands whole (blocks
 * are chunks); SCALAR: b is one value; REPEAT: the small operand is every block's trailing vector; RUNS: one value
 * of the small operand per block (its offset advanced over the leading dims). */
enum { FBIN_NONE, FBIN_FULL, FBIN_SCALAR, FBIN_REPEAT, FBIN_RUNS };
#define FBIN_CHUNK 16384
#define FBIN_PAR_MIN ((int64_t)1 << 15) /* elements; below, waking the workers costs more than it saves */
typedef struct fbin_job {
  int op, full_a;
  const float *pf, *ps; /* the full operand, the other (FULL: a and b) */
  float *o;
  int64_t n, mode, len, per;
  const int64_t *st, *dims; /* RUNS: the small operand's strides over the output dims, and those dims */
  int t;                    /* RUNS: how many leading dims the blocks run over */
} fbin_job;

/* y = f op v (v per element, or the scalar sv when v is NULL); the small operand goes first when !full_a */
static void fbin_span(int op, int full_a, float *restrict y, const float *f, const float *v, float sv, int64_t len) {
  if (v) switch (op) {
    case B_ADD: for (int64_t i = 0; i < len; i++) y[i] = f[i] + v[i]; return;
    case B_MUL: for (int64_t i = 0; i < len; i++) y[i] = f[i] * v[i]; return;
    case B_SUB: if (full_a) for (int64_t i = 0; i < len; i++) y[i] = f[i] - v[i];
                else for (int64_t i = 0; i < len; i++) y[i] = v[i] - f[i];
                return;
    default: if (full_a) for (int64_t i = 0; i < len; i++) y[i] = f[i] / v[i];
             else for (int64_t i = 0; i < len; i++) y[i] = v[i] / f[i];
             return;
    }
  switch (op) {
  case B_ADD: for (int64_t i = 0; i < len; i++) y[i] = f[i] + sv; return;
  case B_MUL: for (int64_t i = 0; i < len; i++) y[i] = f[i] * sv; return;
  case B_SUB: if (full_a) for (int64_t i = 0; i < len; i++) y[i] = f[i] - sv;
              else for (int64_t i = 0; i < len; i++) y[i] = sv - f[i];
              return;
  default: if (full_a) for (int64_t i = 0; i < len; i++) y[i] = f[i] / sv;
           else for (int64_t i = 0; i < len; i++) y[i] = sv / f[i];
           return;
  }
}

static void fbin_task(void *arg, int64_t task, int tid) {
  (void)tid;
  const fbin_job *j = arg;
  int64_t b0 = task * j->per, blocks = (j->n + j->len - 1) / j->len, b1 = b0 + j->per < blocks ? b0 + j->per : blocks;
  int64_t idx[WM_ONNX_MAX_DIMS] = {0}, off = 0;
  if (j->mode == FBIN_RUNS) { /* the first block's position over the leading dims; then counted along */
    int64_t q = b0;
    for (int d = j->t - 1; d >= 0; d--) {
      idx[d] = q % j->dims[d];
      q /= j->dims[d];
      off += idx[d] * j->st[d];
    }
  }
  for (int64_t bl = b0; bl < b1; bl++) {
    int64_t at = bl * j->len, len = j->n - at < j->len ? j->n - at : j->len;
    const float *f = j->pf + at;
    float *y = j->o + at;
    switch (j->mode) {
    case FBIN_FULL: fbin_span(j->op, 1, y, f, j->ps + at, 0.f, len); break;
    case FBIN_SCALAR: fbin_span(j->op, 1, y, f, NULL, j->ps[0], len); break;
    case FBIN_REPEAT: fbin_span(j->op, j->full_a, y, f, j->ps, 0.f, len); break;
    default:
      fbin_span(j->op, j->full_a, y, f, NULL, j->ps[off], len);
      for (int d = j->t - 1; d >= 0; d--) { /* next block: advance the small operand's offset */
        off += j->st[d];
        if (++idx[d] < j->dims[d]) break;
        off -= j->st[d] * j->dims[d];
        idx[d] = 0;
      }
    }
  }
}

/* Computes out = a op b with broadcasting into output slot `idx` (or accumulates when acc != NULL). */
static int binary_into(onnx_kernel_ctx *k, int op, const wm_onnx_tensor *a, const wm_onnx_tensor *b, wm_onnx_tensor *dst) {
  const wm_onnx_tensor *ts[2] = {a, b};
  bc_iter it;
  bc_init(&it, 2, ts, dst->ndim, dst->dims);
  int64_t n = wm_onnx_numel(dst);
  int dt = a->dtype;
  if (dt == WM_ONNX_FLOAT && b->dtype == WM_ONNX_FLOAT && dst->dtype == WM_ONNX_FLOAT) {
    const float *pa = a->data, *pb = b->data;
    float *o = dst->data;
    int64_t na = wm_onnx_numel(a), nb = wm_onnx_numel(b);
    int arith = op == B_ADD || op == B_SUB || op == B_MUL || op == B_DIV;
    int64_t st[WM_ONNX_MAX_DIMS]; /* the job keeps a pointer to it */
    fbin_job j = {op, 1, pa, pb, o, n, FBIN_NONE, FBIN_CHUNK, 0, NULL, NULL, 0};
    if (arith && na == n && nb == n) j.mode = FBIN_FULL;
    else if (arith && nb == 1) j.mode = FBIN_SCALAR;
    else if (arith && n > 0 && (na == n || nb == n) && dst->ndim > 0) {
      /* one operand full, the other broadcast: either one value per block of trailing elements (a [N,C,1,1]
       * scale) or one vector repeated over the leading dims (a bias row) — both become flat loops */
      int full_a = na == n;
      const wm_onnx_tensor *small = full_a ? b : a;
      broadcast_strides(small, dst->ndim, dst->dims, st);
      int nd = dst->ndim, t = nd;
      int64_t run = 1;
      while (t > 0 && st[t - 1] == 0) run *= dst->dims[--t];
      int64_t vec = wm_onnx_numel(small);
      int rep = run == 1 && vec > 1 && n % vec == 0;
      if (rep) { /* small's elements must be exactly the trailing block of the output */
        int64_t prod = 1;
        int d = nd;
        while (d > 0 && prod < vec) prod *= dst->dims[--d];
        for (int e = 0; e < d; e++) rep &= st[e] == 0 || dst->dims[e] == 1; /* a size-1 dim keeps its stride */
        rep &= prod == vec;
      }
      if (run >= 4 || rep) {
        j.mode = rep ? FBIN_REPEAT : FBIN_RUNS, j.full_a = full_a;
        j.pf = full_a ? pa : pb, j.ps = full_a ? pb : pa;
        j.len = rep ? vec : run;
        j.st = st, j.dims = dst->dims, j.t = t;
      }
    }
    if (j.mode && n == 0) return 0;
    if (j.mode) {
      int64_t blocks = (n + j.len - 1) / j.len, nt = n >= FBIN_PAR_MIN ? wm_onnx_get_threads() : 1;
      j.per = nt > 1 ? (blocks + nt * 4 - 1) / (nt * 4) : blocks;
      par_for((blocks + j.per - 1) / j.per, fbin_task, &j);
      return 0;
    }
    switch (op) {
    case B_ADD: for (int64_t i = 0; i < n; i++, bc_next(&it)) o[i] = pa[it.off[0]] + pb[it.off[1]]; return 0;
    case B_SUB: for (int64_t i = 0; i < n; i++, bc_next(&it)) o[i] = pa[it.off[0]] - pb[it.off[1]]; return 0;
    case B_MUL: for (int64_t i = 0; i < n; i++, bc_next(&it)) o[i] = pa[it.off[0]] * pb[it.off[1]]; return 0;
    case B_DIV: for (int64_t i = 0; i < n; i++, bc_next(&it)) o[i] = pa[it.off[0]] / pb[it.off[1]]; return 0;
    default:
      for (int64_t i = 0; i < n; i++, bc_next(&it)) o[i] = (float)bin_d(op, pa[it.off[0]], pb[it.off[1]]);
      return 0;
    }
  }
  if (is_float_type(dt) || (op == B_POW && is_float_type(b->dtype))) {
    for (int64_t i = 0; i < n; i++, bc_next(&it)) tset(dst, i, bin_d(op, tget(a, it.off[0]), tget(b, it.off[1])));
    return 0;
  }
  if (is_int_type(dt) || dt == WM_ONNX_BOOL) {
    int uns = is_unsigned_type(dt);
    for (int64_t i = 0; i < n; i++, bc_next(&it))
      tset_i64(dst, i, bin_i(op, tget_i64(a, it.off[0]), tget_i64(b, it.off[1]), uns));
    return 0;
  }
  return kfail(k, "type %s not supported", wm_onnx_dtype_name(dt));
}

static int run_binary(onnx_kernel_ctx *k, int op) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *a = k->in[0], *b = k->in[1];
  if (a->dtype != b->dtype && op != B_POW)
    return kfail(k, "input types differ (%s vs %s)", wm_onnx_dtype_name(a->dtype), wm_onnx_dtype_name(b->dtype));
  if (is_logic(op) && a->dtype != WM_ONNX_BOOL) return kfail(k, "logical op needs bool inputs");
  const wm_onnx_tensor *ts[2] = {a, b};
  int nd;
  int64_t dims[WM_ONNX_MAX_DIMS];
  if (broadcast_shape(k, 2, ts, &nd, dims)) return -1;
  wm_onnx_dtype odt = is_compare(op) ? WM_ONNX_BOOL : a->dtype;
  /* An input read by nothing after this node, of the output's type and shape, gives the output its buffer: every
   * value is read before it is written in place, and the activation arena then plans the two as one slot (the
   * squeeze-excite Mul of efficientnet rewrites its input instead of filling a fresh tensor). */
  for (int i = 0; i < 2; i++) {
    const wm_onnx_tensor *t = ts[i];
    int fits = t->dtype == odt && t->ndim == nd;
    for (int d = 0; fits && d < nd; d++) fits = t->dims[d] == dims[d];
    wm_onnx_tensor view = *t; /* the input's values, in the buffer the output now owns */
    view.flags = 0;
    if (fits && out_take_input(k, 0, t, nd, dims))
      return binary_into(k, op, i == 0 ? &view : a, i == 1 ? &view : b, k->out[0]);
  }
  if (out_alloc_nz(k, 0, odt, nd, dims)) return -1;
  return binary_into(k, op, a, b, k->out[0]);
}

#define BINARY_OP(Name, OP) KERNEL(Name) { return run_binary(k, OP); }
BINARY_OP(Add, B_ADD)
BINARY_OP(Sub, B_SUB)
BINARY_OP(Mul, B_MUL)
BINARY_OP(Div, B_DIV)
BINARY_OP(Pow, B_POW)
BINARY_OP(Equal, B_EQ)
BINARY_OP(Less, B_LT)
BINARY_OP(Greater, B_GT)
BINARY_OP(LessOrEqual, B_LE)
BINARY_OP(GreaterOrEqual, B_GE)
BINARY_OP(And, B_AND)
BINARY_OP(Or, B_OR)
BINARY_OP(Xor, B_XOR)
BINARY_OP(BitwiseAnd, B_BAND)
BINARY_OP(BitwiseOr, B_BOR)
BINARY_OP(BitwiseXor, B_BXOR)

KERNEL(PRelu) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *s = k->in[1];
  /* opset < 7 exports give a per-channel slope [C] for NCHW input: align it with axis 1 */
  if (s->ndim == 1 && x->ndim > 2 && s->dims[0] == x->dims[1] && s->dims[0] != x->dims[x->ndim - 1] && s->dims[0] != 1) {
    wm_onnx_tensor s2 = *s;
    s2.ndim = x->ndim - 1;
    for (int d = 0; d < s2.ndim; d++) s2.dims[d] = d == 0 ? s->dims[0] : 1;
    const wm_onnx_tensor *saved = k->in[1];
    k->in[1] = &s2;
    int rc = run_binary(k, B_PRELU);
    k->in[1] = saved;
    return rc;
  }
  return run_binary(k, B_PRELU);
}

KERNEL(Mod) { return run_binary(k, attr_int(k->node, "fmod", 0) ? B_FMOD : B_MOD); }
KERNEL(BitShift) { return run_binary(k, strcmp(attr_str(k->node, "direction", ""), "LEFT") ? B_SHR : B_SHL); }

/* Min/Max/Sum/Mean fold their inputs pairwise into a broadcast accumulator. */
static int run_variadic(onnx_kernel_ctx *k, int op, int mean) {
  int nin = 0;
  const wm_onnx_tensor *ts[64];
  for (int i = 0; i < k->nin && nin < 64; i++)
    if (k->in[i]) ts[nin++] = k->in[i];
  if (!nin) return kfail(k, "needs at least one input");
  if (need_inputs(k, 0)) return -1;
  for (int i = 1; i < nin; i++)
    if (ts[i]->dtype != ts[0]->dtype) return kfail(k, "input types differ");
  int nd;
  int64_t dims[WM_ONNX_MAX_DIMS];
  if (broadcast_shape(k, nin, ts, &nd, dims)) return -1;
  if (out_alloc(k, 0, ts[0]->dtype, nd, dims)) return -1;
  wm_onnx_tensor *o = k->out[0];
  /* seed with input 0 broadcast, via "a op identity" is not generic, so copy with a broadcast walk */
  {
    const wm_onnx_tensor *one[1] = {ts[0]};
    bc_iter it;
    bc_init(&it, 1, one, nd, dims);
    size_t es = wm_onnx_dtype_size(o->dtype);
    int64_t n = wm_onnx_numel(o);
    for (int64_t i = 0; i < n; i++, bc_next(&it))
      memcpy((char *)o->data + i * es, (const char *)ts[0]->data + it.off[0] * es, es);
  }
  for (int i = 1; i < nin; i++)
    if (binary_into(k, op, o, ts[i], o)) return -1;
  if (mean) {
    int64_t n = wm_onnx_numel(o);
    for (int64_t i = 0; i < n; i++) tset(o, i, tget(o, i) / nin);
  }
  return 0;
}
KERNEL(Min) { return run_variadic(k, B_MIN, 0); }
KERNEL(Max) { return run_variadic(k, B_MAX, 0); }
KERNEL(Sum) { return run_variadic(k, B_ADD, 0); }
KERNEL(Mean) { return run_variadic(k, B_ADD, 1); }

KERNEL(Where) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *c = k->in[0], *a = k->in[1], *b = k->in[2];
  if (c->dtype != WM_ONNX_BOOL) return kfail(k, "condition must be bool");
  if (a->dtype != b->dtype) return kfail(k, "X and Y types differ");
  const wm_onnx_tensor *ts[3] = {c, a, b};
  int nd;
  int64_t dims[WM_ONNX_MAX_DIMS];
  if (broadcast_shape(k, 3, ts, &nd, dims) || out_alloc(k, 0, a->dtype, nd, dims)) return -1;
  bc_iter it;
  bc_init(&it, 3, ts, nd, dims);
  size_t es = wm_onnx_dtype_size(a->dtype);
  const uint8_t *pc = c->data;
  char *o = k->out[0]->data;
  for (int64_t i = 0, n = wm_onnx_numel(k->out[0]); i < n; i++, bc_next(&it)) {
    if (pc[it.off[0]]) memcpy(o + i * es, (const char *)a->data + it.off[1] * es, es);
    else memcpy(o + i * es, (const char *)b->data + it.off[2] * es, es);
  }
  return 0;
}

KERNEL(Clip) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (out_alloc_nz(k, 0, x->dtype, x->ndim, x->dims)) return -1;
  int64_t n = wm_onnx_numel(x);
  if (is_float_type(x->dtype)) {
    double lo = -INFINITY, hi = INFINITY;
    if (k->opset < 11) {
      lo = attr_float(k->node, "min", -3.402823466e+38f);
      hi = attr_float(k->node, "max", 3.402823466e+38f);
    }
    if (kin(k, 1) && wm_onnx_numel(k->in[1]) > 0) lo = tget(k->in[1], 0);
    if (kin(k, 2) && wm_onnx_numel(k->in[2]) > 0) hi = tget(k->in[2], 0);
    if (x->dtype == WM_ONNX_FLOAT) {
      const float *a = x->data;
      float *o = k->out[0]->data, l = (float)lo, h = (float)hi;
      if (l <= h) cpu_kernels_get()->act(o, a, n, 1.0f, 0.0f, NULL, ACT_CLIP, l, h);
      else for (int64_t i = 0; i < n; i++) o[i] = a[i] < l ? l : a[i] > h ? h : a[i];
    } else {
      for (int64_t i = 0; i < n; i++) {
        double v = tget(x, i);
        tset(k->out[0], i, v < lo ? lo : v > hi ? hi : v);
      }
    }
    return 0;
  }
  if (!is_int_type(x->dtype)) return kfail(k, "type %s not supported", wm_onnx_dtype_name(x->dtype));
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  if (kin(k, 1) && wm_onnx_numel(k->in[1]) > 0) lo = tget_i64(k->in[1], 0);
  if (kin(k, 2) && wm_onnx_numel(k->in[2]) > 0) hi = tget_i64(k->in[2], 0);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = tget_i64(x, i);
    tset_i64(k->out[0], i, v < lo ? lo : v > hi ? hi : v);
  }
  return 0;
}

static int cast_to(onnx_kernel_ctx *k, const wm_onnx_tensor *x, int to) {
  if (!wm_onnx_dtype_size((wm_onnx_dtype)to)) return kunsupported(k, "cast to %s not supported", wm_onnx_dtype_name((wm_onnx_dtype)to));
  if (!wm_onnx_dtype_size(x->dtype)) return kfail(k, "cast from %s not supported", wm_onnx_dtype_name(x->dtype));
  if (out_alloc(k, 0, (wm_onnx_dtype)to, x->ndim, x->dims)) return -1;
  wm_onnx_tensor *y = k->out[0];
  int64_t n = wm_onnx_numel(x);
  if ((int)x->dtype == to) {
    memcpy(y->data, x->data, x->nbytes);
    return 0;
  }
  if (x->dtype == WM_ONNX_FLOAT && to == WM_ONNX_FLOAT16) {
    const float *a = x->data;
    uint16_t *o = y->data;
    for (int64_t i = 0; i < n; i++) o[i] = float_to_half(a[i]);
    return 0;
  }
  if (is_float8_type(to)) {
    /* saturate (opset 19+, default 1) clamps out-of-range values to the largest finite float8 */
    int sat = (int)attr_int(k->node, "saturate", 1);
    uint8_t *o = y->data;
    for (int64_t i = 0; i < n; i++) o[i] = float_to_float8((float)tget(x, i), to, sat);
  } else if (to == WM_ONNX_BFLOAT16) {
    /* Cast to bfloat16 truncates the float32 mantissa, as the ONNX backend tests expect */
    uint16_t *o = y->data;
    for (int64_t i = 0; i < n; i++) {
      float f = (float)tget(x, i);
      uint32_t u;
      memcpy(&u, &f, sizeof u);
      o[i] = f != f ? (uint16_t)0x7FC0 : (uint16_t)(u >> 16);
    }
  } else if (is_float_type(x->dtype) || is_float_type(to)) {
    for (int64_t i = 0; i < n; i++) tset(y, i, tget(x, i));
  } else if (x->dtype == WM_ONNX_UINT64) {
    for (int64_t i = 0; i < n; i++) tset_i64(y, i, tget_i64(x, i));
  } else {
    for (int64_t i = 0; i < n; i++) tset_i64(y, i, tget_i64(x, i));
  }
  return 0;
}

KERNEL(Cast) {
  if (need_inputs(k, 1)) return -1;
  return cast_to(k, k->in[0], (int)attr_int(k->node, "to", 0));
}
KERNEL(CastLike) {
  if (need_inputs(k, 2)) return -1;
  return cast_to(k, k->in[0], k->in[1]->dtype);
}
