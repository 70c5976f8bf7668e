/* classify.c — WASI guest: image classification through WASI-NN (decode with stb_image, bilinear resize,
 * ImageNet normalisation to NCHW float32, run an ONNX classifier, print the top-5 classes). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_UTIL_STB_IMAGE
#include "guest_util.h"

#include "wasi_nn.h"

#define TOPK 5

static const float kMean[3] = { 0.485f, 0.456f, 0.406f };
static const float kStd[3] = { 0.229f, 0.224f, 0.225f };

static void usage(FILE *out) {
    fprintf(out,
            "usage: classify (--model NAME | --model-file PATH) [options] IMAGE\n"
            "  --model NAME        a model preloaded by the host (wasmind run --nn-preload NAME:onnx:cpu:PATH)\n"
            "  --model-file PATH   an ONNX file to read (through a --dir mapping) and pass to wasi-nn load\n"
            "  --labels FILE       class names, one per line (line i = class i)\n"
            "  --size N            input height and width (default 224)\n"
            "  --dump-input FILE   write the preprocessed input tensor as an ONNX TensorProto (.pb)\n"
            "  --input-name NAME   tensor name stored in the dump (default data_0)\n"
            "  --raw-input FILE    write the preprocessed input as raw little-endian float32 (NCHW)\n");
}

/* Bilinear resize of an 8-bit RGB image to out_w x out_h with half-pixel centres (align_corners = false,
 * the PIL / torchvision / ONNX Resize "half_pixel" convention), then ImageNet normalisation into NCHW. */
static void preprocess(const uint8_t *rgb, int w, int h, int out_w, int out_h, float *nchw) {
    float sx = (float)w / (float)out_w, sy = (float)h / (float)out_h;
    size_t plane = (size_t)out_w * out_h;
    for (int oy = 0; oy < out_h; oy++) {
        float fy = ((float)oy + 0.5f) * sy - 0.5f;
        if (fy < 0) fy = 0;
        int y0 = (int)fy;
        if (y0 > h - 1) y0 = h - 1;
        int y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        float wy = fy - (float)y0;
        for (int ox = 0; ox < out_w; ox++) {
            float fx = ((float)ox + 0.5f) * sx - 0.5f;
            if (fx < 0) fx = 0;
            int x0 = (int)fx;
            if (x0 > w - 1) x0 = w - 1;
            int x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            float wx = fx - (float)x0;
            for (int c = 0; c < 3; c++) {
                float p00 = rgb[((size_t)y0 * w + x0) * 3 + c], p01 = rgb[((size_t)y0 * w + x1) * 3 + c];
                float p10 = rgb[((size_t)y1 * w + x0) * 3 + c], p11 = rgb[((size_t)y1 * w + x1) * 3 + c];
                float top = p00 + (p01 - p00) * wx, bot = p10 + (p11 - p10) * wx;
                float v = (top + (bot - top) * wy) / 255.0f;
                nchw[(size_t)c * plane + (size_t)oy * out_w + ox] = (v - kMean[c]) / kStd[c];
            }
        }
    }
}

/* ---- dumping the input tensor ------------------------------------------------------------------------------ */

static void put_varint(FILE *f, uint64_t v) {
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        if (v) b |= 0x80;
        fputc(b, f);
    } while (v);
}

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

/* ONNX TensorProto: dims = 1 (varint, repeated), data_type = 2 (FLOAT = 1), name = 8, raw_data = 9.
 * raw_data is little-endian, which wasm memory already is. */
static int dump_tensor_pb(const char *path, const char *name, const uint32_t *dims, int ndims, const float *data,
                          size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (int i = 0; i < ndims; i++) { fputc(0x08, f); put_varint(f, dims[i]); }
    fputc(0x10, f); put_varint(f, 1);
    fputc(0x42, f); put_varint(f, strlen(name)); write_all(f, name, strlen(name));
    fputc(0x4a, f); put_varint(f, n * sizeof(float));
    int rc = write_all(f, data, n * sizeof(float));
    if (fclose(f) != 0) rc = -1;
    return rc;
}

static int dump_raw(const char *path, const float *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = write_all(f, data, n * sizeof(float));
    if (fclose(f) != 0) rc = -1;
    return rc;
}

/* ---- labels ----------------------------------------------------------------------------------------------- */

static char **load_labels(const char *path, int *count) {
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf) return NULL;
    char *text = realloc(buf, len + 1);
    if (!text) { free(buf); return NULL; }
    text[len] = 0;
    int n = 0, cap = 1024;
    char **lines = malloc(sizeof *lines * cap);
    for (char *p = text; lines && *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = 0;
        if (n == cap) {
            char **nl = realloc(lines, sizeof *lines * (cap *= 2));
            if (!nl) break;
            lines = nl;
        }
        lines[n++] = p;
        if (!e) break;
        p = e + 1;
    }
    *count = n;
    return lines;   /* the lines point into text, which lives as long as the program */
}

/* ---- main -------------------------------------------------------------------------------------------------- */

#define CHECK(call)                                                                                          \
    do {                                                                                                     \
        wasi_nn_errno e_ = (call);                                                                           \
        if (e_ != WASI_NN_SUCCESS) {                                                                         \
            fprintf(stderr, "classify: %s failed: %s (%d)\n", #call, wasi_nn_strerror(e_), (int)e_);         \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

int main(int argc, char **argv) {
    const char *model = NULL, *model_file = NULL, *labels_path = NULL, *image = NULL;
    const char *dump_pb = NULL, *dump_rawf = NULL, *input_name = "data_0";
    int size = 224;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
#define OPT(s, dst) else if (!strcmp(a, s) && v) { dst = v; i++; }
        OPT("--model", model)
        OPT("--model-file", model_file)
        OPT("--labels", labels_path)
        OPT("--dump-input", dump_pb)
        OPT("--raw-input", dump_rawf)
        OPT("--input-name", input_name)
#undef OPT
        else if (!strcmp(a, "--size") && v) { size = atoi(v); i++; }
        else if (a[0] == '-' || image) { fprintf(stderr, "classify: unexpected argument '%s'\n", a); usage(stderr); return 2; }
        else image = a;
    }
    if (!image || !!model == !!model_file || size < 1 || size > 4096) { usage(stderr); return 2; }

    int w, h, comp;
    uint8_t *rgb = stbi_load(image, &w, &h, &comp, 3);
    if (!rgb) { fprintf(stderr, "classify: cannot read image %s: %s\n", image, stbi_failure_reason()); return 1; }
    uint32_t dims[4] = { 1, 3, (uint32_t)size, (uint32_t)size };
    size_t n = (size_t)3 * size * size;
    float *input = malloc(n * sizeof *input);
    if (!input) { fprintf(stderr, "classify: out of memory\n"); return 1; }
    preprocess(rgb, w, h, size, size, input);
    stbi_image_free(rgb);
    fprintf(stderr, "classify: %s %dx%d -> 1x3x%dx%d\n", image, w, h, size, size);
    if (dump_pb && dump_tensor_pb(dump_pb, input_name, dims, 4, input, n)) {
        fprintf(stderr, "classify: cannot write %s: %s\n", dump_pb, strerror(errno));
        return 1;
    }
    if (dump_rawf && dump_raw(dump_rawf, input, n)) {
        fprintf(stderr, "classify: cannot write %s: %s\n", dump_rawf, strerror(errno));
        return 1;
    }

    wasi_nn_graph graph;
    if (model) {
        CHECK(wasi_nn_load_by_name_str(model, &graph));
    } else {
        size_t mlen;
        uint8_t *bytes = read_file(model_file, &mlen);
        if (!bytes) { fprintf(stderr, "classify: cannot read model %s: %s\n", model_file, strerror(errno)); return 1; }
        if (mlen > UINT32_MAX) { fprintf(stderr, "classify: model too large\n"); return 1; }
        CHECK(wasi_nn_load_bytes(bytes, (uint32_t)mlen, WASI_NN_ENCODING_ONNX, WASI_NN_TARGET_CPU, &graph));
        free(bytes);   /* the host copies what it keeps */
    }
    wasi_nn_ctx ctx;
    CHECK(wasi_nn_init_execution_context(graph, &ctx));
    wasi_nn_tensor t = wasi_nn_tensor_f32(dims, 4, input);
    CHECK(wasi_nn_set_input(ctx, 0, &t));
    CHECK(wasi_nn_compute(ctx));

    /* probe the output size: a too-small buffer gives too_large with the size needed */
    uint32_t need = 0;
    float probe;
    wasi_nn_errno e = wasi_nn_get_output(ctx, 0, (uint8_t *)&probe, 0, &need);
    if (e != WASI_NN_SUCCESS && e != WASI_NN_TOO_LARGE) CHECK(e);
    if (need % sizeof(float) || need == 0) { fprintf(stderr, "classify: output is %u bytes, not float32\n", need); return 1; }
    float *scores = malloc(need);
    uint32_t got = 0;
    if (!scores) { fprintf(stderr, "classify: out of memory\n"); return 1; }
    CHECK(wasi_nn_get_output(ctx, 0, (uint8_t *)scores, need, &got));
    int nclass = (int)(got / sizeof(float));
    wasi_nn_finalize_execution_context(ctx);
    wasi_nn_unload(graph);

    /* top-k by selection: higher score first, lower index on ties */
    int top[TOPK], k = nclass < TOPK ? nclass : TOPK;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int c = 0; c < nclass; c++) {
            int taken = 0;
            for (int q = 0; q < j; q++) taken |= top[q] == c;
            if (taken || isnan(scores[c])) continue;
            if (best < 0 || scores[c] > scores[best]) best = c;
        }
        if (best < 0) { k = j; break; }
        top[j] = best;
    }
    int nlabels = 0;
    char **labels = labels_path ? load_labels(labels_path, &nlabels) : NULL;
    if (labels_path && !labels) fprintf(stderr, "classify: cannot read labels %s: %s\n", labels_path, strerror(errno));
    printf("top-%d of %d classes:\n", k, nclass);
    for (int j = 0; j < k; j++) {
        printf("%d %d %.6g", j + 1, top[j], scores[top[j]]);
        if (labels && top[j] < nlabels) printf(" %s", labels[top[j]]);
        printf("\n");
    }
    free(scores);
    free(input);
    return 0;
}
