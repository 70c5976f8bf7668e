/* layout.c — data-movement operators that rearrange or window a tensor: CenterCropPad, ReverseSequence, Col2Im.
 * All work on any element type by copying raw elements (Col2Im accumulates, so it is float-only). */
#include "kernels.h"

KERNEL(CenterCropPad) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int r = x->ndim;
  int64_t shape[WM_ONNX_MAX_DIMS], axes[WM_ONNX_MAX_DIMS];
  int ns = read_ints(k, k->in[1], shape, WM_ONNX_MAX_DIMS, "shape");
  if (ns < 0) return -1;
  size_t na = 0;
  const int64_t *aa = attr_ints(k->node, "axes", &na);
  if (!aa) {
    na = (size_t)r;
    for (int i = 0; i < r; i++) axes[i] = i;
  } else {
    if (na > WM_ONNX_MAX_DIMS) return kfail(k, "too many axes");
    for (size_t i = 0; i < na; i++) {
      int a;
      if (normalize_axis(k, aa[i], r, &a)) return -1;
      axes[i] = a;
    }
  }
  if ((size_t)ns != na) return kfail(k, "shape has %d values for %zu axes", ns, na);
  int64_t od[WM_ONNX_MAX_DIMS], off[WM_ONNX_MAX_DIMS];
  for (int i = 0; i < r; i++) { od[i] = x->dims[i]; off[i] = 0; }
  for (size_t i = 0; i < na; i++) {
    int a = (int)axes[i];
    if (shape[i] < 0 || shape[i] > ((int64_t)1 << 31)) return kfail(k, "target size %lld is out of range", (long long)shape[i]);
    od[a] = shape[i];
    off[a] = x->dims[a] >= shape[i] ? (x->dims[a] - shape[i]) / 2 : -((shape[i] - x->dims[a]) / 2);
  }
  if (out_alloc(k, 0, x->dtype, r, od)) return -1;
  size_t es = wm_onnx_dtype_size(x->dtype);
  int64_t n = numel_of(r, od), idx[WM_ONNX_MAX_DIMS] = {0};
  char *dst = k->out[0]->data;
  const char *src = x->data;
  for (int64_t o = 0; o < n; o++) {
    int64_t si = 0, inside = 1;
    for (int d = 0; d < r; d++) {
      int64_t v = idx[d] + off[d];
      if (v < 0 || v >= x->dims[d]) { inside = 0; break; }
      si = si * x->dims[d] + v;
    }
    if (inside) memcpy(dst + (size_t)o * es, src + (size_t)si * es, es); /* else stays zero */
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < od[d]) break;
      idx[d] = 0;
    }
  }
  return 0;
}

KERNEL(ReverseSequence) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *sl = k->in[1];
  if (x->ndim < 2) return kfail(k, "input must have rank >= 2");
  int ta = (int)attr_int(k->node, "time_axis", 0), ba = (int)attr_int(k->node, "batch_axis", 1);
  if (!((ta == 0 && ba == 1) || (ta == 1 && ba == 0))) return kfail(k, "time_axis/batch_axis must be 0 and 1");
  int64_t B = x->dims[ba], T = x->dims[ta], inner = numel_of(x->ndim - 2, x->dims + 2);
  if (!is_int_type(sl->dtype) || sl->ndim != 1 || sl->dims[0] != B) return kfail(k, "sequence_lens must hold %lld integers", (long long)B);
  if (out_copy(k, 0, x, x->ndim, x->dims)) return -1;
  size_t es = wm_onnx_dtype_size(x->dtype);
  char *dst = k->out[0]->data;
  const char *src = x->data;
  for (int64_t b = 0; b < B; b++) {
    int64_t len = tget_i64(sl, b);
    if (len < 0 || len > T) return kfail(k, "sequence length %lld out of range [0, %lld]", (long long)len, (long long)T);
    for (int64_t t = 0; t < len; t++) {
      int64_t from = ta == 0 ? (t * B + b) : (b * T + t), to = ta == 0 ? ((len - 1 - t) * B + b) : (b * T + len - 1 - t);
      memcpy(dst + (size_t)(to * inner) * es, src + (size_t)(from * inner) * es, (size_t)inner * es);
    }
  }
  return 0;
}

KERNEL(Col2Im) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0];
  if (require_float(k, x, "input")) return -1;
  int64_t img[WM_ONNX_MAX_DIMS], blk[WM_ONNX_MAX_DIMS];
  int r = read_ints(k, k->in[1], img, WM_ONNX_MAX_DIMS - 2, "image_shape");
  if (r < 0) return -1;
  if (read_ints(k, k->in[2], blk, WM_ONNX_MAX_DIMS - 2, "block_shape") != r || r < 1)
    return kfail(k, "image_shape and block_shape must have the same positive length");
  int64_t dil[WM_ONNX_MAX_DIMS], str[WM_ONNX_MAX_DIMS], pads[2 * WM_ONNX_MAX_DIMS], nblk[WM_ONNX_MAX_DIMS];
  size_t n;
  const int64_t *a;
  for (int i = 0; i < r; i++) { dil[i] = 1; str[i] = 1; pads[i] = pads[r + i] = 0; }
  if ((a = attr_ints(k->node, "dilations", &n))) { if (n != (size_t)r) return kfail(k, "dilations length"); memcpy(dil, a, n * sizeof *a); }
  if ((a = attr_ints(k->node, "strides", &n))) { if (n != (size_t)r) return kfail(k, "strides length"); memcpy(str, a, n * sizeof *a); }
  if ((a = attr_ints(k->node, "pads", &n))) { if (n != 2 * (size_t)r) return kfail(k, "pads length"); memcpy(pads, a, n * sizeof *a); }
  int64_t kprod = 1, L = 1;
  for (int i = 0; i < r; i++) {
    const int64_t lim = (int64_t)1 << 24;
    if (img[i] <= 0 || img[i] > lim || blk[i] <= 0 || blk[i] > lim || dil[i] <= 0 || dil[i] > lim || str[i] <= 0 ||
        str[i] > lim || pads[i] < 0 || pads[i] > lim || pads[r + i] < 0 || pads[r + i] > lim)
      return kfail(k, "image/block/dilation/stride/pad values out of range");
    int64_t span = dil[i] * (blk[i] - 1) + 1, padded = img[i] + pads[i] + pads[r + i];
    if (padded < span) return kfail(k, "block larger than padded image along dimension %d", i);
    nblk[i] = (padded - span) / str[i] + 1;
    kprod *= blk[i];
    L *= nblk[i];
  }
  if (x->ndim != 3 || x->dims[1] % kprod || x->dims[2] != L)
    return kfail(k, "input must be (N, C*%lld, %lld)", (long long)kprod, (long long)L);
  int64_t N = x->dims[0], C = x->dims[1] / kprod, od[WM_ONNX_MAX_DIMS], S = numel_of(r, img);
  od[0] = N;
  od[1] = C;
  for (int i = 0; i < r; i++) od[2 + i] = img[i];
  float *y = float_out(k, 0, x->dtype, r + 2, od);
  int ox;
  const float *px = float_view(k, x, &ox);
  if (!y || !px) { float_release((float *)px, ox); return -1; }
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t kk = 0; kk < kprod; kk++) {
      int64_t kidx[WM_ONNX_MAX_DIMS], rem = kk;
      for (int i = r - 1; i >= 0; i--) { kidx[i] = rem % blk[i]; rem /= blk[i]; }
      const float *src = px + (nc * kprod + kk) * L;
      for (int64_t l = 0; l < L; l++) {
        int64_t rl = l, pos = 0, inside = 1;
        int64_t lidx[WM_ONNX_MAX_DIMS];
        for (int i = r - 1; i >= 0; i--) { lidx[i] = rl % nblk[i]; rl /= nblk[i]; }
        for (int i = 0; i < r && inside; i++) {
          int64_t p = lidx[i] * str[i] - pads[i] + kidx[i] * dil[i];
          if (p < 0 || p >= img[i]) inside = 0;
          pos = pos * img[i] + p;
        }
        if (inside) y[nc * S + pos] += src[l];
      }
    }
  float_release((float *)px, ox);
  float_commit(k, 0, y);
  return 0;
}
