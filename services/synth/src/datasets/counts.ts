// Running dataset counts: folded in part by part as the job publishes, and the plain-language
// warnings a finished manifest carries about what could not be made.
import type { BatchResult, DatasetCounts, DatasetManifest } from '@mmit/synth';

export function emptyCounts(): DatasetCounts {
  return {
    items: 0,
    itemsWithSamples: 0,
    samples: 0,
    turns: 0,
    byKind: {},
    bySplit: { train: 0, validation: 0 },
    outcomes: { ok: 0, partial: 0, skipped: 0, failed: 0, filtered: 0 },
    reasons: {},
  };
}

export function addBatch(counts: DatasetCounts, batch: BatchResult): DatasetCounts {
  const next = structuredClone(counts);
  for (const s of batch.samples) {
    next.samples++;
    next.turns += s.conversations.length / 2;
    next.byKind[s.kind] = (next.byKind[s.kind] ?? 0) + 1;
    next.bySplit[s.split]++;
  }
  for (const o of batch.outcomes) {
    next.items++;
    if (o.samples > 0) next.itemsWithSamples++;
    next.outcomes[o.status]++;
    for (const p of o.problems) next.reasons[p.reason] = (next.reasons[p.reason] ?? 0) + 1;
  }
  return next;
}

const REASON_TEXT: Record<string, string> = {
  no_captions: 'had no caption',
  non_target_language: 'had captions in another language',
  nothing_to_ask: 'gave the template nothing to ask about',
  llm_timeout: 'timed out at the LLM endpoint',
  llm_http_error: 'got HTTP errors from the LLM endpoint',
  llm_invalid_reply: 'got replies from the LLM that were not the asked-for JSON',
  llm_unreachable: 'could not reach the LLM endpoint',
  llm_budget_exhausted: 'were not generated because the request or token budget ran out',
  all_filtered: 'were removed entirely by the filters',
};

/** Notes on what the job could not make, for the manifest and the job result. */
export function warningsOf(manifest: Pick<DatasetManifest, 'counts' | 'totalItems'>): string[] {
  const { counts } = manifest;
  const out: string[] = [];
  if (counts.items > 0 && counts.reasons.no_captions === counts.items)
    out.push('the corpus has no captions: nothing could be made');
  else if (counts.samples === 0) out.push('no samples were made');
  for (const [reason, n] of Object.entries(counts.reasons)) {
    out.push(
      `${n} ${reason === 'no_captions' || reason === 'non_target_language' ? 'item(s)' : 'planned sample(s)'} ${REASON_TEXT[reason] ?? reason}`,
    );
  }
  return out;
}
