/* simd.h — the v128 value type and the lane operations of the WebAssembly SIMD128 proposal
 * (Wasm 2.0), used by the interpreter (exec_simd.inc).
 *
 * Every operation is a `static inline` function on wm_v128 values. Three implementation tiers:
 *   - portable scalar C (always correct; loops the compiler can auto-vectorize),
 *   - GCC/Clang vector extensions (WM_SIMD_VEC) for the plain lane-wise ops on any target,
 *   - SSE2 / SSSE3 / SSE4.1 intrinsics for ops that map to one or two x86 instructions.
 * Define WM_SIMD_SCALAR before including to force the scalar tier (used by tests).
 *
 * Semantics follow the spec exactly: integer ops wrap (computed in unsigned arithmetic), shift
 * counts are taken modulo the lane width, float min/max propagate NaN and order -0 < +0,
 * trunc_sat saturates and maps NaN to 0, and no float->int conversion happens before a range
 * check (no C undefined behaviour). NaN results are quiet NaNs (canonical where the spec
 * requires it for canonical inputs).
 *
 * Assumes a little-endian host (lane i of the wasm vector = lane i of the C arrays) and the
 * default floating-point environment (round-to-nearest-even).
 */
#ifndef WM_SIMD_H
#define WM_SIMD_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#  if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#    error "wasmind SIMD requires a little-endian host"
#  endif
#endif

typedef union wm_v128 {
    uint8_t u8[16];
    int8_t i8[16];
    uint16_t u16[8];
    int16_t i16[8];
    uint32_t u32[4];
    int32_t i32[4];
    uint64_t u64[2];
    int64_t i64[2];
    float f32[4];
    double f64[2];
#if defined(WM_SIMD_VECTOR_ABI) && (defined(__GNUC__) || defined(__clang__))
    /* AOT-generated code (whose prelude defines WM_SIMD_VECTOR_ABI): a vector member makes the x86-64/AArch64
     * ABI pass and return wm_v128 in vector registers (SSE class) rather than as two integers, so inlined helpers
     * stay vector code. Alignment stays 8: v128 values live in 8-byte cells. The interpreter measured slightly
     * faster without it. */
    long long vec_ __attribute__((vector_size(16), aligned(8)));
#endif
} wm_v128;

_Static_assert(sizeof(wm_v128) == 16, "wm_v128 must be 16 bytes");
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE binary32/binary64 required");

/* ---- implementation tier selection ---------------------------------------------------- */
#if !defined(WM_SIMD_SCALAR) && (defined(__GNUC__) || defined(__clang__))
#  define WM_SIMD_VEC 1
#else
#  define WM_SIMD_VEC 0
#endif

#if WM_SIMD_VEC && defined(__SSE2__)
#  include <emmintrin.h>
#  define WM_SIMD_SSE2 1
#else
#  define WM_SIMD_SSE2 0
#endif
#if WM_SIMD_SSE2 && defined(__SSSE3__)
#  include <tmmintrin.h>
#  define WM_SIMD_SSSE3 1
#else
#  define WM_SIMD_SSSE3 0
#endif
#if WM_SIMD_SSE2 && defined(__SSE4_1__)
#  include <smmintrin.h>
#  define WM_SIMD_SSE41 1
#else
#  define WM_SIMD_SSE41 0
#endif

#if WM_SIMD_VEC
typedef uint8_t  wm_vu8  __attribute__((vector_size(16)));
typedef int8_t   wm_vi8  __attribute__((vector_size(16)));
typedef uint16_t wm_vu16 __attribute__((vector_size(16)));
typedef int16_t  wm_vi16 __attribute__((vector_size(16)));
typedef uint32_t wm_vu32 __attribute__((vector_size(16)));
typedef int32_t  wm_vi32 __attribute__((vector_size(16)));
typedef uint64_t wm_vu64 __attribute__((vector_size(16)));
typedef int64_t  wm_vi64 __attribute__((vector_size(16)));
typedef float    wm_vf32 __attribute__((vector_size(16)));
typedef double   wm_vf64 __attribute__((vector_size(16)));
/* Bit-casts between wm_v128 and vector/intrinsic types (memcpy compiles to register moves). */
#define WM_TOVEC(T, v) (__extension__({ T wm_t_; wm_v128 wm_s_ = (v); memcpy(&wm_t_, &wm_s_, 16); wm_t_; }))
#define WM_FROMVEC(x) (__extension__({ __typeof__(x) wm_x_ = (x); wm_v128 wm_r_; memcpy(&wm_r_, &wm_x_, 16); wm_r_; }))
#endif

#if WM_SIMD_SSE2
#define WM_M(v) WM_TOVEC(__m128i, v)
#define WM_MF(v) WM_TOVEC(__m128, v)
#define WM_MD(v) WM_TOVEC(__m128d, v)
#endif

/* Generic definers. S = scalar lane expression using a.F[i], b.F[i]; V = vector expression
 * using a, b of vector type VT. The vector expression is used when WM_SIMD_VEC. */
#if WM_SIMD_VEC
#define WM_DEF_BIN(name, N, RF, VT, V, S) \
    static inline wm_v128 name(wm_v128 a_, wm_v128 b_) { \
        VT a = WM_TOVEC(VT, a_), b = WM_TOVEC(VT, b_); return WM_FROMVEC(V); }
#define WM_DEF_UN(name, N, RF, VT, V, S) \
    static inline wm_v128 name(wm_v128 a_) { VT a = WM_TOVEC(VT, a_); return WM_FROMVEC(V); }
#else
#define WM_DEF_BIN(name, N, RF, VT, V, S) \
    static inline wm_v128 name(wm_v128 a, wm_v128 b) { \
        wm_v128 r; for (int i = 0; i < (N); i++) r.RF[i] = (S); return r; }
#define WM_DEF_UN(name, N, RF, VT, V, S) \
    static inline wm_v128 name(wm_v128 a) { \
        wm_v128 r; for (int i = 0; i < (N); i++) r.RF[i] = (S); return r; }
#endif
/* Scalar-only definers (the compiler may auto-vectorize these loops). */
#define WM_DEF_BIN_S(name, N, RF, S) \
    static inline wm_v128 name(wm_v128 a, wm_v128 b) { \
        wm_v128 r; for (int i = 0; i < (N); i++) r.RF[i] = (S); return r; }
#define WM_DEF_UN_S(name, N, RF, S) \
    static inline wm_v128 name(wm_v128 a) { \
        wm_v128 r; for (int i = 0; i < (N); i++) r.RF[i] = (S); return r; }

/* ---- constructors, splats ------------------------------------------------------------- */
static inline wm_v128 wm_v128_zero(void) { wm_v128 r; r.u64[0] = 0; r.u64[1] = 0; return r; }
/* Low lane = x, the rest zero. Built in a register: filling a zeroed union in memory and then reading it as a
 * vector stalls store-to-load forwarding for ~12 cycles on x86, which used to dominate loads like load32_zero. */
static inline wm_v128 wm_v128_from_u32(uint32_t x)
{
#if WM_SIMD_SSE2
    return WM_FROMVEC(_mm_cvtsi32_si128((int)x));
#else
    wm_v128 r = wm_v128_zero(); r.u32[0] = x; return r;
#endif
}
static inline wm_v128 wm_v128_from_u64(uint64_t x)
{
#if WM_SIMD_SSE2
    return WM_FROMVEC(_mm_set_epi64x(0, (long long)x));
#else
    wm_v128 r = wm_v128_zero(); r.u64[0] = x; return r;
#endif
}

#if WM_SIMD_SSE2
static inline wm_v128 wm_i8x16_splat(uint32_t x) { return WM_FROMVEC(_mm_set1_epi8((char)x)); }
static inline wm_v128 wm_i16x8_splat(uint32_t x) { return WM_FROMVEC(_mm_set1_epi16((short)x)); }
static inline wm_v128 wm_i32x4_splat(uint32_t x) { return WM_FROMVEC(_mm_set1_epi32((int)x)); }
static inline wm_v128 wm_i64x2_splat(uint64_t x) { return WM_FROMVEC(_mm_set1_epi64x((long long)x)); }
#else
static inline wm_v128 wm_i8x16_splat(uint32_t x) { wm_v128 r; memset(r.u8, (int)(uint8_t)x, 16); return r; }
static inline wm_v128 wm_i16x8_splat(uint32_t x) { wm_v128 r; for (int i = 0; i < 8; i++) r.u16[i] = (uint16_t)x; return r; }
static inline wm_v128 wm_i32x4_splat(uint32_t x) { wm_v128 r; for (int i = 0; i < 4; i++) r.u32[i] = x; return r; }
static inline wm_v128 wm_i64x2_splat(uint64_t x) { wm_v128 r; r.u64[0] = x; r.u64[1] = x; return r; }
#endif
/* v with lane `lane` (w bytes wide) replaced by x, the w-byte value given in the low bytes. Done in registers
 * with a byte mask: writing one lane of a union in memory and reading the whole vector back would stall
 * store-to-load forwarding (replace_lane and load_lane sit in the inner loops of resize-style code). */
static inline wm_v128 wm_v128_replace(wm_v128 v, unsigned w, unsigned lane, uint64_t x)
{
#if WM_SIMD_SSE2
    __m128i lanes_of_bytes, xs;
    switch (w) {   /* w is a constant at every call, so one case remains */
    case 1: lanes_of_bytes = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        xs = _mm_set1_epi8((char)x); break;
    case 2: lanes_of_bytes = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        xs = _mm_set1_epi16((short)x); break;
    case 4: lanes_of_bytes = _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        xs = _mm_set1_epi32((int)x); break;
    default: lanes_of_bytes = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        xs = _mm_set1_epi64x((long long)x); break;
    }
    __m128i m = _mm_cmpeq_epi8(lanes_of_bytes, _mm_set1_epi8((char)lane));
    return WM_FROMVEC(_mm_or_si128(_mm_and_si128(m, xs), _mm_andnot_si128(m, WM_M(v))));
#else
    memcpy(&v.u8[lane * w], &x, w);   /* little-endian host: the low w bytes of x */
    return v;
#endif
}
/* f32x4/f64x2 splats take the bit pattern (NaN payloads preserved). */
#define wm_f32x4_splat wm_i32x4_splat
#define wm_f64x2_splat wm_i64x2_splat

/* ---- shuffle / swizzle ---------------------------------------------------------------- */
static inline wm_v128 wm_i8x16_shuffle(wm_v128 a, wm_v128 b, wm_v128 idx)
{
#if WM_SIMD_SSSE3
    __m128i i = _mm_and_si128(WM_M(idx), _mm_set1_epi8(31));
    __m128i ia = _mm_adds_epu8(i, _mm_set1_epi8(0x70));                         /* >=16 -> zero */
    __m128i ib = _mm_adds_epu8(_mm_sub_epi8(i, _mm_set1_epi8(16)), _mm_set1_epi8(0x70)); /* <16 -> zero */
    return WM_FROMVEC(_mm_or_si128(_mm_shuffle_epi8(WM_M(a), ia), _mm_shuffle_epi8(WM_M(b), ib)));
#else
    uint8_t c[32];
    wm_v128 r;
    memcpy(c, a.u8, 16);
    memcpy(c + 16, b.u8, 16);
    for (int i = 0; i < 16; i++) r.u8[i] = c[idx.u8[i] & 31];
    return r;
#endif
}

static inline wm_v128 wm_i8x16_swizzle(wm_v128 a, wm_v128 s)
{
#if WM_SIMD_SSSE3
    return WM_FROMVEC(_mm_shuffle_epi8(WM_M(a), _mm_adds_epu8(WM_M(s), _mm_set1_epi8(0x70))));
#else
    uint8_t t[17];                      /* lane 16 = 0 for out-of-range indices */
    wm_v128 r;
    memcpy(t, a.u8, 16);
    t[16] = 0;
    for (int i = 0; i < 16; i++) r.u8[i] = t[s.u8[i] < 16 ? s.u8[i] : 16];
    return r;
#endif
}

/* ---- comparisons (result lanes all-ones / all-zeros) --------------------------------- */
#define WM_CMP(name, N, F, VT, OP) \
    WM_DEF_BIN(name, N, F, VT, a OP b, (a.F[i] OP b.F[i]) ? -1 : 0)
/* For the scalar tier the result field is the signed view of the same width. */
WM_CMP(wm_i8x16_eq,   16, i8,  wm_vi8,  ==)
WM_CMP(wm_i8x16_ne,   16, i8,  wm_vi8,  !=)
WM_CMP(wm_i8x16_lt_s, 16, i8,  wm_vi8,  <)
WM_CMP(wm_i8x16_gt_s, 16, i8,  wm_vi8,  >)
WM_CMP(wm_i8x16_le_s, 16, i8,  wm_vi8,  <=)
WM_CMP(wm_i8x16_ge_s, 16, i8,  wm_vi8,  >=)
WM_CMP(wm_i16x8_eq,   8,  i16, wm_vi16, ==)
WM_CMP(wm_i16x8_ne,   8,  i16, wm_vi16, !=)
WM_CMP(wm_i16x8_lt_s, 8,  i16, wm_vi16, <)
WM_CMP(wm_i16x8_gt_s, 8,  i16, wm_vi16, >)
WM_CMP(wm_i16x8_le_s, 8,  i16, wm_vi16, <=)
WM_CMP(wm_i16x8_ge_s, 8,  i16, wm_vi16, >=)
WM_CMP(wm_i32x4_eq,   4,  i32, wm_vi32, ==)
WM_CMP(wm_i32x4_ne,   4,  i32, wm_vi32, !=)
WM_CMP(wm_i32x4_lt_s, 4,  i32, wm_vi32, <)
WM_CMP(wm_i32x4_gt_s, 4,  i32, wm_vi32, >)
WM_CMP(wm_i32x4_le_s, 4,  i32, wm_vi32, <=)
WM_CMP(wm_i32x4_ge_s, 4,  i32, wm_vi32, >=)
WM_CMP(wm_i64x2_eq,   2,  i64, wm_vi64, ==)
WM_CMP(wm_i64x2_ne,   2,  i64, wm_vi64, !=)
WM_CMP(wm_i64x2_lt_s, 2,  i64, wm_vi64, <)
WM_CMP(wm_i64x2_gt_s, 2,  i64, wm_vi64, >)
WM_CMP(wm_i64x2_le_s, 2,  i64, wm_vi64, <=)
WM_CMP(wm_i64x2_ge_s, 2,  i64, wm_vi64, >=)
/* unsigned: vector compare on unsigned vectors; scalar compares unsigned views, writes signed */
#define WM_CMPU(name, N, F, UF, VT, OP) \
    WM_DEF_BIN(name, N, F, VT, a OP b, (a.UF[i] OP b.UF[i]) ? -1 : 0)
WM_CMPU(wm_i8x16_lt_u, 16, i8,  u8,  wm_vu8,  <)
WM_CMPU(wm_i8x16_gt_u, 16, i8,  u8,  wm_vu8,  >)
WM_CMPU(wm_i8x16_le_u, 16, i8,  u8,  wm_vu8,  <=)
WM_CMPU(wm_i8x16_ge_u, 16, i8,  u8,  wm_vu8,  >=)
WM_CMPU(wm_i16x8_lt_u, 8,  i16, u16, wm_vu16, <)
WM_CMPU(wm_i16x8_gt_u, 8,  i16, u16, wm_vu16, >)
WM_CMPU(wm_i16x8_le_u, 8,  i16, u16, wm_vu16, <=)
WM_CMPU(wm_i16x8_ge_u, 8,  i16, u16, wm_vu16, >=)
WM_CMPU(wm_i32x4_lt_u, 4,  i32, u32, wm_vu32, <)
WM_CMPU(wm_i32x4_gt_u, 4,  i32, u32, wm_vu32, >)
WM_CMPU(wm_i32x4_le_u, 4,  i32, u32, wm_vu32, <=)
WM_CMPU(wm_i32x4_ge_u, 4,  i32, u32, wm_vu32, >=)
/* float: result into the same-width integer view */
WM_CMPU(wm_f32x4_eq, 4, i32, f32, wm_vf32, ==)
WM_CMPU(wm_f32x4_ne, 4, i32, f32, wm_vf32, !=)
WM_CMPU(wm_f32x4_lt, 4, i32, f32, wm_vf32, <)
WM_CMPU(wm_f32x4_gt, 4, i32, f32, wm_vf32, >)
WM_CMPU(wm_f32x4_le, 4, i32, f32, wm_vf32, <=)
WM_CMPU(wm_f32x4_ge, 4, i32, f32, wm_vf32, >=)
WM_CMPU(wm_f64x2_eq, 2, i64, f64, wm_vf64, ==)
WM_CMPU(wm_f64x2_ne, 2, i64, f64, wm_vf64, !=)
WM_CMPU(wm_f64x2_lt, 2, i64, f64, wm_vf64, <)
WM_CMPU(wm_f64x2_gt, 2, i64, f64, wm_vf64, >)
WM_CMPU(wm_f64x2_le, 2, i64, f64, wm_vf64, <=)
WM_CMPU(wm_f64x2_ge, 2, i64, f64, wm_vf64, >=)

/* ---- bitwise ------------------------------------------------------------------------------ */
static inline wm_v128 wm_v128_not(wm_v128 a) { wm_v128 r; r.u64[0] = ~a.u64[0]; r.u64[1] = ~a.u64[1]; return r; }
static inline wm_v128 wm_v128_and(wm_v128 a, wm_v128 b) { wm_v128 r; r.u64[0] = a.u64[0] & b.u64[0]; r.u64[1] = a.u64[1] & b.u64[1]; return r; }
static inline wm_v128 wm_v128_andnot(wm_v128 a, wm_v128 b) { wm_v128 r; r.u64[0] = a.u64[0] & ~b.u64[0]; r.u64[1] = a.u64[1] & ~b.u64[1]; return r; }
static inline wm_v128 wm_v128_or(wm_v128 a, wm_v128 b) { wm_v128 r; r.u64[0] = a.u64[0] | b.u64[0]; r.u64[1] = a.u64[1] | b.u64[1]; return r; }
static inline wm_v128 wm_v128_xor(wm_v128 a, wm_v128 b) { wm_v128 r; r.u64[0] = a.u64[0] ^ b.u64[0]; r.u64[1] = a.u64[1] ^ b.u64[1]; return r; }
/* bitselect: bits of a where mask is 1, bits of b where 0 */
static inline wm_v128 wm_v128_bitselect(wm_v128 a, wm_v128 b, wm_v128 m)
{
    wm_v128 r;
    r.u64[0] = (a.u64[0] & m.u64[0]) | (b.u64[0] & ~m.u64[0]);
    r.u64[1] = (a.u64[1] & m.u64[1]) | (b.u64[1] & ~m.u64[1]);
    return r;
}
static inline uint32_t wm_v128_any_true(wm_v128 a) { return (a.u64[0] | a.u64[1]) != 0; }

/* ---- all_true / bitmask ---------------------------------------------------------------------- */
static inline uint32_t wm_i8x16_all_true(wm_v128 a)
{
#if WM_SIMD_SSE2
    return _mm_movemask_epi8(_mm_cmpeq_epi8(WM_M(a), _mm_setzero_si128())) == 0;
#else
    for (int i = 0; i < 16; i++) if (a.u8[i] == 0) return 0;
    return 1;
#endif
}
static inline uint32_t wm_i16x8_all_true(wm_v128 a)
{
#if WM_SIMD_SSE2
    return _mm_movemask_epi8(_mm_cmpeq_epi16(WM_M(a), _mm_setzero_si128())) == 0;
#else
    for (int i = 0; i < 8; i++) if (a.u16[i] == 0) return 0;
    return 1;
#endif
}
static inline uint32_t wm_i32x4_all_true(wm_v128 a)
{
#if WM_SIMD_SSE2
    return _mm_movemask_epi8(_mm_cmpeq_epi32(WM_M(a), _mm_setzero_si128())) == 0;
#else
    for (int i = 0; i < 4; i++) if (a.u32[i] == 0) return 0;
    return 1;
#endif
}
static inline uint32_t wm_i64x2_all_true(wm_v128 a) { return a.u64[0] != 0 && a.u64[1] != 0; }

static inline uint32_t wm_i8x16_bitmask(wm_v128 a)
{
#if WM_SIMD_SSE2
    return (uint32_t)_mm_movemask_epi8(WM_M(a));
#else
    uint32_t m = 0;
    for (int i = 0; i < 16; i++) m |= (uint32_t)(a.u8[i] >> 7) << i;
    return m;
#endif
}
static inline uint32_t wm_i16x8_bitmask(wm_v128 a)
{
#if WM_SIMD_SSE2
    return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(WM_M(a), _mm_setzero_si128()));
#else
    uint32_t m = 0;
    for (int i = 0; i < 8; i++) m |= (uint32_t)(a.u16[i] >> 15) << i;
    return m;
#endif
}
static inline uint32_t wm_i32x4_bitmask(wm_v128 a)
{
#if WM_SIMD_SSE2
    return (uint32_t)_mm_movemask_ps(WM_MF(a));
#else
    uint32_t m = 0;
    for (int i = 0; i < 4; i++) m |= (a.u32[i] >> 31) << i;
    return m;
#endif
}
static inline uint32_t wm_i64x2_bitmask(wm_v128 a)
{
    return (uint32_t)(a.u64[0] >> 63) | (uint32_t)(a.u64[1] >> 63) << 1;
}

/* ---- integer arithmetic ------------------------------------------------------------------- */
WM_DEF_BIN(wm_i8x16_add, 16, u8,  wm_vu8,  a + b, (uint8_t)(a.u8[i] + b.u8[i]))
WM_DEF_BIN(wm_i8x16_sub, 16, u8,  wm_vu8,  a - b, (uint8_t)(a.u8[i] - b.u8[i]))
WM_DEF_BIN(wm_i16x8_add, 8,  u16, wm_vu16, a + b, (uint16_t)(a.u16[i] + b.u16[i]))
WM_DEF_BIN(wm_i16x8_sub, 8,  u16, wm_vu16, a - b, (uint16_t)(a.u16[i] - b.u16[i]))
WM_DEF_BIN(wm_i16x8_mul, 8,  u16, wm_vu16, a * b, (uint16_t)((uint32_t)a.u16[i] * b.u16[i]))
WM_DEF_BIN(wm_i32x4_add, 4,  u32, wm_vu32, a + b, a.u32[i] + b.u32[i])
WM_DEF_BIN(wm_i32x4_sub, 4,  u32, wm_vu32, a - b, a.u32[i] - b.u32[i])
WM_DEF_BIN(wm_i32x4_mul, 4,  u32, wm_vu32, a * b, a.u32[i] * b.u32[i])
WM_DEF_BIN(wm_i64x2_add, 2,  u64, wm_vu64, a + b, a.u64[i] + b.u64[i])
WM_DEF_BIN(wm_i64x2_sub, 2,  u64, wm_vu64, a - b, a.u64[i] - b.u64[i])
WM_DEF_BIN(wm_i64x2_mul, 2,  u64, wm_vu64, a * b, a.u64[i] * b.u64[i])

WM_DEF_UN(wm_i8x16_neg, 16, u8,  wm_vu8,  0 - a, (uint8_t)(0u - a.u8[i]))
WM_DEF_UN(wm_i16x8_neg, 8,  u16, wm_vu16, 0 - a, (uint16_t)(0u - a.u16[i]))
WM_DEF_UN(wm_i32x4_neg, 4,  u32, wm_vu32, 0 - a, 0u - a.u32[i])
WM_DEF_UN(wm_i64x2_neg, 2,  u64, wm_vu64, 0 - a, (uint64_t)0 - a.u64[i])

/* abs(INT_MIN) = INT_MIN (wraps). m = sign mask; (a ^ m) - m computed unsigned. */
WM_DEF_UN(wm_i8x16_abs, 16, u8,  wm_vu8,  (a ^ (wm_vu8)((wm_vi8)a >> 7)) - (wm_vu8)((wm_vi8)a >> 7),
          (uint8_t)(a.i8[i] < 0 ? 0u - a.u8[i] : a.u8[i]))
WM_DEF_UN(wm_i16x8_abs, 8,  u16, wm_vu16, (a ^ (wm_vu16)((wm_vi16)a >> 15)) - (wm_vu16)((wm_vi16)a >> 15),
          (uint16_t)(a.i16[i] < 0 ? 0u - a.u16[i] : a.u16[i]))
WM_DEF_UN(wm_i32x4_abs, 4,  u32, wm_vu32, (a ^ (wm_vu32)((wm_vi32)a >> 31)) - (wm_vu32)((wm_vi32)a >> 31),
          a.i32[i] < 0 ? 0u - a.u32[i] : a.u32[i])
WM_DEF_UN(wm_i64x2_abs, 2,  u64, wm_vu64, (a ^ (wm_vu64)((wm_vi64)a >> 63)) - (wm_vu64)((wm_vi64)a >> 63),
          a.i64[i] < 0 ? (uint64_t)0 - a.u64[i] : a.u64[i])

/* min/max: select with a comparison mask */
#if WM_SIMD_VEC
#define WM_SEL(VT, m, x, y) (((VT)(m) & (x)) | (~(VT)(m) & (y)))
#endif
#define WM_MINMAX(name, N, F, VT, OP) \
    WM_DEF_BIN(name, N, F, VT, WM_SEL(VT, a OP b, a, b), a.F[i] OP b.F[i] ? a.F[i] : b.F[i])
#if WM_SIMD_SSE41
static inline wm_v128 wm_i8x16_min_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_min_epi8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_max_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_max_epi8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_min_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_min_epu16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_max_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_max_epu16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i32x4_min_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_min_epi32(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i32x4_max_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_max_epi32(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i32x4_min_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_min_epu32(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i32x4_max_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_max_epu32(WM_M(a), WM_M(b))); }
#else
WM_MINMAX(wm_i8x16_min_s, 16, i8,  wm_vi8,  <)
WM_MINMAX(wm_i8x16_max_s, 16, i8,  wm_vi8,  >)
WM_MINMAX(wm_i16x8_min_u, 8,  u16, wm_vu16, <)
WM_MINMAX(wm_i16x8_max_u, 8,  u16, wm_vu16, >)
WM_MINMAX(wm_i32x4_min_s, 4,  i32, wm_vi32, <)
WM_MINMAX(wm_i32x4_max_s, 4,  i32, wm_vi32, >)
WM_MINMAX(wm_i32x4_min_u, 4,  u32, wm_vu32, <)
WM_MINMAX(wm_i32x4_max_u, 4,  u32, wm_vu32, >)
#endif
#if WM_SIMD_SSE2
static inline wm_v128 wm_i8x16_min_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_min_epu8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_max_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_max_epu8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_min_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_min_epi16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_max_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_max_epi16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_avgr_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_avg_epu8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_avgr_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_avg_epu16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_add_sat_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_adds_epi8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_add_sat_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_adds_epu8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_sub_sat_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_subs_epi8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_sub_sat_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_subs_epu8(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_add_sat_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_adds_epi16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_add_sat_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_adds_epu16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_sub_sat_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_subs_epi16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_sub_sat_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_subs_epu16(WM_M(a), WM_M(b))); }
#else
WM_MINMAX(wm_i8x16_min_u, 16, u8,  wm_vu8,  <)
WM_MINMAX(wm_i8x16_max_u, 16, u8,  wm_vu8,  >)
WM_MINMAX(wm_i16x8_min_s, 8,  i16, wm_vi16, <)
WM_MINMAX(wm_i16x8_max_s, 8,  i16, wm_vi16, >)
WM_DEF_BIN_S(wm_i8x16_avgr_u, 16, u8,  (uint8_t)(((uint32_t)a.u8[i] + b.u8[i] + 1) >> 1))
WM_DEF_BIN_S(wm_i16x8_avgr_u, 8,  u16, (uint16_t)(((uint32_t)a.u16[i] + b.u16[i] + 1) >> 1))
static inline int32_t wm_sat_i(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : x > hi ? hi : x; }
WM_DEF_BIN_S(wm_i8x16_add_sat_s, 16, i8,  (int8_t)wm_sat_i((int32_t)a.i8[i] + b.i8[i], INT8_MIN, INT8_MAX))
WM_DEF_BIN_S(wm_i8x16_add_sat_u, 16, u8,  (uint8_t)wm_sat_i((int32_t)a.u8[i] + b.u8[i], 0, UINT8_MAX))
WM_DEF_BIN_S(wm_i8x16_sub_sat_s, 16, i8,  (int8_t)wm_sat_i((int32_t)a.i8[i] - b.i8[i], INT8_MIN, INT8_MAX))
WM_DEF_BIN_S(wm_i8x16_sub_sat_u, 16, u8,  (uint8_t)wm_sat_i((int32_t)a.u8[i] - b.u8[i], 0, UINT8_MAX))
WM_DEF_BIN_S(wm_i16x8_add_sat_s, 8,  i16, (int16_t)wm_sat_i((int32_t)a.i16[i] + b.i16[i], INT16_MIN, INT16_MAX))
WM_DEF_BIN_S(wm_i16x8_add_sat_u, 8,  u16, (uint16_t)wm_sat_i((int32_t)a.u16[i] + b.u16[i], 0, UINT16_MAX))
WM_DEF_BIN_S(wm_i16x8_sub_sat_s, 8,  i16, (int16_t)wm_sat_i((int32_t)a.i16[i] - b.i16[i], INT16_MIN, INT16_MAX))
WM_DEF_BIN_S(wm_i16x8_sub_sat_u, 8,  u16, (uint16_t)wm_sat_i((int32_t)a.u16[i] - b.u16[i], 0, UINT16_MAX))
#endif

/* popcnt: SWAR on 64-bit halves */
static inline uint64_t wm_popcnt8x8(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    return (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
}
static inline wm_v128 wm_i8x16_popcnt(wm_v128 a)
{
#if WM_SIMD_SSSE3
    const __m128i lut = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    __m128i v = WM_M(a);
    __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(v, lo4));
    __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(v, 4), lo4));
    return WM_FROMVEC(_mm_add_epi8(lo, hi));
#else
    wm_v128 r;
    r.u64[0] = wm_popcnt8x8(a.u64[0]);
    r.u64[1] = wm_popcnt8x8(a.u64[1]);
    return r;
#endif
}

/* q15mulr_sat_s: sat((a*b + 0x4000) >> 15) */
static inline wm_v128 wm_i16x8_q15mulr_sat_s(wm_v128 a, wm_v128 b)
{
#if WM_SIMD_SSSE3
    __m128i r = _mm_mulhrs_epi16(WM_M(a), WM_M(b));
    /* only -32768 * -32768 overflows, giving 0x8000; flip it to 0x7FFF */
    return WM_FROMVEC(_mm_xor_si128(r, _mm_cmpeq_epi16(r, _mm_set1_epi16(INT16_MIN))));
#else
    wm_v128 r;
    for (int i = 0; i < 8; i++) {
        int32_t p = ((int32_t)a.i16[i] * b.i16[i] + 0x4000) >> 15;
        r.i16[i] = (int16_t)(p > INT16_MAX ? INT16_MAX : p);
    }
    return r;
#endif
}

/* ---- shifts (count modulo lane width) ----------------------------------------------------- */
/* LT = lane type; WT = 64-bit type the scalar tier shifts in (signed for shr_s, so the shift
 * is arithmetic; unsigned otherwise, so shl cannot overflow) */
#if WM_SIMD_VEC
#define WM_DEF_SHIFT(name, N, F, VT, BITS, OP, LT, WT) \
    static inline wm_v128 name(wm_v128 a_, uint32_t n) { \
        VT a = WM_TOVEC(VT, a_); int s = (int)(n & ((BITS) - 1)); return WM_FROMVEC(a OP s); }
#else
#define WM_DEF_SHIFT(name, N, F, VT, BITS, OP, LT, WT) \
    static inline wm_v128 name(wm_v128 a, uint32_t n) { \
        wm_v128 r; int s = (int)(n & ((BITS) - 1)); \
        for (int i = 0; i < (N); i++) r.F[i] = (LT)((WT)a.F[i] OP s); \
        return r; }
#endif
WM_DEF_SHIFT(wm_i8x16_shl,   16, u8,  wm_vu8,  8,  <<, uint8_t,  uint64_t)
WM_DEF_SHIFT(wm_i8x16_shr_s, 16, i8,  wm_vi8,  8,  >>, int8_t,   int64_t)
WM_DEF_SHIFT(wm_i8x16_shr_u, 16, u8,  wm_vu8,  8,  >>, uint8_t,  uint64_t)
WM_DEF_SHIFT(wm_i16x8_shl,   8,  u16, wm_vu16, 16, <<, uint16_t, uint64_t)
WM_DEF_SHIFT(wm_i16x8_shr_s, 8,  i16, wm_vi16, 16, >>, int16_t,  int64_t)
WM_DEF_SHIFT(wm_i16x8_shr_u, 8,  u16, wm_vu16, 16, >>, uint16_t, uint64_t)
WM_DEF_SHIFT(wm_i32x4_shl,   4,  u32, wm_vu32, 32, <<, uint32_t, uint64_t)
WM_DEF_SHIFT(wm_i32x4_shr_s, 4,  i32, wm_vi32, 32, >>, int32_t,  int64_t)
WM_DEF_SHIFT(wm_i32x4_shr_u, 4,  u32, wm_vu32, 32, >>, uint32_t, uint64_t)
WM_DEF_SHIFT(wm_i64x2_shl,   2,  u64, wm_vu64, 64, <<, uint64_t, uint64_t)
WM_DEF_SHIFT(wm_i64x2_shr_s, 2,  i64, wm_vi64, 64, >>, int64_t,  int64_t)
WM_DEF_SHIFT(wm_i64x2_shr_u, 2,  u64, wm_vu64, 64, >>, uint64_t, uint64_t)

/* ---- narrow (inputs signed, saturate to signed/unsigned narrow lanes) --------------------- */
#if WM_SIMD_SSE2
static inline wm_v128 wm_i8x16_narrow_i16x8_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_packs_epi16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i8x16_narrow_i16x8_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_packus_epi16(WM_M(a), WM_M(b))); }
static inline wm_v128 wm_i16x8_narrow_i32x4_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_packs_epi32(WM_M(a), WM_M(b))); }
#else
static inline wm_v128 wm_i8x16_narrow_i16x8_s(wm_v128 a, wm_v128 b)
{
    wm_v128 r;
    for (int i = 0; i < 8; i++) {
        int32_t x = a.i16[i], y = b.i16[i];
        r.i8[i] = (int8_t)(x < INT8_MIN ? INT8_MIN : x > INT8_MAX ? INT8_MAX : x);
        r.i8[i + 8] = (int8_t)(y < INT8_MIN ? INT8_MIN : y > INT8_MAX ? INT8_MAX : y);
    }
    return r;
}
static inline wm_v128 wm_i8x16_narrow_i16x8_u(wm_v128 a, wm_v128 b)
{
    wm_v128 r;
    for (int i = 0; i < 8; i++) {
        int32_t x = a.i16[i], y = b.i16[i];
        r.u8[i] = (uint8_t)(x < 0 ? 0 : x > UINT8_MAX ? UINT8_MAX : x);
        r.u8[i + 8] = (uint8_t)(y < 0 ? 0 : y > UINT8_MAX ? UINT8_MAX : y);
    }
    return r;
}
static inline wm_v128 wm_i16x8_narrow_i32x4_s(wm_v128 a, wm_v128 b)
{
    wm_v128 r;
    for (int i = 0; i < 4; i++) {
        int32_t x = a.i32[i], y = b.i32[i];
        r.i16[i] = (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
        r.i16[i + 4] = (int16_t)(y < INT16_MIN ? INT16_MIN : y > INT16_MAX ? INT16_MAX : y);
    }
    return r;
}
#endif
#if WM_SIMD_SSE41
static inline wm_v128 wm_i16x8_narrow_i32x4_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_packus_epi32(WM_M(a), WM_M(b))); }
#else
static inline wm_v128 wm_i16x8_narrow_i32x4_u(wm_v128 a, wm_v128 b)
{
    wm_v128 r;
    for (int i = 0; i < 4; i++) {
        int32_t x = a.i32[i], y = b.i32[i];
        r.u16[i] = (uint16_t)(x < 0 ? 0 : x > UINT16_MAX ? UINT16_MAX : x);
        r.u16[i + 4] = (uint16_t)(y < 0 ? 0 : y > UINT16_MAX ? UINT16_MAX : y);
    }
    return r;
}
#endif

/* ---- extend (low/high half, signed/unsigned) ------------------------------------------------ */
#if WM_SIMD_SSE2
static inline wm_v128 wm_i16x8_extend_low_i8x16_s(wm_v128 a) { __m128i v = WM_M(a); return WM_FROMVEC(_mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8)); }
static inline wm_v128 wm_i16x8_extend_high_i8x16_s(wm_v128 a) { __m128i v = WM_M(a); return WM_FROMVEC(_mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8)); }
static inline wm_v128 wm_i16x8_extend_low_i8x16_u(wm_v128 a) { return WM_FROMVEC(_mm_unpacklo_epi8(WM_M(a), _mm_setzero_si128())); }
static inline wm_v128 wm_i16x8_extend_high_i8x16_u(wm_v128 a) { return WM_FROMVEC(_mm_unpackhi_epi8(WM_M(a), _mm_setzero_si128())); }
static inline wm_v128 wm_i32x4_extend_low_i16x8_s(wm_v128 a) { __m128i v = WM_M(a); return WM_FROMVEC(_mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16)); }
static inline wm_v128 wm_i32x4_extend_high_i16x8_s(wm_v128 a) { __m128i v = WM_M(a); return WM_FROMVEC(_mm_srai_epi32(_mm_unpackhi_epi16(v, v), 16)); }
static inline wm_v128 wm_i32x4_extend_low_i16x8_u(wm_v128 a) { return WM_FROMVEC(_mm_unpacklo_epi16(WM_M(a), _mm_setzero_si128())); }
static inline wm_v128 wm_i32x4_extend_high_i16x8_u(wm_v128 a) { return WM_FROMVEC(_mm_unpackhi_epi16(WM_M(a), _mm_setzero_si128())); }
static inline wm_v128 wm_i64x2_extend_low_i32x4_s(wm_v128 a) { __m128i v = WM_M(a); return WM_FROMVEC(_mm_unpacklo_epi32(v, _mm_srai_epi32(v, 31))); }
static inline wm_v128 wm_i64x2_extend_high_i32x4_s(wm_v128 a) { __m128i v = WM_M(a); return WM_FROMVEC(_mm_unpackhi_epi32(v, _mm_srai_epi32(v, 31))); }
static inline wm_v128 wm_i64x2_extend_low_i32x4_u(wm_v128 a) { return WM_FROMVEC(_mm_unpacklo_epi32(WM_M(a), _mm_setzero_si128())); }
static inline wm_v128 wm_i64x2_extend_high_i32x4_u(wm_v128 a) { return WM_FROMVEC(_mm_unpackhi_epi32(WM_M(a), _mm_setzero_si128())); }
#else
WM_DEF_UN_S(wm_i16x8_extend_low_i8x16_s,  8, i16, a.i8[i])
WM_DEF_UN_S(wm_i16x8_extend_high_i8x16_s, 8, i16, a.i8[i + 8])
WM_DEF_UN_S(wm_i16x8_extend_low_i8x16_u,  8, u16, a.u8[i])
WM_DEF_UN_S(wm_i16x8_extend_high_i8x16_u, 8, u16, a.u8[i + 8])
WM_DEF_UN_S(wm_i32x4_extend_low_i16x8_s,  4, i32, a.i16[i])
WM_DEF_UN_S(wm_i32x4_extend_high_i16x8_s, 4, i32, a.i16[i + 4])
WM_DEF_UN_S(wm_i32x4_extend_low_i16x8_u,  4, u32, a.u16[i])
WM_DEF_UN_S(wm_i32x4_extend_high_i16x8_u, 4, u32, a.u16[i + 4])
WM_DEF_UN_S(wm_i64x2_extend_low_i32x4_s,  2, i64, a.i32[i])
WM_DEF_UN_S(wm_i64x2_extend_high_i32x4_s, 2, i64, a.i32[i + 2])
WM_DEF_UN_S(wm_i64x2_extend_low_i32x4_u,  2, u64, a.u32[i])
WM_DEF_UN_S(wm_i64x2_extend_high_i32x4_u, 2, u64, a.u32[i + 2])
#endif

/* ---- extmul: widen the low/high halves and multiply (products fit the wide lane, except
 * i32 from i16 signed where -32768*-32768 = 2^30 still fits; computed unsigned anyway) ---- */
#if WM_SIMD_SSE2
static inline wm_v128 wm_i16x8_extmul_low_i8x16_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_mullo_epi16(WM_M(wm_i16x8_extend_low_i8x16_s(a)), WM_M(wm_i16x8_extend_low_i8x16_s(b)))); }
static inline wm_v128 wm_i16x8_extmul_high_i8x16_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_mullo_epi16(WM_M(wm_i16x8_extend_high_i8x16_s(a)), WM_M(wm_i16x8_extend_high_i8x16_s(b)))); }
static inline wm_v128 wm_i16x8_extmul_low_i8x16_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_mullo_epi16(WM_M(wm_i16x8_extend_low_i8x16_u(a)), WM_M(wm_i16x8_extend_low_i8x16_u(b)))); }
static inline wm_v128 wm_i16x8_extmul_high_i8x16_u(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_mullo_epi16(WM_M(wm_i16x8_extend_high_i8x16_u(a)), WM_M(wm_i16x8_extend_high_i8x16_u(b)))); }
static inline wm_v128 wm_i32x4_extmul_low_i16x8_s(wm_v128 a, wm_v128 b)
{ __m128i x = WM_M(a), y = WM_M(b); return WM_FROMVEC(_mm_unpacklo_epi16(_mm_mullo_epi16(x, y), _mm_mulhi_epi16(x, y))); }
static inline wm_v128 wm_i32x4_extmul_high_i16x8_s(wm_v128 a, wm_v128 b)
{ __m128i x = WM_M(a), y = WM_M(b); return WM_FROMVEC(_mm_unpackhi_epi16(_mm_mullo_epi16(x, y), _mm_mulhi_epi16(x, y))); }
static inline wm_v128 wm_i32x4_extmul_low_i16x8_u(wm_v128 a, wm_v128 b)
{ __m128i x = WM_M(a), y = WM_M(b); return WM_FROMVEC(_mm_unpacklo_epi16(_mm_mullo_epi16(x, y), _mm_mulhi_epu16(x, y))); }
static inline wm_v128 wm_i32x4_extmul_high_i16x8_u(wm_v128 a, wm_v128 b)
{ __m128i x = WM_M(a), y = WM_M(b); return WM_FROMVEC(_mm_unpackhi_epi16(_mm_mullo_epi16(x, y), _mm_mulhi_epu16(x, y))); }
/* _mm_mul_epu32 multiplies lanes 0 and 2 */
static inline wm_v128 wm_i64x2_extmul_low_i32x4_u(wm_v128 a, wm_v128 b)
{ return WM_FROMVEC(_mm_mul_epu32(_mm_shuffle_epi32(WM_M(a), 0x50), _mm_shuffle_epi32(WM_M(b), 0x50))); }
static inline wm_v128 wm_i64x2_extmul_high_i32x4_u(wm_v128 a, wm_v128 b)
{ return WM_FROMVEC(_mm_mul_epu32(_mm_shuffle_epi32(WM_M(a), 0xFA), _mm_shuffle_epi32(WM_M(b), 0xFA))); }
#else
WM_DEF_BIN_S(wm_i16x8_extmul_low_i8x16_s,  8, u16, (uint16_t)((uint32_t)(int32_t)a.i8[i] * (uint32_t)(int32_t)b.i8[i]))
WM_DEF_BIN_S(wm_i16x8_extmul_high_i8x16_s, 8, u16, (uint16_t)((uint32_t)(int32_t)a.i8[i + 8] * (uint32_t)(int32_t)b.i8[i + 8]))
WM_DEF_BIN_S(wm_i16x8_extmul_low_i8x16_u,  8, u16, (uint16_t)((uint32_t)a.u8[i] * b.u8[i]))
WM_DEF_BIN_S(wm_i16x8_extmul_high_i8x16_u, 8, u16, (uint16_t)((uint32_t)a.u8[i + 8] * b.u8[i + 8]))
WM_DEF_BIN_S(wm_i32x4_extmul_low_i16x8_s,  4, u32, (uint32_t)(int32_t)a.i16[i] * (uint32_t)(int32_t)b.i16[i])
WM_DEF_BIN_S(wm_i32x4_extmul_high_i16x8_s, 4, u32, (uint32_t)(int32_t)a.i16[i + 4] * (uint32_t)(int32_t)b.i16[i + 4])
WM_DEF_BIN_S(wm_i32x4_extmul_low_i16x8_u,  4, u32, (uint32_t)a.u16[i] * b.u16[i])
WM_DEF_BIN_S(wm_i32x4_extmul_high_i16x8_u, 4, u32, (uint32_t)a.u16[i + 4] * b.u16[i + 4])
WM_DEF_BIN_S(wm_i64x2_extmul_low_i32x4_u,  2, u64, (uint64_t)a.u32[i] * b.u32[i])
WM_DEF_BIN_S(wm_i64x2_extmul_high_i32x4_u, 2, u64, (uint64_t)a.u32[i + 2] * b.u32[i + 2])
#endif
#if WM_SIMD_SSE41
static inline wm_v128 wm_i64x2_extmul_low_i32x4_s(wm_v128 a, wm_v128 b)
{ return WM_FROMVEC(_mm_mul_epi32(_mm_shuffle_epi32(WM_M(a), 0x50), _mm_shuffle_epi32(WM_M(b), 0x50))); }
static inline wm_v128 wm_i64x2_extmul_high_i32x4_s(wm_v128 a, wm_v128 b)
{ return WM_FROMVEC(_mm_mul_epi32(_mm_shuffle_epi32(WM_M(a), 0xFA), _mm_shuffle_epi32(WM_M(b), 0xFA))); }
#else
WM_DEF_BIN_S(wm_i64x2_extmul_low_i32x4_s,  2, u64, (uint64_t)(int64_t)a.i32[i] * (uint64_t)(int64_t)b.i32[i])
WM_DEF_BIN_S(wm_i64x2_extmul_high_i32x4_s, 2, u64, (uint64_t)(int64_t)a.i32[i + 2] * (uint64_t)(int64_t)b.i32[i + 2])
#endif

/* ---- extadd_pairwise, dot ------------------------------------------------------------------- */
#if WM_SIMD_SSSE3
static inline wm_v128 wm_i16x8_extadd_pairwise_i8x16_s(wm_v128 a) { return WM_FROMVEC(_mm_maddubs_epi16(_mm_set1_epi8(1), WM_M(a))); }
static inline wm_v128 wm_i16x8_extadd_pairwise_i8x16_u(wm_v128 a) { return WM_FROMVEC(_mm_maddubs_epi16(WM_M(a), _mm_set1_epi8(1))); }
#else
WM_DEF_UN_S(wm_i16x8_extadd_pairwise_i8x16_s, 8, i16, (int16_t)(a.i8[2 * i] + a.i8[2 * i + 1]))
WM_DEF_UN_S(wm_i16x8_extadd_pairwise_i8x16_u, 8, u16, (uint16_t)(a.u8[2 * i] + a.u8[2 * i + 1]))
#endif
#if WM_SIMD_SSE2
static inline wm_v128 wm_i32x4_extadd_pairwise_i16x8_s(wm_v128 a) { return WM_FROMVEC(_mm_madd_epi16(WM_M(a), _mm_set1_epi16(1))); }
static inline wm_v128 wm_i32x4_extadd_pairwise_i16x8_u(wm_v128 a)
{
    /* flip to signed, pairwise add, re-bias by 2*32768 */
    __m128i s = _mm_madd_epi16(_mm_xor_si128(WM_M(a), _mm_set1_epi16(INT16_MIN)), _mm_set1_epi16(1));
    return WM_FROMVEC(_mm_add_epi32(s, _mm_set1_epi32(0x10000)));
}
/* dot: pairwise sum of i16 products; only (-32768)^2*2 = 2^31 wraps, as in the spec */
static inline wm_v128 wm_i32x4_dot_i16x8_s(wm_v128 a, wm_v128 b) { return WM_FROMVEC(_mm_madd_epi16(WM_M(a), WM_M(b))); }
#else
WM_DEF_UN_S(wm_i32x4_extadd_pairwise_i16x8_s, 4, i32, (int32_t)a.i16[2 * i] + a.i16[2 * i + 1])
WM_DEF_UN_S(wm_i32x4_extadd_pairwise_i16x8_u, 4, u32, (uint32_t)a.u16[2 * i] + a.u16[2 * i + 1])
WM_DEF_BIN_S(wm_i32x4_dot_i16x8_s, 4, u32,
             (uint32_t)((int32_t)a.i16[2 * i] * b.i16[2 * i]) + (uint32_t)((int32_t)a.i16[2 * i + 1] * b.i16[2 * i + 1]))
#endif

/* ---- float: abs/neg are pure bit operations (NaN payload preserved) ------------------------- */
WM_DEF_UN(wm_f32x4_abs, 4, u32, wm_vu32, a & 0x7FFFFFFFu, a.u32[i] & 0x7FFFFFFFu)
WM_DEF_UN(wm_f32x4_neg, 4, u32, wm_vu32, a ^ 0x80000000u, a.u32[i] ^ 0x80000000u)
WM_DEF_UN(wm_f64x2_abs, 2, u64, wm_vu64, a & 0x7FFFFFFFFFFFFFFFull, a.u64[i] & 0x7FFFFFFFFFFFFFFFull)
WM_DEF_UN(wm_f64x2_neg, 2, u64, wm_vu64, a ^ 0x8000000000000000ull, a.u64[i] ^ 0x8000000000000000ull)

WM_DEF_BIN(wm_f32x4_add, 4, f32, wm_vf32, a + b, a.f32[i] + b.f32[i])
WM_DEF_BIN(wm_f32x4_sub, 4, f32, wm_vf32, a - b, a.f32[i] - b.f32[i])
WM_DEF_BIN(wm_f32x4_mul, 4, f32, wm_vf32, a * b, a.f32[i] * b.f32[i])
WM_DEF_BIN(wm_f32x4_div, 4, f32, wm_vf32, a / b, a.f32[i] / b.f32[i])
WM_DEF_BIN(wm_f64x2_add, 2, f64, wm_vf64, a + b, a.f64[i] + b.f64[i])
WM_DEF_BIN(wm_f64x2_sub, 2, f64, wm_vf64, a - b, a.f64[i] - b.f64[i])
WM_DEF_BIN(wm_f64x2_mul, 2, f64, wm_vf64, a * b, a.f64[i] * b.f64[i])
WM_DEF_BIN(wm_f64x2_div, 2, f64, wm_vf64, a / b, a.f64[i] / b.f64[i])

/* pmin = b < a ? b : a ; pmax = a < b ? b : a (no NaN/zero special cases) */
WM_DEF_BIN(wm_f32x4_pmin, 4, f32, wm_vf32,
           (wm_vf32)WM_SEL(wm_vi32, b < a, (wm_vi32)b, (wm_vi32)a), b.f32[i] < a.f32[i] ? b.f32[i] : a.f32[i])
WM_DEF_BIN(wm_f32x4_pmax, 4, f32, wm_vf32,
           (wm_vf32)WM_SEL(wm_vi32, a < b, (wm_vi32)b, (wm_vi32)a), a.f32[i] < b.f32[i] ? b.f32[i] : a.f32[i])
WM_DEF_BIN(wm_f64x2_pmin, 2, f64, wm_vf64,
           (wm_vf64)WM_SEL(wm_vi64, b < a, (wm_vi64)b, (wm_vi64)a), b.f64[i] < a.f64[i] ? b.f64[i] : a.f64[i])
WM_DEF_BIN(wm_f64x2_pmax, 2, f64, wm_vf64,
           (wm_vf64)WM_SEL(wm_vi64, a < b, (wm_vi64)b, (wm_vi64)a), a.f64[i] < b.f64[i] ? b.f64[i] : a.f64[i])

/* Scalar wasm min/max: NaN if either is NaN (canonical quiet NaN), -0 < +0. */
static inline uint32_t wm_f32_min_bits(uint32_t x, uint32_t y)
{
    float a, b;
    memcpy(&a, &x, 4); memcpy(&b, &y, 4);
    if (a != a || b != b) return 0x7FC00000u;
    if (a == b) return x | y;                 /* equal (incl. +0/-0): -0 wins via the sign bit */
    return a < b ? x : y;
}
static inline uint32_t wm_f32_max_bits(uint32_t x, uint32_t y)
{
    float a, b;
    memcpy(&a, &x, 4); memcpy(&b, &y, 4);
    if (a != a || b != b) return 0x7FC00000u;
    if (a == b) return x & y;                 /* +0 wins */
    return a > b ? x : y;
}
static inline uint64_t wm_f64_min_bits(uint64_t x, uint64_t y)
{
    double a, b;
    memcpy(&a, &x, 8); memcpy(&b, &y, 8);
    if (a != a || b != b) return 0x7FF8000000000000ull;
    if (a == b) return x | y;
    return a < b ? x : y;
}
static inline uint64_t wm_f64_max_bits(uint64_t x, uint64_t y)
{
    double a, b;
    memcpy(&a, &x, 8); memcpy(&b, &y, 8);
    if (a != a || b != b) return 0x7FF8000000000000ull;
    if (a == b) return x & y;
    return a > b ? x : y;
}

#if WM_SIMD_SSE2
/* minps(x,y) = x<y ? x : y. OR of both orders merges -0/+0 to -0; unordered lanes are forced
 * to all-ones and then cleared to the canonical NaN 0xFFC00000 (sign is irrelevant). */
static inline wm_v128 wm_f32x4_min(wm_v128 a, wm_v128 b)
{
    __m128 x = WM_MF(a), y = WM_MF(b);
    __m128 r = _mm_or_ps(_mm_min_ps(x, y), _mm_min_ps(y, x));
    __m128 u = _mm_cmpunord_ps(x, y);
    r = _mm_or_ps(r, u);
    return WM_FROMVEC(_mm_andnot_ps(_mm_castsi128_ps(_mm_srli_epi32(_mm_castps_si128(u), 10)), r));
}
static inline wm_v128 wm_f32x4_max(wm_v128 a, wm_v128 b)
{
    __m128 x = WM_MF(a), y = WM_MF(b);
    __m128 r = _mm_and_ps(_mm_max_ps(x, y), _mm_max_ps(y, x));   /* AND merges -0/+0 to +0 */
    __m128 u = _mm_cmpunord_ps(x, y);
    r = _mm_or_ps(r, u);
    return WM_FROMVEC(_mm_andnot_ps(_mm_castsi128_ps(_mm_srli_epi32(_mm_castps_si128(u), 10)), r));
}
static inline wm_v128 wm_f64x2_min(wm_v128 a, wm_v128 b)
{
    __m128d x = WM_MD(a), y = WM_MD(b);
    __m128d r = _mm_or_pd(_mm_min_pd(x, y), _mm_min_pd(y, x));
    __m128d u = _mm_cmpunord_pd(x, y);
    r = _mm_or_pd(r, u);
    return WM_FROMVEC(_mm_andnot_pd(_mm_castsi128_pd(_mm_srli_epi64(_mm_castpd_si128(u), 13)), r));
}
static inline wm_v128 wm_f64x2_max(wm_v128 a, wm_v128 b)
{
    __m128d x = WM_MD(a), y = WM_MD(b);
    __m128d r = _mm_and_pd(_mm_max_pd(x, y), _mm_max_pd(y, x));
    __m128d u = _mm_cmpunord_pd(x, y);
    r = _mm_or_pd(r, u);
    return WM_FROMVEC(_mm_andnot_pd(_mm_castsi128_pd(_mm_srli_epi64(_mm_castpd_si128(u), 13)), r));
}
static inline wm_v128 wm_f32x4_sqrt(wm_v128 a) { return WM_FROMVEC(_mm_sqrt_ps(WM_MF(a))); }
static inline wm_v128 wm_f64x2_sqrt(wm_v128 a) { return WM_FROMVEC(_mm_sqrt_pd(WM_MD(a))); }
#else
WM_DEF_BIN_S(wm_f32x4_min, 4, u32, wm_f32_min_bits(a.u32[i], b.u32[i]))
WM_DEF_BIN_S(wm_f32x4_max, 4, u32, wm_f32_max_bits(a.u32[i], b.u32[i]))
WM_DEF_BIN_S(wm_f64x2_min, 2, u64, wm_f64_min_bits(a.u64[i], b.u64[i]))
WM_DEF_BIN_S(wm_f64x2_max, 2, u64, wm_f64_max_bits(a.u64[i], b.u64[i]))
WM_DEF_UN_S(wm_f32x4_sqrt, 4, f32, sqrtf(a.f32[i]))
WM_DEF_UN_S(wm_f64x2_sqrt, 2, f64, sqrt(a.f64[i]))
#endif

/* ---- rounding ------------------------------------------------------------------------------ */
#if WM_SIMD_SSE41
static inline wm_v128 wm_f32x4_ceil(wm_v128 a)    { return WM_FROMVEC(_mm_round_ps(WM_MF(a), _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f32x4_floor(wm_v128 a)   { return WM_FROMVEC(_mm_round_ps(WM_MF(a), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f32x4_trunc(wm_v128 a)   { return WM_FROMVEC(_mm_round_ps(WM_MF(a), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f32x4_nearest(wm_v128 a) { return WM_FROMVEC(_mm_round_ps(WM_MF(a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f64x2_ceil(wm_v128 a)    { return WM_FROMVEC(_mm_round_pd(WM_MD(a), _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f64x2_floor(wm_v128 a)   { return WM_FROMVEC(_mm_round_pd(WM_MD(a), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f64x2_trunc(wm_v128 a)   { return WM_FROMVEC(_mm_round_pd(WM_MD(a), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }
static inline wm_v128 wm_f64x2_nearest(wm_v128 a) { return WM_FROMVEC(_mm_round_pd(WM_MD(a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
#elif WM_SIMD_VEC
/* Without SSE4.1 rounding, use the magic-number trick on vectors: for |x| < 2^23 (2^52),
 * (|x| + 2^23) - 2^23 is |x| rounded to nearest-even; floor/ceil/trunc adjust that by one
 * and the sign of x is copied back (so -0.5 -> -0 etc.). Larger magnitudes, infinities and
 * NaNs are already integral: x + 0 returns them (quieting a signalling NaN). */
enum { WM_RND_NEAREST, WM_RND_TRUNC, WM_RND_FLOOR, WM_RND_CEIL };
static inline wm_v128 wm_f32x4_round(wm_v128 v, int mode)
{
    const wm_vf32 one = {1.0f, 1.0f, 1.0f, 1.0f}, magic = {8388608.0f, 8388608.0f, 8388608.0f, 8388608.0f};
    wm_vf32 x = WM_TOVEC(wm_vf32, v);
    wm_vu32 sign = (wm_vu32)x & 0x80000000u;
    wm_vf32 a = (wm_vf32)((wm_vu32)x & 0x7FFFFFFFu);
    wm_vi32 small = a < magic;
    wm_vf32 t = (a + magic) - magic;                                  /* nearest(|x|) */
    if (mode == WM_RND_TRUNC) t -= (wm_vf32)((wm_vu32)(t > a) & (wm_vu32)one);
    t = (wm_vf32)((wm_vu32)t | sign);                                  /* nearest(x) or trunc(x) */
    if (mode == WM_RND_FLOOR) t -= (wm_vf32)((wm_vu32)(t > x) & (wm_vu32)one);
    if (mode == WM_RND_CEIL) t += (wm_vf32)((wm_vu32)(t < x) & (wm_vu32)one);
    t = (wm_vf32)(((wm_vu32)t & 0x7FFFFFFFu) | sign);                  /* -0 where due */
    wm_vf32 big = x + 0.0f;
    return WM_FROMVEC((wm_vf32)(((wm_vu32)small & (wm_vu32)t) | (~(wm_vu32)small & (wm_vu32)big)));
}
static inline wm_v128 wm_f64x2_round(wm_v128 v, int mode)
{
    const wm_vf64 one = {1.0, 1.0}, magic = {4503599627370496.0, 4503599627370496.0};
    wm_vf64 x = WM_TOVEC(wm_vf64, v);
    wm_vu64 sign = (wm_vu64)x & 0x8000000000000000ull;
    wm_vf64 a = (wm_vf64)((wm_vu64)x & 0x7FFFFFFFFFFFFFFFull);
    wm_vi64 small = a < magic;
    wm_vf64 t = (a + magic) - magic;
    if (mode == WM_RND_TRUNC) t -= (wm_vf64)((wm_vu64)(t > a) & (wm_vu64)one);
    t = (wm_vf64)((wm_vu64)t | sign);
    if (mode == WM_RND_FLOOR) t -= (wm_vf64)((wm_vu64)(t > x) & (wm_vu64)one);
    if (mode == WM_RND_CEIL) t += (wm_vf64)((wm_vu64)(t < x) & (wm_vu64)one);
    t = (wm_vf64)(((wm_vu64)t & 0x7FFFFFFFFFFFFFFFull) | sign);
    wm_vf64 big = x + 0.0;
    return WM_FROMVEC((wm_vf64)(((wm_vu64)small & (wm_vu64)t) | (~(wm_vu64)small & (wm_vu64)big)));
}
static inline wm_v128 wm_f32x4_ceil(wm_v128 a)    { return wm_f32x4_round(a, WM_RND_CEIL); }
static inline wm_v128 wm_f32x4_floor(wm_v128 a)   { return wm_f32x4_round(a, WM_RND_FLOOR); }
static inline wm_v128 wm_f32x4_trunc(wm_v128 a)   { return wm_f32x4_round(a, WM_RND_TRUNC); }
static inline wm_v128 wm_f32x4_nearest(wm_v128 a) { return wm_f32x4_round(a, WM_RND_NEAREST); }
static inline wm_v128 wm_f64x2_ceil(wm_v128 a)    { return wm_f64x2_round(a, WM_RND_CEIL); }
static inline wm_v128 wm_f64x2_floor(wm_v128 a)   { return wm_f64x2_round(a, WM_RND_FLOOR); }
static inline wm_v128 wm_f64x2_trunc(wm_v128 a)   { return wm_f64x2_round(a, WM_RND_TRUNC); }
static inline wm_v128 wm_f64x2_nearest(wm_v128 a) { return wm_f64x2_round(a, WM_RND_NEAREST); }
#else
/* libm's ceil/floor/trunc may return a signalling NaN unchanged; wasm wants a quiet NaN.
 * nearbyint rounds half to even in the default rounding mode. */
static inline float wm_f32_quiet(float x)
{
    if (x != x) { uint32_t b; memcpy(&b, &x, 4); b |= 0x00400000u; memcpy(&x, &b, 4); }
    return x;
}
static inline double wm_f64_quiet(double x)
{
    if (x != x) { uint64_t b; memcpy(&b, &x, 8); b |= 0x0008000000000000ull; memcpy(&x, &b, 8); }
    return x;
}
WM_DEF_UN_S(wm_f32x4_ceil,    4, f32, wm_f32_quiet(ceilf(a.f32[i])))
WM_DEF_UN_S(wm_f32x4_floor,   4, f32, wm_f32_quiet(floorf(a.f32[i])))
WM_DEF_UN_S(wm_f32x4_trunc,   4, f32, wm_f32_quiet(truncf(a.f32[i])))
WM_DEF_UN_S(wm_f32x4_nearest, 4, f32, wm_f32_quiet(nearbyintf(a.f32[i])))
WM_DEF_UN_S(wm_f64x2_ceil,    2, f64, wm_f64_quiet(ceil(a.f64[i])))
WM_DEF_UN_S(wm_f64x2_floor,   2, f64, wm_f64_quiet(floor(a.f64[i])))
WM_DEF_UN_S(wm_f64x2_trunc,   2, f64, wm_f64_quiet(trunc(a.f64[i])))
WM_DEF_UN_S(wm_f64x2_nearest, 2, f64, wm_f64_quiet(nearbyint(a.f64[i])))
#endif

/* ---- conversions ------------------------------------------------------------------------------ */
/* Saturating truncations, range-checked before the C conversion (which is UB out of range). */
static inline int32_t wm_trunc_sat_f32_i32(float x)
{
    if (x != x) return 0;
    if (x < -2147483648.0f) return INT32_MIN;
    if (x >= 2147483648.0f) return INT32_MAX;
    return (int32_t)x;
}
static inline uint32_t wm_trunc_sat_f32_u32(float x)
{
    if (!(x > -1.0f)) return 0;              /* NaN and x <= -1 */
    if (x >= 4294967296.0f) return UINT32_MAX;
    return (uint32_t)x;
}
static inline int32_t wm_trunc_sat_f64_i32(double x)
{
    if (x != x) return 0;
    if (x <= -2147483649.0) return INT32_MIN;
    if (x >= 2147483648.0) return INT32_MAX;
    return (int32_t)x;
}
static inline uint32_t wm_trunc_sat_f64_u32(double x)
{
    if (!(x > -1.0)) return 0;
    if (x >= 4294967296.0) return UINT32_MAX;
    return (uint32_t)x;
}

static inline wm_v128 wm_i32x4_trunc_sat_f32x4_s(wm_v128 a)
{
#if WM_SIMD_SSE2
    __m128 x = WM_MF(a);
    x = _mm_and_ps(x, _mm_cmpeq_ps(x, x));                        /* NaN -> 0 */
    __m128i ovf = _mm_castps_si128(_mm_cmpge_ps(x, _mm_set1_ps(2147483648.0f)));
    /* cvttps gives 0x80000000 for out of range; flip it to 0x7FFFFFFF on positive overflow */
    return WM_FROMVEC(_mm_xor_si128(_mm_cvttps_epi32(x), ovf));
#else
    wm_v128 r;
    for (int i = 0; i < 4; i++) r.i32[i] = wm_trunc_sat_f32_i32(a.f32[i]);
    return r;
#endif
}
static inline wm_v128 wm_i32x4_trunc_sat_f32x4_u(wm_v128 a)
{
#if WM_SIMD_SSE2
    const __m128 two31 = _mm_set1_ps(2147483648.0f);
    __m128 x = _mm_max_ps(WM_MF(a), _mm_setzero_ps());           /* NaN and negatives -> 0 */
    __m128 big = _mm_cmpge_ps(x, two31);
    __m128i lo = _mm_cvttps_epi32(x);                              /* correct for x < 2^31 */
    __m128i hi = _mm_xor_si128(_mm_cvttps_epi32(_mm_sub_ps(x, two31)), _mm_set1_epi32(INT32_MIN));
    hi = _mm_or_si128(hi, _mm_castps_si128(_mm_cmpge_ps(x, _mm_set1_ps(4294967296.0f))));
    __m128i bm = _mm_castps_si128(big);
    return WM_FROMVEC(_mm_or_si128(_mm_and_si128(bm, hi), _mm_andnot_si128(bm, lo)));
#else
    wm_v128 r;
    for (int i = 0; i < 4; i++) r.u32[i] = wm_trunc_sat_f32_u32(a.f32[i]);
    return r;
#endif
}
static inline wm_v128 wm_i32x4_trunc_sat_f64x2_s_zero(wm_v128 a)
{
#if WM_SIMD_SSE2
    __m128d x = WM_MD(a);
    x = _mm_and_pd(x, _mm_cmpeq_pd(x, x));                        /* NaN -> 0 */
    x = _mm_min_pd(x, _mm_set1_pd(2147483647.0));                 /* below -2^31 cvtt gives INT_MIN */
    return WM_FROMVEC(_mm_cvttpd_epi32(x));                       /* upper lanes zeroed */
#else
    wm_v128 r;
    r.i32[0] = wm_trunc_sat_f64_i32(a.f64[0]);
    r.i32[1] = wm_trunc_sat_f64_i32(a.f64[1]);
    r.u32[2] = r.u32[3] = 0;
    return r;
#endif
}
static inline wm_v128 wm_i32x4_trunc_sat_f64x2_u_zero(wm_v128 a)
{
    wm_v128 r;
    r.u32[0] = wm_trunc_sat_f64_u32(a.f64[0]);
    r.u32[1] = wm_trunc_sat_f64_u32(a.f64[1]);
    r.u32[2] = r.u32[3] = 0;
    return r;
}

static inline wm_v128 wm_f32x4_convert_i32x4_s(wm_v128 a)
{
#if WM_SIMD_SSE2
    return WM_FROMVEC(_mm_cvtepi32_ps(WM_M(a)));
#else
    wm_v128 r;
    for (int i = 0; i < 4; i++) r.f32[i] = (float)a.i32[i];
    return r;
#endif
}
static inline wm_v128 wm_f32x4_convert_i32x4_u(wm_v128 a)
{
#if WM_SIMD_SSE2
    /* hi16*65536 and lo16 are exact floats; the single rounding in the add is correct */
    __m128i v = WM_M(a);
    __m128 hi = _mm_mul_ps(_mm_cvtepi32_ps(_mm_srli_epi32(v, 16)), _mm_set1_ps(65536.0f));
    __m128 lo = _mm_cvtepi32_ps(_mm_and_si128(v, _mm_set1_epi32(0xFFFF)));
    return WM_FROMVEC(_mm_add_ps(hi, lo));
#else
    wm_v128 r;
    for (int i = 0; i < 4; i++) r.f32[i] = (float)a.u32[i];
    return r;
#endif
}
static inline wm_v128 wm_f64x2_convert_low_i32x4_s(wm_v128 a)
{
#if WM_SIMD_SSE2
    return WM_FROMVEC(_mm_cvtepi32_pd(WM_M(a)));
#else
    wm_v128 r;
    r.f64[0] = (double)a.i32[0];
    r.f64[1] = (double)a.i32[1];
    return r;
#endif
}
static inline wm_v128 wm_f64x2_convert_low_i32x4_u(wm_v128 a)
{
#if WM_SIMD_SSE2
    /* 2^52 + u as a bit pattern, minus 2^52: exact */
    __m128i v = _mm_unpacklo_epi32(WM_M(a), _mm_set1_epi32(0x43300000));
    return WM_FROMVEC(_mm_sub_pd(_mm_castsi128_pd(v), _mm_set1_pd(4503599627370496.0)));
#else
    wm_v128 r;
    r.f64[0] = (double)a.u32[0];
    r.f64[1] = (double)a.u32[1];
    return r;
#endif
}
static inline wm_v128 wm_f32x4_demote_f64x2_zero(wm_v128 a)
{
#if WM_SIMD_SSE2
    return WM_FROMVEC(_mm_cvtpd_ps(WM_MD(a)));
#else
    wm_v128 r;
    r.f32[0] = (float)a.f64[0];
    r.f32[1] = (float)a.f64[1];
    r.u32[2] = r.u32[3] = 0;
    return r;
#endif
}
static inline wm_v128 wm_f64x2_promote_low_f32x4(wm_v128 a)
{
#if WM_SIMD_SSE2
    return WM_FROMVEC(_mm_cvtps_pd(WM_MF(a)));
#else
    wm_v128 r;
    r.f64[0] = (double)a.f32[0];
    r.f64[1] = (double)a.f32[1];
    return r;
#endif
}

/* ---- helpers for the interpreter's SIMD superinstructions (ir.h) ---------------------------- */
/* Lanes 0..3 = bytes 0..3 of a, zero-extended and converted to f32 (exact: a byte fits f32). */
static inline wm_v128 wm_f32x4_from_u8x4(wm_v128 a)
{
#if WM_SIMD_SSE41
    return WM_FROMVEC(_mm_cvtepi32_ps(_mm_cvtepu8_epi32(WM_M(a))));
#elif WM_SIMD_SSE2
    __m128i z = _mm_setzero_si128();
    return WM_FROMVEC(_mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(WM_M(a), z), z)));
#else
    wm_v128 r;
    for (int i = 0; i < 4; i++) r.f32[i] = (float)a.u8[i];
    return r;
#endif
}
/* Lanes 0..3 = bytes k..k+3 of a (k <= 12), sign-extended to i32. */
static inline wm_v128 wm_i32x4_from_i8x4(wm_v128 a, uint32_t k)
{
#if WM_SIMD_SSE41
    if (k == 0) return WM_FROMVEC(_mm_cvtepi8_epi32(WM_M(a)));
#elif WM_SIMD_SSE2
    if (k == 0) {
        __m128i v = WM_M(a);
        v = _mm_unpacklo_epi8(v, v);
        return WM_FROMVEC(_mm_srai_epi32(_mm_unpacklo_epi16(v, v), 24));
    }
#endif
    wm_v128 r;
    for (int i = 0; i < 4; i++) r.i32[i] = a.i8[(k + (uint32_t)i) & 15];
    return r;
}

#endif /* WM_SIMD_H */
