// safetensors in memory: encode named tensors into one byte buffer and parse such a buffer back.
// @mmit/tensor reads and writes safetensors *files*; feature shards and feature blocks live in the
// bucket and travel over HTTP, so they are built and parsed as buffers here. The layout is the
// standard one (u64 little-endian header length, JSON header, tensor bytes in name order, header
// padded with spaces to 8 bytes), so Python's `safetensors.torch.load` reads these objects as is.
// Limits: the dtypes below only; the whole object is in memory.
import { bytesOf, type DType, type HostTensor, numel, viewBytes } from '@mmit/tensor';
import { z } from 'zod';

const FILE_DTYPES = { F32: 'float32', F16: 'float16', U8: 'uint8', I32: 'int32' } as const satisfies Record<
  string,
  DType
>;
type FileDType = keyof typeof FILE_DTYPES;
export type BlockDType = (typeof FILE_DTYPES)[FileDType];
const CODE_OF = Object.fromEntries(
  Object.entries(FILE_DTYPES).map(([code, dtype]) => [dtype, code]),
) as Record<BlockDType, FileDType>;

export class SafetensorsBytesError extends Error {
  override name = 'SafetensorsBytesError';
}

/** Where one tensor lies inside the encoded object: absolute byte offsets, so a range read can fetch it. */
export interface TensorPlacement {
  dtype: BlockDType;
  shape: number[];
  /** Absolute byte offset of the tensor's first byte in the object. */
  offset: number;
  length: number;
}

const HeaderEntrySchema = z.object({
  dtype: z.enum(Object.keys(FILE_DTYPES) as [FileDType, ...FileDType[]]),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

function checkDType(name: string, dtype: DType): BlockDType {
  if (!(dtype in CODE_OF)) {
    throw new SafetensorsBytesError(
      `tensor '${name}' has dtype ${dtype}; valid: ${Object.values(FILE_DTYPES).join(', ')}`,
    );
  }
  return dtype as BlockDType;
}

/** Encodes tensors (sorted by name, as the reference writer does) with optional string metadata. */
export function encodeSafetensors(
  tensors: Record<string, HostTensor>,
  metadata: Record<string, string> = {},
): { bytes: Buffer; placements: Record<string, TensorPlacement> } {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    checkDType(name, t.dtype);
    if (t.data.length !== numel(t.dims)) {
      throw new SafetensorsBytesError(
        `tensor '${name}': ${t.data.length} values for dims [${t.dims.join(', ')}]`,
      );
    }
    header[name] = {
      dtype: CODE_OF[t.dtype as BlockDType],
      shape: t.dims,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const start = 8 + json.length;
  const bytes = Buffer.alloc(start + offset);
  bytes.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(bytes, 8);
  const placements: Record<string, TensorPlacement> = {};
  let at = start;
  for (const name of names) {
    const t = tensors[name];
    const raw = bytesOf(t.data);
    bytes.set(raw, at);
    placements[name] = {
      dtype: t.dtype as BlockDType,
      shape: [...t.dims],
      offset: at,
      length: raw.byteLength,
    };
    at += raw.byteLength;
  }
  return { bytes, placements };
}

/** The parsed header of an encoded object: tensor placements (absolute offsets) and metadata. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  placements: Record<string, TensorPlacement>;
  /** Total size the header says the object has. */
  byteLength: number;
}

export function parseSafetensorsHeader(bytes: Uint8Array, what = 'object'): SafetensorsHeader {
  if (bytes.byteLength < 8)
    throw new SafetensorsBytesError(`${what}: ${bytes.byteLength} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) {
    throw new SafetensorsBytesError(
      `${what}: header of ${headerLength} bytes runs past the end (${bytes.byteLength})`,
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch (err) {
    throw new SafetensorsBytesError(`${what}: header is not JSON (${(err as Error).message})`);
  }
  const start = 8 + headerLength;
  const placements: Record<string, TensorPlacement> = {};
  let end = start;
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') continue;
    const parsed = HeaderEntrySchema.safeParse(value);
    if (!parsed.success)
      throw new SafetensorsBytesError(`${what}: tensor '${name}': ${z.prettifyError(parsed.error)}`);
    const [from, to] = parsed.data.data_offsets;
    placements[name] = {
      dtype: FILE_DTYPES[parsed.data.dtype],
      shape: parsed.data.shape,
      offset: start + from,
      length: to - from,
    };
    end = Math.max(end, start + to);
  }
  const metadata = z.record(z.string(), z.string()).parse(raw.__metadata__ ?? {});
  return { metadata, placements, byteLength: end };
}

/** The tensor at `placement`, read from `bytes` that begin at absolute offset `base` (0: the whole object). */
export function tensorAt(bytes: Uint8Array, placement: TensorPlacement, base = 0): HostTensor {
  const from = placement.offset - base;
  if (from < 0 || from + placement.length > bytes.byteLength) {
    throw new SafetensorsBytesError(
      `tensor at ${placement.offset}+${placement.length} is outside the bytes read (${base}+${bytes.byteLength})`,
    );
  }
  const slice = bytes.subarray(from, from + placement.length);
  // Copy: the view must not pin (or alias) a large shard buffer after the caller drops it.
  const data = viewBytes(placement.dtype, new Uint8Array(slice));
  if (data.length !== numel(placement.shape)) {
    throw new SafetensorsBytesError(
      `tensor has ${data.length} values for shape [${placement.shape.join(', ')}]`,
    );
  }
  return { dtype: placement.dtype, dims: [...placement.shape], data } as HostTensor;
}
