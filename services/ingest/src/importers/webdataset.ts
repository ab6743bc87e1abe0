// WebDataset shards: tar files whose entries are grouped by key, `key.jpg` + `key.txt` and/or
// `key.json` (the key is the path up to the first dot of the file name, as in webdataset's own
// reader). Captions come from the `.txt` lines and the JSON's `caption`/`captions`/`text`
// fields; the rest of the JSON is kept as metadata.
import { captionsFromFields, captionsFromText, decodeUtf8 } from './captions.js';
import { mediaKindOf } from './media-kinds.js';
import { emitPlan, type PlannedItem, refusedItem, scanTree } from './plan.js';
import { basename, dirname } from './safe-path.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions } from './types.js';

/** `shard/000123.seg.jpg` -> `shard/000123`. */
export function webdatasetKey(path: string): string {
  const base = basename(path);
  const dot = base.indexOf('.');
  const stem = dot <= 0 ? base : base.slice(0, dot);
  const dir = dirname(path);
  return dir === '' ? stem : `${dir}/${stem}`;
}

function suffix(path: string): string {
  const base = basename(path);
  return base.slice(base.indexOf('.') + 1).toLowerCase();
}

interface KeyText {
  captions: string[];
  meta?: Record<string, unknown>;
  error?: EntryError;
}

export async function* importWebDataset(
  tree: FileTree,
  options: ImportOptions = {},
): AsyncGenerator<ImportItem> {
  const scan = await scanTree(tree, (path) => ['txt', 'json'].includes(suffix(path)));
  const byKey = new Map<string, KeyText>();
  for (const [path, bytes] of scan.texts) {
    const key = webdatasetKey(path);
    const text = byKey.get(key) ?? { captions: [] };
    byKey.set(key, text);
    try {
      if (bytes instanceof EntryError) throw bytes;
      if (suffix(path) === 'txt') {
        text.captions.push(...captionsFromText(bytes, path));
      } else {
        const parsed: unknown = JSON.parse(decodeUtf8(bytes, path));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new EntryError('invalid_record', `${path} must hold a JSON object`);
        }
        const record = parsed as Record<string, unknown>;
        text.captions.push(...captionsFromFields(record, path));
        const { caption: _c, captions: _cs, text: _t, ...rest } = record;
        text.meta = rest;
      }
    } catch (err) {
      if (err instanceof SyntaxError)
        text.error = new EntryError('invalid_record', `${path}: ${err.message}`);
      else if (err instanceof EntryError) text.error = err;
      else throw err;
    }
  }

  const plan: PlannedItem[] = [];
  for (const entry of scan.listing) {
    if (entry.kind === 'refused') {
      plan.push(refusedItem(entry));
      continue;
    }
    const kind = mediaKindOf(entry.path);
    if (!kind) continue;
    const text = byKey.get(webdatasetKey(entry.path));
    plan.push({
      path: entry.path,
      source: entry.path,
      kind,
      captions: text?.captions ?? [],
      ...(text?.meta ? { meta: text.meta } : {}),
      ...(text?.error ? { error: text.error } : {}),
    });
  }
  yield* emitPlan(tree, plan, options);
}
