/* aot.h — the AOT tier (src/aot): wasm -> C (wasm2c.c) -> system C compiler -> dlopen (aot.c), plus
 * the hooks the runtime calls (instance set-up, calls into compiled code) and the CLI's entry points. */
#ifndef WM_AOT_H
#define WM_AOT_H

#include "../runtime/runtime.h"

typedef struct wm_aot_options {
    int opt_level;        /* -O level for the C compiler (0..3); 0 = default (2) */
    uint32_t jobs;        /* parallel compiler processes; 0 = $WASMIND_AOT_JOBS or the CPU count */
    bool no_cache;        /* do not read or write the on-disk cache */
    bool verbose;         /* notices on stderr (rejected cache entries) */
    bool portable;        /* no -march=native: code runs on any CPU of the architecture */
    bool limits;          /* the checked variant (fuel, call depth, loop polling); needed to run under fuel.
                           * Default: the no-limits variant (guard page + signals, see aot.c) */
} wm_aot_options;

/* Bytes reserved per memory when the AOT tier is on: 4 GiB + 4 GiB guard + slack. */
#define WM_AOT_RESERVE ((8ull << 30) + (1ull << 20))

/* Makes every memory created from now on guard-reserved (call before creating stores). */
void wm_aot_enable(void);
/* The C compiler the tier would use, if one is on PATH ($CC or cc). */
bool wm_aot_compiler_available(void);

/* Compiles m (or loads it from the per-process/on-disk cache) and attaches the code: instances
 * created afterwards run compiled. On failure returns false with why set; m keeps working
 * in the interpreter. */
bool wm_aot_attach(wm_module *m, const wm_aot_options *o, char *why, size_t wsize);
/* Compiles m into a .cwasm file (header + module bytes + shared object). */
/* The module with native code from the in-process table or the disk cache, bodies left untranslated (the
 * entry was compiled from these bytes after full validation); NULL when nothing is cached (or the entry is
 * rejected), for the caller to take the full path: wm_module_new + wm_aot_attach. */
/* A .cwasm image (wm_aot_is_cwasm) as a module running its native code; when that code cannot be used, a notice
 * on stderr and the interpreter. NULL with err filled when the file or its module is bad. */
/* need_limits: the caller will run it under fuel, which only the checked variant (wm_aot_options.limits) charges;
 * no-limits code is then not used. */
wm_module *wm_aot_module_cwasm(wm_engine *engine, const uint8_t *buf, size_t len, bool need_limits, wm_error *err);
wm_module *wm_aot_module_cached(wm_engine *engine, const uint8_t *bytes, size_t len, const wm_aot_options *o);
bool wm_aot_compile_to(const wm_module *m, const wm_aot_options *o, const char *path, char *why, size_t wsize);
/* True if the bytes start like a .cwasm file; wm_aot_cwasm_module returns the embedded module
 * bytes (pointer into buf) after checking the header. */
bool wm_aot_is_cwasm(const uint8_t *buf, size_t len);
const uint8_t *wm_aot_cwasm_module(const uint8_t *buf, size_t len, size_t *wasm_len);
/* Attaches the code of a .cwasm whose embedded module was decoded into m. */
bool wm_aot_attach_cwasm(wm_module *m, const uint8_t *buf, size_t len, bool need_limits, char *why, size_t wsize);

/* The compiled code attached to m: 1 the checked variant, 0 the no-limits one, -1 none. */
int wm_aot_variant(const wm_module *m);

/* ---- runtime hooks ---- */
/* Called by wm_module_free: drops the module's reference to its compiled code (m->aot). */
void wm_aot_release(void *code);
/* Called by wm_instance_new once memories exist: wires compiled functions into the instance
 * (or leaves it interpreted when a memory is not guard-reserved). */
bool wm_aot_instance_init(wm_instance *in, wm_error *err);
/* Runs compiled function f with arguments in fp[] (results written there); like wm_interp_run. */
wm_trap wm_aot_call(wm_store *s, wm_func *f, uint64_t *fp);

/* ---- wasm2c.c ---- */
/* limits: the checked variant (WM_AOT_F_LIMITS); *uses_simd: the module has SIMD instructions or v128 values. */
bool wm_aot_translate(const wm_module *m, const char *key, const char *prelude, const char *simd_h, bool limits,
                      uint32_t max_tus, char ***tus, uint32_t *ntus, bool *uses_simd, char *err, size_t errsz);

#endif
