// ort_ref.mjs — runs one model under onnxruntime-node on raw input files and writes raw outputs: the reference
// side of tests/models. Reads a JSON request on stdin {model, inputs:[{name,type,dims,file}], outdir}.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(join(process.env.NODE_PATH || '.', 'x.js'));
const ort = require('onnxruntime-node');
const req = JSON.parse(readFileSync(0, 'utf8'));
const Arrays = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array };

const session = await ort.InferenceSession.create(req.model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
const feeds = {};
for (const inp of req.inputs) {
  const buf = readFileSync(inp.file);
  const A = Arrays[inp.type];
  const data = new A(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  feeds[inp.name] = new ort.Tensor(inp.type, data, inp.dims);
}
const results = await session.run(feeds);
const outs = [];
session.outputNames.forEach((name, k) => {
  const t = results[name];
  const file = join(req.outdir, `ort_output_${k}.bin`);
  writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  outs.push({ name, type: t.type, dims: t.dims, file });
});
console.log(JSON.stringify(outs));
