// `mmit dataset create|ls|show|export|samples`: the synthesis service over HTTP (through the gateway
// by default, or --synth-url / MMIT_SYNTH_URL). `create` follows the job with a progress bar and
// ends with the dataset's report; `show` prints counts, filter statistics and the diversity report
// as tables; `export` streams LLaVA JSON, ShareGPT JSONL or our JSONL to a file or stdout, or
// writes a self-contained folder with the media (dataset-folder.ts).
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  type DatasetManifest,
  type DiversityReport,
  EXPORT_FORMATS,
  type Histogram,
  type JobRecord,
  type Page,
  RecipeSchema,
  SAMPLE_KINDS,
  type Sample,
  SampleSchema,
} from '@mmit/contracts';
import type { Command } from 'commander';
import { clientOf, type ServiceUrl } from '../client.js';
import { writeDatasetFolder } from '../dataset-folder.js';
import type { FieldOrigin } from '../errors.js';
import { followJob } from '../job-progress.js';
import { detachOption } from '../options.js';
import { Progress } from '../progress.js';
import { readSpecFile } from '../spec.js';
import { formatTable } from '../table.js';

/** LLaVA's instruction mix; `vqa` (short answers) is asked for by name. */
const DEFAULT_KINDS = ['brief', 'detailed', 'conversation', 'reasoning'];
const JOBS = '/v1/datasets/jobs';
const SYNTH_URL: ServiceUrl = { option: 'synthUrl', env: 'MMIT_SYNTH_URL' };

function histogramRows(h: Histogram): (string | number)[][] {
  const peak = Math.max(1, ...h.counts);
  return h.counts.map((count, i) => {
    const last = i + 1 < h.edges.length ? h.edges[i + 1] - 1 : undefined;
    const range =
      last === undefined ? `${h.edges[i]}+` : last === h.edges[i] ? `${last}` : `${h.edges[i]}-${last}`;
    return [range, count, '#'.repeat(Math.round((count / peak) * 30))];
  });
}

/** The diversity report as text tables: totals, top openings, top verb-noun pairs, histograms. */
export function formatDiversityReport(report: DiversityReport): string {
  const sections = [
    formatTable(
      ['measure', 'value'],
      [
        ['samples', report.samples],
        ['instructions', report.instructions],
        ['distinct instructions', report.distinctInstructions],
        ['distinct openings (first 3 words)', report.distinctOpenings],
      ],
    ),
    formatTable(
      ['verb', 'noun', 'count'],
      report.topVerbNouns.map((p) => [p.verb, p.noun, p.count]),
    ),
    formatTable(
      ['opening', 'count'],
      report.topOpenings.slice(0, 10).map((o) => [o.opening, o.count]),
    ),
    `instruction length (words)\n${formatTable(['words', 'count', ''], histogramRows(report.instructionWords))}`,
    `answer length (words)\n${formatTable(['words', 'count', ''], histogramRows(report.answerWords))}`,
    `turns per sample\n${formatTable(['turns', 'count', ''], histogramRows(report.turnsPerSample))}`,
  ];
  return sections.join('\n\n');
}

/** Counts, outcomes and filter statistics of a dataset as text tables. */
export function formatDatasetSummary(d: DatasetManifest): string {
  const c = d.counts;
  const lines = [
    `dataset ${d.id} (${d.name}) from corpus ${d.corpusId}: ${d.status}, ${d.itemsDone}/${d.totalItems ?? '?'} items processed`,
    formatTable(
      ['samples', ...SAMPLE_KINDS, 'train', 'validation', 'turns'],
      [
        [
          c.samples,
          ...SAMPLE_KINDS.map((k) => c.byKind[k] ?? 0),
          c.bySplit.train,
          c.bySplit.validation,
          c.turns,
        ],
      ],
    ),
    formatTable(
      ['item outcome', 'items'],
      Object.entries(c.outcomes).map(([k, v]) => [k, v]),
    ),
  ];
  const reasons = Object.entries(c.reasons);
  if (reasons.length)
    lines.push(
      formatTable(
        ['reason', 'count'],
        reasons.map(([k, v]) => [k, v ?? 0]),
      ),
    );
  const removed = Object.entries(d.filters.removed);
  lines.push(
    formatTable(
      ['filter', 'turns removed', 'samples removed'],
      [
        ...removed.map(([name, r]) => [name, r?.turns ?? 0, r?.samples ?? 0]),
        ['(kept)', d.filters.kept.turns, d.filters.kept.samples],
      ],
    ),
  );
  if (d.llm.requests || d.llm.cacheHits || d.llm.failures) {
    lines.push(
      `llm: ${d.llm.requests} requests, ${d.llm.tokens} tokens, ${d.llm.cacheHits} from cache, ${d.llm.failures} failed`,
    );
  }
  for (const w of d.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n\n');
}

interface CreateOptions {
  kinds: string;
  perItem: number;
  generator: string;
  seed: number;
  validation: number;
  maxItems?: number;
  name?: string;
  recipe?: string;
  detach?: boolean;
}

/** The recipe: the --recipe file (YAML or JSON; its errors name its lines) or the flags. */
function recipeOf(opts: CreateOptions): { recipe: unknown; origin: FieldOrigin } {
  if (opts.recipe) {
    const spec = readSpecFile(opts.recipe);
    return { recipe: spec.value, origin: { kind: 'spec', spec, schema: RecipeSchema, at: ['recipe'] } };
  }
  const kinds = opts.kinds
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const recipe = {
    kinds: Object.fromEntries(kinds.map((k) => [k, { perItem: opts.perItem }])),
    generator: opts.generator,
    seed: opts.seed,
    split: { validation: opts.validation },
    ...(opts.maxItems ? { maxItems: opts.maxItems } : {}),
  };
  const flags = {
    corpusId: '<corpusId>',
    name: '--name',
    'recipe.kinds': '--kinds',
    'recipe.generator': '--generator',
    'recipe.seed': '--seed',
    'recipe.split.validation': '--validation',
    'recipe.maxItems': '--max-items',
  };
  return { recipe, origin: { kind: 'flags', flags } };
}

const int = (v: string) => Number.parseInt(v, 10);

export function registerDatasetCommands(program: Command): void {
  const dataset = program
    .command('dataset')
    .description("make instruction data from a corpus's captions, inspect and export it")
    .option('--synth-url <url>', 'base URL of the synthesis service (or MMIT_SYNTH_URL; default: --url)');

  const create = dataset
    .command('create')
    .description('create a dataset from a corpus; follows the job and prints the report')
    .argument('<corpusId>')
    .option('--kinds <list>', `comma-separated kinds (${SAMPLE_KINDS.join(', ')})`, DEFAULT_KINDS.join(','))
    .option('--per-item <n>', 'samples of each kind per item', int, 1)
    .option('--generator <name>', 'template (offline) or llm (MMIT_SYNTH_LLM_* on the service)', 'template')
    .option('--seed <n>', 'seed: the same seed makes the same dataset', int, 0)
    .option('--validation <fraction>', 'fraction of items held out for validation', Number.parseFloat, 0.05)
    .option('--max-items <n>', 'use at most this many items', int)
    .option('--name <name>', 'dataset name')
    .option('--recipe <file>', 'a YAML or JSON recipe (overrides the options above)');
  detachOption(create, 'print the dataset and job ids and return at once').action(
    async (corpusId: string, opts: CreateOptions, command: Command) => {
      const client = clientOf(command, SYNTH_URL);
      const { recipe, origin } = recipeOf(opts);
      const body = { corpusId, ...(opts.name ? { name: opts.name } : {}), recipe };
      const { dataset: created, job } = await client.postJson<{ dataset: DatasetManifest; job: JobRecord }>(
        '/v1/datasets',
        body,
        origin,
      );
      console.log(`dataset ${created.id} (job ${job.id})`);
      if (opts.detach) return;
      const finished = await followJob(client, `${JOBS}/${job.id}`, { label: 'synthesizing', unit: 'items' });
      const d = await client.json<DatasetManifest>(`/v1/datasets/${created.id}`);
      console.log(formatDatasetSummary(d));
      if (d.diversity) console.log(`\n${formatDiversityReport(d.diversity)}`);
      if (finished.status !== 'succeeded') {
        console.error(`job ${finished.status}: ${finished.error?.detail ?? ''}`);
        process.exitCode = 1;
      }
    },
  );

  dataset
    .command('ls')
    .description('list datasets with their corpus, status and sample counts')
    .action(async (_opts: unknown, command: Command) => {
      const client = clientOf(command, SYNTH_URL);
      const rows: (string | number)[][] = [];
      let cursor: string | null = null;
      do {
        const page: Page<DatasetManifest> = await client.json(
          `/v1/datasets?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        for (const d of page.items) rows.push([d.id, d.name, d.corpusId, d.status, d.counts.samples]);
        cursor = page.nextCursor;
      } while (cursor);
      console.log(
        rows.length === 0
          ? 'no datasets yet (mmit dataset create <corpusId>)'
          : formatTable(['id', 'name', 'corpus', 'status', 'samples'], rows),
      );
    });

  dataset
    .command('show')
    .description("print a dataset's counts, filter statistics and diversity report")
    .argument('<datasetId>')
    .option('--json', 'print the manifest as JSON')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const d = await clientOf(command, SYNTH_URL).json<DatasetManifest>(`/v1/datasets/${id}`);
      if (opts.json) {
        console.log(JSON.stringify(d, null, 2));
        return;
      }
      console.log(formatDatasetSummary(d));
      if (d.diversity) console.log(`\n${formatDiversityReport(d.diversity)}`);
    });

  dataset
    .command('export')
    .description(
      'download a dataset: a self-contained folder with its media (--folder), or LLaVA JSON, ShareGPT JSONL or our JSONL naming bucket keys',
    )
    .argument('<datasetId>')
    .option('--format <format>', EXPORT_FORMATS.join(' | '), 'llava')
    .option('-o, --output <file>', 'write here instead of stdout')
    .option(
      '--folder <dir>',
      'write media + LLaVA JSON + ShareGPT JSONL + dataset_info.json (LLaMA-Factory) into <dir>; a rerun resumes',
    )
    .action(
      async (id: string, opts: { format: string; output?: string; folder?: string }, command: Command) => {
        if (opts.folder) {
          await exportDatasetFolder(command, id, opts.folder);
          return;
        }
        if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) {
          console.error(
            `mmit dataset export: --format must be one of ${EXPORT_FORMATS.join(', ')}, not ${opts.format}`,
          );
          process.exitCode = 2;
          return;
        }
        const res = await clientOf(command, SYNTH_URL).request(
          `/v1/datasets/${id}/export?format=${opts.format}`,
        );
        if (!res.body) throw new Error('the export answered without a body');
        const out = opts.output
          ? createWriteStream(opts.output)
          : Writable.fromWeb(new WritableStream({ write: (c) => void process.stdout.write(c) }));
        await pipeline(res.body, out);
        if (opts.output) console.error(`wrote ${opts.output}`);
      },
    );

  dataset
    .command('samples')
    .description('print some samples')
    .argument('<datasetId>')
    .option('--kind <kind>', SAMPLE_KINDS.join(' | '))
    .option('--split <split>', 'train | validation')
    .option('--limit <n>', 'how many', int, 5)
    .action(async (id: string, opts: { kind?: string; split?: string; limit: number }, command: Command) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.kind) query.set('kind', opts.kind);
      if (opts.split) query.set('split', opts.split);
      const page = await clientOf(command, SYNTH_URL).json<Page<Sample>>(
        `/v1/datasets/${id}/samples?${query}`,
      );
      for (const s of page.items) {
        console.log(`--- ${s.id} [${s.kind}, ${s.split}] ${s.image ?? s.audio ?? ''}`);
        for (const t of s.conversations)
          console.log(`${t.from === 'human' ? 'Q' : 'A'}: ${t.value.replace(/\n/g, ' ')}`);
      }
      if (page.items.length === 0) console.log('no samples match');
    });
}

/** Every sample of a dataset, read from the synth service's JSONL export as it streams. */
async function* streamSamples(command: Command, id: string): AsyncGenerator<Sample> {
  const res = await clientOf(command, SYNTH_URL).request(`/v1/datasets/${id}/export?format=jsonl`);
  if (!res.body) throw new Error('the export answered without a body');
  const lines = createInterface({
    input: Readable.fromWeb(res.body as WebReadableStream),
    crlfDelay: Infinity,
  });
  for await (const line of lines) if (line.trim()) yield SampleSchema.parse(JSON.parse(line));
}

async function exportDatasetFolder(command: Command, id: string, dir: string): Promise<void> {
  // Media come from the ingest service (through the gateway), by the key each sample names.
  const ingest = clientOf(command);
  const progress = new Progress({ label: 'downloading media', unit: 'files' });
  const result = await writeDatasetFolder({
    dir,
    datasetId: id,
    samples: streamSamples(command, id),
    fetchMedia: async (key) => {
      const res = await ingest.request(`/v1/${key}`);
      if (!res.body) throw new Error(`GET /v1/${key} answered without a body`);
      return Readable.fromWeb(res.body as WebReadableStream);
    },
    onProgress: (done, total) => progress.update({ done, total }),
  });
  progress.stop();
  console.log(
    `wrote ${dir}: ${result.samples.train} train and ${result.samples.validation} validation samples, ` +
      `${result.media.files} media files (${result.media.downloaded} downloaded, ${result.media.kept} already there); ` +
      `LLaMA-Factory: --dataset_dir ${dir} --dataset mmit_${id}_train`,
  );
}
