// Every format imports in two steps. A scan (one pass over the tree) lists file paths and reads
// the small text files the format needs (caption sidecars, manifests), which is enough to build
// the plan: the ordered list of items with their captions. Emitting then opens each planned
// file: by random access when the container allows it, otherwise in a second streaming pass in
// archive order. Media bytes are held one entry at a time; the plan and the path listing hold
// only names and captions.
import type { FileTree, RefusedEntry, TreeFile } from './trees/types.js';
import {
  DEFAULT_MAX_ENTRY_BYTES,
  EntryError,
  type ImportItem,
  type ImportOptions,
  type MediaKind,
} from './types.js';

export interface PlannedItem {
  /** Tree path of the media file; absent when the item failed before resolution. */
  path?: string;
  /** For an entry the tree refused (unsafe name): that name, so a streaming pass can keep its place. */
  refusedName?: string;
  source: string;
  kind: MediaKind;
  captions: string[];
  meta?: Record<string, unknown>;
  error?: EntryError;
}

export interface Scan {
  /** Files and refused entries, in tree order. */
  listing: ({ kind: 'file'; path: string; size: number } | RefusedEntry)[];
  /** Bytes of the files the scan was asked to read, or why they could not be read. */
  texts: Map<string, Buffer | EntryError>;
}

/** Text files larger than this are refused rather than held (manifests, caption sidecars). */
export const MAX_TEXT_BYTES = 512 * 1024 * 1024;

export async function scanTree(tree: FileTree, wantText: (path: string) => boolean): Promise<Scan> {
  const listing: Scan['listing'] = [];
  const texts = new Map<string, Buffer | EntryError>();
  for await (const entry of tree.entries()) {
    if (entry.kind === 'refused') {
      listing.push(entry);
      continue;
    }
    listing.push({ kind: 'file', path: entry.path, size: entry.size });
    if (!wantText(entry.path)) continue;
    texts.set(
      entry.path,
      entry.size > MAX_TEXT_BYTES
        ? new EntryError(
            'payload_too_large',
            `${entry.path} is ${entry.size} bytes; text files are limited to ${MAX_TEXT_BYTES}`,
          )
        : await entry.read(),
    );
  }
  return { listing, texts };
}

export async function* emitPlan(
  tree: FileTree,
  plan: PlannedItem[],
  options: ImportOptions = {},
): AsyncGenerator<ImportItem> {
  const maxBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const resumeAt = options.resumeAt ?? 0;
  let index = 0;
  options.onTotal?.(plan.length);

  const outcome = (item: PlannedItem, file: TreeFile | undefined, at: number): ImportItem => {
    const failure = (error: EntryError): ImportItem => ({
      type: 'error',
      index: at,
      source: item.source,
      code: error.code,
      detail: error.message,
    });
    if (item.error) return failure(item.error);
    if (!file)
      return failure(new EntryError('missing_media', `${item.source}: no such file in ${tree.label}`));
    if (file.size > maxBytes) {
      return failure(
        new EntryError('payload_too_large', `${item.source} is ${file.size} bytes; the limit is ${maxBytes}`),
      );
    }
    return {
      type: 'entry',
      index: at,
      source: item.source,
      kind: item.kind,
      captions: item.captions,
      ...(item.meta ? { meta: item.meta } : {}),
      open: () => file.read(),
    };
  };

  if (tree.open) {
    for (const item of plan) {
      const at = index++;
      if (at < resumeAt) continue;
      yield outcome(item, item.path && !item.error ? await tree.open(item.path) : undefined, at);
    }
    return;
  }

  // Streaming container: records that failed before naming a file (malformed, unresolvable) go first, then everything tied to
  // an archive entry in archive order, then planned files the archive never delivered.
  const refusedKey = (name: string) => `\0refused:${name}`;
  const wanted = new Map<string, PlannedItem[]>();
  for (const item of plan) {
    const key = item.path ?? (item.refusedName !== undefined ? refusedKey(item.refusedName) : undefined);
    if (key === undefined) {
      const at = index++;
      if (at >= resumeAt) yield outcome(item, undefined, at);
      continue;
    }
    const list = wanted.get(key);
    if (list) list.push(item);
    else wanted.set(key, [item]);
  }
  for await (const entry of tree.entries()) {
    const key = entry.kind === 'file' ? entry.path : refusedKey(entry.name);
    const items = wanted.get(key);
    if (!items) continue;
    wanted.delete(key);
    if (entry.kind === 'refused') {
      for (const item of items) {
        const at = index++;
        if (at >= resumeAt) yield outcome(item, undefined, at);
      }
      continue;
    }
    // One archive file can back several records (a LLaVA image asked twice): read it once.
    let bytes: Promise<Buffer> | undefined;
    const shared: TreeFile = { ...entry, read: () => (bytes ??= entry.read()) };
    for (const item of items) {
      const at = index++;
      if (at < resumeAt) continue;
      yield outcome(item, items.length > 1 ? shared : entry, at);
    }
  }
  for (const items of wanted.values()) {
    for (const item of items) {
      const at = index++;
      if (at >= resumeAt) yield outcome(item, undefined, at);
    }
  }
}

/** Turns a refused tree entry into a planned failure at its place in the order. */
export function refusedItem(entry: RefusedEntry, kind: MediaKind = 'image'): PlannedItem {
  return { source: entry.name, refusedName: entry.name, kind, captions: [], error: entry.error };
}
