import { auditDataset, dropAuditFindings } from '../../lib/src/data/audit';
import { flat, memoryDataset, pattern } from './fixtures';

// 0: a train        1: a train (dup, same label)   2: a test (the copy kept: test wins)
// 3: b train label 1  4: b train label 2 (conflict)  5: c train  6: black   7: almost flat (max-min 3)
// 8: low contrast but not flat (max-min 20)           9: white
function fixture() {
  const a = pattern(1);
  const b = pattern(2);
  const low = flat(100);
  low[0] = 80;
  const nearly = flat(50);
  nearly[5] = 53;
  return memoryDataset([
    { pixels: a, label: 0, split: 'train' },
    { pixels: a, label: 0, split: 'train' },
    { pixels: a, label: 0, split: 'test' },
    { pixels: b, label: 1, split: 'train' },
    { pixels: b, label: 2, split: 'train' },
    { pixels: pattern(3), label: 3, split: 'train' },
    { pixels: flat(0), label: 4, split: 'train' },
    { pixels: nearly, label: 5, split: 'train' },
    { pixels: low, label: 6, split: 'test' },
    { pixels: flat(255), label: 6, split: 'train' },
  ]);
}

describe('auditDataset', () => {
  test('finds duplicate groups (test copy kept), cross-split copies, conflicts, blank images', () => {
    const ds = fixture();
    ds.bad = [{ file: 'x.jpg', reason: 'not a readable image' }];
    const r = auditDataset(ds);
    expect(r.groups.map((g) => g.indices)).toEqual([[2, 0, 1], [3, 4]]);
    expect(r.duplicates).toEqual([0, 1, 4]);
    expect(r.crossSplit).toEqual([0, 1]);
    expect(r.conflicting).toEqual([3, 4]);
    expect(r.blank).toEqual([6, 7, 9]);
    expect(r.counts).toEqual({ duplicates: 3, crossSplitDuplicates: 2, conflictingLabels: 1, blank: 3, unreadable: 1 });
  });

  test('blankThreshold changes what counts as flat', () => {
    expect(auditDataset(fixture(), { blankThreshold: 1 }).blank).toEqual([6, 9]);
    expect(auditDataset(fixture(), { blankThreshold: 21 }).blank).toEqual([6, 7, 8, 9]);
  });

  test('dropAuditFindings removes exactly the chosen findings', () => {
    const ds = fixture();
    expect(dropAuditFindings(ds, {}).size).toBe(10);
    const noDup = dropAuditFindings(ds, { duplicates: true });
    expect(noDup.files).toEqual(['img2', 'img3', 'img5', 'img6', 'img7', 'img8', 'img9']);
    expect(auditDataset(noDup).counts.duplicates).toBe(0);
    expect(dropAuditFindings(ds, { crossSplit: true }).files).not.toContain('img0');
    expect(dropAuditFindings(ds, { crossSplit: true }).files).toContain('img2');
    expect(dropAuditFindings(ds, { crossSplit: true }).files).toContain('img4');
    const all = dropAuditFindings(ds, { duplicates: true, conflicting: true, blank: true });
    expect(all.files).toEqual(['img2', 'img5', 'img8']);
    expect(Array.from(all.labels)).toEqual([0, 3, 6]);
    expect(all.split).toEqual(['test', 'train', 'test']);
  });
});
