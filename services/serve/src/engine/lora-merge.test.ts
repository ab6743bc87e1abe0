import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Checkpoint } from '@mmit/models';
import type { HostTensor } from '@mmit/tensor';
import { mergeLora } from './lora-merge.js';

const t = (dims: number[], values: number[]): HostTensor<'float32'> => ({
  dtype: 'float32',
  dims,
  data: Float32Array.from(values),
});

describe('mergeLora', () => {
  it('adds (alpha / r) B A to the targeted weights only', () => {
    const weights: Record<string, HostTensor<'float32'>> = {
      'layers.0.attn.q.weight': t([2, 3], [1, 2, 3, 4, 5, 6]),
      'layers.0.attn.k.weight': t([2, 3], [0, 0, 0, 0, 0, 0]),
    };
    const base = {
      dir: '/x',
      config: {},
      has: (n: string) => n in weights,
      weight: (n: string) => weights[n],
      dims: (n: string) => weights[n].dims,
      close() {},
    } as Checkpoint;
    const merged = mergeLora(base, {
      rank: 1,
      alpha: 2,
      tensors: {
        'lora.layers.0.attn.q.A': t([1, 3], [1, 0, -1]),
        'lora.layers.0.attn.q.B': t([2, 1], [0.5, 2]),
      },
    });
    // scale 2: B A = [[0.5, 0, -0.5], [2, 0, -2]] -> doubled and added.
    assert.deepEqual(Array.from(merged.weight('layers.0.attn.q.weight').data), [2, 2, 2, 8, 5, 2]);
    assert.deepEqual(Array.from(merged.weight('layers.0.attn.k.weight').data), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(
      Array.from(weights['layers.0.attn.q.weight'].data),
      [1, 2, 3, 4, 5, 6],
      'the base is untouched',
    );
  });
});
