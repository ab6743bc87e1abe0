// safetensors: read single files and sharded checkpoints lazily, write single files.
// Reading parses only the JSON header up front; each tensor's bytes are read from the file
// descriptor at its offset when asked for, so loading a 5 GB checkpoint never copies the whole file.
// Limits: no memory mapping (Node has none without native code); the reader holds one fd per shard
// until `close()`; F8 and unsigned 16/32/64-bit types are rejected with the list of supported ones.

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import {
  BYTES_PER_ELEMENT,
  bytesOf,
  castTensor,
  type DType,
  type HostTensor,
  numel,
  viewBytes,
} from './dtype.js';

/** The safetensors dtype codes this project reads and writes, with our dtype for each. */
const FILE_DTYPES = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
} as const satisfies Record<string, DType>;
type FileDType = keyof typeof FILE_DTYPES;
const FILE_CODE_OF = Object.fromEntries(Object.entries(FILE_DTYPES).map(([k, v]) => [v, k])) as Record<
  DType,
  FileDType
>;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface TensorInfo {
  dtype: DType;
  dims: number[];
  byteLength: number;
}

export interface ReadOptions {
  /** Convert floating-point tensors (F16, BF16, F64) to this dtype on read, e.g. 'float32'. */
  as?: 'float32' | 'float16' | 'float64';
}

/** A lazily read set of named tensors: one safetensors file or a sharded checkpoint. */
export interface TensorSource {
  readonly metadata: Record<string, string>;
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  read(name: string, options?: ReadOptions): HostTensor;
  close(): void;
}

const headerEntrySchema = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const metadataSchema = z.record(z.string(), z.string());
const indexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

interface Entry extends TensorInfo {
  offset: number;
}

class SafetensorsFile implements TensorSource {
  readonly metadata: Record<string, string>;
  private fd: number | null;
  private readonly entries = new Map<string, Entry>();

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const { entries, metadata } = parseHeader(this.fd, path);
      this.entries = entries;
      this.metadata = metadata;
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const { dtype, dims, byteLength } = this.entry(name);
    return { dtype, dims: [...dims], byteLength };
  }

  read(name: string, options: ReadOptions = {}): HostTensor {
    const entry = this.entry(name);
    if (this.fd === null) throw new SafetensorsError(`${this.path} is closed; cannot read '${name}'`);
    const bytes = new Uint8Array(entry.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, entry.offset + done);
      if (n === 0) throw new SafetensorsError(`${this.path}: unexpected end of file reading '${name}'`);
      done += n;
    }
    const tensor: HostTensor = {
      dtype: entry.dtype,
      dims: [...entry.dims],
      data: viewBytes(entry.dtype, bytes),
    };
    const isFloat = ['float16', 'bfloat16', 'float32', 'float64'].includes(entry.dtype);
    return options.as && isFloat ? castTensor(tensor, options.as) : tensor;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry)
      throw new SafetensorsError(`no tensor '${name}' in ${this.path}; it has: ${preview(this.names())}`);
    return entry;
  }
}

function parseHeader(
  fd: number,
  path: string,
): { entries: Map<string, Entry>; metadata: Record<string, string> } {
  const size = statSync(path).size;
  const prefix = Buffer.alloc(8);
  if (size < 8 || readSync(fd, prefix, 0, 8, 0) !== 8) throw new SafetensorsError(`${path} is too short`);
  const headerLength = Number(prefix.readBigUInt64LE(0));
  if (headerLength > size - 8 || headerLength > 100_000_000) {
    throw new SafetensorsError(
      `${path}: header length ${headerLength} does not fit the file (${size} bytes)`,
    );
  }
  const headerBytes = Buffer.alloc(headerLength);
  readSync(fd, headerBytes, 0, headerLength, 8);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(headerBytes.toString('utf8'));
  } catch (error) {
    throw new SafetensorsError(`${path}: header is not JSON (${(error as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const entries = new Map<string, Entry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = metadataSchema.parse(raw);
      continue;
    }
    const parsed = headerEntrySchema.safeParse(raw);
    if (!parsed.success)
      throw new SafetensorsError(`${path}: bad header entry '${name}': ${parsed.error.message}`);
    const {
      dtype: code,
      shape,
      data_offsets: [begin, end],
    } = parsed.data;
    const dtype = FILE_DTYPES[code as FileDType];
    if (!dtype) {
      throw new SafetensorsError(
        `${path}: tensor '${name}' has dtype ${code}; supported: ${Object.keys(FILE_DTYPES).join(', ')}`,
      );
    }
    const byteLength = end - begin;
    if (byteLength !== numel(shape) * BYTES_PER_ELEMENT[dtype] || dataStart + end > size) {
      throw new SafetensorsError(
        `${path}: tensor '${name}' offsets [${begin}, ${end}] do not match its shape`,
      );
    }
    entries.set(name, { dtype, dims: shape, byteLength, offset: dataStart + begin });
  }
  return { entries, metadata };
}

/** A sharded checkpoint: `model.safetensors.index.json` maps each tensor to a shard file. */
class ShardedCheckpoint implements TensorSource {
  readonly metadata: Record<string, string> = {};
  private readonly shards = new Map<string, SafetensorsFile>();

  constructor(
    readonly indexPath: string,
    private readonly weightMap: Record<string, string>,
  ) {}

  names(): string[] {
    return Object.keys(this.weightMap);
  }

  has(name: string): boolean {
    return name in this.weightMap;
  }

  info(name: string): TensorInfo {
    return this.shardOf(name).info(name);
  }

  read(name: string, options?: ReadOptions): HostTensor {
    return this.shardOf(name).read(name, options);
  }

  close(): void {
    for (const shard of this.shards.values()) shard.close();
    this.shards.clear();
  }

  private shardOf(name: string): SafetensorsFile {
    const file = this.weightMap[name];
    if (!file)
      throw new SafetensorsError(
        `no tensor '${name}' in ${this.indexPath}; it has: ${preview(this.names())}`,
      );
    let shard = this.shards.get(file);
    if (!shard) {
      shard = new SafetensorsFile(join(dirname(this.indexPath), file));
      this.shards.set(file, shard);
    }
    return shard;
  }
}

/** Opens one `.safetensors` file lazily. */
export function openSafetensors(path: string): TensorSource {
  return new SafetensorsFile(path);
}

/**
 * Opens a checkpoint: a `.safetensors` file, a `model.safetensors.index.json`, or a folder holding
 * either (the index wins when both exist, as in transformers).
 */
export function openCheckpoint(path: string): TensorSource {
  let target = path;
  if (statSync(path).isDirectory()) {
    const index = join(path, 'model.safetensors.index.json');
    const single = join(path, 'model.safetensors');
    if (existsSync(index)) target = index;
    else if (existsSync(single)) target = single;
    else throw new SafetensorsError(`${path} has neither model.safetensors nor model.safetensors.index.json`);
  }
  if (target.endsWith('.index.json')) {
    const parsed = indexSchema.safeParse(JSON.parse(readFileSync(target, 'utf8')));
    if (!parsed.success)
      throw new SafetensorsError(`${target}: not a safetensors index: ${parsed.error.message}`);
    return new ShardedCheckpoint(target, parsed.data.weight_map);
  }
  return new SafetensorsFile(target);
}

/** Reads every tensor of a file at once (fixtures, small checkpoints). */
export function readSafetensors(
  path: string,
  options?: ReadOptions,
): { tensors: Record<string, HostTensor>; metadata: Record<string, string> } {
  const file = openCheckpoint(path);
  try {
    const tensors: Record<string, HostTensor> = {};
    for (const name of file.names()) tensors[name] = file.read(name, options);
    return { tensors, metadata: file.metadata };
  } finally {
    file.close();
  }
}

/**
 * Writes tensors to one safetensors file (names sorted, as the reference writer does; header padded
 * with spaces to a multiple of 8 bytes so every tensor starts aligned).
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadataSchema.parse(metadata);
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const byteLength = t.data.byteLength;
    if (t.data.length !== numel(t.dims)) {
      throw new SafetensorsError(`tensor '${name}': ${t.data.length} values for dims [${t.dims.join(', ')}]`);
    }
    header[name] = {
      dtype: FILE_CODE_OF[t.dtype],
      shape: t.dims,
      data_offsets: [offset, offset + byteLength],
    };
    offset += byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, json);
    for (const name of names) writeAll(fd, bytesOf(tensors[name].data));
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

function preview(names: string[]): string {
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown}, ... (${names.length} in all)` : shown;
}
