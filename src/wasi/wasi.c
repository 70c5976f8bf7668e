/* wasi.c — WASI preview1 host module: configuration, fd table, registration with the linker,
 * and the args/environ/clock/random/proc/sched functions. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_impl.h"

/* ---- errno translation ----------------------------------------------------------------- */
uint16_t wasi_errno(int e)
{
    switch (e) {
    case 0: return WE_SUCCESS;
    case E2BIG: return WE_2BIG;
    case EACCES: return WE_ACCES;
    case EADDRINUSE: return WE_ADDRINUSE;
    case EADDRNOTAVAIL: return WE_ADDRNOTAVAIL;
    case EAFNOSUPPORT: return WE_AFNOSUPPORT;
    case EAGAIN: return WE_AGAIN;
    case EALREADY: return WE_ALREADY;
    case EBADF: return WE_BADF;
    case EBADMSG: return WE_BADMSG;
    case EBUSY: return WE_BUSY;
    case ECANCELED: return WE_CANCELED;
    case ECHILD: return WE_CHILD;
    case ECONNABORTED: return WE_CONNABORTED;
    case ECONNREFUSED: return WE_CONNREFUSED;
    case ECONNRESET: return WE_CONNRESET;
    case EDEADLK: return WE_DEADLK;
    case EDESTADDRREQ: return WE_DESTADDRREQ;
    case EDOM: return WE_DOM;
    case EDQUOT: return WE_DQUOT;
    case EEXIST: return WE_EXIST;
    case EFAULT: return WE_FAULT;
    case EFBIG: return WE_FBIG;
    case EHOSTUNREACH: return WE_HOSTUNREACH;
    case EIDRM: return WE_IDRM;
    case EILSEQ: return WE_ILSEQ;
    case EINPROGRESS: return WE_INPROGRESS;
    case EINTR: return WE_INTR;
    case EINVAL: return WE_INVAL;
    case EIO: return WE_IO;
    case EISCONN: return WE_ISCONN;
    case EISDIR: return WE_ISDIR;
    case ELOOP: return WE_LOOP;
    case EMFILE: return WE_MFILE;
    case EMLINK: return WE_MLINK;
    case EMSGSIZE: return WE_MSGSIZE;
    case EMULTIHOP: return WE_MULTIHOP;
    case ENAMETOOLONG: return WE_NAMETOOLONG;
    case ENETDOWN: return WE_NETDOWN;
    case ENETRESET: return WE_NETRESET;
    case ENETUNREACH: return WE_NETUNREACH;
    case ENFILE: return WE_NFILE;
    case ENOBUFS: return WE_NOBUFS;
    case ENODEV: return WE_NODEV;
    case ENOENT: return WE_NOENT;
    case ENOEXEC: return WE_NOEXEC;
    case ENOLCK: return WE_NOLCK;
    case ENOLINK: return WE_NOLINK;
    case ENOMEM: return WE_NOMEM;
    case ENOMSG: return WE_NOMSG;
    case ENOPROTOOPT: return WE_NOPROTOOPT;
    case ENOSPC: return WE_NOSPC;
    case ENOSYS: return WE_NOSYS;
    case ENOTCONN: return WE_NOTCONN;
    case ENOTDIR: return WE_NOTDIR;
    case ENOTEMPTY: return WE_NOTEMPTY;
    case ENOTRECOVERABLE: return WE_NOTRECOVERABLE;
    case ENOTSOCK: return WE_NOTSOCK;
    case ENOTSUP: return WE_NOTSUP;
    case ENOTTY: return WE_NOTTY;
    case ENXIO: return WE_NXIO;
    case EOVERFLOW: return WE_OVERFLOW;
    case EOWNERDEAD: return WE_OWNERDEAD;
    case EPERM: return WE_PERM;
    case EPIPE: return WE_PIPE;
    case EPROTO: return WE_PROTO;
    case EPROTONOSUPPORT: return WE_PROTONOSUPPORT;
    case EPROTOTYPE: return WE_PROTOTYPE;
    case ERANGE: return WE_RANGE;
    case EROFS: return WE_ROFS;
    case ESPIPE: return WE_SPIPE;
    case ESRCH: return WE_SRCH;
    case ESTALE: return WE_STALE;
    case ETIMEDOUT: return WE_TIMEDOUT;
    case ETXTBSY: return WE_TXTBSY;
    case EXDEV: return WE_XDEV;
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK: return WE_AGAIN;
#endif
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return WE_NOTSUP;
#endif
    default: return WE_IO;
    }
}

/* ---- file types and rights ---------------------------------------------------------------- */
uint8_t wasi_filetype_of_mode(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return WT_REGULAR_FILE;
    case S_IFDIR: return WT_DIRECTORY;
    case S_IFCHR: return WT_CHARACTER_DEVICE;
    case S_IFBLK: return WT_BLOCK_DEVICE;
    case S_IFLNK: return WT_SYMBOLIC_LINK;
    case S_IFSOCK: return WT_SOCKET_STREAM;
    default: return WT_UNKNOWN;   /* FIFOs have no WASI type */
    }
}

uint8_t wasi_filetype_of_fd(int host)
{
    struct stat st;
    if (fstat(host, &st) != 0) return WT_UNKNOWN;
    uint8_t t = wasi_filetype_of_mode(st.st_mode);
    if (t == WT_SOCKET_STREAM) {
        int so = 0;
        socklen_t len = sizeof so;
        if (getsockopt(host, SOL_SOCKET, SO_TYPE, &so, &len) == 0 && so == SOCK_DGRAM) t = WT_SOCKET_DGRAM;
    }
    return t;
}

void wasi_rights_for(int host, uint8_t type, uint64_t *base, uint64_t *inh)
{
    switch (type) {
    case WT_REGULAR_FILE: *base = WR_FILE_BASE; *inh = 0; break;
    case WT_DIRECTORY: *base = WR_DIR_BASE; *inh = WR_DIR_INHERITING; break;
    case WT_SOCKET_STREAM:
    case WT_SOCKET_DGRAM: *base = WR_SOCK_BASE; *inh = WR_ALL; break;
    case WT_CHARACTER_DEVICE:
        if (isatty(host)) { *base = WR_TTY_BASE; *inh = 0; }
        else { *base = WR_ALL & ~(WR_DIR_BASE & ~WR_FILE_BASE); *inh = WR_ALL; }
        break;
    default: *base = WR_ALL & ~(WR_DIR_BASE & ~WR_FILE_BASE); *inh = WR_ALL; break;
    }
    int fl = fcntl(host, F_GETFL);
    if (fl >= 0 && type != WT_DIRECTORY) {
        if ((fl & O_ACCMODE) == O_RDONLY) *base &= ~(WR_FD_WRITE | WR_FD_DATASYNC | WR_FD_ALLOCATE | WR_FD_FILESTAT_SET_SIZE);
        if ((fl & O_ACCMODE) == O_WRONLY) *base &= ~(WR_FD_READ | WR_FD_READDIR);
    }
}

/* ---- fd table ---------------------------------------------------------------------------- */
void wasi_free_dents(wfd *f)
{
    for (uint32_t i = 0; i < f->ndents; i++) free(f->dents[i].name);
    free(f->dents);
    f->dents = NULL;
    f->ndents = 0;
    f->have_dents = false;
}

void wasi_closefd(wfd *f)
{
    if (!f->used) return;
    if (f->host >= 0) close(f->host);
    free(f->preopen);
    wasi_free_dents(f);
    memset(f, 0, sizeof *f);
    f->host = -1;
}

uint16_t wasi_getfd(wcall *c, uint32_t fd, uint64_t need_base, uint64_t need_inh, wfd **out)
{
    wm_wasi *w = c->w;
    if (fd >= w->nfds || !w->fds[fd].used) return WE_BADF;
    wfd *f = &w->fds[fd];
    if ((f->base & need_base) != need_base || (f->inh & need_inh) != need_inh) return WE_NOTCAPABLE;
    *out = f;
    return WE_SUCCESS;
}

#define WASI_MAX_FDS 65536u

uint16_t wasi_addfd(wm_wasi *w, int host, uint8_t type, uint16_t flags, uint64_t base, uint64_t inh, uint32_t *out)
{
    uint32_t i = 0;
    while (i < w->nfds && w->fds[i].used) i++;
    if (i == w->nfds) {
        if (w->nfds >= WASI_MAX_FDS) { close(host); return WE_NFILE; }
        uint32_t n = w->nfds ? w->nfds * 2 : 8;
        if (n > WASI_MAX_FDS) n = WASI_MAX_FDS;
        wfd *nf = realloc(w->fds, n * sizeof *nf);
        if (!nf) { close(host); return WE_NOMEM; }
        for (uint32_t j = w->nfds; j < n; j++) { memset(&nf[j], 0, sizeof nf[j]); nf[j].host = -1; }
        w->fds = nf;
        w->nfds = n;
    }
    wfd *f = &w->fds[i];
    memset(f, 0, sizeof *f);
    f->used = true;
    f->host = host;
    f->type = type;
    f->flags = flags;
    f->base = base;
    f->inh = inh;
    *out = i;
    return WE_SUCCESS;
}

/* ---- shared helpers ----------------------------------------------------------------------- */
uint16_t wasi_put_filestat(wcall *c, uint32_t ptr, const void *statbuf)
{
    const struct stat *st = statbuf;
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    uint64_t at = (uint64_t)st->st_atim.tv_sec * 1000000000ull + (uint64_t)st->st_atim.tv_nsec;
    uint64_t mt = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
    uint64_t ct = (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec;
    wg_put64(buf + 0, (uint64_t)st->st_dev);
    wg_put64(buf + 8, (uint64_t)st->st_ino);
    buf[16] = wasi_filetype_of_mode(st->st_mode);
    size_t n;
    if (c->unstable) {   /* snapshot 0: linkcount is u32 */
        wg_put32(buf + 20, (uint32_t)st->st_nlink);
        wg_put64(buf + 24, (uint64_t)st->st_size);
        wg_put64(buf + 32, at);
        wg_put64(buf + 40, mt);
        wg_put64(buf + 48, ct);
        n = 56;
    } else {
        wg_put64(buf + 24, (uint64_t)st->st_nlink);
        wg_put64(buf + 32, (uint64_t)st->st_size);
        wg_put64(buf + 40, at);
        wg_put64(buf + 48, mt);
        wg_put64(buf + 56, ct);
        n = 64;
    }
    uint8_t *d = wg_ptr(c, ptr, n);
    if (!d) return WE_FAULT;
    memcpy(d, buf, n);
    return WE_SUCCESS;
}

uint16_t wasi_iovecs(wcall *c, uint32_t iovs, uint32_t n, struct iovec **out, int *count)
{
    *out = NULL;
    *count = 0;
    const uint8_t *src = wg_ptr(c, iovs, (uint64_t)n * 8);
    if (!src) return WE_FAULT;
    if (n > IOV_MAX) n = IOV_MAX;   /* a short transfer is allowed */
    struct iovec *v = calloc(n ? n : 1, sizeof *v);
    if (!v) return WE_NOMEM;
    uint64_t total = 0;
    int k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = wg_le32(src + 8 * i), len = wg_le32(src + 8 * i + 4);
        uint8_t *b = wg_ptr(c, p, len);
        if (!b) { free(v); return WE_FAULT; }
        if (total + len > UINT32_MAX) len = (uint32_t)(UINT32_MAX - total);
        total += len;
        v[k].iov_base = b;
        v[k].iov_len = len;
        k++;
    }
    *out = v;
    *count = k;
    return WE_SUCCESS;
}

uint16_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (fst & ~(uint32_t)(WST_ATIM | WST_ATIM_NOW | WST_MTIM | WST_MTIM_NOW)) return WE_INVAL;
    if ((fst & WST_ATIM) && (fst & WST_ATIM_NOW)) return WE_INVAL;
    if ((fst & WST_MTIM) && (fst & WST_MTIM_NOW)) return WE_INVAL;
    ts[0].tv_sec = 0; ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = 0; ts[1].tv_nsec = UTIME_OMIT;
    if (fst & WST_ATIM_NOW) ts[0].tv_nsec = UTIME_NOW;
    else if (fst & WST_ATIM) { ts[0].tv_sec = (time_t)(atim / 1000000000ull); ts[0].tv_nsec = (long)(atim % 1000000000ull); }
    if (fst & WST_MTIM_NOW) ts[1].tv_nsec = UTIME_NOW;
    else if (fst & WST_MTIM) { ts[1].tv_sec = (time_t)(mtim / 1000000000ull); ts[1].tv_nsec = (long)(mtim % 1000000000ull); }
    return WE_SUCCESS;
}

/* ---- args / environ ------------------------------------------------------------------------ */
static uint16_t put_strings(wcall *c, char **strs, uint32_t n, uint64_t bytes, uint32_t ptrs, uint32_t buf)
{
    uint8_t *p = wg_ptr(c, ptrs, (uint64_t)n * 4);
    uint8_t *b = wg_ptr(c, buf, bytes);
    if (!p || !b) return WE_FAULT;
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(strs[i]) + 1;
        wg_put32(p + 4 * i, buf + off);
        memcpy(b + off, strs[i], len);
        off += (uint32_t)len;
    }
    return WE_SUCCESS;
}

static uint16_t h_args_get(wcall *c, const wm_val *a)
{ return put_strings(c, c->w->argv, c->w->argc, c->w->argv_bytes, WA_U32(0), WA_U32(1)); }
static uint16_t h_environ_get(wcall *c, const wm_val *a)
{ return put_strings(c, c->w->env, c->w->envc, c->w->env_bytes, WA_U32(0), WA_U32(1)); }

static uint16_t sizes(wcall *c, uint32_t n, uint64_t bytes, uint32_t p1, uint32_t p2)
{
    if (!wg_ptr(c, p1, 4) || !wg_ptr(c, p2, 4)) return WE_FAULT;
    wg_w32(c, p1, n);
    wg_w32(c, p2, (uint32_t)bytes);
    return WE_SUCCESS;
}
static uint16_t h_args_sizes_get(wcall *c, const wm_val *a) { return sizes(c, c->w->argc, c->w->argv_bytes, WA_U32(0), WA_U32(1)); }
static uint16_t h_environ_sizes_get(wcall *c, const wm_val *a) { return sizes(c, c->w->envc, c->w->env_bytes, WA_U32(0), WA_U32(1)); }

/* ---- clocks, random, process --------------------------------------------------------------- */
static bool host_clock(uint32_t id, clockid_t *out)
{
    switch (id) {
    case 0: *out = CLOCK_REALTIME; return true;
    case 1: *out = CLOCK_MONOTONIC; return true;
    case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
    case 3: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
    }
}

static uint16_t h_clock_res_get(wcall *c, const wm_val *a)
{
    clockid_t id;
    if (!host_clock(WA_U32(0), &id)) return WE_INVAL;
    if (!wg_ptr(c, WA_U32(1), 8)) return WE_FAULT;
    struct timespec ts;
    if (clock_getres(id, &ts) != 0) return wasi_errno(errno);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    wg_w64(c, WA_U32(1), ns ? ns : 1);
    return WE_SUCCESS;
}

static uint16_t h_clock_time_get(wcall *c, const wm_val *a)
{
    clockid_t id;
    if (!host_clock(WA_U32(0), &id)) return WE_INVAL;
    if (!wg_ptr(c, WA_U32(2), 8)) return WE_FAULT;
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return wasi_errno(errno);
    wg_w64(c, WA_U32(2), (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    return WE_SUCCESS;
}

static uint16_t h_random_get(wcall *c, const wm_val *a)
{
    uint32_t len = WA_U32(1);
    uint8_t *b = wg_ptr(c, WA_U32(0), len);
    if (!b) return WE_FAULT;
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(b + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return wasi_errno(errno);
        }
        done += (size_t)n;
    }
    return WE_SUCCESS;
}

static uint16_t h_proc_exit(wcall *c, const wm_val *a)
{
    c->w->exit_code = a[0].of.i32;
    c->w->exited = true;
    c->trap = wm_caller_exit(c->caller, a[0].of.i32);
    return 0;
}

static uint16_t h_proc_raise(wcall *c, const wm_val *a)
{
    (void)c; (void)a;
    return WE_NOSYS;   /* signals are not supported */
}

static uint16_t h_sched_yield(wcall *c, const wm_val *a)
{
    (void)c; (void)a;
    sched_yield();
    return WE_SUCCESS;
}

/* ---- registration ---------------------------------------------------------------------------- */
typedef struct wdesc {
    const char *name;
    const char *params;    /* 'i' = i32, 'I' = i64 */
    bool has_result;       /* errno result (everything but proc_exit) */
    bool preview1_only;    /* not in wasi_unstable */
    wasi_handler fn;
} wdesc;

static const wdesc WASI_FUNCS[] = {
    { "args_get", "ii", true, false, h_args_get },
    { "args_sizes_get", "ii", true, false, h_args_sizes_get },
    { "environ_get", "ii", true, false, h_environ_get },
    { "environ_sizes_get", "ii", true, false, h_environ_sizes_get },
    { "clock_res_get", "ii", true, false, h_clock_res_get },
    { "clock_time_get", "iIi", true, false, h_clock_time_get },
    { "fd_advise", "iIIi", true, false, wasi_fd_advise },
    { "fd_allocate", "iII", true, false, wasi_fd_allocate },
    { "fd_close", "i", true, false, wasi_fd_close },
    { "fd_datasync", "i", true, false, wasi_fd_datasync },
    { "fd_fdstat_get", "ii", true, false, wasi_fd_fdstat_get },
    { "fd_fdstat_set_flags", "ii", true, false, wasi_fd_fdstat_set_flags },
    { "fd_fdstat_set_rights", "iII", true, false, wasi_fd_fdstat_set_rights },
    { "fd_filestat_get", "ii", true, false, wasi_fd_filestat_get },
    { "fd_filestat_set_size", "iI", true, false, wasi_fd_filestat_set_size },
    { "fd_filestat_set_times", "iIIi", true, false, wasi_fd_filestat_set_times },
    { "fd_pread", "iiiIi", true, false, wasi_fd_pread },
    { "fd_prestat_get", "ii", true, false, wasi_fd_prestat_get },
    { "fd_prestat_dir_name", "iii", true, false, wasi_fd_prestat_dir_name },
    { "fd_pwrite", "iiiIi", true, false, wasi_fd_pwrite },
    { "fd_read", "iiii", true, false, wasi_fd_read },
    { "fd_readdir", "iiiIi", true, false, wasi_fd_readdir },
    { "fd_renumber", "ii", true, false, wasi_fd_renumber },
    { "fd_seek", "iIii", true, false, wasi_fd_seek },
    { "fd_sync", "i", true, false, wasi_fd_sync },
    { "fd_tell", "ii", true, false, wasi_fd_tell },
    { "fd_write", "iiii", true, false, wasi_fd_write },
    { "path_create_directory", "iii", true, false, wasi_path_create_directory },
    { "path_filestat_get", "iiiii", true, false, wasi_path_filestat_get },
    { "path_filestat_set_times", "iiiiIIi", true, false, wasi_path_filestat_set_times },
    { "path_link", "iiiiiii", true, false, wasi_path_link },
    { "path_open", "iiiiiIIii", true, false, wasi_path_open },
    { "path_readlink", "iiiiii", true, false, wasi_path_readlink },
    { "path_remove_directory", "iii", true, false, wasi_path_remove_directory },
    { "path_rename", "iiiiii", true, false, wasi_path_rename },
    { "path_symlink", "iiiii", true, false, wasi_path_symlink },
    { "path_unlink_file", "iii", true, false, wasi_path_unlink_file },
    { "poll_oneoff", "iiii", true, false, wasi_poll_oneoff },
    { "proc_exit", "i", false, false, h_proc_exit },
    { "proc_raise", "i", true, false, h_proc_raise },
    { "sched_yield", "", true, false, h_sched_yield },
    { "random_get", "ii", true, false, h_random_get },
    { "sock_accept", "iii", true, true, wasi_sock_accept },
    { "sock_recv", "iiiiii", true, false, wasi_sock_recv },
    { "sock_send", "iiiii", true, false, wasi_sock_send },
    { "sock_shutdown", "ii", true, false, wasi_sock_shutdown },
};
#define NFUNCS (sizeof WASI_FUNCS / sizeof WASI_FUNCS[0])

struct wbinding {
    wm_wasi *w;
    const wdesc *d;
    bool unstable;
};

static wm_trap wasi_dispatch(wm_caller *caller, void *env, const wm_val *args, wm_val *results)
{
    struct wbinding *b = env;
    wcall c;
    memset(&c, 0, sizeof c);
    c.w = b->w;
    c.caller = caller;
    c.unstable = b->unstable;
    wm_memory *mem = wm_caller_memory(caller);
    if (mem) {   /* re-read on every call: the memory may have grown */
        c.mem = wm_memory_data(mem);
        c.memsize = c.mem ? wm_memory_size(mem) : 0;
    }
    int saved = errno;
    uint16_t r = b->d->fn(&c, args);
    errno = saved;
    if (b->w->trace) {
        fprintf(stderr, "[wasi] %s(", b->d->name);
        for (size_t i = 0; b->d->params[i]; i++)
            fprintf(stderr, i ? ", %lld" : "%lld",
                    b->d->params[i] == 'I' ? (long long)args[i].of.i64 : (long long)args[i].of.i32);
        fprintf(stderr, ") = %u\n", (unsigned)r);
    }
    if (c.trap != WM_TRAP_NONE) return c.trap;
    if (b->d->has_result) results[0] = wm_val_i32(r);
    return WM_TRAP_NONE;
}

bool wm_wasi_define(wm_wasi *w, wm_linker *linker, wm_store *store)
{
    if (!w || !linker || !store) return false;
    if (!w->bindings) {
        w->bindings = calloc(2 * NFUNCS, sizeof *w->bindings);
        if (!w->bindings) return false;
        w->nbindings = 2 * NFUNCS;
    }
    static const char *const modules[2] = { "wasi_snapshot_preview1", "wasi_unstable" };
    for (int m = 0; m < 2; m++) {
        for (size_t i = 0; i < NFUNCS; i++) {
            const wdesc *d = &WASI_FUNCS[i];
            if (m == 1 && d->preview1_only) continue;
            struct wbinding *b = &w->bindings[m * NFUNCS + i];
            b->w = w;
            b->d = d;
            b->unstable = (m == 1);
            uint8_t params[16], result = WM_I32;
            uint32_t np = 0;
            for (const char *p = d->params; *p; p++) params[np++] = *p == 'I' ? WM_I64 : WM_I32;
            wm_functype t = { np, d->has_result ? 1u : 0u, params, &result };
            wm_func *f = wm_func_new(store, &t, wasi_dispatch, b, NULL);
            if (!f) return false;
            wm_extern ext;
            memset(&ext, 0, sizeof ext);
            ext.kind = WM_EXTERN_FUNC;
            ext.of.func = f;
            if (!wm_linker_define(linker, modules[m], d->name, ext)) return false;
        }
    }
    return true;
}

/* ---- lifecycle --------------------------------------------------------------------------------- */
static char **copy_strings(int n, const char *const *src, uint32_t *count, uint64_t *bytes)
{
    *count = 0;
    *bytes = 0;
    char **out = calloc(n > 0 ? (size_t)n : 1, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        const char *s = src && src[i] ? src[i] : "";
        out[i] = strdup(s);
        if (!out[i]) {
            for (int j = 0; j < i; j++) free(out[j]);
            free(out);
            return NULL;
        }
        *bytes += strlen(s) + 1;
    }
    *count = (uint32_t)(n > 0 ? n : 0);
    return out;
}

/* Makes sure slot idx exists (free or used). */
static bool ensure_slot(wm_wasi *w, uint32_t idx)
{
    if (idx < w->nfds) return true;
    uint32_t n = w->nfds ? w->nfds : 8;
    while (n <= idx) n *= 2;
    wfd *nf = realloc(w->fds, n * sizeof *nf);
    if (!nf) return false;
    for (uint32_t j = w->nfds; j < n; j++) { memset(&nf[j], 0, sizeof nf[j]); nf[j].host = -1; }
    w->fds = nf;
    w->nfds = n;
    return true;
}

/* Puts host fd (owned) at guest slot idx. */
static bool place_fd(wm_wasi *w, uint32_t idx, int host, uint8_t type, uint16_t flags, uint64_t base, uint64_t inh)
{
    if (!ensure_slot(w, idx)) { close(host); return false; }
    wfd *f = &w->fds[idx];
    memset(f, 0, sizeof *f);
    f->used = true;
    f->host = host;
    f->type = type;
    f->flags = flags;
    f->base = base;
    f->inh = inh;
    return true;
}

static bool add_host_fd(wm_wasi *w, int hostfd, uint32_t idx, char *err, size_t errlen)
{
    if (hostfd < 0) return ensure_slot(w, idx);   /* closed: the guest sees EBADF */
    int d = fcntl(hostfd, F_DUPFD_CLOEXEC, 3);
    if (d < 0) {
        snprintf(err, errlen, "cannot use host fd %d for guest fd %u: %s", hostfd, idx, strerror(errno));
        return false;
    }
    uint8_t type = wasi_filetype_of_fd(d);
    uint64_t base, inh;
    wasi_rights_for(d, type, &base, &inh);
    uint16_t flags = 0;
    int fl = fcntl(d, F_GETFL);
    if (fl >= 0) {
        if (fl & O_APPEND) flags |= WF_APPEND;
        if (fl & O_NONBLOCK) flags |= WF_NONBLOCK;
    }
    if (!place_fd(w, idx, d, type, flags, base, inh)) { snprintf(err, errlen, "out of memory"); return false; }
    return true;
}

wm_wasi *wm_wasi_new(const wm_wasi_config *cfg, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || errlen == 0) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    if (!cfg) { snprintf(err, errlen, "no WASI configuration"); return NULL; }
    wm_wasi *w = calloc(1, sizeof *w);
    if (!w) { snprintf(err, errlen, "out of memory"); return NULL; }
    const char *mode = getenv("WASMIND_WASI_RESOLVE");
    w->no_openat2 = (mode && strcmp(mode, "fallback") == 0) || !wasi_openat2_works();
    const char *trace = getenv("WASMIND_WASI_TRACE");
    w->trace = trace && *trace && strcmp(trace, "0") != 0;
    w->argv = copy_strings(cfg->argc, cfg->argv, &w->argc, &w->argv_bytes);
    w->env = copy_strings(cfg->envc, cfg->env, &w->envc, &w->env_bytes);
    if (!w->argv || !w->env) { snprintf(err, errlen, "out of memory"); goto fail; }
    if (w->argv_bytes > UINT32_MAX || w->env_bytes > UINT32_MAX) { snprintf(err, errlen, "arguments or environment too large"); goto fail; }
    for (uint32_t i = 0; i < w->envc; i++)
        if (!strchr(w->env[i], '=')) { snprintf(err, errlen, "environment entry `%s` is not of the form KEY=VALUE", w->env[i]); goto fail; }

    const int stdio[3] = { cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd };
    for (uint32_t i = 0; i < 3; i++)
        if (!add_host_fd(w, stdio[i], i, err, errlen)) goto fail;

    for (int i = 0; i < cfg->npreopens; i++) {
        const char *host = cfg->preopen_host ? cfg->preopen_host[i] : NULL;
        const char *guest = cfg->preopen_guest && cfg->preopen_guest[i] ? cfg->preopen_guest[i] : host;
        if (!host || !*host) { snprintf(err, errlen, "preopen %d has no host directory", i); goto fail; }
        int d = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) { snprintf(err, errlen, "cannot open directory `%s`: %s", host, strerror(errno)); goto fail; }
        uint32_t slot = 3 + (uint32_t)i;
        if (!place_fd(w, slot, d, WT_DIRECTORY, 0, WR_DIR_BASE, WR_DIR_INHERITING)) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        w->fds[slot].preopen = strdup(guest);
        if (!w->fds[slot].preopen) { snprintf(err, errlen, "out of memory"); goto fail; }
    }
    for (int i = 0; i < cfg->nsockets; i++) {
        int s = cfg->socket_fds ? cfg->socket_fds[i] : -1;
        int d = s >= 0 ? fcntl(s, F_DUPFD_CLOEXEC, 3) : -1;
        if (d < 0) { snprintf(err, errlen, "cannot use socket fd %d: %s", s, strerror(errno)); goto fail; }
        uint8_t type = wasi_filetype_of_fd(d);
        if (type != WT_SOCKET_STREAM && type != WT_SOCKET_DGRAM) {
            close(d);
            snprintf(err, errlen, "host fd %d is not a socket", s);
            goto fail;
        }
        uint16_t flags = (fcntl(d, F_GETFL) & O_NONBLOCK) ? WF_NONBLOCK : 0;
        if (!place_fd(w, 3 + (uint32_t)(cfg->npreopens > 0 ? cfg->npreopens : 0) + (uint32_t)i, d, type, flags,
                      WR_SOCK_BASE | WR_SOCK_ACCEPT, WR_ALL)) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return w;
fail:
    wm_wasi_free(w);
    return NULL;
}

int wm_wasi_exit_code(const wm_wasi *w) { return w ? w->exit_code : 0; }
bool wm_wasi_exited(const wm_wasi *w) { return w && w->exited; }

void wm_wasi_free(wm_wasi *w)
{
    if (!w) return;
    for (uint32_t i = 0; i < w->nfds; i++) wasi_closefd(&w->fds[i]);
    free(w->fds);
    if (w->argv) for (uint32_t i = 0; i < w->argc; i++) free(w->argv[i]);
    if (w->env) for (uint32_t i = 0; i < w->envc; i++) free(w->env[i]);
    free(w->argv);
    free(w->env);
    free(w->bindings);
    free(w);
}
