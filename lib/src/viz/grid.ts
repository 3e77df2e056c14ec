/**
 * Image grids as PNG: 48x48 uint8 faces scaled up, captions and row labels drawn from one SVG overlay
 * (sharp composites everything; fonts come from fontconfig).
 */
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import { Dataset, imageAt, splitIndices, SplitName } from '../data/dataset';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../emotions';
import { FerError } from '../errors';
import type { MistakeGroup } from '../metrics/mistakes';
import { FONT_FAMILY } from './echarts';
import { classColor, classTextColor } from './figures';

export interface GridItem {
  /** One 48x48 grayscale image (2304 bytes). */
  pixels: Uint8Array;
  /** First caption line (bold). */
  label?: string;
  /** Second caption line. */
  sublabel?: string;
  /** Frame colour (and label colour unless labelColor). */
  color?: string;
  /** Label text colour. */
  labelColor?: string;
}

export interface GridOptions {
  /** Images per row (default 8). */
  columns?: number;
  /** Side of each image in pixels (default 96). */
  cellSize?: number;
  title?: string;
  /** A label at the left of each row. */
  rowLabels?: string[];
  rowLabelColors?: string[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PAD = 8;

/** Items fill rows left to right; null leaves a cell empty. Returns PNG bytes. */
export async function imageGrid(items: ReadonlyArray<GridItem | null>, options: GridOptions = {}): Promise<Buffer> {
  const columns = Math.max(1, options.columns ?? 8);
  const cell = options.cellSize ?? 96;
  const rows = Math.max(1, Math.ceil(items.length / columns));
  const lines = items.some((it) => it?.sublabel) ? 2 : items.some((it) => it?.label) ? 1 : 0;
  const captionH = lines * 15 + (lines ? 4 : 0);
  const titleH = options.title ? 36 : 0;
  const labelW = options.rowLabels?.length ? Math.max(80, 9 * Math.max(...options.rowLabels.map((l) => l.length)) + 16) : 0;
  const cellW = cell + PAD;
  const cellH = cell + captionH + PAD;
  const width = PAD + labelW + columns * cellW;
  const height = PAD + titleH + rows * cellH;

  const composites: OverlayOptions[] = [];
  const svg: string[] = [];
  const fontSize = Math.max(10, Math.min(13, Math.round(cell / 8)));
  if (options.title) {
    svg.push(`<text x="${width / 2}" y="${PAD + 20}" text-anchor="middle" font-size="17" font-weight="bold" fill="#222">${esc(options.title)}</text>`);
  }
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (!it) continue;
    if (it.pixels.length !== PIXELS_PER_IMAGE) {
      throw new FerError(`grid image ${i} has ${it.pixels.length} bytes; a 48x48 grayscale image has ${PIXELS_PER_IMAGE}`);
    }
    const r = Math.floor(i / columns);
    const c = i % columns;
    const left = PAD + labelW + c * cellW;
    const top = PAD + titleH + r * cellH;
    const tile = await sharp(Buffer.from(it.pixels), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
      .resize(cell, cell, { kernel: 'cubic' })
      .png()
      .toBuffer();
    composites.push({ input: tile, left, top });
    if (it.color) {
      svg.push(`<rect x="${left - 1.5}" y="${top - 1.5}" width="${cell + 3}" height="${cell + 3}" fill="none" stroke="${esc(it.color)}" stroke-width="3"/>`);
    }
    const cx = left + cell / 2;
    if (it.label) {
      svg.push(`<text x="${cx}" y="${top + cell + 15}" text-anchor="middle" font-size="${fontSize}" font-weight="bold" fill="${esc(it.labelColor ?? it.color ?? '#222')}">${esc(it.label)}</text>`);
    }
    if (it.sublabel) {
      svg.push(`<text x="${cx}" y="${top + cell + 30}" text-anchor="middle" font-size="${fontSize - 1}" fill="#444">${esc(it.sublabel)}</text>`);
    }
  }
  options.rowLabels?.forEach((label, r) => {
    const y = PAD + titleH + r * cellH + cell / 2 + 5;
    const color = options.rowLabelColors?.[r] ?? '#222';
    svg.push(`<text x="${PAD + labelW - 12}" y="${y}" text-anchor="end" font-size="14" font-weight="bold" fill="${esc(color)}">${esc(label)}</text>`);
  });
  const overlay =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT_FAMILY}">` +
    svg.join('') +
    '</svg>';
  composites.push({ input: Buffer.from(overlay), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Deterministic shuffle (mulberry32) so the same seed shows the same faces. */
function seededPick(indices: number[], k: number, seed: number): number[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const arr = indices.slice();
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr.slice(0, k);
}

export interface SamplesGridOptions {
  /** Images per class (default 8). */
  perClass?: number;
  /** Only this split (default: all images). */
  split?: SplitName;
  seed?: number;
  cellSize?: number;
  title?: string;
}

/** One row per class with random examples (seeded). */
export async function classSamplesGrid(ds: Dataset, options: SamplesGridOptions = {}): Promise<Buffer> {
  const perClass = options.perClass ?? 8;
  const pool = options.split ? splitIndices(ds, options.split) : Array.from({ length: ds.size }, (_, i) => i);
  const items: Array<GridItem | null> = [];
  const rowLabels: string[] = [];
  ds.classes.forEach((name, k) => {
    const ofClass = pool.filter((i) => ds.labels[i] === k);
    const picked = seededPick(ofClass, perClass, (options.seed ?? 0) + k);
    rowLabels.push(`${name} (${ofClass.length})`);
    for (let j = 0; j < perClass; j++) items.push(j < picked.length ? { pixels: imageAt(ds, picked[j]) } : null);
  });
  return imageGrid(items, {
    columns: perClass,
    cellSize: options.cellSize ?? 72,
    rowLabels,
    rowLabelColors: ds.classes.map(classTextColor),
    title: options.title ?? `Samples per class${options.split ? ` (${options.split})` : ''}`,
  });
}

export interface MistakesGridOptions {
  /** Confusion pairs shown, most frequent first (default 6). */
  pairs?: number;
  /** Images per pair (default 6). */
  perPair?: number;
  cellSize?: number;
  title?: string;
}

/** One row per (true, predicted) pair, the most frequent confusions first; images are the most confident mistakes. */
export async function mistakesGrid(
  ds: Pick<Dataset, 'pixels' | 'classes'>,
  groups: readonly MistakeGroup[],
  options: MistakesGridOptions = {},
): Promise<Buffer> {
  const perPair = options.perPair ?? 6;
  const shown = groups.slice(0, options.pairs ?? 6);
  const items: Array<GridItem | null> = [];
  for (const g of shown) {
    for (let j = 0; j < perPair; j++) {
      const m = g.examples[j];
      items.push(
        m
          ? {
              pixels: ds.pixels.subarray(m.index * PIXELS_PER_IMAGE, (m.index + 1) * PIXELS_PER_IMAGE),
              label: `${ds.classes[m.predicted]} ${Math.round(m.confidence * 100)}%`,
              sublabel: `#${m.index}, true ${Math.round(m.trueProbability * 100)}%`,
              color: classColor(ds.classes[m.predicted]),
              labelColor: classTextColor(ds.classes[m.predicted]),
            }
          : null,
      );
    }
  }
  return imageGrid(items.length ? items : [null], {
    columns: perPair,
    cellSize: options.cellSize ?? 80,
    rowLabels: shown.map((g) => `${ds.classes[g.trueClass]} → ${ds.classes[g.predicted]} (${g.count})`),
    rowLabelColors: shown.map((g) => classTextColor(ds.classes[g.trueClass])),
    title: options.title ?? (shown.length ? 'Most confident mistakes (true → predicted, count)' : 'No mistakes'),
  });
}

/** Rows = images, columns = views (e.g. ttaViews output or repeated augmenter calls); each view a batch. */
export async function viewsGrid(
  views: readonly Uint8Array[],
  options: { viewNames?: string[]; cellSize?: number; title?: string } = {},
): Promise<Buffer> {
  if (!views.length) throw new FerError('viewsGrid needs at least one view');
  const n = views[0].length / PIXELS_PER_IMAGE;
  const items: GridItem[] = [];
  for (let i = 0; i < n; i++) {
    views.forEach((v, k) =>
      items.push({
        pixels: v.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
        label: i === 0 ? options.viewNames?.[k] : undefined,
      }),
    );
  }
  return imageGrid(items, { columns: views.length, cellSize: options.cellSize ?? 72, title: options.title });
}
