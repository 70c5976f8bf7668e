/* wasi_impl.h — internals shared by the WASI host module's sources: errno/rights/type constants
 * from the preview1 witx, the guest fd table, bounds-checked guest memory access. */
#ifndef WASMIND_WASI_IMPL_H
#define WASMIND_WASI_IMPL_H

#include <stdint.h>
#include <string.h>

#include "wasi.h"

/* ---- errno (witx `errno`, u16) ---- */
enum {
    WE_SUCCESS = 0, WE_2BIG = 1, WE_ACCES = 2, WE_ADDRINUSE = 3, WE_ADDRNOTAVAIL = 4,
    WE_AFNOSUPPORT = 5, WE_AGAIN = 6, WE_ALREADY = 7, WE_BADF = 8, WE_BADMSG = 9, WE_BUSY = 10,
    WE_CANCELED = 11, WE_CHILD = 12, WE_CONNABORTED = 13, WE_CONNREFUSED = 14, WE_CONNRESET = 15,
    WE_DEADLK = 16, WE_DESTADDRREQ = 17, WE_DOM = 18, WE_DQUOT = 19, WE_EXIST = 20, WE_FAULT = 21,
    WE_FBIG = 22, WE_HOSTUNREACH = 23, WE_IDRM = 24, WE_ILSEQ = 25, WE_INPROGRESS = 26,
    WE_INTR = 27, WE_INVAL = 28, WE_IO = 29, WE_ISCONN = 30, WE_ISDIR = 31, WE_LOOP = 32,
    WE_MFILE = 33, WE_MLINK = 34, WE_MSGSIZE = 35, WE_MULTIHOP = 36, WE_NAMETOOLONG = 37,
    WE_NETDOWN = 38, WE_NETRESET = 39, WE_NETUNREACH = 40, WE_NFILE = 41, WE_NOBUFS = 42,
    WE_NODEV = 43, WE_NOENT = 44, WE_NOEXEC = 45, WE_NOLCK = 46, WE_NOLINK = 47, WE_NOMEM = 48,
    WE_NOMSG = 49, WE_NOPROTOOPT = 50, WE_NOSPC = 51, WE_NOSYS = 52, WE_NOTCONN = 53,
    WE_NOTDIR = 54, WE_NOTEMPTY = 55, WE_NOTRECOVERABLE = 56, WE_NOTSOCK = 57, WE_NOTSUP = 58,
    WE_NOTTY = 59, WE_NXIO = 60, WE_OVERFLOW = 61, WE_OWNERDEAD = 62, WE_PERM = 63, WE_PIPE = 64,
    WE_PROTO = 65, WE_PROTONOSUPPORT = 66, WE_PROTOTYPE = 67, WE_RANGE = 68, WE_ROFS = 69,
    WE_SPIPE = 70, WE_SRCH = 71, WE_STALE = 72, WE_TIMEDOUT = 73, WE_TXTBSY = 74, WE_XDEV = 75,
    WE_NOTCAPABLE = 76
};

/* ---- rights (u64) ---- */
#define WR_FD_DATASYNC             (1ull << 0)
#define WR_FD_READ                 (1ull << 1)
#define WR_FD_SEEK                 (1ull << 2)
#define WR_FD_FDSTAT_SET_FLAGS     (1ull << 3)
#define WR_FD_SYNC                 (1ull << 4)
#define WR_FD_TELL                 (1ull << 5)
#define WR_FD_WRITE                (1ull << 6)
#define WR_FD_ADVISE               (1ull << 7)
#define WR_FD_ALLOCATE             (1ull << 8)
#define WR_PATH_CREATE_DIRECTORY   (1ull << 9)
#define WR_PATH_CREATE_FILE        (1ull << 10)
#define WR_PATH_LINK_SOURCE        (1ull << 11)
#define WR_PATH_LINK_TARGET        (1ull << 12)
#define WR_PATH_OPEN               (1ull << 13)
#define WR_FD_READDIR              (1ull << 14)
#define WR_PATH_READLINK           (1ull << 15)
#define WR_PATH_RENAME_SOURCE      (1ull << 16)
#define WR_PATH_RENAME_TARGET      (1ull << 17)
#define WR_PATH_FILESTAT_GET       (1ull << 18)
#define WR_PATH_FILESTAT_SET_SIZE  (1ull << 19)
#define WR_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define WR_FD_FILESTAT_GET         (1ull << 21)
#define WR_FD_FILESTAT_SET_SIZE    (1ull << 22)
#define WR_FD_FILESTAT_SET_TIMES   (1ull << 23)
#define WR_PATH_SYMLINK            (1ull << 24)
#define WR_PATH_REMOVE_DIRECTORY   (1ull << 25)
#define WR_PATH_UNLINK_FILE        (1ull << 26)
#define WR_POLL_FD_READWRITE       (1ull << 27)
#define WR_SOCK_SHUTDOWN           (1ull << 28)
#define WR_SOCK_ACCEPT             (1ull << 29)
#define WR_ALL                     ((1ull << 30) - 1)

/* Largest rights per file type (as uvwasi and the original wasi-common). */
#define WR_FILE_BASE (WR_FD_DATASYNC | WR_FD_READ | WR_FD_SEEK | WR_FD_FDSTAT_SET_FLAGS | WR_FD_SYNC | \
                      WR_FD_TELL | WR_FD_WRITE | WR_FD_ADVISE | WR_FD_ALLOCATE | WR_FD_FILESTAT_GET | \
                      WR_FD_FILESTAT_SET_SIZE | WR_FD_FILESTAT_SET_TIMES | WR_POLL_FD_READWRITE)
#define WR_DIR_BASE (WR_FD_FDSTAT_SET_FLAGS | WR_FD_SYNC | WR_FD_ADVISE | WR_PATH_CREATE_DIRECTORY | \
                     WR_PATH_CREATE_FILE | WR_PATH_LINK_SOURCE | WR_PATH_LINK_TARGET | WR_PATH_OPEN | \
                     WR_FD_READDIR | WR_PATH_READLINK | WR_PATH_RENAME_SOURCE | WR_PATH_RENAME_TARGET | \
                     WR_PATH_FILESTAT_GET | WR_PATH_FILESTAT_SET_SIZE | WR_PATH_FILESTAT_SET_TIMES | \
                     WR_FD_FILESTAT_GET | WR_FD_FILESTAT_SET_TIMES | WR_PATH_SYMLINK | \
                     WR_PATH_REMOVE_DIRECTORY | WR_PATH_UNLINK_FILE | WR_POLL_FD_READWRITE)
#define WR_DIR_INHERITING (WR_DIR_BASE | WR_FILE_BASE)
#define WR_TTY_BASE (WR_FD_READ | WR_FD_FDSTAT_SET_FLAGS | WR_FD_WRITE | WR_FD_FILESTAT_GET | WR_POLL_FD_READWRITE)
#define WR_SOCK_BASE (WR_FD_READ | WR_FD_FDSTAT_SET_FLAGS | WR_FD_WRITE | WR_FD_FILESTAT_GET | \
                      WR_POLL_FD_READWRITE | WR_SOCK_SHUTDOWN)

/* ---- filetype, flags ---- */
enum {
    WT_UNKNOWN = 0, WT_BLOCK_DEVICE = 1, WT_CHARACTER_DEVICE = 2, WT_DIRECTORY = 3,
    WT_REGULAR_FILE = 4, WT_SOCKET_DGRAM = 5, WT_SOCKET_STREAM = 6, WT_SYMBOLIC_LINK = 7
};
#define WF_APPEND   0x1
#define WF_DSYNC    0x2
#define WF_NONBLOCK 0x4
#define WF_RSYNC    0x8
#define WF_SYNC     0x10
#define WF_ALL      0x1f
#define WO_CREAT     0x1
#define WO_DIRECTORY 0x2
#define WO_EXCL      0x4
#define WO_TRUNC     0x8
#define WO_ALL       0xf
#define WST_ATIM     0x1
#define WST_ATIM_NOW 0x2
#define WST_MTIM     0x4
#define WST_MTIM_NOW 0x8
#define WL_SYMLINK_FOLLOW 0x1

/* ---- fd table ---- */
typedef struct wdirent { uint64_t ino; uint8_t type; uint32_t namelen; char *name; } wdirent;

typedef struct wfd {
    bool used;
    int host;                 /* owned host fd */
    uint8_t type;             /* WT_* */
    uint16_t flags;           /* fdflags as last set */
    uint64_t base, inh;       /* rights */
    char *preopen;            /* guest name of a preopened directory, else NULL */
    wdirent *dents;           /* fd_readdir snapshot, taken at cookie 0 */
    uint32_t ndents;
    bool have_dents;
} wfd;

struct wbinding;

struct wm_wasi {
    char **argv; uint32_t argc; uint64_t argv_bytes;
    char **env; uint32_t envc; uint64_t env_bytes;
    wfd *fds; uint32_t nfds;
    int exit_code; bool exited;
    bool no_openat2;
    bool trace;               /* WASMIND_WASI_TRACE=1: log every call to stderr */
    struct wbinding *bindings; uint32_t nbindings;
};

/* One host call in progress. */
typedef struct wcall {
    wm_wasi *w;
    wm_caller *caller;
    uint8_t *mem; uint64_t memsize;
    bool unstable;            /* wasi_unstable layouts (filestat, whence, subscription) */
    wm_trap trap;             /* set by proc_exit */
} wcall;

/* Guest memory [ptr, ptr+len) or NULL if out of bounds. Never NULL for an in-bounds range. */
static inline uint8_t *wg_ptr(wcall *c, uint32_t ptr, uint64_t len)
{
    static uint8_t empty[1];
    if ((uint64_t)ptr + len > c->memsize) return NULL;
    return c->mem ? c->mem + ptr : empty;
}
static inline bool wg_w8(wcall *c, uint32_t p, uint8_t v) { uint8_t *d = wg_ptr(c, p, 1); if (!d) return false; *d = v; return true; }
static inline bool wg_w16(wcall *c, uint32_t p, uint16_t v) { uint8_t *d = wg_ptr(c, p, 2); if (!d) return false; d[0] = (uint8_t)v; d[1] = (uint8_t)(v >> 8); return true; }
static inline bool wg_w32(wcall *c, uint32_t p, uint32_t v)
{
    uint8_t *d = wg_ptr(c, p, 4);
    if (!d) return false;
    for (int i = 0; i < 4; i++) d[i] = (uint8_t)(v >> (8 * i));
    return true;
}
static inline bool wg_w64(wcall *c, uint32_t p, uint64_t v)
{
    uint8_t *d = wg_ptr(c, p, 8);
    if (!d) return false;
    for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i));
    return true;
}
static inline uint32_t wg_le32(const uint8_t *s) { return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24; }
static inline uint64_t wg_le64(const uint8_t *s) { return (uint64_t)wg_le32(s) | (uint64_t)wg_le32(s + 4) << 32; }
static inline uint16_t wg_le16(const uint8_t *s) { return (uint16_t)(s[0] | s[1] << 8); }
static inline void wg_put16(uint8_t *d, uint16_t v) { d[0] = (uint8_t)v; d[1] = (uint8_t)(v >> 8); }
static inline void wg_put32(uint8_t *d, uint32_t v) { for (int i = 0; i < 4; i++) d[i] = (uint8_t)(v >> (8 * i)); }
static inline void wg_put64(uint8_t *d, uint64_t v) { for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i)); }

/* wasi.c */
uint16_t wasi_errno(int host_errno);
uint16_t wasi_getfd(wcall *c, uint32_t fd, uint64_t need_base, uint64_t need_inh, wfd **out);
/* Takes ownership of host; returns the new guest fd number in *out (lowest free >= 0). */
uint16_t wasi_addfd(wm_wasi *w, int host, uint8_t type, uint16_t flags, uint64_t base, uint64_t inh, uint32_t *out);
void wasi_closefd(wfd *f);
uint8_t wasi_filetype_of_mode(unsigned mode);
uint8_t wasi_filetype_of_fd(int host);
void wasi_rights_for(int host, uint8_t type, uint64_t *base, uint64_t *inh);
/* Writes a filestat (64 bytes, or 56 in the wasi_unstable layout). */
uint16_t wasi_put_filestat(wcall *c, uint32_t ptr, const void *statbuf);
void wasi_free_dents(wfd *f);
/* Gathers guest iovecs (8 bytes each) into host iovecs; total capped at UINT32_MAX. */
struct iovec;
uint16_t wasi_iovecs(wcall *c, uint32_t iovs, uint32_t n, struct iovec **out, int *count);

/* Handler functions: args are the raw wasm values; return a WASI errno. */
typedef uint16_t (*wasi_handler)(wcall *c, const wm_val *a);

uint16_t wasi_fd_advise(wcall *c, const wm_val *a);
uint16_t wasi_fd_allocate(wcall *c, const wm_val *a);
uint16_t wasi_fd_close(wcall *c, const wm_val *a);
uint16_t wasi_fd_datasync(wcall *c, const wm_val *a);
uint16_t wasi_fd_fdstat_get(wcall *c, const wm_val *a);
uint16_t wasi_fd_fdstat_set_flags(wcall *c, const wm_val *a);
uint16_t wasi_fd_fdstat_set_rights(wcall *c, const wm_val *a);
uint16_t wasi_fd_filestat_get(wcall *c, const wm_val *a);
uint16_t wasi_fd_filestat_set_size(wcall *c, const wm_val *a);
uint16_t wasi_fd_filestat_set_times(wcall *c, const wm_val *a);
uint16_t wasi_fd_pread(wcall *c, const wm_val *a);
uint16_t wasi_fd_prestat_get(wcall *c, const wm_val *a);
uint16_t wasi_fd_prestat_dir_name(wcall *c, const wm_val *a);
uint16_t wasi_fd_pwrite(wcall *c, const wm_val *a);
uint16_t wasi_fd_read(wcall *c, const wm_val *a);
uint16_t wasi_fd_readdir(wcall *c, const wm_val *a);
uint16_t wasi_fd_renumber(wcall *c, const wm_val *a);
uint16_t wasi_fd_seek(wcall *c, const wm_val *a);
uint16_t wasi_fd_sync(wcall *c, const wm_val *a);
uint16_t wasi_fd_tell(wcall *c, const wm_val *a);
uint16_t wasi_fd_write(wcall *c, const wm_val *a);

uint16_t wasi_path_create_directory(wcall *c, const wm_val *a);
uint16_t wasi_path_filestat_get(wcall *c, const wm_val *a);
uint16_t wasi_path_filestat_set_times(wcall *c, const wm_val *a);
uint16_t wasi_path_link(wcall *c, const wm_val *a);
uint16_t wasi_path_open(wcall *c, const wm_val *a);
uint16_t wasi_path_readlink(wcall *c, const wm_val *a);
uint16_t wasi_path_remove_directory(wcall *c, const wm_val *a);
uint16_t wasi_path_rename(wcall *c, const wm_val *a);
uint16_t wasi_path_symlink(wcall *c, const wm_val *a);
uint16_t wasi_path_unlink_file(wcall *c, const wm_val *a);
bool wasi_openat2_works(void);

uint16_t wasi_poll_oneoff(wcall *c, const wm_val *a);
uint16_t wasi_sock_accept(wcall *c, const wm_val *a);
uint16_t wasi_sock_recv(wcall *c, const wm_val *a);
uint16_t wasi_sock_send(wcall *c, const wm_val *a);
uint16_t wasi_sock_shutdown(wcall *c, const wm_val *a);

/* fstflags -> timespec[2] for utimensat/futimens. */
struct timespec;
uint16_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

#define WA_U32(i) ((uint32_t)a[i].of.i32)
#define WA_U64(i) ((uint64_t)a[i].of.i64)

#endif
