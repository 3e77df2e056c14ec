import { computeMetrics } from '../../lib/src/metrics/classification';
import { confusionMatrixFigure, probabilityBarsFigure, trainingCurvesFigure } from '../../lib/src/viz/figures';
import { plotlyHtml, plotlyPage, toPlotly } from '../../lib/src/viz/plotly';
import { EMOTIONS } from '../../lib/src/emotions';

const m = computeMetrics([0, 1], new Float32Array([1, 0, 0, 1]), ['a', 'b']);

describe('plotly conversion', () => {
  it('heatmap: z, labels, line breaks as <br>, first class on top', () => {
    const { data, layout } = toPlotly(confusionMatrixFigure(m));
    expect(data[0].type).toBe('heatmap');
    expect(data[0].z).toEqual([[1, 0], [0, 1]]);
    expect((data[0].text as string[][])[0][0]).toBe('100%<br>(1)');
    expect((layout.yaxis as { autorange: string }).autorange).toBe('reversed');
  });

  it('multi-panel charts get their own axes; NaN becomes null (a gap)', () => {
    const f = trainingCurvesFigure([
      { epoch: 1, trainLoss: 1, trainAcc: 0.5, valAcc: NaN, lr: 1e-3 },
      { epoch: 2, trainLoss: 0.8, trainAcc: 0.6, valAcc: 0.55, lr: 1e-3 },
    ]);
    const { data, layout } = toPlotly(f);
    expect(data.map((d) => d.xaxis)).toEqual(['x', 'x2', 'x2', 'x3']);
    expect(data[2].y).toEqual([null, 0.55]);
    expect((layout.yaxis3 as { type: string }).type).toBe('log');
    expect((layout.xaxis2 as { domain: number[] }).domain[0]).toBeGreaterThan(0.3);
  });

  it('horizontal bars swap x and y', () => {
    const { data } = toPlotly(probabilityBarsFigure([0.2, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1], EMOTIONS));
    expect(data[0].orientation).toBe('h');
    expect(data[0].y).toEqual([...EMOTIONS]);
  });
});

describe('plotlyHtml', () => {
  it('inlines plotly.js once per process, nothing from a CDN', () => {
    const first = plotlyHtml(confusionMatrixFigure(m));
    const second = plotlyHtml(confusionMatrixFigure(m));
    expect(first.length).toBeGreaterThan(1_000_000);
    expect(first).toMatch(/window\.Plotly\s*=/);
    expect(second.length).toBeLessThan(10_000);
    expect(second).toContain('window.Plotly.newPlot');
    expect(second).not.toMatch(/<script[^>]+src=/);
    // the inlined library cannot close its script tag early
    expect((first.match(/<\/script>/g) ?? []).length).toBe(2);
    expect(plotlyHtml(confusionMatrixFigure(m), { includePlotlyJs: 'always' }).length).toBeGreaterThan(1_000_000);
  });

  it('escapes < in figure data', () => {
    const f = confusionMatrixFigure(m, { title: '</script><b>x' });
    const html = plotlyHtml(f, { includePlotlyJs: 'never' });
    expect(html).not.toContain('</script><b>');
    expect(html).toContain('\\u003c/script>');
  });

  it('builds a standalone page', () => {
    const page = plotlyPage([confusionMatrixFigure(m), confusionMatrixFigure(m)], 'eval');
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect((page.match(/newPlot/g) ?? []).length).toBeGreaterThanOrEqual(2);
  });
});

describe('showFigure', () => {
  it('sends Plotly HTML, a PNG, or both to the notebook display', async () => {
    const { showFigure } = await import('../../lib/src/viz/notebook');
    const shown: string[] = [];
    const display = { html: (h: string) => shown.push(h.includes('newPlot') ? 'html' : 'bad'), png: (b: Uint8Array) => shown.push(b[1] === 0x50 ? 'png' : 'bad') };
    await showFigure(confusionMatrixFigure(m), display);
    await showFigure(confusionMatrixFigure(m), display, { mode: 'static' });
    await showFigure(confusionMatrixFigure(m), display, { mode: 'both' });
    expect(shown).toEqual(['html', 'png', 'html', 'png']);
  });
});
