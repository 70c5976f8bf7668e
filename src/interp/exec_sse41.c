/* exec_sse41.c — the interpreter loop compiled for x86-64 hosts with SSSE3/SSE4.1 (chosen at run
 * time by wm_interp_run), so SIMD128 ops use those instructions instead of portable fallbacks. */
#if defined(__x86_64__) && defined(__GNUC__)
#define WM_EXEC_VARIANT wm_interp_run_sse41
#define WM_EXEC_NO_DISPATCH
#include "exec.c"
#else
typedef int wm_exec_sse41_unused;   /* ISO C forbids an empty translation unit */
#endif
