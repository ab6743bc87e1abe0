// A loaded checkpoint: its folder, raw `config.json`, and lazily read weights under our names.
// The names come from the decoder family's weight layout (architectures/), which may split one
// fused HF tensor into several of ours by rows (Phi-3's qkv_proj). Weights are read from the
// safetensors file(s) only when a graph builder asks for them, converted to float32 (F16/BF16
// checkpoints included), so building a graph touches each tensor once (a fused tensor's parts
// share one read). Accepts a folder or a Hugging Face repo id (hub.ts resolves and caches it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostTensor, openCheckpoint, type TensorSource } from '@mmit/tensor';
import { architectureFor, lmConfigJson, parseLmConfig } from './architectures/index.js';
import { type HubOptions, resolveCheckpoint } from './hub.js';
import { oursOf, type WeightSlice, weightSlices } from './weight-names.js';

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
  /** Our names an HF tensor holds, in row order (several for a fused one); null when not the LM's. */
  oursOf(hfName: string): string[] | null;
  close(): void;
}

/** Rows [start, end) of a 2-D (or 1-D) tensor, copied. */
function rowSlice(t: HostTensor<'float32'>, [start, end]: readonly [number, number]): HostTensor<'float32'> {
  const width = t.data.length / t.dims[0];
  return {
    dtype: 'float32',
    dims: [end - start, ...t.dims.slice(1)],
    data: t.data.slice(start * width, end * width),
  };
}

/** Opens a checkpoint folder that is already on disk. */
export function openCheckpointFolder(dir: string): Checkpoint {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const lmJson = lmConfigJson(config);
  let source: TensorSource | null = null;
  let slices: Map<string, WeightSlice> | null = null;
  // The fused tensor read last: its parts are asked for one after the other.
  let lastFused: { hf: string; tensor: HostTensor<'float32'> } | null = null;
  const layout = () => architectureFor(String(lmJson.model_type), dir).weights;
  // Opened on first use: a config-only look (registry lookups, verify listing) costs no file handles.
  const open = () => {
    if (!source) {
      source = openCheckpoint(dir);
      const fused = layout().fused.length > 0;
      slices = weightSlices(layout(), fused ? parseLmConfig(lmJson) : null, source.names());
    }
    return { source, slices: slices! };
  };
  const slice = (ours: string) => {
    const { slices } = open();
    const found = slices.get(ours);
    if (!found) {
      const sample = [...slices.keys()].slice(0, 6).join(', ');
      throw new MissingWeightError(`${dir}: no weight maps to '${ours}' (we have e.g. ${sample})`);
    }
    return found;
  };
  const read = (ours: string): HostTensor<'float32'> => {
    const { hf, rows } = slice(ours);
    if (rows === null) return open().source.read(hf, { as: 'float32' }) as HostTensor<'float32'>;
    if (lastFused?.hf !== hf) {
      lastFused = { hf, tensor: open().source.read(hf, { as: 'float32' }) as HostTensor<'float32'> };
    }
    return rowSlice(lastFused.tensor, rows);
  };
  return {
    dir,
    config,
    has: (ours) => open().slices.has(ours),
    weight: read,
    dims: (ours) => {
      const { hf, rows } = slice(ours);
      const dims = [...open().source.info(hf).dims];
      return rows === null ? dims : [rows[1] - rows[0], ...dims.slice(1)];
    },
    oursOf: (hfName) => oursOf(layout(), hfName)?.ours ?? null,
    close: () => {
      source?.close();
      source = null;
      lastFused = null;
    },
  };
}

/** Resolves `idOrPath` (folder or repo id, downloading when online) and opens it. */
export async function loadCheckpoint(idOrPath: string, options: HubOptions = {}): Promise<Checkpoint> {
  return openCheckpointFolder(await resolveCheckpoint(idOrPath, options));
}
