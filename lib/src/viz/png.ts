/** Figure spec -> SVG (ECharts server-side rendering, no browser) -> PNG (sharp). */
import * as echarts from 'echarts';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/fs';
import { toEchartsOption } from './echarts';
import type { Figure } from './spec';

/** The figure as an SVG document of fig.width x fig.height. */
export function renderSvg(fig: Figure): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: fig.width, height: fig.height });
  try {
    chart.setOption(toEchartsOption(fig));
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export interface PngOptions {
  /** Pixel density multiplier (default 1: the PNG is fig.width x fig.height; 2 for sharp README images). */
  scale?: number;
}

/** The figure as PNG bytes of (fig.width x fig.height) * scale. */
export async function renderPng(fig: Figure, options: PngOptions = {}): Promise<Buffer> {
  const scale = options.scale ?? 1;
  const svg = renderSvg(fig);
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Render and write atomically. */
export async function savePng(fig: Figure, file: string, options: PngOptions = {}): Promise<void> {
  writeFileAtomic(file, await renderPng(fig, options));
}
