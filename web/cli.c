/* cli.c — main of wasmind-onnx-cli.wasm, the engine as a WASI command (no WASI-NN needed): like `wasmind nn run`,
 *   wasmind-onnx MODEL.onnx [--input NAME=FILE.pb]... [--output-dir DIR] [--iters K]
 * runs the model on TensorProto inputs, prints each output's head, writes DIR/output_N.pb; --iters times K runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "onnx.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *b = malloc(cap);
  for (;;) {
    if (!b) break;
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (n < cap) break;
    unsigned char *nb = realloc(b, cap *= 2);
    if (!nb) {
      free(b);
      b = NULL;
    }
    b = nb;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return NULL;
  }
  *len = n;
  return b;
}

/* TensorProto writer, the format `wasmind nn run` writes (dims = 1, data_type = 2, name = 8, raw_data = 9). */
static void put_varint(FILE *f, uint64_t v) {
  while (v >= 0x80) {
    fputc((int)(v & 0x7f) | 0x80, f);
    v >>= 7;
  }
  fputc((int)v, f);
}
static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}
static int write_pb(const char *path, const char *name, const wm_onnx_tensor *t) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  if (t->ndim > 0) {
    size_t n = 0;
    for (int d = 0; d < t->ndim; d++) n += varint_len((uint64_t)t->dims[d]);
    fputc(0x0a, f);
    put_varint(f, n);
    for (int d = 0; d < t->ndim; d++) put_varint(f, (uint64_t)t->dims[d]);
  }
  fputc(0x10, f);
  put_varint(f, (uint64_t)t->dtype);
  size_t nl = strlen(name);
  fputc(0x42, f);
  put_varint(f, nl);
  fwrite(name, 1, nl, f);
  fputc(0x4a, f);
  put_varint(f, t->nbytes);
  if (t->nbytes) fwrite(t->data, 1, t->nbytes, f);
  return fclose(f) ? -1 : 0;
}

static void print_tensor(const char *name, const wm_onnx_tensor *t) {
  printf("%s: %s [", name, wm_onnx_dtype_name(t->dtype));
  for (int d = 0; d < t->ndim; d++) printf(d ? "x%lld" : "%lld", (long long)t->dims[d]);
  printf("] =");
  int64_t n = wm_onnx_numel(t);
  for (int64_t i = 0; i < n && i < 8; i++) {
    switch (t->dtype) {
    case WM_ONNX_FLOAT: printf(" %.6g", ((const float *)t->data)[i]); break;
    case WM_ONNX_DOUBLE: printf(" %.6g", ((const double *)t->data)[i]); break;
    case WM_ONNX_INT64: printf(" %lld", (long long)((const int64_t *)t->data)[i]); break;
    case WM_ONNX_INT32: printf(" %d", ((const int32_t *)t->data)[i]); break;
    case WM_ONNX_UINT8:
    case WM_ONNX_BOOL: printf(" %u", ((const uint8_t *)t->data)[i]); break;
    default: printf(" ?"); i = n; break;
    }
  }
  printf("%s\n", n > 8 ? " ..." : "");
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void usage(FILE *f) {
  fprintf(f, "usage: wasmind-onnx MODEL.onnx [--input NAME=FILE.pb]... [--output-dir DIR] [--iters K]\n"
             "  runs the model once (or K timed runs after a warm-up), prints every output,\n"
             "  writes DIR/output_N.pb (TensorProto)\n");
}

int main(int argc, char **argv) {
  const char *model = NULL, *outdir = NULL, *ins[256];
  int nins = 0, iters = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--input") && i + 1 < argc && nins < 256) ins[nins++] = argv[++i];
    else if (!strcmp(argv[i], "--output-dir") && i + 1 < argc) outdir = argv[++i];
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) i++; /* accepted for `nn run` parity: one thread here */
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-' || model) {
      fprintf(stderr, "error: unexpected argument `%s`\n", argv[i]);
      usage(stderr);
      return 2;
    } else model = argv[i];
  }
  if (!model || iters < 0) {
    usage(stderr);
    return 2;
  }
  char err[1024];
  wm_onnx_model *m;
  double t0 = now();
  if (wm_onnx_load_file(model, &m, err, sizeof err)) {
    fprintf(stderr, "error: cannot load %s: %s\n", model, err);
    return 1;
  }
  fprintf(stderr, "loaded in %.3f ms\n", (now() - t0) * 1e3);
  int nin = wm_onnx_num_inputs(m), nout = wm_onnx_num_outputs(m), rc = 0;
  wm_onnx_tensor *in = calloc((size_t)nin + 1, sizeof *in), *out = calloc((size_t)nout + 1, sizeof *out);
  for (int k = 0; k < nins && !rc; k++) {
    const char *eq = strchr(ins[k], '=');
    int idx = -1;
    for (int i = 0; eq && i < nin; i++)
      if (strlen(wm_onnx_input_name(m, i)) == (size_t)(eq - ins[k]) && !strncmp(wm_onnx_input_name(m, i), ins[k], (size_t)(eq - ins[k])))
        idx = i;
    if (idx < 0) {
      fprintf(stderr, "error: --input `%s`: expected NAME=FILE.pb with NAME a model input\n", ins[k]);
      rc = 2;
      break;
    }
    size_t len;
    unsigned char *b = read_all(eq + 1, &len);
    if (!b) {
      fprintf(stderr, "error: cannot read %s: %s\n", eq + 1, strerror(errno));
      rc = 1;
      break;
    }
    wm_onnx_tensor_free(&in[idx]);
    if (wm_onnx_parse_tensor(b, len, &in[idx], err, sizeof err)) {
      fprintf(stderr, "error: %s: %s\n", eq + 1, err);
      rc = 1;
    }
    free(b);
  }
  for (int i = 0; i < nin && !rc; i++)
    if (!in[i].data && !wm_onnx_input_has_default(m, i)) {
      fprintf(stderr, "error: input `%s` not given (--input %s=FILE.pb)\n", wm_onnx_input_name(m, i), wm_onnx_input_name(m, i));
      rc = 2;
    }
  double *times = iters ? calloc((size_t)iters, sizeof *times) : NULL;
  for (int it = iters ? -1 : 0; it < (iters ? iters : 1) && !rc; it++) { /* it = -1: warm-up, not timed */
    for (int i = 0; i < nout; i++) wm_onnx_tensor_free(&out[i]);
    double t = now();
    if (wm_onnx_run(m, in, nin, out, nout, err, sizeof err)) {
      fprintf(stderr, "error: run: %s\n", err);
      rc = 1;
    }
    t = now() - t;
    if (it >= 0 && times) times[it] = t;
    if (!iters) fprintf(stderr, "ran in %.3f ms\n", t * 1e3);
  }
  if (!rc && iters) {
    qsort(times, (size_t)iters, sizeof *times, cmp_dbl);
    double med = iters % 2 ? times[iters / 2] : (times[iters / 2 - 1] + times[iters / 2]) / 2;
    printf("iterations: %d\nlatency: median %.3f ms, min %.3f ms, max %.3f ms\n", iters, med * 1e3, times[0] * 1e3,
           times[iters - 1] * 1e3);
  }
  if (!rc && outdir && mkdir(outdir, 0777) && errno != EEXIST) {
    fprintf(stderr, "error: cannot create %s: %s\n", outdir, strerror(errno));
    rc = 1;
  }
  for (int i = 0; i < nout && !rc; i++) {
    print_tensor(wm_onnx_output_name(m, i), &out[i]);
    if (outdir) {
      char p[4200];
      snprintf(p, sizeof p, "%s/output_%d.pb", outdir, i);
      if (write_pb(p, wm_onnx_output_name(m, i), &out[i])) {
        fprintf(stderr, "error: cannot write %s: %s\n", p, strerror(errno));
        rc = 1;
      }
    }
  }
  for (int i = 0; i < nin; i++) wm_onnx_tensor_free(&in[i]);
  for (int i = 0; i < nout; i++) wm_onnx_tensor_free(&out[i]);
  free(in);
  free(out);
  free(times);
  wm_onnx_free(m);
  return rc;
}
