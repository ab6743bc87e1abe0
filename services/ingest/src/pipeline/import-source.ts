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
  type Container,
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
    // The roots themselves are not named: they are server paths, and the caller may be anyone.
    super(
      roots.length === 0
        ? `server-local imports are disabled: set MMIT_INGEST_IMPORT_ROOTS to the folders the service may read (asked for ${path})`
        : `${path} is outside the folders this service may import from (MMIT_INGEST_IMPORT_ROOTS)`,
    );
    this.name = 'ImportRootError';
  }
}

/** A path inside the import roots that does not exist. */
export class LocalSourceNotFoundError extends SourceError {
  readonly problemCode = 'not_found';
  constructor(readonly path: string) {
    super(`${path} does not exist in the folders this service may import from`);
    this.name = 'LocalSourceNotFoundError';
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of `path` if it lies inside one of `roots`, else ImportRootError. The path is
 * checked as written before anything is looked up, so a caller cannot learn whether a path
 * outside the roots exists; then again after resolving symlinks, so a link cannot lead out.
 */
export async function allowedLocalPath(path: string, roots: string[]): Promise<string> {
  const wanted = resolve(path);
  const realRoots = (
    await Promise.all(roots.map((root) => realpath(resolve(root)).catch(() => undefined)))
  ).filter((root): root is string => root !== undefined);
  if (
    !roots.some((root) => inside(resolve(root), wanted)) &&
    !realRoots.some((root) => inside(root, wanted))
  ) {
    throw new ImportRootError(path, roots);
  }
  const real = await realpath(wanted).catch(() => {
    throw new LocalSourceNotFoundError(path);
  });
  if (!realRoots.some((root) => inside(root, real))) throw new ImportRootError(path, roots);
  return real;
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

/** The container an uploaded object holds, read from its first bytes. */
export async function uploadedContainer(bucket: Bucket, key: string): Promise<Container> {
  return containerOf(await headOfObject(bucket, key));
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
