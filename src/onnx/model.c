/* model.c — decodes ONNX ModelProto/GraphProto/NodeProto/AttributeProto/TensorProto/ValueInfoProto from a
 * (possibly mmap'ed) buffer. Weights stay in place when aligned; external-data files are mapped read-only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_ir.h"
#include "pb.h"

#if defined(__wasi__)
/* Debian's wasi-libc has no realpath; the web build supplies one (web/wasi_shim.c). */
char *realpath(const char *restrict path, char *restrict resolved);
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX reader assumes a little-endian host (raw_data is little-endian)"
#endif

#define MAX_GRAPH_DEPTH 32

/* ---- arena ---- */
struct onnx_arena_block {
  onnx_arena_block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

void *arena_alloc(onnx_arena *a, size_t n) {
  if (n > SIZE_MAX / 2) return NULL;
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  onnx_arena_block *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  memset(p, 0, n);
  return p;
}

char *arena_strndup(onnx_arena *a, const void *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (p) {
    if (n) memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

void arena_free(onnx_arena *a) {
  onnx_arena_block *b = a->head;
  while (b) {
    onnx_arena_block *n = b->next;
    free(b);
    b = n;
  }
  a->head = NULL;
}

/* ---- parse context ---- */
typedef struct pctx {
  onnx_model_ir *m; /* NULL when parsing a standalone tensor (then all data is copied) */
  onnx_arena *arena;
  const uint8_t *buf;
  char *err;
  size_t errlen;
  int depth;
  int unsupported; /* set when the failure is a valid-but-unsupported construct */
} pctx;

static int fail(pctx *pc, size_t off, const char *fmt, ...) {
  if (!pc->err || !pc->errlen) return -1;
  int n = snprintf(pc->err, pc->errlen, "byte %zu: ", off);
  if (n < 0 || (size_t)n >= pc->errlen) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pc->err + n, pc->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

static int fail_pb(pctx *pc, const pb_error *e, const char *what) {
  return fail(pc, e->off, "%s: %s", what, e->msg);
}

int onnx_ir_own(onnx_model_ir *m, void *p) {
  if (m->nowned == m->capowned) {
    int cap = m->capowned ? m->capowned * 2 : 16;
    void **n = realloc(m->owned, (size_t)cap * sizeof *n);
    if (!n) return -1;
    m->owned = n;
    m->capowned = cap;
  }
  m->owned[m->nowned++] = p;
  return 0;
}

static int remember_owned(pctx *pc, void *p) { return pc->m ? onnx_ir_own(pc->m, p) : 0; }

static char *dup_field(pctx *pc, const pb_field *f) {
  return arena_strndup(pc->arena, pc->buf + f->off, f->len);
}

size_t wm_onnx_dtype_size(wm_onnx_dtype t) {
  switch (t) {
  case WM_ONNX_FLOAT: case WM_ONNX_INT32: case WM_ONNX_UINT32: return 4;
  case WM_ONNX_UINT8: case WM_ONNX_INT8: case WM_ONNX_BOOL: return 1;
  case WM_ONNX_FLOAT8E4M3FN: case WM_ONNX_FLOAT8E4M3FNUZ: case WM_ONNX_FLOAT8E5M2: case WM_ONNX_FLOAT8E5M2FNUZ: return 1;
  case WM_ONNX_UINT4: case WM_ONNX_INT4: return 1; /* unpacked, see onnx.h */
  case WM_ONNX_UINT16: case WM_ONNX_INT16: case WM_ONNX_FLOAT16: case WM_ONNX_BFLOAT16: return 2;
  case WM_ONNX_INT64: case WM_ONNX_DOUBLE: case WM_ONNX_UINT64: return 8;
  default: return 0;
  }
}

const char *wm_onnx_dtype_name(wm_onnx_dtype t) {
  static const char *names[] = {"undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                "string", "bool", "float16", "float64", "uint32", "uint64"};
  if ((unsigned)t < sizeof names / sizeof names[0]) return names[t];
  switch ((int)t) {
  case 14: return "complex64";
  case 15: return "complex128";
  case 16: return "bfloat16";
  case 17: return "float8e4m3fn";
  case 18: return "float8e4m3fnuz";
  case 19: return "float8e5m2";
  case 20: return "float8e5m2fnuz";
  case 21: return "uint4";
  case 22: return "int4";
  case 23: return "float4";
  default: return "unknown";
  }
}

int64_t wm_onnx_numel(const wm_onnx_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
  return n;
}

/* ---- external data ---- */
static int path_escapes(const char *loc) {
  if (!*loc || loc[0] == '/') return 1;
  const char *p = loc;
  while (*p) {
    const char *q = strchr(p, '/');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return 1;
    if (!q) break;
    p = q + 1;
  }
  return 0;
}

static int map_external(pctx *pc, size_t off, const char *loc, const uint8_t **data, size_t *size) {
  onnx_model_ir *m = pc->m;
  if (!m || !m->base_dir) return fail(pc, off, "external data '%s' needs the model's directory (load from a file)", loc);
  if (path_escapes(loc)) return fail(pc, off, "external data location '%s' escapes the model directory", loc);
  for (int i = 0; i < m->nmaps; i++)
    if (!strcmp(m->maps[i].path, loc)) {
      *data = m->maps[i].addr;
      *size = m->maps[i].len;
      return 0;
    }
  size_t bl = strlen(m->base_dir), ll = strlen(loc);
  char *full = malloc(bl + ll + 2);
  if (!full) return fail(pc, off, "out of memory");
  memcpy(full, m->base_dir, bl);
  full[bl] = '/';
  memcpy(full + bl + 1, loc, ll + 1);
  /* symlinks could still point outside: compare canonical paths */
  char rbase[PATH_MAX], rfull[PATH_MAX];
  if (!realpath(m->base_dir, rbase) || !realpath(full, rfull)) {
    int e = errno;
    free(full);
    return fail(pc, off, "external data '%s': %s", loc, strerror(e));
  }
  size_t rl = strlen(rbase);
  if (strncmp(rfull, rbase, rl) != 0 || (rfull[rl] != '/' && !(rl == 1 && rbase[0] == '/'))) {
    free(full);
    return fail(pc, off, "external data '%s' resolves outside the model directory", loc);
  }
  int fd = open(rfull, O_RDONLY | O_CLOEXEC);
  free(full);
  if (fd < 0) return fail(pc, off, "external data '%s': %s", loc, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail(pc, off, "external data '%s' is not a regular file", loc);
  }
  void *addr = NULL;
  size_t len = (size_t)st.st_size;
  if (len) {
    addr = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      close(fd);
      return fail(pc, off, "external data '%s': mmap: %s", loc, strerror(errno));
    }
  }
  close(fd);
  if (m->nmaps == m->capmaps) {
    int cap = m->capmaps ? m->capmaps * 2 : 4;
    onnx_mapping *n = realloc(m->maps, (size_t)cap * sizeof *n);
    if (!n) {
      if (addr) munmap(addr, len);
      return fail(pc, off, "out of memory");
    }
    m->maps = n;
    m->capmaps = cap;
  }
  m->maps[m->nmaps].addr = addr;
  m->maps[m->nmaps].len = len;
  m->maps[m->nmaps].path = strdup(loc);
  m->nmaps++;
  *data = addr;
  *size = len;
  return 0;
}

/* ---- TensorProto ---- */
enum {
  TP_DIMS = 1, TP_DATA_TYPE = 2, TP_SEGMENT = 3, TP_FLOAT = 4, TP_INT32 = 5, TP_STRING = 6, TP_INT64 = 7,
  TP_NAME = 8, TP_RAW = 9, TP_DOUBLE = 10, TP_UINT64 = 11, TP_EXTERNAL = 13, TP_LOCATION = 14,
};

static int typed_field_for(int dtype) {
  switch (dtype) {
  case WM_ONNX_FLOAT: return TP_FLOAT;
  case WM_ONNX_INT32: case WM_ONNX_INT16: case WM_ONNX_INT8: case WM_ONNX_UINT16: case WM_ONNX_UINT8:
  case WM_ONNX_BOOL: case WM_ONNX_FLOAT16: case WM_ONNX_BFLOAT16: case WM_ONNX_FLOAT8E4M3FN:
  case WM_ONNX_FLOAT8E4M3FNUZ: case WM_ONNX_FLOAT8E5M2: case WM_ONNX_FLOAT8E5M2FNUZ: case WM_ONNX_UINT4:
  case WM_ONNX_INT4: return TP_INT32;
  case WM_ONNX_STRING: return TP_STRING;
  case WM_ONNX_INT64: return TP_INT64;
  case WM_ONNX_DOUBLE: return TP_DOUBLE;
  case WM_ONNX_UINT32: case WM_ONNX_UINT64: return TP_UINT64;
  default: return 0;
  }
}

static void store_int(void *dst, size_t i, int dtype, uint64_t v) {
  switch (dtype) {
  case WM_ONNX_INT32: case WM_ONNX_UINT32: ((uint32_t *)dst)[i] = (uint32_t)v; break;
  case WM_ONNX_INT16: case WM_ONNX_UINT16: case WM_ONNX_FLOAT16: case WM_ONNX_BFLOAT16:
    ((uint16_t *)dst)[i] = (uint16_t)v;
    break;
  case WM_ONNX_INT8: case WM_ONNX_UINT8: case WM_ONNX_FLOAT8E4M3FN: case WM_ONNX_FLOAT8E4M3FNUZ:
  case WM_ONNX_FLOAT8E5M2: case WM_ONNX_FLOAT8E5M2FNUZ: case WM_ONNX_UINT4: case WM_ONNX_INT4:
    ((uint8_t *)dst)[i] = (uint8_t)v;
    break;
  case WM_ONNX_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
  default: ((uint64_t *)dst)[i] = v; break;
  }
}

/* Counts (dst == NULL) or decodes elements of one occurrence of a typed repeated field. */
static int decode_typed(pctx *pc, const pb_reader *r, const pb_field *f, int dtype, void *dst, size_t *count,
                        size_t cap, const char *what) {
  int fixed = f->num == TP_FLOAT ? 4 : f->num == TP_DOUBLE ? 8 : 0;
  pb_error pe;
  if (f->wire == PB_LEN) {
    if (fixed) {
      if (f->len % (size_t)fixed) return fail(pc, f->off, "%s: packed field %u length %zu not a multiple of %d", what, f->num, f->len, fixed);
      size_t n = f->len / (size_t)fixed;
      if (dst) {
        if (*count + n > cap) return fail(pc, f->off, "%s: too many values", what);
        memcpy((char *)dst + *count * (size_t)fixed, pc->buf + f->off, f->len);
      }
      *count += n;
      return 0;
    }
    pb_reader s = pb_sub(r, f);
    while (s.pos < s.end) {
      uint64_t v;
      if (pb_read_varint(&s, &v, &pe)) return fail_pb(pc, &pe, what);
      if (dst) {
        if (*count >= cap) return fail(pc, f->off, "%s: too many values", what);
        store_int(dst, *count, dtype, v);
      }
      (*count)++;
    }
    return 0;
  }
  int want = fixed == 4 ? PB_I32 : fixed == 8 ? PB_I64 : PB_VARINT;
  if (f->wire != want) return fail(pc, f->tag_off, "%s: field %u has wire type %d", what, f->num, f->wire);
  if (dst) {
    if (*count >= cap) return fail(pc, f->tag_off, "%s: too many values", what);
    if (fixed == 4) {
      uint32_t b = (uint32_t)f->u;
      memcpy((char *)dst + *count * 4, &b, 4);
    } else if (fixed == 8) {
      memcpy((char *)dst + *count * 8, &f->u, 8);
    } else {
      store_int(dst, *count, dtype, f->u);
    }
  }
  (*count)++;
  return 0;
}

/* INT4/UINT4 are serialized two per byte, low nibble first; memory holds one element per byte. */
static void unpack4(uint8_t *dst, const uint8_t *src, size_t n, int is_signed) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = (src[i / 2] >> (4 * (i & 1))) & 0xFu;
    dst[i] = (uint8_t)(is_signed && (v & 8u) ? v | 0xF0u : v);
  }
}

/* Parses a TensorProto. `copy` forces data to be owned by the tensor (standalone .pb files). */
static int parse_tensor(pctx *pc, pb_reader r, wm_onnx_tensor *t, const char **name_out, const char *what, int copy) {
  memset(t, 0, sizeof *t);
  pb_reader r0 = r;
  pb_field f;
  pb_error pe;
  int dtype = 0, rc, have_raw = 0, external = 0;
  size_t raw_off = 0, raw_len = 0, start = r.pos;
  const char *name = "";
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    switch (f.num) {
    case TP_DIMS: {
      if (f.wire == PB_LEN) {
        pb_reader s = pb_sub(&r, &f);
        while (s.pos < s.end) {
          uint64_t v;
          if (pb_read_varint(&s, &v, &pe)) return fail_pb(pc, &pe, what);
          if (t->ndim >= WM_ONNX_MAX_DIMS) return fail(pc, f.off, "%s: more than %d dims", what, WM_ONNX_MAX_DIMS);
          t->dims[t->ndim++] = (int64_t)v;
        }
      } else if (f.wire == PB_VARINT) {
        if (t->ndim >= WM_ONNX_MAX_DIMS) return fail(pc, f.tag_off, "%s: more than %d dims", what, WM_ONNX_MAX_DIMS);
        t->dims[t->ndim++] = (int64_t)f.u;
      } else {
        return fail(pc, f.tag_off, "%s: dims has wire type %d", what, f.wire);
      }
      break;
    }
    case TP_DATA_TYPE: dtype = (int)(int64_t)f.u; break;
    case TP_NAME:
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s: name is not a string", what);
      name = dup_field(pc, &f);
      if (!name) return fail(pc, f.off, "out of memory");
      break;
    case TP_RAW:
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s: raw_data is not bytes", what);
      have_raw = 1;
      raw_off = f.off;
      raw_len = f.len;
      break;
    case TP_LOCATION: external = f.u == 1; break;
    case TP_SEGMENT: return fail(pc, f.tag_off, "%s: segmented tensors are not supported", what);
    default: break;
    }
  }
  if (rc < 0) return fail_pb(pc, &pe, what);
  if (name_out) *name_out = name;
  t->dtype = (wm_onnx_dtype)dtype;
  size_t esize = wm_onnx_dtype_size(t->dtype);
  if (dtype == WM_ONNX_STRING) {
    /* strings are accepted structurally (shape only) but carry no numeric data */
    return 0;
  }
  if (!esize) pc->unsupported = 1;
  if (!esize) return fail(pc, start, "%s ('%s'): unsupported tensor data type %d (%s)", what, name, dtype,
                          wm_onnx_dtype_name(t->dtype));
  uint64_t numel = 1;
  for (int i = 0; i < t->ndim; i++) {
    if (t->dims[i] < 0) return fail(pc, start, "%s ('%s'): negative dimension %lld", what, name, (long long)t->dims[i]);
    if (t->dims[i] && numel > (UINT64_MAX / 16) / (uint64_t)t->dims[i])
      return fail(pc, start, "%s ('%s'): element count overflows", what, name);
    numel *= (uint64_t)t->dims[i];
  }
  if (numel > SIZE_MAX / 16) return fail(pc, start, "%s ('%s'): tensor too large", what, name);
  size_t nbytes = (size_t)numel * esize;
  t->nbytes = nbytes;
  int packed4 = dtype == WM_ONNX_INT4 || dtype == WM_ONNX_UINT4;
  size_t stored = packed4 ? ((size_t)numel + 1) / 2 : nbytes; /* bytes of the serialized form */

  const uint8_t *src = NULL;
  if (external) {
    const char *loc = NULL;
    uint64_t xoff = 0, xlen = UINT64_MAX;
    r = r0;
    while ((rc = pb_next(&r, &f, &pe)) > 0) {
      if (f.num != TP_EXTERNAL || f.wire != PB_LEN) continue;
      pb_reader s = pb_sub(&r, &f);
      pb_field g;
      const char *key = NULL, *val = NULL;
      size_t voff = f.off;
      int rc2;
      while ((rc2 = pb_next(&s, &g, &pe)) > 0) {
        if (g.wire != PB_LEN) continue;
        if (g.num == 1) key = dup_field(pc, &g);
        if (g.num == 2) { val = dup_field(pc, &g); voff = g.off; }
      }
      if (rc2 < 0) return fail_pb(pc, &pe, what);
      if (!key || !val) continue;
      char *endp;
      if (!strcmp(key, "location")) loc = val;
      else if (!strcmp(key, "offset") || !strcmp(key, "length")) {
        errno = 0;
        unsigned long long v = strtoull(val, &endp, 10);
        if (errno || *endp || !*val || val[0] == '-') return fail(pc, voff, "%s ('%s'): bad external data %s '%s'", what, name, key, val);
        if (key[0] == 'o') xoff = v; else xlen = v;
      }
    }
    if (rc < 0) return fail_pb(pc, &pe, what);
    if (!loc) return fail(pc, start, "%s ('%s'): external data without a location", what, name);
    const uint8_t *fdata;
    size_t fsize;
    if (map_external(pc, start, loc, &fdata, &fsize)) return -1;
    if (xlen == UINT64_MAX) xlen = stored;
    if (xlen != stored) return fail(pc, start, "%s ('%s'): external length %llu, expected %zu bytes", what, name, (unsigned long long)xlen, stored);
    if (xoff > fsize || xlen > fsize - xoff)
      return fail(pc, start, "%s ('%s'): external range [%llu, +%llu) exceeds '%s' (%zu bytes)", what, name,
                  (unsigned long long)xoff, (unsigned long long)xlen, loc, fsize);
    src = fdata + xoff;
  } else if (have_raw) {
    if (raw_len != stored)
      return fail(pc, raw_off, "%s ('%s'): raw_data holds %zu bytes, shape and type need %zu", what, name, raw_len, stored);
    src = pc->buf + raw_off;
  }
  if (src) {
    if (!copy && !packed4 && ((uintptr_t)src % esize) == 0) {
      t->data = (void *)src;
      return 0;
    }
    /* misaligned or standalone: copy so kernels can use typed loads */
    t->data = malloc(nbytes ? nbytes : 1);
    if (!t->data) return fail(pc, start, "out of memory (%zu bytes)", nbytes);
    wm_prefault(t->data, nbytes);
    if (packed4) unpack4(t->data, src, nbytes, dtype == WM_ONNX_INT4);
    else if (nbytes) memcpy(t->data, src, nbytes);
    if (copy) t->flags |= WM_ONNX_TENSOR_OWNED;
    else if (remember_owned(pc, t->data)) { free(t->data); t->data = NULL; return fail(pc, start, "out of memory"); }
    return 0;
  }
  /* typed repeated fields */
  int tf = typed_field_for(dtype);
  size_t count = 0;
  r = r0;
  while ((rc = pb_next(&r, &f, &pe)) > 0)
    if ((int)f.num == tf && decode_typed(pc, &r, &f, dtype, NULL, &count, 0, what)) return -1;
  if (rc < 0) return fail_pb(pc, &pe, what);
  if (count == 0 && numel > 0) return fail(pc, start, "%s ('%s'): no data for %llu elements", what, name, (unsigned long long)numel);
  if (packed4 ? count != stored : count != numel)
    return fail(pc, start, "%s ('%s'): %zu values for %llu elements", what, name, count, (unsigned long long)numel);
  size_t alloc = nbytes;
  /* int32_data/uint64_data are decoded straight into the element type; float/double are bit copies */
  t->data = calloc(1, alloc ? alloc : 1);
  if (!t->data) return fail(pc, start, "out of memory (%zu bytes)", alloc);
  if (copy) t->flags |= WM_ONNX_TENSOR_OWNED;
  else if (remember_owned(pc, t->data)) { free(t->data); t->data = NULL; return fail(pc, start, "out of memory"); }
  size_t done = 0;
  r = r0;
  uint8_t *pk = NULL;
  if (packed4 && !(pk = malloc(stored ? stored : 1))) return fail(pc, start, "out of memory (%zu bytes)", stored);
  while ((rc = pb_next(&r, &f, &pe)) > 0)
    if ((int)f.num == tf && decode_typed(pc, &r, &f, packed4 ? WM_ONNX_UINT8 : dtype, packed4 ? (void *)pk : t->data,
                                         &done, packed4 ? stored : numel, what)) {
      free(pk);
      return -1;
    }
  if (pk) unpack4(t->data, pk, nbytes, dtype == WM_ONNX_INT4);
  free(pk);
  return rc < 0 ? fail_pb(pc, &pe, what) : 0;
}

/* ---- ValueInfoProto / TypeProto ---- */
static int parse_value_info(pctx *pc, pb_reader r, onnx_value_info *vi) {
  pb_field f;
  pb_error pe;
  int rc;
  vi->name = "";
  vi->ndim = -1;
  vi->dtype = 0;
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    if (f.wire != PB_LEN) continue;
    if (f.num == 1) {
      if (!(vi->name = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
    } else if (f.num == 2) {
      pb_reader tr = pb_sub(&r, &f);
      pb_field g;
      int rc2;
      vi->dtype = -1; /* non-tensor unless a tensor_type is found */
      while ((rc2 = pb_next(&tr, &g, &pe)) > 0) {
        if (g.num != 1 || g.wire != PB_LEN) continue;
        vi->dtype = 0;
        pb_reader tt = pb_sub(&tr, &g);
        pb_field h;
        int rc3;
        while ((rc3 = pb_next(&tt, &h, &pe)) > 0) {
          if (h.num == 1 && h.wire == PB_VARINT) vi->dtype = (int)h.u;
          if (h.num == 2 && h.wire == PB_LEN) {
            vi->ndim = 0;
            pb_reader sr = pb_sub(&tt, &h);
            pb_field d;
            int rc4;
            while ((rc4 = pb_next(&sr, &d, &pe)) > 0) {
              if (d.num != 1 || d.wire != PB_LEN) continue;
              if (vi->ndim >= WM_ONNX_MAX_DIMS)
                return fail(pc, d.off, "value '%s': more than %d dims", vi->name, WM_ONNX_MAX_DIMS);
              int64_t dv = -1;
              const char *sym = NULL;
              pb_reader dr = pb_sub(&sr, &d);
              pb_field e;
              int rc5;
              while ((rc5 = pb_next(&dr, &e, &pe)) > 0) {
                if (e.num == 1 && e.wire == PB_VARINT) dv = (int64_t)e.u;
                if (e.num == 2 && e.wire == PB_LEN && e.len && !(sym = dup_field(pc, &e)))
                  return fail(pc, e.off, "out of memory");
              }
              if (rc5 < 0) return fail_pb(pc, &pe, "TensorShapeProto.Dimension");
              if (dv < 0) dv = -1; /* a dim_value past INT64_MAX is no number either */
              vi->syms[vi->ndim] = dv < 0 ? sym : NULL;
              vi->dims[vi->ndim++] = dv;
            }
            if (rc4 < 0) return fail_pb(pc, &pe, "TensorShapeProto");
          }
        }
        if (rc3 < 0) return fail_pb(pc, &pe, "TypeProto.Tensor");
      }
      if (rc2 < 0) return fail_pb(pc, &pe, "TypeProto");
    }
  }
  return rc < 0 ? fail_pb(pc, &pe, "ValueInfoProto") : 0;
}

/* ---- AttributeProto ---- */
static int parse_graph(pctx *pc, pb_reader r, onnx_graph *g);

static int parse_attr(pctx *pc, pb_reader r, onnx_attr *a, const onnx_node *n) {
  pb_reader r0 = r;
  pb_field f;
  pb_error pe;
  int rc, inferred = 0;
  size_t nf = 0, ni = 0, ns = 0, start = r.pos;
  a->name = "";
  char what[160];
  snprintf(what, sizeof what, "node '%s' (%s) attribute", n->name, n->op_type);
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    switch (f.num) {
    case 1:
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s: name is not a string", what);
      if (!(a->name = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
      break;
    case 20: a->type = (int)f.u; break;
    case 2:
      if (f.wire != PB_I32) return fail(pc, f.tag_off, "%s '%s': f has wire type %d", what, a->name, f.wire);
      a->f = pb_f32(f.u); inferred = ATTR_FLOAT; break;
    case 3:
      if (f.wire != PB_VARINT) return fail(pc, f.tag_off, "%s '%s': i has wire type %d", what, a->name, f.wire);
      a->i = (int64_t)f.u; inferred = ATTR_INT; break;
    case 4:
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s '%s': s is not bytes", what, a->name);
      if (!(a->s = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
      a->slen = f.len; inferred = ATTR_STRING; break;
    case 5:
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s '%s': t is not a message", what, a->name);
      if (!(a->t = arena_alloc(pc->arena, sizeof *a->t))) return fail(pc, f.off, "out of memory");
      if (parse_tensor(pc, pb_sub(&r, &f), a->t, NULL, "attribute tensor", 0)) return -1;
      inferred = ATTR_TENSOR; break;
    case 6:
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s '%s': g is not a message", what, a->name);
      if (!(a->g = arena_alloc(pc->arena, sizeof *a->g))) return fail(pc, f.off, "out of memory");
      if (parse_graph(pc, pb_sub(&r, &f), a->g)) return -1;
      inferred = ATTR_GRAPH; break;
    case 7:
      if (f.wire == PB_LEN) {
        if (f.len % 4) return fail(pc, f.off, "%s '%s': packed floats length %zu", what, a->name, f.len);
        nf += f.len / 4;
      } else if (f.wire == PB_I32) nf++;
      else return fail(pc, f.tag_off, "%s '%s': floats has wire type %d", what, a->name, f.wire);
      inferred = ATTR_FLOATS; break;
    case 8:
      if (f.wire == PB_LEN) {
        size_t c;
        if (pb_packed_count_varints(&r, &f, &c, &pe)) return fail_pb(pc, &pe, what);
        ni += c;
      } else if (f.wire == PB_VARINT) ni++;
      else return fail(pc, f.tag_off, "%s '%s': ints has wire type %d", what, a->name, f.wire);
      inferred = ATTR_INTS; break;
    case 9: ns++; inferred = ATTR_STRINGS; break;
    case 10: inferred = ATTR_TENSORS; break;
    case 11: inferred = ATTR_GRAPHS; break;
    case 21: return fail(pc, f.tag_off, "%s '%s': ref_attr_name outside a function", what, a->name);
    default: break;
    }
  }
  if (rc < 0) return fail_pb(pc, &pe, what);
  if (!a->type) a->type = inferred;
  if (a->type == ATTR_FLOATS) {
    a->n = nf;
    if (!(a->floats = arena_alloc(pc->arena, (nf + 1) * sizeof(float)))) return fail(pc, start, "out of memory");
    size_t k = 0;
    r = r0;
    while ((rc = pb_next(&r, &f, &pe)) > 0) {
      if (f.num != 7) continue;
      if (f.wire == PB_LEN) {
        memcpy(a->floats + k, pc->buf + f.off, f.len);
        k += f.len / 4;
      } else a->floats[k++] = pb_f32(f.u);
    }
  } else if (a->type == ATTR_INTS) {
    a->n = ni;
    if (!(a->ints = arena_alloc(pc->arena, (ni + 1) * sizeof(int64_t)))) return fail(pc, start, "out of memory");
    size_t k = 0;
    r = r0;
    while ((rc = pb_next(&r, &f, &pe)) > 0) {
      if (f.num != 8) continue;
      if (f.wire == PB_LEN) {
        pb_reader s = pb_sub(&r, &f);
        uint64_t v;
        while (s.pos < s.end && !pb_read_varint(&s, &v, &pe)) a->ints[k++] = (int64_t)v;
      } else a->ints[k++] = (int64_t)f.u;
    }
  } else if (a->type == ATTR_STRINGS) {
    a->n = ns;
    if (!(a->strs = arena_alloc(pc->arena, (ns + 1) * sizeof(char *)))) return fail(pc, start, "out of memory");
    size_t k = 0;
    r = r0;
    while ((rc = pb_next(&r, &f, &pe)) > 0 && k < ns) {
      if (f.num != 9) continue;
      if (f.wire != PB_LEN) return fail(pc, f.tag_off, "%s '%s': strings has wire type %d", what, a->name, f.wire);
      if (!(a->strs[k++] = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
    }
  }
  return 0;
}

/* ---- NodeProto ---- */
static int parse_node(pctx *pc, pb_reader r, onnx_node *n) {
  pb_reader r0 = r;
  pb_field f;
  pb_error pe;
  int rc;
  n->name = n->op_type = n->domain = "";
  n->byte_off = r.pos;
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    if (f.wire != PB_LEN) continue;
    const char **dst = NULL;
    if (f.num == 1) n->nin++;
    else if (f.num == 2) n->nout++;
    else if (f.num == 5) n->nattr++;
    else if (f.num == 3) dst = &n->name;
    else if (f.num == 4) dst = &n->op_type;
    else if (f.num == 7) dst = &n->domain;
    if (dst && !(*dst = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
  }
  if (rc < 0) return fail_pb(pc, &pe, "NodeProto");
  if (!*n->op_type) return fail(pc, n->byte_off, "node '%s' has no op_type", n->name);
  n->in_names = arena_alloc(pc->arena, (size_t)(n->nin + 1) * sizeof(char *));
  n->out_names = arena_alloc(pc->arena, (size_t)(n->nout + 1) * sizeof(char *));
  n->in = arena_alloc(pc->arena, (size_t)(n->nin + 1) * sizeof(int));
  n->out = arena_alloc(pc->arena, (size_t)(n->nout + 1) * sizeof(int));
  n->attrs = arena_alloc(pc->arena, (size_t)(n->nattr + 1) * sizeof(onnx_attr));
  if (!n->in_names || !n->out_names || !n->in || !n->out || !n->attrs) return fail(pc, n->byte_off, "out of memory");
  int ki = 0, ko = 0, ka = 0;
  r = r0;
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    if (f.wire != PB_LEN) continue;
    if (f.num == 1) {
      if (!(n->in_names[ki++] = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
    } else if (f.num == 2) {
      if (!(n->out_names[ko++] = dup_field(pc, &f))) return fail(pc, f.off, "out of memory");
    } else if (f.num == 5) {
      if (parse_attr(pc, pb_sub(&r, &f), &n->attrs[ka++], n)) return -1;
    }
  }
  return 0;
}

/* ---- GraphProto ---- */
static int parse_graph(pctx *pc, pb_reader r, onnx_graph *g) {
  if (++pc->depth > MAX_GRAPH_DEPTH) return fail(pc, r.pos, "graphs nested deeper than %d", MAX_GRAPH_DEPTH);
  pb_reader r0 = r;
  pb_field f;
  pb_error pe;
  int rc;
  g->name = "";
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    if (f.wire != PB_LEN) continue;
    switch (f.num) {
    case 1: g->nnodes++; break;
    case 2: if (!(g->name = dup_field(pc, &f))) return fail(pc, f.off, "out of memory"); break;
    case 5: g->ninit++; break;
    case 11: g->ninputs++; break;
    case 12: g->noutputs++; break;
    case 13: g->nvalue_info++; break;
    case 15: return fail(pc, f.tag_off, "graph '%s': sparse initializers are not supported", g->name);
    default: break;
    }
  }
  if (rc < 0) return fail_pb(pc, &pe, "GraphProto");
  if (g->nnodes > 10000000 || g->ninit > 10000000) return fail(pc, r0.pos, "graph too large");
  g->nodes = arena_alloc(pc->arena, (size_t)(g->nnodes + 1) * sizeof *g->nodes);
  g->inits = arena_alloc(pc->arena, (size_t)(g->ninit + 1) * sizeof *g->inits);
  g->inputs = arena_alloc(pc->arena, (size_t)(g->ninputs + 1) * sizeof *g->inputs);
  g->outputs = arena_alloc(pc->arena, (size_t)(g->noutputs + 1) * sizeof *g->outputs);
  g->value_info = arena_alloc(pc->arena, (size_t)(g->nvalue_info + 1) * sizeof *g->value_info);
  if (!g->nodes || !g->inits || !g->inputs || !g->outputs || !g->value_info) return fail(pc, r0.pos, "out of memory");
  int kn = 0, kt = 0, ki = 0, ko = 0, kv = 0;
  r = r0;
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    if (f.wire != PB_LEN) continue;
    pb_reader s = pb_sub(&r, &f);
    int e = 0;
    switch (f.num) {
    case 1: e = parse_node(pc, s, &g->nodes[kn++]); break;
    case 5: e = parse_tensor(pc, s, &g->inits[kt].t, &g->inits[kt].name, "initializer", 0); kt++; break;
    case 11: e = parse_value_info(pc, s, &g->inputs[ki++]); break;
    case 12: e = parse_value_info(pc, s, &g->outputs[ko++]); break;
    case 13: e = parse_value_info(pc, s, &g->value_info[kv++]); break;
    default: break;
    }
    if (e) return -1;
  }
  pc->depth--;
  return 0;
}

/* ---- ModelProto ---- */
int onnx_parse_model(onnx_model_ir *m, const uint8_t *buf, size_t len, char *err, size_t errlen) {
  pctx pc = {m, &m->arena, buf, err, errlen, 0, 0};
  pb_reader r = pb_reader_init(buf, len);
  pb_field f;
  pb_error pe;
  int rc, ngraph = 0;
  while ((rc = pb_next(&r, &f, &pe)) > 0) if (f.num == 8 && f.wire == PB_LEN) m->nopsets++;
  if (rc < 0) return fail_pb(&pc, &pe, "ModelProto");
  m->opsets = arena_alloc(&m->arena, (size_t)(m->nopsets + 1) * sizeof *m->opsets);
  if (!m->opsets) return fail(&pc, 0, "out of memory");
  int ko = 0;
  r = pb_reader_init(buf, len);
  while ((rc = pb_next(&r, &f, &pe)) > 0) {
    if (f.num == 1 && f.wire == PB_VARINT) m->ir_version = (int64_t)f.u;
    else if (f.num == 8 && f.wire == PB_LEN) {
      onnx_opset *o = &m->opsets[ko++];
      o->domain = "";
      pb_reader s = pb_sub(&r, &f);
      pb_field g;
      int rc2;
      while ((rc2 = pb_next(&s, &g, &pe)) > 0) {
        if (g.num == 1 && g.wire == PB_LEN && !(o->domain = dup_field(&pc, &g))) return fail(&pc, g.off, "out of memory");
        if (g.num == 2 && g.wire == PB_VARINT) o->version = (int64_t)g.u;
      }
      if (rc2 < 0) return fail_pb(&pc, &pe, "OperatorSetIdProto");
    } else if (f.num == 7 && f.wire == PB_LEN) {
      if (ngraph++) return fail(&pc, f.tag_off, "model has more than one graph");
      if (!(m->graph = arena_alloc(&m->arena, sizeof *m->graph))) return fail(&pc, f.off, "out of memory");
      if (parse_graph(&pc, pb_sub(&r, &f), m->graph)) return pc.unsupported ? -2 : -1;
    }
  }
  if (rc < 0) return fail_pb(&pc, &pe, "ModelProto");
  if (!m->graph) return fail(&pc, 0, "ModelProto has no graph (is this an ONNX file?)");
  return 0;
}

void onnx_model_ir_release(onnx_model_ir *m) {
  for (int i = 0; i < m->nowned; i++) free(m->owned[i]);
  free(m->owned);
  for (int i = 0; i < m->nmaps; i++) {
    if (m->maps[i].addr) munmap(m->maps[i].addr, m->maps[i].len);
    free(m->maps[i].path);
  }
  free(m->maps);
  arena_free(&m->arena);
  m->owned = NULL;
  m->maps = NULL;
  m->nowned = m->nmaps = 0;
}

int onnx_parse_tensor_owned(const uint8_t *buf, size_t len, wm_onnx_tensor *t, char *err, size_t errlen) {
  onnx_arena arena = {0};
  pctx pc = {NULL, &arena, buf, err, errlen, 0, 0};
  int rc = parse_tensor(&pc, pb_reader_init(buf, len), t, NULL, "TensorProto", 1);
  if (rc && pc.unsupported) rc = -2;
  arena_free(&arena);
  if (rc && (t->flags & WM_ONNX_TENSOR_OWNED)) {
    free(t->data);
    t->data = NULL;
  }
  return rc;
}

void wm_prefault(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (n < ((size_t)1 << 20)) return;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
  if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE); /* best effort: older kernels say EINVAL */
#else
  (void)p, (void)n;
#endif
}
