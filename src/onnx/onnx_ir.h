/* onnx_ir.h — in-memory form of a parsed ONNX model (graph, nodes, attributes) shared by the parser,
 * the executor and the kernels. Strings are NUL-terminated copies; weight data points into the model buffer. */
#ifndef WASMIND_ONNX_IR_H
#define WASMIND_ONNX_IR_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.h"

/* AttributeProto.AttributeType */
enum {
  ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_TENSOR = 4, ATTR_GRAPH = 5,
  ATTR_FLOATS = 6, ATTR_INTS = 7, ATTR_STRINGS = 8, ATTR_TENSORS = 9, ATTR_GRAPHS = 10,
  ATTR_SPARSE_TENSOR = 11, ATTR_SPARSE_TENSORS = 12, ATTR_TYPE_PROTO = 13, ATTR_TYPE_PROTOS = 14,
};

/* Bump allocator: everything a model owns except large decoded tensors lives here and is freed at once. */
typedef struct onnx_arena_block onnx_arena_block;
typedef struct onnx_arena {
  onnx_arena_block *head;
} onnx_arena;
void *arena_alloc(onnx_arena *a, size_t n); /* zeroed; NULL on overflow/OOM */
char *arena_strndup(onnx_arena *a, const void *s, size_t n);
void arena_free(onnx_arena *a);

struct onnx_graph;

typedef struct onnx_attr {
  const char *name;
  int type;
  float f;
  int64_t i;
  const char *s; /* NUL-terminated copy */
  size_t slen;
  wm_onnx_tensor *t;
  float *floats;
  int64_t *ints;
  size_t n; /* element count of floats/ints/strings */
  const char **strs; /* ATTR_STRINGS: n NUL-terminated copies (RNN activation names) */
  struct onnx_graph *g;
} onnx_attr;

struct onnx_kernel_ctx;
typedef int (*onnx_kernel_fn)(struct onnx_kernel_ctx *k);

typedef struct onnx_node {
  const char *name, *op_type, *domain;
  int nin, nout;
  const char **in_names, **out_names;
  int *in, *out; /* value ids, -1 for omitted optional slots */
  int nattr;
  onnx_attr *attrs;
  onnx_kernel_fn fn;
  int opset;
  /* Set by the load-time optimiser (optimize.c): an activation the kernel applies to its output, and the input
   * index of a tensor added before it (a fused residual Add; 0 = none). Only Conv, Gemm and MatMul get these. */
  int fuse_act;
  float fuse_p0, fuse_p1;
  int fuse_res;
  void *prep; /* kernel_prep built by the kernel from constant inputs on its first run */
  size_t byte_off; /* where the NodeProto starts in the model, for messages */
} onnx_node;

typedef struct onnx_value_info {
  const char *name;
  int dtype;
  int ndim; /* -1 when the shape is not given */
  int64_t dims[WM_ONNX_MAX_DIMS];
} onnx_value_info;

typedef struct onnx_initializer {
  const char *name;
  wm_onnx_tensor t;
} onnx_initializer;

typedef struct onnx_graph {
  const char *name;
  int nnodes, ninit, ninputs, noutputs, nvalue_info;
  onnx_node *nodes;
  onnx_initializer *inits;
  onnx_value_info *inputs, *outputs, *value_info;
} onnx_graph;

typedef struct onnx_opset {
  const char *domain;
  int64_t version;
} onnx_opset;

typedef struct onnx_mapping {
  void *addr;
  size_t len;
  char *path;
} onnx_mapping;

typedef struct onnx_model_ir {
  onnx_arena arena;
  int64_t ir_version;
  int nopsets;
  onnx_opset *opsets;
  onnx_graph *graph;
  /* external-data files mapped on demand, unmapped with the model */
  int nmaps, capmaps;
  onnx_mapping *maps;
  const char *base_dir;
  /* tensors whose data could not point into the buffer (typed fields, misaligned raw_data) */
  void **owned;
  int nowned, capowned;
} onnx_model_ir;

/* Makes the model free p with itself (tensors decoded or built outside the arena). 0, or -1 on OOM. */
int onnx_ir_own(onnx_model_ir *m, void *p);

/* Parses a ModelProto from buf (which must outlive the result). Returns 0, or -1 (malformed) / -2 (unsupported
 * construct such as an exotic element type) with err filled. */
int onnx_parse_model(onnx_model_ir *m, const uint8_t *buf, size_t len, char *err, size_t errlen);
void onnx_model_ir_release(onnx_model_ir *m);
/* Load-time graph rewrites (optimize.c): fusions and folds on the root graph. 0, or -1 when out of memory. */
int onnx_optimize(onnx_model_ir *m);
/* Parses one TensorProto into a tensor owning its data (copying). */
int onnx_parse_tensor_owned(const uint8_t *buf, size_t len, wm_onnx_tensor *t, char *err, size_t errlen);

#endif
