/**
 * Drawing results onto images: a box per face, an "emotion NN%" label, probability bars for every class, an
 * optional FPS counter. One layout (a list of rectangles and texts) feeds two renderers: SVG (browsers, full-size
 * overlays) and a raster one that fills rectangles in JS and blits text sprites rendered once by sharp and cached,
 * so a video frame costs well under a millisecond once the cache is warm.
 */
import sharp from 'sharp';
import { EMOTION_COLORS } from '../emotions';
import type { RgbImage } from '../faces/types';
import type { FaceResult } from './pipeline';

export interface AnnotateOptions {
  /** Probability bars next to each face (default true). */
  bars?: boolean;
  /** "emotion NN%" above each box (default true). */
  labels?: boolean;
  /** Draw "FPS n" in the top-left corner when set. */
  fps?: number;
  /** Font family for librsvg; DejaVu Sans ships with most Linux systems. */
  font?: string;
}

export type Shape =
  | { kind: 'rect'; x: number; y: number; width: number; height: number; color: string; opacity: number }
  | { kind: 'frame'; x: number; y: number; width: number; height: number; color: string; stroke: number }
  | { kind: 'text'; x: number; y: number; size: number; color: string; text: string; anchor: 'start' | 'end' };

const FALLBACK_COLOR = '#00c853';
const DEFAULT_FONT = 'DejaVu Sans, Noto Sans, Arial, sans-serif';
const CHAR_W = 0.62; // average glyph advance / font size for DejaVu Sans
/** Font sizes are rounded to these so the sprite cache stays small. */
const FONT_STEPS = [10, 11, 12, 13, 14, 16, 18, 20, 22, 24, 26, 28];

export function emotionColor(name: string): string {
  return (EMOTION_COLORS as Record<string, string>)[name] ?? FALLBACK_COLOR;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const fontStep = (v: number): number => FONT_STEPS.reduce((best, s) => (Math.abs(s - v) < Math.abs(best - v) ? s : best));

/** Place every annotation for these faces inside a width x height image. */
export function layoutAnnotations(width: number, height: number, faces: readonly FaceResult[], options: AnnotateOptions = {}): Shape[] {
  const shapes: Shape[] = [];
  for (const face of faces) {
    const { x, y, width: w, height: h } = face.box;
    const side = Math.min(w, h);
    const color = emotionColor(face.emotion);
    const stroke = Math.max(2, Math.round(side / 80));
    shapes.push({ kind: 'frame', x, y, width: w, height: h, color, stroke });

    if (options.labels !== false) {
      const fs = fontStep(clamp(side / 9, 11, 26));
      const label = `${face.emotion} ${Math.round(face.confidence * 100)}%`;
      const lw = Math.ceil(label.length * fs * CHAR_W + fs * 0.6);
      const lh = Math.ceil(fs * 1.35);
      const lx = clamp(x - stroke / 2, 0, Math.max(0, width - lw));
      const ly = y - stroke / 2 - lh >= 0 ? y - stroke / 2 - lh : y + stroke / 2; // above the box, else inside
      shapes.push({ kind: 'rect', x: lx, y: ly, width: lw, height: lh, color, opacity: 1 });
      shapes.push({ kind: 'text', x: lx + fs * 0.3, y: ly + fs * 1.05, size: fs, color: '#111111', text: label, anchor: 'start' });
    }

    if (options.bars !== false) {
      const names = Object.keys(face.scores);
      const bfs = fontStep(clamp(side / 12, 10, 18));
      const rowH = Math.ceil(bfs * 1.3);
      const nameW = Math.ceil(Math.max(...names.map((n) => n.length)) * bfs * CHAR_W);
      const barW = bfs * 5;
      const pctW = Math.ceil(4 * bfs * CHAR_W);
      const pad = Math.ceil(bfs * 0.4);
      const pw = pad + nameW + pad + barW + pad + pctW + pad;
      const ph = pad * 2 + rowH * names.length;
      const gap = stroke + 4;
      // Right of the box, else left, else below, else above, else wherever it fits.
      let px: number;
      let py: number;
      if (x + w + gap + pw <= width) [px, py] = [x + w + gap, clamp(y, 0, Math.max(0, height - ph))];
      else if (x - gap - pw >= 0) [px, py] = [x - gap - pw, clamp(y, 0, Math.max(0, height - ph))];
      else if (y + h + gap + ph <= height) [px, py] = [clamp(x, 0, Math.max(0, width - pw)), y + h + gap];
      else if (y - gap - ph >= 0) [px, py] = [clamp(x, 0, Math.max(0, width - pw)), y - gap - ph];
      else [px, py] = [clamp(x + w + gap, 0, Math.max(0, width - pw)), clamp(y, 0, Math.max(0, height - ph))];
      shapes.push({ kind: 'rect', x: px, y: py, width: pw, height: ph, color: '#000000', opacity: 0.55 });
      names.forEach((name, r) => {
        const ry = py + pad + r * rowH;
        const p = clamp(face.scores[name], 0, 1);
        const bx = px + pad + nameW + pad;
        shapes.push({ kind: 'text', x: px + pad, y: ry + bfs * 0.95, size: bfs, color: '#ffffff', text: name, anchor: 'start' });
        shapes.push({ kind: 'rect', x: bx, y: ry + rowH * 0.15, width: barW, height: rowH * 0.7, color: '#ffffff', opacity: 0.18 });
        shapes.push({ kind: 'rect', x: bx, y: ry + rowH * 0.15, width: barW * p, height: rowH * 0.7, color: emotionColor(name), opacity: 1 });
        shapes.push({ kind: 'text', x: px + pw - pad, y: ry + bfs * 0.95, size: bfs, color: '#ffffff', text: `${Math.round(p * 100)}%`, anchor: 'end' });
      });
    }
  }
  if (options.fps !== undefined) {
    const fs = fontStep(clamp(Math.min(width, height) / 30, 12, 28));
    const label = `FPS ${options.fps.toFixed(1)}`;
    shapes.push({ kind: 'rect', x: 0, y: 0, width: Math.ceil(label.length * fs * CHAR_W + fs * 0.6), height: Math.ceil(fs * 1.4), color: '#000000', opacity: 0.6 });
    shapes.push({ kind: 'text', x: fs * 0.3, y: fs * 1.05, size: fs, color: '#00ff66', text: label, anchor: 'start' });
  }
  return shapes;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shapeSvg(s: Shape, font: string): string {
  const f = (v: number): string => v.toFixed(1);
  switch (s.kind) {
    case 'rect':
      return `<rect x="${f(s.x)}" y="${f(s.y)}" width="${f(s.width)}" height="${f(s.height)}" fill="${s.color}"${s.opacity < 1 ? ` fill-opacity="${s.opacity}"` : ''}/>`;
    case 'frame':
      return `<rect x="${f(s.x)}" y="${f(s.y)}" width="${f(s.width)}" height="${f(s.height)}" fill="none" stroke="${s.color}" stroke-width="${s.stroke}"/>`;
    case 'text':
      return `<text x="${f(s.x)}" y="${f(s.y)}" font-family="${font}" font-size="${s.size}" fill="${s.color}" text-anchor="${s.anchor}">${esc(s.text)}</text>`;
  }
}

/** A full-size transparent SVG overlay for these results (browsers, or sharp composite). */
export function overlaySvg(width: number, height: number, faces: readonly FaceResult[], options: AnnotateOptions = {}): string {
  const font = options.font ?? DEFAULT_FONT;
  const body = layoutAnnotations(width, height, faces, options).map((s) => shapeSvg(s, font)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
}

// ---- raster renderer -------------------------------------------------------------------------------------------

interface Sprite {
  rgba: Buffer;
  width: number;
  height: number;
  /** Baseline offset from the sprite's top, and the anchor's x offset from its left. */
  baseline: number;
  anchorX: number;
}

const SPRITE_LIMIT = 4096;
const sprites = new Map<string, Promise<Sprite>>();

function textSprite(text: string, size: number, color: string, anchor: 'start' | 'end', font: string): Promise<Sprite> {
  const key = `${font}|${size}|${color}|${anchor}|${text}`;
  let sprite = sprites.get(key);
  if (!sprite) {
    if (sprites.size >= SPRITE_LIMIT) sprites.clear();
    const width = Math.ceil(text.length * size * 0.75 + size);
    const height = Math.ceil(size * 1.4);
    const baseline = Math.round(size * 1.05);
    const anchorX = anchor === 'end' ? width - 1 : 1;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="${anchorX}" y="${baseline}" font-family="${font}" font-size="${size}" fill="${color}" text-anchor="${anchor}">${esc(text)}</text></svg>`;
    sprite = sharp(Buffer.from(svg), { density: 72 })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => ({ rgba: data, width: info.width, height: info.height, baseline, anchorX }));
    sprites.set(key, sprite);
    sprite.catch(() => sprites.delete(key));
  }
  return sprite;
}

function parseColor(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, color: string, opacity: number): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(img.width, Math.round(x + w));
  const y1 = Math.min(img.height, Math.round(y + h));
  if (x1 <= x0 || y1 <= y0) return;
  const [r, g, b] = parseColor(color);
  const d = img.data;
  for (let yy = y0; yy < y1; yy++) {
    let p = (yy * img.width + x0) * 3;
    for (let xx = x0; xx < x1; xx++, p += 3) {
      if (opacity >= 1) {
        d[p] = r;
        d[p + 1] = g;
        d[p + 2] = b;
      } else {
        d[p] += (r - d[p]) * opacity;
        d[p + 1] += (g - d[p + 1]) * opacity;
        d[p + 2] += (b - d[p + 2]) * opacity;
      }
    }
  }
}

function blit(img: RgbImage, s: Sprite, left: number, top: number): void {
  const d = img.data;
  for (let sy = 0; sy < s.height; sy++) {
    const y = top + sy;
    if (y < 0 || y >= img.height) continue;
    for (let sx = 0; sx < s.width; sx++) {
      const x = left + sx;
      if (x < 0 || x >= img.width) continue;
      const q = (sy * s.width + sx) * 4;
      const a = s.rgba[q + 3];
      if (a === 0) continue;
      const p = (y * img.width + x) * 3;
      const t = a / 255;
      d[p] += (s.rgba[q] - d[p]) * t;
      d[p + 1] += (s.rgba[q + 1] - d[p + 1]) * t;
      d[p + 2] += (s.rgba[q + 2] - d[p + 2]) * t;
    }
  }
}

/** Draw the results onto a copy of the image (or onto it when inPlace). */
export async function drawAnnotations(
  image: RgbImage,
  faces: readonly FaceResult[],
  options: AnnotateOptions & { inPlace?: boolean } = {},
): Promise<RgbImage> {
  const target: RgbImage = options.inPlace ? image : { ...image, data: new Uint8Array(image.data) };
  const font = options.font ?? DEFAULT_FONT;
  const shapes = layoutAnnotations(image.width, image.height, faces, options);
  const textSprites = await Promise.all(
    shapes.map((s) => (s.kind === 'text' ? textSprite(s.text, s.size, s.color, s.anchor, font) : undefined)),
  );
  shapes.forEach((s, i) => {
    if (s.kind === 'rect') fillRect(target, s.x, s.y, s.width, s.height, s.color, s.opacity);
    else if (s.kind === 'frame') {
      const t = s.stroke;
      fillRect(target, s.x - t / 2, s.y - t / 2, s.width + t, t, s.color, 1);
      fillRect(target, s.x - t / 2, s.y + s.height - t / 2, s.width + t, t, s.color, 1);
      fillRect(target, s.x - t / 2, s.y - t / 2, t, s.height + t, s.color, 1);
      fillRect(target, s.x + s.width - t / 2, s.y - t / 2, t, s.height + t, s.color, 1);
    } else {
      const sp = textSprites[i]!;
      blit(target, sp, Math.round(s.x - sp.anchorX), Math.round(s.y - sp.baseline));
    }
  });
  return target;
}
