/* compile.c — `wasmind compile MODULE.wasm -o MODULE.cwasm` (ahead-of-time compilation through the
 * system C compiler, src/aot) and the module-loading helper `run` uses for --aot / .cwasm files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "aot/aot.h"

static void compile_usage(FILE *out)
{
    fprintf(out,
            "Usage: wasmind compile [OPTIONS] MODULE.wasm [-o OUT.cwasm]\n"
            "\n"
            "Translates the module to C and compiles it with the system C compiler ($CC or cc) into a\n"
            ".cwasm file (header, the module, and the native code), runnable with `wasmind run OUT.cwasm`.\n"
            "\n"
            "Options:\n"
            "  -o FILE      Output path (default: MODULE with .cwasm instead of .wasm)\n"
            "  -O LEVEL     C optimisation level 0-3 (default 2)\n"
            "  -j N         Parallel compiler processes for big modules (default: CPU count)\n"
            "  --portable   Do not tune for this CPU (default: -march=native; such a .cwasm needs\n"
            "               a CPU with the same features)\n"
            "  --limits     Compile the checked variant, which charges fuel (`run --fuel` needs it) and\n"
            "               polls for deadlines at loop headers; alias --fuel. Default: code without\n"
            "               per-call or per-loop checks (stack overflow is caught by the guard page,\n"
            "               --timeout and interrupts by a signal), which `run --fuel` will not execute\n"
            "  -h, --help   Print this help\n");
}

int wm_cli_compile(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    wm_aot_options o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { compile_usage(stdout); return WM_EXIT_OK; }
        else if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
        else if (!strncmp(a, "-O", 2) && a[2]) o.opt_level = atoi(a + 2);
        else if (!strcmp(a, "-O") && i + 1 < argc) o.opt_level = atoi(argv[++i]);
        else if (!strcmp(a, "-j") && i + 1 < argc) o.jobs = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(a, "--portable")) o.portable = true;
        else if (!strcmp(a, "--limits") || !strcmp(a, "--fuel")) o.limits = true;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "error: unknown option `%s` for `wasmind compile`\n", a); return WM_EXIT_USAGE; }
        else if (!in) in = a;
        else { fprintf(stderr, "error: more than one module given to `wasmind compile`\n"); return WM_EXIT_USAGE; }
    }
    if (!in) { compile_usage(stderr); return WM_EXIT_USAGE; }
    char outbuf[4096];
    if (!out) {
        size_t n = strlen(in);
        if (n > 5 && !strcmp(in + n - 5, ".wasm")) snprintf(outbuf, sizeof outbuf, "%.*s.cwasm", (int)(n - 5), in);
        else snprintf(outbuf, sizeof outbuf, "%s.cwasm", in);
        out = outbuf;
    }
    size_t len = 0;
    uint8_t *bytes = wm_cli_read_file(in, &len);
    if (!bytes) { fprintf(stderr, "error: cannot read module `%s`: %s\n", in, strerror(errno)); return WM_EXIT_USAGE; }
    wm_engine *e = wm_engine_new(NULL);
    wm_error err;
    memset(&err, 0, sizeof err);
    wm_module *m = e ? wm_module_new(e, bytes, len, &err) : NULL;
    free(bytes);
    int rc = WM_EXIT_FAILURE;
    if (!m) {
        fprintf(stderr, "Error: failed to compile `%s`: %s\n", in, err.message[0] ? err.message : "invalid module");
    } else {
        char why[400];
        if (wm_aot_compile_to(m, &o, out, why, sizeof why)) rc = WM_EXIT_OK;
        else fprintf(stderr, "Error: failed to compile `%s` to native code: %s\n", in, why);
    }
    wm_module_free(m);
    wm_engine_free(e);
    return rc;
}

wm_module *wm_cli_module_new(wm_engine *engine, const uint8_t *bytes, size_t len, int tier, bool limits, wm_error *err)
{
    char why[400];
    if (wm_aot_is_cwasm(bytes, len)) {
        size_t wlen = 0;
        const uint8_t *w = wm_aot_cwasm_module(bytes, len, &wlen);
        if (!w) {
            memset(err, 0, sizeof *err);
            err->status = WM_ERR_MALFORMED;
            snprintf(err->message, sizeof err->message, "corrupt or foreign .cwasm file");
            return NULL;
        }
        if (tier == 2) return wm_module_new(engine, w, wlen, err);
        wm_aot_enable();
        return wm_aot_module_cwasm(engine, bytes, len, limits, err);
    }
    if (tier == 1) {
        wm_aot_options o;
        memset(&o, 0, sizeof o);
        o.limits = limits;
        wm_aot_enable();
        wm_module *m = wm_aot_module_cached(engine, bytes, len, &o);
        if (m) return m;
    }
    wm_module *m = wm_module_new(engine, bytes, len, err);
    if (m && tier == 1) {
        /* the cache is tried first: a cached module needs no compiler, so none is looked for */
        wm_aot_options o;
        memset(&o, 0, sizeof o);
        o.limits = limits;
        wm_aot_enable();
        if (!wm_aot_attach(m, &o, why, sizeof why)) {
            if (!wm_aot_compiler_available()) fprintf(stderr, "wasmind: no C compiler found; --aot falls back to the interpreter\n");
            else fprintf(stderr, "wasmind: AOT compilation failed (%s); interpreting\n", why);
        }
    }
    return m;
}
