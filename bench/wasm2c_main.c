// wasm2c_main.c — driver for the Debian wabt wasm2c peer in bench/aot.py: instantiates a benchmark guest
// translated by `wasm2c -n m` (header name passed as W2C_HEADER) and prints run(N), like native_main.c.
#include <stdio.h>
#include <stdlib.h>

#include W2C_HEADER

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s N\n", argv[0]); return 2; }
  wasm_rt_init();
  Z_m_init_module();
  Z_m_instance_t inst;
  Z_m_instantiate(&inst);
  printf("%d\n", (int)Z_mZ_run(&inst, (u32)strtol(argv[1], NULL, 10)));
  Z_m_free(&inst);
  wasm_rt_free();
  return 0;
}
