// `mmit features run|ls|show|cancel|stats`: start a feature job over a corpus or dataset and follow
// it with a progress line (server-sent events), list, read and cancel jobs, and show what the cache
// holds per encoder key. Talks HTTP to the feature service (through the gateway at --url); payloads are the
// service's schemas, kept loose here so the CLI does not import service code.
import { FeatureJobRequestSchema, type JobRecord, type Page } from '@mmit/contracts';
import type { Command } from 'commander';
import { z } from 'zod';
import { clientOf } from '../client.js';
import { followJob } from '../job-progress.js';
import { detachOption, parseOptions } from '../options.js';
import { formatTable } from '../table.js';

const JOBS = '/v1/features/jobs';

function summary(record: JobRecord): string {
  const r = (record.result ?? {}) as Record<string, unknown>;
  if (record.status === 'failed')
    return `job ${record.id} failed: ${record.error?.detail ?? 'unknown error'}`;
  if (record.status !== 'succeeded')
    return `job ${record.id}: ${record.status} ${record.progress.message ?? ''}`;
  return [
    `job ${record.id} succeeded: encoder ${r.encoderKey}`,
    `  media ${r.media} (items ${r.items}, skipped ${r.skipped}): hits ${r.hits}, computed ${r.computed}` +
      ` (recomputed ${r.recomputed}), failed ${r.failed}`,
    `  ${Number(r.itemsPerSecond ?? 0).toFixed(2)} items/s on ${r.ep ?? '-'} (asked ${r.requestedEp})` +
      (r.fallbackReason ? `; fallback: ${r.fallbackReason}` : ''),
  ].join('\n');
}

const runOptions = z
  .object({
    corpus: z.string().optional(),
    dataset: z.string().optional(),
    checkpoint: z.string(),
    layer: z.string().optional(),
    select: z.string().optional(),
    processor: z.string().optional(),
    dtype: z.string().optional(),
    compute: z.string().optional(),
    ep: z.string().optional(),
    batchSize: z.coerce.number().int().positive().optional(),
    verify: z.boolean().default(true),
    detach: z.boolean().default(false),
  })
  .refine((o) => Boolean(o.corpus) !== Boolean(o.dataset), {
    message: 'give exactly one of --corpus or --dataset',
  });

/** Where the request's fields come from on the command line, for error messages. */
const RUN_FLAGS = {
  corpusId: '--corpus',
  datasetId: '--dataset',
  'encoder.checkpoint': '--checkpoint',
  'encoder.visionFeatureLayer': '--layer',
  'encoder.select': '--select',
  'encoder.processor': '--processor',
  'encoder.dtype': '--dtype',
  'encoder.compute': '--compute',
  ep: '--ep',
  batchSize: '--batch-size',
};

function parseLayer(value: string | undefined): number | number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map(Number);
  return parts.length === 1 ? parts[0] : parts;
}

export function registerFeaturesCommands(program: Command): void {
  const features = program
    .command('features')
    .description('encoder features, computed once and cached in the bucket');

  const run = features
    .command('run')
    .description('compute (or find cached) features for every media item of a corpus or dataset')
    .option('--corpus <id>', 'corpus id')
    .option('--dataset <id>', 'dataset id')
    .requiredOption(
      '--checkpoint <pathOrId>',
      'encoder checkpoint folder or Hugging Face id (CLIP, SigLIP, Whisper)',
    )
    .option('--layer <n[,m]>', 'vision_feature_layer (default -2)')
    .option('--select <how>', 'patch | cls_patch | default | full (default patch)')
    .option('--processor <dir>', 'folder with preprocessor_config.json (default: the checkpoint)')
    .option('--dtype <dtype>', 'stored dtype: float32 | float16')
    .option('--compute <dtype>', 'encoder precision: float32 | float16')
    .option('--ep <provider>', 'cpu | webgpu | cuda (default: the service setting)')
    .option('--batch-size <n>', 'items per batch and shard')
    .option('--no-verify', 'trust cached shards without re-reading their checksums');
  detachOption(run, 'print the job id and return').action(async (raw: unknown, command: Command) => {
    const o = parseOptions(runOptions, raw, 'mmit features run');
    if (!o) return;
    const client = clientOf(command);
    const body = {
      ...(o.corpus ? { corpusId: o.corpus } : { datasetId: o.dataset }),
      encoder: {
        checkpoint: o.checkpoint,
        visionFeatureLayer: parseLayer(o.layer),
        select: o.select,
        processor: o.processor,
        dtype: o.dtype,
        compute: o.compute,
      },
      ep: o.ep,
      batchSize: o.batchSize,
      verify: o.verify,
    };
    const job = await client.postJson<JobRecord>(JOBS, body, {
      kind: 'flags',
      flags: RUN_FLAGS,
      schema: FeatureJobRequestSchema,
    });
    if (o.detach) {
      console.log(job.id);
      return;
    }
    const last = await followJob(client, `${JOBS}/${job.id}`, { label: 'features', unit: 'items' });
    console.log(summary(last));
    if (last.status !== 'succeeded') process.exitCode = 1;
  });

  features
    .command('ls')
    .description('list feature jobs with their status and progress')
    .action(async (_opts: unknown, command: Command) => {
      const client = clientOf(command);
      const rows: (string | number)[][] = [];
      let cursor: string | null = null;
      do {
        const page: Page<JobRecord> = await client.json(
          `${JOBS}?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        for (const j of page.items)
          rows.push([j.id, j.status, `${j.progress.done}/${j.progress.total ?? '?'}`, j.createdAt]);
        cursor = page.nextCursor;
      } while (cursor);
      console.log(
        rows.length === 0
          ? 'no feature jobs yet (mmit features run)'
          : formatTable(['id', 'status', 'items', 'created'], rows),
      );
    });

  features
    .command('cancel')
    .description('cancel a feature job (its finished shards stay cached)')
    .argument('<jobId>')
    .action(async (jobId: string, _opts: unknown, command: Command) => {
      const record = await clientOf(command).postJson<JobRecord>(
        `${JOBS}/${encodeURIComponent(jobId)}/cancel`,
        {},
      );
      console.log(`job ${record.id}: ${record.status}`);
    });

  features
    .command('show')
    // `status` was this command's first name.
    .alias('status')
    .description('show a feature job: status, progress, result or error')
    .argument('<jobId>')
    .option('--json', 'print the job record as JSON')
    .action(async (jobId: string, opts: { json?: boolean }, command: Command) => {
      const record = await clientOf(command).json<JobRecord>(`${JOBS}/${encodeURIComponent(jobId)}`);
      if (opts.json) console.log(JSON.stringify(record, null, 2));
      else {
        const p = record.progress;
        console.log(
          `${summary(record)}\n  progress ${p.done}/${p.total ?? '?'} (failed ${p.failed}), ${p.rate} items/s`,
        );
      }
    });

  features
    .command('stats')
    .description('what the feature cache holds: items, shards and bytes per encoder key')
    .argument('[encoderKey]', 'one encoder key (default: all)')
    .action(async (encoderKey: string | undefined, _opts: unknown, command: Command) => {
      const client = clientOf(command);
      type Stats = {
        encoderKey: string;
        items: number;
        shards: number;
        bytes: number;
        identity?: { kind: string; modality: string; layer: unknown; dtype: string };
      };
      const rows = encoderKey
        ? [await client.json<Stats>(`/v1/features/${encodeURIComponent(encoderKey)}`)]
        : (await client.json<{ items: Stats[] }>('/v1/features')).items;
      if (rows.length === 0) console.log('no cached features yet');
      for (const s of rows) {
        const id = s.identity;
        const what = id
          ? `${id.kind} ${id.modality} layer ${JSON.stringify(id.layer)} ${id.dtype}`
          : 'unknown encoder';
        console.log(
          `${s.encoderKey}  ${what}  ${s.items} items in ${s.shards} shards, ${(s.bytes / 1e6).toFixed(1)} MB`,
        );
      }
    });
}
