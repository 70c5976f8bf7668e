/* wast.c — `wasmind wast`: the spec-test runner. Converts each .wast with wabt's wast2json into a
 * temporary directory, then executes the JSON commands (modules, registers, actions, assertions). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "aot/aot.h"
#include "spectest.h"

void wm_cli_wast_usage(FILE *out)
{
    fprintf(out,
            "Usage: wasmind wast [OPTIONS] FILE.wast...\n"
            "\n"
            "Runs WebAssembly spec test scripts. Each file is converted with `wast2json` (from wabt;\n"
            "install it with `apt-get install wabt`, or point WASMIND_WAST2JSON at it) and every\n"
            "command in it is executed against the `spectest` host module. A FILE.json made by\n"
            "wast2json (with its .wasm files beside it) is run as it is.\n"
            "Prints `FILE: N passed, N failed, N skipped` per file and the totals last.\n"
            "\n"
            "Options:\n"
            "  -v, --verbose      Print every failure with its line number and expected vs got\n"
            "  --timeout SECONDS  Trap any single invocation running longer than this (default 60;\n"
            "                     0 = no limit), so a runaway test cannot hang the run\n"
            "  --aot, --interp    Execution tier: compile every module to native code via C (-O1,\n"
            "                     cached), or the interpreter (default)\n"
            "  -h, --help         Print this help\n"
            "\n"
            "Exit status: 0 if nothing failed, 1 if something failed, 2 for command-line errors.\n");
}

/* ---- stopping on SIGINT/SIGTERM ----------------------------------------------- */

/* The first signal interrupts the running guest and stops the run after the current command,
 * so the temporary directory is still removed; a second one kills the process. */
static volatile sig_atomic_t g_stop_signal;
static wm_store *volatile g_running_store;

static void on_stop_signal(int sig)
{
    if (g_stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    g_stop_signal = sig;
    wm_store *s = g_running_store;
    if (s) wm_store_interrupt(s);
}

static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* Leave signals alone that were ignored when we started (nohup, background jobs). */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- per-file state -------------------------------------------------------- */

typedef struct named_inst { char *name; wm_instance *inst; } named_inst;

typedef struct wast_ctx {
    const char *file;        /* the .wast path as given */
    const char *dir;         /* temp dir with the JSON and .wasm files */
    bool verbose;
    wm_engine *engine;
    wm_store *store;
    wm_linker *linker;
    wm_module **modules; size_t nmodules, cap_modules;      /* freed after the store */
    named_inst *named; size_t nnamed, cap_named;            /* "$name" -> instance (NULL = failed) */
    named_inst *registered; size_t nregistered, cap_registered;   /* "as" -> instance */
    wm_instance *current;    /* last module instantiated (NULL if it failed) */
    bool current_failed;
    int line;
    int *nul_lines; size_t nnul_lines, cap_nul_lines;   /* commands naming something with a NUL byte */
    const char *json_text; size_t json_len;             /* wast2json output, for those names */
    char raw_field[512]; size_t raw_field_len; bool use_raw_field;
    int passed, failed, skipped;
} wast_ctx;

static void fail(wast_ctx *c, const char *fmt, ...)
{
    c->failed++;
    if (!c->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    printf("%s:%d: FAIL: ", c->file, c->line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static void note(wast_ctx *c, const char *fmt, ...)
{
    if (!c->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    printf("%s:%d: note: ", c->file, c->line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, nc * elem);
    if (!na) return false;
    *arr = na;
    *cap = nc;
    return true;
}

static void keep_module(wast_ctx *c, wm_module *m)
{
    if (!m) return;
    if (!grow((void **)&c->modules, &c->cap_modules, c->nmodules, sizeof *c->modules)) {
        /* Cannot track it: leak it rather than free a module an instance may use. */
        return;
    }
    c->modules[c->nmodules++] = m;
}

static void set_named(named_inst **arr, size_t *n, size_t *cap, const char *name, wm_instance *inst)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].name, name) == 0) { (*arr)[i].inst = inst; return; }
    if (!grow((void **)arr, cap, *n, sizeof **arr)) return;
    char *d = xstrdup(name);
    if (!d) return;
    (*arr)[*n].name = d;
    (*arr)[*n].inst = inst;
    (*n)++;
}

static bool find_named(wast_ctx *c, const char *name, wm_instance **out)
{
    for (size_t i = 0; i < c->nnamed; i++)
        if (strcmp(c->named[i].name, name) == 0) { *out = c->named[i].inst; return true; }
    return false;
}

/* ---- JSON helpers ------------------------------------------------------------- */

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static uint8_t parse_type_name(const char *s)
{
    if (!s) return 0;
    if (!strcmp(s, "i32")) return WM_I32;
    if (!strcmp(s, "i64")) return WM_I64;
    if (!strcmp(s, "f32")) return WM_F32;
    if (!strcmp(s, "f64")) return WM_F64;
    if (!strcmp(s, "v128")) return WM_V128;
    if (!strcmp(s, "funcref")) return WM_FUNCREF;
    if (!strcmp(s, "externref")) return WM_EXTERNREF;
    return 0;
}

/* Decimal (possibly negative) integer string as raw bits. */
static bool parse_bits(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    if (s[0] == '-') {
        long long v = strtoll(s, &end, 10);
        if (errno || *end) return false;
        *out = (uint64_t)v;
        return true;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static int lane_info(const char *lane_type, unsigned *width)
{
    if (!lane_type) return 0;
    if (!strcmp(lane_type, "i8")) { *width = 1; return 16; }
    if (!strcmp(lane_type, "i16")) { *width = 2; return 8; }
    if (!strcmp(lane_type, "i32") || !strcmp(lane_type, "f32")) { *width = 4; return 4; }
    if (!strcmp(lane_type, "i64") || !strcmp(lane_type, "f64")) { *width = 8; return 2; }
    return 0;
}

static void put_lane(uint8_t *v128, int lane, unsigned width, uint64_t bits)
{
    for (unsigned b = 0; b < width; b++) v128[lane * (int)width + (int)b] = (uint8_t)(bits >> (8 * b));
}

static uint64_t get_lane(const uint8_t *v128, int lane, unsigned width)
{
    uint64_t r = 0;
    for (unsigned b = 0; b < width; b++) r |= (uint64_t)v128[lane * (int)width + (int)b] << (8 * b);
    return r;
}

/* A JSON argument value -> wm_val. */
static bool json_to_val(const cJSON *j, wm_val *out, char *why, size_t wsize)
{
    memset(out, 0, sizeof *out);
    const char *ts = jstr(j, "type");
    uint8_t t = parse_type_name(ts);
    if (!t) { snprintf(why, wsize, "unsupported argument type `%s`", ts ? ts : "?"); return false; }
    out->type = t;
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(j, "value");
    uint64_t bits = 0;
    if (t == WM_V128) {
        unsigned width = 0;
        const char *lt = jstr(j, "lane_type");
        int lanes = lane_info(lt, &width);
        if (!lanes || !cJSON_IsArray(val) || cJSON_GetArraySize(val) != lanes) {
            snprintf(why, wsize, "malformed v128 argument");
            return false;
        }
        for (int i = 0; i < lanes; i++) {
            const cJSON *l = cJSON_GetArrayItem(val, i);
            if (!cJSON_IsString(l) || !parse_bits(l->valuestring, &bits)) {
                snprintf(why, wsize, "malformed v128 lane `%s`", cJSON_IsString(l) ? l->valuestring : "?");
                return false;
            }
            put_lane(out->of.v128, i, width, bits);
        }
        return true;
    }
    const char *vs = cJSON_IsString(val) ? val->valuestring : NULL;
    if (!vs) { snprintf(why, wsize, "argument without a value"); return false; }
    if (t == WM_FUNCREF || t == WM_EXTERNREF) {
        if (!strcmp(vs, "null")) return true;
        if (!parse_bits(vs, &bits)) { snprintf(why, wsize, "malformed reference `%s`", vs); return false; }
        if (t == WM_FUNCREF) { snprintf(why, wsize, "cannot pass funcref %s as an argument", vs); return false; }
        out->of.externref = (void *)(uintptr_t)(bits + 1);
        return true;
    }
    if (!parse_bits(vs, &bits)) { snprintf(why, wsize, "malformed %s value `%s`", ts, vs); return false; }
    switch (t) {
    case WM_I32: out->of.i32 = (int32_t)(uint32_t)bits; break;
    case WM_I64: out->of.i64 = (int64_t)bits; break;
    case WM_F32: out->of.f32_bits = (uint32_t)bits; break;
    case WM_F64: out->of.f64_bits = bits; break;
    default: break;
    }
    return true;
}

/* ---- value formatting for messages ------------------------------------------- */

static void fmt_val(const wm_val *v, const char *lane_type, char *buf, size_t size)
{
    char num[512];
    switch (v->type) {
    case WM_I32:
        snprintf(buf, size, "i32:%" PRIu32 " (%" PRId32 ", 0x%" PRIx32 ")", (uint32_t)v->of.i32, v->of.i32,
                 (uint32_t)v->of.i32);
        break;
    case WM_I64:
        snprintf(buf, size, "i64:%" PRIu64 " (%" PRId64 ", 0x%" PRIx64 ")", (uint64_t)v->of.i64, v->of.i64,
                 (uint64_t)v->of.i64);
        break;
    case WM_F32:
        wm_cli_format_f32(v->of.f32_bits, num, sizeof num);
        snprintf(buf, size, "f32:%s (0x%08" PRIx32 ")", num, v->of.f32_bits);
        break;
    case WM_F64:
        wm_cli_format_f64(v->of.f64_bits, num, sizeof num);
        snprintf(buf, size, "f64:%s (0x%016" PRIx64 ")", num, v->of.f64_bits);
        break;
    case WM_V128: {
        unsigned width = 0;
        int lanes = lane_info(lane_type ? lane_type : "i32", &width);
        if (!lanes) lanes = lane_info("i32", &width);
        size_t n = (size_t)snprintf(buf, size, "v128:%s [", lane_type ? lane_type : "i32");
        for (int i = 0; i < lanes && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, "%s0x%0*" PRIx64, i ? " " : "", (int)width * 2,
                                  get_lane(v->of.v128, i, width));
        if (n < size) snprintf(buf + n, size - n, "]");
        break;
    }
    case WM_FUNCREF:
        snprintf(buf, size, v->of.funcref ? "funcref:%p" : "funcref:null", (void *)v->of.funcref);
        break;
    case WM_EXTERNREF:
        if (!v->of.externref) snprintf(buf, size, "externref:null");
        else snprintf(buf, size, "externref:%" PRIuPTR, (uintptr_t)v->of.externref - 1);
        break;
    default:
        snprintf(buf, size, "<type 0x%02x>", v->type);
        break;
    }
}

/* Formats a JSON expected value for messages. */
static void fmt_expected(const cJSON *j, char *buf, size_t size)
{
    const char *ts = jstr(j, "type");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(j, "value");
    if (cJSON_IsString(val)) {
        const char *vs = val->valuestring;
        uint64_t bits;
        if (strncmp(vs, "nan:", 4) != 0 && strcmp(vs, "null") != 0 && parse_bits(vs, &bits)) {
            wm_val v;
            char why[64];
            if (json_to_val(j, &v, why, sizeof why)) { fmt_val(&v, NULL, buf, size); return; }
        }
        snprintf(buf, size, "%s:%s", ts ? ts : "?", vs);
        return;
    }
    if (cJSON_IsArray(val)) {
        const char *lt = jstr(j, "lane_type");
        size_t n = (size_t)snprintf(buf, size, "v128:%s [", lt ? lt : "?");
        unsigned width = 4;
        lane_info(lt, &width);
        int i = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, val) {
            if (n >= size) break;
            uint64_t bits;
            if (cJSON_IsString(l) && parse_bits(l->valuestring, &bits))
                n += (size_t)snprintf(buf + n, size - n, "%s0x%0*" PRIx64, i ? " " : "", (int)width * 2, bits);
            else
                n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", cJSON_IsString(l) ? l->valuestring : "?");
            i++;
        }
        if (n < size) snprintf(buf + n, size - n, "]");
        return;
    }
    snprintf(buf, size, "%s", ts ? ts : "?");
}

/* ---- comparing results ------------------------------------------------------------ */

static bool f32_canonical_nan(uint32_t b) { return (b & 0x7fffffffu) == 0x7fc00000u; }
static bool f32_arithmetic_nan(uint32_t b) { return (b & 0x7fc00000u) == 0x7fc00000u; }
static bool f64_canonical_nan(uint64_t b) { return (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull; }
static bool f64_arithmetic_nan(uint64_t b) { return (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull; }

/* Checks one float (bits, width 4 or 8) against an expected string. */
static bool float_matches(const char *exp, uint64_t got, unsigned width, bool *ok)
{
    if (!strcmp(exp, "nan:canonical")) {
        *ok = width == 4 ? f32_canonical_nan((uint32_t)got) : f64_canonical_nan(got);
        return true;
    }
    if (!strcmp(exp, "nan:arithmetic")) {
        *ok = width == 4 ? f32_arithmetic_nan((uint32_t)got) : f64_arithmetic_nan(got);
        return true;
    }
    uint64_t bits;
    if (!parse_bits(exp, &bits)) return false;
    if (width == 4) *ok = (uint32_t)bits == (uint32_t)got;
    else *ok = bits == got;
    return true;
}

/* Returns true if got matches expected; otherwise writes a reason. */
static bool value_matches(const cJSON *exp, const wm_val *got, char *why, size_t wsize)
{
    const char *ts = jstr(exp, "type");
    uint8_t t = parse_type_name(ts);
    if (!t) { snprintf(why, wsize, "unsupported expected type `%s`", ts ? ts : "?"); return false; }
    if (got->type != t) {
        snprintf(why, wsize, "expected a result of type %s, got one of type %s", ts, wm_cli_valtype_name(got->type));
        return false;
    }
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(exp, "value");
    bool ok = false;
    if (t == WM_V128) {
        const char *lt = jstr(exp, "lane_type");
        unsigned width = 0;
        int lanes = lane_info(lt, &width);
        if (!lanes || !cJSON_IsArray(val) || cJSON_GetArraySize(val) != lanes) {
            snprintf(why, wsize, "malformed expected v128 value");
            return false;
        }
        bool is_float = lt[0] == 'f';
        for (int i = 0; i < lanes; i++) {
            const cJSON *l = cJSON_GetArrayItem(val, i);
            if (!cJSON_IsString(l)) { snprintf(why, wsize, "malformed expected v128 lane"); return false; }
            uint64_t g = get_lane(got->of.v128, i, width);
            bool lane_ok;
            if (is_float) {
                if (!float_matches(l->valuestring, g, width, &lane_ok)) {
                    snprintf(why, wsize, "malformed expected lane `%s`", l->valuestring);
                    return false;
                }
            } else {
                uint64_t bits;
                if (!parse_bits(l->valuestring, &bits)) {
                    snprintf(why, wsize, "malformed expected lane `%s`", l->valuestring);
                    return false;
                }
                uint64_t mask = width == 8 ? ~0ull : ((1ull << (8 * width)) - 1);
                lane_ok = (bits & mask) == g;
            }
            if (!lane_ok) goto mismatch;
        }
        return true;
    }
    if (!cJSON_IsString(val)) { snprintf(why, wsize, "expected value missing"); return false; }
    const char *vs = val->valuestring;
    uint64_t bits;
    switch (t) {
    case WM_I32:
        if (!parse_bits(vs, &bits)) goto malformed;
        ok = (uint32_t)bits == (uint32_t)got->of.i32;
        break;
    case WM_I64:
        if (!parse_bits(vs, &bits)) goto malformed;
        ok = bits == (uint64_t)got->of.i64;
        break;
    case WM_F32:
        if (!float_matches(vs, got->of.f32_bits, 4, &ok)) goto malformed;
        break;
    case WM_F64:
        if (!float_matches(vs, got->of.f64_bits, 8, &ok)) goto malformed;
        break;
    case WM_FUNCREF:
        if (!strcmp(vs, "null")) ok = got->of.funcref == NULL;
        else ok = got->of.funcref != NULL;   /* ref.func N: any non-null function */
        break;
    case WM_EXTERNREF:
        if (!strcmp(vs, "null")) ok = got->of.externref == NULL;
        else {
            if (!parse_bits(vs, &bits)) goto malformed;
            ok = got->of.externref == (void *)(uintptr_t)(bits + 1);
        }
        break;
    default:
        break;
    }
    if (ok) return true;
mismatch: {
        char e[600], g[600];
        fmt_expected(exp, e, sizeof e);
        fmt_val(got, jstr(exp, "lane_type"), g, sizeof g);
        snprintf(why, wsize, "expected %s, got %s", e, g);
        return false;
    }
malformed:
    snprintf(why, wsize, "malformed expected %s value `%s`", ts, vs);
    return false;
}

/* ---- actions ------------------------------------------------------------------------ */

typedef struct action_result {
    bool ran;              /* false: could not even be attempted (why says so) */
    wm_status status;
    wm_error err;
    wm_val *results;
    uint32_t nresults;
    char why[600];
    char desc[300];        /* "invoke `name`" for messages */
} action_result;

static void action_result_free(action_result *r)
{
    free(r->results);
    r->results = NULL;
}

static wm_instance *resolve_instance(wast_ctx *c, const cJSON *j, char *why, size_t wsize)
{
    const char *mod = jstr(j, "module");
    if (mod) {
        wm_instance *inst = NULL;
        if (!find_named(c, mod, &inst)) { snprintf(why, wsize, "unknown module %s", mod); return NULL; }
        if (!inst) snprintf(why, wsize, "module %s failed to load or instantiate", mod);
        return inst;
    }
    if (!c->current)
        snprintf(why, wsize, c->current_failed ? "the current module failed to load or instantiate"
                                               : "no module has been instantiated");
    return c->current;
}

static void perform_action(wast_ctx *c, const cJSON *action, action_result *r)
{
    memset(r, 0, sizeof *r);
    if (!cJSON_IsObject(action)) { snprintf(r->why, sizeof r->why, "command has no action"); return; }
    const char *type = jstr(action, "type");
    const char *field = jstr(action, "field");
    snprintf(r->desc, sizeof r->desc, "%s `%s`", type ? type : "?", field ? field : "?");
    if (!type || !field) { snprintf(r->why, sizeof r->why, "malformed action"); return; }
    wm_instance *inst = resolve_instance(c, action, r->why, sizeof r->why);
    if (!inst) return;
    wm_extern ext;
    memset(&ext, 0, sizeof ext);
    bool found = c->use_raw_field ? wm_instance_export_bytes(inst, c->raw_field, c->raw_field_len, &ext)
                                  : wm_instance_export(inst, field, &ext);
    if (!found) {
        snprintf(r->why, sizeof r->why, "no export named `%s`", field);
        return;
    }
    if (!strcmp(type, "get")) {
        if (ext.kind != WM_EXTERN_GLOBAL || !ext.of.global) {
            snprintf(r->why, sizeof r->why, "export `%s` is not a global", field);
            return;
        }
        r->results = calloc(1, sizeof *r->results);
        if (!r->results) { snprintf(r->why, sizeof r->why, "out of memory"); return; }
        r->results[0] = wm_global_get(ext.of.global);
        r->nresults = 1;
        r->ran = true;
        r->status = WM_OK;
        return;
    }
    if (strcmp(type, "invoke") != 0) {
        snprintf(r->why, sizeof r->why, "unsupported action type `%s`", type);
        return;
    }
    if (ext.kind != WM_EXTERN_FUNC || !ext.of.func) {
        snprintf(r->why, sizeof r->why, "export `%s` is not a function", field);
        return;
    }
    const cJSON *jargs = cJSON_GetObjectItemCaseSensitive(action, "args");
    int nargs = cJSON_IsArray(jargs) ? cJSON_GetArraySize(jargs) : 0;
    wm_val *args = calloc(nargs > 0 ? (size_t)nargs : 1, sizeof *args);
    if (!args) { snprintf(r->why, sizeof r->why, "out of memory"); return; }
    for (int i = 0; i < nargs; i++) {
        char why[200];
        if (!json_to_val(cJSON_GetArrayItem(jargs, i), &args[i], why, sizeof why)) {
            snprintf(r->why, sizeof r->why, "argument %d: %s", i + 1, why);
            free(args);
            return;
        }
    }
    wm_functype ft = wm_func_type(ext.of.func);
    r->results = calloc(ft.nresults ? ft.nresults : 1, sizeof *r->results);
    if (!r->results) { free(args); snprintf(r->why, sizeof r->why, "out of memory"); return; }
    r->nresults = ft.nresults;
    r->status = wm_func_call(c->store, ext.of.func, args, (uint32_t)nargs, r->results, ft.nresults, &r->err);
    r->err.message[sizeof r->err.message - 1] = 0;
    if (r->status == WM_ERR_TRAP && r->err.status != WM_ERR_TRAP) r->err.status = WM_ERR_TRAP;
    r->ran = true;
    free(args);
}

static const char *status_name(wm_status s)
{
    switch (s) {
    case WM_OK: return "ok";
    case WM_ERR_MALFORMED: return "malformed";
    case WM_ERR_INVALID: return "invalid";
    case WM_ERR_UNLINKABLE: return "unlinkable";
    case WM_ERR_TRAP: return "trap";
    case WM_ERR_EXIT: return "exit";
    case WM_ERR_RESOURCE: return "resource";
    case WM_ERR_ARGUMENT: return "argument";
    default: return "unknown status";
    }
}

static const char *err_text(const wm_error *e)
{
    if (e->message[0]) return e->message;
    if (e->status == WM_ERR_TRAP) {
        const char *m = wm_trap_message(e->trap);
        if (m) return m;
    }
    return "(no message)";
}

/* ---- modules ------------------------------------------------------------------------ */
static bool g_wast_aot;   /* --aot: every module runs compiled (src/aot) */

static char *module_path(wast_ctx *c, const char *filename)
{
    size_t n = strlen(c->dir) + strlen(filename) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", c->dir, filename);
    return p;
}

/* Loads the module file of a command. Returns NULL with err filled (status MALFORMED etc.) or
 * with why set for I/O problems (io_error true). */
static wm_module *load_module(wast_ctx *c, const cJSON *cmd, wm_error *err, bool *io_error, char *why, size_t wsize)
{
    *io_error = false;
    memset(err, 0, sizeof *err);
    const char *filename = jstr(cmd, "filename");
    if (!filename) { *io_error = true; snprintf(why, wsize, "command has no filename"); return NULL; }
    char *path = module_path(c, filename);
    if (!path) { *io_error = true; snprintf(why, wsize, "out of memory"); return NULL; }
    size_t len = 0;
    uint8_t *bytes = wm_cli_read_file(path, &len);
    if (!bytes) {
        *io_error = true;
        snprintf(why, wsize, "cannot read %s: %s", filename, strerror(errno));
        free(path);
        return NULL;
    }
    wm_module *m = wm_module_new(c->engine, bytes, len, err);
    err->message[sizeof err->message - 1] = 0;
    if (m && g_wast_aot) {   /* AOT tier: compile (or reuse cached code); on failure stay interpreted */
        wm_aot_options ao = { .opt_level = 1 };
        char awhy[300];
        if (!wm_aot_attach(m, &ao, awhy, sizeof awhy)) fprintf(stderr, "wasmind: AOT compile of %s failed (%s); interpreting it\n", filename, awhy);
    }
    free(bytes);
    free(path);
    return m;
}

static void cmd_module(wast_ctx *c, const cJSON *cmd)
{
    const char *name = jstr(cmd, "name");
    c->current = NULL;
    c->current_failed = true;
    if (name) set_named(&c->named, &c->nnamed, &c->cap_named, name, NULL);
    wm_error err;
    bool io;
    char why[300];
    wm_module *m = load_module(c, cmd, &err, &io, why, sizeof why);
    if (!m) {
        if (io) fail(c, "module: %s", why);
        else fail(c, "module failed to load (%s at offset 0x%" PRIx32 "): %s", status_name(err.status), err.offset,
                  err_text(&err));
        return;
    }
    keep_module(c, m);
    memset(&err, 0, sizeof err);
    wm_instance *inst = wm_linker_instantiate(c->linker, m, &err);
    err.message[sizeof err.message - 1] = 0;
    if (!inst) {
        fail(c, "module failed to instantiate (%s): %s", status_name(err.status), err_text(&err));
        return;
    }
    c->current = inst;
    c->current_failed = false;
    if (name) set_named(&c->named, &c->nnamed, &c->cap_named, name, inst);
    /* Setting up a module is not an assertion: only its failure is counted. */
}

static bool rebuild_linker(wast_ctx *c, const char *as, const wm_instance *inst)
{
    wm_linker *l = wm_linker_new(c->store);
    if (!l) return false;
    if (!wm_spectest_register(l, c->store)) { wm_linker_free(l); return false; }
    for (size_t i = 0; i < c->nregistered; i++) {
        if (!strcmp(c->registered[i].name, as) || !c->registered[i].inst) continue;
        if (!wm_linker_define_instance(l, c->registered[i].name, c->registered[i].inst)) {
            wm_linker_free(l);
            return false;
        }
    }
    if (!wm_linker_define_instance(l, as, inst)) { wm_linker_free(l); return false; }
    wm_linker_free(c->linker);
    c->linker = l;
    return true;
}

static void cmd_register(wast_ctx *c, const cJSON *cmd)
{
    const char *as = jstr(cmd, "as");
    if (!as) { fail(c, "register without `as`"); return; }
    char why[300];
    wm_instance *inst = NULL;
    const char *name = jstr(cmd, "name");
    if (name) {
        if (!find_named(c, name, &inst)) snprintf(why, sizeof why, "unknown module %s", name);
        else if (!inst) snprintf(why, sizeof why, "module %s failed to load or instantiate", name);
    } else {
        inst = resolve_instance(c, cmd, why, sizeof why);
    }
    if (!inst) { fail(c, "register \"%s\": %s", as, why); return; }
    if (!wm_linker_define_instance(c->linker, as, inst)) {
        /* Maybe the name is taken: a later register overrides, so rebuild the linker. */
        if (!rebuild_linker(c, as, inst)) {
            fail(c, "register \"%s\": wm_linker_define_instance failed", as);
            return;
        }
        note(c, "register \"%s\": linker rebuilt to override an earlier registration", as);
    }
    set_named(&c->registered, &c->nregistered, &c->cap_registered, as, inst);
}

static void describe_failure(const action_result *r, char *buf, size_t size)
{
    if (!r->ran) snprintf(buf, size, "%s", r->why);
    else if (r->status == WM_ERR_TRAP) snprintf(buf, size, "trapped: %s", err_text(&r->err));
    else snprintf(buf, size, "failed (%s): %s", status_name(r->status), err_text(&r->err));
}

static void cmd_action(wast_ctx *c, const cJSON *cmd)
{
    action_result r;
    perform_action(c, cJSON_GetObjectItemCaseSensitive(cmd, "action"), &r);
    if (!r.ran || r.status != WM_OK) {
        char d[700];
        describe_failure(&r, d, sizeof d);
        fail(c, "action %s: %s", r.desc, d);
    } else {
        c->passed++;
    }
    action_result_free(&r);
}

static void cmd_assert_return(wast_ctx *c, const cJSON *cmd)
{
    action_result r;
    perform_action(c, cJSON_GetObjectItemCaseSensitive(cmd, "action"), &r);
    if (!r.ran || r.status != WM_OK) {
        char d[700];
        describe_failure(&r, d, sizeof d);
        fail(c, "assert_return %s: %s", r.desc, d);
        action_result_free(&r);
        return;
    }
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(cmd, "expected");
    int nexp = cJSON_IsArray(exp) ? cJSON_GetArraySize(exp) : 0;
    if ((uint32_t)nexp != r.nresults) {
        fail(c, "assert_return %s: expected %d result(s), got %" PRIu32, r.desc, nexp, r.nresults);
        action_result_free(&r);
        return;
    }
    for (int i = 0; i < nexp; i++) {
        char why[1400];
        const cJSON *e = cJSON_GetArrayItem(exp, i);
        const char *et = jstr(e, "type");
        if (et && !strcmp(et, "either")) {
            /* One of several alternatives (relaxed SIMD). */
            const cJSON *alts = cJSON_GetObjectItemCaseSensitive(e, "values");
            const cJSON *alt;
            bool any = false;
            cJSON_ArrayForEach(alt, alts) {
                if (value_matches(alt, &r.results[i], why, sizeof why)) { any = true; break; }
            }
            if (!any) {
                fail(c, "assert_return %s: result %d matches none of the alternatives: %s", r.desc, i + 1, why);
                action_result_free(&r);
                return;
            }
            continue;
        }
        if (!value_matches(e, &r.results[i], why, sizeof why)) {
            if (nexp > 1) fail(c, "assert_return %s: result %d: %s", r.desc, i + 1, why);
            else fail(c, "assert_return %s: %s", r.desc, why);
            action_result_free(&r);
            return;
        }
    }
    c->passed++;
    action_result_free(&r);
}

static bool text_matches(const char *want, const char *got)
{
    if (!want || !*want) return true;
    return got && strstr(got, want) != NULL;
}

static void cmd_assert_uninstantiable(wast_ctx *c, const cJSON *cmd, const char *kind);

static void cmd_assert_trap(wast_ctx *c, const cJSON *cmd, bool exhaustion)
{
    const char *kind = exhaustion ? "assert_exhaustion" : "assert_trap";
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(cmd, "action");
    if (!action && jstr(cmd, "filename")) {   /* (assert_trap (module ...)) */
        cmd_assert_uninstantiable(c, cmd, kind);
        return;
    }
    const char *text = jstr(cmd, "text");
    action_result r;
    perform_action(c, action, &r);
    if (!r.ran) {
        fail(c, "%s %s: %s", kind, r.desc, r.why);
    } else if (r.status == WM_OK) {
        fail(c, "%s %s: expected a trap (\"%s\"), but it returned normally", kind, r.desc, text ? text : "");
    } else if (r.status != WM_ERR_TRAP) {
        fail(c, "%s %s: expected a trap (\"%s\"), got %s error: %s", kind, r.desc, text ? text : "",
             status_name(r.status), err_text(&r.err));
    } else if (exhaustion && r.err.trap != WM_TRAP_STACK_EXHAUSTED) {
        fail(c, "%s %s: expected stack exhaustion, got trap: %s", kind, r.desc, err_text(&r.err));
    } else {
        if (!text_matches(text, err_text(&r.err)))
            note(c, "%s %s: trap wording differs: expected \"%s\", got \"%s\"", kind, r.desc, text,
                 err_text(&r.err));
        c->passed++;
    }
    action_result_free(&r);
}

static void cmd_assert_module_fails(wast_ctx *c, const cJSON *cmd, const char *kind, wm_status want)
{
    const char *mt = jstr(cmd, "module_type");
    if (mt && strcmp(mt, "binary") != 0) {
        c->skipped++;
        return;
    }
    wm_error err;
    bool io;
    char why[300];
    wm_module *m = load_module(c, cmd, &err, &io, why, sizeof why);
    if (io) { fail(c, "%s: %s", kind, why); return; }
    const char *text = jstr(cmd, "text");
    if (m) {
        wm_module_free(m);
        fail(c, "%s: the module loaded, but it should fail with \"%s\"", kind, text ? text : "");
        return;
    }
    if (err.status != want)
        note(c, "%s: failed as %s, expected %s (\"%s\"): %s", kind, status_name(err.status), status_name(want),
             text ? text : "", err_text(&err));
    else if (!text_matches(text, err_text(&err)))
        note(c, "%s: wording differs: expected \"%s\", got \"%s\"", kind, text, err_text(&err));
    c->passed++;
}

static void cmd_assert_unlinkable(wast_ctx *c, const cJSON *cmd)
{
    wm_error err;
    bool io;
    char why[300];
    wm_module *m = load_module(c, cmd, &err, &io, why, sizeof why);
    if (io) { fail(c, "assert_unlinkable: %s", why); return; }
    if (!m) {
        fail(c, "assert_unlinkable: the module failed to load (%s): %s", status_name(err.status), err_text(&err));
        return;
    }
    keep_module(c, m);
    const char *text = jstr(cmd, "text");
    memset(&err, 0, sizeof err);
    wm_instance *inst = wm_linker_instantiate(c->linker, m, &err);
    err.message[sizeof err.message - 1] = 0;
    if (inst) {
        fail(c, "assert_unlinkable: the module instantiated, but it should fail with \"%s\"", text ? text : "");
        return;
    }
    if (err.status != WM_ERR_UNLINKABLE)
        note(c, "assert_unlinkable: failed as %s, expected unlinkable (\"%s\"): %s", status_name(err.status),
             text ? text : "", err_text(&err));
    else if (!text_matches(text, err_text(&err)))
        note(c, "assert_unlinkable: wording differs: expected \"%s\", got \"%s\"", text, err_text(&err));
    c->passed++;
}

static void cmd_assert_uninstantiable(wast_ctx *c, const cJSON *cmd, const char *kind)
{
    wm_error err;
    bool io;
    char why[300];
    wm_module *m = load_module(c, cmd, &err, &io, why, sizeof why);
    if (io) { fail(c, "%s: %s", kind, why); return; }
    if (!m) {
        fail(c, "%s: the module failed to load (%s): %s", kind, status_name(err.status), err_text(&err));
        return;
    }
    keep_module(c, m);
    const char *text = jstr(cmd, "text");
    memset(&err, 0, sizeof err);
    wm_instance *inst = wm_linker_instantiate(c->linker, m, &err);
    err.message[sizeof err.message - 1] = 0;
    if (inst) {
        fail(c, "%s: the module instantiated, but it should trap with \"%s\"", kind, text ? text : "");
        return;
    }
    if (err.status != WM_ERR_TRAP) {
        fail(c, "%s: expected a trap (\"%s\") during instantiation, got %s error: %s", kind, text ? text : "",
             status_name(err.status), err_text(&err));
        return;
    }
    if (!text_matches(text, err_text(&err)))
        note(c, "%s: trap wording differs: expected \"%s\", got \"%s\"", kind, text, err_text(&err));
    c->passed++;
}

/* cJSON strings end at a NUL byte, and the API takes names as C strings, so a name like
 * "\u0000\u0001" cannot be passed on faithfully. wast2json writes one command per text line:
 * collect the "line" numbers of commands whose text contains a \u0000 escape, to skip them. */
static void find_nul_names(wast_ctx *c, const char *text, size_t len)
{
    bool in_str = false;
    size_t line_start = 0;
    int last_recorded = -1;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '\n') { line_start = i + 1; continue; }
        if (!in_str) { if (ch == '"') in_str = true; continue; }
        if (ch == '"') { in_str = false; continue; }
        if (ch != '\\' || i + 1 >= len) continue;
        if (text[i + 1] == 'u' && i + 5 < len && !memcmp(text + i + 2, "0000", 4)) {
            /* find `"line": N` on this text line */
            const char *p = text + line_start;
            const char *end = memchr(p, '\n', len - line_start);
            if (!end) end = text + len;
            for (; p + 8 < end; p++) {
                if (memcmp(p, "\"line\": ", 8) == 0) {
                    int n = atoi(p + 8);
                    if (n != last_recorded &&
                        grow((void **)&c->nul_lines, &c->cap_nul_lines, c->nnul_lines, sizeof *c->nul_lines)) {
                        c->nul_lines[c->nnul_lines++] = n;
                        last_recorded = n;
                    }
                    break;
                }
            }
        }
        i++;   /* skip the escaped character */
    }
}

/* Decodes the JSON string value of "field" on the text line of command `line` into raw bytes,
 * keeping NUL bytes that cJSON's C strings would cut off. */
static bool raw_field_of_line(wast_ctx *c, int line)
{
    const char *t = c->json_text, *end = t + c->json_len;
    char key[40];
    int klen = snprintf(key, sizeof key, "\"line\": %d,", line);
    const char *p = t;
    for (; p + klen <= end; p++)
        if (memcmp(p, key, (size_t)klen) == 0) break;
    if (p + klen > end) return false;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    static const char fkey[] = "\"field\": \"";
    for (; p + sizeof fkey - 1 <= eol; p++)
        if (memcmp(p, fkey, sizeof fkey - 1) == 0) break;
    if (p + sizeof fkey - 1 > eol) return false;
    p += sizeof fkey - 1;
    size_t n = 0;
    while (p < eol && *p != '"') {
        uint32_t cp;
        if (*p != '\\') { cp = (uint8_t)*p++; if (n < sizeof c->raw_field) c->raw_field[n++] = (char)cp; continue; }
        if (p + 1 >= eol) return false;
        char e = p[1];
        p += 2;
        if (e != 'u') {
            cp = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : (uint8_t)e;
        } else {
            if (p + 4 > eol) return false;
            char hex[5] = { p[0], p[1], p[2], p[3], 0 };
            cp = (uint32_t)strtoul(hex, NULL, 16);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p + 6 <= eol && p[0] == '\\' && p[1] == 'u') {
                char lo[5] = { p[2], p[3], p[4], p[5], 0 };
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)strtoul(lo, NULL, 16) - 0xDC00);
                p += 6;
            }
        }
        char u[4]; size_t k;
        if (cp < 0x80) { u[0] = (char)cp; k = 1; }
        else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 63)); k = 2; }
        else if (cp < 0x10000) { u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 63)); u[2] = (char)(0x80 | (cp & 63)); k = 3; }
        else { u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 63)); u[2] = (char)(0x80 | ((cp >> 6) & 63)); u[3] = (char)(0x80 | (cp & 63)); k = 4; }
        for (size_t i = 0; i < k && n < sizeof c->raw_field; i++) c->raw_field[n++] = u[i];
    }
    c->raw_field_len = n;
    return p < eol && n < sizeof c->raw_field;
}

static bool names_nul(const wast_ctx *c, int line)
{
    for (size_t i = 0; i < c->nnul_lines; i++)
        if (c->nul_lines[i] == line) return true;
    return false;
}

static void run_command(wast_ctx *c, const cJSON *cmd)
{
    const char *type = jstr(cmd, "type");
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(cmd, "line");
    c->line = cJSON_IsNumber(line) ? line->valueint : 0;
    if (!type) { fail(c, "command without a type"); return; }
    c->use_raw_field = false;
    if (c->line && names_nul(c, c->line) && strcmp(type, "module") != 0 && strcmp(type, "register") != 0) {
        /* The export name holds NUL bytes: look it up by its bytes, read from the JSON text. */
        if (!raw_field_of_line(c, c->line)) {
            c->skipped++;
            note(c, "skipping %s: cannot read its NUL-containing name from the JSON text", type);
            return;
        }
        c->use_raw_field = true;
    }
    if (!strcmp(type, "module")) cmd_module(c, cmd);
    else if (!strcmp(type, "register")) cmd_register(c, cmd);
    else if (!strcmp(type, "action")) cmd_action(c, cmd);
    else if (!strcmp(type, "assert_return")) cmd_assert_return(c, cmd);
    else if (!strcmp(type, "assert_trap")) cmd_assert_trap(c, cmd, false);
    else if (!strcmp(type, "assert_exhaustion")) cmd_assert_trap(c, cmd, true);
    else if (!strcmp(type, "assert_invalid")) cmd_assert_module_fails(c, cmd, "assert_invalid", WM_ERR_INVALID);
    else if (!strcmp(type, "assert_malformed")) cmd_assert_module_fails(c, cmd, "assert_malformed", WM_ERR_MALFORMED);
    else if (!strcmp(type, "assert_unlinkable")) cmd_assert_unlinkable(c, cmd);
    else if (!strcmp(type, "assert_uninstantiable")) cmd_assert_uninstantiable(c, cmd, "assert_uninstantiable");
    else {
        c->skipped++;
        note(c, "skipping unsupported command `%s`", type);
    }
}

/* ---- wast2json and temp dirs ----------------------------------------------------------- */

static char *find_wast2json(void)
{
    const char *env = getenv("WASMIND_WAST2JSON");
    if (env && *env) return access(env, X_OK) == 0 ? xstrdup(env) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0) {
            char *cand = malloc(n + sizeof "/wast2json");
            if (!cand) return NULL;
            memcpy(cand, p, n);
            memcpy(cand + n, "/wast2json", sizeof "/wast2json");
            if (access(cand, X_OK) == 0) return cand;
            free(cand);
        }
        p += n;
        if (*p == ':') p++;
    }
    return NULL;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            size_t n = strlen(dir) + strlen(e->d_name) + 2;
            char *p = malloc(n);
            if (!p) continue;
            snprintf(p, n, "%s/%s", dir, e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Runs wast2json; returns true on success. On failure prints its output. */
static bool run_wast2json(const char *tool, const char *wast, const char *dir, const char *json, bool enable_all)
{
    size_t n = strlen(dir) + 32;
    char *log = malloc(n);
    if (!log) return false;
    snprintf(log, n, "%s/wast2json.log", dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "error: cannot start wast2json: %s\n", strerror(errno));
        free(log);
        return false;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        char *args[8];
        int k = 0;
        args[k++] = (char *)"wast2json";
        if (enable_all) args[k++] = (char *)"--enable-all";
        args[k++] = (char *)wast;
        args[k++] = (char *)"-o";
        args[k++] = (char *)json;
        args[k] = NULL;
        execv(tool, args);
        fprintf(stderr, "cannot execute %s: %s\n", tool, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) { status = -1; break; }
    }
    bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && enable_all) {
        fprintf(stderr, "error: wast2json could not convert %s:\n", wast);
        size_t len = 0;
        uint8_t *text = wm_cli_read_file(log, &len);
        if (text) {
            fwrite(text, 1, len > 4000 ? 4000 : len, stderr);
            if (len > 4000) fprintf(stderr, "...\n");
            free(text);
        }
    }
    free(log);
    return ok;
}

/* Runs one .wast file; adds to the totals. */
static void run_file(const char *tool, const char *wast, bool verbose, uint64_t timeout_ms,
                     int *tp, int *tf, int *ts)
{
    wast_ctx c;
    memset(&c, 0, sizeof c);
    c.file = wast;
    c.verbose = verbose;

    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    size_t wl = strlen(wast);
    bool is_json = wl > 5 && strcmp(wast + wl - 5, ".json") == 0;   /* already converted */
    size_t n = strlen(tmp) + wl + 32;
    char *dir = malloc(n);
    char *json = malloc(n + 16);
    cJSON *root = NULL;
    uint8_t *text = NULL;
    bool own_dir = !is_json;
    if (!dir || !json) { fprintf(stderr, "error: out of memory\n"); c.failed++; goto out; }
    if (is_json) {
        /* A wast2json output: its .wasm files are beside it. */
        snprintf(json, n + 16, "%s", wast);
        const char *slash = strrchr(wast, '/');
        if (slash) snprintf(dir, n, "%.*s", (int)(slash - wast), wast);
        else snprintf(dir, n, ".");
        if (!dir[0]) snprintf(dir, n, "/");
        c.dir = dir;
        goto convert_done;
    }
    snprintf(dir, n, "%s/wasmind-wast-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "error: cannot create a temporary directory in %s: %s (set TMPDIR to a writable directory)\n",
                tmp, strerror(errno));
        free(dir);
        dir = NULL;
        c.failed++;
        goto out;
    }
    c.dir = dir;
    snprintf(json, n + 16, "%s/test.json", dir);
    if (access(wast, R_OK) != 0) {
        fprintf(stderr, "error: cannot read %s: %s\n", wast, strerror(errno));
        c.failed++;
        goto out;
    }
    if (!run_wast2json(tool, wast, dir, json, false) && !run_wast2json(tool, wast, dir, json, true)) {
        c.failed++;
        goto out;
    }
convert_done:;
    size_t len = 0;
    text = wm_cli_read_file(json, &len);
    if (!text) {
        fprintf(stderr, "error: cannot read wast2json output for %s: %s\n", wast, strerror(errno));
        c.failed++;
        goto out;
    }
    find_nul_names(&c, (const char *)text, len);
    c.json_text = (const char *)text;
    c.json_len = len;
    root = cJSON_ParseWithLength((const char *)text, len);
    const cJSON *cmds = root ? cJSON_GetObjectItemCaseSensitive(root, "commands") : NULL;
    if (!cJSON_IsArray(cmds)) {
        fprintf(stderr, "error: cannot parse wast2json output for %s\n", wast);
        c.failed++;
        goto out;
    }

    wm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.deadline_ms = timeout_ms;
    c.engine = wm_engine_new(&cfg);
    c.store = c.engine ? wm_store_new(c.engine) : NULL;
    c.linker = c.store ? wm_linker_new(c.store) : NULL;
    if (!c.linker) { fprintf(stderr, "error: cannot create engine/store/linker\n"); c.failed++; goto out; }
    if (timeout_ms) wm_store_set_deadline_ms(c.store, timeout_ms);
    if (!wm_spectest_register(c.linker, c.store)) {
        fprintf(stderr, "%s: warning: could not register the spectest module completely\n", wast);
    }
    g_running_store = c.store;
    const cJSON *cmd;
    cJSON_ArrayForEach(cmd, cmds) {
        if (g_stop_signal) break;
        run_command(&c, cmd);
        fflush(stdout);
    }
    g_running_store = NULL;

out:
    if (c.linker) wm_linker_free(c.linker);
    if (c.store) wm_store_free(c.store);
    for (size_t i = 0; i < c.nmodules; i++) wm_module_free(c.modules[i]);
    free(c.modules);
    if (c.engine) wm_engine_free(c.engine);
    for (size_t i = 0; i < c.nnamed; i++) free(c.named[i].name);
    free(c.named);
    for (size_t i = 0; i < c.nregistered; i++) free(c.registered[i].name);
    free(c.registered);
    free(c.nul_lines);
    cJSON_Delete(root);
    free(text);
    if (dir && own_dir) remove_dir(dir);
    free(dir);
    free(json);
    printf("%s: %d passed, %d failed, %d skipped\n", wast, c.passed, c.failed, c.skipped);
    fflush(stdout);
    *tp += c.passed;
    *tf += c.failed;
    *ts += c.skipped;
}

int wm_cli_wast(int argc, char **argv)
{
    bool verbose = false;
    uint64_t timeout_ms = 60000;
    int first = argc;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || a[1] == 0) break;
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = true;
        else if (!strcmp(a, "--aot")) g_wast_aot = true;
        else if (!strcmp(a, "--interp")) g_wast_aot = false;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { wm_cli_wast_usage(stdout); return WM_EXIT_OK; }
        else if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10)) {
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            char *end;
            double s = v ? strtod(v, &end) : 0;
            if (!v || !*v || *end || !(s >= 0) || s > 1e9) {
                fprintf(stderr, "error: --timeout needs a number of seconds, e.g. --timeout 10 (0 = no limit)\n");
                return WM_EXIT_USAGE;
            }
            timeout_ms = (uint64_t)(s * 1000.0 + 0.999);
        } else {
            fprintf(stderr, "error: unknown option `%s` for `wasmind wast`; see `wasmind wast --help`\n", a);
            return WM_EXIT_USAGE;
        }
    }
    first = i;
    if (g_wast_aot) {
        if (wm_aot_compiler_available()) wm_aot_enable();
        else { fprintf(stderr, "wasmind: no C compiler found; --aot falls back to the interpreter\n"); g_wast_aot = false; }
    }
    if (first >= argc) {
        fprintf(stderr, "error: no .wast files given\nUsage: wasmind wast [--verbose] FILE.wast...\n");
        return WM_EXIT_USAGE;
    }
    bool need_tool = false;
    for (int k = first; k < argc; k++) {
        size_t l = strlen(argv[k]);
        if (l <= 5 || strcmp(argv[k] + l - 5, ".json") != 0) need_tool = true;
    }
    char *tool = need_tool ? find_wast2json() : NULL;
    if (need_tool && !tool) {
        const char *env = getenv("WASMIND_WAST2JSON");
        if (env && *env)
            fprintf(stderr, "error: WASMIND_WAST2JSON=%s is not an executable file\n", env);
        else
            fprintf(stderr, "error: `wast2json` was not found on PATH. `wasmind wast` needs it to read .wast files.\n"
                            "Install wabt (Debian/Ubuntu: `apt-get install wabt`), or set WASMIND_WAST2JSON to "
                            "the wast2json binary.\n");
        return WM_EXIT_USAGE;
    }
    install_stop_handlers();
    int tp = 0, tf = 0, ts = 0;
    for (int k = first; k < argc && !g_stop_signal; k++) run_file(tool, argv[k], verbose, timeout_ms, &tp, &tf, &ts);
    free(tool);
    if (g_stop_signal) {
        printf("interrupted by signal %d\n", (int)g_stop_signal);
        printf("%d passed, %d failed, %d skipped\n", tp, tf + 1, ts);
        fflush(stdout);
        signal((int)g_stop_signal, SIG_DFL);
        raise((int)g_stop_signal);
        return 128 + (int)g_stop_signal;
    }
    printf("%d passed, %d failed, %d skipped\n", tp, tf, ts);
    fflush(stdout);
    return tf ? WM_EXIT_FAILURE : WM_EXIT_OK;
}
