/* wm_errno_mt.h — force-included (-include) in the threaded build: errno is a plain global in Debian's
 * wasi-libc (built without atomics), but <errno.h> declares it _Thread_local, which -matomics objects would
 * address as TLS. Routing it through errno_mt.c (which declares it plainly) keeps both sides agreeing. */
#include <errno.h>
int *wm_errno_location(void);
#undef errno /* <errno.h> defines errno as itself */
#define errno (*wm_errno_location())
