// Faults heal themselves (issue 17.8): the small pipeline (pipeline.ts) with one replica of each
// service, and a fault injected into each stage while its job runs: kill -9 of the service that
// runs it (then started again), and the object store stopped mid-import and mid-training for
// longer than the bucket's retry pauses and a lease (then started again on the same port, folder
// and keys). Nobody lends a hand: every job must end `succeeded`, none left open, with the same
// corpus, samples, features and byte-identical weights as an undisturbed run, and no staging left.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobRecord, RunState } from '../../packages/contracts/src/index.js';
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

const services = servicesForThisFile('mmit-faults-', () => Object.assign(process.env, FAULT_TEST_ENV), {
  services: ['ingest', 'synth', 'features', 'trainer'],
  healthIntervalMs: 1_000,
});

/** Longer than the bucket's own retries (~1.5 s of pauses) and than a lease (3 s). */
const OUTAGE_MS = 8_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fault = { kind: 'kill'; service: string } | { kind: 'outage' };

/** What each stage suffers, in order, each once its job has made progress since the last fault. */
const FAULTS: Record<PipelineStage, Fault[]> = {
  import: [{ kind: 'outage' }, { kind: 'kill', service: 'ingest' }],
  dataset: [{ kind: 'kill', service: 'synth' }],
  features: [{ kind: 'kill', service: 'features' }],
  train: [{ kind: 'outage' }, { kind: 'kill', service: 'trainer' }],
};

/** How far a job or run has got, and whether it has ended. */
async function progressOf(
  client: PatientClient,
  path: string,
): Promise<{ done: number; running: boolean; ended: boolean }> {
  const record = await client.get<JobRecord | RunState>(path);
  const done = 'progress' in record ? record.progress.done : record.step;
  return {
    done,
    running: record.status === 'running',
    ended: ['succeeded', 'failed', 'cancelled'].includes(record.status),
  };
}

test('kill -9 of each service mid-job and store outages mid-import and mid-training: every job heals, results identical', async () => {
  const { launched, root } = services;
  const folder = await writePipelineCorpus(join(root, 'corpus'), SMALL_PIPELINE);
  const client = new PatientClient(launched.gatewayUrl, 120_000);
  const baseline = await undisturbedBaseline(root, folder, SMALL_PIPELINE);

  const injected: string[] = [];
  const injecting: Promise<void>[] = [];
  const missed: unknown[] = [];
  const inject = async (stage: PipelineStage, path: string) => {
    // The first fault once the job runs, each later one once it has moved on since the last.
    let last = -1;
    for (const fault of FAULTS[stage]) {
      for (;;) {
        const now = await progressOf(client, path);
        assert.ok(
          !now.ended,
          `the ${stage} job ended before its ${fault.kind} fault: the pipeline is too quick for it`,
        );
        if (now.running && now.done > last) {
          last = now.done;
          break;
        }
        await sleep(50);
      }
      if (fault.kind === 'kill') {
        await launched.kill(fault.service, 0, 'SIGKILL');
        injected.push(`kill -9 ${fault.service} at ${stage} ${last}`);
        await launched.restart(fault.service, 0);
      } else {
        await launched.stopStore();
        injected.push(`store down ${OUTAGE_MS / 1000} s at ${stage} ${last}`);
        await sleep(OUTAGE_MS);
        await launched.startStore();
      }
    }
  };
  const run: PipelineRun = {
    client,
    s3: launched.s3,
    folder,
    settings: SMALL_PIPELINE,
    onStage: (stage, path) => injecting.push(inject(stage, path).catch((err) => void missed.push(err))),
  };
  const result = await runPipeline(run);
  await Promise.all(injecting);
  assert.deepEqual(missed, [], 'every fault found its job running');

  assert.equal(
    injected.length,
    Object.values(FAULTS).flat().length,
    `every fault injected: ${injected.join('; ')}`,
  );
  const jobs = await assertHealed(launched.s3, result, baseline);

  const healed = jobs.filter((j) => result.ids.jobs.includes(j.id));
  console.log(
    `faults: ${injected.length} injected (${injected.join('; ')}); ` +
      `${healed.length} jobs healed without a hand (attempts ${healed.map((j) => `${j.service} ${j.attempt}`).join(', ')}), ` +
      `${jobs.length} jobs stored, all succeeded, none open; identical to the undisturbed run: ` +
      `${result.digest.corpus.items} items, ${result.digest.dataset.samples} samples, ` +
      `${result.digest.features.media} feature blocks, weights ${result.digest.training.weightsSha256.slice(0, 12)}; no staging left`,
  );
});
