import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RecipeSchema } from '@mmit/contracts';
import { synthesize } from '../../synthesizer.js';
import { type FakeLlm, startFakeLlm } from '../../testing/fake-llm.js';
import { item } from '../../testing/items.js';
import { MemoryReplyCache, type ReplyCache } from './cache.js';
import { LlmGenerator, llmConnection } from './generator.js';

let fake: FakeLlm;
before(async () => {
  fake = await startFakeLlm();
});
after(() => fake.close());

const items = [
  {
    ...item(0, ['A brown dog chases a red ball in the park.', 'A dog playing with a ball.']),
    boxes: [{ category: 'dog', bbox: [0.1, 0.2, 0.3, 0.4] as [number, number, number, number] }],
  },
  item(1, ['A low beep, then a high beep.'], 'audio'),
  item(2, ['A cat sleeps on a red sofa.']),
];

function run(llm: object, options: { cache?: ReplyCache; baseUrl?: string; kinds?: object } = {}) {
  const recipe = RecipeSchema.parse({
    kinds: options.kinds ?? { brief: {}, detailed: {}, conversation: {}, reasoning: {} },
    generator: 'llm',
    llm: { retries: 1, timeoutMs: 2_000, ...llm },
  });
  const generator = new LlmGenerator({
    endpoint: { baseUrl: options.baseUrl ?? fake.url, model: 'fake-model', apiKey: 'sk-test' },
    options: recipe.llm,
    cache: options.cache,
    retryBaseDelayMs: 1,
  });
  return synthesize(items, { recipe, generator }).then((r) => ({ ...r, usage: generator.usage() }));
}

function reset(mode: FakeLlm['mode']) {
  fake.reset(mode);
}

test('llm: prompts carry only symbolic context, replies become grounded samples of every kind', async () => {
  reset('ok');
  const { samples, outcomes, usage } = await run({});
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['ok', 'ok', 'ok'],
    JSON.stringify(outcomes),
  );
  assert.equal(samples.length, 12);
  assert.equal(fake.requests.length, 9, 'brief samples need no request: 3 items x 3 written kinds');
  assert.equal(usage.requests, 9);
  assert.equal(usage.tokens, 9 * 120);
  const first = fake.requests[0];
  assert.equal(first.model, 'fake-model');
  assert.equal(first.authorization, 'Bearer sk-test');
  assert.equal(first.messages[0].role, 'system');
  assert.match(first.messages[0].content, /never mention sentences, captions/);
  assert.equal(first.messages.at(-2)?.role, 'assistant', 'one few-shot example precedes the item');
  const context = first.messages.at(-1)!.content;
  assert.match(context, /- A brown dog chases a red ball in the park\./);
  assert.match(context, /- dog: \[0\.10, 0\.20, 0\.30, 0\.40\]/);
  const audioPrompt = fake.requests.find((r) => r.messages.at(-1)!.content.includes('beep'))!;
  assert.match(audioPrompt.messages[0].content, /listening to a single sound clip/);
  const conversation = samples.find((s) => s.kind === 'conversation' && s.itemId === items[0].id)!;
  assert.equal(conversation.generator, 'llm');
  assert.equal(conversation.conversations[1].value, 'A brown dog chases a red ball in the park.');
});

test('llm: a 500 on the first attempt is retried; every later failure mode ends as a clear per-item outcome', async () => {
  reset('flaky');
  const flaky = await run({}, { kinds: { conversation: {} } });
  assert.equal(flaky.samples.length, 3);
  assert.equal(fake.requests.length, 6, 'each request answered on its second attempt');

  // Tokens: an answer with content is paid for even when it is rejected; no content, no usage.
  const cases = [
    ['error500', { retries: 1 }, 'llm_http_error', /answered 500/, 0],
    ['hang', { retries: 0, timeoutMs: 150 }, 'llm_timeout', /within 150 ms/, 0],
    ['not-json', { retries: 0 }, 'llm_invalid_reply', /not JSON/, 0],
    ['wrong-shape', { retries: 1 }, 'llm_invalid_reply', /lacks "turns"/, 3 * 2 * 120],
  ] as const;
  for (const [mode, llm, reason, detail, tokens] of cases) {
    reset(mode);
    const { samples, outcomes, usage } = await run(llm, { kinds: { brief: {}, conversation: {} } });
    assert.equal(samples.filter((s) => s.kind === 'brief').length, 3, `${mode}: brief samples need no model`);
    assert.equal(samples.filter((s) => s.kind === 'conversation').length, 0, mode);
    for (const o of outcomes) {
      assert.equal(o.status, 'partial', mode);
      assert.equal(o.problems[0].reason, reason, mode);
      assert.match(o.problems[0].detail, detail, mode);
    }
    assert.equal(usage.failures, 3, mode);
    assert.equal(usage.tokens, tokens, `${mode}: tokens charged`);
  }
});

test('llm: an unreachable endpoint fails fast after a few calls instead of retrying every item', async () => {
  const closed = await startFakeLlm();
  await closed.close();
  const { outcomes } = await run(
    { retries: 1, concurrency: 1 },
    { baseUrl: closed.url, kinds: { detailed: {}, conversation: {} } },
  );
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['failed', 'failed', 'failed'],
  );
  const problems = outcomes.flatMap((o) => o.problems);
  assert.ok(problems.every((p) => p.reason === 'llm_unreachable'));
  assert.match(problems[0].detail, /cannot reach/);
  assert.match(problems.at(-1)!.detail, /not trying again/);
});

test('llm: generators sharing a connection share its circuit breaker', async () => {
  const closed = await startFakeLlm();
  await closed.close();
  const recipe = RecipeSchema.parse({
    kinds: { conversation: {} },
    generator: 'llm',
    llm: { retries: 0, concurrency: 1 },
  });
  const endpoint = { baseUrl: closed.url, model: 'fake-model' };
  const connection = llmConnection(endpoint, recipe.llm, 1);
  const detailsOf = async (generator: LlmGenerator) =>
    (await synthesize([items[0]], { recipe, generator })).outcomes[0].problems.map((p) => p.detail);
  // Three calls in a row fail (one per part of a job, say): the breaker trips.
  for (let part = 0; part < 3; part++) {
    assert.match(
      (await detailsOf(new LlmGenerator({ endpoint, options: recipe.llm, connection })))[0],
      /cannot reach/,
    );
  }
  const shared = await detailsOf(new LlmGenerator({ endpoint, options: recipe.llm, connection }));
  assert.match(shared[0], /not trying again/);
  const own = await detailsOf(new LlmGenerator({ endpoint, options: recipe.llm, retryBaseDelayMs: 1 }));
  assert.match(own[0], /cannot reach/, 'a generator with its own connection tries again');
});

test('llm: invented objects are filtered out by the grounding check', async () => {
  reset('invent');
  const { samples, filters } = await run({}, { kinds: { conversation: {} } });
  assert.ok((filters.removed.ungrounded?.turns ?? 0) >= 3);
  for (const s of samples) assert.ok(!s.conversations.some((t) => /giraffe/i.test(t.value)));
});

test('llm: the reply cache means a rerun pays nothing, and the budget caps a job', async () => {
  reset('ok');
  const cache = new MemoryReplyCache();
  const first = await run({}, { cache, kinds: { conversation: {} } });
  assert.equal(fake.requests.length, 3);
  const second = await run({}, { cache, kinds: { conversation: {} } });
  assert.equal(fake.requests.length, 3, 'no new requests');
  assert.equal(second.usage.cacheHits, 3);
  assert.deepEqual(second.samples, first.samples);

  reset('ok');
  const capped = await run({ maxRequests: 2, concurrency: 1 }, { kinds: { conversation: {} } });
  assert.equal(fake.requests.length, 2);
  assert.equal(capped.samples.length, 2);
  assert.equal(capped.outcomes[2].problems[0].reason, 'llm_budget_exhausted');
});
