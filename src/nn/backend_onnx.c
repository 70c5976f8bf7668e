/* backend_onnx.c — WASI-NN backend over wasmind's built-in ONNX engine (src/onnx/onnx.h).
 * wasi-nn input index i means the i-th graph input that has no initializer (the tensors a caller must feed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "../onnx/onnx.h"

typedef struct onnx_graph {
    wm_onnx_model *m;
    void *copy;          /* model bytes copied out of guest memory (NULL when the file is mapped) */
    int nin, nout;       /* all graph inputs / outputs */
    int nreq;            /* inputs without a default */
    int *req;            /* wasi-nn index -> graph input index */
} onnx_graph;

typedef struct onnx_ctx {
    onnx_graph *g;
    wm_onnx_tensor *in;  /* nin slots; data == NULL = not given (defaults keep the initializer) */
    wm_onnx_tensor *out; /* nout slots */
    bool computed;
} onnx_ctx;

static wm_nn_errno map_status(wm_onnx_status st) {
    switch (st) {
    case WM_ONNX_OK: return WM_NN_SUCCESS;
    case WM_ONNX_ERR_UNSUPPORTED: return WM_NN_UNSUPPORTED_OPERATION;
    case WM_ONNX_ERR_INVALID: return WM_NN_INVALID_ARGUMENT;
    case WM_ONNX_ERR_NOMEM: return WM_NN_TOO_LARGE;
    case WM_ONNX_ERR_PARSE: return WM_NN_INVALID_ARGUMENT;
    default: return WM_NN_RUNTIME_ERROR;
    }
}

/* ModelProto starts with a protobuf tag; exporters write ir_version (field 1, varint) first. Accept any
 * small ModelProto field number with a varint or length-delimited wire type. */
static bool onnx_detect(const uint8_t *buf, size_t len) {
    if (len < 2) return false;
    if (len >= 4 && !memcmp(buf, "GGUF", 4)) return false;
    if (len >= 8 && !memcmp(buf + 4, "TFL3", 4)) return false;
    unsigned field = buf[0] >> 3, wt = buf[0] & 7;
    return field >= 1 && field <= 14 && (wt == 0 || wt == 2);
}

static wm_nn_errno finish_graph(wm_onnx_model *m, void *copy, void **out, char *err, size_t errlen) {
    onnx_graph *g = calloc(1, sizeof *g);
    int nin = wm_onnx_num_inputs(m);
    int *req = calloc((size_t)nin + 1, sizeof *req);
    if (!g || !req) {
        free(g); free(req); wm_onnx_free(m); free(copy);
        snprintf(err, errlen, "out of memory");
        return WM_NN_TOO_LARGE;
    }
    g->m = m; g->copy = copy; g->nin = nin; g->nout = wm_onnx_num_outputs(m); g->req = req;
    for (int i = 0; i < nin; i++)
        if (!wm_onnx_input_has_default(m, i)) req[g->nreq++] = i;
    *out = g;
    return WM_NN_SUCCESS;
}

static wm_nn_errno check_target(wm_nn_target target, char *err, size_t errlen) {
    if (target == WM_NN_CPU || target == WM_NN_AUTO) return WM_NN_SUCCESS;
    snprintf(err, errlen, "execution target %s is not supported: the built-in ONNX engine runs on the CPU only",
             target == WM_NN_GPU ? "gpu" : "tpu");
    return WM_NN_UNSUPPORTED_OPERATION;
}

static wm_nn_errno onnx_load(const wm_nn_bytes *b, uint32_t n, wm_nn_target target, void **graph, char *err,
                             size_t errlen) {
    wm_nn_errno e = check_target(target, err, errlen);
    if (e) return e;
    if (n != 1) {
        snprintf(err, errlen, "ONNX takes exactly one graph builder (the .onnx bytes), got %u", n);
        return WM_NN_INVALID_ARGUMENT;
    }
    /* The engine keeps pointers into the buffer, and guest memory can move or be rewritten: copy. */
    void *copy = malloc(b[0].len ? b[0].len : 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory copying a %zu-byte model", b[0].len);
        return WM_NN_TOO_LARGE;
    }
    if (b[0].len) memcpy(copy, b[0].ptr, b[0].len);
    wm_onnx_model *m;
    /* base_dir NULL: a guest-supplied model must not make the host open external-data files */
    wm_onnx_status st = wm_onnx_load_buffer(copy, b[0].len, NULL, &m, err, errlen);
    if (st) {
        free(copy);
        return map_status(st);
    }
    return finish_graph(m, copy, graph, err, errlen);
}

static wm_nn_errno onnx_load_files(const char *const *paths, uint32_t n, wm_nn_target target, void **graph,
                                   char *err, size_t errlen) {
    wm_nn_errno e = check_target(target, err, errlen);
    if (e) return e;
    if (n != 1) {
        snprintf(err, errlen, "ONNX takes exactly one model file, got %u", n);
        return WM_NN_INVALID_ARGUMENT;
    }
    wm_onnx_model *m;
    wm_onnx_status st = wm_onnx_load_file(paths[0], &m, err, errlen);   /* mmap'ed, weights not copied */
    if (st) return st == WM_ONNX_ERR_IO ? WM_NN_NOT_FOUND : map_status(st);
    return finish_graph(m, NULL, graph, err, errlen);
}

static void onnx_graph_free(void *p) {
    onnx_graph *g = p;
    if (!g) return;
    wm_onnx_free(g->m);
    free(g->copy);
    free(g->req);
    free(g);
}

static wm_nn_errno onnx_init_context(void *graph, void **out, char *err, size_t errlen) {
    onnx_graph *g = graph;
    onnx_ctx *c = calloc(1, sizeof *c);
    if (c) {
        c->g = g;
        c->in = calloc((size_t)g->nin + 1, sizeof *c->in);
        c->out = calloc((size_t)g->nout + 1, sizeof *c->out);
    }
    if (!c || !c->in || !c->out) {
        if (c) { free(c->in); free(c->out); free(c); }
        snprintf(err, errlen, "out of memory");
        return WM_NN_TOO_LARGE;
    }
    *out = c;
    return WM_NN_SUCCESS;
}

static void free_outputs(onnx_ctx *c) {
    for (int i = 0; i < c->g->nout; i++) wm_onnx_tensor_free(&c->out[i]);
    c->computed = false;
}

static void onnx_context_free(void *p) {
    onnx_ctx *c = p;
    if (!c) return;
    for (int i = 0; i < c->g->nin; i++) wm_onnx_tensor_free(&c->in[i]);
    free_outputs(c);
    free(c->in);
    free(c->out);
    free(c);
}

static wm_onnx_dtype onnx_type(wm_nn_type t) {
    switch (t) {
    case WM_NN_F16: return WM_ONNX_FLOAT16;
    case WM_NN_F32: return WM_ONNX_FLOAT;
    case WM_NN_F64: return WM_ONNX_DOUBLE;
    case WM_NN_U8: return WM_ONNX_UINT8;
    case WM_NN_I32: return WM_ONNX_INT32;
    case WM_NN_I64: return WM_ONNX_INT64;
    }
    return WM_ONNX_UNDEFINED;
}

static wm_nn_errno onnx_set_input(void *ctx, uint32_t index, const wm_nn_tensor *t, char *err, size_t errlen) {
    onnx_ctx *c = ctx;
    onnx_graph *g = c->g;
    if (index >= (uint32_t)g->nreq) {
        snprintf(err, errlen, "input index %u out of range: the model takes %d input%s", index, g->nreq,
                 g->nreq == 1 ? "" : "s");
        return WM_NN_INVALID_ARGUMENT;
    }
    int gi = g->req[index];
    const char *name = wm_onnx_input_name(g->m, gi);
    wm_onnx_dtype want, have = onnx_type(t->type);
    int64_t dims[WM_ONNX_MAX_DIMS];
    int nd = wm_onnx_input_info(g->m, gi, &want, dims);
    if (t->ndim > WM_ONNX_MAX_DIMS) {
        snprintf(err, errlen, "input '%s': rank %u exceeds %d", name, t->ndim, WM_ONNX_MAX_DIMS);
        return WM_NN_INVALID_ARGUMENT;
    }
    if (want != WM_ONNX_UNDEFINED && want != have) {
        /* wasi-nn has no bool/int8 type: u8 bytes stand in for any 1-byte element type */
        if (!(t->type == WM_NN_U8 && wm_onnx_dtype_size(want) == 1 && want != WM_ONNX_STRING)) {
            snprintf(err, errlen, "input '%s' expects %s, got %s", name, wm_onnx_dtype_name(want),
                     wm_onnx_dtype_name(have));
            return WM_NN_INVALID_ARGUMENT;
        }
        have = want;
    }
    if (nd >= 0) {
        bool ok = (uint32_t)nd == t->ndim;
        for (int d = 0; ok && d < nd; d++) ok = dims[d] < 0 || dims[d] == (int64_t)t->dims[d];
        if (!ok) {
            char a[160] = "", b[160] = "";
            for (int d = 0; d < nd; d++)
                snprintf(a + strlen(a), sizeof a - strlen(a), d ? "x%lld" : "%lld", (long long)dims[d]);
            for (uint32_t d = 0; d < t->ndim; d++)
                snprintf(b + strlen(b), sizeof b - strlen(b), d ? "x%u" : "%u", t->dims[d]);
            snprintf(err, errlen, "input '%s' expects shape [%s] (-1 = any), got [%s]", name, a, b);
            return WM_NN_INVALID_ARGUMENT;
        }
    }
    void *copy = malloc(t->data.len ? t->data.len : 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory for a %zu-byte input", t->data.len);
        return WM_NN_TOO_LARGE;
    }
    if (t->data.len) memcpy(copy, t->data.ptr, t->data.len);
    wm_onnx_tensor *dst = &c->in[gi];
    wm_onnx_tensor_free(dst);
    memset(dst, 0, sizeof *dst);
    dst->dtype = have;
    dst->ndim = (int)t->ndim;
    for (uint32_t d = 0; d < t->ndim; d++) dst->dims[d] = t->dims[d];
    dst->data = copy;
    dst->nbytes = t->data.len;
    dst->flags = WM_ONNX_TENSOR_OWNED;
    return WM_NN_SUCCESS;
}

static wm_nn_errno onnx_compute(void *ctx, int threads, const wm_nn_cancel *cancel, char *err, size_t errlen) {
    onnx_ctx *c = ctx;
    onnx_graph *g = c->g;
    if (threads > 0) wm_onnx_set_threads(threads);   /* engine-wide setting; calls never overlap */
    for (int i = 0; i < g->nreq; i++)
        if (!c->in[g->req[i]].data) {
            snprintf(err, errlen, "input %d ('%s') has not been set", i, wm_onnx_input_name(g->m, g->req[i]));
            return WM_NN_INVALID_ARGUMENT;
        }
    free_outputs(c);
    /* the model may be shared by several contexts, but calls never overlap: the hook is this call's only */
    wm_onnx_set_cancel(g->m, cancel ? cancel->should_stop : NULL, cancel ? cancel->ctx : NULL);
    wm_onnx_status st = wm_onnx_run(g->m, c->in, g->nin, c->out, g->nout, err, errlen);
    wm_onnx_set_cancel(g->m, NULL, NULL);
    if (st) return map_status(st);
    c->computed = true;
    return WM_NN_SUCCESS;
}

static wm_nn_errno onnx_get_output(void *ctx, uint32_t index, const void **data, size_t *len, char *err,
                                   size_t errlen) {
    onnx_ctx *c = ctx;
    if (index >= (uint32_t)c->g->nout) {
        snprintf(err, errlen, "output index %u out of range: the model has %d output%s", index, c->g->nout,
                 c->g->nout == 1 ? "" : "s");
        return WM_NN_INVALID_ARGUMENT;
    }
    if (!c->computed) {
        snprintf(err, errlen, "get_output before a successful compute");
        return WM_NN_INVALID_ARGUMENT;
    }
    *data = c->out[index].data;
    *len = c->out[index].nbytes;
    return WM_NN_SUCCESS;
}

const wm_nn_backend wm_nn_backend_onnx = {
    .name = "onnx",
    .encoding = WM_NN_ENC_ONNX,
    .detect = onnx_detect,
    .load = onnx_load,
    .load_files = onnx_load_files,
    .graph_free = onnx_graph_free,
    .init_context = onnx_init_context,
    .set_input = onnx_set_input,
    .compute = onnx_compute,
    .get_output = onnx_get_output,
    .context_free = onnx_context_free,
};
