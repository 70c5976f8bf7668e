/* t_fault.c — WASI guest test: hostile pointers/lengths (past the end, wrapping, huge) give EFAULT
 * and never crash the host; unaligned pointers and memory grown at run time work. */
/* NODE: skip (uvwasi answers EOVERFLOW) */
#include "common.h"

#define F __WASI_ERRNO_FAULT
#define P(x) ((int32_t)(uint32_t)(x))

WASI_IMPORT("args_get") int32_t raw_args_get(int32_t, int32_t);
WASI_IMPORT("args_sizes_get") int32_t raw_args_sizes_get(int32_t, int32_t);
WASI_IMPORT("environ_get") int32_t raw_environ_get(int32_t, int32_t);
WASI_IMPORT("environ_sizes_get") int32_t raw_environ_sizes_get(int32_t, int32_t);
WASI_IMPORT("clock_res_get") int32_t raw_clock_res_get(int32_t, int32_t);
WASI_IMPORT("clock_time_get") int32_t raw_clock_time_get(int32_t, int64_t, int32_t);
WASI_IMPORT("random_get") int32_t raw_random_get(int32_t, int32_t);
WASI_IMPORT("fd_write") int32_t raw_fd_write(int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("fd_read") int32_t raw_fd_read(int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("fd_pread") int32_t raw_fd_pread(int32_t, int32_t, int32_t, int64_t, int32_t);
WASI_IMPORT("fd_pwrite") int32_t raw_fd_pwrite(int32_t, int32_t, int32_t, int64_t, int32_t);
WASI_IMPORT("fd_seek") int32_t raw_fd_seek(int32_t, int64_t, int32_t, int32_t);
WASI_IMPORT("fd_tell") int32_t raw_fd_tell(int32_t, int32_t);
WASI_IMPORT("fd_fdstat_get") int32_t raw_fd_fdstat_get(int32_t, int32_t);
WASI_IMPORT("fd_filestat_get") int32_t raw_fd_filestat_get(int32_t, int32_t);
WASI_IMPORT("fd_prestat_get") int32_t raw_fd_prestat_get(int32_t, int32_t);
WASI_IMPORT("fd_prestat_dir_name") int32_t raw_fd_prestat_dir_name(int32_t, int32_t, int32_t);
WASI_IMPORT("fd_readdir") int32_t raw_fd_readdir(int32_t, int32_t, int32_t, int64_t, int32_t);
WASI_IMPORT("path_open") int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t, int32_t, int32_t);
WASI_IMPORT("path_create_directory") int32_t raw_path_create_directory(int32_t, int32_t, int32_t);
WASI_IMPORT("path_filestat_get") int32_t raw_path_filestat_get(int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("path_readlink") int32_t raw_path_readlink(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("path_symlink") int32_t raw_path_symlink(int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("path_rename") int32_t raw_path_rename(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("path_link") int32_t raw_path_link(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("path_unlink_file") int32_t raw_path_unlink_file(int32_t, int32_t, int32_t);
WASI_IMPORT("poll_oneoff") int32_t raw_poll_oneoff(int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("sock_recv") int32_t raw_sock_recv(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);

static uint8_t scratch[256] __attribute__((aligned(16)));

int main(void)
{
    uint32_t memsize = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
    uint32_t end = memsize, near = memsize - 4;
    uint32_t ok = (uint32_t)(uintptr_t)scratch;
    const char *path = "file";
    uint32_t pathp = (uint32_t)(uintptr_t)path;
    (void)make_file(SANDBOX, "file", "data");

    EXPECT("args_sizes_get oob", raw_args_sizes_get(P(end), P(ok)), F);
    EXPECT("args_sizes_get 2nd oob", raw_args_sizes_get(P(ok), P(0xFFFFFFFFu)), F);
    EXPECT("args_get argv oob", raw_args_get(P(0xFFFFFFF0u), P(ok)), F);
    EXPECT("args_get buf oob", raw_args_get(P(ok), P(near)), F);
    EXPECT("environ_get oob", raw_environ_get(P(end), P(ok)), F);
    EXPECT("environ_sizes_get oob", raw_environ_sizes_get(P(ok), P(end)), F);
    EXPECT("clock_res_get oob", raw_clock_res_get(0, P(near)), F);
    EXPECT("clock_time_get oob", raw_clock_time_get(1, 0, P(0xFFFFFFFFu)), F);
    EXPECT("random_get oob", raw_random_get(P(near), 8), F);
    EXPECT("random_get huge", raw_random_get(P(ok), P(0xFFFFFFFFu)), F);
    EXPECT("random_get wrap", raw_random_get(P(0xFFFFFFF0u), 0x20), F);
    EXPECT("random_get empty at end", raw_random_get(P(end), 0), 0);

    /* iovec arrays and buffers */
    uint32_t iov[2] = { ok, 4 };
    EXPECT("fd_write iovs oob", raw_fd_write(1, P(near), 1, P(ok + 64)), F);
    EXPECT("fd_write iovs count huge", raw_fd_write(1, P((uint32_t)(uintptr_t)iov), P(0x20000000u), P(ok + 64)), F);
    uint32_t bad_iov[2] = { near, 64 };
    EXPECT("fd_write buf oob", raw_fd_write(1, P((uint32_t)(uintptr_t)bad_iov), 1, P(ok + 64)), F);
    uint32_t wrap_iov[2] = { 0xFFFFFF00u, 0x200 };
    EXPECT("fd_write buf wraps", raw_fd_write(1, P((uint32_t)(uintptr_t)wrap_iov), 1, P(ok + 64)), F);
    EXPECT("fd_write nwritten oob", raw_fd_write(1, P((uint32_t)(uintptr_t)iov), 1, P(end)), F);
    __wasi_fd_t fd;
    EXPECT("open file", open_at(SANDBOX, "file", 0, 0, 0, &fd), 0);
    EXPECT("fd_read buf oob", raw_fd_read((int32_t)fd, P((uint32_t)(uintptr_t)bad_iov), 1, P(ok + 64)), F);
    EXPECT("fd_read nread oob", raw_fd_read((int32_t)fd, P((uint32_t)(uintptr_t)iov), 1, P(near + 1)), F);
    EXPECT("fd_pread oob", raw_fd_pread((int32_t)fd, P((uint32_t)(uintptr_t)bad_iov), 1, 0, P(ok + 64)), F);
    EXPECT("fd_pwrite oob", raw_fd_pwrite((int32_t)fd, P((uint32_t)(uintptr_t)bad_iov), 1, 0, P(ok + 64)), F);
    EXPECT("fd_seek oob", raw_fd_seek((int32_t)fd, 0, 0, P(near)), F);
    EXPECT("fd_tell oob", raw_fd_tell((int32_t)fd, P(end)), F);
    EXPECT("fd_fdstat_get oob", raw_fd_fdstat_get((int32_t)fd, P(end - 8)), F);
    EXPECT("fd_filestat_get oob", raw_fd_filestat_get((int32_t)fd, P(end - 32)), F);
    EXPECT("fd_prestat_get oob", raw_fd_prestat_get(SANDBOX, P(near)), F);
    EXPECT("fd_prestat_dir_name oob", raw_fd_prestat_dir_name(SANDBOX, P(near), 8), F);
    EXPECT("fd_readdir buf oob", raw_fd_readdir(SANDBOX, P(near), 64, 0, P(ok)), F);
    EXPECT("fd_readdir used oob", raw_fd_readdir(SANDBOX, P(ok), 64, 0, P(end)), F);

    /* paths */
    EXPECT("path_open path oob", raw_path_open(SANDBOX, 0, P(near), 16, 0, 2, 0, 0, P(ok)), F);
    EXPECT("path_open path len huge", raw_path_open(SANDBOX, 0, P(pathp), P(0xFFFFFFFFu), 0, 2, 0, 0, P(ok)), F);
    EXPECT("path_open fd_out oob", raw_path_open(SANDBOX, 0, P(pathp), 4, 0, 2, 0, 0, P(end)), F);
    EXPECT("path_create_directory oob", raw_path_create_directory(SANDBOX, P(0xFFFFFFFFu), 2), F);
    EXPECT("path_filestat_get out oob", raw_path_filestat_get(SANDBOX, 0, P(pathp), 4, P(end - 63)), F);
    EXPECT("path_readlink buf oob", raw_path_readlink(SANDBOX, P(pathp), 4, P(near), 64, P(ok)), F);
    EXPECT("path_symlink target oob", raw_path_symlink(P(near), 64, SANDBOX, P(pathp), 4), F);
    EXPECT("path_rename new oob", raw_path_rename(SANDBOX, P(pathp), 4, SANDBOX, P(near), 10), F);
    EXPECT("path_link old oob", raw_path_link(SANDBOX, 0, P(end), 1, SANDBOX, P(pathp), 4), F);
    EXPECT("path_unlink_file oob", raw_path_unlink_file(SANDBOX, P(0xFFFFFFF0u), 0x20), F);
    EXPECT("file still there", __wasi_path_filestat_get(SANDBOX, 0, "file", (__wasi_filestat_t *)scratch), 0);

    /* poll_oneoff */
    EXPECT("poll in oob", raw_poll_oneoff(P(near), P(ok), 1, P(ok + 200)), F);
    EXPECT("poll nsubs huge", raw_poll_oneoff(P(ok), P(ok), P(0x10000000u), P(ok + 200)), F);
    EXPECT("poll out oob", raw_poll_oneoff(P(ok), P(near), 1, P(ok + 200)), F);
    EXPECT("poll nevents oob", raw_poll_oneoff(P(ok), P(ok + 64), 1, P(end)), F);

    /* unaligned pointers work */
    EXPECT("fdstat unaligned", raw_fd_fdstat_get(SANDBOX, P(ok + 1)), 0);
    EXPECT("unaligned filetype", scratch[1], __WASI_FILETYPE_DIRECTORY);
    EXPECT("clock unaligned", raw_clock_time_get(0, 0, P(ok + 3)), 0);
    uint32_t uiov[3];
    uint8_t *u = (uint8_t *)uiov + 1;
    uint32_t b = ok + 100, l = 4;
    memcpy(u, &b, 4);
    memcpy(u + 4, &l, 4);
    EXPECT("fd_pread unaligned iovec", raw_fd_pread((int32_t)fd, P((uint32_t)(uintptr_t)u), 1, 0, P(ok + 7)), 0);
    EXPECT("unaligned read data", memcmp(scratch + 100, "data", 4), 0);

    /* memory grown while running is visible to the host */
    int32_t old = __builtin_wasm_memory_grow(0, 1);
    EXPECT("memory.grow", old >= 0, 1);
    uint32_t fresh = (uint32_t)old * 65536u + 100;
    EXPECT("clock into grown memory", raw_clock_time_get(1, 0, P(fresh)), 0);
    EXPECT("random fills grown memory", raw_random_get(P(fresh), 65536 - 100), 0);
    EXPECT("just past grown memory", raw_random_get(P(fresh), 65536 - 99), F);

    EXPECT("sock_recv on file", raw_sock_recv((int32_t)fd, P(ok), 1, 0, P(ok), P(ok)), __WASI_ERRNO_NOTSOCK);
    (void)__wasi_fd_close(fd);
    return finish();
}
