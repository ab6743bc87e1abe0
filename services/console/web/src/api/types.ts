// The shapes the pages read and send, taken from the packages that define them (type-only
// imports: nothing of those packages reaches the browser bundle). The OpenAI model list is the
// one shape defined here, since it is OpenAI's and no package of ours declares it.
export type {
  CorpusManifest,
  DatasetManifest,
  DiversityReport,
  EncoderStats,
  FeatureJobResult,
  Histogram,
  ImportFormat,
  ItemRecord,
  ItemStatus,
  JobRecord,
  LoraTarget,
  MetricsLine,
  Page,
  RecipeInput,
  RunSpec,
  RunSpecInput,
  RunState,
  RunStatus,
  Sample,
  SampleKind,
  UploadResponse,
} from '@mmit/contracts';

export interface ModelList {
  object: 'list';
  data: { id: string; object: 'model'; created: number; owned_by: string }[];
}

/** The part of a streamed chat chunk the playground reads. */
export interface ChatChunk {
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number };
}
