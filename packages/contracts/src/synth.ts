// Zod schemas and types for synthesis: the recipe (kinds, generator, seed, filters, split), the
// LLaVA conversation record and our richer sample record, per-item outcomes, filter and diversity
// statistics, and the dataset manifest: stored objects and the synth service's HTTP payloads.
// @mmit/synth (the library that writes them) re-exports them.
import { z } from 'zod';
import { CorpusId, DatasetId, ItemId, JobId } from './ids.js';
import { ModalitySchema } from './item.js';

export const SAMPLE_KINDS = ['brief', 'detailed', 'conversation', 'reasoning', 'vqa'] as const;
export const SampleKindSchema = z.enum(SAMPLE_KINDS);
export type SampleKind = z.infer<typeof SampleKindSchema>;

export const GENERATORS = ['template', 'llm'] as const;
export const GeneratorNameSchema = z.enum(GENERATORS);
export type GeneratorName = z.infer<typeof GeneratorNameSchema>;

/** Words that describe the medium itself; an unsafe-word list may never contain them. */
export const PROTECTED_WORDS = [
  'image',
  'images',
  'picture',
  'pictures',
  'photo',
  'photograph',
  'audio',
  'sound',
  'sounds',
  'clip',
  'recording',
  'video',
  'scene',
] as const;

/** A short default list; deployments replace it through the recipe. Matched as whole words. */
export const DEFAULT_UNSAFE_WORDS = [
  'porn',
  'pornographic',
  'nsfw',
  'nude',
  'naked',
  'gore',
  'decapitated',
  'rape',
];

export const KindPlanSchema = z
  .object({
    /** Samples of this kind made for each chosen item. */
    perItem: z.number().int().min(1).max(10).default(1),
    /** Fraction of items that get this kind, chosen deterministically from the seed. */
    ratio: z.number().min(0).max(1).default(1),
  })
  .meta({ id: 'KindPlan' });
export type KindPlan = z.infer<typeof KindPlanSchema>;

export const FilterConfigSchema = z
  .object({
    minAnswerWords: z.number().int().min(0).default(1),
    maxAnswerWords: z.number().int().min(1).default(400),
    maxQuestionWords: z.number().int().min(1).default(60),
    /** Samples whose word-shingle Jaccard similarity (MinHash estimate) reaches this are near duplicates. */
    nearDuplicateThreshold: z.number().min(0.5).max(1).default(0.85),
    /**
     * Where duplicates are looked for: `media` (among samples of the same image or clip, near
     * duplicate images counting as one, since two different images may share a caption and both
     * be worth training on) or `dataset` (among all samples, for text-only deduplication).
     */
    duplicateScope: z.enum(['media', 'dataset']).default('media'),
    /** Self-Instruct's rule: drop a generated instruction whose ROUGE-L F1 against an earlier one exceeds this. */
    instructionSimilarity: z.number().min(0).max(1).default(0.7),
    /**
     * Which earlier instructions count: `item` (the same item's other questions) or `dataset`
     * (every kept generated question, as Self-Instruct does for a task pool). Pool instructions
     * (brief/detailed) repeat by design and are never checked.
     */
    instructionScope: z.enum(['item', 'dataset']).default('item'),
    hedging: z.boolean().default(true),
    grounding: z.boolean().default(true),
    /** ISO 639-1 code of the language to keep (captions and answers in others are dropped). */
    language: z
      .string()
      .regex(/^[a-z]{2}$/)
      .default('en'),
    unsafeWords: z
      .array(z.string().trim().toLowerCase().min(1))
      .default(DEFAULT_UNSAFE_WORDS)
      .refine((words) => !words.some((w) => (PROTECTED_WORDS as readonly string[]).includes(w)), {
        message: `unsafe words may not include words that name the medium (${PROTECTED_WORDS.join(', ')})`,
      }),
  })
  .meta({ id: 'FilterConfig' });
export type FilterConfig = z.infer<typeof FilterConfigSchema>;

export const LlmOptionsSchema = z
  .object({
    /** Overrides the service's configured model. */
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).default(0.2),
    maxTokens: z.number().int().min(16).max(8192).default(700),
    /** Requests in flight at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
    requestsPerMinute: z.number().int().min(1).max(100_000).default(600),
    timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
    /** Retries after the first attempt, with exponential backoff. */
    retries: z.number().int().min(0).max(10).default(2),
    /** Per-job limits; requests answered from the cache do not count. */
    maxRequests: z.number().int().positive().optional(),
    maxTotalTokens: z.number().int().positive().optional(),
  })
  .meta({ id: 'LlmOptions' });
export type LlmOptions = z.infer<typeof LlmOptionsSchema>;

export const RecipeSchema = z
  .object({
    kinds: z
      .partialRecord(SampleKindSchema, KindPlanSchema)
      .refine((kinds) => Object.keys(kinds).length > 0, {
        message: `name at least one kind of ${SAMPLE_KINDS.join(', ')}`,
      }),
    generator: GeneratorNameSchema.default('template'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    filters: FilterConfigSchema.default(FilterConfigSchema.parse({})),
    split: z.object({ validation: z.number().min(0).max(0.5).default(0.05) }).default({ validation: 0.05 }),
    llm: LlmOptionsSchema.default(LlmOptionsSchema.parse({})),
    /** Use at most this many items of the corpus (in corpus order). */
    maxItems: z.number().int().positive().optional(),
  })
  .meta({ id: 'Recipe' });
export type Recipe = z.infer<typeof RecipeSchema>;
export type RecipeInput = z.input<typeof RecipeSchema>;

export const TurnSchema = z
  .object({ from: z.enum(['human', 'gpt']), value: z.string() })
  .meta({ id: 'Turn' });
export type Turn = z.infer<typeof TurnSchema>;

/** LLaVA's conversation record: `<image>` or `<audio>` appears once, in the first human turn. */
export const LlavaRecordSchema = z
  .object({
    id: z.string(),
    image: z.string().optional(),
    audio: z.string().optional(),
    conversations: z.array(TurnSchema).min(2),
  })
  .meta({ id: 'LlavaRecord' });
export type LlavaRecord = z.infer<typeof LlavaRecordSchema>;

export const SplitSchema = z.enum(['train', 'validation']);
export type Split = z.infer<typeof SplitSchema>;

/** One stored sample (a line of `samples-*.jsonl`): the LLaVA record plus where it came from. */
export const SampleSchema = LlavaRecordSchema.extend({
  kind: SampleKindSchema,
  itemId: ItemId,
  modality: ModalitySchema,
  split: SplitSchema,
  generator: GeneratorNameSchema,
  /** sha256 of the item's media, the key the feature cache uses. */
  mediaSha256: z.string().optional(),
}).meta({ id: 'Sample' });
export type Sample = z.infer<typeof SampleSchema>;

export const OUTCOME_REASONS = [
  'no_captions',
  'non_target_language',
  'nothing_to_ask',
  'llm_timeout',
  'llm_http_error',
  'llm_invalid_reply',
  'llm_unreachable',
  'llm_budget_exhausted',
  'all_filtered',
] as const;
export const OutcomeReasonSchema = z.enum(OUTCOME_REASONS);
export type OutcomeReason = z.infer<typeof OutcomeReasonSchema>;

/** What became of one item: samples kept, and why anything planned for it was not made. */
export const ItemSynthOutcomeSchema = z
  .object({
    index: z.number().int().nonnegative(),
    itemId: ItemId,
    source: z.string(),
    /**
     * ok: everything planned was made; partial: some of it; skipped: nothing (no usable captions);
     * failed: nothing (the generator failed every time); filtered: nothing (filters removed all).
     */
    status: z.enum(['ok', 'partial', 'skipped', 'failed', 'filtered']),
    samples: z.number().int().nonnegative(),
    problems: z.array(
      z.object({ kind: SampleKindSchema.optional(), reason: OutcomeReasonSchema, detail: z.string() }),
    ),
  })
  .meta({ id: 'ItemSynthOutcome' });
export type ItemSynthOutcome = z.infer<typeof ItemSynthOutcomeSchema>;

export const FILTER_NAMES = [
  'empty',
  'too_short',
  'too_long',
  'unsafe',
  'language',
  'hedging',
  'ungrounded',
  'similar_instruction',
  'exact_duplicate',
  'near_duplicate',
] as const;
export const FilterNameSchema = z.enum(FILTER_NAMES);
export type FilterName = z.infer<typeof FilterNameSchema>;

const Count = z.number().int().nonnegative();
/** Per filter: question-answer turns it removed, and whole samples it removed (the last turn, or a duplicate). */
export const FilterStatsSchema = z
  .object({
    considered: z.object({ samples: Count, turns: Count }),
    kept: z.object({ samples: Count, turns: Count }),
    removed: z.partialRecord(FilterNameSchema, z.object({ samples: Count, turns: Count })),
  })
  .meta({ id: 'FilterStats' });
export type FilterStats = z.infer<typeof FilterStatsSchema>;

export const HistogramSchema = z.object({
  /** Bucket i counts values in [edges[i], edges[i+1]); the last bucket is open-ended. */
  edges: z.array(z.number()),
  counts: z.array(Count),
});
export type Histogram = z.infer<typeof HistogramSchema>;

export const DiversityReportSchema = z
  .object({
    samples: Count,
    instructions: Count,
    distinctInstructions: Count,
    /** Distinct first-three-word openings of instructions, and the most common ones. */
    distinctOpenings: Count,
    topOpenings: z.array(z.object({ opening: z.string(), count: Count })),
    /** The instruction's main verb and its object noun (Self-Instruct's diversity plot), top 20. */
    topVerbNouns: z.array(z.object({ verb: z.string(), noun: z.string(), count: Count })),
    instructionWords: HistogramSchema,
    answerWords: HistogramSchema,
    turnsPerSample: HistogramSchema,
  })
  .meta({ id: 'DiversityReport' });
export type DiversityReport = z.infer<typeof DiversityReportSchema>;

export const LlmUsageSchema = z
  .object({ requests: Count, tokens: Count, cacheHits: Count, failures: Count })
  .meta({ id: 'LlmUsage' });
export type LlmUsage = z.infer<typeof LlmUsageSchema>;

export const DatasetPartSchema = z.object({
  n: Count,
  samples: Count,
  /** Corpus item positions [itemsFrom, itemsTo) whose samples this part holds. */
  itemsFrom: Count,
  itemsTo: Count,
});
export type DatasetPart = z.infer<typeof DatasetPartSchema>;

export const DatasetCountsSchema = z
  .object({
    items: Count,
    itemsWithSamples: Count,
    samples: Count,
    turns: Count,
    byKind: z.partialRecord(SampleKindSchema, Count),
    bySplit: z.object({ train: Count, validation: Count }),
    outcomes: z.object({ ok: Count, partial: Count, skipped: Count, failed: Count, filtered: Count }),
    /** How often each reason was given, over all items (an item can give several). */
    reasons: z.partialRecord(OutcomeReasonSchema, Count),
  })
  .meta({ id: 'DatasetCounts' });
export type DatasetCounts = z.infer<typeof DatasetCountsSchema>;

export const DatasetManifestSchema = z
  .object({
    id: DatasetId,
    name: z.string(),
    corpusId: CorpusId,
    jobId: JobId.optional(),
    status: z.enum(['building', 'ready', 'failed']),
    recipe: RecipeSchema,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    /** The corpus's item parts as they were when the job started; a resumed job reads the same items. */
    corpusParts: z.array(z.string()),
    /** Items the recipe covers (accepted corpus items, capped by maxItems); null until counted. */
    totalItems: Count.nullable(),
    /** Items fully processed and published (the resume point). */
    itemsDone: Count,
    parts: z.array(DatasetPartSchema),
    counts: DatasetCountsSchema,
    filters: FilterStatsSchema,
    llm: LlmUsageSchema,
    diversity: DiversityReportSchema.optional(),
    /** Plain-language notes on what the job could not do (e.g. no item had captions). */
    warnings: z.array(z.string()).default([]),
    version: Count,
  })
  .meta({ id: 'DatasetManifest' });
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

export const CreateDatasetRequestSchema = z
  .object({
    corpusId: CorpusId,
    name: z.string().trim().min(1).max(200).optional(),
    recipe: RecipeSchema,
  })
  .meta({ id: 'CreateDatasetRequest' });
export type CreateDatasetRequest = z.infer<typeof CreateDatasetRequestSchema>;

export const EXPORT_FORMATS = ['llava', 'sharegpt', 'jsonl'] as const;
export const ExportFormatSchema = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;
