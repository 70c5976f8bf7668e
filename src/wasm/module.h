/* module.h — the in-memory representation of a decoded WebAssembly module,
 * shared by the decoder (decode.c), the body validator/translator (src/interp) and the runtime. */
#ifndef WM_MODULE_H
#define WM_MODULE_H

#include "wasmind.h"
#include <stdarg.h>

#define WM_PAGE_SIZE 65536u
#define WM_MAX_PAGES 65536u

/* Internal code produced by the translator for one function (see src/interp/ir.h). */
typedef struct wm_code {
    uint32_t *ops;          /* IR words */
    uint32_t nops;
    uint32_t param_cells;   /* cells taken by parameters (v128 = 2 cells, others 1) */
    uint32_t local_cells;   /* cells of declared (non-parameter) locals, zeroed on entry */
    uint32_t frame_cells;   /* params + locals + max operand stack, in cells */
    uint32_t result_cells;
    /* Constants of the body live in frame slots right after the locals, filled on entry, so
     * that i32.const & co. cost no instruction: fp[param_cells+local_cells+k] = consts[k]. */
    uint64_t *consts;
    uint32_t nconsts;
    /* Optional: maps IR word index -> wasm byte offset, for backtraces (may be NULL). */
    uint32_t *src_offsets;
} wm_code;

typedef struct wm_type {
    uint32_t nparams, nresults;
    uint8_t *params;        /* valtypes */
    uint8_t *results;
    uint32_t canon_id;      /* engine-wide id: equal ids <=> equal signatures */
    uint32_t param_cells, result_cells;
} wm_type;

/* A constant expression (Wasm 2.0: one instruction). */
typedef enum wm_constop {
    WM_CONST_I32, WM_CONST_I64, WM_CONST_F32, WM_CONST_F64, WM_CONST_V128,
    WM_CONST_REF_NULL, WM_CONST_REF_FUNC, WM_CONST_GLOBAL_GET
} wm_constop;

typedef struct wm_constexpr {
    wm_constop op;
    uint8_t type;           /* result valtype */
    uint32_t index;         /* funcidx for REF_FUNC, globalidx for GLOBAL_GET */
    union { uint32_t u32; uint64_t u64; uint8_t v128[16]; } value;
} wm_constexpr;

typedef struct wm_import {
    char *module, *name;
    wm_externkind kind;
    uint32_t type_index;    /* functions: index into types */
    wm_tabletype table;
    wm_limits memory;
    wm_globaltype global;
} wm_import;

typedef struct wm_funcdef {
    uint32_t type_index;
    uint32_t nlocals;       /* declared locals (excluding params) */
    uint8_t *local_types;   /* nlocals valtypes */
    const uint8_t *body;    /* instruction bytes (after the locals), into module->bytes */
    uint32_t body_len;
    uint32_t body_offset;   /* offset of body[0] in the module bytes */
    wm_code code;           /* filled by the translator */
} wm_funcdef;

typedef struct wm_globaldef { wm_globaltype type; wm_constexpr init; } wm_globaldef;

typedef struct wm_export { char *name; uint32_t name_len; wm_externkind kind; uint32_t index; } wm_export;

typedef enum wm_segmode { WM_SEG_ACTIVE, WM_SEG_PASSIVE, WM_SEG_DECLARATIVE } wm_segmode;

typedef struct wm_elemseg {
    wm_segmode mode;
    uint8_t elemtype;       /* WM_FUNCREF / WM_EXTERNREF */
    uint32_t table;
    wm_constexpr offset;
    uint32_t count;
    wm_constexpr *items;    /* REF_FUNC, REF_NULL or GLOBAL_GET each */
} wm_elemseg;

typedef struct wm_dataseg {
    wm_segmode mode;
    uint32_t memory;
    wm_constexpr offset;
    const uint8_t *bytes;   /* into module->bytes */
    uint32_t len;
} wm_dataseg;

struct wm_module {
    wm_engine *engine;
    uint8_t *bytes; size_t len;          /* owned copy of the binary */

    uint32_t ntypes; wm_type *types;
    uint32_t nimports; wm_import *imports;
    /* Index spaces: imports come first. */
    uint32_t nfuncs, nfunc_imports;      /* nfuncs counts imports too */
    uint32_t *func_types;                /* type index of every function in the index space */
    uint32_t nfuncdefs; wm_funcdef *funcdefs;   /* defined functions; funcidx = nfunc_imports + i */
    uint32_t ntables, ntable_imports; wm_tabletype *tables;       /* whole index space */
    uint32_t nmems, nmem_imports; wm_limits *mems;                 /* whole index space */
    uint32_t nglobals, nglobal_imports; wm_globaltype *global_types; /* whole index space */
    wm_globaldef *globaldefs;            /* nglobals - nglobal_imports defined globals */
    uint32_t nexports; wm_export *exports;
    bool has_start; uint32_t start;
    uint32_t nelems; wm_elemseg *elems;
    uint32_t ndatas; wm_dataseg *datas;
    bool has_datacount; uint32_t datacount;
    uint8_t *declared_funcs;             /* nfuncs flags: may be referenced by ref.func */
    char **func_names;                   /* nfuncs entries from the name section, or NULL */
    void *aot;                           /* AOT tier: compiled code (src/aot; released by wm_module_free), or NULL */
    bool bodies_pending;                 /* bodies not yet validated/translated (wm_decode_module_ex) */
};

/* Reports an error: sets err->status, err->offset and formats the message. Always returns false. */
bool wm_fail(wm_error *err, wm_status status, uint32_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* decode.c: decodes and validates the module structure, then calls wm_translate_function for
 * every body. Returns NULL with err filled on failure. */
wm_module *wm_decode_module(wm_engine *engine, const uint8_t *bytes, size_t len, wm_error *err);
/* With translate = false the function bodies are left for wm_module_translate_pending: for modules whose AOT
 * code comes from a checked cache entry or .cwasm (compiled from these very bytes after full validation), where
 * translating every body for an interpreter that will never run them was a third of the cold start. */
wm_module *wm_decode_module_ex(wm_engine *engine, const uint8_t *bytes, size_t len, bool translate, wm_error *err);
/* Validates and translates the bodies a wm_decode_module_ex(translate = false) left; false with err on an
 * invalid body (the module must then be freed). */
bool wm_module_translate_pending(wm_module *m, wm_error *err);
void wm_module_destroy(wm_module *m);

/* src/interp/translate.c: validates function body `defidx` and emits fd->code.
 * Errors are WM_ERR_INVALID (or WM_ERR_MALFORMED for undecodable bytes) with the byte offset. */
bool wm_translate_function(wm_module *m, uint32_t defidx, wm_error *err);
void wm_code_free(wm_code *code);

/* runtime: engine-wide interning of function signatures. */
uint32_t wm_engine_intern_type(wm_engine *e, const uint8_t *params, uint32_t np, const uint8_t *results, uint32_t nr);

static inline uint32_t wm_valtype_cells(uint8_t t) { return t == WM_V128 ? 2u : 1u; }

#endif
