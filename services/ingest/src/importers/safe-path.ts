// Archive entry names and manifest references come from untrusted input. A name is accepted
// only as a relative path that stays inside its root: no absolute paths (POSIX, UNC or drive
// letters), no `..` segments, no NUL bytes. Checking is purely lexical, so nothing outside the
// root is ever touched to decide.
import { EntryError } from './types.js';

/** Returns the normalised POSIX form of `name` (backslashes read as separators), or throws `unsafe_path`. */
export function safeRelativePath(name: string): string {
  if (name.includes('\0'))
    throw new EntryError('unsafe_path', `entry name ${JSON.stringify(name)} contains a NUL byte`);
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) {
    throw new EntryError('unsafe_path', `entry name ${JSON.stringify(name)} is an absolute path`);
  }
  const parts: string[] = [];
  for (const part of slashed.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new EntryError(
        'unsafe_path',
        `entry name ${JSON.stringify(name)} climbs out of its folder with '..'`,
      );
    }
    parts.push(part);
  }
  if (parts.length === 0) throw new EntryError('unsafe_path', `entry name ${JSON.stringify(name)} is empty`);
  // `./C:/x` is `C:/x` once the dot is gone: a drive letter wherever the path really starts.
  if (/^[A-Za-z]:/.test(parts[0])) {
    throw new EntryError('unsafe_path', `entry name ${JSON.stringify(name)} is an absolute path`);
  }
  return parts.join('/');
}

/** Joins a manifest-relative reference onto the manifest's folder, refusing escapes. */
export function joinSafe(dir: string, ref: string): string {
  const rel = safeRelativePath(ref);
  return dir === '' ? rel : `${dir}/${rel}`;
}

export function dirname(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? '' : path.slice(0, cut);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `a/b/photo.JPG` -> `jpg`; no extension -> ''. */
export function extension(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** `a/b/photo.jpg` -> `a/b/photo` (the sidecar key). */
export function stripExtension(path: string): string {
  const ext = extension(path);
  return ext === '' ? path : path.slice(0, path.length - ext.length - 1);
}
