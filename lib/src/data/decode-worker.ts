/**
 * Worker thread for loadDataset: decodes batches of encoded images with the JS fast path (decodeFast).
 * Message in: { id, images: Uint8Array[] }; out: { id, pixels: Uint8Array (n*2304), ok: Uint8Array (n) }.
 * Images the fast path does not handle come back with ok=0 and the main thread gives them to sharp.
 */
import { parentPort } from 'worker_threads';
import { PIXELS_PER_IMAGE } from '../emotions';
import { decodeFast } from './decode';

export interface DecodeRequest {
  id: number;
  images: Uint8Array[];
}
export interface DecodeReply {
  id: number;
  pixels: Uint8Array;
  ok: Uint8Array;
}

parentPort?.on('message', (msg: DecodeRequest) => {
  const n = msg.images.length;
  const pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = decodeFast(msg.images[i]);
    if (p) {
      pixels.set(p, i * PIXELS_PER_IMAGE);
      ok[i] = 1;
    }
  }
  const reply: DecodeReply = { id: msg.id, pixels, ok };
  parentPort?.postMessage(reply, [pixels.buffer, ok.buffer]);
});
