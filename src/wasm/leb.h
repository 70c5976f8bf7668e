/* leb.h — LEB128 readers shared by the decoder and the body translator.
 *
 * The checks mirror the WebAssembly reference interpreter exactly, so the error wording
 * matches the spec testsuite:
 *   - more bytes than ceil(bits/7)              -> "integer representation too long"
 *   - unused bits of the last byte not 0 (or, for signed, not a sign extension)
 *                                               -> "integer too large"
 *   - input ends inside the number              -> "unexpected end" (caller's wording)
 */
#ifndef WM_LEB_H
#define WM_LEB_H

#include <stddef.h>
#include <stdint.h>

typedef enum wm_leb_status {
    WM_LEB_OK = 0,
    WM_LEB_EOF,        /* ran out of input */
    WM_LEB_TOO_LONG,   /* "integer representation too long" */
    WM_LEB_TOO_LARGE   /* "integer too large" */
} wm_leb_status;

static inline const char *wm_leb_message(wm_leb_status st)
{
    switch (st) {
    case WM_LEB_OK: return "ok";
    case WM_LEB_EOF: return "unexpected end";
    case WM_LEB_TOO_LONG: return "integer representation too long";
    default: return "integer too large";
    }
}

/* Reads an LEB128 number of `bits` bits (1..64) from p[0..avail). On success *out is the value
 * (sign-extended to 64 bits if `sgn`) and *used the number of bytes consumed. On failure *used
 * is the index of the offending byte (== avail for EOF). */
static inline wm_leb_status wm_leb_read(const uint8_t *p, size_t avail, unsigned bits, int sgn,
                                        uint64_t *out, size_t *used)
{
    uint64_t result = 0;
    unsigned shift = 0;
    int n = (int)bits;
    size_t i = 0;
    for (;;) {
        if (n <= 0) { *used = i; return WM_LEB_TOO_LONG; }
        if (i >= avail) { *used = i; return WM_LEB_EOF; }
        uint8_t b = p[i];
        if (n < 7) {
            if (sgn) {
                uint8_t mask = (uint8_t)((0xFFu << (n - 1)) & 0x7Fu);
                if ((b & mask) != 0 && (b & mask) != mask) { *used = i; return WM_LEB_TOO_LARGE; }
            } else if ((unsigned)(b & 0x7F) >= (1u << n)) {
                *used = i; return WM_LEB_TOO_LARGE;
            }
        }
        result |= (uint64_t)(b & 0x7F) << shift;
        i++;
        if (!(b & 0x80)) {
            if (sgn && shift + 7 < 64 && (b & 0x40)) result |= ~(uint64_t)0 << (shift + 7);
            break;
        }
        shift += 7;
        n -= 7;
    }
    *out = result;
    *used = i;
    return WM_LEB_OK;
}

static inline wm_leb_status wm_leb_u32(const uint8_t *p, size_t avail, uint32_t *out, size_t *used)
{
    uint64_t v = 0;
    wm_leb_status st = wm_leb_read(p, avail, 32, 0, &v, used);
    *out = (uint32_t)v;
    return st;
}

static inline wm_leb_status wm_leb_s32(const uint8_t *p, size_t avail, int32_t *out, size_t *used)
{
    uint64_t v = 0;
    wm_leb_status st = wm_leb_read(p, avail, 32, 1, &v, used);
    *out = (int32_t)(uint32_t)v;
    return st;
}

/* Block types: s33. */
static inline wm_leb_status wm_leb_s33(const uint8_t *p, size_t avail, int64_t *out, size_t *used)
{
    uint64_t v = 0;
    wm_leb_status st = wm_leb_read(p, avail, 33, 1, &v, used);
    *out = (int64_t)v;
    return st;
}

static inline wm_leb_status wm_leb_s64(const uint8_t *p, size_t avail, int64_t *out, size_t *used)
{
    uint64_t v = 0;
    wm_leb_status st = wm_leb_read(p, avail, 64, 1, &v, used);
    *out = (int64_t)v;
    return st;
}

static inline wm_leb_status wm_leb_u64(const uint8_t *p, size_t avail, uint64_t *out, size_t *used)
{
    return wm_leb_read(p, avail, 64, 0, out, used);
}

#endif
