/* graph.c — turns a parsed ONNX graph into an executable plan (value table, topological order, kernel
 * binding, buffer lifetimes) and runs it; also the public load/run API declared in onnx.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../kernels/kernels.h"
#include "onnx.h"
#include "onnx_ir.h"

typedef onnx_value value;

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

/* ---- name → value id hash table: resolves names while building, then serves look-ups by name ---- */
typedef struct name_table {
  int *slots;
  size_t cap;
} name_table;

static wm_onnx_status build(wm_onnx_model *m, char *err, size_t errlen);
static void free_plan(wm_onnx_model *m);

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

int onnx_plan_lookup(const wm_onnx_model *m, const char *name) {
  return m->names ? lookup(m->names, m->values, name) : -1;
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


/* ---- subgraphs (If / Loop / Scan) ---- */
static int is_control_op(const char *op) { return !strcmp(op, "If") || !strcmp(op, "Loop") || !strcmp(op, "Scan"); }
/* Never called: the executor runs control-flow nodes itself; a non-NULL fn marks the node as supported. */
static int control_placeholder(onnx_kernel_ctx *k) { return kfail(k, "control-flow node run as a kernel"); }

/* Upper bound on the outer names a node's subgraphs can capture into this graph (for sizing the value table). */
static size_t sub_name_bound(const onnx_node *nd) {
  size_t n = 0;
  for (int a = 0; a < nd->nattr; a++) {
    const onnx_graph *sg = nd->attrs[a].type == ATTR_GRAPH ? nd->attrs[a].g : NULL;
    if (!sg) continue;
    n += (size_t)sg->noutputs;
    for (int i = 0; i < sg->nnodes; i++) n += (size_t)sg->nodes[i].nin + sub_name_bound(&sg->nodes[i]);
  }
  return n;
}

/* Resolves name in the enclosing graphs; interns a VAL_OUTER value here and records the capture.
 * The enclosing node gets the parent value as an implicit input. Returns the local id or -1. */
static int capture_outer(wm_onnx_model *m, const char *name) {
  wm_onnx_model *p = m->parent;
  if (!p || !p->scope) return -1;
  int pid = lookup(p->scope, p->values, name);
  if (pid < 0 && p->parent) pid = capture_outer(p, name);
  if (pid < 0 || (p->values[pid].kind == VAL_INTERMEDIATE && p->values[pid].producer < 0)) return -1;
  int n = p->cur_node, dup = 0;
  for (int i = 0; i < p->nimplicit[n]; i++) dup |= p->implicit[n][i] == pid;
  if (!dup) {
    int *na = realloc(p->implicit[n], (size_t)(p->nimplicit[n] + 1) * sizeof(int));
    if (!na) return -1;
    p->implicit[n] = na;
    na[p->nimplicit[n]++] = pid;
  }
  int id = intern(m, m->scope, name, VAL_OUTER);
  m->outer_local[m->nouter] = id;
  m->outer_parent[m->nouter++] = pid;
  return id;
}

static wm_onnx_status build_subgraphs(wm_onnx_model *m, int n, char *err, size_t errlen) {
  onnx_node *nd = &m->ir.graph->nodes[n];
  m->subs[n] = calloc((size_t)nd->nattr + 1, sizeof *m->subs[n]);
  if (!m->subs[n]) { set_err(err, errlen, "out of memory"); return WM_ONNX_ERR_NOMEM; }
  m->cur_node = n;
  for (int a = 0; a < nd->nattr; a++) {
    if (nd->attrs[a].type == ATTR_GRAPHS) {
      set_err(err, errlen, "node '%s' (%s): graph-list attributes are not supported", nd->name, nd->op_type);
      return WM_ONNX_ERR_UNSUPPORTED;
    }
    if (nd->attrs[a].type != ATTR_GRAPH || !nd->attrs[a].g) continue;
    wm_onnx_model *sub = calloc(1, sizeof *sub);
    if (!sub) { set_err(err, errlen, "out of memory"); return WM_ONNX_ERR_NOMEM; }
    sub->ir = m->ir;   /* shares the root's arena and opsets; never released through a subgraph */
    sub->ir.graph = nd->attrs[a].g;
    sub->parent = m;
    m->subs[n][m->nsubs[n]++] = sub;
    char serr[400] = "";
    wm_onnx_status st = build(sub, serr, sizeof serr);
    if (st) {
      set_err(err, errlen, "node '%s' (%s) attribute %s: %s", nd->name, nd->op_type, nd->attrs[a].name, serr);
      return st;
    }
  }
  return WM_ONNX_OK;
}

wm_onnx_model *onnx_plan_sub(wm_onnx_model *m, int n, const char *name) {
  onnx_node *nd = &m->ir.graph->nodes[n];
  int k = 0;
  for (int a = 0; a < nd->nattr; a++) {
    if (nd->attrs[a].type != ATTR_GRAPH || !nd->attrs[a].g) continue;
    if (!strcmp(nd->attrs[a].name, name)) return k < m->nsubs[n] ? m->subs[n][k] : NULL;
    k++;
  }
  return NULL;
}

static void free_plan(wm_onnx_model *m) {
  for (int n = 0; m->order && m->ir.graph && n < m->ir.graph->nnodes; n++) { /* preps exist only once planned */
    kernel_prep *kp = m->ir.graph->nodes[n].prep;
    if (kp) kp->free(kp);
    m->ir.graph->nodes[n].prep = NULL;
  }
  if (m->subs)
    for (int n = 0; n < m->ir.graph->nnodes; n++) {
      for (int k = 0; m->subs[n] && k < m->nsubs[n]; k++) {
        wm_onnx_model *sub = m->subs[n][k];
        for (int i = 0; i < sub->nvalues; i++) wm_onnx_tensor_free(&sub->values[i].rt);
        free_plan(sub);
        free(sub);
      }
      free(m->subs[n]);
      if (m->implicit) free(m->implicit[n]);
    }
  free(m->subs);
  free(m->nsubs);
  free(m->implicit);
  free(m->nimplicit);
  free(m->outer_local);
  free(m->outer_parent);
  free(m->values);
  free(m->order);
  free(m->input_ids);
  free(m->output_ids);
  free(m->types);
  if (m->names) free(m->names->slots);
  free(m->names);
}

static wm_onnx_status build(wm_onnx_model *m, char *err, size_t errlen) {
  onnx_graph *g = m->ir.graph;
  m->default_opset = 1;
  for (int i = 0; i < m->ir.nopsets; i++) {
    const char *d = m->ir.opsets[i].domain;
    if (!*d || !strcmp(d, "ai.onnx")) m->default_opset = (int)m->ir.opsets[i].version;
  }
  size_t maxvals = (size_t)g->ninit + (size_t)g->ninputs + (size_t)g->noutputs + 1;
  for (int i = 0; i < g->nnodes; i++)
    maxvals += (size_t)g->nodes[i].nin + (size_t)g->nodes[i].nout + sub_name_bound(&g->nodes[i]);
  m->values = calloc(maxvals, sizeof *m->values);
  name_table nt = {NULL, 16};
  while (nt.cap < maxvals * 2) nt.cap *= 2;
  nt.slots = malloc(nt.cap * sizeof(int));
  m->order = calloc((size_t)g->nnodes + 1, sizeof(int));
  m->input_ids = calloc((size_t)g->ninputs + 1, sizeof(int));
  m->output_ids = calloc((size_t)g->noutputs + 1, sizeof(int));
  int *indeg = calloc((size_t)g->nnodes + 1, sizeof(int));
  int *queue = calloc((size_t)g->nnodes + 1, sizeof(int));
  m->subs = calloc((size_t)g->nnodes + 1, sizeof *m->subs);
  m->nsubs = calloc((size_t)g->nnodes + 1, sizeof *m->nsubs);
  m->implicit = calloc((size_t)g->nnodes + 1, sizeof *m->implicit);
  m->nimplicit = calloc((size_t)g->nnodes + 1, sizeof *m->nimplicit);
  m->outer_local = calloc(maxvals, sizeof(int));
  m->outer_parent = calloc(maxvals, sizeof(int));
  m->scope = &nt;
  wm_onnx_status st = WM_ONNX_OK;
  if (!m->values || !nt.slots || !m->order || !m->input_ids || !m->output_ids || !indeg || !queue || !m->subs ||
      !m->nsubs || !m->implicit || !m->nimplicit || !m->outer_local || !m->outer_parent) {
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
    int other = *dom && strcmp(dom, "ai.onnx");
    int control = !other && is_control_op(nd->op_type);
    nd->fn = control ? control_placeholder : onnx_find_kernel_domain(dom, nd->op_type);
    if (!nd->fn && other) {
      set_err(err, errlen, "node '%s': operator %s of domain '%s' is not supported", nd->name, nd->op_type, dom);
      st = WM_ONNX_ERR_UNSUPPORTED;
      goto done;
    }
    if (!nd->fn) {
      set_err(err, errlen, "node '%s': unsupported operator %s", nd->name, nd->op_type);
      st = WM_ONNX_ERR_UNSUPPORTED;
      goto done;
    }
    for (int a = 0; a < nd->nattr && !control; a++)
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
      if (id < 0 && m->parent) id = capture_outer(m, nd->in_names[i]);
      if (id < 0 || (m->values[id].kind == VAL_INTERMEDIATE && m->values[id].producer < 0)) {
        set_err(err, errlen, "node '%s' (%s): input '%s' is not produced by any node, initializer or graph input",
                nd->name, nd->op_type, nd->in_names[i]);
        st = WM_ONNX_ERR_INVALID;
        goto done;
      }
      nd->in[i] = id;
      if (m->values[id].producer >= 0) indeg[n]++;
    }
    if (is_control_op(nd->op_type)) {
      st = build_subgraphs(m, n, err, errlen);
      if (st) goto done;
      for (int i = 0; i < m->nimplicit[n]; i++)
        if (m->values[m->implicit[n][i]].producer >= 0) indeg[n]++;
    }
  }
  /* Kahn's algorithm; ties keep file order so execution is deterministic */
  int qh = 0, qt = 0, placed = 0;
  for (int n = 0; n < g->nnodes; n++) if (!indeg[n]) queue[qt++] = n;
  int *users_start = calloc((size_t)m->nvalues + 1, sizeof(int));
  int total_uses = 0;
  for (int n = 0; n < g->nnodes; n++) total_uses += g->nodes[n].nin + m->nimplicit[n];
  int *users = calloc((size_t)total_uses + 1, sizeof(int));
  int *fill = calloc((size_t)m->nvalues + 1, sizeof(int));
  if (!users_start || !users || !fill) {
    free(users_start); free(users); free(fill);
    set_err(err, errlen, "out of memory");
    st = WM_ONNX_ERR_NOMEM;
    goto done;
  }
  for (int n = 0; n < g->nnodes; n++) {
    for (int i = 0; i < g->nodes[n].nin; i++) if (g->nodes[n].in[i] >= 0) users_start[g->nodes[n].in[i] + 1]++;
    for (int i = 0; i < m->nimplicit[n]; i++) users_start[m->implicit[n][i] + 1]++;
  }
  for (int v = 0; v < m->nvalues; v++) users_start[v + 1] += users_start[v];
  for (int n = 0; n < g->nnodes; n++) {
    for (int i = 0; i < g->nodes[n].nin; i++) {
      int v = g->nodes[n].in[i];
      if (v >= 0) users[users_start[v] + fill[v]++] = n;
    }
    for (int i = 0; i < m->nimplicit[n]; i++) {
      int v = m->implicit[n][i];
      users[users_start[v] + fill[v]++] = n;
    }
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
    int n = m->order[p];
    for (int i = 0; i < m->nimplicit[n]; i++) m->values[m->implicit[n][i]].last_use = p;
  }
  for (int i = 0; i < g->noutputs; i++) {
    int id = lookup(&nt, m->values, g->outputs[i].name);
    if (id < 0 && m->parent) id = capture_outer(m, g->outputs[i].name);
    if (id < 0 || (m->values[id].kind == VAL_INTERMEDIATE && m->values[id].producer < 0)) {
      set_err(err, errlen, "graph output '%s' is never produced", g->outputs[i].name);
      st = WM_ONNX_ERR_INVALID;
      goto done;
    }
    m->values[id].is_output = 1;
    m->output_ids[i] = id;
  }
done:
  m->scope = NULL;
  if (st == WM_ONNX_OK && (m->names = malloc(sizeof *m->names))) *m->names = nt;
  else free(nt.slots);
  if (st == WM_ONNX_OK && !m->names) {
    set_err(err, errlen, "out of memory");
    st = WM_ONNX_ERR_NOMEM;
  }
  free(indeg);
  free(queue);
  return st;
}

/* ---- activation arena: the first run with a set of input shapes records the size of every intermediate its
 * kernels allocate (on the heap); then each gets a slot in one buffer, laid out from the tensors' lifetimes (from
 * the node that makes one to its last reader, in plan order): largest first, each at the lowest offset no tensor
 * alive at the same time occupies. Later runs with the same input shapes give each kernel its slot (out_alloc), so
 * they allocate nothing for these tensors and reuse the same addresses every time; a tensor that outgrows its slot
 * (a data-dependent shape) comes from the heap. Values of If/Loop/Scan nodes and graph outputs are never planned.
 * New input shapes record again. */
#define ARENA_ALIGN 64
typedef struct arena_item {
  int id, p0, p1;
  size_t size, off;
} arena_item;

static int cmp_item_size(const void *a, const void *b) {
  const arena_item *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  return x->id - y->id;
}

static int cmp_item_off(const void *a, const void *b) {
  const arena_item *x = *(arena_item *const *)a, *y = *(arena_item *const *)b;
  return x->off < y->off ? -1 : x->off > y->off;
}

static void plan_arena(wm_onnx_model *m) {
  onnx_graph *g = m->ir.graph;
  if (m->parent || !g->nnodes) return;
  int *pos = malloc((size_t)g->nnodes * sizeof *pos);
  arena_item *it = malloc((size_t)(m->nvalues + 1) * sizeof *it);
  arena_item **live = malloc((size_t)(m->nvalues + 1) * sizeof *live);
  int *item_of = malloc((size_t)(m->nvalues + 1) * sizeof *item_of); /* a chain's first value -> its item */
  int n = 0;
  if (!pos || !it || !live || !item_of) goto done; /* no arena: every tensor comes from the heap, as before */
  for (int id = 0; id < m->nvalues; id++) item_of[id] = -1;
  for (int p = 0; p < g->nnodes; p++) pos[m->order[p]] = p;
  /* a tensor that took over its input's buffer shares that input's slot: one item for the chain, from the first
   * producer to the last reader, as large as the largest member (items are indexed by the chain's first value) */
  for (int id = 0; id < m->nvalues; id++) {
    const onnx_value *v = &m->values[id];
    size_t size = v->rec_size;
    if (!size || (uint64_t)size > ((uint64_t)1 << 32)) continue;
    int p0 = pos[v->producer], p1 = v->last_use > p0 ? v->last_use : p0, root = id;
    while (m->values[root].rec_alias >= 0) root = m->values[root].rec_alias; /* producers come first: no cycle */
    size = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    int j = item_of[root];
    if (j < 0) item_of[root] = n, it[n++] = (arena_item){root, p0, p1, size, 0};
    else {
      if (p0 < it[j].p0) it[j].p0 = p0;
      if (p1 > it[j].p1) it[j].p1 = p1;
      if (size > it[j].size) it[j].size = size;
    }
  }
  qsort(it, (size_t)n, sizeof *it, cmp_item_size);
  for (int i = 0; i < n; i++) item_of[it[i].id] = i;
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    int nl = 0;
    for (int j = 0; j < i; j++) /* placed tensors alive at the same time (a node's inputs and outputs overlap) */
      if (it[j].p0 <= it[i].p1 && it[i].p0 <= it[j].p1) live[nl++] = &it[j];
    qsort(live, (size_t)nl, sizeof *live, cmp_item_off);
    size_t off = 0;
    for (int j = 0; j < nl; j++) {
      if (live[j]->off >= off + it[i].size) break; /* the gap before it fits */
      if (live[j]->off + live[j]->size > off) off = live[j]->off + live[j]->size;
    }
    it[i].off = off;
    if (off + it[i].size > total) total = off + it[i].size;
  }
  for (int id = 0; id < m->nvalues; id++) {
    onnx_value *v = &m->values[id];
    if (!v->rec_size || (uint64_t)v->rec_size > ((uint64_t)1 << 32)) continue;
    int root = id;
    while (m->values[root].rec_alias >= 0) root = m->values[root].rec_alias;
    const arena_item *a = &it[item_of[root]];
    v->planned = 1, v->arena_off = a->off, v->arena_cap = a->size;
  }
  m->arena_size = total;
  m->arena = total ? aligned_alloc(ARENA_ALIGN, total) : NULL;
  if (!m->arena) m->arena_size = 0;
done:
  free(pos);
  free(it);
  free(live);
  free(item_of);
}

/* The runtime input shapes as one list (per input: rank, then dims) into sig, or its length when sig is NULL. */
static size_t input_sig(const wm_onnx_model *m, int64_t *sig) {
  size_t k = 0;
  for (int i = 0; i < m->ninputs; i++) {
    const wm_onnx_tensor *t = &m->values[m->input_ids[i]].rt;
    if (sig) sig[k] = t->ndim;
    k++;
    for (int d = 0; d < t->ndim; d++, k++)
      if (sig) sig[k] = t->dims[d];
  }
  return k;
}

/* The plan was made for the current input shapes (compared in place: a planned run allocates nothing). */
static int arena_sig_matches(const wm_onnx_model *m, size_t n) {
  if (!m->arena_sig || m->arena_sig[0] != (int64_t)n) return 0;
  const int64_t *s = m->arena_sig + 1; /* the ranks are compared before the dims they announce: no over-read */
  for (int i = 0; i < m->ninputs; i++) {
    const wm_onnx_tensor *t = &m->values[m->input_ids[i]].rt;
    if (*s++ != t->ndim) return 0;
    for (int d = 0; d < t->ndim; d++)
      if (*s++ != t->dims[d]) return 0;
  }
  return 1;
}

/* Before a run: keeps the plan when the input shapes are the ones it was made for, else records a new one. */
static void arena_begin(wm_onnx_model *m) {
  size_t n = input_sig(m, NULL);
  if (m->arena_state == 2 && arena_sig_matches(m, n)) return;
  free(m->arena);
  free(m->arena_sig);
  m->arena = NULL, m->arena_size = 0;
  m->arena_sig = malloc((n + 1) * sizeof *m->arena_sig);
  if (m->arena_sig) m->arena_sig[0] = (int64_t)n, input_sig(m, m->arena_sig + 1);
  for (int i = 0; i < m->nvalues; i++) m->values[i].planned = 0, m->values[i].rec_size = 0, m->values[i].rec_alias = -1;
  m->arena_state = m->arena_sig ? 1 : 0;
}

static wm_onnx_status load_common(wm_onnx_model *m, const void *buf, size_t len, wm_onnx_model **out, char *err,
                                  size_t errlen) {
#ifdef __GLIBC__
  /* Inference frees and reallocates the same large activations on every run. Served from mmap each time they
   * would be page-faulted in again (and zeroed by the kernel) per run; kept in the heap they are reused. */
  static int tuned;
  if (!tuned) {
    tuned = 1;
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
  }
#endif
  m->ir.base_dir = m->base_dir;
  int prc = onnx_parse_model(&m->ir, buf, len, err, errlen);
  if (prc) {
    wm_onnx_free(m);
    return prc == -2 ? WM_ONNX_ERR_UNSUPPORTED : WM_ONNX_ERR_PARSE;
  }
  if (onnx_optimize(&m->ir)) {
    set_err(err, errlen, "out of memory");
    wm_onnx_free(m);
    return WM_ONNX_ERR_NOMEM;
  }
  wm_onnx_status st = build(m, err, errlen);
  if (st == WM_ONNX_OK) st = onnx_infer(m, err, errlen);
  if (st) {
    wm_onnx_free(m);
    return st;
  }
  /* pack constant weights now, so the first inference runs at full speed (and load time says what it costs) */
  onnx_graph *g = m->ir.graph;
  for (int n = 0; n < g->nnodes; n++) {
    onnx_node *nd = &g->nodes[n];
    int conv = !strcmp(nd->op_type, "Conv"), mm = !strcmp(nd->op_type, "MatMul") || !strcmp(nd->op_type, "Gemm");
    if ((*nd->domain && strcmp(nd->domain, "ai.onnx")) || (!conv && !mm) || nd->nin < 2 || nd->in[1] < 0) continue;
    const value *w = &m->values[nd->in[1]];
    if (w->kind != VAL_INIT || w->decl) continue;
    if (conv) conv_prepare(nd, &w->init);
    else if (nd->in[0] >= 0) matmul_prepare(nd, &w->init);
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
  free(m->arena);
  free(m->arena_sig);
  free_plan(m);   /* before the ir: plans walk the arena-allocated graphs */
  onnx_model_ir_release(&m->ir);
  free(m->syms);
  free(m->symval);
  if (m->file_map) munmap(m->file_map, m->file_len);
  free(m->base_dir);
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

/* The declared type and shape, completed by inference where the declaration is silent (-1: symbolic). */
static int io_info(const wm_onnx_model *m, const onnx_value_info *vi, int id, wm_onnx_dtype *dtype, int64_t *dims) {
  const onnx_vtype *t = onnx_vtype_of(m, id);
  int nd = vi->ndim >= 0 ? vi->ndim : t->ndim;
  if (dtype) *dtype = (wm_onnx_dtype)(vi->dtype > 0 ? vi->dtype : t->dtype);
  for (int d = 0; dims && d < nd; d++)
    dims[d] = vi->ndim >= 0 && vi->dims[d] >= 0 ? vi->dims[d] : t->ndim == nd && !ONNX_IS_SYM(t->dims[d]) ? t->dims[d] : -1;
  return nd;
}
int wm_onnx_input_info(const wm_onnx_model *m, int i, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS]) {
  if (i < 0 || i >= m->ir.graph->ninputs) return -1;
  return io_info(m, &m->ir.graph->inputs[i], m->input_ids[i], dtype, dims);
}
int wm_onnx_output_info(const wm_onnx_model *m, int i, wm_onnx_dtype *dtype, int64_t dims[WM_ONNX_MAX_DIMS]) {
  if (i < 0 || i >= m->ir.graph->noutputs) return -1;
  return io_info(m, &m->ir.graph->outputs[i], m->output_ids[i], dtype, dims);
}

void wm_onnx_set_cancel(wm_onnx_model *m, int (*should_stop)(void *ctx), void *ctx) {
  m->should_stop = should_stop;
  m->stop_ctx = ctx;
}

/* The hook is the root's; subgraphs (Loop bodies, If branches) reach it through their parents. */
static int stop_requested(const wm_onnx_model *m) {
  while (m->parent) m = m->parent;
  return m->should_stop && m->should_stop(m->stop_ctx);
}

static void reset_runtime(wm_onnx_model *m) {
  for (int i = 0; i < m->nvalues; i++) wm_onnx_tensor_free(&m->values[i].rt);
}


/* ---- execution ---- */
static wm_onnx_status run_control(wm_onnx_model *m, int n, const wm_onnx_tensor **in, wm_onnx_tensor **out, char *err,
                                  size_t errlen);

#define WM_ONNX_MIN_SLOTS 8   /* input/output slots always valid for a kernel (see exec_graph) */

/* WM_ONNX_PROFILE=1 prints each node's wall time to stderr after it runs (finding hot spots, tuning kernels). */
static int profile_enabled(void) {
  static int on = -1;
  if (on < 0) {
    const char *e = getenv("WM_ONNX_PROFILE");
    on = e && *e && *e != '0';
  }
  return on;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* WM_ONNX_CHECK_SHAPES=1 compares every node's outputs with what inference claimed at load, symbols included
 * (bound to their values per run, in the root graph): a claim the run contradicts fails the run. It tests the
 * inference rules over whole test suites (wasmind-onnx-test --check-shapes). */
static int check_enabled(void) {
  static int on = -1;
  if (on < 0) {
    const char *e = getenv("WM_ONNX_CHECK_SHAPES");
    on = e && *e && *e != '0';
  }
  return on;
}

/* 1 when actual fits the claim v (a known value, or a symbol; root symbols must keep one value per run). */
static int fits(const wm_onnx_model *m, int64_t v, int64_t actual) {
  if (!ONNX_IS_SYM(v)) return v == actual;
  if (m->parent || !m->symval) return 1;
  int64_t *b = &m->symval[ONNX_SYM_ID(v)];
  if (*b == INT64_MIN) *b = actual;
  return *b == actual;
}

static int check_claim(const wm_onnx_model *m, const onnx_vtype *ty, const wm_onnx_tensor *t, char *msg, size_t len) {
  int ok = !ty->dtype || ty->dtype == (int)t->dtype;
  if (ty->ndim >= 0) {
    ok &= ty->ndim == t->ndim;
    for (int d = 0; ok && d < t->ndim; d++) ok = fits(m, ty->dims[d], t->dims[d]);
  }
  int64_t n = wm_onnx_numel(t);
  if (ok && ty->nvals >= 0 && t->data && n == ty->nvals && (is_int_type(t->dtype) || is_float_type(t->dtype)))
    for (int i = 0; ok && i < n; i++) {
      double a = is_float_type(t->dtype) ? tget(t, i) : 0;
      int64_t v = is_float_type(t->dtype) ? (int64_t)a : tget_i64(t, i);
      if (is_float_type(t->dtype)) ok = a == floor(a) && fabs(a) < 9e15;
      if (v < INT64_MIN / 2) v = INT64_MIN / 2; /* inference reads these as one "before anything" value */
      ok = ok && fits(m, ty->vals[i], v);
    }
  if (ok) return 0;
  char want[96], got[96];
  onnx_format_dims(m, ty->ndim, ty->dims, want, sizeof want);
  onnx_format_dims(m, t->ndim, t->dims, got, sizeof got);
  snprintf(msg, len, "is %s %s, inference said %s %s%s", wm_onnx_dtype_name(t->dtype), got,
           wm_onnx_dtype_name((wm_onnx_dtype)ty->dtype), want, ty->nvals >= 0 ? " (and its values)" : "");
  return 1;
}

/* Runs every node of m in plan order; inputs, initializers and captured values are already in place. */
static wm_onnx_status exec_graph(wm_onnx_model *m, char *err, size_t errlen) {
  onnx_graph *g = m->ir.graph;
  int prof = profile_enabled();
  const wm_onnx_tensor *inbuf[64];
  wm_onnx_tensor *outbuf[64];
  wm_onnx_tensor scratch[64];
  const void *in_data[64];
  wm_onnx_status st = WM_ONNX_OK;
  for (int p = 0; p < g->nnodes; p++) {
    int idx = m->order[p];
    onnx_node *nd = &g->nodes[idx];
    if (nd->nin > 64 || nd->nout > 64) {
      set_err(err, errlen, "node '%s' (%s): too many inputs/outputs", nd->name, nd->op_type);
      st = WM_ONNX_ERR_UNSUPPORTED;
      break;
    }
    /* Kernels address their outputs by fixed index (out[0], out[1]...), and a hostile model may
     * declare fewer outputs than the op has: every slot a kernel may touch points at a real
     * tensor, the undeclared ones at scratch tensors freed right after the node. */
    int nslots = nd->nout > WM_ONNX_MIN_SLOTS ? nd->nout : WM_ONNX_MIN_SLOTS;
    int nislots = nd->nin > WM_ONNX_MIN_SLOTS ? nd->nin : WM_ONNX_MIN_SLOTS;
    for (int i = 0; i < nislots; i++) inbuf[i] = i < nd->nin && nd->in[i] >= 0 ? &m->values[nd->in[i]].rt : NULL;
    for (int o = 0; o < nslots; o++) {
      memset(&scratch[o], 0, sizeof scratch[o]);
      outbuf[o] = o < nd->nout && nd->out[o] >= 0 ? &m->values[nd->out[o]].rt : &scratch[o];
    }
    for (int o = 0; m->arena_state == 2 && o < nd->nout; o++) { /* the slot out_alloc takes, if the tensor fits */
      onnx_value *v = nd->out[o] >= 0 ? &m->values[nd->out[o]] : NULL;
      if (!v || !v->planned || v->rt.data) continue;
      v->rt.data = (char *)m->arena + v->arena_off;
      v->rt.nbytes = v->arena_cap;
      v->rt.flags = WM_ONNX_TENSOR_PLANNED | WM_ONNX_TENSOR_SLOT;
    }
    if (stop_requested(m)) {
      set_err(err, errlen, "cancelled before node '%s' (%s)", nd->name, nd->op_type);
      st = WM_ONNX_ERR_CANCELLED;
      break;
    }
    char kerr[384] = "";
    wm_onnx_status cs;
    double t0 = prof ? now_ms() : 0;
    if (m->subs[idx]) {
      cs = run_control(m, idx, inbuf, outbuf, kerr, sizeof kerr);
      if (cs != WM_ONNX_ERR_UNSUPPORTED && cs != WM_ONNX_ERR_CANCELLED && cs) cs = WM_ONNX_ERR_RUNTIME;
    } else {
      unsigned cmask = 0, dmask = 0;
      for (int i = 0; i < nd->nin && i < 32; i++) {
        int id = nd->in[i];
        if (id < 0) continue;
        const value *v = &m->values[id];
        if (v->kind == VAL_INIT && !v->decl) cmask |= 1u << i;
        int once = 1; /* an input passed twice must stay readable through the other slot */
        for (int j = 0; j < nd->nin; j++) once &= j == i || nd->in[j] != id;
        if (once && v->kind == VAL_INTERMEDIATE && v->last_use == p && !v->is_output && m->nimplicit[idx] == 0 &&
            (v->rt.flags & WM_ONNX_TENSOR_OWNED))
          dmask |= 1u << i;
      }
      onnx_kernel_ctx k = {nd, nd->opset, nd->nin, nd->nout, inbuf, outbuf, kerr, sizeof kerr, cmask, &nd->prep, dmask};
      for (int i = 0; m->arena_state == 1 && i < nd->nin && i < 64; i++) /* which buffer an output may take over */
        in_data[i] = inbuf[i] ? inbuf[i]->data : NULL;
      int rc = nd->fn(&k);
      cs = rc == 0 ? WM_ONNX_OK : rc == -2 ? WM_ONNX_ERR_UNSUPPORTED : WM_ONNX_ERR_RUNTIME;
    }
    for (int o = 0; !cs && check_enabled() && o < nd->nout; o++) {
      int id = nd->out[o];
      char why[256];
      if (id >= 0 && check_claim(m, onnx_vtype_of(m, id), &m->values[id].rt, why, sizeof why)) {
        snprintf(kerr, sizeof kerr, "output '%s' %s", m->values[id].name, why);
        cs = WM_ONNX_ERR_RUNTIME;
      }
    }
    if (prof) {
      const wm_onnx_tensor *o0 = outbuf[0];
      fprintf(stderr, "prof %-22s %9.3f ms  %s [", nd->op_type, now_ms() - t0, nd->name);
      for (int d = 0; d < o0->ndim; d++) fprintf(stderr, "%s%lld", d ? "x" : "", (long long)o0->dims[d]);
      fprintf(stderr, "] act=%d res=%d <-", nd->fuse_act, nd->fuse_res);
      for (int i = 0; i < nd->nin && i < 3; i++) {
        fprintf(stderr, " [");
        for (int d = 0; inbuf[i] && d < inbuf[i]->ndim; d++) fprintf(stderr, "%s%lld", d ? "x" : "", (long long)inbuf[i]->dims[d]);
        fprintf(stderr, "]");
      }
      fprintf(stderr, "\n");
    }
    for (int o = 0; o < nslots; o++) if (o >= nd->nout || nd->out[o] < 0) wm_onnx_tensor_free(&scratch[o]);
    for (int o = 0; o < nd->nout; o++) {
      if (nd->out[o] < 0) continue;
      onnx_value *v = &m->values[nd->out[o]];
      if (v->rt.flags & WM_ONNX_TENSOR_SLOT) memset(&v->rt, 0, sizeof v->rt); /* never taken: unset, as before */
      if (m->arena_state == 1 && !cs) { /* recording: what the kernel allocated (a heap tensor of its own) */
        v->rec_size = v->kind == VAL_INTERMEDIATE && !v->is_output && !m->subs[idx] && (v->rt.flags & WM_ONNX_TENSOR_OWNED)
                          ? v->rt.nbytes : 0;
        v->rec_alias = -1;
        for (int i = 0; v->rec_size && i < nd->nin && i < 64; i++) /* a dying input's buffer, taken (Reshape...) */
          if (nd->in[i] >= 0 && in_data[i] && in_data[i] == v->rt.data && m->values[nd->in[i]].rec_size)
            v->rec_alias = nd->in[i];
      }
    }
    if (cs) {
      set_err(err, errlen, "node '%s' (%s): %s", nd->name, nd->op_type, kerr);
      st = cs;
      break;
    }
    for (int i = 0; i < nd->nin + m->nimplicit[idx]; i++) {
      int id = i < nd->nin ? nd->in[i] : m->implicit[idx][i - nd->nin];
      if (id >= 0 && m->values[id].last_use == p && !m->values[id].is_output && m->values[id].kind == VAL_INTERMEDIATE)
        wm_onnx_tensor_free(&m->values[id].rt);
    }
  }
  return st;
}

/* Moves (or copies, when borrowed) the graph outputs into caller-owned tensors. */
static wm_onnx_status take_outputs(wm_onnx_model *m, wm_onnx_tensor *outputs, int noutputs) {
  for (int i = 0; i < noutputs; i++) {
    value *v = &m->values[m->output_ids[i]];
    outputs[i] = v->rt;
    if (v->rt.flags & WM_ONNX_TENSOR_OWNED) {
      memset(&v->rt, 0, sizeof v->rt);
      continue;
    }
    /* an input, initializer or outer value exported directly: give the caller its own copy */
    outputs[i].data = malloc(v->rt.nbytes ? v->rt.nbytes : 1);
    if (!outputs[i].data) {
      for (int j = 0; j < i; j++) wm_onnx_tensor_free(&outputs[j]);
      memset(&outputs[i], 0, sizeof outputs[i]);
      return WM_ONNX_ERR_NOMEM;
    }
    if (v->rt.nbytes) memcpy(outputs[i].data, v->rt.data, v->rt.nbytes);
    outputs[i].flags = WM_ONNX_TENSOR_OWNED;
  }
  return WM_ONNX_OK;
}

/* Runs subgraph s with args bound to its inputs; outs receives all of its outputs (owned). */
static wm_onnx_status run_sub(wm_onnx_model *s, const wm_onnx_tensor *const *args, int nargs, wm_onnx_tensor *outs,
                              char *err, size_t errlen) {
  onnx_graph *g = s->ir.graph;
  if (nargs != g->ninputs) {
    set_err(err, errlen, "subgraph takes %d inputs, %d given", g->ninputs, nargs);
    return WM_ONNX_ERR_INVALID;
  }
  reset_runtime(s);
  for (int i = 0; i < s->nvalues; i++)
    if (s->values[i].kind == VAL_INIT) s->values[i].rt = s->values[i].init, s->values[i].rt.flags = 0;
  for (int i = 0; i < s->nouter; i++) {
    s->values[s->outer_local[i]].rt = s->parent->values[s->outer_parent[i]].rt;
    s->values[s->outer_local[i]].rt.flags = 0; /* borrowed from the enclosing graph */
  }
  for (int i = 0; i < nargs; i++) {
    s->values[s->input_ids[i]].rt = *args[i];
    s->values[s->input_ids[i]].rt.flags = 0;
  }
  wm_onnx_status st = exec_graph(s, err, errlen);
  if (st == WM_ONNX_OK) st = take_outputs(s, outs, g->noutputs);
  reset_runtime(s);
  return st;
}

static int scalar_true(const wm_onnx_tensor *t) { return t && wm_onnx_numel(t) > 0 && t->data && tget_i64(t, 0) != 0; }

static void move_into(wm_onnx_tensor *dst, wm_onnx_tensor *src) {
  wm_onnx_tensor_free(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

static wm_onnx_status run_if(wm_onnx_model *m, int n, const wm_onnx_tensor **in, wm_onnx_tensor **out, char *err,
                             size_t errlen) {
  onnx_node *nd = &m->ir.graph->nodes[n];
  if (nd->nin < 1 || !in[0] || wm_onnx_numel(in[0]) < 1) {
    set_err(err, errlen, "missing condition");
    return WM_ONNX_ERR_RUNTIME;
  }
  const char *br = scalar_true(in[0]) ? "then_branch" : "else_branch";
  wm_onnx_model *s = onnx_plan_sub(m, n, br);
  if (!s || s->ir.graph->noutputs < nd->nout) {
    set_err(err, errlen, "%s missing or has fewer outputs than the node", br);
    return WM_ONNX_ERR_INVALID;
  }
  int ns = s->ir.graph->noutputs;
  wm_onnx_tensor *outs = calloc((size_t)ns + 1, sizeof *outs);
  if (!outs) { set_err(err, errlen, "out of memory"); return WM_ONNX_ERR_NOMEM; }
  wm_onnx_status st = run_sub(s, NULL, 0, outs, err, errlen);
  if (st == WM_ONNX_OK)
    for (int o = 0; o < nd->nout; o++) move_into(out[o], &outs[o]);
  for (int o = 0; o < ns; o++) wm_onnx_tensor_free(&outs[o]);
  free(outs);
  return st;
}

/* A growing stack of equally shaped per-iteration tensors (Loop/Scan outputs). */
typedef struct stack_acc {
  wm_onnx_tensor first; /* shape/type of the first element (data unused) */
  unsigned char *buf;
  size_t len, cap;
  int64_t count;
} stack_acc;

static int acc_push(stack_acc *a, const wm_onnx_tensor *t, char *err, size_t errlen) {
  if (a->count == 0) {
    a->first = *t;
    a->first.data = NULL;
    a->first.flags = 0;
  } else {
    int same = a->first.dtype == t->dtype && a->first.ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = a->first.dims[d] == t->dims[d];
    if (!same) { set_err(err, errlen, "scan output changes shape or type between iterations"); return -1; }
  }
  if (a->first.ndim >= WM_ONNX_MAX_DIMS) { set_err(err, errlen, "scan output rank too large"); return -1; }
  if ((uint64_t)a->len + t->nbytes > ((uint64_t)1 << 32) || a->len + t->nbytes < a->len) { /* 32-bit hosts too */
    set_err(err, errlen, "scan output exceeds 4 GiB");
    return -1;
  }
  if (a->len + t->nbytes > a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 256;
    while (nc < a->len + t->nbytes) nc = nc > SIZE_MAX / 2 ? a->len + t->nbytes : nc * 2;
    unsigned char *nb = realloc(a->buf, nc);
    if (!nb) { set_err(err, errlen, "out of memory"); return -1; }
    a->buf = nb;
    a->cap = nc;
  }
  if (t->nbytes) memcpy(a->buf + a->len, t->data, t->nbytes);
  a->len += t->nbytes;
  a->count++;
  return 0;
}

/* Stacks the elements along axis (0 = new leading dimension); reversed when rev. elem: what inference knows of
 * an element, the only source of its shape when no iteration ran. */
static int acc_finish(stack_acc *a, int axis, int rev, const onnx_vtype *elem, wm_onnx_tensor *dst, char *err,
                      size_t errlen) {
  wm_onnx_tensor t;
  memset(&t, 0, sizeof t);
  if (a->count == 0) { /* no iterations: [0, element dims...] when inference knows them, else [0] */
    int known = elem->ndim >= 0 && elem->ndim < WM_ONNX_MAX_DIMS && axis >= -elem->ndim - 1 && axis <= elem->ndim;
    for (int d = 0; known && d < elem->ndim; d++) known = !ONNX_IS_SYM(elem->dims[d]);
    if (axis < 0) axis += known ? elem->ndim + 1 : 1;
    t.dtype = elem->dtype ? (wm_onnx_dtype)elem->dtype : WM_ONNX_FLOAT;
    t.ndim = known ? elem->ndim + 1 : 1;
    for (int d = 0, s = 0; known && d < t.ndim; d++) t.dims[d] = d == axis ? 0 : elem->dims[s++];
    t.data = malloc(1);
    if (!t.data) { set_err(err, errlen, "out of memory"); return -1; }
    t.flags = WM_ONNX_TENSOR_OWNED;
    wm_onnx_tensor_free(dst);
    *dst = t;
    return 0;
  }
  int er = a->first.ndim;
  if (axis < 0) axis += er + 1;
  if (axis < 0 || axis > er) { set_err(err, errlen, "scan output axis out of range"); return -1; }
  t.dtype = a->first.dtype;
  t.ndim = er + 1;
  for (int d = 0, s = 0; d < t.ndim; d++) t.dims[d] = d == axis ? a->count : a->first.dims[s++];
  t.nbytes = a->len;
  t.data = malloc(a->len ? a->len : 1);
  if (!t.data) { set_err(err, errlen, "out of memory"); return -1; }
  t.flags = WM_ONNX_TENSOR_OWNED;
  size_t es = wm_onnx_dtype_size(t.dtype), ebytes = a->len / (size_t)a->count;
  size_t outer = 1, inner;
  for (int d = 0; d < axis; d++) outer *= (size_t)a->first.dims[d];
  inner = outer ? ebytes / outer : 0;
  (void)es;
  for (int64_t i = 0; i < a->count; i++) {
    int64_t pos = rev ? a->count - 1 - i : i;
    for (size_t o = 0; o < outer; o++)
      memcpy((unsigned char *)t.data + (o * (size_t)a->count + (size_t)pos) * inner, a->buf + (size_t)i * ebytes + o * inner,
             inner);
  }
  wm_onnx_tensor_free(dst);
  *dst = t;
  return 0;
}

static wm_onnx_status run_loop(wm_onnx_model *m, int n, const wm_onnx_tensor **in, wm_onnx_tensor **out, char *err,
                               size_t errlen) {
  onnx_node *nd = &m->ir.graph->nodes[n];
  wm_onnx_model *body = onnx_plan_sub(m, n, "body");
  int N = nd->nin - 2;
  if (!body || N < 0 || body->ir.graph->ninputs != N + 2 || body->ir.graph->noutputs < N + 1) {
    set_err(err, errlen, "body does not match the node's loop-carried values");
    return WM_ONNX_ERR_INVALID;
  }
  int K = body->ir.graph->noutputs - 1 - N, nb = body->ir.graph->noutputs;
  if (nd->nout > N + K) {
    set_err(err, errlen, "node has more outputs than the body produces");
    return WM_ONNX_ERR_INVALID;
  }
  for (int i = 0; i < N; i++)
    if (!in[2 + i]) {
      set_err(err, errlen, "loop-carried input %d is missing", i);
      return WM_ONNX_ERR_UNSUPPORTED;
    }
  int64_t trip = in[0] && wm_onnx_numel(in[0]) > 0 ? tget_i64(in[0], 0) : INT64_MAX;
  int cond = in[1] ? scalar_true(in[1]) : 1;
  wm_onnx_tensor *carried = calloc((size_t)N + 1, sizeof *carried), *outs = calloc((size_t)nb + 1, sizeof *outs);
  const wm_onnx_tensor **args = calloc((size_t)N + 3, sizeof *args);
  stack_acc *acc = calloc((size_t)K + 1, sizeof *acc);
  wm_onnx_status st = WM_ONNX_OK;
  if (!carried || !outs || !args || !acc) { set_err(err, errlen, "out of memory"); st = WM_ONNX_ERR_NOMEM; goto done; }
  for (int i = 0; i < N; i++) { carried[i] = *in[2 + i]; carried[i].flags = 0; }
  int64_t iter = 0;
  unsigned char cval = 1;
  wm_onnx_tensor it_t, cond_t;
  memset(&it_t, 0, sizeof it_t);
  memset(&cond_t, 0, sizeof cond_t);
  it_t.dtype = WM_ONNX_INT64; it_t.data = &iter; it_t.nbytes = sizeof iter;
  cond_t.dtype = WM_ONNX_BOOL; cond_t.data = &cval; cond_t.nbytes = 1;
  args[0] = &it_t;
  args[1] = &cond_t;
  for (; iter < trip && cond; iter++) {
    if (stop_requested(m)) {
      set_err(err, errlen, "cancelled at iteration %lld", (long long)iter);
      st = WM_ONNX_ERR_CANCELLED;
      break;
    }
    cval = (unsigned char)cond;
    for (int i = 0; i < N; i++) args[2 + i] = &carried[i];
    st = run_sub(body, args, N + 2, outs, err, errlen);
    if (st) break;
    cond = scalar_true(&outs[0]);
    for (int i = 0; i < N; i++) move_into(&carried[i], &outs[1 + i]);
    for (int k = 0; k < K && st == WM_ONNX_OK; k++)
      if (acc_push(&acc[k], &outs[1 + N + k], err, errlen)) st = WM_ONNX_ERR_RUNTIME;
    for (int o = 0; o < nb; o++) wm_onnx_tensor_free(&outs[o]);
    if (st) break;
  }
  for (int o = 0; st == WM_ONNX_OK && o < nd->nout; o++) {
    if (o < N) {
      if (!(carried[o].flags & WM_ONNX_TENSOR_OWNED)) { /* zero iterations: still the borrowed initial value */
        wm_onnx_tensor c = carried[o];
        c.data = malloc(c.nbytes ? c.nbytes : 1);
        if (!c.data) { set_err(err, errlen, "out of memory"); st = WM_ONNX_ERR_NOMEM; break; }
        if (c.nbytes) memcpy(c.data, carried[o].data, c.nbytes);
        c.flags = WM_ONNX_TENSOR_OWNED;
        carried[o] = c;
      }
      move_into(out[o], &carried[o]);
    } else {
      if (acc_finish(&acc[o - N], 0, 0, onnx_vtype_of(body, body->output_ids[o + 1]), out[o], err, errlen))
        st = WM_ONNX_ERR_RUNTIME;
    }
  }
done:
  for (int i = 0; carried && i < N; i++) wm_onnx_tensor_free(&carried[i]);
  for (int k = 0; acc && k < K; k++) free(acc[k].buf);
  free(carried);
  free(outs);
  free(args);
  free(acc);
  return st;
}

static wm_onnx_status run_scan(wm_onnx_model *m, int n, const wm_onnx_tensor **in, wm_onnx_tensor **out, char *err,
                               size_t errlen) {
  onnx_node *nd = &m->ir.graph->nodes[n];
  if (nd->opset < 9) {
    set_err(err, errlen, "Scan before opset 9 (batched, with sequence_lens) is not supported");
    return WM_ONNX_ERR_UNSUPPORTED;
  }
  wm_onnx_model *body = onnx_plan_sub(m, n, "body");
  int M = (int)attr_int(nd, "num_scan_inputs", 0), N = nd->nin - M;
  if (!body || M < 1 || N < 0 || body->ir.graph->ninputs != N + M || body->ir.graph->noutputs < N) {
    set_err(err, errlen, "body does not match num_scan_inputs and the state variables");
    return WM_ONNX_ERR_INVALID;
  }
  int K = body->ir.graph->noutputs - N, nb = body->ir.graph->noutputs;
  size_t c;
  const int64_t *iax = attr_ints(nd, "scan_input_axes", &c);
  if (iax && (int)c != M) iax = NULL;
  const int64_t *idir = attr_ints(nd, "scan_input_directions", &c);
  if (idir && (int)c != M) idir = NULL;
  const int64_t *oax = attr_ints(nd, "scan_output_axes", &c);
  if (oax && (int)c != K) oax = NULL;
  const int64_t *odir = attr_ints(nd, "scan_output_directions", &c);
  if (odir && (int)c != K) odir = NULL;
  int64_t L = -1;
  int axes[64];
  for (int j = 0; j < M; j++) {
    const wm_onnx_tensor *x = in[N + j];
    if (!x) { set_err(err, errlen, "scan input %d is missing", j); return WM_ONNX_ERR_INVALID; }
    int ax = (int)(iax ? iax[j] : 0);
    if (ax < 0) ax += x->ndim;
    if (ax < 0 || ax >= x->ndim || j >= 64) { set_err(err, errlen, "scan input axis out of range"); return WM_ONNX_ERR_INVALID; }
    axes[j] = ax;
    if (L >= 0 && x->dims[ax] != L) { set_err(err, errlen, "scan inputs differ in sequence length"); return WM_ONNX_ERR_INVALID; }
    L = x->dims[ax];
  }
  for (int i = 0; i < N; i++)
    if (!in[i]) { set_err(err, errlen, "state input %d is missing", i); return WM_ONNX_ERR_INVALID; }
  wm_onnx_tensor *state = calloc((size_t)N + 1, sizeof *state), *outs = calloc((size_t)nb + 1, sizeof *outs);
  wm_onnx_tensor *slices = calloc((size_t)M + 1, sizeof *slices);
  const wm_onnx_tensor **args = calloc((size_t)(N + M) + 1, sizeof *args);
  stack_acc *acc = calloc((size_t)K + 1, sizeof *acc);
  wm_onnx_status st = WM_ONNX_OK;
  if (!state || !outs || !slices || !args || !acc) { set_err(err, errlen, "out of memory"); st = WM_ONNX_ERR_NOMEM; goto done; }
  for (int i = 0; i < N; i++) { state[i] = *in[i]; state[i].flags = 0; }
  for (int64_t t = 0; t < L && st == WM_ONNX_OK; t++) {
    if (stop_requested(m)) {
      set_err(err, errlen, "cancelled at iteration %lld", (long long)t);
      st = WM_ONNX_ERR_CANCELLED;
      break;
    }
    for (int j = 0; j < M; j++) { /* slice t of scan input j along its axis */
      const wm_onnx_tensor *x = in[N + j];
      int ax = axes[j];
      int64_t pos = idir && idir[j] ? L - 1 - t : t;
      wm_onnx_tensor *sl = &slices[j];
      wm_onnx_tensor_free(sl);
      sl->dtype = x->dtype;
      sl->ndim = x->ndim - 1;
      for (int d = 0, s = 0; d < x->ndim; d++) if (d != ax) sl->dims[s++] = x->dims[d];
      size_t es = wm_onnx_dtype_size(x->dtype), outer = 1, inner = es;
      for (int d = 0; d < ax; d++) outer *= (size_t)x->dims[d];
      for (int d = ax + 1; d < x->ndim; d++) inner *= (size_t)x->dims[d];
      sl->nbytes = outer * inner;
      sl->data = malloc(sl->nbytes ? sl->nbytes : 1);
      if (!sl->data) { set_err(err, errlen, "out of memory"); st = WM_ONNX_ERR_NOMEM; break; }
      sl->flags = WM_ONNX_TENSOR_OWNED;
      for (size_t o = 0; o < outer; o++)
        memcpy((unsigned char *)sl->data + o * inner, (const unsigned char *)x->data + (o * (size_t)L + (size_t)pos) * inner,
               inner);
    }
    if (st) break;
    for (int i = 0; i < N; i++) args[i] = &state[i];
    for (int j = 0; j < M; j++) args[N + j] = &slices[j];
    st = run_sub(body, args, N + M, outs, err, errlen);
    if (st) break;
    for (int i = 0; i < N; i++) move_into(&state[i], &outs[i]);
    for (int k = 0; k < K && st == WM_ONNX_OK; k++)
      if (acc_push(&acc[k], &outs[N + k], err, errlen)) st = WM_ONNX_ERR_RUNTIME;
    for (int o = 0; o < nb; o++) wm_onnx_tensor_free(&outs[o]);
  }
  for (int o = 0; st == WM_ONNX_OK && o < nd->nout; o++) {
    if (o < N) {
      if (!(state[o].flags & WM_ONNX_TENSOR_OWNED)) {
        wm_onnx_tensor c2 = state[o];
        c2.data = malloc(c2.nbytes ? c2.nbytes : 1);
        if (!c2.data) { set_err(err, errlen, "out of memory"); st = WM_ONNX_ERR_NOMEM; break; }
        if (c2.nbytes) memcpy(c2.data, state[o].data, c2.nbytes);
        c2.flags = WM_ONNX_TENSOR_OWNED;
        state[o] = c2;
      }
      move_into(out[o], &state[o]);
    } else {
      int k = o - N;
      if (acc_finish(&acc[k], (int)(oax ? oax[k] : 0), odir && odir[k], onnx_vtype_of(body, body->output_ids[o]), out[o],
                     err, errlen))
        st = WM_ONNX_ERR_RUNTIME;
    }
  }
done:
  for (int i = 0; state && i < N; i++) wm_onnx_tensor_free(&state[i]);
  for (int j = 0; slices && j < M; j++) wm_onnx_tensor_free(&slices[j]);
  for (int k = 0; acc && k < K; k++) free(acc[k].buf);
  free(state);
  free(outs);
  free(slices);
  free(args);
  free(acc);
  return st;
}

static wm_onnx_status run_control(wm_onnx_model *m, int n, const wm_onnx_tensor **in, wm_onnx_tensor **out, char *err,
                                  size_t errlen) {
  const char *op = m->ir.graph->nodes[n].op_type;
  if (!strcmp(op, "If")) return run_if(m, n, in, out, err, errlen);
  if (!strcmp(op, "Loop")) return run_loop(m, n, in, out, err, errlen);
  return run_scan(m, n, in, out, err, errlen);
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
    if (t->ndim < 0 || t->ndim > WM_ONNX_MAX_DIMS) {
      set_err(err, errlen, "input '%s': rank %d is out of range", vi->name, t->ndim);
      return WM_ONNX_ERR_INVALID;
    }
    int fits = vi->ndim < 0 || t->ndim == vi->ndim;
    for (int d = 0; fits && vi->ndim >= 0 && d < vi->ndim; d++) fits = vi->dims[d] < 0 || vi->dims[d] == t->dims[d];
    if (!fits) { /* what load-time inference assumed of this input: reject it here, not deep inside a kernel */
      char want[160], got[160];
      onnx_format_dims(m, vi->ndim, onnx_vtype_of(m, m->input_ids[i])->dims, want, sizeof want);
      onnx_format_dims(m, t->ndim, t->dims, got, sizeof got);
      set_err(err, errlen, "input '%s': shape %s does not match the model's %s", vi->name, got, want);
      return WM_ONNX_ERR_INVALID;
    }
    if (t->nbytes != (size_t)wm_onnx_numel(t) * wm_onnx_dtype_size(t->dtype) || (!t->data && t->nbytes)) {
      set_err(err, errlen, "input '%s': data size %zu does not match its shape", vi->name, t->nbytes);
      return WM_ONNX_ERR_INVALID;
    }
    v->rt = *t;
    v->rt.flags = 0; /* borrowed from the caller */
  }
  if (check_enabled()) {
    free(m->symval);
    if (!(m->symval = malloc(((size_t)m->nsyms + 1) * sizeof *m->symval))) return WM_ONNX_ERR_NOMEM;
    for (int i = 0; i < m->nsyms; i++) m->symval[i] = INT64_MIN;
  }
  arena_begin(m);
  wm_onnx_status st = exec_graph(m, err, errlen);
  if (st == WM_ONNX_OK) st = take_outputs(m, outputs, noutputs);
  reset_runtime(m);
  if (m->arena_state == 1) {
    if (st == WM_ONNX_OK) plan_arena(m);
    m->arena_state = st == WM_ONNX_OK && m->arena ? 2 : 0;
  }
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
