/* backend.h — the interface between the WASI-NN host module (wasi_nn.c) and inference backends
 * (ONNX built in; GGUF/TFLite can plug in later by adding a wm_nn_backend to the table in wasi_nn.c). */
#ifndef WASMIND_NN_BACKEND_H
#define WASMIND_NN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* wasi-nn errno values (witx HEAD numbering, wasi-nn.md §4.1); backends return these directly. */
typedef enum wm_nn_errno {
    WM_NN_SUCCESS = 0,
    WM_NN_INVALID_ARGUMENT = 1,
    WM_NN_INVALID_ENCODING = 2,
    WM_NN_MISSING_MEMORY = 3,
    WM_NN_BUSY = 4,
    WM_NN_RUNTIME_ERROR = 5,
    WM_NN_UNSUPPORTED_OPERATION = 6,
    WM_NN_TOO_LARGE = 7,
    WM_NN_NOT_FOUND = 8
} wm_nn_errno;

/* graph_encoding as the guest passes it: witx numbering plus WasmEdge's ggml = 6. Because WAMR uses
 * 5 = ggml / 6 = autodetect, both 5 and 6 are resolved by looking at the model bytes. */
typedef enum wm_nn_encoding {
    WM_NN_ENC_OPENVINO = 0,
    WM_NN_ENC_ONNX = 1,
    WM_NN_ENC_TENSORFLOW = 2,
    WM_NN_ENC_PYTORCH = 3,
    WM_NN_ENC_TFLITE = 4,
    WM_NN_ENC_AUTODETECT = 5,
    WM_NN_ENC_GGML = 6
} wm_nn_encoding;

typedef enum wm_nn_target { WM_NN_CPU = 0, WM_NN_GPU = 1, WM_NN_TPU = 2, WM_NN_AUTO = 3 } wm_nn_target;

/* tensor_type, current witx numbering (wasi-nn.md §4.2). */
typedef enum wm_nn_type {
    WM_NN_F16 = 0, WM_NN_F32 = 1, WM_NN_F64 = 2, WM_NN_U8 = 3, WM_NN_I32 = 4, WM_NN_I64 = 5
} wm_nn_type;

/* A byte range: a graph builder, or tensor data. Borrowed for the duration of one call only —
 * it may point into guest memory, which can move when the guest grows it. */
typedef struct wm_nn_bytes { const uint8_t *ptr; size_t len; } wm_nn_bytes;

/* An input tensor as the guest described it; the shape has been checked against data.len. */
typedef struct wm_nn_tensor {
    wm_nn_type type;
    uint32_t ndim;
    const uint32_t *dims;     /* host copy, ndim entries */
    wm_nn_bytes data;         /* borrowed: copy what must outlive the call */
} wm_nn_tensor;

/* Polled by compute between units of work (the ONNX engine: before every node and Loop iteration): nonzero means
 * stop now, because the guest's deadline passed or it was interrupted. compute then fails, and the host module
 * traps the guest instead of returning the errno. */
typedef struct wm_nn_cancel {
    int (*should_stop)(void *ctx);
    void *ctx;
} wm_nn_cancel;

/* Every function writes a human-readable reason to err on failure (err always has errlen >= 1).
 * Graphs (`void *g`) may be shared by several contexts; wasi_nn.c reference-counts them and calls
 * graph_free once no handle or context uses one. Calls never overlap for one wm_wasi_nn. */
typedef struct wm_nn_backend {
    const char *name;                  /* "onnx" */
    wm_nn_encoding encoding;
    /* True if these bytes (the first builder) look like this backend's format; for autodetect. */
    bool (*detect)(const uint8_t *buf, size_t len);
    /* From guest-supplied builders (borrowed: copy anything kept). */
    wm_nn_errno (*load)(const wm_nn_bytes *builders, uint32_t n, wm_nn_target target, void **graph,
                        char *err, size_t errlen);
    /* From host files (preload); the backend should map them rather than copy. */
    wm_nn_errno (*load_files)(const char *const *paths, uint32_t n, wm_nn_target target, void **graph,
                              char *err, size_t errlen);
    void (*graph_free)(void *graph);
    wm_nn_errno (*init_context)(void *graph, void **ctx, char *err, size_t errlen);
    wm_nn_errno (*set_input)(void *ctx, uint32_t index, const wm_nn_tensor *t, char *err, size_t errlen);
    wm_nn_errno (*compute)(void *ctx, int threads, const wm_nn_cancel *cancel, char *err, size_t errlen);
    /* Points *data at output `index` (valid until the next compute or context_free). */
    wm_nn_errno (*get_output)(void *ctx, uint32_t index, const void **data, size_t *len, char *err, size_t errlen);
    void (*context_free)(void *ctx);
} wm_nn_backend;

extern const wm_nn_backend wm_nn_backend_onnx;

/* Element size in bytes of a wasi-nn tensor type, 0 if the value is not a known type. */
size_t wm_nn_type_size(uint32_t type);

#endif
