// Dataset samples to training examples: the prompt template, truncation to maxSeqLen, and the
// counts of what was cut or left out (and why), which the run's state reports.

import type { RunDataCounts } from '@mmit/contracts';
import type { Tokenizer } from '@mmit/models';
import type { TrainExample } from './batching.js';
import type { DatasetSample } from './dataset.js';
import { encodeChat, encodePlain, TemplateError, type TemplateOptions, truncate } from './template.js';

export interface ExampleSets {
  train: TrainExample[];
  validation: TrainExample[];
  counts: RunDataCounts;
}

export function buildExamples(
  samples: DatasetSample[],
  tokenizer: Tokenizer,
  template: 'plain' | 'chat',
  options: TemplateOptions & {
    maxSeqLen: number;
    /** Why the run leaves a sample out before its template (coverage.ts: modality, features, media). */
    dropReason: (sample: DatasetSample) => string | undefined;
  },
): ExampleSets {
  const sets: ExampleSets = {
    train: [],
    validation: [],
    counts: { train: 0, validation: 0, truncated: 0, dropped: 0, dropReasons: {} },
  };
  const drop = (reason: string) => {
    sets.counts.dropped += 1;
    sets.counts.dropReasons[reason] = (sets.counts.dropReasons[reason] ?? 0) + 1;
  };
  for (const sample of samples) {
    const left = options.dropReason(sample);
    if (left !== undefined || !sample.media) {
      drop(left ?? 'no media');
      continue;
    }
    let encoded: ReturnType<typeof encodePlain>;
    try {
      encoded =
        template === 'plain'
          ? encodePlain(tokenizer, sample.conversations, options)
          : encodeChat(tokenizer, sample.conversations, options);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      drop(err.message);
      continue;
    }
    const cut = truncate(encoded, options.maxSeqLen, options.imageTokenId);
    if (!cut.sample) {
      drop(cut.reason);
      continue;
    }
    if (cut.truncated) sets.counts.truncated += 1;
    sets[sample.split].push({
      id: sample.id,
      media: sample.media,
      inputIds: Int32Array.from(cut.sample.inputIds),
      labels: Int32Array.from(cut.sample.labels),
    });
  }
  sets.counts.train = sets.train.length;
  sets.counts.validation = sets.validation.length;
  return sets;
}
