// Assembles the serving service: configuration, the bucket (optional: without one only the
// configured base models are served), the model catalog, the LRU of loaded models, the bounded
// request queue, metrics, and the OpenAI routes under /v1, where every error answers in OpenAI's
// shape. Readiness checks the bucket; shutdown (after HTTP has drained) releases every loaded model.
import { createService, type RunningService, type Service } from '@mmit/service-kit';
import { Bucket, type BucketConfig } from '@mmit/storage';
import { ModelCatalog } from './catalog/model-catalog.js';
import { SERVE_DEFAULT_PORT, serveConfigSpec } from './config.js';
import { ServedModel } from './engine/served-model.js';
import { createServeMetrics } from './metrics.js';
import { openAIErrorFormatter } from './openai/errors.js';
import { registerOpenAIRoutes } from './openai/routes.js';
import { admitBeforeBody } from './runtime/admission.js';
import { Completions } from './runtime/completions.js';
import { ModelCache } from './runtime/model-cache.js';
import { RequestQueue } from './runtime/request-queue.js';

import { SERVE_VERSION } from './version.js';

export { SERVE_VERSION };

export interface ServeServiceOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: the bucket named by MMIT_S3_* when MMIT_S3_ENDPOINT is set, else none. */
  bucket?: Bucket | BucketConfig | null;
}

export interface ServeService {
  service: Service<typeof serveConfigSpec>;
  bucket: Bucket | null;
  queue: RequestQueue;
  models: ModelCache<ServedModel>;
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

function bucketFrom(option: ServeServiceOptions['bucket'], env: NodeJS.ProcessEnv): Bucket | null {
  if (option instanceof Bucket) return option;
  if (option) return new Bucket(option);
  if (option === null || !env.MMIT_S3_ENDPOINT) return null;
  return Bucket.fromEnv(env);
}

export function createServeService(options: ServeServiceOptions = {}): ServeService {
  const env = options.env ?? process.env;
  // The shared JSON limit (1mb) is too small for inline images; the serve service has its own.
  const serviceEnv = { ...env, MMIT_JSON_BODY_LIMIT: env.MMIT_SERVE_BODY_LIMIT || '20mb' };
  const service = createService({
    name: 'serve',
    version: SERVE_VERSION,
    defaultPort: SERVE_DEFAULT_PORT,
    config: serveConfigSpec,
    env: serviceEnv,
    bodyLimitSetting: 'MMIT_SERVE_BODY_LIMIT',
  });
  const config = service.config;
  const bucket = bucketFrom(options.bucket, env);
  const catalog = new ModelCatalog(bucket, config.baseModels);
  const queue = new RequestQueue(config.concurrency, config.maxQueue);
  const models = new ModelCache<ServedModel>(
    config.maxLoadedModels,
    async (id) => {
      const started = performance.now();
      const model = await ServedModel.load(await catalog.definition(id), config.ep, config.threads);
      service.logger.info({ model: id, ms: Math.round(performance.now() - started) }, 'model loaded');
      return model;
    },
    (id) => service.logger.info({ model: id }, 'model evicted'),
  );
  const metrics = createServeMetrics(service.metrics.registry, {
    queued: () => queue.waiting,
    running: () => queue.active,
    loaded: () => models.size,
  });
  // Admission (or 429) before the JSON body, images and all, is parsed.
  const refusals = { retryAfterSec: config.retryAfterSec };
  service.beforeBody.post(
    '/v1/chat/completions',
    admitBeforeBody(queue, metrics, 'chat.completions', refusals),
  );
  service.beforeBody.post('/v1/completions', admitBeforeBody(queue, metrics, 'completions', refusals));
  registerOpenAIRoutes(service, {
    catalog,
    isLoaded: (id) => models.ids().includes(id),
    completions: new Completions(
      queue,
      models,
      metrics,
      new RequestQueue(config.decodeConcurrency, Number.MAX_SAFE_INTEGER),
    ),
    bucket,
    maxTokens: config.maxTokens,
    limits: {
      maxImageBytes: config.maxImageBytes,
      maxImagePixels: config.maxImagePixels,
      maxAudioBytes: config.maxAudioBytes,
      maxAudioSeconds: config.maxAudioSeconds,
      maxItems: config.maxImages,
      remote: {
        allow: config.allowRemoteUrls,
        allowedHosts: config.allowedHosts,
        allowPrivate: config.allowPrivateAddresses,
        maxBytes: config.maxImageBytes,
        timeoutMs: config.fetchTimeoutMs,
      },
    },
  });
  // Every error under /v1 in OpenAI's shape, including the shared layer's (API key, body size and
  // JSON syntax), which run before the routes; /healthz and /readyz stay problem+json.
  service.formatErrors('/v1', openAIErrorFormatter({ retryAfterSec: config.retryAfterSec }));
  if (bucket) service.addReadinessCheck('bucket', () => bucket.ping());
  service.onShutdown(() => models.clear());

  return {
    service,
    bucket,
    queue,
    models,
    start: (startOptions) => service.listen(startOptions),
  };
}
