// The exact sample count of an Ogg/Opus file, from its headers. ogg-opus-decoder 1.7 drops the pre-skip at
// the start but trims the end against the last granule position WITHOUT subtracting the pre-skip, so its
// output runs pre-skip samples (typically 312 = 6.5 ms) too long. RFC 7845 section 4: the playable length is
// the final page's granule position minus the pre-skip (at 48 kHz).

/** Playable length at 48 kHz, or null when the headers cannot be read (then nothing is trimmed). */
export function opusPlayableSamples(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const head = 27 + (bytes[26] ?? 0); // first packet, after the page header and its segment table
  if (bytes.length < head + 12) return null;
  const preSkip = view.getUint16(head + 10, true);
  // Pages are at most 65,307 bytes, so the last one starts within that distance of the end.
  for (let at = bytes.length - 27; at >= Math.max(0, bytes.length - 65_307); at--) {
    if (bytes[at] === 0x4f && bytes[at + 1] === 0x67 && bytes[at + 2] === 0x67 && bytes[at + 3] === 0x53) {
      const granule = view.getBigInt64(at + 6, true);
      if (granule < 0n) return null; // -1: no packet ends on this page
      return Math.max(0, Number(granule) - preSkip);
    }
  }
  return null;
}
