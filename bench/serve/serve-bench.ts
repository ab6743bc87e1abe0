// Serving bench: time to first token and decode tokens/s through the HTTP service, against the
// engine's own greedy generate on the same prompt in the same run (ratio = service / engine), for
// the tiny fixture LM and the `bench-small` shape (SmolLM2-135M-sized, random weights); then a
// bounded load test with autocannon (loopback only): N connections for D seconds within the
// queue bound (expect no errors), and an intentional overload with a short queue (expect only
// 429s besides 200s); then admission under overload with requests that carry an image: the
// answered-requests rate (200s per second) with as many connections as the server admits
// (concurrency + queue) and with 3x that, and their ratio (a 429 that still decodes the image
// makes the second rate fall). Usage:
//   tsx bench/serve/serve-bench.ts [--duration 20] [--connections 16] [--no-small] [--overload-only]

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
import { flatPng, loadTest, noisePng } from '../../services/serve/src/testing/load-test.js';
import { fixturesDir } from '../../test/paths.js';
import { benchSmallConfig, ensureBenchSmallCheckpoint } from '../engine/bench-small.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '16' },
    tokens: { type: 'string', default: '32' },
    'no-small': { type: 'boolean', default: false },
    'overload-only': { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const newTokens = Number(args.tokens);
const tokenizerDir = join(fixturesDir, 'tiny-llama');
const clipDir = join(fixturesDir, 'tiny-clip-vision');
const PROMPT = 'Once upon a time, in a land far away, there lived a';

const ms = (s: number) => `${s.toFixed(1)} ms`;

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

/**
 * Admission under overload: chat requests with one image inline and one new token, so handling
 * the image is most of each request's cost, against a server that admits 3 at once (1 generating,
 * 2 queued). Answered = 200s per second; at 3x the admitted connections the surplus gets 429s,
 * which should cost almost nothing. Two images: noise (3 MB of body to receive per request,
 * refused or not) and a flat colour (a few KB of body, 9 MP to decode), which isolates decoding.
 */
async function overloadWithImages(runId: string, seconds: number) {
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
      `\n[overload with images] ${image.name} (${(image.png.length / 1024).toFixed(0)} KB) per request, 1 token; the server admits ${admitted} (1 running + 2 queued); ${seconds} s each`,
    );
    const rates: number[] = [];
    for (const connections of [admitted, 3 * admitted]) {
      // The client in its own thread: its request bodies must not be written by the server's event loop.
      const r = await loadTest(url, body, seconds, connections, { worker: true });
      const answered = (r.codes['200'] ?? 0) / seconds;
      rates.push(answered);
      console.log(
        `  ${String(connections).padStart(2)} connections: answered ${answered.toFixed(2)}/s  refused ${((r.codes['429'] ?? 0) / seconds).toFixed(0)}/s  status ${JSON.stringify(r.codes)}  errors ${r.errors}  timeouts ${r.timeouts}`,
      );
    }
    const ratio = rates[1] / rates[0];
    console.log(
      `  answered at 3x / at capacity: ${ratio.toFixed(2)} (${ratio >= 0.8 ? 'within 20%' : 'more than 20% lower'})`,
    );
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
    await overloadWithImages(run.id, duration);
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
  await overloadWithImages(tinyRun, duration);
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  await harness.close();
}
