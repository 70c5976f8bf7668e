/* test_wasi_nn.c — tests of the wasi_ephemeral_nn host module (src/nn): a wasm guest (data/wasi_nn.wat) loads ONNX
 * node-test models by bytes and by preloaded name, runs them and is compared with output_0.pb; then hostile pointers,
 * handles, sizes and enum values must come back as errno values without crashing the host. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wasmind.h"
#include "../src/nn/wasi_nn.h"
#include "../src/onnx/onnx.h"

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); printf(__VA_ARGS__); printf("\n"); } } while (0)

enum { E_OK = 0, E_INVAL = 1, E_ENC = 2, E_NOMEM = 3, E_UNSUP = 6, E_TOO_LARGE = 7, E_NOT_FOUND = 8 };
enum { T_F32 = 1, T_U8 = 3, T_I32 = 4 };

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    return b;
}

/* ---- the guest -------------------------------------------------------------------------------------------- */
static wm_store *S;
static wm_instance *I;
static wm_memory *M;
static wm_wasi_nn *NN;
static uint32_t brk = 1024;   /* bump allocator over guest memory */

static int32_t call(const char *name, int n, ...) {
    wm_extern e;
    if (!wm_instance_export(I, name, &e)) { printf("no export %s\n", name); exit(1); }
    wm_val a[8], r;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) a[i] = wm_val_i32((int32_t)va_arg(ap, uint32_t));
    va_end(ap);
    wm_error err;
    if (wm_func_call(S, e.of.func, a, (uint32_t)n, &r, 1, &err) != WM_OK) {
        printf("FAIL %s trapped: %s\n", name, err.message);
        failed++;
        return -1;
    }
    return r.of.i32;
}

static uint32_t galloc(size_t n) {
    uint32_t p = (brk + 15) & ~15u;
    while (p + n > wm_memory_size(M))
        if (wm_memory_grow(M, (uint32_t)((p + n - wm_memory_size(M)) / 65536 + 1)) < 0) { printf("grow failed\n"); exit(1); }
    brk = p + (uint32_t)n;
    return p;
}
static uint32_t gput(const void *src, size_t n) {
    uint32_t p = galloc(n);
    memcpy(wm_memory_data(M) + p, src, n);
    return p;
}
static void w32(uint32_t p, uint32_t v) { memcpy(wm_memory_data(M) + p, &v, 4); }
static uint32_t r32(uint32_t p) { uint32_t v; memcpy(&v, wm_memory_data(M) + p, 4); return v; }

/* A 20-byte tensor record; the padding after the type byte is filled with junk on purpose. */
static uint32_t gtensor(const uint32_t *dims, uint32_t rank, uint8_t type, const void *data, uint32_t len) {
    uint32_t d = gput(dims, 4u * (rank ? rank : 1)), t = galloc(20);
    uint32_t dp = gput(data, len ? len : 1);
    w32(t, d); w32(t + 4, rank);
    uint8_t *b = wm_memory_data(M) + t;
    b[8] = type; b[9] = 0xAB; b[10] = 0xCD; b[11] = 0xEF;
    w32(t + 12, dp); w32(t + 16, len);
    return t;
}
static uint32_t gtensor_of(const wm_onnx_tensor *x, uint8_t type) {
    uint32_t dims[8];
    for (int i = 0; i < x->ndim; i++) dims[i] = (uint32_t)x->dims[i];
    return gtensor(dims, (uint32_t)x->ndim, type, x->data, (uint32_t)x->nbytes);
}

static char g_onnx[4096];
static int load_pb(const char *test, const char *file, wm_onnx_tensor *t) {
    char p[8192];
    snprintf(p, sizeof p, "%s/node/%s/test_data_set_0/%s", g_onnx, test, file);
    size_t n;
    uint8_t *b = read_file(p, &n);
    if (!b) { printf("cannot read %s\n", p); return -1; }
    char err[256];
    int rc = wm_onnx_parse_tensor(b, n, t, err, sizeof err) ? -1 : 0;
    free(b);
    return rc;
}

/* Loads node/<test>/model.onnx through guest memory with `load`; returns the errno, handle in *g. */
static int32_t guest_load(const char *test, uint32_t enc, uint32_t target, uint32_t *g) {
    char p[8192];
    snprintf(p, sizeof p, "%s/node/%s/model.onnx", g_onnx, test);
    size_t n;
    uint8_t *b = read_file(p, &n);
    if (!b) { printf("cannot read %s\n", p); exit(1); }
    uint32_t blob = gput(b, n), arr = galloc(8), out = galloc(4);
    free(b);
    w32(arr, blob); w32(arr + 4, (uint32_t)n);
    w32(out, 0xdeadbeef);
    int32_t e = call("load", 5, arr, 1u, enc, target, out);
    *g = r32(out);
    return e;
}

static bool close_enough(const wm_onnx_tensor *ref, const uint8_t *got, uint32_t len) {
    if (len != ref->nbytes) return false;
    if (ref->dtype != WM_ONNX_FLOAT) return !memcmp(ref->data, got, len);
    for (size_t i = 0; i < len / 4; i++) {
        float r = ((const float *)ref->data)[i], v;
        memcpy(&v, got + 4 * i, 4);
        if (fabsf(v - r) > 1e-6f + 1e-4f * fabsf(r)) return false;
    }
    return true;
}

/* init + set_input(all) + compute + get_output(0), compared with output_0.pb. */
static void run_and_compare(const char *test, uint32_t g, int nin, uint8_t type) {
    uint32_t cp = galloc(4);
    CHECK(call("init_execution_context", 2, g, cp) == E_OK, "%s: init: %s", test, wm_wasi_nn_last_error(NN));
    uint32_t ctx = r32(cp);
    for (int i = 0; i < nin; i++) {
        wm_onnx_tensor x;
        char f[32];
        snprintf(f, sizeof f, "input_%d.pb", i);
        if (load_pb(test, f, &x)) { failed++; return; }
        CHECK(call("set_input", 3, ctx, (uint32_t)i, gtensor_of(&x, type)) == E_OK, "%s: set_input %d: %s", test, i,
              wm_wasi_nn_last_error(NN));
        wm_onnx_tensor_free(&x);
    }
    CHECK(call("compute", 1, ctx) == E_OK, "%s: compute: %s", test, wm_wasi_nn_last_error(NN));
    wm_onnx_tensor ref;
    if (load_pb(test, "output_0.pb", &ref)) { failed++; return; }
    uint32_t buf = galloc(ref.nbytes), wp = galloc(4);
    /* too small: too_large, the size needed written, the buffer untouched */
    memset(wm_memory_data(M) + buf, 0x5A, ref.nbytes);
    CHECK(call("get_output", 5, ctx, 0u, buf, (uint32_t)ref.nbytes - 1, wp) == E_TOO_LARGE, "%s: short buffer", test);
    CHECK(r32(wp) == ref.nbytes, "%s: needed %u, want %zu", test, r32(wp), ref.nbytes);
    CHECK(wm_memory_data(M)[buf] == 0x5A, "%s: short buffer was written", test);
    CHECK(call("get_output", 5, ctx, 0u, buf, (uint32_t)ref.nbytes, wp) == E_OK, "%s: get_output: %s", test,
          wm_wasi_nn_last_error(NN));
    CHECK(r32(wp) == ref.nbytes, "%s: wrote %u bytes, want %zu", test, r32(wp), ref.nbytes);
    CHECK(close_enough(&ref, wm_memory_data(M) + buf, r32(wp)), "%s: output differs from output_0.pb", test);
    wm_onnx_tensor_free(&ref);
    CHECK(call("finalize_execution_context", 1, ctx) == E_OK, "%s: finalize", test);
}

static wm_instance *instantiate(wm_engine *e, wm_linker *l, const char *path, wm_module **mod) {
    size_t n;
    uint8_t *b = read_file(path, &n);
    if (!b) { printf("FAIL cannot read %s (built from tests/data/*.wat)\n", path); failed++; return NULL; }
    wm_error err;
    *mod = wm_module_new(e, b, n, &err);
    free(b);
    if (!*mod) { printf("FAIL %s: %s\n", path, err.message); failed++; return NULL; }
    wm_instance *in = wm_linker_instantiate(l, *mod, &err);
    if (!in) { printf("FAIL instantiate %s: %s\n", path, err.message); failed++; }
    return in;
}

static void test_valid(void) {
    uint32_t g;
    /* load by bytes with the onnx encoding and with both autodetect values (5 witx, 6 WAMR) */
    CHECK(guest_load("test_add", 1, 0, &g) == E_OK, "load test_add: %s", wm_wasi_nn_last_error(NN));
    CHECK(g == 0, "first graph handle %u", g);
    run_and_compare("test_add", g, 2, T_F32);
    uint32_t g5, g6;
    CHECK(guest_load("test_add", 5, 0, &g5) == E_OK && g5 == 1, "autodetect 5: %s", wm_wasi_nn_last_error(NN));
    CHECK(guest_load("test_add", 6, 3, &g6) == E_OK && g6 == 2, "autodetect 6 / target auto: %s", wm_wasi_nn_last_error(NN));
    run_and_compare("test_add", g6, 2, T_F32);
    /* u8 tensors */
    CHECK(guest_load("test_add_uint8", 1, 0, &g) == E_OK, "load test_add_uint8: %s", wm_wasi_nn_last_error(NN));
    run_and_compare("test_add_uint8", g, 2, T_U8);
    /* a context outlives unload of its graph */
    uint32_t cp = galloc(4);
    CHECK(call("init_execution_context", 2, g5, cp) == E_OK, "init");
    uint32_t ctx = r32(cp);
    CHECK(call("unload", 1, g5) == E_OK, "unload");
    CHECK(call("unload", 1, g5) == E_INVAL, "double unload");
    CHECK(call("init_execution_context", 2, g5, cp) == E_INVAL, "init on unloaded graph");
    wm_onnx_tensor x, y;
    if (!load_pb("test_add", "input_0.pb", &x) && !load_pb("test_add", "input_1.pb", &y)) {
        CHECK(call("set_input", 3, ctx, 0u, gtensor_of(&x, T_F32)) == E_OK, "set_input after unload");
        CHECK(call("set_input", 3, ctx, 1u, gtensor_of(&y, T_F32)) == E_OK, "set_input after unload");
        CHECK(call("compute", 1, ctx) == E_OK, "compute after unload: %s", wm_wasi_nn_last_error(NN));
        wm_onnx_tensor_free(&x);
        wm_onnx_tensor_free(&y);
    }
    CHECK(call("finalize_execution_context", 1, ctx) == E_OK, "finalize");
    CHECK(call("finalize_execution_context", 1, ctx) == E_INVAL, "double finalize");
    CHECK(call("compute", 1, ctx) == E_INVAL, "compute on finalized context");

    /* preloaded (mmap'ed) model by name */
    uint32_t name = gput("relu", 4), out = galloc(4), cfg = gput("{}", 2);
    CHECK(call("load_by_name", 3, name, 4u, out) == E_OK, "load_by_name: %s", wm_wasi_nn_last_error(NN));
    run_and_compare("test_relu", r32(out), 1, T_F32);
    CHECK(call("load_by_name_with_config", 5, name, 4u, cfg, 2u, out) == E_OK, "load_by_name_with_config: %s",
          wm_wasi_nn_last_error(NN));
    run_and_compare("test_relu", r32(out), 1, T_F32);
    CHECK(call("load_by_name", 3, name, 3u, out) == E_NOT_FOUND, "prefix of a name must not match");
    CHECK(call("load_by_name", 3, gput("nope", 4), 4u, out) == E_NOT_FOUND, "unknown name");
}

static void test_hostile(void) {
    uint32_t size = (uint32_t)wm_memory_size(M), out = galloc(4), arr = galloc(16), blob = gput("\x08\x07", 2);
    /* load: builder array, builders and out-pointer outside memory; wrap-around; absurd counts */
    CHECK(call("load", 5, size - 4, 1u, 1u, 0u, out) == E_INVAL, "builder array past the end");
    CHECK(call("load", 5, 0xFFFFFFF8u, 1u, 1u, 0u, out) == E_INVAL, "builder array at 4G-8");
    CHECK(call("load", 5, arr, 0x20000000u, 1u, 0u, out) == E_INVAL, "2^29 builders");
    CHECK(call("load", 5, arr, 0u, 1u, 0u, out) == E_INVAL, "0 builders");
    w32(arr, 0xFFFFFFF0u); w32(arr + 4, 0x20);
    CHECK(call("load", 5, arr, 1u, 1u, 0u, out) == E_INVAL, "builder wrapping past 4G");
    w32(arr, size - 10); w32(arr + 4, 11);
    CHECK(call("load", 5, arr, 1u, 1u, 0u, out) == E_INVAL, "builder one byte past the end");
    w32(arr, blob); w32(arr + 4, 2);
    CHECK(call("load", 5, arr, 1u, 1u, 0u, 0xFFFFFFFFu) == E_INVAL, "graph out-pointer at 4G-1");
    CHECK(call("load", 5, arr, 1u, 1u, 0u, size - 3) == E_INVAL, "graph out-pointer straddling the end");
    /* bad model bytes, encodings and targets */
    CHECK(call("load", 5, arr, 1u, 1u, 0u, out) != E_OK, "truncated model accepted");
    uint32_t junk = gput("\xff\xfe\xfd\xfc\xfb\xfa", 6);
    w32(arr, junk); w32(arr + 4, 6);
    CHECK(call("load", 5, arr, 1u, 1u, 0u, out) != E_OK, "junk accepted as ONNX");
    CHECK(call("load", 5, arr, 1u, 5u, 0u, out) == E_ENC, "junk autodetected");
    w32(arr, gput("GGUF\3\0\0\0", 8)); w32(arr + 4, 8);
    CHECK(call("load", 5, arr, 1u, 6u, 0u, out) == E_ENC && strstr(wm_wasi_nn_last_error(NN), "GGUF"),
          "GGUF: %s", wm_wasi_nn_last_error(NN));
    CHECK(call("load", 5, arr, 1u, 0u, 0u, out) == E_ENC, "openvino encoding");
    CHECK(call("load", 5, arr, 1u, 99u, 0u, out) == E_ENC, "encoding 99");
    uint32_t g;
    CHECK(guest_load("test_add", 1, 1, &g) == E_UNSUP && strstr(wm_wasi_nn_last_error(NN), "gpu"), "gpu target: %s",
          wm_wasi_nn_last_error(NN));
    CHECK(guest_load("test_add", 1, 2, &g) == E_UNSUP, "tpu target");
    CHECK(guest_load("test_add", 1, 7, &g) == E_INVAL, "target 7");
    /* handles */
    CHECK(call("init_execution_context", 2, 999u, out) == E_INVAL, "graph 999");
    CHECK(call("init_execution_context", 2, 0xFFFFFFFFu, out) == E_INVAL, "graph -1");
    CHECK(call("compute", 1, 12345u) == E_INVAL, "context 12345");
    CHECK(call("unload", 1, 0x7FFFFFFFu) == E_INVAL, "unload bogus");
    CHECK(call("finalize_execution_context", 1, 0x80000000u) == E_INVAL, "finalize bogus");
    CHECK(call("compute_single", 1, 0u) != E_OK, "compute_single");
    /* a good graph and context to attack set_input / get_output */
    CHECK(guest_load("test_add", 1, 0, &g) == E_OK, "load");
    CHECK(call("init_execution_context", 2, g, size + 100) == E_INVAL, "context out-pointer outside memory");
    CHECK(call("init_execution_context", 2, g, out) == E_OK, "init");
    uint32_t ctx = r32(out);
    CHECK(call("compute", 1, ctx) == E_INVAL, "compute with no inputs");
    uint32_t wp = galloc(4), buf = galloc(256);
    CHECK(call("get_output", 5, ctx, 0u, buf, 256u, wp) == E_INVAL, "get_output before compute");
    static float data[60];
    uint32_t d345[3] = { 3, 4, 5 };
    uint32_t t = gtensor(d345, 3, T_F32, data, sizeof data);
    CHECK(call("set_input", 3, ctx, 0u, size - 19) == E_INVAL, "tensor record straddling the end");
    CHECK(call("set_input", 3, ctx, 0u, 0xFFFFFFF0u) == E_INVAL, "tensor record at 4G-16");
    CHECK(call("set_input", 3, ctx, 2u, t) == E_INVAL, "input index 2");
    CHECK(call("set_input", 3, ctx, 0xFFFFFFFFu, t) == E_INVAL, "input index -1");
    CHECK(call("set_input", 3, 77u, 0u, t) == E_INVAL, "bad context");
    uint32_t tt = galloc(20);
    memcpy(wm_memory_data(M) + tt, wm_memory_data(M) + t, 20);
    wm_memory_data(M)[tt + 8] = 9;
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "tensor type 9");
    wm_memory_data(M)[tt + 8] = T_I32;
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "i32 for a float input");
    wm_memory_data(M)[tt + 8] = T_F32;
    w32(tt + 4, 100);
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "rank 100");
    w32(tt + 4, 3); w32(tt, size - 8);
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "dims straddling the end");
    uint32_t huge[8] = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu };
    w32(tt, gput(huge, sizeof huge)); w32(tt + 4, 8);
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "2^256-element tensor");
    uint32_t wrap[3] = { 0x40000000u, 0x40000000u, 16u };   /* 2^64 bytes of f32: wraps to 0 in 64-bit math */
    w32(tt, gput(wrap, sizeof wrap)); w32(tt + 4, 3); w32(tt + 16, 0);
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "size wrapping to 0");
    uint32_t d3[3] = { 3, 4, 4 };
    w32(tt, gput(d3, sizeof d3)); w32(tt + 16, sizeof data);
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "data length does not match dims");
    uint32_t d4[3] = { 5, 4, 3 };
    w32(tt, gput(d4, sizeof d4));
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "wrong shape for the model");
    w32(tt, gput(d345, sizeof d345)); w32(tt + 12, size - 200);
    CHECK(call("set_input", 3, ctx, 0u, tt) == E_INVAL, "data straddling the end");
    CHECK(call("set_input", 3, ctx, 0u, t) == E_OK, "good input 0: %s", wm_wasi_nn_last_error(NN));
    CHECK(call("compute", 1, ctx) == E_INVAL, "compute with input 1 missing");
    CHECK(call("set_input", 3, ctx, 1u, t) == E_OK, "good input 1");
    CHECK(call("compute", 1, ctx) == E_OK, "compute: %s", wm_wasi_nn_last_error(NN));
    CHECK(call("get_output", 5, ctx, 0u, size - 100, 240u, wp) == E_INVAL, "output buffer straddling the end");
    CHECK(call("get_output", 5, ctx, 0u, 0xFFFFFF00u, 0x1000u, wp) == E_INVAL, "output buffer wrapping");
    CHECK(call("get_output", 5, ctx, 0u, buf, 256u, size) == E_INVAL, "bytes-written pointer at the end");
    CHECK(call("get_output", 5, ctx, 1u, buf, 256u, wp) == E_INVAL, "output index 1");
    CHECK(call("get_output", 5, ctx, 0u, buf, 0u, wp) == E_TOO_LARGE && r32(wp) == 240, "zero-size buffer");
    CHECK(call("get_output", 5, ctx, 0u, buf, 256u, wp) == E_OK && r32(wp) == 240, "get_output");
    /* names */
    CHECK(call("load_by_name", 3, size - 2, 4u, out) == E_INVAL, "name past the end");
    CHECK(call("load_by_name", 3, out, 0u, out) == E_INVAL, "empty name");
    CHECK(call("load_by_name", 3, 0u, 0x7FFFFFFFu, out) == E_INVAL, "2G name");
    CHECK(call("load_by_name_with_config", 5, gput("relu", 4), 4u, size - 1, 2u, out) == E_INVAL, "config past the end");
}

int main(int argc, char **argv) {
    const char *tests = argc > 1 ? argv[1] : "tests";
    const char *cands[3] = { getenv("ONNX_TESTDATA"), NULL, "/usr/share/onnx/testdata" };
    char rel[4096];
    snprintf(rel, sizeof rel, "%s/../../shared/testsuite/onnx", tests);
    cands[1] = rel;
    for (int i = 0; i < 3 && !g_onnx[0]; i++) {
        char p[4200];
        struct stat st;
        if (!cands[i]) continue;
        snprintf(p, sizeof p, "%s/node/test_add/model.onnx", cands[i]);
        if (!stat(p, &st)) snprintf(g_onnx, sizeof g_onnx, "%s", cands[i]);
    }
    if (!g_onnx[0]) {
        printf("FAIL no ONNX test data: expected ../shared/testsuite/onnx beside the repo or ONNX_TESTDATA\n0 passed, 1 failed\n");
        return 1;
    }
    char datadir[4096];
    snprintf(datadir, sizeof datadir, "%s", argv[0]);
    char *slash = strrchr(datadir, '/');
    if (slash) *slash = 0; else snprintf(datadir, sizeof datadir, ".");

    setenv("WASMIND_NN_QUIET", "1", 1);   /* the hostile cases would flood stderr */
    NN = wm_wasi_nn_new();
    char err[512], spec[4300];
    snprintf(spec, sizeof spec, "relu:ONNX:cpu:%s/node/test_relu/model.onnx", g_onnx);
    CHECK(wm_wasi_nn_preload(NN, spec, err, sizeof err), "preload: %s", err);
    CHECK(!wm_wasi_nn_preload(NN, spec, err, sizeof err), "duplicate name accepted");
    snprintf(spec, sizeof spec, "x:onnx:gpu:%s/node/test_relu/model.onnx", g_onnx);
    CHECK(!wm_wasi_nn_preload(NN, spec, err, sizeof err) && strstr(err, "gpu"), "gpu preload: %s", err);
    CHECK(!wm_wasi_nn_preload(NN, "x:onnx:cpu", err, sizeof err), "spec without path accepted");
    CHECK(!wm_wasi_nn_preload(NN, "x:bogus:cpu:/dev/null", err, sizeof err), "bogus encoding accepted");
    CHECK(!wm_wasi_nn_preload(NN, "x:onnx:cpu:/nonexistent/model.onnx", err, sizeof err), "missing file accepted");
    wm_wasi_nn_set_threads(NN, 2);

    wm_engine *e = wm_engine_new(NULL);
    S = wm_store_new(e);
    wm_linker *l = wm_linker_new(S);
    CHECK(wm_wasi_nn_define(NN, l, S), "define");
    char path[4200];
    wm_module *mod = NULL, *mod2 = NULL;
    snprintf(path, sizeof path, "%s/data/wasi_nn.wasm", datadir);
    I = instantiate(e, l, path, &mod);
    if (I) {
        wm_extern mx;
        if (wm_instance_export(I, "memory", &mx) && mx.kind == WM_EXTERN_MEMORY) {
            M = mx.of.memory;
            test_valid();
            test_hostile();
        } else { printf("FAIL no memory export\n"); failed++; }
    }
    snprintf(path, sizeof path, "%s/data/wasi_nn_nomem.wasm", datadir);
    I = instantiate(e, l, path, &mod2);
    if (I) CHECK(call("load", 5, 0u, 1u, 1u, 0u, 0u) == E_NOMEM, "guest without memory");
    wm_module *mod3 = NULL;
    snprintf(path, sizeof path, "%s/data/wasi_nn_mem0.wasm", datadir);
    I = instantiate(e, l, path, &mod3);
    if (I) {
        CHECK(call("load", 5, 0u, 1u, 1u, 0u, 0u) == E_INVAL, "0-page memory: builder array");
        CHECK(call("load_by_name", 3, 0u, 4u, 0u) == E_INVAL, "0-page memory: name");
        CHECK(call("load_by_name", 3, 0u, 0u, 0u) == E_INVAL, "0-page memory: empty name");
    }

    wm_linker_free(l);
    wm_store_free(S);
    wm_module_free(mod);
    wm_module_free(mod2);
    wm_module_free(mod3);
    wm_engine_free(e);
    wm_wasi_nn_free(NN);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
