/* glue.c — the exports web/index.js calls on wasmind-onnx(.mt).wasm: create a model from bytes, describe its
 * inputs/outputs, run it on tensors laid out by JS, read the outputs back; all over src/onnx/onnx.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"

#define EXPORT(name) __attribute__((export_name(#name)))

/* The last error message, for JS to read after a failing call (one model call at a time per instance). */
static char g_err[1024];

EXPORT(wm_last_error) const char *wm_last_error(void) { return g_err; }

EXPORT(wm_malloc) void *wm_malloc(size_t n) { return malloc(n ? n : 1); }
EXPORT(wm_free) void wm_free(void *p) { free(p); }

/* The model keeps pointers into `buf` (weights are used in place), so the buffer belongs to the model from here
 * on and is freed with it. */
typedef struct session {
  wm_onnx_model *m;
  void *buf;
} session;

EXPORT(wm_create) session *wm_create(void *buf, size_t len) {
  g_err[0] = 0;
  session *s = calloc(1, sizeof *s);
  if (!s) {
    free(buf);
    strcpy(g_err, "out of memory");
    return NULL;
  }
  s->buf = buf;
  if (wm_onnx_load_buffer(buf, len, NULL, &s->m, g_err, sizeof g_err) != WM_ONNX_OK) {
    free(buf);
    free(s);
    return NULL;
  }
  return s;
}

EXPORT(wm_destroy) void wm_destroy(session *s) {
  if (!s) return;
  wm_onnx_free(s->m);
  free(s->buf);
  free(s);
}

EXPORT(wm_num_inputs) int wm_num_inputs(session *s) { return wm_onnx_num_inputs(s->m); }
EXPORT(wm_num_outputs) int wm_num_outputs(session *s) { return wm_onnx_num_outputs(s->m); }
EXPORT(wm_input_name) const char *wm_input_name(session *s, int i) { return wm_onnx_input_name(s->m, i); }
EXPORT(wm_output_name) const char *wm_output_name(session *s, int i) { return wm_onnx_output_name(s->m, i); }
EXPORT(wm_input_has_default) int wm_input_has_default(session *s, int i) { return wm_onnx_input_has_default(s->m, i); }

/* Declared type and shape: writes dims to `dims` (8 int64) and returns ndim (-1 unknown); *dtype via pointer. */
EXPORT(wm_input_info) int wm_input_info(session *s, int i, int32_t *dtype, int64_t *dims) {
  wm_onnx_dtype dt = WM_ONNX_UNDEFINED;
  int nd = wm_onnx_input_info(s->m, i, &dt, dims);
  *dtype = (int32_t)dt;
  return nd;
}
EXPORT(wm_output_info) int wm_output_info(session *s, int i, int32_t *dtype, int64_t *dims) {
  wm_onnx_dtype dt = WM_ONNX_UNDEFINED;
  int nd = wm_onnx_output_info(s->m, i, &dt, dims);
  *dtype = (int32_t)dt;
  return nd;
}

/* ---- tensor arrays: JS fills inputs through these setters instead of hard-coding wm_onnx_tensor's layout ---- */
EXPORT(wm_tensors_new) wm_onnx_tensor *wm_tensors_new(int n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(wm_onnx_tensor)); }

/* Input i borrows `data` (JS frees it after the run); data == NULL keeps an initializer's default. */
EXPORT(wm_tensor_set) int wm_tensor_set(wm_onnx_tensor *a, int i, int dtype, int ndim, const int64_t *dims, void *data,
                                        size_t nbytes) {
  if (ndim < 0 || ndim > WM_ONNX_MAX_DIMS) return -1;
  wm_onnx_tensor *t = &a[i];
  memset(t, 0, sizeof *t);
  t->dtype = (wm_onnx_dtype)dtype;
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) t->dims[d] = dims[d];
  t->data = data;
  t->nbytes = nbytes;
  return 0;
}
EXPORT(wm_tensor_dtype) int wm_tensor_dtype(const wm_onnx_tensor *a, int i) { return (int)a[i].dtype; }
EXPORT(wm_tensor_ndim) int wm_tensor_ndim(const wm_onnx_tensor *a, int i) { return a[i].ndim; }
EXPORT(wm_tensor_dims) const int64_t *wm_tensor_dims(const wm_onnx_tensor *a, int i) { return a[i].dims; }
EXPORT(wm_tensor_data) const void *wm_tensor_data(const wm_onnx_tensor *a, int i) { return a[i].data; }
EXPORT(wm_tensor_nbytes) size_t wm_tensor_nbytes(const wm_onnx_tensor *a, int i) { return a[i].nbytes; }

/* Frees the array; owned tensors in it (outputs) release their data too. */
EXPORT(wm_tensors_free) void wm_tensors_free(wm_onnx_tensor *a, int n) {
  if (!a) return;
  for (int i = 0; i < n; i++) wm_onnx_tensor_free(&a[i]);
  free(a);
}

/* Runs the model on `in` (one per graph input) into the fresh array `out` (one per graph output). */
EXPORT(wm_run) int wm_run(session *s, const wm_onnx_tensor *in, int nin, wm_onnx_tensor *out, int nout) {
  g_err[0] = 0;
  return (int)wm_onnx_run(s->m, in, nin, out, nout, g_err, sizeof g_err);
}

EXPORT(wm_set_threads) void wm_set_threads(int n) { wm_onnx_set_threads(n); }
EXPORT(wm_get_threads) int wm_get_threads(void) { return wm_onnx_get_threads(); }
