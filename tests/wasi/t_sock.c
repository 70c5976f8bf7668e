/* t_sock.c — WASI guest test of a socket handed in with --listen (guest fd 4): poll, sock_accept,
 * sock_recv/sock_send/sock_shutdown, fd_read/fd_write on it; run.sh's client sends "ping". */
/* NODE: skip (node:wasi cannot be given sockets) */
#include "common.h"

#define LISTENER 4

WASI_IMPORT("sock_accept") int32_t raw_sock_accept(int32_t, int32_t, int32_t);
WASI_IMPORT("sock_recv") int32_t raw_sock_recv(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("sock_send") int32_t raw_sock_send(int32_t, int32_t, int32_t, int32_t, int32_t);
WASI_IMPORT("sock_shutdown") int32_t raw_sock_shutdown(int32_t, int32_t);

#define P(x) ((int32_t)(uintptr_t)(x))

int main(void)
{
    __wasi_fdstat_t st;
    EXPECT("listener fdstat", __wasi_fd_fdstat_get(LISTENER, &st), 0);
    EXPECT("listener type", st.fs_filetype, __WASI_FILETYPE_SOCKET_STREAM);
    EXPECT("listener can accept", (st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT) != 0, 1);
    __wasi_prestat_t ps;
    EXPECT("listener is no preopen", __wasi_fd_prestat_get(LISTENER, &ps), __WASI_ERRNO_BADF);
    uint32_t conn = 0;
    EXPECT("accept bad flags", raw_sock_accept(LISTENER, 1, P(&conn)), __WASI_ERRNO_INVAL);
    EXPECT("accept on file", raw_sock_accept(SANDBOX, 0, P(&conn)), __WASI_ERRNO_NOTSOCK);
    EXPECT("accept bad fd", raw_sock_accept(77, 0, P(&conn)), __WASI_ERRNO_BADF);
    /* a nonblocking listener without a client: again (the client waits for "ready") */
    EXPECT("listener nonblock", __wasi_fd_fdstat_set_flags(LISTENER, __WASI_FDFLAGS_NONBLOCK), 0);
    EXPECT("accept would block", raw_sock_accept(LISTENER, 0, P(&conn)), __WASI_ERRNO_AGAIN);
    EXPECT("listener blocking", __wasi_fd_fdstat_set_flags(LISTENER, 0), 0);
    printf("ready\n");
    fflush(stdout);

    /* wait for the client with poll_oneoff */
    __wasi_subscription_t sub[2];
    memset(sub, 0, sizeof sub);
    sub[0].userdata = 1;
    sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    sub[0].u.u.fd_read.file_descriptor = LISTENER;
    sub[1].userdata = 2;
    sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[1].u.u.clock.timeout = 10000000000ull;
    __wasi_event_t ev[2];
    __wasi_size_t nev = 0;
    EXPECT("poll listener", __wasi_poll_oneoff(sub, ev, 2, &nev), 0);
    EXPECT("connection pending", nev >= 1 && ev[0].userdata == 1 && ev[0].error == 0, 1);
    EXPECT("sock_accept nonblock", raw_sock_accept(LISTENER, __WASI_FDFLAGS_NONBLOCK, P(&conn)), 0);
    EXPECT("conn fd", conn, 5);
    EXPECT("conn fdstat", __wasi_fd_fdstat_get(conn, &st), 0);
    EXPECT("conn type", st.fs_filetype, __WASI_FILETYPE_SOCKET_STREAM);
    EXPECT("conn nonblock", st.fs_flags, __WASI_FDFLAGS_NONBLOCK);
    EXPECT("conn blocking", __wasi_fd_fdstat_set_flags(conn, 0), 0);

    char buf[16];
    memset(buf, 0, sizeof buf);
    __wasi_iovec_t v = { (uint8_t *)buf, 2 };
    uint32_t got = 0;
    uint16_t roflags = 9;
    EXPECT("sock_recv peek", raw_sock_recv(conn, P(&v), 1, __WASI_RIFLAGS_RECV_PEEK | __WASI_RIFLAGS_RECV_WAITALL, P(&got), P(&roflags)), 0);
    EXPECT("peeked 2", got, 2);
    EXPECT("roflags 0", roflags, 0);
    v.buf_len = 4;
    EXPECT("sock_recv", raw_sock_recv(conn, P(&v), 1, __WASI_RIFLAGS_RECV_WAITALL, P(&got), P(&roflags)), 0);
    EXPECT("received 4", got, 4);
    expect_str("received", buf, "ping");
    EXPECT("sock_recv bad flags", raw_sock_recv(conn, P(&v), 1, 4, P(&got), P(&roflags)), __WASI_ERRNO_INVAL);
    __wasi_ciovec_t cv = { (const uint8_t *)"po", 2 };
    EXPECT("sock_send", raw_sock_send(conn, P(&cv), 1, 0, P(&got)), 0);
    EXPECT("sent 2", got, 2);
    EXPECT("sock_send bad flags", raw_sock_send(conn, P(&cv), 1, 1, P(&got)), __WASI_ERRNO_INVAL);
    EXPECT("fd_write on socket", write_all(conn, "ng\n"), 0);
    EXPECT("seek on socket", __wasi_fd_seek(conn, 0, __WASI_WHENCE_SET, &(__wasi_filesize_t){ 0 }), __WASI_ERRNO_NOTCAPABLE);
    EXPECT("shutdown bad how", raw_sock_shutdown(conn, 0), __WASI_ERRNO_INVAL);
    EXPECT("shutdown bad how 4", raw_sock_shutdown(conn, 4), __WASI_ERRNO_INVAL);
    EXPECT("sock_shutdown wr", raw_sock_shutdown(conn, __WASI_SDFLAGS_WR), 0);
    EXPECT("send after shutdown", raw_sock_send(conn, P(&cv), 1, 0, P(&got)), __WASI_ERRNO_PIPE);
    EXPECT("shutdown on file", raw_sock_shutdown(SANDBOX, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK);
    EXPECT("close conn", __wasi_fd_close(conn), 0);
    return finish();
}
