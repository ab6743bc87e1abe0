// Parquet files as the Hugging Face Hub stores datasets (`data/train-00000-of-00001.parquet`):
// one item per row, the media from one column and the captions from string columns. The media
// cell may be the Hub's struct {bytes, path} (Image and Audio features), raw bytes, a path to a
// file in the same source, or decoded audio {array, sampling_rate} (stored as a float32 WAV).
// The media column is the one the file's `huggingface` metadata calls Image/Audio, else one named
// image/audio, else the first struct with a `bytes` field (options.columns.media names another);
// captions as in hf-columns.ts. The split comes from the file name or its folder.
//
// Files are read a row group at a time (hyparquet, with hyparquet-compressors for snappy, gzip,
// zstd, brotli and lz4 pages): what is held is one row group's cells. A folder or zip source is
// read by byte ranges; a file inside a tar (what the CLI uploads) is held whole while its rows are
// read, up to MAX_HELD_PARQUET_BYTES. Rows are numbered across files in tree order; a bad row
// (no media, wrong types, a caption that is not text) fails alone. A file that is not Parquet, or
// that lacks a media or caption column, stops the import before anything is ingested.
import { encodeWav } from '@mmit/media';
import {
  type AsyncBuffer,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { captionColumnsOf, InvalidText, rowCaptions, splitOf } from './hf-columns.js';
import { scanTree } from './plan.js';
import { dirname, extension, joinSafe, safeRelativePath } from './safe-path.js';
import type { FileTree, TreeFile } from './trees/types.js';
import {
  DEFAULT_MAX_ENTRY_BYTES,
  EntryError,
  type ImportItem,
  type ImportOptions,
  type MediaKind,
  SourceError,
} from './types.js';

/** A Parquet file that can only be read whole (inside a tar) is refused past this size. */
export const MAX_HELD_PARQUET_BYTES = 1024 * 1024 * 1024;

const MEDIA_NAMES: Record<string, MediaKind> = {
  image: 'image',
  img: 'image',
  picture: 'image',
  photo: 'image',
  audio: 'audio',
  speech: 'audio',
  sound: 'audio',
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** String cells decoded strictly: bytes that are not UTF-8 become InvalidText, failing only their row. */
function stringFromBytes(bytes: Uint8Array): string | InvalidText {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new InvalidText(bytes);
  }
}

function asyncBufferOf(file: TreeFile): AsyncBuffer {
  const { slice } = file;
  if (!slice) throw new Error('asyncBufferOf needs a file with slice()');
  return {
    byteLength: file.size,
    slice: async (start, end) => {
      const bytes = await slice(start, end ?? file.size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    },
  };
}

function bufferOf(bytes: Buffer): AsyncBuffer {
  const whole = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  return { byteLength: whole.byteLength, slice: (start, end) => whole.slice(start, end) };
}

/** The `_type` of each column in the Hub's `huggingface` metadata (Image, Audio, Value, ...). */
function hfFeatureTypes(metadata: FileMetaData): Map<string, string> {
  const types = new Map<string, string>();
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface');
  if (!entry?.value) return types;
  try {
    const parsed = JSON.parse(entry.value) as { info?: { features?: Record<string, { _type?: unknown }> } };
    for (const [name, feature] of Object.entries(parsed.info?.features ?? {})) {
      if (typeof feature?._type === 'string') types.set(name, feature._type);
    }
  } catch {
    // Unreadable metadata only means the column is found by name instead.
  }
  return types;
}

interface Layout {
  media: string;
  kind: MediaKind;
  captions: string[];
  columns: string[];
}

function layoutOf(path: string, metadata: FileMetaData, options: ImportOptions): Layout {
  const top = parquetSchema(metadata).children;
  const columns = top.map((c) => c.element.name);
  const features = hfFeatureTypes(metadata);
  const kindOf = (name: string): MediaKind => {
    const type = features.get(name);
    if (type === 'Audio') return 'audio';
    if (type === 'Image') return 'image';
    return MEDIA_NAMES[name.toLowerCase()] ?? 'image';
  };
  let media = options.columns?.media;
  if (media !== undefined && !columns.includes(media)) {
    throw new SourceError(`${path}: media column ${media} not found; columns are [${columns.join(', ')}]`);
  }
  media ??=
    columns.find((c) => features.get(c) === 'Image' || features.get(c) === 'Audio') ??
    columns.find((c) => MEDIA_NAMES[c.toLowerCase()] !== undefined) ??
    top.find((c) => c.children.some((f) => f.element.name === 'bytes'))?.element.name;
  if (media === undefined) {
    throw new SourceError(
      `${path}: no media column (an Image/Audio feature, a column named image or audio, or a struct with bytes); ` +
        `columns are [${columns.join(', ')}]; name yours with options.columns.media`,
    );
  }
  return {
    media,
    kind: kindOf(media),
    captions: captionColumnsOf(columns, path, options.columns?.captions),
    columns,
  };
}

/** A cell as metadata worth keeping (text, numbers, flags, short lists of those); undefined otherwise. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value) && value.length <= 64) {
    const items = value.map(plainValue);
    return items.every((v) => v !== undefined) ? items : undefined;
  }
  return undefined;
}

type MediaCell = { bytes: Buffer; name?: string } | { ref: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function samplesOf(array: unknown, where: string): Float32Array {
  if (array instanceof Float32Array) return array;
  if (
    (Array.isArray(array) || array instanceof Float64Array) &&
    Array.prototype.every.call(array, (v: unknown) => typeof v === 'number' && Number.isFinite(v))
  ) {
    return Float32Array.from(array as ArrayLike<number>);
  }
  throw new EntryError('invalid_record', `${where}: audio 'array' must be a list of finite numbers`);
}

/** The media of one cell, or an EntryError naming what is wrong with it. */
function mediaOf(cell: unknown, column: string, where: string): MediaCell {
  const kindOfValue = (v: unknown) => (v === null ? 'null' : v instanceof Uint8Array ? 'bytes' : typeof v);
  if (cell === undefined || cell === null) throw new EntryError('invalid_record', `${where}: no ${column}`);
  if (cell instanceof Uint8Array) return { bytes: Buffer.from(cell.buffer, cell.byteOffset, cell.length) };
  if (typeof cell === 'string') {
    if (!cell) throw new EntryError('invalid_record', `${where}: empty ${column} path`);
    return { ref: cell };
  }
  if (isRecord(cell)) {
    const { bytes, path, array, sampling_rate: rate } = cell;
    const name = typeof path === 'string' && path ? path : undefined;
    if (bytes instanceof Uint8Array && bytes.length > 0) {
      return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), ...(name ? { name } : {}) };
    }
    if (array !== undefined && array !== null) {
      if (typeof rate !== 'number' && typeof rate !== 'bigint')
        throw new EntryError('invalid_record', `${where}: audio 'array' without a numeric sampling_rate`);
      const sampleRate = Number(rate);
      if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 1_000_000)
        throw new EntryError('invalid_record', `${where}: sampling_rate ${String(rate)} is not a rate in Hz`);
      const wav = encodeWav(samplesOf(array, where), sampleRate, 'float32');
      return { bytes: Buffer.from(wav.buffer, wav.byteOffset, wav.length), ...(name ? { name } : {}) };
    }
    if (bytes !== undefined && bytes !== null && !(bytes instanceof Uint8Array))
      throw new EntryError(
        'invalid_record',
        `${where}: ${column}.bytes must be bytes, got ${kindOfValue(bytes)}`,
      );
    if (name) return { ref: name };
    throw new EntryError('invalid_record', `${where}: ${column} has neither bytes nor a path`);
  }
  throw new EntryError(
    'invalid_record',
    `${where}: ${column} must be bytes, a path or a {bytes, path} struct, got ${kindOfValue(cell)}`,
  );
}

interface FileContext {
  path: string;
  file: AsyncBuffer;
  tree: FileTree;
  options: ImportOptions;
  /** The index of this file's first row in the whole import. */
  first: number;
}

/** The rows of one Parquet file as import items (index = ctx.first + row). */
async function* rowsOf(ctx: FileContext, metadata: FileMetaData, layout: Layout): AsyncGenerator<ImportItem> {
  const { path, file, tree, options, first } = ctx;
  const resumeAt = options.resumeAt ?? 0;
  const maxBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const split = splitOf(path);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const from = Math.max(rowStart, resumeAt - first);
    if (from >= rowEnd) {
      rowStart = rowEnd;
      continue;
    }
    const rows = await parquetReadObjects({
      file,
      metadata,
      rowStart: from,
      rowEnd,
      compressors,
      utf8: false,
      parsers: { stringFromBytes },
    }).catch((err: unknown) => {
      throw new SourceError(`${path}: rows ${from}..${rowEnd - 1} cannot be read: ${(err as Error).message}`);
    });
    for (const [i, row] of rows.entries()) {
      const n = from + i;
      const where = `${path}#${n}`;
      const index = first + n;
      const failure = (error: EntryError): ImportItem => ({
        type: 'error',
        index,
        source: where,
        code: error.code,
        detail: error.message,
      });
      try {
        const captions = rowCaptions(row, layout.captions, where);
        const media = mediaOf(row[layout.media], layout.media, where);
        const meta: Record<string, unknown> = { parquet: { file: path, row: n } };
        if (split) meta.split = split;
        for (const column of layout.columns) {
          if (column === layout.media || layout.captions.includes(column)) continue;
          const value = plainValue(row[column]);
          if (value !== undefined) meta[column] = value;
        }
        let open: () => Promise<Buffer>;
        if ('bytes' in media) {
          if (media.name) meta.path = media.name;
          if (media.bytes.length > maxBytes)
            throw new EntryError(
              'payload_too_large',
              `${where} is ${media.bytes.length} bytes; the limit is ${maxBytes}`,
            );
          const { bytes } = media;
          open = async () => bytes;
        } else {
          meta.path = media.ref;
          const found = await fileNamed(tree, path, media.ref, where);
          if (found.size > maxBytes)
            throw new EntryError(
              'payload_too_large',
              `${media.ref} is ${found.size} bytes; the limit is ${maxBytes}`,
            );
          open = () => found.read();
        }
        yield { type: 'entry', index, source: where, kind: layout.kind, captions, meta, open };
      } catch (err) {
        if (!(err instanceof EntryError)) throw err;
        yield failure(err);
      }
    }
    rowStart = rowEnd;
  }
}

/** A media file a row names by path: beside the Parquet file, else from the source root. */
async function fileNamed(tree: FileTree, parquetPath: string, ref: string, where: string): Promise<TreeFile> {
  if (!tree.open) {
    throw new EntryError(
      'missing_media',
      `${where}: media given only by path (${ref}) cannot be read from a streamed archive; embed the bytes or import the folder by server path`,
    );
  }
  const candidates = [joinSafe(dirname(parquetPath), ref), safeRelativePath(ref)];
  for (const candidate of candidates) {
    const file = await tree.open(candidate);
    if (file) return file;
  }
  throw new EntryError(
    'missing_media',
    `${where}: ${ref} is not beside ${parquetPath} nor under the source root`,
  );
}

async function metadataOf(path: string, file: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(file);
  } catch (err) {
    throw new SourceError(`${path} is not a readable Parquet file: ${(err as Error).message}`);
  }
}

/** Entries of one file, or only placeholders when the caller just counts them (options.countOnly). */
async function* fileItems(ctx: FileContext): AsyncGenerator<ImportItem> {
  const metadata = await metadataOf(ctx.path, ctx.file);
  const layout = layoutOf(ctx.path, metadata, ctx.options);
  if (ctx.options.countOnly) {
    const total = Number(metadata.num_rows);
    for (let n = Math.max(0, (ctx.options.resumeAt ?? 0) - ctx.first); n < total; n++) {
      const where = `${ctx.path}#${n}`;
      yield {
        type: 'error',
        index: ctx.first + n,
        source: where,
        code: 'invalid_record',
        detail: 'not read',
      };
    }
    return;
  }
  yield* rowsOf(ctx, metadata, layout);
}

async function rowCount(path: string, file: AsyncBuffer): Promise<number> {
  return Number((await metadataOf(path, file)).num_rows);
}

export async function* importParquet(
  tree: FileTree,
  options: ImportOptions = {},
): AsyncGenerator<ImportItem> {
  const named = options.manifest !== undefined ? safeRelativePath(options.manifest) : undefined;
  const isData = (path: string) => (named ? path === named : extension(path) === 'parquet');
  let first = 0;
  let found = 0;
  if (tree.open) {
    const scan = await scanTree(tree, () => false);
    for (const entry of scan.listing) {
      if (entry.kind !== 'file' || !isData(entry.path)) continue;
      const file = await tree.open(entry.path);
      if (!file) throw new SourceError(`${tree.label}: ${entry.path} vanished while importing`);
      const buffer = file.slice ? asyncBufferOf(file) : bufferOf(await readHeld(file));
      found++;
      const ctx = { path: entry.path, file: buffer, tree, options, first };
      yield* fileItems(ctx);
      first += await rowCount(entry.path, buffer);
    }
  } else {
    for await (const entry of tree.entries()) {
      if (entry.kind !== 'file' || !isData(entry.path)) continue;
      found++;
      const buffer = bufferOf(await readHeld(entry));
      yield* fileItems({ path: entry.path, file: buffer, tree, options, first });
      first += await rowCount(entry.path, buffer);
    }
  }
  if (found === 0) {
    throw new SourceError(`${tree.label}: no ${named ?? '*.parquet file'} found`);
  }
}

async function readHeld(file: TreeFile): Promise<Buffer> {
  if (file.size > MAX_HELD_PARQUET_BYTES) {
    throw new SourceError(
      `${file.path} is ${file.size} bytes; inside an archive a Parquet file is read whole and is limited to ${MAX_HELD_PARQUET_BYTES}: import its folder by server path, or split it`,
    );
  }
  return file.read();
}
