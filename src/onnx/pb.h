/* pb.h — minimal zero-copy protocol-buffer wire-format reader used to decode ONNX files.
 * Every read is bounds-checked; offsets are absolute within the original buffer so errors can name them. */
#ifndef WASMIND_ONNX_PB_H
#define WASMIND_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

typedef struct pb_reader {
  const uint8_t *base; /* start of the whole buffer (offsets are relative to it) */
  size_t pos, end;
} pb_reader;

typedef struct pb_field {
  uint32_t num;
  int wire;
  uint64_t u;        /* VARINT value, or raw bits of I32/I64 */
  size_t off, len;   /* LEN payload location */
  size_t tag_off;    /* where the field's tag starts, for error messages */
} pb_field;

typedef struct pb_error {
  char msg[256];
  size_t off;
} pb_error;

pb_reader pb_reader_init(const uint8_t *base, size_t len);
/* Sub-reader over a LEN field's payload. */
pb_reader pb_sub(const pb_reader *r, const pb_field *f);
/* 1 = field read, 0 = end of message, -1 = malformed (err filled). */
int pb_next(pb_reader *r, pb_field *f, pb_error *err);
int pb_read_varint(pb_reader *r, uint64_t *v, pb_error *err);

/* Decoders for repeated scalar fields, accepting both packed (LEN) and unpacked encodings.
 * `count` returns how many elements this one field occurrence holds; values appended via callback-free
 * helpers in model.c. */
int pb_packed_count_varints(const pb_reader *r, const pb_field *f, size_t *count, pb_error *err);

static inline float pb_f32(uint64_t bits) {
  union { uint32_t u; float f; } c;
  c.u = (uint32_t)bits;
  return c.f;
}
static inline double pb_f64(uint64_t bits) {
  union { uint64_t u; double d; } c;
  c.u = bits;
  return c.d;
}

#endif
