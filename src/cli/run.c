/* run.c — `wasmind run`: loads a module, instantiates it and calls `_start` or the export named
 * by --invoke with arguments parsed from the command line; also value parsing/printing helpers. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "wasi/wasi.h"
#include "nn/wasi_nn.h"

void wm_cli_run_usage(FILE *out)
{
    fprintf(out,
            "Usage: wasmind run [OPTIONS] MODULE.wasm [ARGS...]\n"
            "\n"
            "Runs a WebAssembly module: calls its `_start` export, or the export named by --invoke\n"
            "with ARGS converted to the function's parameter types (i32/i64: decimal or 0x hex,\n"
            "may be negative; f32/f64: decimal, hex float, nan, inf). Results print one per line.\n"
            "\n"
            "Options:\n"
            "  --invoke NAME          Call the exported function NAME instead of `_start`\n"
            "  --fuel N               Trap after about N units of work (loop iterations and calls)\n"
            "  --max-memory SIZE      Cap each linear memory: bytes (e.g. 1048576, 64KiB, 16MiB, 1GiB)\n"
            "                         or pages with a `p` suffix (e.g. 16p); default 4GiB\n"
            "  --timeout SECONDS      Trap when the call runs longer than this (e.g. 2, 0.5, 250ms)\n"
            "  --dir HOST[::GUEST]    WASI: give the guest the host directory HOST, seen as GUEST\n"
            "                         (default: HOST as written); repeatable. Nothing else of the\n"
            "                         host file system is reachable\n"
            "  --env KEY=VALUE        WASI: set an environment variable of the guest; repeatable\n"
            "  --listen ADDR          WASI: listen on TCP ADDR (HOST:PORT, [V6]:PORT) and hand the\n"
            "                         socket to the guest for sock_accept; repeatable\n"
            "  --nn-preload NAME:ENCODING:TARGET:PATH\n"
            "                         WASI-NN: register the model at PATH (mapped, not copied) for\n"
            "                         load_by_name as NAME, e.g. --nn-preload net:onnx:cpu:net.onnx\n"
            "  --nn-threads N         WASI-NN: threads for inference (default: the CPUs this process may use)\n"
            "  --aot, --interp        Run compiled to native code (via the system C compiler, cached\n"
            "                         in ~/.cache/wasmind), or interpreted (default; .cwasm runs AOT)\n"
            "  -h, --help             Print this help\n"
            "\n"
            "For a WASI program (one importing wasi_snapshot_preview1 or wasi_unstable), ARGS are its\n"
            "arguments after the module path, which is its argv[0].\n"
            "\n"
            "Exit status: 0 on success, 1 if the module cannot be loaded, 2 for command-line errors,\n"
            "134 if the module trapped; a WASI program's proc_exit code.\n");
}

/* ---- float formatting (Rust Display style) ------------------------------- */

/* digits: significant digits without the point; exp10: exponent of the first digit. */
static void plain_decimal(bool neg, const char *digits, int exp10, char *buf, size_t size)
{
    char tmp[512];
    size_t n = 0, nd = strlen(digits);
    /* strip trailing zeros (keep at least one digit) */
    while (nd > 1 && digits[nd - 1] == '0') nd--;
#define PUT(c) do { if (n + 1 < sizeof tmp) tmp[n++] = (c); } while (0)
    if (neg) PUT('-');
    if (exp10 >= 0) {
        for (int i = 0; i <= exp10; i++) PUT((size_t)i < nd ? digits[i] : '0');
        if ((size_t)exp10 + 1 < nd) {
            PUT('.');
            for (size_t i = (size_t)exp10 + 1; i < nd; i++) PUT(digits[i]);
        }
    } else {
        PUT('0');
        PUT('.');
        for (int i = 0; i < -exp10 - 1; i++) PUT('0');
        for (size_t i = 0; i < nd; i++) PUT(digits[i]);
    }
#undef PUT
    tmp[n] = 0;
    snprintf(buf, size, "%s", tmp);
}

/* Splits "%.Ne" output "d.ddde+XX" into digits and exponent. */
static void split_sci(const char *sci, char *digits, size_t dsize, int *exp10)
{
    size_t n = 0;
    const char *p = sci;
    if (*p == '-') p++;
    for (; *p && *p != 'e' && *p != 'E'; p++)
        if (*p >= '0' && *p <= '9' && n + 1 < dsize) digits[n++] = *p;
    digits[n] = 0;
    *exp10 = (*p == 'e' || *p == 'E') ? atoi(p + 1) : 0;
}

void wm_cli_format_f64(uint64_t bits, char *buf, size_t size)
{
    double x;
    memcpy(&x, &bits, sizeof x);
    bool neg = (bits >> 63) != 0;
    if (isnan(x)) { snprintf(buf, size, "NaN"); return; }
    if (isinf(x)) { snprintf(buf, size, neg ? "-inf" : "inf"); return; }
    char sci[64];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, fabs(x));
        if (strtod(sci, NULL) == fabs(x)) break;
    }
    char digits[40];
    int e;
    split_sci(sci, digits, sizeof digits, &e);
    plain_decimal(neg, digits, e, buf, size);
}

void wm_cli_format_f32(uint32_t bits, char *buf, size_t size)
{
    float x;
    memcpy(&x, &bits, sizeof x);
    bool neg = (bits >> 31) != 0;
    if (isnan(x)) { snprintf(buf, size, "NaN"); return; }
    if (isinf(x)) { snprintf(buf, size, neg ? "-inf" : "inf"); return; }
    char sci[64];
    float ax = fabsf(x);
    for (int prec = 0; prec < 9; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, (double)ax);
        if (strtof(sci, NULL) == ax) break;
    }
    char digits[40];
    int e;
    split_sci(sci, digits, sizeof digits, &e);
    plain_decimal(neg, digits, e, buf, size);
}

/* ---- value parsing ------------------------------------------------------ */

/* Parses [-+]?(0x[0-9a-f]+|[0-9]+) into magnitude and sign; *overflow set if it exceeds 64 bits. */
static bool parse_int_parts(const char *text, bool *neg, uint64_t *mag, bool *overflow)
{
    *overflow = false;
    const char *p = text;
    *neg = false;
    if (*p == '-' || *p == '+') { *neg = (*p == '-'); p++; }
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) { base = 16; p += 2; }
    if (!*p) return false;
    for (const char *q = p; *q; q++) {
        bool ok = base == 16 ? ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))
                             : (*q >= '0' && *q <= '9');
        if (!ok && *q != '_') return false;
    }
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p == '_') continue;
        unsigned d = (*p >= '0' && *p <= '9') ? (unsigned)(*p - '0')
                   : (*p >= 'a' && *p <= 'f') ? (unsigned)(*p - 'a' + 10) : (unsigned)(*p - 'A' + 10);
        if (v > (UINT64_MAX - d) / (uint64_t)base) { *overflow = true; return false; }
        v = v * (uint64_t)base + d;
    }
    *mag = v;
    return true;
}

bool wm_cli_parse_value(const char *text, uint8_t type, wm_val *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    bool neg, overflow;
    uint64_t mag;
    char *end;
    switch (type) {
    case WM_I32:
        if (!parse_int_parts(text, &neg, &mag, &overflow) && !overflow) {
            snprintf(why, why_size, "`%s` is not an integer (use decimal like -5 or hex like 0xff)", text);
            return false;
        }
        if (overflow || (!neg && mag > UINT32_MAX) || (neg && mag > (uint64_t)INT32_MAX + 1)) {
            snprintf(why, why_size, "`%s` does not fit in an i32 (range -2147483648..4294967295)", text);
            return false;
        }
        out->of.i64 = 0;
        out->of.i32 = (int32_t)(uint32_t)(neg ? (uint32_t)(0u - (uint32_t)mag) : (uint32_t)mag);
        return true;
    case WM_I64:
        if (!parse_int_parts(text, &neg, &mag, &overflow) && !overflow) {
            snprintf(why, why_size, "`%s` is not an integer (use decimal like -5 or hex like 0xff)", text);
            return false;
        }
        if (overflow || (neg && mag > (uint64_t)INT64_MAX + 1)) {
            snprintf(why, why_size, "`%s` does not fit in an i64 (range -2^63..2^64-1)", text);
            return false;
        }
        out->of.i64 = (int64_t)(neg ? 0 - mag : mag);
        return true;
    case WM_F32: {
        if (!*text) goto bad_float;
        errno = 0;
        float f = strtof(text, &end);
        if (*end || end == text || text[0] == ' ' || text[0] == '\t') goto bad_float;
        memcpy(&out->of.f32_bits, &f, sizeof f);
        return true;
    }
    case WM_F64: {
        if (!*text) goto bad_float;
        errno = 0;
        double d = strtod(text, &end);
        if (*end || end == text || text[0] == ' ' || text[0] == '\t') goto bad_float;
        memcpy(&out->of.f64_bits, &d, sizeof d);
        return true;
    }
    case WM_FUNCREF:
    case WM_EXTERNREF:
        if (strcmp(text, "null") == 0) {
            if (type == WM_FUNCREF) out->of.funcref = NULL; else out->of.externref = NULL;
            return true;
        }
        snprintf(why, why_size, "a %s parameter can only be given as `null` on the command line",
                 wm_cli_valtype_name(type));
        return false;
    case WM_V128:
        snprintf(why, why_size, "v128 parameters cannot be passed on the command line");
        return false;
    default:
        snprintf(why, why_size, "unsupported parameter type 0x%02x", type);
        return false;
    }
bad_float:
    snprintf(why, why_size, "`%s` is not a number (use e.g. 1.5, -2e10, 0x1p-3, nan, inf, -inf)", text);
    return false;
}

/* ---- result printing ------------------------------------------------------- */

static void format_u128(const uint8_t bytes[16], char *buf, size_t size)
{
    /* little-endian 128-bit -> decimal by repeated division by 10 */
    uint32_t w[4];
    for (int i = 0; i < 4; i++)
        w[i] = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
               (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
    char tmp[48];
    int n = 0;
    do {
        uint64_t rem = 0;
        for (int i = 3; i >= 0; i--) {
            uint64_t cur = (rem << 32) | w[i];
            w[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
        }
        tmp[n++] = (char)('0' + rem);
    } while ((w[0] | w[1] | w[2] | w[3]) != 0 && n < 47);
    size_t j = 0;
    while (n > 0 && j + 1 < size) buf[j++] = tmp[--n];
    if (size) buf[j < size ? j : size - 1] = 0;
}

void wm_cli_format_result(const wm_val *v, char *buf, size_t size)
{
    switch (v->type) {
    case WM_I32: snprintf(buf, size, "%" PRId32, v->of.i32); break;
    case WM_I64: snprintf(buf, size, "%" PRId64, v->of.i64); break;
    case WM_F32: wm_cli_format_f32(v->of.f32_bits, buf, size); break;
    case WM_F64: wm_cli_format_f64(v->of.f64_bits, buf, size); break;
    case WM_V128: format_u128(v->of.v128, buf, size); break;
    case WM_FUNCREF: snprintf(buf, size, v->of.funcref ? "<funcref>" : "<null funcref>"); break;
    case WM_EXTERNREF: snprintf(buf, size, v->of.externref ? "<externref>" : "<null externref>"); break;
    default: snprintf(buf, size, "<value of unknown type 0x%02x>", v->type); break;
    }
}

void wm_cli_print_backtrace(FILE *out, const wm_store *store, const char *indent)
{
    enum { MAXBT = 64 };
    const wm_instance *insts[MAXBT];
    uint32_t idx[MAXBT];
    uint32_t n = wm_store_backtrace(store, insts, idx, MAXBT);
    if (n > MAXBT) n = MAXBT;
    for (uint32_t i = 0; i < n; i++) {
        const wm_module *m = insts[i] ? wm_instance_module(insts[i]) : NULL;
        const char *name = m ? wm_module_func_name(m, idx[i]) : NULL;
        if (name)
            fprintf(out, "%s%2u: func[%" PRIu32 "] - %s\n", indent, i, idx[i], name);
        else
            fprintf(out, "%s%2u: func[%" PRIu32 "]\n", indent, i, idx[i]);
    }
}

/* ---- option parsing -------------------------------------------------------- */

typedef struct run_opts {
    const char *invoke;
    uint64_t fuel;
    uint32_t max_pages;
    uint64_t timeout_ms;
    const char *path;
    int nargs;
    char **args;
    int ndirs, nenvs, nlistens, npreloads;
    const char **dir_host, **dir_guest, **envs, **listens;   /* point into argv (GUEST: malloc'd) */
    const char **nn_preloads;                                 /* NAME:ENCODING:TARGET:PATH */
    int nn_threads;
} run_opts;

static void free_run_opts(run_opts *o)
{
    for (int i = 0; i < o->ndirs; i++) free((char *)o->dir_host[i]);
    free(o->dir_host);
    free(o->dir_guest);
    free(o->envs);
    free(o->listens);
    free(o->nn_preloads);
}

static bool push_str(const char ***arr, int *n, const char *s)
{
    const char **na = realloc(*arr, (size_t)(*n + 1) * sizeof *na);
    if (!na) return false;
    na[(*n)++] = s;
    *arr = na;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_max_memory(const char *s, uint32_t *pages, char *why, size_t wsize)
{
    errno = 0;
    char *end;
    if (!*s || *s == '-' || *s == '+') goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) goto bad;
    uint64_t mult = 1;
    bool is_pages = false;
    if (*end == 0 || strcmp(end, "B") == 0 || strcmp(end, "b") == 0) mult = 1;
    else if (!strcmp(end, "K") || !strcmp(end, "k") || !strcmp(end, "KB") || !strcmp(end, "KiB") || !strcmp(end, "kb")) mult = 1024;
    else if (!strcmp(end, "M") || !strcmp(end, "m") || !strcmp(end, "MB") || !strcmp(end, "MiB") || !strcmp(end, "mb")) mult = 1024ull * 1024;
    else if (!strcmp(end, "G") || !strcmp(end, "g") || !strcmp(end, "GB") || !strcmp(end, "GiB") || !strcmp(end, "gb")) mult = 1024ull * 1024 * 1024;
    else if (!strcmp(end, "p") || !strcmp(end, "page") || !strcmp(end, "pages")) is_pages = true;
    else goto bad;
    uint64_t p;
    if (is_pages) p = v;
    else {
        if (v > UINT64_MAX / mult) p = 65536;
        else p = (v * mult) / 65536;
    }
    if (p == 0) {
        snprintf(why, wsize, "--max-memory %s is less than one 64KiB page; give at least 64KiB or 1p", s);
        return false;
    }
    if (p > 65536) p = 65536;
    *pages = (uint32_t)p;
    return true;
bad:
    snprintf(why, wsize, "--max-memory `%s` is not a size: use bytes (65536), KiB/MiB/GiB (16MiB) or pages (16p)", s);
    return false;
}

static bool parse_timeout(const char *s, uint64_t *ms, char *why, size_t wsize)
{
    errno = 0;
    char *end;
    if (!*s || *s == '-' || *s == '+' || *s == ' ') goto bad;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v)) goto bad;
    double mult = 1000.0;
    if (*end == 0 || strcmp(end, "s") == 0) mult = 1000.0;
    else if (strcmp(end, "ms") == 0) mult = 1.0;
    else goto bad;
    double t = ceil(v * mult);
    if (t <= 0) {
        snprintf(why, wsize, "--timeout must be greater than zero (omit it for no time limit)");
        return false;
    }
    if (t > 1e15) t = 1e15;
    *ms = (uint64_t)t;
    return true;
bad:
    snprintf(why, wsize, "--timeout `%s` is not a duration: use seconds (2, 0.5) or milliseconds (250ms)", s);
    return false;
}

/* Returns -1 if parsing succeeded, else an exit code. */
static int g_run_tier;   /* --aot = 1, --interp = 2 (see compile.c) */

static int parse_run_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    char why[256];
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (a[0] != '-' || a[1] == 0) break;   /* the module path */
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { wm_cli_run_usage(stdout); return WM_EXIT_OK; }
        if (!strcmp(a, "--aot") || !strcmp(a, "--interp")) { g_run_tier = a[2] == 'a' ? 1 : 2; continue; }
        const char *val = NULL;
        const char *opt = a;
        char optbuf[64];
        const char *eq = strchr(a, '=');
        if (eq && a[1] == '-') {
            size_t len = (size_t)(eq - a);
            if (len >= sizeof optbuf) len = sizeof optbuf - 1;
            memcpy(optbuf, a, len);
            optbuf[len] = 0;
            opt = optbuf;
            val = eq + 1;
        }
        bool known = !strcmp(opt, "--invoke") || !strcmp(opt, "--fuel") || !strcmp(opt, "--max-memory") ||
                     !strcmp(opt, "--timeout") || !strcmp(opt, "--dir") || !strcmp(opt, "--env") ||
                     !strcmp(opt, "--listen") || !strcmp(opt, "--nn-preload") || !strcmp(opt, "--nn-threads");
        if (!known) {
            fprintf(stderr, "error: unknown option `%s` for `wasmind run`\n"
                            "Options are --invoke NAME, --fuel N, --max-memory SIZE, --timeout SECONDS, "
                            "--dir HOST[::GUEST], --env KEY=VALUE, --listen ADDR, --nn-preload NAME:ENCODING:TARGET:PATH, --nn-threads N; "
                            "see `wasmind run --help`.\n", a);
            return WM_EXIT_USAGE;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "error: option `%s` needs a value, e.g. `%s %s`\n", opt, opt,
                        !strcmp(opt, "--invoke") ? "main" : !strcmp(opt, "--fuel") ? "1000000" :
                        !strcmp(opt, "--max-memory") ? "16MiB" : !strcmp(opt, "--dir") ? "./data::/data" :
                        !strcmp(opt, "--env") ? "KEY=VALUE" : !strcmp(opt, "--listen") ? "127.0.0.1:8080" : "5");
                return WM_EXIT_USAGE;
            }
            val = argv[++i];
        }
        if (!strcmp(opt, "--invoke")) {
            if (!*val) { fprintf(stderr, "error: --invoke needs a function name\n"); return WM_EXIT_USAGE; }
            o->invoke = val;
        } else if (!strcmp(opt, "--fuel")) {
            if (!parse_u64(val, &o->fuel)) {
                fprintf(stderr, "error: --fuel `%s` is not a non-negative integer (e.g. --fuel 1000000)\n", val);
                return WM_EXIT_USAGE;
            }
            if (o->fuel == 0) {
                fprintf(stderr, "error: --fuel must be at least 1 (omit --fuel for unlimited fuel)\n");
                return WM_EXIT_USAGE;
            }
        } else if (!strcmp(opt, "--dir")) {
            const char *sep = strstr(val, "::");
            char *host = sep ? strndup(val, (size_t)(sep - val)) : strdup(val);
            const char *guest = sep ? sep + 2 : host;
            if (!host || !push_str(&o->dir_host, &o->ndirs, host)) { free(host); fprintf(stderr, "error: out of memory\n"); return WM_EXIT_FAILURE; }
            int nd = o->ndirs - 1;
            if (!push_str(&o->dir_guest, &nd, guest)) { fprintf(stderr, "error: out of memory\n"); return WM_EXIT_FAILURE; }
            if (!*host || !*guest) {
                fprintf(stderr, "error: --dir `%s` needs a directory: --dir HOST or --dir HOST::GUEST\n", val);
                return WM_EXIT_USAGE;
            }
        } else if (!strcmp(opt, "--env")) {
            if (!strchr(val, '=') || val[0] == '=') {
                fprintf(stderr, "error: --env `%s` is not of the form KEY=VALUE\n", val);
                return WM_EXIT_USAGE;
            }
            if (!push_str(&o->envs, &o->nenvs, val)) { fprintf(stderr, "error: out of memory\n"); return WM_EXIT_FAILURE; }
        } else if (!strcmp(opt, "--nn-preload")) {
            if (!push_str(&o->nn_preloads, &o->npreloads, val)) { fprintf(stderr, "error: out of memory\n"); return WM_EXIT_FAILURE; }
        } else if (!strcmp(opt, "--nn-threads")) {
            uint64_t n = 0;
            if (!parse_u64(val, &n) || n < 1 || n > 256) {
                fprintf(stderr, "error: --nn-threads `%s` must be a number of threads from 1 to 256\n", val);
                return WM_EXIT_USAGE;
            }
            o->nn_threads = (int)n;
        } else if (!strcmp(opt, "--listen")) {
            if (!push_str(&o->listens, &o->nlistens, val)) { fprintf(stderr, "error: out of memory\n"); return WM_EXIT_FAILURE; }
        } else if (!strcmp(opt, "--max-memory")) {
            if (!parse_max_memory(val, &o->max_pages, why, sizeof why)) {
                fprintf(stderr, "error: %s\n", why);
                return WM_EXIT_USAGE;
            }
        } else {
            if (!parse_timeout(val, &o->timeout_ms, why, sizeof why)) {
                fprintf(stderr, "error: %s\n", why);
                return WM_EXIT_USAGE;
            }
        }
    }
    if (i >= argc) {
        fprintf(stderr, "error: no module given\nUsage: wasmind run [OPTIONS] MODULE.wasm [ARGS...]\n"
                        "For more information, try `wasmind run --help`.\n");
        return WM_EXIT_USAGE;
    }
    o->path = argv[i];
    o->nargs = argc - i - 1;
    o->args = argv + i + 1;
    return -1;
}

/* ---- running ------------------------------------------------------------------ */

/* Options written after the module path are passed to the module; say so if it looks like a slip. */
static void hint_misplaced_options(const run_opts *o)
{
    for (int i = 0; i < o->nargs; i++) {
        const char *a = o->args[i];
        if (!strncmp(a, "--invoke", 8) || !strncmp(a, "--fuel", 6) || !strncmp(a, "--max-memory", 12) ||
            !strncmp(a, "--timeout", 9)) {
            fprintf(stderr, "note: `%s` comes after the module path, so it was taken as an argument to the "
                            "module; put options before it: `wasmind run %s ... %s`\n", a, a, o->path);
            return;
        }
    }
}

/* Opens a listening TCP socket on ADDR = HOST:PORT or [V6HOST]:PORT; -1 with a message on failure. */
static int listen_on(const char *addr)
{
    char host[256];
    const char *port;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof host) goto bad;
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = 0;
        port = end + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof host) goto bad;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
        port = colon + 1;
    }
    if (!*port) goto bad;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "error: --listen `%s`: %s\n", addr, gai_strerror(gai));
        return -1;
    }
    int s = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0) { err = errno; continue; }
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, 128) == 0) break;
        err = errno;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0) fprintf(stderr, "error: cannot listen on `%s`: %s\n", addr, strerror(err));
    return s;
bad:
    fprintf(stderr, "error: --listen `%s` is not an address: use HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080\n", addr);
    return -1;
}

static bool is_wasi_module_name(const char *mod)
{
    return mod && (strcmp(mod, "wasi_snapshot_preview1") == 0 || strcmp(mod, "wasi_unstable") == 0);
}

static void print_signature(FILE *out, const char *name, wm_functype t)
{
    fprintf(out, "`%s` has type (", name);
    for (uint32_t i = 0; i < t.nparams; i++)
        fprintf(out, "%s%s", i ? ", " : "", wm_cli_valtype_name(t.params[i]));
    fprintf(out, ") -> (");
    for (uint32_t i = 0; i < t.nresults; i++)
        fprintf(out, "%s%s", i ? ", " : "", wm_cli_valtype_name(t.results[i]));
    fprintf(out, ")");
}

static void list_func_exports(FILE *out, const wm_module *m)
{
    uint32_t n = wm_module_export_count(m), shown = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *name = NULL;
        wm_externtype t;
        if (!wm_module_export(m, i, &name, &t) || !name || t.kind != WM_EXTERN_FUNC) continue;
        if (shown == 0) fprintf(out, "The module exports these functions:\n");
        if (shown == 50) { fprintf(out, "  ...\n"); break; }
        fprintf(out, "  ");
        print_signature(out, name, t.of.func);
        fprintf(out, "\n");
        shown++;
    }
    if (shown == 0) fprintf(out, "The module exports no functions.\n");
}

static const char *kind_name(wm_externkind k)
{
    switch (k) {
    case WM_EXTERN_FUNC: return "function";
    case WM_EXTERN_TABLE: return "table";
    case WM_EXTERN_MEMORY: return "memory";
    case WM_EXTERN_GLOBAL: return "global";
    default: return "extern";
    }
}

static int report_trap(const char *what, const char *path, const char *func, const wm_store *store,
                       const wm_error *err)
{
    fflush(stdout);
    fprintf(stderr, "Error: failed to run main module `%s`\n\nCaused by:\n", path);
    int n = 0;
    if (func) fprintf(stderr, "    %d: failed to invoke `%s`\n", n++, func);
    else fprintf(stderr, "    %d: failed to %s\n", n++, what);
    fprintf(stderr, "    %d: error while executing at wasm backtrace:\n", n++);
    wm_cli_print_backtrace(stderr, store, "         ");
    const char *msg = err->message[0] ? err->message : wm_trap_message(err->trap);
    fprintf(stderr, "    %d: wasm trap: %s\n", n, msg ? msg : "unknown trap");
    return WM_EXIT_TRAP;
}

int wm_cli_run(int argc, char **argv)
{
    run_opts o;
    int rc = parse_run_args(argc, argv, &o);
    if (rc >= 0) { free_run_opts(&o); return rc; }

    size_t len = 0;
    uint8_t *bytes = wm_cli_read_file(o.path, &len);
    if (!bytes) {
        fprintf(stderr, "error: cannot read module `%s`: %s\n", o.path, strerror(errno));
        free_run_opts(&o);
        return WM_EXIT_USAGE;
    }

    wm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_memory_pages = o.max_pages;
    cfg.fuel = o.fuel;
    cfg.deadline_ms = o.timeout_ms;
    wm_engine *engine = wm_engine_new(&cfg);
    wm_store *store = engine ? wm_store_new(engine) : NULL;
    wm_module *m = NULL;
    wm_val *args = NULL, *results = NULL;
    wm_wasi *wasi = NULL;
    wm_wasi_nn *nn = NULL;
    bool is_nn = false;
    wm_linker *linker = NULL;
    int *socks = NULL;
    int nsocks = 0;
    bool is_wasi = false;
    rc = WM_EXIT_FAILURE;
    if (!engine || !store) {
        fprintf(stderr, "Error: out of memory creating the engine\n");
        goto done;
    }
    if (o.fuel) wm_store_set_fuel(store, o.fuel);
    if (o.timeout_ms) wm_store_set_deadline_ms(store, o.timeout_ms);

    wm_error err;
    memset(&err, 0, sizeof err);
    /* under --fuel, compiled code must be the checked variant (no-limits code charges no fuel) */
    m = wm_cli_module_new(engine, bytes, len, g_run_tier, o.fuel != 0, &err);
    if (!m) {
        fprintf(stderr, "Error: failed to compile `%s`: %s", o.path, err.message[0] ? err.message : "invalid module");
        if (err.status == WM_ERR_MALFORMED || err.status == WM_ERR_INVALID)
            fprintf(stderr, " (at byte offset 0x%" PRIx32 ")", err.offset);
        fprintf(stderr, "\n");
        goto done;
    }

    /* Imports: WASI (wasi_snapshot_preview1, wasi_unstable) and nothing else. */
    uint32_t nimports = wm_module_import_count(m);
    for (uint32_t i = 0; i < nimports; i++) {
        const char *mod = NULL, *name = NULL;
        wm_externtype t;
        memset(&t, 0, sizeof t);
        if (!wm_module_import(m, i, &mod, &name, &t)) continue;
        if (is_wasi_module_name(mod)) { is_wasi = true; continue; }
        if (mod && !strcmp(mod, "wasi_ephemeral_nn")) { is_nn = true; continue; }
        fprintf(stderr, "Error: `%s` imports %s `%s`.`%s`, which `wasmind run` cannot provide; it provides only "
                        "WASI (wasi_snapshot_preview1, wasi_unstable) and WASI-NN (wasi_ephemeral_nn).\n",
                o.path, kind_name(t.kind), mod ? mod : "?", name ? name : "?");
        goto done;
    }
    if (!is_wasi && (o.ndirs || o.nenvs || o.nlistens))
        fprintf(stderr, "warning: --dir, --env and --listen are ignored: `%s` does not import WASI\n", o.path);

    linker = wm_linker_new(store);
    if (!linker) { fprintf(stderr, "Error: out of memory creating the linker\n"); goto done; }
    if (is_wasi) {
        for (int i = 0; i < o.nlistens; i++) {
            int s = listen_on(o.listens[i]);
            if (s < 0) { rc = WM_EXIT_USAGE; goto done; }
            int *ns = realloc(socks, (size_t)(nsocks + 1) * sizeof *ns);
            if (!ns) { close(s); fprintf(stderr, "Error: out of memory\n"); goto done; }
            socks = ns;
            socks[nsocks++] = s;
        }
        /* WASI argv: the module path, then ARGS (unless they are --invoke arguments). */
        int wargc = 1 + (o.invoke ? 0 : o.nargs);
        const char **wargv = calloc((size_t)wargc, sizeof *wargv);
        if (!wargv) { fprintf(stderr, "Error: out of memory\n"); goto done; }
        wargv[0] = o.path;
        for (int i = 1; i < wargc; i++) wargv[i] = o.args[i - 1];
        wm_wasi_config wc;
        memset(&wc, 0, sizeof wc);
        wc.argc = wargc;
        wc.argv = wargv;
        wc.envc = o.nenvs;
        wc.env = o.envs;
        wc.npreopens = o.ndirs;
        wc.preopen_host = o.dir_host;
        wc.preopen_guest = o.dir_guest;
        wc.stdin_fd = 0;
        wc.stdout_fd = 1;
        wc.stderr_fd = 2;
        wc.nsockets = nsocks;
        wc.socket_fds = socks;
        char why[512];
        wasi = wm_wasi_new(&wc, why, sizeof why);
        free(wargv);
        if (!wasi) { fprintf(stderr, "Error: %s\n", why); rc = WM_EXIT_USAGE; goto done; }
        if (!wm_wasi_define(wasi, linker, store)) { fprintf(stderr, "Error: cannot define the WASI functions\n"); goto done; }
        /* A write to a closed pipe must fail with EPIPE, not kill the runtime. */
        signal(SIGPIPE, SIG_IGN);
    }
    if (!is_nn && o.npreloads)
        fprintf(stderr, "warning: --nn-preload is ignored: `%s` does not import wasi_ephemeral_nn\n", o.path);
    if (is_nn) {
        nn = wm_wasi_nn_new();
        if (!nn) { fprintf(stderr, "Error: out of memory creating WASI-NN\n"); goto done; }
        for (int i = 0; i < o.npreloads; i++) {
            char why[512];
            if (!wm_wasi_nn_preload(nn, o.nn_preloads[i], why, sizeof why)) {
                fprintf(stderr, "Error: --nn-preload `%s`: %s\n", o.nn_preloads[i], why);
                rc = WM_EXIT_USAGE;
                goto done;
            }
        }
        if (o.nn_threads) wm_wasi_nn_set_threads(nn, o.nn_threads);
        if (!wm_wasi_nn_define(nn, linker, store)) { fprintf(stderr, "Error: cannot define the WASI-NN functions\n"); goto done; }
    }

    memset(&err, 0, sizeof err);
    fflush(stdout);
    wm_instance *inst = wm_linker_instantiate(linker, m, &err);
    if (!inst) {
        if (err.status == WM_ERR_TRAP) { rc = report_trap("instantiate (start function)", o.path, NULL, store, &err); goto done; }
        if (err.status == WM_ERR_UNLINKABLE) {
            fprintf(stderr, "Error: failed to instantiate `%s`: %s\n", o.path, err.message[0] ? err.message : "unknown import");
            goto done;
        }
        if (err.status == WM_ERR_EXIT) { rc = err.exit_code; goto done; }
        fprintf(stderr, "Error: failed to instantiate `%s`: %s\n", o.path, err.message[0] ? err.message : "error");
        goto done;
    }

    const char *fname = o.invoke ? o.invoke : "_start";
    wm_extern ext;
    memset(&ext, 0, sizeof ext);
    if (!wm_instance_export(inst, fname, &ext)) {
        if (o.invoke)
            fprintf(stderr, "error: `%s` has no export named `%s`.\n", o.path, fname);
        else
            fprintf(stderr, "error: `%s` does not export `_start`, so there is nothing to run by default.\n"
                            "Choose a function with --invoke NAME, e.g. `wasmind run --invoke NAME %s ARGS...`.\n",
                    o.path, o.path);
        hint_misplaced_options(&o);
        list_func_exports(stderr, m);
        rc = WM_EXIT_USAGE;
        goto done;
    }
    if (ext.kind != WM_EXTERN_FUNC || !ext.of.func) {
        fprintf(stderr, "error: export `%s` of `%s` is a %s, not a function; --invoke needs a function.\n",
                fname, o.path, kind_name(ext.kind));
        list_func_exports(stderr, m);
        rc = WM_EXIT_USAGE;
        goto done;
    }
    wm_functype ft = wm_func_type(ext.of.func);
    int nargs = o.nargs;
    if (!o.invoke && is_wasi) nargs = 0;   /* they went to the guest's argv */
    if (!o.invoke && ft.nparams == 0 && nargs > 0) {
        fprintf(stderr, "warning: ignoring %d argument(s) after the module: `_start` takes none\n", nargs);
        hint_misplaced_options(&o);
        nargs = 0;
    }
    if ((uint32_t)nargs != ft.nparams) {
        fprintf(stderr, "error: ");
        print_signature(stderr, fname, ft);
        fprintf(stderr, ", so it needs %u argument(s), but %d %s given after the module path.\n",
                ft.nparams, nargs, nargs == 1 ? "was" : "were");
        hint_misplaced_options(&o);
        rc = WM_EXIT_USAGE;
        goto done;
    }
    args = calloc(ft.nparams ? ft.nparams : 1, sizeof *args);
    results = calloc(ft.nresults ? ft.nresults : 1, sizeof *results);
    if (!args || !results) { fprintf(stderr, "Error: out of memory\n"); goto done; }
    for (uint32_t i = 0; i < ft.nparams; i++) {
        char why[256];
        if (!wm_cli_parse_value(o.args[i], ft.params[i], &args[i], why, sizeof why)) {
            fprintf(stderr, "error: argument %u of `%s` (%s): %s\n", i + 1, fname,
                    wm_cli_valtype_name(ft.params[i]), why);
            hint_misplaced_options(&o);
            rc = WM_EXIT_USAGE;
            goto done;
        }
    }

    memset(&err, 0, sizeof err);
    wm_status st = wm_func_call(store, ext.of.func, args, ft.nparams, results, ft.nresults, &err);
    if (st == WM_ERR_TRAP) {
        rc = report_trap(NULL, o.path, fname, store, &err);
        goto done;
    }
    if (st == WM_ERR_EXIT) { rc = err.exit_code; goto done; }
    if (st != WM_OK) {
        fprintf(stderr, "Error: failed to invoke `%s`: %s\n", fname, err.message[0] ? err.message : "error");
        goto done;
    }
    for (uint32_t i = 0; i < ft.nresults; i++) {
        char buf[512];
        wm_cli_format_result(&results[i], buf, sizeof buf);
        printf("%s\n", buf);
    }
    fflush(stdout);
    rc = WM_EXIT_OK;

done:
    free(args);
    free(results);
    if (linker) wm_linker_free(linker);
    if (store) wm_store_free(store);
    wm_wasi_free(wasi);   /* after the store: its host functions point at it */
    wm_wasi_nn_free(nn);
    for (int i = 0; i < nsocks; i++) close(socks[i]);
    free(socks);
    free_run_opts(&o);
    if (m) wm_module_free(m);
    if (engine) wm_engine_free(engine);
    free(bytes);
    return rc;
}
