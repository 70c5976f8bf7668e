/* mman_shim.c — read-only file "mapping" for the threaded build, which cannot link wasi-libc's
 * libwasi-emulated-mman (compiled without atomics, so wasm-ld refuses it next to shared memory). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Only what the engine asks for: PROT_READ + MAP_PRIVATE of a whole file, as a private heap copy. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  (void)addr;
  if (!(flags & MAP_PRIVATE) || (prot & ~PROT_READ) || len == 0) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  unsigned char *p = malloc(len);
  if (!p) {
    errno = ENOMEM;
    return MAP_FAILED;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, p + got, len - got, off + (off_t)got);
    if (r < 0) {
      free(p);
      return MAP_FAILED;
    }
    if (r == 0) break; /* past EOF: the rest stays as malloc gave it, like the zero-filled tail of a mapping */
    got += (size_t)r;
  }
  return p;
}

int munmap(void *addr, size_t len) {
  (void)len;
  free(addr);
  return 0;
}
