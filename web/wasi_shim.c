/* wasi_shim.c — libc functions the engine uses that Debian's wasi-libc lacks (realpath, for model.c's
 * external-data containment check), so src/ builds for wasm32-wasi unchanged. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* WASI has no symlink-following path resolution to ask for, and preopened directories already confine what a
 * module can open, so this canonicalises lexically: absolute (against getcwd), "." and ".." folded, and the
 * result must exist as realpath requires. */
char *realpath(const char *restrict path, char *restrict resolved) {
  if (!path || !*path) {
    errno = ENOENT;
    return NULL;
  }
  char tmp[PATH_MAX];
  size_t n = 0;
  if (path[0] != '/') {
    if (!getcwd(tmp, sizeof tmp)) return NULL;
    n = strlen(tmp);
  }
  char out[PATH_MAX];
  size_t o = 0;
  /* walk cwd (if relative) then path, component by component */
  const char *parts[2] = {n ? tmp : "", path};
  for (int p = 0; p < 2; p++) {
    const char *s = parts[p];
    while (*s) {
      while (*s == '/') s++;
      const char *e = s;
      while (*e && *e != '/') e++;
      size_t len = (size_t)(e - s);
      if (len == 0 || (len == 1 && s[0] == '.')) {
      } else if (len == 2 && s[0] == '.' && s[1] == '.') {
        while (o > 0 && out[o - 1] != '/') o--;
        if (o > 0) o--;
      } else {
        if (o + 1 + len + 1 > sizeof out) {
          errno = ENAMETOOLONG;
          return NULL;
        }
        out[o++] = '/';
        memcpy(out + o, s, len);
        o += len;
      }
      s = e;
    }
  }
  if (o == 0) out[o++] = '/';
  out[o] = 0;
  struct stat st;
  if (stat(out, &st)) return NULL;
  if (!resolved && !(resolved = malloc(o + 1))) {
    errno = ENOMEM;
    return NULL;
  }
  memcpy(resolved, out, o + 1);
  return resolved;
}
