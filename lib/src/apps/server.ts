/**
 * `fer serve`: a small HTTP server (node:http).
 *   GET  /            upload page (pick an image, see the annotated result and the JSON)
 *   POST /predict     image bytes -> {"file", "faces": [...]} (the `fer predict --json` element)
 *   POST /annotate    image bytes -> annotated JPEG
 *   GET  /health      {"ok": true, "classes": [...]}
 */
import * as http from 'http';
import { FerError, errorMessage } from '../errors';
import { encodeImage, loadImage, LoadImageOptions } from '../faces/image';
import { AnnotateOptions, drawAnnotations } from './annotate';
import { FacePipeline, FileResultJson, toFaceJson } from './pipeline';

export interface ServerOptions {
  /** Largest upload in bytes, default 20 MB. */
  maxBytes?: number;
  load?: LoadImageOptions;
  annotate?: AnnotateOptions;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new HttpError(413, `upload larger than ${maxBytes} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

const sendJson = (res: http.ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

export function uploadPage(): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>fer-lab</title>
<style>body{font-family:system-ui,sans-serif;margin:24px}img{max-width:100%;max-height:70vh;border:1px solid #ccc}pre{background:#f4f4f4;padding:8px;max-height:40vh;overflow:auto}</style>
</head><body>
<h1>fer-lab: facial expression recognition</h1>
<p>Pick a photo; it is sent to this server only (POST /predict and /annotate).</p>
<input type="file" id="file" accept="image/*">
<p id="status"></p>
<img id="out" alt="">
<pre id="json"></pre>
<script>
const file = document.getElementById('file');
file.addEventListener('change', async () => {
  const f = file.files[0];
  if (!f) return;
  const status = document.getElementById('status');
  status.textContent = 'Analysing ' + f.name + ' ...';
  const headers = { 'content-type': 'application/octet-stream', 'x-filename': encodeURIComponent(f.name) };
  const [p, a] = await Promise.all([
    fetch('predict', { method: 'POST', body: f, headers }),
    fetch('annotate', { method: 'POST', body: f, headers }),
  ]);
  const result = await p.json();
  document.getElementById('json').textContent = JSON.stringify(result, null, 2);
  if (a.ok) document.getElementById('out').src = URL.createObjectURL(await a.blob());
  status.textContent = result.error ? 'Error: ' + result.error : result.faces.length + ' face(s) found';
});
</script>
</body></html>
`;
}

/** The file name a client sent (URI-encoded x-filename header); a malformed one is used as sent, never thrown. */
export function uploadName(header: string | string[] | undefined): string {
  const raw = (Array.isArray(header) ? header[0] : header) ?? 'upload';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Create (not start) the server; call .listen(port) on it. */
export function createFerServer(pipeline: FacePipeline, options: ServerOptions = {}): http.Server {
  const maxBytes = options.maxBytes ?? 20 * 1024 * 1024;
  return http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const name = uploadName(req.headers['x-filename']);
      try {
        if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) return send(res, 200, 'text/html; charset=utf-8', uploadPage());
        if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { ok: true, classes: pipeline.classifier.classes, detector: pipeline.detector.name });
        if (url.pathname !== '/predict' && url.pathname !== '/annotate') throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
        if (req.method !== 'POST') throw new HttpError(405, `${url.pathname} takes POST with the image bytes as the body`);
        const body = await readBody(req, maxBytes);
        if (body.length === 0) throw new HttpError(400, 'empty body: POST the image bytes');
        const image = await loadImage(body, { ...options.load, name });
        const results = await pipeline.analyze(image);
        if (url.pathname === '/predict') {
          const out: FileResultJson = { file: name, faces: results.map(toFaceJson) };
          return sendJson(res, 200, out);
        }
        const drawn = await drawAnnotations(image, results, { ...options.annotate, inPlace: true });
        return send(res, 200, 'image/jpeg', await encodeImage(drawn, 'jpeg'));
      } catch (err) {
        const status = err instanceof HttpError ? err.status : err instanceof FerError ? 400 : 500;
        const out: FileResultJson = { file: name, faces: [], error: errorMessage(err) };
        if (!res.headersSent) sendJson(res, status, out);
        else res.destroy();
      }
    })();
  });
}
