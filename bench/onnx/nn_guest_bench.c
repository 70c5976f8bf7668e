/* nn_guest_bench.c — WASI-NN benchmark guest for bench/onnx: times a preloaded model the way a guest uses it
 * (set_input for every input, compute, get_output for every output) and prints the median, as `nn bench` does.
 * Usage: nn_guest_bench MODEL_NAME NOUT ITERS SETDIR   (SETDIR holds input_K.wmt raw tensors, see tests/models) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasi_nn.h"
#include "../../tests/models/wmt.h"

static void die(const char *what, wasi_nn_errno e) {
    fprintf(stderr, "nn_guest_bench: %s: %s\n", what, wasi_nn_strerror(e));
    exit(1);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: nn_guest_bench MODEL_NAME NOUT ITERS SETDIR\n"); return 2; }
    int nout = atoi(argv[2]), iters = atoi(argv[3]);
    if (nout < 1 || iters < 1) { fprintf(stderr, "nn_guest_bench: NOUT and ITERS must be positive\n"); return 2; }
    raw_tensor in[16];
    int nin = 0;
    char path[4096];
    for (; nin < 16; nin++) {
        snprintf(path, sizeof path, "%s/input_%d.wmt", argv[4], nin);
        if (read_wmt(path, &in[nin])) break;
    }
    if (nin == 0) { fprintf(stderr, "nn_guest_bench: no %s/input_0.wmt\n", argv[4]); return 1; }
    wasi_nn_graph g;
    wasi_nn_ctx ctx;
    wasi_nn_errno e;
    if ((e = wasi_nn_load_by_name_str(argv[1], &g))) die("load_by_name", e);
    if ((e = wasi_nn_init_execution_context(g, &ctx))) die("init_execution_context", e);
    uint32_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    double *ms = malloc((size_t)iters * sizeof *ms);
    if (!buf || !ms) { fprintf(stderr, "nn_guest_bench: out of memory\n"); return 1; }
    for (int it = -1; it < iters; it++) { /* it = -1: the warm-up run, as nn bench does one */
        double t0 = now_ms();
        for (int i = 0; i < nin; i++) {
            wasi_nn_tensor t = wasi_nn_tensor_make((wasi_nn_type)in[i].type, in[i].dims, in[i].ndim, in[i].data);
            if ((e = wasi_nn_set_input(ctx, (uint32_t)i, &t))) die("set_input", e);
        }
        if ((e = wasi_nn_compute(ctx))) die("compute", e);
        for (int k = 0; k < nout; k++) {
            uint32_t written = 0;
            if ((e = get_output_grow(ctx, (uint32_t)k, &buf, &cap, &written))) die("get_output", e);
        }
        if (it >= 0) ms[it] = now_ms() - t0;
    }
    qsort(ms, (size_t)iters, sizeof *ms, cmp_double);
    double med = iters % 2 ? ms[iters / 2] : (ms[iters / 2 - 1] + ms[iters / 2]) / 2;
    printf("guest: median %.3f ms over %d runs (set_input + compute + get_output)\n", med, iters);
    free(ms);
    free(buf);
    for (int i = 0; i < nin; i++) free(in[i].data);
    wasi_nn_finalize_execution_context(ctx);
    wasi_nn_unload(g);
    return 0;
}
