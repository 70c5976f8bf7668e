/* wmt.h — reads the raw tensors (.wmt: type, rank, dims as uint32, then the data) that tests/models/make_refs.py
 * writes, and fetches outputs into a growing buffer, for the WASI-NN guests of tests/models and bench/onnx. */
#ifndef WASMIND_WMT_H
#define WASMIND_WMT_H
#include <stdio.h>
#include <stdlib.h>

#include "wasi_nn.h"

typedef struct { uint32_t type, ndim, dims[8]; uint8_t *data; uint32_t len; } raw_tensor;

static int read_wmt(const char *path, raw_tensor *t) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int ok = fread(&t->type, 4, 1, f) == 1 && fread(&t->ndim, 4, 1, f) == 1 && t->ndim <= 8 &&
             fread(t->dims, 4, t->ndim, f) == t->ndim;
    if (ok) {
        t->len = wasi_nn_numel(t->dims, t->ndim) * wasi_nn_type_size((wasi_nn_type)t->type);
        t->data = malloc(t->len ? t->len : 1);
        ok = t->data && fread(t->data, 1, t->len, f) == t->len;
    }
    fclose(f);
    return ok ? 0 : -1;
}

/* Output k into *buf (*cap bytes), grown to the size the host says it needs; *written gets its length. An
 * error of wasi_nn_get_output, or WASI_NN_TOO_LARGE if the buffer cannot grow. */
static wasi_nn_errno get_output_grow(wasi_nn_ctx ctx, uint32_t k, uint8_t **buf, uint32_t *cap, uint32_t *written) {
    wasi_nn_errno e = wasi_nn_get_output(ctx, k, *buf, *cap, written);
    if (e != WASI_NN_TOO_LARGE) return e;
    uint8_t *nb = realloc(*buf, *written);
    if (!nb) return WASI_NN_TOO_LARGE;
    *buf = nb;
    *cap = *written;
    return wasi_nn_get_output(ctx, k, *buf, *cap, written);
}
#endif
