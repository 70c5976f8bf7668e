/* wasmind.h — the public embedding API of the wasmind WebAssembly runtime.
 * Host modules (spectest, WASI, WASI-NN) are written against this header only. */
#ifndef WASMIND_H
#define WASMIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WASMIND_VERSION "0.1.0"

/* ---- value types and values ------------------------------------------- */
typedef enum wm_valtype {
    WM_I32 = 0x7F, WM_I64 = 0x7E, WM_F32 = 0x7D, WM_F64 = 0x7C,
    WM_V128 = 0x7B, WM_FUNCREF = 0x70, WM_EXTERNREF = 0x6F
} wm_valtype;

typedef struct wm_func wm_func;       /* function instance (wasm or host) */
typedef struct wm_table wm_table;
typedef struct wm_memory wm_memory;
typedef struct wm_global wm_global;

/* Floats are carried as raw bits so NaN payloads survive the API. */
typedef struct wm_val {
    uint8_t type;                      /* wm_valtype */
    union {
        int32_t i32;
        int64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        uint8_t v128[16];
        wm_func *funcref;              /* NULL = ref.null func */
        void *externref;               /* NULL = ref.null extern */
    } of;
} wm_val;

static inline wm_val wm_val_i32(int32_t v) { wm_val r; r.type = WM_I32; r.of.i64 = 0; r.of.i32 = v; return r; }
static inline wm_val wm_val_i64(int64_t v) { wm_val r; r.type = WM_I64; r.of.i64 = v; return r; }

/* ---- types --------------------------------------------------------------- */
typedef struct wm_functype {
    uint32_t nparams, nresults;
    const uint8_t *params;             /* wm_valtype each */
    const uint8_t *results;
} wm_functype;

typedef struct wm_limits { uint32_t min, max; bool has_max; } wm_limits;
typedef struct wm_tabletype { uint8_t elem; wm_limits limits; } wm_tabletype;
typedef struct wm_globaltype { uint8_t type; bool is_mutable; } wm_globaltype;

typedef enum wm_externkind {
    WM_EXTERN_FUNC = 0, WM_EXTERN_TABLE = 1, WM_EXTERN_MEMORY = 2, WM_EXTERN_GLOBAL = 3
} wm_externkind;

typedef struct wm_externtype {
    wm_externkind kind;
    union { wm_functype func; wm_tabletype table; wm_limits memory; wm_globaltype global; } of;
} wm_externtype;

typedef struct wm_extern {
    wm_externkind kind;
    union { wm_func *func; wm_table *table; wm_memory *memory; wm_global *global; } of;
} wm_extern;

/* ---- errors and traps ------------------------------------------------------ */
typedef enum wm_status {
    WM_OK = 0,
    WM_ERR_MALFORMED,      /* binary cannot be decoded */
    WM_ERR_INVALID,        /* decodes but fails validation */
    WM_ERR_UNLINKABLE,     /* imports do not match */
    WM_ERR_TRAP,           /* execution trapped (see wm_trap) */
    WM_ERR_EXIT,           /* guest asked to exit (WASI proc_exit); exit_code is set */
    WM_ERR_RESOURCE,       /* out of host memory, limits exceeded at creation */
    WM_ERR_ARGUMENT        /* API misuse: wrong argument count/types */
} wm_status;

typedef enum wm_trap {
    WM_TRAP_NONE = 0,
    WM_TRAP_UNREACHABLE,
    WM_TRAP_MEMORY_OOB,
    WM_TRAP_TABLE_OOB,
    WM_TRAP_DIV_ZERO,
    WM_TRAP_INT_OVERFLOW,
    WM_TRAP_INVALID_CONVERSION,
    WM_TRAP_UNDEFINED_ELEMENT,
    WM_TRAP_UNINITIALIZED_ELEMENT,
    WM_TRAP_INDIRECT_CALL_TYPE,
    WM_TRAP_STACK_EXHAUSTED,
    WM_TRAP_OUT_OF_FUEL,
    WM_TRAP_DEADLINE,
    WM_TRAP_INTERRUPTED,
    WM_TRAP_HOST,          /* a host function trapped; message says why */
    WM_TRAP_EXIT           /* host function requested exit (proc_exit) */
} wm_trap;

typedef struct wm_error {
    wm_status status;
    wm_trap trap;
    uint32_t offset;       /* byte offset in the module for MALFORMED/INVALID */
    int32_t exit_code;     /* for WM_ERR_EXIT */
    char message[512];     /* spec wording first, then context */
} wm_error;

/* The spec's wording for a trap ("integer divide by zero", ...). */
const char *wm_trap_message(wm_trap trap);

/* ---- engine and store ------------------------------------------------------- */
typedef struct wm_config {
    uint32_t max_memory_pages;   /* per memory; memory.grow beyond returns -1. 0 = 65536 */
    uint32_t max_table_elems;    /* per table; table.grow beyond returns -1. 0 = 10,000,000 */
    uint32_t max_call_depth;     /* wasm call frames; 0 = 20,000 */
    uint32_t value_stack_cells;  /* 8-byte cells of operand/locals stack; 0 = 4M (32 MiB) */
    uint64_t fuel;               /* units (~ one per loop iteration or call); 0 = unlimited */
    uint64_t deadline_ms;        /* wall-clock limit per top-level call; 0 = none */
} wm_config;

typedef struct wm_engine wm_engine;   /* configuration + compiled code; owns modules */
typedef struct wm_store wm_store;     /* runtime objects + execution stack; owns instances */
typedef struct wm_module wm_module;
typedef struct wm_instance wm_instance;

wm_engine *wm_engine_new(const wm_config *config /* NULL = defaults */);
void wm_engine_free(wm_engine *engine);
const wm_config *wm_engine_config(const wm_engine *engine);

wm_store *wm_store_new(wm_engine *engine);
void wm_store_free(wm_store *store);   /* frees every instance and object it owns */
/* Fuel and deadline can be changed between calls. */
void wm_store_set_fuel(wm_store *store, uint64_t fuel /* 0 = unlimited */);
uint64_t wm_store_fuel_consumed(const wm_store *store);
void wm_store_set_deadline_ms(wm_store *store, uint64_t ms /* 0 = none */);
void wm_store_interrupt(wm_store *store);   /* async-signal-safe; stops the running guest */

/* ---- modules -------------------------------------------------------------- */
/* Decodes, validates and translates for execution. The bytes are copied. */
wm_module *wm_module_new(wm_engine *engine, const uint8_t *bytes, size_t len, wm_error *err);
void wm_module_free(wm_module *module);

uint32_t wm_module_import_count(const wm_module *m);
/* Fills module/name/type of import i; strings live as long as the module. */
bool wm_module_import(const wm_module *m, uint32_t i, const char **module, const char **name, wm_externtype *type);
uint32_t wm_module_export_count(const wm_module *m);
bool wm_module_export(const wm_module *m, uint32_t i, const char **name, wm_externtype *type);
/* Name of function idx from the name section, or NULL. */
const char *wm_module_func_name(const wm_module *m, uint32_t funcidx);

/* ---- host objects ----------------------------------------------------------- */
typedef struct wm_caller wm_caller;    /* the calling context a host function sees */

/* Returns WM_TRAP_NONE on success; otherwise a trap, with wm_caller_trap() for a message. */
typedef wm_trap (*wm_host_fn)(wm_caller *caller, void *env, const wm_val *args, wm_val *results);

/* The functype arrays are copied. finalizer(env) runs when the store is freed (may be NULL). */
wm_func *wm_func_new(wm_store *store, const wm_functype *type, wm_host_fn fn, void *env, void (*finalizer)(void *));
wm_functype wm_func_type(const wm_func *f);

wm_memory *wm_memory_new(wm_store *store, wm_limits limits, wm_error *err);
uint8_t *wm_memory_data(wm_memory *mem);    /* valid until the next grow */
uint64_t wm_memory_size(const wm_memory *mem);   /* bytes */
uint32_t wm_memory_pages(const wm_memory *mem);
int32_t wm_memory_grow(wm_memory *mem, uint32_t delta_pages);   /* old pages, or -1 */
wm_limits wm_memory_type(const wm_memory *mem);

wm_table *wm_table_new(wm_store *store, wm_tabletype type, void *init, wm_error *err);
uint32_t wm_table_size(const wm_table *t);
bool wm_table_get(const wm_table *t, uint32_t i, wm_val *out);
bool wm_table_set(wm_table *t, uint32_t i, wm_val v);
int32_t wm_table_grow(wm_table *t, uint32_t delta, void *init);
wm_tabletype wm_table_type(const wm_table *t);

wm_global *wm_global_new(wm_store *store, wm_globaltype type, wm_val init);
wm_val wm_global_get(const wm_global *g);
bool wm_global_set(wm_global *g, wm_val v);      /* false if immutable or wrong type */
wm_globaltype wm_global_type(const wm_global *g);

/* Inside a host function: */
wm_memory *wm_caller_memory(wm_caller *caller);  /* memory 0 of the calling instance, or NULL */
wm_store *wm_caller_store(wm_caller *caller);
/* For host functions that run long (model inference): WM_TRAP_NONE, or WM_TRAP_INTERRUPTED / WM_TRAP_DEADLINE
 * when the guest's call should stop now. Cheap enough to poll between units of work; consumes no fuel. */
wm_trap wm_store_should_stop(wm_store *store);
wm_instance *wm_caller_instance(wm_caller *caller);
/* Record a trap message; returns the trap to pass back: return wm_caller_trap(c, WM_TRAP_HOST, "..."). */
wm_trap wm_caller_trap(wm_caller *caller, wm_trap trap, const char *fmt, ...);
wm_trap wm_caller_exit(wm_caller *caller, int32_t code);

/* ---- instances ---------------------------------------------------------- */
/* imports[i] satisfies wm_module_import(m, i). Runs the start function. */
wm_instance *wm_instance_new(wm_store *store, const wm_module *m, const wm_extern *imports, uint32_t nimports, wm_error *err);
bool wm_instance_export(const wm_instance *inst, const char *name, wm_extern *out);
/* The same for names that may contain NUL bytes (wasm names are byte strings). */
bool wm_instance_export_bytes(const wm_instance *inst, const char *name, size_t len, wm_extern *out);
uint32_t wm_instance_export_count(const wm_instance *inst);
bool wm_instance_export_at(const wm_instance *inst, uint32_t i, const char **name, wm_extern *out);
const wm_module *wm_instance_module(const wm_instance *inst);

/* ---- linker: resolve imports by name -------------------------------------- */
typedef struct wm_linker wm_linker;
wm_linker *wm_linker_new(wm_store *store);
void wm_linker_free(wm_linker *l);
bool wm_linker_define(wm_linker *l, const char *module, const char *name, wm_extern ext);
/* Defines every export of inst under module name `module`. */
bool wm_linker_define_instance(wm_linker *l, const char *module, const wm_instance *inst);
bool wm_linker_get(const wm_linker *l, const char *module, const char *name, wm_extern *out);
/* Resolves imports ("unknown import" if missing, "incompatible import type" if wrong) and instantiates. */
wm_instance *wm_linker_instantiate(wm_linker *l, const wm_module *m, wm_error *err);

/* ---- calls ------------------------------------------------------------------ */
/* Checks argument count and types. On a trap err->status = WM_ERR_TRAP and err->message
 * starts with wm_trap_message(). */
wm_status wm_func_call(wm_store *store, wm_func *f, const wm_val *args, uint32_t nargs,
                       wm_val *results, uint32_t nresults, wm_error *err);

/* Backtrace of the last trap in this store: up to max function indices of the trapping
 * instance's functions, innermost first. */
uint32_t wm_store_backtrace(const wm_store *store, const wm_instance **insts, uint32_t *funcidx, uint32_t max);

#ifdef __cplusplus
}
#endif
#endif
