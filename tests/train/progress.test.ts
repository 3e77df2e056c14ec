import { PassThrough } from 'stream';
import type * as tf from '@tensorflow/tfjs';
import { progressBar, ProgressOptions } from '../../lib/src/train/callbacks';

/** A non-terminal stream (as when `fer train` is redirected to a log file) and what was written to it. */
function logStream(): { stream: NodeJS.WriteStream; text: () => string } {
  const pass = new PassThrough();
  let text = '';
  pass.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  return { stream: pass as unknown as NodeJS.WriteStream, text: () => text };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function oneEpoch(options: ProgressOptions): Promise<string> {
  const { stream, text } = logStream();
  const bar = progressBar(stream, options);
  bar.onEpochStart!(2, 45, 396, 0);
  bar.onBatch!({ epoch: 2, epochs: 45, batch: 120, batches: 396, loss: 1.23456, acc: 0.6789, imagesPerSecond: 38.2, lr: 1e-3 });
  await sleep(120);
  await bar.onEpoch!({
    record: { epoch: 3, trainLoss: 1.2, trainAcc: 0.68, valLoss: 0.9, valAcc: 0.675, lr: 9e-4, seconds: 700, imagesPerSecond: 38.2 },
    epochs: 45, isBest: true, model: {} as tf.LayersModel, // the bar does not read the model
  });
  await sleep(10);
  return text();
}

describe('progressBar into a log file', () => {
  test('writes a plain progress line now and then, then the epoch line', async () => {
    const text = await oneEpoch({ nonTtyEverySeconds: 0.03 });
    const progress = text.split('\n').filter((l) => l.startsWith('epoch 3/45 batch 120/396'));
    expect(progress.length).toBeGreaterThanOrEqual(2); // the schedule repeats
    expect(progress[0]).toMatch(/loss 1\.2346 acc 0\.679 \| 38\.2 img\/s \| ETA/);
    expect(text).not.toMatch(/[░█]/); // no bar characters in a file
    expect(text).toMatch(/epoch 3\/45: loss 1\.2000 acc 0\.6800 \| val loss 0\.9000 acc 0\.6750 .*\| best\n$/);
  });

  test('stop() ends the schedule (an error mid-epoch must not leave a timer keeping the process alive)', async () => {
    const { stream, text } = logStream();
    const bar = progressBar(stream, { nonTtyEverySeconds: 0.02 });
    bar.onEpochStart!(0, 3, 10, 0);
    await sleep(50);
    bar.stop();
    const atStop = text().length;
    expect(atStop).toBeGreaterThan(0);
    await sleep(80);
    expect(text().length).toBe(atStop);
  });

  test('nonTtyEverySeconds 0 writes only the epoch line', async () => {
    const text = await oneEpoch({ nonTtyEverySeconds: 0 });
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    expect(text).toMatch(/^epoch 3\/45: loss 1\.2000/);
  });
});
