// Multipart uploads (busboy, streamed): file parts become items as they arrive; captions come
// from `caption` fields sent before a file (each applies to the next file) or from a `captions`
// field holding JSON `{ "<filename>": "caption" | ["caption", ...] }`. Each file is held in
// memory only up to the per-file limit, and only once its first bytes look like media: a file
// that matches no known format is drained and rejected without being held. If the body stops
// mid-way, every file already received stays recorded, and the file that was being received is
// recorded as `upload_incomplete`.
//
// Text fields are limited to MMIT_INGEST_MAX_FIELD_BYTES and never cut: a `caption` over it
// rejects the file it belongs to; a `captions` map over it, or one that is not a JSON object of
// strings, refuses the request (400/413) when no file came before it, and otherwise rejects
// every file after it, each naming the field's problem. Caption count and length per item are
// ingestItem's limits (item-limits.ts).
//
// Limit: busboy decodes text fields itself (invalid UTF-8 becomes U+FFFD), so a caption field
// containing U+FFFD is refused as `invalid_caption`: the bytes cannot be told apart afterwards.
import type { IncomingMessage } from 'node:http';
import {
  type CorpusCounts,
  emptyCorpusCounts,
  type ItemOutcome,
  newId,
  type UploadResponse,
} from '@mmit/contracts';
import { sniffFormat, supportedFormats, UnsupportedMediaTypeError } from '@mmit/media';
import busboy from 'busboy';
import type { CorpusBatch } from '../corpus/batch.js';
import { publishBatch, withPublishLock } from '../corpus/publish.js';
import { mediaKindOf } from '../importers/media-kinds.js';
import { type IngestSettings, ingestItem, refuseItem } from './ingest-item.js';

export interface UploadLimits {
  maxFileBytes: number;
  maxFiles: number;
  /** MMIT_INGEST_MAX_FIELD_BYTES */
  maxFieldBytes: number;
}

/** Bytes of a file looked at before deciding whether it is media worth holding in memory. */
const SNIFF_BYTES = 64 * 1024;

export class UploadRequestError extends Error {
  constructor(
    readonly problemCode: 'validation' | 'unsupported_media_type' | 'payload_too_large',
    message: string,
  ) {
    super(message);
    this.name = 'UploadRequestError';
  }
}

function parseCaptionMap(value: string): Map<string, string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new UploadRequestError('validation', `the 'captions' field is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UploadRequestError(
      'validation',
      `the 'captions' field must be a JSON object of filename -> caption(s)`,
    );
  }
  const map = new Map<string, string[]>();
  for (const [name, captions] of Object.entries(parsed)) {
    const list = Array.isArray(captions) ? captions : [captions];
    if (!list.every((c) => typeof c === 'string')) {
      throw new UploadRequestError(
        'validation',
        `captions for ${name} must be a string or an array of strings`,
      );
    }
    map.set(name, list as string[]);
  }
  return map;
}

export function countOutcomes(outcomes: ItemOutcome[], corpus: CorpusBatch): CorpusCounts {
  const counts = emptyCorpusCounts();
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') {
      counts.rejected++;
      const reason = outcome.error?.type ?? 'internal';
      counts.rejectedByReason[reason] = (counts.rejectedByReason[reason] ?? 0) + 1;
    } else if (outcome.status === 'duplicate') counts.duplicate++;
    else {
      counts.accepted++;
      if (outcome.nearDuplicateOf) counts.nearDuplicate++;
      if (outcome.itemId && corpus.proposed(outcome.itemId)?.modality === 'audio') counts.audio++;
      else counts.images++;
    }
  }
  return counts;
}

export async function receiveUpload(
  req: IncomingMessage,
  settings: IngestSettings,
  corpus: CorpusBatch,
  limits: UploadLimits,
): Promise<UploadResponse> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fieldSize: limits.maxFieldBytes },
    });
  } catch (err) {
    throw new UploadRequestError(
      'unsupported_media_type',
      `expected a multipart/form-data body: ${(err as Error).message}`,
    );
  }
  const outcomes: ItemOutcome[] = [];
  // Files are ingested one after another in upload order, so duplicate and near-duplicate
  // decisions are made against every earlier file of the request (the first one is the original),
  // not against whichever concurrent neighbour happened to finish first.
  let work: Promise<void> = Promise.resolve();
  let nextCaptions: string[] = [];
  let nextCaptionTooLong = false;
  let captionMap = new Map<string, string[]>();
  // Files whose bytes are still arriving (busboy may start the next part before this one's 'end').
  const receiving = new Map<number, string>();
  let requestError: Error | undefined;
  // A broken `captions` field: the request fails if no file came before it, else later files do.
  let fieldError: UploadRequestError | undefined;
  let index = 0;

  const refuse = (
    at: number,
    source: string,
    type: Parameters<typeof refuseItem>[2]['type'],
    detail: string,
  ) => {
    const kind = mediaKindOf(source) ?? 'image';
    work = work.then(async () => {
      outcomes.push(await refuseItem(corpus, { index: at, source, kind, captions: [] }, { type, detail }));
    });
    work.catch(() => undefined);
  };

  const finished = new Promise<void>((resolve) => {
    parser.on('field', (name, value, info) => {
      if (name === 'caption') {
        // Over the field limit means over any caption limit too: the file it belongs to is refused.
        if (info.valueTruncated) nextCaptionTooLong = true;
        else nextCaptions.push(value.trim());
      } else if (name === 'captions') {
        try {
          if (info.valueTruncated) {
            throw new UploadRequestError(
              'payload_too_large',
              `the 'captions' field exceeds ${limits.maxFieldBytes} bytes (MMIT_INGEST_MAX_FIELD_BYTES)`,
            );
          }
          captionMap = parseCaptionMap(value);
        } catch (err) {
          fieldError ??= err as UploadRequestError;
        }
      }
    });
    parser.on('file', (_field, stream, info) => {
      const at = index++;
      const source = info.filename || `file-${at}`;
      const captions = (captionMap.get(source) ?? nextCaptions).filter((c) => c.length > 0);
      const captionTooLong = nextCaptionTooLong;
      nextCaptions = [];
      nextCaptionTooLong = false;
      if (fieldError) {
        stream.resume();
        if (at > 0) refuse(at, source, fieldError.problemCode, `${source}: ${fieldError.message}`);
        return;
      }
      receiving.set(at, source);
      let chunks: Buffer[] = [];
      let held = 0;
      let media = true;
      stream.on('data', (chunk: Buffer) => {
        if (!media) return;
        chunks.push(chunk);
        held += chunk.length;
        if (held >= SNIFF_BYTES && held - chunk.length < SNIFF_BYTES && !sniffFormat(Buffer.concat(chunks))) {
          media = false; // not media: drain the rest without holding it
          chunks = [];
        }
      });
      stream.on('error', () => undefined); // the parser's own 'error' reports the cut-off
      stream.on('end', () => {
        if (!receiving.delete(at)) return; // already reported as cut off
        if ((stream as { truncated?: boolean }).truncated) {
          refuse(
            at,
            source,
            'payload_too_large',
            `${source} exceeds the per-file limit of ${limits.maxFileBytes} bytes (MMIT_INGEST_MAX_FILE_BYTES)`,
          );
          return;
        }
        if (!media) {
          const why = new UnsupportedMediaTypeError(null, supportedFormats());
          refuse(at, source, 'unsupported_media_type', `${source}: ${why.message}`);
          return;
        }
        if (captionTooLong) {
          refuse(
            at,
            source,
            'payload_too_large',
            `the caption sent for ${source} exceeds ${limits.maxFieldBytes} bytes (MMIT_INGEST_MAX_FIELD_BYTES)`,
          );
          return;
        }
        if (captions.some((c) => c.includes('\uFFFD'))) {
          refuse(at, source, 'invalid_caption', `the caption sent for ${source} is not valid UTF-8`);
          return;
        }
        const kind = mediaKindOf(source) ?? 'image';
        const bytes = Buffer.concat(chunks);
        chunks = [];
        work = work.then(async () => {
          outcomes.push(await ingestItem(settings, corpus, { index: at, source, kind, captions }, bytes));
        });
        work.catch(() => undefined); // a storage failure is raised by `await work` below, not as unhandled
      });
    });
    const cutOff = async (reason: string) => {
      // A file whose closing boundary arrived in the last chunk ends on a later tick: let it.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      for (const [at, source] of receiving) {
        refuse(
          at,
          source,
          'upload_incomplete',
          `${source}: the upload ended before this file was complete (${reason})`,
        );
      }
      receiving.clear();
      resolve();
    };
    parser.on('filesLimit', () => {
      requestError ??= new UploadRequestError(
        'payload_too_large',
        `more than ${limits.maxFiles} files in one upload (MMIT_INGEST_MAX_FILES)`,
      );
    });
    parser.on('error', (err: Error) => cutOff(err.message));
    parser.on('close', () => resolve());
    req.on('aborted', () => cutOff('connection closed by the client'));
    req.on('error', (err) => cutOff(err.message));
  });
  req.pipe(parser);
  await finished;
  await work;
  if (fieldError && outcomes.length === 0) throw fieldError;
  if (requestError && outcomes.length === 0) throw requestError;
  if (outcomes.length === 0) {
    throw new UploadRequestError(
      'validation',
      'the upload holds no files: send one or more file parts (and caption fields)',
    );
  }
  // The batch becomes one part of the corpus; duplicates and near duplicates are decided there,
  // against everything published before it (by any replica).
  const uploadId = newId('upload');
  const published = await withPublishLock(settings.bucket, corpus.id, `upload ${uploadId}`, (check) =>
    publishBatch(
      {
        bucket: settings.bucket,
        corpusId: corpus.id,
        part: `u-${uploadId}`,
        order: `${new Date().toISOString()}/${uploadId}`,
        check,
      },
      corpus.list(),
    ),
  );
  return { corpusId: corpus.id, outcomes: published, counts: countOutcomes(published, corpus) };
}
