// The `mmit` command as a user runs it (packages/cli/bin/mmit.mjs: the bundle, rebuilt if a source
// changed): error paragraphs for real bad specs refused by a real service (service-kit's
// validation of the contracts' RunSpecSchema, over HTTP), YAML syntax errors with their line,
// --verbose, the deprecated --no-wait, and `--help` without the engine's native modules loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RunSpecSchema } from '@mmit/contracts';
import { z } from 'zod';
// The real service factory, so the problem+json is the one the trainer answers with.
import { createService, type RunningService } from '../../service-kit/src/index.js';

const MMIT = fileURLToPath(new URL('../bin/mmit.mjs', import.meta.url));
let dir: string;
let service: RunningService;

async function mmit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [MMIT, '--url', service.url, ...args],
      {
        cwd: dir,
        env: { ...process.env, MMIT_VERBOSE: '' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmit-cli-'));
  const trainer = createService({
    name: 'trainer',
    version: '0.0.0',
    defaultPort: 0,
    env: { MMIT_LOG_LEVEL: 'silent', MMIT_PORT: '0' },
    logDestination: { write: () => {} },
  });
  trainer.route({
    method: 'post',
    path: '/v1/runs',
    summary: 'start a run',
    request: { body: RunSpecSchema },
    responses: {},
    handler: () => ({ status: 500, body: { detail: 'not reached in these tests' } }),
  });
  trainer.route({
    method: 'post',
    path: '/v1/features/jobs',
    summary: 'start a feature job',
    request: { body: z.object({ corpusId: z.string().startsWith('c_') }) },
    responses: {},
    handler: () => ({ status: 500, body: {} }),
  });
  service = await trainer.listen();
});

after(() => service.close());

test('a spec missing a section and with a wrong type: one paragraph naming lines, fields and an example', async () => {
  await writeFile(
    join(dir, 'run.yaml'),
    [
      'name: demo',
      'datasetId: d_01ARZ3NDEKTSV4RRFFQ69G',
      'lm:',
      '  checkpoint: HuggingFaceTB/SmolLM2-135M',
      'optimizer:',
      '  lr: fast',
      '',
    ].join('\n'),
  );
  const { code, stderr } = await mmit('train', 'start', 'run.yaml');
  assert.equal(code, 2);
  assert.equal(
    stderr,
    [
      'mmit train start: the spec in run.yaml was refused (400 validation):',
      '  - run.yaml: `encoder` is missing: add it at the top level',
      '  - run.yaml line 6: `optimizer.lr` should be a number, not a string',
      '  for example:',
      '    encoder:',
      '      key: <key>',
      '      spec:',
      '        checkpoint: <checkpoint>',
      '',
    ].join('\n'),
  );
});

test('a JSON spec gets a JSON example, and a missing nested field names its section', async () => {
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify(
      { datasetId: 'd_01ARZ3NDEKTSV4RRFFQ69G', encoder: { spec: { checkpoint: 'm' } }, lm: {} },
      null,
      2,
    ),
  );
  const { code, stderr } = await mmit('train', 'start', 'run.json');
  assert.equal(code, 2);
  assert.equal(
    stderr,
    [
      'mmit train start: the spec in run.json was refused (400 validation):',
      '  - run.json: `lm.checkpoint` is missing: add it under `lm` (line 8)',
      '  for example:',
      '    {',
      '      "checkpoint": "<checkpoint>"',
      '    }',
      '',
    ].join('\n'),
  );
});

test('a YAML syntax error names the file, line and column; no stack without --verbose', async () => {
  await writeFile(join(dir, 'broken.yaml'), 'datasetId: d_1\nlm:\n  checkpoint: "open\nsteps: 3\n');
  const { code, stderr } = await mmit('train', 'start', 'broken.yaml');
  assert.equal(code, 2);
  assert.match(stderr, /^mmit train start: broken\.yaml line \d+, column \d+: /);
  assert.doesNotMatch(stderr, /\n\s+at /);
});

test('flags are named as flags, --no-wait warns and means --detach, --verbose adds the stack', async () => {
  const refused = await mmit('features', 'run', '--corpus', 'x', '--checkpoint', 'm', '--no-wait');
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    [
      'mmit features run: --no-wait is deprecated; use --detach',
      'mmit features run: the request was refused (400 validation):',
      '  - --corpus: must start with "c_"',
      '',
    ].join('\n'),
  );
  const missing = await mmit('--verbose', 'train', 'start', 'nowhere.yaml');
  assert.match(missing.stderr, /^mmit train start: nowhere\.yaml: no such file\.\n\nSpecError: /);
  assert.match(missing.stderr, /\n\s+at .*spec\.ts/);
});

test('`mmit --help` lists every group and loads no native module', async () => {
  const probe = [
    "process.argv = [process.argv[0], 'mmit', '--help'];",
    "process.on('exit', () => { const so = process.report.getReport().sharedObjects;",
    'const native = so.filter((s) => /onnxruntime|sharp|vips/.test(s)).length;',
    "process.stderr.write('native: ' + native + '\\n'); });",
    `await import(${JSON.stringify(MMIT)});`,
  ].join('\n');
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [
    '--input-type=module',
    '-e',
    probe,
  ]);
  for (const group of ['corpus', 'dataset', 'features', 'train', 'export', 'chat', 'bench', 'verify'])
    assert.match(stdout, new RegExp(`\\n  ${group} `));
  assert.match(stderr, /native: 0\n/);
});
