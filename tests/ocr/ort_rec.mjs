// ort_rec.mjs — reference for the OCR guest's recogniser stage: reads crops written by `ocr --dump-crops`,
// preprocesses them independently (height 48, bilinear, [-1,1], BGR, padded to >= 320) and decodes with ONNX Runtime.
// usage: node ort_rec.mjs ORT_DIR REC.onnx KEYS.txt CROP.ppm...   (prints "FILE<TAB>TEXT<TAB>CONF" per crop)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const [ortDir, recPath, keysPath, ...crops] = process.argv.slice(2);
const ort = createRequire(resolve(ortDir, 'x.js'))('onnxruntime-node');
const keys = ['', ...readFileSync(keysPath, 'utf8').replace(/\n$/, '').split('\n'), ' '];

function readPpm(file) {
  const b = readFileSync(file);
  // header: P6 W H 255, whitespace-separated, then one whitespace byte
  let pos = 0; const fields = [];
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(b[pos]))) pos++;
    let s = ''; while (!/\s/.test(String.fromCharCode(b[pos]))) s += String.fromCharCode(b[pos++]);
    fields.push(s);
  }
  return { w: +fields[1], h: +fields[2], px: b.subarray(pos + 1) };
}

const session = await ort.InferenceSession.create(recPath, { intraOpNumThreads: 1 });
for (const file of crops) {
  const im = readPpm(file);
  const H = 48, rw = Math.max(1, Math.min(3200, Math.ceil(H * im.w / im.h))), W = Math.max(320, rw);
  const data = new Float32Array(3 * H * W);
  const sx = im.w / rw, sy = im.h / H;
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  const at = (x, y, c) => im.px[(clamp(y, im.h - 1) * im.w + clamp(x, im.w - 1)) * 3 + c];
  for (let y = 0; y < H; y++) for (let x = 0; x < rw; x++) {
    // half-pixel centres, as cv2.resize(INTER_LINEAR)
    const fy = clamp((y + 0.5) * sy - 0.5, im.h - 1), fx = clamp((x + 0.5) * sx - 0.5, im.w - 1);
    const x0 = Math.floor(fx), y0 = Math.floor(fy), ax = fx - x0, ay = fy - y0;
    for (let c = 0; c < 3; c++) {
      const top = at(x0, y0, c) * (1 - ax) + at(x0 + 1, y0, c) * ax;
      const bot = at(x0, y0 + 1, c) * (1 - ax) + at(x0 + 1, y0 + 1, c) * ax;
      const v = top * (1 - ay) + bot * ay;
      data[(2 - c) * H * W + y * W + x] = (v / 255 - 0.5) / 0.5;   // BGR planes
    }
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, H, W]) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  const [, T, C] = out.dims;
  let text = '', sum = 0, n = 0, prev = -1;
  for (let t = 0; t < T; t++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (out.data[t * C + c] > out.data[t * C + best]) best = c;
    if (best !== 0 && best !== prev) { text += keys[best]; sum += out.data[t * C + best]; n++; }
    prev = best;
  }
  console.log(`${file}\t${text}\t${(n ? sum / n : 0).toFixed(4)}`);
}
