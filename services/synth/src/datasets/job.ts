// The dataset job, split into units so any number of synth replicas share it:
// - plan (once, by whichever replica owns the job): fix the corpus's part list in the manifest
//   (a re-planned job reads the same items), count the accepted items, and cut them into units of
//   `partItems` consecutive items, each knowing the corpus parts that hold it and its share of the
//   recipe's LLM budget;
// - units (claimed one at a time by any replica): read the unit's items, generate their samples
//   and screen them with the filters that look at one draft alone, and store the drafts
//   create-if-absent under the unit's number. A unit run twice (its replica died, or lost its
//   lease) finds its drafts stored and reuses them, so the first finished run is the one that
//   counts, whoever ran it;
// - finish (the owner, once every unit succeeded): settle the drafts unit by unit in item order
//   with one filter chain (similar instructions and duplicates are judged against everything
//   before, exactly as one sequential pass would), write part n for unit n, and publish the
//   manifest `ready` with counts, filter statistics, LLM usage, the diversity report and warnings,
//   all computed afresh from the drafts, so a finish run twice writes the same.
// The output depends on the recipe and the corpus alone, never on which replica ran which unit
// or when. That is also why the LLM budget is divided among units by their item ranges instead
// of spent first come, first served. The manifest is only changed by compare-and-swap.

import { CorpusId, DatasetId, type JobRecord, type LlmOptions, type LlmUsage } from '@mmit/contracts';
import type { JobContext, Logger, SplitJobKind, UnitContext } from '@mmit/service-kit';
import { type Bucket, UpdateConflictError } from '@mmit/storage';
import {
  BucketReplyCache,
  type DatasetManifest,
  type DatasetPart,
  DiversityAccumulator,
  DraftSettler,
  emptyFilterStats,
  type Generator,
  type LlmConnection,
  LlmGenerator,
  llmConnection,
  type Recipe,
  RecipeSchema,
  Synthesizer,
  statusBeforeFilters,
  TemplateGenerator,
} from '@mmit/synth';
import { z } from 'zod';
import { corpusLayout, type PartSpan, readCorpusManifest, readItemRange } from '../corpus.js';
import { addBatch, emptyCounts, warningsOf } from './counts.js';
import type { DatasetStore } from './store.js';

export const DATASET_JOB = 'create-dataset';

export const DatasetJobParamsSchema = z.object({
  datasetId: DatasetId,
  corpusId: CorpusId,
  recipe: RecipeSchema,
});
export type DatasetJobParams = z.infer<typeof DatasetJobParamsSchema>;

const Count = z.number().int().nonnegative();

/** One unit: dataset positions [itemsFrom, itemsTo), where they are, and their share of the LLM budget. */
const DatasetUnitSchema = z.object({
  itemsFrom: Count,
  itemsTo: Count,
  /** The corpus parts that hold the unit's items, with the position of each part's first item. */
  parts: z.array(z.object({ part: z.string(), firstIndex: Count })),
  llmBudget: z.object({ requests: Count.optional(), tokens: Count.optional() }),
});
type DatasetUnit = z.infer<typeof DatasetUnitSchema>;

const DatasetSharedSchema = z.object({ totalItems: Count });
type DatasetShared = z.infer<typeof DatasetSharedSchema>;

/** What a unit reports (the finish step reads the drafts themselves). */
interface UnitResult {
  items: number;
  drafted: number;
  llm: LlmUsage;
}

export interface DatasetJobSettings {
  bucket: Bucket;
  store: DatasetStore;
  partItems: number;
  llm?: { baseUrl: string; model: string; apiKey?: string };
}

export interface DatasetJobResult {
  datasetId: string;
  items: number;
  samples: number;
  warnings: string[];
}

export class LlmNotConfiguredError extends Error {
  readonly problemCode = 'validation';
  constructor() {
    super(
      'recipe.generator is "llm" but the service has no MMIT_SYNTH_LLM_BASE_URL; set it or use generator "template"',
    );
    this.name = 'LlmNotConfiguredError';
  }
}

const NO_USAGE: LlmUsage = { requests: 0, tokens: 0, cacheHits: 0, failures: 0 };

function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return {
    requests: a.requests + b.requests,
    tokens: a.tokens + b.tokens,
    cacheHits: a.cacheHits + b.cacheHits,
    failures: a.failures + b.failures,
  };
}

/** The share of `budget` that falls to positions [from, to) of `total`; the shares add up to it exactly. */
function shareOf(budget: number | undefined, from: number, to: number, total: number): number | undefined {
  if (budget === undefined) return undefined;
  return Math.floor((budget * to) / total) - Math.floor((budget * from) / total);
}

/** Consecutive ranges of `size` items, each with the parts that hold it and its share of the budget. */
function cutUnits(spans: PartSpan[], total: number, size: number, llm: LlmOptions) {
  const units: { input: DatasetUnit; size: number }[] = [];
  for (let from = 0; from < total; from += size) {
    const to = Math.min(total, from + size);
    const parts = spans
      .filter((s) => s.items > 0 && s.firstIndex < to && s.firstIndex + s.items > from)
      .map(({ part, firstIndex }) => ({ part, firstIndex }));
    const llmBudget = {
      requests: shareOf(llm.maxRequests, from, to, total),
      tokens: shareOf(llm.maxTotalTokens, from, to, total),
    };
    units.push({ input: { itemsFrom: from, itemsTo: to, parts, llmBudget }, size: to - from });
  }
  return units;
}

export function datasetJob(
  settings: DatasetJobSettings,
): SplitJobKind<
  typeof DatasetJobParamsSchema,
  typeof DatasetUnitSchema,
  typeof DatasetSharedSchema,
  UnitResult,
  DatasetJobResult
> {
  const { bucket, store } = settings;
  // Units of one job running on this replica share one connection to the LLM endpoint, so the
  // recipe's `concurrency` and `requestsPerMinute` hold per replica however many units it runs at
  // once, and a dead endpoint is given up on once, not again by every unit.
  const connections = new Map<string, { connection: LlmConnection; users: number }>();

  async function withGenerator<T>(
    jobId: string,
    recipe: Recipe,
    budget: DatasetUnit['llmBudget'],
    work: (generator: Generator) => Promise<T>,
  ): Promise<T> {
    if (recipe.generator === 'template') return work(new TemplateGenerator());
    if (!settings.llm) throw new LlmNotConfiguredError();
    const shared = connections.get(jobId) ?? {
      connection: llmConnection(settings.llm, recipe.llm),
      users: 0,
    };
    shared.users++;
    connections.set(jobId, shared);
    try {
      const generator = new LlmGenerator({
        endpoint: settings.llm,
        options: { ...recipe.llm, maxRequests: budget.requests, maxTotalTokens: budget.tokens },
        cache: new BucketReplyCache(bucket),
        connection: shared.connection,
      });
      return await work(generator);
    } finally {
      if (--shared.users === 0) connections.delete(jobId);
    }
  }

  async function plan(ctx: JobContext<DatasetJobParams>) {
    const { datasetId, corpusId, recipe } = ctx.params;
    ctx.progress.note('reading the corpus');
    let manifest = await store.manifest(datasetId);
    if (manifest.corpusParts.length === 0) {
      const corpus = await readCorpusManifest(bucket, corpusId);
      const parts = corpus.parts.map((p) => p.part);
      // Of two planners, the first to fix the part list wins; both go on with what is stored.
      manifest = await store.update(datasetId, (m) =>
        m.corpusParts.length ? undefined : { ...m, corpusParts: parts },
      );
    }
    const { spans, total } = await corpusLayout(bucket, corpusId, manifest.corpusParts, recipe.maxItems);
    ctx.assertLease();
    await store.update(datasetId, (m) =>
      m.status !== 'building'
        ? undefined
        : {
            ...m,
            jobId: ctx.id,
            totalItems: total,
            itemsDone: 0,
            parts: [],
            counts: emptyCounts(),
            filters: emptyFilterStats(),
            llm: NO_USAGE,
          },
    );
    const shared: DatasetShared = { totalItems: total };
    return { units: cutUnits(spans, total, settings.partItems, recipe.llm), shared };
  }

  async function runUnit(
    ctx: UnitContext<DatasetJobParams, DatasetUnit> & { shared: DatasetShared },
  ): Promise<UnitResult> {
    const { datasetId, corpusId, recipe } = ctx.params;
    const { unit, n } = ctx;
    const size = unit.itemsTo - unit.itemsFrom;
    let drafts = await store.readDrafts(datasetId, n);
    if (!drafts) {
      const items = await readItemRange(bucket, corpusId, unit.parts, unit.itemsFrom, unit.itemsTo);
      const made = await withGenerator(ctx.id, recipe, unit.llmBudget, async (generator) => ({
        items: await new Synthesizer({ recipe, generator }).draft(items, ctx.signal),
        llm: generator instanceof LlmGenerator ? generator.usage() : NO_USAGE,
      }));
      ctx.assertLease();
      const stored = await store.storeDrafts(datasetId, {
        n,
        itemsFrom: unit.itemsFrom,
        itemsTo: unit.itemsTo,
        ...made,
      });
      drafts = stored.drafts;
      // Only the run that stored the drafts counts their items, so none is counted twice. A
      // progress figure: finish sets the final count, so a lost update is no reason to fail.
      if (stored.created) {
        await store
          .update(datasetId, (m) =>
            m.status === 'building' ? { ...m, itemsDone: m.itemsDone + size } : undefined,
          )
          .catch((err) => {
            if (!(err instanceof UpdateConflictError)) throw err;
            ctx.logger.warn({ err }, "the dataset's itemsDone was not moved on");
          });
      }
    }
    const lost = drafts.items.filter((d) => {
      const status = statusBeforeFilters(d);
      return status === 'failed' || status === 'skipped';
    }).length;
    // Absolute, not advanced: a unit run again must not count its items twice.
    ctx.progress.set(size, lost);
    return {
      items: size,
      drafted: drafts.items.reduce((sum, d) => sum + d.planned.filter((p) => p.ok).length, 0),
      llm: drafts.llm,
    };
  }

  async function finish(
    ctx: JobContext<DatasetJobParams> & { shared: DatasetShared },
    results: UnitResult[],
  ): Promise<DatasetJobResult> {
    const { datasetId } = ctx.params;
    // A finish run again after it published (its replica died before the job's record said so).
    const current = await store.manifest(datasetId);
    const ready = current.status === 'ready' ? current : await settleAll(ctx, results.length);
    return resultOf(ready);
  }

  /** Settles every unit's drafts in order, writes the parts, and publishes the manifest ready. */
  async function settleAll(
    ctx: JobContext<DatasetJobParams> & { shared: DatasetShared },
    units: number,
  ): Promise<DatasetManifest> {
    const { datasetId, recipe } = ctx.params;
    const settler = new DraftSettler({ recipe, generator: recipe.generator });
    const diversity = new DiversityAccumulator();
    const parts: DatasetPart[] = [];
    let counts = emptyCounts();
    let llm = NO_USAGE;
    for (let n = 0; n < units; n++) {
      ctx.signal.throwIfAborted();
      ctx.progress.note(`filtering part ${n + 1} of ${units}`);
      const drafts = await store.readDrafts(datasetId, n);
      if (!drafts) throw new Error(`the drafts of unit ${n} of dataset ${datasetId} are missing`);
      const batch = settler.settle(drafts.items);
      await store.writePart(datasetId, n, batch.samples, batch.outcomes);
      parts.push({
        n,
        samples: batch.samples.length,
        itemsFrom: drafts.itemsFrom,
        itemsTo: drafts.itemsTo,
      });
      counts = addBatch(counts, batch);
      llm = addUsage(llm, drafts.llm);
      for (const s of batch.samples) diversity.add(s);
    }
    const report = diversity.report();
    const filters = settler.stats();
    const totalItems = ctx.shared.totalItems;
    ctx.assertLease();
    return store.update(datasetId, (m) =>
      m.status === 'ready'
        ? undefined
        : {
            ...m,
            status: 'ready',
            totalItems,
            itemsDone: totalItems,
            parts,
            counts,
            filters,
            llm,
            diversity: report,
            warnings: warningsOf({ counts, totalItems }),
          },
    );
  }

  return {
    params: DatasetJobParamsSchema,
    unit: DatasetUnitSchema,
    shared: DatasetSharedSchema,
    plan,
    runUnit,
    finish,
    // Once the job's final record is stored (at least once, by whoever ended it): a failed or
    // cancelled job marks its dataset, and any job's drafts go.
    ended: async ({ record, params, logger }) => {
      await markDatasetOfEndedJob(store, record, logger);
      await store.deleteDrafts(params.datasetId);
    },
  };
}

/**
 * Marks the dataset of a dataset job that ended failed or cancelled: its manifest turns `failed`,
 * its warnings say why (a failed dataset is not resumed). Called through the engine's `ended`
 * hook, at least once per job; a dataset already ready or failed keeps its status.
 */
export async function markDatasetOfEndedJob(
  store: DatasetStore,
  record: JobRecord,
  logger: Logger,
): Promise<void> {
  if (record.kind !== DATASET_JOB || (record.status !== 'failed' && record.status !== 'cancelled')) return;
  const why =
    record.status === 'cancelled'
      ? 'the job was cancelled'
      : `the job failed: ${record.error?.detail ?? record.error?.title ?? 'no reason was recorded'}`;
  try {
    const { datasetId } = DatasetJobParamsSchema.parse(record.params);
    await store.update(datasetId, (m) =>
      m.status === 'building' ? { ...m, status: 'failed', warnings: [...m.warnings, why] } : undefined,
    );
  } catch (err) {
    logger.error({ err, job: record.id }, 'could not mark the dataset failed');
  }
}

function resultOf(manifest: DatasetManifest): DatasetJobResult {
  return {
    datasetId: manifest.id,
    items: manifest.counts.items,
    samples: manifest.counts.samples,
    warnings: manifest.warnings,
  };
}
