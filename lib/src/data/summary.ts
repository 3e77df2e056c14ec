/** What `fer data` prints: counts per split and class plus the audit counts, as JSON or as text. */
import type { AuditCounts, AuditReport } from './audit';
import { auditDataset } from './audit';
import { classCounts, Dataset, SPLIT_NAMES, splitIndices, SplitName } from './dataset';

export interface DatasetSummary {
  format: string;
  /** Only splits that have images, each with a count per class name. */
  splits: Partial<Record<SplitName, Record<string, number>>>;
  audit: AuditCounts;
}

export function summarizeDataset(ds: Dataset, report: AuditReport = auditDataset(ds)): DatasetSummary {
  const splits: Partial<Record<SplitName, Record<string, number>>> = {};
  for (const name of SPLIT_NAMES) {
    const idx = splitIndices(ds, name);
    if (idx.length === 0) continue;
    const counts = classCounts(ds, idx);
    splits[name] = Object.fromEntries(ds.classes.map((c, i) => [c, counts[i]]));
  }
  return { format: ds.format, splits, audit: report.counts };
}

/** A plain-text table of the summary (plus bad files and warnings, at most `maxListed` each). */
export function formatSummary(ds: Dataset, summary: DatasetSummary, maxListed = 10): string {
  const lines: string[] = [`${ds.source}`, `format: ${summary.format}, ${ds.size} images, ${ds.classes.length} classes`];
  const names = Object.keys(summary.splits) as SplitName[];
  const width = Math.max(8, ...ds.classes.map((c) => c.length));
  lines.push('', ['class'.padEnd(width), ...names.map((n) => n.padStart(8))].join(' '));
  for (const c of ds.classes) lines.push([c.padEnd(width), ...names.map((n) => String(summary.splits[n]?.[c] ?? 0).padStart(8))].join(' '));
  const totals = names.map((n) => String(Object.values(summary.splits[n] ?? {}).reduce((a, b) => a + b, 0)).padStart(8));
  lines.push(['total'.padEnd(width), ...totals].join(' '));
  const a = summary.audit;
  lines.push(
    '',
    'audit:',
    `  duplicates (extra copies of an identical image; one copy per group not counted): ${a.duplicates}`,
    `  cross-split duplicates (copies in another split, e.g. train copies of test images): ${a.crossSplitDuplicates}`,
    `  duplicate groups with conflicting labels: ${a.conflictingLabels}`,
    `  blank/flat images: ${a.blank}`,
    `  unreadable files or rows (skipped): ${a.unreadable}`,
  );
  for (const [reason, n] of Object.entries(ds.dropped ?? {})) lines.push(`  left out by label rule (${reason}): ${n}`);
  const list = (title: string, items: Array<{ file: string; reason: string }>): void => {
    if (!items.length) return;
    lines.push('', `${title}:`);
    for (const b of items.slice(0, maxListed)) lines.push(`  ${b.file}: ${b.reason}`);
    if (items.length > maxListed) lines.push(`  ... and ${items.length - maxListed} more`);
  };
  list('skipped', ds.bad);
  list('warnings', ds.warnings ?? []);
  return lines.join('\n');
}
