// Folder, tar or zip of media files with caption sidecars: `x.jpg` + `x.txt` (one caption per
// line), audio `x.wav|flac|mp3|ogg|opus` + `x.txt`. A media file without a sidecar is imported
// with no captions; a file of unknown type that has a sidecar is imported too, so the media
// pipeline can say why it is unsupported instead of it vanishing.
import { captionsFromText } from './captions.js';
import { mediaKindOf } from './media-kinds.js';
import { emitPlan, type PlannedItem, refusedItem, scanTree } from './plan.js';
import { extension, stripExtension } from './safe-path.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions } from './types.js';

const NOT_MEDIA = new Set(['txt', 'json', 'jsonl', 'csv', 'md']);

export async function* importSidecars(
  tree: FileTree,
  options: ImportOptions = {},
): AsyncGenerator<ImportItem> {
  const scan = await scanTree(tree, (path) => extension(path) === 'txt');
  const captions = new Map<string, string[] | EntryError>();
  for (const [path, bytes] of scan.texts) {
    let value: string[] | EntryError;
    try {
      value = bytes instanceof EntryError ? bytes : captionsFromText(bytes, `caption file ${path}`);
    } catch (err) {
      if (!(err instanceof EntryError)) throw err;
      value = err;
    }
    captions.set(stripExtension(path), value);
  }

  const plan: PlannedItem[] = [];
  for (const entry of scan.listing) {
    if (entry.kind === 'refused') {
      plan.push(refusedItem(entry));
      continue;
    }
    const ext = extension(entry.path);
    const found = captions.get(stripExtension(entry.path));
    const kind = mediaKindOf(entry.path);
    if (!kind && (NOT_MEDIA.has(ext) || found === undefined)) continue;
    const item: PlannedItem = { path: entry.path, source: entry.path, kind: kind ?? 'image', captions: [] };
    if (found instanceof EntryError) item.error = found;
    else if (found) item.captions = found;
    plan.push(item);
  }
  yield* emitPlan(tree, plan, options);
}
