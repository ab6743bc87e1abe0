// Samples per second of a real training run on the `bench-small` shape (SmolLM2-135M-shaped LM,
// mlp2x_gelu projector, 2 x (144 image + ~48 text) tokens per batch) against the bare step from
// bench/engine in the same invocation. The run goes through @mmit/train's executeRun over an
// embedded S3 server: dataset and feature reads, templating, batching, AdamW, metrics/state
// writes and checkpoints every --checkpoint-every steps all count. The bare step is
// session.run on one fixed batch. Overhead = run seconds per step / bare seconds per step - 1
// (target: at most 10%). Graph building and session creation are excluded from both sides.
// The machine may be loaded by other work: rerun on a quiet machine for numbers you report. The
// run's wall time per step is also split into onnxruntime's own run (timed at its native call)
// and the rest (the pipeline: everything between two runs is on the JS thread, because
// onnxruntime-node runs sessions synchronously there), which says where an overhead comes from.
// Run: npx tsx bench/train/run-vs-step.ts [--steps 6] [--runs 3] [--checkpoint-every 3] [--ep cpu]
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys, newId } from '../../packages/contracts/src/index.js';
import { buildShard, newShardId, publishShard } from '../../packages/features/src/index.js';
import {
  buildLlavaStepGraph,
  languageModelFromCheckpoint,
  llavaStepFeeds,
  openCheckpointFolder,
} from '../../packages/models/src/index.js';
import { mulberry32 } from '../../packages/random/src/index.js';
import { Bucket, embeddedS3Config, startEmbeddedS3 } from '../../packages/storage/src/index.js';
import { createSession, type HostTensor } from '../../packages/tensor/src/index.js';
import { executeRun, initialRunState, RunRecorder, RunSpecSchema } from '../../packages/train/src/index.js';
import { TEST_ENCODER_KEY } from '../../packages/train/src/testing.js';
import { benchSmallBatch, benchSmallInputs, ensureBenchSmallCheckpoint } from '../engine/bench-small.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const steps = Number(arg('steps', '6'));
const runs = Number(arg('runs', '3'));
const checkpointEvery = Number(arg('checkpoint-every', '3'));
const ep = arg('ep', 'cpu') as 'cpu' | 'webgpu' | 'cuda';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fixtures =
  process.env.MMIT_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'hf-tiny');

/**
 * Seconds spent inside onnxruntime's run so far, in every session of this process. Measured from
 * the start of the immediate in which onnxruntime-node makes its synchronous native call (an
 * immediate queued just before its own runs just before it) to the call's end, so the I/O
 * callbacks the event loop takes first count as pipeline, not as run. Bench instrumentation only:
 * it wraps onnxruntime-node's backend, as @mmit/tensor loads it.
 */
let nativeRunSeconds = 0;
{
  interface Handler {
    run(...args: unknown[]): Promise<unknown>;
  }
  const load = createRequire(join(import.meta.dirname, '..', '..', 'packages', 'tensor', 'package.json'));
  const { onnxruntimeBackend: backend } = load('onnxruntime-node/dist/backend') as {
    onnxruntimeBackend: { createInferenceSessionHandler(...args: unknown[]): Promise<Handler> };
  };
  const create = backend.createInferenceSessionHandler.bind(backend);
  backend.createInferenceSessionHandler = async (...args) => {
    const handler = await create(...args);
    const run = handler.run.bind(handler);
    handler.run = async (...runArgs) => {
      let started = performance.now();
      setImmediate(() => {
        started = performance.now();
      });
      try {
        return await run(...runArgs);
      } finally {
        nativeRunSeconds += (performance.now() - started) / 1000;
      }
    };
    return handler;
  };
}

/** Bare step: one fixed bench-small batch through session.run, median of `runs` after a warm-up. */
async function bareStep(dir: string): Promise<number> {
  const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
  const { batch, projector, params } = benchSmallInputs();
  const step = buildLlavaStepGraph(lm, {
    projector,
    imageTokenId: benchSmallBatch.imageTokenId,
    head: 'labelled',
  });
  const session = await createSession(step.graph, { ep });
  const feeds: Record<string, HostTensor> = llavaStepFeeds(step, batch, params);
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    if (i > 0) times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  return median(times);
}

/** A caption of about `words` tokens from the fixture tokenizer's small vocabulary. */
function caption(random: () => number, words: number): string {
  const pool = ['a', 'red', 'cat', 'on', 'the', 'mat', 'blue', 'dog', 'in', 'park', 'sea', 'bird'];
  return Array.from({ length: words }, () => pool[Math.floor(random() * pool.length)]).join(' ');
}

const WARM = 3;

async function realRun(dir: string): Promise<{
  perStep: number;
  perStepWarm: number;
  /** Of perStepWarm: seconds inside onnxruntime's run. */
  nativeRunPerStepWarm: number;
  samples: number;
  tokensPerSample: number;
}> {
  const tmp = await mkdtemp(join(tmpdir(), 'mmit-bench-train-'));
  const s3 = await startEmbeddedS3({ dir: join(tmp, 's3'), port: 0 });
  try {
    const bucket = new Bucket(embeddedS3Config(s3));
    await bucket.ensure();
    const datasetId = newId('dataset');
    const random = mulberry32(5);
    const { imageTokens: n, featureDim } = benchSmallBatch;
    const count = Math.max(8, steps * 2);
    // 22 words: about 46 tokens with the fixture tokenizer, so batches pad to bench-small's 192.
    const lines: string[] = [];
    const items = [];
    for (let i = 0; i < count; i++) {
      const sha = i.toString(16).padStart(64, '0');
      lines.push(
        JSON.stringify({
          id: `s${i}`,
          conversations: [
            { from: 'human', value: '<image>' },
            { from: 'gpt', value: caption(random, 22) },
          ],
          split: 'train',
          mediaSha256: sha,
        }),
      );
      const data = Float32Array.from({ length: n * featureDim }, () => random() * 2 - 1);
      items.push({
        sha256: sha,
        block: { features: { dtype: 'float32' as const, dims: [n, featureDim], data } },
      });
    }
    await bucket.putJson(keys.datasetManifest(datasetId), { id: datasetId, status: 'ready' });
    await bucket.putBuffer(keys.datasetSamples(datasetId, 0), `${lines.join('\n')}\n`);
    const { bytes, segment } = buildShard(TEST_ENCODER_KEY, newShardId(), items);
    await publishShard(bucket, bytes, segment);
    const spec = RunSpecSchema.parse({
      datasetId,
      encoder: { key: TEST_ENCODER_KEY },
      lm: { checkpoint: dir, tokenizer: join(fixtures, 'tokenizer') },
      batchSize: benchSmallBatch.batch,
      steps,
      checkpointEvery,
      ep,
    });
    const runId = newId('run');
    const stepEnds: number[] = [];
    const stepRunSeconds: number[] = [];
    const stepSeconds: number[] = [];
    const recorder = new RunRecorder(bucket, initialRunState(runId, undefined, new Date()), {
      onEvent: (e) => {
        if (e.type === 'step') {
          stepEnds.push(performance.now() / 1000);
          stepRunSeconds.push(nativeRunSeconds);
          stepSeconds.push(e.metrics.stepSeconds);
        }
      },
    });
    await executeRun({ bucket, spec, recorder });
    console.log(`  step seconds inside the loop: ${stepSeconds.map((x) => x.toFixed(2)).join(' ')}`);
    const end = performance.now() / 1000;
    const endRunSeconds = nativeRunSeconds;
    // Wall time per step, checkpoints and final writes included: from the end of step 1 (the
    // session's first run), and from the end of step WARM (onnxruntime's first few runs of a graph
    // are slow, as the bare step's discarded first run shows; a long run pays that once).
    return {
      perStep: (end - stepEnds[0]) / (steps - 1),
      perStepWarm: (end - stepEnds[WARM - 1]) / (steps - WARM),
      nativeRunPerStepWarm: (endRunSeconds - stepRunSeconds[WARM - 1]) / (steps - WARM),
      samples: benchSmallBatch.batch,
      tokensPerSample: recorder.state.tokensSeen / recorder.state.samplesSeen,
    };
  } finally {
    await s3.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

async function main() {
  console.log(
    `bench-small training run vs bare step, ${ep}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const dir = ensureBenchSmallCheckpoint();
  // Bare step before and after the run: on a shared machine the spread shows how far to trust the ratio.
  const before = await bareStep(dir);
  const run = await realRun(dir);
  const afterRun = await bareStep(dir);
  const bare = (before + afterRun) / 2;
  const bareTokens = benchSmallBatch.imageTokens + benchSmallBatch.textTokens;
  console.log(
    `  bare step (${bareTokens} tokens/sample): ${before.toFixed(2)} s before, ${afterRun.toFixed(2)} s after -> ${(benchSmallBatch.batch / bare).toFixed(2)} samples/s`,
  );
  console.log(
    `  real run (${steps} steps, checkpoint every ${checkpointEvery}, ${run.tokensPerSample.toFixed(0)} tokens/sample): ${run.perStep.toFixed(2)} s/step -> ${(run.samples / run.perStep).toFixed(2)} samples/s`,
  );
  const overhead = run.perStep / bare - 1;
  const warm = run.perStepWarm / bare - 1;
  const verdict = (x: number) => `${(100 * x).toFixed(1)}% (target <= 10%) ${x <= 0.1 ? 'OK' : 'OVER'}`;
  console.log(`  pipeline overhead from step 2: ${verdict(overhead)}`);
  console.log(
    `  pipeline overhead from step ${WARM + 1} (after onnxruntime's warm-up runs): ${verdict(warm)}`,
  );
  const pipeline = run.perStepWarm - run.nativeRunPerStepWarm;
  console.log(
    `  of the run's ${run.perStepWarm.toFixed(3)} s/step from step ${WARM + 1}: onnxruntime's run ${run.nativeRunPerStepWarm.toFixed(3)} s (${(100 * (run.nativeRunPerStepWarm / bare - 1)).toFixed(1)}% vs the bare step), the rest ${(1000 * pipeline).toFixed(0)} ms (${((100 * pipeline) / bare).toFixed(1)}% of the bare step); load average now ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

await main();
