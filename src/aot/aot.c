/* aot.c — the AOT tier's driver and runtime glue: cache keys, compiling generated C with the system
 * compiler, the .cwasm format and cache, dlopen, per-instance contexts, calls/traps (sigsetjmp),
 * and the SIGSEGV/SIGBUS handler that turns guard-page faults into out-of-bounds traps. */
#define _GNU_SOURCE
#define WM_AOT_RUNTIME_SIDE
#include "aot.h"
#include "aot_prelude.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <execinfo.h>
#include <link.h>
#include <sys/auxv.h>
#include <ucontext.h>
#include <unistd.h>

/* The prelude and simd.h are embedded verbatim: generated code is compiled against exactly the helpers this
 * binary was built with. Cache keys use their digest, and the translator's, made at build time. */
#include "aot_text_digest.h"
#ifndef WM_AOT_SRC_DIR
#error "WM_AOT_SRC_DIR must point at src/ (set by CMakeLists.txt)"
#endif
__asm__(".section .rodata\n"
        ".p2align 4\n"
        "wm_aot_prelude_text_:\n.incbin \"" WM_AOT_SRC_DIR "/aot/aot_prelude.h\"\n.byte 0\n"
        ".p2align 4\n"
        "wm_aot_simd_text_:\n.incbin \"" WM_AOT_SRC_DIR "/interp/simd.h\"\n.byte 0\n"
        ".previous\n");
extern const char wm_aot_prelude_text_[] __asm__("wm_aot_prelude_text_");
extern const char wm_aot_simd_text_[] __asm__("wm_aot_simd_text_");

/* ---- layout checks: aot_prelude.h mirrors runtime.h --------------------------------------- */
_Static_assert(offsetof(struct wm_func, type_id) == offsetof(wm_aot_fhead, type_id), "wm_func layout");
_Static_assert(offsetof(struct wm_func, aot_fn) == offsetof(wm_aot_fhead, aot_fn), "wm_func layout");
_Static_assert(offsetof(struct wm_func, aot_ctx) == offsetof(wm_aot_fhead, aot_ctx), "wm_func layout");
_Static_assert(offsetof(struct wm_func, aot_tramp) == offsetof(wm_aot_fhead, aot_tramp), "wm_func layout");
_Static_assert(offsetof(struct wm_table, elems) == offsetof(wm_aot_thead, elems), "wm_table layout");
_Static_assert(offsetof(struct wm_table, size) == offsetof(wm_aot_thead, size), "wm_table layout");
_Static_assert(offsetof(struct wm_memory, data) == offsetof(wm_aot_mhead, data), "wm_memory layout");
_Static_assert(offsetof(struct wm_memory, size) == offsetof(wm_aot_mhead, size), "wm_memory layout");
_Static_assert(offsetof(struct wm_memory, pages) == offsetof(wm_aot_mhead, pages), "wm_memory layout");
_Static_assert(offsetof(struct wm_global, v) == 0, "wm_global layout");
_Static_assert(WM_AOT_TRAP_UNREACHABLE == WM_TRAP_UNREACHABLE && WM_AOT_TRAP_MEMORY_OOB == WM_TRAP_MEMORY_OOB &&
               WM_AOT_TRAP_TABLE_OOB == WM_TRAP_TABLE_OOB && WM_AOT_TRAP_DIV_ZERO == WM_TRAP_DIV_ZERO &&
               WM_AOT_TRAP_INT_OVERFLOW == WM_TRAP_INT_OVERFLOW &&
               WM_AOT_TRAP_INVALID_CONVERSION == WM_TRAP_INVALID_CONVERSION &&
               WM_AOT_TRAP_UNDEFINED_ELEMENT == WM_TRAP_UNDEFINED_ELEMENT &&
               WM_AOT_TRAP_UNINITIALIZED_ELEMENT == WM_TRAP_UNINITIALIZED_ELEMENT &&
               WM_AOT_TRAP_INDIRECT_CALL_TYPE == WM_TRAP_INDIRECT_CALL_TYPE &&
               WM_AOT_TRAP_STACK_EXHAUSTED == WM_TRAP_STACK_EXHAUSTED, "trap codes");

/* ---- SHA-256 (cache keys and payload checks) ------------------------------------------------ */
typedef struct sha256 { uint32_t h[8]; uint64_t len; uint8_t buf[64]; uint32_t nbuf; } sha256;
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha_block(sha256 *s, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
/* The SHA extensions (Intel since Goldmont/Ice Lake, AMD since Zen) hash ~10x faster than the portable code:
 * cache keys cover the translator and runtime texts (~130 KB), so this is most of a cached AOT start. */
__attribute__((target("sha,sse4.1"))) static void sha_block_ni(sha256 *s, const uint8_t *p)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s->h[0]), 0xB1);   /* CDAB */
    __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s->h[4]), 0x1B); /* EFGH */
    __m128i st0 = _mm_alignr_epi8(t, st1, 8);                                           /* ABEF */
    st1 = _mm_blend_epi16(st1, t, 0xF0);                                                /* CDGH */
    __m128i abef = st0, cdgh = st1, w[4];
#pragma GCC unroll 16   /* constant indices keep w[] in registers */
    for (int g = 0; g < 16; g++) {
        __m128i x;
        if (g < 4) x = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
        else x = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]),
                                                    _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4)),
                                      w[(g + 3) & 3]);
        w[g & 3] = x;
        __m128i msg = _mm_add_epi32(x, _mm_loadu_si128((const __m128i *)&K256[4 * g]));
        st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
        st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
    }
    st0 = _mm_add_epi32(st0, abef);
    st1 = _mm_add_epi32(st1, cdgh);
    t = _mm_shuffle_epi32(st0, 0x1B);                 /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);               /* DCHG */
    _mm_storeu_si128((__m128i *)&s->h[0], _mm_blend_epi16(t, st1, 0xF0));   /* DCBA */
    _mm_storeu_si128((__m128i *)&s->h[4], _mm_alignr_epi8(st1, t, 8));      /* HGFE */
}
#define WM_HAVE_SHA_NI 1
#endif

static void (*sha_block_fn)(sha256 *, const uint8_t *);
static void sha_pick(void);

static void sha_init(sha256 *s)
{
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof h0); s->len = 0; s->nbuf = 0;
    if (!sha_block_fn) sha_pick();
}
static void sha_update(sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->len += n;
    while (n) {
        if (s->nbuf == 0 && n >= 64) { sha_block_fn(s, p); p += 64; n -= 64; continue; }
        uint32_t k = 64 - s->nbuf; if (k > n) k = (uint32_t)n;
        memcpy(s->buf + s->nbuf, p, k); s->nbuf += k; p += k; n -= k;
        if (s->nbuf == 64) { sha_block_fn(s, s->buf); s->nbuf = 0; }
    }
}
static void sha_final(sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80, z = 0;
    sha_update(s, &pad, 1);
    while (s->nbuf != 56) sha_update(s, &z, 1);
    uint8_t l[8];
    for (int i = 0; i < 8; i++) l[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(s, l, 8);
    for (int i = 0; i < 8; i++) { out[4 * i] = (uint8_t)(s->h[i] >> 24); out[4 * i + 1] = (uint8_t)(s->h[i] >> 16); out[4 * i + 2] = (uint8_t)(s->h[i] >> 8); out[4 * i + 3] = (uint8_t)s->h[i]; }
}
/* Chooses the block function once: the SHA extensions when the CPU has them and they reproduce the FIPS 180-2
 * "abc" digest, else the portable code. Racing threads store the same pointer. */
static void sha_pick(void)
{
    void (*fn)(sha256 *, const uint8_t *) = sha_block;
#ifdef WM_HAVE_SHA_NI
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) && __get_cpuid(1, &a, &b, &c, &d) &&
        (c & (1u << 19))) {
        static const uint8_t abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                         0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
        sha256 t;
        uint8_t d32[32];
        sha_block_fn = sha_block_ni;
        sha_init(&t); sha_update(&t, "abc", 3); sha_final(&t, d32);
        if (!memcmp(d32, abc, 32)) fn = sha_block_ni;
    }
#endif
    sha_block_fn = fn;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = d[b[i] >> 4]; out[2 * i + 1] = d[b[i] & 15]; }
    out[2 * n] = 0;
}

/* ---- options, compiler ---------------------------------------------------------------------- */
static bool find_in_path(const char *prog);

/* $CC when set. Otherwise, for modules with SIMD instructions, clang, whose vector-extension code generation is
 * much better than GCC 12's on the SIMD128 lowering (bench/: resize.simd 4x, int8dot.simd 3x faster); for scalar
 * modules gcc, which does better on check-free scalar code (it inlines recursion, and keeps f32/f64 values in
 * vector registers where clang moves their bit patterns through general ones: bench/ fib, matmul, nbody).
 * Whichever of the two exists; otherwise cc. */
static const char *cc_name(bool simd)
{
    const char *cc = getenv("CC");
    if (cc && *cc && !strchr(cc, ' ')) return cc;
    static int have_clang = -1, have_gcc = -1;
    if (have_clang < 0) have_clang = find_in_path("clang");
    if (simd) return have_clang ? "clang" : "cc";
    if (have_gcc < 0) have_gcc = find_in_path("gcc");
    return have_gcc ? "gcc" : have_clang ? "clang" : "cc";
}

static bool find_in_path(const char *prog)
{
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char buf[4096];
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && n + strlen(prog) + 2 < sizeof buf) {
            memcpy(buf, p, n); buf[n] = '/'; strcpy(buf + n + 1, prog);
            if (access(buf, X_OK) == 0) return true;
        }
        p += n; if (*p == ':') p++;
    }
    return false;
}

bool wm_aot_compiler_available(void)
{
    static int found = -1;   /* a PATH walk is a few dozen access() calls: once per process */
    if (found < 0) found = find_in_path(cc_name(false)) && find_in_path(cc_name(true));
    return found;
}

void wm_aot_enable(void) { wm_mem_reserve_min = WM_AOT_RESERVE; }

static int opt_level(const wm_aot_options *o) { return o && o->opt_level > 0 ? (o->opt_level > 3 ? 3 : o->opt_level) : 2; }

/* Compiler flags for generated code. Float semantics: no contraction (FMA), signalling NaNs
 * respected (no x-0 / x*1 folding). -march=native unless the output must be portable. */
static const char *const base_flags[] = { "-std=gnu11", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off",
                                          "-fno-strict-aliasing", "-fno-math-errno", "-fsignaling-nans", "-w" };
#define NBASE (sizeof base_flags / sizeof base_flags[0])
/* Linking: no C start files (the object has no constructors), and two segments with no RELRO: each one dropped
 * saves the loader an mmap or mprotect at every load. */
static const char *const link_flags[] = { "-nostartfiles", "-Wl,-z,noseparate-code", "-Wl,-z,norelro", "-Wl,--hash-style=gnu" };
#define NLINK (sizeof link_flags / sizeof link_flags[0])

/* The compiler command line for compiler cc. With for_key, the compiler is named as configured ($CC, else "auto":
 * see cc_name) rather than looked up: a cache hit then costs no PATH search (~10 access() calls), and an entry
 * compiled by either default compiler is valid code for the same flags and CPU. The code variant is part of the
 * key: the checked and the no-limits code of one module are different entries. */
static int cc_args(const wm_aot_options *o, char *optbuf, const char **argv, bool for_key, const char *cc)
{
    int k = 0;
    const char *env_cc = getenv("CC");
    argv[k++] = for_key ? (env_cc && *env_cc && !strchr(env_cc, ' ') ? env_cc : "auto") : cc;
    snprintf(optbuf, 8, "-O%d", opt_level(o));
    argv[k++] = optbuf;
    for (size_t i = 0; i < NBASE; i++) argv[k++] = base_flags[i];
    /* clang ignores -fsignaling-nans and folds x*1, x-0 and x/1 to x, which returns a signalling NaN unquieted
     * (wasm requires a quiet NaN out). "strict", not "maytrap": with maytrap clang 14 still folds x-0 to x once
     * the 0 is known only after optimisation (e.g. (float)0ull), and folds 0/0 to +NaN where the hardware (and
     * the interpreter) gives -NaN; tests/aot/regress/snan_fold.wat. No measurable cost on bench/. */
    const char *base = strrchr(argv[0], '/');
    if (!for_key && strstr(base ? base + 1 : argv[0], "clang")) argv[k++] = "-ffp-exception-behavior=strict";
    if (!(o && o->portable)) argv[k++] = "-march=native";
    /* No-limits code relies on the guard page below the stack: frames bigger than a page must touch each page
     * on the way down, or a big frame could step over the guard into another mapping. */
    if (!(o && o->limits)) argv[k++] = "-fstack-clash-protection";
    /* ... and recursion must stay recursion: a tail call or an accumulated one (f(x) + 1) turned into a loop
     * would make runaway recursion an endless loop instead of "call stack exhausted". (Checked code counts the
     * depth in d_, which survives that transformation.) */
    if (!(o && o->limits)) argv[k++] = "-fno-optimize-sibling-calls";
    if (for_key) argv[k++] = o && o->limits ? "variant=limits" : "variant=no-limits";
    return k;
}

/* The host CPU's feature flags (for keys of -march=native code). */
static void cpu_flags(sha256 *s)
{
#ifdef WM_HAVE_SHA_NI   /* x86-64 with GNU C: ask CPUID directly; /proc/cpuinfo costs ~0.3 ms to produce */
    /* vendor, family/model/stepping and the feature leaves -march=native decides from (each CPUID can exit to
     * the hypervisor: ask only these) */
    unsigned r[12] = { 0 }, a, b, c, d;
    __get_cpuid(0, &r[0], &r[1], &r[2], &r[3]);
    if (__get_cpuid(1, &a, &b, &c, &d)) { r[4] = a; r[5] = c; r[6] = d; }   /* not EBX: it holds the APIC id */
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) { r[7] = b; r[8] = c; r[9] = d; }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) { r[10] = c; r[11] = d; }
    sha_update(s, r, sizeof r);
    return;
#endif
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[8192];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5) || !strncmp(line, "model name", 10) || !strncmp(line, "Features", 8)) {
            sha_update(s, line, strlen(line));
            if (line[0] != 'm') break;
        }
    fclose(f);
}

static void flags_string(const wm_aot_options *o, char *buf, size_t n)
{
    const char *argv[NBASE + 8];
    char optbuf[8];
    int k = cc_args(o, optbuf, argv, true, NULL);
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < k && len + 1 < n; i++) len += (size_t)snprintf(buf + len, n - len, "%s ", argv[i]);
}

static void cache_key_bytes(const uint8_t *bytes, size_t len, const wm_aot_options *o, char out[65])
{
    sha256 s;
    char flags[512];
    flags_string(o, flags, sizeof flags);
    sha_init(&s);
    sha_update(&s, "wasmind-aot " WASMIND_VERSION, strlen("wasmind-aot " WASMIND_VERSION) + 1);
    uint32_t abi = WM_AOT_ABI_VERSION;
    sha_update(&s, &abi, sizeof abi);
    sha_update(&s, flags, strlen(flags) + 1);
    if (!(o && o->portable)) cpu_flags(&s);
    /* the generated code's prelude, simd.h and the translator itself, digested at build time */
    sha_update(&s, WM_AOT_TEXT_DIGEST, sizeof WM_AOT_TEXT_DIGEST);
    sha_update(&s, bytes, len);
    uint8_t d[32];
    sha_final(&s, d);
    hex(d, 32, out);
}

static void cache_key(const wm_module *m, const wm_aot_options *o, char out[65])
{
    cache_key_bytes(m->bytes, m->len, o, out);
}

/* ---- .cwasm format: shared object, module bytes, trailer -------------------------------------------
 * The shared object comes first so that the dynamic loader can map a cache entry in place (dlopen of the file
 * itself): copying it into a memfd and loading that cost ~0.1 ms of every cold start. The trailer (cwasm_header)
 * ends the file. */
#define CWASM_MAGIC "WMCWASM2"
typedef struct cwasm_header {
    char magic[8];
    uint32_t abi, header_size;
    char key[64];
    uint64_t wasm_len, so_len;
    /* Checksums of the two parts. A cache entry is found by its key, a digest of the caller's module bytes, so only
     * its shared object needs checking; a .cwasm file given to `run` is checked whole. */
    uint8_t wasm_sha[32], so_sha[32];
} cwasm_header;

enum { CHECK_HEADER = 0, CHECK_SO = 1, CHECK_ALL = 3 };

bool wm_aot_is_cwasm(const uint8_t *buf, size_t len)
{
    return len >= sizeof(cwasm_header) && memcmp(buf + len - sizeof(cwasm_header), CWASM_MAGIC, 8) == 0;
}

/* Checks magic, sizes and the payload hash. */
static bool sha_matches(const uint8_t *p, size_t n, const uint8_t want[32])
{
    sha256 s; uint8_t d[32];
    sha_init(&s);
    sha_update(&s, p, n);
    sha_final(&s, d);
    return memcmp(d, want, 32) == 0;
}

/* Header and length checks, and the checksums `what` asks for (CHECK_*): the shared object's before it is loaded;
 * the module's when it came with the file (reading it needs none: validation guards it like any other bytes). */
static bool cwasm_check(const uint8_t *buf, size_t len, cwasm_header *h, int what, char *why, size_t wsize)
{
    if (!wm_aot_is_cwasm(buf, len)) { snprintf(why, wsize, "not a wasmind .cwasm file"); return false; }
    memcpy(h, buf + len - sizeof *h, sizeof *h);
    if (h->abi != WM_AOT_ABI_VERSION || h->header_size != sizeof *h) { snprintf(why, wsize, ".cwasm built by another wasmind version"); return false; }
    if (h->wasm_len > len || h->so_len > len || sizeof *h + h->wasm_len + h->so_len != len) { snprintf(why, wsize, "truncated .cwasm file"); return false; }
    const uint8_t *so = buf, *wasm = so + h->so_len;
    if (((what & 2) && !sha_matches(wasm, (size_t)h->wasm_len, h->wasm_sha)) ||
        ((what & 1) && !sha_matches(so, (size_t)h->so_len, h->so_sha))) {
        snprintf(why, wsize, "corrupt .cwasm file (checksum mismatch)");
        return false;
    }
    return true;
}

const uint8_t *wm_aot_cwasm_module(const uint8_t *buf, size_t len, size_t *wasm_len)
{
    cwasm_header h;
    char why[64];
    if (!cwasm_check(buf, len, &h, CHECK_HEADER, why, sizeof why)) return NULL;
    *wasm_len = (size_t)h.wasm_len;
    return buf + h.so_len;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL; size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) { cap = cap ? cap * 2 : 1 << 16; uint8_t *p = realloc(buf, cap); if (!p) { free(buf); fclose(f); return NULL; } buf = p; }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static bool write_all(const char *path, const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(a, 1, an, f) == an && (!bn || fwrite(b, 1, bn, f) == bn) && (!cn || fwrite(c, 1, cn, f) == cn);
    return (fclose(f) == 0) && ok;
}

/* ---- loaded code: process-wide table (kept for the process lifetime) -------------------------- */
typedef struct aot_code {
    char key[65];
    void *handle;
    int fd;                    /* the memfd it was loaded from, or -1 (see load_image) */
    const wm_aot_desc *desc;
    uintptr_t *fn_start;       /* defined functions' entry addresses, ascending ... */
    uint32_t *fn_def;          /* ... and their defined-function indices */
    int text_slot;             /* its executable segment in g_texts, or -1 */
    uint32_t refs;             /* modules using it; unused code stays loaded in a small LRU */
    uint64_t last_use;
    struct aot_code *next;
} aot_code;
static aot_code *g_codes;

static int text_add(const void *sym);
static void text_remove(int slot);
/* Caller holds g_lock (or c was never published). */
static void code_unload(aot_code *c)
{
    text_remove(c->text_slot);
    dlclose(c->handle);
    if (c->fd >= 0) close(c->fd);
    free(c->fn_start);
    free(c->fn_def);
    free(c);
}

static int cmp_start(const void *a, const void *b, void *starts)
{
    uintptr_t x = ((const uintptr_t *)starts)[*(const uint32_t *)a], y = ((const uintptr_t *)starts)[*(const uint32_t *)b];
    return x < y ? -1 : x > y;
}

/* Sorted entry addresses of the compiled functions: a return address in a backtrace belongs to the function
 * with the greatest entry below it. */
static bool index_functions(aot_code *c)
{
    uint32_t n = c->desc->nfuncdefs;
    if (!n || !c->desc->text_lo) return true;
    uintptr_t *raw = malloc(n * sizeof *raw);
    c->fn_start = malloc(n * sizeof *c->fn_start);
    c->fn_def = malloc(n * sizeof *c->fn_def);
    if (!raw || !c->fn_start || !c->fn_def) { free(raw); return false; }
    for (uint32_t i = 0; i < n; i++) { raw[i] = (uintptr_t)c->desc->funcs[i]; c->fn_def[i] = i; }
    qsort_r(c->fn_def, n, sizeof *c->fn_def, cmp_start, raw);
    for (uint32_t i = 0; i < n; i++) c->fn_start[i] = raw[c->fn_def[i]];
    free(raw);
    return true;
}
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_use_clock;
#define KEEP_UNUSED 16         /* unreferenced shared objects kept loaded for reuse */

/* Unloads the least recently used unreferenced code beyond KEEP_UNUSED. Caller holds g_lock. */
static void code_trim(void)
{
    for (;;) {
        uint32_t unused = 0;
        aot_code *lru = NULL;
        for (aot_code *c = g_codes; c; c = c->next)
            if (!c->refs) { unused++; if (!lru || c->last_use < lru->last_use) lru = c; }
        if (unused <= KEEP_UNUSED || !lru) return;
        for (aot_code **pp = &g_codes; *pp; pp = &(*pp)->next)
            if (*pp == lru) { *pp = lru->next; break; }
        code_unload(lru);
    }
}

void wm_aot_release(void *code)
{
    aot_code *c = code;
    pthread_mutex_lock(&g_lock);
    if (c->refs) c->refs--;
    c->last_use = ++g_use_clock;
    code_trim();
    pthread_mutex_unlock(&g_lock);
}

static aot_code *code_find(const char *key)
{
    for (aot_code *c = g_codes; c; c = c->next) if (strcmp(c->key, key) == 0) return c;
    return NULL;
}

static const char *tmp_dir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* dlopens the shared object inside a .cwasm image after the checks `what` asks for (CHECK_*: none for an image
 * built just now or one the caller has checked). `file`, when given, is where buf was read from: a cache entry,
 * only ever replaced by rename, so the loader may map it in place (the descriptor's key is compared after
 * loading all the same). Otherwise, or when that fails (a noexec mount), the object is copied into a memfd. */
static aot_code *load_image(const uint8_t *buf, size_t len, int what, const char *file, const char *want_key, uint32_t nfuncdefs, uint32_t ntypes, char *why, size_t wsize)
{
    cwasm_header h;
    if (!cwasm_check(buf, len, &h, what, why, wsize)) return NULL;
    if (want_key && memcmp(h.key, want_key, 64) != 0) { snprintf(why, wsize, ".cwasm was compiled from another module or configuration"); return NULL; }
    char path[4096];
    const uint8_t *so = buf;
    size_t left = (size_t)h.so_len;
    bool is_memfd = false;
    int fd = -1;
    void *handle = file ? dlopen(file, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (handle) { left = 0; goto loaded; }
    /* An anonymous in-memory file where the kernel has them (no file system round trip), else a temporary file. */
#ifdef MFD_CLOEXEC
    fd = memfd_create("wasmind-aot", MFD_CLOEXEC);
    if (fd >= 0) { is_memfd = true; snprintf(path, sizeof path, "/proc/self/fd/%d", fd); }
#endif
    if (fd < 0) {
        snprintf(path, sizeof path, "%s/wasmind-aot-XXXXXX.so", tmp_dir());
        fd = mkstemps(path, 3);
    }
    if (fd < 0) { snprintf(why, wsize, "cannot create a temporary file: %s", strerror(errno)); return NULL; }
    while (left) {
        ssize_t k = write(fd, so, left);
        if (k <= 0) { close(fd); if (!is_memfd) unlink(path); snprintf(why, wsize, "cannot write %s", path); return NULL; }
        so += k; left -= (size_t)k;
    }
    /* glibc's dlopen returns an already-loaded object of the same name, and /proc/self/fd/N names recur: a
     * memfd stays open while its code is loaded, so no two loaded objects share a name. */
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!is_memfd) { close(fd); unlink(path); fd = -1; }
    if (!handle) { if (fd >= 0) close(fd); snprintf(why, wsize, "dlopen failed: %s", dlerror()); return NULL; }
loaded:;
    const wm_aot_desc *d = dlsym(handle, "wm_aot_module");
    if (!d || d->magic != WM_AOT_MAGIC || d->abi != WM_AOT_ABI_VERSION || memcmp(d->key, h.key, 64) != 0 ||
        d->nfuncdefs != nfuncdefs || d->ntypes != ntypes) {
        dlclose(handle);
        if (fd >= 0) close(fd);
        snprintf(why, wsize, "compiled code does not match the module");
        return NULL;
    }
    aot_code *c = calloc(1, sizeof *c);
    if (!c) { dlclose(handle); if (fd >= 0) close(fd); snprintf(why, wsize, "out of memory"); return NULL; }
    memcpy(c->key, h.key, 64); c->key[64] = 0;
    c->handle = handle; c->fd = fd; c->desc = d; c->text_slot = -1;
    if (!index_functions(c)) { code_unload(c); snprintf(why, wsize, "out of memory"); return NULL; }
    /* the interrupt signal may unwind only generated code: without its extent, no-limits code cannot run */
    if ((c->text_slot = text_add(d)) == -1 && !(d->flags & WM_AOT_F_LIMITS)) {
        code_unload(c);
        snprintf(why, wsize, "cannot locate the compiled code in memory");
        return NULL;
    }
    return c;
}

/* ---- compiling ----------------------------------------------------------------------------------- */
static uint32_t default_jobs(const wm_aot_options *o)
{
    if (o && o->jobs) return o->jobs;
    const char *e = getenv("WASMIND_AOT_JOBS");
    if (e && atoi(e) > 0) return (uint32_t)atoi(e);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* A CPU-time cap (inherited by cc1/as/ld) so a pathological module cannot hang us:
         * the compile fails and the module stays interpreted. */
        const char *t = getenv("WASMIND_AOT_TIMEOUT");
        rlim_t secs = t && atoi(t) > 0 ? (rlim_t)atoi(t) : 300;
        struct rlimit rl = { secs, secs + 5 };
        setrlimit(RLIMIT_CPU, &rl);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static bool wait_ok(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return false;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void rm_tree(const char *dir, uint32_t ntus)
{
    char p[4200];
    for (uint32_t u = 0; u < ntus; u++) {
        snprintf(p, sizeof p, "%s/u%u.c", dir, u); unlink(p);
        snprintf(p, sizeof p, "%s/u%u.o", dir, u); unlink(p);
    }
    snprintf(p, sizeof p, "%s/module.so", dir); unlink(p);
    snprintf(p, sizeof p, "%s/cc.log", dir); unlink(p);
    rmdir(dir);
}

/* Translates and compiles m; returns the .cwasm image (malloc'd). */
static uint8_t *build_image(const wm_module *m, const wm_aot_options *o, const char *key, size_t *img_len, char *why, size_t wsize)
{
    uint32_t jobs = default_jobs(o);
    char **tus = NULL; uint32_t ntus = 0;
    char err[256];
    bool simd = false;
    if (!wm_aot_translate(m, key, wm_aot_prelude_text_, wm_aot_simd_text_, o && o->limits, jobs > 1 ? jobs * 2 : 1, &tus,
                          &ntus, &simd, err, sizeof err)) {
        snprintf(why, wsize, "translation to C failed: %s", err);
        return NULL;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/wasmind-aot-XXXXXX", tmp_dir());
    uint8_t *img = NULL;
    if (!mkdtemp(dir)) { snprintf(why, wsize, "cannot create a temporary directory: %s", strerror(errno)); goto out_free; }
    char log[4200], sopath[4200];
    snprintf(log, sizeof log, "%s/cc.log", dir);
    snprintf(sopath, sizeof sopath, "%s/module.so", dir);
    bool ok = true;
    for (uint32_t u = 0; u < ntus && ok; u++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/u%u.c", dir, u);
        ok = write_all(p, tus[u], strlen(tus[u]), NULL, 0, NULL, 0);
        if (!ok) snprintf(why, wsize, "cannot write %s", p);
    }
    if (ok) {
        char optf[8];
        const char *cc = cc_name(simd);
        const char *argv[NBASE + 20];
        int nb = cc_args(o, optf, argv, false, cc);
        if (ntus == 1) {
            char src[4200];
            snprintf(src, sizeof src, "%s/u0.c", dir);
            int k = nb;
            argv[k++] = "-shared"; for (size_t i = 0; i < NLINK; i++) argv[k++] = link_flags[i];
            argv[k++] = "-o"; argv[k++] = sopath; argv[k++] = src; argv[k++] = "-lm"; argv[k] = NULL;
            pid_t pid = spawn((char *const *)argv, log);
            ok = pid > 0 && wait_ok(pid);
        } else {
            pid_t *pids = calloc(ntus, sizeof *pids);
            uint32_t next = 0, running = 0, done = 0, oldest = 0;
            ok = pids != NULL;
            /* large modules: say how far along we are (on a terminal, or when asked) */
            const char *pe = getenv("WASMIND_AOT_PROGRESS");
            bool progress = pe && *pe ? *pe != '0' : isatty(STDERR_FILENO);
            if (progress) fprintf(stderr, "wasmind: compiling %u functions in %u units with %u jobs\n", m->nfuncdefs, ntus, jobs);
            while (ok && done < ntus) {
                while (next < ntus && running < jobs) {
                    char src[4200], obj[4200];
                    snprintf(src, sizeof src, "%s/u%u.c", dir, next);
                    snprintf(obj, sizeof obj, "%s/u%u.o", dir, next);
                    int k = nb;
                    argv[k++] = "-c"; argv[k++] = "-o"; argv[k++] = obj; argv[k++] = src; argv[k] = NULL;
                    pids[next] = spawn((char *const *)argv, log);
                    if (pids[next] <= 0) { ok = false; break; }
                    next++; running++;
                }
                if (!ok) break;
                /* wait for our own children only (an embedding may have others), oldest first */
                int st;
                pid_t p = waitpid(pids[oldest], &st, 0);
                if (p < 0) { if (errno == EINTR) continue; ok = false; break; }
                oldest++; running--; done++;
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = false;
                if (progress) fprintf(stderr, "\rwasmind: compiled %u/%u units%s", done, ntus, done == ntus ? "\n" : "");
            }
            while (running > 0) {
                int st;
                if (waitpid(pids[oldest], &st, 0) < 0 && errno == EINTR) continue;
                oldest++; running--;
            }
            if (progress && done < ntus) fputc('\n', stderr);
            free(pids);
            if (ok) {
                char **largv = calloc(ntus + 6 + NLINK, sizeof *largv);
                char (*objs)[4200] = calloc(ntus, sizeof *objs);
                ok = largv && objs;
                if (ok) {
                    uint32_t k = 0;
                    char **argv = largv;
                    argv[k++] = (char *)cc; argv[k++] = "-shared"; for (size_t i = 0; i < NLINK; i++) argv[k++] = (char *)link_flags[i];
                    argv[k++] = "-o"; argv[k++] = sopath;
                    for (uint32_t u = 0; u < ntus; u++) { snprintf(objs[u], sizeof objs[u], "%s/u%u.o", dir, u); argv[k++] = objs[u]; }
                    argv[k++] = "-lm";
                    argv[k] = NULL;
                    pid_t pid = spawn(argv, log);
                    ok = pid > 0 && wait_ok(pid);
                }
                free(largv); free(objs);
            }
        }
        if (!ok) {
            size_t ln = 0;
            uint8_t *l = read_all(log, &ln);
            char first[200] = "";
            if (l && ln) { size_t k = 0; while (k < ln && k < sizeof first - 1 && l[k] != '\n') { first[k] = (char)l[k]; k++; } first[k] = 0; }
            free(l);
            snprintf(why, wsize, "C compiler `%s` failed%s%s", cc, first[0] ? ": " : "", first);
        }
    }
    if (ok) {
        size_t so_len = 0;
        uint8_t *so = read_all(sopath, &so_len);
        if (!so) { snprintf(why, wsize, "cannot read the compiled object"); ok = false; }
        else {
            cwasm_header h;
            memset(&h, 0, sizeof h);
            memcpy(h.magic, CWASM_MAGIC, 8);
            h.abi = WM_AOT_ABI_VERSION; h.header_size = sizeof h;
            memcpy(h.key, key, 64);
            h.wasm_len = m->len; h.so_len = so_len;
            sha256 s; sha_init(&s); sha_update(&s, m->bytes, m->len); sha_final(&s, h.wasm_sha);
            sha_init(&s); sha_update(&s, so, so_len); sha_final(&s, h.so_sha);
            *img_len = so_len + m->len + sizeof h;
            img = malloc(*img_len);
            if (img) {
                memcpy(img, so, so_len);
                memcpy(img + so_len, m->bytes, m->len);
                memcpy(img + so_len + m->len, &h, sizeof h);
            } else snprintf(why, wsize, "out of memory");
            free(so);
        }
    }
    if (!getenv("WASMIND_AOT_KEEP")) rm_tree(dir, ntus);
    else fprintf(stderr, "wasmind: AOT sources kept in %s\n", dir);
out_free:
    for (uint32_t u = 0; u < ntus; u++) free(tus[u]);
    free(tus);
    return img;
}

static bool cache_path(const char *key, char *out, size_t n, bool create)
{
    const char *x = getenv("XDG_CACHE_HOME");
    char base[4096];
    if (x && *x) snprintf(base, sizeof base, "%s", x);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home) return false;
        snprintf(base, sizeof base, "%s/.cache", home);
    }
    if (create) mkdir(base, 0700);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/wasmind", base);
    if (create) mkdir(dir, 0700);
    snprintf(out, n, "%s/%s.cwasm", dir, key);
    return true;
}

/* Keeps the cache directory under $WASMIND_CACHE_MAX_MB (default 1024): after a new entry is written, the
 * least recently used .cwasm files (by access time; hits rewrite it, see wm_aot_attach) go until it is under
 * 80% of that. Runs only after a compile, which costs far more. */
static void cache_evict(const char *entry_path)
{
    const char *env = getenv("WASMIND_CACHE_MAX_MB");
    uint64_t max = (env && *env ? strtoull(env, NULL, 10) : 1024) << 20;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s", entry_path);
    char *slash = strrchr(dir, '/');
    if (!slash || !max) return;
    *slash = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct ent { char name[80]; time_t used; uint64_t size; } *ents = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 7 || len >= sizeof ents->name || strcmp(de->d_name + len - 6, ".cwasm")) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            struct ent *p = realloc(ents, (cap = cap ? cap * 2 : 64) * sizeof *p);
            if (!p) break;
            ents = p;
        }
        memcpy(ents[n].name, de->d_name, len + 1);
        ents[n].used = st.st_atime > st.st_mtime ? st.st_atime : st.st_mtime;
        ents[n].size = (uint64_t)st.st_size;
        total += ents[n++].size;
    }
    while (total > max - max / 5 && n) {
        size_t oldest = 0;
        for (size_t i = 1; i < n; i++) if (ents[i].used < ents[oldest].used) oldest = i;
        if (unlinkat(dirfd(d), ents[oldest].name, 0) == 0) total -= ents[oldest].size;
        ents[oldest] = ents[--n];
    }
    free(ents);
    closedir(d);
}

/* Caller holds g_lock. */
static bool attach_code(wm_module *m, aot_code *c)
{
    c->refs++;
    c->last_use = ++g_use_clock;
    m->aot = c;
    return true;
}

/* Adds freshly loaded code to the process table and attaches it; if another thread loaded the same key
 * meanwhile, that copy is used and this one unloaded. */
static void publish_and_attach(wm_module *m, aot_code *c, const char *key)
{
    pthread_mutex_lock(&g_lock);
    aot_code *other = code_find(key);
    if (other) { code_unload(c); c = other; }
    else { c->next = g_codes; g_codes = c; }
    attach_code(m, c);
    pthread_mutex_unlock(&g_lock);
}

bool wm_aot_attach(wm_module *m, const wm_aot_options *o, char *why, size_t wsize)
{
    char key[65];
    cache_key(m, o, key);
    pthread_mutex_lock(&g_lock);
    aot_code *c = code_find(key);
    if (c) attach_code(m, c);
    pthread_mutex_unlock(&g_lock);
    if (c) return true;
    char path[4400];
    bool have_path = !(o && o->no_cache) && cache_path(key, path, sizeof path, false);
    if (have_path) {
        size_t len = 0;
        uint8_t *buf = read_all(path, &len);
        if (buf) {
            char w2[256];
            c = load_image(buf, len, CHECK_SO, path, key, m->nfuncdefs, m->ntypes, w2, sizeof w2);
            free(buf);
            if (c) utimensat(AT_FDCWD, path, NULL, 0);   /* recency for cache_evict (noatime mounts) */
            if (!c) {
                if (o && o->verbose) fprintf(stderr, "wasmind: rejecting cache entry %s (%s); recompiling\n", path, w2);
                unlink(path);
            }
        }
    }
    if (!c) {
        if (!wm_aot_compiler_available()) { snprintf(why, wsize, "no C compiler found (`%s` is not on PATH)", cc_name(false)); return false; }
        size_t len = 0;
        uint8_t *img = build_image(m, o, key, &len, why, wsize);
        if (!img) return false;
        c = load_image(img, len, CHECK_HEADER, NULL, key, m->nfuncdefs, m->ntypes, why, wsize);
        if (c && !(o && o->no_cache) && cache_path(key, path, sizeof path, true)) {
            char tmp[4500];
            snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
            if (write_all(tmp, img, len, NULL, 0, NULL, 0) && rename(tmp, path) == 0) cache_evict(path);
            else unlink(tmp);
        }
        free(img);
        if (!c) return false;
    }
    publish_and_attach(m, c, key);
    return true;
}

wm_module *wm_aot_module_cwasm(wm_engine *engine, const uint8_t *buf, size_t len, bool need_limits, wm_error *err)
{
    memset(err, 0, sizeof *err);
    size_t wlen = 0;
    const uint8_t *w = wm_aot_cwasm_module(buf, len, &wlen);
    if (!w) {
        err->status = WM_ERR_MALFORMED;
        snprintf(err->message, sizeof err->message, "corrupt or foreign .cwasm file");
        return NULL;
    }
    /* the bodies are validated and translated only if the native code cannot be used */
    wm_module *m = wm_decode_module_ex(engine, w, wlen, false, err);
    if (!m) return NULL;
    char why[400];
    if (!wm_aot_attach_cwasm(m, buf, len, need_limits, why, sizeof why)) {
        fprintf(stderr, "wasmind: cannot use the native code in this .cwasm (%s); interpreting\n", why);
        if (!wm_module_translate_pending(m, err)) { wm_module_destroy(m); return NULL; }
    }
    return m;
}

wm_module *wm_aot_module_cached(wm_engine *engine, const uint8_t *bytes, size_t len, const wm_aot_options *o)
{
    if (o && o->no_cache) return NULL;
    char key[65];
    cache_key_bytes(bytes, len, o, key);
    /* the key covers these bytes, and any code under it was compiled from them after full validation */
    wm_error err;
    wm_module *m = wm_decode_module_ex(engine, bytes, len, false, &err);
    if (!m) return NULL;
    pthread_mutex_lock(&g_lock);
    aot_code *c = code_find(key);
    if (c) attach_code(m, c);
    pthread_mutex_unlock(&g_lock);
    if (c) return m;
    char path[4400], why[256];
    uint8_t *buf = NULL;
    size_t blen = 0;
    if (cache_path(key, path, sizeof path, false) && (buf = read_all(path, &blen))) {
        c = load_image(buf, blen, CHECK_SO, path, key, m->nfuncdefs, m->ntypes, why, sizeof why);
        free(buf);
        if (!c) {
            if (o && o->verbose) fprintf(stderr, "wasmind: rejecting cache entry %s (%s); recompiling\n", path, why);
            unlink(path);
        }
    }
    if (!c) { wm_module_destroy(m); return NULL; }
    utimensat(AT_FDCWD, path, NULL, 0);   /* recency for cache_evict (noatime mounts) */
    publish_and_attach(m, c, key);
    return m;
}

bool wm_aot_compile_to(const wm_module *m, const wm_aot_options *o, const char *path, char *why, size_t wsize)
{
    if (!wm_aot_compiler_available()) { snprintf(why, wsize, "no C compiler found (`%s` is not on PATH)", cc_name(false)); return false; }
    char key[65];
    cache_key(m, o, key);
    size_t len = 0;
    uint8_t *img = build_image(m, o, key, &len, why, wsize);
    if (!img) return false;
    bool ok = write_all(path, img, len, NULL, 0, NULL, 0);
    if (!ok) snprintf(why, wsize, "cannot write %s: %s", path, strerror(errno));
    free(img);
    return ok;
}

static bool wm_aot_attach_cwasm_any(wm_module *m, const uint8_t *buf, size_t len, char *why, size_t wsize);
bool wm_aot_attach_cwasm(wm_module *m, const uint8_t *buf, size_t len, bool need_limits, char *why, size_t wsize)
{
    if (!wm_aot_attach_cwasm_any(m, buf, len, why, wsize)) return false;
    const aot_code *c = m->aot;
    if (need_limits && !(c->desc->flags & WM_AOT_F_LIMITS)) {
        /* never run no-limits code under fuel */
        snprintf(why, wsize, "it was compiled without fuel checks; `wasmind compile --limits` makes one that has them");
        wm_aot_release(m->aot);
        m->aot = NULL;
        return false;
    }
    return true;
}

static bool wm_aot_attach_cwasm_any(wm_module *m, const uint8_t *buf, size_t len, char *why, size_t wsize)
{
    cwasm_header h;
    if (!cwasm_check(buf, len, &h, CHECK_ALL, why, wsize)) return false;
    char key[65];
    memcpy(key, h.key, 64); key[64] = 0;
    pthread_mutex_lock(&g_lock);
    aot_code *c = code_find(key);
    if (c) attach_code(m, c);
    pthread_mutex_unlock(&g_lock);
    if (c) return true;
    c = load_image(buf, len, CHECK_HEADER, NULL, NULL, m->nfuncdefs, m->ntypes, why, wsize);
    if (!c) return false;
    pthread_mutex_lock(&g_lock);
    c->next = g_codes; g_codes = c;
    attach_code(m, c);
    pthread_mutex_unlock(&g_lock);
    return true;
}

/* ---- execution: entries, traps, signals ------------------------------------------------------------ */
typedef struct aot_entry {
    sigjmp_buf jb;
    volatile int trap;
    struct aot_entry *prev;        /* the enclosing entry on this thread (through host calls), or NULL */
    wm_store *store;
    const wm_instance *inst;       /* instance of the entered function: names the frames of its code */
    bool claimed;                  /* this entry published the thread in store->aot_tid (no-limits code) */
    uint64_t deadline_ns;          /* the deadline it armed the thread's timer for, or 0 */
} aot_entry;

/* tls_entry: the innermost entry while compiled code (or a runtime service it called) runs; NULL while a host
 * function or the interpreter runs (call_slow), so a fault there is never taken for a wasm trap. tls_top: the
 * innermost entry regardless, for the interrupt handler to find the stores running on this thread. */
static __thread aot_entry *tls_entry, *tls_top;
static __thread char *tls_stack_limit;                /* lowest SP at which code may leave compiled code */
static __thread char *tls_guard_lo, *tls_guard_hi;    /* faults here from wasm context: stack exhausted */
static __thread pid_t tls_tid;
static __thread int tls_timer_state;                  /* 0 not created, 1 created, -1 cannot */
static __thread timer_t tls_timer;
static pthread_key_t g_timer_key;                     /* deletes a thread's timer when the thread exits */

/* An address range of a table the signal handlers read without a lock (hi is written last; 0 = free slot). */
typedef struct addr_range { uintptr_t lo, hi; } addr_range;

static bool in_ranges(const addr_range *t, uint32_t n, uintptr_t a)
{
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t hi = __atomic_load_n(&t[i].hi, __ATOMIC_ACQUIRE);
        if (a >= t[i].lo && a < hi) return true;
    }
    return false;
}

/* Guard-reserved memories (address ranges) used by compiled code: faults there are OOB traps. */
#define MAX_REGIONS 4096
static addr_range g_regions[MAX_REGIONS];
static volatile uint32_t g_nregions;

static void region_add(const wm_memory *mem)
{
    uintptr_t lo = (uintptr_t)mem->data, hi = lo + (uintptr_t)mem->reserved;
    pthread_mutex_lock(&g_lock);
    uint32_t n = g_nregions, free_slot = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        if (g_regions[i].lo == lo && g_regions[i].hi == hi) { pthread_mutex_unlock(&g_lock); return; }
        if (g_regions[i].hi == 0 && free_slot == UINT32_MAX) free_slot = i;
    }
    /* Drop stale entries that overlap the new reservation (their memory was unmapped). */
    for (uint32_t i = 0; i < n; i++)
        if (g_regions[i].lo < hi && lo < g_regions[i].hi) { g_regions[i].lo = g_regions[i].hi = 0; if (free_slot == UINT32_MAX) free_slot = i; }
    if (free_slot == UINT32_MAX && n < MAX_REGIONS) { free_slot = n; g_nregions = n + 1; }
    if (free_slot != UINT32_MAX) { g_regions[free_slot].lo = lo; __atomic_store_n(&g_regions[free_slot].hi, hi, __ATOMIC_RELEASE); }
    pthread_mutex_unlock(&g_lock);
}

static bool in_region(uintptr_t a) { return in_ranges(g_regions, g_nregions, a); }

/* Executable segments of the loaded shared objects: everything in them is generated code (wasm functions,
 * trampolines, helpers), which holds no lock and allocates nothing, so a signal may unwind it at any instruction.
 * Slots are written under g_lock and read lock-free by the signal handlers. */
#define MAX_TEXTS 4096
static addr_range g_texts[MAX_TEXTS];
static volatile uint32_t g_ntexts;

/* The slot of sym's object, -2 when it has no code, -1 when its extent cannot be found. */
static int text_add(const void *sym)
{
    Dl_info info;
    if (!dladdr(sym, &info) || !info.dli_fbase) return -1;
    const ElfW(Ehdr) *eh = info.dli_fbase;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) return -1;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
            uintptr_t a = (uintptr_t)info.dli_fbase + ph[i].p_vaddr;
            if (a < lo) lo = a;
            if (a + ph[i].p_memsz > hi) hi = a + ph[i].p_memsz;
        }
    if (lo >= hi) return -2;   /* no code at all (a module without functions or types) */
    int slot = -1;
    pthread_mutex_lock(&g_lock);
    for (uint32_t i = 0; i < g_ntexts && slot < 0; i++) if (!g_texts[i].hi) slot = (int)i;
    if (slot < 0 && g_ntexts < MAX_TEXTS) slot = (int)g_ntexts++;
    if (slot >= 0) { g_texts[slot].lo = lo; __atomic_store_n(&g_texts[slot].hi, hi, __ATOMIC_RELEASE); }
    pthread_mutex_unlock(&g_lock);
    return slot;
}

/* Caller holds g_lock (code_unload). */
static void text_remove(int slot)
{
    if (slot >= 0) __atomic_store_n(&g_texts[slot].hi, 0, __ATOMIC_RELEASE);
}

static bool in_text(uintptr_t pc) { return in_ranges(g_texts, g_ntexts, pc); }

static struct sigaction g_old_segv, g_old_bus;
int g_interrupt_signo;   /* the signal that stops no-limits code (install_handlers) */

/* Records the wasm frames of the trapping entry into the store's backtrace (innermost first), like the
 * interpreter does: return addresses inside the entered instance's compiled code, mapped to function indices.
 * Frames of other code (host functions, interpreted callees) are skipped. Called on the trapping thread, from
 * rt_trap or the signal handlers (backtrace() was warmed up in thread_init, so it does not allocate here). */
static void record_backtrace(aot_entry *e)
{
    const wm_instance *in = e->inst;
    const aot_code *c = in && in->module ? in->module->aot : NULL;
    if (!c || !c->fn_start || !e->store) return;
    void *pcs[64];
    int n = backtrace(pcs, 64);
    uint32_t nbt = 0;
    for (int i = 0; i < n && nbt < 32; i++) {
        uintptr_t pc = (uintptr_t)pcs[i];
        if (pc <= (uintptr_t)c->desc->text_lo || pc > (uintptr_t)c->desc->text_hi || pc <= c->fn_start[0]) continue;
        uint32_t lo = 0, hi = c->desc->nfuncdefs;   /* greatest start <= pc - 1 (pc is a return address) */
        while (hi - lo > 1) { uint32_t mid = (lo + hi) / 2; if (c->fn_start[mid] <= pc - 1) lo = mid; else hi = mid; }
        e->store->bt_inst[nbt] = in;
        e->store->bt_func[nbt++] = in->module->nfunc_imports + c->fn_def[lo];
    }
    e->store->nbt = nbt;
}

static void uc_regs(void *ucv, uintptr_t *pc, uintptr_t *sp)
{
    ucontext_t *uc = ucv;
#if defined(__x86_64__)
    *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    *pc = (uintptr_t)uc->uc_mcontext.pc;
    *sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc; *pc = 0; *sp = 0;
#endif
}

/* A fault from wasm context (tls_entry set: compiled code or a runtime service it called, never host code) is
 * stack exhaustion when it hits this thread's guard zone (the guard page(s) below the stack and the margin kept
 * for host code above them), or, in generated code, lands right around the stack pointer (a stack whose bounds
 * were not known exactly). The runtime services check the stack pointer before they take a lock or call out
 * (rt_stack_check), so what such a fault interrupts is generated code or a service's first instructions: safe
 * to unwind. */
static bool stack_fault(uintptr_t a, void *uc)
{
    if (a >= (uintptr_t)tls_guard_lo && a < (uintptr_t)tls_guard_hi) return true;
    uintptr_t pc, sp;
    uc_regs(uc, &pc, &sp);
    return sp && a + (64u << 10) >= sp && a < sp + (1u << 20) && in_text(pc);
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
    aot_entry *e = tls_entry;
    if (e && in_region((uintptr_t)si->si_addr)) {
        e->trap = WM_TRAP_MEMORY_OOB;
        record_backtrace(e);
        siglongjmp(e->jb, 1);
    }
    if (e && sig == SIGSEGV && stack_fault((uintptr_t)si->si_addr, uc)) {
        e->trap = WM_TRAP_STACK_EXHAUSTED;
        record_backtrace(e);   /* reads the exhausted stack; runs on the alternate one */
        siglongjmp(e->jb, 1);
    }
    struct sigaction *old = sig == SIGSEGV ? &g_old_segv : &g_old_bus;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) { old->sa_sigaction(sig, si, uc); return; }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) { old->sa_handler(sig); return; }
    signal(sig, SIG_DFL);   /* the faulting instruction re-executes and the process dies normally */
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);   /* async-signal-safe */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Why the guest of s must stop now: WM_TRAP_INTERRUPTED, WM_TRAP_DEADLINE, or WM_TRAP_NONE. */
static wm_trap stop_reason(const wm_store *s)
{
    if (s->interrupt) return WM_TRAP_INTERRUPTED;
    if (s->deadline_ns && mono_ns() >= s->deadline_ns) return WM_TRAP_DEADLINE;
    return WM_TRAP_NONE;
}

/* Fires this thread's timer after ns nanoseconds (relative), or at absolute monotonic time abs_ns; 0, 0 disarms.
 * timer_settime is async-signal-safe: the interrupt handler re-arms with it. */
static void timer_arm(uint64_t ns, uint64_t abs_ns)
{
    if (tls_timer_state != 1) return;
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    uint64_t v = abs_ns ? abs_ns : ns;
    it.it_value.tv_sec = (time_t)(v / 1000000000ull);
    it.it_value.tv_nsec = (long)(v % 1000000000ull);
    timer_settime(tls_timer, abs_ns ? TIMER_ABSTIME : 0, &it, NULL);
}

/* The interrupt signal: sent by wm_store_interrupt (runtime.c) to the thread running no-limits code for the
 * store, and by this thread's timer at a deadline. When the interrupted instruction is generated code and the
 * innermost entry's store must stop, the entry unwinds with that trap, as a trap in the code would. Anywhere
 * else (a host function, the interpreter, a runtime service, libc) unwinding could leave a lock held or a
 * structure half-updated, so the handler only re-arms the timer for 1 ms later and returns: the host call's
 * return into compiled code checks (call_slow), the interpreter polls on its own, and otherwise the next signal
 * finds the thread back in generated code. */
static void interrupt_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si;
    int saved_errno = errno;
    aot_entry *e = tls_entry;
    if (e) {
        wm_trap t = stop_reason(e->store);
        uintptr_t pc, sp;
        uc_regs(uc, &pc, &sp);
        if (t != WM_TRAP_NONE && in_text(pc)) {
            if (t == WM_TRAP_INTERRUPTED) e->store->interrupt = 0;   /* consumed, as wm_store_fuel_slow does */
            e->trap = t;
            record_backtrace(e);
            siglongjmp(e->jb, 1);
        }
    }
    for (aot_entry *x = tls_top; x; x = x->prev)
        if (stop_reason(x->store) != WM_TRAP_NONE) { timer_arm(1000000, 0); break; }
    errno = saved_errno;
}

static void timer_key_free(void *p)
{
    (void)p;
    if (tls_timer_state == 1) { timer_delete(tls_timer); tls_timer_state = 0; }
}

static pthread_once_t g_sig_once = PTHREAD_ONCE_INIT;
static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;   /* NODEFER: siglongjmp leaves the mask alone */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_old_segv);
    sigaction(SIGBUS, &sa, &g_old_bus);
    /* A real-time signal above glibc's reserved ones; RESTART so that a signal landing in a host function's
     * system call does not make it fail with EINTR. */
    pthread_key_create(&g_timer_key, timer_key_free);
    int signo = SIGRTMIN + 5;
    sa.sa_sigaction = interrupt_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    if (signo <= SIGRTMAX && sigaction(signo, &sa, NULL) == 0) __atomic_store_n(&g_interrupt_signo, signo, __ATOMIC_RELEASE);
}

static void thread_init(void)
{
    if (tls_stack_limit) return;
    pthread_once(&g_sig_once, install_handlers);
    tls_tid = (pid_t)syscall(SYS_gettid);
    /* backtrace() loads the unwinder (libgcc_s) on first use. That is left to the first trap, even when it comes
     * from the fault handler: the fault is synchronous and in generated code, which holds no libc or loader
     * lock, so loading there cannot deadlock; and loading it here cost every cold start ~0.1 ms. */
    /* alternate signal stack for this thread (mmap'd: lives as long as the thread) */
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
        size_t sz = 256 * 1024;
        void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            stack_t ss = { .ss_sp = p, .ss_size = sz, .ss_flags = 0 };
            sigaltstack(&ss, NULL);
        }
    }
    char *lo = NULL; size_t size = 0;
    pthread_attr_t attr;
#if defined(__GLIBC__)
    /* The main thread: glibc's pthread_getattr_np parses /proc/self/maps for it (~0.1 ms of every start-up).
     * Its stack mapping ends just above the program name string (AT_EXECFN, the first thing the kernel copies
     * to the new stack) and may grow down to RLIMIT_STACK below that end; the kernel faults any access below.
     * With an unlimited (or huge) limit it would grow until it meets another mapping: then an inaccessible
     * mapping placed at 8 MiB stops it (the kernel lets a stack grow right up to a PROT_NONE mapping). */
    extern void *__libc_stack_end;
    struct rlimit rl;
    if (getpid() == tls_tid && __libc_stack_end && getrlimit(RLIMIT_STACK, &rl) == 0) {
        bool huge = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > ((size_t)1 << 30);
        size_t cap = huge ? (size_t)8 << 20 : (size_t)rl.rlim_cur;
        uintptr_t end = (uintptr_t)__libc_stack_end;
        const char *fn = (const char *)getauxval(AT_EXECFN);
        if (fn && (uintptr_t)fn > end && (uintptr_t)fn - end < ((size_t)1 << 30)) end = (uintptr_t)fn + strlen(fn) + 1;
        uintptr_t top = (end + 4095) & ~(uintptr_t)4095;
        lo = (char *)(top - cap);
        size = cap;
        if (huge) {
            void *g = mmap(lo - 65536, 65536, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
            if (g != MAP_FAILED && g != lo - 65536) munmap(g, 65536);   /* kernels before 4.17 ignore NOREPLACE */
        }
    } else
#endif
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr = NULL;
        size_t guard = 0;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) lo = addr;
        /* a thread stack with no guard page (pthread_attr_setguardsize 0): make one out of its lowest 64 KiB */
        if (lo && pthread_attr_getguardsize(&attr, &guard) == 0 && guard == 0 && size >= (2u << 20) &&
            mprotect(lo, 65536, PROT_NONE) == 0) { lo += 65536; size -= 65536; }
        pthread_attr_destroy(&attr);
    }
    char probe;
    if (!lo || size < (1u << 20) || &probe < lo || &probe > lo + size) {
        lo = &probe - (1u << 20);   /* unknown: assume 1 MiB below here */
        size = 0;
    }
    size_t margin = 256 * 1024;
    tls_guard_lo = lo - (2u << 20);   /* pthread guard pages / the kernel's stack guard gap lie below lo */
    tls_guard_hi = lo + margin;
    tls_stack_limit = lo + margin;
}

/* The per-thread timer that delivers deadlines (and re-sends interrupts) to no-limits code, created on the
 * thread's first such call. */
static void timer_init(void)
{
    if (tls_timer_state) return;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = __atomic_load_n(&g_interrupt_signo, __ATOMIC_ACQUIRE);
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif
    sev.sigev_notify_thread_id = tls_tid;
    if (sev.sigev_signo && timer_create(CLOCK_MONOTONIC, &sev, &tls_timer) == 0) {
        tls_timer_state = 1;
        pthread_setspecific(g_timer_key, (void *)1);
    } else tls_timer_state = -1;
}

/* The earliest deadline among the entries active on this thread that armed one (0 = none). */
static uint64_t earliest_deadline(const aot_entry *from)
{
    uint64_t d = 0;
    for (const aot_entry *x = from; x; x = x->prev) if (x->deadline_ns && (!d || x->deadline_ns < d)) d = x->deadline_ns;
    return d;
}

int wm_aot_variant(const wm_module *m)
{
    const aot_code *c = m->aot;
    return c ? (c->desc->flags & WM_AOT_F_LIMITS) != 0 : -1;
}

static bool code_checked(const wm_instance *in)
{
    const aot_code *c = in && in->module ? in->module->aot : NULL;
    return c && (c->desc->flags & WM_AOT_F_LIMITS);
}

/* No-limits code must not run under fuel: it charges none. The function runs in the interpreter instead when the
 * module's bodies are translated; a module loaded from compiled code only (a .cwasm, a cache hit) cannot, and the
 * call fails. Returns WM_TRAP_NONE after running f, or the trap; *ran says whether it did anything. */
static wm_trap unchecked_under_fuel(wm_store *s, wm_func *f, uint64_t *fp, bool *ran)
{
    *ran = false;
    if (!s->fuel_limit || code_checked(f->inst)) return WM_TRAP_NONE;
    *ran = true;
    if (f->inst->module->bodies_pending) {
        snprintf(s->trap_msg, sizeof s->trap_msg, "this module's native code was compiled without fuel checks "
                 "(wasmind compile --limits, or run --fuel, compiles the checked variant)");
        return WM_TRAP_HOST;
    }
    aot_entry *saved = tls_entry;
    tls_entry = NULL;
    wm_trap t = wm_interp_run(s, f, fp);
    tls_entry = saved;
    return t;
}

/* Before no-limits code runs: publish this thread for wm_store_interrupt (which sets the flag, then reads the
 * thread id: either it sees us and signals, or we see its flag below) and arm the timer for the deadline. */
static wm_trap unchecked_begin(wm_store *s, aot_entry *e)
{
    timer_init();
    if (!__atomic_load_n(&s->aot_tid, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&s->aot_tid, tls_tid, __ATOMIC_SEQ_CST);
        e->claimed = true;
    }
    if (s->deadline_ns) {
        if (tls_timer_state != 1) {
            snprintf(s->trap_msg, sizeof s->trap_msg, "cannot create the timer that enforces the deadline");
            return WM_TRAP_HOST;
        }
        uint64_t cur = earliest_deadline(e->prev);
        e->deadline_ns = s->deadline_ns;
        if (!cur || e->deadline_ns < cur) timer_arm(0, e->deadline_ns);
    }
    wm_trap t = stop_reason(s);
    if (t == WM_TRAP_INTERRUPTED) s->interrupt = 0;
    return t;
}

static void unchecked_end(wm_store *s, aot_entry *e)
{
    if (e->deadline_ns) {   /* back to the deadline of an enclosing entry, if any */
        uint64_t d = earliest_deadline(e->prev);
        timer_arm(0, d);
    }
    if (e->claimed) __atomic_store_n(&s->aot_tid, 0, __ATOMIC_SEQ_CST);
}

wm_trap wm_aot_call(wm_store *s, wm_func *f, uint64_t *fp)
{
    thread_init();
    bool ran;
    wm_trap ft = unchecked_under_fuel(s, f, fp, &ran);
    if (ran) return ft;
    aot_entry e;
    e.trap = WM_TRAP_NONE;
    e.prev = tls_top;
    e.store = s;
    e.inst = f->inst;
    e.claimed = false;
    e.deadline_ns = 0;
    uint32_t depth = s->depth;
    uint64_t *sp = s->sp;
    bool checked = code_checked(f->inst);
    s->aot_stack_limit = tls_stack_limit;
    s->aot_limits = s->fuel_limit != 0 || s->deadline_ns != 0;
    /* Compiled functions charge a unit of fuel on entry, where the interpreter charges at the call
     * site; an entry from the runtime is not a wasm call: refund it. */
    if (s->aot_limits && checked) s->fuel_left += 1;
    aot_entry *saved = tls_entry;
    tls_entry = &e;
    tls_top = &e;
    if (sigsetjmp(e.jb, 0) == 0) {
        wm_trap t = checked ? WM_TRAP_NONE : unchecked_begin(s, &e);
        if (t != WM_TRAP_NONE) e.trap = t;
        else ((void (*)(void *, void *, uint64_t *))f->aot_tramp)(f->aot_fn, f->aot_ctx, fp);
    }
    if (!checked) unchecked_end(s, &e);
    tls_top = e.prev;
    tls_entry = saved;
    s->depth = depth;
    s->sp = sp;
    return (wm_trap)e.trap;
}

/* ---- runtime services for generated code ---------------------------------------------------------- */
static __attribute__((noreturn)) void rt_trap(wm_aot_ctx *ctx, int trap)
{
    (void)ctx;
    aot_entry *e = tls_entry;
    e->trap = trap;
    char probe;
    /* near the bottom of the stack (no-limits code recurses down to the guard) the unwinder could overflow it */
    if (&probe >= tls_stack_limit) record_backtrace(e);
    else e->store->nbt = 0;
    siglongjmp(e->jb, 1);
}

/* Every service that does more than a few instructions starts here: no-limits code may call it with the stack
 * nearly used up, and only the services' first instructions may fault in the guard zone (see stack_fault). */
static inline void rt_stack_check(wm_aot_ctx *ctx)
{
    char probe;
    if (__builtin_expect(&probe < tls_stack_limit, 0)) rt_trap(ctx, WM_TRAP_STACK_EXHAUSTED);
}

static void rt_fuel(wm_aot_ctx *ctx)
{
    wm_trap t = wm_store_fuel_slow((wm_store *)ctx->store);
    if (t != WM_TRAP_NONE) rt_trap(ctx, t);
}

static void call_slow(wm_aot_ctx *ctx, wm_func *f, uint64_t *cells, bool force_interp);
static void rt_call(wm_aot_ctx *ctx, wm_aot_fhead *fh, uint64_t *cells) { call_slow(ctx, (wm_func *)fh, cells, false); }
static void rt_interp(wm_aot_ctx *ctx, uint32_t funcidx, uint64_t *cells)
{
    call_slow(ctx, ((wm_instance *)ctx->inst)->funcs[funcidx], cells, true);
}

static void call_slow(wm_aot_ctx *ctx, wm_func *f, uint64_t *cells, bool force_interp)
{
    rt_stack_check(ctx);
    wm_store *s = ctx->store;
    const wm_type *t = f->type;
    uint64_t *fp = s->sp;
    uint32_t need = t->param_cells > t->result_cells ? t->param_cells : t->result_cells;
    if (fp + need + 2 > s->stack_end) rt_trap(ctx, WM_TRAP_STACK_EXHAUSTED);
    /* no-limits code does not check its depth against max_depth (the interpreter's frame array is that big; it
     * checks a callee's frame itself) */
    if (s->depth > s->max_depth) rt_trap(ctx, WM_TRAP_STACK_EXHAUSTED);
    if (t->param_cells) memcpy(fp, cells, t->param_cells * sizeof(uint64_t));
    wm_trap trap;
    bool ran = false;
    if (f->aot_tramp && !force_interp) {
        trap = unchecked_under_fuel(s, f, fp, &ran);
        if (!ran) {
            ((void (*)(void *, void *, uint64_t *))f->aot_tramp)(f->aot_fn, f->aot_ctx, fp);
            trap = WM_TRAP_NONE;
        }
    } else {
        /* Like the interpreter, a call to a host or interpreted function costs one unit of fuel
         * (compiled callees charge it on entry). */
        if (s->aot_limits && --s->fuel_left < 0) rt_fuel(ctx);
        /* Host and interpreter code run outside the guard-page handler: a fault there is a real
         * crash, not a wasm trap (re-entrant wasm calls install their own entry). */
        aot_entry *saved = tls_entry;
        tls_entry = NULL;
        if (f->host) { s->nbt = 0; trap = wm_call_host(s, f, (wm_instance *)ctx->inst, fp); }
        else trap = wm_interp_run(s, f, fp);
        tls_entry = saved;
        /* An interrupt or deadline signal that arrived while the host function ran could not unwind it: no-limits
         * code, which polls nothing, checks on the way back. */
        if (trap == WM_TRAP_NONE && !code_checked(ctx->inst)) {
            trap = stop_reason(s);
            if (trap == WM_TRAP_INTERRUPTED) s->interrupt = 0;
        }
    }
    s->sp = fp;
    if (trap != WM_TRAP_NONE) rt_trap(ctx, trap);
    if (t->result_cells) memcpy(cells, fp, t->result_cells * sizeof(uint64_t));
}

static wm_memory *mem0(wm_aot_ctx *ctx) { return (wm_memory *)ctx->mem0; }

static uint32_t rt_mem_grow(wm_aot_ctx *ctx, uint32_t delta)
{
    rt_stack_check(ctx);
    wm_memory *m = mem0(ctx);
    return m ? (uint32_t)wm_memory_grow_internal(m, delta) : UINT32_MAX;
}

static void rt_mem_init(wm_aot_ctx *ctx, uint32_t di, uint32_t d32, uint32_t s32, uint32_t n32)
{
    rt_stack_check(ctx);
    wm_instance *in = ctx->inst;
    wm_memory *m = mem0(ctx);
    uint64_t d = d32, sidx = s32, n = n32;
    const wm_dataseg *ds = &in->module->datas[di];
    uint64_t len = in->data_dropped[di] ? 0 : ds->len;
    if (sidx + n > len || d + n > m->size) rt_trap(ctx, WM_TRAP_MEMORY_OOB);
    if (n) memcpy(m->data + d, ds->bytes + sidx, (size_t)n);
}
static void rt_data_drop(wm_aot_ctx *ctx, uint32_t di) { ((wm_instance *)ctx->inst)->data_dropped[di] = 1; }
static void rt_mem_copy(wm_aot_ctx *ctx, uint32_t d32, uint32_t s32, uint32_t n32)
{
    rt_stack_check(ctx);
    wm_memory *m = mem0(ctx);
    uint64_t d = d32, sidx = s32, n = n32;
    if (sidx + n > m->size || d + n > m->size) rt_trap(ctx, WM_TRAP_MEMORY_OOB);
    if (n) memmove(m->data + d, m->data + sidx, (size_t)n);
}
static void rt_mem_fill(wm_aot_ctx *ctx, uint32_t d32, uint32_t val, uint32_t n32)
{
    rt_stack_check(ctx);
    wm_memory *m = mem0(ctx);
    uint64_t d = d32, n = n32;
    if (d + n > m->size) rt_trap(ctx, WM_TRAP_MEMORY_OOB);
    if (n) memset(m->data + d, (uint8_t)val, (size_t)n);
}
static void *elem_item(const wm_instance *inst, const wm_constexpr *e)
{
    switch (e->op) {
    case WM_CONST_REF_FUNC: return inst->funcs[e->index];
    case WM_CONST_GLOBAL_GET: return inst->globals[e->index]->v.ref;
    default: return NULL;
    }
}
static void rt_table_init(wm_aot_ctx *ctx, uint32_t ei, uint32_t ti, uint32_t d32, uint32_t s32, uint32_t n32)
{
    rt_stack_check(ctx);
    wm_instance *in = ctx->inst;
    wm_table *t = in->tables[ti];
    uint64_t d = d32, sidx = s32, n = n32;
    const wm_elemseg *es = &in->module->elems[ei];
    uint64_t len = in->elem_dropped[ei] ? 0 : es->count;
    if (sidx + n > len || d + n > t->size) rt_trap(ctx, WM_TRAP_TABLE_OOB);
    for (uint64_t k = 0; k < n; k++) t->elems[d + k] = elem_item(in, &es->items[sidx + k]);
}
static void rt_elem_drop(wm_aot_ctx *ctx, uint32_t ei) { ((wm_instance *)ctx->inst)->elem_dropped[ei] = 1; }
static void rt_table_copy(wm_aot_ctx *ctx, uint32_t dti, uint32_t sti, uint32_t d32, uint32_t s32, uint32_t n32)
{
    rt_stack_check(ctx);
    wm_instance *in = ctx->inst;
    wm_table *dt = in->tables[dti];
    const wm_table *st = in->tables[sti];
    uint64_t d = d32, sidx = s32, n = n32;
    if (sidx + n > st->size || d + n > dt->size) rt_trap(ctx, WM_TRAP_TABLE_OOB);
    if (n) memmove(dt->elems + d, st->elems + sidx, (size_t)n * sizeof(void *));
}
static uint32_t rt_table_grow(wm_aot_ctx *ctx, uint32_t ti, uint64_t init, uint32_t n)
{
    rt_stack_check(ctx);
    wm_instance *in = ctx->inst;
    return (uint32_t)wm_table_grow_internal(in->tables[ti], n, (void *)(uintptr_t)init);
}
static void rt_table_fill(wm_aot_ctx *ctx, uint32_t ti, uint32_t i32, uint64_t ref, uint32_t n32)
{
    rt_stack_check(ctx);
    wm_instance *in = ctx->inst;
    wm_table *t = in->tables[ti];
    uint64_t i = i32, n = n32;
    if (i + n > t->size) rt_trap(ctx, WM_TRAP_TABLE_OOB);
    for (uint64_t k = 0; k < n; k++) t->elems[i + k] = (void *)(uintptr_t)ref;
}

static const wm_aot_rt g_rt = {
    rt_trap, rt_fuel, rt_call, rt_mem_grow, rt_mem_init, rt_data_drop, rt_mem_copy, rt_mem_fill,
    rt_table_init, rt_elem_drop, rt_table_copy, rt_table_grow, rt_table_fill, rt_interp,
};

bool wm_aot_instance_init(wm_instance *in, wm_error *err)
{
    (void)err;
    const wm_module *m = in->module;
    const aot_code *c = m->aot;
    if (!c) return true;
    if (m->nmems && in->mems[0]->reserved < WM_AOT_RESERVE) {   /* not guard-reserved: interpret */
        static int warned;
        if (!warned++) fprintf(stderr, "wasmind: a memory was created before the AOT tier was enabled; running that instance interpreted\n");
        return true;
    }
    wm_store *s = in->store;
    wm_aot_ctx *ctx = calloc(1, sizeof *ctx + (m->ntypes ? m->ntypes : 1) * sizeof(uint32_t));
    if (!ctx) return true;   /* run interpreted */
    uint32_t *type_ids = (uint32_t *)(ctx + 1);
    for (uint32_t i = 0; i < m->ntypes; i++) type_ids[i] = m->types[i].canon_id;
    ctx->rt = &g_rt;
    ctx->mem0 = m->nmems ? (wm_aot_mhead *)in->mems[0] : NULL;
    ctx->mem = m->nmems ? in->mems[0]->data : NULL;
    ctx->fuel_left = &s->fuel_left;
    ctx->limits = &s->aot_limits;
    ctx->depth = &s->depth;
    ctx->max_depth = s->max_depth;
    ctx->stack_limit = &s->aot_stack_limit;
    ctx->funcs = (wm_aot_fhead **)in->funcs;
    ctx->tables = (wm_aot_thead **)in->tables;
    ctx->globals = (uint64_t **)in->globals;
    ctx->type_ids = type_ids;
    ctx->store = s;
    ctx->inst = in;
    if (m->nmems) region_add(in->mems[0]);
    in->aot_ctx = ctx;
    for (uint32_t d = 0; d < m->nfuncdefs; d++) {
        wm_func *f = in->funcs[m->nfunc_imports + d];
        f->aot_fn = c->desc->funcs[d];
        f->aot_ctx = ctx;
        f->aot_tramp = c->desc->tramps[m->funcdefs[d].type_index];
    }
    return true;
}
