// Export formats, as streams of text chunks so a large dataset never sits in memory:
// - `llava`: one JSON array of LLaVA records (`{id, image|audio, conversations}`), what LLaVA's
//   train.py reads;
// - `sharegpt`: JSON lines in the multimodal ShareGPT layout LLaMA-Factory reads
//   (`{conversations: [{from, value}], images: [path]}` or `audios`);
// - `jsonl`: our sample records, one per line, with kind, item, split and generator.
import type { ExportFormat, LlavaRecord, Sample } from '@mmit/contracts';

export function toLlavaRecord(sample: Sample): LlavaRecord {
  return {
    id: sample.id,
    ...(sample.image !== undefined ? { image: sample.image } : {}),
    ...(sample.audio !== undefined ? { audio: sample.audio } : {}),
    conversations: sample.conversations,
  };
}

export interface ShareGptRecord {
  id: string;
  conversations: { from: 'human' | 'gpt'; value: string }[];
  images?: string[];
  audios?: string[];
}

export function toShareGptRecord(sample: Sample): ShareGptRecord {
  return {
    id: sample.id,
    conversations: sample.conversations,
    ...(sample.image !== undefined ? { images: [sample.image] } : {}),
    ...(sample.audio !== undefined ? { audios: [sample.audio] } : {}),
  };
}

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  llava: 'application/json',
  sharegpt: 'application/x-ndjson',
  jsonl: 'application/x-ndjson',
};

export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = {
  llava: 'json',
  sharegpt: 'jsonl',
  jsonl: 'jsonl',
};

export async function* exportChunks(
  format: ExportFormat,
  samples: AsyncIterable<Sample>,
): AsyncGenerator<string> {
  if (format === 'llava') {
    yield '[';
    let first = true;
    for await (const s of samples) {
      yield `${first ? '\n' : ',\n'}${JSON.stringify(toLlavaRecord(s))}`;
      first = false;
    }
    yield first ? ']\n' : '\n]\n';
    return;
  }
  for await (const s of samples) yield `${JSON.stringify(format === 'sharegpt' ? toShareGptRecord(s) : s)}\n`;
}
