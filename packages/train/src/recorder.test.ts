// The run recorder against the real embedded S3 server: metrics.jsonl after a resume.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newId } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { RunRecorder, readMetrics } from './recorder.js';
import { initialRunState } from './state.js';

let store: TestStore;
let bucket: Bucket;
before(async () => {
  store = await startTestStore({ name: 'recorder' });
  bucket = store.bucket;
});
after(() => store?.stop());

test('a run resumed before its first checkpoint keeps one step-0 eval row, not two', async () => {
  const id = newId('run');
  const first = new RunRecorder(bucket, initialRunState(id, 'r', new Date()));
  await first.resumeMetrics(0);
  await first.eval({ step: 0, loss: 2.5, samples: 4, targets: 40 });
  await first.flushMetrics();
  // The process dies before a checkpoint; the next one resumes from step 0 and evaluates again.
  const second = new RunRecorder(bucket, initialRunState(id, 'r', new Date()));
  await second.resumeMetrics(0);
  await second.eval({ step: 0, loss: 2.5, samples: 4, targets: 40 });
  await second.flushMetrics();
  const evals = (await readMetrics(bucket, id)).filter((l) => l.type === 'eval');
  assert.deepEqual(
    evals.map((l) => l.step),
    [0],
  );
});
