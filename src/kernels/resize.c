/* resize.c — Resize (nearest/linear/cubic, all coordinate transformation modes, antialias, axes,
 * keep_aspect_ratio_policy) and Upsample, computed one axis at a time (the interpolations are separable). */
#include "kernels.h"

enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYM, CT_PYTORCH_HALF, CT_ALIGN, CT_ASYM, CT_TF_CROP };
enum { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };
enum { M_NEAREST, M_LINEAR, M_CUBIC };

typedef struct resize_cfg {
  int mode, ct, nm, antialias, exclude;
  double a, extrap;
} resize_cfg;

static double cubic_kernel(double x, double a) {
  x = fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/* Taps for one output coordinate: nt indices and weights, or extrapolate. */
typedef struct taps { int nt, extrap; int64_t idx[64]; double w[64]; } taps;

static void compute_taps(const resize_cfg *c, int64_t o, int64_t in, int64_t out, double scale, double rs, double re, taps *t) {
  double x;
  switch (c->ct) {
  case CT_HALF_PIXEL: x = (o + 0.5) / scale - 0.5; break;
  case CT_HALF_PIXEL_SYM: {
    double adj = (double)out / (scale * (double)in), center = (double)in / 2;
    x = center * (1 - adj) + (o + 0.5) / scale - 0.5;
    break;
  }
  case CT_PYTORCH_HALF: x = out > 1 ? (o + 0.5) / scale - 0.5 : 0; break;
  case CT_ALIGN: { /* the reference divides by the unrounded output length in*scale */
    double outf = scale * (double)in;
    x = outf == 1 ? 0 : (double)o * (double)(in - 1) / (outf - 1);
    break;
  }
  case CT_ASYM: x = o / scale; break;
  default:
    x = out > 1 ? rs * (in - 1) + o * (re - rs) * (in - 1) / (double)(out - 1) : 0.5 * (rs + re) * (in - 1);
    break;
  }
  t->extrap = 0;
  if (c->ct == CT_TF_CROP && (x < 0 || x > in - 1)) { t->extrap = 1; t->nt = 0; return; }
  if (c->mode == M_NEAREST) {
    double f = floor(x), r;
    switch (c->nm) {
    case NM_ROUND_FLOOR: r = (x - f == 0.5) ? f : nearbyint(x); if (x - f != 0.5) r = floor(x + 0.5); break;
    case NM_ROUND_CEIL: r = (x - f == 0.5) ? f + 1 : floor(x + 0.5); break;
    case NM_FLOOR: r = f; break;
    default: r = ceil(x); break;
    }
    int64_t i = (int64_t)r;
    t->nt = 1;
    t->idx[0] = i < 0 ? 0 : i >= in ? in - 1 : i;
    t->w[0] = 1;
    return;
  }
  double x0 = floor(x), r = x - x0;
  if (r == 0) { x0 -= 1; r = 1; } /* matches the reference's choice of neighbours at exact hits */
  double s = c->antialias && scale < 1 ? scale : 1;
  int start = c->mode == M_LINEAR ? (int)floor(-1 / s) + 1 : (int)floor(-2 / s) + 1;
  int n = 2 - 2 * start;
  if (n > 64) n = 64;
  double sum = 0;
  for (int j = 0; j < n; j++) {
    double arg = (start + j - r) * s;
    double w = c->mode == M_LINEAR ? fmax(0, 1 - fabs(arg)) : cubic_kernel(arg, c->a);
    int64_t i = (int64_t)x0 + start + j;
    if (c->exclude && (i < 0 || i >= in)) w = 0;
    t->idx[j] = i < 0 ? 0 : i >= in ? in - 1 : i;
    t->w[j] = w;
    sum += w;
  }
  t->nt = n;
  if ((c->antialias && s < 1) || c->exclude)
    for (int j = 0; j < n && sum != 0; j++) t->w[j] /= sum;
}

static int axis_unchanged(const resize_cfg *c, int64_t in, int64_t out, double scale) {
  return in == out && scale == 1 && c->ct != CT_TF_CROP;
}

/* Resizes of the last two axes only with at most two taps per output coordinate (nearest, and linear without
 * antialias: what detection and segmentation necks do), straight into the output: one gather per element
 * instead of an axis-by-axis pass with a temporary tensor each. 1 when done, 0 when not applicable, -1 on error. */
static int resize_2d(onnx_kernel_ctx *k, const wm_onnx_tensor *x, const float *px, const resize_cfg *c, const double *scales,
                     const int64_t *outdims, const double *roi) {
  int nd = x->ndim;
  if (nd < 2 || c->mode == M_CUBIC) return 0;
  for (int ax = 0; ax < nd - 2; ax++)
    if (!axis_unchanged(c, x->dims[ax], outdims[ax], scales[ax])) return 0;
  int64_t H = x->dims[nd - 2], W = x->dims[nd - 1], OH = outdims[nd - 2], OW = outdims[nd - 1];
  if (!H || !W || !OH || !OW) return 0;
  int64_t *idx = malloc((size_t)(OH + OW) * 2 * sizeof *idx);
  float *wt = malloc((size_t)(OH + OW) * 2 * sizeof *wt);
  taps *t = malloc(sizeof *t);
  int oom = !idx || !wt || !t, ok = !oom;
  /* rows then columns: idx[2i], idx[2i+1] and their weights for output coordinate i */
  for (int64_t i = 0; ok && i < OH + OW; i++) {
    int h = i < OH;
    int ax = h ? nd - 2 : nd - 1;
    int64_t o = h ? i : i - OH, in = h ? H : W, out = h ? OH : OW;
    if (axis_unchanged(c, in, out, scales[ax])) { t->extrap = 0; t->nt = 1; t->idx[0] = o; t->w[0] = 1; }
    else compute_taps(c, o, in, out, scales[ax], roi[ax], roi[nd + ax], t);
    if (t->extrap || t->nt < 1 || t->nt > 2) { ok = 0; break; }
    idx[2 * i] = t->idx[0];
    wt[2 * i] = (float)t->w[0];
    idx[2 * i + 1] = t->nt == 2 ? t->idx[1] : t->idx[0];
    wt[2 * i + 1] = t->nt == 2 ? (float)t->w[1] : 0.f;
  }
  free(t);
  if (!ok) { free(idx); free(wt); return oom ? kfail(k, "out of memory") : 0; }
  int nearest = 1;
  for (int64_t i = 0; i < OH + OW; i++) nearest &= wt[2 * i] == 1.f && wt[2 * i + 1] == 0.f;
  float *y = float_out_nz(k, 0, x->dtype, nd, outdims);
  if (!y) { free(idx); free(wt); return -1; }
  int64_t planes = numel_of(nd - 2, x->dims);
  const int64_t *ci = idx + 2 * OH;
  const float *cw = wt + 2 * OH;
  for (int64_t p = 0; p < planes; p++) {
    const float *src = px + p * H * W;
    float *dst = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++, dst += OW) {
      const float *r0 = src + idx[2 * oh] * W, *r1 = src + idx[2 * oh + 1] * W;
      if (nearest) {
        for (int64_t ow = 0; ow < OW; ow++) dst[ow] = r0[ci[2 * ow]];
        continue;
      }
      float h0 = wt[2 * oh], h1 = wt[2 * oh + 1];
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t a = ci[2 * ow], b = ci[2 * ow + 1];
        float w0 = cw[2 * ow], w1 = cw[2 * ow + 1];
        dst[ow] = h0 * (w0 * r0[a] + w1 * r0[b]) + h1 * (w0 * r1[a] + w1 * r1[b]);
      }
    }
  }
  free(idx);
  free(wt);
  float_commit(k, 0, y);
  return 1;
}

static int do_resize(onnx_kernel_ctx *k, const wm_onnx_tensor *x, const resize_cfg *c, const double *scales,
                     const int64_t *outdims, const double *roi) {
  int nd = x->ndim;
  int ox;
  const float *px = float_view(k, x, &ox);
  if (!px) return -1;
  int fast = resize_2d(k, x, px, c, scales, outdims, roi);
  if (fast) {
    float_release((float *)px, ox);
    return fast < 0 ? -1 : 0;
  }
  int64_t cur_dims[WM_ONNX_MAX_DIMS];
  memcpy(cur_dims, x->dims, sizeof cur_dims);
  float *cur = (float *)px;
  int cur_owned = ox;
  taps *tp = NULL;
  for (int ax = 0; ax < nd; ax++) {
    int64_t in = cur_dims[ax], out = outdims[ax];
    if (in == out && scales[ax] == 1 && c->ct != CT_TF_CROP) continue;
    if (in == 0 || out == 0) { cur_dims[ax] = out; continue; }
    free(tp);
    tp = malloc((size_t)out * sizeof *tp);
    int64_t nd2[WM_ONNX_MAX_DIMS];
    memcpy(nd2, cur_dims, sizeof nd2);
    nd2[ax] = out;
    int64_t total = numel_of(nd, nd2);
    float *nx = malloc((size_t)(total ? total : 1) * sizeof(float));
    if (!tp || !nx) { free(tp); free(nx); if (cur_owned) free(cur); return kfail(k, "out of memory"); }
    for (int64_t o = 0; o < out; o++) compute_taps(c, o, in, out, scales[ax], roi[ax], roi[nd + ax], &tp[o]);
    int64_t outer = numel_of(ax, cur_dims), inner = numel_of(nd - ax - 1, cur_dims + ax + 1);
    for (int64_t a = 0; a < outer; a++)
      for (int64_t o = 0; o < out; o++) {
        float *d = nx + (a * out + o) * inner;
        const taps *t = &tp[o];
        if (t->extrap) { for (int64_t i = 0; i < inner; i++) d[i] = (float)c->extrap; continue; }
        if (inner >= 8) { /* whole rows: copy (one tap of weight 1, as nearest gives) or blend row by row */
          if (t->nt == 1 && t->w[0] == 1.0) {
            memcpy(d, cur + (a * in + t->idx[0]) * inner, (size_t)inner * sizeof(float));
            continue;
          }
          for (int64_t i = 0; i < inner; i++) d[i] = 0;
          for (int j = 0; j < t->nt; j++) {
            const float *sr = cur + (a * in + t->idx[j]) * inner;
            float w = (float)t->w[j];
            for (int64_t i = 0; i < inner; i++) d[i] += w * sr[i];
          }
          continue;
        }
        for (int64_t i = 0; i < inner; i++) {
          double s = 0;
          for (int j = 0; j < t->nt; j++) s += t->w[j] * cur[(a * in + t->idx[j]) * inner + i];
          d[i] = (float)s;
        }
      }
    if (cur_owned) free(cur);
    cur = nx;
    cur_owned = 1;
    cur_dims[ax] = out;
  }
  free(tp);
  float *y = float_out_nz(k, 0, x->dtype, nd, cur_dims); /* all of it is copied below */
  if (!y) { if (cur_owned) free(cur); return -1; }
  memcpy(y, cur, (size_t)numel_of(nd, cur_dims) * sizeof(float));
  if (cur_owned) free(cur);
  float_commit(k, 0, y);
  return 0;
}

static int parse_cfg(onnx_kernel_ctx *k, resize_cfg *c, int upsample) {
  const char *mode = attr_str(k->node, "mode", "nearest");
  c->mode = !strcmp(mode, "nearest") ? M_NEAREST : (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) ? M_LINEAR
          : !strcmp(mode, "cubic") ? M_CUBIC : -1;
  if (c->mode < 0) return kfail(k, "unknown mode '%s'", mode);
  const char *ct = attr_str(k->node, "coordinate_transformation_mode", (upsample || k->opset < 11) ? "asymmetric" : "half_pixel");
  static const char *cts[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"};
  c->ct = -1;
  for (int i = 0; i < 6; i++) if (!strcmp(ct, cts[i])) c->ct = i;
  if (c->ct < 0) return kfail(k, "unknown coordinate_transformation_mode '%s'", ct);
  const char *nm = attr_str(k->node, "nearest_mode", upsample ? "floor" : "round_prefer_floor");
  static const char *nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  c->nm = -1;
  for (int i = 0; i < 4; i++) if (!strcmp(nm, nms[i])) c->nm = i;
  if (c->nm < 0) return kfail(k, "unknown nearest_mode '%s'", nm);
  c->a = attr_float(k->node, "cubic_coeff_a", -0.75f);
  c->exclude = (int)attr_int(k->node, "exclude_outside", 0);
  c->extrap = attr_float(k->node, "extrapolation_value", 0.0f);
  c->antialias = (int)attr_int(k->node, "antialias", 0);
  return 0;
}

KERNEL(Resize) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "X")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  int nd = x->ndim;
  resize_cfg c;
  if (parse_cfg(k, &c, 0)) return -1;
  const wm_onnx_tensor *roi_t = NULL, *sc_t = NULL, *sz_t = NULL;
  if (k->opset < 11) sc_t = kin(k, 1);
  else { roi_t = kin(k, 1); sc_t = kin(k, 2); sz_t = kin(k, 3); }
  if (sc_t && wm_onnx_numel(sc_t) == 0) sc_t = NULL;
  if (sz_t && wm_onnx_numel(sz_t) == 0) sz_t = NULL;
  int axes[WM_ONNX_MAX_DIMS], na = nd;
  size_t cnt = 0;
  const int64_t *ax = attr_ints(k->node, "axes", &cnt);
  if (ax) {
    if ((int)cnt > nd) return kfail(k, "too many axes");
    na = (int)cnt;
    for (int i = 0; i < na; i++) if (normalize_axis(k, ax[i], nd, &axes[i])) return -1;
  } else for (int i = 0; i < nd; i++) axes[i] = i;
  double scales[WM_ONNX_MAX_DIMS], roi[2 * WM_ONNX_MAX_DIMS];
  int64_t out[WM_ONNX_MAX_DIMS];
  for (int d = 0; d < nd; d++) { scales[d] = 1; out[d] = x->dims[d]; roi[d] = 0; roi[nd + d] = 1; }
  if (roi_t && wm_onnx_numel(roi_t) == 2 * na)
    for (int i = 0; i < na; i++) { roi[axes[i]] = tget(roi_t, i); roi[nd + axes[i]] = tget(roi_t, na + i); }
  if (sz_t) {
    if (wm_onnx_numel(sz_t) != na) return kfail(k, "sizes has %lld values for %d axes", (long long)wm_onnx_numel(sz_t), na);
    const char *pol = attr_str(k->node, "keep_aspect_ratio_policy", "stretch");
    if (!strcmp(pol, "stretch")) {
      for (int i = 0; i < na; i++) {
        out[axes[i]] = tget_i64(sz_t, i);
        scales[axes[i]] = x->dims[axes[i]] ? (double)out[axes[i]] / (double)x->dims[axes[i]] : 1;
      }
    } else {
      int larger = !strcmp(pol, "not_smaller");
      double s = larger ? 0 : INFINITY;
      for (int i = 0; i < na; i++) {
        double r = (double)tget_i64(sz_t, i) / (double)x->dims[axes[i]];
        s = larger ? fmax(s, r) : fmin(s, r);
      }
      for (int i = 0; i < na; i++) {
        scales[axes[i]] = s;
        out[axes[i]] = (int64_t)floor(s * (double)x->dims[axes[i]] + 0.5);
      }
    }
  } else if (sc_t) {
    if (wm_onnx_numel(sc_t) != na) return kfail(k, "scales has %lld values for %d axes", (long long)wm_onnx_numel(sc_t), na);
    for (int i = 0; i < na; i++) {
      double s = tget(sc_t, i);
      if (!(s > 0)) return kfail(k, "scale must be positive");
      scales[axes[i]] = s;
      out[axes[i]] = (int64_t)floor((double)x->dims[axes[i]] * s);
    }
  } else return kfail(k, "either scales or sizes is required");
  return do_resize(k, x, &c, scales, out, roi);
}

KERNEL(Upsample) {
  if (need_inputs(k, 1) || require_float(k, k->in[0], "X")) return -1;
  const wm_onnx_tensor *x = k->in[0];
  resize_cfg c;
  if (parse_cfg(k, &c, 1)) return -1;
  double scales[WM_ONNX_MAX_DIMS], roi[2 * WM_ONNX_MAX_DIMS];
  int64_t out[WM_ONNX_MAX_DIMS];
  size_t cnt = 0;
  const float *fs = attr_floats(k->node, "scales", &cnt);
  int64_t ns = kin(k, 1) ? wm_onnx_numel(k->in[1]) : (int64_t)cnt;
  if (ns != x->ndim) return kfail(k, "scales must have one value per dimension");
  for (int d = 0; d < x->ndim; d++) {
    scales[d] = kin(k, 1) ? tget(k->in[1], d) : fs[d];
    out[d] = (int64_t)floor((double)x->dims[d] * scales[d]);
    roi[d] = 0;
    roi[x->ndim + d] = 1;
  }
  return do_resize(k, x, &c, scales, out, roi);
}
