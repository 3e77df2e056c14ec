/**
 * Ctrl-C on a real `fer train` process: the run saves out/last and exits cleanly (exit code 0), and --resume can
 * continue it. Uses the built lib (lib/dist), like the other CLI process tests.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { formatFer2013Csv } from '../../lib/src/data';
import { syntheticDataset, tmpDir } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');

test('SIGINT saves the last checkpoint and exits cleanly', async () => {
  const dir = tmpDir('fer-sigint-');
  const csv = path.join(dir, 'fer2013.csv');
  const ds = syntheticDataset(7, 30, 0, 4);
  fs.writeFileSync(csv, formatFer2013Csv(Array.from({ length: ds.size }, (_, i) => ({
    label: ds.labels[i], pixels: ds.pixels.subarray(i * 2304, (i + 1) * 2304), split: 'train' as const,
  }))));
  const out = path.join(dir, 'run');
  const script = `
    const { Command } = require('commander');
    const program = new Command('fer');
    require(${JSON.stringify(path.join(ROOT, 'lib', 'dist', 'cli', 'train'))}).register(program);
    program.parseAsync(process.argv).catch((e) => { console.error('fer: ' + e.message); process.exitCode = 1; });`;
  const child = spawn(process.execPath, ['-e', script, 'fer', 'train', '--data', csv, '--out', out, '--arch', 'vgg-small',
    '--epochs', '50', '--batch-size', '8', '--backend', 'wasm'], { env: { ...process.env, FER_CACHE_DIR: path.join(dir, 'cache') } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // wait until training has started (config.json is written right before the first batch), then Ctrl-C
  const started = Date.now();
  while (!fs.existsSync(path.join(out, 'config.json'))) {
    if (Date.now() - started > 60_000 || child.exitCode !== null) throw new Error(`training did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(stderr).toMatch(/Stopping: saving the last checkpoint/);
  expect(code).toBe(0);
  expect(stdout).toMatch(/Interrupted: \d+ epoch\(s\)/);
  const state = JSON.parse(fs.readFileSync(path.join(out, 'last', 'state.json'), 'utf8'));
  expect(state.epoch).toBeLessThan(50);
  expect(fs.existsSync(path.join(out, 'last', 'optimizer.bin'))).toBe(true);
  expect(stdout).toMatch(new RegExp(`Interrupted: ${state.epoch} epoch`));
});

test('a second SIGINT stops the process by the signal; the first only aborts', async () => {
  // a process that installs the handler and then waits: the first Ctrl-C must abort the controller and leave the
  // process running, the second must end it as SIGINT would without a handler
  const script = `
    const { abortOnSigint } = require(${JSON.stringify(path.join(ROOT, 'lib', 'dist', 'train', 'callbacks'))});
    const controller = new AbortController();
    abortOnSigint(controller, () => console.log('first'));
    controller.signal.addEventListener('abort', () => console.log('aborted'));
    setInterval(() => {}, 1000);
    console.log('ready');`;
  const child = spawn(process.execPath, ['-e', script]);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = async (text: string) => {
    const started = Date.now();
    while (!stdout.includes(text)) {
      if (Date.now() - started > 20_000 || child.exitCode !== null) throw new Error(`no "${text}" in ${stdout}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor('ready');
  child.kill('SIGINT');
  await waitFor('aborted');
  expect(stdout).toMatch(/first\naborted/);
  expect(child.exitCode).toBeNull();
  child.kill('SIGINT');
  expect(await exited).toEqual({ code: null, signal: 'SIGINT' });
});
