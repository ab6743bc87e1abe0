// The learning proof through every service, driven over HTTP the way a user drives them:
//   task      plan and render the shapes-and-beeps corpus (train/ and test/ folders, answer key)
//   models    random frozen encoders; the tiny LM pretrained on the task text, then frozen
//   ingest    create a corpus and import train/ (captions from the .txt sidecars)
//   synth     a dataset of brief descriptions (`brief`) and short-answer questions (`vqa`)
//   train     one projector per modality; the trainer asks the features service for the
//             vision tower's and the audio encoder's features and waits for them
//   serve     every held-out test question through /v1/chat/completions (greedy), scored
// `sabotage: 'shift-captions'` breaks one stage on purpose: each training picture or clip is
// imported with the next item's caption (a shifted label), so every later stage runs unchanged on
// media whose questions describe something else: the accuracy must fall to chance.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetManifest, JobRecord, MetricsLine } from '@mmit/contracts';
import {
  accuracyByType,
  chanceByType,
  type EngineProofResult,
  type HeldOutKind,
  heldOutOf,
  ITEM_KINDS,
  type ItemKind,
  type LmPretraining,
  lmPretraining,
  onlyKinds,
  planTask,
  projectorTraining,
  type TaskPlan,
  type TaskQuestion,
  vqaPrompt,
  writeTaskFolder,
  writeTaskModels,
} from '@mmit/example-shapes';
import { watchRun } from '../commands/train.js';
import type { ApiClient } from '../http-client.js';
import { followJob, type JobLabel } from '../job-progress.js';

export interface PipelineProofOptions extends LmPretraining {
  client: ApiClient;
  seed: number;
  train: number;
  test: number;
  /** What the pictures' held-out combinations combine (default 'places'). */
  heldOut?: HeldOutKind;
  workDir: string;
  projectorSteps: number;
  projectorLr: number;
  /** The projector architecture the trainer learns (default mlp2x_gelu, LLaVA-1.5's). */
  projector?: 'linear' | 'mlp2x_gelu';
  /** Short-answer questions synth makes per item. */
  questionsPerItem: number;
  sabotage?: 'shift-captions';
  /** The media kinds to train and ask about (default both). */
  kinds?: readonly ItemKind[];
  log: (line: string) => void;
  /** Draw the import, synthesis and training progress bars on stderr (default true). */
  progressBars?: boolean;
}

/** What the engine-only run reports, plus the ids the services gave and each stage's seconds. */
export interface PipelineProofResult extends EngineProofResult {
  ids: { corpus: string; dataset: string; runs: Partial<Record<ItemKind, string>> };
  stageSeconds: Record<string, number>;
}

const MEDIA_TYPE = { '.png': 'image/png', '.wav': 'audio/wav' } as const;

async function succeeded(
  client: ApiClient,
  path: string,
  label: string,
  progress: JobLabel,
  bar: boolean,
): Promise<JobRecord> {
  const job = await followJob(client, path, progress, { bar });
  if (job.status !== 'succeeded') {
    throw new Error(`${label} ${job.id} ${job.status}: ${job.error?.detail ?? 'no detail'}`);
  }
  return job;
}

/** The user turn of a test question: the media as the API takes it, then the question text. */
async function questionContent(testDir: string, q: TaskQuestion) {
  const bytes = await readFile(join(testDir, q.file));
  const text = vqaPrompt(q.kind, q.question).split('\n').slice(1).join('\n');
  const media =
    q.kind === 'image'
      ? {
          type: 'image_url',
          image_url: { url: `data:${MEDIA_TYPE['.png']};base64,${bytes.toString('base64')}` },
        }
      : { type: 'input_audio', input_audio: { data: bytes.toString('base64'), format: 'wav' } };
  return [media, { type: 'text', text }];
}

async function ask(client: ApiClient, model: string, content: unknown[]): Promise<string> {
  const reply = await client.postJson<{ choices: { message: { content: string } }[] }>(
    '/v1/chat/completions',
    {
      model,
      messages: [{ role: 'user', content }],
      temperature: 0,
      max_tokens: 4,
    },
  );
  return reply.choices[0]?.message.content ?? '';
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of the results. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}

export async function runPipelineProof(options: PipelineProofOptions): Promise<PipelineProofResult> {
  const { client, log } = options;
  const started = Date.now();
  const stageSeconds: Record<string, number> = {};
  let stageStart = Date.now();
  const stage = (name: string) => {
    stageSeconds[name] = (Date.now() - stageStart) / 1000;
    stageStart = Date.now();
  };

  log(`== task: seed ${options.seed}, ${options.train} training and ${options.test} test pictures and clips`);
  const kinds = options.kinds ?? ITEM_KINDS;
  const plan = onlyKinds(
    planTask({ seed: options.seed, train: options.train, test: options.test, heldOut: options.heldOut }),
    kinds,
  );
  const written = await writeTaskFolder(join(options.workDir, 'task'), plan);
  if (options.sabotage === 'shift-captions') await shiftCaptions(plan, written.folders.train);
  log(
    `   held out (${plan.heldOutKind}): ${plan.heldOutCombinations.join(', ')}; ${plan.heldOutPatterns.join(', ')}`,
  );
  stage('task');

  log('== models: random frozen encoders; the tiny LM pretrained on the task text, then frozen');
  const models = await writeTaskModels(plan, {
    workDir: join(options.workDir, 'models'),
    ...lmPretraining(options),
    log,
  });
  stage('models');

  log('== ingest: import the training folder');
  const corpus = await client.postJson<{ id: string }>('/v1/corpora', {
    name: `shapes-seed-${options.seed}`,
    description: 'synthetic shapes and beeps (mmit bench shapes)',
  });
  const importJob = await client.postJson<JobRecord>(`/v1/corpora/${corpus.id}/imports`, {
    format: 'folder',
    source: { type: 'path', path: written.folders.train },
    options: {},
  });
  const bars = options.progressBars ?? true;
  await succeeded(client, `/v1/jobs/${importJob.id}`, 'import', { label: 'importing', unit: 'items' }, bars);
  stage('ingest');

  log('== synth: brief descriptions and short-answer questions from the captions');
  const { dataset: created, job: synthJob } = await client.postJson<{
    dataset: DatasetManifest;
    job: JobRecord;
  }>('/v1/datasets', {
    corpusId: corpus.id,
    name: `shapes-seed-${options.seed}`,
    recipe: {
      // Every caption as a brief description (LLaVA's stage-1 data: it aligns the projector,
      // lm-corpus.ts says why), and the short-answer questions the test asks.
      kinds: { brief: { perItem: 3 }, vqa: { perItem: options.questionsPerItem } },
      seed: options.seed,
      split: { validation: 0.05 },
    },
  });
  await succeeded(
    client,
    `/v1/datasets/jobs/${synthJob.id}`,
    'synthesis',
    { label: 'synthesizing', unit: 'items' },
    bars,
  );
  const datasetId = created.id;
  stage('synth');

  const runs: Partial<Record<ItemKind, string>> = {};
  const projectorLosses: Partial<Record<ItemKind, number[]>> = {};
  for (const kind of kinds) {
    log(`== train: the ${kind} projector (features from the features service)`);
    const run = await client.postJson<{ id: string }>('/v1/runs', {
      name: `shapes-${kind}-seed-${options.seed}`,
      datasetId,
      encoder: { spec: { checkpoint: kind === 'image' ? models.vision : models.audio } },
      lm: { checkpoint: models.lm, imageToken: kind === 'image' ? '<image>' : '<audio>' },
      // The settings the engine-only stage trains with too (projector-training.ts).
      ...projectorTraining({
        projector: options.projector,
        lr: options.projectorLr,
        steps: options.projectorSteps,
        seed: options.seed,
      }),
      // One dataset holds both modalities and each run reads one of them: the other modality's
      // samples are left out on purpose (the run's coverage says so).
      allowDrops: true,
    });
    runs[kind] = run.id;
    const final = await watchRun(client, run.id, { print: log, bar: bars });
    if (final.status !== 'succeeded') throw new Error(`run ${run.id} ${final.status}`);
    const { items } = await client.json<{ items: MetricsLine[] }>(`/v1/runs/${run.id}/metrics`);
    projectorLosses[kind] = items.filter((l) => l.type === 'step').map((l) => l.loss);
  }
  stage('train');

  const test = plan.questions.test;
  log(`== serve: ${test.length} held-out questions through /v1/chat/completions`);
  const answers = await mapLimited(test, 4, async (q) => {
    const model = runs[q.kind];
    if (!model) throw new Error(`no ${q.kind} run was trained for ${q.file}`);
    return ask(client, model, await questionContent(written.folders.test, q));
  });
  stage('serve');
  const key = join(options.workDir, 'answers.jsonl');
  await writeFile(key, `${test.map((q, i) => JSON.stringify({ ...q, got: answers[i] })).join('\n')}\n`);
  log(`   every question with its answer: ${key}`);

  return {
    heldOut: heldOutOf(plan),
    accuracy: accuracyByType(test, answers),
    chance: chanceByType(test),
    lmLosses: models.lmLosses,
    lmFrom: models.lmFrom,
    projectorLosses,
    answers: test.map((question, i) => ({ question, got: answers[i] })),
    ids: { corpus: corpus.id, dataset: datasetId, runs },
    seconds: (Date.now() - started) / 1000,
    stageSeconds,
  };
}

/** Rewrites each training sidecar with the captions of the next item of the same kind. */
async function shiftCaptions(plan: TaskPlan, trainDir: string): Promise<void> {
  for (const kind of ITEM_KINDS) {
    const items = plan.items.filter((item) => item.split === 'train' && item.kind === kind);
    for (const [i, item] of items.entries()) {
      const next = items[(i + 1) % items.length];
      await writeFile(join(trainDir, item.name.replace(/\.\w+$/, '.txt')), `${next.captions.join('\n')}\n`);
    }
  }
}
