/* errno_mt.c — the threaded build's errno accessor (see wm_errno_mt.h); built without that header, and without
 * <errno.h>, so `errno` here is libc's ordinary global. */
extern int errno;
int *wm_errno_location(void) { return &errno; }
