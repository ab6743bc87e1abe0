// One training run from its spec, start to finish, as the trainer service executes it: checks,
// dataset, features (asking the features service and waiting when they are missing), examples,
// the trainer (prepare.ts: step graph, parameters fresh or the last checkpoint's when the run
// resumes, optimizer, schedule), then the loop with its hooks writing metrics, state and
// checkpoints to the bucket. Cancellation and shutdown arrive through `signal`; what a stop means
// (cancelled, or queued to resume) is the caller's decision.

import { type Modality, modalityOfEncoderKey, type RunSpec } from '@mmit/contracts';
import { FeatureReader } from '@mmit/features';
import { describeHubProgress } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { checkpointSteps, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { checkCoverage, describeCoverage, planCoverage } from './coverage.js';
import { type DatasetSample, loadDataset } from './dataset.js';
import { buildExamples } from './examples.js';
import { BucketFeatures } from './features.js';
import { type FeaturesClient, FeaturesServiceError } from './features-client.js';
import { checkProjectorInput, preflight } from './preflight.js';
import { padTokenIdOf, prepareTrainer } from './prepare.js';
import type { RunRecorder } from './recorder.js';

export interface RunContext {
  bucket: Bucket;
  spec: RunSpec;
  recorder: RunRecorder;
  signal?: AbortSignal;
  /** Asked for missing features; without it, missing features are dropped samples. */
  features?: FeaturesClient;
  /** How often to poll a features job. */
  featuresPollMs?: number;
  /** Where the run tells what it trains on and what it leaves out (pino's signature; the service's logger). */
  logger?: RunLogger;
}

export interface RunLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Media of the encoder's modality without cached features (other modalities are no features job's to make). */
async function missingMedia(
  reader: FeatureReader,
  samples: DatasetSample[],
  modality: Modality | null,
): Promise<string[]> {
  const readable = samples.filter((s) => s.modality === null || modality === null || s.modality === modality);
  const media = [...new Set(readable.map((s) => s.media).filter((m): m is string => m !== null))];
  const missing: string[] = [];
  for (const sha of media) if (!(await reader.has(sha))) missing.push(sha);
  return missing;
}

/** Asks the features service for the dataset's features and waits, keeping the run state current. */
async function requestFeatures(ctx: RunContext, why: string): Promise<string> {
  const { spec, recorder } = ctx;
  if (!ctx.features || !spec.encoder.spec) {
    throw new FeaturesServiceError(
      `${why}, and ${!ctx.features ? 'no features service is configured (MMIT_FEATURES_URL)' : 'the spec gives no encoder.spec to compute them with'}`,
    );
  }
  const onWaiting = (detail: string) => recorder.update({ status: 'waiting_for_features', message: detail });
  const job = await ctx.features.requestDataset(spec.datasetId, spec.encoder.spec, {
    signal: ctx.signal,
    onWaiting,
  });
  const done = await ctx.features.waitFor(
    job.id,
    ctx.signal,
    (j) =>
      recorder.update({
        status: 'waiting_for_features',
        message: `${why}: waiting for features job ${j.id} (${j.progress.done}/${j.progress.total ?? '?'})`,
        featuresJob: { id: j.id, status: j.status, done: j.progress.done, total: j.progress.total },
      }),
    ctx.featuresPollMs,
    onWaiting,
  );
  if (!done.result) throw new FeaturesServiceError(`features job ${job.id} succeeded without a result`);
  return done.result.encoderKey;
}

/** The encoder key whose cache covers the dataset (as far as the features service can). */
async function resolveFeatures(ctx: RunContext, samples: DatasetSample[]): Promise<FeatureReader> {
  let key = ctx.spec.encoder.key ?? (await requestFeatures(ctx, 'features were asked for by encoder spec'));
  let reader = new FeatureReader(ctx.bucket, key);
  const missing = await missingMedia(reader, samples, modalityOfEncoderKey(key));
  if (missing.length > 0 && ctx.features && ctx.spec.encoder.spec) {
    key = await requestFeatures(ctx, `${missing.length} media have no cached features under ${key}`);
    reader = new FeatureReader(ctx.bucket, key);
  }
  await ctx.recorder.update({ encoderKey: key });
  return reader;
}

export async function executeRun(ctx: RunContext): Promise<void> {
  const { bucket, spec, recorder } = ctx;
  const runId = recorder.runId;
  await recorder.update({
    status: 'preparing',
    message: 'checking the spec and loading the dataset',
    startedAt: new Date().toISOString(),
  });
  // A hub LM downloads here on a fresh replica: its bytes go into the run's message meanwhile.
  let reported = Promise.resolve();
  const checks = await preflight(bucket, spec, {
    onProgress: (p) => {
      reported = reported.then(() => recorder.update({ message: describeHubProgress(p) }));
      // Seen by the await below; if preflight throws first, a failed write must not go unhandled.
      reported.catch(() => undefined);
    },
  });
  await reported;
  const samples = await loadDataset(bucket, spec.datasetId);
  const reader = await resolveFeatures(ctx, samples);
  await reader.index.refresh();

  // Tell what the run trains on before anything else, and refuse drops the spec does not allow.
  const plan = planCoverage(samples, {
    encoderKey: reader.encoderKey,
    encoderModality: modalityOfEncoderKey(reader.encoderKey) ?? checks.encoderModality,
    hasFeatures: (sha) => reader.index.has(sha),
  });
  const told = describeCoverage(plan.coverage);
  await recorder.update({ coverage: plan.coverage, message: told }, { force: true });
  checkCoverage(spec.datasetId, plan.coverage, spec.allowDrops);
  if (plan.coverage.drops.length > 0)
    ctx.logger?.warn({ runId, coverage: plan.coverage }, `samples left out: ${told}`);
  else ctx.logger?.info({ runId, coverage: plan.coverage }, told);

  const firstMedia = samples.find((s) => s.media && plan.dropReason(s) === undefined)?.media;
  if (!firstMedia) {
    throw new FeaturesServiceError(
      `no sample of dataset ${spec.datasetId} has cached features under ${reader.encoderKey}`,
    );
  }
  const features = new BucketFeatures(reader);
  const first = await features.get(firstMedia);
  checkProjectorInput(spec, first.width, `cached under ${reader.encoderKey}`);

  const sets = buildExamples(samples, checks.tokenizer, spec.template, {
    imageToken: spec.lm.imageToken,
    imageTokenId: checks.imageTokenId,
    imageRows: first.rows,
    maxSeqLen: spec.maxSeqLen,
    dropReason: plan.dropReason,
  });
  if (sets.train.length === 0) {
    throw new FeaturesServiceError(
      `dataset ${spec.datasetId} has no usable training sample (dropped: ${JSON.stringify(sets.counts.dropReasons)})`,
    );
  }

  const saved = (await checkpointSteps(bucket, runId)).at(-1);
  const resume = saved === undefined ? undefined : await loadCheckpoint(bucket, runId, saved);
  await recorder.resumeMetrics(saved ?? 0);
  const { trainer, config, dims } = await prepareTrainer(spec, {
    lm: checks.lm,
    imageTokenId: checks.imageTokenId,
    featureWidth: first.width,
    padTokenId: padTokenIdOf(checks.tokenizer, checks.lm),
    features,
    train: sets.train,
    validation: sets.validation,
    resume,
  });
  await recorder.update({
    status: 'running',
    message: `${resume ? `resumed from the checkpoint at step ${resume.loop.step}` : 'training'}; ${told}`,
    totalSteps: config.totalSteps,
    step: trainer.step,
    samplesSeen: resume?.loop.samplesSeen ?? 0,
    tokensSeen: resume?.loop.tokensSeen ?? 0,
    data: sets.counts,
    featuresJob: recorder.state.featuresJob,
  });
  await trainer.run({
    signal: ctx.signal,
    onStep: (m) => recorder.step(m),
    onEval: (m) => recorder.eval(m),
    onCheckpoint: async (checkpoint) => {
      const prefix = await saveCheckpoint(bucket, runId, checkpoint, dims);
      await recorder.flushMetrics();
      await recorder.update({ lastCheckpoint: { step: checkpoint.loop.step, prefix } }, { force: true });
    },
  });
  await recorder.flushMetrics();
  await recorder.update({
    status: 'succeeded',
    // Left-out samples stay in the final word, where a glance at a finished run lands.
    message: `finished ${config.totalSteps} steps${plan.coverage.drops.length ? `; ${told}` : ''}`,
    finishedAt: new Date().toISOString(),
  });
}
