/* nn_guest.c — WASI-NN test guest: runs a preloaded model on raw tensors (.wmt files written by make_refs.py)
 * for one or more test data sets in one execution context, and writes each output's raw bytes.
 * Usage: nn_guest MODEL_NAME NOUT [--carry OUT:IN] SETDIR...   (writes SETDIR/guest_output_K.bin)
 * --carry feeds output OUT of one set to input IN of the next (a recurrent state: silero VAD), instead of
 * the file, so the test sees the state round-trip through the guest's own memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_nn.h"
#include "wmt.h"

static void die(const char *what, wasi_nn_errno e) {
    fprintf(stderr, "nn_guest: %s: %s\n", what, wasi_nn_strerror(e));
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: nn_guest MODEL_NAME NOUT [--carry OUT:IN] SETDIR...\n"); return 2; }
    const char *name = argv[1];
    int nout = atoi(argv[2]), argi = 3, carry_out = -1, carry_in = -1;
    if (!strcmp(argv[argi], "--carry") && argi + 1 < argc) {
        if (sscanf(argv[argi + 1], "%d:%d", &carry_out, &carry_in) != 2) { fprintf(stderr, "bad --carry\n"); return 2; }
        argi += 2;
    }
    wasi_nn_graph g;
    wasi_nn_ctx ctx;
    wasi_nn_errno e;
    if ((e = wasi_nn_load_by_name_str(name, &g))) die("load_by_name", e);
    if ((e = wasi_nn_init_execution_context(g, &ctx))) die("init_execution_context", e);

    uint32_t cap = 1 << 20;
    uint8_t *buf = malloc(cap), *carried = NULL;
    uint32_t carried_len = 0;
    for (int s = argi; s < argc; s++) {
        raw_tensor in[16];
        int nin = 0;
        char path[4096];
        for (; nin < 16; nin++) {
            snprintf(path, sizeof path, "%s/input_%d.wmt", argv[s], nin);
            if (read_wmt(path, &in[nin])) break;
        }
        if (nin == 0) { fprintf(stderr, "nn_guest: no %s/input_0.wmt\n", argv[s]); return 1; }
        for (int i = 0; i < nin; i++) {
            wasi_nn_tensor t = wasi_nn_tensor_make((wasi_nn_type)in[i].type, in[i].dims, in[i].ndim, in[i].data);
            if (i == carry_in && carried) {
                if (carried_len != t.data_len) { fprintf(stderr, "nn_guest: carried state size mismatch\n"); return 1; }
                t.data = carried;
            }
            if ((e = wasi_nn_set_input(ctx, (uint32_t)i, &t))) die("set_input", e);
        }
        if ((e = wasi_nn_compute(ctx))) die("compute", e);
        for (int k = 0; k < nout; k++) {
            uint32_t written = 0;
            if ((e = get_output_grow(ctx, (uint32_t)k, &buf, &cap, &written))) die("get_output", e);
            snprintf(path, sizeof path, "%s/guest_output_%d.bin", argv[s], k);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(buf, 1, written, f) != written || fclose(f)) { fprintf(stderr, "nn_guest: write %s\n", path); return 1; }
            if (k == carry_out) {
                free(carried);
                carried = malloc(written);
                memcpy(carried, buf, written);
                carried_len = written;
            }
        }
        for (int i = 0; i < nin; i++) free(in[i].data);
    }
    free(carried);
    free(buf);
    wasi_nn_finalize_execution_context(ctx);
    wasi_nn_unload(g);
    return 0;
}
