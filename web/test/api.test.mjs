// api.test.mjs — the JS API itself (Tensor checks, metadata, fetches, defaults, errors, model sources), on
// squeezenet and silero VAD from build/models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as api from '../index.js';
import { InferenceSession, Tensor } from '../index.js';
import { modelPath, dataSets } from './models.mjs';

const skip = !fs.existsSync(modelPath('silero_vad_v5')) && 'build/models not fetched';

test('Tensor: typed constructor, ORT-style constructor, plain arrays, reshape', () => {
  const a = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual([a.type, a.size, [...a.dims]], ['float32', 6, [2, 3]]);
  const b = new Tensor(new BigInt64Array([1n, 2n]), [2]);
  assert.equal(b.type, 'int64');
  const c = new Tensor('int64', [1, 2, 3], [3]);
  assert.ok(c.data instanceof BigInt64Array);
  const d = new Tensor('bool', [true, false], [2]);
  assert.deepEqual([...d.data], [1, 0]);
  assert.deepEqual([...new Tensor('int32', new Int32Array(4)).dims], [4]);
  assert.deepEqual([...a.reshape([3, 2]).dims], [3, 2]);
  assert.equal(new Tensor('uint8', new Uint8Array(1), []).size, 1); // scalar
});

test('Tensor: rejects mismatched sizes, wrong array types and unknown types', () => {
  assert.throws(() => new Tensor('float32', new Float32Array(5), [2, 3]), RangeError);
  assert.throws(() => new Tensor('int64', new Int32Array(2), [2]), TypeError);
  assert.throws(() => new Tensor('string', ['a'], [1]), TypeError);
  assert.throws(() => new Tensor('float32', new Float32Array(2), [-1, -2]), RangeError);
});

test('default export and env match the named exports', () => {
  assert.equal(api.default.InferenceSession, InferenceSession);
  assert.equal(api.default.Tensor, Tensor);
  assert.ok(api.env.wasm);
});

test('session: names, metadata, run with int64 scalar input, fetches', { skip }, async () => {
  const s = await InferenceSession.create(modelPath('silero_vad_v5'), { threads: 1 });
  assert.deepEqual(s.inputNames, ['input', 'state', 'sr']);
  assert.deepEqual(s.outputNames, ['output', 'stateN']);
  const meta = s.inputMetadata;
  assert.equal(meta[2].type, 'int64');
  assert.equal(meta[1].type, 'float32');
  const ds = dataSets('silero_vad_v5')[0];
  const feeds = Object.fromEntries(ds.inputs.map((t) => [t.name, new Tensor(t.type, t.data, t.dims)]));
  const only = await s.run(feeds, ['stateN']);
  assert.deepEqual(Object.keys(only), ['stateN']);
  assert.deepEqual([...only.stateN.dims], [2, 1, 128]);
  // outputs are copies: a second run must not change the first run's arrays
  const first = Float32Array.from(only.stateN.data);
  await s.run({ ...feeds, input: new Tensor('float32', new Float32Array(512), [1, 512]) });
  assert.deepEqual(only.stateN.data, first);
  await s.release();
  await assert.rejects(s.run(feeds), /released/);
});

test('session: model from bytes, ArrayBuffer and file: URL; errors are reported', { skip }, async () => {
  const bytes = fs.readFileSync(modelPath('squeezenet1_1'));
  const s1 = await InferenceSession.create(new Uint8Array(bytes), { threads: 1 });
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const s2 = await InferenceSession.create(ab, { intraOpNumThreads: 1 });
  const s3 = await InferenceSession.create(pathToFileURL(modelPath('squeezenet1_1')), { threads: 1 });
  assert.deepEqual(s1.inputNames, s2.inputNames);
  assert.deepEqual(s1.outputNames, s3.outputNames);
  await assert.rejects(s1.run({}), /input 'input' missing/);
  await assert.rejects(s1.run({ nope: new Tensor('float32', new Float32Array(1)) }), /not an input/);
  await assert.rejects(s1.run({ input: new Tensor('float32', new Float32Array(3), [1, 3]) }), /run failed/);
  await assert.rejects(InferenceSession.create(new Uint8Array([1, 2, 3, 4]), { threads: 1 }), /cannot load/);
  for (const s of [s1, s2, s3]) await s.release();
});
