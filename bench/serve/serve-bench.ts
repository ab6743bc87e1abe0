// Serving bench: time to first token and decode tokens/s through the HTTP service, against the
// engine's own greedy generate on the same prompt in the same run (ratio = service / engine), for
// the tiny fixture LM and the `bench-small` shape (SmolLM2-135M-sized, random weights); then a
// bounded load test with autocannon (loopback only): N connections for D seconds within the
// queue bound (expect no errors), and an intentional overload with a short queue (expect only
// 429s besides 200s); then admission under overload with requests that carry an image, against a
// server that admits 3 (1 generating + 2 queued): the answered-requests rate (200s per second) at
// capacity (3 clients) and at 3x (9 clients), and their ratio, for two kinds of client:
// - raw hammer: autocannon, each connection sending its next request the moment any answer
//   (429 included) arrives. Every refusal is followed at once by another, so the 6 surplus
//   connections spin as fast as the server can refuse; on a machine the client shares with the
//   server (2 cores here) that spin takes CPU from the answered requests however cheap a refusal
//   is, so this ratio measures the machine as much as the server. Its "socket errors" are the
//   resets of refused connections still sending a body the server closed on (Connection: close).
// - openai client: the official SDK (`openai`, as applications use it, in a worker thread): a 429
//   waits what Retry-After says and is retried at most twice (the SDK's defaults), then the
//   loop sends its next request. This is the load the 20% target (issue 17) is judged on; the
//   raw-hammer numbers are printed beside it, not hidden.
// Capacity and 3x alternate in --rounds windows (default 3) whose counts are summed, so load from
// elsewhere on a shared machine falls on both sides alike. Usage:
//   tsx bench/serve/serve-bench.ts [--duration 20] [--connections 16] [--no-small] [--overload-only] [--rounds 3]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGenerator } from '../../packages/inference/src/index.js';
import {
  languageModelFromCheckpoint,
  loadCheckpoint,
  loadTokenizer,
} from '../../packages/models/src/index.js';
import { writeFixtureRun } from '../../services/serve/src/testing/fixture-runs.js';
import { startServeHarness } from '../../services/serve/src/testing/harness.js';
import { flatPng, loadTest, noisePng, sdkLoadTest } from '../../services/serve/src/testing/load-test.js';
import { fixturesDir } from '../../test/paths.js';
import { benchSmallConfig, ensureBenchSmallCheckpoint } from '../engine/bench-small.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '16' },
    tokens: { type: 'string', default: '32' },
    'no-small': { type: 'boolean', default: false },
    'overload-only': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const newTokens = Number(args.tokens);
const rounds = Number(args.rounds);
const tokenizerDir = join(fixturesDir, 'tiny-llama');
const clipDir = join(fixturesDir, 'tiny-clip-vision');
const PROMPT = 'Once upon a time, in a land far away, there lived a';

const ms = (s: number) => `${s.toFixed(1)} ms`;
const verdict = (ratio: number) =>
  `${ratio.toFixed(2)} (${ratio >= 0.8 ? 'within 20%' : 'more than 20% lower'})`;

/** Ends the bench early (--overload-only) through the same cleanup. */
class Done extends Error {}

/** Engine baseline: TTFT = generate 1 token; decode rate from generating N (EOS off). */
async function engineTiming(lmDir: string) {
  const lm = languageModelFromCheckpoint(await loadCheckpoint(lmDir));
  const generator = createGenerator(lm);
  const ids = loadTokenizer(tokenizerDir).encode(PROMPT, { addSpecialTokens: true });
  await generator.generate([ids], { maxNewTokens: 2, eosTokenIds: [] }); // warm-up: sessions
  let t = performance.now();
  await generator.generate([ids], { maxNewTokens: 1, eosTokenIds: [] });
  const ttft = performance.now() - t;
  t = performance.now();
  await generator.generate([ids], { maxNewTokens: newTokens, eosTokenIds: [] });
  const total = performance.now() - t;
  return { ttft, tokensPerSec: (newTokens - 1) / ((total - ttft) / 1000) };
}

/** Sum and count of a histogram for one model, from /metrics. */
async function histogram(url: string, name: string, model: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (suffix: string) =>
    Number(new RegExp(`${name}_${suffix}\\{[^}]*model="${model}"[^}]*\\} ([0-9.e+-]+)`).exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

/**
 * Service: one streamed /v1/completions; TTFT (arrival to first token picked) and the decode rate
 * as the service itself records them (its metrics), plus the client's wall time for the request.
 */
async function serviceTiming(url: string, model: string) {
  const once = async () => {
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt: PROMPT, max_tokens: newTokens, temperature: 0, stream: true }),
    });
    if (!res.ok || !res.body) throw new Error(`${res.status} ${await res.text()}`);
    for await (const _ of res.body);
  };
  await once(); // warm-up: loads the model
  const ttft0 = await histogram(url, 'serve_time_to_first_token_seconds', model);
  const rate0 = await histogram(url, 'serve_decode_tokens_per_second', model);
  const started = performance.now();
  await once();
  const wall = performance.now() - started;
  const ttft1 = await histogram(url, 'serve_time_to_first_token_seconds', model);
  const rate1 = await histogram(url, 'serve_decode_tokens_per_second', model);
  return { ttft: (ttft1.sum - ttft0.sum) * 1000, tokensPerSec: rate1.sum - rate0.sum, wall };
}

async function imageTtft(url: string, model: string) {
  const { readFileSync } = await import('node:fs');
  const png = readFileSync(join(fixturesDir, 'case_clip_image.png')).toString('base64');
  const started = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      max_tokens: 1,
      temperature: 0,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    }),
  });
  await res.json();
  return performance.now() - started;
}

function load(url: string, model: string, seconds: number, conns: number) {
  const body = {
    model,
    messages: [{ role: 'user', content: 'Say something short.' }],
    max_tokens: 16,
    temperature: 0,
  };
  return loadTest(`${url}/v1/chat/completions`, body, seconds, conns);
}

/** Until the requests a previous phase left admitted have ended (they would refuse the next's). */
async function idle(queue: { active: number; waiting: number }) {
  while (queue.active + queue.waiting > 0) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Admission under overload: chat requests with one image inline and one new token, so handling
 * the image is most of each request's cost, against a server that admits 3 at once (1 generating,
 * 2 queued). Answered = 200s per second; at 3x the admitted connections the surplus gets 429s,
 * which should cost almost nothing. Two images: noise (3 MB of body to receive per request,
 * refused or not) and a flat colour (a few KB of body, 9 MP to decode), which isolates decoding.
 */
type Codes = Record<string, number>;

function add(into: Codes, more: Codes) {
  for (const [key, n] of Object.entries(more)) into[key] = (into[key] ?? 0) + n;
}

async function overloadWithImages(runId: string, seconds: number, rounds: number) {
  const images = [
    { name: 'noise PNG 1024x1024', png: await noisePng(1024) },
    { name: 'flat PNG 3000x3000', png: await flatPng(3000) },
  ];
  const admitted = 3;
  const server = await harness.another({ MMIT_SERVE_CONCURRENCY: '1', MMIT_SERVE_MAX_QUEUE: '2' });
  for (const image of images) {
    const body = {
      model: runId,
      max_tokens: 1,
      temperature: 0,
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'image_url',
              image_url: { url: `data:image/png;base64,${image.png.toString('base64')}` },
            },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    };
    const url = `${server.url}/v1/chat/completions`;
    await loadTest(url, body, 2, 1); // warm-up: loads the model
    console.log(
      `\n[overload with images] ${image.name} (${(image.png.length / 1024).toFixed(0)} KB) per request, 1 token; the server admits ${admitted} (1 running + 2 queued); ${seconds} s each, in ${rounds} alternating windows`,
    );
    // Capacity and 3x alternate in `rounds` windows and their counts are summed: the other load
    // on a shared machine drifts over a run, and alternating gives both sides the same share of it.
    const window = seconds / rounds;
    const hammer = [admitted, 3 * admitted].map((connections) => ({
      connections,
      codes: {} as Codes,
      errors: 0,
    }));
    const sdk = [admitted, 3 * admitted].map((users) => ({
      users,
      answered: 0,
      refused: 0,
      failed: 0,
      attempts: {} as Codes,
    }));
    for (let round = 0; round < rounds; round++) {
      for (const side of hammer) {
        await idle(server.serve.queue);
        // The client in its own thread: its request bodies must not be written by the server's event loop.
        const r = await loadTest(url, body, window, side.connections, { worker: true });
        add(side.codes, r.codes);
        side.errors += r.errors + r.timeouts;
      }
      for (const side of sdk) {
        await idle(server.serve.queue);
        const r = await sdkLoadTest(`${server.url}/v1`, body, window, side.users);
        side.answered += r.answered;
        side.refused += r.refused;
        side.failed += r.failed;
        add(side.attempts, r.attempts);
      }
    }
    const rate = (n: number | undefined) => (n ?? 0) / seconds;
    console.log('  raw hammer (autocannon: each connection sends again the moment any answer arrives)');
    for (const side of hammer) {
      console.log(
        `    ${String(side.connections).padStart(2)} connections: answered ${rate(side.codes['200']).toFixed(2)}/s  refused ${rate(side.codes['429']).toFixed(1)}/s  status ${JSON.stringify(side.codes)}  socket errors ${side.errors}`,
      );
    }
    console.log(
      `    answered at 3x / at capacity: ${verdict(rate(hammer[1].codes['200']) / rate(hammer[0].codes['200']))}`,
    );
    console.log(
      '  openai client (the official SDK: a 429 waits its Retry-After, at most 2 retries, then the next request)',
    );
    for (const side of sdk) {
      console.log(
        `    ${String(side.users).padStart(2)} users: answered ${rate(side.answered).toFixed(2)}/s  gave up on ${rate(side.refused).toFixed(2)}/s  failed ${side.failed}  attempts ${JSON.stringify(side.attempts)}`,
      );
    }
    console.log(`    answered at 3x / at capacity: ${verdict(sdk[1].answered / sdk[0].answered)}`);
  }
}

const harness = await startServeHarness({
  MMIT_SERVE_MAX_QUEUE: String(connections * 2),
  MMIT_SERVE_MAX_TOKENS: '1024',
});
try {
  const shapes = [{ name: 'tiny', lm: join(fixturesDir, 'tiny-llama'), hidden: 64 }];
  if (!args['no-small'])
    shapes.push({
      name: 'bench-small',
      lm: ensureBenchSmallCheckpoint(),
      hidden: benchSmallConfig.hidden_size,
    });
  console.log(
    `serve bench: ${newTokens} new tokens, greedy, prompt of ${loadTokenizer(tokenizerDir).encode(PROMPT).length} tokens (cpu)`,
  );
  let tinyRun = '';
  if (args['overload-only']) {
    const run = await writeFixtureRun(harness.bucket, {
      lm: shapes[0].lm,
      tokenizer: tokenizerDir,
      encoder: clipDir,
      featureDim: 64,
      hiddenSize: shapes[0].hidden,
    });
    await overloadWithImages(run.id, duration, rounds);
  }
  for (const shape of args['overload-only'] ? [] : shapes) {
    const run = await writeFixtureRun(harness.bucket, {
      lm: shape.lm,
      tokenizer: tokenizerDir,
      encoder: clipDir,
      featureDim: 64,
      hiddenSize: shape.hidden,
    });
    if (shape.name === 'tiny') tinyRun = run.id;
    const engine = await engineTiming(shape.lm);
    const service = await serviceTiming(harness.url, run.id);
    const image = await imageTtft(harness.url, run.id);
    console.log(`\n[${shape.name}]`);
    console.log(
      `  TTFT    engine ${ms(engine.ttft)}   service ${ms(service.ttft)}   ratio ${(service.ttft / engine.ttft).toFixed(2)}`,
    );
    console.log(
      `  decode  engine ${engine.tokensPerSec.toFixed(1)} tok/s   service ${service.tokensPerSec.toFixed(1)} tok/s   ratio ${(service.tokensPerSec / engine.tokensPerSec).toFixed(2)}`,
    );
    console.log(`  request wall time (client side, ${newTokens} tokens streamed): ${ms(service.wall)}`);
    console.log(
      `  TTFT with one image (encoder + projector + prefill, non-streaming, 1 token): ${ms(image)}`,
    );
  }

  if (args['overload-only']) throw new Done();
  console.log(
    `\n[load] ${connections} connections for ${duration} s, queue bound ${connections * 2} (tiny, 16 tokens each)`,
  );
  const steady = await load(harness.url, tinyRun, duration, connections);
  console.log(
    `  requests ${steady.requests}  p50 ${steady.p50} ms  p99 ${steady.p99} ms  status ${JSON.stringify(steady.codes)}  errors ${steady.errors}  timeouts ${steady.timeouts}`,
  );
  const steadyBad =
    Object.keys(steady.codes).filter((c) => c !== '200').length + steady.errors + steady.timeouts;
  console.log(`  ${steadyBad === 0 ? 'OK: no errors' : 'FAIL: errors under a load within the queue bound'}`);

  const busy = await harness.another({ MMIT_SERVE_MAX_QUEUE: '2', MMIT_SERVE_MAX_TOKENS: '1024' });
  console.log(`\n[overload] ${connections} connections for ${Math.ceil(duration / 2)} s, queue bound 2`);
  const over = await load(busy.url, tinyRun, Math.ceil(duration / 2), connections);
  console.log(
    `  requests ${over.requests}  p50 ${over.p50} ms  p99 ${over.p99} ms  status ${JSON.stringify(over.codes)}  errors ${over.errors}  timeouts ${over.timeouts}`,
  );
  const overBad =
    Object.keys(over.codes).filter((c) => c !== '200' && c !== '429').length + over.errors + over.timeouts;
  console.log(
    `  ${overBad === 0 && over.codes['429'] ? 'OK: only 429s beside 200s' : 'FAIL: errors other than 429 under overload'}`,
  );
  await overloadWithImages(tinyRun, duration, rounds);
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  await harness.close();
}
