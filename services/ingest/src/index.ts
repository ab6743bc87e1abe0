// @mmit/ingest: the ingestion service (corpora, uploads, import jobs) and its importers, usable as
// a library (tests, the launcher, other services that need to read import formats).
export { createIngestService, INGEST_VERSION, type IngestService, type IngestServiceOptions } from './app.js';
export { INGEST_DEFAULT_PORT, ingestConfigSpec } from './config.js';
export { CorpusNotFoundError, CorpusStore } from './corpus/store.js';
export * from './importers/index.js';
export { type ImportContext, TooManyEntriesError } from './pipeline/run-import.js';
