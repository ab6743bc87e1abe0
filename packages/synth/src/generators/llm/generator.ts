// The LLM generator: asks an OpenAI-compatible chat endpoint to write detailed descriptions,
// conversations and reasoning turns from an item's captions (and boxes), validates every reply
// against the kind's JSON shape, caches validated replies by request hash, and keeps within the
// job's request and token budget. `brief` samples need no model: as in LLaVA stage 1, the answer
// is the caption itself, with an instruction from the pool; nor do `vqa` samples, whose answers
// are facts read from the captions (the template generator's questions).

import type { LlmOptions, LlmUsage, SampleKind } from '@mmit/contracts';
import { z } from 'zod';
import type { Draft, DraftTurn } from '../../draft.js';
import { detailedPool } from '../../pools.js';
import { sha256Hex } from '../../random.js';
import { samplingKey } from '../../source.js';
import { briefDraft } from '../template/describe.js';
import { vqaResult } from '../template/vqa.js';
import type { GenerateRequest, GenerateResult, Generator } from '../types.js';
import type { ReplyCache } from './cache.js';
import { ChatClient, type ChatRequest } from './client.js';
import { LlmError } from './errors.js';
import { RequestLimiter } from './limiter.js';
import { buildMessages } from './prompts.js';

const TurnsReply = z.object({
  turns: z
    .array(z.object({ question: z.string().min(1), answer: z.string().min(1) }))
    .min(1)
    .max(8),
});
const DescriptionReply = z.object({ description: z.string().min(1) });

type WrittenKind = Exclude<SampleKind, 'brief' | 'vqa'>;

export interface LlmEndpoint {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

export interface LlmGeneratorOptions {
  endpoint: LlmEndpoint;
  options: LlmOptions;
  cache?: ReplyCache;
  /** Usage so far in this job (a resumed job carries its budget use over). */
  usage?: LlmUsage;
  /**
   * The connection to the endpoint, shared with other generators (e.g. those working on parts of
   * one job in one process, so the rate limits and the circuit breaker hold for all of them
   * together); by default this generator's own, from `endpoint` and `options`.
   */
  connection?: LlmConnection;
  /** Backoff base between retries (tests shorten it). */
  retryBaseDelayMs?: number;
}

/** A client (with its circuit breaker) and the concurrency and rate limits of its requests. */
export interface LlmConnection {
  client: ChatClient;
  limiter: RequestLimiter;
}

export function llmConnection(
  endpoint: LlmEndpoint,
  options: LlmOptions,
  retryBaseDelayMs?: number,
): LlmConnection {
  return {
    client: new ChatClient({
      baseUrl: endpoint.baseUrl,
      apiKey: endpoint.apiKey,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      baseDelayMs: retryBaseDelayMs,
    }),
    limiter: new RequestLimiter(options.concurrency, options.requestsPerMinute),
  };
}

/** Strips a Markdown code fence some models put around JSON. */
function unfence(content: string): string {
  const m = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content);
  return m ? m[1] : content;
}

export class LlmGenerator implements Generator {
  readonly name = 'llm' as const;
  private readonly client: ChatClient;
  private readonly limiter: RequestLimiter;
  private readonly usageSoFar: LlmUsage;

  constructor(private readonly config: LlmGeneratorOptions) {
    const { client, limiter } =
      config.connection ?? llmConnection(config.endpoint, config.options, config.retryBaseDelayMs);
    this.client = client;
    this.limiter = limiter;
    this.usageSoFar = { requests: 0, tokens: 0, cacheHits: 0, failures: 0, ...config.usage };
  }

  usage(): LlmUsage {
    return { ...this.usageSoFar };
  }

  async generate(
    { item, kind, index, seed, rng, facts }: GenerateRequest,
    signal?: AbortSignal,
  ): Promise<GenerateResult> {
    if (kind === 'brief') return { ok: true, draft: briefDraft(facts, item.modality, index, rng) };
    if (kind === 'vqa') return vqaResult(facts, samplingKey(item), seed, index);
    const request: ChatRequest = {
      model: this.config.options.model ?? this.config.endpoint.model,
      messages: buildMessages(kind, item),
      temperature: this.config.options.temperature,
      max_tokens: this.config.options.maxTokens,
      response_format: { type: 'json_object' },
    };
    // The sample index is part of the key so perItem > 1 asks for (and caches) distinct replies.
    const hash = sha256Hex(JSON.stringify({ request, index }));
    try {
      const content = await this.reply(request, hash, kind, signal);
      const turns = this.parse(kind, content, rng.pick(detailedPool(item.modality)));
      return { ok: true, draft: { kind, index, turns } as Draft };
    } catch (err) {
      if (!(err instanceof LlmError)) throw err;
      this.usageSoFar.failures++;
      return { ok: false, reason: err.outcome, detail: err.message };
    }
  }

  private async reply(
    request: ChatRequest,
    hash: string,
    kind: WrittenKind,
    signal?: AbortSignal,
  ): Promise<string> {
    const cached = await this.config.cache?.get(hash);
    if (cached) {
      this.usageSoFar.cacheHits++;
      return cached.content;
    }
    const { maxRequests, maxTotalTokens } = this.config.options;
    if (maxRequests !== undefined && this.usageSoFar.requests >= maxRequests) {
      throw new LlmError('budget', `request budget of ${maxRequests} spent`, false);
    }
    if (maxTotalTokens !== undefined && this.usageSoFar.tokens >= maxTotalTokens) {
      throw new LlmError(
        'budget',
        `token budget of ${maxTotalTokens} spent (${this.usageSoFar.tokens} used)`,
        false,
      );
    }
    this.usageSoFar.requests++;
    // Validation runs inside the retry loop, and before caching: a malformed reply is asked
    // again, and is never served from the cache.
    const reply = await this.limiter.run(
      () =>
        this.client.complete(request, {
          signal,
          validate: (content) => void this.parse(kind, content, ''),
          // Every answer is paid for, including those validation rejects and their retries.
          onAnswer: (answer) => {
            this.usageSoFar.tokens += answer.tokens;
          },
        }),
      signal,
    );
    await this.config.cache?.put(hash, reply);
    return reply.content;
  }

  private parse(kind: WrittenKind, content: string, instruction: string): DraftTurn[] {
    let json: unknown;
    try {
      json = JSON.parse(unfence(content));
    } catch {
      throw new LlmError('invalid_reply', `reply is not JSON: ${content.slice(0, 120)}`, false);
    }
    if (kind === 'detailed') {
      const parsed = DescriptionReply.safeParse(json);
      if (!parsed.success)
        throw new LlmError(
          'invalid_reply',
          `reply lacks a "description" string: ${content.slice(0, 120)}`,
          false,
        );
      return [{ question: instruction, answer: parsed.data.description.trim(), pooled: true }];
    }
    const parsed = TurnsReply.safeParse(json);
    if (!parsed.success)
      throw new LlmError(
        'invalid_reply',
        `reply lacks "turns" of {question, answer}: ${content.slice(0, 120)}`,
        false,
      );
    return parsed.data.turns.map((t) => ({
      question: t.question.trim(),
      answer: t.answer.trim(),
      pooled: false,
    }));
  }
}
