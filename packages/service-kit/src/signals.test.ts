// SIGTERM / SIGINT on a real child process: the in-flight request finishes, hooks run, exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./testing/signal-service.ts', import.meta.url));

async function runWithSignal(signal: NodeJS.Signals) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /http:\/\/[^\s]+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}: ${out}`)));
  });
  const slow = fetch(`${url}/slow`);
  await new Promise((r) => setTimeout(r, 100));
  const exited = once(child, 'exit');
  child.kill(signal);
  const res = await slow;
  const [code] = await exited;
  return { status: res.status, body: await res.json(), code, out };
}

test('SIGTERM and SIGINT: the in-flight request completes, hooks run, the process exits 0', async () => {
  // Both children at once: each start costs seconds of tsx compilation.
  const results = await Promise.all((['SIGTERM', 'SIGINT'] as const).map(runWithSignal));
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { finished: true });
    assert.equal(r.code, 0);
    assert.match(r.out, /hook ran/);
  }
});
