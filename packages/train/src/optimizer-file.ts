// The optimizer half of a checkpoint, `optimizer.safetensors`, built and parsed in memory: float64
// master parameters and both AdamW moments as `param.<name>`, `exp_avg.<name>`, `exp_avg_sq.<name>`
// (flat, our names). The layout is standard safetensors (u64 little-endian header length, JSON
// header padded with spaces to 8 bytes, tensor bytes in name order), so @mmit/tensor's file reader
// and Python's `safetensors` read it as is. It lives here rather than in @mmit/features' in-memory
// encoder because that one holds feature dtypes only; going through @mmit/tensor's file writer
// instead would cost a temp-file write and read of ~24 bytes per parameter at every checkpoint.
// Limits: float64 only; the whole object is in memory.
import type { OptimizerState } from '@mmit/models';
import { z } from 'zod';

export const OPTIMIZER_FILE_FORMAT = 'mmit-optimizer/1';

const GROUPS = [
  ['param', 'params'],
  ['exp_avg', 'expAvg'],
  ['exp_avg_sq', 'expAvgSq'],
] as const;

export class OptimizerFileError extends Error {
  override name = 'OptimizerFileError';
}

const TensorEntrySchema = z.object({
  dtype: z.literal('F64'),
  shape: z.tuple([z.number().int().nonnegative()]),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

/** Encodes the moments and master parameters (the step count travels in trainer_state.json). */
export function encodeOptimizerFile(state: Omit<OptimizerState, 'step'>): Buffer {
  const tensors = new Map<string, Float64Array>();
  for (const [prefix, field] of GROUPS) {
    for (const [name, values] of Object.entries(state[field])) tensors.set(`${prefix}.${name}`, values);
  }
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { format: OPTIMIZER_FILE_FORMAT } };
  let offset = 0;
  for (const name of names) {
    const length = tensors.get(name)!.length;
    header[name] = { dtype: 'F64', shape: [length], data_offsets: [offset, offset + 8 * length] };
    offset += 8 * length;
  }
  const json = JSON.stringify(header);
  const jsonLength = Math.ceil(Buffer.byteLength(json) / 8) * 8;
  const start = 8 + jsonLength;
  // allocUnsafe: every byte is written below (prefix, header, spaces, tensors).
  const bytes = Buffer.allocUnsafe(start + offset);
  bytes.writeBigUInt64LE(BigInt(jsonLength), 0);
  bytes.fill(0x20, 8 + bytes.write(json, 8, 'utf8'), start);
  // Raw bytes: little-endian hosts only, as everywhere else in this project (x64, arm64).
  let at = start;
  for (const name of names) {
    const values = tensors.get(name)!;
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  }
  return bytes;
}

/** Parses what `encodeOptimizerFile` wrote (or any float64-only file with these names). */
export function decodeOptimizerFile(bytes: Uint8Array, what: string): Omit<OptimizerState, 'step'> {
  const fail = (why: string) => new OptimizerFileError(`${what}: ${why}`);
  if (bytes.length < 8) throw fail(`${bytes.length} bytes is too short for a safetensors object`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = Number(view.getBigUint64(0, true));
  if (8 + jsonLength > bytes.length) throw fail(`header length ${jsonLength} runs past the end`);
  const header: unknown = JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset + 8, jsonLength).toString('utf8'),
  );
  if (typeof header !== 'object' || header === null) throw fail('the header is not a JSON object');
  const state: Omit<OptimizerState, 'step'> = { params: {}, expAvg: {}, expAvgSq: {} };
  const start = 8 + jsonLength;
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const parsed = TensorEntrySchema.safeParse(value);
    if (!parsed.success) throw fail(`tensor ${key} is not a flat float64 tensor: ${parsed.error.message}`);
    const entry = parsed.data;
    // The dot keeps `exp_avg.` from matching `exp_avg_sq.*`.
    const match = GROUPS.find(([prefix]) => key.startsWith(`${prefix}.`));
    if (!match) throw fail(`tensor ${key} is none of ${GROUPS.map(([p]) => `${p}.*`).join(', ')}`);
    const [begin, end] = entry.data_offsets;
    if (end - begin !== 8 * entry.shape[0] || start + end > bytes.length) {
      throw fail(`tensor ${key}: offsets [${begin}, ${end}] do not hold ${entry.shape[0]} float64 values`);
    }
    // A copy, not a view: the bytes need not be 8-aligned, and the optimizer keeps what it loads.
    const values = new Float64Array(entry.shape[0]);
    new Uint8Array(values.buffer).set(bytes.subarray(start + begin, start + end));
    state[match[1]][key.slice(match[0].length + 1)] = values;
  }
  return state;
}
