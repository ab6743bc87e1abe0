// Which file names count as media. The extension is only a hint for finding items in a source:
// the service sniffs the bytes, so a `.jpg` that holds a PNG (or garbage) is still caught there.
import { extension } from './safe-path.js';
import type { MediaKind } from './types.js';

const IMAGE_EXTENSIONS = new Set([
  'jpg',
  'jpeg',
  'png',
  'webp',
  'gif',
  'tif',
  'tiff',
  'avif',
  'heic',
  'heif',
  'bmp',
]);
const AUDIO_EXTENSIONS = new Set(['wav', 'flac', 'mp3', 'ogg', 'opus', 'oga']);

export function mediaKindOf(path: string): MediaKind | undefined {
  const ext = extension(path);
  if (IMAGE_EXTENSIONS.has(ext)) return 'image';
  if (AUDIO_EXTENSIONS.has(ext)) return 'audio';
  return undefined;
}

export const AUDIO_EXTENSION_LIST = [...AUDIO_EXTENSIONS];
