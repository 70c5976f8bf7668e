/* wasi_poll.c — WASI preview1 poll_oneoff (clock and fd_read/fd_write subscriptions, both the
 * preview1 and the wasi_unstable subscription layouts) and the sock_* functions. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_impl.h"

#define EV_CLOCK 0
#define EV_FD_READ 1
#define EV_FD_WRITE 2

typedef struct wsub {
    uint64_t userdata;
    uint8_t tag;
    uint64_t deadline;    /* clock: CLOCK_MONOTONIC ns */
    uint16_t error;       /* fd: immediate error (bad fd, rights) */
    int pfd;              /* fd: index into the pollfd array, or -1 */
    int host;
    uint8_t type;
} wsub;

static uint64_t now_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

static void put_event(uint8_t *o, const wsub *s, uint16_t error, uint64_t nbytes, uint16_t flags)
{
    memset(o, 0, 32);
    wg_put64(o, s->userdata);
    wg_put16(o + 8, error);
    o[10] = s->tag;
    if (s->tag != EV_CLOCK) {
        wg_put64(o + 16, nbytes);
        wg_put16(o + 24, flags);
    }
}

uint16_t wasi_poll_oneoff(wcall *c, const wm_val *a)
{
    uint32_t inp = WA_U32(0), outp = WA_U32(1), n = WA_U32(2), neventsp = WA_U32(3);
    if (n == 0) return WE_INVAL;
    uint64_t subsz = c->unstable ? 56 : 48;
    const uint8_t *in = wg_ptr(c, inp, (uint64_t)n * subsz);
    uint8_t *out = wg_ptr(c, outp, (uint64_t)n * 32);
    if (!in || !out || !wg_ptr(c, neventsp, 4)) return WE_FAULT;
    wsub *subs = calloc(n, sizeof *subs);
    struct pollfd *pfds = calloc(n, sizeof *pfds);
    if (!subs || !pfds) { free(subs); free(pfds); return WE_NOMEM; }
    uint16_t ret = WE_SUCCESS;
    nfds_t npfd = 0;
    bool immediate = false, have_clock = false;
    uint64_t mono = now_ns(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = in + (uint64_t)i * subsz;
        wsub *w = &subs[i];
        w->userdata = wg_le64(s);
        w->tag = s[8];
        w->pfd = -1;
        if (w->tag == EV_CLOCK) {
            const uint8_t *cl = s + (c->unstable ? 24 : 16);   /* unstable: identifier comes first */
            uint32_t id = wg_le32(cl);
            uint64_t timeout = wg_le64(cl + 8);
            uint16_t flags = wg_le16(cl + 24);
            if (flags & ~1u) { ret = WE_INVAL; goto done; }
            uint64_t remaining;
            if (id == 0 || id == 1) {
                if (flags & 1) {   /* absolute time */
                    uint64_t now = id == 0 ? now_ns(CLOCK_REALTIME) : mono;
                    remaining = timeout > now ? timeout - now : 0;
                } else remaining = timeout;
            } else { ret = WE_INVAL; goto done; }   /* CPU-time clocks cannot be waited on */
            w->deadline = sat_add(mono, remaining);
            have_clock = true;
        } else if (w->tag == EV_FD_READ || w->tag == EV_FD_WRITE) {
            wfd *f;
            w->error = wasi_getfd(c, wg_le32(s + 16), WR_POLL_FD_READWRITE, 0, &f);
            if (w->error) { immediate = true; continue; }
            w->host = f->host;
            w->type = f->type;
            w->pfd = (int)npfd;
            pfds[npfd].fd = f->host;
            pfds[npfd].events = w->tag == EV_FD_READ ? POLLIN : POLLOUT;
            npfd++;
        } else { ret = WE_INVAL; goto done; }
    }

    uint32_t nev = 0;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (immediate) { ts.tv_sec = 0; ts.tv_nsec = 0; tsp = &ts; }
        else if (have_clock) {
            uint64_t first = UINT64_MAX;
            for (uint32_t i = 0; i < n; i++)
                if (subs[i].tag == EV_CLOCK && subs[i].deadline < first) first = subs[i].deadline;
            uint64_t wait = first > now ? first - now : 0;
            if (wait / 1000000000ull > (uint64_t)INT32_MAX) wait = (uint64_t)INT32_MAX * 1000000000ull;
            ts.tv_sec = (time_t)(wait / 1000000000ull);
            ts.tv_nsec = (long)(wait % 1000000000ull);
            tsp = &ts;
        }
        int r = ppoll(npfd ? pfds : NULL, npfd, tsp, NULL);
        if (r < 0 && errno != EINTR) { ret = wasi_errno(errno); goto done; }
        if (r < 0) continue;
        now = now_ns(CLOCK_MONOTONIC);
        for (uint32_t i = 0; i < n; i++) {
            wsub *w = &subs[i];
            uint8_t *o = out + (uint64_t)nev * 32;
            if (w->tag == EV_CLOCK) {
                if (w->deadline <= now) { put_event(o, w, WE_SUCCESS, 0, 0); nev++; }
                continue;
            }
            if (w->error) { put_event(o, w, w->error, 0, 0); nev++; continue; }
            short re = pfds[w->pfd].revents;
            if (!re) continue;
            uint16_t err = WE_SUCCESS, flags = 0;
            uint64_t nbytes = 0;
            if (re & POLLNVAL) err = WE_BADF;
            else if ((re & POLLERR) && !(re & (POLLIN | POLLOUT))) err = WE_IO;
            if (re & POLLHUP) flags |= 1;   /* fd_readwrite_hangup */
            if (!err && w->tag == EV_FD_READ) {
                if (w->type == WT_REGULAR_FILE) {
                    struct stat st;
                    off_t pos = lseek(w->host, 0, SEEK_CUR);
                    if (fstat(w->host, &st) == 0 && pos >= 0 && st.st_size > pos) nbytes = (uint64_t)(st.st_size - pos);
                } else {
                    int avail = 0;
                    if (ioctl(w->host, FIONREAD, &avail) == 0 && avail > 0) nbytes = (uint64_t)avail;
                }
            }
            put_event(o, w, err, nbytes, flags);
            nev++;
        }
        if (nev > 0) break;
    }
    wg_w32(c, neventsp, nev);
done:
    free(subs);
    free(pfds);
    return ret;
}

/* ---- sockets ----------------------------------------------------------------------------------- */
static uint16_t getsock(wcall *c, uint32_t fd, uint64_t need, wfd **out)
{
    wfd *f;
    uint16_t e = wasi_getfd(c, fd, 0, 0, &f);
    if (e) return e;
    if (f->type != WT_SOCKET_STREAM && f->type != WT_SOCKET_DGRAM) return WE_NOTSOCK;
    e = wasi_getfd(c, fd, need, 0, &f);
    if (e) return e;
    *out = f;
    return WE_SUCCESS;
}

uint16_t wasi_sock_accept(wcall *c, const wm_val *a)
{
    uint32_t flags = WA_U32(1), outp = WA_U32(2);
    if (flags & ~(uint32_t)WF_NONBLOCK) return WE_INVAL;
    wfd *f;
    uint16_t e = getsock(c, WA_U32(0), WR_SOCK_ACCEPT, &f);
    if (e) return e;
    if (!wg_ptr(c, outp, 4)) return WE_FAULT;
    int s;
    do s = accept4(f->host, NULL, NULL, SOCK_CLOEXEC | ((flags & WF_NONBLOCK) ? SOCK_NONBLOCK : 0));
    while (s < 0 && errno == EINTR);
    if (s < 0) return wasi_errno(errno);
    uint32_t nfd;
    e = wasi_addfd(c->w, s, WT_SOCKET_STREAM, (uint16_t)flags, WR_SOCK_BASE, 0, &nfd);
    if (e) return e;
    wg_w32(c, outp, nfd);
    return WE_SUCCESS;
}

uint16_t wasi_sock_recv(wcall *c, const wm_val *a)
{
    uint32_t iovs = WA_U32(1), niovs = WA_U32(2), riflags = WA_U32(3), lenp = WA_U32(4), flagsp = WA_U32(5);
    if (riflags & ~3u) return WE_INVAL;
    wfd *f;
    uint16_t e = getsock(c, WA_U32(0), WR_FD_READ, &f);
    if (e) return e;
    if (!wg_ptr(c, lenp, 4) || !wg_ptr(c, flagsp, 2)) return WE_FAULT;
    struct iovec *v;
    int nv;
    e = wasi_iovecs(c, iovs, niovs, &v, &nv);
    if (e) return e;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = v;
    mh.msg_iovlen = (size_t)nv;
    int fl = ((riflags & 1) ? MSG_PEEK : 0) | ((riflags & 2) ? MSG_WAITALL : 0);
    ssize_t r;
    do r = recvmsg(f->host, &mh, fl); while (r < 0 && errno == EINTR);
    int err = errno;
    free(v);
    if (r < 0) return wasi_errno(err);
    wg_w32(c, lenp, (uint32_t)r);
    wg_w16(c, flagsp, (mh.msg_flags & MSG_TRUNC) ? 1 : 0);
    return WE_SUCCESS;
}

uint16_t wasi_sock_send(wcall *c, const wm_val *a)
{
    uint32_t iovs = WA_U32(1), niovs = WA_U32(2), siflags = WA_U32(3), lenp = WA_U32(4);
    if (siflags != 0) return WE_INVAL;
    wfd *f;
    uint16_t e = getsock(c, WA_U32(0), WR_FD_WRITE, &f);
    if (e) return e;
    if (!wg_ptr(c, lenp, 4)) return WE_FAULT;
    struct iovec *v;
    int nv;
    e = wasi_iovecs(c, iovs, niovs, &v, &nv);
    if (e) return e;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = v;
    mh.msg_iovlen = (size_t)nv;
    ssize_t r;
    do r = sendmsg(f->host, &mh, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
    int err = errno;
    free(v);
    if (r < 0) return wasi_errno(err);
    wg_w32(c, lenp, (uint32_t)r);
    return WE_SUCCESS;
}

uint16_t wasi_sock_shutdown(wcall *c, const wm_val *a)
{
    uint32_t how = WA_U32(1);
    if (how == 0 || (how & ~3u)) return WE_INVAL;
    wfd *f;
    uint16_t e = getsock(c, WA_U32(0), WR_SOCK_SHUTDOWN, &f);
    if (e) return e;
    int h = how == 1 ? SHUT_RD : how == 2 ? SHUT_WR : SHUT_RDWR;
    return shutdown(f->host, h) == 0 ? WE_SUCCESS : wasi_errno(errno);
}
