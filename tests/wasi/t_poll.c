/* t_poll.c — WASI guest test of poll_oneoff: relative and absolute clock subscriptions, fd_read /
 * fd_write subscriptions on files and stdout, bad fds, invalid input; plus sleep via libc. */
#include <time.h>
#include <unistd.h>

#include "common.h"

static __wasi_timestamp_t mono(void)
{
    __wasi_timestamp_t t = 0;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    return t;
}

static __wasi_subscription_t clock_sub(uint64_t ud, __wasi_clockid_t id, uint64_t timeout, int abs)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = id;
    s.u.u.clock.timeout = timeout;
    s.u.u.clock.precision = 0;
    s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
    return s;
}

static __wasi_subscription_t fd_sub(uint64_t ud, __wasi_eventtype_t type, __wasi_fd_t fd)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = type;
    s.u.u.fd_read.file_descriptor = fd;
    return s;
}

int main(void)
{
    __wasi_subscription_t in[4];
    __wasi_event_t out[4];
    __wasi_size_t n = 99;

    EXPECT("struct sizes", sizeof(__wasi_subscription_t) == 48 && sizeof(__wasi_event_t) == 32, 1);
    EXPECT_WM("no subscriptions", __wasi_poll_oneoff(in, out, 0, &n), __WASI_ERRNO_INVAL);

    /* a relative 30 ms monotonic timeout */
    in[0] = clock_sub(0x1234, __WASI_CLOCKID_MONOTONIC, 30000000, 0);
    __wasi_timestamp_t t0 = mono();
    EXPECT("poll clock", __wasi_poll_oneoff(in, out, 1, &n), 0);
    __wasi_timestamp_t dt = mono() - t0;
    EXPECT("nevents 1", n, 1);
    EXPECT("slept >= 20ms", dt >= 20000000, 1);
    EXPECT_WM("slept >= 30ms", dt >= 30000000, 1);   /* Node's timer may round down to the ms */
    EXPECT("slept < 2s", dt < 2000000000, 1);
    EXPECT("event userdata", out[0].userdata, 0x1234);
    EXPECT("event type clock", out[0].type, __WASI_EVENTTYPE_CLOCK);
    EXPECT("event error", out[0].error, 0);

    /* absolute deadlines: monotonic in the past, realtime 20 ms ahead (Node 20 waits forever on these) */
    if (!is_node()) {
        in[0] = clock_sub(7, __WASI_CLOCKID_MONOTONIC, 1, 1);
        t0 = mono();
        EXPECT_WM("poll abs past", __wasi_poll_oneoff(in, out, 1, &n), 0);
        EXPECT_WM("abs past is immediate", mono() - t0 < 500000000, 1);
        EXPECT_WM("abs past userdata", out[0].userdata, 7);
        __wasi_timestamp_t rt;
        (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt);
        in[0] = clock_sub(8, __WASI_CLOCKID_REALTIME, rt + 20000000, 1);
        t0 = mono();
        EXPECT_WM("poll abs realtime", __wasi_poll_oneoff(in, out, 1, &n), 0);
        EXPECT_WM("abs realtime waited", mono() - t0 >= 15000000, 1);
    }

    /* two clocks: only the earlier one fires */
    in[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
    in[1] = clock_sub(2, __WASI_CLOCKID_MONOTONIC, 10000000, 0);
    EXPECT("poll two clocks", __wasi_poll_oneoff(in, out, 2, &n), 0);
    EXPECT("one fired", n, 1);
    EXPECT("the earlier", out[0].userdata, 2);

    /* fd subscriptions (not implemented by Node 20: [wm]): a regular file is always ready; stdout is writable */
    (void)make_file(SANDBOX, "data.txt", "0123456789");
    __wasi_fd_t fd;
    EXPECT("open data", open_at(SANDBOX, "data.txt", 0, 0, 0, &fd), 0);
    in[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
    in[1] = fd_sub(2, __WASI_EVENTTYPE_FD_READ, fd);
    t0 = mono();
    EXPECT_WM("poll file read", __wasi_poll_oneoff(in, out, 2, &n), 0);
    EXPECT_WM("file ready at once", mono() - t0 < 1000000000, 1);
    EXPECT_WM("file event count", n, 1);
    EXPECT_WM("file event userdata", out[0].userdata, 2);
    EXPECT_WM("file event type", out[0].type, __WASI_EVENTTYPE_FD_READ);
    EXPECT_WM("file event error", out[0].error, 0);
    EXPECT_WM("file nbytes", out[0].fd_readwrite.nbytes, 10);
    in[0] = fd_sub(3, __WASI_EVENTTYPE_FD_WRITE, 1);
    EXPECT_WM("poll stdout write", __wasi_poll_oneoff(in, out, 1, &n), 0);
    EXPECT_WM("stdout event", n == 1 && out[0].type == __WASI_EVENTTYPE_FD_WRITE && out[0].error == 0, 1);

    /* a bad fd is reported in its event */
    in[0] = fd_sub(4, __WASI_EVENTTYPE_FD_READ, 999);
    in[1] = clock_sub(5, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
    t0 = mono();
    EXPECT_WM("poll bad fd", __wasi_poll_oneoff(in, out, 2, &n), 0);
    EXPECT_WM("bad fd immediate", mono() - t0 < 1000000000, 1);
    EXPECT_WM("bad fd event", n >= 1 && out[0].userdata == 4, 1);
    EXPECT_WM("bad fd error", out[0].error, __WASI_ERRNO_BADF);

    /* a fd without the poll right */
    EXPECT("drop poll right", __wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0), 0);
    in[0] = fd_sub(6, __WASI_EVENTTYPE_FD_READ, fd);
    EXPECT_WM("poll without right", __wasi_poll_oneoff(in, out, 1, &n), 0);
    EXPECT_WM("without right error", out[0].error, __WASI_ERRNO_NOTCAPABLE);
    (void)__wasi_fd_close(fd);

    /* invalid subscriptions */
    in[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 0, 0);
    in[0].u.tag = 3;
    EXPECT_WM("bad event type", __wasi_poll_oneoff(in, out, 1, &n), __WASI_ERRNO_INVAL);
    in[0] = clock_sub(1, 9, 1000, 0);
    EXPECT_WM("bad clock id", __wasi_poll_oneoff(in, out, 1, &n), __WASI_ERRNO_INVAL);

    /* libc sleeping goes through poll_oneoff */
    t0 = mono();
    struct timespec ts = { 0, 20000000 };
    EXPECT("nanosleep", nanosleep(&ts, NULL), 0);
    EXPECT_WM("nanosleep slept", mono() - t0 >= 20000000, 1);
    t0 = mono();
    EXPECT("usleep", usleep(10000), 0);
    EXPECT_WM("usleep slept", mono() - t0 >= 10000000, 1);
    return finish();
}
