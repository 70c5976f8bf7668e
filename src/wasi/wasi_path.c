/* wasi_path.c — WASI preview1 path_* functions and the sandboxed path resolver (openat2(2) with
 * RESOLVE_BENEATH, or a component-by-component O_NOFOLLOW walk where the kernel lacks it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wasi_impl.h"

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define WM_RESOLVE_NO_MAGICLINKS 0x02
#define WM_RESOLVE_BENEATH 0x08
#define MAX_SYMLINKS 40

struct wm_open_how { uint64_t flags, mode, resolve; };

static int openat2_beneath(int dirfd, const char *path, int flags)
{
    struct wm_open_how how = { (uint64_t)flags, 0, WM_RESOLVE_BENEATH | WM_RESOLVE_NO_MAGICLINKS };
    for (int tries = 0;; tries++) {
        long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (r >= 0) return (int)r;
        /* EAGAIN: a concurrent rename or mount raced with `..` resolution */
        if ((errno == EAGAIN || errno == EINTR) && tries < 100) continue;
        return -1;
    }
}

bool wasi_openat2_works(void)
{
    int fd = openat2_beneath(AT_FDCWD, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;   /* ENOSYS (Linux < 5.6), EPERM (seccomp), ... */
    close(fd);
    return true;
}

/* ---- resolver ---------------------------------------------------------------------------- */
#define RES_FOLLOW 1          /* follow a symlink in the last component */
#define RES_SLASH_FOLLOWS 2   /* ... and so does a trailing slash */

/* The object a path names: entry `name` (one component, or ".") of directory dirfd, which is
 * beneath the base directory. */
typedef struct wres {
    int dirfd;
    bool owned;
    bool slash;   /* the path ended with '/' */
    char name[NAME_MAX + 1];
} wres;

static void res_close(wres *r)
{
    if (r->owned && r->dirfd >= 0) close(r->dirfd);
    r->dirfd = -1;
    r->owned = false;
}

static uint16_t path_errno(int e) { return e == EXDEV ? WE_NOTCAPABLE : wasi_errno(e); }

/* Validated guest path (UTF-8, no NUL) into out[PATH_MAX]. */
static uint16_t get_path(wcall *c, uint32_t ptr, uint32_t len, char *out)
{
    const uint8_t *s = wg_ptr(c, ptr, len);
    if (!s) return WE_FAULT;
    if (len >= PATH_MAX) return WE_NAMETOOLONG;
    for (uint32_t i = 0; i < len;) {
        uint8_t b = s[i];
        if (b == 0) return WE_INVAL;
        if (b < 0x80) { i++; continue; }
        uint32_t n, cp;
        if ((b & 0xE0) == 0xC0) { n = 1; cp = b & 0x1Fu; }
        else if ((b & 0xF0) == 0xE0) { n = 2; cp = b & 0x0Fu; }
        else if ((b & 0xF8) == 0xF0) { n = 3; cp = b & 0x07u; }
        else return WE_ILSEQ;
        if (i + n >= len) return WE_ILSEQ;   /* truncated sequence */
        for (uint32_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return WE_ILSEQ;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return WE_ILSEQ;
        i += n + 1;
    }
    memcpy(out, s, len);
    out[len] = 0;
    return WE_SUCCESS;
}

static uint16_t resolve_openat2(int root, const char *path, int mode, wres *r)
{
    char work[PATH_MAX + 1], target[PATH_MAX + 1], next[PATH_MAX + 1];
    snprintf(work, sizeof work, "%s", path);
    int links = 0;
    for (;;) {
        size_t len = strlen(work);
        if (len == 0) return WE_NOENT;
        if (work[0] == '/') return WE_NOTCAPABLE;
        bool slash = false;
        while (len > 0 && work[len - 1] == '/') { work[--len] = 0; slash = true; }
        r->slash = slash;
        char *sep = strrchr(work, '/');
        const char *last = sep ? sep + 1 : work;
        if (strlen(last) > NAME_MAX) return WE_NAMETOOLONG;
        if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
            int fd = openat2_beneath(root, work, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) return path_errno(errno);
            r->dirfd = fd;
            r->owned = true;
            strcpy(r->name, ".");
            return WE_SUCCESS;
        }
        strcpy(r->name, last);
        if (sep) {
            *sep = 0;
            int fd = openat2_beneath(root, work, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) return path_errno(errno);
            r->dirfd = fd;
            r->owned = true;
        } else {
            r->dirfd = root;
            r->owned = false;
        }
        bool follow = (mode & RES_FOLLOW) || (slash && (mode & RES_SLASH_FOLLOWS));
        if (!follow) return WE_SUCCESS;
        ssize_t n = readlinkat(r->dirfd, r->name, target, sizeof target);
        if (n < 0) return WE_SUCCESS;   /* not a symlink, or missing: the operation decides */
        if ((size_t)n >= sizeof target) return WE_NAMETOOLONG;
        target[n] = 0;
        if (++links > MAX_SYMLINKS) return WE_LOOP;
        if (n == 0) return WE_NOENT;
        if (target[0] == '/') return WE_NOTCAPABLE;
        int k = snprintf(next, sizeof next, "%s%s%s%s", sep ? work : "", sep ? "/" : "", target, slash ? "/" : "");
        if (k < 0 || (size_t)k >= sizeof next - 1) return WE_NAMETOOLONG;
        res_close(r);
        memcpy(work, next, (size_t)k + 1);
    }
}

static uint16_t resolve_manual(int root, const char *path, int mode, wres *r)
{
    char rest[PATH_MAX + 1], target[PATH_MAX + 1], comp[NAME_MAX + 1];
    if (!*path) return WE_NOENT;
    if (path[0] == '/') return WE_NOTCAPABLE;
    snprintf(rest, sizeof rest, "%s", path);
    int *stack = NULL;          /* owned fds of the directories entered below root */
    size_t depth = 0, cap = 0, pos = 0;
    int top = root, links = 0;
    uint16_t err = WE_SUCCESS;
    for (;;) {
        while (rest[pos] == '/') pos++;
        bool is_dot = false;
        if (rest[pos] == 0) { is_dot = true; r->slash = true; goto found; }
        size_t start = pos;
        while (rest[pos] && rest[pos] != '/') pos++;
        size_t clen = pos - start;
        if (clen > NAME_MAX) { err = WE_NAMETOOLONG; goto out; }
        memcpy(comp, rest + start, clen);
        comp[clen] = 0;
        size_t q = pos;
        while (rest[q] == '/') q++;
        bool last = rest[q] == 0, slash = last && q > pos;
        if (strcmp(comp, ".") == 0) {
            if (last) { is_dot = true; r->slash = slash; goto found; }
            continue;
        }
        if (strcmp(comp, "..") == 0) {
            if (depth == 0) { err = WE_NOTCAPABLE; goto out; }   /* would leave the base directory */
            close(stack[--depth]);
            top = depth ? stack[depth - 1] : root;
            if (last) { is_dot = true; r->slash = slash; goto found; }
            continue;
        }
        ssize_t n;
        if (last) {
            bool follow = (mode & RES_FOLLOW) || (slash && (mode & RES_SLASH_FOLLOWS));
            if (follow && (n = readlinkat(top, comp, target, sizeof target)) >= 0) goto expand;
            r->slash = slash;
            strcpy(r->name, comp);
            goto found;
        }
        int fd = openat(top, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                int *ns = realloc(stack, ncap * sizeof *ns);
                if (!ns) { close(fd); err = WE_NOMEM; goto out; }
                stack = ns;
                cap = ncap;
            }
            stack[depth++] = fd;
            top = fd;
            continue;
        }
        int e = errno;
        if (e == ENOTDIR || e == ELOOP) {
            n = readlinkat(top, comp, target, sizeof target);
            if (n >= 0) goto expand;
            e = errno == EINVAL ? ENOTDIR : errno;
        }
        err = wasi_errno(e);
        goto out;
    expand:
        if ((size_t)n >= sizeof target) { err = WE_NAMETOOLONG; goto out; }
        target[n] = 0;
        if (++links > MAX_SYMLINKS) { err = WE_LOOP; goto out; }
        if (n == 0) { err = WE_NOENT; goto out; }
        if (target[0] == '/') { err = WE_NOTCAPABLE; goto out; }
        {
            size_t tail = strlen(rest + pos);
            if ((size_t)n + tail >= sizeof rest) { err = WE_NAMETOOLONG; goto out; }
            memmove(rest + n, rest + pos, tail + 1);
            memcpy(rest, target, (size_t)n);
            pos = 0;
        }
        continue;
    found:
        if (is_dot) strcpy(r->name, ".");
        if (depth > 0) { r->dirfd = stack[--depth]; r->owned = true; }
        else { r->dirfd = root; r->owned = false; }
        goto out;
    }
out:
    while (depth > 0) close(stack[--depth]);
    free(stack);
    return err;
}

static uint16_t resolve(wcall *c, wfd *dir, const char *path, int mode, wres *r)
{
    memset(r, 0, sizeof *r);
    r->dirfd = -1;
    if (dir->type != WT_DIRECTORY) return WE_NOTDIR;
    uint16_t e = WE_SUCCESS;
    if (!c->w->no_openat2) {
        e = resolve_openat2(dir->host, path, mode, r);
        if (e == WE_NOSYS) {   /* the kernel lost openat2 (seccomp?): fall back for good */
            res_close(r);
            c->w->no_openat2 = true;
        }
    }
    if (c->w->no_openat2) {
        memset(r, 0, sizeof *r);
        r->dirfd = -1;
        e = resolve_manual(dir->host, path, mode, r);
    }
    if (e) res_close(r);
    return e;
}

#define GETFD(var, fdv, nb, ni)                                      \
    wfd *var;                                                        \
    do {                                                             \
        uint16_t e_ = wasi_getfd(c, (fdv), (nb), (ni), &var);        \
        if (e_) return e_;                                           \
    } while (0)

#define GETPATH(buf, p, l)                                           \
    char buf[PATH_MAX];                                              \
    do {                                                             \
        uint16_t e_ = get_path(c, (p), (l), buf);                    \
        if (e_) return e_;                                           \
    } while (0)

/* lstat of the resolved entry: 0, or a host errno */
static int res_lstat(const wres *r, struct stat *st)
{
    return fstatat(r->dirfd, r->name, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

/* ---- path_open ----------------------------------------------------------------------------- */
uint16_t wasi_path_open(wcall *c, const wm_val *a)
{
    uint32_t lookup = WA_U32(1), oflags = WA_U32(4), fdflags = WA_U32(7), outp = WA_U32(8);
    uint64_t base = WA_U64(5), inh = WA_U64(6);
    if ((lookup & ~(uint32_t)WL_SYMLINK_FOLLOW) || (oflags & ~(uint32_t)WO_ALL) || (fdflags & ~(uint32_t)WF_ALL) ||
        ((base | inh) & ~WR_ALL))
        return WE_INVAL;
    if ((oflags & WO_DIRECTORY) && (oflags & (WO_CREAT | WO_EXCL | WO_TRUNC))) return WE_INVAL;
    uint64_t need_base = WR_PATH_OPEN | ((oflags & WO_CREAT) ? WR_PATH_CREATE_FILE : 0) |
                         ((oflags & WO_TRUNC) ? WR_PATH_FILESTAT_SET_SIZE : 0);
    uint64_t need_inh = base | inh;
    if (fdflags & WF_DSYNC) need_inh |= WR_FD_DATASYNC;
    if (fdflags & (WF_RSYNC | WF_SYNC)) need_inh |= WR_FD_SYNC;
    GETFD(dir, WA_U32(0), need_base, need_inh);
    if (!wg_ptr(c, outp, 4)) return WE_FAULT;
    GETPATH(path, WA_U32(2), WA_U32(3));

    int fl = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
    bool rd = (base & (WR_FD_READ | WR_FD_READDIR)) != 0;
    bool wr = (base & (WR_FD_DATASYNC | WR_FD_WRITE | WR_FD_ALLOCATE | WR_FD_FILESTAT_SET_SIZE)) != 0;
    /* A directory is opened read-only whatever the rights (the type mask drops write rights). */
    fl |= (wr && !(oflags & WO_DIRECTORY)) ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & WO_CREAT) fl |= O_CREAT;
    if (oflags & WO_DIRECTORY) fl |= O_DIRECTORY;
    if (oflags & WO_EXCL) fl |= O_EXCL;
    if (oflags & WO_TRUNC) fl |= O_TRUNC;
    if (fdflags & WF_APPEND) fl |= O_APPEND;
    if (fdflags & WF_DSYNC) fl |= O_DSYNC;
    if (fdflags & WF_NONBLOCK) fl |= O_NONBLOCK;
    if (fdflags & WF_RSYNC) fl |= O_RSYNC;
    if (fdflags & WF_SYNC) fl |= O_SYNC;

    /* O_CREAT|O_EXCL never follows a final symlink (POSIX) */
    bool excl = (oflags & (WO_CREAT | WO_EXCL)) == (WO_CREAT | WO_EXCL);
    int mode = ((lookup & WL_SYMLINK_FOLLOW) && !excl ? RES_FOLLOW : 0) | (excl ? 0 : RES_SLASH_FOLLOWS);
    wres r;
    uint16_t e = resolve(c, dir, path, mode, &r);
    if (e) return e;
    if (r.slash) {
        if (oflags & WO_CREAT) { res_close(&r); return WE_ISDIR; }
        fl |= O_DIRECTORY;
    }
    int h;
    do h = openat(r.dirfd, r.name, fl, 0666); while (h < 0 && errno == EINTR);
    int err = errno;
    res_close(&r);
    if (h < 0) return wasi_errno(err);
    uint8_t type = wasi_filetype_of_fd(h);
    uint64_t maxb, maxi;
    wasi_rights_for(h, type, &maxb, &maxi);
    uint32_t nfd;
    e = wasi_addfd(c->w, h, type, (uint16_t)fdflags, base & maxb, inh & maxi, &nfd);
    if (e) return e;
    wg_w32(c, outp, nfd);
    return WE_SUCCESS;
}

/* ---- directory entries ------------------------------------------------------------------------- */
uint16_t wasi_path_create_directory(wcall *c, const wm_val *a)
{
    GETFD(dir, WA_U32(0), WR_PATH_CREATE_DIRECTORY, 0);
    GETPATH(path, WA_U32(1), WA_U32(2));
    wres r;
    uint16_t e = resolve(c, dir, path, 0, &r);
    if (e) return e;
    int ok = mkdirat(r.dirfd, r.name, 0777);
    int err = errno;
    res_close(&r);
    return ok == 0 ? WE_SUCCESS : wasi_errno(err);
}

uint16_t wasi_path_remove_directory(wcall *c, const wm_val *a)
{
    GETFD(dir, WA_U32(0), WR_PATH_REMOVE_DIRECTORY, 0);
    GETPATH(path, WA_U32(1), WA_U32(2));
    wres r;
    uint16_t e = resolve(c, dir, path, 0, &r);
    if (e) return e;
    int ok = unlinkat(r.dirfd, r.name, AT_REMOVEDIR);
    int err = errno;
    res_close(&r);
    return ok == 0 ? WE_SUCCESS : wasi_errno(err);
}

uint16_t wasi_path_unlink_file(wcall *c, const wm_val *a)
{
    GETFD(dir, WA_U32(0), WR_PATH_UNLINK_FILE, 0);
    GETPATH(path, WA_U32(1), WA_U32(2));
    wres r;
    uint16_t e = resolve(c, dir, path, 0, &r);
    if (e) return e;
    int ok, err;
    if (r.slash) {   /* "x/" names a directory: never a file to unlink */
        struct stat st;
        err = res_lstat(&r, &st);
        if (!err) err = S_ISDIR(st.st_mode) ? EISDIR : ENOTDIR;
        ok = -1;
    } else {
        ok = unlinkat(r.dirfd, r.name, 0);
        err = errno;
    }
    res_close(&r);
    return ok == 0 ? WE_SUCCESS : wasi_errno(err);
}

/* A trailing slash on a name to create: EEXIST if it exists, else ENOENT (as Linux). */
static int create_slash_errno(const wres *r)
{
    struct stat st;
    return res_lstat(r, &st) == 0 ? EEXIST : ENOENT;
}

uint16_t wasi_path_symlink(wcall *c, const wm_val *a)
{
    GETFD(dir, WA_U32(2), WR_PATH_SYMLINK, 0);
    GETPATH(target, WA_U32(0), WA_U32(1));
    GETPATH(path, WA_U32(3), WA_U32(4));
    wres r;
    uint16_t e = resolve(c, dir, path, 0, &r);
    if (e) return e;
    int ok, err;
    if (r.slash) { ok = -1; err = create_slash_errno(&r); }
    else { ok = symlinkat(target, r.dirfd, r.name); err = errno; }
    res_close(&r);
    return ok == 0 ? WE_SUCCESS : wasi_errno(err);
}

uint16_t wasi_path_link(wcall *c, const wm_val *a)
{
    uint32_t oflags = WA_U32(1);
    if (oflags & ~(uint32_t)WL_SYMLINK_FOLLOW) return WE_INVAL;
    GETFD(odir, WA_U32(0), WR_PATH_LINK_SOURCE, 0);
    GETFD(ndir, WA_U32(4), WR_PATH_LINK_TARGET, 0);
    GETPATH(opath, WA_U32(2), WA_U32(3));
    GETPATH(npath, WA_U32(5), WA_U32(6));
    wres ro, rn;
    uint16_t e = resolve(c, odir, opath, ((oflags & WL_SYMLINK_FOLLOW) ? RES_FOLLOW : 0) | RES_SLASH_FOLLOWS, &ro);
    if (e) return e;
    e = resolve(c, ndir, npath, 0, &rn);
    if (e) { res_close(&ro); return e; }
    int ok = -1, err = 0;
    struct stat st;
    if (ro.slash && (err = res_lstat(&ro, &st)) == 0 && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    if (!err && rn.slash) err = create_slash_errno(&rn);
    if (!err) { ok = linkat(ro.dirfd, ro.name, rn.dirfd, rn.name, 0); err = errno; }
    res_close(&ro);
    res_close(&rn);
    return ok == 0 ? WE_SUCCESS : wasi_errno(err);
}

uint16_t wasi_path_rename(wcall *c, const wm_val *a)
{
    GETFD(odir, WA_U32(0), WR_PATH_RENAME_SOURCE, 0);
    GETFD(ndir, WA_U32(3), WR_PATH_RENAME_TARGET, 0);
    GETPATH(opath, WA_U32(1), WA_U32(2));
    GETPATH(npath, WA_U32(4), WA_U32(5));
    wres ro, rn;
    uint16_t e = resolve(c, odir, opath, 0, &ro);
    if (e) return e;
    e = resolve(c, ndir, npath, 0, &rn);
    if (e) { res_close(&ro); return e; }
    int ok = -1, err = 0;
    if (ro.slash || rn.slash) {   /* "x/" must name a directory */
        struct stat st;
        err = res_lstat(&ro, &st);
        if (!err && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    }
    if (!err) { ok = renameat(ro.dirfd, ro.name, rn.dirfd, rn.name); err = errno; }
    res_close(&ro);
    res_close(&rn);
    return ok == 0 ? WE_SUCCESS : wasi_errno(err);
}

/* ---- metadata ------------------------------------------------------------------------------------ */
uint16_t wasi_path_filestat_get(wcall *c, const wm_val *a)
{
    uint32_t flags = WA_U32(1), outp = WA_U32(4);
    if (flags & ~(uint32_t)WL_SYMLINK_FOLLOW) return WE_INVAL;
    GETFD(dir, WA_U32(0), WR_PATH_FILESTAT_GET, 0);
    if (!wg_ptr(c, outp, c->unstable ? 56 : 64)) return WE_FAULT;
    GETPATH(path, WA_U32(2), WA_U32(3));
    wres r;
    uint16_t e = resolve(c, dir, path, ((flags & WL_SYMLINK_FOLLOW) ? RES_FOLLOW : 0) | RES_SLASH_FOLLOWS, &r);
    if (e) return e;
    struct stat st;
    int err = res_lstat(&r, &st);
    if (!err && r.slash && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    res_close(&r);
    if (err) return wasi_errno(err);
    return wasi_put_filestat(c, outp, &st);
}

uint16_t wasi_path_filestat_set_times(wcall *c, const wm_val *a)
{
    uint32_t flags = WA_U32(1);
    if (flags & ~(uint32_t)WL_SYMLINK_FOLLOW) return WE_INVAL;
    struct timespec ts[2];
    uint16_t e = wasi_times(WA_U64(4), WA_U64(5), WA_U32(6), ts);
    if (e) return e;
    GETFD(dir, WA_U32(0), WR_PATH_FILESTAT_SET_TIMES, 0);
    GETPATH(path, WA_U32(2), WA_U32(3));
    wres r;
    e = resolve(c, dir, path, ((flags & WL_SYMLINK_FOLLOW) ? RES_FOLLOW : 0) | RES_SLASH_FOLLOWS, &r);
    if (e) return e;
    int err = 0;
    struct stat st;
    if (r.slash && (err = res_lstat(&r, &st)) == 0 && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    if (!err && utimensat(r.dirfd, r.name, ts, AT_SYMLINK_NOFOLLOW) != 0) err = errno;
    res_close(&r);
    return wasi_errno(err);
}

uint16_t wasi_path_readlink(wcall *c, const wm_val *a)
{
    uint32_t buf = WA_U32(3), buflen = WA_U32(4), outp = WA_U32(5);
    GETFD(dir, WA_U32(0), WR_PATH_READLINK, 0);
    uint8_t *d = wg_ptr(c, buf, buflen);
    if (!d || !wg_ptr(c, outp, 4)) return WE_FAULT;
    GETPATH(path, WA_U32(1), WA_U32(2));
    wres r;
    uint16_t e = resolve(c, dir, path, RES_SLASH_FOLLOWS, &r);
    if (e) return e;
    char tmp[PATH_MAX + 1];
    ssize_t n = readlinkat(r.dirfd, r.name, tmp, sizeof tmp);
    int err = errno;
    res_close(&r);
    if (n < 0) return wasi_errno(err);
    /* like readlink(2): silently truncated to the buffer */
    size_t k = (size_t)n < buflen ? (size_t)n : buflen;
    memcpy(d, tmp, k);
    wg_w32(c, outp, (uint32_t)k);
    return WE_SUCCESS;
}
