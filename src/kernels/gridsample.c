/* gridsample.c — GridSample (opset 16 and 20): N-D spatial sampling with nearest / (bi)linear / (bi)cubic modes and
 * zeros / border / reflection padding, following the ONNX reference's separable per-axis formulation. */
#include "kernels.h"

enum { GS_NEAREST, GS_LINEAR, GS_CUBIC };
enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECT };

/* Reflects x into [lo, hi] (the reference's _gs_reflect, written without an integer round trip). */
static double gs_reflect(double x, double lo, double hi) {
  double rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    double r = fmod(lo - x, 2 * rng);
    return r <= rng ? lo + r : hi - (r - rng);
  }
  if (x > hi) {
    double r = fmod(x - hi, 2 * rng);
    return r <= rng ? hi - r : lo + (r - rng);
  }
  return x;
}

/* Index of tap i along an axis of length len, or -1 when it reads the zero padding. */
static int64_t gs_index(int64_t i, int64_t len, int pad, double lo, double hi) {
  if (pad == PAD_ZEROS) return i >= 0 && i < len ? i : -1;
  if (pad == PAD_BORDER) return i < 0 ? 0 : i >= len ? len - 1 : i;
  int64_t r = (int64_t)gs_reflect((double)i, lo, hi);
  return r < 0 ? 0 : r >= len ? len - 1 : r;
}

static void cubic_coeffs(double x, double c[4]) {
  const double A = -0.75;
  x = fabs(x);
  c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
  c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
  c[3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

KERNEL(GridSample) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *grid = k->in[1];
  if (require_float(k, x, "X") || require_float(k, grid, "grid")) return -1;
  int r = x->ndim - 2;
  if (r < 1 || r > WM_ONNX_MAX_DIMS - 2) return kfail(k, "X must have rank 3..%d", WM_ONNX_MAX_DIMS);
  if (grid->ndim != r + 2 || grid->dims[0] != x->dims[0] || grid->dims[r + 1] != r)
    return kfail(k, "grid must have shape (N, spatial..., %d) matching X", r);
  const char *ms = attr_str(k->node, "mode", k->opset >= 20 ? "linear" : "bilinear");
  int mode;
  if (!strcmp(ms, "nearest")) mode = GS_NEAREST;
  else if (!strcmp(ms, "linear") || !strcmp(ms, "bilinear")) mode = GS_LINEAR;
  else if (!strcmp(ms, "cubic") || !strcmp(ms, "bicubic")) mode = GS_CUBIC;
  else return kfail(k, "unknown mode '%s'", ms);
  const char *ps = attr_str(k->node, "padding_mode", "zeros");
  int pad;
  if (!strcmp(ps, "zeros")) pad = PAD_ZEROS;
  else if (!strcmp(ps, "border")) pad = PAD_BORDER;
  else if (!strcmp(ps, "reflection")) pad = PAD_REFLECT;
  else return kfail(k, "unknown padding_mode '%s'", ps);
  int align = (int)attr_int(k->node, "align_corners", 0);
  int K = mode == GS_NEAREST ? 1 : mode == GS_LINEAR ? 2 : 4;
  int64_t ncomb = 1;
  for (int i = 0; i < r; i++) ncomb *= K;

  int64_t N = x->dims[0], C = x->dims[1], S = numel_of(r, x->dims + 2), P = numel_of(r, grid->dims + 1);
  int64_t odims[WM_ONNX_MAX_DIMS];
  odims[0] = N;
  odims[1] = C;
  for (int i = 0; i < r; i++) odims[2 + i] = grid->dims[1 + i];
  const int64_t *L = x->dims + 2;
  int64_t sstride[WM_ONNX_MAX_DIMS];
  sstride[r - 1] = 1;
  for (int i = r - 2; i >= 0; i--) sstride[i] = sstride[i + 1] * L[i + 1];

  float *y = float_out(k, 0, x->dtype, x->ndim, odims);
  int ox, og;
  const float *px = float_view(k, x, &ox), *pg = float_view(k, grid, &og);
  if (!y || !px || !pg) {
    float_release((float *)px, ox);
    float_release((float *)pg, og);
    return -1;
  }
  for (int64_t n = 0; n < N; n++)
    for (int64_t p = 0; p < P; p++) {
      int64_t idx[WM_ONNX_MAX_DIMS][4];
      double w[WM_ONNX_MAX_DIMS][4];
      int finite = 1;
      for (int i = 0; i < r; i++) {
        double g = pg[(n * P + p) * r + (r - 1 - i)], len = (double)L[i];
        double lo = align ? 0.0 : -0.5, hi = align ? len - 1 : len - 0.5;
        double c = align ? (g + 1) / 2 * (len - 1) : ((g + 1) * len - 1) / 2;
        if (!isfinite(c)) { finite = 0; break; }
        if (mode == GS_NEAREST) c = nearbyint(c);
        if (c < lo || c > hi) {
          if (pad == PAD_BORDER) c = c < 0 ? 0 : c > len - 1 ? len - 1 : c;
          else if (pad == PAD_REFLECT) c = gs_reflect(c, lo, hi);
        }
        /* far outside (zeros padding) every tap misses; clamping keeps the integer conversion defined */
        if (c < -8) c = -8;
        if (c > len + 8) c = len + 8;
        double f = floor(c);
        int64_t i0 = (int64_t)f;
        if (mode == GS_NEAREST) {
          idx[i][0] = gs_index((int64_t)c, L[i], pad, lo, hi); /* c is integral here, or reflected into range */
          w[i][0] = 1;
        } else if (mode == GS_LINEAR) {
          idx[i][0] = gs_index(i0, L[i], pad, lo, hi);
          idx[i][1] = gs_index(i0 + 1, L[i], pad, lo, hi);
          w[i][0] = 1 - (c - f);
          w[i][1] = c - f;
        } else {
          cubic_coeffs(c - f, w[i]);
          for (int t = 0; t < 4; t++) idx[i][t] = gs_index(i0 - 1 + t, L[i], pad, lo, hi);
        }
      }
      for (int64_t ch = 0; ch < C; ch++) {
        const float *src = px + (n * C + ch) * S;
        double acc = 0;
        if (finite)
          for (int64_t comb = 0; comb < ncomb; comb++) {
            int64_t rem = comb, off = 0;
            double wt = 1;
            for (int i = r - 1; i >= 0 && wt != 0; i--) {
              int t = (int)(rem % K);
              rem /= K;
              if (idx[i][t] < 0) wt = 0;
              else {
                wt *= w[i][t];
                off += idx[i][t] * sstride[i];
              }
            }
            if (wt != 0) acc += wt * src[off];
          }
        y[(n * C + ch) * P + p] = (float)acc;
      }
    }
  float_release((float *)px, ox);
  float_release((float *)pg, og);
  float_commit(k, 0, y);
  return 0;
}

/* AffineGrid: theta (N, r, r+1) applied to the normalised base grid of size (N, C, spatial...) -> (N, spatial..., r).
 * Base coordinates follow the reference: align_corners spans [-1, 1] inclusive, otherwise pixel centres. */
KERNEL(AffineGrid) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *th = k->in[0];
  if (require_float(k, th, "theta")) return -1;
  int64_t size[WM_ONNX_MAX_DIMS];
  int ns = read_ints(k, k->in[1], size, WM_ONNX_MAX_DIMS, "size");
  if (ns < 0) return -1;
  int r = ns - 2;
  if (r != 2 && r != 3) return kfail(k, "size must have 4 or 5 values");
  if (th->ndim != 3 || th->dims[0] != size[0] || th->dims[1] != r || th->dims[2] != r + 1)
    return kfail(k, "theta must have shape (N, %d, %d)", r, r + 1);
  int64_t od[WM_ONNX_MAX_DIMS];
  od[0] = size[0];
  for (int i = 0; i < r; i++) {
    if (size[2 + i] <= 0 || size[2 + i] > ((int64_t)1 << 24)) return kfail(k, "spatial size out of range");
    od[1 + i] = size[2 + i];
  }
  od[r + 1] = r;
  int align = (int)attr_int(k->node, "align_corners", 0);
  if (out_alloc(k, 0, th->dtype, r + 2, od)) return -1;
  int64_t P = numel_of(r, od + 1);
  for (int64_t n = 0; n < size[0]; n++)
    for (int64_t p = 0; p < P; p++) {
      double base[4]; /* x (last spatial axis), y, z, 1 */
      int64_t rem = p;
      for (int i = r - 1; i >= 0; i--) {
        int64_t L = od[1 + i], idx = rem % L;
        rem /= L;
        double c = align ? (L > 1 ? -1.0 + 2.0 * (double)idx / (double)(L - 1) : -1.0) : -1.0 + (2.0 * (double)idx + 1.0) / (double)L;
        base[r - 1 - i] = c;
      }
      base[r] = 1.0;
      for (int j = 0; j < r; j++) {
        double s = 0;
        for (int c = 0; c <= r; c++) s += tget(th, (n * r + j) * (r + 1) + c) * base[c];
        tset(k->out[0], (n * P + p) * r + j, s);
      }
    }
  return 0;
}
