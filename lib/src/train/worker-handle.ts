/** Request/reply over a worker thread, shared by the TF.js (parallel.ts) and onnxruntime (ort/pool.ts) workers. */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { FerError, errorMessage } from '../errors';

/** A compiled worker script under lib/dist/train (`relative`, e.g. 'ort/worker.js'), also when this file runs from sources. */
export function workerScript(relative: string): string {
  const here = path.join(__dirname, relative);
  if (fs.existsSync(here)) return here;
  const dist = path.resolve(__dirname, '..', '..', 'dist', 'train', relative);
  if (fs.existsSync(dist)) return dist;
  throw new FerError(`Data-parallel training needs the built worker script (${dist}): run \`npx tsc -p lib\` first.`);
}

/** One request at a time; a reply { type: 'error', message } or a crashed worker rejects it. */
export class WorkerHandle<Request, Reply extends { type: string }> {
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  readonly worker: Worker;
  /** `what` names the worker in errors (e.g. 'onnxruntime worker 1 of 2 (vgg-compact)'). */
  constructor(script: string, private readonly what = 'Training worker') {
    this.worker = new Worker(script);
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (reply.type === 'error') p.reject(new FerError(`${this.what} failed: ${(reply as unknown as { message: string }).message} (train without worker threads: --workers 1).`));
      else p.resolve(reply);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new FerError(`${this.what} exited with code ${code} (out of memory?); train without worker threads: --workers 1.`));
    });
  }
  private fail(err: unknown): void {
    this.failure = err instanceof Error ? err : new Error(errorMessage(err));
    this.pending?.reject(this.failure);
    this.pending = undefined;
  }
  request(message: Request, transfer?: ArrayBuffer[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
