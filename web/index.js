// index.js — wasmind-onnx: wasmind's ONNX engine compiled to WebAssembly, behind an API shaped like
// onnxruntime-web's (InferenceSession.create / session.run / Tensor), for browsers and Node.js.
import { wasiImports } from './wasi.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Global settings, mirroring onnxruntime-web's `env.wasm` where it makes sense. */
export const env = {
  wasm: {
    /** Directory (URL or path prefix) holding wasmind-onnx.wasm / wasmind-onnx-mt.wasm; default: ./dist/ here. */
    wasmPaths: undefined,
    /** Default thread count when a session's options give none. */
    numThreads: undefined,
  },
};

// ---- element types: ONNX TensorProto.DataType numbering (as the engine uses) <-> JS typed arrays ----
const TYPES = {
  float32: [1, Float32Array],
  uint8: [2, Uint8Array],
  int8: [3, Int8Array],
  uint16: [4, Uint16Array],
  int16: [5, Int16Array],
  int32: [6, Int32Array],
  int64: [7, BigInt64Array],
  bool: [9, Uint8Array],
  float16: [10, Uint16Array],
  float64: [11, Float64Array],
  uint32: [12, Uint32Array],
  uint64: [13, BigUint64Array],
};
const TYPE_BY_CODE = Object.fromEntries(Object.entries(TYPES).map(([name, [code]]) => [code, name]));
const STATUS = ['ok', 'parse error', 'unsupported', 'invalid', 'runtime error', 'out of memory', 'I/O error'];

function typeOfArray(data) {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigUint64Array) return 'uint64';
  if (Array.isArray(data) && data.every((x) => typeof x === 'boolean')) return 'bool';
  if (Array.isArray(data)) return 'float32';
  throw new TypeError('Tensor: cannot infer the element type of this data; pass the type first');
}

/**
 * A dense tensor: `new Tensor(type, data, dims)` or, as in onnxruntime-web, `new Tensor(data, dims)` with the
 * type taken from the typed array. Plain arrays are converted (numbers/BigInts/booleans).
 */
export class Tensor {
  constructor(a, b, c) {
    let type, data, dims;
    if (typeof a === 'string') [type, data, dims] = [a, b, c];
    else [type, data, dims] = [typeOfArray(a), a, b];
    const t = TYPES[type];
    if (!t) throw new TypeError(`Tensor: unsupported type '${type}' (supported: ${Object.keys(TYPES).join(', ')})`);
    const Ctor = t[1];
    if (Array.isArray(data)) {
      if (Ctor === BigInt64Array || Ctor === BigUint64Array) data = Ctor.from(data, (x) => BigInt(x));
      else data = Ctor.from(data, (x) => Number(x));
    } else if (!(data instanceof Ctor)) {
      throw new TypeError(`Tensor: '${type}' data must be a ${Ctor.name}`);
    }
    dims = dims === undefined ? [data.length] : Array.from(dims, Number);
    const size = dims.reduce((p, d) => p * d, 1);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new RangeError(`Tensor: bad dims [${dims}]`);
    if (size !== data.length)
      throw new RangeError(`Tensor: ${data.length} elements do not match dims [${dims}] (${size})`);
    this.type = type;
    this.data = data;
    this.dims = Object.freeze(dims);
    this.size = size;
  }

  /** Same data seen with other dims (no copy), as onnxruntime-web's Tensor.reshape. */
  reshape(dims) {
    return new Tensor(this.type, this.data, dims);
  }
}

// ---- loading the .wasm ----
const moduleCache = new Map();

function wasmUrl(file) {
  const base = env.wasm.wasmPaths;
  if (!base) return new URL(`./dist/${file}`, import.meta.url);
  const isUrl = base instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(base);
  if (isNode && !isUrl) return String(base).replace(/\/?$/, '/') + file; // a directory path
  // browsers: relative prefixes ('/static/wasm/') resolve against the page
  const dir = String(base).replace(/\/?$/, '/');
  return new URL(file, isUrl ? dir : new URL(dir, globalThis.location?.href));
}

async function readBytes(src) {
  if (isNode) {
    const isFileUrl = src instanceof URL ? src.protocol === 'file:' : /^file:/i.test(src);
    const isHttp = src instanceof URL ? /^https?:$/.test(src.protocol) : /^https?:/i.test(src);
    if (!isHttp) {
      const fs = await import('node:fs/promises');
      const { fileURLToPath } = await import('node:url');
      return new Uint8Array(await fs.readFile(isFileUrl ? fileURLToPath(src) : src));
    }
  }
  const res = await fetch(src);
  if (!res.ok) throw new Error(`fetch ${src}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function compileModule(file) {
  if (!moduleCache.has(file)) {
    moduleCache.set(
      file,
      (async () => {
        const url = wasmUrl(file);
        if (!isNode && typeof WebAssembly.compileStreaming === 'function') {
          // streaming compile overlaps download and compilation (needs the application/wasm MIME type)
          try {
            return await WebAssembly.compileStreaming(fetch(url));
          } catch {
            /* fall back to a plain fetch below */
          }
        }
        return WebAssembly.compile(await readBytes(url));
      })()
    );
  }
  return moduleCache.get(file);
}

function threadsAvailable() {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (!isNode && typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated) return false;
  if (!isNode && typeof Worker === 'undefined') return false;
  return true;
}

function hardwareThreads() {
  if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) return navigator.hardwareConcurrency;
  if (isNode && typeof process.availableParallelism === 'function') return process.availableParallelism();
  return 1;
}

let notified = false;

// ---- one wasm instance (with its worker pool) per thread count, shared by the sessions that use it ----
const MT_INITIAL_PAGES = 256; // = --initial-memory in the Makefile (16 MiB)
const WORKER_STACK = 1 << 20;
const runtimes = new Map();

class Runtime {
  static get(threads) {
    if (!runtimes.has(threads)) runtimes.set(threads, Runtime.#create(threads));
    return runtimes.get(threads);
  }

  static async #create(threads) {
    const rt = new Runtime();
    rt.threads = threads;
    rt.workers = [];
    if (threads === 1) {
      const module = await compileModule('wasmind-onnx.wasm');
      const instance = await WebAssembly.instantiate(module, wasiImports(module, () => rt.memory));
      rt.exports = instance.exports;
      rt.memory = instance.exports.memory;
      rt.exports._initialize();
      return rt;
    }
    const module = await compileModule('wasmind-onnx-mt.wasm');
    const memory = new WebAssembly.Memory({ initial: MT_INITIAL_PAGES, maximum: 65536, shared: true });
    rt.memory = memory;
    const imports = wasiImports(module, () => memory);
    imports.env = { memory };
    const instance = await WebAssembly.instantiate(module, imports);
    rt.exports = instance.exports;
    rt.exports._initialize();
    await rt.#startWorkers(module, threads - 1);
    rt.exports.wm_pool_set_workers(threads - 1);
    return rt;
  }

  async #startWorkers(module, n) {
    const url = new URL('./worker.js', import.meta.url);
    const ready = [];
    for (let i = 1; i <= n; i++) {
      const stack = this.exports.wm_worker_alloc_stack(WORKER_STACK);
      const tls = this.exports.wm_worker_alloc_tls();
      if (!stack || !tls) throw new Error('wasmind-onnx: out of memory starting workers');
      const data = { module, memory: this.memory, index: i, stackTop: stack + WORKER_STACK, tls };
      let w;
      if (isNode) {
        const { Worker } = await import('node:worker_threads');
        w = new Worker(url, { workerData: data });
        w.unref(); // parked workers must not keep the process alive
        ready.push(
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          })
        );
      } else {
        w = new Worker(url, { type: 'module', name: `wasmind-onnx-${i}` });
        ready.push(
          new Promise((resolve, reject) => {
            w.onmessage = resolve;
            w.onerror = (e) => reject(new Error(`wasmind-onnx worker: ${e.message}`));
          })
        );
        w.postMessage(data);
      }
      this.workers.push(w);
    }
    await Promise.all(ready);
  }

  u8() {
    return new Uint8Array(this.memory.buffer);
  }
  dv() {
    return new DataView(this.memory.buffer);
  }
  cstr(ptr) {
    const m = this.u8();
    let end = ptr;
    while (m[end]) end++;
    return new TextDecoder().decode(m.slice(ptr, end));
  }
  lastError() {
    return this.cstr(this.exports.wm_last_error());
  }
}

/** A loaded model, as onnxruntime-web's InferenceSession. */
export class InferenceSession {
  /**
   * @param model  model bytes (ArrayBuffer / Uint8Array), a URL, or a path (Node) / URL string (browser)
   * @param options `{ threads }` (or onnxruntime-web's `intraOpNumThreads`); other ORT options are accepted
   *                and ignored (`executionProviders` is always this engine).
   */
  static async create(model, options = {}) {
    let bytes;
    if (model instanceof Uint8Array) bytes = model;
    else if (model instanceof ArrayBuffer) bytes = new Uint8Array(model);
    else if (ArrayBuffer.isView(model)) bytes = new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
    else if (typeof model === 'string' || model instanceof URL) bytes = await readBytes(model);
    else throw new TypeError('InferenceSession.create: expected bytes, a URL or a path');

    let threads = options.threads ?? options.intraOpNumThreads ?? env.wasm.numThreads;
    if (threads === undefined || threads === 0) threads = Math.min(4, Math.ceil(hardwareThreads() / 2));
    threads = Math.max(1, Math.min(64, Math.floor(threads)));
    if (threads > 1 && !threadsAvailable()) {
      if (!notified)
        console.warn(
          'wasmind-onnx: multi-threading needs SharedArrayBuffer (a cross-origin isolated page: COOP/COEP headers); running on 1 thread'
        );
      notified = true;
      threads = 1;
    }
    const rt = await Runtime.get(threads);
    const e = rt.exports;
    const ptr = e.wm_malloc(bytes.byteLength);
    if (!ptr) throw new Error('wasmind-onnx: out of memory for the model');
    rt.u8().set(bytes, ptr);
    const h = e.wm_create(ptr, bytes.byteLength); // takes the buffer, even on failure
    if (!h) throw new Error(`wasmind-onnx: cannot load the model: ${rt.lastError()}`);
    return new InferenceSession(rt, h);
  }

  constructor(rt, handle) {
    this._rt = rt;
    this._h = handle;
    const e = rt.exports;
    this.inputNames = Array.from({ length: e.wm_num_inputs(handle) }, (_, i) => rt.cstr(e.wm_input_name(handle, i)));
    this.outputNames = Array.from({ length: e.wm_num_outputs(handle) }, (_, i) => rt.cstr(e.wm_output_name(handle, i)));
    this._hasDefault = this.inputNames.map((_, i) => !!e.wm_input_has_default(handle, i));
    this.threads = rt.threads;
  }

  /** Declared element type and shape of each input / output (-1 where symbolic), for convenience. */
  get inputMetadata() {
    return this.inputNames.map((name, i) => ({ name, ...this.#info('wm_input_info', i) }));
  }
  get outputMetadata() {
    return this.outputNames.map((name, i) => ({ name, ...this.#info('wm_output_info', i) }));
  }
  #info(fn, i) {
    const e = this._rt.exports;
    const scratch = e.wm_malloc(8 + 64);
    const nd = e[fn](this._h, i, scratch, scratch + 8);
    const dv = this._rt.dv();
    const type = TYPE_BY_CODE[dv.getInt32(scratch, true)] ?? 'unknown';
    const shape = nd < 0 ? undefined : Array.from({ length: nd }, (_, d) => Number(dv.getBigInt64(scratch + 8 + 8 * d, true)));
    e.wm_free(scratch);
    return { type, shape };
  }

  /**
   * Runs the model. `feeds` maps input names to Tensors (inputs backed by an initializer may be left out);
   * `fetches` (array of output names) optionally restricts what is returned. Resolves to `{ name: Tensor }`.
   */
  async run(feeds, fetches) {
    if (!this._h) throw new Error('wasmind-onnx: session released');
    const rt = this._rt, e = rt.exports, h = this._h;
    for (const name of Object.keys(feeds))
      if (!this.inputNames.includes(name)) throw new Error(`wasmind-onnx: '${name}' is not an input of this model`);
    const nin = this.inputNames.length, nout = this.outputNames.length;
    const ins = e.wm_tensors_new(nin), outs = e.wm_tensors_new(nout);
    const allocs = [];
    try {
      for (let i = 0; i < nin; i++) {
        const name = this.inputNames[i], t = feeds[name];
        if (!t) {
          if (!this._hasDefault[i]) throw new Error(`wasmind-onnx: input '${name}' missing`);
          continue; // calloc'ed slot: data NULL keeps the initializer
        }
        if (!(t instanceof Object) || !TYPES[t.type]) throw new TypeError(`wasmind-onnx: input '${name}' is not a Tensor`);
        const nd = t.dims.length;
        if (nd > 8) throw new RangeError(`wasmind-onnx: input '${name}' has more than 8 dims`);
        const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        const dims = e.wm_malloc(8 * Math.max(nd, 1));
        allocs.push(dims);
        const data = e.wm_malloc(src.byteLength);
        allocs.push(data);
        if (!dims || !data) throw new Error('wasmind-onnx: out of memory for inputs');
        const dv = rt.dv();
        for (let d = 0; d < nd; d++) dv.setBigInt64(dims + 8 * d, BigInt(t.dims[d]), true);
        rt.u8().set(src, data);
        e.wm_tensor_set(ins, i, TYPES[t.type][0], nd, dims, data, src.byteLength);
      }
      const st = e.wm_run(h, ins, nin, outs, nout);
      if (st) throw new Error(`wasmind-onnx: run failed (${STATUS[st] ?? st}): ${rt.lastError()}`);
      const result = {};
      const want = fetches ? new Set(fetches) : null;
      for (let i = 0; i < nout; i++) {
        const name = this.outputNames[i];
        if (want && !want.has(name)) continue;
        const code = e.wm_tensor_dtype(outs, i), type = TYPE_BY_CODE[code];
        if (!type) throw new Error(`wasmind-onnx: output '${name}' has an element type (${code}) JS cannot hold`);
        const nd = e.wm_tensor_ndim(outs, i), dimsPtr = e.wm_tensor_dims(outs, i);
        const dv = rt.dv();
        const dims = Array.from({ length: nd }, (_, d) => Number(dv.getBigInt64(dimsPtr + 8 * d, true)));
        const nbytes = e.wm_tensor_nbytes(outs, i), ptr = e.wm_tensor_data(outs, i);
        const Ctor = TYPES[type][1];
        const arr = new Ctor(nbytes / Ctor.BYTES_PER_ELEMENT);
        // copy out: the wasm heap is reused by the next run, and may be shared memory
        new Uint8Array(arr.buffer).set(new Uint8Array(rt.memory.buffer, ptr, nbytes));
        result[name] = new Tensor(type, arr, dims);
      }
      return result;
    } finally {
      for (const p of allocs) e.wm_free(p);
      e.wm_tensors_free(ins, 0); // inputs borrow JS-allocated data: free the array only
      e.wm_tensors_free(outs, nout);
    }
  }

  /** Frees the model inside the wasm instance (the instance and its workers stay for other sessions). */
  async release() {
    if (this._h) this._rt.exports.wm_destroy(this._h);
    this._h = 0;
  }
}

export default { InferenceSession, Tensor, env };
