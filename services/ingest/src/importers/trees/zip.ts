// A zip archive on local disk, read through its central directory (yauzl): entry metadata for the
// whole archive is listed once, bytes are inflated one entry at a time on demand. Names are
// decoded without yauzl's own validation (which fails the whole archive on one bad name) and
// checked here instead, so an unsafe entry is refused alone.
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { safeRelativePath } from '../safe-path.js';
import { EntryError, SourceError } from '../types.js';
import { type FileTree, isHidden, type TreeEntry, type TreeFile } from './types.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, decodeStrings: false, autoClose: false }, (err, zip) => {
      if (err || !zip)
        reject(new SourceError(`${path}: not a readable zip archive: ${err?.message ?? 'unknown error'}`));
      else resolve(zip);
    });
  });
}

function listEntries(zip: yauzl.ZipFile, label: string): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (err: Error) =>
      reject(new SourceError(`${label}: corrupt zip directory: ${err.message}`)),
    );
    zip.readEntry();
  });
}

function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: yauzl 3's low-level name decoder is missing from @types/yauzl 2
  const decode = (yauzl as any).getFileNameLowLevel as (
    flag: number,
    raw: Buffer,
    extra: unknown[],
    strict: boolean,
  ) => string;
  return decode(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
}

export async function zipTree(path: string, label = path): Promise<FileTree> {
  const zip = await openZip(path);
  const listed = await listEntries(zip, label);
  const files = new Map<string, TreeFile>();
  const order: TreeEntry[] = [];

  const readEntry = (entry: yauzl.Entry, name: string) => async () => {
    const stream = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) =>
        err || !s ? reject(new SourceError(`${label}: ${name}: ${err?.message}`)) : resolve(s),
      ),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  for (const entry of listed) {
    const name = entryName(entry);
    if (name.endsWith('/')) continue;
    if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) continue;
    try {
      const rel = safeRelativePath(name);
      if (isHidden(rel)) continue;
      const file: TreeFile = {
        kind: 'file',
        path: rel,
        size: entry.uncompressedSize,
        read: readEntry(entry, name),
      };
      files.set(rel, file);
      order.push(file);
    } catch (err) {
      if (!(err instanceof EntryError)) throw err;
      order.push({ kind: 'refused', name, error: err });
    }
  }

  return {
    label,
    async *entries() {
      yield* order;
    },
    async open(rel) {
      return files.get(rel);
    },
    async close() {
      zip.close();
    },
  };
}
