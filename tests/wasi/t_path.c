/* t_path.c — WASI guest test of the path_* functions (every oflag, symlinks, links, rename, unlink,
 * set_times) and fd_readdir with cookies and small buffers, plus libc file APIs on top of them. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define R(x) __WASI_RIGHTS_##x

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reads a whole directory with fd_readdir using a bufsize-byte buffer and cookies; returns the
 * number of entries, names (sorted) in out. */
static int read_dir(__wasi_fd_t dir, size_t bufsize, char **out, int max, int *bad_layout)
{
    uint8_t *buf = malloc(bufsize);
    __wasi_dircookie_t cookie = 0;
    int count = 0, rounds = 0;
    *bad_layout = 0;
    for (;;) {
        if (++rounds > 10000) { free(buf); return -2; }
        __wasi_size_t used = 0;
        if (__wasi_fd_readdir(dir, buf, bufsize, cookie, &used) != 0) { free(buf); return -1; }
        size_t off = 0;
        int progressed = 0;
        while (off + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + off, sizeof d);
            if (off + sizeof d + d.d_namlen > used) break;   /* truncated entry: read again from cookie */
            if (count < max) {
                out[count] = malloc(d.d_namlen + 1);
                memcpy(out[count], buf + off + sizeof d, d.d_namlen);
                out[count][d.d_namlen] = 0;
                if (strncmp(out[count], "file_", 5) == 0 && d.d_type != __WASI_FILETYPE_REGULAR_FILE) *bad_layout = 1;
                if (strcmp(out[count], "subdir") == 0 && d.d_type != __WASI_FILETYPE_DIRECTORY) *bad_layout = 1;
                if (d.d_ino == 0) *bad_layout = 1;
            }
            count++;
            cookie = d.d_next;
            off += sizeof d + d.d_namlen;
            progressed = 1;
        }
        if (used < bufsize) break;   /* end of directory */
        if (!progressed) { bufsize *= 2; buf = realloc(buf, bufsize); }
    }
    free(buf);
    qsort(out, (size_t)(count < max ? count : max), sizeof *out, cmpstr);
    return count;
}

int main(void)
{
    __wasi_fd_t fd, d1;
    __wasi_filestat_t fs;
    __wasi_fdstat_t st;
    char buf[256];
    __wasi_size_t n;

    /* ---- directories ---- */
    EXPECT("mkdir d1", __wasi_path_create_directory(SANDBOX, "d1"), 0);
    EXPECT("mkdir d1 again", __wasi_path_create_directory(SANDBOX, "d1"), __WASI_ERRNO_EXIST);
    EXPECT("mkdir d1/d2", __wasi_path_create_directory(SANDBOX, "d1/d2"), 0);
    EXPECT("mkdir nested missing", __wasi_path_create_directory(SANDBOX, "nope/x"), __WASI_ERRNO_NOENT);
    EXPECT("mkdir trailing slash", __wasi_path_create_directory(SANDBOX, "d3/"), 0);
    EXPECT("mkdir .", __wasi_path_create_directory(SANDBOX, "."), __WASI_ERRNO_EXIST);
    EXPECT("filestat d1", __wasi_path_filestat_get(SANDBOX, 0, "d1", &fs), 0);
    EXPECT("d1 is dir", fs.filetype, __WASI_FILETYPE_DIRECTORY);
    EXPECT("filestat missing", __wasi_path_filestat_get(SANDBOX, 0, "missing", &fs), __WASI_ERRNO_NOENT);
    EXPECT_WM("filestat empty path", __wasi_path_filestat_get(SANDBOX, 0, "", &fs), __WASI_ERRNO_NOENT);
    EXPECT("filestat .", __wasi_path_filestat_get(SANDBOX, 0, ".", &fs), 0);
    EXPECT(". is dir", fs.filetype, __WASI_FILETYPE_DIRECTORY);

    /* ---- path_open oflags ---- */
    EXPECT("create d1/f", make_file(SANDBOX, "d1/f", "abc"), 0);
    EXPECT("open excl existing", open_at(SANDBOX, "d1/f", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0, &fd), __WASI_ERRNO_EXIST);
    EXPECT("open excl new", open_at(SANDBOX, "d1/g", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0, &fd), 0);
    (void)__wasi_fd_close(fd);
    EXPECT("open file as directory", open_at(SANDBOX, "d1/f", 0, __WASI_OFLAGS_DIRECTORY, 0, &fd), __WASI_ERRNO_NOTDIR);
    EXPECT("open file with slash", open_at(SANDBOX, "d1/f/", 0, 0, 0, &fd), __WASI_ERRNO_NOTDIR);
    EXPECT("open missing", open_at(SANDBOX, "d1/missing", 0, 0, 0, &fd), __WASI_ERRNO_NOENT);
    EXPECT("open dir", open_at(SANDBOX, "d1", 0, __WASI_OFLAGS_DIRECTORY, 0, &d1), 0);
    EXPECT("fdstat dir", __wasi_fd_fdstat_get(d1, &st), 0);
    EXPECT("dir fd type", st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    EXPECT("dir fd has no write right", (st.fs_rights_base & R(FD_WRITE)) == 0, 1);
    EXPECT("dir fd can path_open", (st.fs_rights_base & R(PATH_OPEN)) != 0, 1);
    EXPECT("dir fd cannot fd_read", (st.fs_rights_base & R(FD_READ)) == 0, 1);
    /* with DIRECTORY, write rights do not make the open fail (they are dropped) */
    EXPECT_WM("open dir with write rights", __wasi_path_open(SANDBOX, 0, "d1", __WASI_OFLAGS_DIRECTORY, dir_inheriting(SANDBOX), dir_inheriting(SANDBOX), 0, &fd), 0);
    if (fd != (__wasi_fd_t)-1) (void)__wasi_fd_close(fd);
    EXPECT("open dir for writing without DIRECTORY", __wasi_path_open(SANDBOX, 0, "d1", 0, R(FD_WRITE), 0, 0, &fd), __WASI_ERRNO_ISDIR);
    EXPECT("open via dir fd", open_at(d1, "f", 0, 0, 0, &fd), 0);
    EXPECT("read via dir fd", pread_str(fd, buf, sizeof buf), 0);
    expect_str("content via dir fd", buf, "abc");
    (void)__wasi_fd_close(fd);
    EXPECT("open trunc", open_at(SANDBOX, "d1/f", 0, __WASI_OFLAGS_TRUNC, 0, &fd), 0);
    (void)__wasi_fd_filestat_get(fd, &fs);
    EXPECT("truncated", fs.size, 0);
    EXPECT("rewrite", write_all(fd, "abc"), 0);
    (void)__wasi_fd_close(fd);
    EXPECT("open append", open_at(SANDBOX, "d1/f", 0, 0, __WASI_FDFLAGS_APPEND, &fd), 0);
    EXPECT("append", write_all(fd, "def"), 0);
    EXPECT("read appended", pread_str(fd, buf, sizeof buf), 0);
    expect_str("appended", buf, "abcdef");
    (void)__wasi_fd_close(fd);
    EXPECT("open nonblock", open_at(SANDBOX, "d1/f", 0, 0, __WASI_FDFLAGS_NONBLOCK, &fd), 0);
    (void)__wasi_fd_close(fd);
    EXPECT("open dsync", open_at(SANDBOX, "d1/f", 0, 0, __WASI_FDFLAGS_DSYNC, &fd), 0);
    (void)__wasi_fd_close(fd);
    EXPECT("open sync", open_at(SANDBOX, "d1/f", 0, 0, __WASI_FDFLAGS_SYNC, &fd), 0);
    (void)__wasi_fd_close(fd);
    EXPECT_WM("open directory|creat", open_at(SANDBOX, "d9", 0, __WASI_OFLAGS_DIRECTORY | __WASI_OFLAGS_CREAT, 0, &fd), __WASI_ERRNO_INVAL);
    EXPECT_WM("open bad oflags", open_at(SANDBOX, "d1/f", 0, 0x10, 0, &fd), __WASI_ERRNO_INVAL);
    EXPECT_WM("open bad lookupflags", open_at(SANDBOX, "d1/f", 2, 0, 0, &fd), __WASI_ERRNO_INVAL);
    EXPECT("open asking a right not inherited", __wasi_path_open(SANDBOX, 0, "d1/f", 0, R(SOCK_SHUTDOWN), 0, 0, &fd), __WASI_ERRNO_NOTCAPABLE);
    EXPECT_WM("open asking an unknown right", __wasi_path_open(SANDBOX, 0, "d1/f", 0, R(SOCK_ACCEPT) << 1, 0, 0, &fd), __WASI_ERRNO_INVAL);
    /* a directory fd without path_create_file cannot create */
    __wasi_fd_t lim;
    __wasi_rights_t inh = dir_inheriting(SANDBOX);
    EXPECT("open limited dir", __wasi_path_open(SANDBOX, 0, "d1", __WASI_OFLAGS_DIRECTORY, R(PATH_OPEN) | R(FD_READDIR), inh, 0, &lim), 0);
    EXPECT("create without right", __wasi_path_open(lim, 0, "new", __WASI_OFLAGS_CREAT, 0, 0, 0, &fd), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("mkdir without right", __wasi_path_create_directory(lim, "x"), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("unlink without right", __wasi_path_unlink_file(lim, "f"), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("filestat without right", __wasi_path_filestat_get(lim, 0, "f", &fs), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("open read in limited dir", __wasi_path_open(lim, 0, "f", 0, R(FD_READ), 0, 0, &fd), 0);
    (void)__wasi_fd_close(fd);
    (void)__wasi_fd_close(lim);

    /* ---- symlinks ---- */
    EXPECT("symlink d1/lnk -> f", __wasi_path_symlink("f", SANDBOX, "d1/lnk"), 0);
    EXPECT("symlink exists", __wasi_path_symlink("f", SANDBOX, "d1/lnk"), __WASI_ERRNO_EXIST);
    memset(buf, 0, sizeof buf);
    EXPECT("readlink", __wasi_path_readlink(SANDBOX, "d1/lnk", (uint8_t *)buf, sizeof buf, &n), 0);
    EXPECT("readlink len", n, 1);
    expect_str("readlink text", buf, "f");
    EXPECT("readlink non-link", __wasi_path_readlink(SANDBOX, "d1/f", (uint8_t *)buf, sizeof buf, &n), __WASI_ERRNO_INVAL);
    EXPECT("readlink missing", __wasi_path_readlink(SANDBOX, "d1/nope", (uint8_t *)buf, sizeof buf, &n), __WASI_ERRNO_NOENT);
    EXPECT("symlink long", __wasi_path_symlink("a-longer-target-name", SANDBOX, "d1/lnk2"), 0);
    EXPECT_WM("readlink truncated", __wasi_path_readlink(SANDBOX, "d1/lnk2", (uint8_t *)buf, 4, &n), 0);
    EXPECT_WM("readlink truncated len", n, 4);
    EXPECT("lstat link", __wasi_path_filestat_get(SANDBOX, 0, "d1/lnk", &fs), 0);
    EXPECT("link type", fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    EXPECT("stat through link", __wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "d1/lnk", &fs), 0);
    EXPECT("target type", fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    EXPECT("target size", fs.size, 6);
    EXPECT_WM("open link nofollow", open_at(SANDBOX, "d1/lnk", 0, 0, 0, &fd), __WASI_ERRNO_LOOP);
    EXPECT("open link follow", open_at(SANDBOX, "d1/lnk", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, 0, &fd), 0);
    EXPECT("read through link", pread_str(fd, buf, sizeof buf), 0);
    expect_str("content through link", buf, "abcdef");
    (void)__wasi_fd_close(fd);
    EXPECT("dangling symlink", __wasi_path_symlink("made", SANDBOX, "d1/dang"), 0);
    EXPECT("stat dangling follow", __wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "d1/dang", &fs), __WASI_ERRNO_NOENT);
    EXPECT("create through dangling", open_at(SANDBOX, "d1/dang", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, __WASI_OFLAGS_CREAT, 0, &fd), 0);
    (void)__wasi_fd_close(fd);
    EXPECT("target created", __wasi_path_filestat_get(SANDBOX, 0, "d1/made", &fs), 0);
    EXPECT("dir symlink", __wasi_path_symlink("d1", SANDBOX, "d1link"), 0);
    EXPECT("open through dir symlink", open_at(SANDBOX, "d1link/f", 0, 0, 0, &fd), 0);
    (void)__wasi_fd_close(fd);
    EXPECT("dotdot after dir symlink", __wasi_path_filestat_get(SANDBOX, 0, "d1link/../d1/f", &fs), 0);

    /* ---- set_times by path ---- */
    const __wasi_timestamp_t T = 1200000000555000111ull;
    EXPECT("path set_times", __wasi_path_filestat_set_times(SANDBOX, 0, "d1/f", T, T, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), 0);
    (void)__wasi_path_filestat_get(SANDBOX, 0, "d1/f", &fs);
    EXPECT("path mtim (seconds)", fs.mtim / 1000000000u, T / 1000000000u);
    EXPECT_WM("path mtim", fs.mtim, T);
    EXPECT("path set_times follow", __wasi_path_filestat_set_times(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "d1/lnk", 0, T + 1000000000u, __WASI_FSTFLAGS_MTIM), 0);
    (void)__wasi_path_filestat_get(SANDBOX, 0, "d1/f", &fs);
    EXPECT("followed mtim", fs.mtim / 1000000000u, T / 1000000000u + 1);
    if (!is_node())   /* Node 20 leaves fd 3 locked after this error: the next call on it hangs */
        EXPECT_WM("path set_times bad flags", __wasi_path_filestat_set_times(SANDBOX, 0, "d1/f", 0, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW), __WASI_ERRNO_INVAL);
    if (!is_node())   /* the same */
        EXPECT_WM("path set_times missing", __wasi_path_filestat_set_times(SANDBOX, 0, "d1/zz", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_NOENT);

    /* ---- hard links ---- */
    EXPECT("link d1/f -> d1/hard", __wasi_path_link(SANDBOX, 0, "d1/f", SANDBOX, "d1/hard"), 0);
    (void)__wasi_path_filestat_get(SANDBOX, 0, "d1/f", &fs);
    EXPECT("nlink 2", fs.nlink, 2);
    EXPECT("link exists", __wasi_path_link(SANDBOX, 0, "d1/f", SANDBOX, "d1/hard"), __WASI_ERRNO_EXIST);
    EXPECT("link missing source", __wasi_path_link(SANDBOX, 0, "d1/none", SANDBOX, "d1/h2"), __WASI_ERRNO_NOENT);
    EXPECT("link directory", __wasi_path_link(SANDBOX, 0, "d1/d2", SANDBOX, "d1/h3"), __WASI_ERRNO_PERM);
    EXPECT("link via dir fd", __wasi_path_link(d1, 0, "f", SANDBOX, "hard_top"), 0);

    /* ---- rename ---- */
    EXPECT("rename file", __wasi_path_rename(SANDBOX, "d1/hard", SANDBOX, "d1/hard2"), 0);
    EXPECT("old name gone", __wasi_path_filestat_get(SANDBOX, 0, "d1/hard", &fs), __WASI_ERRNO_NOENT);
    EXPECT("rename missing", __wasi_path_rename(SANDBOX, "d1/hard", SANDBOX, "d1/x"), __WASI_ERRNO_NOENT);
    EXPECT("rename dir", __wasi_path_rename(SANDBOX, "d3", SANDBOX, "d1/d3"), 0);
    EXPECT("rename onto nonempty dir", __wasi_path_rename(SANDBOX, "d1/d3", SANDBOX, "d1"), __WASI_ERRNO_NOTEMPTY);
    EXPECT("rename dir onto file", __wasi_path_rename(SANDBOX, "d1/d3", SANDBOX, "d1/f"), __WASI_ERRNO_NOTDIR);
    EXPECT("rename file onto dir", __wasi_path_rename(SANDBOX, "d1/hard2", SANDBOX, "d1/d3"), __WASI_ERRNO_ISDIR);
    EXPECT("rename across fds", __wasi_path_rename(d1, "hard2", SANDBOX, "moved"), 0);
    EXPECT("rename overwrite file", __wasi_path_rename(SANDBOX, "moved", SANDBOX, "hard_top"), 0);

    /* ---- unlink / rmdir ---- */
    EXPECT("unlink", __wasi_path_unlink_file(SANDBOX, "hard_top"), 0);
    EXPECT("unlink again", __wasi_path_unlink_file(SANDBOX, "hard_top"), __WASI_ERRNO_NOENT);
    EXPECT("unlink dir", __wasi_path_unlink_file(SANDBOX, "d1/d2"), __WASI_ERRNO_ISDIR);
    EXPECT("unlink symlink itself", __wasi_path_unlink_file(SANDBOX, "d1/lnk2"), 0);
    EXPECT("unlink file slash", __wasi_path_unlink_file(SANDBOX, "d1/g/"), __WASI_ERRNO_NOTDIR);
    EXPECT("rmdir nonempty", __wasi_path_remove_directory(SANDBOX, "d1"), __WASI_ERRNO_NOTEMPTY);
    EXPECT("rmdir file", __wasi_path_remove_directory(SANDBOX, "d1/g"), __WASI_ERRNO_NOTDIR);
    EXPECT("rmdir d2", __wasi_path_remove_directory(SANDBOX, "d1/d2"), 0);
    EXPECT("rmdir d2 again", __wasi_path_remove_directory(SANDBOX, "d1/d2"), __WASI_ERRNO_NOENT);
    EXPECT("rmdir with slash", __wasi_path_remove_directory(SANDBOX, "d1/d3/"), 0);
    EXPECT("rmdir symlink", __wasi_path_remove_directory(SANDBOX, "d1link"), __WASI_ERRNO_NOTDIR);
    (void)__wasi_fd_close(d1);

    /* ---- fd_readdir ---- */
    EXPECT("mkdir rd", __wasi_path_create_directory(SANDBOX, "rd"), 0);
    char name[64];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "rd/file_%02d_with_a_longish_name", i);
        make_file(SANDBOX, name, "x");
    }
    EXPECT("mkdir rd/subdir", __wasi_path_create_directory(SANDBOX, "rd/subdir"), 0);
    __wasi_fd_t rd;
    EXPECT("open rd", open_at(SANDBOX, "rd", 0, __WASI_OFLAGS_DIRECTORY, 0, &rd), 0);
    static const size_t sizes[] = { 4096, 100, 37, 24, 1 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *names[64];
        int bad;
        int cnt = read_dir(rd, sizes[s], names, 64, &bad);
        int dots = 0;
        for (int i = 0; i < cnt && i < 64; i++) dots += !strcmp(names[i], ".") || !strcmp(names[i], "..");
        snprintf(name, sizeof name, "readdir buf %zu count", sizes[s]);
        EXPECT(name, cnt - dots, 31);
        /* "." and ".." are listed, as wasmtime does (Node leaves them out) */
        snprintf(name, sizeof name, "readdir buf %zu dot entries", sizes[s]);
        EXPECT_WM(name, dots, 2);
        snprintf(name, sizeof name, "readdir buf %zu dirent fields", sizes[s]);
        EXPECT_WM(name, bad, 0);
        if (cnt - dots == 31) {
            expect_str("first file", names[dots], "file_00_with_a_longish_name");
            expect_str("last entry", names[cnt - 1], "subdir");
        }
        for (int i = 0; i < cnt && i < 64; i++) free(names[i]);
    }
    uint8_t dbuf[256];
    EXPECT("readdir far cookie", __wasi_fd_readdir(rd, dbuf, sizeof dbuf, 1000, &n), 0);
    EXPECT("readdir far cookie empty", n, 0);
    EXPECT("readdir buf 0", __wasi_fd_readdir(rd, dbuf, 0, 0, &n), 0);
    EXPECT("readdir buf 0 used", n, 0);
    /* the first dirent's exact layout */
    EXPECT("readdir 24+", __wasi_fd_readdir(rd, dbuf, sizeof dbuf, 0, &n), 0);
    uint64_t next;
    uint32_t namlen;
    memcpy(&next, dbuf, 8);
    memcpy(&namlen, dbuf + 16, 4);
    EXPECT("d_next of first", next != 0, 1);
    EXPECT_WM("dirent padding", dbuf[21] | dbuf[22] | dbuf[23], 0);
    EXPECT("name fits", namlen > 0 && namlen < 64, 1);
    /* libc readdir on top of fd_readdir */
    DIR *dir = opendir("/sandbox/rd");
    int libc_count = 0;
    struct dirent *de;
    while (dir && (de = readdir(dir))) libc_count += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    EXPECT("libc readdir count", libc_count, 31);
    if (dir) {
        rewinddir(dir);
        make_file(SANDBOX, "rd/late", "x");
        libc_count = 0;
        while ((de = readdir(dir))) libc_count += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
        EXPECT("rewinddir sees new file", libc_count, 32);
        closedir(dir);
    }
    (void)__wasi_fd_close(rd);

    /* ---- libc level ---- */
    FILE *f = fopen("/sandbox/libc.txt", "w");
    EXPECT("fopen w", f != NULL, 1);
    if (f) { fprintf(f, "line1\nline2\n"); fclose(f); }
    f = fopen("/sandbox/libc.txt", "r");
    EXPECT("fopen r", f != NULL, 1);
    if (f) {
        char line[32] = { 0 };
        fgets(line, sizeof line, f);
        line[strcspn(line, "\n")] = 0;
        expect_str("fgets", line, "line1");
        fclose(f);
    }
    struct stat sb;
    EXPECT("stat", stat("/sandbox/libc.txt", &sb), 0);
    EXPECT("stat size", sb.st_size, 12);
    EXPECT("mkdir()", mkdir("/sandbox/libcdir", 0755), 0);
    EXPECT("rename()", rename("/sandbox/libc.txt", "/sandbox/libcdir/moved.txt"), 0);
    EXPECT("access()", access("/sandbox/libcdir/moved.txt", F_OK), 0);
    EXPECT("unlink()", unlink("/sandbox/libcdir/moved.txt"), 0);
    EXPECT("rmdir()", rmdir("/sandbox/libcdir"), 0);
    int lfd = open("/sandbox/libc2.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    EXPECT("open()", lfd >= 0, 1);
    EXPECT("write()", write(lfd, "12345", 5), 5);
    EXPECT("lseek()", lseek(lfd, 0, SEEK_CUR), 5);
    EXPECT("ftruncate()", ftruncate(lfd, 2), 0);
    EXPECT("close()", close(lfd), 0);
    EXPECT("stat size 2", stat("/sandbox/libc2.txt", &sb) == 0 ? sb.st_size : -1, 2);
    return finish();
}
