// The run recorder against the real embedded S3 server: metrics.jsonl after a resume.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newId } from '@mmit/contracts';
import { Bucket, type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from '@mmit/storage';
import { RunRecorder, readMetrics } from './recorder.js';
import { initialRunState } from './state.js';

let dir: string;
let s3: EmbeddedS3;
let bucket: Bucket;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmit-recorder-'));
  s3 = await startEmbeddedS3({ dir: join(dir, 's3'), port: 0 });
  bucket = new Bucket(embeddedS3Config(s3));
  await bucket.ensure();
});
after(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

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
