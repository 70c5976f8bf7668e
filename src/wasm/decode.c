/* decode.c — WebAssembly 2.0 binary decoder and module-level validator.
 *
 * Decoding follows the reference interpreter closely so that error wording (and which error
 * wins) matches the spec testsuite:
 *   - every section is read with the whole file as the limit; after a section has been read the
 *     position must equal the declared end ("section size mismatch");
 *   - lengths/counts larger than the rest of the file are "length out of bounds" (this also
 *     bounds every allocation by a small multiple of the input size);
 *   - running out of bytes is "unexpected end of section or function";
 *   - decoding (malformed) errors take precedence over validation (invalid) errors: the first
 *     validation error is remembered and reported only once the whole binary has decoded.
 * Function bodies are validated and translated afterwards by wm_translate_function. */
#include "module.h"
#include "leb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Implementation limits. */
#define WM_MAX_FUNC_LOCALS   50000u        /* declared locals per function */
#define WM_MAX_MODULE_LOCALS (1u << 24)    /* declared locals over the whole module */

bool wm_fail(wm_error *err, wm_status status, uint32_t offset, const char *fmt, ...)
{
    if (err) {
        err->status = status;
        if (status != WM_ERR_TRAP) err->trap = WM_TRAP_NONE;
        err->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct dec {
    wm_module *m;
    const uint8_t *b;
    size_t len, pos;
    wm_error *err;

    wm_error inv;            /* first validation error, reported after decoding */
    bool has_inv;

    bool funcspace_ready;
    bool has_code;
    uint32_t code_count;
    uint64_t module_locals;
    uint32_t cap_tables, cap_mems, cap_globals;

    bool has_names;
    size_t names_pos, names_end;
} dec;

#define OFF(x) ((uint32_t)(x))

static bool eof(dec *d)
{
    return wm_fail(d->err, WM_ERR_MALFORMED, OFF(d->len), "unexpected end of section or function");
}

static bool malformed(dec *d, size_t at, const char *msg)
{
    return wm_fail(d->err, WM_ERR_MALFORMED, OFF(at), "%s", msg);
}

static bool oom(dec *d)
{
    return wm_fail(d->err, WM_ERR_RESOURCE, OFF(d->pos), "out of memory");
}

/* Records a validation error (only the first one is kept); decoding continues. */
__attribute__((format(printf, 3, 4)))
static void invalid(dec *d, size_t at, const char *fmt, ...)
{
    if (d->has_inv) return;
    d->has_inv = true;
    d->inv.status = WM_ERR_INVALID;
    d->inv.trap = WM_TRAP_NONE;
    d->inv.offset = OFF(at);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->inv.message, sizeof d->inv.message, fmt, ap);
    va_end(ap);
}

static bool rd_byte(dec *d, uint8_t *out)
{
    if (d->pos >= d->len) { *out = 0; return eof(d); }
    *out = d->b[d->pos++];
    return true;
}

static bool rd_leb(dec *d, unsigned bits, int sgn, uint64_t *out)
{
    size_t used = 0;
    *out = 0;
    wm_leb_status st = wm_leb_read(d->b + d->pos, d->len - d->pos, bits, sgn, out, &used);
    if (st == WM_LEB_OK) { d->pos += used; return true; }
    if (st == WM_LEB_EOF) return eof(d);
    return malformed(d, d->pos + used, wm_leb_message(st));
}

static bool rd_u32(dec *d, uint32_t *out)
{
    uint64_t v = 0;
    if (!rd_leb(d, 32, 0, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

/* A length or count: must not exceed the bytes left in the file. */
static bool rd_len(dec *d, uint32_t *out)
{
    size_t start = d->pos;
    if (!rd_u32(d, out)) return false;
    if ((size_t)*out > d->len - start) return malformed(d, start, "length out of bounds");
    return true;
}

static bool rd_bytes(dec *d, size_t n, const uint8_t **out)
{
    if (n > d->len - d->pos) { *out = NULL; return eof(d); }
    *out = d->b + d->pos;
    d->pos += n;
    return true;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        uint32_t cp;
        size_t k;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1Fu; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0Fu; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07u; }
        else return false;
        if (n - i <= k) return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3Fu);
        }
        if (k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
        if (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
        i += k + 1;
    }
    return true;
}

static char *dup_bytes(const uint8_t *s, size_t n)
{
    char *r = malloc(n + 1);
    if (!r) return NULL;
    if (n) memcpy(r, s, n);
    r[n] = 0;
    return r;
}

/* A name: length-prefixed UTF-8. Returns a malloc'd NUL-terminated copy. */
static bool rd_name(dec *d, char **out, uint32_t *outlen)
{
    uint32_t n;
    const uint8_t *s;
    if (!rd_len(d, &n)) return false;
    size_t at = d->pos;
    if (!rd_bytes(d, n, &s)) return false;
    if (!utf8_valid(s, n)) return malformed(d, at, "malformed UTF-8 encoding");
    if (out) {
        *out = dup_bytes(s, n);
        if (!*out) return oom(d);
    }
    if (outlen) *outlen = n;
    return true;
}

/* Type bytes are s7 in the reference interpreter: a continuation bit means "too long". */
static bool rd_typebyte(dec *d, uint8_t *out)
{
    if (!rd_byte(d, out)) return false;
    if (*out & 0x80) {
        if (d->pos >= d->len) return eof(d);
        return malformed(d, d->pos, "integer representation too long");
    }
    return true;
}

static bool is_numtype(uint8_t t) { return t >= 0x7B && t <= 0x7F; }
static bool is_reftype(uint8_t t) { return t == WM_FUNCREF || t == WM_EXTERNREF; }

static bool rd_valtype(dec *d, uint8_t *out)
{
    size_t at = d->pos;
    if (!rd_typebyte(d, out)) return false;
    if (!is_numtype(*out) && !is_reftype(*out)) return malformed(d, at, "malformed value type");
    return true;
}

static bool rd_reftype(dec *d, uint8_t *out)
{
    size_t at = d->pos;
    if (!rd_typebyte(d, out)) return false;
    if (!is_reftype(*out)) return malformed(d, at, "malformed reference type");
    return true;
}

static bool rd_limits(dec *d, wm_limits *l)
{
    uint64_t flags;
    if (!rd_leb(d, 1, 0, &flags)) return false;   /* 0 or 1, else "integer too large" */
    if (!rd_u32(d, &l->min)) return false;
    l->has_max = flags == 1;
    l->max = 0;
    if (l->has_max && !rd_u32(d, &l->max)) return false;
    return true;
}

static void check_mem_limits(dec *d, size_t at, const wm_limits *l)
{
    if (l->min > WM_MAX_PAGES || (l->has_max && l->max > WM_MAX_PAGES))
        invalid(d, at, "memory size must be at most 65536 pages (4GiB)");
    else if (l->has_max && l->min > l->max)
        invalid(d, at, "size minimum must not be greater than maximum");
}

static void check_table_limits(dec *d, size_t at, const wm_limits *l)
{
    if (l->has_max && l->min > l->max) invalid(d, at, "size minimum must not be greater than maximum");
}

static bool rd_globaltype(dec *d, wm_globaltype *g)
{
    if (!rd_valtype(d, &g->type)) return false;
    size_t at = d->pos;
    uint8_t mut;
    if (!rd_byte(d, &mut)) return false;
    if (mut > 1) return malformed(d, at, "malformed mutability");
    g->is_mutable = mut == 1;
    return true;
}

/* Growable index-space arrays. */
static bool reserve(dec *d, void **p, uint32_t *cap, uint64_t need, size_t elsz)
{
    if (need <= *cap) return true;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 4;
    if (nc < need) nc = need;
    if (nc > UINT32_MAX) return oom(d);
    void *q = realloc(*p, (size_t)nc * elsz);
    if (!q) return oom(d);
    *p = q;
    *cap = (uint32_t)nc;
    return true;
}

/* Builds func_types / declared_funcs once the function index space is complete. */
static bool ensure_funcspace(dec *d)
{
    wm_module *m = d->m;
    if (d->funcspace_ready) return true;
    d->funcspace_ready = true;
    m->nfuncs = m->nfunc_imports + m->nfuncdefs;
    m->func_types = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_types);
    m->declared_funcs = calloc(m->nfuncs ? m->nfuncs : 1, 1);
    if (!m->func_types || !m->declared_funcs) return oom(d);
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == WM_EXTERN_FUNC) m->func_types[k++] = m->imports[i].type_index;
    for (uint32_t i = 0; i < m->nfuncdefs; i++) m->func_types[k++] = m->funcdefs[i].type_index;
    return true;
}

static const wm_type *func_type(const wm_module *m, uint32_t funcidx)
{
    if (funcidx >= m->nfuncs || !m->func_types) return NULL;
    uint32_t ti = m->func_types[funcidx];
    return ti < m->ntypes ? &m->types[ti] : NULL;
}

/* Opcodes that do not exist at all in Wasm 2.0 ("illegal opcode" rather than non-constant). */
static bool illegal_opcode(uint8_t op)
{
    return (op >= 0x06 && op <= 0x0A) || (op >= 0x12 && op <= 0x19) || (op >= 0x1D && op <= 0x1F) ||
           op == 0x27 || (op >= 0xC5 && op <= 0xCF) || (op >= 0xD3 && op <= 0xFB) || op >= 0xFE;
}

/* A non-constant instruction in a constant expression. Its immediates cannot be skipped
 * without a full instruction decoder, so decoding stops here with a validation error (the
 * earliest recorded validation error wins). */
static bool nonconst(dec *d, size_t at)
{
    if (d->has_inv) {
        if (d->err) *d->err = d->inv;
        return false;
    }
    return wm_fail(d->err, WM_ERR_INVALID, OFF(at), "constant expression required");
}

/* A constant expression of result type `want`, ending in `end`. Only imported globals may be
 * referenced (Wasm 2.0). Functions named by ref.func become declared. */
static bool rd_const(dec *d, uint8_t want, wm_constexpr *ce)
{
    wm_module *m = d->m;
    size_t start = d->pos;
    uint32_t n = 0;
    memset(ce, 0, sizeof *ce);
    for (;;) {
        size_t at = d->pos;
        uint8_t op;
        if (!rd_byte(d, &op)) return false;
        if (op == 0x0B) break;
        wm_constexpr cur;
        memset(&cur, 0, sizeof cur);
        switch (op) {
        case 0x41: {
            uint64_t v;
            if (!rd_leb(d, 32, 1, &v)) return false;
            cur.op = WM_CONST_I32; cur.type = WM_I32; cur.value.u32 = (uint32_t)v;
            break;
        }
        case 0x42: {
            uint64_t v;
            if (!rd_leb(d, 64, 1, &v)) return false;
            cur.op = WM_CONST_I64; cur.type = WM_I64; cur.value.u64 = v;
            break;
        }
        case 0x43: {
            const uint8_t *p;
            if (!rd_bytes(d, 4, &p)) return false;
            cur.op = WM_CONST_F32; cur.type = WM_F32;
            cur.value.u32 = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            break;
        }
        case 0x44: {
            const uint8_t *p;
            if (!rd_bytes(d, 8, &p)) return false;
            cur.op = WM_CONST_F64; cur.type = WM_F64;
            uint64_t v = 0;
            for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
            cur.value.u64 = v;
            break;
        }
        case 0xD0: {
            uint8_t t;
            if (!rd_reftype(d, &t)) return false;
            cur.op = WM_CONST_REF_NULL; cur.type = t;
            break;
        }
        case 0xD2: {
            uint32_t x;
            if (!rd_u32(d, &x)) return false;
            cur.op = WM_CONST_REF_FUNC; cur.type = WM_FUNCREF; cur.index = x;
            if (x >= m->nfuncs) invalid(d, at, "unknown function %u", x);
            else m->declared_funcs[x] = 1;
            break;
        }
        case 0x23: {
            uint32_t x;
            if (!rd_u32(d, &x)) return false;
            cur.op = WM_CONST_GLOBAL_GET; cur.index = x;
            if (x >= m->nglobal_imports) {
                invalid(d, at, "unknown global %u", x);
                cur.type = want;
            } else {
                cur.type = m->global_types[x].type;
                if (m->global_types[x].is_mutable) invalid(d, at, "constant expression required");
            }
            break;
        }
        case 0xFD: {
            uint32_t sub;
            if (!rd_u32(d, &sub)) return false;
            if (sub != 12) return nonconst(d, at);
            const uint8_t *p;
            if (!rd_bytes(d, 16, &p)) return false;
            cur.op = WM_CONST_V128; cur.type = WM_V128;
            memcpy(cur.value.v128, p, 16);
            break;
        }
        default:
            if (illegal_opcode(op)) return malformed(d, at, "illegal opcode");
            return nonconst(d, at);
        }
        if (n == 0) *ce = cur;
        n++;
    }
    if (n != 1 || ce->type != want) invalid(d, start, "type mismatch");
    return true;
}

/* ---- sections ----------------------------------------------------------------------------- */

static bool sec_type(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    m->types = calloc(n ? n : 1, sizeof *m->types);
    if (!m->types) return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        size_t at = d->pos;
        uint8_t form;
        if (!rd_typebyte(d, &form)) return false;
        if (form != 0x60) return malformed(d, at, "malformed function type");
        uint32_t np, nr;
        if (!rd_len(d, &np)) return false;
        size_t pstart = d->pos;
        for (uint32_t j = 0; j < np; j++) {
            uint8_t t;
            if (!rd_valtype(d, &t)) return false;
        }
        if (!rd_len(d, &nr)) return false;
        size_t rstart = d->pos;
        for (uint32_t j = 0; j < nr; j++) {
            uint8_t t;
            if (!rd_valtype(d, &t)) return false;
        }
        wm_type *ty = &m->types[m->ntypes];
        uint8_t *buf = malloc((size_t)np + nr + 1);
        if (!buf) return oom(d);
        m->ntypes++;
        if (np) memcpy(buf, d->b + pstart, np);
        if (nr) memcpy(buf + np, d->b + rstart, nr);
        ty->nparams = np; ty->nresults = nr;
        ty->params = buf; ty->results = buf + np;
        ty->param_cells = ty->result_cells = 0;
        for (uint32_t j = 0; j < np; j++) ty->param_cells += wm_valtype_cells(buf[j]);
        for (uint32_t j = 0; j < nr; j++) ty->result_cells += wm_valtype_cells(buf[np + j]);
    }
    return true;
}

static bool sec_import(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    m->imports = calloc(n ? n : 1, sizeof *m->imports);
    if (!m->imports) return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        wm_import *im = &m->imports[m->nimports++];
        if (!rd_name(d, &im->module, NULL)) return false;
        if (!rd_name(d, &im->name, NULL)) return false;
        size_t at = d->pos;
        uint8_t kind;
        if (!rd_byte(d, &kind)) return false;
        size_t dat = d->pos;
        switch (kind) {
        case 0:
            im->kind = WM_EXTERN_FUNC;
            if (!rd_u32(d, &im->type_index)) return false;
            if (im->type_index >= m->ntypes) invalid(d, dat, "unknown type %u", im->type_index);
            m->nfunc_imports++;
            break;
        case 1:
            im->kind = WM_EXTERN_TABLE;
            if (!rd_reftype(d, &im->table.elem)) return false;
            if (!rd_limits(d, &im->table.limits)) return false;
            check_table_limits(d, dat, &im->table.limits);
            if (!reserve(d, (void **)&m->tables, &d->cap_tables, (uint64_t)m->ntables + 1, sizeof *m->tables))
                return false;
            m->tables[m->ntables++] = im->table;
            m->ntable_imports++;
            break;
        case 2:
            im->kind = WM_EXTERN_MEMORY;
            if (!rd_limits(d, &im->memory)) return false;
            check_mem_limits(d, dat, &im->memory);
            if (!reserve(d, (void **)&m->mems, &d->cap_mems, (uint64_t)m->nmems + 1, sizeof *m->mems))
                return false;
            m->mems[m->nmems++] = im->memory;
            m->nmem_imports++;
            break;
        case 3:
            im->kind = WM_EXTERN_GLOBAL;
            if (!rd_globaltype(d, &im->global)) return false;
            if (!reserve(d, (void **)&m->global_types, &d->cap_globals, (uint64_t)m->nglobals + 1,
                         sizeof *m->global_types))
                return false;
            m->global_types[m->nglobals++] = im->global;
            m->nglobal_imports++;
            break;
        default:
            return malformed(d, at, "malformed import kind");
        }
    }
    return true;
}

static bool sec_function(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    m->funcdefs = calloc(n ? n : 1, sizeof *m->funcdefs);
    if (!m->funcdefs) return oom(d);
    m->nfuncdefs = n;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = d->pos;
        if (!rd_u32(d, &m->funcdefs[i].type_index)) return false;
        if (m->funcdefs[i].type_index >= m->ntypes)
            invalid(d, at, "unknown type %u", m->funcdefs[i].type_index);
    }
    return true;
}

static bool sec_table(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    if (!reserve(d, (void **)&m->tables, &d->cap_tables, (uint64_t)m->ntables + n, sizeof *m->tables))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = d->pos;
        wm_tabletype *t = &m->tables[m->ntables];
        if (!rd_reftype(d, &t->elem)) return false;
        if (!rd_limits(d, &t->limits)) return false;
        m->ntables++;
        check_table_limits(d, at, &t->limits);
    }
    return true;
}

static bool sec_memory(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    if (!reserve(d, (void **)&m->mems, &d->cap_mems, (uint64_t)m->nmems + n, sizeof *m->mems)) return false;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = d->pos;
        wm_limits *l = &m->mems[m->nmems];
        if (!rd_limits(d, l)) return false;
        m->nmems++;
        check_mem_limits(d, at, l);
    }
    return true;
}

static bool sec_global(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    if (!reserve(d, (void **)&m->global_types, &d->cap_globals, (uint64_t)m->nglobals + n,
                 sizeof *m->global_types))
        return false;
    m->globaldefs = calloc(n ? n : 1, sizeof *m->globaldefs);
    if (!m->globaldefs) return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        wm_globaldef *g = &m->globaldefs[i];
        if (!rd_globaltype(d, &g->type)) return false;
        if (!rd_const(d, g->type.type, &g->init)) return false;
        m->global_types[m->nglobals++] = g->type;
    }
    return true;
}

typedef struct name_ref { const char *s; uint32_t len; uint32_t idx; } name_ref;

static int name_cmp(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    int c = memcmp(x->s, y->s, x->len);
    if (c) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool sec_export(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    m->exports = calloc(n ? n : 1, sizeof *m->exports);
    name_ref *refs = calloc(n ? n : 1, sizeof *refs);
    if (!m->exports || !refs) { free(refs); return oom(d); }
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        wm_export *e = &m->exports[i];
        uint32_t nlen;
        if (!(ok = rd_name(d, &e->name, &nlen))) break;
        m->nexports++;
        e->name_len = nlen;
        refs[i].s = e->name; refs[i].len = nlen; refs[i].idx = i;
        size_t at = d->pos;
        uint8_t kind;
        if (!(ok = rd_byte(d, &kind))) break;
        if (kind > 3) { ok = malformed(d, at, "malformed export kind"); break; }
        e->kind = (wm_externkind)kind;
        size_t iat = d->pos;
        if (!(ok = rd_u32(d, &e->index))) break;
        switch (e->kind) {
        case WM_EXTERN_FUNC:
            if (e->index >= m->nfuncs) invalid(d, iat, "unknown function %u", e->index);
            else m->declared_funcs[e->index] = 1;
            break;
        case WM_EXTERN_TABLE:
            if (e->index >= m->ntables) invalid(d, iat, "unknown table %u", e->index);
            break;
        case WM_EXTERN_MEMORY:
            if (e->index >= m->nmems) invalid(d, iat, "unknown memory %u", e->index);
            break;
        case WM_EXTERN_GLOBAL:
            if (e->index >= m->nglobals) invalid(d, iat, "unknown global %u", e->index);
            break;
        }
    }
    if (ok && n > 1) {
        qsort(refs, n, sizeof *refs, name_cmp);
        for (uint32_t i = 1; i < n; i++) {
            if (refs[i].len == refs[i - 1].len && memcmp(refs[i].s, refs[i - 1].s, refs[i].len) == 0) {
                invalid(d, d->pos, "duplicate export name \"%s\"", refs[i].s);
                break;
            }
        }
    }
    free(refs);
    return ok;
}

static bool sec_start(dec *d)
{
    wm_module *m = d->m;
    size_t at = d->pos;
    if (!rd_u32(d, &m->start)) return false;
    m->has_start = true;
    if (m->start >= m->nfuncs) {
        invalid(d, at, "unknown function %u", m->start);
    } else {
        const wm_type *t = func_type(m, m->start);
        if (t && (t->nparams || t->nresults)) invalid(d, at, "start function must have type [] -> []");
    }
    return true;
}

static bool rd_elem(dec *d, wm_elemseg *e)
{
    wm_module *m = d->m;
    size_t at = d->pos;
    uint32_t flags;
    if (!rd_u32(d, &flags)) return false;
    if (flags > 7) return malformed(d, at, "malformed elements segment kind");
    e->mode = !(flags & 1) ? WM_SEG_ACTIVE : (flags & 2) ? WM_SEG_DECLARATIVE : WM_SEG_PASSIVE;
    e->table = 0;
    e->elemtype = WM_FUNCREF;
    bool exprs = (flags & 4) != 0;
    size_t tat = d->pos;
    if (e->mode == WM_SEG_ACTIVE) {
        if ((flags & 2) && !rd_u32(d, &e->table)) return false;
        if (!rd_const(d, WM_I32, &e->offset)) return false;
    }
    if (flags & 3) {
        if (exprs) {
            if (!rd_reftype(d, &e->elemtype)) return false;
        } else {
            size_t kat = d->pos;
            uint8_t k;
            if (!rd_byte(d, &k)) return false;
            if (k != 0) return malformed(d, kat, "malformed element kind");
        }
    }
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    e->items = calloc(n ? n : 1, sizeof *e->items);
    if (!e->items) return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        wm_constexpr *it = &e->items[i];
        if (exprs) {
            if (!rd_const(d, e->elemtype, it)) return false;
        } else {
            size_t xat = d->pos;
            uint32_t x;
            if (!rd_u32(d, &x)) return false;
            it->op = WM_CONST_REF_FUNC; it->type = WM_FUNCREF; it->index = x;
            if (x >= m->nfuncs) invalid(d, xat, "unknown function %u", x);
            else m->declared_funcs[x] = 1;
        }
        e->count++;
    }
    if (e->mode == WM_SEG_ACTIVE) {
        if (e->table >= m->ntables) invalid(d, tat, "unknown table %u", e->table);
        else if (m->tables[e->table].elem != e->elemtype) invalid(d, tat, "type mismatch");
    }
    return true;
}

static bool sec_elem(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    m->elems = calloc(n ? n : 1, sizeof *m->elems);
    if (!m->elems) return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        m->nelems++;
        if (!rd_elem(d, &m->elems[i])) return false;
    }
    return true;
}

static bool sec_datacount(dec *d)
{
    if (!rd_u32(d, &d->m->datacount)) return false;
    d->m->has_datacount = true;
    return true;
}

static bool rd_body(dec *d, wm_funcdef *fd)
{
    size_t at = d->pos;
    uint32_t size;
    if (!rd_len(d, &size)) return false;
    size_t body_end = d->pos + size;
    if (body_end > d->len) return eof(d);   /* rd_len allows the size bytes themselves */
    uint32_t ngroups;
    if (!rd_len(d, &ngroups)) return false;
    size_t groups = d->pos;
    uint64_t total = 0;
    for (uint32_t g = 0; g < ngroups; g++) {
        uint32_t cnt;
        uint8_t t;
        if (!rd_u32(d, &cnt)) return false;
        if (!rd_valtype(d, &t)) return false;
        total += cnt;
    }
    if (total > UINT32_MAX || total > WM_MAX_FUNC_LOCALS) return malformed(d, at, "too many locals");
    d->module_locals += total;
    if (d->module_locals > WM_MAX_MODULE_LOCALS) return malformed(d, at, "too many locals");
    if (d->pos > body_end) return malformed(d, body_end, "section size mismatch");
    size_t blen = body_end - d->pos;
    if (blen == 0 || d->b[body_end - 1] != 0x0B) {
        /* The function's final `end` is missing. Report what the reference interpreter would,
         * which keeps decoding past the declared size. */
        if (body_end >= d->len) return malformed(d, d->len, "unexpected end of section or function");
        if (d->b[body_end] == 0x0B) return malformed(d, body_end, "section size mismatch");
        return malformed(d, body_end, "END opcode expected");
    }
    if (fd) {
        fd->nlocals = (uint32_t)total;
        fd->local_types = malloc(total ? (size_t)total : 1);
        if (!fd->local_types) return oom(d);
        size_t p = groups, k = 0;
        for (uint32_t g = 0; g < ngroups; g++) {
            size_t used;
            uint32_t cnt;
            wm_leb_u32(d->b + p, d->len - p, &cnt, &used);
            p += used;
            uint8_t t = d->b[p++];
            memset(fd->local_types + k, t, cnt);
            k += cnt;
        }
        fd->body = d->b + d->pos;
        fd->body_len = (uint32_t)blen;
        fd->body_offset = OFF(d->pos);
    }
    d->pos = body_end;
    return true;
}

static bool sec_code(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    d->has_code = true;
    d->code_count = n;
    for (uint32_t i = 0; i < n; i++)
        if (!rd_body(d, i < m->nfuncdefs && n == m->nfuncdefs ? &m->funcdefs[i] : NULL)) return false;
    return true;
}

static bool sec_data(dec *d)
{
    wm_module *m = d->m;
    uint32_t n;
    if (!rd_len(d, &n)) return false;
    m->datas = calloc(n ? n : 1, sizeof *m->datas);
    if (!m->datas) return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        wm_dataseg *s = &m->datas[i];
        size_t at = d->pos;
        uint32_t flags;
        if (!rd_u32(d, &flags)) return false;
        if (flags > 2) return malformed(d, at, "malformed data segment kind");
        s->mode = flags == 1 ? WM_SEG_PASSIVE : WM_SEG_ACTIVE;
        s->memory = 0;
        size_t mat = d->pos;
        if (flags == 2 && !rd_u32(d, &s->memory)) return false;
        if (s->mode == WM_SEG_ACTIVE) {
            if (!rd_const(d, WM_I32, &s->offset)) return false;
            if (s->memory >= m->nmems) invalid(d, mat, "unknown memory %u", s->memory);
        }
        uint32_t len;
        if (!rd_len(d, &len)) return false;
        if (!rd_bytes(d, len, &s->bytes)) return false;
        s->len = len;
        m->ndatas++;
    }
    return true;
}

static bool sec_custom(dec *d, size_t end)
{
    uint32_t nlen;
    size_t nat = d->pos;
    if (!rd_len(d, &nlen)) return false;
    const uint8_t *name;
    size_t sat = d->pos;
    if (!rd_bytes(d, nlen, &name)) return false;
    if (d->pos > end) return malformed(d, nat, "unexpected end");
    if (end > d->len) return eof(d);
    if (!utf8_valid(name, nlen)) return malformed(d, sat, "malformed UTF-8 encoding");
    if (nlen == 4 && memcmp(name, "name", 4) == 0 && !d->has_names) {
        d->has_names = true;
        d->names_pos = d->pos;
        d->names_end = end;
    }
    d->pos = end;
    return true;
}

/* The "name" custom section: only function names are kept. Malformed contents are ignored. */
static void parse_names(dec *d)
{
    wm_module *m = d->m;
    const uint8_t *b = d->b;
    size_t p = d->names_pos, end = d->names_end, used;
    char **names = NULL;
    while (p < end) {
        uint8_t id = b[p++];
        uint32_t size;
        if (wm_leb_u32(b + p, end - p, &size, &used) != WM_LEB_OK) goto bad;
        p += used;
        if (size > end - p) goto bad;
        size_t sub_end = p + size;
        if (id == 1) {
            uint32_t cnt;
            if (wm_leb_u32(b + p, sub_end - p, &cnt, &used) != WM_LEB_OK) goto bad;
            p += used;
            if (!names && m->nfuncs) {
                names = calloc(m->nfuncs, sizeof *names);
                if (!names) return;
            }
            for (uint32_t i = 0; i < cnt; i++) {
                uint32_t idx, len;
                if (wm_leb_u32(b + p, sub_end - p, &idx, &used) != WM_LEB_OK) goto bad;
                p += used;
                if (wm_leb_u32(b + p, sub_end - p, &len, &used) != WM_LEB_OK) goto bad;
                p += used;
                if (len > sub_end - p) goto bad;
                if (!utf8_valid(b + p, len)) goto bad;
                if (idx < m->nfuncs) {
                    char *s = dup_bytes(b + p, len);
                    if (!s) goto bad;
                    free(names[idx]);
                    names[idx] = s;
                }
                p += len;
            }
        }
        p = sub_end;
    }
    m->func_names = names;
    return;
bad:
    if (names) {
        for (uint32_t i = 0; i < m->nfuncs; i++) free(names[i]);
        free(names);
    }
}

/* Section order of the non-custom sections (datacount sits between element and code). */
static int section_rank(uint8_t id)
{
    static const int rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return rank[id];
}

static bool decode_all(dec *d)
{
    wm_module *m = d->m;
    if (d->len < 4) return malformed(d, d->len, "unexpected end");
    if (memcmp(d->b, "\0asm", 4) != 0) return malformed(d, 0, "magic header not detected");
    if (d->len < 8) return malformed(d, d->len, "unexpected end");
    if (memcmp(d->b + 4, "\1\0\0\0", 4) != 0) return malformed(d, 4, "unknown binary version");
    d->pos = 8;

    int last = 0;
    while (d->pos < d->len) {
        size_t id_at = d->pos;
        uint8_t id = d->b[d->pos++];
        if (id > 12) return malformed(d, id_at, "malformed section id");
        if (id != 0) {
            int r = section_rank(id);
            if (r <= last) return malformed(d, id_at, "unexpected content after last section");
            last = r;
            if (r > section_rank(3) && !ensure_funcspace(d)) return false;
        }
        uint32_t size;
        if (!rd_len(d, &size)) return false;
        size_t start = d->pos, end = start + size;
        bool ok;
        switch (id) {
        case 0: ok = sec_custom(d, end); break;
        case 1: ok = sec_type(d); break;
        case 2: ok = sec_import(d); break;
        case 3: ok = sec_function(d); break;
        case 4: ok = sec_table(d); break;
        case 5: ok = sec_memory(d); break;
        case 6: ok = sec_global(d); break;
        case 7: ok = sec_export(d); break;
        case 8: ok = sec_start(d); break;
        case 9: ok = sec_elem(d); break;
        case 10: ok = sec_code(d); break;
        case 11: ok = sec_data(d); break;
        default: ok = sec_datacount(d); break;
        }
        if (!ok) return false;
        if (d->pos != end) return malformed(d, start, "section size mismatch");
    }
    if (!ensure_funcspace(d)) return false;
    if ((d->has_code ? d->code_count : 0) != m->nfuncdefs)
        return malformed(d, d->len, "function and code section have inconsistent lengths");
    if (m->has_datacount && m->datacount != m->ndatas)
        return malformed(d, d->len, "data count and data section have inconsistent lengths");
    if (m->nmems > 1) invalid(d, 0, "multiple memories");
    if (d->has_inv) {
        if (d->err) *d->err = d->inv;
        return false;
    }
    return true;
}

wm_module *wm_decode_module(wm_engine *engine, const uint8_t *bytes, size_t len, wm_error *err)
{
    return wm_decode_module_ex(engine, bytes, len, true, err);
}

bool wm_module_translate_pending(wm_module *m, wm_error *err)
{
    if (!m->bodies_pending) return true;
    for (uint32_t i = 0; i < m->nfuncdefs; i++)
        if (!wm_translate_function(m, i, err)) return false;
    m->bodies_pending = false;
    return true;
}

wm_module *wm_decode_module_ex(wm_engine *engine, const uint8_t *bytes, size_t len, bool translate, wm_error *err)
{
    if (len > UINT32_MAX) {
        wm_fail(err, WM_ERR_RESOURCE, 0, "module too large");
        return NULL;
    }
    wm_module *m = calloc(1, sizeof *m);
    if (!m) {
        wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory");
        return NULL;
    }
    m->engine = engine;
    m->bytes = malloc(len ? len : 1);
    if (!m->bytes) {
        free(m);
        wm_fail(err, WM_ERR_RESOURCE, 0, "out of memory");
        return NULL;
    }
    if (len) memcpy(m->bytes, bytes, len);
    m->len = len;

    dec d;
    memset(&d, 0, sizeof d);
    d.m = m;
    d.b = m->bytes;
    d.len = len;
    d.err = err;
    if (!decode_all(&d)) {
        wm_module_destroy(m);
        return NULL;
    }
    if (d.has_names) parse_names(&d);
    for (uint32_t i = 0; i < m->ntypes; i++) {
        wm_type *t = &m->types[i];
        t->canon_id = wm_engine_intern_type(engine, t->params, t->nparams, t->results, t->nresults);
    }
    m->bodies_pending = true;
    if (translate && !wm_module_translate_pending(m, err)) {
        wm_module_destroy(m);
        return NULL;
    }
    return m;
}

void wm_module_destroy(wm_module *m)
{
    if (!m) return;
    for (uint32_t i = 0; i < m->ntypes; i++) free(m->types[i].params);   /* results share it */
    free(m->types);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].module);
        free(m->imports[i].name);
    }
    free(m->imports);
    free(m->func_types);
    if (m->funcdefs) {
        for (uint32_t i = 0; i < m->nfuncdefs; i++) {
            free(m->funcdefs[i].local_types);
            wm_code_free(&m->funcdefs[i].code);
        }
    }
    free(m->funcdefs);
    free(m->tables);
    free(m->mems);
    free(m->global_types);
    free(m->globaldefs);
    for (uint32_t i = 0; i < m->nexports; i++) free(m->exports[i].name);
    free(m->exports);
    if (m->elems)
        for (uint32_t i = 0; i < m->nelems; i++) free(m->elems[i].items);
    free(m->elems);
    free(m->datas);
    free(m->declared_funcs);
    if (m->func_names) {
        for (uint32_t i = 0; i < m->nfuncs; i++) free(m->func_names[i]);
        free(m->func_names);
    }
    free(m->bytes);
    free(m);
}

/* ---- public accessors (wasmind.h) --------------------------------------------------------- */

static wm_functype functype_view(const wm_module *m, uint32_t ti)
{
    wm_functype f;
    memset(&f, 0, sizeof f);
    if (ti < m->ntypes) {
        const wm_type *t = &m->types[ti];
        f.nparams = t->nparams; f.nresults = t->nresults;
        f.params = t->params; f.results = t->results;
    }
    return f;
}

uint32_t wm_module_import_count(const wm_module *m)
{
    return m ? m->nimports : 0;
}

bool wm_module_import(const wm_module *m, uint32_t i, const char **module, const char **name, wm_externtype *type)
{
    if (!m || i >= m->nimports) return false;
    const wm_import *im = &m->imports[i];
    if (module) *module = im->module;
    if (name) *name = im->name;
    if (type) {
        memset(type, 0, sizeof *type);
        type->kind = im->kind;
        switch (im->kind) {
        case WM_EXTERN_FUNC: type->of.func = functype_view(m, im->type_index); break;
        case WM_EXTERN_TABLE: type->of.table = im->table; break;
        case WM_EXTERN_MEMORY: type->of.memory = im->memory; break;
        case WM_EXTERN_GLOBAL: type->of.global = im->global; break;
        }
    }
    return true;
}

uint32_t wm_module_export_count(const wm_module *m)
{
    return m ? m->nexports : 0;
}

bool wm_module_export(const wm_module *m, uint32_t i, const char **name, wm_externtype *type)
{
    if (!m || i >= m->nexports) return false;
    const wm_export *e = &m->exports[i];
    if (name) *name = e->name;
    if (type) {
        memset(type, 0, sizeof *type);
        type->kind = e->kind;
        switch (e->kind) {
        case WM_EXTERN_FUNC:
            if (e->index < m->nfuncs) type->of.func = functype_view(m, m->func_types[e->index]);
            break;
        case WM_EXTERN_TABLE:
            if (e->index < m->ntables) type->of.table = m->tables[e->index];
            break;
        case WM_EXTERN_MEMORY:
            if (e->index < m->nmems) type->of.memory = m->mems[e->index];
            break;
        case WM_EXTERN_GLOBAL:
            if (e->index < m->nglobals) type->of.global = m->global_types[e->index];
            break;
        }
    }
    return true;
}

const char *wm_module_func_name(const wm_module *m, uint32_t funcidx)
{
    if (!m || !m->func_names || funcidx >= m->nfuncs) return NULL;
    return m->func_names[funcidx];
}
