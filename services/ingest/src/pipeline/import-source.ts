// Where an import reads from. A server-local path is allowed only inside the folders listed in
// MMIT_INGEST_IMPORT_ROOTS (checked after resolving symlinks, so a link cannot lead out); an
// uploaded archive is read from the bucket: tar by streaming, zip from a temporary local copy
// (zip needs random access to its central directory).
import { createWriteStream } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImportSource } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import {
  archiveFileTree,
  archiveStreamTree,
  containerOf,
  type FileTree,
  openLocalSource,
  SourceError,
} from '../importers/index.js';

export class ImportRootError extends Error {
  readonly problemCode = 'validation';
  constructor(
    readonly path: string,
    readonly roots: string[],
  ) {
    super(
      roots.length === 0
        ? `server-local imports are disabled: set MMIT_INGEST_IMPORT_ROOTS to the folders the service may read (asked for ${path})`
        : `${path} is outside the allowed import roots: ${roots.join(', ')}`,
    );
    this.name = 'ImportRootError';
  }
}

/** The real path of `path` if it lies inside one of `roots`, else ImportRootError. */
export async function allowedLocalPath(path: string, roots: string[]): Promise<string> {
  const real = await realpath(resolve(path)).catch(() => {
    throw new SourceError(`${path} does not exist on the server`);
  });
  for (const root of roots) {
    const realRoot = await realpath(resolve(root)).catch(() => undefined);
    if (!realRoot) continue;
    const rel = relative(realRoot, real);
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) return real;
  }
  throw new ImportRootError(path, roots);
}

export interface OpenedImport {
  tree: FileTree;
  manifest?: string;
  close(): Promise<void>;
}

async function headOfObject(bucket: Bucket, key: string): Promise<Buffer> {
  const stream = await bucket.getStream(key);
  try {
    for await (const chunk of stream) return chunk as Buffer;
    return Buffer.alloc(0);
  } finally {
    stream.destroy();
  }
}

export async function openImportSource(
  bucket: Bucket,
  source: ImportSource,
  format: string,
  roots: string[],
): Promise<OpenedImport> {
  if (source.type === 'path') {
    const opened = await openLocalSource(await allowedLocalPath(source.path, roots), format);
    return { ...opened, close: async () => opened.tree.close?.() };
  }
  const container = containerOf(await headOfObject(bucket, source.key));
  if (container === 'tar' || container === 'gzip') {
    return {
      tree: await archiveStreamTree(source.key, () => bucket.getStream(source.key)),
      close: async () => {},
    };
  }
  if (container === 'zip') {
    const dir = await mkdtemp(join(tmpdir(), 'mmit-import-'));
    const file = join(dir, 'archive.zip');
    await pipeline(await bucket.getStream(source.key), createWriteStream(file));
    const tree = await archiveFileTree(file, source.key);
    return {
      tree,
      close: async () => {
        await tree.close?.();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  throw new SourceError(`uploaded ${source.key} is neither a tar (.tar, .tar.gz) nor a zip archive`);
}
