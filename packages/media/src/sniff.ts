// Recognises a media format from its leading bytes, so a file is handled by what it is rather than by what
// its name claims. Only signatures are checked (no full parse): a match means "worth handing to that
// decoder", and the decoder still reports corrupt data. Formats we recognise but cannot decode (bmp, heic,
// Ogg Vorbis, ...) are returned with `supported: false` so callers can say exactly what was uploaded.

export type MediaKind = 'image' | 'audio';

export type MediaFormat =
  | 'jpeg'
  | 'png'
  | 'gif'
  | 'webp'
  | 'tiff'
  | 'avif'
  | 'heic'
  | 'bmp'
  | 'wav'
  | 'flac'
  | 'mp3'
  | 'ogg-opus'
  | 'ogg-vorbis'
  | 'ogg-other';

export interface FormatInfo {
  format: MediaFormat;
  kind: MediaKind;
  mime: string;
  /** File extensions (lower case, no dot) that honestly name this format; the first is canonical. */
  extensions: readonly string[];
  /** Whether this package can decode it (sharp's prebuilt libvips has no BMP or HEVC-coded HEIF). */
  supported: boolean;
}

const FORMATS: Record<MediaFormat, FormatInfo> = {
  jpeg: {
    format: 'jpeg',
    kind: 'image',
    mime: 'image/jpeg',
    extensions: ['jpg', 'jpeg', 'jpe', 'jfif'],
    supported: true,
  },
  png: { format: 'png', kind: 'image', mime: 'image/png', extensions: ['png'], supported: true },
  gif: { format: 'gif', kind: 'image', mime: 'image/gif', extensions: ['gif'], supported: true },
  webp: { format: 'webp', kind: 'image', mime: 'image/webp', extensions: ['webp'], supported: true },
  tiff: { format: 'tiff', kind: 'image', mime: 'image/tiff', extensions: ['tif', 'tiff'], supported: true },
  avif: { format: 'avif', kind: 'image', mime: 'image/avif', extensions: ['avif'], supported: true },
  heic: { format: 'heic', kind: 'image', mime: 'image/heic', extensions: ['heic', 'heif'], supported: false },
  bmp: { format: 'bmp', kind: 'image', mime: 'image/bmp', extensions: ['bmp'], supported: false },
  wav: { format: 'wav', kind: 'audio', mime: 'audio/wav', extensions: ['wav', 'wave'], supported: true },
  flac: { format: 'flac', kind: 'audio', mime: 'audio/flac', extensions: ['flac'], supported: true },
  mp3: { format: 'mp3', kind: 'audio', mime: 'audio/mpeg', extensions: ['mp3'], supported: true },
  'ogg-opus': {
    format: 'ogg-opus',
    kind: 'audio',
    mime: 'audio/ogg',
    extensions: ['opus', 'ogg', 'oga'],
    supported: true,
  },
  'ogg-vorbis': {
    format: 'ogg-vorbis',
    kind: 'audio',
    mime: 'audio/ogg',
    extensions: ['ogg', 'oga'],
    supported: false,
  },
  'ogg-other': {
    format: 'ogg-other',
    kind: 'audio',
    mime: 'audio/ogg',
    extensions: ['ogg', 'oga'],
    supported: false,
  },
};

export function formatInfo(format: MediaFormat): FormatInfo {
  return FORMATS[format];
}

/** Names of the formats this package decodes, per kind (for error messages and docs). */
export function supportedFormats(kind?: MediaKind): MediaFormat[] {
  return Object.values(FORMATS)
    .filter((f) => f.supported && (kind === undefined || f.kind === kind))
    .map((f) => f.format);
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  if (bytes.length < start + length) return '';
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((b, i) => bytes[offset + i] === b);
}

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);

/** ISO-BMFF (`ftyp` box): AVIF and HEIC share the container; the brands say which codec is inside. */
function sniffHeifFamily(bytes: Uint8Array): MediaFormat | null {
  if (ascii(bytes, 4, 4) !== 'ftyp') return null;
  const boxSize = Math.min(bytes.length, new DataView(bytes.buffer, bytes.byteOffset).getUint32(0));
  const brands = [ascii(bytes, 8, 4)];
  for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(ascii(bytes, at, 4));
  if (brands.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  if (brands.some((b) => HEIC_BRANDS.has(b) || b === 'mif1' || b === 'msf1')) return 'heic';
  return null;
}

/** An MPEG audio frame header: 11 sync bits, then version, layer, bitrate and rate fields with no reserved values. */
function isMpegFrameHeader(bytes: Uint8Array, at: number): boolean {
  if (bytes.length < at + 4) return false;
  const b1 = bytes[at + 1];
  const b2 = bytes[at + 2];
  if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 0b11;
  const layer = (b1 >> 1) & 0b11; // 00 is reserved in MPEG audio (and is what AAC's ADTS uses)
  const bitrate = b2 >> 4;
  const rate = (b2 >> 2) & 0b11;
  return version !== 0b01 && layer !== 0b00 && bitrate !== 0b1111 && rate !== 0b11;
}

/** Size of a leading ID3v2 tag (header + syncsafe size + optional footer), or 0 when there is none. */
function id3v2Length(bytes: Uint8Array): number {
  if (ascii(bytes, 0, 3) !== 'ID3' || bytes.length < 10) return 0;
  const size =
    ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
  const footer = bytes[5] & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/** The codec of an Ogg stream is named by the first packet of its first page. */
function sniffOgg(bytes: Uint8Array): MediaFormat {
  const segments = bytes[26] ?? 0;
  const packet = 27 + segments;
  if (ascii(bytes, packet, 8) === 'OpusHead') return 'ogg-opus';
  if (bytes[packet] === 0x01 && ascii(bytes, packet + 1, 6) === 'vorbis') return 'ogg-vorbis';
  return 'ogg-other';
}

/** The format of `bytes` judged by content alone, or null when nothing matches. */
export function sniffFormat(bytes: Uint8Array): FormatInfo | null {
  const format = sniff(bytes);
  return format ? FORMATS[format] : null;
}

function sniff(bytes: Uint8Array): MediaFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const head6 = ascii(bytes, 0, 6);
  if (head6 === 'GIF87a' || head6 === 'GIF89a') return 'gif';
  const riff = ascii(bytes, 0, 4);
  if (riff === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  if (riff === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE') return 'wav';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return 'tiff';
  const heif = sniffHeifFamily(bytes);
  if (heif) return heif;
  if (riff === 'fLaC') return 'flac';
  if (riff === 'OggS') return sniffOgg(bytes);
  const id3 = id3v2Length(bytes);
  if (id3 > 0) {
    // An ID3 tag says nothing about the codec after it: FLAC files occasionally carry one too.
    if (ascii(bytes, id3, 4) === 'fLaC') return 'flac';
    return 'mp3';
  }
  // A lone frame header is a weak signal, but the reserved-value checks rule out most other data and the
  // decoder has the final word.
  if (isMpegFrameHeader(bytes, 0)) return 'mp3';
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 26) return 'bmp';
  return null;
}

/** The lower-case extension of a file name without the dot ('' when it has none). */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Whether the file name's extension honestly names `format` (no extension counts as honest). */
export function extensionMatches(name: string, format: MediaFormat): boolean {
  const ext = extensionOf(name);
  return ext === '' || FORMATS[format].extensions.includes(ext);
}
