// Item ids are derived, not drawn: the same source name with the same bytes in the same corpus
// always gets the same id, which is what makes a rerun of an import (or a re-sent upload) add
// nothing twice. They keep the `i_` + 22 base32 shape of every id, but do not sort by time.
import { createHash } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `what` is the sha256 of the item's bytes, or the refusal code for an entry that had none. */
export function itemIdFor(corpusId: string, source: string, what: string): string {
  const digest = createHash('sha256').update(`${corpusId}\0${source}\0${what}`).digest();
  let body = '';
  for (let i = 0; i < 22; i++) body += ALPHABET[digest[i] % 32];
  return `i_${body}`;
}
