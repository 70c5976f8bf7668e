/* wasi_nn.h — C guest header for the WASI-NN `wasi_ephemeral_nn` core-wasm ABI (witx, 2023 numbering)
 * plus the WasmEdge extensions wasmind implements: import declarations, enums, the tensor record, helpers. */
#ifndef WASI_NN_H
#define WASI_NN_H

/*
 * Build a guest with:   clang --target=wasm32-wasi --sysroot=/usr -O2 -I sdk guest.c -o guest.wasm
 * Run it with:          wasmind run --nn-preload NAME:onnx:cpu:MODEL.onnx guest.wasm
 *
 * Every call returns a wasi_nn_errno (0 = success). Handles are plain u32 indices and 0 is a valid handle.
 * All sizes are in bytes. The host reads only the low byte of the tensor type, so the padding after it
 * may hold anything.
 *
 * Typical sequence:
 *     wasi_nn_graph g;  wasi_nn_ctx c;
 *     wasi_nn_load_by_name_str("squeezenet", &g);
 *     wasi_nn_init_execution_context(g, &c);
 *     uint32_t dims[4] = {1, 3, 224, 224};
 *     wasi_nn_tensor t = wasi_nn_tensor_f32(dims, 4, pixels);
 *     wasi_nn_set_input(c, 0, &t);
 *     wasi_nn_compute(c);
 *     uint32_t n;  wasi_nn_get_output(c, 0, (uint8_t *)scores, sizeof scores, &n);
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- enums (values are the ABI; do not reorder) ------------------------------------------------------ */

/* nn_errno: witx 0..8, plus WasmEdge's LLM extensions (never returned by wasmind's ONNX backend). */
typedef enum wasi_nn_errno {
    WASI_NN_SUCCESS = 0,
    WASI_NN_INVALID_ARGUMENT = 1,
    WASI_NN_INVALID_ENCODING = 2,
    WASI_NN_MISSING_MEMORY = 3,     /* the guest exports no memory */
    WASI_NN_BUSY = 4,
    WASI_NN_RUNTIME_ERROR = 5,
    WASI_NN_UNSUPPORTED_OPERATION = 6,
    WASI_NN_TOO_LARGE = 7,          /* get_output: buffer too small; the needed size is stored in *written */
    WASI_NN_NOT_FOUND = 8,          /* load_by_name: no model preloaded under that name */
    WASI_NN_END_OF_SEQUENCE = 100,  /* WasmEdge GGML extensions */
    WASI_NN_CONTEXT_FULL = 101,
    WASI_NN_PROMPT_TOO_LONG = 102,
    WASI_NN_MODEL_NOT_FOUND = 103
} wasi_nn_errno;

/* graph_encoding (witx). wasmind's backend reads ONNX; AUTODETECT (and WasmEdge's GGML = 6) sniff the bytes. */
typedef enum wasi_nn_encoding {
    WASI_NN_ENCODING_OPENVINO = 0,
    WASI_NN_ENCODING_ONNX = 1,
    WASI_NN_ENCODING_TENSORFLOW = 2,
    WASI_NN_ENCODING_PYTORCH = 3,
    WASI_NN_ENCODING_TENSORFLOWLITE = 4,
    WASI_NN_ENCODING_AUTODETECT = 5,
    WASI_NN_ENCODING_GGML = 6
} wasi_nn_encoding;

/* execution_target. wasmind accepts CPU and AUTO (3, from the Rust crate); GPU/TPU give unsupported_operation. */
typedef enum wasi_nn_target {
    WASI_NN_TARGET_CPU = 0,
    WASI_NN_TARGET_GPU = 1,
    WASI_NN_TARGET_TPU = 2,
    WASI_NN_TARGET_AUTO = 3
} wasi_nn_target;

/* tensor_type, current witx numbering (Aug 2023; older guests used f16=0 f32=1 u8=2 i32=3). */
typedef enum wasi_nn_type {
    WASI_NN_TYPE_F16 = 0,
    WASI_NN_TYPE_F32 = 1,
    WASI_NN_TYPE_F64 = 2,
    WASI_NN_TYPE_U8 = 3,
    WASI_NN_TYPE_I32 = 4,
    WASI_NN_TYPE_I64 = 5
} wasi_nn_type;

typedef uint32_t wasi_nn_graph;   /* graph handle */
typedef uint32_t wasi_nn_ctx;     /* graph_execution_context handle */

/* ---- records (wasm32 layout; checked below) ------------------------------------------------------------- */

/* graph_builder: one model blob (a `load` call takes an array of these; ONNX needs one). */
typedef struct wasi_nn_bytes {
    const uint8_t *buf;
    uint32_t len;
} wasi_nn_bytes;

/* tensor: 20 bytes, align 4 — {dims_ptr @0, dims_len @4, type (u8) @8, data_ptr @12, data_len @16}.
 * data_len must equal product(dims) * element size, or set_input fails with invalid_argument. */
typedef struct wasi_nn_tensor {
    const uint32_t *dims;
    uint32_t ndims;
    uint8_t type;              /* a wasi_nn_type */
    uint8_t pad_[3];
    const uint8_t *data;
    uint32_t data_len;
} wasi_nn_tensor;

#if defined(__wasm32__)
_Static_assert(sizeof(wasi_nn_tensor) == 20 && offsetof(wasi_nn_tensor, type) == 8 &&
               offsetof(wasi_nn_tensor, data) == 12 && offsetof(wasi_nn_tensor, data_len) == 16,
               "wasi_nn_tensor must match the witx layout");
_Static_assert(sizeof(wasi_nn_bytes) == 8, "graph_builder must be {ptr, len}");
#endif

/* ---- imports ---------------------------------------------------------------------------------------- */

#define WASI_NN_IMPORT(name) __attribute__((import_module("wasi_ephemeral_nn"), import_name(name)))

/* load(builders, nbuilders, encoding, target, *graph) — model bytes supplied by the guest. */
WASI_NN_IMPORT("load")
wasi_nn_errno wasi_nn_load(const wasi_nn_bytes *builders, uint32_t nbuilders, wasi_nn_encoding encoding,
                           wasi_nn_target target, wasi_nn_graph *graph);

/* load_by_name(name, name_len, *graph) — a model the host preloaded (wasmind: --nn-preload NAME:...). */
WASI_NN_IMPORT("load_by_name")
wasi_nn_errno wasi_nn_load_by_name(const char *name, uint32_t name_len, wasi_nn_graph *graph);

/* load_by_name_with_config (WasmEdge): the JSON config is checked for bounds and ignored by ONNX. */
WASI_NN_IMPORT("load_by_name_with_config")
wasi_nn_errno wasi_nn_load_by_name_with_config(const char *name, uint32_t name_len, const char *config,
                                               uint32_t config_len, wasi_nn_graph *graph);

WASI_NN_IMPORT("init_execution_context")
wasi_nn_errno wasi_nn_init_execution_context(wasi_nn_graph graph, wasi_nn_ctx *ctx);

/* set_input(ctx, index, tensor): index is the position among the model's graph inputs. */
WASI_NN_IMPORT("set_input")
wasi_nn_errno wasi_nn_set_input(wasi_nn_ctx ctx, uint32_t index, const wasi_nn_tensor *tensor);

WASI_NN_IMPORT("compute")
wasi_nn_errno wasi_nn_compute(wasi_nn_ctx ctx);

/* get_output(ctx, index, buf, buf_max, *written): on too_large, *written holds the size needed. */
WASI_NN_IMPORT("get_output")
wasi_nn_errno wasi_nn_get_output(wasi_nn_ctx ctx, uint32_t index, uint8_t *buf, uint32_t buf_max,
                                 uint32_t *written);

/* WasmEdge extensions: release a graph handle / a context (contexts keep their model alive). */
WASI_NN_IMPORT("unload")
wasi_nn_errno wasi_nn_unload(wasi_nn_graph graph);

WASI_NN_IMPORT("finalize_execution_context")
wasi_nn_errno wasi_nn_finalize_execution_context(wasi_nn_ctx ctx);

#undef WASI_NN_IMPORT

/* ---- helpers ---------------------------------------------------------------------------------------- */

/* load_by_name with a NUL-terminated name. */
static inline wasi_nn_errno wasi_nn_load_by_name_str(const char *name, wasi_nn_graph *graph) {
    return wasi_nn_load_by_name(name, (uint32_t)strlen(name), graph);
}

/* load from one in-memory model blob. */
static inline wasi_nn_errno wasi_nn_load_bytes(const void *model, uint32_t len, wasi_nn_encoding encoding,
                                               wasi_nn_target target, wasi_nn_graph *graph) {
    wasi_nn_bytes b = { (const uint8_t *)model, len };
    return wasi_nn_load(&b, 1, encoding, target, graph);
}

/* Element size in bytes of a tensor type, 0 if unknown. */
static inline uint32_t wasi_nn_type_size(wasi_nn_type t) {
    switch (t) {
    case WASI_NN_TYPE_U8: return 1;
    case WASI_NN_TYPE_F16: return 2;
    case WASI_NN_TYPE_F32: case WASI_NN_TYPE_I32: return 4;
    case WASI_NN_TYPE_F64: case WASI_NN_TYPE_I64: return 8;
    }
    return 0;
}

/* Number of elements of a shape (saturates at UINT32_MAX). */
static inline uint32_t wasi_nn_numel(const uint32_t *dims, uint32_t ndims) {
    uint64_t n = 1;
    for (uint32_t i = 0; i < ndims; i++) {
        n *= dims[i];
        if (n > UINT32_MAX) return UINT32_MAX;
    }
    return (uint32_t)n;
}

/* A tensor record over caller-owned dims and data; data_len is computed from the shape. */
static inline wasi_nn_tensor wasi_nn_tensor_make(wasi_nn_type type, const uint32_t *dims, uint32_t ndims,
                                                 const void *data) {
    wasi_nn_tensor t;
    memset(&t, 0, sizeof t);
    t.dims = dims;
    t.ndims = ndims;
    t.type = (uint8_t)type;
    t.data = (const uint8_t *)data;
    t.data_len = wasi_nn_numel(dims, ndims) * wasi_nn_type_size(type);
    return t;
}

static inline wasi_nn_tensor wasi_nn_tensor_f32(const uint32_t *dims, uint32_t ndims, const float *data) {
    return wasi_nn_tensor_make(WASI_NN_TYPE_F32, dims, ndims, data);
}

/* Short name of an error, for messages. */
static inline const char *wasi_nn_strerror(wasi_nn_errno e) {
    switch (e) {
    case WASI_NN_SUCCESS: return "success";
    case WASI_NN_INVALID_ARGUMENT: return "invalid_argument";
    case WASI_NN_INVALID_ENCODING: return "invalid_encoding";
    case WASI_NN_MISSING_MEMORY: return "missing_memory";
    case WASI_NN_BUSY: return "busy";
    case WASI_NN_RUNTIME_ERROR: return "runtime_error";
    case WASI_NN_UNSUPPORTED_OPERATION: return "unsupported_operation";
    case WASI_NN_TOO_LARGE: return "too_large";
    case WASI_NN_NOT_FOUND: return "not_found";
    case WASI_NN_END_OF_SEQUENCE: return "end_of_sequence";
    case WASI_NN_CONTEXT_FULL: return "context_full";
    case WASI_NN_PROMPT_TOO_LONG: return "prompt_too_long";
    case WASI_NN_MODEL_NOT_FOUND: return "model_not_found";
    }
    return "unknown_error";
}

#ifdef __cplusplus
}
#endif
#endif /* WASI_NN_H */
