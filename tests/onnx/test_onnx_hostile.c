/* test_onnx_hostile.c — robustness test for the ONNX reader: every truncation and many byte mutations of real
 * models must load cleanly or fail with a message, never crash (run under ASan/UBSan in CI).
 * Usage: test_onnx_hostile MODEL.onnx... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"

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

/* Loads buf and, when it loads, runs it on zero inputs of the declared shapes (dynamic dims = 1). */
static void try_model(const unsigned char *buf, size_t len, int *loaded, int *rejected) {
  wm_onnx_model *m;
  char err[256] = "";
  if (wm_onnx_load_buffer(buf, len, NULL, &m, err, sizeof err)) {
    if (!err[0]) { fprintf(stderr, "load failed without a message\n"); exit(1); }
    (*rejected)++;
    return;
  }
  (*loaded)++;
  int nin = wm_onnx_num_inputs(m), nout = wm_onnx_num_outputs(m);
  wm_onnx_tensor *ins = calloc((size_t)nin + 1, sizeof *ins), *outs = calloc((size_t)nout + 1, sizeof *outs);
  for (int i = 0; i < nin; i++) {
    wm_onnx_dtype dt;
    int64_t dims[WM_ONNX_MAX_DIMS];
    int nd = wm_onnx_input_info(m, i, &dt, dims);
    if (nd < 0 || !wm_onnx_dtype_size(dt) || wm_onnx_input_has_default(m, i)) continue;
    ins[i].dtype = dt;
    ins[i].ndim = nd;
    for (int d = 0; d < nd; d++) ins[i].dims[d] = dims[d] < 0 || dims[d] > 64 ? 1 : dims[d];
    ins[i].nbytes = (size_t)wm_onnx_numel(&ins[i]) * wm_onnx_dtype_size(dt);
    ins[i].data = calloc(1, ins[i].nbytes + 1);
    ins[i].flags = WM_ONNX_TENSOR_OWNED;
  }
  if (wm_onnx_run(m, ins, nin, outs, nout, err, sizeof err) == WM_ONNX_OK)
    for (int i = 0; i < nout; i++) wm_onnx_tensor_free(&outs[i]);
  for (int i = 0; i < nin; i++) wm_onnx_tensor_free(&ins[i]);
  free(ins);
  free(outs);
  wm_onnx_free(m);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.onnx...\n", argv[0]);
    return 2;
  }
  unsigned seed = 12345;
  int passed = 0, failed = 0;
  for (int a = 1; a < argc; a++) {
    size_t len;
    unsigned char *orig = read_all(argv[a], &len);
    if (!orig) { fprintf(stderr, "cannot read %s\n", argv[a]); return 1; }
    int loaded = 0, rejected = 0;
    /* The untouched model must load: otherwise every variant is trivially rejected. */
    try_model(orig, len, &loaded, &rejected);
    if (loaded != 1) { printf("FAIL %s: the unmodified model does not load\n", argv[a]); failed++; }
    loaded = rejected = 0;
    size_t step = len > 4000 ? len / 2000 : 1;
    for (size_t cut = 0; cut < len; cut += step) {
      unsigned char *b = malloc(cut ? cut : 1); /* exact-size copy so ASan sees any overread */
      memcpy(b, orig, cut);
      try_model(b, cut, &loaded, &rejected);
      free(b);
    }
    unsigned char *b = malloc(len);
    for (int it = 0; it < 2000; it++) {
      memcpy(b, orig, len);
      for (int j = 0; j < 1 + it % 4; j++) {
        seed = seed * 1103515245u + 12345u;
        size_t pos = (seed >> 8) % len;
        seed = seed * 1103515245u + 12345u;
        b[pos] = (unsigned char)(seed >> 16);
      }
      try_model(b, len, &loaded, &rejected);
    }
    free(b);
    free(orig);
    printf("%s: %d variants loaded, %d rejected, no crash\n", argv[a], loaded, rejected);
    passed += loaded + rejected;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
