/* parallel_wasm.c — wasm32 replacement for src/kernels/parallel.c (which needs pthreads, absent from Debian's
 * wasi-libc): par_for / par_scratch / wm_onnx_{set,get}_threads, single-threaded or over JS-spawned workers. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"

/* With -matomics (the threaded build, wasmind-onnx-mt.wasm) several instances of this module share one memory:
 * the first one (the caller, tid 0) runs the graph, the others are Web Workers / worker_threads parked in
 * wm_worker_loop. Without it (wasmind-onnx.wasm, the WASI command) everything runs inline on one thread. */
#if defined(__wasm_atomics__)
#define WM_WASM_THREADS 1
#define MAX_THREADS 64
#else
#define WM_WASM_THREADS 0
#endif

static int g_threads = 1; /* the engine runs one thread unless the host has started workers */

/* ---- per-thread scratch: per instance TLS in the threaded build, plain globals otherwise ---- */
static _Thread_local float *t_scratch[PAR_SCRATCH_SLOTS];
static _Thread_local size_t t_scratch_cap[PAR_SCRATCH_SLOTS];

float *par_scratch(int slot, size_t n) {
  if (n <= t_scratch_cap[slot]) return t_scratch[slot];
  free(t_scratch[slot]);
  size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
  t_scratch[slot] = aligned_alloc(64, bytes);
  t_scratch_cap[slot] = t_scratch[slot] ? n : 0;
  return t_scratch[slot];
}

#if !WM_WASM_THREADS

void wm_onnx_set_threads(int n) { (void)n; }
int wm_onnx_get_threads(void) { return 1; }

void par_for(int64_t ntasks, par_task_fn fn, void *arg) {
  for (int64_t t = 0; t < ntasks; t++) fn(arg, t, 0);
}
int par_in_task(void) { return 0; }

#else

/* One job at a time. `gen` is the futex word workers sleep on (memory.atomic.wait32); the caller bumps it and
 * notifies. The caller is usually the browser's main thread, where blocking waits are forbidden, so it spins
 * for the stragglers instead (jobs are short, and the caller has done its share of tasks by then). */
static struct {
  _Atomic int32_t gen;
  int nworkers; /* workers the host has started (they may still be instantiating) */
  par_task_fn fn;
  void *arg;
  int64_t ntasks;
  int active;
  _Atomic int64_t next;
  _Atomic int32_t pending;
} g_pool;
static _Thread_local int t_in_task;

/* Called by the host once its workers are instantiated (and about to enter wm_worker_loop). */
__attribute__((export_name("wm_pool_set_workers"))) void wm_pool_set_workers(int n) {
  g_pool.nworkers = n < 0 ? 0 : n > MAX_THREADS - 1 ? MAX_THREADS - 1 : n;
  g_threads = g_pool.nworkers + 1;
}

void wm_onnx_set_threads(int n) { g_threads = n < 1 ? 1 : n > g_pool.nworkers + 1 ? g_pool.nworkers + 1 : n; }
int wm_onnx_get_threads(void) { return g_threads; }

static void run_tasks(int tid) {
  for (;;) {
    int64_t t = atomic_fetch_add_explicit(&g_pool.next, 1, memory_order_relaxed);
    if (t >= g_pool.ntasks) break;
    g_pool.fn(g_pool.arg, t, tid);
  }
}

/* Per-worker TLS block and stack, allocated by the caller's instance for a new worker instance. */
__attribute__((export_name("wm_worker_alloc_tls"))) void *wm_worker_alloc_tls(void) {
  size_t align = __builtin_wasm_tls_align(), size = __builtin_wasm_tls_size();
  return aligned_alloc(align < 16 ? 16 : align, (size + 15) & ~(size_t)15);
}
__attribute__((export_name("wm_worker_alloc_stack"))) void *wm_worker_alloc_stack(size_t size) {
  return aligned_alloc(16, size);
}

extern void __wasm_init_tls(void *mem); /* synthesised by wasm-ld for shared-memory modules */

/* Entered by each worker instance (index 1..nworkers) after the host has set its __stack_pointer; never
 * returns. The worker's TLS block must be set before anything touches thread-locals. */
__attribute__((export_name("wm_worker_loop"))) void wm_worker_loop(int index, void *tls) {
  __wasm_init_tls(tls);
  t_in_task = 1;
  int32_t seen = 0;
  for (;;) {
    int32_t g;
    /* spin briefly first, as the native pool does: the next job (next layer) usually follows within microseconds,
     * sooner than a futex wake-up */
    for (int spins = 0; spins < 4000 && (g = atomic_load_explicit(&g_pool.gen, memory_order_acquire)) == seen; spins++) {
    }
    while ((g = atomic_load_explicit(&g_pool.gen, memory_order_acquire)) == seen)
      __builtin_wasm_memory_atomic_wait32((int32_t *)&g_pool.gen, seen, -1);
    seen = g;
    if (index < g_pool.active) run_tasks(index);
    atomic_fetch_sub_explicit(&g_pool.pending, 1, memory_order_acq_rel);
  }
}

int par_in_task(void) { return t_in_task; }

void par_for(int64_t ntasks, par_task_fn fn, void *arg) {
  if (ntasks <= 0) return;
  int nt = g_threads, nw = g_pool.nworkers;
  if (t_in_task || nt <= 1 || nw == 0 || ntasks == 1) {
    for (int64_t t = 0; t < ntasks; t++) fn(arg, t, 0);
    return;
  }
  g_pool.fn = fn;
  g_pool.arg = arg;
  g_pool.ntasks = ntasks;
  g_pool.active = nt < nw + 1 ? nt : nw + 1;
  atomic_store_explicit(&g_pool.next, 0, memory_order_relaxed);
  atomic_store_explicit(&g_pool.pending, nw, memory_order_relaxed);
  atomic_fetch_add_explicit(&g_pool.gen, 1, memory_order_release);
  __builtin_wasm_memory_atomic_notify((int32_t *)&g_pool.gen, (uint32_t)nw);
  t_in_task = 1;
  run_tasks(0);
  t_in_task = 0;
  while (atomic_load_explicit(&g_pool.pending, memory_order_acquire) > 0) {
  }
}

/* ---- the allocator under threads: wasi-libc's dlmalloc (built without atomics) has no lock, so every entry
 * point is wrapped (-Wl,--wrap=malloc,...) behind one spin lock. Kernels allocate rarely inside tasks. ---- */
static _Atomic int g_malloc_lock;
static void mlock(void) {
  while (atomic_exchange_explicit(&g_malloc_lock, 1, memory_order_acquire)) {
  }
}
static void munlock(void) { atomic_store_explicit(&g_malloc_lock, 0, memory_order_release); }

void *__real_malloc(size_t);
void __real_free(void *);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__real_aligned_alloc(size_t, size_t);
int __real_posix_memalign(void **, size_t, size_t);

void *__wrap_malloc(size_t n) {
  mlock();
  void *p = __real_malloc(n);
  munlock();
  return p;
}
void __wrap_free(void *p) {
  if (!p) return;
  mlock();
  __real_free(p);
  munlock();
}
void *__wrap_calloc(size_t a, size_t b) {
  mlock();
  void *p = __real_calloc(a, b);
  munlock();
  return p;
}
void *__wrap_realloc(void *q, size_t n) {
  mlock();
  void *p = __real_realloc(q, n);
  munlock();
  return p;
}
void *__wrap_aligned_alloc(size_t a, size_t n) {
  mlock();
  void *p = __real_aligned_alloc(a, n);
  munlock();
  return p;
}
int __wrap_posix_memalign(void **out, size_t a, size_t n) {
  mlock();
  int rc = __real_posix_memalign(out, a, n);
  munlock();
  return rc;
}

#endif
