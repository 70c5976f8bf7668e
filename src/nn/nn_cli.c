/* nn_cli.c — `wasmind nn` subcommands for the built-in ONNX engine: `test` (backend-test folders), `run` (one
 * model on .pb inputs, writing .pb outputs), `bench` (load time and median latency on synthetic inputs) and
 * `info` (inputs, outputs and every node's inferred output type and shape). */
#define _GNU_SOURCE
/* The conformance runner lives in src/onnx/tool_test.c (the wasmind-onnx-test tool); include it with its main
 * renamed so `nn test` and that tool never drift apart. It brings read_all, load_pb, is_file and now(). */
#define WM_ONNX_TEST_MAIN wm_onnx_test_main
#include "../onnx/tool_test.c"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

int wm_nn_main(int argc, char **argv);

static void nn_usage(FILE *out) {
    fprintf(out,
            "Usage: wasmind nn <command> ...\n"
            "  nn test [-v] [--rtol R] [--atol A] [--threads N] [--check-shapes] DIR...\n"
            "        run ONNX backend-test folders (model.onnx + test_data_set_N/) and *.onnx light models;\n"
            "        --check-shapes also checks every node's outputs against the shapes inferred at load\n"
            "  nn run MODEL.onnx [--input NAME=FILE.pb]... [--output-dir DIR] [--threads N]\n"
            "        run a model once; prints every output, writes DIR/output_N.pb (TensorProto)\n"
            "  nn bench MODEL.onnx [--shape NAME=1x3x224x224]... [--input NAME=FILE.pb]... [--threads N] [--iters K]\n"
            "        time loading and K runs (default 10) on synthetic inputs (or the given .pb files, for inputs\n"
            "        whose value matters, such as a sample rate); prints the median latency\n"
            "  nn info MODEL.onnx\n"
            "        inputs, outputs and every node's output type and shape as inferred at load (symbolic\n"
            "        dims by name: the model's dim_params, unk__N for ones the engine cannot pin down)\n");
}

static int input_index(wm_onnx_model *m, const char *name, size_t len) {
    for (int i = 0; i < wm_onnx_num_inputs(m); i++) {
        const char *n = wm_onnx_input_name(m, i);
        if (strlen(n) == len && !memcmp(n, name, len)) return i;
    }
    return -1;
}

static void print_shape(FILE *out, int ndim, const int64_t *dims) {
    fputc('[', out);
    for (int d = 0; d < ndim; d++) fprintf(out, d ? "x%lld" : "%lld", (long long)dims[d]);
    fputc(']', out);
}

/* Names the inputs a caller must give, for error messages. */
static void list_inputs(wm_onnx_model *m) {
    fprintf(stderr, "model inputs:\n");
    for (int i = 0; i < wm_onnx_num_inputs(m); i++) {
        if (wm_onnx_input_has_default(m, i)) continue;
        wm_onnx_dtype dt;
        int64_t dims[WM_ONNX_MAX_DIMS];
        int nd = wm_onnx_input_info(m, i, &dt, dims);
        fprintf(stderr, "  %s: %s ", wm_onnx_input_name(m, i), wm_onnx_dtype_name(dt));
        if (nd >= 0) print_shape(stderr, nd, dims); else fprintf(stderr, "(shape unknown)");
        fputc('\n', stderr);
    }
}

static wm_onnx_model *load_model(const char *path, double *secs) {
    char err[512];
    wm_onnx_model *m;
    double t0 = now();
    wm_onnx_status st = wm_onnx_load_file(path, &m, err, sizeof err);
    if (secs) *secs = now() - t0;
    if (st) {
        fprintf(stderr, "error: cannot load %s: %s\n", path, err);
        return NULL;
    }
    return m;
}

/* ---- TensorProto writer (dims = 1, data_type = 2, name = 8, raw_data = 9) ---------------------------------- */
static void put_varint(FILE *f, uint64_t v) {
    while (v >= 0x80) { fputc((int)(v & 0x7f) | 0x80, f); v >>= 7; }
    fputc((int)v, f);
}
static size_t varint_len(uint64_t v) { size_t n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }

static bool write_pb(const char *path, const char *name, const wm_onnx_tensor *t) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    if (t->ndim > 0) {
        size_t n = 0;
        for (int d = 0; d < t->ndim; d++) n += varint_len((uint64_t)t->dims[d]);
        fputc(0x0a, f);   /* packed repeated int64 */
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
    return fclose(f) == 0;
}

static void print_tensor(const char *name, const wm_onnx_tensor *t) {
    printf("%s: %s ", name, wm_onnx_dtype_name(t->dtype));
    print_shape(stdout, t->ndim, t->dims);
    int64_t n = wm_onnx_numel(t);
    printf(" =");
    for (int64_t i = 0; i < n && i < 8; i++) {
        if (t->dtype == WM_ONNX_STRING) { printf(" ?"); break; }
        if (is_float_type(t->dtype)) printf(" %.6g", tget(t, i));
        else printf(" %lld", (long long)tget_i64(t, i));
    }
    printf("%s\n", n > 8 ? " ..." : "");
}

/* Reads each `--input NAME=FILE.pb` into in[index of NAME]. Returns 0, 2 for a usage error, 1 for a bad file. */
static int load_input_files(wm_onnx_model *m, wm_onnx_tensor *in, const char *const *specs, int n) {
    char msg[1024];
    for (int k = 0; k < n; k++) {
        const char *eq = strchr(specs[k], '=');
        int idx = eq ? input_index(m, specs[k], (size_t)(eq - specs[k])) : -1;
        if (idx < 0) {
            fprintf(stderr, "error: --input `%s`: expected NAME=FILE.pb with NAME a model input\n", specs[k]);
            list_inputs(m);
            return 2;
        }
        wm_onnx_tensor_free(&in[idx]);
        if (load_pb(eq + 1, &in[idx], msg, sizeof msg)) { fprintf(stderr, "error: %s\n", msg); return 1; }
    }
    return 0;
}

static int nn_run(int argc, char **argv) {
    const char *model = NULL, *outdir = NULL;
    const char *ins[256];
    int nins = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (nins == 256) { fprintf(stderr, "error: too many --input\n"); return 2; }
            ins[nins++] = argv[++i];
        } else if (!strcmp(argv[i], "--output-dir") && i + 1 < argc) outdir = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) wm_onnx_set_threads(atoi(argv[++i]));
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { nn_usage(stdout); return 0; }
        else if (argv[i][0] == '-' || model) { fprintf(stderr, "error: unexpected argument `%s`\n", argv[i]); nn_usage(stderr); return 2; }
        else model = argv[i];
    }
    if (!model) { nn_usage(stderr); return 2; }
    wm_onnx_model *m = load_model(model, NULL);
    if (!m) return 1;
    int nin = wm_onnx_num_inputs(m), nout = wm_onnx_num_outputs(m), rc = 0;
    wm_onnx_tensor *in = calloc((size_t)nin + 1, sizeof *in), *out = calloc((size_t)nout + 1, sizeof *out);
    char err[512];
    rc = load_input_files(m, in, ins, nins);
    for (int i = 0; i < nin && !rc; i++)
        if (!in[i].data && !wm_onnx_input_has_default(m, i)) {
            fprintf(stderr, "error: input `%s` not given (--input %s=FILE.pb)\n", wm_onnx_input_name(m, i),
                    wm_onnx_input_name(m, i));
            list_inputs(m);
            rc = 2;
        }
    if (!rc) {
        double t0 = now();
        wm_onnx_status st = wm_onnx_run(m, in, nin, out, nout, err, sizeof err);
        double dt = now() - t0;
        if (st) { fprintf(stderr, "error: run: %s\n", err); rc = 1; }
        else {
            fprintf(stderr, "ran in %.3f ms\n", dt * 1e3);
            if (outdir && mkdir(outdir, 0777) && errno != EEXIST) {
                fprintf(stderr, "error: cannot create %s: %s\n", outdir, strerror(errno));
                rc = 1;
            }
            for (int i = 0; i < nout; i++) {
                print_tensor(wm_onnx_output_name(m, i), &out[i]);
                if (outdir && !rc) {
                    char p[4200];
                    snprintf(p, sizeof p, "%s/output_%d.pb", outdir, i);
                    if (!write_pb(p, wm_onnx_output_name(m, i), &out[i])) {
                        fprintf(stderr, "error: cannot write %s: %s\n", p, strerror(errno));
                        rc = 1;
                    }
                }
            }
        }
    }
    for (int i = 0; i < nin; i++) wm_onnx_tensor_free(&in[i]);
    for (int i = 0; i < nout; i++) wm_onnx_tensor_free(&out[i]);
    free(in);
    free(out);
    wm_onnx_free(m);
    return rc;
}

/* Parses "1x3x224x224" (also ',' separated). */
static int parse_dims(const char *s, int64_t *dims) {
    int n = 0;
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || n == WM_ONNX_MAX_DIMS) return -1;
        dims[n++] = v;
        s = end;
        if (*s == 'x' || *s == ',') s++;
        else if (*s) return -1;
    }
    return n;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int nn_bench(int argc, char **argv) {
    const char *model = NULL;
    const char *shapes[64], *files[64];
    int nshapes = 0, nfiles = 0, threads = 0, iters = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            if (nshapes == 64) { fprintf(stderr, "error: too many --shape\n"); return 2; }
            shapes[nshapes++] = argv[++i];
        } else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (nfiles == 64) { fprintf(stderr, "error: too many --input\n"); return 2; }
            files[nfiles++] = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { nn_usage(stdout); return 0; }
        else if (argv[i][0] == '-' || model) { fprintf(stderr, "error: unexpected argument `%s`\n", argv[i]); nn_usage(stderr); return 2; }
        else model = argv[i];
    }
    if (!model || iters < 1 || iters > 1000000) { nn_usage(stderr); return 2; }
    double load_s;
    wm_onnx_model *m = load_model(model, &load_s);
    if (!m) return 1;
    int nin = wm_onnx_num_inputs(m), nout = wm_onnx_num_outputs(m), rc = 0;
    wm_onnx_tensor *in = calloc((size_t)nin + 1, sizeof *in), *out = calloc((size_t)nout + 1, sizeof *out);
    double *times = calloc((size_t)iters, sizeof *times);
    uint32_t seed = 12345;
    for (int k = 0; k < nshapes && !rc; k++) {
        const char *eq = strchr(shapes[k], '=');
        if (!eq || input_index(m, shapes[k], (size_t)(eq - shapes[k])) < 0 || parse_dims(eq + 1, (int64_t[8]){0}) < 0) {
            fprintf(stderr, "error: --shape `%s`: expected NAME=1x3x224x224 with NAME a model input\n", shapes[k]);
            list_inputs(m);
            rc = 2;
        }
    }
    if (!rc) rc = load_input_files(m, in, files, nfiles);
    for (int i = 0; i < nin && !rc; i++) {
        if (wm_onnx_input_has_default(m, i) || in[i].data) continue;
        wm_onnx_dtype dt;
        int64_t dims[WM_ONNX_MAX_DIMS];
        int nd = wm_onnx_input_info(m, i, &dt, dims);
        const char *name = wm_onnx_input_name(m, i);
        for (int k = 0; k < nshapes; k++)
            if (!strncmp(shapes[k], name, strlen(name)) && shapes[k][strlen(name)] == '=')
                nd = parse_dims(shapes[k] + strlen(name) + 1, dims);
        if (nd < 0) {
            fprintf(stderr, "error: input `%s` has no declared shape; give --shape %s=DIMS\n", name, name);
            rc = 2;
            break;
        }
        if (dt == WM_ONNX_UNDEFINED) dt = WM_ONNX_FLOAT;
        size_t es = wm_onnx_dtype_size(dt);
        if (!es || dt == WM_ONNX_STRING) { fprintf(stderr, "error: input `%s`: cannot synthesise %s\n", name, wm_onnx_dtype_name(dt)); rc = 1; break; }
        in[i].dtype = dt;
        in[i].ndim = nd;
        for (int d = 0; d < nd; d++) in[i].dims[d] = dims[d] < 0 ? 1 : dims[d];   /* symbolic dims -> 1 */
        int64_t n = wm_onnx_numel(&in[i]);
        if (n < 0 || n > ((int64_t)1 << 32) / (int64_t)es) { fprintf(stderr, "error: input `%s` is too large\n", name); rc = 1; break; }
        in[i].nbytes = (size_t)n * es;
        in[i].data = calloc(1, in[i].nbytes ? in[i].nbytes : 1);
        in[i].flags = WM_ONNX_TENSOR_OWNED;
        if (!in[i].data) { fprintf(stderr, "error: out of memory\n"); rc = 1; break; }
        /* floats get a fixed pseudo-random pattern in [0,1); integer inputs (ids, lengths) stay 0 */
        if (is_float_type(dt))
            for (int64_t j = 0; j < n; j++) {
                seed = seed * 1664525u + 1013904223u;
                tset(&in[i], j, (double)(seed >> 8) / 16777216.0);
            }
    }
    char err[512];
    if (!rc) {
        printf("model: %s\nload: %.3f ms\n", model, load_s * 1e3);
        if (threads > 0) wm_onnx_set_threads(threads);
        printf("threads: %d\n", wm_onnx_get_threads());
        for (int it = -1; it < iters && !rc; it++) {   /* it = -1: warm-up, not timed */
            for (int o = 0; o < nout; o++) wm_onnx_tensor_free(&out[o]);
            double t0 = now();
            if (wm_onnx_run(m, in, nin, out, nout, err, sizeof err)) { fprintf(stderr, "error: run: %s\n", err); rc = 1; }
            if (it >= 0) times[it] = now() - t0;
        }
    }
    if (!rc) {
        double sum = 0;
        for (int i = 0; i < iters; i++) sum += times[i];
        qsort(times, (size_t)iters, sizeof *times, cmp_dbl);
        double med = iters % 2 ? times[iters / 2] : (times[iters / 2 - 1] + times[iters / 2]) / 2;
        printf("iterations: %d\nlatency: median %.3f ms, min %.3f ms, mean %.3f ms, max %.3f ms\n", iters, med * 1e3,
               times[0] * 1e3, sum / iters * 1e3, times[iters - 1] * 1e3);
    }
    for (int i = 0; i < nin; i++) wm_onnx_tensor_free(&in[i]);
    for (int i = 0; i < nout; i++) wm_onnx_tensor_free(&out[i]);
    free(in);
    free(out);
    free(times);
    wm_onnx_free(m);
    return rc;
}

/* One value's inferred type and shape: "name  float32  [batch,64,112,112]". */
static void print_value(const wm_onnx_model *m, const char *name, int width, const char *note) {
    wm_onnx_dtype dt;
    int64_t dims[WM_ONNX_MAX_DIMS];
    const char *syms[WM_ONNX_MAX_DIMS];
    int nd = wm_onnx_value_info(m, name, &dt, dims, syms);
    printf("  %-*s  %-8s  ", width, name, dt ? wm_onnx_dtype_name(dt) : "?");
    if (nd < 0) printf("?");
    else {
        putchar('[');
        for (int d = 0; d < nd; d++) {
            if (syms[d]) printf("%s%s", d ? "," : "", syms[d]);
            else printf("%s%lld", d ? "," : "", (long long)dims[d]);
        }
        putchar(']');
    }
    printf("%s\n", note);
}

static int nn_info(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') { nn_usage(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr); return 2; }
    wm_onnx_model *m = load_model(argv[1], NULL);
    if (!m) return 1;
    int width = 8, no;
    const char *const *outs, *name;
    for (int i = 0; i < wm_onnx_num_inputs(m); i++)
        if ((int)strlen(wm_onnx_input_name(m, i)) > width) width = (int)strlen(wm_onnx_input_name(m, i));
    for (int i = 0; wm_onnx_node_info(m, i, NULL, &no, &outs); i++)
        for (int k = 0; k < no; k++) if ((int)strlen(outs[k]) > width) width = (int)strlen(outs[k]);
    if (width > 48) width = 48;
    printf("inputs:\n");
    for (int i = 0; i < wm_onnx_num_inputs(m); i++)
        print_value(m, wm_onnx_input_name(m, i), width, wm_onnx_input_has_default(m, i) ? "  (has a default)" : "");
    printf("outputs:\n");
    for (int i = 0; i < wm_onnx_num_outputs(m); i++) print_value(m, wm_onnx_output_name(m, i), width, "");
    int n = 0;
    while (wm_onnx_node_info(m, n, NULL, NULL, NULL)) n++;
    printf("nodes (%d, in execution order, after load-time fusions):\n", n);
    for (int i = 0; i < n; i++) {
        const char *op = wm_onnx_node_info(m, i, &name, &no, &outs);
        char note[256];
        snprintf(note, sizeof note, "  %s%s%s", op, *name ? " " : "", name);
        for (int k = 0; k < no; k++) if (*outs[k]) print_value(m, outs[k], width, k ? "" : note);
    }
    wm_onnx_free(m);
    return 0;
}

int wm_nn_main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        nn_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "test")) {
        argv[1] = (char *)"wasmind nn test";
        return wm_onnx_test_main(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "run")) return nn_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench")) return nn_bench(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return nn_info(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown nn command `%s`\n", argv[1]);
    nn_usage(stderr);
    return 2;
}
