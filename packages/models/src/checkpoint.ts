// A loaded checkpoint: its folder, raw `config.json`, and lazily read weights under our names
// (weight-names.ts). Weights are read from the safetensors file(s) only when a graph builder asks
// for them, converted to float32 (F16/BF16 checkpoints included), so building a graph touches
// each tensor once. Accepts a folder or a Hugging Face repo id (hub.ts resolves and caches it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostTensor, openCheckpoint, type TensorSource } from '@mmit/tensor';
import { type HubOptions, resolveCheckpoint } from './hub.js';
import { weightNameMap } from './weight-names.js';

export class MissingWeightError extends Error {
  override name = 'MissingWeightError';
}

export interface Checkpoint {
  readonly dir: string;
  readonly config: Record<string, unknown>;
  /** Whether the checkpoint holds the weight called `ours` (our naming). */
  has(ours: string): boolean;
  /** Reads a weight as float32; throws MissingWeightError naming the HF name that was expected. */
  weight(ours: string): HostTensor<'float32'>;
  /** Dims without reading the data. */
  dims(ours: string): number[];
  close(): void;
}

/** Opens a checkpoint folder that is already on disk. */
export function openCheckpointFolder(dir: string): Checkpoint {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  let source: TensorSource | null = null;
  let names: Map<string, string> | null = null;
  // Opened on first use: a config-only look (registry lookups, verify listing) costs no file handles.
  const open = () => {
    if (!source) {
      source = openCheckpoint(dir);
      names = weightNameMap(source.names());
    }
    return { source, names: names! };
  };
  const hfName = (ours: string) => {
    const { names } = open();
    const hf = names.get(ours);
    if (!hf) {
      const sample = [...names.keys()].slice(0, 6).join(', ');
      throw new MissingWeightError(`${dir}: no weight maps to '${ours}' (we have e.g. ${sample})`);
    }
    return hf;
  };
  return {
    dir,
    config,
    has: (ours) => open().names.has(ours),
    weight: (ours) => open().source.read(hfName(ours), { as: 'float32' }) as HostTensor<'float32'>,
    dims: (ours) => [...open().source.info(hfName(ours)).dims],
    close: () => {
      source?.close();
      source = null;
    },
  };
}

/** Resolves `idOrPath` (folder or repo id, downloading when online) and opens it. */
export async function loadCheckpoint(idOrPath: string, options: HubOptions = {}): Promise<Checkpoint> {
  return openCheckpointFolder(await resolveCheckpoint(idOrPath, options));
}
