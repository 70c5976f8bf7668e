/* onnx.h — public API of wasmind's built-in ONNX inference engine (load a model, run it on tensors).
 * Used by the WASI-NN host module and by the wasmind-onnx-test conformance runner. */
#ifndef WASMIND_ONNX_H
#define WASMIND_ONNX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WM_ONNX_MAX_DIMS 8

/* Element types use ONNX TensorProto.DataType numbering so that values read from a model need no mapping. */
typedef enum wm_onnx_dtype {
  WM_ONNX_UNDEFINED = 0,
  WM_ONNX_FLOAT = 1,
  WM_ONNX_UINT8 = 2,
  WM_ONNX_INT8 = 3,
  WM_ONNX_UINT16 = 4,
  WM_ONNX_INT16 = 5,
  WM_ONNX_INT32 = 6,
  WM_ONNX_INT64 = 7,
  WM_ONNX_STRING = 8,
  WM_ONNX_BOOL = 9,
  WM_ONNX_FLOAT16 = 10,
  WM_ONNX_DOUBLE = 11,
  WM_ONNX_UINT32 = 12,
  WM_ONNX_UINT64 = 13,
  WM_ONNX_BFLOAT16 = 16,
  WM_ONNX_FLOAT8E4M3FN = 17,
  WM_ONNX_FLOAT8E4M3FNUZ = 18,
  WM_ONNX_FLOAT8E5M2 = 19,
  WM_ONNX_FLOAT8E5M2FNUZ = 20,
  /* 4-bit integers are held unpacked in memory: one element per byte (INT4 sign-extended). Model and .pb data
   * (packed two per byte) is unpacked while parsing. */
  WM_ONNX_UINT4 = 21,
  WM_ONNX_INT4 = 22,
} wm_onnx_dtype;

typedef enum wm_onnx_status {
  WM_ONNX_OK = 0,
  WM_ONNX_ERR_PARSE = 1,       /* malformed protobuf or ONNX structure */
  WM_ONNX_ERR_UNSUPPORTED = 2, /* valid model using an operator/type this engine lacks */
  WM_ONNX_ERR_INVALID = 3,     /* graph or arguments inconsistent (cycle, bad shapes, wrong input count) */
  WM_ONNX_ERR_RUNTIME = 4,     /* failure while executing a node */
  WM_ONNX_ERR_NOMEM = 5,
  WM_ONNX_ERR_IO = 6,
  WM_ONNX_ERR_CANCELLED = 7,   /* the cancel hook stopped the run (wm_onnx_set_cancel) */
} wm_onnx_status;

/* A dense row-major tensor. `data` is owned by the tensor when WM_ONNX_TENSOR_OWNED is set in flags;
 * otherwise it borrows memory (a mapped model file, caller's buffer) that must outlive it. */
typedef struct wm_onnx_tensor {
  wm_onnx_dtype dtype;
  int ndim;
  int64_t dims[WM_ONNX_MAX_DIMS];
  void *data;
  size_t nbytes;
  unsigned flags;
} wm_onnx_tensor;

#define WM_ONNX_TENSOR_OWNED 1u
/* Engine-internal: data is the tensor's slot in the model's activation arena (borrowed, never freed by itself). */
#define WM_ONNX_TENSOR_PLANNED 2u

typedef struct wm_onnx_model wm_onnx_model;

/* Error text is written to err (if non-NULL) on any failure. */
wm_onnx_status wm_onnx_load_file(const char *path, wm_onnx_model **out, char *err, size_t errlen);
/* `buf` must stay valid until wm_onnx_free: weights point into it. base_dir resolves external data (may be NULL). */
wm_onnx_status wm_onnx_load_buffer(const void *buf, size_t len, const char *base_dir, wm_onnx_model **out,
                                   char *err, size_t errlen);
void wm_onnx_free(wm_onnx_model *m);

int wm_onnx_num_inputs(const wm_onnx_model *m);
int wm_onnx_num_outputs(const wm_onnx_model *m);
const char *wm_onnx_input_name(const wm_onnx_model *m, int i);
const char *wm_onnx_output_name(const wm_onnx_model *m, int i);
/* Type/shape of a graph input or output: as declared, completed by load-time inference where the model says
 * nothing (outputs without a declared shape). dims are -1 where symbolic or unknown. Returns ndim, or -1. */
int wm_onnx_input_info(const wm_onnx_model *m, int i, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS]);
int wm_onnx_output_info(const wm_onnx_model *m, int i, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS]);

/* Inferred type and shape of any value of the root graph by name (graph input, initializer, node output).
 * Returns the rank, -1 if unknown, -2 if no value has that name. A symbolic dimension is -1 in dims and has its
 * symbol in syms (the model's dim_param such as "batch", or "unk__N" for one inference made up; NULL for a known
 * dim); dimensions with the same symbol are equal in any run. dtype is WM_ONNX_UNDEFINED if unknown; syms may
 * be NULL. */
int wm_onnx_value_info(const wm_onnx_model *m, const char *name, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS],
                       const char *syms[WM_ONNX_MAX_DIMS]);

/* Nodes of the root graph in execution order (after load-time fusions): the op type of node i, or NULL past
 * the end; its name and output names (an omitted output is "") through the optional pointers. */
const char *wm_onnx_node_info(const wm_onnx_model *m, int i, const char **name, int *noutputs,
                              const char *const **outputs);

/* 1 when graph input i also has an initializer (a default the caller may leave out), else 0. */
int wm_onnx_input_has_default(const wm_onnx_model *m, int i);

/* Runs the graph. inputs[i] matches graph input i (initializer-backed inputs may be given with data == NULL to
 * keep the default). outputs receive newly allocated, owned tensors; release each with wm_onnx_tensor_free. */
wm_onnx_status wm_onnx_run(wm_onnx_model *m, const wm_onnx_tensor *inputs, int ninputs, wm_onnx_tensor *outputs,
                           int noutputs, char *err, size_t errlen);

/* Cancellation: wm_onnx_run calls should_stop(ctx) before every node and at every Loop/Scan iteration, subgraphs
 * included; when it returns nonzero the run ends with WM_ONNX_ERR_CANCELLED (the model stays usable). NULL
 * removes the hook. */
void wm_onnx_set_cancel(wm_onnx_model *m, int (*should_stop)(void *ctx), void *ctx);

/* Parses one serialized TensorProto (the backend tests' *.pb files) into an owned tensor. */
wm_onnx_status wm_onnx_parse_tensor(const void *buf, size_t len, wm_onnx_tensor *out, char *err, size_t errlen);

/* Intra-op worker threads (GEMM, convolution, pooling), process-wide; default: the CPUs this process may use.
 * Set it before running models, not while another thread runs one. */
void wm_onnx_set_threads(int n);
int wm_onnx_get_threads(void);

void wm_onnx_tensor_free(wm_onnx_tensor *t);
size_t wm_onnx_dtype_size(wm_onnx_dtype t);
const char *wm_onnx_dtype_name(wm_onnx_dtype t);
int64_t wm_onnx_numel(const wm_onnx_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
