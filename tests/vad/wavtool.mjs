// wavtool.mjs — helpers for tests/vad/run.sh: the speech extent of a clean clip, and reference silero VAD
// probabilities computed with ONNX Runtime (node) chunk by chunk with carried state, to compare with the guest.
//   node wavtool.mjs extent FILE.wav            -> "start_s end_s gap_ms": the audible part (10 ms frames above
//                                                  -55 dBFS) and its longest inner pause (frames below)
//   node wavtool.mjs probs ORT_DIR MODEL FILE.wav -> "start_s prob" per chunk, like `vad --probs`
//   node wavtool.mjs compare GUEST.txt REF.txt  -> exit 0 if every prob is within 1e-4 + 1e-3*|ref|
import fs from 'node:fs';

// Mono PCM16 WAV only: the test writes its files with sox in exactly that format.
function readWav(path) {
  const b = fs.readFileSync(path);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${path}: not WAV`);
  let rate = 0, off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4), sz = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      if (b.readUInt16LE(off + 8) !== 1 || b.readUInt16LE(off + 10) !== 1 || b.readUInt16LE(off + 22) !== 16)
        throw new Error(`${path}: need mono PCM16`);
      rate = b.readUInt32LE(off + 12);
    } else if (id === 'data') {
      const n = Math.floor(Math.min(sz, b.length - off - 8) / 2), x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = b.readInt16LE(off + 8 + 2 * i) / 32768;
      return { x, rate };
    }
    off += 8 + sz + (sz & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'extent') {
  const { x, rate } = readWav(args[0]);
  const f = rate / 100, on = [];
  for (let i = 0; i + f <= x.length; i += f) {
    let s = 0;
    for (let j = i; j < i + f; j++) s += x[j] * x[j];
    if (10 * Math.log10(s / f + 1e-20) > -55) on.push(i);
  }
  if (!on.length) { console.log('none'); process.exit(1); }
  // refine to the first/last sample above -55 dBFS inside the edge frames
  const thr = 10 ** (-55 / 20);
  let a = on[0], z = on[on.length - 1] + f - 1;
  while (a < z && Math.abs(x[a]) < thr) a++;
  while (z > a && Math.abs(x[z]) < thr) z--;
  // a clip with a long inner pause has no single true extent: the VAD may rightly split it
  let gap = 0;
  for (let k = 1; k < on.length; k++) gap = Math.max(gap, on[k] - on[k - 1] - f);
  console.log((a / rate).toFixed(4), ((z + 1) / rate).toFixed(4), Math.round(gap / rate * 1000));
} else if (cmd === 'probs') {
  const ort = (await import(`${args[0]}/dist/index.js`)).default;
  const session = await ort.InferenceSession.create(args[1]);
  const { x, rate } = readWav(args[2]);
  const chunk = rate === 16000 ? 512 : 256, ctx = rate === 16000 ? 64 : 32;
  let state = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  const win = new Float32Array(ctx + chunk);
  const out = [];
  for (let s = 0; s < x.length; s += chunk) {
    win.copyWithin(0, chunk);                      // last ctx samples of the previous window
    win.fill(0, ctx);
    win.set(x.subarray(s, Math.min(s + chunk, x.length)), ctx);
    const r = await session.run({ input: new ort.Tensor('float32', win.slice(), [1, ctx + chunk]), state, sr });
    state = r.stateN;
    out.push(`${(s / rate).toFixed(3)} ${r.output.data[0].toFixed(7)}`);
  }
  console.log(out.join('\n'));
} else if (cmd === 'compare') {
  const g = fs.readFileSync(args[0], 'utf8').trim().split('\n').map(l => l.split(' ').map(Number));
  const r = fs.readFileSync(args[1], 'utf8').trim().split('\n').map(l => l.split(' ').map(Number));
  let worst = 0, bad = 0;
  if (g.length !== r.length) { console.log(`chunk counts differ: guest ${g.length}, reference ${r.length}`); process.exit(1); }
  for (let i = 0; i < r.length; i++) {
    const d = Math.abs(g[i][1] - r[i][1]), tol = 1e-4 + 1e-3 * Math.abs(r[i][1]);
    worst = Math.max(worst, d);
    if (g[i][0] !== r[i][0] || !(d <= tol)) { if (bad++ < 5) console.log(`chunk ${i} (${r[i][0]} s): guest ${g[i][1]}, ref ${r[i][1]}`); }
  }
  console.log(`${r.length} chunks, max |diff| ${worst.toExponential(2)}, ${bad} out of tolerance`);
  process.exit(bad ? 1 : 0);
} else {
  console.error('usage: wavtool.mjs extent FILE | probs ORT_DIR MODEL FILE | compare GUEST REF');
  process.exit(2);
}
