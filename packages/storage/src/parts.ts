// Cuts a byte stream into fixed-size parts for multipart upload. Only one part is held in memory
// at a time (plus the chunk being split), so upload memory stays bounded whatever the object size.
import type { Readable } from 'node:stream';

/** Yields `partSize`-byte buffers from the stream; the last may be shorter; none is empty. */
export async function* partsOf(
  stream: Readable | AsyncIterable<Buffer | Uint8Array | string>,
  partSize: number,
) {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const raw of stream) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    while (heldBytes + chunk.length >= partSize) {
      const take = partSize - heldBytes;
      held.push(chunk.subarray(0, take));
      yield Buffer.concat(held, partSize);
      chunk = chunk.subarray(take);
      held = [];
      heldBytes = 0;
    }
    if (chunk.length) {
      held.push(chunk);
      heldBytes += chunk.length;
    }
  }
  if (heldBytes) yield Buffer.concat(held, heldBytes);
}
