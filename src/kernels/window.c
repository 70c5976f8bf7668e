/* window.c — signal window generators: HannWindow, HammingWindow, BlackmanWindow (periodic/symmetric,
 * output_datatype). */
#include "kernels.h"

static int window_gen(onnx_kernel_ctx *k, double a0, double a1, double a2) {
  if (need_inputs(k, 1)) return -1;
  int64_t size;
  if (read_ints(k, k->in[0], &size, 1, "size") != 1) return -1;
  if (size < 0 || size > ((int64_t)1 << 28)) return kfail(k, "window size %lld is out of range", (long long)size);
  int dt = (int)attr_int(k->node, "output_datatype", WM_ONNX_FLOAT);
  if (!is_float_type(dt) && !is_int_type(dt)) return kunsupported(k, "output_datatype %d is not supported", dt);
  int periodic = (int)attr_int(k->node, "periodic", 1);
  if (out_alloc(k, 0, (wm_onnx_dtype)dt, 1, &size)) return -1;
  double den = periodic ? (double)size : (double)(size - 1);
  for (int64_t i = 0; i < size; i++) {
    double x = den > 0 ? 2.0 * M_PI * (double)i / den : 0.0;
    tset(k->out[0], i, a0 - a1 * cos(x) + a2 * cos(2 * x));
  }
  return 0;
}

KERNEL(HannWindow) { return window_gen(k, 0.5, 0.5, 0.0); }
KERNEL(HammingWindow) { return window_gen(k, 25.0 / 46.0, 21.0 / 46.0, 0.0); }
KERNEL(BlackmanWindow) { return window_gen(k, 0.42, 0.5, 0.08); }
