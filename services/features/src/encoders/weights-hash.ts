// The sha256 of one encoder's weights: every tensor under the encoder's prefix, in name order,
// as (name, dtype, shape, raw bytes). Hashing the tensors rather than the files means the same
// tower inside a CLIPModel, a LLaVA checkpoint or on its own hashes the same, and the language
// model that shares a LLaVA checkpoint is never read. Remembered per process by the files' sizes
// and modification times, since hashing a ViT-L tower reads 1.2 GB.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bytesOf, openCheckpoint } from '@mmit/tensor';

const remembered = new Map<string, string>();

function fingerprint(dir: string, prefix: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') || f.endsWith('.safetensors.index.json'))
    .sort()
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    });
  return `${dir}|${prefix}|${files.join(',')}`;
}

export function encoderWeightsSha256(dir: string, prefix: string): string {
  const id = fingerprint(dir, prefix);
  const known = remembered.get(id);
  if (known) return known;
  const source = openCheckpoint(dir);
  try {
    const hash = createHash('sha256');
    const names = source
      .names()
      .filter((n) => n.startsWith(prefix))
      .sort();
    for (const name of names) {
      const tensor = source.read(name);
      hash.update(`${name.slice(prefix.length)}|${tensor.dtype}|${tensor.dims.join('x')}|`);
      hash.update(bytesOf(tensor.data));
    }
    const digest = hash.digest('hex');
    remembered.set(id, digest);
    return digest;
  } finally {
    source.close();
  }
}
