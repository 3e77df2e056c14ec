import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { register } from '../../lib/src/cli/train';
import { formatFer2013Csv } from '../../lib/src/data';
import { syntheticDataset, tmpDir } from './helpers';

/** Run `fer train ...args` in-process; returns what it printed to stdout. */
async function fer(args: string[]): Promise<string> {
  const program = new Command('fer').exitOverride();
  register(program);
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'fer', 'train', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('fer train', () => {
  const dir = tmpDir('fer-cli-');
  const csv = path.join(dir, 'fer2013.csv');
  beforeAll(() => {
    process.env.FER_CACHE_DIR = path.join(dir, 'cache');
    const ds = syntheticDataset(7, 8, 0, 3);
    const rows = Array.from({ length: ds.size }, (_, i) => ({
      label: ds.labels[i], pixels: ds.pixels.subarray(i * 2304, (i + 1) * 2304), split: (i % 8 === 7 ? 'test' : 'train') as 'test' | 'train',
    }));
    fs.writeFileSync(csv, formatFer2013Csv(rows));
  });

  test('trains from flags, prints backend and images/s, resumes with --resume alone', async () => {
    const out = path.join(dir, 'run');
    const common = ['--data', csv, '--out', out, '--backend', 'wasm'];
    const text = await fer([...common, '--arch', 'vgg-small', '--epochs', '1', '--batch-size', '8', '--max-train', '24', '--lr', '0.002', '--mixup', '0.2']);
    expect(text).toMatch(/TF\.js backend: wasm/);
    expect(text).toMatch(/[\d.]+ images\/s on onnxruntime/); // --engine auto: vgg-small trains on onnxruntime
    expect(text).toMatch(/Best validation accuracy/);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ arch: 'vgg-small', epochs: 1, batchSize: 8, maxTrain: 24, lr: 0.002, mix: { mixupAlpha: 0.2 } });
    for (const f of ['history.json', 'history.csv', 'best/model.json', 'best/meta.json', 'last/state.json', 'last/optimizer.bin']) {
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    // --resume picks up arch, lr, batch size ... from the saved run; only --epochs changes
    const again = await fer([...common, '--resume', '--epochs', '2']);
    expect(again).toMatch(/Done: 2 epoch\(s\)/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'history.json'), 'utf8'))).toHaveLength(2);
  });

  test('bad flags are errors', async () => {
    await expect(fer(['--data', csv, '--batch-size', '0', '--out', path.join(dir, 'x')])).rejects.toThrow(/batchSize=0/);
    await expect(fer(['--data', csv, '--arch', 'nope', '--out', path.join(dir, 'y')])).rejects.toThrow(/arch="nope"/);
    await expect(fer(['--data', csv, '--lr', 'fast'])).rejects.toThrow(/not a number/);
  });
});
