/* quant.c — QuantizeLinear / DequantizeLinear (per-tensor and per-axis; blocked quantisation is unsupported). */
#include "kernels.h"

static int quant_axis(onnx_kernel_ctx *k, const wm_onnx_tensor *x, const wm_onnx_tensor *scale, int *axis,
                      int64_t *inner, int64_t *len) {
  if (attr_int(k->node, "block_size", 0) > 0) return kunsupported(k, "blocked quantization is not supported");
  int64_t ns = wm_onnx_numel(scale);
  *inner = 1;
  *len = 1;
  *axis = -1;
  if (scale->ndim == 0 || ns == 1) return 0;
  if (scale->ndim != 1) return kunsupported(k, "scale of rank %d is not supported", scale->ndim);
  if (normalize_axis(k, attr_int(k->node, "axis", 1), x->ndim, axis)) return -1;
  if (x->dims[*axis] != ns) return kfail(k, "scale has %lld values, axis has %lld", (long long)ns, (long long)x->dims[*axis]);
  *len = ns;
  *inner = numel_of(x->ndim - *axis - 1, x->dims + *axis + 1);
  return 0;
}

KERNEL(DequantizeLinear) {
  if (need_inputs(k, 2)) return -1;
  const wm_onnx_tensor *x = k->in[0], *sc = k->in[1], *zp = kin(k, 2);
  if (!is_int_type(x->dtype)) return kunsupported(k, "dequantizing %s is not supported", wm_onnx_dtype_name(x->dtype));
  int axis;
  int64_t inner, len;
  int rc = quant_axis(k, x, sc, &axis, &inner, &len);
  if (rc) return rc;
  if (out_alloc(k, 0, sc->dtype, x->ndim, x->dims)) return -1;
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) {
    int64_t c = (i / inner) % len;
    double z = zp ? (double)tget_i64(zp, c) : 0;
    tset(k->out[0], i, ((double)tget_i64(x, i) - z) * (float)tget(sc, c));
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
  default: return kunsupported(k, "quantizing to %s is not supported", wm_onnx_dtype_name((wm_onnx_dtype)odt));
  }
  int axis;
  int64_t inner, len;
  int rc = quant_axis(k, x, sc, &axis, &inner, &len);
  if (rc) return rc;
  if (out_alloc(k, 0, (wm_onnx_dtype)odt, x->ndim, x->dims)) return -1;
  for (int64_t i = 0, n = wm_onnx_numel(x); i < n; i++) {
    int64_t c = (i / inner) % len;
    double z = zp ? (double)tget_i64(zp, c) : 0;
    double q = nearbyint((float)tget(x, i) / (float)tget(sc, c)) + z; /* round half to even, like numpy */
    tset_i64(k->out[0], i, (int64_t)(q < lo ? lo : q > hi ? hi : q));
  }
  return 0;
}
