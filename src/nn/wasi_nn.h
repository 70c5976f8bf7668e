/* wasi_nn.h — WASI-NN host module (`wasi_ephemeral_nn`, witx ABI with WasmEdge's extensions) for wasmind,
 * written against the public embedding API (wasmind.h) only. Backends: see backend.h. */
#ifndef WASMIND_WASI_NN_H
#define WASMIND_WASI_NN_H

#include <stdbool.h>
#include <stddef.h>

#include "wasmind.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wm_wasi_nn wm_wasi_nn;

wm_wasi_nn *wm_wasi_nn_new(void);

/* Registers a model for load_by_name, WasmEdge --nn-preload syntax: NAME:ENCODING:TARGET:PATH[:PATH...]
 * (ENCODING: onnx, autodetect, ggml, tensorflowlite, openvino, pytorch, tensorflow; TARGET: cpu, gpu, tpu,
 * auto; case-insensitive). The model is loaded (memory-mapped) now so errors surface at start-up. */
bool wm_wasi_nn_preload(wm_wasi_nn *nn, const char *spec, char *err, size_t errlen);

/* Worker threads backends may use for compute (<= 0: backend default). */
void wm_wasi_nn_set_threads(wm_wasi_nn *nn, int threads);

/* Defines the `wasi_ephemeral_nn` functions in linker as host functions of store. nn must outlive
 * every call into the store's instances. One wm_wasi_nn serves one thread at a time. */
bool wm_wasi_nn_define(wm_wasi_nn *nn, wm_linker *linker, wm_store *store);

/* Message for the last call that did not return success ("" if none). Guests only see an errno. */
const char *wm_wasi_nn_last_error(const wm_wasi_nn *nn);

/* Frees every graph and context. Safe with NULL. */
void wm_wasi_nn_free(wm_wasi_nn *nn);

#ifdef __cplusplus
}
#endif
#endif
