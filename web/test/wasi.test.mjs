// wasi.test.mjs — the pure-wasm path: dist/wasi/wasmind-onnx.wasm as a WASI command under Node's node:wasi and
// under `wasmind run` (interpreter and --aot), writing output_K.pb that must match ONNX Runtime's reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WEB_DIR, dataSets, modelPath, compare, readTensorProto } from './models.mjs';

const WASM = path.join(WEB_DIR, 'dist/wasi/wasmind-onnx.wasm');
const WASMIND = process.env.WASMIND || path.resolve(WEB_DIR, '../build/wasmind');

function runAndCheck(model, cmd) {
  for (const ds of dataSets(model)) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wmonnx-'));
    const args = [modelPath(model)];
    ds.inputs.forEach((t, k) => args.push('--input', `${t.name}=${path.join(ds.dir, `input_${k}.pb`)}`));
    args.push('--output-dir', out);
    cmd(args, out);
    ds.outputs.forEach((ref, k) => {
      const got = readTensorProto(path.join(out, `output_${k}.pb`));
      assert.equal(compare(got, ref), null, `${ds.dir} output ${k}: ${compare(got, ref)}`);
    });
    fs.rmSync(out, { recursive: true });
  }
}

const node = (args) =>
  execFileSync(process.execPath, [path.join(WEB_DIR, 'bin/wasmind-onnx-wasi.mjs'), ...args], { stdio: 'pipe' });
const wasmind = (mode) => (args, out) => {
  const dirs = new Set([path.dirname(args[0]), out, ...args.filter((a) => a.includes('=')).map((a) => path.dirname(a.split('=')[1]))]);
  execFileSync(WASMIND, ['run', mode, ...[...dirs].flatMap((d) => ['--dir', d]), WASM, ...args], { stdio: 'pipe', timeout: 600e3 });
};

const noModels = !fs.existsSync(modelPath('silero_vad_v5')) && 'build/models not fetched';
const noWasmind = !fs.existsSync(WASMIND) && `${WASMIND} not built`;

for (const model of ['silero_vad_v5', 'squeezenet1_1', 'bert_encoder', 'resnet50']) {
  test(`node:wasi: ${model} matches ORT`, { skip: noModels }, () => runAndCheck(model, node));
}
for (const model of ['silero_vad_v5', 'squeezenet1_1']) {
  test(`wasmind run --interp: ${model} matches ORT`, { skip: noModels || noWasmind }, () => runAndCheck(model, wasmind('--interp')));
  test(`wasmind run --aot: ${model} matches ORT`, { skip: noModels || noWasmind }, () => runAndCheck(model, wasmind('--aot')));
}
