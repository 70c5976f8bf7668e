// server.mjs — a static localhost server for the browser test and bench/web: / = web/, /models/ = build/models,
// /ort/ = onnxruntime-web's dist. Sends COOP/COEP (cross-origin isolation, needed for SharedArrayBuffer) unless
// the request path starts with /plain/ (the same files, not isolated: tests the one-thread fallback).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { WEB_DIR, MODELS_DIR } from './models.mjs';

const MIME = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
};

function resolve(urlPath) {
  const p = decodeURIComponent(urlPath.split('?')[0]);
  const roots = [
    ['/models/', MODELS_DIR],
    ['/ort/', path.join(WEB_DIR, 'node_modules/onnxruntime-web/dist')],
    ['/', WEB_DIR],
  ];
  for (const [prefix, dir] of roots) {
    if (!p.startsWith(prefix)) continue;
    const full = path.resolve(dir, '.' + p.slice(prefix.length - 1));
    return full.startsWith(path.resolve(dir)) ? full : null; // no escaping the roots with ..
  }
  return null;
}

/** Starts the server on an ephemeral port; resolves to { url, close() }. */
export function startServer() {
  const server = http.createServer((req, res) => {
    let urlPath = req.url;
    const isolated = !urlPath.startsWith('/plain/');
    if (!isolated) urlPath = urlPath.slice('/plain'.length);
    if (urlPath === '/' || urlPath === '') urlPath = '/test/page.html';
    const file = resolve(urlPath);
    const headers = { 'Cache-Control': 'no-store' };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, headers);
      res.end('not found');
      return;
    }
    headers['Content-Type'] = MIME[path.extname(file)] || 'application/octet-stream';
    headers['Content-Length'] = fs.statSync(file).size;
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) })
    )
  );
}
