// What the extraction job needs from an encoder, whatever its modality: encode a batch of media
// objects (their stored bytes) into feature blocks, one outcome per item, so one undecodable
// file fails alone and never takes its batch down.
import type { FeatureBlock, StorageDType } from '@mmit/features';
import { type ExecutionProvider, float32ToFloat16, type HostTensor } from '@mmit/tensor';

export type EncodeOutcome = { block: FeatureBlock } | { error: Error };

export interface EncoderRunner {
  readonly modality: 'image' | 'audio';
  /** The provider the session really runs on, and why it is not the one asked for (null if it is). */
  readonly ep: ExecutionProvider;
  readonly fallbackReason: string | null;
  encode(media: Uint8Array[]): Promise<EncodeOutcome[]>;
  close(): Promise<void>;
}

/** Copies rows [from, from + count) of a float32 output (rows of `rowSize` values) into a stored tensor. */
export function storedSlice(
  data: Float32Array,
  from: number,
  count: number,
  rowSize: number,
  dims: number[],
  dtype: StorageDType,
): HostTensor<'float32'> | HostTensor<'float16'> {
  const rows = data.slice(from * rowSize, (from + count) * rowSize);
  // Built directly: hostTensor() would treat half-precision bits as numbers and convert them again.
  return dtype === 'float16'
    ? { dtype: 'float16', dims, data: float32ToFloat16(rows) }
    : { dtype: 'float32', dims, data: rows };
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
