// Audio caption CSVs. AudioCaps: `audiocap_id,youtube_id,start_time,caption`, one caption per
// row, audio files named `<youtube_id>.<ext>` or `<audiocap_id>.<ext>` (rows for the same file
// are merged). Clotho: `file_name,caption_1,...,caption_5`. Any other CSV works when
// `options.csv.fileColumn` (and optionally `captionColumns`) name its columns. Records are split at byte level
// (quotes are ASCII), then each is decoded strictly, so a non-UTF-8 row fails only its item.
import { decodeUtf8 } from './captions.js';
import { attempt, manifestSelector, manifestsOf, PathResolver } from './manifest.js';
import { AUDIO_EXTENSION_LIST, mediaKindOf } from './media-kinds.js';
import { emitPlan, type PlannedItem, scanTree } from './plan.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions, SourceError } from './types.js';

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines. */
export function* csvRecords(bytes: Buffer): Generator<{ row: number; bytes: Buffer }> {
  let start = 0;
  let quoted = false;
  let row = 1;
  for (let i = 0; i <= bytes.length; i++) {
    const b = i < bytes.length ? bytes[i] : 0x0a;
    if (b === 0x22) quoted = !quoted;
    else if (b === 0x0a && !quoted) {
      const end = i > start && bytes[i - 1] === 0x0d ? i - 1 : i;
      if (end > start) yield { row, bytes: bytes.subarray(start, end) };
      start = i + 1;
      row++;
    }
  }
}

export function csvFields(record: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i];
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/** How rows name their file and captions: AudioCaps by id, everything else by a file column. */
type Layout = { type: 'audiocaps' } | { type: 'by-file'; fileColumn: string; captionColumns: string[] };

function layoutOf(header: string[], where: string, custom: ImportOptions['csv']): Layout {
  if (custom?.fileColumn) {
    const captionColumns = custom.captionColumns ?? header.filter((h) => /^caption/.test(h));
    const missing = [custom.fileColumn, ...captionColumns].filter((c) => !header.includes(c));
    if (missing.length > 0) {
      throw new SourceError(
        `${where}: column(s) ${missing.join(', ')} not in the header [${header.join(', ')}]`,
      );
    }
    return { type: 'by-file', fileColumn: custom.fileColumn, captionColumns };
  }
  if (header.includes('youtube_id') && header.includes('caption')) return { type: 'audiocaps' };
  if (header.includes('file_name') && header.some((h) => /^caption_\d+$/.test(h))) {
    return {
      type: 'by-file',
      fileColumn: 'file_name',
      captionColumns: header.filter((h) => /^caption_\d+$/.test(h)),
    };
  }
  throw new SourceError(
    `${where}: unknown CSV header [${header.join(', ')}]; expected AudioCaps (audiocap_id,youtube_id,start_time,caption), ` +
      'Clotho (file_name,caption_1..caption_5), or options.csv.fileColumn naming the file column',
  );
}

function audiocapsFile(row: Record<string, string>, resolver: PathResolver, where: string): string {
  const candidates = [row.youtube_id, row.audiocap_id, `Y${row.youtube_id}`]
    .filter((stem) => stem)
    .flatMap((stem) => resolver.byStem(stem, AUDIO_EXTENSION_LIST));
  if (candidates.length === 0) {
    throw new EntryError(
      'missing_media',
      `${where}: no audio file named ${row.youtube_id} or ${row.audiocap_id}`,
    );
  }
  return candidates[0];
}

export async function* importCsv(tree: FileTree, options: ImportOptions = {}): AsyncGenerator<ImportItem> {
  const scan = await scanTree(tree, manifestSelector(['csv'], options.manifest));
  const resolver = new PathResolver(scan, options.mediaRoot);
  const plan: PlannedItem[] = [];
  const byPath = new Map<string, { item: PlannedItem; audiocapIds: string[] }>();

  for (const manifest of manifestsOf(scan, tree.label, ['csv'], options.manifest)) {
    const records = csvRecords(manifest.bytes);
    const first = records.next();
    if (first.done) continue;
    const header = csvFields(decodeUtf8(first.value.bytes, `header of ${manifest.path}`)).map((h) =>
      h.trim(),
    );
    const layout = layoutOf(header, manifest.path, options.csv);
    for (const { row, bytes } of records) {
      const where = `${manifest.path}:${row}`;
      const item = attempt<PlannedItem | undefined>(
        () => {
          const values = csvFields(decodeUtf8(bytes, `row ${row} of ${manifest.path}`));
          const fields = Object.fromEntries(header.map((name, i) => [name, (values[i] ?? '').trim()]));
          if (layout.type === 'by-file') {
            const ref = fields[layout.fileColumn];
            if (!ref) throw new EntryError('invalid_record', `${where}: empty ${layout.fileColumn}`);
            const captions = layout.captionColumns.map((h) => fields[h]).filter(Boolean);
            return {
              path: resolver.resolve(ref, manifest.path),
              source: ref,
              kind: mediaKindOf(ref) ?? 'audio',
              captions,
            };
          }
          const path = audiocapsFile(fields, resolver, where);
          const known = byPath.get(path);
          const caption = fields.caption;
          if (known) {
            if (caption) known.item.captions.push(caption);
            known.audiocapIds.push(fields.audiocap_id);
            return undefined;
          }
          const audiocapIds = [fields.audiocap_id];
          const item: PlannedItem = {
            path,
            source: path,
            kind: 'audio',
            captions: caption ? [caption] : [],
            meta: {
              youtubeId: fields.youtube_id,
              startTime: Number(fields.start_time),
              audiocapIds,
            },
          };
          byPath.set(path, { item, audiocapIds });
          return item;
        },
        (error) => ({ source: where, kind: 'audio', captions: [], error }),
      );
      if (item) plan.push(item);
    }
  }
  yield* emitPlan(tree, plan, options);
}
