// @mmit/features-service: the feature service (encoder features computed once per media item
// and encoder key, cached in the bucket), usable as a library by tests and the launcher.
export {
  createFeaturesService,
  FEATURES_VERSION,
  type FeaturesService,
  type FeaturesServiceOptions,
} from './app.js';
export { FEATURES_DEFAULT_PORT, featuresConfigSpec } from './config.js';
export { EncoderSpecError, type ResolvedEncoder, resolveEncoder } from './encoders/resolve.js';
export { EXTRACT_JOB } from './routes.js';
export { corpusMedia, datasetMedia, type MediaTask, SourceNotFoundError } from './sources.js';
