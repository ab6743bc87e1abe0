// Turns an import source into a file tree. A server-local path may be a folder, a tar/tar.gz or
// zip archive, or a single manifest file (its folder becomes the tree, the file the manifest).
// A folder given to the WebDataset format is read as a set of shards (`*.tar`, in name order).
// The container is recognised by its first bytes, never by its name.
import { createReadStream } from 'node:fs';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { folderTree } from './trees/folder.js';
import { looksGzipped, tarTree } from './trees/tar.js';
import type { FileTree, TreeEntry } from './trees/types.js';
import { zipTree } from './trees/zip.js';
import { SourceError } from './types.js';

export type Container = 'zip' | 'tar' | 'gzip' | 'other';

/** Recognises zip (`PK\3\4`, or `PK\5\6` for an empty one), gzip, and ustar tar (magic at 257). */
export function containerOf(head: Buffer): Container {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5))
    return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return 'other';
}

async function headOf(path: string): Promise<Buffer> {
  const handle = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface OpenedSource {
  tree: FileTree;
  /** Set when the source was a single manifest file. */
  manifest?: string;
}

/** Opens an archive file on local disk as a tree (zip by random access, tar by streaming). */
export async function archiveFileTree(path: string, label = path): Promise<FileTree> {
  const container = containerOf(await headOf(path));
  if (container === 'zip') return zipTree(path, label);
  if (container === 'tar' || container === 'gzip') {
    return tarTree({ label, open: async () => createReadStream(path), gzip: container === 'gzip' });
  }
  throw new SourceError(`${label} is neither a zip nor a tar archive`);
}

/** A tar (or tar.gz) archive that can only be streamed, e.g. an object in the bucket. */
export async function archiveStreamTree(label: string, open: () => Promise<Readable>): Promise<FileTree> {
  return tarTree({ label, open, gzip: await looksGzipped(open) });
}

/** Several trees read one after the other, each file's path prefixed by its tree's name. */
export function concatTrees(parts: { name: string; tree: FileTree }[], label: string): FileTree {
  return {
    label,
    async *entries(): AsyncGenerator<TreeEntry> {
      for (const { name, tree } of parts) {
        for await (const entry of tree.entries()) {
          if (entry.kind === 'file') yield { ...entry, path: `${name}/${entry.path}` };
          else yield { ...entry, name: `${name}/${entry.name}` };
        }
        await tree.close?.();
      }
    },
  };
}

export async function openLocalSource(path: string, format: string): Promise<OpenedSource> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new SourceError(`${path} does not exist`);
  if (info.isDirectory()) {
    if (format === 'webdataset') {
      const shards = (await readdir(path)).filter((name) => /\.(tar|tgz|tar\.gz)$/.test(name)).sort();
      if (shards.length > 0) {
        const parts = await Promise.all(
          shards.map(async (name) => ({
            name,
            tree: await archiveFileTree(join(path, name), `${path}/${name}`),
          })),
        );
        return { tree: concatTrees(parts, path) };
      }
    }
    return { tree: folderTree(path) };
  }
  if (!info.isFile()) throw new SourceError(`${path} is neither a folder nor a regular file`);
  if (containerOf(await headOf(path)) !== 'other') return { tree: await archiveFileTree(path) };
  return { tree: folderTree(dirname(path)), manifest: basename(path) };
}
