/* runtime.h — internal layout of runtime objects (store, instances, functions, memories, tables,
 * globals) shared by the runtime, the interpreter loop and the AOT tier. Embedders use wasmind.h. */
#ifndef WM_RUNTIME_H
#define WM_RUNTIME_H

#include "wasmind.h"
#include "../wasm/module.h"

struct wm_engine {
    wm_config config;
    /* interned signatures: canon id -> (params, results) */
    uint32_t ntypes, cap_types;
    struct wm_canon_type { uint8_t *sig; uint32_t np, nr; } *types;
};

struct wm_func {
    uint32_t type_id;            /* canonical signature id (wm_engine_intern_type) */
    /* AOT tier (src/aot; layout mirrored by aot_prelude.h): compiled code, or NULLs. */
    void *aot_fn, *aot_ctx, *aot_tramp;
    wm_type *type;               /* the signature (owned by module, or by the func for host funcs) */
    wm_instance *inst;           /* defining instance; NULL for host functions */
    const wm_code *code;         /* wasm functions: translated code */
    uint32_t funcidx;            /* index in the defining module */
    wm_host_fn host;             /* host functions */
    void *env;
    void (*finalizer)(void *);
    wm_type own_type;            /* storage for host function signatures */
};

struct wm_memory {
    uint8_t *data;
    uint64_t size;               /* bytes = pages * 64 KiB */
    uint32_t pages;
    uint32_t max_pages;          /* effective cap: min(declared max, config limit) */
    wm_limits type;
    uint64_t reserved;           /* bytes of address space reserved at data (0 = malloc'd) */
};

struct wm_table {
    void **elems;                /* wm_func* for funcref, host pointer for externref */
    uint32_t size, max;          /* max: effective cap */
    wm_tabletype type;
};

struct wm_global {
    union { uint64_t cell; uint8_t v128[16]; void *ref; } v;   /* same layout as frame cells */
    wm_globaltype type;
};

struct wm_instance {
    wm_store *store;
    const wm_module *module;
    wm_func **funcs;             /* module->nfuncs */
    wm_table **tables;
    wm_memory **mems;
    wm_global **globals;
    uint8_t *elem_dropped;       /* module->nelems flags */
    uint8_t *data_dropped;       /* module->ndatas flags */
    void *aot_ctx;               /* AOT tier context (freed with the instance), or NULL */
    wm_instance *next;
};

/* One activation record of the interpreter's control stack. */
typedef struct wm_frame {
    const uint32_t *ret_ip;      /* where the caller resumes */
    uint64_t *fp;                /* the caller's frame */
    wm_func *func;               /* the caller */
} wm_frame;

struct wm_caller { wm_store *store; wm_instance *inst; };

struct wm_store {
    wm_engine *engine;
    /* value stack */
    uint64_t *stack, *stack_end;
    uint64_t *sp;                /* first free cell for a new top-level or re-entrant call */
    /* control stack */
    wm_frame *frames; uint32_t max_depth; uint32_t depth;
    /* fuel and deadline */
    int64_t fuel_left;           /* charged by taken backward branches and calls, in batches of 16; refill/check when < 0 */
    int64_t fuel_chunk;          /* size of the last refill */
    uint64_t fuel_limit;         /* 0 = unlimited */
    uint64_t fuel_used_before;   /* consumed in earlier refills */
    uint64_t deadline_ns;        /* absolute monotonic deadline for the running call, 0 = none */
    uint64_t deadline_ms;
    volatile int interrupt;
    int aot_limits;              /* AOT code charges fuel (set per call: fuel or deadline on) */
    int aot_tid;                 /* thread running no-limits AOT code for this store (wm_store_interrupt signals it), or 0 */
    char *aot_stack_limit;       /* AOT code: lowest safe C stack address of this thread */
    /* last trap */
    wm_trap trap;
    int32_t exit_code;
    char trap_msg[400];
    uint32_t nbt; const wm_instance *bt_inst[32]; uint32_t bt_func[32];
    /* owned objects */
    wm_instance *instances;
    void **objs; uint32_t nobjs, cap_objs;   /* funcs/memories/tables/globals to free */
};

/* The signal that stops no-limits AOT code (src/aot/aot.c sets it when it installs the handler), or 0. */
extern int g_interrupt_signo;

/* Called by exec when fuel_left drops below zero: returns WM_TRAP_NONE after refilling,
 * or OUT_OF_FUEL / DEADLINE / INTERRUPTED. */
wm_trap wm_store_fuel_slow(wm_store *s);

/* Calls a host function with arguments in cells[0..param_cells); writes results to cells[0..). */
wm_trap wm_call_host(wm_store *s, wm_func *f, wm_instance *caller_inst, uint64_t *cells);

/* src/interp/exec.c: runs wasm function f with a frame at fp (arguments already in place).
 * Returns WM_TRAP_NONE with results in fp[0..result_cells), or the trap. s->depth is restored
 * on return either way. */
wm_trap wm_interp_run(wm_store *s, wm_func *f, uint64_t *fp);

/* Minimum bytes of address space reserved per memory (the AOT tier raises it for guard pages). */
extern uint64_t wm_mem_reserve_min;

/* Grows a memory by delta pages, honouring its cap. Returns old pages or -1. */
int32_t wm_memory_grow_internal(wm_memory *mem, uint32_t delta);
int32_t wm_table_grow_internal(wm_table *t, uint32_t delta, void *init);

#endif
