/* spectest.c — the `spectest` host module used by the WebAssembly spec tests: print functions,
 * globals global_i32/i64/f32/f64 (666 / 666.6), a funcref table (10..20) and a memory (1..2 pages). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spectest.h"

static bool print_enabled = false;

void wm_spectest_set_print(bool on) { print_enabled = on; }

static wm_trap spectest_print(wm_caller *caller, void *env, const wm_val *args, wm_val *results)
{
    (void)caller; (void)results;
    const char *name = env;
    if (!print_enabled) return WM_TRAP_NONE;
    /* The parameter types follow from the name suffix: print_i32_f32 -> i32, f32. */
    const char *p = name + 5;   /* after "print" */
    int i = 0;
    while (*p == '_') {
        p++;
        float f; double d;
        if (!strncmp(p, "i32", 3)) printf("%" PRId32 " : i32\n", args[i].of.i32);
        else if (!strncmp(p, "i64", 3)) printf("%" PRId64 " : i64\n", args[i].of.i64);
        else if (!strncmp(p, "f32", 3)) { memcpy(&f, &args[i].of.f32_bits, 4); printf("%g : f32\n", (double)f); }
        else if (!strncmp(p, "f64", 3)) { memcpy(&d, &args[i].of.f64_bits, 8); printf("%g : f64\n", d); }
        p += 3;
        i++;
    }
    if (i == 0) printf("\n");
    fflush(stdout);
    return WM_TRAP_NONE;
}

static bool def(wm_linker *l, const char *name, wm_extern e)
{
    return wm_linker_define(l, "spectest", name, e);
}

bool wm_spectest_register(wm_linker *l, wm_store *s)
{
    if (!l || !s) return false;
    static const struct { const char *name; uint8_t np; uint8_t params[2]; } funcs[] = {
        { "print", 0, { 0, 0 } },
        { "print_i32", 1, { WM_I32, 0 } },
        { "print_i64", 1, { WM_I64, 0 } },
        { "print_f32", 1, { WM_F32, 0 } },
        { "print_f64", 1, { WM_F64, 0 } },
        { "print_i32_f32", 2, { WM_I32, WM_F32 } },
        { "print_f64_f64", 2, { WM_F64, WM_F64 } },
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        wm_functype t;
        t.nparams = funcs[i].np;
        t.nresults = 0;
        t.params = funcs[i].params;
        t.results = NULL;
        wm_func *f = wm_func_new(s, &t, spectest_print, (void *)funcs[i].name, NULL);
        wm_extern e;
        memset(&e, 0, sizeof e);
        e.kind = WM_EXTERN_FUNC;
        e.of.func = f;
        if (!f || !def(l, funcs[i].name, e)) ok = false;
    }

    float f32v = 666.6f;
    double f64v = 666.6;
    struct { const char *name; wm_val v; } globals[4];
    globals[0].name = "global_i32"; globals[0].v = wm_val_i32(666);
    globals[1].name = "global_i64"; globals[1].v = wm_val_i64(666);
    globals[2].name = "global_f32"; memset(&globals[2].v, 0, sizeof(wm_val));
    globals[2].v.type = WM_F32; memcpy(&globals[2].v.of.f32_bits, &f32v, 4);
    globals[3].name = "global_f64"; memset(&globals[3].v, 0, sizeof(wm_val));
    globals[3].v.type = WM_F64; memcpy(&globals[3].v.of.f64_bits, &f64v, 8);
    for (int i = 0; i < 4; i++) {
        wm_globaltype gt;
        gt.type = globals[i].v.type;
        gt.is_mutable = false;
        wm_global *g = wm_global_new(s, gt, globals[i].v);
        wm_extern e;
        memset(&e, 0, sizeof e);
        e.kind = WM_EXTERN_GLOBAL;
        e.of.global = g;
        if (!g || !def(l, globals[i].name, e)) ok = false;
    }

    wm_error err;
    memset(&err, 0, sizeof err);
    wm_tabletype tt;
    tt.elem = WM_FUNCREF;
    tt.limits.min = 10; tt.limits.max = 20; tt.limits.has_max = true;
    wm_table *t = wm_table_new(s, tt, NULL, &err);
    wm_extern e;
    memset(&e, 0, sizeof e);
    e.kind = WM_EXTERN_TABLE;
    e.of.table = t;
    if (!t || !def(l, "table", e)) ok = false;

    memset(&err, 0, sizeof err);
    wm_limits ml;
    ml.min = 1; ml.max = 2; ml.has_max = true;
    wm_memory *mem = wm_memory_new(s, ml, &err);
    memset(&e, 0, sizeof e);
    e.kind = WM_EXTERN_MEMORY;
    e.of.memory = mem;
    if (!mem || !def(l, "memory", e)) ok = false;
    return ok;
}
