// Shared by the manifest formats (LLaVA JSON, COCO, JSONL, CSV): finding the manifest files in a
// tree and resolving the media paths they name. A reference is tried relative to the manifest's
// folder, then to the tree root, then by unique file name anywhere in the tree (LLaVA and COCO
// files name images relative to an image folder that is not the manifest's).
import type { Scan } from './plan.js';
import { basename, dirname, extension, joinSafe, safeRelativePath } from './safe-path.js';
import { EntryError, SourceError } from './types.js';

export interface ManifestFile {
  path: string;
  bytes: Buffer;
}

/** Manifest paths to read: the one named in the options, or every file with one of `extensions`. */
export function manifestSelector(extensions: string[], named?: string): (path: string) => boolean {
  if (named !== undefined) {
    const wanted = safeRelativePath(named);
    return (path) => path === wanted;
  }
  return (path) => extensions.includes(extension(path));
}

export function manifestsOf(scan: Scan, label: string, extensions: string[], named?: string): ManifestFile[] {
  const files: ManifestFile[] = [];
  for (const [path, bytes] of scan.texts) {
    if (bytes instanceof EntryError) throw new SourceError(`${label}: manifest ${path}: ${bytes.message}`);
    files.push({ path, bytes });
  }
  if (files.length === 0) {
    const what = named
      ? `the manifest ${named}`
      : `a manifest (${extensions.map((e) => `*.${e}`).join(', ')})`;
    throw new SourceError(`${label}: no ${what} found`);
  }
  return files;
}

export class PathResolver {
  private readonly paths = new Set<string>();
  private readonly byName = new Map<string, string[]>();

  /** `mediaRoot`: a folder (relative to the tree root) that references are also tried against. */
  constructor(
    scan: Scan,
    private readonly mediaRoot?: string,
  ) {
    for (const entry of scan.listing) {
      if (entry.kind !== 'file') continue;
      this.paths.add(entry.path);
      const name = basename(entry.path);
      const list = this.byName.get(name);
      if (list) list.push(entry.path);
      else this.byName.set(name, [entry.path]);
    }
  }

  /** The tree path that `ref` (as written in the manifest at `manifestPath`) names, or an EntryError. */
  resolve(ref: string, manifestPath: string): string {
    const fromManifest = joinSafe(dirname(manifestPath), ref);
    if (this.paths.has(fromManifest)) return fromManifest;
    if (this.mediaRoot !== undefined) {
      const fromMediaRoot = joinSafe(safeRelativePath(this.mediaRoot), ref);
      if (this.paths.has(fromMediaRoot)) return fromMediaRoot;
    }
    const fromRoot = safeRelativePath(ref);
    if (this.paths.has(fromRoot)) return fromRoot;
    const named = this.byName.get(basename(fromRoot)) ?? [];
    if (named.length === 1) return named[0];
    if (named.length > 1) {
      throw new EntryError(
        'missing_media',
        `${ref}: not found at that path, and ${named.length} files share its name`,
      );
    }
    throw new EntryError(
      'missing_media',
      `${ref}: no such file beside ${manifestPath} or under the source root`,
    );
  }

  /** Files whose name without extension is `stem` (CSV formats name audio by id, not by file). */
  byStem(stem: string, extensions: string[]): string[] {
    return extensions.flatMap((ext) => this.byName.get(`${stem}.${ext}`) ?? []);
  }
}

/** Runs `build` and turns an EntryError into a failed planned item instead of failing the import. */
export function attempt<T>(build: () => T, onError: (err: EntryError) => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof EntryError) return onError(err);
    throw err;
  }
}
