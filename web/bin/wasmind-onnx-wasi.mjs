#!/usr/bin/env node
// wasmind-onnx-wasi.mjs — runs the WASI command build (dist/wasi/wasmind-onnx.wasm) under Node's node:wasi, with
// the current directory and / preopened: `node bin/wasmind-onnx-wasi.mjs MODEL.onnx --input N=F.pb --output-dir D`.
import { WASI } from 'node:wasi';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

// Node 20's concurrent GC marking crashes (segfault / "unreachable code" in MarkCompactCollector) after
// node:wasi runs of the larger models (resnet50, bert: about half the runs); one GC thread avoids it.
if (!process.execArgv.includes('--single-threaded-gc')) {
  const r = spawnSync(process.execPath, ['--single-threaded-gc', '--no-warnings', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const wasmFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/wasi/wasmind-onnx.wasm');
// Only "/" is preopened (Debian's wasi-libc mishandles absolute paths when "." is preopened too), so file
// arguments are made absolute here: the model, --input NAME=FILE, --output-dir DIR.
const args = process.argv.slice(2).map((a, i, all) => {
  if (all[i - 1] === '--input' && a.includes('=')) return a.slice(0, a.indexOf('=') + 1) + path.resolve(a.slice(a.indexOf('=') + 1));
  if (all[i - 1] === '--output-dir' || (!a.startsWith('-') && !['--iters', '--threads'].includes(all[i - 1])))
    return path.resolve(a);
  return a;
});
const wasi = new WASI({
  version: 'preview1',
  args: ['wasmind-onnx', ...args],
  env: {},
  preopens: { '/': '/' },
});
const module = await WebAssembly.compile(fs.readFileSync(wasmFile));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance); // exits the process with the module's status
