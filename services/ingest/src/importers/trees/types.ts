// A file tree is where an importer finds its files: a folder on the server, a tar stream (read
// front to back, possibly several times) or a zip (central directory, random access). Importers
// see only this interface, so every format works in every container.
import type { EntryError } from '../types.js';

export interface TreeFile {
  kind: 'file';
  /** Safe relative POSIX path inside the tree. */
  path: string;
  size: number;
  /** The whole file. For tar trees it works only until the next entry is pulled. */
  read(): Promise<Buffer>;
  /** Bytes [start, end) without reading the rest (Parquet footers and row groups); folder trees only. */
  slice?(start: number, end: number): Promise<Buffer>;
}

/** An entry whose name was refused (`../`, absolute path); reported, never opened. */
export interface RefusedEntry {
  kind: 'refused';
  name: string;
  error: EntryError;
}

export type TreeEntry = TreeFile | RefusedEntry;

export interface FileTree {
  /** Names the source in messages (a folder path, an archive name). */
  label: string;
  /** Regular files in a stable order; symlinks, directories and hidden files are left out. */
  entries(): AsyncIterable<TreeEntry>;
  /** Random access for containers that allow it (folder, zip); tar trees leave it undefined. */
  open?(path: string): Promise<TreeFile | undefined>;
  close?(): Promise<void>;
}

/** Hidden files (`.DS_Store`, `._x.jpg` from macOS archives) and `__MACOSX/` are never items. */
export function isHidden(path: string): boolean {
  return path.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
}
