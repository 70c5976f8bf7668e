/* aot_prelude.h — the ABI between the runtime and AOT-generated C code (src/aot), plus the scalar
 * helpers generated code calls. Embedded verbatim at the top of every generated translation unit
 * (see aot.c) and included by aot.c itself, so both sides agree on the layout. Keep it self-contained. */
#ifndef WM_AOT_PRELUDE_H
#define WM_AOT_PRELUDE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define WM_AOT_ABI_VERSION 6u
#define WM_SIMD_VECTOR_ABI 1   /* simd.h, included after this: wm_v128 travels in vector registers */
#define WM_AOT_MAGIC 0x544F414Du /* "MAOT" */

/* Trap codes: the values of wm_trap in wasmind.h (checked by aot.c). */
#define WM_AOT_TRAP_UNREACHABLE 1
#define WM_AOT_TRAP_MEMORY_OOB 2
#define WM_AOT_TRAP_TABLE_OOB 3
#define WM_AOT_TRAP_DIV_ZERO 4
#define WM_AOT_TRAP_INT_OVERFLOW 5
#define WM_AOT_TRAP_INVALID_CONVERSION 6
#define WM_AOT_TRAP_UNDEFINED_ELEMENT 7
#define WM_AOT_TRAP_UNINITIALIZED_ELEMENT 8
#define WM_AOT_TRAP_INDIRECT_CALL_TYPE 9
#define WM_AOT_TRAP_STACK_EXHAUSTED 10

typedef struct wm_aot_ctx wm_aot_ctx;

/* The leading fields of the runtime's wm_func, wm_table and wm_memory (runtime.h). */
typedef struct wm_aot_fhead {
    uint32_t type_id;
    void *aot_fn;        /* typed C function: RET fn(wm_aot_ctx *, params..., [uint64_t *results]) */
    void *aot_ctx;       /* its wm_aot_ctx */
    void *aot_tramp;     /* void tramp(void *fn, wm_aot_ctx *ctx, uint64_t *cells) */
} wm_aot_fhead;
typedef struct wm_aot_thead { void **elems; uint32_t size, max; } wm_aot_thead;
typedef struct wm_aot_mhead { uint8_t *data; uint64_t size; uint32_t pages; } wm_aot_mhead;

/* Runtime services, called through the context (generated code links against nothing). */
typedef struct wm_aot_rt {
    void (*trap)(wm_aot_ctx *ctx, int trap) __attribute__((noreturn));
    void (*fuel)(wm_aot_ctx *ctx);                                   /* refill, or trap */
    void (*call)(wm_aot_ctx *ctx, wm_aot_fhead *f, uint64_t *cells); /* host/interpreted callee */
    uint32_t (*mem_grow)(wm_aot_ctx *ctx, uint32_t delta);
    void (*mem_init)(wm_aot_ctx *ctx, uint32_t seg, uint32_t d, uint32_t s, uint32_t n);
    void (*data_drop)(wm_aot_ctx *ctx, uint32_t seg);
    void (*mem_copy)(wm_aot_ctx *ctx, uint32_t d, uint32_t s, uint32_t n);
    void (*mem_fill)(wm_aot_ctx *ctx, uint32_t d, uint32_t val, uint32_t n);
    void (*table_init)(wm_aot_ctx *ctx, uint32_t seg, uint32_t table, uint32_t d, uint32_t s, uint32_t n);
    void (*elem_drop)(wm_aot_ctx *ctx, uint32_t seg);
    void (*table_copy)(wm_aot_ctx *ctx, uint32_t dt, uint32_t st, uint32_t d, uint32_t s, uint32_t n);
    uint32_t (*table_grow)(wm_aot_ctx *ctx, uint32_t table, uint64_t init, uint32_t n);
    void (*table_fill)(wm_aot_ctx *ctx, uint32_t table, uint32_t i, uint64_t ref, uint32_t n);
    void (*interp)(wm_aot_ctx *ctx, uint32_t funcidx, uint64_t *cells);  /* run a function interpreted */
} wm_aot_rt;

/* Per-instance context, built by the runtime at instantiation. */
struct wm_aot_ctx {
    const wm_aot_rt *rt;
    uint8_t *mem;              /* memory 0 base (never moves; guard-reserved), or NULL */
    wm_aot_mhead *mem0;
    int64_t *fuel_left;        /* &store->fuel_left */
    int *limits;               /* nonzero: charge fuel at loop headers and function entry */
    uint32_t *depth;           /* &store->depth */
    uint32_t max_depth;
    char **stack_limit;        /* lowest safe C stack address */
    wm_aot_fhead **funcs;      /* instance function index space */
    wm_aot_thead **tables;
    uint64_t **globals;        /* each global starts with its value cells */
    const uint32_t *type_ids;  /* canonical signature id of each module type */
    void *store, *inst;        /* runtime-private */
};

/* What a compiled module exports (symbol wm_aot_module). */
typedef struct wm_aot_desc {
    uint32_t magic, abi;
    char key[65];              /* hex SHA-256 of the cache key */
    uint32_t nfuncdefs, ntypes;
    void *const *funcs;        /* typed functions of the defined functions */
    void *const *tramps;       /* trampoline of each module type */
    const char *text_lo, *text_hi;   /* the wasm functions' code (section wm_wasm_text), for backtraces */
    uint32_t flags;            /* WM_AOT_F_*: which code variant this is */
} wm_aot_desc;

/* The checked variant: function entries check call depth and the C stack, loop headers and entries charge
 * fuel and poll the deadline / interrupt flag. Without it (the "no-limits" variant, for stores without fuel)
 * the code has no per-call or per-loop checks: stack exhaustion is caught by the guard page below the
 * thread's stack, deadlines and wm_store_interrupt by a signal (aot.c). Fuel needs the checked variant. */
#define WM_AOT_F_LIMITS 1u

#ifndef WM_AOT_RUNTIME_SIDE
/* ---- helpers for generated code ---------------------------------------------------------- */
#define WM_LIKELY(x) __builtin_expect(!!(x), 1)
#define WM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WM_SI static inline __attribute__((always_inline))

static inline __attribute__((noreturn, cold, noinline)) void wm_trap(wm_aot_ctx *ctx, int t)
{
    ctx->rt->trap(ctx, t);
}

/* The stack pointer, read without forcing a frame pointer (which __builtin_frame_address(0) does). */
#if defined(__x86_64__)
#  define WM_STACK_POINTER() (__extension__({ char *sp_; __asm__("mov %%rsp, %0" : "=r"(sp_)); sp_; }))
#elif defined(__aarch64__)
#  define WM_STACK_POINTER() (__extension__({ char *sp_; __asm__("mov %0, sp" : "=r"(sp_)); sp_; }))
#else
#  define WM_STACK_POINTER() ((char *)__builtin_frame_address(0))
#endif
/* Call depth travels in a register: every compiled function takes d_, the number of wasm frames below it.
 * Keeping it in the store instead costs a load-increment-store on each call and a store-to-load forwarding
 * stall on the next one. The store's counter is only brought up to date before leaving compiled code
 * (WM_SYNC_DEPTH), so host functions and the interpreter see the right depth. */
#if WM_AOT_LIMITS
#define WM_ENTER(ctx)                                                                          \
    do {                                                                                       \
        if (WM_UNLIKELY(d_ >= (ctx)->max_depth ||                                              \
                        WM_STACK_POINTER() < *(ctx)->stack_limit))                             \
            wm_trap((ctx), WM_AOT_TRAP_STACK_EXHAUSTED);                                       \
        if (WM_UNLIKELY(*(ctx)->limits) && --*(ctx)->fuel_left < 0) (ctx)->rt->fuel(ctx);     \
    } while (0)
#define WM_FUEL(ctx)                                                                           \
    do { if (WM_UNLIKELY(*(ctx)->limits) && --*(ctx)->fuel_left < 0) (ctx)->rt->fuel(ctx); } while (0)
#else
/* No-limits variant: the guard page bounds recursion, a signal stops runaway loops (aot.c). The runtime
 * services that leave compiled code check the stack pointer themselves. The empty volatile asm (no
 * instruction) gives every function a side effect: GCC deletes calls to side-effect-free functions even when
 * they recurse without end (call.wast's mutual-runaway), which must exhaust the stack instead. */
#define WM_ENTER(ctx) do { (void)d_; __asm__ volatile(""); } while (0)
#define WM_FUEL(ctx) ((void)0)
#endif
#define WM_LEAVE(ctx) ((void)0)
#define WM_SYNC_DEPTH(ctx) (*(ctx)->depth = d_ + 1)

/* A float bit pattern the C compiler must not know: GCC rewrites x + C as x - (-C) and x - C as x + (-C), which
 * flips the sign of a NaN constant C, where wasm (and the interpreter) return the NaN operand's own bits (and
 * f32.copysign or a reinterpret then shows the difference). Used for NaN constants and for reinterpreted bits. */
#define WM_OPAQUE(v) (__extension__({ __typeof__(v) o_ = (v); __asm__("" : "+r"(o_)); o_; }))

/* Loads can trap: force their (full-width) result to exist even when wasm drops it. */
#define WM_FORCE(v) __asm__ volatile("" : : "r"(v))
/* v128 loads: a volatile read of the access's last byte faults exactly when the access would. */
#define WM_TOUCH(p, n) ((void)*(volatile const uint8_t *)((p) + (n) - 1))

/* Effective address: guard pages cover 4 GiB + 4 GiB beyond the base. */
#define WM_EA(a, off) (mem + ((uint64_t)(uint32_t)(a) + (uint64_t)(off##u)))

WM_SI uint32_t wm_ld8(const uint8_t *p) { return *p; }
WM_SI uint32_t wm_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
WM_SI uint32_t wm_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
WM_SI uint64_t wm_ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
WM_SI void wm_st8(uint8_t *p, uint32_t v) { *p = (uint8_t)v; }
WM_SI void wm_st16(uint8_t *p, uint32_t v) { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); }
WM_SI void wm_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
WM_SI void wm_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

WM_SI float wm_f32(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
WM_SI double wm_f64(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
WM_SI uint32_t wm_b32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
WM_SI uint64_t wm_b64(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

WM_SI uint32_t wm_f32_min(uint32_t ac, uint32_t bc)
{
    float a = wm_f32(ac), b = wm_f32(bc);
    if (a < b) return ac;
    if (b < a) return bc;
    if (a == b) return ac | bc;
    return wm_b32(a + b);
}
WM_SI uint32_t wm_f32_max(uint32_t ac, uint32_t bc)
{
    float a = wm_f32(ac), b = wm_f32(bc);
    if (a > b) return ac;
    if (b > a) return bc;
    if (a == b) return ac & bc;
    return wm_b32(a + b);
}
WM_SI uint64_t wm_f64_min(uint64_t ac, uint64_t bc)
{
    double a = wm_f64(ac), b = wm_f64(bc);
    if (a < b) return ac;
    if (b < a) return bc;
    if (a == b) return ac | bc;
    return wm_b64(a + b);
}
WM_SI uint64_t wm_f64_max(uint64_t ac, uint64_t bc)
{
    double a = wm_f64(ac), b = wm_f64(bc);
    if (a > b) return ac;
    if (b > a) return bc;
    if (a == b) return ac & bc;
    return wm_b64(a + b);
}
/* Opaque to the optimiser so demote(promote(x)) is not folded to x (it must quiet NaNs). */
WM_SI double wm_promote(float x) { double d = (double)x; __asm__("" : "+x"(d)); return d; }
WM_SI float wm_ceilf(float a) { return a != a ? a + a : ceilf(a); }
WM_SI float wm_floorf(float a) { return a != a ? a + a : floorf(a); }
WM_SI float wm_truncf(float a) { return a != a ? a + a : truncf(a); }
WM_SI float wm_nearestf(float a) { return a != a ? a + a : rintf(a); }
WM_SI double wm_ceil(double a) { return a != a ? a + a : ceil(a); }
WM_SI double wm_floor(double a) { return a != a ? a + a : floor(a); }
WM_SI double wm_trunc(double a) { return a != a ? a + a : trunc(a); }
WM_SI double wm_nearest(double a) { return a != a ? a + a : rint(a); }

WM_SI uint32_t wm_clz32(uint32_t x) { return x ? (uint32_t)__builtin_clz(x) : 32u; }
WM_SI uint32_t wm_ctz32(uint32_t x) { return x ? (uint32_t)__builtin_ctz(x) : 32u; }
WM_SI uint32_t wm_popcnt32(uint32_t x) { return (uint32_t)__builtin_popcount(x); }
WM_SI uint64_t wm_clz64(uint64_t x) { return x ? (uint64_t)__builtin_clzll(x) : 64u; }
WM_SI uint64_t wm_ctz64(uint64_t x) { return x ? (uint64_t)__builtin_ctzll(x) : 64u; }
WM_SI uint64_t wm_popcnt64(uint64_t x) { return (uint64_t)__builtin_popcountll(x); }
WM_SI uint32_t wm_rotl32(uint32_t x, uint32_t n) { n &= 31; return (x << n) | (x >> ((32 - n) & 31)); }
WM_SI uint32_t wm_rotr32(uint32_t x, uint32_t n) { n &= 31; return (x >> n) | (x << ((32 - n) & 31)); }
WM_SI uint64_t wm_rotl64(uint64_t x, uint64_t n) { n &= 63; return (x << n) | (x >> ((64 - n) & 63)); }
WM_SI uint64_t wm_rotr64(uint64_t x, uint64_t n) { n &= 63; return (x >> n) | (x << ((64 - n) & 63)); }

WM_SI uint32_t wm_i32_div_s(wm_aot_ctx *ctx, uint32_t a, uint32_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    if (WM_UNLIKELY(a == 0x80000000u && b == 0xFFFFFFFFu)) wm_trap(ctx, WM_AOT_TRAP_INT_OVERFLOW);
    return (uint32_t)((int32_t)a / (int32_t)b);
}
WM_SI uint32_t wm_i32_div_u(wm_aot_ctx *ctx, uint32_t a, uint32_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    return a / b;
}
WM_SI uint32_t wm_i32_rem_s(wm_aot_ctx *ctx, uint32_t a, uint32_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    return WM_UNLIKELY(b == 0xFFFFFFFFu) ? 0u : (uint32_t)((int32_t)a % (int32_t)b);
}
WM_SI uint32_t wm_i32_rem_u(wm_aot_ctx *ctx, uint32_t a, uint32_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    return a % b;
}
WM_SI uint64_t wm_i64_div_s(wm_aot_ctx *ctx, uint64_t a, uint64_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    if (WM_UNLIKELY(a == 0x8000000000000000ull && b == 0xFFFFFFFFFFFFFFFFull)) wm_trap(ctx, WM_AOT_TRAP_INT_OVERFLOW);
    return (uint64_t)((int64_t)a / (int64_t)b);
}
WM_SI uint64_t wm_i64_div_u(wm_aot_ctx *ctx, uint64_t a, uint64_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    return a / b;
}
WM_SI uint64_t wm_i64_rem_s(wm_aot_ctx *ctx, uint64_t a, uint64_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    return WM_UNLIKELY(b == 0xFFFFFFFFFFFFFFFFull) ? 0u : (uint64_t)((int64_t)a % (int64_t)b);
}
WM_SI uint64_t wm_i64_rem_u(wm_aot_ctx *ctx, uint64_t a, uint64_t b)
{
    if (WM_UNLIKELY(b == 0)) wm_trap(ctx, WM_AOT_TRAP_DIV_ZERO);
    return a % b;
}

/* Trapping truncations: NaN -> invalid conversion, out of range -> integer overflow. */
#define WM_TRUNC(name, RT, FT, OF, lo_ok, hi_ok, conv)                                          \
    WM_SI RT name(wm_aot_ctx *ctx, uint64_t bits)                                               \
    {                                                                                           \
        FT x = OF(bits);                                                                        \
        if (WM_UNLIKELY(!((lo_ok) && (hi_ok))))                                                 \
            wm_trap(ctx, x != x ? WM_AOT_TRAP_INVALID_CONVERSION : WM_AOT_TRAP_INT_OVERFLOW);   \
        return (conv);                                                                          \
    }
WM_SI float wm_f32_of(uint64_t b) { return wm_f32((uint32_t)b); }
WM_TRUNC(wm_i32_trunc_f32_s, uint32_t, float, wm_f32_of, x >= -2147483648.0f, x < 2147483648.0f, (uint32_t)(int32_t)x)
WM_TRUNC(wm_i32_trunc_f32_u, uint32_t, float, wm_f32_of, x > -1.0f, x < 4294967296.0f, (uint32_t)x)
WM_TRUNC(wm_i32_trunc_f64_s, uint32_t, double, wm_f64, x > -2147483649.0, x < 2147483648.0, (uint32_t)(int32_t)x)
WM_TRUNC(wm_i32_trunc_f64_u, uint32_t, double, wm_f64, x > -1.0, x < 4294967296.0, (uint32_t)x)
WM_TRUNC(wm_i64_trunc_f32_s, uint64_t, float, wm_f32_of, x >= -9223372036854775808.0f, x < 9223372036854775808.0f, (uint64_t)(int64_t)x)
WM_TRUNC(wm_i64_trunc_f32_u, uint64_t, float, wm_f32_of, x > -1.0f, x < 18446744073709551616.0f, (uint64_t)x)
WM_TRUNC(wm_i64_trunc_f64_s, uint64_t, double, wm_f64, x >= -9223372036854775808.0, x < 9223372036854775808.0, (uint64_t)(int64_t)x)
WM_TRUNC(wm_i64_trunc_f64_u, uint64_t, double, wm_f64, x > -1.0, x < 18446744073709551616.0, (uint64_t)x)

WM_SI uint32_t wm_sat_i32_f64(double x)
{
    if (x != x) return 0;
    if (x <= -2147483649.0) return 0x80000000u;
    if (x >= 2147483648.0) return 0x7FFFFFFFu;
    return (uint32_t)(int32_t)x;
}
WM_SI uint32_t wm_sat_u32_f64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 4294967296.0) return 0xFFFFFFFFu;
    return (uint32_t)x;
}
WM_SI uint64_t wm_sat_i64_f64(double x)
{
    if (x != x) return 0;
    if (x < -9223372036854775808.0) return 0x8000000000000000ull;
    if (x >= 9223372036854775808.0) return 0x7FFFFFFFFFFFFFFFull;
    return (uint64_t)(int64_t)x;
}
WM_SI uint64_t wm_sat_u64_f64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 18446744073709551616.0) return 0xFFFFFFFFFFFFFFFFull;
    return (uint64_t)x;
}

/* call_indirect: table lookup and signature check. */
WM_SI wm_aot_fhead *wm_indirect(wm_aot_ctx *ctx, uint32_t table, uint32_t type, uint32_t i)
{
    wm_aot_thead *t = ctx->tables[table];
    if (WM_UNLIKELY(i >= t->size)) wm_trap(ctx, WM_AOT_TRAP_UNDEFINED_ELEMENT);
    wm_aot_fhead *f = (wm_aot_fhead *)t->elems[i];
    if (WM_UNLIKELY(f == 0)) wm_trap(ctx, WM_AOT_TRAP_UNINITIALIZED_ELEMENT);
    if (WM_UNLIKELY(f->type_id != ctx->type_ids[type])) wm_trap(ctx, WM_AOT_TRAP_INDIRECT_CALL_TYPE);
    return f;
}
WM_SI uint64_t wm_table_get(wm_aot_ctx *ctx, uint32_t table, uint32_t i)
{
    wm_aot_thead *t = ctx->tables[table];
    if (WM_UNLIKELY(i >= t->size)) wm_trap(ctx, WM_AOT_TRAP_TABLE_OOB);
    return (uint64_t)(uintptr_t)t->elems[i];
}
WM_SI void wm_table_set(wm_aot_ctx *ctx, uint32_t table, uint32_t i, uint64_t ref)
{
    wm_aot_thead *t = ctx->tables[table];
    if (WM_UNLIKELY(i >= t->size)) wm_trap(ctx, WM_AOT_TRAP_TABLE_OOB);
    t->elems[i] = (void *)(uintptr_t)ref;
}
#endif /* !WM_AOT_RUNTIME_SIDE */
#endif
