// The synth `llm` generator against the project's own serving service (a real serve service
// with the hf-tiny Llama as its base model), as a library and as the synth service's job. The
// tiny LM has random weights, so no reply is ever the asked-for JSON; what is checked is what
// holds for any model: requests go over the OpenAI protocol with the LLaVA-style system prompt,
// JSON instructions and few-shot example; every answer is validated and a bad one becomes an
// `llm_invalid_reply` outcome; the tokens the service reports are charged to the job's budget,
// retries included, and stop the job when it is spent; a rejected reply is never cached, so a
// rerun asks again. Fault modes (timeouts, 500s) stay on the fake server in @mmit/synth, since a
// real model cannot be made to fail on demand; so does the cache-hit path, which needs a valid reply.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JobRecord } from '@mmit/contracts';
import {
  type DatasetManifest,
  LlmGenerator,
  MemoryReplyCache,
  type RecipeInput,
  RecipeSchema,
  type SourceItem,
  synthesize,
} from '@mmit/synth';
import { fixturesDir } from '../../../test/paths.js';
import {
  json,
  post,
  type Storage,
  startStorage,
  startSynth,
  waitForJob,
  writeCorpus,
} from './testing/harness.js';
import { type Exchange, type RealLlm, startRealLlm } from './testing/real-llm.js';

const API_KEY = 'synth-to-serve-key-0123';
const MAX_TOKENS = 16;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

function item(n: number, captions: string[], modality: 'image' | 'audio' = 'image'): SourceItem {
  const id = `i_${String(n).padStart(22, '0')}`;
  return { index: n, id, source: `item-${n}`, modality, captions, boxes: [], mediaGroup: id };
}

const items: SourceItem[] = [
  {
    ...item(0, ['A brown dog chases a red ball in the park.', 'A dog playing with a ball.']),
    boxes: [{ category: 'dog', bbox: [0.1, 0.2, 0.3, 0.4] }],
  },
  item(1, ['A low beep, then a high beep.'], 'audio'),
  item(2, ['A cat sleeps on a red sofa.']),
];

const usageOf = (e: Exchange) => e.response.usage as Usage;
const totalTokens = (exchanges: Exchange[]) => exchanges.reduce((sum, e) => sum + usageOf(e).total_tokens, 0);

describe('synth llm generator against the real serve service', () => {
  let llm: RealLlm;

  before(async () => {
    llm = await startRealLlm({ checkpoint: join(fixturesDir, 'tiny-llama'), apiKey: API_KEY });
  });
  after(() => llm?.close());

  async function run(
    llmOptions: RecipeInput['llm'],
    kinds: RecipeInput['kinds'],
    cache = new MemoryReplyCache(),
  ) {
    const recipe = RecipeSchema.parse({
      kinds,
      generator: 'llm',
      llm: { maxTokens: MAX_TOKENS, concurrency: 1, ...llmOptions },
    });
    const generator = new LlmGenerator({
      endpoint: { baseUrl: llm.url, model: llm.model, apiKey: API_KEY },
      options: recipe.llm,
      cache,
      retryBaseDelayMs: 1,
    });
    const seen = llm.exchanges.length;
    const result = await synthesize(items, { recipe, generator });
    return { ...result, usage: generator.usage(), exchanges: llm.exchanges.slice(seen) };
  }

  it('asks over the OpenAI protocol, validates every answer, charges every answer to the budget', async () => {
    const cache = new MemoryReplyCache();
    const kinds = { brief: {}, detailed: {}, conversation: {}, reasoning: {} };
    const { samples, outcomes, usage, exchanges: all } = await run({ retries: 1 }, kinds, cache);

    // Serve has no constrained JSON decoding and refuses JSON mode in OpenAI's error shape; the
    // generator then asks without it (the prompt asks for JSON and every reply is validated).
    const refused = all.filter((e) => e.status === 400);
    assert.ok(refused.length <= 1, 'an endpoint is asked in JSON mode at most once per process');
    for (const e of refused) {
      assert.deepEqual(e.request.response_format, { type: 'json_object' });
      assert.equal((e.response as { error: { param: string } }).error.param, 'response_format');
    }
    const exchanges = all.filter((e) => e.status !== 400);
    // 3 items x 3 written kinds, each tried twice (the invalid reply is retried once).
    assert.equal(exchanges.length, 18);
    for (const e of exchanges) {
      assert.equal(`${e.method} ${e.path}`, 'POST /v1/chat/completions');
      assert.equal(e.authorization, `Bearer ${API_KEY}`);
      assert.equal(e.status, 200, JSON.stringify(e.response));
      assert.equal(e.request.model, llm.model);
      assert.equal(e.request.response_format, undefined);
      assert.equal(e.request.max_tokens, MAX_TOKENS);
      const messages = e.request.messages as { role: string; content: string }[];
      assert.deepEqual(
        messages.map((m) => m.role),
        ['system', 'user', 'assistant', 'user'],
        'system prompt, one few-shot example, then the item',
      );
      assert.match(messages[0].content, /JSON shape: \{"(description|turns)"/);
      assert.match(messages[0].content, /Reply with one JSON object and nothing else/);
      assert.doesNotThrow(() => JSON.parse(messages[2].content), 'the example answer is JSON');
      assert.equal(e.response.object, 'chat.completion');
      const usageHere = usageOf(e);
      assert.equal(usageHere.total_tokens, usageHere.prompt_tokens + usageHere.completion_tokens);
      assert.ok(usageHere.completion_tokens <= MAX_TOKENS);
      assert.ok(usageHere.prompt_tokens > 512, 'the whole synth prompt reached the model');
    }
    const first = exchanges[0].request.messages as { content: string }[];
    assert.match(first[0].content, /AI visual assistant looking at a single image/);
    assert.match(first[3].content, /- A brown dog chases a red ball in the park\./);
    assert.match(first[3].content, /- dog: \[0\.10, 0\.20, 0\.30, 0\.40\]/);
    const audio = exchanges.find((e) => JSON.stringify(e.request).includes('beep'))!;
    assert.match(
      (audio.request.messages as { content: string }[])[0].content,
      /listening to a single sound clip/,
    );

    assert.deepEqual(
      samples.map((s) => s.kind),
      ['brief', 'brief', 'brief'],
      'only brief samples, which need no model',
    );
    for (const o of outcomes) {
      assert.equal(o.status, 'partial');
      assert.equal(o.problems.length, 3);
      for (const p of o.problems) {
        assert.equal(p.reason, 'llm_invalid_reply');
        assert.match(p.detail, /not JSON|lacks/);
      }
    }
    assert.equal(usage.requests, 9);
    assert.equal(usage.failures, 9);
    assert.equal(usage.tokens, totalTokens(exchanges), 'every answer, retries included, is charged');

    // A rejected reply is never cached, so a rerun asks the service again.
    const rerun = await run({ retries: 0 }, kinds, cache);
    assert.equal(rerun.usage.cacheHits, 0);
    assert.equal(rerun.exchanges.length, 9);
  });

  it('the token budget, charged from the served usage, stops a job once spent', async () => {
    const { outcomes, usage, exchanges } = await run({ retries: 0, maxTotalTokens: 1 }, { conversation: {} });
    assert.equal(exchanges.length, 1, 'the first request spends the budget');
    const spent = usageOf(exchanges[0]).total_tokens;
    assert.equal(usage.tokens, spent);
    assert.equal(outcomes[0].problems[0].reason, 'llm_invalid_reply');
    for (const o of outcomes.slice(1)) {
      assert.equal(o.problems[0].reason, 'llm_budget_exhausted');
      assert.match(o.problems[0].detail, new RegExp(`token budget of 1 spent \\(${spent} used\\)`));
    }
  });

  describe('through the synth service', () => {
    let storage: Storage;
    let synth: Awaited<ReturnType<typeof startSynth>>;

    before(async () => {
      storage = await startStorage();
      synth = await startSynth(storage, {
        MMIT_SYNTH_LLM_BASE_URL: `${llm.url}/v1`,
        MMIT_SYNTH_LLM_MODEL: llm.model,
        MMIT_SYNTH_LLM_API_KEY: API_KEY,
      });
    });
    after(async () => {
      await synth?.close();
      await storage?.stop();
    });

    async function build(corpusId: string) {
      const recipe = {
        kinds: { brief: {}, conversation: {} },
        generator: 'llm',
        llm: { retries: 0, maxTokens: MAX_TOKENS },
      };
      const res = await post(`${synth.url}/v1/datasets`, { corpusId, recipe });
      assert.equal(res.status, 202, await res.clone().text());
      const { dataset, job } = await json<{ dataset: DatasetManifest; job: JobRecord }>(res);
      const seen = llm.exchanges.length;
      const done = await waitForJob(synth.url, job.id);
      const manifest = await json<DatasetManifest>(await fetch(`${synth.url}/v1/datasets/${dataset.id}`));
      return { job: done, manifest, exchanges: llm.exchanges.slice(seen) };
    }

    it('a dataset job asks the serve service, records invalid replies per item and the tokens it paid', async () => {
      const corpus = await writeCorpus(storage.bucket, [
        { captions: ['A brown dog chases a red ball in the park.'] },
        { captions: ['A cat sleeps on a red sofa.'] },
      ]);
      const { job, manifest, exchanges } = await build(corpus.id);
      assert.equal(job.status, 'succeeded');
      assert.equal(exchanges.length, 2);
      assert.ok(exchanges.every((e) => e.status === 200 && e.path === '/v1/chat/completions'));
      assert.equal(manifest.counts.byKind.brief, 2);
      assert.equal(manifest.counts.byKind.conversation, undefined);
      assert.equal(manifest.counts.reasons.llm_invalid_reply, 2);
      assert.ok(manifest.warnings.some((w) => /not the asked-for JSON/.test(w)));
      assert.deepEqual(manifest.llm, {
        requests: 2,
        tokens: totalTokens(exchanges),
        cacheHits: 0,
        failures: 2,
      });

      const again = await build(corpus.id);
      assert.equal(again.exchanges.length, 2, 'nothing invalid was cached: the rerun asks again');
      assert.equal(again.manifest.llm.cacheHits, 0);
    });
  });
});
