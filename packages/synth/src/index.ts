// @mmit/synth: captions to instruction data, usable without the service. Sample kinds (brief,
// detailed, conversation, reasoning, vqa) for images and audio as LLaVA conversation records; the
// template and LLM generators; filters with counts; the diversity report; split and exports.

// The synthesis schemas live in @mmit/contracts; re-exported for the library's users.
export {
  type CreateDatasetRequest,
  CreateDatasetRequestSchema,
  type DatasetCounts,
  DatasetCountsSchema,
  type DatasetManifest,
  DatasetManifestSchema,
  type DatasetPart,
  DatasetPartSchema,
  DEFAULT_UNSAFE_WORDS,
  type DiversityReport,
  DiversityReportSchema,
  EXPORT_FORMATS,
  type ExportFormat,
  ExportFormatSchema,
  FILTER_NAMES,
  type FilterConfig,
  FilterConfigSchema,
  type FilterName,
  FilterNameSchema,
  type FilterStats,
  FilterStatsSchema,
  GENERATORS,
  type GeneratorName,
  GeneratorNameSchema,
  type Histogram,
  HistogramSchema,
  type ItemSynthOutcome,
  ItemSynthOutcomeSchema,
  type KindPlan,
  KindPlanSchema,
  type LlavaRecord,
  LlavaRecordSchema,
  type LlmOptions,
  LlmOptionsSchema,
  type LlmUsage,
  LlmUsageSchema,
  OUTCOME_REASONS,
  type OutcomeReason,
  OutcomeReasonSchema,
  PROTECTED_WORDS,
  type Recipe,
  type RecipeInput,
  RecipeSchema,
  SAMPLE_KINDS,
  type Sample,
  type SampleKind,
  SampleKindSchema,
  SampleSchema,
  type Split,
  SplitSchema,
  type Turn,
  TurnSchema,
} from '@mmit/contracts';
export { DiversityAccumulator, diversityOf, verbNoun } from './diversity.js';
export { type Draft, type DraftTurn, sampleId, stripMediaToken, toSample } from './draft.js';
export {
  type DraftedItem,
  DraftedItemSchema,
  type SampleSource,
  SampleSourceSchema,
  ScreenedDraftSchema,
} from './drafted.js';
export {
  EXPORT_CONTENT_TYPES,
  EXPORT_EXTENSIONS,
  exportChunks,
  type ShareGptRecord,
  toLlavaRecord,
  toShareGptRecord,
} from './exports.js';
export {
  emptyFilterStats,
  FilterChain,
  type Rejection,
  type ScreenedDraft,
  type ScreenedTurn,
} from './filters/chain.js';
export { ungroundedNouns } from './filters/grounding.js';
export { hedgingPhrase } from './filters/hedging.js';
export { detectLanguage, isOffTarget } from './filters/language.js';
export { estimateJaccard, MinHashIndex, signature } from './filters/minhash.js';
export { InstructionMemory, lcsLength, rougeL } from './filters/rouge.js';
export { shingleHashes, words } from './filters/text.js';
export { UnsafeWords } from './filters/unsafe.js';
export {
  BucketReplyCache,
  type CachedReply,
  llmCacheKey,
  MemoryReplyCache,
  type ReplyCache,
} from './generators/llm/cache.js';
export {
  ChatClient,
  type ChatClientOptions,
  type ChatMessage,
  type ChatReply,
  type ChatRequest,
  type CompleteOptions,
  completionsUrl,
} from './generators/llm/client.js';
export { LlmError, type LlmFailure } from './generators/llm/errors.js';
export {
  type LlmConnection,
  type LlmEndpoint,
  LlmGenerator,
  type LlmGeneratorOptions,
  llmConnection,
} from './generators/llm/generator.js';
export { RequestLimiter } from './generators/llm/limiter.js';
export { buildMessages, contextText } from './generators/llm/prompts.js';
export { TemplateGenerator } from './generators/template/index.js';
export type { GenerateRequest, GenerateResult, Generator } from './generators/types.js';
export { nounPhrases, type Token, tag, wordCount } from './nlp/analyze.js';
export { extractFacts, type Mention, type SceneFacts } from './nlp/facts.js';
export { distinctSamples, type PlannedSample, planItem, splitOf } from './plan.js';
export {
  BRIEF_AUDIO,
  BRIEF_IMAGE,
  briefPool,
  DETAILED_AUDIO,
  DETAILED_IMAGE,
  detailedPool,
} from './pools.js';
export { createRng, hash32, type Rng, unitHash } from './random.js';
export { type Box, type SourceItem, sourceItemFromRecord } from './source.js';
export {
  type BatchResult,
  DraftSettler,
  Synthesizer,
  type SynthesizerOptions,
  statusBeforeFilters,
  synthesize,
} from './synthesizer.js';
export {
  placeOf,
  VQA_FORMAT_PROMPT,
  type VqaQuestion,
  type VqaQuestionType,
  vqaPhrasing,
  vqaQuestions,
  vqaQuestionsOf,
} from './vqa.js';
