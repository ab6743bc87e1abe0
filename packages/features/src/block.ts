// A feature block: one media item's encoder output. Vision: features (N, D). Audio: features
// (W, P, D) for W 30-second windows of P encoder frames, with mask (W, P), 1 where the frame holds
// audio and 0 where it only saw padding. Stored as float32 or float16 (raw bits); the mask as uint8.
// `encodeBlock`/`decodeBlock` give the standalone safetensors form that GET /v1/features/... answers.
import type { HostTensor } from '@mmit/tensor';
import {
  encodeSafetensors,
  parseSafetensorsHeader,
  SafetensorsBytesError,
  tensorAt,
} from './safetensors-bytes.js';

export interface FeatureBlock {
  features: HostTensor<'float32'> | HostTensor<'float16'>;
  mask?: HostTensor<'uint8'>;
}

/** Tensor names inside a standalone block object. */
export const BLOCK_TENSORS = { features: 'features', mask: 'mask' } as const;

export function encodeBlock(block: FeatureBlock, metadata: Record<string, string> = {}): Buffer {
  const tensors: Record<string, HostTensor> = { [BLOCK_TENSORS.features]: block.features };
  if (block.mask) tensors[BLOCK_TENSORS.mask] = block.mask;
  return encodeSafetensors(tensors, metadata).bytes;
}

export function decodeBlock(bytes: Uint8Array): { block: FeatureBlock; metadata: Record<string, string> } {
  const header = parseSafetensorsHeader(bytes, 'feature block');
  const features = header.placements[BLOCK_TENSORS.features];
  if (!features) throw new SafetensorsBytesError(`feature block has no '${BLOCK_TENSORS.features}' tensor`);
  const mask = header.placements[BLOCK_TENSORS.mask];
  const block: FeatureBlock = { features: tensorAt(bytes, features) as FeatureBlock['features'] };
  if (mask) block.mask = tensorAt(bytes, mask) as HostTensor<'uint8'>;
  return { block, metadata: header.metadata };
}
