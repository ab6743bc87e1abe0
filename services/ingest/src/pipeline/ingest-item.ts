// One item into a batch for a corpus: bytes in, a proposed item record and a per-item outcome out.
// Order of checks: the item's own limits (caption count and length, metadata depth) before anything
// else; then an item already in the corpus (same source name and bytes) is reported again, not
// re-added; bytes that an earlier item already holds become a `duplicate` of it without being
// decoded again; otherwise the bytes are sniffed (content decides image vs audio, whatever the name
// says), normalised, and stored content-addressed. The batch's publish step makes the final call
// on duplicates and near duplicates (publish.ts). Media errors reject this item only; storage
// errors are thrown, because then nothing else can succeed either.
import {
  type CorpusOptions,
  DEFAULT_MAX_CAPTION_CHARS,
  DEFAULT_MAX_CAPTIONS_PER_ITEM,
  DEFAULT_MAX_JSON_DEPTH,
  type ItemOutcome,
  type ItemRecord,
  keys,
  type Modality,
  type RejectionCode,
} from '@mmit/contracts';
import {
  extensionMatches,
  extensionOf,
  formatInfo,
  MediaError,
  normalizeAudio,
  normalizeImage,
  sha256Hex,
  sniffFormat,
  supportedFormats,
  UnsupportedMediaTypeError,
} from '@mmit/media';
import type { Bucket } from '@mmit/storage';
import { StorageError } from '@mmit/storage';
import type { CorpusBatch } from '../corpus/batch.js';
import { itemIdFor } from '../corpus/item-id.js';
import { type ItemLimits, itemLimitRefusal } from './item-limits.js';

export interface IngestSettings {
  bucket: Bucket;
  /** Falls back to the corpus's options; the service config can turn originals off globally. */
  keepOriginals?: boolean;
  /** Caption count and length, metadata depth (defaults: the contracts' DEFAULT_MAX_*). */
  limits?: ItemLimits;
}

const DEFAULT_ITEM_LIMITS: ItemLimits = {
  maxCaptionChars: DEFAULT_MAX_CAPTION_CHARS,
  maxCaptionsPerItem: DEFAULT_MAX_CAPTIONS_PER_ITEM,
  maxMetaDepth: DEFAULT_MAX_JSON_DEPTH,
};

export interface OfferedItem {
  index: number;
  source: string;
  /** A hint (extension, manifest field); the sniffed bytes decide. */
  kind: Modality;
  captions: string[];
  meta?: Record<string, unknown>;
}

function baseRecord(
  corpus: CorpusBatch,
  id: string,
  item: OfferedItem,
  extra: Record<string, unknown>,
): ItemRecord {
  return {
    id,
    corpusId: corpus.id,
    source: item.source,
    modality: item.kind,
    captions: item.captions,
    status: 'accepted',
    extra: { ...item.meta, ...extra },
    createdAt: new Date().toISOString(),
  };
}

/** Records an item that was refused before it had bytes (unsafe path, bad caption, cut-off upload). */
export async function refuseItem(
  corpus: CorpusBatch,
  item: OfferedItem,
  rejection: { type: RejectionCode; detail: string },
): Promise<ItemOutcome> {
  const id = itemIdFor(corpus.id, item.source, `refused:${rejection.type}`);
  const record: ItemRecord = { ...baseRecord(corpus, id, item, {}), status: 'rejected', rejection };
  if (corpus.proposed(id)) {
    return corpus.known({
      index: item.index,
      source: item.source,
      status: 'rejected',
      itemId: id,
      error: rejection,
    });
  }
  return corpus.propose(item.index, item.source, record);
}

export async function ingestItem(
  settings: IngestSettings,
  corpus: CorpusBatch,
  item: OfferedItem,
  bytes: Buffer,
): Promise<ItemOutcome> {
  const overLimit = itemLimitRefusal(item, settings.limits ?? DEFAULT_ITEM_LIMITS);
  // The oversized text is not kept, not even in the rejected record.
  if (overLimit) return refuseItem(corpus, { ...item, captions: [], meta: undefined }, overLimit);
  const sourceSha256 = sha256Hex(bytes);
  const id = itemIdFor(corpus.id, item.source, sourceSha256);
  return corpus.oneAtATime(sourceSha256, async () => {
    const twin = corpus.proposed(id);
    if (twin)
      return corpus.known({ index: item.index, source: item.source, status: twin.status, itemId: id });
    const holder = await corpus.holderOf(sourceSha256);
    if (holder?.id === id) {
      // Published before (a rerun): reported again, not added again.
      return corpus.known({ index: item.index, source: item.source, status: 'accepted', itemId: id });
    }
    const first = corpus.holderInBatch(sourceSha256) ?? holder;
    const record = first
      ? duplicateRecord(corpus, id, item, sourceSha256, first)
      : await buildRecord(settings, corpus, id, item, bytes, sourceSha256);
    return corpus.propose(item.index, item.source, record);
  });
}

/** A record for bytes another item holds: its media, no decoding. */
function duplicateRecord(
  corpus: CorpusBatch,
  id: string,
  item: OfferedItem,
  sourceSha256: string,
  first: Pick<ItemRecord, 'id' | 'modality' | 'media' | 'image' | 'audio'>,
): ItemRecord {
  const { media, image, audio, modality } = first;
  return {
    ...baseRecord(corpus, id, { ...item, kind: modality }, { sourceSha256 }),
    status: 'duplicate',
    duplicateOf: first.id,
    ...(media ? { media } : {}),
    ...(image ? { image: { ...image, nearDuplicateOf: undefined } } : {}),
    ...(audio ? { audio } : {}),
  };
}

async function buildRecord(
  settings: IngestSettings,
  corpus: CorpusBatch,
  id: string,
  item: OfferedItem,
  bytes: Buffer,
  sourceSha256: string,
): Promise<ItemRecord> {
  try {
    if (bytes.length === 0) throw new MediaError('empty_file', `${item.source} is empty (0 bytes)`);
    const format = sniffFormat(bytes);
    if (!format) throw new UnsupportedMediaTypeError(null, supportedFormats());
    const extra: Record<string, unknown> = { sourceSha256 };
    // A name that lies is not an error (the content decides), but it is worth telling the owner.
    if (!extensionMatches(item.source, format.format)) {
      extra.extensionMismatch = { extension: extensionOf(item.source), detected: format.format };
    }
    const offered = { ...item, kind: format.kind };
    return format.kind === 'image'
      ? await storeImage(settings, corpus, baseRecord(corpus, id, offered, extra), bytes, sourceSha256)
      : await storeAudio(settings, corpus, baseRecord(corpus, id, offered, extra), bytes);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    const rejection =
      err instanceof MediaError
        ? { type: err.code, detail: `${item.source}: ${err.message}` }
        : { type: 'internal' as const, detail: `${item.source}: ${(err as Error).message}` };
    return {
      ...baseRecord(corpus, id, item, { sourceSha256 }),
      status: 'rejected',
      rejection,
    };
  }
}

function keepOriginals(settings: IngestSettings, options: CorpusOptions): boolean {
  return (settings.keepOriginals ?? true) && options.keepOriginals;
}

async function storeImage(
  settings: IngestSettings,
  corpus: CorpusBatch,
  record: ItemRecord,
  bytes: Buffer,
  sourceSha256: string,
): Promise<ItemRecord> {
  const { options } = corpus.manifest;
  const image = await normalizeImage(bytes, {
    sourceSha256,
    maxSide: options.maxSide,
    ...(options.thumbnailSide > 0 ? { thumbnail: { side: options.thumbnailSide } } : {}),
  });
  const { bucket } = settings;
  const mediaKey = keys.media(image.sha256, image.format === 'jpeg' ? 'jpg' : 'png');
  const originalExt = formatInfo(image.originalFormat).extensions[0];
  const originalKey = keepOriginals(settings, options)
    ? keys.original(image.originalSha256, originalExt)
    : undefined;
  const thumbnailKey = image.thumbnail ? keys.thumbnail(image.sha256, image.thumbnail.format) : undefined;
  // Both keys are content addresses, so their hashes are known: the puts need not hash the bodies again.
  await Promise.all([
    bucket.putBuffer(mediaKey, image.bytes, { contentType: image.mime, sha256: image.sha256 }),
    originalKey
      ? bucket.putBuffer(originalKey, bytes, {
          contentType: formatInfo(image.originalFormat).mime,
          sha256: image.originalSha256,
        })
      : null,
    thumbnailKey && image.thumbnail
      ? bucket.putBuffer(thumbnailKey, image.thumbnail.bytes, {
          contentType: `image/${image.thumbnail.format}`,
        })
      : null,
  ]);
  return {
    ...record,
    modality: 'image',
    media: {
      sha256: image.sha256,
      key: mediaKey,
      ...(originalKey ? { originalKey } : {}),
      ...(thumbnailKey ? { thumbnailKey } : {}),
      bytes: image.bytes.length,
    },
    image: {
      width: image.width,
      height: image.height,
      format: image.format,
      originalWidth: image.originalWidth,
      originalHeight: image.originalHeight,
      originalFormat: image.originalFormat,
      phash: image.phash,
    },
  };
}

async function storeAudio(
  settings: IngestSettings,
  _corpus: CorpusBatch,
  record: ItemRecord,
  bytes: Buffer,
): Promise<ItemRecord> {
  const audio = await normalizeAudio(bytes);
  const info = formatInfo(audio.originalFormat);
  // For audio the source file itself is the stored media (codecs are lossy to re-encode); the
  // 16 kHz mono WAV beside it is what encoders read.
  const mediaKey = keys.media(audio.originalSha256, info.extensions[0]);
  const normalizedKey = keys.audio16k(audio.originalSha256);
  await Promise.all([
    settings.bucket.putBuffer(mediaKey, bytes, { contentType: info.mime }),
    settings.bucket.putBuffer(normalizedKey, Buffer.from(audio.wav), { contentType: 'audio/wav' }),
  ]);
  return {
    ...record,
    modality: 'audio',
    media: { sha256: audio.originalSha256, key: mediaKey, bytes: bytes.length },
    audio: {
      durationSec: audio.originalDurationSec,
      sampleRate: audio.originalSampleRate,
      channels: audio.originalChannels,
      format: audio.originalFormat,
      normalizedKey,
    },
  };
}
