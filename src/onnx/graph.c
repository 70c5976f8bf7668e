/* graph.c — turns a parsed ONNX graph into an executable plan (value table, topological order, kernel
 * binding, buffer lifetimes) and runs it; also the public load/run API declared in onnx.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/kernels.h"
#include "onnx.h"
#include "onnx_ir.h"

enum { VAL_INTERMEDIATE = 0, VAL_INPUT = 1, VAL_INIT = 2 };

typedef struct value {
  const char *name;
  int kind;
  int producer;        /* node index, -1 if none */
  int last_use;        /* position in the order of the last consumer; -1 if unused */
  int is_output;
  const onnx_value_info *decl; /* graph input declaration, if any */
  wm_onnx_tensor init; /* initializer view */
  wm_onnx_tensor rt;   /* runtime tensor */
} value;

struct wm_onnx_model {
  onnx_model_ir ir;
  void *file_map;
  size_t file_len;
  char *base_dir;
  int nvalues;
  value *values;
  int *order;
  int ninputs; /* runtime inputs = graph inputs */
  int *input_ids, *output_ids;
  int default_opset;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

void wm_onnx_tensor_free(wm_onnx_tensor *t) {
  if (!t) return;
  if (t->flags & WM_ONNX_TENSOR_OWNED) free(t->data);
  memset(t, 0, sizeof *t);
}

/* ---- name → value id hash table used only while building ---- */
typedef struct name_table {
  int *slots;
  size_t cap;
} name_table;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static int lookup(const name_table *t, const value *vals, const char *name) {
  size_t i = hash_str(name) & (t->cap - 1);
  while (t->slots[i] >= 0) {
    if (!strcmp(vals[t->slots[i]].name, name)) return t->slots[i];
    i = (i + 1) & (t->cap - 1);
  }
  return -1;
}

static int intern(wm_onnx_model *m, name_table *t, const char *name, int kind) {
  int id = lookup(t, m->values, name);
  if (id >= 0) return id;
  id = m->nvalues++;
  value *v = &m->values[id];
  memset(v, 0, sizeof *v);
  v->name = name;
  v->kind = kind;
  v->producer = -1;
  v->last_use = -1;
  size_t i = hash_str(name) & (t->cap - 1);
  while (t->slots[i] >= 0) i = (i + 1) & (t->cap - 1);
  t->slots[i] = id;
  return id;
}

static wm_onnx_status build(wm_onnx_model *m, char *err, size_t errlen) {
  onnx_graph *g = m->ir.graph;
  m->default_opset = 1;
  for (int i = 0; i < m->ir.nopsets; i++) {
    const char *d = m->ir.opsets[i].domain;
    if (!*d || !strcmp(d, "ai.onnx")) m->default_opset = (int)m->ir.opsets[i].version;
  }
  size_t maxvals = (size_t)g->ninit + (size_t)g->ninputs + 1;
  for (int i = 0; i < g->nnodes; i++) maxvals += (size_t)g->nodes[i].nin + (size_t)g->nodes[i].nout;
  m->values = calloc(maxvals, sizeof *m->values);
  name_table nt = {NULL, 16};
  while (nt.cap < maxvals * 2) nt.cap *= 2;
  nt.slots = malloc(nt.cap * sizeof(int));
  m->order = calloc((size_t)g->nnodes + 1, sizeof(int));
  m->input_ids = calloc((size_t)g->ninputs + 1, sizeof(int));
  m->output_ids = calloc((size_t)g->noutputs + 1, sizeof(int));
  int *indeg = calloc((size_t)g->nnodes + 1, sizeof(int));
  int *queue = calloc((size_t)g->nnodes + 1, sizeof(int));
  wm_onnx_status st = WM_ONNX_OK;
  if (!m->values || !nt.slots || !m->order || !m->input_ids || !m->output_ids || !indeg || !queue) {
    set_err(err, errlen, "out of memory");
    st = WM_ONNX_ERR_NOMEM;
    goto done;
  }
  memset(nt.slots, 0xff, nt.cap * sizeof(int));
  for (int i = 0; i < g->ninit; i++) {
    if (!*g->inits[i].name) { set_err(err, errlen, "initializer %d has no name", i); st = WM_ONNX_ERR_INVALID; goto done; }
    if (lookup(&nt, m->values, g->inits[i].name) >= 0) {
      set_err(err, errlen, "initializer '%s' defined twice", g->inits[i].name);
      st = WM_ONNX_ERR_INVALID;
      goto done;
    }
    int id = intern(m, &nt, g->inits[i].name, VAL_INIT);
    m->values[id].init = g->inits[i].t;
  }
  m->ninputs = g->ninputs;
  for (int i = 0; i < g->ninputs; i++) {
    const onnx_value_info *vi = &g->inputs[i];
    if (vi->dtype < 0) {
      set_err(err, errlen, "graph input '%s' is not a tensor (sequence/map/optional inputs are unsupported)", vi->name);
      st = WM_ONNX_ERR_UNSUPPORTED;
      goto done;
    }
    int id = lookup(&nt, m->values, vi->name);
    if (id < 0) id = intern(m, &nt, vi->name, VAL_INPUT);
    else if (m->values[id].kind == VAL_INPUT) {
      set_err(err, errlen, "graph input '%s' listed twice", vi->name);
      st = WM_ONNX_ERR_INVALID;
      goto done;
    }
    m->values[id].decl = vi;
    m->input_ids[i] = id;
  }
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *nd = &g->nodes[n];
    const char *dom = nd->domain;
    if (*dom && strcmp(dom, "ai.onnx")) {
      set_err(err, errlen, "node '%s': operator %s of domain '%s' is not supported", nd->name, nd->op_type, dom);
      st = WM_ONNX_ERR_UNSUPPORTED;
      goto done;
    }
    nd->fn = onnx_find_kernel(nd->op_type);
    if (!nd->fn) {
      set_err(err, errlen, "node '%s': unsupported operator %s", nd->name, nd->op_type);
      st = WM_ONNX_ERR_UNSUPPORTED;
      goto done;
    }
    for (int a = 0; a < nd->nattr; a++)
      if (nd->attrs[a].type == ATTR_GRAPH || nd->attrs[a].type == ATTR_GRAPHS) {
        set_err(err, errlen, "node '%s': operator %s with subgraphs is not supported", nd->name, nd->op_type);
        st = WM_ONNX_ERR_UNSUPPORTED;
        goto done;
      }
    nd->opset = m->default_opset;
    for (int o = 0; o < nd->nout; o++) {
      if (!*nd->out_names[o]) { nd->out[o] = -1; continue; }
      int id = intern(m, &nt, nd->out_names[o], VAL_INTERMEDIATE);
      value *v = &m->values[id];
      if (v->kind != VAL_INTERMEDIATE || v->producer >= 0) {
        set_err(err, errlen, "node '%s' (%s): output '%s' is already defined %s", nd->name, nd->op_type, v->name,
                v->kind == VAL_INIT ? "as an initializer" : v->kind == VAL_INPUT ? "as a graph input" : "by another node");
        st = WM_ONNX_ERR_INVALID;
        goto done;
      }
      v->producer = n;
      nd->out[o] = id;
    }
  }
  /* inputs resolved after all producers are known, so node order in the file does not matter */
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *nd = &g->nodes[n];
    for (int i = 0; i < nd->nin; i++) {
      if (!*nd->in_names[i]) { nd->in[i] = -1; continue; }
      int id = lookup(&nt, m->values, nd->in_names[i]);
      if (id < 0 || (m->values[id].kind == VAL_INTERMEDIATE && m->values[id].producer < 0)) {
        set_err(err, errlen, "node '%s' (%s): input '%s' is not produced by any node, initializer or graph input",
                nd->name, nd->op_type, nd->in_names[i]);
        st = WM_ONNX_ERR_INVALID;
        goto done;
      }
      nd->in[i] = id;
      if (m->values[id].producer >= 0) indeg[n]++;
    }
  }
  /* Kahn's algorithm; ties keep file order so execution is deterministic */
  int qh = 0, qt = 0, placed = 0;
  for (int n = 0; n < g->nnodes; n++) if (!indeg[n]) queue[qt++] = n;
  int *users_start = calloc((size_t)m->nvalues + 1, sizeof(int));
  int total_uses = 0;
  for (int n = 0; n < g->nnodes; n++) total_uses += g->nodes[n].nin;
  int *users = calloc((size_t)total_uses + 1, sizeof(int));
  int *fill = calloc((size_t)m->nvalues + 1, sizeof(int));
  if (!users_start || !users || !fill) {
    free(users_start); free(users); free(fill);
    set_err(err, errlen, "out of memory");
    st = WM_ONNX_ERR_NOMEM;
    goto done;
  }
  for (int n = 0; n < g->nnodes; n++)
    for (int i = 0; i < g->nodes[n].nin; i++) if (g->nodes[n].in[i] >= 0) users_start[g->nodes[n].in[i] + 1]++;
  for (int v = 0; v < m->nvalues; v++) users_start[v + 1] += users_start[v];
  for (int n = 0; n < g->nnodes; n++)
    for (int i = 0; i < g->nodes[n].nin; i++) {
      int v = g->nodes[n].in[i];
      if (v >= 0) users[users_start[v] + fill[v]++] = n;
    }
  while (qh < qt) {
    int n = queue[qh++];
    m->order[placed++] = n;
    for (int o = 0; o < g->nodes[n].nout; o++) {
      int v = g->nodes[n].out[o];
      if (v < 0) continue;
      for (int u = users_start[v]; u < users_start[v + 1]; u++)
        if (--indeg[users[u]] == 0) queue[qt++] = users[u];
    }
  }
  free(users_start); free(users); free(fill);
  if (placed != g->nnodes) {
    for (int n = 0; n < g->nnodes; n++)
      if (indeg[n]) {
        set_err(err, errlen, "graph has a cycle through node '%s' (%s)", g->nodes[n].name, g->nodes[n].op_type);
        break;
      }
    st = WM_ONNX_ERR_INVALID;
    goto done;
  }
  for (int p = 0; p < g->nnodes; p++) {
    onnx_node *nd = &g->nodes[m->order[p]];
    for (int i = 0; i < nd->nin; i++) if (nd->in[i] >= 0) m->values[nd->in[i]].last_use = p;
  }
  for (int i = 0; i < g->noutputs; i++) {
    int id = lookup(&nt, m->values, g->outputs[i].name);
    if (id < 0 || (m->values[id].kind == VAL_INTERMEDIATE && m->values[id].producer < 0)) {
      set_err(err, errlen, "graph output '%s' is never produced", g->outputs[i].name);
      st = WM_ONNX_ERR_INVALID;
      goto done;
    }
    m->values[id].is_output = 1;
    m->output_ids[i] = id;
  }
done:
  free(nt.slots);
  free(indeg);
  free(queue);
  return st;
}

static wm_onnx_status load_common(wm_onnx_model *m, const void *buf, size_t len, wm_onnx_model **out, char *err,
                                  size_t errlen) {
  m->ir.base_dir = m->base_dir;
  int prc = onnx_parse_model(&m->ir, buf, len, err, errlen);
  if (prc) {
    wm_onnx_free(m);
    return prc == -2 ? WM_ONNX_ERR_UNSUPPORTED : WM_ONNX_ERR_PARSE;
  }
  wm_onnx_status st = build(m, err, errlen);
  if (st) {
    wm_onnx_free(m);
    return st;
  }
  *out = m;
  return WM_ONNX_OK;
}

wm_onnx_status wm_onnx_load_buffer(const void *buf, size_t len, const char *base_dir, wm_onnx_model **out, char *err,
                                   size_t errlen) {
  *out = NULL;
  wm_onnx_model *m = calloc(1, sizeof *m);
  if (!m) return WM_ONNX_ERR_NOMEM;
  if (base_dir && !(m->base_dir = strdup(base_dir))) {
    free(m);
    return WM_ONNX_ERR_NOMEM;
  }
  return load_common(m, buf, len, out, err, errlen);
}

wm_onnx_status wm_onnx_load_file(const char *path, wm_onnx_model **out, char *err, size_t errlen) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    set_err(err, errlen, "%s: %s", path, strerror(errno));
    return WM_ONNX_ERR_IO;
  }
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
    close(fd);
    set_err(err, errlen, "%s: not a non-empty regular file", path);
    return WM_ONNX_ERR_IO;
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) {
    set_err(err, errlen, "%s: mmap: %s", path, strerror(errno));
    return WM_ONNX_ERR_IO;
  }
  wm_onnx_model *m = calloc(1, sizeof *m);
  if (!m) {
    munmap(map, (size_t)st.st_size);
    return WM_ONNX_ERR_NOMEM;
  }
  m->file_map = map;
  m->file_len = (size_t)st.st_size;
  const char *slash = strrchr(path, '/');
  m->base_dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  if (!m->base_dir) {
    wm_onnx_free(m);
    return WM_ONNX_ERR_NOMEM;
  }
  return load_common(m, map, m->file_len, out, err, errlen);
}

void wm_onnx_free(wm_onnx_model *m) {
  if (!m) return;
  for (int i = 0; i < m->nvalues; i++) wm_onnx_tensor_free(&m->values[i].rt);
  onnx_model_ir_release(&m->ir);
  if (m->file_map) munmap(m->file_map, m->file_len);
  free(m->base_dir);
  free(m->values);
  free(m->order);
  free(m->input_ids);
  free(m->output_ids);
  free(m);
}

int wm_onnx_num_inputs(const wm_onnx_model *m) { return m->ir.graph->ninputs; }
int wm_onnx_num_outputs(const wm_onnx_model *m) { return m->ir.graph->noutputs; }
const char *wm_onnx_input_name(const wm_onnx_model *m, int i) {
  return i >= 0 && i < m->ir.graph->ninputs ? m->ir.graph->inputs[i].name : NULL;
}
const char *wm_onnx_output_name(const wm_onnx_model *m, int i) {
  return i >= 0 && i < m->ir.graph->noutputs ? m->ir.graph->outputs[i].name : NULL;
}

int wm_onnx_input_has_default(const wm_onnx_model *m, int i) {
  if (i < 0 || i >= m->ninputs) return 0;
  return m->values[m->input_ids[i]].kind == VAL_INIT;
}

static int vi_info(const onnx_value_info *vi, wm_onnx_dtype *dtype, int64_t *dims) {
  if (dtype) *dtype = (wm_onnx_dtype)(vi->dtype > 0 ? vi->dtype : 0);
  if (dims) for (int d = 0; d < vi->ndim; d++) dims[d] = vi->dims[d];
  return vi->ndim;
}
int wm_onnx_input_info(const wm_onnx_model *m, int i, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS]) {
  if (i < 0 || i >= m->ir.graph->ninputs) return -1;
  return vi_info(&m->ir.graph->inputs[i], dtype, dims);
}
int wm_onnx_output_info(const wm_onnx_model *m, int i, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS]) {
  if (i < 0 || i >= m->ir.graph->noutputs) return -1;
  return vi_info(&m->ir.graph->outputs[i], dtype, dims);
}

static void reset_runtime(wm_onnx_model *m) {
  for (int i = 0; i < m->nvalues; i++) wm_onnx_tensor_free(&m->values[i].rt);
}

wm_onnx_status wm_onnx_run(wm_onnx_model *m, const wm_onnx_tensor *inputs, int ninputs, wm_onnx_tensor *outputs,
                           int noutputs, char *err, size_t errlen) {
  onnx_graph *g = m->ir.graph;
  if (ninputs != g->ninputs) {
    set_err(err, errlen, "model takes %d inputs, %d given", g->ninputs, ninputs);
    return WM_ONNX_ERR_INVALID;
  }
  if (noutputs > g->noutputs) {
    set_err(err, errlen, "model has %d outputs, %d requested", g->noutputs, noutputs);
    return WM_ONNX_ERR_INVALID;
  }
  reset_runtime(m);
  for (int i = 0; i < m->nvalues; i++)
    if (m->values[i].kind == VAL_INIT) m->values[i].rt = m->values[i].init, m->values[i].rt.flags = 0;
  for (int i = 0; i < ninputs; i++) {
    value *v = &m->values[m->input_ids[i]];
    const wm_onnx_tensor *t = &inputs[i];
    const onnx_value_info *vi = v->decl;
    if (!t->data && t->nbytes == 0 && v->kind == VAL_INIT) continue; /* keep initializer default */
    if (vi->dtype > 0 && !wm_onnx_dtype_size((wm_onnx_dtype)vi->dtype)) {
      set_err(err, errlen, "input '%s': element type %s is not supported", vi->name,
              wm_onnx_dtype_name((wm_onnx_dtype)vi->dtype));
      return WM_ONNX_ERR_UNSUPPORTED;
    }
    if (vi->dtype > 0 && (int)t->dtype != vi->dtype) {
      set_err(err, errlen, "input '%s': expected %s, got %s", vi->name, wm_onnx_dtype_name((wm_onnx_dtype)vi->dtype),
              wm_onnx_dtype_name(t->dtype));
      return WM_ONNX_ERR_INVALID;
    }
    if (vi->ndim >= 0 && t->ndim != vi->ndim) {
      set_err(err, errlen, "input '%s': expected rank %d, got %d", vi->name, vi->ndim, t->ndim);
      return WM_ONNX_ERR_INVALID;
    }
    for (int d = 0; vi->ndim >= 0 && d < vi->ndim; d++)
      if (vi->dims[d] >= 0 && vi->dims[d] != t->dims[d]) {
        set_err(err, errlen, "input '%s': dimension %d is %lld, model requires %lld", vi->name, d,
                (long long)t->dims[d], (long long)vi->dims[d]);
        return WM_ONNX_ERR_INVALID;
      }
    if (t->ndim < 0 || t->ndim > WM_ONNX_MAX_DIMS || t->nbytes != (size_t)wm_onnx_numel(t) * wm_onnx_dtype_size(t->dtype) ||
        (!t->data && t->nbytes)) {
      set_err(err, errlen, "input '%s': data size %zu does not match its shape", vi->name, t->nbytes);
      return WM_ONNX_ERR_INVALID;
    }
    v->rt = *t;
    v->rt.flags = 0; /* borrowed from the caller */
  }
  const wm_onnx_tensor *inbuf[64];
  wm_onnx_tensor *outbuf[64];
  wm_onnx_tensor scratch[64];
  wm_onnx_status st = WM_ONNX_OK;
  for (int p = 0; p < g->nnodes; p++) {
    onnx_node *nd = &g->nodes[m->order[p]];
    if (nd->nin > 64 || nd->nout > 64) {
      set_err(err, errlen, "node '%s' (%s): too many inputs/outputs", nd->name, nd->op_type);
      st = WM_ONNX_ERR_UNSUPPORTED;
      break;
    }
    for (int i = 0; i < nd->nin; i++) inbuf[i] = nd->in[i] >= 0 ? &m->values[nd->in[i]].rt : NULL;
    for (int o = 0; o < nd->nout; o++) {
      memset(&scratch[o], 0, sizeof scratch[o]);
      outbuf[o] = nd->out[o] >= 0 ? &m->values[nd->out[o]].rt : &scratch[o];
    }
    char kerr[384] = "";
    onnx_kernel_ctx k = {nd, nd->opset, nd->nin, nd->nout, inbuf, outbuf, kerr, sizeof kerr};
    int rc = nd->fn(&k);
    for (int o = 0; o < nd->nout; o++) if (nd->out[o] < 0) wm_onnx_tensor_free(&scratch[o]);
    if (rc) {
      set_err(err, errlen, "node '%s' (%s): %s", nd->name, nd->op_type, kerr);
      st = rc == -2 ? WM_ONNX_ERR_UNSUPPORTED : WM_ONNX_ERR_RUNTIME;
      break;
    }
    for (int i = 0; i < nd->nin; i++) {
      int id = nd->in[i];
      if (id >= 0 && m->values[id].last_use == p && !m->values[id].is_output && m->values[id].kind == VAL_INTERMEDIATE)
        wm_onnx_tensor_free(&m->values[id].rt);
    }
  }
  if (st == WM_ONNX_OK) {
    for (int i = 0; i < noutputs; i++) {
      value *v = &m->values[m->output_ids[i]];
      if (v->rt.flags & WM_ONNX_TENSOR_OWNED) {
        outputs[i] = v->rt;
        memset(&v->rt, 0, sizeof v->rt);
      } else { /* an input or initializer exported directly: give the caller its own copy */
        outputs[i] = v->rt;
        outputs[i].data = malloc(v->rt.nbytes ? v->rt.nbytes : 1);
        if (!outputs[i].data) {
          for (int j = 0; j < i; j++) wm_onnx_tensor_free(&outputs[j]);
          st = WM_ONNX_ERR_NOMEM;
          break;
        }
        if (v->rt.nbytes) memcpy(outputs[i].data, v->rt.data, v->rt.nbytes);
        outputs[i].flags = WM_ONNX_TENSOR_OWNED;
      }
    }
  }
  reset_runtime(m);
  return st;
}

wm_onnx_status wm_onnx_parse_tensor(const void *buf, size_t len, wm_onnx_tensor *out, char *err, size_t errlen) {
  int rc = onnx_parse_tensor_owned(buf, len, out, err, errlen);
  if (rc) return rc == -2 ? WM_ONNX_ERR_UNSUPPORTED : WM_ONNX_ERR_PARSE;
  if (out->dtype == WM_ONNX_STRING) {
    set_err(err, errlen, "string tensors are not supported");
    return WM_ONNX_ERR_UNSUPPORTED;
  }
  return WM_ONNX_OK;
}
