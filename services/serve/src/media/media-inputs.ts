// OpenAI content parts to media the model can take. Images: a `data:` URI (base64), an object in
// our bucket (`s3://<bucket>/<key>` or a bare key, under media/ only), or an http(s) URL when the
// configuration allows it (remote-fetch.ts). Each image goes through the same normalisation
// ingest applies (format check, decompression-bomb limit, EXIF orientation, sRGB, bounded size),
// so a served image reaches the encoder the way training images did. Audio: base64 wav/mp3/flac,
// decoded and resampled to 16 kHz mono. Every failure is a PromptError naming the part.
import { parseMediaKey } from '@mmit/contracts';
import { MediaError, normalizeAudio, normalizeImage } from '@mmit/media';
import type { Bucket } from '@mmit/storage';
import { PromptError, type ResolvedMedia } from '../engine/conversation.js';
import { fetchRemote, RemoteFetchError, type RemoteFetchPolicy } from './remote-fetch.js';

export interface MediaLimits {
  maxImageBytes: number;
  maxImagePixels: number;
  maxAudioBytes: number;
  remote: RemoteFetchPolicy;
}

/** Media over a byte limit: the HTTP layer answers 413. */
export class MediaTooLargeError extends PromptError {
  override name = 'MediaTooLargeError';
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (RFC 4648, padding optional, whitespace ignored); Buffer.from alone accepts garbage. */
export function decodeBase64(text: string, param: string, maxBytes: number): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (Math.floor((compact.length * 3) / 4) > maxBytes) {
    throw new MediaTooLargeError(
      `${param} holds about ${Math.floor((compact.length * 3) / 4)} bytes; the limit is ${maxBytes}`,
      param,
      'payload_too_large',
    );
  }
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    throw new PromptError(`${param} is not valid base64`, param, 'invalid_base64');
  }
  return Buffer.from(compact, 'base64');
}

function dataUri(url: string, param: string, maxBytes: number): Buffer {
  const match = /^data:([^;,]*)(;[^,]*)?,(.*)$/s.exec(url);
  if (!match || !(match[2] ?? '').split(';').includes('base64')) {
    throw new PromptError(
      `${param}: data URIs must be base64 (data:image/png;base64,...)`,
      param,
      'invalid_image_url',
    );
  }
  return decodeBase64(match[3], param, maxBytes);
}

async function bucketObject(
  bucket: Bucket | null,
  url: string,
  param: string,
  maxBytes: number,
): Promise<Buffer> {
  let key = url;
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const name = rest.slice(0, slash);
    if (slash < 0 || !bucket || name !== bucket.name) {
      throw new PromptError(
        `${param}: only objects in bucket '${bucket?.name ?? '(none)'}' can be read`,
        param,
        'invalid_image_url',
      );
    }
    key = rest.slice(slash + 1);
  }
  // Only a key the contracts' builders make: media/<kind>/<aa>/<sha256>.<ext>, nothing to climb with.
  try {
    parseMediaKey(key);
  } catch {
    throw new PromptError(
      `${param}: bucket keys must be content-addressed media keys, media/<kind>/<aa>/<sha256>.<ext> (got ${key})`,
      param,
      'invalid_image_url',
    );
  }
  if (!bucket) throw new PromptError(`${param}: this server has no bucket`, param, 'invalid_image_url');
  const stat = await bucket.stat(key).catch(() => null);
  if (!stat) throw new PromptError(`${param}: no object ${key} in the bucket`, param, 'image_not_found');
  if (stat.size > maxBytes) {
    throw new MediaTooLargeError(
      `${param}: ${key} has ${stat.size} bytes; the limit is ${maxBytes}`,
      param,
      'payload_too_large',
    );
  }
  return bucket.getBuffer(key);
}

async function imageBytes(
  bucket: Bucket | null,
  url: string,
  param: string,
  limits: MediaLimits,
): Promise<Buffer> {
  if (url.startsWith('data:')) return dataUri(url, param, limits.maxImageBytes);
  if (/^https?:\/\//i.test(url)) {
    try {
      return await fetchRemote(url, { ...limits.remote, maxBytes: limits.maxImageBytes });
    } catch (err) {
      if (!(err instanceof RemoteFetchError)) throw err;
      if (err.reason === 'too_large')
        throw new MediaTooLargeError(`${param}: ${err.message}`, param, 'payload_too_large');
      throw new PromptError(
        `${param}: ${err.message}`,
        param,
        err.reason === 'refused' ? 'url_refused' : 'image_fetch_failed',
      );
    }
  }
  return bucketObject(bucket, url, param, limits.maxImageBytes);
}

function mediaFailure(err: unknown, param: string): never {
  if (err instanceof MediaError) {
    if (err.code === 'image_too_large')
      throw new MediaTooLargeError(`${param}: ${err.message}`, param, 'image_too_large');
    const code = err.code === 'unsupported_media_type' ? 'unsupported_format' : err.code;
    throw new PromptError(`${param}: ${err.message}`, param, code);
  }
  throw err;
}

export async function resolveImage(
  bucket: Bucket | null,
  url: string,
  param: string,
  limits: MediaLimits,
): Promise<ResolvedMedia> {
  const raw = await imageBytes(bucket, url, param, limits);
  try {
    const image = await normalizeImage(raw, { maxInputPixels: limits.maxImagePixels });
    return { kind: 'image', bytes: image.bytes, param };
  } catch (err) {
    mediaFailure(err, param);
  }
}

export async function resolveAudio(
  data: string,
  format: string,
  param: string,
  limits: MediaLimits & { maxAudioSeconds: number },
): Promise<ResolvedMedia> {
  const bytes = decodeBase64(data, `${param}.data`, limits.maxAudioBytes);
  try {
    const audio = await normalizeAudio(bytes, { maxDurationSec: limits.maxAudioSeconds });
    if (audio.originalFormat !== format) {
      throw new PromptError(
        `${param}: format says ${format} but the data is ${audio.originalFormat}`,
        `${param}.format`,
        'format_mismatch',
      );
    }
    return { kind: 'audio', pcm: audio.pcm, sampleRate: audio.sampleRate, param };
  } catch (err) {
    mediaFailure(err, param);
  }
}
