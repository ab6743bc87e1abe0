// Drains an importer the way the service does (bytes read before the next entry is pulled) and
// returns plain records that tests can compare.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImportItem } from '../importers/types.js';

export interface Collected {
  index: number;
  source: string;
  kind?: string;
  captions?: string[];
  meta?: Record<string, unknown>;
  text?: string;
  code?: string;
  detail?: string;
}

export async function collect(items: AsyncIterable<ImportItem>): Promise<Collected[]> {
  const out: Collected[] = [];
  for await (const item of items) {
    if (item.type === 'error') {
      out.push({ index: item.index, source: item.source, code: item.code, detail: item.detail });
    } else {
      const bytes = await item.open();
      out.push({
        index: item.index,
        source: item.source,
        kind: item.kind,
        captions: item.captions,
        ...(item.meta ? { meta: item.meta } : {}),
        text: bytes.toString('latin1'),
      });
    }
  }
  return out;
}

/** Writes `files` (path -> content) under a fresh temp folder and returns it. */
export async function tempFolder(files: Record<string, Buffer | string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mmit-ingest-'));
  for (const [path, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), data);
  }
  return root;
}

export async function removeFolder(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Latin-1 bytes: `café` in ISO-8859-1 is not valid UTF-8. */
export const NOT_UTF8 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]);
