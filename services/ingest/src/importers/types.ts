// What every importer yields: one entry per media file found in a source, or a failure that
// names the offending entry. Importers never throw for a bad entry (a bad item must not fail its
// neighbours); they throw only when the source itself cannot be read (missing folder, corrupt
// archive directory, manifest that is not JSON).

export type MediaKind = 'image' | 'audio';

/** Why an entry was refused before its bytes reached the media pipeline. */
export type EntryErrorCode =
  | 'unsafe_path' // archive or manifest path escapes its root (`../`, absolute, NUL)
  | 'invalid_caption' // caption bytes are not UTF-8, or a caption field has the wrong shape
  | 'missing_media' // a manifest names a file that the source does not hold
  | 'invalid_record' // a manifest record lacks the fields its format requires
  | 'missing_caption' // a row of a captioned dataset (hf-folder, parquet) has an empty caption cell
  | 'payload_too_large'; // the entry is bigger than the configured per-entry limit

export interface ImportEntry {
  type: 'entry';
  /** Position in the importer's (deterministic) output order; resuming skips entries below it. */
  index: number;
  /** The path or key as the input names it (archive path, manifest reference). */
  source: string;
  /** A hint from the extension or manifest field; the service sniffs the bytes anyway. */
  kind: MediaKind;
  captions: string[];
  meta?: Record<string, unknown>;
  /** The entry's bytes. For streaming archives, call it before pulling the next entry. */
  open(): Promise<Buffer>;
}

export interface ImportFailure {
  type: 'error';
  index: number;
  source: string;
  code: EntryErrorCode;
  detail: string;
}

export type ImportItem = ImportEntry | ImportFailure;

export interface ImportOptions {
  /** Entries with index below this were handled by an earlier run: skipped without reading them. */
  resumeAt?: number;
  /** Refuse entries larger than this many bytes (default 256 MiB). */
  maxEntryBytes?: number;
  /** Manifest formats: read only this manifest (a tree path) instead of every file of the format's type. */
  manifest?: string;
  /** Manifest formats: a folder (tree path) that media references are also resolved against. */
  mediaRoot?: string;
  /**
   * The caller only counts the entries and opens none: an importer may yield placeholders instead
   * of reading what it would need to judge each entry (Parquet rows).
   */
  countOnly?: boolean;
  /** Called once, before the first entry, with the number of entries the import will yield in all. */
  onTotal?: (total: number) => void;
  /** CSV formats other than AudioCaps/Clotho: the file column and the caption columns. */
  csv?: { fileColumn?: string; captionColumns?: string[] };
  /** hf-folder and parquet: the caption column(s), and parquet's media column. */
  columns?: { captions?: string[]; media?: string };
}

export const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024 * 1024;

/** A failure that belongs to one entry; carried through planning until the entry's turn comes. */
export class EntryError extends Error {
  constructor(
    readonly code: EntryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EntryError';
  }
}

/** The source as a whole cannot be imported (unreadable container, malformed manifest). */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}
