/* main.c — entry point of the `wasmind` command: dispatches to subcommands (run, wast)
 * and handles --version and --help. Also holds small helpers shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int wm_nn_main(int argc, char **argv);   /* src/nn/nn_cli.c */

static void usage(FILE *out)
{
    fprintf(out,
            "wasmind " WASMIND_VERSION " - a WebAssembly runtime\n"
            "\n"
            "Usage: wasmind <COMMAND> [OPTIONS] ...\n"
            "\n"
            "Commands:\n"
            "  run      Run a WebAssembly module (calls `_start` or the export given by --invoke)\n"
            "  compile  Compile a module ahead of time to native code: `compile M.wasm -o M.cwasm`\n"
            "  wast     Run WebAssembly spec tests (.wast files; needs wast2json from wabt)\n"
            "  nn       Run ONNX models without a guest: `nn test DIR...`, `nn run`, `nn bench`\n"
            "  help     Print this message or the help of a command (`wasmind help run`)\n"
            "\n"
            "Options:\n"
            "  -h, --help       Print help\n"
            "  -V, --version    Print version\n"
            "\n"
            "A module path given without a command is run: `wasmind foo.wasm` = `wasmind run foo.wasm`.\n");
}

static int help_for(const char *cmd)
{
    if (!cmd) { usage(stdout); return WM_EXIT_OK; }
    if (strcmp(cmd, "run") == 0) { wm_cli_run_usage(stdout); return WM_EXIT_OK; }
    if (strcmp(cmd, "wast") == 0) { wm_cli_wast_usage(stdout); return WM_EXIT_OK; }
    fprintf(stderr, "error: unknown command `%s`; the commands are `run` and `wast`\n", cmd);
    return WM_EXIT_USAGE;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return WM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        printf("wasmind %s\n", WASMIND_VERSION);
        return WM_EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return help_for(NULL);
    if (strcmp(cmd, "help") == 0)
        return help_for(argc > 2 ? argv[2] : NULL);
    if (strcmp(cmd, "run") == 0)
        return wm_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "wast") == 0)
        return wm_cli_wast(argc - 1, argv + 1);
    if (strcmp(cmd, "compile") == 0)
        return wm_cli_compile(argc - 1, argv + 1);
    if (strcmp(cmd, "nn") == 0)
        return wm_nn_main(argc - 1, argv + 1);
    /* `wasmind foo.wasm ...` runs the module, like wasmtime. */
    if (cmd[0] != '-' && (ends_with(cmd, ".wasm") || strchr(cmd, '/'))) {
        argv[0] = (char *)"run";
        return wm_cli_run(argc, argv);
    }
    if (cmd[0] == '-')
        fprintf(stderr, "error: unknown option `%s`; options go after the command "
                        "(see `wasmind run --help` and `wasmind wast --help`)\n", cmd);
    else
        fprintf(stderr, "error: unknown command `%s`; the commands are `run` and `wast`\n", cmd);
    fprintf(stderr, "For more information, try `wasmind --help`.\n");
    return WM_EXIT_USAGE;
}

/* ---- helpers shared by the subcommands ---------------------------------- */

uint8_t *wm_cli_read_file(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) { fclose(f); errno = ENOMEM; return NULL; }
    for (;;) {
        if (n == cap) {
            if (cap > ((size_t)-1) / 2) { free(buf); fclose(f); errno = EFBIG; return NULL; }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); fclose(f); errno = ENOMEM; return NULL; }
            buf = nb; cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) { int e = errno ? errno : EIO; free(buf); fclose(f); errno = e; return NULL; }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

const char *wm_cli_valtype_name(uint8_t type)
{
    switch (type) {
    case WM_I32: return "i32";
    case WM_I64: return "i64";
    case WM_F32: return "f32";
    case WM_F64: return "f64";
    case WM_V128: return "v128";
    case WM_FUNCREF: return "funcref";
    case WM_EXTERNREF: return "externref";
    default: return "?";
    }
}
