// Turns what the user picked (files, or a whole folder) into upload batches: media files with
// their captions from same-named `.txt` sidecars (`cat.jpg` + `cat.txt`), the way the folder
// importer reads a folder on the server. Files that are neither media nor a sidecar are listed
// as skipped, never dropped silently. Extensions mirror ingest's media-kinds.ts (the service
// sniffs the bytes anyway).
const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'heic', 'heif', 'bmp'];
const AUDIO_EXTENSIONS = ['wav', 'flac', 'mp3', 'ogg', 'opus', 'oga'];

export interface PickedFile {
  /** Path inside the picked folder (webkitRelativePath) or the bare name. */
  path: string;
  size: number;
}

export interface PlannedUpload<F extends PickedFile> {
  media: { file: F; captionFile?: F }[];
  skipped: { file: F; reason: string }[];
}

function extensionOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(dot + 1).toLowerCase();
}

function stem(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? path : path.slice(0, dot);
}

export function isMediaPath(path: string): boolean {
  const ext = extensionOf(path);
  return IMAGE_EXTENSIONS.includes(ext) || AUDIO_EXTENSIONS.includes(ext);
}

export function planUpload<F extends PickedFile>(files: F[]): PlannedUpload<F> {
  const sidecars = new Map<string, F>();
  for (const f of files) if (extensionOf(f.path) === 'txt') sidecars.set(stem(f.path), f);
  const media: PlannedUpload<F>['media'] = [];
  const skipped: PlannedUpload<F>['skipped'] = [];
  const usedSidecars = new Set<F>();
  for (const file of files) {
    if (isMediaPath(file.path)) {
      const captionFile = sidecars.get(stem(file.path));
      if (captionFile) usedSidecars.add(captionFile);
      media.push(captionFile ? { file, captionFile } : { file });
    }
  }
  for (const file of files) {
    if (isMediaPath(file.path) || usedSidecars.has(file)) continue;
    skipped.push({
      file,
      reason:
        extensionOf(file.path) === 'txt'
          ? 'caption file without a media file of the same name'
          : 'not an image or audio file',
    });
  }
  return { media, skipped };
}

/** Splits items into batches of at most `maxFiles` files and about `maxBytes` bytes each. */
export function batches<T extends { file: PickedFile }>(
  items: T[],
  maxFiles: number,
  maxBytes: number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxFiles || bytes + item.file.size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.file.size;
  }
  if (current.length) out.push(current);
  return out;
}

/** The import format an archive's name suggests, if any. */
export function archiveFormatOf(name: string): 'zip' | 'tar' | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (/\.(tar|tar\.gz|tgz)$/.test(lower)) return 'tar';
  return undefined;
}
