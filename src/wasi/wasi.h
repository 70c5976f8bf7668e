/* wasi.h — WASI preview1 (`wasi_snapshot_preview1` and `wasi_unstable`) host module with a
 * capability sandbox; written against the public embedding API (wasmind.h) only. */
#ifndef WASMIND_WASI_H
#define WASMIND_WASI_H

#include <stdbool.h>
#include <stddef.h>

#include "wasmind.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wm_wasi_config {
    int argc; const char *const *argv;      /* argv[0] = program name */
    int envc; const char *const *env;       /* "K=V" */
    /* --dir HOST[::GUEST]: guest fds 3, 4, ... in this order. preopen_guest may be NULL, or
     * hold NULL entries: the guest name is then the host path as given. */
    int npreopens; const char *const *preopen_host; const char *const *preopen_guest;
    int stdin_fd, stdout_fd, stderr_fd;     /* host fds for guest 0,1,2 (duplicated; < 0 = closed) */
    /* Listening sockets handed in by the host (--listen ADDR): host fds, duplicated. They get
     * guest fds after the preopened directories and accept connections with sock_accept. */
    int nsockets; const int *socket_fds;
} wm_wasi_config;

typedef struct wm_wasi wm_wasi;

/* Copies the configuration and opens the preopened directories. NULL on failure with a
 * message in err. wm_wasi never closes the caller's fds (it works on duplicates).
 * The environment variable WASMIND_WASI_RESOLVE=fallback disables openat2(2) and uses the
 * portable component-by-component path resolver (for testing); WASMIND_WASI_TRACE=1 logs every
 * call with its arguments and errno result to stderr. */
wm_wasi *wm_wasi_new(const wm_wasi_config *cfg, char *err, size_t errlen);

/* Defines every function under "wasi_snapshot_preview1" and "wasi_unstable" in linker, as host
 * functions of store. w must outlive every call into the store's instances. */
bool wm_wasi_define(wm_wasi *w, wm_linker *linker, wm_store *store);

/* The code passed to proc_exit (0 if the guest has not called it). */
int wm_wasi_exit_code(const wm_wasi *w);
/* True once the guest called proc_exit. */
bool wm_wasi_exited(const wm_wasi *w);

/* Closes every guest fd. Safe with NULL. */
void wm_wasi_free(wm_wasi *w);

#ifdef __cplusplus
}
#endif
#endif
