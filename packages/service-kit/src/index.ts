// @mmit/service-kit: the Express 5 service factory (config from env, pino logs with request ids,
// prom-client /metrics, /healthz + /readyz, problem+json errors or a format chosen per path prefix,
// validation, bearer auth, graceful shutdown) and the persistent job runner with progress over HTTP and SSE.
export * from './auth.js';
export * from './bucket-service.js';
export * from './config.js';
export * from './error-format.js';
export * from './errors.js';
export * from './health.js';
export * from './jobs/config.js';
export * from './jobs/lease.js';
export * from './jobs/metrics.js';
export * from './jobs/progress.js';
export * from './jobs/routes.js';
export * from './jobs/runner.js';
export * from './jobs/storage-wait.js';
export * from './logging.js';
export * from './metrics.js';
export * from './route.js';
export * from './service.js';
export * from './shutdown.js';
export * from './sse.js';
export * from './validate.js';
