// worker.js — one thread of wasmind-onnx's pool (Web Worker or Node worker_threads): instantiates the threaded
// module over the session's shared memory, takes its own stack and TLS, then parks in wm_worker_loop for good.
import { wasiImports } from './wasi.js';

function start({ module, memory, index, stackTop, tls }, post) {
  const imports = wasiImports(module, () => memory);
  imports.env = { memory };
  const instance = new WebAssembly.Instance(module, imports);
  const e = instance.exports;
  // before any call: this instance's stack pointer starts where the first instance's does
  e.__stack_pointer.value = stackTop;
  post('ready');
  e.wm_worker_loop(index, tls); // never returns
}

if (typeof self !== 'undefined' && typeof self.postMessage === 'function' && typeof process === 'undefined') {
  self.onmessage = (ev) => start(ev.data, (m) => self.postMessage(m));
} else {
  const { parentPort, workerData } = await import('node:worker_threads');
  start(workerData, (m) => parentPort.postMessage(m));
}
