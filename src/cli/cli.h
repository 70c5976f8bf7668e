/* cli.h — declarations shared by the `wasmind` command-line tool's source files
 * (subcommand entry points and small helpers for parsing and printing values). */
#ifndef WM_CLI_H
#define WM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wasmind.h"

/* Exit codes shared by the subcommands. */
#define WM_EXIT_OK 0
#define WM_EXIT_FAILURE 1   /* the module or a test failed */
#define WM_EXIT_USAGE 2     /* the command line was wrong */
#define WM_EXIT_TRAP 134    /* 128 + SIGABRT, like wasmtime on a trap */

/* Subcommands: argv[0] is the subcommand name. They return the process exit code. */
int wm_cli_run(int argc, char **argv);
int wm_cli_wast(int argc, char **argv);

int wm_cli_compile(int argc, char **argv);   /* compile.c */
void wm_cli_run_usage(FILE *out);
void wm_cli_wast_usage(FILE *out);

/* Reads a whole file. Returns a malloc'd buffer (caller frees) or NULL with errno set. */
uint8_t *wm_cli_read_file(const char *path, size_t *len);

/* Name of a value type ("i32", "funcref", ...), "?" if unknown. */
const char *wm_cli_valtype_name(uint8_t type);

/* Formats a float the way Rust's Display does (shortest round-trip digits, no exponent,
 * "NaN", "inf", "-inf", "-0"). buf should hold at least 400 bytes for f64 (e.g. 5e-324). */
void wm_cli_format_f32(uint32_t bits, char *buf, size_t size);
void wm_cli_format_f64(uint64_t bits, char *buf, size_t size);

/* Parses a command-line value of the given type into *out. On failure returns false and
 * writes a reason to why. */
bool wm_cli_parse_value(const char *text, uint8_t type, wm_val *out, char *why, size_t why_size);

/* Formats a value for printing a result of `wasmind run --invoke` (wasmtime style). */
void wm_cli_format_result(const wm_val *v, char *buf, size_t size);

/* compile.c: creates a module from .wasm or .cwasm bytes for `run`; tier 1 = --aot (compile, cached;
 * falls back to the interpreter with a notice), 2 = --interp, 0 = default (AOT only for .cwasm). */
wm_module *wm_cli_module_new(wm_engine *engine, const uint8_t *bytes, size_t len, int tier, bool limits, wm_error *err);

/* Prints the backtrace of the last trap in store, lines "    N: func[IDX] - NAME". */
void wm_cli_print_backtrace(FILE *out, const wm_store *store, const char *indent);

#endif
