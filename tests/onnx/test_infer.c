/* test_infer.c — tests of load-time type/shape inference and of cancellable inference: every node of the ONNX test
 * suites checked against what inference claimed (WM_ONNX_CHECK_SHAPES), models rejected at load with the node
 * named, a dynamic batch whose dims stay symbolic, Loops stopped by a cancel hook, and a wasm guest whose WASI-NN
 * compute runs past its deadline or is interrupted (in-process, and through `wasmind run --timeout`). Models:
 * tests/onnx/gen_infer.py. Prints `N passed, N failed`.
 * Usage: test_onnx_infer [--quick] ONNX_TESTSUITE INFER_DIR [MODELS_DIR]   (--quick: no whole CNNs, for ASan) */
#define _GNU_SOURCE
#define WM_ONNX_TEST_MAIN wm_onnx_test_main
#include "../../src/onnx/tool_test.c" /* run_path, the conformance runner (one forked child per test) */

#include <pthread.h>

#include "wasmind.h"
#include "../../src/nn/wasi_nn.h"

static int passed, failed;
#define CHECK(cond, ...)                                                                                       \
  do {                                                                                                         \
    if (cond) passed++;                                                                                        \
    else {                                                                                                     \
      failed++;                                                                                                \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                                   \
      printf(__VA_ARGS__);                                                                                     \
      printf("\n");                                                                                            \
    }                                                                                                          \
  } while (0)

static char g_dir[4096]; /* INFER_DIR */

/* Runs a suite folder with every node's outputs checked against inference; each model is one test. */
static void check_suite(const char *dir, double atol) {
  if (!is_dir(dir)) return;
  int p0 = n_pass, f0 = n_fail;
  g_atol = atol;
  run_path(dir);
  passed += n_pass - p0;
  failed += n_fail - f0;
  printf("%s: %d models as inferred, %d not\n", dir, n_pass - p0, n_fail - f0);
}

static wm_onnx_model *load(const char *file, wm_onnx_status *st, char *err, size_t errlen) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", g_dir, file);
  wm_onnx_model *m = NULL;
  *st = wm_onnx_load_file(path, &m, err, errlen);
  return m;
}

static void expect_rejected(const char *file, const char *want) {
  char err[512] = "";
  wm_onnx_status st;
  wm_onnx_model *m = load(file, &st, err, sizeof err);
  CHECK(st == WM_ONNX_ERR_INVALID && strstr(err, want), "%s: status %d, '%s' (expected '%s')", file, st, err, want);
  wm_onnx_free(m);
}

static void test_rejected(void) {
  expect_rejected("bad_add_type.onnx", "node 'Add_12' (Add): input 1 is int64, input 0 is float32");
  expect_rejected("bad_broadcast.onnx", "node 'Add_3' (Add): cannot broadcast [1,3,224,224] with [1,4,1,1]");
  expect_rejected("bad_broadcast_symbolic.onnx", "node 'scale' (Mul): cannot broadcast [batch,3] with [batch,4]");
  expect_rejected("bad_matmul.onnx", "node 'fc' (MatMul): cannot multiply [batch,3] by [4,5]");
  expect_rejected("bad_conv_channels.onnx", "node 'conv1' (Conv): input has 3 channels, weights expect 4");
  expect_rejected("bad_reshape.onnx", "node 'flat' (Reshape): cannot reshape [2,3] (6 elements) into [4,2]");
  expect_rejected("bad_concat.onnx", "node 'cat' (Concat): input 1 is [3,3], which does not fit [2,3]");
  expect_rejected("bad_where_type.onnx", "node 'pick' (Where): input 2 is int64, input 1 is float32");
  /* a type error in a branch a constant condition never takes is no error */
  char err[512] = "";
  wm_onnx_status st;
  wm_onnx_model *m = load("dead_branch.onnx", &st, err, sizeof err);
  CHECK(st == WM_ONNX_OK, "dead_branch.onnx: %s", err);
  wm_onnx_dtype dt;
  int64_t dims[WM_ONNX_MAX_DIMS];
  CHECK(m && wm_onnx_output_info(m, 0, &dt, dims) == 1 && dims[0] == 3 && dt == WM_ONNX_FLOAT,
        "If output from the taken branch");
  wm_onnx_free(m);
}

/* "name" has rank n and these dims (-1 = the symbol in sym, or any symbol when sym is NULL). */
static int shape_is(wm_onnx_model *m, const char *name, int n, const int64_t *want, const char *sym) {
  wm_onnx_dtype dt;
  int64_t dims[WM_ONNX_MAX_DIMS];
  const char *syms[WM_ONNX_MAX_DIMS];
  if (wm_onnx_value_info(m, name, &dt, dims, syms) != n) return 0;
  for (int d = 0; d < n; d++) {
    if (dims[d] != want[d]) return 0;
    if (want[d] == -1 && (!syms[d] || (sym && strcmp(syms[d], sym)))) return 0;
    if (want[d] != -1 && syms[d]) return 0;
  }
  return 1;
}

static wm_onnx_tensor input(int ndim, const int64_t *dims) {
  wm_onnx_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = WM_ONNX_FLOAT;
  t.ndim = ndim;
  memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
  int64_t n = wm_onnx_numel(&t);
  float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
  for (int64_t i = 0; i < n; i++) p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  t.data = p;
  t.nbytes = (size_t)n * sizeof *p;
  t.flags = WM_ONNX_TENSOR_OWNED;
  return t;
}

/* Counts polls; asks to stop from poll `at` on. */
typedef struct counter {
  int polls, at;
} counter;
static int count_polls(void *p) {
  counter *c = p;
  return ++c->polls >= c->at;
}

static void test_dynamic_batch(void) {
  char err[512] = "";
  wm_onnx_status st;
  wm_onnx_model *m = load("dyn_batch.onnx", &st, err, sizeof err);
  CHECK(st == WM_ONNX_OK, "dyn_batch.onnx: %s", err);
  if (!m) return;
  CHECK(shape_is(m, "act", 4, (int64_t[]){-1, 8, 16, 16}, "batch"), "Conv keeps the batch symbol");
  CHECK(shape_is(m, "pool", 4, (int64_t[]){-1, 8, 8, 8}, "batch"), "MaxPool");
  CHECK(shape_is(m, "target", 1, (int64_t[]){2}, NULL), "Concat of the shape pieces");
  CHECK(shape_is(m, "flat", 2, (int64_t[]){-1, 512}, "batch"), "Shape->Gather->Concat->Reshape resolves");
  CHECK(shape_is(m, "logits", 2, (int64_t[]){-1, 10}, "batch"), "Gemm");
  CHECK(shape_is(m, "feat", 2, (int64_t[]){-1, 8}, "batch"), "GlobalAveragePool->Flatten");
  CHECK(wm_onnx_value_info(m, "no such value", NULL, NULL, NULL) == -2, "unknown name");
  wm_onnx_dtype dt;
  int64_t dims[WM_ONNX_MAX_DIMS];
  CHECK(wm_onnx_output_info(m, 0, &dt, dims) == 2 && dt == WM_ONNX_FLOAT && dims[0] == -1 && dims[1] == 10,
        "output_info fills in the undeclared shape of logits");
  const char *op, *name;
  int nout;
  const char *const *outs;
  CHECK((op = wm_onnx_node_info(m, 0, &name, &nout, &outs)) && !strcmp(op, "Conv") && nout == 1 && !strcmp(outs[0], "act"),
        "node 0 is the Conv (with its Relu fused)");
  CHECK(!wm_onnx_node_info(m, 1000, NULL, NULL, NULL), "node past the end");
  for (int b = 1; b <= 3; b += 2) { /* every node checked against inference while it runs */
    wm_onnx_tensor x = input(4, (int64_t[]){b, 3, 16, 16}), out[2];
    memset(out, 0, sizeof out);
    st = wm_onnx_run(m, &x, 1, out, 2, err, sizeof err);
    CHECK(st == WM_ONNX_OK && out[0].ndim == 2 && out[0].dims[0] == b && out[0].dims[1] == 10 && out[1].dims[0] == b,
          "batch %d: %s", b, st ? err : "wrong output shape");
    wm_onnx_tensor_free(&out[0]);
    wm_onnx_tensor_free(&out[1]);
    wm_onnx_tensor_free(&x);
  }
  /* the activation arena: batch 1 and 3 alternate, so runs record a plan (new shapes), run in it (same shapes)
   * and record again; every run's logits equal the first run's for its batch, bit for bit */
  float *ref[4] = {NULL};
  const int order[] = {1, 1, 3, 3, 1, 3, 3, 1};
  for (int r = 0; r < 8; r++) {
    int b = order[r];
    wm_onnx_tensor x = input(4, (int64_t[]){b, 3, 16, 16}), out[2];
    memset(out, 0, sizeof out);
    st = wm_onnx_run(m, &x, 1, out, 2, err, sizeof err);
    int ok = st == WM_ONNX_OK && out[0].nbytes == (size_t)b * 10 * sizeof(float);
    if (ok && !ref[b]) ref[b] = memcpy(malloc(out[0].nbytes), out[0].data, out[0].nbytes);
    CHECK(ok && !memcmp(ref[b], out[0].data, out[0].nbytes), "run %d (batch %d) differs from the first: %s", r, b,
          st ? err : "");
    wm_onnx_tensor_free(&out[0]);
    wm_onnx_tensor_free(&out[1]);
    wm_onnx_tensor_free(&x);
  }
  free(ref[1]);
  free(ref[3]);
  wm_onnx_tensor bad = input(3, (int64_t[]){2, 3, 16}), out[2];
  memset(out, 0, sizeof out);
  st = wm_onnx_run(m, &bad, 1, out, 2, err, sizeof err);
  CHECK(st == WM_ONNX_ERR_INVALID && strstr(err, "input 'x': shape [2,3,16] does not match the model's [batch,3,16,16]"),
        "wrong rank: %d %s", st, err);
  wm_onnx_tensor_free(&bad);
  bad = input(4, (int64_t[]){2, 4, 16, 16});
  st = wm_onnx_run(m, &bad, 1, out, 2, err, sizeof err);
  CHECK(st == WM_ONNX_ERR_INVALID && strstr(err, "[2,4,16,16] does not match the model's [batch,3,16,16]"),
        "wrong channel count: %d %s", st, err);
  wm_onnx_tensor_free(&bad);
  /* cancelled between nodes, and usable afterwards */
  counter c = {0, 3};
  wm_onnx_set_cancel(m, count_polls, &c);
  wm_onnx_tensor x = input(4, (int64_t[]){2, 3, 16, 16});
  st = wm_onnx_run(m, &x, 1, out, 2, err, sizeof err);
  CHECK(st == WM_ONNX_ERR_CANCELLED && c.polls == 3 && strstr(err, "cancelled before node"), "cancel: %d %s", st, err);
  wm_onnx_set_cancel(m, NULL, NULL);
  st = wm_onnx_run(m, &x, 1, out, 2, err, sizeof err);
  CHECK(st == WM_ONNX_OK, "run after a cancelled run: %s", err);
  for (int i = 0; i < 2; i++) wm_onnx_tensor_free(&out[i]);
  wm_onnx_tensor_free(&x);
  wm_onnx_free(m);
}

/* Loops of 2^62 iterations end only through the hook, which the executor polls at every iteration. */
static void test_loop_cancel(void) {
  static const struct { const char *file; int at; const char *where; } cases[] = {
      {"loop_huge.onnx", 1000, "node 'spin' (Loop): cancelled "},
      {"loop_huge.onnx", 1, "cancelled before node 'spin'"},
      {"loop_nested.onnx", 500, "node 'outer' (Loop): node 'inner' (Loop): cancelled "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[512] = "";
    wm_onnx_status st;
    wm_onnx_model *m = load(cases[i].file, &st, err, sizeof err);
    CHECK(st == WM_ONNX_OK, "%s: %s", cases[i].file, err);
    if (!m) continue;
    for (int rep = 0; rep < 2; rep++) { /* twice: a cancelled model runs again */
      counter c = {0, cases[i].at};
      wm_onnx_set_cancel(m, count_polls, &c);
      wm_onnx_tensor out;
      memset(&out, 0, sizeof out);
      st = wm_onnx_run(m, NULL, 0, &out, 1, err, sizeof err);
      CHECK(st == WM_ONNX_ERR_CANCELLED && c.polls == cases[i].at && strstr(err, cases[i].where),
            "%s after %d polls: status %d, %d polls, '%s'", cases[i].file, cases[i].at, st, c.polls, err);
      wm_onnx_tensor_free(&out);
    }
    wm_onnx_free(m);
  }
}

/* ---- a wasm guest calling compute on the endless Loop: the deadline and wm_store_interrupt stop it ---- */
static wm_store *S;

static void *interrupt_later(void *arg) {
  (void)arg;
  usleep(150 * 1000);
  wm_store_interrupt(S);
  return NULL;
}

static int32_t guest_call(wm_instance *in, const char *name, int n, const uint32_t *args, wm_error *err) {
  wm_extern e;
  wm_val a[8], r;
  if (!wm_instance_export(in, name, &e)) return -100;
  for (int i = 0; i < n; i++) a[i] = wm_val_i32((int32_t)args[i]);
  if (wm_func_call(S, e.of.func, a, (uint32_t)n, &r, 1, err) != WM_OK) return -99;
  return r.of.i32;
}

static void test_guest_deadline(const char *self) {
  char path[4200], err[512] = "";
  snprintf(path, sizeof path, "%s", self);
  char *slash = strrchr(path, '/');
  snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0), "tests/data/wasi_nn.wasm");
  size_t n;
  unsigned char *wasm = read_all(path, &n);
  CHECK(wasm != NULL, "cannot read %s (tests/data/wasi_nn.wat, built with the tests)", path);
  if (!wasm) return;
  setenv("WASMIND_NN_QUIET", "1", 1);
  wm_wasi_nn *nn = wm_wasi_nn_new();
  char spec[4400];
  snprintf(spec, sizeof spec, "loop:onnx:cpu:%s/loop_huge.onnx", g_dir);
  CHECK(wm_wasi_nn_preload(nn, spec, err, sizeof err), "preload: %s", err);
  wm_engine *e = wm_engine_new(NULL);
  S = wm_store_new(e);
  wm_linker *l = wm_linker_new(S);
  wm_error werr;
  memset(&werr, 0, sizeof werr);
  wm_module *mod = NULL;
  wm_instance *in = NULL;
  if (wm_wasi_nn_define(nn, l, S) && (mod = wm_module_new(e, wasm, n, &werr))) in = wm_linker_instantiate(l, mod, &werr);
  CHECK(in != NULL, "instantiate the guest: %s", werr.message);
  wm_extern mx;
  if (in && wm_instance_export(in, "memory", &mx)) {
    unsigned char *mem = wm_memory_data(mx.of.memory);
    uint32_t graph = 0, ctx[1] = {0};
    memcpy(mem + 256, "loop", 4);
    CHECK(guest_call(in, "load_by_name", 3, (uint32_t[]){256, 4, 512}, &werr) == 0, "load_by_name: %s",
          wm_wasi_nn_last_error(nn));
    memcpy(&graph, mem + 512, 4); /* little-endian host, as the runtime assumes */
    CHECK(guest_call(in, "init_execution_context", 2, (uint32_t[]){graph, 516}, &werr) == 0, "init: %s",
          wm_wasi_nn_last_error(nn));
    memcpy(ctx, mem + 516, 4);
    for (int rep = 0; rep < 2; rep++) {
      wm_store_set_deadline_ms(S, 200);
      double t0 = now();
      int32_t r = guest_call(in, "compute", 1, ctx, &werr);
      double dt = now() - t0;
      CHECK(r == -99 && werr.trap == WM_TRAP_DEADLINE && strstr(werr.message, "deadline exceeded") &&
                strstr(werr.message, "wasi-nn compute: node 'spin' (Loop): cancelled") && dt < 5,
            "compute past the deadline: result %d after %.2fs: %s", r, dt, werr.message);
    }
    wm_store_set_deadline_ms(S, 0);
    pthread_t th;
    pthread_create(&th, NULL, interrupt_later, NULL);
    int32_t r = guest_call(in, "compute", 1, ctx, &werr);
    pthread_join(th, NULL);
    CHECK(r == -99 && werr.trap == WM_TRAP_INTERRUPTED && strstr(werr.message, "interrupted"),
          "interrupted compute: result %d: %s", r, werr.message);
  }
  wm_linker_free(l);
  wm_store_free(S);
  wm_module_free(mod);
  wm_engine_free(e);
  wm_wasi_nn_free(nn);
  free(wasm);
}

/* The same from the command line: `wasmind run --timeout` ends a guest stuck in compute like any runaway guest. */
static void test_cli_timeout(const char *self) {
  char dir[4096], cmd[13000], out[4096] = "";
  snprintf(dir, sizeof dir, "%s", self);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  else snprintf(dir, sizeof dir, ".");
  snprintf(cmd, sizeof cmd, "'%s/wasmind' run --timeout 0.3 --nn-preload 'loop:onnx:cpu:%s/loop_huge.onnx' --invoke run "
           "'%s/tests/onnx/deadline_guest.wasm' 2>&1", dir, g_dir, dir);
  double t0 = now();
  FILE *p = popen(cmd, "r");
  size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[n] = 0;
  int status = p ? pclose(p) : -1;
  double dt = now() - t0;
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 134 && strstr(out, "deadline exceeded") &&
            strstr(out, "wasi-nn compute") && dt < 10,
        "%s: exit %d after %.2fs: %s", cmd, WIFEXITED(status) ? WEXITSTATUS(status) : -1, dt, out);
}

int main(int argc, char **argv) {
  int quick = argc > 1 && !strcmp(argv[1], "--quick");
  if (argc - quick < 3) {
    fprintf(stderr, "usage: %s [--quick] ONNX_TESTSUITE INFER_DIR [MODELS_DIR]\n", argv[0]);
    return 2;
  }
  const char *suite = argv[1 + quick], *models = argc - quick > 3 ? argv[3 + quick] : NULL;
  snprintf(g_dir, sizeof g_dir, "%s", argv[2 + quick]);
  setenv("WM_ONNX_CHECK_SHAPES", "1", 1);
  test_rejected();
  test_dynamic_batch();
  test_loop_cancel();
  test_guest_deadline(argv[0]);
  test_cli_timeout(argv[0]);
  char dir[4200];
  static const char *const suites[] = {"node", "simple", "pytorch-converted", "pytorch-operator", "light"};
  for (int i = 0; i < 5 - quick; i++) {
    snprintf(dir, sizeof dir, "%s/%s", suite, suites[i]);
    check_suite(dir, 1e-7);
  }
  if (models && !quick) {
    snprintf(dir, sizeof dir, "%s/refs", models);
    check_suite(dir, 1e-4);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
