/* test_api.c — unit tests of the embedding API (include/wasmind.h): errors with offsets, host
 * functions, traps, fuel, deadlines, memory caps, stack exhaustion and re-entrant calls. */
#include "wasmind.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); printf(__VA_ARGS__); printf("\n"); } } while (0)

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static wm_trap host_add3(wm_caller *c, void *env, const wm_val *a, wm_val *r)
{
    (void)c; (void)env;
    r[0].of.i32 = a[0].of.i32 + a[1].of.i32 + a[2].of.i32;
    return WM_TRAP_NONE;
}

static wm_trap host_boom(wm_caller *c, void *env, const wm_val *a, wm_val *r)
{
    (void)env; (void)a; (void)r;
    return wm_caller_trap(c, WM_TRAP_HOST, "boom! from the host");
}

static wm_trap host_reenter(wm_caller *c, void *env, const wm_val *a, wm_val *r)
{
    wm_func *dbl = *(wm_func **)env;
    wm_error err;
    wm_status st = wm_func_call(wm_caller_store(c), dbl, a, 1, r, 1, &err);
    return st == WM_OK ? WM_TRAP_NONE : wm_caller_trap(c, WM_TRAP_HOST, "re-entrant call failed: %s", err.message);
}

static wm_func *export_func(wm_instance *in, const char *name)
{
    wm_extern e;
    if (!wm_instance_export(in, name, &e) || e.kind != WM_EXTERN_FUNC) { printf("no export %s\n", name); exit(1); }
    return e.of.func;
}

static wm_status call1(wm_store *s, wm_instance *in, const char *name, int32_t arg, int32_t *out, wm_error *err)
{
    wm_val a = wm_val_i32(arg), r;
    wm_status st = wm_func_call(s, export_func(in, name), &a, 1, &r, 1, err);
    if (st == WM_OK && out) *out = r.of.i32;
    return st;
}

static void test_malformed(void)
{
    wm_engine *e = wm_engine_new(NULL);
    wm_error err;
    static const uint8_t bad_version[] = { 0, 'a', 's', 'm', 2, 0, 0, 0 };
    CHECK(!wm_module_new(e, bad_version, sizeof bad_version, &err), "accepted a bad version");
    CHECK(err.status == WM_ERR_MALFORMED, "status %d", err.status);
    CHECK(strncmp(err.message, "unknown binary version", 22) == 0, "message '%s'", err.message);
    CHECK(err.offset == 4, "offset %u", err.offset);
    static const uint8_t bad_magic[] = { 0, 'a', 's', 'x', 1, 0, 0, 0 };
    CHECK(!wm_module_new(e, bad_magic, sizeof bad_magic, &err), "accepted a bad magic");
    CHECK(strncmp(err.message, "magic header not detected", 25) == 0, "message '%s'", err.message);
    CHECK(!wm_module_new(e, bad_magic, 3, &err), "accepted 3 bytes");
    /* type section claiming 2^32-1 entries in 3 bytes must fail cleanly, not allocate. */
    static const uint8_t huge_count[] = { 0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f };
    CHECK(!wm_module_new(e, huge_count, sizeof huge_count, &err), "accepted a huge count");
    wm_engine_free(e);
}

static void test_api_module(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data/api.wasm", dir);
    size_t len = 0;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) { failed++; printf("FAIL cannot read %s\n", path); return; }
    wm_config cfg = { .max_memory_pages = 4, .max_call_depth = 1000 };
    wm_engine *e = wm_engine_new(&cfg);
    wm_error err;
    wm_module *m = wm_module_new(e, bytes, len, &err);
    free(bytes);
    CHECK(m != NULL, "load failed: %s", err.message);
    if (!m) { wm_engine_free(e); return; }

    CHECK(wm_module_import_count(m) == 3, "imports %u", wm_module_import_count(m));
    const char *mod, *name; wm_externtype t;
    CHECK(wm_module_import(m, 0, &mod, &name, &t) && strcmp(mod, "env") == 0 && strcmp(name, "add3") == 0
          && t.kind == WM_EXTERN_FUNC && t.of.func.nparams == 3 && t.of.func.nresults == 1, "import 0");

    wm_store *s = wm_store_new(e);
    wm_linker *l = wm_linker_new(s);
    static const uint8_t i32x3[] = { WM_I32, WM_I32, WM_I32 };
    wm_functype add3_t = { 3, 1, i32x3, i32x3 }, boom_t = { 0, 0, NULL, NULL }, re_t = { 1, 1, i32x3, i32x3 };
    /* Instantiating with a missing import names it. */
    wm_instance *in = wm_linker_instantiate(l, m, &err);
    CHECK(!in && err.status == WM_ERR_UNLINKABLE && strstr(err.message, "unknown import") && strstr(err.message, "add3"), "missing import: %s", err.message);

    /* The re-entrant host function calls "double" of the same instance, resolved after instantiation. */
    wm_func *dbl_slot[1] = { NULL };
    wm_linker_define(l, "env", "add3", (wm_extern){ WM_EXTERN_FUNC, { .func = wm_func_new(s, &add3_t, host_add3, NULL, NULL) } });
    wm_linker_define(l, "env", "boom", (wm_extern){ WM_EXTERN_FUNC, { .func = wm_func_new(s, &boom_t, host_boom, NULL, NULL) } });
    wm_func *re = wm_func_new(s, &re_t, host_reenter, dbl_slot, NULL);
    wm_linker_define(l, "env", "reenter", (wm_extern){ WM_EXTERN_FUNC, { .func = re } });
    in = wm_linker_instantiate(l, m, &err);
    CHECK(in != NULL, "instantiate: %s", err.message);
    if (!in) goto out;
    dbl_slot[0] = export_func(in, "double");

    int32_t r = 0;
    CHECK(call1(s, in, "call_add3", 5, &r, &err) == WM_OK && r == 115, "add3 -> %d (%s)", r, err.message);
    CHECK(call1(s, in, "call_reenter", 20, &r, &err) == WM_OK && r == 41, "reenter -> %d (%s)", r, err.message);

    wm_status st = wm_func_call(s, export_func(in, "call_boom"), NULL, 0, NULL, 0, &err);
    CHECK(st == WM_ERR_TRAP && err.trap == WM_TRAP_HOST && strstr(err.message, "boom!"), "boom: %d %s", st, err.message);

    wm_val dargs[2] = { wm_val_i32(7), wm_val_i32(0) }, dres;
    st = wm_func_call(s, export_func(in, "div"), dargs, 2, &dres, 1, &err);
    CHECK(st == WM_ERR_TRAP && err.trap == WM_TRAP_DIV_ZERO && strncmp(err.message, "integer divide by zero", 22) == 0, "div: %s", err.message);
    dargs[0] = wm_val_i32(INT32_MIN); dargs[1] = wm_val_i32(-1);
    st = wm_func_call(s, export_func(in, "div"), dargs, 2, &dres, 1, &err);
    CHECK(st == WM_ERR_TRAP && err.trap == WM_TRAP_INT_OVERFLOW, "overflow: %s", err.message);

    CHECK(call1(s, in, "load", 65533, &r, &err) == WM_ERR_TRAP && err.trap == WM_TRAP_MEMORY_OOB, "oob load: %s", err.message);
    CHECK(call1(s, in, "load", 65532, &r, &err) == WM_OK, "in-bounds load: %s", err.message);

    /* Memory cap: 4 pages in the config; the module starts with 1. */
    CHECK(call1(s, in, "grow", 10, &r, &err) == WM_OK && r == -1, "grow past cap -> %d", r);
    CHECK(call1(s, in, "grow", 3, &r, &err) == WM_OK && r == 1, "grow to cap -> %d", r);
    CHECK(call1(s, in, "grow", 1, &r, &err) == WM_OK && r == -1, "grow beyond -> %d", r);
    wm_extern mem;
    CHECK(wm_instance_export(in, "memory", &mem) && wm_memory_pages(mem.of.memory) == 4, "pages");

    /* Stack exhaustion is a clean trap and the store stays usable. */
    CHECK(call1(s, in, "rec", 0, &r, &err) == WM_ERR_TRAP && err.trap == WM_TRAP_STACK_EXHAUSTED, "rec: %s", err.message);
    CHECK(call1(s, in, "double", 21, &r, &err) == WM_OK && r == 42, "after exhaustion -> %d", r);

    /* Fuel stops a runaway loop. */
    wm_store_set_fuel(s, 100000);
    st = wm_func_call(s, export_func(in, "spin"), NULL, 0, NULL, 0, &err);
    CHECK(st == WM_ERR_TRAP && err.trap == WM_TRAP_OUT_OF_FUEL, "fuel: %d %s", st, err.message);
    CHECK(wm_store_fuel_consumed(s) >= 100000, "consumed %llu", (unsigned long long)wm_store_fuel_consumed(s));
    wm_store_set_fuel(s, 0);

    /* A deadline stops it too, promptly. */
    wm_store_set_deadline_ms(s, 50);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = wm_func_call(s, export_func(in, "spin"), NULL, 0, NULL, 0, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(st == WM_ERR_TRAP && err.trap == WM_TRAP_DEADLINE, "deadline: %s", err.message);
    CHECK(ms < 1000, "deadline took %.0f ms", ms);
    wm_store_set_deadline_ms(s, 0);

    /* Multi-value results and globals. */
    wm_val margs[2] = { wm_val_i64(-3), { .type = WM_F64 } }, mres[3];
    double d = 2.5; memcpy(&margs[1].of.f64_bits, &d, 8);
    st = wm_func_call(s, export_func(in, "multi"), margs, 2, mres, 3, &err);
    CHECK(st == WM_OK && mres[0].type == WM_F64 && mres[0].of.f64_bits == margs[1].of.f64_bits
          && mres[1].of.i64 == -3 && mres[2].of.i32 == 5, "multi: %s", err.message);
    st = wm_func_call(s, export_func(in, "multi"), margs, 1, mres, 3, &err);
    CHECK(st == WM_ERR_ARGUMENT, "wrong arg count accepted");
    wm_extern g;
    CHECK(wm_instance_export(in, "counter", &g) && wm_global_get(g.of.global).of.i32 == 7, "global");
    CHECK(wm_global_set(g.of.global, wm_val_i32(9)) && wm_global_get(g.of.global).of.i32 == 9, "global set");
    CHECK(!wm_global_set(g.of.global, wm_val_i64(9)), "global set with the wrong type accepted");
out:
    wm_linker_free(l);
    wm_store_free(s);
    wm_module_free(m);
    wm_engine_free(e);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests";
    /* The .wasm files are assembled into the build tree next to this binary. */
    char datadir[4096];
    snprintf(datadir, sizeof datadir, "%s", argv[0]);
    char *slash = strrchr(datadir, '/');
    if (slash) *slash = 0; else snprintf(datadir, sizeof datadir, ".");
    (void)dir;
    test_malformed();
    test_api_module(datadir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
