// ort_bench.mjs — times one model in ONNX Runtime (onnxruntime-node) the way `wasmind nn bench` does:
// session creation time, one warm-up run, then the median of --iters runs on synthetic or .pb inputs. Prints JSON.
// Usage: node ort_bench.mjs MODEL.onnx [--threads N] [--iters K] [--shape NAME=1x3x224x224]... [--input NAME=FILE.pb]...
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ortDir = process.env.ORT_NODE_DIR || path.resolve(here, '../../build/models/ort/node_modules/onnxruntime-node');
const ort = require(ortDir);

const args = process.argv.slice(2);
let model = null, threads = 1, iters = 10;
const shapes = {}, files = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--threads') threads = +args[++i];
  else if (a === '--iters') iters = +args[++i];
  else if (a === '--shape') { const [n, d] = args[++i].split('='); shapes[n] = d.split('x').map(Number); }
  else if (a === '--input') { const [n, f] = args[++i].split('='); files[n] = f; }
  else model = a;
}

// Minimal TensorProto reader for the backend tests' .pb files (dims=1, data_type=2, raw_data=9, plus
// float_data=4 / int64_data=7 packed fields), enough for the inputs the benchmark uses.
function readVarint(b, p) { let v = 0n, s = 0n; for (;;) { const c = b[p.i++]; v |= BigInt(c & 0x7f) << s; if (!(c & 0x80)) return v; s += 7n; } }
function parsePb(buf) {
  const p = { i: 0 }; const dims = []; let dt = 1, raw = null; const fl = [], i64 = [];
  while (p.i < buf.length) {
    const key = Number(readVarint(buf, p)), f = key >> 3, w = key & 7;
    if (w === 0) { const v = readVarint(buf, p); if (f === 1) dims.push(Number(v)); else if (f === 2) dt = Number(v); else if (f === 7) i64.push(v); }
    else if (w === 2) {
      const len = Number(readVarint(buf, p)), sub = buf.subarray(p.i, p.i + len); p.i += len;
      if (f === 9) raw = sub;
      else if (f === 1) { const q = { i: 0 }; while (q.i < sub.length) dims.push(Number(readVarint(sub, q))); }
      else if (f === 4) for (let j = 0; j + 4 <= sub.length; j += 4) fl.push(sub.readFloatLE(j));
      else if (f === 7) { const q = { i: 0 }; while (q.i < sub.length) i64.push(readVarint(sub, q)); }
    } else if (w === 5) p.i += 4; else if (w === 1) p.i += 8; else throw new Error('bad wire type');
  }
  const types = { 1: ['float32', Float32Array], 7: ['int64', BigInt64Array], 6: ['int32', Int32Array], 11: ['float64', Float64Array] };
  const [name, Ctor] = types[dt];
  let data;
  if (raw) { const c = Buffer.from(raw); data = new Ctor(c.buffer, c.byteOffset, c.byteLength / Ctor.BYTES_PER_ELEMENT); }
  else data = dt === 7 ? BigInt64Array.from(i64) : Ctor.from(fl);
  return new ort.Tensor(name, data, dims);
}

const t0 = performance.now();
const sess = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
});
const loadMs = performance.now() - t0;

// Same synthetic data as `wasmind nn bench`: floats from a fixed LCG in [0,1), integers 0.
let seed = 12345;
const feeds = {};
const meta = sess.inputMetadata || [];
for (let idx = 0; idx < sess.inputNames.length; idx++) {
  const name = sess.inputNames[idx];
  if (files[name]) { feeds[name] = parsePb(fs.readFileSync(files[name])); continue; }
  const md = Array.isArray(meta) ? meta[idx] : meta[name];
  let dims = shapes[name] || (md && md.shape ? md.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1)) : [1]);
  const type = md && md.type ? md.type : 'float32';
  const n = dims.reduce((a, b) => a * b, 1);
  if (type === 'float32') {
    const a = new Float32Array(n);
    for (let j = 0; j < n; j++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; a[j] = (seed >>> 8) / 16777216; }
    feeds[name] = new ort.Tensor('float32', a, dims);
  } else if (type === 'int64') feeds[name] = new ort.Tensor('int64', new BigInt64Array(n), dims);
  else if (type === 'int32') feeds[name] = new ort.Tensor('int32', new Int32Array(n), dims);
  else throw new Error(`cannot synthesise ${type} for ${name}`);
}
await sess.run(feeds);
const times = [];
for (let i = 0; i < iters; i++) { const s = performance.now(); await sess.run(feeds); times.push(performance.now() - s); }
times.sort((a, b) => a - b);
const med = iters % 2 ? times[iters >> 1] : (times[iters / 2 - 1] + times[iters / 2]) / 2;
console.log(JSON.stringify({ load_ms: loadMs, median_ms: med, min_ms: times[0], rss_kb: process.resourceUsage().maxRSS }));
