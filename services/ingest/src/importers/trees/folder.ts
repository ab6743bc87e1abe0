// A folder on the server's disk, walked depth-first in sorted order so that every run sees the
// same entry order (resuming depends on it). Symlinks are skipped: a link could point outside
// the folder the configuration allowed.
import { lstat, open, opendir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceError } from '../types.js';
import { type FileTree, isHidden, type TreeEntry, type TreeFile } from './types.js';

export function folderTree(root: string): FileTree {
  const fileAt = (path: string, size: number): TreeFile => ({
    kind: 'file',
    path,
    size,
    read: () => readFile(join(root, path)),
    async slice(start, end) {
      const handle = await open(join(root, path), 'r');
      try {
        const length = Math.max(0, Math.min(end, size) - start);
        const bytes = Buffer.alloc(length);
        const { bytesRead } = await handle.read(bytes, 0, length, start);
        return bytes.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  });

  async function* walk(rel: string): AsyncGenerator<TreeEntry> {
    const names: { name: string; dir: boolean; file: boolean }[] = [];
    for await (const dirent of await opendir(join(root, rel))) {
      names.push({ name: dirent.name, dir: dirent.isDirectory(), file: dirent.isFile() });
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { name, dir, file } of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (isHidden(path)) continue;
      if (dir) yield* walk(path);
      else if (file) yield fileAt(path, (await lstat(join(root, path))).size);
    }
  }

  return {
    label: root,
    async *entries() {
      const info = await lstat(root).catch(() => undefined);
      if (!info?.isDirectory()) throw new SourceError(`folder ${root} does not exist or is not a directory`);
      yield* walk('');
    },
    async open(path) {
      const info = await lstat(join(root, path)).catch(() => undefined);
      return info?.isFile() ? fileAt(path, info.size) : undefined;
    },
  };
}
