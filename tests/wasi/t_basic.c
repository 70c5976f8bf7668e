/* t_basic.c — WASI guest test: args, environ, clocks, random, sched_yield, proc_raise, prestat,
 * stdio fdstat. Run with args: alpha "beta gamma" "" and env FOO=bar EMPTY= . */
#include "common.h"

WASI_IMPORT("proc_raise") int32_t raw_proc_raise(int32_t sig);

int main(int argc, char **argv)
{
    /* ---- args ---- */
    __wasi_size_t n = 0, bytes = 0;
    EXPECT("args_sizes_get", __wasi_args_sizes_get(&n, &bytes), 0);
    EXPECT("argc", n, 4);
    EXPECT("libc argc", argc, 4);
    size_t want = 0;
    for (int i = 0; i < argc; i++) want += strlen(argv[i]) + 1;
    EXPECT("args bytes", bytes, want);
    char **av = calloc(n, sizeof *av);
    char *buf = malloc(bytes);
    EXPECT("args_get", __wasi_args_get((uint8_t **)av, (uint8_t *)buf), 0);
    expect_str("argv[1]", av[1], "alpha");
    expect_str("argv[2]", av[2], "beta gamma");
    expect_str("argv[3]", av[3], "");
    EXPECT("argv[0] is argv_buf", av[0] == buf, 1);

    /* ---- environ ---- */
    EXPECT("environ_sizes_get", __wasi_environ_sizes_get(&n, &bytes), 0);
    char **ev = calloc(n + 1, sizeof *ev);
    char *ebuf = malloc(bytes + 1);
    EXPECT("environ_get", __wasi_environ_get((uint8_t **)ev, (uint8_t *)ebuf), 0);
    int found_foo = 0, found_empty = 0;
    for (__wasi_size_t i = 0; i < n; i++) {
        if (strcmp(ev[i], "FOO=bar") == 0) found_foo = 1;
        if (strcmp(ev[i], "EMPTY=") == 0) found_empty = 1;
    }
    EXPECT("env FOO=bar", found_foo, 1);
    EXPECT("env EMPTY=", found_empty, 1);
    expect_str("getenv FOO", getenv("FOO") ? getenv("FOO") : "(null)", "bar");
    EXPECT("getenv MISSING", getenv("MISSING_VAR") == NULL, 1);

    /* ---- clocks ---- */
    static const char *names[4] = { "realtime", "monotonic", "process_cputime", "thread_cputime" };
    for (int id = 0; id < 4; id++) {
        char label[64];
        __wasi_timestamp_t res = 0, t = 0;
        snprintf(label, sizeof label, "clock_res_get %s", names[id]);
        EXPECT(label, __wasi_clock_res_get((__wasi_clockid_t)id, &res), 0);
        snprintf(label, sizeof label, "clock_res %s > 0", names[id]);
        EXPECT(label, res > 0, 1);
        snprintf(label, sizeof label, "clock_time_get %s", names[id]);
        EXPECT(label, __wasi_clock_time_get((__wasi_clockid_t)id, 1, &t), 0);
    }
    __wasi_timestamp_t t0, t1, rt;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt);
    EXPECT("realtime after 2020", rt > 1577836800000000000ull, 1);
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0);
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1);
    EXPECT("monotonic does not go back", t1 >= t0, 1);
    __wasi_timestamp_t dummy;
    EXPECT("clock_res_get bad id", __wasi_clock_res_get(4, &dummy), __WASI_ERRNO_INVAL);
    EXPECT("clock_time_get bad id", __wasi_clock_time_get(99, 1, &dummy), __WASI_ERRNO_INVAL);

    /* ---- random ---- */
    uint8_t rnd[64], rnd2[64];
    memset(rnd, 0, sizeof rnd);
    memset(rnd2, 0, sizeof rnd2);
    EXPECT("random_get", __wasi_random_get(rnd, sizeof rnd), 0);
    EXPECT("random_get again", __wasi_random_get(rnd2, sizeof rnd2), 0);
    EXPECT("random differs", memcmp(rnd, rnd2, sizeof rnd) != 0, 1);
    EXPECT("random_get len 0", __wasi_random_get(rnd, 0), 0);
    uint8_t *big = malloc(100000);
    EXPECT("random_get 100000", __wasi_random_get(big, 100000), 0);
    free(big);

    /* ---- sched / proc_raise ---- */
    EXPECT("sched_yield", __wasi_sched_yield(), 0);
    if (!is_node())   /* Node really raises the signal on the host */
        EXPECT_WM("proc_raise", raw_proc_raise(15 /* SIGTERM */), __WASI_ERRNO_NOSYS);

    /* ---- prestat ---- */
    __wasi_prestat_t ps;
    EXPECT("fd_prestat_get 3", __wasi_fd_prestat_get(SANDBOX, &ps), 0);
    EXPECT("prestat tag", ps.tag, __WASI_PREOPENTYPE_DIR);
    EXPECT("prestat name len", ps.u.dir.pr_name_len, 8);
    char name[32];
    memset(name, 0, sizeof name);
    EXPECT("fd_prestat_dir_name", __wasi_fd_prestat_dir_name(SANDBOX, (uint8_t *)name, 8), 0);
    expect_str("preopen name", name, "/sandbox");
    EXPECT("fd_prestat_get 4 (none)", __wasi_fd_prestat_get(4, &ps), __WASI_ERRNO_BADF);
    EXPECT("fd_prestat_get 1000", __wasi_fd_prestat_get(1000, &ps), __WASI_ERRNO_BADF);
    EXPECT_WM("fd_prestat_get stdout", __wasi_fd_prestat_get(1, &ps), __WASI_ERRNO_BADF);
    EXPECT_WM("fd_prestat_dir_name short", __wasi_fd_prestat_dir_name(SANDBOX, (uint8_t *)name, 3), __WASI_ERRNO_NAMETOOLONG);

    /* ---- fdstat of the preopen and stdio ---- */
    __wasi_fdstat_t st;
    EXPECT("fd_fdstat_get 3", __wasi_fd_fdstat_get(SANDBOX, &st), 0);
    EXPECT("preopen filetype", st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    EXPECT("preopen has path_open", (st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN) != 0, 1);
    EXPECT("preopen has fd_readdir", (st.fs_rights_base & __WASI_RIGHTS_FD_READDIR) != 0, 1);
    EXPECT("preopen inherits fd_read", (st.fs_rights_inheriting & __WASI_RIGHTS_FD_READ) != 0, 1);
    EXPECT("fd_fdstat_get stdout", __wasi_fd_fdstat_get(1, &st), 0);
    EXPECT("stdout writable", (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0, 1);
    EXPECT("fd_fdstat_get 77", __wasi_fd_fdstat_get(77, &st), __WASI_ERRNO_BADF);
    return finish();
}
