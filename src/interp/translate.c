/* translate.c — validates a function body (the spec's validation algorithm, Wasm 2.0 incl.
 * SIMD, bulk memory and reference types) and, in the same single pass, emits the interpreter
 * IR of ir.h.
 *
 * STRUCTURE
 *   decode_instr()   reads one instruction and its immediates, checking everything that makes a
 *                    body *malformed* (LEB encodings, illegal opcodes, zero bytes, reference
 *                    types, else/end placement). It also tracks the block nesting on its own, so
 *                    that after a validation error the rest of the body can still be decoded: the
 *                    reference interpreter decodes the whole body before validating, so a
 *                    malformed instruction later in the body must win over an earlier
 *                    validation error.
 *   validate_emit()  applies the validation algorithm (operand-type stack with Unknown, control
 *                    frames) to one decoded instruction and emits its IR.
 *
 * SLOTS
 *   Every operand stack entry records its canonical cell (static height) and the slot where its
 *   value currently lives. An operation reads its operands from their slots and writes its result
 *   to the canonical slot stack_base + cell. local.get does not copy: it pushes an entry whose slot
 *   is the local's slot (a "pending" local reference). Pending entries are materialised (copied
 *   to their canonical slot) whenever that could be observed: before a local.set/tee of that
 *   local, at block boundaries (block/loop/if/else/end), for call arguments, and before returns.
 *
 * PEEPHOLES (all within the ir.h contract; compile with -DWM_TR_ELIDE_LOCAL_GET=0 to get the
 * plain one-copy-per-local.get translation, used as the reference in differential tests)
 *   - `op ...; local.set/tee x` right after an instruction that wrote its single result to a stack
 *     slot: that instruction's dst word is redirected to x's slot (no copy).
 *   - `i32.eqz x; br_if/if`: the eqz is dropped and the branch tests x with the opposite sense;
 *     an i32 comparison feeding the branch (after that) becomes a compare-and-branch.
 *   - Superinstructions (ir.h): loads and stores whose address is an i32.add (IR_LDX_*, IR_STX_*;
 *     `i32.const c; i32.sub` is emitted as an add of -c so that pointer arithmetic with negative
 *     offsets fuses too), and the SIMD sequences compilers emit for operations SIMD128 lacks
 *     (per-lane u8 -> f32 conversion, sign-extension of 4 bytes by shuffle + shifts, scalar loads
 *     into lanes, vector add/mul with a loaded operand, accumulation into memory).
 *     They are found in `hist`, the producers emitted last and back to back: merging is valid
 *     when every merged instruction wrote a stack slot that only the next one consumes (the
 *     wasm operand stack guarantees a popped value is dead), and no jump can land between them
 *     (label_pc). A store's address add is usually further back (the value is computed in
 *     between): fold_store_address also checks that the add's operands were not written since.
 *   - Loop headers get no code: backward branches charge the fuel (exec.c).
 *
 * DEAD CODE
 *   Code after br/br_table/return/unreachable (a frame's "unreachable" flag) and whole frames
 *   opened there ("dead" frames) are validated but not emitted.
 */
#include "ir.h"
#include "../wasm/module.h"
#include "../wasm/leb.h"
#include "opcodes_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Implementation limits (valid but absurd functions are refused with WM_ERR_RESOURCE). */
#define WM_TR_MAX_FRAME_CELLS (1u << 24)   /* params + locals + operand stack, in cells */
#define WM_TR_MAX_CODE_WORDS  (1u << 26)   /* IR words per function */

#define T_UNKNOWN 0u   /* polymorphic stack entry */
#define NO_PATCH UINT32_MAX
#define STUB_DIRECT (UINT32_MAX - 1)    /* br_table: label reached without copies */
#define STUB_CHECKED (UINT32_MAX - 2)   /* br_table validation: label already checked */

#ifndef WM_TR_ELIDE_LOCAL_GET
#define WM_TR_ELIDE_LOCAL_GET 1
#endif
#ifndef WM_TR_FUSE_LOCAL_SET
#define WM_TR_FUSE_LOCAL_SET WM_TR_ELIDE_LOCAL_GET
#endif

enum { K_FUNC, K_BLOCK, K_LOOP, K_IF, K_ELSE };
enum { N_BLOCK, N_IF, N_ELSE };   /* decoder nesting kinds */

typedef struct sval {
    uint8_t type;
    uint32_t cell;   /* canonical cell height (relative to stack_base) */
    uint32_t slot;   /* where the value lives now (stack_base + cell, or a local's slot) */
    uint32_t lidx;   /* pending reference to this local, or NO_LOCAL */
    uint32_t addr_add;   /* code position of the i32.add that computed this value into its
                            stack slot, or NO_PATCH: a store may absorb it (fold_store_address) */
} sval;

#define NO_LOCAL UINT32_MAX

typedef struct ctrl {
    uint8_t kind;
    bool unreachable;     /* spec: rest of the frame is stack-polymorphic */
    bool dead;            /* frame opened in unreachable code: nothing is emitted */
    uint32_t nparams, nresults;
    const uint8_t *params, *results;
    uint32_t height;      /* vals height at entry, below the params */
    uint32_t base_cell;   /* cell height at entry */
    uint32_t start_pc;    /* loops: branch target */
    uint32_t patch;       /* chain of forward target words to patch with the end pc */
    uint32_t else_patch;  /* if: target word of the BR_UNLESS that skips the then-arm */
} ctrl;

typedef struct instr {
    uint32_t op;      /* 0x00-0xff, 0x100+n (0xFC n), 0x200+n (0xFD n) */
    uint32_t pos;     /* body-relative offset of the first opcode byte */
    uint32_t a, b;    /* indices, memarg align, counts */
    uint32_t off;     /* memarg offset */
    uint32_t lane;
    uint8_t bt_kind;  /* 0 empty, 1 single valtype (a), 2 type index (bti) */
    int64_t bti;
    uint64_t imm;
    uint8_t v[16];
} instr;

typedef struct tr {
    wm_module *m;
    wm_funcdef *fd;
    uint32_t funcidx;
    wm_error *err;
    /* body */
    const uint8_t *p;
    uint32_t len, pos;
    bool done;            /* the function's final end was decoded */
    /* memory.init/data.drop without a data count section: malformed, but reported only if the
     * body is otherwise valid (the testsuite's text modules expect the validation errors) */
    bool need_datacount;
    uint32_t datacount_pos;
    /* decoder nesting */
    uint8_t *nest;
    uint32_t nnest, capnest;
    /* validation */
    sval *vals;
    uint32_t nvals, capvals;
    ctrl *ctrls;
    uint32_t nctrl, capctrl;
    uint32_t nparams;
    const uint8_t *params;
    const wm_type *ftype;
    uint32_t nlocals_total;
    uint32_t *local_slot;
    uint32_t stack_base;
    uint32_t max_cells;
    uint32_t npending;    /* entries whose slot is a local's slot (elided local.get) */
    uint32_t *pend;       /* per local: number of pending entries referring to it; the extra
                             entry pend[nlocals_total] counts references to constant slots */
    /* constants kept in frame slots (see wm_code.consts) */
    uint64_t *kvals;
    uint8_t *kwide;       /* 1 for i64/f64 */
    uint32_t nk;
    struct producer { bool valid; uint32_t start, pos, end, slot; } last, prev;
    /* The producers emitted most recently, back to back (hist[nhist-1] is the newest and ends at
     * nops when nothing else was emitted since): the window the superinstruction peepholes look
     * at. Code at or after label_pc may be reached by a jump (or a call return), so only
     * instructions starting at or after label_pc may be merged. */
#define WM_TR_HIST 8
    struct producer hist[WM_TR_HIST];
    uint32_t nhist;
    uint32_t label_pc;
    uint32_t *lwrite;     /* per local/constant cell: nops when code writing it was last emitted */
    /* emission */
    uint32_t *ops, *srcoff;
    uint32_t nops, capops;
    uint32_t cur_off;     /* module offset of the current instruction, for src_offsets */
    /* scratch */
    uint32_t *targets;
    uint32_t captargets;
    uint32_t *stubs;      /* per control depth, for br_table stubs */
    uint32_t capstubs;
    /* state */
    const instr *cur;
    bool failed;          /* a validation error is recorded in *err; keep decoding only */
    bool fatal;           /* resource error: stop at once */
} tr;

static const uint8_t vt_bytes[] = { WM_I32, WM_I64, WM_F32, WM_F64, WM_V128, WM_FUNCREF, WM_EXTERNREF };

static const uint8_t *vt_ptr(uint8_t t)
{
    for (unsigned i = 0; i < sizeof vt_bytes; i++)
        if (vt_bytes[i] == t) return &vt_bytes[i];
    return NULL;
}

static inline uint32_t cellsof(uint8_t t) { return t == WM_V128 ? 2u : 1u; }
static inline bool is_ref(uint8_t t) { return t == WM_FUNCREF || t == WM_EXTERNREF; }

static const char *tname(uint8_t t)
{
    switch (t) {
    case WM_I32: return "i32";
    case WM_I64: return "i64";
    case WM_F32: return "f32";
    case WM_F64: return "f64";
    case WM_V128: return "v128";
    case WM_FUNCREF: return "funcref";
    case WM_EXTERNREF: return "externref";
    default: return "unknown";
    }
}

static const char *opname(uint32_t op)
{
    const char *n = NULL;
    if (op < 0x100) n = wm_opname_1[op];
    else if (op < 0x100 + 18) n = wm_opname_fc[op - 0x100];
    else if (op >= 0x200 && op < 0x300) n = wm_opname_fd[op - 0x200];
    return n ? n : "instruction";
}

/* ---- errors ------------------------------------------------------------------------------ */

static bool fail_at(tr *t, wm_status st, uint32_t bodypos, const char *fmt, va_list ap)
{
    char buf[400];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return wm_fail(t->err, st, t->fd->body_offset + bodypos, "%s (at function %u)", buf, t->funcidx);
}

/* Malformed: always overrides a recorded validation error. */
static bool merr(tr *t, uint32_t bodypos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool merr(tr *t, uint32_t bodypos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_at(t, WM_ERR_MALFORMED, bodypos, fmt, ap);
    va_end(ap);
    t->fatal = true;
    return false;
}

/* Invalid: the first one is kept. */
static bool verr(tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool verr(tr *t, const char *fmt, ...)
{
    if (t->failed || t->fatal) return false;
    va_list ap;
    va_start(ap, fmt);
    fail_at(t, WM_ERR_INVALID, t->cur ? t->cur->pos : t->pos, fmt, ap);
    va_end(ap);
    t->failed = true;
    return false;
}

static bool rerr(tr *t, const char *msg)
{
    if (!t->fatal) {
        wm_fail(t->err, WM_ERR_RESOURCE, t->fd->body_offset + (t->cur ? t->cur->pos : 0),
                "%s (at function %u)", msg, t->funcidx);
    }
    t->fatal = true;
    return false;
}

static bool grow(tr *t, void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return true;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 16;
    while (nc < need) nc *= 2;
    if (nc > UINT32_MAX / 2 || nc * elem > (uint64_t)SIZE_MAX / 2) return rerr(t, "out of memory");
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return rerr(t, "out of memory");
    *arr = p;
    *cap = (uint32_t)nc;
    return true;
}

/* ---- decoding ------------------------------------------------------------------------------ */

static bool eof_err(tr *t)
{
    return merr(t, t->len, "unexpected end of section or function");
}

static bool rd_byte(tr *t, uint8_t *b)
{
    if (t->pos >= t->len) return eof_err(t);
    *b = t->p[t->pos++];
    return true;
}

static bool leb_fail(tr *t, wm_leb_status st, size_t used)
{
    if (st == WM_LEB_EOF) return eof_err(t);
    return merr(t, t->pos + (uint32_t)used, "%s", wm_leb_message(st));
}

static bool rd_u32(tr *t, uint32_t *v)
{
    size_t used = 0;
    wm_leb_status st = wm_leb_u32(t->p + t->pos, t->len - t->pos, v, &used);
    if (st != WM_LEB_OK) return leb_fail(t, st, used);
    t->pos += (uint32_t)used;
    return true;
}

static bool rd_sleb(tr *t, unsigned bits, uint64_t *v)
{
    size_t used = 0;
    wm_leb_status st = wm_leb_read(t->p + t->pos, t->len - t->pos, bits, 1, v, &used);
    if (st != WM_LEB_OK) return leb_fail(t, st, used);
    t->pos += (uint32_t)used;
    return true;
}

static bool rd_bytes(tr *t, uint8_t *out, uint32_t n)
{
    if (t->len - t->pos < n) return eof_err(t);
    memcpy(out, t->p + t->pos, n);
    t->pos += n;
    return true;
}

static bool rd_zero(tr *t)
{
    uint32_t at = t->pos;
    uint8_t b = 0;
    if (!rd_byte(t, &b)) return false;
    if (b != 0) return merr(t, at, "zero byte expected");
    return true;
}

/* Value type: one byte (the reference interpreter reads it as an s7). */
static bool rd_valtype(tr *t, uint8_t *vt)
{
    uint32_t at = t->pos;
    uint8_t b = 0;
    if (!rd_byte(t, &b)) return false;
    if (b & 0x80) return merr(t, at + 1, "integer representation too long");
    switch (b) {
    case WM_I32: case WM_I64: case WM_F32: case WM_F64: case WM_V128:
    case WM_FUNCREF: case WM_EXTERNREF:
        *vt = b;
        return true;
    default:
        break;
    }
    if (b >= 0x7c) return merr(t, at, "malformed number type");
    if (b >= 0x71) return merr(t, at, "malformed vector type");
    return merr(t, at, "malformed reference type");
}

static bool rd_reftype(tr *t, uint8_t *rt)
{
    uint32_t at = t->pos;
    uint8_t b = 0;
    if (!rd_byte(t, &b)) return false;
    if (b & 0x80) return merr(t, at + 1, "integer representation too long");
    if (b != WM_FUNCREF && b != WM_EXTERNREF) return merr(t, at, "malformed reference type");
    *rt = b;
    return true;
}

static bool rd_memarg(tr *t, instr *in)
{
    return rd_u32(t, &in->a) && rd_u32(t, &in->off);
}

static bool nest_push(tr *t, uint8_t k)
{
    if (!grow(t, (void **)&t->nest, &t->capnest, t->nnest + 1, 1)) return false;
    t->nest[t->nnest++] = k;
    return true;
}

/* SIMD opcode classes. */
enum {
    S_BAD, S_LOAD, S_STORE, S_CONST, S_SHUFFLE, S_SPLAT, S_EXTRACT, S_REPLACE, S_LOAD_LANE,
    S_STORE_LANE, S_UNARY, S_BINARY, S_TERNARY, S_TEST, S_SHIFT
};

typedef struct simd_info {
    uint8_t cls;
    uint8_t align;   /* natural alignment (log2) for memory ops */
    uint8_t lanes;   /* lane count for lane ops */
    uint8_t st;      /* scalar type for splat/extract/replace */
} simd_info;

static simd_info simd_classify(uint32_t n)
{
    simd_info s = { S_BAD, 0, 0, 0 };
    if (n > 0xff) return s;
    switch (n) {
    case 0x00: s.cls = S_LOAD; s.align = 4; return s;
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
        s.cls = S_LOAD; s.align = 3; return s;
    case 0x07: s.cls = S_LOAD; s.align = 0; return s;
    case 0x08: s.cls = S_LOAD; s.align = 1; return s;
    case 0x09: s.cls = S_LOAD; s.align = 2; return s;
    case 0x0a: s.cls = S_LOAD; s.align = 3; return s;
    case 0x0b: s.cls = S_STORE; s.align = 4; return s;
    case 0x0c: s.cls = S_CONST; return s;
    case 0x0d: s.cls = S_SHUFFLE; return s;
    case 0x0f: case 0x10: case 0x11: s.cls = S_SPLAT; s.st = WM_I32; return s;
    case 0x12: s.cls = S_SPLAT; s.st = WM_I64; return s;
    case 0x13: s.cls = S_SPLAT; s.st = WM_F32; return s;
    case 0x14: s.cls = S_SPLAT; s.st = WM_F64; return s;
    case 0x15: case 0x16: s.cls = S_EXTRACT; s.lanes = 16; s.st = WM_I32; return s;
    case 0x17: s.cls = S_REPLACE; s.lanes = 16; s.st = WM_I32; return s;
    case 0x18: case 0x19: s.cls = S_EXTRACT; s.lanes = 8; s.st = WM_I32; return s;
    case 0x1a: s.cls = S_REPLACE; s.lanes = 8; s.st = WM_I32; return s;
    case 0x1b: s.cls = S_EXTRACT; s.lanes = 4; s.st = WM_I32; return s;
    case 0x1c: s.cls = S_REPLACE; s.lanes = 4; s.st = WM_I32; return s;
    case 0x1d: s.cls = S_EXTRACT; s.lanes = 2; s.st = WM_I64; return s;
    case 0x1e: s.cls = S_REPLACE; s.lanes = 2; s.st = WM_I64; return s;
    case 0x1f: s.cls = S_EXTRACT; s.lanes = 4; s.st = WM_F32; return s;
    case 0x20: s.cls = S_REPLACE; s.lanes = 4; s.st = WM_F32; return s;
    case 0x21: s.cls = S_EXTRACT; s.lanes = 2; s.st = WM_F64; return s;
    case 0x22: s.cls = S_REPLACE; s.lanes = 2; s.st = WM_F64; return s;
    case 0x52: s.cls = S_TERNARY; return s;
    case 0x54: case 0x55: case 0x56: case 0x57:
        s.cls = S_LOAD_LANE; s.align = (uint8_t)(n - 0x54); s.lanes = (uint8_t)(16u >> (n - 0x54));
        return s;
    case 0x58: case 0x59: case 0x5a: case 0x5b:
        s.cls = S_STORE_LANE; s.align = (uint8_t)(n - 0x58); s.lanes = (uint8_t)(16u >> (n - 0x58));
        return s;
    case 0x5c: s.cls = S_LOAD; s.align = 2; return s;
    case 0x5d: s.cls = S_LOAD; s.align = 3; return s;
    case 0x53: case 0x63: case 0x64: case 0x83: case 0x84: case 0xa3: case 0xa4: case 0xc3: case 0xc4:
        s.cls = S_TEST; return s;
    case 0x6b: case 0x6c: case 0x6d: case 0x8b: case 0x8c: case 0x8d:
    case 0xab: case 0xac: case 0xad: case 0xcb: case 0xcc: case 0xcd:
        s.cls = S_SHIFT; return s;
    case 0x4d: case 0x5e: case 0x5f: case 0x60: case 0x61: case 0x62:
    case 0x67: case 0x68: case 0x69: case 0x6a: case 0x74: case 0x75: case 0x7a:
    case 0x7c: case 0x7d: case 0x7e: case 0x7f: case 0x80: case 0x81:
    case 0x87: case 0x88: case 0x89: case 0x8a: case 0x94: case 0xa0: case 0xa1:
    case 0xa7: case 0xa8: case 0xa9: case 0xaa: case 0xc0: case 0xc1:
    case 0xc7: case 0xc8: case 0xc9: case 0xca: case 0xe0: case 0xe1: case 0xe3:
    case 0xec: case 0xed: case 0xef:
    case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: case 0xfe: case 0xff:
        s.cls = S_UNARY; return s;
    case 0x9a: case 0xa2: case 0xa5: case 0xa6: case 0xaf: case 0xb0: case 0xb2: case 0xb3:
    case 0xb4: case 0xbb: case 0xc2: case 0xc5: case 0xc6: case 0xcf: case 0xd0: case 0xd2:
    case 0xd3: case 0xd4: case 0xe2: case 0xee:
        return s;
    default:
        break;
    }
    /* Everything else in 0x0e, 0x23-0xff is a v128 x v128 -> v128 operation. */
    if (n == 0x0e || n >= 0x23) s.cls = S_BINARY;
    return s;
}

/* Reached the end of the body at an instruction boundary with blocks still open. The reference
 * interpreter would keep reading the following bytes: if there are any it reports the missing
 * END, otherwise the end of input. */
static bool body_exhausted(tr *t)
{
    size_t after = (size_t)t->fd->body_offset + t->len;
    if (t->m->bytes && after < t->m->len) return merr(t, t->len, "END opcode expected");
    return eof_err(t);
}

static bool decode_instr(tr *t, instr *in)
{
    in->pos = t->pos;
    in->a = in->b = in->off = in->lane = 0;
    in->bt_kind = 0;
    in->bti = 0;
    in->imm = 0;
    if (t->pos >= t->len) return body_exhausted(t);
    uint8_t b = t->p[t->pos++];
    in->op = b;
    switch (b) {
    case 0x00: case 0x01: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
        return true;
    case 0x02: case 0x03: case 0x04: {
        uint32_t at = t->pos;
        if (t->pos >= t->len) return eof_err(t);
        uint8_t c = t->p[t->pos];
        if (c == 0x40) {
            t->pos++;
            in->bt_kind = 0;
        } else if ((c & 0xc0) == 0x40) {
            uint8_t vt = 0;
            if (!rd_valtype(t, &vt)) return false;
            in->bt_kind = 1;
            in->a = vt;
        } else {
            uint64_t v;
            if (!rd_sleb(t, 33, &v)) return false;
            in->bt_kind = 2;
            in->bti = (int64_t)v;
        }
        (void)at;
        return nest_push(t, b == 0x04 ? N_IF : N_BLOCK);
    }
    case 0x05:
        if (t->nnest == 0 || t->nest[t->nnest - 1] != N_IF)
            return merr(t, in->pos, "END opcode expected");
        t->nest[t->nnest - 1] = N_ELSE;
        return true;
    case 0x0b:
        /* nnest >= 1 always: the loop stops after the function's final end */
        t->nnest--;
        if (t->nnest == 0) {
            t->done = true;
            if (t->pos != t->len) return merr(t, t->pos, "section size mismatch");
        }
        return true;
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
    case 0x25: case 0x26: case 0xd2:
        return rd_u32(t, &in->a);
    case 0x0e: {
        uint32_t n;
        if (!rd_u32(t, &n)) return false;
        if (n > t->len - t->pos) return eof_err(t);   /* every target takes at least a byte */
        if (!grow(t, (void **)&t->targets, &t->captargets, n + 1, sizeof(uint32_t))) return false;
        for (uint32_t i = 0; i < n; i++)
            if (!rd_u32(t, &t->targets[i])) return false;
        if (!rd_u32(t, &in->b)) return false;
        in->a = n;
        return true;
    }
    case 0x11:
        return rd_u32(t, &in->a) && rd_u32(t, &in->b);
    case 0x1c: {
        uint32_t n;
        if (!rd_u32(t, &n)) return false;
        if (n > t->len - t->pos) return eof_err(t);
        in->b = n;
        for (uint32_t i = 0; i < n; i++) {
            uint8_t vt = 0;
            if (!rd_valtype(t, &vt)) return false;
            if (i == 0) in->a = vt;
        }
        return true;
    }
    case 0x3f: case 0x40:
        return rd_zero(t);
    case 0x41: {
        uint64_t v;
        if (!rd_sleb(t, 32, &v)) return false;
        in->imm = (uint32_t)v;
        return true;
    }
    case 0x42:
        return rd_sleb(t, 64, &in->imm);
    case 0x43: {
        uint8_t x[4] = { 0 };
        if (!rd_bytes(t, x, 4)) return false;
        in->imm = (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
        return true;
    }
    case 0x44: {
        uint8_t x[8] = { 0 };
        if (!rd_bytes(t, x, 8)) return false;
        in->imm = 0;
        for (int i = 7; i >= 0; i--) in->imm = in->imm << 8 | x[i];
        return true;
    }
    case 0xd0: {
        uint8_t rt = 0;
        if (!rd_reftype(t, &rt)) return false;
        in->a = rt;
        return true;
    }
    case 0xfc: {
        uint32_t n;
        if (!rd_u32(t, &n)) return false;
        in->op = 0x100 + (n < 0x100 ? n : 0xff);
        switch (n) {
        case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
            return true;
        case 8:
            if (!rd_u32(t, &in->a) || !rd_zero(t)) return false;
            if (!t->m->has_datacount && !t->need_datacount) {
                t->need_datacount = true;
                t->datacount_pos = in->pos;
            }
            return true;
        case 9:
            if (!rd_u32(t, &in->a)) return false;
            if (!t->m->has_datacount && !t->need_datacount) {
                t->need_datacount = true;
                t->datacount_pos = in->pos;
            }
            return true;
        case 10:
            return rd_zero(t) && rd_zero(t);
        case 11:
            return rd_zero(t);
        case 12: case 14:
            return rd_u32(t, &in->a) && rd_u32(t, &in->b);
        case 13: case 15: case 16: case 17:
            return rd_u32(t, &in->a);
        default:
            return merr(t, in->pos, "illegal opcode fc %02x", n);
        }
    }
    case 0xfd: {
        uint32_t n;
        if (!rd_u32(t, &n)) return false;
        simd_info si = simd_classify(n);
        if (si.cls == S_BAD) return merr(t, in->pos, "illegal opcode fd %02x", n);
        in->op = 0x200 + n;
        switch (si.cls) {
        case S_LOAD: case S_STORE:
            return rd_memarg(t, in);
        case S_LOAD_LANE: case S_STORE_LANE: {
            uint8_t l = 0;
            if (!rd_memarg(t, in) || !rd_byte(t, &l)) return false;
            in->lane = l;
            return true;
        }
        case S_CONST: case S_SHUFFLE:
            return rd_bytes(t, in->v, 16);
        case S_EXTRACT: case S_REPLACE: {
            uint8_t l = 0;
            if (!rd_byte(t, &l)) return false;
            in->lane = l;
            return true;
        }
        default:
            return true;
        }
    }
    default:
        break;
    }
    if (b >= 0x28 && b <= 0x3e) return rd_memarg(t, in);
    if (b >= 0x45 && b <= 0xc4) return true;
    return merr(t, in->pos, "illegal opcode %02x", b);
}

/* ---- emission ------------------------------------------------------------------------------ */

static inline ctrl *top_ctrl(tr *t) { return &t->ctrls[t->nctrl - 1]; }

static inline bool live(tr *t)
{
    const ctrl *c = top_ctrl(t);
    return !c->unreachable && !c->dead;
}

static void emit_words(tr *t, const uint32_t *w, uint32_t n)
{
    if (t->fatal) return;
    if (t->nops + (uint64_t)n > WM_TR_MAX_CODE_WORDS) { rerr(t, "function too large to translate"); return; }
    if (t->nops + n > t->capops) {
        uint32_t cap = t->capops;
        uint32_t cap2 = cap;
        if (!grow(t, (void **)&t->ops, &cap, t->nops + n, sizeof(uint32_t))) return;
        if (!grow(t, (void **)&t->srcoff, &cap2, cap, sizeof(uint32_t))) return;
        t->capops = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        t->ops[t->nops] = w[i];
        t->srcoff[t->nops] = t->cur_off;
        t->nops++;
    }
}

#define EMIT(t, ...) \
    emit_words((t), (const uint32_t[]){ __VA_ARGS__ }, \
               (uint32_t)(sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)))

/* The last instruction, if it wrote its single result to a stack slot: a following local.set/tee
 * may redirect that write into the local (valid only for the immediately next instruction). */
static inline void set_producer(tr *t, uint32_t start, uint32_t dst_pos)
{
    if (t->fatal || dst_pos >= t->nops) return;
    t->last.valid = true;
    t->last.start = start;
    t->last.pos = dst_pos;
    t->last.end = t->nops;
    t->last.slot = t->ops[dst_pos];
    if (t->nhist && t->hist[t->nhist - 1].end != start) t->nhist = 0;   /* other code in between */
    if (t->nhist == WM_TR_HIST) {
        memmove(t->hist, t->hist + 1, (WM_TR_HIST - 1) * sizeof t->hist[0]);
        t->nhist--;
    }
    t->hist[t->nhist++] = t->last;
}

/* The k-th most recent producer (0 = the last instruction emitted), if the k+1 newest are
 * contiguous, end at nops and start at or after label_pc (none is a jump target); else NULL. */
static const struct producer *hist_at(const tr *t, uint32_t k)
{
    if (!WM_TR_FUSE_LOCAL_SET || t->fatal || t->nhist <= k || t->hist[t->nhist - 1].end != t->nops)
        return NULL;
    const struct producer *h = &t->hist[t->nhist - 1 - k];
    return h->start >= t->label_pc ? h : NULL;
}

/* hist_at(t, k) if that instruction is opcode op and wrote its result to `slot`, a stack slot
 * (so the value is dead once the instruction being translated has consumed it). */
static const struct producer *hist_op(const tr *t, uint32_t k, uint32_t op, uint32_t slot)
{
    const struct producer *h = hist_at(t, k);
    if (!h || t->ops[h->start] != op || t->ops[h->pos] != slot || slot < t->stack_base) return NULL;
    return h;
}

/* Removes the code from `start` (an instruction boundary) to the end, e.g. instructions being
 * merged into a superinstruction, and forgets the producers that were there. */
static void truncate_code(tr *t, uint32_t start)
{
    t->nops = start;
    while (t->nhist && t->hist[t->nhist - 1].start >= start) t->nhist--;
    if (t->prev.valid && t->prev.end > start) t->prev.valid = false;
    if (t->last.valid && t->last.end > start) t->last.valid = false;
}

/* EMIT for an instruction whose result slot is operand word `rel` (1 = right after the opcode). */
#define EMITP(t, rel, ...) \
    do { \
        uint32_t start_ = (t)->nops; \
        EMIT(t, __VA_ARGS__); \
        set_producer((t), start_, start_ + (rel)); \
    } while (0)

static inline void patch_word(tr *t, uint32_t at, uint32_t v)
{
    if (at < t->nops) t->ops[at] = v;
}

/* If the previous instruction was `i32.eqz x` producing *cond, removes it and returns true with
 * *cond = x: the caller branches on x with the opposite sense. */
static bool fold_eqz(tr *t, uint32_t *cond)
{
    const struct producer *h = hist_op(t, 0, 0x45, *cond);
    if (!h) return false;
    *cond = t->ops[h->start + 2];
    truncate_code(t, h->start);
    return true;
}

/* Emits the opcode and operands (not the target word) of a branch taken when cond is true
 * (when_true) or false. The i32.eqz or i32 comparison that produced cond, if it is the previous
 * instruction, is folded in: one dispatch instead of two. */
static void emit_cond_branch(tr *t, uint32_t cond, bool when_true)
{
    if (fold_eqz(t, &cond)) when_true = !when_true;
    const struct producer *h = hist_at(t, 0);
    if (h && t->ops[h->pos] == cond && cond >= t->stack_base &&
        t->ops[h->start] >= 0x46 && t->ops[h->start] <= 0x4F) {
        /* i32.eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u, and their negations */
        static const uint8_t negated[10] = { 1, 0, 8, 9, 6, 7, 4, 5, 2, 3 };
        uint32_t s = h->start, rel = t->ops[s] - 0x46;
        uint32_t a = t->ops[s + 2], b = t->ops[s + 3];
        if (!when_true) rel = negated[rel];
        truncate_code(t, s);
        EMIT(t, (uint32_t)IR_BR_I32_EQ + rel, a, b);
        return;
    }
    EMIT(t, when_true ? (uint32_t)IR_BR_IF : (uint32_t)IR_BR_UNLESS, cond);
}

/* If the previous instruction is `i32.add x y` producing the address slot addr, removes it and
 * returns true with its operands: the caller emits the fused load (IR_LDX_*). */
static bool fold_address_add(tr *t, uint32_t addr, uint32_t *x, uint32_t *y)
{
    const struct producer *h = hist_op(t, 0, 0x6a, addr);
    if (!h) return false;
    *x = t->ops[h->start + 2];
    *y = t->ops[h->start + 3];
    truncate_code(t, h->start);
    return true;
}

/* A store whose address (the stack slot addr) was computed by `i32.add x y` at code position p,
 * with the value's code emitted after it: removes the add (moving the code after it down) and
 * returns true with its operands, for the fused store (IR_STX_*). Valid when nothing between the
 * add and the store can be jumped to (label_pc), x and y still hold what the add read (locals
 * not written since, constants, or the address slot itself, which nothing else writes while the
 * address is on the stack) and the add's result was not redirected. */
static bool fold_store_address(tr *t, uint32_t p, uint32_t addr, uint32_t *x, uint32_t *y)
{
    if (!WM_TR_FUSE_LOCAL_SET || t->fatal || p == NO_PATCH || p < t->label_pc || p + 4 > t->nops ||
        t->ops[p] != 0x6a || t->ops[p + 1] != addr || addr < t->stack_base)
        return false;
    uint32_t ops2[2] = { t->ops[p + 2], t->ops[p + 3] };
    for (int i = 0; i < 2; i++) {
        uint32_t o = ops2[i];
        if (o < t->stack_base ? t->lwrite[o] > p : o != addr) return false;
    }
    *x = ops2[0];
    *y = ops2[1];
    uint32_t tail = t->nops - (p + 4);
    memmove(t->ops + p, t->ops + p + 4, tail * sizeof(uint32_t));
    memmove(t->srcoff + p, t->srcoff + p + 4, tail * sizeof(uint32_t));
    t->nops -= 4;
    /* positions recorded after p move down with the code */
    struct producer *ps[2] = { &t->last, &t->prev };
    for (int i = 0; i < 2; i++) {
        if (!ps[i]->valid || ps[i]->start < p) continue;
        ps[i]->start -= 4; ps[i]->pos -= 4; ps[i]->end -= 4;
    }
    for (uint32_t i = 0; i < t->nhist; i++) {
        struct producer *h = &t->hist[i];
        if (h->start == p) { memmove(h, h + 1, (t->nhist - i - 1) * sizeof *h); t->nhist--; i--; continue; }
        if (h->start > p) { h->start -= 4; h->pos -= 4; h->end -= 4; }
    }
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (t->vals[i].addr_add == p) t->vals[i].addr_add = NO_PATCH;
        else if (t->vals[i].addr_add != NO_PATCH && t->vals[i].addr_add > p) t->vals[i].addr_add -= 4;
    }
    return true;
}

static void emit_copy(tr *t, uint8_t type, uint32_t dst, uint32_t src)
{
    if (dst == src) return;
    EMIT(t, type == WM_V128 ? (uint32_t)IR_COPY_V128 : (uint32_t)IR_COPY, dst, src);
}

/* Emits a target word for a branch to frame c (known for loops, patched at end otherwise). */
static void emit_target(tr *t, ctrl *c)
{
    if (c->kind == K_LOOP) {
        EMIT(t, c->start_pc);
    } else {
        uint32_t at = t->nops;
        EMIT(t, c->patch);
        if (!t->fatal) c->patch = at;
    }
}

/* ---- operand stack --------------------------------------------------------------------------- */

static inline uint32_t next_cell(const tr *t)
{
    if (t->nvals == 0) return 0;
    const sval *v = &t->vals[t->nvals - 1];
    return v->cell + cellsof(v->type);
}

static inline uint32_t next_slot(const tr *t) { return t->stack_base + next_cell(t); }

static bool push(tr *t, uint8_t type, uint32_t *slot)
{
    if (t->nvals == t->capvals &&
        !grow(t, (void **)&t->vals, &t->capvals, t->nvals + 1, sizeof(sval)))
        return false;
    uint32_t cell = next_cell(t);
    uint32_t end = cell + cellsof(type);
    if (end > t->max_cells) {
        if ((uint64_t)t->stack_base + end > WM_TR_MAX_FRAME_CELLS)
            return rerr(t, "function frame too large");
        t->max_cells = end;
    }
    sval *v = &t->vals[t->nvals++];
    v->type = type;
    v->cell = cell;
    v->slot = t->stack_base + cell;
    v->lidx = NO_LOCAL;
    v->addr_add = NO_PATCH;
    if (slot) *slot = v->slot;
    return true;
}

static bool push_vals(tr *t, const uint8_t *types, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!push(t, types[i], NULL)) return false;
    return true;
}

static inline void unpend(tr *t, sval *v)
{
    if (v->lidx == NO_LOCAL) return;
    t->pend[v->lidx]--;
    t->npending--;
}

/* The frame slot index (0-based among the constants) of a pre-scanned constant, or -1. */
static int find_const(const tr *t, bool wide, uint64_t v)
{
    for (uint32_t i = 0; i < t->nk; i++)
        if (t->kvals[i] == v && t->kwide[i] == wide) return (int)i;
    return -1;
}

/* Makes the top entry a pending reference to local x (its value is in x's slot). */
static inline void make_pending(tr *t, uint32_t x)
{
    sval *v = &t->vals[t->nvals - 1];
    v->slot = t->local_slot[x];
    v->lidx = x;
    t->pend[x]++;
    t->npending++;
}

/* Re-counts entries vals[from..to) that were popped and are now pushed back unchanged. */
static void repend(tr *t, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        if (t->vals[i].lidx == NO_LOCAL) continue;
        t->pend[t->vals[i].lidx]++;
        t->npending++;
    }
}

/* Pops one value; expect == T_UNKNOWN accepts anything. *got is T_UNKNOWN for a value popped
 * from the polymorphic part of an unreachable frame. */
static bool pop(tr *t, uint8_t expect, uint8_t *got, uint32_t *slot)
{
    ctrl *c = top_ctrl(t);
    if (t->nvals == c->height) {
        if (c->unreachable) {
            if (got) *got = T_UNKNOWN;
            if (slot) *slot = 0;
            return true;
        }
        if (expect != T_UNKNOWN)
            return verr(t, "type mismatch: %s expects %s but the stack is empty",
                        opname(t->cur->op), tname(expect));
        return verr(t, "type mismatch: %s expects an operand but the stack is empty",
                    opname(t->cur->op));
    }
    sval *v = &t->vals[t->nvals - 1];
    if (expect != T_UNKNOWN && v->type != expect && v->type != T_UNKNOWN)
        return verr(t, "type mismatch: %s expects %s, got %s", opname(t->cur->op),
                    tname(expect), tname(v->type));
    t->nvals--;
    unpend(t, v);
    if (got) *got = v->type;
    if (slot) *slot = v->slot;
    return true;
}

static inline bool pop_t(tr *t, uint8_t expect, uint32_t *slot) { return pop(t, expect, NULL, slot); }

static bool pop_vals(tr *t, const uint8_t *types, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        if (!pop(t, types[i], NULL, NULL)) return false;
    return true;
}

/* Copies a pending entry (i < nvals) to its canonical slot. */
static void materialize_at(tr *t, uint32_t i)
{
    sval *v = &t->vals[i];
    if (v->lidx == NO_LOCAL) return;
    uint32_t canon = t->stack_base + v->cell;
    emit_copy(t, v->type, canon, v->slot);
    v->slot = canon;
    unpend(t, v);
    v->lidx = NO_LOCAL;
}

/* For entries already popped (vals[from..from+n), at or above nvals): emits the copies of the
 * pending ones to their canonical slots, without changing the entries. */
static void emit_canonical(tr *t, uint32_t from, uint32_t n)
{
    for (uint32_t i = from; i < from + n; i++) {
        const sval *v = &t->vals[i];
        uint32_t canon = t->stack_base + v->cell;
        if (v->slot != canon) emit_copy(t, v->type, canon, v->slot);
    }
}

/* Materialises every pending entry. Pending entries only exist in live code, above the current
 * frame's height (block boundaries materialise everything); the scan runs top-down and stops
 * when none is left, so each pending entry costs its distance from the top once. */
static void materialize_all(tr *t)
{
    for (uint32_t i = t->nvals; i-- > 0 && t->npending;) materialize_at(t, i);
}

/* Materialises the pending references to local x (before x is written). */
static void materialize_local(tr *t, uint32_t x)
{
    for (uint32_t i = t->nvals; i-- > 0 && t->pend[x];)
        if (t->vals[i].lidx == x) materialize_at(t, i);
}

/* ---- control frames ------------------------------------------------------------------------------ */

static bool push_ctrl(tr *t, uint8_t kind, uint32_t np, const uint8_t *p, uint32_t nr, const uint8_t *r)
{
    bool parent_live = t->nctrl == 0 || live(t);
    if (!grow(t, (void **)&t->ctrls, &t->capctrl, t->nctrl + 1, sizeof(ctrl))) return false;
    if (!grow(t, (void **)&t->stubs, &t->capstubs, t->nctrl + 1, sizeof(uint32_t))) return false;
    t->stubs[t->nctrl] = NO_PATCH;
    ctrl *c = &t->ctrls[t->nctrl++];
    c->kind = kind;
    c->unreachable = false;
    c->dead = !parent_live;
    c->nparams = np;
    c->params = p;
    c->nresults = nr;
    c->results = r;
    c->height = t->nvals;
    c->base_cell = next_cell(t);
    c->start_pc = t->nops;
    c->patch = NO_PATCH;
    c->else_patch = NO_PATCH;
    return push_vals(t, p, np);
}

/* spec pop_ctrl's checks: the frame's results are on top and nothing else above its height */
static bool check_frame_end(tr *t, ctrl *c)
{
    if (!pop_vals(t, c->results, c->nresults)) return false;
    if (t->nvals != c->height)
        return verr(t, "type mismatch: %u extra value(s) on the stack at the end of %s",
                    t->nvals - c->height, c->kind == K_FUNC ? "the function" : "a block");
    return true;
}

static void set_unreachable(tr *t)
{
    ctrl *c = top_ctrl(t);
    while (t->nvals > c->height) {
        t->nvals--;
        unpend(t, &t->vals[t->nvals]);
    }
    c->unreachable = true;
}

static inline void label_types(const ctrl *c, uint32_t *n, const uint8_t **types)
{
    if (c->kind == K_LOOP) { *n = c->nparams; *types = c->params; }
    else { *n = c->nresults; *types = c->results; }
}

/* True when vals[from..from+n) are not already at the label's destination slots. */
static bool needs_copies(tr *t, const ctrl *c, uint32_t from, uint32_t n)
{
    uint32_t d = c->kind == K_FUNC ? 0 : t->stack_base + c->base_cell;
    for (uint32_t i = 0; i < n; i++) {
        const sval *v = &t->vals[from + i];
        if (v->slot != d) return true;
        d += cellsof(v->type);
    }
    return false;
}

/* Copies vals[from..from+n) to dst0.. (ascending order: safe since every destination is at or
 * below its source, or in the operand area while the source is a local). */
static void emit_copies_to(tr *t, uint32_t from, uint32_t n, uint32_t dst0)
{
    uint32_t d = dst0;
    for (uint32_t i = 0; i < n; i++) {
        const sval *v = &t->vals[from + i];
        emit_copy(t, v->type, d, v->slot);
        d += cellsof(v->type);
    }
}

/* Return sequence: results vals[from..from+n) to fp[0..], then IR_RETURN. Pending local
 * references are copied to their canonical slots first (fp[0..] overlaps the locals). */
static void emit_return_from(tr *t, uint32_t from, uint32_t n)
{
    bool pending = false;
    for (uint32_t i = from; i < from + n; i++)
        if (t->vals[i].slot < t->stack_base) pending = true;
    if (!pending) {
        emit_copies_to(t, from, n, 0);
    } else {
        emit_canonical(t, from, n);
        uint32_t d = 0;
        for (uint32_t i = from; i < from + n; i++) {
            const sval *v = &t->vals[i];
            emit_copy(t, v->type, d, t->stack_base + v->cell);
            d += cellsof(v->type);
        }
    }
    EMIT(t, IR_RETURN);
}

/* Unconditional branch to frame c carrying vals[from..from+n). */
static void emit_branch(tr *t, ctrl *c, uint32_t from, uint32_t n)
{
    if (c->kind == K_FUNC) {
        emit_return_from(t, from, n);
        return;
    }
    emit_copies_to(t, from, n, t->stack_base + c->base_cell);
    EMIT(t, IR_BR);
    emit_target(t, c);
}

/* ---- blocks ---------------------------------------------------------------------------------- */

static bool block_type(tr *t, const instr *in, uint32_t *np, const uint8_t **p, uint32_t *nr,
                       const uint8_t **r)
{
    *np = *nr = 0;
    *p = *r = NULL;
    if (in->bt_kind == 1) {
        *nr = 1;
        *r = vt_ptr((uint8_t)in->a);
    } else if (in->bt_kind == 2) {
        if (in->bti < 0 || (uint64_t)in->bti >= t->m->ntypes)
            return verr(t, "unknown type %lld", (long long)in->bti);
        const wm_type *ty = &t->m->types[in->bti];
        *np = ty->nparams;
        *p = ty->params;
        *nr = ty->nresults;
        *r = ty->results;
    }
    return true;
}

static bool check_memory(tr *t, uint32_t idx)
{
    if (idx >= t->m->nmems) return verr(t, "unknown memory %u", idx);
    return true;
}

static bool check_memarg(tr *t, const instr *in, uint32_t natural)
{
    if (!check_memory(t, 0)) return false;
    if (in->a > natural)
        return verr(t, "alignment must not be larger than natural: %s alignment 2^%u > %u",
                    opname(in->op), in->a, 1u << natural);
    return true;
}

static bool check_table(tr *t, uint32_t idx)
{
    if (idx >= t->m->ntables) return verr(t, "unknown table %u", idx);
    return true;
}

static bool check_elem(tr *t, uint32_t idx)
{
    if (idx >= t->m->nelems) return verr(t, "unknown elem segment %u", idx);
    return true;
}

static bool check_data(tr *t, uint32_t idx)
{
    uint32_t n = t->m->has_datacount ? t->m->datacount : t->m->ndatas;
    if (idx >= n) return verr(t, "unknown data segment %u", idx);
    return true;
}

static bool check_lane(tr *t, const instr *in, uint32_t lanes)
{
    if (in->lane >= lanes)
        return verr(t, "invalid lane index: %s lane %u >= %u", opname(in->op), in->lane, lanes);
    return true;
}

/* ---- numeric signatures ------------------------------------------------------------------------------ */

/* Returns 1 (unary) or 2 (binary) and the types, or 0 if op is not a plain numeric op. */
static int num_sig(uint32_t op, uint8_t *in, uint8_t *out)
{
    const uint8_t I = WM_I32, L = WM_I64, F = WM_F32, D = WM_F64;
    if (op == 0x45) { *in = I; *out = I; return 1; }
    if (op >= 0x46 && op <= 0x4f) { *in = I; *out = I; return 2; }
    if (op == 0x50) { *in = L; *out = I; return 1; }
    if (op >= 0x51 && op <= 0x5a) { *in = L; *out = I; return 2; }
    if (op >= 0x5b && op <= 0x60) { *in = F; *out = I; return 2; }
    if (op >= 0x61 && op <= 0x66) { *in = D; *out = I; return 2; }
    if (op >= 0x67 && op <= 0x69) { *in = I; *out = I; return 1; }
    if (op >= 0x6a && op <= 0x78) { *in = I; *out = I; return 2; }
    if (op >= 0x79 && op <= 0x7b) { *in = L; *out = L; return 1; }
    if (op >= 0x7c && op <= 0x8a) { *in = L; *out = L; return 2; }
    if (op >= 0x8b && op <= 0x91) { *in = F; *out = F; return 1; }
    if (op >= 0x92 && op <= 0x98) { *in = F; *out = F; return 2; }
    if (op >= 0x99 && op <= 0x9f) { *in = D; *out = D; return 1; }
    if (op >= 0xa0 && op <= 0xa6) { *in = D; *out = D; return 2; }
    static const uint8_t conv[][2] = {
        /* a7 */ { 0x7e, 0x7f }, { 0x7d, 0x7f }, { 0x7d, 0x7f }, { 0x7c, 0x7f }, { 0x7c, 0x7f },
        /* ac */ { 0x7f, 0x7e }, { 0x7f, 0x7e }, { 0x7d, 0x7e }, { 0x7d, 0x7e }, { 0x7c, 0x7e },
        /* b1 */ { 0x7c, 0x7e }, { 0x7f, 0x7d }, { 0x7f, 0x7d }, { 0x7e, 0x7d }, { 0x7e, 0x7d },
        /* b6 */ { 0x7c, 0x7d }, { 0x7f, 0x7c }, { 0x7f, 0x7c }, { 0x7e, 0x7c }, { 0x7e, 0x7c },
        /* bb */ { 0x7d, 0x7c }, { 0x7d, 0x7f }, { 0x7c, 0x7e }, { 0x7f, 0x7d }, { 0x7e, 0x7c },
        /* c0 */ { 0x7f, 0x7f }, { 0x7f, 0x7f }, { 0x7e, 0x7e }, { 0x7e, 0x7e }, { 0x7e, 0x7e },
    };
    if (op >= 0xa7 && op <= 0xc4) { *in = conv[op - 0xa7][0]; *out = conv[op - 0xa7][1]; return 1; }
    if (op >= 0x100 && op <= 0x107) {
        static const uint8_t sat[8][2] = {
            { 0x7d, 0x7f }, { 0x7d, 0x7f }, { 0x7c, 0x7f }, { 0x7c, 0x7f },
            { 0x7d, 0x7e }, { 0x7d, 0x7e }, { 0x7c, 0x7e }, { 0x7c, 0x7e },
        };
        *in = sat[op - 0x100][0];
        *out = sat[op - 0x100][1];
        return 1;
    }
    return 0;
}

static const struct { uint8_t type, align; } mem_sig[] = {
    /* 0x28 */ { WM_I32, 2 }, { WM_I64, 3 }, { WM_F32, 2 }, { WM_F64, 3 },
    /* 0x2c */ { WM_I32, 0 }, { WM_I32, 0 }, { WM_I32, 1 }, { WM_I32, 1 },
    /* 0x30 */ { WM_I64, 0 }, { WM_I64, 0 }, { WM_I64, 1 }, { WM_I64, 1 }, { WM_I64, 2 }, { WM_I64, 2 },
    /* 0x36 */ { WM_I32, 2 }, { WM_I64, 3 }, { WM_F32, 2 }, { WM_F64, 3 },
    /* 0x3a */ { WM_I32, 0 }, { WM_I32, 1 }, { WM_I64, 0 }, { WM_I64, 1 }, { WM_I64, 2 },
};

/* ---- one instruction ---------------------------------------------------------------------------- */

static bool op_branch_table(tr *t, const instr *in)
{
    uint32_t idx_slot;
    if (!pop_t(t, WM_I32, &idx_slot)) return false;
    uint32_t count = in->a, def = in->b;
    if (def >= t->nctrl) return verr(t, "unknown label %u", def);
    uint32_t arity;
    const uint8_t *dtypes;
    label_types(&t->ctrls[t->nctrl - 1 - def], &arity, &dtypes);
    bool was_live = live(t);
    bool ok = true;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t d = t->targets[i];
        if (d >= t->nctrl) { ok = verr(t, "unknown label %u", d); break; }
        uint32_t si = t->nctrl - 1 - d;
        if (t->stubs[si] == STUB_CHECKED) continue;   /* same label, same check */
        t->stubs[si] = STUB_CHECKED;
        uint32_t n;
        const uint8_t *types;
        label_types(&t->ctrls[si], &n, &types);
        if (n != arity) {
            ok = verr(t, "type mismatch: br_table targets have different arities (%u and %u)", n, arity);
            break;
        }
        /* push_vals(pop_vals(label_types)): checked in place, the entries stay as they are (in a
         * polymorphic frame, values missing below are Unknown either way) */
        uint32_t save = t->nvals;
        for (uint32_t k = n; k-- > 0 && ok;) ok = pop(t, types[k], NULL, NULL);
        if (!ok) break;
        uint32_t low = t->nvals;
        t->nvals = save;
        repend(t, low, save);
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t d = t->targets[i];
        if (d < t->nctrl) t->stubs[t->nctrl - 1 - d] = NO_PATCH;
    }
    if (!ok) return false;
    if (!pop_vals(t, dtypes, arity)) return false;
    uint32_t from = t->nvals;
    if (was_live) {
        /* carried values are vals[from .. from+arity) (still in the array) */
        uint32_t tab = t->nops;
        EMIT(t, IR_BR_TABLE, idx_slot, count);
        for (uint32_t i = 0; i <= count && !t->fatal; i++) EMIT(t, 0);
        if (t->fatal) return false;
        /* restore the carried entries' accounting while we emit */
        for (uint32_t i = 0; i <= count; i++) {
            uint32_t d = i < count ? t->targets[i] : def;
            uint32_t si = t->nctrl - 1 - d;
            ctrl *c = &t->ctrls[si];
            uint32_t w = tab + 3 + i;
            if (t->stubs[si] == NO_PATCH) {
                /* first time this label is seen: branch directly, or through a stub with copies */
                if (c->kind != K_FUNC && !needs_copies(t, c, from, arity)) {
                    t->stubs[si] = STUB_DIRECT;
                } else {
                    t->stubs[si] = t->nops;
                    emit_branch(t, c, from, arity);
                    if (t->fatal) return false;
                }
            }
            if (t->stubs[si] == STUB_DIRECT) {
                if (c->kind == K_LOOP) {
                    patch_word(t, w, c->start_pc);
                } else {
                    patch_word(t, w, c->patch);
                    c->patch = w;
                }
            } else {
                patch_word(t, w, t->stubs[si]);
            }
        }
        for (uint32_t i = 0; i <= count; i++) {
            uint32_t d = i < count ? t->targets[i] : def;
            t->stubs[t->nctrl - 1 - d] = NO_PATCH;
        }
    }
    set_unreachable(t);
    return true;
}

static bool op_call(tr *t, const wm_type *ft, const instr *in, bool indirect, uint32_t idx_slot)
{
    if (!pop_vals(t, ft->params, ft->nparams)) return false;
    uint32_t from = t->nvals;
    uint32_t base = next_slot(t);
    if (live(t)) {
        /* arguments must sit in consecutive canonical slots */
        emit_canonical(t, from, ft->nparams);
        if (indirect) EMIT(t, IR_CALL_INDIRECT, in->a, in->b, base, idx_slot);
        else EMIT(t, IR_CALL, in->a, base);
    }
    return push_vals(t, ft->results, ft->nresults);
}

static uint8_t local_type(const tr *t, uint32_t x)
{
    return x < t->nparams ? t->params[x] : t->fd->local_types[x - t->nparams];
}

/* ---- SIMD superinstructions (ir.h) --------------------------------------------------------- */

/* The value of a constant slot (see collect_consts), or false for any other slot. */
static bool const_slot_value(const tr *t, uint32_t slot, uint64_t *v)
{
    if (slot >= t->stack_base || slot < t->stack_base - t->nk) return false;
    *v = t->kvals[slot - (t->stack_base - t->nk)];
    return true;
}

/* Byte j of an i8x16.shuffle's lane immediate, instruction at code position s. */
static inline uint32_t shuffle_lane(const tr *t, uint32_t s, uint32_t j)
{
    return (t->ops[s + 4 + j / 4] >> (8 * (j % 4))) & 0xffu;
}

/* `i8x16.extract_lane_u k` feeding f32.convert_i32_s/u (the byte is non-negative, so both
 * conversions agree): one IR_F32_CVT_U8LANE. */
static bool fuse_cvt_u8lane(tr *t, uint32_t a, uint32_t dst)
{
    const struct producer *h = hist_op(t, 0, 0x216, a);
    if (!h) return false;
    uint32_t s = h->start, vec = t->ops[s + 2], lane = t->ops[s + 3];
    truncate_code(t, s);
    EMITP(t, 1, (uint32_t)IR_F32_CVT_U8LANE, dst, vec, lane);
    return true;
}

/* A 32-bit scalar load feeding a splat or replace_lane of a 32-bit-lane vector: the SIMD load
 * that does both (same bytes, same bounds check). For replace_lane, vec is the vector operand. */
static bool fuse_load32_into_vector(tr *t, uint32_t x, uint32_t dst, bool splat, uint32_t vec, uint32_t lane)
{
    const struct producer *h = hist_at(t, 0);
    if (!h || t->ops[h->pos] != x || x < t->stack_base) return false;
    uint32_t s = h->start, op = t->ops[s];
    if (op == 0x28 || op == 0x2A) {
        uint32_t addr = t->ops[s + 2], off = t->ops[s + 3];
        truncate_code(t, s);
        if (splat) EMITP(t, 1, 0x209u, dst, addr, off);
        else EMITP(t, 1, 0x256u, dst, addr, vec, off, lane);
        return true;
    }
    if (op == IR_LDX_0x28 || op == IR_LDX_0x2A) {
        uint32_t xa = t->ops[s + 2], xb = t->ops[s + 3], off = t->ops[s + 4];
        truncate_code(t, s);
        if (splat) EMITP(t, 1, (uint32_t)IR_LDX_SPLAT32, dst, xa, xb, off);
        else EMITP(t, 1, (uint32_t)IR_LDX_LANE32, dst, xa, xb, vec, off, lane);
        return true;
    }
    return false;
}

/* `i8x16.shuffle` (bytes k..k+3 of its first operand to the low byte of each i32 lane),
 * `i32x4.shl 24`, `i32x4.shr_s 24` -- clang's sign-extension of 4 bytes to i32x4, translated
 * when the shr_s (count slot cnt, operand a) arrives. If the shuffled vector was just loaded,
 * the load joins in (k = 0): IR_LD_I8X4_S / IR_LDX_I8X4_S. */
static bool fuse_extend8(tr *t, uint32_t a, uint32_t cnt, uint32_t dst)
{
    uint64_t c;
    if (!const_slot_value(t, cnt, &c) || (c & 31) != 24) return false;
    const struct producer *hs = hist_op(t, 0, 0x2AB, a);
    if (!hs || !const_slot_value(t, t->ops[hs->start + 3], &c) || (c & 31) != 24) return false;
    const struct producer *hf = hist_op(t, 1, 0x20D, t->ops[hs->start + 2]);
    if (!hf) return false;
    uint32_t s = hf->start, k = shuffle_lane(t, s, 0);
    if (k > 12) return false;
    for (uint32_t i = 1; i < 4; i++)
        if (shuffle_lane(t, s, 4 * i) != k + i) return false;
    uint32_t v = t->ops[s + 2];
    /* the shuffle's second operand is not needed; when it is a v128.const just computed for it
     * (a stack slot), that goes too and the load may sit below it */
    uint32_t below = hist_op(t, 2, 0x20C, t->ops[s + 3]) ? 3 : 2;
    const struct producer *hl = k == 0 ? hist_at(t, below) : NULL;
    if (hl && t->ops[hl->pos] == v && v >= t->stack_base) {
        uint32_t l = hl->start, op = t->ops[l], w = 0;
        switch (op) {
        case 0x209: case 0x25C: case IR_LDX_SPLAT32: w = 4; break;
        case 0x25D: w = 8; break;
        case 0x200: case IR_LDX_V128: w = 16; break;
        default: break;
        }
        if (w && (op == IR_LDX_SPLAT32 || op == IR_LDX_V128)) {
            uint32_t xa = t->ops[l + 2], xb = t->ops[l + 3], off = t->ops[l + 4];
            truncate_code(t, l);
            EMITP(t, 1, (uint32_t)IR_LDX_I8X4_S, dst, xa, xb, off, w);
            return true;
        }
        if (w) {
            uint32_t addr = t->ops[l + 2], off = t->ops[l + 3];
            const struct producer *ha = hist_op(t, below + 1, 0x6a, addr);
            if (ha) {
                uint32_t xa = t->ops[ha->start + 2], xb = t->ops[ha->start + 3];
                truncate_code(t, ha->start);
                EMITP(t, 1, (uint32_t)IR_LDX_I8X4_S, dst, xa, xb, off, w);
            } else {
                truncate_code(t, l);
                EMITP(t, 1, (uint32_t)IR_LD_I8X4_S, dst, addr, off, w);
            }
            return true;
        }
    }
    truncate_code(t, s);
    EMITP(t, 1, (uint32_t)IR_I32X4_EXTEND8_S, dst, v, k);
    return true;
}

/* f32x4.splat / f32x4.replace_lane k of IR_F32_CVT_U8LANE results, lane by lane from the same
 * byte vector: one IR_F32X4_U8LANES covering lanes 0..k (x = the lane value, r = the vector so
 * far, NO_PATCH for the splat). */
static bool fuse_u8lanes(tr *t, uint32_t r, uint32_t x, uint32_t k, uint32_t dst)
{
    const struct producer *hx = hist_op(t, 0, IR_F32_CVT_U8LANE, x);
    if (!hx || t->ops[hx->start + 3] != k) return false;
    uint32_t vec = t->ops[hx->start + 2], start = hx->start;
    if (r != NO_PATCH) {
        const struct producer *hr = hist_op(t, 1, IR_F32X4_U8LANES, r);
        if (!hr || t->ops[hr->start + 2] != vec || t->ops[hr->start + 3] != k) return false;
        start = hr->start;
    }
    truncate_code(t, start);
    EMITP(t, 1, (uint32_t)IR_F32X4_U8LANES, dst, vec, k + 1);
    return true;
}

/* f32x4/f64x2 add or mul whose second operand b was just loaded by v128.load: one dispatch
 * reading the operand from memory (IR_*_LD / IR_*_LDX). */
static bool fuse_binop_load(tr *t, uint32_t op, uint32_t a, uint32_t b, uint32_t dst)
{
    uint32_t k;
    switch (op) {
    case 0x2E4: k = 0; break;   /* f32x4.add */
    case 0x2E6: k = 1; break;   /* f32x4.mul */
    case 0x2F0: k = 2; break;   /* f64x2.add */
    case 0x2F2: k = 3; break;   /* f64x2.mul */
    default: return false;
    }
    const struct producer *h = hist_at(t, 0);
    if (!h || t->ops[h->pos] != b || b < t->stack_base) return false;
    uint32_t s = h->start;
    if (t->ops[s] == 0x200) {
        uint32_t addr = t->ops[s + 2], off = t->ops[s + 3];
        truncate_code(t, s);
        EMITP(t, 1, (uint32_t)IR_F32X4_ADD_LD + k, dst, a, addr, off);
        return true;
    }
    if (t->ops[s] == IR_LDX_V128) {
        uint32_t x = t->ops[s + 2], y = t->ops[s + 3], off = t->ops[s + 4];
        truncate_code(t, s);
        EMITP(t, 1, (uint32_t)IR_F32X4_ADD_LDX + k, dst, a, x, y, off);
        return true;
    }
    return false;
}

/* `v128.load p; f32x4/f64x2.add v, that; v128.store p` (fused so far into IR_*_ADD_LD(X) at
 * the same address slots and offset): accumulate into memory in one dispatch. x, y are the
 * store's address slots (y == NO_PATCH: a plain address x). */
static bool fuse_add_to_mem(tr *t, uint32_t x, uint32_t y, uint32_t val, uint32_t off)
{
    const struct producer *h = hist_at(t, 0);
    if (!h || t->ops[h->pos] != val || val < t->stack_base) return false;
    uint32_t s = h->start, op = t->ops[s];
    if (y == NO_PATCH && (op == IR_F32X4_ADD_LD || op == IR_F64X2_ADD_LD) &&
        t->ops[s + 3] == x && t->ops[s + 4] == off) {
        uint32_t a = t->ops[s + 2];
        truncate_code(t, s);
        EMIT(t, op == IR_F32X4_ADD_LD ? (uint32_t)IR_F32X4_ADD_TO_MEM : (uint32_t)IR_F64X2_ADD_TO_MEM, x, a, off);
        return true;
    }
    if (y != NO_PATCH && (op == IR_F32X4_ADD_LDX || op == IR_F64X2_ADD_LDX) &&
        t->ops[s + 3] == x && t->ops[s + 4] == y && t->ops[s + 5] == off) {
        uint32_t a = t->ops[s + 2];
        truncate_code(t, s);
        EMIT(t, op == IR_F32X4_ADD_LDX ? (uint32_t)IR_F32X4_ADD_TO_MEMX : (uint32_t)IR_F64X2_ADD_TO_MEMX,
             x, y, a, off);
        return true;
    }
    return false;
}

static bool op_simd(tr *t, const instr *in)
{
    uint32_t n = in->op - 0x200;
    simd_info si = simd_classify(n);
    uint32_t a = 0, b = 0, c = 0, dst = 0;
    bool lv = live(t);
    switch (si.cls) {
    case S_LOAD:
        if (!check_memarg(t, in, si.align) || !pop_t(t, WM_I32, &a) || !push(t, WM_V128, &dst)) return false;
        if (lv && in->op == 0x200 && fold_address_add(t, a, &b, &c))
            EMITP(t, 1, (uint32_t)IR_LDX_V128, dst, b, c, in->off);
        else if (lv && in->op == 0x209 && fold_address_add(t, a, &b, &c))
            EMITP(t, 1, (uint32_t)IR_LDX_SPLAT32, dst, b, c, in->off);
        else if (lv)
            EMITP(t, 1, in->op, dst, a, in->off);
        return true;
    case S_STORE: {
        if (!check_memarg(t, in, si.align) || !pop_t(t, WM_V128, &b)) return false;
        uint32_t aa = t->nvals > top_ctrl(t)->height ? t->vals[t->nvals - 1].addr_add : NO_PATCH;
        if (!pop_t(t, WM_I32, &a)) return false;
        if (!lv) return true;
        if (fold_store_address(t, aa, a, &c, &dst)) {
            if (!fuse_add_to_mem(t, c, dst, b, in->off)) EMIT(t, (uint32_t)IR_STX_V128, c, dst, b, in->off);
        } else if (!fuse_add_to_mem(t, a, NO_PATCH, b, in->off)) {
            EMIT(t, in->op, a, b, in->off);
        }
        return true;
    }
    case S_LOAD_LANE:
        if (!check_memarg(t, in, si.align) || !check_lane(t, in, si.lanes)) return false;
        if (!pop_t(t, WM_V128, &b) || !pop_t(t, WM_I32, &a) || !push(t, WM_V128, &dst)) return false;
        if (lv) EMITP(t, 1, in->op, dst, a, b, in->off, in->lane);
        return true;
    case S_STORE_LANE:
        if (!check_memarg(t, in, si.align) || !check_lane(t, in, si.lanes)) return false;
        if (!pop_t(t, WM_V128, &b) || !pop_t(t, WM_I32, &a)) return false;
        if (lv) EMIT(t, in->op, a, b, in->off, in->lane);
        return true;
    case S_CONST: {
        if (!push(t, WM_V128, &dst)) return false;
        uint32_t w[4];
        for (int i = 0; i < 4; i++)
            w[i] = (uint32_t)in->v[4 * i] | (uint32_t)in->v[4 * i + 1] << 8 |
                   (uint32_t)in->v[4 * i + 2] << 16 | (uint32_t)in->v[4 * i + 3] << 24;
        if (lv) EMITP(t, 1, in->op, dst, w[0], w[1], w[2], w[3]);
        return true;
    }
    case S_SHUFFLE: {
        for (int i = 0; i < 16; i++)
            if (in->v[i] >= 32)
                return verr(t, "invalid lane index: i8x16.shuffle lane %u >= 32", in->v[i]);
        if (!pop_t(t, WM_V128, &b) || !pop_t(t, WM_V128, &a) || !push(t, WM_V128, &dst)) return false;
        uint32_t w[4];
        for (int i = 0; i < 4; i++)
            w[i] = (uint32_t)in->v[4 * i] | (uint32_t)in->v[4 * i + 1] << 8 |
                   (uint32_t)in->v[4 * i + 2] << 16 | (uint32_t)in->v[4 * i + 3] << 24;
        if (lv) EMITP(t, 1, in->op, dst, a, b, w[0], w[1], w[2], w[3]);
        return true;
    }
    case S_SPLAT:
        if (!pop_t(t, si.st, &a) || !push(t, WM_V128, &dst)) return false;
        if (!lv) return true;
        if (in->op == 0x213 && fuse_u8lanes(t, NO_PATCH, a, 0, dst)) return true;
        if ((in->op == 0x211 || in->op == 0x213) && fuse_load32_into_vector(t, a, dst, true, 0, 0)) return true;
        EMITP(t, 1, in->op, dst, a);
        return true;
    case S_EXTRACT:
        if (!check_lane(t, in, si.lanes) || !pop_t(t, WM_V128, &a) || !push(t, si.st, &dst)) return false;
        if (lv) EMITP(t, 1, in->op, dst, a, in->lane);
        return true;
    case S_REPLACE:
        if (!check_lane(t, in, si.lanes) || !pop_t(t, si.st, &b) || !pop_t(t, WM_V128, &a) ||
            !push(t, WM_V128, &dst))
            return false;
        if (!lv) return true;
        if (in->op == 0x220 && fuse_u8lanes(t, a, b, in->lane, dst)) return true;
        if ((in->op == 0x21C || in->op == 0x220) && fuse_load32_into_vector(t, b, dst, false, a, in->lane))
            return true;
        EMITP(t, 1, in->op, dst, a, b, in->lane);
        return true;
    case S_UNARY:
        if (!pop_t(t, WM_V128, &a) || !push(t, WM_V128, &dst)) return false;
        if (lv) EMITP(t, 1, in->op, dst, a);
        return true;
    case S_TEST:
        if (!pop_t(t, WM_V128, &a) || !push(t, WM_I32, &dst)) return false;
        if (lv) EMITP(t, 1, in->op, dst, a);
        return true;
    case S_BINARY:
        if (!pop_t(t, WM_V128, &b) || !pop_t(t, WM_V128, &a) || !push(t, WM_V128, &dst)) return false;
        if (lv && !fuse_binop_load(t, in->op, a, b, dst)) EMITP(t, 1, in->op, dst, a, b);
        return true;
    case S_SHIFT:
        if (!pop_t(t, WM_I32, &b) || !pop_t(t, WM_V128, &a) || !push(t, WM_V128, &dst)) return false;
        if (lv && !(in->op == 0x2AC && fuse_extend8(t, a, b, dst))) EMITP(t, 1, in->op, dst, a, b);
        return true;
    case S_TERNARY:
        if (!pop_t(t, WM_V128, &c) || !pop_t(t, WM_V128, &b) || !pop_t(t, WM_V128, &a) ||
            !push(t, WM_V128, &dst))
            return false;
        if (lv) EMITP(t, 1, in->op, dst, a, b, c);
        return true;
    default:
        return verr(t, "illegal opcode fd %02x", n);
    }
}

static bool validate_emit(tr *t, const instr *in)
{
    wm_module *m = t->m;
    uint32_t op = in->op;
    uint32_t a = 0, b = 0, c = 0, dst = 0;
    uint8_t ta = 0, tb = 0;
    bool lv = live(t);
    t->prev = t->last;
    t->last.valid = false;

    uint8_t sin, sout;
    int ar = num_sig(op, &sin, &sout);
    if (ar == 1) {
        if (!pop_t(t, sin, &a) || !push(t, sout, &dst)) return false;
        if (lv && !((op == 0xB2 || op == 0xB3) && fuse_cvt_u8lane(t, a, dst))) EMITP(t, 1, op, dst, a);
        return true;
    }
    if (ar == 2) {
        if (!pop_t(t, sin, &b) || !pop_t(t, sin, &a) || !push(t, sout, &dst)) return false;
        uint64_t c_;
        int k_;
        if (lv && op == 0x6b && WM_TR_FUSE_LOCAL_SET && const_slot_value(t, b, &c_) &&
            (k_ = find_const(t, false, (uint32_t)(0u - (uint32_t)c_))) >= 0) {
            /* x - c as x + (-c): the same i32 result, and an address add the loads and stores
             * fuse with (pointer arithmetic with negative offsets) */
            op = 0x6a;
            b = t->stack_base - t->nk + (uint32_t)k_;
        }
        if (lv) {
            EMITP(t, 1, op, dst, a, b);
            /* may become part of a store's address (fold_store_address) */
            if (op == 0x6a && t->last.valid) t->vals[t->nvals - 1].addr_add = t->last.start;
        }
        return true;
    }
    if (op >= 0x28 && op <= 0x35) {
        if (!check_memarg(t, in, mem_sig[op - 0x28].align) || !pop_t(t, WM_I32, &a) ||
            !push(t, mem_sig[op - 0x28].type, &dst))
            return false;
        if (lv && fold_address_add(t, a, &b, &c))
            EMITP(t, 1, (uint32_t)IR_LDX_0x28 + (op - 0x28), dst, b, c, in->off);
        else if (lv)
            EMITP(t, 1, op, dst, a, in->off);
        return true;
    }
    if (op >= 0x36 && op <= 0x3e) {
        if (!check_memarg(t, in, mem_sig[op - 0x28].align) || !pop_t(t, mem_sig[op - 0x28].type, &b))
            return false;
        uint32_t aa = t->nvals > top_ctrl(t)->height ? t->vals[t->nvals - 1].addr_add : NO_PATCH;
        if (!pop_t(t, WM_I32, &a)) return false;
        if (lv && fold_store_address(t, aa, a, &c, &dst))
            EMIT(t, (uint32_t)IR_STX_0x36 + (op - 0x36), c, dst, b, in->off);
        else if (lv)
            EMIT(t, op, a, b, in->off);
        return true;
    }
    if (op >= 0x200) return op_simd(t, in);

    switch (op) {
    case 0x00: /* unreachable */
        if (lv) EMIT(t, 0x00);
        set_unreachable(t);
        return true;
    case 0x01: /* nop */
        return true;
    case 0x02: case 0x03: case 0x04: { /* block, loop, if */
        uint32_t np, nr;
        const uint8_t *p, *r;
        uint32_t cond = 0;
        if (!block_type(t, in, &np, &p, &nr, &r)) return false;
        if (op == 0x04 && !pop_t(t, WM_I32, &cond)) return false;
        /* The condition's producer is folded into the branch just below: nothing is emitted
         * in between (the params and everything below are pending or canonical already). */
        bool cond_pending = op == 0x04 && lv && t->prev.valid && t->prev.end == t->nops;
        if (!pop_vals(t, p, np)) return false;
        if (lv) {
            emit_canonical(t, t->nvals, np);   /* the params (just popped) */
            materialize_all(t);                /* and everything below */
        }
        if (!push_ctrl(t, op == 0x02 ? K_BLOCK : op == 0x03 ? K_LOOP : K_IF, np, p, nr, r)) return false;
        ctrl *cf = top_ctrl(t);
        if (!cf->dead) {
            if (op == 0x03) {
                /* no code at the header: the backward branches to it charge fuel (exec.c) */
                cf->start_pc = t->nops;
            } else if (op == 0x04) {
                if (!cond_pending) t->prev.valid = false;
                emit_cond_branch(t, cond, false);
                cf->else_patch = t->nops;
                EMIT(t, NO_PATCH);
            }
        }
        return true;
    }
    case 0x05: { /* else */
        ctrl *cf = top_ctrl(t);
        if (cf->kind != K_IF) return verr(t, "else without matching if");
        if (!check_frame_end(t, cf)) return false;
        if (live(t)) {
            emit_canonical(t, t->nvals, cf->nresults);   /* results land in canonical slots */
            EMIT(t, IR_BR);
            emit_target(t, cf);
        }
        if (!cf->dead) patch_word(t, cf->else_patch, t->nops);
        cf->else_patch = NO_PATCH;
        cf->kind = K_ELSE;
        cf->unreachable = false;
        t->nvals = cf->height;
        return push_vals(t, cf->params, cf->nparams);
    }
    case 0x0b: { /* end */
        ctrl *cf = top_ctrl(t);
        if (!check_frame_end(t, cf)) return false;
        if (cf->kind == K_IF) {
            /* no else: the implicit empty else must turn the params into the results */
            bool same = cf->nparams == cf->nresults;
            for (uint32_t i = 0; same && i < cf->nparams; i++) same = cf->params[i] == cf->results[i];
            if (!same) return verr(t, "type mismatch: if without else must have matching param and result types");
        }
        bool was_live = live(t);
        uint32_t from = t->nvals;   /* results are vals[from .. from+nresults) */
        if (cf->kind == K_FUNC) {
            if (was_live) emit_return_from(t, from, cf->nresults);
            t->nctrl--;
            return true;
        }
        /* results must land in canonical slots */
        if (was_live) emit_canonical(t, from, cf->nresults);
        if (!cf->dead) {
            uint32_t end_pc = t->nops;
            if (cf->else_patch != NO_PATCH) patch_word(t, cf->else_patch, end_pc);
            for (uint32_t p = cf->patch; p != NO_PATCH && p < t->nops;) {
                uint32_t next = t->ops[p];
                t->ops[p] = end_pc;
                p = next;
            }
        }
        uint32_t nr = cf->nresults;
        const uint8_t *r = cf->results;
        t->nctrl--;
        return push_vals(t, r, nr);
    }
    case 0x0c: case 0x0d: { /* br, br_if */
        uint32_t cond = 0;
        if (op == 0x0d && !pop_t(t, WM_I32, &cond)) return false;
        if (in->a >= t->nctrl) return verr(t, "unknown label %u", in->a);
        ctrl *cf = &t->ctrls[t->nctrl - 1 - in->a];
        uint32_t n;
        const uint8_t *types;
        label_types(cf, &n, &types);
        uint32_t save = t->nvals;
        if (!pop_vals(t, types, n)) return false;
        uint32_t from = t->nvals;
        if (op == 0x0c) {
            if (lv) emit_branch(t, cf, from, n);
            set_unreachable(t);
            return true;
        }
        /* br_if: the values stay (with their types refined to the label's) */
        if (save - from == n) {
            t->nvals = save;
            repend(t, from, save);
            for (uint32_t i = 0; i < n; i++) t->vals[from + i].type = types[i];
        } else {
            /* polymorphic frame: some values were Unknown-from-nothing; rebuild */
            t->nvals = from;
            if (!push_vals(t, types, n)) return false;
        }
        if (lv) {
            if (cf->kind == K_FUNC || needs_copies(t, cf, from, n)) {
                emit_cond_branch(t, cond, false);
                uint32_t skip = t->nops;
                EMIT(t, NO_PATCH);
                emit_branch(t, cf, from, n);
                patch_word(t, skip, t->nops);
            } else {
                emit_cond_branch(t, cond, true);
                emit_target(t, cf);
            }
        }
        return true;
    }
    case 0x0e:
        return op_branch_table(t, in);
    case 0x0f: { /* return */
        ctrl *fc = &t->ctrls[0];
        if (!pop_vals(t, fc->results, fc->nresults)) return false;
        if (lv) emit_return_from(t, t->nvals, fc->nresults);
        set_unreachable(t);
        return true;
    }
    case 0x10: /* call */
        if (in->a >= m->nfuncs) return verr(t, "unknown function %u", in->a);
        return op_call(t, &m->types[m->func_types[in->a]], in, false, 0);
    case 0x11: { /* call_indirect typeidx tableidx */
        if (!check_table(t, in->b)) return false;
        if (m->tables[in->b].elem != WM_FUNCREF)
            return verr(t, "type mismatch: call_indirect on a table of %s", tname(m->tables[in->b].elem));
        if (in->a >= m->ntypes) return verr(t, "unknown type %u", in->a);
        uint32_t idx;
        if (!pop_t(t, WM_I32, &idx)) return false;
        return op_call(t, &m->types[in->a], in, true, idx);
    }
    case 0x1a: /* drop */
        return pop(t, T_UNKNOWN, NULL, NULL);
    case 0x1b: case 0x1c: { /* select, select t */
        uint8_t want = T_UNKNOWN;
        if (op == 0x1c) {
            if (in->b != 1) return verr(t, "invalid result arity %u for select", in->b);
            want = (uint8_t)in->a;
        }
        if (!pop_t(t, WM_I32, &c)) return false;
        if (!pop(t, want, &tb, &b) || !pop(t, want, &ta, &a)) return false;
        uint8_t rt = 0;
        if (op == 0x1b) {
            if (is_ref(ta) || is_ref(tb))
                return verr(t, "type mismatch: select without a type needs numeric or vector operands, got %s",
                            tname(is_ref(ta) ? ta : tb));
            if (ta != tb && ta != T_UNKNOWN && tb != T_UNKNOWN)
                return verr(t, "type mismatch: select operands %s and %s differ", tname(ta), tname(tb));
            rt = ta == T_UNKNOWN ? tb : ta;
        } else {
            rt = want;
        }
        if (!push(t, rt, &dst)) return false;
        if (lv) EMITP(t, 1, rt == WM_V128 ? (uint32_t)IR_SELECT_V128 : 0x1bu, dst, a, b, c);
        return true;
    }
    case 0x20: case 0x21: case 0x22: { /* local.get/set/tee */
        uint32_t x = in->a;
        if (x >= t->nlocals_total) return verr(t, "unknown local %u", x);
        uint8_t lt = local_type(t, x);
        uint32_t ls = t->local_slot[x];
        if (op == 0x20) {
            if (WM_TR_ELIDE_LOCAL_GET && lv) {
                if (!push(t, lt, &dst)) return false;
                make_pending(t, x);
            } else {
                if (!push(t, lt, &dst)) return false;
                if (lv) emit_copy(t, lt, dst, ls);
            }
            return true;
        }
        if (!pop_t(t, lt, &a)) return false;
        bool fused = false;
        if (lv) {
            uint32_t before = t->nops;
            materialize_local(t, x);
            t->lwrite[ls] = t->nops;
            if (lt == WM_V128) t->lwrite[ls + 1] = t->nops;
            if (WM_TR_FUSE_LOCAL_SET && t->nops == before && t->prev.valid && t->prev.end == t->nops &&
                t->prev.slot == a && a >= t->stack_base) {
                /* the previous instruction computed this value: let it write the local directly */
                patch_word(t, t->prev.pos, ls);
                fused = true;
            } else {
                emit_copy(t, lt, ls, a);
            }
        }
        if (op == 0x22) {
            if (!push(t, lt, &dst)) return false;
            if (fused) {
                /* the value now lives only in the local: a pending reference to it */
                make_pending(t, x);
            } else if (lv && a != dst) {
                /* the value stays where it was (a == dst unless it was a pending local ref) */
                if (a < t->stack_base) {
                    /* it was a pending reference to another local; now refer to x itself */
                    make_pending(t, x);
                } else {
                    emit_copy(t, lt, dst, a);
                }
            }
        }
        return true;
    }
    case 0x23: { /* global.get */
        if (in->a >= m->nglobals) return verr(t, "unknown global %u", in->a);
        uint8_t gt = m->global_types[in->a].type;
        if (!push(t, gt, &dst)) return false;
        if (lv) EMITP(t, 1, gt == WM_V128 ? (uint32_t)IR_GLOBAL_GET_V128 : 0x23u, dst, in->a);
        return true;
    }
    case 0x24: { /* global.set */
        if (in->a >= m->nglobals) return verr(t, "unknown global %u", in->a);
        const wm_globaltype *g = &m->global_types[in->a];
        if (!g->is_mutable) return verr(t, "global is immutable: global %u", in->a);
        if (!pop_t(t, g->type, &a)) return false;
        if (lv) EMIT(t, g->type == WM_V128 ? (uint32_t)IR_GLOBAL_SET_V128 : 0x24u, in->a, a);
        return true;
    }
    case 0x25: /* table.get */
        if (!check_table(t, in->a) || !pop_t(t, WM_I32, &a) || !push(t, m->tables[in->a].elem, &dst))
            return false;
        if (lv) EMITP(t, 2, op, in->a, dst, a);
        return true;
    case 0x26: /* table.set */
        if (!check_table(t, in->a) || !pop_t(t, m->tables[in->a].elem, &b) || !pop_t(t, WM_I32, &a))
            return false;
        if (lv) EMIT(t, op, in->a, a, b);
        return true;
    case 0x3f: /* memory.size */
        if (!check_memory(t, 0) || !push(t, WM_I32, &dst)) return false;
        if (lv) EMITP(t, 1, op, dst);
        return true;
    case 0x40: /* memory.grow */
        if (!check_memory(t, 0) || !pop_t(t, WM_I32, &a) || !push(t, WM_I32, &dst)) return false;
        if (lv) EMITP(t, 1, op, dst, a);
        return true;
    case 0x41: case 0x43: case 0x42: case 0x44: {
        bool wide = op == 0x42 || op == 0x44;
        uint8_t ty = op == 0x41 ? WM_I32 : op == 0x43 ? WM_F32 : op == 0x42 ? WM_I64 : WM_F64;
        if (!push(t, ty, &dst)) return false;
        if (!lv) return true;
        int k = find_const(t, wide, wide ? in->imm : (uint32_t)in->imm);
        if (k >= 0) {   /* a reference to the constant's slot, materialised only when needed */
            sval *v = &t->vals[t->nvals - 1];
            v->slot = t->stack_base - t->nk + (uint32_t)k;
            v->lidx = t->nlocals_total;
            t->pend[t->nlocals_total]++;
            t->npending++;
        } else if (wide) {
            EMITP(t, 1, op, dst, (uint32_t)in->imm, (uint32_t)(in->imm >> 32));
        } else {
            EMITP(t, 1, op, dst, (uint32_t)in->imm);
        }
        return true;
    }
    case 0xd0: /* ref.null */
        if (!push(t, (uint8_t)in->a, &dst)) return false;
        if (lv) EMITP(t, 1, op, dst);
        return true;
    case 0xd1: /* ref.is_null */
        if (!pop(t, T_UNKNOWN, &ta, &a)) return false;
        if (ta != T_UNKNOWN && !is_ref(ta))
            return verr(t, "type mismatch: ref.is_null expects a reference, got %s", tname(ta));
        if (!push(t, WM_I32, &dst)) return false;
        if (lv) EMITP(t, 1, op, dst, a);
        return true;
    case 0xd2: /* ref.func */
        if (in->a >= m->nfuncs) return verr(t, "unknown function %u", in->a);
        if (!m->declared_funcs || !m->declared_funcs[in->a])
            return verr(t, "undeclared function reference %u", in->a);
        if (!push(t, WM_FUNCREF, &dst)) return false;
        if (lv) EMITP(t, 1, op, dst, in->a);
        return true;

    /* 0xFC bulk memory / tables */
    case 0x108: /* memory.init */
        if (!check_memory(t, 0) || !check_data(t, in->a)) return false;
        if (!pop_t(t, WM_I32, &c) || !pop_t(t, WM_I32, &b) || !pop_t(t, WM_I32, &a)) return false;
        if (lv) EMIT(t, op, in->a, a, b, c);
        return true;
    case 0x109: /* data.drop */
        if (!check_data(t, in->a)) return false;
        if (lv) EMIT(t, op, in->a);
        return true;
    case 0x10a: case 0x10b: /* memory.copy, memory.fill */
        if (!check_memory(t, 0)) return false;
        if (!pop_t(t, WM_I32, &c) || !pop_t(t, WM_I32, &b) || !pop_t(t, WM_I32, &a)) return false;
        if (lv) EMIT(t, op, a, b, c);
        return true;
    case 0x10c: /* table.init elemidx(a) tableidx(b) */
        if (!check_table(t, in->b) || !check_elem(t, in->a)) return false;
        if (m->tables[in->b].elem != m->elems[in->a].elemtype)
            return verr(t, "type mismatch: table.init of %s segment into %s table",
                        tname(m->elems[in->a].elemtype), tname(m->tables[in->b].elem));
        if (!pop_t(t, WM_I32, &c) || !pop_t(t, WM_I32, &b) || !pop_t(t, WM_I32, &a)) return false;
        if (lv) EMIT(t, op, in->a, in->b, a, b, c);
        return true;
    case 0x10d: /* elem.drop */
        if (!check_elem(t, in->a)) return false;
        if (lv) EMIT(t, op, in->a);
        return true;
    case 0x10e: /* table.copy dst(a) src(b) */
        if (!check_table(t, in->a) || !check_table(t, in->b)) return false;
        if (m->tables[in->a].elem != m->tables[in->b].elem)
            return verr(t, "type mismatch: table.copy from %s table to %s table",
                        tname(m->tables[in->b].elem), tname(m->tables[in->a].elem));
        if (!pop_t(t, WM_I32, &c) || !pop_t(t, WM_I32, &b) || !pop_t(t, WM_I32, &a)) return false;
        if (lv) EMIT(t, op, in->a, in->b, a, b, c);
        return true;
    case 0x10f: /* table.grow */
        if (!check_table(t, in->a)) return false;
        if (!pop_t(t, WM_I32, &b) || !pop_t(t, m->tables[in->a].elem, &a) || !push(t, WM_I32, &dst))
            return false;
        if (lv) EMITP(t, 2, op, in->a, dst, a, b);
        return true;
    case 0x110: /* table.size */
        if (!check_table(t, in->a) || !push(t, WM_I32, &dst)) return false;
        if (lv) EMITP(t, 2, op, in->a, dst);
        return true;
    case 0x111: /* table.fill */
        if (!check_table(t, in->a)) return false;
        if (!pop_t(t, WM_I32, &c) || !pop_t(t, m->tables[in->a].elem, &b) || !pop_t(t, WM_I32, &a))
            return false;
        if (lv) EMIT(t, op, in->a, a, b, c);
        return true;
    default:
        break;
    }
    return verr(t, "illegal opcode %x", op);
}

/* ---- entry points ---------------------------------------------------------------------------- */

static void tr_free(tr *t)
{
    free(t->nest);
    free(t->vals);
    free(t->ctrls);
    free(t->local_slot);
    free(t->pend);
    free(t->targets);
    free(t->stubs);
    free(t->ops);
    free(t->srcoff);
    free(t->kvals);
    free(t->kwide);
    free(t->lwrite);
}

/* Distinct constants get a frame slot each, filled on entry, when there are at most this many:
 * the copy on every call must stay cheap next to what the constants save in loops. */
#define WM_TR_MAX_CONSTS 64

/* Pre-scan of the body: collects its distinct i32/i64/f32/f64 constants. A body that does not
 * decode gets none; the real pass then reports the error. */
static void collect_consts(tr *t)
{
    tr s;
    memset(&s, 0, sizeof s);
    s.m = t->m; s.fd = t->fd; s.funcidx = t->funcidx; s.p = t->p; s.len = t->len;
    wm_error scratch;
    s.err = &scratch;
    uint64_t vals[WM_TR_MAX_CONSTS];
    uint8_t wide[WM_TR_MAX_CONSTS];
    uint32_t negs[WM_TR_MAX_CONSTS];   /* -c for each `i32.const c; i32.sub` (optional extras) */
    uint32_t n = 0, nneg = 0;
    bool ok = nest_push(&s, N_BLOCK);
    uint32_t prev_op = 0, prev_imm = 0;
    while (ok && !s.done) {
        instr in;
        if (!decode_instr(&s, &in)) { ok = false; break; }
        bool after_const = prev_op == 0x41;
        prev_op = in.op;
        if (in.op == 0x6b && after_const) {
            /* translated as an add of -c (validate_emit), which the load and store address
             * fusions recognise: -c gets a slot if there is room once the real constants are in */
            uint32_t v = 0u - prev_imm, i = 0;
            while (i < nneg && negs[i] != v) i++;
            if (i == nneg && nneg < WM_TR_MAX_CONSTS) negs[nneg++] = v;
            continue;
        }
        if (in.op < 0x41 || in.op > 0x44) continue;
        if (in.op == 0x41) prev_imm = (uint32_t)in.imm;
        bool w = in.op == 0x42 || in.op == 0x44;
        uint64_t v = w ? in.imm : (uint32_t)in.imm;
        uint32_t i = 0;
        while (i < n && !(vals[i] == v && wide[i] == w)) i++;
        if (i < n) continue;
        if (n == WM_TR_MAX_CONSTS) { ok = false; break; }
        vals[n] = v; wide[n] = w; n++;
    }
    tr_free(&s);
    if (!ok) return;
    for (uint32_t j = 0; j < nneg && n < WM_TR_MAX_CONSTS; j++) {
        uint32_t i = 0;
        while (i < n && !(vals[i] == negs[j] && !wide[i])) i++;
        if (i == n) { vals[n] = negs[j]; wide[n] = 0; n++; }
    }
    if (n == 0) return;
    t->kvals = malloc(n * sizeof *t->kvals);
    t->kwide = malloc(n);
    if (!t->kvals || !t->kwide) { free(t->kvals); free(t->kwide); t->kvals = NULL; t->kwide = NULL; return; }
    memcpy(t->kvals, vals, n * sizeof *vals);
    memcpy(t->kwide, wide, n);
    t->nk = n;
}

bool wm_translate_function(wm_module *m, uint32_t defidx, wm_error *err)
{
    wm_funcdef *fd = &m->funcdefs[defidx];
    tr t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.fd = fd;
    t.funcidx = m->nfunc_imports + defidx;
    t.err = err;
    t.p = fd->body;
    t.len = fd->body_len;

    wm_code_free(&fd->code);

    const wm_type *ft = &m->types[m->func_types[t.funcidx]];
    t.ftype = ft;
    t.nparams = ft->nparams;
    t.params = ft->params;

    uint64_t pc = 0, lc = 0;
    for (uint32_t i = 0; i < ft->nparams; i++) pc += cellsof(ft->params[i]);
    for (uint32_t i = 0; i < fd->nlocals; i++) lc += cellsof(fd->local_types[i]);
    uint64_t rc = 0;
    for (uint32_t i = 0; i < ft->nresults; i++) rc += cellsof(ft->results[i]);
    if (pc + lc > WM_TR_MAX_FRAME_CELLS || rc > WM_TR_MAX_FRAME_CELLS) {
        rerr(&t, "too many locals to translate");
        tr_free(&t);
        return false;
    }
    t.nlocals_total = ft->nparams + fd->nlocals;
    collect_consts(&t);
    t.stack_base = (uint32_t)(pc + lc + t.nk);
    {
        t.local_slot = malloc(((size_t)t.nlocals_total + 1) * sizeof(uint32_t));
        t.pend = calloc((size_t)t.nlocals_total + 1, sizeof(uint32_t));
        t.lwrite = calloc((size_t)t.stack_base + 1, sizeof(uint32_t));
        if (!t.local_slot || !t.pend || !t.lwrite) {
            rerr(&t, "out of memory");
            tr_free(&t);
            return false;
        }
        uint32_t s = 0;
        for (uint32_t i = 0; i < t.nlocals_total; i++) {
            t.local_slot[i] = s;
            s += cellsof(local_type(&t, i));
        }
    }

    /* the function's own frame */
    if (!nest_push(&t, N_BLOCK) || !push_ctrl(&t, K_FUNC, 0, NULL, ft->nresults, ft->results)) {
        tr_free(&t);
        return false;
    }

    while (!t.done) {
        instr in;
        t.cur = NULL;
        if (!decode_instr(&t, &in)) break;   /* malformed (or resource): *err is set */
        if (!t.failed) {
            t.cur = &in;
            t.cur_off = fd->body_offset + in.pos;
            validate_emit(&t, &in);
            /* after control flow and calls the code may be entered by a jump or a return: the
             * superinstruction peepholes must not merge across this point */
            if (in.op >= 0x02 && in.op <= 0x11) t.label_pc = t.nops;
        }
        if (t.fatal) break;
    }

    if (!t.fatal && !t.failed && t.need_datacount)
        merr(&t, t.datacount_pos, "data count section required");
    if (t.fatal || t.failed) {
        tr_free(&t);
        return false;
    }

    wm_code *code = &fd->code;
    code->ops = t.ops;
    code->nops = t.nops;
    code->src_offsets = t.srcoff;
    t.ops = t.srcoff = NULL;
    code->param_cells = (uint32_t)pc;
    code->local_cells = (uint32_t)lc;
    code->result_cells = (uint32_t)rc;
    code->consts = t.kvals;
    code->nconsts = t.nk;
    t.kvals = NULL;
    uint64_t fc = (uint64_t)t.stack_base + t.max_cells;
    if (fc < rc) fc = rc;
    code->frame_cells = (uint32_t)fc;
    tr_free(&t);
    return true;
}

void wm_code_free(wm_code *code)
{
    if (!code) return;
    free(code->consts);
    free(code->ops);
    free(code->src_offsets);
    memset(code, 0, sizeof *code);
}
