// Column conventions of Hugging Face datasets, shared by the hf-folder and parquet importers:
// which column holds the captions, how a caption cell becomes caption strings, and the split an
// item belongs to (HF reads splits from folder and file names).
import { EntryError, SourceError } from './types.js';

/** Caption columns tried in this order when the import names none (the first one present wins). */
export const CAPTION_COLUMNS = ['text', 'caption', 'captions', 'sentence', 'transcription'] as const;

/**
 * The caption columns of a table with `columns`: the named ones (each must exist), else the first
 * conventional one. A table with none is refused whole: importing a dataset without its captions,
 * silently, would be worse than stopping with the list of columns it does have.
 */
export function captionColumnsOf(columns: string[], where: string, named?: string[]): string[] {
  if (named) {
    const missing = named.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new SourceError(
        `${where}: caption column(s) ${missing.join(', ')} not found; columns are [${columns.join(', ')}]`,
      );
    }
    return named;
  }
  const found = CAPTION_COLUMNS.find((c) => columns.includes(c));
  if (!found) {
    throw new SourceError(
      `${where}: no caption column (${CAPTION_COLUMNS.join(', ')}); columns are [${columns.join(', ')}]; ` +
        'name yours with options.columns.captions (mmit: --caption-column)',
    );
  }
  return [found];
}

/** A marker for a string cell whose bytes are not UTF-8 (kept so only that row fails). */
export class InvalidText {
  constructor(readonly bytes: Uint8Array) {}
}

/** Caption strings from one cell: a string or a list of strings; anything else fails the row. */
export function captionsOfCell(value: unknown, column: string, where: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const caption of list) {
    if (caption instanceof InvalidText) {
      throw new EntryError('invalid_caption', `${where}: column '${column}' is not valid UTF-8 text`);
    }
    if (typeof caption !== 'string') {
      const got = caption === null ? 'null' : caption instanceof Uint8Array ? 'bytes' : typeof caption;
      throw new EntryError(
        'invalid_caption',
        `${where}: column '${column}' must hold a string or a list of strings, got ${got}`,
      );
    }
    const trimmed = caption.trim();
    if (trimmed.length > 0) out.push(trimmed);
  }
  return out;
}

/** The captions of a row from its caption columns; a row with none fails (`missing_caption`). */
export function rowCaptions(row: Record<string, unknown>, columns: string[], where: string): string[] {
  const captions = columns.flatMap((c) => captionsOfCell(row[c], c, where));
  if (captions.length === 0) {
    throw new EntryError('missing_caption', `${where}: no caption in column ${columns.join(' or ')}`);
  }
  return captions;
}

const SPLIT_NAMES = /^(train|training|validation|valid|val|dev|test|testing|eval|evaluation)$/i;

/**
 * The split a path belongs to, HF's way: a folder named like a split (`train/`, `validation/`), or a
 * data file named `<split>-00000-of-00002.parquet` / `<split>.parquet`. Undefined when none says.
 */
export function splitOf(path: string): string | undefined {
  const parts = path.split('/');
  const file = parts.pop() ?? '';
  const fromFile = /^([A-Za-z]+)(?:[-_.]|$)/.exec(file)?.[1];
  if (fromFile && SPLIT_NAMES.test(fromFile)) return fromFile;
  return [...parts].reverse().find((p) => SPLIT_NAMES.test(p));
}
