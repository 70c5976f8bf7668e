// sort.c — benchmark guest: quicksort (median-of-3, insertion sort for small ranges) of pseudo-random ints.
// run(n) sorts n int32 values (n <= 1<<20), verifies order and returns a checksum of sampled elements.
#include <stdint.h>
#if defined(__wasm__)
#define EXPORT __attribute__((export_name("run")))
#else
#define EXPORT
#endif

#define MAX_N (1 << 20)
static int32_t a[MAX_N];

static void insertion(int32_t *v, int32_t lo, int32_t hi) {
  for (int32_t i = lo + 1; i <= hi; i++) {
    int32_t x = v[i], j = i - 1;
    while (j >= lo && v[j] > x) { v[j + 1] = v[j]; j--; }
    v[j + 1] = x;
  }
}

static void swap(int32_t *v, int32_t i, int32_t j) { int32_t t = v[i]; v[i] = v[j]; v[j] = t; }

__attribute__((noinline)) static void quicksort(int32_t *v, int32_t lo, int32_t hi) {
  while (hi - lo > 16) {
    int32_t mid = lo + (hi - lo) / 2;
    if (v[mid] < v[lo]) swap(v, mid, lo);
    if (v[hi] < v[lo]) swap(v, hi, lo);
    if (v[hi] < v[mid]) swap(v, hi, mid);
    int32_t pivot = v[mid], i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) { swap(v, i, j); i++; j--; }
    }
    /* Recurse into the smaller side, loop on the larger: O(log n) stack. */
    if (j - lo < hi - i) { quicksort(v, lo, j); lo = i; }
    else { quicksort(v, i, hi); hi = j; }
  }
  insertion(v, lo, hi);
}

EXPORT int32_t run(int32_t n) {
  if (n > MAX_N) n = MAX_N;
  if (n < 1) return 0;
  uint32_t x = 2463534242u;
  for (int32_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    a[i] = (int32_t)x;
  }
  quicksort(a, 0, n - 1);
  uint32_t sum = 0, bad = 0;
  for (int32_t i = 1; i < n; i++) bad += a[i - 1] > a[i];
  for (int32_t i = 0; i < n; i += 97) sum = sum * 2654435761u + (uint32_t)a[i];
  return (int32_t)(sum + bad * 0x10001u);
}
