/* t_sandbox.c — WASI guest test of the capability sandbox: `..`, absolute paths, symlinks in/out,
 * loops, hard links, `..` through symlinked dirs, fd-relative escapes; counts escapes (must be 0). */
/* Fixtures (made by run.sh): OUT/secret.txt = "SECRET"; sandbox = OUT/sandbox with file.txt =
 * "inside", sub/, sub/inner_ok -> ../file.txt, sub/up -> .., sub_link -> sub, abs_link ->
 * OUT/secret.txt, abs_dir_link -> OUT, rel_link -> ../secret.txt, dir_link_out -> ..,
 * deep_out -> sub/../../secret.txt, loop1 <-> loop2, self -> self.
 * NODE: skip (node:wasi is no sandbox: symlinks lead out; run.sh reports its escapes as info) */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define NOTCAP __WASI_ERRNO_NOTCAPABLE

static int escapes;

/* An operation that must fail: refusal is checked everywhere, the exact errno under wasmind. */
static void refused(const char *what, int rc, int want)
{
    char name[200];
    snprintf(name, sizeof name, "%s refused", what);
    if (rc == 0) { printf("ESCAPE %s\n", what); escapes++; }
    EXPECT(name, rc != 0, 1);
    snprintf(name, sizeof name, "%s errno", what);
    EXPECT_WM(name, rc, want);
}

/* Opens path for reading; an escape if it succeeds or yields the secret. */
static void open_refused(const char *path, __wasi_lookupflags_t lf, int want)
{
    __wasi_fd_t fd;
    char what[160];
    snprintf(what, sizeof what, "open %s%s", path, lf ? " (follow)" : "");
    int rc = __wasi_path_open(SANDBOX, lf, path, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_READDIR, 0, 0, &fd);
    if (rc == 0) {
        char buf[64];
        if (pread_str(fd, buf, sizeof buf) == 0 && strstr(buf, "SECRET")) printf("ESCAPE read the secret via %s\n", path);
        (void)__wasi_fd_close(fd);
    }
    refused(what, rc, want);
}

/* Opens path and expects the inside file. */
static void open_inside(const char *path, __wasi_lookupflags_t lf)
{
    __wasi_fd_t fd;
    char what[160], buf[64] = "";
    snprintf(what, sizeof what, "open %s%s (inside)", path, lf ? " (follow)" : "");
    int rc = __wasi_path_open(SANDBOX, lf, path, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK, 0, 0, &fd);
    EXPECT(what, rc, 0);
    if (rc == 0) {
        (void)pread_str(fd, buf, sizeof buf);
        (void)__wasi_fd_close(fd);
        if (strstr(buf, "SECRET")) { printf("ESCAPE read the secret via %s\n", path); escapes++; }
        expect_str(what, buf, "inside");
    }
}

int main(void)
{
    /* ---- `..` and absolute paths ---- */
    open_refused("../secret.txt", 0, NOTCAP);
    open_refused("..", 0, NOTCAP);
    open_refused("../", 0, NOTCAP);
    open_refused("./..", 0, NOTCAP);
    open_refused("sub/../..", 0, NOTCAP);
    open_refused("sub/../../secret.txt", 0, NOTCAP);
    open_refused("sub/./../../sandbox/file.txt", 0, NOTCAP);
    open_refused("/etc/passwd", 0, NOTCAP);
    open_refused("/", 0, NOTCAP);
    open_refused("/sandbox/file.txt", 0, NOTCAP);
    open_refused("//secret.txt", 0, NOTCAP);
    open_refused("", 0, __WASI_ERRNO_NOENT);
    open_refused("file.txt/..", 0, __WASI_ERRNO_NOTDIR);

    /* ---- symlinks pointing outside ---- */
    open_refused("abs_link", FOLLOW, NOTCAP);
    open_refused("abs_link", 0, __WASI_ERRNO_LOOP);
    open_refused("abs_dir_link/secret.txt", 0, NOTCAP);
    open_refused("abs_dir_link", FOLLOW, NOTCAP);
    open_refused("abs_dir_link/", 0, NOTCAP);
    open_refused("rel_link", FOLLOW, NOTCAP);
    open_refused("dir_link_out/secret.txt", 0, NOTCAP);
    open_refused("dir_link_out/sandbox/file.txt", 0, NOTCAP);
    open_refused("dir_link_out/", 0, NOTCAP);
    open_refused("deep_out", FOLLOW, NOTCAP);
    open_refused("sub/up/../secret.txt", 0, NOTCAP);
    open_refused("sub_link/../../secret.txt", 0, NOTCAP);

    /* ---- symlinks and `..` that stay inside ---- */
    open_inside("sub/up/file.txt", 0);
    open_inside("sub_link/../file.txt", 0);
    open_inside("sub/inner_ok", FOLLOW);
    open_inside("sub/../file.txt", 0);
    open_inside("./sub/./up/./sub/inner_ok", FOLLOW);

    /* ---- loops ---- */
    open_refused("loop1", FOLLOW, __WASI_ERRNO_LOOP);
    open_refused("loop1/x", 0, __WASI_ERRNO_LOOP);
    open_refused("self", FOLLOW, __WASI_ERRNO_LOOP);
    open_refused("self/", 0, __WASI_ERRNO_LOOP);
    __wasi_filestat_t fs;
    refused("stat loop1 follow", __wasi_path_filestat_get(SANDBOX, FOLLOW, "loop1", &fs), __WASI_ERRNO_LOOP);
    EXPECT("lstat loop1", __wasi_path_filestat_get(SANDBOX, 0, "loop1", &fs), 0);
    /* a chain of 41 links is a loop (limit 40); 40 links resolve */
    char from[16], to[16];
    (void)__wasi_path_create_directory(SANDBOX, "chain");
    int chain_ok = 1;
    for (int i = 0; i <= 40; i++) {
        snprintf(from, sizeof from, "chain/c%d", i);
        if (i == 40) snprintf(to, sizeof to, "../file.txt");
        else snprintf(to, sizeof to, "c%d", i + 1);
        if (__wasi_path_symlink(to, SANDBOX, from) != 0) chain_ok = 0;
    }
    EXPECT("made symlink chain", chain_ok, 1);
    open_refused("chain/c0", FOLLOW, __WASI_ERRNO_LOOP);
    __wasi_fd_t fd;
    EXPECT_WM("open chain of 40", __wasi_path_open(SANDBOX, FOLLOW, "chain/c1", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd), 0);

    /* ---- metadata through escapes ---- */
    refused("stat ../secret.txt", __wasi_path_filestat_get(SANDBOX, 0, "../secret.txt", &fs), NOTCAP);
    refused("stat rel_link follow", __wasi_path_filestat_get(SANDBOX, FOLLOW, "rel_link", &fs), NOTCAP);
    refused("stat abs_link follow", __wasi_path_filestat_get(SANDBOX, FOLLOW, "abs_link", &fs), NOTCAP);
    refused("stat dir_link_out/secret.txt", __wasi_path_filestat_get(SANDBOX, 0, "dir_link_out/secret.txt", &fs), NOTCAP);
    refused("stat ..", __wasi_path_filestat_get(SANDBOX, 0, "..", &fs), NOTCAP);
    EXPECT("lstat abs_link", __wasi_path_filestat_get(SANDBOX, 0, "abs_link", &fs), 0);
    EXPECT("abs_link is a symlink", fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    refused("set_times rel_link follow", __wasi_path_filestat_set_times(SANDBOX, FOLLOW, "rel_link", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), NOTCAP);
    refused("set_times ../secret.txt", __wasi_path_filestat_set_times(SANDBOX, 0, "../secret.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), NOTCAP);
    char buf[256];
    __wasi_size_t n;
    memset(buf, 0, sizeof buf);
    EXPECT("readlink abs_link (text only)", __wasi_path_readlink(SANDBOX, "abs_link", (uint8_t *)buf, sizeof buf - 1, &n), 0);
    EXPECT("link text is absolute", buf[0] == '/', 1);
    refused("readlink ../x", __wasi_path_readlink(SANDBOX, "../x", (uint8_t *)buf, sizeof buf, &n), NOTCAP);

    /* ---- creating or changing things outside ---- */
    refused("mkdir ../evil_dir", __wasi_path_create_directory(SANDBOX, "../evil_dir"), NOTCAP);
    refused("mkdir dir_link_out/evil_dir", __wasi_path_create_directory(SANDBOX, "dir_link_out/evil_dir"), NOTCAP);
    refused("mkdir abs_dir_link/evil_dir", __wasi_path_create_directory(SANDBOX, "abs_dir_link/evil_dir"), NOTCAP);
    __wasi_rights_t r = dir_inheriting(SANDBOX);
    refused("create ../evil.txt", __wasi_path_open(SANDBOX, 0, "../evil.txt", __WASI_OFLAGS_CREAT, r, 0, 0, &fd), NOTCAP);
    refused("create dir_link_out/evil.txt", __wasi_path_open(SANDBOX, 0, "dir_link_out/evil.txt", __WASI_OFLAGS_CREAT, r, 0, 0, &fd), NOTCAP);
    EXPECT("guest symlink to outside", __wasi_path_symlink("../evil2.txt", SANDBOX, "evil_link"), 0);
    refused("create through evil_link", __wasi_path_open(SANDBOX, FOLLOW, "evil_link", __WASI_OFLAGS_CREAT, r, 0, 0, &fd), NOTCAP);
    refused("truncate through rel_link", __wasi_path_open(SANDBOX, FOLLOW, "rel_link", __WASI_OFLAGS_TRUNC, r, 0, 0, &fd), NOTCAP);
    EXPECT("guest symlink absolute", __wasi_path_symlink("/etc/passwd", SANDBOX, "guest_abs"), 0);
    open_refused("guest_abs", FOLLOW, NOTCAP);
    refused("symlink at ../evil_link", __wasi_path_symlink("x", SANDBOX, "../evil_link"), NOTCAP);
    refused("link file.txt -> ../evil_hard", __wasi_path_link(SANDBOX, 0, "file.txt", SANDBOX, "../evil_hard"), NOTCAP);
    refused("link ../secret.txt -> stolen", __wasi_path_link(SANDBOX, 0, "../secret.txt", SANDBOX, "stolen"), NOTCAP);
    refused("link abs_link (follow) -> stolen2", __wasi_path_link(SANDBOX, FOLLOW, "abs_link", SANDBOX, "stolen2"), NOTCAP);
    refused("link dir_link_out/secret.txt -> stolen3", __wasi_path_link(SANDBOX, 0, "dir_link_out/secret.txt", SANDBOX, "stolen3"), NOTCAP);
    /* a hard link to the symlink itself is harmless: following it is still refused */
    if (__wasi_path_link(SANDBOX, 0, "abs_link", SANDBOX, "link_copy") == 0)
        open_refused("link_copy", FOLLOW, NOTCAP);
    refused("rename file.txt -> ../moved", __wasi_path_rename(SANDBOX, "file.txt", SANDBOX, "../moved"), NOTCAP);
    refused("rename ../secret.txt -> got", __wasi_path_rename(SANDBOX, "../secret.txt", SANDBOX, "got"), NOTCAP);
    refused("rename dir_link_out/secret.txt -> got", __wasi_path_rename(SANDBOX, "dir_link_out/secret.txt", SANDBOX, "got"), NOTCAP);
    refused("unlink ../secret.txt", __wasi_path_unlink_file(SANDBOX, "../secret.txt"), NOTCAP);
    refused("unlink dir_link_out/secret.txt", __wasi_path_unlink_file(SANDBOX, "dir_link_out/secret.txt"), NOTCAP);
    refused("unlink abs_dir_link/secret.txt", __wasi_path_unlink_file(SANDBOX, "abs_dir_link/secret.txt"), NOTCAP);
    refused("rmdir ..", __wasi_path_remove_directory(SANDBOX, ".."), NOTCAP);
    refused("rmdir dir_link_out/sandbox", __wasi_path_remove_directory(SANDBOX, "dir_link_out/sandbox"), NOTCAP);

    /* ---- a directory fd is its own root ---- */
    __wasi_fd_t sub;
    EXPECT("open sub", __wasi_path_open(SANDBOX, 0, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_FILESTAT_GET, __WASI_RIGHTS_FD_READ, 0, &sub), 0);
    refused("open sub/../file.txt via sub fd", __wasi_path_open(sub, 0, "../file.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd), NOTCAP);
    if (!is_node())
        refused("open inner_ok via sub fd", __wasi_path_open(sub, FOLLOW, "inner_ok", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd), NOTCAP);
    refused("stat up/.. via sub fd", __wasi_path_filestat_get(sub, 0, "up/..", &fs), NOTCAP);
    (void)__wasi_fd_close(sub);

    /* ---- libc level ---- */
    EXPECT("fopen /sandbox/../secret.txt", fopen("/sandbox/../secret.txt", "r") == NULL, 1);
    EXPECT("fopen /sandbox/rel_link", fopen("/sandbox/rel_link", "r") == NULL, 1);
    EXPECT("fopen /etc/passwd", fopen("/etc/passwd", "r") == NULL, 1);
    EXPECT("opendir /sandbox/dir_link_out", opendir("/sandbox/dir_link_out") == NULL, 1);
    EXPECT("fopen /sandbox/file.txt", fopen("/sandbox/file.txt", "r") != NULL, 1);

    EXPECT("escapes", escapes, 0);
    return finish();
}
