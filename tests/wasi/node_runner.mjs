// node_runner.mjs — runs a WASI module under Node's node:wasi for comparison with wasmind.
// Usage: node node_runner.mjs MODULE.wasm SANDBOX_DIR VERSION [--env K=V]... -- [ARGS...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const [wasmPath, sandbox, version, ...rest] = process.argv.slice(2);
const env = {};
let i = 0;
for (; i < rest.length && rest[i] !== '--'; i++) {
  if (rest[i] === '--env') { const kv = rest[++i]; const eq = kv.indexOf('='); env[kv.slice(0, eq)] = kv.slice(eq + 1); }
}
const args = [wasmPath, ...rest.slice(i + 1)];
const wasi = new WASI({ version, args, env, preopens: { '/sandbox': sandbox }, returnOnExit: true });
const mod = await WebAssembly.compile(await readFile(wasmPath));
const inst = await WebAssembly.instantiate(mod, wasi.getImportObject());
process.exitCode = wasi.start(inst);
