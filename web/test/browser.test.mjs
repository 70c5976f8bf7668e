// browser.test.mjs — the package in headless Chromium (page served on localhost): squeezenet and silero VAD
// outputs vs ONNX Runtime's, on 1 thread and on 2 Web Workers (cross-origin isolated page), and the 1-thread
// fallback with its console notice on a page that is not isolated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer } from './server.mjs';
import { launch, chromiumMissing } from './browser.mjs';
import { dataSets, modelPath, compare } from './models.mjs';

const skip = chromiumMissing() || (!fs.existsSync(modelPath('squeezenet1_1')) && 'build/models not fetched');
let server, browser;

before(async () => {
  if (skip) return;
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// Runs `model` in a fresh page on each data set's inputs; returns per-set outputs, threads used, console lines.
async function runInPage(base, model, threads) {
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(`${base}/test/page.html`);
  const sets = dataSets(model).map((ds) =>
    ds.inputs.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: Array.from(t.data, (v) => String(v)) }))
  );
  const res = await page.evaluate(
    async ({ model, threads, sets }) => {
      const { InferenceSession, Tensor } = await import('/index.js');
      const s = await InferenceSession.create(`/models/${model}.onnx`, { threads });
      const results = [];
      for (const inputs of sets) {
        const feeds = {};
        for (const t of inputs) feeds[t.name] = new Tensor(t.type, t.data.map((v) => (t.type === 'int64' ? BigInt(v) : Number(v))), t.dims);
        const out = await s.run(feeds);
        results.push(s.outputNames.map((n) => ({ type: out[n].type, dims: [...out[n].dims], data: Array.from(out[n].data, Number) })));
      }
      return { results, threads: s.threads, isolated: self.crossOriginIsolated };
    },
    { model, threads, sets }
  );
  await page.close();
  return { ...res, logs };
}

function check(model, results) {
  dataSets(model).forEach((ds, i) =>
    ds.outputs.forEach((ref, k) => {
      const got = results[i][k];
      assert.equal(compare(got, ref), null, `${model} set ${i} output ${k}: ${compare(got, ref)}`);
    })
  );
}

for (const model of ['squeezenet1_1', 'silero_vad_v5']) {
  test(`chromium: ${model}, 1 thread, matches ORT`, { skip }, async () => {
    const r = await runInPage(server.url, model, 1);
    assert.equal(r.threads, 1);
    check(model, r.results);
  });
  test(`chromium: ${model}, 2 threads (Web Workers, isolated page), matches ORT`, { skip }, async () => {
    const r = await runInPage(server.url, model, 2);
    assert.equal(r.isolated, true);
    assert.equal(r.threads, 2);
    check(model, r.results);
  });
}

test('chromium: page without cross-origin isolation falls back to 1 thread with a notice', { skip }, async () => {
  const r = await runInPage(`${server.url}/plain`, 'squeezenet1_1', 2);
  assert.equal(r.isolated, false);
  assert.equal(r.threads, 1);
  assert.ok(r.logs.some((l) => /1 thread/.test(l)), `console: ${r.logs.join(' | ')}`);
  check('squeezenet1_1', r.results);
});
