// @mmit/synth-service: the synthesis service (datasets from corpora, as background jobs), usable
// as a library by tests and the launcher.
export {
  createSynthService,
  DATASET_JOBS_PATH,
  SYNTH_VERSION,
  type SynthService,
  type SynthServiceOptions,
} from './app.js';
export { SYNTH_DEFAULT_PORT, synthConfigSpec } from './config.js';
export { CorpusNotFoundError, corpusLayout, readCorpusManifest, readItemRange } from './corpus.js';
export {
  DATASET_JOB,
  type DatasetJobParams,
  type DatasetJobResult,
  LlmNotConfiguredError,
} from './datasets/job.js';
export { DatasetNotFoundError, DatasetStore, datasetOutcomesKey } from './datasets/store.js';
