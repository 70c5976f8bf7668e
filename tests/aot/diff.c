/* diff.c — differential tester of the two execution tiers: runs each given module in the interpreter
 * and in the AOT tier (src/aot) and reports any difference in results, traps, logs or final state.
 *
 * Usage: diff [OPTIONS] FILE.wasm|DIR...   (a DIR stands for the *.wasm files in it, sorted)
 *
 * Each module is checked in a forked child (a crash or hang in one module is a failure of that module,
 * not of the run). Per module, both tiers run in separate fresh stores and instances with the same
 * fuel and these imports: every function imported from anywhere (binaryen's "fuzzing-support" log-i32,
 * log-i64, log-f32, log-f64, log-v128, ...) appends its name and arguments to the run's transcript and
 * returns zeros; other imports get fresh zero objects. Two phases:
 *   A  one instance; every exported function is called once, in export order (what binaryen's
 *      --fuzz-exec does), so later calls see the state earlier ones left behind;
 *   B  for each exported function a fresh instance calling only that export. binaryen's -ttf modules
 *      have a "hang limit" global (10 loop iterations/calls for the whole instance), so in phase A
 *      most later exports return at once; B gives every export the full budget.
 * After each phase the state is compared too: memory sizes and contents (hashed), every global,
 * table sizes and contents (functions by index, so the two runs are comparable).
 *
 * Arguments are derived from the signature: parameter i of export k gets a value from a fixed table of
 * interesting constants (0, 1, -1, minimum, maximum, NaN, ...) picked by (k, i). References are passed
 * as null funcref and non-null externref (a small integer handle).
 *
 * Comparison is bit-exact except for NaNs. The spec makes a NaN produced by arithmetic
 * nondeterministic in sign and payload (the "arithmetic NaN" rule: quiet bit set, anything else
 * free), and the tiers do differ there: with two NaN operands, x86 returns the first one quieted, and
 * the C compilers swap the operands of commutative operations (add, mul) at will. So two values that
 * are both quiet NaNs are accepted and counted as "NaN-bit differences" (--strict-nan makes them fail):
 * floats (results, log arguments, globals), f32x4/f64x2 lanes of a v128, integers with both bit
 * patterns quiet NaNs (reinterpreted), and differing bytes of memory that lie in 4- or 8-byte windows
 * that are quiet NaNs on both sides. A signalling NaN (quiet bit clear) can only come from
 * bit-preserving operations and must match exactly.
 *
 * Fuel: AOT code charges fuel at loop headers and function entry, the interpreter in batches of its
 * own (backward branches, calls), so the same limit runs out at different points. A call where either side runs out of fuel,
 * hits the deadline or exhausts the stack (also an implementation limit) is "inconclusive": it is
 * counted, and in phase A nothing after it is compared (the state may already differ).
 *
 * Prints one line per failing module (and per module with -v), then
 * `N passed, N failed, N skipped (modules); N exports compared, N inconclusive, N NaN-bit differences`.
 * Exit status: 0 if nothing failed, 1 otherwise, 2 for usage errors. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wasmind.h"
#include "aot/aot.h"
#include "runtime/runtime.h"

/* ---- options ------------------------------------------------------------------------------ */
static uint64_t g_fuel = 20000000;    /* per call; ttf modules need far less (hang limit) */
static uint64_t g_deadline_ms = 20000; /* backstop for anything fuel does not bound */
/* --no-limits: the AOT tier runs the default no-limits code (no fuel; -ttf's hang limit and the deadline bound
 * it), the interpreter keeps its fuel */
static bool g_no_limits;
static unsigned g_timeout_s = 300;     /* per module, compile included: a hung child is killed */
static int g_opt = 2;                  /* the C compiler's -O level: the default of `wasmind run` */
static bool g_no_cache, g_strict_nan, g_verbose, g_no_fresh;

/* ---- values as compared ------------------------------------------------------------------------- */
/* A value reduced to something comparable across two stores: numbers as bits, references as ids
 * (funcref: 0 = null, 1 + function index, or HOST_REF + import index; externref: the raw handle). */
typedef struct dval { uint8_t type; uint8_t b[16]; } dval;
#define HOST_REF (1ull << 40)
#define FOREIGN_REF (1ull << 41)

static uint64_t dval_u64(const dval *v) { uint64_t x; memcpy(&x, v->b, 8); return x; }
static dval mk(uint8_t type, uint64_t bits) { dval d; memset(&d, 0, sizeof d); d.type = type; memcpy(d.b, &bits, 8); return d; }

/* ---- a tier's transcript ------------------------------------------------------------------------ */
enum { OUT_OK, OUT_TRAP, OUT_ERROR, OUT_INCONCLUSIVE };
typedef struct log_rec { uint32_t import, val_lo, nvals; } log_rec;
/* One top-level action: instantiation (export -1), a call (export index), or the state (-2). */
typedef struct call_rec {
    int export_idx;
    int outcome;          /* OUT_* */
    int code;             /* wm_trap for traps, wm_status for errors */
    uint32_t log_lo, log_hi;
    uint32_t val_lo, nvals;   /* results, or the state */
} call_rec;

typedef struct transcript {
    dval *vals; uint32_t nvals, cap_vals;
    log_rec *logs; uint32_t nlogs, cap_logs;
    call_rec *calls; uint32_t ncalls, cap_calls;
    uint8_t *mem; size_t mem_len;   /* memory 0 at the end, to explain a hash difference */
} transcript;

static void *grow(void *p, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap) return p;
    uint32_t nc = *cap ? *cap * 2 : 64;
    void *q = realloc(p, nc * elem);
    if (!q) { fprintf(stderr, "diff: out of memory\n"); exit(3); }
    *cap = nc;
    return q;
}
static void push_val(transcript *t, dval v) { t->vals = grow(t->vals, &t->cap_vals, t->nvals, sizeof *t->vals); t->vals[t->nvals++] = v; }
static call_rec *push_call(transcript *t, int export_idx)
{
    t->calls = grow(t->calls, &t->cap_calls, t->ncalls, sizeof *t->calls);
    call_rec *c = &t->calls[t->ncalls++];
    memset(c, 0, sizeof *c);
    c->export_idx = export_idx;
    c->log_lo = c->log_hi = t->nlogs;
    c->val_lo = t->nvals;
    return c;
}
static void transcript_free(transcript *t) { free(t->vals); free(t->logs); free(t->calls); free(t->mem); memset(t, 0, sizeof *t); }

/* ---- one run (one tier, one store) ------------------------------------------------------------ */
typedef struct run run;
/* What a host import needs: where to log, which import it is, and its signature. */
typedef struct host_env { run *r; uint32_t import; wm_functype type; } host_env;
struct run {
    transcript *t;
    const wm_module *module;
};

/* Every host function in our stores is one of ours, so its env is a host_env. */
static uint64_t ref_id(const run *r, const wm_func *f)
{
    if (!f) return 0;
    if (f->host) return HOST_REF | ((const host_env *)f->env)->import;
    return (f->inst && f->inst->module == r->module ? 0 : FOREIGN_REF) | (1 + (uint64_t)f->funcidx);
}

static dval from_cells(const run *r, uint8_t type, const void *p)
{
    dval d;
    memset(&d, 0, sizeof d);
    d.type = type;
    switch (type) {
    case WM_I32: case WM_F32: memcpy(d.b, p, 4); break;
    case WM_I64: case WM_F64: memcpy(d.b, p, 8); break;
    case WM_V128: memcpy(d.b, p, 16); break;
    case WM_FUNCREF: { const wm_func *f; memcpy(&f, p, sizeof f); uint64_t id = ref_id(r, f); memcpy(d.b, &id, 8); break; }
    case WM_EXTERNREF: { uintptr_t h; memcpy(&h, p, sizeof h); uint64_t id = h; memcpy(d.b, &id, 8); break; }
    default: break;
    }
    return d;
}

static dval from_val(const run *r, const wm_val *v) { return from_cells(r, v->type, &v->of); }

static wm_trap host_log(wm_caller *c, void *env, const wm_val *args, wm_val *results)
{
    (void)c;
    host_env *e = env;
    transcript *t = e->r->t;
    t->logs = grow(t->logs, &t->cap_logs, t->nlogs, sizeof *t->logs);
    log_rec *l = &t->logs[t->nlogs++];
    l->import = e->import;
    l->val_lo = t->nvals;
    l->nvals = e->type.nparams;
    for (uint32_t i = 0; i < e->type.nparams; i++) push_val(t, from_val(e->r, &args[i]));
    for (uint32_t i = 0; i < e->type.nresults; i++) { memset(&results[i], 0, sizeof results[i]); results[i].type = e->type.results[i]; }
    return WM_TRAP_NONE;
}

/* Deterministic argument j of export k: a table of edge cases, a different walk per export. */
static wm_val make_arg(uint8_t type, uint32_t k, uint32_t j)
{
    static const uint32_t i32s[] = { 0, 1, 0xffffffffu, 0x80000000u, 0x7fffffffu, 2, 16, 0xfffffff0u, 1000, 65536, 0x12345678u, 7 };
    static const uint64_t i64s[] = { 0, 1, ~0ull, 1ull << 63, (1ull << 63) - 1, 2, 0x100000000ull, 0xfffffffffffffff0ull, 1000, 0x123456789abcdef0ull, 7 };
    static const uint32_t f32s[] = { 0, 0x3f800000u, 0xbf800000u, 0x80000000u, 0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f7fffffu, 0x00000001u, 0x4f000000u, 0xcf000001u, 0x7fa00001u };
    static const uint64_t f64s[] = { 0, 0x3ff0000000000000ull, 0xbff0000000000000ull, 1ull << 63, 0x7ff8000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7fefffffffffffffull, 1, 0x41e0000000000000ull, 0xc3e0000000000001ull, 0x7ff4000000000001ull };
    uint32_t h = k * 7 + j * 3 + j * j;
    wm_val v;
    memset(&v, 0, sizeof v);
    v.type = type;
    switch (type) {
    case WM_I32: v.of.i32 = (int32_t)i32s[h % (sizeof i32s / sizeof *i32s)]; break;
    case WM_I64: v.of.i64 = (int64_t)i64s[h % (sizeof i64s / sizeof *i64s)]; break;
    case WM_F32: v.of.f32_bits = f32s[h % (sizeof f32s / sizeof *f32s)]; break;
    case WM_F64: v.of.f64_bits = f64s[h % (sizeof f64s / sizeof *f64s)]; break;
    case WM_V128: for (int b = 0; b < 16; b++) v.of.v128[b] = (uint8_t)(h * 37 + (uint32_t)b * 29 + (b & 4 ? 0x80 : 0)); break;
    case WM_FUNCREF: v.of.funcref = NULL; break;
    case WM_EXTERNREF: v.of.externref = (void *)(uintptr_t)(1 + j); break;
    default: break;
    }
    return v;
}

static bool is_inconclusive_trap(wm_trap t)
{
    return t == WM_TRAP_OUT_OF_FUEL || t == WM_TRAP_DEADLINE || t == WM_TRAP_INTERRUPTED || t == WM_TRAP_STACK_EXHAUSTED;
}

static void record_error(call_rec *c, const wm_error *err)
{
    if (err->status == WM_ERR_TRAP) {
        c->outcome = is_inconclusive_trap(err->trap) ? OUT_INCONCLUSIVE : OUT_TRAP;
        c->code = (int)err->trap;
    } else {
        c->outcome = err->status == WM_ERR_RESOURCE ? OUT_INCONCLUSIVE : OUT_ERROR;
        c->code = (int)err->status;
    }
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    /* 64-bit multiply-xorshift over 8-byte words: fast enough to hash every memory after every run. */
    const uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) { h = (h ^ b[i]) * 0x100000001b3ull; }
    return h ^ (h >> 32);
}

/* The state after a phase, in a fixed order (state_label() names the items): per memory its pages
 * and a hash of its bytes, every global, per table its size and a hash of its element ids. */
static void record_state(run *r, const wm_instance *in)
{
    transcript *t = r->t;
    const wm_module *m = in->module;
    for (uint32_t i = 0; i < m->nmems; i++) {
        const wm_memory *mem = in->mems[i];
        push_val(t, mk(WM_I32, mem->pages));
        push_val(t, mk(WM_I64, hash_bytes(0xcbf29ce484222325ull, mem->data, (size_t)mem->size)));
        if (i == 0 && mem->size) {
            free(t->mem);
            t->mem = malloc((size_t)mem->size);
            if (!t->mem) { fprintf(stderr, "diff: out of memory\n"); exit(3); }
            memcpy(t->mem, mem->data, (size_t)mem->size);
            t->mem_len = (size_t)mem->size;
        }
    }
    for (uint32_t i = 0; i < m->nglobals; i++) {
        const wm_global *g = in->globals[i];
        push_val(t, from_cells(r, g->type.type, &g->v));
    }
    for (uint32_t i = 0; i < m->ntables; i++) {
        const wm_table *tab = in->tables[i];
        uint64_t h = 0xcbf29ce484222325ull;
        for (uint32_t e = 0; e < tab->size; e++) {
            uint64_t id = tab->type.elem == WM_FUNCREF ? ref_id(r, tab->elems[e]) : (uint64_t)(uintptr_t)tab->elems[e];
            h = hash_bytes(h, &id, 8);
        }
        push_val(t, mk(WM_I32, tab->size));
        push_val(t, mk(WM_I64, h));
    }
}

static void state_label(const wm_module *m, uint32_t k, char *buf, size_t n)
{
    if (k < 2 * m->nmems) { snprintf(buf, n, "memory %u %s", k / 2, k % 2 ? "contents (hash)" : "size in pages"); return; }
    k -= 2 * m->nmems;
    if (k < m->nglobals) { snprintf(buf, n, "global %u", k); return; }
    k -= m->nglobals;
    snprintf(buf, n, "table %u %s", k / 2, k % 2 ? "contents (hash)" : "size");
}

/* A module's exported functions, in export order. */
typedef struct fexport { const char *name; wm_functype type; } fexport;

/* Runs module m in a fresh store: instantiation, then the exports (all when only < 0, else just that
 * one), then the state. Returns false if the instance unexpectedly did not run compiled code. */
static bool run_tier(wm_engine *engine, const wm_module *m, const fexport *ex, uint32_t nex, int only,
                     bool want_aot, transcript *t)
{
    run r = { t, m };
    wm_store *s = wm_store_new(engine);
    if (!s) { fprintf(stderr, "diff: cannot create a store\n"); exit(3); }
    uint64_t fuel = want_aot && g_no_limits ? 0 : g_fuel;
    wm_store_set_fuel(s, fuel);
    wm_store_set_deadline_ms(s, g_deadline_ms);
    uint32_t ni = wm_module_import_count(m);
    host_env *envs = calloc(ni ? ni : 1, sizeof *envs);
    wm_extern *imports = calloc(ni ? ni : 1, sizeof *imports);
    if (!envs || !imports) { fprintf(stderr, "diff: out of memory\n"); exit(3); }
    for (uint32_t i = 0; i < ni; i++) {
        const char *mod, *name;
        wm_externtype et;
        wm_module_import(m, i, &mod, &name, &et);
        imports[i].kind = et.kind;
        wm_error err;
        switch (et.kind) {
        case WM_EXTERN_FUNC:
            envs[i].r = &r; envs[i].import = i; envs[i].type = et.of.func;
            imports[i].of.func = wm_func_new(s, &et.of.func, host_log, &envs[i], NULL);
            break;
        case WM_EXTERN_MEMORY: imports[i].of.memory = wm_memory_new(s, et.of.memory, &err); break;
        case WM_EXTERN_TABLE: imports[i].of.table = wm_table_new(s, et.of.table, NULL, &err); break;
        case WM_EXTERN_GLOBAL: {
            wm_val z;
            memset(&z, 0, sizeof z);
            z.type = et.of.global.type;
            imports[i].of.global = wm_global_new(s, et.of.global, z);
            break;
        }
        }
    }
    bool ok = true;
    wm_error err;
    call_rec *c = push_call(t, -1);
    wm_instance *in = wm_instance_new(s, m, imports, ni, &err);
    c = &t->calls[t->ncalls - 1];
    c->log_hi = t->nlogs;
    if (!in) record_error(c, &err);
    else {
        c->outcome = OUT_OK;
        if (want_aot && !in->aot_ctx) ok = false;
        for (uint32_t k = 0; k < nex; k++) {
            if (only >= 0 && (uint32_t)only != k) continue;
            wm_extern f;
            if (!wm_instance_export(in, ex[k].name, &f) || f.kind != WM_EXTERN_FUNC) continue;
            wm_val args[64], res[64];
            uint32_t np = ex[k].type.nparams, nr = ex[k].type.nresults;
            if (np > 64 || nr > 64) continue;   /* never made by -ttf */
            for (uint32_t j = 0; j < np; j++) args[j] = make_arg(ex[k].type.params[j], k, j);
            wm_store_set_fuel(s, fuel);
            push_call(t, (int)k);
            wm_status st = wm_func_call(s, f.of.func, args, np, res, nr, &err);
            c = &t->calls[t->ncalls - 1];
            c->log_hi = t->nlogs;
            c->val_lo = t->nvals;
            if (st == WM_OK) {
                c->outcome = OUT_OK;
                for (uint32_t j = 0; j < nr; j++) push_val(t, from_val(&r, &res[j]));
                c->nvals = nr;
            } else record_error(c, &err);
            if (c->outcome == OUT_INCONCLUSIVE) break;
        }
        if (t->calls[t->ncalls - 1].outcome != OUT_INCONCLUSIVE) {
            c = push_call(t, -2);
            record_state(&r, in);
            c = &t->calls[t->ncalls - 1];
            c->outcome = OUT_OK;
            c->nvals = t->nvals - c->val_lo;
        }
    }
    wm_store_free(s);
    free(envs);
    free(imports);
    return ok;
}

/* ---- comparison ------------------------------------------------------------------------------- */
typedef struct counts {
    uint64_t passed, failed, skipped;       /* modules */
    uint64_t compared, inconclusive, nan_diffs;   /* export calls */
} counts;

enum { CMP_EQ, CMP_NAN, CMP_NE };

static bool qnan32(uint32_t x) { return (x & 0x7fc00000u) == 0x7fc00000u; }
static bool qnan64(uint64_t x) { return (x & 0x7ff8000000000000ull) == 0x7ff8000000000000ull; }

/* Both quiet NaNs: an arithmetic NaN may have any sign and payload (see the top of the file). */
static int cmp_val(const dval *a, const dval *b)
{
    if (a->type != b->type) return CMP_NE;
    if (!memcmp(a->b, b->b, 16)) return CMP_EQ;
    if (a->type == WM_F32 || a->type == WM_I32) { uint32_t x, y; memcpy(&x, a->b, 4); memcpy(&y, b->b, 4); return qnan32(x) && qnan32(y) ? CMP_NAN : CMP_NE; }
    if (a->type == WM_F64 || a->type == WM_I64) return qnan64(dval_u64(a)) && qnan64(dval_u64(b)) ? CMP_NAN : CMP_NE;
    if (a->type == WM_V128) {
        /* The lane shape is unknown: accept if every differing lane is a quiet NaN on both sides
         * when read as f32x4, or when read as f64x2. */
        bool ok32 = true, ok64 = true;
        for (int l = 0; l < 4; l++) {
            uint32_t x, y; memcpy(&x, a->b + 4 * l, 4); memcpy(&y, b->b + 4 * l, 4);
            if (x != y && !(qnan32(x) && qnan32(y))) ok32 = false;
        }
        for (int l = 0; l < 2; l++) {
            uint64_t x, y; memcpy(&x, a->b + 8 * l, 8); memcpy(&y, b->b + 8 * l, 8);
            if (x != y && !(qnan64(x) && qnan64(y))) ok64 = false;
        }
        return ok32 || ok64 ? CMP_NAN : CMP_NE;
    }
    return CMP_NE;
}

/* Memory whose hash differs: accepted if every differing byte lies in a 4- or 8-byte window (any
 * alignment: stores need not be aligned) that is a quiet f32 or f64 NaN on both sides. */
static bool mem_nan_only(const transcript *ti, const transcript *ta)
{
    const uint8_t *a = ti->mem, *b = ta->mem;
    size_t n = ti->mem_len;
    if (!a || !b || n != ta->mem_len) return false;
    size_t i = 0;
    while (i < n) {
        if (a[i] == b[i]) { i++; continue; }
        size_t next = 0;
        for (size_t w = 8; w >= 4 && !next; w -= 4)
            for (size_t s0 = i >= w - 1 ? i - (w - 1) : 0; s0 <= i && s0 + w <= n && !next; s0++) {
                uint64_t x = 0, y = 0;
                memcpy(&x, a + s0, w);
                memcpy(&y, b + s0, w);
                bool nan = w == 8 ? qnan64(x) && qnan64(y) : qnan32((uint32_t)x) && qnan32((uint32_t)y);
                if (nan) next = s0 + w;
            }
        if (!next) return false;
        i = next;
    }
    return true;
}

static void fmt_dval(const dval *v, char *buf, size_t n)
{
    uint64_t x = dval_u64(v);
    switch (v->type) {
    case WM_I32: snprintf(buf, n, "i32:0x%08" PRIx32 " (%" PRId32 ")", (uint32_t)x, (int32_t)(uint32_t)x); break;
    case WM_I64: snprintf(buf, n, "i64:0x%016" PRIx64 " (%" PRId64 ")", x, (int64_t)x); break;
    case WM_F32: { float f; uint32_t u = (uint32_t)x; memcpy(&f, &u, 4); snprintf(buf, n, "f32:0x%08" PRIx32 " (%.9g)", u, (double)f); break; }
    case WM_F64: { double d; memcpy(&d, &x, 8); snprintf(buf, n, "f64:0x%016" PRIx64 " (%.17g)", x, d); break; }
    case WM_V128: {
        int k = snprintf(buf, n, "v128:");
        for (int l = 0; l < 4 && k > 0 && (size_t)k < n; l++) { uint32_t w; memcpy(&w, v->b + 4 * l, 4); k += snprintf(buf + k, n - (size_t)k, "%s%08" PRIx32, l ? " " : "", w); }
        break;
    }
    case WM_FUNCREF:
        if (!x) snprintf(buf, n, "funcref:null");
        else if (x & HOST_REF) snprintf(buf, n, "funcref:import %" PRIu64, x & 0xffffffffu);
        else snprintf(buf, n, "funcref:func %" PRIu64 "%s", (uint64_t)((x & 0xffffffffffull) - 1), x & FOREIGN_REF ? " (other instance)" : "");
        break;
    case WM_EXTERNREF: if (!x) snprintf(buf, n, "externref:null"); else snprintf(buf, n, "externref:%" PRIu64, x); break;
    default: snprintf(buf, n, "?type 0x%02x", v->type); break;
    }
}

static void fmt_outcome(const transcript *t, const call_rec *c, char *buf, size_t n)
{
    switch (c->outcome) {
    case OUT_TRAP: snprintf(buf, n, "trap \"%s\"", wm_trap_message((wm_trap)c->code)); return;
    case OUT_INCONCLUSIVE: snprintf(buf, n, "inconclusive (%s)", c->code ? wm_trap_message((wm_trap)c->code) : "resource"); return;
    case OUT_ERROR: snprintf(buf, n, "error status %d", c->code); return;
    default: break;
    }
    int k = snprintf(buf, n, c->nvals ? "returned" : "returned nothing");
    for (uint32_t i = 0; i < c->nvals && k > 0 && (size_t)k < n; i++) {
        char v[96];
        fmt_dval(&t->vals[c->val_lo + i], v, sizeof v);
        k += snprintf(buf + k, n - (size_t)k, "%s %s", i ? "," : "", v);
    }
}

typedef struct mctx {
    const char *path;
    const wm_module *m;
    const fexport *ex;
    counts *cnt;
    bool failed;
} mctx;

static void report(mctx *x, const char *phase, int export_idx, const char *fmt, ...)
{
    x->failed = true;
    char what[600];
    if (export_idx >= 0) snprintf(what, sizeof what, "export \"%s\"", x->ex[export_idx].name);
    else snprintf(what, sizeof what, "%s", export_idx == -1 ? "instantiation" : "final state");
    printf("FAIL %s: phase %s, %s: ", x->path, phase, what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void note_nan(const mctx *x, const char *phase, int export_idx, const char *what, uint32_t k, const dval *a, const dval *b)
{
    if (!g_verbose) return;
    char va[96], vb[96];
    fmt_dval(a, va, sizeof va);
    fmt_dval(b, vb, sizeof vb);
    printf("note %s: phase %s, %s%s%s: NaN bits differ in %s (#%u): interp: %s | aot: %s\n", x->path, phase,
           export_idx >= 0 ? "export \"" : "", export_idx >= 0 ? x->ex[export_idx].name : export_idx == -1 ? "instantiation" : "final state",
           export_idx >= 0 ? "\"" : "", what, k, va, vb);
}

/* Compares two transcripts of the same actions; returns false at the first real difference. */
static bool compare(mctx *x, const char *phase, const transcript *ti, const transcript *ta)
{
    uint32_t n = ti->ncalls < ta->ncalls ? ti->ncalls : ta->ncalls;
    uint64_t nan_diffs = 0;
    for (uint32_t j = 0; j < n; j++) {
        const call_rec *ci = &ti->calls[j], *ca = &ta->calls[j];
        char oi[2048], oa[2048];
        if (ci->export_idx != ca->export_idx) {
            report(x, phase, ci->export_idx, "the two runs made different calls (%d vs %d)", ci->export_idx, ca->export_idx);
            return false;
        }
        if (ci->outcome == OUT_INCONCLUSIVE || ca->outcome == OUT_INCONCLUSIVE) {
            x->cnt->inconclusive++;
            if (g_verbose) {
                fmt_outcome(ti, ci, oi, sizeof oi); fmt_outcome(ta, ca, oa, sizeof oa);
                printf("note %s: phase %s, call %d inconclusive: interp: %s | aot: %s\n", x->path, phase, ci->export_idx, oi, oa);
            }
            x->cnt->nan_diffs += nan_diffs;
            return true;   /* nothing after it is comparable */
        }
        uint32_t nli = ci->log_hi - ci->log_lo, nla = ca->log_hi - ca->log_lo;
        for (uint32_t l = 0; l < nli && l < nla; l++) {
            const log_rec *li = &ti->logs[ci->log_lo + l], *la = &ta->logs[ca->log_lo + l];
            bool same = li->import == la->import && li->nvals == la->nvals;
            for (uint32_t v = 0; same && v < li->nvals; v++) {
                int r = cmp_val(&ti->vals[li->val_lo + v], &ta->vals[la->val_lo + v]);
                if (r == CMP_NE || (r == CMP_NAN && g_strict_nan)) same = false;
                else if (r == CMP_NAN) { nan_diffs++; note_nan(x, phase, ci->export_idx, "log", l, &ti->vals[li->val_lo + v], &ta->vals[la->val_lo + v]); }
            }
            if (!same) {
                char vi[96] = "", va[96] = "";
                if (li->nvals) fmt_dval(&ti->vals[li->val_lo], vi, sizeof vi);
                if (la->nvals) fmt_dval(&ta->vals[la->val_lo], va, sizeof va);
                const char *mod, *ni, *na;
                wm_externtype et;
                wm_module_import(x->m, li->import, &mod, &ni, &et);
                wm_module_import(x->m, la->import, &mod, &na, &et);
                report(x, phase, ci->export_idx, "log #%u differs: interp: %s(%s) | aot: %s(%s)", l, ni, vi, na, va);
                return false;
            }
        }
        if (nli != nla) {
            fmt_outcome(ti, ci, oi, sizeof oi); fmt_outcome(ta, ca, oa, sizeof oa);
            report(x, phase, ci->export_idx, "%u log calls in the interpreter, %u in AOT code (interp: %s | aot: %s)", nli, nla, oi, oa);
            return false;
        }
        bool same = ci->outcome == ca->outcome && ci->code == ca->code && ci->nvals == ca->nvals;
        uint32_t bad = UINT32_MAX;
        for (uint32_t v = 0; same && v < ci->nvals; v++) {
            int r = cmp_val(&ti->vals[ci->val_lo + v], &ta->vals[ca->val_lo + v]);
            if (r == CMP_NE && ci->export_idx == -2 && x->m->nmems && v == 1 && mem_nan_only(ti, ta)) r = CMP_NAN;
            if (r == CMP_NE || (r == CMP_NAN && g_strict_nan)) { same = false; bad = v; }
            else if (r == CMP_NAN) {
                nan_diffs++;
                char lab[64] = "result";
                if (ci->export_idx == -2) state_label(x->m, v, lab, sizeof lab);
                note_nan(x, phase, ci->export_idx, lab, v, &ti->vals[ci->val_lo + v], &ta->vals[ca->val_lo + v]);
            }
        }
        if (!same) {
            if (ci->export_idx == -2 && bad != UINT32_MAX) {
                char lab[64], vi[96], va[96];
                state_label(x->m, bad, lab, sizeof lab);
                fmt_dval(&ti->vals[ci->val_lo + bad], vi, sizeof vi);
                fmt_dval(&ta->vals[ca->val_lo + bad], va, sizeof va);
                report(x, phase, -2, "%s: interp: %s | aot: %s", lab, vi, va);
            } else {
                fmt_outcome(ti, ci, oi, sizeof oi); fmt_outcome(ta, ca, oa, sizeof oa);
                report(x, phase, ci->export_idx, "interp: %s | aot: %s", oi, oa);
            }
            return false;
        }
        if (ci->export_idx >= 0) x->cnt->compared++;
    }
    if (ti->ncalls != ta->ncalls) {
        report(x, phase, -2, "the interpreter made %u top-level calls, AOT code %u", ti->ncalls, ta->ncalls);
        return false;
    }
    x->cnt->nan_diffs += nan_diffs;
    return true;
}

/* ---- one module ------------------------------------------------------------------------------- */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) { cap = cap ? cap * 2 : 65536; uint8_t *nb = realloc(b, cap); if (!nb) { free(b); fclose(f); return NULL; } b = nb; }
        size_t k = fread(b + n, 1, cap - n, f);
        if (!k) break;
        n += k;
    }
    fclose(f);
    *len = n;
    return b;
}

static void check_module(const char *path, counts *cnt)
{
    size_t len = 0;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) { printf("FAIL %s: cannot read it: %s\n", path, strerror(errno)); cnt->failed++; return; }
    wm_engine *engine = wm_engine_new(NULL);
    wm_error err;
    wm_module *mi = wm_module_new(engine, bytes, len, &err);
    if (!mi) { printf("SKIP %s: %s\n", path, err.message); cnt->skipped++; free(bytes); wm_engine_free(engine); return; }
    wm_module *ma = wm_module_new(engine, bytes, len, &err);
    free(bytes);
    mctx x = { path, mi, NULL, cnt, false };
    /* the checked variant runs under fuel; --no-limits tests the default variant */
    wm_aot_options ao = { .opt_level = g_opt, .jobs = 1, .no_cache = g_no_cache, .limits = !g_no_limits };
    char why[512];
    if (!ma || !wm_aot_attach(ma, &ao, why, sizeof why)) {
        report(&x, "-", -1, "AOT compilation failed: %s", ma ? why : err.message);
        cnt->failed++;
        wm_module_free(mi); wm_module_free(ma); wm_engine_free(engine);
        return;
    }
    uint32_t nx = wm_module_export_count(mi), nex = 0;
    fexport *ex = calloc(nx ? nx : 1, sizeof *ex);
    for (uint32_t i = 0; i < nx; i++) {
        wm_externtype et;
        if (wm_module_export(mi, i, &ex[nex].name, &et) && et.kind == WM_EXTERN_FUNC) { ex[nex].type = et.of.func; nex++; }
    }
    x.ex = ex;
    transcript ti = { 0 }, ta = { 0 };
    run_tier(engine, mi, ex, nex, -1, false, &ti);
    if (!run_tier(engine, ma, ex, nex, -1, true, &ta)) report(&x, "A", -1, "the AOT instance is not running compiled code");
    bool inst_ok = ti.ncalls && ti.calls[0].outcome == OUT_OK;
    if (!x.failed) compare(&x, "A", &ti, &ta);
    transcript_free(&ti); transcript_free(&ta);
    /* Phase B: each export on its own fresh instance (pointless if instantiation itself fails). */
    for (uint32_t k = 0; k < nex && inst_ok && !x.failed && !g_no_fresh; k++) {
        char phase[32];
        snprintf(phase, sizeof phase, "B(%u)", k);
        run_tier(engine, mi, ex, nex, (int)k, false, &ti);
        run_tier(engine, ma, ex, nex, (int)k, true, &ta);
        compare(&x, phase, &ti, &ta);
        transcript_free(&ti); transcript_free(&ta);
    }
    if (x.failed) cnt->failed++;
    else {
        cnt->passed++;
        if (g_verbose) printf("ok %s (%u exports)\n", path, nex);
    }
    free(ex);
    wm_module_free(mi);
    wm_module_free(ma);
    wm_engine_free(engine);
}

/* Checks one module in a child process: a crash or a hang is that module's failure. */
static void check_isolated(const char *path, counts *total)
{
    int pfd[2];
    if (pipe(pfd) != 0) { perror("diff: pipe"); exit(3); }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("diff: fork"); exit(3); }
    if (pid == 0) {
        close(pfd[0]);
        alarm(g_timeout_s);
        counts c = { 0 };
        check_module(path, &c);
        fflush(stdout);
        ssize_t w = write(pfd[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 3);
    }
    close(pfd[1]);
    counts c = { 0 };
    size_t got = 0;
    while (got < sizeof c) {
        ssize_t k = read(pfd[0], (char *)&c + got, sizeof c - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (got == sizeof c && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        total->passed += c.passed; total->failed += c.failed; total->skipped += c.skipped;
        total->compared += c.compared; total->inconclusive += c.inconclusive; total->nan_diffs += c.nan_diffs;
        return;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) printf("FAIL %s: timed out after %u s\n", path, g_timeout_s);
    else if (WIFSIGNALED(st)) printf("FAIL %s: the checker crashed (signal %d: %s)\n", path, WTERMSIG(st), strsignal(WTERMSIG(st)));
    else printf("FAIL %s: the checker exited with status %d\n", path, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    total->failed++;
}

/* ---- command line --------------------------------------------------------------------------- */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A directory stands for its *.wasm files, sorted so runs are reproducible. */
static void check_path(const char *path, counts *total)
{
    DIR *d = opendir(path);
    if (!d) { check_isolated(path, total); return; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".wasm")) continue;
        if (n == cap) { cap = cap ? cap * 2 : 64; names = realloc(names, cap * sizeof *names); if (!names) exit(3); }
        size_t pl = strlen(path) + l + 2;
        names[n] = malloc(pl);
        if (!names[n]) exit(3);
        snprintf(names[n], pl, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) { check_isolated(names[i], total); free(names[i]); }
    free(names);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: diff [OPTIONS] FILE.wasm|DIR...\n"
            "Runs every exported function of each module in the interpreter and in the AOT tier and\n"
            "compares results, traps, host-log calls and the final state.\n"
            "  --fuel N          fuel per call (default 20000000); running out is inconclusive\n"
            "  --opt N           C compiler -O level for the AOT tier (default 2)\n"
            "  --no-cache        do not read or write the AOT code cache\n"
            "  --strict-nan      NaN sign/payload differences fail (default: counted only)\n"
            "  --no-fresh        only phase A (all exports on one instance)\n"
            "  --no-limits       AOT tier: the default code without fuel checks, run without fuel\n"
            "  --timeout S       per-module limit in seconds, compilation included (default 300)\n"
            "  -v                print passing modules and inconclusive calls too\n");
}

int main(int argc, char **argv)
{
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "--fuel") && first + 1 < argc) g_fuel = strtoull(argv[++first], NULL, 10);
        else if (!strcmp(a, "--opt") && first + 1 < argc) g_opt = atoi(argv[++first]);
        else if (!strcmp(a, "--timeout") && first + 1 < argc) g_timeout_s = (unsigned)atoi(argv[++first]);
        else if (!strcmp(a, "--no-cache")) g_no_cache = true;
        else if (!strcmp(a, "--strict-nan")) g_strict_nan = true;
        else if (!strcmp(a, "--no-fresh")) g_no_fresh = true;
        else if (!strcmp(a, "--no-limits")) g_no_limits = true;
        else if (!strcmp(a, "-v")) g_verbose = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    if (first >= argc) { usage(stderr); return 2; }
    if (!wm_aot_compiler_available()) {
        printf("0 passed, 0 failed, %d skipped (no C compiler: the AOT tier is unavailable)\n", argc - first);
        return 0;
    }
    wm_aot_enable();   /* before any store: memories get the guard reservation compiled code needs */
    counts total = { 0 };
    for (int i = first; i < argc; i++) check_path(argv[i], &total);
    printf("%" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " skipped (modules); %" PRIu64 " exports compared, %" PRIu64
           " inconclusive, %" PRIu64 " NaN-bit differences\n",
           total.passed, total.failed, total.skipped, total.compared, total.inconclusive, total.nan_diffs);
    return total.failed ? 1 : 0;
}
