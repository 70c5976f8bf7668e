/* wasi_nn.c — the `wasi_ephemeral_nn` host module: guest ABI (wasi-nn witx + WasmEdge extensions), handle
 * tables, model preloading, and dispatch to the backends of backend.h. Every guest pointer is bounds-checked
 * against the caller's memory; a hostile guest gets an errno, never a host crash or a trap. The one trap: a
 * compute that outlives the guest's deadline (or is interrupted) stops like any runaway guest. */
#define _GNU_SOURCE   /* strndup, strtok_r */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "wasi_nn.h"

#define NN_MODULE "wasi_ephemeral_nn"
#define NN_MAX_BUILDERS 16        /* OpenVINO needs 2, WasmEdge appends a config: anything larger is hostile */
#define NN_MAX_RANK 8
#define NN_MAX_NAME 4096
#define NN_MAX_HANDLES (1u << 24) /* handles are never reused, so bound the tables */

static const wm_nn_backend *const g_backends[] = { &wm_nn_backend_onnx };
#define NBACKENDS (sizeof g_backends / sizeof g_backends[0])

/* A loaded model, shared by graph handles, preload entries and contexts; freed when the last one goes. */
typedef struct nn_graph {
    const wm_nn_backend *be;
    void *g;
    int refs;
} nn_graph;

typedef struct nn_ctx {
    nn_graph *graph;
    void *c;
} nn_ctx;

typedef struct nn_named {
    char *name;
    nn_graph *graph;
} nn_named;

struct wm_wasi_nn {
    nn_named *named;
    int nnamed, capnamed;
    nn_graph **graphs;     /* graph handle -> model; NULL after unload */
    uint32_t ngraphs, capgraphs;
    nn_ctx **ctxs;         /* context handle -> context; NULL after finalize */
    uint32_t nctxs, capctxs;
    int threads;
    bool quiet;
    wm_trap trap;          /* set by a compute the store stopped: dispatch traps instead of returning */
    char err[512];
};

size_t wm_nn_type_size(uint32_t type) {
    switch (type) {
    case WM_NN_U8: return 1;
    case WM_NN_F16: return 2;
    case WM_NN_F32: case WM_NN_I32: return 4;
    case WM_NN_F64: case WM_NN_I64: return 8;
    default: return 0;
    }
}

static const char *encoding_name(uint32_t e) {
    static const char *const names[] = { "openvino", "onnx", "tensorflow", "pytorch", "tensorflowlite",
                                         "autodetect", "ggml" };
    return e < sizeof names / sizeof names[0] ? names[e] : "unknown";
}

static wm_nn_errno fail(wm_wasi_nn *nn, const char *fn, wm_nn_errno e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static wm_nn_errno fail(wm_wasi_nn *nn, const char *fn, wm_nn_errno e, const char *fmt, ...) {
    int n = snprintf(nn->err, sizeof nn->err, "%s: ", fn);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nn->err + n, sizeof nn->err - (size_t)n, fmt, ap);
    va_end(ap);
    /* the guest sees only a number; tell the person running it why */
    if (!nn->quiet) fprintf(stderr, "wasmind: wasi-nn %s\n", nn->err);
    return e;
}

static void graph_unref(nn_graph *g) {
    if (g && --g->refs == 0) {
        g->be->graph_free(g->g);
        free(g);
    }
}

/* ---- guest memory ------------------------------------------------------------------------------------ */

typedef struct gmem { uint8_t *base; uint64_t size; } gmem;

static bool gmem_get(wm_caller *c, gmem *m) {
    wm_memory *mem = wm_caller_memory(c);
    if (!mem) return false;
    m->base = wm_memory_data(mem);
    m->size = wm_memory_size(mem);
    return true;
}
static bool in_bounds(const gmem *m, uint32_t ptr, uint64_t len) { return (uint64_t)ptr + len <= m->size; }
/* A 0-page memory may have no data pointer at all; never do arithmetic on NULL. */
static uint8_t *gptr(const gmem *m, uint32_t ptr) { return m->base ? m->base + ptr : NULL; }
/* Guest memory is little-endian and unaligned: assemble bytes instead of casting. */
static uint32_t rd32(const gmem *m, uint32_t p) {
    const uint8_t *b = m->base + p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void wr32(const gmem *m, uint32_t p, uint32_t v) {
    uint8_t *b = m->base + p;
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}

#define NEED_MEM(fn, m)                                                                                       \
    if (!gmem_get(caller, &m))                                                                                \
        return fail(nn, fn, WM_NN_MISSING_MEMORY, "the calling module has no linear memory")
#define NEED_RANGE(fn, m, ptr, len, what)                                                                     \
    if (!in_bounds(&m, ptr, len))                                                                             \
        return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "%s [%u, +%llu) is outside guest memory (%llu bytes)",   \
                    what, (unsigned)(ptr), (unsigned long long)(len), (unsigned long long)m.size)

/* ---- handle tables -------------------------------------------------------------------------------------- */

static bool push_ptr(void ***arr, uint32_t *n, uint32_t *cap, void *p) {
    if (*n >= NN_MAX_HANDLES) return false;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 16;
        void **na = realloc(*arr, (size_t)nc * sizeof *na);
        if (!na) return false;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = p;
    return true;
}

/* Gives g a new graph handle (taking one reference) and stores it at out_ptr. */
static wm_nn_errno new_graph_handle(wm_wasi_nn *nn, const char *fn, wm_caller *caller, nn_graph *g,
                                    uint32_t out_ptr) {
    gmem m;
    NEED_MEM(fn, m);
    NEED_RANGE(fn, m, out_ptr, 4, "graph out-pointer");
    uint32_t h = nn->ngraphs;
    if (!push_ptr((void ***)&nn->graphs, &nn->ngraphs, &nn->capgraphs, g))
        return fail(nn, fn, WM_NN_TOO_LARGE, "too many graph handles");
    g->refs++;
    wr32(&m, out_ptr, h);
    return WM_NN_SUCCESS;
}

static nn_graph *graph_of(wm_wasi_nn *nn, uint32_t h) { return h < nn->ngraphs ? nn->graphs[h] : NULL; }
static nn_ctx *ctx_of(wm_wasi_nn *nn, uint32_t h) { return h < nn->nctxs ? nn->ctxs[h] : NULL; }

/* ---- backend selection ------------------------------------------------------------------------------------ */

static const wm_nn_backend *backend_for(wm_wasi_nn *nn, const char *fn, uint32_t enc, const uint8_t *head,
                                        size_t len, wm_nn_errno *e) {
    if (enc == WM_NN_ENC_AUTODETECT || enc == WM_NN_ENC_GGML) {
        /* 5 is autodetect in witx but ggml in WAMR; 6 the reverse: let the bytes decide */
        for (size_t i = 0; i < NBACKENDS; i++)
            if (g_backends[i]->detect && g_backends[i]->detect(head, len)) return g_backends[i];
        if (len >= 4 && !memcmp(head, "GGUF", 4))
            *e = fail(nn, fn, WM_NN_INVALID_ENCODING, "GGUF (ggml) models need a llama.cpp backend, which this "
                      "build does not have (available: onnx)");
        else if (len >= 8 && !memcmp(head + 4, "TFL3", 4))
            *e = fail(nn, fn, WM_NN_INVALID_ENCODING, "TensorFlow Lite models are not supported by this build "
                      "(available: onnx)");
        else
            *e = fail(nn, fn, WM_NN_INVALID_ENCODING, "could not detect the model format (encoding %u); "
                      "this build reads ONNX", enc);
        return NULL;
    }
    for (size_t i = 0; i < NBACKENDS; i++)
        if ((uint32_t)g_backends[i]->encoding == enc) return g_backends[i];
    *e = fail(nn, fn, WM_NN_INVALID_ENCODING, "graph encoding %u (%s) is not supported by this build "
              "(available: onnx = 1, autodetect = 5)", enc, encoding_name(enc));
    return NULL;
}

static wm_nn_errno check_target(wm_wasi_nn *nn, const char *fn, uint32_t target) {
    if (target == WM_NN_CPU || target == WM_NN_AUTO) return WM_NN_SUCCESS;   /* 3 = AUTO of the Rust crate */
    if (target == WM_NN_GPU || target == WM_NN_TPU)
        return fail(nn, fn, WM_NN_UNSUPPORTED_OPERATION, "execution target %s is not supported: wasmind runs "
                    "models on the CPU (use target cpu = 0)", target == WM_NN_GPU ? "gpu" : "tpu");
    return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "unknown execution target %u", target);
}

/* ---- host functions ------------------------------------------------------------------------------------------ */

#define HOST(name) static wm_nn_errno name(wm_wasi_nn *nn, wm_caller *caller, const wm_val *a)
#define U(i) ((uint32_t)a[i].of.i32)

/* load(builder_ptr, builder_len, encoding, target, graph_out) */
HOST(nn_load) {
    const char *fn = "load";
    uint32_t bptr = U(0), n = U(1), enc = U(2), target = U(3), out = U(4);
    gmem m;
    NEED_MEM(fn, m);
    if (n == 0 || n > NN_MAX_BUILDERS)
        return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "%u graph builders (expected 1..%d)", n, NN_MAX_BUILDERS);
    NEED_RANGE(fn, m, bptr, 8ull * n, "graph builder array");
    NEED_RANGE(fn, m, out, 4, "graph out-pointer");
    wm_nn_errno e = check_target(nn, fn, target);
    if (e) return e;
    wm_nn_bytes b[NN_MAX_BUILDERS];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = rd32(&m, bptr + 8 * i), l = rd32(&m, bptr + 8 * i + 4);
        NEED_RANGE(fn, m, p, l, "graph builder");
        b[i].ptr = gptr(&m, p);
        b[i].len = l;
    }
    const wm_nn_backend *be = backend_for(nn, fn, enc, b[0].ptr, b[0].len, &e);
    if (!be) return e;
    char err[512] = "";
    void *g;
    e = be->load(b, n, (wm_nn_target)target, &g, err, sizeof err);
    if (e) return fail(nn, fn, e, "%s model: %s", be->name, err);
    nn_graph *ng = calloc(1, sizeof *ng);
    if (!ng) {
        be->graph_free(g);
        return fail(nn, fn, WM_NN_TOO_LARGE, "out of memory");
    }
    ng->be = be;
    ng->g = g;
    e = new_graph_handle(nn, fn, caller, ng, out);
    if (e) { ng->refs = 1; graph_unref(ng); }
    return e;
}

static wm_nn_errno by_name(wm_wasi_nn *nn, const char *fn, wm_caller *caller, uint32_t np, uint32_t nl,
                           uint32_t out) {
    gmem m;
    NEED_MEM(fn, m);
    if (nl == 0 || nl > NN_MAX_NAME)
        return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "model name length %u (expected 1..%d)", nl, NN_MAX_NAME);
    NEED_RANGE(fn, m, np, nl, "model name");
    NEED_RANGE(fn, m, out, 4, "graph out-pointer");
    const uint8_t *name = gptr(&m, np);
    for (int i = 0; i < nn->nnamed; i++)
        if (strlen(nn->named[i].name) == nl && !memcmp(nn->named[i].name, name, nl))
            return new_graph_handle(nn, fn, caller, nn->named[i].graph, out);
    return fail(nn, fn, WM_NN_NOT_FOUND, "no preloaded model named '%.*s' (use --nn-preload NAME:ENC:TARGET:PATH)",
                (int)(nl > 200 ? 200 : nl), (const char *)name);
}

/* load_by_name(name_ptr, name_len, graph_out) */
HOST(nn_load_by_name) { return by_name(nn, "load_by_name", caller, U(0), U(1), U(2)); }

/* load_by_name_with_config(name_ptr, name_len, config_ptr, config_len, graph_out) — WasmEdge extension;
 * the JSON config tunes LLM backends and has no meaning for ONNX, so it is checked and ignored. */
HOST(nn_load_by_name_with_config) {
    const char *fn = "load_by_name_with_config";
    gmem m;
    NEED_MEM(fn, m);
    NEED_RANGE(fn, m, U(2), U(3), "config");
    return by_name(nn, fn, caller, U(0), U(1), U(4));
}

/* init_execution_context(graph, ctx_out) */
HOST(nn_init_execution_context) {
    const char *fn = "init_execution_context";
    nn_graph *g = graph_of(nn, U(0));
    if (!g) return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "invalid graph handle %u", U(0));
    gmem m;
    NEED_MEM(fn, m);
    NEED_RANGE(fn, m, U(1), 4, "context out-pointer");
    nn_ctx *c = calloc(1, sizeof *c);
    if (!c) return fail(nn, fn, WM_NN_TOO_LARGE, "out of memory");
    char err[512] = "";
    wm_nn_errno e = g->be->init_context(g->g, &c->c, err, sizeof err);
    if (e) {
        free(c);
        return fail(nn, fn, e, "%s", err);
    }
    c->graph = g;
    uint32_t h = nn->nctxs;
    if (!push_ptr((void ***)&nn->ctxs, &nn->nctxs, &nn->capctxs, c)) {
        g->be->context_free(c->c);
        free(c);
        return fail(nn, fn, WM_NN_TOO_LARGE, "too many execution contexts");
    }
    g->refs++;
    wr32(&m, U(1), h);
    return WM_NN_SUCCESS;
}

/* set_input(ctx, index, tensor_ptr): tensor = {u32 dims_ptr, u32 dims_len, u8 type @8, pad, u32 data_ptr @12,
 * u32 data_len @16}. Only the type byte is read: guests leave garbage in the padding. */
HOST(nn_set_input) {
    const char *fn = "set_input";
    nn_ctx *c = ctx_of(nn, U(0));
    if (!c) return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "invalid execution context handle %u", U(0));
    gmem m;
    NEED_MEM(fn, m);
    uint32_t tp = U(2);
    NEED_RANGE(fn, m, tp, 20, "tensor record");
    uint32_t dptr = rd32(&m, tp), rank = rd32(&m, tp + 4), type = m.base[tp + 8];
    uint32_t data = rd32(&m, tp + 12), dlen = rd32(&m, tp + 16);
    size_t esz = wm_nn_type_size(type);
    if (!esz)
        return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "unknown tensor type %u (f16=0 f32=1 f64=2 u8=3 i32=4 i64=5)",
                    type);
    if (rank > NN_MAX_RANK) return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "tensor rank %u exceeds %d", rank, NN_MAX_RANK);
    NEED_RANGE(fn, m, dptr, 4ull * rank, "tensor dimensions");
    NEED_RANGE(fn, m, data, dlen, "tensor data");
    uint32_t dims[NN_MAX_RANK];
    uint64_t bytes = esz;
    bool overflow = false;
    for (uint32_t i = 0; i < rank; i++) {
        dims[i] = rd32(&m, dptr + 4 * i);
        overflow |= __builtin_mul_overflow(bytes, (uint64_t)dims[i], &bytes);
    }
    if (overflow || bytes != dlen) {
        char shape[128] = "";
        for (uint32_t i = 0; i < rank; i++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), i ? "x%u" : "%u", dims[i]);
        return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "tensor data is %u bytes but shape [%s] of %zu-byte elements "
                    "needs %s", dlen, shape, esz, overflow ? "more than 2^64" : "a different size");
    }
    wm_nn_tensor t = { (wm_nn_type)type, rank, dims, { gptr(&m, data), dlen } };
    char err[512] = "";
    wm_nn_errno e = c->graph->be->set_input(c->c, U(1), &t, err, sizeof err);
    return e ? fail(nn, fn, e, "%s", err) : WM_NN_SUCCESS;
}

/* The cancel hook of a compute: asks the caller's store whether the guest must stop, and remembers why
 * (wm_store_should_stop reports an interrupt once). */
typedef struct nn_stop {
    wm_store *store;
    wm_trap trap;
} nn_stop;

static int nn_should_stop(void *p) {
    nn_stop *s = p;
    if (!s->trap) s->trap = wm_store_should_stop(s->store);
    return s->trap != WM_TRAP_NONE;
}

/* compute(ctx) */
HOST(nn_compute) {
    const char *fn = "compute";
    nn_ctx *c = ctx_of(nn, U(0));
    if (!c) return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "invalid execution context handle %u", U(0));
    char err[512] = "";
    nn_stop stop = { wm_caller_store(caller), WM_TRAP_NONE };
    wm_nn_cancel cancel = { nn_should_stop, &stop };
    wm_nn_errno e = c->graph->be->compute(c->c, nn->threads, stop.store ? &cancel : NULL, err, sizeof err);
    if (stop.trap) {
        nn->trap = stop.trap;
        snprintf(nn->err, sizeof nn->err, "compute: %.480s", err);
        return WM_NN_RUNTIME_ERROR;
    }
    return e ? fail(nn, fn, e, "%s", err) : WM_NN_SUCCESS;
}

/* get_output(ctx, index, out_ptr, out_max, written_ptr): on a short buffer returns too_large and stores
 * the size needed (WasmEdge behaviour), leaving the buffer untouched. */
HOST(nn_get_output) {
    const char *fn = "get_output";
    nn_ctx *c = ctx_of(nn, U(0));
    if (!c) return fail(nn, fn, WM_NN_INVALID_ARGUMENT, "invalid execution context handle %u", U(0));
    gmem m;
    NEED_MEM(fn, m);
    uint32_t op = U(2), omax = U(3), wp = U(4);
    NEED_RANGE(fn, m, wp, 4, "bytes-written out-pointer");
    NEED_RANGE(fn, m, op, omax, "output buffer");
    const void *data;
    size_t len;
    char err[512] = "";
    wm_nn_errno e = c->graph->be->get_output(c->c, U(1), &data, &len, err, sizeof err);
    if (e) return fail(nn, fn, e, "%s", err);
    if (len > omax) {
        wr32(&m, wp, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
        snprintf(nn->err, sizeof nn->err, "get_output: output %u is %zu bytes, buffer holds %u", U(1), len, omax);
        return WM_NN_TOO_LARGE;   /* not logged: callers probe the size this way */
    }
    if (len) memcpy(gptr(&m, op), data, len);
    wr32(&m, wp, (uint32_t)len);
    return WM_NN_SUCCESS;
}

/* unload(graph) — WasmEdge extension: contexts created from the graph keep the model alive. */
HOST(nn_unload) {
    (void)caller;
    nn_graph *g = graph_of(nn, U(0));
    if (!g) return fail(nn, "unload", WM_NN_INVALID_ARGUMENT, "invalid graph handle %u", U(0));
    nn->graphs[U(0)] = NULL;
    graph_unref(g);
    return WM_NN_SUCCESS;
}

/* finalize_execution_context(ctx) — WasmEdge extension. */
HOST(nn_finalize_execution_context) {
    (void)caller;
    nn_ctx *c = ctx_of(nn, U(0));
    if (!c) return fail(nn, "finalize_execution_context", WM_NN_INVALID_ARGUMENT, "invalid execution context handle %u",
                        U(0));
    nn->ctxs[U(0)] = NULL;
    c->graph->be->context_free(c->c);
    graph_unref(c->graph);
    free(c);
    return WM_NN_SUCCESS;
}

/* WasmEdge's token-streaming calls exist so LLM guests link; no backend here streams. */
HOST(nn_single_unsupported) {
    (void)caller;
    if (!ctx_of(nn, U(0)))
        return fail(nn, "compute_single", WM_NN_INVALID_ARGUMENT, "invalid execution context handle %u", U(0));
    return fail(nn, "compute_single", WM_NN_UNSUPPORTED_OPERATION, "token streaming (compute_single, "
                "get_output_single, fini_single) needs a GGML backend, which this build does not have");
}

typedef wm_nn_errno (*nn_fn)(wm_wasi_nn *, wm_caller *, const wm_val *);
typedef struct nn_binding { wm_wasi_nn *nn; nn_fn fn; } nn_binding;

static wm_trap dispatch(wm_caller *caller, void *env, const wm_val *args, wm_val *results) {
    nn_binding *b = env;
    results[0] = wm_val_i32((int32_t)b->fn(b->nn, caller, args));
    wm_trap t = b->nn->trap;
    if (t) {
        b->nn->trap = WM_TRAP_NONE;
        return wm_caller_trap(caller, t, "wasi-nn %s", b->nn->err);
    }
    return WM_TRAP_NONE;
}

static const struct { const char *name; uint32_t nparams; nn_fn fn; } g_funcs[] = {
    { "load", 5, nn_load },
    { "load_by_name", 3, nn_load_by_name },
    { "load_by_name_with_config", 5, nn_load_by_name_with_config },
    { "init_execution_context", 2, nn_init_execution_context },
    { "set_input", 3, nn_set_input },
    { "compute", 1, nn_compute },
    { "get_output", 5, nn_get_output },
    { "unload", 1, nn_unload },
    { "finalize_execution_context", 1, nn_finalize_execution_context },
    { "compute_single", 1, nn_single_unsupported },
    { "get_output_single", 5, nn_single_unsupported },
    { "fini_single", 1, nn_single_unsupported },
};

bool wm_wasi_nn_define(wm_wasi_nn *nn, wm_linker *linker, wm_store *store) {
    static const uint8_t params[5] = { WM_I32, WM_I32, WM_I32, WM_I32, WM_I32 };
    static const uint8_t result[1] = { WM_I32 };
    for (size_t i = 0; i < sizeof g_funcs / sizeof g_funcs[0]; i++) {
        nn_binding *b = malloc(sizeof *b);
        if (!b) return false;
        b->nn = nn;
        b->fn = g_funcs[i].fn;
        wm_functype t = { g_funcs[i].nparams, 1, params, result };
        wm_func *f = wm_func_new(store, &t, dispatch, b, free);   /* the store frees the binding */
        if (!f) { free(b); return false; }
        wm_extern ext;
        ext.kind = WM_EXTERN_FUNC;
        ext.of.func = f;
        if (!wm_linker_define(linker, NN_MODULE, g_funcs[i].name, ext)) return false;
    }
    return true;
}

/* ---- host-side API ---------------------------------------------------------------------------------------------- */

wm_wasi_nn *wm_wasi_nn_new(void) {
    wm_wasi_nn *nn = calloc(1, sizeof *nn);
    if (nn) {
        const char *q = getenv("WASMIND_NN_QUIET");
        nn->quiet = q && *q && strcmp(q, "0");
    }
    return nn;
}

void wm_wasi_nn_set_threads(wm_wasi_nn *nn, int threads) { nn->threads = threads > 0 ? threads : 0; }

const char *wm_wasi_nn_last_error(const wm_wasi_nn *nn) { return nn->err; }

static bool lower_eq(const char *a, size_t alen, const char *b) {
    if (alen != strlen(b)) return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != b[i]) return false;
    return true;
}

bool wm_wasi_nn_preload(wm_wasi_nn *nn, const char *spec, char *err, size_t errlen) {
    static const char *const encs[] = { "openvino", "onnx", "tensorflow", "pytorch", "tensorflowlite",
                                        "autodetect", "ggml" };
    static const char *const targets[] = { "cpu", "gpu", "tpu", "auto" };
    const char *f[4];
    size_t fl[4];
    const char *p = spec;
    for (int i = 0; i < 3; i++) {
        const char *c = strchr(p, ':');
        if (!c) {
            snprintf(err, errlen, "--nn-preload '%s': expected NAME:ENCODING:TARGET:PATH", spec);
            return false;
        }
        f[i] = p;
        fl[i] = (size_t)(c - p);
        p = c + 1;
    }
    f[3] = p;
    fl[3] = strlen(p);
    if (!fl[0] || !fl[3]) {
        snprintf(err, errlen, "--nn-preload '%s': empty %s", spec, fl[0] ? "PATH" : "NAME");
        return false;
    }
    int enc = -1, target = -1;
    for (int i = 0; i < 7; i++) if (lower_eq(f[1], fl[1], encs[i])) enc = i;
    for (int i = 0; i < 4; i++) if (lower_eq(f[2], fl[2], targets[i])) target = i;
    if (enc < 0) {
        snprintf(err, errlen, "--nn-preload '%s': unknown encoding '%.*s' (onnx, autodetect, ggml, tensorflowlite, "
                 "openvino, pytorch, tensorflow)", spec, (int)fl[1], f[1]);
        return false;
    }
    if (target < 0 || target == WM_NN_GPU || target == WM_NN_TPU) {
        snprintf(err, errlen, "--nn-preload '%s': target '%.*s' is not supported (wasmind runs models on the cpu)",
                 spec, (int)fl[2], f[2]);
        return false;
    }
    for (int i = 0; i < nn->nnamed; i++)
        if (strlen(nn->named[i].name) == fl[0] && !memcmp(nn->named[i].name, f[0], fl[0])) {
            snprintf(err, errlen, "--nn-preload: model name '%.*s' given twice", (int)fl[0], f[0]);
            return false;
        }
    /* The remaining fields are paths (OpenVINO takes xml and bin); no backend here needs more than one. */
    char *paths_buf = strdup(f[3]);
    char *paths[NN_MAX_BUILDERS];
    uint32_t npaths = 0;
    if (!paths_buf) { snprintf(err, errlen, "out of memory"); return false; }
    for (char *s = paths_buf, *sv = NULL, *t; (t = strtok_r(s, ":", &sv)); s = NULL) {
        if (npaths == NN_MAX_BUILDERS) { free(paths_buf); snprintf(err, errlen, "too many paths"); return false; }
        paths[npaths++] = t;
    }
    uint8_t head[8] = { 0 };
    size_t hl = 0;
    FILE *fp = npaths ? fopen(paths[0], "rb") : NULL;
    if (!fp) {
        snprintf(err, errlen, "--nn-preload '%s': cannot open '%s'", spec, npaths ? paths[0] : "");
        free(paths_buf);
        return false;
    }
    hl = fread(head, 1, sizeof head, fp);
    fclose(fp);
    bool quiet = nn->quiet;
    nn->quiet = true;   /* report through err, not stderr */
    wm_nn_errno e = WM_NN_SUCCESS;
    const wm_nn_backend *be = backend_for(nn, "preload", (uint32_t)enc, head, hl, &e);
    nn->quiet = quiet;
    if (!be) {
        snprintf(err, errlen, "--nn-preload '%s': %s", spec, nn->err + strlen("preload: "));
        free(paths_buf);
        return false;
    }
    char berr[512] = "";
    void *g;
    e = be->load_files((const char *const *)paths, npaths, (wm_nn_target)target, &g, berr, sizeof berr);
    free(paths_buf);
    if (e) {
        snprintf(err, errlen, "--nn-preload '%s': %s", spec, berr);
        return false;
    }
    nn_graph *ng = calloc(1, sizeof *ng);
    char *name = strndup(f[0], fl[0]);
    if (ng && name && nn->nnamed == nn->capnamed) {
        int nc = nn->capnamed ? nn->capnamed * 2 : 4;
        nn_named *na = realloc(nn->named, (size_t)nc * sizeof *na);
        if (na) { nn->named = na; nn->capnamed = nc; }
    }
    if (!ng || !name || nn->nnamed == nn->capnamed) {
        free(ng); free(name); be->graph_free(g);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    ng->be = be;
    ng->g = g;
    ng->refs = 1;
    nn->named[nn->nnamed].name = name;
    nn->named[nn->nnamed++].graph = ng;
    return true;
}

void wm_wasi_nn_free(wm_wasi_nn *nn) {
    if (!nn) return;
    for (uint32_t i = 0; i < nn->nctxs; i++) {
        nn_ctx *c = nn->ctxs[i];
        if (!c) continue;
        c->graph->be->context_free(c->c);
        graph_unref(c->graph);
        free(c);
    }
    for (uint32_t i = 0; i < nn->ngraphs; i++) graph_unref(nn->graphs[i]);
    for (int i = 0; i < nn->nnamed; i++) {
        graph_unref(nn->named[i].graph);
        free(nn->named[i].name);
    }
    free(nn->ctxs);
    free(nn->graphs);
    free(nn->named);
    free(nn);
}
