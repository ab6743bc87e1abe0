// Identifiers for stored objects: a one-letter kind prefix, an underscore, then 10 characters of
// millisecond timestamp and 12 random characters, all in Crockford base32 (like ULID). Ids sort by
// creation time as plain strings, so listing `corpora/` or `jobs/<service>/` in key order is also
// listing in creation order, and the prefix makes a pasted id say what it names.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** The kinds of thing that get ids, and their prefixes. */
export const ID_PREFIXES = {
  corpus: 'c',
  item: 'i',
  job: 'j',
  dataset: 'd',
  run: 'r',
  upload: 'u',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 12;
const BODY = `[${ALPHABET}]{${TIME_CHARS + RANDOM_CHARS}}`;

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(): string {
  const bytes = randomBytes(RANDOM_CHARS);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 32];
  return out;
}

/** A new id of the given kind, e.g. `newId('corpus')` -> `c_01JD5...`. */
export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${encodeRandom()}`;
}

/** The pattern an id of this kind matches. */
export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_${BODY}$`);
}

/** The creation time encoded in an id (milliseconds since the epoch). */
export function idTime(id: string): number {
  const body = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 1 + TIME_CHARS);
  let ms = 0;
  for (const ch of body) ms = ms * 32 + ALPHABET.indexOf(ch);
  return ms;
}

/** A zod schema accepting ids of one kind, with a message that shows the expected shape. */
export function idSchema(kind: IdKind) {
  const pattern = idPattern(kind);
  return z
    .string()
    .regex(pattern, {
      message: `expected a ${kind} id like ${ID_PREFIXES[kind]}_ followed by 22 base32 characters`,
    })
    .meta({
      description: `${kind} id (${ID_PREFIXES[kind]}_ + 22 Crockford base32 characters, time-sortable)`,
    });
}

export const CorpusId = idSchema('corpus');
export const ItemId = idSchema('item');
export const JobId = idSchema('job');
export const DatasetId = idSchema('dataset');
export const RunId = idSchema('run');
export const UploadId = idSchema('upload');
