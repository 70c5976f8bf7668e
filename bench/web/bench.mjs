// bench.mjs — wasmind-web vs onnxruntime-web 1.30.0 (wasm EP, SIMD, same thread count) in one headless Chromium
// page, alternating engine order per round; and the pure-wasm WASI command under `wasmind run` (--aot, --interp)
// vs the native engine (`wasmind nn bench`). Prints medians, ratios (ours / theirs), geometric means, .wasm sizes.
//   node bench/web/bench.mjs [--browser] [--wasi] [--models a,b] [--threads 1,2] [--rounds N] [--wasm-path /build/x/]
// --wasm-path: URL path (served from web/) of other wasmind-onnx*.wasm builds to measure instead of web/dist.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../web/test/server.mjs';
import { launch, chromiumMissing } from '../../web/test/browser.mjs';
import { WEB_DIR, MODELS_DIR, available, dataSets, modelPath } from '../../web/test/models.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const doBrowser = argv.includes('--browser') || !argv.includes('--wasi');
const doWasi = argv.includes('--wasi') || !argv.includes('--browser');
const models = opt('--models', available().join(',')).split(',').filter(Boolean);
const threadCounts = opt('--threads', '1,2').split(',').map(Number);
const rounds = Number(opt('--rounds', 3));
const wasmPath = opt('--wasm-path', null);
const WASMIND = process.env.WASMIND || path.resolve(WEB_DIR, '../build/wasmind');
const ORT_WASM = path.join(WEB_DIR, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm');

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const geomean = (a) => Math.exp(a.reduce((s, x) => s + Math.log(x), 0) / a.length);
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const mb = (n) => (n / 1048576).toFixed(2) + ' MB';

function sizes() {
  console.log('\n.wasm sizes (raw / gzip -9):');
  for (const [label, f] of [
    ['wasmind-onnx.wasm (1 thread)', path.join(WEB_DIR, 'dist/wasmind-onnx.wasm')],
    ['wasmind-onnx-mt.wasm (threads)', path.join(WEB_DIR, 'dist/wasmind-onnx-mt.wasm')],
    ['onnxruntime-web ort-wasm-simd-threaded.wasm', ORT_WASM],
  ]) {
    if (!fs.existsSync(f)) continue;
    const b = fs.readFileSync(f);
    console.log(`  ${label.padEnd(46)} ${mb(b.length).padStart(10)}  ${mb(zlib.gzipSync(b, { level: 9 }).length).padStart(10)}`);
  }
}

// ---- browser: both engines in one page per thread count (ORT's thread count is fixed at its first session) ----
async function pageBench(browser, base, threads) {
  const page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error('  [page]', m.text()));
  page.on('pageerror', (e) => console.error('  [page error]', e.message));
  await page.goto(`${base}/test/page.html`);
  const rows = [];
  for (const model of models) {
    const nin = dataSets(model)[0].inputs.length;
    const r = await page.evaluate(
      async ({ model, nin, threads, rounds, wasmPath }) => {
        const wm = await import('/index.js');
        if (wasmPath) wm.env.wasm.wasmPaths = wasmPath;
        const ort = await import('/ort/ort.wasm.min.mjs');
        ort.env.wasm.wasmPaths = '/ort/';
        ort.env.wasm.numThreads = threads;
        ort.env.wasm.proxy = false;
        const { parseTensorProto } = await import('/test/pb.mjs');
        const inputs = [];
        for (let k = 0; k < nin; k++) {
          const buf = new Uint8Array(await (await fetch(`/models/refs/${model}/test_data_set_0/input_${k}.pb`)).arrayBuffer());
          inputs.push(parseTensorProto(buf));
        }
        const bytes = new Uint8Array(await (await fetch(`/models/${model}.onnx`)).arrayBuffer());
        const t0 = performance.now();
        const a = await wm.InferenceSession.create(bytes, { threads });
        const t1 = performance.now();
        const b = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
        const t2 = performance.now();
        const feedsA = Object.fromEntries(inputs.map((t) => [t.name, new wm.Tensor(t.type, t.data, t.dims)]));
        const feedsB = Object.fromEntries(inputs.map((t) => [t.name, new ort.Tensor(t.type, t.data, t.dims)]));
        const runA = () => a.run(feedsA), runB = () => b.run(feedsB);
        // warm-up, and the output agreement check. V8 first runs wasm in its baseline compiler and tiers hot
        // functions up in the background: two runs were not enough for the first model of a page (squeezenet's ratio
        // moved between 0.99 and 1.44), so both engines run alternately for at least 0.5 s each (2-20 runs).
        let oa, ob, spentA = 0, spentB = 0;
        for (let i = 0; i < 20 && (i < 2 || spentA < 500 || spentB < 500); i++) {
          let w = performance.now();
          oa = await runA();
          spentA += performance.now() - w;
          w = performance.now();
          ob = await runB();
          spentB += performance.now() - w;
        }
        let maxDiff = 0;
        for (const n of b.outputNames) {
          const x = oa[n].data, y = ob[n].data;
          for (let i = 0; i < y.length; i++) maxDiff = Math.max(maxDiff, Math.abs(Number(x[i]) - Number(y[i])));
        }
        // iterations per turn: about 0.3 s of the slower engine, at least 2
        let t = performance.now();
        await runB();
        const iters = Math.max(2, Math.min(50, Math.ceil(300 / (performance.now() - t))));
        const ta = [], tb = [];
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 ? [[runB, tb], [runA, ta]] : [[runA, ta], [runB, tb]];
          for (const [run, times] of order)
            for (let i = 0; i < iters; i++) {
              t = performance.now();
              await run();
              times.push(performance.now() - t);
            }
        }
        await a.release();
        await b.release();
        return { ta, tb, loadA: t1 - t0, loadB: t2 - t1, maxDiff, threadsA: a.threads, iters };
      },
      { model, nin, threads, rounds, wasmPath }
    );
    const row = { model, threads, ours: median(r.ta), ort: median(r.tb), loadA: r.loadA, loadB: r.loadB, maxDiff: r.maxDiff, n: r.ta.length };
    row.ratio = row.ours / row.ort;
    console.log(
      `  ${model.padEnd(16)} ${String(threads).padStart(2)}  ${fmt(row.ours).padStart(8)} ${fmt(row.ort).padStart(8)}  ${row.ratio.toFixed(2).padStart(6)}` +
        `   load ${fmt(row.loadA).padStart(6)} / ${fmt(row.loadB).padStart(6)} ms   n=${row.n}  max|diff| ${row.maxDiff.toExponential(1)}` +
        (r.threadsA !== threads ? `  (wasmind ran ${r.threadsA} thread)` : '')
    );
    rows.push(row);
  }
  await page.close();
  return rows;
}

async function browserBench() {
  const missing = chromiumMissing();
  if (missing) return console.log(`browser benchmark skipped: ${missing}`);
  const server = await startServer();
  const browser = await launch();
  console.log(`Chromium ${browser.version()}: median latency ms, wasmind-web vs onnxruntime-web 1.30.0 (wasm EP, SIMD)`);
  console.log(`  ${'model'.padEnd(16)} th   wasmind      ORT   ratio`);
  try {
    for (const threads of threadCounts) {
      const rows = await pageBench(browser, server.url, threads);
      const worst = rows.reduce((w, r) => (r.ratio > w.ratio ? r : w));
      console.log(`  -> ${threads} thread(s): geomean ratio ${geomean(rows.map((r) => r.ratio)).toFixed(2)}, worst ${worst.model} ${worst.ratio.toFixed(2)}\n`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

// ---- pure wasm (WASI command) vs native, alternating the variants per round ----
// "native" is the engine as shipped (AVX2+FMA kernels on x86); "native-128" pins its portable kernels
// (WM_ONNX_ISA=scalar: plain C the compiler vectorises to 128-bit SSE), the like-for-like ISA for SIMD128.
function wasiBench() {
  if (!fs.existsSync(WASMIND)) return console.log(`WASI benchmark skipped: ${WASMIND} not built`);
  const cli = path.join(WEB_DIR, 'dist/wasi/wasmind-onnx.wasm');
  console.log('\nPure wasm vs native, 1 thread: median latency ms (wasmind nn bench vs wasmind run [--aot|--interp] wasmind-onnx.wasm)');
  console.log(`  ${'model'.padEnd(16)}   native native-128      aot   interp   aot/native  aot/native-128  interp/native  (speed)`);
  const kinds = ['native', 'native128', 'aot', 'interp'];
  const speeds = { aot: [], aot128: [], interp: [] };
  const latency = (out) => Number(/latency: median ([\d.]+) ms/.exec(out)[1]);
  const exec = (args, env) => execFileSync(WASMIND, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  for (const model of models) {
    const ds = dataSets(model)[0];
    const inputs = ds.inputs.flatMap((t, k) => ['--input', `${t.name}=${path.join(ds.dir, `input_${k}.pb`)}`]);
    const dirs = ['--dir', MODELS_DIR];
    // the interpreter is 10-70x slower than native, so it gets the fewest iterations
    const it = { native: 5, native128: 5, aot: 5, interp: 1 };
    const nn = (k) => ['nn', 'bench', modelPath(model), ...inputs, '--threads', '1', '--iters', String(it[k])];
    const run = {
      native: () => exec(nn('native')),
      native128: () => exec(nn('native128'), { WM_ONNX_ISA: 'scalar' }),
      aot: () => exec(['run', '--aot', ...dirs, cli, modelPath(model), ...inputs, '--iters', String(it.aot)]),
      interp: () => exec(['run', '--interp', ...dirs, cli, modelPath(model), ...inputs, '--iters', String(it.interp)]),
    };
    const t = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...kinds].reverse() : kinds;
      for (const k of order) t[k].push(latency(run[k]()));
    }
    const m = Object.fromEntries(kinds.map((k) => [k, median(t[k])]));
    speeds.aot.push(m.native / m.aot);
    speeds.aot128.push(m.native128 / m.aot);
    speeds.interp.push(m.native / m.interp);
    const pct = (x) => `${(100 * x).toFixed(0)}%`;
    console.log(
      `  ${model.padEnd(16)} ${fmt(m.native).padStart(8)} ${fmt(m.native128).padStart(10)} ${fmt(m.aot).padStart(8)} ${fmt(m.interp).padStart(8)}` +
        `   ${pct(m.native / m.aot).padStart(10)}  ${pct(m.native128 / m.aot).padStart(14)}  ${pct(m.native / m.interp).padStart(13)}`
    );
  }
  console.log(
    `  -> geomean speed: aot ${(100 * geomean(speeds.aot)).toFixed(0)}% of native, ${(100 * geomean(speeds.aot128)).toFixed(0)}% of native-128;` +
      ` interp ${(100 * geomean(speeds.interp)).toFixed(1)}% of native`
  );
}

if (doBrowser) await browserBench();
if (doWasi) wasiBench();
sizes();
