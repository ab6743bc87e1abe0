// Writes a model's tensors the way transformers' save_pretrained does: one `model.safetensors`
// when everything fits in `maxShardBytes`, else `model-0000i-of-0000n.safetensors` shards and a
// `model.safetensors.index.json` ({ metadata: { total_size }, weight_map }). Tensors are planned
// by byte size first and read one shard at a time, so peak memory is about one shard, not the
// model. Every file carries `{"format": "pt"}` metadata, which transformers checks on load.
// Limits: a tensor larger than maxShardBytes gets a shard of its own (as transformers does).
import { join } from 'node:path';
import { DEFAULT_MAX_SHARD_BYTES } from '@mmit/contracts';
import { type HostTensor, writeSafetensors } from '@mmit/tensor';
import { ExportError } from './errors.js';
import { writeJson } from './side-files.js';

/** transformers' default max_shard_size ("5GB", decimal); the contracts hold it for the export API. */
export { DEFAULT_MAX_SHARD_BYTES };

/** A tensor to write, read only when its shard is written. */
export interface PendingTensor {
  name: string;
  byteLength: number;
  read(): HostTensor;
}

export interface ShardedWrite {
  /** File names written, the index last when there is one. */
  files: string[];
  totalBytes: number;
  /** weight name -> file (also for a single file). */
  weightMap: Record<string, string>;
}

function planShards(tensors: PendingTensor[], maxShardBytes: number): PendingTensor[][] {
  const shards: PendingTensor[][] = [];
  let current: PendingTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (current.length > 0 && size + t.byteLength > maxShardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.byteLength;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

export function writeShardedSafetensors(
  dir: string,
  tensors: PendingTensor[],
  maxShardBytes = DEFAULT_MAX_SHARD_BYTES,
): ShardedWrite {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new ExportError('validation', `tensor ${t.name} would be written twice`);
    names.add(t.name);
  }
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const shards = planShards(sorted, maxShardBytes);
  const fileName = (i: number) =>
    shards.length === 1
      ? 'model.safetensors'
      : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  let totalBytes = 0;
  shards.forEach((shard, i) => {
    const file = fileName(i);
    const contents: Record<string, HostTensor> = {};
    for (const t of shard) {
      contents[t.name] = t.read();
      weightMap[t.name] = file;
      totalBytes += contents[t.name].data.byteLength;
    }
    writeSafetensors(join(dir, file), contents, { format: 'pt' });
    files.push(file);
  });
  if (shards.length > 1) {
    writeJson(join(dir, 'model.safetensors.index.json'), {
      metadata: { total_size: totalBytes },
      weight_map: weightMap,
    });
    files.push('model.safetensors.index.json');
  }
  return { files, totalBytes, weightMap };
}
