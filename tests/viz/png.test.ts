import sharp from 'sharp';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EMOTIONS } from '../../lib/src/emotions';
import { computeMetrics } from '../../lib/src/metrics/classification';
import { confusionMatrixFigure, perClassFigure, trainingCurvesFigure } from '../../lib/src/viz/figures';
import { renderPng, renderSvg, savePng } from '../../lib/src/viz/png';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function metrics() {
  const labels = [0, 1, 2, 3, 4, 5, 6, 3, 3, 0];
  const probs = new Float32Array(labels.length * 7).fill(0.05);
  labels.forEach((y, i) => (probs[i * 7 + ((y + (i % 3 === 0 ? 1 : 0)) % 7)] = 0.7));
  return computeMetrics(labels, probs, EMOTIONS);
}

describe('PNG rendering (ECharts SSR -> sharp)', () => {
  it('renders a heatmap to a valid PNG of the figure size, with class names in the SVG', async () => {
    const fig = confusionMatrixFigure(metrics());
    const svg = renderSvg(fig);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const c of EMOTIONS) expect(svg).toContain(`>${c}<`);
    const png = await renderPng(fig);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([fig.width, fig.height]);
    // not blank: the diagonal cells are dark
    const stats = await sharp(png).stats();
    expect(stats.channels[0].min).toBeLessThan(60);
    expect(stats.channels[0].max).toBe(255);
  });

  it('scales and writes atomically', async () => {
    const fig = perClassFigure(metrics(), { width: 400, height: 300 });
    const meta = await sharp(await renderPng(fig, { scale: 2 })).metadata();
    expect([meta.width, meta.height]).toEqual([800, 600]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-png-'));
    const file = path.join(dir, 'curves.png');
    await savePng(trainingCurvesFigure([{ epoch: 1, trainLoss: 1, trainAcc: 0.5, lr: 1e-3 }, { epoch: 2, trainLoss: 0.7, trainAcc: 0.6, lr: 5e-4 }]), file);
    expect(fs.readdirSync(dir)).toEqual(['curves.png']);
    expect((await sharp(file).metadata()).format).toBe('png');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
