// models.test.mjs — the JS package on the reference models in Node.js: every output within 1e-4 + 1e-3·|ref| of
// ONNX Runtime's reference and of the native engine's (`wasmind nn run`), on 1 thread and on 2 (worker pool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { InferenceSession, Tensor } from '../index.js';
import { available, dataSets, modelPath, compare } from './models.mjs';

const models = available();
const threadCounts = (process.env.WASMIND_TEST_THREADS || '1,2').split(',').map(Number);

test('reference models are present', { skip: models.length ? false : 'build/models not fetched' }, () => {
  assert.ok(models.length > 0);
});

for (const threads of threadCounts) {
  for (const name of models) {
    test(`${name} (${threads} thread${threads > 1 ? 's' : ''}) matches ORT and the native engine`, async () => {
      const session = await InferenceSession.create(fs.readFileSync(modelPath(name)), { threads });
      assert.equal(session.threads, threads);
      for (const ds of dataSets(name)) {
        const feeds = {};
        for (const t of ds.inputs) feeds[t.name] = new Tensor(t.type, t.data, t.dims);
        const out = await session.run(feeds);
        ds.outputs.forEach((ref, k) => {
          const got = out[session.outputNames[k]];
          assert.ok(got, `output ${k} missing`);
          const d = compare(got, ref);
          assert.equal(d, null, `${ds.dir} output ${k} vs ORT: ${d}`);
          if (ds.native) {
            const dn = compare(got, ds.native[k]);
            assert.equal(dn, null, `${ds.dir} output ${k} vs native: ${dn}`);
          }
        });
      }
      await session.release();
    });
  }
}
