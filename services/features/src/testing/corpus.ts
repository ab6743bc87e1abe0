// Test corpora written straight into the bucket, the way ingest publishes them (media objects by
// sha256, item records in a part file, then the manifest), so feature tests do not depend on the
// ingest service's HTTP surface. Records are validated by the contracts schemas on the way in.
import { createHash } from 'node:crypto';
import {
  type CorpusManifest,
  CorpusManifestSchema,
  emptyCorpusCounts,
  type ItemRecord,
  ItemRecordSchema,
  keys,
  newId,
} from '@mmit/contracts';
import { encodeWav } from '@mmit/media';
import type { Bucket } from '@mmit/storage';
import sharp from 'sharp';

export type TestMedia =
  | { kind: 'image'; bytes: Buffer; width: number; height: number }
  | { kind: 'audio'; wav16k: Uint8Array; seconds: number }
  | { kind: 'broken-image'; bytes: Buffer };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A PNG of seeded noise over a gradient: distinct per seed, any size. */
export async function noisePng(width: number, height: number, seed: number): Promise<TestMedia> {
  const rgb = Buffer.alloc(width * height * 3);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < rgb.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    rgb[i] = ((state >>> 16) & 0x7f) + ((i * 3) % 128);
  }
  const bytes = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return { kind: 'image', bytes, width, height };
}

/** A 16 kHz mono tone with a little noise, as ingest's normalized audio copy. */
export function toneWav(seconds: number, hz: number): TestMedia {
  const samples = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < samples.length; i++) {
    samples[i] = 0.4 * Math.sin((2 * Math.PI * hz * i) / 16000) + 0.05 * Math.sin(i * 0.37);
  }
  return { kind: 'audio', wav16k: encodeWav(samples, 16000, 'pcm16'), seconds };
}

function recordFor(corpusId: string, media: TestMedia, index: number, duplicateOf?: ItemRecord): ItemRecord {
  const base = {
    id: newId('item'),
    corpusId,
    source: `item-${index}`,
    captions: [`caption ${index}`],
    extra: {},
    createdAt: new Date().toISOString(),
  };
  if (media.kind === 'audio') {
    const sha = sha256(media.wav16k);
    return ItemRecordSchema.parse({
      ...base,
      modality: 'audio',
      status: 'accepted',
      media: { sha256: sha, key: keys.media(sha, 'wav'), bytes: media.wav16k.length },
      audio: {
        durationSec: media.seconds,
        sampleRate: 16000,
        channels: 1,
        format: 'wav',
        normalizedKey: keys.audio16k(sha),
      },
    });
  }
  const sha = sha256(media.bytes);
  const width = media.kind === 'image' ? media.width : 8;
  const height = media.kind === 'image' ? media.height : 8;
  return ItemRecordSchema.parse({
    ...base,
    modality: 'image',
    status: duplicateOf ? 'duplicate' : 'accepted',
    ...(duplicateOf ? { duplicateOf: duplicateOf.id } : {}),
    media: { sha256: sha, key: keys.media(sha, 'png'), bytes: media.bytes.length },
    image: {
      width,
      height,
      format: 'png',
      originalWidth: width,
      originalHeight: height,
      originalFormat: 'png',
      phash: '0123456789abcdef',
    },
  });
}

/**
 * Publishes a corpus with one item per media (and `duplicates` extra items repeating the first
 * image, as ingest records exact duplicates). Returns the corpus id and the records.
 */
export async function writeCorpus(
  bucket: Bucket,
  media: TestMedia[],
  options: { duplicates?: number } = {},
): Promise<{ corpusId: string; items: ItemRecord[] }> {
  const corpusId = newId('corpus');
  const items: ItemRecord[] = [];
  for (const [i, m] of media.entries()) {
    const record = recordFor(corpusId, m, i);
    if (m.kind === 'audio') {
      await bucket.putBuffer(record.media!.key, Buffer.from(m.wav16k));
      await bucket.putBuffer(record.audio!.normalizedKey, Buffer.from(m.wav16k));
    } else {
      await bucket.putBuffer(record.media!.key, m.bytes);
    }
    items.push(record);
  }
  const firstImage = media.findIndex((m) => m.kind === 'image');
  for (let d = 0; d < (options.duplicates ?? 0) && firstImage >= 0; d++) {
    items.push(recordFor(corpusId, media[firstImage], media.length + d, items[firstImage]));
  }
  const part = 'p-000000001-00000001';
  await bucket.putBuffer(
    keys.corpusItems(corpusId, part),
    `${items.map((r) => JSON.stringify(r)).join('\n')}\n`,
  );
  const now = new Date().toISOString();
  const manifest: CorpusManifest = {
    id: corpusId,
    name: 'features test corpus',
    description: '',
    createdAt: now,
    updatedAt: now,
    options: { maxSide: 1024, keepOriginals: false, nearDuplicateThreshold: 6, thumbnailSide: 0 },
    counts: emptyCorpusCounts(),
    parts: [{ part, items: items.length }],
    version: 1,
  };
  await bucket.putJson(keys.corpusManifest(corpusId), manifest, CorpusManifestSchema);
  return { corpusId, items };
}
