/* demo.c — a small freestanding guest for `make demo`: recursion, integer hashing and a float
 * matrix multiply, exported for `wasmind run --invoke` (WASI-free until the WASI issue lands). */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("fib") int32_t fib(int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

EXPORT("fnv1a") uint32_t fnv1a(int32_t rounds)
{
    uint32_t h = 2166136261u;
    for (int32_t r = 0; r < rounds; r++)
        for (uint32_t i = 0; i < 256; i++) { h ^= (i + (uint32_t)r) & 0xff; h *= 16777619u; }
    return h;
}

#define N 64
static float a[N][N], b[N][N], c[N][N];

EXPORT("matmul_trace") float matmul_trace(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (float)(i + j) / N; b[i][j] = (float)((i * j) % 7) / N; }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    float t = 0;
    for (int i = 0; i < N; i++) t += c[i][i];
    return t;
}
