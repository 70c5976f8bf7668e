// models.mjs — the reference models (build/models, not committed) and their ONNX Runtime test data sets, shared
// by the Node tests, the browser test and bench/web.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTensorProto } from './pb.mjs';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MODELS_DIR = process.env.WASMIND_MODELS || path.resolve(WEB_DIR, '../build/models');
export const MODEL_NAMES = [
  'squeezenet1_1',
  'mobilenet_v2',
  'efficientnet_b0',
  'resnet50',
  'ppocr_det',
  'ppocr_rec',
  'ppocr_cls',
  'silero_vad_v5',
  'bert_encoder',
];

/** Tolerance of the acceptance criterion: |got - ref| <= 1e-4 + 1e-3 |ref| (NaN matches NaN, ints exact). */
export function compare(got, ref, atol = 1e-4, rtol = 1e-3) {
  if (got.type !== ref.type) return `type ${got.type}, expected ${ref.type}`;
  if (got.dims.join('x') !== ref.dims.join('x')) return `shape [${got.dims}], expected [${ref.dims}]`;
  let bad = 0, first = -1, worst = 0;
  const isFloat = ref.type === 'float32' || ref.type === 'float64';
  for (let i = 0; i < ref.data.length; i++) {
    const g = got.data[i], r = ref.data[i];
    let ok;
    if (isFloat) {
      if (Number.isNaN(r) || Number.isNaN(g)) ok = Number.isNaN(r) && Number.isNaN(g);
      else if (!Number.isFinite(r) || !Number.isFinite(g)) ok = r === g;
      else {
        const d = Math.abs(g - r);
        ok = d <= atol + rtol * Math.abs(r);
        if (d > worst) worst = d;
      }
    } else ok = g === r;
    if (!ok) {
      if (first < 0) first = i;
      bad++;
    }
  }
  return bad ? `${bad} of ${ref.data.length} differ, first at ${first}: ${got.data[first]} vs ${ref.data[first]}` : null;
}

/** Test data sets of a model: [{ dir, inputs: [{name,type,dims,data}], outputs: [...], native: [...]|null }]. */
export function dataSets(name) {
  const root = path.join(MODELS_DIR, 'refs', name);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((d) => {
      const dir = path.join(root, d);
      const list = (prefix, sub = '') => {
        const out = [];
        for (let k = 0; fs.existsSync(path.join(dir, sub, `${prefix}_${k}.pb`)); k++)
          out.push(readTensorProto(path.join(dir, sub, `${prefix}_${k}.pb`)));
        return out;
      };
      const native = fs.existsSync(path.join(dir, 'nnrun', 'output_0.pb')) ? list('output', 'nnrun') : null;
      return { dir, inputs: list('input'), outputs: list('output'), native };
    });
}

export function readTensorProto(file) {
  return parseTensorProto(new Uint8Array(fs.readFileSync(file)));
}

export function modelPath(name) {
  return path.join(MODELS_DIR, `${name}.onnx`);
}

export function available() {
  return MODEL_NAMES.filter((n) => fs.existsSync(modelPath(n)) && dataSets(n).length);
}
