// @mmit/serve-service: OpenAI-compatible chat and completions over tuned runs and base LMs,
// usable as a library (tests, the launcher, benches).

export { argmax, createPicker, type SamplingParams } from '@mmit/inference';
export { createServeService, SERVE_VERSION, type ServeService, type ServeServiceOptions } from './app.js';
export { ModelCatalog, ModelNotFoundError } from './catalog/model-catalog.js';
export { listFinishedRuns, RunNotServableError, runDefinition } from './catalog/run-models.js';
export { SERVE_DEFAULT_PORT, serveConfigSpec } from './config.js';
export { type ContentPiece, PromptError, type ResolvedMedia, type Turn } from './engine/conversation.js';
export {
  type FinishReason,
  type GenerateOptions,
  type GenerationEvent,
  type ModelDefinition,
  type Prompt,
  ServedModel,
} from './engine/served-model.js';
export { TextStream } from './engine/text-stream.js';
export {
  checkRemoteUrl,
  fetchRemote,
  isPrivateAddress,
  RemoteFetchError,
  type RemoteFetchPolicy,
} from './media/remote-fetch.js';
export { OpenAIError, openAIErrorFormatter, toOpenAIError } from './openai/errors.js';
export { ModelCache } from './runtime/model-cache.js';
export { QueueFullError, RequestQueue } from './runtime/request-queue.js';
