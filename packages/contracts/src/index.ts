// @mmit/contracts: zod schemas and TypeScript types for every HTTP payload and stored object,
// the bucket's key layout, id scheme, error codes, and the OpenAPI generator.
export * from './corpus.js';
export * from './env.js';
export * from './errors.js';
export * from './features.js';
export * from './ids.js';
export * from './ingest.js';
export * from './item.js';
export * from './jobs.js';
export * from './keys.js';
export * from './limits.js';
export * from './openapi.js';
export * from './pagination.js';
export * from './routes.js';
export * from './run-exports.js';
export * from './synth.js';
export * from './training.js';
export * from './traversal.js';
