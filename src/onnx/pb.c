/* pb.c — protocol-buffer wire-format decoding primitives (varints, tags, length-delimited fields). */
#include "pb.h"

#include <stdio.h>

pb_reader pb_reader_init(const uint8_t *base, size_t len) {
  pb_reader r = {base, 0, len};
  return r;
}

pb_reader pb_sub(const pb_reader *r, const pb_field *f) {
  pb_reader s = {r->base, f->off, f->off + f->len};
  return s;
}

int pb_read_varint(pb_reader *r, uint64_t *v, pb_error *err) {
  uint64_t x = 0;
  size_t start = r->pos;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->pos >= r->end) {
      snprintf(err->msg, sizeof err->msg, "truncated varint");
      err->off = start;
      return -1;
    }
    uint8_t b = r->base[r->pos++];
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  snprintf(err->msg, sizeof err->msg, "varint longer than 10 bytes");
  err->off = start;
  return -1;
}

int pb_next(pb_reader *r, pb_field *f, pb_error *err) {
  if (r->pos >= r->end) return 0;
  f->tag_off = r->pos;
  uint64_t tag;
  if (pb_read_varint(r, &tag, err)) return -1;
  f->num = (uint32_t)(tag >> 3);
  f->wire = (int)(tag & 7);
  if (f->num == 0 || (tag >> 3) > 0x1fffffff) {
    snprintf(err->msg, sizeof err->msg, "invalid field number %llu", (unsigned long long)(tag >> 3));
    err->off = f->tag_off;
    return -1;
  }
  switch (f->wire) {
  case PB_VARINT:
    return pb_read_varint(r, &f->u, err) ? -1 : 1;
  case PB_I64:
  case PB_I32: {
    size_t n = f->wire == PB_I64 ? 8 : 4;
    if (r->end - r->pos < n) {
      snprintf(err->msg, sizeof err->msg, "truncated fixed%zu field %u", n * 8, f->num);
      err->off = f->tag_off;
      return -1;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x |= (uint64_t)r->base[r->pos + i] << (8 * i);
    f->u = x;
    r->pos += n;
    return 1;
  }
  case PB_LEN: {
    uint64_t len;
    if (pb_read_varint(r, &len, err)) return -1;
    if (len > r->end - r->pos) {
      snprintf(err->msg, sizeof err->msg, "field %u length %llu exceeds the %zu bytes left", f->num,
               (unsigned long long)len, r->end - r->pos);
      err->off = f->tag_off;
      return -1;
    }
    f->off = r->pos;
    f->len = (size_t)len;
    r->pos += (size_t)len;
    return 1;
  }
  default:
    snprintf(err->msg, sizeof err->msg, "unsupported wire type %d for field %u", f->wire, f->num);
    err->off = f->tag_off;
    return -1;
  }
}

int pb_packed_count_varints(const pb_reader *r, const pb_field *f, size_t *count, pb_error *err) {
  pb_reader s = pb_sub(r, f);
  size_t n = 0;
  uint64_t v;
  while (s.pos < s.end) {
    if (pb_read_varint(&s, &v, err)) return -1;
    n++;
  }
  *count = n;
  return 0;
}
