/* t_fd.c — WASI guest test of the fd_* functions on files: read/write (scatter/gather), pread,
 * pwrite, seek/tell, fdstat flags and rights, filestat, advise, allocate, sync, renumber, close. */
#include "common.h"

#define R(x) __WASI_RIGHTS_##x

int main(void)
{
    __wasi_fd_t fd;
    EXPECT("open f1 creat|trunc", open_at(SANDBOX, "f1.txt", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, &fd), 0);
    EXPECT("new fd is 4", fd, 4);
    __wasi_size_t n = 0;
    __wasi_ciovec_t wv[2] = { { (const uint8_t *)"hello ", 6 }, { (const uint8_t *)"world", 5 } };
    EXPECT("fd_write gather", __wasi_fd_write(fd, wv, 2, &n), 0);
    EXPECT("nwritten", n, 11);
    EXPECT("fd_write 0 iovecs", __wasi_fd_write(fd, wv, 0, &n), 0);
    EXPECT("nwritten 0", n, 0);
    __wasi_filesize_t pos = 99;
    EXPECT("fd_tell", __wasi_fd_tell(fd, &pos), 0);
    EXPECT("tell = 11", pos, 11);
    EXPECT("fd_seek set 0", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), 0);
    EXPECT("pos 0", pos, 0);
    char a[4] = { 0 }, b[8] = { 0 };
    __wasi_iovec_t rv[2] = { { (uint8_t *)a, 3 }, { (uint8_t *)b, 5 } };
    EXPECT("fd_read scatter", __wasi_fd_read(fd, rv, 2, &n), 0);
    EXPECT("nread 8", n, 8);
    expect_str("scatter 1", a, "hel");
    expect_str("scatter 2", b, "lo wo");
    EXPECT("fd_seek end -3", __wasi_fd_seek(fd, -3, __WASI_WHENCE_END, &pos), 0);
    EXPECT("pos 8", pos, 8);
    EXPECT("fd_seek cur +2", __wasi_fd_seek(fd, 2, __WASI_WHENCE_CUR, &pos), 0);
    EXPECT("pos 10", pos, 10);
    EXPECT("fd_seek bad whence", __wasi_fd_seek(fd, 0, 3, &pos), __WASI_ERRNO_INVAL);
    EXPECT("fd_seek before start", __wasi_fd_seek(fd, -100, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_INVAL);
    EXPECT("fd_seek past end", __wasi_fd_seek(fd, 100, __WASI_WHENCE_END, &pos), 0);
    EXPECT("pos 111", pos, 111);
    (void)__wasi_fd_seek(fd, 10, __WASI_WHENCE_SET, &pos);
    /* read at EOF */
    (void)__wasi_fd_seek(fd, 0, __WASI_WHENCE_END, &pos);
    EXPECT("fd_read at eof", __wasi_fd_read(fd, rv, 2, &n), 0);
    EXPECT("nread 0 at eof", n, 0);
    (void)__wasi_fd_seek(fd, 10, __WASI_WHENCE_SET, &pos);

    /* pread / pwrite do not move the offset */
    char buf[64];
    memset(buf, 0, sizeof buf);
    __wasi_iovec_t pv = { (uint8_t *)buf, 5 };
    EXPECT("fd_pread", __wasi_fd_pread(fd, &pv, 1, 6, &n), 0);
    EXPECT("pread n", n, 5);
    expect_str("pread data", buf, "world");
    EXPECT("pread past eof", __wasi_fd_pread(fd, &pv, 1, 1000, &n), 0);
    EXPECT("pread past eof n", n, 0);
    __wasi_ciovec_t pw = { (const uint8_t *)"HELLO", 5 };
    EXPECT("fd_pwrite", __wasi_fd_pwrite(fd, &pw, 1, 0, &n), 0);
    EXPECT("pwrite n", n, 5);
    EXPECT("fd_tell after p*", __wasi_fd_tell(fd, &pos), 0);
    EXPECT("offset still 10", pos, 10);
    EXPECT("pread_str", pread_str(fd, buf, sizeof buf), 0);
    expect_str("content", buf, "HELLO world");

    /* filestat */
    __wasi_filestat_t fs;
    EXPECT("fd_filestat_get", __wasi_fd_filestat_get(fd, &fs), 0);
    EXPECT("filestat size", fs.size, 11);
    EXPECT("filestat type", fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    EXPECT("filestat nlink", fs.nlink, 1);
    EXPECT("filestat ino != 0", fs.ino != 0, 1);
    EXPECT("set_size 4", __wasi_fd_filestat_set_size(fd, 4), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("size 4", fs.size, 4);
    EXPECT("set_size 20", __wasi_fd_filestat_set_size(fd, 20), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("size 20", fs.size, 20);
    memset(buf, 'x', sizeof buf);
    pv.buf_len = 4;
    (void)__wasi_fd_pread(fd, &pv, 1, 10, &n);
    EXPECT("extended with zeros", buf[0] == 0 && buf[3] == 0 && n == 4, 1);
    const __wasi_timestamp_t T1 = 1000000000123456789ull, T2 = 1100000000987654321ull;
    EXPECT("set_times atim mtim", __wasi_fd_filestat_set_times(fd, T1, T2, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("atim set (seconds)", fs.atim / 1000000000u, T1 / 1000000000u);
    EXPECT("mtim set (seconds)", fs.mtim / 1000000000u, T2 / 1000000000u);
    EXPECT_WM("atim set", fs.atim, T1);   /* Node keeps whole seconds only */
    EXPECT_WM("mtim set", fs.mtim, T2);
    EXPECT("set_times mtim only", __wasi_fd_filestat_set_times(fd, 0, T1, __WASI_FSTFLAGS_MTIM), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT_WM("atim kept", fs.atim, T1);
    EXPECT_WM("mtim changed", fs.mtim, T1);
    EXPECT("set_times mtim now", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("mtim now", fs.mtim > T2, 1);
    EXPECT("set_times atim+atim_now", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW), __WASI_ERRNO_INVAL);
    EXPECT("set_times mtim+mtim_now", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_INVAL);

    /* advise, allocate, sync */
    EXPECT("fd_advise sequential", __wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_SEQUENTIAL), 0);
    EXPECT("fd_advise dontneed", __wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_DONTNEED), 0);
    EXPECT("fd_advise bad advice", __wasi_fd_advise(fd, 0, 10, 6), __WASI_ERRNO_INVAL);
    EXPECT("fd_allocate", __wasi_fd_allocate(fd, 0, 100), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("allocate grew size", fs.size, 100);
    EXPECT_WM("fd_allocate len 0", __wasi_fd_allocate(fd, 0, 0), __WASI_ERRNO_INVAL);
    EXPECT("fd_datasync", __wasi_fd_datasync(fd), 0);
    EXPECT("fd_sync", __wasi_fd_sync(fd), 0);

    /* fdstat flags */
    __wasi_fdstat_t st;
    EXPECT("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &st), 0);
    EXPECT("fdstat type", st.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
    EXPECT_WM("fdstat flags", st.fs_flags, 0);   /* Node reports raw host open flags */
    EXPECT("file rights read+write", (st.fs_rights_base & (R(FD_READ) | R(FD_WRITE))) == (R(FD_READ) | R(FD_WRITE)), 1);
    EXPECT("file has no path_open", (st.fs_rights_base & R(PATH_OPEN)) == 0, 1);
    EXPECT("set_flags append", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND), 0);
    (void)__wasi_fd_fdstat_get(fd, &st);
    EXPECT_WM("fdstat append", st.fs_flags, __WASI_FDFLAGS_APPEND);
    (void)__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
    EXPECT("append write", write_all(fd, "END"), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("appended at end", fs.size, 103);
    EXPECT("set_flags nonblock", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), 0);
    (void)__wasi_fd_fdstat_get(fd, &st);
    EXPECT_WM("fdstat nonblock", st.fs_flags, __WASI_FDFLAGS_NONBLOCK);
    EXPECT("set_flags 0", __wasi_fd_fdstat_set_flags(fd, 0), 0);
    EXPECT_WM("set_flags unknown bit", __wasi_fd_fdstat_set_flags(fd, 0x20), __WASI_ERRNO_INVAL);

    /* rights can only be dropped */
    (void)__wasi_fd_fdstat_get(fd, &st);
    __wasi_rights_t full = st.fs_rights_base;
    EXPECT("drop fd_write", __wasi_fd_fdstat_set_rights(fd, full & ~R(FD_WRITE), 0), 0);
    EXPECT("write without right", write_all(fd, "x"), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("pwrite without right", __wasi_fd_pwrite(fd, &pw, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("regain fd_write", __wasi_fd_fdstat_set_rights(fd, full, 0), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("gain inheriting", __wasi_fd_fdstat_set_rights(fd, full & ~R(FD_WRITE), R(FD_READ)), __WASI_ERRNO_NOTCAPABLE);
    (void)__wasi_fd_fdstat_get(fd, &st);
    EXPECT("rights dropped", st.fs_rights_base, full & ~R(FD_WRITE));
    EXPECT("keep read+tell", __wasi_fd_fdstat_set_rights(fd, R(FD_READ) | R(FD_TELL), 0), 0);
    /* seek(0, CUR) is fd_tell: needs only the tell right (Node asks for seek too) */
    EXPECT_WM("seek cur 0 with tell", __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos), 0);
    EXPECT("seek set without seek", __wasi_fd_seek(fd, 1, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("pread without seek", __wasi_fd_pread(fd, &pv, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("filestat without right", __wasi_fd_filestat_get(fd, &fs), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("set_size without right", __wasi_fd_filestat_set_size(fd, 0), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("set_times without right", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("advise without right", __wasi_fd_advise(fd, 0, 0, 0), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("allocate without right", __wasi_fd_allocate(fd, 0, 1), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("sync without right", __wasi_fd_sync(fd), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("datasync without right", __wasi_fd_datasync(fd), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("set_flags without right", __wasi_fd_fdstat_set_flags(fd, 0), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("drop all", __wasi_fd_fdstat_set_rights(fd, 0, 0), 0);
    EXPECT("read without right", __wasi_fd_read(fd, rv, 1, &n), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("tell without right", __wasi_fd_tell(fd, &pos), __WASI_ERRNO_NOTCAPABLE);

    /* a read-only open gets no write rights; a file fd has no directory rights */
    __wasi_fd_t ro;
    EXPECT("open read-only", __wasi_path_open(SANDBOX, 0, "f1.txt", 0, R(FD_READ) | R(FD_SEEK), 0, 0, &ro), 0);
    EXPECT("write to read-only", write_all(ro, "x"), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("path_open from file fd", __wasi_path_open(ro, 0, "x", 0, 0, 0, 0, &fd), __WASI_ERRNO_NOTCAPABLE);
    uint8_t dbuf[128];
    EXPECT("readdir on file", __wasi_fd_readdir(ro, dbuf, sizeof dbuf, 0, &n), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("write to directory", write_all(SANDBOX, "x"), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("read from directory", __wasi_fd_read(SANDBOX, rv, 1, &n), __WASI_ERRNO_NOTCAPABLE);

    /* renumber and close */
    __wasi_fd_t f2;
    EXPECT("open f2", open_at(SANDBOX, "f2.txt", 0, __WASI_OFLAGS_CREAT, 0, &f2), 0);
    EXPECT("fd_renumber ro->f2", __wasi_fd_renumber(ro, f2), 0);
    EXPECT("old fd gone", __wasi_fd_fdstat_get(ro, &st), __WASI_ERRNO_BADF);
    EXPECT("renumbered is f1", pread_str(f2, buf, sizeof buf), 0);
    EXPECT("renumbered content", strncmp(buf, "HELL", 4), 0);
    EXPECT("renumber to self", __wasi_fd_renumber(f2, f2), 0);
    EXPECT("renumber to closed", __wasi_fd_renumber(f2, 900), __WASI_ERRNO_BADF);
    EXPECT("renumber from closed", __wasi_fd_renumber(900, f2), __WASI_ERRNO_BADF);
    EXPECT("fd_close", __wasi_fd_close(f2), 0);
    EXPECT("fd_close again", __wasi_fd_close(f2), __WASI_ERRNO_BADF);
    EXPECT("read closed", __wasi_fd_read(f2, rv, 1, &n), __WASI_ERRNO_BADF);
    EXPECT("write closed", write_all(f2, "x"), __WASI_ERRNO_BADF);
    EXPECT("seek closed", __wasi_fd_seek(f2, 0, 0, &pos), __WASI_ERRNO_BADF);
    EXPECT("close 4 (rights dropped)", __wasi_fd_close(4), 0);
    EXPECT("lowest fd reused", open_at(SANDBOX, "f1.txt", 0, 0, 0, &fd), 0);
    EXPECT("reused fd 4", fd, 4);
    (void)__wasi_fd_close(fd);

    /* stdio */
    EXPECT("stdout write", write_all(1, "via fd_write\n"), 0);
    EXPECT("fd_fdstat_get stdin", __wasi_fd_fdstat_get(0, &st), 0);
    return finish();
}
