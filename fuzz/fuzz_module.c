/* fuzz_module.c — libFuzzer harness: decode -> validate -> instantiate (every import stubbed)
 * -> call every exported function with zero arguments under fuel and memory limits. */
#include "wasmind.h"
#include <stdlib.h>
#include <string.h>

static wm_trap stub_host(wm_caller *c, void *env, const wm_val *args, wm_val *results)
{
    (void)c; (void)env; (void)args; (void)results;   /* results arrive zeroed and typed */
    return WM_TRAP_NONE;
}

static bool stub_import(wm_store *s, wm_externtype *t, wm_extern *out)
{
    wm_error err;
    out->kind = t->kind;
    switch (t->kind) {
    case WM_EXTERN_FUNC: out->of.func = wm_func_new(s, &t->of.func, stub_host, NULL, NULL); return out->of.func != NULL;
    case WM_EXTERN_TABLE: out->of.table = wm_table_new(s, t->of.table, NULL, &err); return out->of.table != NULL;
    case WM_EXTERN_MEMORY: out->of.memory = wm_memory_new(s, t->of.memory, &err); return out->of.memory != NULL;
    case WM_EXTERN_GLOBAL: {
        wm_val v; memset(&v, 0, sizeof v); v.type = t->of.global.type;
        out->of.global = wm_global_new(s, t->of.global, v);
        return out->of.global != NULL;
    }
    }
    return false;
}

int wm_fuzz_one(const uint8_t *data, size_t size)
{
    wm_config cfg = { .max_memory_pages = 256, .max_table_elems = 10000, .max_call_depth = 2000,
                      .value_stack_cells = 1 << 18, .fuel = 200000 };
    wm_engine *e = wm_engine_new(&cfg);
    wm_error err;
    wm_module *m = wm_module_new(e, data, size, &err);
    if (!m) { wm_engine_free(e); return 0; }
    wm_store *s = wm_store_new(e);
    uint32_t n = wm_module_import_count(m);
    wm_extern *imports = calloc(n ? n : 1, sizeof *imports);
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        const char *mod, *name; wm_externtype t;
        ok = wm_module_import(m, i, &mod, &name, &t) && stub_import(s, &t, &imports[i]);
    }
    wm_instance *in = ok ? wm_instance_new(s, m, imports, n, &err) : NULL;
    if (in) {
        uint32_t ne = wm_instance_export_count(in);
        for (uint32_t i = 0; i < ne; i++) {
            const char *name; wm_extern ext;
            if (!wm_instance_export_at(in, i, &name, &ext) || ext.kind != WM_EXTERN_FUNC) continue;
            wm_functype ft = wm_func_type(ext.of.func);
            wm_val args[16], res[16];
            if (ft.nparams > 16 || ft.nresults > 16) continue;
            for (uint32_t k = 0; k < ft.nparams; k++) { memset(&args[k], 0, sizeof args[k]); args[k].type = ft.params[k]; }
            wm_store_set_fuel(s, 200000);
            wm_func_call(s, ext.of.func, args, ft.nparams, res, ft.nresults, &err);
        }
    }
    free(imports);
    wm_store_free(s);
    wm_module_free(m);
    wm_engine_free(e);
    return 0;
}

#ifdef WM_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return wm_fuzz_one(data, size); }
#endif
