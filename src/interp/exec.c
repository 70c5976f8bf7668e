/* exec.c — the interpreter loop: runs the IR of src/interp/ir.h.
 *
 * Dispatch is indirect threaded (computed goto over a label table indexed by opcode number) when
 * built with a GNU-compatible compiler; otherwise (or with -DWM_NO_COMPUTED_GOTO) a switch in a
 * loop. Wasm-to-wasm calls do not recurse in C: they push a wm_frame on s->frames and continue
 * in the same loop. ip, fp, the code base and memory 0's base/size live in locals; memory is
 * reloaded after memory.grow, host calls and calls/returns that cross instances.
 *
 * SIMD handlers (opcodes 0x200-0x2FF) live in exec_simd.inc, included twice: once with
 * WM_SIMD_LABELS defined to list the opcodes it implements (label table), once for the handlers.
 */
#include "ir.h"
#include "../runtime/runtime.h"
#include "simd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static inline wm_v128 exec_ld_v128(const uint64_t *cells) { wm_v128 v; memcpy(&v, cells, 16); return v; }

#if defined(__GNUC__) && !defined(WM_NO_COMPUTED_GOTO)
#define WM_THREADED 1
#else
#define WM_THREADED 0
#endif

#if defined(__GNUC__)
#define WM_LIKELY(x) __builtin_expect(!!(x), 1)
#define WM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WM_NOINLINE __attribute__((noinline))
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define WM_FALLTHROUGH __attribute__((fallthrough))
#endif
#endif
#define WM_COLD __attribute__((cold, noinline))
#else
#define WM_LIKELY(x) (x)
#define WM_UNLIKELY(x) (x)
#define WM_NOINLINE
#define WM_COLD
#endif

#ifndef WM_FALLTHROUGH
#define WM_FALLTHROUGH do { } while (0)
#endif

/* ---- byte order: wasm memory is little-endian ---------------------------------------------- */
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WM_LE16(x) __builtin_bswap16(x)
#define WM_LE32(x) __builtin_bswap32(x)
#define WM_LE64(x) __builtin_bswap64(x)
#else
#define WM_LE16(x) (x)
#define WM_LE32(x) (x)
#define WM_LE64(x) (x)
#endif

static inline uint8_t ld8(const uint8_t *p) { return *p; }
static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return (uint16_t)WM_LE16(v); }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return (uint32_t)WM_LE32(v); }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return (uint64_t)WM_LE64(v); }
static inline void st8(uint8_t *p, uint8_t v) { *p = v; }
static inline void st16(uint8_t *p, uint16_t v) { v = (uint16_t)WM_LE16(v); memcpy(p, &v, 2); }
static inline void st32(uint8_t *p, uint32_t v) { v = (uint32_t)WM_LE32(v); memcpy(p, &v, 4); }
static inline void st64(uint8_t *p, uint64_t v) { v = (uint64_t)WM_LE64(v); memcpy(p, &v, 8); }

/* ---- float bit views --------------------------------------------------------------------- */
static inline float f32_of(uint64_t cell) { uint32_t b = (uint32_t)cell; float f; memcpy(&f, &b, 4); return f; }
static inline double f64_of(uint64_t cell) { double d; memcpy(&d, &cell, 8); return d; }
static inline uint64_t bits_f32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static inline uint64_t bits_f64(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

/* Wasm min/max: NaN if either is NaN; -0 < +0. Equal non-zero values have equal bits, so
 * OR (min) / AND (max) of the bit patterns picks the right zero. */
static inline uint64_t f32_min_bits(uint64_t ac, uint64_t bc)
{
    float a = f32_of(ac), b = f32_of(bc);
    if (a < b) return (uint32_t)ac;
    if (b < a) return (uint32_t)bc;
    if (a == b) return (uint32_t)(ac | bc);
    return bits_f32(a + b);
}
static inline uint64_t f32_max_bits(uint64_t ac, uint64_t bc)
{
    float a = f32_of(ac), b = f32_of(bc);
    if (a > b) return (uint32_t)ac;
    if (b > a) return (uint32_t)bc;
    if (a == b) return (uint32_t)(ac & bc);
    return bits_f32(a + b);
}
static inline uint64_t f64_min_bits(uint64_t ac, uint64_t bc)
{
    double a = f64_of(ac), b = f64_of(bc);
    if (a < b) return ac;
    if (b < a) return bc;
    if (a == b) return ac | bc;
    return bits_f64(a + b);
}
static inline uint64_t f64_max_bits(uint64_t ac, uint64_t bc)
{
    double a = f64_of(ac), b = f64_of(bc);
    if (a > b) return ac;
    if (b > a) return bc;
    if (a == b) return ac & bc;
    return bits_f64(a + b);
}

/* Rounding ops: libm may return a signalling NaN unchanged; wasm wants it quieted. */
static inline float r_ceilf(float a) { return a != a ? a + a : ceilf(a); }
static inline float r_floorf(float a) { return a != a ? a + a : floorf(a); }
static inline float r_truncf(float a) { return a != a ? a + a : truncf(a); }
static inline float r_nearestf(float a) { return a != a ? a + a : rintf(a); }
static inline double r_ceil(double a) { return a != a ? a + a : ceil(a); }
static inline double r_floor(double a) { return a != a ? a + a : floor(a); }
static inline double r_trunc(double a) { return a != a ? a + a : trunc(a); }
static inline double r_nearest(double a) { return a != a ? a + a : rint(a); }

/* ---- bit counting ---------------------------------------------------------------------------- */
static inline uint32_t clz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_clz(x) : 32u;
#else
    uint32_t n = 0;
    if (!x) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; n++; }
    return n;
#endif
}
static inline uint32_t ctz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_ctz(x) : 32u;
#else
    uint32_t n = 0;
    if (!x) return 32;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
#endif
}
static inline uint32_t popcnt32(uint32_t x)
{
#if defined(__GNUC__)
    return (uint32_t)__builtin_popcount(x);
#else
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
#endif
}
static inline uint64_t clz64(uint64_t x)
{
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_clzll(x) : 64u;
#else
    uint32_t hi = (uint32_t)(x >> 32);
    return hi ? clz32(hi) : 32u + clz32((uint32_t)x);
#endif
}
static inline uint64_t ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_ctzll(x) : 64u;
#else
    uint32_t lo = (uint32_t)x;
    return lo ? ctz32(lo) : 32u + ctz32((uint32_t)(x >> 32));
#endif
}
static inline uint64_t popcnt64(uint64_t x)
{
#if defined(__GNUC__)
    return (uint64_t)__builtin_popcountll(x);
#else
    return popcnt32((uint32_t)x) + popcnt32((uint32_t)(x >> 32));
#endif
}

static inline uint32_t rotl32(uint32_t x, uint32_t n) { n &= 31; return (x << n) | (x >> ((32 - n) & 31)); }
static inline uint32_t rotr32(uint32_t x, uint32_t n) { n &= 31; return (x >> n) | (x << ((32 - n) & 31)); }
static inline uint64_t rotl64(uint64_t x, uint64_t n) { n &= 63; return (x << n) | (x >> ((64 - n) & 63)); }
static inline uint64_t rotr64(uint64_t x, uint64_t n) { n &= 63; return (x >> n) | (x << ((64 - n) & 63)); }

/* ---- saturating truncations (NaN -> 0, clamp) ------------------------------------------------ */
static inline uint32_t sat_i32_f64(double x)
{
    if (x != x) return 0;
    if (x <= -2147483649.0) return 0x80000000u;
    if (x >= 2147483648.0) return 0x7FFFFFFFu;
    return (uint32_t)(int32_t)x;
}
static inline uint32_t sat_u32_f64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 4294967296.0) return 0xFFFFFFFFu;
    return (uint32_t)x;
}
static inline uint64_t sat_i64_f64(double x)
{
    if (x != x) return 0;
    if (x < -9223372036854775808.0) return 0x8000000000000000ull;
    if (x >= 9223372036854775808.0) return 0x7FFFFFFFFFFFFFFFull;
    return (uint64_t)(int64_t)x;
}
static inline uint64_t sat_u64_f64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 18446744073709551616.0) return 0xFFFFFFFFFFFFFFFFull;
    return (uint64_t)x;
}

/* ---- element segment items ------------------------------------------------------------------- */
static inline void *elem_item(const wm_instance *inst, const wm_constexpr *e)
{
    switch (e->op) {
    case WM_CONST_REF_FUNC: return inst->funcs[e->index];
    case WM_CONST_GLOBAL_GET: return inst->globals[e->index]->v.ref;
    default: return NULL;
    }
}

/* ---- backtrace ------------------------------------------------------------------------------- */
static WM_COLD void record_backtrace(wm_store *s, const wm_func *cur, uint32_t entry_depth, int append)
{
    uint32_t n = append ? s->nbt : 0;
    if (n > 32) n = 0;
    if (n < 32 && cur) { s->bt_inst[n] = cur->inst; s->bt_func[n] = cur->funcidx; n++; }
    /* frames[entry_depth] is this run's sentinel; frames[d].func is the caller of level d. */
    for (uint32_t d = s->depth; d-- > entry_depth + 1 && n < 32;) {
        const wm_func *fn = s->frames[d].func;
        if (!fn) continue;
        s->bt_inst[n] = fn->inst; s->bt_func[n] = fn->funcidx; n++;
    }
    s->nbt = n;
}

/* ---- dispatch profile (build with -DWM_INTERP_PROFILE=1, e.g. in a separate build directory) --
 * Counts every dispatch and every (previous op, op) pair; at exit prints the hottest of both to
 * stderr. This is how superinstructions are chosen: a pair that is hot across the benchmarks is a
 * candidate for fusion in translate.c. Both loop variants share the counters. */
#if defined(WM_INTERP_PROFILE) && WM_INTERP_PROFILE
#ifndef WM_EXEC_NO_DISPATCH
#include <stdlib.h>
#include "opcodes_table.h"
uint64_t wm_prof_ops[IR_OP_COUNT];
uint64_t wm_prof_pairs[IR_OP_COUNT][IR_OP_COUNT];
static const char *prof_name(uint32_t op, char *buf, size_t n)
{
    static const char *const ir[] = {
        "COPY", "COPY_V128", "BR", "BR_IF", "BR_UNLESS", "BR_TABLE", "RETURN", "CALL", "CALL_INDIRECT",
        "SELECT_V128", "GLOBAL_GET_V128", "GLOBAL_SET_V128",
        "BR_I32_EQ", "BR_I32_NE", "BR_I32_LT_S", "BR_I32_LT_U", "BR_I32_GT_S", "BR_I32_GT_U",
        "BR_I32_LE_S", "BR_I32_LE_U", "BR_I32_GE_S", "BR_I32_GE_U",
        "LDX_i32.load", "LDX_i64.load", "LDX_f32.load", "LDX_f64.load", "LDX_i32.load8_s",
        "LDX_i32.load8_u", "LDX_i32.load16_s", "LDX_i32.load16_u", "LDX_i64.load8_s", "LDX_i64.load8_u",
        "LDX_i64.load16_s", "LDX_i64.load16_u", "LDX_i64.load32_s", "LDX_i64.load32_u", "LDX_v128.load",
        "STX_i32.store", "STX_i64.store", "STX_f32.store", "STX_f64.store", "STX_i32.store8",
        "STX_i32.store16", "STX_i64.store8", "STX_i64.store16", "STX_i64.store32", "STX_v128.store",
        "F32_CVT_U8LANE", "F32X4_U8LANES", "I32X4_EXTEND8_S", "LD_I8X4_S", "LDX_I8X4_S",
        "LDX_SPLAT32", "LDX_LANE32",
        "F32X4_ADD_LD", "F32X4_MUL_LD", "F64X2_ADD_LD", "F64X2_MUL_LD",
        "F32X4_ADD_LDX", "F32X4_MUL_LDX", "F64X2_ADD_LDX", "F64X2_MUL_LDX",
        "F32X4_ADD_TO_MEM", "F64X2_ADD_TO_MEM", "F32X4_ADD_TO_MEMX", "F64X2_ADD_TO_MEMX",
    };
    _Static_assert(sizeof ir / sizeof ir[0] == IR_OP_COUNT - IR_COPY, "a name for every IR op");
    const char *nm = NULL;
    if (op < 0x100) nm = wm_opname_1[op];
    else if (op < 0x112) nm = wm_opname_fc[op - 0x100];
    else if (op >= 0x200 && op < 0x300) nm = wm_opname_fd[op - 0x200];
    else if (op >= 0x300 && op - 0x300 < sizeof ir / sizeof ir[0]) nm = ir[op - 0x300];
    if (nm) snprintf(buf, n, "%s", nm);
    else snprintf(buf, n, "ir_%#x", op);
    return buf;
}
static void prof_dump(void)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < IR_OP_COUNT; i++) total += wm_prof_ops[i];
    if (!total) return;
    fprintf(stderr, "== dispatches: %llu\n", (unsigned long long)total);
    char b1[48], b2[48];
    for (int k = 0; k < 40; k++) {   /* top ops: repeated max (n is small, speed irrelevant) */
        uint32_t best = 0;
        for (uint32_t i = 1; i < IR_OP_COUNT; i++) if (wm_prof_ops[i] > wm_prof_ops[best]) best = i;
        if (!wm_prof_ops[best]) break;
        fprintf(stderr, "  %6.2f%%  %-28s %llu\n", 100.0 * (double)wm_prof_ops[best] / (double)total,
                prof_name(best, b1, sizeof b1), (unsigned long long)wm_prof_ops[best]);
        wm_prof_ops[best] = 0;
    }
    fprintf(stderr, "== pairs\n");
    for (int k = 0; k < 40; k++) {
        uint32_t bi = 0, bj = 0;
        for (uint32_t i = 0; i < IR_OP_COUNT; i++)
            for (uint32_t j = 0; j < IR_OP_COUNT; j++)
                if (wm_prof_pairs[i][j] > wm_prof_pairs[bi][bj]) { bi = i; bj = j; }
        if (!wm_prof_pairs[bi][bj]) break;
        fprintf(stderr, "  %6.2f%%  %-28s -> %-28s\n", 100.0 * (double)wm_prof_pairs[bi][bj] / (double)total,
                prof_name(bi, b1, sizeof b1), prof_name(bj, b2, sizeof b2));
        wm_prof_pairs[bi][bj] = 0;
    }
}
void wm_prof_register(void);
void wm_prof_register(void)
{
    static int done;
    if (!done) { done = 1; atexit(prof_dump); }
}
#else
extern uint64_t wm_prof_ops[IR_OP_COUNT];
extern uint64_t wm_prof_pairs[IR_OP_COUNT][IR_OP_COUNT];
void wm_prof_register(void);
#endif
#define WM_PROF(op) (wm_prof_ops[(op)]++, wm_prof_pairs[prof_prev][(op)]++, prof_prev = (op))
#else
#define WM_PROF(op) ((void)0)
#endif

static WM_COLD wm_trap illegal_op(wm_store *s, uint32_t op)
{
    snprintf(s->trap_msg, sizeof s->trap_msg, "interpreter: illegal IR opcode 0x%x", op);
    return WM_TRAP_HOST;
}

#if defined(__GNUC__)
__attribute__((hot))
#endif
/* exec_sse41.c compiles this file a second time for SSSE3/SSE4.1 hosts under another name;
 * wm_interp_run (below) picks the variant once, by CPUID. */
#ifndef WM_EXEC_VARIANT
#define WM_EXEC_VARIANT wm_interp_run_generic
#endif
wm_trap WM_EXEC_VARIANT(wm_store *s, wm_func *f, uint64_t *fp);
wm_trap WM_EXEC_VARIANT(wm_store *s, wm_func *f, uint64_t *fp)
{
    if (WM_UNLIKELY(f->host != NULL)) return wm_call_host(s, f, NULL, fp);

    const uint32_t entry_depth = s->depth;
    wm_func *func = f;
    wm_instance *inst = f->inst;
    const uint32_t *code = f->code->ops;
    const uint32_t *ip = code;
    wm_memory *mem = NULL;
    uint8_t *mbase = NULL;
    uint64_t msize = 0;
    wm_trap trap = WM_TRAP_NONE;
    int host_trap = 0;
    /* Fuel: each backward jump and each call costs one unit, charged to s->fuel_left in batches
     * of WM_FUEL_BATCH. A read-modify-write of the store on every loop iteration measured up to
     * 2x slower on tight loops than this counter; the batch is flushed before anything that can
     * look at the fuel (host calls, returning to the embedder). */
    uint32_t ticks = 0;
    /* call path */
    wm_func *callee = NULL;
    uint32_t cbase = 0;
    const uint32_t *ret_ip = NULL;
#if defined(WM_INTERP_PROFILE) && WM_INTERP_PROFILE
    uint32_t prof_prev = 0;
    wm_prof_register();
#endif
#if !WM_THREADED
    int oob_flag = 0;                  /* MEMADDR failure in the portable build */
    uint64_t oob_scratch[4] = {0, 0, 0, 0};
#endif

#define RELOAD_MEM()                                                              \
    do {                                                                          \
        mem = inst->module->nmems ? inst->mems[0] : NULL;                         \
        if (mem) { mbase = mem->data; msize = mem->size; }                        \
        else { mbase = NULL; msize = 0; }                                         \
    } while (0)

#define TRAP(code_) do { trap = (code_); goto L_trap; } while (0)
#define SLOT(k) fp[k]
#define LOAD_V128(k) exec_ld_v128(&fp[k])
#define STORE_V128(k, v) do { wm_v128 st_v_ = (v); memcpy(&fp[k], &st_v_, 16); } while (0)
#define WM_FUEL_BATCH 16u
#define TICK()                                                                    \
    do {                                                                          \
        if (WM_UNLIKELY(++ticks == WM_FUEL_BATCH)) {                              \
            ticks = 0;                                                            \
            s->fuel_left -= WM_FUEL_BATCH;                                        \
            if (WM_UNLIKELY(s->fuel_left < 0)) {                                  \
                /* give it back and charge unit by unit: the slow path's refill */ \
                /* and limit accounting assume single-unit charges */            \
                s->fuel_left += WM_FUEL_BATCH;                                    \
                for (uint32_t k_ = 0; k_ < WM_FUEL_BATCH; k_++) CHARGE_FUEL();    \
            }                                                                     \
        }                                                                         \
    } while (0)
#define FLUSH_TICKS()                                                             \
    do {                                                                          \
        while (ticks) { ticks--; CHARGE_FUEL(); }                                 \
    } while (0)
#define CHARGE_FUEL()                                                             \
    do {                                                                          \
        if (WM_UNLIKELY(--s->fuel_left < 0)) {                                    \
            wm_trap ft_ = wm_store_fuel_slow(s);                                  \
            if (ft_ != WM_TRAP_NONE) TRAP(ft_);                                   \
        }                                                                         \
    } while (0)

#if WM_THREADED
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
    static const void *const labels[IR_OP_COUNT] = {
        [0 ... IR_OP_COUNT - 1] = &&L_illegal,
#define LBL(n) [n] = &&L_##n,
        LBL(0x00) LBL(0x1B) [0x1C] = &&L_0x1B,
        LBL(0x23) LBL(0x24) LBL(0x25) LBL(0x26)
        LBL(0x28) LBL(0x29) LBL(0x2A) LBL(0x2B) LBL(0x2C) LBL(0x2D) LBL(0x2E) LBL(0x2F)
        LBL(0x30) LBL(0x31) LBL(0x32) LBL(0x33) LBL(0x34) LBL(0x35) LBL(0x36) LBL(0x37)
        LBL(0x38) LBL(0x39) LBL(0x3A) LBL(0x3B) LBL(0x3C) LBL(0x3D) LBL(0x3E) LBL(0x3F)
        LBL(0x40) LBL(0x41) LBL(0x42) LBL(0x43) LBL(0x44) LBL(0x45) LBL(0x46) LBL(0x47)
        LBL(0x48) LBL(0x49) LBL(0x4A) LBL(0x4B) LBL(0x4C) LBL(0x4D) LBL(0x4E) LBL(0x4F)
        LBL(0x50) LBL(0x51) LBL(0x52) LBL(0x53) LBL(0x54) LBL(0x55) LBL(0x56) LBL(0x57)
        LBL(0x58) LBL(0x59) LBL(0x5A) LBL(0x5B) LBL(0x5C) LBL(0x5D) LBL(0x5E) LBL(0x5F)
        LBL(0x60) LBL(0x61) LBL(0x62) LBL(0x63) LBL(0x64) LBL(0x65) LBL(0x66) LBL(0x67)
        LBL(0x68) LBL(0x69) LBL(0x6A) LBL(0x6B) LBL(0x6C) LBL(0x6D) LBL(0x6E) LBL(0x6F)
        LBL(0x70) LBL(0x71) LBL(0x72) LBL(0x73) LBL(0x74) LBL(0x75) LBL(0x76) LBL(0x77)
        LBL(0x78) LBL(0x79) LBL(0x7A) LBL(0x7B) LBL(0x7C) LBL(0x7D) LBL(0x7E) LBL(0x7F)
        LBL(0x80) LBL(0x81) LBL(0x82) LBL(0x83) LBL(0x84) LBL(0x85) LBL(0x86) LBL(0x87)
        LBL(0x88) LBL(0x89) LBL(0x8A) LBL(0x8B) LBL(0x8C) LBL(0x8D) LBL(0x8E) LBL(0x8F)
        LBL(0x90) LBL(0x91) LBL(0x92) LBL(0x93) LBL(0x94) LBL(0x95) LBL(0x96) LBL(0x97)
        LBL(0x98) LBL(0x99) LBL(0x9A) LBL(0x9B) LBL(0x9C) LBL(0x9D) LBL(0x9E) LBL(0x9F)
        LBL(0xA0) LBL(0xA1) LBL(0xA2) LBL(0xA3) LBL(0xA4) LBL(0xA5) LBL(0xA6) LBL(0xA7)
        LBL(0xA8) LBL(0xA9) LBL(0xAA) LBL(0xAB) LBL(0xAC) LBL(0xAD) LBL(0xAE) LBL(0xAF)
        LBL(0xB0) LBL(0xB1) LBL(0xB2) LBL(0xB3) LBL(0xB4) LBL(0xB5) LBL(0xB6) LBL(0xB7)
        LBL(0xB8) LBL(0xB9) LBL(0xBA) LBL(0xBB) LBL(0xBC) LBL(0xBD) LBL(0xBE) LBL(0xBF)
        LBL(0xC0) LBL(0xC1) LBL(0xC2) LBL(0xC3) LBL(0xC4)
        LBL(0xD0) LBL(0xD1) LBL(0xD2)
        LBL(0x100) LBL(0x101) LBL(0x102) LBL(0x103) LBL(0x104) LBL(0x105) LBL(0x106) LBL(0x107)
        LBL(0x108) LBL(0x109) LBL(0x10A) LBL(0x10B) LBL(0x10C) LBL(0x10D) LBL(0x10E) LBL(0x10F)
        LBL(0x110) LBL(0x111)
        LBL(IR_COPY) LBL(IR_COPY_V128) LBL(IR_BR) LBL(IR_BR_IF) LBL(IR_BR_UNLESS) LBL(IR_BR_TABLE)
        LBL(IR_RETURN) LBL(IR_CALL) LBL(IR_CALL_INDIRECT) LBL(IR_SELECT_V128)
        LBL(IR_GLOBAL_GET_V128) LBL(IR_GLOBAL_SET_V128)
        LBL(IR_BR_I32_EQ) LBL(IR_BR_I32_NE) LBL(IR_BR_I32_LT_S) LBL(IR_BR_I32_LT_U) LBL(IR_BR_I32_GT_S)
        LBL(IR_BR_I32_GT_U) LBL(IR_BR_I32_LE_S) LBL(IR_BR_I32_LE_U) LBL(IR_BR_I32_GE_S) LBL(IR_BR_I32_GE_U)
        LBL(IR_LDX_0x28) LBL(IR_LDX_0x29) LBL(IR_LDX_0x2A) LBL(IR_LDX_0x2B) LBL(IR_LDX_0x2C)
        LBL(IR_LDX_0x2D) LBL(IR_LDX_0x2E) LBL(IR_LDX_0x2F) LBL(IR_LDX_0x30) LBL(IR_LDX_0x31)
        LBL(IR_LDX_0x32) LBL(IR_LDX_0x33) LBL(IR_LDX_0x34) LBL(IR_LDX_0x35) LBL(IR_LDX_V128)
        LBL(IR_STX_0x36) LBL(IR_STX_0x37) LBL(IR_STX_0x38) LBL(IR_STX_0x39) LBL(IR_STX_0x3A)
        LBL(IR_STX_0x3B) LBL(IR_STX_0x3C) LBL(IR_STX_0x3D) LBL(IR_STX_0x3E) LBL(IR_STX_V128)
        LBL(IR_F32_CVT_U8LANE) LBL(IR_F32X4_U8LANES) LBL(IR_I32X4_EXTEND8_S) LBL(IR_LD_I8X4_S)
        LBL(IR_LDX_I8X4_S) LBL(IR_LDX_SPLAT32) LBL(IR_LDX_LANE32)
        LBL(IR_F32X4_ADD_LD) LBL(IR_F32X4_MUL_LD) LBL(IR_F64X2_ADD_LD) LBL(IR_F64X2_MUL_LD)
        LBL(IR_F32X4_ADD_LDX) LBL(IR_F32X4_MUL_LDX) LBL(IR_F64X2_ADD_LDX) LBL(IR_F64X2_MUL_LDX)
        LBL(IR_F32X4_ADD_TO_MEM) LBL(IR_F64X2_ADD_TO_MEM) LBL(IR_F32X4_ADD_TO_MEMX) LBL(IR_F64X2_ADD_TO_MEMX)
#undef LBL
#define WM_SIMD_LABELS
#define WM_SIMD_LABEL(n) [n] = &&L_##n,
#include "exec_simd.inc"
#undef WM_SIMD_LABEL
#undef WM_SIMD_LABELS
    };
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#define OP(n) L_##n:
#define DISPATCH() do { WM_PROF(*ip); goto *labels[*ip]; } while (0)
#define NEXT(k) do { ip += (k); WM_PROF(*ip); goto *labels[*ip]; } while (0)
#define MEMADDR(a, o, w)                                                                  \
    ({                                                                                    \
        uint64_t ea_ = (uint64_t)(uint32_t)(a) + (uint32_t)(o);                           \
        if (WM_UNLIKELY(ea_ + (uint64_t)(w) > msize)) TRAP(WM_TRAP_MEMORY_OOB);          \
        mbase + ea_;                                                                      \
    })
#else
#define OP(n) case n:
#define DISPATCH() goto L_dispatch
#define NEXT(k) do { if (WM_UNLIKELY(oob_flag)) TRAP(WM_TRAP_MEMORY_OOB); ip += (k); goto L_dispatch; } while (0)
#define MEMADDR(a, o, w)                                                                  \
    (((uint64_t)(uint32_t)(a) + (uint32_t)(o) + (uint64_t)(w) <= msize)                   \
         ? mbase + ((uint64_t)(uint32_t)(a) + (uint32_t)(o))                              \
         : (oob_flag = 1, (uint8_t *)oob_scratch))
#endif

    /* ---- entry ---- */
    if (WM_UNLIKELY(s->depth >= s->max_depth)) TRAP(WM_TRAP_STACK_EXHAUSTED);
    if (WM_UNLIKELY(fp + f->code->frame_cells > s->stack_end)) TRAP(WM_TRAP_STACK_EXHAUSTED);
    {
        wm_frame *fr = &s->frames[s->depth++];   /* sentinel: returning to it leaves the loop */
        fr->ret_ip = NULL; fr->fp = fp; fr->func = NULL;
    }
    if (f->code->local_cells)
        memset(fp + f->code->param_cells, 0, (size_t)f->code->local_cells * sizeof(uint64_t));
    if (f->code->nconsts)
        memcpy(fp + f->code->param_cells + f->code->local_cells, f->code->consts,
               (size_t)f->code->nconsts * sizeof(uint64_t));
    RELOAD_MEM();
    (void)mem;

#if WM_THREADED
    DISPATCH();
#else
L_dispatch:
    switch (*ip) {
#endif

    /* ================= control ================= */
    OP(0x00) TRAP(WM_TRAP_UNREACHABLE);

    /* Loop headers have no code: a taken branch that goes backward (only branches to a loop
     * label do) costs one unit of fuel, which also bounds every loop by the deadline. */
#define JUMP(target)                                                           \
    do {                                                                       \
        const uint32_t *to_ = code + (target);                                 \
        if (to_ <= ip) TICK();                                                 \
        ip = to_;                                                              \
        DISPATCH();                                                            \
    } while (0)
    OP(IR_BR) { JUMP(ip[1]); }
    OP(IR_BR_IF) {
        if ((uint32_t)fp[ip[1]]) JUMP(ip[2]);
        NEXT(3);
    }
    OP(IR_BR_UNLESS) {
        if (!(uint32_t)fp[ip[1]]) JUMP(ip[2]);
        NEXT(3);
    }
    OP(IR_BR_TABLE) {
        uint32_t i = (uint32_t)fp[ip[1]], n = ip[2];
        if (i > n) i = n;
        JUMP(ip[3 + i]);
    }
#define BR_CMP(name, T, rel)                                                   \
    OP(name) {                                                                 \
        if ((T)(uint32_t)fp[ip[1]] rel (T)(uint32_t)fp[ip[2]]) JUMP(ip[3]);   \
        NEXT(4);                                                               \
    }
    BR_CMP(IR_BR_I32_EQ, uint32_t, ==)
    BR_CMP(IR_BR_I32_NE, uint32_t, !=)
    BR_CMP(IR_BR_I32_LT_S, int32_t, <)
    BR_CMP(IR_BR_I32_LT_U, uint32_t, <)
    BR_CMP(IR_BR_I32_GT_S, int32_t, >)
    BR_CMP(IR_BR_I32_GT_U, uint32_t, >)
    BR_CMP(IR_BR_I32_LE_S, int32_t, <=)
    BR_CMP(IR_BR_I32_LE_U, uint32_t, <=)
    BR_CMP(IR_BR_I32_GE_S, int32_t, >=)
    BR_CMP(IR_BR_I32_GE_U, uint32_t, >=)
#undef BR_CMP

    OP(IR_CALL) {
        callee = inst->funcs[ip[1]];
        cbase = ip[2];
        ret_ip = ip + 3;
        goto L_do_call;
    }
    OP(IR_CALL_INDIRECT) {
        const wm_table *t = inst->tables[ip[2]];
        uint32_t i = (uint32_t)fp[ip[4]];
        if (WM_UNLIKELY(i >= t->size)) TRAP(WM_TRAP_UNDEFINED_ELEMENT);
        callee = (wm_func *)t->elems[i];
        if (WM_UNLIKELY(callee == NULL)) TRAP(WM_TRAP_UNINITIALIZED_ELEMENT);
        if (WM_UNLIKELY(callee->type_id != inst->module->types[ip[1]].canon_id))
            TRAP(WM_TRAP_INDIRECT_CALL_TYPE);
        cbase = ip[3];
        ret_ip = ip + 5;
        goto L_do_call;
    }
    OP(IR_RETURN) {
        uint32_t d = s->depth - 1;
        s->depth = d;
        if (WM_UNLIKELY(d == entry_depth)) {
            FLUSH_TICKS();
            return WM_TRAP_NONE;
        }
        const wm_frame *fr = &s->frames[d];
        ip = fr->ret_ip;
        fp = fr->fp;
        func = fr->func;
        code = func->code->ops;
        if (WM_UNLIKELY(func->inst != inst)) { inst = func->inst; RELOAD_MEM(); }
        DISPATCH();
    }

    /* ================= parametric / variables ================= */
#if !WM_THREADED
    case 0x1C:   /* typed select, same format */
#endif
    OP(0x1B) {
        uint64_t a = fp[ip[2]], b = fp[ip[3]];
        fp[ip[1]] = (uint32_t)fp[ip[4]] ? a : b;
        NEXT(5);
    }
    OP(IR_SELECT_V128) {
        uint32_t src = (uint32_t)fp[ip[4]] ? ip[2] : ip[3];
        uint64_t lo = fp[src], hi = fp[src + 1];
        fp[ip[1]] = lo; fp[ip[1] + 1] = hi;
        NEXT(5);
    }
    OP(IR_COPY) { fp[ip[1]] = fp[ip[2]]; NEXT(3); }
    OP(IR_COPY_V128) {
        uint64_t lo = fp[ip[2]], hi = fp[ip[2] + 1];
        fp[ip[1]] = lo; fp[ip[1] + 1] = hi;
        NEXT(3);
    }
    OP(0x23) { fp[ip[1]] = inst->globals[ip[2]]->v.cell; NEXT(3); }
    OP(0x24) { inst->globals[ip[1]]->v.cell = fp[ip[2]]; NEXT(3); }
    OP(IR_GLOBAL_GET_V128) { memcpy(&fp[ip[1]], inst->globals[ip[2]]->v.v128, 16); NEXT(3); }
    OP(IR_GLOBAL_SET_V128) { memcpy(inst->globals[ip[1]]->v.v128, &fp[ip[2]], 16); NEXT(3); }

    /* ================= references ================= */
    OP(0xD0) { fp[ip[1]] = 0; NEXT(2); }
    OP(0xD1) { fp[ip[1]] = (void *)(uintptr_t)fp[ip[2]] == NULL; NEXT(3); }
    OP(0xD2) { fp[ip[1]] = (uint64_t)(uintptr_t)inst->funcs[ip[2]]; NEXT(3); }

    /* ================= tables ================= */
    OP(0x25) {   /* table.get [op, tableidx, dst, i] */
        const wm_table *t = inst->tables[ip[1]];
        uint32_t i = (uint32_t)fp[ip[3]];
        if (WM_UNLIKELY(i >= t->size)) TRAP(WM_TRAP_TABLE_OOB);
        fp[ip[2]] = (uint64_t)(uintptr_t)t->elems[i];
        NEXT(4);
    }
    OP(0x26) {   /* table.set [op, tableidx, i, ref] */
        wm_table *t = inst->tables[ip[1]];
        uint32_t i = (uint32_t)fp[ip[2]];
        if (WM_UNLIKELY(i >= t->size)) TRAP(WM_TRAP_TABLE_OOB);
        t->elems[i] = (void *)(uintptr_t)fp[ip[3]];
        NEXT(4);
    }
    OP(0x10C) {  /* table.init [op, elemidx, tableidx, d, s, n] */
        uint32_t ei = ip[1];
        wm_table *t = inst->tables[ip[2]];
        uint64_t d = (uint32_t)fp[ip[3]], sidx = (uint32_t)fp[ip[4]], n = (uint32_t)fp[ip[5]];
        const wm_elemseg *es = &inst->module->elems[ei];
        uint64_t len = inst->elem_dropped[ei] ? 0 : es->count;
        if (WM_UNLIKELY(sidx + n > len || d + n > t->size)) TRAP(WM_TRAP_TABLE_OOB);
        for (uint64_t k = 0; k < n; k++) t->elems[d + k] = elem_item(inst, &es->items[sidx + k]);
        NEXT(6);
    }
    OP(0x10D) { inst->elem_dropped[ip[1]] = 1; NEXT(2); }
    OP(0x10E) {  /* table.copy [op, dsttable, srctable, d, s, n] */
        wm_table *dt = inst->tables[ip[1]];
        const wm_table *st = inst->tables[ip[2]];
        uint64_t d = (uint32_t)fp[ip[3]], sidx = (uint32_t)fp[ip[4]], n = (uint32_t)fp[ip[5]];
        if (WM_UNLIKELY(sidx + n > st->size || d + n > dt->size)) TRAP(WM_TRAP_TABLE_OOB);
        if (n) memmove(dt->elems + d, st->elems + sidx, (size_t)n * sizeof(void *));
        NEXT(6);
    }
    OP(0x10F) {  /* table.grow [op, tableidx, dst, init, n] */
        wm_table *t = inst->tables[ip[1]];
        void *init = (void *)(uintptr_t)fp[ip[3]];
        uint32_t n = (uint32_t)fp[ip[4]];
        fp[ip[2]] = (uint32_t)wm_table_grow_internal(t, n, init);
        NEXT(5);
    }
    OP(0x110) { fp[ip[2]] = inst->tables[ip[1]]->size; NEXT(3); }
    OP(0x111) {  /* table.fill [op, tableidx, i, ref, n] */
        wm_table *t = inst->tables[ip[1]];
        uint64_t i = (uint32_t)fp[ip[2]], n = (uint32_t)fp[ip[4]];
        void *ref = (void *)(uintptr_t)fp[ip[3]];
        if (WM_UNLIKELY(i + n > t->size)) TRAP(WM_TRAP_TABLE_OOB);
        for (uint64_t k = 0; k < n; k++) t->elems[i + k] = ref;
        NEXT(5);
    }

    /* ================= memory ================= */
#define LOAD_OP(n, W, expr)                                                       \
    OP(n) {                                                                       \
        uint64_t ea = (uint64_t)(uint32_t)fp[ip[2]] + ip[3];                      \
        if (WM_UNLIKELY(ea + (W) > msize)) TRAP(WM_TRAP_MEMORY_OOB);              \
        const uint8_t *p = mbase + ea;                                            \
        fp[ip[1]] = (expr);                                                       \
        NEXT(4);                                                                  \
    }
    LOAD_OP(0x28, 4, ld32(p))                                           /* i32.load */
    LOAD_OP(0x29, 8, ld64(p))                                           /* i64.load */
    LOAD_OP(0x2A, 4, ld32(p))                                           /* f32.load */
    LOAD_OP(0x2B, 8, ld64(p))                                           /* f64.load */
    LOAD_OP(0x2C, 1, (uint32_t)(int32_t)(int8_t)ld8(p))                 /* i32.load8_s */
    LOAD_OP(0x2D, 1, ld8(p))                                            /* i32.load8_u */
    LOAD_OP(0x2E, 2, (uint32_t)(int32_t)(int16_t)ld16(p))               /* i32.load16_s */
    LOAD_OP(0x2F, 2, ld16(p))                                           /* i32.load16_u */
    LOAD_OP(0x30, 1, (uint64_t)(int64_t)(int8_t)ld8(p))                 /* i64.load8_s */
    LOAD_OP(0x31, 1, ld8(p))                                            /* i64.load8_u */
    LOAD_OP(0x32, 2, (uint64_t)(int64_t)(int16_t)ld16(p))               /* i64.load16_s */
    LOAD_OP(0x33, 2, ld16(p))                                           /* i64.load16_u */
    LOAD_OP(0x34, 4, (uint64_t)(int64_t)(int32_t)ld32(p))               /* i64.load32_s */
    LOAD_OP(0x35, 4, ld32(p))                                           /* i64.load32_u */
#undef LOAD_OP

#define LOADX_OP(n, W, expr)                                                      \
    OP(n) {                                                                       \
        uint32_t addr = (uint32_t)fp[ip[2]] + (uint32_t)fp[ip[3]];                \
        uint64_t ea = (uint64_t)addr + ip[4];                                     \
        if (WM_UNLIKELY(ea + (W) > msize)) TRAP(WM_TRAP_MEMORY_OOB);              \
        const uint8_t *p = mbase + ea;                                            \
        fp[ip[1]] = (expr);                                                       \
        NEXT(5);                                                                  \
    }
    LOADX_OP(IR_LDX_0x28, 4, ld32(p))
    LOADX_OP(IR_LDX_0x29, 8, ld64(p))
    LOADX_OP(IR_LDX_0x2A, 4, ld32(p))
    LOADX_OP(IR_LDX_0x2B, 8, ld64(p))
    LOADX_OP(IR_LDX_0x2C, 1, (uint32_t)(int32_t)(int8_t)ld8(p))
    LOADX_OP(IR_LDX_0x2D, 1, ld8(p))
    LOADX_OP(IR_LDX_0x2E, 2, (uint32_t)(int32_t)(int16_t)ld16(p))
    LOADX_OP(IR_LDX_0x2F, 2, ld16(p))
    LOADX_OP(IR_LDX_0x30, 1, (uint64_t)(int64_t)(int8_t)ld8(p))
    LOADX_OP(IR_LDX_0x31, 1, ld8(p))
    LOADX_OP(IR_LDX_0x32, 2, (uint64_t)(int64_t)(int16_t)ld16(p))
    LOADX_OP(IR_LDX_0x33, 2, ld16(p))
    LOADX_OP(IR_LDX_0x34, 4, (uint64_t)(int64_t)(int32_t)ld32(p))
    LOADX_OP(IR_LDX_0x35, 4, ld32(p))
#undef LOADX_OP
    OP(IR_LDX_V128) {
        uint32_t addr = (uint32_t)fp[ip[2]] + (uint32_t)fp[ip[3]];
        uint64_t ea = (uint64_t)addr + ip[4];
        if (WM_UNLIKELY(ea + 16 > msize)) TRAP(WM_TRAP_MEMORY_OOB);
        memcpy(&fp[ip[1]], mbase + ea, 16);
        NEXT(5);
    }

#define STORE_OP(n, W, stmt)                                                      \
    OP(n) {                                                                       \
        uint64_t ea = (uint64_t)(uint32_t)fp[ip[1]] + ip[3];                      \
        if (WM_UNLIKELY(ea + (W) > msize)) TRAP(WM_TRAP_MEMORY_OOB);              \
        uint8_t *p = mbase + ea;                                                  \
        uint64_t v = fp[ip[2]];                                                   \
        stmt;                                                                     \
        NEXT(4);                                                                  \
    }
    STORE_OP(0x36, 4, st32(p, (uint32_t)v))                             /* i32.store */
    STORE_OP(0x37, 8, st64(p, v))                                       /* i64.store */
    STORE_OP(0x38, 4, st32(p, (uint32_t)v))                             /* f32.store */
    STORE_OP(0x39, 8, st64(p, v))                                       /* f64.store */
    STORE_OP(0x3A, 1, st8(p, (uint8_t)v))                               /* i32.store8 */
    STORE_OP(0x3B, 2, st16(p, (uint16_t)v))                             /* i32.store16 */
    STORE_OP(0x3C, 1, st8(p, (uint8_t)v))                               /* i64.store8 */
    STORE_OP(0x3D, 2, st16(p, (uint16_t)v))                             /* i64.store16 */
    STORE_OP(0x3E, 4, st32(p, (uint32_t)v))                             /* i64.store32 */
#undef STORE_OP

#define STOREX_OP(n, W, stmt)                                                     \
    OP(n) {                                                                       \
        uint32_t addr = (uint32_t)fp[ip[1]] + (uint32_t)fp[ip[2]];                \
        uint64_t ea = (uint64_t)addr + ip[4];                                     \
        if (WM_UNLIKELY(ea + (W) > msize)) TRAP(WM_TRAP_MEMORY_OOB);              \
        uint8_t *p = mbase + ea;                                                  \
        uint64_t v = fp[ip[3]];                                                   \
        stmt;                                                                     \
        NEXT(5);                                                                  \
    }
    STOREX_OP(IR_STX_0x36, 4, st32(p, (uint32_t)v))
    STOREX_OP(IR_STX_0x37, 8, st64(p, v))
    STOREX_OP(IR_STX_0x38, 4, st32(p, (uint32_t)v))
    STOREX_OP(IR_STX_0x39, 8, st64(p, v))
    STOREX_OP(IR_STX_0x3A, 1, st8(p, (uint8_t)v))
    STOREX_OP(IR_STX_0x3B, 2, st16(p, (uint16_t)v))
    STOREX_OP(IR_STX_0x3C, 1, st8(p, (uint8_t)v))
    STOREX_OP(IR_STX_0x3D, 2, st16(p, (uint16_t)v))
    STOREX_OP(IR_STX_0x3E, 4, st32(p, (uint32_t)v))
#undef STOREX_OP
    OP(IR_STX_V128) {
        uint32_t addr = (uint32_t)fp[ip[1]] + (uint32_t)fp[ip[2]];
        uint64_t ea = (uint64_t)addr + ip[4];
        if (WM_UNLIKELY(ea + 16 > msize)) TRAP(WM_TRAP_MEMORY_OOB);
        memcpy(mbase + ea, &fp[ip[3]], 16);
        NEXT(5);
    }

    OP(0x3F) { fp[ip[1]] = (uint32_t)(msize / WM_PAGE_SIZE); NEXT(2); }
    OP(0x40) {   /* memory.grow [op, dst, delta] */
        uint32_t delta = (uint32_t)fp[ip[2]];
        int32_t r = mem ? wm_memory_grow_internal(mem, delta) : -1;
        RELOAD_MEM();
        fp[ip[1]] = (uint32_t)r;
        NEXT(3);
    }
    OP(0x108) {  /* memory.init [op, dataidx, d, s, n] */
        uint32_t di = ip[1];
        uint64_t d = (uint32_t)fp[ip[2]], sidx = (uint32_t)fp[ip[3]], n = (uint32_t)fp[ip[4]];
        const wm_dataseg *ds = &inst->module->datas[di];
        uint64_t len = inst->data_dropped[di] ? 0 : ds->len;
        if (WM_UNLIKELY(sidx + n > len || d + n > msize)) TRAP(WM_TRAP_MEMORY_OOB);
        if (n) memcpy(mbase + d, ds->bytes + sidx, (size_t)n);
        NEXT(5);
    }
    OP(0x109) { inst->data_dropped[ip[1]] = 1; NEXT(2); }
    OP(0x10A) {  /* memory.copy [op, d, s, n] */
        uint64_t d = (uint32_t)fp[ip[1]], sidx = (uint32_t)fp[ip[2]], n = (uint32_t)fp[ip[3]];
        if (WM_UNLIKELY(sidx + n > msize || d + n > msize)) TRAP(WM_TRAP_MEMORY_OOB);
        if (n) memmove(mbase + d, mbase + sidx, (size_t)n);
        NEXT(4);
    }
    OP(0x10B) {  /* memory.fill [op, d, val, n] */
        uint64_t d = (uint32_t)fp[ip[1]], n = (uint32_t)fp[ip[3]];
        uint8_t val = (uint8_t)fp[ip[2]];
        if (WM_UNLIKELY(d + n > msize)) TRAP(WM_TRAP_MEMORY_OOB);
        if (n) memset(mbase + d, val, (size_t)n);
        NEXT(4);
    }

    /* ================= constants ================= */
    OP(0x41) { fp[ip[1]] = ip[2]; NEXT(3); }
    OP(0x42) { fp[ip[1]] = (uint64_t)ip[2] | ((uint64_t)ip[3] << 32); NEXT(4); }
    OP(0x43) { fp[ip[1]] = ip[2]; NEXT(3); }
    OP(0x44) { fp[ip[1]] = (uint64_t)ip[2] | ((uint64_t)ip[3] << 32); NEXT(4); }

    /* ================= i32 ================= */
#define I32_UN(n, expr)                                                           \
    OP(n) { uint32_t a = (uint32_t)fp[ip[2]]; fp[ip[1]] = (uint32_t)(expr); NEXT(3); }
#define I32_BIN(n, expr)                                                          \
    OP(n) {                                                                       \
        uint32_t a = (uint32_t)fp[ip[2]], b = (uint32_t)fp[ip[3]];                \
        fp[ip[1]] = (uint32_t)(expr);                                             \
        NEXT(4);                                                                  \
    }
    I32_UN(0x45, a == 0)
    I32_BIN(0x46, a == b)
    I32_BIN(0x47, a != b)
    I32_BIN(0x48, (int32_t)a < (int32_t)b)
    I32_BIN(0x49, a < b)
    I32_BIN(0x4A, (int32_t)a > (int32_t)b)
    I32_BIN(0x4B, a > b)
    I32_BIN(0x4C, (int32_t)a <= (int32_t)b)
    I32_BIN(0x4D, a <= b)
    I32_BIN(0x4E, (int32_t)a >= (int32_t)b)
    I32_BIN(0x4F, a >= b)
    I32_UN(0x67, clz32(a))
    I32_UN(0x68, ctz32(a))
    I32_UN(0x69, popcnt32(a))
    I32_BIN(0x6A, a + b)
    I32_BIN(0x6B, a - b)
    I32_BIN(0x6C, a * b)
    OP(0x6D) {   /* i32.div_s */
        uint32_t a = (uint32_t)fp[ip[2]], b = (uint32_t)fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        if (WM_UNLIKELY(a == 0x80000000u && b == 0xFFFFFFFFu)) TRAP(WM_TRAP_INT_OVERFLOW);
        fp[ip[1]] = (uint32_t)((int32_t)a / (int32_t)b);
        NEXT(4);
    }
    OP(0x6E) {   /* i32.div_u */
        uint32_t a = (uint32_t)fp[ip[2]], b = (uint32_t)fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        fp[ip[1]] = a / b;
        NEXT(4);
    }
    OP(0x6F) {   /* i32.rem_s */
        uint32_t a = (uint32_t)fp[ip[2]], b = (uint32_t)fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        fp[ip[1]] = WM_UNLIKELY(b == 0xFFFFFFFFu) ? 0u : (uint32_t)((int32_t)a % (int32_t)b);
        NEXT(4);
    }
    OP(0x70) {   /* i32.rem_u */
        uint32_t a = (uint32_t)fp[ip[2]], b = (uint32_t)fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        fp[ip[1]] = a % b;
        NEXT(4);
    }
    I32_BIN(0x71, a & b)
    I32_BIN(0x72, a | b)
    I32_BIN(0x73, a ^ b)
    I32_BIN(0x74, a << (b & 31))
    I32_BIN(0x75, (uint32_t)((int32_t)a >> (b & 31)))
    I32_BIN(0x76, a >> (b & 31))
    I32_BIN(0x77, rotl32(a, b))
    I32_BIN(0x78, rotr32(a, b))
    I32_UN(0xC0, (int32_t)(int8_t)(uint8_t)a)
    I32_UN(0xC1, (int32_t)(int16_t)(uint16_t)a)
#undef I32_UN
#undef I32_BIN

    /* ================= i64 ================= */
#define I64_UN(n, expr)                                                           \
    OP(n) { uint64_t a = fp[ip[2]]; fp[ip[1]] = (uint64_t)(expr); NEXT(3); }
#define I64_BIN(n, expr)                                                          \
    OP(n) {                                                                       \
        uint64_t a = fp[ip[2]], b = fp[ip[3]];                                    \
        fp[ip[1]] = (uint64_t)(expr);                                             \
        NEXT(4);                                                                  \
    }
    I64_UN(0x50, a == 0)
    I64_BIN(0x51, a == b)
    I64_BIN(0x52, a != b)
    I64_BIN(0x53, (int64_t)a < (int64_t)b)
    I64_BIN(0x54, a < b)
    I64_BIN(0x55, (int64_t)a > (int64_t)b)
    I64_BIN(0x56, a > b)
    I64_BIN(0x57, (int64_t)a <= (int64_t)b)
    I64_BIN(0x58, a <= b)
    I64_BIN(0x59, (int64_t)a >= (int64_t)b)
    I64_BIN(0x5A, a >= b)
    I64_UN(0x79, clz64(a))
    I64_UN(0x7A, ctz64(a))
    I64_UN(0x7B, popcnt64(a))
    I64_BIN(0x7C, a + b)
    I64_BIN(0x7D, a - b)
    I64_BIN(0x7E, a * b)
    OP(0x7F) {   /* i64.div_s */
        uint64_t a = fp[ip[2]], b = fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        if (WM_UNLIKELY(a == 0x8000000000000000ull && b == 0xFFFFFFFFFFFFFFFFull)) TRAP(WM_TRAP_INT_OVERFLOW);
        fp[ip[1]] = (uint64_t)((int64_t)a / (int64_t)b);
        NEXT(4);
    }
    OP(0x80) {   /* i64.div_u */
        uint64_t a = fp[ip[2]], b = fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        fp[ip[1]] = a / b;
        NEXT(4);
    }
    OP(0x81) {   /* i64.rem_s */
        uint64_t a = fp[ip[2]], b = fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        fp[ip[1]] = WM_UNLIKELY(b == 0xFFFFFFFFFFFFFFFFull) ? 0u : (uint64_t)((int64_t)a % (int64_t)b);
        NEXT(4);
    }
    OP(0x82) {   /* i64.rem_u */
        uint64_t a = fp[ip[2]], b = fp[ip[3]];
        if (WM_UNLIKELY(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        fp[ip[1]] = a % b;
        NEXT(4);
    }
    I64_BIN(0x83, a & b)
    I64_BIN(0x84, a | b)
    I64_BIN(0x85, a ^ b)
    I64_BIN(0x86, a << (b & 63))
    I64_BIN(0x87, (uint64_t)((int64_t)a >> (b & 63)))
    I64_BIN(0x88, a >> (b & 63))
    I64_BIN(0x89, rotl64(a, b))
    I64_BIN(0x8A, rotr64(a, b))
    I64_UN(0xC2, (int64_t)(int8_t)(uint8_t)a)
    I64_UN(0xC3, (int64_t)(int16_t)(uint16_t)a)
    I64_UN(0xC4, (int64_t)(int32_t)(uint32_t)a)
    I64_UN(0xA7, (uint32_t)a)                                   /* i32.wrap_i64 */
    I64_UN(0xAC, (int64_t)(int32_t)(uint32_t)a)                 /* i64.extend_i32_s */
    I64_UN(0xAD, (uint32_t)a)                                   /* i64.extend_i32_u */
#undef I64_UN
#undef I64_BIN

    /* ================= f32 ================= */
#define F32_CMP(n, expr)                                                          \
    OP(n) {                                                                       \
        float a = f32_of(fp[ip[2]]), b = f32_of(fp[ip[3]]);                       \
        fp[ip[1]] = (uint32_t)(expr);                                             \
        NEXT(4);                                                                  \
    }
#define F32_BIN(n, expr)                                                          \
    OP(n) {                                                                       \
        float a = f32_of(fp[ip[2]]), b = f32_of(fp[ip[3]]);                       \
        fp[ip[1]] = bits_f32(expr);                                               \
        NEXT(4);                                                                  \
    }
#define F32_UN(n, expr)                                                           \
    OP(n) { float a = f32_of(fp[ip[2]]); fp[ip[1]] = bits_f32(expr); NEXT(3); }
    F32_CMP(0x5B, a == b)
    F32_CMP(0x5C, a != b)
    F32_CMP(0x5D, a < b)
    F32_CMP(0x5E, a > b)
    F32_CMP(0x5F, a <= b)
    F32_CMP(0x60, a >= b)
    OP(0x8B) { fp[ip[1]] = (uint32_t)fp[ip[2]] & 0x7FFFFFFFu; NEXT(3); }
    OP(0x8C) { fp[ip[1]] = (uint32_t)fp[ip[2]] ^ 0x80000000u; NEXT(3); }
    F32_UN(0x8D, r_ceilf(a))
    F32_UN(0x8E, r_floorf(a))
    F32_UN(0x8F, r_truncf(a))
    F32_UN(0x90, r_nearestf(a))
    F32_UN(0x91, sqrtf(a))
    F32_BIN(0x92, a + b)
    F32_BIN(0x93, a - b)
    F32_BIN(0x94, a * b)
    F32_BIN(0x95, a / b)
    OP(0x96) { fp[ip[1]] = f32_min_bits(fp[ip[2]], fp[ip[3]]); NEXT(4); }
    OP(0x97) { fp[ip[1]] = f32_max_bits(fp[ip[2]], fp[ip[3]]); NEXT(4); }
    OP(0x98) {
        uint32_t a = (uint32_t)fp[ip[2]], b = (uint32_t)fp[ip[3]];
        fp[ip[1]] = (a & 0x7FFFFFFFu) | (b & 0x80000000u);
        NEXT(4);
    }
#undef F32_CMP
#undef F32_BIN
#undef F32_UN

    /* ================= f64 ================= */
#define F64_CMP(n, expr)                                                          \
    OP(n) {                                                                       \
        double a = f64_of(fp[ip[2]]), b = f64_of(fp[ip[3]]);                      \
        fp[ip[1]] = (uint32_t)(expr);                                             \
        NEXT(4);                                                                  \
    }
#define F64_BIN(n, expr)                                                          \
    OP(n) {                                                                       \
        double a = f64_of(fp[ip[2]]), b = f64_of(fp[ip[3]]);                      \
        fp[ip[1]] = bits_f64(expr);                                               \
        NEXT(4);                                                                  \
    }
#define F64_UN(n, expr)                                                           \
    OP(n) { double a = f64_of(fp[ip[2]]); fp[ip[1]] = bits_f64(expr); NEXT(3); }
    F64_CMP(0x61, a == b)
    F64_CMP(0x62, a != b)
    F64_CMP(0x63, a < b)
    F64_CMP(0x64, a > b)
    F64_CMP(0x65, a <= b)
    F64_CMP(0x66, a >= b)
    OP(0x99) { fp[ip[1]] = fp[ip[2]] & 0x7FFFFFFFFFFFFFFFull; NEXT(3); }
    OP(0x9A) { fp[ip[1]] = fp[ip[2]] ^ 0x8000000000000000ull; NEXT(3); }
    F64_UN(0x9B, r_ceil(a))
    F64_UN(0x9C, r_floor(a))
    F64_UN(0x9D, r_trunc(a))
    F64_UN(0x9E, r_nearest(a))
    F64_UN(0x9F, sqrt(a))
    F64_BIN(0xA0, a + b)
    F64_BIN(0xA1, a - b)
    F64_BIN(0xA2, a * b)
    F64_BIN(0xA3, a / b)
    OP(0xA4) { fp[ip[1]] = f64_min_bits(fp[ip[2]], fp[ip[3]]); NEXT(4); }
    OP(0xA5) { fp[ip[1]] = f64_max_bits(fp[ip[2]], fp[ip[3]]); NEXT(4); }
    OP(0xA6) {
        uint64_t a = fp[ip[2]], b = fp[ip[3]];
        fp[ip[1]] = (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull);
        NEXT(4);
    }
#undef F64_CMP
#undef F64_BIN

    /* ================= conversions ================= */
    /* Trapping truncations: NaN -> invalid conversion, out of range -> integer overflow. */
#define TRUNC_OP(n, FT, OF, lo_ok, hi_ok, conv)                                   \
    OP(n) {                                                                       \
        FT x = OF(fp[ip[2]]);                                                     \
        if (WM_UNLIKELY(!((lo_ok) && (hi_ok))))                                   \
            TRAP(x != x ? WM_TRAP_INVALID_CONVERSION : WM_TRAP_INT_OVERFLOW);    \
        fp[ip[1]] = (conv);                                                       \
        NEXT(3);                                                                  \
    }
    TRUNC_OP(0xA8, float, f32_of, x >= -2147483648.0f, x < 2147483648.0f, (uint32_t)(int32_t)x)
    TRUNC_OP(0xA9, float, f32_of, x > -1.0f, x < 4294967296.0f, (uint32_t)x)
    TRUNC_OP(0xAA, double, f64_of, x > -2147483649.0, x < 2147483648.0, (uint32_t)(int32_t)x)
    TRUNC_OP(0xAB, double, f64_of, x > -1.0, x < 4294967296.0, (uint32_t)x)
    TRUNC_OP(0xAE, float, f32_of, x >= -9223372036854775808.0f, x < 9223372036854775808.0f, (uint64_t)(int64_t)x)
    TRUNC_OP(0xAF, float, f32_of, x > -1.0f, x < 18446744073709551616.0f, (uint64_t)x)
    TRUNC_OP(0xB0, double, f64_of, x >= -9223372036854775808.0, x < 9223372036854775808.0, (uint64_t)(int64_t)x)
    TRUNC_OP(0xB1, double, f64_of, x > -1.0, x < 18446744073709551616.0, (uint64_t)x)
#undef TRUNC_OP
    OP(0xB2) { fp[ip[1]] = bits_f32((float)(int32_t)(uint32_t)fp[ip[2]]); NEXT(3); }
    OP(0xB3) { fp[ip[1]] = bits_f32((float)(uint32_t)fp[ip[2]]); NEXT(3); }
    OP(0xB4) { fp[ip[1]] = bits_f32((float)(int64_t)fp[ip[2]]); NEXT(3); }
    OP(0xB5) { fp[ip[1]] = bits_f32((float)fp[ip[2]]); NEXT(3); }
    OP(0xB6) { fp[ip[1]] = bits_f32((float)f64_of(fp[ip[2]])); NEXT(3); }
    OP(0xB7) { fp[ip[1]] = bits_f64((double)(int32_t)(uint32_t)fp[ip[2]]); NEXT(3); }
    OP(0xB8) { fp[ip[1]] = bits_f64((double)(uint32_t)fp[ip[2]]); NEXT(3); }
    OP(0xB9) { fp[ip[1]] = bits_f64((double)(int64_t)fp[ip[2]]); NEXT(3); }
    OP(0xBA) { fp[ip[1]] = bits_f64((double)fp[ip[2]]); NEXT(3); }
    OP(0xBB) { fp[ip[1]] = bits_f64((double)f32_of(fp[ip[2]])); NEXT(3); }
    OP(0xBC) { fp[ip[1]] = (uint32_t)fp[ip[2]]; NEXT(3); }   /* reinterprets: bit copies */
    OP(0xBD) { fp[ip[1]] = fp[ip[2]]; NEXT(3); }
    OP(0xBE) { fp[ip[1]] = (uint32_t)fp[ip[2]]; NEXT(3); }
    OP(0xBF) { fp[ip[1]] = fp[ip[2]]; NEXT(3); }
    /* Saturating truncations (f32 widen exactly to f64). */
    OP(0x100) { fp[ip[1]] = sat_i32_f64((double)f32_of(fp[ip[2]])); NEXT(3); }
    OP(0x101) { fp[ip[1]] = sat_u32_f64((double)f32_of(fp[ip[2]])); NEXT(3); }
    OP(0x102) { fp[ip[1]] = sat_i32_f64(f64_of(fp[ip[2]])); NEXT(3); }
    OP(0x103) { fp[ip[1]] = sat_u32_f64(f64_of(fp[ip[2]])); NEXT(3); }
    OP(0x104) { fp[ip[1]] = sat_i64_f64((double)f32_of(fp[ip[2]])); NEXT(3); }
    OP(0x105) { fp[ip[1]] = sat_u64_f64((double)f32_of(fp[ip[2]])); NEXT(3); }
    OP(0x106) { fp[ip[1]] = sat_i64_f64(f64_of(fp[ip[2]])); NEXT(3); }
    OP(0x107) { fp[ip[1]] = sat_u64_f64(f64_of(fp[ip[2]])); NEXT(3); }

    /* ================= SIMD ================= */
#include "exec_simd.inc"

#if !WM_THREADED
    default: goto L_illegal;
    }
#endif

    /* ================= call path (shared by IR_CALL / IR_CALL_INDIRECT) ================= */
L_do_call:
    if (WM_UNLIKELY(callee->host != NULL)) {
        FLUSH_TICKS();   /* the host may run wasm or read the fuel */
        CHARGE_FUEL();
        s->nbt = 0;
        trap = wm_call_host(s, callee, inst, fp + cbase);
        RELOAD_MEM();
        if (WM_UNLIKELY(trap != WM_TRAP_NONE)) { host_trap = 1; goto L_trap; }
        ip = ret_ip;
        DISPATCH();
    }
    TICK();
    {
        const wm_code *cc = callee->code;
        uint64_t *nfp = fp + cbase;
        if (WM_UNLIKELY(s->depth >= s->max_depth || nfp + cc->frame_cells > s->stack_end))
            TRAP(WM_TRAP_STACK_EXHAUSTED);
        wm_frame *fr = &s->frames[s->depth++];
        fr->ret_ip = ret_ip;
        fr->fp = fp;
        fr->func = func;
        if (cc->local_cells) {
            uint64_t *l = nfp + cc->param_cells;
            uint32_t nl = cc->local_cells;
            switch (nl) {   /* small counts inline: a loop here becomes `rep stos` */
            default: memset(l, 0, (size_t)nl * sizeof(uint64_t)); break;
            case 8: l[7] = 0; WM_FALLTHROUGH;
            case 7: l[6] = 0; WM_FALLTHROUGH;
            case 6: l[5] = 0; WM_FALLTHROUGH;
            case 5: l[4] = 0; WM_FALLTHROUGH;
            case 4: l[3] = 0; WM_FALLTHROUGH;
            case 3: l[2] = 0; WM_FALLTHROUGH;
            case 2: l[1] = 0; WM_FALLTHROUGH;
            case 1: l[0] = 0; break;
            }
        }
        if (cc->nconsts) {
            uint64_t *k = nfp + cc->param_cells + cc->local_cells;
            const uint64_t *src = cc->consts;
            uint32_t nk = cc->nconsts;
            for (uint32_t i = 0; i < nk; i++) k[i] = src[i];
        }
        fp = nfp;
        func = callee;
        code = cc->ops;
        ip = code;
        if (WM_UNLIKELY(callee->inst != inst)) { inst = callee->inst; RELOAD_MEM(); }
        DISPATCH();
    }

L_illegal:
    trap = illegal_op(s, *ip);
    goto L_trap;

L_trap:
    if (ticks && s->fuel_left >= (int64_t)ticks) s->fuel_left -= ticks;   /* no trap from this */
    record_backtrace(s, func, entry_depth, host_trap);
    s->depth = entry_depth;
    return trap;

#undef RELOAD_MEM
#undef TRAP
#undef SLOT
#undef LOAD_V128
#undef STORE_V128
#undef CHARGE_FUEL
#undef TICK
#undef FLUSH_TICKS
#undef WM_FUEL_BATCH
#undef OP
#undef DISPATCH
#undef NEXT
#undef MEMADDR
#undef JUMP
}

#ifndef WM_EXEC_NO_DISPATCH
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SSE4_1__)
#include <cpuid.h>
wm_trap wm_interp_run_sse41(wm_store *s, wm_func *f, uint64_t *fp);
typedef wm_trap (*wm_exec_fn)(wm_store *, wm_func *, uint64_t *);
static wm_exec_fn exec_pick(void)
{
    /* The SIMD128 shuffles, swizzles, rounding and dot products have single instructions there. CPUID leaf 1
     * directly, not __builtin_cpu_supports: that links libgcc's detector, a constructor issuing a dozen CPUIDs
     * (each a hypervisor exit in a VM) at every process start. */
    unsigned a, b, c, d;
    bool sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) && (c & bit_SSSE3);
    if (sse41 && !getenv("WASMIND_GENERIC_INTERP"))
        return wm_interp_run_sse41;
    return wm_interp_run_generic;
}
wm_trap wm_interp_run(wm_store *s, wm_func *f, uint64_t *fp)
{
    static wm_exec_fn run;
    if (!run) run = exec_pick();
    return run(s, f, fp);
}
#else
wm_trap wm_interp_run(wm_store *s, wm_func *f, uint64_t *fp) { return wm_interp_run_generic(s, f, fp); }
#endif
#endif
