// Chaos (issue 18.7): three replicas each of ingest, synth, features and trainer behind the
// gateway run the small pipeline (pipeline.ts) while a random replica is killed with SIGKILL every
// few seconds and started again. Every job must end `succeeded` with none left open, the corpus,
// the dataset's samples and the features must equal an undisturbed run's, the trained weights
// (and optimizer state) must be byte-identical to an undisturbed run with the same seed, and no
// staging object may be left behind.
import { join } from 'node:path';
import { test } from 'node:test';
import {
  assertHealed,
  FAULT_TEST_ENV,
  PatientClient,
  type PipelineRun,
  type PipelineStage,
  runPipeline,
  SMALL_PIPELINE,
  undisturbedBaseline,
  writePipelineCorpus,
} from './pipeline.js';
import { servicesForThisFile } from './services.js';

const SERVICES = ['ingest', 'synth', 'features', 'trainer'] as const;
const REPLICAS = 3;
const STAGE_SERVICE: Record<PipelineStage, (typeof SERVICES)[number]> = {
  import: 'ingest',
  dataset: 'synth',
  features: 'features',
  train: 'trainer',
};

// The fault settings go to every service through this process's environment (each test file is
// a process of its own), so the import root stays servicesForThisFile's.
const services = servicesForThisFile('mmit-chaos-', () => Object.assign(process.env, FAULT_TEST_ENV), {
  services: [...SERVICES],
  replicas: Object.fromEntries(SERVICES.map((s) => [s, REPLICAS])),
  // The gateway notices a dead replica by its refused connections; its checks readmit restarted ones.
  healthIntervalMs: 2_000,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every 1.5-3 s kills a random replica (SIGKILL) and starts it again in the background. The victim is
 * one of a service that has all its replicas running: a start takes a tsx process many seconds on
 * 2 busy cores, and killing faster than replicas come back would leave services with none at all
 * (a test of waiting, not of taking over). `stop()` ends the loop and waits for every replica.
 */
function chaosMonkey(launched: typeof services.launched, random: () => number) {
  const kills: string[] = [];
  const restarting = new Set<Promise<unknown>>();
  const down = new Set<string>();
  let running = true;
  let focus: (typeof SERVICES)[number] | undefined;
  const loop = (async () => {
    while (running) {
      await sleep(1_500 + random() * 1_500);
      const whole = SERVICES.filter((s) => !down.has(s));
      if (!running || whole.length === 0) continue;
      // Half the kills go to the service whose stage runs now (when it has all its replicas), so
      // each stage's workers die under it; the rest anywhere.
      const service =
        focus && whole.includes(focus) && random() < 0.5 ? focus : whole[Math.floor(random() * whole.length)];
      const index = Math.floor(random() * REPLICAS);
      down.add(service);
      await launched.kill(service, index, 'SIGKILL');
      kills.push(`${service}-${index}`);
      const back = launched
        .restart(service, index)
        .finally(() => down.delete(service))
        .finally(() => restarting.delete(back));
      restarting.add(back);
    }
  })();
  return {
    kills,
    /** The service whose stage runs now. */
    focusOn(service: (typeof SERVICES)[number]) {
      focus = service;
    },
    async stop() {
      running = false;
      await loop;
      await Promise.all(restarting);
    },
  };
}

/** A seeded generator (mulberry32), so a failing schedule can be replayed from the printed seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('kill -9 of random replicas during the pipeline: every job succeeds, results identical, nothing left over', async () => {
  const { launched, root } = services;
  const started = Date.now();
  const folder = await writePipelineCorpus(join(root, 'corpus'), SMALL_PIPELINE);
  const run = (): PipelineRun => ({
    client: new PatientClient(launched.gatewayUrl, 120_000),
    s3: launched.s3,
    folder,
    settings: SMALL_PIPELINE,
    onStage: (stage) => {
      console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: ${stage}`);
      monkey?.focusOn(STAGE_SERVICE[stage]);
    },
  });

  let monkey: ReturnType<typeof chaosMonkey> | undefined;
  const baseline = await undisturbedBaseline(root, folder, SMALL_PIPELINE);

  const seed = Number(process.env.MMIT_CHAOS_SEED ?? Date.now() % 100_000);
  monkey = chaosMonkey(launched, mulberry32(seed));
  let result: Awaited<ReturnType<typeof runPipeline>>;
  try {
    result = await runPipeline(run());
  } finally {
    await monkey.stop();
  }

  // Job records end before their open markers go (the ended hook): give the last ones a moment.
  const jobs = await assertHealed(
    launched.s3,
    result,
    baseline,
    `(chaos seed ${seed}, kills ${monkey.kills.join(' ')})`,
  );

  const resumed = jobs.filter((j) => j.attempt > 1).length;
  console.log(
    `chaos: ${monkey.kills.length} kills (seed ${seed}: ${monkey.kills.join(' ')}); ` +
      `${jobs.length} jobs, all succeeded, ${resumed} resumed after a kill, none open; ` +
      `identical to the undisturbed run: ${result.digest.corpus.items} items, ${result.digest.dataset.samples} samples, ` +
      `${result.digest.features.media} feature blocks (${result.digest.features.bytes} bytes), ` +
      `weights ${result.digest.training.weightsSha256.slice(0, 12)} at step ${result.digest.training.step}; no staging left`,
  );
});
