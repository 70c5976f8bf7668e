/* fuzz_onnx.c — libFuzzer harness for the ONNX loader: wm_onnx_load_buffer on arbitrary bytes, then, if the
 * model loads, one run with small zero-filled inputs (symbolic dims = 1, every input bounded in size). */
#include "onnx/onnx.h"
#include <stdlib.h>
#include <string.h>

#define MAX_IN_ELEMS (1 << 16)   /* skip the run when any input would exceed this many elements */

int wm_fuzz_onnx_one(const uint8_t *data, size_t size)
{
    /* copy: the loader may borrow weights from the buffer, and a private copy lets ASan see overreads */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    wm_onnx_model *m = NULL;
    char err[256];
    if (wm_onnx_load_buffer(buf, size, NULL, &m, err, sizeof err) != WM_ONNX_OK || !m) { free(buf); return 0; }

    int nin = wm_onnx_num_inputs(m), nout = wm_onnx_num_outputs(m);
    if (nin < 0 || nin > 64 || nout < 0 || nout > 64) goto done;
    wm_onnx_tensor in[64], out[64];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    int ok = 1;
    for (int i = 0; i < nin && ok; i++) {
        if (wm_onnx_input_has_default(m, i)) continue;   /* data == NULL keeps the initializer */
        wm_onnx_dtype dt;
        int64_t dims[WM_ONNX_MAX_DIMS];
        int nd = wm_onnx_input_info(m, i, &dt, dims);
        if (nd < 0 || nd > WM_ONNX_MAX_DIMS) { ok = 0; break; }
        size_t esz = wm_onnx_dtype_size(dt);
        if (!esz || dt == WM_ONNX_STRING) { ok = 0; break; }
        int64_t n = 1;
        in[i].dtype = dt;
        in[i].ndim = nd;
        for (int d = 0; d < nd; d++) {
            int64_t v = dims[d] < 0 ? 1 : dims[d];
            if (v > MAX_IN_ELEMS || (n *= v) > MAX_IN_ELEMS) { ok = 0; break; }
            in[i].dims[d] = v;
        }
        if (!ok) break;
        in[i].nbytes = (size_t)n * esz;
        in[i].data = calloc(in[i].nbytes ? in[i].nbytes : 1, 1);
        if (!in[i].data) ok = 0;
    }
    if (ok) {
        if (wm_onnx_run(m, in, nin, out, nout, err, sizeof err) == WM_ONNX_OK)
            for (int i = 0; i < nout; i++) wm_onnx_tensor_free(&out[i]);
    }
    for (int i = 0; i < nin; i++) free(in[i].data);
done:
    wm_onnx_free(m);
    free(buf);
    return 0;
}

#ifdef WM_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return wm_fuzz_onnx_one(data, size); }
#endif
