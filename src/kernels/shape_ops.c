/* shape_ops.c — data-movement operators: Identity, Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Concat, Split,
 * Slice, Gather*, Scatter*, Shape, Size, Constant*, Expand, Tile, Range, Pad, OneHot, Depth/SpaceToDepth, Trilu,
 * Optional{Has,Get}Element, ... */
#include "kernels.h"

static size_t esize(const wm_onnx_tensor *t) { return wm_onnx_dtype_size(t->dtype); }

static void strides_of(int nd, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) { st[d] = s; s *= dims[d]; }
}

KERNEL(Identity) {
  if (need_inputs(k, 1)) return -1;
  return out_copy(k, 0, k->in[0], k->in[0]->ndim, k->in[0]->dims);
}

/* Optional values: this engine only carries plain tensors, so an optional is either a tensor or an omitted input. */
KERNEL(OptionalHasElement) {
  if (out_alloc(k, 0, WM_ONNX_BOOL, 0, NULL)) return -1;
  ((uint8_t *)k->out[0]->data)[0] = kin(k, 0) != NULL;
  return 0;
}

KERNEL(OptionalGetElement) {
  if (!kin(k, 0)) return kfail(k, "OptionalGetElement on an empty optional");
  return out_copy(k, 0, k->in[0], k->in[0]->ndim, k->in[0]->dims);
}

KERNEL(Dropout) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (kin(k, 2) && wm_onnx_numel(k->in[2]) && tget(k->in[2], 0) != 0) {
    /* training mode is deterministic only when nothing is dropped */
    double ratio = kin(k, 1) && wm_onnx_numel(k->in[1]) ? tget(k->in[1], 0) : 0.5;
    if (ratio != 0) return kunsupported(k, "training_mode Dropout with a nonzero ratio (random) is not supported");
  }
  if (out_copy(k, 0, x, x->ndim, x->dims)) return -1;
  if (k->nout > 1) { /* inference: mask is all true */
    if (out_alloc(k, 1, WM_ONNX_BOOL, x->ndim, x->dims)) return -1;
    memset(k->out[1]->data, 1, k->out[1]->nbytes);
  }
  return 0;
}

KERNEL(Reshape) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t shape[WM_ONNX_MAX_DIMS];
  int n;
  if (kin(k, 1)) {
    if ((n = read_ints(k, k->in[1], shape, WM_ONNX_MAX_DIMS, "shape")) < 0) return -1;
  } else {
    size_t c = 0;
    const int64_t *s = attr_ints(k->node, "shape", &c);
    if (!s) return kfail(k, "shape input missing");
    if (c > WM_ONNX_MAX_DIMS) return kfail(k, "too many dims");
    n = (int)c;
    memcpy(shape, s, c * sizeof *s);
  }
  int allowzero = (int)attr_int(k->node, "allowzero", 0), infer = -1;
  int64_t known = 1, total = wm_onnx_numel(x);
  for (int i = 0; i < n; i++) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= x->ndim) return kfail(k, "shape[%d] = 0 copies a missing input dim", i);
      shape[i] = x->dims[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) return kfail(k, "more than one -1 in shape");
      infer = i;
    } else if (shape[i] < 0) return kfail(k, "invalid shape value %lld", (long long)shape[i]);
    else if (__builtin_mul_overflow(known, shape[i], &known)) /* a hostile shape must not wrap into a valid size */
      return kfail(k, "shape has more than 2^63 elements");
  }
  if (infer >= 0) {
    if (known == 0 || total % known) return kfail(k, "cannot infer -1: %lld elements into %lld", (long long)total, (long long)known);
    shape[infer] = total / known;
  }
  if (numel_of(n, shape) != total) return kfail(k, "cannot reshape %lld elements to the requested shape", (long long)total);
  return out_copy(k, 0, x, n, shape);
}

KERNEL(Flatten) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t axis = attr_int(k->node, "axis", 1);
  if (axis < 0) axis += x->ndim;
  if (axis < 0 || axis > x->ndim) return kfail(k, "axis out of range");
  int64_t d[2] = {numel_of((int)axis, x->dims), numel_of(x->ndim - (int)axis, x->dims + axis)};
  return out_copy(k, 0, x, 2, d);
}

static int get_axes(onnx_kernel_ctx *k, int input, int64_t *axes, int *n) {
  if (kin(k, input)) {
    *n = read_ints(k, k->in[input], axes, WM_ONNX_MAX_DIMS * 2, "axes");
    return *n < 0 ? -1 : 1;
  }
  size_t c = 0;
  const int64_t *a = attr_ints(k->node, "axes", &c);
  if (!a) { *n = 0; return 0; }
  if (c > WM_ONNX_MAX_DIMS * 2) return kfail(k, "too many axes");
  memcpy(axes, a, c * sizeof *a);
  *n = (int)c;
  return 1;
}

KERNEL(Squeeze) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t axes[16];
  int n, drop[WM_ONNX_MAX_DIMS] = {0};
  int has = get_axes(k, 1, axes, &n);
  if (has < 0) return -1;
  if (!has) for (int d = 0; d < x->ndim; d++) drop[d] = x->dims[d] == 1;
  for (int i = 0; i < n; i++) {
    int a;
    if (normalize_axis(k, axes[i], x->ndim, &a)) return -1;
    if (x->dims[a] != 1) return kfail(k, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
    drop[a] = 1;
  }
  int64_t dims[WM_ONNX_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < x->ndim; d++) if (!drop[d]) dims[nd++] = x->dims[d];
  return out_copy(k, 0, x, nd, dims);
}

KERNEL(Unsqueeze) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t axes[16];
  int n;
  if (get_axes(k, 1, axes, &n) < 0) return -1;
  int nd = x->ndim + n, ins[WM_ONNX_MAX_DIMS * 2] = {0};
  if (nd > WM_ONNX_MAX_DIMS) return kfail(k, "result rank %d too large", nd);
  for (int i = 0; i < n; i++) {
    int a;
    if (normalize_axis(k, axes[i], nd, &a)) return -1;
    if (ins[a]) return kfail(k, "duplicate axis");
    ins[a] = 1;
  }
  int64_t dims[WM_ONNX_MAX_DIMS];
  for (int d = 0, j = 0; d < nd; d++) dims[d] = ins[d] ? 1 : x->dims[j++];
  return out_copy(k, 0, x, nd, dims);
}

/* Generic strided copy: out[i] = in[sum idx_d * st_d], used by Transpose, Expand, Slice. */
static void strided_gather(const wm_onnx_tensor *x, wm_onnx_tensor *y, int64_t base, const int64_t *st) {
  int nd = y->ndim;
  size_t es = esize(x);
  int64_t n = wm_onnx_numel(y), idx[WM_ONNX_MAX_DIMS] = {0}, off = base;
  const char *src = x->data;
  char *dst = y->data;
  if (nd == 0) { if (n) memcpy(dst, src + base * (int64_t)es, es); return; }
  int64_t inner = y->dims[nd - 1], ist = st[nd - 1];
  for (int64_t i = 0; i < n; i += inner) {
    if (es == 4) {
      for (int64_t j = 0; j < inner; j++) memcpy(dst + (i + j) * 4, src + (off + j * ist) * 4, 4);
    } else {
      for (int64_t j = 0; j < inner; j++) memcpy(dst + (i + j) * (int64_t)es, src + (off + j * ist) * (int64_t)es, es);
    }
    for (int d = nd - 2; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < y->dims[d]) break;
      off -= st[d] * y->dims[d];
      idx[d] = 0;
    }
  }
}

KERNEL(Transpose) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int nd = x->ndim, perm[WM_ONNX_MAX_DIMS], seen[WM_ONNX_MAX_DIMS] = {0};
  size_t c = 0;
  const int64_t *p = attr_ints(k->node, "perm", &c);
  if (p && (int)c != nd) return kfail(k, "perm has %zu entries for rank %d", c, nd);
  for (int d = 0; d < nd; d++) {
    int64_t v = p ? p[d] : nd - 1 - d;
    if (v < 0) v += nd;
    if (v < 0 || v >= nd || seen[v]) return kfail(k, "invalid perm");
    seen[v] = 1;
    perm[d] = (int)v;
  }
  int64_t dims[WM_ONNX_MAX_DIMS], ist[WM_ONNX_MAX_DIMS], st[WM_ONNX_MAX_DIMS];
  strides_of(nd, x->dims, ist);
  for (int d = 0; d < nd; d++) { dims[d] = x->dims[perm[d]]; st[d] = ist[perm[d]]; }
  if (out_alloc(k, 0, x->dtype, nd, dims)) return -1;
  strided_gather(x, k->out[0], 0, st);
  return 0;
}

KERNEL(Expand) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t shape[WM_ONNX_MAX_DIMS];
  int n = read_ints(k, k->in[1], shape, WM_ONNX_MAX_DIMS, "shape");
  if (n < 0) return -1;
  wm_onnx_tensor s = {0};
  s.ndim = n;
  memcpy(s.dims, shape, (size_t)n * sizeof *shape);
  const wm_onnx_tensor *ts[2] = {x, &s};
  int nd;
  int64_t dims[WM_ONNX_MAX_DIMS], st[WM_ONNX_MAX_DIMS];
  if (broadcast_shape(k, 2, ts, &nd, dims) || out_alloc(k, 0, x->dtype, nd, dims)) return -1;
  broadcast_strides(x, nd, dims, st);
  strided_gather(x, k->out[0], 0, st);
  return 0;
}

KERNEL(Tile) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t rep[WM_ONNX_MAX_DIMS], dims[WM_ONNX_MAX_DIMS], ist[WM_ONNX_MAX_DIMS];
  int n = read_ints(k, k->in[1], rep, WM_ONNX_MAX_DIMS, "repeats");
  if (n < 0) return -1;
  if (n != x->ndim) return kfail(k, "repeats has %d entries for rank %d", n, x->ndim);
  for (int d = 0; d < n; d++) {
    if (rep[d] < 0) return kfail(k, "negative repeat");
    dims[d] = x->dims[d] * rep[d];
  }
  if (out_alloc(k, 0, x->dtype, n, dims)) return -1;
  strides_of(n, x->dims, ist);
  size_t es = esize(x);
  int64_t total = wm_onnx_numel(k->out[0]), idx[WM_ONNX_MAX_DIMS] = {0};
  for (int64_t i = 0; i < total; i++) {
    int64_t off = 0;
    for (int d = 0; d < n; d++) off += (idx[d] % x->dims[d]) * ist[d];
    memcpy((char *)k->out[0]->data + i * (int64_t)es, (const char *)x->data + off * (int64_t)es, es);
    for (int d = n - 1; d >= 0; d--) { if (++idx[d] < dims[d]) break; idx[d] = 0; }
  }
  return 0;
}

typedef struct concat_job {
  const wm_onnx_tensor *const *ts;
  int n, nd;
  char *o;
  int64_t orow, inner_bytes;
  int axis;
  int64_t outer;
} concat_job;

/* Input i's rows into their place in every output row. */
static void concat_task(void *arg, int64_t i, int tid) {
  (void)tid;
  const concat_job *j = arg;
  if (j->ts[i]->ndim != j->nd) return;
  int64_t pos = 0;
  for (int64_t p = 0; p < i; p++)
    if (j->ts[p]->ndim == j->nd) pos += j->ts[p]->dims[j->axis] * j->inner_bytes;
  int64_t chunk = j->ts[i]->dims[j->axis] * j->inner_bytes;
  for (int64_t r = 0; r < j->outer; r++)
    memcpy(j->o + r * j->orow + pos, (const char *)j->ts[i]->data + r * chunk, (size_t)chunk);
}

KERNEL(Concat) {
  const wm_onnx_tensor *ts[64];
  int n = 0;
  for (int i = 0; i < k->nin && n < 64; i++) if (k->in[i]) ts[n++] = k->in[i];
  if (!n) return kfail(k, "no inputs");
  /* zero-sized inputs of any rank-1 shape may appear in exports; skip them when rank differs */
  const wm_onnx_tensor *ref = ts[0];
  for (int i = 0; i < n; i++) if (wm_onnx_numel(ts[i]) > 0) { ref = ts[i]; break; }
  int nd = ref->ndim, axis;
  if (normalize_axis(k, attr_int(k->node, "axis", 0), nd, &axis)) return -1;
  int64_t dims[WM_ONNX_MAX_DIMS];
  memcpy(dims, ref->dims, sizeof dims);
  dims[axis] = 0;
  for (int i = 0; i < n; i++) {
    if (ts[i]->dtype != ref->dtype) return kfail(k, "input types differ");
    if (ts[i]->ndim != nd) {
      if (wm_onnx_numel(ts[i]) == 0) continue;
      return kfail(k, "input %d has rank %d, expected %d", i, ts[i]->ndim, nd);
    }
    for (int d = 0; d < nd; d++)
      if (d != axis && ts[i]->dims[d] != ref->dims[d]) return kfail(k, "input %d dimension %d mismatch", i, d);
    dims[axis] += ts[i]->dims[axis];
  }
  if (out_alloc_nz(k, 0, ref->dtype, nd, dims)) return -1; /* every byte is copied below */
  size_t es = esize(ref);
  int64_t outer = numel_of(axis, dims), inner = numel_of(nd - axis - 1, dims + axis + 1);
  concat_job j = {ts, n, nd, (char *)k->out[0]->data, dims[axis] * inner * (int64_t)es, inner * (int64_t)es, axis, outer};
  /* big copies go to the thread pool, a piece per input: at two threads each half of a channel concat was
   * written by the other core's convolution, and one thread pulling both cost 2.5x the single-thread time */
  int64_t bytes = outer * j.orow;
  if (bytes >= (1 << 18) && wm_onnx_get_threads() > 1) par_for(n, concat_task, &j);
  else
    for (int i = 0; i < n; i++) concat_task(&j, i, 0);
  return 0;
}

KERNEL(Split) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", 0), x->ndim, &axis)) return -1;
  int64_t split[64];
  int ns = 0;
  if (kin(k, 1)) {
    if ((ns = read_ints(k, k->in[1], split, 64, "split")) < 0) return -1;
  } else {
    size_t c = 0;
    const int64_t *s = attr_ints(k->node, "split", &c);
    if (s) {
      if (c > 64) return kfail(k, "too many splits");
      memcpy(split, s, c * sizeof *s);
      ns = (int)c;
    }
  }
  int nout = k->nout;
  int64_t len = x->dims[axis];
  if (!ns) {
    if (nout > 64) return kfail(k, "too many outputs");
    int64_t num = attr_int(k->node, "num_outputs", nout);
    if (num != nout) return kfail(k, "num_outputs %lld but %d outputs", (long long)num, nout);
    int64_t each = (len + nout - 1) / nout;
    for (int i = 0; i < nout; i++) {
      int64_t rem = len - each * i;
      split[i] = rem < each ? (rem > 0 ? rem : 0) : each;
    }
    ns = nout;
  }
  if (ns != nout) return kfail(k, "%d split sizes for %d outputs", ns, nout);
  int64_t sum = 0;
  for (int i = 0; i < ns; i++) { if (split[i] < 0) return kfail(k, "negative split"); sum += split[i]; }
  if (sum != len) return kfail(k, "split sizes sum to %lld, axis has %lld", (long long)sum, (long long)len);
  size_t es = esize(x);
  int64_t outer = numel_of(axis, x->dims), inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1), pos = 0;
  int64_t irow = len * inner * (int64_t)es;
  for (int i = 0; i < ns; i++) {
    int64_t dims[WM_ONNX_MAX_DIMS];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = split[i];
    if (out_alloc(k, i, x->dtype, x->ndim, dims)) return -1;
    int64_t chunk = split[i] * inner * (int64_t)es;
    for (int64_t r = 0; r < outer; r++)
      memcpy((char *)k->out[i]->data + r * chunk, (const char *)x->data + r * irow + pos, (size_t)chunk);
    pos += chunk;
  }
  return 0;
}

KERNEL(Slice) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int nd = x->ndim;
  int64_t starts[16], ends[16], axes[16], steps[16];
  int ns, ne, na = -1, nst = -1;
  if (k->opset < 10) {
    size_t c1 = 0, c2 = 0, c3 = 0;
    const int64_t *s = attr_ints(k->node, "starts", &c1), *e = attr_ints(k->node, "ends", &c2), *a = attr_ints(k->node, "axes", &c3);
    if (!s || !e || c1 != c2 || c1 > 16 || c3 > 16) return kfail(k, "bad starts/ends");
    memcpy(starts, s, c1 * 8); memcpy(ends, e, c2 * 8);
    ns = ne = (int)c1;
    if (a) { memcpy(axes, a, c3 * 8); na = (int)c3; }
  } else {
    if (need_inputs(k, 3)) return -1;
    if ((ns = read_ints(k, k->in[1], starts, 16, "starts")) < 0 || (ne = read_ints(k, k->in[2], ends, 16, "ends")) < 0) return -1;
    if (kin(k, 3) && (na = read_ints(k, k->in[3], axes, 16, "axes")) < 0) return -1;
    if (kin(k, 4) && (nst = read_ints(k, k->in[4], steps, 16, "steps")) < 0) return -1;
  }
  if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns)) return kfail(k, "starts/ends/axes/steps lengths differ");
  int64_t st[WM_ONNX_MAX_DIMS], dims[WM_ONNX_MAX_DIMS], ost[WM_ONNX_MAX_DIMS], base = 0;
  int64_t b[WM_ONNX_MAX_DIMS], stp[WM_ONNX_MAX_DIMS];
  strides_of(nd, x->dims, st);
  for (int d = 0; d < nd; d++) { b[d] = 0; stp[d] = 1; dims[d] = x->dims[d]; }
  for (int i = 0; i < ns; i++) {
    int a;
    if (normalize_axis(k, na >= 0 ? axes[i] : i, nd, &a)) return -1;
    int64_t step = nst >= 0 ? steps[i] : 1, dim = x->dims[a], s = starts[i], e = ends[i];
    if (step == 0) return kfail(k, "step is zero");
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      dims[a] = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      dims[a] = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    b[a] = s;
    stp[a] = step;
  }
  for (int d = 0; d < nd; d++) {
    if (dims[d] > 0) base += b[d] * st[d];
    ost[d] = st[d] * stp[d];
  }
  if (out_alloc(k, 0, x->dtype, nd, dims)) return -1;
  if (wm_onnx_numel(k->out[0]) > 0) strided_gather(x, k->out[0], base, ost);
  return 0;
}

KERNEL(Gather) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ind = k->in[1];
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", 0), x->ndim, &axis)) return -1;
  if (!is_int_type(ind->dtype)) return kfail(k, "indices must be integers");
  int nd = x->ndim - 1 + ind->ndim;
  if (nd > WM_ONNX_MAX_DIMS) return kfail(k, "result rank too large");
  int64_t dims[WM_ONNX_MAX_DIMS];
  int j = 0;
  for (int d = 0; d < axis; d++) dims[j++] = x->dims[d];
  for (int d = 0; d < ind->ndim; d++) dims[j++] = ind->dims[d];
  for (int d = axis + 1; d < x->ndim; d++) dims[j++] = x->dims[d];
  if (out_alloc(k, 0, x->dtype, nd, dims)) return -1;
  size_t es = esize(x);
  int64_t outer = numel_of(axis, x->dims), inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  int64_t ni = wm_onnx_numel(ind), len = x->dims[axis];
  size_t chunk = (size_t)inner * es;
  char *o = k->out[0]->data;
  for (int64_t i = 0; i < ni; i++) {
    int64_t id = tget_i64(ind, i);
    if (id < 0) id += len;
    if (id < 0 || id >= len) return kfail(k, "index %lld out of range [0, %lld)", (long long)tget_i64(ind, i), (long long)len);
    for (int64_t r = 0; r < outer; r++)
      memcpy(o + (r * ni + i) * (int64_t)chunk, (const char *)x->data + (r * len + id) * (int64_t)chunk, chunk);
  }
  return 0;
}

KERNEL(GatherElements) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ind = k->in[1];
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", 0), x->ndim, &axis)) return -1;
  if (ind->ndim != x->ndim) return kfail(k, "indices rank differs from data rank");
  if (out_alloc(k, 0, x->dtype, ind->ndim, ind->dims)) return -1;
  int64_t xst[WM_ONNX_MAX_DIMS], idx[WM_ONNX_MAX_DIMS] = {0};
  strides_of(x->ndim, x->dims, xst);
  size_t es = esize(x);
  for (int64_t i = 0, n = wm_onnx_numel(ind); i < n; i++) {
    int64_t id = tget_i64(ind, i), off = 0;
    if (id < 0) id += x->dims[axis];
    if (id < 0 || id >= x->dims[axis]) return kfail(k, "index out of range");
    for (int d = 0; d < x->ndim; d++) {
      if (d != axis && idx[d] >= x->dims[d]) return kfail(k, "indices shape exceeds data");
      off += (d == axis ? id : idx[d]) * xst[d];
    }
    memcpy((char *)k->out[0]->data + i * (int64_t)es, (const char *)x->data + off * (int64_t)es, es);
    for (int d = ind->ndim - 1; d >= 0; d--) { if (++idx[d] < ind->dims[d]) break; idx[d] = 0; }
  }
  return 0;
}

static double reduce_pair(const char *red, double a, double b) {
  if (!strcmp(red, "add")) return a + b;
  if (!strcmp(red, "mul")) return a * b;
  if (!strcmp(red, "max")) return a > b ? a : b;
  if (!strcmp(red, "min")) return a < b ? a : b;
  return b;
}

KERNEL(ScatterElements) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ind = k->in[1], *upd = k->in[2];
  int axis;
  if (normalize_axis(k, attr_int(k->node, "axis", 0), x->ndim, &axis)) return -1;
  const char *red = attr_str(k->node, "reduction", "none");
  if (ind->ndim != x->ndim || upd->ndim != ind->ndim) return kfail(k, "rank mismatch");
  for (int d = 0; d < ind->ndim; d++)
    if (upd->dims[d] != ind->dims[d]) return kfail(k, "updates shape differs from indices shape at axis %d", d);
  if (out_copy(k, 0, x, x->ndim, x->dims)) return -1;
  int64_t xst[WM_ONNX_MAX_DIMS], idx[WM_ONNX_MAX_DIMS] = {0};
  strides_of(x->ndim, x->dims, xst);
  for (int64_t i = 0, n = wm_onnx_numel(ind); i < n; i++) {
    int64_t id = tget_i64(ind, i), off = 0;
    if (id < 0) id += x->dims[axis];
    if (id < 0 || id >= x->dims[axis]) return kfail(k, "index out of range");
    for (int d = 0; d < x->ndim; d++) {
      if (d != axis && idx[d] >= x->dims[d]) return kfail(k, "indices shape exceeds data");
      off += (d == axis ? id : idx[d]) * xst[d];
    }
    tset(k->out[0], off, reduce_pair(red, tget(k->out[0], off), tget(upd, i)));
    for (int d = ind->ndim - 1; d >= 0; d--) { if (++idx[d] < ind->dims[d]) break; idx[d] = 0; }
  }
  return 0;
}
KERNEL(Scatter) { return op_ScatterElements(k); }

KERNEL(ScatterND) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ind = k->in[1], *upd = k->in[2];
  const char *red = attr_str(k->node, "reduction", "none");
  if (out_copy(k, 0, x, x->ndim, x->dims)) return -1;
  int q = ind->ndim;
  if (q < 1) return kfail(k, "indices must have rank >= 1");
  int64_t kd = ind->dims[q - 1];
  if (kd > x->ndim) return kfail(k, "index depth exceeds data rank");
  int64_t xst[WM_ONNX_MAX_DIMS];
  strides_of(x->ndim, x->dims, xst);
  int64_t slice = numel_of(x->ndim - (int)kd, x->dims + kd), nidx = numel_of(q - 1, ind->dims);
  if (wm_onnx_numel(upd) != nidx * slice) return kfail(k, "updates shape mismatch");
  for (int64_t i = 0; i < nidx; i++) {
    int64_t off = 0;
    for (int64_t j = 0; j < kd; j++) {
      int64_t v = tget_i64(ind, i * kd + j);
      if (v < 0) v += x->dims[j];
      if (v < 0 || v >= x->dims[j]) return kfail(k, "index out of range");
      off += v * xst[j];
    }
    for (int64_t s = 0; s < slice; s++)
      tset(k->out[0], off + s, reduce_pair(red, tget(k->out[0], off + s), tget(upd, i * slice + s)));
  }
  return 0;
}

KERNEL(GatherND) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *ind = k->in[1];
  int b = (int)attr_int(k->node, "batch_dims", 0), q = ind->ndim;
  if (q < 1) return kfail(k, "indices must have rank >= 1");
  int64_t kd = ind->dims[q - 1];
  if (b + kd > x->ndim || b >= q) return kfail(k, "bad index depth");
  int64_t dims[WM_ONNX_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < q - 1; d++) dims[nd++] = ind->dims[d];
  for (int d = b + (int)kd; d < x->ndim; d++) {
    if (nd >= WM_ONNX_MAX_DIMS) return kfail(k, "rank too large");
    dims[nd++] = x->dims[d];
  }
  if (out_alloc(k, 0, x->dtype, nd, dims)) return -1;
  int64_t xst[WM_ONNX_MAX_DIMS];
  strides_of(x->ndim, x->dims, xst);
  size_t es = esize(x);
  int64_t slice = numel_of(x->ndim - b - (int)kd, x->dims + b + kd), nb = numel_of(b, x->dims);
  int64_t per_batch = numel_of(q - 1 - b, ind->dims + b), o = 0;
  for (int64_t bi = 0; bi < nb; bi++)
    for (int64_t i = 0; i < per_batch; i++) {
      int64_t off = bi * (b ? xst[b - 1] : 0), row = (bi * per_batch + i) * kd;
      for (int64_t j = 0; j < kd; j++) {
        int64_t v = tget_i64(ind, row + j), dim = x->dims[b + j];
        if (v < 0) v += dim;
        if (v < 0 || v >= dim) return kfail(k, "index out of range");
        off += v * xst[b + j];
      }
      memcpy((char *)k->out[0]->data + o * (int64_t)es, (const char *)x->data + off * (int64_t)es, (size_t)slice * es);
      o += slice;
    }
  return 0;
}

KERNEL(Shape) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t r = x->ndim, s = attr_int(k->node, "start", 0), e = attr_int(k->node, "end", r);
  if (s < 0) s += r;
  if (e < 0) e += r;
  s = s < 0 ? 0 : s > r ? r : s;
  e = e < 0 ? 0 : e > r ? r : e;
  int64_t n = e > s ? e - s : 0;
  if (out_alloc(k, 0, WM_ONNX_INT64, 1, &n)) return -1;
  for (int64_t i = 0; i < n; i++) ((int64_t *)k->out[0]->data)[i] = x->dims[s + i];
  return 0;
}

KERNEL(Size) {
  if (!kin(k, 0)) return kfail(k, "input required");
  if (out_alloc(k, 0, WM_ONNX_INT64, 0, NULL)) return -1;
  *(int64_t *)k->out[0]->data = wm_onnx_numel(k->in[0]);
  return 0;
}

KERNEL(Constant) {
  const onnx_attr *a = NULL;
  for (int i = 0; i < k->node->nattr; i++) a = &k->node->attrs[i];
  if (!a) return kfail(k, "no value attribute");
  switch (a->type) {
  case ATTR_TENSOR:
    if (!a->t) return kfail(k, "value attribute holds no tensor");
    if (!a->t->data && a->t->nbytes) return kfail(k, "value tensor has no data");
    if (a->t->dtype == WM_ONNX_STRING) return kfail(k, "string constants are not supported");
    /* lend the model's own tensor (kernels never write their inputs; graph outputs get copied) */
    wm_onnx_tensor_free(k->out[0]);
    *k->out[0] = *a->t;
    k->out[0]->flags = 0;
    return 0;
  case ATTR_FLOAT:
    if (out_alloc(k, 0, WM_ONNX_FLOAT, 0, NULL)) return -1;
    *(float *)k->out[0]->data = a->f;
    return 0;
  case ATTR_INT:
    if (out_alloc(k, 0, WM_ONNX_INT64, 0, NULL)) return -1;
    *(int64_t *)k->out[0]->data = a->i;
    return 0;
  case ATTR_FLOATS: {
    int64_t n = (int64_t)a->n;
    if (out_alloc(k, 0, WM_ONNX_FLOAT, 1, &n)) return -1;
    memcpy(k->out[0]->data, a->floats, a->n * sizeof(float));
    return 0;
  }
  case ATTR_INTS: {
    int64_t n = (int64_t)a->n;
    if (out_alloc(k, 0, WM_ONNX_INT64, 1, &n)) return -1;
    memcpy(k->out[0]->data, a->ints, a->n * sizeof(int64_t));
    return 0;
  }
  default: return kfail(k, "attribute '%s' of type %d not supported", a->name, a->type);
  }
}

KERNEL(ConstantOfShape) {
  if (need_inputs(k, 1)) return -1;
  int64_t shape[WM_ONNX_MAX_DIMS];
  int n = read_ints(k, k->in[0], shape, WM_ONNX_MAX_DIMS, "shape");
  if (n < 0) return -1;
  const onnx_attr *a = attr_find(k->node, "value");
  wm_onnx_dtype dt = a && a->t ? a->t->dtype : WM_ONNX_FLOAT;
  if (out_alloc(k, 0, dt, n, shape)) return -1;
  if (a && a->t) {
    if (wm_onnx_numel(a->t) != 1 || !a->t->data) return kfail(k, "value must have one element");
    size_t es = esize(a->t);
    for (int64_t i = 0, m = wm_onnx_numel(k->out[0]); i < m; i++)
      memcpy((char *)k->out[0]->data + i * (int64_t)es, a->t->data, es);
  }
  return 0;
}

KERNEL(Range) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *s = k->in[0], *l = k->in[1], *d = k->in[2];
  if (is_float_type(s->dtype)) {
    double start = tget(s, 0), limit = tget(l, 0), delta = tget(d, 0);
    if (delta == 0) return kfail(k, "delta is zero");
    double c = ceil((limit - start) / delta);
    int64_t n = c > 0 ? (int64_t)c : 0;
    if (out_alloc(k, 0, s->dtype, 1, &n)) return -1;
    for (int64_t i = 0; i < n; i++) tset(k->out[0], i, start + (double)i * delta);
  } else {
    int64_t start = tget_i64(s, 0), limit = tget_i64(l, 0), delta = tget_i64(d, 0);
    if (delta == 0) return kfail(k, "delta is zero");
    int64_t n = (limit - start + delta + (delta > 0 ? -1 : 1)) / delta;
    if (n < 0) n = 0;
    if (out_alloc(k, 0, s->dtype, 1, &n)) return -1;
    for (int64_t i = 0; i < n; i++) tset_i64(k->out[0], i, start + i * delta);
  }
  return 0;
}

KERNEL(Pad) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int nd = x->ndim;
  int64_t pads[2 * WM_ONNX_MAX_DIMS], p[2 * WM_ONNX_MAX_DIMS] = {0}, axes[WM_ONNX_MAX_DIMS];
  int np, na = -1;
  double cval = 0;
  const char *mode = attr_str(k->node, "mode", "constant");
  if (k->opset < 11) {
    size_t c = 0;
    const int64_t *a = attr_ints(k->node, "pads", &c);
    if (!a) a = attr_ints(k->node, "paddings", &c);
    if (!a || c > 2 * WM_ONNX_MAX_DIMS) return kfail(k, "pads attribute missing");
    memcpy(pads, a, c * 8);
    np = (int)c;
    cval = attr_float(k->node, "value", 0.0f);
  } else {
    if (need_inputs(k, 2)) return -1;
    if ((np = read_ints(k, k->in[1], pads, 2 * WM_ONNX_MAX_DIMS, "pads")) < 0) return -1;
    if (kin(k, 2) && wm_onnx_numel(k->in[2]) > 0) cval = tget(k->in[2], 0);
    if (kin(k, 3) && (na = read_ints(k, k->in[3], axes, WM_ONNX_MAX_DIMS, "axes")) < 0) return -1;
  }
  if (na < 0) {
    if (np != 2 * nd) return kfail(k, "pads has %d values for rank %d", np, nd);
    memcpy(p, pads, (size_t)np * 8);
  } else {
    if (np != 2 * na) return kfail(k, "pads/axes length mismatch");
    for (int i = 0; i < na; i++) {
      int a;
      if (normalize_axis(k, axes[i], nd, &a)) return -1;
      p[a] = pads[i];
      p[a + nd] = pads[i + na];
    }
  }
  int64_t dims[WM_ONNX_MAX_DIMS], ist[WM_ONNX_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    dims[d] = x->dims[d] + p[d] + p[d + nd];
    if (dims[d] < 0) return kfail(k, "negative output dimension");
  }
  if (out_alloc(k, 0, x->dtype, nd, dims)) return -1;
  strides_of(nd, x->dims, ist);
  int m = !strcmp(mode, "reflect") ? 1 : !strcmp(mode, "edge") ? 2 : !strcmp(mode, "wrap") ? 3 : 0;
  if (m == 0 && strcmp(mode, "constant")) return kfail(k, "unknown mode '%s'", mode);
  size_t es = esize(x);
  int64_t n = wm_onnx_numel(k->out[0]), idx[WM_ONNX_MAX_DIMS] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    int outside = 0;
    for (int d = 0; d < nd; d++) {
      int64_t s = idx[d] - p[d], len = x->dims[d];
      if (s < 0 || s >= len) {
        if (m == 0 || len == 0) { outside = 1; break; }
        if (m == 2) s = s < 0 ? 0 : len - 1;
        else if (m == 3) s = ((s % len) + len) % len;
        else {
          if (len == 1) s = 0;
          else {
            int64_t period = 2 * (len - 1);
            s = ((s % period) + period) % period;
            if (s >= len) s = period - s;
          }
        }
      }
      off += s * ist[d];
    }
    if (outside) tset(k->out[0], i, cval);
    else memcpy((char *)k->out[0]->data + i * (int64_t)es, (const char *)x->data + off * (int64_t)es, es);
    for (int d = nd - 1; d >= 0; d--) { if (++idx[d] < dims[d]) break; idx[d] = 0; }
  }
  return 0;
}

KERNEL(OneHot) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *ind = k->in[0], *depth = k->in[1], *vals = k->in[2];
  int64_t dep = (int64_t)tget(depth, 0);
  if (dep < 0 || wm_onnx_numel(vals) != 2) return kfail(k, "bad depth or values");
  int nd = ind->ndim + 1, axis;
  if (nd > WM_ONNX_MAX_DIMS) return kfail(k, "rank too large");
  if (normalize_axis(k, attr_int(k->node, "axis", -1), nd, &axis)) return -1;
  int64_t dims[WM_ONNX_MAX_DIMS];
  for (int d = 0, j = 0; d < nd; d++) dims[d] = d == axis ? dep : ind->dims[j++];
  if (out_alloc(k, 0, vals->dtype, nd, dims)) return -1;
  size_t es = esize(vals);
  int64_t n = wm_onnx_numel(k->out[0]), inner = numel_of(nd - axis - 1, dims + axis + 1);
  for (int64_t i = 0; i < n; i++) memcpy((char *)k->out[0]->data + i * (int64_t)es, vals->data, es);
  for (int64_t i = 0, ni = wm_onnx_numel(ind); i < ni; i++) {
    int64_t v = (int64_t)tget(ind, i);
    if (v < 0) v += dep;
    if (v < 0 || v >= dep) continue;
    int64_t outer = i / inner, in = i % inner, off = (outer * dep + v) * inner + in;
    memcpy((char *)k->out[0]->data + off * (int64_t)es, (const char *)vals->data + es, es);
  }
  return 0;
}

static int depth_space(onnx_kernel_ctx *k, int to_depth) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (x->ndim != 4) return kfail(k, "input must be 4-D");
  int64_t bs = attr_int(k->node, "blocksize", 0), N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  if (bs <= 0) return kfail(k, "blocksize must be positive");
  int crd = !strcmp(attr_str(k->node, "mode", "DCR"), "CRD");
  size_t es = esize(x);
  int64_t dims[4];
  if (to_depth) {
    if (H % bs || W % bs) return kfail(k, "spatial dims not divisible by blocksize");
    dims[0] = N; dims[1] = C * bs * bs; dims[2] = H / bs; dims[3] = W / bs;
  } else {
    if (C % (bs * bs)) return kfail(k, "channels not divisible by blocksize^2");
    dims[0] = N; dims[1] = C / (bs * bs); dims[2] = H * bs; dims[3] = W * bs;
  }
  if (out_alloc(k, 0, x->dtype, 4, dims)) return -1;
  char *o = k->out[0]->data;
  const char *in = x->data;
  if (!to_depth) {
    int64_t oc = dims[1];
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < oc; c++)
        for (int64_t h = 0; h < dims[2]; h++)
          for (int64_t w = 0; w < dims[3]; w++) {
            int64_t bh = h % bs, bw = w % bs, ic = crd ? c * bs * bs + bh * bs + bw : (bh * bs + bw) * oc + c;
            int64_t src = ((n * C + ic) * H + h / bs) * W + w / bs, dst = ((n * oc + c) * dims[2] + h) * dims[3] + w;
            memcpy(o + dst * (int64_t)es, in + src * (int64_t)es, es);
          }
  } else {
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t w = 0; w < W; w++) {
            int64_t bh = h % bs, bw = w % bs, oc = (bh * bs + bw) * C + c;
            int64_t dst = ((n * dims[1] + oc) * dims[2] + h / bs) * dims[3] + w / bs, src = ((n * C + c) * H + h) * W + w;
            memcpy(o + dst * (int64_t)es, in + src * (int64_t)es, es);
          }
  }
  return 0;
}
KERNEL(DepthToSpace) { return depth_space(k, 0); }
KERNEL(SpaceToDepth) { return depth_space(k, 1); }

KERNEL(Trilu) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (x->ndim < 2) return kfail(k, "input rank must be >= 2");
  int64_t diag = kin(k, 1) ? tget_i64(k->in[1], 0) : 0;
  int upper = (int)attr_int(k->node, "upper", 1);
  if (out_like(k, 0, x)) return -1;
  int64_t R = x->dims[x->ndim - 2], C = x->dims[x->ndim - 1], n = wm_onnx_numel(x);
  size_t es = esize(x);
  for (int64_t i = 0; i < n; i++) {
    int64_t c = i % C, r = (i / C) % R;
    int keep = upper ? c - r >= diag : c - r <= diag;
    if (keep) memcpy((char *)k->out[0]->data + i * (int64_t)es, (const char *)x->data + i * (int64_t)es, es);
  }
  return 0;
}

KERNEL(CumSum) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int axis;
  if (normalize_axis(k, tget_i64(k->in[1], 0), x->ndim, &axis)) return -1;
  int excl = (int)attr_int(k->node, "exclusive", 0), rev = (int)attr_int(k->node, "reverse", 0);
  if (out_like(k, 0, x)) return -1;
  int64_t outer = numel_of(axis, x->dims), len = x->dims[axis], inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      double acc = 0;
      for (int64_t j = 0; j < len; j++) {
        int64_t jj = rev ? len - 1 - j : j, off = (o * len + jj) * inner + in;
        double v = tget(x, off);
        if (excl) { tset(k->out[0], off, acc); acc += v; }
        else { acc += v; tset(k->out[0], off, acc); }
      }
    }
  return 0;
}

KERNEL(EyeLike) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (x->ndim != 2) return kfail(k, "input must be 2-D");
  int dt = (int)attr_int(k->node, "dtype", x->dtype);
  int64_t kk = attr_int(k->node, "k", 0);
  if (out_alloc(k, 0, (wm_onnx_dtype)dt, 2, x->dims)) return -1;
  for (int64_t r = 0; r < x->dims[0]; r++) {
    int64_t c = r + kk;
    if (c >= 0 && c < x->dims[1]) tset(k->out[0], r * x->dims[1] + c, 1);
  }
  return 0;
}

KERNEL(NonZero) {
  if (need_inputs(k, 1)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int64_t n = wm_onnx_numel(x), cnt = 0;
  for (int64_t i = 0; i < n; i++) cnt += tget(x, i) != 0;
  int64_t dims[2] = {x->ndim, cnt}, st[WM_ONNX_MAX_DIMS];
  if (out_alloc(k, 0, WM_ONNX_INT64, 2, dims)) return -1;
  strides_of(x->ndim, x->dims, st);
  int64_t *o = k->out[0]->data, j = 0;
  for (int64_t i = 0; i < n; i++) {
    if (tget(x, i) == 0) continue;
    for (int d = 0; d < x->ndim; d++) o[d * cnt + j] = (i / st[d]) % x->dims[d];
    j++;
  }
  return 0;
}

KERNEL(Compress) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *c = k->in[1];
  const onnx_attr *aa = attr_find(k->node, "axis");
  int64_t nc = wm_onnx_numel(c);
  size_t es = esize(x);
  if (!aa) {
    int64_t n = wm_onnx_numel(x), cnt = 0;
    for (int64_t i = 0; i < n && i < nc; i++) cnt += tget(c, i) != 0;
    if (out_alloc(k, 0, x->dtype, 1, &cnt)) return -1;
    for (int64_t i = 0, j = 0; i < n && i < nc; i++)
      if (tget(c, i) != 0) memcpy((char *)k->out[0]->data + (j++) * (int64_t)es, (const char *)x->data + i * (int64_t)es, es);
    return 0;
  }
  int axis;
  if (normalize_axis(k, aa->i, x->ndim, &axis)) return -1;
  int64_t len = x->dims[axis], cnt = 0, dims[WM_ONNX_MAX_DIMS];
  for (int64_t i = 0; i < len && i < nc; i++) cnt += tget(c, i) != 0;
  memcpy(dims, x->dims, sizeof dims);
  dims[axis] = cnt;
  if (out_alloc(k, 0, x->dtype, x->ndim, dims)) return -1;
  int64_t outer = numel_of(axis, x->dims), inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1) * (int64_t)es;
  char *o = k->out[0]->data;
  for (int64_t r = 0; r < outer; r++)
    for (int64_t i = 0; i < len && i < nc; i++)
      if (tget(c, i) != 0) { memcpy(o, (const char *)x->data + (r * len + i) * inner, (size_t)inner); o += inner; }
  return 0;
}
