// Caption text handling shared by every format: strict UTF-8 decoding (bytes that are not UTF-8
// are refused, never replaced with U+FFFD) and the one-caption-per-line sidecar rule.
import { EntryError } from './types.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new EntryError('invalid_caption', `${what} is not valid UTF-8 text`);
  }
}

/** A sidecar `.txt`: one caption per line, blank lines dropped, surrounding whitespace trimmed. */
export function captionsFromText(bytes: Uint8Array, what: string): string[] {
  return decodeUtf8(bytes, what)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** A `caption` string or `captions` array from a JSON record; anything else is an `invalid_caption`. */
export function captionsFromFields(record: Record<string, unknown>, what: string): string[] {
  const out: string[] = [];
  for (const field of ['caption', 'captions', 'text']) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    const list = Array.isArray(value) ? value : [value];
    for (const caption of list) {
      if (typeof caption !== 'string') {
        throw new EntryError(
          'invalid_caption',
          `${what}: field '${field}' must hold strings, got ${typeof caption}`,
        );
      }
      const trimmed = caption.trim();
      if (trimmed.length > 0) out.push(trimmed);
    }
  }
  return out;
}
