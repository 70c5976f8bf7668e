/* common.h — helpers shared by the WASI guest tests: EXPECT lines ("ok ..." / "FAIL ..."), runtime
 * detection (WASI_TEST_RUNTIME), and small wrappers around the raw wasi_snapshot_preview1 calls. */
#ifndef WASI_TEST_COMMON_H
#define WASI_TEST_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* Raw imports: any i32 can be passed as a pointer (hostile-pointer tests, functions missing from
 * this wasi-libc's <wasi/api.h>). */
#define WASI_IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

#define SANDBOX 3   /* the first (only) preopened directory, "/sandbox" */

static int g_fail;

static inline int is_node(void)
{
    const char *r = getenv("WASI_TEST_RUNTIME");
    return r && strcmp(r, "node") == 0;
}

/* Lines tagged " [wm]" are checked only under wasmind (where Node's uvwasi differs from the spec
 * or from wasmtime); run.sh leaves them out of the wasmind-vs-Node comparison. */
static inline void expect_(const char *name, long long got, long long want, int wm_only)
{
    const char *tag = wm_only ? " [wm]" : "";
    if (got == want) printf("ok %s = %lld%s\n", name, got, tag);
    else {
        printf("FAIL %s = %lld (want %lld)%s\n", name, got, want, tag);
        if (!wm_only || !is_node()) g_fail++;
    }
    fflush(stdout);
}
#define EXPECT(n, g, w) expect_((n), (long long)(g), (long long)(w), 0)
#define EXPECT_WM(n, g, w) expect_((n), (long long)(g), (long long)(w), 1)

static inline void expect_str(const char *name, const char *got, const char *want)
{
    if (strcmp(got, want) == 0) printf("ok %s = \"%s\"\n", name, got);
    else { printf("FAIL %s = \"%s\" (want \"%s\")\n", name, got, want); g_fail++; }
    fflush(stdout);
}

static inline int finish(void)
{
    printf("DONE %s\n", g_fail ? "FAILED" : "ok");
    fflush(stdout);
    return g_fail ? 1 : 0;
}

/* All rights a directory can hand down. */
static inline __wasi_rights_t dir_inheriting(__wasi_fd_t dir)
{
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(dir, &st) != 0) return 0;
    return st.fs_rights_inheriting;
}

/* path_open with every right the directory can give; returns errno, fd in *out. */
static inline int open_at(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t lf, __wasi_oflags_t of,
                   __wasi_fdflags_t ff, __wasi_fd_t *out)
{
    __wasi_rights_t r = dir_inheriting(dir);
    if (of & __WASI_OFLAGS_DIRECTORY)   /* as wasi-libc's opendir: no write rights */
        r &= ~(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ALLOCATE |
               __WASI_RIGHTS_FD_FILESTAT_SET_SIZE);
    *out = (__wasi_fd_t)-1;
    return __wasi_path_open(dir, lf, path, of, r, r, ff, out);
}

static inline int write_all(__wasi_fd_t fd, const char *s)
{
    __wasi_ciovec_t v = { (const uint8_t *)s, strlen(s) };
    __wasi_size_t n = 0;
    return __wasi_fd_write(fd, &v, 1, &n);
}

/* Reads up to cap-1 bytes from the start of fd into buf (NUL-terminated); returns errno. */
static inline int pread_str(__wasi_fd_t fd, char *buf, size_t cap)
{
    __wasi_iovec_t v = { (uint8_t *)buf, cap - 1 };
    __wasi_size_t n = 0;
    int e = __wasi_fd_pread(fd, &v, 1, 0, &n);
    buf[e ? 0 : n] = 0;
    return e;
}

/* Creates (or truncates) path with the given contents. */
static inline int make_file(__wasi_fd_t dir, const char *path, const char *content)
{
    __wasi_fd_t fd;
    int e = open_at(dir, path, 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, &fd);
    if (e) return e;
    e = write_all(fd, content);
    (void)__wasi_fd_close(fd);
    return e;
}

#endif
