/* parallel.c — the ONNX engine's intra-op thread pool: persistent workers that share the tasks of one
 * par_for call (claimed one at a time from an atomic counter), and per-thread scratch buffers for packing. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "kernels.h"

#define MAX_THREADS 64

static int g_threads = 0; /* 0 until first asked: then the number of CPUs this process may run on */

static int default_threads(void) {
  int n = 1;
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  else
#endif
    n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 16 ? 16 : n;
}

void wm_onnx_set_threads(int n) { g_threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n; }
int wm_onnx_get_threads(void) {
  if (!g_threads) g_threads = default_threads();
  return g_threads;
}

/* ---- per-thread scratch: grows on demand, kept for the thread's life (reachable, so not a leak) ---- */
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

/* ---- pool ----
 * A job is open while its caller runs tasks. A worker joins only an open job (counted in `busy`), and the caller,
 * once its own share is done, closes the job and waits only for workers that joined: a worker the OS has not
 * scheduled yet (other processes on its CPU) never holds the caller up, it just skips the closed job. */
typedef struct pool {
  pthread_mutex_t run_lock; /* one par_for at a time across the process */
  pthread_mutex_t lock;
  pthread_cond_t wake, done_cv;
  int nworkers;
  pthread_t tid[MAX_THREADS];
  _Atomic unsigned long gen;  /* bumped for every job */
  _Atomic unsigned long open; /* gen of the job workers may join, 0 once closed */
  _Atomic int busy;           /* workers inside the current job */
  par_task_fn fn;
  void *arg;
  int64_t ntasks;
  int active; /* workers allowed to take part (the thread setting may be below the pool size) */
  _Atomic int64_t next;
} pool;

static pool g_pool = {.run_lock = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER,
                      .wake = PTHREAD_COND_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};
static _Thread_local int t_in_task;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void run_tasks(pool *p, int tid) {
  for (;;) {
    int64_t t = atomic_fetch_add(&p->next, 1);
    if (t >= p->ntasks) break;
    p->fn(p->arg, t, tid);
  }
}

typedef struct worker_arg {
  int index;
} worker_arg;
static worker_arg g_worker_args[MAX_THREADS];

static void *worker_main(void *argp) {
  pool *p = &g_pool;
  int index = ((worker_arg *)argp)->index; /* 1-based: tid 0 is the caller */
  unsigned long seen = 0;
  t_in_task = 1;
  for (;;) {
    /* spin briefly (jobs of one inference follow each other within microseconds), then sleep */
    unsigned long g;
    int spins = 0;
    while ((g = atomic_load(&p->gen)) == seen && spins < 4000) {
      cpu_relax();
      spins++;
    }
    if (g == seen) {
      pthread_mutex_lock(&p->lock);
      while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->lock);
      pthread_mutex_unlock(&p->lock);
    }
    seen = g;
    if (atomic_load(&p->open) != g || index >= p->active) continue;
    atomic_fetch_add(&p->busy, 1);
    if (atomic_load(&p->open) == g) run_tasks(p, index); /* still open: the job's fields are stable */
    if (atomic_fetch_sub(&p->busy, 1) == 1 && atomic_load(&p->open) == 0) {
      pthread_mutex_lock(&p->lock);
      pthread_cond_signal(&p->done_cv);
      pthread_mutex_unlock(&p->lock);
    }
  }
  return NULL;
}

/* Starts workers up to n-1 (they live until the process exits). Returns how many exist. */
static int ensure_workers(pool *p, int n) {
  while (p->nworkers < n - 1 && p->nworkers < MAX_THREADS - 1) {
    int i = p->nworkers;
    g_worker_args[i].index = i + 1;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&p->tid[i], &at, worker_main, &g_worker_args[i]);
    pthread_attr_destroy(&at);
    if (rc) break;
    p->nworkers++;
  }
  return p->nworkers;
}

int par_in_task(void) { return t_in_task; }

void par_for(int64_t ntasks, par_task_fn fn, void *arg) {
  if (ntasks <= 0) return;
  int nt = wm_onnx_get_threads();
  if (t_in_task || nt <= 1 || ntasks == 1) {
    for (int64_t t = 0; t < ntasks; t++) fn(arg, t, 0);
    return;
  }
  pool *p = &g_pool;
  pthread_mutex_lock(&p->run_lock);
  int nw = ensure_workers(p, nt);
  if (nw == 0) {
    pthread_mutex_unlock(&p->run_lock);
    for (int64_t t = 0; t < ntasks; t++) fn(arg, t, 0);
    return;
  }
  /* workers of an earlier job may still be leaving it: wait until none is inside before changing the fields */
  while (atomic_load(&p->busy) > 0) cpu_relax();
  p->fn = fn;
  p->arg = arg;
  p->ntasks = ntasks;
  p->active = nt < nw + 1 ? nt : nw + 1;
  atomic_store(&p->next, 0);
  unsigned long g = atomic_load(&p->gen) + 1;
  atomic_store(&p->open, g);
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->gen, g);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  t_in_task = 1;
  run_tasks(p, 0);
  t_in_task = 0;
  atomic_store(&p->open, 0);
  int spins = 0;
  while (atomic_load(&p->busy) > 0 && spins < 20000) {
    cpu_relax();
    spins++;
  }
  if (atomic_load(&p->busy) > 0) {
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->busy) > 0) pthread_cond_wait(&p->done_cv, &p->lock);
    pthread_mutex_unlock(&p->lock);
  }
  pthread_mutex_unlock(&p->run_lock);
}
