// wasi.js — the few wasi_snapshot_preview1 imports wasi-libc pulls into wasmind-onnx*.wasm, for browsers and
// Node.js alike: stdout/stderr to the console, clocks, randomness; no file system (models arrive as bytes).

const ESUCCESS = 0, EBADF = 8, EINVAL = 28, ENOSYS = 52, ENOTCAPABLE = 76;

/** Thrown by proc_exit so that an exit inside the engine unwinds out of the wasm call instead of hanging. */
export class WasiExit extends Error {
  constructor(code) {
    super(`wasm called proc_exit(${code})`);
    this.code = code;
  }
}

/**
 * Builds the import object for `module`: every wasi_snapshot_preview1 function it imports is defined (the ones
 * not meaningful without a file system answer ENOSYS/EBADF), so a newer wasi-libc needing one more import
 * still instantiates. `getMemory` is called on each access: the memory may have grown (new buffer) meanwhile.
 */
export function wasiImports(module, getMemory) {
  const dec = new TextDecoder();
  const lineBuf = { 1: '', 2: '' };
  const view = () => new DataView(getMemory().buffer);
  const bytes = (ptr, len) => new Uint8Array(getMemory().buffer, ptr, len);

  const flush = (fd, text) => {
    // console output is line-based: hold partial lines until their newline arrives
    let s = lineBuf[fd] + text;
    let nl;
    while ((nl = s.indexOf('\n')) >= 0) {
      (fd === 2 ? console.error : console.log)(s.slice(0, nl));
      s = s.slice(nl + 1);
    }
    lineBuf[fd] = s;
  };

  const impl = {
    args_sizes_get(argcPtr, bufSizePtr) {
      const v = view();
      v.setUint32(argcPtr, 0, true);
      v.setUint32(bufSizePtr, 0, true);
      return ESUCCESS;
    },
    args_get() {
      return ESUCCESS;
    },
    environ_sizes_get(countPtr, bufSizePtr) {
      const v = view();
      v.setUint32(countPtr, 0, true);
      v.setUint32(bufSizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get() {
      return ESUCCESS;
    },
    clock_res_get(id, resPtr) {
      view().setBigUint64(resPtr, 1000n, true);
      return ESUCCESS;
    },
    clock_time_get(id, precision, timePtr) {
      // 0 = realtime, others monotonic; performance.now() has µs resolution at best
      const ms = id === 0 ? Date.now() : performance.now();
      view().setBigUint64(timePtr, BigInt(Math.round(ms * 1e6)), true);
      return ESUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const v = view();
      let total = 0, text = '';
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true), len = v.getUint32(iovs + 8 * i + 4, true);
        text += dec.decode(bytes(ptr, len).slice()); // slice: TextDecoder refuses views of shared memory
        total += len;
      }
      flush(fd, text);
      v.setUint32(nwrittenPtr, total, true);
      return ESUCCESS;
    },
    fd_fdstat_get(fd, statPtr) {
      if (fd > 2) return EBADF;
      const v = view();
      v.setUint8(statPtr, 2); // character device: makes stdio line-buffered
      v.setUint16(statPtr + 2, 0, true);
      v.setBigUint64(statPtr + 8, 0n, true);
      v.setBigUint64(statPtr + 16, 0n, true);
      return ESUCCESS;
    },
    fd_prestat_get() {
      return EBADF; // no preopened directories: ends wasi-libc's preopen scan
    },
    fd_prestat_dir_name() {
      return EBADF;
    },
    fd_close(fd) {
      return fd > 2 ? EBADF : ESUCCESS;
    },
    fd_seek() {
      return EBADF;
    },
    fd_filestat_get() {
      return EBADF;
    },
    fd_pread() {
      return EBADF;
    },
    fd_read() {
      return EBADF;
    },
    path_open() {
      return ENOTCAPABLE;
    },
    path_filestat_get() {
      return ENOTCAPABLE;
    },
    random_get(ptr, len) {
      const b = new Uint8Array(len);
      crypto.getRandomValues(b);
      bytes(ptr, len).set(b);
      return ESUCCESS;
    },
    sched_yield() {
      return ESUCCESS;
    },
    proc_exit(code) {
      throw new WasiExit(code);
    },
    poll_oneoff() {
      return EINVAL;
    },
  };

  const ns = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== 'wasi_snapshot_preview1' || imp.kind !== 'function') continue;
    ns[imp.name] = impl[imp.name] || (() => ENOSYS);
  }
  return { wasi_snapshot_preview1: ns };
}
