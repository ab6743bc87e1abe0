// LLaVA-style conversation JSON: `[{ id, image, conversations: [{ from: 'human'|'gpt', value }] }]`.
// Captions are the assistant (`gpt`) turns with the `<image>` placeholder removed; the whole
// conversation is kept as metadata so instruction data can be rebuilt from it. Records without
// an image (LLaVA mixes in text-only samples) are reported as `invalid_record`, not dropped.
// Limit: the JSON file is parsed whole (a 665k-sample LLaVA mix needs about 1 GB of heap).
import { decodeUtf8 } from './captions.js';
import { attempt, manifestSelector, manifestsOf, PathResolver } from './manifest.js';
import { mediaKindOf } from './media-kinds.js';
import { emitPlan, type PlannedItem, scanTree } from './plan.js';
import type { FileTree } from './trees/types.js';
import { EntryError, type ImportItem, type ImportOptions, SourceError } from './types.js';

function captionsOf(conversations: unknown, where: string): string[] {
  if (!Array.isArray(conversations))
    throw new EntryError('invalid_record', `${where}: 'conversations' must be an array`);
  return conversations.flatMap((turn) => {
    if (
      typeof turn !== 'object' ||
      turn === null ||
      typeof (turn as { value?: unknown }).value !== 'string'
    ) {
      throw new EntryError('invalid_record', `${where}: each turn needs a string 'value'`);
    }
    const { from, value } = turn as { from?: unknown; value: string };
    if (from !== 'gpt' && from !== 'assistant') return [];
    const text = value.replace(/<image>\n?/g, '').trim();
    return text.length > 0 ? [text] : [];
  });
}

export async function* importLlava(tree: FileTree, options: ImportOptions = {}): AsyncGenerator<ImportItem> {
  const scan = await scanTree(tree, manifestSelector(['json'], options.manifest));
  const resolver = new PathResolver(scan, options.mediaRoot);
  const plan: PlannedItem[] = [];
  for (const manifest of manifestsOf(scan, tree.label, ['json'], options.manifest)) {
    let records: unknown;
    try {
      records = JSON.parse(decodeUtf8(manifest.bytes, manifest.path));
    } catch (err) {
      throw new SourceError(`${tree.label}: ${manifest.path} is not LLaVA JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(records))
      throw new SourceError(`${tree.label}: ${manifest.path} must hold a JSON array of samples`);
    records.forEach((record: unknown, i) => {
      const where = `${manifest.path}[${i}]`;
      const fields = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
      const ref = fields.image;
      const source = typeof ref === 'string' ? ref : where;
      plan.push(
        attempt<PlannedItem>(
          () => {
            if (typeof ref !== 'string') throw new EntryError('invalid_record', `${where}: no 'image' path`);
            return {
              path: resolver.resolve(ref, manifest.path),
              source,
              kind: mediaKindOf(ref) ?? 'image',
              captions: captionsOf(fields.conversations, where),
              meta: { id: fields.id, conversations: fields.conversations, record: i },
            };
          },
          (error) => ({ source, kind: 'image', captions: [], error }),
        ),
      );
    });
  }
  yield* emitPlan(tree, plan, options);
}
