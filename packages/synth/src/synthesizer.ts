// The synthesis pipeline for a batch of items, in two steps. draft(): check captions (present,
// in the target language), read facts, plan the item's samples from the recipe, generate them
// (concurrently when the generator is remote) and screen them with the filters that look at one
// draft alone. That is the expensive part, and it depends on nothing but the item, so a dataset
// may be drafted in parts, anywhere, in any order. DraftSettler.settle(): apply the filters that
// remember earlier samples (similar instruction, duplicates) and record samples and outcomes,
// strictly in item order, so the filters' memory, and therefore the output, is the same however
// drafting was divided or interleaved. processBatch() does both. Every item gets an outcome that
// says what was made and what was not, and why.

import type {
  DiversityReport,
  FilterStats,
  GeneratorName,
  ItemSynthOutcome,
  Recipe,
  Sample,
} from '@mmit/contracts';
import { diversityOf } from './diversity.js';
import { type Draft, toSample } from './draft.js';
import type { DraftedItem, SampleSource } from './drafted.js';
import { FilterChain } from './filters/chain.js';
import { isOffTarget } from './filters/language.js';
import { words } from './filters/text.js';
import type { GenerateResult, Generator } from './generators/types.js';
import { extractFacts, type SceneFacts } from './nlp/facts.js';
import { distinctSamples, type PlannedSample, planItem, splitOf } from './plan.js';
import { createRng } from './random.js';
import { type SourceItem, samplingKey } from './source.js';

export interface BatchResult {
  samples: Sample[];
  outcomes: ItemSynthOutcome[];
}

export interface SynthesizerOptions {
  recipe: Recipe;
  generator: Generator;
  /** Generations in flight at once (default: the recipe's llm concurrency for `llm`, else 1). */
  concurrency?: number;
}

type Problem = ItemSynthOutcome['problems'][number];

interface PreparedItem {
  item: SourceItem;
  facts?: SceneFacts;
  /** Empty when the item has no usable captions. */
  plans: PlannedSample[];
  known: Set<string>;
  problems: Problem[];
}

export class Synthesizer {
  /** Settles what processBatch drafts; its filters keep the memory of every batch so far. */
  private readonly settler: DraftSettler;
  readonly filters: FilterChain;
  private readonly concurrency: number;

  constructor(private readonly options: SynthesizerOptions) {
    this.settler = new DraftSettler({ recipe: options.recipe, generator: options.generator.name });
    this.filters = this.settler.filters;
    this.concurrency =
      options.concurrency ?? (options.generator.name === 'llm' ? options.recipe.llm.concurrency : 1);
  }

  /** Feeds samples kept by an earlier run into the filters' memory (resume). */
  remember(samples: Iterable<Sample>, mediaGroupOf: (itemId: string) => string = (id) => id): void {
    for (const s of samples) this.filters.remember(s, mediaGroupOf(s.itemId));
  }

  /** Drafts and settles a batch: the batch's samples and outcomes, filtered against earlier batches too. */
  async processBatch(items: SourceItem[], signal?: AbortSignal): Promise<BatchResult> {
    return this.settler.settle(await this.draft(items, signal));
  }

  /** The first step alone: every item's planned samples, generated and screened, in item order. */
  async draft(items: SourceItem[], signal?: AbortSignal): Promise<DraftedItem[]> {
    const { recipe, generator } = this.options;
    const prepared = items.map((item) => this.prepare(item));
    const tasks = prepared.flatMap((p) => p.plans.map((plan) => ({ p, plan })));
    const results = new Array<GenerateResult>(tasks.length);
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const i = next++;
        const { p, plan } = tasks[i];
        signal?.throwIfAborted();
        const rng = createRng(recipe.seed, samplingKey(p.item), plan.kind, plan.index);
        results[i] = await generator.generate(
          { item: p.item, facts: p.facts!, kind: plan.kind, index: plan.index, seed: recipe.seed, rng },
          signal,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, tasks.length) }, worker));
    signal?.throwIfAborted();

    let t = 0;
    return prepared.map((p) => ({
      item: sampleSourceOf(p.item),
      usable: p.facts !== undefined,
      problems: p.problems,
      planned: p.plans.map(({ kind, index }) => {
        const result = results[t++];
        return result.ok
          ? { ok: true as const, kind, index, draft: this.filters.screen(result.draft, p.known) }
          : { ok: false as const, kind, index, reason: result.reason, detail: result.detail };
      }),
    }));
  }

  stats(): FilterStats {
    return this.settler.stats();
  }

  private prepare(item: SourceItem): PreparedItem {
    const known = new Set<string>();
    if (item.captions.length === 0) {
      return {
        item,
        plans: [],
        known,
        problems: [{ reason: 'no_captions', detail: 'the item has no non-empty caption' }],
      };
    }
    const language = this.options.recipe.filters.language;
    const captions = item.captions.filter((c) => !isOffTarget(c, language));
    const problems: Problem[] = [];
    if (captions.length < item.captions.length) {
      const dropped = item.captions.length - captions.length;
      problems.push({
        reason: 'non_target_language',
        detail: `${dropped} of ${item.captions.length} captions are not in ${language}${captions.length ? ' and were left out' : ''}`,
      });
    }
    if (captions.length === 0) return { item, plans: [], known, problems };
    const categories = item.boxes.flatMap((b) => words(b.category));
    const facts = extractFacts(captions, categories);
    for (const n of facts.nouns) known.add(n);
    const plans = planItem(this.options.recipe, samplingKey(item), (kind) => distinctSamples(kind, facts));
    return { item: { ...item, captions }, facts, plans, known, problems };
  }
}

/**
 * The second step: applies the filters that remember earlier samples to drafted items, and turns
 * what survives into samples and every item into an outcome. Items must come in dataset order.
 */
export class DraftSettler {
  readonly filters: FilterChain;

  constructor(private readonly options: { recipe: Recipe; generator: GeneratorName }) {
    this.filters = new FilterChain(options.recipe.filters);
  }

  settle(items: DraftedItem[]): BatchResult {
    const samples: Sample[] = [];
    const outcomes: ItemSynthOutcome[] = [];
    for (const { item, usable, problems: found, planned } of items) {
      const problems = [...found];
      let made = 0;
      let generated = 0;
      for (const plan of planned) {
        if (!plan.ok) {
          problems.push({ kind: plan.kind, reason: plan.reason, detail: plan.detail });
          continue;
        }
        generated++;
        const kept = this.filters.admit(plan.draft, item.mediaGroup);
        if (!kept) {
          const why = this.filters.lastRejections.map((r) => `${r.filter}: ${r.detail}`).join('; ');
          problems.push({ kind: plan.kind, reason: 'all_filtered', detail: why });
          continue;
        }
        samples.push(this.record(kept, item, plan.index));
        made++;
      }
      outcomes.push({
        index: item.index,
        itemId: item.id,
        source: item.source,
        status: statusOf(usable, planned.length, generated, made, problems.length),
        samples: made,
        problems,
      });
    }
    return { samples, outcomes };
  }

  stats(): FilterStats {
    return this.filters.stats();
  }

  private record(draft: Draft, item: SampleSource, index: number): Sample {
    const { recipe, generator } = this.options;
    const key = samplingKey(item);
    const rng = createRng(recipe.seed, key, draft.kind, index, 'record');
    return toSample(draft, item, { split: splitOf(recipe, key), generator, rng });
  }
}

/**
 * The status an item ends with whatever the filters do: skipped or failed when it has no draft to
 * filter; undefined when the filters decide. Lets a worker count failures before settling.
 */
export function statusBeforeFilters(drafted: DraftedItem): ItemSynthOutcome['status'] | undefined {
  if (drafted.planned.some((p) => p.ok)) return undefined;
  const problems = drafted.problems.length + drafted.planned.length;
  return statusOf(drafted.usable, drafted.planned.length, 0, 0, problems);
}

function sampleSourceOf(item: SourceItem): SampleSource {
  const { index, id, source, modality, mediaKey, mediaSha256, mediaGroup } = item;
  return {
    index,
    id,
    source,
    modality,
    mediaGroup,
    ...(mediaKey ? { mediaKey } : {}),
    ...(mediaSha256 ? { mediaSha256 } : {}),
  };
}

function statusOf(
  usable: boolean,
  planned: number,
  generated: number,
  made: number,
  problems: number,
): ItemSynthOutcome['status'] {
  if (!usable) return 'skipped';
  if (made === planned && problems === 0) return 'ok';
  if (made > 0) return 'partial';
  return generated === 0 ? 'failed' : 'filtered';
}

/** Synthesizes a whole (small) set of items in memory: samples, outcomes, filter and diversity reports. */
export async function synthesize(
  items: SourceItem[],
  options: SynthesizerOptions,
): Promise<BatchResult & { filters: FilterStats; diversity: DiversityReport }> {
  const synth = new Synthesizer(options);
  const result = await synth.processBatch(items);
  return { ...result, filters: synth.stats(), diversity: diversityOf(result.samples) };
}
