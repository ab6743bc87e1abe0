// The object layout of the bucket, in one place: every key any service reads or writes is built
// here, so the layout can be documented and changed in one file. Keys never start with `/` and
// never contain `..`; ids are validated before they become part of a key, so a request parameter
// cannot reach outside its prefix.
import { ID_PREFIXES, type IdKind, idPattern } from './ids.js';

const SHA256 = /^[0-9a-f]{64}$/;
const EXT = /^[a-z0-9]{1,16}$/;
const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;
const EVENT_FILE = /^events\.out\.tfevents\.[0-9]{10}\.[A-Za-z0-9-]{1,64}\.[0-9]{3}-[0-9]{3}$/;

/** Thrown when a key would be built from a value that does not belong in it. */
export class InvalidKeyPartError extends Error {
  constructor(
    readonly part: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`invalid ${part} ${JSON.stringify(value)} for an object key: expected ${expected}`);
    this.name = 'InvalidKeyPartError';
  }
}

function sha(value: string): string {
  if (!SHA256.test(value)) throw new InvalidKeyPartError('sha256', value, '64 lowercase hex characters');
  return value;
}

function ext(value: string): string {
  const e = value.replace(/^\./, '').toLowerCase();
  if (!EXT.test(e)) throw new InvalidKeyPartError('extension', value, '1-16 characters of [a-z0-9]');
  return e;
}

function id(kind: IdKind, value: string): string {
  if (!idPattern(kind).test(value)) {
    throw new InvalidKeyPartError(`${kind} id`, value, `${ID_PREFIXES[kind]}_ + 22 base32 characters`);
  }
  return value;
}

function segment(part: string, value: string): string {
  if (!SEGMENT.test(value) || value === '.' || value === '..') {
    throw new InvalidKeyPartError(part, value, '1-128 characters of [A-Za-z0-9._-], not "." or ".."');
  }
  return value;
}

/** A feature shard's id: `s-` + 9 base-36 time characters + `-` + 8 hex (sorts by time). */
export const SHARD_ID = /^s-[0-9a-z]{9}-[0-9a-f]{8}$/;

function shardId(value: string): string {
  if (!SHARD_ID.test(value)) throw new InvalidKeyPartError('shard id', value, 's-<9 base-36>-<8 hex>');
  return value;
}

/** Content-addressed keys fan out on the first two hex characters so no prefix grows huge. */
function fanned(prefix: string, hash: string, extension: string): string {
  const h = sha(hash);
  return `${prefix}/${h.slice(0, 2)}/${h}.${ext(extension)}`;
}

export const keys = {
  /** Normalized media (bounded sRGB image, or the original audio file), by the sha256 of its bytes. */
  media: (sha256: string, extension: string) => fanned('media/sha256', sha256, extension),
  /** The original upload bytes, by the sha256 of those bytes (kept unless the corpus turns it off). */
  original: (sha256: string, extension: string) => fanned('media/original', sha256, extension),
  /** A small preview of an image, by the sha256 of the normalized media it shows. */
  thumbnail: (sha256: string, extension = 'webp') => fanned('media/thumb', sha256, extension),
  /** Audio resampled to 16 kHz mono (WAV), by the sha256 of the source audio bytes. */
  audio16k: (sha256: string) => fanned('media/audio16k', sha256, 'wav'),

  corporaPrefix: () => 'corpora/',
  corpusPrefix: (corpusId: string) => `corpora/${id('corpus', corpusId)}/`,
  corpusManifest: (corpusId: string) => `corpora/${id('corpus', corpusId)}/manifest.json`,
  corpusItemsPrefix: (corpusId: string) => `corpora/${id('corpus', corpusId)}/items/`,
  /** One part of a corpus's item records, one JSON record a line; parts sort in write order. */
  corpusItems: (corpusId: string, part: string) =>
    `corpora/${id('corpus', corpusId)}/items/${segment('part', part)}.jsonl`,

  /**
   * Who holds a source's bytes in a corpus: the first accepted item with those bytes, and every item
   * recorded with them (duplicates included). Exact duplicates are decided against this object, so
   * any replica decides the same way; it fans out like the media it names.
   */
  corpusSourceClaim: (corpusId: string, sourceSha256: string) => {
    const h = sha(sourceSha256);
    return `corpora/${id('corpus', corpusId)}/sources/${h.slice(0, 2)}/${h}.json`;
  },
  /**
   * One shard of the corpus's record of duplicate and rejected items (by the first two characters of
   * the item id), so a rerun of a source recognises them; accepted items are known by their claims.
   */
  corpusSeenShard: (corpusId: string, itemId: string) =>
    `corpora/${id('corpus', corpusId)}/seen/${id('item', itemId).slice(2, 4)}.json`,
  /** One bucket of the near-duplicate index: images whose perceptual hash has `value` in band `band`. */
  corpusNearBucket: (corpusId: string, band: number, value: number) => {
    if (!Number.isInteger(band) || band < 0 || band > 64)
      throw new InvalidKeyPartError('band', String(band), '0-64');
    if (!Number.isInteger(value) || value < 0)
      throw new InvalidKeyPartError('band value', String(value), 'an integer >= 0');
    return `corpora/${id('corpus', corpusId)}/phash/${band}/${value.toString(16)}.json`;
  },
  /** Whoever publishes items into the corpus holds this lock (publishes are serialized per corpus). */
  corpusPublishLock: (corpusId: string) => `corpora/${id('corpus', corpusId)}/publish.lock`,
  /** Item records an import unit made, waiting for the job's publish step. */
  corpusStagingPrefix: (corpusId: string, jobId: string) =>
    `corpora/${id('corpus', corpusId)}/staging/${id('job', jobId)}/`,
  corpusStaging: (corpusId: string, jobId: string, unit: number) => {
    if (!Number.isInteger(unit) || unit < 0)
      throw new InvalidKeyPartError('unit', String(unit), 'an integer >= 0');
    return `corpora/${id('corpus', corpusId)}/staging/${id('job', jobId)}/unit-${String(unit).padStart(6, '0')}.jsonl`;
  },

  datasetManifest: (datasetId: string) => `datasets/${id('dataset', datasetId)}/manifest.json`,
  datasetSamples: (datasetId: string, n: number) => {
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidKeyPartError('sample part', String(n), 'an integer >= 0');
    return `datasets/${id('dataset', datasetId)}/samples-${String(n).padStart(5, '0')}.jsonl`;
  },

  /**
   * Cached encoder output, per encoder key (encoder + layer + preprocessing; the features package
   * derives it): the encoder's record, shards of many items' features (a tensor per media sha256)
   * and one index segment per shard, written after it. Shards and segments are never overwritten.
   */
  featuresPrefix: (encoderKey: string) => `features/${segment('encoder key', encoderKey)}/`,
  featuresEncoder: (encoderKey: string) => `features/${segment('encoder key', encoderKey)}/encoder.json`,
  featureShardsPrefix: (encoderKey: string) => `features/${segment('encoder key', encoderKey)}/shards/`,
  featureShard: (encoderKey: string, shard: string) =>
    `features/${segment('encoder key', encoderKey)}/shards/${shardId(shard)}.safetensors`,
  featureIndexPrefix: (encoderKey: string) => `features/${segment('encoder key', encoderKey)}/index/`,
  featureIndexSegment: (encoderKey: string, shard: string) =>
    `features/${segment('encoder key', encoderKey)}/index/${shardId(shard)}.json`,

  runPrefix: (runId: string) => `runs/${id('run', runId)}/`,
  runSpec: (runId: string) => `runs/${id('run', runId)}/spec.json`,
  runState: (runId: string) => `runs/${id('run', runId)}/state.json`,
  runMetrics: (runId: string) => `runs/${id('run', runId)}/metrics.jsonl`,
  /** TensorBoard event files of a run: one per attempt (S3 has no append), read by `mmit train tensorboard`. */
  runTensorboardPrefix: (runId: string) => `runs/${id('run', runId)}/tensorboard/`,
  runTensorboardFile: (runId: string, name: string) => {
    if (!EVENT_FILE.test(name))
      throw new InvalidKeyPartError(
        'event file',
        name,
        'events.out.tfevents.<seconds>.<host>.<attempt>-<part>',
      );
    return `runs/${id('run', runId)}/tensorboard/${name}`;
  },
  runCheckpoint: (runId: string, step: number) => {
    if (!Number.isInteger(step) || step < 0)
      throw new InvalidKeyPartError('step', String(step), 'an integer >= 0');
    return `runs/${id('run', runId)}/checkpoints/step-${step}/`;
  },

  /**
   * A run's exports (the trainer's export jobs): per export, its request (written when it is
   * asked for, so a listing finds exports still running), its files, and the manifest, written last.
   */
  runExportsPrefix: (runId: string) => `exports/${id('run', runId)}/`,
  runExportPrefix: (runId: string, exportId: string) => `exports/${id('run', runId)}/${id('job', exportId)}/`,
  runExportRequest: (runId: string, exportId: string) =>
    `exports/${id('run', runId)}/${id('job', exportId)}/request.json`,
  runExportManifest: (runId: string, exportId: string) =>
    `exports/${id('run', runId)}/${id('job', exportId)}/manifest.json`,
  runExportFilesPrefix: (runId: string, exportId: string) =>
    `exports/${id('run', runId)}/${id('job', exportId)}/files/`,
  /** One file of an export, at its path inside the export's folder (`hf/model.safetensors`). */
  runExportFile: (runId: string, exportId: string, path: string) =>
    `exports/${id('run', runId)}/${id('job', exportId)}/files/${path
      .split('/')
      .map((s) => segment('export file path', s))
      .join('/')}`,

  jobsPrefix: (service: string) => `jobs/${segment('service', service)}/`,
  job: (service: string, jobId: string) => `jobs/${segment('service', service)}/${id('job', jobId)}.json`,
  /**
   * An empty marker per job that has not ended yet: replicas look for work by listing these (a
   * handful) rather than every job record ever written. Removed when the job ends.
   */
  jobsOpenPrefix: (service: string) => `jobs-open/${segment('service', service)}/`,
  jobOpen: (service: string, jobId: string) => `jobs-open/${segment('service', service)}/${id('job', jobId)}`,
  /** A split job's work units: the plan (written once) and one state object per unit claimed. */
  jobUnitsPrefix: (service: string, jobId: string) =>
    `job-units/${segment('service', service)}/${id('job', jobId)}/`,
  jobPlan: (service: string, jobId: string) =>
    `job-units/${segment('service', service)}/${id('job', jobId)}/plan.json`,
  jobUnit: (service: string, jobId: string, n: number) => {
    if (!Number.isInteger(n) || n < 0) throw new InvalidKeyPartError('unit', String(n), 'an integer >= 0');
    return `job-units/${segment('service', service)}/${id('job', jobId)}/unit-${String(n).padStart(6, '0')}.json`;
  },

  /** An archive or file uploaded for a later import job. */
  upload: (uploadId: string, filename: string) =>
    `uploads/${id('upload', uploadId)}/${segment('filename', filename)}`,
  /** Everything of one upload: its object and its session records (deleted together). */
  uploadPrefix: (uploadId: string) => `uploads/${id('upload', uploadId)}/`,
  /**
   * A resumable upload's session record (target object, S3 multipart id, part size). Three segments
   * deep, so no session record is ever a valid upload key an import could name.
   */
  uploadSession: (uploadId: string) => `uploads/${id('upload', uploadId)}/_session/session.json`,
  /** One received part of a resumable upload (its size, sha256 and S3 etag), one object per part. */
  uploadPart: (uploadId: string, n: number) => {
    if (!Number.isInteger(n) || n < 1 || n > 10_000)
      throw new InvalidKeyPartError('part', String(n), 'an integer 1..10000');
    return `uploads/${id('upload', uploadId)}/_session/part-${String(n).padStart(5, '0')}.json`;
  },

  /** A scratch object under tmp/ (the start-up conditional-write probe), a nonce apart from any other writer. */
  staging: (finalKey: string, nonce: string) => `tmp/${segment('nonce', nonce)}/${finalKey}`,
} as const;

/**
 * An upload key from a request, read back into its parts: only a key that `keys.upload` itself
 * builds is accepted (so no `..`, no extra segments, no encoded separators); InvalidKeyPartError else.
 */
export function parseUploadKey(key: string): { uploadId: string; filename: string } {
  const match = /^uploads\/([^/]+)\/([^/]+)$/.exec(key);
  if (!match) throw new InvalidKeyPartError('upload key', key, 'uploads/<upload id>/<file name>');
  const [, uploadId, filename] = match;
  keys.upload(uploadId, filename);
  return { uploadId, filename };
}

const MEDIA_KEY =
  /^media\/(sha256|original|thumb|audio16k)\/([0-9a-f]{2})\/([0-9a-f]{64})\.([a-z0-9]{1,16})$/;

/**
 * A media key from a request (serve reads images by key), accepted only in the content-addressed
 * form the builders above make (`media/<kind>/<aa>/<sha256>.<ext>`, fan matching the hash).
 */
export function parseMediaKey(key: string): { kind: string; sha256: string; extension: string } {
  const match = MEDIA_KEY.exec(key);
  if (!match || match[2] !== match[3].slice(0, 2)) {
    throw new InvalidKeyPartError(
      'media key',
      key,
      'media/<sha256|original|thumb|audio16k>/<aa>/<sha256>.<ext>',
    );
  }
  return { kind: match[1], sha256: match[3], extension: match[4] };
}

/** The first-level prefixes of the layout, for docs and for tools that walk the bucket. */
export const KEY_PREFIXES = [
  'media/',
  'corpora/',
  'datasets/',
  'features/',
  'runs/',
  'jobs/',
  'jobs-open/',
  'job-units/',
  'uploads/',
  'tmp/',
] as const;
