/* tool_test.c — wasmind-onnx-test: runs ONNX backend-test folders (model.onnx + test_data_set_N/{input,output}_M.pb)
 * and onnx "light" models against the engine, comparing with the suite's tolerances (rtol 1e-3, atol 1e-7). */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kernels/kernels.h"
#include "onnx.h"

static double g_rtol = 1e-3, g_atol = 1e-7;
static int g_verbose, g_fork = 1;
static int g_runs = 2; /* runs per data set (--runs): the second one uses the activation arena the first planned */
static int n_pass, n_fail, n_skip;

/* unsupported-operator tally printed at the end */
static struct { char name[64]; int count; } g_skips[256];
static int g_nskips;

static void note_skip(const char *msg) {
  const char *p = strstr(msg, "unsupported operator ");
  char name[64];
  if (p) snprintf(name, sizeof name, "%s", p + strlen("unsupported operator "));
  else if ((p = strstr(msg, "operator ")) && strstr(msg, "domain"))
    snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 9, " "), p + 9);
  else if ((p = strstr(msg, "data type ")) || (p = strstr(msg, "element type ")))
    snprintf(name, sizeof name, "type:%.*s", (int)strcspn(strchr(p, '(') ? strchr(p, '(') + 1 : p, ")"),
             strchr(p, '(') ? strchr(p, '(') + 1 : p);
  else if (strstr(msg, "not a tensor")) snprintf(name, sizeof name, "non-tensor-input");
  else if ((p = strchr(msg, '('))) snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 1, ")"), p + 1);
  else snprintf(name, sizeof name, "%.40s", msg);
  for (int i = 0; i < g_nskips; i++)
    if (!strcmp(g_skips[i].name, name)) { g_skips[i].count++; return; }
  if (g_nskips < 256) {
    snprintf(g_skips[g_nskips].name, sizeof g_skips[0].name, "%s", name);
    g_skips[g_nskips++].count = 1;
  }
}

static int is_dir(const char *p) {
  struct stat st;
  return !stat(p, &st) && S_ISDIR(st.st_mode);
}
static int is_file(const char *p) {
  struct stat st;
  return !stat(p, &st) && S_ISREG(st.st_mode);
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
  if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
  fclose(f);
  *len = n > 0 ? (size_t)n : 0;
  return b;
}

/* 0 ok, 1 mismatch (msg), 2 unsupported (msg) */
static int load_pb(const char *path, wm_onnx_tensor *t, char *msg, size_t msglen) {
  size_t len;
  unsigned char *b = read_all(path, &len);
  if (!b) { snprintf(msg, msglen, "cannot read %s", path); return 1; }
  char err[256];
  wm_onnx_status st = wm_onnx_parse_tensor(b, len, t, err, sizeof err);
  free(b);
  if (st == WM_ONNX_ERR_UNSUPPORTED) { snprintf(msg, msglen, "%s: %s", path, err); return 2; }
  if (st) { snprintf(msg, msglen, "%s: %s", path, err); return 1; }
  return 0;
}

static int compare(const wm_onnx_tensor *ref, const wm_onnx_tensor *got, int idx, char *msg, size_t msglen) {
  if (ref->dtype != got->dtype) {
    snprintf(msg, msglen, "output %d: type %s, expected %s", idx, wm_onnx_dtype_name(got->dtype), wm_onnx_dtype_name(ref->dtype));
    return 1;
  }
  int same = ref->ndim == got->ndim;
  for (int d = 0; same && d < ref->ndim; d++) same = ref->dims[d] == got->dims[d];
  if (!same) {
    char a[128] = "", b[128] = "";
    for (int d = 0; d < ref->ndim; d++) snprintf(a + strlen(a), sizeof a - strlen(a), "%lld,", (long long)ref->dims[d]);
    for (int d = 0; d < got->ndim; d++) snprintf(b + strlen(b), sizeof b - strlen(b), "%lld,", (long long)got->dims[d]);
    snprintf(msg, msglen, "output %d: shape [%s], expected [%s]", idx, b, a);
    return 1;
  }
  int64_t n = wm_onnx_numel(ref), bad = 0, first = -1;
  for (int64_t i = 0; i < n; i++) {
    int ok;
    if (is_float_type(ref->dtype)) {
      double r = tget(ref, i), g = tget(got, i);
      if (isnan(r) || isnan(g)) ok = isnan(r) && isnan(g);
      else if (isinf(r) || isinf(g)) ok = r == g;
      else ok = fabs(g - r) <= g_atol + g_rtol * fabs(r);
    } else {
      ok = tget_i64(ref, i) == tget_i64(got, i);
    }
    if (!ok) { if (first < 0) first = i; bad++; }
  }
  if (bad) {
    snprintf(msg, msglen, "output %d: %lld of %lld values differ, first at %lld: got %.9g expected %.9g", idx,
             (long long)bad, (long long)n, (long long)first, tget(got, first), tget(ref, first));
    return 1;
  }
  return 0;
}

/* Runs one model against given inputs/expected outputs. Returns 0 pass, 1 fail, 2 skip. */
static int run_model(const char *model_path, wm_onnx_tensor *ins, int nin, wm_onnx_tensor *refs, int nref,
                     char *msg, size_t msglen, wm_onnx_model *m) {
  int nmodel_in = wm_onnx_num_inputs(m);
  if (nin > nmodel_in) { snprintf(msg, msglen, "%d input files for %d graph inputs", nin, nmodel_in); return 1; }
  wm_onnx_tensor *all = calloc((size_t)nmodel_in + 1, sizeof *all);
  for (int i = 0; i < nin; i++) all[i] = ins[i];
  /* the backend test generator stores bfloat16 data as uint16 TensorProtos: retag where the graph wants bfloat16 */
  for (int i = 0; i < nin; i++) {
    wm_onnx_dtype dt;
    int64_t dims[WM_ONNX_MAX_DIMS];
    if (all[i].dtype == WM_ONNX_UINT16 && wm_onnx_input_info(m, i, &dt, dims) >= 0 && dt == WM_ONNX_BFLOAT16)
      all[i].dtype = WM_ONNX_BFLOAT16;
  }
  wm_onnx_tensor *outs = calloc((size_t)nref + 1, sizeof *outs);
  char err[512];
  int rc = 0;
  if (nref > wm_onnx_num_outputs(m)) {
    snprintf(msg, msglen, "%d output files for %d graph outputs", nref, wm_onnx_num_outputs(m));
    rc = 1;
  } else {
    /* g_runs times: the first run records the activation arena's plan, the next ones run in it */
    for (int r = 0; r < g_runs && !rc; r++) {
      wm_onnx_status st = wm_onnx_run(m, all, nmodel_in, outs, nref, err, sizeof err);
      if (st) {
        snprintf(msg, msglen, "run %d: %s", r + 1, err);
        rc = st == WM_ONNX_ERR_UNSUPPORTED ? 2 : 1;
        break;
      }
      for (int i = 0; i < nref && !rc; i++) {
        if (refs[i].dtype == WM_ONNX_UINT16 && outs[i].dtype == WM_ONNX_BFLOAT16) refs[i].dtype = WM_ONNX_BFLOAT16;
        rc = compare(&refs[i], &outs[i], i, msg, msglen);
        if (rc && r) snprintf(msg + strlen(msg), msglen - strlen(msg), " (run %d)", r + 1);
      }
      for (int i = 0; i < nref; i++) wm_onnx_tensor_free(&outs[i]);
    }
  }
  (void)model_path;
  free(all);
  free(outs);
  return rc;
}

static int run_test_dir_inner(const char *dir, char *msg, size_t msglen) {
  char path[4400];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  wm_onnx_model *m;
  char err[512];
  wm_onnx_status st = wm_onnx_load_file(path, &m, err, sizeof err);
  if (st == WM_ONNX_ERR_UNSUPPORTED) { snprintf(msg, msglen, "%s", err); return 2; }
  if (st) { snprintf(msg, msglen, "load: %s", err); return 1; }
  int rc = 0, nsets = 0;
  for (int s = 0; s < 64 && !rc; s++) {
    char sd[4096];
    snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, s);
    if (!is_dir(sd)) break;
    nsets++;
    wm_onnx_tensor ins[64], refs[64];
    int nin = 0, nref = 0;
    memset(ins, 0, sizeof ins);
    memset(refs, 0, sizeof refs);
    for (; nin < 64; nin++) {
      snprintf(path, sizeof path, "%s/input_%d.pb", sd, nin);
      if (!is_file(path)) break;
      if ((rc = load_pb(path, &ins[nin], msg, msglen))) break;
    }
    for (; !rc && nref < 64; nref++) {
      snprintf(path, sizeof path, "%s/output_%d.pb", sd, nref);
      if (!is_file(path)) break;
      if ((rc = load_pb(path, &refs[nref], msg, msglen))) break;
    }
    if (!rc) rc = run_model(dir, ins, nin, refs, nref, msg, msglen, m);
    for (int i = 0; i < 64; i++) { wm_onnx_tensor_free(&ins[i]); wm_onnx_tensor_free(&refs[i]); }
  }
  if (!nsets && !rc) { snprintf(msg, msglen, "no test_data_set_*"); rc = 1; }
  wm_onnx_free(m);
  return rc;
}

/* onnx "light" models: inputs are arange(n).reshape(shape)/n in float32 with unknown dims set to 1 */
static int run_light_inner(const char *model_path, const char *ref_path, char *msg, size_t msglen) {
  wm_onnx_model *m;
  char err[512];
  wm_onnx_status st = wm_onnx_load_file(model_path, &m, err, sizeof err);
  if (st == WM_ONNX_ERR_UNSUPPORTED) { snprintf(msg, msglen, "%s", err); return 2; }
  if (st) { snprintf(msg, msglen, "load: %s", err); return 1; }
  int nin = wm_onnx_num_inputs(m), rc = 0;
  wm_onnx_tensor *ins = calloc((size_t)nin + 1, sizeof *ins), ref;
  memset(&ref, 0, sizeof ref);
  for (int i = 0; i < nin && !rc; i++) {
    wm_onnx_dtype dt;
    int64_t dims[WM_ONNX_MAX_DIMS];
    if (wm_onnx_input_has_default(m, i)) continue; /* initializer-backed: keep the model's value */
    int nd = wm_onnx_input_info(m, i, &dt, dims);
    if (nd < 0 || dt != WM_ONNX_FLOAT) { snprintf(msg, msglen, "light input %d is not a float tensor", i); rc = 1; break; }
    ins[i].dtype = dt;
    ins[i].ndim = nd;
    for (int d = 0; d < nd; d++) ins[i].dims[d] = dims[d] < 0 ? 1 : dims[d];
    int64_t n = wm_onnx_numel(&ins[i]);
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t j = 0; j < n; j++) p[j] = (float)((double)j / (double)n);
    ins[i].data = p;
    ins[i].nbytes = (size_t)n * sizeof(float);
    ins[i].flags = WM_ONNX_TENSOR_OWNED;
  }
  if (!rc) rc = load_pb(ref_path, &ref, msg, msglen);
  if (!rc) rc = run_model(model_path, ins, nin, &ref, 1, msg, msglen, m);
  for (int i = 0; i < nin; i++) wm_onnx_tensor_free(&ins[i]);
  wm_onnx_tensor_free(&ref);
  free(ins);
  wm_onnx_free(m);
  return rc;
}

/* Runs fn in a child so a crashing kernel counts as one failure instead of ending the run. */
static int isolated(int (*fn)(const char *, const char *, char *, size_t), const char *a, const char *b, char *msg,
                    size_t msglen) {
  if (!g_fork) return fn(a, b, msg, msglen);
  int pfd[2];
  if (pipe(pfd)) return fn(a, b, msg, msglen);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) { close(pfd[0]); close(pfd[1]); return fn(a, b, msg, msglen); }
  if (pid == 0) {
    close(pfd[0]);
    int rc = fn(a, b, msg, msglen);
    size_t l = strlen(msg) + 1;
    if (write(pfd[1], msg, l) < 0) rc = 1;
    _exit(rc);
  }
  close(pfd[1]);
  size_t got = 0;
  ssize_t r;
  while (got < msglen - 1 && (r = read(pfd[0], msg + got, msglen - 1 - got)) > 0) got += (size_t)r;
  msg[got] = 0;
  close(pfd[0]);
  int status;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  snprintf(msg, msglen, "crashed with signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  return 1;
}

static int test_dir_adapter(const char *dir, const char *unused, char *msg, size_t msglen) {
  (void)unused;
  return run_test_dir_inner(dir, msg, msglen);
}

static void report(const char *name, int rc, const char *msg, double secs) {
  if (rc == 0) {
    n_pass++;
    if (g_verbose) printf("PASS %s (%.3fs)\n", name, secs);
  } else if (rc == 2) {
    n_skip++;
    note_skip(msg);
    if (g_verbose) printf("SKIP %s: %s\n", name, msg);
  } else {
    n_fail++;
    printf("FAIL %s: %s\n", name, msg);
  }
  fflush(stdout);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_path(const char *dir) {
  char path[4096], msg[1024];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  if (is_file(path)) {
    const char *base = strrchr(dir, '/');
    double t0 = now();
    msg[0] = 0;
    int rc = isolated(test_dir_adapter, dir, NULL, msg, sizeof msg);
    report(base && base[1] ? base + 1 : dir, rc, msg, now() - t0);
    return;
  }
  DIR *d = opendir(dir);
  if (!d) { printf("FAIL %s: not a test directory\n", dir); n_fail++; return; }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) { cap = cap ? cap * 2 : 256; names = realloc(names, cap * sizeof *names); }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    size_t l = strlen(names[i]);
    if (is_dir(path)) {
      char mp[4200];
      snprintf(mp, sizeof mp, "%s/model.onnx", path);
      if (is_file(mp)) run_path(path);
    } else if (l > 5 && !strcmp(names[i] + l - 5, ".onnx")) {
      char ref[4200];
      snprintf(ref, sizeof ref, "%s/%.*s_output_0.pb", dir, (int)(l - 5), names[i]);
      if (is_file(ref)) {
        double t0 = now();
        msg[0] = 0;
        int rc = isolated(run_light_inner, path, ref, msg, sizeof msg);
        report(names[i], rc, msg, now() - t0);
      }
    }
    free(names[i]);
  }
  free(names);
}

/* `wasmind nn test` (src/nn/nn_cli.c) includes this file with WM_ONNX_TEST_MAIN renamed, so the runner has one copy. */
#ifndef WM_ONNX_TEST_MAIN
#define WM_ONNX_TEST_MAIN main
#endif
int WM_ONNX_TEST_MAIN(int argc, char **argv);
int WM_ONNX_TEST_MAIN(int argc, char **argv) {
  int ndirs = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-v")) g_verbose = 1;
    else if (!strcmp(argv[i], "--no-fork")) g_fork = 0;
    else if (!strcmp(argv[i], "--rtol") && i + 1 < argc) g_rtol = atof(argv[++i]);
    else if (!strcmp(argv[i], "--atol") && i + 1 < argc) g_atol = atof(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) wm_onnx_set_threads(atoi(argv[++i]));
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      g_runs = atoi(argv[++i]);
      if (g_runs < 1) g_runs = 1;
    }
    else if (!strcmp(argv[i], "--check-shapes")) setenv("WM_ONNX_CHECK_SHAPES", "1", 1); /* see graph.c */
    else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: %s [-v] [--no-fork] [--rtol R] [--atol A] [--threads N] [--runs N] [--check-shapes] DIR...\n", argv[0]);
      return 2;
    } else {
      run_path(argv[i]);
      ndirs++;
    }
  }
  if (!ndirs) {
    fprintf(stderr, "usage: %s [-v] [--no-fork] [--rtol R] [--atol A] [--threads N] [--runs N] [--check-shapes] DIR...\n", argv[0]);
    return 2;
  }
  if (g_nskips) {
    printf("skipped (unsupported):");
    for (int i = 0; i < g_nskips; i++) printf(" %s(%d)", g_skips[i].name, g_skips[i].count);
    printf("\n");
  }
  printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
  return n_fail ? 1 : 0;
}
