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
  int64_t dims[WM_ONNX_MAX_DIMS]; /* -1 where not a number: then syms[d] is its dim_param, or NULL */
  const char *syms[WM_ONNX_MAX_DIMS];
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

/* ---- the executable plan (graph.c) and what load-time inference (infer.c) knows about its values ---- */

/* A dimension, or an element of a small integer tensor, is a known int64 or a symbol: one unknown value that is
 * the same wherever the symbol appears (a dim_param such as `batch`, or one the inference made up). */
#define ONNX_SYM(id) (INT64_MIN + (int64_t)(id))
#define ONNX_IS_SYM(v) ((v) < INT64_MIN / 2)
#define ONNX_SYM_ID(v) ((int)((v) - INT64_MIN))

typedef struct onnx_vtype {
  int dtype; /* 0: unknown */
  int ndim;  /* -1: unknown rank */
  int nvals; /* -1, or how many vals are known: a small integer tensor (Shape and the arithmetic on it) */
  int64_t dims[WM_ONNX_MAX_DIMS], vals[WM_ONNX_MAX_DIMS];
} onnx_vtype;

typedef struct onnx_sym {
  const char *name; /* the dim_param, or "unk__N" for one the inference made up */
  int named;
} onnx_sym;

/* VAL_OUTER: a subgraph's view of a value of an enclosing graph (borrowed while the subgraph runs). */
enum { VAL_INTERMEDIATE = 0, VAL_INPUT = 1, VAL_INIT = 2, VAL_OUTER = 3 };

typedef struct onnx_value {
  const char *name;
  int kind;
  int producer;        /* node index, -1 if none */
  int last_use;        /* position in the order of the last consumer; -1 if unused */
  int is_output;
  const onnx_value_info *decl; /* graph input declaration, if any */
  wm_onnx_tensor init; /* initializer view */
  wm_onnx_tensor rt;   /* runtime tensor */
  int planned;         /* has a slot in the root's activation arena: arena_cap bytes at arena_off */
  size_t arena_off, arena_cap;
  size_t rec_size;     /* bytes its kernel allocated in the run that recorded the plan; 0: not planned */
  int rec_alias;       /* in that run its kernel took over this input's buffer (out_copy): they share a slot; -1 */
} onnx_value;

struct name_table;

/* The root graph and every subgraph (If/Loop/Scan bodies) get one of these; subgraphs share the root's ir. */
struct wm_onnx_model {
  onnx_model_ir ir;
  struct wm_onnx_model *parent; /* enclosing graph for subgraphs, NULL at the root */
  struct name_table *scope;     /* name table, only while building (subgraphs resolve outer names through it) */
  struct name_table *names;     /* the same, kept for look-ups by name */
  int cur_node;                 /* node whose subgraphs are being built */
  int nouter, *outer_local, *outer_parent; /* captured outer values: local id <- parent id */
  struct wm_onnx_model ***subs; /* per node: its subgraph plans (NULL for ordinary nodes) */
  int *nsubs;
  int **implicit, *nimplicit;   /* per node: outer values its subgraphs read (ordering and lifetimes) */
  void *file_map;
  size_t file_len;
  char *base_dir;
  int nvalues;
  onnx_value *values;
  onnx_vtype *types;            /* per value, from load-time inference (NULL for a subgraph that never runs) */
  int *order;
  int ninputs; /* runtime inputs = graph inputs */
  int *input_ids, *output_ids;
  int default_opset;
  /* root only: symbols of the inferred shapes, their values during a checked run (WM_ONNX_CHECK_SHAPES), and the
   * cancel hook */
  onnx_sym *syms;
  int nsyms, capsyms;
  int64_t *symval;
  int (*should_stop)(void *ctx);
  void *stop_ctx;
  /* root only: one buffer for the intermediates, their slots laid out from their lifetimes and the sizes a first
   * run with these input shapes recorded (plan_arena in graph.c) */
  int arena_state;     /* 0 none, 1 recording this run, 2 planned */
  int64_t *arena_sig;  /* the input shapes the plan is for */
  size_t arena_size;
  void *arena;
};
/* exec_graph marks a planned output's tensor with this before its kernel runs: the slot, not yet a tensor
 * (out_alloc turns it into one). */
#define WM_ONNX_TENSOR_SLOT 4u

/* Value id of name in plan m, or -1. */
int onnx_plan_lookup(const wm_onnx_model *m, const char *name);
/* The subgraph plan built from attribute `name` of node n, or NULL. */
wm_onnx_model *onnx_plan_sub(wm_onnx_model *m, int n, const char *name);
/* Infers every value's type and shape (root plan, subgraphs included); rejects provably inconsistent graphs. */
wm_onnx_status onnx_infer(wm_onnx_model *root, char *err, size_t errlen);
/* What inference knows of value id of plan m (all unknown when m was never inferred). */
const onnx_vtype *onnx_vtype_of(const wm_onnx_model *m, int id);
/* "[batch,3,224,224]" ("?" for an unknown rank) into buf; m is any plan of the model. */
void onnx_format_dims(const wm_onnx_model *m, int ndim, const int64_t *dims, char *buf, size_t len);

/* Maps all pages of a fresh allocation of at least a megabyte in one system call (MADV_POPULATE_WRITE), where
 * touching them one by one costs a page fault each: packing resnet50's weights at load took ~50,000 of them. */
void wm_prefault(void *p, size_t n);

#endif
