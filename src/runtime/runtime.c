/* runtime.c — engine, store, instantiation, linking, host objects and calls: the parts of
 * wasmind.h that are not decoding or execution. */
#define _GNU_SOURCE
#include "runtime.h"
#include "../aot/aot.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUEL_CHUNK (1 << 20)   /* loop iterations between deadline/interrupt checks */

uint64_t wm_mem_reserve_min = 0;

static void *xcalloc(size_t n, size_t sz) { return (n && sz) ? calloc(n, sz) : calloc(1, 1); }

const char *wm_trap_message(wm_trap trap)
{
    switch (trap) {
    case WM_TRAP_NONE: return "no trap";
    case WM_TRAP_UNREACHABLE: return "unreachable";
    case WM_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case WM_TRAP_TABLE_OOB: return "out of bounds table access";
    case WM_TRAP_DIV_ZERO: return "integer divide by zero";
    case WM_TRAP_INT_OVERFLOW: return "integer overflow";
    case WM_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WM_TRAP_UNDEFINED_ELEMENT: return "undefined element";
    case WM_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized element";
    case WM_TRAP_INDIRECT_CALL_TYPE: return "indirect call type mismatch";
    case WM_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
    case WM_TRAP_OUT_OF_FUEL: return "all fuel consumed";
    case WM_TRAP_DEADLINE: return "deadline exceeded (timeout)";
    case WM_TRAP_INTERRUPTED: return "interrupted";
    case WM_TRAP_HOST: return "host function trapped";
    case WM_TRAP_EXIT: return "exit";
    }
    return "unknown trap";
}

/* ---- engine ------------------------------------------------------------------ */
wm_engine *wm_engine_new(const wm_config *config)
{
    wm_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    if (config) e->config = *config;
    wm_config *c = &e->config;
    if (!c->max_memory_pages || c->max_memory_pages > WM_MAX_PAGES) c->max_memory_pages = WM_MAX_PAGES;
    if (!c->max_table_elems) c->max_table_elems = 10000000;
    if (!c->max_call_depth) c->max_call_depth = 20000;
    if (!c->value_stack_cells) c->value_stack_cells = 4u << 20;
    return e;
}

void wm_engine_free(wm_engine *e)
{
    if (!e) return;
    for (uint32_t i = 0; i < e->ntypes; i++) free(e->types[i].sig);
    free(e->types);
    free(e);
}

const wm_config *wm_engine_config(const wm_engine *e) { return &e->config; }

uint32_t wm_engine_intern_type(wm_engine *e, const uint8_t *params, uint32_t np, const uint8_t *results, uint32_t nr)
{
    for (uint32_t i = 0; i < e->ntypes; i++) {
        struct wm_canon_type *t = &e->types[i];
        if (t->np == np && t->nr == nr && memcmp(t->sig, params, np) == 0 && memcmp(t->sig + np, results, nr) == 0)
            return i;
    }
    if (e->ntypes == e->cap_types) {
        uint32_t cap = e->cap_types ? e->cap_types * 2 : 64;
        void *p = realloc(e->types, cap * sizeof *e->types);
        if (!p) return UINT32_MAX;
        e->types = p; e->cap_types = cap;
    }
    struct wm_canon_type *t = &e->types[e->ntypes];
    t->sig = malloc((size_t)np + nr + 1);
    if (!t->sig) return UINT32_MAX;
    if (np) memcpy(t->sig, params, np);
    if (nr) memcpy(t->sig + np, results, nr);
    t->np = np; t->nr = nr;
    return e->ntypes++;
}

/* ---- store -------------------------------------------------------------------- */
wm_store *wm_store_new(wm_engine *engine)
{
    wm_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->engine = engine;
    const wm_config *c = &engine->config;
    s->stack = calloc(c->value_stack_cells, sizeof(uint64_t));
    s->frames = calloc(c->max_call_depth + 1, sizeof(wm_frame));
    if (!s->stack || !s->frames) { free(s->stack); free(s->frames); free(s); return NULL; }
    s->stack_end = s->stack + c->value_stack_cells;
    s->sp = s->stack;
    s->max_depth = c->max_call_depth;
    s->fuel_limit = c->fuel;
    s->deadline_ms = c->deadline_ms;
    return s;
}

static bool store_track(wm_store *s, void *obj)
{
    if (s->nobjs == s->cap_objs) {
        uint32_t cap = s->cap_objs ? s->cap_objs * 2 : 64;
        void *p = realloc(s->objs, cap * sizeof *s->objs);
        if (!p) return false;
        s->objs = p; s->cap_objs = cap;
    }
    s->objs[s->nobjs++] = obj;
    return true;
}

/* Every object the store owns starts with a tag so the store can free it. */
enum obj_tag { OBJ_FUNC = 1, OBJ_MEMORY, OBJ_TABLE, OBJ_GLOBAL };
typedef struct obj_header { int tag; } obj_header;
typedef struct func_obj { obj_header h; struct wm_func f; } func_obj;
typedef struct memory_obj { obj_header h; struct wm_memory m; } memory_obj;
typedef struct table_obj { obj_header h; struct wm_table t; } table_obj;
typedef struct global_obj { obj_header h; struct wm_global g; } global_obj;

static void memory_release(wm_memory *m)
{
    if (m->reserved) munmap(m->data, m->reserved);
}

void wm_store_free(wm_store *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->nobjs; i++) {
        obj_header *h = s->objs[i];
        switch (h->tag) {
        case OBJ_FUNC: {
            wm_func *f = &((func_obj *)h)->f;
            if (f->finalizer) f->finalizer(f->env);
            free(f->own_type.params);
            break;
        }
        case OBJ_MEMORY: memory_release(&((memory_obj *)h)->m); break;
        case OBJ_TABLE: free(((table_obj *)h)->t.elems); break;
        default: break;
        }
        free(h);
    }
    free(s->objs);
    for (wm_instance *in = s->instances, *next; in; in = next) {
        next = in->next;
        free(in->funcs); free(in->tables); free(in->mems); free(in->globals);
        free(in->elem_dropped); free(in->data_dropped);
        free(in->aot_ctx);
        free(in);
    }
    free(s->stack);
    free(s->frames);
    free(s);
}

void wm_store_set_fuel(wm_store *s, uint64_t fuel) { s->fuel_limit = fuel; s->fuel_used_before = 0; }
uint64_t wm_store_fuel_consumed(const wm_store *s)
{
    int64_t in_chunk = s->fuel_chunk - (s->fuel_left > 0 ? s->fuel_left : 0);
    return s->fuel_used_before + (uint64_t)(in_chunk > 0 ? in_chunk : 0);
}
void wm_store_set_deadline_ms(wm_store *s, uint64_t ms) { s->deadline_ms = ms; }
/* Async-signal-safe. Interpreted and checked AOT code see the flag at their next poll; no-limits AOT code polls
 * nothing, so the thread running it gets a signal (src/aot/aot.c: the handler unwinds the guest, or keeps
 * re-sending until it can). The flag is set before the thread id is read, and the runner publishes its id
 * before it reads the flag: one of the two sees the other. */
void wm_store_interrupt(wm_store *s)
{
    s->interrupt = 1; s->aot_limits = 1; s->fuel_left = -1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int tid = __atomic_load_n(&s->aot_tid, __ATOMIC_SEQ_CST);
    int signo = __atomic_load_n(&g_interrupt_signo, __ATOMIC_ACQUIRE);
    if (tid && signo) {
        int saved = errno;
        syscall(SYS_tgkill, (long)getpid(), (long)tid, (long)signo);
        errno = saved;
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fuel_refill(wm_store *s)
{
    int64_t chunk = FUEL_CHUNK;
    if (s->fuel_limit) {
        uint64_t left = s->fuel_limit > s->fuel_used_before ? s->fuel_limit - s->fuel_used_before : 0;
        if ((uint64_t)chunk > left) chunk = (int64_t)left;
    }
    s->fuel_chunk = chunk;
    s->fuel_left = chunk;
}

wm_trap wm_store_should_stop(wm_store *s)
{
    if (s->interrupt) { s->interrupt = 0; return WM_TRAP_INTERRUPTED; }
    if (s->deadline_ns && now_ns() >= s->deadline_ns) return WM_TRAP_DEADLINE;
    return WM_TRAP_NONE;
}

wm_trap wm_store_fuel_slow(wm_store *s)
{
    /* The whole chunk was used, and the charge that brought us here is one more unit. */
    s->fuel_used_before += (uint64_t)s->fuel_chunk;
    if (s->interrupt) { s->interrupt = 0; fuel_refill(s); return WM_TRAP_INTERRUPTED; }
    if (s->deadline_ns && now_ns() >= s->deadline_ns) return WM_TRAP_DEADLINE;
    if (s->fuel_limit && s->fuel_used_before + 1 > s->fuel_limit) {
        s->fuel_used_before = s->fuel_limit;
        s->fuel_chunk = 0; s->fuel_left = 0;
        return WM_TRAP_OUT_OF_FUEL;
    }
    fuel_refill(s);
    s->fuel_left -= 1;   /* the current charge */
    return WM_TRAP_NONE;
}

/* ---- modules ---------------------------------------------------------------------- */
wm_module *wm_module_new(wm_engine *engine, const uint8_t *bytes, size_t len, wm_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    if (!bytes && len) { wm_fail(err, WM_ERR_ARGUMENT, 0, "no module bytes"); return NULL; }
    return wm_decode_module(engine, bytes, len, err);
}

void wm_module_free(wm_module *m)
{
    if (!m) return;
    if (m->aot) wm_aot_release(m->aot);
    wm_module_destroy(m);
}

/* ---- values <-> cells -------------------------------------------------------------- */
static void val_to_cells(const wm_val *v, uint64_t *c)
{
    switch (v->type) {
    case WM_I32: c[0] = (uint32_t)v->of.i32; break;
    case WM_F32: c[0] = v->of.f32_bits; break;
    case WM_I64: c[0] = (uint64_t)v->of.i64; break;
    case WM_F64: c[0] = v->of.f64_bits; break;
    case WM_V128: memcpy(c, v->of.v128, 16); break;
    case WM_FUNCREF: c[0] = (uint64_t)(uintptr_t)v->of.funcref; break;
    default: c[0] = (uint64_t)(uintptr_t)v->of.externref; break;
    }
}

static void cells_to_val(uint8_t type, const uint64_t *c, wm_val *v)
{
    memset(v, 0, sizeof *v);
    v->type = type;
    switch (type) {
    case WM_I32: v->of.i32 = (int32_t)(uint32_t)c[0]; break;
    case WM_F32: v->of.f32_bits = (uint32_t)c[0]; break;
    case WM_I64: v->of.i64 = (int64_t)c[0]; break;
    case WM_F64: v->of.f64_bits = c[0]; break;
    case WM_V128: memcpy(v->of.v128, c, 16); break;
    case WM_FUNCREF: v->of.funcref = (wm_func *)(uintptr_t)c[0]; break;
    default: v->of.externref = (void *)(uintptr_t)c[0]; break;
    }
}

/* ---- host functions ------------------------------------------------------------------ */
static void type_cells(wm_type *t)
{
    t->param_cells = t->result_cells = 0;
    for (uint32_t i = 0; i < t->nparams; i++) t->param_cells += wm_valtype_cells(t->params[i]);
    for (uint32_t i = 0; i < t->nresults; i++) t->result_cells += wm_valtype_cells(t->results[i]);
}

wm_func *wm_func_new(wm_store *s, const wm_functype *type, wm_host_fn fn, void *env, void (*finalizer)(void *))
{
    func_obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->h.tag = OBJ_FUNC;
    wm_func *f = &o->f;
    uint8_t *sig = malloc((size_t)type->nparams + type->nresults + 1);
    if (!sig || !store_track(s, o)) { free(sig); free(o); return NULL; }
    if (type->nparams) memcpy(sig, type->params, type->nparams);
    if (type->nresults) memcpy(sig + type->nparams, type->results, type->nresults);
    f->own_type.params = sig;
    f->own_type.results = sig + type->nparams;
    f->own_type.nparams = type->nparams;
    f->own_type.nresults = type->nresults;
    type_cells(&f->own_type);
    f->own_type.canon_id = wm_engine_intern_type(s->engine, sig, type->nparams, sig + type->nparams, type->nresults);
    f->type = &f->own_type;
    f->type_id = f->own_type.canon_id;
    f->host = fn; f->env = env; f->finalizer = finalizer;
    return f;
}

wm_functype wm_func_type(const wm_func *f)
{
    wm_functype t = { f->type->nparams, f->type->nresults, f->type->params, f->type->results };
    return t;
}

wm_trap wm_call_host(wm_store *s, wm_func *f, wm_instance *caller_inst, uint64_t *cells)
{
    const wm_type *t = f->type;
    wm_val argv_small[8], resv_small[8];
    wm_val *argv = t->nparams <= 8 ? argv_small : malloc(t->nparams * sizeof(wm_val));
    wm_val *resv = t->nresults <= 8 ? resv_small : malloc(t->nresults * sizeof(wm_val));
    if (!argv || !resv) {
        if (argv != argv_small) free(argv);
        if (resv != resv_small) free(resv);
        snprintf(s->trap_msg, sizeof s->trap_msg, "out of host memory calling a host function");
        return WM_TRAP_HOST;
    }
    const uint64_t *c = cells;
    for (uint32_t i = 0; i < t->nparams; i++) { cells_to_val(t->params[i], c, &argv[i]); c += wm_valtype_cells(t->params[i]); }
    for (uint32_t i = 0; i < t->nresults; i++) { memset(&resv[i], 0, sizeof resv[i]); resv[i].type = t->results[i]; }
    /* A host function may call back into wasm: new frames go above this call's cells. */
    uint64_t *saved_sp = s->sp;
    uint32_t span = t->param_cells > t->result_cells ? t->param_cells : t->result_cells;
    s->sp = cells + span;
    struct wm_caller caller = { s, caller_inst };
    s->trap_msg[0] = 0;
    wm_trap trap = f->host(&caller, f->env, argv, resv);
    s->sp = saved_sp;
    if (trap == WM_TRAP_NONE) {
        uint64_t *o = cells;
        for (uint32_t i = 0; i < t->nresults; i++) { resv[i].type = t->results[i]; val_to_cells(&resv[i], o); o += wm_valtype_cells(t->results[i]); }
    }
    if (argv != argv_small) free(argv);
    if (resv != resv_small) free(resv);
    return trap;
}

wm_memory *wm_caller_memory(wm_caller *c) { return c->inst && c->inst->module->nmems ? c->inst->mems[0] : NULL; }
wm_store *wm_caller_store(wm_caller *c) { return c->store; }
wm_instance *wm_caller_instance(wm_caller *c) { return c->inst; }

wm_trap wm_caller_trap(wm_caller *c, wm_trap trap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->store->trap_msg, sizeof c->store->trap_msg, fmt, ap);
    va_end(ap);
    return trap;
}

wm_trap wm_caller_exit(wm_caller *c, int32_t code)
{
    c->store->exit_code = code;
    return WM_TRAP_EXIT;
}

/* ---- memories ---------------------------------------------------------------------- */
static bool memory_init(wm_store *s, wm_memory *m, wm_limits lim, wm_error *err)
{
    uint32_t cap = s->engine->config.max_memory_pages;
    if (lim.has_max && lim.max < cap) cap = lim.max;
    if (lim.min > cap)
        return wm_fail(err, WM_ERR_RESOURCE, 0, "memory of %u pages exceeds the limit of %u pages", lim.min, cap);
    m->type = lim;
    m->max_pages = cap;
    /* Reserve the whole capped size once: growing never moves memory, so host pointers stay
     * valid and the interpreter never copies. Untouched pages cost nothing. */
    uint64_t reserve = (uint64_t)(cap ? cap : 1) * WM_PAGE_SIZE;
    if (reserve < wm_mem_reserve_min) reserve = wm_mem_reserve_min;
    void *p = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return wm_fail(err, WM_ERR_RESOURCE, 0, "cannot reserve %llu bytes for a memory: %s", (unsigned long long)reserve, strerror(errno));
    m->data = p;
    m->reserved = reserve;
    m->pages = 0; m->size = 0;
    if (lim.min && wm_memory_grow_internal(m, lim.min) < 0) {
        munmap(p, reserve); m->reserved = 0;
        return wm_fail(err, WM_ERR_RESOURCE, 0, "cannot commit %u pages of memory", lim.min);
    }
    return true;
}

int32_t wm_memory_grow_internal(wm_memory *m, uint32_t delta)
{
    uint32_t old = m->pages;
    if (delta == 0) return (int32_t)old;
    if ((uint64_t)old + delta > m->max_pages) return -1;
    uint64_t newsize = (uint64_t)(old + delta) * WM_PAGE_SIZE;
    if (mprotect(m->data + m->size, newsize - m->size, PROT_READ | PROT_WRITE) != 0) return -1;
    m->pages = old + delta;
    m->size = newsize;
    m->type.min = m->pages;
    return (int32_t)old;
}

wm_memory *wm_memory_new(wm_store *s, wm_limits limits, wm_error *err)
{
    memory_obj *o = calloc(1, sizeof *o);
    if (!o) { wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory"); return NULL; }
    o->h.tag = OBJ_MEMORY;
    if (!memory_init(s, &o->m, limits, err)) { free(o); return NULL; }
    if (!store_track(s, o)) { memory_release(&o->m); free(o); return NULL; }
    return &o->m;
}

uint8_t *wm_memory_data(wm_memory *m) { return m->data; }
uint64_t wm_memory_size(const wm_memory *m) { return m->size; }
uint32_t wm_memory_pages(const wm_memory *m) { return m->pages; }
int32_t wm_memory_grow(wm_memory *m, uint32_t d) { return wm_memory_grow_internal(m, d); }
wm_limits wm_memory_type(const wm_memory *m) { return m->type; }

/* ---- tables ------------------------------------------------------------------------ */
static bool table_init(wm_store *s, wm_table *t, wm_tabletype type, void *init, wm_error *err)
{
    uint32_t cap = s->engine->config.max_table_elems;
    if (type.limits.has_max && type.limits.max < cap) cap = type.limits.max;
    if (type.limits.min > cap)
        return wm_fail(err, WM_ERR_RESOURCE, 0, "table of %u elements exceeds the limit of %u", type.limits.min, cap);
    t->type = type;
    t->max = cap;
    t->size = 0;
    t->elems = NULL;
    if (type.limits.min && wm_table_grow_internal(t, type.limits.min, init) < 0)
        return wm_fail(err, WM_ERR_RESOURCE, 0, "cannot allocate a table of %u elements", type.limits.min);
    return true;
}

int32_t wm_table_grow_internal(wm_table *t, uint32_t delta, void *init)
{
    uint32_t old = t->size;
    if ((uint64_t)old + delta > t->max) return -1;
    if (delta == 0) return (int32_t)old;
    void **e = realloc(t->elems, ((size_t)old + delta) * sizeof *e);
    if (!e) return -1;
    for (uint32_t i = old; i < old + delta; i++) e[i] = init;
    t->elems = e;
    t->size = old + delta;
    t->type.limits.min = t->size;
    return (int32_t)old;
}

wm_table *wm_table_new(wm_store *s, wm_tabletype type, void *init, wm_error *err)
{
    table_obj *o = calloc(1, sizeof *o);
    if (!o) { wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory"); return NULL; }
    o->h.tag = OBJ_TABLE;
    if (!table_init(s, &o->t, type, init, err)) { free(o->t.elems); free(o); return NULL; }
    if (!store_track(s, o)) { free(o->t.elems); free(o); return NULL; }
    return &o->t;
}

uint32_t wm_table_size(const wm_table *t) { return t->size; }
bool wm_table_get(const wm_table *t, uint32_t i, wm_val *out)
{
    if (i >= t->size) return false;
    memset(out, 0, sizeof *out);
    out->type = t->type.elem;
    if (t->type.elem == WM_FUNCREF) out->of.funcref = t->elems[i]; else out->of.externref = t->elems[i];
    return true;
}
bool wm_table_set(wm_table *t, uint32_t i, wm_val v)
{
    if (i >= t->size || v.type != t->type.elem) return false;
    t->elems[i] = v.type == WM_FUNCREF ? (void *)v.of.funcref : v.of.externref;
    return true;
}
int32_t wm_table_grow(wm_table *t, uint32_t delta, void *init) { return wm_table_grow_internal(t, delta, init); }
wm_tabletype wm_table_type(const wm_table *t) { return t->type; }

/* ---- globals ------------------------------------------------------------------------- */
wm_global *wm_global_new(wm_store *s, wm_globaltype type, wm_val init)
{
    global_obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->h.tag = OBJ_GLOBAL;
    if (!store_track(s, o)) { free(o); return NULL; }
    o->g.type = type;
    uint64_t c[2] = {0, 0};
    init.type = type.type;
    val_to_cells(&init, c);
    memcpy(o->g.v.v128, c, 16);
    return &o->g;
}

wm_val wm_global_get(const wm_global *g)
{
    wm_val v;
    uint64_t c[2];
    memcpy(c, g->v.v128, 16);
    cells_to_val(g->type.type, c, &v);
    return v;
}

bool wm_global_set(wm_global *g, wm_val v)
{
    if (!g->type.is_mutable || v.type != g->type.type) return false;
    uint64_t c[2] = {0, 0};
    val_to_cells(&v, c);
    memcpy(g->v.v128, c, 16);
    return true;
}
wm_globaltype wm_global_type(const wm_global *g) { return g->type; }

/* ---- instantiation -------------------------------------------------------------------- */
static bool limits_match(wm_limits have, wm_limits want)
{
    if (have.min < want.min) return false;
    if (want.has_max) {
        if (!have.has_max || have.max > want.max) return false;
    }
    return true;
}

static const char *kind_name(wm_externkind k)
{
    static const char *n[] = { "function", "table", "memory", "global" };
    return k <= WM_EXTERN_GLOBAL ? n[k] : "?";
}

static bool check_import(const wm_module *m, uint32_t i, const wm_extern *ext, wm_error *err)
{
    const wm_import *im = &m->imports[i];
    if (ext->kind != im->kind)
        return wm_fail(err, WM_ERR_UNLINKABLE, 0, "incompatible import type: %s.%s expects a %s, got a %s",
                       im->module, im->name, kind_name(im->kind), kind_name(ext->kind));
    switch (im->kind) {
    case WM_EXTERN_FUNC:
        if (!ext->of.func || ext->of.func->type_id != m->types[im->type_index].canon_id)
            return wm_fail(err, WM_ERR_UNLINKABLE, 0, "incompatible import type: function %s.%s has the wrong signature", im->module, im->name);
        break;
    case WM_EXTERN_TABLE: {
        wm_table *t = ext->of.table;
        wm_limits have = { t->size, t->type.limits.max, t->type.limits.has_max };
        if (t->type.elem != im->table.elem || !limits_match(have, im->table.limits))
            return wm_fail(err, WM_ERR_UNLINKABLE, 0, "incompatible import type: table %s.%s", im->module, im->name);
        break;
    }
    case WM_EXTERN_MEMORY: {
        wm_memory *mem = ext->of.memory;
        wm_limits have = { mem->pages, mem->type.max, mem->type.has_max };
        if (!limits_match(have, im->memory))
            return wm_fail(err, WM_ERR_UNLINKABLE, 0, "incompatible import type: memory %s.%s", im->module, im->name);
        break;
    }
    case WM_EXTERN_GLOBAL:
        if (ext->of.global->type.type != im->global.type || ext->of.global->type.is_mutable != im->global.is_mutable)
            return wm_fail(err, WM_ERR_UNLINKABLE, 0, "incompatible import type: global %s.%s", im->module, im->name);
        break;
    }
    return true;
}

static void eval_const(const wm_instance *in, const wm_constexpr *e, uint64_t c[2])
{
    c[0] = c[1] = 0;
    switch (e->op) {
    case WM_CONST_I32: case WM_CONST_F32: c[0] = e->value.u32; break;
    case WM_CONST_I64: case WM_CONST_F64: c[0] = e->value.u64; break;
    case WM_CONST_V128: memcpy(c, e->value.v128, 16); break;
    case WM_CONST_REF_NULL: break;
    case WM_CONST_REF_FUNC: c[0] = (uint64_t)(uintptr_t)in->funcs[e->index]; break;
    case WM_CONST_GLOBAL_GET: memcpy(c, in->globals[e->index]->v.v128, 16); break;
    }
}

static void *eval_ref(const wm_instance *in, const wm_constexpr *e)
{
    uint64_t c[2];
    eval_const(in, e, c);
    return (void *)(uintptr_t)c[0];
}

static wm_status run_start(wm_store *s, wm_func *f, wm_error *err)
{
    return wm_func_call(s, f, NULL, 0, NULL, 0, err);
}

wm_instance *wm_instance_new(wm_store *s, const wm_module *m, const wm_extern *imports, uint32_t nimports, wm_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    if (m->bodies_pending && !m->aot) {   /* only AOT code may run a module whose bodies were left untranslated */
        wm_fail(err, WM_ERR_ARGUMENT, 0, "module bodies not translated (internal error)");
        return NULL;
    }
    if (nimports != m->nimports) {
        wm_fail(err, WM_ERR_UNLINKABLE, 0, "module needs %u imports, %u given", m->nimports, nimports);
        return NULL;
    }
    for (uint32_t i = 0; i < nimports; i++)
        if (!check_import(m, i, &imports[i], err)) return NULL;

    wm_instance *in = calloc(1, sizeof *in);
    if (!in) { wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory"); return NULL; }
    in->store = s;
    in->module = m;
    in->funcs = xcalloc(m->nfuncs, sizeof *in->funcs);
    in->tables = xcalloc(m->ntables, sizeof *in->tables);
    in->mems = xcalloc(m->nmems, sizeof *in->mems);
    in->globals = xcalloc(m->nglobals, sizeof *in->globals);
    in->elem_dropped = xcalloc(m->nelems, 1);
    in->data_dropped = xcalloc(m->ndatas, 1);
    /* The store owns the instance from here on, even if instantiation fails later: objects
     * it created may already be referenced from imported tables. */
    in->next = s->instances;
    s->instances = in;
    if (!in->funcs || !in->tables || !in->mems || !in->globals || !in->elem_dropped || !in->data_dropped) {
        wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory");
        return NULL;
    }
    uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
    for (uint32_t i = 0; i < nimports; i++) {
        switch (imports[i].kind) {
        case WM_EXTERN_FUNC: in->funcs[fi++] = imports[i].of.func; break;
        case WM_EXTERN_TABLE: in->tables[ti++] = imports[i].of.table; break;
        case WM_EXTERN_MEMORY: in->mems[mi++] = imports[i].of.memory; break;
        case WM_EXTERN_GLOBAL: in->globals[gi++] = imports[i].of.global; break;
        }
    }
    for (uint32_t d = 0; d < m->nfuncdefs; d++, fi++) {
        func_obj *o = calloc(1, sizeof *o);
        if (!o || !store_track(s, o)) { free(o); wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory"); return NULL; }
        o->h.tag = OBJ_FUNC;
        wm_func *f = &o->f;
        f->type = &m->types[m->funcdefs[d].type_index];
        f->type_id = f->type->canon_id;
        f->inst = in;
        f->code = &m->funcdefs[d].code;
        f->funcidx = fi;
        in->funcs[fi] = f;
    }
    for (; gi < m->nglobals; gi++) {
        const wm_globaldef *gd = &m->globaldefs[gi - m->nglobal_imports];
        global_obj *o = calloc(1, sizeof *o);
        if (!o || !store_track(s, o)) { free(o); wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory"); return NULL; }
        o->h.tag = OBJ_GLOBAL;
        o->g.type = gd->type;
        uint64_t c[2];
        eval_const(in, &gd->init, c);
        memcpy(o->g.v.v128, c, 16);
        in->globals[gi] = &o->g;
    }
    for (; ti < m->ntables; ti++) {
        in->tables[ti] = wm_table_new(s, m->tables[ti], NULL, err);
        if (!in->tables[ti]) return NULL;
    }
    for (; mi < m->nmems; mi++) {
        in->mems[mi] = wm_memory_new(s, m->mems[mi], err);
        if (!in->mems[mi]) return NULL;
    }
    if (m->aot && !wm_aot_instance_init(in, err)) return NULL;
    /* Element segments, then data segments, in order; a failure keeps earlier effects. */
    for (uint32_t e = 0; e < m->nelems; e++) {
        const wm_elemseg *seg = &m->elems[e];
        if (seg->mode == WM_SEG_ACTIVE) {
            wm_table *t = in->tables[seg->table];
            uint64_t c[2];
            eval_const(in, &seg->offset, c);
            uint32_t off = (uint32_t)c[0];
            if ((uint64_t)off + seg->count > t->size) {
                wm_fail(err, WM_ERR_TRAP, 0, "out of bounds table access: element segment %u at %u+%u exceeds table size %u", e, off, seg->count, t->size);
                if (err) err->trap = WM_TRAP_TABLE_OOB;
                return NULL;
            }
            for (uint32_t k = 0; k < seg->count; k++) t->elems[off + k] = eval_ref(in, &seg->items[k]);
        }
        if (seg->mode != WM_SEG_PASSIVE) in->elem_dropped[e] = 1;
    }
    for (uint32_t d = 0; d < m->ndatas; d++) {
        const wm_dataseg *seg = &m->datas[d];
        if (seg->mode != WM_SEG_ACTIVE) continue;
        wm_memory *mem = in->mems[seg->memory];
        uint64_t c[2];
        eval_const(in, &seg->offset, c);
        uint32_t off = (uint32_t)c[0];
        if ((uint64_t)off + seg->len > mem->size) {
            wm_fail(err, WM_ERR_TRAP, 0, "out of bounds memory access: data segment %u at %u+%u exceeds memory size %llu", d, off, seg->len, (unsigned long long)mem->size);
            if (err) err->trap = WM_TRAP_MEMORY_OOB;
            return NULL;
        }
        if (seg->len) memcpy(mem->data + off, seg->bytes, seg->len);
        in->data_dropped[d] = 1;
    }
    if (m->has_start) {
        wm_status st = run_start(s, in->funcs[m->start], err);
        if (st != WM_OK) return NULL;
    }
    return in;
}

static bool export_extern(const wm_instance *in, const wm_export *ex, wm_extern *out)
{
    out->kind = ex->kind;
    switch (ex->kind) {
    case WM_EXTERN_FUNC: out->of.func = in->funcs[ex->index]; break;
    case WM_EXTERN_TABLE: out->of.table = in->tables[ex->index]; break;
    case WM_EXTERN_MEMORY: out->of.memory = in->mems[ex->index]; break;
    case WM_EXTERN_GLOBAL: out->of.global = in->globals[ex->index]; break;
    default: return false;
    }
    return true;
}

bool wm_instance_export_bytes(const wm_instance *in, const char *name, size_t len, wm_extern *out)
{
    const wm_module *m = in->module;
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].name_len == len && memcmp(m->exports[i].name, name, len) == 0)
            return export_extern(in, &m->exports[i], out);
    return false;
}

bool wm_instance_export(const wm_instance *in, const char *name, wm_extern *out)
{
    return wm_instance_export_bytes(in, name, strlen(name), out);
}

uint32_t wm_instance_export_count(const wm_instance *in) { return in->module->nexports; }

bool wm_instance_export_at(const wm_instance *in, uint32_t i, const char **name, wm_extern *out)
{
    if (i >= in->module->nexports) return false;
    if (name) *name = in->module->exports[i].name;
    return export_extern(in, &in->module->exports[i], out);
}

const wm_module *wm_instance_module(const wm_instance *in) { return in->module; }

/* ---- calls ------------------------------------------------------------------------------ */
wm_status wm_func_call(wm_store *s, wm_func *f, const wm_val *args, uint32_t nargs,
                       wm_val *results, uint32_t nresults, wm_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    const wm_type *t = f->type;
    if (nargs != t->nparams || nresults < t->nresults) {
        wm_fail(err, WM_ERR_ARGUMENT, 0, "function takes %u arguments and returns %u results; called with %u arguments and room for %u results",
                t->nparams, t->nresults, nargs, nresults);
        return WM_ERR_ARGUMENT;
    }
    for (uint32_t i = 0; i < nargs; i++)
        if (args[i].type != t->params[i]) {
            wm_fail(err, WM_ERR_ARGUMENT, 0, "argument %u has the wrong type", i);
            return WM_ERR_ARGUMENT;
        }
    uint64_t *fp = s->sp;
    uint32_t need = t->param_cells > t->result_cells ? t->param_cells : t->result_cells;
    if (fp + need + 2 > s->stack_end) {
        wm_fail(err, WM_ERR_TRAP, 0, "call stack exhausted");
        if (err) err->trap = WM_TRAP_STACK_EXHAUSTED;
        return WM_ERR_TRAP;
    }
    uint64_t *c = fp;
    for (uint32_t i = 0; i < nargs; i++) { val_to_cells(&args[i], c); c += wm_valtype_cells(t->params[i]); }

    bool outermost = s->depth == 0 && s->sp == s->stack;
    if (outermost) {
        s->deadline_ns = s->deadline_ms ? now_ns() + s->deadline_ms * 1000000ull : 0;
        if (s->fuel_limit == 0 || s->fuel_used_before < s->fuel_limit) fuel_refill(s);
        if (s->deadline_ns && s->fuel_chunk > 65536) { s->fuel_chunk = 65536; s->fuel_left = 65536; }
        s->nbt = 0;
    }
    s->trap = WM_TRAP_NONE;
    s->trap_msg[0] = 0;
    wm_trap trap;
    if (f->aot_tramp) {
        trap = wm_aot_call(s, f, fp);
    } else if (f->host) {
        trap = wm_call_host(s, f, NULL, fp);
    } else {
        uint64_t *saved_sp = s->sp;
        trap = wm_interp_run(s, f, fp);
        s->sp = saved_sp;
    }
    if (outermost) {
        /* Account for what was used of the current chunk so the next call starts fresh. */
        if (s->fuel_chunk > 0) {
            int64_t used = s->fuel_chunk - (s->fuel_left > 0 ? s->fuel_left : 0);
            s->fuel_used_before += (uint64_t)(used > 0 ? used : 0);
            s->fuel_chunk = 0; s->fuel_left = 0;
        }
    }
    if (trap != WM_TRAP_NONE) {
        s->trap = trap;
        if (trap == WM_TRAP_EXIT) {
            if (err) { err->status = WM_ERR_EXIT; err->exit_code = s->exit_code; snprintf(err->message, sizeof err->message, "exit with code %d", s->exit_code); }
            return WM_ERR_EXIT;
        }
        if (err) {
            err->status = WM_ERR_TRAP;
            err->trap = trap;
            if (s->trap_msg[0])
                snprintf(err->message, sizeof err->message, "%s: %s", wm_trap_message(trap), s->trap_msg);
            else
                snprintf(err->message, sizeof err->message, "%s", wm_trap_message(trap));
        }
        return WM_ERR_TRAP;
    }
    c = fp;
    for (uint32_t i = 0; i < t->nresults; i++) { cells_to_val(t->results[i], c, &results[i]); c += wm_valtype_cells(t->results[i]); }
    return WM_OK;
}

uint32_t wm_store_backtrace(const wm_store *s, const wm_instance **insts, uint32_t *funcidx, uint32_t max)
{
    uint32_t n = s->nbt < max ? s->nbt : max;
    for (uint32_t i = 0; i < n; i++) {
        if (insts) insts[i] = s->bt_inst[i];
        if (funcidx) funcidx[i] = s->bt_func[i];
    }
    return n;
}

/* ---- linker ------------------------------------------------------------------------------ */
/* Entries in definition order, plus an open-addressing index on (module, name): WASI alone defines ~90 names,
 * and a linear search per definition and per import was a visible part of a cold start. */
typedef struct link_entry { char *module, *name; uint32_t hash; wm_extern ext; } link_entry;
struct wm_linker { wm_store *store; link_entry *e; uint32_t n, cap; uint32_t *index, index_cap; /* entry+1, 0 = empty */ };

wm_linker *wm_linker_new(wm_store *s)
{
    wm_linker *l = calloc(1, sizeof *l);
    if (l) l->store = s;
    return l;
}

void wm_linker_free(wm_linker *l)
{
    if (!l) return;
    for (uint32_t i = 0; i < l->n; i++) { free(l->e[i].module); free(l->e[i].name); }
    free(l->e);
    free(l->index);
    free(l);
}

static uint32_t link_hash(const char *module, const char *name)
{
    uint32_t h = 2166136261u;   /* FNV-1a over "module\0name" */
    for (const char *p = module; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0) * 16777619u;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

/* The index slot holding (module, name), or the empty slot where it would go. index_cap is a power of two. */
static uint32_t *link_slot(const wm_linker *l, const char *module, const char *name, uint32_t h)
{
    for (uint32_t i = h & (l->index_cap - 1);; i = (i + 1) & (l->index_cap - 1)) {
        uint32_t *slot = &l->index[i];
        if (!*slot) return slot;
        const link_entry *e = &l->e[*slot - 1];
        if (e->hash == h && strcmp(e->module, module) == 0 && strcmp(e->name, name) == 0) return slot;
    }
}

static bool link_reindex(wm_linker *l, uint32_t cap)
{
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx) return false;
    free(l->index);
    l->index = idx;
    l->index_cap = cap;
    for (uint32_t i = 0; i < l->n; i++) *link_slot(l, l->e[i].module, l->e[i].name, l->e[i].hash) = i + 1;
    return true;
}

bool wm_linker_define(wm_linker *l, const char *module, const char *name, wm_extern ext)
{
    if (2 * (l->n + 1) > l->index_cap && !link_reindex(l, l->index_cap ? 2 * l->index_cap : 64)) return false;
    uint32_t h = link_hash(module, name);
    uint32_t *slot = link_slot(l, module, name, h);
    if (*slot) { l->e[*slot - 1].ext = ext; return true; }
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 32;
        void *p = realloc(l->e, cap * sizeof *l->e);
        if (!p) return false;
        l->e = p; l->cap = cap;
    }
    link_entry *e = &l->e[l->n];
    e->module = strdup(module);
    e->name = strdup(name);
    if (!e->module || !e->name) { free(e->module); free(e->name); return false; }
    e->hash = h;
    e->ext = ext;
    *slot = ++l->n;
    return true;
}

bool wm_linker_define_instance(wm_linker *l, const char *module, const wm_instance *in)
{
    for (uint32_t i = 0; i < in->module->nexports; i++) {
        wm_extern ext;
        if (!export_extern(in, &in->module->exports[i], &ext)) return false;
        if (!wm_linker_define(l, module, in->module->exports[i].name, ext)) return false;
    }
    return true;
}

bool wm_linker_get(const wm_linker *l, const char *module, const char *name, wm_extern *out)
{
    if (!l->n) return false;
    const uint32_t *slot = link_slot(l, module, name, link_hash(module, name));
    if (!*slot) return false;
    *out = l->e[*slot - 1].ext;
    return true;
}

wm_instance *wm_linker_instantiate(wm_linker *l, const wm_module *m, wm_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    wm_extern *ext = xcalloc(m->nimports, sizeof *ext);
    if (!ext) { wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory"); return NULL; }
    for (uint32_t i = 0; i < m->nimports; i++) {
        if (!wm_linker_get(l, m->imports[i].module, m->imports[i].name, &ext[i])) {
            wm_fail(err, WM_ERR_UNLINKABLE, 0, "unknown import: %s.%s (%s)", m->imports[i].module, m->imports[i].name, kind_name(m->imports[i].kind));
            free(ext);
            return NULL;
        }
    }
    wm_instance *in = wm_instance_new(l->store, m, ext, m->nimports, err);
    free(ext);
    return in;
}
