/* spectest.h — the `spectest` host module that the WebAssembly spec tests import
 * (print functions, global_i32/i64/f32/f64, table, memory), reusable by any tool. */
#ifndef WM_SPECTEST_H
#define WM_SPECTEST_H

#include <stdbool.h>
#include "wasmind.h"

/* Creates the spectest objects in store s and defines them in linker l under module
 * name "spectest". Returns false if any object could not be created or defined. */
bool wm_spectest_register(wm_linker *l, wm_store *s);

/* When on, the print* functions print their arguments to stdout (off by default). */
void wm_spectest_set_print(bool on);

#endif
