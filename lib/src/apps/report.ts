/** Batch reports: predictions.json, predictions.csv and summary.html, each written atomically. */
import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { emotionColor } from './annotate';
import type { FileResultJson } from './pipeline';

/** A file's result plus where its annotated copy went (relative to the report folder). */
export interface ReportEntry extends FileResultJson {
  annotated?: string;
}

/** The --json / predictions.json form of entries: exactly file, faces, and error when there is one. */
export function toJsonResults(entries: readonly FileResultJson[]): FileResultJson[] {
  return entries.map(({ file, faces, error }) => (error === undefined ? { file, faces } : { file, faces, error }));
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per face; a file without faces (or with an error) gets one row with empty face columns and a note. */
export function predictionsCsv(entries: readonly ReportEntry[], classes: readonly string[]): string {
  const header = ['file', 'face', 'x', 'y', 'width', 'height', 'emotion', 'confidence', ...classes, 'note'];
  const rows = [header.join(',')];
  for (const e of entries) {
    if (e.error !== undefined || e.faces.length === 0) {
      const note = e.error ?? 'no face found';
      rows.push([e.file, '', '', '', '', '', '', '', ...classes.map(() => ''), note].map(csvCell).join(','));
      continue;
    }
    e.faces.forEach((f, i) => {
      const cells = [e.file, i, f.box.x, f.box.y, f.box.width, f.box.height, f.emotion, f.confidence, ...classes.map((c) => f.scores[c] ?? ''), ''];
      rows.push(cells.map(csvCell).join(','));
    });
  }
  return rows.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A self-contained page: counts per emotion (bars), then a grid of annotated thumbnails with their results. */
export function summaryHtml(entries: readonly ReportEntry[], classes: readonly string[], title = 'fer predict'): string {
  const counts = new Map<string, number>(classes.map((c) => [c, 0]));
  let faces = 0;
  let errors = 0;
  let noFace = 0;
  for (const e of entries) {
    if (e.error !== undefined) errors++;
    else if (e.faces.length === 0) noFace++;
    for (const f of e.faces) {
      counts.set(f.emotion, (counts.get(f.emotion) ?? 0) + 1);
      faces++;
    }
  }
  const max = Math.max(1, ...counts.values());
  const bars = [...counts]
    .map(
      ([c, n]) =>
        `<tr><td>${esc(c)}</td><td class="n">${n}</td><td><div class="bar" style="width:${(240 * n) / max}px;background:${emotionColor(c)}"></div></td></tr>`,
    )
    .join('\n');
  const cards = entries
    .map((e) => {
      const img = e.annotated ? `<a href="${esc(encodeURI(e.annotated))}"><img src="${esc(encodeURI(e.annotated))}" loading="lazy" alt=""></a>` : '<div class="none">no image</div>';
      const what =
        e.error !== undefined
          ? `<span class="err">${esc(e.error)}</span>`
          : e.faces.length === 0
            ? 'no face found'
            : e.faces.map((f) => `<span style="color:${emotionColor(f.emotion)}">&#9632;</span> ${esc(f.emotion)} ${(f.confidence * 100).toFixed(0)}%`).join('<br>');
      return `<figure>${img}<figcaption><b>${esc(path.basename(e.file))}</b><br>${what}</figcaption></figure>`;
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse}td{padding:2px 8px}td.n{text-align:right}
.bar{height:14px;border-radius:2px}
.grid{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
figure{margin:0;width:220px;font-size:13px}figure img{width:220px;height:auto;border:1px solid #ccc}
.err{color:#b00020}.none{width:220px;height:120px;background:#eee;display:flex;align-items:center;justify-content:center;color:#777}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${entries.length} files, ${faces} faces, ${noFace} without a face, ${errors} errors.</p>
<h2>Faces per emotion</h2>
<table>${bars}</table>
<h2>Images</h2>
<div class="grid">
${cards}
</div>
</body></html>
`;
}

/** Write predictions.json (the --json array), predictions.csv and summary.html into outDir; returns their paths. */
export function writeReports(outDir: string, entries: readonly ReportEntry[], classes: readonly string[]): string[] {
  const json = path.join(outDir, 'predictions.json');
  const csv = path.join(outDir, 'predictions.csv');
  const html = path.join(outDir, 'summary.html');
  writeJsonAtomic(json, toJsonResults(entries));
  writeFileAtomic(csv, predictionsCsv(entries, classes));
  writeFileAtomic(html, summaryHtml(entries, classes));
  return [json, csv, html];
}
