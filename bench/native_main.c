// native_main.c — native driver for the benchmark guests: calls run(n) from the linked program and prints the checksum.
// Usage: ./prog N   (prints run(N) as a signed decimal int32, like wasmind and node_run.mjs).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int32_t run(int32_t n);

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s N\n", argv[0]); return 2; }
  printf("%d\n", (int)run((int32_t)strtol(argv[1], NULL, 10)));
  return 0;
}
