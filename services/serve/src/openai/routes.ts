// The OpenAI-compatible routes under /v1: models (list, one), chat completions and plain
// completions, each streaming (SSE) or not. Handlers validate the body, refuse what is not
// implemented, resolve the model (a run's name to its id; 404 before any media is fetched), turn
// messages into turns, and hand the job to Completions; events come back numbered by choice
// (n per prompt) and are assembled into one response or streamed as chunks as they come;
// a client that closes the connection aborts the job's signal, which stops generation. Errors
// thrown here are written in OpenAI's shape by the service's /v1 error formatter (errors.ts).
import { createHash, randomUUID } from 'node:crypto';
import type { Service } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ModelCatalog } from '../catalog/model-catalog.js';
import type { ListedModel } from '../catalog/run-models.js';
import { PromptError, type Turn } from '../engine/conversation.js';
import type {
  FinishReason,
  GenerateOptions,
  Prompt,
  ServedModel,
  TokenAlternative,
  TokenLogprob,
} from '../engine/served-model.js';
import type { MediaLimits } from '../media/media-inputs.js';
import { takeAdmission } from '../runtime/admission.js';
import type { CompletionEvent, Completions } from '../runtime/completions.js';
import { SERVE_VERSION } from '../version.js';
import { OpenAIError } from './errors.js';
import { toTurns } from './messages.js';
import {
  type ChatCompletionRequest,
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  promptList,
  usage,
} from './schemas.js';
import { ChunkWriter } from './sse.js';
import { refuseUnsupportedChat, refuseUnsupportedCompletion } from './unsupported.js';

export interface RouteDeps {
  catalog: ModelCatalog;
  /** Whether a model is loaded already (then it exists: no bucket round trip to check). */
  isLoaded: (id: string) => boolean;
  completions: Completions;
  bucket: Bucket | null;
  limits: MediaLimits & { maxAudioSeconds: number; maxItems: number };
  maxTokens: number;
}

/** Aborts when the client goes away before the response is complete. */
function abortOnClose(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return controller.signal;
}

type SamplingBody = Pick<
  ChatCompletionRequest,
  | 'max_tokens'
  | 'temperature'
  | 'top_p'
  | 'top_k'
  | 'seed'
  | 'stop'
  | 'n'
  | 'frequency_penalty'
  | 'presence_penalty'
  | 'logit_bias'
> & {
  max_completion_tokens?: number | null;
};

function generateOptions(
  body: SamplingBody,
  ceiling: number,
  logprobs: number | null,
): Omit<GenerateOptions, 'signal'> {
  const requested = body.max_completion_tokens ?? body.max_tokens ?? ceiling;
  if (requested > ceiling) {
    const param = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
    throw new OpenAIError(
      400,
      `${param} is ${requested}; this server allows at most ${ceiling}`,
      'invalid_request_error',
      param,
      'invalid_value',
    );
  }
  const bias = Object.entries(body.logit_bias ?? {}).map(([id, value]) => [Number(id), value] as const);
  return {
    maxTokens: requested,
    stop: body.stop ?? [],
    n: body.n ?? 1,
    logprobs,
    sampling: {
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      topK: body.top_k ?? 0,
      ...(body.seed != null ? { seed: body.seed } : {}),
      frequencyPenalty: body.frequency_penalty ?? 0,
      presencePenalty: body.presence_penalty ?? 0,
      ...(bias.length > 0 ? { logitBias: new Map(bias) } : {}),
    },
  };
}

/** logit_bias keys are token ids of the model's vocabulary (known once it is loaded). */
function checkLogitBias(model: ServedModel, options: Omit<GenerateOptions, 'signal'>): void {
  for (const id of options.sampling.logitBias?.keys() ?? []) {
    if (id >= model.vocabSize) {
      throw new PromptError(
        `logit_bias names token ${id}; the model's vocabulary is 0..${model.vocabSize - 1}`,
        `logit_bias.${id}`,
        'invalid_value',
      );
    }
  }
}

/** One choice being assembled (non-streamed answers) or numbered (streamed ones). */
interface ChoiceState {
  text: string;
  tokens: TokenLogprob[];
  /** Characters before the first generated token (the echoed prompt), for text_offset. */
  offset: number;
  finish: FinishReason | null;
}

interface Shape {
  object: string;
  chunkObject: string;
  /** A choice of a full response. */
  choice(index: number, state: ChoiceState, logprobs: boolean): Record<string, unknown>;
  /** A streamed choice: text and its tokens, or the finish reason. */
  chunk(
    index: number,
    part: { text: string; tokens: TokenLogprob[]; offset: number; first?: boolean },
    finish: FinishReason | null,
    logprobs: boolean,
  ): Record<string, unknown>;
  /** The chunk that opens each choice (chat: the assistant role), or null. */
  opening(index: number): Record<string, unknown> | null;
}

const bytesOf = (t: TokenAlternative) => ({ token: t.text, logprob: t.logprob, bytes: t.bytes });

/** Chat's logprobs: one entry per token with its alternatives (OpenAI's ChatCompletionTokenLogprob). */
function chatLogprobs(tokens: TokenLogprob[]) {
  return {
    content: tokens.map((t) => ({ ...bytesOf(t), top_logprobs: t.top.map(bytesOf) })),
    refusal: null,
  };
}

/**
 * Alternatives keyed by their text, as the legacy format has them. Two tokens can share a text
 * (e.g. halves of different characters, both U+FFFD): the more likely one keeps the key.
 */
function topByText(top: TokenAlternative[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of top) if (!Object.hasOwn(out, a.text)) out[a.text] = a.logprob;
  return out;
}

/** Completions' logprobs: parallel arrays, alternatives as {token: logprob}, offsets into the text. */
function textLogprobs(tokens: TokenLogprob[], offset: number) {
  const text_offset: number[] = [];
  let at = offset;
  for (const t of tokens) {
    text_offset.push(at);
    at += t.text.length;
  }
  return {
    tokens: tokens.map((t) => t.text),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => topByText(t.top)),
    text_offset,
  };
}

const chatShape: Shape = {
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  choice: (index, state, logprobs) => ({
    index,
    message: { role: 'assistant', content: state.text, refusal: null },
    logprobs: logprobs ? chatLogprobs(state.tokens) : null,
    finish_reason: state.finish,
  }),
  chunk: (index, part, finish, logprobs) => ({
    index,
    delta: finish ? {} : { content: part.text },
    logprobs: logprobs && !finish ? chatLogprobs(part.tokens) : null,
    finish_reason: finish,
  }),
  opening: (index) => ({
    index,
    delta: { role: 'assistant', content: '' },
    logprobs: null,
    finish_reason: null,
  }),
};

const textShape: Shape = {
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (index, state, logprobs) => ({
    index,
    text: state.text,
    logprobs: logprobs ? textLogprobs(state.tokens, state.offset) : null,
    finish_reason: state.finish,
  }),
  chunk: (index, part, finish, logprobs) => ({
    index,
    text: finish ? '' : part.text,
    logprobs: logprobs && !finish ? textLogprobs(part.tokens, part.offset) : null,
    finish_reason: finish,
  }),
  opening: () => null,
};

/**
 * What OpenAI calls the backend configuration a model runs with: here the model and the serve
 * version, so a client sees when either changed (answers from one fingerprint are reproducible
 * with a seed).
 */
function systemFingerprint(model: string): string {
  return `fp_${createHash('sha256').update(`${model}\0${SERVE_VERSION}`).digest('hex').slice(0, 10)}`;
}

interface AnswerMeta {
  /** The name the client asked for (answered back as OpenAI and vLLM do). */
  model: string;
  /** The model it resolved to (base name or run id): what the fingerprint is made of. */
  resolved: string;
  stream: boolean;
  includeUsage: boolean;
  /** Choices per prompt. */
  n: number;
  logprobs: boolean;
  /** Completions' echo: each choice starts with its prompt's text. */
  echo: boolean;
}

async function answer(
  res: Response,
  events: AsyncGenerator<CompletionEvent>,
  meta: AnswerMeta,
  shape: Shape,
): Promise<void> {
  const id = `${shape === chatShape ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const envelope = (object: string) => ({
    id,
    object,
    created,
    model: meta.model,
    system_fingerprint: systemFingerprint(meta.resolved),
  });
  // With include_usage, OpenAI sends usage: null on every chunk before the one that carries it.
  const chunkEnvelope = (object: string) => ({
    ...envelope(object),
    ...(meta.includeUsage ? { usage: null } : {}),
  });
  let promptTokens = 0;
  let audioTokens = 0;
  let completionTokens = 0;
  const choices: ChoiceState[] = [];
  const writer = meta.stream ? new ChunkWriter(res) : null;
  const send = (choice: Record<string, unknown>) =>
    writer?.write({ ...chunkEnvelope(shape.chunkObject), choices: [choice] });
  for await (const event of events) {
    if (writer && !writer.open) continue; // the client left: let generation wind down (it sees the abort)
    if (event.type === 'prompt') {
      promptTokens += event.prompt.tokens;
      audioTokens += event.prompt.audioTokens;
      const echoed = meta.echo ? (event.prompt.text ?? '') : '';
      for (let j = 0; j < meta.n; j++) {
        const index = event.index * meta.n + j;
        choices[index] = { text: echoed, tokens: [], offset: echoed.length, finish: null };
        const opening = shape.opening(index);
        if (opening) send(opening);
        if (echoed) send(shape.chunk(index, { text: echoed, tokens: [], offset: 0 }, null, false));
      }
    } else if (event.type === 'delta') {
      const choice = choices[event.index];
      const offset = choice.offset + choice.tokens.reduce((n, t) => n + t.text.length, 0);
      choice.text += event.text;
      choice.tokens.push(...event.tokens);
      send(shape.chunk(event.index, { text: event.text, tokens: event.tokens, offset }, null, meta.logprobs));
    } else if (event.type === 'finish') {
      choices[event.index].finish = event.finishReason;
      send(shape.chunk(event.index, { text: '', tokens: [], offset: 0 }, event.finishReason, false));
    } else {
      completionTokens += event.completionTokens;
    }
  }
  const totals = usage(promptTokens, completionTokens, audioTokens);
  if (!writer) {
    res.json({
      ...envelope(shape.object),
      choices: choices.map((c, i) => shape.choice(i, c, meta.logprobs)),
      usage: totals,
    });
    return;
  }
  if (meta.includeUsage) writer.write({ ...envelope(shape.chunkObject), choices: [], usage: totals });
  writer.end();
}

const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.number().int(),
    owned_by: z.string(),
    /** For a run's name (an alias): the run id it stands for (vLLM's field). */
    root: z.string().optional(),
  })
  .meta({ id: 'Model' });

const modelCard = (m: ListedModel) => ({
  id: m.id,
  object: 'model' as const,
  created: m.created,
  owned_by: m.ownedBy,
  ...(m.root ? { root: m.root } : {}),
});
const ModelParams = z.object({ id: z.string().min(1).max(200) });
const tags = ['openai'];

/** OpenAI's error body (`{error: {message, type, param, code}}`), as every /v1 error is written. */
const openAIErrors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: 'An OpenAI-shaped error: {error: {message, type, param, code}}' },
    ]),
  );

const completionResponses = (object: string) => ({
  200: {
    description: `A ${object}; with stream: true, a text/event-stream of ${object}.chunk events ending in [DONE]`,
  },
  ...openAIErrors(400, 404, 429),
});

/**
 * Declares the OpenAI routes on the service (validated, and listed in its OpenAPI document), then
 * the /v1 fallback that answers unknown paths in OpenAI's shape.
 */
export function registerOpenAIRoutes(service: Service, deps: RouteDeps): void {
  service
    .route({
      method: 'get',
      path: '/v1/models',
      summary: 'The base model and every finished run',
      tags,
      responses: {
        200: {
          description: 'Models',
          schema: z.object({ object: z.literal('list'), data: z.array(ModelSchema) }),
        },
      },
      handler: async () => {
        const models = await deps.catalog.list();
        return {
          body: {
            object: 'list',
            data: models.map(modelCard),
          },
        };
      },
    })
    .route({
      method: 'get',
      path: '/v1/models/:id',
      summary: 'One model',
      tags,
      request: { params: ModelParams },
      responses: { 200: { description: 'The model', schema: ModelSchema }, ...openAIErrors(404) },
      handler: async ({ params }) => {
        const found = (await deps.catalog.list()).find((m) => m.id === params.id);
        if (!found) await deps.catalog.resolve(params.id); // throws the 404 (with the list) or the ambiguity
        const m = found ?? { id: params.id, created: 0, ownedBy: 'mmit-trainer' };
        return { body: modelCard(m) };
      },
    })
    .route({
      method: 'post',
      path: '/v1/chat/completions',
      summary: 'A chat completion over text, images and audio (admission or 429 before the body is read)',
      tags,
      request: { body: ChatCompletionRequestSchema },
      responses: completionResponses('chat.completion'),
      handler: async ({ body, res }) => {
        const arrivedAt = performance.now();
        refuseUnsupportedChat(body);
        const options = generateOptions(
          body,
          deps.maxTokens,
          body.logprobs ? (body.top_logprobs ?? 0) : null,
        );
        const model = await resolveModel(deps, body.model);
        const signal = abortOnClose(res);
        // Media are decoded only once the request is admitted (a 429 costs no decoding).
        let turns: Turn[] = [];
        const events = deps.completions.run({
          endpoint: 'chat.completions',
          model,
          arrivedAt,
          admission: takeAdmission(res),
          decode: async () => {
            turns = await toTurns(body.messages, { bucket: deps.bucket, limits: deps.limits });
          },
          prompts: async (served: ServedModel): Promise<Prompt[]> => {
            checkLogitBias(served, options);
            return [await served.chatPrompt(turns)];
          },
          options,
          signal,
        });
        await answer(res, events, answerMeta(body, model, options, false), chatShape);
        return undefined;
      },
    })
    .route({
      method: 'post',
      path: '/v1/completions',
      summary: 'A plain text completion',
      tags,
      request: { body: CompletionRequestSchema },
      responses: completionResponses('text_completion'),
      handler: async ({ body, res }) => {
        const arrivedAt = performance.now();
        refuseUnsupportedCompletion(body);
        if (body.echo && body.logprobs != null) {
          // The prompt's own logprobs would need every prompt position's logits, which serve does not keep.
          throw new OpenAIError(
            400,
            'echo together with logprobs is not supported (no logprobs for prompt tokens); ask for one or the other',
            'invalid_request_error',
            'echo',
            'unsupported_value',
          );
        }
        const options = generateOptions(body, deps.maxTokens, body.logprobs ?? null);
        const model = await resolveModel(deps, body.model);
        const signal = abortOnClose(res);
        const prompts = promptList(body.prompt);
        const events = deps.completions.run({
          endpoint: 'completions',
          model,
          arrivedAt,
          admission: takeAdmission(res),
          prompts: async (served: ServedModel) => {
            checkLogitBias(served, options);
            const built: Prompt[] = [];
            for (const [i, p] of prompts.entries()) {
              const param = prompts.length > 1 ? `prompt.${i}` : 'prompt';
              built.push(
                await (typeof p === 'string' ? served.textPrompt(p, param) : served.idsPrompt(p, param)),
              );
            }
            return built;
          },
          options,
          signal,
        });
        await answer(res, events, answerMeta(body, model, options, body.echo === true), textShape);
        return undefined;
      },
    });

  service.router.use('/v1', (req: Request) => {
    throw new OpenAIError(
      404,
      `no route for ${req.method} /v1${req.path}`,
      'not_found_error',
      null,
      'unknown_url',
    );
  });
}

/** The model id a request's `model` names; a loaded one needs no bucket round trip. */
async function resolveModel(deps: RouteDeps, model: string): Promise<string> {
  return deps.isLoaded(model) ? model : deps.catalog.resolve(model);
}

function answerMeta(
  body: { model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null },
  resolved: string,
  options: Omit<GenerateOptions, 'signal'>,
  echo: boolean,
): AnswerMeta {
  return {
    model: body.model,
    resolved,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    n: options.n,
    logprobs: options.logprobs !== null,
    echo,
  };
}
