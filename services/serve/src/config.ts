// The serving service's own environment variables (on top of service-kit's shared ones and the
// MMIT_S3_* storage variables). One table: it validates at start-up and renders into docs/.
import { envBoolean, envVar } from '@mmit/service-kit';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '@mmit/tensor';
import { z } from 'zod';

export const SERVE_DEFAULT_PORT = 7075;

const MiB = 1024 * 1024;

/** `name=path,name2=path2` -> { name: path, ... }. */
const namedPaths = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    for (const entry of v
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const at = entry.indexOf('=');
      if (at <= 0 || at === entry.length - 1) {
        ctx.addIssue({ code: 'custom', message: `'${entry}' is not name=path` });
        continue;
      }
      out[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
    }
    return out;
  });

const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );

const count = (fallback: number, max = 1_000_000) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const serveConfigSpec = {
  baseModels: envVar(
    'MMIT_SERVE_BASE_MODELS',
    namedPaths,
    'Text-only base LMs to serve, as comma-separated name=checkpoint pairs (folder or Hugging Face repo id).',
  ),
  maxLoadedModels: envVar(
    'MMIT_SERVE_MAX_LOADED_MODELS',
    count(2, 64),
    'Models kept loaded (LRU); others load on first use.',
  ),
  concurrency: envVar('MMIT_SERVE_CONCURRENCY', count(1, 64), 'Generations that run at once.'),
  maxQueue: envVar(
    'MMIT_SERVE_MAX_QUEUE',
    z.coerce.number().int().min(0).max(100_000).default(16),
    'Requests that may wait for a generation slot (admitted before their body is read); beyond that the answer is 429 with Retry-After and Connection: close, the body unread.',
  ),
  decodeConcurrency: envVar(
    'MMIT_SERVE_DECODE_CONCURRENCY',
    count(4, 64),
    'Admitted requests whose images/audio are decoded at once (decoding runs after admission, so a 429 costs none).',
  ),
  retryAfterSec: envVar('MMIT_SERVE_RETRY_AFTER_SEC', count(2, 3600), 'Retry-After (seconds) on a 429.'),
  maxTokens: envVar(
    'MMIT_SERVE_MAX_TOKENS',
    count(256, 1_000_000),
    'Default and ceiling of max_tokens / max_completion_tokens (the context length caps it too).',
  ),
  bodyLimit: envVar(
    'MMIT_SERVE_BODY_LIMIT',
    z.string().default('20mb'),
    'Largest JSON request body (images and audio come inline as base64).',
  ),
  maxImageBytes: envVar(
    'MMIT_SERVE_MAX_IMAGE_BYTES',
    count(10 * MiB, 1024 * MiB),
    'Largest image, in bytes (413 above).',
  ),
  maxImagePixels: envVar(
    'MMIT_SERVE_MAX_IMAGE_PIXELS',
    count(40_000_000, 1_000_000_000),
    'Largest image in pixels from its header (decompression-bomb guard; 413 above).',
  ),
  maxImages: envVar('MMIT_SERVE_MAX_IMAGES', count(8, 256), 'Most images or audio clips in one request.'),
  maxAudioBytes: envVar(
    'MMIT_SERVE_MAX_AUDIO_BYTES',
    count(10 * MiB, 1024 * MiB),
    'Largest audio clip, in bytes (413 above).',
  ),
  maxAudioSeconds: envVar('MMIT_SERVE_MAX_AUDIO_SEC', count(30, 3600), 'Longest audio clip, in seconds.'),
  allowRemoteUrls: envVar(
    'MMIT_SERVE_ALLOW_REMOTE_URLS',
    envBoolean.default(false),
    'Fetch images given by http(s) URL (off: only data: URIs and bucket keys).',
  ),
  allowedHosts: envVar(
    'MMIT_SERVE_ALLOWED_HOSTS',
    list,
    'Comma-separated hosts remote images may come from (empty: any public host).',
  ),
  allowPrivateAddresses: envVar(
    'MMIT_SERVE_ALLOW_PRIVATE_ADDRESSES',
    envBoolean.default(false),
    'Let remote image URLs reach private, loopback and link-local addresses (SSRF guard off; trusted networks only).',
  ),
  fetchTimeoutMs: envVar(
    'MMIT_SERVE_FETCH_TIMEOUT_MS',
    count(10_000, 600_000),
    'Time limit for fetching one remote image.',
  ),
  ep: envVar(
    'MMIT_SERVE_EP',
    z.enum(EXECUTION_PROVIDERS as [ExecutionProvider, ...ExecutionProvider[]]).default('cpu'),
    'onnxruntime execution provider (cpu, webgpu, cuda; falls back to cpu with the reason logged).',
  ),
  threads: envVar(
    'MMIT_SERVE_THREADS',
    z.coerce.number().int().min(1).max(256).optional(),
    'Intra-op threads per session (default: all cores).',
  ),
};
