/* quant.c — QuantizeLinear / DequantizeLinear (per-tensor, per-axis and blocked; 8/16-bit, 4-bit and float8
 * types). */
#include "kernels.h"

/* Maps element i of x to its scale / zero-point index: per-tensor, per-axis, or blocked along the axis. */
typedef struct qmap { int64_t inner, len, block, slen; } qmap;

static int64_t qidx(const qmap *m, int64_t i) {
  if (!m->block) return m->len == 1 ? 0 : (i / m->inner) % m->len;
  int64_t in = i % m->inner, a = (i / m->inner) % m->len, o = i / (m->inner * m->len);
  return (o * m->slen + a / m->block) * m->inner + in;
}

static int quant_map(onnx_kernel_ctx *k, const wm_onnx_tensor *x, const wm_onnx_tensor *scale,
                     const wm_onnx_tensor *zp, qmap *m) {
  int64_t ns = wm_onnx_numel(scale), block = attr_int(k->node, "block_size", 0);
  int axis;
  m->inner = m->len = m->slen = 1;
  m->block = 0;
  if (zp && wm_onnx_numel(zp) != ns) return kfail(k, "zero point has %lld values, scale has %lld", (long long)wm_onnx_numel(zp), (long long)ns);
  if (block < 0) return kfail(k, "block_size must be >= 0");
  if (block > 0) {
    if (normalize_axis(k, attr_int(k->node, "axis", 1), x->ndim, &axis)) return -1;
    if (scale->ndim != x->ndim) return kfail(k, "blocked scale must have the rank of x");
    for (int d = 0; d < x->ndim; d++) {
      int64_t want = d == axis ? (x->dims[d] + block - 1) / block : x->dims[d];
      if (scale->dims[d] != want) return kfail(k, "blocked scale dimension %d is %lld, expected %lld", d, (long long)scale->dims[d], (long long)want);
    }
    if (zp) for (int d = 0; d < x->ndim; d++) if (zp->dims[d] != scale->dims[d] || zp->ndim != scale->ndim) return kfail(k, "zero point shape differs from scale");
    m->block = block;
    m->len = x->dims[axis];
    m->slen = scale->dims[axis];
    m->inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
    return 0;
  }
  if (scale->ndim == 0 || ns == 1) return 0;
  if (scale->ndim != 1) return kunsupported(k, "scale of rank %d is not supported", scale->ndim);
  if (normalize_axis(k, attr_int(k->node, "axis", 1), x->ndim, &axis)) return -1;
  if (x->dims[axis] != ns) return kfail(k, "scale has %lld values, axis has %lld", (long long)ns, (long long)x->dims[axis]);
  m->len = ns;
  m->inner = numel_of(x->ndim - axis - 1, x->dims + axis + 1);
  return 0;
}

KERNEL(DequantizeLinear) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *sc = k->in[1], *zp = kin(k, 2);
  int f8 = is_float8_type(x->dtype);
  if (!is_int_type(x->dtype) && !f8) return kunsupported(k, "dequantizing %s is not supported", wm_onnx_dtype_name(x->dtype));
  qmap qm;
  int rc = quant_map(k, x, sc, zp, &qm);
  if (rc) return rc;
  if (out_alloc(k, 0, sc->dtype, x->ndim, x->dims)) return -1;
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) {
    int64_t c = qidx(&qm, i);
    double z = zp ? (f8 ? tget(zp, c) : (double)tget_i64(zp, c)) : 0;
    double v = f8 ? tget(x, i) : (double)tget_i64(x, i);
    tset(k->out[0], i, (v - z) * (float)tget(sc, c));
  }
  return 0;
}

KERNEL(QuantizeLinear) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *sc = k->in[1], *zp = kin(k, 2);
  int odt = zp ? (int)zp->dtype : (int)attr_int(k->node, "output_dtype", WM_ONNX_UINT8);
  if (!odt) odt = WM_ONNX_UINT8;
  double lo, hi;
  switch (odt) {
  case WM_ONNX_UINT8: lo = 0; hi = 255; break;
  case WM_ONNX_INT8: lo = -128; hi = 127; break;
  case WM_ONNX_UINT16: lo = 0; hi = 65535; break;
  case WM_ONNX_INT16: lo = -32768; hi = 32767; break;
  case WM_ONNX_UINT4: lo = 0; hi = 15; break;
  case WM_ONNX_INT4: lo = -8; hi = 7; break;
  case WM_ONNX_FLOAT8E4M3FN: case WM_ONNX_FLOAT8E4M3FNUZ: case WM_ONNX_FLOAT8E5M2: case WM_ONNX_FLOAT8E5M2FNUZ:
    lo = hi = 0;
    break;
  default: return kunsupported(k, "quantizing to %s is not supported", wm_onnx_dtype_name((wm_onnx_dtype)odt));
  }
  qmap qm;
  int rc = quant_map(k, x, sc, zp, &qm);
  if (rc) return rc;
  if (out_alloc(k, 0, (wm_onnx_dtype)odt, x->ndim, x->dims)) return -1;
  if (is_float8_type(odt)) {
    int sat = (int)attr_int(k->node, "saturate", 1);
    uint8_t *o = k->out[0]->data;
    for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) {
      int64_t c = qidx(&qm, i);
      o[i] = float_to_float8((float)((float)tget(x, i) / (float)tget(sc, c) + (zp ? tget(zp, c) : 0.0)), odt, sat);
    }
    return 0;
  }
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) {
    int64_t c = qidx(&qm, i);
    double z = zp ? (double)tget_i64(zp, c) : 0;
    double q = nearbyint((float)tget(x, i) / (float)tget(sc, c)) + z; /* round half to even, like numpy */
    if (q != q) q = 0;   /* NaN (e.g. 0/0 from a zero scale): casting it to an integer is undefined */
    tset_i64(k->out[0], i, (int64_t)(q < lo ? lo : q > hi ? hi : q));
  }
  return 0;
}
