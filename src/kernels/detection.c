/* detection.c — object-detection operators: NonMaxSuppression (greedy per batch and class, corner or center box
 * encodings) and RoiAlign (avg/max, half_pixel/output_half_pixel). */
#include "kernels.h"

typedef struct nms_cand { float score; int64_t idx; } nms_cand;

static int cand_cmp(const void *a, const void *b) {
  const nms_cand *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void box_corners(const wm_onnx_tensor *bx, int64_t off, int center, double c[4]) {
  double a = tget(bx, off), b = tget(bx, off + 1), d = tget(bx, off + 2), e = tget(bx, off + 3);
  if (center) { /* [x_center, y_center, width, height] */
    c[0] = b - e / 2; c[1] = a - d / 2; c[2] = b + e / 2; c[3] = a + d / 2;
  } else { /* [y1, x1, y2, x2] in any corner order */
    c[0] = fmin(a, d); c[1] = fmin(b, e); c[2] = fmax(a, d); c[3] = fmax(b, e);
  }
}

static double iou(const double *p, const double *q) {
  double ap = (p[2] - p[0]) * (p[3] - p[1]), aq = (q[2] - q[0]) * (q[3] - q[1]);
  if (ap <= 0 || aq <= 0) return 0;
  double h = fmin(p[2], q[2]) - fmax(p[0], q[0]), w = fmin(p[3], q[3]) - fmax(p[1], q[1]);
  if (h <= 0 || w <= 0) return 0;
  double inter = h * w;
  return inter / (ap + aq - inter);
}

KERNEL(NonMaxSuppression) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *bx = k->in[0], *sc = k->in[1], *mo = kin(k, 2), *it = kin(k, 3), *st = kin(k, 4);
  if (require_float(k, bx, "boxes") || require_float(k, sc, "scores")) return -1;
  if (bx->ndim != 3 || bx->dims[2] != 4 || sc->ndim != 3 || sc->dims[0] != bx->dims[0] || sc->dims[2] != bx->dims[1])
    return kfail(k, "boxes must be (B, S, 4) and scores (B, C, S)");
  int64_t B = bx->dims[0], C = sc->dims[1], S = bx->dims[1];
  int64_t maxo = mo && wm_onnx_numel(mo) ? tget_i64(mo, 0) : 0;
  double iou_t = it && wm_onnx_numel(it) ? tget(it, 0) : 0;
  int has_st = st && wm_onnx_numel(st);
  double score_t = has_st ? tget(st, 0) : 0;
  int center = (int)attr_int(k->node, "center_point_box", 0);
  if (maxo < 0) maxo = 0;
  if (maxo > S) maxo = S;
  int64_t cap = B * C * maxo;
  nms_cand *cand = malloc((size_t)(S ? S : 1) * sizeof *cand);
  int64_t *sel = malloc((size_t)(cap ? cap : 1) * 3 * sizeof *sel), *keep = malloc((size_t)(maxo ? maxo : 1) * sizeof *keep);
  double *corners = malloc((size_t)(S ? S : 1) * 4 * sizeof *corners);
  if (!cand || !sel || !keep || !corners) {
    free(cand); free(sel); free(keep); free(corners);
    return kfail(k, "out of memory");
  }
  int64_t nsel = 0;
  for (int64_t b = 0; b < B; b++) {
    for (int64_t s = 0; s < S; s++) box_corners(bx, (b * S + s) * 4, center, corners + s * 4);
    for (int64_t c = 0; c < C; c++) {
      int64_t nc = 0, nk = 0;
      for (int64_t s = 0; s < S; s++) {
        float v = (float)tget(sc, (b * C + c) * S + s);
        if (v != v || (has_st && !(v > score_t))) continue;
        cand[nc].score = v;
        cand[nc++].idx = s;
      }
      qsort(cand, (size_t)nc, sizeof *cand, cand_cmp);
      for (int64_t i = 0; i < nc && nk < maxo; i++) {
        int ok = 1;
        for (int64_t j = 0; j < nk && ok; j++)
          if (iou(corners + cand[i].idx * 4, corners + keep[j] * 4) > iou_t) ok = 0;
        if (!ok) continue;
        keep[nk++] = cand[i].idx;
        sel[nsel * 3] = b;
        sel[nsel * 3 + 1] = c;
        sel[nsel * 3 + 2] = cand[i].idx;
        nsel++;
      }
    }
  }
  int64_t od[2] = {nsel, 3};
  int rc = out_alloc(k, 0, WM_ONNX_INT64, 2, od);
  if (!rc && nsel) memcpy(k->out[0]->data, sel, (size_t)nsel * 3 * sizeof *sel);
  free(cand); free(sel); free(keep); free(corners);
  return rc;
}

KERNEL(RoiAlign) {
  if (need_inputs(k, 3)) return -1;
  const wm_onnx_tensor *x = k->in[0], *rois = k->in[1], *bi = k->in[2];
  if (require_float(k, x, "X") || require_float(k, rois, "rois")) return -1;
  if (x->ndim != 4) return kfail(k, "X must be (N, C, H, W)");
  if (rois->ndim != 2 || rois->dims[1] != 4) return kfail(k, "rois must be (num_rois, 4)");
  int64_t R = rois->dims[0], N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  if (!is_int_type(bi->dtype) || wm_onnx_numel(bi) != R) return kfail(k, "batch_indices must hold %lld integers", (long long)R);
  int64_t oh = attr_int(k->node, "output_height", 1), ow = attr_int(k->node, "output_width", 1);
  int64_t sr = attr_int(k->node, "sampling_ratio", 0);
  double ss = attr_float(k->node, "spatial_scale", 1.0f);
  const char *mode = attr_str(k->node, "mode", "avg");
  const char *ctm = attr_str(k->node, "coordinate_transformation_mode", k->opset >= 16 ? "half_pixel" : "output_half_pixel");
  int is_max = !strcmp(mode, "max"), half = !strcmp(ctm, "half_pixel");
  if (!is_max && strcmp(mode, "avg")) return kfail(k, "unknown mode '%s'", mode);
  if (!half && strcmp(ctm, "output_half_pixel")) return kfail(k, "unknown coordinate_transformation_mode '%s'", ctm);
  if (oh <= 0 || ow <= 0 || oh > 65536 || ow > 65536 || sr < 0 || sr > 65536) return kfail(k, "output size or sampling_ratio out of range");
  int64_t od[4] = {R, C, oh, ow};
  if (out_alloc(k, 0, x->dtype, 4, od)) return -1;
  for (int64_t r = 0; r < R; r++) {
    int64_t b = tget_i64(bi, r);
    if (b < 0 || b >= N) return kfail(k, "batch index %lld out of range", (long long)b);
    double off = half ? 0.5 : 0.0, c4[4];
    for (int i = 0; i < 4; i++) {
      c4[i] = tget(rois, r * 4 + i) * ss - off;
      if (!isfinite(c4[i]) || fabs(c4[i]) > 1e9) return kfail(k, "roi %lld has a non-finite or huge coordinate", (long long)r);
    }
    double rw = c4[2] - c4[0], rh = c4[3] - c4[1];
    if (!half) { rw = fmax(rw, 1.0); rh = fmax(rh, 1.0); }
    double bh = rh / (double)oh, bw = rw / (double)ow;
    int64_t gh = sr > 0 ? sr : (int64_t)ceil(rh / (double)oh), gw = sr > 0 ? sr : (int64_t)ceil(rw / (double)ow);
    if (gh < 0) gh = 0;
    if (gw < 0) gw = 0;
    if (gh * gw > (1 << 20)) return kfail(k, "roi %lld needs too many samples per bin", (long long)r);
    double count = gh * gw > 0 ? (double)(gh * gw) : 1.0;
    for (int64_t c = 0; c < C; c++) {
      int64_t base = (b * C + c) * H * W;
      for (int64_t ph = 0; ph < oh; ph++)
        for (int64_t pw = 0; pw < ow; pw++) {
          double acc = 0;
          int have = 0;
          for (int64_t iy = 0; iy < gh; iy++)
            for (int64_t ix = 0; ix < gw; ix++) {
              double y = c4[1] + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
              double xx = c4[0] + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
              double v[4] = {0, 0, 0, 0};
              if (!(y < -1.0 || y > (double)H || xx < -1.0 || xx > (double)W) && H > 0 && W > 0) {
                if (y <= 0) y = 0;
                if (xx <= 0) xx = 0;
                int64_t yl = (int64_t)y, xl = (int64_t)xx, yh, xh;
                if (yl >= H - 1) { yh = yl = H - 1; y = (double)yl; } else yh = yl + 1;
                if (xl >= W - 1) { xh = xl = W - 1; xx = (double)xl; } else xh = xl + 1;
                double ly = y - (double)yl, lx = xx - (double)xl, hy = 1 - ly, hx = 1 - lx;
                v[0] = hy * hx * tget(x, base + yl * W + xl);
                v[1] = hy * lx * tget(x, base + yl * W + xh);
                v[2] = ly * hx * tget(x, base + yh * W + xl);
                v[3] = ly * lx * tget(x, base + yh * W + xh);
              }
              if (is_max) {
                double m = fmax(fmax(v[0], v[1]), fmax(v[2], v[3]));
                acc = have ? fmax(acc, m) : m;
                have = 1;
              } else {
                acc += v[0] + v[1] + v[2] + v[3];
              }
            }
          tset(k->out[0], ((r * C + c) * oh + ph) * ow + pw, is_max ? acc : acc / count);
        }
    }
  }
  return 0;
}
