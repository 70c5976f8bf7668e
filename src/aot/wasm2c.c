/* wasm2c.c — the AOT translator: turns a decoded, validated wm_module into C source (one C function
 * per wasm function, operand stack as C temporaries, control flow as gotos) for aot.c to compile. */
#include "aot.h"
#include "../runtime/runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable text buffer ------------------------------------------------------------------ */
typedef struct sbuf { char *p; size_t n, cap; bool oom; } sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = true; return; }
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) { sb_putn(b, tmp, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) { b->oom = true; return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

/* ---- SIMD opcode table (mirrors src/interp/exec_simd.inc) --------------------------------------- */
enum { S_NONE, S_UNOP, S_BINOP, S_TESTOP, S_SHIFTOP, S_LOAD_EXT };
static const struct { uint8_t kind; const char *fn; } simd_tab[256] = {
    [0x01] = { S_LOAD_EXT, "wm_i16x8_extend_low_i8x16_s" },
    [0x02] = { S_LOAD_EXT, "wm_i16x8_extend_low_i8x16_u" },
    [0x03] = { S_LOAD_EXT, "wm_i32x4_extend_low_i16x8_s" },
    [0x04] = { S_LOAD_EXT, "wm_i32x4_extend_low_i16x8_u" },
    [0x05] = { S_LOAD_EXT, "wm_i64x2_extend_low_i32x4_s" },
    [0x06] = { S_LOAD_EXT, "wm_i64x2_extend_low_i32x4_u" },
    [0x0E] = { S_BINOP, "wm_i8x16_swizzle" },
    [0x23] = { S_BINOP, "wm_i8x16_eq" },
    [0x24] = { S_BINOP, "wm_i8x16_ne" },
    [0x25] = { S_BINOP, "wm_i8x16_lt_s" },
    [0x26] = { S_BINOP, "wm_i8x16_lt_u" },
    [0x27] = { S_BINOP, "wm_i8x16_gt_s" },
    [0x28] = { S_BINOP, "wm_i8x16_gt_u" },
    [0x29] = { S_BINOP, "wm_i8x16_le_s" },
    [0x2A] = { S_BINOP, "wm_i8x16_le_u" },
    [0x2B] = { S_BINOP, "wm_i8x16_ge_s" },
    [0x2C] = { S_BINOP, "wm_i8x16_ge_u" },
    [0x2D] = { S_BINOP, "wm_i16x8_eq" },
    [0x2E] = { S_BINOP, "wm_i16x8_ne" },
    [0x2F] = { S_BINOP, "wm_i16x8_lt_s" },
    [0x30] = { S_BINOP, "wm_i16x8_lt_u" },
    [0x31] = { S_BINOP, "wm_i16x8_gt_s" },
    [0x32] = { S_BINOP, "wm_i16x8_gt_u" },
    [0x33] = { S_BINOP, "wm_i16x8_le_s" },
    [0x34] = { S_BINOP, "wm_i16x8_le_u" },
    [0x35] = { S_BINOP, "wm_i16x8_ge_s" },
    [0x36] = { S_BINOP, "wm_i16x8_ge_u" },
    [0x37] = { S_BINOP, "wm_i32x4_eq" },
    [0x38] = { S_BINOP, "wm_i32x4_ne" },
    [0x39] = { S_BINOP, "wm_i32x4_lt_s" },
    [0x3A] = { S_BINOP, "wm_i32x4_lt_u" },
    [0x3B] = { S_BINOP, "wm_i32x4_gt_s" },
    [0x3C] = { S_BINOP, "wm_i32x4_gt_u" },
    [0x3D] = { S_BINOP, "wm_i32x4_le_s" },
    [0x3E] = { S_BINOP, "wm_i32x4_le_u" },
    [0x3F] = { S_BINOP, "wm_i32x4_ge_s" },
    [0x40] = { S_BINOP, "wm_i32x4_ge_u" },
    [0x41] = { S_BINOP, "wm_f32x4_eq" },
    [0x42] = { S_BINOP, "wm_f32x4_ne" },
    [0x43] = { S_BINOP, "wm_f32x4_lt" },
    [0x44] = { S_BINOP, "wm_f32x4_gt" },
    [0x45] = { S_BINOP, "wm_f32x4_le" },
    [0x46] = { S_BINOP, "wm_f32x4_ge" },
    [0x47] = { S_BINOP, "wm_f64x2_eq" },
    [0x48] = { S_BINOP, "wm_f64x2_ne" },
    [0x49] = { S_BINOP, "wm_f64x2_lt" },
    [0x4A] = { S_BINOP, "wm_f64x2_gt" },
    [0x4B] = { S_BINOP, "wm_f64x2_le" },
    [0x4C] = { S_BINOP, "wm_f64x2_ge" },
    [0x4D] = { S_UNOP, "wm_v128_not" },
    [0x4E] = { S_BINOP, "wm_v128_and" },
    [0x4F] = { S_BINOP, "wm_v128_andnot" },
    [0x50] = { S_BINOP, "wm_v128_or" },
    [0x51] = { S_BINOP, "wm_v128_xor" },
    [0x53] = { S_TESTOP, "wm_v128_any_true" },
    [0x5E] = { S_UNOP, "wm_f32x4_demote_f64x2_zero" },
    [0x5F] = { S_UNOP, "wm_f64x2_promote_low_f32x4" },
    [0x60] = { S_UNOP, "wm_i8x16_abs" },
    [0x61] = { S_UNOP, "wm_i8x16_neg" },
    [0x62] = { S_UNOP, "wm_i8x16_popcnt" },
    [0x63] = { S_TESTOP, "wm_i8x16_all_true" },
    [0x64] = { S_TESTOP, "wm_i8x16_bitmask" },
    [0x65] = { S_BINOP, "wm_i8x16_narrow_i16x8_s" },
    [0x66] = { S_BINOP, "wm_i8x16_narrow_i16x8_u" },
    [0x67] = { S_UNOP, "wm_f32x4_ceil" },
    [0x68] = { S_UNOP, "wm_f32x4_floor" },
    [0x69] = { S_UNOP, "wm_f32x4_trunc" },
    [0x6A] = { S_UNOP, "wm_f32x4_nearest" },
    [0x6B] = { S_SHIFTOP, "wm_i8x16_shl" },
    [0x6C] = { S_SHIFTOP, "wm_i8x16_shr_s" },
    [0x6D] = { S_SHIFTOP, "wm_i8x16_shr_u" },
    [0x6E] = { S_BINOP, "wm_i8x16_add" },
    [0x6F] = { S_BINOP, "wm_i8x16_add_sat_s" },
    [0x70] = { S_BINOP, "wm_i8x16_add_sat_u" },
    [0x71] = { S_BINOP, "wm_i8x16_sub" },
    [0x72] = { S_BINOP, "wm_i8x16_sub_sat_s" },
    [0x73] = { S_BINOP, "wm_i8x16_sub_sat_u" },
    [0x74] = { S_UNOP, "wm_f64x2_ceil" },
    [0x75] = { S_UNOP, "wm_f64x2_floor" },
    [0x76] = { S_BINOP, "wm_i8x16_min_s" },
    [0x77] = { S_BINOP, "wm_i8x16_min_u" },
    [0x78] = { S_BINOP, "wm_i8x16_max_s" },
    [0x79] = { S_BINOP, "wm_i8x16_max_u" },
    [0x7A] = { S_UNOP, "wm_f64x2_trunc" },
    [0x7B] = { S_BINOP, "wm_i8x16_avgr_u" },
    [0x7C] = { S_UNOP, "wm_i16x8_extadd_pairwise_i8x16_s" },
    [0x7D] = { S_UNOP, "wm_i16x8_extadd_pairwise_i8x16_u" },
    [0x7E] = { S_UNOP, "wm_i32x4_extadd_pairwise_i16x8_s" },
    [0x7F] = { S_UNOP, "wm_i32x4_extadd_pairwise_i16x8_u" },
    [0x80] = { S_UNOP, "wm_i16x8_abs" },
    [0x81] = { S_UNOP, "wm_i16x8_neg" },
    [0x82] = { S_BINOP, "wm_i16x8_q15mulr_sat_s" },
    [0x83] = { S_TESTOP, "wm_i16x8_all_true" },
    [0x84] = { S_TESTOP, "wm_i16x8_bitmask" },
    [0x85] = { S_BINOP, "wm_i16x8_narrow_i32x4_s" },
    [0x86] = { S_BINOP, "wm_i16x8_narrow_i32x4_u" },
    [0x87] = { S_UNOP, "wm_i16x8_extend_low_i8x16_s" },
    [0x88] = { S_UNOP, "wm_i16x8_extend_high_i8x16_s" },
    [0x89] = { S_UNOP, "wm_i16x8_extend_low_i8x16_u" },
    [0x8A] = { S_UNOP, "wm_i16x8_extend_high_i8x16_u" },
    [0x8B] = { S_SHIFTOP, "wm_i16x8_shl" },
    [0x8C] = { S_SHIFTOP, "wm_i16x8_shr_s" },
    [0x8D] = { S_SHIFTOP, "wm_i16x8_shr_u" },
    [0x8E] = { S_BINOP, "wm_i16x8_add" },
    [0x8F] = { S_BINOP, "wm_i16x8_add_sat_s" },
    [0x90] = { S_BINOP, "wm_i16x8_add_sat_u" },
    [0x91] = { S_BINOP, "wm_i16x8_sub" },
    [0x92] = { S_BINOP, "wm_i16x8_sub_sat_s" },
    [0x93] = { S_BINOP, "wm_i16x8_sub_sat_u" },
    [0x94] = { S_UNOP, "wm_f64x2_nearest" },
    [0x95] = { S_BINOP, "wm_i16x8_mul" },
    [0x96] = { S_BINOP, "wm_i16x8_min_s" },
    [0x97] = { S_BINOP, "wm_i16x8_min_u" },
    [0x98] = { S_BINOP, "wm_i16x8_max_s" },
    [0x99] = { S_BINOP, "wm_i16x8_max_u" },
    [0x9B] = { S_BINOP, "wm_i16x8_avgr_u" },
    [0x9C] = { S_BINOP, "wm_i16x8_extmul_low_i8x16_s" },
    [0x9D] = { S_BINOP, "wm_i16x8_extmul_high_i8x16_s" },
    [0x9E] = { S_BINOP, "wm_i16x8_extmul_low_i8x16_u" },
    [0x9F] = { S_BINOP, "wm_i16x8_extmul_high_i8x16_u" },
    [0xA0] = { S_UNOP, "wm_i32x4_abs" },
    [0xA1] = { S_UNOP, "wm_i32x4_neg" },
    [0xA3] = { S_TESTOP, "wm_i32x4_all_true" },
    [0xA4] = { S_TESTOP, "wm_i32x4_bitmask" },
    [0xA7] = { S_UNOP, "wm_i32x4_extend_low_i16x8_s" },
    [0xA8] = { S_UNOP, "wm_i32x4_extend_high_i16x8_s" },
    [0xA9] = { S_UNOP, "wm_i32x4_extend_low_i16x8_u" },
    [0xAA] = { S_UNOP, "wm_i32x4_extend_high_i16x8_u" },
    [0xAB] = { S_SHIFTOP, "wm_i32x4_shl" },
    [0xAC] = { S_SHIFTOP, "wm_i32x4_shr_s" },
    [0xAD] = { S_SHIFTOP, "wm_i32x4_shr_u" },
    [0xAE] = { S_BINOP, "wm_i32x4_add" },
    [0xB1] = { S_BINOP, "wm_i32x4_sub" },
    [0xB5] = { S_BINOP, "wm_i32x4_mul" },
    [0xB6] = { S_BINOP, "wm_i32x4_min_s" },
    [0xB7] = { S_BINOP, "wm_i32x4_min_u" },
    [0xB8] = { S_BINOP, "wm_i32x4_max_s" },
    [0xB9] = { S_BINOP, "wm_i32x4_max_u" },
    [0xBA] = { S_BINOP, "wm_i32x4_dot_i16x8_s" },
    [0xBC] = { S_BINOP, "wm_i32x4_extmul_low_i16x8_s" },
    [0xBD] = { S_BINOP, "wm_i32x4_extmul_high_i16x8_s" },
    [0xBE] = { S_BINOP, "wm_i32x4_extmul_low_i16x8_u" },
    [0xBF] = { S_BINOP, "wm_i32x4_extmul_high_i16x8_u" },
    [0xC0] = { S_UNOP, "wm_i64x2_abs" },
    [0xC1] = { S_UNOP, "wm_i64x2_neg" },
    [0xC3] = { S_TESTOP, "wm_i64x2_all_true" },
    [0xC4] = { S_TESTOP, "wm_i64x2_bitmask" },
    [0xC7] = { S_UNOP, "wm_i64x2_extend_low_i32x4_s" },
    [0xC8] = { S_UNOP, "wm_i64x2_extend_high_i32x4_s" },
    [0xC9] = { S_UNOP, "wm_i64x2_extend_low_i32x4_u" },
    [0xCA] = { S_UNOP, "wm_i64x2_extend_high_i32x4_u" },
    [0xCB] = { S_SHIFTOP, "wm_i64x2_shl" },
    [0xCC] = { S_SHIFTOP, "wm_i64x2_shr_s" },
    [0xCD] = { S_SHIFTOP, "wm_i64x2_shr_u" },
    [0xCE] = { S_BINOP, "wm_i64x2_add" },
    [0xD1] = { S_BINOP, "wm_i64x2_sub" },
    [0xD5] = { S_BINOP, "wm_i64x2_mul" },
    [0xD6] = { S_BINOP, "wm_i64x2_eq" },
    [0xD7] = { S_BINOP, "wm_i64x2_ne" },
    [0xD8] = { S_BINOP, "wm_i64x2_lt_s" },
    [0xD9] = { S_BINOP, "wm_i64x2_gt_s" },
    [0xDA] = { S_BINOP, "wm_i64x2_le_s" },
    [0xDB] = { S_BINOP, "wm_i64x2_ge_s" },
    [0xDC] = { S_BINOP, "wm_i64x2_extmul_low_i32x4_s" },
    [0xDD] = { S_BINOP, "wm_i64x2_extmul_high_i32x4_s" },
    [0xDE] = { S_BINOP, "wm_i64x2_extmul_low_i32x4_u" },
    [0xDF] = { S_BINOP, "wm_i64x2_extmul_high_i32x4_u" },
    [0xE0] = { S_UNOP, "wm_f32x4_abs" },
    [0xE1] = { S_UNOP, "wm_f32x4_neg" },
    [0xE3] = { S_UNOP, "wm_f32x4_sqrt" },
    [0xE4] = { S_BINOP, "wm_f32x4_add" },
    [0xE5] = { S_BINOP, "wm_f32x4_sub" },
    [0xE6] = { S_BINOP, "wm_f32x4_mul" },
    [0xE7] = { S_BINOP, "wm_f32x4_div" },
    [0xE8] = { S_BINOP, "wm_f32x4_min" },
    [0xE9] = { S_BINOP, "wm_f32x4_max" },
    [0xEA] = { S_BINOP, "wm_f32x4_pmin" },
    [0xEB] = { S_BINOP, "wm_f32x4_pmax" },
    [0xEC] = { S_UNOP, "wm_f64x2_abs" },
    [0xED] = { S_UNOP, "wm_f64x2_neg" },
    [0xEF] = { S_UNOP, "wm_f64x2_sqrt" },
    [0xF0] = { S_BINOP, "wm_f64x2_add" },
    [0xF1] = { S_BINOP, "wm_f64x2_sub" },
    [0xF2] = { S_BINOP, "wm_f64x2_mul" },
    [0xF3] = { S_BINOP, "wm_f64x2_div" },
    [0xF4] = { S_BINOP, "wm_f64x2_min" },
    [0xF5] = { S_BINOP, "wm_f64x2_max" },
    [0xF6] = { S_BINOP, "wm_f64x2_pmin" },
    [0xF7] = { S_BINOP, "wm_f64x2_pmax" },
    [0xF8] = { S_UNOP, "wm_i32x4_trunc_sat_f32x4_s" },
    [0xF9] = { S_UNOP, "wm_i32x4_trunc_sat_f32x4_u" },
    [0xFA] = { S_UNOP, "wm_f32x4_convert_i32x4_s" },
    [0xFB] = { S_UNOP, "wm_f32x4_convert_i32x4_u" },
    [0xFC] = { S_UNOP, "wm_i32x4_trunc_sat_f64x2_s_zero" },
    [0xFD] = { S_UNOP, "wm_i32x4_trunc_sat_f64x2_u_zero" },
    [0xFE] = { S_UNOP, "wm_f64x2_convert_low_i32x4_s" },
    [0xFF] = { S_UNOP, "wm_f64x2_convert_low_i32x4_u" },
};

/* ---- value classes: every wasm value is a uint32_t, uint64_t or wm_v128 in C -------------------- */
static char vclass(uint8_t t)
{
    switch (t) {
    case WM_I32: case WM_F32: return 'a';
    case WM_V128: return 'c';
    default: return 'b';
    }
}
static const char *ctype(uint8_t t)
{
    char c = vclass(t);
    return c == 'a' ? "uint32_t" : c == 'b' ? "uint64_t" : "wm_v128";
}
static const char *ret_ctype(const wm_type *t) { return t->nresults == 1 ? ctype(t->results[0]) : "void"; }

/* ---- binary readers (the module is validated: no error checks needed beyond bounds) ------------- */
typedef struct rd { const uint8_t *p, *end; } rd;
static uint8_t rd_u8(rd *r) { return r->p < r->end ? *r->p++ : 0; }
static uint64_t rd_uleb(rd *r)
{
    uint64_t v = 0; unsigned shift = 0;
    for (;;) {
        uint8_t b = rd_u8(r);
        if (shift < 64) v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80) || r->p >= r->end) break;
    }
    return v;
}
static int64_t rd_sleb(rd *r)
{
    int64_t v = 0; unsigned shift = 0; uint8_t b;
    do {
        b = rd_u8(r);
        if (shift < 64) v |= (int64_t)((uint64_t)(b & 0x7F) << shift);
        shift += 7;
    } while ((b & 0x80) && r->p < r->end);
    if (shift < 64 && (b & 0x40)) v |= (int64_t)(~0ull << shift);
    return v;
}
static uint32_t rd_u32(rd *r) { return (uint32_t)rd_uleb(r); }

/* ---- translation state ---------------------------------------------------------------------------- */
typedef struct ctl {
    uint8_t kind;          /* 0 function, 1 block, 2 loop, 3 if */
    bool dead;             /* opened in unreachable code: emits nothing */
    bool has_else;
    uint32_t label, base, np, nr;
    uint32_t typeidx;      /* UINT32_MAX: use single */
    uint8_t single;        /* the one result type of a [] -> [t] block, or 0 */
} ctl;

typedef struct gen {
    const wm_module *m;
    sbuf *o;               /* function body being emitted */
    uint8_t *stk; uint32_t h, cap;
    uint32_t maxh[3];
    ctl *c; uint32_t nc, capc;
    uint32_t nlabels;
    bool live;
    bool simd;
    bool too_big;          /* operand stack or nesting beyond what C compilers digest: interpret */
    /* Trap-preserving touches of v128 loads (WM_TOUCH) that turn out to be redundant are blanked: when a loaded
     * vector flows only through lane-wise operations into a v128.store, all 16 bytes are needed, so the C
     * compiler can neither drop nor narrow the load. Per stack slot: body offsets of the touches its value
     * depends on, valid while the slot's epoch is current; any instruction not known to leave the other slots
     * alone starts a new epoch. */
    uint32_t (*tpos)[4];
    uint8_t *tn;
    uint32_t *tepoch;
    uint32_t epoch;
    uint32_t prev_local;   /* local index when the previous instruction was local.get/tee, else UINT32_MAX */
    uint32_t this_local;   /* what prev_local becomes for the next instruction */
    char err[200];
} gen;

static uint8_t ctl_pt(const gen *g, const ctl *c, uint32_t i) { return g->m->types[c->typeidx].params[i]; }
static uint8_t ctl_rt(const gen *g, const ctl *c, uint32_t i)
{
    return c->typeidx == UINT32_MAX ? c->single : g->m->types[c->typeidx].results[i];
}

static int cls_idx(char c) { return c - 'a'; }

/* Name of the C variable holding the value at height h. */
static const char *vn(gen *g, uint32_t h)
{
    static char ring[8][24];
    static unsigned k;
    char *s = ring[k++ & 7];
    snprintf(s, 24, "%c%u", vclass(g->stk[h]), h);
    return s;
}

/* Functions deeper than this (operand stack values or nested blocks) stay in the interpreter:
 * C compilers take super-linear time on them. */
#define WM_AOT_MAX_DEPTH 1000

static bool push(gen *g, uint8_t t)
{
    if (g->h >= WM_AOT_MAX_DEPTH) { g->too_big = true; g->h = WM_AOT_MAX_DEPTH - 1; }
    if (g->h == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 64;
        uint8_t *p = realloc(g->stk, cap);
        if (!p) return false;
        g->stk = p;
        uint32_t (*tp)[4] = realloc(g->tpos, cap * sizeof *tp);
        if (!tp) return false;
        g->tpos = tp;
        uint8_t *tn = realloc(g->tn, cap);
        if (!tn) return false;
        g->tn = tn;
        uint32_t *te = realloc(g->tepoch, cap * sizeof *te);
        if (!te) return false;
        g->tepoch = te;
        g->cap = cap;
    }
    g->stk[g->h] = t;
    g->tn[g->h] = 0;
    int ci = cls_idx(vclass(t));
    if (g->h + 1 > g->maxh[ci]) g->maxh[ci] = g->h + 1;
    if (t == WM_V128) g->simd = true;
    g->h++;
    return true;
}

static bool push_ctl(gen *g, ctl c)
{
    if (g->nc >= WM_AOT_MAX_DEPTH) { g->too_big = true; return false; }
    if (g->nc == g->capc) {
        uint32_t cap = g->capc ? g->capc * 2 : 16;
        ctl *p = realloc(g->c, cap * sizeof *p);
        if (!p) return false;
        g->c = p; g->capc = cap;
    }
    g->c[g->nc++] = c;
    return true;
}

/* Copies the top `arity` values to heights base.. (for a branch), then jumps. */
static void emit_br(gen *g, uint32_t depth)
{
    ctl *t = &g->c[g->nc - 1 - depth];
    bool loop = t->kind == 2;
    uint32_t arity = loop ? t->np : t->nr;
    uint32_t from = g->h - arity;
    for (uint32_t i = 0; i < arity; i++) {
        if (t->base + i == from + i) continue;
        uint8_t ty = g->stk[from + i];
        sb_printf(g->o, "%c%u = %s; ", vclass(ty), t->base + i, vn(g, from + i));
        int ci = cls_idx(vclass(ty));
        if (t->base + i + 1 > g->maxh[ci]) g->maxh[ci] = t->base + i + 1;
    }
    sb_printf(g->o, "goto L%u;", t->label);
}

static void set_top_types(gen *g, const ctl *c, uint32_t n, bool results)
{
    g->h = c->base;
    for (uint32_t i = 0; i < n; i++) push(g, results ? ctl_rt(g, c, i) : ctl_pt(g, c, i));
}

/* ---- per-type helpers: call through wm_func (calli), trampoline from cells (tramp) ----------------- */
static void emit_params_decl(sbuf *o, const wm_type *t, const char *prefix)
{
    sb_puts(o, "wm_aot_ctx *ctx, uint32_t d_");
    for (uint32_t i = 0; i < t->nparams; i++) sb_printf(o, ", %s %s%u", ctype(t->params[i]), prefix, i);
    if (t->nresults > 1) sb_puts(o, ", uint64_t *res_");
}

static void emit_type_helpers(const wm_module *m, sbuf *o, bool define)
{
    for (uint32_t ti = 0; ti < m->ntypes; ti++) {
        const wm_type *t = &m->types[ti];
        sb_printf(o, "typedef %s (*wm_ft%u)(", ret_ctype(t), ti);
        sb_puts(o, "wm_aot_ctx *, uint32_t");
        for (uint32_t i = 0; i < t->nparams; i++) sb_printf(o, ", %s", ctype(t->params[i]));
        if (t->nresults > 1) sb_puts(o, ", uint64_t *");
        sb_puts(o, ");\n");
        if (!define) continue;
        uint32_t cells = t->param_cells > t->result_cells ? t->param_cells : t->result_cells;
        if (!cells) cells = 1;
        /* calli */
        sb_printf(o, "static inline __attribute__((unused)) %s wm_calli%u(", ret_ctype(t), ti);
        sb_puts(o, "wm_aot_ctx *ctx, uint32_t d_, wm_aot_fhead *f_");
        for (uint32_t i = 0; i < t->nparams; i++) sb_printf(o, ", %s p%u", ctype(t->params[i]), i);
        if (t->nresults > 1) sb_puts(o, ", uint64_t *res_");
        sb_puts(o, ")\n{\n    if (WM_LIKELY(f_->aot_fn != 0)) {\n        ");
        if (t->nresults == 1) sb_puts(o, "return ");
        sb_printf(o, "((wm_ft%u)f_->aot_fn)((wm_aot_ctx *)f_->aot_ctx, d_ + 1", ti);
        for (uint32_t i = 0; i < t->nparams; i++) sb_printf(o, ", p%u", i);
        if (t->nresults > 1) sb_puts(o, ", res_");
        sb_puts(o, ");\n");
        if (t->nresults != 1) sb_puts(o, "        return;\n");
        sb_printf(o, "    }\n    uint64_t c_[%u];\n", cells);
        uint32_t k = 0;
        for (uint32_t i = 0; i < t->nparams; i++) {
            if (t->params[i] == WM_V128) { sb_printf(o, "    memcpy(&c_[%u], &p%u, 16);\n", k, i); k += 2; }
            else { sb_printf(o, "    c_[%u] = p%u;\n", k, i); k++; }
        }
        sb_puts(o, "    WM_SYNC_DEPTH(ctx);\n    ctx->rt->call(ctx, f_, c_);\n");
        if (t->nresults == 1) {
            if (t->results[0] == WM_V128) sb_puts(o, "    wm_v128 r_; memcpy(&r_, c_, 16); return r_;\n");
            else sb_printf(o, "    return (%s)c_[0];\n", ctype(t->results[0]));
        } else if (t->nresults > 1) {
            sb_printf(o, "    memcpy(res_, c_, %u);\n", t->result_cells * 8);
        }
        sb_puts(o, "}\n");
        /* tramp */
        sb_printf(o, "static void wm_tramp%u(void *fn, wm_aot_ctx *ctx, uint64_t *c_)\n{\n", ti);
        k = 0;
        for (uint32_t i = 0; i < t->nparams; i++) {
            if (t->params[i] == WM_V128) { sb_printf(o, "    wm_v128 p%u; memcpy(&p%u, &c_[%u], 16);\n", i, i, k); k += 2; }
            else { sb_printf(o, "    %s p%u = (%s)c_[%u];\n", ctype(t->params[i]), i, ctype(t->params[i]), k); k++; }
        }
        sb_puts(o, "    ");
        if (t->nresults == 1) sb_printf(o, "%s r_ = ", ctype(t->results[0]));
        sb_printf(o, "((wm_ft%u)fn)(ctx, *ctx->depth", ti);
        for (uint32_t i = 0; i < t->nparams; i++) sb_printf(o, ", p%u", i);
        if (t->nresults > 1) sb_puts(o, ", c_");
        sb_puts(o, ");\n");
        if (t->nresults == 1) {
            if (t->results[0] == WM_V128) sb_puts(o, "    memcpy(c_, &r_, 16);\n");
            else sb_puts(o, "    c_[0] = r_;\n");
        }
        sb_puts(o, "    (void)c_;\n}\n");
    }
}

/* ---- instructions ---------------------------------------------------------------------------------- */
/* dst at height h-n (after popping n operands and pushing type tout) = fmt(operands) */
static void op_n(gen *g, uint32_t n, uint8_t tout, const char *fmt)
{
    const char *a[3] = { "", "", "" };
    char buf[3][24];
    for (uint32_t i = 0; i < n; i++) { snprintf(buf[i], sizeof buf[i], "%s", vn(g, g->h - n + i)); a[i] = buf[i]; }
    g->h -= n;
    push(g, tout);
    sb_printf(g->o, "%s = ", vn(g, g->h - 1));
    sb_printf(g->o, fmt, a[0], a[1], a[2]);
    sb_puts(g->o, ";\n");
}
#define UN(tin, tout, fmt) do { (void)(tin); op_n(g, 1, tout, fmt); } while (0)
#define BIN(tout, fmt) op_n(g, 2, tout, fmt)

static void emit_load(gen *g, uint8_t tout, const char *expr, uint32_t off)
{
    char a[24];
    snprintf(a, sizeof a, "%s", vn(g, g->h - 1));
    g->h--;
    push(g, tout);
    char ea[64];
    snprintf(ea, sizeof ea, "WM_EA(%s, %" PRIu32 ")", a, off);
    sb_printf(g->o, "%s = ", vn(g, g->h - 1));
    sb_printf(g->o, expr, ea);
    /* the load may trap: keep the compiler from deleting or narrowing it */
    sb_printf(g->o, "; WM_FORCE(%s);\n", vn(g, g->h - 1));
}
/* A v128 load of `width` bytes. Instead of pinning the loaded vector (which drags it through general
 * registers and defeats vector code generation), a volatile read of its last byte keeps the trap: the
 * access is in bounds exactly when its last byte is. */
static void emit_load_v(gen *g, const char *expr, uint32_t off, uint32_t width)
{
    char a[24];
    snprintf(a, sizeof a, "%s", vn(g, g->h - 1));
    g->h--;
    push(g, WM_V128);
    char ea[64];
    snprintf(ea, sizeof ea, "WM_EA(%s, %" PRIu32 ")", a, off);
    g->tpos[g->h - 1][0] = (uint32_t)g->o->n;
    g->tn[g->h - 1] = 1;
    g->tepoch[g->h - 1] = g->epoch;
    sb_printf(g->o, "WM_TOUCH(%s, %u); %s = ", ea, width, vn(g, g->h - 1));
    sb_printf(g->o, expr, ea);
    sb_puts(g->o, ";\n");
}
static void emit_store(gen *g, const char *fn, uint32_t off)
{
    sb_printf(g->o, "%s(WM_EA(%s, %" PRIu32 "), %s);\n", fn, vn(g, g->h - 2), off, vn(g, g->h - 1));
    g->h -= 2;
}

static void emit_call(gen *g, uint32_t ti, const char *callee, const char *fhead)
{
    const wm_type *t = &g->m->types[ti];
    uint32_t base = g->h - t->nparams;
    sbuf *o = g->o;
    sb_puts(o, "{ ");
    if (t->nresults > 1) sb_printf(o, "uint64_t r_[%u]; ", t->result_cells);
    char args[4096]; size_t al = 0;
    args[0] = 0;
    sbuf ab = {0};
    /* direct calls pass the callee's depth; wm_calli* get ours and add one where they enter compiled code */
    if (fhead) sb_printf(&ab, "ctx, d_, %s", fhead);
    else sb_puts(&ab, "ctx, d_ + 1");
    for (uint32_t i = 0; i < t->nparams; i++) sb_printf(&ab, ", %s", vn(g, base + i));
    if (t->nresults > 1) sb_puts(&ab, ", r_");
    (void)args; (void)al;
    g->h = base;
    if (t->nresults == 1) {
        push(g, t->results[0]);
        sb_printf(o, "%s = ", vn(g, g->h - 1));
    }
    sb_printf(o, "%s(%s);", callee, ab.p ? ab.p : "ctx");
    free(ab.p);
    if (t->nresults > 1) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < t->nresults; i++) {
            push(g, t->results[i]);
            if (t->results[i] == WM_V128) { sb_printf(o, " memcpy(&%s, &r_[%u], 16);", vn(g, g->h - 1), k); k += 2; }
            else { sb_printf(o, " %s = (%s)r_[%u];", vn(g, g->h - 1), ctype(t->results[i]), k); k++; }
        }
    }
    sb_puts(o, " }\n");
}

static void read_blocktype(gen *g, rd *r, ctl *c)
{
    c->typeidx = UINT32_MAX; c->single = 0; c->np = 0; c->nr = 0;
    uint8_t b = r->p < r->end ? *r->p : 0x40;
    if (b == 0x40) { r->p++; return; }
    if (b == WM_I32 || b == WM_I64 || b == WM_F32 || b == WM_F64 || b == WM_V128 || b == WM_FUNCREF || b == WM_EXTERNREF) {
        r->p++; c->single = b; c->nr = 1;
        if (b == WM_V128) g->simd = true;
        return;
    }
    int64_t idx = rd_sleb(r);
    c->typeidx = (uint32_t)idx;
    c->np = g->m->types[idx].nparams;
    c->nr = g->m->types[idx].nresults;
}

static void skip_memarg(rd *r, uint32_t *off) { (void)rd_u32(r); *off = rd_u32(r); }

/* Emits the end of control entry c (already popped). */
static void emit_end(gen *g, ctl *c)
{
    sbuf *o = g->o;
    if (c->kind == 3 && !c->has_else) {
        if (g->live) sb_printf(o, "goto L%u;\n", c->label);
        sb_printf(o, "E%u:;\n", c->label);
        for (uint32_t i = 0; i < c->np; i++)
            sb_printf(o, "%c%u = P%u_%u;\n", vclass(ctl_pt(g, c, i)), c->base + i, c->label, i);
        sb_printf(o, "L%u:;\n", c->label);
        g->live = true;
    } else if (c->kind == 2) {
        /* only fallthrough reaches the end of a loop */
    } else {
        sb_printf(o, "L%u:;\n", c->label);
        g->live = true;
    }
    set_top_types(g, c, c->nr, true);
}


static bool skip_immediates(rd *r, uint32_t op)
{
    switch (op) {
    case 0x0C: case 0x0D: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
    case 0x25: case 0x26: case 0xD2: case 0x109: case 0x10D: case 0x10F: case 0x110: case 0x111:
        rd_u32(r); break;
    case 0x0E: { uint32_t n = rd_u32(r); for (uint32_t i = 0; i <= n; i++) rd_u32(r); break; }
    case 0x11: case 0x10C: case 0x10E: rd_u32(r); rd_u32(r); break;
    case 0x1C: { uint32_t n = rd_u32(r); for (uint32_t i = 0; i < n; i++) rd_u8(r); break; }
    case 0x3F: case 0x40: case 0xD0: case 0x10B: rd_u8(r); break;
    case 0x41: case 0x42: rd_sleb(r); break;
    case 0x43: r->p += 4; break;
    case 0x44: r->p += 8; break;
    case 0x108: rd_u32(r); rd_u8(r); break;
    case 0x10A: rd_u8(r); rd_u8(r); break;
    case 0x20C: case 0x20D: r->p += 16; break;
    case 0x25C: case 0x25D: rd_u32(r); rd_u32(r); break;
    default:
        if (op >= 0x28 && op <= 0x3E) { rd_u32(r); rd_u32(r); break; }
        if (op >= 0x200 && op <= 0x20B) { rd_u32(r); rd_u32(r); break; }
        if (op >= 0x215 && op <= 0x222) { rd_u8(r); break; }
        if (op >= 0x254 && op <= 0x25B) { rd_u32(r); rd_u32(r); rd_u8(r); break; }
        break;
    }
    if (r->p > r->end) return false;
    return true;
}

static bool tracked(const gen *g, uint32_t h) { return g->tn[h] && g->tepoch[h] == g->epoch; }

/* v128 operations after which a v128.store proves every operand lane was read: float lane-wise arithmetic,
 * rounding, comparisons and int<->float conversions. IEEE semantics (no -ffast-math, signalling NaNs on) keep the
 * C compiler from folding an operand away (x - x, x * 0 and x == x all depend on x). Integer and bitwise
 * operations are left out on purpose: x - x, x & 0 or x == x fold to constants and would drop the load. */
static bool lanewise_simd(uint32_t sub)
{
    return (sub >= 0x41 && sub <= 0x4C) || (sub >= 0x67 && sub <= 0x6A) || sub == 0x74 || sub == 0x75 ||
           sub == 0x7A || sub == 0x94 || (sub >= 0xE0 && sub <= 0xFB);
}

/* Runs a lane-wise v128 operation of n operands through op_n, carrying the operands' touch lists over. */
static void lanewise_op(gen *g, uint32_t n, const char *fmt)
{
    uint32_t pos[4], k = 0;
    bool keep = true;
    for (uint32_t i = g->h - n; i < g->h && keep; i++) {
        if (!tracked(g, i)) continue;
        for (uint32_t j = 0; j < g->tn[i]; j++) {
            if (k == 4) { keep = false; break; }
            pos[k++] = g->tpos[i][j];
        }
    }
    op_n(g, n, WM_V128, fmt);
    if (keep && k) {
        memcpy(g->tpos[g->h - 1], pos, k * sizeof pos[0]);
        g->tn[g->h - 1] = (uint8_t)k;
        g->tepoch[g->h - 1] = g->epoch;
    }
}

/* A v128.store needs all 16 bytes of its value: the loads it came from can no longer vanish. */
static void blank_touches(gen *g, uint32_t h)
{
    if (!tracked(g, h)) return;
    for (uint32_t j = 0; j < g->tn[h]; j++) {
        char *t = g->o->p + g->tpos[h][j];
        if (strncmp(t, "WM_TOUCH(", 9)) continue;
        for (; *t != ';'; t++) *t = ' ';
        *t = ' ';
    }
    g->tn[h] = 0;
}

/* Recognises the sequence clang's wasm backend emits for a vectorised int -> float conversion of four narrow
 * lanes (there is no such wasm instruction), with V the top of the stack, held in local X as well:
 *   i8x16.extract_lane_u L; f32.convert_i32_u; f32x4.splat;
 *   then for k = 1..3: local.get X; i8x16.extract_lane_u L+k; f32.convert_i32_u; f32x4.replace_lane k
 * (likewise _s lanes with convert_i32_s, and i16x8 lanes), and emits one widening vector conversion: the C
 * compiler does not rebuild it from the per-lane code. r is just past the extract's opcode; on a match the
 * whole sequence is consumed. */
static bool try_lanes_to_f32x4(gen *g, rd *r, uint32_t sub)
{
    if (g->prev_local == UINT32_MAX) return false;
    bool sign = sub == 0x15 || sub == 0x18, wide = sub >= 0x18;
    uint8_t cvt = sign ? 0xB2 : 0xB3;
    rd q = *r;
    uint32_t lane0 = rd_u8(&q);
    if (lane0 % 4 || lane0 + 4 > (wide ? 8u : 16u)) return false;
    if (rd_u8(&q) != cvt || rd_u8(&q) != 0xFD || rd_u32(&q) != 0x13) return false;
    for (uint32_t k = 1; k < 4; k++) {
        if (rd_u8(&q) != 0x20 || rd_u32(&q) != g->prev_local) return false;
        if (rd_u8(&q) != 0xFD || rd_u32(&q) != sub || rd_u8(&q) != lane0 + k) return false;
        if (rd_u8(&q) != cvt || rd_u8(&q) != 0xFD || rd_u32(&q) != 0x20 || rd_u8(&q) != k) return false;
    }
    if (q.p > q.end) return false;
    *r = q;
    const char *vt = wide ? (sign ? "wm_vi16" : "wm_vu16") : (sign ? "wm_vi8" : "wm_vu8");
    const char *v = vn(g, g->h - 1);
    g->h--; push(g, WM_V128);
    sb_printf(g->o, "{ %s t_ = WM_TOVEC(%s, %s); %s = WM_FROMVEC(__builtin_convertvector(__builtin_shufflevector(t_, t_, %u, %u, %u, %u), wm_vf32)); }\n",
              vt, vt, v, vn(g, g->h - 1), lane0, lane0 + 1, lane0 + 2, lane0 + 3);
    return true;
}

static bool translate_simd(gen *g, rd *r, uint32_t sub)
{
    sbuf *o = g->o;
    uint32_t off;
    if ((sub == 0x15 || sub == 0x16 || sub == 0x18 || sub == 0x19) && try_lanes_to_f32x4(g, r, sub)) return true;
    switch (sub) {
    case 0x00: skip_memarg(r, &off); emit_load_v(g, "wm_ldv(%s)", off, 16); return true;
    case 0x07: skip_memarg(r, &off); emit_load_v(g, "wm_i8x16_splat(wm_ld8(%s))", off, 1); return true;
    case 0x08: skip_memarg(r, &off); emit_load_v(g, "wm_i16x8_splat(wm_ld16(%s))", off, 2); return true;
    case 0x09: skip_memarg(r, &off); emit_load_v(g, "wm_i32x4_splat(wm_ld32(%s))", off, 4); return true;
    case 0x0A: skip_memarg(r, &off); emit_load_v(g, "wm_i64x2_splat(wm_ld64(%s))", off, 8); return true;
    case 0x0B: skip_memarg(r, &off); blank_touches(g, g->h - 1); emit_store(g, "wm_stv", off); return true;
    case 0x5C: skip_memarg(r, &off); emit_load_v(g, "wm_ld32z(%s)", off, 4); return true;
    case 0x5D: skip_memarg(r, &off); emit_load_v(g, "wm_ld64z(%s)", off, 8); return true;
    case 0x0C: case 0x0D: {
        uint64_t w[2] = { 0, 0 };
        for (int i = 0; i < 16; i++) w[i / 8] |= (uint64_t)rd_u8(r) << (8 * (i % 8));
        if (sub == 0x0C) {
            push(g, WM_V128);
            sb_printf(o, "%s = WM_FROMVEC(((wm_vu64){ 0x%" PRIx64 "ull, 0x%" PRIx64 "ull }));\n", vn(g, g->h - 1), w[0], w[1]);
        } else {
            char a[24], b[24];
            snprintf(a, sizeof a, "%s", vn(g, g->h - 2));
            snprintf(b, sizeof b, "%s", vn(g, g->h - 1));
            g->h -= 2; push(g, WM_V128);
            sb_printf(o, "{ wm_v128 s_ = WM_FROMVEC(((wm_vu64){ 0x%" PRIx64 "ull, 0x%" PRIx64 "ull })); %s = wm_i8x16_shuffle(%s, %s, s_); }\n",
                      w[0], w[1], vn(g, g->h - 1), a, b);
        }
        return true;
    }
    case 0x0F: UN(WM_I32, WM_V128, "wm_i8x16_splat(%s)"); return true;
    case 0x10: UN(WM_I32, WM_V128, "wm_i16x8_splat(%s)"); return true;
    case 0x11: UN(WM_I32, WM_V128, "wm_i32x4_splat(%s)"); return true;
    case 0x12: UN(WM_I64, WM_V128, "wm_i64x2_splat(%s)"); return true;
    case 0x13: UN(WM_F32, WM_V128, "wm_i32x4_splat(%s)"); return true;
    case 0x14: UN(WM_F64, WM_V128, "wm_i64x2_splat(%s)"); return true;
    case 0x52: op_n(g, 3, WM_V128, "wm_v128_bitselect(%s, %s, %s)"); return true;
    default: break;
    }
    if (sub >= 0x15 && sub <= 0x22) {
        uint32_t lane = rd_u8(r);
        static const struct { bool replace; uint8_t t; const char *field; const char *cast; uint32_t mask; } LN[] = {
            { false, WM_I32, "i8", "(uint32_t)(int32_t)", 15 }, { false, WM_I32, "u8", "(uint32_t)", 15 },
            { true, WM_I32, "u8", "(uint8_t)", 15 },
            { false, WM_I32, "i16", "(uint32_t)(int32_t)", 7 }, { false, WM_I32, "u16", "(uint32_t)", 7 },
            { true, WM_I32, "u16", "(uint16_t)", 7 },
            { false, WM_I32, "u32", "", 3 }, { true, WM_I32, "u32", "", 3 },
            { false, WM_I64, "u64", "", 1 }, { true, WM_I64, "u64", "", 1 },
            { false, WM_F32, "u32", "", 3 }, { true, WM_F32, "u32", "", 3 },
            { false, WM_F64, "u64", "", 1 }, { true, WM_F64, "u64", "", 1 },
        };
        const __typeof__(LN[0]) *e = &LN[sub - 0x15];
        lane &= e->mask;
        if (!e->replace) {
            char v[24]; snprintf(v, sizeof v, "%s", vn(g, g->h - 1));
            g->h--; push(g, e->t);
            /* through GNU vector subscripts, not the union's arrays: the value stays in a vector register */
            sb_printf(o, "%s = %sWM_TOVEC(wm_v%s, %s)[%u];\n", vn(g, g->h - 1), e->cast, e->field, v, lane);
        } else {
            char v[24], x[24];
            snprintf(v, sizeof v, "%s", vn(g, g->h - 2));
            snprintf(x, sizeof x, "%s", vn(g, g->h - 1));
            g->h--;
            sb_printf(o, "{ wm_v%s t_ = WM_TOVEC(wm_v%s, %s); t_[%u] = %s%s; %s = WM_FROMVEC(t_); }\n", e->field, e->field, v,
                      lane, e->cast, x, v);
        }
        return true;
    }
    if (sub >= 0x54 && sub <= 0x5B) {
        skip_memarg(r, &off);
        uint32_t lane = rd_u8(r);
        uint32_t w = 1u << ((sub - 0x54) & 3);
        lane &= 16 / w - 1;
        char a[24], v[24];
        snprintf(a, sizeof a, "%s", vn(g, g->h - 2));
        snprintf(v, sizeof v, "%s", vn(g, g->h - 1));
        unsigned bits = 8 * w;   /* lanes through GNU vector subscripts: the vector stays in a register */
        if (sub <= 0x57) {
            g->h -= 2; push(g, WM_V128);
            sb_printf(o, "WM_TOUCH(WM_EA(%s, %u), %u); { wm_vu%u t_ = WM_TOVEC(wm_vu%u, %s); t_[%u] = wm_ld%u(WM_EA(%s, %u)); %s = WM_FROMVEC(t_); }\n",
                      a, off, w, bits, bits, v, lane, bits, a, off, vn(g, g->h - 1));
        } else {
            g->h -= 2;
            sb_printf(o, "wm_st%u(WM_EA(%s, %u), WM_TOVEC(wm_vu%u, %s)[%u]);\n", bits, a, off, bits, v, lane);
        }
        return true;
    }
    switch (simd_tab[sub].kind) {
    case S_UNOP: { char f[80]; snprintf(f, sizeof f, "%s(%%s)", simd_tab[sub].fn);
        if (lanewise_simd(sub)) lanewise_op(g, 1, f); else UN(WM_V128, WM_V128, f);
        return true; }
    case S_BINOP: { char f[80]; snprintf(f, sizeof f, "%s(%%s, %%s)", simd_tab[sub].fn);
        if (lanewise_simd(sub)) lanewise_op(g, 2, f); else BIN(WM_V128, f);
        return true; }
    case S_TESTOP: { char f[80]; snprintf(f, sizeof f, "(uint32_t)%s(%%s)", simd_tab[sub].fn); UN(WM_V128, WM_I32, f); return true; }
    case S_SHIFTOP: { char f[80]; snprintf(f, sizeof f, "%s(%%s, %%s)", simd_tab[sub].fn); BIN(WM_V128, f); return true; }
    case S_LOAD_EXT: {
        skip_memarg(r, &off);
        char f[80]; snprintf(f, sizeof f, "%s(wm_ld64z(%%s))", simd_tab[sub].fn);
        emit_load_v(g, f, off, 8);
        return true;
    }
    default:
        snprintf(g->err, sizeof g->err, "unsupported SIMD opcode 0xfd %u", sub);
        return false;
    }
}

/* Instructions that only pop their operands and push a fresh result, leaving every other slot's value alone
 * (see gen.tpos); the list is short on purpose: anything else ends the current epoch. */
static bool keeps_other_slots(uint32_t op)
{
    switch (op) {
    case 0x20: case 0x21: case 0x22: case 0x41: case 0x42: case 0x6A: case 0x6B: case 0x6C: case 0x74:
    case 0x200: case 0x201: case 0x202: case 0x203: case 0x204: case 0x205: case 0x206: case 0x207:
    case 0x208: case 0x209: case 0x20A: case 0x20B: case 0x20C: case 0x20F: case 0x210: case 0x211:
    case 0x212: case 0x213: case 0x214: case 0x25C: case 0x25D:
        return true;
    default:
        return op >= 0x200 && lanewise_simd(op - 0x200);
    }
}

static bool translate_body(gen *g, uint32_t defidx)
{
    const wm_module *m = g->m;
    const wm_funcdef *fd = &m->funcdefs[defidx];
    const wm_type *ft = &m->types[fd->type_index];
    sbuf *o = g->o;
    rd r = { fd->body, fd->body + fd->body_len };
    uint32_t nparams = ft->nparams;
    uint8_t *ltypes = malloc((size_t)nparams + fd->nlocals + 1);
    if (!ltypes) return false;
    memcpy(ltypes, ft->params, nparams);
    if (fd->nlocals) memcpy(ltypes + nparams, fd->local_types, fd->nlocals);

    g->h = 0; g->nc = 0; g->nlabels = 1; g->live = true;
    memset(g->maxh, 0, sizeof g->maxh);
    ctl fc = { 0 };
    fc.kind = 0; fc.label = 0; fc.base = 0; fc.typeidx = fd->type_index; fc.np = 0; fc.nr = ft->nresults;
    push_ctl(g, fc);
    bool ok = true;

    g->this_local = UINT32_MAX;
    while (g->nc > 0 && r.p < r.end && !g->too_big) {
        g->prev_local = g->this_local;
        g->this_local = UINT32_MAX;
        uint32_t op = rd_u8(&r);
        if (op == 0xFC) op = 0x100 + rd_u32(&r);
        else if (op == 0xFD) { op = 0x200 + rd_u32(&r); g->simd = true; }
        if (!keeps_other_slots(op)) g->epoch++;
        /* immediates common to dead and live code */
        if (!g->live) {
            ctl *top = &g->c[g->nc - 1];
            switch (op) {
            case 0x02: case 0x03: case 0x04: {
                ctl c = { 0 }; read_blocktype(g, &r, &c); c.dead = true; c.kind = (uint8_t)(op - 1);
                push_ctl(g, c);
                continue;
            }
            case 0x05:
                if (top->dead) continue;
                break;   /* handled below */
            case 0x0B:
                if (top->dead) { g->nc--; continue; }
                break;
            default:
                break;
            }
            if (op != 0x05 && op != 0x0B) {
                /* skip immediates */
                goto skip_imm;
            }
        }
        switch (op) {
        case 0x00: sb_puts(o, "wm_trap(ctx, WM_AOT_TRAP_UNREACHABLE);\n"); g->live = false; break;
        case 0x01: break;
        case 0x02: case 0x03: {
            ctl c = { 0 }; read_blocktype(g, &r, &c);
            c.kind = (uint8_t)(op - 1); c.label = g->nlabels++; c.base = g->h - c.np;
            push_ctl(g, c);
            if (op == 0x03) sb_printf(o, "L%u:; WM_FUEL(ctx);\n", c.label);
            break;
        }
        case 0x04: {
            ctl c = { 0 }; read_blocktype(g, &r, &c);
            c.kind = 3; c.label = g->nlabels++;
            const char *cond = vn(g, g->h - 1);
            char cb[24]; snprintf(cb, sizeof cb, "%s", cond);
            g->h--;
            c.base = g->h - c.np;
            for (uint32_t i = 0; i < c.np; i++)
                sb_printf(o, "%s P%u_%u = %s;\n", ctype(g->stk[c.base + i]), c.label, i, vn(g, c.base + i));
            sb_printf(o, "if (!%s) goto E%u;\n", cb, c.label);
            push_ctl(g, c);
            break;
        }
        case 0x05: {
            ctl *c = &g->c[g->nc - 1];
            if (g->live) sb_printf(o, "goto L%u;\n", c->label);
            sb_printf(o, "E%u:;\n", c->label);
            c->has_else = true;
            set_top_types(g, c, c->np, false);
            for (uint32_t i = 0; i < c->np; i++)
                sb_printf(o, "%s = P%u_%u;\n", vn(g, c->base + i), c->label, i);
            g->live = true;
            break;
        }
        case 0x0B: {
            ctl c = g->c[--g->nc];
            if (c.kind == 0) {
                sb_puts(o, "L0:;\n");
                g->live = true;
                set_top_types(g, &c, c.nr, true);
            } else {
                emit_end(g, &c);
            }
            break;
        }
        case 0x0C: emit_br(g, rd_u32(&r)); sb_puts(o, "\n"); g->live = false; break;
        case 0x0D: {
            uint32_t d = rd_u32(&r);
            char cb[24]; snprintf(cb, sizeof cb, "%s", vn(g, g->h - 1));
            g->h--;
            sb_printf(o, "if (%s) { ", cb);
            emit_br(g, d);
            sb_puts(o, " }\n");
            break;
        }
        case 0x0E: {
            uint32_t n = rd_u32(&r);
            char cb[24]; snprintf(cb, sizeof cb, "%s", vn(g, g->h - 1));
            g->h--;
            sb_printf(o, "switch (%s) {\n", cb);
            for (uint32_t i = 0; i <= n; i++) {
                uint32_t d = rd_u32(&r);
                if (i < n) sb_printf(o, "case %u: ", i); else sb_puts(o, "default: ");
                emit_br(g, d);
                sb_puts(o, "\n");
            }
            sb_puts(o, "}\n");
            g->live = false;
            break;
        }
        case 0x0F: emit_br(g, g->nc - 1); sb_puts(o, "\n"); g->live = false; break;
        case 0x10: {
            uint32_t fi = rd_u32(&r);
            uint32_t ti = m->func_types[fi];
            char callee[48], fh[48];
            if (fi < m->nfunc_imports) {
                snprintf(callee, sizeof callee, "wm_calli%u", ti);
                snprintf(fh, sizeof fh, "ctx->funcs[%u]", fi);
                emit_call(g, ti, callee, fh);
            } else {
                snprintf(callee, sizeof callee, "wasm_f%u", fi);
                emit_call(g, ti, callee, NULL);
            }
            break;
        }
        case 0x11: {
            uint32_t ti = rd_u32(&r), tab = rd_u32(&r);
            char idx[24]; snprintf(idx, sizeof idx, "%s", vn(g, g->h - 1));
            g->h--;
            char callee[48], fh[96];
            snprintf(callee, sizeof callee, "wm_calli%u", ti);
            snprintf(fh, sizeof fh, "wm_indirect(ctx, %u, %u, %s)", tab, ti, idx);
            emit_call(g, ti, callee, fh);
            break;
        }
        case 0x1A: g->h--; break;
        case 0x1B: case 0x1C: {
            if (op == 0x1C) { uint32_t n = rd_u32(&r); for (uint32_t i = 0; i < n; i++) rd_u8(&r); }
            char cb[24], a[24], b[24];
            snprintf(cb, sizeof cb, "%s", vn(g, g->h - 1));
            snprintf(b, sizeof b, "%s", vn(g, g->h - 2));
            snprintf(a, sizeof a, "%s", vn(g, g->h - 3));
            g->h -= 2;
            sb_printf(o, "%s = %s ? %s : %s;\n", a, cb, a, b);
            break;
        }
        case 0x20: { uint32_t i = rd_u32(&r); push(g, ltypes[i]); sb_printf(o, "%s = l%u;\n", vn(g, g->h - 1), i); g->this_local = i; break; }
        case 0x21: { uint32_t i = rd_u32(&r); sb_printf(o, "l%u = %s;\n", i, vn(g, g->h - 1)); g->h--; break; }
        case 0x22: { uint32_t i = rd_u32(&r); sb_printf(o, "l%u = %s;\n", i, vn(g, g->h - 1)); g->this_local = i; break; }
        case 0x23: {
            uint32_t i = rd_u32(&r);
            uint8_t t = m->global_types[i].type;
            push(g, t);
            if (t == WM_V128) sb_printf(o, "memcpy(&%s, ctx->globals[%u], 16);\n", vn(g, g->h - 1), i);
            else sb_printf(o, "%s = (%s)*ctx->globals[%u];\n", vn(g, g->h - 1), ctype(t), i);
            break;
        }
        case 0x24: {
            uint32_t i = rd_u32(&r);
            uint8_t t = m->global_types[i].type;
            if (t == WM_V128) sb_printf(o, "memcpy(ctx->globals[%u], &%s, 16);\n", i, vn(g, g->h - 1));
            else sb_printf(o, "*ctx->globals[%u] = %s;\n", i, vn(g, g->h - 1));
            g->h--;
            break;
        }
        case 0x25: {
            uint32_t t = rd_u32(&r);
            char i[24]; snprintf(i, sizeof i, "%s", vn(g, g->h - 1));
            g->h--; push(g, m->tables[t].elem);
            sb_printf(o, "%s = wm_table_get(ctx, %u, %s);\n", vn(g, g->h - 1), t, i);
            break;
        }
        case 0x26: {
            uint32_t t = rd_u32(&r);
            sb_printf(o, "wm_table_set(ctx, %u, %s, %s);\n", t, vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 2;
            break;
        }
        /* loads / stores */
        case 0x28: case 0x29: case 0x2A: case 0x2B: case 0x2C: case 0x2D: case 0x2E: case 0x2F:
        case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: {
            uint32_t off; skip_memarg(&r, &off);
            static const struct { uint8_t t; const char *e; } L[] = {
                { WM_I32, "wm_ld32(%s)" }, { WM_I64, "wm_ld64(%s)" }, { WM_F32, "wm_ld32(%s)" }, { WM_F64, "wm_ld64(%s)" },
                { WM_I32, "(uint32_t)(int32_t)(int8_t)wm_ld8(%s)" }, { WM_I32, "wm_ld8(%s)" },
                { WM_I32, "(uint32_t)(int32_t)(int16_t)wm_ld16(%s)" }, { WM_I32, "wm_ld16(%s)" },
                { WM_I64, "(uint64_t)(int64_t)(int8_t)wm_ld8(%s)" }, { WM_I64, "(uint64_t)wm_ld8(%s)" },
                { WM_I64, "(uint64_t)(int64_t)(int16_t)wm_ld16(%s)" }, { WM_I64, "(uint64_t)wm_ld16(%s)" },
                { WM_I64, "(uint64_t)(int64_t)(int32_t)wm_ld32(%s)" }, { WM_I64, "(uint64_t)wm_ld32(%s)" },
            };
            emit_load(g, L[op - 0x28].t, L[op - 0x28].e, off);
            break;
        }
        case 0x36: case 0x37: case 0x38: case 0x39: case 0x3A: case 0x3B: case 0x3C: case 0x3D: case 0x3E: {
            uint32_t off; skip_memarg(&r, &off);
            static const char *S[] = { "wm_st32", "wm_st64", "wm_st32", "wm_st64", "wm_st8", "wm_st16",
                                       "wm_st8", "wm_st16", "wm_st32" };
            emit_store(g, S[op - 0x36], off);
            break;
        }
        case 0x3F: rd_u8(&r); push(g, WM_I32); sb_printf(o, "%s = ctx->mem0->pages;\n", vn(g, g->h - 1)); break;
        case 0x40: rd_u8(&r); sb_printf(o, "%s = ctx->rt->mem_grow(ctx, %s);\n", vn(g, g->h - 1), vn(g, g->h - 1)); break;
        case 0x41: { int64_t v = rd_sleb(&r); push(g, WM_I32); sb_printf(o, "%s = %" PRIu32 "u;\n", vn(g, g->h - 1), (uint32_t)v); break; }
        case 0x42: { int64_t v = rd_sleb(&r); push(g, WM_I64); sb_printf(o, "%s = %" PRIu64 "ull;\n", vn(g, g->h - 1), (uint64_t)v); break; }
        case 0x43: {
            uint32_t v = 0;
            for (int i = 0; i < 4; i++) v |= (uint32_t)rd_u8(&r) << (8 * i);
            bool nan = (v & 0x7f800000u) == 0x7f800000u && (v & 0x007fffffu);
            push(g, WM_F32); sb_printf(o, nan ? "%s = WM_OPAQUE(0x%" PRIx32 "u);\n" : "%s = 0x%" PRIx32 "u;\n", vn(g, g->h - 1), v);
            break;
        }
        case 0x44: {
            uint64_t v = 0;
            for (int i = 0; i < 8; i++) v |= (uint64_t)rd_u8(&r) << (8 * i);
            bool nan = (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0x000fffffffffffffull);
            push(g, WM_F64); sb_printf(o, nan ? "%s = WM_OPAQUE(0x%" PRIx64 "ull);\n" : "%s = 0x%" PRIx64 "ull;\n", vn(g, g->h - 1), v);
            break;
        }
        /* i32 */
        case 0x45: UN(WM_I32, WM_I32, "(uint32_t)(%s == 0)"); break;
        case 0x46: BIN(WM_I32, "(uint32_t)(%s == %s)"); break;
        case 0x47: BIN(WM_I32, "(uint32_t)(%s != %s)"); break;
        case 0x48: BIN(WM_I32, "(uint32_t)((int32_t)%s < (int32_t)%s)"); break;
        case 0x49: BIN(WM_I32, "(uint32_t)(%s < %s)"); break;
        case 0x4A: BIN(WM_I32, "(uint32_t)((int32_t)%s > (int32_t)%s)"); break;
        case 0x4B: BIN(WM_I32, "(uint32_t)(%s > %s)"); break;
        case 0x4C: BIN(WM_I32, "(uint32_t)((int32_t)%s <= (int32_t)%s)"); break;
        case 0x4D: BIN(WM_I32, "(uint32_t)(%s <= %s)"); break;
        case 0x4E: BIN(WM_I32, "(uint32_t)((int32_t)%s >= (int32_t)%s)"); break;
        case 0x4F: BIN(WM_I32, "(uint32_t)(%s >= %s)"); break;
        /* i64 compares */
        case 0x50: UN(WM_I64, WM_I32, "(uint32_t)(%s == 0)"); break;
        case 0x51: BIN(WM_I32, "(uint32_t)(%s == %s)"); break;
        case 0x52: BIN(WM_I32, "(uint32_t)(%s != %s)"); break;
        case 0x53: BIN(WM_I32, "(uint32_t)((int64_t)%s < (int64_t)%s)"); break;
        case 0x54: BIN(WM_I32, "(uint32_t)(%s < %s)"); break;
        case 0x55: BIN(WM_I32, "(uint32_t)((int64_t)%s > (int64_t)%s)"); break;
        case 0x56: BIN(WM_I32, "(uint32_t)(%s > %s)"); break;
        case 0x57: BIN(WM_I32, "(uint32_t)((int64_t)%s <= (int64_t)%s)"); break;
        case 0x58: BIN(WM_I32, "(uint32_t)(%s <= %s)"); break;
        case 0x59: BIN(WM_I32, "(uint32_t)((int64_t)%s >= (int64_t)%s)"); break;
        case 0x5A: BIN(WM_I32, "(uint32_t)(%s >= %s)"); break;
        /* f32 / f64 compares */
        case 0x5B: BIN(WM_I32, "(uint32_t)(wm_f32(%s) == wm_f32(%s))"); break;
        case 0x5C: BIN(WM_I32, "(uint32_t)(wm_f32(%s) != wm_f32(%s))"); break;
        case 0x5D: BIN(WM_I32, "(uint32_t)(wm_f32(%s) < wm_f32(%s))"); break;
        case 0x5E: BIN(WM_I32, "(uint32_t)(wm_f32(%s) > wm_f32(%s))"); break;
        case 0x5F: BIN(WM_I32, "(uint32_t)(wm_f32(%s) <= wm_f32(%s))"); break;
        case 0x60: BIN(WM_I32, "(uint32_t)(wm_f32(%s) >= wm_f32(%s))"); break;
        case 0x61: BIN(WM_I32, "(uint32_t)(wm_f64(%s) == wm_f64(%s))"); break;
        case 0x62: BIN(WM_I32, "(uint32_t)(wm_f64(%s) != wm_f64(%s))"); break;
        case 0x63: BIN(WM_I32, "(uint32_t)(wm_f64(%s) < wm_f64(%s))"); break;
        case 0x64: BIN(WM_I32, "(uint32_t)(wm_f64(%s) > wm_f64(%s))"); break;
        case 0x65: BIN(WM_I32, "(uint32_t)(wm_f64(%s) <= wm_f64(%s))"); break;
        case 0x66: BIN(WM_I32, "(uint32_t)(wm_f64(%s) >= wm_f64(%s))"); break;
        /* i32 arithmetic */
        case 0x67: UN(WM_I32, WM_I32, "wm_clz32(%s)"); break;
        case 0x68: UN(WM_I32, WM_I32, "wm_ctz32(%s)"); break;
        case 0x69: UN(WM_I32, WM_I32, "wm_popcnt32(%s)"); break;
        case 0x6A: BIN(WM_I32, "%s + %s"); break;
        case 0x6B: BIN(WM_I32, "%s - %s"); break;
        case 0x6C: BIN(WM_I32, "%s * %s"); break;
        case 0x6D: BIN(WM_I32, "wm_i32_div_s(ctx, %s, %s)"); break;
        case 0x6E: BIN(WM_I32, "wm_i32_div_u(ctx, %s, %s)"); break;
        case 0x6F: BIN(WM_I32, "wm_i32_rem_s(ctx, %s, %s)"); break;
        case 0x70: BIN(WM_I32, "wm_i32_rem_u(ctx, %s, %s)"); break;
        case 0x71: BIN(WM_I32, "%s & %s"); break;
        case 0x72: BIN(WM_I32, "%s | %s"); break;
        case 0x73: BIN(WM_I32, "%s ^ %s"); break;
        case 0x74: BIN(WM_I32, "%s << (%s & 31)"); break;
        case 0x75: BIN(WM_I32, "(uint32_t)((int32_t)%s >> (%s & 31))"); break;
        case 0x76: BIN(WM_I32, "%s >> (%s & 31)"); break;
        case 0x77: BIN(WM_I32, "wm_rotl32(%s, %s)"); break;
        case 0x78: BIN(WM_I32, "wm_rotr32(%s, %s)"); break;
        /* i64 arithmetic */
        case 0x79: UN(WM_I64, WM_I64, "wm_clz64(%s)"); break;
        case 0x7A: UN(WM_I64, WM_I64, "wm_ctz64(%s)"); break;
        case 0x7B: UN(WM_I64, WM_I64, "wm_popcnt64(%s)"); break;
        case 0x7C: BIN(WM_I64, "%s + %s"); break;
        case 0x7D: BIN(WM_I64, "%s - %s"); break;
        case 0x7E: BIN(WM_I64, "%s * %s"); break;
        case 0x7F: BIN(WM_I64, "wm_i64_div_s(ctx, %s, %s)"); break;
        case 0x80: BIN(WM_I64, "wm_i64_div_u(ctx, %s, %s)"); break;
        case 0x81: BIN(WM_I64, "wm_i64_rem_s(ctx, %s, %s)"); break;
        case 0x82: BIN(WM_I64, "wm_i64_rem_u(ctx, %s, %s)"); break;
        case 0x83: BIN(WM_I64, "%s & %s"); break;
        case 0x84: BIN(WM_I64, "%s | %s"); break;
        case 0x85: BIN(WM_I64, "%s ^ %s"); break;
        case 0x86: BIN(WM_I64, "%s << (%s & 63)"); break;
        case 0x87: BIN(WM_I64, "(uint64_t)((int64_t)%s >> (%s & 63))"); break;
        case 0x88: BIN(WM_I64, "%s >> (%s & 63)"); break;
        case 0x89: BIN(WM_I64, "wm_rotl64(%s, %s)"); break;
        case 0x8A: BIN(WM_I64, "wm_rotr64(%s, %s)"); break;
        /* f32 */
        case 0x8B: UN(WM_F32, WM_F32, "%s & 0x7FFFFFFFu"); break;
        case 0x8C: UN(WM_F32, WM_F32, "%s ^ 0x80000000u"); break;
        case 0x8D: UN(WM_F32, WM_F32, "wm_b32(wm_ceilf(wm_f32(%s)))"); break;
        case 0x8E: UN(WM_F32, WM_F32, "wm_b32(wm_floorf(wm_f32(%s)))"); break;
        case 0x8F: UN(WM_F32, WM_F32, "wm_b32(wm_truncf(wm_f32(%s)))"); break;
        case 0x90: UN(WM_F32, WM_F32, "wm_b32(wm_nearestf(wm_f32(%s)))"); break;
        case 0x91: UN(WM_F32, WM_F32, "wm_b32(sqrtf(wm_f32(%s)))"); break;
        case 0x92: BIN(WM_F32, "wm_b32(wm_f32(%s) + wm_f32(%s))"); break;
        case 0x93: BIN(WM_F32, "wm_b32(wm_f32(%s) - wm_f32(%s))"); break;
        case 0x94: BIN(WM_F32, "wm_b32(wm_f32(%s) * wm_f32(%s))"); break;
        case 0x95: BIN(WM_F32, "wm_b32(wm_f32(%s) / wm_f32(%s))"); break;
        case 0x96: BIN(WM_F32, "wm_f32_min(%s, %s)"); break;
        case 0x97: BIN(WM_F32, "wm_f32_max(%s, %s)"); break;
        case 0x98: BIN(WM_F32, "(%s & 0x7FFFFFFFu) | (%s & 0x80000000u)"); break;
        /* f64 */
        case 0x99: UN(WM_F64, WM_F64, "%s & 0x7FFFFFFFFFFFFFFFull"); break;
        case 0x9A: UN(WM_F64, WM_F64, "%s ^ 0x8000000000000000ull"); break;
        case 0x9B: UN(WM_F64, WM_F64, "wm_b64(wm_ceil(wm_f64(%s)))"); break;
        case 0x9C: UN(WM_F64, WM_F64, "wm_b64(wm_floor(wm_f64(%s)))"); break;
        case 0x9D: UN(WM_F64, WM_F64, "wm_b64(wm_trunc(wm_f64(%s)))"); break;
        case 0x9E: UN(WM_F64, WM_F64, "wm_b64(wm_nearest(wm_f64(%s)))"); break;
        case 0x9F: UN(WM_F64, WM_F64, "wm_b64(sqrt(wm_f64(%s)))"); break;
        case 0xA0: BIN(WM_F64, "wm_b64(wm_f64(%s) + wm_f64(%s))"); break;
        case 0xA1: BIN(WM_F64, "wm_b64(wm_f64(%s) - wm_f64(%s))"); break;
        case 0xA2: BIN(WM_F64, "wm_b64(wm_f64(%s) * wm_f64(%s))"); break;
        case 0xA3: BIN(WM_F64, "wm_b64(wm_f64(%s) / wm_f64(%s))"); break;
        case 0xA4: BIN(WM_F64, "wm_f64_min(%s, %s)"); break;
        case 0xA5: BIN(WM_F64, "wm_f64_max(%s, %s)"); break;
        case 0xA6: BIN(WM_F64, "(%s & 0x7FFFFFFFFFFFFFFFull) | (%s & 0x8000000000000000ull)"); break;
        /* conversions */
        case 0xA7: UN(WM_I64, WM_I32, "(uint32_t)%s"); break;
        case 0xA8: UN(WM_F32, WM_I32, "wm_i32_trunc_f32_s(ctx, %s)"); break;
        case 0xA9: UN(WM_F32, WM_I32, "wm_i32_trunc_f32_u(ctx, %s)"); break;
        case 0xAA: UN(WM_F64, WM_I32, "wm_i32_trunc_f64_s(ctx, %s)"); break;
        case 0xAB: UN(WM_F64, WM_I32, "wm_i32_trunc_f64_u(ctx, %s)"); break;
        case 0xAC: UN(WM_I32, WM_I64, "(uint64_t)(int64_t)(int32_t)%s"); break;
        case 0xAD: UN(WM_I32, WM_I64, "(uint64_t)%s"); break;
        case 0xAE: UN(WM_F32, WM_I64, "wm_i64_trunc_f32_s(ctx, %s)"); break;
        case 0xAF: UN(WM_F32, WM_I64, "wm_i64_trunc_f32_u(ctx, %s)"); break;
        case 0xB0: UN(WM_F64, WM_I64, "wm_i64_trunc_f64_s(ctx, %s)"); break;
        case 0xB1: UN(WM_F64, WM_I64, "wm_i64_trunc_f64_u(ctx, %s)"); break;
        case 0xB2: UN(WM_I32, WM_F32, "wm_b32((float)(int32_t)%s)"); break;
        case 0xB3: UN(WM_I32, WM_F32, "wm_b32((float)%s)"); break;
        case 0xB4: UN(WM_I64, WM_F32, "wm_b32((float)(int64_t)%s)"); break;
        case 0xB5: UN(WM_I64, WM_F32, "wm_b32((float)%s)"); break;
        case 0xB6: UN(WM_F64, WM_F32, "wm_b32((float)wm_f64(%s))"); break;
        case 0xB7: UN(WM_I32, WM_F64, "wm_b64((double)(int32_t)%s)"); break;
        case 0xB8: UN(WM_I32, WM_F64, "wm_b64((double)%s)"); break;
        case 0xB9: UN(WM_I64, WM_F64, "wm_b64((double)(int64_t)%s)"); break;
        case 0xBA: UN(WM_I64, WM_F64, "wm_b64((double)%s)"); break;
        case 0xBB: UN(WM_F32, WM_F64, "wm_b64(wm_promote(wm_f32(%s)))"); break;
        case 0xBC: UN(WM_F32, WM_I32, "%s"); break;
        case 0xBD: UN(WM_F64, WM_I64, "%s"); break;
        case 0xBE: UN(WM_I32, WM_F32, "WM_OPAQUE(%s)"); break;   /* bits may be a NaN constant: see WM_OPAQUE */
        case 0xBF: UN(WM_I64, WM_F64, "WM_OPAQUE(%s)"); break;
        case 0xC0: UN(WM_I32, WM_I32, "(uint32_t)(int32_t)(int8_t)(uint8_t)%s"); break;
        case 0xC1: UN(WM_I32, WM_I32, "(uint32_t)(int32_t)(int16_t)(uint16_t)%s"); break;
        case 0xC2: UN(WM_I64, WM_I64, "(uint64_t)(int64_t)(int8_t)(uint8_t)%s"); break;
        case 0xC3: UN(WM_I64, WM_I64, "(uint64_t)(int64_t)(int16_t)(uint16_t)%s"); break;
        case 0xC4: UN(WM_I64, WM_I64, "(uint64_t)(int64_t)(int32_t)(uint32_t)%s"); break;
        /* references */
        case 0xD0: { uint8_t t = rd_u8(&r); push(g, t); sb_printf(o, "%s = 0;\n", vn(g, g->h - 1)); break; }
        case 0xD1: UN(WM_FUNCREF, WM_I32, "(uint32_t)(%s == 0)"); break;
        case 0xD2: {
            uint32_t fi = rd_u32(&r);
            push(g, WM_FUNCREF);
            sb_printf(o, "%s = (uint64_t)(uintptr_t)ctx->funcs[%u];\n", vn(g, g->h - 1), fi);
            break;
        }
        /* 0xFC */
        case 0x100: UN(WM_F32, WM_I32, "wm_sat_i32_f64((double)wm_f32(%s))"); break;
        case 0x101: UN(WM_F32, WM_I32, "wm_sat_u32_f64((double)wm_f32(%s))"); break;
        case 0x102: UN(WM_F64, WM_I32, "wm_sat_i32_f64(wm_f64(%s))"); break;
        case 0x103: UN(WM_F64, WM_I32, "wm_sat_u32_f64(wm_f64(%s))"); break;
        case 0x104: UN(WM_F32, WM_I64, "wm_sat_i64_f64((double)wm_f32(%s))"); break;
        case 0x105: UN(WM_F32, WM_I64, "wm_sat_u64_f64((double)wm_f32(%s))"); break;
        case 0x106: UN(WM_F64, WM_I64, "wm_sat_i64_f64(wm_f64(%s))"); break;
        case 0x107: UN(WM_F64, WM_I64, "wm_sat_u64_f64(wm_f64(%s))"); break;
        case 0x108: {
            uint32_t seg = rd_u32(&r); rd_u8(&r);
            sb_printf(o, "ctx->rt->mem_init(ctx, %u, %s, %s, %s);\n", seg, vn(g, g->h - 3), vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 3;
            break;
        }
        case 0x109: sb_printf(o, "ctx->rt->data_drop(ctx, %u);\n", rd_u32(&r)); break;
        case 0x10A:
            rd_u8(&r); rd_u8(&r);
            sb_printf(o, "ctx->rt->mem_copy(ctx, %s, %s, %s);\n", vn(g, g->h - 3), vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 3;
            break;
        case 0x10B:
            rd_u8(&r);
            sb_printf(o, "ctx->rt->mem_fill(ctx, %s, %s, %s);\n", vn(g, g->h - 3), vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 3;
            break;
        case 0x10C: {
            uint32_t seg = rd_u32(&r), t = rd_u32(&r);
            sb_printf(o, "ctx->rt->table_init(ctx, %u, %u, %s, %s, %s);\n", seg, t, vn(g, g->h - 3), vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 3;
            break;
        }
        case 0x10D: sb_printf(o, "ctx->rt->elem_drop(ctx, %u);\n", rd_u32(&r)); break;
        case 0x10E: {
            uint32_t dt = rd_u32(&r), st = rd_u32(&r);
            sb_printf(o, "ctx->rt->table_copy(ctx, %u, %u, %s, %s, %s);\n", dt, st, vn(g, g->h - 3), vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 3;
            break;
        }
        case 0x10F: {
            uint32_t t = rd_u32(&r);
            char a[24], b[24];
            snprintf(a, sizeof a, "%s", vn(g, g->h - 2));
            snprintf(b, sizeof b, "%s", vn(g, g->h - 1));
            g->h -= 2; push(g, WM_I32);
            sb_printf(o, "%s = ctx->rt->table_grow(ctx, %u, %s, %s);\n", vn(g, g->h - 1), t, a, b);
            break;
        }
        case 0x110: {
            uint32_t t = rd_u32(&r);
            push(g, WM_I32);
            sb_printf(o, "%s = ctx->tables[%u]->size;\n", vn(g, g->h - 1), t);
            break;
        }
        case 0x111: {
            uint32_t t = rd_u32(&r);
            sb_printf(o, "ctx->rt->table_fill(ctx, %u, %s, %s, %s);\n", t, vn(g, g->h - 3), vn(g, g->h - 2), vn(g, g->h - 1));
            g->h -= 3;
            break;
        }
        default:
            if (op >= 0x200 && op < 0x300) {
                if (!translate_simd(g, &r, op - 0x200)) { ok = false; goto out; }
                break;
            }
            snprintf(g->err, sizeof g->err, "unsupported opcode 0x%x in function %u", op, defidx + m->nfunc_imports);
            ok = false;
            goto out;
        }
        continue;
    skip_imm:
        if (!skip_immediates(&r, op)) {
            snprintf(g->err, sizeof g->err, "cannot decode opcode 0x%x in function %u", op, defidx + m->nfunc_imports);
            ok = false;
            goto out;
        }
    }
out:
    free(ltypes);
    return ok;
}

/* ---- functions and modules ---------------------------------------------------------------------- */
static void emit_proto(const wm_module *m, sbuf *o, uint32_t defidx)
{
    const wm_type *t = &m->types[m->funcdefs[defidx].type_index];
    sb_printf(o, "%s wasm_f%u(", ret_ctype(t), defidx + m->nfunc_imports);
    emit_params_decl(o, t, "l");
    sb_puts(o, ")");
}

static bool emit_function(gen *g, uint32_t defidx, sbuf *out)
{
    const wm_module *m = g->m;
    const wm_funcdef *fd = &m->funcdefs[defidx];
    const wm_type *t = &m->types[fd->type_index];
    sbuf body = {0};
    g->o = &body;
    g->too_big = false;
    bool ok = translate_body(g, defidx);
    if (g->too_big) {
        /* A stub that runs this function in the interpreter. */
        free(body.p);
        uint32_t cells = t->param_cells > t->result_cells ? t->param_cells : t->result_cells;
        emit_proto(m, out, defidx);
        sb_printf(out, "\n{\n    uint64_t c_[%u];\n", cells ? cells : 1);
        uint32_t k = 0;
        for (uint32_t i = 0; i < t->nparams; i++) {
            if (t->params[i] == WM_V128) { sb_printf(out, "    memcpy(&c_[%u], &l%u, 16);\n", k, i); k += 2; }
            else { sb_printf(out, "    c_[%u] = l%u;\n", k, i); k++; }
        }
        /* the stub has no frame of its own: the interpreter counts the callee's */
        sb_printf(out, "    *ctx->depth = d_;\n    ctx->rt->interp(ctx, %u, c_);\n", defidx + m->nfunc_imports);
        if (t->nresults == 1) {
            if (t->results[0] == WM_V128) sb_puts(out, "    wm_v128 r_; memcpy(&r_, c_, 16); return r_;\n");
            else sb_printf(out, "    return (%s)c_[0];\n", ctype(t->results[0]));
        } else if (t->nresults > 1) {
            sb_printf(out, "    memcpy(res_, c_, %u);\n", t->result_cells * 8);
        }
        sb_puts(out, "}\n\n");
        return !out->oom;
    }
    if (!ok || body.oom) { free(body.p); if (ok) snprintf(g->err, sizeof g->err, "out of memory"); return false; }
    emit_proto(m, out, defidx);
    sb_puts(out, "\n{\n    uint8_t *mem = ctx->mem; (void)mem;\n");
    for (uint32_t i = 0; i < fd->nlocals; i++) {
        uint8_t lt = fd->local_types[i];
        if (lt == WM_V128) { g->simd = true; sb_printf(out, "    wm_v128 l%u = wm_v128_zero();\n", t->nparams + i); }
        else sb_printf(out, "    %s l%u = 0;\n", ctype(lt), t->nparams + i);
    }
    static const char *cn[3] = { "uint32_t", "uint64_t", "wm_v128" };
    for (int c = 0; c < 3; c++) {
        for (uint32_t h = 0; h < g->maxh[c]; h++) {
            if (c == 2) sb_printf(out, "    wm_v128 c%u = wm_v128_zero();\n", h);
            else sb_printf(out, "    %s %c%u = 0;\n", cn[c], 'a' + c, h);
        }
    }
    sb_puts(out, "    WM_ENTER(ctx);\n");
    sb_putn(out, body.p ? body.p : "", body.n);
    free(body.p);
    sb_puts(out, "    WM_LEAVE(ctx);\n");
    if (t->nresults == 1) {
        sb_printf(out, "    return %c0;\n", vclass(t->results[0]));
    } else if (t->nresults > 1) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < t->nresults; i++) {
            if (t->results[i] == WM_V128) { sb_printf(out, "    memcpy(&res_[%u], &c%u, 16);\n", k, i); k += 2; }
            else { sb_printf(out, "    res_[%u] = %c%u;\n", k, vclass(t->results[i]), i); k++; }
        }
    }
    sb_puts(out, "}\n\n");
    return !out->oom;
}

static const char simd_glue[] =
    "static inline wm_v128 wm_ldv(const uint8_t *p) { wm_v128 v; memcpy(&v, p, 16); return v; }\n"
    "static inline void wm_stv(uint8_t *p, wm_v128 v) { memcpy(p, &v, 16); }\n"
    "static inline wm_v128 wm_ld32z(const uint8_t *p) { wm_v128 v = wm_v128_zero(); memcpy(&v, p, 4); return v; }\n"
    "static inline wm_v128 wm_ld64z(const uint8_t *p) { wm_v128 v = wm_v128_zero(); memcpy(&v, p, 8); return v; }\n";

static bool module_uses_v128(const wm_module *m)
{
    for (uint32_t i = 0; i < m->ntypes; i++) {
        for (uint32_t k = 0; k < m->types[i].nparams; k++) if (m->types[i].params[k] == WM_V128) return true;
        for (uint32_t k = 0; k < m->types[i].nresults; k++) if (m->types[i].results[k] == WM_V128) return true;
    }
    for (uint32_t i = 0; i < m->nglobals; i++) if (m->global_types[i].type == WM_V128) return true;
    return false;
}

bool wm_aot_translate(const wm_module *m, const char *key, const char *prelude, const char *simd_h, bool limits,
                      uint32_t max_tus, char ***tus_out, uint32_t *ntus_out, bool *uses_simd, char *err, size_t errsz)
{
    gen g;
    memset(&g, 0, sizeof g);
    g.m = m;
    g.simd = module_uses_v128(m);
    uint32_t nd = m->nfuncdefs;
    sbuf *fb = calloc(nd ? nd : 1, sizeof *fb);
    if (!fb) { snprintf(err, errsz, "out of memory"); return false; }
    bool ok = true;
    uint64_t total = 0;
    for (uint32_t d = 0; d < nd && ok; d++) {
        ok = emit_function(&g, d, &fb[d]);
        total += fb[d].n;
    }
    free(g.stk); free(g.c); free(g.tpos); free(g.tn); free(g.tepoch);
    if (!ok) {
        snprintf(err, errsz, "%s", g.err[0] ? g.err : "out of memory");
        for (uint32_t d = 0; d < nd; d++) free(fb[d].p);
        free(fb);
        return false;
    }
    /* Split into translation units of roughly equal size (only big modules). */
    uint32_t ntus = 1;
    uint64_t min_tu = 256 * 1024;
    const char *force = getenv("WASMIND_AOT_SPLIT");   /* testing: split into this many units */
    if (force && atoi(force) > 1) { max_tus = (uint32_t)atoi(force); min_tu = total / max_tus / 2 + 1; }
    if (max_tus > 1 && total > 2 * min_tu) {
        ntus = (uint32_t)(total / min_tu);
        if (ntus > max_tus) ntus = max_tus;
        if (ntus < 1) ntus = 1;
    }
    bool *escapes = calloc(nd ? nd : 1, sizeof *escapes);   /* defined function k is exported or in a table */
    for (uint32_t i = 0; escapes && i < m->nexports; i++)
        if (m->exports[i].kind == WM_EXTERN_FUNC && m->exports[i].index >= m->nfunc_imports) escapes[m->exports[i].index - m->nfunc_imports] = true;
    for (uint32_t i = 0; escapes && i < m->nelems; i++)
        for (uint32_t k = 0; k < m->elems[i].count; k++) {
            const wm_constexpr *e = &m->elems[i].items[k];
            if (e->op == WM_CONST_REF_FUNC && e->index >= m->nfunc_imports && e->index - m->nfunc_imports < nd) escapes[e->index - m->nfunc_imports] = true;
        }
    char **tus = escapes ? calloc(ntus, sizeof *tus) : NULL;
    if (!tus) {
        free(escapes); for (uint32_t d = 0; d < nd; d++) free(fb[d].p); free(fb); snprintf(err, errsz, "out of memory"); return false; }
    uint64_t per = total / ntus + 1, acc = 0;
    uint32_t d = 0;
    for (uint32_t u = 0; u < ntus; u++) {
        sbuf o = {0};
        sb_printf(&o, "/* generated by wasmind %s AOT (wasm2c.c); key %s; unit %u of %u */\n", WASMIND_VERSION, key, u + 1, ntus);
        sb_printf(&o, "#define WM_AOT_LIMITS %d\n", limits ? 1 : 0);
        sb_puts(&o, prelude);
        if (g.simd) { sb_puts(&o, "\n"); sb_puts(&o, simd_h); sb_puts(&o, "\n"); sb_puts(&o, simd_glue); }
        emit_type_helpers(m, &o, true);
        /* wasm functions get a section of their own, so a backtrace can tell them from helpers (wm_trap, trampolines) */
        /* One unit: functions reachable only by direct calls are static, so the C compiler may inline them
         * anywhere (wm_funcs_ still takes every address); exported functions and those in element segments keep
         * a frame of their own for backtraces. Several units call across units: all stay global (hidden). */
        for (uint32_t k = 0; k < nd; k++) {
            sb_puts(&o, ntus == 1 && !escapes[k] ? "static " : "");
            sb_puts(&o, "__attribute__((visibility(\"hidden\"), section(\"wm_wasm_text\"))) ");
            emit_proto(m, &o, k);
            sb_puts(&o, ";\n");
        }
        sb_puts(&o, "\n");
        uint64_t limit = (u == ntus - 1) ? UINT64_MAX : per * (u + 1);
        while (d < nd && (acc < limit || u == ntus - 1)) { sb_putn(&o, fb[d].p ? fb[d].p : "", fb[d].n); acc += fb[d].n; d++; }
        if (u == 0) {
            sb_printf(&o, "static void *const wm_funcs_[%u] = {", nd ? nd : 1);
            for (uint32_t k = 0; k < nd; k++) sb_printf(&o, "%s(void *)wasm_f%u", k ? ", " : " ", k + m->nfunc_imports);
            if (!nd) sb_puts(&o, " 0");
            sb_printf(&o, " };\nstatic void *const wm_tramps_[%u] = {", m->ntypes ? m->ntypes : 1);
            for (uint32_t k = 0; k < m->ntypes; k++) sb_printf(&o, "%s(void *)wm_tramp%u", k ? ", " : " ", k);
            if (!m->ntypes) sb_puts(&o, " 0");
            sb_printf(&o, " };\n%s__attribute__((visibility(\"default\"))) const wm_aot_desc wm_aot_module = {\n"
                          "    WM_AOT_MAGIC, WM_AOT_ABI_VERSION, \"%s\", %u, %u, wm_funcs_, wm_tramps_, %s, %s };\n",
                      nd ? "extern char __start_wm_wasm_text[] __attribute__((visibility(\"hidden\"))), "
                           "__stop_wm_wasm_text[] __attribute__((visibility(\"hidden\")));\n" : "",
                      key, nd, m->ntypes, nd ? "__start_wm_wasm_text, __stop_wm_wasm_text" : "0, 0",
                      limits ? "WM_AOT_F_LIMITS" : "0");
        }
        if (o.oom) ok = false;
        tus[u] = o.p;
    }
    for (uint32_t k = 0; k < nd; k++) free(fb[k].p);
    free(fb);
    free(escapes);
    if (!ok) {
        for (uint32_t u = 0; u < ntus; u++) free(tus[u]);
        free(tus);
        snprintf(err, errsz, "out of memory");
        return false;
    }
    *tus_out = tus;
    *ntus_out = ntus;
    if (uses_simd) *uses_simd = g.simd;
    return true;
}
