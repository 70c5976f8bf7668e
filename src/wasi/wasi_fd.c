/* wasi_fd.c — WASI preview1 fd_* functions: read/write/seek, fdstat, filestat, prestat,
 * readdir (index cookies over a snapshot), renumber, with per-fd rights checks. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_impl.h"

#define GETFD(fdv, nb, ni)                                           \
    wfd *f;                                                          \
    do {                                                             \
        uint16_t e_ = wasi_getfd(c, (fdv), (nb), (ni), &f);          \
        if (e_) return e_;                                           \
    } while (0)

/* ---- read / write --------------------------------------------------------------------------- */
static uint16_t do_rw(wcall *c, const wm_val *a, bool write, bool positional)
{
    uint32_t fd = WA_U32(0), iovs = WA_U32(1), niovs = WA_U32(2);
    uint32_t outp = positional ? WA_U32(4) : WA_U32(3);
    uint64_t off = positional ? WA_U64(3) : 0;
    uint64_t need = (write ? WR_FD_WRITE : WR_FD_READ) | (positional ? WR_FD_SEEK : 0);
    GETFD(fd, need, 0);
    if (!wg_ptr(c, outp, 4)) return WE_FAULT;
    if (positional && off > (uint64_t)INT64_MAX) return WE_INVAL;
    struct iovec *v;
    int n;
    uint16_t e = wasi_iovecs(c, iovs, niovs, &v, &n);
    if (e) return e;
    ssize_t r;
    do {
        if (n == 0) r = 0;
        else if (positional) r = write ? pwritev(f->host, v, n, (off_t)off) : preadv(f->host, v, n, (off_t)off);
        else if (write && (f->type == WT_SOCKET_STREAM || f->type == WT_SOCKET_DGRAM)) {
            struct msghdr mh;
            memset(&mh, 0, sizeof mh);
            mh.msg_iov = v;
            mh.msg_iovlen = (size_t)n;
            r = sendmsg(f->host, &mh, MSG_NOSIGNAL);
        } else r = write ? writev(f->host, v, n) : readv(f->host, v, n);
    } while (r < 0 && errno == EINTR);
    int err = errno;
    free(v);
    if (r < 0) return wasi_errno(err);
    wg_w32(c, outp, (uint32_t)r);
    return WE_SUCCESS;
}

uint16_t wasi_fd_read(wcall *c, const wm_val *a) { return do_rw(c, a, false, false); }
uint16_t wasi_fd_write(wcall *c, const wm_val *a) { return do_rw(c, a, true, false); }
uint16_t wasi_fd_pread(wcall *c, const wm_val *a) { return do_rw(c, a, false, true); }
uint16_t wasi_fd_pwrite(wcall *c, const wm_val *a) { return do_rw(c, a, true, true); }

/* ---- seek / tell ---------------------------------------------------------------------------- */
uint16_t wasi_fd_seek(wcall *c, const wm_val *a)
{
    int64_t off = a[1].of.i64;
    uint32_t whence = WA_U32(2), outp = WA_U32(3);
    int hw;
    if (c->unstable) {   /* snapshot 0: cur=0, end=1, set=2 */
        switch (whence) { case 0: hw = SEEK_CUR; break; case 1: hw = SEEK_END; break; case 2: hw = SEEK_SET; break; default: return WE_INVAL; }
    } else {
        switch (whence) { case 0: hw = SEEK_SET; break; case 1: hw = SEEK_CUR; break; case 2: hw = SEEK_END; break; default: return WE_INVAL; }
    }
    uint64_t need = (off == 0 && hw == SEEK_CUR) ? WR_FD_TELL : (WR_FD_SEEK | WR_FD_TELL);
    GETFD(WA_U32(0), need, 0);
    if (!wg_ptr(c, outp, 8)) return WE_FAULT;
    off_t r = lseek(f->host, (off_t)off, hw);
    if (r < 0) return wasi_errno(errno);
    wg_w64(c, outp, (uint64_t)r);
    return WE_SUCCESS;
}

uint16_t wasi_fd_tell(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), WR_FD_TELL, 0);
    if (!wg_ptr(c, WA_U32(1), 8)) return WE_FAULT;
    off_t r = lseek(f->host, 0, SEEK_CUR);
    if (r < 0) return wasi_errno(errno);
    wg_w64(c, WA_U32(1), (uint64_t)r);
    return WE_SUCCESS;
}

/* ---- close / renumber ----------------------------------------------------------------------- */
uint16_t wasi_fd_close(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), 0, 0);
    wasi_closefd(f);
    return WE_SUCCESS;
}

uint16_t wasi_fd_renumber(wcall *c, const wm_val *a)
{
    uint32_t from = WA_U32(0), to = WA_U32(1);
    wfd *ff, *ft;
    uint16_t e = wasi_getfd(c, from, 0, 0, &ff);
    if (e) return e;
    e = wasi_getfd(c, to, 0, 0, &ft);
    if (e) return e;
    if (from == to) return WE_SUCCESS;
    wasi_closefd(ft);
    *ft = *ff;
    memset(ff, 0, sizeof *ff);
    ff->host = -1;
    return WE_SUCCESS;
}

/* ---- sync / advise / allocate ----------------------------------------------------------------- */
uint16_t wasi_fd_datasync(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), WR_FD_DATASYNC, 0);
    return fdatasync(f->host) == 0 ? WE_SUCCESS : wasi_errno(errno);
}

uint16_t wasi_fd_sync(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), WR_FD_SYNC, 0);
    return fsync(f->host) == 0 ? WE_SUCCESS : wasi_errno(errno);
}

uint16_t wasi_fd_advise(wcall *c, const wm_val *a)
{
    uint64_t off = WA_U64(1), len = WA_U64(2);
    uint32_t advice = WA_U32(3);
    static const int map[6] = { POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE };
    if (advice > 5) return WE_INVAL;
    GETFD(WA_U32(0), WR_FD_ADVISE, 0);
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX) return WE_INVAL;
    int r = posix_fadvise(f->host, (off_t)off, (off_t)len, map[advice]);
    return r == 0 ? WE_SUCCESS : wasi_errno(r);
}

uint16_t wasi_fd_allocate(wcall *c, const wm_val *a)
{
    uint64_t off = WA_U64(1), len = WA_U64(2);
    GETFD(WA_U32(0), WR_FD_ALLOCATE, 0);
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX) return WE_INVAL;
    if (off + len > (uint64_t)INT64_MAX) return WE_FBIG;
    int r;
    do r = posix_fallocate(f->host, (off_t)off, (off_t)len); while (r == EINTR);
    return r == 0 ? WE_SUCCESS : wasi_errno(r);
}

/* ---- fdstat ----------------------------------------------------------------------------------- */
uint16_t wasi_fd_fdstat_get(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), 0, 0);
    uint8_t *d = wg_ptr(c, WA_U32(1), 24);
    if (!d) return WE_FAULT;
    uint16_t flags = f->flags & (WF_DSYNC | WF_RSYNC | WF_SYNC);
    int fl = fcntl(f->host, F_GETFL);
    if (fl >= 0) {
        if (fl & O_APPEND) flags |= WF_APPEND;
        if (fl & O_NONBLOCK) flags |= WF_NONBLOCK;
    }
    memset(d, 0, 24);
    d[0] = f->type;
    wg_put16(d + 2, flags);
    wg_put64(d + 8, f->base);
    wg_put64(d + 16, f->inh);
    return WE_SUCCESS;
}

uint16_t wasi_fd_fdstat_set_flags(wcall *c, const wm_val *a)
{
    uint32_t flags = WA_U32(1);
    if (flags & ~(uint32_t)WF_ALL) return WE_INVAL;
    GETFD(WA_U32(0), WR_FD_FDSTAT_SET_FLAGS, 0);
    /* Linux cannot change the synchronisation flags of an open file. */
    if ((flags & (WF_DSYNC | WF_RSYNC | WF_SYNC)) != (f->flags & (WF_DSYNC | WF_RSYNC | WF_SYNC))) return WE_NOTSUP;
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0) return wasi_errno(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & WF_APPEND) fl |= O_APPEND;
    if (flags & WF_NONBLOCK) fl |= O_NONBLOCK;
    if (fcntl(f->host, F_SETFL, fl) != 0) return wasi_errno(errno);
    f->flags = (uint16_t)flags;
    return WE_SUCCESS;
}

uint16_t wasi_fd_fdstat_set_rights(wcall *c, const wm_val *a)
{
    uint64_t base = WA_U64(1), inh = WA_U64(2);
    GETFD(WA_U32(0), 0, 0);
    if ((base & ~f->base) || (inh & ~f->inh)) return WE_NOTCAPABLE;   /* rights can only be dropped */
    f->base = base;
    f->inh = inh;
    return WE_SUCCESS;
}

/* ---- filestat --------------------------------------------------------------------------------- */
uint16_t wasi_fd_filestat_get(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), WR_FD_FILESTAT_GET, 0);
    if (!wg_ptr(c, WA_U32(1), c->unstable ? 56 : 64)) return WE_FAULT;
    struct stat st;
    if (fstat(f->host, &st) != 0) return wasi_errno(errno);
    uint16_t e = wasi_put_filestat(c, WA_U32(1), &st);
    if (!e && (f->type == WT_SOCKET_DGRAM || f->type == WT_SOCKET_STREAM)) {
        uint8_t *d = wg_ptr(c, WA_U32(1) + 16, 1);
        *d = f->type;
    }
    return e;
}

uint16_t wasi_fd_filestat_set_size(wcall *c, const wm_val *a)
{
    uint64_t size = WA_U64(1);
    GETFD(WA_U32(0), WR_FD_FILESTAT_SET_SIZE, 0);
    if (size > (uint64_t)INT64_MAX) return WE_INVAL;
    int r;
    do r = ftruncate(f->host, (off_t)size); while (r != 0 && errno == EINTR);
    return r == 0 ? WE_SUCCESS : wasi_errno(errno);
}

uint16_t wasi_fd_filestat_set_times(wcall *c, const wm_val *a)
{
    struct timespec ts[2];
    uint16_t e = wasi_times(WA_U64(1), WA_U64(2), WA_U32(3), ts);
    if (e) return e;
    GETFD(WA_U32(0), WR_FD_FILESTAT_SET_TIMES, 0);
    return futimens(f->host, ts) == 0 ? WE_SUCCESS : wasi_errno(errno);
}

/* ---- prestat ---------------------------------------------------------------------------------- */
uint16_t wasi_fd_prestat_get(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), 0, 0);
    if (!f->preopen) return WE_BADF;
    uint8_t *d = wg_ptr(c, WA_U32(1), 8);
    if (!d) return WE_FAULT;
    memset(d, 0, 8);
    d[0] = 0;   /* preopentype dir */
    wg_put32(d + 4, (uint32_t)strlen(f->preopen));
    return WE_SUCCESS;
}

uint16_t wasi_fd_prestat_dir_name(wcall *c, const wm_val *a)
{
    GETFD(WA_U32(0), 0, 0);
    if (!f->preopen) return WE_BADF;
    uint32_t len = WA_U32(2);
    size_t n = strlen(f->preopen);
    uint8_t *d = wg_ptr(c, WA_U32(1), len);
    if (!d) return WE_FAULT;
    if (len < n) return WE_NAMETOOLONG;
    memcpy(d, f->preopen, n);
    return WE_SUCCESS;
}

/* ---- readdir ---------------------------------------------------------------------------------- */
static uint8_t dtype(DIR *dir, const struct dirent *e)
{
    switch (e->d_type) {
    case DT_REG: return WT_REGULAR_FILE;
    case DT_DIR: return WT_DIRECTORY;
    case DT_LNK: return WT_SYMBOLIC_LINK;
    case DT_CHR: return WT_CHARACTER_DEVICE;
    case DT_BLK: return WT_BLOCK_DEVICE;
    case DT_SOCK: return WT_SOCKET_STREAM;
    case DT_FIFO: return WT_UNKNOWN;
    default: {
        struct stat st;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return WT_UNKNOWN;
        return wasi_filetype_of_mode(st.st_mode);
    }
    }
}

static uint16_t snapshot(wfd *f)
{
    wasi_free_dents(f);
    int d = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return wasi_errno(errno);
    DIR *dir = fdopendir(d);
    if (!dir) { int e = errno; close(d); return wasi_errno(e); }
    uint32_t cap = 0;
    uint16_t err = WE_SUCCESS;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (!e) { if (errno) err = wasi_errno(errno); break; }
        if (f->ndents == cap) {
            uint32_t ncap = cap ? cap * 2 : 32;
            wdirent *nd = realloc(f->dents, ncap * sizeof *nd);
            if (!nd) { err = WE_NOMEM; break; }
            f->dents = nd;
            cap = ncap;
        }
        wdirent *de = &f->dents[f->ndents];
        de->name = strdup(e->d_name);
        if (!de->name) { err = WE_NOMEM; break; }
        de->namelen = (uint32_t)strlen(e->d_name);
        de->ino = (uint64_t)e->d_ino;
        de->type = dtype(dir, e);
        f->ndents++;
    }
    closedir(dir);
    if (err) { wasi_free_dents(f); return err; }
    f->have_dents = true;
    return WE_SUCCESS;
}

static void put_part(uint8_t *dst, uint64_t *used, uint64_t cap, const void *src, uint64_t n)
{
    uint64_t room = cap - *used;
    if (n > room) n = room;
    memcpy(dst + *used, src, (size_t)n);
    *used += n;
}

uint16_t wasi_fd_readdir(wcall *c, const wm_val *a)
{
    uint32_t buf = WA_U32(1), buflen = WA_U32(2), outp = WA_U32(4);
    uint64_t cookie = WA_U64(3);
    GETFD(WA_U32(0), WR_FD_READDIR, 0);
    uint8_t *d = wg_ptr(c, buf, buflen);
    if (!d || !wg_ptr(c, outp, 4)) return WE_FAULT;
    if (f->type != WT_DIRECTORY) return WE_NOTDIR;
    if (cookie == 0 || !f->have_dents) {
        uint16_t e = snapshot(f);
        if (e) return e;
    }
    uint64_t used = 0;
    for (uint64_t i = cookie; i < f->ndents && used < buflen; i++) {
        const wdirent *de = &f->dents[i];
        uint8_t hdr[24];
        memset(hdr, 0, sizeof hdr);
        wg_put64(hdr, i + 1);
        wg_put64(hdr + 8, de->ino);
        wg_put32(hdr + 16, de->namelen);
        hdr[20] = de->type;
        put_part(d, &used, buflen, hdr, sizeof hdr);
        put_part(d, &used, buflen, de->name, de->namelen);
    }
    wg_w32(c, outp, (uint32_t)used);
    return WE_SUCCESS;
}
