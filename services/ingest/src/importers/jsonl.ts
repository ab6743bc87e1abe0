// JSONL manifest: one object per line, `{"image": path}` or `{"audio": path}` with `caption`
// (string) or `captions` (array). Other fields are kept as metadata. Each line is decoded and
// parsed on its own, so one bad line (not UTF-8, not JSON, no path) fails only its item.
import { captionsFromFields, decodeUtf8 } from './captions.js';
import { attempt, manifestSelector, manifestsOf, PathResolver } from './manifest.js';
import { emitPlan, type PlannedItem, scanTree } from './plan.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions, type MediaKind } from './types.js';

/** Splits on LF at byte level (safe in UTF-8), keeping line numbers; blank lines skipped. */
export function* byteLines(bytes: Buffer): Generator<{ line: number; bytes: Buffer }> {
  let start = 0;
  let line = 1;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const slice = bytes.subarray(start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end);
    if (slice.some((b) => b !== 0x20 && b !== 0x09)) yield { line, bytes: slice };
    start = end + 1;
    line++;
  }
}

function recordItem(text: string, where: string, manifest: string, resolver: PathResolver): PlannedItem {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    throw new EntryError('invalid_record', `${where}: not JSON: ${(err as Error).message}`);
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new EntryError('invalid_record', `${where}: each line must be a JSON object`);
  }
  const { image, audio, caption: _c, captions: _cs, text: _t, ...meta } = record as Record<string, unknown>;
  const kind: MediaKind | undefined =
    typeof image === 'string' ? 'image' : typeof audio === 'string' ? 'audio' : undefined;
  const ref = (kind === 'image' ? image : audio) as string | undefined;
  if (!kind || !ref) throw new EntryError('invalid_record', `${where}: needs an "image" or "audio" path`);
  return {
    path: resolver.resolve(ref, manifest),
    source: ref,
    kind,
    captions: captionsFromFields(record as Record<string, unknown>, where),
    ...(Object.keys(meta).length > 0 ? { meta } : {}),
  };
}

export async function* importJsonl(tree: FileTree, options: ImportOptions = {}): AsyncGenerator<ImportItem> {
  const scan = await scanTree(tree, manifestSelector(['jsonl'], options.manifest));
  const resolver = new PathResolver(scan, options.mediaRoot);
  const plan: PlannedItem[] = [];
  for (const manifest of manifestsOf(scan, tree.label, ['jsonl'], options.manifest)) {
    for (const { line, bytes } of byteLines(manifest.bytes)) {
      const where = `${manifest.path}:${line}`;
      plan.push(
        attempt(
          () =>
            recordItem(decodeUtf8(bytes, `line ${line} of ${manifest.path}`), where, manifest.path, resolver),
          (error) => ({ source: where, kind: 'image', captions: [], error }),
        ),
      );
    }
  }
  yield* emitPlan(tree, plan, options);
}
