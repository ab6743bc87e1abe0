// Hugging Face imagefolder / audiofolder: media files plus a `metadata.jsonl` or `metadata.csv`
// whose `file_name` column names each file relative to the metadata's folder, and a caption
// column (`text`, `caption`, ... or the one named in options.columns.captions). Splits are
// subfolders (`train/`, `validation/`, `test/`), each with its own metadata, or one metadata at
// the root naming `train/x.jpg`. Other columns are kept in the item's `extra`, with the split.
//
// Every row is its own item: a row without file_name, naming a file that is not there, or with a
// caption cell of the wrong type fails alone. A media file that no row names is reported too
// (HF refuses such a folder; here the rest still imports). A metadata file without any caption
// column stops the import before anything is ingested.

import { decodeUtf8 } from './captions.js';
import { csvFields, csvRecords } from './csv.js';
import { captionColumnsOf, rowCaptions, splitOf } from './hf-columns.js';
import { byteLines } from './jsonl.js';
import { attempt, manifestsOf } from './manifest.js';
import { mediaKindOf } from './media-kinds.js';
import { emitPlan, type PlannedItem, scanTree } from './plan.js';
import { basename, dirname, joinSafe, safeRelativePath } from './safe-path.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions, SourceError } from './types.js';

const METADATA_NAMES = ['metadata.jsonl', 'metadata.csv'];

interface Row {
  where: string;
  /** The parsed row, or why it could not be parsed. */
  fields: Record<string, unknown> | EntryError;
}

function jsonlRows(path: string, bytes: Buffer): Row[] {
  return [...byteLines(bytes)].map(({ line, bytes: lineBytes }) => {
    const where = `${path}:${line}`;
    return {
      where,
      fields: attempt<Record<string, unknown> | EntryError>(
        () => {
          const text = decodeUtf8(lineBytes, `line ${line} of ${path}`);
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (err) {
            throw new EntryError('invalid_record', `${where}: not JSON: ${(err as Error).message}`);
          }
          if (typeof value !== 'object' || value === null || Array.isArray(value))
            throw new EntryError('invalid_record', `${where}: each line must be a JSON object`);
          return value as Record<string, unknown>;
        },
        (error) => error,
      ),
    };
  });
}

function csvRows(path: string, bytes: Buffer): { header: string[]; rows: Row[] } {
  const records = csvRecords(bytes);
  const first = records.next();
  if (first.done) return { header: [], rows: [] };
  const header = csvFields(decodeUtf8(first.value.bytes, `header of ${path}`)).map((h) => h.trim());
  const rows: Row[] = [];
  for (const { row, bytes: rowBytes } of records) {
    const where = `${path}:${row}`;
    rows.push({
      where,
      fields: attempt<Record<string, unknown> | EntryError>(
        () => {
          const values = csvFields(decodeUtf8(rowBytes, `row ${row} of ${path}`));
          return Object.fromEntries(header.map((name, i) => [name, values[i] ?? '']));
        },
        (error) => error,
      ),
    });
  }
  return { header, rows };
}

/** The column naming each row's file: options.columns.media, `file_name`, or one `*_file_name`. */
function fileColumnOf(columns: string[], where: string, named?: string): string {
  if (named) {
    if (!columns.includes(named))
      throw new SourceError(`${where}: file column ${named} not found; columns are [${columns.join(', ')}]`);
    return named;
  }
  if (columns.includes('file_name')) return 'file_name';
  const suffixed = columns.filter((c) => c.endsWith('_file_name'));
  if (suffixed.length === 1) return suffixed[0];
  throw new SourceError(
    `${where}: no file_name column; columns are [${columns.join(', ')}] (Hugging Face imagefolder/audiofolder metadata names each file in file_name)`,
  );
}

export async function* importHfFolder(
  tree: FileTree,
  options: ImportOptions = {},
): AsyncGenerator<ImportItem> {
  const wanted = options.manifest !== undefined ? [safeRelativePath(options.manifest)] : undefined;
  const scan = await scanTree(tree, (path) =>
    wanted ? wanted.includes(path) : METADATA_NAMES.includes(basename(path)),
  );
  if (scan.texts.size === 0) {
    throw new SourceError(
      `${tree.label}: no ${options.manifest ?? 'metadata.jsonl or metadata.csv'} found (a Hugging Face imagefolder/audiofolder has one, at its root or in each split folder)`,
    );
  }
  const files = new Set(scan.listing.flatMap((e) => (e.kind === 'file' ? [e.path] : [])));
  const plan: PlannedItem[] = [];
  const named = new Set<string>();
  const metadataDirs: string[] = [];

  for (const manifest of manifestsOf(scan, tree.label, ['jsonl', 'csv'], options.manifest)) {
    const dir = dirname(manifest.path);
    metadataDirs.push(dir);
    const split = splitOf(manifest.path);
    const { header, rows } = manifest.path.endsWith('.csv')
      ? csvRows(manifest.path, manifest.bytes)
      : { header: undefined, rows: jsonlRows(manifest.path, manifest.bytes) };
    if (rows.length === 0) continue;
    // JSONL rows may differ in their keys: the file's columns are all keys any row has.
    const columns = header ?? [
      ...new Set(rows.flatMap((r) => (r.fields instanceof EntryError ? [] : Object.keys(r.fields)))),
    ];
    const fileColumn = fileColumnOf(columns, manifest.path, options.columns?.media);
    const captionColumns = captionColumnsOf(columns, manifest.path, options.columns?.captions);

    for (const { where, fields } of rows) {
      plan.push(
        attempt<PlannedItem>(
          () => {
            if (fields instanceof EntryError) throw fields;
            const ref = fields[fileColumn];
            if (ref === undefined || ref === null || ref === '')
              throw new EntryError('invalid_record', `${where}: no ${fileColumn}`);
            if (typeof ref !== 'string')
              throw new EntryError(
                'invalid_record',
                `${where}: ${fileColumn} must be a string, got ${typeof ref}`,
              );
            const path = joinSafe(dir, ref);
            named.add(path);
            const captions = rowCaptions(fields, captionColumns, where);
            if (!files.has(path))
              throw new EntryError('missing_media', `${where}: ${ref} is not in ${dir || 'the source root'}`);
            const meta: Record<string, unknown> = {};
            for (const [key, value] of Object.entries(fields)) {
              if (key !== fileColumn && !captionColumns.includes(key)) meta[key] = value;
            }
            if (split) meta.split = split;
            return {
              path,
              source: path,
              kind: mediaKindOf(path) ?? 'image',
              captions,
              ...(Object.keys(meta).length > 0 ? { meta } : {}),
            };
          },
          (error) => ({ source: where, kind: 'image', captions: [], error }),
        ),
      );
    }
  }

  // Media beside a metadata file that no row names: reported, not silently left out.
  const covered = (path: string) => metadataDirs.some((d) => d === '' || path.startsWith(`${d}/`));
  for (const path of files) {
    const kind = mediaKindOf(path);
    if (!kind || named.has(path) || !covered(path)) continue;
    plan.push({
      source: path,
      kind,
      captions: [],
      error: new EntryError('invalid_record', `${path}: no row of the metadata names it (file_name)`),
    });
  }
  yield* emitPlan(tree, plan, options);
}
