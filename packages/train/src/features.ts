// Where the trainer gets each sample's encoder features: a FeatureSource maps a media sha256 to
// its (N, dv) float32 rows. BucketFeatures reads the cache the features service writes (through
// @mmit/features' verified reader) and keeps recent blocks in memory so a prefetch for the next
// batch and the step that uses it share one read; MemoryFeatures serves features already in
// memory (library use, fixtures). Audio blocks (windows, frames, width) are read as their
// windows' frames in order, one row each: a clip within one window gives its frames.
import { FeatureNotFoundError, type FeatureReader } from '@mmit/features';
import { type HostTensor, toNumbers } from '@mmit/tensor';

export interface FeatureRows {
  rows: number;
  width: number;
  data: Float32Array;
}

export interface FeatureSource {
  get(sha256: string): Promise<FeatureRows>;
  /** Starts loading without waiting (errors surface at `get`). */
  prefetch(sha256s: string[]): void;
}

export class FeatureShapeError extends Error {
  override name = 'FeatureShapeError';
}

function rowsOf(sha256: string, t: HostTensor): FeatureRows {
  if (t.dims.length !== 2 && t.dims.length !== 3) {
    throw new FeatureShapeError(
      `features of ${sha256} have dims [${t.dims.join(', ')}]; the trainer takes (rows, width) or audio (windows, frames, width)`,
    );
  }
  const data = t.dtype === 'float32' ? (t.data as Float32Array) : Float32Array.from(toNumbers(t));
  const width = t.dims[t.dims.length - 1];
  return { rows: data.length / width, width, data };
}

export class MemoryFeatures implements FeatureSource {
  constructor(private readonly blocks: Map<string, HostTensor>) {}

  async get(sha256: string): Promise<FeatureRows> {
    const t = this.blocks.get(sha256);
    if (!t) throw new FeatureNotFoundError('memory', sha256);
    return rowsOf(sha256, t);
  }

  prefetch(): void {}
}

export class BucketFeatures implements FeatureSource {
  private readonly cache = new Map<string, Promise<FeatureRows>>();

  /** `keep`: blocks held in memory (a few batches' worth). */
  constructor(
    readonly reader: FeatureReader,
    private readonly keep = 256,
  ) {}

  get(sha256: string): Promise<FeatureRows> {
    let block = this.cache.get(sha256);
    if (block) {
      // Refresh its place in the LRU order.
      this.cache.delete(sha256);
    } else {
      block = this.reader.read(sha256).then((b) => rowsOf(sha256, b.features));
    }
    this.cache.set(sha256, block);
    while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value as string);
    return block;
  }

  prefetch(sha256s: string[]): void {
    for (const sha of sha256s) this.get(sha).catch(() => {});
  }
}

/** Stacks one block per example into the (B, N, dv) tensor the step takes. */
export async function stackFeatures(source: FeatureSource, media: string[]): Promise<HostTensor<'float32'>> {
  const blocks = await Promise.all(media.map((m) => source.get(m)));
  const { rows, width } = blocks[0];
  const data = new Float32Array(blocks.length * rows * width);
  blocks.forEach((b, i) => {
    if (b.rows !== rows || b.width !== width) {
      throw new FeatureShapeError(
        `features of ${media[i]} are (${b.rows}, ${b.width}) but ${media[0]}'s are (${rows}, ${width}); one encoder gives one shape`,
      );
    }
    data.set(b.data, i * rows * width);
  });
  return { dtype: 'float32', dims: [blocks.length, rows, width], data };
}
