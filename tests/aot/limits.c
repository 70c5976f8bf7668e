/* limits.c — the AOT tier's no-limits code (no per-call or per-loop checks) keeps every limit: a deadline stops a
 * runaway loop, wm_store_interrupt from another thread stops one (also when it lands while a host function runs),
 * runaway and mutual recursion trap as "call stack exhausted" (main and worker threads), and fuel is never
 * run by no-limits code (the checked variant or the interpreter charges it). Usage: aot_limits GUEST.wasm */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasmind.h"
#include "aot/aot.h"
#include "runtime/runtime.h"

static int g_fail, g_pass;
static uint8_t *g_bytes;
static size_t g_len;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(const char *what, bool ok)
{
    printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (ok) g_pass++; else g_fail++;
}

/* env.nap: sleeps 100 ms, restarting after signals (the interrupt signal may land here) */
static wm_trap nap(wm_caller *c, void *env, const wm_val *args, wm_val *results)
{
    (void)c; (void)env; (void)args; (void)results;
    struct timespec req = { 0, 100000000 }, rem;
    while (nanosleep(&req, &rem) != 0) req = rem;
    return WM_TRAP_NONE;
}

typedef struct guest { wm_engine *e; wm_store *s; wm_module *m; wm_instance *in; } guest;

static bool guest_new(guest *g, bool limits, uint64_t fuel)
{
    memset(g, 0, sizeof *g);
    wm_error err;
    g->e = wm_engine_new(NULL);
    g->s = wm_store_new(g->e);
    if (fuel) wm_store_set_fuel(g->s, fuel);
    g->m = wm_module_new(g->e, g_bytes, g_len, &err);
    if (!g->m) { fprintf(stderr, "module: %s\n", err.message); return false; }
    wm_aot_options o = { .limits = limits };
    char why[400];
    if (!wm_aot_attach(g->m, &o, why, sizeof why)) { fprintf(stderr, "aot: %s\n", why); return false; }
    wm_functype ft = { 0, 0, NULL, NULL };
    wm_extern imp = { .kind = WM_EXTERN_FUNC, .of.func = wm_func_new(g->s, &ft, nap, NULL, NULL) };
    g->in = wm_instance_new(g->s, g->m, &imp, 1, &err);
    if (!g->in) { fprintf(stderr, "instance: %s\n", err.message); return false; }
    return true;
}

static void guest_free(guest *g)
{
    wm_store_free(g->s);
    wm_module_free(g->m);
    wm_engine_free(g->e);
}

static wm_trap call(guest *g, const char *name, int32_t arg, int32_t *result)
{
    wm_extern x;
    if (!wm_instance_export(g->in, name, &x)) return WM_TRAP_HOST;
    wm_val a = wm_val_i32(arg), r;
    wm_error err;
    wm_functype t = wm_func_type(x.of.func);
    wm_status st = wm_func_call(g->s, x.of.func, &a, t.nparams, &r, t.nresults, &err);
    if (st == WM_OK) { if (result && t.nresults) *result = r.of.i32; return WM_TRAP_NONE; }
    return st == WM_ERR_TRAP ? err.trap : WM_TRAP_HOST;
}

typedef struct interrupter { wm_store *s; long delay_ms; } interrupter;
static void *interrupt_later(void *p)
{
    interrupter *it = p;
    struct timespec d = { it->delay_ms / 1000, (it->delay_ms % 1000) * 1000000 };
    nanosleep(&d, NULL);
    wm_store_interrupt(it->s);
    return NULL;
}

static wm_trap call_interrupted(guest *g, const char *name, long delay_ms)
{
    interrupter it = { g->s, delay_ms };
    pthread_t t;
    pthread_create(&t, NULL, interrupt_later, &it);
    wm_trap r = call(g, name, 0, NULL);
    pthread_join(t, NULL);
    return r;
}

/* recursion and a deadline on a thread of the runtime's kind (fixed-size stack with a guard page) */
static void *worker(void *p)
{
    guest *g = p;
    int32_t n = 0;
    check("worker thread: runaway recursion traps", call(g, "rec", 0, NULL) == WM_TRAP_STACK_EXHAUSTED);
    check("worker thread: accumulating recursion traps", call(g, "acc", 0, NULL) == WM_TRAP_STACK_EXHAUSTED);
    wm_store_set_deadline_ms(g->s, 100);
    check("worker thread: deadline stops a loop", call(g, "spin", 0, NULL) == WM_TRAP_DEADLINE);
    wm_store_set_deadline_ms(g->s, 0);
    check("worker thread: still runs", call(g, "count", 5, &n) == WM_TRAP_NONE && n == 5);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: aot_limits GUEST.wasm\n"); return 2; }
    if (!wm_aot_compiler_available()) { printf("SKIP no C compiler\n0 passed, 0 failed\n"); return 0; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    g_bytes = malloc(1 << 16);
    g_len = fread(g_bytes, 1, 1 << 16, f);
    fclose(f);
    wm_aot_enable();

    guest g;
    if (!guest_new(&g, false, 0)) return 1;
    check("no-limits variant attached", wm_aot_variant(g.m) == 0);
    int32_t n = 0;
    check("count", call(&g, "count", 1000, &n) == WM_TRAP_NONE && n == 1000);
    check("runaway recursion traps", call(&g, "rec", 0, NULL) == WM_TRAP_STACK_EXHAUSTED);
    check("accumulating recursion traps", call(&g, "acc", 0, NULL) == WM_TRAP_STACK_EXHAUSTED);
    check("mutual recursion through call_indirect traps", call(&g, "mutual", 0, NULL) == WM_TRAP_STACK_EXHAUSTED);
    check("runs after stack exhaustion", call(&g, "count", 7, &n) == WM_TRAP_NONE && n == 7);

    wm_store_set_deadline_ms(g.s, 200);
    double t0 = now_s();
    check("deadline stops a runaway loop", call(&g, "spin", 0, NULL) == WM_TRAP_DEADLINE);
    check("... in time", now_s() - t0 < 2.0);
    wm_store_set_deadline_ms(g.s, 0);

    t0 = now_s();
    check("wm_store_interrupt from another thread stops a loop", call_interrupted(&g, "spin", 100) == WM_TRAP_INTERRUPTED);
    check("interrupt landing in a host function stops the loop after it", call_interrupted(&g, "nap_then_spin", 30) == WM_TRAP_INTERRUPTED);
    check("... in time", now_s() - t0 < 3.0);
    check("runs after an interrupt", call(&g, "count", 9, &n) == WM_TRAP_NONE && n == 9);

    pthread_t th;
    pthread_create(&th, NULL, worker, &g);
    pthread_join(th, NULL);

    /* fuel: no-limits code is never run under it */
    wm_store_set_fuel(g.s, 100000);
    check("fuel with no-limits code: the interpreter charges it", call(&g, "count", 2000000000, NULL) == WM_TRAP_OUT_OF_FUEL);
    guest_free(&g);
    guest c;
    if (!guest_new(&c, true, 100000)) return 1;
    check("checked variant attached", wm_aot_variant(c.m) == 1);
    check("fuel with the checked variant", call(&c, "count", 2000000000, NULL) == WM_TRAP_OUT_OF_FUEL);
    guest_free(&c);

    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
