/* ir.h — the interpreter's internal code: the contract between the load-time translator
 * (translate.c, which emits it once) and the interpreter loop (exec.c, which runs it). */
#ifndef WM_IR_H
#define WM_IR_H

#include <stdint.h>

/*
 * MACHINE MODEL
 * A function runs on a frame of 8-byte cells, `uint64_t *fp`. Every value lives in a slot
 * named by its cell offset from fp: i32/i64/f32/f64/funcref/externref take one cell, v128 takes
 * two consecutive cells (16 bytes, only 8-byte aligned). i32 values are stored in the low
 * 32 bits of a cell (upper 32 bits unspecified); f32 as its bit pattern in the low 32 bits;
 * references as pointer-sized values (funcref = wm_func*, NULL = null; externref = void*).
 *
 *   fp[0 .. param_cells)                      parameters, in order
 *   fp[param_cells .. +local_cells)           declared locals, zeroed on entry by exec
 *   fp[param_cells+local_cells .. frame_cells) operand stack: a value at static stack height h
 *                                             (in cells) lives at slot param_cells+local_cells+h
 *
 * Results are returned in fp[0 .. result_cells). Calls: the caller puts arguments at
 * fp[base ..] (consecutive, like the operand stack) and the callee's frame starts at fp+base;
 * after the call the results are at fp[base ..].
 *
 * ENCODING
 * Code is an array of uint32_t words. Each instruction is its opcode word followed by operand
 * words. Slot operands are cell offsets from fp. "target" operands are absolute word indices
 * into the function's code array. The translator may name any slot as an operand (e.g. a local
 * slot directly instead of a copy), and dst may equal a source: exec must read all operands
 * before writing dst.
 *
 * OPCODE NUMBERING
 *   0x000-0x0FF  single-byte wasm opcodes, same number   (e.g. 0x6A i32.add)
 *   0x100+n      wasm 0xFC n                              (e.g. 0x10A memory.copy)
 *   0x200+n      wasm 0xFD n (SIMD128)                    (e.g. 0x2AE i32x4.add)
 *   0x300+       IR-only operations (enum below)
 * Only the numeric/memory/table/ref opcodes appear; control flow, locals, drop and nop are
 * translated into IR-only ops (or nothing).
 *
 * OPERAND FORMATS, by wasm opcode (memarg alignment is dropped; offset is a u32 word)
 *   i32.const 0x41        [op, dst, imm]
 *   i64.const 0x42        [op, dst, lo, hi]
 *   f32.const 0x43        [op, dst, bits]
 *   f64.const 0x44        [op, dst, lo, hi]
 *   v128.const 0x20C      [op, dst, w0, w1, w2, w3]      (little-endian bytes 0..15)
 *   unary: i32.eqz, clz/ctz/popcnt, f.abs/neg/sqrt/ceil/floor/trunc/nearest, all conversions
 *     (0xA7-0xBF), sign-extension 0xC0-0xC4, trunc_sat 0x100-0x107, ref.is_null 0xD1, and SIMD
 *     unary ops (splats, not, abs, neg, popcnt, sqrt, ceil/floor/trunc/nearest, any_true,
 *     all_true, bitmask, extend_low/high, extadd_pairwise, convert, trunc_sat, demote, promote)
 *                         [op, dst, a]
 *   binary: all relops/binops (0x46-0x66 compares that take two, 0x6A-0x8A, 0x92-0xA6) and SIMD
 *     binary ops (compares, and/andnot/or/xor, add/sub/mul, min/max, avgr, shifts (count is
 *     an i32 slot), narrow, swizzle, q15mulr_sat, extmul, dot, div, pmin/pmax)
 *                         [op, dst, a, b]
 *   v128.bitselect 0x252  [op, dst, a, b, mask]
 *   select 0x1B           [op, dst, a, b, cond]  one-cell values; cond is i32 (a if cond != 0)
 *   loads 0x28-0x35, v128.load 0x200, v128.load8x8_s..load32x2_u 0x201-0x206,
 *     load8/16/32/64_splat 0x207-0x20A, load32_zero 0x25C, load64_zero 0x25D
 *                         [op, dst, addr, offset]   effective address = (u64)(u32)addr + offset
 *   stores 0x36-0x3E, v128.store 0x20B
 *                         [op, addr, value, offset]
 *   v128.load8/16/32/64_lane 0x254-0x257   [op, dst, addr, vec, offset, lane]
 *   v128.store8/16/32/64_lane 0x258-0x25B  [op, addr, vec, offset, lane]
 *   extract_lane (0x215,0x216,0x218,0x219,0x21B,0x21D,0x21F,0x221)  [op, dst, vec, lane]
 *   replace_lane (0x217,0x21A,0x21C,0x21E,0x220,0x222)                [op, dst, vec, x, lane]
 *   i8x16.shuffle 0x20D   [op, dst, a, b, w0, w1, w2, w3]  (16 lane bytes, little-endian)
 *   memory.size 0x3F      [op, dst]
 *   memory.grow 0x40      [op, dst, delta]
 *   memory.init 0x108     [op, dataidx, d, s, n]
 *   data.drop 0x109       [op, dataidx]
 *   memory.copy 0x10A     [op, d, s, n]
 *   memory.fill 0x10B     [op, d, val, n]
 *   table.init 0x10C      [op, elemidx, tableidx, d, s, n]
 *   elem.drop 0x10D       [op, elemidx]
 *   table.copy 0x10E      [op, dsttable, srctable, d, s, n]
 *   table.grow 0x10F      [op, tableidx, dst, init, n]    dst gets old size or -1
 *   table.size 0x110      [op, tableidx, dst]
 *   table.fill 0x111      [op, tableidx, i, ref, n]
 *   table.get 0x25        [op, tableidx, dst, i]
 *   table.set 0x26        [op, tableidx, i, ref]
 *   global.get 0x23       [op, dst, globalidx]    one-cell globals
 *   global.set 0x24       [op, globalidx, src]
 *   ref.null 0xD0         [op, dst]
 *   ref.func 0xD2         [op, dst, funcidx]
 *   unreachable 0x00      [op]
 */

enum wm_ir_op {
    IR_COPY = 0x300,        /* [op, dst, src]           one cell */
    IR_COPY_V128,           /* [op, dst, src]           two cells */
    IR_BR,                  /* [op, target]  (every taken backward branch -- a loop's back edge --
                               costs one unit of fuel, see exec.c; loop headers have no code) */
    IR_BR_IF,               /* [op, cond, target]       jump if i32 cond != 0 */
    IR_BR_UNLESS,           /* [op, cond, target]       jump if i32 cond == 0 */
    IR_BR_TABLE,            /* [op, idx, count, t_0 .. t_{count-1}, t_default] */
    IR_RETURN,              /* [op]                     results already in fp[0..result_cells) */
    IR_CALL,                /* [op, funcidx, base]      funcidx in the instance's index space */
    IR_CALL_INDIRECT,       /* [op, typeidx, tableidx, base, idx]  idx: i32 slot of the table index */
    IR_SELECT_V128,         /* [op, dst, a, b, cond] */
    IR_GLOBAL_GET_V128,     /* [op, dst, globalidx] */
    IR_GLOBAL_SET_V128,     /* [op, globalidx, src] */
    /* Compare-and-branch: an i32 comparison fused with the br_if/if that consumes it, which
     * saves a dispatch per loop iteration. [op, a, b, target]: jump if (a REL b). */
    IR_BR_I32_EQ, IR_BR_I32_NE, IR_BR_I32_LT_S, IR_BR_I32_LT_U, IR_BR_I32_GT_S,
    IR_BR_I32_GT_U, IR_BR_I32_LE_S, IR_BR_I32_LE_U, IR_BR_I32_GE_S, IR_BR_I32_GE_U,
    /* Loads whose address is an i32.add of two slots (base + index, the usual array access),
     * fused into one dispatch: [op, dst, a, b, offset], address = (u32)(a + b) + offset.
     * IR_LDX_0x28 + k is the fused form of wasm load 0x28 + k (k = 0..13). */
    IR_LDX_0x28, IR_LDX_0x29, IR_LDX_0x2A, IR_LDX_0x2B, IR_LDX_0x2C, IR_LDX_0x2D, IR_LDX_0x2E,
    IR_LDX_0x2F, IR_LDX_0x30, IR_LDX_0x31, IR_LDX_0x32, IR_LDX_0x33, IR_LDX_0x34, IR_LDX_0x35,
    IR_LDX_V128,
    /* Stores whose address is an i32.add of two slots: [op, a, b, value, offset], address =
     * (u32)(a + b) + offset. IR_STX_0x36 + k is the fused form of wasm store 0x36 + k (k = 0..8). */
    IR_STX_0x36, IR_STX_0x37, IR_STX_0x38, IR_STX_0x39, IR_STX_0x3A, IR_STX_0x3B, IR_STX_0x3C,
    IR_STX_0x3D, IR_STX_0x3E,
    IR_STX_V128,
    /* SIMD superinstructions: sequences the wasm SIMD compilers emit for operations SIMD128 lacks,
     * each recognised by translate.c and run as one dispatch.
     *   IR_F32_CVT_U8LANE [op, dst, vec, lane]  f32 = (float)vec.u8[lane]
     *       (i8x16.extract_lane_u + f32.convert_i32_s/u)
     *   IR_F32X4_U8LANES  [op, dst, vec, n]     n = 1..4: lane i = (float)vec.u8[i < n ? i : 0]
     *       (f32x4.splat of the above for lane 0, then f32x4.replace_lane i of it for lanes
     *       1 .. n-1: the per-lane u8 -> f32 conversion of a byte vector)
     *   IR_I32X4_EXTEND8_S [op, dst, vec, k]    k = 0..12: lane i = (int32)vec.i8[k + i]
     *       (i8x16.shuffle moving bytes k..k+3 to the low byte of each i32 lane, then
     *       i32x4.shl 24, i32x4.shr_s 24: sign-extension of 4 bytes)
     *   IR_LD_I8X4_S  [op, dst, addr, offset, width]      the 4 bytes at the address, sign-extended
     *   IR_LDX_I8X4_S [op, dst, a, b, offset, width]      to i32 lanes; the bounds check covers
     *       `width` bytes, as the load it replaces did (a 32-bit load, load32_splat, load64_zero..)
     *   IR_LDX_SPLAT32 [op, dst, a, b, offset]             v128.load32_splat at (u32)(a + b) + offset
     *   IR_LDX_LANE32  [op, dst, a, b, vec, offset, lane]  v128.load32_lane at (u32)(a + b) + offset
     *       (also i32/f32.load + i32x4/f32x4.replace_lane) */
    IR_F32_CVT_U8LANE, IR_F32X4_U8LANES, IR_I32X4_EXTEND8_S, IR_LD_I8X4_S, IR_LDX_I8X4_S,
    IR_LDX_SPLAT32, IR_LDX_LANE32,
    /* Float vector add/mul whose second operand is loaded from memory (v128.load just before):
     *   *_LD  [op, dst, a, addr, offset]      b = the 16 bytes at (u32)addr + offset
     *   *_LDX [op, dst, a, x, y, offset]      b = the 16 bytes at (u32)(x + y) + offset
     * and the accumulate-into-memory form `v128.load p; add; v128.store p` (same address):
     *   IR_F32X4_ADD_TO_MEM  [op, addr, a, offset]     mem = a + mem
     *   IR_F32X4_ADD_TO_MEMX [op, x, y, a, offset] */
    IR_F32X4_ADD_LD, IR_F32X4_MUL_LD, IR_F64X2_ADD_LD, IR_F64X2_MUL_LD,
    IR_F32X4_ADD_LDX, IR_F32X4_MUL_LDX, IR_F64X2_ADD_LDX, IR_F64X2_MUL_LDX,
    IR_F32X4_ADD_TO_MEM, IR_F64X2_ADD_TO_MEM, IR_F32X4_ADD_TO_MEMX, IR_F64X2_ADD_TO_MEMX,
    IR_OP_COUNT
};

#endif
