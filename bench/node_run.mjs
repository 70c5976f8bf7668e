// node_run.mjs — Node.js peer runner for the benchmark guests: instantiates a freestanding .wasm (no imports/WASI) and prints run(n).
// Usage: node bench/node_run.mjs MODULE.wasm N
import { readFileSync } from 'node:fs';

const [file, arg] = process.argv.slice(2);
if (!file || arg === undefined) {
  console.error('usage: node node_run.mjs MODULE.wasm N');
  process.exit(2);
}
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
console.log(String(instance.exports.run(Number.parseInt(arg, 10) | 0)));
