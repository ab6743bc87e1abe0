// A tar archive (plain or gzip) read as a stream, front to back; `open` returns a fresh stream so
// importers can make more than one pass. Only one entry's bytes are ever held, and only when the
// importer asks for them; anything not read is drained. Links and directories are skipped.
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { safeRelativePath } from '../safe-path.js';
import { EntryError, SourceError } from '../types.js';
import { type FileTree, isHidden, type TreeEntry } from './types.js';

export interface TarTreeOptions {
  label: string;
  /** Opens the archive bytes from the start (a file, a bucket object). */
  open(): Promise<Readable>;
  gzip?: boolean;
}

export function tarTree({ label, open, gzip = false }: TarTreeOptions): FileTree {
  return {
    label,
    async *entries(): AsyncGenerator<TreeEntry> {
      const raw = await open();
      const parser = extract();
      const fail = (err: Error) =>
        parser.destroy(new SourceError(`${label}: cannot read the archive: ${err.message}`));
      raw.on('error', fail);
      if (gzip) raw.pipe(createGunzip().on('error', fail)).pipe(parser);
      else raw.pipe(parser);
      try {
        for await (const stream of parser) {
          const { name, size = 0, type } = stream.header;
          let consumed = false;
          if (type === 'file' || type === 'contiguous-file') {
            let path: string | undefined;
            try {
              path = safeRelativePath(name);
            } catch (err) {
              if (!(err instanceof EntryError)) throw err;
              yield { kind: 'refused', name, error: err };
            }
            if (path !== undefined && !isHidden(path)) {
              yield {
                kind: 'file',
                path,
                size,
                read: async () => {
                  if (consumed) throw new Error(`${label}: entry ${path} was already read or passed`);
                  consumed = true;
                  const chunks: Buffer[] = [];
                  for await (const chunk of stream) chunks.push(chunk as Buffer);
                  return Buffer.concat(chunks);
                },
              };
            }
          }
          if (!consumed) {
            consumed = true;
            for await (const _ of stream); // drain: tar is sequential, the next header follows these bytes
          }
        }
      } finally {
        raw.destroy();
      }
    },
  };
}

/** True when the first bytes are a gzip header, so `.tar.gz` works whatever its name says. */
export async function looksGzipped(open: () => Promise<Readable>): Promise<boolean> {
  const stream = await open();
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    }
    return false;
  } finally {
    stream.destroy();
  }
}
