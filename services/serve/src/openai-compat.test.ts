// OpenAI compatibility, field by field, through the official `openai` client against a real serve
// service (and the launcher's gateway in front of it) over the hf-tiny Llama: run names as model
// aliases, n, logprobs/top_logprobs (chat) and logprobs (completions), frequency/presence
// penalties and logit_bias, prompt arrays (text and token ids), echo, usage details, and the
// refusals (response_format json_*, tools, echo with logprobs) and errors in OpenAI's shape.
// Semantics are checked against references built here, apart from the server: the LM's own logits
// step by step (openDecoderSessions + decodeTokens), log-softmax and penalties written out.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { argmax, decodeTokens, embedIds, openDecoderSessions, releaseDecoderSessions } from '@mmit/inference';
import { languageModelFromCheckpoint, loadCheckpoint, loadTokenizer, type Tokenizer } from '@mmit/models';
import OpenAI, { APIError } from 'openai';
import { type Gateway, startGateway } from '../../../infra/gateway.js';
import { fixturesDir } from '../../../test/paths.js';
import { writeFixtureRun } from './testing/fixture-runs.js';
import { type ServeHarness, startServeHarness } from './testing/harness.js';

const llamaDir = join(fixturesDir, 'tiny-llama');
const clipDir = join(fixturesDir, 'tiny-clip-vision');
const EOS = 2;

async function expectError(promise: Promise<unknown>, status: number, code: string, param?: string) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof APIError, `expected an APIError, got ${err}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    if (param !== undefined) assert.equal(err.param, param, err.message);
    const body = err.error as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'param', 'type']);
    return err;
  }
  assert.fail(`expected HTTP ${status} ${code}`);
}

/**
 * The reference: the LM's last logits at each step of a greedy continuation of `ids`, picked by
 * `pick` (argmax by default), from the decoder sessions alone (no serve code).
 */
async function referenceSteps(
  ids: number[],
  steps: number,
  pick: (logits: Float32Array, previous: number[]) => number = (l) => argmax(l),
): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const lm = languageModelFromCheckpoint(await loadCheckpoint(llamaDir));
  const sessions = await openDecoderSessions(lm, 'cpu');
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  try {
    for await (const id of decodeTokens(sessions, await embedIds(sessions, ids), {
      maxNewTokens: steps,
      pick: (row) => {
        logits.push(Float32Array.from(row));
        return pick(row, tokens);
      },
    })) {
      tokens.push(id);
      if (id === EOS) break;
    }
  } finally {
    await releaseDecoderSessions(sessions);
  }
  return { tokens, logits };
}

function logSoftmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const logZ = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  return Array.from(row, (x) => x - logZ);
}

/** The ids the server generated, from the bytes logprobs report (exact for byte-level BPE). */
function textOf(tokenizer: Tokenizer, ids: number[]): string {
  return tokenizer.decode(ids.at(-1) === EOS ? ids.slice(0, -1) : ids, { skipSpecialTokens: true });
}

describe('serve: OpenAI compatibility (openai client)', () => {
  let harness: ServeHarness;
  let gateway: Gateway;
  let openai: OpenAI;
  let viaGateway: OpenAI;
  let tokenizer: Tokenizer;
  let named: string;
  const chatIds = (content: string) =>
    tokenizer.encode(tokenizer.renderChat([{ role: 'user', content }], { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    });

  before(async () => {
    harness = await startServeHarness({
      MMIT_SERVE_BASE_MODELS: `tiny-llama=${llamaDir}`,
      MMIT_SERVE_MAX_TOKENS: '64',
    });
    const run = { lm: llamaDir, encoder: clipDir, featureDim: 64, hiddenSize: 64 };
    named = (await writeFixtureRun(harness.bucket, { ...run, name: 'captioner', seed: 1 })).id;
    await writeFixtureRun(harness.bucket, { ...run, name: 'twin', seed: 2 });
    await writeFixtureRun(harness.bucket, { ...run, name: 'twin', seed: 3 });
    gateway = await startGateway({ port: 0, services: { serve: [{ id: 'serve', url: harness.url }] } });
    await gateway.checkNow();
    openai = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    viaGateway = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    tokenizer = loadTokenizer(llamaDir);
  });
  after(async () => {
    await gateway.close();
    await harness.close();
  });

  it("model aliases: a run's name lists and answers as the run; a shared name is ambiguous", async () => {
    const models = [];
    for await (const m of viaGateway.models.list()) models.push(m);
    const alias = models.find((m) => m.id === 'captioner') as (OpenAI.Model & { root?: string }) | undefined;
    assert.equal(alias?.root, named, 'the alias is listed with its run as root');
    assert.ok(!models.some((m) => m.id === 'twin'), 'an ambiguous name is not listed');
    assert.equal((await openai.models.retrieve('captioner')).id, 'captioner');
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const byName = await viaGateway.chat.completions.create({
      model: 'captioner',
      messages,
      max_tokens: 6,
      temperature: 0,
    });
    const byId = await openai.chat.completions.create({
      model: named,
      messages,
      max_tokens: 6,
      temperature: 0,
    });
    assert.equal(byName.model, 'captioner', 'the answer names the model as asked');
    assert.equal(byName.choices[0].message.content, byId.choices[0].message.content);
    assert.equal(byName.system_fingerprint, byId.system_fingerprint, 'one model behind both names');
    const twin = await expectError(
      viaGateway.chat.completions.create({ model: 'twin', messages }),
      400,
      'model_ambiguous',
      'model',
    );
    assert.match(twin.message, /ambiguous: it names 2 models \(r_.*, r_.*\); ask for one by its run id/);
    await expectError(
      viaGateway.chat.completions.create({ model: 'captioner:10', messages }),
      404,
      'model_not_found',
      'model',
    );
  });

  it('n: choices numbered 0..n-1, equal at temperature 0, different when sampled, streamed too', async () => {
    const base = {
      model: 'tiny-llama',
      messages: [{ role: 'user' as const, content: 'Count.' }],
      max_tokens: 12,
    };
    const one = await openai.chat.completions.create({ ...base, temperature: 0 });
    const greedy = await openai.chat.completions.create({ ...base, temperature: 0, n: 3 });
    assert.deepEqual(
      greedy.choices.map((c) => c.index),
      [0, 1, 2],
    );
    for (const c of greedy.choices) assert.equal(c.message.content, one.choices[0].message.content);
    assert.equal(greedy.usage?.completion_tokens, 3 * (one.usage?.completion_tokens ?? 0));
    assert.equal(greedy.usage?.prompt_tokens, one.usage?.prompt_tokens, 'the prompt counts once');

    const sampled = await openai.chat.completions.create({ ...base, temperature: 1.5, n: 4, seed: 5 });
    const texts = sampled.choices.map((c) => c.message.content);
    assert.ok(new Set(texts).size > 1, `sampled choices differ: ${JSON.stringify(texts)}`);
    // Choice 0 draws as n = 1 with the same seed does.
    const single = await openai.chat.completions.create({ ...base, temperature: 1.5, seed: 5 });
    assert.equal(texts[0], single.choices[0].message.content);

    const stream = await viaGateway.chat.completions.create({
      ...base,
      temperature: 1.5,
      n: 4,
      seed: 5,
      stream: true,
    });
    const streamed = ['', '', '', ''];
    const finished = new Set<number>();
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        streamed[c.index] += c.delta.content ?? '';
        if (c.finish_reason) finished.add(c.index);
      }
    }
    assert.deepEqual(streamed, texts);
    assert.equal(finished.size, 4);
  });

  it("chat logprobs: each token's log-softmax under the LM's logits, with top_logprobs in order", async () => {
    const answer = await viaGateway.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Say something.' }],
      max_tokens: 10,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const reference = await referenceSteps(chatIds('Say something.'), 10);
    const content = answer.choices[0].logprobs?.content ?? [];
    const generated = reference.tokens.filter((id) => id !== EOS);
    assert.equal(content.length, generated.length, 'one entry per token (EOS has none)');
    assert.ok(content.length >= 5, `${content.length} tokens to check`);
    const bytes: number[] = [];
    content.forEach((entry, t) => {
      const expected = logSoftmax(reference.logits[t]);
      assert.ok(
        Math.abs(entry.logprob - expected[generated[t]]) < 1e-4,
        `${entry.logprob} vs ${expected[generated[t]]}`,
      );
      assert.equal(entry.top_logprobs.length, 3);
      // Greedy: the picked token is the most likely one.
      assert.equal(entry.top_logprobs[0].token, entry.token);
      assert.ok(entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob);
      const best = [...expected].sort((a, b) => b - a).slice(0, 3);
      for (const [k, alt] of entry.top_logprobs.entries()) assert.ok(Math.abs(alt.logprob - best[k]) < 1e-4);
      bytes.push(...(entry.bytes ?? []));
    });
    assert.equal(Buffer.from(bytes).toString('utf8'), answer.choices[0].message.content);
    assert.equal(answer.choices[0].message.content, textOf(tokenizer, reference.tokens));
    const streamed = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Say something.' }],
      max_tokens: 10,
      temperature: 0,
      logprobs: true,
      stream: true,
    });
    const streamedLogprobs: number[] = [];
    for await (const chunk of streamed)
      for (const c of chunk.choices)
        streamedLogprobs.push(...(c.logprobs?.content ?? []).map((e) => e.logprob));
    assert.deepEqual(
      streamedLogprobs,
      content.map((e) => e.logprob),
    );
    await expectError(
      openai.chat.completions.create({
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'x' }],
        top_logprobs: 2,
      }),
      400,
      'invalid_value',
      'top_logprobs',
    );
  });

  it('completions logprobs (an int): tokens, token_logprobs, top_logprobs and text_offset', async () => {
    const prompt = 'The quick brown fox';
    const answer = await openai.completions.create({
      model: 'tiny-llama',
      prompt,
      max_tokens: 8,
      temperature: 0,
      logprobs: 2,
    });
    const reference = await referenceSteps(tokenizer.encode(prompt, { addSpecialTokens: true }), 8);
    const lp = answer.choices[0].logprobs;
    const generated = reference.tokens.filter((id) => id !== EOS);
    assert.ok(lp?.tokens && lp.token_logprobs && lp.top_logprobs && lp.text_offset);
    assert.equal(lp.tokens.length, generated.length);
    assert.ok(generated.length >= 4, `${generated.length} tokens to check`);
    for (const [t, v] of lp.token_logprobs.entries()) {
      assert.ok(Math.abs(v - logSoftmax(reference.logits[t])[generated[t]]) < 1e-4);
      // Up to two alternatives, keyed by text (a shared text keeps the likelier): the best is the greedy pick.
      const top = Object.entries(lp.top_logprobs[t]);
      assert.ok(top.length >= 1 && top.length <= 2);
      assert.ok(Math.abs(Math.max(...top.map(([, x]) => x)) - v) < 1e-9);
    }
    assert.equal(lp.text_offset[0], 0);
    assert.equal(lp.tokens.join(''), answer.choices[0].text);
  });

  it('frequency and presence penalties change the chosen tokens exactly as OpenAI defines them', async () => {
    // A greedy answer of the tiny LM repeats tokens; the penalties must then pick others.
    const content = 'Repeat after me: la la la la';
    const ids = chatIds(content);
    const ask = (extra: Record<string, number>) =>
      openai.chat.completions.create({
        model: 'tiny-llama',
        messages: [{ role: 'user', content }],
        max_tokens: 24,
        temperature: 0,
        logprobs: true,
        ...extra,
      });
    const plain = await ask({});
    const tokensOf = (r: OpenAI.ChatCompletion) => (r.choices[0].logprobs?.content ?? []).map((e) => e.token);
    const plainTokens = tokensOf(plain);
    assert.ok(new Set(plainTokens).size < plainTokens.length, `the crafted case repeats: ${plainTokens}`);
    // The rule written out: logit - frequency * count - presence * (count > 0), then argmax.
    const penalised = (frequency: number, presence: number) => (row: Float32Array, previous: number[]) => {
      const counts = new Map<number, number>();
      for (const id of previous) counts.set(id, (counts.get(id) ?? 0) + 1);
      const adjusted = Float32Array.from(row, (x, id) => {
        const c = counts.get(id) ?? 0;
        return x - frequency * c - (c > 0 ? presence : 0);
      });
      return argmax(adjusted);
    };
    for (const [frequency, presence] of [
      [1.5, 0],
      [0, 1.5],
    ]) {
      const answer = await ask({ frequency_penalty: frequency, presence_penalty: presence });
      const reference = await referenceSteps(ids, 24, penalised(frequency, presence));
      assert.equal(answer.choices[0].message.content, textOf(tokenizer, reference.tokens));
      assert.notDeepEqual(
        tokensOf(answer),
        plainTokens,
        `penalties ${frequency}/${presence} change the tokens`,
      );
    }
  });

  it('logit_bias forces or bans tokens; ids outside the vocabulary are refused', async () => {
    const forced = tokenizer.encode(' la', { addSpecialTokens: false })[0];
    const answer = await openai.completions.create({
      model: 'tiny-llama',
      prompt: 'Hello',
      max_tokens: 4,
      temperature: 0,
      logit_bias: { [String(forced)]: 100 },
      logprobs: 0,
    });
    assert.equal(answer.choices[0].text, tokenizer.decode([forced, forced, forced, forced]));
    await expectError(
      openai.completions.create({ model: 'tiny-llama', prompt: 'Hello', logit_bias: { '999999': 5 } }),
      400,
      'invalid_value',
      'logit_bias.999999',
    );
  });

  it('completions: prompt arrays of strings and token ids, n per prompt, echo', async () => {
    const ask = (prompt: string | string[] | number[] | number[][], extra: Record<string, unknown> = {}) =>
      viaGateway.completions.create({ model: 'tiny-llama', prompt, max_tokens: 6, temperature: 0, ...extra });
    const [a, b] = ['Once upon a time', 'In the beginning'];
    const single = await Promise.all([ask(a), ask(b)]);
    const both = await ask([a, b], { n: 2 });
    assert.deepEqual(
      both.choices.map((c) => [c.index, c.text]),
      [
        [0, single[0].choices[0].text],
        [1, single[0].choices[0].text],
        [2, single[1].choices[0].text],
        [3, single[1].choices[0].text],
      ],
    );
    assert.equal(
      both.usage?.prompt_tokens,
      (single[0].usage?.prompt_tokens ?? 0) + (single[1].usage?.prompt_tokens ?? 0),
    );
    const idsA = tokenizer.encode(a, { addSpecialTokens: true });
    const idsB = tokenizer.encode(b, { addSpecialTokens: true });
    assert.equal((await ask(idsA)).choices[0].text, single[0].choices[0].text);
    assert.deepEqual(
      (await ask([idsA, idsB])).choices.map((c) => c.text),
      single.map((s) => s.choices[0].text),
    );
    const echoed = await ask(a, { echo: true });
    assert.equal(echoed.choices[0].text, a + single[0].choices[0].text);
    const stream = await viaGateway.completions.create({
      model: 'tiny-llama',
      prompt: a,
      max_tokens: 6,
      temperature: 0,
      echo: true,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, echoed.choices[0].text);
    await expectError(ask(a, { echo: true, logprobs: 1 }), 400, 'unsupported_value', 'echo');
    await expectError(ask([[1, 2, 999_999]]), 400, 'invalid_value', 'prompt.2');
  });

  it('usage details say what is true here: no cache, no reasoning tokens', async () => {
    const answer = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
    });
    assert.deepEqual(answer.usage?.prompt_tokens_details, { cached_tokens: 0 });
    assert.deepEqual(answer.usage?.completion_tokens_details, { reasoning_tokens: 0 });
  });

  it("refuses what it does not implement, in OpenAI's error shape, directly and through the gateway", async () => {
    const base = { model: 'tiny-llama', messages: [{ role: 'user' as const, content: 'JSON please' }] };
    for (const client of [openai, viaGateway]) {
      const json = await expectError(
        client.chat.completions.create({ ...base, response_format: { type: 'json_object' } }),
        400,
        'unsupported_value',
        'response_format',
      );
      assert.match(json.message, /json_object is not supported/);
      await expectError(
        client.chat.completions.create({
          ...base,
          response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
        }),
        400,
        'unsupported_value',
        'response_format',
      );
      await expectError(
        client.chat.completions.create({
          ...base,
          tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        }),
        400,
        'unsupported_parameter',
        'tools',
      );
      await expectError(
        client.completions.create({ model: 'tiny-llama', prompt: 'x', best_of: 3 }),
        400,
        'unsupported_value',
        'best_of',
      );
      await expectError(client.embeddings.create({ model: 'tiny-llama', input: 'x' }), 404, 'unknown_url');
      await expectError(client.chat.completions.create({ ...base, n: 17 }), 400, 'invalid_value', 'n');
    }
    const text = await openai.chat.completions.create({
      ...base,
      max_tokens: 2,
      response_format: { type: 'text' },
    });
    assert.equal(text.choices.length, 1);
  });
});
