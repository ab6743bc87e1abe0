// Corpus counts as a fold over item records: every record lands in exactly one of accepted /
// duplicate / rejected, near duplicates are a subset of accepted.
import type { CorpusCounts, ItemRecord } from '@mmit/contracts';

export function addToCounts(counts: CorpusCounts, record: ItemRecord): CorpusCounts {
  const next: CorpusCounts = { ...counts, rejectedByReason: { ...counts.rejectedByReason } };
  if (record.status === 'rejected') {
    next.rejected++;
    const reason = record.rejection?.type ?? 'internal';
    next.rejectedByReason[reason] = (next.rejectedByReason[reason] ?? 0) + 1;
    return next;
  }
  if (record.status === 'duplicate') {
    next.duplicate++;
    return next;
  }
  next.accepted++;
  if (record.image?.nearDuplicateOf) next.nearDuplicate++;
  if (record.modality === 'image') next.images++;
  else next.audio++;
  return next;
}
